"""permissions: check_address / check_source_address over a db_text address table."""

from __future__ import annotations

from pathlib import Path

from pysips.modules import permissions as perm
from pysips.script import compiler, parser
from tests.modules._msgs import make_ctx

HEADER = (
    "id(int,auto) grp(int) ip(string) mask(int) port(int) proto(string,null) pattern(string,null) "
    "context_info(string,null) \n"
)


def _db(path: Path) -> str:
    path.mkdir()
    (path / "address").write_text(
        HEADER
        + ":1:10.0.0.0:8:0:any::carrier-a\n"  # group 1: a /8, any port, any protocol
        + ":2:192.0.2.10:32:5070:udp::pbx\n"  # group 2: one host, one port, udp only
        + ":3:10.0.0.1:32:0:any:^sip\\:100@:vip\n"  # group 3: a pattern over the given string
    )
    return f"text://{path}"


def test_matching_rules(tmp_path: Path) -> None:
    perm.init({"db_url": _db(tmp_path / "db")})
    assert perm.match_address(1, "10.9.8.7", 5060, "tcp", None).info == "carrier-a"
    assert perm.match_address(1, "11.0.0.1", 5060, "udp", None) is None
    assert perm.match_address(2, "192.0.2.10", 5070, "udp", None).info == "pbx"
    assert perm.match_address(2, "192.0.2.10", 5071, "udp", None) is None  # the row's port
    assert perm.match_address(2, "192.0.2.10", 5070, "tcp", None) is None  # the row's protocol
    assert perm.match_address(0, "192.0.2.10", 5070, "udp", None).info == "pbx"  # group 0: any group
    assert perm.match_address(3, "10.0.0.1", 5060, "udp", "sip:100@x").info == "vip"
    assert perm.match_address(3, "10.0.0.1", 5060, "udp", "sip:200@x") is None
    assert [r["context_info"] for r in perm.mi_address_dump(None)["IPs"]] == ["carrier-a", "pbx", "vip"]


def test_check_source_address_in_a_script(tmp_path: Path) -> None:
    url = _db(tmp_path / "db")
    src = (
        f'loadmodule "permissions.so"\nmodparam("permissions", "db_url", "{url}")\n'
        "route {\n if (check_source_address(1, $var(info))) $var(r) = $var(info);\n"
        ' if (!check_address(2, "192.0.2.10", 5070, "tcp")) $var(t) = "no";\n}\n'
    )
    script, _ = parser.parse_text(src)
    prog, errs = compiler.compile_script(script)
    assert not [e for e in errs if e.severity == "error"], [e.format() for e in errs]
    c = make_ctx()  # source 10.0.0.1:5060
    prog.run("request", None, c)
    assert c.vars == {"info": "carrier-a", "r": "carrier-a", "t": "no"}
