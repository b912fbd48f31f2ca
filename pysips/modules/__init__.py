"""Modules as data: every emulated OpenSIPS module declares its functions, params, PVs and MI commands here.

Each ``pysips/modules/<name>.py`` defines ``MODULE = ModuleSpec(...)``. The compiler, the interpreter,
``pysips check --list-functions`` and the docs all read these tables (like OpenSIPS's ``cmd_export_t``).

Parameter kinds (OpenSIPS 3.x CMD_PARAM_*; 2.x passes every parameter as a quoted string and the module parses it):
  INT      a number, or a variable whose value is converted at run time (a 2.x "404" string is accepted too)
  STR      a format string ("$fU@x" expanded at run time) or a variable
  VAR      an output variable written by the function: an unquoted PV in 3.x, a quoted "$avp(x)" in 2.x
  REGEX    a string compiled once at load time
  ROUTE    the name of a route of ``route_kind`` (checked at load time: it must exist)
  FLAG     a flag name or number (setflag(1), setflag("NAT"))
  ANY      anything (the impl copes)
A ParamSpec with ``optional=True`` may be omitted or left empty; the impl receives None.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from dataclasses import dataclass, field

INT, STR, VAR, REGEX, ROUTE, FLAG, ANY = "int", "str", "var", "regex", "route", "flag", "any"

# route types where a function may be used (OpenSIPS REQUEST_ROUTE, FAILURE_ROUTE, ONREPLY_ROUTE, ...)
REQUEST, FAILURE, ONREPLY, BRANCH, ERROR, LOCAL, STARTUP, TIMER, EVENT = (
    "request",
    "failure",
    "onreply",
    "branch",
    "error",
    "local",
    "startup",
    "timer",
    "event",
)
ALL_ROUTES = frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, ERROR, LOCAL, STARTUP, TIMER, EVENT})
SIP_ROUTES = frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, ERROR, LOCAL})
REQ_ROUTES = frozenset({REQUEST, FAILURE, BRANCH, ERROR, LOCAL})  # routes that see a request


@dataclass(frozen=True, slots=True)
class ParamSpec:
    kind: str
    optional: bool = False
    name: str = ""
    route_kind: str = "request"  # for ROUTE params
    fixup: Callable | None = None  # load-time conversion of a constant value; raises ValueError(message)
    raw: bool = False  # a quoted string is passed as written ("$avp(x)" names a variable), not formatted


@dataclass(frozen=True, slots=True)
class FunctionSpec:
    name: str
    params: tuple[ParamSpec, ...] = ()
    impl: Callable | None = None  # impl(ctx, *args) -> int; None = declared but not implemented yet
    route_types: frozenset[str] = ALL_ROUTES
    aliases: tuple[str, ...] = ()
    doc: str = ""

    @property
    def min_args(self) -> int:
        n = 0
        for i, p in enumerate(self.params):
            if not p.optional:
                n = i + 1
        return n

    @property
    def max_args(self) -> int:
        return len(self.params)


@dataclass(frozen=True, slots=True)
class ModParamSpec:
    name: str
    kind: str  # INT or STR
    default: int | str | None = None
    repeatable: bool = False  # modparam may be given several times (values collected in a list)


@dataclass(slots=True)
class ModuleSpec:
    name: str
    functions: dict[str, FunctionSpec] = field(default_factory=dict)
    params: dict[str, ModParamSpec] = field(default_factory=dict)
    pvs: dict[str, object] = field(default_factory=dict)  # PV name -> spec owned by the pvars layer
    mi_commands: dict[str, Callable] = field(default_factory=dict)
    core: bool = False  # core functions need no loadmodule
    doc: str = ""

    @classmethod
    def build(
        cls,
        name: str,
        functions: list[FunctionSpec] = (),
        params: list[ModParamSpec] = (),
        **kw: object,
    ) -> ModuleSpec:
        fmap: dict[str, FunctionSpec] = {}
        for f in functions:
            fmap[f.name] = f
            for a in f.aliases:
                fmap[a] = f
        return cls(name=name, functions=fmap, params={p.name: p for p in params}, **kw)


# Real OpenSIPS modules pysips does not emulate yet: a script that loads them gets a warning naming this,
# never "unknown module". Filled in pysips/modules/known.py.
def known_unimplemented_modules() -> frozenset[str]:
    from pysips.modules.known import KNOWN_MODULES

    return frozenset(KNOWN_MODULES) - frozenset(load_registry())


def known_unimplemented_functions() -> dict[str, str]:
    """function name -> the OpenSIPS module that provides it, for functions pysips does not implement."""
    from pysips.modules.known import KNOWN_FUNCTIONS

    return dict(KNOWN_FUNCTIONS)


_REGISTRY: dict[str, ModuleSpec] | None = None
_PYMODS: dict[str, object] = {}  # module name -> the pysips.modules.<file> Python module that declares it


def init_hook(name: str) -> Callable[[dict], None] | None:
    """The ``init(params)`` of module ``name`` (applies its resolved modparams at load; raises ValueError on a
    bad value), or None when the module has none. Like OpenSIPS's mod_init, called once per script load."""
    load_registry()
    return getattr(_PYMODS.get(name), "init", None)


def load_registry() -> dict[str, ModuleSpec]:
    """All module specs by module name (``core`` included), importing every pysips/modules/*.py once."""
    global _REGISTRY
    if _REGISTRY is None:
        reg: dict[str, ModuleSpec] = {}
        for info in pkgutil.iter_modules(__path__):
            if info.name in ("known",) or info.name.startswith("_"):
                continue
            mod = importlib.import_module(f"{__name__}.{info.name}")
            spec = getattr(mod, "MODULE", None)
            if isinstance(spec, ModuleSpec):
                reg[spec.name] = spec
                _PYMODS[spec.name] = mod
        _REGISTRY = reg
    return _REGISTRY
