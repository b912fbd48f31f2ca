"""usrloc: the user location table in memory (OpenSIPS db_mode 0 / "single-instance-no-db").

Domains are the table names given to registrar's save()/lookup() ("location"); each maps an AOR (``user``, or
``user@domain`` with ``use_domain``) to its contacts. A contact keeps what OpenSIPS's ucontact_t keeps: absolute
expires (0 = permanent), q (0..1000, -1 unspecified), Call-ID, CSeq, received, path, user agent, socket, methods
(None = all), flags and branch flags (cflags). Contacts of an AOR are kept ordered as OpenSIPS orders them: by q,
highest first, contacts of equal q in insertion order (newest first with ``desc_time_order``). Expired contacts
vanish lazily on access and from a purge timer (``timer_interval``) while the server runs.

State per server: ``core.modules_state["usrloc"]`` (a :class:`ULState`), created on first use from the program's
modparams; without a core (``pysips simulate``, unit tests) it hangs off the Env the same way.
With udp_workers > 1 every worker keeps its own table, which is why pysips/proxy/workers.py runs scripts that load
usrloc in one process.
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from pysips.errors import MIError
from pysips.mi import mi_command, param_str
from pysips.modules import ANY, INT, STR, ModParamSpec, ModuleSpec
from pysips.sip.uri import parse_uri

FL_MEM = 1 << 0  # ucontact flags: saved with the "m" (memory only) flag
Q_UNSPECIFIED = -1
CT_MATCH_CONTACT_ONLY, CT_MATCH_CONTACT_CALLID = 0, 1

_LOADED: dict[str, dict[str, Any]] = {}  # module -> modparams of the last script load (used without a core)


@dataclass(slots=True)
class UContact:
    aor: str
    uri: str
    expires: float  # absolute time; 0 = permanent
    q: int = Q_UNSPECIFIED
    callid: str = ""
    cseq: int = 0
    received: str | None = None
    path: str | None = None
    user_agent: str = ""
    socket: str | None = None
    methods: frozenset[str] | None = None  # None = every method
    flags: int = 0
    cflags: int = 0
    last_modified: float = 0.0
    instance: str | None = None
    attr: str | None = None
    contact_id: int = 0

    def valid(self, now: float) -> bool:
        """OpenSIPS VALID_CONTACT: permanent or not yet expired."""
        return self.expires == 0 or self.expires > now

    def remaining(self, now: float) -> int:
        return int(self.expires - now) if self.expires else 0


def q2str(q: int) -> str:
    """OpenSIPS q2str: 1000 -> "1", 500 -> "0.5", 1 -> "0.001"; unspecified -> ""."""
    if q < 0:
        return ""
    if q >= 1000:
        return "1"
    return f"0.{q:03d}".rstrip("0") if q else "0"


def _uri_key(uri: str) -> tuple | None:
    """What RFC 3261 19.1.4 URI equality compares (OpenSIPS compare_uris), as a comparable tuple."""
    try:
        u = parse_uri(uri)
    except Exception:
        return None
    params = {k.lower(): (v or "").lower() for k, v in u.params}
    return (u.scheme, u.user, u.password, (u.host or "").lower(), u.port, params)


def uris_equal(a: str, b: str) -> bool:
    if a == b:
        return True
    ka, kb = _uri_key(a), _uri_key(b)
    if ka is None or kb is None:
        return False
    if ka[:5] != kb[:5]:
        return False
    pa, pb = ka[5], kb[5]
    for name in set(pa) | set(pb):
        if name in pa and name in pb:
            if pa[name] != pb[name]:
                return False
        elif name in ("user", "ttl", "method", "maddr", "transport"):
            # these must be in both URIs or in neither
            return False
    return True


def _int(v: Any, default: int = 0) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def bflag_mask(value: Any) -> int:
    """A branch flag modparam (nat_bflag): a bit number (2.x) or a flag name (3.x), as a mask; 0 if unset."""
    if value is None or value == "":
        return 0
    if isinstance(value, int) or re.fullmatch(r"\s*\d+\s*", str(value)):
        n = int(value)
        return 1 << n if 0 <= n < 32 else 0
    from pysips.script.context import FLAGS

    try:
        return FLAGS.mask(str(value).strip(), "branch")
    except ValueError:
        return 0


class ULState:
    """Every domain of one server: name -> {aor -> [UContact, ...]}."""

    def __init__(
        self, params: dict[str, Any] | None = None, *, clock: Callable[[], float] = time.time
    ) -> None:
        p = params or {}
        self.params = p
        self.clock = clock
        self.domains: dict[str, dict[str, list[UContact]]] = {}
        self.db_mode = _int(p.get("db_mode"), 0)
        self.use_domain = bool(_int(p.get("use_domain"), 0))
        self.desc_time_order = bool(_int(p.get("desc_time_order"), 0))
        self.matching_mode = _int(p.get("matching_mode"), CT_MATCH_CONTACT_ONLY)
        self.cseq_delay = _int(p.get("cseq_delay"), 20)
        self.timer_interval = max(_int(p.get("timer_interval"), 60), 1)
        self.nat_flag = bflag_mask(p.get("nat_bflag"))
        self._next_id = 1

    # ------------------------------------------------------------ records

    def domain(self, name: str) -> dict[str, list[UContact]]:
        d = self.domains.get(name)
        if d is None:
            d = self.domains[name] = {}
        return d

    def get_record(self, dname: str, aor: str) -> list[UContact] | None:
        """The contacts of ``aor`` with the expired ones dropped; None when the AOR has none left."""
        d = self.domains.get(dname)
        if d is None:
            return None
        cts = d.get(aor)
        if cts is None:
            return None
        now = self.clock()
        if any(c.expires and c.expires <= now for c in cts):
            cts[:] = [c for c in cts if c.valid(now)]
        if not cts:
            del d[aor]
            return None
        return cts

    def delete_record(self, dname: str, aor: str) -> bool:
        d = self.domains.get(dname)
        return d is not None and d.pop(aor, None) is not None

    def insert_contact(self, dname: str, c: UContact) -> UContact:
        cts = self.domain(dname).setdefault(c.aor, [])
        c.contact_id = self._next_id
        self._next_id += 1
        if self.desc_time_order:
            cts.insert(0, c)
        else:
            i = 0
            while i < len(cts) and cts[i].q >= c.q:
                i += 1
            cts.insert(i, c)
        return c

    def update_position(self, dname: str, c: UContact) -> None:
        """After an update: newest first with desc_time_order, else re-sorted by q if q changed the order."""
        cts = self.domains.get(dname, {}).get(c.aor)
        if not cts or c not in cts:
            return
        if self.desc_time_order:
            cts.remove(c)
            cts.insert(0, c)
            return
        i = cts.index(c)
        if (i == 0 or cts[i - 1].q >= c.q) and (i == len(cts) - 1 or cts[i + 1].q <= c.q):
            return
        cts.pop(i)
        j = 0
        while j < len(cts) and cts[j].q >= c.q:
            j += 1
        cts.insert(j, c)

    def delete_contact(self, dname: str, c: UContact) -> None:
        d = self.domains.get(dname)
        if d is None:
            return
        cts = d.get(c.aor)
        if cts is None:
            return
        if c in cts:
            cts.remove(c)
        if not cts:
            del d[c.aor]

    def find_contact(
        self, cts: list[UContact], uri: str, callid: str, cseq: int, mode: int | None = None
    ) -> tuple[int, UContact | None]:
        """OpenSIPS get_ucontact: (0, c) found, (1, None) not found, (-1, c) CSeq not newer (invalid),
        (-2, c) same CSeq within cseq_delay (a retransmission)."""
        mode = self.matching_mode if mode is None else mode
        for c in cts:
            if mode == CT_MATCH_CONTACT_CALLID and c.callid != callid:
                continue
            if not uris_equal(c.uri, uri):
                continue
            if mode == CT_MATCH_CONTACT_CALLID or c.callid == callid:
                if cseq < c.cseq:
                    return -1, c
                if cseq == c.cseq:
                    return (-2 if c.last_modified + self.cseq_delay > self.clock() else -1), c
            return 0, c
        return 1, None

    def purge(self) -> int:
        """Drop every expired contact (the usrloc timer); returns how many went."""
        now = self.clock()
        n = 0
        for d in self.domains.values():
            for aor in list(d):
                cts = d[aor]
                keep = [c for c in cts if c.valid(now)]
                n += len(cts) - len(keep)
                if keep:
                    cts[:] = keep
                else:
                    del d[aor]
        return n

    def fix_aor(self, aor: str) -> str:
        """MI AORs: "user@domain" needs the domain with use_domain, loses it without (mi_fix_aor)."""
        if self.use_domain:
            if "@" not in aor:
                raise MIError("Domain missing in AOR", 400)
            return aor
        return aor.split("@", 1)[0]


# ---------------------------------------------------------------- where the state lives


def _params_of(program: Any, name: str) -> dict[str, Any]:
    if program is not None:
        mp = getattr(program, "modparams", None) or {}
        if name in mp:
            return mp[name]
    return _LOADED.get(name, {})


def build_state(program: Any = None) -> ULState:
    params = dict(_params_of(program, "usrloc"))
    reg = _params_of(program, "registrar")
    if not _int(params.get("use_domain"), 0) and _int(reg.get("use_domain"), 0):
        params["use_domain"] = 1  # 2.x scripts set use_domain on registrar
    return ULState(params)


def get_state(holder: Any) -> ULState:
    """The ULState of a Core (or of an Env when there is no core), created on first use."""
    ms = getattr(holder, "modules_state", None)
    if ms is None:
        ms = {}
        holder.modules_state = ms
    st = ms.get("usrloc")
    if st is None:
        st = ms["usrloc"] = build_state(getattr(holder, "program", None))
    return st


def state_for(ctx: Any) -> ULState:
    env = ctx.env
    core = getattr(env, "core", None)
    return get_state(core if core is not None else env)


def init(params: dict[str, Any]) -> None:
    """Script load (OpenSIPS mod_init): remember the modparams for servers and simulations built later."""
    _LOADED["usrloc"] = params


async def start_service(core: Any, program: Any, *, task_status: Any) -> None:
    """This server's table, and the timer that purges expired contacts every ``timer_interval`` seconds."""
    import trio

    ms = getattr(core, "modules_state", None)
    if ms is None:
        ms = core.modules_state = {}
    st = ms.get("usrloc")
    if st is None:
        st = ms["usrloc"] = build_state(program)
    log = getattr(core, "log", None)
    if st.db_mode != 0 and log is not None:
        log.warn(f"db_mode {st.db_mode} is not supported: contacts are kept in memory only", "usrloc")
    preset = st.params.get("working_mode_preset")
    if preset and preset != "single-instance-no-db" and log is not None:
        log.warn(
            f'working_mode_preset "{preset}" is not supported: contacts are kept in memory only', "usrloc"
        )
    task_status.started()
    while True:
        await trio.sleep(st.timer_interval)
        st.purge()


# ---------------------------------------------------------------- MI (3.x shapes)


def _mi_state(core: Any) -> ULState:
    return get_state(core)


def _mi_domain(st: ULState, params: Any) -> str:
    table = param_str(params, "table_name")
    if table not in st.domains:
        raise MIError("Table not found", 404)
    return table


def _contact_node(c: UContact, now: float) -> dict[str, Any]:
    from pysips.script.context import FLAGS

    node: dict[str, Any] = {"Contact": c.uri, "ContactID": str(c.contact_id)}
    if c.expires == 0:
        node["Expires"] = "permanent"
    elif now > c.expires:
        node["Expires"] = "expired"
    else:
        node["Expires"] = int(c.expires - now)
    node["Q"] = q2str(c.q)
    node["Callid"] = c.callid
    node["Cseq"] = c.cseq
    if c.user_agent:
        node["User-agent"] = c.user_agent
    if c.received:
        node["Received"] = c.received
    if c.path:
        node["Path"] = c.path
    node["State"] = "CS_NEW"
    node["Flags"] = c.flags
    node["Cflags"] = FLAGS.names(c.cflags, "branch")
    if c.socket:
        node["Socket"] = c.socket
    node["Methods"] = _methods_mask(c.methods)
    if c.attr:
        node["Attr"] = c.attr
    if c.instance:
        node["SIP_instance"] = c.instance
    return node


# OpenSIPS METHOD_* bits (parser/msg_parser.h), for the "Methods" number of ul_dump
_METHOD_BITS = {
    "INVITE": 1,
    "CANCEL": 2,
    "ACK": 4,
    "BYE": 8,
    "INFO": 16,
    "OPTIONS": 32,
    "UPDATE": 64,
    "REGISTER": 128,
    "MESSAGE": 256,
    "SUBSCRIBE": 512,
    "NOTIFY": 1024,
    "PRACK": 2048,
    "REFER": 4096,
    "PUBLISH": 8192,
}
ALL_METHODS_MASK = 0xFFFFFFFF


def _methods_mask(methods: frozenset[str] | None) -> int:
    if methods is None:
        return ALL_METHODS_MASK
    return sum(_METHOD_BITS.get(m, 0) for m in methods)


def _aor_node(aor: str, cts: list[UContact], now: float, brief: bool = False) -> dict[str, Any]:
    node: dict[str, Any] = {"AOR": aor}
    if not brief:
        node["Contacts"] = [_contact_node(c, now) for c in cts]
    return node


@mi_command(recipes=[(), ("brief",)], help="dump the user location tables")
def mi_ul_dump(core: Any, params: Any = None) -> dict:
    st = _mi_state(core)
    brief = param_str(params, "brief", optional=True) if isinstance(params, dict) else None
    now = st.clock()
    st.purge()
    domains = []
    for name, d in st.domains.items():
        aors = [_aor_node(aor, cts, now, bool(brief)) for aor, cts in d.items()]
        domains.append({"name": name, "hash_size": 1 << _int(st.params.get("hash_size"), 9), "AORs": aors})
    return {"Domains": domains}


@mi_command(recipes=[("table_name", "aor")], help="show the contacts of an AOR")
def mi_ul_show_contact(core: Any, params: Any = None) -> dict:
    st = _mi_state(core)
    dname = _mi_domain(st, params)
    aor = st.fix_aor(param_str(params, "aor"))
    cts = st.get_record(dname, aor)
    if cts is None:
        raise MIError("AOR not found", 404)
    return _aor_node(aor, cts, st.clock())


@mi_command(recipes=[("table_name", "aor")], help="delete an AOR with all its contacts")
def mi_ul_rm(core: Any, params: Any = None) -> str:
    st = _mi_state(core)
    dname = _mi_domain(st, params)
    aor = st.fix_aor(param_str(params, "aor"))
    st.delete_record(dname, aor)
    return "OK"


@mi_command(recipes=[("table_name", "aor", "contact")], help="delete one contact of an AOR")
def mi_ul_rm_contact(core: Any, params: Any = None) -> str:
    st = _mi_state(core)
    dname = _mi_domain(st, params)
    aor = st.fix_aor(param_str(params, "aor"))
    cts = st.get_record(dname, aor)
    if cts is None:
        raise MIError("AOR not found", 404)
    contact = param_str(params, "contact")
    for c in cts:
        if c.uri == contact:
            st.delete_contact(dname, c)
            return "OK"
    raise MIError("Contact not found", 404)


@mi_command(recipes=[()], help="purge the expired contacts now")
def mi_ul_flush(core: Any, params: Any = None) -> str:
    _mi_state(core).purge()
    return "OK"


MODULE = ModuleSpec.build(
    "usrloc",
    doc="user location in memory (db_mode 0; other modes warn and run in memory)",
    functions=[],
    params=[
        ModParamSpec("user_column", STR),
        ModParamSpec("domain_column", STR),
        ModParamSpec("contact_column", STR),
        ModParamSpec("expires_column", STR),
        ModParamSpec("q_column", STR),
        ModParamSpec("callid_column", STR),
        ModParamSpec("cseq_column", STR),
        ModParamSpec("flags_column", STR),
        ModParamSpec("cflags_column", STR),
        ModParamSpec("db_url", STR),
        ModParamSpec("timer_interval", INT, 60),
        ModParamSpec("db_mode", INT),
        ModParamSpec("use_domain", INT, 0),
        ModParamSpec("desc_time_order", INT, 0),
        ModParamSpec("user_agent_column", STR),
        ModParamSpec("received_column", STR),
        ModParamSpec("path_column", STR),
        ModParamSpec("socket_column", STR),
        ModParamSpec("methods_column", STR),
        ModParamSpec("matching_mode", INT),
        ModParamSpec("cseq_delay", INT, 20),
        ModParamSpec("fetch_rows", INT, 2000),
        ModParamSpec("hash_size", INT, 9),
        ModParamSpec("nat_bflag", ANY, 0),
        ModParamSpec("sip_instance_column", STR),
        ModParamSpec("attr_column", STR),
        ModParamSpec("accept_replicated_contacts", INT, 0),
        ModParamSpec("replicate_contacts_to", ANY, 0),
        ModParamSpec("skip_replicated_db_ops", INT),
        ModParamSpec("contactid_column", STR),
        ModParamSpec("max_contact_delete", INT, 10),
        ModParamSpec("regen_broken_contactid", INT, 0),
        ModParamSpec("repl_auth_check", INT, 0),
        ModParamSpec("contact_id_column", STR),
        ModParamSpec("cachedb_url", STR),
        ModParamSpec("working_mode_preset", STR, "single-instance-no-db"),
        ModParamSpec("cluster_mode", STR),
        ModParamSpec("restart_persistency", STR),
        ModParamSpec("sql_write_mode", STR),
        ModParamSpec("shared_pinging", INT, None, repeatable=True),
        ModParamSpec("kv_store_column", STR),
        ModParamSpec("mi_dump_kv_store", INT),
        ModParamSpec("latency_event_min_us", INT),
        ModParamSpec("latency_event_min_us_delta", INT),
        ModParamSpec("location_cluster", INT, 0),
        ModParamSpec("pinging_mode", STR),
        ModParamSpec("contact_refresh_timer", INT),
    ],
    mi_commands={
        "ul_dump": mi_ul_dump,
        "ul_show_contact": mi_ul_show_contact,
        "ul_rm": mi_ul_rm,
        "ul_rm_contact": mi_ul_rm_contact,
        "ul_flush": mi_ul_flush,
        "usrloc:dump": mi_ul_dump,
        "usrloc:show_contact": mi_ul_show_contact,
        "usrloc:rm": mi_ul_rm,
        "usrloc:rm_contact": mi_ul_rm_contact,
        "usrloc:flush": mi_ul_flush,
    },
)
