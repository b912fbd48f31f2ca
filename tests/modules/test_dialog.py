"""dialog: create_dialog and the dialog states through a whole call, matching by did and by SIP elements,
lifetimes with BYE on timeout, PRACK (automatic and dlg_send_sequential), CSeq renumbering, profiles, values,
PVs and the MI commands.

The calls run through a real Core + TM + compiled script with a fake UDP socket that records what is sent
(``Bench``); trio's autojump clock makes the lifetimes instant. ``test_topology_hiding`` reuses the bench.
"""

from __future__ import annotations

from contextlib import asynccontextmanager
from typing import Any

import pytest
import trio

from pysips.errors import MIError, ScriptRuntimeError
from pysips.modules import dialog
from pysips.net.timers import TimerHeap
from pysips.proxy.core import Core
from pysips.proxy.env import ProxyEnv
from pysips.proxy.log import Logger
from pysips.proxy.sockets import parse_socket
from pysips.proxy.tm import TM
from pysips.script.compiler import compile_script
from pysips.script.context import Context, Env
from pysips.script.parser import parse_text
from pysips.server import start_module_services
from pysips.sip.message import parse_message

US = ("127.0.0.1", 5060)
A = ("127.0.0.1", 7001)  # caller
B = ("127.0.0.1", 7002)  # callee


class FakeTransport:
    proto = "udp"

    def __init__(self, local: tuple[str, int] = US) -> None:
        self.local = local
        self.sent: list[tuple[Any, tuple]] = []

    def send(self, data: bytes, addr: tuple) -> bool:
        self.sent.append((parse_message(data), addr))
        return True


class Bench:
    """One pysips server in-process: feed() datagrams, take() what it sent."""

    def __init__(self, core: Core, transport: FakeTransport) -> None:
        self.core = core
        self.transport = transport

    def feed(self, data: bytes | str, src: tuple) -> None:
        if isinstance(data, str):
            data = data.replace("\n", "\r\n").encode()
        self.core.on_message(data, src, self.transport)

    def take(self, to: tuple | None = None) -> list[Any]:
        out, keep = [], []
        for m, addr in self.transport.sent:
            (out if to is None or addr == to else keep).append((m, addr))
        self.transport.sent = keep
        return [m for m, _ in out]

    def take_one(self, to: tuple, what: str | int) -> Any:
        msgs = self.take(to)
        match = [m for m in msgs if (m.method if m.is_request else m.status) == what]
        assert len(match) == 1, f"expected one {what} to {to}, got {[str(m.to_bytes()[:40]) for m in msgs]}"
        return match[0]

    @property
    def dialogs(self) -> dialog.DialogState:
        return self.core.modules_state["dialog"]

    @property
    def shv(self) -> dict:
        return self.core.shv


@asynccontextmanager
async def open_bench(cfg: str):  # noqa: ANN201 - an async context manager yielding a Bench
    script, errors = parse_text(cfg)
    assert not [e for e in errors if e.severity == "error"], [e.format() for e in errors]
    program, cerrors = compile_script(script)
    assert not [e for e in cerrors if e.severity == "error"], [e.format() for e in cerrors]
    spec = parse_socket(f"udp:{US[0]}:{US[1]}")
    core = Core(program, [spec], Logger(1), {})
    core.timers = TimerHeap()
    core.tm = TM(core, core.timers, script)
    core.env = ProxyEnv(core, script)
    if hasattr(program, "configure_env"):
        program.configure_env(core.env)
    transport = FakeTransport()
    core.add_transport(spec, transport)
    async with trio.open_nursery() as nursery:
        await nursery.start(core.timers.serve)
        core.tm.start(nursery)
        await start_module_services(nursery, script, core, program)
        yield Bench(core, transport)
        nursery.cancel_scope.cancel()


PROXY_CFG = """
loadmodule "tm.so"
loadmodule "sl.so"
loadmodule "rr.so"
loadmodule "sipmsgops.so"
loadmodule "signaling.so"
loadmodule "cfgutils.so"
loadmodule "dialog.so"
modparam("rr", "append_fromtag", 0)
modparam("dialog", "profiles_with_value", "caller")
modparam("dialog", "profiles_no_value", "calls")
modparam("dialog", "default_timeout", 60)
%(modparams)s
route {
    if (has_totag()) {
        if (is_method("ACK") && t_check_trans()) { t_relay(); exit; }
        if (!loose_route() && !match_dialog()) { send_reply(404, "Not here"); exit; }
        $shv(seq_status) = $DLG_status;
        $shv(seq_dir) = $DLG_dir;
        $shv(seq_val) = $dlg_val(who);
        $shv(seq_did) = $DLG_did;
        $shv(seq_lifetime) = $DLG_lifetime;
        t_relay();
        exit;
    }
    if (is_method("CANCEL")) { if (t_check_trans()) t_relay(); exit; }
    %(initial)s
    if (!record_route()) { send_reply(500, "rr"); exit; }
    $shv(init_status) = $DLG_status;
    $dlg_val(who) = "alice";
    set_dlg_profile("calls");
    set_dlg_profile("caller", "$fU");
    get_profile_size("calls", , $shv(calls));
    $du = "sip:127.0.0.1:7002";
    t_on_reply("r");
    if (!t_relay()) send_reply(500, "relay");
    exit;
}
onreply_route[r] {
    $shv(reply_status) = $DLG_status;
    $shv(reply_count) = $DLG_count;
    %(onreply)s
}
"""


def cfg(initial: str = "create_dialog();", modparams: str = "", onreply: str = "") -> str:
    return PROXY_CFG % {"initial": initial, "modparams": modparams, "onreply": onreply}


def invite(extra: str = "", callid: str = "call-1@a") -> str:
    return (
        "INVITE sip:bob@127.0.0.1:7002 SIP/2.0\n"
        "Via: SIP/2.0/UDP 127.0.0.1:7001;branch=z9hG4bK-inv1\n"
        "Max-Forwards: 70\n"
        "From: <sip:alice@127.0.0.1:7001>;tag=atag\n"
        "To: <sip:bob@127.0.0.1:7002>\n"
        f"Call-ID: {callid}\n"
        "CSeq: 1 INVITE\n"
        "Contact: <sip:alice@127.0.0.1:7001>\n"
        f"{extra}"
        "Content-Length: 0\n\n"
    )


def reply(req: Any, status: int, reason: str, extra: str = "", totag: str = "btag") -> str:
    """B's reply to a request it received (all Vias, RR copied)."""
    lines = [f"SIP/2.0 {status} {reason}"]
    lines += [f"Via: {v}" for v in req.get_values("Via")]
    lines += [f"Record-Route: {v}" for v in req.get_values("Record-Route")]
    lines.append(f"From: {req.get_header('From')}")
    to = req.get_header("To")
    lines.append(f"To: {to}" if ";tag=" in to or status == 100 else f"To: {to};tag={totag}")
    lines.append(f"Call-ID: {req.call_id}")
    lines.append(f"CSeq: {req.get_header('CSeq')}")
    if status > 100:
        lines.append("Contact: <sip:bob@127.0.0.1:7002>")
    return "\n".join(lines) + "\n" + extra + "Content-Length: 0\n\n"


def answer(req: Any, status: int = 200, reason: str = "OK") -> str:
    """A reply to a request pysips generated itself (one Via)."""
    return reply(req, status, reason)


def in_dialog(method: str, cseq: int, *, from_b: bool = False, routes: list[str] = (), ruri: str | None = None,
              branch: str = "z9hG4bK-x", callid: str = "call-1@a", extra: str = "") -> str:  # fmt: skip
    if from_b:
        ruri = ruri or "sip:alice@127.0.0.1:7001"
        via = f"SIP/2.0/UDP 127.0.0.1:7002;branch={branch}"
        fr, to = "<sip:bob@127.0.0.1:7002>;tag=btag", "<sip:alice@127.0.0.1:7001>;tag=atag"
    else:
        ruri = ruri or "sip:bob@127.0.0.1:7002"
        via = f"SIP/2.0/UDP 127.0.0.1:7001;branch={branch}"
        fr, to = "<sip:alice@127.0.0.1:7001>;tag=atag", "<sip:bob@127.0.0.1:7002>;tag=btag"
    lines = [f"{method} {ruri} SIP/2.0", f"Via: {via}", "Max-Forwards: 70"]
    lines += [f"Route: {r}" for r in routes]
    lines += [f"From: {fr}", f"To: {to}", f"Call-ID: {callid}", f"CSeq: {cseq} {method}"]
    return "\n".join(lines) + "\n" + extra + "Content-Length: 0\n\n"


async def establish(b: Bench, extra: str = "", prov: str = "") -> tuple[Any, Any]:
    """INVITE A->B, 180, 200, ACK; returns (INVITE as B got it, 200 as A got it)."""
    b.feed(invite(extra), A)
    inv = b.take_one(B, "INVITE")
    b.take(A)  # 100
    b.feed(reply(inv, 180, "Ringing", prov), B)
    b.take(A)
    b.feed(reply(inv, 200, "OK"), B)
    ok = b.take_one(A, 200)
    routes = list(reversed(ok.get_values("Record-Route")))
    b.feed(in_dialog("ACK", 1, routes=routes, branch="z9hG4bK-ack"), A)
    b.take_one(B, "ACK")
    return inv, ok


# ---------------------------------------------------------------- unit level


def test_create_flags_fixup() -> None:
    assert dialog.create_flags_fixup("bye-on-timeout, auto-prack") == frozenset({"B", "A"})
    assert dialog.create_flags_fixup("options-ping-caller,options-ping-callee") == frozenset({"P", "p"})
    assert dialog.create_flags_fixup("Bp") == frozenset({"B", "p"})  # 1.x/2.x letters
    assert dialog.create_flags_fixup("") == frozenset()
    with pytest.raises(ValueError, match="unknown create_dialog flag 'bye-now'"):
        dialog.create_flags_fixup("bye-now,auto-prack")


def test_did_is_reverse_hex_like_opensips() -> None:
    d = dialog.Dialog(0x1A2, 0x3F, "c", "f", "t")
    assert d.did == "2a1.f3"
    assert dialog._rev_hex(0) == "0"
    assert dialog._parse_rev_hex("2a1") == 0x1A2


def test_dlg_val_write_without_dialog_fails_the_assignment() -> None:
    ctx = Context(parse_message(invite().replace("\n", "\r\n").encode()), env=Env())
    with pytest.raises(ScriptRuntimeError, match="no dialog"):
        dialog._set_dlg_val(ctx, "x", "=", "1")
    assert dialog._pv_status(ctx) is None and dialog._pv_dlg_val(ctx, "x") is None


def test_create_dialog_refuses_in_dialog_requests() -> None:
    ctx = Context(parse_message(in_dialog("BYE", 2).replace("\n", "\r\n").encode()), env=Env())
    assert dialog.w_create_dialog(ctx) == -1
    assert dialog.w_match_dialog(ctx) == -1


# ---------------------------------------------------------------- whole calls


async def test_call_states_values_profiles_and_bye(autojump_clock: Any) -> None:
    async with open_bench(cfg()) as b:
        b.feed(invite(), A)
        inv = b.take_one(B, "INVITE")
        st = b.dialogs
        (dlg,) = st.by_did.values()
        assert inv.get_values("Record-Route") == [f"<sip:127.0.0.1;lr;did={dlg.did}>"]
        assert dlg.state == dialog.UNCONFIRMED and b.shv["init_status"] == 1
        assert b.shv["calls"] == 1
        b.feed(reply(inv, 180, "Ringing"), B)
        assert b.take_one(A, 180).status == 180
        assert dlg.state == dialog.EARLY and b.shv["reply_status"] == 1  # onreply runs before the state moves
        b.feed(reply(inv, 200, "OK"), B)
        ok = b.take_one(A, 200)
        assert dlg.state == dialog.CONFIRMED_NA
        assert dlg.callee.tag == "btag" and dlg.callee.contact == "sip:bob@127.0.0.1:7002"
        # the ACK goes out statelessly; the forward hook still confirms the dialog
        routes = list(reversed(ok.get_values("Record-Route")))
        b.feed(in_dialog("ACK", 1, routes=routes, branch="z9hG4bK-ack"), A)
        b.take_one(B, "ACK")
        assert dlg.state == dialog.CONFIRMED
        assert st.profile_size("caller", "alice") == 1 and st.profile_size("calls", None) == 1
        # BYE from the callee: matched through the did Route parameter, direction upstream
        b.feed(in_dialog("BYE", 1, from_b=True, routes=routes[::-1], branch="z9hG4bK-bye"), B)
        bye = b.take_one(A, "BYE")
        assert bye.ruri_raw == "sip:alice@127.0.0.1:7001"
        # as in OpenSIPS the BYE moves the dialog to "deleted" when it is matched, before the script goes on
        assert b.shv["seq_status"] == 5 and b.shv["seq_dir"] == "upstream" and b.shv["seq_val"] == "alice"
        assert b.shv["seq_did"] == dlg.did and b.shv["reply_count"] == 1
        assert isinstance(b.shv["seq_lifetime"], int) and 0 <= b.shv["seq_lifetime"] <= 2
        assert dlg.state == dialog.DELETED and dlg.end_reason == "Upstream BYE"
        assert st.by_did == {} and st.profile_size("calls", None) == 0


async def test_rejected_call_deletes_the_dialog(autojump_clock: Any) -> None:
    async with open_bench(cfg()) as b:
        b.feed(invite(), A)
        inv = b.take_one(B, "INVITE")
        (dlg,) = b.dialogs.by_did.values()
        b.feed(reply(inv, 486, "Busy Here"), B)
        assert b.take_one(A, 486).status == 486
        assert dlg.state == dialog.DELETED and dlg.end_reason == "Rejected"
        assert b.dialogs.by_did == {} and b.dialogs.profile_size("calls", None) == 0


async def test_sip_matching_without_route(autojump_clock: Any) -> None:
    """dlg_match_mode DID_NONE: no did in Record-Route; a Route-less BYE is matched by Call-ID and tags."""
    async with open_bench(cfg(modparams='modparam("dialog", "dlg_match_mode", 2)')) as b:
        inv, ok = await establish(b)
        assert "did=" not in inv.get_values("Record-Route")[0]
        b.feed(in_dialog("BYE", 2, branch="z9hG4bK-bye2"), A)
        bye = b.take_one(B, "BYE")
        assert bye.ruri_raw == "sip:bob@127.0.0.1:7002"
        assert b.shv["seq_dir"] == "downstream" and b.shv["seq_status"] == 5
        assert b.dialogs.by_did == {}
        # a BYE of an unknown call is not matched: the script answers 404
        b.feed(in_dialog("BYE", 3, branch="z9hG4bK-bye3", callid="other@a"), A)
        assert b.take_one(A, 404).status == 404


async def test_bye_on_timeout_reaches_both_sides(autojump_clock: Any) -> None:
    async with open_bench(cfg(initial='create_dialog("bye-on-timeout"); $DLG_timeout = 5;')) as b:
        await establish(b)
        (dlg,) = b.dialogs.by_did.values()
        assert dlg.lifetime == 5
        await trio.sleep(4)
        assert b.take() == [] and dlg.state == dialog.CONFIRMED
        await trio.sleep(1.2)  # before the first retransmission (T1 = 0.5 s)
        to_b = b.take_one(B, "BYE")
        to_a = b.take_one(A, "BYE")
        assert to_b.ruri_raw == "sip:bob@127.0.0.1:7002" and to_a.ruri_raw == "sip:alice@127.0.0.1:7001"
        assert to_b.from_.tag == "atag" and to_b.to.tag == "btag" and to_b.cseq.number == 2
        assert to_a.from_.tag == "btag" and to_a.to.tag == "atag"
        assert to_b.call_id == to_a.call_id == "call-1@a"
        assert dlg.state == dialog.DELETED and dlg.end_reason == "Lifetime Timeout"
        # the 200s to our BYEs are absorbed by their transactions
        b.feed(answer(to_b), B)
        b.feed(answer(to_a), A)
        assert b.take() == []


async def test_timeout_without_flag_only_forgets_the_call(autojump_clock: Any) -> None:
    async with open_bench(cfg(modparams='modparam("dialog", "default_timeout", 3)')) as b:
        await establish(b)
        await trio.sleep(4)
        assert b.take() == [] and b.dialogs.by_did == {}


async def test_auto_prack_and_cseq_renumbering(autojump_clock: Any) -> None:
    async with open_bench(cfg(initial='create_dialog("auto-prack");')) as b:
        b.feed(invite("Supported: 100rel\n"), A)
        inv = b.take_one(B, "INVITE")
        b.take(A)
        b.feed(reply(inv, 180, "Ringing", "Require: 100rel\nRSeq: 7\n"), B)
        assert b.take_one(A, 180).get_header("RSeq") == "7"  # relayed as is
        prack = b.take_one(B, "PRACK")
        assert prack.get_header("RAck") == "7 1 INVITE"
        assert prack.cseq.number == 2 and prack.to.tag == "btag" and prack.from_.tag == "atag"
        assert prack.ruri_raw == "sip:bob@127.0.0.1:7002" and len(prack.vias) == 1
        b.feed(answer(prack), B)
        b.feed(reply(inv, 183, "Session Progress", "Require: 100rel\nRSeq: 8\n"), B)
        assert b.take_one(B, "PRACK").cseq.number == 3
        b.feed(reply(inv, 200, "OK"), B)
        ok = b.take_one(A, 200)
        routes = list(reversed(ok.get_values("Record-Route")))
        # the caller's BYE (CSeq 2) would go backwards after our PRACKs: renumbered, and back in the reply
        b.feed(in_dialog("BYE", 2, routes=routes, branch="z9hG4bK-bye"), A)
        bye = b.take_one(B, "BYE")
        assert bye.cseq.number == 4
        b.feed(reply(bye, 200, "OK"), B)
        assert b.take_one(A, 200).get_header("CSeq") == "2 BYE"


async def test_manual_prack_from_onreply_route(autojump_clock: Any) -> None:
    onreply = 'if ($rs >= 101 && $rs < 200 && is_present_hf("RSeq")) dlg_send_sequential("PRACK", "callee");'
    async with open_bench(cfg(onreply=onreply)) as b:
        b.feed(invite(), A)
        inv = b.take_one(B, "INVITE")
        b.feed(reply(inv, 180, "Ringing", "Require: 100rel\nRSeq: 1\n"), B)
        prack = b.take_one(B, "PRACK")
        assert prack.get_header("RAck") == "1 1 INVITE" and prack.cseq.number == 2
        b.feed(reply(inv, 180, "Ringing"), B)  # unreliable: no PRACK
        assert [m.method for m in b.take(B)] == []


async def test_mi_commands(autojump_clock: Any) -> None:
    async with open_bench(cfg()) as b:
        await establish(b)
        (dlg,) = b.dialogs.by_did.values()
        listing = dialog.mi_dlg_list(b.core, {})
        (entry,) = listing["Dialogs"]
        assert entry["ID"] == dlg.did and entry["state"] == 4 and entry["callid"] == "call-1@a"
        assert entry["caller_tag"] == "atag" and entry["CALLEES"][0]["callee_tag"] == "btag"
        assert entry["context"]["values"] == [{"who": "alice"}]
        assert dialog.mi_dlg_list(b.core, ["call-1@a"])["Dialog"]["ID"] == dlg.did
        size = dialog.mi_profile_get_size(b.core, {"profile": "caller", "value": "alice"})
        assert size == {"Profile": {"name": "caller", "value": "alice", "count": 1, "shared": "no",
                                    "replicated": "no"}}  # fmt: skip
        with pytest.raises(MIError, match="Profile not found"):
            dialog.mi_profile_get_size(b.core, ["nope"])
        with pytest.raises(MIError, match="Dialog not found"):
            dialog.mi_dlg_end_dlg(b.core, ["1.1"])
        assert dialog.mi_dlg_end_dlg(b.core, [dlg.did]) == "OK"
        assert b.take_one(B, "BYE").to.tag == "btag"
        assert b.take_one(A, "BYE").to.tag == "atag"
        assert dialog.mi_dlg_list(b.core)["Dialogs"] == []


async def test_profile_functions_in_script(autojump_clock: Any) -> None:
    initial = (
        'create_dialog(); set_dlg_profile("caller", "$fU");'
        'if (is_in_profile("caller", "alice")) $shv(in_alice) = 1;'
        'if (!is_in_profile("caller", "bob")) $shv(not_bob) = 1;'
        'unset_dlg_profile("caller", "alice"); get_profile_size("caller", "alice", $shv(after_unset));'
    )
    async with open_bench(cfg(initial=initial)) as b:
        b.feed(invite(), A)
        b.take()
        assert b.shv["in_alice"] == 1 and b.shv["not_bob"] == 1 and b.shv["after_unset"] == 0
        # the route's own set_dlg_profile("caller", "$fU") ran after: one left
        assert b.dialogs.profile_size("caller", "alice") == 1


EVENT_ROUTES = """
route[on_answer] { $shv(answered) = $DLG_status; }
route[on_timeout] {
    $shv(timeouts) = $shv(timeouts) + 1;
    if ($shv(timeouts) == 1) $DLG_timeout = 3;
}
route[on_hangup] { $shv(hangup) = $DLG_end_reason; $shv(hangup_val) = $dlg_val(who); }
"""


async def test_dialog_event_routes(autojump_clock: Any) -> None:
    initial = (
        'create_dialog("bye-on-timeout"); $DLG_timeout = 5;'
        'dlg_on_answer("on_answer"); dlg_on_timeout("on_timeout"); dlg_on_hangup("on_hangup"); $shv(timeouts) = 0;'
    )
    async with open_bench(cfg(initial=initial) + EVENT_ROUTES) as b:
        await establish(b)
        (dlg,) = b.dialogs.by_did.values()
        assert b.shv["answered"] == dialog.CONFIRMED_NA
        await trio.sleep(5.2)  # first timeout: the route gives it 3 s more
        assert b.shv["timeouts"] == 1 and dlg.state == dialog.CONFIRMED and b.take() == []
        await trio.sleep(3)
        assert b.shv["timeouts"] == 2
        assert b.take_one(B, "BYE") and b.take_one(A, "BYE")
        assert b.shv["hangup"] == "Lifetime Timeout" and b.shv["hangup_val"] == "alice"
        stats = dialog.mi_stats(b.core)
        assert (
            stats["expired_dialogs"] == 1 and stats["active_dialogs"] == 0 and stats["processed_dialogs"] == 1
        )


async def test_load_dialog_ctx_from_another_call(autojump_clock: Any) -> None:
    onreply = (
        'if (load_dialog_ctx("call-1@a")) { $shv(other_val) = $dlg_val(who); unload_dialog_ctx(); }'
        'if (!load_dialog_ctx("nope", "did")) $shv(missing) = 1;'
    )
    async with open_bench(cfg(onreply=onreply)) as b:
        b.feed(invite(), A)
        inv = b.take_one(B, "INVITE")
        b.feed(reply(inv, 180, "Ringing"), B)
        assert b.shv["other_val"] == "alice" and b.shv["missing"] == 1


async def test_options_ping_towards_both_legs(autojump_clock: Any) -> None:
    modparams = 'modparam("dialog", "options_ping_interval", 2)'
    async with open_bench(
        cfg(initial='create_dialog("options-ping-caller,options-ping-callee");', modparams=modparams)
    ) as b:
        await establish(b)
        await trio.sleep(2.1)
        to_b = b.take_one(B, "OPTIONS")
        to_a = b.take_one(A, "OPTIONS")
        assert to_b.to.tag == "btag" and to_b.cseq.number == 2 and to_a.to.tag == "atag"
        b.feed(answer(to_b), B)
        b.feed(answer(to_a), A)
        await trio.sleep(2)
        assert b.take_one(B, "OPTIONS").cseq.number == 3


async def test_more_mi_commands(autojump_clock: Any) -> None:
    async with open_bench(cfg()) as b:
        await establish(b)
        (dlg,) = b.dialogs.by_did.values()
        assert dialog.mi_stats(b.core)["active_dialogs"] == 1
        page = dialog.mi_dlg_list(b.core, {"index": "0", "counter": "5"})
        assert page["count"] == 1 and page["Dialogs"][0]["db_id"] == str((dlg.h_entry << 32) + dlg.h_id)
        assert dialog.mi_profile_get_values(b.core, {"profile": "caller"}) == {
            "Values": [{"value": "alice", "count": 1}]
        }
        assert dialog.mi_profile_get_values(b.core, {"profile": "calls"}) == {"Values": [{"count": 1}]}
        names = [p["name"] for p in dialog.mi_list_all_profiles(b.core, {})["Profiles"]]
        assert names == ["caller", "calls"]
        assert (
            dialog.mi_dlg_push_var(b.core, {"dlg_val_name": "x", "dlg_val_value": "7", "DID": [dlg.did]})
            == "OK"
        )
        assert dlg.vals["x"] == "7"
        listed = dialog.mi_profile_list_dlgs(b.core, {"profile": "caller", "value": "alice"})["Dialogs"]
        assert [d["ID"] for d in listed] == [dlg.did]
        # end by the numeric db_id, with an extra header in both BYEs
        ok = dialog.mi_dlg_end_dlg(
            b.core, {"dialog_id": str(dlg.db_id), "extra_hdrs": "Reason: Q.850;cause=16\r\n"}
        )
        assert ok == "OK"
        assert b.take_one(B, "BYE").get_header("Reason") == "Q.850;cause=16"
        assert b.take_one(A, "BYE").get_header("Reason") == "Q.850;cause=16"
        assert dialog.mi_stats(b.core)["active_dialogs"] == 0


async def test_profile_end_dlgs(autojump_clock: Any) -> None:
    async with open_bench(cfg()) as b:
        await establish(b)
        assert dialog.mi_profile_end_dlgs(b.core, {"profile": "calls"}) == "OK"
        assert b.take_one(B, "BYE") and b.take_one(A, "BYE")
        assert b.dialogs.by_did == {}


async def test_mi_through_the_registry(autojump_clock: Any) -> None:
    from pysips.mi import build_registry

    async with open_bench(cfg()) as b:
        await establish(b)
        (dlg,) = b.dialogs.by_did.values()
        reg = build_registry(["dialog"])
        assert [d["ID"] for d in (await reg.call(b.core, "dlg_list", []))["Dialogs"]] == [dlg.did]
        assert (await reg.call(b.core, "dialog:list", ["call-1@a"]))["Dialog"]["state"] == 4
        size = await reg.call(b.core, "profile_get_size", ["caller", "alice"])
        assert size["Profile"]["count"] == 1
        assert await reg.call(b.core, "dlg_end_dlg", [dlg.did]) == "OK"
        assert b.take_one(B, "BYE") and b.take_one(A, "BYE")


async def test_dialog_of_a_locally_answered_invite_is_dropped(autojump_clock: Any) -> None:
    initial = 'create_dialog(); send_reply(403, "Forbidden"); exit;'
    async with open_bench(cfg(initial=initial)) as b:
        b.feed(invite(), A)
        assert b.take_one(A, 403).status == 403
        (dlg,) = b.dialogs.by_did.values()
        await trio.sleep(dialog.UNBOUND_TTL + 1)
        assert b.dialogs.by_did == {} and dlg.state == dialog.DELETED


async def test_bye_on_timeout_flag_1x_style(autojump_clock: Any) -> None:
    mp = 'modparam("dialog", "bye_on_timeout_flag", 3)\nmodparam("dialog", "default_timeout", 2)'
    async with open_bench(cfg(initial="setflag(3); create_dialog();", modparams=mp)) as b:
        await establish(b)
        await trio.sleep(2.2)
        assert b.take_one(B, "BYE") and b.take_one(A, "BYE")
