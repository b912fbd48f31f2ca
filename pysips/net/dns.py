"""DNS for locating SIP servers (RFC 3263): NAPTR and SRV lookups, the way OpenSIPS's sip_resolvehost does them.

A small synchronous stub resolver (RFC 1035 wire format over UDP, TCP when the answer is truncated) asks the
name servers of /etc/resolv.conf (``PYSIPS_RESOLV_CONF`` names another file) for NAPTR, SRV and A / AAAA records;
names in /etc/hosts are answered from it first, as the system resolver OpenSIPS's resolvehost uses would.
Answers are cached for their TTL (negative answers for 60 s). Like OpenSIPS's resolver the
lookups block the process; the cache keeps them off the path of every request to the same domain.

``locate(host, port, proto, sips)`` follows sip_resolvehost (OpenSIPS resolve.c):
  an IP address                -> that address, default port of the protocol (5061 for TLS / sips)
  a port                       -> A record lookup only, protocol as given (else UDP, TLS for sips)
  a protocol but no port       -> SRV ``_sip._udp`` / ``_sip._tcp`` / ``_sips._tcp`` of the host
  neither (dns_try_naptr on)   -> NAPTR of the host: ``s`` records with SIP+D2U / SIP+D2T / SIPS+D2T (SIPS+D2T only
                                  for sips), ordered by order then preference; the first whose SRV resolves wins
  then                         -> SRV for UDP (TLS for sips); if none resolves, A record with the default port
SRV records are ordered by priority, and by weighted random choice within a priority (RFC 2782).
``locate_all`` gives the whole ordered list, which tm walks on DNS failover (a 503, or a timeout without any
reply, moves the branch to the next destination, unless t_relay's ``no-dns-failover`` or disable_dns_failover).
"""

from __future__ import annotations

import os
import random
import socket
import struct
import time
from collections.abc import Callable
from dataclasses import dataclass

T_A, T_CNAME, T_AAAA, T_SRV, T_NAPTR = 1, 5, 28, 33, 35
DEFAULT_PORTS = {"udp": 5060, "tcp": 5060, "tls": 5061, "ws": 80, "wss": 443}
SRV_PREFIX = {"udp": "_sip._udp.", "tcp": "_sip._tcp.", "tls": "_sips._tcp."}
NAPTR_PROTO = {"sip+d2u": "udp", "sip+d2t": "tcp", "sips+d2t": "tls"}
NEGATIVE_TTL = 60.0


class DNSError(OSError):
    """A name that cannot be resolved (no record, no answer from any server, a malformed answer)."""


@dataclass(frozen=True, slots=True)
class SRV:
    priority: int
    weight: int
    port: int
    target: str


@dataclass(frozen=True, slots=True)
class NAPTR:
    order: int
    preference: int
    flags: str
    services: str
    regexp: str
    replacement: str


# ------------------------------------------------------------------ wire format


def build_query(name: str, qtype: int, qid: int) -> bytes:
    labels = b"".join(
        bytes([len(p)]) + p for p in (x.encode("idna") for x in name.rstrip(".").split(".")) if p
    )
    return struct.pack("!HHHHHH", qid, 0x0100, 1, 0, 0, 0) + labels + b"\0" + struct.pack("!HH", qtype, 1)


def _name(data: bytes, off: int) -> tuple[str, int]:
    """A possibly compressed domain name at `off`: (name, offset after it in the record)."""
    labels: list[str] = []
    end = -1
    for _ in range(128):  # bounded: a pointer loop in a hostile answer ends here
        n = data[off]
        if n == 0:
            off += 1
            break
        if n & 0xC0 == 0xC0:
            if end < 0:
                end = off + 2
            off = ((n & 0x3F) << 8) | data[off + 1]
            continue
        labels.append(data[off + 1 : off + 1 + n].decode("ascii", "replace"))
        off += 1 + n
    else:
        raise DNSError("malformed name in answer")
    return ".".join(labels), (end if end >= 0 else off)


def parse_answer(data: bytes, qid: int) -> tuple[int, bool, list[tuple[str, int, int, object]]]:
    """(rcode, truncated, [(owner, type, ttl, value)]) of a response; values: str (A/AAAA/CNAME), SRV, NAPTR."""
    try:
        rid, flags, qd, an, _ns, _ar = struct.unpack("!HHHHHH", data[:12])
        if rid != qid or not flags & 0x8000:
            raise DNSError("answer does not match the query")
        off = 12
        for _ in range(qd):
            _, off = _name(data, off)
            off += 4
        out: list[tuple[str, int, int, object]] = []
        for _ in range(an):
            owner, off = _name(data, off)
            rtype, _cls, ttl, rdlen = struct.unpack("!HHIH", data[off : off + 10])
            off += 10
            rdata = off
            off += rdlen
            value: object
            if rtype == T_A and rdlen == 4:
                value = socket.inet_ntop(socket.AF_INET, data[rdata:off])
            elif rtype == T_AAAA and rdlen == 16:
                value = socket.inet_ntop(socket.AF_INET6, data[rdata:off])
            elif rtype == T_CNAME:
                value = _name(data, rdata)[0]
            elif rtype == T_SRV:
                pri, weight, port = struct.unpack("!HHH", data[rdata : rdata + 6])
                value = SRV(pri, weight, port, _name(data, rdata + 6)[0])
            elif rtype == T_NAPTR:
                order, pref = struct.unpack("!HH", data[rdata : rdata + 4])
                p = rdata + 4
                strings = []
                for _ in range(3):
                    n = data[p]
                    strings.append(data[p + 1 : p + 1 + n].decode("ascii", "replace"))
                    p += 1 + n
                value = NAPTR(order, pref, strings[0], strings[1], strings[2], _name(data, p)[0])
            else:
                continue
            out.append((owner.lower(), rtype, ttl, value))
        return flags & 0x000F, bool(flags & 0x0200), out
    except (struct.error, IndexError) as exc:
        raise DNSError(f"malformed answer: {exc}") from None


# ------------------------------------------------------------------ the stub resolver


def read_resolv_conf(path: str | None = None) -> list[tuple[str, int]]:
    path = path or os.environ.get("PYSIPS_RESOLV_CONF") or "/etc/resolv.conf"
    servers: list[tuple[str, int]] = []
    try:
        with open(path) as f:
            for line in f:
                words = line.split()
                if len(words) >= 2 and words[0] == "nameserver":
                    host, port = words[1], 53
                    # "nameserver 127.0.0.1:5353" / "[::1]:5353": a port is accepted here (tests, local resolvers)
                    if host.startswith("[") and "]:" in host:
                        host, port = host[1:].split("]:")[0], int(host.rsplit(":", 1)[1])
                    elif host.count(":") == 1:
                        host, p = host.split(":")
                        port = int(p)
                    servers.append((host, port))
    except OSError:
        pass
    return servers or [("127.0.0.1", 53)]


class Resolver:
    """NAPTR / SRV queries with a TTL cache; A / AAAA through ``getaddrinfo`` (the system's resolver)."""

    def __init__(
        self,
        servers: list[tuple[str, int]] | None = None,
        *,
        timeout: float = 2.0,
        attempts: int = 2,
        try_naptr: bool = True,
        try_ipv6: bool = False,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.servers = servers if servers is not None else read_resolv_conf()
        self.timeout = timeout
        self.attempts = max(1, attempts)
        self.try_naptr = try_naptr
        self.try_ipv6 = try_ipv6
        self.clock = clock
        self._cache: dict[tuple[str, int], tuple[float, list]] = {}
        self._hosts = read_hosts()
        self.queries = 0  # sent to a server (tests, statistics)

    # ---------------------------------------------------------------- records

    def query(self, name: str, qtype: int) -> list:
        """Records of `qtype` for `name` (CNAMEs followed), from the cache or the servers; [] if none."""
        key = (name.lower().rstrip("."), qtype)
        hit = self._cache.get(key)
        now = self.clock()
        if hit is not None and hit[0] > now:
            return hit[1]
        try:
            ttl, values = self._ask(key[0], qtype)
        except DNSError:
            ttl, values = NEGATIVE_TTL, []
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = (now + ttl, values)
        return values

    def _ask(self, name: str, qtype: int) -> tuple[float, list]:
        last: Exception | None = None
        for _ in range(self.attempts):
            for server in self.servers:
                try:
                    rcode, records = self._exchange(server, name, qtype)
                except (OSError, DNSError) as exc:
                    last = exc
                    continue
                if rcode not in (0, 3):  # SERVFAIL, REFUSED...: try the next server
                    last = DNSError(f"rcode {rcode}")
                    continue
                wanted = name
                for _ in range(8):  # follow a CNAME chain inside the answer
                    found = [(ttl, v) for owner, t, ttl, v in records if owner == wanted and t == qtype]
                    if found:
                        return float(min(t for t, _ in found)), [v for _, v in found]
                    alias = [v for owner, t, _ttl, v in records if owner == wanted and t == T_CNAME]
                    if not alias:
                        break
                    wanted = str(alias[0]).lower()
                return NEGATIVE_TTL, []
        raise DNSError(f"no answer for {name}: {last}")

    def _exchange(self, server: tuple[str, int], name: str, qtype: int) -> tuple[int, list]:
        qid = random.getrandbits(16)
        query = build_query(name, qtype, qid)
        family = socket.AF_INET6 if ":" in server[0] else socket.AF_INET
        self.queries += 1
        with socket.socket(family, socket.SOCK_DGRAM) as s:
            s.settimeout(self.timeout)
            s.connect(server)
            s.send(query)
            deadline = time.monotonic() + self.timeout
            while True:
                s.settimeout(max(0.001, deadline - time.monotonic()))
                data = s.recv(65535)
                try:
                    rcode, truncated, records = parse_answer(data, qid)
                    break
                except DNSError:
                    if time.monotonic() >= deadline:
                        raise
        if truncated:
            with socket.create_connection(server, timeout=self.timeout) as s:
                s.sendall(struct.pack("!H", len(query)) + query)
                head = _recv_exact(s, 2)
                data = _recv_exact(s, struct.unpack("!H", head)[0])
            rcode, _, records = parse_answer(data, qid)
        return rcode, records

    # ---------------------------------------------------------------- addresses

    def address(self, host: str) -> str:
        """The host's first address: an IP as is, /etc/hosts, then A records (AAAA too with dns_try_ipv6)."""
        return self.addresses(host)[0]

    def addresses(self, host: str) -> list[str]:
        """Every address of `host`, in the order to try them; DNSError if it has none."""
        host = host.strip("[]")
        if is_ip(host):
            return [host]
        name = host.lower().rstrip(".")
        known = self._hosts.get(name)
        if known:
            v4 = [a for a in known if ":" not in a]
            if v4 or self.try_ipv6:
                return v4 + ([a for a in known if ":" in a] if self.try_ipv6 else [])
        found = [str(a) for a in self.query(name, T_A)]
        if self.try_ipv6:
            found += [str(a) for a in self.query(name, T_AAAA)]
        if not found:
            raise DNSError(f"cannot resolve {host}")
        return found

    # ---------------------------------------------------------------- RFC 3263

    def locate(
        self, host: str, port: int | None, proto: str | None, sips: bool = False
    ) -> tuple[str, str, int]:
        """(proto, ip, port) of the server for a SIP URI's host / port / transport; DNSError if none."""
        return self.locate_all(host, port, proto, sips, limit=1)[0]

    def locate_all(
        self, host: str, port: int | None, proto: str | None, sips: bool = False, limit: int = 16
    ) -> list[tuple[str, str, int]]:
        """Every destination in the order they are to be tried: the first is ``locate``'s answer, the rest are
        what DNS failover moves on to (the next SRV target, the SRV records of the next NAPTR, the next address
        of a name). At most `limit`; DNSError if there is none."""
        host = host.strip("[]")
        if is_ip(host):
            proto = proto or ("tls" if sips else "udp")
            return [(proto, host, port or DEFAULT_PORTS.get(proto, 5060))]
        if port:
            proto = proto or ("tls" if sips else "udp")
            return [(proto, ip, port) for ip in self.addresses(host)][:limit]
        if host.lower().rstrip(".") in self._hosts:
            # a name of /etc/hosts has no SRV or NAPTR record: skip the DNS queries (and their delay)
            proto = proto or ("tls" if sips else "udp")
            return [(proto, self.address(host), DEFAULT_PORTS.get(proto, 5060))]
        out: list[tuple[str, str, int]] = []
        if proto is None and self.try_naptr:
            for naptr_proto, replacement in self._naptr(host, sips):
                out += [(naptr_proto, ip, p) for ip, p in self._srv_targets(replacement, limit - len(out))]
                if len(out) >= limit:
                    return out
            if out:
                return out
        proto = proto or ("tls" if sips else "udp")
        prefix = SRV_PREFIX.get(proto)
        if prefix is not None:
            out = [(proto, ip, p) for ip, p in self._srv_targets(prefix + host, limit)]
            if out:
                return out
        return [(proto, ip, DEFAULT_PORTS.get(proto, 5060)) for ip in self.addresses(host)][:limit]

    def _naptr(self, host: str, sips: bool) -> list[tuple[str, str]]:
        usable = []
        for r in self.query(host, T_NAPTR):
            service = r.services.lower()
            proto = NAPTR_PROTO.get(service)
            if r.flags.lower() != "s" or r.regexp or not r.replacement or proto is None:
                continue
            if sips and service != "sips+d2t":
                continue
            usable.append(((r.order << 16) + r.preference, proto, r.replacement))
        usable.sort(key=lambda u: u[0])
        return [(proto, repl) for _, proto, repl in usable]

    def _srv_targets(self, name: str, limit: int) -> list[tuple[str, int]]:
        out: list[tuple[str, int]] = []
        for rec in order_srv(self.query(name, T_SRV)):
            if rec.target in ("", "."):
                continue  # "service not available here" (RFC 2782)
            try:
                out += [(ip, rec.port) for ip in self.addresses(rec.target)]
            except DNSError:
                continue
            if len(out) >= limit:
                break
        return out[:limit]


def order_srv(records: list[SRV], rand: Callable[[], float] = random.random) -> list[SRV]:
    """RFC 2782 order: ascending priority; within one priority, repeatedly pick by weighted random choice."""
    out: list[SRV] = []
    by_priority: dict[int, list[SRV]] = {}
    for r in records:
        by_priority.setdefault(r.priority, []).append(r)
    for pri in sorted(by_priority):
        group = sorted(by_priority[pri], key=lambda r: r.weight)  # weight 0 first, as the RFC suggests
        while group:
            total = sum(r.weight for r in group)
            pick = rand() * total
            running = 0
            chosen = group[0]
            for r in group:
                running += r.weight
                if running >= pick and (r.weight or total == 0):
                    chosen = r
                    break
            out.append(chosen)
            group.remove(chosen)
    return out


def _recv_exact(s: socket.socket, n: int) -> bytes:
    buf = b""
    while len(buf) < n:
        chunk = s.recv(n - len(buf))
        if not chunk:
            raise DNSError("connection closed")
        buf += chunk
    return buf


def is_ip(host: str) -> bool:
    """Whether `host` (brackets allowed) is an IPv4 or IPv6 address literal."""
    host = host.strip("[]")
    for family in (socket.AF_INET, socket.AF_INET6):
        try:
            socket.inet_pton(family, host)
            return True
        except OSError:
            continue
    return False


def read_hosts(path: str = "/etc/hosts") -> dict[str, list[str]]:
    """name -> addresses of /etc/hosts, in file order."""
    names: dict[str, list[str]] = {}
    try:
        with open(path) as f:
            for line in f:
                words = line.split("#", 1)[0].split()
                if len(words) >= 2 and is_ip(words[0]):
                    for w in words[1:]:
                        names.setdefault(w.lower(), []).append(words[0])
    except OSError:
        pass
    return names
