"""pysips.net: trio transports (UDP, TCP, TLS) and the timer heap that drives the sans-IO SIP layer."""

from __future__ import annotations

from pysips.net.tcp import TCPConnection, TCPTransport
from pysips.net.timers import SansIOTimer, TimerHandle, TimerHeap, drive_sansio
from pysips.net.tls import TLSTransport
from pysips.net.udp import UDPTransport

__all__ = [
    "SansIOTimer",
    "TCPConnection",
    "TCPTransport",
    "TLSTransport",
    "TimerHandle",
    "TimerHeap",
    "UDPTransport",
    "drive_sansio",
]
