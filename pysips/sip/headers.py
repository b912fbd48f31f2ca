"""Header names and the structured header values a SIP core reads: name-addr, Via, CSeq.

Parsed objects remember the text they came from (``_raw``) and serialize to it until changed, so the message
can tell whether a header must be rewritten or can go out byte for byte.
"""

from __future__ import annotations

import re
from operator import attrgetter
from typing import Any

from pysips.errors import SIPParseError
from pysips.sip.uri import URI, parse_uri

# RFC 3261 7.3.3 plus the compact forms registered by later RFCs (3265, 3515, 3841, 3892, 4028, 4474, 6665).
COMPACT: dict[str, str] = {
    "a": "Accept-Contact",
    "b": "Referred-By",
    "c": "Content-Type",
    "d": "Request-Disposition",
    "e": "Content-Encoding",
    "f": "From",
    "i": "Call-ID",
    "j": "Reject-Contact",
    "k": "Supported",
    "l": "Content-Length",
    "m": "Contact",
    "n": "Identity-Info",
    "o": "Event",
    "r": "Refer-To",
    "s": "Subject",
    "t": "To",
    "u": "Allow-Events",
    "v": "Via",
    "x": "Session-Expires",
    "y": "Identity",
}
_COMPACT_KEY = {k: v.lower() for k, v in COMPACT.items()}

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
TOKEN_CHARS = _ALNUM + "-.!%*_+`'~"
_DISPLAY_CHARS = TOKEN_CHARS + " \t"
# gen-value = token / host / quoted-string; host adds the IPv6 brackets and colons.
_GEN_VALUE_CHARS = TOKEN_CHARS + "[]:"
_HOST_CHARS = _ALNUM + "-._"
_IPV6_CHARS = "0123456789abcdefABCDEF:."
# Printable ASCII without space, '<', '>', '"' (RFC 3986 excluded characters, which must be %-escaped).
_URI_SHAPE_CHARS = "".join(chr(c) for c in range(33, 127) if chr(c) not in '<>"')

# Fast paths for the shapes nearly every UA sends. Each regex accepts a strict subset of what the general
# str-method parsers below accept, with the same result, so anything unusual (whitespace around ';' or '=',
# quoted param values, escapes, IPv6) simply falls through to them. Checked against the general parsers by
# tests/sip/test_headers.py::test_fast_paths_agree_with_general_parsers. Possessive quantifiers (each class
# stops at the delimiter that follows it, so there is nothing to backtrack into) make the matches ~15% cheaper.
_TOK = r"[A-Za-z0-9.!%*_+`'~-]"
_FAST_PARAMS = rf"((?:;{_TOK}++(?:=[A-Za-z0-9.!%*_+`'~:\[\]-]++)?)*+)"
# '"display" <uri>;params', 'Display Name <uri>;params' or '<uri>;params'. The URI is printable ASCII without
# space, '<', '>', '"', starts with a letter and has a ':' neither first nor last (what _check_uri_text wants).
_NAME_ADDR_BODY = (
    rf'(?:("[^"\\\r\n]*+")[ \t]*+|({_TOK}++(?:[ \t]++{_TOK}++)*+)[ \t]*+)?<([A-Za-z][!#-9;=?-~]*+:[!#-;=?-~]++)>'
    + _FAST_PARAMS
)
_NAME_ADDR_FAST = re.compile(_NAME_ADDR_BODY + r"\Z").match
# One element of a Route / Record-Route / Contact list, with the ',' after it (None for the last one).
_NAME_ADDR_ITEM = re.compile(rf"[ \t]*+({_NAME_ADDR_BODY})[ \t]*+(?:(,)|\Z)").match
# addr-spec without <>: no ';' or '?' inside the URI (a ';' starts the header params).
_ADDR_SPEC_FAST = re.compile(r"([A-Za-z][!#-9=@-~]*+:[!#-:=@-~]++)" + _FAST_PARAMS + r"\Z").match
_VIA_FAST = re.compile(
    r"SIP/2\.0/([A-Z]++) ([A-Za-z0-9._-]++)(?::([0-9]{1,5}+))?" + _FAST_PARAMS + r"\Z"
).match
_CSEQ_FAST = re.compile(rf"([0-9]{{1,10}}+) ({_TOK}++)\Z").match
_new = object.__new__

# Header names seen on the wire -> matching key. Bounded so hostile traffic cannot grow it forever.
_KEY_CACHE: dict[str, str] = {}
_KEY_CACHE_MAX = 2048


def canonical_name(name: str) -> str:
    """The key used to match header names: lower-case full name ('v' -> 'via', 'Call-ID' -> 'call-id')."""
    key = _KEY_CACHE.get(name)
    if key is not None:
        return key
    key = name.strip().lower()
    if len(key) == 1:
        key = _COMPACT_KEY.get(key, key)
    if len(_KEY_CACHE) < _KEY_CACHE_MAX:
        _KEY_CACHE[name] = key
    return key


def is_token(text: str) -> bool:
    return bool(text) and not text.strip(TOKEN_CHARS)


def _end_quote(text: str, start: int) -> int:
    """Index of the '"' closing the quoted string opened at ``start``, honouring backslash escapes."""
    i = start + 1
    while True:
        j = text.find('"', i)
        if j < 0:
            raise SIPParseError(f"unterminated quoted string in {text!r}")
        k = text.find("\\", i, j)
        if k < 0:
            return j
        i = k + 2


def split_values(text: str) -> list[str]:
    """Split a header body on commas that are outside quoted strings and <...>; empty values are dropped."""
    if "," not in text:
        text = text.strip()
        return [text] if text else []
    if '"' not in text:
        if "<" not in text:
            return [v for v in (p.strip() for p in text.split(",")) if v]
        return _split_angle(text)
    out: list[str] = []
    start = i = 0
    n = len(text)
    while i < n:
        c = text.find(",", i)
        q = text.find('"', i)
        a = text.find("<", i)
        j = n
        for pos in (c, q, a):
            if 0 <= pos < j:
                j = pos
        if j == n:
            break
        if j == c:
            out.append(text[start:c].strip())
            start = i = c + 1
        elif j == q:
            i = _end_quote(text, q) + 1
        else:
            g = text.find(">", a)
            if g < 0:
                raise SIPParseError(f"unterminated <...> in {text!r}")
            i = g + 1
    out.append(text[start:].strip())
    return [v for v in out if v]


def _split_angle(text: str) -> list[str]:
    """split_values for the common Route/Contact shape: <...> but no quoted strings."""
    out: list[str] = []
    start = pos = 0
    while True:
        c = text.find(",", pos)
        if c < 0:
            break
        a = text.find("<", pos, c)
        if a >= 0:
            g = text.find(">", a)
            if g < 0:
                raise SIPParseError(f"unterminated <...> in {text!r}")
            pos = g + 1
            continue
        v = text[start:c].strip()
        if v:
            out.append(v)
        start = pos = c + 1
    v = text[start:].strip()
    if v:
        out.append(v)
    return out


def _split_params_quoted(text: str) -> list[str]:
    pieces: list[str] = []
    start = i = 0
    while True:
        s = text.find(";", i)
        q = text.find('"', i)
        if s < 0:
            break
        if 0 <= q < s:
            i = _end_quote(text, q) + 1
            continue
        pieces.append(text[start:s])
        start = i = s + 1
    pieces.append(text[start:])
    return pieces


def _fast_params(ptext: str) -> list[tuple[str, str | None]]:
    """Params already validated by a _FAST_PARAMS group (';a=1;b'): no whitespace, no quotes."""
    out: list[tuple[str, str | None]] = []
    for piece in ptext[1:].split(";"):
        name, eq, value = piece.partition("=")
        out.append((name, value) if eq else (name, None))
    return out


def parse_params(text: str) -> list[tuple[str, str | None]]:
    """Parse generic params; ``text`` is what follows the first ';' (e.g. 'tag=1 ; lr')."""
    out: list[tuple[str, str | None]] = []
    if '"' not in text and " " not in text and "\t" not in text:
        # Common shape (";branch=z9hG4bK1;rport"): nothing to strip or unquote.
        for piece in text.split(";"):
            name, eq, value = piece.partition("=")
            if not name or name.strip(TOKEN_CHARS):
                raise SIPParseError(f"bad parameter {piece!r}")
            if eq:
                if not value or value.strip(_GEN_VALUE_CHARS):
                    raise SIPParseError(f"bad value of parameter {name!r}")
                out.append((name, value))
            else:
                out.append((name, None))
        return out
    pieces = _split_params_quoted(text) if '"' in text else text.split(";")
    for piece in pieces:
        name, eq, value = piece.partition("=")
        name = name.strip()
        if not name or name.strip(TOKEN_CHARS):
            raise SIPParseError(f"bad parameter {piece.strip()!r}")
        if eq:
            value = value.strip()
            if not value:
                raise SIPParseError(f"parameter {name!r} without value")
            if value[0] == '"':
                if _end_quote(value, 0) != len(value) - 1:
                    raise SIPParseError(f"bad quoted value of parameter {name!r}")
            elif value.strip(_GEN_VALUE_CHARS):
                raise SIPParseError(f"bad value of parameter {name!r}")
            out.append((name, value))
        else:
            out.append((name, None))
    return out


def _format_params(params: list[tuple[str, str | None]]) -> str:
    return "".join(f";{k}" if v is None else f";{k}={v}" for k, v in params)


class _Params:
    """Shared param access for header values. ``_params`` holds (name, value|None) in order."""

    __slots__ = ()
    _params: list[tuple[str, str | None]]
    _raw: str | None

    def get_param(self, name: str) -> str | None:
        """Value of the first param ``name`` (case-insensitive); '' if present without value, None if absent."""
        lname = name.lower()
        for key, value in self._params:
            if key == name or key.lower() == lname:
                return "" if value is None else value
        return None

    def has_param(self, name: str) -> bool:
        return self.get_param(name) is not None

    def set_param(self, name: str, value: str | None = None) -> None:
        """Replace the first param ``name`` in place, or append it; ``value`` None writes a flag param."""
        lname = name.lower()
        params = self._params
        for i, (key, _) in enumerate(params):
            if key.lower() == lname:
                params[i] = (key, value)
                break
        else:
            params.append((name, value))
        self._raw = None

    def remove_param(self, name: str) -> None:
        lname = name.lower()
        self._params = [p for p in self._params if p[0].lower() != lname]
        self._raw = None

    @property
    def params(self) -> list[tuple[str, str | None]]:
        # Handing out the list means it may be edited in place: stop trusting the original text.
        self._raw = None
        return self._params

    @params.setter
    def params(self, value: list[tuple[str, str | None]]) -> None:
        self._params = list(value)
        self._raw = None


def _set_field(slot: str) -> Any:
    def fset(self: Any, value: Any) -> None:
        setattr(self, slot, value)
        self._raw = None

    return fset


class NameAddr(_Params):
    """A name-addr or addr-spec with header params (From, To, Contact, Route, Record-Route, ...).

    ``display`` is kept as written, with its quotes if it was quoted (like OpenSIPS's $fn); ``display_text``
    gives it unquoted. Assigning a display name that is not a plain token sequence quotes it on output.
    The URI is parsed when ``uri`` is first read (reading a tag does not need it); a malformed URI raises
    SIPParseError then.
    """

    __slots__ = ("_display", "_uri", "_uri_text", "_params", "_raw")

    def __init__(
        self, uri: URI | str, display: str | None = None, params: list[tuple[str, str | None]] | None = None
    ) -> None:
        self._uri = parse_uri(uri) if isinstance(uri, str) else uri
        self._uri_text = str(self._uri)
        self._display = display
        self._params = list(params) if params else []
        self._raw: str | None = None

    display = property(attrgetter("_display"), _set_field("_display"))

    @property
    def uri(self) -> URI:
        uri = self._uri
        if uri is None:
            uri = self._uri = parse_uri(self._uri_text)
        return uri

    @uri.setter
    def uri(self, value: URI | str) -> None:
        self._uri = parse_uri(value) if isinstance(value, str) else value
        self._raw = None

    @property
    def uri_text(self) -> str:
        """The URI as text, without parsing it."""
        uri = self._uri
        return self._uri_text if uri is None else str(uri)

    @property
    def tag(self) -> str | None:
        # get_param("tag") inlined: From/To tags are read for every message.
        for key, value in self._params:
            if key == "tag" or key.lower() == "tag":
                return "" if value is None else value
        return None

    @tag.setter
    def tag(self, value: str | None) -> None:
        if value is None:
            self.remove_param("tag")
        else:
            self.set_param("tag", value)

    @property
    def display_text(self) -> str | None:
        d = self._display
        if d is None or not d.startswith('"'):
            return d
        inner = d[1:-1]
        if "\\" not in inner:
            return inner
        out = []
        i = 0
        while i < len(inner):
            ch = inner[i]
            if ch == "\\" and i + 1 < len(inner):
                i += 1
                ch = inner[i]
            out.append(ch)
            i += 1
        return "".join(out)

    @property
    def modified(self) -> bool:
        uri = self._uri
        return self._raw is None or (uri is not None and uri._raw is None)

    def copy(self) -> NameAddr:
        new = NameAddr.__new__(NameAddr)
        new._display = self._display
        new._uri = None if self._uri is None else self._uri.copy()
        new._uri_text = self._uri_text
        new._params = list(self._params)
        new._raw = self._raw
        return new

    def __str__(self) -> str:
        raw = self._raw
        uri = self._uri
        if raw is not None and (uri is None or uri._raw is not None):
            return raw
        utext = self._uri_text if uri is None else str(uri)
        d = self._display
        if d:
            if not d.startswith('"') and d.strip(_DISPLAY_CHARS):
                d = '"' + d.replace("\\", "\\\\").replace('"', '\\"') + '"'
            head = f"{d} <{utext}>"
        else:
            head = f"<{utext}>"
        return head + _format_params(self._params) if self._params else head

    def __repr__(self) -> str:
        return f"NameAddr({str(self)!r})"


def _check_uri_text(utext: str, whole: str) -> None:
    # Cheap shape check so a broken From/To is refused at parse time; the full parse waits for .uri.
    c = utext.find(":")
    if c <= 0 or c == len(utext) - 1 or utext.strip(_URI_SHAPE_CHARS) or not utext[0].isalpha():
        raise SIPParseError(f"bad URI in {whole!r}")


def parse_name_addr(text: str) -> NameAddr:
    """Parse one name-addr / addr-spec with its header params. Raises SIPParseError (400)."""
    m = _NAME_ADDR_FAST(text)
    if m is not None:
        quoted, plain, utext, ptext = m.groups()
        na = _new(NameAddr)
        na._display = quoted or plain
        na._uri = None
        na._uri_text = utext
        na._params = _fast_params(ptext) if ptext else []
        na._raw = text
        return na
    m = _ADDR_SPEC_FAST(text)
    if m is not None:
        utext, ptext = m.groups()
        na = _new(NameAddr)
        na._display = None
        na._uri = None
        na._uri_text = utext
        na._params = _fast_params(ptext) if ptext else []
        na._raw = text
        return na
    return _parse_name_addr(text)


def _parse_name_addr(text: str) -> NameAddr:
    """The general name-addr parser (any whitespace, quoted params, escapes); see parse_name_addr."""
    s = text.strip()
    if not s:
        raise SIPParseError("empty name-addr")
    display: str | None = None
    c0 = s[0]
    if c0 == "<":
        lt = 0
    elif c0 == '"':
        q = _end_quote(s, 0)
        display = s[: q + 1]
        lt = s.find("<", q + 1)
        if lt < 0 or s[q + 1 : lt].strip():
            raise SIPParseError(f"quoted display name not followed by <uri> in {s!r}")
    else:
        lt = s.find("<")
        if lt > 0:
            display = s[:lt].strip()
            # RFC 3261 wants a quoted string when the display name holds non-token characters. OpenSIPS's
            # parse_to is lenient (UAs send `To: : <sip:..>`); we accept the same, except a comma, which makes a
            # list header ambiguous (RFC 4475 3.1.2.15 "Bell, Alexander" is rejected).
            if display.strip(_DISPLAY_CHARS) and ("," in display or '"' in display):
                raise SIPParseError(f"display name must be quoted in {s!r}")
    if lt >= 0:
        gt = s.find(">", lt)
        if gt < 0:
            raise SIPParseError(f"missing '>' in {s!r}")
        utext = s[lt + 1 : gt]
        rest = s[gt + 1 :]
        if rest:
            rest = rest.strip()
        if rest:
            if rest[0] != ";":
                raise SIPParseError(f"unexpected text after <uri> in {s!r}")
            params = parse_params(rest[1:])
        else:
            params = []
    else:
        # addr-spec: a URI with ';', '?' or ',' must be in <>, so any ';' here starts header params.
        utext, semi, ptext = s.partition(";")
        utext = utext.rstrip()
        if "?" in utext:
            raise SIPParseError(f"URI with headers must be enclosed in <> in {s!r}")
        params = parse_params(ptext) if semi else []
    _check_uri_text(utext, s)
    na = NameAddr.__new__(NameAddr)
    na._display = display or None
    na._uri = None
    na._uri_text = utext
    na._params = params
    na._raw = s
    return na


def parse_name_addr_list(text: str) -> list[NameAddr]:
    """Parse a comma-separated list of name-addrs (Contact, Route, Record-Route)."""
    # Fast path: each element matched in place (no split_values pass); any element of another shape sends
    # the whole list to the general path.
    out: list[NameAddr] = []
    pos = 0
    while True:
        m = _NAME_ADDR_ITEM(text, pos)
        if m is None:
            return [parse_name_addr(v) for v in split_values(text)]
        raw, quoted, plain, utext, ptext, comma = m.groups()
        na = _new(NameAddr)
        na._display = quoted or plain
        na._uri = None
        na._uri_text = utext
        na._params = _fast_params(ptext) if ptext else []
        na._raw = raw
        out.append(na)
        if comma is None:
            return out
        pos = m.end()


class Via(_Params):
    """One Via value. ``branch``, ``received``, ``rport``, ``maddr``, ``ttl`` read/write params
    (None if absent, '' for a flag such as a bare ``rport``)."""

    __slots__ = ("_protocol", "_transport", "_host", "_port", "_params", "_raw")

    def __init__(
        self,
        transport: str,
        host: str,
        port: int | None = None,
        params: list[tuple[str, str | None]] | None = None,
        protocol: str = "SIP/2.0",
    ) -> None:
        self._protocol = protocol
        self._transport = transport.upper()
        self._host = host
        self._port = port
        self._params = list(params) if params else []
        self._raw: str | None = None

    protocol = property(attrgetter("_protocol"), _set_field("_protocol"))
    transport = property(attrgetter("_transport"), _set_field("_transport"))
    host = property(attrgetter("_host"), _set_field("_host"))
    port = property(attrgetter("_port"), _set_field("_port"))

    def _param_prop(name: str) -> Any:  # type: ignore[misc]
        def fget(self: Via) -> str | None:
            # get_param inlined (``name`` is lower-case already): branch is read for every message.
            for key, value in self._params:
                if key == name or key.lower() == name:
                    return "" if value is None else value
            return None

        def fset(self: Via, value: str | None) -> None:
            self.set_param(name, value)

        return property(fget, fset)

    branch = _param_prop("branch")
    received = _param_prop("received")
    rport = _param_prop("rport")
    maddr = _param_prop("maddr")
    ttl = _param_prop("ttl")
    del _param_prop

    @property
    def sent_by(self) -> str:
        return self._host if self._port is None else f"{self._host}:{self._port}"

    @property
    def modified(self) -> bool:
        return self._raw is None

    def copy(self) -> Via:
        new = Via.__new__(Via)
        new._protocol = self._protocol
        new._transport = self._transport
        new._host = self._host
        new._port = self._port
        new._params = list(self._params)
        new._raw = self._raw
        return new

    def __str__(self) -> str:
        raw = self._raw
        if raw is not None:
            return raw
        out = f"{self._protocol}/{self._transport} {self.sent_by}"
        return out + _format_params(self._params) if self._params else out

    def __repr__(self) -> str:
        return f"Via({str(self)!r})"


def parse_via_value(text: str) -> Via:
    """Parse a single Via value (no top-level commas)."""
    m = _VIA_FAST(text)
    if m is not None:
        transport, host, port_s, ptext = m.groups()
        port = None if port_s is None else int(port_s)
        if port is None or port <= 65535:
            via = _new(Via)
            via._protocol = "SIP/2.0"
            via._transport = transport
            via._host = host
            via._port = port
            via._params = _fast_params(ptext) if ptext else []
            via._raw = text
            return via
    return _parse_via_value(text)


def _parse_via_value(text: str) -> Via:
    """The general Via parser; see parse_via_value."""
    s = text.strip()
    if s.startswith("SIP/2.0/"):
        protocol = "SIP/2.0"
        rest = s[8:]
    else:
        p1 = s.find("/")
        p2 = s.find("/", p1 + 1) if p1 > 0 else -1
        if p2 < 0:
            raise SIPParseError(f"bad Via {s!r}")
        name = s[:p1].strip()
        version = s[p1 + 1 : p2].strip()
        if not is_token(name) or not is_token(version):
            raise SIPParseError(f"bad Via protocol in {s!r}")
        protocol = f"{name.upper()}/{version}"
        rest = s[p2 + 1 :].lstrip()
    parts = rest.split(None, 1)
    if len(parts) != 2 or parts[0].strip(TOKEN_CHARS):
        raise SIPParseError(f"bad Via transport in {s!r}")
    transport, sent_by = parts
    hostport, semi, ptext = sent_by.partition(";")
    hostport = hostport.strip()
    if hostport.startswith("["):
        end = hostport.find("]")
        if end < 3 or hostport[1:end].strip(_IPV6_CHARS):
            raise SIPParseError(f"bad Via host in {s!r}")
        host = hostport[: end + 1]
        ptail = hostport[end + 1 :].strip()
        if ptail and ptail[0] != ":":
            raise SIPParseError(f"bad Via sent-by in {s!r}")
        port_s = ptail[1:].strip() if ptail else ""
        has_port = bool(ptail)
    else:
        host, colon, port_s = hostport.partition(":")
        host = host.rstrip()
        has_port = bool(colon)
        if not host or host.strip(_HOST_CHARS):
            raise SIPParseError(f"bad Via host in {s!r}")
    port: int | None = None
    if has_port:
        port_s = port_s.strip()
        if not port_s.isdigit() or not port_s.isascii() or len(port_s) > 5:
            raise SIPParseError(f"bad Via port in {s!r}")
        port = int(port_s)
        if port > 65535:
            raise SIPParseError(f"bad Via port in {s!r}")
    via = Via.__new__(Via)
    via._protocol = protocol
    via._transport = transport.upper()
    via._host = host
    via._port = port
    via._params = parse_params(ptext) if semi else []
    via._raw = s
    return via


def parse_via(text: str) -> list[Via]:
    """Parse a Via header body, which may carry several comma-separated values."""
    return [parse_via_value(v) for v in split_values(text)]


class CSeq:
    """CSeq number (32-bit unsigned) and method."""

    __slots__ = ("number", "method")

    def __init__(self, number: int, method: str) -> None:
        self.number = number
        self.method = method

    def __str__(self) -> str:
        return f"{self.number} {self.method}"

    def __repr__(self) -> str:
        return f"CSeq({self.number}, {self.method!r})"

    def __eq__(self, other: object) -> bool:
        return isinstance(other, CSeq) and other.number == self.number and other.method == self.method

    __hash__ = None  # type: ignore[assignment]


def parse_cseq(text: str) -> CSeq:
    m = _CSEQ_FAST(text)
    if m is not None:
        num, method = m.groups()
        number = int(num)
        if number <= 0xFFFFFFFF:
            c = _new(CSeq)
            c.number = number
            c.method = method
            return c
    return _parse_cseq(text)


def _parse_cseq(text: str) -> CSeq:
    """The general CSeq parser (any whitespace, leading zeros); see parse_cseq."""
    parts = text.split()
    if len(parts) != 2:
        raise SIPParseError(f"bad CSeq {text.strip()!r}")
    num, method = parts
    # RFC 3261 20.16: a 32-bit unsigned integer. The length check keeps int() away from hostile digit runs.
    if not num.isdigit() or not num.isascii() or len(num.lstrip("0")) > 10 or int(num) > 0xFFFFFFFF:
        raise SIPParseError(f"bad CSeq number {num!r}")
    if method.strip(TOKEN_CHARS):
        raise SIPParseError(f"bad CSeq method {method!r}")
    return CSeq(int(num), method)
