"""b2b_logic: the script API of the B2BUA (OpenSIPS 1.x-3.4 export tables).

Implemented: ``b2b_init_request("top hiding"[/flags] [, flags])``; the engine is ``ctx.env.core.b2b``
(pysips.b2b.engine.B2BEngine). The other functions are declared so scripts using them load with a warning.
"""

from __future__ import annotations

from typing import Any

from pysips.modules import ANY, INT, REQUEST, STR, VAR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec


def _engine(ctx: Any) -> Any:
    core = getattr(ctx.env, "core", None)
    return getattr(core, "b2b", None) if core is not None else None


def w_b2b_init_request(
    ctx: Any,
    scenario: Any = None,
    flags: Any = None,
    req_route: Any = None,
    reply_route: Any = None,
    extra: Any = None,
) -> int:
    engine = _engine(ctx)
    if engine is None:
        ctx.env.record("b2b_init_request", scenario=scenario, flags=flags)
        return 1 if getattr(ctx.env, "core", None) is None else -1
    sflags = None if flags is None or flags == "" else str(flags)
    # 1.x-3.1 pass scenario parameters (URIs) after the id: they are not flags
    if sflags is not None and (":" in sflags or "@" in sflags):
        sflags = None
    return engine.init_request(ctx, str(scenario or ""), sflags, req_route, reply_route)


MODULE = ModuleSpec.build(
    "b2b_logic",
    doc='b2b_init_request("top hiding") is implemented; the 3.2+ entity API is declared only',
    functions=[
        FunctionSpec(
            "b2b_init_request",
            (
                ParamSpec(STR, optional=True),
                ParamSpec(STR, optional=True),
                ParamSpec(STR, optional=True),
                ParamSpec(STR, optional=True),
                ParamSpec(ANY, optional=True),
            ),
            w_b2b_init_request,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "b2b_server_new",
            (
                ParamSpec(STR, name="id"),
                ParamSpec(STR, optional=True, name="adv_contact"),
                ParamSpec(VAR, optional=True, name="extra_hdrs"),
                ParamSpec(VAR, optional=True, name="extra_hdr_bodies"),
            ),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "b2b_client_new",
            (
                ParamSpec(STR, name="id"),
                ParamSpec(STR, name="dest_uri"),
                ParamSpec(STR, optional=True, name="proxy"),
                ParamSpec(STR, optional=True, name="from_dname"),
                ParamSpec(STR, optional=True, name="adv_contact"),
                ParamSpec(VAR, optional=True, name="extra_hdrs"),
                ParamSpec(VAR, optional=True, name="extra_hdr_bodies"),
            ),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec("b2b_handle_reply", (), None, frozenset({REQUEST})),
        FunctionSpec("b2b_pass_request", (), None, frozenset({REQUEST})),
        FunctionSpec("b2b_delete_entity", (), None, frozenset({REQUEST})),
        FunctionSpec("b2b_end_dlg_leg", (), None, frozenset({REQUEST})),
        FunctionSpec(
            "b2b_send_reply",
            (
                ParamSpec(INT, name="code"),
                ParamSpec(STR, name="reason"),
                ParamSpec(STR, optional=True, name="headers"),
                ParamSpec(STR, optional=True, name="body"),
            ),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "b2b_bridge",
            (
                ParamSpec(STR, name="entity1"),
                ParamSpec(STR, name="entity2"),
                ParamSpec(STR, optional=True, name="provmedia_uri"),
                ParamSpec(STR, optional=True, name="flags"),
            ),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec("b2b_bridge_retry", (ParamSpec(STR, name="new_entity"),), None, frozenset({REQUEST})),
        FunctionSpec(
            "b2b_trigger_scenario",
            (
                ParamSpec(STR),
                ParamSpec(STR, optional=True),
                ParamSpec(STR),
                ParamSpec(VAR, optional=True),
                ParamSpec(VAR, optional=True),
                ParamSpec(STR),
                ParamSpec(VAR, optional=True),
                ParamSpec(VAR, optional=True),
            ),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "b2b_bridge_request",
            (
                ParamSpec(STR, name="b2bl_key"),
                ParamSpec(INT, name="entity_no"),
                ParamSpec(STR, optional=True, name="adv_contact"),
            ),
            None,
            frozenset({REQUEST}),
        ),
    ],
    params=[
        ModParamSpec("hash_size", INT, 9),
        ModParamSpec("clean_period", INT, 100),
        ModParamSpec("script_scenario", STR, None, repeatable=True),
        ModParamSpec("extern_scenario", STR, None, repeatable=True),
        ModParamSpec("cleanup_period", INT, 100),
        ModParamSpec("update_period", INT, 100),
        ModParamSpec("custom_headers", STR),
        ModParamSpec("use_init_sdp", INT, 0),
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR, "b2b_logic"),
        ModParamSpec("max_duration", INT, 43200),
        ModParamSpec("b2bl_key_avp", STR),
        ModParamSpec("b2bl_from_spec_param", STR),
        ModParamSpec("server_address", STR),
        ModParamSpec("init_callid_hdr", STR),
        ModParamSpec("db_mode", INT),
        ModParamSpec("custom_headers_regexp", STR),
        ModParamSpec("b2bl_th_init_timeout", INT, 60),
        ModParamSpec("script_req_route", STR),
        ModParamSpec("script_reply_route", STR),
        ModParamSpec("contact_user", INT, 0),
        ModParamSpec("cachedb_url", STR),
        ModParamSpec("cachedb_key_prefix", STR, "b2bl$"),
        ModParamSpec("b2bl_early_update", INT, 0),
    ],
)
