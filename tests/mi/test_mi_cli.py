"""`pysips mi`: parameters as opensips-cli builds them, endpoint from the script, output and exit codes."""

from __future__ import annotations

import argparse
import json

import trio

from pysips.mi.fifo import FifoServer
from pysips.mi.httpserver import HTTPServer
from pysips.mi_cli import add_mi_parser, build_params, endpoint_from_cfg, main
from pysips.modules.mi_http import make_handler
from tests.mi.conftest import FakeCore


def test_build_params_like_opensips_cli() -> None:
    assert build_params("uptime", []) is None
    assert build_params("ds_set_state", ["i", "1", "sip:a"]) == ["i", "1", "sip:a"]
    assert build_params("log_level", ["level=4", "pid=12"]) == {"level": "4", "pid": "12"}
    assert build_params("get_statistics", ["core:", "tm:"]) == [["core:", "tm:"]]
    assert build_params("get_statistics", ["statistics=core: tm:"]) == {"statistics": ["core:", "tm:"]}
    assert build_params("b2b_trigger_scenario", ["top", "c1,sip:a", "c2,sip:b", "x=1", "y"]) == [
        "top",
        "c1,sip:a",
        "c2,sip:b",
        ["x=1", "y"],
    ]
    assert build_params("cache_store", ["local", "k", "5"], json_args=True) == ["local", "k", 5]


def test_parser_accepts_negative_levels() -> None:
    p = argparse.ArgumentParser()
    add_mi_parser(p.add_subparsers(dest="command"))
    args = p.parse_args(["mi", "log_level", "-1"])
    assert (args.mi_command, args.mi_args) == ("log_level", ["-1"])


def test_endpoint_from_cfg(tmp_path) -> None:
    cfg = tmp_path / "a.cfg"
    cfg.write_text(
        'loadmodule "httpd.so"\nloadmodule "mi_http.so"\nmodparam("httpd", "port", 9999)\n'
        'modparam("httpd", "ip", "127.0.0.2")\nmodparam("mi_http", "root", "json")\nroute { exit; }\n'
    )
    assert endpoint_from_cfg(str(cfg)) == ("http", "http://127.0.0.2:9999/json")
    cfg.write_text(
        'loadmodule "mi_fifo.so"\nmodparam("mi_fifo", "fifo_name", "/tmp/x_fifo")\nroute { exit; }\n'
    )
    assert endpoint_from_cfg(str(cfg)) == ("fifo", "/tmp/x_fifo")
    cfg.write_text("route { exit; }\n")
    assert endpoint_from_cfg(str(cfg)) == ("http", "http://127.0.0.1:8888/mi")


async def test_mi_main_over_http_and_fifo(tmp_path, capsys) -> None:
    core = FakeCore(["tm"])
    core.stats["rcv_requests"] = 9
    http = HTTPServer("127.0.0.1", 0)
    http.add_root("mi", make_handler(core))
    fifo = FifoServer(core, str(tmp_path / "fifo"), str(tmp_path))
    async with trio.open_nursery() as n:
        await n.start(http.serve)
        await n.start(fifo.serve)
        url = f"http://127.0.0.1:{http.address[1]}/mi"
        rc = await trio.to_thread.run_sync(main, ["--url", url, "get_statistics", "rcv_requests"])
        out = capsys.readouterr()
        assert rc == 0 and json.loads(out.out) == {"core:rcv_requests": 9}
        assert out.out.startswith("{\n    ")  # pretty JSON
        rc = await trio.to_thread.run_sync(
            main, ["--fifo", fifo.path, "--reply-dir", str(tmp_path), "xlog_level", "level=2"]
        )
        assert rc == 0 and json.loads(capsys.readouterr().out) == {"New xLog level": 2}
        rc = await trio.to_thread.run_sync(main, ["--url", url, "log_level", "1", "2"])
        err = capsys.readouterr().err
        assert rc == 1 and err == "pysips mi: log_level: error -32602: Invalid params (Bad PID)\n"
        rc = await trio.to_thread.run_sync(main, ["--url", url, "nope"])
        assert rc == 1 and "error -32601: Method not found" in capsys.readouterr().err
        n.cancel_scope.cancel()
    rc = main(["--url", url, "uptime", "--timeout", "2"])
    assert rc == 2 and "cannot reach" in capsys.readouterr().err
