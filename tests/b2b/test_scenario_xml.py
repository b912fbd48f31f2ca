"""b2b XML scenario loader: the OpenSIPS corpus, every diagnostic with its file:line, rule order as OpenSIPS walks it."""

from __future__ import annotations

import os
import textwrap
from pathlib import Path

import pytest

from pysips.b2b.scenario_xml import (
    NO_COND_STATE,
    NOTDEF_STATE,
    Value,
    check_scenarios,
    load_scenario_file,
    load_scenarios,
)
from pysips.script.ast import Pos

CORPUS = Path("/work/shared/corpus/scenarios")

# file -> (id, type, param count, init state, servers, clients, {method: rule ids in evaluation order}, diagnostics)
CORPUS_EXPECT = {
    "01_opensips-1.11_scenario_callcenter.xml": (
        "call center",
        "script",
        1,
        1,
        ("server1",),
        ("client1",),
        {},
    ),
    "02_opensips-3.2_scenario_callcenter.xml": (
        "call center",
        "script",
        2,
        1,
        ("server1",),
        ("client1",),
        {},
    ),
    "03_opensips-3.2_scenario_agent.xml": (
        "call center agent",
        "extern",
        4,
        5,
        (),
        ("client1", "client2"),
        {},
    ),
    "04_opensips-master_scenario_callcenter.xml": (
        "call center",
        "script",
        2,
        1,
        ("server1",),
        ("client1",),
        {},
    ),
    "05_opensips-master_scenario_agent.xml": (
        "call center agent",
        "extern",
        4,
        5,
        (),
        ("client1", "client2"),
        {},
    ),
    "06_opensips-docs_tutorials-b2bua-1-6_prepaid.xml": (
        "prepaid",
        "script",
        2,
        1,
        ("server1",),
        ("client1",),
        {"BYE": [2, 1]},
    ),
    "07_opensips-docs_tutorials-b2bua-1-6_marketing.xml": (
        "marketing",
        "extern",
        3,
        1,
        (),
        ("client1", "client2"),
        {"BYE": [1]},
    ),
    "08_opensips-docs_tutorials-b2bua-older-3-2_prepaid.xml": (
        "prepaid",
        "script",
        2,
        1,
        ("server1",),
        ("client1",),
        {"BYE": [2, 1]},
    ),
    "09_opensips-docs_tutorials-b2bua-older-3-2_marketing.xml": (
        "marketing",
        "extern",
        3,
        1,
        (),
        ("client1", "client2"),
        {"BYE": [1]},
    ),
    "10_opensips-docs_tutorials-b2bua-older-3-2_refer.xml": (
        "refer",
        "script",
        0,
        None,
        ("server1",),
        ("client1",),
        {"REFER": [1]},
    ),
}


@pytest.mark.skipif(not CORPUS.is_dir(), reason="/work/shared corpus not available")
def test_corpus_is_complete():
    assert sorted(p.name for p in CORPUS.glob("*.xml")) == sorted(CORPUS_EXPECT)


@pytest.mark.skipif(not CORPUS.is_dir(), reason="/work/shared corpus not available")
@pytest.mark.parametrize("name", sorted(CORPUS_EXPECT))
def test_corpus_file_loads(name):
    sid, kind, params, state, servers, clients, rules = CORPUS_EXPECT[name]
    # loaded the way OpenSIPS would: by the modparam matching the file's declared type
    scenarios, diags = load_scenarios([(kind, name)], base_dir=str(CORPUS))
    assert [d.format() for d in diags] == []
    sc = scenarios[sid]
    assert (sc.type, sc.param_count, sc.init.state) == (kind, params, state)
    assert sc.init.bridge.server_ids == servers
    assert tuple(c.id for c in sc.init.bridge.clients) == clients
    assert {m: [r.id for r in rs] for m, rs in sc.rules.items()} == rules
    assert sc.file == str(CORPUS / name) and sc.line == 2


@pytest.mark.skipif(not CORPUS.is_dir(), reason="/work/shared corpus not available")
def test_corpus_details():
    d, _ = load_scenarios(
        [
            ("extern", "03_opensips-3.2_scenario_agent.xml"),
            ("script", "06_opensips-docs_tutorials-b2bua-1-6_prepaid.xml"),
            ("script", "10_opensips-docs_tutorials-b2bua-older-3-2_refer.xml"),
        ],
        base_dir=str(CORPUS),
    )
    agent = d["call center agent"].init.bridge.clients[0]
    assert agent.type is None and agent.from_dname == Value("param", "3", agent.from_dname.pos, 3)
    assert agent.from_dname.pos.line == 11
    r1 = d["prepaid"].rule_for("BYE", 1)
    assert (r1.id, r1.sender_type, r1.sender_id, r1.action.state, r1.action.delete_entity) == (
        1,
        "client",
        "client1",
        2,
        True,
    )
    assert r1.action.send_reply.code == 200 and r1.action.send_reply.reason == "OK"
    a, b = r1.action.bridge.entities
    assert (a.ref, a.id, a.new, b.id, b.new, b.destination.type) == (
        "id",
        "server1",
        False,
        "client2",
        True,
        "initial",
    )
    refer = d["refer"].rule_for("REFER", NOTDEF_STATE)
    assert refer.cond_state == NO_COND_STATE and refer.action.end_dialog_leg
    peer, target = refer.action.bridge.entities
    assert peer.ref == "peer" and (target.destination.type, target.destination.text) == ("header", "Refer-To")


# ---------------------------------------------------------------- diagnostics


def _write(tmp_path: Path, body: str, name: str = "s.xml") -> str:
    p = tmp_path / name
    p.write_text(textwrap.dedent(body).lstrip("\n"))
    return str(p)


def _diags(tmp_path: Path, body: str, kind: str | None = "script") -> list[tuple[str, str, int, int, str]]:
    path = _write(tmp_path, body)
    sc, diags = load_scenario_file(path, kind)
    for d in diags:
        assert d.file == path
    if any(d.severity == "error" for d in diags):
        assert sc is None
    return [(d.severity, d.code, d.line, d.column, d.message) for d in diags]


INIT = """
  <init>
    <bridge>
      <server><id>server1</id></server>
      <client>
        <id>client1</id>
        <type>message</type>
        <destination><value type="param">1</value></destination>
      </client>
    </bridge>
    <state>1</state>
  </init>"""


def _scenario(rules: str = "", head: str = '<scenario id="s" param="2">', init: str = INIT) -> str:
    return f"{head}{init}\n{rules}\n</scenario>\n"


def test_clean_scenario_loads(tmp_path):
    assert _diags(tmp_path, _scenario()) == []


def test_not_well_formed(tmp_path):
    assert _diags(tmp_path, '<scenario id="s" param="1">\n  <init>\n</scenario>\n') == [
        ("error", "E401", 3, 3, "not well-formed XML: mismatched tag")
    ]


def test_missing_file():
    sc, diags = load_scenario_file("/nonexistent/x.xml")
    assert sc is None
    assert [(d.code, d.message) for d in diags] == [
        ("E401", "cannot read scenario file: No such file or directory")
    ]


def test_comment_before_root(tmp_path):
    assert _diags(tmp_path, "<?xml version='1.0'?>\n<!-- hi -->\n" + _scenario()) == [
        (
            "error",
            "E401",
            2,
            1,
            "a comment before the root element: OpenSIPS 2.4 reads the scenario id from the first node of the "
            'document and refuses the file ("No id attribute found for root node")',
        )
    ]


@pytest.mark.parametrize(
    ("head", "expect"),
    [
        ('<scenario param="1">', [("error", "E402", 1, 1, "<scenario> has no id attribute")]),
        (
            '<scenario id="s">',
            [
                (
                    "error",
                    "E402",
                    1,
                    1,
                    "<scenario> has no param attribute (the number of scenario parameters)",
                )
            ],
        ),
        (
            '<scenario id="s" param="two">',
            [("error", "E404", 1, 1, "the param attribute must be an unsigned integer, got 'two'")],
        ),
        (
            '<scenario id="s" param="11">',
            [("error", "E406", 1, 1, 'param="11": a scenario takes at most 10 parameters')],
        ),
        (
            '<scenario id="s" param="1" kind="x">',
            [("warning", "W404", 1, 1, 'unknown attribute kind="x" on <scenario> is ignored')],
        ),
        (
            '<scenario id="s" param="1" type="extern">',
            [
                (
                    "warning",
                    "W405",
                    1,
                    1,
                    'the scenario says type="extern" but is loaded by script_scenario: OpenSIPS ignores the '
                    "attribute and runs it as a script scenario",
                )
            ],
        ),
    ],
)
def test_root_attributes(tmp_path, head, expect):
    got = _diags(tmp_path, _scenario(head=head))
    if head == '<scenario param="1">':
        assert got[: len(expect)] == expect
    else:
        assert got == expect


def test_unknown_element_has_hint(tmp_path):
    path = _write(
        tmp_path,
        _scenario(
            '  <rules><request><bye><rule id="1"><action><delete_entiy/></action></rule></bye></request></rules>'
        ),
    )
    sc, diags = load_scenario_file(path)
    assert sc is None
    (d,) = diags
    assert (d.code, d.line, d.column, d.message) == (
        "E403",
        13,
        45,
        "unknown element <delete_entiy> in <action>",
    )
    assert d.hint == "<action> takes <bridge>, <delete_entity>, <end_dialog_leg>, <send_reply>, <state>"
    assert d.format().startswith(f"{path}:13:45: error: unknown element <delete_entiy> in <action>\n    ")


def test_init_missing_and_init_without_bridge(tmp_path):
    assert _diags(tmp_path, '<scenario id="s" param="1">\n</scenario>\n') == [
        ("error", "E407", 1, 1, 'scenario "s" has no <init>')
    ]
    assert _diags(
        tmp_path, '<scenario id="s" param="1">\n  <init><state>1</state></init>\n</scenario>\n'
    ) == [
        (
            "error",
            "E407",
            2,
            3,
            '<init> without a <bridge>: OpenSIPS cannot start the scenario ("No bridging node inside init node")',
        )
    ]


def test_client_without_type_in_script_init(tmp_path):
    init = """
  <init>
    <bridge>
      <server><id>server1</id></server>
      <client>
        <id>client1</id>
        <destination><value type="uri">sip:ms@127.0.0.1</value></destination>
      </client>
    </bridge>
  </init>"""
    assert _diags(tmp_path, _scenario(init=init)) == [
        (
            "error",
            "E407",
            5,
            7,
            "<client> client1 in <init> has no <type>: OpenSIPS 2.4 requires <type>message</type> in the clients "
            "of a script scenario",
        )
    ]
    # an extern scenario's init does not read <type>
    ext = init.replace("<server><id>server1</id></server>", "").replace(
        "</client>\n",
        '</client>\n      <client><id>c2</id><destination><value type="param">2</value></destination></client>\n',
        1,
    )
    assert _diags(tmp_path, _scenario(init=ext), kind="extern") == []


def test_client_of_other_type_is_not_created(tmp_path):
    init = INIT.replace("<type>message</type>", "<type>presence</type>")
    got = _diags(tmp_path, _scenario(init=init))
    assert got == [
        (
            "warning",
            "W401",
            5,
            7,
            'client client1 has type "presence": OpenSIPS 2.4 only creates clients of type "message"; this one is '
            "not created",
        ),
        ("error", "E408", 3, 5, "<init> creates a server but no client: OpenSIPS needs at least 2 entities"),
    ]


def test_rule_errors(tmp_path):
    rules = """  <rules>
    <request>
      <bye>
        <rule><action><delete_entity/></action></rule>
        <rule id="x1"><action/></rule>
        <rule id="3"><condition><state>1</state></condition></rule>
      </bye>
    </request>
  </rules>"""
    assert _diags(tmp_path, _scenario(rules)) == [
        ("error", "E402", 16, 9, "<rule> without an id attribute"),
        ("error", "E404", 17, 9, "the id of <rule> must be an unsigned integer, got 'x1'"),
        ("error", "E407", 18, 9, "<rule> 3 without an <action>"),
    ]


@pytest.mark.parametrize(
    ("value", "expect"),
    [
        ("<value>sip:a@b</value>", ("E402", "the destination of client2: <value> has no type attribute")),
        (
            '<value type="url">sip:a@b</value>',
            ("E405", 'the destination of client2: unknown value type "url"'),
        ),
        (
            '<value type="param">3</value>',
            (
                "E406",
                'the destination of client2: parameter 3 is beyond param="2" of the scenario: it is always empty',
            ),
        ),
        (
            '<value type="param">0</value>',
            ("E406", "the destination of client2: parameter index 0 is not between 1 and 10"),
        ),
        (
            '<value type="param"> 1</value>',
            (
                "E404",
                "the parameter index of the destination of client2 must be an unsigned integer, got ' 1'",
            ),
        ),
        (
            '<value type="uri"> sip:a@b</value>',
            (
                "E405",
                "the destination of client2: ' sip:a@b' is not a SIP URI (bad scheme in URI ' sip:a@b')",
            ),
        ),
        (
            '<value type="header">Refer To</value>',
            ("E405", "the destination of client2: 'Refer To' is not a header name"),
        ),
    ],
)
def test_value_errors(tmp_path, value, expect):
    rules = f"""  <rules><request><bye><rule id="1"><action><bridge>
    <server><id>server1</id></server>
    <client><id>client2</id><destination>{value}</destination></client>
  </bridge></action></rule></bye></request></rules>"""
    got = _diags(tmp_path, _scenario(rules))
    code, msg = expect
    if code == "E402":
        msg = "<value> of the destination of client2 has no type attribute"
    assert got == [("error", code, 15, 42, msg)]


def test_value_types_accepted(tmp_path):
    rules = """  <rules><request><bye><rule id="1"><action><bridge>
    <server><id>server1</id></server>
    <client><id>client2</id><destination><value type="URI">sip:x@127.0.0.1:5070</value></destination>
      <from_dname><value type="uri">Sales desk</value></from_dname>
      <header><name>X-A</name><value type="param">2</value></header>
      <header><name type="param">1</name><value>v</value></header>
    </client>
  </bridge></action></rule></bye></request></rules>"""
    path = _write(tmp_path, _scenario(rules))
    sc, diags = load_scenario_file(path)
    assert diags == []
    ent = sc.rules["BYE"][0].action.bridge.entities[1]
    assert (ent.destination.type, ent.destination.text, ent.from_dname.text) == (
        "uri",
        "sip:x@127.0.0.1:5070",
        "Sales desk",
    )
    assert [(h.name.type, h.name.text, h.value.type, h.value.index) for h in ent.headers] == [
        ("text", "X-A", "param", 2),
        ("param", "1", "text", None),
    ]
    assert ent.headers[0].value.resolve(["a", "b"]) == "b"
    assert ent.headers[1].name.resolve(["X-P"]) == "X-P"


def test_unsupported_request_and_comment_in_request(tmp_path):
    rules = """  <rules>
    <request>
      <!-- rules per method -->
      <info><rule id="1"><action/></rule></info>
    </request>
  </rules>"""
    assert _diags(tmp_path, _scenario(rules)) == [
        (
            "error",
            "E409",
            15,
            7,
            'comment inside <request>: OpenSIPS 2.4 reads it as a request type named "comment" and refuses the '
            "scenario",
        ),
        (
            "error",
            "E409",
            16,
            7,
            "rules for <info>: OpenSIPS 2.4 only has rules for invite, ack, bye, message, subscribe, notify, refer, "
            "cancel, update",
        ),
    ]


def test_reply_rules_are_accepted_with_a_warning(tmp_path):
    rules = '  <rules>\n    <reply><invite><rule id="1"><action/></rule></invite></reply>\n  </rules>'
    path = _write(tmp_path, _scenario(rules))
    sc, diags = load_scenario_file(path)
    assert sc is not None and sc.rules == {}
    assert [(d.severity, d.code, d.line, d.message) for d in diags] == [
        (
            "warning",
            "W401",
            14,
            "<reply> rules are not run: OpenSIPS 2.4 leaves them as a TODO and pysips, like it, ignores them",
        )
    ]


def test_condition_state_taken_from_action(tmp_path):
    """OpenSIPS's depth-first search for the condition <state> continues into the following <action>."""
    rules = """  <rules><request><bye>
    <rule id="1">
      <condition><sender><type>client</type></sender></condition>
      <action><state>2</state></action>
    </rule>
  </bye></request></rules>"""
    path = _write(tmp_path, _scenario(rules))
    sc, diags = load_scenario_file(path)
    assert [(d.code, d.line, d.column, d.message) for d in diags] == [
        (
            "W402",
            15,
            7,
            "<condition> has no <state>: OpenSIPS 2.4 takes the <state> at line 16 ('2') as the condition state",
        )
    ]
    assert sc.rules["BYE"][0].cond_state == 2


def test_server_id_taken_from_following_client(tmp_path):
    init = INIT.replace("<server><id>server1</id></server>", "<server/>")
    path = _write(tmp_path, _scenario(init=init))
    sc, diags = load_scenario_file(path)
    assert [(d.code, d.line, d.message) for d in diags] == [
        ("W402", 4, "<server> has no <id>: OpenSIPS 2.4 takes the <id> at line 6 ('client1') instead")
    ]
    assert sc.init.bridge.server_ids == ("client1",)


def test_repeated_element(tmp_path):
    init = INIT.replace("<state>1</state>", "<state>1</state><state>2</state>")
    path = _write(tmp_path, _scenario(init=init))
    sc, diags = load_scenario_file(path)
    assert [(d.code, d.line, d.column, d.message) for d in diags] == [
        ("W403", 11, 21, "second <state> in <init> (first at line 11): OpenSIPS 2.4 only reads the first")
    ]
    assert sc.init.state == 1


def test_bad_ints(tmp_path):
    rules = """  <rules><request><bye><rule id="1"><action>
    <state>-1</state>
    <send_reply><code>2OO</code><reason>OK</reason></send_reply>
  </action></rule></bye></request></rules>"""
    init = INIT.replace("<state>1</state>", "<state></state>")
    assert _diags(tmp_path, _scenario(rules, init=init)) == [
        ("error", "E404", 11, 5, "the <state> of <init> must be an unsigned integer, got nothing"),
        ("error", "E404", 14, 5, "the <state> of <action> must be an unsigned integer, got '-1'"),
        ("error", "E404", 15, 17, "the reply <code> must be an unsigned integer, got '2OO'"),
    ]


def test_send_reply_errors(tmp_path):
    rules = """  <rules><request><bye>
    <rule id="1"><action><send_reply><code>99</code><reason>x</reason></send_reply></action></rule>
    <rule id="2"><action><send_reply><reason>x</reason></send_reply></action></rule>
    <rule id="3"><action><send_reply><code>200</code></send_reply></action></rule>
  </bye></request></rules>"""
    assert _diags(tmp_path, _scenario(rules)) == [
        ("error", "E405", 14, 38, "reply code 99 is not between 100 and 699"),
        ("error", "E407", 15, 26, "<send_reply> without a <code>"),
        ("error", "E407", 16, 26, "<send_reply> without a <reason>"),
    ]


def test_init_entity_counts(tmp_path):
    one_client = '<scenario id="s" param="1"><init><bridge><client><id>c</id><type>message</type><destination><value type="param">1</value></destination></client></bridge></init></scenario>'
    assert _diags(tmp_path, one_client) == [
        (
            "error",
            "E408",
            1,
            34,
            "<init> of a script scenario without a <server> must create at least 2 clients",
        )
    ]
    empty = '<scenario id="s" param="1"><init><bridge/></init></scenario>'
    assert _diags(tmp_path, empty) == [
        ("error", "E408", 1, 34, "the <bridge> of <init> has neither a <server> nor a <client>")
    ]


def test_extern_init_rules(tmp_path):
    ext = """<scenario id="m" param="2" type="extern">
  <init><bridge>
    <client><this/></client>
    <client><id>b</id><destination><value type="initial"/></destination></client>
  </bridge></init>
</scenario>"""
    assert _diags(tmp_path, ext, kind="extern") == [
        ("error", "E410", 3, 13, "<this/> in the <init> of an extern scenario: there is no current entity"),
        (
            "error",
            "E410",
            4,
            36,
            'the destination of b: type="initial" (the To URI of the first server entity) in an extern scenario, '
            "which has no server entity",
        ),
    ]
    hdr = ext.replace(
        "<client><this/></client>",
        '<client><id>a</id><destination><value type="header">To</value></destination></client>',
    ).replace('<value type="initial"/>', '<value type="param">2</value>')
    assert _diags(tmp_path, hdr, kind="extern") == [
        (
            "error",
            "E410",
            3,
            36,
            'the destination of a: type="header" in the <init> of an extern scenario: there is no message to read '
            "the header from",
        )
    ]


def test_bridge_entity_errors(tmp_path):
    rules = """  <rules><request><bye>
    <rule id="1"><action><bridge><client><this/></client><server><this/></server></bridge></action></rule>
    <rule id="2"><action><bridge><client><peer/></client></bridge></action></rule>
    <rule id="3"><action><bridge><client><peer/></client><client><id>n</id><new/></client></bridge></action></rule>
    <rule id="4"><action><bridge><client><peer/></client><client><new/></client></bridge></action></rule>
  </bye></request></rules>"""
    assert _diags(tmp_path, _scenario(rules)) == [
        ("error", "E410", 14, 58, "the <bridge> names the same entity twice"),
        ("error", "E410", 15, 26, "a <bridge> needs two entities, this one has 1"),
        ("error", "E407", 16, 58, "new entity n without a <destination>"),
        ("error", "E407", 17, 58, "<client> in a <bridge> without <this/>, <peer/> or <id>"),
    ]


def test_third_bridge_entity_and_unknown_entity(tmp_path):
    rules = """  <rules><request><bye><rule id="7"><action><bridge>
    <client><id>server1</id></client>
    <client><id>ghost</id></client>
    <client><id>x</id></client>
  </bridge></action></rule></bye></request></rules>"""
    assert _diags(tmp_path, _scenario(rules)) == [
        (
            "warning",
            "W401",
            16,
            5,
            "third entity <client> in a <bridge>: OpenSIPS bridges the first two and ignores the rest",
        ),
        (
            "warning",
            "W407",
            15,
            5,
            "the bridge of rule 7 names entity 'ghost', which no <init> or <bridge> of this scenario creates: "
            'OpenSIPS fails this bridge ("New entity without a destination")',
        ),
    ]


def test_param_beyond_init_request_and_initial_without_server(tmp_path):
    init = INIT.replace('type="param">1<', 'type="param">5<')
    got = _diags(tmp_path, _scenario(head='<scenario id="s" param="5">', init=init))
    assert got == [
        (
            "warning",
            "W406",
            8,
            22,
            "the destination of client client1: parameter 5 can never be set by b2b_init_request, which passes at "
            "most 4 scenario parameters",
        )
    ]
    # the same file as an extern scenario (parameters come from b2b_trigger_scenario): no warning
    _, d = load_scenario_file(str(tmp_path / "s.xml"), "extern")
    assert "W406" not in {x.code for x in d}


def test_header_warnings(tmp_path):
    init = INIT.replace(
        "<type>message</type>",
        "<type>message</type><header><value>x</value></header><header><name>X-A</name></header>"
        '<header><name type="pv">X</name><value>y</value></header>',
    )
    assert _diags(tmp_path, _scenario(init=init)) == [
        ("warning", "W401", 7, 29, "<header> of client client1 without a <name>: OpenSIPS ignores it"),
        ("warning", "W401", 7, 62, "<header> of client client1 without a <value>: OpenSIPS ignores it"),
        (
            "warning",
            "W401",
            7,
            103,
            'the header name in client client1: unknown type "pv": OpenSIPS skips this header',
        ),
    ]


# ---------------------------------------------------------------- rule order


ORDER = """  <rules><request>
    <bye>
      <rule id="1"><condition><state>1</state></condition><action><state>2</state></action></rule>
      <rule id="2"><condition><state>2</state></condition><action><state>3</state></action></rule>
      <rule id="3"><condition><state>1</state></condition><action><state>9</state></action></rule>
      <rule id="4"><action/></rule>
    </bye>
    <BYE><rule id="5"><condition><state>1</state><sender><type>Server</type><id>server1</id></sender></condition><action/></rule></BYE>
  </request></rules>"""


def test_rules_are_walked_last_first(tmp_path):
    sc, diags = load_scenario_file(_write(tmp_path, _scenario(ORDER)))
    assert diags == []
    assert [r.id for r in sc.rules["BYE"]] == [5, 4, 3, 2, 1]
    assert sc.rule_for("BYE", 1).id == 5  # the last matching rule in file order wins
    assert sc.rule_for("bye", 2).id == 2
    assert sc.rule_for("BYE", NOTDEF_STATE).id == 5  # no state yet: first rule of the list, no state check
    assert sc.rule_for("BYE", -1).id == 4  # a rule without condition state matches the bridging state only
    assert sc.rule_for("BYE", 7) is None
    assert sc.rule_for("INVITE", 1) is None
    r5 = sc.rules["BYE"][0]
    assert (r5.sender_type, r5.sender_id) == ("server", "server1")
    assert r5.sender_matches("server", "server1")
    assert not r5.sender_matches("client", "server1")
    assert not r5.sender_matches("server", "server2")
    assert sc.rules["BYE"][1].sender_matches("client", "anything")


# ---------------------------------------------------------------- several files, base dir, pysips check


def test_load_scenarios_ids_and_base_dir(tmp_path):
    _write(tmp_path, _scenario(), "a.xml")
    ext_init = INIT.replace("<server><id>server1</id></server>", "").replace(
        "</bridge>",
        '<client><id>c2</id><destination><value type="param">2</value></destination></client></bridge>',
    )
    _write(tmp_path, _scenario(head='<scenario id="s" param="2" type="extern">', init=ext_init), "b.xml")
    _write(tmp_path, _scenario(head='<scenario id="t" param="2">'), "c.xml")
    d, diags = load_scenarios(["a.xml", ("script", "c.xml"), "a.xml", "b.xml"], base_dir=str(tmp_path))
    assert sorted(d) == ["s", "t"]
    assert [(x.severity, x.code, os.path.basename(x.file), x.line, x.message) for x in diags] == [
        (
            "warning",
            "W408",
            "a.xml",
            1,
            f"scenario id 's' was already loaded from {tmp_path}/a.xml:1: like OpenSIPS, the file loaded last is used",
        ),
        (
            "error",
            "E411",
            "b.xml",
            1,
            f"scenario id 's' is loaded both as a script scenario ({tmp_path}/a.xml:1) and as an extern scenario: "
            "pysips needs distinct ids",
        ),
    ]


def test_relative_paths_default_to_cwd(tmp_path, monkeypatch):
    _write(tmp_path, _scenario(), "a.xml")
    monkeypatch.chdir(tmp_path)
    d, diags = load_scenarios(["a.xml"])
    assert diags == [] and d["s"].file == os.path.join(str(tmp_path), "a.xml")


def test_check_scenarios_from_script(tmp_path):
    from pysips.script.parser import parse_file

    _write(tmp_path, _scenario(), "ok.xml")
    _write(tmp_path, '<scenario id="bad" param="1"><init/></scenario>', "bad.xml")
    cfg = tmp_path / "a.cfg"
    cfg.write_text(
        'loadmodule "b2b_entities.so"\n'
        'loadmodule "b2b_logic.so"\n'
        'modparam("b2b_logic", "script_scenario", "ok.xml")\n'
        'modparam("b2b_logic", "extern_scenario", "bad.xml")\n'
        'modparam("b2b_logic", "script_scenario", "none.xml")\n'
        'modparam("b2b_entities", "script_scenario", "ignored.xml")\n'
        "route { exit; }\n"
    )
    script, _ = parse_file(str(cfg))
    diags = check_scenarios(script, base_dir=str(tmp_path))
    assert [(os.path.basename(d.file), d.line, d.code, d.message) for d in diags] == [
        (
            "bad.xml",
            1,
            "E407",
            '<init> without a <bridge>: OpenSIPS cannot start the scenario ("No bridging node inside init node")',
        ),
        ("a.cfg", 5, "E401", f"script_scenario: cannot open '{tmp_path}/none.xml'"),
    ]
    assert diags[1].source_line.startswith('modparam("b2b_logic", "script_scenario", "none.xml")')


def test_check_scenarios_ignores_unloaded_module(tmp_path):
    from pysips.script.parser import parse_file

    cfg = tmp_path / "a.cfg"
    cfg.write_text('modparam("b2b_logic_xml", "script_scenario", "none.xml")\nroute { exit; }\n')
    script, _ = parse_file(str(cfg))
    assert check_scenarios(script, base_dir=str(tmp_path)) == []


def test_value_resolve():
    pos = Pos("f", 1, 1)
    assert Value("param", "2", pos, 2).resolve(["a"]) is None
    assert Value("param", "1", pos, 1).resolve(["a"]) == "a"
    assert Value("uri", "sip:x", pos).resolve([]) == "sip:x"
    assert Value("initial", "server1", pos).resolve([], initial="sip:to@x") == "sip:to@x"
    assert Value("header", "Refer-To", pos).resolve([], header_uri={"Refer-To": "sip:t@x"}.get) == "sip:t@x"


def test_module_spec():
    from pysips.modules import load_registry

    spec = load_registry()["b2b_logic_xml"]
    assert spec.params["script_scenario"].repeatable and spec.params["extern_scenario"].repeatable
    f = spec.functions["b2b_init_request"]
    assert (f.min_args, f.max_args, f.impl is not None) == (1, 5, True)
    g = spec.functions["b2b_bridge_request"]
    assert (g.min_args, g.max_args, [p.kind for p in g.params]) == (2, 2, ["str", "int"])
    assert load_registry()["b2b_logic"].params["script_scenario"].repeatable


def _script(tmp_path: Path, text: str):
    from pysips.script.parser import parse_file

    cfg = tmp_path / "a.cfg"
    cfg.write_text(text)
    script, diags = parse_file(str(cfg))
    assert [d for d in diags if d.severity == "error"] == []
    return script


def test_init_request_ids_are_checked(tmp_path):
    _write(tmp_path, _scenario(), "s.xml")
    ext_init = INIT.replace("<server><id>server1</id></server>", "").replace(
        "</bridge>",
        '<client><id>c2</id><destination><value type="param">2</value></destination></client></bridge>',
    )
    _write(tmp_path, _scenario(head='<scenario id="m" param="2">', init=ext_init), "m.xml")
    script = _script(
        tmp_path,
        'loadmodule "b2b_entities.so"\n'
        'loadmodule "b2b_logic.so"\n'
        'modparam("b2b_logic", "script_scenario", "s.xml")\n'
        'modparam("b2b_logic", "extern_scenario", "m.xml")\n'
        "route {\n"
        '    b2b_init_request("s/t30a", "sip:a@b", "sip:c@d");\n'
        '    b2b_init_request("s", "sip:a@b", "sip:c@d", "sip:e@f");\n'
        '    b2b_init_request("m");\n'
        '    b2b_init_request("nope");\n'
        '    b2b_init_request("top hiding");\n'
        "    exit;\n"
        "}\n",
    )
    diags = check_scenarios(script, base_dir=str(tmp_path))
    assert [(d.severity, d.code, d.line, d.column, d.message) for d in diags] == [
        (
            "warning",
            "W409",
            7,
            5,
            f"b2b_init_request passes 3 scenario parameters but 's' takes 2 (param=\"2\" in {tmp_path}/s.xml:1): "
            "the extra ones are ignored",
        ),
        (
            "error",
            "E412",
            8,
            5,
            f"b2b_init_request: scenario 'm' is an extern scenario ({tmp_path}/m.xml:1); b2b_init_request only "
            "starts script scenarios",
        ),
        (
            "error",
            "E412",
            9,
            5,
            "b2b_init_request: no scenario with id 'nope' (OpenSIPS: \"Wrong Scenary ID\")",
        ),
    ]
    assert diags[2].hint == (
        'loaded script scenarios: \'s\'; add modparam("b2b_logic", "script_scenario", "file.xml")'
    )


def test_init_request_ids_not_checked_for_the_3x_entity_api(tmp_path):
    script = _script(
        tmp_path,
        'loadmodule "b2b_entities.so"\nloadmodule "b2b_logic.so"\n'
        'route { b2b_server_new("caller"); b2b_init_request("prepaid"); exit; }\n',
    )
    assert check_scenarios(script, base_dir=str(tmp_path)) == []


def test_unknown_id_not_reported_when_a_file_failed(tmp_path):
    _write(tmp_path, '<scenario id="s" param="1"/>', "bad.xml")
    script = _script(
        tmp_path,
        'loadmodule "b2b_entities.so"\nloadmodule "b2b_logic_xml.so"\n'
        'modparam("b2b_logic_xml", "script_scenario", "bad.xml")\n'
        'route { b2b_init_request("s"); exit; }\n',
    )
    assert [d.code for d in check_scenarios(script, base_dir=str(tmp_path))] == ["E407"]


def test_use_init_sdp(tmp_path):
    init = INIT.replace(
        "<init>",
        '<init>\n    <use_init_sdp><body type="application/sdp">v=0\no=- 1 1 IN IP4 127.0.0.1\n</body></use_init_sdp>',
    )
    sc, diags = load_scenario_file(_write(tmp_path, _scenario(init=init)))
    assert diags == []
    assert (sc.init.use_init_sdp, sc.init.init_sdp_type) == (True, "application/sdp")
    assert sc.init.init_sdp_body == "v=0\no=- 1 1 IN IP4 127.0.0.1\n"
    assert sc.pos == Pos(sc.file, 1, 1) and sc.init.pos.line == 2
    no_type = init.replace(' type="application/sdp"', "")
    assert _diags(tmp_path, _scenario(init=no_type)) == [
        ("error", "E402", 3, 19, "<body> without a type attribute (the Content-Type)")
    ]
