"""Provisioning data for routing modules: the OpenSIPS db_text format and a small table API.

``open_db("text:///dir")`` returns a :class:`~pysips.db.dbtext.TextDB`; ``db.table(name)`` loads one table file
(rows as dicts keyed by column name, NULL = None). Errors are :class:`~pysips.db.dbtext.DBTextError` and carry the
file and line, so a module can report them and keep its previous data (OpenSIPS drops a failed reload).
"""

from __future__ import annotations

from pysips.db.dbtext import (
    Column,
    DBTextError,
    Table,
    TextDB,
    load_table,
    open_db,
    parse_table,
)

__all__ = ["Column", "DBTextError", "Table", "TextDB", "load_table", "open_db", "parse_table"]
