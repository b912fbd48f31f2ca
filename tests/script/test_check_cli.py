"""`pysips check`: output format, exit codes, JSON, generation, --list-functions."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

from pysips.cli import main

CLEAN = """\
log_level=3
listen=udp:127.0.0.1:5060
route {
    xlog("L_INFO", "hi $ru\\n");
    if (uri==myself) exit;
    exit;
}
"""

BROKEN = """\
route {
    f()
    g();
    $avp(x)[0] = 1;
}
"""

UNIMPLEMENTED = """\
loadmodule "siprec.so"
route {
    siprec_start_recording("sip:srs@1.2.3.4");
    exit;
}
"""


def _write(tmp_path: Path, name: str, text: str) -> str:
    p = tmp_path / name
    p.write_text(text)
    return str(p)


def test_clean_file_with_a_warning_exits_0(tmp_path, capsys):
    f = _write(tmp_path, "clean.cfg", CLEAN)
    assert main(["check", f]) == 0
    out = capsys.readouterr().out
    assert out == (
        f'{f}:5:9: warning: `uri==myself` is OpenSIPS 1.x syntax; use `is_myself("$rd")`\n'
        "        if (uri==myself) exit;\n"
        "            ^\n"
        f"{f}: syntax: OpenSIPS 1.x (detected)\n"
        "0 errors, 1 warning; unimplemented: modules [], functions []\n"
    )


def test_1x_condition_in_a_3x_script_is_an_error(tmp_path, capsys):
    f = _write(tmp_path, "mixed.cfg", CLEAN.replace("listen=", "socket="))
    assert main(["check", f]) == 1
    out = capsys.readouterr().out
    assert out == (
        f"{f}:5:9: error: `uri==myself` is not accepted by OpenSIPS 2.1+ (this script uses OpenSIPS 3.x "
        "syntax: `socket=` at mixed.cfg:2)\n"
        "        if (uri==myself) exit;\n"
        "            ^\n"
        '    hint: `uri==myself` is OpenSIPS 1.x syntax; use `is_myself("$rd")`\n'
        f"{f}: syntax: OpenSIPS 3.x (detected)\n"
        "1 error, 0 warnings; unimplemented: modules [], functions []\n"
    )


def test_syntax_errors_exit_1_with_every_error(tmp_path, capsys):
    f = _write(tmp_path, "broken.cfg", BROKEN)
    assert main(["check", f]) == 1
    out = capsys.readouterr().out
    assert out == (
        f"{f}:3:5: error: syntax error: unexpected `g`, expected `;`\n"
        "        g();\n"
        "        ^\n"
        "    hint: missing `;` at the end of line 2?\n"
        f"{f}:4:12: error: syntax error: unexpected `[`\n"
        "        $avp(x)[0] = 1;\n"
        "               ^\n"
        "    hint: `$avp(x)[0]` is Kamailio syntax; OpenSIPS puts the index inside: `$(avp(x)[0])`\n"
        f"{f}: syntax: OpenSIPS 3.x (detected)\n"
        "2 errors, 0 warnings; unimplemented: modules [], functions []\n"
    )


def test_semantic_errors_come_from_the_compiler(tmp_path, capsys):
    f = _write(tmp_path, "sem.cfg", "route {\n    foo_bar();\n}\n")
    assert main(["check", f]) == 1
    out = capsys.readouterr().out
    assert f"{f}:2:5: error: unknown command <foo_bar>, missing loadmodule?" in out
    assert out.endswith("1 error, 0 warnings; unimplemented: modules [], functions []\n")


def test_unimplemented_summary(tmp_path, capsys):
    f = _write(tmp_path, "u.cfg", UNIMPLEMENTED)
    assert main(["check", f]) == 0
    out = capsys.readouterr().out
    assert out.endswith(
        "0 errors, 2 warnings; unimplemented: modules [siprec], functions [siprec_start_recording]\n"
    )


def test_unimplemented_json_names_the_modules(tmp_path, capsys):
    f = _write(tmp_path, "u.cfg", UNIMPLEMENTED)
    assert main(["check", "--format", "json", f]) == 0
    doc = json.loads(capsys.readouterr().out)
    want = {
        "modules": ["siprec"],
        "functions": ["siprec_start_recording"],
        "function_modules": {"siprec_start_recording": "siprec"},
    }
    assert doc["unimplemented"] == want
    assert doc["files"][0]["unimplemented"] == want


def test_missing_file_is_a_usage_error(tmp_path, capsys):
    assert main(["check", str(tmp_path / "nope.cfg")]) == 2
    assert "nope.cfg: no such file" in capsys.readouterr().err


def test_json_format(tmp_path, capsys):
    good = _write(tmp_path, "clean.cfg", CLEAN)
    bad = _write(tmp_path, "broken.cfg", BROKEN)
    assert main(["check", "--format", "json", good, bad]) == 1
    doc = json.loads(capsys.readouterr().out)
    assert doc["errors"] == 2 and doc["warnings"] == 1
    assert [f["path"] for f in doc["files"]] == [good, bad]
    assert doc["files"][0]["generation"] == 1
    assert doc["files"][1]["diagnostics"][1] == {
        "severity": "error",
        "code": "E106",
        "message": "syntax error: unexpected `[`",
        "file": bad,
        "line": 4,
        "column": 12,
        "hint": "`$avp(x)[0]` is Kamailio syntax; OpenSIPS puts the index inside: `$(avp(x)[0])`",
    }


def test_forced_generation(tmp_path, capsys):
    f = _write(tmp_path, "clean.cfg", CLEAN)
    assert main(["check", "--opensips-version", "2", f]) == 1
    out = capsys.readouterr().out
    assert f"{f}: syntax: OpenSIPS 2.x (--opensips-version)" in out
    assert (
        "error: `uri==myself` is not accepted by OpenSIPS 2.1+ (this script uses OpenSIPS 2.x syntax: "
        "--opensips-version 2)" in out
    )
    assert main(["check", "--opensips-version", "1", f]) == 0
    assert "warning: `uri==myself` is OpenSIPS 1.x syntax" in capsys.readouterr().out


def test_list_functions(capsys):
    assert main(["check", "--list-functions", "x"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("core:\n")
    assert "\n  forward([destination])" in out


def test_cold_cli_run_of_a_long_script(tmp_path):
    """A cold `pysips check` of a 500-line script (its time is measured by tools/bench_script.py)."""
    body = "".join(
        f'    if ($var(i) == {i}) {{ xlog("L_INFO", "n={i}\\n"); $var(i) = $var(i) + 1; }}\n'
        for i in range(500)
    )
    f = _write(tmp_path, "big.cfg", "route {\n" + body + "    exit;\n}\n")
    subprocess.run(
        [sys.executable, "-m", "pysips", "check", f], capture_output=True, timeout=60
    )  # warm lark's cache
    proc = subprocess.run(
        [sys.executable, "-m", "pysips", "check", f], capture_output=True, text=True, timeout=60
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 errors" in proc.stdout, proc.stdout
