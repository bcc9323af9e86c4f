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

`tlp_timeout` is the probe timeout of RACK-TLP (RFC 8985 §7.2; Linux tcp_schedule_loss_probe):
two smoothed RTTs, plus the worst-case delayed-ACK time when a single segment is in flight,
but never later than the retransmission timer would fire.
"""
from __future__ import annotations

from dataclasses import dataclass

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
            sndcnt = -(-(self.ssthresh * self.delivered) // self.prior_cwnd) - self.out
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
