"""A sans-IO TCP connection: the RFC 9293 state machine for one endpoint.

Theory of operation: `Connection` knows nothing about networks, clocks or scapy. Inputs are
method calls that carry the current virtual time ``now`` — ``open_active``, ``accept_syn``
(a child created by a listener from a SYN), ``receive(segment)``, ``send(data)``,
``recv(n)``, ``close()``, ``abort()`` and ``on_timer(now)``. Outputs are pulled by the owner
(the stack): ``take_segments()`` gives the segments to transmit (each with the reason and
the RFC rule that produced it), ``take_events()`` gives state changes and notable events for
the trace, and ``next_deadline()`` says when ``on_timer`` wants to run next. ``on_timer``
may be called early or late; it only acts on deadlines that have passed.

Timers are deadlines in ``self.timers`` (rto, tlp, reo, persist, keepalive, delack,
timewait, finwait2).
The retransmission timer follows RFC 6298 with Linux's constants (initial 1 s, minimum
200 ms, maximum 120 s, doubling backoff, Karn's rule); SYN and SYN-ACK retries follow Linux
(`tcp_syn_retries`, `tcp_synack_retries`, `tcp_syn_linear_timeouts`). Congestion control is
an object chosen by name (`congestion`: CUBIC by default, or Reno) from IW10; fast recovery
uses PRR and a tail loss probe precedes the timeout (`recovery`); the receiver keeps
out-of-order data and reports it with SACK blocks.

Sequence numbers in the TCB (SND.UNA, RCV.NXT, ...) are plain ints that start at the ISN/IRS
and keep growing past 2**32 (`simtcp.seq`). Segments carry the 32-bit header fields:
`receive` unwraps an arriving segment's SEG.SEQ and SEG.ACK once into ``seg_seq`` and
``seg_ack`` (RFC 9293 §3.3.1's current segment variables), which the receive path reads
instead of the segment's fields; the segments it builds carry TCB values masked to 32 bits
(``& MASK``), and ``tcb()`` shows 32-bit values.

Every state change goes through `_set_state`, which refuses a change that is not a row of
`states.TRANSITIONS` and records the row's RFC section. This module is the state machine;
opening (SYN, SYN-ACK, SYN cookies) is in `tcpopen.Opener`, receiving (data, the offered
window, TS.Recent, FIN) in `tcprecv.Receiver`, sending, timers and loss recovery in
`tcpsend.Sender`, options and configuration in `tcpconfig`.
"""
from __future__ import annotations

import copy
import errno as _errno
from typing import NamedTuple, Optional, Sequence, Tuple

from .segment import FLAG_VALUES, Flags, FourTuple, Options, Segment, NO_OPTIONS
from .reasons import EventKind, Reason, SendCause, StateCause
from .seq import MASK, unwrap
from .ooo import OutOfOrderQueue
from .states import (CLOSE_WAIT, CLOSED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, LAST_ACK, LISTEN,
                     EDGES, NAME, SYN_RECEIVED, SYN_SENT, TIME_WAIT, State)

# plain ints in the hot path: enum.IntFlag arithmetic is slow; segments get Flags objects
SYN, ACK, FIN, RST, PSH = int(Flags.SYN), int(Flags.ACK), int(Flags.FIN), int(Flags.RST), int(Flags.PSH)

from .rcvbuf import RcvBuf
from .tcpconfig import (TcpConfig, cc_params, full_space, reset_for,  # noqa: F401
                        select_initial_window)       # (re-exported: simtcp.tcp's name)
from .congestion import CongestionControl, make as make_cc
from .recovery import Prr, Rack
from .tcprecv import PINGPONG_THRESH, Receiver
from .tcpsend import Sender
from .tcpopen import Opener


class Out(NamedTuple):
    """A segment to transmit, with why it was sent."""

    segment: Segment
    reason: Reason
    rfc: str


class Event(NamedTuple):
    """Something for the trace: a state change (kind "state") or a notable event."""

    kind: str
    what: str                 # the new state's name, or an EventKind
    old: str = ""
    reason: object = ""       # a Reason member, or a transition's words from states.py
    rfc: str = ""
    detail: tuple = ()        # numbers an event carries, e.g. (("retry", 2),)


class _EdgeEvents(dict):
    """(src, dst) -> the trace event of that edge of RFC 9293 Figure 5, made once (events
    are immutable): a state change without a cause of its own queues its edge's event
    (`_set_state`). An edge the figure does not have raises ValueError, as `states.EDGES`
    does, so that look-up is also the check."""

    def __missing__(self, edge: Tuple[State, State]) -> Event:
        return EDGES[edge]          # (it has no such edge either: raises ValueError)


_EDGE_EVENTS = _EdgeEvents((edge, Event("state", NAME[row.dst], NAME[row.src], row.event,
                                        row.rfc)) for edge, row in EDGES.items())


class Connection(Opener, Receiver, Sender):
    """One endpoint of a TCP connection (a TCB, RFC 9293 §3.3.1)."""

    __slots__ = ("tuple", "cfg", "state", "passive", "iss", "irs", "snd_una", "snd_nxt",
                 "snd_max", "snd_wnd", "snd_wl1", "snd_wl2", "rcv_nxt", "snd_mss", "eff_mss",
                 "snd_wscale", "rcv_wscale", "sack_ok", "ts_ok", "ts_offset", "ts_recent",
                 "sndq", "rcvq", "ooo", "fin_queued", "fin_seq", "peer_fin_seq", "eof",
                 "orphan", "error", "timers", "rto", "srtt", "rttvar", "rtt_seq", "rtt_time",
                 "retries", "first_tx", "cwnd", "ssthresh", "dupacks", "recover",
                 "quickacks", "unacked_segs", "rcv_adv", "_out", "_events", "peer_mss_opt",
                 "syn_options", "from_cookie", "established_at", "last_rcv_wnd", "_now", "snd_sml",
                 "rcv_ssthresh", "rb", "last_oow", "eof_read", "sacked", "ts_recent_time",
                 "probes_out", "probe_backoff", "probes_tstamp", "soft_error",
                 "rcv_wup", "push_marks", "pushed_seq", "max_window", "_cc", "cwnd_cnt",
                 "min_rtt", "lsndtime", "prr", "lost_bytes", "retrans_out", "tlp_high_seq",
                 "total_retrans", "_rack", "segs_out", "data_segs_out", "bytes_sent",
                 "bytes_retrans", "segs_in", "data_segs_in", "rcv_tstamp", "ato", "lrcvtime",
                 "pingpong", "rcv_mss", "ack_pushed", "seg_seq", "seg_ack", "wake_at",
                 "ip_id", "ts_options")

    def __init__(self, four_tuple: FourTuple, config: TcpConfig, iss: int, ts_offset: int = 0):
        self.tuple = four_tuple
        self.cfg = config
        self.state = CLOSED
        self.passive = False
        # sequence numbers are plain ints, unwrapped: they start at the ISN/IRS (below 2**32)
        # and grow past 2**32; segments carry them masked to 32 bits (simtcp.seq)
        self.iss = iss & MASK
        self.irs = 0
        self.snd_una = self.snd_nxt = self.snd_max = self.iss
        self.snd_wnd = 0
        self.snd_wl1 = self.snd_wl2 = 0
        self.rcv_nxt = 0
        self.snd_mss = 536                  # RFC 9293 §3.7.1 default when no MSS option
        self.eff_mss = self.snd_mss         # payload per segment (tcpopen._negotiate sets both)
        self.snd_wscale = self.rcv_wscale = 0
        self.sack_ok = self.ts_ok = False
        self.ts_offset = ts_offset
        self.ts_recent = 0
        self.ts_options = NO_OPTIONS        # the last timestamps sent (tcprecv._data_options)
        self.sndq = bytearray()             # bytes from snd_una on: unacked, then unsent
        self.rcvq = bytearray()             # in-order bytes the application has not read
        # out-of-order data (RFC 9293 §3.10.7.4): made when the first such segment arrives
        self.ooo: Optional[OutOfOrderQueue] = None
        self.fin_queued = False             # application closed its sending side
        self.fin_seq: Optional[int] = None  # sequence number our FIN occupies, once sent
        self.peer_fin_seq: Optional[int] = None
        self.eof = False                    # peer's FIN consumed: recv() returns b""
        self.orphan = False                 # application called close()
        self.error: Optional[int] = None    # errno to report to the application
        self.soft_error: Optional[int] = None   # sk_err_soft: reported if we time out
        self.timers: dict = {}
        # the deadline of the stack's pending wake-up for these timers, None while there is
        # none: the expiry of the socket's one kernel timer (simtcp.stack.Stack._arm)
        self.wake_at: Optional[float] = None
        self.rto = config.rto_initial
        self.srtt: Optional[float] = None
        self.rttvar = 0.0
        self.rtt_seq: Optional[int] = None
        self.rtt_time = 0.0
        self.retries = 0
        self.first_tx = 0.0
        self.cwnd = 0
        self.ssthresh = 1 << 30
        self.dupacks = 0
        self.recover: Optional[int] = None
        # the delayed-ACK engine (Linux icsk_ack; tcprecv.py): quick-ACK budget, ACK timeout,
        # last arrival, ping-pong count, receiver's MSS estimate, small-segment flags
        self.quickacks = 0
        self.unacked_segs = 0
        self.ato = 0.0
        self.lrcvtime = 0.0
        self.pingpong = PINGPONG_THRESH if config.start_pingpong else 0
        self.rcv_mss = max(min(536, config.mss), 88)    # tcp_initialize_rcv_mss()
        self.ack_pushed = 0
        self.rcv_adv = 0
        # what the owner has not taken yet: an empty tuple between takes, a list once
        # something is produced (an idle connection holds no container for them)
        self._out: Sequence[Out] = ()
        self._events: Sequence[Event] = ()
        self.peer_mss_opt: Optional[int] = None
        self.syn_options: Options = NO_OPTIONS
        self.from_cookie = False
        self.established_at: Optional[float] = None
        self.last_rcv_wnd = 0
        self._now = 0.0
        self.snd_sml = self.iss            # end of the last small segment sent (Minshall)
        # Linux starts the offered window at about 64 KB and grows it as data arrives
        # (tcp_grow_window): rcv_ssthresh is that growing clamp.
        self.rcv_ssthresh = config.syn_window     # tcp_select_initial_window()'s rcv_wnd
        # receive memory (simtcp.rcvbuf): sk_rcvbuf, sk_rmem_alloc, the window clamp
        self.rb = RcvBuf(config.rcvbuf, config.rcvbuf_locked, config.adv_win_scale)
        self.rb.window_clamp = full_space(config) if config.rcvbuf_locked else 0xFFFF << 14
        self.last_oow: Optional[float] = None
        self.eof_read = False               # the application saw recv() return b""
        self.sacked: Sequence[Tuple[int, int]] = ()   # SACK scoreboard: ranges the peer holds
        self.ts_recent_time = 0.0           # when TS.Recent was last updated (RFC 7323 §5.5)
        self.probes_out = 0                 # zero-window probes unanswered (icsk_probes_out)
        self.probe_backoff = 0              # persist timer backoff (icsk_backoff)
        self.probes_tstamp: Optional[float] = None   # first probe of this episode
        self.rcv_wup = 0                    # RCV.NXT when we last sent a window (Last.ACK.sent)
        # ends of writes that get PSH (Linux tcp_mark_push); a list from the first write
        self.push_marks: Sequence[int] = ()
        self.pushed_seq = self.iss          # where the last push mark was (forced_push())
        self.max_window = 0                 # largest window the peer offered (tcp_sock.max_window)
        self._cc: Optional[CongestionControl] = None   # Reno or CUBIC: see `cc`
        self.cwnd_cnt = 0                   # segments ACKed towards the next cwnd increase
        self.min_rtt: Optional[float] = None
        self.lsndtime = 0.0                 # when data was last sent (slow start after idle)
        self.prr: Optional[Prr] = None      # Proportional Rate Reduction while recovering
        self.lost_bytes = self.retrans_out = 0   # recovery's marks for the pipe estimate
        self.tlp_high_seq: Optional[int] = None  # SND.NXT when a tail loss probe went out
        self.total_retrans = 0              # segments retransmitted (tcpi_total_retrans)
        self._rack: Optional[Rack] = None   # RACK's state: see `rack`
        # tcp_info counters (RFC 4898 tcpEStats, Linux tcp_get_info())
        self.segs_out = self.data_segs_out = self.bytes_sent = self.bytes_retrans = 0
        self.segs_in = self.data_segs_in = 0
        self.rcv_tstamp = 0.0               # when an ACK last arrived (tp->rcv_tstamp)
        # the arriving segment's SEG.SEQ and SEG.ACK, unwrapped (set by `receive`)
        self.seg_seq = self.seg_ack = 0
        # the IPv4 Identification of the next segment sent (Linux inet_sk(sk)->inet_id): the
        # stack's business (Stack._ip_id), None until it picks the first
        self.ip_id: Optional[int] = None

    def own_config(self) -> TcpConfig:
        """This connection's TcpConfig, ready to change: one the stack shares between
        connections (Stack.config) is copied first, so the change stays with this one."""
        if self.cfg.shared:
            self.cfg = copy.copy(self.cfg)
        return self.cfg

    # ----------------------------------------------------------------- outputs
    # The queues are ``_out`` and ``_events``: ``()`` when empty, a list once something is
    # queued. The stack, which runs after every input, empties them in place of these two
    # calls (Stack._after): a change to their shape changes it too.
    def take_segments(self) -> Sequence[Out]:
        out = self._out
        if out:
            self._out = ()
        return out

    def take_events(self) -> Sequence[Event]:
        ev = self._events
        if ev:
            self._events = ()
        return ev

    def _push(self, segment: Segment, reason: Reason, rfc: str) -> None:
        """Queue a segment for `take_segments` (its list is made by the first one)."""
        if self._out:
            self._out.append(Out(segment, reason, rfc))
        else:
            self._out = [Out(segment, reason, rfc)]

    def next_deadline(self) -> Optional[float]:
        return min(self.timers.values()) if self.timers else None

    # ------------------------------------------------------------ properties
    @property
    def rcv_wnd(self) -> int:
        """The window the free receive memory allows (tcp_space(); simtcp.rcvbuf)."""
        return max(0, self.rb.space_left)

    @property
    def sacked_bytes(self) -> int:
        """Bytes above SND.UNA the peer reported holding (the SACK scoreboard)."""
        if not self.sacked:
            return 0                  # the usual case: no loss, nothing SACKed
        return sum(end - start for start, end in self.sacked)

    # made when first needed: most connections of a port-exhaustion run never send data,
    # and every object a connection holds is one more for the cyclic collector to walk
    @property
    def rack(self) -> Rack:
        """RACK's transmit times and state (`recovery.Rack`)."""
        rack = self._rack
        if rack is None:
            rack = self._rack = Rack()
        return rack

    @property
    def cc(self) -> CongestionControl:
        """The congestion control (`congestion`: CUBIC or Reno, by the configuration's
        name and module parameters); TCP_CONGESTION replaces it."""
        cc = self._cc
        if cc is None:
            cc = self._cc = make_cc(self.cfg.congestion, cc_params(self.cfg))
        return cc

    @cc.setter
    def cc(self, cc: CongestionControl) -> None:
        self._cc = cc

    @property
    def unsent(self) -> int:
        return len(self.sndq) - (self.snd_nxt - self.snd_una)

    @property
    def in_flight(self) -> int:
        return self.snd_nxt - self.snd_una

    @property
    def closed(self) -> bool:
        return self.state is CLOSED

    def __repr__(self) -> str:
        return f"<Connection {self.tuple} {self.state}>"

    # ------------------------------------------------------------ internals
    def _set_state(self, new: State, why: object = "") -> None:
        old = self.state
        # either look-up raises ValueError if RFC 9293 Figure 5 has no such edge
        if why:                       # a cause of its own (a StateCause) names the change
            event = Event("state", NAME[new], NAME[old], why, EDGES[old, new].rfc)
        else:                         # otherwise the edge's words: its shared event
            event = _EDGE_EVENTS[old, new]
        self.state = new
        if self._events:
            self._events.append(event)
        else:
            self._events = [event]      # the first since the last take_events()
        if new is CLOSED:
            self.timers.clear()
        elif new is ESTABLISHED and self.established_at is None:
            self.established_at = self._now
            self.syn_options = NO_OPTIONS   # only a SYN or SYN-ACK (re)transmission used them
            # tcp_finish_connect() / tcp_create_openreq_child(): the ages start now
            self.lsndtime = self.lrcvtime = self.rcv_tstamp = self._now
            self._init_buffer_space()       # tcp_init_transfer()
            if self.cfg.keepalive:    # tcp_finish_connect() / tcp_create_openreq_child()
                self.arm_keepalive(self._now, self.cfg.keepalive_time)

    def _event(self, what: EventKind, reason: object = "", rfc: str = "",
               detail: tuple = ()) -> None:
        event = Event("event", what, "", reason, rfc, detail)
        if self._events:
            self._events.append(event)
        else:
            self._events = [event]

    def _tsval(self, now: float) -> int:
        # Linux: TSval is a millisecond clock plus a per-connection random offset (RFC 7323 §5.4)
        return (int(now * 1000) + self.ts_offset) & 0xFFFFFFFF

    def _emit(self, flags: int, seq: int, payload: bytes = b"", reason: object = "",
              rfc: str = "", options: Optional[Options] = None, ack: Optional[int] = None) -> None:
        """Queue one segment. ``seq``, ``ack`` and SACK blocks are TCB values (unwrapped,
        simtcp.seq): here, where segments are built, they become 32-bit header fields."""
        now = self._now
        if options is None:
            options = self._data_options(now)
        if options.sack:
            options = options._replace(sack=tuple((left & MASK, right & MASK)
                                                  for left, right in options.sack))
        if ack is None:
            ack = self.rcv_nxt if flags & ACK else 0
        window = self._window_field() if not flags & RST or flags & ACK else 0
        if flags & ACK and self.unacked_segs:
            self._ack_sent()              # it acknowledges data: no delayed ACK is due
        if payload and now - self.lrcvtime < self.ato:
            # tcp_event_data_sent(): data within the ACK timeout of the last arrival is a
            # reply: the connection becomes interactive (inet_csk_inc_pingpong_cnt())
            self.pingpong += 1
        seg = Segment(self.tuple.local_port, self.tuple.remote_port, seq & MASK, ack & MASK,
                      FLAG_VALUES[flags], window, options, payload)
        if self._out:                 # _push(), without a call on the busiest path
            self._out.append(Out(seg, reason, rfc))
        else:
            self._out = [Out(seg, reason, rfc)]
        self.segs_out += 1
        if payload:
            self.data_segs_out += 1
            self.bytes_sent += len(payload)

    def _send_ack(self, reason: SendCause, rfc: str = "RFC 9293 §3.10.7.4") -> None:
        self._emit(ACK, self.snd_nxt, reason=reason, rfc=rfc)

    def _send_rst_for(self, seg: Segment, reason: Reason, rfc: str) -> None:
        """<SEQ=SEG.ACK><CTL=RST> — the reply to an unacceptable ACK (RFC 9293 §3.10.7.3)."""
        self._emit(RST, self.seg_ack, reason=reason, rfc=rfc, options=NO_OPTIONS, ack=0)

    def _arm_rto(self, now: float) -> None:
        self.timers["rto"] = now + self.rto

    # ----------------------------------------------------------- user calls
    def send(self, data: bytes, now: float, more: bool = False) -> int:
        """Queue application data; returns how many bytes fit in the send buffer. ``more``
        is MSG_MORE: no push mark at the end of this write."""
        self._now = now
        room = self.cfg.sndbuf - len(self.sndq)
        if room <= 0:
            return 0
        chunk = bytes(data[:room])
        if self.snd_una == self.snd_max and self.state.synchronized and self.cwnd:
            self._restart_after_idle(now)
        start = self.snd_una + len(self.sndq)
        self.sndq += chunk
        # only MSG_MORE withholds the push mark; TCP_CORK holds segments back but the end of
        # each write is still marked (Linux tcp_push(): "if (!(flags & MSG_MORE) ...)
        # tcp_mark_push()"), so the uncorked segment carries PSH
        self._mark_writes(start, start + len(chunk), more)
        self._output(now, cork=more)
        return len(chunk)

    def close(self, now: float, linger_zero: bool = False) -> None:
        """close(): RFC 9293 §3.10.4. Unread received data → RST instead (Linux tcp_close,
        RFC 2525 §2.17); so does SO_LINGER with a zero timeout (``linger_zero``)."""
        self._now = now
        self.orphan = True
        st = self.state
        if st in (CLOSED, LISTEN):
            if st is LISTEN:
                self._set_state(CLOSED)
            return
        if st is SYN_SENT:
            self._set_state(CLOSED, StateCause.CLOSE_BEFORE_HANDSHAKE)
            return
        if self.rcvq and st in (ESTABLISHED, CLOSE_WAIT, SYN_RECEIVED):
            self.abort(now, StateCause.CLOSE_UNREAD)
            return
        if linger_zero:     # tcp_close(): checked after unread data -> tcp_disconnect()
            self.abort(now, StateCause.CLOSE_LINGER_ZERO)
            return
        self.shutdown_write(now)

    def shutdown_write(self, now: float) -> None:
        """shutdown(SHUT_WR): queue a FIN after the data already queued (RFC 9293 §3.10.4)."""
        self._now = now
        if self.fin_queued:
            return
        if self.state in (SYN_RECEIVED, ESTABLISHED):
            self.fin_queued = True
            self._set_state(FIN_WAIT_1)
        elif self.state is CLOSE_WAIT:
            self.fin_queued = True
            self._set_state(LAST_ACK)
        else:
            return
        self._output(now)

    def drop_request(self, now: float, reason: Reason) -> None:
        """A listener's request (passive SYN-RECEIVED) vanishes without a segment of its own
        (Linux inet_csk_reqsk_queue_drop); the caller sent whatever reset was due."""
        self._now = now
        if self.passive and self.state is SYN_RECEIVED:
            self._set_state(LISTEN, reason)

    def abort(self, now: float, reason: Reason = StateCause.ABORT) -> None:
        """Send <SEQ=SND.NXT><CTL=RST,ACK> and drop the TCB (RFC 9293 §3.10.5; Linux
        tcp_send_active_reset)."""
        self._now = now
        if self.state in (SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1,
                          FIN_WAIT_2, CLOSE_WAIT):
            # Linux tcp_send_active_reset() sends it through tcp_transmit_skb(): the
            # connection's options (timestamps) and its current window, like any segment
            self._emit(RST | ACK, self.snd_nxt, reason=reason, rfc="RFC 9293 §3.10.5; Linux "
                       "tcp_send_active_reset()")
        if self.state is not CLOSED:
            self._set_state(CLOSED, reason)

    # ------------------------------------------------------------ arrivals
    def receive(self, seg: Segment, now: float) -> None:
        """Process one arriving segment (RFC 9293 §3.10.7)."""
        self._now = now
        self.segs_in += 1
        if seg.payload:
            self.data_segs_in += 1
        st = self.state
        if st is CLOSED or st is LISTEN:
            return
        # RFC 9293 §3.3.1's current segment variables SEG.SEQ and SEG.ACK, in TCB space: the
        # header fields unwrapped (simtcp.seq `unwrap`) against the values Linux
        # compares them with first: SEG.SEQ against RCV.NXT (tcp_sequence()), SEG.ACK against
        # SND.UNA (tcp_ack(): before(ack, prior_snd_una)). In SYN-SENT, SEG.SEQ is the SYN's
        # own number, which becomes the IRS. SACK blocks stay 32-bit in the options:
        # `_note_sack` unwraps them against SND.UNA too. The helpers read these two, and the
        # rest of the segment from ``seg``.
        self.seg_ack = unwrap(seg.ack, self.snd_una)
        if st is SYN_SENT:
            self.seg_seq = int(seg.seq)
            self._receive_syn_sent(seg, now)
            return
        self.seg_seq = unwrap(seg.seq, self.rcv_nxt)
        self._receive_other(seg, now)

    def _receive_other(self, seg: Segment, now: float) -> None:
        f = int(seg.flags)
        st = self.state
        # SYN-RECEIVED seeing its SYN again: resend the SYN,ACK (Linux tcp_check_req)
        if st is SYN_RECEIVED and f & SYN and not f & ACK and self.seg_seq == self.irs:
            self._send_synack(now, SendCause.DUPLICATE_SYN, "Linux tcp_check_req()")
            return
        # simultaneous open, RFC 9293 Figure 8 line 6: the peer's SYN,ACK repeats the SYN we
        # already took; treat it as the ACK of our SYN (Linux tcp_validate_incoming)
        dup_syn = (st is SYN_RECEIVED and not self.passive and f & SYN and f & ACK
                   and self.seg_seq == self.irs and self.seg_ack == self.snd_nxt)
        if dup_syn:
            self.seg_seq += 1
            seg = seg.replace(seq=(seg.seq + 1) & MASK, flags=f & ~SYN)
            f = int(seg.flags)
        if st is TIME_WAIT:
            self._receive_time_wait(seg, now)
            return
        # first: sequence number
        if not self._acceptable(seg):
            if not f & RST and not self._oow_limited(seg, now):
                self._send_dupack(seg, now)
            return
        embryonic = st is SYN_RECEIVED and self.passive
        if embryonic and f & (RST | SYN):
            # Linux tcp_check_req(): a request dies on any in-window RST or new SYN (no RFC
            # 5961 challenge for requests); a SYN is answered with a reset
            if not f & RST:
                rst = reset_for(seg)
                self._push(rst, SendCause.SYN_IN_SYN_RECEIVED_RESET, "Linux tcp_check_req()")
            self._set_state(LISTEN, StateCause.RST_IN_SYN_RECEIVED if f & RST
                            else StateCause.SYN_IN_SYN_RECEIVED)
            return
        # second: RST (RFC 5961 §3.2: only an exact match resets)
        if f & RST:
            if self.seg_seq != self.rcv_nxt:
                if not self._oow_limited(seg, now) and self._challenge_allowed(now):
                    self._send_ack(SendCause.CHALLENGE_ACK_RST, "RFC 5961 §3.2")
                return
            if st is SYN_RECEIVED:          # (active open: simultaneous open refused)
                self.error = _errno.ECONNREFUSED
                self._set_state(CLOSED, StateCause.REFUSED)
                return
            if st in (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT):
                self.error = _errno.ECONNRESET
            self._set_state(CLOSED, StateCause.RESET_BY_PEER)
            return
        # fourth: SYN in a synchronized state (RFC 5961 §4)
        if f & SYN:
            if self._oow_limited(seg, now):
                return
            if self._challenge_allowed(now):
                self._send_ack(SendCause.CHALLENGE_ACK_SYN, "RFC 5961 §4")
            return
        # fifth: ACK
        if not f & ACK:
            return
        self._update_ts_recent(seg, now)
        if st is SYN_RECEIVED:
            if self.snd_una < self.seg_ack <= self.snd_nxt:
                self._our_syn_acked(seg, seg.window << self.snd_wscale, now)
                st = self.state
                if dup_syn:
                    # its SYN is a duplicate of the one we took: tcp_data_queue() ACKs it at
                    # once with a D-SACK for it (RFC 2883; tcp_dsack_set())
                    if self.sack_ok:
                        self._send_dsack(self.irs, self.irs + 1, now)
                    else:
                        self._send_ack(SendCause.DUPLICATE_DATA, "RFC 9293 §3.10.7.4")
            else:
                self._send_rst_for(seg, SendCause.UNACCEPTABLE_ACK_SYN_RECEIVED, "RFC 9293 §3.10.7.4")
                return
        if not self._process_ack(seg, now):
            return
        st = self.state
        if st is CLOSED:
            return
        # seventh: segment text
        if seg.payload:
            if st in (ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2):
                if (self.orphan and st in (FIN_WAIT_1, FIN_WAIT_2)
                        and self.seg_seq + len(seg.payload) > self.rcv_nxt):
                    # new data for a closed socket: Linux tcp_rcv_state_process() calls
                    # tcp_reset() and returns 1, so tcp_v4_do_rcv() answers the segment
                    # itself with tcp_v4_send_reset(): <SEQ=SEG.ACK><CTL=RST> (RFC 1122
                    # §4.2.2.13: "MUST send a reset")
                    self._push(reset_for(seg), StateCause.DATA_AFTER_CLOSE,
                               "RFC 1122 §4.2.2.13; Linux tcp_rcv_state_process()")
                    self._set_state(CLOSED, StateCause.DATA_AFTER_CLOSE)
                    return
                self._receive_data(seg, now)
        # eighth: FIN
        if f & FIN:
            self.peer_fin_seq = self.seg_seq + len(seg.payload)
        if self.peer_fin_seq is not None and self.peer_fin_seq == self.rcv_nxt and not self.eof:
            self._receive_fin(now)
        # what the ACK let go: Linux tcp_data_snd_check() runs the output engine only when
        # something waits to be sent (tcp_send_head(): unsent data, or our queued FIN)
        if len(self.sndq) > self.snd_nxt - self.snd_una or (self.fin_queued
                                                             and self.fin_seq is None):
            self._output(now)

    # -------------------------------------------------------- introspection
    def info(self, now: Optional[float] = None):
        """TCP_INFO: a `tcpinfo.TcpInfo` snapshot (what ``ss -ti`` shows)."""
        from .tcpinfo import tcp_info
        return tcp_info(self, now)

    def tcb(self) -> dict:
        """The TCB variables of RFC 9293 §3.3.1, as the 32-bit values segments carry."""
        return {"state": self.state.value, "snd_una": self.snd_una & MASK,
                "snd_nxt": self.snd_nxt & MASK, "snd_wnd": self.snd_wnd,
                "rcv_nxt": self.rcv_nxt & MASK, "rcv_wnd": self.rcv_wnd,
                "iss": self.iss, "irs": self.irs, "cwnd": self.cwnd,
                "rto": self.rto, "srtt": self.srtt}
