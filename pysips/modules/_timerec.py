"""RFC 2445-style time recurrences as OpenSIPS checks them (cfgutils ``check_time_rec``, drouting/dialplan rules).

One recurrence is a '|'-separated list of fields:
  3.2+ (time_rec.c):         [timezone|] dtstart | dtend | duration | freq | until | interval | byday | bymday |
                             byyday | byweekno | bymonth
  2.x cfgutils:              the same without the timezone
  2.x / 3.0-3.1 drouting and dialplan: dtstart | duration | freq | until | ... (no dtend)  -> ``with_dtend=False``
Empty trailing fields may be left out. The timezone field is recognised by its first character being an upper-case
letter (``Europe/Bucharest``); without it the local time zone is used.

3.2+ also combines recurrences: ``A & B``, ``A / B`` (one operator kind per level), ``!A`` and parentheses; a '/'
before the first '|' of a recurrence is part of a timezone name.

Public API: ``parse_timerec(text, with_dtend=True) -> TimeRec``, ``parse_timerec_expr(text) -> TimeRecExpr``,
``check_time_rec(text, ts) -> int`` (1 match, -1 no match, -2 parse error), and ``.match(ts) -> bool`` on both.
"""

from __future__ import annotations

import calendar
import time
from dataclasses import dataclass, field
from datetime import datetime, tzinfo
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

FREQ_NONE, FREQ_YEARLY, FREQ_MONTHLY, FREQ_WEEKLY, FREQ_DAILY = 0, 1, 2, 3, 4
_FREQS = {"daily": FREQ_DAILY, "weekly": FREQ_WEEKLY, "monthly": FREQ_MONTHLY, "yearly": FREQ_YEARLY}
SEC_DAILY = 86400
SEC_WEEKLY = 7 * SEC_DAILY
SEC_MONTHLY_MAX = 31 * SEC_DAILY
SEC_YEARLY_MAX = 366 * SEC_DAILY
_WDAYS = {"su": 0, "mo": 1, "tu": 2, "we": 3, "th": 4, "fr": 5, "sa": 6}


@dataclass(frozen=True, slots=True)
class _Tm:
    """struct tm: mon 0-11, wday 0=Sunday, yday 0-365."""

    year: int
    mon: int
    mday: int
    hour: int
    min: int
    sec: int
    wday: int
    yday: int

    @property
    def daysec(self) -> int:
        return self.hour * 3600 + self.min * 60 + self.sec


def _localtime(ts: float, tz: tzinfo | None) -> _Tm:
    if tz is None:
        t = time.localtime(ts)
        return _Tm(
            t.tm_year,
            t.tm_mon - 1,
            t.tm_mday,
            t.tm_hour,
            t.tm_min,
            t.tm_sec,
            (t.tm_wday + 1) % 7,
            t.tm_yday - 1,
        )
    d = datetime.fromtimestamp(ts, tz)
    tt = d.timetuple()
    return _Tm(d.year, d.month - 1, d.day, d.hour, d.minute, d.second, (tt.tm_wday + 1) % 7, tt.tm_yday - 1)


def _mktime(year: int, mon0: int, mday: int, hour: int, minute: int, sec: int, tz: tzinfo | None) -> int:
    if tz is None:
        return int(time.mktime((year, mon0 + 1, mday, hour, minute, sec, 0, 0, -1)))
    return int(datetime(year, mon0 + 1, mday, hour, minute, sec, tzinfo=tz).timestamp())


def _parse_datetime(s: str, tz: tzinfo | None) -> tuple[int, _Tm]:
    if len(s) != 15 or s[8] not in "Tt" or not (s[:8].isdigit() and s[9:].isdigit()):
        raise ValueError(f"bad date-time {s!r} (expected YYYYMMDDThhmmss)")
    y, mo, d = int(s[0:4]), int(s[4:6]), int(s[6:8])
    h, mi, se = int(s[9:11]), int(s[11:13]), int(s[13:15])
    if y < 1970:
        raise ValueError(f"invalid year in date-time {s!r}")
    if mo == 0 or d == 0:
        raise ValueError(f"month or month day cannot be zero in date-time {s!r}")
    try:
        ts = _mktime(y, mo - 1, d, h, mi, se, tz)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"bad date-time {s!r}: {e}") from None
    return ts, _localtime(ts, tz)


def _parse_duration(s: str) -> int:
    if len(s) < 2:
        raise ValueError(f"bad duration {s!r}")
    date_part = s[0] in "Pp"
    i = 1 if date_part else 0
    total = 0
    acc = 0
    units_date = {"w": 7 * 86400, "d": 86400}
    units_time = {"h": 3600, "m": 60, "s": 1}
    for c in s[i:]:
        lc = c.lower()
        if c.isdigit():
            acc = acc * 10 + int(c)
        elif lc in units_date and date_part:
            total += acc * units_date[lc]
            acc = 0
        elif lc in units_time and not date_part:
            total += acc * units_time[lc]
            acc = 0
        elif lc == "t" and date_part:
            date_part = False
        else:
            raise ValueError(f"bad character {c!r} in duration {s!r}")
    return total


def _parse_byday(s: str) -> list[tuple[int, int]]:
    """'MO,-1SU,2TU' -> [(wday, req)], req = nth occurrence (0-based when positive, negative from the end)."""
    out: list[tuple[int, int]] = []
    for item in s.split(","):
        item = item.strip()
        if not item:
            raise ValueError(f"empty element in byday {s!r}")
        sign = 1
        if item[0] in "+-":
            sign = -1 if item[0] == "-" else 1
            item = item[1:]
        num = ""
        while item and item[0].isdigit():
            num += item[0]
            item = item[1:]
        wd = _WDAYS.get(item.lower())
        if wd is None:
            raise ValueError(f"bad week day in byday {s!r}")
        req = sign * int(num or 0)
        if req > 0:
            req -= 1
        out.append((wd, req))
    return out


def _parse_byxxx(s: str) -> list[tuple[int, int]]:
    """'1,-1,15' -> [(value, sign)]."""
    out: list[tuple[int, int]] = []
    for item in s.split(","):
        item = item.strip()
        sign = 1
        if item[:1] in ("+", "-"):
            sign = -1 if item[0] == "-" else 1
            item = item[1:]
        if not item.isdigit():
            raise ValueError(f"bad number list {s!r}")
        out.append((int(item), sign))
    return out


@dataclass(slots=True)
class TimeRec:
    source: str = ""
    tz: tzinfo | None = None
    dtstart: int | None = None
    ts: _Tm | None = None  # dtstart broken down
    dtend: int | None = None
    duration: int | None = None
    freq: int | None = None
    until: int | None = None
    interval: int | None = None
    byday: list[tuple[int, int]] | None = None
    bymday: list[tuple[int, int]] | None = None
    byyday: list[tuple[int, int]] | None = None
    byweekno: list[tuple[int, int]] | None = None
    bymonth: list[tuple[int, int]] | None = None
    _has_byxxx: bool = field(default=False)

    def _min_interval(self) -> int:
        if self.freq == FREQ_DAILY or self.byday or self.bymday or self.byyday:
            return FREQ_DAILY
        if self.freq == FREQ_WEEKLY or self.byweekno:
            return FREQ_WEEKLY
        if self.freq == FREQ_MONTHLY or self.bymonth:
            return FREQ_MONTHLY
        if self.freq == FREQ_YEARLY:
            return FREQ_YEARLY
        return FREQ_NONE

    def match(self, now: float) -> bool:
        if self.dtstart is None:
            return True
        t = int(now)
        assert self.dtend is not None and self.duration is not None
        if t < self.dtstart or (self.freq is None and t >= self.dtend):
            return False
        if self.freq is None:
            return True
        at = _localtime(t, self.tz)
        return (
            self._freq_interval(at)
            and self._min_unit(at)
            and self._byxxx(at)
            and (self.until is None or t <= self.until)
        )

    def _freq_interval(self, at: _Tm) -> bool:
        if self.interval is None or self.interval <= 1:
            return True
        ts = self.ts
        assert ts is not None
        if self.freq in (FREQ_DAILY, FREQ_WEEKLY):
            t0 = _mktime(ts.year, ts.mon, ts.mday, 0, 0, 0, self.tz)
            t1 = _mktime(at.year, at.mon, at.mday, 0, 0, 0, self.tz)
            if self.freq == FREQ_DAILY:
                return ((t1 - t0) // SEC_DAILY) % self.interval == 0
            t0 -= ((ts.wday + 6) % 7) * SEC_DAILY
            t1 -= ((at.wday + 6) % 7) * SEC_DAILY
            return ((t1 - t0) // SEC_WEEKLY) % self.interval == 0
        if self.freq == FREQ_MONTHLY:
            return ((at.year - ts.year) * 12 + at.mon - ts.mon) % self.interval == 0
        if self.freq == FREQ_YEARLY:
            return (at.year - ts.year) % self.interval == 0
        return False

    def _min_unit(self, at: _Tm) -> bool:
        mi = self._min_interval()
        dur = self.duration or 0
        limits = {FREQ_DAILY: SEC_DAILY, FREQ_WEEKLY: SEC_WEEKLY, FREQ_MONTHLY: SEC_MONTHLY_MAX}
        limits[FREQ_YEARLY] = SEC_YEARLY_MAX
        if mi not in limits:
            return False
        if dur >= limits[mi]:
            return True
        assert self.ts is not None and self.dtend is not None
        return _recur_itv(at, self.ts, _localtime(self.dtend, self.tz), dur, mi)

    def _byxxx(self, at: _Tm) -> bool:
        if not self._has_byxxx:
            return True
        ydays = 366 if calendar.isleap(at.year) else 365
        mdays = calendar.monthrange(at.year, at.mon + 1)[1]
        if self.bymonth and not any(at.mon == ((v - 1) * s + 12) % 12 for v, s in self.bymonth):
            return False
        if self.freq == FREQ_YEARLY and self.byweekno:
            dec31 = _localtime(_mktime(at.year, 11, 31, 12, 0, 0, self.tz), self.tz)
            max_yweek = _mon_week(dec31) + 1
            if not any(_mon_week(at) == ((v - 1) * s + max_yweek) % max_yweek for v, s in self.byweekno):
                return False
        if self.byyday and not any(at.yday == ((v - 1) * s + ydays) % ydays for v, s in self.byyday):
            return False
        if self.bymday and not any(
            at.mday == (v * s + mdays) % mdays + (1 if s < 0 else 0) for v, s in self.bymday
        ):
            return False
        if self.byday:
            if self.freq == FREQ_YEARLY:
                dec31 = _localtime(_mktime(at.year, 11, 31, 12, 0, 0, self.tz), self.tz)
                if at.wday > dec31.wday:
                    v = at.wday - dec31.wday + 1
                else:
                    v = dec31.wday - at.wday
                max_ywday = (dec31.yday - v) // 7 + 1
                ok = any(
                    at.wday == wd and at.yday // 7 == (req + max_ywday) % max_ywday for wd, req in self.byday
                )
            elif self.freq == FREQ_MONTHLY:
                max_mwday = (mdays - 1 - (mdays - at.mday) % 7) // 7 + 1
                wom = (at.mday - 1) // 7
                ok = any(at.wday == wd and wom == (req + max_mwday) % max_mwday for wd, req in self.byday)
            else:
                ok = any(at.wday == wd for wd, _ in self.byday)
            if not ok:
                return False
        return True


def _mon_week(t: _Tm) -> int:
    return (t.yday + 7 - (t.wday - 1 if t.wday else 6)) // 7


def _recur_itv(x: _Tm, bgn: _Tm, end: _Tm, dur: int, freq: int) -> bool:
    if freq == FREQ_YEARLY:
        d1, d2, dx = bgn.yday, end.yday, x.yday
    elif freq == FREQ_MONTHLY:
        d1, d2, dx = bgn.mday, end.mday, x.mday
    elif freq == FREQ_WEEKLY:
        d1, d2, dx = bgn.wday, end.wday, x.wday
    else:
        if bgn.mday == end.mday:
            return x.daysec - bgn.daysec >= 0 and end.daysec - x.daysec > 0
        # the daily window wraps over midnight
        return bgn.daysec - x.daysec <= 0 or x.daysec - end.daysec < 0
    if d1 < d2:
        if dx < d1 or dx > d2:
            return False
        if d1 < dx < d2:
            return True
    elif d2 < d1:
        if d2 < dx < d1:
            return False
        if dx < d2 or dx > d1:
            return True
    elif dx != d1:
        return dur > SEC_DAILY
    else:
        return x.daysec - bgn.daysec >= 0 and end.daysec - x.daysec > 0
    if dx == d1:
        diff = x.daysec - bgn.daysec
    else:
        diff = end.daysec - x.daysec
    return diff > 0


def _get_tz(name: str) -> tzinfo:
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(f"unknown timezone {name!r}") from None


def parse_timerec(text: str, *, with_dtend: bool = True) -> TimeRec:
    """Parse one recurrence; raises ValueError naming the bad field."""
    tr = TimeRec(source=text)
    fields = text.strip().split("|")
    if fields and fields[0][:1].isupper():
        tr.tz = _get_tz(fields[0].strip())
        fields = fields[1:]
    names = ["dtstart", "dtend", "duration", "freq", "until", "interval"]
    names += ["byday", "bymday", "byyday", "byweekno", "bymonth"]
    if not with_dtend:
        names.remove("dtend")
    if len(fields) > len(names):
        raise ValueError(f"too many fields in time recurrence {text!r}")
    for name, val in zip(names, fields, strict=False):
        val = val.strip()
        if not val:
            continue
        if name == "dtstart":
            tr.dtstart, tr.ts = _parse_datetime(val, tr.tz)
        elif name == "dtend":
            tr.dtend = _parse_datetime(val, tr.tz)[0]
        elif name == "until":
            tr.until = _parse_datetime(val, tr.tz)[0]
        elif name == "duration":
            tr.duration = _parse_duration(val)
        elif name == "freq":
            tr.freq = _FREQS.get(val.lower())
        elif name == "interval":
            digits = ""
            for c in val:
                if not c.isdigit():
                    break
                digits += c
            tr.interval = int(digits or 0)
        elif name == "byday":
            tr.byday = _parse_byday(val)
            tr._has_byxxx = True
        else:
            setattr(tr, name, _parse_byxxx(val))
            tr._has_byxxx = True
    if tr.dtstart is None:
        # OpenSIPS auto-fixes a missing dtstart to the epoch
        tr.dtstart = 0
        tr.ts = _localtime(0, tr.tz)
    ts = tr.ts
    assert ts is not None
    if tr.duration is None:
        if tr.dtend is None:
            mi = tr._min_interval()
            if mi == FREQ_DAILY:
                tr.dtend = tr.dtstart + SEC_DAILY - ts.daysec
            elif mi == FREQ_WEEKLY:
                tr.dtend = tr.dtstart + SEC_WEEKLY - (ts.wday * SEC_DAILY + ts.daysec)
            elif mi == FREQ_MONTHLY:
                tr.dtend = tr.dtstart + SEC_MONTHLY_MAX - (ts.mday * SEC_DAILY + ts.daysec)
            elif mi == FREQ_YEARLY:
                tr.dtend = tr.dtstart + SEC_YEARLY_MAX - (ts.yday * SEC_DAILY + ts.daysec)
            else:
                tr.dtend = 4294967295
        tr.duration = tr.dtend - tr.dtstart
    else:
        tr.dtend = tr.dtstart + tr.duration
    if tr.freq is None and (tr.until is not None or tr.interval is not None or tr._has_byxxx):
        raise ValueError(f"missing FREQ component in time recurrence {text!r}")
    return tr


@dataclass(frozen=True, slots=True)
class TimeRecExpr:
    """A recurrence or a combination: op in 'rec', 'and', 'or'; negate applies to the whole node."""

    op: str
    rec: TimeRec | None = None
    items: tuple[TimeRecExpr, ...] = ()
    negate: bool = False

    def match(self, now: float) -> bool:
        if self.op == "rec":
            assert self.rec is not None
            r = self.rec.match(now)
        elif self.op == "and":
            r = all(i.match(now) for i in self.items)
        else:
            r = any(i.match(now) for i in self.items)
        return r != self.negate


def _close_paren(s: str, i: int) -> int:
    depth = 0
    for j in range(i, len(s)):
        if s[j] == "(":
            depth += 1
        elif s[j] == ")":
            depth -= 1
            if depth == 0:
                return j
    raise ValueError(f"bad parentheses in time recurrence {s!r}")


def parse_timerec_expr(text: str, *, with_dtend: bool = True) -> TimeRecExpr:
    """Parse a 3.2+ multi-recurrence (&, /, !, parentheses); a plain recurrence works too."""
    s = text
    items: list[TimeRecExpr] = []
    op: str | None = None
    need_operand = True
    negate = False
    i = 0
    n = len(s)
    while i < n:
        c = s[i]
        if c.isspace():
            i += 1
            continue
        if need_operand:
            if c in ")&/":
                raise ValueError(f"unexpected {c!r} in time recurrence {text!r}")
            if c == "!":
                negate = not negate
                i += 1
                continue
            if c == "(":
                j = _close_paren(s, i)
                sub = parse_timerec_expr(s[i + 1 : j].strip(), with_dtend=with_dtend)
                if negate:
                    sub = TimeRecExpr(sub.op, sub.rec, sub.items, not sub.negate)
                    negate = False
                items.append(sub)
                i = j + 1
                need_operand = False
                continue
            j = i + 1
            seen_sep = c == "|"
            while j < n:
                cj = s[j]
                if cj in "!()":
                    raise ValueError(f"unexpected {cj!r} in time recurrence {text!r}")
                if cj == "|":
                    seen_sep = True
                if cj.isspace() or cj == "&" or (cj == "/" and seen_sep):
                    break
                j += 1
            rec = parse_timerec(s[i:j].strip(), with_dtend=with_dtend)
            items.append(TimeRecExpr("rec", rec, (), negate))
            negate = False
            i = j
            need_operand = False
            continue
        if c in "&/":
            this = "and" if c == "&" else "or"
            if op is not None and op != this:
                raise ValueError(
                    f"only one operator kind ('&' or '/') per level in {text!r}; use parentheses"
                )
            op = this
            need_operand = True
            i += 1
            continue
        raise ValueError(f"expected an operator at {s[i:]!r} in time recurrence {text!r}")
    if need_operand and op is not None:
        raise ValueError(f"missing operand in time recurrence {text!r}")
    if not items:
        # an empty recurrence matches everything
        return TimeRecExpr("rec", TimeRec(source=""), (), negate)
    if len(items) == 1 and op is None:
        return (
            items[0]
            if not negate
            else TimeRecExpr(items[0].op, items[0].rec, items[0].items, not items[0].negate)
        )
    return TimeRecExpr(op or "and", None, tuple(items), negate)


def check_time_rec(text: str, now: float) -> int:
    """cfgutils check_time_rec return codes: 1 match, -1 no match, -2 parse error."""
    try:
        expr = parse_timerec_expr(text)
    except ValueError:
        return -2
    return 1 if expr.match(now) else -1
