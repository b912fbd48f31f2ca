"""mi_fifo: the MI over a named pipe (OpenSIPS 3.x: ``:reply_fifo:{json-rpc request}``; see pysips/mi/fifo.py).

Modparams: ``fifo_name`` (default /tmp/opensips_fifo), ``fifo_mode`` (0660; an octal-looking number such as 666 is
read as octal), ``reply_dir`` (/tmp/). The FIFO is created at start (a stale one is replaced) and removed at exit.
"""

from __future__ import annotations

from typing import Any

from pysips.errors import ConfigError, find_exception
from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "mi_fifo",
    doc="MI (JSON-RPC 2.0) over a FIFO file",
    functions=[],
    params=[
        ModParamSpec("fifo_name", STR, "/tmp/opensips_fifo"),
        ModParamSpec("fifo_mode", INT, 0),
        ModParamSpec("fifo_group", STR),
        ModParamSpec("fifo_user", STR),
        ModParamSpec("reply_dir", STR, "/tmp/"),
        ModParamSpec("reply_indent", STR),
        ModParamSpec("trace_destination", STR),
        ModParamSpec("trace_bwlist", STR),
        ModParamSpec("pretty_printing", INT),
    ],
)

DEFAULT_MODE = 0o660


def fifo_mode(value: Any) -> int:
    """OpenSIPS scripts write modes as octal digits (0666); the cfg reader gives an int of those digits."""
    if not value:
        return DEFAULT_MODE
    text = str(int(value))
    if all(c in "01234567" for c in text) and len(text) >= 3:
        return int(text, 8)
    return int(value) & 0o777


async def start_service(core: Any, program: Any, *, task_status: Any) -> None:
    import trio

    from pysips.mi import module_state
    from pysips.mi.fifo import FifoServer
    from pysips.mi.stats import install_counters

    params = (getattr(program, "modparams", None) or {}).get("mi_fifo", {})
    path = str(params.get("fifo_name") or "/tmp/opensips_fifo")
    server = FifoServer(
        core, path, str(params.get("reply_dir") or "/tmp/"), fifo_mode(params.get("fifo_mode"))
    )
    module_state(core, "mi_fifo", lambda: server)
    install_counters(core)
    try:
        async with trio.open_nursery() as nursery:
            await nursery.start(server.serve)
            core.log.info(f"mi_fifo listening on {path}", "mi_fifo")
            task_status.started(path)
    except BaseException as exc:  # with newer trio the error comes wrapped in an exception group
        e = find_exception(exc, OSError)
        if not isinstance(e, OSError):
            raise
        raise ConfigError(f"mi_fifo: cannot create FIFO {path}: {e.strerror or e}") from e
