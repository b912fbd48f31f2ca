"""siptrace: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

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
    "siptrace",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "sip_trace",
            (
                ParamSpec(ANY, optional=True, name="trace_id"),
                ParamSpec(ANY, optional=True, name="scope"),
                ParamSpec(ANY, optional=True, name="type"),
                ParamSpec(ANY, optional=True, name="trace_attrs"),
            ),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec("trace_dialog", (), None, frozenset({REQUEST})),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("table", STR, "sip_trace"),
        ModParamSpec("date_column", STR, "time_stamp"),
        ModParamSpec("callid_column", STR, "callid"),
        ModParamSpec("traced_user_column", STR, "traced_user"),
        ModParamSpec("msg_column", STR, "msg"),
        ModParamSpec("method_column", STR, "method"),
        ModParamSpec("status_column", STR, "status"),
        ModParamSpec("fromip_column", STR, "from_ip"),
        ModParamSpec("toip_column", STR, "to_ip"),
        ModParamSpec("fromtag_column", STR, "fromtag"),
        ModParamSpec("direction_column", STR, "direction"),
        ModParamSpec("trace_flag", ANY, 0),
        ModParamSpec("trace_on", INT, 1),
        ModParamSpec("traced_user_avp", STR),
        ModParamSpec("trace_table_avp", STR),
        ModParamSpec("duplicate_uri", STR),
        ModParamSpec("trace_local_ip", STR),
        ModParamSpec("enable_ack_trace", INT, 0),
        ModParamSpec("trace_to_database", INT, 1),
        ModParamSpec("duplicate_with_hep", INT, 0),
        ModParamSpec("hep_version", INT, 1),
        ModParamSpec("hep_capture_id", INT, 1),
        ModParamSpec("fromproto_column", STR, "from_proto"),
        ModParamSpec("fromport_column", STR, "from_port"),
        ModParamSpec("toproto_column", STR, "to_proto"),
        ModParamSpec("toport_column", STR, "to_port"),
        ModParamSpec("trace_id", STR, None, repeatable=True),
        ModParamSpec("trace_attrs_column", STR, "trace_attrs"),
    ],
)
