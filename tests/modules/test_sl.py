"""sl and signaling: replies go to the Env with the right statefulness."""

from __future__ import annotations

import pytest

from pysips.modules import signaling, sl
from tests.modules._msgs import REPLY_180, make_ctx

ACK = (
    b"ACK sip:bob@example.com SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\nMax-Forwards: 70\r\n"
    b"To: <sip:bob@example.com>;tag=x\r\nFrom: <sip:a@b>;tag=y\r\nCall-ID: c\r\nCSeq: 1 ACK\r\n"
    b"Content-Length: 0\r\n\r\n"
)


def test_sl_send_reply_is_stateless() -> None:
    c = make_ctx()
    assert sl.w_sl_send_reply(c, 404, "Not Here") == 1
    assert c.env.actions == [{"kind": "reply", "code": 404, "reason": "Not Here", "stateful": False}]


def test_sl_send_reply_takes_2x_string_codes_and_rejects_bad_ones() -> None:
    c = make_ctx()
    assert sl.w_sl_send_reply(c, "486", "Busy") == 1
    assert c.env.actions[0]["code"] == 486
    assert sl.w_sl_send_reply(c, "99", "x") == -1
    assert sl.reply_code_fixup("200") == 200
    with pytest.raises(ValueError, match="out of range"):
        sl.reply_code_fixup(700)


def test_no_reply_to_ack_or_to_a_reply() -> None:
    assert sl.w_sl_send_reply(make_ctx(ACK), 200, "OK") == -1
    assert sl.w_sl_send_reply(make_ctx(REPLY_180), 200, "OK") == -1


def test_sl_reply_error_uses_the_error_code() -> None:
    c = make_ctx()
    c.err_rcode, c.err_rreason = 400, "Bad Request"
    assert sl.w_sl_reply_error(c) == 1
    assert c.env.actions[-1] == {"kind": "reply", "code": 400, "reason": "Bad Request", "stateful": False}
    c2 = make_ctx()
    sl.w_sl_reply_error(c2)
    assert c2.env.actions[-1]["code"] == 500


def test_send_reply_lets_the_env_choose() -> None:
    c = make_ctx()
    assert signaling.w_send_reply(c, 503, "Later") == 1
    assert c.env.actions == [{"kind": "reply", "code": 503, "reason": "Later", "stateful": None}]


def test_send_reply_from_failure_route_answers_the_request() -> None:
    c = make_ctx(REPLY_180, route_type="failure")
    from tests.modules._msgs import msg

    c.req = msg()
    assert signaling.w_send_reply(c, 480, "Gone") == 1
    assert c.env.actions[-1]["code"] == 480


def test_specs() -> None:
    f = sl.MODULE.functions["sl_send_reply"]
    assert f.min_args == 2 and "failure" not in f.route_types
    assert "failure" in signaling.MODULE.functions["send_reply"].route_types
