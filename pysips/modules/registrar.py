"""registrar: save() / lookup() and friends over the in-memory usrloc table, as OpenSIPS 2.x-3.x does them.

save() follows OpenSIPS save.c (RFC 3261 10.3): "Contact: *" with "Expires: 0" removes every binding; each
contact's expires comes from its ``expires`` param, else the Expires header, else ``default_expires``, and is
raised to ``min_expires`` / lowered to ``max_expires`` (OpenSIPS never answers 423); expires 0 removes that
contact; a contact is matched by URI (and Call-ID with ``matching_mode`` 1); a CSeq not newer than the stored one
for the same Call-ID is refused with 400 "Invalid CSeq number", unless it is the same CSeq within ``cseq_delay``
(a retransmission, skipped). ``max_contacts`` (or the ``c<N>`` flag) answers 503 "Too many registered contacts"
unless the ``f`` flag drops the oldest. The 200 OK carries one Contact header listing every binding with
``;expires=<remaining>`` (and ``;q=``, ``;received=``); errors carry P-Registrar-Error, as OpenSIPS's reply.c.
Return codes: 1 saved, -2 refused (the error reply was sent), -1 reply failure / not a request.

Flags: 3.x letters ("mrsfo", "c5", "e60", "E3600", "p0"/"p1"/"p2", "v", "M0"/"M1"), 3.2+ names
("memory-only, no-reply, max-contacts=5, min-expires=60, ...") and 1.x/2.x numbers ("0x01" memory only, 0x02 no
reply, 0x04 socket header).

lookup() sets the R-URI to the first usable contact (highest q; equal q in registration order), $du to its Path
first hop or received address, $ru_q / branch flags / socket from it, and appends the others as branches unless
"b" / "no-branches" (or append_branches=0). Returns 1 found, -1 none, -2 found but none allows the method (with
method filtering), -3 error.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from typing import Any

from pysips.errors import PysipsError
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
from pysips.modules.usrloc import (
    FL_MEM,
    Q_UNSPECIFIED,
    UContact,
    ULState,
    q2str,
    state_for,
)

_LOADED: dict[str, Any] = {}  # registrar modparams of the last script load (used without a core)

# ---------------------------------------------------------------- errors (lib/reg/rerrno.c)

R_FINE = (200, "OK", "")
R_INV_CSEQ = (400, "Bad Request", "Invalid CSeq number")
R_AOR_PARSE = (400, "Bad Request", "Error while parsing AOR")
R_INV_Q = (400, "Bad Request", "Invalid q param in contact")
R_PARSE = (400, "Bad Request", "Message parse error")
R_TO_MISS = (400, "Bad Request", "To header not found")
R_CID_MISS = (400, "Bad Request", "Call-ID header not found")
R_CS_MISS = (400, "Bad Request", "CSeq header not found")
R_PARSE_CONT = (400, "Bad Request", "Contact parse error")
R_STAR_EXP = (400, "Bad Request", "* used in contact and expires is not zero")
R_STAR_CONT = (400, "Bad Request", "* used in contact and more than 1 contact")
R_UNESCAPE = (400, "Bad Request", "Error while unescaping username")
R_TOO_MANY = (503, "Service Unavailable", "Too many registered contacts")
R_PATH_UNSUP = (420, "Bad Extension", "No support for found Path indicated")
R_INTERNAL = (500, "Server Internal Error", "Server Internal Error")


class RegError(Exception):
    def __init__(self, rerr: tuple[int, str, str]) -> None:
        super().__init__(rerr[2])
        self.rerr = rerr


# ---------------------------------------------------------------- module parameters


@dataclass(slots=True)
class RegParams:
    default_expires: int = 3600
    default_q: int = Q_UNSPECIFIED
    min_expires: int = 60
    max_expires: int = 0
    max_contacts: int = 0
    append_branches: int = 1
    case_sensitive: int = 1
    method_filtering: int = 0
    retry_after: int = 0
    realm_prefix: str = ""
    received_param: str = "received"
    received_avp: str | None = None
    sock_hdr_name: str | None = None
    use_path: int = 0
    path_mode: int = 2
    path_use_received: int = 0
    use_domain: int = 0


def _avp_name(spec: Any) -> str | None:
    if not spec:
        return None
    m = re.fullmatch(r"\s*\$avp\(([^)]+)\)\s*", str(spec))
    return m.group(1) if m else str(spec).strip() or None


def _int(v: Any, default: int) -> int:
    try:
        return int(v)
    except (TypeError, ValueError):
        return default


def build_params(p: dict[str, Any]) -> RegParams:
    r = RegParams()
    for name in (
        "default_expires",
        "min_expires",
        "max_expires",
        "max_contacts",
        "append_branches",
        "case_sensitive",
        "method_filtering",
        "retry_after",
        "use_path",
        "path_use_received",
        "use_domain",
    ):
        if p.get(name) is not None:
            setattr(r, name, _int(p[name], getattr(r, name)))
    if p.get("default_q") is not None:
        r.default_q = _int(p["default_q"], Q_UNSPECIFIED)
    if p.get("path_mode") is not None:
        r.path_mode = _int(p["path_mode"], 2)
    r.realm_prefix = str(p.get("realm_prefix") or "")
    r.received_param = str(p.get("received_param") or "received")
    r.received_avp = _avp_name(p.get("received_avp"))
    r.sock_hdr_name = str(p["sock_hdr_name"]) if p.get("sock_hdr_name") else None
    return r


def init(params: dict[str, Any]) -> None:
    """Script load: check the values OpenSIPS checks in mod_init and remember them."""
    r = build_params(params)
    if r.default_q != Q_UNSPECIFIED and not 0 <= r.default_q <= 1000:
        raise ValueError(f"default_q {r.default_q} out of range (0..1000)")
    if r.min_expires < 0 or r.max_expires < 0 or r.default_expires < 0:
        raise ValueError("expires values must not be negative")
    _LOADED["params"] = params
    _LOADED["reg"] = r


def reg_params(ctx: Any) -> RegParams:
    """This server's registrar parameters (from its program), else those of the last script load."""
    core = getattr(ctx.env, "core", None)
    holder = core if core is not None else ctx.env
    ms = getattr(holder, "modules_state", None)
    if ms is None:
        ms = {}
        holder.modules_state = ms
    r = ms.get("registrar")
    program = getattr(holder, "program", None)
    if r is None or (program is not None and ms.get("registrar_program") is not program):
        # built again after reload_routes brings a new program (the contacts in usrloc stay)
        mp = (getattr(program, "modparams", None) or {}).get("registrar") if program is not None else None
        r = build_params(mp) if mp is not None else _LOADED.get("reg") or RegParams()
        ms["registrar"] = r
        ms["registrar_program"] = program
    return r


def _log(ctx: Any, level: int, text: str) -> None:
    env = getattr(ctx, "env", None)
    if env is not None:
        env.log(ctx, level, f"registrar: {text}")


_WARNED: set[str] = set()


def _warn_once(ctx: Any, text: str) -> None:
    if text not in _WARNED:
        _WARNED.add(text)
        _log(ctx, 1, text)


# ---------------------------------------------------------------- save flags


@dataclass(slots=True, frozen=True)
class SaveFlags:
    memory: bool = False
    no_reply: bool = False
    socket_hdr: bool = False
    force: bool = False
    req_ct_only: bool = False
    path_mode: int = -1  # -1 off, 0 off-mode (saved, never in reply), 1 lazy, 2 strict
    path_received: bool = False
    max_contacts: int | None = None
    min_expires: int | None = None
    max_expires: int | None = None
    match_mode: int | None = None
    unknown: str = ""


_SAVE_NAMES = {
    "memory-only": "memory",
    "no-reply": "no_reply",
    "socket-header": "socket_hdr",
    "force-registration": "force",
    "only-request-contacts": "req_ct_only",
    "path-received": "path_received",
}
_SAVE_PATH_NAMES = {"path-off": 0, "path-lazy": 1, "path-strict": 2}


@functools.lru_cache(maxsize=256)
def parse_save_flags(text: str | int | None) -> SaveFlags:
    """Every spelling OpenSIPS accepted over the versions (see the module docstring)."""
    if text is None or text == "":
        return SaveFlags()
    s = str(text).strip()
    if isinstance(text, int) or re.fullmatch(r"0[xX][0-9a-fA-F]+|\d+", s):
        n = int(s, 0)
        return SaveFlags(memory=bool(n & 1), no_reply=bool(n & 2), socket_hdr=bool(n & 4))
    kw: dict[str, Any] = {}
    unknown = []
    if re.search(r"[-=,]", s) or s in _SAVE_NAMES or s in _SAVE_PATH_NAMES:
        for item in (x.strip() for x in s.split(",")):
            if not item:
                continue
            name, _, value = item.partition("=")
            name = name.strip()
            value = value.strip()
            if name in _SAVE_NAMES:
                kw[_SAVE_NAMES[name]] = True
            elif name in _SAVE_PATH_NAMES:
                kw["path_mode"] = _SAVE_PATH_NAMES[name]
            elif name in ("max-contacts", "min-expires", "max-expires") and value.isdigit():
                kw[name.replace("-", "_")] = int(value)
            elif name == "matching-mode" and value[:1] in ("0", "1"):
                kw["match_mode"] = int(value[:1])
            else:
                unknown.append(item)
        return SaveFlags(**kw, unknown=",".join(unknown))
    i = 0
    while i < len(s):
        ch = s[i]
        i += 1
        if ch in "cCeE":
            m = re.match(r"\d+", s[i:])
            if m:
                i += m.end()
                key = {"c": "max_contacts", "C": "max_contacts", "e": "min_expires", "E": "max_expires"}[ch]
                kw[key] = int(m.group())
            else:
                unknown.append(ch)
        elif ch == "p" and i < len(s) and s[i] in "012":
            kw["path_mode"] = int(s[i])
            i += 1
        elif ch == "M":
            if i < len(s) and s[i] in "01":
                kw["match_mode"] = int(s[i])
                i += 1
            elif i < len(s) and s[i] == "<":
                end = s.find(">", i)
                unknown.append(s[i - 1 : end + 1 if end > 0 else len(s)])
                i = end + 1 if end > 0 else len(s)
            else:
                unknown.append(ch)
        elif ch in "mrsfov":
            kw[
                {"m": "memory", "r": "no_reply", "s": "socket_hdr", "f": "force", "o": "req_ct_only"}.get(
                    ch, "path_received"
                )
            ] = True
        elif ch not in " ":
            unknown.append(ch)
    return SaveFlags(**kw, unknown="".join(unknown))


# ---------------------------------------------------------------- AOR


def extract_aor(uri_text: str, reg: RegParams, use_domain: bool) -> str:
    """OpenSIPS extract_aor: the unescaped user (RFC 3261 10.3.5), "@domain" with use_domain (minus realm_prefix);
    with case_sensitive only the domain is lowered, else the whole AOR."""
    from pysips.sip.uri import parse_uri

    text = (uri_text or "").strip()
    if text.startswith("<") or '"' in text:
        from pysips.sip.headers import parse_name_addr

        try:
            text = str(parse_name_addr(text).uri)
        except Exception:
            raise RegError(R_AOR_PARSE) from None
    try:
        u = parse_uri(text)
    except Exception:
        raise RegError(R_AOR_PARSE) from None
    user = u.user or ""
    if "%" in user:
        try:
            user = re.sub(r"%([0-9a-fA-F]{2})", lambda m: chr(int(m.group(1), 16)), user)
        except ValueError:
            raise RegError(R_UNESCAPE) from None
    if not use_domain:
        return user if reg.case_sensitive else user.lower()
    host = u.host or ""
    pre = reg.realm_prefix
    if pre and len(pre) < len(host) and host.startswith(pre):
        host = host[len(pre) :]
    if reg.case_sensitive and user:
        return f"{user}@{host.lower()}"
    return (f"{user}@{host}" if user else host).lower()


# ---------------------------------------------------------------- helpers on the request


def _request(ctx: Any) -> Any:
    msg = ctx.msg
    if msg is not None and msg.is_request:
        return msg
    return None


def _contacts(msg: Any) -> tuple[bool, list[Any]]:
    """(star, contacts) of the request; RegError on the RFC 3261 10.3 violations OpenSIPS refuses."""
    from pysips.sip.headers import parse_name_addr

    values = msg.get_values("Contact")
    star = False
    out = []
    for v in values:
        v = v.strip()
        if v == "*":
            star = True
            continue
        try:
            out.append(parse_name_addr(v))
        except Exception:
            raise RegError(R_PARSE_CONT) from None
    if star:
        if out or len(values) > 1:
            raise RegError(R_STAR_CONT)
        exp = _expires_header(msg)
        if exp is None or exp != 0:
            raise RegError(R_STAR_EXP)
    return star, out


def _expires_header(msg: Any) -> int | None:
    """The Expires header value; None when absent or not a number (OpenSIPS: not valid)."""
    v = msg.get_header("Expires")
    if v is None:
        return None
    v = v.strip()
    return int(v) if v.isdigit() else None


def _calc_expires(na: Any, msg: Any, now: float, reg: RegParams, flags: SaveFlags | None) -> float:
    """Absolute expires of one contact (0 = remove), OpenSIPS calc_contact_expires."""
    min_exp = reg.min_expires if flags is None or flags.min_expires is None else flags.min_expires
    max_exp = reg.max_expires if flags is None or flags.max_expires is None else flags.max_expires
    ep = na.get_param("expires") if na is not None else None
    if ep:
        e = int(ep) if ep.strip().isdigit() else reg.default_expires
    else:
        h = _expires_header(msg)
        if msg.get_header("Expires") is not None and h is not None:
            e = h
        else:
            e = reg.default_expires
    if e == 0:
        return 0
    if e < min_exp:
        e = min_exp
    if max_exp and e > max_exp:
        e = max_exp
    return now + e


def _parse_q(na: Any, reg: RegParams) -> int:
    qp = na.get_param("q")
    if qp is None or qp == "":
        return reg.default_q
    m = re.fullmatch(r"\s*(0(\.\d{0,3})?|1(\.0{0,3})?)\s*", qp)
    if not m:
        raise RegError(R_INV_Q)
    return round(float(m.group(1)) * 1000)


def _methods(na: Any, msg: Any) -> frozenset[str] | None:
    raw = na.get_param("methods")
    if raw:
        return frozenset(m.strip().upper() for m in raw.strip('"').split(",") if m.strip())
    if msg.has_header("Allow"):
        return frozenset(v.strip().upper() for v in msg.get_values("Allow") if v.strip())
    return None


def _path_vector(msg: Any) -> str | None:
    vals = msg.get_values("Path")
    return ",".join(v.strip() for v in vals) if vals else None


def _path_received(path: str | None) -> str | None:
    """The "received" param of the first Path URI (the 'v' flag)."""
    if not path:
        return None
    from pysips.sip.headers import parse_name_addr_list

    try:
        first = parse_name_addr_list(path)[0]
    except Exception:
        return None
    rcv = first.uri.get_param("received")
    return rcv.strip('"') if rcv else None


def _supports_path(msg: Any) -> bool:
    return any(v.strip().lower() == "path" for v in msg.get_values("Supported"))


def _socket_of(ctx: Any, msg: Any, flags: SaveFlags, reg: RegParams) -> str:
    if flags.socket_hdr and reg.sock_hdr_name:
        v = msg.get_header(reg.sock_hdr_name)
        if v and v.strip():
            return v.strip()
    return f"{ctx.proto}:{ctx.local_ip}:{ctx.local_port}"


# ---------------------------------------------------------------- save


@dataclass(slots=True)
class _Common:
    """What every contact of one REGISTER shares (OpenSIPS pack_ci with a message)."""

    callid: str
    cseq: int
    socket: str
    user_agent: str
    path: str | None
    path_rcv: str | None  # "received" of the first Path URI (v flag): wins over everything
    avp_rcv: str | None  # received_avp (fix_nated_register): used when the contact has no ;received
    cflags: int
    flags: int


def _new_contact(
    aor: str, na: Any, e: float, common: _Common, msg: Any, reg: RegParams, now: float
) -> UContact:
    received = common.path_rcv
    if received is None:
        rp = na.get_param("received")
        received = rp.strip('"') if rp else common.avp_rcv
    return UContact(
        aor=aor,
        uri=str(na.uri),
        expires=e,
        q=_parse_q(na, reg),
        callid=common.callid,
        cseq=common.cseq,
        received=received or None,
        path=common.path,
        user_agent=common.user_agent,
        socket=common.socket,
        methods=_methods(na, msg),
        flags=common.flags,
        cflags=common.cflags,
        last_modified=now,
        instance=(na.get_param("+sip.instance") or None),
    )


def _apply_update(c: UContact, new: UContact) -> None:
    for name in ("expires", "q", "callid", "cseq", "received", "path", "user_agent", "socket", "methods"):
        setattr(c, name, getattr(new, name))
    c.flags, c.cflags, c.last_modified, c.instance = new.flags, new.cflags, new.last_modified, new.instance


def _add_contacts(
    st: ULState, dname: str, aor: str, cts_in: list[Any], msg: Any, common: _Common, reg: RegParams,
    flags: SaveFlags, now: float,
) -> None:  # fmt: skip
    max_ct = reg.max_contacts if flags.max_contacts is None else flags.max_contacts
    mode = flags.match_mode
    record = st.get_record(dname, aor)
    if record is None:
        # insert_contacts: a new AOR; a failure removes the whole record again
        try:
            num = 0
            for na in cts_in:
                e = _calc_expires(na, msg, now, reg, flags)
                if e == 0:
                    continue
                if max_ct and num >= max_ct:
                    head = st.get_record(dname, aor)
                    if flags.force and head:
                        st.delete_contact(dname, head[0])  # OpenSIPS drops the head of the list
                    else:
                        raise RegError(R_TOO_MANY)
                else:
                    num += 1
                new = _new_contact(aor, na, e, common, msg, reg, now)
                rec = st.get_record(dname, aor)
                rc, c = (
                    (1, None)
                    if rec is None
                    else st.find_contact(rec, new.uri, new.callid, new.cseq + 1, mode)
                )
                if rc != 0 or c is None:
                    st.insert_contact(dname, new)
                else:
                    _apply_update(c, new)
                    st.update_position(dname, c)
        except RegError:
            st.delete_record(dname, aor)
            raise
        return
    # update_contacts
    num = sum(1 for c in record if c.valid(now)) if max_ct else 0
    for na in cts_in:
        e = _calc_expires(na, msg, now, reg, flags)
        uri = str(na.uri)
        rc, c = st.find_contact(record, uri, common.callid, common.cseq, mode)
        if rc == -1:
            raise RegError(R_INV_CSEQ)
        if rc == -2:
            continue
        if rc > 0:
            if e == 0:
                continue
            while max_ct and num >= max_ct:
                if not flags.force:
                    raise RegError(R_TOO_MANY)
                victims = [x for x in record if x.valid(now)]
                if not victims:
                    raise RegError(R_INTERNAL)
                # OpenSIPS drops the last valid one of the list
                st.delete_contact(dname, victims[-1])
                record = st.get_record(dname, aor) or st.domain(dname).setdefault(aor, [])
                num -= 1
            st.insert_contact(dname, _new_contact(aor, na, e, common, msg, reg, now))
            record = st.get_record(dname, aor) or []
            num += 1
            continue
        assert c is not None
        if e == 0:
            st.delete_contact(dname, c)
            record = st.get_record(dname, aor) or []
            continue
        if not c.valid(now):
            num += 1
        while max_ct and num > max_ct:
            if not flags.force:
                raise RegError(R_TOO_MANY)
            victims = [x for x in record if x.valid(now) and x is not c]
            if not victims:
                raise RegError(R_INTERNAL)
            st.delete_contact(dname, victims[-1])
            record = st.get_record(dname, aor) or []
            num -= 1
        _apply_update(c, _new_contact(aor, na, e, common, msg, reg, now))
        st.update_position(dname, c)


def build_contact_header(
    cts: list[UContact], now: float, only: list[str] | None = None, rcv_param: str = "received"
) -> str | None:
    """The Contact header of a 200 OK (reply.c build_contact): every valid binding, remaining expires."""
    from pysips.modules.usrloc import uris_equal

    parts = []
    for c in cts:
        if not c.valid(now):
            continue
        if only is not None and not any(uris_equal(c.uri, u) for u in only):
            continue
        s = f"<{c.uri}>"
        if c.q != Q_UNSPECIFIED:
            s += f";q={q2str(c.q)}"
        s += f";expires={c.remaining(now)}"
        if c.received:
            s += f';{rcv_param}="{c.received}"'
        parts.append(s)
    return ", ".join(parts) if parts else None


def _send_reply(ctx: Any, code: int, reason: str, headers: list[tuple[str, str]]) -> int:
    """Reply through the Env like sl/tm would (the script's append_to_reply headers included)."""
    saved = getattr(ctx, "reply_headers", None)
    extra = [f"{n}: {v}\r\n" for n, v in headers]
    ctx.reply_headers = list(saved or ()) + extra
    try:
        return ctx.env.reply(ctx, code, reason, None)
    finally:
        ctx.reply_headers = saved if saved is not None else []


def w_save(ctx: Any, domain: str, flags: Any = None, aor: str | None = None, owtag: str | None = None) -> int:
    msg = _request(ctx)
    if msg is None:
        _log(ctx, -1, "save() on a reply is not supported")
        return -1
    sf = parse_save_flags(flags if isinstance(flags, (int, type(None))) else str(flags))
    if sf.unknown:
        _warn_once(ctx, f'save() flags "{sf.unknown}" are not supported and were ignored')
    reg = reg_params(ctx)
    st = state_for(ctx)
    now = st.clock()
    use_domain = st.use_domain or bool(reg.use_domain)
    path_mode = sf.path_mode if sf.path_mode >= 0 else (reg.path_mode if reg.use_path else -1)
    reply_headers: list[tuple[str, str]] = []
    shown: list[UContact] | None = None
    only: list[str] | None = None
    try:
        if not msg.has_header("To"):
            raise RegError(R_TO_MISS)
        if not msg.has_header("Call-ID"):
            raise RegError(R_CID_MISS)
        if not msg.has_header("CSeq"):
            raise RegError(R_CS_MISS)
        try:
            callid = msg.call_id.strip()
            cseq = msg.cseq.number
            to_uri = str(msg.to.uri)
        except Exception:
            raise RegError(R_PARSE) from None
        star, cts_in = _contacts(msg)
        aor_key = extract_aor(aor if aor else to_uri, reg, use_domain)
        path = _path_vector(msg) if path_mode >= 0 else None
        if path and path_mode == 2 and not _supports_path(msg):
            reply_headers += [("Unsupported", "path"), ("Path", path)]
            raise RegError(R_PATH_UNSUP)
        if path and path_mode == 1 and _supports_path(msg) or path and path_mode == 2:
            reply_headers.append(("Path", path))
        if path is not None:
            ctx.path_vec = path
        path_rcv = _path_received(path) if sf.path_received or reg.path_use_received else None
        avp_rcv = None
        if reg.received_avp:
            v = ctx.avps.get(reg.received_avp)
            avp_rcv = str(v) if v else None
        cflags = ctx.bflags
        if path_rcv:
            cflags |= st.nat_flag
        common = _Common(
            callid=callid,
            cseq=cseq,
            socket=_socket_of(ctx, msg, sf, reg),
            user_agent=(msg.get_header("User-Agent") or "n/a"),
            path=path,
            path_rcv=path_rcv,
            avp_rcv=avp_rcv,
            cflags=cflags,
            flags=FL_MEM if sf.memory else 0,
        )
        if star:
            st.delete_record(domain, aor_key)
        elif cts_in:
            try:
                _add_contacts(st, domain, aor_key, cts_in, msg, common, reg, sf, now)
            finally:
                shown = st.get_record(domain, aor_key)
            if sf.req_ct_only:
                only = [str(na.uri) for na in cts_in]
        else:
            shown = st.get_record(domain, aor_key)
        st.domain(domain)
    except RegError as e:
        code, reason, info = e.rerr
        if not sf.no_reply:
            hdrs = []
            if shown:
                ch = build_contact_header(shown, now, None, reg.received_param)
                if ch:
                    hdrs.append(("Contact", ch))
            hdrs += reply_headers
            hdrs.append(("P-Registrar-Error", info))
            if code >= 500 and reg.retry_after:
                hdrs.append(("Retry-After", str(reg.retry_after)))
            _send_reply(ctx, code, reason, hdrs)
        _log(ctx, 2, f"REGISTER refused: {info}")
        return -2
    if sf.no_reply:
        return 1
    hdrs = []
    if shown:
        ch = build_contact_header(shown, now, only, reg.received_param)
        if ch:
            hdrs.append(("Contact", ch))
    hdrs += reply_headers
    return 1 if _send_reply(ctx, 200, "OK", hdrs) > 0 else -1


# ---------------------------------------------------------------- lookup


@dataclass(slots=True, frozen=True)
class LookupFlags:
    no_branches: bool = False
    to_branches_only: bool = False
    branch_aors: bool = False
    method_filtering: bool = False
    ua_regex: str | None = None
    ua_icase: bool = False
    unknown: str = ""


_LOOKUP_NAMES = {
    "method-filtering": "method_filtering",
    "no-branches": "no_branches",
    "to-branches-only": "to_branches_only",
    "branch": "branch_aors",
    "case-insensitive": "ua_icase",
}


@functools.lru_cache(maxsize=256)
def parse_lookup_flags(text: str | None) -> LookupFlags:
    if not text:
        return LookupFlags()
    s = str(text).strip()
    kw: dict[str, Any] = {}
    unknown = []
    if re.search(r"[-=,]", s) or s in _LOOKUP_NAMES or s in ("global", "sort-by-latency", "extended-regexp"):
        for item in (x.strip() for x in s.split(",")):
            if not item:
                continue
            name, _, value = item.partition("=")
            name, value = name.strip(), value.strip()
            if name in _LOOKUP_NAMES:
                kw[_LOOKUP_NAMES[name]] = True
            elif name == "ua-filtering" and len(value) > 2 and value[0] == "/" and value.endswith("/"):
                kw["ua_regex"] = value[1:-1]
            elif name in ("extended-regexp", "global", "sort-by-latency", "max-ping-latency"):
                pass  # Python regexps are extended; no clustering, no pinging: nothing to do
            else:
                unknown.append(item)
        return LookupFlags(**kw, unknown=",".join(unknown))
    i = 0
    while i < len(s):
        ch = s[i]
        i += 1
        if ch == "b":
            kw["no_branches"] = True
        elif ch == "B":
            kw["to_branches_only"] = True
        elif ch == "r":
            kw["branch_aors"] = True
        elif ch == "m":
            kw["method_filtering"] = True
        elif ch == "i":
            kw["ua_icase"] = True
        elif ch == "u" and i < len(s) and s[i] == "/":
            end = s.find("/", i + 1)
            if end < 0:
                unknown.append(s[i - 1 :])
                break
            kw["ua_regex"] = s[i + 1 : end]
            i = end + 1
        elif ch == "y":
            m = re.match(r"\d+", s[i:])
            i += m.end() if m else 0
        elif ch in "egY ":
            pass
        else:
            unknown.append(ch)
    return LookupFlags(**kw, unknown="".join(unknown))


def _allowed(c: UContact, method: str, filtering: bool) -> bool:
    return not filtering or c.methods is None or method in c.methods


def _path_dst(path: str) -> str | None:
    from pysips.sip.headers import parse_name_addr_list

    try:
        return str(parse_name_addr_list(path)[0].uri)
    except Exception:
        return None


def _select(
    st: ULState, cts: list[UContact], method: str, filtering: bool, ua_re: re.Pattern | None, ret: int
) -> tuple[int, list[UContact]]:
    """OpenSIPS select_contacts: the usable contacts, and the return code carried over from earlier AORs."""
    now = st.clock()
    out = []
    for c in cts:
        if not c.valid(now):
            continue
        if ret < 0:
            ret = -2
        if not _allowed(c, method, filtering):
            continue
        if ret < 0:
            ret = -1
        if ua_re is not None and not ua_re.search(c.user_agent or ""):
            continue
        ret = 1
        out.append(c)
    return ret, out


def w_lookup(ctx: Any, domain: str, flags: str | None = None, aor: str | None = None) -> int:
    from pysips.script.context import Branch

    msg = _request(ctx) or ctx.request_msg()
    if msg is None:
        return -3
    lf = parse_lookup_flags(flags)
    if lf.unknown:
        _warn_once(ctx, f'lookup() flags "{lf.unknown}" are not supported and were ignored')
    reg = reg_params(ctx)
    st = state_for(ctx)
    use_domain = st.use_domain or bool(reg.use_domain)
    if not msg.has_header("Call-ID"):
        return -3
    filtering = lf.method_filtering or bool(reg.method_filtering)
    single = lf.no_branches or not reg.append_branches
    ua_re = None
    if lf.ua_regex:
        try:
            ua_re = re.compile(lf.ua_regex, re.I if lf.ua_icase else 0)
        except re.error:
            return -3
    aors = [aor if aor else str(msg.ruri)]
    if lf.branch_aors and not single:
        aors += [b.uri for b in ctx.branches]
        ctx.branches = []
    ruri_pushed = lf.to_branches_only or ctx.msg is None or not ctx.msg.is_request
    pushed_any = False
    ret = -1
    for aor_uri in aors:
        try:
            key = extract_aor(aor_uri, reg, use_domain)
        except RegError:
            return -3
        cts = st.get_record(domain, key)
        if cts is None:
            continue
        ret, chosen = _select(st, cts, msg.method, filtering, ua_re, ret)
        for c in chosen:
            du = _path_dst(c.path) if c.path else c.received
            if not ruri_pushed:
                ctx.set_ruri(c.uri)
                ctx.du = du
                if c.path:
                    ctx.path_vec = c.path
                ctx.ruri_q = c.q
                ctx.bflags |= c.cflags
                if c.socket:
                    ctx.force_socket = c.socket
                ruri_pushed = True
            else:
                ctx.branches.append(
                    Branch(uri=c.uri, du=du, q=c.q, flags=c.cflags, path=c.path, socket=c.socket)
                )
            pushed_any = True
            if single:
                return 1
    if pushed_any:
        return 1
    return ret


# ---------------------------------------------------------------- checks and removal


def _check_aor(ctx: Any, aor: str | None, for_register_from: bool = True) -> str | None:
    """AOR of is_registered(): the parameter, else From on REGISTER, To on other requests."""
    msg = _request(ctx) or ctx.request_msg()
    if aor:
        uri = aor
    elif msg is None:
        return None
    elif for_register_from and msg.method == "REGISTER":
        uri = str(msg.from_.uri)
    else:
        uri = str(msg.to.uri)
    st = state_for(ctx)
    reg = reg_params(ctx)
    try:
        return extract_aor(uri, reg, st.use_domain or bool(reg.use_domain))
    except RegError:
        return None


def w_is_registered(ctx: Any, domain: str, aor: str | None = None) -> int:
    key = _check_aor(ctx, aor)
    if key is None:
        return -1
    return 1 if state_for(ctx).get_record(domain, key) else -1


def w_registered(ctx: Any, domain: Any, aor: Any = None, callid: Any = None) -> int:
    """1.x/2.x registered(domain [, AOR [, callid]]): the AOR (default: the R-URI) has a valid contact, with that
    Call-ID when one is given."""
    msg = _request(ctx) or ctx.request_msg()
    if msg is None:
        return -1
    reg = reg_params(ctx)
    st = state_for(ctx)
    try:
        key = extract_aor(str(aor) if aor else str(msg.ruri), reg, st.use_domain or bool(reg.use_domain))
    except RegError:
        return -1
    cts = st.get_record(str(domain), key)
    if not cts:
        return -1
    if callid:
        return 1 if any(c.callid == str(callid) for c in cts) else -1
    return 1


def w_is_contact_registered(
    ctx: Any, domain: str, aor: str | None = None, contact: str | None = None, callid: str | None = None
) -> int:
    key = _check_aor(ctx, aor)
    if key is None:
        return -1
    st = state_for(ctx)
    if not contact and not callid:
        msg = _request(ctx)
        if msg is None:
            return -1
        try:
            _, cts_in = _contacts(msg)
        except RegError:
            return -1
        reg = reg_params(ctx)
        now = st.clock()
        first = next((na for na in cts_in if _calc_expires(na, msg, now, reg, None)), None)
        if first is None:
            return -1
        contact = str(first.uri)
    cts = st.get_record(domain, key)
    if cts is None:
        return -1
    for c in cts:
        if contact and c.uri != contact:
            continue
        if callid and c.callid != callid:
            continue
        return 1
    return -1


def _pv_values(ctx: Any, spec: Any) -> list[Any]:
    """Every value of an AVP (OpenSIPS walks the whole stack), else the variable's one value."""
    if spec is None:
        return []
    if getattr(spec, "is_avp", False) and isinstance(spec.inner, str) and spec.index is None:
        return ctx.avps.get_all(spec.inner)
    v = spec.get(ctx)
    return [] if v is None else [v]


def w_is_ip_registered(ctx: Any, domain: str, aor: str | None, ip_spec: Any, port_spec: Any = None) -> int:
    """1 when a contact of the AOR (its received address, else its URI) has one of the IPs (and port)."""
    import ipaddress

    from pysips.sip.uri import parse_uri

    key = _check_aor(ctx, aor)
    if key is None:
        return -2
    ports = [_int(p, 0) for p in _pv_values(ctx, port_spec)]
    wanted = []  # (ip, port or 0): AVP stacks pair up IP and port values by position
    for i, v in enumerate(_pv_values(ctx, ip_spec)):
        try:
            wanted.append((ipaddress.ip_address(str(v).strip("[]")), ports[i] if i < len(ports) else 0))
        except ValueError:
            continue
    cts = state_for(ctx).get_record(domain, key)
    for c in cts or ():
        try:
            u = parse_uri(c.received or c.uri)
            ip = ipaddress.ip_address(u.host.strip("[]"))
        except (ValueError, PysipsError):
            continue
        for want, port in wanted:
            if ip == want and (not port or port == (u.port or 0)):
                return 1
    return -1


def _next_hop_host(c: UContact) -> str:
    from pysips.sip.uri import parse_uri

    target = (_path_dst(c.path) if c.path else None) or c.received or c.uri
    try:
        return parse_uri(target).host.lower()
    except Exception:
        return ""


def w_remove(
    ctx: Any, domain: str, aor: str, contact: str | None = None, next_hop: str | None = None,
    sip_instance: str | None = None,
) -> int:  # fmt: skip
    st = state_for(ctx)
    reg = reg_params(ctx)
    try:
        key = extract_aor(aor, reg, st.use_domain or bool(reg.use_domain))
    except RegError:
        return -1
    cts = st.get_record(domain, key)
    if cts is None:
        return 1
    if not contact and not next_hop and not sip_instance:
        st.delete_record(domain, key)
        return 1
    nh = None
    if next_hop:
        nh = next_hop.strip().lower()
        nh = re.sub(r"^sips?:", "", nh).split(";", 1)[0]
        if nh.startswith("["):
            nh = nh.split("]", 1)[0] + "]"
        else:
            nh = nh.rsplit("@", 1)[-1].split(":", 1)[0]
    for c in list(cts):
        if nh is not None and _next_hop_host(c) != nh:
            continue
        if contact and c.uri != contact:
            continue
        if sip_instance and c.instance != sip_instance:
            continue
        st.delete_contact(domain, c)
    return 1


MODULE = ModuleSpec.build(
    "registrar",
    doc="save/lookup over the in-memory usrloc (OpenSIPS 2.x-3.x semantics)",
    functions=[
        FunctionSpec(
            "save",
            (
                ParamSpec(STR, name="domain"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(STR, optional=True, name="aor"),
                ParamSpec(STR, optional=True, name="ownership_tag"),
            ),
            w_save,
            frozenset({REQUEST, ONREPLY}),
        ),
        FunctionSpec(
            "remove",
            (
                ParamSpec(STR, name="domain"),
                ParamSpec(STR, name="AOR"),
                ParamSpec(STR, optional=True, name="contact"),
                ParamSpec(STR, optional=True, name="next_hop"),
                ParamSpec(STR, optional=True, name="sip_instance"),
            ),
            w_remove,
            frozenset({REQUEST, ONREPLY}),
        ),
        FunctionSpec(
            "remove_ip_port",
            (
                ParamSpec(STR, name="IP"),
                ParamSpec(INT, name="Port"),
                ParamSpec(STR, name="domain"),
                ParamSpec(STR, optional=True, name="AOR"),
            ),
            None,
            ALL_ROUTES,
        ),
        FunctionSpec(
            "lookup",
            (
                ParamSpec(STR, name="domain"),
                ParamSpec(STR, optional=True, name="flags"),
                ParamSpec(STR, optional=True, name="aor"),
            ),
            w_lookup,
            frozenset({REQUEST, FAILURE, ONREPLY}),
        ),
        FunctionSpec(
            "add_sock_hdr",
            (ParamSpec(STR, name="hdr_name"),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "is_registered",
            (ParamSpec(STR, name="domain"), ParamSpec(STR, optional=True, name="AOR")),
            w_is_registered,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "is_contact_registered",
            (
                ParamSpec(STR, name="domain"),
                ParamSpec(STR, optional=True, name="AOR"),
                ParamSpec(STR, optional=True, name="contact"),
                ParamSpec(STR, optional=True, name="callid"),
            ),
            w_is_contact_registered,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "is_ip_registered",
            (
                ParamSpec(STR, name="domain"),
                ParamSpec(STR, optional=True, name="AOR"),
                ParamSpec(VAR, name="IPvar"),
                ParamSpec(VAR, optional=True, name="PORTvar"),
            ),
            w_is_ip_registered,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "registered",
            (ParamSpec(ANY), ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True)),
            w_registered,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec("is_other_contact", (ParamSpec(ANY), ParamSpec(ANY)), None, frozenset({REQUEST})),
    ],
    params=[
        ModParamSpec("default_expires", INT, 3600),
        ModParamSpec("default_q", INT),
        ModParamSpec("append_branches", INT, 1),
        ModParamSpec("case_sensitive", INT, 1),
        ModParamSpec("tcp_persistent_flag", ANY, 0),
        ModParamSpec("realm_prefix", STR, ""),
        ModParamSpec("min_expires", INT, 60),
        ModParamSpec("max_expires", INT, 0),
        ModParamSpec("received_param", STR),
        ModParamSpec("received_avp", STR),
        ModParamSpec("aor_avp", STR),
        ModParamSpec("max_contacts", INT, 0),
        ModParamSpec("retry_after", INT, 0),
        ModParamSpec("sock_flag", INT, -1),
        ModParamSpec("sock_hdr_name", STR),
        ModParamSpec("method_filtering", INT, 0),
        ModParamSpec("use_path", INT, 0),
        ModParamSpec("path_mode", INT),
        ModParamSpec("path_use_received", INT, 0),
        ModParamSpec("mcontact_avp", STR),
        ModParamSpec("gruu_secret", STR),
        ModParamSpec("attr_avp", STR),
        ModParamSpec("disable_gruu", INT, 1),
        ModParamSpec("use_domain", INT, 0),  # 2.x scripts set it here as well as on usrloc
    ],
)
