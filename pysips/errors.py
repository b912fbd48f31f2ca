"""One error hierarchy for pysips: everything raised on purpose derives from PysipsError."""

from __future__ import annotations


class PysipsError(Exception):
    """Base of every error pysips raises on purpose."""


class SIPParseError(PysipsError):
    """A SIP message could not be parsed.

    ``status`` is the response a server should answer with (400 unless another code fits better,
    e.g. 505 for an unsupported SIP version, 413 for an oversize message); ``reason`` its phrase.
    """

    def __init__(self, message: str, status: int = 400, reason: str = "Bad Request") -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class SIPProtocolError(PysipsError):
    """A well-formed message that breaks a protocol rule; carries the status to answer with (481, 483...)."""

    def __init__(self, message: str, status: int, reason: str) -> None:
        super().__init__(message)
        self.status = status
        self.reason = reason


class ScriptError(PysipsError):
    """An error in a routing script, found at load time or at run time, with its position."""

    def __init__(
        self,
        message: str,
        file: str = "",
        line: int = 0,
        column: int = 0,
        source_line: str = "",
        hint: str = "",
        code: str = "E000",
        severity: str = "error",
    ) -> None:
        super().__init__(message)
        self.message = message
        self.file = file
        self.line = line
        self.column = column
        self.source_line = source_line
        self.hint = hint
        self.code = code
        self.severity = severity

    def format(self) -> str:
        """``file:line:col: error: message`` then the source line, a caret and the hint."""
        out = [f"{self.file}:{self.line}:{self.column}: {self.severity}: {self.message}"]
        if self.source_line:
            out.append("    " + self.source_line.rstrip("\n").expandtabs(4))
            prefix = self.source_line[: max(self.column - 1, 0)].expandtabs(4)
            out.append("    " + " " * len(prefix) + "^")
        if self.hint:
            out.append(f"    hint: {self.hint}")
        return "\n".join(out)

    def __str__(self) -> str:
        return self.format() if self.file else self.message


class ScriptRuntimeError(PysipsError):
    """An error while running a script for one message (logged; the message gets an error reply or is dropped)."""


class ConfigError(PysipsError):
    """Bad server configuration: a port in use, a missing file, a bad modparam value."""


class MIError(PysipsError):
    """A management-interface call failed; ``code`` is the JSON-RPC error code."""

    def __init__(self, message: str, code: int = -32000) -> None:
        super().__init__(message)
        self.code = code


def find_exception(exc: BaseException, kind: type[BaseException]) -> BaseException | None:
    """`exc` itself if it is a `kind`, else the first `kind` inside it when it is an exception group (trio >= 0.25
    wraps what a nursery's body raises in one), else None."""
    if isinstance(exc, kind):
        return exc
    if isinstance(exc, BaseExceptionGroup):
        for inner in exc.exceptions:
            found = find_exception(inner, kind)
            if found is not None:
                return found
    return None
