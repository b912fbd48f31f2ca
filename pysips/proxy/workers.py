"""Worker processes: ``udp_workers=N`` (3.x) / ``children=N`` (2.x) / ``pysips run --workers N``.

OpenSIPS runs N processes per UDP socket over shared memory; pysips forks N copies of the loaded, checked server
(``fork`` after the script is compiled, so a worker starts in milliseconds) and each binds the SAME sockets with
SO_REUSEPORT. The kernel picks the socket of a UDP datagram by a hash of its 4-tuple, so everything one peer
sends to one of our sockets (an INVITE, its retransmissions, its CANCEL and its ACK) reaches the same worker;
tests/e2e/test_workers.py proves it for the kernel this runs on.

What can reach the wrong worker is a reply: it comes from the callee's address, which hashes independently of
the caller's. Every worker therefore writes its id into the branches it generates (``new_branch()`` in
pysips/sip/transaction.py gets a per-worker prefix: ``z9hG4bK<token>w<id>.<counter>``) and a reply whose top
Via branch names another worker is handed over, unparsed, over a loopback UDP socket to that worker together
with the source address and the index of the socket it arrived on; the owner processes it as if it had arrived
there. Replies to module probes (dispatcher / drouting reply hooks, whose branches carry no worker id) are
delivered locally and to every other worker: only the one that sent the probe knows its branch.

Shared state: $shv writes go to worker 0, which applies them in arrival order and sends them to every other
worker (each worker also applies its own write at once, so it reads what it wrote); statistics stay per worker
and MI (run by worker 0 only, like every once-only service: httpd, mi_http, mi_fifo, prometheus, startup_route,
timer_route) sums them on demand. The parent only supervises: it prints "pysips ready" when every worker is
bound, forwards SIGTERM, logs (and restarts) a worker that dies.

Modules that keep per-call state in process memory (dialog, usrloc...) would see only part of the traffic
in each worker: with one of them loaded the server runs a single process and says why (UNSAFE_MODULES).

The b2b engine (b2b_logic) runs in every worker: each call lives in the worker that received its INVITE, and
every identifier the engine generates (To-tag toward the caller, From-tag and Call-ID of its client legs, tuple
keys) carries ``tag_token``; ``dialog_owner`` (a router b2b_logic registers) hands an in-dialog request whose
To / From tag or Call-ID names another worker (the callee's BYE, re-INVITE...) to that worker. MI runs in worker
0: b2b_terminate_call / b2b_bridge are run in the worker named in their key and b2b_list in every worker
(``route_mi_by_key`` / ``route_mi_to_all``, over the same channel). Messages longer than a datagram (b2b_list of
thousands of calls) cross the channel in pieces.

With a b2b ``cachedb_url`` (Redis persistence) every worker writes its own calls; at start-up every worker reads
the store and restores the calls whose token names it, modulo the worker count (``partition``): a restart with
another count, or calls set up by another node, still land in exactly one worker, and ``dialog_owner`` sends their
in-dialog requests there by the same rule (``foreign_tokens``).
"""

from __future__ import annotations

import ctypes
import os
import pickle
import re
import select
import signal
import socket
import sys
import threading
import time
from collections.abc import Callable
from typing import Any

import trio

from pysips.net.tcp import TCPTransport
from pysips.net.udp import _BUFSIZE, UDPTransport

MAGIC_COOKIE = "z9hG4bK"
MAX_WORKERS = 64

# A worker token of any run: 8 hex digits, "w", the worker id, then "." or the end (b2b tuple keys end with it).
# Tags and keys written by an earlier run (restored from Redis) or by another node carry another token.
TOKEN_RE = re.compile(rb"[0-9a-f]{8}w(\d{1,2})(?:\.|$)")
# the same inside the To / From / Call-ID header lines of a request (dialog_owner's fallback)
_DIALOG_TOKEN_RE = re.compile(
    rb"^(?:to|t|from|f|call-id|i)[ \t]*:[^\r\n]*?[0-9a-f]{8}w(\d{1,2})\.", re.IGNORECASE | re.MULTILINE
)

# Modules whose state lives in one process and is needed by messages another worker may receive.
UNSAFE_MODULES = frozenset(
    {
        "dialog",
        "topology_hiding",
        "cachedb_local",
        "usrloc",
        "registrar",
        "pike",
        "ratelimit",
        "load_balancer",
        "presence",
        "presence_xml",
        "msilo",
        "imc",
        "uac_registrant",
        "gflags",
        "sst",
    }
)
# headers whose token names the worker holding a dialog (Workers.dialog_owner)
_DIALOG_HEADERS = frozenset({b"to", b"t", b"from", b"f", b"call-id", b"i"})
# Services that listen on a fixed address or must act once for the whole server: worker 0 runs them.
ONCE_SERVICES = frozenset({"httpd", "mi_http", "mi_fifo", "mi_datagram", "mi_xmlrpc", "prometheus"})

# channel message kinds (first byte)
_MSG = b"M"  # a SIP message handed over: b"M<socket index> <ip> <port>\n<data>"
_HOOK = b"H"  # a reply-hook reply delivered to every worker (same layout as M)
_SHV = b"S"  # pickle((name, value)); value None deletes
_QUERY = b"Q"  # pickle((request id, from worker, names)) -> the worker answers with R
_REPLY = b"R"  # pickle((request id, {group:name: value}))
_RESET = b"X"  # pickle(names) (None: every resettable statistic)
_SYNC = (
    b"Y"  # pickle(worker id): worker 0 answers with A (a started or restarted worker asks for the $shv table)
)
_ALL_SHV = b"A"  # pickle(dict): the whole $shv table
_MI_CALL = b"C"  # pickle((request id, from worker, command name, bound params)) -> the worker answers with E
_MI_RESULT = b"E"  # pickle((request id, (True, result) | (False, message, code)))
_PART = b"P"  # b"P<message id> <index> <count>\n<piece>": one piece of a message too long for one datagram
_PIECE = 60_000  # bytes of a message per datagram (a loopback datagram holds at most 65,507)
_MAX_ASSEMBLING = 16  # messages being put together per worker; the oldest is dropped beyond


def _first(results: list[Any]) -> Any:
    return results[0]


def _processes_of_all(results: list[Any]) -> Any:
    """ps / log_level over workers: one process table, numbered again (worker 0's first)."""
    rows = [row for r in results if isinstance(r, dict) for row in r.get("Processes", [])]
    if rows and all(isinstance(row, dict) and "ID" in row for row in rows):
        rows = [{**row, "ID": i} for i, row in enumerate(rows)]
    if not isinstance(results[0], dict) or "Processes" not in results[0]:
        return results[0]  # log_level / xlog_level setting a level: every worker did, worker 0 answers
    return {**results[0], "Processes": rows}


# MI commands on state every worker keeps for itself (module data reloaded or changed, log levels, the script):
# worker 0 runs them in every worker. Modules add their own routes (b2b: by call key) with route_mi_*.
PER_WORKER_MI: dict[str, tuple[str, Callable[[list[Any]], Any] | None]] = {
    **{
        name: ("all", _first)
        for name in (
            "ds_reload",
            "ds_set_state",
            "dispatcher:reload",
            "dispatcher:set_state",
            "dr_reload",
            "drouting:reload",
            "dr_gw_status",
            "drouting:gw_status",
            "dr_carrier_status",
            "drouting:carrier_status",
            "xlog_level",
            "reload_routes",
            "dp_reload",
            "dialplan:reload",
            "domain_reload",
            "address_reload",
        )
    },
    "ps": ("all", _processes_of_all),
    "log_level": ("pid", _processes_of_all),
}

# Statistics MI sums over workers; the rest are the same in every process or make no sense summed.
_NOT_SUMMED_GROUPS = ("shmem:", "pkmem:")
_NOT_SUMMED = frozenset({"core:timestamp"})


def configured_workers(g: dict[str, list], override: int | None) -> int:
    """The worker count asked for: ``--workers``, else the last ``udp_workers`` / ``children`` global, else 1."""
    if override is not None:
        n = override
    else:
        values = g.get("udp_workers") or g.get("children") or [1]
        try:
            n = int(values[-1])
        except (TypeError, ValueError):
            n = 1
    return max(1, min(n, MAX_WORKERS))


def unsafe_modules(program: Any) -> list[str]:
    """Loaded modules that keep per-process state workers cannot share yet."""
    loaded = list(getattr(program, "modules", None) or [])
    return [m for m in loaded if m in UNSAFE_MODULES]


class ReusePortUDPTransport(UDPTransport):
    """A UDPTransport whose socket joins the SO_REUSEPORT group of its address."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("reuse_port", True)
        super().__init__(*args, **kwargs)


class ReusePortTCPTransport(TCPTransport):
    """A TCPTransport whose listener joins the SO_REUSEPORT group (the kernel spreads new connections); a
    connection stays with the worker that accepted or opened it."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        kwargs.setdefault("reuse_port", True)
        super().__init__(*args, **kwargs)


class SharedVars(dict):
    """$shv in a worker: reads are plain dict reads; writes are applied here and published (see module doc)."""

    __slots__ = ("workers",)

    def __init__(self, initial: dict, workers: Workers) -> None:
        super().__init__(initial)
        self.workers = workers

    def __setitem__(self, name: str, value: Any) -> None:
        dict.__setitem__(self, name, value)
        self.workers.publish_shv(name, value)

    def __delitem__(self, name: str) -> None:
        dict.__delitem__(self, name)
        self.workers.publish_shv(name, None)

    def pop(self, name: str, *default: Any) -> Any:
        had = name in self
        value = dict.pop(self, name, *default)
        if had:
            self.workers.publish_shv(name, None)
        return value


class Workers:
    """This process's view of the worker set (``core.workers``; None when the server runs one process).

    Public API for engines that generate their own identifiers (the b2b engine):
      ``id`` / ``n``                       this worker's index and the worker count
      ``prefix``                           the branch prefix of this worker; ``tag_token`` a short string to embed
                                           in to-tags / keys (``owner_of(text)`` finds it again)
      ``owner_of(text) -> int | None``     the worker whose token appears in `text` (None: none / not ours)
      ``add_router(fn)``                   fn(data: bytes) -> worker id | None, asked for every datagram that
                                           did not name its owner in a branch; a worker id != ``id`` hands it over
      ``handover(wid, data, addr, transport) -> bool``  send a received datagram to worker `wid`
    """

    def __init__(self, wid: int, n: int, token: str, channels: list[socket.socket]) -> None:
        self.id = wid
        self.n = n
        self.token = token
        self.prefix = f"{MAGIC_COOKIE}{token}w{wid}."
        self.tag_token = f"{token}w{wid}."
        self._marker = f"{token}w".encode()
        self._mlen = len(self._marker)
        self.channels = channels  # one bound loopback UDP socket per worker, created before the fork
        self.chan = channels[wid]
        self.addrs = [c.getsockname() for c in channels]
        self._peers = {a: i for i, a in enumerate(self.addrs)}
        self.core: Any = None
        self.routers: list[Callable[[bytes], int | None]] = []
        self.restarted = False  # a replacement for a worker that died (startup_route does not run again)
        # set by b2b persistence: dialogs named by another run's token are routed too (dialog_owner)
        self.foreign_tokens = False
        self.handed_out = 0
        self.handed_in = 0
        self.channel_drops = 0
        self._next_query = 0
        self._next_part = 0
        self._assembling: dict[tuple[Any, int], list[bytes]] = {}
        self._queries: dict[int, tuple[trio.Event, list]] = {}
        # MI commands worker 0 passes on (install_mi): name -> ("key", param name) to run the command in the
        # worker named by that parameter, or ("all", merge) to run it everywhere and merge(results)
        self.mi_routes: dict[str, tuple[str, Any]] = {}

    # ------------------------------------------------------------ identifiers

    def owner_of(self, text: str | bytes) -> int | None:
        """The worker id written after our token in `text` (a branch, a tag, a key), or None."""
        data = text.encode() if isinstance(text, str) else text
        i = data.find(self._marker)
        if i < 0:
            return None
        return self._wid_at(data, i + self._mlen)

    def _wid_at(self, data: bytes, i: int) -> int | None:
        j = data.find(b".", i, i + 4)
        if j < 0 and len(data) - i <= 3:
            j = len(data)  # a key that ends with the worker id (b2b tuple keys)
        if j <= i:
            return None
        try:
            wid = int(data[i:j])
        except ValueError:
            return None
        return wid if 0 <= wid < self.n else None

    def owner_any(self, text: str | bytes) -> int | None:
        """Like ``owner_of``, but also for a token of another run or node (a call restored from Redis): its
        worker id modulo our worker count, which is where the restore put that call (``partition``)."""
        data = text.encode() if isinstance(text, str) else text
        own = self.owner_of(data)
        if own is not None:
            return own
        m = TOKEN_RE.search(data)
        return int(m.group(1)) % self.n if m is not None else None

    def partition(self, key: str) -> int:
        """The worker that restores a stored b2b call with tuple key `key`: the one its token names (modulo the
        worker count), worker 0 for keys without a token (written by a single-process run)."""
        owner = self.owner_any(key)
        return 0 if owner is None else owner

    def add_router(self, fn: Callable[[bytes], int | None]) -> None:
        if fn not in self.routers:
            self.routers.append(fn)

    def dialog_owner(self, data: bytes) -> int | None:
        """Router for engines that put ``tag_token`` in the tags and Call-IDs they generate (b2b): the worker
        named in the To / From tag or the Call-ID of a request, None for replies (their branch names the
        owner) and for requests without our token in those headers (an initial request, a foreign dialog)."""
        if data[:4] == b"SIP/":
            return None
        marker = self._marker
        i = data.find(marker)
        if i < 0:
            if self.foreign_tokens:
                # a dialog of a call set up by an earlier run or another node (restored from the store):
                # the worker its token names, modulo our count (Workers.partition)
                m = _DIALOG_TOKEN_RE.search(data, 0, data.find(b"\r\n\r\n") % (len(data) + 1))
                if m is not None:
                    return int(m.group(1)) % self.n
            return None
        end = data.find(b"\r\n\r\n")
        if end < 0:
            end = len(data)
        for _ in range(8):  # a token in a Via (a request of ours that came back) is skipped
            if i < 0 or i > end:
                return None
            start = data.rfind(b"\n", 0, i) + 1
            colon = data.find(b":", start, i)
            if colon > 0 and data[start:colon].strip().lower() in _DIALOG_HEADERS:
                return self._wid_at(data, i + self._mlen)
            i = data.find(marker, i + 1)
        return None

    # ------------------------------------------------------------ the datagram path

    def attach(self, core: Any) -> None:
        self.core = core
        core.workers = self
        core.shv = SharedVars(core.shv, self)
        # give this process its own branch prefix so a reply names the worker that owns its transaction
        from pysips.sip.transaction import set_branch_prefix

        # a restarted worker reuses its id: a fresh random part keeps its branches apart from its predecessor's
        self.prefix = f"{MAGIC_COOKIE}{self.tag_token}{os.urandom(3).hex()}."
        set_branch_prefix(self.prefix)
        if core.program is not None and getattr(core.program, "shv", None) is not None:
            core.program.shv = core.shv

    def on_datagram(self, data: bytes, addr: tuple, transport: Any) -> None:
        """UDP receive callback: hand the datagram to its owner, or process it here."""
        core = self.core
        if data[:4] == b"SIP/":
            owner = self.owner_of(data)
            if owner is not None:
                if owner != self.id:
                    self.handover(owner, data, addr, transport)
                    return
            elif core.reply_hooks and self._is_hook_reply(data):
                self._send_all(_HOOK + self._frame(data, addr, transport))
        if self.routers:
            for fn in self.routers:
                owner = fn(data)
                if owner is not None and owner != self.id and 0 <= owner < self.n:
                    self.handover(owner, data, addr, transport)
                    return
        core.on_message(data, addr, transport)

    def _is_hook_reply(self, data: bytes) -> bool:
        i = data.find(b"branch=")
        if i < 0:
            return False
        head = data[i + 7 : i + 200].decode("latin-1")
        return any(head.startswith(prefix) for prefix, _ in self.core.reply_hooks)

    def _frame(self, data: bytes, addr: tuple, transport: Any) -> bytes:
        idx = self.core.transports.index(transport)
        return f"{idx} {addr[0]} {addr[1]}\n".encode() + data

    def handover(self, wid: int, data: bytes, addr: tuple, transport: Any) -> bool:
        """Send a datagram received here to worker `wid`, which processes it as if the kernel had given it."""
        ok = self._send(wid, _MSG + self._frame(data, addr, transport))
        if ok:
            self.handed_out += 1
        return ok

    def _send(self, wid: int, payload: bytes) -> bool:
        if len(payload) > _PIECE:
            return self._send_parts(wid, payload)
        return self._sendto(wid, payload)

    def _sendto(self, wid: int, payload: bytes) -> bool:
        try:
            self.chan.sendto(payload, self.addrs[wid])
            return True
        except OSError:
            # the owner's buffer is full or it is restarting: the sender retransmits (UDP), count it
            self.channel_drops += 1
            return False

    def _send_parts(self, wid: int, payload: bytes) -> bool:
        """A message longer than a datagram (b2b_list of many calls, a big $shv table) goes in pieces."""
        self._next_part += 1
        count = -(-len(payload) // _PIECE)
        for i in range(count):
            head = b"%s%d %d %d\n" % (_PART, self._next_part, i, count)
            if not self._sendto(wid, head + payload[i * _PIECE : (i + 1) * _PIECE]):
                return False
        return True

    def _on_part(self, payload: bytes, src: Any) -> bytes | None:
        """Keep a piece; the whole message once its last piece is in (loopback keeps datagrams in order)."""
        head, _, piece = payload[1:].partition(b"\n")
        mid, index, count = (int(x) for x in head.split(b" "))
        key = (src, mid)
        pieces = self._assembling.setdefault(key, [])
        if len(pieces) != index:  # a piece was lost (full buffer): the message is dropped
            del self._assembling[key]
            self.channel_drops += 1
            return None
        pieces.append(piece)
        if len(pieces) < count:
            while len(self._assembling) > _MAX_ASSEMBLING:
                del self._assembling[next(iter(self._assembling))]
            return None
        del self._assembling[key]
        return b"".join(pieces)

    def _send_all(self, payload: bytes) -> None:
        for wid in range(self.n):
            if wid != self.id:
                self._send(wid, payload)

    async def serve_channel(self, *, task_status: Any = trio.TASK_STATUS_IGNORED) -> None:
        """Receive what the other workers send here, until cancelled."""
        sock = self.chan
        sock.setblocking(False)
        if self.id != 0 or self.restarted:
            # worker 0 keeps the table in order; a restarted worker 0 takes it back from worker 1
            self._send(1 if self.id == 0 else 0, _SYNC + pickle.dumps(self.id))
        task_status.started()
        while True:
            await trio.lowlevel.wait_readable(sock)
            for _ in range(256):
                try:
                    payload, src = sock.recvfrom(70000)
                except BlockingIOError:
                    break
                except OSError:
                    break
                if src not in self._peers:
                    continue  # only our own workers talk on this socket
                try:
                    if payload[:1] == _PART:
                        payload = self._on_part(payload, src)
                        if payload is None:
                            continue
                    self._on_channel(payload)
                except Exception as e:  # one bad message must not stop the channel
                    self.core.log.error(f"worker {self.id}: channel message failed: {type(e).__name__}: {e}")
            await trio.lowlevel.checkpoint()

    def _on_channel(self, payload: bytes) -> None:
        kind = payload[:1]
        if kind == _MSG or kind == _HOOK:
            head, _, data = payload[1:].partition(b"\n")
            idx, ip, port = head.decode().split(" ")
            core = self.core
            transport = core.transports[int(idx)]
            if kind == _MSG:
                self.handed_in += 1
            core.on_message(data, (ip, int(port)), transport)
        elif kind == _SHV:
            name, value = pickle.loads(payload[1:])
            self._apply_shv(name, value)
            if self.id == 0:
                self._send_all(payload)
        elif kind == _QUERY:
            qid, origin, names = pickle.loads(payload[1:])
            self._send(origin, _REPLY + pickle.dumps((qid, local_statistics(self.core, names))))
        elif kind == _REPLY:
            qid, values = pickle.loads(payload[1:])
            pending = self._queries.get(qid)
            if pending is not None:
                pending[1].append(values)
                if len(pending[1]) >= self.n - 1:
                    pending[0].set()
        elif kind == _RESET:
            reset_local_statistics(self.core, pickle.loads(payload[1:]))
        elif kind == _SYNC:
            self._send(pickle.loads(payload[1:]), _ALL_SHV + pickle.dumps(dict(self.core.shv)))
        elif kind == _MI_CALL:
            qid, origin, name, params = pickle.loads(payload[1:])
            self._send(origin, _MI_RESULT + pickle.dumps((qid, self._run_mi_here(name, params))))
        elif kind == _MI_RESULT:
            qid, outcome = pickle.loads(payload[1:])
            pending = self._queries.get(qid)
            if pending is not None:
                pending[1].append(outcome)
                pending[0].set()
        elif kind == _ALL_SHV:
            shv = self.core.shv
            dict.clear(shv)
            dict.update(shv, pickle.loads(payload[1:]))

    # ------------------------------------------------------------ $shv

    def _apply_shv(self, name: str, value: Any) -> None:
        shv = self.core.shv
        if value is None:
            dict.pop(shv, name, None)
        else:
            dict.__setitem__(shv, name, value)

    def publish_shv(self, name: str, value: Any) -> None:
        payload = _SHV + pickle.dumps((name, value))
        if self.id == 0:
            self._send_all(payload)
        else:
            self._send(0, payload)

    # ------------------------------------------------------------ statistics

    async def gather_statistics(self, names: list[str], timeout: float = 1.0) -> list[dict]:
        """Every other worker's ``local_statistics(names)`` (those that answer within `timeout`)."""
        self._next_query += 1
        qid = self._next_query
        event = trio.Event()
        got: list[dict] = []
        self._queries[qid] = (event, got)
        try:
            self._send_all(_QUERY + pickle.dumps((qid, self.id, names)))
            with trio.move_on_after(timeout):
                await event.wait()
        finally:
            del self._queries[qid]
        return got

    # ------------------------------------------------------------ MI commands run in another worker

    def route_mi_by_key(self, name: str, param: str) -> None:
        """MI `name` acts on one call: worker 0 runs it in the worker whose token is in parameter `param`."""
        self.mi_routes[name] = ("key", param)

    def route_mi_to_all(self, name: str, merge: Callable[[list[Any]], Any]) -> None:
        """MI `name` lists or changes per-worker state: worker 0 runs it in every worker and returns
        merge(results), or the first worker's error."""
        self.mi_routes[name] = ("all", merge)

    def _run_mi_here(self, name: str, params: Any) -> tuple:
        from pysips.errors import MIError
        from pysips.mi import registry_for

        cmd = registry_for(self.core).lookup(name)
        if cmd is None:
            return (False, "Method not found", -32601)
        try:
            result = cmd.fn(self.core, params)
        except MIError as e:
            return (False, str(e), e.code)
        except Exception as e:  # the caller gets an MI error instead of waiting for its timeout
            return (False, f"{type(e).__name__}: {e}", -32000)
        if hasattr(result, "__await__"):
            result.close()
            return (False, f"{name}: asynchronous command cannot run in another worker", -32000)
        return (True, result)

    async def call_mi(self, wid: int, name: str, params: Any, timeout: float = 2.0) -> Any:
        """Run MI command `name` (already bound `params`) in worker `wid`; its result, or MIError."""
        from pysips.errors import MIError

        self._next_query += 1
        qid = self._next_query
        event = trio.Event()
        got: list = []
        self._queries[qid] = (event, got)
        try:
            if not self._send(wid, _MI_CALL + pickle.dumps((qid, self.id, name, params))):
                raise MIError(f"worker {wid} unreachable", -32000)
            with trio.move_on_after(timeout):
                await event.wait()
        finally:
            del self._queries[qid]
        if not got:
            raise MIError(f"worker {wid} did not answer", -32000)
        outcome = got[0]
        if outcome[0]:
            return outcome[1]
        raise MIError(outcome[1], outcome[2])

    def _wrap_routed(self, cmd: Any, how: str, arg: Any) -> None:
        orig = cmd.fn
        workers = self
        name = cmd.name

        async def fn(core: Any, params: Any) -> Any:
            if how == "key":
                key = params.get(arg) if isinstance(params, dict) else None
                owner = workers.owner_any(str(key)) if key is not None else None
                if owner is None or owner == workers.id:
                    return orig(core, params)
                return await workers.call_mi(owner, name, params)
            from pysips.errors import MIError

            mode = how
            if how == "pid":  # log_level: for one PID the worker that has it answers, else every worker
                mode = "any" if isinstance(params, dict) and "pid" in params else "all"
            outcomes: list[tuple[bool, Any]] = []
            for wid in [workers.id, *(w for w in range(workers.n) if w != workers.id)]:
                try:
                    got = (
                        orig(core, params) if wid == workers.id else await workers.call_mi(wid, name, params)
                    )
                    outcomes.append((True, got))
                except MIError as e:
                    outcomes.append((False, e))
            if mode == "any":
                # the command applies in one worker (log_level for one PID): its answer, else the first error
                for ok, value in outcomes:
                    if ok:
                        return value
                raise outcomes[0][1]
            for ok, value in outcomes:
                if not ok:
                    raise value
            return arg([value for _, value in outcomes])

        cmd.fn = fn

    def broadcast_reset(self, names: list[str] | None) -> None:
        self._send_all(_RESET + pickle.dumps(names))

    def install_mi(self, core: Any) -> None:
        """Worker 0: get_statistics sums every worker; reset_statistics / reset_all_statistics reach all."""
        from pysips.mi import registry_for

        reg = registry_for(core)
        if getattr(reg, "workers_installed", False):
            return
        reg.workers_installed = True
        workers = self

        def wrap_get(cmd: Any) -> None:
            orig = cmd.fn

            async def fn(core: Any, params: Any) -> Any:
                out = orig(core, params)
                from pysips.mi import param_array

                names = param_array(params, "statistics")
                for wid, remote in enumerate(await workers.gather_statistics(names), 1):
                    merge_statistics(out, remote, wid)
                return out

            cmd.fn = fn

        def wrap_reset(cmd: Any, all_stats: bool) -> None:
            orig = cmd.fn

            def fn(core: Any, params: Any) -> Any:
                out = orig(core, params)
                from pysips.mi import param_array

                workers.broadcast_reset(None if all_stats else param_array(params, "statistics"))
                return out

            cmd.fn = fn

        kill = reg.lookup("kill")
        if kill is not None:
            supervisor = os.getppid()

            def fn_kill(core: Any, params: Any) -> str:
                # the whole server stops, not just this worker (which the supervisor would restart); a little
                # later, so that this reply still goes out
                timer = threading.Timer(0.2, os.kill, (supervisor, signal.SIGTERM))
                timer.daemon = True
                timer.start()
                return "OK"

            kill.fn = fn_kill
        routes = dict(self.mi_routes)
        for name, how_arg in PER_WORKER_MI.items():
            routes.setdefault(name, how_arg)
        for name, (how, arg) in routes.items():
            cmd = reg.lookup(name)
            if cmd is not None:
                self._wrap_routed(cmd, how, arg)
        for name, kind in (("get_statistics", "get"), ("reset_statistics", "reset"),
                           ("reset_all_statistics", "all")):  # fmt: skip
            cmd = reg.lookup(name)
            if cmd is None:
                continue
            if kind == "get":
                wrap_get(cmd)
            else:
                wrap_reset(cmd, kind == "all")

    def summary(self) -> str:
        return (
            f"worker {self.id}: handed over {self.handed_out} message(s), received {self.handed_in}, "
            f"channel drops {self.channel_drops}"
        )


def local_statistics(core: Any, names: list[str]) -> dict[str, Any]:
    """This worker's values for get_statistics `names` (``group:name`` -> value)."""
    from pysips.mi import stats as S

    cat = S.groups(core)
    out: dict[str, Any] = {}
    for name in names:
        for g, n, s in S.find(core, name, cat):
            out[f"{g}:{n}"] = S.value(s)
    return out


def reset_local_statistics(core: Any, names: list[str] | None) -> None:
    from pysips.mi import stats as S

    for name in names if names is not None else ["all"]:
        if names is not None and (name == "all" or name.endswith(":")):
            continue
        for _, _, s in S.find(core, name):
            if s.reset is not None:
                s.reset()


def merge_statistics(out: dict, remote: dict, wid: int) -> None:
    """Add a worker's statistics into worker 0's answer: counters and gauges summed, per-process memory
    reported as OpenSIPS does (``pkmem:<process>-name``), server-wide values left as they are."""
    for key, value in remote.items():
        if key.startswith("pkmem:0-"):
            out[f"pkmem:{wid}-{key[8:]}"] = value
        elif key in out and key not in _NOT_SUMMED and not key.startswith(_NOT_SUMMED_GROUPS):
            if isinstance(value, (int, float)) and isinstance(out[key], (int, float)):
                out[key] += value


# ---------------------------------------------------------------------------------------- the supervisor


def _channels(n: int) -> list[socket.socket]:
    out = []
    for _ in range(n):
        s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, _BUFSIZE)
        s.setsockopt(socket.SOL_SOCKET, socket.SO_SNDBUF, _BUFSIZE)
        s.bind(("127.0.0.1", 0))
        out.append(s)
    return out


def _prebind(sockets: list[Any]) -> tuple[list[Any], list[socket.socket]]:
    """Bind every socket once in the parent (reuseport): reports a busy address before any fork and fixes
    port 0 to one port for all workers. The parent closes them once the workers are bound."""
    from dataclasses import replace

    from pysips.errors import ConfigError

    held = []
    specs = []
    for spec in sockets:
        fam = socket.AF_INET6 if ":" in spec.host else socket.AF_INET
        kind = socket.SOCK_DGRAM if spec.proto == "udp" else socket.SOCK_STREAM
        s = socket.socket(fam, kind)
        try:
            s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            if kind == socket.SOCK_STREAM:
                s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
            s.bind((spec.host, spec.port))
        except OSError as e:
            s.close()
            for h in held:
                h.close()
            what = "address already in use" if e.errno == 98 else e.strerror
            raise ConfigError(f"cannot listen on {spec}: {what}") from e
        held.append(s)
        specs.append(replace(spec, port=s.getsockname()[1]) if spec.port == 0 else spec)
    return specs, held


def _die_with_parent() -> None:
    # a SIGKILLed parent must not leave workers serving on its port
    try:
        ctypes.CDLL(None, use_errno=True).prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG
    except (OSError, AttributeError):
        pass


class Supervisor:
    """The parent of N workers: start, wait until all are bound, forward SIGTERM, restart the dead."""

    def __init__(
        self, n: int, sockets: list[Any], logger: Any, child_main: Callable[[Workers, Any, int], int]
    ):
        self.n = n
        self.sockets = sockets
        self.log = logger
        self.child_main = child_main
        self.token = os.urandom(4).hex()
        self.pids: dict[int, int] = {}  # pid -> worker id
        self.restarts: dict[int, list[float]] = {}
        self.held: list[socket.socket] = []

    def run(self) -> int:
        from pysips.errors import ConfigError

        try:
            self.sockets, self.held = _prebind(self.sockets)
        except ConfigError as e:
            print(f"pysips: {e}", file=sys.stderr)
            return 1
        self.channels = _channels(self.n)
        ready_r, self.ready_w = os.pipe()
        wanted = (signal.SIGTERM, signal.SIGINT, signal.SIGCHLD)
        old_mask = signal.pthread_sigmask(signal.SIG_BLOCK, wanted)
        self.old_mask = old_mask
        started = time.monotonic()
        try:
            for wid in range(self.n):
                self._spawn(wid)
            rc = self._wait_ready(ready_r, wanted)
            if rc is not None:
                return rc
            # every worker holds its own sockets now; the parent's copies would take a share of the traffic
            for h in self.held:
                h.close()
            self.log.info(f"{self.n} workers ready in {time.monotonic() - started:.2f}s")
            print("pysips ready", file=sys.stderr, flush=True)
            return self._supervise(wanted)
        finally:
            for h in self.held:
                h.close()
            os.close(ready_r)
            signal.pthread_sigmask(signal.SIG_SETMASK, old_mask)

    def _spawn(self, wid: int, restart: bool = False) -> None:
        sys.stderr.flush()
        pid = os.fork()
        if pid == 0:
            code = 1
            try:
                signal.pthread_sigmask(signal.SIG_SETMASK, self.old_mask)
                for h in self.held:
                    h.close()
                _die_with_parent()
                self.log.pid = os.getpid()
                workers = Workers(wid, self.n, self.token, self.channels)
                workers.restarted = restart
                code = self.child_main(workers, self.sockets, self.ready_w)
            except KeyboardInterrupt:
                code = 0
            except BaseException as e:  # the child must never return into the parent's code
                print(f"pysips: worker {wid}: {type(e).__name__}: {e}", file=sys.stderr, flush=True)
            finally:
                sys.stderr.flush()
                os._exit(code)
        self.pids[pid] = wid

    def _reap(self) -> list[tuple[int, int, int]]:
        """(pid, worker id, exit status) of every child that ended."""
        out = []
        for _ in range(len(self.pids)):
            try:
                pid, status = os.waitpid(-1, os.WNOHANG)
            except ChildProcessError:
                break
            if pid == 0:
                break
            wid = self.pids.pop(pid, None)
            if wid is not None:
                out.append((pid, wid, status))
        return out

    def _wait_ready(self, ready_r: int, wanted: tuple) -> int | None:
        ready = 0
        deadline = time.monotonic() + 60
        while ready < self.n:
            if time.monotonic() > deadline:
                self.log.error("workers did not start within 60 s")
                self._stop_all()
                return 1
            r, _, _ = select.select([ready_r], [], [], 0.05)
            if r:
                ready += len(os.read(ready_r, 64))
            if self._reap():
                # a worker that fails to start already printed why (bad socket, module error...)
                self._stop_all()
                return 1
            if signal.sigpending() & {signal.SIGTERM, signal.SIGINT}:
                signal.sigtimedwait([signal.SIGTERM, signal.SIGINT], 0)
                self._stop_all()
                return 0
        return None

    def _supervise(self, wanted: tuple) -> int:
        while True:
            sig = signal.sigtimedwait(wanted, 1.0)
            if sig is None:
                continue
            if sig.si_signo in (signal.SIGTERM, signal.SIGINT):
                self._stop_all()
                return 0
            for pid, wid, status in self._reap():
                self.log.error(f"worker {wid} (pid {pid}) ended: {_describe(status)}")
                recent = [t for t in self.restarts.get(wid, []) if t > time.monotonic() - 10]
                if len(recent) >= 3:
                    self.log.error(f"worker {wid} restarted 3 times in 10 s; not restarting it again")
                    continue
                recent.append(time.monotonic())
                self.restarts[wid] = recent
                self._spawn(wid, restart=True)
                self.log.info(f"worker {wid} restarted")

    def _stop_all(self, timeout: float = 4.5) -> None:
        for pid in list(self.pids):
            try:
                os.kill(pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
        deadline = time.monotonic() + timeout
        while self.pids and time.monotonic() < deadline:
            self._reap()
            if self.pids:
                time.sleep(0.02)
        for pid in list(self.pids):
            try:
                os.kill(pid, signal.SIGKILL)
                os.waitpid(pid, 0)
            except (ProcessLookupError, ChildProcessError):
                pass
            self.pids.pop(pid, None)


def _describe(status: int) -> str:
    if os.WIFSIGNALED(status):
        return f"killed by signal {os.WTERMSIG(status)}"
    return f"exit code {os.waitstatus_to_exitcode(status)}"
