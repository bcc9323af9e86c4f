"""RACK-TLP for a TCP connection (RFC 8985): time-based loss detection and the tail loss probe.

Theory of operation: `RackTlp` is a mixin of `tcp.Connection` (through `tcpsend.Sender`; it
uses the connection's TCB fields and `recovery.Rack`, the per-segment transmit times).
After every ACK that delivered something while SACK marks exist, `_rack_mark_lost` asks
RACK which segments are lost — sent before the most recently sent delivered segment and
older than RACK.rtt plus a reordering window (Linux tcp_rack_mark_lost(), net/ipv4/
tcp_recovery.c) — and marks them, arming the reordering timer (``"reo"``) for any not yet
old enough. `_sack_loss_recovery` then starts fast recovery, or, in recovery, lets PRR set
the window and `_xmit_retransmit_queue` resend every marked segment it allows, so several
holes are repaired in one round trip. The window adapts to reordering (`_rack_reo_wnd`;
D-SACKs widen it, `recovery.Rack.update_reo_wnd`) as net.ipv4.tcp_recovery's bits say. Separately, while data is outstanding
outside recovery, the probe timeout (``"tlp"``, Linux tcp_schedule_loss_probe()) fires when
no ACK came for about two RTTs: `_send_loss_probe` sends new data or the last segment
again, so that the SACKs it brings back repair a lost tail instead of the RTO.
"""
from __future__ import annotations

from .segment import Flags
from .reasons import EventKind, SendCause
from .recovery import TCP_TIMEOUT_MIN, tlp_timeout

ACK, FIN = int(Flags.ACK), int(Flags.FIN)
# net.ipv4.tcp_recovery bits (include/net/tcp.h; ip-sysctl.rst)
TCP_RACK_LOSS_DETECTION, TCP_RACK_STATIC_REO_WND, TCP_RACK_NO_DUPTHRESH = 0x1, 0x2, 0x4


class RackTlp:
    """RACK loss detection and the tail loss probe for `tcp.Connection` (module docstring)."""

    __slots__ = ()

    # ------------------------------------------------------------ RACK (RFC 8985 §6)
    def _rack_reo_wnd(self) -> float:
        """tcp_rack_reo_wnd() (RFC 8985 §6.2 step 4): until reordering has been seen, no
        allowance in recovery, nor once as many segments as the reordering threshold (3)
        are SACKed (unless net.ipv4.tcp_recovery has TCP_RACK_NO_DUPTHRESH, 0x4); else
        min_RTT / 4 times the steps D-SACKs added (`recovery.Rack.update_reo_wnd`), at most
        SRTT."""
        rack = self.rack
        if not rack.reord_seen:
            if self.prr is not None:
                return 0.0
            if (self.rack.sacked_out >= 3         # segments, whatever their size
                    and not self.cfg.recovery & TCP_RACK_NO_DUPTHRESH):
                return 0.0
        return min((self.min_rtt or 0.0) / 4 * rack.reo_wnd_steps, self.srtt or 0.0)

    def _rack_mark_lost(self, now: float) -> int:
        """tcp_rack_mark_lost(): mark lost what RACK finds lost; a segment not yet that old
        arms the reordering timer (RACK.reo_timeout = RACK.rtt + reo_wnd - elapsed + 2 ms).
        Returns the number of segments newly marked."""
        reo_wnd = self._rack_reo_wnd()
        lost, wait = self.rack.detect_loss(now, reo_wnd)
        if lost:
            self._event(EventKind.RACK_LOSS, "", "RFC 8985 §6.2; Linux tcp_rack_detect_loss()",
                        (("segments", lost), ("reo_wnd_ms", round(reo_wnd * 1000, 3))))
        if wait:
            self.timers.pop("tlp", None)          # the same kernel timer (ICSK_TIME_REO_TIMEOUT)
            self.timers["reo"] = now + wait + TCP_TIMEOUT_MIN
        return lost

    def _sack_loss_recovery(self, now: float, delivered: int, una_advanced: bool,
                            rack_check: bool) -> None:
        """Loss detection and repair after an ACK on a SACK connection (Linux tcp_ack():
        tcp_fastretrans_alert() -> tcp_identify_packet_loss() -> tcp_rack_mark_lost(); then
        tcp_cwnd_reduction() and tcp_xmit_recovery()): RACK marks what is lost; the first
        loss starts fast recovery (tcp_time_to_recover(): lost_out); in recovery PRR sets the
        window from what this ACK delivered, and every lost segment the window allows is
        resent at once — several holes per round trip (RFC 6675 §5, RFC 6937)."""
        lost = self._rack_mark_lost(now) if rack_check else 0
        if self.prr is None:
            if (lost or self.rack.lost_bytes) and (self.recover is None
                                                    or self.snd_una >= self.recover):
                self._enter_recovery(now, delivered, SendCause.FAST_RETRANSMIT)
            return
        self._prr_ack(delivered, una_advanced, bool(lost))
        self._xmit_retransmit_queue(now)

    def _xmit_retransmit_queue(self, now: float,
                               first: SendCause = SendCause.RACK_RETRANSMIT) -> None:
        """Linux tcp_xmit_retransmit_queue(): resend the segments marked lost, lowest first,
        while the pipe is below the congestion window (RFC 6675 §5 NextSeg rule 1). The
        first may carry another cause (the fast retransmit that starts recovery)."""
        reason = first
        for start, end in self.rack.lost_segments():
            if self.pipe >= self.cwnd:
                break
            if start < self.snd_una:          # partly acknowledged: resend the rest
                start = self.snd_una
            self._retransmit_at(now, start, end - start, reason,
                                "RFC 8985 §6.2; RFC 6675 §5; RFC 6937; Linux "
                                "tcp_xmit_retransmit_queue()")
            reason = SendCause.RACK_RETRANSMIT

    def _rack_reo_timeout(self, now: float) -> None:
        """tcp_rack_reo_timeout() (RFC 8985 §6.3): the reordering window passed; whatever is
        now old enough is lost: recovery starts (PRR counting one segment delivered) or goes
        on, and the lost segments are resent."""
        if self.snd_una == self.snd_max:
            return
        if self._rack_mark_lost(now):
            if self.prr is None:
                self._enter_recovery(now, 0, SendCause.FAST_RETRANSMIT)
            else:
                self._xmit_retransmit_queue(now)
        if "reo" not in self.timers and "rto" not in self.timers:
            self._arm_rto(now)                    # tcp_rearm_rto()

    # ------------------------------------------------------------ tail loss probe
    def _schedule_loss_probe(self, now: float) -> None:
        """Linux tcp_schedule_loss_probe() (RFC 8985 §7.2): with SACK, outside recovery,
        while data is outstanding and no probe is in flight, arm the probe timeout."""
        if (not self.sack_ok or self.cfg.early_retrans < 3 or self.prr is not None
                or self.retries or self.snd_una == self.snd_max or self.tlp_high_seq is not None
                or self.srtt is None or not self.state.synchronized):
            return
        rto_at = self.timers.get("rto")
        segments = -(-self.in_flight // self.eff_mss)
        self.timers["tlp"] = now + tlp_timeout(self.srtt, segments,
                                               rto_at - now if rto_at else 0.0)

    def _send_loss_probe(self, now: float) -> None:
        """Linux tcp_send_loss_probe() (RFC 8985 §7.3): send one new segment if the windows
        allow, else retransmit the last one, so that a lost tail is repaired by the SACKs the
        probe brings back instead of by the retransmission timeout."""
        if self.snd_una == self.snd_max or self.prr is not None:
            return
        before = len(self._out)
        mss = self.eff_mss
        if self.unsent > 0 and self.snd_wnd - self.in_flight >= min(mss, self.unsent):
            size = min(mss, self.unsent)
            offset = self.snd_nxt - self.snd_una
            self._send_data(now, ACK | self._push_flag(self.snd_nxt, size),
                            bytes(self.sndq[offset:offset + size]))
        else:
            end = self.fin_seq if self.fin_seq is not None else self.snd_max
            size = min(mss, end - self.snd_una)
            start = end - size
            offset = start - self.snd_una
            payload = bytes(self.sndq[offset:offset + size])
            flags = ACK | self._push_flag(start, size) | (FIN if self.fin_seq is not None else 0)
            self._emit(flags, start, payload, reason=SendCause.TAIL_LOSS_PROBE,
                       rfc="RFC 8985 §7.3")
            self.rack.sent(start, start + size + (1 if flags & FIN else 0), now, True)
            self.total_retrans += 1
            self.bytes_retrans += len(payload)
        if len(self._out) > before:
            self.tlp_high_seq = self.snd_nxt
            self.timers.pop("tlp", None)
            self._event(EventKind.TAIL_LOSS_PROBE, EventKind.NO_ACK_FOR_PTO, "RFC 8985 §7.3")
            self._arm_rto(now)
