"""Start the sippy B2BUA (PyPI ``sippy``) as a benchmark peer; run with the interpreter of a venv holding sippy.

    python sippy_b2bua.py --port 5070 --route 127.0.0.1:5080 --workdir /tmp/x [--listen 127.0.0.1] [--workers 1]

Every call goes to the static route, with RADIUS authentication and accounting off, in the foreground, with the
command socket and pid file under --workdir. sippy's UDP server defaults to several receiver threads sharing one
socket; --workers 1 (the default) keeps one, so replies to one transaction leave in the order they were made (SIPp
aborts a call whose 100 Trying arrives after the 200 OK). Prints "sippy ready" on stderr once the event loop runs,
i.e. after the SIP socket is bound.
"""

from __future__ import annotations

import argparse
import os
import sys


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--listen", default="127.0.0.1")
    ap.add_argument("--port", type=int, required=True)
    ap.add_argument("--route", required=True, help="host:port every call is sent to")
    ap.add_argument("--workdir", required=True)
    ap.add_argument("--workers", type=int, default=1, help="UDP receiver threads")
    args = ap.parse_args(argv)

    # sippy reads its log level from the environment when its loggers are made; keep per-call logging off so the
    # comparison with pysips (log_level=1) is about SIP work, not log writes
    os.environ.setdefault("SIPLOG_LVL", "ERR")
    os.environ.setdefault("SIPLOG_BEND", "stderr")

    from sippy import b2bua
    from sippy.Time.Timeout import Timeout
    from sippy.Udp_server import Udp_server_opts

    Udp_server_opts.nworkers = args.workers
    sys.argv = [
        "b2bua",
        "-f",  # foreground: no fork, no log-file redirection
        "-l", args.listen,
        "-p", str(args.port),
        "-s", args.route,
        "-u",  # no RADIUS authentication
        "-A", "0",  # no accounting
        "-c", os.path.join(args.workdir, f"b2bua_{args.port}.sock"),
        "-P", os.path.join(args.workdir, f"b2bua_{args.port}.pid"),
    ]  # fmt: skip
    # a zero-delay timer fires on the first turn of the event loop, which main_func enters after binding
    Timeout(lambda: print("sippy ready", file=sys.stderr, flush=True), 0.0)
    b2bua.main_func()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
