"""Cutting SIP messages out of a byte stream (TCP/TLS): Content-Length framing, CRLF keep-alives skipped."""

from __future__ import annotations

import re

from pysips.errors import SIPParseError

_TOO_LARGE = (413, "Request Entity Too Large")
# The first Content-Length / 'l' header line (never the start line); its value runs to the end of the line.
_CONTENT_LENGTH = re.compile(rb"\r\n[ \t]*(?:content-length|l)[ \t]*:(.*?)(?:\r\n|\Z)", re.I | re.S).search


def content_length_of(head: bytes) -> int | None:
    """Content-Length (or compact 'l') of a message head, None if absent; SIPParseError if malformed."""
    m = _CONTENT_LENGTH(head)
    if m is None:
        return None
    value = m.group(1).strip()
    if not value.isdigit() or len(value.lstrip(b"0")) > 9:
        raise SIPParseError(f"bad Content-Length {value[:20].decode('latin-1')!r}")
    return int(value)


class StreamFramer:
    """Feed it stream bytes, get back complete messages.

    Content-Length is required on streams (RFC 3261 18.3): a head without one raises SIPParseError (400).
    CRLF keep-alives ("\\r\\n\\r\\n" pings, stray CRLFs between messages) are dropped. A message, or an
    unfinished head, longer than ``max_size`` raises SIPParseError (413). After an error the connection
    should be closed: the framer cannot find the next message boundary.

    When one ``feed`` holds complete messages followed by a framing error, the messages are returned and the
    error is kept in ``pending_error``; it is raised by the next ``feed`` call (and every one after it), so
    a caller either checks ``pending_error`` after handling the messages or finds out on the next read.
    """

    __slots__ = ("max_size", "_buf", "_error")

    def __init__(self, max_size: int = 65535) -> None:
        self.max_size = max_size
        self._buf = bytearray()
        self._error: SIPParseError | None = None

    @property
    def buffered(self) -> int:
        """Bytes held waiting for the rest of a message."""
        return len(self._buf)

    @property
    def pending_error(self) -> SIPParseError | None:
        """The framing error found after the messages the last ``feed`` returned, if any."""
        return self._error

    def feed(self, data: bytes) -> list[bytes]:
        if self._error is not None:
            raise self._error
        buf = self._buf
        buf += data
        out: list[bytes] = []
        pos = 0
        n = len(buf)
        try:
            # Each pass consumes at least one message or stops, so the loop is bounded by the buffer size.
            while pos < n:
                while pos < n and (buf[pos] == 13 or buf[pos] == 10):
                    pos += 1
                if pos >= n:
                    break
                end = buf.find(b"\r\n\r\n", pos)
                if end < 0:
                    if n - pos > self.max_size:
                        raise SIPParseError(f"message head exceeds {self.max_size} bytes", *_TOO_LARGE)
                    break
                body_start = end + 4
                cl = content_length_of(bytes(buf[pos:end]))
                if cl is None:
                    raise SIPParseError("missing Content-Length on a stream transport")
                total = body_start - pos + cl
                if total > self.max_size:
                    raise SIPParseError(f"message of {total} bytes exceeds {self.max_size}", *_TOO_LARGE)
                if n < body_start + cl:
                    break
                out.append(bytes(buf[pos : body_start + cl]))
                pos = body_start + cl
        except SIPParseError as exc:
            self._error = exc
            if not out:
                raise
        if pos:
            del buf[:pos]
        return out
