"""mediaproxy: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    BRANCH,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REQUEST,
    STR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
)

MODULE = ModuleSpec.build(
    "mediaproxy",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("engage_media_proxy", (), None, frozenset({REQUEST})),
        FunctionSpec("use_media_proxy", (), None, frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL})),
        FunctionSpec("end_media_session", (), None, frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL})),
    ],
    params=[
        ModParamSpec("disable", INT),
        ModParamSpec("mediaproxy_socket", STR, "/run/mediaproxy/dispatcher.sock"),
        ModParamSpec("mediaproxy_timeout", INT),
        ModParamSpec("signaling_ip_avp", STR),
        ModParamSpec("media_relay_avp", STR),
        ModParamSpec("ice_candidate", STR, "none"),
        ModParamSpec("ice_candidate_avp", STR),
    ],
)
