"""The sending half of a TCP connection: segmentation, retransmission, congestion control.

Theory of operation: `Sender` is a mixin of `tcp.Connection` (it uses the connection's TCB
fields). `_output` sends what the windows allow — the peer's receive window and the
congestion window (RFC 5681), with Nagle/Minshall holding back small segments and the
persist timer (`tcppersist`) probing a closed window. `_process_ack` takes the peer's
acknowledgments (RFC 9293 §3.10.7.4, fifth check; duplicate ACKs and SACK as Linux tcp_ack()
counts them). `on_timer` runs the deadlines that have passed: the retransmission timer (RFC
6298 with Linux's constants; SYN and SYN-ACK retries the Linux way), the tail loss probe and
RACK's reordering timer (RFC 8985), zero-window probes, delayed ACKs, FIN-WAIT-2 and
TIME-WAIT. The window grows as the connection's congestion control says (`congestion`:
CUBIC or Reno). Losses are found by RACK when SACK is on (a segment sent before one that
was delivered, and older than RACK.rtt plus a reordering window: `recovery.Rack`), else by
three duplicate ACKs, and repaired by fast retransmit with Proportional Rate Reduction
(NewReno partial ACKs; RFC 6937) or by the timeout (go back to SND.UNA), skipping whatever
the receiver reported holding in SACK blocks (RFC 6675).
"""
from __future__ import annotations

import errno as _errno
from .segment import Flags, Segment
from .reasons import EventKind, SendCause, StateCause
from .states import (CLOSE_WAIT, CLOSED, CLOSING, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, LAST_ACK,
                     State)
from .congestion import CA_EVENT_LOSS, CA_EVENT_TX_START, Window
from .recovery import Prr
from .tcpconfig import model_timeout
from .tcploss import TCP_RACK_STATIC_REO_WND, RackTlp
from .tcppersist import Persist
from .tcpsack import SackScoreboard
from .tcpkeepalive import Keepalive

SYN, ACK, FIN, RST, PSH = int(Flags.SYN), int(Flags.ACK), int(Flags.FIN), int(Flags.RST), int(Flags.PSH)
GSO_MAX_SIZE = 65536     # sk_gso_max_size (GSO_LEGACY_MAX_SIZE)
MAX_TCP_HEADER = 320     # include/net/tcp.h: L1_CACHE_ALIGN(128 + MAX_HEADER), x86-64


class Sender(Persist, RackTlp, Keepalive, SackScoreboard):
    """Sending, timers and loss recovery for `tcp.Connection` (see module docstring); the
    persist timer is `tcppersist.Persist`, RACK-TLP `tcploss.RackTlp`, SO_KEEPALIVE
    `tcpkeepalive.Keepalive`, the SACK scoreboard `tcpsack.SackScoreboard`."""

    __slots__ = ()

    def push_pending(self, now: float) -> None:
        """Send what may go now (setsockopt TCP_NODELAY / uncorking: Linux
        tcp_push_pending_frames with TCP_NAGLE_PUSH)."""
        self._output(now, push=True)

    def _output(self, now: float, cork: bool = False, push: bool = False) -> None:
        """Send what the windows allow (RFC 9293 §3.8.6; Nagle RFC 896; RFC 5681 cwnd).
        ``cork`` holds a partial segment (MSG_MORE); ``push`` sends it anyway."""
        if self.state not in (ESTABLISHED, CLOSE_WAIT, FIN_WAIT_1, LAST_ACK, CLOSING):
            return
        mss = self.eff_mss
        if mss <= 0:
            return          # cannot happen (tcp_min_snd_mss); never emit empty data segments
        sent = False
        while True:
            offset = self.snd_nxt - self.snd_una
            avail = len(self.sndq) - offset
            if avail > 0:
                size = min(avail, mss)
                if self.sacked and self.snd_nxt < self.snd_max:
                    # retransmitting: skip what the receiver already holds (RFC 6675 §5)
                    skip, size = self._sack_clip(size)
                    if skip is not None:
                        self.snd_nxt = skip if skip < self.snd_max else self.snd_max
                        continue
                # the peer's window counts every byte from SND.UNA; the congestion window
                # counts only what is still in the network (pipe: SACKed and lost bytes
                # left it)
                room = min(self.snd_wnd - offset, self.cwnd - self.pipe)
                if room < size:
                    if room <= 0 or room < mss and room < avail:
                        if offset == 0 and "persist" not in self.timers:
                            # nothing in flight will bring an ACK: probe later (persist
                            # timer; Linux tcp_check_probe_timer(): tcp_probe0_base())
                            self.timers["persist"] = now + max(self.rto, self.cfg.rto_min)
                        break
                    size = room
                if size < mss and not push and not self.fin_queued and self.snd_nxt >= self.snd_max:
                    if cork or self.cfg.cork:
                        # TCP_CORK / MSG_MORE (tcp_nagle_check, TCP_NAGLE_CORK): a partial
                        # segment waits for more data; with nothing in flight the probe timer
                        # sends it after an RTO (tcp_check_probe_timer -> tcp_write_wakeup)
                        if offset == 0 and "persist" not in self.timers:
                            self.timers["persist"] = now + self.rto
                        break
                    if not self.cfg.nodelay and self.snd_sml > self.snd_una:
                        # Nagle with Minshall's rule (Linux tcp_nagle_check): a small segment
                        # waits while an earlier small segment is unacknowledged (RFC 896)
                        break
                if size <= 0:
                    break   # a zero-length data segment would loop for ever
                payload = bytes(self.sndq[offset:offset + size])
                last = size == avail
                flags = ACK | self._push_flag(self.snd_nxt, size)
                if last and self.fin_queued and self.fin_seq is None:
                    flags |= FIN           # piggyback the FIN on the last data (Linux)
                self._send_data(now, flags, payload)
                sent = True
                continue
            if self.fin_queued and self.fin_seq is None:
                self._send_data(now, FIN | ACK, b"")
                sent = True
            break
        if sent:
            # once per burst, after it, as tcp_write_xmit() ends: the probe timeout counts
            # every segment now in flight
            self._schedule_loss_probe(now)

    def _push_flag(self, seq: int, size: int) -> int:
        """PSH when the segment carries the end of a write (or a forced push): Linux marks
        the buffer holding the last byte of each sendmsg() with tcp_mark_push(), and a
        retransmission keeps the flags of what it resends."""
        end = seq + size
        for mark in self.push_marks:
            if seq < mark <= end:
                return PSH
        return 0

    def _size_goal(self) -> int:
        """tcp_xmit_size_goal(): the bytes one unsent buffer (a GSO skb) may hold — whole
        segments up to sk_gso_max_size less MAX_TCP_HEADER, at most half the peer's largest
        window (tcp_bound_to_half_wnd())."""
        mss = self.eff_mss
        room = GSO_MAX_SIZE - 1 - MAX_TCP_HEADER
        if self.max_window:
            cutoff = self.max_window >> 1 if self.max_window > 536 else self.max_window
            room = min(room, max(cutoff, 68))
        return mss * max(1, room // mss)

    def _mark_writes(self, start: int, end: int, more: bool) -> None:
        """Push marks for a write of [start, end) (Linux tcp_sendmsg_locked): every
        segment-sized piece that takes the data more than half the peer's largest window past
        the last mark is pushed (forced_push()), and the end of the write is unless MSG_MORE
        or TCP_CORK holds it (tcp_push()). A write that goes on filling the previous write's
        buffer while it is still unsent takes that buffer's PSH away ("if (!copied)
        TCP_SKB_CB(skb)->tcp_flags &= ~TCPHDR_PSH"): writes queued behind a closed window or
        Nagle leave as full segments with one PSH, at the end. The unsent buffers are taken
        to start at SND.NXT, each ``_size_goal()`` bytes long."""
        marks = self.push_marks
        if not marks:
            marks = self.push_marks = []     # made by the first write (or first since acked)
        if (end > start and marks and marks[-1] == start and start > self.snd_nxt
                and (start - self.snd_nxt) % self._size_goal()):
            marks.pop()
        half = self.max_window // 2
        if half > 0:
            pos = start
            while end > pos:
                pos += min(self.eff_mss, end - pos)
                if pos - self.pushed_seq > half:
                    marks.append(pos)
                    self.pushed_seq = pos
        if not more and (not marks or marks[-1] != end):
            marks.append(end)
            self.pushed_seq = end

    def _send_data(self, now: float, flags: int, payload: bytes) -> None:
        """Send new data (or the FIN, or resend after a timeout) at SND.NXT and account for
        it; the caller arms the tail loss probe once it sent what it will
        (`_schedule_loss_probe`)."""
        seq = self.snd_nxt
        retrans = seq < self.snd_max
        reason = (SendCause.RETRANSMISSION if retrans
                  else SendCause.FIN if flags & FIN and not payload else SendCause.DATA)
        self._emit(flags, seq, payload, reason=reason,
                   rfc="RFC 6298 §5" if retrans else "RFC 9293 §3.10.2")
        size = len(payload)
        length = size + (1 if flags & FIN else 0)       # sequence space taken
        if flags & FIN:
            self.fin_seq = seq + size
        self.snd_nxt = seq + length
        if size < self.eff_mss:
            self.snd_sml = self.snd_nxt
        if self.snd_nxt > self.snd_max:
            self.snd_max = self.snd_nxt
        if self.rtt_seq is None and not retrans:
            self.rtt_seq, self.rtt_time = self.snd_nxt, now   # time this segment (Karn)
        if retrans:
            self.total_retrans += 1
            self.bytes_retrans += size
        self.rack.sent(seq, seq + length, now, retrans)
        if self.prr is not None:
            self.prr.sent(length)
            if retrans:
                self.retrans_out += length
        self.lsndtime = now
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
        if t.get("tlp", now + 1) <= now:
            # the probe timeout is never later than the RTO and, in Linux, replaces it (one
            # icsk_retransmit_timer armed as ICSK_TIME_LOSS_PROBE): when both are due the
            # probe goes out and re-arms the RTO (tcp_send_loss_probe() -> tcp_rearm_rto())
            t.pop("tlp")
            self._send_loss_probe(now)
        if t.get("reo", now + 1) <= now:
            t.pop("reo")
            self._rack_reo_timeout(now)
        if t.get("rto", now + 1) <= now:
            t.pop("rto")
            t.pop("tlp", None)
            t.pop("reo", None)
            self._on_rto(now)
        if t.get("persist", now + 1) <= now:
            t.pop("persist")
            self._probe_timer(now)
            if self.state is State.CLOSED:
                return
        if t.get("keepalive", now + 1) <= now:
            t.pop("keepalive")
            self._keepalive_timer(now)
            if self.state is State.CLOSED:
                return
        if t.get("delack", now + 1) <= now:
            t.pop("delack")
            if self.state.synchronized and self.state is not State.TIME_WAIT:
                self._delack_timer()

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
            # tcp_syn_linear_timeouts: the first N retries keep the initial RTO (Linux 6.5+)
            if not (st is State.SYN_SENT and self.retries <= cfg.syn_linear_timeouts):
                self.rto = min(self.rto * 2, cfg.rto_max)
            if st is State.SYN_SENT:
                # the give-up check runs when the timer fires (tcp_write_timeout): with 4
                # linear timeouts the last SYN goes at 67 s and connect() fails at 131 s
                # (ip-sysctl.rst, tcp_syn_retries)
                self._send_syn(now, SendCause.SYN_RETRANSMISSION)
                self.total_retrans += 1
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
        # tcp_enter_loss(): ssthresh from the congestion control (RFC 5681 §3.1 for Reno),
        # cwnd = 1 segment (the loss window); CUBIC restarts its epoch (CA_EVENT_LOSS)
        if self.prr is None and (self.recover is None or self.snd_una >= self.recover):
            self.ssthresh = self.cc.ssthresh(self.cwnd, self.eff_mss)
        self.cc.event(CA_EVENT_LOSS, now)
        self.cwnd = self.eff_mss
        self.cwnd_cnt = 0
        self.prr, self.lost_bytes, self.retrans_out = None, 0, 0
        self.dupacks = 0
        self.recover = self.snd_max
        self.rto = min(self.rto * 2, cfg.rto_max)      # RFC 6298 §5.5: back off
        self.rtt_seq = None                            # Karn: no sample from retransmissions
        self._event(EventKind.RTO, "", "RFC 6298 §5.4-5.6",
                    (("retry", self.retries), ("next_rto", self.rto)))
        self.rack.reset()
        if self._head_sacked():
            # the receiver reneged: forget every SACK mark and resend it all (RFC 2018 §8;
            # Linux tcp_timeout_mark_lost() with is_reneg)
            self.sacked = ()
        # go back N: resend from SND.UNA (the FIN too, if it was lost)
        self.snd_nxt = self.snd_una
        if self.fin_seq is not None and self.fin_seq >= self.snd_una:
            self.fin_seq = None
        self._output(now)
        if "rto" not in self.timers:
            self._arm_rto(now)
        if cfg.user_timeout:      # tcp_clamp_rto_to_user_timeout()
            self.timers["rto"] = min(self.timers["rto"], max(limit, now + 0.002))

    def _restart_after_idle(self, now: float) -> None:
        """Sending resumes with nothing in flight. CUBIC shifts its epoch by the idle time
        (CA_EVENT_TX_START); with net.ipv4.tcp_slow_start_after_idle, an idle period longer
        than the RTO also decays the window towards the initial one, halving it per RTO
        of idleness (Linux tcp_slow_start_after_idle_check -> tcp_cwnd_restart; RFC 5681
        §4.1), and ssthresh keeps 3/4 of the old window (tcp_current_ssthresh)."""
        idle = now - self.lsndtime
        self.cc.event(CA_EVENT_TX_START, now, idle)
        if not self.cfg.slow_start_after_idle or idle <= self.rto:
            return
        mss = self.eff_mss
        restart = min(self.cfg.init_cwnd * mss, self.cwnd)
        self.ssthresh = max(self.ssthresh, self.cwnd * 3 // 4)
        cwnd = self.cwnd // mss
        idle -= self.rto
        while idle > 0 and cwnd * mss > restart:
            cwnd >>= 1
            idle -= self.rto
        self.cwnd = max(cwnd * mss, restart)
        self._event(EventKind.CWND_RESTART, EventKind.IDLE_LONGER_THAN_RTO,
                    "RFC 5681 §4.1; Linux tcp_cwnd_restart()", (("cwnd", self.cwnd // mss),))

    def _rtt_sample(self, r: float) -> None:
        """RFC 6298 §2 with Linux's floor: RTO = SRTT + max(4*RTTVAR, TCP_RTO_MIN)."""
        if self.min_rtt is None or r < self.min_rtt:
            self.min_rtt = r
        if self.srtt is None:
            self.srtt, self.rttvar = r, r / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r
        # (never below TCP_RTO_MIN: SRTT >= 0 and the variance term is at least that)
        self.rto = min(self.srtt + max(4 * self.rttvar, self.cfg.rto_min), self.cfg.rto_max)

    def _process_ack(self, seg: Segment, now: float) -> bool:
        """Fifth check of RFC 9293 §3.10.7.4. Returns False when the segment is done."""
        ack = self.seg_ack
        if ack > self.snd_max:
            # the segment is discarded, its data too, and answered with a challenge ACK (RFC
            # 5961 §5.2; Linux tcp_ack() -> tcp_send_challenge_ack(): at most one per
            # tcp_invalid_ratelimit per socket, data or not, and the host-wide limit)
            if not self._oow_limited_any(now) and self._challenge_allowed(now):
                self._send_ack(SendCause.ACK_UNSENT, "RFC 5961 §5.2")
            return False
        acked = ack - self.snd_una
        if acked >= 0:
            self.probes_out = 0        # Linux tcp_ack(): "something worked"
            self.rcv_tstamp = now
        window = seg.window << self.snd_wscale
        if acked > 0:
            del self.sndq[:acked]          # (an ACK of our FIN covers one more: a slice stops)
            self.snd_una = ack
            while self.push_marks and self.push_marks[0] <= ack:
                del self.push_marks[0]
            if self.snd_nxt < ack:
                self.snd_nxt = ack        # after go-back-N, an ACK may cover resent data
        newly_sacked = 0
        # what this ACK delivered (Linux tp->delivered's growth): the bytes it acknowledged
        # cumulatively, less those SACKed before (delivered then), plus those it SACKs now
        delivered = acked if acked > 0 else 0
        if self.sack_ok and (seg.options.sack or self.sacked):
            before = self.sacked_bytes
            if seg.options.sack:
                self._check_dsack(seg.options.sack, ack)
            self._note_sack(seg.options.sack)         # after SND.UNA moved: prune below it
            if acked > 0:
                self._check_sack_reneging(now)
            newly_sacked = max(self.sacked_bytes - before, 0)
            delivered = max(delivered + self.sacked_bytes - before, 0)
        ca_rtt = None
        rack = self._rack                     # made by the first segment sent (Connection.rack)
        if rack is not None and rack.log:
            sack_rtt, ca_rtt = rack.on_ack(self.snd_una, self.sacked, now, self.min_rtt)
            if sack_rtt is not None and acked <= 0:
                self._rtt_sample(sack_rtt)    # tcp_ack_update_rtt(): the SACK's RTT
            # tcp_ack() -> tcp_rack_update_reo_wnd(): there is something to update only
            # while a D-SACK is pending or the reordering window is wider than one step
            if self.sack_ok and (rack.dsack_seen or rack.reo_wnd_steps > 1):
                rack.update_reo_wnd(bool(self.cfg.recovery & TCP_RACK_STATIC_REO_WND))
        in_recovery = self.prr is not None
        if acked > 0:
            self._on_new_ack(acked, now, newly_sacked, ca_rtt)
        elif acked == 0 and self.snd_una != self.snd_max and self.state.synchronized:
            # Linux tcp_ack(): an ACK is a duplicate unless it carries data, advances SND.UNA
            # or updates the window (tcp_may_update_window: a larger or a zero window) — but
            # one that SACKs new data always counts (FLAG_DATA_SACKED, tcp_fastretrans_alert)
            win_update = self.seg_seq > self.snd_wl1 or window > self.snd_wnd or window == 0
            if newly_sacked or (not seg.payload and not int(seg.flags) & FIN and not win_update):
                self._on_dupack(now, newly_sacked)
        if self.sack_ok and self.state.synchronized and self.snd_una != self.snd_max:
            # with SACK, RACK finds the losses (Linux: tcp_is_rack()); only a SACK, or an
            # ACK during recovery, can show a segment delivered while an earlier one is not
            rack_check = (rack is not None and rack.advanced
                          and (bool(self.sacked) or self.prr is not None))
            if rack_check or self.prr is not None or (rack is not None and rack.lost_bytes):
                # (the usual ACK — no SACK blocks, no recovery, nothing marked lost — has
                # nothing to look for and nothing to repair)
                self._sack_loss_recovery(now, delivered, acked > 0, rack_check)
            if in_recovery and self.prr is None:
                self.rack.recovery_done()
        elif self.sack_ok and in_recovery and self.prr is None:
            self.rack.recovery_done()
        # window update (SND.WL1/SND.WL2 rule)
        if self.snd_wl1 < self.seg_seq or (self.snd_wl1 == self.seg_seq and self.snd_wl2 <= ack):
            if window > 0 and self.snd_wnd == 0:
                self.timers.pop("persist", None)       # tcp_ack_probe(): the window opened
                self.probe_backoff, self.probes_tstamp = 0, None
            self.snd_wnd = window
            if window > self.max_window:
                self.max_window = window
            self.snd_wl1, self.snd_wl2 = self.seg_seq, ack
        if "persist" in self.timers:
            self._ack_probe(now)
        st = self.state
        fin_acked = self.fin_seq is not None and ack > self.fin_seq
        if st is FIN_WAIT_1 and fin_acked:
            self._set_state(FIN_WAIT_2)
            if self.orphan:
                self.timers["finwait2"] = now + self.cfg.fin_timeout
        elif st is CLOSING and fin_acked:
            self._enter_time_wait(now)
            return False
        elif st is LAST_ACK and fin_acked:
            self._set_state(CLOSED, StateCause.ACK_OF_OUR_FIN)
            return False
        return True

    def _on_new_ack(self, acked: int, now: float, newly_sacked: int = 0,
                    ca_rtt=None) -> None:
        if self.rtt_seq is not None and self.snd_una >= self.rtt_seq:
            self._rtt_sample(now - self.rtt_time)
            self.rtt_seq = None
        self.retries = 0
        if self.tlp_high_seq is not None and self.snd_una >= self.tlp_high_seq:
            self.tlp_high_seq = None                  # the probe's episode is over
        if self.prr is not None and self.recover is not None and self.snd_una < self.recover:
            # a partial ACK. With SACK, RACK finds what else is lost and PRR paces it
            # (`_sack_loss_recovery`); without, NewReno (RFC 6582 §3.2): the retransmission
            # arrived, the next hole is lost (Linux tcp_newreno_mark_lost())
            if not self.sack_ok:
                self.retrans_out = 0
                self.lost_bytes = self._head_hole()
                self._prr_ack(acked + newly_sacked, True)
                self._retransmit_head(now, SendCause.FAST_RETRANSMIT_PARTIAL)
        else:
            if self.prr is not None:
                # tcp_end_cwnd_reduction(): recovery is over, the window is ssthresh
                self.cwnd = max(min(self.cwnd, self.ssthresh), self.ssthresh)
                self.prr, self.lost_bytes, self.retrans_out = None, 0, 0
            self.dupacks = 0
            if self.recover is not None and self.snd_una >= self.recover:
                self.recover = None
            w = None      # the window both hooks see (made for the first that runs)
            if ca_rtt is not None and self.cwnd < self.ssthresh:
                # .pkts_acked before .cong_avoid (tcp_clean_rtx_queue(), then
                # tcp_cong_control()): CUBIC's HyStart may end slow start here
                w = Window(self.cwnd, self.ssthresh, self.eff_mss, self.min_rtt, self.cwnd_cnt)
                self.cc.acked(w, ca_rtt, now, self.snd_una, self.snd_nxt)
                if w.ssthresh != self.ssthresh:
                    self.ssthresh = w.ssthresh
                    self._event(EventKind.HYSTART_EXIT, "", "Linux tcp_cubic.c hystart_update()",
                                (("cwnd", self.cwnd // self.eff_mss),
                                 ("how", self.cc.hystart_exit[2])))
            prior_in_flight = self.in_flight + acked     # before this ACK
            if (prior_in_flight * 2 > self.cwnd if self.cwnd < self.ssthresh
                    else prior_in_flight + self.eff_mss >= self.cwnd):
                # tcp_cong_avoid() runs only while the window limited the sender
                # (tcp_is_cwnd_limited); the algorithm is the socket's (TCP_CONGESTION)
                if w is None:
                    w = Window(self.cwnd, self.ssthresh, self.eff_mss, self.min_rtt,
                               self.cwnd_cnt)
                self.cc.cong_avoid(w, acked, now)
                self.cwnd, self.cwnd_cnt = w.cwnd, w.cwnd_cnt
        if self.snd_una == self.snd_max:
            self.timers.pop("rto", None)
            self.timers.pop("tlp", None)
        else:
            self._arm_rto(now)                    # RFC 6298 §5.3
            self._schedule_loss_probe(now)

    def _on_dupack(self, now: float, newly_sacked: int = 0) -> None:
        self.dupacks += 1
        if self.sack_ok:
            # with SACK, RACK decides (tcp_time_to_recover(): lost_out; its window is zero
            # once three segments are SACKed — tcp_rack_reo_wnd()): `_sack_loss_recovery`
            return
        if self.dupacks == 3 and (self.recover is None or self.snd_una >= self.recover):
            self._enter_recovery(now, newly_sacked, SendCause.FAST_RETRANSMIT)
        elif self.prr is not None:
            self._prr_ack(self.eff_mss, False)     # without SACK a dup ACK is one segment

    def _enter_recovery(self, now: float, newly_sacked: int, reason: SendCause) -> None:
        """Fast retransmit (RFC 5681 §3.2) with Proportional Rate Reduction (RFC 6937):
        tcp_enter_recovery() -> tcp_init_cwnd_reduction(); ssthresh from the congestion
        control (CUBIC: 0.7 of the window, Reno: half)."""
        mss = self.eff_mss
        self.dupacks = 3
        self.ssthresh = self.cc.ssthresh(self.cwnd, mss)
        self.prr = Prr(self.cwnd, self.ssthresh)
        self.recover = self.snd_max
        self.timers.pop("tlp", None)
        self.tlp_high_seq = None                  # tcp_init_cwnd_reduction()
        if self.sack_ok:
            # RACK marked the lost segments; PRR lets them go (tcp_xmit_retransmit_queue())
            self._prr_ack(newly_sacked or mss, False, True)
            self._xmit_retransmit_queue(now, reason)
            return
        self.timers.pop("reo", None)
        self.lost_bytes = self._head_hole()
        self._prr_ack(newly_sacked or mss, False)
        self._retransmit_head(now, reason)

    def _prr_ack(self, delivered: int, una_advanced: bool, newly_lost: bool = False) -> None:
        cwnd = self.prr.on_ack(delivered, self.pipe, una_advanced, newly_lost, self.eff_mss)
        if cwnd >= 0:
            self.cwnd = cwnd

    @property
    def pipe(self) -> int:
        """Bytes in the network (RFC 6675 pipe, Linux tcp_packets_in_flight): sent, minus
        what the peer SACKed (or, without SACK, what duplicate ACKs said arrived) and what
        recovery marked lost, plus retransmissions."""
        in_flight = self.in_flight
        if self.prr is None and not self.sacked:
            # the usual case: outside recovery (which alone sets the lost and resent marks)
            # with nothing SACKed, every byte sent is still in the network
            return in_flight
        if self.sack_ok:
            # in recovery, RACK's lost marks (lost_out) left the network; a resent segment
            # is back in flight. (After a timeout simtcp goes back to SND.UNA instead.)
            lost = self.rack.lost_bytes if self.prr is not None else 0
            return max(in_flight - self.sacked_bytes - lost, 0)
        gone = min(self.dupacks, 3) * self.eff_mss if self.prr is not None else 0
        return max(in_flight - gone - self.lost_bytes + self.retrans_out, 0)

    def _retransmit_head(self, now: float, reason: "SendCause") -> None:
        size = min(self.eff_mss, len(self.sndq))
        for start, _end in self.sacked:               # stop at the first SACKed block
            gap = start - self.snd_una
            if 0 < gap < size:
                size = gap
        self._retransmit_at(now, self.snd_una, size, reason)

    def _retransmit_at(self, now: float, seq: int, size: int, reason: "SendCause",
                       rfc: str = "RFC 5681 §3.2; RFC 6937") -> None:
        """Resend ``size`` bytes from ``seq`` (and the FIN if it follows them; Linux
        tcp_retransmit_skb()). The retransmission timer restarts when the first
        unacknowledged segment goes (tcp_xmit_retransmit_queue(): rtx_head)."""
        offset = seq - self.snd_una
        payload = bytes(self.sndq[offset:offset + min(size, self.eff_mss)])
        size = len(payload)
        flags = ACK | self._push_flag(seq, size)
        if self.fin_seq is not None and seq + size == self.fin_seq and size < self.eff_mss:
            flags |= FIN
        if not payload and not flags & FIN:
            if self.fin_seq is not None and seq == self.fin_seq:
                flags |= FIN
            else:
                return
        self._emit(flags, seq, payload, reason=reason, rfc=rfc)
        self.rack.sent(seq, seq + size + (1 if flags & FIN else 0), now, True)
        self.total_retrans += 1
        self.bytes_retrans += size
        if self.prr is not None:
            self.prr.sent(size)
            if not self.sack_ok:
                self.retrans_out += size
        self.rtt_seq = None
        if seq == self.snd_una:
            self._arm_rto(now)
