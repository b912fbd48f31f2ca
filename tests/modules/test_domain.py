"""domain: local domains from a db_text table, through the real compiler (attrs into a variable), reload."""

from __future__ import annotations

from pathlib import Path

from pysips.modules import domain
from pysips.script import compiler, parser
from tests.modules._msgs import make_ctx


def _db(path: Path, *rows: str) -> str:
    path.mkdir(exist_ok=True)
    (path / "domain").write_text("id(int,auto) domain(string) attrs(string,null) \n" + "".join(rows))
    return f"text://{path}"


def _run(url: str, body: str) -> object:
    src = f'loadmodule "domain.so"\nmodparam("domain", "db_url", "{url}")\nroute {{\n{body}\n}}\n'
    script, errs = parser.parse_text(src)
    prog, errs = compiler.compile_script(script)
    assert not [e for e in errs if e.severity == "error"], [e.format() for e in errs]
    c = make_ctx()  # From alice@atlanta.com, R-URI bob@example.com
    prog.run("request", None, c)
    return c


def test_local_domains_and_attrs(tmp_path: Path) -> None:
    url = _db(tmp_path / "db", ":example.com:tier=gold\n", ":Atlanta.COM:\n")
    c = _run(
        url,
        'if (is_uri_host_local($var(a))) $var(uri) = "local";\n'
        'if (is_from_local()) $var(from) = "local";\n'
        'if (!is_domain_local("elsewhere.org")) $var(other) = "remote";',
    )
    assert c.vars == {"a": "tier=gold", "uri": "local", "from": "local", "other": "remote"}


def test_reload_and_dump(tmp_path: Path) -> None:
    url = _db(tmp_path / "db", ":example.com:\n")
    domain.init({"db_url": url})
    assert domain.mi_domain_dump(None) == {"Domains": [{"name": "example.com", "attributes": ""}]}
    _db(tmp_path / "db", ":example.org:\n")
    assert domain.mi_domain_reload(None) == "OK"
    assert [d["name"] for d in domain.mi_domain_dump(None)["Domains"]] == ["example.org"]


def test_a_database_pysips_cannot_read_gives_no_local_domain() -> None:
    c = _run("mysql://u:p@localhost/opensips", '$var(r) = is_domain_local("example.com");')
    assert c.vars["r"] == -1
