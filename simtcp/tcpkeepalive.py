"""TCP keepalive for a connection (RFC 1122 §4.2.3.6; Linux tcp_keepalive_timer()).

Theory of operation: `Keepalive` is a mixin of `tcp.Connection` (through `tcpsend.Sender`;
it uses the connection's TCB fields). With SO_KEEPALIVE the connection keeps a
``"keepalive"`` deadline (Linux sk_timer): armed keepalive_time after the connection is
established (tcp_finish_connect(), tcp_create_openreq_child()) or when the option is set
(tcp_set_keepalive()). When it fires, `_keepalive_timer` does what
net/ipv4/tcp_timer.c tcp_keepalive_timer() does: while data is in flight or waiting, the
connection is evidently alive and the timer just waits another keepalive_time; otherwise,
once nothing has arrived for keepalive_time (the later of the last data and the last ACK,
keepalive_time_elapsed()), it sends a probe — an ACK with the old sequence number
SND.UNA - 1 and no data, which the peer must answer (tcp_write_wakeup() ->
tcp_xmit_probe_skb()) — every keepalive_intvl, and after keepalive_probes unanswered
probes (or, with TCP_USER_TIMEOUT, once that much silence has passed) resets the
connection with ETIMEDOUT. Any ACK resets the count (tcp_ack(): icsk_probes_out = 0).

The times are the socket's TCP_KEEPIDLE / TCP_KEEPINTVL / TCP_KEEPCNT, else the sysctls
net.ipv4.tcp_keepalive_time / _intvl / _probes (`tcpconfig.TcpConfig`).
"""
from __future__ import annotations

import errno as _errno

from .segment import Flags
from .reasons import EventKind, SendCause, StateCause
from .states import State

ACK = int(Flags.ACK)


class Keepalive:
    """SO_KEEPALIVE probing for `tcp.Connection` (see the module docstring)."""

    __slots__ = ()

    def arm_keepalive(self, now: float, delay: float) -> None:
        """inet_csk_reset_keepalive_timer(): (re)start the keepalive deadline."""
        self.timers["keepalive"] = now + delay

    def set_keepalive(self, now: float, on: bool) -> None:
        """SO_KEEPALIVE on a live connection (tcp_set_keepalive()): switching it on arms the
        timer keepalive_time from now (not in CLOSE or LISTEN); off stops it."""
        was = self.cfg.keepalive
        self.own_config().keepalive = on
        if not on:
            self.timers.pop("keepalive", None)
        elif not was and self.state not in (State.CLOSED, State.LISTEN):
            self.arm_keepalive(now, self.cfg.keepalive_time)

    def set_keepidle(self, now: float, seconds: float) -> None:
        """TCP_KEEPIDLE on a live connection with keepalive on
        (tcp_sock_set_keepidle_locked()): the timer fires keepalive_time after the last
        thing heard, or at once if that is already past."""
        self.own_config().keepalive_time = seconds
        if self.cfg.keepalive and self.state not in (State.CLOSED, State.LISTEN):
            self.arm_keepalive(now, max(seconds - self._keepalive_elapsed(now), 0.0))

    def _keepalive_elapsed(self, now: float) -> float:
        """keepalive_time_elapsed(): time since the last data or ACK arrived."""
        return min(now - self.lrcvtime, now - self.rcv_tstamp)

    def _keepalive_timer(self, now: float) -> None:
        """The keepalive timer fired (Linux tcp_keepalive_timer(), net/ipv4/tcp_timer.c)."""
        cfg = self.cfg
        if not cfg.keepalive or self.state in (State.CLOSED, State.SYN_SENT, State.LISTEN):
            return
        if self.orphan and self.state is State.FIN_WAIT_2:
            return      # the FIN-WAIT-2 timeout took sk_timer over (tcp_close())
        if self.snd_nxt != self.snd_una or self.unsent > 0:
            self.arm_keepalive(now, cfg.keepalive_time)     # "It is alive without keepalive"
            return
        elapsed = self._keepalive_elapsed(now)
        if elapsed < cfg.keepalive_time - 1e-9:
            self.arm_keepalive(now, cfg.keepalive_time - elapsed)
            return
        if ((cfg.user_timeout and elapsed >= cfg.user_timeout - 1e-9 and self.probes_out > 0)
                or (not cfg.user_timeout and self.probes_out >= cfg.keepalive_probes)):
            # tcp_send_active_reset() + tcp_write_err()
            self._event(EventKind.GIVE_UP, EventKind.KEEPALIVE_UNANSWERED,
                        "Linux tcp_keepalive_timer()", (("probes", self.probes_out),))
            self.abort(now, StateCause.KEEPALIVE_TIMED_OUT)
            self.error = self.soft_error or _errno.ETIMEDOUT
            return
        # tcp_write_wakeup() with nothing to send: tcp_xmit_probe_skb(), SEQ = SND.UNA - 1
        self._emit(ACK, self.snd_una - 1, reason=SendCause.KEEPALIVE_PROBE,
                   rfc="RFC 1122 §4.2.3.6")
        self.probes_out += 1
        self.arm_keepalive(now, cfg.keepalive_intvl)
