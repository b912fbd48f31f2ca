"""OpenSIPS log levels and the process logger (stderr by default, syslog when asked)."""

from __future__ import annotations

import logging
import os
import sys
import time

# OpenSIPS levels (dprint.h): L_ALERT -3, L_CRIT -2, L_ERR -1, L_WARN 1, L_NOTICE 2, L_INFO 3, L_DBG 4
LEVELS = {"L_ALERT": -3, "L_CRIT": -2, "L_ERR": -1, "L_WARN": 1, "L_NOTICE": 2, "L_INFO": 3, "L_DBG": 4}
NAMES = {-3: "ALERT", -2: "CRITICAL", -1: "ERROR", 0: "ERROR", 1: "WARNING", 2: "NOTICE", 3: "INFO", 4: "DBG"}


class Logger:
    """Writes ``Mon DD HH:MM:SS [pid] LEVEL:module: text`` lines when ``level <= log_level`` (OpenSIPS style)."""

    def __init__(self, log_level: int = 3, xlog_level: int | None = None, use_syslog: bool = False) -> None:
        self.log_level = log_level
        self.xlog_level = log_level if xlog_level is None else xlog_level
        self.pid = os.getpid()
        self.out = sys.stderr
        self._syslog = None
        if use_syslog:
            import logging.handlers

            self._syslog = logging.getLogger("pysips")
            self._syslog.addHandler(logging.handlers.SysLogHandler(address="/dev/log"))

    def log(self, level: int, text: str, module: str = "core") -> None:
        if level > self.log_level:
            return
        self._emit(level, f"{NAMES.get(level, 'INFO')}:{module}: {text}")

    def xlog(self, level: int, text: str) -> None:
        """xlog output: already formatted by the script, printed as is (OpenSIPS adds no newline)."""
        if level > self.xlog_level:
            return
        self._emit(level, text.rstrip("\n"), raw=True)

    def _emit(self, level: int, line: str, raw: bool = False) -> None:
        if self._syslog is not None:
            self._syslog.log(logging.ERROR if level < 0 else logging.INFO, line)
            return
        stamp = time.strftime("%b %d %H:%M:%S")
        self.out.write(f"{stamp} [{self.pid}] {line}\n")
        self.out.flush()

    def error(self, text: str, module: str = "core") -> None:
        self.log(-1, text, module)

    def warn(self, text: str, module: str = "core") -> None:
        self.log(1, text, module)

    def notice(self, text: str, module: str = "core") -> None:
        self.log(2, text, module)

    def info(self, text: str, module: str = "core") -> None:
        self.log(3, text, module)

    def debug(self, text: str, module: str = "core") -> None:
        self.log(4, text, module)
