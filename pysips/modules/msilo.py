"""msilo: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import (
    EVENT,
    FAILURE,
    INT,
    REQUEST,
    STARTUP,
    STR,
    TIMER,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

MODULE = ModuleSpec.build(
    "msilo",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "m_store", (ParamSpec(STR, optional=True, name="owner"),), None, frozenset({REQUEST, FAILURE})
        ),
        FunctionSpec(
            "m_dump",
            (ParamSpec(STR, optional=True, name="owner"), ParamSpec(INT, optional=True, name="maxmsg")),
            None,
            frozenset({REQUEST, STARTUP, TIMER, EVENT}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR, "silo"),
        ModParamSpec("from_address", STR),
        ModParamSpec("contact_hdr", STR),
        ModParamSpec("content_type_hdr", STR),
        ModParamSpec("offline_message", STR),
        ModParamSpec("reminder", STR),
        ModParamSpec("outbound_proxy", STR),
        ModParamSpec("expire_time", INT, 259200),
        ModParamSpec("check_time", INT, 60),
        ModParamSpec("send_time", INT, 0),
        ModParamSpec("clean_period", INT, 10),
        ModParamSpec("use_contact", INT, 1),
        ModParamSpec("sc_mid", STR, "id"),
        ModParamSpec("sc_from", STR, "src_addr"),
        ModParamSpec("sc_to", STR, "dst_addr"),
        ModParamSpec("sc_uri_user", STR, "username"),
        ModParamSpec("sc_uri_host", STR, "domain"),
        ModParamSpec("sc_body", STR, "body"),
        ModParamSpec("sc_ctype", STR, "ctype"),
        ModParamSpec("sc_exp_time", STR, "exp_time"),
        ModParamSpec("sc_inc_time", STR, "inc_time"),
        ModParamSpec("sc_snd_time", STR, "snd_time"),
        ModParamSpec("snd_time_avp", STR),
        ModParamSpec("add_date", INT, 1),
        ModParamSpec("max_messages", INT, 0),
    ],
)
