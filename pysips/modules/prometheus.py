"""prometheus: statistics as a Prometheus text page on httpd (OpenSIPS 3.x modules/prometheus).

``GET http://IP:PORT/metrics`` (modparam ``root``). Only the statistics named by the ``statistics`` modparam are
exported (space-separated names, ``group:`` for a whole group, ``all`` for everything; the default exports
nothing, as OpenSIPS). Names are ``<prefix><delimiter><name>`` (``opensips_rcv_requests``); ``group_mode`` 1 puts
the group in the name (``opensips_core_rcv_requests``), 2 in a label (``{group="core"}``). Counters are typed
``counter``, functions and gauges ``gauge``. Characters Prometheus does not allow become ``_``.
"""

from __future__ import annotations

import re
from typing import Any

from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "prometheus",
    doc="statistics for Prometheus at GET /metrics (httpd)",
    functions=[],
    params=[
        ModParamSpec("root", STR, "metrics"),
        ModParamSpec("prefix", STR, "opensips"),
        ModParamSpec("delimiter", STR, "_"),
        ModParamSpec("group_prefix", STR, ""),
        ModParamSpec("group_label", STR, "group"),
        ModParamSpec("group_mode", INT, 0),
        ModParamSpec("statistics", STR, None, repeatable=True),
        ModParamSpec("labels", STR, None, repeatable=True),
        ModParamSpec("script_route", STR),
    ],
)

_BAD = re.compile(r"[^a-zA-Z0-9_:]")


def init(params: dict) -> None:
    mode = params.get("group_mode") or 0
    if mode not in (0, 1, 2):
        raise ValueError(f"invalid group_mode {mode} (0, 1 or 2)")


def _fmt(v: Any) -> str:
    if isinstance(v, float) and not v.is_integer():
        return repr(v)
    return str(int(v))


def render(core: Any, params: dict) -> str:
    """The page: every configured statistic, in configuration order, each metric TYPE'd once."""
    from pysips.mi import stats as S

    wanted: list[str] = []
    for item in params.get("statistics") or []:
        wanted += str(item).split()
    prefix = str(params.get("prefix") if params.get("prefix") is not None else "opensips")
    delim = str(params.get("delimiter") if params.get("delimiter") is not None else "_")
    gprefix = str(params.get("group_prefix") or "")
    glabel = str(params.get("group_label") or "group")
    mode = int(params.get("group_mode") or 0)
    cat = S.groups(core)
    seen: set[tuple[str, str]] = set()
    typed: set[str] = set()
    lines: list[str] = []
    for name in wanted:
        for grp, stat_name, stat in S.find(core, name, cat):
            if (grp, stat_name) in seen:
                continue
            seen.add((grp, stat_name))
            head = prefix + delim if (prefix or delim) else ""
            if not prefix and not delim and stat_name[:1].isdigit():
                head = "_"
            if mode == 1:
                head += gprefix + grp + delim
            metric = head + _BAD.sub("_", stat_name)
            if metric not in typed:
                typed.add(metric)
                lines.append(f"# TYPE {metric} {'counter' if stat.incremental else 'gauge'}")
            labels = f'{{{glabel}="{gprefix}{grp}"}}' if mode == 2 else ""
            lines.append(f"{metric}{labels} {_fmt(S.value(stat))}")
    return "\n".join(lines) + ("\n" if lines else "")


def httpd_roots(core: Any, program: Any) -> dict[str, Any]:
    from pysips.mi.httpserver import HTTPRequest, HTTPResponse

    params = (getattr(program, "modparams", None) or {}).get("prometheus", {})
    root = str(params.get("root") or "metrics").strip("/")

    async def handle(req: HTTPRequest) -> HTTPResponse:
        if req.method not in ("GET", "HEAD", "POST"):
            return HTTPResponse(405, b"405 Method Not Allowed\n")
        body = render(core, params).encode("utf-8")
        return HTTPResponse(200, body, "text/plain; version=0.0.4; charset=utf-8")

    return {root: handle}


async def start_service(core: Any, program: Any, *, task_status: Any) -> None:
    from pysips.errors import ConfigError
    from pysips.mi.stats import install_counters

    if "httpd" not in (getattr(program, "modules", None) or []):
        raise ConfigError('module "prometheus" needs module "httpd" (add loadmodule "httpd.so")')
    install_counters(core)
    task_status.started()
