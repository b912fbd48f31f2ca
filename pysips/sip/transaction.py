"""RFC 3261 section 17 transactions, sans-IO.

Nothing here touches a socket or a clock: the caller passes parsed messages and ``now`` (seconds, any monotonic
origin) in, and takes bytes to send and events out. The four automata (INVITE client 17.1.1, non-INVITE client
17.1.2, INVITE server 17.2.1, non-INVITE server 17.2.2) are transition tables: ``{(state, event): handler}``.
A (state, event) pair missing from a table means "absorb silently" (e.g. a 1xx arriving in Completed).

Usage (the network glue and the TU, i.e. the tm module / b2b engine)::

    layer = TransactionLayer(TimerConfig(t1=0.5, t2=4.0, t4=5.0), rfc6026=False)

    # a request arrived
    txn, absorbed = layer.receive_request(req, source_addr, now)
    if txn is None:                      # new request (or an ACK for a 2xx, which has no transaction)
        if req.method == "CANCEL":
            invite_txn = layer.find_invite_for_cancel(req)     # RFC 3261 9.2
        if req.method != "ACK":
            txn = layer.new_server_transaction(req, source_addr, now)
        ... run the script ...
        layer.send_response(txn, make_response(req, 100), now)   # False if refused
    elif absorbed:                       # retransmission (last response re-sent) or hop-by-hop ACK
        pass
    # else: matched and must reach the TU (only an ACK in the RFC 6026 Accepted state)

    # sending a request (the TU has pushed its own Via with a fresh branch: new_branch())
    ctxn = layer.new_client_transaction(req, dest, now)
    # a response arrived
    ctxn, absorbed = layer.receive_response(resp, source_addr, now)
    # ctxn None: stray (RFC 3261 16.7: a proxy forwards it statelessly; RFC 6026 changes that to
    # "drop it", since with the Accepted state every legitimate 2xx retransmission still matches)
    # absorbed: retransmitted final (the ACK went out again) or a late 1xx

    for ev in layer.take_events(): ...           # after every call above
    deadline = layer.get_timer()                  # earliest timer, None if idle
    for ev in layer.handle_timer(now): ...        # when the deadline passes (also drains take_events)

Other calls: ``cancel(ict, now, headers=())`` sends (or, before any 1xx, holds) a CANCEL for a client INVITE
and returns its client transaction; ``terminate(txn)``; ``transport_error(txn, now)``; look-ups without side
effects ``find_server(req)``, ``find_client(branch, method)``, ``find_invite_for_cancel(cancel)``; counters
``len(layer)``, ``server_count``, ``client_count``, ``has_events``. Module helpers: ``new_branch()``,
``build_ack(request, response)``, ``build_cancel(request, headers=...)`` (bytes).

Events (slotted frozen dataclasses) come out of ONE queue, in the order they happened, so the responses of a
server transaction leave in the order the TU sent them:

- ``SendEvent(data, dest, transport, txn)``: bytes for the transport layer (requests, retransmissions, responses,
  the hop-by-hop ACK). ``transport`` is the upper-case Via name ("UDP", "TCP", ...). If the send fails, call
  ``layer.transport_error(txn, now)``.
- ``TimeoutEvent(txn, timer)``: Timer B / F expired (the TU synthesizes a 408, RFC 3261 8.1.3.1 / 16.7), Timer H
  expired (the ACK never came), or the optional Timer C of a client INVITE (the TU should CANCEL; the
  transaction stays alive).
- ``TransportErrorEvent(txn)``: after ``transport_error``; the transaction is terminated.
- ``TerminatedEvent(txn)``: the transaction left the layer (the TU frees what it hung on ``txn.user_data``).

Choices:

- 2xx to INVITE: by default RFC 3261 behaviour: the INVITE client transaction terminates on a 2xx (later 2xx
  retransmissions are strays, which a proxy forwards statelessly) and the INVITE server transaction terminates
  when the TU sends a 2xx (2xx retransmission and the ACK for a 2xx are the TU's business). With
  ``rfc6026=True`` both go to the RFC 6026 "Accepted" state instead (Timer M = L = 64*T1): 2xx retransmissions
  are passed to the TU, INVITE retransmissions are absorbed without a resend, and the TU may send further 2xx
  through ``send_response``. A proxy should turn this on: it stops an INVITE retransmission that crosses the 2xx
  from being taken as a new request.
- Timer B (and C) only run in Calling/Proceeding as RFC 3261 says; a client INVITE that got a 1xx but never a
  final waits for the TU: pass ``timer_c=`` (RFC 3261 16.6 step 11) or call ``layer.terminate(txn)``.
- Reliable transports (anything but UDP) start no retransmission timer (A, E, G) and Timers D, I, J, K are zero,
  so the transaction terminates on the spot.
- Server matching (17.2.3): with the magic cookie, key (branch, sent-by host, sent-by port, method) where ACK uses
  INVITE; without it (RFC 2543) key (Request-URI, From tag, Call-ID, CSeq number, method, top Via) then the To tag
  is checked (the INVITE's To tag, or for an ACK the To tag of the final response sent). Client matching (17.1.3):
  (top Via branch, CSeq method). A CANCEL is its own (non-INVITE) transaction.
- A provisional after a final, or a second final, is refused (``send_response`` returns False, nothing is sent);
  the one exception is a 2xx in the RFC 6026 Accepted state.
- The IST does not send 100 Trying by itself: the TU (tm) sends it as soon as it takes the request.
- Memory: once a transaction enters a wait state (Completed, Confirmed, Accepted) it only absorbs
  retransmissions, so it drops ``request`` and ``last_response`` (set to None) and keeps bytes only. Parsed
  messages are ~30 GC-tracked objects each; keeping them for the 32 s of Timer J/D/H/L/M made the cyclic GC
  cost several times the transaction work itself (measured: +420 us/call vs +55 us/call). The final response
  is in the TU's hands anyway (return value / its own argument); a TU that needs more keeps it in
  ``user_data``, or builds the layer with ``keep_messages=True``.
- The TU hangs its own state on ``txn.user_data``.
"""

from __future__ import annotations

import itertools
import os
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from pysips.sip.message import parse_message
from pysips.sip.timers import TimerConfig, TimerHeap

if TYPE_CHECKING:
    from pysips.sip.message import Message, Request, Response

__all__ = [
    "MAGIC_COOKIE",
    "State",
    "Kind",
    "TimerConfig",
    "Transaction",
    "TransactionLayer",
    "SendEvent",
    "TimeoutEvent",
    "TransportErrorEvent",
    "TerminatedEvent",
    "Event",
    "new_branch",
    "build_ack",
    "build_cancel",
]

MAGIC_COOKIE = "z9hG4bK"

# How header text goes back to bytes when we build an ACK/CANCEL from parsed headers (the message layer
# decodes with utf-8 + surrogateescape, so undecodable bytes survive the round trip).
_ENCODING = "utf-8"
_ERRORS = "surrogateescape"


class State:
    """Transaction state names (plain strings: hashing an Enum member costs a Python-level call)."""

    CALLING = "Calling"
    TRYING = "Trying"
    PROCEEDING = "Proceeding"
    COMPLETED = "Completed"
    CONFIRMED = "Confirmed"
    ACCEPTED = "Accepted"
    TERMINATED = "Terminated"


class Kind:
    ICT = "ict"  # INVITE client
    NICT = "nict"  # non-INVITE client
    IST = "ist"  # INVITE server
    NIST = "nist"  # non-INVITE server


_branch_prefix = MAGIC_COOKIE + os.urandom(6).hex() + "."
_branch_counter = itertools.count(1)


def set_branch_prefix(prefix: str) -> None:
    """Replace the per-process part of new branches (worker processes put their id in it). Must start with the
    magic cookie."""
    global _branch_prefix
    if not prefix.startswith(MAGIC_COOKIE):
        raise ValueError(f"branch prefix must start with {MAGIC_COOKIE}")
    _branch_prefix = prefix


def new_branch() -> str:
    """A fresh RFC 3261 branch: magic cookie, per-process random part, counter (unique in space and time)."""
    return f"{_branch_prefix}{next(_branch_counter):x}"


@dataclass(slots=True, frozen=True)
class SendEvent:
    data: bytes
    dest: Any
    transport: str
    txn: Transaction


@dataclass(slots=True, frozen=True)
class TimeoutEvent:
    txn: Transaction
    timer: str  # "B", "F", "H" (terminated) or "C" (still alive)


@dataclass(slots=True, frozen=True)
class TransportErrorEvent:
    txn: Transaction


@dataclass(slots=True, frozen=True)
class TerminatedEvent:
    txn: Transaction


Event = SendEvent | TimeoutEvent | TransportErrorEvent | TerminatedEvent


class Transaction:
    """One transaction. Read-only for the TU except ``user_data``.

    ``request``: the request that created it. ``last_response``: client side, the last response received;
    server side, the last response sent. Both become None when the transaction enters a wait state
    (Completed, Confirmed, Accepted) unless the layer has ``keep_messages=True``. ``last_status`` (0 before
    any response), ``method``, ``branch``, ``kind``, ``state``, ``dest``, ``transport``, ``reliable``,
    ``created`` stay: e.g. an ACK that finds a server transaction with ``last_status >= 300`` is
    hop-by-hop. ``dest``: where requests (client) or responses (server) go. ``cancel_txn``: the CANCEL
    client transaction of a client INVITE.
    """

    __slots__ = (
        "kind",
        "state",
        "request",
        "method",
        "branch",
        "key",
        "dest",
        "transport",
        "reliable",
        "last_response",
        "last_status",
        "user_data",
        "created",
        "cancel_txn",
        "_table",
        "_out",
        "_ack",
        "_interval",
        "_rt",
        "_to",
        "_to_tag",
        "_legacy",
        "_req_to_tag",
        "_timer_c",
        "_cancel_pending",
    )

    def __init__(
        self,
        kind: str,
        state: str,
        request: Request,
        key: tuple,
        dest: Any,
        transport: str,
        reliable: bool,
        now: float,
        table: dict,
    ) -> None:
        self.kind = kind
        self.state = state
        self.request = request
        self.method = request.method
        self.branch = None if key[0] == "2543" else key[0]
        self.key = key
        self.dest = dest
        self.transport = transport
        self.reliable = reliable
        self.last_response: Response | None = None
        self.last_status = 0
        self.user_data: Any = None
        self.created = now
        self.cancel_txn: Transaction | None = None
        self._table = table
        self._out: bytes | None = None
        self._ack: bytes | None = None
        self._interval = 0.0
        self._rt: list | None = None
        self._to: list | None = None
        self._to_tag: str | None = None
        self._legacy = False
        self._req_to_tag: str | None = None
        self._timer_c: float | None = None
        self._cancel_pending: list[tuple[str, str]] | None = None

    @property
    def is_client(self) -> bool:
        return self.kind in (Kind.ICT, Kind.NICT)

    @property
    def is_invite(self) -> bool:
        return self.kind in (Kind.ICT, Kind.IST)

    @property
    def terminated(self) -> bool:
        return self.state == State.TERMINATED

    def __repr__(self) -> str:
        return f"<Transaction {self.kind} {self.method} {self.state} key={self.key!r}>"


def _top_via_text(msg: Message) -> str:
    vias = msg.get_values("Via")
    if not vias:
        raise ValueError("message has no Via")
    return vias[0]


def _request_uri_bytes(data: bytes) -> bytes:
    """The Request-URI exactly as it went out (the request line of the sent bytes)."""
    line = data[: data.index(b"\r\n")]
    return line.split(b" ", 2)[1]


def _build_like(
    request: Request, sent: bytes | None, method: str, to_value: str, extra: Iterable[tuple[str, str]] = ()
) -> bytes:
    ruri = _request_uri_bytes(sent) if sent else str(request.ruri).encode(_ENCODING, _ERRORS)
    lines = [f"Via: {_top_via_text(request)}"]
    lines.extend(f"Route: {r}" for r in request.get_headers("Route"))
    lines.append(f"From: {request.get_header('From')}")
    lines.append(f"To: {to_value}")
    lines.append(f"Call-ID: {request.get_header('Call-ID')}")
    lines.append(f"CSeq: {request.cseq.number} {method}")
    lines.append("Max-Forwards: 70")
    lines.extend(f"{name}: {value}" for name, value in extra)
    lines.append("Content-Length: 0")
    head = "\r\n".join(lines).encode(_ENCODING, _ERRORS)
    return method.encode() + b" " + ruri + b" SIP/2.0\r\n" + head + b"\r\n\r\n"


def build_ack(request: Request, response: Response, sent: bytes | None = None) -> bytes:
    """The hop-by-hop ACK for a non-2xx final response (RFC 3261 17.1.1.3).

    Same Request-URI, Call-ID, From and CSeq number as the INVITE; To from the response (it carries the tag);
    a single Via equal to the INVITE's top Via (so the same branch); the INVITE's Route headers.
    ``sent``: the INVITE bytes as sent, to copy the Request-URI byte for byte.
    """
    return _build_like(request, sent, "ACK", response.get_header("To") or "")


def build_cancel(
    request: Request, sent: bytes | None = None, headers: Iterable[tuple[str, str]] = ()
) -> bytes:
    """A CANCEL for ``request`` (RFC 3261 9.1): same Request-URI, Call-ID, From, To, CSeq number and top Via
    (so the same branch) and Route headers; ``headers`` adds e.g. a Reason header (RFC 3326)."""
    return _build_like(request, sent, "CANCEL", request.get_header("To") or "", headers)


def _server_key(req: Request, method: str) -> tuple:
    via = req.via
    branch = via.branch
    if branch and branch.startswith(MAGIC_COOKIE):
        return (branch, via.host.lower(), via.port, method)
    return ("2543", str(req.ruri), req.from_.tag, req.call_id, req.cseq.number, method, str(via))


class TransactionLayer:
    """All transactions of one SIP element, keyed for O(1) matching, with one timer heap."""

    def __init__(
        self, config: TimerConfig | None = None, *, rfc6026: bool = False, keep_messages: bool = False
    ) -> None:
        self.config = config if config is not None else TimerConfig()
        self.rfc6026 = rfc6026
        self.keep_messages = keep_messages
        self._server: dict[tuple, Transaction] = {}
        self._client: dict[tuple, Transaction] = {}
        self._timers = TimerHeap()
        self._events: list[Event] = []
        # receive_request -> new_server_transaction computes the key once
        self._last_req: Request | None = None
        self._last_key: tuple | None = None

    # ----------------------------------------------------------------------------------------- queries
    def __len__(self) -> int:
        return len(self._server) + len(self._client)

    @property
    def server_count(self) -> int:
        return len(self._server)

    @property
    def client_count(self) -> int:
        return len(self._client)

    def client_transactions(self) -> list[Transaction]:
        """The live client transactions (a snapshot: safe to change the layer while walking it)."""
        return list(self._client.values())

    @property
    def has_events(self) -> bool:
        """True when take_events() would return something."""
        return bool(self._events)

    def take_events(self) -> list[Event]:
        """Everything produced since the last call, in order; empties the queue."""
        events = self._events
        if events:
            self._events = []
        return events

    def get_timer(self) -> float | None:
        """Earliest deadline of all transactions, or None."""
        return self._timers.next_deadline()

    def find_client(self, branch: str, method: str) -> Transaction | None:
        return self._client.get((branch, method))

    def find_server(self, req: Request) -> Transaction | None:
        """The server transaction ``req`` belongs to, without feeding it (ACK finds its INVITE)."""
        method = "INVITE" if req.method == "ACK" else req.method
        txn = self._server.get(_server_key(req, method))
        if txn is not None and txn._legacy and not self._legacy_tag_ok(txn, req):
            return None
        return txn

    def find_invite_for_cancel(self, cancel: Request) -> Transaction | None:
        """The INVITE server transaction a CANCEL cancels (RFC 3261 9.2), or None."""
        txn = self._server.get(_server_key(cancel, "INVITE"))
        if txn is None or txn.kind != Kind.IST:
            return None
        if txn._legacy and cancel.to.tag != txn._req_to_tag:
            return None
        return txn

    @staticmethod
    def _legacy_tag_ok(txn: Transaction, req: Request) -> bool:
        tag = req.to.tag
        if req.method == "ACK":
            return tag == (txn._to_tag if txn._to_tag is not None else txn._req_to_tag)
        return tag == txn._req_to_tag

    # ------------------------------------------------------------------------------------ server side
    def receive_request(self, req: Request, source: Any, now: float) -> tuple[Transaction | None, bool]:
        """Match an incoming request against the server transactions.

        Returns (None, False) for a request that matches nothing (new request, or an ACK for a 2xx);
        (txn, True) when the transaction absorbed it (retransmission: the last response is queued again;
        hop-by-hop ACK); (txn, False) when it matched and the TU must see it (ACK in Accepted).
        Raises SIPParseError (from the message layer) if the top Via or CSeq cannot be parsed.
        """
        method = req.method
        is_ack = method == "ACK"
        key = _server_key(req, "INVITE" if is_ack else method)
        txn = self._server.get(key)
        if txn is None or (txn._legacy and not self._legacy_tag_ok(txn, req)):
            self._last_req = req
            self._last_key = key
            return None, False
        handler = txn._table.get((txn.state, "ack" if is_ack else "req"))
        if handler is None:
            return txn, True
        return txn, handler(self, txn, req, now)

    def new_server_transaction(
        self,
        req: Request,
        source: Any,
        now: float,
        *,
        transport: str | None = None,
        reliable: bool | None = None,
        response_dest: Any = None,
    ) -> Transaction:
        """Create the server transaction for a new request (call after receive_request returned None).

        Responses go to ``response_dest`` if given, else back to ``source`` (symmetric response routing;
        RFC 3581 rport / 18.2.2 address selection is the transport glue's business). ``transport`` defaults
        to the top Via's, ``reliable`` to ``transport != "UDP"``.
        """
        method = req.method
        if method == "ACK":
            raise ValueError("an ACK never creates a server transaction")
        if self._last_req is req:
            key = self._last_key
        else:
            key = _server_key(req, method)
        self._last_req = self._last_key = None
        if transport is None:
            transport = req.via.transport.upper()
        if reliable is None:
            reliable = transport != "UDP"
        if method == "INVITE":
            txn = Transaction(
                Kind.IST, State.PROCEEDING, req, key, source, transport, reliable, now, IST_TABLE
            )
        else:
            txn = Transaction(Kind.NIST, State.TRYING, req, key, source, transport, reliable, now, NIST_TABLE)
        if response_dest is not None:
            txn.dest = response_dest
        if key[0] == "2543":
            txn._legacy = True
            txn._req_to_tag = req.to.tag
        # A colliding RFC 2543 key (same fields, different To tag) replaces the index entry; the older
        # transaction still runs to its end and its removal checks identity.
        self._server[key] = txn
        return txn

    def send_response(self, txn: Transaction, resp: Response, now: float) -> bool:
        """Send a response through a server transaction. False (nothing sent) if the state refuses it:
        a 1xx after a final, a second final, or anything after termination."""
        status = resp.status
        ev = "s1" if status < 200 else ("s2" if status < 300 else "s3")
        handler = txn._table.get((txn.state, ev))
        if handler is None:
            return False
        handler(self, txn, resp, now)
        return True

    # ------------------------------------------------------------------------------------ client side
    def new_client_transaction(
        self,
        req: Request,
        dest: Any,
        now: float,
        *,
        transport: str | None = None,
        reliable: bool | None = None,
        timer_c: float | None = None,
    ) -> Transaction:
        """Create a client transaction and queue the request for sending.

        The request's top Via must carry the branch (``new_branch()``). ``transport`` defaults to the top
        Via's, ``reliable`` to ``transport != "UDP"``. ``timer_c`` (INVITE only): seconds after each
        provisional (other than 100) after which a TimeoutEvent(txn, "C") is emitted (RFC 3261 16.6/16.7).
        """
        method = req.method
        if method == "ACK":
            raise ValueError("an ACK has no client transaction (17.1.1.3 / 2xx ACK is end-to-end)")
        via = req.via
        if via is None:
            raise ValueError("the request has no Via")
        branch = via.branch
        if not branch:
            raise ValueError("the request's top Via has no branch")
        key = (branch, method)
        if key in self._client:
            raise ValueError(f"a client transaction already exists for branch {branch!r} {method}")
        if transport is None:
            transport = via.transport.upper()
        if reliable is None:
            reliable = transport != "UDP"
        t1 = self.config.t1
        if method == "INVITE":
            txn = Transaction(Kind.ICT, State.CALLING, req, key, dest, transport, reliable, now, ICT_TABLE)
            txn._timer_c = timer_c
            if not reliable:
                txn._interval = t1
                txn._rt = self._timers.push(now + t1, txn, "A")
            txn._to = self._timers.push(now + 64 * t1, txn, "B", 0)
        else:
            txn = Transaction(Kind.NICT, State.TRYING, req, key, dest, transport, reliable, now, NICT_TABLE)
            if not reliable:
                txn._interval = t1
                txn._rt = self._timers.push(now + t1, txn, "E")
            txn._to = self._timers.push(now + 64 * t1, txn, "F", 0)
        self._client[key] = txn
        data = req.to_bytes()
        txn._out = data
        self._events.append(SendEvent(data, dest, transport, txn))
        return txn

    def receive_response(self, resp: Response, source: Any, now: float) -> tuple[Transaction | None, bool]:
        """Match a response to a client transaction (top Via branch + CSeq method).

        (None, False): stray. (txn, False): pass to the TU (provisionals, the first final, 2xx in Accepted).
        (txn, True): absorbed (retransmitted final: the ACK is re-sent; late 1xx).
        """
        via = resp.via
        if via is None:
            return None, False
        txn = self._client.get((via.branch, resp.cseq.method))
        if txn is None:
            return None, False
        status = resp.status
        ev = "r1" if status < 200 else ("r2" if status < 300 else "r3")
        handler = txn._table.get((txn.state, ev))
        if handler is None:
            return txn, True
        return txn, handler(self, txn, resp, now)

    def cancel(
        self, txn: Transaction, now: float, headers: Iterable[tuple[str, str]] = ()
    ) -> Transaction | None:
        """CANCEL a client INVITE (RFC 3261 9.1). Returns the CANCEL's client transaction, or None when none
        is sent now: before any provisional the CANCEL is held and sent when the first 1xx arrives (then
        ``txn.cancel_txn`` is set); after a final there is nothing to cancel."""
        if txn.kind != Kind.ICT:
            raise ValueError("only a client INVITE transaction can be cancelled")
        if txn.cancel_txn is not None:
            return txn.cancel_txn
        if txn.state == State.CALLING:
            txn._cancel_pending = list(headers)
            return None
        if txn.state != State.PROCEEDING:
            return None
        return self._send_cancel(txn, now, headers)

    def _send_cancel(self, txn: Transaction, now: float, headers: Iterable[tuple[str, str]]) -> Transaction:
        req = parse_message(build_cancel(txn.request, txn._out, headers))
        ctxn = self.new_client_transaction(req, txn.dest, now, transport=txn.transport, reliable=txn.reliable)
        txn.cancel_txn = ctxn
        return ctxn

    # --------------------------------------------------------------------------------- common control
    def transport_error(self, txn: Transaction, now: float) -> None:
        """The transport could not send for ``txn`` (17.1.4 / 17.2.4): TransportErrorEvent and termination."""
        handler = txn._table.get((txn.state, "terr"))
        if handler is not None:
            handler(self, txn, None, now)

    def terminate(self, txn: Transaction) -> None:
        """Remove a transaction now (TerminatedEvent). Idempotent."""
        if txn.state == State.TERMINATED:
            return
        txn.state = State.TERMINATED
        self._stop_timers(txn)
        index = self._client if txn.kind in (Kind.ICT, Kind.NICT) else self._server
        if index.get(txn.key) is txn:
            del index[txn.key]
        self._events.append(TerminatedEvent(txn))

    def handle_timer(self, now: float) -> list[Event]:
        """Fire every timer due at ``now``; returns (and drains) the event queue."""
        pop = self._timers.pop_due
        # Each due entry is popped once and handlers only schedule strictly later deadlines (or
        # terminate at once), so the loop is bounded by the number of entries due.
        while (fired := pop(now)) is not None:
            txn, name = fired
            handler = txn._table.get((txn.state, name))
            if handler is not None:
                handler(self, txn, None, now)
        return self.take_events()

    # -------------------------------------------------------------------------------------- internals
    def _stop_timers(self, txn: Transaction) -> None:
        if txn._rt is not None:
            self._timers.cancel(txn._rt)
            txn._rt = None
        if txn._to is not None:
            self._timers.cancel(txn._to)
            txn._to = None

    def _set_timeout(self, txn: Transaction, name: str, delay: float, now: float) -> None:
        """Replace the transaction's timeout-type timer; a zero delay terminates on the spot."""
        if txn._to is not None:
            self._timers.cancel(txn._to)
            txn._to = None
        if delay <= 0:
            self.terminate(txn)
        else:
            txn._to = self._timers.push(now + delay, txn, name, 0)

    def _set_retransmit(self, txn: Transaction, name: str, interval: float, now: float) -> None:
        txn._interval = interval
        txn._rt = self._timers.push(now + interval, txn, name)

    def _release(self, txn: Transaction, keep_out: bool) -> None:
        """Entering a wait state (Completed, Confirmed, Accepted): only bytes and matching data are needed
        from now on. Dropping the parsed messages keeps ~60 GC-tracked objects per transaction out of the
        heap for up to 32 s, which otherwise makes the cyclic GC dominate the per-call cost."""
        if not self.keep_messages:
            txn.request = None
            txn.last_response = None
        if not keep_out:
            txn._out = None

    def _send(self, txn: Transaction, data: bytes) -> None:
        self._events.append(SendEvent(data, txn.dest, txn.transport, txn))


Handler = Callable[[TransactionLayer, Transaction, Any, float], Any]


# ============================================================================ INVITE client (17.1.1)
def _ict_provisional(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> bool:
    txn.last_response = resp
    txn.last_status = resp.status
    if txn.state == State.CALLING:
        txn.state = State.PROCEEDING
        layer._stop_timers(txn)  # no more retransmissions; Timer B only runs in Calling
        if txn._cancel_pending is not None:
            headers, txn._cancel_pending = txn._cancel_pending, None
            layer._send_cancel(txn, now, headers)
    if txn._timer_c is not None and resp.status > 100:
        layer._set_timeout(txn, "C", txn._timer_c, now)
    return False


def _ict_2xx(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> bool:
    txn.last_response = resp
    txn.last_status = resp.status
    txn._cancel_pending = None
    if layer.rfc6026:
        txn.state = State.ACCEPTED
        layer._stop_timers(txn)
        layer._release(txn, keep_out=False)
        layer._set_timeout(txn, "M", layer.config.timeout_64t1, now)
    else:
        layer.terminate(txn)
    return False


def _ict_final(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> bool:
    txn.last_response = resp
    txn.last_status = resp.status
    txn._cancel_pending = None
    txn.state = State.COMPLETED
    layer._stop_timers(txn)
    txn._ack = build_ack(txn.request, resp, txn._out)
    layer._send(txn, txn._ack)
    layer._release(txn, keep_out=False)
    layer._set_timeout(txn, "D", 0.0 if txn.reliable else layer.config.timer_d, now)
    return False


def _ict_final_again(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> bool:
    layer._send(txn, txn._ack)
    return True


def _ict_accepted_2xx(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> bool:
    txn.last_status = resp.status
    if layer.keep_messages:
        txn.last_response = resp
    return False


def _ict_timer_a(layer: TransactionLayer, txn: Transaction, _: None, now: float) -> None:
    layer._send(txn, txn._out)
    layer._set_retransmit(txn, "A", txn._interval * 2, now)


def _ict_timer_c(layer: TransactionLayer, txn: Transaction, _: None, now: float) -> None:
    txn._to = None
    layer._events.append(TimeoutEvent(txn, "C"))


# ======================================================================== non-INVITE client (17.1.2)
def _nict_provisional(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> bool:
    txn.last_response = resp
    txn.last_status = resp.status
    txn.state = State.PROCEEDING
    return False


def _nict_final(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> bool:
    txn.last_response = resp
    txn.last_status = resp.status
    txn.state = State.COMPLETED
    layer._stop_timers(txn)
    layer._release(txn, keep_out=False)
    layer._set_timeout(txn, "K", 0.0 if txn.reliable else layer.config.t4, now)
    return False


def _nict_timer_e_trying(layer: TransactionLayer, txn: Transaction, _: None, now: float) -> None:
    layer._send(txn, txn._out)
    layer._set_retransmit(txn, "E", min(txn._interval * 2, layer.config.t2), now)


def _nict_timer_e_proceeding(layer: TransactionLayer, txn: Transaction, _: None, now: float) -> None:
    layer._send(txn, txn._out)
    layer._set_retransmit(txn, "E", layer.config.t2, now)


# ============================================================================ INVITE server (17.2.1)
def _srv_send(layer: TransactionLayer, txn: Transaction, resp: Response) -> None:
    data = resp.to_bytes()
    txn._out = data
    txn.last_response = resp
    txn.last_status = resp.status
    layer._events.append(SendEvent(data, txn.dest, txn.transport, txn))


def _srv_resend_last(layer: TransactionLayer, txn: Transaction, req: Request, now: float) -> bool:
    if txn._out is not None:
        layer._send(txn, txn._out)
    return True


def _ist_provisional(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> None:
    _srv_send(layer, txn, resp)


def _ist_2xx(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> None:
    _srv_send(layer, txn, resp)
    if layer.rfc6026:
        txn.state = State.ACCEPTED
        layer._release(txn, keep_out=False)
        layer._set_timeout(txn, "L", layer.config.timeout_64t1, now)
    else:
        layer.terminate(txn)


def _ist_final(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> None:
    _srv_send(layer, txn, resp)
    txn.state = State.COMPLETED
    if txn._legacy:
        txn._to_tag = resp.to.tag
    layer._release(txn, keep_out=True)
    if not txn.reliable:
        layer._set_retransmit(txn, "G", layer.config.t1, now)
    layer._set_timeout(txn, "H", layer.config.timeout_64t1, now)


def _ist_ack(layer: TransactionLayer, txn: Transaction, req: Request, now: float) -> bool:
    txn.state = State.CONFIRMED
    layer._stop_timers(txn)
    layer._set_timeout(txn, "I", 0.0 if txn.reliable else layer.config.t4, now)
    return True


def _ist_timer_g(layer: TransactionLayer, txn: Transaction, _: None, now: float) -> None:
    layer._send(txn, txn._out)
    layer._set_retransmit(txn, "G", min(txn._interval * 2, layer.config.t2), now)


def _ist_accepted_2xx(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> None:
    txn.last_status = resp.status
    if layer.keep_messages:
        txn.last_response = resp
    layer._send(txn, resp.to_bytes())


# ======================================================================== non-INVITE server (17.2.2)
def _nist_provisional(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> None:
    _srv_send(layer, txn, resp)
    txn.state = State.PROCEEDING


def _nist_final(layer: TransactionLayer, txn: Transaction, resp: Response, now: float) -> None:
    _srv_send(layer, txn, resp)
    txn.state = State.COMPLETED
    layer._release(txn, keep_out=True)
    layer._set_timeout(txn, "J", 0.0 if txn.reliable else layer.config.timeout_64t1, now)


# ============================================================================== shared handlers
def _absorb(layer: TransactionLayer, txn: Transaction, msg: Any, now: float) -> bool:
    return True


def _pass_to_tu(layer: TransactionLayer, txn: Transaction, msg: Any, now: float) -> bool:
    return False


def _terminate(layer: TransactionLayer, txn: Transaction, _: Any, now: float) -> None:
    layer.terminate(txn)


def _timeout_named(name: str) -> Handler:
    def fire(layer: TransactionLayer, txn: Transaction, _: Any, now: float) -> None:
        txn._to = None
        layer._events.append(TimeoutEvent(txn, name))
        layer.terminate(txn)

    return fire


def _transport_error(layer: TransactionLayer, txn: Transaction, _: Any, now: float) -> None:
    layer._events.append(TransportErrorEvent(txn))
    layer.terminate(txn)


_S = State

# Events: r1/r2/r3 = 1xx / 2xx / 3xx-6xx received (client); s1/s2/s3 = sent by the TU (server);
# req / ack = request received (server); single letters = timers; terr = transport error.
ICT_TABLE: dict[tuple[str, str], Handler] = {
    (_S.CALLING, "A"): _ict_timer_a,
    (_S.CALLING, "B"): _timeout_named("B"),
    (_S.CALLING, "r1"): _ict_provisional,
    (_S.CALLING, "r2"): _ict_2xx,
    (_S.CALLING, "r3"): _ict_final,
    (_S.CALLING, "terr"): _transport_error,
    (_S.PROCEEDING, "r1"): _ict_provisional,
    (_S.PROCEEDING, "r2"): _ict_2xx,
    (_S.PROCEEDING, "r3"): _ict_final,
    (_S.PROCEEDING, "C"): _ict_timer_c,
    (_S.PROCEEDING, "terr"): _transport_error,
    (_S.COMPLETED, "r3"): _ict_final_again,
    (_S.COMPLETED, "D"): _terminate,
    (_S.COMPLETED, "terr"): _transport_error,
    (_S.ACCEPTED, "r2"): _ict_accepted_2xx,
    (_S.ACCEPTED, "M"): _terminate,
}

NICT_TABLE: dict[tuple[str, str], Handler] = {
    (_S.TRYING, "E"): _nict_timer_e_trying,
    (_S.TRYING, "F"): _timeout_named("F"),
    (_S.TRYING, "r1"): _nict_provisional,
    (_S.TRYING, "r2"): _nict_final,
    (_S.TRYING, "r3"): _nict_final,
    (_S.TRYING, "terr"): _transport_error,
    (_S.PROCEEDING, "E"): _nict_timer_e_proceeding,
    (_S.PROCEEDING, "F"): _timeout_named("F"),
    (_S.PROCEEDING, "r1"): _nict_provisional,
    (_S.PROCEEDING, "r2"): _nict_final,
    (_S.PROCEEDING, "r3"): _nict_final,
    (_S.PROCEEDING, "terr"): _transport_error,
    (_S.COMPLETED, "K"): _terminate,
}

IST_TABLE: dict[tuple[str, str], Handler] = {
    (_S.PROCEEDING, "req"): _srv_resend_last,
    (_S.PROCEEDING, "s1"): _ist_provisional,
    (_S.PROCEEDING, "s2"): _ist_2xx,
    (_S.PROCEEDING, "s3"): _ist_final,
    (_S.PROCEEDING, "terr"): _transport_error,
    (_S.COMPLETED, "req"): _srv_resend_last,
    (_S.COMPLETED, "ack"): _ist_ack,
    (_S.COMPLETED, "G"): _ist_timer_g,
    (_S.COMPLETED, "H"): _timeout_named("H"),
    (_S.COMPLETED, "terr"): _transport_error,
    (_S.CONFIRMED, "I"): _terminate,
    (_S.ACCEPTED, "req"): _absorb,
    (_S.ACCEPTED, "ack"): _pass_to_tu,
    (_S.ACCEPTED, "s2"): _ist_accepted_2xx,
    (_S.ACCEPTED, "L"): _terminate,
}

NIST_TABLE: dict[tuple[str, str], Handler] = {
    (_S.TRYING, "s1"): _nist_provisional,
    (_S.TRYING, "s2"): _nist_final,
    (_S.TRYING, "s3"): _nist_final,
    (_S.TRYING, "terr"): _transport_error,
    (_S.PROCEEDING, "req"): _srv_resend_last,
    (_S.PROCEEDING, "s1"): _ist_provisional,
    (_S.PROCEEDING, "s2"): _nist_final,
    (_S.PROCEEDING, "s3"): _nist_final,
    (_S.PROCEEDING, "terr"): _transport_error,
    (_S.COMPLETED, "req"): _srv_resend_last,
    (_S.COMPLETED, "J"): _terminate,
    (_S.COMPLETED, "terr"): _transport_error,
}
