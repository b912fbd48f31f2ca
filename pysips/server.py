"""``pysips run``: load and check the script, open its sockets, serve until SIGTERM."""

from __future__ import annotations

import errno
import functools
import gc
import os
import re
import signal
import sys
from typing import Any

import trio

from pysips.errors import ConfigError, find_exception
from pysips.proxy.log import Logger
from pysips.proxy.sockets import SocketSpec, parse_socket


def load_program(path: str, out: Any = None, refusing: str = "not starting") -> tuple[Any, Any] | None:
    """Parse and compile a script, printing every diagnostic as ``pysips check`` does.

    Returns (script, program), or None when the script has errors.
    """
    from pysips.script.compiler import compile_script
    from pysips.script.parser import parse_file

    out = out or sys.stderr
    try:
        script, errors = parse_file(path)
    except OSError as e:
        print(f"pysips: cannot read {path}: {e.strerror}", file=out)
        return None
    program = None
    if not any(e.severity == "error" for e in errors):
        program, cerrors = compile_script(script)
        errors = list(errors) + list(cerrors)
        from pysips.b2b.scenario_xml import load_script_scenarios

        scenarios, serrors = load_script_scenarios(script)
        errors += serrors
        if program is not None and hasattr(type(program), "b2b_scenarios"):
            # Program is a slotted dataclass: it keeps the scenarios only once it declares the field
            program.b2b_scenarios = scenarios
    for e in errors:
        print(e.format(), file=out)
    nerr = sum(1 for e in errors if e.severity == "error")
    if nerr:
        print(f"pysips: {path}: {nerr} error(s); {refusing}", file=out)
        return None
    return script, program


def global_params(script: Any) -> dict[str, list]:
    """name -> every value given (socket/listen repeat)."""
    out: dict[str, list] = {}
    for g in script.globals:
        out.setdefault(g.name, []).append(g.value)
    return out


def modparam(script: Any, module: str, name: str, default: Any = None) -> Any:
    """The last value of a modparam for `module` (OpenSIPS matches the module name as a regex)."""
    value = default
    for mp in script.modparams:
        if mp.param != name:
            continue
        try:
            if re.fullmatch(mp.module, module):
                value = mp.value
        except re.error:
            if mp.module == module:
                value = mp.value
    return value


def sockets_from(script: Any, listen_args: list[str]) -> list[SocketSpec]:
    g = global_params(script)
    default_port = int((g.get("port") or [5060])[-1])
    texts = listen_args or [str(v) for v in g.get("socket", []) + g.get("listen", [])]
    if not texts:
        texts = [f"udp:127.0.0.1:{default_port}"]
    return [parse_socket(t, default_port) for t in texts]


def _int(value: Any, default: int) -> int:
    try:
        return int(value)
    except (TypeError, ValueError):
        return default


def run_main(args: Any) -> int:
    loaded = load_program(args.cfg)
    if loaded is None:
        return 1
    script, program = loaded
    if args.check_only:
        print(f"pysips: {args.cfg}: configuration OK", file=sys.stderr)
        return 0
    g = global_params(script)
    log_level = _int((g.get("log_level") or g.get("debug") or [3])[-1], 3)
    if args.log_level is not None:
        log_level = args.log_level
    xlog_level = _int((g.get("xlog_level") or [log_level])[-1], log_level)
    syslog = False
    for key in ("stderror_enabled", "log_stderror"):
        if key in g and not _int(g[key][-1], 1):
            syslog = True
    logger = Logger(log_level, xlog_level, use_syslog=syslog)
    try:
        sockets = sockets_from(script, args.listen)
        if any(spec.proto == "tls" for spec in sockets):
            # certificates and keys are read once here, so a bad file refuses the start before any worker forks
            from pysips.modules.tls_mgm import tls_config

            tls_config(program)
    except ConfigError as e:
        print(f"pysips: {e}", file=sys.stderr)
        return 1
    settings = {
        "advertised_address": (g.get("advertised_address") or [None])[-1],
        "advertised_port": _int((g.get("advertised_port") or [0])[-1], 0) or None,
        "aliases": [str(a).split(":")[0] for a in g.get("alias", [])],
        "max_while_loops": _int((g.get("max_while_loops") or [10000])[-1], 10000),
        # OpenSIPS resolver globals (resolve.c defaults: NAPTR on, IPv6 off, DNS failover on)
        "dns": {
            "try_naptr": _yes(g.get("dns_try_naptr"), True),
            "try_ipv6": _yes(g.get("dns_try_ipv6"), False),
            "retr_time": max(1, _int((g.get("dns_retr_time") or [2])[-1], 2)),
            "retr_no": max(1, _int((g.get("dns_retr_no") or [2])[-1], 2)),
        },
        "disable_dns_failover": _yes(g.get("disable_dns_failover"), False),
    }
    # A busy server holds tens of thousands of small objects (transactions, dialogs) for tens of seconds: with the
    # default thresholds the cyclic GC rescans them all many times a second. Everything loaded so far lives
    # forever (freeze), and young collections run ~14x less often; reference counting still frees most garbage.
    # The middle generation stays small (10 young collections): with 50 it grew to ~1M live transaction objects
    # at 1000 calls/s and each of its collections paused the server ~1 s (SIPp retransmitted); now ~25 ms.
    gc.collect()
    gc.freeze()
    gc.set_threshold(10_000, 10, 100)
    nworkers = _worker_count(g, program, getattr(args, "workers", None), logger)
    if nworkers > 1:
        from pysips.proxy.workers import Supervisor

        def child_main(workers: Any, specs: list[SocketSpec], ready_fd: int) -> int:
            return _serve_main(script, program, specs, logger, settings, workers, ready_fd)

        return Supervisor(nworkers, sockets, logger, child_main).run()
    return _serve_main(script, program, sockets, logger, settings)


def _worker_count(g: dict, program: Any, override: int | None, logger: Logger) -> int:
    from pysips.proxy.workers import configured_workers, unsafe_modules

    n = configured_workers(g, override)
    if n > 1:
        unsafe = unsafe_modules(program)
        if unsafe:
            logger.warn(
                f"{n} workers asked for, running 1: module(s) {', '.join(unsafe)} keep per-process state that "
                "workers do not share yet"
            )
            return 1
    return n


def _serve_main(
    script: Any,
    program: Any,
    sockets: list[SocketSpec],
    logger: Logger,
    settings: dict,
    workers: Any = None,
    ready_fd: int | None = None,
) -> int:
    try:
        code = trio.run(serve, script, program, sockets, logger, settings, workers, ready_fd)
        # the interpreter's final collection would walk every object still in the heap (seconds after a busy
        # run, past the 5 s a SIGTERM may take): nothing here needs finalizers, so leave them to the OS
        gc.freeze()
        return code
    except (KeyboardInterrupt, BaseExceptionGroup, ConfigError) as exc:
        # trio >= 0.25 hands back what a nursery's body raised inside an exception group
        config = find_exception(exc, ConfigError)
        if config is not None:
            print(f"pysips: {config}", file=sys.stderr)
            return 1
        if find_exception(exc, KeyboardInterrupt) is not None:
            return 0
        raise


async def serve(
    script: Any,
    program: Any,
    sockets: list[SocketSpec],
    logger: Logger,
    settings: dict,
    workers: Any = None,
    ready_fd: int | None = None,
) -> int:
    """Serve until SIGTERM. `workers` (pysips.proxy.workers.Workers) when this process is one of several: the
    sockets join a SO_REUSEPORT group, datagrams pass through ``workers.on_datagram``, and once-only work
    (startup_route, timer_route, MI listeners) runs in worker 0 only. `ready_fd` gets a byte instead of the
    "pysips ready" line (the supervisor prints it when every worker is bound)."""
    from pysips.net import TCPTransport, TimerHeap, UDPTransport
    from pysips.proxy.core import Core
    from pysips.proxy.env import ProxyEnv
    from pysips.proxy.tm import TM

    core = Core(program, sockets, logger, settings)
    timers = TimerHeap()
    core.timers = timers
    core.tm = TM(core, timers, script)
    core.env = ProxyEnv(core, script)
    if hasattr(program, "configure_env"):
        program.configure_env(core.env)
    udp_cls, tcp_cls, on_udp = UDPTransport, TCPTransport, core.on_message
    first = True  # the process that runs once-only work
    if workers is not None:
        from pysips.proxy.workers import ReusePortTCPTransport, ReusePortUDPTransport

        workers.attach(core)
        udp_cls, tcp_cls, on_udp = ReusePortUDPTransport, ReusePortTCPTransport, workers.on_datagram
        first = workers.id == 0
    tls = None
    if any(spec.proto == "tls" for spec in sockets):
        from pysips.modules.tls_mgm import tls_config

        tls = tls_config(program)  # ConfigError (no tls_mgm / proto_tls, bad files) refuses the start
    async with trio.open_nursery() as nursery:
        await nursery.start(timers.serve)
        for spec in sockets:
            udp = spec.proto == "udp"
            # a TCP / TLS connect that fails after a send was queued fails the waiting tm branches at once
            on_send_error = functools.partial(_send_failed, core, spec.proto)
            if udp:
                transport = udp_cls(spec.host, spec.port)
            elif spec.proto == "tls":
                from pysips.net import TLSTransport

                server_ctx, client_ctx = tls.contexts(spec.host, spec.port)
                transport = TLSTransport(
                    spec.host,
                    spec.port,
                    server_ctx=server_ctx,
                    client_ctx=client_ctx,
                    handshake_timeout=tls.handshake_timeout,
                    reuse_port=workers is not None,
                    on_send_error=on_send_error,
                )
            else:
                transport = tcp_cls(spec.host, spec.port, on_send_error=on_send_error)
            try:
                await nursery.start(transport.serve, on_udp if udp else core.on_message)
            except OSError as e:
                what = "address already in use" if e.errno == errno.EADDRINUSE else e.strerror
                raise ConfigError(f"cannot listen on {spec}: {what}") from e
            core.add_transport(spec, transport)
            logger.info(f"listening on {transport.proto}:{transport.local[0]}:{transport.local[1]}")
        if workers is not None:
            await nursery.start(workers.serve_channel)
        core.tm.start(nursery)
        if first:
            await start_module_services(nursery, script, core, program)
            restarted = workers is not None and workers.restarted
            if program is not None and ("startup", None) in getattr(program, "routes", {}) and not restarted:
                core.env.run_route("startup", None)
            core.env.start_timer_routes(nursery)
        else:
            from pysips.proxy.workers import ONCE_SERVICES

            await start_module_services(nursery, script, core, program, skip=ONCE_SERVICES)
        if workers is not None and first:
            workers.install_mi(core)
        if ready_fd is None:
            print("pysips ready", file=sys.stderr, flush=True)
        else:
            os.write(ready_fd, b"R")
        with trio.open_signal_receiver(signal.SIGTERM, signal.SIGINT) as signals:
            async for _ in signals:
                logger.info("shutting down")
                await core.tm.drain(timeout=2.0)
                if workers is not None:
                    logger.info(workers.summary())
                nursery.cancel_scope.cancel()
                break
    return 0


def _yes(values: list | None, default: bool) -> bool:
    """A boolean global (``yes`` / ``no`` / ``on`` / ``off`` / 1 / 0), its last setting."""
    if not values:
        return default
    v = values[-1]
    if isinstance(v, str):
        return v.strip().lower() in ("yes", "on", "true", "1")
    return bool(v)


def _send_failed(core: Any, proto: str, addr: tuple, exc: BaseException) -> None:
    if core.tm is not None:
        core.tm.on_send_error(proto, addr)


async def start_module_services(
    nursery: Any, script: Any, core: Any, program: Any, skip: frozenset[str] | tuple = ()
) -> None:
    """Modules that run something beside SIP (MI over HTTP, dispatcher probing, the b2b engine...) define
    ``async def start_service(core, program, *, task_status)`` in pysips/modules/<name>.py; it is started here for
    every loaded module, in loadmodule order, and must call task_status.started() once it is ready."""
    import importlib

    seen = set()
    for lm in script.loadmodules:
        if lm.name in seen or lm.name in skip:
            continue
        seen.add(lm.name)
        try:
            mod = importlib.import_module(f"pysips.modules.{lm.name}")
        except ImportError:
            continue
        start = getattr(mod, "start_service", None)
        if start is not None:
            await nursery.start(start, core, program)
