"""SIP, SIPS and tel URIs (RFC 3261 19.1, RFC 3966), parsed with str methods only.

A parsed URI remembers the exact text it came from and serializes to it until one of its parts is changed, so
an untouched URI goes back on the wire byte for byte.
"""

from __future__ import annotations

import re
from operator import attrgetter
from typing import Any
from urllib.parse import unquote

from pysips.errors import SIPParseError

_ALNUM = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"
_UNRESERVED = _ALNUM + "-_.!~*'()"
# "%" stands for the escaped production; checking that two hex digits follow would cost more than it saves.
_USER_CHARS = _UNRESERVED + "%&=+$,;?/"
_PASSWORD_CHARS = _UNRESERVED + "%&=+$,"
_PARAM_CHARS = _UNRESERVED + "%[]/:&+$"
_HEADER_CHARS = _UNRESERVED + "%[]/?:+$=&"
# "_" is not legal in hostnames but is common in real deployments; refusing it would break calls for no gain.
_HOST_CHARS = _ALNUM + "-._"
_IPV6_CHARS = "0123456789abcdefABCDEF:."
_SCHEME_CHARS = _ALNUM + "+-."
_TEL_CHARS = _UNRESERVED + "%&=+$,/:[]#"

# The common shape 'sip:user@host:port;params' without password, IPv6, headers or upper-case scheme. It accepts
# a strict subset of what _parse_sip accepts, with the same result; everything else takes the general path.
_SIP_FAST = re.compile(
    r"(sips?):(?:([A-Za-z0-9_.!~*'()%&=+$,;?/-]++)@)?([A-Za-z0-9._-]++)(?::([0-9]{1,5}+))?"
    r"((?:;[A-Za-z0-9_.!~*'()%\[\]/:&+$-]++(?:=[A-Za-z0-9_.!~*'()%\[\]/:&+$-]*+)?)*+)\Z"
).match
_new = object.__new__


def _bad(what: str, text: str) -> SIPParseError:
    return SIPParseError(f"bad {what} in URI {text!r}")


def _parse_uri_params(text: str, whole: str) -> list[tuple[str, str | None]]:
    """``text`` is what follows the first ';' of the parameter part."""
    out: list[tuple[str, str | None]] = []
    for piece in text.split(";"):
        name, eq, value = piece.partition("=")
        if not name or name.strip(_PARAM_CHARS):
            raise _bad("parameter", whole)
        if eq:
            if value.strip(_PARAM_CHARS):
                raise _bad("parameter value", whole)
            out.append((name, value))
        else:
            out.append((name, None))
    return out


def _set_field(slot: str) -> Any:
    def fset(self: URI, value: Any) -> None:
        setattr(self, slot, value)
        self._raw = None

    return fset


class URI:
    """A parsed URI. ``params`` keeps order and case; a param without value is stored as ``None``.

    Changing any part (attribute assignment, ``set_param``, ``remove_param``, or taking ``params`` to edit it)
    drops the remembered original text, and ``str()`` then rebuilds the URI from its parts.
    """

    __slots__ = ("_scheme", "_user", "_password", "_host", "_port", "_params", "_headers", "_raw", "opaque")

    def __init__(
        self,
        scheme: str = "sip",
        user: str | None = None,
        host: str = "",
        port: int | None = None,
        params: list[tuple[str, str | None]] | None = None,
        headers: str | None = None,
        password: str | None = None,
    ) -> None:
        self._scheme = scheme.lower()
        self._user = user
        self._password = password
        self._host = host
        self._port = port
        self._params = list(params) if params else []
        self._headers = headers
        self._raw: str | None = None
        # Text after "scheme:" for schemes other than sip/sips/tel, which are carried but not understood.
        self.opaque: str | None = None

    scheme = property(attrgetter("_scheme"), _set_field("_scheme"))
    user = property(attrgetter("_user"), _set_field("_user"))
    password = property(attrgetter("_password"), _set_field("_password"))
    host = property(attrgetter("_host"), _set_field("_host"))
    port = property(attrgetter("_port"), _set_field("_port"))
    headers = property(attrgetter("_headers"), _set_field("_headers"))

    @property
    def params(self) -> list[tuple[str, str | None]]:
        # The caller may edit the list in place, which we cannot observe: assume it will.
        self._raw = None
        return self._params

    @params.setter
    def params(self, value: list[tuple[str, str | None]]) -> None:
        self._params = list(value)
        self._raw = None

    @property
    def modified(self) -> bool:
        """True once the URI no longer serializes to the text it was parsed from."""
        return self._raw is None

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
        """Replace the first param ``name`` in place, or append it."""
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
    def hostport(self) -> str:
        return self._host if self._port is None else f"{self._host}:{self._port}"

    def copy(self) -> URI:
        new = URI.__new__(URI)
        new._scheme = self._scheme
        new._user = self._user
        new._password = self._password
        new._host = self._host
        new._port = self._port
        new._params = list(self._params)
        new._headers = self._headers
        new._raw = self._raw
        new.opaque = self.opaque
        return new

    def __str__(self) -> str:
        raw = self._raw
        if raw is not None:
            return raw
        scheme = self._scheme
        if self.opaque is not None and scheme not in ("sip", "sips", "tel"):
            return f"{scheme}:{self.opaque}"
        out = [scheme, ":"]
        if scheme == "tel":
            out.append(self._user or "")
        else:
            if self._user is not None:
                out.append(self._user)
                if self._password is not None:
                    out.append(":")
                    out.append(self._password)
                out.append("@")
            out.append(self._host)
            if self._port is not None:
                out.append(f":{self._port}")
        for key, value in self._params:
            out.append(f";{key}" if value is None else f";{key}={value}")
        if self._headers is not None:
            out.append("?")
            out.append(self._headers)
        return "".join(out)

    def __repr__(self) -> str:
        return f"URI({str(self)!r})"


def parse_uri(text: str) -> URI:
    """Parse a sip:, sips: or tel: URI; other schemes are accepted as opaque ``scheme:rest``.

    Raises SIPParseError (status 400) on malformed input.
    """
    m = _SIP_FAST(text)
    if m is not None:
        scheme, user, host, port_s, ptext = m.groups()
        port = None if port_s is None else int(port_s)
        if port is None or port <= 65535:
            uri = _new(URI)
            uri._scheme = scheme
            uri._user = user
            uri._password = None
            uri._host = host
            uri._port = port
            if ptext:
                params: list[tuple[str, str | None]] = []
                for piece in ptext[1:].split(";"):
                    name, eq, value = piece.partition("=")
                    params.append((name, value) if eq else (name, None))
                uri._params = params
            else:
                uri._params = []
            uri._headers = None
            uri._raw = text
            uri.opaque = None
            return uri
    return _parse_uri(text)


def _parse_uri(text: str) -> URI:
    """The general URI parser (any scheme case, passwords, IPv6, headers, tel:, opaque); see parse_uri."""
    colon = text.find(":")
    if colon <= 0:
        raise _bad("scheme", text)
    scheme = text[:colon].lower()
    rest = text[colon + 1 :]
    uri = URI.__new__(URI)
    uri._user = None
    uri._password = None
    uri._port = None
    uri._headers = None
    uri.opaque = None
    if scheme == "sip" or scheme == "sips":
        _parse_sip(uri, rest, text)
    elif scheme == "tel":
        number, semi, ptext = rest.partition(";")
        if not number or number.strip(_TEL_CHARS):
            raise _bad("telephone number", text)
        uri._user = number
        uri._host = ""
        uri._params = _parse_uri_params(ptext, text) if semi else []
    else:
        if not scheme[0].isalpha() or scheme.strip(_SCHEME_CHARS) or not rest or not rest.isprintable():
            raise _bad("scheme", text)
        if " " in rest:
            raise _bad("characters", text)
        uri._host = ""
        uri._params = []
        uri.opaque = rest
    uri._scheme = scheme
    uri._raw = text
    return uri


def _parse_sip(uri: URI, rest: str, whole: str) -> None:
    at = rest.find("@")
    if at >= 0:
        user, sep, password = rest[:at].partition(":")
        if not user or user.strip(_USER_CHARS):
            raise _bad("user", whole)
        if sep:
            if password.strip(_PASSWORD_CHARS):
                raise _bad("password", whole)
            uri._password = password
        uri._user = user
        rest = rest[at + 1 :]
    if rest.startswith("["):
        end = rest.find("]")
        if end < 3 or rest[1:end].strip(_IPV6_CHARS):
            raise _bad("IPv6 host", whole)
        host = rest[: end + 1]
        tail = rest[end + 1 :]
    else:
        end = len(rest)
        for ch in ":;?":
            j = rest.find(ch, 0, end)
            if j >= 0:
                end = j
        host = rest[:end]
        if not host or host.strip(_HOST_CHARS):
            raise _bad("host", whole)
        tail = rest[end:]
    uri._host = host
    uri._params = []
    if not tail:
        return
    if tail[0] == ":":
        end = len(tail)
        for ch in ";?":
            j = tail.find(ch, 1, end)
            if j >= 0:
                end = j
        port = tail[1:end]
        if not port.isdigit() or not port.isascii() or len(port) > 5 or int(port) > 65535:
            raise _bad("port", whole)
        uri._port = int(port)
        tail = tail[end:]
    if tail and tail[0] == ";":
        ptext, q, headers = tail[1:].partition("?")
        uri._params = _parse_uri_params(ptext, whole)
        if q:
            tail = "?" + headers
        else:
            return
    if tail:
        if tail[0] != "?":
            raise _bad("characters", whole)
        headers = tail[1:]
        if headers.strip(_HEADER_CHARS):
            raise _bad("headers", whole)
        uri._headers = headers


def unescape(text: str) -> str:
    """Decode %HH escapes (one level, RFC 3986): 'v%61lue%25%34%31' -> 'value%41'. Bytes that are not UTF-8
    are kept as surrogates, the same convention the message parser uses."""
    if "%" not in text:
        return text
    return unquote(text, errors="surrogateescape")
