"""OpenSIPS db_text tables (modules/db_text/dbt_file.c semantics), read-only.

A database is a directory; each table is one file named after the table. The first line declares the columns,
separated by spaces: ``name(type[,flag])`` with type ``int``/``bigint``/``double``/``string``/``str``/``blob``/
``datetime`` (only the first letter counts, as in OpenSIPS) and flag ``null`` (NULL allowed) or ``auto`` (an int
column numbered automatically when empty). Each following line is a row, fields separated by ``:``; an empty field
is NULL; in strings ``\\:`` is a colon, ``\\n`` ``\\r`` ``\\t`` ``\\\\`` ``\\0`` the usual characters; a row may omit
its last field (NULL). Blank lines are skipped.

Like OpenSIPS, any malformed row (a bad number, an unknown escape, too many fields, a NULL in a column without the
``null`` flag) makes the whole table fail to load; the error names the file and line.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from typing import Any

from pysips.errors import ConfigError

_TYPES = {"s": "str", "i": "int", "l": "int", "d": "double", "b": "str", "t": "int"}
_ESCAPES = {"n": "\n", "r": "\r", "t": "\t", "\\": "\\", ":": ":", "0": "\0"}


class DBTextError(ConfigError):
    """A db_text table could not be loaded; ``file`` and ``line`` locate the problem (line 0 = the file)."""

    def __init__(self, message: str, file: str = "", line: int = 0) -> None:
        where = f"{file}:{line}: " if line else (f"{file}: " if file else "")
        super().__init__(where + message)
        self.file = file
        self.line = line
        self.detail = message


@dataclass(frozen=True, slots=True)
class Column:
    name: str
    type: str  # "int", "str" or "double"
    nullable: bool = False
    auto: bool = False


@dataclass(slots=True)
class Table:
    name: str
    columns: list[Column]
    rows: list[dict[str, Any]] = field(default_factory=list)
    path: str = ""
    lines: list[int] = field(default_factory=list)  # source line of each row (for messages about a row)

    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    def has_column(self, name: str) -> bool:
        return any(c.name == name for c in self.columns)


def _parse_header(line: str, path: str) -> list[Column]:
    cols: list[Column] = []
    i, n = 0, len(line)
    auto_seen = False
    while True:
        while i < n and line[i] == " ":
            i += 1
        if i >= n:
            break
        start = i
        while i < n and line[i] not in " (":
            i += 1
        name = line[start:i]
        while i < n and line[i] == " ":
            i += 1
        if i >= n or line[i] != "(" or not name:
            raise DBTextError(
                f"bad column declaration near {line[start:].strip()!r}: expected name(type)", path, 1
            )
        i += 1
        while i < n and line[i] == " ":
            i += 1
        typ = _TYPES.get(line[i].lower()) if i < n else None
        if typ is None:
            raise DBTextError(f"column {name!r}: unknown type", path, 1)
        while i < n and line[i] not in "),":
            i += 1
        nullable = auto = False
        if i < n and line[i] == ",":
            i += 1
            while i < n and line[i] == " ":
                i += 1
            flag = line[i].lower() if i < n else ""
            if flag == "n":
                nullable = True
            elif flag == "a" and typ == "int" and not auto_seen:
                auto = auto_seen = True
            else:
                raise DBTextError(f"column {name!r}: unknown flag (expected null or auto)", path, 1)
            while i < n and line[i] != ")":
                i += 1
        if i >= n:
            raise DBTextError(f"column {name!r}: missing ')'", path, 1)
        i += 1
        cols.append(Column(name, typ, nullable, auto))
    if not cols:
        raise DBTextError("no column declared on the first line", path, 1)
    return cols


_INT_RE = re.compile(r"-?[0-9]+")
_DOUBLE_RE = re.compile(r"-?[0-9][0-9.]*")


def _fast_row(line: str, cols: list[Column]) -> list[Any] | None:
    """The common case (no escapes, every field or all but the last present, well-formed numbers) with str.split;
    None sends the line to the exact character-level parser, which also words the errors."""
    if "\\" in line:
        return None
    fields = line.split(":")
    ncols = len(cols)
    if len(fields) == ncols - 1:
        fields.append("")
    elif len(fields) != ncols:
        return None
    vals: list[Any] = []
    for f, c in zip(fields, cols, strict=True):
        if not f:
            vals.append(None)
        elif c.type == "str":
            vals.append(f)
        elif c.type == "int":
            if not _INT_RE.fullmatch(f):
                return None
            vals.append(int(f))
        else:
            if not _DOUBLE_RE.fullmatch(f):
                return None
            vals.append(float(f))
    return vals


def _parse_row(line: str, cols: list[Column], path: str, lineno: int) -> list[Any]:
    """One data line -> values (None = NULL), following dbt_load_file's character rules."""
    vals: list[Any] = []
    i, n, ncols = 0, len(line), len(cols)
    ccol = 0
    while True:
        if ccol == ncols and i >= n:
            break
        if ccol >= ncols:
            raise DBTextError(f"too many fields (the table has {ncols} columns)", path, lineno)
        col = cols[ccol]
        at_end = i >= n
        if (i < n and line[i] == ":") or (ccol == ncols - 1 and at_end):
            val: Any = None
        elif col.type in ("int", "double"):
            start = i
            if i < n and line[i] == "-":
                i += 1
            digits = i
            if col.type == "int":
                while i < n and line[i].isdigit():
                    i += 1
            else:
                while i < n and (line[i].isdigit() or line[i] == "."):
                    i += 1
            if i == digits:
                got = line[start:].split(":", 1)[0]
                raise DBTextError(f"column {col.name!r}: {got!r} is not a number", path, lineno)
            text = line[start:i]
            val = int(text) if col.type == "int" else float(text)
            if i < n and line[i] != ":":
                raise DBTextError(
                    f"column {col.name!r}: unexpected {line[i]!r} after the number {text}", path, lineno
                )
        else:
            buf: list[str] = []
            while i < n and line[i] != ":":
                c = line[i]
                if c == "\\":
                    i += 1
                    e = _ESCAPES.get(line[i]) if i < n else None
                    if e is None:
                        raise DBTextError(
                            f"column {col.name!r}: unknown escape '\\{line[i] if i < n else ''}'",
                            path,
                            lineno,
                        )
                    c = e
                buf.append(c)
                i += 1
            val = "".join(buf)
        vals.append(val)
        if i < n and line[i] == ":":
            i += 1
        ccol += 1
    return vals


def parse_table(text: str, name: str = "", path: str = "") -> Table:
    """Parse the content of a db_text table file (see the module docstring)."""
    lines = text.split("\n")
    cols = _parse_header(lines[0], path or name)
    table = Table(name, cols, path=path)
    names = table.column_names()
    auto_counter = 0  # OpenSIPS fills an empty auto column from a counter that starts at 0 for each load
    for lineno, line in enumerate(lines[1:], start=2):
        if not line:
            continue
        vals = _fast_row(line, cols)
        if vals is None:
            vals = _parse_row(line, cols, path or name, lineno)
        for k, c in enumerate(cols):
            if vals[k] is None and not c.nullable:
                if c.auto:
                    auto_counter += 1
                    vals[k] = auto_counter
                    continue
                raise DBTextError(f"column {c.name!r} cannot be NULL", path or name, lineno)
        table.rows.append(dict(zip(names, vals, strict=True)))
        table.lines.append(lineno)
    return table


def load_table(path: str, name: str | None = None) -> Table:
    """Load one table file. Raises DBTextError (file:line) when it cannot be used."""
    try:
        with open(path, encoding="utf-8", errors="surrogateescape") as f:
            text = f.read()
    except OSError as e:
        raise DBTextError(f"cannot read table: {e.strerror}", path) from None
    return parse_table(text, name or os.path.basename(path), path)


class TextDB:
    """A db_text database (a directory of table files), from a ``text:///dir`` URL."""

    def __init__(self, directory: str) -> None:
        self.directory = directory

    def path(self, table: str) -> str:
        return os.path.join(self.directory, table)

    def table(self, name: str) -> Table:
        return load_table(self.path(name), name)

    def version(self, name: str) -> int | None:
        """The version recorded for table ``name`` in the ``version`` table; None if absent."""
        vt = self.table("version")
        for row in vt.rows:
            if row.get("table_name") == name:
                v = row.get("table_version")
                return int(v) if v is not None else None
        return None

    def check_version(self, name: str, *accepted: int) -> int:
        """db_check_table_version: the table must be listed in ``version`` with one of the accepted versions."""
        v = self.version(name)
        if v is None:
            raise DBTextError(f"table {name!r} is not listed in the version table", self.path("version"))
        if accepted and v not in accepted:
            want = " or ".join(str(a) for a in accepted)
            raise DBTextError(f"table {name!r} has version {v}, expected {want}", self.path("version"))
        return v


def open_db(url: str) -> TextDB:
    """``text:///abs/dir`` (or ``text://rel/dir``) -> TextDB. Other schemes raise DBTextError."""
    scheme, sep, rest = url.partition("://")
    if not sep or scheme.lower() not in ("text", "dbtext", "db_text"):
        raise DBTextError(f"unsupported db_url {url!r}: only text:///directory (db_text) is available")
    if not rest:
        raise DBTextError(f"db_url {url!r} has no directory")
    if not os.path.isdir(rest):
        raise DBTextError(f"db_text directory {rest!r} does not exist", rest)
    return TextDB(rest)


def parse_list_file(text: str, path: str = "") -> list[dict[str, Any]]:
    """The 1.x dispatcher ``list_file``: ``setid uri [flags [weight [attrs]]]`` per line, ``#`` comments.

    Rows come back in the shape of the dispatcher table (setid, destination, state, weight, attrs). A bad line
    fails the whole file, as 1.x ds_load_list does.
    """
    rows: list[dict[str, Any]] = []
    for lineno, raw in enumerate(text.split("\n"), start=1):
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        parts = line.split(None, 4)
        if not parts[0].isdigit():
            raise DBTextError(f"bad set id {parts[0]!r}", path, lineno)
        if len(parts) < 2:
            raise DBTextError("bad line (missing uri)", path, lineno)
        flags = weight = 0
        if len(parts) > 2:
            if not parts[2].isdigit():
                raise DBTextError(f"bad flags {parts[2]!r}", path, lineno)
            flags = int(parts[2])
        weight = 1
        if len(parts) > 3:
            if not parts[3].isdigit():
                raise DBTextError(f"bad weight {parts[3]!r}", path, lineno)
            weight = int(parts[3])
        state = 1 if flags & 1 else (2 if flags & 2 else 0)
        rows.append(
            {
                "setid": int(parts[0]),
                "destination": parts[1],
                "state": state,
                "weight": weight,
                "attrs": parts[4] if len(parts) > 4 else None,
                "priority": 0,
                "socket": None,
                "description": None,
                "_line": lineno,
            }
        )
    return rows
