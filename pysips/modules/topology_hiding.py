"""topology_hiding: strip and restore Via / Record-Route / Route and replace the Contact, as OpenSIPS's
topology_hiding module does (modules/topology_hiding, 3.x).

Two modes, chosen per call:
  * dialog-based, when the call has a dialog (create_dialog() before, or ``force_dialog``): the Contact sent to
    each side is ``<sip:[user@]US;did=ID>`` (or ``<sip:ID@US>`` with flag D); in-dialog requests are routed from
    the dialog's leg data. Flag C replaces the Call-ID towards the callee by
    ``th_callid_prefix + word64(Call-ID XOR th_callid_passwd)`` (OpenSIPS's encoding) and restores it back.
  * dialog-less: everything needed to route the in-dialog requests of the other side (its route set, Contact,
    our socket, the flags) is packed in a Contact URI parameter (``thinfo`` by default): OpenSIPS's legacy layout
    (length-prefixed route set, contact, flags, socket), XORed with the password and word64 / word32 encoded.

The received message (``ctx.msg``) keeps its Vias so local replies still reach the sender; the hiding is applied
to each copy that leaves: tm ``request_out`` (relayed requests), tm ``reply_out`` (replies going back up) and the
core's stateless forward hook (ACKs of 2xx).
"""

from __future__ import annotations

import base64
import struct
from typing import Any

from pysips.modules import INT, REQUEST, STR, FunctionSpec, ModParamSpec, ModuleSpec, ParamSpec
from pysips.modules.core import log_error

F_KEEP_USER, F_HIDE_CALLID, F_DID_IN_USER, F_KEEP_CALLER_CT, F_KEEP_CALLEE_CT = 1, 2, 4, 8, 16
_FLAG_BITS = {
    "U": F_KEEP_USER,
    "C": F_HIDE_CALLID,
    "D": F_DID_IN_USER,
    "a": F_KEEP_CALLER_CT,
    "A": F_KEEP_CALLEE_CT,
}

_W64_STD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/="
_W64_WORD = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+.-"
_TO_WORD = bytes.maketrans(_W64_STD, _W64_WORD)
_FROM_WORD = bytes.maketrans(_W64_WORD, _W64_STD)


def flags_fixup(value: Any) -> int:
    """topology_hiding() flags string -> bit mask; unknown letters are refused at load time."""
    if value is None:
        return 0
    if isinstance(value, int):
        return value
    mask = 0
    for ch in str(value).strip():
        bit = _FLAG_BITS.get(ch)
        if bit is None:
            raise ValueError(f"unknown topology_hiding flag {ch!r} (known: U, D, C, a, A)")
        mask |= bit
    return mask


def word64encode(data: bytes) -> str:
    """OpenSIPS word64: base64 with '.' for '/' and '-' as padding (RFC 3261 token characters only)."""
    return base64.b64encode(data).translate(_TO_WORD).decode()


def word64decode(text: str) -> bytes:
    return base64.b64decode(text.encode().translate(_FROM_WORD), validate=False)


def word32encode(data: bytes) -> str:
    return base64.b32encode(data).decode().replace("=", "-")


def word32decode(text: str) -> bytes:
    return base64.b32decode(text.upper().replace("-", "=").encode())


def _xor(data: bytes, key: bytes) -> bytes:
    if not key:
        return data
    n = len(key)
    return bytes(b ^ key[i % n] for i, b in enumerate(data))


class THSettings:
    """The th_* modparams of one server."""

    def __init__(self, params: dict | None) -> None:
        p = params or {}
        self.callid_passwd = str(p.get("th_callid_passwd") or "OpenSIPS").encode()
        self.callid_prefix = str(p.get("th_callid_prefix") or "DLGCH_")
        self.force_dialog = bool(int(p.get("force_dialog") or 0))
        self.scheme = str(p.get("th_contact_encode_scheme") or "base64").lower()
        name = str(p.get("th_contact_encode_param") or "thinfo")
        passwd = str(p.get("th_contact_encode_passwd") or "ToPoCtPaSS")
        # HEAD: th_contact_encode_param_password "name[:password[:C|L]]", up to two for password rotation
        entries: list[tuple[str, bytes]] = []
        for spec in _as_list(p.get("th_contact_encode_param_password")):
            parts = str(spec).split(":")
            entries.append((parts[0].strip(), (parts[1] if len(parts) > 1 and parts[1] else passwd).encode()))
        if not entries:
            entries = [(name, passwd.encode())]
        use = p.get("th_use_param")
        self.encode_entry = next((e for e in entries if e[0] == use), entries[0])
        self.decode_entries = entries
        self.passed_uri_params = _names(p.get("th_passed_contact_uri_params"))
        self.passed_hdr_params = _names(p.get("th_passed_contact_params"))

    def encode_callid(self, callid: str) -> str:
        return self.callid_prefix + word64encode(_xor(callid.encode(), self.callid_passwd))

    def decode_callid(self, value: str) -> str | None:
        if not value.startswith(self.callid_prefix):
            return None
        try:
            return _xor(word64decode(value[len(self.callid_prefix) :]), self.callid_passwd).decode()
        except (ValueError, UnicodeDecodeError):
            return None

    def encode_info(self, routes: str, contact: str, flags: int, sock: str) -> str:
        plain = b""
        for part in (routes.encode(), contact.encode(), str(flags).encode(), sock.encode()):
            plain += struct.pack("<h", len(part)) + part
        data = _xor(plain, self.encode_entry[1])
        return word32encode(data) if self.scheme == "base32" else word64encode(data)

    def decode_info(self, text: str, passwd: bytes) -> tuple[str, str, int, str] | None:
        try:
            raw = word32decode(text) if self.scheme == "base32" else word64decode(text)
        except ValueError:
            return None
        data = _xor(raw, passwd)
        out: list[str] = []
        pos = 0
        for _ in range(4):
            if pos + 2 > len(data):
                return None
            (n,) = struct.unpack_from("<h", data, pos)
            pos += 2
            if n < 0 or pos + n > len(data):
                return None
            try:
                out.append(data[pos : pos + n].decode())
            except UnicodeDecodeError:
                return None
            pos += n
        try:
            flags = int(out[2] or 0)
        except ValueError:
            flags = 0
        return out[0], out[1], flags, out[3]


def _as_list(v: Any) -> list:
    if v is None:
        return []
    return list(v) if isinstance(v, list | tuple) else [v]


def _names(v: Any) -> list[str]:
    if not v:
        return []
    return [x.strip() for x in str(v).split(";") if x.strip()]


class THCall:
    """What the hiding of one transaction needs (``ctx.th`` while routing, ``uas.ext["th"]`` afterwards)."""

    __slots__ = (
        "flags",
        "dlg",
        "src",
        "routes",
        "req_rr",
        "caller_user",
        "callee_user",
        "initial",
        "out_transport",
    )

    def __init__(self, flags: int, dlg: Any = None, src: int = 0) -> None:
        self.flags = flags
        self.dlg = dlg  # the dialog in dialog mode, else None
        self.src = src  # leg the request came from (0 caller, 1 callee)
        self.routes = ""  # dialog-less: route set to encode in the Contact of the request
        self.req_rr: list[str] = []  # Record-Route of the request as received (restored in replies)
        self.caller_user: str | None = None
        self.callee_user: str | None = None
        self.initial = True
        self.out_transport: Any = None


class THState:
    def __init__(self, core: Any, params: dict | None) -> None:
        self.core = core
        self.cfg = THSettings(params)
        tm = getattr(core, "tm", None) if core is not None else None
        if tm is not None:
            tm.register("request_out", self.on_request_out)
            tm.register("reply_out", self.on_reply_out)
        if core is not None:
            hooks = getattr(core, "forward_callbacks", None)
            if hooks is not None:
                hooks.append(self.on_forward)

    # ------------------------------------------------------------ outgoing requests

    def on_request_out(self, uas: Any, branch: Any, out: Any, ctx: Any) -> None:
        th: THCall | None = getattr(ctx, "th", None)
        if th is None and uas.ext:
            th = uas.ext.get("th")  # a new branch from failure_route: same hiding as the first one
        if th is None:
            return
        if uas.ext is None:
            uas.ext = {}
        uas.ext["th"] = th
        th.out_transport = branch.transport
        self.hide_request(out, th, branch.transport, uas.transport, keep_top_via=True)

    def on_forward(self, out: Any, ctx: Any, transport: Any) -> None:
        th: THCall | None = getattr(ctx, "th", None)
        if th is None:
            return
        self.hide_request(out, th, transport, getattr(ctx, "transport", None), keep_top_via=True)

    def hide_request(
        self, out: Any, th: THCall, transport: Any, in_transport: Any, keep_top_via: bool
    ) -> None:
        top = out.pop_via() if keep_top_via else None
        out.remove_header("Via")
        if top is not None:
            out.push_via(top)
        out.remove_header("Record-Route")
        dst = 1 - th.src
        if th.dlg is not None:
            self._dlg_callid(out, th, dst)
            user = th.callee_user if dst == 1 else th.caller_user
            self._rewrite_contact(out, th, transport, None, user)
        else:
            self._rewrite_contact(out, th, transport, (th.routes, in_transport), th.callee_user)

    def _dlg_callid(self, msg: Any, th: THCall, towards: int) -> None:
        if not th.flags & F_HIDE_CALLID or th.dlg.th is None:
            return
        want = th.dlg.th.get("callee_callid") if towards == 1 else th.dlg.callid
        if want and msg.call_id != want:
            msg.set_header("Call-ID", want)

    # ------------------------------------------------------------ replies going back

    def on_reply_out(self, uas: Any, out: Any) -> None:
        ext = uas.ext
        th: THCall | None = ext.get("th") if ext else None
        if th is None:
            return
        req = uas.req
        out.remove_header("Via")
        vias = req.get_values("Via")
        if vias:
            out.add_header("Via", ", ".join(vias), first=True)
        if out.call_id != req.call_id:
            out.set_header("Call-ID", req.call_id)
        reply_rr = out.get_values("Record-Route")
        out.remove_header("Record-Route")
        for v in th.req_rr:
            out.add_header("Record-Route", v)
        status = out.status
        if status <= 100 or 300 <= status < 400 or not out.has_header("Contact"):
            return
        transport = uas.transport
        if th.dlg is not None:
            user = th.caller_user if th.src == 0 else th.callee_user
            self._rewrite_contact(out, th, transport, None, user)
            return
        routes = th.routes if not th.initial else ",".join(reversed(reply_rr))
        self._rewrite_contact(out, th, transport, (routes, th.out_transport or transport), th.caller_user)

    # ------------------------------------------------------------ Contact

    def _rewrite_contact(
        self, msg: Any, th: THCall, transport: Any, info: tuple | None, user: str | None
    ) -> None:
        """Replace the Contact by our address; ``info`` (routes, socket) selects the dialog-less encoding."""
        from pysips.sip.headers import parse_name_addr

        values = msg.get_values("Contact")
        if not values or values[0].strip() == "*":
            return
        try:
            na = parse_name_addr(values[0])
        except ValueError:
            return
        uri = na.uri
        if user is None and th.flags & F_KEEP_USER:
            user = uri.user
        host, port = self.core.advertised(transport) if self.core is not None else ("127.0.0.1", 5060)
        if ":" in host and not host.startswith("["):
            host = f"[{host}]"
        proto = transport.proto if transport is not None else "udp"
        hostport = host if port == 5060 and proto != "tls" else f"{host}:{port}"
        params = "" if proto == "udp" else f";transport={proto}"
        if th.dlg is not None:
            did_name = _dialog_rr_param(self.core)
            if th.flags & F_DID_IN_USER:
                user = th.dlg.did
            else:
                params += f";{did_name}={th.dlg.did}"
        else:
            routes, sock_t = info
            sock = _sock_str(sock_t)
            name = self.cfg.encode_entry[0]
            params += f";{name}={self.cfg.encode_info(routes, _uri_text(values[0]), th.flags, sock)}"
        for pname in self.cfg.passed_uri_params:
            if uri.has_param(pname):
                v = uri.get_param(pname)
                params += f";{pname}" if not v else f";{pname}={v}"
        hdr_params = ""
        for pname in self.cfg.passed_hdr_params:
            v = na.get_param(pname)
            if v is not None:
                hdr_params += f";{pname}" if not v else f";{pname}={v}"
        userpart = f"{user}@" if user else ""
        msg.set_header("Contact", f"<sip:{userpart}{hostport}{params}>{hdr_params}")


def _uri_text(value: str) -> str:
    v = value.strip()
    if "<" in v:
        return v[v.index("<") + 1 : v.index(">")] if ">" in v else v[v.index("<") + 1 :]
    return v.split(";", 1)[0]


def _sock_str(t: Any) -> str:
    if t is None:
        return ""
    return f"{t.proto}:{t.local[0]}:{t.local[1]}"


def _dialog_rr_param(core: Any) -> str:
    st = getattr(core, "modules_state", {}).get("dialog") if core is not None else None
    return st.rr_param if st is not None else "did"


def state_of(ctx: Any) -> THState:
    env = getattr(ctx, "env", None)
    core = getattr(env, "core", None)
    holder = core if core is not None else env
    return state_for(holder, core)


def state_for(holder: Any, core: Any = None) -> THState:
    states = getattr(holder, "modules_state", None)
    if states is None:
        states = {}
        holder.modules_state = states
    st = states.get("topology_hiding")
    if st is None:
        params = None
        mp = getattr(getattr(core, "program", None), "modparams", None) if core is not None else None
        if isinstance(mp, dict):
            params = mp.get("topology_hiding")
        st = states["topology_hiding"] = THState(core, params)
    return st


def _dialog_loaded(ctx: Any) -> bool:
    core = getattr(getattr(ctx, "env", None), "core", None)
    program = getattr(core, "program", None)
    mp = getattr(program, "modparams", None)
    return isinstance(mp, dict) and "dialog" in mp


# ---------------------------------------------------------------- script functions


def w_topology_hiding(ctx: Any, flags: Any = None, users: Any = None) -> int:
    req = ctx.msg
    if req is None or not req.is_request:
        return -1
    if req.to.tag is not None:
        log_error(ctx, "topology_hiding: only for initial requests (use topology_hiding_match() in dialog)")
        return -1
    try:
        fl = flags_fixup(flags)
    except ValueError as e:
        log_error(ctx, f"topology_hiding: {e}")
        return -1
    st = state_of(ctx)
    from pysips.modules import dialog

    dlg = getattr(ctx, "dlg", None)
    if dlg is None and st.cfg.force_dialog and req.method == "INVITE" and _dialog_loaded(ctx):
        if dialog.w_create_dialog(ctx) > 0:
            dlg = ctx.dlg
    th = THCall(fl, dlg, 0)
    added = getattr(ctx, "rr_added", None) or []
    rr = req.get_values("Record-Route")
    th.req_rr = rr[len(added) :] if added and rr[: len(added)] == list(added) else rr
    th.routes = ",".join(th.req_rr)
    if users:
        # "user" for both legs, or "/caller_user/callee_user"
        parts = str(users).split("/")
        if len(parts) == 1:
            th.caller_user = th.callee_user = parts[0] or None
        else:
            th.caller_user = parts[1] or None
            th.callee_user = parts[2] or None if len(parts) > 2 else None
    if dlg is not None:
        dlg.th = {"flags": fl}
        if fl & F_HIDE_CALLID:
            dlg.th["callee_callid"] = st.cfg.encode_callid(req.call_id)
    ctx.th = th
    return 1


def w_topology_hiding_match(ctx: Any, mode: Any = None) -> int:
    req = ctx.msg
    if req is None or not req.is_request or req.to.tag is None:
        return -1
    st = state_of(ctx)
    ruri = req.ruri
    from pysips.modules.core import is_myself

    if not is_myself(ctx, ruri.host, ruri.port or (5061 if ruri.scheme == "sips" else 5060)):
        return -1
    for name, passwd in st.cfg.decode_entries:
        value = ruri.get_param(name)
        if value:
            return _match_no_dialog(ctx, st, value, passwd)
    return _match_dialog(ctx, st, mode)


def _set_routes(ctx: Any, routes: list[str], target: str) -> bool:
    """R-URI, Route and $du for an in-dialog request towards ``target`` through ``routes`` (nearest first)."""
    from pysips.sip.headers import parse_name_addr

    req = ctx.msg
    req.remove_header("Route")
    ctx.du = None
    core = getattr(ctx.env, "core", None)
    parsed = []
    for r in routes:
        try:
            parsed.append((r, parse_name_addr(r).uri))
        except ValueError:
            return False
    # our own entry first in the set (an old double Record-Route) is consumed here
    while parsed and core is not None and core.is_myself(parsed[0][1].host, parsed[0][1].port or 5060):
        parsed.pop(0)
    if parsed and not parsed[0][1].has_param("lr"):
        ctx.set_ruri(parsed[0][1].copy())
        for r, _ in parsed[1:]:
            req.add_header("Route", r)
        req.add_header("Route", f"<{target}>")
        return True
    ctx.set_ruri(target)
    for r, _ in parsed:
        req.add_header("Route", r)
    if parsed:
        ctx.du = str(parsed[0][1])
    return True


def _match_no_dialog(ctx: Any, st: THState, value: str, passwd: bytes) -> int:
    info = st.cfg.decode_info(value, passwd)
    if info is None:
        log_error(ctx, "topology_hiding_match: cannot decode the Contact information")
        return -1
    routes, contact, flags, sock = info
    req = ctx.msg
    user = req.ruri.user if flags & F_KEEP_USER else None
    from pysips.sip.headers import split_values
    from pysips.sip.uri import parse_uri

    try:
        target = parse_uri(contact)
    except ValueError:
        return -1
    if user and not target.user:
        target.user = user
    if not _set_routes(ctx, split_values(routes) if routes else [], str(target)):
        return -1
    req.remove_header("Record-Route")
    if sock:
        ctx.force_socket = sock
    th = THCall(flags, None, 0)
    th.initial = False
    th.routes = routes
    th.req_rr = []
    ctx.th = th
    return 1


def _match_dialog(ctx: Any, st: THState, mode: Any) -> int:
    from pysips.modules import dialog

    req = ctx.msg
    ds = dialog.state_of(ctx)
    did = req.ruri.get_param(ds.rr_param) or req.ruri.user
    dlg = ds.lookup_did(did) if did else None
    if dlg is None or dlg.th is None:
        return -1
    callid = req.call_id
    if callid != dlg.callid and callid != dlg.th.get("callee_callid"):
        return -1
    src = dialog._src_leg(dlg, req.from_.tag, req.to.tag)
    if src is None:
        return -1
    dialog.attach(ctx, dlg, src)
    dst = dlg.legs[1 - src]
    if not dst.contact:
        return -1
    if not _set_routes(ctx, dst.route_set, dst.contact):
        return -1
    req.remove_header("Record-Route")
    if dst.transport is not None:
        ctx.force_socket = _sock_str(dst.transport)
    th = THCall(dlg.th.get("flags", 0), dlg, src)
    th.initial = False
    ctx.th = th
    return 1


def _pv_callee_callid(ctx: Any) -> Any:
    from pysips.modules import dialog

    dlg = dialog.current(ctx)
    if dlg is None or dlg.th is None:
        return None
    return dlg.th.get("callee_callid")


def _register_pvs() -> None:
    from pysips.script.pvars import register_pv

    register_pv("TH_callee_callid", _pv_callee_callid)


_register_pvs()


async def start_service(core: Any, program: Any, *, task_status: Any) -> None:
    """Register the tm callbacks before the first message."""
    state_for(core, core)
    task_status.started()


MODULE = ModuleSpec.build(
    "topology_hiding",
    doc="topology hiding with or without dialog support (Via/Record-Route/Route stripped, Contact replaced)",
    functions=[
        FunctionSpec(
            "topology_hiding",
            (
                ParamSpec(STR, optional=True, name="flags", fixup=flags_fixup),
                ParamSpec(STR, optional=True, name="users"),
            ),
            w_topology_hiding,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "topology_hiding_match",
            (ParamSpec(STR, optional=True, name="dlg_match_mode"),),
            w_topology_hiding_match,
            frozenset({REQUEST}),
        ),
    ],
    params=[
        ModParamSpec("force_dialog", INT, 0),
        ModParamSpec("th_passed_contact_uri_params", STR),
        ModParamSpec("th_passed_contact_params", STR),
        ModParamSpec("th_callid_passwd", STR, "OpenSIPS"),
        ModParamSpec("th_callid_prefix", STR, "DLGCH_"),
        ModParamSpec("th_contact_encode_passwd", STR, "ToPoCtPaSS"),
        ModParamSpec("th_contact_encode_param", STR, "thinfo"),
        ModParamSpec("th_contact_encode_scheme", STR, "base64"),
        ModParamSpec("th_contact_encode_param_password", STR, None, repeatable=True),
        ModParamSpec("th_use_param", STR),
        ModParamSpec("th_contact_caller_username_var", STR),
        ModParamSpec("th_contact_callee_username_var", STR),
        ModParamSpec("th_callid_loop_protection", INT, 0),
        ModParamSpec("th_internal_trusted_tag", STR),
        ModParamSpec("th_external_socket_tag", STR),
        ModParamSpec("th_auto_route_on_trusted_socket", INT, 1),
    ],
)
