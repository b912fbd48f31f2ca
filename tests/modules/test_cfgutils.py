"""cfgutils: random events, time recurrences, timestamps, sets, sleeps, $shv/$var initial values."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pysips.modules import cfgutils as cu
from pysips.script.pvars import parse_pv
from tests.modules._msgs import make_ctx


@pytest.fixture(autouse=True)
def _reset() -> None:
    cu.init({})
    cu.seed(7)


def test_rand_event_probabilities() -> None:
    c = make_ctx()
    assert cu.w_rand_event(c, 0) == -1
    assert cu.w_rand_event(c, 100) == 1
    assert cu.w_rand_set_prob(c, 100) == 1 and cu.w_rand_event(c) == 1
    assert cu.w_rand_get_prob(c) == 100
    assert cu.w_rand_reset_prob(c) == 1 and cu.w_rand_get_prob(c) == 10
    hits = sum(cu.w_rand_event(c, 50) == 1 for _ in range(400))
    assert 140 < hits < 260
    assert cu.w_rand_set_prob(c, 101) == -1


def test_check_time_rec_uses_message_time_or_given_timestamp() -> None:
    now = datetime(2024, 1, 3, 10, tzinfo=UTC).timestamp()
    c = make_ctx(now=now)
    rec = cu.timerec_fixup("UTC|20240101T090000|20240101T170000||WEEKLY|||MO,TU,WE,TH,FR")
    assert cu.w_check_time_rec(c, rec) == 1
    saturday = int(datetime(2024, 1, 6, 10, tzinfo=UTC).timestamp())
    assert cu.w_check_time_rec(c, rec, saturday) == -1
    assert cu.w_check_time_rec(c, "UTC|garbage") == -2
    with pytest.raises(ValueError):
        cu.timerec_fixup("UTC|garbage")


def test_set_count_and_select_weight_on_avps() -> None:
    c = make_ctx()
    for v in (0, 0, 5):
        c.avps.push("w", v)
    assert cu.w_set_count(c, parse_pv("$avp(w)"), parse_pv("$var(n)")) == 1
    assert c.vars["n"] == 3
    # newest first: values are [5, 0, 0], only index 0 has weight
    assert cu.w_set_select_weight(c, parse_pv("$avp(w)")) == 0
    assert cu.w_set_select_weight(c, parse_pv("$avp(none)")) == -1


def test_ts_usec_delta() -> None:
    c = make_ctx()
    assert cu.w_ts_usec_delta(c, 10, 500, 12, 100, parse_pv("$var(s)"), parse_pv("$var(i)")) == 1
    assert c.vars["s"] == "1999600" and c.vars["i"] == 1999600
    assert cu.w_ts_usec_delta(c, 0, 0, 5000, 0, None, parse_pv("$var(i)")) == -1


def test_get_accurate_time() -> None:
    c = make_ctx()
    assert cu.w_get_accurate_time(c, parse_pv("$var(s)"), parse_pv("$var(u)"), parse_pv("$var(f)")) == 1
    assert c.vars["f"] == f"{c.vars['s']}.{c.vars['u']:06d}"


def test_sleep_is_delegated_to_the_env() -> None:
    c = make_ctx()
    assert cu.w_sleep(c, 2) == 1 and cu.w_usleep(c, 1500) == 1
    assert [a["seconds"] for a in c.env.actions if a["kind"] == "sleep"] == [2, 0.0015]


def test_shvset_and_varset() -> None:
    cu.init({"initial_probability": 30, "shvset": ["debug=i:1", "name=s:pysips"], "varset": "x=i:5"})
    assert cu.shared_vars()["debug"] == 1 and cu.shared_vars()["name"] == "pysips"
    assert cu.initial_vars() == {"x": 5}
    assert cu.w_rand_get_prob(make_ctx()) == 30
    with pytest.raises(ValueError, match="shvset"):
        cu.init({"shvset": ["oops"]})


def test_shuffle_avps_keeps_the_values() -> None:
    c = make_ctx()
    for v in range(6):
        c.avps.push("a", v)
    assert cu.w_shuffle_avps(c, parse_pv("$avp(a)")) == 1
    assert sorted(c.avps.get_all("a")) == list(range(6))
