"""The receiving half of a TCP connection: data in order and out of order, the window we
offer, TS.Recent, the peer's FIN.

Theory of operation: `Receiver` is a mixin of `tcp.Connection` (it uses the connection's TCB
fields), like `tcpsend.Sender` for the sending half. `_receive_data` takes the text of an
acceptable segment (RFC 9293 §3.10.7.4, seventh check): in-order bytes join the receive
queue, out-of-order ones wait in ``ooo`` and are reported in SACK blocks (RFC 2018), old
duplicates are answered with a D-SACK (RFC 2883); ACKs go out at once during quick-ACK mode,
for every second full segment, or after the delayed-ACK timer. `_window_field` is the window
Linux offers (tcp_select_window), `_update_ts_recent` the RFC 7323 §4.3 rule, and
`_receive_fin` the eighth check. `_receive_time_wait` is TIME-WAIT's own, shorter
processing (Linux handles it in a separate mini-socket: tcp_timewait_state_process()), and
`icmp_error` an ICMP error about one of our segments. The delayed-ACK engine is Linux's
icsk_ack: quick ACKs at the start, an ACK timeout (``ato``) that follows the peer's pace,
and ping-pong (interactive) mode, in which ACKs wait to ride on the reply.
"""
from __future__ import annotations

from .segment import Flags, Options, Segment, NO_OPTIONS
from .reasons import EventKind, SendCause, StateCause
from .states import State
from .ooo import OutOfOrderQueue
from .rcvbuf import skb_alloc
from .tcpwindow import FAST_PATH, NO_ROOM, ReceiveWindow

ACK, FIN, SYN, RST = int(Flags.ACK), int(Flags.FIN), int(Flags.SYN), int(Flags.RST)


PINGPONG_THRESH = 1         # net.ipv4.tcp_pingpong_thresh's default (include/net/inet_connection_sock.h)
TCP_DELACK_MAX = 0.2        # include/net/tcp.h: HZ/5 (icsk_delack_max)
ATO_MAX_BULK = 0.5          # tcp_send_delayed_ack(): HZ/2 unless interactive or pushed


class Receiver(ReceiveWindow):
    """Receiving, the offered window and TS.Recent for `tcp.Connection`."""

    __slots__ = ()

    def _acceptable(self, seg: Segment) -> bool:
        """First check of RFC 9293 §3.10.7.4: is any of the segment inside the window?

        Linux's form of the four RFC cases (tcp_sequence()): the segment must not end before
        RCV.NXT and must not start beyond the offered window. It differs from the RFC text
        only at the edges — a retransmitted FIN ending exactly at RCV.NXT is accepted, which
        is what lets TIME-WAIT re-ACK it and restart its timer (RFC 9293 §3.10.7.4, eighth).
        """
        # beyond the window we offered (it ends at RCV.NXT once it closed: never below)
        if self.seg_seq > self.rcv_adv and self.seg_seq > self.rcv_nxt:
            return False
        # (a segment starting at or after RCV.NXT cannot end before it: SEG.LEN is only
        # needed for one that starts earlier, a retransmission)
        return self.seg_seq >= self.rcv_nxt or self.seg_seq + seg.seg_len >= self.rcv_nxt

    def _oow_limited(self, seg: Segment, now: float) -> bool:
        """Linux tcp_oow_rate_limited(): at most one reply per tcp_invalid_ratelimit (500 ms)
        to out-of-window or challenge-worthy segments that carry no data (avoids ACK loops)."""
        return not seg.payload and self._oow_limited_any(now)

    def _challenge_allowed(self, now: float) -> bool:
        """The host-wide RFC 5961 §7 limit (net.ipv4.tcp_challenge_ack_limit), checked after
        the per-socket one as Linux tcp_send_challenge_ack() does."""
        gate = self.cfg.challenge_acks
        return gate is None or gate(now)


    def _data_options(self, now: float) -> Options:
        """The options of a segment after the handshake (Linux tcp_established_options()):
        the timestamps, TSval and TS.Recent echoed (RFC 7323 §3), and SACK blocks while
        data waits out of order (RFC 2018; three beside the timestamps, else four).
        Segments close together carry the same timestamps (TSval is a millisecond clock):
        the last options made with timestamps alone (``ts_options``) serve again until
        TSval or TS.Recent moves."""
        if not self.ts_ok:
            if self.sack_ok and self.ooo:
                return Options(sack=self._sack_blocks(4))
            return NO_OPTIONS
        ts = (self._tsval(now), self.ts_recent)
        if self.sack_ok and self.ooo:
            return Options(ts=ts, sack=self._sack_blocks(3))
        options = self.ts_options
        if options.ts != ts:
            options = self.ts_options = Options(ts=ts)
        return options

    def _sack_blocks(self, limit: int) -> tuple:
        return self.ooo.sack_blocks(limit)

    def _update_ts_recent(self, seg: Segment, now: float) -> None:
        """RFC 7323 §4.3: TS.Recent takes SEG.TSval only from a segment that passed the
        sequence, RST and SYN checks, that starts at or before Last.ACK.sent and whose TSval
        is not older (Linux tcp_ack() -> tcp_replace_ts_recent(): !after(seq, rcv_wup) and
        tcp_paws_check()). An invalid segment's TSval is never echoed."""
        ts = seg.options.ts
        if ts is None or not self.ts_ok or self.seg_seq > self.rcv_wup:
            return
        if ((ts[0] - self.ts_recent) & 0xFFFFFFFF) < 0x80000000:
            self.ts_recent = ts[0]
            self.ts_recent_time = now

    def recv(self, n: int, now: float) -> bytes:
        """The application reads up to ``n`` bytes (Linux tcp_recvmsg_locked()): skb by skb,
        each copy followed by tcp_rcv_space_adjust() (DRS), an skb read to its end freed;
        then tcp_cleanup_rbuf() may send an ACK or a window update."""
        self._now = now
        data = bytes(self.rcvq[:n])
        del self.rcvq[:n]
        if not data and self.eof and n:
            self.eof_read = True
        if not data:
            return data
        rb = self.rb
        copied_seq = self.rcv_nxt - len(self.rcvq)
        cursor = copied_seq - len(data)
        skbs = rb.skbs
        while skbs and cursor < copied_seq:
            end = skbs[0][0]
            if end > copied_seq:                 # read in part: it keeps its memory
                self._rcv_space_adjust(copied_seq)
                break
            self._rcv_space_adjust(end)
            rb.consume(end)
            cursor = end
        if self.state in (State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2):
            self._cleanup_rbuf(len(data))
        return data

    def _cleanup_rbuf(self, copied: int) -> None:
        """After a read (Linux tcp_cleanup_rbuf(), net/ipv4/tcp.c): a delayed ACK goes out
        now if more than one rcv_mss is unacknowledged, or if the read freed all receive
        memory after a small pushed segment (outside interactive mode); otherwise a window
        update goes out when the window now possible is at least twice the one still open
        and that one is at most half the window clamp (receiver SWS avoidance, RFC 9293
        §3.8.6.2.2) — not once the peer's FIN arrived (RCV_SHUTDOWN)."""
        if self.unacked_segs and (
                self.rcv_nxt - self.rcv_wup > self.rcv_mss
                or (copied > 0 and not self.rb.rmem and (self.ack_pushed > 1 or (
                    self.ack_pushed and self.pingpong < PINGPONG_THRESH)))):
            self._send_ack(SendCause.DELAYED_ACK, "Linux tcp_cleanup_rbuf()")
            return
        if copied <= 0 or self.eof:
            return
        now_open = max(self.rcv_adv - self.rcv_nxt, 0)     # tcp_receive_window()
        if 2 * now_open <= self.rb.window_clamp:
            new = self._select_window()
            if new and new >= 2 * now_open:
                self._send_ack(SendCause.WINDOW_UPDATE, "RFC 9293 §3.8.6.2.2; Linux "
                               "tcp_cleanup_rbuf()")

    # ------------------------------------------------------------ delayed ACKs
    def _data_recv_event(self, now: float, seg: Segment, truesize: int) -> None:
        """Linux tcp_event_data_recv() (net/ipv4/tcp_input.c): tcp_measure_rcv_mss() keeps
        the receiver's MSS estimate and payload/truesize ratio, tcp_rcv_rtt_measure() the
        receiver's RTT; the ACK timeout ``ato`` follows the peer's pace; the first data (or
        data after a silence longer than the RTO) grants quick ACKs; a segment of 128 bytes
        or more may open the window further (tcp_grow_window())."""
        length = len(seg.payload)
        self.unacked_segs += 1                   # inet_csk_schedule_ack()
        self._measure_rcv_mss(seg, length, truesize)
        self._rcv_rtt_measure()
        ato_min = self.cfg.delack                # TCP_ATO_MIN = TCP_DELACK_MIN = HZ/25
        if not self.ato:
            self._incr_quickack()
            self.ato = ato_min
        else:
            gap = now - self.lrcvtime
            if gap <= ato_min / 2:
                self.ato = self.ato / 2 + ato_min / 2
            elif gap < self.ato:
                self.ato = min(self.ato / 2 + gap, self.rto)
            elif gap > self.rto:
                self._incr_quickack()
        self.lrcvtime = now
        if length >= 128:
            self._grow_window(length, truesize)

    def _incr_quickack(self) -> None:
        """tcp_incr_quickack(): ACK the next segments at once — as many as half the window
        holds (2 if it holds none), at most TCP_MAX_QUICKACKS (16)."""
        offered = self.rcv_adv - self.rcv_wup         # tp->rcv_wnd: the window last offered
        quick = offered // (2 * self.rcv_mss) or 2
        self.quickacks = max(self.quickacks, min(quick, self.cfg.quickacks))

    def _enter_quickack_mode(self) -> None:
        """tcp_enter_quickack_mode(): out-of-order or duplicate data — ACK at once."""
        self._incr_quickack()
        self.pingpong = 0
        self.ato = self.cfg.delack

    def _ack_sent(self) -> None:
        """tcp_event_ack_sent() -> tcp_dec_quickack_mode(): an ACK of new data used one
        quick ACK; the last one deflates the ACK timeout to TCP_ATO_MIN. The delayed-ACK
        timer stops (inet_csk_clear_xmit_timer(ICSK_TIME_DACK)): it is armed only while
        data waits for an ACK (`_send_delayed_ack`), so only ACKs of new data have one."""
        self.timers.pop("delack", None)
        self.unacked_segs = 0
        self.ack_pushed = 0
        if self.quickacks:
            self.quickacks -= 1
            if not self.quickacks:
                self.ato = self.cfg.delack

    def _ack_snd_check(self, now: float, cause: SendCause, rfc: str, ack_now: bool = False) -> None:
        """Linux __tcp_ack_snd_check(): ACK now when more than one rcv_mss is
        unacknowledged and either the application has read everything (less than
        SO_RCVLOWAT waits) or the window __tcp_select_window() would offer is not smaller
        than the one offered last; in quick-ACK mode (not interactive),
        or when the protocol demands it (a hole filled, out-of-order data); otherwise arm
        the delayed-ACK timer (RFC 9293 §3.8.6.3)."""
        if ((self.rcv_nxt - self.rcv_wup > self.rcv_mss
             and (not self.rcvq or self._select_window() >= self._tp_rcv_wnd()))
                or (self.quickacks and self.pingpong < PINGPONG_THRESH) or ack_now):
            self._send_ack(cause, rfc)
            return
        self._send_delayed_ack(now, cause, rfc)

    def _send_delayed_ack(self, now: float, cause: SendCause, rfc: str) -> None:
        """Linux tcp_send_delayed_ack() (net/ipv4/tcp_output.c): wait ``ato`` — bounded, when
        it grew beyond TCP_DELACK_MIN, by 200 ms for interactive or pushed traffic (else
        500 ms) and by the smoothed RTT — but never past a timer already armed; a timer
        about to fire (within ato/4) is taken as due now."""
        ato = self.ato
        if ato > self.cfg.delack:
            max_ato = TCP_DELACK_MAX if self.pingpong >= PINGPONG_THRESH or self.ack_pushed \
                else ATO_MAX_BULK
            if self.srtt:
                max_ato = min(max_ato, max(self.srtt, self.cfg.delack))
            ato = min(ato, max_ato)
        ato = min(ato, TCP_DELACK_MAX)
        due = now + ato
        armed = self.timers.get("delack")
        if armed is not None:
            if armed <= now + ato / 4:
                self._send_ack(cause, rfc)
                return
            due = min(due, armed)
        if due <= now:
            self._send_ack(cause, rfc)           # ato 0: before any data, e.g. a bare FIN
            return
        self.timers["delack"] = due

    def _delack_timer(self) -> None:
        """Linux tcp_delack_timer_handler(): the delayed ACK was missed. Outside interactive
        mode the timeout doubles (up to the RTO); in it, the connection leaves ping-pong
        mode and the timeout deflates to TCP_ATO_MIN."""
        if self.pingpong < PINGPONG_THRESH:
            self.ato = min(self.ato * 2, self.rto)
        else:
            self.pingpong = 0
            self.ato = self.cfg.delack
        self._send_ack(SendCause.DELAYED_ACK, "RFC 9293 §3.8.6.3")

    def set_quickack(self, on: bool, now: float) -> None:
        """setsockopt(TCP_QUICKACK) (Linux __tcp_sock_set_quickack()): 0 makes the connection
        interactive (delayed ACKs); 1 leaves interactive mode, and a pending ACK is sent
        now if tcp_cleanup_rbuf() finds it due."""
        self._now = now
        if not on:
            self.pingpong = PINGPONG_THRESH
            return
        if self.state in (State.ESTABLISHED, State.CLOSE_WAIT) and self.unacked_segs:
            self.ack_pushed = self.ack_pushed or 1
            self._cleanup_rbuf(1)
        self.pingpong = 0

    def _receive_data(self, seg: Segment, now: float) -> None:
        data = seg.payload
        length = len(data)                # the segment's payload (skb->len)
        start = self.seg_seq
        skip = self.rcv_nxt - start
        if skip > 0:                      # trim what we already have
            data, start = data[skip:], start + skip
        room = self.rcv_adv - start       # the window we offered
        if len(data) > room:              # trim beyond the window
            data = data[:max(room, 0)]
        if not data:
            self._enter_quickack_mode()          # tcp_data_queue(): a duplicate
            if skip > 0 and self.sack_ok:
                self._send_dsack(self.seg_seq, self.seg_seq + min(skip, length), now)
                return
            self._send_ack(SendCause.DUPLICATE_DATA, "RFC 9293 §3.10.7.4")
            return
        rb = self.rb
        rb.mstamp = now                          # tcp_mstamp_refresh()
        # the skb Linux would hold: IP and TCP headers and all of the payload
        ip_len = 40 + seg.options.known_length() + length
        if start != self.rcv_nxt:
            self._store_ooo(start, data, ip_len, seg)
            self._enter_quickack_mode()          # tcp_data_queue_ofo()
            self._send_ack(SendCause.OUT_OF_ORDER, "RFC 5681 §4.2")
            return
        truesize = skb_alloc(ip_len)[0]
        path = self._rmem_schedule(seg, start, length, truesize)
        if path == NO_ROOM:
            # tcp_data_queue(): no memory even after pruning — ACK at once with a zero
            # window (ICSK_ACK_NOMEM | ICSK_ACK_NOW); the data is dropped unless the queue
            # is empty (then it is taken anyway: sk_forced_mem_schedule())
            rb.nomem = True
            if rb.skbs:
                self._event(EventKind.RCVBUF_DROPPED, "", "Linux tcp_data_queue(): "
                            "tcp_try_rmem_schedule() failed", (("bytes", len(data)),))
                self._send_ack(SendCause.ACK_DATA, "Linux tcp_data_queue()")
                return
            rb.schedule(truesize)
        self._rcv_rtt_measure_ts(seg, length)
        self.rcvq += data
        self.rcv_nxt += len(data)
        rb.queue(self.rcv_nxt, length, ip_len)
        self._data_recv_event(now, seg, truesize)
        had_ooo = bool(self.ooo)
        filled = self._drain_ooo()
        if path != FAST_PATH and not rb.fast:
            # tcp_data_queue(), the slow path: header prediction, if off, may come back on
            self._fast_path_check()
        if (int(seg.flags) & FIN and self.seg_seq + length == self.rcv_nxt) or \
                (self.peer_fin_seq is not None and self.peer_fin_seq == self.rcv_nxt):
            return  # the FIN is next in order: its ACK (eighth step) covers this data too
        # a filled hole is ACKed at once (RFC 5681 §4.2; tcp_data_queue(): ICSK_ACK_NOW),
        # and so is data while holes remain (the SACK blocks change)
        self._ack_snd_check(now, SendCause.ACK_DATA, "RFC 9293 §3.10.7.4",
                            ack_now=(filled and had_ooo) or bool(self.ooo))

    def _send_dupack(self, seg: Segment, now: float) -> None:
        """The reply to a segment that failed the sequence check (RFC 9293 §3.10.7.4: an
        ACK). Linux tcp_send_dupack(): when it carries data starting before RCV.NXT — an old
        duplicate — quick-ACK mode begins and, with SACK, the ACK names the duplicate (up
        to RCV.NXT) in a D-SACK block (tcp_dsack_set())."""
        if seg.seg_len and self.seg_seq < self.rcv_nxt:
            self._enter_quickack_mode()
            if self.sack_ok:
                self._send_dsack(self.seg_seq, min(self.seg_seq + seg.seg_len, self.rcv_nxt), now)
                return
        self._send_ack(SendCause.UNACCEPTABLE, "RFC 9293 §3.10.7.4")

    def _send_dsack(self, left: int, right: int, now: float) -> None:
        """ACK with a D-SACK (RFC 2883): the first SACK block reports the duplicate itself,
        so the sender learns its retransmission was unnecessary (Linux tcp_dsack_set())."""
        opts = self._data_options(now)
        self._emit(ACK, self.snd_nxt, reason=SendCause.DSACK, rfc="RFC 2883 §4",
                   options=opts._replace(sack=((left, right),) + opts.sack[:2]))

    def _store_ooo(self, start: int, data: bytes, ip_len: int, seg: Segment) -> None:
        """tcp_data_queue_ofo(): out-of-order data is charged its skb's memory (none when
        every byte is held already); with SACK, a new skb may open the window
        (tcp_grow_window()), and the buffer may grow to cover what waits out of order
        (tcp_rcvbuf_grow(), not for an orphaned socket)."""
        rb = self.rb
        rb.fast = False                          # tp->pred_flags = 0
        if self._rmem_schedule(seg, start, len(seg.payload), skb_alloc(ip_len)[0]) == NO_ROOM:
            self._event(EventKind.RCVBUF_DROPPED, "", "Linux tcp_data_queue_ofo(): "
                        "tcp_try_rmem_schedule() failed", (("bytes", len(data)),))
            return
        if self.ooo is None:
            self.ooo = OutOfOrderQueue()         # the connection's first out-of-order data
        if self.ooo.insert(start, data):
            before = rb.rmem
            truesize = rb.queue_ooo(start, start + len(data), ip_len)
            if self.sack_ok and rb.rmem != before:
                self._grow_window(len(seg.payload), truesize)
        if not self.orphan:
            self._rcvbuf_grow(rb.space)

    def _drain_ooo(self) -> bool:
        old = self.rcv_nxt
        data = self.ooo.take_in_order(self.rcv_nxt) if self.ooo else b""
        if data:
            self.rcvq += data
            self.rcv_nxt += len(data)
        if self.rb.ooo_skbs:
            self.rb.ooo_to_queue(old, self.rcv_nxt)
        return bool(data)

    def _receive_fin(self, now: float) -> None:
        """Eighth check: the peer's FIN is in order (RFC 9293 §3.10.7.4)."""
        self.rcv_nxt += 1
        self.eof = True
        st = self.state
        if st in (State.SYN_RECEIVED, State.ESTABLISHED):
            # Linux tcp_fin(): CLOSE-WAIT becomes interactive (inet_csk_enter_pingpong_mode)
            # and the ACK is a delayed one (with no data received yet its timeout is 0)
            self._set_state(State.CLOSE_WAIT)
            self.pingpong = PINGPONG_THRESH
            self.unacked_segs += 1               # inet_csk_schedule_ack()
            self._ack_snd_check(now, SendCause.ACK_OF_FIN, "RFC 9293 §3.10.7.4; Linux tcp_fin()")
            return
        elif st is State.FIN_WAIT_1:
            if self.fin_seq is not None and self.snd_una > self.fin_seq:
                self._set_state(State.TIME_WAIT)
                self.timers.clear()
                self.timers["timewait"] = now + self.cfg.time_wait
            else:
                self._set_state(State.CLOSING)
        elif st is State.FIN_WAIT_2:
            self._enter_time_wait(now, ack_first=True)
            return
        self._send_ack(SendCause.ACK_OF_FIN, "RFC 9293 §3.10.7.4")

    def _enter_time_wait(self, now: float, ack_first: bool = False) -> None:
        if ack_first:
            self._send_ack(SendCause.ACK_OF_FIN, "RFC 9293 §3.10.7.4")
        self._set_state(State.TIME_WAIT)
        self.timers.clear()
        self.timers["timewait"] = now + self.cfg.time_wait   # Linux TCP_TIMEWAIT_LEN

    def _receive_time_wait(self, seg: Segment, now: float) -> None:
        """A segment for a connection in TIME-WAIT, as Linux tcp_timewait_state_process()
        (net/ipv4/tcp_minisocks.c) treats it. Only a bare ACK or a RST exactly at RCV.NXT is
        "in window": the ACK restarts the TIME-WAIT timer silently, the RST ends TIME-WAIT
        unless net.ipv4.tcp_rfc1337 forbids it (RFC 1337). Every other segment — old data, a
        retransmitted FIN, a SYN no listener takes — is answered with an ACK of what we
        received (TCP_TW_ACK), at most one per tcp_invalid_ratelimit for segments without
        data (tcp_timewait_check_oow_rate_limit()); out-of-window RSTs are dropped. A
        timestamp older than TS.Recent (PAWS, RFC 7323 §5) makes any segment out of window."""
        f = int(seg.flags)
        ts = seg.options.ts if self.ts_ok else None
        # tcp_paws_reject(): TSval older than TS.Recent (a RST too, within TCP_PAWS_MSL = 60 s,
        # which the whole of TIME-WAIT is)
        paws_reject = ts is not None and 0 < ((self.ts_recent - ts[0]) & 0xFFFFFFFF) < 0x80000000
        if not paws_reject and self.seg_seq == self.rcv_nxt and (seg.seg_len == 0 or f & RST):
            if f & RST:
                if not self.cfg.rfc1337:         # TIME-WAIT assassination (RFC 1337 hazard 1)
                    self._set_state(State.CLOSED, StateCause.RESET_BY_PEER)
                return
            self.timers["timewait"] = now + self.cfg.time_wait    # inet_twsk_reschedule()
            if ts is not None:
                self.ts_recent, self.ts_recent_time = ts[0], now
            return
        if f & RST:
            return
        if paws_reject or f & ACK:
            self.timers["timewait"] = now + self.cfg.time_wait
        new_syn = f & SYN and not f & ACK and not paws_reject and (
            self.seg_seq > self.rcv_nxt or (ts is not None and 0 < ((ts[0] - self.ts_recent)
                                                               & 0xFFFFFFFF) < 0x80000000))
        # a new SYN no listener took (TCP_TW_SYN) is ACKed at once (tcp_v4_rcv());
        # anything else is rate-limited unless it carries data (tcp_oow_rate_limited())
        if not new_syn and (f & SYN or seg.seg_len == 0) and self._oow_limited_any(now):
            return
        reason = SendCause.TIME_WAIT_FIN if f & FIN else SendCause.TIME_WAIT_SYN if f & SYN \
            else SendCause.TIME_WAIT_OUT_OF_WINDOW
        self._send_ack(reason, "Linux tcp_timewait_state_process(): TCP_TW_ACK")

    def _oow_limited_any(self, now: float) -> bool:
        """tcp_oow_rate_limited() for a segment the caller found rate-limitable."""
        if self.last_oow is not None and now - self.last_oow < self.cfg.invalid_ratelimit:
            return True
        self.last_oow = now
        return False

    def icmp_error(self, now: float, err: int, why: str) -> None:
        """An ICMP error about one of our segments (Linux tcp_v4_err(), net/ipv4/tcp_ipv4.c):
        during the handshake of an active open it aborts the connection with ``err``;
        afterwards it is only a soft error, which replaces ETIMEDOUT if the connection
        later times out (tcp_write_err()), as RFC 1122 §4.2.3.9 asks."""
        self._now = now
        if self.state is State.SYN_RECEIVED and self.passive:
            # a request socket the stack decided to drop (tcp_req_err()): no socket to tell
            self._set_state(State.CLOSED, StateCause.REQUEST_DROPPED)
            return
        if self.state is State.SYN_SENT or self.state is State.SYN_RECEIVED:
            self.error = err
            self._set_state(State.CLOSED, StateCause.ICMP_ABORT)
            return
        self.soft_error = err
        self._event(EventKind.SOFT_ERROR, "", "RFC 1122 §4.2.3.9; Linux tcp_v4_err()",
                    (("icmp", why),))
