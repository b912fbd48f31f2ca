"""auth: digest challenges and the credential check the auth_db module uses (RFC 2617 / RFC 7616: MD5, SHA-256,
-sess variants, qop auth / auth-int); www_challenge, proxy_challenge, consume_credentials. RPID helpers and
pv_*_authorize are declared only.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import re
import time
from collections.abc import Callable
from typing import Any

from pysips.modules import (
    BRANCH,
    FAILURE,
    INT,
    REQUEST,
    STR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules.sipmsgops import reply_headers

# ---------------------------------------------------------------------------------------------- implementation
#
# Digest authentication (RFC 2617 / RFC 7616) as OpenSIPS's auth module does it: www_challenge / proxy_challenge
# send 401 / 407 with a nonce this server signed (its expiry time and an HMAC under ``secret``, so any worker
# process checks any other's nonce); ``check_credentials`` verifies a response against an HA1 that a backend
# (auth_db's subscriber table) provides and gives OpenSIPS's return codes.

AUTH_OK, INVALID_USER, INVALID_PASSWORD, STALE_NONCE, NO_CREDENTIALS, AUTH_ERROR = 1, -1, -2, -3, -4, -5
_ALGORITHMS = {"md5": hashlib.md5, "sha-256": hashlib.sha256, "sha-512-256": None}

_state: dict[str, Any] = {"secret": os.urandom(16), "nonce_expire": 30, "calculate_ha1": False}


def init(params: dict[str, Any]) -> None:
    """Script load: the nonce secret (random unless set: chosen before workers fork, so all of them share it)."""
    secret = params.get("secret")
    _state["secret"] = str(secret).encode() if secret else os.urandom(16)
    try:
        _state["nonce_expire"] = max(1, int(params.get("nonce_expire") or 30))
    except (TypeError, ValueError):
        _state["nonce_expire"] = 30


def make_nonce(now: float | None = None) -> str:
    expires = int((now if now is not None else time.time()) + _state["nonce_expire"])
    head = f"{expires:08x}{os.urandom(4).hex()}"
    return head + hmac.new(_state["secret"], head.encode(), hashlib.md5).hexdigest()


def nonce_state(nonce: str, now: float | None = None) -> int:
    """AUTH_OK for a nonce we issued that is still valid, STALE_NONCE once expired, INVALID_PASSWORD if forged."""
    head, sig = nonce[:16], nonce[16:]
    good = hmac.new(_state["secret"], head.encode(), hashlib.md5).hexdigest()
    if len(nonce) != 48 or not hmac.compare_digest(sig, good):
        return INVALID_PASSWORD
    try:
        expires = int(head[:8], 16)
    except ValueError:
        return INVALID_PASSWORD
    return AUTH_OK if (now if now is not None else time.time()) <= expires else STALE_NONCE


def _realm(ctx: Any, realm: str | None) -> str:
    """The given realm, else the To domain of a REGISTER or the From domain of anything else."""
    if realm:
        return realm
    msg = ctx.msg
    na = msg.to if msg.method == "REGISTER" else msg.from_
    return na.uri.host


def _qop(value: Any) -> list[str]:
    text = str(value or "").strip().lower()
    if text in ("", "0"):
        return []
    if text == "1":  # 2.x: qop flag
        return ["auth"]
    return [q.strip() for q in text.split(",") if q.strip() in ("auth", "auth-int")]


def _challenge(ctx: Any, realm: str, qop: Any, algorithms: Any, code: int, header: str, stale: bool) -> int:
    msg = ctx.msg
    if msg is None or not msg.is_request or msg.method in ("ACK", "CANCEL"):
        return -1
    realm = _realm(ctx, realm)
    qops = _qop(qop)
    algs = [a.strip().upper() for a in str(algorithms or "MD5").split(",") if a.strip()]
    for alg in algs:
        parts = [f'realm="{realm}"', f'nonce="{make_nonce()}"']
        if qops:
            parts.append(f'qop="{",".join(qops)}"')
        if stale:
            parts.append("stale=true")
        parts.append(f"algorithm={alg}")
        reply_headers(ctx).append(f"{header}: Digest {', '.join(parts)}\r\n")
    reason = "Unauthorized" if code == 401 else "Proxy Authentication Required"
    return ctx.env.reply(ctx, code, reason, None)


def w_www_challenge(ctx: Any, realm: str, qop: Any = None, algorithms: Any = None) -> int:
    return _challenge(ctx, realm, qop, algorithms, 401, "WWW-Authenticate", getattr(ctx, "auth_stale", False))


def w_proxy_challenge(ctx: Any, realm: str, qop: Any = None, algorithms: Any = None) -> int:
    return _challenge(
        ctx, realm, qop, algorithms, 407, "Proxy-Authenticate", getattr(ctx, "auth_stale", False)
    )


_PARAM = re.compile(r'\s*([\w-]+)\s*=\s*(?:"((?:[^"\\]|\\.)*)"|([^\s,]+))\s*,?')


def parse_credentials(value: str) -> dict[str, str] | None:
    """The parameters of a ``Digest ...`` Authorization header value (lower-case names), None if not Digest."""
    scheme, _, rest = value.strip().partition(" ")
    if scheme.lower() != "digest":
        return None
    out: dict[str, str] = {}
    pos = 0
    while pos < len(rest):
        m = _PARAM.match(rest, pos)
        if m is None or m.end() == pos:
            break
        out[m.group(1).lower()] = m.group(2) if m.group(2) is not None else m.group(3)
        pos = m.end()
    return out


def find_credentials(ctx: Any, realm: str, proxy: bool) -> tuple[str, dict[str, str]] | None:
    """(header value, its parameters) of the Authorization / Proxy-Authorization for `realm`."""
    name = "Proxy-Authorization" if proxy else "Authorization"
    for value in ctx.msg.get_headers(name):
        cred = parse_credentials(value)
        if cred is not None and cred.get("realm") == realm:
            return value, cred
    return None


def _hash(alg: str, text: str) -> str:
    fn = _ALGORITHMS.get(alg.lower().removesuffix("-sess")) or hashlib.md5
    return fn(text.encode()).hexdigest()


def check_credentials(
    ctx: Any, realm: str | None, proxy: bool, ha1_of: Callable[[str, str], tuple[str | None, bool]]
) -> int:
    """Verify the request's credentials for `realm`; ``ha1_of(username, realm)`` returns (secret, is_ha1) -- the
    stored HA1 (or plain password when is_ha1 is False), None for an unknown user. OpenSIPS's return codes."""
    msg = ctx.msg
    if msg is None or not msg.is_request or msg.method in ("ACK", "CANCEL"):
        return AUTH_ERROR
    realm = _realm(ctx, realm)
    found = find_credentials(ctx, realm, proxy)
    if found is None:
        return NO_CREDENTIALS
    raw, cred = found
    user, nonce, response, uri = (
        cred.get("username"),
        cred.get("nonce"),
        cred.get("response"),
        cred.get("uri"),
    )
    if not user or not nonce or not response or uri is None:
        return AUTH_ERROR
    state = nonce_state(nonce)
    if state == STALE_NONCE:
        ctx.auth_stale = True
        return STALE_NONCE
    if state != AUTH_OK:
        return INVALID_PASSWORD
    secret, is_ha1 = ha1_of(user, realm)
    if secret is None:
        return INVALID_USER
    alg = cred.get("algorithm", "MD5")
    ha1 = secret if is_ha1 else _hash(alg, f"{user}:{realm}:{secret}")
    if alg.lower().endswith("-sess"):
        ha1 = _hash(alg, f"{ha1}:{nonce}:{cred.get('cnonce', '')}")
    qop = cred.get("qop")
    if qop == "auth-int":
        ha2 = _hash(alg, f"{msg.method}:{uri}:{_hash(alg, msg.body.decode('latin-1'))}")
    else:
        ha2 = _hash(alg, f"{msg.method}:{uri}")
    if qop:
        expected = _hash(alg, f"{ha1}:{nonce}:{cred.get('nc', '')}:{cred.get('cnonce', '')}:{qop}:{ha2}")
    else:
        expected = _hash(alg, f"{ha1}:{nonce}:{ha2}")
    if not hmac.compare_digest(expected, response.lower()):
        return INVALID_PASSWORD
    ctx.auth_consumable = ("Proxy-Authorization" if proxy else "Authorization", raw)
    ctx.auth_user = (user, realm)
    return AUTH_OK


def w_consume_credentials(ctx: Any) -> int:
    """Remove the Authorization header that authorized the request (it is not relayed)."""
    used = getattr(ctx, "auth_consumable", None)
    if used is None:
        return -1
    name, raw = used
    msg = ctx.msg
    keep = [v for v in msg.get_headers(name) if v != raw]
    msg.remove_header(name)
    for v in keep:
        msg.add_header(name, v)
    ctx.auth_consumable = None
    return 1


MODULE = ModuleSpec.build(
    "auth",
    doc="digest challenges, consume_credentials; RPID helpers and pv_*_authorize declared only",
    functions=[
        FunctionSpec(
            "www_challenge",
            (
                ParamSpec(STR, name="realm"),
                ParamSpec(STR, optional=True, name="qop"),
                ParamSpec(STR, optional=True, name="algorithms"),
            ),
            w_www_challenge,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "proxy_challenge",
            (
                ParamSpec(STR, name="realm"),
                ParamSpec(STR, optional=True, name="qop"),
                ParamSpec(STR, optional=True, name="algorithms"),
            ),
            w_proxy_challenge,
            frozenset({REQUEST}),
        ),
        FunctionSpec("pv_www_authorize", (ParamSpec(STR, name="realm"),), None, frozenset({REQUEST})),
        FunctionSpec("pv_proxy_authorize", (ParamSpec(STR, name="realm"),), None, frozenset({REQUEST})),
        FunctionSpec("consume_credentials", (), w_consume_credentials, frozenset({REQUEST})),
        FunctionSpec("is_rpid_user_e164", (), None, frozenset({REQUEST})),
        FunctionSpec(
            "append_rpid_hf",
            (ParamSpec(STR, optional=True, name="prefix"), ParamSpec(STR, optional=True, name="suffix")),
            None,
            frozenset({REQUEST, FAILURE, BRANCH}),
        ),
    ],
    params=[
        ModParamSpec("secret", STR),
        ModParamSpec("nonce_expire", INT, 30),
        ModParamSpec("rpid_prefix", STR),
        ModParamSpec("rpid_suffix", STR),
        ModParamSpec("realm_prefix", STR),
        ModParamSpec("rpid_avp", STR),
        ModParamSpec("username_spec", STR),
        ModParamSpec("password_spec", STR),
        ModParamSpec("calculate_ha1", INT, 0),
        ModParamSpec("disable_nonce_check", INT, 0),
    ],
)
