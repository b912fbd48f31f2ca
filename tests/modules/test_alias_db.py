"""alias_db: R-URI aliases from a db_text table (use_domain, flags d / r), alias_db_find into a variable."""

from __future__ import annotations

from pathlib import Path

from pysips.modules import alias_db
from tests.modules._msgs import make_ctx


def _db(path: Path) -> str:
    path.mkdir()
    (path / "dbaliases").write_text(
        "id(int,auto) alias_username(string) alias_domain(string) username(string) domain(string) \n"
        ":bob:example.com:robert:corp.example\n"
    )
    return f"text://{path}"


def test_lookup_rewrites_the_request_uri(tmp_path: Path) -> None:
    alias_db.init({"db_url": _db(tmp_path / "db"), "use_domain": 1})
    c = make_ctx()  # R-URI sip:bob@example.com
    assert alias_db.w_alias_db_lookup(c, "dbaliases") == 1
    assert str(c.msg.ruri) == "sip:robert@corp.example"
    assert alias_db.w_alias_db_lookup(c, "dbaliases") == -1  # robert is no alias
    # reverse: canonical -> alias
    assert alias_db.w_alias_db_lookup(c, "dbaliases", "r") == 1 and str(c.msg.ruri) == "sip:bob@example.com"


def test_domain_matching_and_find(tmp_path: Path) -> None:
    alias_db.init({"db_url": _db(tmp_path / "db"), "use_domain": 1})
    c = make_ctx()
    c.msg.ruri = "sip:bob@other.org"
    assert alias_db.w_alias_db_lookup(c, "dbaliases") == -1  # use_domain: the host must match
    assert alias_db.w_alias_db_lookup(c, "dbaliases", "d") == 1  # flag d: user only

    class Var:
        value = None

        def set(self, ctx: object, op: str, value: object) -> None:
            self.value = value

    out = Var()
    assert alias_db.w_alias_db_find(make_ctx(), "dbaliases", "sip:bob@example.com", out) == 1
    assert out.value == "sip:robert@corp.example"
