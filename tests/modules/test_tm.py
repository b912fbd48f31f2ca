"""tm: t_relay flag parsing (2.x and 3.x), Env calls, route arming, t_check_status."""

from __future__ import annotations

import re

import pytest

from pysips.modules import tm
from pysips.script.context import Env
from tests.modules._msgs import REPLY_180, make_ctx, msg


def test_relay_flags_fixup() -> None:
    assert tm.relay_flags_fixup("no-auto-477, no-dns-failover") == 0x06
    assert tm.relay_flags_fixup("0x08") == 0x08
    assert tm.relay_flags_fixup(16) == 16
    assert tm.relay_flags_fixup("") == 0
    assert tm.relay_flags_fixup("udp:10.0.0.5:5060") == "udp:10.0.0.5:5060"  # 2.x destination form
    with pytest.raises(ValueError, match="unknown t_relay flag"):
        tm.relay_flags_fixup("no-auto-477,bogus")
    assert tm.flag_names(0x0A) == ["no-auto-477", "pass-reason-hdr"]


def test_t_relay_calls_env_relay() -> None:
    c = make_ctx()
    assert tm.w_t_relay(c) == 1
    assert tm.w_t_relay(c, 0x02, "tcp:10.0.0.9:5070") == 1
    assert tm.w_t_relay(c, "udp:10.0.0.5:5060", "0x04") == 1  # 2.x t_relay(dest, flags)
    got = [(a["flags"], a["outbound"]) for a in c.env.actions]
    assert got == [(0, None), (2, "tcp:10.0.0.9:5070"), (4, "udp:10.0.0.5:5060")]


def test_t_relay_on_a_reply_is_refused() -> None:
    assert tm.w_t_relay(make_ctx(REPLY_180)) == -2


def test_transaction_functions_use_env_methods_when_present() -> None:
    class TEnv(Env):
        def t_newtran(self, ctx: object) -> int:
            return 0

        def t_check_trans(self, ctx: object) -> int:
            return -2

        def t_reply(self, ctx: object, code: int, reason: str) -> int:
            self.record("t_reply", code=code, reason=reason, body=None)
            return 1

        def t_reply_with_body(self, ctx: object, code: int, reason: str, body: str) -> int:
            self.record("t_reply", code=code, reason=reason, body=body)
            return 1

        def t_was_cancelled(self, ctx: object) -> int:
            return -1  # the proxy answers with return codes

        def t_local_replied(self, ctx: object, which: str) -> int:
            return 1 if which == "all" else -1

    c = make_ctx()
    c.env = TEnv()
    assert tm.w_t_newtran(c) == 0
    assert tm.w_t_check_trans(c) == -2
    assert tm.w_t_reply(c, "404", "Nope") == 1
    assert tm.w_t_reply_with_body(c, 200, "OK", "hello") == 1
    assert tm.w_t_was_cancelled(c) == -1
    assert tm.w_t_local_replied(c, "all") == 1 and tm.w_t_local_replied(c, "last") == -1
    assert c.env.actions == [
        {"kind": "t_reply", "code": 404, "reason": "Nope", "body": None},
        {"kind": "t_reply", "code": 200, "reason": "OK", "body": "hello"},
    ]


def test_base_env_fallbacks() -> None:
    c = make_ctx()
    assert tm.w_t_newtran(c) == 1
    assert tm.w_t_check_trans(c) == -1
    assert tm.w_t_reply(c, 486, "Busy") == 1
    assert c.env.actions[-1] == {"kind": "reply", "code": 486, "reason": "Busy", "stateful": True}
    assert tm.w_t_was_cancelled(c) == -1
    assert tm.w_t_local_replied(c, "all") == -1


def test_route_arming() -> None:
    c = make_ctx()
    assert tm.w_t_on_failure(c, "missed_call") == 1
    assert tm.w_t_on_reply(c, "1") == 1
    assert tm.w_t_on_branch(c, "per_branch") == 1
    assert (c.t_on_failure, c.t_on_reply, c.t_on_branch) == ("missed_call", "1", "per_branch")
    spec = tm.MODULE.functions["t_on_failure"].params[0]
    assert spec.kind == "route" and spec.route_kind == "failure"


def test_t_check_status_matches_the_reply_code() -> None:
    c = make_ctx(REPLY_180, route_type="onreply")
    assert tm.w_t_check_status(c, re.compile("1[0-9][0-9]")) == 1
    assert tm.w_t_check_status(c, re.compile("^2")) == -1
    f = make_ctx(route_type="failure")
    f.reply = msg(REPLY_180.replace(b"180 Ringing", b"486 Busy Here"))
    assert tm.w_t_check_status(f, "486|408") == 1
    assert tm.w_t_check_status(make_ctx(), "486") == -1  # no reply known


def test_misc_context_settings() -> None:
    c = make_ctx()
    assert tm.w_t_add_hdrs(c, "X-A: 1\r\n") == 1 and c.t_extra_hdrs == "X-A: 1\r\n"
    assert tm.w_t_add_cancel_reason(c, "Reason: SIP;cause=200") == 1
    with pytest.raises(ValueError):
        tm.local_replied_fixup("some")
    with pytest.raises(ValueError):
        tm.cancel_branch_fixup("x")


def test_modparams_cover_2x_and_3x_names() -> None:
    p = tm.MODULE.params
    assert p["fr_timeout"].default == 5 and p["fr_inv_timeout"].default == 120
    assert "fr_timer" in p and "fr_inv_timer" in p and "T1_timer" in p


def test_route_zero_disarms_1x() -> None:
    c = make_ctx()
    tm.w_t_on_failure(c, "missed")
    assert tm.w_t_on_failure(c, "0") == 1 and c.t_on_failure is None
