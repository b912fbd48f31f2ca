"""Per-message script state (Context), runtime services (Env), AVP stacks and named flags.

One Context is built for every message a route runs on, so construction is kept cheap: the hot fields live in
slots, rarely used state falls back to class-level defaults (stored in the instance ``__dict__`` only once set), and
the AVP store and branch list are created on first use.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from pysips.sip.message import Request, Response


# ---------------------------------------------------------------- values


class StrInt(str):
    """A string value that is also usable as an integer (OpenSIPS PV_VAL_STR|PV_VAL_INT without PV_TYPE_INT).

    pvar.c returns explicit ports this way ($rp, $op, $dp when the URI carries a port): `+` concatenates them as
    strings, yet ``$rp == 5060`` compares as integers. Comparing a StrInt with an int compares numerically.
    """

    __slots__ = ()

    @property
    def ival(self) -> int:
        return int(self)

    def __eq__(self, other: object) -> bool:
        if isinstance(other, int):
            return int(self) == other
        return str.__eq__(self, other)

    def __ne__(self, other: object) -> bool:
        return not self.__eq__(other)

    __hash__ = str.__hash__

    def __lt__(self, other: object) -> bool:
        return int(self) < other if isinstance(other, int) else str.__lt__(self, other)  # type: ignore[operator]

    def __le__(self, other: object) -> bool:
        return int(self) <= other if isinstance(other, int) else str.__le__(self, other)  # type: ignore[operator]

    def __gt__(self, other: object) -> bool:
        return int(self) > other if isinstance(other, int) else str.__gt__(self, other)  # type: ignore[operator]

    def __ge__(self, other: object) -> bool:
        return int(self) >= other if isinstance(other, int) else str.__ge__(self, other)  # type: ignore[operator]


def is_intlike(v: object) -> bool:
    """True for values OpenSIPS flags PV_VAL_INT: ints and StrInt (usable as an index or a numeric operand)."""
    return isinstance(v, (int, StrInt))


# ---------------------------------------------------------------- AVPs


class AvpStore:
    """AVP stacks: name -> list of values, index 0 = the newest (OpenSIPS usr_avp.c semantics).

    ``$avp(a) = v`` pushes (:meth:`push`); ``:=`` and ``$(avp(a)[*]) = v`` replace every value (:meth:`set_all`);
    ``$(avp(a)[N]) = v`` replaces index N (:meth:`replace`); ``[append]`` adds at the end (:meth:`append`);
    ``= NULL`` deletes the top value (:meth:`delete`); ``[*] = NULL`` / ``:= NULL`` delete all (:meth:`delete_all`).
    In OpenSIPS AVPs belong to the transaction: the proxy moves the store from the request to its replies.
    """

    __slots__ = ("_d",)

    def __init__(self, data: dict[str, list[Any]] | None = None) -> None:
        self._d: dict[str, list[Any]] = data if data is not None else {}

    def get(self, name: str, idx: int = 0) -> Any:
        """Value at ``idx`` (negative counts from the oldest end), None if absent."""
        lst = self._d.get(name)
        if not lst:
            return None
        if idx < 0:
            idx += len(lst)
            if idx < 0:
                return None
        return lst[idx] if idx < len(lst) else None

    def get_all(self, name: str) -> list[Any]:
        """Every value, newest first (a copy)."""
        lst = self._d.get(name)
        return list(lst) if lst else []

    def count(self, name: str) -> int:
        lst = self._d.get(name)
        return len(lst) if lst else 0

    def push(self, name: str, value: Any) -> None:
        lst = self._d.get(name)
        if lst is None:
            self._d[name] = [value]
        else:
            lst.insert(0, value)

    def set_all(self, name: str, value: Any) -> None:
        self._d[name] = [value]

    def append(self, name: str, value: Any) -> None:
        lst = self._d.get(name)
        if lst is None:
            self._d[name] = [value]
        else:
            lst.append(value)

    def replace(self, name: str, idx: int, value: Any) -> bool:
        """Replace the value at ``idx``; False (OpenSIPS: error) if there is no such index."""
        lst = self._d.get(name)
        if not lst:
            return False
        if idx < 0:
            idx += len(lst)
        if idx < 0 or idx >= len(lst):
            return False
        lst[idx] = value
        return True

    def delete(self, name: str, idx: int = 0) -> None:
        lst = self._d.get(name)
        if not lst:
            return
        if idx < 0:
            idx += len(lst)
        if 0 <= idx < len(lst):
            del lst[idx]
            if not lst:
                del self._d[name]

    def delete_all(self, name: str) -> None:
        self._d.pop(name, None)

    def names(self) -> list[str]:
        return list(self._d)

    def clear(self) -> None:
        self._d.clear()

    def copy(self) -> AvpStore:
        return AvpStore({k: list(v) for k, v in self._d.items()})

    def as_dict(self) -> dict[str, list[Any]]:
        """A copy as plain data (newest first), for `pysips simulate` and tests."""
        return {k: list(v) for k, v in self._d.items()}

    def __contains__(self, name: object) -> bool:
        return name in self._d

    def __len__(self) -> int:
        return len(self._d)

    def __repr__(self) -> str:
        return f"AvpStore({self._d!r})"


# ---------------------------------------------------------------- named flags


class FlagNames:
    """Named message / branch flags (OpenSIPS flags.c): a name gets the next free bit the first time it is used.

    OpenSIPS allocates the bits at fixup time, in script order, and prints a mask ($mf, $bf) newest name first,
    separated by spaces. One registry per process, shared by every script generation loaded in it.
    """

    MAX_FLAGS = 32

    def __init__(self) -> None:
        self._bits: dict[str, dict[str, int]] = {"msg": {}, "branch": {}}

    def bit(self, name: str, kind: str = "msg") -> int:
        """The bit number of flag ``name`` (allocated on first use). Raises ValueError past 32 flags."""
        table = self._bits[kind]
        b = table.get(name)
        if b is None:
            if len(table) >= self.MAX_FLAGS:
                raise ValueError(f"maximum number of {kind} flags reached (32)")
            b = len(table)
            table[name] = b
        return b

    def mask(self, name: str, kind: str = "msg") -> int:
        return 1 << self.bit(name, kind)

    def names(self, mask: int, kind: str = "msg") -> str:
        """The space-separated list of set flags, newest-defined first (as $mf / $bf print it)."""
        table = self._bits[kind]
        return " ".join(n for n, b in sorted(table.items(), key=lambda kv: -kv[1]) if mask & (1 << b))

    def reset(self) -> None:
        for t in self._bits.values():
            t.clear()


FLAGS = FlagNames()


# ---------------------------------------------------------------- branches


@dataclass(slots=True)
class Branch:
    """An extra branch added by append_branch() (or by writing $branch): what t_relay forks to."""

    uri: str
    du: str | None = None
    q: int = -1  # Q_UNSPECIFIED; q values are 0..1000 as in OpenSIPS
    flags: int = 0
    path: str | None = None
    socket: str | None = None


# ---------------------------------------------------------------- runtime services


class Env:
    """What script functions need from the running server.

    The proxy overrides these methods; this base implementation only RECORDS each call as a dict in ``actions``
    (used by `pysips simulate` and the tests). Module implementations add their own methods on subclasses and may
    call :meth:`record` for anything without a dedicated method.
    """

    def __init__(self) -> None:
        self.actions: list[dict[str, Any]] = []
        self.log_level = 3  # $log_level: per process in OpenSIPS
        self.default_log_level = 3
        self.xlog_level = 3  # $xlog_level (3.x)
        self.default_xlog_level = 3
        self.startup_time = int(time.time())  # $TS
        self.local_addresses: set[tuple[str, int | None]] = set()

    def add_local_address(self, host: str, port: int | None = None) -> None:
        """Declare an address as 'myself' (a listening socket, an alias): ``port`` None matches any port."""
        self.local_addresses.add((_norm_host(host), port))

    def is_myself(self, host: str, port: int | None = None) -> bool:
        """OpenSIPS check_self(): the addresses declared with add_local_address, and the loopback names on the
        default port 5060 or a declared one. ``port`` None or 0 matches any port of a known host."""
        h = _norm_host(host)
        if h in _LOOPBACK and (not port or port == 5060 or any(lp == port for _, lp in self.local_addresses)):
            return True
        for lh, lp in self.local_addresses:
            if lh == h and (not port or lp is None or lp == port):
                return True
        return False

    def record(self, kind: str, **details: Any) -> None:
        self.actions.append({"kind": kind, **details})

    def reply(self, ctx: Context, code: int, reason: str, stateful: bool | None) -> int:
        self.record("reply", code=code, reason=reason, stateful=stateful)
        return 1

    def forward(self, ctx: Context, dest: str | None) -> int:
        self.record("forward", dest=dest, ruri=_ruri_str(ctx), du=ctx.du)
        return 1

    def relay(self, ctx: Context, flags: Any, outbound: str | None) -> int:
        self.record("relay", flags=flags, outbound=outbound, ruri=_ruri_str(ctx), du=ctx.du)
        return 1

    def log(self, ctx: Context, level: int, text: str) -> None:
        self.record("log", level=level, text=text)


_LOOPBACK = frozenset({"127.0.0.1", "localhost", "::1"})


def _norm_host(host: str) -> str:
    h = host.strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    return h


def _ruri_str(ctx: Context) -> str | None:
    msg = ctx.msg
    if msg is None or not getattr(msg, "is_request", False):
        return None
    return str(msg.ruri)


# ---------------------------------------------------------------- context


class Context:
    """Script state for one message run through a route.

    Rare fields are class attributes used as defaults; assigning one on an instance stores it in the instance dict
    (``__dict__`` is in the slots for that), so other layers may attach what they need (``ctx.dropped``,
    ``ctx.t_on_failure``, ``ctx.trace``...).
    """

    __slots__ = (
        "msg",
        "req",
        "src_ip",
        "src_port",
        "proto",
        "local_ip",
        "local_port",
        "du",
        "flags",
        "bflags",
        "_avps",
        "_vars",
        "_shv",
        "rc",
        "params",
        "route_name",
        "route_type",
        "env",
        "now",
        "cfg_line",
        "cfg_file",
        "__dict__",
    )

    # Defaults of rarely used state (see the class docstring).
    dropped = False
    trace = None
    ouri = None  # the R-URI as received, saved by set_ruri() before the first rewrite ($ou)
    ruri_q = -1  # $ru_q, Q_UNSPECIFIED
    route_stack = None  # names of the routes entered, outermost first (None = unnamed); $route
    return_values = ()  # 3.x return(n, v1, v2): $return(i)
    err_class = 0  # $err.class / .level / .info / .rcode / .rreason (set by the core on a script error)
    err_level = 0
    err_info = None
    err_rcode = 0
    err_rreason = None
    force_socket = None  # $socket_out / force_send_socket(): "proto:ip:port"
    advertised_address = None
    advertised_port = None
    local_af = None  # "INET" / "INET6"; derived from local_ip when None
    socket_tag = None
    reply = None  # in failure_route: the winning reply ($(<reply>rs))
    _branches = None
    argv: dict[str, str] | None = None  # $argv(name): -a name=value on the command line

    def __init__(
        self,
        msg: Request | Response | None,
        *,
        src: tuple[str, int] = ("127.0.0.1", 5060),
        proto: str = "udp",
        local: tuple[str, int] = ("127.0.0.1", 5060),
        env: Env | None = None,
        vars: dict[str, Any] | None = None,
        shv: dict[str, Any] | None = None,
        req: Request | None = None,
        route_type: str = "request",
        now: float | None = None,
    ) -> None:
        self.msg = msg
        self.req = req
        self.src_ip, self.src_port = src
        self.proto = proto
        self.local_ip, self.local_port = local
        self.du = None
        self.flags = 0
        self.bflags = 0
        self._avps = None
        self._vars = vars
        self._shv = shv
        self.rc = 1
        self.params = ()
        self.route_name = None
        self.route_type = route_type
        self.env = env if env is not None else Env()
        self.now = time.time() if now is None else now
        self.cfg_line = 0
        self.cfg_file = ""

    @property
    def avps(self) -> AvpStore:
        a = self._avps
        if a is None:
            a = self._avps = AvpStore()
        return a

    @avps.setter
    def avps(self, store: AvpStore) -> None:
        self._avps = store

    @property
    def vars(self) -> dict[str, Any]:
        v = self._vars
        if v is None:
            v = self._vars = {}
        return v

    @vars.setter
    def vars(self, d: dict[str, Any]) -> None:
        self._vars = d

    @property
    def shv(self) -> dict[str, Any]:
        v = self._shv
        if v is None:
            v = self._shv = {}
        return v

    @shv.setter
    def shv(self, d: dict[str, Any]) -> None:
        self._shv = d

    @property
    def branches(self) -> list[Branch]:
        b = self._branches
        if b is None:
            b = self._branches = []
        return b

    @branches.setter
    def branches(self, lst: list[Branch]) -> None:
        self._branches = lst

    def set_ruri(self, uri: Any) -> None:
        """Rewrite the R-URI (str or URI), keeping the one received for $ou / revert_uri().

        Every R-URI rewrite should go through here ($ru, $rU, $rd, $rp writes, seturi(), prefix()...).
        """
        msg = self.msg
        if self.ouri is None:
            self.ouri = msg.ruri_raw if hasattr(msg, "ruri_raw") else str(msg.ruri)
        if isinstance(uri, str):
            from pysips.sip.uri import parse_uri

            uri = parse_uri(uri)
        msg.ruri = uri

    def revert_ruri(self) -> None:
        """revert_uri(): back to the R-URI as received."""
        if self.ouri is not None:
            from pysips.sip.uri import parse_uri

            self.msg.ruri = parse_uri(self.ouri)

    def request_msg(self) -> Request | None:
        """The request: ``msg`` itself in request routes, ``req`` in onreply routes ($(<request>...))."""
        m = self.msg
        if m is not None and m.is_request:
            return m
        return self.req

    def reply_msg(self) -> Response | None:
        """The reply: ``msg`` itself in onreply routes, ``reply`` in failure routes ($(<reply>...))."""
        m = self.msg
        if m is not None and not m.is_request:
            return m
        return self.reply
