"""Statistics with OpenSIPS names and groups, for get_statistics / list_statistics / reset_* and prometheus.

Groups and where their values come from:
  core:   rcv_requests, rcv_replies, fwd_requests, fwd_replies, drop_requests, drop_replies, err_requests,
          err_replies, bad_URIs_rcvd, unsupported_methods, bad_msg_hdr, slow_messages (``core.stats`` counters,
          resettable); timestamp (seconds since start, a function)
  shmem:  total_size, used_size, real_used_size, max_used_size, free_size, fragments - pysips has no shared memory
          pool; these report the process (RSS now, peak RSS, the memory limit or MemTotal)
  pkmem:  0-total_size ... 0-fragments - the same numbers for the single pysips process ("process 0")
  sl:     sent_replies (when sl is loaded; ``core.stats["sent_replies"]``)
  tm:     received_replies, relayed_replies, local_replies, UAS_transactions, UAC_transactions, 2xx..6xx_transactions
          (counted by tm callbacks installed by :func:`install_counters`, unless the tm engine counts them in
          ``core.stats`` under the same names), inuse_transactions (server transactions now, a gauge)
  <module>: any loaded module whose pysips/modules/<name>.py defines ``mi_stats(core) -> dict[str, int|float]``
          (gauges, group = the module name), e.g. dialog's active_dialogs.
  script groups: ``update_stat("[group:]name", n)`` of the statistics module (default group "script").
"""

from __future__ import annotations

import importlib
import os
import resource
import time
from collections import Counter
from collections.abc import Callable
from typing import Any

from pysips.mi import loaded_modules, module_state

CORE_COUNTERS = (
    "rcv_requests",
    "rcv_replies",
    "fwd_requests",
    "fwd_replies",
    "drop_requests",
    "drop_replies",
    "err_requests",
    "err_replies",
    "bad_URIs_rcvd",
    "unsupported_methods",
    "bad_msg_hdr",
    "slow_messages",
)
TM_COUNTERS = (
    "received_replies",
    "relayed_replies",
    "local_replies",
    "UAS_transactions",
    "UAC_transactions",
    "2xx_transactions",
    "3xx_transactions",
    "4xx_transactions",
    "5xx_transactions",
    "6xx_transactions",
)
MEM_NAMES = ("total_size", "used_size", "real_used_size", "max_used_size", "free_size", "fragments")


class Stat:
    """One statistic: a value getter, and a reset (None for functions / gauges: "non-incremental")."""

    __slots__ = ("get", "reset")

    def __init__(self, get: Callable[[], Any], reset: Callable[[], None] | None = None) -> None:
        self.get = get
        self.reset = reset

    @property
    def incremental(self) -> bool:
        return self.reset is not None


class StatsState:
    """Per-server statistics state (``core.modules_state["statistics"]``)."""

    def __init__(self) -> None:
        self.tm = Counter()  # tm counters kept by the callbacks
        self.script: dict[str, Counter] = {}  # group -> counters of update_stat()
        self.counters_installed = False
        self.declared = False


def state(core: Any) -> StatsState:
    return module_state(core, "statistics", StatsState)


# ------------------------------------------------------------------------------------------ tm counting


def install_counters(core: Any) -> None:
    """Count tm statistics with transaction callbacks (once per server). Cheap: a few dict increments per
    transaction, and nothing at all when no MI transport or prometheus is loaded."""
    st = state(core)
    tm = getattr(core, "tm", None)
    if st.counters_installed or tm is None or not hasattr(tm, "register"):
        return
    st.counters_installed = True
    c = st.tm

    def _mark(uas: Any) -> None:
        ext = uas.ext
        if ext is None:
            ext = uas.ext = {}
        if "mi_counted" not in ext:
            ext["mi_counted"] = True
            c["UAS_transactions"] += 1

    def request_out(uas: Any, branch: Any, out: Any, ctx: Any) -> None:
        if uas is not None:
            _mark(uas)

    def reply_in(branch: Any, resp: Any) -> None:
        c["received_replies"] += 1

    def reply_out(uas: Any, out: Any) -> None:
        _mark(uas)
        status = out.status
        c["local_replies" if uas.local_replied else "relayed_replies"] += 1
        if status >= 200:
            c[f"{status // 100}xx_transactions"] += 1

    tm.register("request_out", request_out)
    tm.register("reply_in", reply_in)
    tm.register("reply_out", reply_out)


# ------------------------------------------------------------------------------------------ memory


def _rss() -> int:
    try:
        with open("/proc/self/statm") as f:
            return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


def _peak() -> int:
    # ru_maxrss is sampled by the kernel less often than statm moves: never report a peak below the current RSS
    return max(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024, _rss())


def _total() -> int:
    soft, _ = resource.getrlimit(resource.RLIMIT_AS)
    if soft not in (resource.RLIM_INFINITY, -1) and soft > 0:
        return soft
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemTotal:"):
                    return int(line.split()[1]) * 1024
    except (OSError, ValueError):
        pass
    return 0


def _mem_group(prefix: str = "") -> dict[str, Stat]:
    return {
        prefix + "total_size": Stat(_total),
        prefix + "used_size": Stat(_rss),
        prefix + "real_used_size": Stat(_rss),
        prefix + "max_used_size": Stat(_peak),
        prefix + "free_size": Stat(lambda: max(_total() - _rss(), 0)),
        prefix + "fragments": Stat(lambda: 0),
    }


# ------------------------------------------------------------------------------------------ the catalogue


def _counter_stat(counter: Counter, name: str) -> Stat:
    def reset() -> None:
        counter[name] = 0

    return Stat(lambda: counter[name], reset)


def groups(core: Any) -> dict[str, dict[str, Stat]]:
    """Every statistic of this server: group -> name -> Stat (built per call: it is only used by MI requests)."""
    cs: Counter = getattr(core, "stats", None)
    if cs is None:
        cs = Counter()
    mods = loaded_modules(core)
    started = getattr(core, "started", time.time())
    out: dict[str, dict[str, Stat]] = {}
    core_g = {n: _counter_stat(cs, n) for n in CORE_COUNTERS}
    core_g["timestamp"] = Stat(lambda: int(time.time() - started))
    out["core"] = core_g
    out["shmem"] = _mem_group()
    out["pkmem"] = _mem_group("0-")
    if "sl" in mods:
        out["sl"] = {"sent_replies": _counter_stat(cs, "sent_replies")}
    tm = getattr(core, "tm", None)
    if "tm" in mods:
        st = state(core)
        tm_g = {n: _counter_stat(cs if n in cs else st.tm, n) for n in TM_COUNTERS}
        layer = getattr(tm, "layer", None)
        tm_g["inuse_transactions"] = Stat(lambda: layer.server_count if layer is not None else 0)
        out["tm"] = tm_g
    for m in mods:
        fn = _module_stats_fn(m)
        if fn is None:
            continue
        try:
            values = fn(core)
        except Exception as e:  # a module's statistics must never break get_statistics
            log = getattr(core, "log", None)
            if log is not None:
                log.error(f"statistics of module {m} failed: {type(e).__name__}: {e}", "mi")
            continue
        g = out.setdefault(m, {})
        for name, value in values.items():
            g[name] = Stat(lambda v=value: v)
    program = getattr(core, "program", None)
    declared = ((getattr(program, "modparams", None) or {}).get("statistics") or {}).get("variable")
    if declared and not state(core).declared:
        state(core).declared = True
        declare_script_stats(core, declared)
    for grp, counter in state(core).script.items():
        g = out.setdefault(grp, {})
        for name in counter:
            g[name] = _counter_stat(counter, name)
    return out


def _module_stats_fn(name: str) -> Callable | None:
    try:
        mod = importlib.import_module(f"pysips.modules.{name}")
    except ImportError:
        return None
    return getattr(mod, "mi_stats", None)


def find(core: Any, name: str, cat: dict[str, dict[str, Stat]] | None = None) -> list[tuple[str, str, Stat]]:
    """``all`` / ``group:`` / ``name`` / ``group:name`` -> [(group, name, stat)] (OpenSIPS get_stat lookup)."""
    cat = groups(core) if cat is None else cat
    if name == "all":
        return [(g, n, s) for g, stats in cat.items() for n, s in stats.items()]
    if len(name) > 1 and name.endswith(":"):
        g = name[:-1]
        return [(g, n, s) for n, s in cat.get(g, {}).items()]
    grp, sep, short = name.partition(":")
    if sep:
        s = cat.get(grp, {}).get(short)
        return [(grp, short, s)] if s is not None else []
    for g, stats in cat.items():
        s = stats.get(name)
        if s is not None:
            return [(g, name, s)]
    return []


def value(stat: Stat) -> int | float:
    v = stat.get()
    return v if isinstance(v, (int, float)) else 0


def _split(name: str) -> tuple[str, str]:
    grp, sep, short = name.partition(":")
    return (grp, short) if sep else ("script", name)


def update_script_stat(core: Any, name: str, delta: int) -> int:
    """statistics module update_stat(): ``[group:]name`` created on first use in group "script"."""
    grp, short = _split(name)
    counter = state(core).script.setdefault(grp, Counter())
    counter[short] += delta
    return counter[short]


def reset_script_stat(core: Any, name: str) -> bool:
    grp, short = _split(name)
    counter = state(core).script.get(grp)
    if counter is None or short not in counter:
        return False
    counter[short] = 0
    return True


def declare_script_stats(core: Any, declared: list) -> None:
    """modparam("statistics", "variable", "[group:]name[/no_reset]"): present (at 0) before any update_stat."""
    st = state(core)
    for item in declared or ():
        for one in str(item).split(";"):
            name = one.split("/", 1)[0].strip()
            if name:
                grp, short = _split(name)
                st.script.setdefault(grp, Counter()).setdefault(short, 0)
