"""dispatcher: OpenSIPS ordering and hashing, algorithms, flags, failover, marking, probing replies, MI."""

from __future__ import annotations

from pathlib import Path

import pytest

from pysips.errors import MIError
from pysips.modules import dispatcher as ds
from pysips.script.parser import parse_text
from pysips.script.pvars import parse_pv
from pysips.script.simulate import simulate
from tests.modules._msgs import make_ctx

HEADER = (
    "id(int,auto) setid(int) destination(string) socket(string,null) state(int) probe_mode(int) "
    "weight(string) priority(int) attrs(string,null) description(string,null) \n"
)


def _row(setid: int, uri: str, *, state: int = 0, weight: int = 1, prio: int = 0, attrs: str = "") -> str:
    return f":{setid}:{uri.replace(':', chr(92) + ':')}::{state}:0:{weight}:{prio}:{attrs}:\n"


def make_db(path: Path, rows: list[str], version: int = 9) -> str:
    path.mkdir(parents=True, exist_ok=True)
    (path / "version").write_text(f"table_name(string) table_version(int) \ndispatcher:{version}\n")
    (path / "dispatcher").write_text(HEADER + "".join(rows))
    return f"text://{path}"


SET1 = [_row(1, "sip:127.0.0.1:5071"), _row(1, "sip:127.0.0.1:5072"), _row(1, "sip:127.0.0.1:5073")]


@pytest.fixture
def db(tmp_path: Path) -> str:
    return make_db(tmp_path / "db", SET1 + [_row(2, "sip:10.0.0.9"), _row(2, "sip:10.0.0.8:5062", prio=4)])


def _init(url: str, **extra: object) -> ds.DSState:
    ds.init({"db_url": url, **extra})
    assert ds._DATA.data is not None
    return ds._DATA.data


def _ctx(call_id: str = "abc123@host", ruri: str = "sip:100@example.com") -> object:
    data = (
        f"INVITE {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
        f"From: <sip:alice@a.example>;tag=1\r\nTo: <{ruri}>\r\nCall-ID: {call_id}\r\nCSeq: 1 INVITE\r\n"
        "Content-Length: 0\r\n\r\n"
    ).encode()
    return make_ctx(data)


# ---------------------------------------------------------------- hashing and ordering


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        # computed with OpenSIPS's ds_get_hash compiled from C (signed chars, 32-bit wrap-around)
        (("abc123@host",), 2722057223),
        (("",), 1),
        (("a",), 109),
        (("alice",), 1834153949),
        (("bob@example.com",), 1457026995),
        (("été-call",), 2535270580),
        (("0123456789abcdef",), 389381237),
        (("alice", "example.com:5070"), 4164596482),
        (("", "example.com:5070"), 2330442532),
    ],
)
def test_hash_matches_opensips(args: tuple, expected: int) -> None:
    assert ds.ds_get_hash(*args) == expected


def test_destinations_ordered_by_priority_desc_then_table_order(tmp_path: Path) -> None:
    rows = [
        _row(5, "sip:a.example", prio=0),
        _row(5, "sip:b.example", prio=5),
        _row(5, "sip:c.example", prio=5),
        _row(5, "sip:d.example", prio=1),
        _row(6, "sip:e.example"),
    ]
    st = _init(make_db(tmp_path, rows))
    part = st.default
    assert [d.uri for d in part.data.by_id[5].dlist] == [
        "sip:b.example",
        "sip:c.example",
        "sip:d.example",
        "sip:a.example",
    ]
    # sets are listed newest first, as OpenSIPS links them
    assert [s.id for s in part.data.sets] == [6, 5]


def test_dst_uri_drops_user_part(tmp_path: Path) -> None:
    st = _init(make_db(tmp_path, [_row(1, "sip:gw@10.0.0.1:5080;transport=tcp")]))
    d = st.default.data.by_id[1].dlist[0]
    assert d.dst_uri == "sip:10.0.0.1:5080;transport=tcp"
    c = _ctx()
    assert ds.w_ds_select_dst(c, 1, 0, "f") == 1
    assert c.du == "sip:10.0.0.1:5080;transport=tcp"
    # the failover AVP keeps the full URI for the selected destination (ds_mark_dst matches on it)
    assert c.avps.get("ds_dst_failover") == "sip:gw@10.0.0.1:5080;transport=tcp"


# ---------------------------------------------------------------- algorithms


def test_callid_hash_table(db: str) -> None:
    _init(db)
    table = {"abc123@host": "sip:127.0.0.1:5073", "a": "sip:127.0.0.1:5072", "e": "sip:127.0.0.1:5071"}
    for cid, du in table.items():
        c = _ctx(call_id=cid)
        assert ds.w_ds_select_dst(c, 1, 0) == 1
        assert (cid, c.du) == (cid, du)
        assert ds.ds_get_hash(cid) % 3 == [
            "sip:127.0.0.1:5071",
            "sip:127.0.0.1:5072",
            "sip:127.0.0.1:5073",
        ].index(du)


def test_uri_hash_with_and_without_user_flag(db: str) -> None:
    _init(db)
    c = _ctx(ruri="sip:alice@example.com:5070")
    assert ds.w_ds_select_dst(c, 1, 3) == 1
    assert c.du == f"sip:127.0.0.1:507{ds.ds_get_hash('alice', 'example.com:5070') % 3 + 1}"
    c = _ctx(ruri="sip:alice@example.com:5070")
    assert ds.w_ds_select_dst(c, 1, 3, "u") == 1
    assert c.du == f"sip:127.0.0.1:507{ds.ds_get_hash('alice', '') % 3 + 1}"
    # the default port is not part of the key
    assert ds._uri_hash_keys(_ctx(ruri="sip:bob@h.example:5060").msg.ruri, 0) == ("bob", "h.example")


def test_round_robin_respects_weights(tmp_path: Path) -> None:
    rows = [_row(1, "sip:10.0.0.1", weight=2), _row(1, "sip:10.0.0.2", weight=1), _row(1, "sip:10.0.0.3")]
    _init(make_db(tmp_path, rows))
    seq = []
    for _ in range(8):
        c = _ctx()
        assert ds.w_ds_select_dst(c, 1, 4) == 1
        seq.append(c.du[-1])
    assert seq == ["1", "1", "2", "3", "1", "1", "2", "3"]


def test_round_robin_skips_inactive_and_probing(tmp_path: Path) -> None:
    rows = [_row(1, "sip:10.0.0.1"), _row(1, "sip:10.0.0.2", state=1), _row(1, "sip:10.0.0.3", state=2)]
    _init(make_db(tmp_path, rows))
    picks = {ds.w_ds_select_dst(c := _ctx(), 1, 4) and c.du for _ in range(4)}
    assert picks == {"sip:10.0.0.1"}


def test_first_and_unknown_algorithms_pick_first_active(db: str) -> None:
    st = _init(db)
    for alg in (8, 9, 10, 42):
        c = _ctx()
        assert ds.w_ds_select_dst(c, 2, alg) == 1
        assert c.du == "sip:10.0.0.8:5062"  # priority 4 sorts first
    st.default.data.by_id[2].dlist[0].flags = ds.DS_INACTIVE_DST
    st.default.data.by_id[2].recalc()
    c = _ctx()
    assert ds.w_ds_select_dst(c, 2, 8) == 1 and c.du == "sip:10.0.0.9"


def test_hash_pvar_algorithm(db: str) -> None:
    _init(db, hash_pvar="$fU-$rU")
    c = _ctx()
    assert ds.w_ds_select_dst(c, 1, 7) == 1
    assert c.du == f"sip:127.0.0.1:507{ds.ds_get_hash('alice-100') % 3 + 1}"


def test_auth_username_hash_and_round_robin_fallback(db: str) -> None:
    _init(db)
    c = _ctx()
    c.msg.add_header(
        "Authorization", 'Digest username="bob", realm="x", nonce="n", uri="sip:x", response="r"'
    )
    assert ds.w_ds_select_dst(c, 1, 5) == 1
    assert c.du == f"sip:127.0.0.1:507{ds.ds_get_hash('bob') % 3 + 1}"
    # without credentials OpenSIPS falls back to "round robin" from the last used destination, but then stores
    # the chosen index as the last one again (dispatch.c), so it keeps picking the last used destination
    no_auth = [ds.w_ds_select_dst(c2 := _ctx(), 1, 5) and c2.du for _ in range(3)]
    assert no_auth == [c.du] * 3


def test_no_active_destination_and_unknown_set(tmp_path: Path) -> None:
    _init(make_db(tmp_path, [_row(1, "sip:10.0.0.1", state=1)]))
    c = _ctx()
    assert ds.w_ds_select_dst(c, 1, 4) == -1 and c.du is None
    assert ds.w_ds_select_dst(c, 77, 0) == -1


# ---------------------------------------------------------------- flags and failover


def test_failover_avps_and_next_dst(db: str) -> None:
    _init(db)
    c = _ctx()
    assert ds.w_ds_select_dst(c, 1, 0, "f") == 1
    assert c.du == "sip:127.0.0.1:5073"
    assert c.avps.get_all("ds_dst_failover") == [
        "sip:127.0.0.1:5073",
        "sip:127.0.0.1:5071",
        "sip:127.0.0.1:5072",
    ]
    assert c.avps.get("ds_grp_failover") == 1 and c.avps.get("ds_cnt_failover") == 3
    assert ds.w_ds_next_dst(c) == 1 and c.du == "sip:127.0.0.1:5071"
    assert ds.w_ds_next_dst(c) == 1 and c.du == "sip:127.0.0.1:5072"
    assert ds.w_ds_next_dst(c) == -1 and c.du == "sip:127.0.0.1:5072"


def test_max_results_and_default_destination(db: str) -> None:
    _init(db)
    c = _ctx()
    assert ds.w_ds_select_dst(c, 1, 0, "f", None, 2) == 1
    assert c.avps.get_all("ds_dst_failover") == ["sip:127.0.0.1:5073", "sip:127.0.0.1:5071"]
    # d: the last destination is only the default, kept at the bottom of the failover list
    c = _ctx(call_id="a")
    assert ds.w_ds_select_dst(c, 1, 0, "fd") == 1
    assert c.du == f"sip:127.0.0.1:507{ds.ds_get_hash('a') % 2 + 1}"
    assert c.avps.get_all("ds_dst_failover")[-1] == "sip:127.0.0.1:5073"


def test_append_mode_keeps_previous_entries(db: str) -> None:
    _init(db)
    c = _ctx()
    assert ds.w_ds_select_dst(c, 2, 8, "f") == 1
    assert ds.w_ds_select_dst(c, 1, 8, "fa") == 1
    assert c.avps.get_all("ds_dst_failover")[-2:] == ["sip:10.0.0.8:5062", "sip:10.0.0.9"]
    assert c.avps.get_all("ds_grp_failover") == [1, 2]


def test_select_domain_rewrites_host_port(db: str) -> None:
    _init(db)
    c = _ctx(ruri="sip:100@example.com;transport=udp")
    assert ds.w_ds_select_domain(c, 2, 8, "f") == 1
    assert c.du is None
    assert str(c.msg.ruri) == "sip:100@10.0.0.8:5062;transport=udp"
    assert ds.w_ds_next_domain(c) == 1
    assert str(c.msg.ruri) == "sip:100@10.0.0.9;transport=udp"


def test_2x_string_parameters(db: str) -> None:
    _init(db)
    c = _ctx()
    assert ds.w_ds_select_dst(c, "1", "0", "f 2") == 1
    assert c.du == "sip:127.0.0.1:5073" and c.avps.count("ds_dst_failover") == 2
    c = _ctx()
    assert ds.w_ds_select_dst(c, "default : 2,1", "8,0", "fM 1, f") == 1
    # the first set gives $du; the second one only adds failover entries below it
    assert c.du == "sip:10.0.0.8:5062"
    assert c.avps.get("ds_dst_failover") == "sip:10.0.0.8:5062"
    assert "sip:127.0.0.1:5073" in c.avps.get_all("ds_dst_failover")
    c = _ctx()
    c.du = "sip:keep.example"
    assert ds.w_ds_select_dst(c, "1", "0", "s") == 1 and c.du == "sip:keep.example"


# ---------------------------------------------------------------- states


def test_mark_dst_inactive_then_probing_threshold(db: str) -> None:
    st = _init(db, ds_probing_threshold=2)
    c = _ctx()
    ds.w_ds_select_dst(c, 1, 0, "f")
    assert ds.w_ds_mark_dst(c, "i") == 1
    d = next(d for d in st.default.data.by_id[1].dlist if d.uri.endswith("5073"))
    assert d.state_name == "Inactive"
    assert ds.w_ds_mark_dst(c, "a") == 1 and d.state_name == "Active"
    assert ds.w_ds_mark_dst(c, "p") == 1 and d.state_name == "Active"  # 1 failure < threshold 2
    assert ds.w_ds_mark_dst(c, "p") == 1 and d.state_name == "Probing"
    assert ds.w_ds_mark_dst(c, "x") == -1
    assert ds.w_ds_mark_dst(_ctx(), "i") == -1  # nothing selected with f: no AVPs to mark


def test_is_in_list_and_count(db: str) -> None:
    st = _init(db, attrs_avp="$avp(ds_attrs)")
    c = _ctx()
    assert ds.w_ds_is_in_list(c, "127.0.0.1", 5072) == 1
    assert ds.w_ds_is_in_list(c, "127.0.0.1", 5099) == -1
    assert ds.w_ds_is_in_list(c, "10.0.0.9", 5099, 2) == -1  # no port in the URI: the default 5060
    assert ds.w_ds_is_in_list(c, "10.0.0.9", 5060, 2) == 1
    assert ds.w_ds_is_in_list(c, "10.0.0.9", 0, 2) == 1  # port 0: any port
    assert ds.w_ds_is_in_list(c, "10.0.0.9", 0, 1) == -1
    assert ds.w_ds_is_in_list(c, "not-an-ip", 0) == -1
    st.default.data.by_id[1].dlist[1].flags = ds.DS_PROBING_DST
    assert ds.w_ds_is_in_list(c, "127.0.0.1", 5072, 1, None, 1) == -1
    out = parse_pv("$var(n)")
    assert ds.w_ds_count(c, 1, "a", out) == 1 and c.vars["n"] == 2
    assert ds.w_ds_count(c, 1, "p", out) == 1 and c.vars["n"] == 1
    assert ds.w_ds_count(c, 1, "ip", out) == 1 and c.vars["n"] == 1
    assert ds.w_ds_count(c, 1, "", out) == 1 and c.vars["n"] == 3
    assert ds.w_ds_count(c, 9, "a", out) == -1


class FakeTransport:
    proto = "udp"
    local = ("127.0.0.1", 5060)

    def __init__(self) -> None:
        self.sent: list[tuple[bytes, tuple]] = []

    def send(self, data: bytes, dest: tuple) -> bool:
        self.sent.append((data, dest))
        return True


class FakeCore:
    def __init__(self) -> None:
        self.t = FakeTransport()

    def uri_destination(self, uri: str) -> tuple[str, str, int]:
        from pysips.sip.uri import parse_uri

        u = parse_uri(uri)
        return "udp", u.host, u.port or 5060

    def pick_transport(self, proto: str, ip: str) -> FakeTransport:
        return self.t

    def make_via(self, transport: object, branch: str) -> str:
        return f"SIP/2.0/UDP 127.0.0.1:5060;branch={branch}"


def test_probing_rounds_retransmissions_and_replies(db: str) -> None:
    from pysips.sip.message import parse_message

    st = _init(db, ds_probing_mode=1, ds_probing_threshold=1, options_reply_codes="501, 403")
    core = FakeCore()
    prober = ds.Prober(st, core)
    assert prober.send_round(100.0) == 5  # mode 1: every destination that is not inactive
    # set 2 is listed (and probed) first: sets are kept newest first
    first = parse_message(core.t.sent[2][0])
    assert first.method == "OPTIONS" and str(first.ruri) == "sip:127.0.0.1:5071"
    assert first.from_.uri.user == "dispatcher" and first.get_header("Max-Forwards") == "70"
    assert first.via.branch.startswith(ds.PROBE_BRANCH_PREFIX)
    assert core.t.sent[2][1] == ("127.0.0.1", 5071)
    branches = {parse_message(d).to.uri.port or 5060: parse_message(d).via.branch for d, _ in core.t.sent}
    d1, d2, d3 = st.default.data.by_id[1].dlist
    # UDP retransmissions at +0.5 s, then +1 s
    prober.probes.tick(100.5)
    assert len(core.t.sent) == 10
    assert prober.probes.on_reply(branches[5071], 100) is True
    prober.probes.tick(101.5)
    assert len(core.t.sent) == 14  # the probe with a provisional reply is not retransmitted any more
    assert prober.probes.on_reply(branches[5071], 200) is True and d1.state_name == "Active"
    assert prober.probes.on_reply(branches[5072], 501) is True and d2.state_name == "Active"
    assert prober.probes.on_reply(branches[5073], 486) is True and d3.state_name == "Probing"
    assert prober.probes.on_reply("unknown", 200) is False
    prober.probes.tick(104.0)
    assert len(prober.probes.pending) == 2
    prober.probes.tick(105.0)  # fr_timeout (5 s) without an answer: a 408
    assert not prober.probes.pending
    assert [d.state_name for d in st.default.data.by_id[2].dlist] == ["Probing", "Probing"]
    # a probing destination answering again is active again; inactive ones are never probed
    prober.send_round(200.0)
    b = {parse_message(d).to.uri.port or 5060: parse_message(d).via.branch for d, _ in core.t.sent[-5:]}
    prober.probes.on_reply(b[5073], 200)
    assert d3.state_name == "Active"
    d1.flags = ds.DS_INACTIVE_DST
    assert d1 not in [t[2] for t in prober.targets()]
    st.probing_mode = 0
    d2.flags = ds.DS_PROBING_PERM_DST
    assert [t[2] for t in prober.targets()] == st.default.data.by_id[2].dlist + [d2]


# ---------------------------------------------------------------- MI and reload


def test_mi_list_set_state_and_reload(tmp_path: Path) -> None:
    url = make_db(tmp_path, [_row(1, "sip:10.0.0.1", attrs="a=1"), _row(3, "sip:10.0.0.3:5070", prio=2)])
    _init(url)
    out = ds.mi_ds_list(None, {"full": 1})
    assert out == {
        "PARTITIONS": [
            {
                "name": "default",
                "SETS": [
                    {
                        "id": 3,
                        "Destinations": [
                            {
                                "URI": "sip:10.0.0.3:5070",
                                "state": "Active",
                                "first_hit_counter": 0,
                                "weight": 1,
                                "priority": 2,
                                "resolved_addresses": ["10.0.0.3:5070"],
                            },  # fmt: skip
                        ],
                    },
                    {
                        "id": 1,
                        "Destinations": [
                            {
                                "URI": "sip:10.0.0.1",
                                "state": "Active",
                                "first_hit_counter": 0,
                                "attr": "a=1",
                                "weight": 1,
                                "priority": 0,
                                "resolved_addresses": ["10.0.0.1:5060"],
                            },  # fmt: skip
                        ],
                    },
                ],
            }
        ]
    }
    assert ds.mi_ds_set_state(None, {"state": "i", "group": "1", "address": "sip:10.0.0.1"}) == "OK"
    assert ds.mi_ds_list(None, {})["PARTITIONS"][0]["SETS"][1]["Destinations"][0]["state"] == "Inactive"
    with pytest.raises(MIError) as ei:
        ds.mi_ds_set_state(None, {"state": "a", "group": "1", "address": "sip:nope"})
    assert (str(ei.value), ei.value.code) == ("destination not found", 404)
    with pytest.raises(MIError, match="Unknown partition"):
        ds.mi_ds_set_state(None, ["a", "zz:1", "sip:10.0.0.1"])
    # reload keeps the inactive state (inherit_state) and adds the new row
    (tmp_path / "dispatcher").write_text(HEADER + _row(1, "sip:10.0.0.1") + _row(1, "sip:10.0.0.2"))
    assert ds.mi_ds_reload(None, {}) == "OK"
    dests = ds.mi_ds_list(None, {})["PARTITIONS"][0]["SETS"][0]["Destinations"]
    assert [(d["URI"], d["state"]) for d in dests] == [
        ("sip:10.0.0.1", "Inactive"),
        ("sip:10.0.0.2", "Active"),
    ]
    # a broken table: the reload fails and the old data stays
    (tmp_path / "dispatcher").write_text(HEADER + ":x:sip\\:bad::0:0:1:0::\n")
    with pytest.raises(MIError, match="ERROR Reloading data"):
        ds.mi_ds_reload(None, {})
    assert len(ds.mi_ds_list(None, {})["PARTITIONS"][0]["SETS"][0]["Destinations"]) == 2


def test_bad_data_and_settings_fail_the_load(tmp_path: Path) -> None:
    url = make_db(tmp_path, [":1:sip\\:10.0.0.1::0:0:heavy:0::\n"])
    with pytest.raises(ValueError, match="weight 'heavy' is not a number"):
        ds.init({"db_url": url})
    url = make_db(tmp_path / "v", SET1, version=3)
    with pytest.raises(ValueError, match="version 3, expected 8 or 9"):
        ds.init({"db_url": url})
    with pytest.raises(ValueError, match="bad partition definition"):
        ds.init({"partition": "nocolon"})
    # a missing directory is only a warning at load: the data lives on the server
    ds.init({"db_url": f"text://{tmp_path}/elsewhere"})
    assert ds._DATA.data is not None and ds._DATA.data.default.data.sets == []


def test_partitions_and_list_file(tmp_path: Path) -> None:
    other = make_db(tmp_path / "p2", [_row(4, "sip:10.9.9.9")])
    lf = tmp_path / "dispatcher.list"
    lf.write_text("# 1.x list\n1 sip:10.1.1.1 0\n1 sip:10.1.1.2 1\n")
    st = _init("", list_file=str(lf), partition=[f"p2: db_url={other}; dst_avp=$avp(p2dst)"])
    assert [d.state_name for d in st.default.data.by_id[1].dlist] == ["Active", "Inactive"]
    c = _ctx()
    assert ds.w_ds_select_dst(c, 4, 8, "f", "p2") == 1 and c.du == "sip:10.9.9.9"
    assert c.avps.get("p2dst") == "sip:10.9.9.9"
    assert ds.w_ds_select_dst(c, 4, 8, "f", "zz") == -1
    assert ds.w_ds_select_dst(c, "p2:4", "8") == 1


# ---------------------------------------------------------------- through the script language


SCRIPT = """
loadmodule "signaling.so"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "dispatcher.so"
modparam("dispatcher", "db_url", "URL")
route {
    if (!ds_select_dst(1, 0, "f")) { send_reply(503, "Service Unavailable"); exit; }
    $var(first) = $du;
    if (ds_next_dst()) $var(second) = $du;
    t_relay();
}
"""


def test_simulate_table_of_dialled_calls(db: str) -> None:
    from pysips.script.compiler import compile_script

    script, errs = parse_text(SCRIPT.replace("URL", db), "lb.cfg")
    assert not errs
    prog, cerrs = compile_script(script)
    assert not [e for e in cerrs if e.severity == "error"], [e.format() for e in cerrs]
    dests = ["sip:127.0.0.1:5071", "sip:127.0.0.1:5072", "sip:127.0.0.1:5073"]
    for cid in ("abc123@host", "a", "alice", "call-42@pc33"):
        req = (
            "INVITE sip:100@example.com SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\n"
            f"From: <sip:a@x>;tag=1\nTo: <sip:100@example.com>\nCall-ID: {cid}\nCSeq: 1 INVITE\n"
            "Content-Length: 0\n\n"
        )
        res = simulate(prog, req)
        k = ds.ds_get_hash(cid) % 3
        assert res["vars"]["first"] == dests[k]
        assert res["vars"]["second"] == dests[(k + 1) % 3]
        assert res["du"] == dests[(k + 1) % 3]
        assert res["avps"]["ds_cnt_failover"] == [3]


def test_pvar_load_algorithm_and_setid_pvname(db: str) -> None:
    _init(db, pvar_algo_pattern="$var(load_%u)", setid_pvname="$var(setid)")
    c = _ctx()
    c.vars.update(
        {"load_sip:127.0.0.1:5071": 7, "load_sip:127.0.0.1:5072": "2", "load_sip:127.0.0.1:5073": 2}
    )
    assert ds.w_ds_select_dst(c, 1, 9, "f") == 1
    # lowest load first; equal loads keep the set order
    assert c.du == "sip:127.0.0.1:5072"
    assert c.avps.get_all("ds_dst_failover") == [
        "sip:127.0.0.1:5072",
        "sip:127.0.0.1:5073",
        "sip:127.0.0.1:5071",
    ]
    c.vars["load_sip:127.0.0.1:5071"] = "lots"  # not a number: that destination is left out of the ranking
    c2 = _ctx()
    c2.vars = c.vars
    assert ds.w_ds_select_dst(c2, 1, 9) == 1 and c2.du == "sip:127.0.0.1:5072"
    # ds_is_in_list without a set writes the matching set id into setid_pvname
    assert ds.w_ds_is_in_list(c2, "10.0.0.8", 5062) == 1 and c2.vars["setid"] == 2
