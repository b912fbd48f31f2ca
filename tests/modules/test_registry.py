"""The module registry as data: every spec is well formed, and the corpus's modules/functions/modparams are known."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from pysips import modules as M
from pysips.modules.known import KNOWN_FUNCTIONS, KNOWN_MODULES

SHARED = Path(__file__).resolve().parents[2].parent / "shared"
CORPUS = sorted((SHARED / "corpus" / "cfg").glob("*.cfg")) + sorted(
    (SHARED / "sipssert").glob("*/*/opensips.cfg")
)
needs_corpus = pytest.mark.skipif(not CORPUS, reason="../shared corpus not available")

# statements of the grammar that look like calls, and PV names caught by the crude call scan below
NOT_FUNCTIONS = {
    "if", "while", "switch", "route", "return", "for", "case", "exit", "drop", "default", "else", "loadmodule",
    "modparam", "failure_route", "onreply_route", "branch_route", "error_route", "local_route", "startup_route",
    "timer_route", "event_route", "xlog", "xdbg", "log", "assert", "async", "launch", "avp", "var", "branch",
    "defined", "not",
}  # fmt: skip
CORPUS_TYPOS = {"is_methos"}  # a real typo in one corpus file: it must stay an unknown function


def _strip(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", "", text, flags=re.S)
    out = []
    for line in text.splitlines():
        res, quote = [], None
        for ch in line:
            if quote:
                res.append(ch if ch == quote else " ")
                if ch == quote:
                    quote = None
                continue
            if ch in "\"'":
                quote = ch
            elif ch == "#":
                break
            res.append(ch)
        out.append("".join(res))
    return "\n".join(out)


def test_registry_loads_every_module_once() -> None:
    reg = M.load_registry()
    assert reg["core"].core is True
    for name in (
        "sl",
        "tm",
        "rr",
        "maxfwd",
        "sipmsgops",
        "textops",
        "uri",
        "cfgutils",
        "cachedb_local",
        "signaling",
    ):
        assert name in reg, name
    for name, spec in reg.items():
        assert spec.name == name


def test_specs_are_well_formed() -> None:
    kinds = {M.INT, M.STR, M.VAR, M.REGEX, M.ROUTE, M.FLAG, M.ANY}
    for mname, spec in M.load_registry().items():
        for fname, f in spec.functions.items():
            assert re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", fname), (mname, fname)
            assert f.route_types and f.route_types <= M.ALL_ROUTES, (mname, fname)
            assert all(p.kind in kinds for p in f.params), (mname, fname)
            assert f.impl is None or callable(f.impl)
        for pname, p in spec.params.items():
            assert p.name == pname and p.kind in (M.INT, M.STR, M.ANY), (mname, pname)
            if p.default is not None and p.kind == M.INT:
                assert isinstance(p.default, int), (mname, pname)
            if p.default is not None and p.kind == M.STR:
                assert isinstance(p.default, str), (mname, pname)


def test_known_tables() -> None:
    assert {
        "dispatcher",
        "drouting",
        "b2b_logic",
        "registrar",
        "usrloc",
        "proto_udp",
        "xlog",
    } <= KNOWN_MODULES
    assert KNOWN_FUNCTIONS["save"] == "registrar" and KNOWN_FUNCTIONS["www_authorize"] == "auth_db"
    assert KNOWN_FUNCTIONS["rtpproxy_offer"] in ("rtpproxy", "nathelper")
    assert "seturi" not in KNOWN_FUNCTIONS  # core functions are implemented
    unimpl = M.known_unimplemented_modules()
    assert "sl" not in unimpl and "carrierroute" in unimpl


def _loadmodules(path: Path) -> list[str]:
    text = _strip_comments_only(path.read_text(errors="replace"))
    return [m.split("/")[-1].removesuffix(".so") for m in re.findall(r'loadmodule\s*"([^"]+)"', text)]


def _strip_comments_only(text: str) -> str:
    return "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))


@needs_corpus
def test_every_corpus_module_is_declared_or_known() -> None:
    reg = M.load_registry()
    missing = {m for p in CORPUS for m in _loadmodules(p) if m not in reg and m not in KNOWN_MODULES}
    assert not missing


@needs_corpus
def test_every_corpus_function_is_declared_or_known() -> None:
    reg = M.load_registry()
    declared = {f for spec in reg.values() for f in spec.functions}
    missing: dict[str, str] = {}
    for p in CORPUS:
        for name in re.findall(r"(?<![$\w.])([a-zA-Z_]\w*)\s*\(", _strip(p.read_text(errors="replace"))):
            if name in NOT_FUNCTIONS or name in declared or name in KNOWN_FUNCTIONS or name in CORPUS_TYPOS:
                continue
            missing[name] = p.name
    assert not missing


@needs_corpus
def test_every_corpus_modparam_of_a_declared_module_exists() -> None:
    reg = M.load_registry()
    bad = []
    for p in CORPUS:
        for mod, param in re.findall(
            r'^\s*modparam\s*\(\s*"([\w]+)"\s*,\s*"([^"]+)"',
            _strip_comments_only(p.read_text(errors="replace")),
            re.M,
        ):
            spec = reg.get(mod)
            if spec is not None and param not in spec.params:
                bad.append((p.name, mod, param))
    assert not bad


@needs_corpus
def test_implemented_functions_used_by_the_corpus() -> None:
    """The functions most corpus scripts depend on must have an implementation, not only a declaration."""
    reg = M.load_registry()
    want = {
        "sl": ["sl_send_reply", "sl_reply_error"],
        "signaling": ["send_reply"],
        "tm": [
            "t_relay",
            "t_check_trans",
            "t_newtran",
            "t_on_failure",
            "t_on_reply",
            "t_on_branch",
            "t_reply",
        ],
        "rr": ["record_route", "loose_route", "add_rr_param", "check_route_param"],
        "maxfwd": ["mf_process_maxfwd_header"],
        "sipmsgops": ["is_method", "has_totag", "append_hf", "remove_hf", "is_present_hf"],
        "textops": ["search", "search_body"],
        "core": ["setflag", "isflagset", "setbflag", "isbflagset", "seturi", "strip", "prefix", "revert_uri"],
    }
    for mod, names in want.items():
        for n in names:
            assert reg[mod].functions[n].impl is not None, (mod, n)
