"""SIP requests and responses: lazy parsing, in-place editing, byte-exact serialization.

On receipt a message is only split into header lines; each header is kept as ``[name, key, value, raw]`` where
``raw`` is the exact line text (``None`` once the header was written through the API). Structured views (Via,
From, To, Contact, ...) are parsed when first read and cached. ``to_bytes()`` sends every untouched line as it
arrived, and an untouched message as its original bytes.

The mandatory headers are checked in ``parse_message`` because a server must answer 400 for them anyway: Via
(top value), From, To, Call-ID, CSeq (and its method against the request line), Max-Forwards, Content-Length.
Other headers are parsed only when read, so a malformed Contact or Route raises SIPParseError at that point.

Parsed views write through: after ``msg.via.received = "192.0.2.1"`` or ``msg.to.tag = "x"`` the next
``to_bytes()`` / ``copy()`` rewrites that header line. ``get_header()`` shows the header text as last written
through the header API (or flushed by ``to_bytes``); use the views to read edited values.
"""

from __future__ import annotations

import re
from collections.abc import Iterable

from pysips.errors import SIPParseError
from pysips.sip.headers import (
    TOKEN_CHARS,
    CSeq,
    NameAddr,
    Via,
    canonical_name,
    parse_cseq,
    parse_name_addr,
    parse_name_addr_list,
    parse_via_value,
    split_values,
)
from pysips.sip.uri import URI, parse_uri

__all__ = [
    "Message",
    "Request",
    "Response",
    "make_request",
    "make_response",
    "parse_message",
    "reason_phrase",
]

_FOLD = re.compile(r"[ \t]*\r\n[ \t]+")
_SIP_VERSION = "SIP/2.0"

# Wire spelling of a header name (possibly with the spaces before ':') -> key. Bounded: names come from peers.
_WIRE_KEYS: dict[str, str] = {}
_WIRE_KEYS_MAX = 2048

# Header key -> cache slots that depend on it.
_DEPENDENT_VIEWS: dict[str, tuple[str, ...]] = {
    "via": ("via0", "via"),
    "from": ("from",),
    "to": ("to",),
    "contact": ("contact",),
    "route": ("route",),
    "record-route": ("record-route",),
    "cseq": ("cseq",),
    "max-forwards": ("max-forwards",),
    "content-length": ("content-length",),
}

_TOO_LARGE = (413, "Request Entity Too Large")
# Single-valued headers a server reads on every message: two of them make the message ambiguous (400).
_SINGLE = ("from", "to", "call-id", "cseq", "content-length", "max-forwards")
# Decimal strings without leading zeros -> value: Content-Length and Max-Forwards are nearly always in range.
_SMALL_INTS = {str(i): i for i in range(4096)}
# Methods that need no token check (anything else is checked character by character).
_METHODS = frozenset(
    "INVITE ACK BYE CANCEL OPTIONS REGISTER PRACK SUBSCRIBE NOTIFY PUBLISH INFO REFER MESSAGE UPDATE".split()
)
_new = object.__new__


def _wire_key(name: str) -> str:
    stripped = name.rstrip(" \t")
    if not stripped or stripped.strip(TOKEN_CHARS):
        raise SIPParseError(f"bad header name {name!r}")
    key = canonical_name(stripped)
    if len(_WIRE_KEYS) < _WIRE_KEYS_MAX:
        _WIRE_KEYS[name] = key
    return key


def _check_value(value: str) -> str:
    if "\r" in value or "\n" in value:
        raise ValueError(f"header value must not contain CR or LF: {value!r}")
    return value.strip()


def _unfold(lines: list[str]) -> tuple[list[str], list[str]]:
    """Join continuation lines. Returns (unfolded texts, raw texts with the original folding)."""
    raws: list[str] = []
    for line in lines:
        if line and (line[0] == " " or line[0] == "\t") and raws:
            raws[-1] = raws[-1] + "\r\n" + line
        else:
            raws.append(line)
    return [_FOLD.sub(" ", r) for r in raws], raws


def _digits(value: str, what: str, max_len: int) -> int:
    # The length check keeps int() away from hostile digit runs (and Python's int-size limit).
    if not value.isdigit() or not value.isascii() or len(value.lstrip("0")) > max_len:
        raise SIPParseError(f"bad {what} {value!r}")
    return int(value)


class Message:
    """Common part of Request and Response. See the module docstring for the editing model."""

    __slots__ = ("_hdrs", "_idx", "body", "_orig_body", "_wire", "_pristine", "_cache", "_wt", "_start")
    is_request = False

    _hdrs: list[list]
    _idx: dict[str, list[list]]
    body: bytes
    _orig_body: bytes
    # The message exactly as received (head and body), sent back as is while nothing changed.
    _wire: bytes | None
    _pristine: bool
    _cache: dict[str, object]
    _wt: dict[str, object]
    _start: str | None

    def _init_empty(self, headers: Iterable[tuple[str, str]], body: bytes) -> None:
        self._hdrs = []
        self._idx = {}
        for name, value in headers:
            self._append(name, value)
        self.body = body
        self._orig_body = body
        self._wire = None
        self._pristine = False
        self._cache = {}
        self._wt = {}
        self._start = None

    # -- plain header access ---------------------------------------------------------------------------------

    def get_header(self, name: str) -> str | None:
        """Body of the first header line called ``name`` (compact forms and case-insensitive), or None."""
        entries = self._idx.get(canonical_name(name))
        return entries[0][2] if entries else None

    def get_headers(self, name: str) -> list[str]:
        """Bodies of every header line called ``name``, in order."""
        return [e[2] for e in self._idx.get(canonical_name(name), ())]

    def get_values(self, name: str) -> list[str]:
        """Every comma-separated value across the lines called ``name`` (for list headers: Via, Route, ...)."""
        out: list[str] = []
        for e in self._idx.get(canonical_name(name), ()):
            out.extend(split_values(e[2]))
        return out

    def has_header(self, name: str) -> bool:
        return canonical_name(name) in self._idx

    def header_names(self) -> list[str]:
        """Header names as written, in order (one per line)."""
        return [e[0].strip() for e in self._hdrs]

    def headers(self) -> list[tuple[str, str]]:
        """(name as written, body) for every header line, in order."""
        return [(e[0].strip(), e[2]) for e in self._hdrs]

    def _append(self, name: str, value: str, first: bool = False) -> list:
        key = canonical_name(name)
        if not key or key.strip(TOKEN_CHARS):
            raise ValueError(f"bad header name {name!r}")
        entry = [name.strip(), key, _check_value(value), None]
        entries = self._idx.get(key)
        if first:
            self._hdrs.insert(0, entry)
            if entries is None:
                self._idx[key] = [entry]
            else:
                entries.insert(0, entry)
        else:
            self._hdrs.append(entry)
            if entries is None:
                self._idx[key] = [entry]
            else:
                entries.append(entry)
        return entry

    def add_header(self, name: str, value: str, first: bool = False) -> None:
        """Append a header line after the last one, or with ``first`` before the first one."""
        key = canonical_name(name)
        self._invalidate(key)
        self._append(name, value, first)
        self._pristine = False

    def remove_header(self, name: str) -> int:
        """Remove every line called ``name``; returns how many were removed."""
        key = canonical_name(name)
        entries = self._idx.get(key)
        if not entries:
            return 0
        self._invalidate(key)
        del self._idx[key]
        self._hdrs = [e for e in self._hdrs if e[1] != key]
        self._pristine = False
        return len(entries)

    def set_header(self, name: str, value: str) -> None:
        """Replace every line called ``name`` by one line (at the place of the first), or append it."""
        key = canonical_name(name)
        entries = self._idx.get(key)
        if not entries:
            self.add_header(name, value)
            return
        self._invalidate(key)
        entry = entries[0]
        entry[0] = name.strip()
        entry[2] = _check_value(value)
        entry[3] = None
        if len(entries) > 1:
            drop = {id(e) for e in entries[1:]}
            self._hdrs = [e for e in self._hdrs if id(e) not in drop]
            self._idx[key] = [entry]
        self._pristine = False

    def push_value(self, name: str, value: str) -> None:
        """Insert ``value`` as a new line before the first line called ``name`` (Via, Record-Route, Route)."""
        key = canonical_name(name)
        self._invalidate(key)
        entries = self._idx.get(key)
        if not entries:
            self._append(name, value, first=True)
        else:
            entry = [name.strip(), key, _check_value(value), None]
            first = entries[0]
            hdrs = self._hdrs
            for i, e in enumerate(hdrs):
                if e is first:
                    hdrs.insert(i, entry)
                    break
            entries.insert(0, entry)
        self._pristine = False

    def pop_value(self, name: str) -> str | None:
        """Remove and return the first value of ``name`` (one value even if its line carries several)."""
        key = canonical_name(name)
        entries = self._idx.get(key)
        if not entries:
            return None
        self._invalidate(key)
        entry = entries[0]
        values = split_values(entry[2])
        if len(values) <= 1:
            del entries[0]
            if not entries:
                del self._idx[key]
            self._hdrs = [e for e in self._hdrs if e is not entry]
        else:
            entry[2] = ", ".join(values[1:])
            entry[3] = None
        self._pristine = False
        return values[0] if values else None

    def push_via(self, value: str) -> None:
        self.push_value("Via", value)

    def pop_via(self) -> str | None:
        return self.pop_value("Via")

    def set_body(self, body: bytes, content_type: str | None = None) -> None:
        """Replace the body; Content-Length follows. ``content_type`` replaces Content-Type when given."""
        self.body = body
        self._pristine = False
        entries = self._idx.get("content-length")
        if entries:
            self._invalidate("content-length")
            for e in entries:
                e[2] = str(len(body))
                e[3] = None
        if content_type is not None:
            self.set_header("Content-Type", content_type)

    # -- parsed views ----------------------------------------------------------------------------------------

    def _invalidate(self, key: str) -> None:
        views = _DEPENDENT_VIEWS.get(key)
        if views is None:
            return
        cache = self._cache
        wt = self._wt
        for name in views:
            if name in wt:
                self._sync_view(name)
                del wt[name]
            cache.pop(name, None)

    def _sync_view(self, name: str) -> None:
        info = self._wt[name]
        obj = self._cache.get(name)
        if obj is None:
            return
        if name == "via0":
            if obj.modified:  # type: ignore[attr-defined]
                entry = info
                values = split_values(entry[2])  # type: ignore[index]
                values[0] = _clean(obj)
                entry[2] = ", ".join(values)  # type: ignore[index]
                entry[3] = None  # type: ignore[index]
                self._pristine = False
        elif name == "from" or name == "to":
            if obj.modified:  # type: ignore[attr-defined]
                info[2] = _clean(obj)  # type: ignore[index]
                info[3] = None  # type: ignore[index]
                self._pristine = False
        else:
            for entry, objs in info:  # type: ignore[attr-defined]
                if any(o.modified for o in objs):
                    entry[2] = ", ".join(_clean(o) for o in objs)
                    entry[3] = None
                    self._pristine = False

    def _sync(self) -> None:
        # Runs on every to_bytes(), so the "modified" checks are inlined: a Via is modified when its text is
        # dropped, a NameAddr also when its parsed URI dropped its own.
        cache = self._cache
        for name in self._wt:
            obj = cache.get(name)
            if obj is None:
                continue
            if name == "via0":
                if obj._raw is None:  # type: ignore[attr-defined]
                    self._sync_view(name)
            elif name == "via":
                for o in obj:  # type: ignore[attr-defined]
                    if o._raw is None:
                        self._sync_view(name)
                        break
            elif obj.__class__ is list:
                for o in obj:  # type: ignore[attr-defined]
                    if o._raw is None or ((u := o._uri) is not None and u._raw is None):
                        self._sync_view(name)
                        break
            elif obj._raw is None or ((u := obj._uri) is not None and u._raw is None):  # type: ignore[attr-defined]
                self._sync_view(name)

    @property
    def via(self) -> Via | None:
        """Top Via value (None if the message has no Via)."""
        v = self._cache.get("via0")
        if v is None:
            entries = self._idx.get("via")
            if not entries:
                return None
            entry = entries[0]
            value = entry[2]
            if "," in value:
                values = split_values(value)
                if not values:
                    raise SIPParseError("empty Via")
                value = values[0]
            v = parse_via_value(value)
            self._cache["via0"] = v
            self._wt["via0"] = entry
        return v  # type: ignore[return-value]

    @property
    def vias(self) -> list[Via]:
        vs = self._cache.get("via")
        if vs is None:
            top = self.via
            vs = []
            groups = []
            for n, entry in enumerate(self._idx.get("via", ())):
                objs = [parse_via_value(x) if (n or i) else top for i, x in enumerate(split_values(entry[2]))]
                groups.append((entry, objs))
                vs.extend(objs)
            self._cache["via"] = vs
            self._wt["via"] = groups
        return vs  # type: ignore[return-value]

    def _name_addr(self, key: str) -> NameAddr | None:
        na = self._cache.get(key)
        if na is None:
            entries = self._idx.get(key)
            if not entries:
                return None
            na = parse_name_addr(entries[0][2])
            self._cache[key] = na
            self._wt[key] = entries[0]
        return na  # type: ignore[return-value]

    @property
    def from_(self) -> NameAddr | None:
        return self._name_addr("from")

    @property
    def to(self) -> NameAddr | None:
        return self._name_addr("to")

    def _name_addr_list(self, key: str) -> list[NameAddr]:
        lst = self._cache.get(key)
        if lst is None:
            entries = self._idx.get(key)
            groups: list[tuple[list, list[NameAddr]]] = []
            if not entries:
                lst = []
            elif len(entries) == 1:
                # One line: the usual Contact, and Route / Record-Route from one proxy.
                entry = entries[0]
                value = entry[2]
                if key == "contact" and value == "*":
                    lst = []
                else:
                    objs = parse_name_addr_list(value)
                    lst = objs.copy()
                    groups.append((entry, objs))
            else:
                lst = []
                for entry in entries:
                    value = entry[2]
                    if key == "contact" and value == "*":
                        continue
                    objs = parse_name_addr_list(value)
                    groups.append((entry, objs))
                    lst.extend(objs)
            self._cache[key] = lst
            self._wt[key] = groups
        return lst  # type: ignore[return-value]

    @property
    def contacts(self) -> list[NameAddr]:
        """Contact values; a ``Contact: *`` (REGISTER) gives [] and ``contact_star`` True."""
        return self._name_addr_list("contact")

    @property
    def contact_star(self) -> bool:
        return any(e[2] == "*" for e in self._idx.get("contact", ()))

    @property
    def routes(self) -> list[NameAddr]:
        return self._name_addr_list("route")

    @property
    def record_routes(self) -> list[NameAddr]:
        return self._name_addr_list("record-route")

    @property
    def call_id(self) -> str | None:
        entries = self._idx.get("call-id")
        return entries[0][2] if entries else None

    @property
    def cseq(self) -> CSeq | None:
        c = self._cache.get("cseq")
        if c is None:
            entries = self._idx.get("cseq")
            if not entries:
                return None
            c = self._cache["cseq"] = parse_cseq(entries[0][2])
        return c  # type: ignore[return-value]

    @property
    def max_forwards(self) -> int | None:
        if "max-forwards" in self._cache:
            return self._cache["max-forwards"]  # type: ignore[return-value]
        entries = self._idx.get("max-forwards")
        mf = _max_forwards(entries[0][2]) if entries else None
        self._cache["max-forwards"] = mf
        return mf

    @property
    def content_length(self) -> int | None:
        """Value of the Content-Length header (None if absent); the wire value is recomputed on output."""
        if "content-length" in self._cache:
            return self._cache["content-length"]  # type: ignore[return-value]
        entries = self._idx.get("content-length")
        cl = _digits(entries[0][2], "Content-Length", 9) if entries else None
        self._cache["content-length"] = cl
        return cl

    @property
    def content_type(self) -> str | None:
        entries = self._idx.get("content-type")
        return entries[0][2] if entries else None

    # -- output ----------------------------------------------------------------------------------------------

    def _start_line(self) -> str:
        raise NotImplementedError

    def to_bytes(self) -> bytes:
        """Wire form: untouched lines byte for byte, edited ones rebuilt, Content-Length set to the body."""
        if self._wt:
            self._sync()
        body = self.body
        start = self._start_line()
        if self._pristine and body is self._orig_body and start is self._start and self._wire is not None:
            return self._wire
        blen = str(len(body))
        parts = [start]
        has_cl = False
        for e in self._hdrs:
            if e[1] == "content-length":
                has_cl = True
                if e[2] != blen:
                    e[2] = blen
                    e[3] = None
                    self._cache.pop("content-length", None)
            raw = e[3]
            parts.append(raw if raw is not None else f"{e[0].rstrip()}: {e[2]}")
        if not has_cl:
            parts.append(f"Content-Length: {blen}")
        parts.append("\r\n")
        return "\r\n".join(parts).encode("utf-8", "surrogateescape") + body

    def _copy_into(self, new: Message) -> None:
        if self._wt:
            self._sync()
        hdrs = [list(e) for e in self._hdrs]
        idx: dict[str, list[list]] = {}
        for e in hdrs:
            lst = idx.get(e[1])
            if lst is None:
                idx[e[1]] = [e]
            else:
                lst.append(e)
        new._hdrs = hdrs
        new._idx = idx
        new.body = self.body
        new._orig_body = self._orig_body
        new._wire = self._wire
        new._pristine = self._pristine
        new._cache = {}
        new._wt = {}
        new._start = self._start

    def __bytes__(self) -> bytes:
        return self.to_bytes()


def _clean(obj: Via | NameAddr) -> str:
    """Serialize an edited view and mark it as matching the header text again."""
    if isinstance(obj, NameAddr):
        uri = obj._uri
        if uri is not None and uri._raw is None:
            uri._raw = str(uri)
            obj._raw = None
    text = str(obj)
    obj._raw = text
    return text


def _max_forwards(value: str) -> int:
    mf = _digits(value, "Max-Forwards", 3)
    if mf > 255:
        raise SIPParseError(f"Max-Forwards {mf} out of range")
    return mf


class Request(Message):
    __slots__ = ("_method", "_ruri", "version")
    is_request = True

    def __init__(
        self,
        method: str,
        ruri: str | URI,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> None:
        self._method = method
        self._ruri = parse_uri(ruri) if isinstance(ruri, str) else ruri
        self.version = _SIP_VERSION
        self._init_empty(headers, body)

    @property
    def method(self) -> str:
        return self._method

    @method.setter
    def method(self, value: str) -> None:
        self._method = value
        self._start = None

    @property
    def ruri(self) -> URI:
        """The Request-URI. Edit it in place or assign a URI / string; the request line follows."""
        return self._ruri

    @ruri.setter
    def ruri(self, value: URI | str) -> None:
        self._ruri = parse_uri(value) if isinstance(value, str) else value
        self._start = None

    @property
    def ruri_raw(self) -> str:
        return str(self._ruri)

    def _start_line(self) -> str:
        start = self._start
        if start is not None and self._ruri._raw is not None:
            return start
        return f"{self._method} {self._ruri} {self.version}"

    def copy(self) -> Request:
        new = Request.__new__(Request)
        self._copy_into(new)
        new._method = self._method
        new._ruri = self._ruri.copy()
        new.version = self.version
        return new

    def __repr__(self) -> str:
        return f"<Request {self._method} {self._ruri}>"


class Response(Message):
    __slots__ = ("_status", "_reason", "version")

    def __init__(
        self,
        status: int,
        reason: str | None = None,
        headers: Iterable[tuple[str, str]] = (),
        body: bytes = b"",
    ) -> None:
        self._status = status
        self._reason = reason_phrase(status) if reason is None else reason
        self.version = _SIP_VERSION
        self._init_empty(headers, body)

    @property
    def status(self) -> int:
        return self._status

    @status.setter
    def status(self, value: int) -> None:
        self._status = value
        self._start = None

    @property
    def reason(self) -> str:
        return self._reason

    @reason.setter
    def reason(self, value: str) -> None:
        self._reason = value
        self._start = None

    def _start_line(self) -> str:
        start = self._start
        if start is not None:
            return start
        return f"{self.version} {self._status} {self._reason}"

    def copy(self) -> Response:
        new = Response.__new__(Response)
        self._copy_into(new)
        new._status = self._status
        new._reason = self._reason
        new.version = self.version
        return new

    def __repr__(self) -> str:
        return f"<Response {self._status} {self._reason}>"


def _missing(idx: dict[str, list[list]]) -> SIPParseError:
    for key, name in (
        ("via", "Via"),
        ("from", "From"),
        ("to", "To"),
        ("call-id", "Call-ID"),
        ("cseq", "CSeq"),
    ):
        if key not in idx:
            return SIPParseError(f"missing mandatory header {name}")
    return SIPParseError("missing mandatory header")


def _split_headers(lines: list[str]) -> tuple[list[list], dict[str, list[list]]] | None:
    """Header entries and index for the usual header block; None if it has anything unusual (folded lines, a
    line without ':', a name not seen before), which the general _split_headers_slow then handles."""
    hdrs: list[list] = []
    idx: dict[str, list[list]] = {}
    kget = _WIRE_KEYS.get
    append = hdrs.append
    it = iter(lines)
    next(it)
    for line in it:
        name, sep, value = line.partition(":")
        key = kget(name)
        if key is None or not sep:
            return None
        entry = [name, key, value.strip(), line]
        append(entry)
        if key in idx:
            idx[key].append(entry)
        else:
            idx[key] = [entry]
    return hdrs, idx


def _split_headers_slow(head: str, lines: list[str]) -> tuple[list[list], dict[str, list[list]], str]:
    """_split_headers for any header block: unfolds continuation lines, learns new names, raises on bad lines.
    Returns the entries, the index and the (unfolded) start line."""
    raws = None
    if "\r\n " in head or "\r\n\t" in head:
        lines, raws = _unfold(lines)
    hdrs: list[list] = []
    idx: dict[str, list[list]] = {}
    keys = _WIRE_KEYS
    it = iter(lines)
    next(it)
    for line in it:
        name, sep, value = line.partition(":")
        if not sep:
            raise SIPParseError(f"header line without ':': {line[:60]!r}")
        key = keys.get(name) or _wire_key(name)
        entry = [name, key, value.strip(), line]
        hdrs.append(entry)
        lst = idx.get(key)
        if lst is None:
            idx[key] = [entry]
        else:
            lst.append(entry)
    if raws is not None:
        for i, entry in enumerate(hdrs, 1):
            entry[3] = raws[i]
    return hdrs, idx, lines[0]


def parse_message(data: bytes, max_size: int = 65535) -> Request | Response:
    """Parse one SIP message (a datagram, or one message framed off a stream).

    Bytes after Content-Length are ignored (RFC 3261 18.3). Raises SIPParseError carrying the status a server
    should answer with: 400 for malformed messages, 505 for another SIP version, 413 above ``max_size``.
    """
    if len(data) > max_size:
        raise SIPParseError(f"message of {len(data)} bytes exceeds the limit of {max_size}", *_TOO_LARGE)
    start = 0
    while data.startswith(b"\r\n", start):
        start += 2
    end = data.find(b"\r\n\r\n", start)
    if end < 0:
        raise SIPParseError("no empty line after the headers")
    head = data[start:end].decode("utf-8", "surrogateescape")
    lines = head.split("\r\n")
    split = _split_headers(lines)
    if split is None:
        hdrs, idx, first = _split_headers_slow(head, lines)
    else:
        hdrs, idx = split
        first = lines[0]

    body = data[end + 4 :]
    entries = idx.get("content-length")
    if entries is not None:
        value = entries[0][2]
        cl = _SMALL_INTS.get(value)
        if cl is None:
            cl = _digits(value, "Content-Length", 9)
        if cl != len(body):
            if cl > len(body):
                raise SIPParseError(f"Content-Length {cl} larger than the body ({len(body)} bytes)")
            body = body[:cl]
        # Usually the datagram is exactly the message: keep it without copying (unless it could change later).
        if start == 0 and len(body) + end + 4 == len(data) and data.__class__ is bytes:
            wire: bytes | None = data
        else:
            wire = bytes(data[start : end + 4 + cl])
    else:
        cl = None
        wire = None

    msg: Request | Response
    if first.startswith("SIP/"):
        version, _, rest = first.partition(" ")
        code, _, reason = rest.partition(" ")
        if version != _SIP_VERSION and version.upper() != _SIP_VERSION:
            raise SIPParseError(f"unsupported SIP version {version!r}", 505, "Version Not Supported")
        if len(code) != 3 or not code.isdigit() or not code.isascii() or code[0] < "1" or code[0] > "6":
            raise SIPParseError(f"bad status code in {first[:80]!r}")
        resp = _new(Response)
        resp._status = int(code)
        resp._reason = reason
        resp.version = version
        msg = resp
    else:
        parts = first.split(" ")
        if len(parts) != 3:
            raise SIPParseError(f"bad request line {first[:80]!r}")
        method, ruri_text, version = parts
        if version != _SIP_VERSION:
            if version.upper() != _SIP_VERSION:
                if version[:4].upper() == "SIP/":
                    raise SIPParseError(f"unsupported SIP version {version!r}", 505, "Version Not Supported")
                raise SIPParseError(f"bad request line {first[:80]!r}")
        if method not in _METHODS and (not method or method.strip(TOKEN_CHARS)):
            raise SIPParseError(f"bad method {method[:40]!r}")
        ruri = parse_uri(ruri_text)
        if ruri._headers is not None:
            raise SIPParseError(f"headers are not allowed in the Request-URI {ruri_text!r}")
        req = _new(Request)
        req._method = method
        req._ruri = ruri
        req.version = version
        msg = req

    try:
        via_entry = idx["via"][0]
        from_entry = idx["from"][0]
        to_entry = idx["to"][0]
        call_id = idx["call-id"][0][2]
        cseq_text = idx["cseq"][0][2]
    except KeyError:
        raise _missing(idx) from None
    if len(idx) != len(hdrs):
        # Some name repeats (several Via or Record-Route lines are normal): the single-valued ones must not.
        for key in _SINGLE:
            entries = idx.get(key)
            if entries is not None and len(entries) > 1:
                raise SIPParseError(f"more than one {entries[1][0].strip()} header")
    cseq = parse_cseq(cseq_text)
    if msg.is_request and cseq.method != msg._method:  # type: ignore[union-attr]
        raise SIPParseError(f"CSeq method {cseq.method!r} does not match the request method")
    entries = idx.get("max-forwards")
    if entries is not None:
        value = entries[0][2]
        mf = _SMALL_INTS.get(value)
        if mf is None or mf > 255:
            mf = _max_forwards(value)
    else:
        mf = None
    if not call_id:
        raise SIPParseError("empty Call-ID")
    from_ = parse_name_addr(from_entry[2])
    to = parse_name_addr(to_entry[2])
    value = via_entry[2]
    if "," in value:
        values = split_values(value)
        if not values:
            raise SIPParseError("empty Via")
        value = values[0]
    via = parse_via_value(value)

    msg._hdrs = hdrs
    msg._idx = idx
    msg.body = body
    msg._orig_body = body
    msg._wire = wire
    msg._pristine = True
    # Absent Content-Length / Max-Forwards are cached as None, what their properties would compute.
    msg._cache = {
        "content-length": cl,
        "max-forwards": mf,
        "cseq": cseq,
        "from": from_,
        "to": to,
        "via0": via,
    }
    msg._wt = {"via0": via_entry, "from": from_entry, "to": to_entry}
    msg._start = first
    return msg


def make_response(
    req: Request,
    status: int,
    reason: str | None = None,
    *,
    to_tag: str | None = None,
    headers: Iterable[tuple[str, str]] = (),
    body: bytes = b"",
) -> Response:
    """Build a response to ``req`` (RFC 3261 8.2.6): Via (all, in order), From, To (with ``to_tag`` added if
    To has no tag), Call-ID, CSeq copied; Record-Route copied for 101-299 (dialog-creating answers, 12.1.1).
    ``headers`` are appended after those, then Content-Length."""
    if req._wt:
        req._sync()
    resp = Response.__new__(Response)
    resp._status = status
    resp._reason = reason_phrase(status) if reason is None else reason
    resp.version = _SIP_VERSION
    hdrs: list[list] = []
    idx: dict[str, list[list]] = {}
    copy_keys = (
        ("via", "record-route", "from", "to", "call-id", "cseq")
        if 100 < status < 300
        else (
            "via",
            "from",
            "to",
            "call-id",
            "cseq",
        )
    )
    src = req._idx
    for key in copy_keys:
        for e in src.get(key, ()):
            entry = list(e)
            hdrs.append(entry)
            lst = idx.get(key)
            if lst is None:
                idx[key] = [entry]
            else:
                lst.append(entry)
    if to_tag is not None:
        to_entries = idx.get("to")
        if to_entries:
            to = req.to
            if to is not None and to.tag is None:
                entry = to_entries[0]
                entry[2] = f"{entry[2]};tag={to_tag}"
                entry[3] = None
    resp._hdrs = hdrs
    resp._idx = idx
    for name, value in headers:
        resp._append(name, value)
    resp.body = body
    resp._orig_body = body
    resp._wire = None
    resp._pristine = False
    resp._cache = {}
    resp._wt = {}
    resp._start = None
    return resp


def make_request(
    method: str, ruri: str | URI, *, headers: Iterable[tuple[str, str]] = (), body: bytes = b""
) -> Request:
    """Build a request (UAC side). Headers go out in the given order, then Content-Length."""
    return Request(method, ruri, headers, body)


_REASONS = {
    100: "Trying",
    180: "Ringing",
    181: "Call Is Being Forwarded",
    182: "Queued",
    183: "Session Progress",
    199: "Early Dialog Terminated",
    200: "OK",
    202: "Accepted",
    204: "No Notification",
    300: "Multiple Choices",
    301: "Moved Permanently",
    302: "Moved Temporarily",
    305: "Use Proxy",
    380: "Alternative Service",
    400: "Bad Request",
    401: "Unauthorized",
    402: "Payment Required",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    406: "Not Acceptable",
    407: "Proxy Authentication Required",
    408: "Request Timeout",
    410: "Gone",
    412: "Conditional Request Failed",
    413: "Request Entity Too Large",
    414: "Request-URI Too Long",
    415: "Unsupported Media Type",
    416: "Unsupported URI Scheme",
    417: "Unknown Resource-Priority",
    420: "Bad Extension",
    421: "Extension Required",
    422: "Session Interval Too Small",
    423: "Interval Too Brief",
    428: "Use Identity Header",
    429: "Provide Referrer Identity",
    433: "Anonymity Disallowed",
    436: "Bad Identity-Info",
    437: "Unsupported Certificate",
    438: "Invalid Identity Header",
    439: "First Hop Lacks Outbound Support",
    440: "Max-Breadth Exceeded",
    469: "Bad Info Package",
    470: "Consent Needed",
    480: "Temporarily Unavailable",
    481: "Call/Transaction Does Not Exist",
    482: "Loop Detected",
    483: "Too Many Hops",
    484: "Address Incomplete",
    485: "Ambiguous",
    486: "Busy Here",
    487: "Request Terminated",
    488: "Not Acceptable Here",
    489: "Bad Event",
    491: "Request Pending",
    493: "Undecipherable",
    494: "Security Agreement Required",
    500: "Server Internal Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Server Time-out",
    505: "Version Not Supported",
    513: "Message Too Large",
    580: "Precondition Failure",
    600: "Busy Everywhere",
    603: "Decline",
    604: "Does Not Exist Anywhere",
    606: "Not Acceptable",
    607: "Unwanted",
}
_CLASS_REASONS = {
    1: "Trying",
    2: "OK",
    3: "Redirect",
    4: "Client Error",
    5: "Server Error",
    6: "Global Failure",
}


def reason_phrase(status: int) -> str:
    """Default reason phrase for ``status`` (RFC 3261 21 and later RFCs; a class name for unknown codes)."""
    phrase = _REASONS.get(status)
    if phrase is None:
        phrase = _CLASS_REASONS.get(status // 100, "Unknown")
    return phrase
