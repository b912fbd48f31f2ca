"""auth_db: www_authorize / proxy_authorize against a db_text subscriber table (user_column, domain_column,
password_column = HA1 unless calculate_ha1, use_domain), with OpenSIPS's return codes (1, -1 user, -2 password,
-3 stale nonce, -4 no credentials, -5 error). The URI / membership checks are declared only.
"""

from __future__ import annotations

from typing import Any

from pysips.db.dbtext import DBTextError, open_db
from pysips.modules import (
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
)
from pysips.modules.auth import AUTH_ERROR, check_credentials
from pysips.modules.core import log_error

# ---------------------------------------------------------------------------------------------- implementation

_conf: dict[str, Any] = {"db_url": None}
_tables: dict[str, Any] = {}


def init(params: dict[str, Any]) -> None:
    """Script load: where the subscriber tables are and how their columns are named (OpenSIPS's defaults)."""
    _conf.update(
        db_url=params.get("db_url"),
        user=params.get("user_column") or "username",
        domain=params.get("domain_column") or "domain",
        password=params.get("password_column") or "ha1",
        calculate_ha1=bool(int(params.get("calculate_ha1") or 0)),
        use_domain=bool(int(params.get("use_domain") or 0)),
    )
    _tables.clear()
    _user_tables.clear()


def _subscribers(ctx: Any, table: str) -> dict[tuple[str, str], str] | None:
    """(user, domain) -> stored secret of a db_text table, read once per table; None when it cannot be read."""
    cached = _tables.get(table)
    if cached is not None:
        return cached
    url = _conf.get("db_url")
    try:
        rows = open_db(str(url)).table(table).rows if url else None
    except DBTextError as e:
        log_error(ctx, f"auth_db: cannot read table {table!r}: {e}")
        rows = None
    if rows is None:
        if url and not _conf.get("said"):
            log_error(ctx, f"auth_db: db_url {url!r}: only db_text (text:///dir) is available")
            _conf["said"] = True
        return None
    out: dict[tuple[str, str], str] = {}
    for row in rows:
        user, domain, secret = row.get(_conf["user"]), row.get(_conf["domain"]), row.get(_conf["password"])
        if user is not None and secret is not None:
            out[(str(user), str(domain or ""))] = str(secret)
    _tables[table] = out
    return out


def _authorize(ctx: Any, realm: str, table: str, proxy: bool) -> int:
    subs = _subscribers(ctx, table)
    if subs is None:
        return AUTH_ERROR

    def ha1_of(user: str, realm: str) -> tuple[str | None, bool]:
        if _conf["use_domain"]:
            secret = subs.get((user, realm))
        else:
            secret = next((v for (u, _d), v in subs.items() if u == user), None)
        return secret, not _conf["calculate_ha1"]

    return check_credentials(ctx, realm, proxy, ha1_of)


# ---- the URI checks (auth_db 3.x; the uri / uri_db modules of 1.x-2.x use the same code with their own db_url)

_user_tables: dict[tuple[str, str], set[tuple[str, str]]] = {}


def users_of(ctx: Any, url: str | None, table: str) -> set[tuple[str, str]] | None:
    """(username, domain) pairs of a db_text table (read once); None when it cannot be read (said once)."""
    key = (str(url), table)
    cached = _user_tables.get(key)
    if cached is not None:
        return cached
    try:
        rows = open_db(str(url)).table(table).rows if url else None
    except DBTextError as e:
        if not _conf.get(("said", key)):
            log_error(ctx, f"cannot read table {table!r}: {e}")
            _conf[("said", key)] = True
        return None
    if rows is None:
        return None
    out = {(str(r.get("username") or ""), str(r.get("domain") or "").lower()) for r in rows}
    _user_tables[key] = out
    return out


def uri_exists(ctx: Any, url: str | None, table: str, uri: Any, use_domain: bool) -> int:
    """does_uri_exist: 1 when the URI's user (and host, with use_domain) is a subscriber, -1 if not, -2 on error."""
    from pysips.sip.uri import parse_uri

    users = users_of(ctx, url, table)
    if users is None:
        return -2
    try:
        u = parse_uri(uri) if isinstance(uri, str) else uri
    except Exception:
        return -1
    if u is None or not u.user:
        return -1
    if use_domain:
        return 1 if (u.user, u.host.lower()) in users else -1
    return 1 if any(user == u.user for user, _d in users) else -1


def matches_credentials(ctx: Any, which: str) -> int:
    """check_to / check_from: the To / From URI user is the one the request authenticated as (digest username,
    host = realm), 1 or -1 (not authenticated, or another user)."""
    au = getattr(ctx, "auth_user", None)
    msg = ctx.request_msg()
    if au is None or msg is None:
        return -1
    na = msg.to if which == "to" else msg.from_
    return 1 if na.uri.user == au[0] and na.uri.host.lower() == au[1].lower() else -1


def w_db_does_uri_exist(ctx: Any, uri: Any = None, table: str | None = None) -> int:
    target = uri if uri else ctx.request_msg().ruri
    return uri_exists(ctx, _conf.get("db_url"), table or "subscriber", target, _conf.get("use_domain", False))


def w_www_authorize(ctx: Any, realm: str, table: str) -> int:
    return _authorize(ctx, realm, table, False)


def w_proxy_authorize(ctx: Any, realm: str, table: str) -> int:
    return _authorize(ctx, realm, table, True)


MODULE = ModuleSpec.build(
    "auth_db",
    doc="www_authorize / proxy_authorize over db_text; the rest declared",
    functions=[
        FunctionSpec(
            "www_authorize",
            (ParamSpec(STR, name="realm"), ParamSpec(STR, name="table")),
            w_www_authorize,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "proxy_authorize",
            (ParamSpec(STR, name="realm"), ParamSpec(STR, name="table")),
            w_proxy_authorize,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "db_does_uri_exist",
            # 3.x takes (uri, table); 2.x scripts call the uri module's db_does_uri_exist() with no parameter
            (ParamSpec(STR, optional=True, name="uri"), ParamSpec(STR, optional=True, name="table")),
            w_db_does_uri_exist,
            frozenset({REQUEST, FAILURE, LOCAL}),
        ),
        FunctionSpec("db_is_to_authorized", (ParamSpec(STR, name="table"),), None, frozenset({REQUEST})),
        FunctionSpec("db_is_from_authorized", (ParamSpec(STR, name="table"),), None, frozenset({REQUEST})),
        FunctionSpec(
            "db_get_auth_id",
            (
                ParamSpec(STR, name="table"),
                ParamSpec(STR, name="uri"),
                ParamSpec(VAR, name="auth"),
                ParamSpec(VAR, name="realm"),
            ),
            None,
            frozenset({REQUEST, FAILURE, LOCAL}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("user_column", STR),
        ModParamSpec("domain_column", STR),
        ModParamSpec("password_column", STR),
        ModParamSpec("password_column_2", STR),
        ModParamSpec("calculate_ha1", INT, 0),
        ModParamSpec("use_domain", INT, 0),
        ModParamSpec("load_credentials", STR),
        ModParamSpec("skip_version_check", INT, 0),
        ModParamSpec("hash_column_sha256", STR),
        ModParamSpec("hash_column_sha512t256", STR),
        ModParamSpec("uri_user_column", STR, "username"),
        ModParamSpec("uri_domain_column", STR, "domain"),
        ModParamSpec("uri_uriuser_column", STR, "uri_user"),
    ],
)
