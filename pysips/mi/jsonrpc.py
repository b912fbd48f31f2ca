"""JSON-RPC 2.0 framing of MI requests and replies, with OpenSIPS 3.x's validation and error codes (mi/mi.c).

``handle(registry, core, text)`` never raises: malformed JSON is -32700, a request that is not a JSON-RPC 2.0
object is -32600, an unknown method -32601, params that match no recipe -32602, a failing command its own code (or
-32000 for an unexpected exception, logged). A request without ``id`` is a notification: no reply, except for
-32700/-32600 errors (answered with ``"id": null``), as OpenSIPS does. Batches (arrays) are not supported by
OpenSIPS either: they get -32600.
"""

from __future__ import annotations

import json
import traceback
from typing import Any

from pysips.errors import MIError
from pysips.mi import (
    INVALID_REQUEST,
    PARSE_ERROR,
    SERVER_ERROR,
    MIRegistry,
)

_NO_ID = object()


def encode(obj: dict, pretty: bool = False) -> str:
    if pretty:
        return json.dumps(obj, indent=4, ensure_ascii=False, default=str)
    return json.dumps(obj, separators=(",", ":"), ensure_ascii=False, default=str)


def error_reply(code: int, message: str, data: Any = None, rid: Any = None) -> dict:
    err: dict[str, Any] = {"code": code, "message": message}
    if data is not None:
        err["data"] = data
    return {"jsonrpc": "2.0", "error": err, "id": rid}


def result_reply(result: Any, rid: Any) -> dict:
    return {"jsonrpc": "2.0", "result": result, "id": rid}


def parse(text: str | bytes) -> tuple[dict | None, dict | None]:
    """(request, None) for a valid JSON-RPC request object, else (None, error reply)."""
    try:
        if isinstance(text, bytes):
            text = text.decode("utf-8")
        req = json.loads(text)
    except (ValueError, UnicodeDecodeError, RecursionError):
        return None, error_reply(PARSE_ERROR, "Parse error")
    if not isinstance(req, dict):
        return None, error_reply(INVALID_REQUEST, "Invalid Request")
    rid = req.get("id", None)
    valid = (
        req.get("jsonrpc") == "2.0"
        and isinstance(req.get("method"), str)
        and (rid is None or (isinstance(rid, (int, float, str)) and not isinstance(rid, bool)))
        and ("params" not in req or isinstance(req["params"], (list, dict)))
    )
    if not valid:
        return None, error_reply(INVALID_REQUEST, "Invalid Request", rid=rid if _plain_id(rid) else None)
    return req, None


def _plain_id(rid: Any) -> bool:
    return rid is None or (isinstance(rid, (int, float, str)) and not isinstance(rid, bool))


async def execute(registry: MIRegistry, core: Any, req: dict) -> dict | None:
    """Run a parsed request; the reply object, or None for a notification."""
    rid = req.get("id", _NO_ID)
    notification = rid is _NO_ID
    if notification:
        rid = None
    try:
        result = await registry.call(core, req["method"], req.get("params"))
    except MIError as e:
        if notification:
            return None
        return error_reply(e.code, str(e), getattr(e, "data", None), rid)
    except Exception as e:  # a module command's bug must not take the server down; report it to the caller
        log = getattr(core, "log", None)
        if log is not None:
            log.error(
                f"MI command {req['method']!r} failed: {type(e).__name__}: {e}\n{traceback.format_exc()}",
                "mi",
            )
        if notification:
            return None
        return error_reply(SERVER_ERROR, "Server error", f"{type(e).__name__}: {e}", rid)
    if notification:
        return None
    return result_reply(result, rid)


async def handle(registry: MIRegistry, core: Any, text: str | bytes, pretty: bool = False) -> str | None:
    """One request text -> the reply text (None: notification, nothing to send)."""
    req, err = parse(text)
    if err is not None:
        return encode(err, pretty)
    reply = await execute(registry, core, req)
    if reply is None:
        return None
    try:
        return encode(reply, pretty)
    except (TypeError, ValueError) as e:
        return encode(error_reply(SERVER_ERROR, "Server error", f"unprintable result: {e}", reply.get("id")))
