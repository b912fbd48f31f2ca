"""drouting: dynamic routing by prefix, group, time and priority to gateways and carriers (OpenSIPS 2.4 / 3.x).

Data: the ``dr_gateways``, ``dr_rules``, ``dr_carriers`` and ``dr_groups`` tables of ``db_url`` (db_text, 2.4 or
3.x column sets). Rule selection follows prefix_tree.c: the R-URI user is matched against the longest prefix that
has, for the group, a rule whose time recurrence matches now; rules of one prefix are tried by priority (highest
first, table order among equals); rules with an empty prefix are the default. A user with a character that is not
a digit (or in ``extra_prefix_chars``) only matches the default rules.

``do_routing`` rewrites the R-URI for the first usable gateway (``sip:`` + pri_prefix + user minus ``strip`` digits
``@`` gateway address, the URI parameters kept, as build_ruri does) and stores the others for ``use_next_gw`` in
``ruri_avp`` / ``gw_id_avp`` (first gateway on top), like push_gw_for_usage. With flag ``F`` an exhausted rule
falls back to the next rule of the same prefix, then to shorter prefixes.

Gateways with ``probe_mode`` 2 (always) or 1 (while disabled) get an OPTIONS every ``probing_interval`` seconds
from a start_service task (dr_prob_handler / dr_probing_callback): a 200 (or a ``probing_reply_codes`` code)
re-enables a gateway the probing disabled, a reply >= 400 or no reply disables an enabled one.

Not done: partitions (use_partitions), qrouting sort, routeid script routes.
"""

from __future__ import annotations

import ipaddress
import json
import random
import re
from typing import Any

from pysips.db.dbtext import DBTextError, open_db
from pysips.errors import MIError, PysipsError
from pysips.modules import (
    ALL_ROUTES,
    ANY,
    BRANCH,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REQUEST,
    STR,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules._timerec import TimeRecExpr, parse_timerec_expr
from pysips.modules.core import log_error
from pysips.modules.dispatcher import LoadedData

DR_PARAM_RULE_FALLBACK = 1 << 1
DR_PARAM_STRICT_LEN = 1 << 2
DR_PARAM_ONLY_CHECK = 1 << 3
DR_PARAM_WEIGHT = 1 << 5  # 2.x-3.0 flag W (3.1+: dr_rules.sort_alg)

DR_CR_FLAG_FIRST = 0x1
DR_CR_FLAG_IS_OFF = 0x2

_FALLBACK_AVP = "___dr_fallback__"
# db_check_table_version: the versions of the 2.4 and 3.x schemas
_TABLE_VERSIONS = {
    "dr_gateways": (6,),
    "dr_rules": (3, 4),
    "dr_carriers": (2, 3),
    "dr_groups": (2,),
}  # internal state for rule fallback (OpenSIPS uses hidden AVPs too)


class DRError(PysipsError):
    """Bad drouting data."""


class Gateway:
    __slots__ = ("id", "type", "address", "host", "port", "ip", "strip", "pri", "attrs", "sock", "disabled", "noen", "state",
                 "probe_mode", "description")  # fmt: skip

    def __init__(self, gwid: str, address: str) -> None:
        self.id = gwid
        self.address = address
        self.type = 0
        self.strip = 0
        self.pri = ""
        self.attrs: str | None = None
        self.sock: str | None = None
        self.disabled = False  # DR_DST_STAT_DSBL_FLAG
        self.noen = False  # DR_DST_STAT_NOEN_FLAG: disabled by the data or MI, probing may not re-enable it
        self.state = 0
        self.probe_mode = 0
        self.description: str | None = None
        hp = self.hostport.split(";", 1)[0]
        if hp.startswith("["):
            h, _, rest = hp[1:].partition("]")
            self.host = h
            self.port = int(rest[1:]) if rest.startswith(":") and rest[1:].isdigit() else 5060
        else:
            h, sep, p = hp.rpartition(":")
            if sep and p.isdigit():
                self.host, self.port = h, int(p)
            else:
                self.host, self.port = hp, 5060
        try:
            self.ip: str | None = str(ipaddress.ip_address(self.host))
        except ValueError:
            self.ip = None

    @property
    def hostport(self) -> str:
        """The gateway address as written, without a leading ``sip:`` (build_ruri's ip_str)."""
        a = self.address
        low = a.lower()
        if low.startswith("sip:"):
            a = a[4:]
        elif low.startswith("sips:"):
            a = a[5:]
        return a.split("@", 1)[1] if "@" in a else a


class Carrier:
    __slots__ = ("id", "gwl", "flags", "sort_alg", "attrs", "description")

    def __init__(self, cid: str) -> None:
        self.id = cid
        self.gwl: list[tuple[Gateway, int]] = []
        self.flags = 0
        self.sort_alg = "N"
        self.attrs: str | None = None
        self.description: str | None = None


class Rule:
    __slots__ = ("id", "groups", "prefix", "timerec", "priority", "routeid", "dsts", "sort_alg", "attrs")

    def __init__(self, rid: int) -> None:
        self.id = rid
        self.groups: list[int] = []
        self.prefix = ""
        self.timerec: TimeRecExpr | None = None
        self.priority = 0
        self.routeid: str | None = None
        self.dsts: list[tuple[Gateway | Carrier, int]] = []
        self.sort_alg = "N"
        self.attrs: str | None = None


class DRData:
    """One load of the four tables (swapped as a whole on reload)."""

    def __init__(self) -> None:
        self.gws: dict[str, Gateway] = {}
        self.carriers: dict[str, Carrier] = {}
        self.rules: dict[int, dict[str, list[Rule]]] = {}  # group -> prefix -> rules by priority
        self.groups: list[tuple[str, str | None, int]] = []  # (username, domain, group) from dr_groups
        self.nrules = 0


def _timerec_has_dtend(text: str) -> bool:
    """3.2+ recurrences carry dtend as the second field; 2.x-3.1 drouting ones have the duration there."""
    fields = text.strip().split("|")
    if fields and fields[0][:1].isupper():
        return True
    if len(fields) < 2:
        return True
    second = fields[1].strip()
    return second == "" or bool(re.fullmatch(r"\d{8}T\d{6}", second))


def _parse_list(text: str, data: DRData, where: str, allow_carriers: bool) -> list[tuple[Any, int]]:
    out: list[tuple[Any, int]] = []
    for item in re.split(r"[,;\s]+", text.strip()):
        if not item:
            continue
        name, _, w = item.partition("=")
        try:
            weight = int(w) if w else 1
        except ValueError:
            raise DRError(f"{where}: bad weight in {item!r}") from None
        if name.startswith("#"):
            if not allow_carriers:
                raise DRError(f"{where}: a carrier (#{name[1:]}) cannot be listed here")
            cr = data.carriers.get(name[1:])
            if cr is None:
                raise DRError(f"{where}: unknown carrier {name[1:]!r}")
            out.append((cr, weight))
        else:
            gw = data.gws.get(name)
            if gw is None:
                raise DRError(f"{where}: unknown gateway {name!r}")
            out.append((gw, weight))
    return out


def build_data(tables: dict[str, Any], extra_chars: str = "") -> DRData:
    """Tables (pysips.db Table objects for dr_gateways / dr_carriers / dr_rules / dr_groups) -> DRData."""
    data = DRData()
    gtab = tables["dr_gateways"]
    for row, line in zip(gtab.rows, gtab.lines, strict=True):
        where = f"{gtab.path}:{line}"
        gwid = row.get("gwid")
        addr = row.get("address")
        if not gwid or not addr:
            raise DRError(f"{where}: a gateway needs gwid and address")
        if gwid in data.gws:
            raise DRError(f"{where}: duplicate gateway id {gwid!r}")
        gw = Gateway(str(gwid), str(addr))
        gw.type = int(row.get("type") or 0)
        gw.strip = int(row.get("strip") or 0)
        gw.pri = row.get("pri_prefix") or ""
        gw.attrs = row.get("attrs")
        gw.sock = row.get("socket") or None
        gw.state = int(row.get("state") or 0)
        if gw.state not in (0, 1, 2):
            raise DRError(f"{where}: bad state {gw.state} (0 active, 1 disabled, 2 probing)")
        gw.disabled = gw.state != 0
        gw.noen = gw.state == 1
        gw.probe_mode = int(row.get("probe_mode") or 0)
        gw.description = row.get("description")
        data.gws[gw.id] = gw
    ctab = tables.get("dr_carriers")
    if ctab is not None:
        for row, line in zip(ctab.rows, ctab.lines, strict=True):
            where = f"{ctab.path}:{line}"
            cid = row.get("carrierid")
            if not cid:
                raise DRError(f"{where}: a carrier needs carrierid")
            cr = Carrier(str(cid))
            cr.gwl = _parse_list(row.get("gwlist") or "", data, where, False)
            cr.flags = int(row.get("flags") or 0)
            if int(row.get("state") or 0) != 0:
                cr.flags |= DR_CR_FLAG_IS_OFF
            cr.sort_alg = (row.get("sort_alg") or "N")[:1].upper()
            cr.attrs = row.get("attrs")
            cr.description = row.get("description")
            data.carriers[cr.id] = cr
    rtab = tables["dr_rules"]
    valid = set("0123456789" + extra_chars)
    for row, line in zip(rtab.rows, rtab.lines, strict=True):
        where = f"{rtab.path}:{line}"
        rule = Rule(int(row.get("ruleid") or 0))
        try:
            rule.groups = [int(g) for g in str(row.get("groupid") or "").split(",") if g.strip()]
        except ValueError:
            raise DRError(f"{where}: bad groupid {row.get('groupid')!r}") from None
        rule.prefix = row.get("prefix") or ""
        if any(c not in valid for c in rule.prefix):
            raise DRError(f"{where}: prefix {rule.prefix!r} has characters other than digits")
        tr = row.get("timerec")
        if tr:
            try:
                rule.timerec = parse_timerec_expr(tr, with_dtend=_timerec_has_dtend(tr))
            except ValueError as e:
                raise DRError(f"{where}: bad timerec {tr!r}: {e}") from None
        rule.priority = int(row.get("priority") or 0)
        rule.routeid = row.get("routeid") or None
        rule.dsts = _parse_list(row.get("gwlist") or "", data, where, True)
        rule.sort_alg = (row.get("sort_alg") or "N")[:1].upper()
        rule.attrs = row.get("attrs")
        for g in rule.groups:
            lst = data.rules.setdefault(g, {}).setdefault(rule.prefix, [])
            # routing.c add_rt_info: higher priority first, table order among equals
            k = 0
            while k < len(lst) and lst[k].priority >= rule.priority:
                k += 1
            lst.insert(k, rule)
        data.nrules += 1
    gtab2 = tables.get("dr_groups")
    if gtab2 is not None:
        for row in gtab2.rows:
            data.groups.append(
                (str(row.get("username") or ""), row.get("domain"), int(row.get("groupid") or 0))
            )
    return data


class DRState:
    def __init__(self) -> None:
        self.db_url: str | None = None
        self.tables = {"dr_gateways": "dr_gateways", "dr_rules": "dr_rules", "dr_carriers": "dr_carriers",
                       "dr_groups": "dr_groups"}  # fmt: skip
        self.data = DRData()
        self.avps: dict[str, str | None] = {}
        self.use_domain = 1
        self.default_group = -1
        self.extra_chars = ""
        self.valid_chars = frozenset("0123456789")
        self.probing_interval = 30
        self.probing_method = "OPTIONS"
        self.probing_from = "sip:prober@localhost"
        self.probing_reply_codes: set[int] = set()
        self.log: Any = None
        self.rng = random.Random()

    def warn(self, text: str) -> None:
        if self.log is not None:
            self.log(text)

    def load(self) -> DRData:
        if not self.db_url:
            return DRData()
        db = open_db(self.db_url)
        tables = {}
        for key, name in self.tables.items():
            if key in ("dr_carriers", "dr_groups") and not _exists(db.path(name)):
                continue  # optional tables
            db.check_version(name, *_TABLE_VERSIONS[key])
            tables[key] = db.table(name)
        return build_data(tables, self.extra_chars)

    def reload(self, inherit_state: bool = True) -> None:
        try:
            new = self.load()
        except (DBTextError, DRError) as e:
            self.warn(f"drouting: failed to load routing info, keeping the old data: {e}")
            raise MIError("Failed to reload", 500) from None
        if inherit_state:
            for gid, gw in new.gws.items():
                old = self.data.gws.get(gid)
                if old is not None:
                    gw.disabled, gw.noen = old.disabled, old.noen
            for cid, cr in new.carriers.items():
                oldc = self.data.carriers.get(cid)
                if oldc is not None:
                    cr.flags = (cr.flags & ~DR_CR_FLAG_IS_OFF) | (oldc.flags & DR_CR_FLAG_IS_OFF)
        self.data = new


def _exists(path: str) -> bool:
    import os

    return os.path.exists(path)


def _avp(spec: Any) -> str | None:
    if not spec:
        return None
    m = re.fullmatch(r"\s*\$avp\(([^)]+)\)\s*", str(spec))
    return m.group(1) if m else str(spec).strip()


def build_state(params: dict[str, Any], log: Any = None, load: bool = True) -> DRState:
    st = DRState()
    st.log = log
    g = params.get
    st.db_url = g("db_url")
    for key, mp in (("dr_gateways", "drd_table"), ("dr_rules", "drr_table"), ("dr_carriers", "drc_table"),
                    ("dr_groups", "drg_table")):  # fmt: skip
        if g(mp):
            st.tables[key] = g(mp)
    st.avps = {
        "ruri": _avp(g("ruri_avp") or "$avp(___dr_ruri__)"),
        "gw_id": _avp(g("gw_id_avp") or "$avp(___dr_gw_id__)"),
        "sock": _avp(g("gw_sock_avp") or "$avp(___dr_sock__)"),
        "gw_attrs": _avp(g("gw_attrs_avp") or "$avp(___dr_gw_att__)"),
        "carrier_attrs": _avp(g("carrier_attrs_avp") or "$avp(___dr_cr_att__)"),
        "rule_attrs": _avp(g("rule_attrs_avp") or "$avp(___dr_ru_att__)"),
        "rule_id": _avp(g("rule_id_avp")),
        "rule_prefix": _avp(g("rule_prefix_avp")),
        "carrier_id": _avp(g("carrier_id_avp")),
        "gw_priprefix": _avp(g("gw_priprefix_avp")),
    }
    st.use_domain = int(g("use_domain") if g("use_domain") is not None else 1)
    st.default_group = int(g("default_group") if g("default_group") is not None else -1)
    st.extra_chars = g("extra_prefix_chars") or ""
    st.valid_chars = frozenset("0123456789" + st.extra_chars)
    st.probing_interval = int(g("probing_interval") if g("probing_interval") is not None else 30)
    st.probing_method = g("probing_method") or "OPTIONS"
    st.probing_from = g("probing_from") or "sip:prober@localhost"
    codes = g("probing_reply_codes")
    if codes:
        try:
            st.probing_reply_codes = {int(c) for c in str(codes).split(",") if c.strip()}
        except ValueError:
            raise ValueError(f'bad probing_reply_codes {codes!r}: expected numbers like "501, 403"') from None
    if load and st.db_url:
        scheme, sep, rest = st.db_url.partition("://")
        if sep and scheme.lower() not in ("text", "dbtext", "db_text"):
            st.warn(
                f"drouting: db_url {st.db_url!r}: only db_text (text:///dir) is available; no routing data"
            )
            return st
        if sep and not _exists(rest):
            st.warn(f"drouting: db_text directory {rest!r} does not exist; no routing data")
            return st
        try:
            st.data = st.load()
        except (DBTextError, DRError) as e:
            raise ValueError(f"cannot load routing data: {e}") from None
    return st


_DATA = LoadedData("drouting", build_state, DRError)
init = _DATA.init


def state(ctx: Any) -> DRState:
    return _DATA.state(ctx)


DR_PROBE_PREFIX = "z9hG4bKdrprobe"


class DRProber:
    """dr_prob_handler + dr_probing_callback."""

    def __init__(self, st: DRState, core: Any) -> None:
        from pysips.modules.dispatcher import OptionsProbes

        self.st = st
        timeout = float(getattr(getattr(core, "tm", None), "fr_timeout", 5) or 5)
        self.probes = OptionsProbes(core, DR_PROBE_PREFIX, timeout, self.on_result)

    def targets(self) -> list[Gateway]:
        return [
            gw
            for gw in self.st.data.gws.values()
            if not gw.noen and (gw.probe_mode == 2 or (gw.probe_mode == 1 and gw.disabled))
        ]

    def send_round(self, now: float) -> int:
        st = self.st
        sent = 0
        for gw in self.targets():
            uri = "sip:" + gw.hostport
            if self.probes.send(gw.id, uri, uri, st.probing_method, st.probing_from, -1, now):
                sent += 1
        return sent

    def on_result(self, gwid: str, code: int) -> None:
        st = self.st
        gw = st.data.gws.get(gwid)  # looked up again: a reload may have replaced the gateways
        if gw is None:
            return
        if code == 200 or code in st.probing_reply_codes:
            if gw.disabled and not gw.noen:
                gw.disabled = False
                st.warn(
                    f"drouting: GW <{gw.id}>/{gw.hostport} switched to [active] due to 200 OK probing reply"
                )
        elif code >= 400 and not gw.disabled:
            gw.disabled = True
            st.warn(
                f"drouting: GW <{gw.id}>/{gw.hostport} switched to [{_gw_state_name(gw).lower()}] "
                "due to negative probing reply"
            )


async def start_service(core: Any, program: Any, *, task_status: Any) -> None:
    """Build this server's routing data and run the gateway probing timer (probing_interval)."""
    from pysips.modules.dispatcher import serve_routing_module

    await serve_routing_module(
        core, program, task_status, name="drouting", loaded=(_DATA.data, _DATA.params), build=build_state,
        prober_cls=DRProber, prefix=DR_PROBE_PREFIX, interval_attr="probing_interval",
    )  # fmt: skip


# ---------------------------------------------------------------- routing


def _rule_at(lst: list[Rule] | None, start: int, now: float) -> tuple[Rule | None, int]:
    """internal_check_rt: the first rule from index ``start`` whose time matches; (rule, next index or 0)."""
    if not lst:
        return None, 0
    for j in range(start, len(lst)):
        r = lst[j]
        if r.timerec is None or r.timerec.match(now):
            return r, (j + 1 if j + 1 < len(lst) else 0)
    return None, 0


def find_rule(data: DRData, group: int, number: str, now: float, valid: frozenset[str], start: int = 0,
              strict: bool = False) -> tuple[Rule | None, int, int]:  # fmt: skip
    """(rule, matched prefix length, next rule index) for a number (get_prefix + the prefixless fallback)."""
    tree = data.rules.get(group) or {}
    if number and all(c in valid for c in number):
        for plen in range(len(number), 0, -1):
            lst = tree.get(number[:plen])
            if lst:
                r, nxt = _rule_at(lst, start, now)
                if r is not None:
                    if strict and plen != len(number):
                        return None, plen, 0
                    return r, plen, nxt
            start = 0
    if strict:
        return None, 0, 0
    r, nxt = _rule_at(tree.get(""), start if not number else 0, now)
    return r, 0, nxt


def _weighted_order(items: list[tuple[Any, int]], rng: random.Random) -> list[tuple[Any, int]]:
    """Weight-based ordering: pick one at random in proportion to its weight, repeat over the rest."""
    rest = list(items)
    out = []
    while rest:
        total = sum(max(w, 0) for _, w in rest)
        if total <= 0:
            out.extend(rest)
            break
        r = rng.randrange(total)
        for k, (_obj, w) in enumerate(rest):
            if r < max(w, 0):
                out.append(rest.pop(k))
                break
            r -= max(w, 0)
    return out


def build_ruri(uri: Any, strip: int, pri: str, hostport: str) -> str:
    """drouting build_ruri: sip:[pri][user minus strip][:pass]@hostport[;params][?headers]."""
    user = uri.user or ""
    strip = min(strip, len(user))
    u = pri + user[strip:]
    out = "sip:" + u
    if uri.password:
        out += ":" + uri.password
    if uri.password or u:
        out += "@"
    out += hostport
    if uri.params:
        out += ";" + ";".join(n if v is None else f"{n}={v}" for n, v in uri.params)
    if uri.headers:
        out += "?" + uri.headers
    return out


def _expand(st: DRState, dsts: list[tuple[Any, int]], sort_alg: str, whitelist: set[str] | None
            ) -> list[tuple[Gateway, Carrier | None]]:  # fmt: skip
    items = _weighted_order(dsts, st.rng) if sort_alg == "W" else list(dsts)
    out: list[tuple[Gateway, Carrier | None]] = []
    for obj, _w in items:
        if isinstance(obj, Carrier):
            if obj.flags & DR_CR_FLAG_IS_OFF or (whitelist is not None and "#" + obj.id not in whitelist):
                continue
            gws = _weighted_order(obj.gwl, st.rng) if obj.sort_alg == "W" else obj.gwl
            for gw, _ in gws:
                if gw.disabled:
                    continue
                out.append((gw, obj))
                if obj.flags & DR_CR_FLAG_FIRST:
                    break
        else:
            if obj.disabled or (whitelist is not None and obj.id not in whitelist):
                continue
            out.append((obj, None))
    return out


def _clear_avps(ctx: Any, st: DRState) -> None:
    avps = ctx.avps
    for name in st.avps.values():
        if name:
            avps.delete_all(name)


def _push_gws(ctx: Any, st: DRState, uri: Any, gws: list[tuple[Gateway, Carrier | None]],
              attrs_out: tuple[Any, Any]) -> None:  # fmt: skip
    avps = ctx.avps
    a = st.avps
    for k, (gw, cr) in enumerate(gws):
        ruri = build_ruri(uri, gw.strip, gw.pri, gw.hostport)
        if k == 0:
            ctx.set_ruri(ruri)
            if gw.sock:
                ctx.force_socket = gw.sock
        else:
            avps.append(a["ruri"], ruri)
            avps.append(a["sock"], gw.sock or "(nil)")
        avps.append(a["gw_id"], gw.id)
        if attrs_out[0] is not None:
            avps.append(a["gw_attrs"], gw.attrs or "")
        if attrs_out[1] is not None:
            avps.append(a["carrier_attrs"], (cr.attrs if cr else None) or "")
        if a["gw_priprefix"]:
            avps.append(a["gw_priprefix"], gw.pri or "")
        if a["carrier_id"]:
            avps.append(a["carrier_id"], cr.id if cr else "")
    gw0, cr0 = gws[0]
    if attrs_out[0] is not None:
        attrs_out[0].set(ctx, "=", gw0.attrs or "")
    if attrs_out[1] is not None:
        attrs_out[1].set(ctx, "=", (cr0.attrs if cr0 else None) or "")


def do_routing(ctx: Any, st: DRState, group: int, flags: int, whitelist: set[str] | None,
               out: tuple[Any, Any, Any], resume: dict | None = None) -> int:  # fmt: skip
    """The core of do_routing(); ``resume`` continues a rule fallback started by an earlier call."""
    data = st.data
    msg = ctx.msg
    if msg is None or not msg.is_request:
        return -1
    if not flags & DR_PARAM_ONLY_CHECK:
        _clear_avps(ctx, st)
    valid = st.valid_chars
    if resume is None:
        if group < 0:
            group = _group_of(ctx, st)
            if group < 0:
                log_error(ctx, "do_routing: failed to get group id")
                return -1
        uri = msg.ruri.copy()
        number = uri.user or ""
        start = 0
    else:
        group = resume["group"]
        from pysips.sip.uri import parse_uri

        uri = parse_uri(resume["ruri"])
        number = resume["number"]
        start = resume["start"]
    now = ctx.now
    while True:
        rule, plen, nxt = find_rule(data, group, number, now, valid, start, bool(flags & DR_PARAM_STRICT_LEN))
        if rule is None:
            return -1
        if flags & DR_PARAM_ONLY_CHECK:
            gws: list = []
            break
        gws = _expand(st, rule.dsts, "W" if flags & DR_PARAM_WEIGHT else rule.sort_alg, whitelist)
        if gws or not flags & DR_PARAM_RULE_FALLBACK:
            break
        number, start = (number[:plen], nxt) if nxt else (number[: plen - 1] if plen else "", 0)
        if not number and plen == 0 and not nxt:
            return -1
    if not gws and not flags & DR_PARAM_ONLY_CHECK:
        return -1
    a = st.avps
    if gws:
        _push_gws(ctx, st, uri, gws, (out[1], out[2]))
    if a["rule_prefix"]:
        ctx.avps.push(a["rule_prefix"], number[:plen])
    if a["rule_id"]:
        ctx.avps.push(a["rule_id"], rule.id)
    if out[0] is not None:
        out[0].set(ctx, "=", rule.attrs or "")
    ctx.avps.push(a["rule_attrs"], rule.attrs or "")
    if flags & DR_PARAM_RULE_FALLBACK and (plen or nxt):
        nnum, nstart = (number[:plen], nxt) if nxt else (number[: plen - 1] if plen else "", 0)
        state_ = {"group": group, "ruri": str(uri), "number": nnum, "start": nstart, "flags": flags}
        if whitelist is not None:
            state_["whitelist"] = sorted(whitelist)
        ctx.avps.set_all(_FALLBACK_AVP, json.dumps(state_, separators=(",", ":")))
    else:
        ctx.avps.delete_all(_FALLBACK_AVP)
    return 1


def _group_of(ctx: Any, st: DRState) -> int:
    msg = ctx.msg
    try:
        fu = msg.from_.uri
    except (AttributeError, PysipsError):
        return st.default_group
    user = fu.user or ""
    host = fu.host.lower()
    for u, d, g in st.data.groups:
        if u == user and (not st.use_domain or (d or "").lower() == host):
            return g
    return st.default_group


def use_next_gw(ctx: Any, st: DRState, out: tuple[Any, Any, Any]) -> int:
    avps = ctx.avps
    a = st.avps
    if avps.count(a["gw_id"]) == 0:
        log_error(ctx, "use_next_gw: no GWs found at all -> have you done do_routing in script ??")
        return -1
    while True:
        avps.delete(a["gw_id"])
        for key in ("gw_attrs", "carrier_attrs", "gw_priprefix", "carrier_id"):
            if a[key] and avps.count(a[key]):
                avps.delete(a[key])
        gwid = avps.get(a["gw_id"])
        ruri = avps.get(a["ruri"])
        if gwid is None or ruri is None:
            return _rule_fallback(ctx, st, out)
        sock = avps.get(a["sock"])
        if sock is not None:
            avps.delete(a["sock"])
        avps.delete(a["ruri"])
        gw = st.data.gws.get(str(gwid))
        if gw is not None and not gw.disabled:
            break
    ctx.set_ruri(ruri)
    if isinstance(sock, str) and sock != "(nil)":
        ctx.force_socket = sock
    if out[1] is not None:
        out[1].set(ctx, "=", avps.get(a["gw_attrs"]) or "")
    if out[2] is not None:
        out[2].set(ctx, "=", avps.get(a["carrier_attrs"]) or "")
    if out[0] is not None:
        out[0].set(ctx, "=", avps.get(a["rule_attrs"]) or "")
    return 1


def _rule_fallback(ctx: Any, st: DRState, out: tuple[Any, Any, Any]) -> int:
    raw = ctx.avps.get(_FALLBACK_AVP)
    if not isinstance(raw, str):
        return -1
    ctx.avps.delete_all(_FALLBACK_AVP)
    try:
        fb = json.loads(raw)
    except ValueError:
        return -1
    wl = set(fb["whitelist"]) if "whitelist" in fb else None
    return do_routing(ctx, st, fb["group"], fb["flags"], wl, out, resume=fb)


# ---------------------------------------------------------------- script wrappers


def _dr_flags(text: str | None) -> int:
    flags = 0
    for c in (text or "").upper():
        if c == "F":
            flags |= DR_PARAM_RULE_FALLBACK
        elif c == "L":
            flags |= DR_PARAM_STRICT_LEN
        elif c == "C":
            flags |= DR_PARAM_ONLY_CHECK
        elif c == "W":
            flags |= DR_PARAM_WEIGHT
        elif c == " ":
            continue
        else:
            raise ValueError(f"unknown do_routing flag {c!r} (F, L, C, W)")
    return flags


def _st(ctx: Any) -> DRState | None:
    try:
        return state(ctx)
    except DRError as e:
        log_error(ctx, str(e))
        return None


def w_do_routing(ctx: Any, group: Any = None, flags: str | None = None, whitelist: str | None = None,
                 rule_attrs: Any = None, gw_attrs: Any = None, carrier_attrs: Any = None,
                 partition: str | None = None) -> int:  # fmt: skip
    st = _st(ctx)
    if st is None:
        return -1
    grp = -1
    if group is not None and group != "":
        text = str(group).strip()
        if ":" in text:  # 2.x "partition:group"
            text = text.partition(":")[2].strip()
        if text:
            try:
                grp = int(text)
            except ValueError:
                log_error(ctx, f"do_routing: bad group id {group!r}")
                return -1
    try:
        fl = _dr_flags(flags)
    except ValueError as e:
        log_error(ctx, str(e))
        return -1
    wl = None
    if whitelist:
        wl = {x.split("=", 1)[0] for x in re.split(r"[,;\s]+", whitelist.strip()) if x}
    return do_routing(ctx, st, grp, fl, wl, (rule_attrs, gw_attrs, carrier_attrs))


def w_use_next_gw(ctx: Any, rule_attrs: Any = None, gw_attrs: Any = None, carrier_attrs: Any = None,
                  partition: str | None = None) -> int:  # fmt: skip
    st = _st(ctx)
    return -1 if st is None else use_next_gw(ctx, st, (rule_attrs, gw_attrs, carrier_attrs))


def w_next_routing(ctx: Any, *args: Any) -> int:
    """1.x name of use_next_gw."""
    st = _st(ctx)
    return -1 if st is None else use_next_gw(ctx, st, (None, None, None))


def _route_to(ctx: Any, st: DRState, gws: list[tuple[Gateway, Carrier | None]], gw_attrs: Any,
              carrier_attrs: Any) -> int:  # fmt: skip
    msg = ctx.msg
    if msg is None or not msg.is_request or not gws:
        return -1
    _clear_avps(ctx, st)
    _push_gws(ctx, st, msg.ruri.copy(), gws, (gw_attrs, carrier_attrs))
    return 1


def w_route_to_gw(ctx: Any, ids: str, gw_attrs: Any = None, carrier_attrs: Any = None,
                  partition: str | None = None) -> int:  # fmt: skip
    st = _st(ctx)
    if st is None:
        return -1
    gws = []
    for gid in re.split(r"[,;\s]+", str(ids).strip()):
        if not gid:
            continue
        gw = st.data.gws.get(gid)
        if gw is None:
            log_error(ctx, f"route_to_gw: unknown gateway {gid!r}")
            return -1
        if not gw.disabled:
            gws.append((gw, None))
    return _route_to(ctx, st, gws, gw_attrs, carrier_attrs)


def w_route_to_carrier(ctx: Any, ids: str, gw_attrs: Any = None, carrier_attrs: Any = None,
                       partition: str | None = None) -> int:  # fmt: skip
    st = _st(ctx)
    if st is None:
        return -1
    dsts = []
    for cid in re.split(r"[,;\s]+", str(ids).strip()):
        if not cid:
            continue
        cr = st.data.carriers.get(cid.lstrip("#"))
        if cr is None:
            log_error(ctx, f"route_to_carrier: unknown carrier {cid!r}")
            return -1
        dsts.append((cr, 1))
    return _route_to(ctx, st, _expand(st, dsts, "N", None), gw_attrs, carrier_attrs)


def _match_gw(ctx: Any, st: DRState, host: str, port: int | None, gtype: Any, flags: str | None, gw_attrs: Any,
              carrier_attrs: Any) -> int:  # fmt: skip
    fl = flags or ""
    try:
        ip = str(ipaddress.ip_address(host.strip("[]")))
    except ValueError:
        ip = host.lower()
    t = -1 if gtype is None or gtype == "" else int(gtype)
    for gw in st.data.gws.values():
        if t >= 0 and gw.type != t:
            continue
        gip = gw.ip or gw.host.lower()
        if gip != ip:
            continue
        if "n" not in fl and port is not None and port != gw.port:
            continue
        msg = ctx.msg
        if msg is not None and msg.is_request and ("s" in fl or "p" in fl):
            uri = msg.ruri.copy()
            user = uri.user or ""
            if "s" in fl and gw.strip:
                user = user[gw.strip :]
            if "p" in fl and gw.pri:
                user = gw.pri + user
            uri.user = user
            ctx.set_ruri(uri)
        if "i" in fl:
            ctx.avps.push(st.avps["gw_id"], gw.id)
        if "c" in fl:
            for cr in st.data.carriers.values():
                if any(g is gw for g, _ in cr.gwl) and st.avps["carrier_id"]:
                    ctx.avps.push(st.avps["carrier_id"], cr.id)
                    break
        if gw_attrs is not None:
            gw_attrs.set(ctx, "=", gw.attrs or "")
        if carrier_attrs is not None:
            cr_attrs = next(
                (cr.attrs for cr in st.data.carriers.values() if any(g is gw for g, _ in cr.gwl)), None
            )
            carrier_attrs.set(ctx, "=", cr_attrs or "")
        return 1
    return -1


def w_is_from_gw(ctx: Any, gtype: Any = None, flags: str | None = None, gw_attrs: Any = None,
                 carrier_attrs: Any = None, partition: str | None = None) -> int:  # fmt: skip
    st = _st(ctx)
    if st is None:
        return -1
    return _match_gw(ctx, st, ctx.src_ip, ctx.src_port, gtype, flags, gw_attrs, carrier_attrs)


def w_goes_to_gw(ctx: Any, gtype: Any = None, flags: str | None = None, gw_attrs: Any = None,
                 carrier_attrs: Any = None, partition: str | None = None) -> int:  # fmt: skip
    st = _st(ctx)
    msg = ctx.msg
    if st is None or msg is None or not msg.is_request:
        return -1
    from pysips.sip.uri import parse_uri

    try:
        u = parse_uri(ctx.du) if ctx.du else msg.ruri
    except PysipsError:
        return -1
    return _match_gw(ctx, st, u.host, u.port or 5060, gtype, flags, gw_attrs, carrier_attrs)


def w_dr_is_gw(ctx: Any, uri: str, gtype: Any = None, flags: str | None = None, gw_attrs: Any = None,
               carrier_attrs: Any = None, partition: str | None = None) -> int:  # fmt: skip
    st = _st(ctx)
    if st is None:
        return -1
    from pysips.sip.uri import parse_uri

    try:
        u = parse_uri(str(uri))
    except PysipsError:
        log_error(ctx, f"dr_is_gw: bad uri {uri!r}")
        return -1
    return _match_gw(ctx, st, u.host, u.port or 5060, gtype, flags, gw_attrs, carrier_attrs)


def w_dr_disable(ctx: Any, partition: str | None = None) -> int:
    """Disable the gateway in use (the top of gw_id_avp), as after a failure."""
    st = _st(ctx)
    if st is None:
        return -1
    gwid = ctx.avps.get(st.avps["gw_id"])
    gw = st.data.gws.get(str(gwid)) if gwid is not None else None
    if gw is None:
        return -1
    gw.disabled = True
    st.warn(f"drouting: gateway {gw.id} disabled by the script")
    return 1


def w_dr_match(ctx: Any, group: Any, flags: str | None, number: str, rule_attrs: Any = None,
               partition: str | None = None) -> int:  # fmt: skip
    st = _st(ctx)
    if st is None:
        return -1
    try:
        fl = _dr_flags(flags)
    except ValueError as e:
        log_error(ctx, str(e))
        return -1
    valid = st.valid_chars
    rule, plen, _ = find_rule(
        st.data, int(group), str(number), ctx.now, valid, 0, bool(fl & DR_PARAM_STRICT_LEN)
    )
    if rule is None:
        return -1
    if rule_attrs is not None:
        rule_attrs.set(ctx, "=", rule.attrs or "")
    if st.avps["rule_id"]:
        ctx.avps.push(st.avps["rule_id"], rule.id)
    return 1


# ---------------------------------------------------------------- MI


def _mi_state(core: Any) -> DRState:
    return _DATA.mi_state(core)


def _p(params: Any, name: str, pos: int) -> Any:
    if isinstance(params, dict):
        return params.get(name)
    if isinstance(params, (list, tuple)) and pos < len(params):
        return params[pos]
    return None


def _mi_bool(v: Any, default: bool) -> bool:
    if v is None:
        return default
    return str(v).strip().lower() not in ("0", "n", "no", "false", "off")


def mi_dr_reload(core: Any, params: Any = None) -> str:
    """dr_reload [partition_name] [inherit_state]: new data swapped in; gateway / carrier states kept by id."""
    _mi_state(core).reload(inherit_state=_mi_bool(_p(params, "inherit_state", 0), True))
    return "OK"


def _gw_state_name(gw: Gateway) -> str:
    """mi_dr_print_gw_state."""
    if not gw.disabled:
        return "Active"
    if gw.noen:
        return "Disabled MI"
    return "Probing" if gw.probe_mode == 1 else "Inactive"


def _gw_item(gw: Gateway, with_id: bool) -> dict[str, str]:
    item = {"ID": gw.id, "IP": gw.hostport} if with_id else {}
    if gw.attrs:
        item["ATTRS"] = gw.attrs
    item["State"] = _gw_state_name(gw)
    return item


def mi_dr_gw_status(core: Any, params: Any = None) -> Any:
    """dr_gw_status [gw_id [status 0|1]]: list every gateway, show one, or enable/disable one."""
    st = _mi_state(core)
    gwid = _p(params, "gw_id", 0)
    status = _p(params, "status", 1)
    if gwid is None:
        return {"Gateways": [_gw_item(g, True) for g in st.data.gws.values()]}
    gw = st.data.gws.get(str(gwid))
    if gw is None:
        raise MIError("GW ID not found", 404)
    if status is None:
        return _gw_item(gw, False)
    try:
        s = int(status)
    except ValueError:
        raise MIError("Bad status value", 400) from None
    old = (gw.disabled, gw.noen)
    gw.disabled = gw.noen = s == 0
    if (gw.disabled, gw.noen) != old:
        st.warn(
            f"drouting: GW <{gw.id}>/{gw.hostport} switched to [{_gw_state_name(gw).lower()}] due to MI command"
        )
    return "OK"


def _cr_item(cr: Carrier, with_id: bool) -> dict[str, str]:
    item = {"ID": cr.id} if with_id else {}
    if cr.attrs:
        item["ATTRS"] = cr.attrs
    item["Enabled"] = "no " if cr.flags & DR_CR_FLAG_IS_OFF else "yes"
    return item


def mi_dr_carrier_status(core: Any, params: Any = None) -> Any:
    st = _mi_state(core)
    cid = _p(params, "carrier_id", 0)
    status = _p(params, "status", 1)
    if cid is None:
        return {"Carriers": [_cr_item(c, True) for c in st.data.carriers.values()]}
    cr = st.data.carriers.get(str(cid))
    if cr is None:
        raise MIError("Carrier ID not found", 404)
    if status is None:
        return _cr_item(cr, False)
    try:
        on = int(status)
    except ValueError:
        raise MIError("Bad status value", 400) from None
    if on:
        cr.flags &= ~DR_CR_FLAG_IS_OFF
    else:
        cr.flags |= DR_CR_FLAG_IS_OFF
    return "OK"


def mi_dr_number_routing(core: Any, params: Any = None) -> Any:
    """dr_number_routing [group_id] number: the rule a number matches now (prefix, GW list, attrs)."""
    st = _mi_state(core)
    number = _p(params, "number", 0)
    group = _p(params, "group_id", 1)
    if isinstance(params, (list, tuple)) and len(params) == 2:
        group, number = params
    if number is None:
        raise MIError("Invalid params", -32602)
    import time as _time

    gid = -1 if group is None else int(group)
    groups = [gid] if gid >= 0 else sorted(st.data.rules)
    for g in groups:
        rule, plen, _ = find_rule(st.data, g, str(number), _time.time(), st.valid_chars)
        if rule is not None:
            out: dict[str, Any] = {"Matched Prefix": str(number)[:plen], "GW List": []}
            for obj, _w in rule.dsts:
                out["GW List"].append(
                    {"CARRIER": obj.id} if isinstance(obj, Carrier) else {"GATEWAY": obj.id}
                )
            if rule.attrs:
                out["ATTRS"] = rule.attrs
            return out
    return "No match"


MODULE = ModuleSpec.build(
    "drouting",
    doc="dynamic routing: prefix rules, time recurrences, gateways and carriers (db_text)",
    functions=[
        FunctionSpec(
            "do_routing",
            (
                ParamSpec(ANY, optional=True, name="groupID"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(STR, optional=True, name="gw_whitelist"),
                ParamSpec(VAR, optional=True, name="rule_attrs_pvar"),
                ParamSpec(VAR, optional=True, name="gw_attrs_pvar"),
                ParamSpec(VAR, optional=True, name="carrier_attrs_pvar"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_do_routing,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "route_to_carrier",
            (
                ParamSpec(STR, name="carriers"),
                ParamSpec(VAR, optional=True, name="gw_attrs_pvar"),
                ParamSpec(VAR, optional=True, name="carrier_attrs_pvar"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_route_to_carrier,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "route_to_gw",
            (
                ParamSpec(STR, name="gw_id"),
                ParamSpec(VAR, optional=True, name="gw_attrs_var"),
                ParamSpec(VAR, optional=True, name="carrier_attrs_var"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_route_to_gw,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "use_next_gw",
            (
                ParamSpec(VAR, optional=True, name="rule_attrs_pvar"),
                ParamSpec(VAR, optional=True, name="gw_attrs_pvar"),
                ParamSpec(VAR, optional=True, name="carrier_attrs_pvar"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_use_next_gw,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "is_from_gw",
            (
                ParamSpec(INT, optional=True, name="type"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(VAR, optional=True, name="gw_attrs_pvar"),
                ParamSpec(VAR, optional=True, name="carrier_attrs_pvar"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_is_from_gw,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH}),
        ),
        FunctionSpec(
            "goes_to_gw",
            (
                ParamSpec(INT, optional=True, name="type"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(VAR, optional=True, name="gw_attrs_pvar"),
                ParamSpec(VAR, optional=True, name="carrier_attrs_pvar"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_goes_to_gw,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "dr_is_gw",
            (
                ParamSpec(STR, name="sip_uri"),
                ParamSpec(INT, optional=True, name="type"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(VAR, optional=True, name="gw_attrs_pvar"),
                ParamSpec(VAR, optional=True, name="carrier_attrs_pvar"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_dr_is_gw,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "dr_disable",
            (ParamSpec(STR, optional=True, name="partition"),),
            w_dr_disable,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "dr_match",
            (
                ParamSpec(INT, name="groupID"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(STR, name="number"),
                ParamSpec(VAR, optional=True, name="rule_attrs_pvar"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_dr_match,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "next_routing",
            (ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True)),
            w_next_routing,
            frozenset({REQUEST, FAILURE, LOCAL}),
        ),
    ],
    params=[
        ModParamSpec("db_url", STR),
        ModParamSpec("drd_table", STR, "dr_gateways"),
        ModParamSpec("drr_table", STR, "dr_rules"),
        ModParamSpec("drg_table", STR, "dr_groups"),
        ModParamSpec("drl_table", STR, "dr_gw_lists"),
        ModParamSpec("use_domain", INT, 1),
        ModParamSpec("drg_user_col", STR, "username"),
        ModParamSpec("drg_domain_col", STR, "domain"),
        ModParamSpec("drg_grpid_col", STR, "groupid"),
        ModParamSpec("ruri_avp", STR, "$avp(___dr_ruri__)"),
        ModParamSpec("attrs_avp", STR),
        ModParamSpec("fetch_rows", INT, 1000),
        ModParamSpec("force_dns", INT, 1),
        ModParamSpec("define_blacklist", STR, None, repeatable=True),
        ModParamSpec("drc_table", STR, "dr_carriers"),
        ModParamSpec("gw_id_avp", STR, "$avp(___dr_gw_id__)"),
        ModParamSpec("gw_attrs_avp", STR),
        ModParamSpec("rule_id_avp", STR),
        ModParamSpec("rule_attrs_avp", STR),
        ModParamSpec("rule_prefix_avp", STR),
        ModParamSpec("carrier_id_avp", STR),
        ModParamSpec("carrier_attrs_avp", STR),
        ModParamSpec("default_group", INT, -1),
        ModParamSpec("probing_interval", INT, 30),
        ModParamSpec("probing_method", STR, "OPTIONS"),
        ModParamSpec("probing_from", STR, "sip:prober@localhost"),
        ModParamSpec("probing_reply_codes", STR),
        ModParamSpec("gw_priprefix_avp", STR),
        ModParamSpec("gw_sock_avp", STR, "$avp(___dr_sock__)"),
        ModParamSpec("persistent_state", INT, 1),
        ModParamSpec("no_concurrent_reload", INT, 0),
        ModParamSpec("use_partitions", INT, 0),
        ModParamSpec("db_partitions_url", STR),
        ModParamSpec("db_partitions_table", STR, "dr_partitions"),
        ModParamSpec("partition_id_pvar", STR),
        ModParamSpec("accept_replicated_status", INT, 0),
        ModParamSpec("replicate_status_to", INT, 0),
        ModParamSpec("status_replication_cluster", INT, 0),
        ModParamSpec("probing_socket", STR),
        ModParamSpec("rule_tables_query", STR, None, repeatable=True),
        ModParamSpec("cluster_id", INT, 0),
        ModParamSpec("cluster_sharing_tag", STR),
        ModParamSpec("cluster_probing_mode", STR),
        ModParamSpec("enable_restart_persistency", INT, 0),
        ModParamSpec("extra_prefix_chars", STR),
        ModParamSpec("extra_id_chars", STR, "_-."),
        ModParamSpec("gw_socket_filter_mode", STR),
    ],
    mi_commands={
        "dr_reload": mi_dr_reload,
        "dr_gw_status": mi_dr_gw_status,
        "dr_carrier_status": mi_dr_carrier_status,
        "drouting:reload": mi_dr_reload,
        "drouting:gw_status": mi_dr_gw_status,
        "drouting:carrier_status": mi_dr_carrier_status,
        "dr_number_routing": mi_dr_number_routing,
        "drouting:number_routing": mi_dr_number_routing,
    },
)
