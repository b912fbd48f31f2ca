"""Time recurrences (cfgutils check_time_rec, later drouting): single rules, the 3.2+ timezone field, expressions."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from pysips.modules._timerec import check_time_rec, parse_timerec, parse_timerec_expr


def ts(y: int, mo: int, d: int, h: int = 0, mi: int = 0, s: int = 0) -> float:
    return datetime(y, mo, d, h, mi, s, tzinfo=UTC).timestamp()


def test_plain_interval() -> None:
    r = "UTC|20240101T000000|20240102T000000"
    assert check_time_rec(r, ts(2024, 1, 1, 12)) == 1
    assert check_time_rec(r, ts(2024, 1, 2, 0)) == -1
    assert check_time_rec(r, ts(2023, 12, 31, 23)) == -1


def test_duration_in_days() -> None:
    r = "UTC|20240101T000000||p30d"
    assert check_time_rec(r, ts(2024, 1, 20)) == 1
    assert check_time_rec(r, ts(2024, 2, 5)) == -1


def test_weekly_working_hours() -> None:
    r = "UTC|20240101T090000|20240101T170000||WEEKLY|||MO,TU,WE,TH,FR"
    assert check_time_rec(r, ts(2024, 1, 3, 10)) == 1  # Wednesday
    assert check_time_rec(r, ts(2024, 1, 3, 18)) == -1
    assert check_time_rec(r, ts(2024, 1, 6, 10)) == -1  # Saturday
    assert check_time_rec(r, ts(2024, 5, 6, 9, 0, 1)) == 1  # a Monday months later


def test_monthly_by_month_day_and_until() -> None:
    r = "UTC|20240101T000000|20240102T000000||MONTHLY|20240601T000000|||15"
    assert check_time_rec(r, ts(2024, 3, 15, 10)) == 1
    assert check_time_rec(r, ts(2024, 3, 16, 10)) == -1
    assert check_time_rec(r, ts(2024, 7, 15, 10)) == -1  # after until


def test_daily_interval() -> None:
    r = "UTC|20240101T080000|20240101T090000||DAILY||2"
    assert check_time_rec(r, ts(2024, 1, 3, 8, 30)) == 1
    assert check_time_rec(r, ts(2024, 1, 2, 8, 30)) == -1


def test_last_sunday_of_the_month() -> None:
    r = "UTC|20240101T000000|20240102T000000||MONTHLY|||-1SU"
    assert check_time_rec(r, ts(2024, 3, 31, 12)) == 1  # last Sunday of March 2024
    assert check_time_rec(r, ts(2024, 3, 24, 12)) == -1


def test_expressions_and_timezone_names_with_slash() -> None:
    r = "UTC|20240101T000000|20250101T000000 & !UTC|20240601T000000|20240701T000000"
    assert check_time_rec(r, ts(2024, 5, 10)) == 1
    assert check_time_rec(r, ts(2024, 6, 10)) == -1
    r2 = "(Europe/Bucharest|20240101T000000|20240102T000000) / (UTC|20240301T000000|20240302T000000)"
    assert check_time_rec(r2, ts(2024, 3, 1, 5)) == 1
    # midnight in Bucharest is 22:00 UTC the day before
    assert check_time_rec(r2, ts(2023, 12, 31, 22, 30)) == 1
    assert check_time_rec(r2, ts(2024, 2, 1)) == -1


def test_mixing_operators_needs_parentheses() -> None:
    assert check_time_rec("UTC|20240101T000000 & UTC|20240101T000000 / UTC|20240101T000000", 0) == -2


def test_parse_errors() -> None:
    for bad in (
        "UTC|2024",
        "UTC|20240101T000000|||||2",
        "Nowhere/Zone|20240101T000000",
        "UTC|20240101T000000||x9",
    ):
        assert check_time_rec(bad, 0) == -2
    with pytest.raises(ValueError, match="FREQ"):
        parse_timerec("UTC|20240101T000000||||20250101T000000")


def test_layout_without_dtend_for_drouting_2x() -> None:
    rec = parse_timerec("UTC|20240101T090000|PT8H|WEEKLY|||MO", with_dtend=False)
    assert rec.match(ts(2024, 1, 8, 16)) and not rec.match(ts(2024, 1, 8, 18))
    assert parse_timerec_expr("").match(0)
