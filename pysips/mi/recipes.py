"""What OpenSIPS's MI commands accept, as data: recipes (parameter name sets) and OpenSIPS 4.0 names.

OpenSIPS declares, for every MI command, the sets of parameter names it accepts (``mi_recipe_t``); positional
parameters are matched on their count alone and then named after the matching recipe. Module helpers declare their
commands as plain callables in ``ModuleSpec.mi_commands``; the recipes of the well-known ones are kept here (from the
OpenSIPS 3.6 export tables) so a positional call such as ``ds_set_state i 1 sip:10.0.0.2`` reaches the callable as
``{"state": "i", "group": "1", "address": "sip:10.0.0.2"}``. A callable may override this with ``@mi_command``.

``NEW_NAMES`` maps a 3.x name to its OpenSIPS 4.0 ``module:cmd`` name (registered as an alias).
``ARRAY_PARAMS`` names the commands whose one parameter is an array (clients build it from the trailing words).
"""

from __future__ import annotations

Recipes = tuple[tuple[str, ...], ...]

RECIPES: dict[str, Recipes] = {
    # dispatcher
    "ds_set_state": (("state", "group", "address"), ("state", "group", "address", "partition")),
    "ds_list": ((), ("partition",), ("full",), ("full", "partition")),
    "ds_reload": ((), ("inherit_state",), ("partition",), ("partition", "inherit_state")),
    "ds_push_script_attrs": (("attrs", "ip", "port", "set"), ("attrs", "ip", "port", "set", "partition")),
    # b2b_logic / b2b_entities
    "b2b_trigger_scenario": (
        ("scenario_id", "entity1", "entity2"),
        ("scenario_id", "entity1", "entity2", "context"),
    ),
    "b2b_bridge": (
        ("dialog_id", "new_uri"),
        ("dialog_id", "new_uri", "flag"),
        ("dialog_id", "new_uri", "prov_media_uri"),
        ("dialog_id", "new_uri", "flag", "prov_media_uri"),
    ),
    "b2b_list": ((),),
    "b2b_terminate_call": (("key",),),
    "b2be_list": ((),),
    # drouting
    "dr_reload": ((), ("inherit_state",), ("partition_name",), ("partition_name", "inherit_state")),
    "dr_gw_status": (
        (),
        ("partition_name",),
        ("gw_id",),
        ("gw_id", "status"),
        ("partition_name", "gw_id"),
        ("partition_name", "gw_id", "status"),
    ),
    "dr_carrier_status": (
        (),
        ("partition_name",),
        ("carrier_id",),
        ("carrier_id", "status"),
        ("partition_name", "carrier_id"),
        ("partition_name", "carrier_id", "status"),
    ),
    "dr_number_routing": (
        ("number",),
        ("group_id", "number"),
        ("partition_name", "number"),
        ("partition_name", "group_id", "number"),
    ),
    "dr_reload_status": ((), ("partition_name",)),
    "dr_enable_probing": ((), ("status",)),
    # dialog
    "dlg_list": ((), ("callid",), ("callid", "from_tag"), ("index", "counter")),
    "dlg_end_dlg": (("dialog_id",), ("dialog_id", "extra_hdrs")),
    "profile_get_size": (("profile",), ("profile", "value")),
    "profile_list_dlgs": (("profile",), ("profile", "value")),
    "profile_get_values": (("profile",),),
    "list_all_profiles": ((),),
    "profile_end_dlgs": (("profile",), ("profile", "value")),
    "dlg_push_var": (("dlg_val_name", "dlg_val_value", "DID"),),
    # tm
    "t_uac_dlg": (
        ("method", "ruri", "headers"),
        ("method", "ruri", "headers", "next_hop"),
        ("method", "ruri", "headers", "next_hop", "socket"),
        ("method", "ruri", "headers", "next_hop", "socket", "body"),
    ),
    "t_uac_cancel": (("callid", "cseq"),),
    "t_hash": ((),),
    "t_reply": (
        ("code", "reason", "trans_id", "to_tag"),
        ("code", "reason", "trans_id", "to_tag", "new_headers"),
    ),
}

NEW_NAMES: dict[str, str] = {
    # core (HEAD:mi/mi_core.c registers these groups; plain names keep working)
    "uptime": "core:uptime",
    "version": "core:version",
    "pwd": "core:pwd",
    "arg": "core:arg",
    "which": "core:which",
    "ps": "core:ps",
    "kill": "core:kill",
    "log_level": "core:log_level",
    "xlog_level": "core:xlog_level",
    "reload_routes": "core:reload_routes",
    "help": "core:help",
    "list_tcp_conns": "tcp:list",
    "cache_store": "cache:store",
    "cache_fetch": "cache:fetch",
    "cache_remove": "cache:remove",
    "get_statistics": "statistics:get",
    "list_statistics": "statistics:list",
    "reset_statistics": "statistics:reset",
    "reset_all_statistics": "statistics:reset_all",
    # modules
    "ds_set_state": "dispatcher:set_state",
    "ds_list": "dispatcher:list",
    "ds_reload": "dispatcher:reload",
    "ds_push_script_attrs": "dispatcher:push_script_attrs",
    "b2b_trigger_scenario": "b2b_logic:trigger_scenario",
    "b2b_bridge": "b2b_logic:bridge",
    "b2b_list": "b2b_logic:list",
    "b2b_terminate_call": "b2b_logic:terminate_call",
    "b2be_list": "b2b_entities:list",
    "dr_reload": "drouting:reload",
    "dr_gw_status": "drouting:gw_status",
    "dr_carrier_status": "drouting:carrier_status",
    "dr_number_routing": "drouting:number_routing",
    "dr_reload_status": "drouting:reload_status",
    "dr_enable_probing": "drouting:enable_probing",
    "dlg_list": "dialog:list",
    "dlg_end_dlg": "dialog:end_dlg",
    "dlg_push_var": "dialog:push_var",
}

# command -> (index of the array parameter, its name), as opensips-cli builds them (its MI_ARRAY_PARAMS_COMMANDS)
ARRAY_PARAMS: dict[str, tuple[int, str]] = {
    "get_statistics": (0, "statistics"),
    "statistics:get": (0, "statistics"),
    "list_statistics": (0, "statistics"),
    "statistics:list": (0, "statistics"),
    "reset_statistics": (0, "statistics"),
    "statistics:reset": (0, "statistics"),
    "b2b_trigger_scenario": (3, "context"),
    "b2b_logic:trigger_scenario": (3, "context"),
    "dlg_push_var": (2, "DID"),
    "dialog:push_var": (2, "DID"),
}
