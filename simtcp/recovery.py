"""Loss recovery pieces Linux runs by default: Proportional Rate Reduction and the tail loss
probe's timing.

Theory of operation: `Prr` is RFC 6937 as Linux tcp_cwnd_reduction() computes it. On entering
fast recovery the sender remembers the window it had (``prior_cwnd``) and the new ssthresh;
then, for every ACK during recovery, ``on_ack`` is told how many bytes that ACK newly
delivered (cumulatively acknowledged or SACKed) and how many bytes are still in the network
(``pipe``), and returns the congestion window: ``pipe + sndcnt``. While the pipe is above
ssthresh, PRR sends in proportion to what was delivered (ssthresh / prior_cwnd of it), so the
window slides down smoothly instead of halving at once; once below, it grows back towards
ssthresh no faster than slow start (PRR-SSRB). ``sent`` counts what recovery transmitted.

`Rack` is RACK's loss detection (RFC 8985 §6; Linux net/ipv4/tcp_recovery.c): the sender
remembers when each segment was last (re)transmitted; an ACK or SACK that delivers a
segment makes RACK remember the most recently *sent* segment known delivered and its RTT
(``advance``, tcp_rack_advance()); a segment sent before that one and still undelivered is
lost once RACK.rtt plus a reordering window has passed since it was sent (``detect_loss``,
tcp_rack_detect_loss()) — time, not a count of duplicate ACKs. One that is not yet that old
gives the time to wait: the connection arms the reordering timer for it
(tcp_rack_reo_timeout()). ``lost_bytes`` is what is marked lost and not yet resent (Linux
lost_out): the pipe leaves it out, and recovery resends every such segment the window
allows (tcp_xmit_retransmit_queue()).

The reordering window adapts (RFC 8985 §6.2 step 4; Linux tcp_rack_update_reo_wnd()):
``reord_seen`` counts deliveries that showed reordering (an original segment delivered
below one SACKed earlier: tcp_sacktag_one(), tcp_clean_rtx_queue() ->
tcp_check_sack_reordering()); once there is some, a D-SACK for a retransmission
(``dsack``, tcp_dsack_seen()) means RACK resent too early, and the next ACK widens the
window by one step of min_RTT / 4 (``update_reo_wnd``), at most once per round trip
(``last_delivered``), kept for 16 recoveries (``reo_wnd_persist``), then back to one step.

`tlp_timeout` is the probe timeout of RACK-TLP (RFC 8985 §7.2; Linux tcp_schedule_loss_probe):
two smoothed RTTs, plus the worst-case delayed-ACK time when a single segment is in flight,
but never later than the retransmission timer would fire.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import List, Optional, Sequence, Tuple

TCP_RTO_MIN = 0.2           # include/net/tcp.h: the delayed-ACK allowance for a lone segment
TCP_TIMEOUT_MIN = 0.002     # 2 jiffies at HZ=1000


@dataclass
class Prr:
    """RFC 6937 state for one fast recovery (Linux tp->prior_cwnd, prr_delivered, prr_out)."""

    prior_cwnd: int
    ssthresh: int
    delivered: int = 0
    out: int = 0

    def on_ack(self, newly_delivered: int, pipe: int, una_advanced: bool, newly_lost: bool,
               mss: int) -> int:
        """tcp_cwnd_reduction(): the window after an ACK that delivered ``newly_delivered``
        bytes while ``pipe`` bytes remain in flight."""
        if newly_delivered <= 0:
            return -1                               # no change
        self.delivered += newly_delivered
        delta = self.ssthresh - pipe
        if delta < 0:                               # proportional part (RFC 6937 §3.1)
            # Linux counts packets: ceil(ssthresh * prr_delivered / prior_cwnd) segments
            sndcnt = -(-(self.ssthresh * self.delivered) // (self.prior_cwnd * mss)) * mss \
                - self.out
        else:                                       # slow-start reduction bound
            sndcnt = max(self.delivered - self.out, newly_delivered)
            if una_advanced and not newly_lost:
                sndcnt += mss
            sndcnt = min(delta, sndcnt)
        sndcnt = max(sndcnt, 0 if self.out else mss)   # "force a fast retransmit"
        return pipe + sndcnt

    def sent(self, nbytes: int) -> None:
        self.out += nbytes


def tlp_timeout(srtt: float, segments_out: int, rto_left: float) -> float:
    """RFC 8985 §7.2 PTO as Linux computes it: 2*SRTT (+ TCP_RTO_MIN when one segment is out,
    for the peer's delayed ACK; else + 2 ms), capped by the time the RTO would fire."""
    pto = 2 * srtt + (TCP_RTO_MIN if segments_out == 1 else TCP_TIMEOUT_MIN)
    return min(pto, rto_left) if rto_left > 0 else pto


START, END, SENT, RETRANS, SACKED, LOST, TXD = range(7)  # fields of a Rack.log entry
TCP_RACK_RECOVERY_THRESH = 16   # include/net/tcp.h: recoveries a widened window persists


class Rack:
    """RFC 8985 RACK state of one sender (Linux tp->rack and the skbs' transmit times)."""

    __slots__ = ("log", "mstamp", "end_seq", "rtt", "advanced", "lost_bytes", "delivered",
                 "prior_delivered", "reord_seen", "dsack_dups", "dsack_seen", "reo_wnd_steps",
                 "reo_wnd_persist", "last_delivered", "fack", "sacked_out", "reord_metric")

    def __init__(self) -> None:
        # one entry per transmitted segment, ascending by sequence number: [start, end
        # (unwrapped, simtcp.seq), last (re)transmission time, retransmitted, SACKed, marked
        # lost, segments delivered when it was sent (tx.delivered)] — an empty tuple while
        # nothing is in flight (most connections of a big run never send data: they keep no
        # list)
        self.log: Sequence[list] = ()
        self.mstamp: Optional[float] = None     # RACK.xmit_ts of the newest delivered segment
        self.end_seq: Optional[int] = None      # RACK.end_seq
        self.rtt = 0.0                          # RACK.rtt
        self.advanced = False                   # a delivery since the last loss check
        self.lost_bytes = 0                     # marked lost, not resent since (lost_out)
        self.delivered = 0                      # segments delivered so far (tp->delivered)
        self.prior_delivered = 0                # rs.prior_delivered of the last ACK
        self.reord_seen = 0                     # tp->reord_seen
        self.dsack_dups = 0                     # tp->dsack_dups
        self.dsack_seen = False                 # tp->rack.dsack_seen
        self.reo_wnd_steps = 1                  # tp->rack.reo_wnd_steps (of min_RTT / 4)
        self.reo_wnd_persist = 0                # tp->rack.reo_wnd_persist
        self.last_delivered = 0                 # tp->rack.last_delivered
        self.fack: Optional[int] = None         # end of the highest SACKed segment
        self.sacked_out = 0                     # segments SACKed above SND.UNA (sacked_out)
        self.reord_metric = 0                   # the farthest reordering seen, in bytes

    def sent(self, start: int, end: int, now: float, retrans: bool) -> None:
        """A segment [start, end) left now (tcp_skb_timestamp). New data is appended; a
        retransmission restamps every entry it covers (the kernel's time-sorted queue moves
        them to its tail) and clears their lost mark."""
        log = self.log
        if not retrans or not log or start >= log[-1][END]:
            if log and start < log[-1][END]:
                start = log[-1][END]
            if start < end:
                entry = [start, end, now, retrans, False, False, self.delivered]
                if log:
                    log.append(entry)
                else:
                    self.log = [entry]
            return
        for e in log:
            if e[START] >= end:
                break
            if e[END] > start:
                if e[LOST]:
                    self.lost_bytes -= e[END] - e[START]
                e[SENT], e[RETRANS], e[LOST], e[TXD] = now, True, False, self.delivered

    def _advance(self, e: list, now: float, min_rtt: Optional[float]) -> None:
        """tcp_rack_advance(): RACK follows the most recently sent delivered segment. A
        retransmission ACKed faster than the minimum RTT was probably not what arrived (the
        original was), so it does not count (RFC 8985 §6.2 step 2)."""
        rtt = now - e[SENT]
        if e[RETRANS] and min_rtt is not None and rtt < min_rtt:
            return
        self.advanced = True
        self.rtt = rtt
        if (self.mstamp is None or e[SENT] > self.mstamp
                or (e[SENT] == self.mstamp and e[END] > self.end_seq)):
            self.mstamp, self.end_seq = e[SENT], e[END]

    def on_ack(self, una: int, sacked: Sequence[Tuple[int, int]], now: float,
               min_rtt: Optional[float]) -> Tuple[Optional[float], Optional[float]]:
        """Entries newly SACKed (tcp_sacktag_one()), then newly acknowledged below ``una``
        (tcp_clean_rtx_queue()), advance RACK. Returns (the RTT of the newest newly SACKed
        never-retransmitted segment, for tcp_ack_update_rtt(); the RTT of the newest newly
        delivered one, ca_rtt_us for the congestion control) — None where there is none, and
        no ca_rtt at all when retransmitted data was acknowledged (Karn)."""
        sample = None
        ca_rtt: Optional[float] = None
        retrans_acked = False
        log = self.log
        # the highest SACKed sequence before this ACK (tcp_highest_sack_seq(): prior_fack)
        fack = prior_fack = self.fack
        reord = None            # the lowest original segment delivered below it
        prior = 0
        if sacked:
            for e in log:
                if e[SACKED]:
                    continue
                for left, right in sacked:
                    if left <= e[START] and e[END] <= right:
                        e[SACKED] = True
                        self.sacked_out += 1
                        if e[LOST]:
                            self.lost_bytes -= e[END] - e[START]
                            e[LOST] = False
                        self._advance(e, now, min_rtt)
                        self.delivered += 1
                        prior = max(prior, e[TXD])
                        if not e[RETRANS]:
                            sample = now - e[SENT]
                            ca_rtt = sample if ca_rtt is None else min(ca_rtt, sample)
                            # "New sack for not retransmitted frame, which was in hole. It
                            # is reordering." (tcp_sacktag_one())
                            if fack is not None and e[START] < fack and reord is None:
                                reord = e[START]
                        if fack is None or e[END] > fack:
                            fack = e[END]
                        break
        done = 0                            # entries wholly below the cumulative ACK
        for e in log:
            if e[END] > una:
                break
            if e[LOST]:
                self.lost_bytes -= e[END] - e[START]
            if e[SACKED]:
                self.sacked_out -= 1
            else:
                self._advance(e, now, min_rtt)
                self.delivered += 1
                prior = max(prior, e[TXD])
                if e[RETRANS]:
                    retrans_acked = True
                else:
                    rtt = now - e[SENT]
                    ca_rtt = rtt if ca_rtt is None else min(ca_rtt, rtt)
                    if prior_fack is not None and e[START] < prior_fack and reord is None:
                        reord = e[START]        # tcp_clean_rtx_queue(): before(reord, prior_fack)
            done += 1
        if done == len(log):
            self.log = ()                   # everything delivered: nothing to remember
        elif done:
            del log[:done]
        if reord is not None:
            # tcp_check_sack_reordering(): how far below the highest SACK it was delivered
            self.reord_seen += 1
            top = fack if fack is not None and fack > una else una
            self.reord_metric = max(self.reord_metric, top - reord)
        self.fack = fack if fack is not None and fack > una else None
        self.prior_delivered = prior
        return sample, (None if retrans_acked else ca_rtt)

    def reordering(self, mss: int) -> int:
        """tp->reordering: 3 (net.ipv4.tcp_reordering) until reordering farther than that
        many segments is seen, then that distance in segments, at most 300
        (tcp_max_reordering; tcp_check_sack_reordering())."""
        return min(max(3, -(-self.reord_metric // max(mss, 1))), 300)

    def dsack(self, start: int, end: int, mss: int, max_window: int,
              tlp_high_seq: Optional[int], total_retrans: int) -> bool:
        """tcp_dsack_seen(): the peer reported [start, end) twice (RFC 2883). Dubious ones
        (longer than the peer's largest window, or more duplicates than we ever resent) are
        ignored; one that follows reordering and is not a tail loss probe's duplicate
        means RACK resent too early (rack.dsack_seen)."""
        length = end - start
        if length <= 0 or length > max_window:
            return False
        tlp = False
        dups = 1
        if length > mss:
            dups = -(-length // mss)
        elif tlp_high_seq is not None and tlp_high_seq == end:
            tlp = True                          # FLAG_DSACK_TLP
        self.dsack_dups += dups
        if self.dsack_dups > total_retrans:
            return False
        if self.reord_seen and not tlp:
            self.dsack_seen = True
        self.delivered += dups                  # "A spurious retransmission is delivered"
        return True

    def update_reo_wnd(self, static: bool) -> None:
        """tcp_rack_update_reo_wnd() after an ACK that delivered something: a pending D-SACK
        widens the window by one step (at most once per round trip: not for data sent
        before the last widening) and keeps it for TCP_RACK_RECOVERY_THRESH recoveries;
        with none pending and none kept, the window is back to one step.
        net.ipv4.tcp_recovery & TCP_RACK_STATIC_REO_WND (0x2) turns this off."""
        if static or not self.prior_delivered:
            return
        if self.prior_delivered < self.last_delivered:
            self.dsack_seen = False
        if self.dsack_seen:
            self.reo_wnd_steps = min(0xFF, self.reo_wnd_steps + 1)
            self.dsack_seen = False
            self.last_delivered = self.delivered
            self.reo_wnd_persist = TCP_RACK_RECOVERY_THRESH
        elif not self.reo_wnd_persist:
            self.reo_wnd_steps = 1

    def recovery_done(self) -> None:
        """tcp_try_undo_recovery(): a recovery ended (and was not undone: undo is not
        modelled), one fewer to keep a widened window for."""
        if self.reo_wnd_persist:
            self.reo_wnd_persist -= 1

    def detect_loss(self, now: float, reo_wnd: float) -> Tuple[int, float]:
        """tcp_rack_detect_loss(): mark lost every undelivered segment sent before RACK's
        whose RACK.rtt + reo_wnd has passed since it was sent (RFC 8985 §6.2 step 5);
        returns (segments newly marked lost, seconds until the next one would be: 0 if
        none)."""
        self.advanced = False
        if self.mstamp is None:
            return 0, 0.0
        lost, timeout = 0, 0.0
        for e in sorted(self.log, key=lambda x: (x[SENT], x[END])):
            if e[SACKED] or e[LOST]:      # lost and not retransmitted since: known
                continue
            if not (self.mstamp > e[SENT] or (self.mstamp == e[SENT] and self.end_seq > e[END])):
                break                     # sent at or after RACK's segment: nothing to say
            remaining = self.rtt + reo_wnd - (now - e[SENT])
            if remaining <= 1e-9:
                e[LOST] = True            # tcp_mark_skb_lost()
                self.lost_bytes += e[END] - e[START]
                lost += 1
            else:
                timeout = max(timeout, remaining)
        return lost, timeout

    def reset(self) -> None:
        """A retransmission timeout: every mark is void (tcp_timeout_mark_lost())."""
        for e in self.log:
            e[LOST] = False
        self.lost_bytes = 0

    def retrans_in_flight(self) -> int:
        """Bytes resent and neither SACKed nor marked lost again since (Linux retrans_out)."""
        return sum(e[END] - e[START] for e in self.log
                   if e[RETRANS] and not e[SACKED] and not e[LOST])

    def lost_segments(self) -> List[Tuple[int, int]]:
        """The segments marked lost and not resent since, in sequence order: what
        tcp_xmit_retransmit_queue() resends."""
        return [(e[START], e[END]) for e in self.log if e[LOST] and not e[SACKED]]
