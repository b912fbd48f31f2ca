"""Helpers for end-to-end tests: free ports, a `pysips run` process, SIPp runs. Every process is bounded in time
and stopped by PID, even when the test fails."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

SIPP = shutil.which("sipp")
needs_sipp = pytest.mark.skipif(SIPP is None, reason="sipp (Debian package sip-tester) is not installed")


def free_port(proto: str = "udp", host: str = "127.0.0.1") -> int:
    """A port free for both UDP and TCP on host (the kernel picks it)."""
    for _ in range(50):
        kind = socket.SOCK_DGRAM if proto == "udp" else socket.SOCK_STREAM
        with socket.socket(socket.AF_INET, kind) as s:
            s.bind((host, 0))
            port = s.getsockname()[1]
        other = socket.SOCK_STREAM if kind == socket.SOCK_DGRAM else socket.SOCK_DGRAM
        try:
            with socket.socket(socket.AF_INET, other) as s2:
                s2.bind((host, port))
        except OSError:
            continue
        return port
    raise RuntimeError("no free port")


class PysipsProcess:
    """`python -m pysips run CFG` in a subprocess; waits until its sockets are bound."""

    def __init__(self, cfg: Path, *args: str, ready_timeout: float = 15.0) -> None:
        self.cfg = cfg
        self.args = args
        self.ready_timeout = ready_timeout
        self.proc: subprocess.Popen | None = None
        self.lines: list[str] = []
        self._ready = threading.Event()

    def start(self) -> PysipsProcess:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "pysips", "run", str(self.cfg), *self.args],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
            text=True,
            cwd=str(self.cfg.parent),
        )
        threading.Thread(target=self._reader, daemon=True).start()
        deadline = time.monotonic() + self.ready_timeout
        while not self._ready.wait(0.05):
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                raise RuntimeError("pysips did not start:\n" + self.output())
        return self

    def _reader(self) -> None:
        assert self.proc and self.proc.stderr
        for line in self.proc.stderr:
            self.lines.append(line)
            if "pysips ready" in line:
                self._ready.set()

    def output(self) -> str:
        return "".join(self.lines)

    def stop(self, timeout: float = 5.0) -> int | None:
        """SIGTERM, then SIGKILL after `timeout`; returns the exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(timeout)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(5)
        return self.proc.returncode

    def __enter__(self) -> PysipsProcess:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()


def run_sipp(args: list[str], cwd: Path, timeout: float = 60.0) -> subprocess.CompletedProcess:
    """Run SIPp to completion (bounded by `timeout`, then killed). Always -nostdin and a bounded -timeout."""
    assert SIPP
    cmd = [SIPP, *args, "-nostdin", "-timeout", f"{int(timeout)}s", "-timeout_error"]
    return subprocess.run(cmd, cwd=cwd, capture_output=True, text=True, timeout=timeout + 15)


class SippBackground:
    """A SIPp (usually uas) running in the background, killed by PID on exit."""

    def __init__(self, args: list[str], cwd: Path) -> None:
        assert SIPP
        self.cmd = [SIPP, *args, "-nostdin"]
        self.cwd = cwd
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> SippBackground:
        self.proc = subprocess.Popen(
            self.cmd, cwd=self.cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True
        )
        time.sleep(0.3)
        return self

    def __exit__(self, *exc: object) -> None:
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
