"""Module services as `pysips run` starts them: httpd with the roots of mi_http and prometheus, mi_fifo."""

from __future__ import annotations

import json
import socket
import urllib.request

import pytest
import trio

from pysips.errors import ConfigError
from pysips.mi.client import fifo_call
from pysips.modules import httpd, mi_fifo, mi_http, prometheus
from tests.mi.conftest import FakeCore


def _core(tmp_path, modules, **modparams) -> FakeCore:
    core = FakeCore(modules)
    core.program.modparams = {m: dict(modparams.get(m, {})) for m in modules}
    return core


def _get(url: str, data: bytes | None = None) -> tuple[int, bytes]:
    with urllib.request.urlopen(urllib.request.Request(url, data), timeout=5) as r:
        return r.status, r.read()


async def test_httpd_serves_mi_and_metrics(tmp_path) -> None:
    core = _core(
        tmp_path,
        ["tm", "httpd", "mi_http", "prometheus", "mi_fifo"],
        httpd={"ip": "127.0.0.1", "port": 0},
        mi_http={"root": "json"},
        prometheus={"root": "metrics", "statistics": ["rcv_requests"]},
        mi_fifo={"fifo_name": str(tmp_path / "f"), "reply_dir": str(tmp_path), "fifo_mode": 600},
    )
    core.stats["rcv_requests"] = 4
    async with trio.open_nursery() as n:
        for mod in (httpd, mi_http, prometheus, mi_fifo):
            await n.start(mod.start_service, core, core.program)
        host, port = core.modules_state["httpd"].address
        body = b'{"jsonrpc":"2.0","method":"ps","id":1}'
        status, out = await trio.to_thread.run_sync(_get, f"http://{host}:{port}/json", body)
        types = [p["Type"] for p in json.loads(out)["result"]["Processes"]]
        assert status == 200 and f"HTTPD {host}:{port}" in types and "MI FIFO" in types
        status, page = await trio.to_thread.run_sync(_get, f"http://{host}:{port}/metrics")
        assert page == b"# TYPE opensips_rcv_requests counter\nopensips_rcv_requests 4\n"
        reply = await trio.to_thread.run_sync(fifo_call, str(tmp_path / "f"), "uptime", None, str(tmp_path))
        assert "Up time" in reply["result"]
        assert (tmp_path / "f").stat().st_mode & 0o777 == 0o600
        n.cancel_scope.cancel()


async def test_dependencies_and_bind_errors_are_config_errors(tmp_path) -> None:
    core = _core(tmp_path, ["mi_http"])
    with pytest.raises(ConfigError, match='module "mi_http" needs module "httpd"'):
        await mi_http.start_service(core, core.program, task_status=trio.TASK_STATUS_IGNORED)
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen()
        busy = s.getsockname()[1]
        core = _core(tmp_path, ["httpd"], httpd={"port": busy})
        # called directly: a test nursery would wrap the error in an exception group (trio >= 0.25)
        with pytest.raises(
            ConfigError, match=f"httpd: cannot listen on 127.0.0.1:{busy}: address already in use"
        ):
            await httpd.start_service(core, core.program, task_status=trio.TASK_STATUS_IGNORED)
    core = _core(tmp_path, ["mi_fifo"], mi_fifo={"fifo_name": str(tmp_path / "no" / "dir" / "f")})
    with pytest.raises(ConfigError, match="mi_fifo: cannot create FIFO"):
        await mi_fifo.start_service(core, core.program, task_status=trio.TASK_STATUS_IGNORED)


def test_httpd_address_and_fifo_mode_params() -> None:
    assert httpd.address({}) == ("127.0.0.1", 8888)
    assert httpd.address({"ip": "*", "port": 1}) == ("*", 1)
    assert httpd.address({"socket": "http:127.0.0.5:8080"}) == ("127.0.0.5", 8080)
    with pytest.raises(ConfigError):
        httpd.address({"socket": "nonsense"})
    assert (
        mi_fifo.fifo_mode(0) == 0o660 and mi_fifo.fifo_mode(666) == 0o666 and mi_fifo.fifo_mode(438) == 0o666
    )
    assert mi_http.root_of({"root": "/json/"}) == "json" and mi_http.root_of({}) == "mi"
