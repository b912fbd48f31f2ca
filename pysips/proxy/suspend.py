"""sleep() / usleep() that pause one request's script, not the server.

OpenSIPS runs a script in a worker process and ``sleep(5)`` blocks that worker for 5 s. pysips runs every script
inside one event loop, where blocking would stall every call; instead a script that may sleep runs in its own
greenlet (``run_suspendable``). ``suspend`` parks that greenlet on a timer and hands control back to the event
loop; the timer switches back into it and the route goes on from the statement after the sleep, with the same
message and variables. Scripts that never call sleep()/usleep() run directly, as before (no greenlet, no cost).

While a request's script is parked, retransmissions of that request (no transaction exists yet to absorb them)
are dropped, as they would wait in the socket buffer of OpenSIPS's blocked worker; they are counted in
``core.stats["drop_requests"]``. The script's $var values are its own again when it resumes (in OpenSIPS no
other request runs in a sleeping worker).
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import greenlet

SLEEPING_FUNCTIONS = frozenset({"sleep", "usleep"})


class ScriptGreenlet(greenlet.greenlet):
    """The greenlet one script run lives in; ``key`` names its request while it runs."""

    def __init__(self, run: Callable[[], Any], core: Any, key: Any) -> None:
        super().__init__(self._main)
        self._body = run
        self.core = core
        self.key = key

    def _main(self) -> None:
        core = self.core
        try:
            self._body()
        except Exception as e:  # a script error is logged by the body; anything else must not reach the loop
            core.log.error(f"script run failed: {type(e).__name__}: {e}")
        finally:
            if self.key is not None:
                core.running_scripts.pop(self.key, None)


def run_suspendable(core: Any, run: Callable[[], Any], key: Any = None) -> None:
    """Run `run()` in a greenlet of its own; returns when it ends or first sleeps."""
    g = ScriptGreenlet(run, core, key)
    if key is not None:
        core.running_scripts[key] = g
    g.switch()


def suspend(core: Any, seconds: float) -> bool:
    """Park the current script for `seconds` and give the event loop back; False when not inside a script
    greenlet (the caller decides what sleeping means there)."""
    g = greenlet.getcurrent()
    if not isinstance(g, ScriptGreenlet):
        return False
    # $var is per process in OpenSIPS and a sleeping worker runs nothing else: other requests served here meanwhile
    # must not leave their $var values in this script, so it gets its own back when it resumes
    own_vars = dict(core.vars)
    core.timers.schedule_in(max(0.0, seconds), lambda _now: g.switch())
    assert g.parent is not None
    g.parent.switch()
    core.vars.clear()
    core.vars.update(own_vars)
    return True
