"""statistics module: update_stat / reset_stat feed get_statistics (group "script" by default)."""

from __future__ import annotations

from types import SimpleNamespace

from pysips.mi import registry_for
from pysips.modules.statistics import w_reset_stat, w_update_stat
from tests.mi.conftest import FakeCore


async def test_update_and_reset_script_stats() -> None:
    core = FakeCore(["statistics"])
    core.program.modparams = {"statistics": {"variable": ["declared/no_reset", "calls:active"]}}
    ctx = SimpleNamespace(env=SimpleNamespace(core=core))
    assert w_update_stat(ctx, "hits", 2) == 1
    assert w_update_stat(ctx, "hits", 3) == 1
    assert w_update_stat(ctx, "calls:active", -1) == 1
    assert w_update_stat(ctx, "hits", "x") == -1
    reg = registry_for(core)
    got = await reg.call(core, "get_statistics", [["script:", "calls:"]])
    assert got == {"script:hits": 5, "script:declared": 0, "calls:active": -1}
    assert w_reset_stat(ctx, "hits") == 1 and w_reset_stat(ctx, "never") == -1
    assert await reg.call(core, "get_statistics", [["hits"]]) == {"script:hits": 0}


def test_without_a_server_values_live_on_the_env() -> None:
    env = SimpleNamespace()
    ctx = SimpleNamespace(env=env)
    assert w_update_stat(ctx, "x", 1) == 1
    assert env.modules_state["statistics"].script["script"]["x"] == 1
