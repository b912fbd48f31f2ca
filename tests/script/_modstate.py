"""Module init hooks keep their settings in module globals: tests that compile arbitrary scripts (corpus files,
fuzzed mutants) put every module back to its defaults afterwards so later tests see a fresh load."""

from __future__ import annotations

from pysips import modules as M


def reset_module_settings() -> None:
    for name, spec in M.load_registry().items():
        hook = M.init_hook(name)
        if hook is not None:
            hook({p.name: ([] if p.repeatable else p.default) for p in spec.params.values()})
