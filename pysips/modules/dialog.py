"""dialog: declarations (functions, parameters, route types, PVs) from the OpenSIPS 1.x-3.4 export tables.

The dialog PVs are declared so scripts using them load: with no dialog support yet they read NULL, and writing
them fails the assignment ("no dialog") as OpenSIPS does for a message that has no dialog.
"""

from __future__ import annotations

from typing import Any

from pysips.errors import ScriptRuntimeError
from pysips.modules import (
    ALL_ROUTES,
    ANY,
    BRANCH,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REQUEST,
    STR,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

_DLG_PVS = (
    "DLG_count",
    "DLG_lifetime",
    "DLG_status",
    "DLG_dir",
    "DLG_did",
    "DLG_end_reason",
    "DLG_json",
    "DLG_ctx_json",
)
_DLG_WRITABLE = ("DLG_flags", "DLG_timeout", "DLG_del_delay")


def _no_dialog(*args: Any) -> None:
    raise ScriptRuntimeError("no dialog for this message (dialog support is not implemented by pysips)")


def _null(*args: Any) -> None:
    return None


def _register_pvs() -> None:
    from pysips.script.pvars import register_pv

    for name in _DLG_PVS:
        register_pv(name, _null)
    for name in _DLG_WRITABLE:
        register_pv(name, _null, _no_dialog)
    register_pv("dlg_val", _null, _no_dialog, inner=True)


_register_pvs()

MODULE = ModuleSpec.build(
    "dialog",
    doc="declarations only: no function is implemented yet",
    functions=[
        FunctionSpec(
            "create_dialog", (ParamSpec(STR, optional=True, name="flags"),), None, frozenset({REQUEST})
        ),
        FunctionSpec(
            "set_dlg_profile",
            (
                ParamSpec(STR, name="profile"),
                ParamSpec(STR, optional=True, name="value"),
                ParamSpec(INT, optional=True, name="clear_values"),
            ),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH}),
        ),
        FunctionSpec(
            "unset_dlg_profile",
            (ParamSpec(STR, name="profile"), ParamSpec(STR, optional=True, name="value")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH}),
        ),
        FunctionSpec(
            "is_in_profile",
            (ParamSpec(STR, name="profile"), ParamSpec(STR, optional=True, name="value")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "get_profile_size",
            (
                ParamSpec(STR, name="profile"),
                ParamSpec(STR, optional=True, name="value"),
                ParamSpec(VAR, optional=True, name="size"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "set_dlg_flag",
            (ParamSpec(STR, name="flag"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "test_and_set_dlg_flag",
            (ParamSpec(STR, name="flag"), ParamSpec(INT, name="value")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "reset_dlg_flag",
            (ParamSpec(STR, name="flag"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "is_dlg_flag_set",
            (ParamSpec(STR, name="flag"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "store_dlg_value",
            (ParamSpec(STR, name="name"), ParamSpec(VAR, name="val")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "fetch_dlg_value",
            (ParamSpec(STR, name="name"), ParamSpec(VAR, name="val")),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec("validate_dialog", (), None, frozenset({REQUEST})),
        FunctionSpec("fix_route_dialog", (), None, frozenset({REQUEST})),
        FunctionSpec(
            "get_dialog_info",
            (
                ParamSpec(STR, name="attr"),
                ParamSpec(VAR, name="avp"),
                ParamSpec(STR, name="key"),
                ParamSpec(VAR, name="key_val"),
                ParamSpec(VAR, optional=True, name="no_dlgs"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "get_dialog_vals",
            (ParamSpec(VAR, name="names"), ParamSpec(VAR, name="vals"), ParamSpec(STR, name="callid")),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "get_dialogs_by_val",
            (
                ParamSpec(STR, name="name"),
                ParamSpec(VAR, name="value"),
                ParamSpec(VAR, name="out_avp"),
                ParamSpec(VAR, name="out_dlg_no"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "get_dialogs_by_profile",
            (
                ParamSpec(STR, name="name"),
                ParamSpec(STR, optional=True, name="value"),
                ParamSpec(VAR, name="out_avp"),
                ParamSpec(VAR, name="out_dlg_no"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "match_dialog",
            (ParamSpec(STR, optional=True, name="dlg_match_mode"),),
            None,
            frozenset({REQUEST}),
        ),
        FunctionSpec("set_dlg_sharing_tag", (ParamSpec(STR, name="tag_name"),), None, frozenset({REQUEST})),
        FunctionSpec(
            "load_dialog_ctx",
            (ParamSpec(STR, name="dialog"), ParamSpec(STR, optional=True, name="id_type")),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec("unload_dialog_ctx", (), None, ALL_ROUTES),
        FunctionSpec(
            "dlg_on_timeout",
            (ParamSpec(STR, optional=True, name="route_name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH}),
        ),
        FunctionSpec(
            "dlg_on_answer",
            (ParamSpec(STR, optional=True, name="route_name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH}),
        ),
        FunctionSpec(
            "dlg_on_hangup",
            (ParamSpec(STR, optional=True, name="route_name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH}),
        ),
        FunctionSpec(
            "dlg_send_sequential",
            (
                ParamSpec(STR, name="method"),
                ParamSpec(STR, name="leg"),
                ParamSpec(STR, optional=True, name="body"),
                ParamSpec(STR, optional=True, name="contenttype"),
                ParamSpec(STR, optional=True, name="headers"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec("topology_hiding", (ParamSpec(ANY, optional=True),), None, frozenset({REQUEST})),
    ],
    params=[
        ModParamSpec("enable_stats", INT, 1),
        ModParamSpec("hash_size", INT, 4096),
        ModParamSpec("rr_param", STR, "did"),
        ModParamSpec("dlg_flag", INT, -1),
        ModParamSpec("timeout_avp", STR),
        ModParamSpec("default_timeout", INT),
        ModParamSpec("dlg_extra_hdrs", STR),
        ModParamSpec("dlg_match_mode", INT),
        ModParamSpec("db_url", STR),
        ModParamSpec("db_mode", INT),
        ModParamSpec("table_name", STR),
        ModParamSpec("call_id_column", STR),
        ModParamSpec("from_uri_column", STR),
        ModParamSpec("from_tag_column", STR),
        ModParamSpec("to_uri_column", STR),
        ModParamSpec("to_tag_column", STR),
        ModParamSpec("h_id_column", STR),
        ModParamSpec("h_entry_column", STR),
        ModParamSpec("state_column", STR),
        ModParamSpec("start_time_column", STR),
        ModParamSpec("timeout_column", STR),
        ModParamSpec("to_cseq_column", STR),
        ModParamSpec("from_cseq_column", STR),
        ModParamSpec("to_route_column", STR),
        ModParamSpec("from_route_column", STR),
        ModParamSpec("to_contact_column", STR),
        ModParamSpec("from_contact_column", STR),
        ModParamSpec("to_sock_column", STR),
        ModParamSpec("from_sock_column", STR),
        ModParamSpec("db_update_period", INT),
        ModParamSpec("profiles_with_value", STR),
        ModParamSpec("profiles_no_value", STR),
        ModParamSpec("log_profile_hash_size", INT, 4),
        ModParamSpec("bye_on_timeout_flag", INT, -1),
        ModParamSpec("ping_interval", INT, 30),
        ModParamSpec("profiles_column", STR),
        ModParamSpec("vars_column", STR),
        ModParamSpec("sflags_column", STR),
        ModParamSpec("db_flush_vals_profiles", INT, 0),
        ModParamSpec("cachedb_url", STR),
        ModParamSpec("profile_value_prefix", STR, "dlg_val_"),
        ModParamSpec("profile_no_value_prefix", STR, "dlg_noval_"),
        ModParamSpec("profile_size_prefix", STR, "dlg_size_"),
        ModParamSpec("profile_timeout", INT),
        ModParamSpec("dlg_id_column", STR),
        ModParamSpec("flags_column", STR),
        ModParamSpec("own_timer_proc", INT, 0),
        ModParamSpec("timer_bulk_del_no", INT, 1),
        ModParamSpec("accept_replicated_dialogs", INT, 0),
        ModParamSpec("replicate_dialogs_to", ANY, 0),
        ModParamSpec("mflags_column", STR),
        ModParamSpec("options_ping_interval", INT, 30),
        ModParamSpec("reinvite_ping_interval", INT, 300),
        ModParamSpec("accept_replicated_profiles", INT, 0),
        ModParamSpec("replicate_profiles_timer", INT),
        ModParamSpec("replicate_profiles_check", INT),
        ModParamSpec("replicate_profiles_buffer", INT),
        ModParamSpec("replicate_profiles_expire", INT),
        ModParamSpec("replicate_profiles_to", INT, 0),
        ModParamSpec("accept_replicated_profile_timeout", INT, 10),
        ModParamSpec("auth_check", INT, 0),
        ModParamSpec("replication_auth_check", INT, 0),
        ModParamSpec("dialog_replication_cluster", INT, 0),
        ModParamSpec("profile_replication_cluster", INT, 0),
        ModParamSpec("dlg_sharing_tag", STR, None, repeatable=True),
        ModParamSpec("delete_delay", INT, 0),
        ModParamSpec("race_condition_timeout", INT, 5),
        ModParamSpec("cluster_auto_sync", INT, 1),
    ],
)
