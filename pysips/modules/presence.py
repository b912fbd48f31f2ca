"""presence: declarations (functions, parameters, route types) from the OpenSIPS 1.x-3.4 export tables."""

from __future__ import annotations

from pysips.modules import ANY, INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec

MODULE = ModuleSpec.build(
    "presence",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "handle_publish", (ParamSpec(STR, optional=True, name="sender_uri"),), None, frozenset({REQUEST})
        ),
        FunctionSpec(
            "handle_subscribe",
            (
                ParamSpec(INT, optional=True, name="force_active"),
                ParamSpec(STR, optional=True, name="sharing_tag"),
            ),
            None,
            frozenset({REQUEST}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("presentity_table", STR, "presentity"),
        ModParamSpec("active_watchers_table", STR, "active_watchers"),
        ModParamSpec("watchers_table", STR, "watchers"),
        ModParamSpec("clean_period", INT, 100),
        ModParamSpec("to_tag_pref", STR, "10"),
        ModParamSpec("expires_offset", INT, 0),
        ModParamSpec("max_expires", INT, 3600),
        ModParamSpec("server_address", STR),
        ModParamSpec("subs_htable_size", INT, 9),
        ModParamSpec("pres_htable_size", INT, 9),
        ModParamSpec("fallback2db", INT, 0),
        ModParamSpec("enable_sphere_check", INT, 0),
        ModParamSpec("db_update_period", INT, 100),
        ModParamSpec("max_expires_subscribe", INT, 3600),
        ModParamSpec("max_expires_publish", INT, 3600),
        ModParamSpec("waiting_subs_daysno", INT, 0),
        ModParamSpec("mix_dialog_presence", INT, 0),
        ModParamSpec("bla_presentity_spec", STR),
        ModParamSpec("bla_fix_remote_target", INT, 1),
        ModParamSpec("notify_offline_body", INT, 0),
        ModParamSpec("end_sub_on_timeout", INT, 1),
        ModParamSpec("cluster_id", INT, 0),
        ModParamSpec("cluster_federation_mode", ANY),
        ModParamSpec("cluster_pres_events", STR),
        ModParamSpec("cluster_sharing_tags", STR, None, repeatable=True),
        ModParamSpec("contact_user", STR, "presence"),
        ModParamSpec("cluster_be_active_shtag", STR),
    ],
)
