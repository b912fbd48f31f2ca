"""db_text: the ``text:///directory`` database of OpenSIPS, read by pysips.db (tables in db_text files).

Modules that take a ``db_url`` (dispatcher, drouting) open it through :func:`pysips.db.open_db`; loading this
module only declares that the script uses db_text, as in OpenSIPS. Tables are read-only in pysips: nothing is
written back (``db_mode`` is accepted and ignored).
"""

from __future__ import annotations

from pysips.modules import INT, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "db_text",
    doc="db_text (text:///dir) tables for db_url users such as dispatcher and drouting; read-only",
    functions=[],
    params=[
        ModParamSpec("db_mode", INT, 0),
    ],
)
