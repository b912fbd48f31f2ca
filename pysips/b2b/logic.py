"""b2b_logic: tuples (one logic session linking a server leg and a client leg) and b2b_init_request flags.

Flag syntaxes, all accepted:

* 1.x-3.1: ``b2b_init_request("top hiding/t300a")``: after ``/``, ``t<secs>`` setup timeout, ``a`` transparent
  authentication, ``p`` preserve the To header, ``s`` (3.2: send the initial SDP; ignored by top hiding).
* 3.2: the same letters as a second parameter (``b2b_init_request("top hiding", "t300a")``).
* 3.4+: a CSV second parameter: ``setup-timeout=300, transparent-auth, preserve-to[, pass-legs-upstream]``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

TOP_HIDING = "top hiding"
NOTDEF_STATE = -3  # OpenSIPS B2B_NOTDEF_STATE: an XML scenario tuple whose <init> sets no state

_SHORT = re.compile(r"^(?:t\d*|[aps])+$")
_SHORT_ITEM = re.compile(r"t(\d*)|([aps])")


@dataclass(slots=True)
class InitFlags:
    setup_timeout: int | None = None  # seconds; None = modparam b2bl_th_init_timeout
    transparent_auth: bool = False
    preserve_to: bool = False
    pass_legs_upstream: bool = False


def parse_flags(text: str | None) -> InitFlags:
    """Parse either flag syntax; raises ValueError naming the bad item."""
    flags = InitFlags()
    if not text:
        return flags
    text = text.strip()
    if _SHORT.match(text):
        for m in _SHORT_ITEM.finditer(text):
            if m.group(2) is None:
                flags.setup_timeout = int(m.group(1)) if m.group(1) else None
            elif m.group(2) == "a":
                flags.transparent_auth = True
            elif m.group(2) == "p":
                flags.preserve_to = True
        return flags
    for item in text.split(","):
        item = item.strip()
        if not item:
            continue
        name, _, value = item.partition("=")
        name = name.strip().lower()
        if name == "setup-timeout":
            try:
                flags.setup_timeout = int(value.strip())
            except ValueError:
                raise ValueError(f"bad setup-timeout value {value.strip()!r}") from None
        elif name == "transparent-auth":
            flags.transparent_auth = True
        elif name == "preserve-to":
            flags.preserve_to = True
        elif name == "pass-legs-upstream":
            flags.pass_legs_upstream = True
        else:
            raise ValueError(f"unknown b2b_init_request flag {name!r}")
    return flags


def split_scenario(scenario: str, flags: str | None) -> tuple[str, InitFlags]:
    """(scenario id, flags) from the first two b2b_init_request arguments, 2.x ``id/flags`` included."""
    sid = scenario.strip()
    if "/" in sid and flags is None:
        sid, _, short = sid.partition("/")
        return sid.strip(), parse_flags(short)
    return sid, parse_flags(flags)


class Tuple:
    """One b2b_logic session. ``key`` is ``"<hash>.<local>"`` as b2b_list shows it."""

    __slots__ = (
        "key",
        "scenario",
        "server",
        "client",
        "flags",
        "state",
        "timer",
        "ended",
        "created",
        "lifetime",
        "cancelled",
        "ents",
        "req_route",
        "reply_route",
        "vals",
        "from_hdr",
        "bridge",
        "retry",
        "xml",
        "sstate",
        "next_sstate",
        "params",
        "init_to",
        "init_sdp",
    )

    def __init__(self, key: str, scenario: str, flags: InitFlags, created: float) -> None:
        self.key = key
        self.scenario = scenario
        self.server: Any = None
        self.client: Any = None
        self.flags = flags
        self.state = -1  # B2B_BRIDGING_STATE until the callee answers, then 0 (bridged)
        self.timer: Any = None  # setup timeout, then max_duration
        self.ended = False
        self.created = created
        self.lifetime = 0.0
        self.cancelled = False
        self.ents: dict[str, Any] = {}  # entity id -> Leg (script scenarios)
        self.req_route: str | None = None
        self.reply_route: str | None = None
        self.vals: dict[str, str] = {}  # $b2b_logic.ctx(...)
        self.from_hdr = ""  # the caller's display name + URI, the From of new client legs
        self.bridge: Any = None  # the b2b_bridge() in progress
        self.retry: Any = None  # timer of a bridge renegotiation retry after a 491 (OpenSIPS PENDING_SDP)
        # XML scenarios (b2b_logic <= 3.1, b2b_logic_xml): the loaded Scenario, its state (logic.c
        # scenario_state, NOTDEF_STATE -3 when <init> sets none), the state a pending bridge moves to, the
        # b2b_init_request / b2b_trigger_scenario parameters, the caller's To URI ("initial" values) and the
        # caller's offer (use_init_sdp)
        self.xml: Any = None
        self.sstate = NOTDEF_STATE
        self.next_sstate: int | None = None
        self.params: list[str | None] = []
        self.init_to: str | None = None
        self.init_sdp: tuple | None = None

    def __repr__(self) -> str:
        return f"<Tuple {self.key} {self.scenario!r} state={self.state}{' ended' if self.ended else ''}>"
