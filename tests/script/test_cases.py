"""Conformance suite: every case in tests/script/cases/*.json is one test (id = file:name).

A case is data: {"name", "script", "routes"?, "globals"?, "modules"?, "request"?, "source"?, "expect": {...}}.
``script`` is either a whole script (it defines a route) or a list of statements wrapped into ``route { }``;
``routes`` are extra route blocks appended after it; ``globals`` are top-level lines (global params, modparams);
``modules`` lists the modules to load (default: every default module the registry provides).

expect keys: rc, logs (exact xlog output, in order), logs_contain (substrings of any log line), vars (PV text ->
value; a ``[*]`` PV gives the list of values), ruri, du, dropped, actions (recorded Env actions other than logs,
each expected dict a subset of the actual one), headers_added, headers_removed, trace_lines (lines executed,
1 = the first line of ``script``), error (code or message substring, or a list of alternatives), error_count,
error_line / error_column (of the first error, script-relative), warning.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

CASES_DIR = Path(__file__).parent / "cases"

DEFAULT_MODULES = (
    "sl",
    "signaling",
    "tm",
    "rr",
    "maxfwd",
    "sipmsgops",
    "textops",
    "uri",
    "cfgutils",
    "cachedb_local",
)

DEFAULT_REQUEST = (
    "INVITE sip:bob@example.com SIP/2.0\n"
    "Via: SIP/2.0/UDP 10.0.0.1:5060;branch=z9hG4bK-1\n"
    "Max-Forwards: 70\n"
    'From: "Alice" <sip:alice@example.org>;tag=abc\n'
    "To: <sip:bob@example.com>\n"
    "Call-ID: call-1@10.0.0.1\n"
    "CSeq: 1 INVITE\n"
    "Contact: <sip:alice@10.0.0.1:5060>\n"
    "Content-Length: 0\n"
    "\n"
)
DEFAULT_SOURCE = "10.0.0.1:5060"

_ROUTE_DEF = re.compile(
    r"^\s*(route|onreply_route|failure_route|branch_route|local_route|error_route|startup_route|timer_route|"
    r"event_route)\b[^;{]*\{",
    re.M,
)
_DIAG_PREFIX = re.compile(r"^(ALERT|CRITICAL|ERROR|WARNING|NOTICE|INFO|DBG):\w+:")


def load_cases() -> list:
    out = []
    for path in sorted(CASES_DIR.glob("*.json")):
        for case in json.loads(path.read_text()):
            out.append(pytest.param(case, id=f"{path.stem}:{case['name']}"))
    return out


def build_script(case: dict) -> tuple[str, int]:
    """The full script text for a case, and the line offset of the case's first script line."""
    from pysips.modules import load_registry

    mods = case.get("modules")
    if mods is None:
        reg = load_registry()
        mods = [m for m in DEFAULT_MODULES if m in reg]
    lines = [f'loadmodule "{m}.so"' for m in mods]
    if case.get("globals"):
        lines += case["globals"].splitlines()
    script = case["script"]
    if _ROUTE_DEF.search(script):
        offset = len(lines)
        lines += script.splitlines()
    else:
        lines.append("route {")
        offset = len(lines)
        lines += script.splitlines()
        lines.append("}")
    if case.get("routes"):
        lines += case["routes"].splitlines()
    return "\n".join(lines) + "\n", offset


def compile_case(case: dict) -> tuple[object, list, int, str]:
    from pysips.script.compiler import compile_script
    from pysips.script.parser import parse_text

    text, offset = build_script(case)
    script, errors = parse_text(text, "case.cfg", generation=case.get("generation"))
    errors = list(errors)
    program = None
    if script is not None:
        program, cerrors = compile_script(script)
        errors += cerrors
    return program, errors, offset, text


def _matches(err: object, want: str) -> bool:
    code = getattr(err, "code", "")
    if code == want or (re.fullmatch(r"E\d{1,2}", want) and code.startswith(want)):
        return True
    return want in err.message or want in err.format()


def check_diagnostics(case: dict, errors: list, offset: int, text: str) -> bool:
    """Assert the expected diagnostics; returns True when the case stops here (an error was expected)."""
    exp = case["expect"]
    errs = [e for e in errors if e.severity == "error"]
    warns = [e for e in errors if e.severity != "error"]
    listing = "\n".join(e.format() for e in errors) + "\n--- script ---\n" + text
    if "warning" in exp:
        want = exp["warning"]
        assert any(_matches(w, want) for w in warns), f"no warning matching {want!r}:\n{listing}"
    if "error" not in exp:
        assert not errs, f"unexpected errors:\n{listing}"
        return False
    wants = exp["error"] if isinstance(exp["error"], list) else [exp["error"]]
    assert any(_matches(e, w) for e in errs for w in wants), f"no error matching {wants!r}:\n{listing}"
    if "error_count" in exp:
        assert len(errs) == exp["error_count"], listing
    if "error_line" in exp:
        assert errs[0].line == exp["error_line"] + offset, listing
    if "error_column" in exp:
        assert errs[0].column == exp["error_column"], listing
    return True


def _subset(expected: dict, actual: dict) -> bool:
    return all(k in actual and actual[k] == v for k, v in expected.items())


@pytest.mark.parametrize("case", load_cases())
def test_case(case: dict) -> None:
    from pysips.script.pvars import parse_pv
    from pysips.script.simulate import simulate

    program, errors, offset, text = compile_case(case)
    if check_diagnostics(case, errors, offset, text):
        return
    exp = case["expect"]
    res = simulate(program, case.get("request", DEFAULT_REQUEST), case.get("source", DEFAULT_SOURCE))
    all_logs = [t for _, t in res["logs"]]
    ctx = res["ctx"]
    where = f"\n--- script ---\n{text}\n--- logs ---\n" + "\n".join(map(str, all_logs))
    assert res["error"] is None, res["error"] + where
    if "rc" in exp:
        assert res["rc"] == exp["rc"], where
    if "logs" in exp:
        xlogs = [t for t in all_logs if not _DIAG_PREFIX.match(t)]
        assert xlogs == exp["logs"], where
    for sub in exp.get("logs_contain", ()):
        assert any(sub in t for t in all_logs), f"no log containing {sub!r}" + where
    for pv, want in exp.get("vars", {}).items():
        spec = parse_pv(pv)
        got = spec.get_all(ctx) if "[*]" in pv else spec.get(ctx)
        assert got == want, f"{pv} = {got!r}, expected {want!r}" + where
    if "ruri" in exp:
        assert res["ruri"] == exp["ruri"], where
    if "du" in exp:
        assert res["du"] == exp["du"], where
    if "dropped" in exp:
        assert res["dropped"] == exp["dropped"], where
    if "actions" in exp:
        acts = res["actions"]
        assert len(acts) == len(exp["actions"]), f"actions {acts!r}" + where
        for want, got in zip(exp["actions"], acts, strict=True):
            assert _subset(want, got), f"action {got!r} does not match {want!r}" + where
    if "headers_added" in exp:
        assert res["headers_added"] == exp["headers_added"], where
    if "headers_removed" in exp:
        assert res["headers_removed"] == exp["headers_removed"], where
    if "trace_lines" in exp:
        assert [ln - offset for _, ln in res["trace"]] == exp["trace_lines"], where


def test_enough_cases() -> None:
    assert len(load_cases()) >= 200
