"""A listening socket: its SYN queue, its accept queue, SYN cookies, and how a SYN becomes a
connection.

Theory of operation: the stack's demultiplexer (`stack.Stack.input`) hands a `Listener` every
segment addressed to it that matches no connection. `Listener.input` then follows RFC 9293
§3.10.7.2 (LISTEN: ignore a RST, reset an ACK, act on a SYN) in the order Linux's
`tcp_conn_request()` (net/ipv4/tcp_input.c) checks things:

1. a full SYN queue (or ``tcp_syncookies=2``) makes the SYN-ACK carry a *SYN cookie*: the
   server keeps no state, and the cookie in the client's ACK rebuilds the connection
   (`syncookies.py`, Linux net/ipv4/syncookies.c); with cookies off the SYN is dropped;
2. a full accept queue drops the SYN;
3. otherwise a request (a `tcp.Connection` in SYN-RECEIVED) joins the SYN queue and answers
   with a SYN-ACK. When the handshake's last ACK arrives the stack moves it to the accept
   queue, where ``accept()`` finds it.

Linux's two queue sizes both come from ``listen(backlog)``: the SYN queue is full when it
holds more than ``backlog`` requests (inet_csk_reqsk_queue_is_full), the accept queue when
it holds more than ``backlog`` connections (sk_acceptq_is_full). Every drop is counted (the
ListenOverflows/ListenDrops of ``nstat``) and traced with its reason.
"""
from __future__ import annotations

from collections import deque
from typing import TYPE_CHECKING, Dict, NamedTuple, Optional

from .packet import Packet
from .reasons import EventKind, SendCause, StateCause
from .segment import Flags, FourTuple, Options, Segment
from .seq import wire
from .states import State
from .syncookies import TCP_MSS_DEFAULT, decode_ts_options, encode_ts_options, mss_index
from .tcp import Connection
from .tcpconfig import (Negotiated, TcpConfig, initial_window, negotiate, reset_for,
                        synack_options)

if TYPE_CHECKING:  # pragma: no cover
    from .socket import Socket

_SYN, _ACK, _RST, _FIN = int(Flags.SYN), int(Flags.ACK), int(Flags.RST), int(Flags.FIN)
_SYNACK = Flags.SYN | Flags.ACK
# read once: a member read off its Enum class costs about 0.1 µs on Python 3.11, and a flood
# sends one cookie per SYN
_SYN_COOKIE = SendCause.SYN_COOKIE
COOKIE_VALID = 120.0     # TCP_SYNCOOKIE_VALID: 2 minutes after the last overflow


class _SynAckPlan(NamedTuple):
    """The parts of a cookie SYN-ACK that depend only on the SYN's options and the listener's
    configuration (`Listener._synack_plan`)."""

    negotiated: Negotiated
    window: int                  # the SYN-ACK's window field (initial_window)
    options: Optional[Options]   # its options when the SYN had no timestamp (else per SYN)
    mss_index: int               # the MSSTAB entry the cookie encodes (syncookies.mss_index)


class Listener:
    """A socket in LISTEN with its two queues (Linux: request sockets + accept queue)."""

    def __init__(self, sock: "Socket", ip: str, port: int, backlog: int):
        self.sock = sock
        self.stack = sock.stack
        self.ip, self.port = ip, port
        self.backlog = backlog
        self.syn_queue: Dict[FourTuple, Connection] = {}
        self.accept_queue: deque = deque()
        self.last_overflow: Optional[float] = None
        self.warned = False
        self.state = State.LISTEN
        self._plans_for: Optional[TcpConfig] = None    # the config _plans were made for
        self._plans: Dict[tuple, _SynAckPlan] = {}     # see _synack_plan

    def syn_queue_full(self) -> bool:
        # inet_csk_reqsk_queue_is_full() (include/net/inet_connection_sock.h): qlen >
        # sk_max_ack_backlog on Linux 6.x (measured on 6.18)
        return len(self.syn_queue) > self.backlog

    def accept_queue_full(self) -> bool:
        # sk_acceptq_is_full(): ack_backlog > sk_max_ack_backlog, so backlog+1 fit
        return len(self.accept_queue) > self.backlog

    def __repr__(self) -> str:
        return (f"<Listener {self.ip}:{self.port} backlog={self.backlog} "
                f"syn={len(self.syn_queue)} accept={len(self.accept_queue)}>")

    # ------------------------------------------------------------- input
    def input(self, packet: Packet, pkt_id: int, iss: Optional[int] = None) -> None:
        """RFC 9293 §3.10.7.2 (LISTEN) with Linux's tcp_conn_request() checks. ``iss``: the
        initial sequence number a TIME-WAIT takeover chose (None: a fresh one)."""
        stack = self.stack
        seg = packet.segment
        f = int(seg.flags)
        if f & _RST:
            return                                       # first: ignore a RST
        if f & _ACK:
            if not f & _SYN and self._cookie_ack(packet, pkt_id):
                return
            stack.counters["OutRsts"] += 1               # second: any ACK → RST
            stack.send(Packet(packet.dst, packet.src, reset_for(seg)),
                       SendCause.LISTENER_ACK_RESET, "RFC 9293 §3.10.7.2")
            return
        if not f & _SYN:
            return
        now = stack.net.now
        sysctl = stack.sysctl
        mode = sysctl.get("net.ipv4.tcp_syncookies", 1)
        want_cookie = False
        full = self.syn_queue_full()
        if mode == 2 or full:
            if full:
                self.last_overflow = now
            if mode:
                want_cookie = True
                if not self.warned and mode == 1:
                    self.warned = True
                    stack._record("event", EventKind.SYN_FLOOD_WARNING,
                                  reason=EventKind.SYN_QUEUE_FULL,
                                  rfc="Linux tcp_syn_flood_action()",
                                  detail=(("port", self.port),))
            else:
                self._drop(packet, pkt_id, EventKind.SYN_QUEUE_FULL, overflow=False)
                return
        if self.accept_queue_full():
            self._drop(packet, pkt_id, EventKind.ACCEPT_QUEUE_FULL, overflow=True)
            return
        if not want_cookie and mode == 0:
            # tcp_max_syn_backlog: with cookies off keep the last quarter for proven peers
            maxb = sysctl.get("net.ipv4.tcp_max_syn_backlog", 2048)
            if maxb - len(self.syn_queue) < (maxb >> 2):
                self._drop(packet, pkt_id, EventKind.SYN_BACKLOG_RESERVED, overflow=False)
                return
        if want_cookie:
            self._send_cookie(packet, seg, now)
            return
        key = packet.four_tuple()
        cfg = stack.config(self.sock)       # children inherit the listener's options
        conn = Connection(key, cfg, iss if iss is not None else stack.isn(key),
                          stack.ts_offset(key))
        stack.add_conn(conn)
        stack.parent[conn] = self
        self.syn_queue[key] = conn
        stack.owner[conn] = self.sock
        conn.accept_syn(seg, now)
        stack._after(conn)

    def _drop(self, packet: Packet, pkt_id: int, why: EventKind, overflow: bool) -> None:
        counters = self.stack.counters
        if overflow:
            counters["ListenOverflows"] += 1
        counters["ListenDrops"] += 1
        if self.stack.net.trace.enabled:     # a flood without cookies drops every SYN here
            self.stack._record("event", EventKind.SYN_DROPPED, packet, pkt_id,
                               packet.four_tuple(), reason=why, rfc="Linux tcp_conn_request()")

    def accept_overflow(self, conn: Connection, packet: Packet, pkt_id: int) -> None:
        """The handshake's last ACK while the accept queue is full (Linux tcp_check_req):
        tcp_abort_on_overflow=0 drops it (the SYN-ACK is retransmitted later), =1 resets."""
        stack = self.stack
        stack.counters["ListenOverflows"] += 1
        stack.counters["ListenDrops"] += 1
        if stack.sysctl.get("net.ipv4.tcp_abort_on_overflow", 0):
            stack._record("event", EventKind.ACCEPT_QUEUE_RESET, packet, pkt_id, conn.tuple,
                          reason=EventKind.ABORT_ON_OVERFLOW, rfc="Linux tcp_check_req()")
            # embryonic_reset: the reset answers the ACK itself (tcp_v4_send_reset: <SEQ=SEG.ACK>
            # <CTL=RST>), and the request is dropped without another segment
            stack.counters["OutRsts"] += 1
            stack.send(Packet(packet.dst, packet.src, reset_for(packet.segment)),
                       SendCause.ACCEPT_QUEUE_RESET, "Linux tcp_check_req()")
            conn.drop_request(stack.net.now, StateCause.ACCEPT_QUEUE_ABORT)
            stack._after(conn)
        else:
            stack._record("event", EventKind.ACCEPT_QUEUE_IGNORED, packet, pkt_id, conn.tuple,
                          reason=EventKind.NO_ABORT_ON_OVERFLOW, rfc="Linux tcp_check_req()")

    # ----------------------------------------------------------- cookies
    def _send_cookie(self, packet: Packet, seg: Segment, now: float) -> None:
        """A SYN-ACK whose ISN is a SYN cookie for ``packet``'s SYN ``seg``; no state is kept
        (Linux cookie_v4_init_sequence)."""
        stack = self.stack
        self.last_overflow = now             # cookie_init_sequence() → tcp_synq_overflow()
        # only read: no connection is made (tcp_openreq_init_rwin(): the listener's buffer)
        cfg = stack.config(self.sock)
        peer = seg.options
        plan = self._synack_plan(cfg, peer)
        isn = stack.cookies.make_for_syn(packet.src, packet.dst, seg.sport, seg.dport,
                                         int(seg.seq), plan.mss_index, now)
        n = plan.negotiated
        if n.ts_ok:
            # wscale and SACK travel in the low 6 bits of TSval (cookie_init_timestamp)
            clock = (int(now * 1000) + stack.ts_offset(packet.four_tuple())) & 0xFFFFFFFF
            # the *client's* window scale is what must survive (cookie_init_timestamp():
            # ireq->snd_wscale); ours is a constant the server knows anyway
            tsval = encode_ts_options(clock, n.snd_wscale if peer.wscale is not None else None,
                                      n.sack_ok, False)
            opts = synack_options(cfg, n, peer, tsval)
        else:
            opts = plan.options
        synack = Segment(seg.dport, seg.sport, wire(isn), wire(seg.seq + 1), _SYNACK,
                         plan.window, opts)
        stack.counters["SyncookiesSent"] += 1
        stack.send(Packet.tcp(packet.dst, packet.src, synack), _SYN_COOKIE, "Linux syncookies.c")

    def _synack_plan(self, cfg: TcpConfig, peer: Options) -> "_SynAckPlan":
        """What a cookie SYN-ACK answers SYNs with these options under ``cfg``: worked out
        once per option set and configuration, not once per SYN of a flood (the SYNs of one
        flood all carry the same options). Timestamps differ per SYN, so only whether the
        SYN has one is part of the key; a change of sysctl or socket option gives the
        listener another ``cfg`` (`stack.Stack.config`) and so fresh plans."""
        if cfg is not self._plans_for:
            self._plans_for, self._plans = cfg, {}
        key = (peer.mss, peer.wscale, peer.sack_perm, peer.ts is not None)
        plan = self._plans.get(key)
        if plan is None:
            if len(self._plans) >= 64:          # a flood varying its options: stay small
                self._plans.clear()
            n = negotiate(cfg, peer)
            plan = self._plans[key] = _SynAckPlan(
                n, initial_window(cfg, n.ts_ok),
                # no timestamps: no room for wscale and SACK, the SYN-ACK offers the MSS only
                None if n.ts_ok else Options(mss=cfg.mss),
                mss_index(peer.mss or TCP_MSS_DEFAULT))
        return plan

    def _cookie_ack(self, packet: Packet, pkt_id: int) -> bool:
        """Try to complete a handshake from a cookie in an ACK (Linux cookie_v4_check)."""
        stack = self.stack
        sysctl = stack.sysctl
        mode = sysctl.get("net.ipv4.tcp_syncookies", 1)
        now = stack.net.now
        # tcp_synq_no_recent_overflow(): cookies are checked only within 2 minutes of the
        # last overflow (every cookie sent refreshes it, so mode 2 keeps it fresh too)
        recent = self.last_overflow is not None and now - self.last_overflow < COOKIE_VALID
        if not mode or not recent:
            return False
        seg = packet.segment
        mss = stack.cookies.check(packet.src, packet.dst, seg.sport, seg.dport, int(seg.seq),
                                  int(seg.ack), now)
        if mss is None:
            stack.counters["SyncookiesFailed"] += 1
            stack._record("event", EventKind.COOKIE_FAILED, packet, pkt_id, packet.four_tuple(),
                          reason=EventKind.BAD_COOKIE, rfc="Linux cookie_v4_check()")
            return False
        if self.accept_queue_full():
            self._drop(packet, pkt_id, EventKind.ACCEPT_QUEUE_FULL, overflow=True)
            return True
        wscale, sack, ts = None, False, None
        if seg.options.ts is not None:
            decoded = decode_ts_options(
                seg.options.ts[1],
                tcp_timestamps=sysctl.get("net.ipv4.tcp_timestamps", 1),
                tcp_sack=sysctl.get("net.ipv4.tcp_sack", 1),
                tcp_window_scaling=sysctl.get("net.ipv4.tcp_window_scaling", 1))
            if decoded is None:       # cookie_timestamp_decode() refuses: treat as invalid
                stack.counters["SyncookiesFailed"] += 1
                return False
            wscale, sack = decoded.wscale, decoded.sack
            ts = (seg.options.ts[0], 0)
        syn_opts = Options(mss=mss, wscale=wscale, sack_perm=sack, ts=ts)
        key = packet.four_tuple()
        cfg = stack.config(self.sock)
        conn = Connection(key, cfg, int(seg.ack) - 1, stack.ts_offset(key))
        stack.add_conn(conn)
        stack.owner[conn] = self.sock
        stack.parent[conn] = self
        conn.establish_from_cookie(seg, syn_opts, now)
        stack.counters["SyncookiesRecv"] += 1
        self.accept_queue.append(conn)
        if seg.payload or seg.flags & _FIN:
            conn.receive(seg, now)
        stack._after(conn)
        return True

    # ------------------------------------------------------------ timers
    def synack_limit(self) -> int:
        """SYN-ACK retries for a request right now (Linux reqsk_timer_handler): when the SYN
        queue is more than half full, old requests get fewer retries (down to 2) unless young
        ones (never timed out) make up enough of it — "reserve half of room for young
        embrions; and abort old ones without pity"."""
        retries = self.stack.sysctl.get("net.ipv4.tcp_synack_retries", 5)
        qlen = len(self.syn_queue)
        if qlen * 2 > max(8, self.backlog):
            young = 2 * sum(1 for c in self.syn_queue.values() if c.retries == 0)
            while retries > 2 and qlen >= young:
                retries -= 1
                young <<= 1
        return retries

    # ------------------------------------------------------------- close
    def close(self) -> None:
        """close() on a listener: queued connections are reset (Linux inet_csk_listen_stop()
        -> inet_child_forget() -> tcp_disconnect()); pending requests vanish silently —
        their SYN-ACK timer drops them (reqsk_timer_handler(): the listener is no longer
        TCP_LISTEN) and a later ACK finds no socket and is answered as such."""
        stack = self.stack
        stack.listeners.pop((self.ip, self.port), None)
        now = stack.net.now
        for conn in list(self.syn_queue.values()):
            conn.drop_request(now, StateCause.LISTENER_CLOSED)
            stack._after(conn)
        for conn in list(self.accept_queue):
            conn.abort(now, StateCause.LISTENER_CLOSED)
            stack._after(conn)
        self.state = State.CLOSED
