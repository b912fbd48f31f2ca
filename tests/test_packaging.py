"""The grammar ships inside the package: pysips/grammar/opensips.lark (a symlink to the top-level grammar/ dir)."""

from __future__ import annotations

import importlib.util
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from pysips.script.grammar_loader import grammar_text

ROOT = Path(__file__).resolve().parents[1]


def _copy_project(dst: Path) -> Path:
    """Build from a copy so the build leaves nothing (build/, *.egg-info) in the working tree."""
    proj = dst / "proj"
    proj.mkdir()
    for name in ("pyproject.toml", "README.md"):
        if (ROOT / name).exists():
            shutil.copy(ROOT / name, proj / name)
    shutil.copytree(ROOT / "grammar", proj / "grammar")
    shutil.copytree(
        ROOT / "pysips", proj / "pysips", symlinks=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc")
    )
    return proj


def test_grammar_is_a_package_resource():
    assert (ROOT / "pysips" / "grammar").is_symlink()
    assert grammar_text() == (ROOT / "grammar" / "opensips.lark").read_text(encoding="utf-8")
    assert "start: _item*" in grammar_text()


def test_build_py_puts_the_grammar_in_the_package(tmp_path):
    """What build_py copies is what a wheel contains (works offline with setuptools alone)."""
    proj = _copy_project(tmp_path)
    out = tmp_path / "lib"
    subprocess.run(
        [sys.executable, "-c", "import setuptools; setuptools.setup()", "-q", "build_py", "-d", str(out)],
        cwd=proj,
        check=True,
        capture_output=True,
        timeout=60,
    )
    shipped = out / "pysips" / "grammar" / "opensips.lark"
    assert shipped.is_file() and not shipped.is_symlink()
    assert shipped.read_text(encoding="utf-8") == grammar_text()


@pytest.mark.skipif(importlib.util.find_spec("wheel") is None, reason="the `wheel` package is not installed")
def test_wheel_contains_the_grammar(tmp_path):
    proj = _copy_project(tmp_path)
    dist = tmp_path / "dist"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "pip",
            "wheel",
            "--no-deps",
            "--no-build-isolation",
            "--no-index",
            "-w",
            str(dist),
            ".",
        ],
        cwd=proj,
        check=True,
        capture_output=True,
        timeout=120,
    )
    (whl,) = dist.glob("pysips-*.whl")
    assert "pysips/grammar/opensips.lark" in zipfile.ZipFile(whl).namelist()
