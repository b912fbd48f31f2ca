"""A tiny authoritative DNS server on 127.0.0.1 for tests: answers A / CNAME / SRV / NAPTR from a table.

``FakeDNS(records)`` where records maps (name, type) to a list of values (str for A / CNAME, pysips.net.dns.SRV,
NAPTR); names listed in ``truncate`` answer over UDP with the TC bit and no records, and in full over TCP.
Every question is counted in ``asked``.
"""

from __future__ import annotations

import socket
import struct
import threading
from collections import Counter

from pysips.net.dns import NAPTR, SRV, T_A, T_CNAME, T_NAPTR, T_SRV


def _name(n: str) -> bytes:
    return b"".join(bytes([len(p)]) + p.encode() for p in n.rstrip(".").split(".") if p) + b"\0"


def _rdata(rtype: int, value: object) -> bytes:
    if rtype == T_A:
        return socket.inet_aton(str(value))
    if rtype == T_CNAME:
        return _name(str(value))
    if rtype == T_SRV:
        assert isinstance(value, SRV)
        return struct.pack("!HHH", value.priority, value.weight, value.port) + _name(value.target)
    if rtype == T_NAPTR:
        assert isinstance(value, NAPTR)
        strings = b"".join(bytes([len(x)]) + x.encode() for x in (value.flags, value.services, value.regexp))
        return struct.pack("!HH", value.order, value.preference) + strings + _name(value.replacement)
    raise ValueError(rtype)


class FakeDNS:
    def __init__(
        self, records: dict[tuple[str, int], list], ttl: int = 300, truncate: frozenset = frozenset()
    ):
        self.records = records
        self.ttl = ttl
        self.truncate = truncate
        self.asked: Counter[tuple[str, int]] = Counter()
        self.udp = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.udp.bind(("127.0.0.1", 0))
        self.port = self.udp.getsockname()[1]
        self.tcp = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        self.tcp.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.tcp.bind(("127.0.0.1", self.port))
        self.tcp.listen(4)
        self._stop = False
        self._threads = [threading.Thread(target=self._serve_udp, daemon=True),
                         threading.Thread(target=self._serve_tcp, daemon=True)]  # fmt: skip
        for t in self._threads:
            t.start()

    @property
    def server(self) -> tuple[str, int]:
        return ("127.0.0.1", self.port)

    def answer(self, query: bytes, over_tcp: bool) -> bytes:
        qid, _flags, _qd = struct.unpack("!HHH", query[:6])
        off, labels = 12, []
        while query[off]:
            n = query[off]
            labels.append(query[off + 1 : off + 1 + n].decode())
            off += 1 + n
        qtype = struct.unpack("!H", query[off + 1 : off + 3])[0]
        question = query[12 : off + 5]
        name = ".".join(labels).lower()
        self.asked[(name, qtype)] += 1
        flags = 0x8400  # response, authoritative
        answers = []
        if name in self.truncate and not over_tcp:
            flags |= 0x0200
        else:
            wanted = name
            for _ in range(4):
                alias = self.records.get((wanted, T_CNAME))
                if alias and qtype != T_CNAME:
                    answers.append((wanted, T_CNAME, alias[0]))
                    wanted = str(alias[0]).lower()
                    continue
                break
            answers += [(wanted, qtype, v) for v in self.records.get((wanted, qtype), [])]
            if not answers and not any(k[0] == name for k in self.records):
                flags |= 3  # NXDOMAIN
        head = struct.pack("!HHHHHH", qid, flags, 1, len(answers), 0, 0)
        body = b"".join(
            _name(owner) + struct.pack("!HHIH", t, 1, self.ttl, len(rd)) + rd
            for owner, t, v in answers
            for rd in [_rdata(t, v)]
        )
        return head + question + body

    def _serve_udp(self) -> None:
        self.udp.settimeout(0.2)
        while not self._stop:
            try:
                data, addr = self.udp.recvfrom(2048)
            except (TimeoutError, OSError):
                continue
            self.udp.sendto(self.answer(data, False), addr)

    def _serve_tcp(self) -> None:
        self.tcp.settimeout(0.2)
        while not self._stop:
            try:
                conn, _ = self.tcp.accept()
            except (TimeoutError, OSError):
                continue
            with conn:
                conn.settimeout(2)
                n = struct.unpack("!H", conn.recv(2))[0]
                query = conn.recv(n)
                reply = self.answer(query, True)
                conn.sendall(struct.pack("!H", len(reply)) + reply)

    def close(self) -> None:
        self._stop = True
        for t in self._threads:
            t.join(2)
        self.udp.close()
        self.tcp.close()
