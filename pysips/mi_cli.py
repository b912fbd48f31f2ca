"""``pysips mi CMD [ARG | name=value ...]``: run one MI command on a running pysips (or OpenSIPS 3.x).

Arguments are positional, or all ``name=value`` (named params), as with ``opensips-cli -x mi``. Commands that take
an array (get_statistics, reset_statistics, b2b_trigger_scenario's context...) get the trailing words as one array.
Transport: HTTP (``--url``, else the httpd address and mi_http root of the script given with ``-f``, else
http://127.0.0.1:8888/mi), or the FIFO with ``--fifo PATH`` (``-f`` of a script that loads mi_fifo but not
mi_http also selects its fifo_name). The result is printed as indented JSON; a JSON-RPC error is printed on stderr
and the exit status is 1 (2 when the server cannot be reached or the arguments are wrong).
"""

from __future__ import annotations

import json
import re
import sys
from typing import Any

_NAMED = re.compile(r"([A-Za-z._-][A-Za-z0-9._-]*)=(.*)", re.S)

DEFAULT_URL = "http://127.0.0.1:8888/mi"


def add_mi_parser(subparsers: Any) -> Any:
    p = subparsers.add_parser(
        "mi",
        help="run a management (MI) command on a running pysips",
        description=__doc__,
    )
    p.add_argument("mi_command", metavar="CMD", help="MI command (uptime, get_statistics, ds_list, ...)")
    p.add_argument("mi_args", nargs="*", metavar="ARG", help="positional arguments, or name=value pairs")
    where = p.add_mutually_exclusive_group()
    where.add_argument("--url", help=f"mi_http URL (default: from -f, else {DEFAULT_URL})")
    where.add_argument("--fifo", metavar="PATH", help="use the mi_fifo FIFO at PATH instead of HTTP")
    p.add_argument(
        "-f", "--config", metavar="CFG", help="script of the running server: httpd/mi_http/mi_fifo params"
    )
    p.add_argument("--reply-dir", default="/tmp", help="where the FIFO reply pipe is created (default /tmp)")
    p.add_argument("--timeout", type=float, default=10.0, help="seconds to wait for the answer (default 10)")
    p.add_argument(
        "-j", "--json-args", action="store_true", help="decode each argument as JSON when it parses"
    )
    p.set_defaults(func=mi_main)
    return p


def build_params(command: str, words: list[str], json_args: bool = False) -> Any:
    """opensips-cli's rules: all ``name=value`` -> object; else a positional array, the trailing words grouped
    into one array for the commands whose last parameter is an array."""
    from pysips.mi.recipes import ARRAY_PARAMS

    if not words:
        return None
    matches = [_NAMED.fullmatch(w) for w in words]
    if all(matches):
        named: dict[str, Any] = {}
        for m in matches:
            name, value = m.group(1), m.group(2)
            arr = ARRAY_PARAMS.get(command)
            if arr is not None and arr[1] == name and not json_args:
                named[name] = value.split()
            else:
                named[name] = _maybe_json(value) if json_args else value
        return named
    values: list[Any] = [_maybe_json(w) for w in words] if json_args else list(words)
    arr = ARRAY_PARAMS.get(command)
    if arr is None or json_args:
        return values
    idx = arr[0]
    out = values[:idx]
    if values[idx:]:
        out.append(values[idx:])
    return out


def _maybe_json(text: str) -> Any:
    try:
        return json.loads(text)
    except ValueError:
        return text


def endpoint_from_cfg(path: str) -> tuple[str, str]:
    """("http", url) or ("fifo", path) for the server running `path`."""
    from pysips.script.parser import parse_file
    from pysips.server import modparam

    script, errors = parse_file(path)
    modules = [lm.name for lm in script.loadmodules]
    if "mi_http" in modules or "mi_fifo" not in modules:
        from pysips.modules.httpd import address
        from pysips.modules.mi_http import root_of

        params = {n: modparam(script, "httpd", n) for n in ("ip", "port", "socket")}
        ip, port = address({k: v for k, v in params.items() if v is not None})
        if ip in ("*", "0.0.0.0", ""):
            ip = "127.0.0.1"
        host = f"[{ip}]" if ":" in ip else ip
        root = root_of({n: modparam(script, "mi_http", n) for n in ("root", "mi_http_root")})
        return "http", f"http://{host}:{port}/{root}"
    return "fifo", str(modparam(script, "mi_fifo", "fifo_name", "/tmp/opensips_fifo"))


def mi_main(args: Any) -> int:
    from pysips.mi.client import MIClientError, fifo_call, http_call

    params = build_params(args.mi_command, list(args.mi_args), args.json_args)
    kind, where = "http", args.url or DEFAULT_URL
    if args.fifo:
        kind, where = "fifo", args.fifo
    elif not args.url and args.config:
        try:
            kind, where = endpoint_from_cfg(args.config)
        except OSError as e:
            print(f"pysips mi: cannot read {args.config}: {e.strerror}", file=sys.stderr)
            return 2
        except Exception as e:  # a broken script still names its modparams; say why we could not use it
            print(f"pysips mi: cannot use {args.config}: {e}", file=sys.stderr)
            return 2
    try:
        if kind == "fifo":
            reply = fifo_call(where, args.mi_command, params, args.reply_dir, args.timeout)
        else:
            reply = http_call(where, args.mi_command, params, args.timeout)
    except MIClientError as e:
        print(f"pysips mi: {e}", file=sys.stderr)
        return 2
    if "error" in reply:
        err = reply["error"] or {}
        data = err.get("data")
        extra = f" ({data})" if data else ""
        print(
            f"pysips mi: {args.mi_command}: error {err.get('code')}: {err.get('message')}{extra}",
            file=sys.stderr,
        )
        return 1
    print(json.dumps(reply.get("result"), indent=4, ensure_ascii=False))
    return 0


def main(argv: list[str] | None = None) -> int:
    """``python -m pysips.mi_cli ...``: the same as ``pysips mi ...`` without the top-level CLI."""
    import argparse

    parser = argparse.ArgumentParser(prog="pysips")
    sub = parser.add_subparsers(dest="command")
    add_mi_parser(sub)
    try:
        args = parser.parse_args(["mi", *(sys.argv[1:] if argv is None else argv)])
    except SystemExit as e:
        return int(e.code or 0)
    return mi_main(args)


if __name__ == "__main__":
    sys.exit(main())
