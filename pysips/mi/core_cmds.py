"""The core MI commands (OpenSIPS 3.6 mi/mi_core.c and statistics.c), with OpenSIPS's result shapes.

pysips is one process: ``ps`` lists its roles (attendant, SIP receivers, HTTPD, MI FIFO) under the same PID, and the
per-process forms of ``log_level`` accept only that PID.
"""

from __future__ import annotations

import io
import os
import platform
import signal
import sys
import threading
import time
from typing import Any

from pysips import __version__
from pysips.errors import MIError
from pysips.mi import (
    INVALID_PARAMS,
    mi_command,
    mi_error,
    param_array,
    param_int,
    param_str,
    registry_for,
)
from pysips.mi import stats as S

SERVER = f"pysips ({__version__} (python{platform.python_version()} {platform.machine()}/{sys.platform}))"


def _ctime(t: float) -> str:
    return time.ctime(t)


@mi_command(
    [()], "prints various time information about OpenSIPS - when it started to run, for how long it runs"
)
def mi_uptime(core: Any, params: dict) -> dict:
    now = time.time()
    started = getattr(core, "started", now)
    return {"Now": _ctime(now), "Up since": _ctime(started), "Up time": f"{int(now - started)} [sec]"}


@mi_command([(), ("revision",)], "prints the version string of a running OpenSIPS")
def mi_version(core: Any, params: dict) -> dict:
    out = {"Server": SERVER}
    if "revision" in params:
        out["Revision"] = __version__
    return out


@mi_command([()], "prints the working directory of OpenSIPS")
def mi_pwd(core: Any, params: dict) -> dict:
    return {"WD": os.getcwd()}


@mi_command([()], "returns the full list of arguments used at startup")
def mi_arg(core: Any, params: dict) -> list:
    return list(getattr(sys, "orig_argv", None) or sys.argv)


@mi_command([(), ("command",)], "lists all available MI commands")
def mi_which(core: Any, params: dict) -> list:
    reg = registry_for(core)
    name = param_str(params, "command", optional=True)
    if name is None:
        return reg.names()
    cmd = reg.lookup(name)
    if cmd is None:
        raise MIError("unknown MI command", 404)
    if cmd.recipes is None:
        return [[]]
    return [list(r) for r in cmd.recipes]


def _processes(core: Any) -> list[tuple[int, str]]:
    """(id, description) of every role the single pysips process plays, like OpenSIPS's process table."""
    procs = [(0, "attendant")]
    for t in getattr(core, "transports", ()) or ():
        try:
            local = t.local
            procs.append((len(procs), f"SIP receiver {t.proto}:{local[0]}:{local[1]}"))
        except (AttributeError, IndexError, TypeError):
            continue
    states = getattr(core, "modules_state", {}) or {}
    httpd = states.get("httpd")
    if httpd is not None and getattr(httpd, "address", None):
        procs.append((len(procs), "HTTPD {}:{}".format(*httpd.address)))
    if states.get("mi_fifo") is not None:
        procs.append((len(procs), "MI FIFO"))
    procs.append((len(procs), "time_keeper"))
    procs.append((len(procs), "timer"))
    return procs


@mi_command([()], "lists all processes used by OpenSIPS")
def mi_ps(core: Any, params: dict) -> dict:
    pid = os.getpid()
    return {"Processes": [{"ID": i, "PID": pid, "Type": desc} for i, desc in _processes(core)]}


@mi_command([()], "terminates OpenSIPS")
def mi_kill(core: Any, params: dict) -> str:
    # the server's signal receiver drains transactions and stops, as for `kill -TERM`; a little later, so that
    # this reply still goes out before the transports are cancelled
    timer = threading.Timer(0.2, os.kill, (os.getpid(), signal.SIGTERM))
    timer.daemon = True
    timer.start()
    return "OK"


def _log(core: Any) -> Any:
    return getattr(core, "log", None)


def _set_level(core: Any, level: int, kind: str) -> None:
    """kind "log_level" or "xlog_level": the logger's filter and the script Env's $log_level / $xlog_level."""
    log = _log(core)
    if log is not None:
        setattr(log, kind, level)
    env = getattr(core, "env", None)
    if env is not None:
        for attr in (kind, "default_" + kind):
            if hasattr(env, attr):
                setattr(env, attr, level)


@mi_command([(), ("level",), ("level", "pid")], "gets/sets the per process or global log level in OpenSIPS")
def mi_log_level(core: Any, params: dict) -> dict:
    log = _log(core)
    current = getattr(log, "log_level", 3)
    if "level" not in params:
        pid = os.getpid()
        return {"Processes": [{"PID": pid, "Log level": current, "Type": d} for _, d in _processes(core)]}
    level = param_int(params, "level")
    if "pid" in params:
        if param_int(params, "pid") != os.getpid():
            raise mi_error(INVALID_PARAMS, "Invalid params", "Bad PID")
        _set_level(core, level, "log_level")
        return {"Log level": level}
    _set_level(core, level, "log_level")
    return {"New global log level": level}


@mi_command([(), ("level",)], "gets/sets the per process or global xlog level in OpenSIPS")
def mi_xlog_level(core: Any, params: dict) -> dict:
    if "level" not in params:
        env = getattr(core, "env", None)
        level = getattr(env, "xlog_level", None)
        if level is None:
            level = getattr(_log(core), "xlog_level", 3)
        return {"xLog Level": level}
    level = param_int(params, "level")
    _set_level(core, level, "xlog_level")
    return {"New xLog level": level}


@mi_command([(), ("mi_cmd",)], "prints information about MI commands usage")
def mi_help(core: Any, params: dict) -> Any:
    name = param_str(params, "mi_cmd", optional=True)
    if name is None:
        return "Usage: help mi_cmd - returns information about 'mi_cmd'"
    cmd = registry_for(core).lookup(name)
    if cmd is None:
        raise MIError("unknown MI command", 404)
    out = {"Help": cmd.help or "not available for this command"}
    if cmd.module:
        out["Exported by"] = cmd.module
    return out


@mi_command([()], "list all ongoing TCP based connections")
def mi_list_tcp_conns(core: Any, params: dict) -> dict:
    conns = []
    for t in getattr(core, "transports", ()) or ():
        if getattr(t, "proto", "udp") == "udp":
            continue
        for i, peer in enumerate(getattr(t, "connections", {}) or {}):
            if isinstance(peer, tuple) and len(peer) >= 2:
                conns.append(
                    {
                        "ID": i,
                        "Type": t.proto,
                        "State": 0,
                        "Remote": f"{peer[0]}:{peer[1]}",
                        "Local": f"{t.local[0]}:{t.local[1]}",
                    }  # fmt: skip
                )
    return {"Connections": conns}


# ------------------------------------------------------------------------------------------ reload_routes


@mi_command([()], "triggers the script (routes only) reload")
def mi_reload_routes(core: Any, params: dict) -> str:
    """Re-read and compile the running script; on any error keep the old one and report the errors."""
    from pysips.server import load_program

    old = getattr(core, "program", None)
    script = getattr(old, "script", None)
    path = getattr(script, "path", None)
    if not path:
        raise MIError("reload failed", 500)
    out = io.StringIO()
    loaded = load_program(path, out=out, refusing="the running script is kept")
    log = _log(core)
    if loaded is None:
        details = out.getvalue().strip()
        if log is not None:
            log.error(f"reload_routes: {path} has errors; the running script is kept\n{details}", "mi")
        raise mi_error(500, "reload failed", details or None)
    _, program = loaded
    env = getattr(core, "env", None)
    if env is not None and hasattr(program, "configure_env"):
        program.configure_env(env)
    has_onreply = ("onreply", None) in getattr(program, "routes", {})
    # one assignment each: requests already inside the old routes finish with the old program
    core.program = program
    if hasattr(core, "has_onreply"):
        core.has_onreply = has_onreply
    tm = getattr(core, "tm", None)
    if tm is not None and hasattr(tm, "has_global_onreply"):
        tm.has_global_onreply = has_onreply
    core.mi_registry = None  # module list may differ; rebuilt on next request
    if log is not None:
        log.info(f"reload_routes: {path} reloaded", "mi")
    return "OK"


# ------------------------------------------------------------------------------------------ cache_*


def _cache(core: Any, system: str) -> Any:
    scheme, _, group = system.partition(":")
    if scheme == "local":
        from pysips.modules.cachedb_local import collection

        return collection(group or "")
    env = getattr(core, "env", None)
    fn = getattr(env, "cachedb", None)
    backend = fn(system) if fn is not None else None
    if backend is None:
        raise MIError(f"cachedb engine {system!r} is not available", 500)
    return backend


def _cache_params(params: dict) -> tuple[str, str]:
    system = param_str(params, "system")
    if not system:
        raise mi_error(INVALID_PARAMS, "Invalid params", "Empty memory cache id")
    attr = param_str(params, "attr")
    if not attr:
        raise mi_error(INVALID_PARAMS, "Invalid params", "Empty attribute name")
    return system, attr


@mi_command([("system", "attr", "value"), ("system", "attr", "value", "expire")],
            "stores in a cache system a string value")  # fmt: skip
def mi_cache_store(core: Any, params: dict) -> str:
    system, attr = _cache_params(params)
    value = param_str(params, "value")
    if not value:
        raise mi_error(INVALID_PARAMS, "Invalid params", "Empty value")
    expire = 0
    if "expire" in params:
        expire = param_int(params, "expire")
        if expire < 0:
            raise mi_error(INVALID_PARAMS, "Invalid params", "Negative expire value")
    try:
        ok = _cache(core, system).store(attr, value, expire)
    except MIError:
        raise
    except Exception as e:  # backend outage (redis down): OpenSIPS answers 500
        raise MIError("Cache store command failed", 500) from e
    if ok is False:
        raise MIError("Cache store command failed", 500)
    return "OK"


@mi_command([("system", "attr")], "queries for a cache stored value")
def mi_cache_fetch(core: Any, params: dict) -> dict:
    system, attr = _cache_params(params)
    try:
        value = _cache(core, system).fetch(attr)
    except MIError:
        raise
    except Exception as e:
        raise MIError("Cache fetch command failed", 500) from e
    if value is None or value == "":
        raise MIError("Value not found", 400)
    if isinstance(value, bytes):
        value = value.decode("utf-8", "replace")
    return {"key": attr, "value": str(value)}


@mi_command([("system", "attr")], "removes a record from the cache system")
def mi_cache_remove(core: Any, params: dict) -> str:
    system, attr = _cache_params(params)
    try:
        _cache(core, system).remove(attr)
    except MIError:
        raise
    except Exception as e:
        raise MIError("Cache remove command failed", 500) from e
    return "OK"


# ------------------------------------------------------------------------------------------ statistics


@mi_command([("statistics",)], "prints the statistics (all, group or one) realtime values.")
def mi_get_statistics(core: Any, params: dict) -> dict:
    names = param_array(params, "statistics")
    cat = S.groups(core)
    out: dict[str, Any] = {}
    found = False
    for name in names:
        hits = S.find(core, name, cat)
        if hits:
            found = True
        for g, n, s in hits:
            out[f"{g}:{n}"] = S.value(s)
    if not found:
        raise MIError("Statistics Not Found", 404)
    return out


@mi_command([(), ("statistics",)], "lists all the registered statistics and their types")
def mi_list_statistics(core: Any, params: dict) -> dict:
    cat = S.groups(core)
    names = param_array(params, "statistics", optional=True)
    hits = S.find(core, "all", cat) if names is None else [h for n in names for h in S.find(core, n, cat)]
    if names is not None and not hits:
        raise MIError("Statistics Not Found", 404)
    return {f"{g}:{n}": ("incremental" if s.incremental else "non-incremental") for g, n, s in hits}


@mi_command([("statistics",)], "resets the value of a statistic variable")
def mi_reset_statistics(core: Any, params: dict) -> str:
    found = False
    cat = S.groups(core)
    for name in param_array(params, "statistics"):
        if name == "all" or name.endswith(":"):
            continue  # OpenSIPS resets single statistics only
        for _, _, s in S.find(core, name, cat):
            found = True
            if s.reset is not None:
                s.reset()
    if not found:
        raise MIError("Statistics Not Found", 404)
    return "OK"


@mi_command([()], "resets the value of all resetable variables")
def mi_reset_all_statistics(core: Any, params: dict) -> str:
    for _, _, s in S.find(core, "all"):
        if s.reset is not None:
            s.reset()
    return "OK"


COMMANDS = {
    "uptime": mi_uptime,
    "version": mi_version,
    "pwd": mi_pwd,
    "arg": mi_arg,
    "which": mi_which,
    "ps": mi_ps,
    "kill": mi_kill,
    "log_level": mi_log_level,
    "xlog_level": mi_xlog_level,
    "reload_routes": mi_reload_routes,
    "help": mi_help,
    "list_tcp_conns": mi_list_tcp_conns,
    "cache_store": mi_cache_store,
    "cache_fetch": mi_cache_fetch,
    "cache_remove": mi_cache_remove,
    "get_statistics": mi_get_statistics,
    "list_statistics": mi_list_statistics,
    "reset_statistics": mi_reset_statistics,
    "reset_all_statistics": mi_reset_all_statistics,
}
