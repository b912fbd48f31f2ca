"""The project's own example scenarios (scenarios/*.xml) load without a single diagnostic and mean what they say."""

from __future__ import annotations

from pathlib import Path

import pytest

from pysips.b2b.scenario_xml import NOTDEF_STATE, load_scenario_file, load_scenarios

DIR = Path(__file__).resolve().parents[2] / "scenarios"

# file -> (scenario id, modparam kind)
EXPECTED = {
    "seed-ex1.xml": ("seed-ex1", "script"),
    "seed-ex1.5.xml": ("seed-ex1.5", "script"),
    "prepaid.xml": ("prepaid", "script"),
    "marketing.xml": ("marketing", "extern"),
    "refer.xml": ("refer", "script"),
    "callcenter.xml": ("callcenter", "script"),
    "cc_generic.xml": ("cc_generic", "script"),
}


def _load(name: str):
    sid, kind = EXPECTED[name]
    sc, diags = load_scenario_file(str(DIR / name), kind)
    assert [d.format() for d in diags] == []
    assert sc is not None and sc.id == sid and sc.type == kind
    return sc


def test_every_file_is_listed():
    assert sorted(p.name for p in DIR.glob("*.xml")) == sorted(EXPECTED)


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_loads_cleanly(name):
    _load(name)


def test_all_together_by_declared_type():
    scenarios, diags = load_scenarios(sorted(p.name for p in DIR.glob("*.xml")), base_dir=str(DIR))
    assert diags == []
    assert {s.id: s.type for s in scenarios.values()} == dict(EXPECTED.values())


def _bridge(rule):
    return [
        (e.ref, e.id, e.new, e.destination and (e.destination.type, e.destination.index))
        for e in rule.action.bridge.entities
    ]


def test_seed_ex1():
    sc = _load("seed-ex1.xml")
    assert sc.param_count == 2 and sc.init.state == 1
    assert sc.init.bridge.server_ids == ("server1",)
    (c1,) = sc.init.bridge.clients
    assert (c1.id, c1.type, c1.destination.type, c1.destination.index) == ("client1", "message", "param", 1)
    rule = sc.rule_for("BYE", 1)
    assert (rule.sender_type, rule.sender_id) == ("client", "client1")
    assert (rule.action.send_reply.code, rule.action.delete_entity, rule.action.state) == (200, True, 2)
    assert _bridge(rule) == [("id", "server1", False, None), ("id", "client2", True, ("param", 2))]
    assert sc.rule_for("BYE", 2) is None


def test_seed_ex1_5_adds_the_second_announcement():
    sc = _load("seed-ex1.5.xml")
    assert sc.param_count == 3
    assert [r.id for r in sc.rules["BYE"]] == [2, 1]
    first, second = sc.rule_for("BYE", 1), sc.rule_for("BYE", 2)
    assert _bridge(first) == [("id", "server1", False, None), ("id", "client2", True, ("param", 2))]
    assert (second.sender_type, second.sender_id, second.action.state) == ("client", "client2", 3)
    assert second.action.send_reply.code == 200 and second.action.delete_entity
    assert _bridge(second) == [("id", "server1", False, None), ("id", "client3", True, ("param", 3))]


def test_prepaid_marketing_refer_callcenter():
    prepaid = _load("prepaid.xml")
    assert _bridge(prepaid.rule_for("BYE", 1))[1] == ("id", "callee", True, ("initial", None))
    assert prepaid.rule_for("BYE", 1).action.bridge.lifetime == 3600
    (hdr,) = prepaid.init.bridge.clients[0].headers
    assert (hdr.name.text, hdr.value.text) == ("X-Prepaid-Step", "credit")

    marketing = _load("marketing.xml")
    customer, offer = marketing.init.bridge.clients
    assert marketing.init.bridge.servers == () and marketing.init.bridge.lifetime == 300
    assert customer.from_dname.text == "Special offers" and offer.destination.index == 2
    assert _bridge(marketing.rule_for("BYE", 1)) == [
        ("id", "customer", False, None),
        ("id", "agent", True, ("param", 3)),
    ]

    refer = _load("refer.xml")
    assert refer.init.state is None
    rule = refer.rule_for("REFER", NOTDEF_STATE)
    assert (rule.action.send_reply.code, rule.action.end_dialog_leg) == (202, True)
    assert rule.action.bridge.entities[0].ref == "peer"
    assert rule.action.bridge.entities[1].destination.text == "Refer-To"

    cc = _load("callcenter.xml")
    (flow,) = cc.init.bridge.clients[0].headers
    assert (flow.name.text, flow.value.type, flow.value.index) == ("X-CC-Flow", "param", 2)
    assert cc.rule_for("BYE", 1).action.bridge.provisional_media == "sip:ringback@127.0.0.1"
