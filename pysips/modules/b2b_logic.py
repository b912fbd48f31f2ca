"""b2b_logic: the script API of the B2BUA (OpenSIPS 1.x-3.4 export tables).

The engine is ``ctx.env.core.b2b`` (pysips.b2b.engine.B2BEngine), attached by ``start_service`` when the script
loads b2b_logic (or b2b_logic_xml). Implemented: ``b2b_init_request("top hiding"[/flags] [, flags])``, the 2.x form
``b2b_init_request("scenario_id[/flags]", p1..p4)`` for XML scenarios loaded from modparam script_scenario
(pysips.b2b.scenario_run), the 3.2+ script API (``b2b_server_new``, ``b2b_client_new``,
``b2b_init_request(id, flags, req_route, reply_route)``, ``b2b_pass_request``, ``b2b_handle_reply``,
``b2b_send_reply``, ``b2b_delete_entity``, ``b2b_end_dlg_leg``, ``b2b_bridge``, ``b2b_bridge_retry``,
``b2b_trigger_scenario``, ``b2b_bridge_request``), the PVs ``$b2b_logic.key / .scenario / .entity(field)[idx] /
.ctx(name)`` and the MI commands ``b2b_list`` / ``b2b_terminate_call`` / ``b2b_bridge`` / ``b2b_trigger_scenario``
(3.2+ ``scenario entity1 entity2 [context]`` and 2.x ``scenario p1 .. p4`` for extern XML scenarios; 4.0 name
``b2b_logic:trigger_scenario``). Accepted but ignored: the extra-header AVPs of the entity functions and of
b2b_trigger_scenario, the ``late_bye`` flag of b2b_bridge_request.

With ``udp_workers=N`` every worker runs its own engine and holds the calls whose INVITE it received (in-dialog
traffic is handed to it: pysips.proxy.workers). MI runs in worker 0, which passes b2b_terminate_call and b2b_bridge
to the worker named in the key and gathers b2b_list from every worker; b2b_trigger_scenario starts its call in
worker 0. With a b2b ``cachedb_url`` each worker persists its own calls and restores its share at start-up.
"""

from __future__ import annotations

from typing import Any

from pysips.mi import mi_command
from pysips.modules import ANY, INT, REQUEST, STR, VAR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec


async def start_service(core: Any, program: Any, *, task_status: Any) -> None:
    """Attach the B2BUA engine to the core (``pysips.server.start_module_services`` calls this once)."""
    from pysips.b2b.engine import B2BEngine

    if core.b2b is None:
        script = getattr(core.env, "script", None) or getattr(program, "script", None)
        core.b2b = B2BEngine(core, script)
        core.b2b.scenarios = _scenarios(program, script)
        if script is not None:
            from pysips.server import modparam

            for mod in ("b2b_logic", "b2b_logic_xml"):
                try:
                    if int(modparam(script, mod, "use_init_sdp", 0) or 0):
                        core.b2b.use_init_sdp = True
                except (TypeError, ValueError):
                    pass
        core.b2b.start(None)
        workers = getattr(core, "workers", None)
        if workers is not None:
            # the engine's tags and Call-IDs carry this worker's token: in-dialog requests that the kernel gave
            # to another worker come back here (pysips.proxy.workers)
            workers.add_router(workers.dialog_owner)
            # MI runs in worker 0: commands on one call go to the worker named in its key, b2b_list asks all
            workers.route_mi_by_key("b2b_terminate_call", "key")
            workers.route_mi_by_key("b2b_bridge", "dialog_id")
            workers.route_mi_to_all("b2b_list", _merge_lists)
    # ---- b2b persistence (pysips.b2b.persist): restore stored calls before "pysips ready", then write-behind
    persist = None
    if getattr(core.b2b, "persist", True) is None:
        from pysips.b2b.persist import open_persistence

        script = getattr(core.env, "script", None) or getattr(program, "script", None)
        persist = await open_persistence(core.b2b, script)
    task_status.started()
    if persist is not None:
        await persist.serve()
    # ---- end of b2b persistence


def _merge_lists(results: list[dict]) -> dict:
    """b2b_list over workers: every worker's tuples, worker 0's first."""
    return {"Tuples": [t for r in results for t in r.get("Tuples", [])]}


def _scenarios(program: Any, script: Any) -> dict:
    """The XML scenarios of modparam script_scenario / extern_scenario (loaded and checked by `pysips run`)."""
    scenarios = getattr(program, "b2b_scenarios", None)
    if scenarios is None and script is not None:
        from pysips.b2b.scenario_xml import load_script_scenarios

        scenarios, _errors = load_script_scenarios(script)  # `pysips run` refused to start on errors already
    return dict(scenarios or {})


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
    sid = str(scenario or "").partition("/")[0].strip()
    if sid in engine.scenarios:
        # 1.x-3.1 / b2b_logic_xml: an XML scenario and up to four (or five) string parameters
        return engine.xml_init_request(ctx, str(scenario), [flags, req_route, reply_route, extra])
    sflags = None if flags is None or flags == "" else str(flags)
    # 1.x-3.1 pass scenario parameters (URIs) after the id: they are not flags
    if sflags is not None and (":" in sflags or "@" in sflags):
        sflags = None
    return engine.init_request(ctx, str(scenario or ""), sflags, req_route, reply_route)


def _call_engine(ctx: Any, what: str) -> Any:
    engine = _engine(ctx)
    if engine is None:
        ctx.env.record(what)
    return engine


def w_b2b_server_new(
    ctx: Any, eid: Any, adv_contact: Any = None, hdrs: Any = None, bodies: Any = None
) -> int:
    engine = _call_engine(ctx, "b2b_server_new")
    return -1 if engine is None else engine.new_server(ctx, str(eid), adv_contact or None)


def w_b2b_client_new(
    ctx: Any,
    eid: Any,
    dest: Any,
    proxy: Any = None,
    dname: Any = None,
    adv_contact: Any = None,
    hdrs: Any = None,
    bodies: Any = None,
    flags: Any = None,
) -> int:
    engine = _call_engine(ctx, "b2b_client_new")
    if engine is None:
        return -1
    return engine.new_client(ctx, str(eid), str(dest), proxy or None, dname or None, adv_contact or None)


def w_b2b_pass_request(ctx: Any) -> int:
    engine = _call_engine(ctx, "b2b_pass_request")
    return -1 if engine is None else engine.pass_request(ctx)


def w_b2b_handle_reply(ctx: Any, flags: Any = None) -> int:
    engine = _call_engine(ctx, "b2b_handle_reply")
    return -1 if engine is None else engine.handle_reply(ctx)


def w_b2b_send_reply(ctx: Any, code: Any, reason: Any, headers: Any = None, body: Any = None) -> int:
    engine = _call_engine(ctx, "b2b_send_reply")
    if engine is None:
        return -1
    try:
        c = int(code)
    except (TypeError, ValueError):
        return -1
    return engine.send_reply(ctx, c, str(reason), headers or None, body or None)


def w_b2b_delete_entity(ctx: Any) -> int:
    engine = _call_engine(ctx, "b2b_delete_entity")
    return -1 if engine is None else engine.delete_entity(ctx)


def w_b2b_end_dlg_leg(ctx: Any) -> int:
    engine = _call_engine(ctx, "b2b_end_dlg_leg")
    return -1 if engine is None else engine.end_dlg_leg(ctx)


def w_b2b_bridge_retry(ctx: Any, eid: Any) -> int:
    engine = _call_engine(ctx, "b2b_bridge_retry")
    return -1 if engine is None else engine.bridge_retry(ctx, str(eid))


def w_b2b_bridge(ctx: Any, e1: Any, e2: Any, provmedia: Any = None, flags: Any = None) -> int:
    engine = _call_engine(ctx, "b2b_bridge")
    if engine is None:
        return -1
    return engine.bridge(ctx, str(e1), str(e2), provmedia or None, flags or None)


def w_b2b_bridge_request(
    ctx: Any, key: Any, entity_no: Any, adv_contact: Any = None, flags: Any = None
) -> int:
    engine = _call_engine(ctx, "b2b_bridge_request")
    if engine is None:
        return -1
    try:
        no = int(entity_no)
    except (TypeError, ValueError):
        return -1
    return engine.bridge_request(ctx, str(key or ""), no, str(adv_contact) if adv_contact else None)


def _avp_list(v: Any) -> list[str]:
    if v is None:
        return []
    if isinstance(v, (list, tuple)):
        return [str(x) for x in v]
    return [str(v)]


def w_b2b_trigger_scenario(
    ctx: Any,
    scenario: Any,
    params: Any = None,
    ent1: Any = None,
    hdrs1: Any = None,
    vals1: Any = None,
    ent2: Any = None,
    hdrs2: Any = None,
    vals2: Any = None,
) -> int:
    """b2b_trigger_scenario(scenario, [params], "id,ruri[,proxy[,dname]]", [hdrs], [vals], entity2, ...):
    3PCC from the script. `params` are ``key=value`` items (``;``-separated) for $b2b_logic.ctx."""
    engine = _call_engine(ctx, "b2b_trigger_scenario")
    if engine is None:
        return -1
    ents = []
    for ent in (ent1, ent2):
        parts = [p.strip() for p in str(ent or "").split(",")]
        if len(parts) < 2:
            return -1
        # script form: id,ruri[,proxy[,dname]] -> the MI form id,ruri[,dname]
        ents.append(",".join([parts[0], parts[1]] + ([parts[3]] if len(parts) > 3 and parts[3] else [])))
    context = [p for p in str(params or "").split(";") if p.strip()]
    return 1 if engine.trigger_scenario(str(scenario), ents, context) else -1


# ---------------------------------------------------------------- pseudo-variables


def _tuple(ctx: Any) -> Any:
    engine = _engine(ctx)
    return engine.tuple_of(ctx) if engine is not None else None


def _pv_key(ctx: Any) -> Any:
    tup = _tuple(ctx)
    return tup.key if tup is not None else None


def _pv_scenario(ctx: Any) -> Any:
    tup = _tuple(ctx)
    return tup.scenario if tup is not None else None


def _entity_field(leg: Any, field: str) -> Any:
    if leg is None:
        return None
    field = (field or "key").lower()
    if field == "key":
        return leg.key
    if field == "id":
        return leg.eid or None
    if field == "callid":
        return leg.call_id
    if field == "fromtag":
        return leg.from_tag
    if field == "totag":
        return leg.to_tag
    return None


def _pv_entity(ctx: Any, field: str) -> Any:
    call = getattr(ctx, "b2b", None)
    return _entity_field(call.leg, field) if call is not None else None


def _pv_entity_values(ctx: Any, field: str) -> list:
    tup = _tuple(ctx)
    if tup is None:
        return []
    return [_entity_field(tup.server, field), _entity_field(tup.client, field)]


def _pv_ctx(ctx: Any, name: str) -> Any:
    tup = _tuple(ctx)
    vals = tup.vals if tup is not None else getattr(ctx, "b2b_vals", None)
    return vals.get(name) if vals else None


def _set_ctx(ctx: Any, name: str, op: str, value: Any) -> None:
    tup = _tuple(ctx)
    if tup is not None:
        vals = tup.vals
    else:
        vals = getattr(ctx, "b2b_vals", None)
        if vals is None:
            vals = ctx.b2b_vals = {}
    if value is None:
        vals.pop(name, None)
    else:
        vals[name] = value if isinstance(value, str) else str(value)


def _register_pvs() -> None:
    from pysips.script.pvars import register_pv

    register_pv("b2b_logic.key", _pv_key)
    register_pv("b2b_logic.scenario", _pv_scenario)
    register_pv("b2b_logic.entity", _pv_entity, inner=True, values=_pv_entity_values)
    register_pv("b2b_logic.ctx", _pv_ctx, _set_ctx, inner=True)


_register_pvs()


def mi_b2b_list(core: Any, params: dict) -> dict:
    engine = getattr(core, "b2b", None)
    return {"Tuples": engine.list_tuples() if engine is not None else []}


def mi_b2b_terminate_call(core: Any, params: dict) -> str:
    from pysips.errors import MIError
    from pysips.mi import param_str

    engine = getattr(core, "b2b", None)
    key = param_str(params, "key")
    if engine is None or not engine.terminate_call(key):
        raise MIError("B2B session not found", 404)
    return "OK"


@mi_command(
    recipes=(
        ("scenario_id",),
        ("scenario_id", "scenario_param1"),
        ("scenario_id", "entity1", "entity2"),
        ("scenario_id", "entity1", "entity2", "context"),
        ("scenario_id", "scenario_param1", "scenario_param2", "scenario_param3", "scenario_param4"),
    ),
    name4="b2b_logic:trigger_scenario",
)
def mi_b2b_trigger_scenario(core: Any, params: dict) -> str:
    """3.2+: scenario_id entity1 entity2 [context]; 2.x: scenario_id p1 .. p4 for an extern XML scenario."""
    from pysips.errors import MIError
    from pysips.mi import param_array, param_str

    engine = getattr(core, "b2b", None)
    if engine is None:
        raise MIError("B2B engine not running", 500)
    sid = param_str(params, "scenario_id")
    e1 = param_str(params, "entity1", optional=True)
    e2 = param_str(params, "entity2", optional=True)
    if e1 is not None and e2 is not None and "," in e1 and "," in e2 and sid not in engine.scenarios:
        ctx = param_array(params, "context", optional=True)
        ok = engine.trigger_scenario(sid, [e1, e2], ctx)
    else:
        plist = [e1, e2] if e1 is not None else []
        third = params.get("context") if isinstance(params, dict) else None
        if isinstance(third, (str, int)):
            plist.append(str(third))  # 2.x "scenario p1 p2 p3" binds to the 3.x recipe with a context
        for i in range(1, 5):
            v = params.get(f"scenario_param{i}") if isinstance(params, dict) else None
            if v is not None:
                plist.append(str(v))
        if sid not in engine.scenarios:
            raise MIError("Unknown scenario", 404)
        ok = engine.trigger_scenario(sid, None, None, plist)
    if not ok:
        raise MIError("Failed to trigger scenario", 500)
    return "OK"


def mi_b2b_bridge(core: Any, params: dict) -> str:
    from pysips.errors import MIError
    from pysips.mi import param_int, param_str

    engine = getattr(core, "b2b", None)
    key = param_str(params, "dialog_id")
    uri = param_str(params, "new_uri")
    flag = (
        param_int(params, "flag", optional=True) or 0
    )  # a non-integer: -32602 "Bad type for parameter 'flag'"
    prov = param_str(params, "prov_media_uri", optional=True)
    if flag not in (0, 1):
        raise MIError("Invalid 'flag' parameter", 404)  # as OpenSIPS b2b_logic mi_b2b_bridge
    try:
        ok = engine is not None and engine.mi_bridge(key, uri, int(flag), prov)
    except ValueError:
        raise MIError("Invalid uri for the new destination", 404) from None
    if not ok:
        raise MIError("B2B session not found", 404)
    return "OK"


MODULE = ModuleSpec.build(
    "b2b_logic",
    doc='b2b_init_request("top hiding") and the 3.2+ entity API (server/client_new, pass_request, bridge, ...)',
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
            w_b2b_server_new,
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
            w_b2b_client_new,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "b2b_handle_reply",
            (ParamSpec(STR, optional=True, name="flags"),),
            w_b2b_handle_reply,
            frozenset({REQUEST}),
        ),
        FunctionSpec("b2b_pass_request", (), w_b2b_pass_request, frozenset({REQUEST})),
        FunctionSpec("b2b_delete_entity", (), w_b2b_delete_entity, frozenset({REQUEST})),
        FunctionSpec("b2b_end_dlg_leg", (), w_b2b_end_dlg_leg, frozenset({REQUEST})),
        FunctionSpec(
            "b2b_send_reply",
            (
                ParamSpec(INT, name="code"),
                ParamSpec(STR, name="reason"),
                ParamSpec(STR, optional=True, name="headers"),
                ParamSpec(STR, optional=True, name="body"),
            ),
            w_b2b_send_reply,
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
            w_b2b_bridge,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "b2b_bridge_retry", (ParamSpec(STR, name="new_entity"),), w_b2b_bridge_retry, frozenset({REQUEST})
        ),
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
            w_b2b_trigger_scenario,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "b2b_bridge_request",
            (
                ParamSpec(STR, name="b2bl_key"),
                ParamSpec(INT, name="entity_no"),
                ParamSpec(STR, optional=True, name="adv_contact"),
                ParamSpec(STR, optional=True, name="flags"),
            ),
            w_b2b_bridge_request,
            frozenset({REQUEST}),
        ),
    ],
    mi_commands={
        "b2b_list": mi_b2b_list,
        "b2b_terminate_call": mi_b2b_terminate_call,
        "b2b_bridge": mi_b2b_bridge,
        "b2b_trigger_scenario": mi_b2b_trigger_scenario,
    },
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
        ModParamSpec("db_mode", INT, 2),
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
