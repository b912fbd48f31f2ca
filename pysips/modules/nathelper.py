"""nathelper: NAT detection and fixing (nat_uac_test, fix_nated_contact, fix_nated_sdp, add_rcv_param,
fix_nated_register), as the OpenSIPS 3.x module documents them; flags as 3.x CSV names or 2.x numbers. The
rtpproxy functions and NAT pinging of the old module are declared only.

"Private" addresses are RFC 1918 and RFC 6598 (100.64/10), plus RFC 6333 (192.0.0.0/29) with carrier-grade-nat.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Any

from pysips.modules import (
    ANY,
    BRANCH,
    FAILURE,
    INT,
    LOCAL,
    ONREPLY,
    REQUEST,
    STR,
    FunctionSpec,
    ModParamSpec,
    ModuleSpec,
    ParamSpec,
)

# ---------------------------------------------------------------------------------------------- implementation

NAT_TESTS = {
    "private-contact": 1,
    "diff-ip-src-via": 2,
    "private-via": 4,
    "private-sdp": 8,
    "diff-port-src-via": 16,
    "diff-ip-src-contact": 32,
    "diff-port-src-contact": 64,
    "carrier-grade-nat": 128,
}
SDP_FLAGS = {
    "add-dir-active": 0x01,
    "rewrite-media-ip": 0x02,
    "add-no-rtpproxy": 0x04,
    "rewrite-origin-ip": 0x08,
    "rewrite-null-ips": 0x10,
}
_PRIVATE = [
    ipaddress.ip_network(n) for n in ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10")
]
_CGN = ipaddress.ip_network("192.0.0.0/29")
_SDP_IP = re.compile(rb"^(c=IN IP[46] )([^\s/]+)", re.M)
_SDP_ORIGIN = re.compile(rb"^(o=\S+ \S+ \S+ IN IP[46] )(\S+)", re.M)

_state: dict[str, Any] = {"received_avp": None}


def init(params: dict[str, Any]) -> None:
    """The modparams nathelper's functions read: received_avp (where fix_nated_register stores the URI)."""
    spec = params.get("received_avp")
    m = re.fullmatch(r"\s*\$avp\(([^)]+)\)\s*", str(spec)) if spec else None
    _state["received_avp"] = m.group(1) if m else (str(spec).strip() or None if spec else None)


def parse_flags(value: Any, names: dict[str, int]) -> int:
    """3.x CSV of names, or a 2.x number (decimal or 0x hex); ValueError for an unknown name."""
    if isinstance(value, int):
        return value
    text = str(value or "").strip()
    if not text:
        return 0
    try:
        return int(text, 0)
    except ValueError:
        pass
    mask = 0
    for word in text.split(","):
        word = word.strip().lower()
        if word:
            if word not in names:
                raise ValueError(f"unknown flag {word!r} (known: {', '.join(names)})")
            mask |= names[word]
    return mask


def _flags_fixup(names: dict[str, int]) -> Any:
    def fixup(value: Any) -> Any:
        if isinstance(value, str) and "$" in value:
            return value  # computed at run time
        return parse_flags(value, names)

    return fixup


def is_private(host: str, cgn: bool = False) -> bool:
    try:
        ip = ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        return False
    if ip.version != 4:
        return False
    return any(ip in n for n in _PRIVATE) or (cgn and ip in _CGN)


def _first_contact(msg: Any) -> Any:
    try:
        contacts = msg.contacts
    except Exception:  # a malformed Contact counts as none (OpenSIPS's parse error)
        return None
    return contacts[0] if contacts else None


def w_nat_uac_test(ctx: Any, flags: Any) -> int:
    msg = ctx.msg
    if msg is None:
        return -1
    try:
        mask = parse_flags(flags, NAT_TESTS)
    except ValueError:
        return -1
    cgn = bool(mask & 128)
    src_ip, src_port = ctx.src_ip, ctx.src_port
    via = msg.via if mask & (2 | 4 | 16) else None
    if mask & 1:
        c = _first_contact(msg)
        if c is not None and is_private(c.uri.host, cgn):
            return 1
    if mask & 2 and via is not None:
        if via.host.strip("[]") != src_ip or via.received not in (None, src_ip):
            return 1
    if mask & 4 and via is not None and is_private(via.host, cgn):
        return 1
    if mask & 8 and msg.body:
        for m in _SDP_IP.finditer(msg.body):
            if is_private(m.group(2).decode("latin-1"), cgn):
                return 1
    if mask & 16 and via is not None and (via.port or 5060) != src_port:
        return 1
    if mask & (32 | 64):
        c = _first_contact(msg)
        if c is not None:
            if mask & 32 and c.uri.host.strip("[]") != src_ip:
                return 1
            if mask & 64 and (c.uri.port or 5060) != src_port:
                return 1
    return -1


def _rewrite_first_contact(msg: Any, change: Any) -> bool:
    from pysips.sip.headers import parse_name_addr, split_values

    values = [v for line in msg.get_headers("Contact") for v in split_values(line)]
    if not values or values[0].strip() == "*":
        return False
    first = parse_name_addr(values[0])
    change(first)
    values[0] = str(first)
    msg.set_header("Contact", ", ".join(values))
    return True


def w_fix_nated_contact(ctx: Any, uri_params: str | None = None) -> int:
    msg = ctx.msg
    if msg is None or getattr(ctx, "nh_contact_fixed", False):
        return -1  # OpenSIPS refuses a second call on the same message

    def change(na: Any) -> None:
        na.uri.host = ctx.src_ip if ":" not in ctx.src_ip else f"[{ctx.src_ip}]"
        na.uri.port = ctx.src_port
        if uri_params:
            for part in uri_params.strip().lstrip(";").split(";"):
                name, _, value = part.partition("=")
                if name:
                    na.uri.set_param(name, value if "=" in part else None)

    try:
        done = _rewrite_first_contact(msg, change)
    except Exception:
        return -1
    if done:
        ctx.nh_contact_fixed = True
    return 1 if done else -1


def _received_uri(ctx: Any) -> str:
    host = ctx.src_ip if ":" not in ctx.src_ip else f"[{ctx.src_ip}]"
    uri = f"sip:{host}:{ctx.src_port}"
    proto = (ctx.proto or "udp").lower()
    return uri if proto == "udp" else f"{uri};transport={proto}"


def w_add_rcv_param(ctx: Any, flag: int | None = None) -> int:
    msg = ctx.msg
    if msg is None:
        return -1
    rcv = _received_uri(ctx)

    def change(na: Any) -> None:
        if flag:
            na.uri.set_param("received", rcv)
        else:
            na.set_param("received", f'"{rcv}"')

    try:
        return 1 if _rewrite_first_contact(msg, change) else -1
    except Exception:
        return -1


def w_fix_nated_register(ctx: Any) -> int:
    name = _state["received_avp"]
    if not name or ctx.msg is None:
        return -1
    ctx.avps.push(name, _received_uri(ctx))
    return 1


def w_fix_nated_sdp(
    ctx: Any, flags: Any, ip_address: str | None = None, sdp_fields: str | None = None
) -> int:
    msg = ctx.msg
    if msg is None or not msg.body:
        return -1
    try:
        mask = parse_flags(flags, SDP_FLAGS)
    except ValueError:
        return -1
    body: bytes = msg.body
    new_ip = (ip_address or ctx.src_ip).encode()
    null_too = bool(mask & 0x10)
    extra: list[bytes] = []

    def rewrite(pattern: re.Pattern, old_attr: bytes) -> bytes:
        def sub(m: re.Match) -> bytes:
            old = m.group(2)
            if old in (b"0.0.0.0", b"::") and not null_too:
                return m.group(0)
            if old != new_ip:
                extra.append(old_attr + old)
            return m.group(1) + new_ip

        return pattern.sub(sub, body)

    if mask & 0x02:
        body = rewrite(_SDP_IP, b"a=oldcip:")
    if mask & 0x08:
        body = rewrite(_SDP_ORIGIN, b"a=oldoip:")
    if mask & 0x01 and b"a=direction:" not in body:
        extra.append(b"a=direction:active")
    if mask & 0x04 and b"a=nortpproxy:" not in body:
        extra.append(b"a=nortpproxy:yes")
    if extra:
        body = body.rstrip(b"\r\n") + b"\r\n" + b"\r\n".join(dict.fromkeys(extra)) + b"\r\n"
    if sdp_fields:
        text = sdp_fields.replace("\\r\\n", "\r\n").encode()
        body = body.rstrip(b"\r\n") + b"\r\n" + text.strip(b"\r\n") + b"\r\n"
    if body != msg.body:
        msg.set_body(body, msg.content_type)
    return 1


MODULE = ModuleSpec.build(
    "nathelper",
    doc="NAT detection and fixing; the rtpproxy functions and NAT pinging are declared only",
    functions=[
        FunctionSpec(
            "fix_nated_contact",
            (ParamSpec(STR, optional=True, name="uri_params"),),
            w_fix_nated_contact,
            frozenset({REQUEST, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "fix_nated_sdp",
            (
                ParamSpec(STR, name="flags", fixup=_flags_fixup(SDP_FLAGS)),
                ParamSpec(STR, optional=True, name="ip_address"),
                ParamSpec(STR, optional=True, name="sdp_fields"),
            ),
            w_fix_nated_sdp,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "nat_uac_test",
            (ParamSpec(STR, name="flags", fixup=_flags_fixup(NAT_TESTS)),),
            w_nat_uac_test,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec("fix_nated_register", (), w_fix_nated_register, frozenset({REQUEST})),
        FunctionSpec(
            "add_rcv_param",
            (ParamSpec(INT, optional=True, name="flag"),),
            w_add_rcv_param,
            frozenset({REQUEST}),
        ),
        FunctionSpec(
            "set_rtp_proxy_set",
            (ParamSpec(ANY),),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec("unforce_rtp_proxy", (), None, frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL})),
        FunctionSpec(
            "force_rtp_proxy",
            (ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True)),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec("start_recording", (), None, frozenset({REQUEST, ONREPLY})),
        FunctionSpec(
            "rtpproxy_offer",
            (ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True)),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "rtpproxy_answer",
            (ParamSpec(ANY, optional=True), ParamSpec(ANY, optional=True)),
            None,
            frozenset({REQUEST, FAILURE, ONREPLY, BRANCH, LOCAL}),
        ),
        FunctionSpec(
            "rtpproxy_stream2uac", (ParamSpec(ANY), ParamSpec(ANY)), None, frozenset({REQUEST, ONREPLY})
        ),
        FunctionSpec(
            "rtpproxy_stream2uas", (ParamSpec(ANY), ParamSpec(ANY)), None, frozenset({REQUEST, ONREPLY})
        ),
        FunctionSpec("rtpproxy_stop_stream2uac", (), None, frozenset({REQUEST, ONREPLY})),
        FunctionSpec("rtpproxy_stop_stream2uas", (), None, frozenset({REQUEST, ONREPLY})),
    ],
    params=[
        ModParamSpec("natping_interval", INT, 0),
        ModParamSpec("ping_nated_only", INT, 0),
        ModParamSpec("nortpproxy_str", STR, "a=nortpproxy:yes"),
        ModParamSpec("rtpproxy_sock", STR, None, repeatable=True),
        ModParamSpec("rtpproxy_disable_tout", INT, 60),
        ModParamSpec("rtpproxy_retr", INT, 5),
        ModParamSpec("rtpproxy_tout", INT, 1),
        ModParamSpec("received_avp", STR),
        ModParamSpec("force_socket", STR),
        ModParamSpec("sipping_from", STR),
        ModParamSpec("sipping_method", STR, "OPTIONS"),
        ModParamSpec("sipping_bflag", ANY, 0),
        ModParamSpec("natping_processes", INT, 1),
        ModParamSpec("natping_socket", STR),
        ModParamSpec("db_url", STR),
        ModParamSpec("db_table", STR, "nh_sockets"),
        ModParamSpec("rtpp_socket_col", STR, "rtpproxy_sock"),
        ModParamSpec("set_id_col", STR, "set_id"),
        ModParamSpec("natping_tcp", INT, 0),
        ModParamSpec("natping_partitions", INT, 1),
        ModParamSpec("oldip_skip", STR, None, repeatable=True),
        ModParamSpec("remove_on_timeout_bflag", STR),
        ModParamSpec("ping_threshold", INT, 3),
        ModParamSpec("max_pings_lost", INT, 3),
        ModParamSpec("sipping_ignore_rpl_codes", STR),
        ModParamSpec("sipping_latency_flag", STR),
        ModParamSpec("cluster_id", INT, 0),
        ModParamSpec("cluster_sharing_tag", STR),
    ],
)
