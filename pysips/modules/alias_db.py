"""alias_db: alias_db_lookup / alias_db_find over a db_text aliases table."""

from __future__ import annotations

from typing import Any

from pysips.db.dbtext import DBTextError, open_db
from pysips.modules import (
    BRANCH,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REQUEST,
    STARTUP,
    STR,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules.core import log_error

# ---------------------------------------------------------------------------------------------- implementation
#
# alias_db_lookup(table [, flags]): the R-URI's user (and host, with use_domain unless flag "d") is looked up as
# an alias in a db_text table (alias_username, alias_domain -> username, domain) and the R-URI becomes the
# canonical user@domain; flag "r" looks the other way (canonical -> alias). alias_db_find writes the result to a
# variable instead. 1 when found, -1 otherwise. Tables are read once (db_text only).

_alias: dict[str, Any] = {"params": {}, "tables": {}, "said": False}


def init(params: dict[str, Any]) -> None:
    _alias.update(params=params, tables={}, said=False)


def _rows(ctx: Any, table: str) -> list[dict[str, Any]] | None:
    cached = _alias["tables"].get(table)
    if cached is not None:
        return cached
    url = _alias["params"].get("db_url")
    try:
        rows = open_db(str(url)).table(table).rows if url else []
    except DBTextError as e:
        if not _alias["said"]:
            log_error(ctx, f"alias_db: {e}")
            _alias["said"] = True
        return None
    _alias["tables"][table] = rows
    return rows


def _find(ctx: Any, table: str, uri: Any, flags: str | None) -> tuple[str, str] | None:
    p = _alias["params"]
    flags = (flags or "").lower()
    use_domain = bool(int(p.get("use_domain") or 0)) and "d" not in flags
    rows = _rows(ctx, table)
    if rows is None or uri is None or not uri.user:
        return None
    cols = (p.get("alias_user_column") or "alias_username", p.get("alias_domain_column") or "alias_domain")
    out = (p.get("user_column") or "username", p.get("domain_column") or "domain")
    if "r" in flags:
        cols, out = out, cols
    for r in rows:
        if str(r.get(cols[0]) or "") != uri.user:
            continue
        if use_domain and str(r.get(cols[1]) or "").lower() != uri.host.lower():
            continue
        return str(r.get(out[0]) or ""), str(r.get(out[1]) or uri.host)
    return None


def w_alias_db_lookup(ctx: Any, table: str, flags: str | None = None) -> int:
    msg = ctx.request_msg()
    if msg is None:
        return -1
    found = _find(ctx, table, msg.ruri, flags)
    if found is None:
        return -1
    ruri = msg.ruri.copy()
    ruri.user, ruri.host = found
    msg.ruri = ruri
    return 1


def w_alias_db_find(ctx: Any, table: str, input_uri: str, out: Any, flags: str | None = None) -> int:
    from pysips.sip.uri import parse_uri

    try:
        uri = parse_uri(str(input_uri))
    except Exception:
        return -1
    found = _find(ctx, table, uri, flags)
    if found is None:
        return -1
    uri.user, uri.host = found
    out.set(ctx, "=", str(uri))
    return 1


MODULE = ModuleSpec.build(
    "alias_db",
    doc="alias_db_lookup / alias_db_find over db_text",
    functions=[
        FunctionSpec(
            "alias_db_lookup",
            (ParamSpec(STR, name="table_name"), ParamSpec(STR, optional=True, name="flags")),
            w_alias_db_lookup,
            frozenset({REQUEST, FAILURE}),
        ),
        FunctionSpec(
            "alias_db_find",
            (
                ParamSpec(STR, name="table_name"),
                ParamSpec(STR, name="input_uri"),
                ParamSpec(VAR, name="output_var"),
                ParamSpec(STR, optional=True, name="flags"),
            ),
            w_alias_db_find,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL, STARTUP}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("user_column", STR, "username"),
        ModParamSpec("domain_column", STR, "domain"),
        ModParamSpec("alias_user_column", STR, "alias_username"),
        ModParamSpec("alias_domain_column", STR, "alias_domain"),
        ModParamSpec("use_domain", INT, 0),
        ModParamSpec("domain_prefix", STR),
        ModParamSpec("append_branches", INT, 0),
    ],
)
