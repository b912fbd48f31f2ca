"""prometheus page: names, group modes, types (OpenSIPS 3.x modules/prometheus)."""

from __future__ import annotations

from pysips.modules.prometheus import render
from tests.mi.conftest import FakeCore


def _params(**kw):
    p = {"prefix": "opensips", "delimiter": "_", "group_prefix": "", "group_label": "group", "group_mode": 0}
    p.update(kw)
    return p


def test_default_exports_nothing() -> None:
    assert render(FakeCore(), _params(statistics=[])) == ""


def test_names_types_and_values() -> None:
    core = FakeCore(["tm", "sl"])
    core.stats["rcv_requests"] = 3
    page = render(core, _params(statistics=["rcv_requests sl:", "pkmem:0-used_size"]))
    lines = page.splitlines()
    assert lines[:2] == ["# TYPE opensips_rcv_requests counter", "opensips_rcv_requests 3"]
    assert "# TYPE opensips_sent_replies counter" in lines
    # characters Prometheus does not allow become "_"; functions are gauges
    assert "# TYPE opensips_0_used_size gauge" in lines
    assert page.endswith("\n")


def test_group_modes() -> None:
    core = FakeCore(["tm"])
    core.stats["rcv_requests"] = 1
    one = render(core, _params(statistics=["core:rcv_requests"], group_mode=1))
    assert one == "# TYPE opensips_core_rcv_requests counter\nopensips_core_rcv_requests 1\n"
    two = render(core, _params(statistics=["rcv_requests"], group_mode=2, group_prefix="g_"))
    assert two == '# TYPE opensips_rcv_requests counter\nopensips_rcv_requests{group="g_core"} 1\n'
