"""Opening a connection: the three-way handshake for one endpoint (RFC 9293 §3.5).

Theory of operation: `Opener` is the part of `tcp.Connection` that runs before the
connection is synchronized. An active open (`open_active`, connect()) sends a SYN and waits
in SYN-SENT; `_receive_syn_sent` takes the peer's SYN-ACK (or its SYN: a simultaneous open)
and reaches ESTABLISHED. A passive open arrives already decided by the listener
(`simtcp.listener`): `accept_syn` makes a child in SYN-RECEIVED that answers with a SYN-ACK,
and `establish_from_cookie` rebuilds a connection straight from a valid SYN-cookie ACK. The
options each side offers and what they negotiate come from `tcpconfig` (Linux
tcp_syn_options()/tcp_synack_options(), tcp_parse_options()); the third segment of the
handshake and everything after it is `Connection._receive_other`'s.

It is a mixin: it reads and writes the connection's fields and calls its `_emit`, `_push`,
`_set_state` and timers, like `tcprecv.Receiver` and `tcpsend.Sender`.
"""
from __future__ import annotations

import errno as _errno
from typing import Optional

from .reasons import SendCause, StateCause
from .segment import FLAG_VALUES, Options, Segment
from .seq import MASK, SEQ_ZERO, wire
from .states import CLOSED, ESTABLISHED, LISTEN, SYN_RECEIVED, SYN_SENT
from .tcpconfig import (ACK, RST, SYN, TS_OPTION_LEN, Negotiated, initial_window, negotiate,
                        synack_options)


class Opener:
    """The handshake half of `tcp.Connection` (see the module docstring)."""

    # no slots of its own, like the other mixins: without this line every Connection also
    # carried room for a __dict__ and weak references (16 bytes; and a stray attribute
    # set by mistake went unnoticed)
    __slots__ = ()

    def _syn_options(self, now: float, peer: Optional[Options] = None) -> Options:
        """Linux order: MSS, SACK-permitted, Timestamps, NOP, window scale (tcp_output.c)."""
        cfg = self.cfg
        if peer is None:  # our own SYN: offer everything enabled
            return Options(mss=cfg.mss, sack_perm=cfg.sack,
                           ts=(self._tsval(now), 0) if cfg.timestamps else None,
                           wscale=cfg.wscale if cfg.window_scaling else None)
        n = Negotiated(self.snd_mss, self.snd_wscale, self.rcv_wscale, self.sack_ok, self.ts_ok)
        return synack_options(cfg, n, peer, self._tsval(now))

    def _negotiate(self, peer: Options) -> None:
        self.peer_mss_opt = peer.mss
        (self.snd_mss, self.snd_wscale, self.rcv_wscale, self.sack_ok,
         self.ts_ok) = negotiate(self.cfg, peer)
        # eff_mss, the payload bytes per segment (Linux mss_cache), changes only here: the
        # peer's MSS less the timestamp option (tcp_sync_mss() -> tcp_current_mss())
        self.eff_mss = self.snd_mss - (TS_OPTION_LEN if self.ts_ok else 0)
        if self.ts_ok:
            self.ts_recent = peer.ts[0]

    def open_active(self, now: float) -> None:
        """connect(): CLOSED → SYN-SENT, send <SEQ=ISS><CTL=SYN> (RFC 9293 §3.10.1)."""
        self._now = now
        self.syn_options = self._syn_options(now)
        self.rcv_wscale = self.syn_options.wscale or 0     # the shift our SYN offers (or none)
        self._set_state(SYN_SENT)
        self.first_tx = now
        self._send_syn(now, SendCause.ACTIVE_OPEN)

    def _send_syn(self, now: float, reason: SendCause) -> None:
        seg = Segment(self.tuple.local_port, self.tuple.remote_port, wire(self.iss), SEQ_ZERO,
                      FLAG_VALUES[SYN], self.cfg.syn_window, self.syn_options)
        self._push(seg, reason, "RFC 9293 §3.10.1")
        self.segs_out += 1
        self.snd_nxt = self.snd_max = self.iss + 1
        self._arm_rto(now)

    def accept_syn(self, syn: Segment, now: float, options: Optional[Options] = None) -> None:
        """A listener's child: LISTEN → SYN-RECEIVED, send SYN,ACK (RFC 9293 §3.10.7.2).

        ``options`` overrides what the SYN-ACK carries (SYN cookies encode state in TSval).
        """
        self._now = now
        self.passive = True
        self.state = LISTEN      # inherited from the listening socket
        self.segs_in += 1              # the SYN
        self.irs = int(syn.seq)        # the base of the receive sequence space (simtcp.seq)
        self.rcv_nxt = self.irs + 1
        self._negotiate(syn.options)
        # the request's window (tcp_openreq_init_rwin): our advertised MSS less the TS option
        self.rcv_ssthresh = initial_window(self.cfg, self.ts_ok)
        self._set_state(SYN_RECEIVED)
        self.first_tx = now
        self.syn_options = options or self._syn_options(now, syn.options)
        self._send_synack(now, SendCause.SYNACK)

    def _send_synack(self, now: float, reason: SendCause, rfc: str = "RFC 9293 §3.10.7.2") -> None:
        seg = Segment(self.tuple.local_port, self.tuple.remote_port, wire(self.iss),
                      wire(self.rcv_nxt), FLAG_VALUES[SYN | ACK],
                      initial_window(self.cfg, self.ts_ok), self.syn_options)
        self.rcv_adv = self.rcv_nxt + seg.window
        self.rcv_wup = self.rcv_nxt
        self._push(seg, reason, rfc)
        if not self.passive:          # a listener's SYN-ACK comes from the request socket
            self.segs_out += 1
        self.snd_nxt = self.snd_max = self.iss + 1
        self._arm_rto(now)

    def establish_from_cookie(self, ack_seg: Segment, syn_opts: Options, now: float) -> None:
        """Create the connection straight from a valid SYN-cookie ACK (Linux cookie_v4_check):
        no SYN-RECEIVED state was kept, so the TCB is rebuilt from the ACK and the cookie."""
        self._now = now
        self.passive = True
        self.from_cookie = True
        self.state = LISTEN
        self.irs = (ack_seg.seq - 1) & MASK     # the SYN's sequence number, below 2**32
        self.rcv_nxt = self.irs + 1
        self._negotiate(syn_opts)
        self.rcv_ssthresh = initial_window(self.cfg, self.ts_ok)
        self.snd_una = self.snd_nxt = self.snd_max = self.iss + 1    # SEG.ACK (the cookie + 1)
        self.snd_wnd = self.max_window = ack_seg.window << self.snd_wscale
        self.snd_wl1, self.snd_wl2 = self.rcv_nxt, self.snd_una
        self.rcv_adv = self.rcv_nxt + initial_window(self.cfg, self.ts_ok)
        self.rcv_wup = self.rcv_nxt
        self.cwnd = self.cfg.init_cwnd * self.eff_mss
        self._set_state(SYN_RECEIVED, StateCause.COOKIE_ACK)
        self._set_state(ESTABLISHED, StateCause.COOKIE_ESTABLISHED)

    # --------------------------------------------------------- SYN-SENT input
    def _receive_syn_sent(self, seg: Segment, now: float) -> None:
        f = int(seg.flags)
        if f & ACK and (self.seg_ack <= self.iss or self.seg_ack > self.snd_nxt):
            if not f & RST:
                self._send_rst_for(seg, SendCause.UNACCEPTABLE_ACK_SYN_SENT, "RFC 9293 §3.10.7.3")
            return
        if f & RST:
            if f & ACK:
                self.error = _errno.ECONNREFUSED
                self._set_state(CLOSED, StateCause.REFUSED)
            return
        if not f & SYN:
            return
        self.irs = self.seg_seq
        self.rcv_nxt = self.seg_seq + 1
        self._negotiate(seg.options)
        if f & ACK:
            self.rcv_adv = self.rcv_nxt + self.cfg.syn_window   # the window our SYN offered
            self.rcv_wup = self.rcv_nxt    # tcp_rcv_synsent_state_process()
            self._our_syn_acked(seg, seg.window, now)  # a SYN's window is never scaled (RFC 7323 §2.2)
            self._send_ack(SendCause.HANDSHAKE_ACK, "RFC 9293 §3.10.7.3")
            self._output(now)
        else:
            # simultaneous open: <SEQ=ISS><ACK=RCV.NXT><CTL=SYN,ACK>
            self._set_state(SYN_RECEIVED)
            self.syn_options = self._syn_options(now, seg.options)
            self._send_synack(now, SendCause.SIMULTANEOUS_OPEN, "RFC 9293 §3.10.7.3")

    def _our_syn_acked(self, seg: Segment, window: int, now: float) -> None:
        """The peer acknowledged our SYN: ESTABLISHED. The handshake gives the first RTT
        sample unless the SYN was retransmitted (Karn); IW10 starts the congestion window."""
        self.snd_una = self.seg_ack
        self.snd_wnd = self.max_window = window
        self.snd_wl1, self.snd_wl2 = self.seg_seq, self.seg_ack
        self.timers.pop("rto", None)
        if self.retries == 0:
            self._rtt_sample(now - self.first_tx)
        else:
            self.rto = self.cfg.rto_initial
        self.retries = 0
        self.cwnd = self.cfg.init_cwnd * self.eff_mss
        self._set_state(ESTABLISHED)
