"""httpd: the embedded HTTP server other modules hang their pages on (mi_http at /mi, prometheus at /metrics).

Modparams as OpenSIPS 3.x: ``ip`` (pysips default 127.0.0.1; OpenSIPS binds every address when unset - use "*"
for that), ``port`` (8888), ``conn_timeout`` (idle keep-alive seconds), ``post_buf_size`` (pysips: the largest
request body accepted, in bytes; at least 64 KiB). ``socket`` (pysips extra) gives both as ``[http:]IP:PORT``.

A loaded module contributes URL roots by defining ``httpd_roots(core, program) -> {root: async handler}`` in
pysips/modules/<name>.py (handler: ``pysips.mi.httpserver.HTTPRequest -> HTTPResponse``). The running server is
``core.modules_state["httpd"]`` (its ``address`` is the bound (ip, port)).
"""

from __future__ import annotations

import errno
import importlib
from typing import Any

from pysips.errors import ConfigError, find_exception
from pysips.modules import INT, STR, ModParamSpec, ModuleSpec

MODULE = ModuleSpec.build(
    "httpd",
    doc="embedded HTTP server (pages of mi_http and prometheus)",
    functions=[],
    params=[
        ModParamSpec("port", INT, 8888),
        ModParamSpec("ip", STR),
        ModParamSpec("socket", STR),
        ModParamSpec("buf_size", INT),
        ModParamSpec("post_buf_size", INT),
        ModParamSpec("conn_timeout", INT, 30),
        ModParamSpec("receive_buf_size", INT),
        ModParamSpec("tls_cert_file", STR),
        ModParamSpec("tls_key_file", STR),
        ModParamSpec("tls_ciphers", STR, "SECURE256:+SECURE192:-VERS-ALL:+VERS-TLS1.2"),
    ],
)

DEFAULT_IP = "127.0.0.1"
MIN_BODY = 64 * 1024


def address(params: dict) -> tuple[str, int]:
    """(ip, port) the server binds, from resolved httpd modparams."""
    ip = params.get("ip") or DEFAULT_IP
    port = params.get("port")
    port = 8888 if port is None else int(port)
    sock = params.get("socket")
    if sock:
        text = str(sock)
        if text.lower().startswith("http:"):
            text = text[5:]
        host, sep, p = text.rpartition(":")
        if not sep or not p.isdigit():
            raise ConfigError(f'httpd: bad socket "{sock}" (expected [http:]IP:PORT)')
        ip, port = host.strip("[]") or DEFAULT_IP, int(p)
    return str(ip), port


def init(params: dict) -> None:
    address(params)


def collect_roots(core: Any, program: Any) -> dict[str, Any]:
    roots: dict[str, Any] = {}
    for name in getattr(program, "modules", None) or []:
        try:
            mod = importlib.import_module(f"pysips.modules.{name}")
        except ImportError:
            continue
        fn = getattr(mod, "httpd_roots", None)
        if fn is not None:
            roots.update(fn(core, program))
    return roots


async def start_service(core: Any, program: Any, *, task_status: Any) -> None:
    import trio

    from pysips.mi import module_state
    from pysips.mi.httpserver import HTTPServer

    params = (getattr(program, "modparams", None) or {}).get("httpd", {})
    ip, port = address(params)
    body = max(int(params.get("post_buf_size") or 0), 1 << 20, MIN_BODY)
    server = HTTPServer(
        ip, port, max_body=body, idle_timeout=float(params.get("conn_timeout") or 30), log=core.log
    )
    for root, handler in collect_roots(core, program).items():
        server.add_root(root, handler)
    module_state(core, "httpd", lambda: server)
    try:
        async with trio.open_nursery() as nursery:
            bound = await nursery.start(server.serve)
            core.log.info(
                f"httpd listening on {bound[0]}:{bound[1]} (roots: {', '.join(server.roots) or 'none'})",
                "httpd",
            )
            task_status.started(bound)
    except BaseException as exc:  # a bind error comes wrapped in an exception group with newer trio
        e = find_exception(exc, OSError)
        if not isinstance(e, OSError):
            raise
        what = "address already in use" if e.errno == errno.EADDRINUSE else e.strerror
        raise ConfigError(f"httpd: cannot listen on {ip}:{port}: {what}") from e
