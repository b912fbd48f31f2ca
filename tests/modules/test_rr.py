"""rr: Record-Route headers as written on the wire, and loose routing (RFC 3261 16.4 / 16.6 / 16.12)."""

from __future__ import annotations

import re

import pytest

from pysips.modules import rr
from tests.modules._msgs import BYE, make_ctx


@pytest.fixture(autouse=True)
def _defaults() -> None:
    rr.init({"append_fromtag": 1, "enable_double_rr": 1, "add_username": 0, "enable_full_lr": 0})


def _in_dialog(ruri: str, routes: list[str]) -> bytes:
    lines = BYE.split(b"\r\n")
    lines[0] = f"BYE {ruri} SIP/2.0".encode()
    lines = [ln for ln in lines if not ln.startswith(b"Route:")]
    for r in reversed(routes):
        lines.insert(3, f"Route: {r}".encode())
    return b"\r\n".join(lines)


def _initial(routes: list[str]) -> bytes:
    from tests.modules._msgs import INVITE

    lines = INVITE.split(b"\r\n")
    for r in reversed(routes):
        lines.insert(2, f"Route: {r}".encode())
    return b"\r\n".join(lines)


def test_record_route_default_udp_5060() -> None:
    c = make_ctx()
    assert rr.w_record_route(c) == 1
    assert b"\r\nRecord-Route: <sip:127.0.0.1;lr;ftag=1928301774>\r\n" in c.msg.to_bytes()
    assert rr.w_record_route(c) == -1  # only once per request


def test_record_route_tcp_port_and_params() -> None:
    c = make_ctx(local=("127.0.0.1", 5070), proto="tcp")
    assert rr.w_add_rr_param(c, ";before=1") == 1
    assert rr.w_record_route(c, "p=x") == 1
    assert rr.w_add_rr_param(c, "after=2") == 1
    assert c.msg.get_values("Record-Route") == [
        "<sip:127.0.0.1:5070;transport=tcp;lr;ftag=1928301774;p=x;before=1;after=2>"
    ]


def test_record_route_uses_advertised_address_and_username() -> None:
    rr.init({"add_username": 1})
    c = make_ctx()
    c.advertised_address, c.advertised_port = "203.0.113.7", "5060"
    rr.w_record_route(c)
    assert c.msg.get_header("Record-Route") == "<sip:bob@203.0.113.7:5060;lr;ftag=1928301774>"


def test_record_route_goes_on_top_of_existing_ones() -> None:
    data = _initial([]).replace(
        b"\r\nContact:", b"\r\nRecord-Route: <sip:upstream.example.com;lr>\r\nContact:", 1
    )
    c = make_ctx(data)
    rr.w_record_route(c)
    assert c.msg.get_values("Record-Route") == [
        "<sip:127.0.0.1;lr;ftag=1928301774>",
        "<sip:upstream.example.com;lr>",
    ]


def test_record_route_preset_single_and_double() -> None:
    c = make_ctx()
    assert rr.w_record_route_preset(c, "10.1.1.1:5090") == 1
    assert c.msg.get_values("Record-Route") == ["<sip:10.1.1.1:5090;ftag=1928301774;lr>"]
    c2 = make_ctx()
    assert rr.w_record_route_preset(c2, "10.1.1.1", "192.168.0.1") == 1
    assert c2.msg.get_values("Record-Route") == [
        "<sip:192.168.0.1;r2=on;ftag=1928301774;lr>",
        "<sip:10.1.1.1;r2=on;ftag=1928301774;lr>",
    ]


def test_no_fromtag_when_disabled() -> None:
    rr.init({"append_fromtag": 0})
    c = make_ctx()
    rr.w_record_route(c)
    assert c.msg.get_header("Record-Route") == "<sip:127.0.0.1;lr>"


def test_loose_route_removes_our_route_and_keeps_params() -> None:
    c = make_ctx(BYE)
    assert rr.w_loose_route(c) == 1
    assert not c.msg.has_header("Route")
    assert b"Route:" not in c.msg.to_bytes()
    assert c.du is None and str(c.msg.ruri) == "sip:alice@10.0.0.1"
    assert rr.w_check_route_param(c, re.compile("nat=yes")) == 1
    assert rr.w_check_route_param(c, "nat=no") == -1
    # the BYE comes from the callee: ftag is the caller's tag
    assert rr.w_is_direction(c, "upstream") == 1
    assert rr.w_is_direction(c, "downstream") == -1


def test_loose_route_sets_du_to_the_next_loose_hop() -> None:
    c = make_ctx(_in_dialog("sip:alice@10.0.0.1", ["<sip:127.0.0.1;lr>", "<sip:p2.example.com;lr>"]))
    assert rr.w_loose_route(c) == 1
    assert c.du == "sip:p2.example.com;lr"
    assert c.msg.get_values("Route") == ["<sip:p2.example.com;lr>"]


def test_loose_route_double_rr_removes_both_entries() -> None:
    routes = ["<sip:127.0.0.1;r2=on;lr>", "<sip:192.168.0.1;r2=on;lr>", "<sip:p2.example.com;lr>"]
    c = make_ctx(_in_dialog("sip:alice@10.0.0.1", routes))
    assert rr.w_loose_route(c) == 1
    assert c.msg.get_values("Route") == ["<sip:p2.example.com;lr>"] and c.du == "sip:p2.example.com;lr"


def test_no_route_header() -> None:
    assert rr.w_loose_route(make_ctx()) == -1


def test_preloaded_route_to_us_only_is_removed_and_returns_false() -> None:
    c = make_ctx(_initial(["<sip:127.0.0.1;lr>"]))
    assert rr.w_loose_route(c) == -1
    assert not c.msg.has_header("Route")


def test_preloaded_foreign_route_is_followed() -> None:
    c = make_ctx(_initial(["<sip:outbound.example.com;lr>"]))
    assert rr.w_loose_route(c) == 1
    assert c.du == "sip:outbound.example.com;lr"
    assert c.msg.get_values("Route") == ["<sip:outbound.example.com;lr>"]


def test_previous_hop_was_a_strict_router() -> None:
    # a strict router put our Record-Route URI in the R-URI; the remote target is the last Route
    c = make_ctx(_in_dialog("sip:127.0.0.1;ftag=abc;lr", ["<sip:p2.example.com;lr>", "<sip:alice@10.0.0.1>"]))
    assert rr.w_loose_route(c) == 1
    assert str(c.msg.ruri) == "sip:alice@10.0.0.1"
    assert c.du == "sip:p2.example.com;lr"
    assert c.msg.get_values("Route") == ["<sip:p2.example.com;lr>"]
    assert rr.w_check_route_param(c, "ftag=abc") == 1


def test_next_hop_is_a_strict_router() -> None:
    c = make_ctx(_in_dialog("sip:alice@10.0.0.1", ["<sip:127.0.0.1;lr>", "<sip:strict.example.com>"]))
    assert rr.w_loose_route(c) == 1
    assert str(c.msg.ruri) == "sip:strict.example.com"
    assert c.msg.get_values("Route") == ["<sip:alice@10.0.0.1>"]
    assert c.msg.to_bytes().startswith(b"BYE sip:strict.example.com SIP/2.0\r\n")


def test_is_direction_fixup() -> None:
    with pytest.raises(ValueError):
        rr.direction_fixup("sideways")
