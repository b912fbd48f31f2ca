"""proto_udp: the UDP transport (2.x+); sockets come from ``listen``/``socket`` lines, handled by the server."""

from __future__ import annotations

from pysips.modules import INT, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build("proto_udp", params=[ModParamSpec("udp_port", INT, 5060)])
