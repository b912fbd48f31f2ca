"""topology_hiding: the encodings (word64 / word32, Call-ID, thinfo), and whole calls through an in-process server
in both modes: dialog-less (state in the Contact ``thinfo`` parameter) and dialog-based (``did`` in the Contact,
flag C hiding the Call-ID). The leak checks look at every Via / Record-Route / Route / Contact that leaves."""

from __future__ import annotations

from typing import Any

import pytest

from pysips.modules import topology_hiding as th
from tests.modules.test_dialog import A, B, Bench, in_dialog, invite, open_bench, reply

# A proxy in front of the caller (its Record-Route must reach the callee's view only through us)
UPSTREAM_RR = "<sip:10.9.9.9;lr;up=1>"

TH_CFG = """
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
loadmodule "cfgutils.so"
%(load)s
loadmodule "topology_hiding.so"
modparam("rr", "append_fromtag", 0)
%(modparams)s
route {
    if (has_totag()) {
        if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
        if (!loose_route() && !topology_hiding_match()) { send_reply(404, "Not here"); exit; }
        $shv(seq_callid) = $ci;
        t_relay();
        exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
    %(initial)s
    record_route();
    if (!topology_hiding(%(flags)s)) { send_reply(500, "th"); exit; }
    $shv(callee_callid) = $TH_callee_callid;
    $du = "sip:127.0.0.1:7002";
    t_relay();
    exit;
}
"""


def cfg(flags: str = "", dialog: bool = False, modparams: str = "") -> str:
    return TH_CFG % {
        "load": 'loadmodule "dialog.so"' if dialog else "",
        "initial": "create_dialog();" if dialog else "",
        "flags": f'"{flags}"' if flags else "",
        "modparams": modparams,
    }


CALLER_ADDR = "127.0.0.1:7001"
CALLEE_ADDR = "127.0.0.1:7002"


def routing_headers(msg: Any) -> list[str]:
    out = []
    for name in ("Via", "Record-Route", "Route", "Contact"):
        out += msg.get_values(name)
    return out


def assert_hidden(msg: Any, addr: str) -> None:
    leaked = [h for h in routing_headers(msg) if addr in h or "10.9.9.9" in h and addr == CALLER_ADDR]
    assert leaked == [], f"{addr} leaked in {leaked}"


# ---------------------------------------------------------------- encodings


def test_word64_round_trip_and_alphabet() -> None:
    data = bytes(range(256))
    enc = th.word64encode(data)
    assert "/" not in enc and "=" not in enc
    assert th.word64decode(enc) == data
    assert th.word64encode(b"\xff\xff") == "..8-"  # '/' -> '.', '=' -> '-'
    assert th.word32decode(th.word32encode(b"hello")) == b"hello"
    assert th.word32encode(b"a") == "ME------"


def test_callid_encoding_matches_opensips_layout() -> None:
    s = th.THSettings({})
    enc = s.encode_callid("abc@host")
    assert enc.startswith("DLGCH_")
    key = b"OpenSIPS"
    expected = bytes(c ^ key[i % 8] for i, c in enumerate(b"abc@host"))
    assert th.word64decode(enc[6:]) == expected
    assert s.decode_callid(enc) == "abc@host"
    assert s.decode_callid("plain-callid") is None


def test_thinfo_round_trip_both_schemes() -> None:
    for scheme in ("base64", "base32"):
        s = th.THSettings({"th_contact_encode_scheme": scheme, "th_contact_encode_passwd": "pw"})
        enc = s.encode_info("<sip:p1;lr>,<sip:p2;lr>", "sip:bob@1.2.3.4:5070", 5, "udp:127.0.0.1:5060")
        assert ";" not in enc and ">" not in enc
        assert s.decode_info(enc, b"pw") == (
            "<sip:p1;lr>,<sip:p2;lr>",
            "sip:bob@1.2.3.4:5070",
            5,
            "udp:127.0.0.1:5060",
        )
        wrong = s.decode_info(enc, b"other")
        assert wrong is None or wrong[1] != "sip:bob@1.2.3.4:5070"


def test_flags_fixup() -> None:
    assert th.flags_fixup("UC") == th.F_KEEP_USER | th.F_HIDE_CALLID
    with pytest.raises(ValueError, match="unknown topology_hiding flag 'X'"):
        th.flags_fixup("UX")


def test_param_password_entries() -> None:
    s = th.THSettings(
        {"th_contact_encode_param_password": ["newp:secret2", "oldp:secret1"], "th_use_param": "newp"}
    )
    assert s.encode_entry == ("newp", b"secret2")
    assert [n for n, _ in s.decode_entries] == ["newp", "oldp"]


# ---------------------------------------------------------------- dialog-less


async def dialogless_call(b: Bench, flags: str = "") -> tuple[Any, Any]:
    b.feed(invite(f"Record-Route: {UPSTREAM_RR}\n"), A)
    inv = b.take_one(B, "INVITE")
    b.take(A)
    b.feed(reply(inv, 180, "Ringing"), B)
    ring = b.take_one(A, 180)
    b.feed(reply(inv, 200, "OK"), B)
    ok = b.take_one(A, 200)
    return inv, ok, ring


async def test_dialogless_initial_request_and_replies(autojump_clock: Any) -> None:
    async with open_bench(cfg()) as b:
        inv, ok, ring = await dialogless_call(b)
        # towards the callee: our Via only, no Record-Route, our Contact with the encoded state
        assert len(inv.vias) == 1 and inv.via.host == "127.0.0.1" and inv.via.port == 5060
        assert inv.get_values("Record-Route") == [] and inv.get_values("Route") == []
        (ct,) = inv.get_values("Contact")
        assert ct.startswith("<sip:127.0.0.1;thinfo=")
        assert_hidden(inv, CALLER_ADDR)
        # towards the caller: its own Vias back, its side's Record-Route only, our Contact
        for r in (ring, ok):
            assert r.get_values("Via") == ["SIP/2.0/UDP 127.0.0.1:7001;branch=z9hG4bK-inv1"]
            assert r.get_values("Record-Route") == [UPSTREAM_RR]
            assert r.get_values("Contact")[0].startswith("<sip:127.0.0.1;thinfo=")
            assert_hidden(r, CALLEE_ADDR)


async def test_dialogless_in_dialog_requests_both_ways(autojump_clock: Any) -> None:
    async with open_bench(cfg()) as b:
        inv, ok, _ = await dialogless_call(b)
        ok_ct = ok.contacts[0].uri
        inv_ct = inv.contacts[0].uri
        # ACK from the caller (through its proxy: Route to it is consumed before us in real life; here direct)
        b.feed(in_dialog("ACK", 1, ruri=str(ok_ct), branch="z9hG4bK-ack"), A)
        ack = b.take_one(B, "ACK")
        assert ack.ruri_raw == "sip:bob@127.0.0.1:7002" and len(ack.vias) == 1
        assert ack.get_values("Route") == []
        assert_hidden(ack, CALLER_ADDR)
        # BYE from the callee to the Contact we gave it: routed to the caller through its proxy
        b.feed(in_dialog("BYE", 1, from_b=True, ruri=str(inv_ct), branch="z9hG4bK-bye"), B)
        bye = b.take_one(("10.9.9.9", 5060), "BYE")
        assert bye.ruri_raw == "sip:alice@127.0.0.1:7001"
        assert bye.get_values("Route") == [UPSTREAM_RR]
        assert len(bye.vias) == 1
        assert_hidden(bye, CALLEE_ADDR)
        # its 200 comes back with the callee's Via restored
        b.feed(reply(bye, 200, "OK"), ("10.9.9.9", 5060))
        ok_bye = b.take_one(B, 200)
        assert ok_bye.get_values("Via") == ["SIP/2.0/UDP 127.0.0.1:7002;branch=z9hG4bK-bye"]


async def test_dialogless_keeps_contact_user_with_U(autojump_clock: Any) -> None:
    async with open_bench(cfg("U")) as b:
        inv, ok, _ = await dialogless_call(b)
        assert inv.get_values("Contact")[0].startswith("<sip:alice@127.0.0.1;thinfo=")
        assert ok.get_values("Contact")[0].startswith("<sip:bob@127.0.0.1;thinfo=")


async def test_bad_thinfo_is_not_matched(autojump_clock: Any) -> None:
    async with open_bench(cfg()) as b:
        b.feed(in_dialog("BYE", 2, ruri="sip:127.0.0.1;thinfo=AAAA", branch="z9hG4bK-bad"), A)
        assert b.take_one(A, 404).status == 404


# ---------------------------------------------------------------- dialog-based


async def test_dialog_mode_with_callid_hiding(autojump_clock: Any) -> None:
    async with open_bench(cfg("C", dialog=True)) as b:
        b.feed(invite(f"Record-Route: {UPSTREAM_RR}\n"), A)
        inv = b.take_one(B, "INVITE")
        (dlg,) = b.core.modules_state["dialog"].by_did.values()
        hidden = b.shv["callee_callid"]
        assert inv.call_id == hidden and hidden.startswith("DLGCH_") and "call-1" not in hidden
        assert inv.get_values("Contact") == [f"<sip:127.0.0.1;did={dlg.did}>"]
        assert len(inv.vias) == 1 and inv.get_values("Record-Route") == []
        assert_hidden(inv, CALLER_ADDR)
        b.take(A)
        b.feed(reply(inv, 200, "OK"), B)
        ok = b.take_one(A, 200)
        assert ok.call_id == "call-1@a"
        assert ok.get_values("Contact") == [f"<sip:127.0.0.1;did={dlg.did}>"]
        assert ok.get_values("Record-Route") == [UPSTREAM_RR]
        assert_hidden(ok, CALLEE_ADDR)
        # caller's ACK to our Contact: to the callee with the callee's Call-ID
        b.feed(in_dialog("ACK", 1, ruri=f"sip:127.0.0.1;did={dlg.did}", branch="z9hG4bK-ack"), A)
        ack = b.take_one(B, "ACK")
        assert ack.call_id == hidden and ack.ruri_raw == "sip:bob@127.0.0.1:7002" and len(ack.vias) == 1
        assert dlg.state == 4
        # callee's BYE with the hidden Call-ID: the caller sees its own Call-ID, the script too
        b.feed(
            in_dialog(
                "BYE", 1, from_b=True, ruri=f"sip:127.0.0.1;did={dlg.did}", callid=hidden, branch="z9hG4bK-b"
            ),
            B,
        )
        bye = b.take_one(("10.9.9.9", 5060), "BYE")
        assert bye.call_id == "call-1@a" and bye.get_values("Route") == [UPSTREAM_RR]
        assert bye.ruri_raw == "sip:alice@127.0.0.1:7001"
        assert_hidden(bye, CALLEE_ADDR)
        assert dlg.state == 5
        b.feed(reply(bye, 200, "OK"), ("10.9.9.9", 5060))
        ok_bye = b.take_one(B, 200)
        assert ok_bye.call_id == hidden and len(ok_bye.vias) == 1


async def test_dialog_mode_did_in_user(autojump_clock: Any) -> None:
    async with open_bench(cfg("D", dialog=True)) as b:
        b.feed(invite(), A)
        inv = b.take_one(B, "INVITE")
        (dlg,) = b.core.modules_state["dialog"].by_did.values()
        assert inv.get_values("Contact") == [f"<sip:{dlg.did}@127.0.0.1>"]
        assert inv.call_id == "call-1@a"  # no C: the Call-ID is kept
        b.feed(reply(inv, 200, "OK"), B)
        b.take(A)
        b.feed(in_dialog("BYE", 2, ruri=f"sip:{dlg.did}@127.0.0.1", branch="z9hG4bK-b2"), A)
        bye = b.take_one(B, "BYE")
        assert bye.ruri_raw == "sip:bob@127.0.0.1:7002"


async def test_force_dialog_creates_the_dialog(autojump_clock: Any) -> None:
    text = (
        cfg(modparams='modparam("topology_hiding", "force_dialog", 1)')
        .replace("%(load)s", "")
        .replace('loadmodule "topology_hiding.so"', 'loadmodule "dialog.so"\nloadmodule "topology_hiding.so"')
    )
    async with open_bench(text) as b:
        b.feed(invite(), A)
        inv = b.take_one(B, "INVITE")
        (dlg,) = b.core.modules_state["dialog"].by_did.values()
        assert inv.get_values("Contact") == [f"<sip:127.0.0.1;did={dlg.did}>"]


async def test_serial_fork_from_failure_route_is_hidden_too(autojump_clock: Any) -> None:
    text = cfg().replace("t_relay();\n    exit;\n}", 't_on_failure("next");\n    t_relay();\n    exit;\n}')
    text += 'failure_route[next] { $du = "sip:127.0.0.1:7003"; t_relay(); }\n'
    async with open_bench(text) as b:
        b.feed(invite(), A)
        first = b.take_one(B, "INVITE")
        b.take(A)
        b.feed(reply(first, 486, "Busy Here"), B)
        second = b.take_one(("127.0.0.1", 7003), "INVITE")
        assert len(second.vias) == 1 and second.get_values("Record-Route") == []
        assert second.get_values("Contact")[0].startswith("<sip:127.0.0.1;thinfo=")
        assert_hidden(second, CALLER_ADDR)
