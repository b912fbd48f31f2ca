"""``pysips simulate CFG --request FILE``: run the main request route on one SIP message, without network.

The request file is the message as it would arrive; written with plain LF line endings it is converted to CRLF
and its Content-Length fixed (see normalize_message). tests/script/requests/invite.txt is an example.

Prints what the script did: the return code, the script lines executed, the variables left set and the actions a
real server would have taken (replies, forwards/relays, header edits, b2b_init_request...), as recorded by the
default :class:`pysips.script.context.Env`. :func:`simulate` is the programmatic form used by the conformance tests.
"""

from __future__ import annotations

import json
import re
import sys
from collections import Counter
from typing import Any

from pysips.errors import PysipsError, SIPParseError
from pysips.script.interp import Program

DEFAULT_SOURCE = ("127.0.0.1", 5060)


def parse_source(text: str | None) -> tuple[str, int]:
    """``IP[:PORT]`` (IPv6 as ``[::1]:5060``) -> (ip, port)."""
    if not text:
        return DEFAULT_SOURCE
    text = text.strip()
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        return host, int(rest.lstrip(":") or 5060)
    if text.count(":") == 1:
        host, port = text.split(":")
        return host, int(port)
    return text, 5060


_CONTENT_LENGTH = re.compile(rb"^(content-length|l)[ \t]*:[ \t]*\d*[ \t]*$", re.I | re.M)


def normalize_message(data: bytes | str) -> bytes:
    """Accept a message file written by hand with LF line endings: header and body lines get CRLF (SDP wants
    them too) and Content-Length is set to the body's real length, so nobody has to count bytes. A file that
    already uses CRLF is taken verbatim (to simulate malformed messages on purpose)."""
    if isinstance(data, str):
        data = data.encode()
    if b"\r\n" in data:
        return data
    head, sep, body = data.partition(b"\n\n")
    if not sep:
        head, body = data.rstrip(b"\n"), b""
    body = body.replace(b"\n", b"\r\n")
    head = _CONTENT_LENGTH.sub(lambda m: m.group(1) + b": " + str(len(body)).encode(), head)
    return head.replace(b"\n", b"\r\n") + b"\r\n\r\n" + body


def _header_lines(msg: Any) -> list[str]:
    raw = msg.to_bytes().decode("utf-8", "replace")
    head = raw.split("\r\n\r\n", 1)[0]
    lines = head.split("\r\n")[1:]
    return [ln for ln in lines if ln and not ln.lower().startswith(("content-length:", "l:"))]


def _diff(before: list[str], after: list[str]) -> tuple[list[str], list[str]]:
    """Header lines added and removed, as multisets (a changed line shows as removed + added)."""
    remaining = Counter(before)
    added = []
    for ln in after:
        if remaining[ln] > 0:
            remaining[ln] -= 1
        else:
            added.append(ln)
    return added, [ln for ln in before if remaining[ln] > 0 and not remaining.subtract({ln: 1})]


def simulate(
    program: Program,
    msg_bytes: bytes | str,
    source: tuple[str, int] | str | None = None,
    *,
    vars: dict | None = None,
    env: Any = None,
) -> dict[str, Any]:
    """Run the main request route of ``program`` on one message; return what happened as plain data.

    Keys: rc, dropped, ruri, du, actions (recorded Env calls except logs), logs ([level, text]), headers_added,
    headers_removed, vars ($var), avps, trace ([file, line] per action executed), routes (route names entered in
    order), error (a runtime exception text, if the run aborted). ``ctx`` holds the Context for callers that want
    to read more (not JSON-serializable).
    """
    from pysips.script.context import Context, Env
    from pysips.sip.message import parse_message

    if isinstance(source, str) or source is None:
        source = parse_source(source)
    msg = parse_message(normalize_message(msg_bytes))
    before = _header_lines(msg)
    env = env if env is not None else Env()
    program.configure_env(env)
    start_vars = vars if vars is not None else dict(program.initial_vars)  # cfgutils varset
    ctx = Context(msg.copy(), src=source, env=env, vars=start_vars, shv=program.shv)
    trace: list = []
    ctx.trace = trace
    out: dict[str, Any] = {"rc": None, "error": None}
    try:
        out["rc"] = program.run("request", None, ctx)
    except PysipsError as e:
        out["error"] = str(e)
    after = _header_lines(ctx.msg)
    added, removed = _diff(before, after)
    actions = [a for a in env.actions if a.get("kind") != "log"]
    logs = [[a.get("level"), a.get("text")] for a in env.actions if a.get("kind") == "log"]
    ruri = None
    if getattr(ctx.msg, "is_request", False):
        ruri = str(ctx.msg.ruri)
    out.update(
        dropped=bool(getattr(ctx, "dropped", False)),
        ruri=ruri,
        du=ctx.du,
        actions=actions,
        logs=logs,
        headers_added=added,
        headers_removed=removed,
        vars=dict(ctx.vars),
        avps=ctx.avps.as_dict() if hasattr(ctx.avps, "as_dict") else {},
        trace=[[f, ln] for f, ln in trace],
        routes=_routes_entered(program, trace),
        ctx=ctx,
    )
    return out


def _routes_entered(program: Program, trace: list) -> list[str]:
    """Route labels in the order execution entered them (from the traced lines)."""
    spans = []
    script = program.script
    for rd in getattr(script, "routes", ()):
        spans.append((rd.pos.file or script.path, rd.pos.line, _end_line(rd), rd))
    out: list[str] = []
    from pysips.script.interp import route_label

    for f, ln in trace:
        best = None
        for file, start, end, rd in spans:
            if file == f and start <= ln <= end and (best is None or start >= best[1]):
                best = (file, start, end, rd)
        if best is not None:
            label = route_label(best[3].kind, best[3].name)
            if not out or out[-1] != label:
                out.append(label)
    return out


def _end_line(rd: Any) -> int:
    last = rd.pos.line

    def walk(node: Any) -> None:
        nonlocal last
        pos = getattr(node, "pos", None)
        if pos is not None and getattr(pos, "line", 0) > last:
            last = pos.line
        for s in getattr(type(node), "__slots__", ()):
            if s == "pos":
                continue
            v = getattr(node, s, None)
            if isinstance(v, tuple | list):
                for x in v:
                    walk(x)
            elif hasattr(v, "__slots__"):
                walk(v)

    walk(rd.body)
    return last


def _print_text(res: dict[str, Any], out: Any) -> None:
    w = out.write
    if res.get("error"):
        w(f"runtime error: {res['error']}\n")
    w(f"return code: {res['rc']}\n")
    if res["dropped"]:
        w("dropped: yes\n")
    w("routes: " + " -> ".join(res["routes"]) + "\n")
    groups: list[tuple[str, list[str]]] = []
    for f, ln in res["trace"]:
        if not groups or groups[-1][0] != f:
            groups.append((f, []))
        groups[-1][1].append(str(ln))
    w("lines: " + "; ".join(f"{f}: {' '.join(lns)}" for f, lns in groups) + "\n")
    w(f"$ru: {res['ruri']}\n$du: {res['du']}\n")
    for k, v in res["vars"].items():
        w(f"$var({k}) = {v!r}\n")
    for k, vals in res["avps"].items():
        w(f"$avp({k}) = {vals!r}\n")
    for lvl, text in res["logs"]:
        # xlog formats usually end with their own newline: one line per log entry here
        w(f"log[{lvl}]: {str(text).rstrip(chr(10))}\n")
    for a in res["actions"]:
        details = ", ".join(f"{k}={v!r}" for k, v in a.items() if k != "kind")
        w(f"action: {a.get('kind')}({details})\n")
    for h in res["headers_added"]:
        w(f"header added: {h}\n")
    for h in res["headers_removed"]:
        w(f"header removed: {h}\n")


def simulate_main(args: Any) -> int:
    """Entry point of ``pysips simulate``; returns the process exit code."""
    from pysips.script.compiler import compile_script
    from pysips.script.parser import parse_file

    script, errors = parse_file(args.cfg)
    if not any(e.severity == "error" for e in errors):
        program, cerrors = compile_script(script)
        errors = list(errors) + list(cerrors)
    else:
        program = None
    for e in errors:
        print(e.format(), file=sys.stderr)
    if program is None or any(e.severity == "error" for e in errors):
        return 1
    try:
        with open(args.request, "rb") as fh:
            data = fh.read()
    except OSError as e:
        print(f"cannot read {args.request}: {e}", file=sys.stderr)
        return 1
    try:
        source = parse_source(getattr(args, "source", None))
    except ValueError:
        print(f"bad --source {args.source!r}: expected IP:PORT", file=sys.stderr)
        return 1
    try:
        res = simulate(program, data, source)
    except SIPParseError as e:
        print(f"{args.request}: not a valid SIP message: {e}", file=sys.stderr)
        return 1
    res.pop("ctx", None)
    if getattr(args, "format", "text") == "json":
        json.dump(res, sys.stdout, indent=2, default=str)
        sys.stdout.write("\n")
    else:
        _print_text(res, sys.stdout)
    return 0 if res.get("error") is None else 1
