"""b2b_logic XML scenarios (OpenSIPS 1.6-3.1 ``b2b_logic``, 3.2 ``b2b_logic_xml``): loader and load-time checks.

There is no DTD: the format is what OpenSIPS 2.4 accepts (modules/b2b_logic/b2b_logic.c ``load_scenario`` and
logic.c, which reads the rest of the document lazily, when a call reaches it). pysips reads the whole document at
load time into frozen dataclasses and reports every problem with file:line:col, including the ones OpenSIPS only
finds at run time (a rule's bridge without a destination, a bad reply code, ...).

What mirrors OpenSIPS 2.4 exactly, because the engine depends on it:

* element and attribute names are compared case-insensitively; the text of values is used as written (not trimmed)
  except header names and values, which OpenSIPS trims;
* ``rules[method]`` lists the rules in the order OpenSIPS walks them: it prepends each rule it reads, so the last
  rule of the file comes first (``Scenario.rule_for`` picks the rule the way logic.c does);
* OpenSIPS finds ``<id>``, ``<type>``, the condition ``<state>``, ``<code>`` and ``<reason>`` with a depth-first
  search that goes on into the *following* sibling elements when the element itself has none: a ``<condition>``
  without ``<state>`` followed by an ``<action>`` with ``<state>2</state>`` gets condition state 2. pysips does the
  same and warns (W402);
* which list a file goes to (script or extern) is decided by the modparam that names it (``script_scenario`` /
  ``extern_scenario``); the root ``type`` attribute is informational in OpenSIPS.

Diagnostics are ``pysips.errors.ScriptError`` (codes in ``CODES``): severity "error" for what makes OpenSIPS refuse
the file or fail the call, "warning" for what it ignores.
"""

from __future__ import annotations

import os
import re
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from xml.parsers import expat

from pysips.errors import ScriptError, SIPParseError
from pysips.script.ast import Pos
from pysips.sip.uri import parse_uri

MAX_SCENARIO_PARAMS = 10  # b2b_logic.h MAX_SCENARIO_PARAMS
MAX_INIT_REQUEST_PARAMS = 4  # b2b_init_request("id", p1, p2, p3, p4)
MAX_ENTITIES = 3  # MAX_B2BL_ENT: clients (or servers) of one tuple

BRIDGING_STATE = -1  # B2B_BRIDGING_STATE
CANCEL_STATE = -2  # B2B_CANCEL_STATE
NOTDEF_STATE = -3  # B2B_NOTDEF_STATE: a tuple whose <init> has no <state>
NO_COND_STATE = -1  # cond_state of a rule whose condition names no state (it matches the bridging state)

# B2B_INVITE..B2B_UPDATE (b2b_logic.h): the only request elements <request> may hold
METHODS = ("INVITE", "ACK", "BYE", "MESSAGE", "SUBSCRIBE", "NOTIFY", "REFER", "CANCEL", "UPDATE")
SCRIPT, EXTERN = "script", "extern"
TOP_HIDING = "top hiding"

CODES = {
    "E401": "scenario file unreadable or not well-formed XML",
    "E402": "required attribute missing",
    "E403": "unknown element",
    "E404": "not an unsigned integer",
    "E405": "bad value",
    "E406": "parameter index out of range",
    "E407": "required element missing",
    "E408": "<init> creates the wrong number of entities",
    "E409": "rules for a request type OpenSIPS does not support",
    "E410": "bridge entity unusable here",
    "E411": "scenario id clash",
    "E412": "b2b_init_request names no loadable script scenario",
    "W401": "element OpenSIPS 2.4 (and pysips) ignores",
    "W402": "value OpenSIPS 2.4 takes from a following element",
    "W403": "repeated element: only the first is used",
    "W404": "unknown attribute ignored",
    "W405": "scenario type attribute differs from the modparam",
    "W406": "parameter b2b_init_request cannot pass",
    "W407": "bridge names an entity nothing creates",
    "W408": "scenario id loaded twice",
    "W409": "b2b_init_request passes more parameters than the scenario takes",
}

_UINT = re.compile(r"[0-9]+\Z")
_HDR_NAME = re.compile(r"[A-Za-z0-9!%*_+`'~.-]+\Z")


# ---------------------------------------------------------------- data model


@dataclass(frozen=True, slots=True)
class Value:
    """``<value type="...">text</value>``. type: uri | param | initial | header for destinations and from_dname,
    text | param for header names and values. ``index`` is the 1-based parameter number for type param."""

    type: str
    text: str
    pos: Pos
    index: int | None = None

    def resolve(
        self,
        params: Sequence[str | None],
        initial: str | None = None,
        header_uri: Callable[[str], str | None] | None = None,
    ) -> str | None:
        """The value for one call: ``params`` are the scenario parameters, ``initial`` the To URI of the first
        server entity, ``header_uri(name)`` the URI of the first such header of the current message."""
        if self.type in ("uri", "text"):
            return self.text
        if self.type == "param":
            i = (self.index or 0) - 1
            return params[i] if 0 <= i < len(params) else None
        if self.type == "initial":
            return initial
        if self.type == "header":
            return header_uri(self.text) if header_uri is not None else None
        return None


@dataclass(frozen=True, slots=True)
class Header:
    """``<header><name>N</name><value>V</value></header>``: an extra header of the entity's requests."""

    name: Value
    value: Value
    pos: Pos


@dataclass(frozen=True, slots=True)
class ServerSpec:
    """The ``<server>`` of a script scenario's init: the caller's leg (a UAS on the initial request)."""

    id: str
    headers: tuple[Header, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class ClientSpec:
    """A client OpenSIPS creates in ``<init>``. ``type`` is "message" in script scenarios (the only type OpenSIPS
    2.4 creates) and None in extern scenarios, where OpenSIPS does not read it. ``from_dname`` is only used by
    extern scenarios (a script init copies the caller's display name)."""

    id: str
    type: str | None
    destination: Value
    from_dname: Value | None
    headers: tuple[Header, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class InitBridge:
    """``<init><bridge>``. Script scenarios: one server and 1-3 clients, the server is bridged with the first
    client. Extern scenarios: exactly two new clients bridged together; ``lifetime`` / ``provisional_media`` only
    apply there."""

    servers: tuple[ServerSpec, ...]
    clients: tuple[ClientSpec, ...]
    lifetime: int | None
    provisional_media: str | None
    pos: Pos

    @property
    def server_ids(self) -> tuple[str, ...]:
        return tuple(s.id for s in self.servers)


@dataclass(frozen=True, slots=True)
class Init:
    """``<init>``: ``state`` None means the tuple stays in NOTDEF_STATE (then the first rule always applies)."""

    use_init_sdp: bool
    init_sdp_body: str | None
    init_sdp_type: str | None
    bridge: InitBridge
    state: int | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class SendReply:
    code: int
    reason: str
    pos: Pos


@dataclass(frozen=True, slots=True)
class EntityRef:
    """One side of a rule's ``<bridge>``. ``ref``: "this" (the sender of the request), "peer" (its peer) or "id".
    With ``new`` (``<new/>`` or a ``<destination>``) a new client is created under ``id`` (an existing entity with
    that id is renamed away first); without it, ``id`` names an existing server or client of the tuple."""

    kind: str  # the element as written: client | server (OpenSIPS creates a client either way)
    ref: str
    id: str | None
    new: bool
    destination: Value | None
    from_dname: Value | None
    headers: tuple[Header, ...]
    pos: Pos


@dataclass(frozen=True, slots=True)
class BridgeAction:
    entities: tuple[EntityRef, EntityRef]
    provisional_media: str | None
    lifetime: int | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class Action:
    """A rule's ``<action>``. logic.c runs it in this order: state (deferred until the bridge completes when there
    is a bridge), bridge, send_reply, end_dialog_leg, delete_entity."""

    state: int | None
    send_reply: SendReply | None
    end_dialog_leg: bool
    delete_entity: bool
    bridge: BridgeAction | None
    pos: Pos


@dataclass(frozen=True, slots=True)
class Rule:
    id: int
    method: str
    cond_state: int  # NO_COND_STATE when the condition names no state
    sender_type: str | None  # server | client
    sender_id: str | None
    action: Action
    pos: Pos

    def sender_matches(self, entity_type: str, entity_id: str) -> bool:
        """The sender condition (logic.c): a mismatch means "pass the request on", not "try the next rule"."""
        if self.sender_type is None:
            return True
        if entity_type != self.sender_type:
            return False
        return self.sender_id is None or self.sender_id == entity_id


@dataclass(frozen=True, slots=True)
class Scenario:
    id: str
    param_count: int
    name: str | None
    type: str  # script | extern: the modparam that loaded it
    init: Init
    rules: Mapping[str, tuple[Rule, ...]]  # method (upper case) -> rules in OpenSIPS evaluation order
    file: str
    line: int

    @property
    def pos(self) -> Pos:
        return Pos(self.file, self.line, 1)

    def rule_for(self, method: str, state: int) -> Rule | None:
        """The rule logic.c applies to an in-dialog ``method`` request while the tuple is in ``state``: in
        NOTDEF_STATE the first rule of the list, otherwise the first whose condition state equals ``state``."""
        rules = self.rules.get(method.upper())
        if not rules:
            return None
        if state == NOTDEF_STATE:
            return rules[0]
        for r in rules:
            if r.cond_state == state:
                return r
        return None


# ---------------------------------------------------------------- XML tree with positions


class _Node:
    """An XML element (or comment, name "#comment") with its position; ``parts`` keeps text and children in order."""

    __slots__ = ("name", "lname", "attrs", "parts", "parent", "line", "col")

    def __init__(self, name: str, attrs: dict[str, str], line: int, col: int, parent: _Node | None) -> None:
        self.name = name
        self.lname = name.lower()
        self.attrs = attrs
        self.parts: list[str | _Node] = []
        self.parent = parent
        self.line = line
        self.col = col

    @property
    def is_comment(self) -> bool:
        return self.lname == "#comment"

    def elements(self) -> list[_Node]:
        return [p for p in self.parts if isinstance(p, _Node) and not p.is_comment]

    def content(self) -> str:
        """libxml2 xmlNodeGetContent: all descendant text, comments excluded."""
        if self.is_comment:
            return "".join(p for p in self.parts if isinstance(p, str))
        return "".join(p if isinstance(p, str) else ("" if p.is_comment else p.content()) for p in self.parts)

    def first_content(self) -> str | None:
        """xmlNodeGetContent(node->children): the content of the first child node only (None when empty)."""
        if not self.parts:
            return None
        first = self.parts[0]
        return first if isinstance(first, str) else first.content()

    def attr(self, name: str) -> str | None:
        for k, v in self.attrs.items():
            if k.lower() == name:
                return v
        return None


def _following(node: _Node) -> list[_Node]:
    if node.parent is None:
        return []
    sibs = node.parent.parts
    return [p for p in sibs[sibs.index(node) + 1 :] if isinstance(p, _Node)]


def _deep_find(start: _Node, lname: str) -> _Node | None:
    """libxml2-style xmlNodeGetNodeByName(start): start, its subtree, then each following sibling and its subtree."""

    def walk(n: _Node) -> _Node | None:
        if n.lname == lname:
            return n
        for c in n.parts:
            if isinstance(c, _Node):
                hit = walk(c)
                if hit is not None:
                    return hit
        return None

    for n in [start, *_following(start)]:
        hit = walk(n)
        if hit is not None:
            return hit
    return None


def _inside(node: _Node, ancestor: _Node) -> bool:
    n: _Node | None = node
    while n is not None:
        if n is ancestor:
            return True
        n = n.parent
    return False


class _XMLError(Exception):
    def __init__(self, message: str, line: int, col: int) -> None:
        super().__init__(message)
        self.line = line
        self.col = col


def _parse_xml(data: bytes) -> tuple[_Node, list[_Node]]:
    """Build the element tree with 1-based line/column of every element; also return what precedes the root."""
    p = expat.ParserCreate()
    p.buffer_text = True
    stack: list[_Node] = []
    prolog: list[_Node] = []
    holder: list[_Node] = []

    def start(name: str, attrs: dict[str, str]) -> None:
        parent = stack[-1] if stack else None
        n = _Node(name, attrs, p.CurrentLineNumber, p.CurrentColumnNumber + 1, parent)
        if parent is not None:
            parent.parts.append(n)
        else:
            holder.append(n)
        stack.append(n)

    def end(_name: str) -> None:
        stack.pop()

    def chars(data: str) -> None:
        if not stack:
            return
        parts = stack[-1].parts
        if parts and isinstance(parts[-1], str):
            parts[-1] += data
        else:
            parts.append(data)

    def comment(data: str) -> None:
        n = _Node(
            "#comment", {}, p.CurrentLineNumber, p.CurrentColumnNumber + 1, stack[-1] if stack else None
        )
        n.parts.append(data)
        if stack:
            stack[-1].parts.append(n)
        elif not holder:
            prolog.append(n)

    def pi(target: str, _data: str) -> None:
        if not stack and not holder:
            prolog.append(_Node(f"<?{target}?>", {}, p.CurrentLineNumber, p.CurrentColumnNumber + 1, None))

    def doctype(name: str, *_a: Any) -> None:
        prolog.append(_Node(f"<!DOCTYPE {name}>", {}, p.CurrentLineNumber, p.CurrentColumnNumber + 1, None))

    p.StartElementHandler = start
    p.EndElementHandler = end
    p.CharacterDataHandler = chars
    p.CommentHandler = comment
    p.ProcessingInstructionHandler = pi
    p.StartDoctypeDeclHandler = doctype
    try:
        p.Parse(data, True)
    except expat.ExpatError as e:
        raise _XMLError(expat.errors.messages[e.code], e.lineno, e.offset + 1) from None
    if not holder:
        raise _XMLError("no root element", 1, 1)
    return holder[0], prolog


# ---------------------------------------------------------------- loader


def _uint(text: str | None) -> int | None:
    """OpenSIPS str2int: digits only, no sign, no spaces."""
    if text is None or not _UINT.match(text):
        return None
    return int(text)


class _Loader:
    def __init__(self, path: str, kind: str | None, lines: list[str]) -> None:
        self.path = path
        self.kind = kind
        self.lines = lines
        self.diags: list[ScriptError] = []
        self.param_count = 0
        self.has_server = False

    # -- reporting

    def _report(self, code: str, msg: str, at: _Node | Pos | None, hint: str, severity: str) -> None:
        if isinstance(at, _Node):
            line, col = at.line, at.col
        elif isinstance(at, Pos):
            line, col = at.line, at.column
        else:
            line, col = 0, 0
        src = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        self.diags.append(ScriptError(msg, self.path, line, col, src, hint, code, severity))

    def err(self, code: str, msg: str, at: _Node | Pos | None, hint: str = "") -> None:
        self._report(code, msg, at, hint, "error")

    def warn(self, code: str, msg: str, at: _Node | Pos | None, hint: str = "") -> None:
        self._report(code, msg, at, hint, "warning")

    def pos(self, n: _Node) -> Pos:
        return Pos(self.path, n.line, n.col)

    @property
    def errors(self) -> int:
        return sum(1 for d in self.diags if d.severity == "error")

    # -- structure helpers

    def children(
        self, node: _Node, allowed: Iterable[str], repeat: Iterable[str] = (), ignored: Mapping[str, str] = {}
    ) -> dict[str, list[_Node]]:
        """Direct element children by lower-case name. Unknown names are errors; ``ignored`` names get their
        warning; a repeated non-``repeat`` name gets W403 (OpenSIPS reads the first)."""
        allowed = set(allowed)
        repeat = set(repeat)
        out: dict[str, list[_Node]] = {}
        for c in node.elements():
            if c.lname in ignored:
                self.warn("W401", ignored[c.lname], c)
                continue
            if c.lname not in allowed:
                names = ", ".join(f"<{a}>" for a in sorted(allowed)) or "no element"
                self.err(
                    "E403", f"unknown element <{c.name}> in <{node.name}>", c, f"<{node.name}> takes {names}"
                )
                continue
            lst = out.setdefault(c.lname, [])
            if lst and c.lname not in repeat:
                self.warn(
                    "W403",
                    f"second <{c.name}> in <{node.name}> (first at line {lst[0].line}): OpenSIPS 2.4 only reads the first",
                    c,
                )
            lst.append(c)
        return out

    def leaf(self, node: _Node) -> None:
        self.children(node, ())

    def attrs(self, node: _Node, allowed: Iterable[str]) -> None:
        allowed = set(allowed)
        for k in node.attrs:
            if k.lower() not in allowed:
                self.warn(
                    "W404", f'unknown attribute {k}="{node.attrs[k]}" on <{node.name}> is ignored', node
                )

    def lookup(self, start: _Node, lname: str) -> tuple[_Node | None, str | None]:
        """OpenSIPS's search for ``<lname>`` from ``start`` (its own subtree, then the following siblings), with
        W402 when the hit lies outside ``start``."""
        hit = _deep_find(start, lname)
        if hit is None:
            return None, None
        text = hit.first_content()
        if not _inside(hit, start):
            self.warn(
                "W402",
                f"<{start.name}> has no <{lname}>: OpenSIPS 2.4 takes the <{hit.name}> at line {hit.line} "
                f"({text!r}) instead",
                start,
                f"add <{lname}> to this <{start.name}>",
            )
        return hit, text

    def uint(self, node: _Node, text: str | None, what: str) -> int | None:
        v = _uint(text)
        if v is None:
            shown = "nothing" if not text else repr(text)
            self.err(
                "E404",
                f"{what} must be an unsigned integer, got {shown}",
                node,
                "OpenSIPS's str2int accepts digits only: no sign, no spaces or newlines",
            )
        return v

    # -- values

    def param_index(self, node: _Node, text: str, what: str) -> int | None:
        idx = self.uint(node, text, f"the parameter index of {what}")
        if idx is None:
            return None
        if idx < 1 or idx > MAX_SCENARIO_PARAMS:
            self.err(
                "E406", f"{what}: parameter index {idx} is not between 1 and {MAX_SCENARIO_PARAMS}", node
            )
            return None
        if idx > self.param_count:
            self.err(
                "E406",
                f'{what}: parameter {idx} is beyond param="{self.param_count}" of the scenario: it is always empty',
                node,
                f"raise the scenario's param attribute to {idx} or use a lower index",
            )
            return None
        if self.kind == SCRIPT and idx > MAX_INIT_REQUEST_PARAMS:
            self.warn(
                "W406",
                f"{what}: parameter {idx} can never be set by b2b_init_request, which passes at most "
                f"{MAX_INIT_REQUEST_PARAMS} scenario parameters",
                node,
            )
        return idx

    def value(self, holder: _Node, what: str, *, dname: bool = False, init: bool = False) -> Value | None:
        """The ``<value>`` of a ``<destination>`` / ``<from_dname>`` (b2b_scenario_parse_uri)."""
        self.attrs(holder, ())
        kids = self.children(holder, ("value",))
        if "value" not in kids:
            self.err(
                "E407", f"<{holder.name}> without a <value>", holder, '<value type="uri">sip:...</value>'
            )
            return None
        vn = kids["value"][0]
        self.attrs(vn, ("type",))
        self.leaf(vn)
        vtype = vn.attr("type")
        text = vn.content()
        if vtype is None:
            self.err(
                "E402",
                f"<value> of {what} has no type attribute",
                vn,
                "type is one of uri, param, initial, header",
            )
            return None
        t = vtype.lower()
        if t == "uri":
            if not dname:
                try:
                    parse_uri(text)
                except SIPParseError as e:
                    self.err(
                        "E405",
                        f"{what}: {text!r} is not a SIP URI ({e})",
                        vn,
                        "OpenSIPS uses the text exactly as written, spaces and newlines included",
                    )
                    return None
            return Value("uri", text, self.pos(vn))
        if t == "param":
            idx = self.param_index(vn, text, what)
            return Value("param", text, self.pos(vn), idx) if idx is not None else None
        if t == "initial":
            if self.kind == EXTERN:
                self.err(
                    "E410",
                    f'{what}: type="initial" (the To URI of the first server entity) in an extern scenario, '
                    "which has no server entity",
                    vn,
                )
                return None
            if not self.has_server:
                self.err(
                    "E410",
                    f'{what}: type="initial" needs the <server> of <init> (its To URI), and there is none',
                    vn,
                )
                return None
            return Value("initial", text, self.pos(vn))
        if t == "header":
            if init and self.kind == EXTERN:
                self.err(
                    "E410",
                    f'{what}: type="header" in the <init> of an extern scenario: there is no message to read '
                    "the header from",
                    vn,
                )
                return None
            if not _HDR_NAME.match(text):
                self.err("E405", f"{what}: {text!r} is not a header name", vn)
                return None
            return Value("header", text, self.pos(vn))
        self.err(
            "E405",
            f'{what}: unknown value type "{vtype}"',
            vn,
            "type is one of uri, param, initial, header",
        )
        return None

    def headers(self, nodes: list[_Node], owner: str) -> tuple[Header, ...]:
        """``<header>`` children (b2b_scenario_hdrs): what OpenSIPS skips is a warning, a bad index an error."""
        out: list[Header] = []
        for hn in nodes:
            self.attrs(hn, ())
            kids = self.children(hn, ("name", "value"))
            if "name" not in kids:
                self.warn("W401", f"<header> of {owner} without a <name>: OpenSIPS ignores it", hn)
                continue
            name = self.header_part(kids["name"][0], f"the header name in {owner}")
            if "value" not in kids:
                self.warn("W401", f"<header> of {owner} without a <value>: OpenSIPS ignores it", hn)
                continue
            hname = name.text if name is not None else "?"
            val = self.header_part(kids["value"][0], f"header {hname} of {owner}")
            if name is None or val is None:
                continue
            if name.type == "text" and not _HDR_NAME.match(name.text):
                self.err("E405", f"{name.text!r} is not a header name ({owner})", kids["name"][0])
                continue
            out.append(Header(name, val, self.pos(hn)))
        return tuple(out)

    def header_part(self, n: _Node, what: str) -> Value | None:
        self.attrs(n, ("type",))
        self.leaf(n)
        t = (n.attr("type") or "text").lower()
        text = n.content()
        if t == "text":
            return Value("text", text.strip(), self.pos(n))
        if t == "param":
            idx = self.param_index(n, text, what)
            return Value("param", text, self.pos(n), idx) if idx is not None else None
        self.warn(
            "W401",
            f'{what}: unknown type "{n.attr("type")}": OpenSIPS skips this header',
            n,
            "use text or param",
        )
        return None

    # -- document

    def load(self, data: bytes) -> Scenario | None:
        try:
            root, prolog = _parse_xml(data)
        except _XMLError as e:
            self.err("E401", f"not well-formed XML: {e}", Pos(self.path, e.line, e.col))
            return None
        for p in prolog:
            what = "a comment" if p.is_comment else p.name
            self.err(
                "E401",
                f"{what} before the root element: OpenSIPS 2.4 reads the scenario id from the first node of the "
                'document and refuses the file ("No id attribute found for root node")',
                p,
                "move it inside <scenario>",
            )
        if root.lname != "scenario":
            self.err("E403", f"root element <{root.name}>: a scenario file holds one <scenario>", root)
        self.attrs(root, ("id", "param", "name", "type"))
        sid = root.attr("id")
        if sid is None:
            self.err(
                "E402", f"<{root.name}> has no id attribute", root, 'e.g. <scenario id="prepaid" param="2">'
            )
        elif sid == "":
            self.err("E405", "empty scenario id", root)
        param = root.attr("param")
        if param is None:
            self.err(
                "E402", f"<{root.name}> has no param attribute (the number of scenario parameters)", root
            )
            self.param_count = MAX_SCENARIO_PARAMS
        else:
            pc = self.uint(root, param, "the param attribute")
            if pc is not None and pc > MAX_SCENARIO_PARAMS:
                self.err(
                    "E406", f'param="{pc}": a scenario takes at most {MAX_SCENARIO_PARAMS} parameters', root
                )
            self.param_count = min(pc or 0, MAX_SCENARIO_PARAMS)
            if pc is None:
                self.param_count = MAX_SCENARIO_PARAMS  # reported once above; no index errors in its wake
        declared = root.attr("type")
        kind = self.kind
        if declared is not None and declared.lower() not in (SCRIPT, EXTERN):
            self.warn(
                "W405",
                f'type="{declared}" is neither script nor extern (OpenSIPS ignores the attribute)',
                root,
            )
        elif declared is not None and kind is not None and declared.lower() != kind:
            self.warn(
                "W405",
                f'the scenario says type="{declared}" but is loaded by {kind}_scenario: OpenSIPS ignores the '
                f"attribute and runs it as a{'n' if kind == EXTERN else ''} {kind} scenario",
                root,
            )
        if kind is None:
            kind = declared.lower() if declared and declared.lower() in (SCRIPT, EXTERN) else SCRIPT
        self.kind = kind
        if sid == TOP_HIDING and kind == SCRIPT:
            self.warn(
                "W408",
                'scenario id "top hiding" is the built-in top hiding scenario: b2b_init_request never runs this file',
                root,
            )

        kids = self.children(root, ("init", "rules"))
        init = None
        if "init" not in kids:
            self.err(
                "E407", f'scenario "{sid}" has no <init>', root, "<init> creates the entities of the call"
            )
        else:
            init = self.init(kids["init"][0])
        rules: dict[str, list[Rule]] = {}
        if "rules" in kids:
            self.rules(kids["rules"][0], rules)
        if init is not None:
            self.check_refs(init, rules)
        if self.errors or init is None or sid is None or param is None:
            return None
        return Scenario(
            sid,
            self.param_count,
            root.attr("name"),
            kind,
            init,
            {m: tuple(rs) for m, rs in rules.items()},
            self.path,
            root.line,
        )

    def init(self, node: _Node) -> Init | None:
        self.attrs(node, ())
        kids = self.children(node, ("use_init_sdp", "bridge", "state"))
        use_sdp = "use_init_sdp" in kids
        body = btype = None
        if use_sdp:
            un = kids["use_init_sdp"][0]
            self.attrs(un, ())
            uk = self.children(un, ("body",))
            if "body" in uk:
                bn = uk["body"][0]
                self.attrs(bn, ("type",))
                self.leaf(bn)
                btype = bn.attr("type")
                if btype is None:
                    self.err(
                        "E402",
                        "<body> without a type attribute (the Content-Type)",
                        bn,
                        'type="application/sdp"',
                    )
                body = bn.content()
        state = None
        if "state" in kids:
            sn = kids["state"][0]
            self.leaf(sn)
            state = self.uint(sn, sn.content(), "the <state> of <init>")
        if "bridge" not in kids:
            self.err(
                "E407",
                '<init> without a <bridge>: OpenSIPS cannot start the scenario ("No bridging node inside init node")',
                node,
                "<bridge> lists the <server> and <client> entities to create",
            )
            return None
        bn = kids["bridge"][0]
        bridge = self.init_bridge_script(bn) if self.kind == SCRIPT else self.init_bridge_extern(bn)
        if bridge is None:
            return None
        return Init(use_sdp, body, btype, bridge, state, self.pos(node))

    def init_bridge_script(self, node: _Node) -> InitBridge | None:
        before = self.errors
        self.attrs(node, ())
        ignored = {
            "lifetime": "<lifetime> in the <init> of a script scenario: OpenSIPS ignores it (the call gets 60 s to set up)",
            "provisional_media": "<provisional_media> in the <init> of a script scenario: OpenSIPS ignores it",
        }
        kids = self.children(node, ("server", "client"), repeat=("server", "client"), ignored=ignored)
        servers: list[ServerSpec] = []
        snodes = kids.get("server", [])
        cnodes = kids.get("client", [])
        if not snodes and not cnodes:
            self.err("E408", "the <bridge> of <init> has neither a <server> nor a <client>", node)
            return None
        for extra in snodes[1:]:
            self.warn("W401", "second <server> in <init>: OpenSIPS 2.4 creates a single server entity", extra)
        if snodes:
            sn = snodes[0]
            self.attrs(sn, ())
            sk = self.children(sn, ("id", "header"), repeat=("header",))
            _, sid = self.lookup(sn, "id")
            if sid is None:
                self.err("E407", "<server> without an <id>", sn, "<id>server1</id>")
            else:
                servers.append(
                    ServerSpec(sid, self.headers(sk.get("header", []), f"server {sid}"), self.pos(sn))
                )
            self.has_server = True
        clients: list[ClientSpec] = []
        for cn in cnodes:
            c = self.init_client(cn)
            if c is not None:
                clients.append(c)
        if self.errors > before:
            return None
        if len(clients) > MAX_ENTITIES:
            self.err(
                "E408", f"<init> creates {len(clients)} clients: a call has at most {MAX_ENTITIES}", cnodes[0]
            )
            return None
        if servers and not clients:
            self.err(
                "E408", "<init> creates a server but no client: OpenSIPS needs at least 2 entities", node
            )
            return None
        if not servers and len(clients) < 2:
            self.err(
                "E408",
                "<init> of a script scenario without a <server> must create at least 2 clients",
                node,
            )
            return None
        return InitBridge(tuple(servers), tuple(clients), None, None, self.pos(node))

    def init_client(self, cn: _Node) -> ClientSpec | None:
        self.attrs(cn, ())
        ck = self.children(cn, ("id", "type", "destination", "from_dname", "header"), repeat=("header",))
        _, cid = self.lookup(cn, "id")
        if cid is None:
            self.err("E407", "<client> without an <id>", cn, "<id>client1</id>")
        _, ctype = self.lookup(cn, "type")
        if ctype is None:
            self.err(
                "E407",
                f"<client> {cid or ''} in <init> has no <type>: OpenSIPS 2.4 requires <type>message</type> in the "
                "clients of a script scenario",
                cn,
                "<type>message</type>",
            )
        if "destination" not in ck:
            self.err("E407", f"<client> {cid or ''} in <init> has no <destination>", cn)
            return None
        dest = self.value(ck["destination"][0], f"the destination of client {cid}", init=True)
        if "from_dname" in ck:
            self.warn(
                "W401",
                "<from_dname> of a client in the <init> of a script scenario: OpenSIPS ignores it (the caller's "
                "display name is used)",
                ck["from_dname"][0],
            )
        headers = self.headers(ck.get("header", []), f"client {cid}")
        if cid is None or ctype is None or dest is None:
            return None
        if ctype.lower() != "message":
            self.warn(
                "W401",
                f'client {cid} has type "{ctype}": OpenSIPS 2.4 only creates clients of type "message"; this one is '
                "not created",
                cn,
            )
            return None
        return ClientSpec(cid, "message", dest, None, headers, self.pos(cn))

    def init_bridge_extern(self, node: _Node) -> InitBridge | None:
        refs, lifetime, provmedia = self.bridge_common(node, in_init=True)
        if refs is None:
            return None
        clients = []
        for r in refs:
            if r.destination is None or r.id is None:
                return None
            clients.append(ClientSpec(r.id, None, r.destination, r.from_dname, r.headers, r.pos))
        return InitBridge((), tuple(clients), lifetime, provmedia, self.pos(node))

    def bridge_common(
        self, node: _Node, *, in_init: bool
    ) -> tuple[tuple[EntityRef, EntityRef] | None, int | None, str | None]:
        """process_bridge_action: two entities (client or server elements), provisional_media, lifetime."""
        self.attrs(node, ())
        kids = self.children(
            node, ("client", "server", "provisional_media", "lifetime"), repeat=("client", "server")
        )
        provmedia = None
        if "provisional_media" in kids:
            pn = kids["provisional_media"][0]
            self.leaf(pn)
            provmedia = pn.content()
        lifetime = None
        if "lifetime" in kids:
            ln = kids["lifetime"][0]
            self.leaf(ln)
            lifetime = self.uint(ln, ln.content(), "<lifetime>")
        enodes = [c for c in node.elements() if c.lname in ("client", "server")]
        for extra in enodes[2:]:
            self.warn(
                "W401",
                f"third entity <{extra.name}> in a <bridge>: OpenSIPS bridges the first two and ignores the rest",
                extra,
            )
        refs = [self.entity(en, in_init=in_init) for en in enodes[:2]]
        if len(enodes) < 2:
            self.err("E410", f"a <bridge> needs two entities, this one has {len(enodes)}", node)
            return None, lifetime, provmedia
        if refs[0] is None or refs[1] is None:
            return None, lifetime, provmedia
        a, b = refs
        same = (a.ref == b.ref and a.ref in ("this", "peer")) or (
            a.ref == b.ref == "id" and a.id == b.id and not a.new and not b.new
        )
        if same:
            self.err("E410", "the <bridge> names the same entity twice", enodes[1])
            return None, lifetime, provmedia
        return (a, b), lifetime, provmedia

    def entity(self, en: _Node, *, in_init: bool) -> EntityRef | None:
        allowed = ["this", "peer", "id", "new", "destination", "from_dname", "header"]
        if in_init:
            allowed.append("type")  # the script-scenario spelling; extern init does not read it
        self.attrs(en, ())
        ek = self.children(en, allowed, repeat=("header",))
        for k in ("this", "peer", "new"):
            for n in ek.get(k, []):
                self.leaf(n)
        if in_init and en.lname == "server":
            self.warn(
                "W401",
                "<server> in the <init> of an extern scenario: OpenSIPS creates a client for it (an extern "
                "scenario has no server entity)",
                en,
            )
        for special in ("this", "peer"):
            if special in ek:
                if in_init:
                    self.err(
                        "E410",
                        f"<{special}/> in the <init> of an extern scenario: there is no current entity",
                        ek[special][0],
                    )
                    return None
                return EntityRef(en.lname, special, None, False, None, None, (), self.pos(en))
        _, eid = self.lookup(en, "id")
        if eid is None:
            self.err("E407", f"<{en.name}> in a <bridge> without <this/>, <peer/> or <id>", en)
            return None
        new = in_init or "new" in ek or "destination" in ek
        dest = dname = None
        if "destination" in ek:
            dest = self.value(ek["destination"][0], f"the destination of {eid}", init=in_init)
            if dest is None:
                return None
        elif new:
            self.err(
                "E407",
                f"new entity {eid} without a <destination>",
                en,
                "a new client needs <destination><value type=...>...</value></destination>",
            )
            return None
        if "from_dname" in ek:
            dname = self.value(ek["from_dname"][0], f"the from_dname of {eid}", dname=True, init=in_init)
            if dname is None:
                return None
        headers = self.headers(ek.get("header", []), eid)
        return EntityRef(en.lname, "id", eid, new, dest, dname, headers, self.pos(en))

    # -- rules

    def rules(self, node: _Node, out: dict[str, list[Rule]]) -> None:
        self.attrs(node, ())
        ignored = {
            "reply": "<reply> rules are not run: OpenSIPS 2.4 leaves them as a TODO and pysips, like it, ignores them"
        }
        kids = self.children(node, ("request",), ignored=ignored)
        if "request" not in kids:
            return
        rq = kids["request"][0]
        self.attrs(rq, ())
        for c in rq.parts:
            if not isinstance(c, _Node):
                continue
            if c.is_comment:
                self.err(
                    "E409",
                    'comment inside <request>: OpenSIPS 2.4 reads it as a request type named "comment" and '
                    "refuses the scenario",
                    c,
                    "move the comment outside <request>",
                )
                continue
            method = c.name.upper()
            if method not in METHODS:
                self.err(
                    "E409",
                    f"rules for <{c.name}>: OpenSIPS 2.4 only has rules for "
                    + ", ".join(m.lower() for m in METHODS),
                    c,
                )
                continue
            self.attrs(c, ())
            for rn in self.children(c, ("rule",), repeat=("rule",)).get("rule", []):
                rule = self.rule(rn, method)
                if rule is not None:
                    # OpenSIPS prepends: the list is walked from the last rule of the file to the first
                    out.setdefault(method, []).insert(0, rule)

    def rule(self, rn: _Node, method: str) -> Rule | None:
        before = self.errors
        self.attrs(rn, ("id",))
        kids = self.children(rn, ("condition", "action"))
        rid_text = rn.attr("id")
        rid = None
        if rid_text is None:
            self.err("E402", "<rule> without an id attribute", rn, '<rule id="1">')
        else:
            rid = self.uint(rn, rid_text, "the id of <rule>")
        cond_state = NO_COND_STATE
        stype = sid = None
        if "condition" in kids:
            cn = kids["condition"][0]
            self.attrs(cn, ())
            ck = self.children(cn, ("state", "sender"))
            hit = _deep_find(cn, "state")
            if hit is not None:
                text = hit.first_content()
                if not _inside(hit, cn):
                    self.warn(
                        "W402",
                        f"<condition> has no <state>: OpenSIPS 2.4 takes the <state> at line {hit.line} ({text!r}) "
                        "as the condition state",
                        cn,
                        "add <state> to the condition; a rule without condition state only applies in the bridging "
                        "state",
                    )
                if "state" in ck:
                    self.leaf(ck["state"][0])
                v = self.uint(hit, text, "the <state> of <condition>")
                cond_state = v if v is not None else cond_state
            if "sender" in ck:
                sn = ck["sender"][0]
                self.attrs(sn, ())
                self.children(sn, ("type", "id"))
                tn, stype = self.lookup(sn, "type")
                if stype is None:
                    self.err("E407", "<sender> without a <type> (server or client)", sn)
                elif stype.lower() not in ("server", "client"):
                    self.err("E405", f"sender type {stype!r}: must be server or client", tn or sn)
                    stype = None
                else:
                    stype = stype.lower()
                _, sid = self.lookup(sn, "id")
        if "action" not in kids:
            self.err(
                "E407",
                f"<rule> {rid_text or ''} without an <action>",
                rn,
                'OpenSIPS: "A rule needs an action node"',
            )
            return None
        action = self.action(kids["action"][0])
        if action is None or self.errors > before:
            return None
        return Rule(rid, method, cond_state, stype, sid, action, self.pos(rn))

    def action(self, an: _Node) -> Action | None:
        self.attrs(an, ())
        ak = self.children(an, ("state", "send_reply", "end_dialog_leg", "delete_entity", "bridge"))
        before = self.errors
        state = None
        if "state" in ak:
            sn = ak["state"][0]
            self.leaf(sn)
            state = self.uint(sn, sn.content(), "the <state> of <action>")
        reply = None
        if "send_reply" in ak:
            rn = ak["send_reply"][0]
            self.attrs(rn, ())
            self.children(rn, ("code", "reason"))
            cnode, ctext = self.lookup(rn, "code")
            rnode, rtext = self.lookup(rn, "reason")
            code = None
            if ctext is None:
                self.err("E407", "<send_reply> without a <code>", rn, "<code>200</code>")
            else:
                code = self.uint(cnode or rn, ctext, "the reply <code>")
                if code is not None and not 100 <= code <= 699:
                    self.err("E405", f"reply code {code} is not between 100 and 699", cnode or rn)
            if rtext is None:
                self.err("E407", "<send_reply> without a <reason>", rn, "<reason>OK</reason>")
            if code is not None and rtext is not None and 100 <= code <= 699:
                reply = SendReply(code, rtext, self.pos(rn))
        for k in ("end_dialog_leg", "delete_entity"):
            for n in ak.get(k, []):
                self.leaf(n)
        bridge = None
        if "bridge" in ak:
            bn = ak["bridge"][0]
            refs, lifetime, provmedia = self.bridge_common(bn, in_init=False)
            if refs is not None:
                bridge = BridgeAction(refs, provmedia, lifetime, self.pos(bn))
        if self.errors > before:
            return None
        return Action(state, reply, "end_dialog_leg" in ak, "delete_entity" in ak, bridge, self.pos(an))

    # -- cross checks

    def check_refs(self, init: Init, rules: Mapping[str, list[Rule]]) -> None:
        """W407: a bridge names (without creating it) an entity id that neither <init> nor any bridge creates."""
        known = set(init.bridge.server_ids) | {c.id for c in init.bridge.clients}
        for rs in rules.values():
            for r in rs:
                if r.action.bridge is not None:
                    known |= {e.id for e in r.action.bridge.entities if e.new and e.id}
        for rs in rules.values():
            for r in rs:
                if r.action.bridge is None:
                    continue
                for e in r.action.bridge.entities:
                    if e.ref == "id" and not e.new and e.id not in known:
                        self.warn(
                            "W407",
                            f"the bridge of rule {r.id} names entity {e.id!r}, which no <init> or <bridge> of this "
                            'scenario creates: OpenSIPS fails this bridge ("New entity without a destination")',
                            e.pos,
                            f"add a <destination> to create {e.id}, or use an id from <init>: "
                            + ", ".join(sorted(known)),
                        )


# ---------------------------------------------------------------- public API


def load_scenario_file(path: str, kind: str | None = None) -> tuple[Scenario | None, list[ScriptError]]:
    """Load one scenario file. ``kind`` is "script" or "extern" (the modparam naming the file); None takes the
    root ``type`` attribute (default script). Returns (scenario or None when there is an error, diagnostics)."""
    try:
        with open(path, "rb") as f:
            data = f.read()
    except OSError as e:
        return None, [ScriptError(f"cannot read scenario file: {e.strerror}", path, 0, 0, code="E401")]
    lines = data.decode("utf-8", "replace").splitlines()
    loader = _Loader(path, kind, lines)
    sc = loader.load(data)
    return sc, loader.diags


@dataclass(frozen=True, slots=True)
class _Source:
    kind: str | None
    path: str
    pos: Pos | None = None
    source_line: str = ""


def _load_sources(sources: Iterable[_Source], base_dir: str) -> tuple[dict[str, Scenario], list[ScriptError]]:
    out: dict[str, Scenario] = {}
    diags: list[ScriptError] = []
    for src in sources:
        full = src.path if os.path.isabs(src.path) else os.path.join(base_dir, src.path)
        if not os.path.isfile(full) and src.pos is not None:
            diags.append(
                ScriptError(
                    f"{src.kind or 'script'}_scenario: cannot open {full!r}",
                    src.pos.file,
                    src.pos.line,
                    src.pos.column,
                    src.source_line,
                    "relative paths are resolved against the directory pysips was started in",
                    "E401",
                )
            )
            continue
        sc, d = load_scenario_file(full, src.kind)
        diags.extend(d)
        if sc is None:
            continue
        prev = out.get(sc.id)
        if prev is not None:
            if prev.type != sc.type:
                diags.append(
                    ScriptError(
                        f"scenario id {sc.id!r} is loaded both as a {prev.type} scenario ({prev.file}:{prev.line}) "
                        f"and as a{'n' if sc.type == EXTERN else ''} {sc.type} scenario: pysips needs distinct ids",
                        sc.file,
                        sc.line,
                        1,
                        code="E411",
                    )
                )
                continue
            diags.append(
                ScriptError(
                    f"scenario id {sc.id!r} was already loaded from {prev.file}:{prev.line}: like OpenSIPS, the "
                    "file loaded last is used",
                    sc.file,
                    sc.line,
                    1,
                    code="W408",
                    severity="warning",
                )
            )
        out[sc.id] = sc
    return out, diags


def load_scenarios(
    paths: Iterable[str | tuple[str, str]], base_dir: str | None = None
) -> tuple[dict[str, Scenario], list[ScriptError]]:
    """Load scenario files: each entry is a path (kind from the root type attribute) or a ``(kind, path)`` pair
    with kind "script" / "extern". Relative paths resolve against ``base_dir`` (default: the current directory, the
    directory pysips was started in, as for OpenSIPS). Returns (scenarios by id, diagnostics: errors and warnings);
    a file with an error contributes no scenario."""
    base = base_dir if base_dir is not None else os.getcwd()
    sources = [_Source(None, p) if isinstance(p, str) else _Source(p[0], p[1]) for p in paths]
    return _load_sources(sources, base)


SCENARIO_MODULES = ("b2b_logic", "b2b_logic_xml")
SCENARIO_PARAMS = {"script_scenario": SCRIPT, "extern_scenario": EXTERN}


def scenario_modparams(script: Any) -> list[tuple[str, str, Pos]]:
    """(kind, path, modparam position) for every script_scenario / extern_scenario modparam of a loaded
    b2b_logic / b2b_logic_xml module, in script order."""
    loaded = {lm.name for lm in getattr(script, "loadmodules", [])}
    out: list[tuple[str, str, Pos]] = []
    for mp in getattr(script, "modparams", []):
        kind = SCENARIO_PARAMS.get(mp.param)
        if kind is None or not isinstance(mp.value, str):
            continue
        try:
            rx = re.compile(mp.module)
            hit = any(rx.fullmatch(m) and m in loaded for m in SCENARIO_MODULES)
        except re.error:
            hit = mp.module in SCENARIO_MODULES and mp.module in loaded
        if hit:
            out.append((kind, mp.value, mp.pos))
    return out


def load_script_scenarios(
    script: Any, base_dir: str | None = None
) -> tuple[dict[str, Scenario], list[ScriptError]]:
    """Load the scenarios a parsed Script names in its modparams (see ``scenario_modparams``)."""
    base = base_dir if base_dir is not None else os.getcwd()
    sources = []
    for kind, path, pos in scenario_modparams(script):
        lines = getattr(script, "sources", {}).get(pos.file, [])
        src_line = lines[pos.line - 1] if 0 < pos.line <= len(lines) else ""
        sources.append(_Source(kind, path, pos, src_line))
    return _load_sources(sources, base)


def _calls(root: Any, name: str) -> list[Any]:
    """Every ``Call`` node named ``name`` under ``root`` (any AST dataclass, list or tuple), in source order."""
    from pysips.script.ast import Call

    found: list[Any] = []
    stack = [root]
    while stack:
        n = stack.pop()
        if isinstance(n, (list, tuple)):
            stack.extend(n)
            continue
        fields = getattr(n, "__dataclass_fields__", None)
        if fields is None or isinstance(n, Pos):
            continue
        if isinstance(n, Call) and n.name == name:
            found.append(n)
        stack.extend(getattr(n, f) for f in fields)
    found.sort(key=lambda c: (c.pos.file, c.pos.line, c.pos.column))
    return found


def check_init_requests(
    script: Any, scenarios: Mapping[str, Scenario], all_loaded: bool = True
) -> list[ScriptError]:
    """The 1.x-3.1 / b2b_logic_xml fixup of ``b2b_init_request("id[/flags]", p1..p4)``: a constant id must name a
    loaded script scenario (or be "top hiding"), and parameters beyond the scenario's ``param`` are dropped.

    Only applies to scripts of that API: b2b_logic_xml loaded, a 1.x/2.x script, or scenario modparams present
    (in 3.2+ b2b_logic, the id names entities created by b2b_server_new / b2b_client_new instead). With
    ``all_loaded`` False (a scenario file failed to load) unknown ids are not reported: the id may be in that file."""
    loaded = {lm.name for lm in getattr(script, "loadmodules", [])}
    if not (
        "b2b_logic_xml" in loaded
        or ("b2b_logic" in loaded and (getattr(script, "generation", 3) <= 2 or scenario_modparams(script)))
    ):
        return []
    from pysips.script.ast import Const

    sources = getattr(script, "sources", {})
    out: list[ScriptError] = []

    def report(call: Any, msg: str, hint: str, code: str, severity: str) -> None:
        lines = sources.get(call.pos.file, [])
        src = lines[call.pos.line - 1] if 0 < call.pos.line <= len(lines) else ""
        out.append(ScriptError(msg, call.pos.file, call.pos.line, call.pos.column, src, hint, code, severity))

    for call in _calls(getattr(script, "routes", []), "b2b_init_request"):
        first = call.args[0] if call.args else None
        if not isinstance(first, Const) or not isinstance(first.value, str) or "$" in first.value:
            continue
        sid = first.value.split("/", 1)[0]
        if sid == TOP_HIDING:
            continue
        sc = scenarios.get(sid)
        if sc is None:
            if not all_loaded:
                continue
            module = "b2b_logic_xml" if "b2b_logic_xml" in loaded else "b2b_logic"
            known = ", ".join(sorted(repr(k) for k, v in scenarios.items() if v.type == SCRIPT)) or "none"
            report(
                call,
                f'b2b_init_request: no scenario with id {sid!r} (OpenSIPS: "Wrong Scenary ID")',
                f'loaded script scenarios: {known}; add modparam("{module}", "script_scenario", "file.xml")',
                "E412",
                "error",
            )
            continue
        if sc.type != SCRIPT:
            report(
                call,
                f"b2b_init_request: scenario {sid!r} is an extern scenario ({sc.file}:{sc.line}); "
                "b2b_init_request only starts script scenarios",
                "extern scenarios are started with the b2b_trigger_scenario MI command; load it with "
                "script_scenario to start it from the script",
                "E412",
                "error",
            )
            continue
        given = sum(1 for a in call.args[1:] if a is not None)
        if given > sc.param_count:
            report(
                call,
                f"b2b_init_request passes {given} scenario parameters but {sid!r} takes {sc.param_count} "
                f'(param="{sc.param_count}" in {sc.file}:{sc.line}): the extra ones are ignored',
                "",
                "W409",
                "warning",
            )
    return out


def check_scenarios(script: Any, base_dir: str | None = None) -> list[ScriptError]:
    """For ``pysips check``: the diagnostics of every scenario file the script loads (errors and warnings), then
    those of its ``b2b_init_request`` calls against the loaded scenarios."""
    scenarios, diags = load_script_scenarios(script, base_dir)
    ok = not any(d.severity == "error" for d in diags)
    for d in diags:
        # A linter runs where the scenario files may not be deployed (CI, another machine): a missing file is a
        # warning here; `pysips run` refuses to start without it.
        if d.code == "E401" and "cannot open" in d.message:
            d.severity = "warning"
            d.hint = "pysips run refuses to start without it; " + d.hint
    return diags + check_init_requests(script, scenarios, all_loaded=ok)
