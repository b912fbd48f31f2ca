"""RFC 3263 server location (pysips.net.dns) against a fake DNS server on 127.0.0.1."""

from __future__ import annotations

import pytest

from pysips.net.dns import NAPTR, SRV, T_A, T_CNAME, T_NAPTR, T_SRV, DNSError, Resolver, order_srv
from tests.net.fake_dns import FakeDNS

RECORDS = {
    # NAPTR: TCP preferred by order, then UDP; a SIPS entry; an entry with a regexp (ignored)
    ("naptr.test", T_NAPTR): [
        NAPTR(20, 10, "s", "SIP+D2U", "", "_sip._udp.naptr.test"),
        NAPTR(10, 10, "s", "SIP+D2T", "", "_sip._tcp.naptr.test"),
        NAPTR(5, 10, "u", "E2U+sip", "!^.*$!sip:x@y!", ""),
        NAPTR(30, 10, "s", "SIPS+D2T", "", "_sips._tcp.naptr.test"),
    ],
    ("_sip._tcp.naptr.test", T_SRV): [SRV(0, 0, 5072, "127.0.0.3")],
    ("_sip._udp.naptr.test", T_SRV): [SRV(0, 0, 5071, "127.0.0.2")],
    ("_sips._tcp.naptr.test", T_SRV): [SRV(0, 0, 5073, "127.0.0.4")],
    # SRV only: priority 10 before 20; a "." target means no service there
    ("_sip._udp.srv.test", T_SRV): [
        SRV(20, 0, 5090, "127.0.0.9"),
        SRV(10, 0, 0, "."),
        SRV(10, 5, 5080, "127.0.0.8"),
    ],
    ("srv.test", T_A): ["127.0.0.7"],
    ("alias.test", T_CNAME): ["srv.test"],
    ("_sip._udp.alias.test", T_CNAME): ["_sip._udp.srv.test"],
    ("_sip._udp.big.test", T_SRV): [SRV(0, 0, 5099, "127.0.0.5")],
}


@pytest.fixture
def dns():
    server = FakeDNS(RECORDS, ttl=300, truncate=frozenset({"_sip._udp.big.test"}))
    yield server
    server.close()


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


def resolver(dns: FakeDNS, **kw) -> Resolver:
    return Resolver([dns.server], timeout=1.0, attempts=1, **kw)


def test_ip_and_explicit_port_need_no_dns(dns) -> None:
    r = resolver(dns)
    assert r.locate("127.0.0.1", None, None) == ("udp", "127.0.0.1", 5060)
    assert r.locate("127.0.0.1", None, None, sips=True) == ("tls", "127.0.0.1", 5061)
    assert r.locate("[::1]", 5070, "tcp") == ("tcp", "::1", 5070)
    assert r.locate("localhost", 5080, None) == ("udp", "127.0.0.1", 5080)  # A record only (system resolver)
    assert r.locate("localhost", None, None) == ("udp", "127.0.0.1", 5060)  # /etc/hosts: no SRV asked
    assert r.queries == 0 and not dns.asked


def test_naptr_picks_the_lowest_order_usable_service(dns) -> None:
    r = resolver(dns)
    assert r.locate("naptr.test", None, None) == ("tcp", "127.0.0.3", 5072)
    assert dns.asked[("naptr.test", T_NAPTR)] == 1
    # sips: only SIPS+D2T entries count
    assert r.locate("naptr.test", None, None, sips=True) == ("tls", "127.0.0.4", 5073)


def test_a_given_protocol_skips_naptr_and_asks_its_srv(dns) -> None:
    r = resolver(dns)
    assert r.locate("naptr.test", None, "udp") == ("udp", "127.0.0.2", 5071)
    assert dns.asked[("naptr.test", T_NAPTR)] == 0


def test_dns_try_naptr_off_goes_straight_to_srv(dns) -> None:
    r = resolver(dns, try_naptr=False)
    assert r.locate("naptr.test", None, None) == ("udp", "127.0.0.2", 5071)
    assert dns.asked[("naptr.test", T_NAPTR)] == 0


def test_srv_priority_and_dot_target(dns) -> None:
    r = resolver(dns)
    # no NAPTR for srv.test -> _sip._udp SRV; priority 10 first, its "." entry skipped
    assert r.locate("srv.test", None, None) == ("udp", "127.0.0.8", 5080)


def test_no_srv_falls_back_to_the_a_record_and_default_port(dns) -> None:
    r = resolver(dns)
    assert r.locate("srv.test", None, "tcp") == ("tcp", "127.0.0.7", 5060)
    assert dns.asked[("_sip._tcp.srv.test", T_SRV)] == 1 and dns.asked[("srv.test", T_A)] == 1
    with pytest.raises(DNSError):
        r.locate("nothing.test", None, None)


def test_cname_is_followed(dns) -> None:
    r = resolver(dns)
    assert r.locate("alias.test", None, "udp") == ("udp", "127.0.0.8", 5080)


def test_answers_are_cached_for_their_ttl(dns) -> None:
    clock = Clock()
    r = resolver(dns, clock=clock)
    r.locate("naptr.test", None, "udp")
    r.locate("naptr.test", None, "udp")
    assert dns.asked[("_sip._udp.naptr.test", T_SRV)] == 1
    clock.now += 301
    r.locate("naptr.test", None, "udp")
    assert dns.asked[("_sip._udp.naptr.test", T_SRV)] == 2
    # a name without records is cached too (negative answer)
    r.query("none.test", T_SRV)
    r.query("none.test", T_SRV)
    assert dns.asked[("none.test", T_SRV)] == 1


def test_truncated_answer_is_asked_again_over_tcp(dns) -> None:
    r = resolver(dns)
    assert r.query("_sip._udp.big.test", T_SRV) == [SRV(0, 0, 5099, "127.0.0.5")]


def test_unreachable_server_gives_no_records_within_the_timeout() -> None:
    import socket
    import time

    s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    s.bind(("127.0.0.1", 0))  # bound, never answers
    try:
        r = Resolver([s.getsockname()], timeout=0.2, attempts=1)
        t0 = time.monotonic()
        assert r.query("x.test", T_SRV) == []
        assert time.monotonic() - t0 < 1.0
    finally:
        s.close()


def test_srv_weighted_order() -> None:
    recs = [SRV(1, 0, 1, "a"), SRV(1, 10, 2, "b"), SRV(1, 30, 3, "c"), SRV(0, 5, 4, "first")]
    assert order_srv(recs, rand=lambda: 0.0)[0].target == "first"
    # with the random draw at the top, the heaviest entry of priority 1 comes first
    assert [r.target for r in order_srv(recs, rand=lambda: 0.999)] == ["first", "c", "b", "a"]
    counts = {"b": 0, "c": 0}
    import random

    rng = random.Random(7)
    for _ in range(2000):
        counts[order_srv(recs[1:3], rand=rng.random)[0].target] += 1
    assert 0.65 < counts["c"] / 2000 < 0.85  # weight 30 of 40
