"""The sending half of a TCP connection: segmentation, retransmission, congestion control.

Theory of operation: `Sender` is a mixin of `tcp.Connection` (it uses the connection's TCB
fields). `_output` sends what the windows allow — the peer's receive window and the
congestion window (RFC 5681), with Nagle/Minshall holding back small segments and the
persist timer probing a closed window. `on_timer` runs the deadlines that have passed:
the retransmission timer (RFC 6298 with Linux's constants; SYN and SYN-ACK retries the
Linux way), zero-window probes, delayed ACKs, FIN-WAIT-2 and TIME-WAIT. Losses are repaired
by fast retransmit (three duplicate ACKs, NewReno partial ACKs) or by the timeout (go back
to SND.UNA), skipping whatever the receiver reported holding in SACK blocks (RFC 6675).
"""
from __future__ import annotations

import errno as _errno
from typing import List, Tuple

from .segment import Flags
from .reasons import EventKind, SendCause, StateCause
from .seq import Seq
from .states import State
from .tcpconfig import model_timeout, orphan_retries

SYN, ACK, FIN, RST, PSH = int(Flags.SYN), int(Flags.ACK), int(Flags.FIN), int(Flags.RST), int(Flags.PSH)


class Sender:
    """Sending, timers and loss recovery for `tcp.Connection` (see module docstring)."""

    __slots__ = ()

    def _output(self, now: float) -> None:
        """Send what the windows allow (RFC 9293 §3.8.6; Nagle RFC 896; RFC 5681 cwnd)."""
        if self.state not in (State.ESTABLISHED, State.CLOSE_WAIT, State.FIN_WAIT_1,
                              State.LAST_ACK, State.CLOSING):
            return
        mss = self.eff_mss
        if mss <= 0:
            return          # cannot happen (tcp_min_snd_mss); never emit empty data segments
        while True:
            offset = self.snd_nxt - self.snd_una
            avail = len(self.sndq) - offset
            wnd = min(self.snd_wnd, self.cwnd)
            room = wnd - offset
            if avail > 0:
                size = min(avail, mss)
                if self.sacked and self.snd_nxt < self.snd_max:
                    # retransmitting: skip what the receiver already holds (RFC 6675 §5)
                    skip, size = self._sack_clip(size)
                    if skip is not None:
                        self.snd_nxt = skip if skip < self.snd_max else self.snd_max
                        continue
                if room < size:
                    if room <= 0 or room < mss and room < avail:
                        if offset == 0 and "persist" not in self.timers:
                            # nothing in flight will bring an ACK: probe later (persist
                            # timer; Linux tcp_check_probe_timer(): tcp_probe0_base())
                            self.timers["persist"] = now + max(self.rto, self.cfg.rto_min)
                        break
                    size = room
                if (size < mss and not self.cfg.nodelay and not self.fin_queued
                        and self.snd_sml > self.snd_una and self.snd_nxt >= self.snd_max):
                    # Nagle with Minshall's rule (Linux tcp_nagle_check): a small segment
                    # waits while an earlier small segment is unacknowledged (RFC 896)
                    break
                if size <= 0:
                    break   # a zero-length data segment would loop for ever
                payload = bytes(self.sndq[offset:offset + size])
                last = size == avail
                flags = ACK | (PSH if last else 0)
                if last and self.fin_queued and self.fin_seq is None:
                    flags |= FIN           # piggyback the FIN on the last data (Linux)
                self._send_data(now, flags, payload)
                continue
            if self.fin_queued and self.fin_seq is None:
                self._send_data(now, FIN | ACK, b"")
            break

    def _sack_clip(self, size: int):
        """(end of the SACKed block SND.NXT sits in, or None; size cut at the next block)."""
        nxt = self.snd_nxt
        for start, end in self.sacked:
            if start <= nxt < end:
                return end, 0
            gap = start.diff(nxt)
            if 0 < gap < size:
                size = gap
        return None, size

    def _note_sack(self, blocks) -> None:
        """Merge the peer's SACK blocks into the scoreboard (RFC 2018 §4)."""
        una, top = self.snd_una, self.snd_max
        ranges = [(s, e) for s, e in self.sacked if e > una]
        for left, right in blocks:
            left, right = Seq(left), Seq(right)
            if una < right <= top and left < right:
                ranges.append((left if left > una else una, right))
        ranges.sort(key=lambda r: r[0].diff(una))
        merged: List[Tuple[Seq, Seq]] = []
        for start, end in ranges:
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        self.sacked = merged

    def _head_sacked(self) -> bool:
        """Is the byte at SND.UNA marked SACKed? The cumulative ACK stopped at data the
        receiver had reported holding: it reneged (RFC 2018 §8)."""
        return bool(self.sacked) and self.sacked[0][0] <= self.snd_una

    def _check_sack_reneging(self, now: float) -> None:
        """Linux tcp_check_sack_reneging(): SND.UNA advanced onto a SACKed block. Give the
        receiver max(SRTT/2, 10 ms) to send ACKs that restore sanity, then let the
        retransmission timer fire (which forgets the SACK marks, `_on_rto`)."""
        if not self._head_sacked():
            return
        delay = max((self.srtt or 0.0) / 2, 0.010)
        self.timers["rto"] = now + delay
        self._event(EventKind.SACK_RENEGING, "", "Linux tcp_check_sack_reneging()",
                    (("delay", delay),))

    def _send_data(self, now: float, flags: int, payload: bytes) -> None:
        seq = self.snd_nxt
        retrans = seq < self.snd_max
        reason = (SendCause.RETRANSMISSION if retrans
                  else SendCause.FIN if flags & FIN and not payload else SendCause.DATA)
        self._emit(flags, seq, payload, reason=reason,
                   rfc="RFC 6298 §5" if retrans else "RFC 9293 §3.10.2")
        length = len(payload) + (1 if flags & FIN else 0)
        if flags & FIN:
            self.fin_seq = seq + len(payload)
        self.snd_nxt = seq + length
        if len(payload) < self.eff_mss:
            self.snd_sml = self.snd_nxt
        if self.snd_nxt > self.snd_max:
            self.snd_max = self.snd_nxt
        if self.rtt_seq is None and not retrans:
            self.rtt_seq, self.rtt_time = self.snd_nxt, now   # time this segment (Karn)
        if "rto" not in self.timers:
            self._arm_rto(now)

    def on_timer(self, now: float) -> None:
        self._now = now
        t = self.timers
        if t.get("timewait", now + 1) <= now:
            t.pop("timewait")
            self._set_state(State.CLOSED, StateCause.TIME_WAIT_EXPIRED)
            return
        if t.get("finwait2", now + 1) <= now:
            t.pop("finwait2")
            self._set_state(State.CLOSED, StateCause.FIN_WAIT_2_TIMEOUT)
            return
        if t.get("rto", now + 1) <= now:
            t.pop("rto")
            self._on_rto(now)
        if t.get("persist", now + 1) <= now:
            t.pop("persist")
            self._probe_timer(now)
            if self.state is State.CLOSED:
                return
        if t.get("delack", now + 1) <= now:
            t.pop("delack")
            if self.state.synchronized and self.state is not State.TIME_WAIT:
                self._send_ack(SendCause.DELAYED_ACK, "RFC 9293 §3.8.6.3")

    # ------------------------------------------------------------ persist timer
    def _probe0_when(self) -> float:
        """Linux tcp_probe0_when(): max(RTO, TCP_RTO_MIN) doubled per backoff, at most
        TCP_RTO_MAX (include/net/tcp.h)."""
        base = max(self.rto, self.cfg.rto_min)
        return min(base * (1 << self.probe_backoff), self.cfg.rto_max)

    def _probe_timer(self, now: float) -> None:
        """The persist timer fired (Linux tcp_probe_timer(), net/ipv4/tcp_timer.c).

        RFC 1122 §4.2.2.17: a sender stays open as long as the receiver answers its probes
        (every ACK resets ``probes_out``). It gives up (ETIMEDOUT) when tcp_retries2 probes
        in a row went unanswered, when TCP_USER_TIMEOUT passed since the first probe, or —
        for a close()d socket — after tcp_orphan_retries backoffs once the interval reached
        TCP_RTO_MAX."""
        cfg = self.cfg
        if self.snd_nxt != self.snd_una or self.unsent <= 0:
            self.probes_out, self.probes_tstamp = 0, None
            return
        give_up = False
        if self.probes_tstamp is None:
            self.probes_tstamp = now
        elif cfg.user_timeout and now - self.probes_tstamp >= cfg.user_timeout - 1e-9:
            give_up = True
        max_probes = cfg.retries2
        if self.orphan and not give_up:
            alive = min(self.rto * (1 << self.probe_backoff), cfg.rto_max) < cfg.rto_max
            max_probes = orphan_retries(cfg, alive)
            give_up = not alive and self.probe_backoff >= max_probes
        if give_up or self.probes_out >= max_probes:
            self.error = self.soft_error or _errno.ETIMEDOUT  # tcp_write_err()
            self._event(EventKind.GIVE_UP, EventKind.PROBES_UNANSWERED,
                        "Linux tcp_probe_timer()", (("probes", self.probes_out),))
            self._set_state(State.CLOSED, StateCause.PERSIST_TIMED_OUT)
            return
        self._send_probe0(now)

    def _send_probe0(self, now: float) -> None:
        """Linux tcp_send_probe0(): probe, then back off the next probe exponentially."""
        cfg = self.cfg
        if self.snd_wnd == 0:
            # zero-window probe: an old sequence number elicits an ACK (Linux
            # tcp_xmit_probe_skb; RFC 9293 §3.8.6.1)
            self._emit(ACK, self.snd_una - 1, reason=SendCause.ZERO_WINDOW_PROBE,
                       rfc="RFC 9293 §3.8.6.1")
        else:
            # a window smaller than a segment: send what fits (Linux tcp_write_wakeup)
            size = min(self.snd_wnd, self.eff_mss, self.unsent)
            self._send_data(now, ACK | PSH, bytes(self.sndq[:size]))
        if self.snd_nxt != self.snd_una or self.unsent <= 0:
            self.probes_out = self.probe_backoff = 0   # data is out: the RTO takes over
            self.probes_tstamp = None
            return
        self.probes_out += 1
        if self.probe_backoff < cfg.retries2:
            self.probe_backoff += 1
        self.timers["persist"] = now + self._clamp_probe0(now, self._probe0_when())

    def _clamp_probe0(self, now: float, when: float) -> float:
        """Linux tcp_clamp_probe0_to_user_timeout(): never wait past TCP_USER_TIMEOUT."""
        if not self.cfg.user_timeout or self.probes_tstamp is None:
            return when
        remaining = self.cfg.user_timeout - (now - self.probes_tstamp)
        return min(max(remaining, 0.002), when)     # TCP_TIMEOUT_MIN: 2 jiffies

    def _ack_probe(self, now: float) -> None:
        """Linux tcp_ack_probe(): an ACK while we probe a closed window. If the window now
        admits data, stop probing; otherwise re-arm the persist timer from now."""
        if self.snd_nxt != self.snd_una or self.unsent <= 0 or "persist" not in self.timers:
            return
        if self.snd_wnd > 0:
            self.probe_backoff, self.probes_tstamp = 0, None
            self.timers.pop("persist", None)
        else:
            self.timers["persist"] = now + self._clamp_probe0(now, self._probe0_when())

    def _on_rto(self, now: float) -> None:
        cfg = self.cfg
        st = self.state
        if st in (State.SYN_SENT, State.SYN_RECEIVED):
            if st is State.SYN_SENT:
                limit = self.first_tx + model_timeout(cfg.syn_retries, cfg.rto_initial)
                expired = now >= limit - 1e-9
            else:
                expired = self.retries >= cfg.synack_retries
            if expired:
                self.error = self.soft_error or _errno.ETIMEDOUT  # tcp_write_err()
                self._event(EventKind.GIVE_UP, EventKind.RETRIES_EXHAUSTED,
                            "Linux tcp_write_timeout()")
                self._set_state(State.CLOSED, StateCause.TIMED_OUT)
                return
            self.retries += 1
            # tcp_syn_linear_timeouts: the first N retries keep the initial RTO (6.16+)
            if not (st is State.SYN_SENT and self.retries <= cfg.syn_linear_timeouts):
                self.rto = min(self.rto * 2, cfg.rto_max)
            if st is State.SYN_SENT:
                self._send_syn(now, SendCause.SYN_RETRANSMISSION)
                limit = self.first_tx + model_timeout(cfg.syn_retries, cfg.rto_initial)
                self.timers["rto"] = min(self.timers["rto"], limit)
            else:
                self._send_synack(now, SendCause.SYNACK_RETRANSMISSION, "RFC 6298 §5")
            self._event(EventKind.RTO, "", "RFC 6298 §5.5",
                        (("retry", self.retries), ("next_rto", self.rto)))
            return
        if self.snd_una == self.snd_nxt:
            return
        # Linux tcp_write_timeout(): with TCP_USER_TIMEOUT the give-up is that many seconds
        # after the first retransmission, instead of tcp_retries2's modelled time
        if cfg.user_timeout:
            limit = self.first_tx + cfg.user_timeout
            expired = self.retries > 0 and now >= limit - 1e-9
        else:
            limit = self.first_tx + model_timeout(cfg.retries2, cfg.rto_min)
            expired = self.retries >= cfg.retries2 and now >= limit
        if expired:
            self.error = self.soft_error or _errno.ETIMEDOUT  # tcp_write_err()
            self._event(EventKind.GIVE_UP, EventKind.RETRIES2_EXHAUSTED, "Linux tcp_write_timeout()")
            self._set_state(State.CLOSED, StateCause.TIMED_OUT)
            return
        if self.retries == 0:
            self.first_tx = now
        self.retries += 1
        # RFC 5681 §3.1: ssthresh = max(FlightSize/2, 2*SMSS); cwnd = 1 SMSS (loss window)
        self.ssthresh = max(self.in_flight // 2, 2 * self.eff_mss)
        self.cwnd = self.eff_mss
        self.dupacks = 0
        self.recover = self.snd_max
        self.rto = min(self.rto * 2, cfg.rto_max)      # RFC 6298 §5.5: back off
        self.rtt_seq = None                            # Karn: no sample from retransmissions
        self._event(EventKind.RTO, "", "RFC 6298 §5.4-5.6",
                    (("retry", self.retries), ("next_rto", self.rto)))
        if self._head_sacked():
            # the receiver reneged: forget every SACK mark and resend it all (RFC 2018 §8;
            # Linux tcp_timeout_mark_lost() with is_reneg)
            self.sacked = []
        # go back N: resend from SND.UNA (the FIN too, if it was lost)
        self.snd_nxt = self.snd_una
        if self.fin_seq is not None and self.fin_seq >= self.snd_una:
            self.fin_seq = None
        self._output(now)
        if "rto" not in self.timers:
            self._arm_rto(now)
        if cfg.user_timeout:      # tcp_clamp_rto_to_user_timeout()
            self.timers["rto"] = min(self.timers["rto"], max(limit, now + 0.002))

    def _rtt_sample(self, r: float) -> None:
        """RFC 6298 §2 with Linux's floor: RTO = SRTT + max(4*RTTVAR, TCP_RTO_MIN)."""
        if self.srtt is None:
            self.srtt, self.rttvar = r, r / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r
        self.rto = min(max(self.srtt + max(4 * self.rttvar, self.cfg.rto_min), self.cfg.rto_min),
                       self.cfg.rto_max)

    def _on_new_ack(self, acked: int, now: float) -> None:
        if self.rtt_seq is not None and self.snd_una >= self.rtt_seq:
            self._rtt_sample(now - self.rtt_time)
            self.rtt_seq = None
        self.retries = 0
        mss = self.eff_mss
        if self.recover is not None and self.snd_una < self.recover and self.dupacks >= 3:
            # NewReno partial ACK (RFC 6582 §3.2): resend the next hole at once
            self._retransmit_head(now, SendCause.FAST_RETRANSMIT_PARTIAL)
        else:
            if self.dupacks >= 3:
                self.cwnd = self.ssthresh         # leave fast recovery (RFC 5681 §3.2)
            self.dupacks = 0
            if self.recover is not None and self.snd_una >= self.recover:
                self.recover = None
            if self.cwnd < self.ssthresh:
                self.cwnd += min(acked, mss)      # slow start (RFC 5681 §3.1, RFC 3465)
            else:
                self.cwnd += max(1, mss * mss // self.cwnd)
        if self.snd_una == self.snd_max:
            self.timers.pop("rto", None)
        else:
            self._arm_rto(now)                    # RFC 6298 §5.3

    def _on_dupack(self, now: float) -> None:
        self.dupacks += 1
        if self.dupacks == 3 and (self.recover is None or self.snd_una >= self.recover):
            # RFC 5681 §3.2 fast retransmit
            self.ssthresh = max(self.in_flight // 2, 2 * self.eff_mss)
            self.recover = self.snd_max
            self._retransmit_head(now, SendCause.FAST_RETRANSMIT)
            self.cwnd = self.ssthresh + 3 * self.eff_mss
        elif self.dupacks > 3:
            self.cwnd += self.eff_mss             # inflate during recovery

    def _retransmit_head(self, now: float, reason: "SendCause") -> None:
        size = min(self.eff_mss, len(self.sndq))
        for start, _end in self.sacked:               # stop at the first SACKed block
            gap = start.diff(self.snd_una)
            if 0 < gap < size:
                size = gap
        payload = bytes(self.sndq[:size])
        flags = ACK
        if self.fin_seq is not None and self.snd_una + size == self.fin_seq and size < self.eff_mss:
            flags |= FIN
        if not payload and not flags & FIN:
            if self.fin_seq is not None and self.snd_una == self.fin_seq:
                flags |= FIN
            else:
                return
        self._emit(flags, self.snd_una, payload, reason=reason, rfc="RFC 5681 §3.2")
        self.rtt_seq = None
        self._arm_rto(now)
