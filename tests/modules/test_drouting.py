"""drouting: prefix / group / priority / time rule selection, gateways and carriers, failover, checks, MI."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from pysips.errors import MIError
from pysips.modules import drouting as dr
from pysips.script.compiler import compile_script
from pysips.script.parser import parse_text
from pysips.script.pvars import parse_pv
from pysips.script.simulate import simulate
from tests.modules._msgs import make_ctx

GW_H = (
    "id(int,auto) gwid(string) type(int) address(string) strip(int) pri_prefix(string,null) attrs(string,null) "
    "probe_mode(int) state(int) socket(string,null) description(string,null) \n"
)
RULE_H_3X = (
    "ruleid(int,auto) groupid(string) prefix(string) timerec(string,null) priority(int) routeid(string,null) "
    "gwlist(string,null) sort_alg(string) sort_profile(int,null) attrs(string,null) description(string,null) \n"
)
RULE_H_24 = (
    "ruleid(int,auto) groupid(string) prefix(string) timerec(string,null) priority(int) routeid(string,null) "
    "gwlist(string) attrs(string,null) description(string,null) \n"
)
CR_H = (
    "id(int,auto) carrierid(string) gwlist(string) flags(int) sort_alg(string) state(int) attrs(string,null) "
    "description(string,null) \n"
)
GRP_H = "id(int,auto) username(string) domain(string,null) groupid(int) description(string,null) \n"

GWS = [
    ":gwA:1:127.0.0.1\\:5081:0:::0:0::\n",
    ":gwB:1:127.0.0.1\\:5082:2:00:b-attrs:0:0::\n",
    ":gwC:2:sip\\:127.0.0.1\\:5083:0:::0:0::\n",
    ":gwOff:1:127.0.0.1\\:5084:0:::0:1::\n",
]
CARRIERS = [":cr1:gwB,gwC:0:N:0:cr1-attrs:\n", ":crFirst:gwOff,gwA,gwC:1:N:0::\n", ":crOff:gwA:0:N:1::\n"]
# business hours on weekdays (UTC), 3.2+ format with a timezone and dtend
OFFICE = "UTC|20240101T090000|20240101T170000||WEEKLY|||MO,TU,WE,TH,FR"
RULES = [
    ":1:40::0::gwA:N::r40:\n",
    ":1:4021::0::#cr1:N::r4021:\n",
    ":1:4::0::gwC:N::r4:\n",
    f":1:4022:{OFFICE.replace(':', chr(92) + ':')}:10::gwB:N::office:\n",
    ":1:4022::0::gwC:N::after-hours:\n",
    ":1,2:33::5::gwOff,gwA=5,#crFirst:N::fr:\n",
    ":2:33::9::#crOff:N::off:\n",
]
MONDAY_10 = datetime(2024, 1, 8, 10, tzinfo=UTC).timestamp()
SATURDAY_10 = datetime(2024, 1, 6, 10, tzinfo=UTC).timestamp()


def make_db(
    path: Path,
    rules: list[str] = RULES,
    header: str = RULE_H_3X,
    groups: list[str] = (),
    gws: list[str] = GWS,
    carriers: list[str] = CARRIERS,
) -> str:
    path.mkdir(parents=True, exist_ok=True)
    (path / "version").write_text(
        "table_name(string) table_version(int) \ndr_gateways:6\ndr_rules:4\ndr_carriers:3\ndr_groups:2\n"
    )
    (path / "dr_gateways").write_text(GW_H + "".join(gws))
    (path / "dr_carriers").write_text(CR_H + "".join(carriers))
    (path / "dr_rules").write_text(header + "".join(rules))
    (path / "dr_groups").write_text(GRP_H + "".join(groups))
    return f"text://{path}"


@pytest.fixture
def st(tmp_path: Path) -> dr.DRState:
    dr.init({"db_url": make_db(tmp_path)})
    assert dr._DATA.data is not None
    return dr._DATA.data


def _ctx(ruri: str = "sip:40215551234@example.com", now: float = MONDAY_10, frm: str = "sip:alice@a.example"):
    data = (
        f"INVITE {ruri} SIP/2.0\r\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\r\n"
        f"From: <{frm}>;tag=1\r\nTo: <{ruri}>\r\nCall-ID: c1\r\nCSeq: 1 INVITE\r\nContent-Length: 0\r\n\r\n"
    ).encode()
    return make_ctx(data, now=now)


@pytest.mark.parametrize(
    ("number", "now", "ruri", "rule_attrs"),
    [
        # longest prefix wins: 4021 -> carrier cr1 -> gwB (strip 2, prefix 00)
        ("40215551234", MONDAY_10, "sip:00215551234@127.0.0.1:5082", "r4021"),
        ("4099", MONDAY_10, "sip:4099@127.0.0.1:5081", "r40"),
        ("4111", MONDAY_10, "sip:4111@127.0.0.1:5083", "r4"),
        # same prefix: the time rule (priority 10) during office hours, else the other one
        ("4022000", MONDAY_10, "sip:0022000@127.0.0.1:5082", "office"),
        ("4022000", SATURDAY_10, "sip:4022000@127.0.0.1:5083", "after-hours"),
    ],
)
def test_rule_selection_table(st: dr.DRState, number: str, now: float, ruri: str, rule_attrs: str) -> None:
    c = _ctx(f"sip:{number}@example.com;user=phone", now)
    ra = parse_pv("$var(ra)")
    assert dr.w_do_routing(c, 1, None, None, ra) == 1
    assert str(c.msg.ruri) == ruri + ";user=phone"
    assert c.vars["ra"] == rule_attrs


def test_gateway_address_is_used_as_written(st: dr.DRState) -> None:
    # build_ruri uses the address column without its "sip:" / "sips:" and user part
    assert st.data.gws["gwC"].hostport == "127.0.0.1:5083"
    assert dr.Gateway("g", "sips:u@10.0.0.1:5061").hostport == "10.0.0.1:5061"
    assert dr.Gateway("g", "10.0.0.1").port == 5060


def test_no_rule_and_bad_characters(st: dr.DRState) -> None:
    c = _ctx("sip:999@example.com")
    assert dr.w_do_routing(c, 1) == -1
    assert str(c.msg.ruri) == "sip:999@example.com"
    assert dr.w_do_routing(_ctx("sip:40a1@example.com"), 1) == -1  # not a number: only default rules
    assert dr.w_do_routing(_ctx(), 7) == -1


def test_avps_and_use_next_gw(st: dr.DRState) -> None:
    c = _ctx("sip:33123@example.com")
    ga = parse_pv("$var(ga)")
    ca = parse_pv("$var(ca)")
    assert dr.w_do_routing(c, 1, None, None, None, ga, ca) == 1
    # gwOff is disabled; crFirst uses only its first usable gateway (gwA)
    assert str(c.msg.ruri) == "sip:33123@127.0.0.1:5081"
    assert c.avps.get_all("___dr_gw_id__") == ["gwA", "gwA"]
    assert c.avps.get_all("___dr_ruri__") == ["sip:33123@127.0.0.1:5081"]
    assert c.vars["ga"] == "" and c.vars["ca"] == ""
    assert dr.w_use_next_gw(c, None, ga, ca) == 1
    assert str(c.msg.ruri) == "sip:33123@127.0.0.1:5081"
    assert dr.w_use_next_gw(c) == -1


def test_carrier_attrs_and_next_gateway_in_carrier(st: dr.DRState) -> None:
    c = _ctx()
    ga, ca = parse_pv("$var(ga)"), parse_pv("$var(ca)")
    assert dr.w_do_routing(c, 1, "", None, None, ga, ca) == 1
    assert (c.vars["ga"], c.vars["ca"]) == ("b-attrs", "cr1-attrs")
    assert dr.w_use_next_gw(c, None, ga, ca) == 1
    assert str(c.msg.ruri) == "sip:40215551234@127.0.0.1:5083"
    assert (c.vars["ga"], c.vars["ca"]) == ("", "cr1-attrs")
    assert dr.w_use_next_gw(c) == -1  # no F flag: no rule fallback


def test_rule_fallback_flag(st: dr.DRState) -> None:
    c = _ctx()
    assert dr.w_do_routing(c, 1, "F") == 1
    seen = [str(c.msg.ruri)]
    while dr.w_use_next_gw(c) == 1 and len(seen) < 10:
        seen.append(str(c.msg.ruri))
    assert seen == [
        "sip:00215551234@127.0.0.1:5082",  # 4021 -> cr1: gwB
        "sip:40215551234@127.0.0.1:5083",  # cr1: gwC
        "sip:40215551234@127.0.0.1:5081",  # fallback to prefix 40: gwA
        "sip:40215551234@127.0.0.1:5083",  # fallback to prefix 4: gwC
    ]


def test_strict_length_and_check_only(st: dr.DRState) -> None:
    assert dr.w_do_routing(_ctx("sip:4021999@x"), 1, "L") == -1
    c = _ctx("sip:4021@x")
    assert dr.w_do_routing(c, 1, "L") == 1 and c.msg.ruri.host == "127.0.0.1"
    c = _ctx("sip:4021999@x")
    assert dr.w_do_routing(c, 1, "C") == 1
    assert str(c.msg.ruri) == "sip:4021999@x" and c.avps.count("___dr_gw_id__") == 0
    assert dr.w_do_routing(_ctx(), 1, "Z") == -1


def test_whitelist_and_disabled_carrier(st: dr.DRState) -> None:
    c = _ctx("sip:33123@example.com")
    assert dr.w_do_routing(c, 1, None, "gwA") == 1
    assert c.avps.get_all("___dr_gw_id__") == ["gwA"]
    assert dr.w_do_routing(c, 1, None, "gwC") == -1
    # group 2 / prefix 33: the priority-9 rule only has a disabled carrier; F falls back to the next rule
    c = _ctx("sip:33123@example.com")
    assert dr.w_do_routing(c, 2) == -1
    assert dr.w_do_routing(c, 2, "F") == 1


def test_group_from_dr_groups(tmp_path: Path) -> None:
    dr.init({"db_url": make_db(tmp_path, groups=[":alice:a.example:2:\n"])})
    c = _ctx("sip:33999@example.com")
    assert dr.w_do_routing(c) == -1  # the only group 2 rule for 33 points to a disabled carrier
    assert dr.w_do_routing(_ctx("sip:33999@example.com", frm="sip:alice@a.example"), None, "F") == 1
    assert dr.w_do_routing(_ctx(frm="sip:bob@b.example")) == -1
    dr.init({"db_url": make_db(tmp_path), "default_group": 1})
    assert dr.w_do_routing(_ctx(frm="sip:bob@b.example")) == 1


def test_2x_tables_and_timerec_without_dtend(tmp_path: Path) -> None:
    rules = [
        ":1:55:20240101T090000|8H|WEEKLY|||MO,TU,WE,TH,FR:1::gwA::\n",
        ":1:55::0::gwB::\n",
    ]
    dr.init({"db_url": make_db(tmp_path, rules, RULE_H_24)})
    c = _ctx("sip:5512@x", MONDAY_10)
    assert dr.w_do_routing(c, "1") == 1 and c.msg.ruri.port == 5081
    c = _ctx("sip:5512@x", SATURDAY_10)
    assert dr.w_do_routing(c, "part:1") == 1 and c.msg.ruri.port == 5082


def test_goes_to_and_is_from_gateway(st: dr.DRState) -> None:
    c = _ctx("sip:123@127.0.0.1:5082")
    assert dr.w_goes_to_gw(c) == 1
    assert dr.w_goes_to_gw(c, 2) == -1
    assert dr.w_goes_to_gw(c, None, "sp") == 1
    assert c.msg.ruri.user == "003"  # strip 2 digits of "123", then the pri_prefix "00"
    c = _ctx("sip:123@127.0.0.1:5999")
    assert dr.w_goes_to_gw(c) == -1 and dr.w_goes_to_gw(c, None, "n") == 1
    c = make_ctx()
    c.src_ip, c.src_port = "127.0.0.1", 5083
    assert dr.w_is_from_gw(c, 2, "i") == 1 and c.avps.get("___dr_gw_id__") == "gwC"
    assert dr.w_dr_is_gw(c, "sip:x@127.0.0.1:5081") == 1
    assert dr.w_dr_is_gw(c, "sip:x@10.1.1.1") == -1


def test_route_to_gw_carrier_and_disable(st: dr.DRState) -> None:
    c = _ctx("sip:777@example.com")
    assert dr.w_route_to_gw(c, "gwC,gwA") == 1
    assert str(c.msg.ruri) == "sip:777@127.0.0.1:5083"
    assert dr.w_use_next_gw(c) == 1 and c.msg.ruri.port == 5081
    assert dr.w_route_to_gw(_ctx(), "nope") == -1
    c = _ctx("sip:777@example.com")
    assert dr.w_route_to_carrier(c, "cr1") == 1 and str(c.msg.ruri) == "sip:007@127.0.0.1:5082"
    assert dr.w_dr_disable(c) == 1 and st.data.gws["gwB"].disabled
    c = _ctx()
    assert dr.w_do_routing(c, 1) == 1 and str(c.msg.ruri) == "sip:40215551234@127.0.0.1:5083"


def test_dr_match(st: dr.DRState) -> None:
    ra = parse_pv("$var(ra)")
    c = _ctx()
    assert dr.w_dr_match(c, 1, None, "4099", ra) == 1 and c.vars["ra"] == "r40"
    assert dr.w_dr_match(c, 1, "L", "4099", ra) == -1


def test_mi_status_and_reload(tmp_path: Path) -> None:
    dr.init({"db_url": make_db(tmp_path)})
    out = dr.mi_dr_gw_status(None, {})
    assert out["Gateways"][1] == {"ID": "gwB", "IP": "127.0.0.1:5082", "ATTRS": "b-attrs", "State": "Active"}
    assert {g["ID"]: g["State"] for g in out["Gateways"]} == {
        "gwA": "Active",
        "gwB": "Active",
        "gwC": "Active",
        "gwOff": "Disabled MI",
    }
    assert dr.mi_dr_gw_status(None, {"gw_id": "gwA", "status": 0}) == "OK"
    assert dr.mi_dr_gw_status(None, {"gw_id": "gwA"}) == {"State": "Disabled MI"}
    with pytest.raises(MIError) as ei:
        dr.mi_dr_gw_status(None, {"gw_id": "zz"})
    assert (str(ei.value), ei.value.code) == ("GW ID not found", 404)
    assert dr.mi_dr_carrier_status(None, {"carrier_id": "cr1", "status": 0}) == "OK"
    assert dr.mi_dr_carrier_status(None, {"carrier_id": "cr1"}) == {"ATTRS": "cr1-attrs", "Enabled": "no "}
    assert dr.mi_dr_carrier_status(None, {})["Carriers"][1] == {"ID": "crFirst", "Enabled": "yes"}
    (tmp_path / "dr_rules").write_text(RULE_H_3X + ":1:40::0::gwUnknown:N:::\n")
    with pytest.raises(MIError):
        dr.mi_dr_reload(None, {})
    assert dr.mi_dr_carrier_status(None, {"carrier_id": "cr1"})["Enabled"] == "no "  # the old data stays
    (tmp_path / "dr_rules").write_text(RULE_H_3X + "".join(RULES))
    assert dr.mi_dr_reload(None, {}) == "OK"  # states are inherited by id
    assert dr.mi_dr_carrier_status(None, {"carrier_id": "cr1"})["Enabled"] == "no "
    assert dr.mi_dr_gw_status(None, {"gw_id": "gwA"}) == {"State": "Disabled MI"}
    assert dr.mi_dr_reload(None, {"inherit_state": "n"}) == "OK"
    assert dr.mi_dr_carrier_status(None, {"carrier_id": "cr1"})["Enabled"] == "yes"
    assert dr.mi_dr_gw_status(None, {"gw_id": "gwA"}) == {"State": "Active"}


def test_mi_number_routing(st: dr.DRState) -> None:
    assert dr.mi_dr_number_routing(None, {"number": "4021999"}) == {
        "Matched Prefix": "4021",
        "GW List": [{"CARRIER": "cr1"}],
        "ATTRS": "r4021",
    }
    assert dr.mi_dr_number_routing(None, {"group_id": "2", "number": "33"})["GW List"] == [
        {"CARRIER": "crOff"}
    ]
    assert dr.mi_dr_number_routing(None, {"number": "999"}) == "No match"


def test_bad_data_is_reported_with_file_and_line(tmp_path: Path) -> None:
    url = make_db(tmp_path, [":1:40::0::gwA:N:::\n", ":1:41::0::gwZ:N:::\n"])
    with pytest.raises(ValueError, match=r"dr_rules:3: unknown gateway 'gwZ'"):
        dr.init({"db_url": url})
    url = make_db(tmp_path, [":1:40:garbage:0::gwA:N:::\n"])
    with pytest.raises(ValueError, match=r"dr_rules:2: bad timerec 'garbage'"):
        dr.init({"db_url": url})


SCRIPT = """
loadmodule "signaling.so"
loadmodule "sl.so"
loadmodule "tm.so"
loadmodule "drouting.so"
modparam("drouting", "db_url", "URL")
route {
    if (!do_routing(1, "F")) { send_reply(404, "No Route"); exit; }
    t_on_failure("next");
    t_relay();
}
failure_route[next] {
    if (use_next_gw()) t_relay();
}
"""


def test_simulate_dialled_numbers(tmp_path: Path) -> None:
    script, errs = parse_text(SCRIPT.replace("URL", make_db(tmp_path)), "dr.cfg")
    assert not errs
    prog, cerrs = compile_script(script)
    assert not [e for e in cerrs if e.severity == "error"], [e.format() for e in cerrs]
    table = {
        "40215551234": "sip:00215551234@127.0.0.1:5082",
        "4099": "sip:4099@127.0.0.1:5081",
        "33123": "sip:33123@127.0.0.1:5081",
        "999": "sip:999@example.com",
    }
    for number, ruri in table.items():
        req = (
            f"INVITE sip:{number}@example.com SIP/2.0\nVia: SIP/2.0/UDP 10.0.0.1;branch=z9hG4bK1\n"
            f"From: <sip:a@x>;tag=1\nTo: <sip:{number}@example.com>\nCall-ID: c\nCSeq: 1 INVITE\n"
            "Content-Length: 0\n\n"
        )
        res = simulate(prog, req)
        assert (number, res["ruri"]) == (number, ruri)


def test_gateway_probing(tmp_path: Path) -> None:
    from pysips.sip.message import parse_message
    from tests.modules.test_dispatcher import FakeCore

    gws = [
        ":always:1:127.0.0.1\\:5091:0:::2:0::\n",  # probe_mode 2: always probed
        ":whendown:1:127.0.0.1\\:5092:0:::1:2::\n",  # probe_mode 1, state 2 (disabled, may be re-enabled)
        ":mi-off:1:127.0.0.1\\:5093:0:::2:1::\n",  # state 1: disabled for good, never probed
        ":never:1:127.0.0.1\\:5094:0:::0:0::\n",
    ]
    url = make_db(tmp_path, [":1:5::0::always,whendown:N:::\n"], gws=gws, carriers=[])
    dr.init({"db_url": url, "probing_reply_codes": "404"})
    st = dr._DATA.data
    assert st is not None
    core = FakeCore()
    prober = dr.DRProber(st, core)
    assert [g.id for g in prober.targets()] == ["always", "whendown"]
    assert prober.send_round(10.0) == 2
    msgs = [parse_message(d) for d, _ in core.t.sent]
    assert [str(m.ruri) for m in msgs] == ["sip:127.0.0.1:5091", "sip:127.0.0.1:5092"]
    assert msgs[0].from_.uri.user == "prober" and msgs[0].via.branch.startswith(dr.DR_PROBE_PREFIX)
    gws_ = st.data.gws
    assert dr.mi_dr_gw_status(None, ["whendown"]) == {"State": "Probing"}
    prober.probes.on_reply(msgs[1].via.branch, 404)  # an accepted code: re-enabled
    assert not gws_["whendown"].disabled
    prober.probes.on_reply(msgs[0].via.branch, 503)
    assert gws_["always"].disabled and dr.mi_dr_gw_status(None, ["always"]) == {"State": "Inactive"}
    # the disabled gateway is skipped by do_routing until a probe brings it back
    c = _ctx("sip:5123@x")
    assert dr.w_do_routing(c, 1) == 1 and c.msg.ruri.port == 5092
    # probe_mode 1 gateways are only probed while disabled
    assert prober.send_round(20.0) == 1
    prober.probes.tick(26.0)  # no answer within fr_timeout: a 408, it stays disabled
    assert gws_["always"].disabled and not gws_["whendown"].disabled
    assert prober.send_round(30.0) == 1
    prober.probes.on_reply(parse_message(core.t.sent[-1][0]).via.branch, 200)
    assert not gws_["always"].disabled


def test_table_versions_are_checked(tmp_path: Path) -> None:
    url = make_db(tmp_path)
    (tmp_path / "version").write_text("table_name(string) table_version(int) \ndr_gateways:5\ndr_rules:4\n")
    with pytest.raises(ValueError, match="table 'dr_gateways' has version 5, expected 6"):
        dr.init({"db_url": url})
