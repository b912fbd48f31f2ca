"""b2b_logic_xml (OpenSIPS 3.2): the XML-scenario B2BUA logic split out of b2b_logic, with the 2.x script API.

The scenario files named by ``script_scenario`` / ``extern_scenario`` are loaded and checked by
``pysips.b2b.scenario_xml`` (``pysips check`` reports their problems) and run by the b2b engine
(``pysips.b2b.scenario_run``). OpenSIPS 3.2's export table: b2b_init_request takes the 2.x form
``"scenario_id[/flags]"`` plus up to four scenario parameters (strings with variables),
b2b_bridge_request(b2bl_key, entity_no); the MI command b2b_trigger_scenario takes 2.x parameters.
"""

from __future__ import annotations

from typing import Any

from pysips.modules import INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec
from pysips.modules.b2b_logic import (
    mi_b2b_bridge,
    mi_b2b_list,
    mi_b2b_terminate_call,
    mi_b2b_trigger_scenario,
    w_b2b_bridge_request,
    w_b2b_init_request,
)


async def start_service(core: Any, program: Any, *, task_status: Any) -> None:
    """The same engine as b2b_logic (one per server)."""
    from pysips.modules.b2b_logic import start_service as b2b_start

    await b2b_start(core, program, task_status=task_status)


MODULE = ModuleSpec.build(
    "b2b_logic_xml",
    doc="XML scenarios (script_scenario / extern_scenario) with the 2.x b2b_init_request",
    functions=[
        FunctionSpec(
            "b2b_init_request",
            (
                ParamSpec(STR, name="scenario_id/flags"),
                ParamSpec(STR, optional=True, name="scenario_param1"),
                ParamSpec(STR, optional=True, name="scenario_param2"),
                ParamSpec(STR, optional=True, name="scenario_param3"),
                ParamSpec(STR, optional=True, name="scenario_param4"),
            ),
            w_b2b_init_request,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "b2b_bridge_request",
            (ParamSpec(STR, name="b2bl_key"), ParamSpec(INT, name="entity_no")),
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
        ModParamSpec("hash_size", INT, 10),
        ModParamSpec("cleanup_period", INT, 100),
        ModParamSpec("update_period", INT, 100),
        ModParamSpec("script_scenario", STR, None, repeatable=True),
        ModParamSpec("extern_scenario", STR, None, repeatable=True),
        ModParamSpec("custom_headers", STR),
        ModParamSpec("custom_headers_regexp", STR),
        ModParamSpec("use_init_sdp", INT, 0),
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR, "b2b_logic"),
        ModParamSpec("max_duration", INT, 43200),
        ModParamSpec("b2bl_from_spec_param", STR),
        ModParamSpec("server_address", STR),
        ModParamSpec("init_callid_hdr", STR),
        ModParamSpec("db_mode", INT, 2),
        ModParamSpec("b2bl_th_init_timeout", INT, 60),
    ],
)
