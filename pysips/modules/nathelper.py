"""nathelper: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    ANY,
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
    ParamSpec,
)

MODULE = ModuleSpec.build(
    "nathelper",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "fix_nated_contact",
            (ParamSpec(STR, optional=True, name="uri_params"),),
            None,
            frozenset({REQUEST, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "fix_nated_sdp",
            (
                ParamSpec(STR, name="flags"),
                ParamSpec(STR, optional=True, name="ip_address"),
                ParamSpec(STR, optional=True, name="sdp_fields"),
            ),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "nat_uac_test",
            (ParamSpec(STR, name="flags"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec("fix_nated_register", (), None, frozenset({REQUEST})),
        FunctionSpec(
            "add_rcv_param", (ParamSpec(INT, optional=True, name="flag"),), None, frozenset({REQUEST})
        ),
        FunctionSpec(
            "set_rtp_proxy_set",
            (ParamSpec(ANY),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec("unforce_rtp_proxy", (), None, frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL})),
        FunctionSpec(
            "force_rtp_proxy",
            (ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True)),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec("start_recording", (), None, frozenset({REQUEST, ONREPLY})),
        FunctionSpec(
            "rtpproxy_offer",
            (ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True)),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "rtpproxy_answer",
            (ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True)),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "rtpproxy_stream2uac", (ParamSpec(ANY), ParamSpec(ANY)), None, frozenset({REQUEST, ONREPLY})
        ),
        FunctionSpec(
            "rtpproxy_stream2uas", (ParamSpec(ANY), ParamSpec(ANY)), None, frozenset({REQUEST, ONREPLY})
        ),
        FunctionSpec("rtpproxy_stop_stream2uac", (), None, frozenset({REQUEST, ONREPLY})),
        FunctionSpec("rtpproxy_stop_stream2uas", (), None, frozenset({REQUEST, ONREPLY})),
    ],
    params=[
        ModParamSpec("natping_interval", INT, 0),
        ModParamSpec("ping_nated_only", INT, 0),
        ModParamSpec("nortpproxy_str", STR, "a=nortpproxy:yes"),
        ModParamSpec("rtpproxy_sock", STR, None, repeatable=True),
        ModParamSpec("rtpproxy_disable_tout", INT, 60),
        ModParamSpec("rtpproxy_retr", INT, 5),
        ModParamSpec("rtpproxy_tout", INT, 1),
        ModParamSpec("received_avp", STR),
        ModParamSpec("force_socket", STR),
        ModParamSpec("sipping_from", STR),
        ModParamSpec("sipping_method", STR, "OPTIONS"),
        ModParamSpec("sipping_bflag", ANY, 0),
        ModParamSpec("natping_processes", INT, 1),
        ModParamSpec("natping_socket", STR),
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR, "nh_sockets"),
        ModParamSpec("rtpp_socket_col", STR, "rtpproxy_sock"),
        ModParamSpec("set_id_col", STR, "set_id"),
        ModParamSpec("natping_tcp", INT, 0),
        ModParamSpec("natping_partitions", INT, 1),
        ModParamSpec("oldip_skip", STR, None, repeatable=True),
        ModParamSpec("remove_on_timeout_bflag", STR),
        ModParamSpec("ping_threshold", INT, 3),
        ModParamSpec("max_pings_lost", INT, 3),
        ModParamSpec("sipping_ignore_rpl_codes", STR),
        ModParamSpec("sipping_latency_flag", STR),
        ModParamSpec("cluster_id", INT, 0),
        ModParamSpec("cluster_sharing_tag", STR),
    ],
)
