"""uri_db (1.x): check_to / check_from against the digest credentials, does_uri_exist against the subscriber table
(db_text only; shared code in pysips.modules.auth_db)."""

from __future__ import annotations

from typing import Any

from pysips.modules import INT, LOCAL, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec

_conf: dict[str, Any] = {}


def init(params: dict[str, Any]) -> None:
    _conf.clear()
    _conf.update(params)


def w_check_to(ctx: Any) -> int:
    from pysips.modules.auth_db import matches_credentials

    return matches_credentials(ctx, "to")


def w_check_from(ctx: Any) -> int:
    from pysips.modules.auth_db import matches_credentials

    return matches_credentials(ctx, "from")


def w_does_uri_exist(ctx: Any) -> int:
    from pysips.modules.auth_db import uri_exists

    table = str(_conf.get("db_table") or "subscriber") if _conf.get("use_uri_table") else "subscriber"
    return uri_exists(ctx, _conf.get("db_url"), table, ctx.request_msg().ruri, bool(_conf.get("use_domain")))


MODULE = ModuleSpec.build(
    "uri_db",
    doc="check_to / check_from (digest credentials), does_uri_exist (db_text)",
    functions=[
        FunctionSpec("check_to", (), w_check_to, frozenset({REQUEST})),
        FunctionSpec("check_from", (), w_check_from, frozenset({REQUEST})),
        FunctionSpec("does_uri_exist", (), w_does_uri_exist, frozenset({REQUEST, LOCAL})),
        # 1.x-2.x spellings (uri_db exported both until it was merged into uri in 2.x)
        FunctionSpec("db_check_to", (), w_check_to, frozenset({REQUEST})),
        FunctionSpec("db_check_from", (), w_check_from, frozenset({REQUEST})),
        FunctionSpec("db_does_uri_exist", (), w_does_uri_exist, frozenset({REQUEST, LOCAL})),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR),
        ModParamSpec("user_column", STR),
        ModParamSpec("domain_column", STR),
        ModParamSpec("uriuser_column", STR),
        ModParamSpec("use_uri_table", INT, 0),
        ModParamSpec("use_domain", INT, 0),
    ],
)
