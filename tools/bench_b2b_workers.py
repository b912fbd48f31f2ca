"""Old name of: python tools/bench_b2b.py --workers 1,2 --no-mem --no-baseline [your arguments]."""

import os
import sys

bench = os.path.join(os.path.dirname(os.path.abspath(__file__)), "bench_b2b.py")
os.execv(
    sys.executable, [sys.executable, bench, "--workers", "1,2", "--no-mem", "--no-baseline", *sys.argv[1:]]
)
