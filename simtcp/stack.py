"""A host's TCP stack: demultiplexing, resets, ports, timers, and what connections send.

Theory of operation: every arriving segment is looked up the way Linux does it
(include/net/inet_hashtables.h, net/ipv4/inet_hashtables.c):

1. the *established* table, keyed by the exact 4-tuple — it also holds half-open requests
   (SYN-RECEIVED) and TIME-WAIT connections;
2. otherwise the *listeners*: one bound to (destination address, port) first, then one
   bound to (0.0.0.0, port) — the specific address always beats the wildcard;
3. otherwise nobody wants it: answer with a reset exactly as RFC 9293 §3.10.7.1 says (and
   never answer a RST with a RST).

Each decision becomes a ``demux`` trace record naming the rule, so a notebook can show why
a segment went where it went. What a listener does with its segments (SYN queue, accept
queue, SYN cookies: Linux's `tcp_conn_request()`) lives in `listener.py`. Connections are
sans-IO (`tcp.Connection`); the stack feeds them segments and timer wake-ups, transmits
what they produce and keeps one timer wake-up armed per connection.
"""
from __future__ import annotations

import errno
import itertools
import hashlib
from collections import Counter
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Set, Tuple, Union

from .segment import Flags, FourTuple
from .packet import Packet
from .reasons import DemuxRule, EventKind, SendCause, StateCause
from .seq import MASK, Seq, unwrap
from .states import CLOSED, LISTEN, SYN_RECEIVED, TIME_WAIT, State
from .listener import Listener
from .tcp import Connection, TcpConfig, reset_for
from .tcpconfig import config_from_sysctl
from .tracestore import TcbSnapshot

_INT_MAX = 2**31 - 1
_CURR_ESTAB_NEW = (State.ESTABLISHED.value, State.CLOSE_WAIT.value)
_CURR_ESTAB_OLD = (State.ESTABLISHED.value,)
# one shared detail per state for demux records (a trace keeps one per arriving segment)
_STATE_DETAIL = {s: (("state", s),) for s in State}
# state names as trace events carry them
_ESTABLISHED_NAME, _LISTEN_NAME, _CLOSED_NAME, _SYN_RECEIVED_NAME, _TIME_WAIT_NAME = (
    State.ESTABLISHED.value, State.LISTEN.value, State.CLOSED.value, State.SYN_RECEIVED.value,
    State.TIME_WAIT.value)

if TYPE_CHECKING:  # pragma: no cover
    from .host import Host
    from .socket import Socket

SYN, ACK, RST = Flags.SYN, Flags.ACK, Flags.RST
_SYN, _ACK, _RST = int(SYN), int(ACK), int(RST)
WILDCARD = "0.0.0.0"


# icmp_err_convert[] (net/ipv4/icmp.c): the errno for each destination-unreachable code.
_UNREACH_ERRNO = (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENOPROTOOPT, errno.ECONNREFUSED,
                  errno.EMSGSIZE, errno.EOPNOTSUPP, errno.ENETUNREACH, errno.EHOSTDOWN,
                  errno.ENONET, errno.ENETUNREACH, errno.EHOSTUNREACH, errno.ENETUNREACH,
                  errno.EHOSTUNREACH, errno.EHOSTUNREACH, errno.EHOSTUNREACH, errno.EHOSTUNREACH)


def _icmp_errno(type_: int, code: int) -> Optional[int]:
    """tcp_v4_err()'s errno for an ICMP error, or None when TCP ignores it (source quench,
    redirect, fragmentation needed: a path-MTU matter, unknown codes)."""
    if type_ == 3:
        if code == 4 or code >= len(_UNREACH_ERRNO):
            return None
        return _UNREACH_ERRNO[code]
    if type_ == 11:
        return errno.EHOSTUNREACH
    if type_ == 12:
        return errno.EPROTO
    return None


class PortSet(set):
    """Local ports in use toward one destination. It counts removals and carries a serial
    number, so the port allocator can remember "this pass was all busy" until a port is
    freed (a shortcut that keeps exhausting a range linear, with the same ports chosen)."""

    __slots__ = ("serial", "removals")      # one per destination: no per-instance dict
    _serials = itertools.count(1)

    def __init__(self) -> None:
        super().__init__()
        self.serial = next(PortSet._serials)
        self.removals = 0

    def discard(self, port: int) -> None:
        if port in self:
            self.removals += 1
            super().discard(port)


class Stack:
    """The per-host TCP machinery behind `Host` and `Socket`."""

    def __init__(self, host: "Host"):
        self.host = host
        self.net = host.net
        self.sysctl = host.sysctl       # the host's table (one for its lifetime; read a lot)
        self.conns: Dict[FourTuple, Connection] = {}
        # local port -> the 4-tuples of its connections (Linux's bind bucket): the 4-tuple
        # itself while it is the only one, as for every port connect() takes; a set once
        # there are more (a listening port's children). A set of one would cost each
        # connection 216 bytes and one more container for the garbage collector to walk
        # (simtcp.gctune). Read it with `port_users`.
        self.by_port: Dict[int, Union[FourTuple, Set[FourTuple]]] = {}
        # (laddr, raddr, rport) -> local ports connect() took toward it (see add_conn)
        self.by_dest: Dict[tuple, set] = {}
        self.listeners: Dict[Tuple[str, int], Listener] = {}
        self.bindings: Dict[int, List["Socket"]] = {}
        self.owner: Dict[Connection, "Socket"] = {}
        self.parent: Dict[Connection, Listener] = {}
        self.counters: Counter = Counter()
        self.in_errors: Counter = Counter()          # DropReason -> packets discarded here
        self._armed: Dict[Connection, list] = {}   # the pending wake-up event (see _arm)
        rng = self.net.rng
        # the keyed hash behind ISNs, TSval offsets and IP IDs, ready to copy for each
        # message (copying the state after the key block costs less than keying again)
        self._keyed = hashlib.blake2b(key=rng.getrandbits(128).to_bytes(16, "big"),
                                      digest_size=8)
        self._allocator = None
        self._cookies = None
        self._configs: Dict[tuple, TcpConfig] = {}   # see config()
        self._ts_offsets: Dict[tuple, int] = {}      # (local, remote address) -> TSval offset
        self._challenge = [-1, 0]                    # (second, challenge ACKs left in it)
        # the states CurrEstab counts: fixed by the kernel version the host runs
        self._curr_estab = (_CURR_ESTAB_NEW if self.sysctl.curr_estab_counts_close_wait
                            else _CURR_ESTAB_OLD)

    # --------------------------------------------------------------- helpers
    def config(self, sock: Optional["Socket"] = None) -> TcpConfig:
        """The TcpConfig from the sysctl table, with ``sock``'s options applied when a
        socket is given (what its connections start with; a listener's children inherit
        the listener's). Made once per sysctl version and set of socket options and shared
        by the connections made with them: it is read-only (TcpConfig.shared), and a
        connection changing its own copies it first (Connection.own_config)."""
        key = (self.sysctl.version, None if sock is None else sock.inherited_options)
        configs = self._configs
        cfg = configs.get(key)
        if cfg is None:
            if len(configs) >= 64:             # sysctls or options changed many times
                configs.clear()
            cfg = self._config_from(self.sysctl)
            if sock is not None:
                sock.configure(cfg)
            cfg.shared = True
            configs[key] = cfg
        return cfg

    def _config_from(self, s) -> TcpConfig:
        return config_from_sysctl(s, challenge_acks=self._challenge_ack_allowed)

    def _challenge_ack_allowed(self, now: float) -> bool:
        """Host-wide RFC 5961 §7 limit, as Linux tcp_send_challenge_ack(): each second a
        budget drawn between limit/2 and 1.5*limit. The default (INT_MAX) never runs out, so
        no random draw is made for it."""
        limit = self.sysctl.get("net.ipv4.tcp_challenge_ack_limit", _INT_MAX)
        if limit >= _INT_MAX:
            return True
        second = int(now)
        if self._challenge[0] != second:
            half = (limit + 1) >> 1
            budget = self.net.rng.randint(half, limit + half - 1) if limit else 0
            self._challenge = [second, budget]
        if self._challenge[1] <= 0:
            self.counters["TCPChallengeACKLimitDrops"] += 1
            return False
        self._challenge[1] -= 1
        return True

    def _hash(self, message: str) -> int:
        """The keyed 64-bit hash of ``message``: "kind|part|part...", which each caller
        spells with an f-string (a third of the cost of ``"|".join(map(str, parts))`` for a
        4-tuple; the same text)."""
        h = self._keyed.copy()
        h.update(message.encode())
        return int.from_bytes(h.digest(), "big")

    def isn(self, t: FourTuple) -> int:
        """RFC 6528 / RFC 9293 §3.4.1: ISN = M + F(4-tuple, secret). Linux: keyed hash plus
        a clock ticking every 64 ns (net/core/secure_seq.c). A keyed BLAKE2b stands in for
        SipHash; the secret comes from the network's seeded RNG."""
        clock = int(self.net.now * 1e9) >> 6
        secret = self._hash(f"isn|{t.local_ip}|{t.local_port}|{t.remote_ip}|{t.remote_port}")
        return (secret + clock) & 0xFFFFFFFF

    def ts_offset(self, t: FourTuple) -> int:
        """Linux secure_tcp_ts_off(): a per-address-pair random TSval offset; none with
        net.ipv4.tcp_timestamps = 2 (tcp_ts_off = 0, ip-sysctl.rst)."""
        if self.sysctl.get("net.ipv4.tcp_timestamps", 1) == 2:
            return 0
        pair = (t.local_ip, t.remote_ip)
        offsets = self._ts_offsets              # the same pair keeps its offset: remember it
        offset = offsets.get(pair)
        if offset is None:
            if len(offsets) >= 4096:            # a spoofed flood meets many peers: stay small
                offsets.clear()
            offset = offsets[pair] = self._hash(f"ts|{pair[0]}|{pair[1]}") & 0xFFFFFFFF
        return offset

    @property
    def allocator(self):
        if self._allocator is None:
            from .portalloc import make_allocator
            self._allocator = make_allocator(self.sysctl, self.net.rng)
        return self._allocator

    @property
    def cookies(self):
        if self._cookies is None:
            from .syncookies import CookieJar
            self._cookies = CookieJar(self.net.rng)
        return self._cookies

    def _record(self, kind: str, what: str, packet=None, pkt_id=None, conn=None, reason="",
                rfc="", old="", detail=()) -> None:
        if not self.net.trace.enabled:
            return
        self.net.trace.record(self.net.now, kind, self.host.name, packet, pkt_id, conn, what,
                              old, reason, rfc, detail)

    # ------------------------------------------------------------ tables
    def add_conn(self, conn: Connection, outgoing: bool = False) -> None:
        """Enter a connection in the tables. ``outgoing``: made by connect(), whose port
        allocator skips the ports in ``by_dest`` without asking (`busy_ports`). A listener's
        children are not entered there: the port allocator's check() finds them in
        ``conns`` all the same, and a server would otherwise keep one set per peer port."""
        t = conn.tuple
        self.conns[t] = conn
        users = self.by_port.get(t.local_port)
        if users is None:
            self.by_port[t.local_port] = t
        elif isinstance(users, set):
            users.add(t)
        else:
            self.by_port[t.local_port] = {users, t}
        if outgoing:
            dest = (t.local_ip, t.remote_ip, t.remote_port)
            ports = self.by_dest.get(dest)
            if ports is None:
                ports = self.by_dest[dest] = PortSet()
            ports.add(t.local_port)

    def remove_conn(self, conn: Connection) -> None:
        t = conn.tuple
        if self.conns.get(t) is conn:
            del self.conns[t]
            users = self.by_port.get(t.local_port)
            if isinstance(users, set):
                users.discard(t)
                if not users:
                    del self.by_port[t.local_port]
            elif users == t:
                del self.by_port[t.local_port]
            dest = (t.local_ip, t.remote_ip, t.remote_port)
            ports = self.by_dest.get(dest)
            if ports is not None:
                ports.discard(t.local_port)
                if not ports:
                    del self.by_dest[dest]
        self._disarm(conn)
        owner = self.owner.pop(conn, None)
        if owner is not None and owner.closed and owner.conn is conn:
            self.host.sockets.remove(owner)     # closed and its connection ended: freed
        parent = self.parent.pop(conn, None)
        if parent is not None:
            parent.syn_queue.pop(t, None)
            if conn in parent.accept_queue:
                parent.accept_queue.remove(conn)

    def port_users(self, port: int) -> Iterable[FourTuple]:
        """The 4-tuples of the connections on local ``port`` (see ``by_port``)."""
        users = self.by_port.get(port)
        if users is None:
            return ()
        return users if isinstance(users, set) else (users,)

    def port_in_use_for(self, laddr: str, port: int, raddr: str, rport: int) -> bool:
        """True if connect() may not use ``port`` toward (raddr, rport) (Linux
        __inet_check_established + bind-bucket test)."""
        for sock in self.bindings.get(port, ()):
            if sock.bound_explicitly:
                return True
        conn = self.conns.get((laddr, port, raddr, rport))    # (a plain tuple finds it)
        if conn is None:
            return False
        # a TIME-WAIT 4-tuple may be taken over (open_connection replaces it)
        return not (conn.state is TIME_WAIT and self._tw_reusable(conn))

    def busy_ports(self, laddr: str, raddr: str, rport: int):
        """Local ports certainly unusable toward (raddr, rport) — a shortcut for the port
        allocator's scan; None when TIME-WAIT reuse could make some of them usable."""
        mode = self.sysctl.get("net.ipv4.tcp_tw_reuse", 2)
        if mode == 1 or (mode == 2 and raddr.startswith("127.")):
            return None
        return self.by_dest.get((laddr, raddr, rport))

    def _tw_reusable(self, conn: Connection) -> bool:
        """tcp_twsk_unique(): timestamps seen, tcp_tw_reuse allows it, last one >= 1 s old."""
        mode = self.sysctl.get("net.ipv4.tcp_tw_reuse", 2)
        loopback = conn.tuple.remote_ip.startswith("127.")
        if not conn.ts_ok or mode == 0 or (mode == 2 and not loopback):
            return False
        return self.net.now - conn.ts_recent_time >= 1.0    # tw_ts_recent_stamp + 1 s

    # ------------------------------------------------------------- input
    def input(self, packet: Packet, pkt_id: int) -> None:
        """Demultiplex one arriving segment (module docstring, steps 1-3)."""
        seg = packet.payload                  # (Host.deliver gave us a TCP packet)
        self.counters["InSegs"] += 1
        # a plain tuple finds the FourTuple key (same hash, equal): none is built per segment
        conn = self.conns.get((packet.dst, seg.dport, packet.src, seg.sport))
        if conn is not None:
            key = conn.tuple
            if self.net.trace.enabled:
                self._record("demux", DemuxRule.ESTABLISHED, packet, pkt_id, key,
                             reason=DemuxRule.ESTABLISHED_TABLE, rfc="RFC 9293 §3.3.1",
                             detail=_STATE_DETAIL[conn.state])
            f = int(seg.flags)
            state = conn.state
            if state is TIME_WAIT and f & _SYN and not f & (_ACK | _RST):
                listener = self._find_listener(key.local_ip, key.local_port)
                if listener is not None and unwrap(seg.seq, conn.rcv_nxt) > conn.rcv_nxt:
                    # Linux tcp_timewait_state_process(): TCP_TW_SYN - a new incarnation
                    iss = int(conn.snd_nxt + 65537)
                    conn.abort(self.net.now, StateCause.TIME_WAIT_NEW_SYN)
                    self._after(conn)
                    self._record("demux", DemuxRule.LISTENER, packet, pkt_id, key,
                                 reason=DemuxRule.TIME_WAIT_REPLACED, rfc="RFC 6191",
                                 detail=(("listener", (listener.ip, listener.port)),))
                    listener.input(packet, pkt_id, iss=iss)
                    return
            if state is SYN_RECEIVED and f & _ACK and not f & (_RST | _SYN):
                listener = self.parent.get(conn)
                if listener is not None and listener.accept_queue_full():
                    listener.accept_overflow(conn, packet, pkt_id)
                    return
            conn.receive(seg, self.net.now)
            self._after(conn)
            return
        tracing = self.net.trace.enabled      # (a flood's SYNs come this way: no record
        listener = self._find_listener(packet.dst, seg.dport)   # is built unless traced)
        if listener is not None:
            if tracing:
                self._record("demux", DemuxRule.LISTENER, packet, pkt_id, packet.four_tuple(),
                             reason=DemuxRule.SPECIFIC_ADDRESS if listener.ip != WILDCARD
                             else DemuxRule.WILDCARD_ADDRESS, rfc="RFC 9293 §3.10.7.2",
                             detail=(("listener", (listener.ip, listener.port)),))
            listener.input(packet, pkt_id)
            return
        if tracing:
            self._record("demux", DemuxRule.NO_SOCKET, packet, pkt_id, packet.four_tuple(),
                         reason=DemuxRule.NO_RST_FOR_RST if seg.flags & RST
                         else DemuxRule.REPLY_RST, rfc="RFC 9293 §3.10.7.1")
        self.reset_no_socket(packet)

    def icmp_error(self, packet: Packet, msg, quoted, pkt_id: int) -> None:
        """An ICMP error quoting one of our segments: Linux tcp_v4_err()
        (net/ipv4/tcp_ipv4.c). The quote names the connection and the sequence number."""
        key = FourTuple(quoted.src, quoted.sport, quoted.dst, quoted.dport)
        conn = self.conns.get(key)
        why = f"{msg} from {packet.src}"
        if conn is None or quoted.seq is None:
            self.counters["Icmp:InErrors"] += 1         # no socket: ICMP_MIB_INERRORS
            self._record("demux", DemuxRule.ICMP_NO_SOCKET, packet, pkt_id, key,
                         rfc="Linux tcp_v4_err()", detail=(("icmp", why),))
            return
        self._record("demux", DemuxRule.ICMP_MATCH, packet, pkt_id, key,
                     rfc="Linux tcp_v4_err()", detail=(("icmp", why),))
        if conn.state is TIME_WAIT:
            return
        seq = Seq(quoted.seq)
        if conn.passive and conn.state is SYN_RECEIVED:
            # a request socket (tcp_req_err()): only about our SYN-ACK; aborted by these
            if seq != conn.iss:
                self.counters["OutOfWindowIcmps"] += 1
                return
            t, c = msg.type, msg.code
            if t in (11, 12) or (t == 3 and c in (0, 1)):
                self.counters["ListenDrops"] += 1     # inet_csk_reqsk_queue_drop()
                conn.icmp_error(self.net.now, _icmp_errno(t, c) or 0, why)
                self._after(conn)
            return
        if not (conn.snd_una <= seq <= conn.snd_nxt):
            self.counters["OutOfWindowIcmps"] += 1      # LINUX_MIB_OUTOFWINDOWICMPS
            return
        err = _icmp_errno(msg.type, msg.code)
        if err is None:
            if (msg.type, msg.code) == (3, 4):
                # Linux would lower the MSS (tcp_v4_mtu_reduced()); not modelled here
                self._record("event", EventKind.PMTU_NOT_MODELLED, packet, pkt_id, key,
                             rfc="RFC 1191", detail=(("mtu", msg.next_hop_mtu),))
            return
        conn.icmp_error(self.net.now, err, str(msg))
        self._after(conn)

    def _find_listener(self, ip: str, port: int) -> Optional[Listener]:
        return self.listeners.get((ip, port)) or self.listeners.get((WILDCARD, port))

    def reset_no_socket(self, packet: Packet) -> None:
        """RFC 9293 §3.10.7.1 (CLOSED): ACK set → <SEQ=SEG.ACK><CTL=RST>; otherwise
        <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>. Never reply to a RST."""
        rst = reset_for(packet.segment)
        if rst is None:
            return
        self.counters["OutRsts"] += 1
        self.send(Packet(packet.dst, packet.src, rst), SendCause.NO_SOCKET_RESET, "RFC 9293 §3.10.7.1")

    # ------------------------------------------------------------- output
    def send(self, packet: Packet, reason: object = "", rfc: str = "", conn=None,
             detail: tuple = ()) -> None:
        self.counters["OutSegs"] += 1
        self.host.transmit(packet, reason, rfc, None, conn, detail)

    def _after(self, conn: Connection) -> None:
        """Transmit what a connection produced, trace its events, keep tables and timers.

        This runs after every input to a connection (about twenty times in a short one), so
        it empties the connection's output queues itself (``_out`` and ``_events``: what
        take_segments() and take_events() hand over) without a call for each, and skips
        a queue that is empty, as one of them mostly is."""
        t = conn.tuple
        tracing = self.net.trace.enabled
        segments = conn._out
        if segments:
            conn._out = ()
            counters = self.counters
            for out in segments:
                flags = int(out.segment.flags)
                if out.reason.retransmission:
                    counters["RetransSegs"] += 1
                    if flags & _SYN:
                        counters["TCPSynRetrans"] += 1
                if flags & _RST:
                    counters["OutRsts"] += 1
                # only the trace reads the TCB snapshot: build it only when someone records
                detail = self._tcb_detail(conn) if tracing else ()
                self.send(Packet.tcp(t.local_ip, t.remote_ip, out.segment,
                                     self._ip_id(conn, out)),
                          out.reason, out.rfc, t, detail)
        events = conn._events
        if events:
            conn._events = ()
            for ev in events:
                if tracing:
                    self._record(ev.kind, ev.what, conn=t, old=ev.old, reason=ev.reason,
                                 rfc=ev.rfc, detail=ev.detail)
                if ev.kind == "state":
                    self._on_state(conn, ev.old, ev.what)
        sock = self.owner.get(conn)
        if sock is not None:
            sock._changed = True        # a blocked call on it asks again (simtcp.socket)
            if sock.on_ready is not None:
                self.wake(sock)
        state = conn.state
        if state is CLOSED or (state is LISTEN and conn.passive):
            self.remove_conn(conn)
            return
        timers = conn.timers
        if timers:
            deadline = min(timers.values())             # conn.next_deadline()
            if conn.wake_at is None or deadline < conn.wake_at:
                self._arm(conn, deadline)               # else the pending wake-up comes first

    @staticmethod
    def _tcb_detail(conn: Connection) -> tuple:
        """The sender's TCB right after sending, for the send record: ("tcb", (SND.UNA,
        SND.NXT, RCV.NXT, SND.WND, RCV.WND)) and ("cc", (cwnd, ssthresh in segments, RTO in
        ms)); RCV.WND is the window we advertise."""
        # the connection's sequence numbers are unwrapped (simtcp.seq): the trace shows the
        # 32-bit values segments carry
        tcb = (conn.snd_una & MASK, conn.snd_nxt & MASK, conn.rcv_nxt & MASK, conn.snd_wnd,
               conn.last_rcv_wnd)
        mss = max(conn.eff_mss, 1)
        cc = (conn.cwnd // mss, conn.ssthresh // mss if conn.ssthresh < 1 << 30 else None,
              round(conn.rto * 1000))
        return TcbSnapshot.of(tcb, cc)      # packed; the trace expands it when read

    def _arm(self, conn: Connection, deadline: float) -> None:
        """Keep one wake-up scheduled for the connection's next ``deadline``, as Linux keeps one
        timer per socket and moves it with mod_timer() (sk_reset_timer()). Only a deadline
        earlier than the pending wake-up's (``conn.wake_at``, which `_after` compares first)
        moves it: the old event is cancelled. One that moved later or was stopped leaves it
        in place: it fires early, finds nothing due and waits for what is left, as
        tcp_write_timer_handler() and tcp_delack_timer_handler() do ("if
        (time_after(icsk->icsk_timeout, jiffies)) sk_reset_timer(...)"; net/ipv4/
        tcp_timer.c). So a connection never has more than one pending event."""
        event = self._armed.get(conn)
        if event is not None:
            self.net.cancel(event)
        conn.wake_at = deadline
        self._armed[conn] = self.net.schedule(deadline, self._fire, conn, deadline)

    def _disarm(self, conn: Connection) -> None:
        """The socket is destroyed: its timers go with it (tcp_done() →
        inet_csk_clear_xmit_timers() → sk_stop_timer(), net/ipv4/inet_connection_sock.c)."""
        event = self._armed.pop(conn, None)
        if event is not None:
            self.net.cancel(event)
            conn.wake_at = None

    def _ip_id(self, conn: Connection, out) -> int:
        """IPv4 Identification of a segment, as Linux ip_select_ident_segs() picks it for DF
        packets: a per-socket counter from a random start; 0 for resets and for what a
        request socket (SYN-RECEIVED on a listener) sends, which has no full socket yet;
        the reset an established socket sends when aborted is its own and takes its counter."""
        flags = int(out.segment.flags)
        if (flags & _RST and not (flags & _ACK and conn.established_at is not None)) or \
                (conn.passive and conn.state is SYN_RECEIVED):
            return 0      # (an established socket's own reset, tcp_send_active_reset, counts)
        ident = conn.ip_id            # the socket's counter (inet->inet_id); None until used
        if ident is None:             # a random start: get_random_u16()
            t = conn.tuple
            ident = self._hash(f"ipid|{t.local_ip}|{t.local_port}|{t.remote_ip}|{t.remote_port}")
            ident &= 0xFFFF
        conn.ip_id = (ident + 1) & 0xFFFF
        return ident

    def _on_state(self, conn: Connection, old: str, new: str) -> None:
        # CurrEstab is a gauge (Linux tcp_set_state()): ESTABLISHED, and since 6.10 also
        # CLOSE-WAIT ("tcp: count CLOSE-WAIT sockets for TCP_MIB_CURRESTAB")
        live = self._curr_estab
        if (new in live) != (old in live):
            self.counters["CurrEstab"] += 1 if new in live else -1
        if new == _ESTABLISHED_NAME:
            if conn.passive:          # (only a listener's child has a parent)
                listener = self.parent.get(conn)
                if listener is not None and conn.tuple in listener.syn_queue:
                    del listener.syn_queue[conn.tuple]
                    listener.accept_queue.append(conn)
                # Linux counts a passive open when the final ACK creates the child socket
                # (tcp_create_openreq_child), an active one when the SYN is sent (tcp_connect)
                self.counters["PassiveOpens"] += 1
        elif new == _LISTEN_NAME and old == _SYN_RECEIVED_NAME:
            self.counters["AttemptFails"] += 1        # tcp_check_req(): embryonic reset
            self.counters["EmbryonicRsts"] += 1
        elif new == _TIME_WAIT_NAME:
            # tcp_time_wait(): a timewait socket with a timer of its own takes over and the
            # full socket is destroyed with its timers (tcp_done()); `_after` arms the new
            # wake-up for the TIME-WAIT deadline
            self._disarm(conn)
        elif new == _CLOSED_NAME:
            if old in ("SYN-SENT", "SYN-RECEIVED"):
                self.counters["AttemptFails"] += 1
            elif old in ("ESTABLISHED", "CLOSE-WAIT") and conn.error:
                self.counters["EstabResets"] += 1

    def _fire(self, conn: Connection, at: float) -> None:
        """The connection's wake-up for deadline ``at`` (the only one pending: see `_arm`)."""
        del self._armed[conn]
        conn.wake_at = None
        deadline = conn.next_deadline()
        if deadline is None or deadline > self.net.now:
            # the timer armed for ``at`` was stopped or pushed later (an ACK arrived):
            # nothing is due, so only wait for what is left
            if deadline is not None:
                self._arm(conn, deadline)
            return
        if conn.state is SYN_RECEIVED:
            listener = self.parent.get(conn)
            if listener is not None:
                retries = listener.synack_limit()
                if retries != conn.cfg.synack_retries:
                    conn.own_config().synack_retries = retries
        conn.on_timer(self.net.now)
        self._after(conn)

    # ----------------------------------------------------------- sockets
    def open_connection(self, t: FourTuple, sock: "Socket") -> Connection:
        cfg = self.config(sock)
        iss = self.isn(t)
        old = self.conns.get(t)
        if old is not None and old.state is TIME_WAIT:
            # tcp_twsk_unique(): the new incarnation starts above the old one's sequence space
            iss = int(old.snd_nxt + 65535 + 2)
            old.abort(self.net.now, StateCause.TIME_WAIT_REUSED)
            self._after(old)
        conn = Connection(t, cfg, iss, self.ts_offset(t))
        self.add_conn(conn, outgoing=True)
        self.owner[conn] = sock
        self.counters["ActiveOpens"] += 1
        conn.open_active(self.net.now)
        self._after(conn)
        return conn

    def wake(self, sock) -> None:
        """Tell a socket's program that something may have changed (data, a connection in
        the accept queue, a close) — the simulation's epoll: the callback runs as its own
        event at the current instant, at most once per instant, never inside the stack."""
        if sock is not None and sock.on_ready is not None and not sock._wake_pending:
            sock._wake_pending = True
            self.net.schedule(self.net.now, sock._ready)

    #: After a socket call changed a connection: transmit and re-arm (`_after` itself).
    kick = _after
