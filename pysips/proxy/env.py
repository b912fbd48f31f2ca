"""ProxyEnv: the services script functions get from a running server (replies, relaying, logging, timers)."""

from __future__ import annotations

import time
from typing import Any

import trio

from pysips.errors import PysipsError, ScriptRuntimeError
from pysips.script.context import Context, Env


def reply_header_pairs(ctx: Context) -> list[tuple[str, str]]:
    """append_to_reply() stores raw "Name: value\r\n" lines; replies take (name, value) pairs."""
    out = []
    for raw in getattr(ctx, "reply_headers", None) or ():
        for line in raw.replace("\r\n", "\n").split("\n"):
            name, sep, value = line.partition(":")
            if sep and name.strip():
                out.append((name.strip(), value.strip()))
    return out


class ProxyEnv(Env):
    """Env of `pysips run`: every call acts on the network through the core and tm instead of recording."""

    def __init__(self, core: Any, script: Any = None) -> None:
        super().__init__()
        self.core = core
        self.tm = core.tm
        self.log_level = self.default_log_level = core.log.log_level
        self.xlog_level = self.default_xlog_level = core.log.xlog_level
        self.script = script

    # ------------------------------------------------------------ generic

    def record(self, kind: str, **details: Any) -> None:
        # In the server nothing is kept per call (that would grow without bound); show it at debug level.
        if self.core.log.log_level >= 4:
            self.core.log.debug(f"{kind} {details}", "script")

    def log(self, ctx: Context | None, level: int, text: str) -> None:
        self.core.log.xlog(level, text)

    def is_myself(self, host: str, port: int | None = None) -> bool:
        return self.core.is_myself(host, port)

    def cachedb(self, name: str) -> Any:
        """The cache engine behind cache_*("name", ...) for engines other than "local" (cachedb_redis)."""
        from pysips.modules.cachedb_redis import get_engine

        return get_engine(self.core, name)

    # ------------------------------------------------------------ replies and forwarding

    def reply(self, ctx: Context, code: int, reason: str, stateful: bool | None) -> int:
        msg = ctx.msg
        if msg is None or not msg.is_request:
            return -1
        if msg.method == "ACK":
            return -1
        raw = getattr(ctx, "raw_bad_request", None)
        if raw is not None:
            from pysips.proxy.core import _error_reply

            data = _error_reply(raw, code, reason, self.core.to_tag)
            if data is None:
                return -1
            ctx.transport.send(data, (ctx.src_ip, ctx.src_port))
            return 1
        uas = getattr(ctx, "tm_uas", None)
        if stateful or (stateful is None and uas is not None):
            return self.tm.t_reply(ctx, code, reason)
        headers = reply_header_pairs(ctx)
        self.core.send_stateless_reply(msg, (ctx.src_ip, ctx.src_port), ctx.transport, code, reason, headers)
        return 1

    def forward(self, ctx: Context, dest: str | None) -> int:
        return self.core.forward_stateless(ctx, dest)

    def relay(self, ctx: Context, flags: Any, outbound: str | None) -> int:
        return self.tm.relay(ctx, flags, outbound)

    def t_newtran(self, ctx: Context) -> int:
        return self.tm.t_newtran(ctx)

    def t_check_trans(self, ctx: Context) -> int:
        return self.tm.t_check_trans(ctx)

    def t_reply(self, ctx: Context, code: int, reason: str) -> int:
        return self.tm.t_reply(ctx, code, reason)

    def t_reply_with_body(self, ctx: Context, code: int, reason: str, body: str) -> int:
        uas = self.tm.server_txn(ctx)
        if uas is None:
            return -1
        ctype = ctx.msg.content_type if ctx.msg is not None and ctx.msg.body else None
        headers = reply_header_pairs(ctx)
        if body and not any(n.lower() == "content-type" for n, _ in headers):
            headers.append(("Content-Type", ctype or "application/sdp"))
        return self.tm.reply_uas(uas, code, reason, headers=headers, body=body.encode() if body else b"")

    def t_replicate(self, ctx: Context, uri: str, flags: int = 0) -> int:
        return self.tm.replicate(ctx, uri)

    def t_flush_flags(self, ctx: Context) -> int:
        return 1  # branch flags are read when each branch is created

    def t_cancel_branch(self, ctx: Context, which: str | None = None) -> int:
        return self.tm.cancel_branches(ctx, which)

    def t_id(self, ctx: Context) -> str | None:
        uas = getattr(ctx, "tm_uas", None)
        return None if uas is None else f"{id(uas.txn):x}"

    def send(self, ctx: Context, dest: str, headers: str | None = None) -> int:
        """send(): the message as it is (no Via added), to dest."""
        msg = ctx.msg
        if msg is None:
            return -1
        try:
            proto, ip, port = self.core.dest_destination(dest)
        except (OSError, ValueError) as e:
            self.core.log.error(f"send: bad destination {dest}: {e}")
            return -1
        transport = self.core.pick_transport(proto, ip)
        if transport is None:
            return -1
        out = msg.copy()
        for line in (headers or "").replace("\r\n", "\n").split("\n"):
            name, sep, value = line.partition(":")
            if sep and name.strip():
                out.add_header(name.strip(), value.strip())
        transport.send(out.to_bytes(), (ip, port))
        return 1

    def sleep(self, ctx: Context, seconds: float) -> None:
        """OpenSIPS blocks its worker; pysips parks this script run (pysips.proxy.suspend) and serves the rest
        meanwhile. startup_route runs before any traffic: there it blocks, as in OpenSIPS."""
        from pysips.proxy.suspend import suspend

        if suspend(self.core, seconds):
            return
        if getattr(ctx, "route_type", None) == "startup":
            time.sleep(min(seconds, 60.0))
            return
        if not getattr(self, "_sleep_warned", False):
            self._sleep_warned = True
            self.core.log.warn(
                f"sleep()/usleep() in {getattr(ctx, 'route_type', None) or 'this'} route does not pause in pysips "
                "(only request and timer routes can be suspended): the script goes on at once",
                "cfgutils",
            )

    def t_was_cancelled(self, ctx: Context) -> int:
        uas = getattr(ctx, "tm_uas", None)
        return 1 if uas is not None and uas.cancelled else -1

    def t_local_replied(self, ctx: Context, which: str = "all") -> int:
        uas = getattr(ctx, "tm_uas", None)
        return 1 if uas is not None and uas.local_replied else -1

    def t_reply_code(self, ctx: Context) -> int | None:
        best = getattr(ctx, "tm_best", None)
        if best is not None and best.final is not None:
            return best.final.status
        msg = ctx.msg
        if msg is not None and not msg.is_request:
            return msg.status
        return None

    # ------------------------------------------------------------ routes outside SIP traffic

    def run_route(self, kind: str, name: str | None) -> int:
        program = self.core.program
        ctx = Context(None, env=self, vars=self.core.vars, shv=self.core.shv, route_type=kind)
        try:
            return program.run(kind, name, ctx)
        except (ScriptRuntimeError, PysipsError) as e:
            self.core.log.error(f"script error in {kind}_route: {e}")
            return -1

    def start_timer_routes(self, nursery: Any) -> None:
        program = self.core.program
        if program is None:
            return
        for route in getattr(program.script, "routes", ()):
            if route.kind == "timer" and route.interval:
                nursery.start_soon(self._timer_route, route.name, route.interval)

    async def _timer_route(self, name: str, interval: int) -> None:
        while True:
            await trio.sleep(interval)
            if self.core.suspending:
                from pysips.proxy.suspend import run_suspendable

                run_suspendable(self.core, lambda: self.run_route("timer", name))
            else:
                self.run_route("timer", name)
