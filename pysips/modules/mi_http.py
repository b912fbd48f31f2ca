"""mi_http: the MI over HTTP (OpenSIPS 3.x JSON-RPC 2.0; ``POST http://IP:PORT/<root>``, root "mi").

Replies as OpenSIPS: 200 with the JSON-RPC reply (errors included), 202 with no body for a notification, 405 for
any method but POST, 400 for an empty body. Needs the httpd module (OpenSIPS refuses to start without it).
"""

from __future__ import annotations

from typing import Any

from pysips.errors import ConfigError
from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "mi_http",
    doc="MI (JSON-RPC 2.0) over HTTP, served by httpd",
    functions=[],
    params=[
        ModParamSpec("mi_http_root", STR, "mi"),
        ModParamSpec("mi_http_method", INT, 0),
        ModParamSpec("trace_destination", STR),
        ModParamSpec("trace_bwlist", STR),
        ModParamSpec("root", STR, "mi"),
        ModParamSpec("pretty_printing", INT),
    ],
)


def root_of(params: dict) -> str:
    root = params.get("root") or "mi"
    if root == "mi" and params.get("mi_http_root"):
        root = params["mi_http_root"]  # 2.x mi_json/mi_http spelling
    return str(root).strip("/") or "mi"


def make_handler(core: Any, pretty: bool = False) -> Any:
    from pysips.mi import jsonrpc, registry_for
    from pysips.mi.httpserver import HTTPRequest, HTTPResponse

    async def handle(req: HTTPRequest) -> HTTPResponse:
        if req.method != "POST":
            return HTTPResponse(405, b"405 Method Not Allowed\n", headers=[("Allow", "POST")])
        if not req.body:
            return HTTPResponse(400, b"400 Bad Request\n")
        text = await jsonrpc.handle(registry_for(core), core, req.body, pretty)
        if text is None:
            return HTTPResponse(202, b"")
        return HTTPResponse(200, text.encode("utf-8"), "application/json")

    return handle


def httpd_roots(core: Any, program: Any) -> dict[str, Any]:
    params = (getattr(program, "modparams", None) or {}).get("mi_http", {})
    return {root_of(params): make_handler(core, bool(params.get("pretty_printing")))}


async def start_service(core: Any, program: Any, *, task_status: Any) -> None:
    from pysips.mi.stats import install_counters

    if "httpd" not in (getattr(program, "modules", None) or []):
        raise ConfigError('module "mi_http" needs module "httpd" (add loadmodule "httpd.so")')
    install_counters(core)
    task_status.started()
