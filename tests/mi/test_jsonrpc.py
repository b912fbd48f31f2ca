"""JSON-RPC 2.0 handling with OpenSIPS 3.x codes: nothing a client sends may crash the server."""

from __future__ import annotations

import json

from pysips.errors import MIError
from pysips.mi import MIRegistry, mi_error
from pysips.mi.jsonrpc import handle
from tests.mi.conftest import FakeCore


def _reg() -> MIRegistry:
    reg = MIRegistry()
    reg.add("ok", lambda core, p: "OK")
    reg.add("obj", lambda core, p: {"a": [1, 2], "b": "é"})

    def fail(core, p):
        raise MIError("B2B session not found", 404)

    def fail_data(core, p):
        raise mi_error(-32602, "Invalid params", "Bad PID")

    def bug(core, p):
        return {}["missing"]

    reg.add("fail", fail)
    reg.add("fail_data", fail_data)
    reg.add("bug", bug)
    return reg


async def _call(text, core=None) -> dict | None:
    out = await handle(_reg(), core or FakeCore(), text)
    return None if out is None else json.loads(out)


async def test_result_shape_keeps_the_id_type() -> None:
    assert await _call('{"jsonrpc":"2.0","method":"ok","id":7}') == {
        "jsonrpc": "2.0",
        "result": "OK",
        "id": 7,
    }
    assert (await _call('{"jsonrpc":"2.0","method":"obj","id":"abc"}'))["result"] == {"a": [1, 2], "b": "é"}
    assert (await _call('{"jsonrpc":"2.0","method":"ok","id":null}'))["id"] is None


async def test_parse_errors_and_invalid_requests() -> None:
    for bad in ("{bad", "", "\xff", '{"jsonrpc":"2.0","method":"ok","id":1'):
        assert await _call(bad) == {
            "jsonrpc": "2.0",
            "error": {"code": -32700, "message": "Parse error"},
            "id": None,
        }
    assert (await _call(b"\xff\xfe"))["error"]["code"] == -32700
    for bad in (
        "[]",
        "5",
        '{"method":"ok","id":1}',
        '{"jsonrpc":"1.0","method":"ok","id":1}',
        '{"jsonrpc":"2.0","method":5,"id":1}',
        '{"jsonrpc":"2.0","method":"ok","params":"x","id":1}',
        '{"jsonrpc":"2.0","method":"ok","id":[1]}',
    ):
        assert (await _call(bad))["error"] == {"code": -32600, "message": "Invalid Request"}, bad


async def test_unknown_method_and_command_errors() -> None:
    assert (await _call('{"jsonrpc":"2.0","method":"nope","id":1}'))["error"] == {
        "code": -32601,
        "message": "Method not found",
    }
    assert (await _call('{"jsonrpc":"2.0","method":"fail","id":1}'))["error"] == {
        "code": 404,
        "message": "B2B session not found",
    }
    assert (await _call('{"jsonrpc":"2.0","method":"fail_data","id":1}'))["error"] == {
        "code": -32602,
        "message": "Invalid params",
        "data": "Bad PID",
    }


async def test_a_buggy_command_is_a_server_error_and_is_logged() -> None:
    core = FakeCore()
    reply = await _call('{"jsonrpc":"2.0","method":"bug","id":1}', core)
    assert reply["error"]["code"] == -32000 and reply["error"]["message"] == "Server error"
    assert "KeyError" in reply["error"]["data"]
    assert any(
        "MI command 'bug' failed: KeyError" in text for level, text in core.log.lines if level == "error"
    )


async def test_notifications_get_no_reply_except_parse_errors() -> None:
    assert await _call('{"jsonrpc":"2.0","method":"ok"}') is None
    assert await _call('{"jsonrpc":"2.0","method":"fail"}') is None
    assert await _call('{"jsonrpc":"2.0","method":"nope"}') is None
    assert (await _call('{"jsonrpc":"2.0"}'))["error"]["code"] == -32600


async def test_empty_params_count_as_no_params() -> None:
    for params in ("[]", "{}"):
        reply = await _call('{"jsonrpc":"2.0","method":"ok","params":' + params + ',"id":1}')
        assert reply["result"] == "OK"
