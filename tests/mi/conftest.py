"""A stand-in for the running Core: only what MI commands read (stats, log, env, program, tm)."""

from __future__ import annotations

import time
from collections import Counter
from types import SimpleNamespace

import pytest


class FakeLog:
    def __init__(self) -> None:
        self.log_level = 3
        self.xlog_level = 3
        self.lines: list[tuple[str, str]] = []

    def error(self, text: str, module: str = "core") -> None:
        self.lines.append(("error", text))

    def warn(self, text: str, module: str = "core") -> None:
        self.lines.append(("warn", text))

    def info(self, text: str, module: str = "core") -> None:
        self.lines.append(("info", text))

    def debug(self, text: str, module: str = "core") -> None:
        self.lines.append(("debug", text))


class FakeCore:
    def __init__(self, modules: list[str] | None = None, script_path: str | None = None) -> None:
        self.stats: Counter[str] = Counter()
        self.started = time.time() - 42
        self.log = FakeLog()
        self.env = SimpleNamespace(log_level=3, default_log_level=3, xlog_level=3, default_xlog_level=3)
        self.program = SimpleNamespace(
            modules=list(modules or []), script=SimpleNamespace(path=script_path), routes={}, modparams={}
        )
        self.tm = None
        self.transports: list = []


@pytest.fixture
def core() -> FakeCore:
    return FakeCore(["tm", "sl"])
