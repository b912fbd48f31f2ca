"""pysips.mi: the Management Interface, as OpenSIPS 3.x has it (JSON-RPC 2.0 over HTTP and FIFO).

One registry per server holds every MI command: the core ones (pysips/mi/core_cmds.py: uptime, version, ps,
log_level, reload_routes, cache_*, get_statistics, ...) and those of every loaded module, read from the module
tables like everything else (``ModuleSpec.mi_commands``). Transports (mi_http over httpd, mi_fifo) only decode a
request, call :meth:`MIRegistry.call` and encode the answer (pysips/mi/jsonrpc.py).

Writing an MI command (the contract every module follows)
---------------------------------------------------------
``ModuleSpec.mi_commands`` maps the OpenSIPS 3.x command name to a callable::

    def mi_ds_set_state(core, params: dict) -> JSON-able

``core``
    the running :class:`pysips.proxy.core.Core` (module state lives in ``core.modules_state[<module>]``).
``params``
    a dict name -> value. Named JSON-RPC params arrive as given; positional ones are named after the command's
    recipe with that many parameters (see below); no params -> ``{}``. Only a command with no known recipe that
    is called with positional params receives them as a list. Values are what the client sent (usually strings:
    opensips-cli sends every word as a string) - use :func:`param_str`, :func:`param_int`, :func:`param_array`.
result
    any JSON-able value: a dict (OpenSIPS object results), a list, or ``"OK"`` (OpenSIPS ``init_mi_result_ok``).
    The callable may also return an awaitable; transports await it inside the trio loop.
errors
    ``raise pysips.errors.MIError(message, code)`` -> ``{"error": {"code": code, "message": message}}``.
    OpenSIPS codes: 404 (not found), 400 (bad value), 500 (operation failed), -32602 (invalid params: use
    :func:`mi_error` to add the ``data`` detail). Any other exception is reported as -32000 "Server error" and
    logged; it never stops the server.

Recipes (OpenSIPS ``mi_recipe_t``: the parameter name sets a command accepts) come from ``@mi_command(recipes=...)``
on the callable, else from pysips/mi/recipes.py (OpenSIPS's tables for the well-known commands), else the command
accepts anything. Recipes are checked as OpenSIPS does: with none given a recipe ``()`` must exist, positional
params must match exactly one recipe by count, named params must match a recipe's names exactly; otherwise
-32602 "Invalid params" with OpenSIPS's detail text.

Names: the 3.x name is the primary one (``which`` lists it); the OpenSIPS 4.0 ``module:cmd`` name
(``dispatcher:list``) is an alias, as is a bare 4.0 local name when unambiguous (``trigger_scenario``).
"""

from __future__ import annotations

import inspect
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from pysips.errors import MIError
from pysips.mi.recipes import NEW_NAMES, RECIPES, Recipes

PARSE_ERROR = -32700
INVALID_REQUEST = -32600
METHOD_NOT_FOUND = -32601
INVALID_PARAMS = -32602
SERVER_ERROR = -32000
AMBIGUOUS_METHOD = -32001

ERR_NO_PARAMS = "Too few or too many parameters"
ERR_AMBIGUOUS_CALL = "Ambiguous call, use named parameters instead"
ERR_MATCH_PARAMS = "Named parameters do not match"

__all__ = [
    "MICommand",
    "MIError",
    "MIRegistry",
    "build_registry",
    "mi_command",
    "mi_error",
    "module_state",
    "param_array",
    "param_int",
    "param_str",
    "registry_for",
]


def mi_error(code: int, message: str, data: str | None = None) -> MIError:
    """An MIError carrying OpenSIPS's optional ``data`` detail (e.g. -32602 "Invalid params" + "Bad PID")."""
    err = MIError(message, code)
    err.data = data
    return err


def mi_command(
    recipes: Recipes | list | None = None, help: str = "", name4: str | None = None
) -> Callable[[Callable], Callable]:
    """Attach OpenSIPS metadata to an MI callable: its recipes, help text and 4.0 ``module:cmd`` name."""

    def deco(fn: Callable) -> Callable:
        if recipes is not None:
            fn.mi_recipes = tuple(tuple(r) for r in recipes)
        if help:
            fn.mi_help = help
        if name4:
            fn.mi_name4 = name4
        return fn

    return deco


@dataclass(slots=True)
class MICommand:
    name: str  # OpenSIPS 3.x name
    fn: Callable
    module: str = ""  # exporting module; "" for the core
    recipes: Recipes | None = None  # None = no declared recipe: any params are passed through
    help: str = ""
    aliases: tuple[str, ...] = ()

    def bind_params(self, params: Any) -> Any:
        """Check `params` against the recipes (OpenSIPS get_cmd_recipe) and return what the callable gets."""
        if params is None or (isinstance(params, (dict, list)) and not params):
            if self.recipes is None or () in self.recipes:
                return {}
            raise mi_error(INVALID_PARAMS, "Invalid params", ERR_NO_PARAMS)
        if not isinstance(params, (dict, list)):
            raise MIError("Invalid Request", INVALID_REQUEST)
        if self.recipes is None:
            return params
        if isinstance(params, list):
            found = [r for r in self.recipes if r and len(r) == len(params)]
            if not found:
                raise mi_error(INVALID_PARAMS, "Invalid params", ERR_NO_PARAMS)
            if len(found) > 1:
                raise mi_error(INVALID_PARAMS, "Invalid params", ERR_AMBIGUOUS_CALL)
            return dict(zip(found[0], params, strict=True))
        same_count = False
        for r in self.recipes:
            if r and len(r) == len(params):
                same_count = True
                if all(n in params for n in r):
                    return dict(params)
        raise mi_error(INVALID_PARAMS, "Invalid params", ERR_MATCH_PARAMS if same_count else ERR_NO_PARAMS)


@dataclass
class MIRegistry:
    """Every MI command of one server, by 3.x name, with 4.0 aliases."""

    commands: dict[str, MICommand] = field(default_factory=dict)
    _names: dict[str, MICommand] = field(default_factory=dict)
    _local: dict[str, list[MICommand]] = field(default_factory=dict)  # 4.0 local part -> commands
    workers_installed: bool = False  # worker 0 wrapped the statistics commands to sum every worker

    def add(self, name: str, fn: Callable, module: str = "") -> MICommand:
        recipes = getattr(fn, "mi_recipes", None)
        if recipes is None:
            recipes = RECIPES.get(name)
        aliases = []
        new = getattr(fn, "mi_name4", None) or NEW_NAMES.get(name)
        if new is None and module and ":" not in name:
            new = f"{module}:{name}"
        if new and new != name:
            aliases.append(new)
        doc = (inspect.getdoc(fn) or "").split("\n", 1)[0]
        cmd = MICommand(name, fn, module, recipes, getattr(fn, "mi_help", "") or doc, tuple(aliases))
        self.commands[name] = cmd
        self._names[name] = cmd
        for a in cmd.aliases:
            self._index_alias(a, cmd)
        return cmd

    def add_alias(self, alias: str, cmd: MICommand) -> None:
        """Another name for `cmd` (a module that lists its 4.0 name next to the 3.x one)."""
        if alias in self._names:
            return
        cmd.aliases = (*cmd.aliases, alias)
        self._index_alias(alias, cmd)

    def _index_alias(self, alias: str, cmd: MICommand) -> None:
        self._names.setdefault(alias, cmd)
        if ":" in alias:
            bucket = self._local.setdefault(alias.split(":", 1)[1], [])
            if cmd not in bucket:
                bucket.append(cmd)

    def names(self) -> list[str]:
        """``which``: the 3.x names, then the 4.0 ``module:cmd`` aliases."""
        out = list(self.commands)
        seen = set(out)
        for cmd in self.commands.values():
            for a in cmd.aliases:
                if a not in seen:
                    seen.add(a)
                    out.append(a)
        return out

    def lookup(self, name: str) -> MICommand | None:
        cmd = self._names.get(name)
        if cmd is not None or ":" in name:
            return cmd
        found = self._local.get(name, ())
        if len(found) > 1:
            raise mi_error(
                AMBIGUOUS_METHOD,
                "Method ambiguous",
                "ambiguous MI command; use one of: "
                + ", ".join(next(a for a in c.aliases if a.endswith(":" + name)) for c in found),
            )
        return found[0] if found else None

    async def call(self, core: Any, method: str, params: Any = None) -> Any:
        """Run one command: MIError for a missing command, bad params or a failure reported by the command."""
        cmd = self.lookup(method)
        if cmd is None:
            raise MIError("Method not found", METHOD_NOT_FOUND)
        bound = cmd.bind_params(params)
        result = cmd.fn(core, bound)
        if inspect.isawaitable(result):
            result = await result
        return result


# ---------------------------------------------------------------------------------------------- params


def _get(params: Any, name: str, optional: bool) -> Any:
    if isinstance(params, dict) and name in params:
        return params[name]
    if optional:
        return None
    # the recipe matched, so a missing name is the command's own bug (OpenSIPS ERR_DET_PARAM_HANDLE_S)
    raise mi_error(SERVER_ERROR, "Server error", "Failed to handle parameter")


def param_str(params: Any, name: str, optional: bool = False) -> str | None:
    """A string parameter (numbers are accepted and converted, as OpenSIPS get_mi_string_param does)."""
    v = _get(params, name, optional)
    if v is None:
        return None
    if isinstance(v, bool) or not isinstance(v, (str, int, float)):
        raise mi_error(INVALID_PARAMS, "Invalid params", f"Bad type for parameter '{name}'")
    return v if isinstance(v, str) else str(v)


def param_int(params: Any, name: str, optional: bool = False) -> int | None:
    """An integer parameter given as a JSON number or a decimal string."""
    v = _get(params, name, optional)
    if v is None:
        return None
    if isinstance(v, int) and not isinstance(v, bool):
        return v
    if isinstance(v, str):
        try:
            return int(v.strip())
        except ValueError:
            pass
    raise mi_error(INVALID_PARAMS, "Invalid params", f"Bad type for parameter '{name}'")


def param_array(params: Any, name: str, optional: bool = False) -> list[str] | None:
    """An array-of-strings parameter. A plain string is accepted as a whitespace-separated list (pysips extra)."""
    v = _get(params, name, optional)
    if v is None:
        return None
    if isinstance(v, str):
        v = v.split()
    if not isinstance(v, list):
        raise mi_error(INVALID_PARAMS, "Invalid params", f"Bad type for parameter '{name}'")
    if not v:
        raise mi_error(INVALID_PARAMS, "Invalid params", f"Empty array in parameter '{name}'")
    out = []
    for item in v:
        if isinstance(item, bool) or not isinstance(item, (str, int)):
            raise mi_error(INVALID_PARAMS, "Invalid params", f"Bad type for array item in parameter '{name}'")
        out.append(str(item))
    return out


# ---------------------------------------------------------------------------------------------- per server


def module_state(core: Any, name: str, factory: Callable[[], Any] = dict) -> Any:
    """``core.modules_state[name]``, created on first use (per-server module state)."""
    states = getattr(core, "modules_state", None)
    if states is None:
        states = {}
        core.modules_state = states
    st = states.get(name)
    if st is None:
        st = states[name] = factory()
    return st


def loaded_modules(core: Any) -> list[str]:
    program = getattr(core, "program", None)
    return list(getattr(program, "modules", None) or [])


def build_registry(modules: list[str]) -> MIRegistry:
    """The core commands plus the ``mi_commands`` of `modules` (and of every core-flagged ModuleSpec)."""
    from pysips.mi import core_cmds
    from pysips.modules import load_registry

    reg = MIRegistry()
    for name, fn in core_cmds.COMMANDS.items():
        reg.add(name, fn)
    specs = load_registry()
    wanted = [m for m in modules if m in specs]
    wanted += [m for m, s in specs.items() if (s.core or m == "core") and m not in wanted]
    old_name = {v: k for k, v in NEW_NAMES.items()}
    for mname in wanted:
        table = specs[mname].mi_commands
        # 3.x names first; a ``module:cmd`` entry whose callable is already registered is only an alias
        for cname, fn in sorted(table.items(), key=lambda kv: ":" in kv[0]):
            if fn is None or cname in reg._names:
                continue
            if ":" in cname:
                same = next((c for c in reg.commands.values() if c.fn is fn and c.module == mname), None)
                if same is not None:
                    reg.add_alias(cname, same)
                    continue
                legacy = old_name.get(cname)
                if legacy is not None and legacy not in table and legacy not in reg.commands:
                    cname = legacy  # only the 4.0 name was given: register the 3.x one as primary
            reg.add(cname, fn, mname)
    return reg


def registry_for(core: Any) -> MIRegistry:
    """The registry of this server, built on first use from the loaded modules (rebuilt after reload_routes)."""
    reg = getattr(core, "mi_registry", None)
    if reg is None:
        reg = build_registry(loaded_modules(core))
        core.mi_registry = reg
        workers = getattr(core, "workers", None)
        if workers is not None and getattr(workers, "id", None) == 0:
            workers.install_mi(core)  # statistics summed over every worker (again after reload_routes)
    return reg
