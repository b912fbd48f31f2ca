"""Core MI commands with OpenSIPS 3.x result shapes (mi/mi_core.c, statistics.c)."""

from __future__ import annotations

import os
import re
from types import SimpleNamespace

import pytest

from pysips.errors import MIError
from pysips.mi import registry_for
from tests.mi.conftest import FakeCore


async def call(core, method, params=None):
    return await registry_for(core).call(core, method, params)


async def test_uptime_version_pwd_arg(core) -> None:
    up = await call(core, "uptime")
    assert set(up) == {"Now", "Up since", "Up time"}
    assert re.fullmatch(r"4[2-4] \[sec\]", up["Up time"])
    assert re.fullmatch(r"\w{3} \w{3} [ \d]\d \d\d:\d\d:\d\d \d{4}", up["Up since"])
    assert (await call(core, "version"))["Server"].startswith("pysips (0.")
    assert await call(core, "pwd") == {"WD": os.getcwd()}
    assert isinstance(await call(core, "arg"), list)
    assert await call(core, "core:uptime") != {}


async def test_which_and_help(core) -> None:
    names = await call(core, "which")
    assert (
        names[:3] == ["uptime", "version", "pwd"] and "get_statistics" in names and "statistics:get" in names
    )
    assert await call(core, "which", {"command": "log_level"}) == [[], ["level"], ["level", "pid"]]
    with pytest.raises(MIError) as e:
        await call(core, "which", ["nope"])
    assert (e.value.code, str(e.value)) == (404, "unknown MI command")
    assert await call(core, "help") == "Usage: help mi_cmd - returns information about 'mi_cmd'"
    assert (await call(core, "help", ["uptime"]))["Help"].startswith("prints various time information")


async def test_ps_lists_one_pid(core) -> None:
    core.transports = [SimpleNamespace(proto="udp", local=("127.0.0.1", 5060))]
    procs = (await call(core, "ps"))["Processes"]
    assert {p["PID"] for p in procs} == {os.getpid()}
    assert [p["ID"] for p in procs] == list(range(len(procs)))
    assert "SIP receiver udp:127.0.0.1:5060" in [p["Type"] for p in procs]


async def test_log_level_get_set_and_bad_pid(core) -> None:
    got = await call(core, "log_level")
    assert got["Processes"][0] == {"PID": os.getpid(), "Log level": 3, "Type": "attendant"}
    assert await call(core, "log_level", ["4"]) == {"New global log level": 4}
    assert core.log.log_level == 4 and core.env.log_level == 4 and core.env.default_log_level == 4
    assert await call(core, "log_level", {"level": -1, "pid": os.getpid()}) == {"Log level": -1}
    with pytest.raises(MIError) as e:
        await call(core, "log_level", ["2", "1"])
    assert (e.value.code, e.value.data) == (-32602, "Bad PID")
    with pytest.raises(MIError) as e:
        await call(core, "log_level", ["loud"])
    assert e.value.data == "Bad type for parameter 'level'"


async def test_xlog_level(core) -> None:
    assert await call(core, "xlog_level") == {"xLog Level": 3}
    assert await call(core, "xlog_level", ["1"]) == {"New xLog level": 1}
    assert core.log.xlog_level == 1 and core.env.xlog_level == 1
    assert await call(core, "xlog_level") == {"xLog Level": 1}


async def test_cache_commands_use_the_local_engine(core) -> None:
    from pysips.modules.cachedb_local import collection

    assert await call(core, "cache_store", ["local", "mi_k", "v1"]) == "OK"
    assert collection("").fetch("mi_k") == "v1"
    assert await call(core, "cache_fetch", {"system": "local", "attr": "mi_k"}) == {
        "key": "mi_k",
        "value": "v1",
    }
    assert await call(core, "cache:remove", ["local", "mi_k"]) == "OK"
    with pytest.raises(MIError) as e:
        await call(core, "cache_fetch", ["local", "mi_k"])
    assert (e.value.code, str(e.value)) == (400, "Value not found")
    with pytest.raises(MIError) as e:
        await call(core, "cache_store", ["local", "k", "v", "-5"])
    assert e.value.data == "Negative expire value"
    with pytest.raises(MIError) as e:
        await call(core, "cache_store", ["redis:nogroup", "k", "v"])
    assert e.value.code == 500


async def test_get_statistics_groups_names_and_all(core) -> None:
    core.stats["rcv_requests"] = 5
    core.stats["sent_replies"] = 2
    assert await call(core, "get_statistics", [["rcv_requests"]]) == {"core:rcv_requests": 5}
    assert await call(core, "get_statistics", {"statistics": ["core:rcv_requests", "sl:"]}) == {
        "core:rcv_requests": 5,
        "sl:sent_replies": 2,
    }
    core_g = await call(core, "get_statistics", [["core:"]])
    assert {"core:rcv_requests", "core:bad_msg_hdr", "core:drop_requests", "core:timestamp"} <= set(core_g)
    every = await call(core, "statistics:get", [["all"]])
    assert every["shmem:used_size"] > 0 and every["pkmem:0-max_used_size"] >= every["pkmem:0-used_size"]
    assert every["tm:inuse_transactions"] == 0 and "tm:UAS_transactions" in every
    with pytest.raises(MIError) as e:
        await call(core, "get_statistics", [["nosuch", "nogroup:"]])
    assert (e.value.code, str(e.value)) == (404, "Statistics Not Found")


async def test_list_and_reset_statistics(core) -> None:
    listed = await call(core, "list_statistics")
    assert listed["core:rcv_requests"] == "incremental" and listed["core:timestamp"] == "non-incremental"
    assert listed["tm:inuse_transactions"] == "non-incremental"
    assert await call(core, "list_statistics", [["sl:"]]) == {"sl:sent_replies": "incremental"}
    core.stats.update(rcv_requests=5, fwd_requests=3)
    assert await call(core, "reset_statistics", [["rcv_requests"]]) == "OK"
    assert core.stats["rcv_requests"] == 0 and core.stats["fwd_requests"] == 3
    assert await call(core, "reset_all_statistics") == "OK"
    assert core.stats["fwd_requests"] == 0


async def test_module_statistics_hook(core, monkeypatch: pytest.MonkeyPatch) -> None:
    import pysips.modules.sl as sl

    monkeypatch.setattr(sl, "mi_stats", lambda c: {"1xx_replies": 7}, raising=False)
    assert (await call(core, "get_statistics", [["sl:"]]))["sl:1xx_replies"] == 7


def _write(path, reply_code: int, broken: bool = False) -> None:
    body = f'sl_send_reply({reply_code}, "x");'
    if broken:
        body = "no_such_function();"
    path.write_text(f'loadmodule "sl.so"\nroute {{\n    {body}\n}}\n')


async def test_reload_routes_swaps_the_program_or_keeps_the_old_one(tmp_path) -> None:
    from pysips.server import load_program

    cfg = tmp_path / "r.cfg"
    _write(cfg, 404)
    _, program = load_program(str(cfg))
    core = FakeCore(["sl"], str(cfg))
    core.program = program
    core.has_onreply = True
    _write(cfg, 403)
    assert await call(core, "reload_routes") == "OK"
    assert core.program is not program and core.has_onreply is False
    good = core.program
    _write(cfg, 500, broken=True)
    with pytest.raises(MIError) as e:
        await call(core, "reload_routes")
    assert (e.value.code, str(e.value)) == (500, "reload failed")
    assert "no_such_function" in e.value.data and "r.cfg:3" in e.value.data
    assert core.program is good
    assert any("running script is kept" in text for level, text in core.log.lines if level == "error")


async def test_tm_counters_from_transaction_callbacks() -> None:
    from pysips.mi.stats import install_counters

    class TM:
        def __init__(self) -> None:
            self.callbacks = {"request_out": [], "reply_in": [], "reply_out": []}
            self.layer = SimpleNamespace(server_count=2)

        def register(self, event, fn) -> None:
            self.callbacks[event].append(fn)

    core = FakeCore(["tm"])
    core.tm = TM()
    install_counters(core)
    install_counters(core)  # idempotent
    assert len(core.tm.callbacks["reply_out"]) == 1
    uas = SimpleNamespace(ext=None, local_replied=None)
    core.tm.callbacks["request_out"][0](uas, SimpleNamespace(idx=0), None, None)
    core.tm.callbacks["request_out"][0](uas, SimpleNamespace(idx=1), None, None)
    core.tm.callbacks["reply_in"][0](None, SimpleNamespace(status=200))
    core.tm.callbacks["reply_out"][0](uas, SimpleNamespace(status=180))
    core.tm.callbacks["reply_out"][0](uas, SimpleNamespace(status=200))
    local = SimpleNamespace(ext=None, local_replied="last")
    core.tm.callbacks["reply_out"][0](local, SimpleNamespace(status=404))
    got = await call(core, "get_statistics", [["tm:"]])
    assert got["tm:UAS_transactions"] == 2
    assert got["tm:received_replies"] == 1
    assert got["tm:relayed_replies"] == 2 and got["tm:local_replies"] == 1
    assert got["tm:2xx_transactions"] == 1 and got["tm:4xx_transactions"] == 1
    assert got["tm:inuse_transactions"] == 2
    # a tm engine that counts natively in core.stats wins over the callbacks
    core.stats["UAS_transactions"] = 10
    assert (await call(core, "get_statistics", [["tm:UAS_transactions"]])) == {"tm:UAS_transactions": 10}
