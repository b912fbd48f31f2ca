"""Core functions (OpenSIPS 3.x core_cmds.c; in 2.x most were grammar keywords, whose spellings are kept as aliases).

``xlog``/``xdbg``/``log`` are statements of the grammar and are compiled by the compiler, not declared here.
Helpers shared by other modules live here too: :func:`request_of`, :func:`flag_bit`, :func:`parse_socket`,
:func:`is_myself`.
"""

from __future__ import annotations

import time
from typing import Any

from pysips.modules import (
    ALL_ROUTES,
    FLAG,
    INT,
    STR,
    VAR,
    FunctionSpec,
    ModuleSpec,
    ParamSpec,
)

# ---------------------------------------------------------------- shared helpers


def request_of(ctx: Any) -> Any:
    """The request a function acts on: ``ctx.msg`` when it is a request, else None (R-URI functions fail)."""
    msg = ctx.msg
    if msg is not None and msg.is_request:
        return msg
    return None


def log_error(ctx: Any, text: str) -> None:
    """Report a run-time error of a function the way OpenSIPS does (LM_ERR), through the Env."""
    env = getattr(ctx, "env", None)
    if env is not None:
        env.log(ctx, -1, text)


def flag_fixup(value: Any) -> int:
    """Load-time check of a message flag: a number 0..31 (2.x ``setflag(1)``) or a name (3.x ``setflag("NAT")``)."""
    return flag_bit(value, "msg")


def bflag_fixup(value: Any) -> int:
    return flag_bit(value, "branch")


def flag_bit(value: Any, kind: str = "msg") -> int:
    """The bit number of a flag: numbers are used as given, names are allocated in the shared FlagNames table."""
    if isinstance(value, int):
        bit = value
    else:
        text = str(value).strip()
        if text.lstrip("-").isdigit():
            bit = int(text)
        else:
            if not text:
                raise ValueError("empty flag name")
            from pysips.script.context import FLAGS

            return FLAGS.bit(text, kind)
    if not 0 <= bit < 32:
        raise ValueError(f"flag {value!r} out of range (0..31)")
    return bit


def parse_socket(text: str) -> tuple[str, str, int | None]:
    """'[proto:]host[:port]' (force_send_socket, forward/send destinations) -> (proto, host, port)."""
    s = text.strip()
    proto = ""
    low = s.lower()
    for p in ("udp", "tcp", "tls", "sctp", "ws", "wss", "bin", "hep_udp", "hep_tcp"):
        if low.startswith(p + ":"):
            proto, s = p, s[len(p) + 1 :]
            break
    port: int | None = None
    if s.startswith("["):
        end = s.find("]")
        if end < 0:
            raise ValueError(f"bad address {text!r}")
        host, rest = s[: end + 1], s[end + 1 :]
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"bad port in {text!r}")
            port = int(rest[1:])
    elif s.count(":") == 1:
        host, p = s.split(":")
        if not p.isdigit():
            raise ValueError(f"bad port in {text!r}")
        port = int(p)
    else:
        host = s
    if not host:
        raise ValueError(f"missing host in {text!r}")
    if port is not None and not 0 < port < 65536:
        raise ValueError(f"port out of range in {text!r}")
    return proto, host, port


def is_myself(ctx: Any, host: str, port: int | None = None) -> bool:
    """``ctx.env.is_myself(host, port)``, or the socket the message arrived on (ctx.local_ip / local_port)."""
    env = ctx.env
    fn = getattr(env, "is_myself", None)
    if fn is not None and fn(host, port):
        return True
    h = host.strip().lower()
    if h.startswith("[") and h.endswith("]"):
        h = h[1:-1]
    if h not in (str(ctx.local_ip).lower(), "127.0.0.1", "localhost", "::1"):
        return False
    return not port or port == ctx.local_port


def _split_hostport(text: str) -> tuple[str, int | None]:
    s = text.strip()
    if s.startswith("["):
        end = s.find("]")
        host, rest = s[: end + 1], s[end + 1 :]
        return host, int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else None
    if s.count(":") == 1:
        host, p = s.split(":")
        return host, int(p) if p.isdigit() else None
    return s, None


def _rewrite(ctx: Any, edit: Any) -> int:
    """Copy the R-URI, apply edit(uri) and store it through ctx.set_ruri (which keeps $ou)."""
    req = request_of(ctx)
    if req is None:
        log_error(ctx, "R-URI rewrite on a message that is not a request")
        return -1
    uri = req.ruri.copy()
    try:
        edit(uri)
    except ValueError as e:
        log_error(ctx, f"failed to rewrite the R-URI: {e}")
        return -1
    ctx.set_ruri(uri)
    return 1


# ---------------------------------------------------------------- flags


def _flag(value: Any, kind: str) -> int:
    return value if isinstance(value, int) else flag_bit(value, kind)


def w_setflag(ctx: Any, flag: Any) -> int:
    ctx.flags |= 1 << _flag(flag, "msg")
    return 1


def w_resetflag(ctx: Any, flag: Any) -> int:
    ctx.flags &= ~(1 << _flag(flag, "msg"))
    return 1


def w_isflagset(ctx: Any, flag: Any) -> int:
    return 1 if ctx.flags & (1 << _flag(flag, "msg")) else -1


def _bflags_get(ctx: Any, idx: int | None) -> int | None:
    if not idx:
        return ctx.bflags
    branches = ctx.branches
    if 0 < idx <= len(branches):
        return branches[idx - 1].flags
    return None


def _bflags_set(ctx: Any, idx: int | None, value: int) -> None:
    if not idx:
        ctx.bflags = value
    else:
        ctx.branches[idx - 1].flags = value


def w_setbflag(ctx: Any, flag: Any, idx: int | None = None) -> int:
    cur = _bflags_get(ctx, idx)
    if cur is None:
        return -1
    _bflags_set(ctx, idx, cur | (1 << _flag(flag, "branch")))
    return 1


def w_resetbflag(ctx: Any, flag: Any, idx: int | None = None) -> int:
    cur = _bflags_get(ctx, idx)
    if cur is None:
        return -1
    _bflags_set(ctx, idx, cur & ~(1 << _flag(flag, "branch")))
    return 1


def w_isbflagset(ctx: Any, flag: Any, idx: int | None = None) -> int:
    cur = _bflags_get(ctx, idx)
    if cur is None:
        return -1
    return 1 if cur & (1 << _flag(flag, "branch")) else -1


# 1.x script flags (setsflag & co): a third flag set, kept only for the length of the script run
def w_setsflag(ctx: Any, flag: Any) -> int:
    ctx.script_flags = getattr(ctx, "script_flags", 0) | (1 << _flag(flag, "msg"))
    return 1


def w_resetsflag(ctx: Any, flag: Any) -> int:
    ctx.script_flags = getattr(ctx, "script_flags", 0) & ~(1 << _flag(flag, "msg"))
    return 1


def w_issflagset(ctx: Any, flag: Any) -> int:
    return 1 if getattr(ctx, "script_flags", 0) & (1 << _flag(flag, "msg")) else -1


# ---------------------------------------------------------------- R-URI rewriting


def w_seturi(ctx: Any, uri: str) -> int:
    req = request_of(ctx)
    if req is None:
        return -1
    from pysips.errors import SIPParseError

    try:
        ctx.set_ruri(uri)
    except SIPParseError as e:
        log_error(ctx, f"seturi: bad URI {uri!r}: {e}")
        return -1
    return 1


def _drop_maddr(u: Any) -> None:
    if u.has_param("maddr"):
        u.remove_param("maddr")


def w_sethost(ctx: Any, host: str) -> int:
    def edit(u: Any) -> None:
        u.host = host
        _drop_maddr(u)

    return _rewrite(ctx, edit)


def w_sethostport(ctx: Any, hostport: str) -> int:
    def edit(u: Any) -> None:
        u.host, u.port = _split_hostport(hostport)
        _drop_maddr(u)

    return _rewrite(ctx, edit)


def w_setuser(ctx: Any, user: str) -> int:
    def edit(u: Any) -> None:
        u.user = user or None
        if not user:
            u.password = None

    return _rewrite(ctx, edit)


def w_setuserpass(ctx: Any, userpass: str) -> int:
    def edit(u: Any) -> None:
        user, sep, pw = userpass.partition(":")
        u.user = user or None
        u.password = pw if sep else None

    return _rewrite(ctx, edit)


def w_setport(ctx: Any, port: str) -> int:
    def edit(u: Any) -> None:
        p = str(port).strip()
        if not p:
            u.port = None
        elif p.isdigit():
            u.port = int(p)
        else:
            raise ValueError(f"bad port {port!r}")

    return _rewrite(ctx, edit)


def w_prefix(ctx: Any, prefix: str) -> int:
    def edit(u: Any) -> None:
        u.user = prefix + (u.user or "")

    return _rewrite(ctx, edit)


def w_strip(ctx: Any, n: int) -> int:
    def edit(u: Any) -> None:
        user = u.user or ""
        rest = user[n:] if n < len(user) else ""
        u.user = rest or None
        if not rest:
            u.password = None

    return _rewrite(ctx, edit)


def w_strip_tail(ctx: Any, n: int) -> int:
    def edit(u: Any) -> None:
        user = u.user or ""
        rest = user[: len(user) - n] if n < len(user) else ""
        u.user = rest or None
        if not rest:
            u.password = None

    return _rewrite(ctx, edit)


def w_revert_uri(ctx: Any) -> int:
    if request_of(ctx) is None:
        return -1
    ctx.revert_ruri()
    return 1


def w_setdsturi(ctx: Any, uri: str) -> int:
    if not uri:
        return -1
    ctx.du = uri
    return 1


def w_resetdsturi(ctx: Any) -> int:
    ctx.du = None
    return 1


def w_isdsturiset(ctx: Any) -> int:
    return 1 if ctx.du else -1


# ---------------------------------------------------------------- branches


def _q_fixup(value: Any) -> int:
    """'0.5' -> 500 (OpenSIPS qvalue_t, 0..1000)."""
    if isinstance(value, int):
        q = value * 1000 if value <= 1 else value
    else:
        try:
            q = round(float(str(value)) * 1000)
        except ValueError:
            raise ValueError(f"bad q value {value!r} (expected 0..1)") from None
    if not 0 <= q <= 1000:
        raise ValueError(f"q value {value!r} out of range (0..1)")
    return q


def w_append_branch(ctx: Any, uri: str | None = None, q: Any = None) -> int:
    """Without a URI the current R-URI becomes a branch and the per-branch state of the message is reset."""
    from pysips.script.context import Branch

    req = request_of(ctx)
    if req is None:
        return -1
    qv = -1 if q is None or q == "" else (q if isinstance(q, int) else _q_fixup(q))
    path = getattr(ctx, "path_vec", None)
    if not uri:
        ctx.branches.append(
            Branch(
                uri=str(req.ruri),
                du=ctx.du,
                q=ctx.ruri_q if qv == -1 else qv,
                flags=ctx.bflags,
                path=path,
                socket=ctx.force_socket,
            )
        )
        ctx.force_socket = None
        ctx.bflags = 0
        ctx.ruri_q = -1
        ctx.du = None
        if path is not None:
            ctx.path_vec = None
        return 1
    ctx.branches.append(
        Branch(uri=uri, du=ctx.du, q=qv, flags=ctx.bflags, path=path, socket=ctx.force_socket)
    )
    return 1


def w_remove_branch(ctx: Any, idx: int) -> int:
    branches = ctx.branches
    if 0 <= idx < len(branches):
        del branches[idx]
        return 1
    return -1


SERIAL_AVP = "serial_branch"  # the AVP OpenSIPS keeps serialized branches in (serialize.c)


def w_serialize_branches(ctx: Any, clear: int, keep_order: int | None = None) -> int:
    """Turn the R-URI + appended branches into serial forking classes (increasing q), kept in an AVP.

    Each AVP value is (uri, du, path, flags, q, socket, last_of_class); the AVP moves with the transaction, so
    next_branches() in a failure_route continues where the request route stopped.
    """
    req = request_of(ctx)
    if req is None:
        return -1
    branches = ctx.branches
    if not branches:
        return 1
    ruri_q = ctx.ruri_q
    if not keep_order and all(b.q == ruri_q for b in branches):
        return 1
    from pysips.script.context import Branch

    first = Branch(
        str(req.ruri), ctx.du, ruri_q, ctx.bflags, getattr(ctx, "path_vec", None), ctx.force_socket
    )
    contacts = [first, *branches]
    if keep_order:
        order = contacts
        last_flags = [True] * len(order)
    else:
        # stable sort by decreasing q: the highest class is tried first
        order = sorted(contacts, key=lambda b: -b.q)
        last_flags = [i == len(order) - 1 or order[i + 1].q < b.q for i, b in enumerate(order)]
    avps = ctx.avps
    if clear:
        avps.delete_all(SERIAL_AVP)
    # AvpStore.push puts values on top: push in reverse so the first contact is read first
    for b, last in reversed(list(zip(order, last_flags, strict=True))):
        avps.push(SERIAL_AVP, (b.uri, b.du, b.path, b.flags, b.q, b.socket, last))
    ctx.branches = []
    return 1


def w_next_branches(ctx: Any) -> int:
    """Load the next priority class: the first contact becomes the R-URI, the others parallel branches.

    1 = more classes remain, 2 = this was the last one, -1 = nothing left.
    """
    from pysips.script.context import Branch

    req = request_of(ctx)
    avps = ctx.avps
    if req is None or ctx.route_type not in ("request", "failure") or not avps.count(SERIAL_AVP):
        return -1
    uri, du, path, flags, q, sock, last = avps.get(SERIAL_AVP)
    avps.delete(SERIAL_AVP)
    ctx.set_ruri(uri)
    ctx.du = du
    ctx.ruri_q = q
    ctx.bflags = flags
    ctx.force_socket = sock
    if path is not None:
        ctx.path_vec = path
    while not last and avps.count(SERIAL_AVP):
        uri, du, path, flags, q, sock, last = avps.get(SERIAL_AVP)
        avps.delete(SERIAL_AVP)
        ctx.branches.append(Branch(uri, du, q, flags, path, sock))
    return 1 if avps.count(SERIAL_AVP) else 2


# ---------------------------------------------------------------- transport and sockets


def w_force_rport(ctx: Any) -> int:
    ctx.force_rport = True
    return 1


def w_add_local_rport(ctx: Any) -> int:
    ctx.add_local_rport = True
    return 1


def w_force_tcp_alias(ctx: Any, port: int | None = None) -> int:
    ctx.tcp_alias = port if port else ctx.src_port
    return 1


def w_set_advertised_address(ctx: Any, addr: str) -> int:
    ctx.advertised_address = addr or None
    return 1


def w_set_advertised_port(ctx: Any, port: str) -> int:
    p = str(port).strip()
    if p and not p.isdigit():
        log_error(ctx, f"set_advertised_port: bad port {port!r}")
        return -1
    ctx.advertised_port = p or None
    return 1


def _socket_fixup(value: Any) -> str:
    proto, host, port = parse_socket(str(value))
    return f"{proto or 'udp'}:{host}:{port or 5060}"


def w_force_send_socket(ctx: Any, sock: str) -> int:
    try:
        ctx.force_socket = _socket_fixup(sock)
    except ValueError as e:
        log_error(ctx, f"force_send_socket: {e}")
        return -1
    return 1


def w_forward(ctx: Any, dest: str | None = None) -> int:
    return ctx.env.forward(ctx, dest or None)


def w_send(ctx: Any, dest: str, headers: str | None = None) -> int:
    fn = getattr(ctx.env, "send", None)
    if fn is not None:
        return fn(ctx, dest, headers)
    ctx.env.record("send", dest=dest, headers=headers)
    return 1


def w_is_myself(ctx: Any, host: str, port: int | None = None) -> int:
    if host is None:
        return -1
    h, p = host, port
    if p is None and host.count(":") == 1 and not host.startswith("["):
        h, p = _split_hostport(host)
    elif p is None and host.startswith("[") and "]:" in host:
        h, p = _split_hostport(host)
    return 1 if is_myself(ctx, h, p) else -1


# ---------------------------------------------------------------- variables, time


def w_pv_printf(ctx: Any, var: Any, text: str) -> int:
    if not getattr(var, "writable", True):
        log_error(ctx, "read only PV in first parameter of pv_printf")
        return -1
    var.set(ctx, "=", text)
    return 1


def w_get_timestamp(ctx: Any, sec: Any, usec: Any) -> int:
    now = time.time()
    sec.set(ctx, "=", int(now))
    usec.set(ctx, "=", int((now - int(now)) * 1_000_000))
    return 1


def w_script_trace(
    ctx: Any, level: int | None = None, fmt: str | None = None, info: str | None = None
) -> int:
    ctx.trace_level = level
    ctx.env.record("script_trace", level=level, fmt=fmt, info=info)
    return 1


def w_construct_uri(
    ctx: Any, proto: str, user: str | None, domain: str, port: str | None, extra: str | None, result: Any
) -> int:
    """construct_uri(proto, user, domain, port, extra, $out): '<proto>:[user@]domain[:port][;extra]'."""
    if not proto or not domain:
        return -1
    out = f"{proto}:"
    if user:
        out += f"{user}@"
    out += domain
    if port:
        out += f":{port}"
    if extra:
        out += extra if extra.startswith(";") else f";{extra}"
    result.set(ctx, "=", out)
    return 1


# ---------------------------------------------------------------- cache_* (cachedb core API)


def _engine(ctx: Any, engine: str) -> Any:
    """The cachedb backend for an engine URL group: 'local[:group]' is in-process; others come from the Env."""
    scheme, _, group = engine.partition(":")
    if scheme == "local":
        from pysips.modules.cachedb_local import collection

        return collection(group or "")
    fn = getattr(ctx.env, "cachedb", None)
    backend = fn(engine) if fn is not None else None
    if backend is None:
        log_error(ctx, f"cachedb engine {engine!r} is not available")
    return backend


def w_cache_store(ctx: Any, engine: str, key: str, value: str, expire: int | None = None) -> int:
    b = _engine(ctx, engine)
    if b is None:
        return -1
    return 1 if b.store(key, value, expire or 0) else -1


def w_cache_remove(ctx: Any, engine: str, key: str) -> int:
    b = _engine(ctx, engine)
    if b is None:
        return -1
    return -1 if b.remove(key) is False else 1


def _failed(b: Any) -> bool:
    """The backend could not answer (e.g. Redis down), as opposed to "key not found"."""
    return getattr(b, "last_error", None) is not None


def w_cache_fetch(ctx: Any, engine: str, key: str, out: Any) -> int:
    b = _engine(ctx, engine)
    if b is None:
        return -1
    v = b.fetch(key)
    if v is None:
        return -1 if _failed(b) else -2
    out.set(ctx, "=", str(v))
    return 1


def w_cache_counter_fetch(ctx: Any, engine: str, key: str, out: Any) -> int:
    b = _engine(ctx, engine)
    if b is None:
        return -1
    v = b.fetch(key)
    if v is None:
        return -1 if _failed(b) else -2
    try:
        out.set(ctx, "=", int(v))
    except ValueError:
        log_error(ctx, f"cache_counter_fetch: value of {key!r} is not a counter")
        return -1
    return 1


def _counter(ctx: Any, engine: str, key: str, delta: int, expire: int, out: Any) -> int:
    b = _engine(ctx, engine)
    if b is None:
        return -1
    new = b.add(key, delta, expire or 0)
    if new is None:
        if not _failed(b):  # an outage is logged once by the backend
            log_error(ctx, f"cache_add/sub: value of {key!r} is not a number")
        return -1
    if out is not None:
        out.set(ctx, "=", new)
    return 1


def w_cache_add(ctx: Any, engine: str, key: str, inc: int, expire: int, out: Any = None) -> int:
    return _counter(ctx, engine, key, inc, expire, out)


def w_cache_sub(ctx: Any, engine: str, key: str, dec: int, expire: int, out: Any = None) -> int:
    return _counter(ctx, engine, key, -dec, expire, out)


def w_cache_raw_query(ctx: Any, engine: str, query: str, avp_list: str | None = None) -> int:
    if engine.partition(":")[0] != "redis":
        log_error(ctx, f"cache_raw_query: engine {engine!r} does not take raw queries")
        return -1
    from pysips.modules.cachedb_redis import w_cache_raw_query as redis_raw_query

    return redis_raw_query(ctx, engine, query, avp_list)


# ---------------------------------------------------------------- the table


def _f(
    name: str, impl: Any, *params: ParamSpec, aliases: tuple[str, ...] = (), doc: str = ""
) -> FunctionSpec:
    return FunctionSpec(name, tuple(params), impl, ALL_ROUTES, aliases, doc)


_FLAG = ParamSpec(FLAG, name="flag", fixup=flag_fixup)
_BFLAG = ParamSpec(FLAG, name="flag", fixup=bflag_fixup)
_BIDX = ParamSpec(INT, optional=True, name="branch_idx")

MODULE = ModuleSpec.build(
    "core",
    core=True,
    doc="OpenSIPS core functions (core_cmds.c); 2.x keyword spellings are aliases",
    functions=[
        _f("forward", w_forward, ParamSpec(STR, optional=True, name="destination"), doc="stateless forward"),
        _f("send", w_send, ParamSpec(STR, name="destination"), ParamSpec(STR, optional=True, name="headers")),
        _f("setflag", w_setflag, _FLAG),
        _f("resetflag", w_resetflag, _FLAG),
        _f("isflagset", w_isflagset, _FLAG),
        _f("setbflag", w_setbflag, _BFLAG, _BIDX, aliases=("setbranchflag",)),
        _f("resetbflag", w_resetbflag, _BFLAG, _BIDX, aliases=("resetbranchflag",)),
        _f("isbflagset", w_isbflagset, _BFLAG, _BIDX, aliases=("isbranchflagset",)),
        _f("setsflag", w_setsflag, _FLAG, aliases=("setscriptflag",), doc="1.x script flags"),
        _f("resetsflag", w_resetsflag, _FLAG, aliases=("resetscriptflag",), doc="1.x script flags"),
        _f("issflagset", w_issflagset, _FLAG, aliases=("isscriptflagset",), doc="1.x script flags"),
        _f("sethost", w_sethost, ParamSpec(STR, name="host"), aliases=("rewritehost", "seth")),
        _f(
            "sethostport",
            w_sethostport,
            ParamSpec(STR, name="hostport"),
            aliases=("rewritehostport", "sethp"),
        ),
        _f("setuser", w_setuser, ParamSpec(STR, name="user"), aliases=("rewriteuser", "setu")),
        _f(
            "setuserpass",
            w_setuserpass,
            ParamSpec(STR, name="userpass"),
            aliases=("rewriteuserpass", "setup"),
        ),
        _f("setport", w_setport, ParamSpec(STR, name="port"), aliases=("rewriteport", "setp")),
        _f("seturi", w_seturi, ParamSpec(STR, name="uri"), aliases=("rewriteuri",)),
        _f("prefix", w_prefix, ParamSpec(STR, name="prefix")),
        _f("strip", w_strip, ParamSpec(INT, name="nchars")),
        _f("strip_tail", w_strip_tail, ParamSpec(INT, name="nchars")),
        _f(
            "append_branch",
            w_append_branch,
            ParamSpec(STR, optional=True, name="uri"),
            ParamSpec(STR, optional=True, name="qvalue", fixup=_q_fixup),
        ),
        _f("remove_branch", w_remove_branch, ParamSpec(INT, name="branch_idx")),
        _f(
            "pv_printf",
            w_pv_printf,
            ParamSpec(VAR, name="var"),
            ParamSpec(STR, name="format"),
            aliases=("avp_printf",),
        ),
        _f("revert_uri", w_revert_uri),
        _f("setdsturi", w_setdsturi, ParamSpec(STR, name="uri"), aliases=("setduri",)),
        _f("resetdsturi", w_resetdsturi, aliases=("resetduri",)),
        _f("isdsturiset", w_isdsturiset, aliases=("isduriset",)),
        _f("force_rport", w_force_rport, aliases=("add_rport",)),
        _f("add_local_rport", w_add_local_rport, aliases=("force_local_rport",)),
        _f(
            "force_tcp_alias",
            w_force_tcp_alias,
            ParamSpec(INT, optional=True, name="port"),
            aliases=("add_tcp_alias",),
        ),
        _f("set_advertised_address", w_set_advertised_address, ParamSpec(STR, name="address")),
        _f("set_advertised_port", w_set_advertised_port, ParamSpec(STR, name="port")),
        _f("force_send_socket", w_force_send_socket, ParamSpec(STR, name="socket", fixup=_socket_fixup)),
        _f(
            "serialize_branches",
            w_serialize_branches,
            ParamSpec(INT, name="clear"),
            ParamSpec(INT, optional=True, name="keep_order"),
        ),
        _f("next_branches", w_next_branches),
        _f("use_blacklist", None, ParamSpec(STR, name="list")),
        _f("unuse_blacklist", None, ParamSpec(STR, name="list")),
        _f(
            "check_blacklist_rule",
            None,
            ParamSpec(STR, name="rule"),
            ParamSpec(STR, name="ip"),
            ParamSpec(INT, optional=True, name="port"),
            ParamSpec(STR, optional=True, name="proto"),
            ParamSpec(STR, optional=True, name="pattern"),
        ),
        _f(
            "add_blacklist_rule",
            None,
            ParamSpec(STR, name="rule"),
            ParamSpec(STR, name="ip"),
            ParamSpec(INT, optional=True, name="port"),
            ParamSpec(STR, optional=True, name="proto"),
            ParamSpec(STR, optional=True, name="pattern"),
            ParamSpec(INT, optional=True, name="expire"),
        ),
        _f(
            "del_blacklist_rule",
            None,
            ParamSpec(STR, name="rule"),
            ParamSpec(STR, name="ip"),
            ParamSpec(INT, optional=True, name="port"),
            ParamSpec(STR, optional=True, name="proto"),
            ParamSpec(STR, optional=True, name="pattern"),
        ),
        _f(
            "cache_store",
            w_cache_store,
            ParamSpec(STR, name="engine"),
            ParamSpec(STR, name="key"),
            ParamSpec(STR, name="value"),
            ParamSpec(INT, optional=True, name="expire"),
        ),
        _f("cache_remove", w_cache_remove, ParamSpec(STR, name="engine"), ParamSpec(STR, name="key")),
        _f(
            "cache_fetch",
            w_cache_fetch,
            ParamSpec(STR, name="engine"),
            ParamSpec(STR, name="key"),
            ParamSpec(VAR, name="value"),
        ),
        _f(
            "cache_counter_fetch",
            w_cache_counter_fetch,
            ParamSpec(STR, name="engine"),
            ParamSpec(STR, name="key"),
            ParamSpec(VAR, name="value"),
        ),
        _f(
            "cache_add",
            w_cache_add,
            ParamSpec(STR, name="engine"),
            ParamSpec(STR, name="key"),
            ParamSpec(INT, name="increment"),
            ParamSpec(INT, name="expire"),
            ParamSpec(VAR, optional=True, name="new_value"),
        ),
        _f(
            "cache_sub",
            w_cache_sub,
            ParamSpec(STR, name="engine"),
            ParamSpec(STR, name="key"),
            ParamSpec(INT, name="decrement"),
            ParamSpec(INT, name="expire"),
            ParamSpec(VAR, optional=True, name="new_value"),
        ),
        _f(
            "cache_raw_query",
            w_cache_raw_query,
            ParamSpec(STR, name="engine"),
            ParamSpec(STR, name="query"),
            ParamSpec(STR, optional=True, name="avp_list"),
        ),
        _f(
            "raise_event",
            None,
            ParamSpec(STR, name="event"),
            ParamSpec(VAR, optional=True, name="attrs"),
            ParamSpec(VAR, optional=True, name="vals"),
        ),
        _f(
            "subscribe_event",
            None,
            ParamSpec(STR, name="event"),
            ParamSpec(STR, name="socket"),
            ParamSpec(INT, optional=True, name="expire"),
        ),
        _f(
            "construct_uri",
            w_construct_uri,
            ParamSpec(STR, name="proto"),
            ParamSpec(STR, optional=True, name="user"),
            ParamSpec(STR, name="domain"),
            ParamSpec(STR, optional=True, name="port"),
            ParamSpec(STR, optional=True, name="extra"),
            ParamSpec(VAR, name="result"),
        ),
        _f("get_timestamp", w_get_timestamp, ParamSpec(VAR, name="sec"), ParamSpec(VAR, name="usec")),
        _f(
            "script_trace",
            w_script_trace,
            ParamSpec(INT, optional=True, name="log_level"),
            ParamSpec(STR, optional=True, name="format"),
            ParamSpec(STR, optional=True, name="info"),
        ),
        _f("is_myself", w_is_myself, ParamSpec(STR, name="host"), ParamSpec(INT, optional=True, name="port")),
        _f(
            "sr_check_status",
            None,
            ParamSpec(STR, name="group"),
            ParamSpec(STR, optional=True, name="identifier"),
        ),
    ],
)
