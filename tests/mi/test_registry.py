"""The MI command registry: recipes (OpenSIPS get_cmd_recipe), 3.x names with 4.0 aliases, module tables."""

from __future__ import annotations

import pytest

from pysips.errors import MIError
from pysips.mi import (
    MIRegistry,
    build_registry,
    mi_command,
    param_array,
    param_int,
    param_str,
    registry_for,
)
from tests.mi.conftest import FakeCore


def _echo(core, params):
    return params


def _reg() -> MIRegistry:
    reg = MIRegistry()
    reg.add("ds_set_state", _echo, "dispatcher")
    reg.add("ds_list", _echo, "dispatcher")
    reg.add("b2b_list", _echo, "b2b_logic")
    reg.add("b2be_list", _echo, "b2b_entities")
    reg.add("free_form", _echo, "mymod")
    return reg


async def test_positional_params_are_named_after_the_matching_recipe() -> None:
    reg = _reg()
    got = await reg.call(None, "ds_set_state", ["i", "1", "sip:10.0.0.2"])
    assert got == {"state": "i", "group": "1", "address": "sip:10.0.0.2"}


async def test_named_params_must_match_a_recipe() -> None:
    reg = _reg()
    assert await reg.call(None, "ds_list", {"full": "1"}) == {"full": "1"}
    with pytest.raises(MIError) as e:
        await reg.call(None, "ds_set_state", {"state": "i", "group": "1", "uri": "x"})
    assert (e.value.code, str(e.value), e.value.data) == (
        -32602,
        "Invalid params",
        "Named parameters do not match",
    )


async def test_wrong_count_and_ambiguous_positional_calls() -> None:
    reg = _reg()
    with pytest.raises(MIError) as e:
        await reg.call(None, "ds_set_state", ["i"])
    assert (e.value.code, e.value.data) == (-32602, "Too few or too many parameters")
    with pytest.raises(MIError) as e:
        await reg.call(None, "ds_set_state")  # no params but no () recipe
    assert e.value.data == "Too few or too many parameters"
    # ds_list has recipes ("partition",) and ("full",): one positional param is ambiguous in OpenSIPS too
    with pytest.raises(MIError) as e:
        await reg.call(None, "ds_list", ["full"])
    assert e.value.data == "Ambiguous call, use named parameters instead"


async def test_commands_without_recipes_get_what_was_sent() -> None:
    reg = _reg()
    assert await reg.call(None, "free_form", ["a", "b"]) == ["a", "b"]
    assert await reg.call(None, "free_form", {"x": 1}) == {"x": 1}
    assert await reg.call(None, "free_form") == {}
    assert await reg.call(None, "free_form", []) == {}


async def test_4_0_names_and_unambiguous_local_names_are_aliases() -> None:
    reg = _reg()
    assert await reg.call(None, "dispatcher:set_state", ["a", "1", "sip:x"]) == {
        "state": "a",
        "group": "1",
        "address": "sip:x",
    }
    assert reg.lookup("set_state").name == "ds_set_state"
    assert reg.lookup("mymod:free_form").name == "free_form"
    # "list" is dispatcher:list, b2b_logic:list and b2b_entities:list -> OpenSIPS 4.0 answers "Method ambiguous"
    with pytest.raises(MIError) as e:
        reg.lookup("list")
    assert e.value.code == -32001
    assert "dispatcher:list" in e.value.data and "b2b_logic:list" in e.value.data
    with pytest.raises(MIError) as e:
        await reg.call(None, "no_such_cmd")
    assert (e.value.code, str(e.value)) == (-32601, "Method not found")


def test_which_lists_3x_names_then_aliases() -> None:
    names = _reg().names()
    assert names[:5] == ["ds_set_state", "ds_list", "b2b_list", "b2be_list", "free_form"]
    assert "dispatcher:list" in names and "b2b_logic:list" in names and "mymod:free_form" in names


async def test_mi_command_decorator_overrides_recipes_and_name() -> None:
    @mi_command([("a",), ("a", "b")], help="does things", name4="x:do")
    def fn(core, params):
        return params

    reg = MIRegistry()
    cmd = reg.add("do_it", fn, "x")
    assert cmd.help == "does things" and cmd.aliases == ("x:do",)
    assert await reg.call(None, "x:do", [1, 2]) == {"a": 1, "b": 2}


async def test_awaitable_results_are_awaited() -> None:
    async def slow(core, params):
        return "done"

    reg = MIRegistry()
    reg.add("slow", slow)
    assert await reg.call(None, "slow") == "done"


def test_param_helpers_convert_like_opensips() -> None:
    assert param_str({"a": 5}, "a") == "5"
    assert param_int({"a": "12"}, "a") == 12
    assert param_int({}, "a", optional=True) is None
    assert param_array({"s": "core: tm:"}, "s") == ["core:", "tm:"]
    with pytest.raises(MIError) as e:
        param_int({"level": "x"}, "level")
    assert e.value.data == "Bad type for parameter 'level'"
    with pytest.raises(MIError) as e:
        param_array({"s": []}, "s")
    assert e.value.data == "Empty array in parameter 's'"
    with pytest.raises(MIError) as e:
        param_str({}, "missing")
    assert e.value.code == -32000


def test_registry_reads_module_tables(monkeypatch: pytest.MonkeyPatch) -> None:
    from pysips.modules import ModuleSpec, load_registry

    specs = load_registry()
    table = {"ds_list": _echo, "dispatcher:list": _echo}  # a module may list its 4.0 name too: one command
    monkeypatch.setitem(specs, "dispatcher", ModuleSpec("dispatcher", mi_commands=table))
    monkeypatch.setitem(specs, "newmod", ModuleSpec("newmod", mi_commands={"b2b_logic:bridge": _echo}))
    reg = build_registry(["dispatcher", "newmod"])
    assert reg.commands["ds_list"].module == "dispatcher"
    assert reg.lookup("dispatcher:list") is reg.commands["ds_list"]
    assert reg.names().count("dispatcher:list") == 1
    # only the 4.0 name given: the 3.x name becomes the primary one, with OpenSIPS's recipes
    assert reg.lookup("b2b_logic:bridge") is reg.commands["b2b_bridge"]
    assert ("dialog_id", "new_uri") in reg.commands["b2b_bridge"].recipes
    assert "uptime" in reg.commands and reg.lookup("core:uptime") is reg.commands["uptime"]
    # a module that is not loaded exports nothing
    assert "ds_list" not in build_registry([]).commands


def test_registry_is_cached_per_server() -> None:
    a, b = FakeCore(), FakeCore()
    assert registry_for(a) is registry_for(a)
    assert registry_for(a) is not registry_for(b)
