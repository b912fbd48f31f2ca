"""uri (1.x-2.x): URI checks. ``has_totag``, ``uri_param``, ``add_uri_param``, ``del_uri_param``,
``is_uri_user_e164`` are implemented (the first moved to sipmsgops in 3.0); the DB/AAA/auth checks are declared only.
"""

from __future__ import annotations

from typing import Any

from pysips.modules import (
    BRANCH,
    FAILURE,
    INT,
    LOCAL,
    REQUEST,
    STR,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
    uri_db,
)
from pysips.modules.sipmsgops import (
    HAS_TOTAG,
    w_is_uri_user_e164,
    w_ruri_add_param,
    w_ruri_del_param,
    w_ruri_has_param,
)

_REQ = frozenset({REQUEST, FAILURE, BRANCH, LOCAL})


def _s(name: str, opt: bool = False) -> ParamSpec:
    return ParamSpec(STR, optional=opt, name=name)


def w_uri_param(ctx: Any, name: str, value: str | None = None) -> int:
    return w_ruri_has_param(ctx, name, value)


def w_add_uri_param(ctx: Any, param: str) -> int:
    return w_ruri_add_param(ctx, param)


def w_del_uri_param(ctx: Any, name: str) -> int:
    return w_ruri_del_param(ctx, name)


def init(params: dict[str, Any]) -> None:
    """2.x: the db functions of uri_db live here; they read this module's db_url / use_domain / use_uri_table."""
    uri_db.init(params)


def _d(name: str, *params: ParamSpec, routes: frozenset[str] = _REQ) -> FunctionSpec:
    return FunctionSpec(name, tuple(params), None, routes)


_RQ = frozenset({REQUEST})
_RL = frozenset({REQUEST, LOCAL})

MODULE = ModuleSpec.build(
    "uri",
    functions=[
        HAS_TOTAG,
        FunctionSpec("uri_param", (_s("param"), _s("value", True)), w_uri_param, _REQ),
        FunctionSpec("add_uri_param", (_s("param"),), w_add_uri_param, _RQ),
        FunctionSpec("del_uri_param", (_s("param"),), w_del_uri_param, _REQ),
        FunctionSpec("is_uri_user_e164", (_s("uri"),), w_is_uri_user_e164, _REQ),
        _d("tel2sip"),
        _d("is_user", _s("username"), routes=_RL),
        FunctionSpec("check_to", (), uri_db.w_check_to, _RQ),
        FunctionSpec("check_from", (), uri_db.w_check_from, _RQ),
        _d("does_uri_exist", _s("uri", True), routes=_RL),
        _d("does_uri_user_exist", _s("uri", True), routes=_RL),
        _d("get_auth_id", _s("string"), ParamSpec(VAR, name="id"), ParamSpec(VAR, name="realm"), routes=_RL),
        FunctionSpec("db_check_to", (), uri_db.w_check_to, _RQ),
        FunctionSpec("db_check_from", (), uri_db.w_check_from, _RQ),
        FunctionSpec("db_does_uri_exist", (), uri_db.w_does_uri_exist, _REQ),
        _d(
            "db_get_auth_id",
            _s("string"),
            ParamSpec(VAR, name="id"),
            ParamSpec(VAR, name="realm"),
            routes=_RL,
        ),
        _d("aaa_does_uri_exist", _s("pvar", True), routes=_RL),
        _d("aaa_does_uri_user_exist", _s("pvar", True), routes=_RL),
    ],
    params=[
        ModParamSpec("aaa_url", STR),
        ModParamSpec("service_type", INT, -1),
        ModParamSpec("use_sip_uri_host", INT, 0),
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR, "uri"),
        ModParamSpec("user_column", STR, "username"),
        ModParamSpec("domain_column", STR, "domain"),
        ModParamSpec("uriuser_column", STR, "uri_user"),
        ModParamSpec("use_uri_table", INT, 0),
        ModParamSpec("use_domain", INT, 0),
    ],
)
