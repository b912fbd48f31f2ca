"""domain: is_from_local / is_uri_host_local / is_domain_local over a db_text ``domain`` table (columns domain,
attrs), read at script load and again by MI ``domain_reload`` (db_mode 0 and 1 both answer from that copy).
Return 1 for a local domain (its attrs into the optional variable), -1 otherwise. Other databases: no domains,
said once at the first check.
"""

from __future__ import annotations

from typing import Any

from pysips.db.dbtext import DBTextError, open_db
from pysips.errors import MIError
from pysips.modules import (
    BRANCH,
    EVENT,
    FAILURE,
    INT,
    LOCAL,
    REQUEST,
    STARTUP,
    STR,
    TIMER,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules.core import log_error

_conf: dict[str, Any] = {"params": {}, "domains": {}, "problem": None}


def _load(params: dict[str, Any]) -> None:
    url = params.get("db_url")
    domains: dict[str, str] = {}
    problem = None
    if url:
        table = str(params.get("domain_table") or "domain")
        dcol, acol = str(params.get("domain_col") or "domain"), str(params.get("attrs_col") or "attrs")
        try:
            for row in open_db(str(url)).table(table).rows:
                if row.get(dcol):
                    domains[str(row[dcol]).lower()] = str(row.get(acol) or "")
        except DBTextError as e:
            problem = f"domain: {e}; no local domains"
    _conf.update(params=params, domains=domains, problem=problem)


def init(params: dict[str, Any]) -> None:
    """Script load: the domain table (a database pysips cannot read leaves it empty, said at the first check)."""
    _load(params)


def _check(ctx: Any, host: str | None, attrs_var: Any) -> int:
    if _conf["problem"]:
        log_error(ctx, _conf["problem"])
        _conf["problem"] = None
    if not host:
        return -1
    attrs = _conf["domains"].get(host.strip("[]").lower())
    if attrs is None:
        return -1
    if attrs_var is not None:
        attrs_var.set(ctx, "=", attrs)
    return 1


def w_is_from_local(ctx: Any, attrs_var: Any = None) -> int:
    msg = ctx.request_msg()
    return _check(ctx, msg.from_.uri.host if msg is not None else None, attrs_var)


def w_is_uri_host_local(ctx: Any, attrs_var: Any = None) -> int:
    msg = ctx.request_msg()
    return _check(ctx, msg.ruri.host if msg is not None else None, attrs_var)


def w_is_domain_local(ctx: Any, domain: str, attrs_var: Any = None) -> int:
    return _check(ctx, domain, attrs_var)


def mi_domain_reload(core: Any, params: Any = None) -> str:
    _load(_conf["params"])
    if _conf["problem"]:
        raise MIError(_conf["problem"], 500)
    return "OK"


def mi_domain_dump(core: Any, params: Any = None) -> dict:
    return {"Domains": [{"name": d, "attributes": a} for d, a in sorted(_conf["domains"].items())]}


MODULE = ModuleSpec.build(
    "domain",
    doc="local domains from a db_text table; domain_reload / domain_dump",
    functions=[
        FunctionSpec(
            "is_from_local",
            (ParamSpec(VAR, optional=True, name="attrs_var"),),
            w_is_from_local,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "is_uri_host_local",
            (ParamSpec(VAR, optional=True, name="attrs_var"),),
            w_is_uri_host_local,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "is_domain_local",
            (ParamSpec(STR, name="domain"), ParamSpec(VAR, optional=True, name="attrs_var")),
            w_is_domain_local,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL, STARTUP, TIMER, EVENT}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("db_mode", INT, 0),
        ModParamSpec("domain_table", STR),
        ModParamSpec("domain_col", STR),
        ModParamSpec("attrs_col", STR),
    ],
    mi_commands={"domain_reload": mi_domain_reload, "domain_dump": mi_domain_dump},
)
