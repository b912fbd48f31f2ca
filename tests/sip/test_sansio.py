from __future__ import annotations

import subprocess
import sys

CODE = """
import sys
import pysips.sip.uri, pysips.sip.headers, pysips.sip.message, pysips.sip.framing
import pkgutil, importlib, pysips.sip
for mod in pkgutil.iter_modules(pysips.sip.__path__):
    importlib.import_module("pysips.sip." + mod.name)
bad = sorted(m for m in sys.modules if m.split(".")[0] in ("trio", "redis"))
print(",".join(bad))
"""


def test_sip_package_imports_no_io_libraries() -> None:
    out = subprocess.run([sys.executable, "-c", CODE], capture_output=True, text=True, timeout=60, check=True)
    assert out.stdout.strip() == ""
