"""rtpengine: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import ALL_ROUTES, INT, STR, VAR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "rtpengine",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec("rtpengine_use_set", (ParamSpec(INT, name="setid"),), None, ALL_ROUTES),
        FunctionSpec(
            "rtpengine_start_recording",
            (ParamSpec(STR, optional=True, name="flags"), ParamSpec(VAR, optional=True, name="sock_var")),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_stop_recording",
            (ParamSpec(STR, optional=True, name="flags"), ParamSpec(VAR, optional=True, name="sock_var")),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_offer",
            (
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(VAR, optional=True, name="sock_var"),
                ParamSpec(VAR, optional=True, name="sdp_pvar"),
                ParamSpec(STR, optional=True, name="body"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_answer",
            (
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(VAR, optional=True, name="sock_pvar"),
                ParamSpec(VAR, optional=True, name="sdp_pvar"),
                ParamSpec(STR, optional=True, name="body"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_manage",
            (
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(VAR, optional=True, name="sock_var"),
                ParamSpec(VAR, optional=True, name="sdp_var"),
                ParamSpec(STR, optional=True, name="body"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_delete",
            (ParamSpec(STR, optional=True, name="flags"), ParamSpec(VAR, optional=True, name="sock_var")),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_play_media",
            (
                ParamSpec(STR, name="flags"),
                ParamSpec(VAR, optional=True, name="duration_spec"),
                ParamSpec(VAR, optional=True, name="sock_var"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_stop_media",
            (ParamSpec(STR, optional=True, name="flags"), ParamSpec(VAR, optional=True, name="sockvar")),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_block_media",
            (ParamSpec(STR, optional=True, name="flags"), ParamSpec(VAR, optional=True, name="sockvar")),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_unblock_media",
            (ParamSpec(STR, optional=True, name="flags"), ParamSpec(VAR, optional=True, name="sockvar")),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_block_dtmf",
            (ParamSpec(STR, optional=True, name="flags"), ParamSpec(VAR, optional=True, name="sockvar")),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_unblock_dtmf",
            (ParamSpec(STR, optional=True, name="flags"), ParamSpec(VAR, optional=True, name="sockvar")),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_start_forwarding",
            (ParamSpec(STR, optional=True, name="flags"), ParamSpec(VAR, optional=True, name="sockvar")),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_stop_forwarding",
            (ParamSpec(STR, optional=True, name="flags"), ParamSpec(VAR, optional=True, name="sockvar")),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "rtpengine_play_dtmf",
            (
                ParamSpec(STR, name="code"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(VAR, optional=True, name="sockvar"),
            ),
            None,
            ALL_ROUTES,
        ),
    ],
    params=[
        ModParamSpec("rtpengine_sock", STR, None, repeatable=True),
        ModParamSpec("rtpengine_disable_tout", INT, 60),
        ModParamSpec("rtpengine_retr", INT, 5),
        ModParamSpec("rtpengine_tout", INT, 1),
        ModParamSpec("extra_id_pv", STR),
        ModParamSpec("setid_avp", STR),
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR, "rtpengine"),
        ModParamSpec("socket_column", STR, "socket"),
        ModParamSpec("set_column", STR, "set_id"),
        ModParamSpec("rtpengine_timer_interval", INT, 5),
        ModParamSpec("error_pv", STR),
        ModParamSpec("notification_sock", STR, None, repeatable=True),
    ],
)
