"""registrar + usrloc in memory: save (add / refresh / remove / wildcard / limits / CSeq), lookup, checks, MI."""

from __future__ import annotations

from typing import Any

import pytest

from pysips.errors import MIError
from pysips.modules import registrar, usrloc
from pysips.proxy.env import reply_header_pairs
from pysips.script.context import Context, Env
from pysips.sip.message import parse_message


class RecEnv(Env):
    """Records every reply with the headers it would carry."""

    def __init__(self, reg: dict[str, Any] | None = None, ul: dict[str, Any] | None = None) -> None:
        super().__init__()
        self.replies: list[tuple[int, str, list[tuple[str, str]]]] = []
        self.logs: list[str] = []
        self.now = 1_000_000.0
        self.modules_state = {
            "registrar": registrar.build_params(reg or {}),
            "usrloc": usrloc.ULState(ul or {}, clock=lambda: self.now),
        }

    @property
    def ul(self) -> usrloc.ULState:
        return self.modules_state["usrloc"]

    def reply(self, ctx: Context, code: int, reason: str, stateful: bool | None) -> int:
        self.replies.append((code, reason, reply_header_pairs(ctx)))
        return 1

    def log(self, ctx: Any, level: int, text: str) -> None:
        self.logs.append(text)

    def last(self) -> tuple[int, str, dict[str, str]]:
        code, reason, hdrs = self.replies[-1]
        return code, reason, dict(hdrs)


def register(
    env: RecEnv,
    contacts: list[str],
    *,
    expires: int | None = None,
    callid: str = "reg-1",
    cseq: int = 1,
    to: str = "sip:alice@example.com",
    extra: str = "",
) -> Context:
    lines = [
        "REGISTER sip:example.com SIP/2.0",
        "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK" + callid + str(cseq),
        "From: <sip:alice@example.com>;tag=f1",
        f"To: <{to}>",
        f"Call-ID: {callid}",
        f"CSeq: {cseq} REGISTER",
    ]
    lines += [f"Contact: {c}" for c in contacts]
    if expires is not None:
        lines.append(f"Expires: {expires}")
    if extra:
        lines.append(extra)
    data = ("\r\n".join(lines) + "\r\nContent-Length: 0\r\n\r\n").encode()
    return Context(parse_message(data), src=("10.0.0.1", 5060), env=env, now=env.now)


def invite(env: RecEnv, ruri: str = "sip:alice@example.com", method: str = "INVITE") -> Context:
    data = (
        f"{method} {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKi1\r\n"
        "From: <sip:bob@example.com>;tag=b1\r\nTo: <sip:alice@example.com>\r\nCall-ID: call-1\r\n"
        f"CSeq: 1 {method}\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    return Context(parse_message(data), src=("10.0.0.9", 5060), env=env, now=env.now)


def save(env: RecEnv, contacts: list[str], flags: str | None = None, **kw: Any) -> int:
    return registrar.w_save(register(env, contacts, **kw), "location", flags)


def bindings(env: RecEnv, aor: str = "alice") -> list[tuple[str, int, int]]:
    cts = env.ul.get_record("location", aor) or []
    return [(c.uri, c.remaining(env.now), c.q) for c in cts]


# ---------------------------------------------------------------- save


def test_save_adds_binding_and_lists_it_in_200() -> None:
    env = RecEnv()
    assert save(env, ["<sip:alice@10.0.0.1:5060>"], expires=300) == 1
    assert env.last() == (200, "OK", {"Contact": "<sip:alice@10.0.0.1:5060>;expires=300"})
    assert bindings(env) == [("sip:alice@10.0.0.1:5060", 300, -1)]


def test_contact_expires_param_wins_over_header_then_default() -> None:
    env = RecEnv({"default_expires": 1800})
    save(env, ["<sip:a@10.0.0.1>;expires=120", "<sip:b@10.0.0.2>"], expires=600)
    assert sorted(bindings(env)) == [("sip:a@10.0.0.1", 120, -1), ("sip:b@10.0.0.2", 600, -1)]
    env2 = RecEnv({"default_expires": 1800})
    save(env2, ["<sip:c@10.0.0.3>"])
    assert bindings(env2) == [("sip:c@10.0.0.3", 1800, -1)]


def test_min_and_max_expires_clamp_like_opensips_no_423() -> None:
    env = RecEnv({"min_expires": 60, "max_expires": 3600})
    assert save(env, ["<sip:a@10.0.0.1>;expires=10", "<sip:b@10.0.0.2>;expires=99999"]) == 1
    assert env.last()[0] == 200
    assert sorted(bindings(env)) == [("sip:a@10.0.0.1", 60, -1), ("sip:b@10.0.0.2", 3600, -1)]
    # per-call limits from the 3.x flags override the modparams
    env2 = RecEnv({"min_expires": 60})
    save(env2, ["<sip:a@10.0.0.1>;expires=10"], "e30")
    assert bindings(env2) == [("sip:a@10.0.0.1", 30, -1)]


def test_refresh_updates_expires_and_keeps_one_binding() -> None:
    env = RecEnv()
    save(env, ["<sip:alice@10.0.0.1>"], expires=300, cseq=1)
    env.now += 100
    save(env, ["<sip:alice@10.0.0.1>"], expires=600, cseq=2)
    assert bindings(env) == [("sip:alice@10.0.0.1", 600, -1)]
    c = env.ul.get_record("location", "alice")[0]
    assert c.cseq == 2


def test_expires_zero_removes_that_contact_only() -> None:
    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>", "<sip:b@10.0.0.2>"], expires=300, cseq=1)
    save(env, ["<sip:a@10.0.0.1>;expires=0"], cseq=2)
    assert bindings(env) == [("sip:b@10.0.0.2", 300, -1)]
    assert env.last() == (200, "OK", {"Contact": "<sip:b@10.0.0.2>;expires=300"})


def test_wildcard_with_expires_zero_removes_all() -> None:
    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>", "<sip:b@10.0.0.2>"], expires=300, cseq=1)
    assert save(env, ["*"], expires=0, cseq=2) == 1
    assert bindings(env) == []
    assert env.last() == (200, "OK", {})


@pytest.mark.parametrize(
    ("contacts", "expires", "info"),
    [
        (["*"], 300, "* used in contact and expires is not zero"),
        (["*"], None, "* used in contact and expires is not zero"),
        (["*", "<sip:a@10.0.0.1>"], 0, "* used in contact and more than 1 contact"),
    ],
)
def test_bad_wildcard_is_400(contacts: list[str], expires: int | None, info: str) -> None:
    env = RecEnv()
    assert save(env, contacts, expires=expires) == -2
    assert env.last() == (400, "Bad Request", {"P-Registrar-Error": info})


def test_fetching_register_lists_bindings_without_change() -> None:
    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>;q=0.5"], expires=300, cseq=1)
    env.now += 50
    assert save(env, [], cseq=2) == 1
    assert env.last() == (200, "OK", {"Contact": "<sip:a@10.0.0.1>;q=0.5;expires=250"})


def test_old_cseq_same_callid_is_400_and_retransmission_is_ignored() -> None:
    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>"], expires=300, cseq=5)
    assert save(env, ["<sip:a@10.0.0.1>"], expires=900, cseq=4) == -2
    assert env.last()[:2] == (400, "Bad Request")
    assert env.last()[2]["P-Registrar-Error"] == "Invalid CSeq number"
    # same CSeq within cseq_delay: a retransmission, accepted without change
    assert save(env, ["<sip:a@10.0.0.1>"], expires=900, cseq=5) == 1
    assert bindings(env) == [("sip:a@10.0.0.1", 300, -1)]
    # another Call-ID may use any CSeq
    assert save(env, ["<sip:a@10.0.0.1>"], expires=900, cseq=1, callid="other") == 1
    assert bindings(env) == [("sip:a@10.0.0.1", 900, -1)]


def test_max_contacts_503_and_force_flag_replaces_oldest() -> None:
    env = RecEnv({"max_contacts": 2})
    save(env, ["<sip:a@10.0.0.1>", "<sip:b@10.0.0.2>"], expires=300, cseq=1)
    assert save(env, ["<sip:c@10.0.0.3>"], expires=300, cseq=2) == -2
    code, reason, hdrs = env.last()
    assert (code, reason) == (503, "Service Unavailable")
    assert hdrs["P-Registrar-Error"] == "Too many registered contacts"
    assert len(bindings(env)) == 2
    assert save(env, ["<sip:c@10.0.0.3>"], "f", expires=300, cseq=3) == 1
    assert sorted(u for u, _, _ in bindings(env)) == ["sip:a@10.0.0.1", "sip:c@10.0.0.3"]


def test_max_contacts_flag_on_new_aor_rolls_back() -> None:
    env = RecEnv()
    assert save(env, ["<sip:a@1.1.1.1>", "<sip:b@2.2.2.2>"], "c1", expires=60) == -2
    assert env.last()[0] == 503
    assert bindings(env) == []
    # with "f" the head of the list makes room for the next contact
    assert save(env, ["<sip:a@1.1.1.1>", "<sip:b@2.2.2.2>"], "c1f", expires=60) == 1
    assert bindings(env) == [("sip:b@2.2.2.2", 60, -1)]


def test_no_reply_flag_and_2x_numeric_flags() -> None:
    env = RecEnv()
    assert save(env, ["<sip:a@10.0.0.1>"], "r", expires=300) == 1
    assert env.replies == []
    assert save(env, ["<sip:b@10.0.0.2>"], "0x02", expires=300, callid="x") == 1
    assert env.replies == []
    assert len(bindings(env)) == 2
    assert save(env, ["<sip:c@10.0.0.3>"], "no-reply, max-contacts=5", expires=300, callid="y") == 1
    assert env.replies == []


def test_expiry_with_fake_clock_and_purge() -> None:
    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>;expires=100", "<sip:b@10.0.0.2>;expires=200"])
    env.now += 150
    assert bindings(env) == [("sip:b@10.0.0.2", 50, -1)]
    env.now += 60
    assert env.ul.purge() == 1
    assert bindings(env) == []
    assert registrar.w_lookup(invite(env), "location") == -1


def test_received_avp_and_contact_param_are_stored_and_listed() -> None:
    env = RecEnv({"received_avp": "$avp(rcv)"})
    ctx = register(env, ["<sip:a@192.168.1.5:5060>"], expires=300)
    ctx.avps.push("rcv", "sip:203.0.113.7:40000")
    assert registrar.w_save(ctx, "location") == 1
    assert env.last()[2]["Contact"] == '<sip:a@192.168.1.5:5060>;expires=300;received="sip:203.0.113.7:40000"'
    look = invite(env)
    assert registrar.w_lookup(look, "location") == 1
    assert str(look.msg.ruri) == "sip:a@192.168.1.5:5060"
    assert look.du == "sip:203.0.113.7:40000"


def test_use_domain_and_case_of_aor() -> None:
    env = RecEnv(ul={"use_domain": 1})
    save(env, ["<sip:a@10.0.0.1>"], expires=300, to="sip:Alice@EXAMPLE.com")
    assert bindings(env, "Alice@example.com") == [("sip:a@10.0.0.1", 300, -1)]
    assert registrar.w_lookup(invite(env, "sip:Alice@example.COM"), "location") == 1
    assert registrar.w_lookup(invite(env, "sip:Alice@other.com"), "location") == -1
    assert registrar.w_lookup(invite(env, "sip:alice@example.com"), "location") == -1


def test_save_with_explicit_aor() -> None:
    env = RecEnv()
    ctx = register(env, ["<sip:a@10.0.0.1>"], expires=300)
    assert registrar.w_save(ctx, "location", "", "sip:carol@example.com") == 1
    assert bindings(env, "carol") == [("sip:a@10.0.0.1", 300, -1)]


# ---------------------------------------------------------------- lookup


def test_lookup_picks_highest_q_and_appends_others_as_branches() -> None:
    env = RecEnv()
    save(
        env,
        ["<sip:low@10.0.0.1>;q=0.1", "<sip:high@10.0.0.2>;q=0.9", "<sip:mid@10.0.0.3>;q=0.5"],
        expires=300,
    )
    ctx = invite(env)
    assert registrar.w_lookup(ctx, "location") == 1
    assert str(ctx.msg.ruri) == "sip:high@10.0.0.2"
    assert ctx.ruri_q == 900
    assert [(b.uri, b.q) for b in ctx.branches] == [("sip:mid@10.0.0.3", 500), ("sip:low@10.0.0.1", 100)]


def test_equal_q_keeps_registration_order() -> None:
    env = RecEnv()
    save(env, ["<sip:first@10.0.0.1>"], expires=300, callid="c1")
    env.now += 1
    save(env, ["<sip:second@10.0.0.2>"], expires=300, callid="c2")
    ctx = invite(env)
    registrar.w_lookup(ctx, "location")
    assert str(ctx.msg.ruri) == "sip:first@10.0.0.1"
    # usrloc desc_time_order: the newest first
    env2 = RecEnv(ul={"desc_time_order": 1})
    save(env2, ["<sip:first@10.0.0.1>"], expires=300, callid="c1")
    save(env2, ["<sip:second@10.0.0.2>"], expires=300, callid="c2")
    ctx2 = invite(env2)
    registrar.w_lookup(ctx2, "location")
    assert str(ctx2.msg.ruri) == "sip:second@10.0.0.2"


@pytest.mark.parametrize("flags", ["b", "no-branches"])
def test_lookup_no_branches_flag(flags: str) -> None:
    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>;q=1", "<sip:b@10.0.0.2>;q=0.5"], expires=300)
    ctx = invite(env)
    assert registrar.w_lookup(ctx, "location", flags) == 1
    assert str(ctx.msg.ruri) == "sip:a@10.0.0.1"
    assert ctx.branches == []


def test_lookup_append_branches_modparam_zero() -> None:
    env = RecEnv({"append_branches": 0})
    save(env, ["<sip:a@10.0.0.1>;q=1", "<sip:b@10.0.0.2>;q=0.5"], expires=300)
    ctx = invite(env)
    assert registrar.w_lookup(ctx, "location") == 1
    assert ctx.branches == []


def test_lookup_unknown_aor_is_minus_one_and_leaves_ruri() -> None:
    env = RecEnv()
    ctx = invite(env, "sip:nobody@example.com")
    assert registrar.w_lookup(ctx, "location") == -1
    assert str(ctx.msg.ruri) == "sip:nobody@example.com"


def test_lookup_method_filtering_gives_minus_two() -> None:
    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>"], expires=300, extra="Allow: INVITE, ACK, BYE, CANCEL")
    assert registrar.w_lookup(invite(env, method="MESSAGE"), "location", "m") == -2
    assert registrar.w_lookup(invite(env, method="MESSAGE"), "location", "method-filtering") == -2
    assert registrar.w_lookup(invite(env, method="MESSAGE"), "location") == 1
    assert registrar.w_lookup(invite(env, method="INVITE"), "location", "m") == 1


def test_lookup_to_branches_only() -> None:
    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>"], expires=300)
    ctx = invite(env)
    assert registrar.w_lookup(ctx, "location", "B") == 1
    assert str(ctx.msg.ruri) == "sip:alice@example.com"
    assert [b.uri for b in ctx.branches] == ["sip:a@10.0.0.1"]


def test_lookup_sets_nat_bflag_saved_with_contact_and_path_du() -> None:
    env = RecEnv(ul={"nat_bflag": 3})
    ctx = register(env, ["<sip:a@192.168.0.2>"], expires=300, extra="Path: <sip:edge.example.com;lr>")
    ctx.bflags = env.ul.nat_flag
    assert registrar.w_save(ctx, "location", "p0") == 1
    look = invite(env)
    assert registrar.w_lookup(look, "location") == 1
    assert look.bflags & 8
    assert look.du == "sip:edge.example.com;lr"
    assert look.path_vec == "<sip:edge.example.com;lr>"


def test_path_strict_without_supported_is_420() -> None:
    env = RecEnv()
    ctx = register(env, ["<sip:a@10.0.0.2>"], expires=300, extra="Path: <sip:edge.example.com;lr>")
    assert registrar.w_save(ctx, "location", "p2") == -2
    code, reason, hdrs = env.last()
    assert (code, reason, hdrs["Unsupported"]) == (420, "Bad Extension", "path")
    assert bindings(env) == []


# ---------------------------------------------------------------- checks and removal


def test_is_registered_registered_and_is_contact_registered() -> None:
    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>"], expires=300, callid="cid-9")
    ctx = invite(env)
    assert registrar.w_is_registered(ctx, "location") == 1
    assert registrar.w_is_registered(ctx, "location", "sip:bob@example.com") == -1
    assert registrar.w_registered(ctx, "location") == 1
    assert registrar.w_registered(ctx, "location", "sip:alice@example.com", "cid-9") == 1
    assert registrar.w_registered(ctx, "location", "sip:alice@example.com", "nope") == -1
    assert registrar.w_is_contact_registered(ctx, "location", None, "sip:a@10.0.0.1") == 1
    assert registrar.w_is_contact_registered(ctx, "location", None, None, "cid-9") == 1
    assert registrar.w_is_contact_registered(ctx, "location", None, "sip:z@10.0.0.1") == -1


def test_remove_one_contact_then_all() -> None:
    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>", "<sip:b@10.0.0.2>"], expires=300)
    ctx = invite(env)
    assert registrar.w_remove(ctx, "location", "sip:alice@example.com", "sip:b@10.0.0.2") == 1
    assert [u for u, _, _ in bindings(env)] == ["sip:a@10.0.0.1"]
    assert registrar.w_remove(ctx, "location", "sip:alice@example.com", None, "10.0.0.1") == 1
    assert bindings(env) == []
    save(env, ["<sip:a@10.0.0.1>"], expires=300, callid="again")
    assert registrar.w_remove(ctx, "location", "sip:alice@example.com") == 1
    assert bindings(env) == []


# ---------------------------------------------------------------- flags


def test_save_flag_spellings() -> None:
    f = registrar.parse_save_flags("mrc5fe10E100p2vM1")
    assert (f.memory, f.no_reply, f.max_contacts, f.force, f.min_expires, f.max_expires) == (
        True, True, 5, True, 10, 100,
    )  # fmt: skip
    assert (f.path_mode, f.path_received, f.match_mode, f.unknown) == (2, True, 1, "")
    g = registrar.parse_save_flags("memory-only, force-registration, max-contacts=3, path-lazy")
    assert (g.memory, g.force, g.max_contacts, g.path_mode) == (True, True, 3, 1)
    h = registrar.parse_save_flags("0x03")
    assert (h.memory, h.no_reply, h.socket_hdr) == (True, True, False)
    assert registrar.parse_save_flags("mz").unknown == "z"


def test_lookup_flag_spellings() -> None:
    f = registrar.parse_lookup_flags("bmu/phone/i")
    assert (f.no_branches, f.method_filtering, f.ua_regex, f.ua_icase) == (True, True, "phone", True)
    g = registrar.parse_lookup_flags("method-filtering,no-branches,ua-filtering=/x/")
    assert (g.no_branches, g.method_filtering, g.ua_regex) == (True, True, "x")


def test_lookup_ua_filter() -> None:
    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>"], expires=300, callid="1", extra="User-Agent: DeskPhone 1.0")
    save(env, ["<sip:b@10.0.0.2>"], expires=300, callid="2", extra="User-Agent: SoftClient")
    ctx = invite(env)
    assert registrar.w_lookup(ctx, "location", "u/deskphone/i") == 1
    assert str(ctx.msg.ruri) == "sip:a@10.0.0.1"
    assert ctx.branches == []


# ---------------------------------------------------------------- MI


def test_mi_dump_show_rm() -> None:
    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>;q=0.5", "<sip:b@10.0.0.2>"], expires=300, extra="User-Agent: UA/1")
    dump = usrloc.mi_ul_dump(env, {})
    (dom,) = dump["Domains"]
    assert dom["name"] == "location"
    (aor,) = dom["AORs"]
    assert aor["AOR"] == "alice"
    first = aor["Contacts"][0]
    assert (first["Contact"], first["Expires"], first["Q"], first["Callid"], first["Cseq"]) == (
        "sip:a@10.0.0.1", 300, "0.5", "reg-1", 1,
    )  # fmt: skip
    assert first["User-agent"] == "UA/1"
    assert usrloc.mi_ul_dump(env, {"brief": "1"})["Domains"][0]["AORs"] == [{"AOR": "alice"}]
    shown = usrloc.mi_ul_show_contact(env, {"table_name": "location", "aor": "alice@whatever"})
    assert [c["Contact"] for c in shown["Contacts"]] == ["sip:a@10.0.0.1", "sip:b@10.0.0.2"]
    assert (
        usrloc.mi_ul_rm_contact(env, {"table_name": "location", "aor": "alice", "contact": "sip:a@10.0.0.1"})
        == "OK"
    )
    with pytest.raises(MIError) as e:
        usrloc.mi_ul_rm_contact(env, {"table_name": "location", "aor": "alice", "contact": "sip:zz@1.1.1.1"})
    assert (e.value.args[0], e.value.code) == ("Contact not found", 404)
    assert usrloc.mi_ul_rm(env, {"table_name": "location", "aor": "alice"}) == "OK"
    with pytest.raises(MIError) as e:
        usrloc.mi_ul_show_contact(env, {"table_name": "location", "aor": "alice"})
    assert (e.value.args[0], e.value.code) == ("AOR not found", 404)
    with pytest.raises(MIError) as e:
        usrloc.mi_ul_show_contact(env, {"table_name": "nope", "aor": "alice"})
    assert (e.value.args[0], e.value.code) == ("Table not found", 404)


# ---------------------------------------------------------------- through the compiler


SCRIPT = r"""
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "sipmsgops.so"
loadmodule "usrloc.so"
loadmodule "registrar.so"
modparam("usrloc", "nat_bflag", "NAT")
modparam("registrar", "default_expires", 120)
route {
    if (is_method("REGISTER")) {
        if (!save("location")) sl_reply_error();
        exit;
    }
    if (!lookup("location", "m")) {
        sl_send_reply(404, "Not Found");
        exit;
    }
    t_relay();
}
"""


def test_script_register_then_invite_through_compiler() -> None:
    from pysips.script.compiler import compile_script
    from pysips.script.parser import parse_text
    from pysips.script.simulate import simulate

    script, errs = parse_text(SCRIPT)
    assert not [e for e in errs if e.severity == "error"]
    program, cerrs = compile_script(script)
    assert not [e for e in cerrs if e.severity == "error"], [e.format() for e in cerrs]
    env = RecEnv()
    env.program = program
    env.modules_state = {}  # built from the program's modparams
    reg = register(env, ["<sip:alice@10.0.0.1:5062>"]).msg.to_bytes()
    out = simulate(program, reg, "10.0.0.1:5060", env=env)
    assert out["rc"] == 0
    code, reason, hdrs = env.last()
    assert (code, reason, hdrs["Contact"]) == (200, "OK", "<sip:alice@10.0.0.1:5062>;expires=120")
    out = simulate(program, invite(env).msg.to_bytes(), "10.0.0.9:5060", env=env)
    assert out["ruri"] == "sip:alice@10.0.0.1:5062"
    assert [a["kind"] for a in out["actions"]] == ["relay"]
    out = simulate(program, invite(env, "sip:bob@example.com").msg.to_bytes(), "10.0.0.9:5060", env=env)
    assert env.last()[:2] == (404, "Not Found")


async def test_mi_through_registry_with_positional_params() -> None:
    from pysips.mi import build_registry

    env = RecEnv()
    save(env, ["<sip:a@10.0.0.1>"], expires=300)
    reg = build_registry(["usrloc", "registrar"])
    shown = await reg.call(env, "ul_show_contact", ["location", "alice"])
    assert [c["Contact"] for c in shown["Contacts"]] == ["sip:a@10.0.0.1"]
    assert await reg.call(env, "ul_rm", ["location", "alice"]) == "OK"
    dump = await reg.call(env, "ul_dump", {})
    assert dump == {"Domains": [{"name": "location", "hash_size": 512, "AORs": []}]}


def test_is_ip_registered_through_compiler() -> None:
    from pysips.script.compiler import compile_script
    from pysips.script.parser import parse_text
    from pysips.script.simulate import simulate

    src = r"""
loadmodule "usrloc.so"
loadmodule "registrar.so"
route {
    $var(ip) = "203.0.113.7";
    $var(port) = 40000;
    if (is_ip_registered("location", "sip:alice@example.com", $var(ip), $var(port))) $var(r1) = "yes";
    $var(port) = 1;
    if (!is_ip_registered("location", "sip:alice@example.com", $var(ip), $var(port))) $var(r2) = "no";
    $avp(ips) = "10.9.9.9";
    $avp(ips) = "192.168.1.5";
    if (is_ip_registered("location", "sip:alice@example.com", $avp(ips))) $var(r3) = "yes";
}
"""
    script, errs = parse_text(src)
    program, cerrs = compile_script(script)
    assert not [e for e in [*errs, *cerrs] if e.severity == "error"], [e.format() for e in [*errs, *cerrs]]
    env = RecEnv({"received_avp": "$avp(rcv)"})
    ctx = register(env, ["<sip:a@192.168.1.5:5060>"], expires=300)
    ctx.avps.push("rcv", "sip:203.0.113.7:40000")
    registrar.w_save(ctx, "location")
    out = simulate(program, invite(env).msg.to_bytes(), "10.0.0.9:5060", env=env)
    assert (out["vars"].get("r1"), out["vars"].get("r2"), out["vars"].get("r3")) == ("yes", "no", None)
