"""Every example script in cfg/ passes `pysips check` (exit status 0: no errors; warnings allowed)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

CFG_DIR = Path(__file__).resolve().parent.parent / "cfg"
EXAMPLES = sorted(CFG_DIR.glob("*.cfg"))
EXPECTED = {"proxy.cfg", "b2b-top-hiding.cfg", "seed-balance.cfg", "loadbalancer.cfg"}


def test_the_documented_examples_exist() -> None:
    assert EXPECTED <= {p.name for p in EXAMPLES}


@pytest.mark.parametrize("path", EXAMPLES, ids=lambda p: p.name)
def test_example_passes_check(path: Path) -> None:
    from pysips.script.check import check_file

    _gen, diags = check_file(str(path))
    errors = [d.format() for d in diags if d.severity == "error"]
    assert errors == []
    assert _gen >= 3, f"{path.name} should be written in OpenSIPS 3.x syntax"


def test_check_cli_exit_status_on_an_example() -> None:
    proc = subprocess.run(
        [sys.executable, "-m", "pysips", "check", str(CFG_DIR / "b2b-top-hiding.cfg")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "0 errors" in proc.stdout + proc.stderr
