"""The window a TCP receiver offers, and the receive memory behind it, as Linux runs them.

Theory of operation: `ReceiveWindow` is a mixin of `tcp.Connection` (through
`tcprecv.Receiver`); the memory itself is a `rcvbuf.RcvBuf` (``self.rb``). Linux offers a
window in three layers (net/ipv4/tcp_input.c, tcp_output.c, include/net/tcp.h):

* ``window_clamp`` — the largest window the buffer could ever fill: tcp_win_from_space() of
  sk_rcvbuf, less one segment kept back for the application (tcp_init_buffer_space(), at
  the end of the handshake); re-derived whenever a new payload/truesize ratio is measured
  (tcp_measure_rcv_mss() -> tcp_set_window_clamp()) and raised by receive-buffer
  autotuning (tcp_rcvbuf_grow()).
* ``rcv_ssthresh`` — a slow-start for the window: it starts at the first window offered
  and grows by two segments for every segment that arrives while the window clamp and
  the free memory leave room (tcp_grow_window()), so a sender that fills the buffer with
  badly packed segments cannot make us promise memory we do not have.
* the free memory (tcp_space()) — the window is min(free, rcv_ssthresh), 0 once less than
  half the buffer is free and what is left is small (__tcp_select_window()), and never
  less than what was already offered (tcp_select_window()).

Autotuning (Dynamic Right-Sizing): the receiver estimates the RTT (per window of data,
tcp_rcv_rtt_measure(), or from timestamps, tcp_rcv_rtt_measure_ts()); each read checks
how much the application consumed in the last RTT (tcp_rcv_space_adjust()) and, when it
grew, grows sk_rcvbuf (tcp_rcvbuf_grow(); net.ipv4.tcp_moderate_rcvbuf, never for a
buffer SO_RCVBUF locked). A segment that finds the memory full first makes the buffer
grow to what is allocated (tcp_clamp_window()), then the queue is compacted
(tcp_collapse()), then out-of-order data is pruned (tcp_prune_ofo_queue()); only then is
it dropped and a zero window advertised (ICSK_ACK_NOMEM).
"""
from __future__ import annotations

from .rcvbuf import SOCK_MIN_RCVBUF, TCP_INIT_CWND, alloc_skb
from .reasons import EventKind
from .segment import Flags, Segment

TS_OPTION_LEN = 12                 # NOP,NOP,TS (TCPOLEN_TSTAMP_ALIGNED)
TCP_MIN_RCVMSS = 536               # include/net/tcp.h
TCP_MIN_MSS = 88
REMNANT = int(Flags.FIN | Flags.URG | Flags.SYN | Flags.PSH)   # TCP_REMNANT
NO_ROOM, SLOW_PATH, FAST_PATH = 0, 1, 2      # how _rmem_schedule() found room
PLAIN = int(Flags.FIN | Flags.URG | Flags.SYN | Flags.RST | Flags.ACK)  # TCP_HP_BITS, but PSH
SKB_MAX_ORDER0 = 4096 - 320        # SKB_MAX_ORDER(0, 0): payload of a collapsed skb


class ReceiveWindow:
    """Window selection and receive-memory accounting for `tcp.Connection`."""

    __slots__ = ()

    def _advmss(self) -> int:
        """tp->advmss: the MSS we announced, less the timestamp option once agreed
        (tcp_rcv_synsent_state_process() / tcp_create_openreq_child())."""
        return self.cfg.mss - (TS_OPTION_LEN if self.ts_ok else 0)

    def _tp_rcv_wnd(self) -> int:
        """tp->rcv_wnd: the window offered with the last ACK (from rcv_wup; never negative:
        rcv_wup and rcv_adv are set together, from RCV.NXT and RCV.NXT + that window)."""
        return self.rcv_adv - self.rcv_wup

    # ------------------------------------------------------------ the handshake
    def _init_buffer_space(self) -> None:
        """tcp_init_buffer_space() (at ESTABLISHED): the window clamp becomes the window
        the buffer allows, less 1/2^tcp_app_win of it (at least 4 segments kept) and less
        one segment reserved for the application; rcv_ssthresh is clamped to it and DRS
        starts measuring with rcvq_space = min(rcv_ssthresh, rcv_wnd, 10 segments)."""
        rb = self.rb
        # tcp_select_initial_window(): no larger than the window field can carry
        rb.window_clamp = min(rb.window_clamp, 0xFFFF << self.rcv_wscale)
        advmss = self._advmss()
        maxwin = rb.full_space
        app = self.cfg.app_win
        if rb.window_clamp >= maxwin:
            rb.window_clamp = maxwin
            if app and maxwin > 4 * advmss:
                rb.window_clamp = max(maxwin - (maxwin >> app), 4 * advmss)
        if app and rb.window_clamp > 2 * advmss and rb.window_clamp + advmss > maxwin:
            rb.window_clamp = max(2 * advmss, maxwin - advmss)
        self.rcv_ssthresh = min(self.rcv_ssthresh, rb.window_clamp)
        rb.mstamp = self._now
        rb.space = min(self.rcv_ssthresh, self._tp_rcv_wnd() or self.rcv_ssthresh,
                       TCP_INIT_CWND * advmss)
        rb.space_time = self._now
        rb.space_seq = self.rcv_nxt - len(self.rcvq)
        rb.fast = True                           # tcp_fast_path_on()

    def _set_window_clamp(self, val: int) -> None:
        """tcp_set_window_clamp() (net/ipv4/tcp.c): a smaller clamp pulls rcv_ssthresh
        down; a larger one lets it rise to the window last offered."""
        rb = self.rb
        new = max(SOCK_MIN_RCVBUF // 2, val)
        old = rb.window_clamp
        if new == old:
            return
        rb.window_clamp = new
        if new < old:
            self.rcv_ssthresh = min(self.rcv_ssthresh, new)
        else:
            self.rcv_ssthresh = max(min(self._tp_rcv_wnd(), new), self.rcv_ssthresh)

    def _window_field(self) -> int:
        """The window field, as Linux tcp_select_window() (net/ipv4/tcp_output.c) picks it:
        __tcp_select_window()'s window, but never less than the window already offered
        (RFC 9293 §3.8.6.2.1; rounded up to a multiple of 2^wscale so it is not scaled
        away), and 0 after a segment was dropped for lack of memory (ICSK_ACK_NOMEM).
        tp->rcv_wnd (``rcv_adv - rcv_wup``) keeps the unscaled value."""
        ws = self.rcv_wscale
        rb = self.rb
        if rb.nomem:
            wnd = 0
        else:
            wnd = self._select_window()
            edge = self.rcv_adv - self.rcv_nxt           # tcp_receive_window()
            if edge > wnd:
                wnd = -(-edge // (1 << ws)) << ws
        if not wnd:
            rb.fast = False                      # a zero window: no header prediction
        self.rcv_wup = self.rcv_nxt        # Last.ACK.sent
        self.rcv_adv = self.rcv_nxt + wnd
        self.last_rcv_wnd = wnd
        return min(wnd >> ws, 0xFFFF)

    def _select_window(self) -> int:
        """Linux __tcp_select_window() (net/ipv4/tcp_output.c): the window the receive
        memory allows now. The free space is tcp_space() (memory, scaled by
        tcp_win_from_space()); once less than half of min(window_clamp, tcp_full_space())
        is free the quick-ACK budget is cleared and the window is 0 if what is left is under
        one rcv_mss or 1/16 of the buffer (receiver SWS avoidance, RFC 9293 §3.8.6.2.2);
        it is at most rcv_ssthresh. With window scaling it is rounded up to a multiple of
        2^wscale; without, to whole rcv_mss, keeping the window offered when within one
        rcv_mss of the free space."""
        rb = self.rb
        ws = self.rcv_wscale
        mss = self.rcv_mss
        free = rb.space_left
        allowed = rb.full_space
        full = min(rb.window_clamp, allowed)
        if mss > full:
            mss = full
            if mss <= 0:
                return 0
        if free < full >> 1:
            self.quickacks = 0                   # icsk_ack.quick = 0
            free = free >> ws << ws
            if free < allowed >> 4 or free < mss:
                return 0
        if free > self.rcv_ssthresh:
            free = self.rcv_ssthresh
        if ws:
            return -(-free >> ws) << ws          # ALIGN(free, 1 << wscale)
        window = self.rcv_adv - self.rcv_wup         # tp->rcv_wnd
        if window <= free - mss or window > free:
            window = free // mss * mss
        elif mss == full and free > window + (full >> 1):
            window = free
        return window

    # ------------------------------------------------------------ arrivals
    def _measure_rcv_mss(self, seg: Segment, length: int, truesize: int) -> None:
        """tcp_measure_rcv_mss(): a segment at least as long as rcv_mss sets it (at most
        advmss) and, when longer, re-measures scaling_ratio = payload * 256 / truesize —
        which moves the window clamp (tcp_set_window_clamp()). A shorter one sets rcv_mss
        when two in a row without PSH/FIN have the same size; otherwise it marks a pushed
        segment for the delayed-ACK engine (ICSK_ACK_PUSHED, then PUSHED2)."""
        rb = self.rb
        lss = rb.last_seg_size
        rb.last_seg_size = 0
        if length >= self.rcv_mss:
            if length != self.rcv_mss and rb.adv_win_scale is None:
                ratio = ((length << 8) // truesize) or 1
                if ratio != rb.ratio:
                    rb.ratio = ratio
                    self._set_window_clamp(rb.win_from_space(rb.rcvbuf))
                    if rb.window_clamp < rb.space:
                        rb.space = rb.window_clamp
            self.rcv_mss = min(length, self._advmss())
            return
        full = length + 20 + seg.options.known_length()
        if full >= TCP_MIN_RCVMSS + 20 or (full >= TCP_MIN_MSS + 20
                                           and not int(seg.flags) & REMNANT):
            est = full - 20 - (TS_OPTION_LEN if self.ts_ok else 0)
            rb.last_seg_size = est
            if est == lss:
                self.rcv_mss = est
                return
        self.ack_pushed = 2 if self.ack_pushed else 1

    def _grow_window(self, length: int, truesize: int) -> None:
        """tcp_grow_window(): while the window clamp and the free memory leave room above
        rcv_ssthresh, a segment whose payload fills its memory well enough
        (tcp_win_from_space(truesize) <= len, or the halving test of __tcp_grow_window()
        for smaller ones) raises rcv_ssthresh by max(2 * advmss, 2 * len), and asks for a
        quick ACK so the sender learns the larger window."""
        rb = self.rb
        room = min(rb.window_clamp, rb.space_left) - self.rcv_ssthresh
        if room <= 0:
            return
        win = rb.win_from_space(truesize)
        incr = 0
        if win <= length:
            incr = 2 * self._advmss()
        else:
            half, window = win >> 1, rb.win_from_space(self.cfg.rmem_limit) >> 1
            while self.rcv_ssthresh <= window:
                if half <= length:
                    incr = 2 * self.rcv_mss
                    break
                half >>= 1
                window >>= 1
        if incr:
            self.rcv_ssthresh += min(room, max(incr, 2 * length))
            self.quickacks |= 1                  # icsk_ack.quick |= 1

    def _rcv_rtt_measure(self) -> None:
        """tcp_rcv_rtt_measure(): without timestamps, the receiver's RTT is the time it
        takes a window's worth of data to arrive after we offered it."""
        rb = self.rb
        if rb.rtt_time is not None:
            if self.rcv_nxt < rb.rtt_seq:
                return
            rb.rtt_update(int((rb.mstamp - rb.rtt_time) * 1e6), True, not self.rcvq)
        rb.rtt_seq = self.rcv_nxt + self._tp_rcv_wnd()
        rb.rtt_time = rb.mstamp

    def _rcv_rtt_measure_ts(self, seg: Segment, length: int) -> None:
        """tcp_rcv_rtt_measure_ts(): a full segment echoing a new TSecr measures the RTT as
        our TS clock minus that echo (milliseconds; tcp_rtt_tsopt_us())."""
        ts = seg.options.ts
        if ts is None or not self.ts_ok or not ts[1]:
            return
        rb = self.rb
        if ts[1] == rb.rtt_last_tsecr:
            return
        rb.rtt_last_tsecr = ts[1]
        if length >= self.rcv_mss:
            delta = (self._tsval(rb.mstamp) - ts[1]) & 0xFFFFFFFF
            if 0 < delta < 0x7FFFFFFF // 1000:
                rb.rtt_update(delta * 1000, False, not self.rcvq)

    def _ooo_span(self) -> int:
        """How far the out-of-order queue reaches beyond RCV.NXT (ooo_last_skb)."""
        skbs = self.rb.ooo_skbs
        return max(skbs[-1][1] - self.rcv_nxt, 0) if skbs else 0

    def _rcvbuf_grow(self, newval: int) -> None:
        rb = self.rb
        if rb.rcvbuf_grow(newval, self.cfg.rmem_limit, self.cfg.moderate_rcvbuf,
                          self._ooo_span()):
            self._event(EventKind.RCVBUF_GROWN, "", "Linux tcp_rcvbuf_grow()",
                        (("rcvbuf", rb.rcvbuf), ("window_clamp", rb.window_clamp)))

    def _rcv_space_adjust(self, copied_seq: int) -> None:
        """tcp_rcv_space_adjust() (Linux 6.18), after each copy to the application: once
        per receiver RTT, the bytes the application consumed (read, less what still waits
        in the queue) are compared with the last measurement; more means the buffer
        grows (DRS)."""
        rb = self.rb
        if not rb.rtt_us or (rb.mstamp - rb.space_time) * 1e6 < rb.rtt_us >> 3:
            return
        copied = (copied_seq - rb.space_seq) - (self.rcv_nxt - copied_seq)
        if copied > rb.space:
            self._rcvbuf_grow(copied)
        rb.space_seq = copied_seq
        rb.space_time = rb.mstamp

    # ------------------------------------------------------------ memory pressure
    def _rmem_schedule(self, seg: Segment, seq: int, length: int, truesize: int) -> int:
        """Room for a segment's skb. Header prediction (tcp_rcv_established()'s fast path:
        in order, a plain ACK with the agreed header) only asks that sk_forward_alloc
        covers its truesize; otherwise tcp_try_rmem_schedule(): unless sk_rmem_alloc plus
        its payload fits sk_rcvbuf (tcp_can_ingest()), tcp_prune_queue() grows the buffer
        to the memory allocated (tcp_clamp_window()), compacts the receive queue
        (tcp_collapse()) and prunes out-of-order data beyond ``seq``
        (tcp_prune_ofo_queue()); NO_ROOM if none of it made room. Then whole pages are
        reserved (sk_rmem_schedule()). Returns FAST_PATH, SLOW_PATH or NO_ROOM."""
        rb = self.rb
        if (rb.fast and seq == self.rcv_nxt and truesize <= rb.fwd
                and int(seg.flags) & PLAIN == int(Flags.ACK)
                and seg.options.known_length() == (TS_OPTION_LEN if self.ts_ok else 0)):
            return FAST_PATH
        if rb.rmem + length > rb.rcvbuf:
            if rb.rmem >= rb.rcvbuf:
                self._clamp_window()
            if rb.rmem + length > rb.rcvbuf:
                self._collapse()
            if rb.rmem + length > rb.rcvbuf:
                self._prune_ofo(seq)
            if rb.rmem + length > rb.rcvbuf:
                rb.fast = False
                return NO_ROOM
        rb.schedule(truesize)
        return SLOW_PATH

    def _fast_path_check(self) -> None:
        """tcp_fast_path_check(): header prediction comes back on when nothing waits out of
        order, the window offered is open and the memory is under sk_rcvbuf."""
        rb = self.rb
        if not self.ooo and self._tp_rcv_wnd() and rb.rmem < rb.rcvbuf:
            rb.fast = True

    def _clamp_window(self) -> None:
        """tcp_clamp_window(): the buffer grows to the memory allocated (up to
        tcp_rmem[2], unless SO_RCVBUF locked it); if that is not enough, rcv_ssthresh
        falls to two segments."""
        rb = self.rb
        self.quickacks = 0
        if rb.rcvbuf < self.cfg.rmem_limit and not rb.locked:
            rb.rcvbuf = min(rb.rmem, self.cfg.rmem_limit)
        if rb.rmem > rb.rcvbuf:
            self.rcv_ssthresh = min(rb.window_clamp, 2 * self._advmss())

    def _collapse(self) -> None:
        """tcp_collapse(): the unread in-order data is copied into compact skbs of at most
        SKB_MAX_ORDER(0, 0) bytes (one page less skb_shared_info), each allocated to the
        size it holds (alloc_skb(copy)), freeing the badly packed ones; later small
        segments may then be copied into their tailroom. (Linux starts at the first skb
        whose memory is poorly used; here every unread skb is recopied.)"""
        rb = self.rb
        unread = len(self.rcvq)
        if not unread or not rb.skbs:
            return
        chunks = []
        left = unread
        while left:
            n = min(left, SKB_MAX_ORDER0)
            chunks.append((n,) + alloc_skb(n))
            left -= n
        old = sum(s[1] for s in rb.skbs)
        new = sum(c[1] for c in chunks)
        if new >= old:
            return
        end = self.rcv_nxt - unread
        rb.skbs.clear()
        for n, truesize, usable in chunks:
            end += n
            rb.skbs.append([end, truesize, usable - n])
        rb.charge(new - old)
        self._event(EventKind.RCVBUF_COLLAPSED, "", "Linux tcp_collapse()",
                    (("rmem", rb.rmem),))

    def _prune_ofo(self, seq: int) -> None:
        """tcp_prune_ofo_queue(): drop out-of-order data from the far end, but not below
        the segment being queued (it would land last: pruning stops)."""
        rb, ooo = self.rb, self.ooo
        dropped = 0
        while ooo and rb.rmem > rb.rcvbuf:
            start, nbytes = ooo.last_range()
            if seq > start:
                break
            ooo.pop_last()
            rb.drop_ooo_beyond(start)
            dropped += nbytes
        if dropped:
            self._event(EventKind.OFO_PRUNED, "", "Linux tcp_prune_ofo_queue()",
                        (("bytes", dropped),))
