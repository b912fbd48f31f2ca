"""db_text reader: OpenSIPS's table format (header, escapes, NULLs, auto ids), errors with file:line, list_file."""

from __future__ import annotations

import pytest

from pysips.db import DBTextError, open_db, parse_table
from pysips.db.dbtext import load_table, parse_list_file

DS_HEADER_3X = (
    "id(int,auto) setid(int) destination(string) socket(string,null) state(int) probe_mode(int) "
    "weight(string) priority(int) attrs(string,null) description(string,null) \n"
)
DS_HEADER_24 = (
    "id(int,auto) setid(int) destination(string) socket(string,null) state(int) weight(string) "
    "priority(int) attrs(string) description(string) \n"
)


def test_header_types_and_flags() -> None:
    t = parse_table(
        "a(int,auto) b(string) c(str,null) d(double) e(long) f(time) g(blob,null) h(bigint) i(datetime)\n"
    )
    assert [(c.name, c.type, c.nullable, c.auto) for c in t.columns] == [
        ("a", "int", False, True),
        ("b", "str", False, False),
        ("c", "str", True, False),
        ("d", "double", False, False),
        ("e", "int", False, False),
        ("f", "int", False, False),
        ("g", "str", True, False),
        # only the first letter counts: to db_text "bigint" is a blob and "datetime" a double
        ("h", "str", False, False),
        ("i", "double", False, False),
    ]
    assert t.rows == []


def test_rows_escapes_nulls_and_auto_ids() -> None:
    text = DS_HEADER_3X + (
        ":1:sip\\:10.0.0.1\\:5060::0:0:1:0:k\\=v\\;x:first\n"
        "\n"
        "7:2:sip\\:10.0.0.2::1:0:50:3::a\\\\b\\tc\n"
        ":2:sip\\:10.0.0.3::0:0:1:0\n"
    )
    with pytest.raises(DBTextError) as ei:
        parse_table(text, "dispatcher", "/db/dispatcher")
    # "\=" is not one of db_text's escapes: the whole table fails, at the right line
    assert str(ei.value) == "/db/dispatcher:2: column 'attrs': unknown escape '\\='"
    text = text.replace("k\\=v\\;x", "k=v;x")
    t = parse_table(text, "dispatcher", "/db/dispatcher")
    assert t.lines == [2, 4, 5]
    r0, r1, r2 = t.rows
    assert r0["id"] == 1 and r0["destination"] == "sip:10.0.0.1:5060" and r0["socket"] is None
    assert r0["attrs"] == "k=v;x" and r0["description"] == "first" and r0["weight"] == "1"
    assert r1["id"] == 7 and r1["state"] == 1 and r1["priority"] == 3 and r1["description"] == "a\\b\tc"
    assert r1["attrs"] is None
    # an omitted last field is NULL; the field before it (nothing written) is an empty string
    assert r2["id"] == 2 and r2["attrs"] == "" and r2["description"] is None


@pytest.mark.parametrize(
    ("row", "message"),
    [
        ("1:x:sip\\:a::0:0:1:0::", "/t:2: column 'setid': 'x' is not a number"),
        ("1:1:::0:0:1:0::", "/t:2: column 'destination' cannot be NULL"),
        ("1:1:sip\\:a::0:0:1:0:::extra", "/t:2: too many fields (the table has 10 columns)"),
        ("1:1:sip\\:a::0x:0:1:0::", "/t:2: column 'state': unexpected 'x' after the number 0"),
        ("1:1:sip\\:a::0:0:1", "/t:2: column 'priority': '' is not a number"),
    ],
)
def test_malformed_row_fails_the_table(row: str, message: str) -> None:
    with pytest.raises(DBTextError) as ei:
        parse_table(DS_HEADER_3X + row + "\n", "t", "/t")
    assert str(ei.value) == message
    assert ei.value.line == 2


def test_bad_headers() -> None:
    with pytest.raises(DBTextError, match=r"/t:1: column 'a': unknown type"):
        parse_table("a(zzz)\n", "t", "/t")
    with pytest.raises(DBTextError, match=r"unknown flag"):
        parse_table("a(string,auto)\n", "t", "/t")
    with pytest.raises(DBTextError, match=r"no column declared"):
        parse_table("\n1\n", "t", "/t")
    with pytest.raises(DBTextError, match=r"expected name\(type\)"):
        parse_table("a int\n", "t", "/t")


def test_24_columns_need_values_for_attrs_and_description() -> None:
    ok = parse_table(DS_HEADER_24 + "1:1:sip\\:a:x:0:1:0:attr:desc\n")
    assert ok.rows[0]["attrs"] == "attr"
    with pytest.raises(DBTextError, match="column 'attrs' cannot be NULL"):
        parse_table(DS_HEADER_24 + "1:1:sip\\:a::0:1:0::desc\n")


def test_open_db_version_and_missing_tables(tmp_path) -> None:  # noqa: ANN001
    (tmp_path / "version").write_text("table_name(string) table_version(int) \ndispatcher:9\ndr_rules:3\n")
    (tmp_path / "dispatcher").write_text(DS_HEADER_3X + "1:1:sip\\:10.0.0.1::0:0:1:0::\n")
    db = open_db(f"text://{tmp_path}")
    assert db.check_version("dispatcher", 8, 9) == 9
    with pytest.raises(DBTextError, match="table 'dr_rules' has version 3, expected 4"):
        db.check_version("dr_rules", 4)
    with pytest.raises(DBTextError, match="is not listed in the version table"):
        db.check_version("dr_gateways")
    assert db.table("dispatcher").rows[0]["destination"] == "sip:10.0.0.1"
    with pytest.raises(DBTextError, match="cannot read table"):
        db.table("nope")
    with pytest.raises(DBTextError, match="does not exist"):
        open_db(f"text://{tmp_path}/missing")
    with pytest.raises(DBTextError, match="only text:///directory"):
        open_db("mysql://u:p@localhost/opensips")
    assert load_table(str(tmp_path / "dispatcher")).name == "dispatcher"


def test_list_file_1x() -> None:
    rows = parse_list_file(
        "# proxies\n2 sip:127.0.0.1:5080\n2 sip:127.0.0.1:5082 1\n\n1 sip:10.0.0.1 2 5 a=b # c\n", "/l"
    )
    assert [(r["setid"], r["destination"], r["state"], r["weight"], r["attrs"]) for r in rows] == [
        (2, "sip:127.0.0.1:5080", 0, 1, None),
        (2, "sip:127.0.0.1:5082", 1, 1, None),
        (1, "sip:10.0.0.1", 2, 5, "a=b"),
    ]
    with pytest.raises(DBTextError, match="/l:1: bad line \\(missing uri\\)"):
        parse_list_file("3\n", "/l")
    with pytest.raises(DBTextError, match="/l:2: bad set id 'x'"):
        parse_list_file("1 sip:a\nx sip:b\n", "/l")
