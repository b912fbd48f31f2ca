"""``python -m pysips.b2b.devrun run CFG``: ``pysips run`` with the B2BUA engine attached.

A stand-in until ``pysips.server.serve`` creates the engine itself (``core.b2b = B2BEngine(core, script)`` when
the script loads b2b_logic). It wraps ``TM.start`` (called once by ``serve`` after the sockets are bound and
``core.env`` exists) to attach the engine, then runs the normal CLI. Once ``serve`` does this, it is a no-op.
"""

from __future__ import annotations

import sys
from typing import Any

from pysips.b2b.engine import B2BEngine
from pysips.proxy import tm as tm_module


def uses_b2b(script: Any) -> bool:
    return any(m.name in ("b2b_logic", "b2b_entities") for m in getattr(script, "loadmodules", ()))


def install() -> None:
    orig = tm_module.TM.start
    if getattr(orig, "_b2b_wrapped", False):
        return

    def start(self: Any, nursery: Any) -> None:
        orig(self, nursery)
        core = self.core
        script = getattr(core.env, "script", None)
        if core.b2b is None and script is not None and uses_b2b(script):
            core.b2b = B2BEngine(core, script)
            core.b2b.start(nursery)

    start._b2b_wrapped = True  # type: ignore[attr-defined]
    tm_module.TM.start = start  # type: ignore[method-assign]


def main(argv: list[str] | None = None) -> int:
    from pysips.cli import main as cli_main

    install()
    return cli_main(argv if argv is not None else sys.argv[1:])


if __name__ == "__main__":
    raise SystemExit(main())
