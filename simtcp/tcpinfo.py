"""TCP_INFO: a connection's state as Linux reports it (struct tcp_info, tcp_get_info()).

Theory of operation: `tcp_info(conn)` takes a snapshot of a `tcp.Connection` in the units
Linux uses — times in microseconds, the windows in segments — and `TcpInfo.pack()` lays the
first 104 bytes out like ``struct tcp_info`` (include/uapi/linux/tcp.h, up to
``tcpi_total_retrans``), so that ``getsockopt(IPPROTO_TCP, TCP_INFO, 104)`` reads the same
way as on Linux with ``struct.unpack``. `TcpInfo.ss_line()` is what ``ss -ti`` prints under
a socket (iproute2 misc/ss.c tcp_stats_print(), checked against iproute2 6.1 on Linux
6.18): fields in ss's order, each only when non-zero, ``ts``/``sack`` only with ``-o``, and
the ``send`` rate ss computes itself (cwnd * mss * 8 / rtt). Fields simtcp does not model
(pacing and delivery rates) are left out rather than invented.
`ListenerInfo` is the short one of a listening socket (tcp_get_info() returns early for
TCP_LISTEN: the congestion control, cwnd, and the accept queue as "unacked").
"""
from __future__ import annotations

import struct
from dataclasses import dataclass

from .states import State

# include/net/tcp_states.h
TCP_STATE_NUMBERS = {State.ESTABLISHED: 1, State.SYN_SENT: 2, State.SYN_RECEIVED: 3,
                     State.FIN_WAIT_1: 4, State.FIN_WAIT_2: 5, State.TIME_WAIT: 6,
                     State.CLOSED: 7, State.CLOSE_WAIT: 8, State.LAST_ACK: 9, State.LISTEN: 10,
                     State.CLOSING: 11}
CA_OPEN, CA_DISORDER, CA_RECOVERY, CA_LOSS = 0, 1, 3, 4     # enum tcp_ca_state
TCPI_OPT_TIMESTAMPS, TCPI_OPT_SACK, TCPI_OPT_WSCALE = 1, 2, 4
TCP_INFINITE_SSTHRESH = 0x7FFFFFFF
TCP_INFO_LEN = 104                                           # through tcpi_total_retrans
_LAYOUT = struct.Struct("<8B24I")


@dataclass(frozen=True)
class TcpInfo:
    """The fields of struct tcp_info that simtcp models (names without the tcpi_ prefix)."""

    state: int
    ca_state: int
    retransmits: int
    probes: int
    backoff: int
    options: int
    snd_wscale: int
    rcv_wscale: int
    rto: int                # µs
    ato: int                # µs
    snd_mss: int
    rcv_mss: int
    unacked: int            # segments
    sacked: int
    lost: int
    retrans: int
    pmtu: int
    rcv_ssthresh: int       # bytes
    rtt: int                # µs (smoothed)
    rttvar: int             # µs
    snd_ssthresh: int       # segments
    snd_cwnd: int           # segments
    advmss: int
    reordering: int
    total_retrans: int
    congestion: str
    min_rtt: int            # µs
    snd_wnd: int            # bytes
    last_data_sent: int = 0     # ms ago
    last_data_recv: int = 0
    last_ack_recv: int = 0
    bytes_sent: int = 0         # tcpi_bytes_sent (data, retransmissions included)
    bytes_retrans: int = 0
    bytes_acked: int = 0        # SND.UNA - ISS (an active open's SYN counts)
    bytes_received: int = 0     # RCV.NXT - IRS - 1
    segs_out: int = 0
    segs_in: int = 0
    data_segs_out: int = 0
    data_segs_in: int = 0
    notsent: int = 0            # bytes queued, not yet sent
    rcv_rtt: int = 0            # µs: the receiver's RTT estimate (tcp_rcv_rtt_update())
    rcv_space: int = 0          # bytes read per RTT, as DRS last measured (rcvq_space)
    dsack_dups: int = 0         # segments the peer reported twice (tp->dsack_dups)
    reord_seen: int = 0         # times reordering was detected (tp->reord_seen)

    def pack(self) -> bytes:
        """The first TCP_INFO_LEN bytes of struct tcp_info, in host (little-endian) order."""
        return _LAYOUT.pack(self.state, self.ca_state, self.retransmits, self.probes,
                            self.backoff, self.options,
                            (self.snd_wscale & 15) | (self.rcv_wscale & 15) << 4, 0,
                            self.rto, self.ato, self.snd_mss, self.rcv_mss, self.unacked,
                            self.sacked, self.lost, self.retrans, 0, self.last_data_sent, 0,
                            self.last_data_recv, self.last_ack_recv, self.pmtu,
                            self.rcv_ssthresh, self.rtt, self.rttvar, self.snd_ssthresh,
                            self.snd_cwnd, self.advmss, self.reordering, self.rcv_rtt,
                            self.rcv_space, self.total_retrans)

    def ss_line(self, options: bool = False, numeric: bool = True) -> str:
        """The ``ss -ti`` line (misc/ss.c tcp_stats_print() order; ``options`` is ss -o,
        which adds ts/sack; ``numeric`` is -n, which prints rates in plain bps)."""
        parts = []
        if options and self.options & TCPI_OPT_TIMESTAMPS:
            parts.append("ts")
        if options and self.options & TCPI_OPT_SACK:
            parts.append("sack")
        parts.append(self.congestion)
        if self.options & TCPI_OPT_WSCALE:
            parts.append(f"wscale:{self.snd_wscale},{self.rcv_wscale}")
        if self.rto:
            parts.append(f"rto:{self.rto / 1000:g}")
        if self.backoff:
            parts.append(f"backoff:{self.backoff}")
        if self.rtt:
            parts.append(f"rtt:{self.rtt / 1000:g}/{self.rttvar / 1000:g}")
        if self.ato:
            parts.append(f"ato:{self.ato / 1000:g}")
        parts += [f"mss:{self.snd_mss}", f"pmtu:{self.pmtu}", f"rcvmss:{self.rcv_mss}",
                  f"advmss:{self.advmss}", f"cwnd:{self.snd_cwnd}"]
        if self.snd_ssthresh < 0xFFFF:
            parts.append(f"ssthresh:{self.snd_ssthresh}")
        for name in ("bytes_sent", "bytes_retrans", "bytes_acked", "bytes_received",
                     "segs_out", "segs_in", "data_segs_out", "data_segs_in"):
            if getattr(self, name):
                parts.append(f"{name}:{getattr(self, name)}")
        if self.rtt and self.snd_mss and self.snd_cwnd:
            bps = self.snd_cwnd * self.snd_mss * 8e6 / self.rtt
            parts.append(f"send {sprint_bw(bps, numeric)}bps")
        for name, value in (("lastsnd", self.last_data_sent), ("lastrcv", self.last_data_recv),
                            ("lastack", self.last_ack_recv), ("unacked", self.unacked)):
            if value:
                parts.append(f"{name}:{value}")
        if self.retrans or self.total_retrans:
            parts.append(f"retrans:{self.retrans}/{self.total_retrans}")
        if self.lost:
            parts.append(f"lost:{self.lost}")
        if self.sacked:
            parts.append(f"sacked:{self.sacked}")
        if self.dsack_dups:
            parts.append(f"dsack_dups:{self.dsack_dups}")
        if self.reordering != 3:
            parts.append(f"reordering:{self.reordering}")
        if self.reord_seen:
            parts.append(f"reord_seen:{self.reord_seen}")
        if self.rcv_rtt:
            parts.append(f"rcv_rtt:{self.rcv_rtt / 1000:g}")
        if self.rcv_space:
            parts.append(f"rcv_space:{self.rcv_space}")
        if self.rcv_ssthresh:
            parts.append(f"rcv_ssthresh:{self.rcv_ssthresh}")
        if self.notsent:
            parts.append(f"notsent:{self.notsent}")
        if self.min_rtt:
            parts.append(f"minrtt:{self.min_rtt / 1000:g}")
        if self.snd_wnd:
            parts.append(f"snd_wnd:{self.snd_wnd}")
        return "\t " + " ".join(parts)


def sprint_bw(bps: float, numeric: bool) -> str:
    """iproute2 misc/ss.c sprint_bw(): plain with -n, else 3 significant digits and a unit."""
    if numeric:
        return f"{bps:.0f}"
    for unit, scale in (("T", 1e12), ("G", 1e9), ("M", 1e6), ("K", 1e3)):
        if bps >= scale:
            return f"{bps / scale:.3g}{unit}"
    return f"{bps:g}"


@dataclass(frozen=True)
class ListenerInfo:
    """TCP_INFO of a listening socket: tcp_get_info() stops after the fields "meaningful for
    all TCP states" (the congestion control, cwnd) and aliases tcpi_unacked to the number
    of children ready for accept()."""

    congestion: str
    snd_cwnd: int
    unacked: int

    def ss_line(self, options: bool = False, numeric: bool = True) -> str:
        return f"\t {self.congestion} cwnd:{self.snd_cwnd}" + (
            f" unacked:{self.unacked}" if self.unacked else "")


def tcp_info(conn, now=None) -> TcpInfo:
    """Linux tcp_get_info() for one connection; ``now`` (virtual seconds) gives the
    last-send/receive/ACK ages (default: the connection's last event)."""
    now = conn._now if now is None else now

    def ago(t: float) -> int:
        return max(round((now - t) * 1000), 0)

    mss = max(conn.eff_mss, 1)
    if conn.prr is not None:
        ca = CA_RECOVERY
    elif conn.retries and conn.state.synchronized:
        ca = CA_LOSS
    elif conn.sacked or conn.dupacks:
        ca = CA_DISORDER
    else:
        ca = CA_OPEN
    ssthresh = conn.ssthresh // mss if conn.ssthresh < (1 << 30) else TCP_INFINITE_SSTHRESH
    options = ((TCPI_OPT_TIMESTAMPS if conn.ts_ok else 0) | (TCPI_OPT_SACK if conn.sack_ok else 0)
               | (TCPI_OPT_WSCALE if conn.snd_wscale or conn.rcv_wscale else 0))
    return TcpInfo(
        state=TCP_STATE_NUMBERS[conn.state], ca_state=ca, retransmits=conn.retries,
        probes=conn.probes_out, backoff=conn.probe_backoff, options=options,
        snd_wscale=conn.snd_wscale, rcv_wscale=conn.rcv_wscale,
        rto=round(conn.rto * 1e3) * 1000, ato=round(conn.ato * 1e6), snd_mss=mss,
        rcv_mss=conn.rcv_mss,
        unacked=-(-conn.in_flight // mss), sacked=-(-conn.sacked_bytes // mss),
        # with SACK, RACK's marks (lost_out) and what was resent since (retrans_out)
        lost=-(-(conn.rack.lost_bytes if conn.sack_ok else conn.lost_bytes) // mss),
        retrans=-(-(conn.rack.retrans_in_flight() if conn.sack_ok and conn.prr is not None
                    else conn.retrans_out) // mss),
        pmtu=conn.cfg.mss + 40, rcv_ssthresh=conn.rcv_ssthresh,
        rtt=round((conn.srtt or 0) * 1e6), rttvar=round(conn.rttvar * 1e6),
        snd_ssthresh=ssthresh, snd_cwnd=conn.cwnd // mss, advmss=conn.cfg.mss - (
            12 if conn.ts_ok else 0), reordering=conn.rack.reordering(mss),
        total_retrans=conn.total_retrans, dsack_dups=conn.rack.dsack_dups,
        reord_seen=conn.rack.reord_seen,
        congestion=conn.cc.name, min_rtt=round((conn.min_rtt or 0) * 1e6),
        snd_wnd=conn.snd_wnd, last_data_sent=ago(conn.lsndtime),
        # the receiver's RTT estimate and DRS's bytes per RTT (simtcp.rcvbuf)
        rcv_rtt=conn.rb.rtt_us >> 3, rcv_space=conn.rb.space,
        last_data_recv=ago(conn.lrcvtime), last_ack_recv=ago(conn.rcv_tstamp),
        bytes_sent=conn.bytes_sent, bytes_retrans=conn.bytes_retrans,
        # the SYN counts for an active open (tcp_ack() -> tcp_snd_una_update()); a passive
        # one set SND.UNA directly in tcp_rcv_state_process(), so its SYN-ACK does not
        bytes_acked=max(conn.snd_una - conn.iss - conn.passive, 0)
        if conn.state.synchronized else 0,
        bytes_received=max(conn.rcv_nxt - conn.irs - 1, 0) if conn.state.synchronized else 0,
        segs_out=conn.segs_out, segs_in=conn.segs_in, data_segs_out=conn.data_segs_out,
        data_segs_in=conn.data_segs_in, notsent=max(conn.unsent, 0))
