"""Command line: ``pysips run | check | simulate | mi``."""

from __future__ import annotations

import argparse
import sys

from pysips import __version__

DESCRIPTION = """\
pysips runs OpenSIPS routing scripts (opensips.cfg) in Python.

  pysips run CFG          serve SIP with the script (until SIGTERM)
  pysips check CFG...     lint scripts: file:line:col errors, exit 1 on errors
  pysips simulate CFG     run the request route on one SIP message, no network
  pysips mi CMD [ARGS]    run a management (MI) command on a running pysips
"""


def build_parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="pysips", description=DESCRIPTION, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--version", action="version", version=f"pysips {__version__}")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    run = sub.add_parser("run", help="serve SIP driven by a routing script")
    run.add_argument("cfg", help="the routing script (opensips.cfg)")
    run.add_argument(
        "--listen",
        action="append",
        default=[],
        metavar="PROTO:IP:PORT",
        help="socket to listen on (repeatable); overrides the script's socket=/listen= lines",
    )
    run.add_argument(
        "--check-only", "-C", action="store_true", help="check the script and exit, like opensips -C"
    )
    run.add_argument("--log-level", type=int, default=None, help="override the script's log_level")
    run.add_argument(
        "--workers",
        type=int,
        default=None,
        metavar="N",
        help="worker processes (overrides udp_workers= / children=)",
    )

    check = sub.add_parser("check", help="lint routing scripts")
    check.add_argument("files", nargs="*", metavar="FILE")
    check.add_argument("--format", choices=["text", "json"], default="text")
    check.add_argument("--opensips-version", choices=["1", "2", "3"], default=None, help="syntax generation")
    check.add_argument("--list-functions", action="store_true", help="list the functions pysips implements")

    sim = sub.add_parser("simulate", help="run the request route on one SIP message without network")
    sim.add_argument("cfg")
    sim.add_argument("--request", required=True, metavar="FILE", help="file holding the SIP request")
    sim.add_argument("--source", default="127.0.0.1:5060", metavar="IP:PORT")
    sim.add_argument("--format", choices=["text", "json"], default="text")
    from pysips.mi_cli import add_mi_parser

    add_mi_parser(sub)
    return p


def main(argv: list[str] | None = None) -> int:
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as e:
        return int(e.code or 0)
    if args.command is None:
        parser.print_help()
        return 2
    if args.command == "run":
        from pysips.server import run_main

        return run_main(args)
    if args.command == "check":
        from pysips.script.check import check_main

        return check_main(args)
    if args.command == "simulate":
        from pysips.script.simulate import simulate_main

        return simulate_main(args)
    if args.command == "mi":
        from pysips.mi_cli import mi_main

        return mi_main(args)
    parser.print_help(sys.stderr)
    return 2
