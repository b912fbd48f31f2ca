"""Core dispatch: every datagram / stream message enters here.

A request that matches nothing runs the script's request route; a reply goes to the transaction engine (tm) or,
when no transaction knows it, is forwarded statelessly along its Via. Malformed messages get a 400 when enough of
them parsed to build one, else they are dropped and counted; the server keeps serving either way.
"""

from __future__ import annotations

import hashlib
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from pysips.errors import PysipsError, ScriptRuntimeError, SIPParseError
from pysips.net.dns import is_ip
from pysips.proxy.log import Logger
from pysips.proxy.sockets import SocketSpec
from pysips.script.context import Context
from pysips.sip.headers import Via
from pysips.sip.message import Request, Response, make_response, parse_message
from pysips.sip.uri import URI, parse_uri

DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061}


class Core:
    """Owns the listening transports, the script program and the stateful engine."""

    def __init__(
        self, program: Any, sockets: list[SocketSpec], logger: Logger, settings: dict | None = None
    ) -> None:
        self.program = program
        self.sockets = sockets
        self.log = logger
        self.settings = settings or {}
        self.transports: list[Any] = []  # bound transports, same order as sockets
        self.stats: Counter[str] = Counter()
        # $var is per process in OpenSIPS (pysips runs one); varset/shvset modparams seed them
        self.vars: dict = dict(getattr(program, "initial_vars", None) or {})
        shv = getattr(program, "shv", None)
        self.shv: dict = shv if shv is not None else {}
        self.started = time.time()
        self.advertised_address: str | None = self.settings.get("advertised_address")
        self.advertised_port: int | None = self.settings.get("advertised_port")
        self.aliases: set[str] = set(self.settings.get("aliases", ()))
        self._myself: set[tuple[str, int]] = set()
        self._myhosts: set[str] = set(self.aliases)
        self._dns: dict[str, str] = {}
        self._resolver: Any = None
        # scripts that call sleep()/usleep() run in greenlets (pysips.proxy.suspend): key -> greenlet while running
        from pysips.proxy.suspend import SLEEPING_FUNCTIONS

        self.suspending = bool(SLEEPING_FUNCTIONS & getattr(program, "called", frozenset()))
        self.running_scripts: dict[Any, Any] = {}
        self._literals: dict[str, bool] = {}
        self._dest_cache: dict[str, tuple[str, str, int]] = {}
        self._advertised: dict[int, tuple[str, int]] = {}
        self._via_prefix: dict[int, str] = {}
        self._adv_override: dict[int, tuple[str, int]] = {}  # sockets with advertised_address / "as"
        self.env: Any = None  # ProxyEnv, set by the server
        self.tm: Any = None  # the stateful engine, set by the server
        self.b2b: Any = None  # the B2BUA engine, set by the server when b2b_logic is loaded
        self.workers: Any = None  # pysips.proxy.workers.Workers when this process is one of several
        self.reply_hooks: list[tuple[str, Callable]] = []
        # fn(out, ctx, transport) for each request copy forward_stateless() sends (topology_hiding, dialog)
        self.forward_callbacks: list[Callable] = []
        self.has_onreply = program is not None and ("onreply", None) in getattr(program, "routes", {})
        self.to_tag = hashlib.md5(f"pysips-{self.started}".encode()).hexdigest()[:16]

    # ------------------------------------------------------------ sockets

    def add_transport(self, spec: SocketSpec, transport: Any) -> None:
        self.transports.append(transport)
        host, port = transport.local[0], transport.local[1]
        adv_host = spec.advertised_host or self.advertised_address or host
        adv_port = spec.advertised_port or self.advertised_port or port
        self._advertised[id(transport)] = (adv_host, adv_port)
        if (adv_host, adv_port) != (host, port):
            self._adv_override[id(transport)] = (adv_host, adv_port)
        self._via_prefix[id(transport)] = (
            f"SIP/2.0/{transport.proto.upper()} {f'[{adv_host}]' if ':' in adv_host else adv_host}:{adv_port};branch="
        )
        self._myself.add((host, port))
        self._myhosts.add(host)
        if spec.advertised_host:
            self._myself.add((spec.advertised_host, spec.advertised_port or port))
            self._myhosts.add(spec.advertised_host)
        if self.advertised_address:
            self._myhosts.add(self.advertised_address)
            self._myself.add((self.advertised_address, self.advertised_port or port))

    def is_myself(self, host: str, port: int | None = None) -> bool:
        host = host.strip("[]")
        if port is None or port == 0:
            return host in self._myhosts or any(h == host for h, _ in self._myself)
        return (host, port) in self._myself or (host in self.aliases and port in {p for _, p in self._myself})

    def pick_transport(self, proto: str, ip: str | None = None) -> Any:
        """The socket requests to `proto` leave from: the first one of that protocol (and address family)."""
        v6 = ip is not None and ":" in ip
        for t in self.transports:
            if t.proto == proto and ((":" in t.local[0]) == v6):
                return t
        for t in self.transports:
            if t.proto == proto:
                return t
        return None

    def advertised(self, transport: Any) -> tuple[str, int]:
        """Address to write in Via / Record-Route for this socket (``as`` / advertised_address)."""
        return self._advertised.get(id(transport)) or (transport.local[0], transport.local[1])

    # ------------------------------------------------------------ addressing

    def resolve_host(self, host: str) -> str:
        """Host name -> IP (numeric hosts returned as is); raises OSError (DNSError) for an unknown name."""
        host = host.strip("[]")
        ip = self._dns.get(host)
        if ip is None:
            if not is_ip(host):
                # a name: /etc/hosts, then A records, with their TTL (pysips.net.dns); not kept here
                return self.resolver.address(host)
            ip = self._dns[host] = host
        return ip

    @property
    def resolver(self) -> Any:
        """The RFC 3263 resolver (pysips.net.dns), made on first use with the script's dns_* globals."""
        if self._resolver is None:
            from pysips.net.dns import Resolver

            dns = self.settings.get("dns") or {}
            self._resolver = Resolver(
                timeout=float(dns.get("retr_time", 2)),
                attempts=int(dns.get("retr_no", 2)),
                try_naptr=bool(dns.get("try_naptr", True)),
                try_ipv6=bool(dns.get("try_ipv6", False)),
            )
        return self._resolver

    def _literal(self, host: str) -> bool:
        """Whether `host` is an IP address (cached: the same few hosts come back on every request)."""
        known = self._literals.get(host)
        if known is None:
            if len(self._literals) > 4096:
                self._literals.clear()
            known = self._literals[host] = is_ip(host)
        return known

    def uri_destination(self, uri: URI | str) -> tuple[str, str, int]:
        """(proto, ip, port) a request for `uri` goes to (RFC 3263: a host name without a port is looked up with
        NAPTR / SRV records as OpenSIPS's sip_resolvehost does; pysips.net.dns). Raises OSError when it cannot
        be resolved."""
        return self._uri_destination(uri)[0][0]

    def _uri_destination(self, uri: URI | str, limit: int = 1) -> tuple[list[tuple[str, str, int]], bool]:
        """Up to `limit` destinations for `uri` in failover order, and whether the answer is fixed (an IP
        address or an explicit port: no SRV, nothing to fail over to)."""
        if isinstance(uri, str):
            uri = parse_uri(uri)
        maddr = uri.get_param("maddr")
        host = maddr or uri.host
        t = uri.get_param("transport")
        port = uri.port
        if port is None and not self._literal(host):
            found = self.resolver.locate_all(
                host, None, t.lower() if t else None, uri.scheme == "sips", limit
            )
            return found, False
        proto = t.lower() if t else ("tls" if uri.scheme == "sips" else "udp")
        return [(proto, self.resolve_host(host), port or DEFAULT_PORTS.get(proto, 5060))], True

    def branch_destinations(self, du: str | None, uri: URI | str) -> list[tuple[str, str, int]]:
        """Where a new tm branch goes ($du, else the R-URI), then where DNS failover may move it: the other SRV
        targets / addresses of a name located through DNS; just one entry for a fixed destination."""
        if du:
            return self._dest_lookup(du, 16)
        return self._uri_destination(uri, 16)[0]

    def dest_destination(self, dest: str) -> tuple[str, str, int]:
        """A ``[proto:]host[:port]`` or SIP URI destination string -> (proto, ip, port). Cached: scripts set the
        same $du on every call."""
        return self._dest_lookup(dest, 1)[0]

    def _dest_lookup(self, dest: str, limit: int) -> list[tuple[str, str, int]]:
        hit = self._dest_cache.get(dest)
        if hit is not None:
            return [hit]
        found, fixed = self._dest_destination(dest, limit)
        # NAPTR / SRV answers have their own TTL cache and weighted choice: only fixed results are kept here
        if fixed:
            if len(self._dest_cache) > 4096:
                self._dest_cache.clear()
            self._dest_cache[dest] = found[0]
        return found

    def _dest_destination(self, dest: str, limit: int = 1) -> tuple[list[tuple[str, str, int]], bool]:
        if dest.startswith(("sip:", "sips:")):
            return self._uri_destination(dest, limit)
        head, sep, rest = dest.partition(":")
        if sep and head.lower() in ("udp", "tcp", "tls"):
            # "proto:host[:port]": a protocol without a port looks up that protocol's SRV record
            return self._uri_destination(f"sip:{rest};transport={head.lower()}", limit)
        return self._uri_destination("sip:" + dest, limit)

    def response_destination(self, via: Via, src: tuple[str, int]) -> tuple[str, int]:
        """RFC 3261 18.2.2 + RFC 3581: where a response to a request with this top Via goes (unreliable transport)."""
        rport = via.rport
        received = via.received
        if rport:
            return (received or src[0], int(rport))
        if received:
            return (received, via.port or 5060)
        maddr = via.get_param("maddr")
        if maddr:
            return (self.resolve_host(maddr), via.port or 5060)
        return (self.resolve_host(via.host), via.port or 5060)

    def make_via(self, transport: Any, branch: str) -> str:
        return self._via_prefix[id(transport)] + branch

    # ------------------------------------------------------------ entry point

    def on_message(self, data: bytes, addr: tuple, transport: Any) -> None:
        """Transport callback: one complete SIP message. Never raises."""
        try:
            msg = parse_message(data)
        except SIPParseError as e:
            self._bad_message(data, addr, transport, e)
            return
        try:
            if msg.is_request:
                self.stats["rcv_requests"] += 1
                self.on_request(msg, addr, transport)
            else:
                self.stats["rcv_replies"] += 1
                self.on_response(msg, addr, transport)
        except (PysipsError, ValueError, KeyError, IndexError, TypeError, AttributeError) as e:
            # A bug or an unexpected message shape must never stop the server: log it with the message's identity.
            self.stats["err_requests" if msg.is_request else "err_replies"] += 1
            self.log.error(f"failed to process message from {addr[0]}:{addr[1]}: {type(e).__name__}: {e}")

    def _bad_message(self, data: bytes, addr: tuple, transport: Any, err: SIPParseError) -> None:
        self.stats["bad_msg_hdr"] += 1
        self.log.warn(f"bad message from {addr[0]}:{addr[1]}: {err}")
        program = self.program
        if program is not None and ("error", None) in program.routes and not data.startswith(b"SIP/"):
            self._run_error_route(data, addr, transport, err)
            return
        reply = _error_reply(data, err.status, err.reason, self.to_tag)
        if reply is not None:
            # symmetric response routing: the message's own Via may be the broken part
            transport.send(reply, addr)
            self.stats["sent_replies"] += 1

    def _run_error_route(self, data: bytes, addr: tuple, transport: Any, err: SIPParseError) -> None:
        """error_route for a request that failed to parse: $err.* set; the script decides whether to reply."""
        try:
            msg = parse_message(_salvage(data))
        except SIPParseError:
            msg = None
        ctx = Context(msg, src=addr, proto=transport.proto, local=transport.local, env=self.env,
                      vars=self.vars, shv=self.shv, route_type="error")  # fmt: skip
        ctx.transport = transport
        ctx.err_class = 1  # parse error
        ctx.err_level = 3
        ctx.err_info = str(err)
        ctx.err_rcode = err.status
        ctx.err_rreason = err.reason
        ctx.raw_bad_request = data
        try:
            self.program.run("error", None, ctx)
        except ScriptRuntimeError as e:
            self.log.error(f"script error in error_route: {e}")

    def on_request(self, req: Request, addr: tuple, transport: Any) -> None:
        via = req.via
        # RFC 3261 18.2.1 / RFC 3581: remember where the request really came from
        if via.host.strip("[]") != addr[0]:
            via.set_param("received", addr[0])
            changed = True
        else:
            changed = False
        if via.rport == "":
            via.set_param("rport", str(addr[1]))
            if via.received is None:
                via.set_param("received", addr[0])
            changed = True
        if changed:
            _rewrite_top_via(req, via)
        b2b = self.b2b
        if b2b is not None and b2b.on_request(req, addr, transport):
            return
        tm = self.tm
        if tm is not None and tm.absorb_request(req, addr, transport):
            return
        if self.program is None:
            self.send_stateless_reply(req, addr, transport, 500, "No Script")
            return
        ctx = Context(
            req,
            src=addr,
            proto=transport.proto,
            local=transport.local,
            env=self.env,
            vars=self.vars,
            shv=self.shv,
        )
        ctx.transport = transport
        if self._adv_override:
            adv = self._adv_override.get(id(transport))
            if adv is not None:
                ctx.advertised_address, ctx.advertised_port = adv
        if self.suspending:
            # the script may sleep(): it runs in a greenlet of its own (pysips.proxy.suspend); a retransmission
            # that arrives while it sleeps has no transaction yet and would run the script a second time
            key = (req.call_id, via.branch, req.method)
            if key in self.running_scripts:
                self.stats["drop_requests"] += 1
                return
            from pysips.proxy.suspend import run_suspendable

            run_suspendable(self, lambda: self._run_request(ctx), key)
            return
        self._run_request(ctx)

    def _run_request(self, ctx: Context) -> None:
        try:
            self.program.run("request", None, ctx)
        except ScriptRuntimeError as e:
            self.log.error(f"script error: {e}")

    def add_reply_hook(self, prefix: str, fn: Callable[[str, int], Any]) -> None:
        """Replies whose top Via branch starts with `prefix` go to ``fn(branch, status)`` and nowhere else
        (requests a module sent on its own, e.g. dispatcher / drouting OPTIONS probes)."""
        self.reply_hooks.append((prefix, fn))

    def on_response(self, resp: Response, addr: tuple, transport: Any) -> None:
        if self.reply_hooks:
            branch = resp.via.branch or ""
            for prefix, fn in self.reply_hooks:
                if branch.startswith(prefix):
                    fn(branch, resp.status)
                    return
        b2b = self.b2b
        if b2b is not None and b2b.on_response(resp, addr, transport):
            return
        tm = self.tm
        if tm is not None and tm.on_response(resp, addr, transport):
            return
        # no transaction: forward along the Via (2xx retransmissions of INVITE, replies to stateless forwards)
        self.forward_response_stateless(resp, addr, transport)

    # ------------------------------------------------------------ stateless sending

    def send_stateless_reply(
        self,
        req: Request,
        addr: tuple,
        transport: Any,
        code: int,
        reason: str | None = None,
        headers: list[tuple[str, str]] | None = None,
        body: bytes = b"",
    ) -> Response:
        to_tag = None
        if code > 100 and req.to.tag is None:
            to_tag = self.to_tag
        resp = make_response(req, code, reason, to_tag=to_tag, headers=headers or [], body=body)
        self.send_response(resp, addr, transport)
        self.stats["sent_replies"] += 1
        return resp

    def send_response(self, resp: Response, addr: tuple, transport: Any) -> None:
        """Send a response to the request that came from `addr` over `transport` (same connection for TCP)."""
        if transport.proto == "udp":
            dest = self.response_destination(resp.via, addr)
        else:
            dest = addr
        transport.send(resp.to_bytes(), dest)

    def forward_response_stateless(self, resp: Response, addr: tuple, transport: Any) -> None:
        vias = resp.vias
        if len(vias) < 2:
            self.stats["drop_replies"] += 1
            return
        top = vias[0]
        if not self.is_myself(top.host, top.port or 5060):
            self.stats["drop_replies"] += 1
            return
        resp.pop_via()
        nxt = resp.via
        proto = nxt.transport.lower()
        out = self.pick_transport(proto) or transport
        if proto == "udp":
            dest = self.response_destination(nxt, (nxt.host, nxt.port or 5060))
        else:
            dest = (
                nxt.received or self.resolve_host(nxt.host),
                int(nxt.rport) if nxt.rport else nxt.port or DEFAULT_PORTS.get(proto, 5060),
            )
        out.send(resp.to_bytes(), dest)
        self.stats["fwd_replies"] += 1

    def stateless_branch(self, req: Request) -> str:
        """A branch for a stateless forward: the same for retransmissions of the same request (RFC 3261 16.11)."""
        v = req.via
        seed = f"{v.branch}|{req.call_id}|{req.cseq.number}|{req.method}|{req.ruri_raw}"
        return "z9hG4bK" + hashlib.md5(seed.encode()).hexdigest()[:20]

    def forward_stateless(self, ctx: Any, dest: str | None = None) -> int:
        """core forward(): send the request to dest / $du / $ru with our Via on top, no transaction."""
        req: Request = ctx.msg
        try:
            if dest:
                proto, ip, port = self.dest_destination(dest)
            else:
                proto, ip, port = self.uri_destination(ctx.du or req.ruri)
        except (OSError, SIPParseError) as e:
            self.log.error(f"forward: cannot resolve destination: {e}")
            return -4
        transport = self.pick_transport(proto, ip)
        if transport is None:
            self.log.error(f"forward: no socket for protocol {proto}")
            return -4
        out = req.copy()
        out.push_via(self.make_via(transport, self.stateless_branch(req)))
        for cb in self.forward_callbacks:
            cb(out, ctx, transport)
        transport.send(out.to_bytes(), (ip, port))
        self.stats["fwd_requests"] += 1
        return 1


def _rewrite_top_via(req: Request, via: Via) -> None:
    """Write a modified top Via back into the message (one value, even if the line held several)."""
    req.pop_via()
    req.push_via(str(via))


def _error_reply(data: bytes, status: int, reason: str, to_tag: str) -> bytes | None:
    """A reply to a request that failed to parse, built from its raw lines (RFC 3261 8.2.6 fields copied as text).

    None for replies, ACKs and messages without the lines a reply needs to reach and match the sender.
    """
    head = data.split(b"\r\n\r\n", 1)[0]
    lines = head.replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ").split(b"\r\n")
    first = lines[0].split(b" ")
    if len(first) != 3 or first[0].startswith(b"SIP/") or first[0] == b"ACK":
        return None
    wanted = {b"via": b"Via", b"v": b"Via", b"from": b"From", b"f": b"From", b"to": b"To", b"t": b"To",
              b"call-id": b"Call-ID", b"i": b"Call-ID", b"cseq": b"CSeq"}  # fmt: skip
    out = [f"SIP/2.0 {status} {reason}".encode()]
    seen = set()
    for line in lines[1:]:
        name, sep, value = line.partition(b":")
        canon = wanted.get(name.strip().lower())
        if not sep or canon is None:
            continue
        value = value.strip()
        if canon == b"To" and b";tag=" not in value.replace(b" ", b"").lower():
            value += b";tag=" + to_tag.encode()
        seen.add(canon)
        out.append(canon + b": " + value)
    if not {b"Via", b"From", b"To", b"Call-ID"} <= seen:
        return None
    out.append(b"Content-Length: 0")
    return b"\r\n".join(out) + b"\r\n\r\n"


def _salvage(data: bytes) -> bytes:
    """A parseable stand-in for a request that failed to parse: its request line, Via, From, To and Call-ID, and
    a CSeq rebuilt from the method (error_route reads these; replies are built from the raw lines)."""
    head = data.split(b"\r\n\r\n", 1)[0]
    lines = head.replace(b"\r\n ", b" ").replace(b"\r\n\t", b" ").split(b"\r\n")
    keep = [lines[0]]
    wanted = (b"via", b"v", b"from", b"f", b"to", b"t", b"call-id", b"i")
    for line in lines[1:]:
        if line.split(b":", 1)[0].strip().lower() in wanted:
            keep.append(line)
    keep.append(b"CSeq: 1 " + lines[0].split(b" ", 1)[0])
    return b"\r\n".join(keep) + b"\r\nContent-Length: 0\r\n\r\n"
