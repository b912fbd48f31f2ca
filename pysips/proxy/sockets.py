"""Listening sockets as the script declares them: ``socket=`` (3.1+), ``listen=`` (<= 3.6), ``--listen``."""

from __future__ import annotations

import re
from dataclasses import dataclass

from pysips.errors import ConfigError

PROTOS = ("udp", "tcp", "tls")
# a spec without a port: TLS listens on 5061 (OpenSIPS proto_tls tls_port), the others on `default_port`
PROTO_PORTS = {"tls": 5061}
_SPEC = re.compile(
    r"""^\s*(?:(?P<proto>[a-zA-Z]+):)?
        (?P<host>\[[0-9a-fA-F:.]+\]|[^:\s\[\]]+)
        (?::(?P<port>\d+))?
        (?P<rest>.*)$""",
    re.X,
)


@dataclass(frozen=True, slots=True)
class SocketSpec:
    proto: str
    host: str
    port: int
    advertised_host: str | None = None
    advertised_port: int | None = None
    tag: str | None = None

    def __str__(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"{self.proto}:{host}:{self.port}"


def parse_socket(text: str, default_port: int = 5060) -> SocketSpec:
    """Parse ``[proto:]host[:port] [as host[:port]] [use_workers N] [tag ID] ...`` (OpenSIPS socket syntax).

    A spec without a port gets `default_port` (the ``port`` global), TLS 5061."""
    m = _SPEC.match(text.strip().strip('"'))
    if not m:
        raise ConfigError(f"bad socket definition {text!r}")
    proto = (m.group("proto") or "udp").lower()
    if proto not in PROTOS:
        raise ConfigError(f"socket {text!r}: protocol {proto!r} is not supported by pysips (udp, tcp, tls)")
    host = m.group("host").strip("[]")
    port = int(m.group("port") or PROTO_PORTS.get(proto, default_port))
    adv_host = adv_port = tag = None
    words = m.group("rest").split()
    i = 0
    while i < len(words):
        w = words[i].lower()
        if w == "as" and i + 1 < len(words):
            a = words[i + 1]
            if a.startswith("[") or a.count(":") != 1:
                adv_host = a.strip("[]")
            else:
                h, _, p = a.partition(":")
                adv_host, adv_port = h, int(p)
            i += 2
        elif w in ("use_workers", "use_children", "tag") and i + 1 < len(words):
            if w == "tag":
                tag = words[i + 1]
            i += 2
        else:
            i += 1  # anycast, reuse_port, frag...: accepted, no effect here
    return SocketSpec(proto, host, port, adv_host, adv_port, tag)
