"""Every real-world script of the shared corpus parses without a syntax error (or with exactly the errors it has).

The corpus lives outside the project (../shared/corpus, never copied here); the module is skipped without it.
"""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from pysips.script.parser import parse_file

SHARED = (Path(__file__).parents[2] / ".." / "shared").resolve()
CORPUS = SHARED / "corpus"
if not (CORPUS / "manifest.tsv").is_file():
    pytest.skip(f"corpus not found at {CORPUS}", allow_module_level=True)

ROWS = list(csv.DictReader((CORPUS / "manifest.tsv").open(encoding="utf-8"), delimiter="\t"))

# placeholder markers that are only a comment ("# CUSTOMIZE ME") leave the script parseable
NOT_TEMPLATED = {"-", "", "CUSTOMIZE-ME"}

# files OpenSIPS itself rejects: (why, the (line, code) of every syntax error pysips must report)
KNOWN_BROKEN: dict[str, tuple[str, list[tuple[int, str]]]] = {
    "021_OpenSIPS_opensips_alg.cfg": (
        "SER-era example: `break;` used to leave the route, rejected by every OpenSIPS grammar",
        [(42, "E112"), (46, "E112"), (50, "E112"), (61, "E112"), (81, "E112"), (91, "E112"), (103, "E112")],
    ),
    "036_altanai_opensipsexamples_opensips_proxy_2_2_7.cfg": (
        "template placeholder <opensips_pvtip>; missing `;` after xlog on line 225",
        [(24, "E101"), (226, "E101")],
    ),
    "037_altanai_opensipsexamples_inbound_opensips_sbc.cfg": (
        "ERB placeholders <%= @public_ip %>",
        [(15, "E101"), (17, "E101")],
    ),
    "039_altanai_opensipsexamples_opensips_ratelimmiter.cfg": (
        "modparam without its closing `)` on line 61",
        [(64, "E101")],
    ),
    "040_altanai_opensipsexamples_record_route_opensips.cfg": (
        "modparam without its closing `)` on line 55",
        [(58, "E101")],
    ),
    "041_altanai_opensipsexamples_opensips.cfg": (
        "template placeholders <public_ip>",
        [(16, "E101"), (18, "E101")],
    ),
    "042_altanai_opensipsexamples_opensips_registrar.cfg": (
        "template placeholder <private_ip>; missing `;` on line 193",
        [(13, "E101"), (194, "E101")],
    ),
    "044_altanai_opensipsexamples_opensips.cfg": ("template placeholder <pvt_ip>", [(24, "E101")]),
}


@pytest.mark.parametrize("row", ROWS, ids=[r["local_file"] for r in ROWS])
def test_corpus_file_parses(row):
    path = CORPUS / "cfg" / row["local_file"]
    if row.get("placeholders", "-") not in NOT_TEMPLATED:
        pytest.skip(f"templated ({row['placeholders']}): needs its preprocessor first")
    script, diags = parse_file(str(path))
    errors = [(d.line, d.code) for d in diags if d.severity == "error"]
    if row["local_file"] in KNOWN_BROKEN:
        _why, expected = KNOWN_BROKEN[row["local_file"]]
        assert errors == expected
    else:
        assert [d.format() for d in diags if d.severity == "error"] == []
        assert script.routes or script.loadmodules  # module unit-test cfgs have no route
    assert all(d.file == str(path) for d in diags)


def test_known_broken_files_get_useful_hints():
    _s, diags = parse_file(str(CORPUS / "cfg" / "039_altanai_opensipsexamples_opensips_ratelimmiter.cfg"))
    assert [d.hint for d in diags if d.severity == "error"] == ["missing `)` at the end of line 61?"]
    _s, diags = parse_file(str(CORPUS / "cfg" / "044_altanai_opensipsexamples_opensips.cfg"))
    assert diags[0].hint == "`<pvt_ip>` looks like a template placeholder: put a real value there"


def test_generation_detection_agrees_with_manifest():
    """Detection reads the syntax, the manifest the release: they agree on most files, and a file that uses
    1.x-only conditions is always detected as 1, one with socket=/udp_workers= as 3."""
    agree = 0
    for row in ROWS:
        path = CORPUS / "cfg" / row["local_file"]
        script, _ = parse_file(str(path))
        text = path.read_text(encoding="utf-8", errors="replace")
        if "uri==myself" in text.replace(" ", "") and "socket=" not in text:
            assert script.generation == 1, row["local_file"]
        if "\nudp_workers" in text or "\nsocket=" in text:
            assert script.generation == 3, row["local_file"]
        agree += script.generation == int(row["approx_version"][0])
    assert agree >= 0.7 * len(ROWS)


# `pysips check` (parse + compile) of every corpus file: the ones that fail are exactly those OpenSIPS rejects too
CHECK_REJECTED = {
    "014": "typo is_methos(); is_method() without its module loaded",
    "021": "`break;` used to leave the route",
    "036": "template placeholder; missing `;`",
    "037": "ERB placeholders",
    "039": "modparam without its `)`",
    "040": "modparam without its `)`",
    "041": "template placeholders",
    "042": "template placeholder; missing `;`",
    "044": "template placeholder",
}


def test_check_rejects_exactly_what_opensips_rejects():
    from pysips.script.check import check_script
    from tests.script._modstate import reset_module_settings

    rejected = {}
    try:
        for path in sorted((CORPUS / "cfg").glob("*.cfg")):
            res = check_script(str(path))
            errors = [d for d in res.diagnostics if d.severity == "error"]
            if errors:
                rejected[path.name[:3]] = errors
    finally:
        reset_module_settings()  # the corpus modparams went through the modules' init hooks
    assert sorted(rejected) == sorted(CHECK_REJECTED)
    # every error tells the user what to do
    for errors in rejected.values():
        for d in errors:
            assert d.hint, d.format()
    hints = {d.hint for d in rejected["014"]}
    assert hints == {
        'did you mean is_method() (module sipmsgops: loadmodule "sipmsgops.so")?',
        'add loadmodule "sipmsgops.so" before the routes',
    }
    assert {d.hint for d in rejected["021"]} == {
        "`break` only leaves a switch/while/for: use `exit` to stop the script or `return` to leave this route"
    }
