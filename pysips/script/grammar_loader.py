"""Build the Lark parser for grammar/opensips.lark once per process.

The grammar ships inside the package (``pysips/grammar`` is a symlink to the top-level ``grammar/`` directory and
the wheel carries ``grammar/*.lark``), so it is read with importlib.resources. Building the LALR tables costs
~0.3 s; lark's cache (a pickle in the temp directory, keyed by the grammar's hash) makes later cold starts cheap.
"""

from __future__ import annotations

import functools
import importlib.resources

from lark import Lark

GRAMMAR_RESOURCE = "grammar/opensips.lark"


def grammar_text() -> str:
    return importlib.resources.files("pysips").joinpath(GRAMMAR_RESOURCE).read_text(encoding="utf-8")


@functools.cache
def get_lark() -> Lark:
    """The shared parser (LALR, contextual lexer, positions kept for error reporting)."""
    options = dict(
        parser="lalr",
        lexer="contextual",
        propagate_positions=True,
        maybe_placeholders=True,
    )
    try:
        return Lark(grammar_text(), cache=True, **options)
    except OSError:
        # an unwritable temp directory only costs speed
        return Lark(grammar_text(), **options)
