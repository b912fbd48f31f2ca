"""maxfwd: return codes and the Max-Forwards header actually written to the message."""

from __future__ import annotations

import pytest

from pysips.modules import maxfwd
from tests.modules._msgs import INVITE, make_ctx


def _with_mf(value: str | None) -> bytes:
    lines = [ln for ln in INVITE.split(b"\r\n") if not ln.startswith(b"Max-Forwards")]
    data = b"\r\n".join(lines)
    if value is None:
        return data
    return data.replace(b"\r\nTo:", b"\r\nMax-Forwards: " + value.encode() + b"\r\nTo:", 1)


@pytest.fixture(autouse=True)
def _default_limit() -> None:
    maxfwd.init({})


def test_decrement() -> None:
    c = make_ctx()
    assert maxfwd.w_mf_process_maxfwd_header(c, 10) == 1
    assert b"\r\nMax-Forwards: 69\r\n" in c.msg.to_bytes()


def test_added_when_missing() -> None:
    c = make_ctx(_with_mf(None))
    assert maxfwd.w_mf_process_maxfwd_header(c, 10) == 2
    assert c.msg.get_header("Max-Forwards") == "10"
    assert b"Max-Forwards: 10\r\n" in c.msg.to_bytes()


def test_zero_and_garbage() -> None:
    assert maxfwd.w_mf_process_maxfwd_header(make_ctx(_with_mf("0")), 10) == -1
    c = make_ctx()
    # the parser refuses such a message; a script edit can still produce one
    c.msg.set_header("Max-Forwards", "abc")
    assert maxfwd.w_mf_process_maxfwd_header(c, 10) == -2


def test_value_above_max_limit_is_lowered() -> None:
    maxfwd.init({"max_limit": 16})
    c = make_ctx()
    assert maxfwd.w_mf_process_maxfwd_header(c, 10) == 1
    assert c.msg.get_header("Max-Forwards") == "16"


def test_is_maxfwd_lt() -> None:
    assert maxfwd.w_is_maxfwd_lt(make_ctx(_with_mf("3")), 5) == 1
    assert maxfwd.w_is_maxfwd_lt(make_ctx(_with_mf("5")), 5) == -1
    assert maxfwd.w_is_maxfwd_lt(make_ctx(_with_mf(None)), 5) == -2


def test_fixup_and_init_validate() -> None:
    with pytest.raises(ValueError):
        maxfwd.maxfwd_fixup(0)
    with pytest.raises(ValueError):
        maxfwd.init({"max_limit": 300})
