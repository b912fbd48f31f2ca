"""mi_fifo: OpenSIPS 3.x framing ``:reply_name:{json}``, reply FIFOs, robustness."""

from __future__ import annotations

import json
import os
import stat

import pytest
import trio

from pysips.mi.client import MIClientError, fifo_call
from pysips.mi.fifo import FifoRequestParser, FifoServer, scan_json_end, valid_reply_name
from tests.mi.conftest import FakeCore


def test_scan_json_end_honours_strings() -> None:
    data = b'{"a":"}{\\"","b":[1,{"c":2}]} tail'
    assert data[: scan_json_end(data, 0)] == b'{"a":"}{\\"","b":[1,{"c":2}]}'
    assert scan_json_end(b'{"a":[1,2', 0) == -1


def test_parser_splits_joined_and_split_requests() -> None:
    p = FifoRequestParser()
    got = p.feed(b':r1:{"jsonrpc":"2.0","method":"a","id":1}\n:r2:{"jsonrpc":"2.0",')
    assert got == [("r1", b'{"jsonrpc":"2.0","method":"a","id":1}')]
    assert p.feed(b'"method":"b","id":2}') == [("r2", b'{"jsonrpc":"2.0","method":"b","id":2}')]
    # no reply expected, then a non-JSON request (answered with a parse error), then garbage resynchronised
    got = p.feed(b'::{"jsonrpc":"2.0","method":"c"}:r3:hello\nnoise noise\n:r4:{"x":1}')
    assert got == [(None, b'{"jsonrpc":"2.0","method":"c"}'), ("r3", None), ("r4", b'{"x":1}')]
    assert p.dropped == len(b"noise noise\n")


def test_parser_bounds_an_endless_request() -> None:
    p = FifoRequestParser(max_request=100)
    assert p.feed(b":r:{" + b'"a",' * 10) == []
    assert p.feed(b'"b",' * 30) == [("r", None)]
    assert p.buf == bytearray()
    p.feed(b':r9:{"a"')
    assert p.flush() == [("r9", None)] and p.buf == bytearray()


def test_reply_names_like_opensips() -> None:
    assert valid_reply_name("opensips_fifo_reply_1_2")
    assert not valid_reply_name("../etc/passwd") and not valid_reply_name("a.b") and not valid_reply_name("")


async def _serve(nursery, tmp_path, core=None) -> FifoServer:
    server = FifoServer(core or FakeCore(), str(tmp_path / "fifo"), str(tmp_path), 0o600)
    await nursery.start(server.serve)
    return server


async def test_requests_and_replies_through_fifos(tmp_path) -> None:
    async with trio.open_nursery() as n:
        server = await _serve(n, tmp_path)
        assert stat.S_ISFIFO(os.stat(server.path).st_mode)
        assert stat.S_IMODE(os.stat(server.path).st_mode) == 0o600
        reply = await trio.to_thread.run_sync(fifo_call, server.path, "uptime", None, str(tmp_path), 5.0)
        assert reply["id"] == 1 and reply["result"]["Up time"].endswith("[sec]")
        reply = await trio.to_thread.run_sync(fifo_call, server.path, "log_level", ["x"], str(tmp_path), 5.0)
        assert reply["error"] == {
            "code": -32602,
            "message": "Invalid params",
            "data": "Bad type for parameter 'level'",
        }
        reply = await trio.to_thread.run_sync(
            fifo_call, server.path, "get_statistics", [["core:"]], str(tmp_path)
        )
        assert "core:rcv_requests" in reply["result"]
        n.cancel_scope.cancel()
    assert not os.path.exists(tmp_path / "fifo")  # removed at shutdown


async def test_bad_requests_are_answered_or_dropped_and_serving_goes_on(tmp_path) -> None:
    async with trio.open_nursery() as n:
        server = await _serve(n, tmp_path)
        reply_path = tmp_path / "rep"
        os.mkfifo(reply_path)
        rfd = os.open(reply_path, os.O_RDONLY | os.O_NONBLOCK)
        try:
            wfd = os.open(server.path, os.O_WRONLY | os.O_NONBLOCK)
            os.write(wfd, b"junk without colon\n:../x:{}\n:rep:{broken\n")
            os.close(wfd)
            data = b""
            with trio.fail_after(3):
                while not data.endswith(b"\n"):
                    await trio.lowlevel.wait_readable(rfd)
                    chunk = os.read(rfd, 4096)
                    data += chunk
                    if not chunk:
                        await trio.sleep(0.01)
            assert json.loads(data)["error"] == {"code": -32700, "message": "Parse error"}
        finally:
            os.close(rfd)
        reply = await trio.to_thread.run_sync(fifo_call, server.path, "version", None, str(tmp_path), 5.0)
        assert reply["result"]["Server"].startswith("pysips")
        n.cancel_scope.cancel()


async def test_a_stale_fifo_is_replaced_and_a_regular_file_is_refused(tmp_path) -> None:
    os.mkfifo(tmp_path / "fifo")
    async with trio.open_nursery() as n:
        server = await _serve(n, tmp_path)
        assert stat.S_ISFIFO(os.stat(server.path).st_mode)
        n.cancel_scope.cancel()
    (tmp_path / "fifo").write_text("not a fifo")
    with pytest.raises(OSError):
        FifoServer(FakeCore(), str(tmp_path / "fifo")).create()


def test_client_reports_a_missing_server(tmp_path) -> None:
    with pytest.raises(MIClientError, match="does not exist"):
        fifo_call(str(tmp_path / "none"), "uptime", reply_dir=str(tmp_path))
    os.mkfifo(tmp_path / "orphan")
    with pytest.raises(MIClientError, match="nobody reads"):
        fifo_call(str(tmp_path / "orphan"), "uptime", reply_dir=str(tmp_path))
