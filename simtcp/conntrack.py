"""Connection tracking: what netfilter remembers about every flow through a node.

Theory of operation
-------------------
Linux's conntrack (net/netfilter/nf_conntrack_core.c) gives every packet a connection
entry before any rule sees it (hook priority -200 at PREROUTING and OUTPUT). An entry holds
two tuples — the *original* direction as first seen and the *reply* direction expected back
(the inverse, or, after NAT, the inverse of the translated packet) — a protocol state, a
timeout, and status bits (SEEN_REPLY, ASSURED). Rules then ask ``--ctstate``:

* NEW — the first packet(s) of a flow, before anything came back;
* ESTABLISHED — the flow has seen traffic both ways (and every later packet);
* RELATED — an ICMP error about a tracked flow (``icmp_error_message()``);
* INVALID — a packet the tracker refuses (a TCP flag combination or state transition the
  tracker calls invalid, ``nf_conntrack_proto_tcp.c``).

An entry created by a packet is only *confirmed* (inserted into the table) when that packet
leaves the last hook (``__nf_conntrack_confirm``, priority INT_MAX at POSTROUTING/INPUT): a
packet dropped by a rule leaves no entry behind.

TCP follows the ``tcp_conntracks`` state table of nf_conntrack_proto_tcp.c (NONE, SYN_SENT,
SYN_RECV, ESTABLISHED, FIN_WAIT, CLOSE_WAIT, LAST_ACK, TIME_WAIT, CLOSE, SYN_SENT2) with the
``nf_conntrack_tcp_timeout_*`` timeouts; sequence-window tracking (``tcp_in_window``) is
not modelled: every segment the state table accepts is in window, as with
``nf_conntrack_tcp_be_liberal=1``. ``nf_conntrack_tcp_loose=1`` (the default) lets a
mid-stream segment create an ESTABLISHED entry (its packet is still NEW). UDP entries live
``nf_conntrack_udp_timeout`` (30 s) until a reply, then ``…_udp_timeout_stream`` (120 s)
once the flow has lasted 2 s (nf_conntrack_proto_udp.c); ICMP echo entries
``nf_conntrack_icmp_timeout`` (30 s).

Expiry is exact in virtual time: a min-heap holds one (deadline, entry) item per entry; an
entry refreshed since its item was pushed is pushed again with its new deadline when the old
item surfaces, so the heap never holds more items than entries and memory stays flat.
The table holds at most ``nf_conntrack_max`` entries: a new flow then evicts one entry that
is not ASSURED (``early_drop``), or is dropped with "nf_conntrack: table full, dropping
packet" in the kernel log.
"""
from __future__ import annotations

import enum
import heapq
import itertools
from typing import Callable, Dict, Iterator, List, NamedTuple, Optional, Tuple

from .fwmatch import CtState

__all__ = ["CtTuple", "Conn", "ConntrackTable", "TcpCt", "ORIGINAL", "REPLY", "CtVerdict",
           "CONNTRACK_SYSCTLS", "ICMP_REPLY_TYPE"]

ORIGINAL, REPLY = 0, 1


class TcpCt(enum.IntEnum):
    """TCP conntrack states (enum tcp_conntrack)."""

    NONE = 0
    SYN_SENT = 1
    SYN_RECV = 2
    ESTABLISHED = 3
    FIN_WAIT = 4
    CLOSE_WAIT = 5
    LAST_ACK = 6
    TIME_WAIT = 7
    CLOSE = 8
    SYN_SENT2 = 9


_IV, _IG = -1, -2       # sIV (invalid), sIG (ignore)
_S = TcpCt
# tcp_conntracks[dir][index][old_state], nf_conntrack_proto_tcp.c; index: syn, synack, fin,
# ack, rst, none (get_conntrack_index); columns sNO sSS sSR sES sFW sCW sLA sTW sCL sS2.
_TCP_TABLE = (
    (   # ORIGINAL
        (_S.SYN_SENT, _S.SYN_SENT, _IG, _IG, _IG, _IG, _IG, _S.SYN_SENT, _S.SYN_SENT,
         _S.SYN_SENT2),
        (_IV, _IV, _IG, _IG, _IG, _IG, _IG, _IG, _IG, _S.SYN_RECV),
        (_IV, _IV, _S.FIN_WAIT, _S.FIN_WAIT, _S.LAST_ACK, _S.LAST_ACK, _S.LAST_ACK,
         _S.TIME_WAIT, _S.CLOSE, _IV),
        (_S.ESTABLISHED, _IV, _S.ESTABLISHED, _S.ESTABLISHED, _S.CLOSE_WAIT, _S.CLOSE_WAIT,
         _S.TIME_WAIT, _S.TIME_WAIT, _S.CLOSE, _IV),
        (_IV,) + (_S.CLOSE,) * 9,
        (_IV,) * 10,
    ),
    (   # REPLY
        (_IV, _S.SYN_SENT2, _IV, _IV, _IV, _IV, _IV, _IV, _IV, _S.SYN_SENT2),
        (_IV, _S.SYN_RECV, _IG, _IG, _IG, _IG, _IG, _IG, _IG, _S.SYN_RECV),
        (_IV, _IV, _S.FIN_WAIT, _S.FIN_WAIT, _S.LAST_ACK, _S.LAST_ACK, _S.LAST_ACK,
         _S.TIME_WAIT, _S.CLOSE, _IV),
        (_IV, _IG, _S.SYN_RECV, _S.ESTABLISHED, _S.CLOSE_WAIT, _S.CLOSE_WAIT, _S.TIME_WAIT,
         _S.TIME_WAIT, _S.CLOSE, _IG),
        (_IV,) + (_S.CLOSE,) * 9,
        (_IV,) * 10,
    ),
)
_SYN, _SYNACK, _FIN, _ACK, _RST, _NONE = range(6)

# tcp_valid_flags (tcp_error): flag combinations conntrack accepts at all (ECE, CWR, PSH
# masked off); anything else is INVALID before the state table is consulted.
_VALID_FLAGS = frozenset({0x02, 0x22, 0x12, 0x04, 0x14, 0x11, 0x31, 0x10, 0x30})

#: sysctl name → default (seconds or count), net.netfilter.* (Documentation/networking/
#: nf_conntrack-sysctl.rst).
CONNTRACK_SYSCTLS = {
    "net.netfilter.nf_conntrack_max": 262144,
    "net.netfilter.nf_conntrack_tcp_loose": 1,
    "net.netfilter.nf_conntrack_tcp_timeout_syn_sent": 120,
    "net.netfilter.nf_conntrack_tcp_timeout_syn_recv": 60,
    "net.netfilter.nf_conntrack_tcp_timeout_established": 432000,
    "net.netfilter.nf_conntrack_tcp_timeout_fin_wait": 120,
    "net.netfilter.nf_conntrack_tcp_timeout_close_wait": 60,
    "net.netfilter.nf_conntrack_tcp_timeout_last_ack": 30,
    "net.netfilter.nf_conntrack_tcp_timeout_time_wait": 120,
    "net.netfilter.nf_conntrack_tcp_timeout_close": 10,
    "net.netfilter.nf_conntrack_udp_timeout": 30,
    "net.netfilter.nf_conntrack_udp_timeout_stream": 120,
    "net.netfilter.nf_conntrack_icmp_timeout": 30,
}
_TCP_TIMEOUT_SYSCTL = {
    TcpCt.SYN_SENT: "syn_sent", TcpCt.SYN_SENT2: "syn_sent", TcpCt.SYN_RECV: "syn_recv",
    TcpCt.ESTABLISHED: "established", TcpCt.FIN_WAIT: "fin_wait",
    TcpCt.CLOSE_WAIT: "close_wait", TcpCt.LAST_ACK: "last_ack", TcpCt.TIME_WAIT: "time_wait",
    TcpCt.CLOSE: "close"}

#: ICMP query types and their replies (nf_conntrack_proto_icmp.c invmap).
ICMP_REPLY_TYPE = {8: 0, 0: 8, 13: 14, 14: 13, 15: 16, 16: 15, 17: 18, 18: 17}
_ICMP_QUERIES = frozenset({8, 13, 15, 17})


class CtTuple(NamedTuple):
    """``struct nf_conntrack_tuple``: protocol, source and destination address and "port".
    For ICMP ``sport`` is the echo identifier and ``dport`` is ``type << 8 | code``."""

    proto: int
    src: str
    sport: int
    dst: str
    dport: int

    def inverse(self) -> "CtTuple":
        if self.proto == 1:
            t = ICMP_REPLY_TYPE.get(self.dport >> 8, self.dport >> 8)
            return CtTuple(1, self.dst, self.sport, self.src, t << 8 | (self.dport & 0xFF))
        return CtTuple(self.proto, self.dst, self.dport, self.src, self.sport)

    def text(self) -> str:
        """As ``conntrack -L`` prints one direction."""
        if self.proto == 1:
            return (f"src={self.src} dst={self.dst} type={self.dport >> 8} "
                    f"code={self.dport & 0xFF} id={self.sport}")
        return f"src={self.src} dst={self.dst} sport={self.sport} dport={self.dport}"


class CtVerdict(enum.Enum):
    """Why conntrack itself refused a packet (it is then dropped, not merely INVALID)."""

    TABLE_FULL = "table_full"          # nf_conntrack_max reached, nothing to early-drop
    INSERT_FAILED = "insert_failed"    # a NAT clash: the reply tuple is taken (confirm)


class Conn:
    """One conntrack entry (``struct nf_conn``)."""

    __slots__ = ("id", "orig", "reply", "tcp_state", "seen_reply", "assured", "confirmed",
                 "deadline", "udp_stream_ts", "last_index", "last_dir", "src_nat", "dst_nat",
                 "nat_done", "dead", "packets", "nat_rule")

    def __init__(self, cid: int, orig: CtTuple) -> None:
        self.id = cid
        self.orig = orig
        self.reply = orig.inverse()
        self.tcp_state = TcpCt.NONE
        self.seen_reply = False
        self.assured = False
        self.confirmed = False
        self.deadline = 0.0
        self.udp_stream_ts = 0.0
        self.last_index = _NONE
        self.last_dir = ORIGINAL
        self.src_nat = False            # IPS_SRC_NAT: the reply tuple's destination changed
        self.dst_nat = False            # IPS_DST_NAT: the reply tuple's source changed
        self.nat_done: set = set()      # manip types already set up ("src", "dst")
        self.dead = False
        self.packets = [0, 0]
        self.nat_rule = None            # (table, chain, rulenum) that set up NAT, for pictures

    def state_name(self) -> str:
        return self.tcp_state.name if self.orig.proto == 6 else ""

    def __repr__(self) -> str:
        return f"<Conn {self.orig.text()} | {self.reply.text()} {self.state_name()}>"


class ConntrackTable:
    """The conntrack table of one node. ``sysctl`` is a mapping holding the
    ``net.netfilter.nf_conntrack_*`` values (`CONNTRACK_SYSCTLS` defaults are used for
    names it lacks)."""

    def __init__(self, sysctl=None) -> None:
        self.sysctl = sysctl if sysctl is not None else {}
        self.by_tuple: Dict[CtTuple, Tuple[Conn, int]] = {}
        self.count = 0
        self._heap: List[Tuple[float, int, Conn]] = []
        self._ids = itertools.count(1)
        self._peak = 0                # largest by_tuple size since the last compaction
        self._sys_cache: Dict[str, int] = {}
        self._sys_version = None
        self.nat_secret = 0           # seeds the NAT address hash (set from the network RNG)
        # nf_nat_bysource: (proto, src, sport) of the original direction → source-NATed
        # entries, so a new flow from the same inside endpoint reuses its mapping
        # (find_appropriate_src). Kept here so an entry leaves it when it dies.
        self.by_source: Dict[Tuple[int, str, int], List[Conn]] = {}
        self.stats = {"found": 0, "new": 0, "invalid": 0, "insert_failed": 0, "drop": 0,
                      "early_drop": 0, "expired": 0}

    def _sys(self, name: str) -> int:
        """A net.netfilter sysctl, cached until the sysctl table changes (its version)."""
        version = getattr(self.sysctl, "version", None)
        if version != self._sys_version or version is None:
            self._sys_cache = {}
            self._sys_version = version
        value = self._sys_cache.get(name)
        if value is None:
            full = "net.netfilter." + name
            value = self._sys_cache[name] = self.sysctl.get(full, CONNTRACK_SYSCTLS[full])
        return value

    # ------------------------------------------------------------------ expiry
    def expire(self, now: float) -> int:
        """Remove entries whose timeout has passed (the GC worker, exact in virtual time)."""
        n = 0
        heap = self._heap
        while heap and heap[0][0] <= now:
            deadline, _, conn = heapq.heappop(heap)
            if conn.dead:
                continue
            if conn.deadline > deadline:                 # refreshed since: re-arm
                heapq.heappush(heap, (conn.deadline, conn.id, conn))
                continue
            self._remove(conn)
            self.stats["expired"] += 1
            n += 1
        if n:
            self._compact()
        return n

    def _compact(self) -> None:
        """A dict never gives memory back as keys go; after mass expiry (a flood of short
        flows has passed) copy the tables into right-sized ones, so memory stays flat."""
        size = len(self.by_tuple)
        if self._peak > 4096 and size < self._peak // 4:
            self.by_tuple = dict(self.by_tuple)
            self.by_source = dict(self.by_source)
            self._peak = size

    def _remove(self, conn: Conn) -> None:
        conn.dead = True
        if conn.src_nat:
            key = (conn.orig.proto, conn.orig.src, conn.orig.sport)
            peers = self.by_source.get(key)
            if peers is not None:
                if conn in peers:
                    peers.remove(conn)
                if not peers:
                    del self.by_source[key]
        if conn.confirmed:
            self.by_tuple.pop(conn.orig, None)
            self.by_tuple.pop(conn.reply, None)
            self.count -= 1

    def kill(self, conn: Conn) -> None:
        """Delete an entry now (``nf_ct_kill``)."""
        if not conn.dead:
            self._remove(conn)

    def entries(self) -> Iterator[Conn]:
        """Live confirmed entries, oldest first."""
        seen = set()
        for conn, _ in self.by_tuple.values():
            if conn.id not in seen:
                seen.add(conn.id)
                yield conn

    def __len__(self) -> int:
        return self.count

    # ------------------------------------------------------------------ packets
    def lookup(self, t: CtTuple) -> Optional[Tuple[Conn, int]]:
        return self.by_tuple.get(t)

    def track(self, t: CtTuple, tcp_flags: int, now: float
              ) -> Tuple[Optional[Conn], int, CtState, Optional[CtVerdict]]:
        """Classify one packet (``nf_conntrack_in``): (entry, direction, state, refusal).

        A new entry is returned unconfirmed; call `confirm` when the packet leaves the node's
        last hook. ``entry`` is None for INVALID packets that belong to no entry."""
        heap = self._heap
        if heap and heap[0][0] <= now:
            self.expire(now)
        hit = self.by_tuple.get(t)
        if hit is None:
            return self._new(t, tcp_flags, now)
        conn, direction = hit
        if t.proto == 6 and direction == ORIGINAL and _index(tcp_flags) == _SYN \
                and conn.tcp_state in (TcpCt.TIME_WAIT, TcpCt.CLOSE):
            # tcp_packet: a SYN reopening a finished connection — the kernel kills the old
            # entry and handles the packet again (NF_REPEAT), which makes a fresh entry.
            self.kill(conn)
            return self._new(t, tcp_flags, now)
        self.stats["found"] += 1
        conn.packets[direction] += 1
        if t.proto == 6:
            ok = self._tcp_packet(conn, direction, tcp_flags, now)
            if not ok:
                self.stats["invalid"] += 1
                return conn, direction, CtState.INVALID, None
        elif t.proto == 17:
            self._udp_packet(conn, now)
        else:
            conn.deadline = now + self._sys("nf_conntrack_icmp_timeout")   # icmp_packet
        if direction == REPLY:
            conn.seen_reply = True        # nf_conntrack_in, after the protocol's handler
            return conn, direction, CtState.ESTABLISHED, None
        return conn, direction, (CtState.ESTABLISHED if conn.seen_reply else CtState.NEW), None

    def _new(self, t: CtTuple, tcp_flags: int, now: float):
        if t.proto == 6:
            flags = tcp_flags & ~0xC8
            if flags not in _VALID_FLAGS:                      # tcp_error
                self.stats["invalid"] += 1
                return None, ORIGINAL, CtState.INVALID, None
            new_state = _TCP_TABLE[0][_index(tcp_flags)][TcpCt.NONE]
            if new_state < 0 or (new_state != TcpCt.SYN_SENT and
                                 not self._sys("nf_conntrack_tcp_loose")):    # tcp_new
                self.stats["invalid"] += 1
                return None, ORIGINAL, CtState.INVALID, None
        elif t.proto == 1 and (t.dport >> 8) not in _ICMP_QUERIES:
            # icmp_new: only queries start a flow; errors are handled by `related`
            self.stats["invalid"] += 1
            return None, ORIGINAL, CtState.INVALID, None
        if self.count >= self._sys("nf_conntrack_max") and not self._early_drop():
            self.stats["drop"] += 1
            return None, ORIGINAL, CtState.INVALID, CtVerdict.TABLE_FULL
        conn = Conn(next(self._ids), t)
        conn.packets[ORIGINAL] = 1
        if t.proto == 6:
            conn.tcp_state = TcpCt(new_state)
            conn.last_index = _index(tcp_flags)
            conn.deadline = now + self._tcp_timeout(conn.tcp_state)
        elif t.proto == 17:
            conn.deadline = now + self._sys("nf_conntrack_udp_timeout")
            conn.udp_stream_ts = now + 2.0                     # udp_new: stream_ts
        else:
            conn.deadline = now + self._sys("nf_conntrack_icmp_timeout")
        self.stats["new"] += 1
        return conn, ORIGINAL, CtState.NEW, None

    def _early_drop(self) -> bool:
        """``early_drop``: make room by evicting an entry that is not ASSURED. Linux looks
        in a few hash buckets; here the unassured entry closest to its timeout goes."""
        victim = None
        for conn in self.entries():
            if not conn.assured and (victim is None or conn.deadline < victim.deadline):
                victim = conn
        if victim is None:
            return False
        self._remove(victim)
        self.stats["early_drop"] += 1
        return True

    def confirm(self, conn: Conn, now: float) -> Optional[CtVerdict]:
        """Insert a new entry (``__nf_conntrack_confirm``). Fails (the packet is dropped)
        when either tuple is already taken — a NAT mapping that clashes."""
        if conn.confirmed or conn.dead:
            return None
        if conn.orig in self.by_tuple or conn.reply in self.by_tuple:
            self.stats["insert_failed"] += 1
            conn.dead = True
            return CtVerdict.INSERT_FAILED
        conn.confirmed = True
        if conn.src_nat:
            self.by_source.setdefault((conn.orig.proto, conn.orig.src, conn.orig.sport),
                                      []).append(conn)
        self.by_tuple[conn.orig] = (conn, ORIGINAL)
        self.by_tuple[conn.reply] = (conn, REPLY)
        self.count += 1
        if len(self.by_tuple) > self._peak:
            self._peak = len(self.by_tuple)
        heapq.heappush(self._heap, (conn.deadline, conn.id, conn))
        return None

    def tuple_taken(self, reply: CtTuple, conn: Conn) -> bool:
        """``nf_nat_used_tuple``: would ``reply`` as the reply tuple clash with another
        entry's tuples?"""
        hit = self.by_tuple.get(reply)
        return hit is not None and hit[0] is not conn

    # ------------------------------------------------------------------ protocols
    def _tcp_timeout(self, state: TcpCt) -> int:
        return self._sys("nf_conntrack_tcp_timeout_" + _TCP_TIMEOUT_SYSCTL[state])

    def _tcp_packet(self, conn: Conn, direction: int, tcp_flags: int, now: float) -> bool:
        """``tcp_packet``: the state transition, the timeout and the ASSURED bit."""
        if (tcp_flags & ~0xC8) not in _VALID_FLAGS:
            return False
        index = _index(tcp_flags)
        old = conn.tcp_state
        new = _TCP_TABLE[direction][index][old]
        if new == _IG:
            # sIG: possibly valid, possibly not — let it through, leave the state alone
            conn.last_index, conn.last_dir = index, direction
            return True
        if new == _IV:
            return False
        conn.last_index, conn.last_dir = index, direction
        conn.tcp_state = TcpCt(new)
        if not conn.seen_reply and tcp_flags & 0x04:
            self.kill(conn)                     # an RST before any reply: forget at once
            return True
        if conn.seen_reply and not conn.assured and new == TcpCt.ESTABLISHED \
                and old in (TcpCt.SYN_RECV, TcpCt.ESTABLISHED):
            conn.assured = True
        conn.deadline = now + self._tcp_timeout(conn.tcp_state)
        return True

    def _udp_packet(self, conn: Conn, now: float) -> None:
        """``udp_packet``: unreplied timeout until traffic went both ways, then, once the
        flow is older than 2 s, the stream timeout and ASSURED."""
        if conn.seen_reply and now > conn.udp_stream_ts:
            conn.deadline = now + self._sys("nf_conntrack_udp_timeout_stream")
            conn.assured = True
        else:
            conn.deadline = now + self._sys("nf_conntrack_udp_timeout")

    def related(self, inner: CtTuple) -> Optional[Tuple[Conn, int]]:
        """An ICMP error quoting a packet with tuple ``inner``: the entry it is about and the
        error's direction (``icmp_error_message``: the inverse of the quoted tuple is looked
        up), or None."""
        return self.by_tuple.get(inner.inverse())

    # ------------------------------------------------------------------ view
    def listing(self, now: float, select: Optional[Callable[[Conn], bool]] = None) -> str:
        """``conntrack -L`` (conntrack-tools): one line per entry, newest first; ``select``
        keeps only the entries it accepts (the ``-p``/``-s``/``-d`` filters)."""
        lines = []
        for conn in sorted(self.entries(), key=lambda c: -c.id):
            if select is not None and not select(conn):
                continue
            p = conn.orig.proto
            name = {6: "tcp", 17: "udp", 1: "icmp"}.get(p, "unknown")
            parts = [f"{name:<8} {p} {max(0, int(conn.deadline - now))}"]
            if p == 6:
                parts.append(conn.tcp_state.name)
            parts.append(conn.orig.text())
            if not conn.seen_reply:
                parts.append("[UNREPLIED]")
            parts.append(conn.reply.text())
            if conn.assured:
                parts.append("[ASSURED]")
            parts.append("mark=0 use=1")
            lines.append(" ".join(parts))
        return "\n".join(lines) + ("\n" if lines else "")


def _index(flags: int) -> int:
    """get_conntrack_index: RST, then SYN (with or without ACK), FIN, ACK, none."""
    if flags & 0x04:
        return _RST
    if flags & 0x02:
        return _SYNACK if flags & 0x10 else _SYN
    if flags & 0x01:
        return _FIN
    if flags & 0x10:
        return _ACK
    return _NONE
