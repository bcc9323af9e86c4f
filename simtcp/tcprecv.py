"""The receiving half of a TCP connection: data in order and out of order, the window we
offer, TS.Recent, the peer's FIN.

Theory of operation: `Receiver` is a mixin of `tcp.Connection` (it uses the connection's TCB
fields), like `tcpsend.Sender` for the sending half. `_receive_data` takes the text of an
acceptable segment (RFC 9293 §3.10.7.4, seventh check): in-order bytes join the receive
queue, out-of-order ones wait in ``ooo`` and are reported in SACK blocks (RFC 2018), old
duplicates are answered with a D-SACK (RFC 2883); ACKs go out at once during quick-ACK mode,
for every second full segment, or after the delayed-ACK timer. `_window_field` is the window
Linux offers (tcp_select_window), `_update_ts_recent` the RFC 7323 §4.3 rule, and
`_receive_fin` the eighth check.
"""
from __future__ import annotations

from .segment import Flags, Options, Segment, NO_OPTIONS
from .reasons import EventKind, SendCause
from .seq import Seq
from .states import State

ACK, FIN = int(Flags.ACK), int(Flags.FIN)


class Receiver:
    """Receiving, the offered window and TS.Recent for `tcp.Connection`."""

    __slots__ = ()

    def _window_field(self) -> int:
        """The window field, as Linux tcp_select_window() / __tcp_select_window() picks it:
        the free space, but 0 once less than half the buffer is free and what is left is
        under one segment or 1/16 of the buffer (receiver SWS avoidance, RFC 9293
        §3.8.6.2.2); at most rcv_ssthresh; with window scaling rounded *up* to a multiple of
        2^wscale so that it is not scaled away; never less than the window already offered
        (RFC 9293 §3.8.6.2.1)."""
        unit = 1 << self.rcv_wscale
        free, full = self.rcv_wnd, self.cfg.rcvbuf
        if free < full >> 1:
            free = free // unit * unit
            if free < full >> 4 or free < self.eff_mss:
                free = 0
        wnd = min(free, self.rcv_ssthresh)
        if unit > 1:
            wnd = -(-wnd // unit) * unit
        edge = self.rcv_adv.diff(self.rcv_nxt)
        if edge > wnd:
            wnd = -(-edge // unit) * unit
        field = min(wnd >> self.rcv_wscale, 0xFFFF)
        self.rcv_wup = self.rcv_nxt        # Last.ACK.sent (Linux tcp_select_window)
        self.rcv_adv = self.rcv_nxt + (field << self.rcv_wscale)
        self.last_rcv_wnd = field << self.rcv_wscale
        return field

    def _data_options(self, now: float) -> Options:
        if not self.ts_ok:
            if self.sack_ok and self.ooo:
                return Options(sack=self._sack_blocks(4))
            return NO_OPTIONS
        sack = self._sack_blocks(3) if self.sack_ok and self.ooo else ()
        return Options(ts=(self._tsval(now), self.ts_recent), sack=sack)

    def _sack_blocks(self, limit: int) -> tuple:
        return self.ooo.blocks(limit)

    def _update_ts_recent(self, seg: Segment, now: float) -> None:
        """RFC 7323 §4.3: TS.Recent takes SEG.TSval only from a segment that passed the
        sequence, RST and SYN checks, that starts at or before Last.ACK.sent and whose TSval
        is not older (Linux tcp_ack() -> tcp_replace_ts_recent(): !after(seq, rcv_wup) and
        tcp_paws_check()). An invalid segment's TSval is never echoed."""
        ts = seg.options.ts
        if ts is None or not self.ts_ok or seg.seq > self.rcv_wup:
            return
        if ((ts[0] - self.ts_recent) & 0xFFFFFFFF) < 0x80000000:
            self.ts_recent = ts[0]
            self.ts_recent_time = now

    def recv(self, n: int, now: float) -> bytes:
        self._now = now
        data = bytes(self.rcvq[:n])
        del self.rcvq[:n]
        if not data and self.eof and n:
            self.eof_read = True
        if data and self.state in (State.ESTABLISHED, State.FIN_WAIT_1, State.FIN_WAIT_2):
            # Window update when the window opens by at least min(MSS, buffer/2)
            # (receiver-side SWS avoidance, RFC 9293 §3.8.6.2.2)
            grown = self.rcv_wnd - self.last_rcv_wnd
            if grown >= min(self.eff_mss, self.cfg.rcvbuf // 2) and self.last_rcv_wnd < self.eff_mss * 2:
                self._send_ack(SendCause.WINDOW_UPDATE, "RFC 9293 §3.8.6.2.2")
        return data

    def _receive_data(self, seg: Segment, now: float) -> None:
        data = seg.payload
        start = seg.seq
        skip = self.rcv_nxt.diff(start)
        if skip > 0:                      # trim what we already have
            data, start = data[skip:], start + skip
        room = min(self.rcv_adv.diff(start), self.rcv_wnd - start.diff(self.rcv_nxt))
        if len(data) > room:              # trim beyond the window
            data = data[:max(room, 0)]
        if not data:
            if skip > 0 and self.sack_ok:
                # D-SACK (RFC 2883): the first SACK block reports the duplicate itself, so the
                # sender learns its retransmission was unnecessary (Linux tcp_dsack_set)
                dup = (int(seg.seq), int(seg.seq + min(skip, len(seg.payload))))
                opts = self._data_options(now)
                self._emit(ACK, self.snd_nxt, reason=SendCause.DSACK, rfc="RFC 2883 §4",
                           options=opts._replace(sack=(dup,) + opts.sack[:2]))
                return
            self._send_ack(SendCause.DUPLICATE_DATA, "RFC 9293 §3.10.7.4")
            return
        if start != self.rcv_nxt:
            self._store_ooo(start, data)
            self._send_ack(SendCause.OUT_OF_ORDER, "RFC 5681 §4.2")
            return
        self.rcvq += data
        self.rcv_nxt = self.rcv_nxt + len(data)
        if self.rcv_ssthresh < self.cfg.rcvbuf and len(data) >= self.eff_mss:
            # tcp_grow_window(): full segments (good payload/overhead ratio) open it by 2*advmss
            self.rcv_ssthresh = min(self.rcv_ssthresh + 2 * self.cfg.mss, self.cfg.rcvbuf)
        filled = self._drain_ooo()
        self.unacked_segs += 1
        if (int(seg.flags) & FIN and seg.seq + len(seg.payload) == self.rcv_nxt) or \
                (self.peer_fin_seq is not None and self.peer_fin_seq == self.rcv_nxt):
            return  # the FIN is next in order: its ACK (eighth step) covers this data too
        if filled or self.quickacks > 0 or self.unacked_segs >= 2 or self.ooo:
            if self.quickacks > 0:
                self.quickacks -= 1
            self._send_ack(SendCause.ACK_DATA, "RFC 9293 §3.10.7.4")
        elif "delack" not in self.timers:
            self.timers["delack"] = now + self.cfg.delack     # RFC 9293 §3.8.6.3

    def _store_ooo(self, start: Seq, data: bytes) -> None:
        ooo = self.ooo
        ooo.insert(start, data, self.rcv_nxt)
        room = self.cfg.rcvbuf - len(self.rcvq)
        if ooo.charge > room:
            dropped = ooo.prune(room)
            self._event(EventKind.OFO_PRUNED, "", "Linux tcp_prune_ofo_queue()",
                        (("bytes", dropped),))

    def _drain_ooo(self) -> bool:
        data = self.ooo.take_in_order(self.rcv_nxt)
        if data:
            self.rcvq += data
            self.rcv_nxt = self.rcv_nxt + len(data)
        return bool(data)

    def _receive_fin(self, now: float) -> None:
        """Eighth check: the peer's FIN is in order (RFC 9293 §3.10.7.4)."""
        self.rcv_nxt = self.rcv_nxt + 1
        self.eof = True
        st = self.state
        if st in (State.SYN_RECEIVED, State.ESTABLISHED):
            self._set_state(State.CLOSE_WAIT)
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
