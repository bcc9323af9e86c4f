"""The persist timer of a TCP connection: probing a closed window (RFC 9293 §3.8.6.1).

Theory of operation: `Persist` is a mixin of `tcp.Connection` (through `tcpsend.Sender`; it
uses the connection's TCB fields). When the peer's window is closed and nothing is in
flight, no ACK will ever arrive to reopen it, so `tcpsend.Sender._output` arms the
"persist" deadline; when it fires, `_probe_timer` sends a zero-window probe (or, for a
window smaller than a segment, what fits) and backs off exponentially like Linux
tcp_probe_timer()/tcp_send_probe0() (net/ipv4/tcp_timer.c, tcp_output.c). Every ACK resets
the count of unanswered probes; tcp_retries2 unanswered probes in a row, TCP_USER_TIMEOUT,
or tcp_orphan_retries for a closed socket end the connection with ETIMEDOUT.
"""
from __future__ import annotations

import errno as _errno

from .segment import Flags
from .reasons import EventKind, SendCause, StateCause
from .states import State
from .tcpconfig import orphan_retries

ACK = int(Flags.ACK)


class Persist:
    """The persist timer for `tcp.Connection` (see the module docstring)."""

    __slots__ = ()

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
            self._send_data(now, ACK | self._push_flag(self.snd_nxt, size),
                            bytes(self.sndq[:size]))
            self._schedule_loss_probe(now)
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
