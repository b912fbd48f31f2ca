"""dispatcher: destination sets, load-balancing algorithms, failover and probing, as OpenSIPS 2.4/3.x does them.

Data comes from the ``dispatcher`` table of ``db_url`` (db_text: ``text:///dir``; 2.4 and 3.x column sets) or,
for 1.x scripts, from ``list_file``. Destinations are ordered exactly as OpenSIPS orders them (dispatch.c
add_dest2list + reindex_dests): by ``priority`` descending, rows of equal priority in table order; sets are listed
newest-first. Hashes use OpenSIPS's ds_get_hash, so algorithms 0-3, 5 and 7 pick the same destination OpenSIPS picks
for the same input. Reloads build new data aside and swap it in one assignment; a failed reload keeps the old data.

Module state lives in a :class:`DSState`: :func:`init` builds one at script load (used by ``pysips check`` and
``simulate``); :func:`start_service` builds the server's own from the program's modparams and keeps it in
``core.modules_state["dispatcher"]``, where the script functions find it.

Probing (``ds_ping_interval`` > 0) sends real OPTIONS requests from a start_service task. Replies are recognised by
the top Via branch prefix :data:`PROBE_BRANCH_PREFIX` (see :func:`install_reply_hook`).
"""

from __future__ import annotations

import fnmatch
import functools
import ipaddress
import random
import re
import time
from typing import Any

from pysips.db.dbtext import DBTextError, Table, open_db, parse_list_file
from pysips.errors import MIError, PysipsError
from pysips.modules import (
    ALL_ROUTES,
    ANY,
    BRANCH,
    EVENT,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REQUEST,
    STR,
    TIMER,
    VAR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)
from pysips.modules.core import log_error

# dispatch.h
DS_HASH_USER_ONLY = 1
DS_FAILOVER_ON = 2
DS_USE_DEFAULT = 4
DS_APPEND_MODE = 8
DS_FORCE_DST = 16  # 2.x flag "s": keep an existing $du

DS_INACTIVE_DST = 1
DS_PROBING_DST = 2
DS_RESET_FAIL_DST = 4
DS_STATE_DIRTY_DST = 8
DS_PROBING_PERM_DST = 16

DS_COUNT_ACTIVE, DS_COUNT_INACTIVE, DS_COUNT_PROBING = 1, 2, 4

PROBE_BRANCH_PREFIX = "z9hG4bKdsprobe"
DS_TABLE_VERSIONS = (8, 9)  # 2.4 and 3.x
_PARAM_AVPS = {
    "dst_avp": "ds_dst_failover",
    "grp_avp": "ds_grp_failover",
    "cnt_avp": "ds_cnt_failover",
    "sock_avp": "ds_sock_failover",
    "attrs_avp": None,
    "script_attrs_avp": None,
}


class DispatcherError(PysipsError):
    """Bad dispatcher configuration or data."""


# ---------------------------------------------------------------- hashing (dispatch.c ds_get_hash)


def _signed(b: int) -> int:
    return b - 256 if b > 127 else b


def _hash_part(data: bytes) -> int:
    h = 0
    n = len(data)
    p = 0
    while p + 4 <= n:
        v = ((_signed(data[p]) << 24) + (_signed(data[p + 1]) << 16) + (_signed(data[p + 2]) << 8)) + _signed(
            data[p + 3]
        )
        v &= 0xFFFFFFFF
        h = (h + (v ^ (v >> 3))) & 0xFFFFFFFF
        p += 4
    v = 0
    while p < n:
        v = ((v << 8) + _signed(data[p])) & 0xFFFFFFFF
        p += 1
    return (h + (v ^ (v >> 3))) & 0xFFFFFFFF


def ds_get_hash(x: str | bytes | None, y: str | bytes | None = None) -> int:
    """OpenSIPS dispatcher's hash of one or two strings (never 0 for a real input). C chars are signed."""
    if x is None and y is None:
        return 0
    h = 0
    for part in (x, y):
        if part is None:
            continue
        b = part.encode("utf-8", "surrogateescape") if isinstance(part, str) else part
        h = (h + _hash_part(b)) & 0xFFFFFFFF
    h = ((h + (h >> 11)) + ((h >> 13) + (h >> 23))) & 0xFFFFFFFF
    return h or 1


def _uri_hash_keys(uri: Any, flags: int) -> tuple[str, str | None]:
    """get_uri_hash_keys: (user, host[:port unless the default]) or (user, '') with flag u."""
    user = uri.user or ""
    if flags & DS_HASH_USER_ONLY:
        return user, ""
    key2 = uri.host
    if uri.port is not None:
        proto = (uri.get_param("transport") or "").lower()
        default = 5061 if (uri.scheme == "sips" or proto == "tls") else 5060
        if uri.port != default:
            key2 = f"{key2}:{uri.port}"
    return user, key2


# ---------------------------------------------------------------- data model


class Dest:
    __slots__ = (
        "uri",
        "dst_uri",
        "host",
        "port",
        "ip",
        "sock",
        "flags",
        "weight",
        "priority",
        "attrs",
        "script_attrs",
        "description",
        "chosen_count",
        "rr_count",
        "failure_count",
        "running_weight",
        "active_running_weight",
    )

    def __init__(self, uri: str, dst_uri: str, host: str, port: int) -> None:
        self.uri = uri
        self.dst_uri = dst_uri
        self.host = host
        self.port = port  # the URI's port, or the protocol default as OpenSIPS resolves it
        self.ip: str | None = None
        self.sock: str | None = None
        self.flags = 0
        self.weight = 1
        self.priority = 0
        self.attrs: str | None = None
        self.script_attrs: str | None = None
        self.description: str | None = None
        self.chosen_count = 0
        self.rr_count = 0
        self.failure_count = 0
        self.running_weight = 0
        self.active_running_weight = 0

    @property
    def active(self) -> bool:
        return not self.flags & (DS_INACTIVE_DST | DS_PROBING_DST)

    @property
    def state_name(self) -> str:
        if self.flags & DS_INACTIVE_DST:
            return "Inactive"
        if self.flags & DS_PROBING_DST:
            return "Probing"
        return "Active"


class DSSet:
    __slots__ = ("id", "dlist", "active_nr", "last")

    def __init__(self, sid: int) -> None:
        self.id = sid
        self.dlist: list[Dest] = []
        self.active_nr = 0
        self.last = 0

    @property
    def nr(self) -> int:
        return len(self.dlist)

    def recalc(self) -> None:
        """re_calculate_active_dsts: running weights over all and over active destinations."""
        run = 0
        arun = 0
        active = 0
        for d in self.dlist:
            run += d.weight
            d.running_weight = run
            if d.active:
                arun += d.weight
                active += 1
            d.active_running_weight = arun
        self.active_nr = active


class DSData:
    """The loaded destination sets of one partition (replaced as a whole on reload)."""

    __slots__ = ("sets", "by_id")

    def __init__(self) -> None:
        self.sets: list[DSSet] = []  # OpenSIPS order: the set seen last in the table comes first
        self.by_id: dict[int, DSSet] = {}


def _split_uri(uri: str) -> tuple[str, str, int, str]:
    """(dst_uri, host, port, scheme) of a destination URI; raises ValueError on a bad one."""
    from pysips.sip.uri import parse_uri

    try:
        u = parse_uri(uri)
    except PysipsError as e:
        raise ValueError(str(e)) from None
    if not u.host or len(u.host) > 254:
        raise ValueError("no host")
    if u.user is None and u.password is None and not u.headers:
        dst = uri
    else:
        dst = f"{u.scheme}:{u.host}"
        if u.port is not None:
            dst += f":{u.port}"
        for name, val in u.params:
            dst += f";{name}" if val is None else f";{name}={val}"
    if u.port:
        port = u.port
    else:
        # sip_resolvehost: an address without a port gets the protocol's default one
        tls = u.scheme == "sips" or (u.get_param("transport") or "").lower() == "tls"
        port = 5061 if tls else 5060
    return dst, u.host, port, u.scheme


def build_data(rows: list[dict[str, Any]], source: str = "", log: Any = None) -> DSData:
    """Rows of the dispatcher table (in table order) -> DSData, as ds_load_data + add_dest2list + reindex do it.

    A NULL set id or a bad URI skips the row with a warning; a NULL destination or a weight that is not a number
    fails the whole load (DispatcherError), as in OpenSIPS.
    """
    data = DSData()
    order: list[list[Dest]] = []
    warn = log or (lambda m: None)
    for k, row in enumerate(rows):
        where = f"{source}:{row.get('_line', k + 2)}" if source else f"row {k + 1}"
        sid = row.get("setid")
        if sid is None:
            warn(f"{where}: ds ID column cannot be NULL -> skipping")
            continue
        uri = row.get("destination")
        if uri is None or uri == "":
            raise DispatcherError(f"{where}: value in column URI cannot be null or empty")
        w = row.get("weight")
        if w is None or w == "":
            weight = 1 if w is None else 0
        elif isinstance(w, int):
            weight = w
        elif str(w).startswith("fs://"):
            weight = 1
        else:
            try:
                weight = int(str(w))
                if weight < 0:
                    raise ValueError
            except ValueError:
                raise DispatcherError(f"{where}: weight {w!r} is not a number") from None
        try:
            dst_uri, host, port, _ = _split_uri(uri)
        except ValueError as e:
            warn(f"{where}: bad uri [{uri}] ({e}); failed to add destination in group {sid}")
            continue
        d = Dest(uri, dst_uri, host, port)
        d.weight = weight
        d.priority = int(row.get("priority") or 0)
        state = int(row.get("state") or 0)
        d.flags = {0: 0, 1: DS_INACTIVE_DST, 2: DS_PROBING_DST}.get(state, 0)
        if int(row.get("probe_mode") or 0) == 1:
            d.flags |= DS_PROBING_PERM_DST
        d.attrs = row.get("attrs") or None
        d.description = row.get("description") or None
        d.sock = row.get("socket") or None
        try:
            ipaddress.ip_address(host.strip("[]"))
            d.ip = host.strip("[]")
        except ValueError:
            d.ip = None
        s = data.by_id.get(sid)
        if s is None:
            s = DSSet(sid)
            data.by_id[sid] = s
            data.sets.insert(0, s)
            order.append(s.dlist)
        # add_dest2list inserts before the first entry with priority >= prio (so the newest of equal priority
        # first) into an ascending list; reindex_dests then reverses it.
        lst = s.dlist
        pos = 0
        while pos < len(lst) and lst[pos].priority < d.priority:
            pos += 1
        lst.insert(pos, d)
    for s in data.sets:
        s.dlist.reverse()
        s.recalc()
    return data


# ---------------------------------------------------------------- partitions and state


def _avp_name(spec: str | None) -> str | None:
    """'$avp(name)' / 'name' -> 'name'."""
    if not spec:
        return None
    m = re.fullmatch(r"\s*\$avp\(([^)]+)\)\s*", spec)
    return m.group(1) if m else spec.strip()


class Partition:
    __slots__ = (
        "name",
        "db_url",
        "table_name",
        "list_file",
        "avps",
        "data",
        "persistent_state",
        "ping_from",
        "ping_method",
    )

    def __init__(self, name: str) -> None:
        self.name = name
        self.db_url: str | None = None
        self.table_name = "dispatcher"
        self.list_file: str | None = None
        self.avps: dict[str, str | None] = dict(_PARAM_AVPS)
        self.data = DSData()
        self.persistent_state = 1
        self.ping_from = ""
        self.ping_method = ""


class DSState:
    """Everything the dispatcher knows at run time for one server (or one script load)."""

    def __init__(self) -> None:
        self.partitions: dict[str, Partition] = {}
        self.default: Partition = Partition("default")
        self.hash_pvar: Any = None
        self.ping_interval = 0
        self.ping_method = "OPTIONS"
        self.ping_from = "sip:dispatcher@localhost"
        self.ping_maxfwd = -1
        self.probing_threshold = 3
        self.probing_mode = 0
        self.probing_list: set[int] | None = None
        self.options_reply_codes: set[int] = set()
        self.setid_pv: Any = None
        self.pvar_algo_pattern = ""
        self.log: Any = None
        self.rng = random.Random()

    def warn(self, text: str) -> None:
        if self.log is not None:
            self.log(text)

    def partition(self, name: str | None) -> Partition | None:
        if not name:
            return self.default
        return self.partitions.get(name.strip())

    # ------------------------------------------------------------ loading

    def load_partition(self, part: Partition) -> DSData:
        """Read a partition's data (raises DBTextError / DispatcherError; the caller decides what to keep)."""
        if part.list_file:
            try:
                with open(part.list_file, encoding="utf-8") as f:
                    text = f.read()
            except OSError as e:
                raise DBTextError(f"cannot read list file: {e.strerror}", part.list_file) from None
            rows = parse_list_file(text, part.list_file)
            return build_data(rows, part.list_file, self.warn)
        if not part.db_url:
            return DSData()
        db = open_db(part.db_url)
        db.check_version(part.table_name, *DS_TABLE_VERSIONS)
        table: Table = db.table(part.table_name)
        rows = []
        for row, line in zip(table.rows, table.lines, strict=True):
            r = dict(row)
            r["_line"] = line
            if not part.persistent_state:
                r["state"] = 0
            rows.append(r)
        return build_data(rows, table.path, self.warn)

    def reload(self, name: str | None = None, inherit_state: bool = True) -> None:
        """ds_reload: every partition (or one); all or nothing per partition, old data kept on failure."""
        parts = [self.partition(name)] if name else list(self.partitions.values())
        if None in parts:
            raise MIError("ERROR Unknown partition", 500)
        for part in parts:
            try:
                new = self.load_partition(part)
            except (DBTextError, DispatcherError) as e:
                self.warn(f"dispatcher: failed to load the new data, dropping the reload: {e}")
                raise MIError("ERROR Reloading data", 500) from None
            old = part.data
            if inherit_state:
                _inherit_state(old, new)
            part.data = new

    # ------------------------------------------------------------ state changes

    def set_state(
        self, part: Partition, group: int, address: str, state: int, on: bool, count: bool = True
    ) -> int:
        """ds_set_state: 0 if found, -1 if not. ``count`` applies the probing threshold (do_repl in OpenSIPS)."""
        s = part.data.by_id.get(group)
        if s is None:
            return -1
        addr = address.lower()
        for d in s.dlist:
            if d.uri.lower() == addr:
                self._set_flags(s, d, state, on, count)
                return 0
        return -1

    def _set_flags(self, s: DSSet, d: Dest, state: int, on: bool, count: bool) -> None:
        if state == DS_PROBING_DST and on:
            if d.flags & DS_INACTIVE_DST:
                return
            if count:
                d.failure_count += 1
                if d.failure_count < self.probing_threshold:
                    return
                d.failure_count = min(d.failure_count, self.probing_threshold)
        if state & DS_RESET_FAIL_DST:
            d.failure_count = 0
            state &= ~DS_RESET_FAIL_DST
        old = d.flags
        d.flags = d.flags | state if on else d.flags & ~state
        if d.flags != old:
            d.flags |= DS_STATE_DIRTY_DST
            if bool(old & (DS_PROBING_DST | DS_INACTIVE_DST)) != bool(
                d.flags & (DS_PROBING_DST | DS_INACTIVE_DST)
            ):
                s.recalc()
                self.warn(
                    f"dispatcher: destination <{d.uri}>, set {s.id} switched to "
                    f"[{'inactive' if on else 'active'}]"
                )


def _inherit_state(old: DSData, new: DSData) -> None:
    for ns in new.sets:
        os_ = old.by_id.get(ns.id)
        if os_ is None:
            continue
        changed = False
        for nd in ns.dlist:
            for od in os_.dlist:
                if od.uri.lower() == nd.uri.lower():
                    if (nd.flags & ~DS_PROBING_PERM_DST) != (od.flags & ~DS_PROBING_PERM_DST):
                        nd.flags = (od.flags & ~DS_PROBING_PERM_DST) | (nd.flags & DS_PROBING_PERM_DST)
                        changed = True
                    break
        if changed:
            ns.recalc()


def _parse_partition_def(text: str) -> tuple[str, dict[str, str]]:
    """modparam("dispatcher", "partition", "name: db_url=...; table_name=...")."""
    name, sep, rest = text.partition(":")
    if not sep or not name.strip():
        raise ValueError(f'bad partition definition {text!r}: expected "name: key=value; ..."')
    opts: dict[str, str] = {}
    for item in rest.split(";"):
        item = item.strip()
        if not item:
            continue
        k, eq, v = item.partition("=")
        if not eq:
            raise ValueError(f"bad partition option {item!r} in {text!r}")
        opts[k.strip()] = v.strip()
    return name.strip(), opts


def build_state(params: dict[str, Any], log: Any = None, load: bool = True) -> DSState:
    """DSState from the resolved modparams. Raises ValueError with a message for bad settings or data."""
    from pysips.script.pvars import PVError, parse_format, parse_pv

    st = DSState()
    st.log = log
    g = params.get
    st.ping_interval = int(g("ds_ping_interval") or 0)
    st.ping_method = g("ds_ping_method") or "OPTIONS"
    st.ping_from = g("ds_ping_from") or "sip:dispatcher@localhost"
    st.ping_maxfwd = int(g("ds_ping_maxfwd") if g("ds_ping_maxfwd") is not None else -1)
    thr = g("ds_probing_threshold")
    if thr is None or thr == 3:
        thr = g("ds_probing_threshhold", 3)
    st.probing_threshold = int(thr if thr is not None else 3)
    st.probing_mode = int(g("ds_probing_mode") or 0)
    plist = g("ds_probing_list")
    if plist:
        vals = [plist] if isinstance(plist, str) else plist
        try:
            st.probing_list = {int(x) for v in vals for x in str(v).split(",") if x.strip()}
        except ValueError:
            raise ValueError(f'bad ds_probing_list {plist!r}: expected set ids like "1,2"') from None
    codes = g("options_reply_codes")
    if codes:
        try:
            st.options_reply_codes = {int(c) for c in str(codes).split(",") if c.strip()}
        except ValueError:
            raise ValueError(f'bad options_reply_codes {codes!r}: expected numbers like "501, 403"') from None
    st.pvar_algo_pattern = g("pvar_algo_pattern") or ""
    spv = g("setid_pvname") or g("setid_pvar")
    if spv:
        try:
            st.setid_pv = parse_pv(spv)
        except PVError as e:
            raise ValueError(f"bad setid_pvname {spv!r}: {e}") from None
    hp = g("hash_pvar")
    if hp:
        try:
            st.hash_pvar = parse_format(hp)
        except PVError as e:
            raise ValueError(f"bad hash_pvar {hp!r}: {e}") from None
    default = st.default
    default.db_url = g("db_url")
    default.table_name = g("table_name") or "dispatcher"
    default.list_file = g("list_file")
    default.persistent_state = int(g("persistent_state") if g("persistent_state") is not None else 1)
    for key in _PARAM_AVPS:
        if g(key):
            default.avps[key] = _avp_name(g(key))
    st.partitions["default"] = default
    defs = g("partition") or []
    for text in [defs] if isinstance(defs, str) else defs:
        name, opts = _parse_partition_def(text)
        part = default if name == "default" else Partition(name)
        part.db_url = opts.get("db_url", part.db_url)
        part.table_name = opts.get("table_name", part.table_name)
        for key in _PARAM_AVPS:
            if key in opts:
                part.avps[key] = _avp_name(opts[key])
        part.ping_from = opts.get("ds_ping_from", "")
        part.ping_method = opts.get("ds_ping_method", "")
        st.partitions[name] = part
    if load:
        for part in st.partitions.values():
            if _missing_source(part):
                # the data lives on the server, not necessarily where the script is checked: say so, go on
                st.warn(
                    f"dispatcher: partition {part.name!r}: {_missing_source(part)}; running on empty sets"
                )
                continue
            try:
                part.data = st.load_partition(part)
            except (DBTextError, DispatcherError) as e:
                raise ValueError(f"cannot load partition {part.name!r}: {e}") from None
    return st


def _missing_source(part: Partition) -> str | None:
    """Why a partition's data source is absent (no directory / list file), or None when it exists."""
    import os

    if part.list_file:
        return None if os.path.exists(part.list_file) else f"list_file {part.list_file!r} does not exist"
    if part.db_url:
        scheme, sep, rest = part.db_url.partition("://")
        if sep and scheme.lower() not in ("text", "dbtext", "db_text"):
            return f"db_url {part.db_url!r}: only db_text (text:///dir) is available"
        if sep and not os.path.isdir(rest):
            return f"db_text directory {rest!r} does not exist"
    return None


class LoadedData:
    """The data a routing module builds from its modparams at script load (OpenSIPS mod_init; bad data is then
    reported by ``pysips check``) and how a call, or an MI command, finds the copy its server runs with
    (``core.modules_state[name]``, else this load). dispatcher and drouting keep one each."""

    def __init__(self, name: str, build: Any, error: type[Exception]) -> None:
        self.name = name
        self.build = build
        self.error = error
        self.data: Any = None
        self.params: dict | None = (
            None  # the modparams dict `data` was built from (a server reuses that load)
        )

    def init(self, params: dict[str, Any]) -> None:
        self.data = None
        self.data = self.build(params)
        self.params = params

    def _server_copy(self, core: Any) -> Any:
        return getattr(core, "modules_state", {}).get(self.name) if core is not None else None

    def state(self, ctx: Any) -> Any:
        """The state the running server (or the last script load) uses, for a script function."""
        st = self._server_copy(getattr(ctx.env, "core", None))
        if st is not None:
            return st
        if self.data is None:
            raise self.error(f"{self.name} is not initialised")
        return self.data

    def mi_state(self, core: Any) -> Any:
        """The same for an MI command: an MI error when the module is not loaded."""
        st = self._server_copy(core) or self.data
        if st is None:
            raise MIError(f"{self.name} is not loaded", 500)
        return st


_DATA = LoadedData("dispatcher", build_state, DispatcherError)
init = _DATA.init


def state(ctx: Any) -> DSState:
    """The DSState the running server (or the last script load) uses."""
    return _DATA.state(ctx)


# ---------------------------------------------------------------- selection


def _parse_flags(text: str | None) -> int:
    """fixup_ds_flags (3.x letters f u d a; 2.x also s)."""
    flags = 0
    for c in (text or "").lower():
        if c == " ":
            continue
        if c == "f":
            flags |= DS_FAILOVER_ON
        elif c == "u":
            flags |= DS_HASH_USER_ONLY
        elif c == "d":
            flags |= DS_USE_DEFAULT
        elif c == "a":
            flags |= DS_APPEND_MODE
        elif c == "s":
            flags |= DS_FORCE_DST
        else:
            raise ValueError(f"invalid dispatcher flag {c!r} in {text!r} (allowed: f, u, d, a; 2.x also s)")
    return flags


def _auth_username(req: Any) -> str | None:
    for name in ("Proxy-Authorization", "Authorization"):
        h = req.get_header(name)
        if h:
            m = re.search(r'username\s*=\s*"([^"]*)"', h, re.I) or re.search(
                r"username\s*=\s*([^\s,]+)", h, re.I
            )
            if m and m.group(1).strip():
                return m.group(1).strip()
            return None
    return None


def _push_dest_avps(ctx: Any, part: Partition, d: Dest) -> None:
    avps = ctx.avps
    a = part.avps
    avps.push(a["sock_avp"], d.sock or "(nil)")
    avps.push(a["dst_avp"], d.dst_uri)
    if a["attrs_avp"]:
        avps.push(a["attrs_avp"], d.attrs or "")
    if a["script_attrs_avp"]:
        avps.push(a["script_attrs_avp"], d.script_attrs or "")


def _update_dst(ctx: Any, uri: str, sock: str | None, mode: int) -> int:
    if mode == 1:
        from pysips.sip.uri import parse_uri

        try:
            d = parse_uri(uri)
        except PysipsError:
            return -1
        msg = ctx.msg
        if msg is None or not msg.is_request:
            return -1
        ru = msg.ruri.copy()
        ru.host = d.host
        ru.port = d.port
        ctx.set_ruri(ru)
    else:
        ctx.du = uri
    if sock and sock != "(nil)":
        ctx.force_socket = sock
    return 0


def select_dst(
    ctx: Any, st: DSState, part: Partition, setid: int, alg: int, flags: int, max_results: int, mode: int
) -> int:
    """ds_select_dst (dispatch.c): 1 selected, -1 none."""
    data = part.data
    s = data.by_id.get(setid) if data.sets else None
    if s is None:
        if data.sets:
            log_error(ctx, f"destination set [{setid}] not found in partition [{part.name}]")
        return -1
    nr = s.nr
    if nr == 0 or s.active_nr == 0:
        return -1
    dl = s.dlist
    order = dl  # algorithm 9 replaces it with the destinations sorted by load
    set_size = nr - 1 if (flags & DS_USE_DEFAULT and nr > 1) else nr
    msg = ctx.msg
    ds_hash = 0
    ds_id = -1
    if alg == 0:
        if msg is None or msg.get_header("Call-ID") is None:
            log_error(ctx, "can't get callid hash")
            return -1
        ds_hash = ds_get_hash(msg.call_id.strip())
    elif alg in (1, 2, 3):
        try:
            if alg == 1:
                uri = msg.from_.uri
            elif alg == 2:
                uri = msg.to.uri
            else:
                uri = msg.ruri
        except (AttributeError, PysipsError):
            log_error(ctx, "can't get uri hash")
            return -1
        k1, k2 = _uri_hash_keys(uri, flags)
        ds_hash = ds_get_hash(k1, k2)
    elif alg == 4:
        last = s.last if s.last < nr else 0
        if dl[last].rr_count < dl[last].weight:
            ds_id = last
        else:
            dl[last].rr_count = 0
            ds_id = (last + 1) % set_size
    elif alg == 5:
        user = _auth_username(msg) if msg is not None else None
        if user is None:
            ds_id = s.last % set_size
            s.last = (s.last + 1) % set_size
        else:
            ds_hash = ds_get_hash(user)
    elif alg == 6:
        ds_hash = st.rng.getrandbits(31)
    elif alg == 7:
        if st.hash_pvar is None:
            log_error(ctx, "can't get PV hash: no hash_pvar modparam")
            return -1
        text = str(st.hash_pvar.eval(ctx)).strip()
        if not text:
            log_error(ctx, "can't get PV hash: the string is empty")
            return -1
        ds_hash = ds_get_hash(text)
    elif alg == 9 and st.pvar_algo_pattern:
        order = _pvar_order(ctx, st, s, bool(flags & DS_USE_DEFAULT))
        if order is None:
            log_error(ctx, "can't get destination index")
            return -1
        ds_id = 0
    else:
        # 8 = first entry; 9 without pvar_algo_pattern and 10 (algo_route, not available) use the first entry,
        # as do unknown algorithms
        ds_id = 0
    if order is not dl:
        pass
    elif ds_id == -1:
        total = dl[set_size - 1].running_weight
        if total:
            r = ds_hash % total
            ds_id = next(i for i in range(set_size) if r < dl[i].running_weight)
        else:
            ds_id = ds_hash % set_size
    i = ds_id
    while order is dl and not dl[i].active:
        if ds_hash == 0:
            i = (i + 1) % set_size
        else:
            cnt = s.active_nr - (1 if (flags & DS_USE_DEFAULT and dl[nr - 1].active) else 0)
            if cnt:
                atotal = dl[set_size - 1].active_running_weight
                if atotal:
                    r = ds_hash % atotal
                    i = next(
                        (k for k in range(set_size) if dl[k].active and r < dl[k].active_running_weight), -1
                    )
                else:
                    j = ds_hash % cnt
                    for k in range(set_size):
                        if dl[k].active:
                            j -= 1
                        if j < 0:
                            i = k
                            break
                    else:
                        i = -1
                if i < 0:
                    return -1
        if i == ds_id:
            if flags & DS_USE_DEFAULT:
                i = nr - 1
                if not dl[i].active:
                    return -1
                break
            return -1
    ds_id = i
    sel = order[ds_id]
    s.last = ds_id
    if alg == 4:
        sel.rr_count += 1
    if flags & DS_FORCE_DST and mode == 0 and ctx.du:
        pass
    elif _update_dst(ctx, sel.dst_uri, sel.sock, mode) != 0:
        return -1
    sel.chosen_count += 1
    a = part.avps
    avps = ctx.avps
    if flags & DS_FAILOVER_ON:
        if not flags & DS_APPEND_MODE:
            for key in ("dst_avp", "grp_avp", "cnt_avp", "sock_avp", "attrs_avp", "script_attrs_avp"):
                if a[key]:
                    avps.delete_all(a[key])
        cnt = 0
        if flags & DS_USE_DEFAULT and ds_id != nr - 1:
            _push_dest_avps(ctx, part, order[nr - 1])
            cnt += 1
        inactive = sum(
            1 for k, d in enumerate(dl) if not d.active and not (flags & DS_USE_DEFAULT and k == nr - 1)
        )
        skip = nr - inactive - (1 if flags & DS_USE_DEFAULT else 0) - max_results
        for iu in range(ds_id - 1 + nr, ds_id, -1):
            k = iu % nr
            d = order[k]
            if not d.active or (flags & DS_USE_DEFAULT and k == nr - 1):
                continue
            if skip > 0:
                skip -= 1
                continue
            _push_dest_avps(ctx, part, d)
            cnt += 1
        avps.push(a["dst_avp"], sel.uri)
        cnt += 1
    else:
        cnt = 0
    if a["attrs_avp"]:
        avps.push(a["attrs_avp"], sel.attrs or "")
    if a["script_attrs_avp"]:
        avps.push(a["script_attrs_avp"], sel.script_attrs or "")
    avps.push(a["grp_avp"], setid)
    avps.push(a["cnt_avp"], cnt)
    return 1


def _pvar_order(ctx: Any, st: DSState, s: DSSet, use_default: bool) -> list[Dest] | None:
    """ds_pvar_algo: active destinations sorted by the value of pvar_algo_pattern (%u = URI, %i = set id),
    lowest first, equal values in set order; inactive ones (and the default) at the end. None if none is usable."""
    from pysips.script.pvars import PVError, parse_pv

    nr = s.nr
    out: list[Dest | None] = [None] * nr
    end = nr - 1
    if use_default:
        out[end] = s.dlist[end]
        end -= 1
    ranked: list[tuple[int, Dest]] = []
    for d in s.dlist[: nr - (1 if use_default else 0)]:
        if not d.active:
            out[end] = d
            end -= 1
            continue
        name = st.pvar_algo_pattern.replace("%u", d.uri).replace("%i", str(s.id))
        try:
            v = parse_pv(name).get(ctx)
        except (PVError, PysipsError) as e:
            log_error(ctx, f"cannot get spec value for {d.uri}: {e}")
            continue
        try:
            value = 0 if v is None else int(v)
        except (TypeError, ValueError):
            log_error(ctx, f"invalid pvar value type - not int ({v!r})")
            continue
        k = len(ranked)
        while k > 0 and ranked[k - 1][0] > value:
            k -= 1
        ranked.insert(k, (value, d))
    if not ranked:
        return None
    for k, (_, d) in enumerate(ranked):
        out[k] = d
    # destinations whose value could not be read leave holes, as in OpenSIPS; fill them so indexing stays safe
    rest = [d for d in s.dlist if d not in out]
    return [d if d is not None else rest.pop(0) for d in out]


def next_dst(ctx: Any, part: Partition, mode: int) -> int:
    """ds_next_dst / ds_next_domain: drop the current failover entry and use the next one."""
    a = part.avps
    avps = ctx.avps
    if avps.count(a["dst_avp"]) == 0:
        return -1
    avps.delete(a["dst_avp"])
    for key in ("attrs_avp", "script_attrs_avp"):
        if a[key]:
            avps.delete(a[key])
    nxt = avps.get(a["dst_avp"])
    if nxt is None or not isinstance(nxt, str):
        return -1
    sock = avps.get(a["sock_avp"])
    if sock is not None:
        avps.delete(a["sock_avp"])
    return 1 if _update_dst(ctx, nxt, sock if isinstance(sock, str) else None, mode) == 0 else -1


def mark_dst(ctx: Any, st: DSState, part: Partition, mode: int) -> int:
    a = part.avps
    group = ctx.avps.get(a["grp_avp"])
    if group is None or isinstance(group, str):
        return -1
    addr = ctx.avps.get(a["dst_avp"])
    if not isinstance(addr, str):
        return -1
    if mode == 1:
        ret = st.set_state(part, group, addr, DS_INACTIVE_DST | DS_PROBING_DST, False)
    elif mode == 2:
        ret = st.set_state(part, group, addr, DS_PROBING_DST, True)
        if ret == 0:
            ret = st.set_state(part, group, addr, DS_INACTIVE_DST, False)
    else:
        ret = st.set_state(part, group, addr, DS_INACTIVE_DST, True)
        if ret == 0:
            ret = st.set_state(part, group, addr, DS_PROBING_DST, False)
    return 1 if ret == 0 else -1


# ---------------------------------------------------------------- script functions


@functools.lru_cache(maxsize=256)
def _parse_select_args(set_arg: Any, alg_arg: Any, flags_arg: Any, part_arg: Any, max_arg: Any) -> tuple:
    """Both generations -> [(partition, set, alg, flags, max_results)], first entry = the one that sets $du.

    3.x: ds_select_dst(1, 4, "fd", "part", 5). 2.x: ds_select_dst("[part:]1[,2]", "4[,0]"[, "fuD M 5, fS M 2"]).
    """
    part = part_arg
    sets: list[int]
    if isinstance(set_arg, int):
        sets = [set_arg]
    else:
        text = str(set_arg).strip()
        if ":" in text:
            p, _, text = text.partition(":")
            part = p.strip()
        try:
            sets = [int(x) for x in text.split(",")]
        except ValueError:
            raise ValueError(f"bad set {set_arg!r}") from None
    if isinstance(alg_arg, int):
        algs = [alg_arg]
    else:
        try:
            algs = [int(x) for x in str(alg_arg).split(",")]
        except ValueError:
            raise ValueError(f"bad algorithm {alg_arg!r}") from None
    entries: list[tuple[int, int]] = []
    if flags_arg is None or flags_arg == "":
        entries = [(0, 1000)]
    else:
        for item in str(flags_arg).split(","):
            m = re.fullmatch(r"\s*([A-Za-z ]*?)\s*(?:[Mm]\s*(\d+)|(\d+))?\s*", item)
            if not m:
                raise ValueError(f"bad flags {item!r}")
            letters = m.group(1).replace(" ", "")
            num = m.group(2) or m.group(3)
            entries.append((_parse_flags(letters), int(num) if num else 1000))
    if max_arg is not None:
        entries = [(f, int(max_arg)) for f, _ in entries]
    n = max(len(sets), len(algs))
    out = []
    for k in range(n):
        sid = sets[k] if k < len(sets) else sets[-1]
        alg = algs[k] if k < len(algs) else algs[-1]
        fl, mx = entries[k] if k < len(entries) else entries[-1]
        out.append((part, sid, alg, fl, mx))
    return tuple(out)


def _w_select(
    ctx: Any, set_arg: Any, alg_arg: Any, flags: Any, part_arg: Any, max_res: Any, mode: int
) -> int:
    try:
        st = state(ctx)
        entries = _parse_select_args(set_arg, alg_arg, flags, part_arg, max_res)
    except (ValueError, DispatcherError) as e:
        log_error(ctx, f"ds_select: {e}")
        return -1
    if len(entries) == 1:
        pname, sid, alg, fl, mx = entries[0]
        part = st.partition(pname)
        if part is None:
            log_error(ctx, f"ds_select: unknown partition {pname!r}")
            return -1
        return select_dst(ctx, st, part, sid, alg, fl, mx, mode)
    # 2.x multi-set: later sets only add failover entries, the first one is selected last so it sets $du and
    # ends on top of the AVP stack
    ret = -1
    saved_du = ctx.du
    for k, (pname, sid, alg, fl, mx) in enumerate(reversed(entries)):
        part = st.partition(pname)
        if part is None:
            log_error(ctx, f"ds_select: unknown partition {pname!r}")
            return -1
        if k:
            fl |= DS_APPEND_MODE
        r = select_dst(ctx, st, part, sid, alg, fl, mx, mode)
        if r > 0:
            ret = r
            if k < len(entries) - 1:
                saved_du = ctx.du
        else:
            ctx.du = saved_du
    return ret


def w_ds_select_dst(
    ctx: Any, set_: Any, alg: Any, flags: Any = None, part: Any = None, max_res: Any = None
) -> int:
    return _w_select(ctx, set_, alg, flags, part, max_res, 0)


def w_ds_select_domain(
    ctx: Any, set_: Any, alg: Any, flags: Any = None, part: Any = None, max_res: Any = None
) -> int:
    return _w_select(ctx, set_, alg, flags, part, max_res, 1)


def _part_or_err(ctx: Any, name: str | None) -> tuple[DSState, Partition] | None:
    try:
        st = state(ctx)
    except DispatcherError as e:
        log_error(ctx, str(e))
        return None
    part = st.partition(name)
    if part is None:
        log_error(ctx, f"unknown partition {name!r}")
        return None
    return st, part


def w_ds_next_dst(ctx: Any, part: str | None = None) -> int:
    sp = _part_or_err(ctx, part)
    return -1 if sp is None else next_dst(ctx, sp[1], 0)


def w_ds_next_domain(ctx: Any, part: str | None = None) -> int:
    sp = _part_or_err(ctx, part)
    return -1 if sp is None else next_dst(ctx, sp[1], 1)


def w_ds_mark_dst(ctx: Any, flag: str | None = None, part: str | None = None) -> int:
    sp = _part_or_err(ctx, part)
    if sp is None:
        return -1
    arg = (flag or "").strip()
    if len(arg) > 1:
        log_error(ctx, f"ds_mark_dst: unknown option {arg}")
        return -1
    if arg in ("", "i", "I", "0"):
        mode = 0
    elif arg in ("p", "P", "2"):
        mode = 2
    elif arg in ("a", "A", "1"):
        mode = 1
    else:
        log_error(ctx, f"ds_mark_dst: unknown option {arg}")
        return -1
    return mark_dst(ctx, sp[0], sp[1], mode)


def _ip_eq(a: str, b: str) -> bool:
    try:
        return ipaddress.ip_address(a.strip("[]")) == ipaddress.ip_address(b.strip("[]"))
    except ValueError:
        return False


def w_ds_is_in_list(
    ctx: Any,
    ip: str,
    port: Any,
    set_: Any = None,
    part: str | None = None,
    active_only: Any = None,
    pattern: str | None = None,
) -> int:
    sp = _part_or_err(ctx, part)
    if sp is None:
        return -1
    st, p = sp
    try:
        ipaddress.ip_address(str(ip).strip("[]"))
    except ValueError:
        log_error(ctx, f"IP val is not IP <{ip}>")
        return -1
    port = int(port or 0)
    sid = -1 if set_ is None else int(set_)
    for s in p.data.sets:
        if sid not in (-1, s.id):
            continue
        for d in s.dlist:
            dip = d.ip
            if dip is None:
                try:
                    dip = _resolve(d.host)
                except OSError:
                    continue
            if (d.port == 0 or port == 0 or port == d.port) and _ip_eq(ip, dip):
                if active_only and not d.active:
                    continue
                if pattern and (d.attrs is None or not fnmatch.fnmatchcase(d.attrs, pattern)):
                    continue
                if sid == -1 and st.setid_pv is not None:
                    st.setid_pv.set(ctx, "=", s.id)
                if p.avps["attrs_avp"]:
                    ctx.avps.push(p.avps["attrs_avp"], d.attrs or "")
                if p.avps["script_attrs_avp"]:
                    ctx.avps.push(p.avps["script_attrs_avp"], d.script_attrs or "")
                return 1
    return -1


def w_ds_is_from_list(ctx: Any, *args: Any) -> int:
    """ds_is_from_list([set[, mode[, partition]]]) (2.x) = ds_is_in_list("$si", "$sp", set)."""
    set_ = args[0] if args else None
    try:
        set_ = None if set_ in (None, "", -1, "-1") else int(set_)
    except ValueError:
        set_ = None
    return w_ds_is_in_list(ctx, ctx.src_ip, ctx.src_port, set_)


def w_ds_count(ctx: Any, set_: Any, filt: str, out: Any, part: str | None = None) -> int:
    sp = _part_or_err(ctx, part)
    if sp is None:
        return -1
    s = sp[1].data.by_id.get(int(set_))
    if s is None:
        log_error(ctx, f"INVALID SET {set_} (not found)!")
        return -1
    code = 0
    for c in str(filt or ""):
        if c in "aA1":
            code |= DS_COUNT_ACTIVE
        elif c in "iI0":
            code |= DS_COUNT_INACTIVE
        elif c in "pP2":
            code |= DS_COUNT_PROBING
    active = sum(1 for d in s.dlist if d.active)
    inactive = sum(1 for d in s.dlist if not d.active and d.flags & DS_INACTIVE_DST)
    probing = sum(1 for d in s.dlist if not d.active and not d.flags & DS_INACTIVE_DST)
    count = {
        DS_COUNT_ACTIVE: active,
        DS_COUNT_ACTIVE | DS_COUNT_INACTIVE: active + inactive,
        DS_COUNT_ACTIVE | DS_COUNT_PROBING: active + probing,
        DS_COUNT_INACTIVE: inactive,
        DS_COUNT_PROBING: probing,
        DS_COUNT_INACTIVE | DS_COUNT_PROBING: inactive + probing,
    }.get(code, active + inactive + probing)
    out.set(ctx, "=", count)
    return 1


def w_ds_push_script_attrs(
    ctx: Any, attrs: str, ip: str, port: Any, set_: Any = None, part: str | None = None
) -> int:
    sp = _part_or_err(ctx, part)
    if sp is None:
        return -1
    sid = -1 if set_ is None else int(set_)
    port = int(port or 0)
    found = False
    for s in sp[1].data.sets:
        if sid not in (-1, s.id):
            continue
        for d in s.dlist:
            if d.ip and _ip_eq(ip, d.ip) and (d.port == 0 or port == 0 or d.port == port):
                d.script_attrs = attrs
                found = True
    return 1 if found else -1


def w_ds_get_script_attrs(ctx: Any, uri: str, set_: Any, part: str | None = None, out: Any = None) -> int:
    sp = _part_or_err(ctx, part)
    if sp is None:
        return -1
    s = sp[1].data.by_id.get(int(set_))
    if s is None:
        return -1
    for d in s.dlist:
        if d.uri.lower() == str(uri).lower():
            if out is not None and d.script_attrs is not None:
                out.set(ctx, "=", d.script_attrs)
            return 1
    return -1


_DNS: dict[str, str] = {}


def _resolve(host: str) -> str:
    ip = _DNS.get(host)
    if ip is None:
        import socket

        ip = socket.getaddrinfo(host, None, type=socket.SOCK_DGRAM)[0][4][0]
        _DNS[host] = ip
    return ip


# ---------------------------------------------------------------- MI


def _mi_state(core: Any) -> DSState:
    return _DATA.mi_state(core)


def _param(params: Any, name: str, pos: int, default: Any = None) -> Any:
    if isinstance(params, dict):
        return params.get(name, default)
    if isinstance(params, (list, tuple)):
        return params[pos] if pos < len(params) else default
    return default


def mi_ds_list(core: Any, params: Any = None) -> dict:
    """ds_list [full] [partition] -> the 3.x JSON shape."""
    st = _mi_state(core)
    full = _param(params, "full", 0)
    pname = _param(params, "partition", 1)
    try:
        full = int(full or 0)
    except (TypeError, ValueError):
        full = 1 if str(full).lower() in ("y", "yes", "full") else 0
    if pname is not None and st.partition(pname) is None:
        raise MIError("ERROR Unknown partition", 500)
    parts = []
    for part in st.partitions.values():
        if pname is not None and part.name != pname:
            continue
        item: dict[str, Any] = {"name": part.name}
        if part.data.sets:
            sets = []
            for s in part.data.sets:
                dests = []
                for d in s.dlist:
                    e: dict[str, Any] = {
                        "URI": d.uri,
                        "state": d.state_name,
                        "first_hit_counter": d.chosen_count,
                    }
                    if d.sock:
                        e["socket"] = d.sock
                    if d.attrs:
                        e["attr"] = d.attrs
                    if d.script_attrs:
                        e["script_attr"] = d.script_attrs
                    if full:
                        e["weight"] = d.weight
                        e["priority"] = d.priority
                        if d.description:
                            e["description"] = d.description
                    port = d.port
                    e["resolved_addresses"] = [f"{d.ip or d.host}:{port}"]
                    dests.append(e)
                sets.append({"id": s.id, "Destinations": dests})
            item["SETS"] = sets
        parts.append(item)
    return {"PARTITIONS": parts}


def mi_ds_reload(core: Any, params: Any = None) -> str:
    st = _mi_state(core)
    pname = _param(params, "partition", 0)
    inherit = _param(params, "inherit_state", 1, "y")
    inherit_b = str(inherit).lower() not in ("n", "no", "0", "false")
    st.reload(pname, inherit_b)
    return "OK"


def mi_ds_set_state(core: Any, params: Any = None) -> str:
    st = _mi_state(core)
    sv = _param(params, "state", 0)
    group = _param(params, "group", 1)
    address = _param(params, "address", 2)
    if sv is None or group is None or address is None:
        raise MIError("Invalid params", -32602)
    c = str(sv)[:1]
    if c in "0Ii":
        mode = 0
    elif c in "pP2":
        mode = 2
    elif c in "aA1":
        mode = 1
    else:
        raise MIError("Bad state value", 500)
    gtext = str(group)
    pname = _param(params, "partition", 3)
    if ":" in gtext:
        pname, _, gtext = gtext.partition(":")
    part = st.partition(pname.strip() if pname else None)
    if part is None:
        raise MIError("ERROR Unknown partition", 404)
    try:
        gid = int(gtext.strip())
    except ValueError:
        raise MIError("bad group value", 500) from None
    addr = str(address)
    if mode == 1:
        ret = st.set_state(part, gid, addr, DS_INACTIVE_DST | DS_PROBING_DST, False)
    elif mode == 2:
        ret = st.set_state(part, gid, addr, DS_PROBING_DST, True, count=False)
        if ret == 0:
            ret = st.set_state(part, gid, addr, DS_INACTIVE_DST, False)
    else:
        ret = st.set_state(part, gid, addr, DS_INACTIVE_DST, True)
        if ret == 0:
            ret = st.set_state(part, gid, addr, DS_PROBING_DST, False)
    if ret != 0:
        raise MIError("destination not found", 404)
    return "OK"


# ---------------------------------------------------------------- probing


class OptionsProbes:
    """Probe requests in flight (also used by drouting): sends them, retransmits over UDP (T1 = 0.5 s, doubling,
    as a tm client transaction would), and reports one final result per probe: the reply code, or 408 when
    nothing final came within ``timeout`` (tm fr_timeout). ``on_result(key, code)`` gets it."""

    T1 = 0.5
    T2 = 4.0

    def __init__(self, core: Any, prefix: str, timeout: float, on_result: Any) -> None:
        self.core = core
        self.prefix = prefix
        self.timeout = timeout
        self.on_result = on_result
        self.pending: dict[
            str, list[Any]
        ] = {}  # branch -> [key, data, transport, dest, deadline, next_rt, itv]
        self.seq = 0

    def send(
        self, key: Any, uri: str, to_uri: str, method: str, from_uri: str, maxfwd: int, now: float
    ) -> bool:
        """Build and send one probe to ``uri``; False if it could not leave (no route / socket)."""
        from pysips.sip.message import make_request

        core = self.core
        try:
            proto, ip, port = core.uri_destination(uri)
        except (OSError, PysipsError):
            return False
        transport = core.pick_transport(proto, ip)
        if transport is None:
            return False
        self.seq += 1
        branch = f"{self.prefix}{self.seq}x{int(time.monotonic() * 1000) & 0xFFFFFF:x}"
        headers = [
            ("Via", core.make_via(transport, branch)),
            ("From", f"<{from_uri}>;tag={branch[-12:]}"),
            ("To", f"<{to_uri}>"),
            ("Call-ID", f"{branch}@pysips"),
            ("CSeq", f"10 {method}"),
            ("Max-Forwards", str(maxfwd if maxfwd >= 0 else 70)),
        ]
        data = make_request(method, uri, headers=headers).to_bytes()
        udp = transport.proto == "udp"
        self.pending[branch] = [key, data, transport, (ip, port), now + self.timeout,
                                now + self.T1 if udp else None, self.T1]  # fmt: skip
        if transport.send(data, (ip, port)) is False:
            self.on_reply(branch, 408)
        return True

    def tick(self, now: float) -> None:
        """Retransmit what is due and time out what waited too long."""
        for branch, item in list(self.pending.items()):
            if item[4] <= now:
                self.on_reply(branch, 408)
            elif item[5] is not None and item[5] <= now:
                item[2].send(item[1], item[3])
                item[6] = min(item[6] * 2, self.T2)
                item[5] = now + item[6]

    def on_reply(self, branch: str, code: int) -> bool:
        item = self.pending.get(branch)
        if item is None:
            return False
        if code < 200:
            item[5] = None  # a provisional reply stops the retransmissions; the timeout still runs
            return True
        del self.pending[branch]
        self.on_result(item[0], code)
        return True


class Prober:
    """ds_check_timer + ds_options_callback: which destinations get an OPTIONS and what the answers change."""

    def __init__(self, st: DSState, core: Any) -> None:
        self.st = st
        self.core = core
        timeout = float(getattr(getattr(core, "tm", None), "fr_timeout", 5) or 5)
        self.probes = OptionsProbes(core, PROBE_BRANCH_PREFIX, timeout, self.on_result)

    def targets(self) -> list[tuple[Partition, int, Dest]]:
        st = self.st
        out = []
        for part in st.partitions.values():
            for s in part.data.sets:
                if st.probing_list is not None and s.id not in st.probing_list:
                    continue
                for d in s.dlist:
                    if d.flags & DS_INACTIVE_DST:
                        continue
                    if st.probing_mode == 1 or d.flags & (DS_PROBING_DST | DS_PROBING_PERM_DST):
                        out.append((part, s.id, d))
        return out

    def send_round(self, now: float) -> int:
        st = self.st
        sent = 0
        for part, sid, d in self.targets():
            method = part.ping_method or st.ping_method
            from_uri = part.ping_from or st.ping_from
            if self.probes.send((part, sid, d.uri), d.dst_uri, d.uri, method, from_uri, st.ping_maxfwd, now):
                sent += 1
            else:
                st.warn(f"dispatcher: failed to send probe for <{d.uri}>, set {sid}, setting it to probing")
                st.set_state(part, sid, d.uri, DS_PROBING_DST, True)
        return sent

    def on_result(self, key: tuple[Partition, int, str], code: int) -> None:
        part, sid, uri = key
        st = self.st
        ok = code == 200 or code in st.options_reply_codes
        if ok:
            st.set_state(part, sid, uri, DS_INACTIVE_DST | DS_PROBING_DST | DS_RESET_FAIL_DST, False)
        s = part.data.by_id.get(sid)
        perm = s is not None and any(d.uri == uri and d.flags & DS_PROBING_PERM_DST for d in s.dlist)
        if (
            (st.probing_mode == 1 or perm)
            and code != 200
            and (code == 408 or code not in st.options_reply_codes)
        ):
            st.set_state(part, sid, uri, DS_PROBING_DST, True)


def install_reply_hook(core: Any, prefix: str, on_reply: Any) -> None:
    """Let replies to our probes (top Via branch starting with ``prefix``) reach ``on_reply(branch, status)``."""
    core.add_reply_hook(prefix, on_reply)


async def serve_routing_module(
    core: Any,
    program: Any,
    task_status: Any,
    *,
    name: str,
    loaded: tuple[Any, Any],
    build: Any,
    prober_cls: Any,
    prefix: str,
    interval_attr: str,
) -> None:
    """start_service of dispatcher and drouting: this server's state (reusing the load done when the script was
    compiled), then the probing loop with replies routed here by their Via branch prefix."""
    params = (getattr(program, "modparams", None) or {}).get(name, {})
    log = getattr(core, "log", None)
    warn = (lambda m: log.warn(m, name)) if log is not None else None
    st, loaded_from = loaded
    try:
        if st is not None and loaded_from is params:
            st.log = warn  # this program's own load (init ran when the script was compiled): no second read
        else:
            st = build(params, log=warn)
    except ValueError as e:
        # the script load already refused bad data; if the files changed since, serve on empty data
        if log is not None:
            log.error(f"{name}: {e}; running without routing data", name)
        st = build(params, log=warn, load=False)
    if not hasattr(core, "modules_state"):
        core.modules_state = {}
    core.modules_state[name] = st
    interval = getattr(st, interval_attr)
    if interval <= 0:
        task_status.started()
        return
    prober = prober_cls(st, core)
    core.modules_state[f"{name}_prober"] = prober
    install_reply_hook(core, prefix, prober.probes.on_reply)
    task_status.started()
    await run_probing(prober.send_round, prober.probes.tick, interval)


async def start_service(core: Any, program: Any, *, task_status: Any) -> None:
    """Build this server's dispatcher state and run the probing timer (ds_ping_interval)."""
    await serve_routing_module(
        core, program, task_status, name="dispatcher", loaded=(_DATA.data, _DATA.params), build=build_state,
        prober_cls=Prober, prefix=PROBE_BRANCH_PREFIX, interval_attr="ping_interval",
    )  # fmt: skip


async def run_probing(send_round: Any, tick: Any, interval: float) -> None:
    """The probing timer: a round every ``interval`` seconds, retransmissions and timeouts checked every 50 ms."""
    import trio

    next_round = trio.current_time()
    while True:
        now = trio.current_time()
        if now >= next_round:
            send_round(now)
            next_round = now + interval
        tick(now)
        await trio.sleep(min(0.05, max(0.0, next_round - now)))


MODULE = ModuleSpec.build(
    "dispatcher",
    doc="destination sets, load balancing (algorithms 0-9), failover, probing; db_text or 1.x list_file",
    functions=[
        FunctionSpec(
            "ds_select_dst",
            (
                ParamSpec(ANY, name="set"),
                ParamSpec(ANY, name="alg"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(STR, optional=True, name="partition"),
                ParamSpec(INT, optional=True, name="max_res"),
            ),
            w_ds_select_dst,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "ds_select_domain",
            (
                ParamSpec(ANY, name="set"),
                ParamSpec(ANY, name="alg"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(STR, optional=True, name="partition"),
                ParamSpec(INT, optional=True, name="max_res"),
            ),
            w_ds_select_domain,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "ds_next_dst",
            (ParamSpec(STR, optional=True, name="partition"),),
            w_ds_next_dst,
            frozenset({REQUEST, FAILURE}),
        ),
        FunctionSpec(
            "ds_next_domain",
            (ParamSpec(STR, optional=True, name="partition"),),
            w_ds_next_domain,
            frozenset({REQUEST, FAILURE}),
        ),
        FunctionSpec(
            "ds_mark_dst",
            (ParamSpec(STR, optional=True, name="state"), ParamSpec(STR, optional=True, name="partition")),
            w_ds_mark_dst,
            frozenset({REQUEST, FAILURE}),
        ),
        FunctionSpec(
            "ds_is_in_list",
            (
                ParamSpec(STR, name="ip"),
                ParamSpec(INT, name="port"),
                ParamSpec(INT, optional=True, name="set"),
                ParamSpec(STR, optional=True, name="partition"),
                ParamSpec(INT, optional=True, name="active_only"),
                ParamSpec(STR, optional=True, name="pattern"),
            ),
            w_ds_is_in_list,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "ds_count",
            (
                ParamSpec(INT, name="set"),
                ParamSpec(STR, name="state_filter"),
                ParamSpec(VAR, name="res_var"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_ds_count,
            frozenset({REQUEST, FAILURE, BRANCH, LOCAL, TIMER, EVENT}),
        ),
        FunctionSpec(
            "ds_push_script_attrs",
            (
                ParamSpec(STR, name="script_attr"),
                ParamSpec(STR, name="ip"),
                ParamSpec(INT, name="port"),
                ParamSpec(INT, optional=True, name="set"),
                ParamSpec(STR, optional=True, name="partition"),
            ),
            w_ds_push_script_attrs,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "ds_get_script_attrs",
            (
                ParamSpec(STR, name="uri"),
                ParamSpec(INT, name="set"),
                ParamSpec(STR, optional=True, name="partition"),
                ParamSpec(VAR, name="out_attrs"),
            ),
            w_ds_get_script_attrs,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "ds_is_from_list",
            (ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True)),
            w_ds_is_from_list,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH}),
        ),
    ],
    params=[
        ModParamSpec("list_file", STR),
        ModParamSpec("db_url", STR),
        ModParamSpec("table_name", STR, "dispatcher"),
        ModParamSpec("setid_col", STR),
        ModParamSpec("destination_col", STR),
        ModParamSpec("flags_col", STR),
        ModParamSpec("force_dst", INT, 0),
        ModParamSpec("flags", INT, 0),
        ModParamSpec("use_default", INT, 0),
        ModParamSpec("dst_avp", STR),
        ModParamSpec("grp_avp", STR),
        ModParamSpec("cnt_avp", STR),
        ModParamSpec("hash_pvar", STR),
        ModParamSpec("setid_pvname", STR),
        ModParamSpec("ds_probing_threshhold", INT, 3),
        ModParamSpec("ds_ping_method", STR, "OPTIONS"),
        ModParamSpec("ds_ping_from", STR, "sip:dispatcher@localhost"),
        ModParamSpec("ds_ping_interval", INT, 0),
        ModParamSpec("ds_probing_mode", INT, 0),
        ModParamSpec("weight_col", STR),
        ModParamSpec("attrs_col", STR),
        ModParamSpec("attrs_avp", STR),
        ModParamSpec("options_reply_codes", STR),
        ModParamSpec("socket_col", STR),
        ModParamSpec("sock_avp", STR),
        ModParamSpec("setid_pvar", STR),
        ModParamSpec("ds_probing_sock", STR),
        ModParamSpec("state_col", STR),
        ModParamSpec("pvar_algo_pattern", STR, ""),
        ModParamSpec("ds_define_blacklist", STR, None, repeatable=True),
        ModParamSpec("partition", STR, None, repeatable=True),
        ModParamSpec("priority_col", STR),
        ModParamSpec("persistent_state", INT, 1),
        ModParamSpec("description_col", STR),
        ModParamSpec("ds_probing_list", STR, None, repeatable=True),
        ModParamSpec("ds_ping_maxfwd", INT, -1),
        ModParamSpec("fetch_freeswitch_stats", INT),
        ModParamSpec("max_freeswitch_weight", INT, 100),
        ModParamSpec("probe_mode_col", STR),
        ModParamSpec("script_attrs_avp", STR),
        ModParamSpec("algo_route", STR),
        ModParamSpec("ds_probing_threshold", INT, 3),
        ModParamSpec("cluster_id", INT, 0),
        ModParamSpec("cluster_sharing_tag", STR),
        ModParamSpec("cluster_probing_mode", STR),
    ],
    mi_commands={
        "ds_list": mi_ds_list,
        "ds_reload": mi_ds_reload,
        "ds_set_state": mi_ds_set_state,
        "dispatcher:list": mi_ds_list,
        "dispatcher:reload": mi_ds_reload,
        "dispatcher:set_state": mi_ds_set_state,
    },
)
