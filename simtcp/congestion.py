"""Congestion control as small objects chosen by name: Reno and CUBIC, as Linux runs them.

Theory of operation: a connection owns one `CongestionControl` (``make("cubic")``), picked by
``net.ipv4.tcp_congestion_control`` or the TCP_CONGESTION socket option. The connection keeps
the window itself (``cwnd``, ``ssthresh`` in bytes) and asks the object three questions, the
hooks of Linux's ``struct tcp_congestion_ops``:

* ``ssthresh(cwnd, mss)`` — the slow-start threshold after a loss (``.ssthresh``): Reno
  halves the window, CUBIC keeps beta = 717/1024 ≈ 0.7 of it and remembers W_max;
* ``cong_avoid(window, acked, now)`` — grow the window for ``acked`` newly acknowledged bytes
  (``.cong_avoid``): slow start up to ssthresh (tcp_slow_start), then additive increase of
  one segment per ``cnt`` segments acknowledged (tcp_cong_avoid_ai) — Reno's cnt is the
  window, CUBIC's follows the cubic curve W(t) = C (t - K)^3 + W_max (RFC 9438 §4.2);
* ``event(kind, now)`` — CA_EVENT_LOSS (a retransmission timeout restarts the cubic epoch)
  and CA_EVENT_TX_START (sending resumes after idle: the epoch moves by the idle time).

Linux counts the window in segments; here ``Window`` carries bytes and converts with the MSS,
so the arithmetic per segment is the kernel's. Floating point replaces the kernel's fixed
point (deterministic all the same).

CUBIC also leaves slow start early with HyStart (Linux hystart_update(), called from
``.pkts_acked`` with the RTT of the newest segment each ACK delivered — ``acked`` here):
once cwnd reaches ``hystart_low_window`` (16) segments it ends slow start (ssthresh = cwnd)
when, in one round of ACKs, either the ACKs keep coming closer than
``hystart_ack_delta_us`` (2 ms) apart for longer than half the minimum RTT (the "ACK train":
the pipe is full), or the smallest of at least 8 RTT samples exceeds the minimum RTT by
clamp(min RTT / 8, 4 ms, 16 ms) (a queue is building up). The module parameters
``hystart``, ``hystart_detect`` (1 train, 2 delay, 3 both), ``hystart_low_window`` and
``hystart_ack_delta_us`` are the sysctls ``tcp_cubic.hystart`` … (the kernel command-line
spelling of module parameters; /sys/module/tcp_cubic/parameters/ on a running system).
"""
from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from typing import Dict, Optional, Type

CA_EVENT_LOSS = "loss"              # retransmission timeout (tcp_enter_loss)
CA_EVENT_TX_START = "tx_start"      # first transmission with nothing in flight


@dataclass
class Window:
    """What congestion control reads and changes, in bytes (Linux: packets)."""

    cwnd: int
    ssthresh: int
    mss: int
    min_rtt: Optional[float] = None     # seconds; CUBIC adds it to the epoch's time
    cwnd_cnt: int = 0                   # segments acknowledged towards the next increase


_INF = float("inf")


@lru_cache(maxsize=64)
def _seconds(us: int) -> float:
    """``us`` microseconds in seconds, one shared float per value (one CUBIC per connection:
    100,000 connections need not hold 100,000 copies of the same number)."""
    return us / 1e6


class CongestionControl:
    """The interface (Linux struct tcp_congestion_ops); see the module docstring."""

    __slots__ = ()                        # one per connection: no per-instance dict
    name = ""

    def ssthresh(self, cwnd: int, mss: int) -> int:
        raise NotImplementedError

    def cong_avoid(self, w: Window, acked: int, now: float) -> None:
        raise NotImplementedError

    def event(self, kind: str, now: float, idle: float = 0.0) -> None:
        """A congestion-avoidance event (tcp_ca_event); most algorithms ignore it."""

    def acked(self, w: Window, rtt: float, now: float, snd_una, snd_nxt) -> None:
        """An ACK delivered new data; ``rtt`` is the RTT of the newest segment it delivered
        (.pkts_acked with ack_sample.rtt_us). Reno ignores it; CUBIC runs HyStart."""

    # -------------------------------------------------- shared kernel helpers
    @staticmethod
    def slow_start(w: Window, acked_segs: int) -> int:
        """tcp_slow_start(): cwnd grows by one segment per segment acknowledged, up to
        ssthresh; returns the segments left over for congestion avoidance."""
        cwnd = w.cwnd // w.mss
        new = max(min(cwnd + acked_segs, w.ssthresh // w.mss), cwnd)
        w.cwnd = new * w.mss
        return acked_segs - (new - cwnd)

    @staticmethod
    def cong_avoid_ai(w: Window, per: float, acked_segs: int) -> None:
        """tcp_cong_avoid_ai(): one more segment for every ``per`` segments acknowledged."""
        cwnd = w.cwnd // w.mss
        if w.cwnd_cnt >= per:
            w.cwnd_cnt = 0
            cwnd += 1
        w.cwnd_cnt += acked_segs
        if w.cwnd_cnt >= per:
            delta = int(w.cwnd_cnt // per)
            w.cwnd_cnt -= int(delta * per)
            cwnd += delta
        w.cwnd = cwnd * w.mss


class Reno(CongestionControl):
    """RFC 5681 as Linux tcp_reno_*: halve on loss, +1 segment per window per RTT."""

    __slots__ = ()
    name = "reno"

    def ssthresh(self, cwnd: int, mss: int) -> int:
        return max(cwnd // mss // 2, 2) * mss           # tcp_reno_ssthresh()

    def cong_avoid(self, w: Window, acked: int, now: float) -> None:
        segs = -(-acked // w.mss)          # segments (a partial one counts, as an skb)
        if w.cwnd < w.ssthresh:
            segs = self.slow_start(w, segs)
            if not segs:
                return
        self.cong_avoid_ai(w, w.cwnd // w.mss, segs)


class Cubic(CongestionControl):
    """CUBIC (RFC 9438; Linux net/ipv4/tcp_cubic.c): after a loss the window climbs a cubic
    curve back towards W_max, flat near it, then probes beyond; never slower than Reno."""

    __slots__ = ("hystart", "hystart_detect", "hystart_low_window", "hystart_ack_delta",
                 "last_max_cwnd", "epoch_start", "k", "origin", "ack_cnt", "tcp_cwnd", "cnt",
                 "delay_min", "found", "round_end", "round_start", "last_ack", "curr_rtt",
                 "sample_cnt", "hystart_exit")
    name = "cubic"
    C = 0.4                               # RFC 9438 §5.1 (Linux bic_scale 41 / 1024 * 10)
    BETA = 717 / 1024                     # Linux beta (RFC 9438: 0.7)
    BETA_SCALE = 8 * (1024 + 717) // 3 // (1024 - 717)   # Reno-friendly slope (= 15)

    HYSTART_MIN_SAMPLES = 8
    HYSTART_DELAY_MIN, HYSTART_DELAY_MAX = 0.004, 0.016
    GSO_MAX_SIZE = 65536                  # sk_gso_max_size (hystart_ack_delay())

    def __init__(self, hystart: int = 1, hystart_detect: int = 3, hystart_low_window: int = 16,
                 hystart_ack_delta_us: int = 2000) -> None:
        self.hystart, self.hystart_detect = hystart, hystart_detect
        self.hystart_low_window = hystart_low_window
        self.hystart_ack_delta = _seconds(hystart_ack_delta_us)
        self.last_max_cwnd = 0.0          # W_max, segments
        self.reset()
        self.delay_min = 0.0              # HyStart's minimum RTT (ca->delay_min)
        self.found = False                # HyStart ended this slow start
        self.round_end = None             # SND.NXT when the round began (ca->end_seq)
        self.round_start = self.last_ack = 0.0
        self.curr_rtt = _INF
        self.sample_cnt = 0
        self.hystart_exit = None          # (time, cwnd, "train" | "delay") once it fired

    def reset(self) -> None:
        """bictcp_reset(): forget the epoch and W_max (after a timeout)."""
        self.epoch_start = None           # Optional[float]: when this epoch began
        self.last_max_cwnd = 0.0
        self.k = 0.0
        self.origin = 0.0
        self.ack_cnt = 0
        self.tcp_cwnd = 0.0               # the Reno-friendly estimate (RFC 9438 §4.3 W_est)
        self.cnt = 0.0

    def ssthresh(self, cwnd: int, mss: int) -> int:
        """cubictcp_recalc_ssthresh(): W_max with fast convergence (RFC 9438 §4.7)."""
        segs = cwnd // mss
        self.epoch_start = None
        if segs < self.last_max_cwnd:
            self.last_max_cwnd = segs * (1 + self.BETA) / 2
        else:
            self.last_max_cwnd = segs
        return max(int(segs * self.BETA), 2) * mss

    def event(self, kind: str, now: float, idle: float = 0.0) -> None:
        if kind == CA_EVENT_LOSS:
            self.reset()                  # cubictcp_state(TCP_CA_Loss)
            self.delay_min, self.found = 0.0, False    # bictcp_reset() + hystart reset
            self.round_end = None
        elif kind == CA_EVENT_TX_START and self.epoch_start is not None and idle > 0:
            # cubictcp_cwnd_event(): the idle time is not growth time
            self.epoch_start = min(self.epoch_start + idle, now)

    # ------------------------------------------------------------------ HyStart
    def acked(self, w: Window, rtt: float, now: float, snd_una, snd_nxt) -> None:
        """cubictcp_acked(): keep the minimum delay; in slow start, run HyStart."""
        if self.epoch_start is not None and now - self.epoch_start < 1.0:
            return                        # samples right after a recovery are noise
        delay = max(rtt, 1e-6)
        if not self.delay_min or self.delay_min > delay:
            self.delay_min = delay
        if not self.found and w.cwnd < w.ssthresh and self.hystart:
            self._hystart_update(w, delay, now, snd_una, snd_nxt)

    def _hystart_update(self, w: Window, delay: float, now: float, snd_una, snd_nxt) -> None:
        """hystart_update() (net/ipv4/tcp_cubic.c); ``found`` sets ssthresh = cwnd."""
        if self.round_end is None or snd_una > self.round_end:
            # bictcp_hystart_reset(): a new round of ACKs begins
            self.round_start = self.last_ack = now
            self.round_end = snd_nxt
            self.curr_rtt, self.sample_cnt = _INF, 0
        cwnd = w.cwnd // w.mss
        if cwnd < self.hystart_low_window:
            return
        how = None
        if self.hystart_detect & 1 and now - self.last_ack <= self.hystart_ack_delta:
            self.last_ack = now
            # the ACK train lasted longer than half the minimum RTT (plus the GSO cushion
            # of hystart_ack_delay(): 64 KB at the slow-start pacing rate, at most 1 ms)
            rate = 2 * w.cwnd / self.delay_min if self.delay_min else 0.0
            cushion = min(0.001, self.GSO_MAX_SIZE * 4 / rate) if rate else 0.0
            if now - self.round_start > (self.delay_min + cushion) / 2:
                how = "train"
        if self.hystart_detect & 2:
            self.curr_rtt = min(self.curr_rtt, delay)
            if self.sample_cnt < self.HYSTART_MIN_SAMPLES:
                self.sample_cnt += 1
            elif self.curr_rtt > self.delay_min + min(max(self.delay_min / 8,
                                                          self.HYSTART_DELAY_MIN),
                                                      self.HYSTART_DELAY_MAX):
                how = how or "delay"
        if how is not None:
            self.found = True
            self.hystart_exit = (now, cwnd, how)
            w.ssthresh = w.cwnd           # tp->snd_ssthresh = tcp_snd_cwnd(tp)

    def cong_avoid(self, w: Window, acked: int, now: float) -> None:
        segs = -(-acked // w.mss)          # segments (a partial one counts, as an skb)
        if w.cwnd < w.ssthresh:
            segs = self.slow_start(w, segs)
            if not segs:
                return
        self._update(w.cwnd // w.mss, segs, now, w.min_rtt or 0.0)
        self.cong_avoid_ai(w, self.cnt, segs)

    def _update(self, cwnd: int, acked: int, now: float, delay_min: float) -> None:
        """bictcp_update(): how many segments must be acknowledged per increase (cnt)."""
        self.ack_cnt += acked
        if self.epoch_start is None:
            self.epoch_start = now
            self.ack_cnt = acked
            self.tcp_cwnd = cwnd
            if self.last_max_cwnd <= cwnd:
                self.k, self.origin = 0.0, float(cwnd)
            else:   # K = cbrt(W_max (1 - beta) / C) in RFC terms, from the current window
                self.k = ((self.last_max_cwnd - cwnd) / self.C) ** (1 / 3)
                self.origin = self.last_max_cwnd
        t = now + delay_min - self.epoch_start          # one RTT ahead, as the kernel does
        target = self.origin + self.C * (t - self.k) ** 3
        cnt = cwnd / (target - cwnd) if target > cwnd else 100.0 * cwnd
        if self.last_max_cwnd == 0 and cnt > 20:
            cnt = 20.0                    # the first epoch: at least 5 % per ACK train
        # Reno-friendly region (RFC 9438 §4.3): never grow slower than standard TCP would
        delta = cwnd * self.BETA_SCALE / 8
        while delta > 0 and self.ack_cnt > delta:
            self.ack_cnt -= delta
            self.tcp_cwnd += 1
        if self.tcp_cwnd > cwnd:
            cnt = min(cnt, cwnd / (self.tcp_cwnd - cwnd))
        self.cnt = max(cnt, 2.0)


ALGORITHMS: Dict[str, Type[CongestionControl]] = {"cubic": Cubic, "reno": Reno}


def make(name: str, params: Optional[dict] = None) -> CongestionControl:
    """A fresh congestion control by its Linux name (ValueError for an unknown one);
    ``params`` are its module parameters (CUBIC: the HyStart ones)."""
    try:
        cls = ALGORITHMS[name]
    except KeyError:
        raise ValueError(f"unknown congestion control {name!r}; available: "
                         f"{' '.join(ALGORITHMS)}") from None
    return cls(**params) if params and cls is Cubic else cls()
