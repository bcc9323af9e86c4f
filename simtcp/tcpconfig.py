"""What a TCP connection is configured with, and what its SYN exchange settles.

Theory of operation: `TcpConfig` holds one connection's knobs, filled by the stack from the
host's sysctl table (Linux names). The pure functions below answer the questions the
handshake asks — which options were agreed (`negotiate`), which window a SYN may offer
(`initial_window`), what a SYN-ACK carries (`synack_options`), what reset answers a segment
nobody wants (`reset_for`) and how long Linux retries before giving up (`model_timeout`).
They are shared by `tcp.Connection` and by the stack's stateless SYN-cookie path.
"""
from __future__ import annotations

from dataclasses import dataclass, field, fields
from functools import lru_cache
from operator import attrgetter
from typing import Callable, Mapping, NamedTuple, Optional, Tuple

from .segment import FLAG_VALUES, Flags, Options, Segment
from .rcvbuf import RcvBuf
from .seq import SEQ_ZERO, wire

SYN, ACK, RST = int(Flags.SYN), int(Flags.ACK), int(Flags.RST)
TS_OPTION_LEN = 12          # NOP,NOP,TS: Linux's mss_cache subtracts it (tcp_output.c)
TCP_RTO_MAX_FOR_MODEL = 120.0


@dataclass(slots=True)
class TcpConfig:
    """Per-connection knobs, filled by the stack from the host's sysctl table (Linux names).

    The stack makes one per sysctl version and set of socket options and shares it between
    the connections made with them (`stack.Stack.config`); a shared one refuses changes, and
    a connection that changes its own (a socket option set on it) copies it first
    (`tcp.Connection.own_config`). Slotted, and copied field by field."""

    mss: int = 1460                 # advertised MSS: MTU 1500 - 20 (IP) - 20 (TCP)
    window_scaling: bool = True     # net.ipv4.tcp_window_scaling
    sack: bool = True               # net.ipv4.tcp_sack
    timestamps: bool = True         # net.ipv4.tcp_timestamps
    # Receive memory (simtcp.rcvbuf): sk_rcvbuf starts at tcp_rmem[1], or twice SO_RCVBUF,
    # which locks it (SOCK_RCVBUF_LOCK); unlocked, DRS autotuning grows it up to tcp_rmem[2]
    # (net.ipv4.tcp_moderate_rcvbuf). The window is the part payload can fill
    # (tcp_win_from_space(): scaling_ratio on 6.6+, tcp_adv_win_scale before).
    rcvbuf: int = 131072            # sk_rcvbuf when the connection starts
    rcvbuf_locked: bool = False     # SO_RCVBUF was set (SOCK_RCVBUF_LOCK)
    rmem_limit: int = 33554432      # net.ipv4.tcp_rmem[2]
    rmem_max: int = 4194304         # net.core.rmem_max
    moderate_rcvbuf: bool = True    # net.ipv4.tcp_moderate_rcvbuf (DRS autotuning)
    app_win: int = 31               # net.ipv4.tcp_app_win (tcp_init_buffer_space())
    adv_win_scale: Optional[int] = None   # kernels before 6.6: net.ipv4.tcp_adv_win_scale
    sndbuf: int = 4194304           # send buffer limit (tcp_wmem[2], or 2 x SO_SNDBUF)
    syn_retries: int = 6            # net.ipv4.tcp_syn_retries
    synack_retries: int = 5         # net.ipv4.tcp_synack_retries
    syn_linear_timeouts: int = 0    # net.ipv4.tcp_syn_linear_timeouts (6.16+ kernels: 4)
    retries2: int = 15              # net.ipv4.tcp_retries2
    rto_initial: float = 1.0        # TCP_TIMEOUT_INIT (include/net/tcp.h)
    rto_min: float = 0.2            # TCP_RTO_MIN
    rto_max: float = 120.0          # TCP_RTO_MAX
    time_wait: float = 60.0         # TCP_TIMEWAIT_LEN (RFC 9293 would be 2*MSL = 240 s)
    fin_timeout: float = 60.0       # net.ipv4.tcp_fin_timeout (orphaned FIN-WAIT-2)
    delack: float = 0.04            # TCP_DELACK_MIN
    quickacks: int = 16             # TCP_MAX_QUICKACKS (tcp_incr_quickack()'s limit)
    start_pingpong: bool = False    # TCP_QUICKACK 0 before the connection: interactive
    init_cwnd: int = 10             # TCP_INIT_CWND (RFC 6928)
    nodelay: bool = False           # TCP_NODELAY: Nagle's algorithm off
    cork: bool = False              # TCP_CORK: hold partial segments
    congestion: str = "cubic"       # net.ipv4.tcp_congestion_control / TCP_CONGESTION
    # tcp_cubic module parameters: hystart, hystart_detect, hystart_low_window,
    # hystart_ack_delta_us (net/ipv4/tcp_cubic.c)
    cubic_params: Tuple[int, int, int, int] = (1, 3, 16, 2000)
    slow_start_after_idle: bool = True   # net.ipv4.tcp_slow_start_after_idle
    early_retrans: int = 3          # net.ipv4.tcp_early_retrans: 3 = tail loss probes
    keepalive: bool = False         # SO_KEEPALIVE (tcpkeepalive)
    keepalive_time: float = 7200.0  # TCP_KEEPIDLE, else net.ipv4.tcp_keepalive_time
    keepalive_intvl: float = 75.0   # TCP_KEEPINTVL, else net.ipv4.tcp_keepalive_intvl
    keepalive_probes: int = 9       # TCP_KEEPCNT, else net.ipv4.tcp_keepalive_probes
    recovery: int = 1               # net.ipv4.tcp_recovery bits: 0x1 RACK, 0x2 static
                                    # reordering window, 0x4 no DUPACK threshold (tcploss)
    invalid_ratelimit: float = 0.5  # net.ipv4.tcp_invalid_ratelimit (500 ms)
    min_snd_mss: int = 48           # net.ipv4.tcp_min_snd_mss (TCP_MIN_SND_MSS, include/net/tcp.h)
    orphan_retries: int = 0         # net.ipv4.tcp_orphan_retries (0 means 8, tcp_orphan_retries())
    user_timeout: float = 0.0       # TCP_USER_TIMEOUT in seconds (0: off)
    rfc1337: bool = False           # net.ipv4.tcp_rfc1337: TIME-WAIT ignores RST
    challenge_acks: Optional[Callable[[float], bool]] = None   # host-wide RFC 5961 limit
    # read-only, shared by connections (Stack.config); not copied, not compared
    shared: bool = field(default=False, repr=False, compare=False)
    # What tcp_select_initial_window() makes of the fields above; every handshake reads
    # them. Derived, so neither set by __init__ nor copied nor compared: worked out when
    # first read (`__getattr__` finds the slots empty) and forgotten by `__setattr__` when
    # a field they depend on changes, so a configuration that does not change (every
    # shared one) works them out once.
    wscale: int = field(init=False, repr=False, compare=False)         # our window scale
    syn_window: int = field(init=False, repr=False, compare=False)     # a SYN's window
    syn_window_ts: int = field(init=False, repr=False, compare=False)  # ... less the TS option

    def __setattr__(self, name: str, value) -> None:
        if getattr(self, "shared", False):        # (unset while __init__ fills the fields)
            raise AttributeError(f"cannot set {name}: this TcpConfig is shared by several "
                                 "connections; change a connection's own copy "
                                 "(Connection.own_config())")
        object.__setattr__(self, name, value)
        if name in _WINDOW_FIELDS:
            for derived in _DERIVED:              # worked out again when next read
                try:
                    object.__delattr__(self, derived)
                except AttributeError:            # (not worked out yet)
                    pass

    def __getattr__(self, name: str):
        """Only called for an empty slot: the derived windows are worked out here."""
        if name not in _DERIVED:
            raise AttributeError(f"'TcpConfig' object has no attribute '{name}'")
        inputs = _window_inputs(self)
        rcv_wnd, wscale = _initial_window(*inputs, self.mss)
        object.__setattr__(self, "wscale", wscale)
        object.__setattr__(self, "syn_window", rcv_wnd)
        # a SYN-ACK answering a SYN with timestamps offers whole segments of MSS - 12
        object.__setattr__(self, "syn_window_ts",
                           _initial_window(*inputs, self.mss - TS_OPTION_LEN)[0])
        return object.__getattribute__(self, name)

    def __copy__(self) -> "TcpConfig":
        return TcpConfig(*_all_fields(self))


_all_fields = attrgetter(*(f.name for f in fields(TcpConfig) if f.init and f.name != "shared"))
_DERIVED = ("wscale", "syn_window", "syn_window_ts")


CUBIC_PARAMS = (("hystart", 1), ("hystart_detect", 3), ("hystart_low_window", 16),
                ("hystart_ack_delta_us", 2000))


def cc_params(cfg: "TcpConfig") -> Mapping[str, int]:
    """The congestion control's module parameters, as `congestion.make` takes them. Every
    connection with the same parameters shares one mapping: read it, never change it. It is
    a plain dict, not a read-only view: ``make`` unpacks it with ``**``, which takes a dict
    as it is but walks any other mapping key by key (about 0.6 µs more per connection)."""
    return _cc_params(cfg.cubic_params)


@lru_cache(maxsize=16)
def _cc_params(values: Tuple[int, ...]) -> Mapping[str, int]:
    return dict(zip((name for name, _ in CUBIC_PARAMS), values))


def select_initial_window(cfg: "TcpConfig", mss: int) -> Tuple[int, int]:
    """Linux tcp_select_initial_window() (net/ipv4/tcp_output.c): (rcv_wnd, rcv_wscale).

    The first window is the initial receive space rounded down to whole segments, at most
    65535 (U16_MAX unless tcp_workaround_signed_windows, which simtcp does not accept). The scale
    is chosen for the largest window the socket could ever offer: max(space, tcp_rmem[2],
    rmem_max), limited by the window clamp — which is the space itself when SO_RCVBUF locked
    the buffer (tcp_connect_init / tcp_openreq_init_rwin) — so that wscale =
    ilog2(that) - 15, between 0 and 14. tcp_rmem[2] = 32 MB gives 10 (Linux 6.16+)."""
    return _initial_window(*_window_inputs(cfg), mss)


#: what tcp_select_initial_window() reads of a configuration, besides the MSS
_WINDOW_INPUTS = ("rcvbuf", "adv_win_scale", "rcvbuf_locked", "window_scaling", "rmem_limit",
                  "rmem_max")
_window_inputs = attrgetter(*_WINDOW_INPUTS)
#: the fields TcpConfig's derived windows depend on (see its __setattr__)
_WINDOW_FIELDS = frozenset(_WINDOW_INPUTS + ("mss",))


def full_space(cfg: "TcpConfig") -> int:
    """tcp_full_space() of a socket that has received nothing yet (the default
    scaling_ratio, or tcp_adv_win_scale on kernels before 6.6): 65536 for 128 KB."""
    return RcvBuf(cfg.rcvbuf, cfg.rcvbuf_locked, cfg.adv_win_scale).full_space


@lru_cache(maxsize=64)      # asked ten times per connection, almost always the same inputs
def _initial_window(rcvbuf: int, adv_win_scale: Optional[int], rcvbuf_locked: bool,
                    window_scaling: bool, rmem_limit: int, rmem_max: int,
                    mss: int) -> Tuple[int, int]:
    full = RcvBuf(rcvbuf, rcvbuf_locked, adv_win_scale).full_space
    # tcp_connect_init() / tcp_openreq_init_rwin(): a locked buffer clamps the window
    window_clamp = full if rcvbuf_locked else (0xFFFF << 14)
    space = min(window_clamp, full)
    if space > mss:
        space = space // mss * mss
    rcv_wnd = min(space, 0xFFFF)   # the first window fits the SYN's unscaled field
    wscale = 0
    if window_scaling:
        largest = min(max(space, rmem_limit, rmem_max), window_clamp)
        wscale = min(max(largest.bit_length() - 1 - 15, 0), 14)
    return rcv_wnd, wscale

def _before_6_6(s) -> bool:
    """Kernels before 6.6 size the window with tcp_adv_win_scale; 6.6 replaced it with the
    measured scaling_ratio (commit dfa2f0483360 "tcp: get rid of sysctl_tcp_adv_win_scale")."""
    kernel = getattr(s, "kernel", None)
    return isinstance(kernel, tuple) and kernel < (6, 6)


def config_from_sysctl(s, challenge_acks=None) -> TcpConfig:
    """A TcpConfig from a host's sysctl table (Linux names)."""
    rmem, wmem = s.get("net.ipv4.tcp_rmem"), s.get("net.ipv4.tcp_wmem")
    return TcpConfig(
        mss=s.get("simtcp.mss", 1460),
        window_scaling=bool(s.get("net.ipv4.tcp_window_scaling", 1)),
        sack=bool(s.get("net.ipv4.tcp_sack", 1)),
        timestamps=bool(s.get("net.ipv4.tcp_timestamps", 1)),
        # sk_rcvbuf starts at tcp_rmem[1] and autotunes up to tcp_rmem[2] (tcp_init_sock())
        rcvbuf=rmem[1], rmem_limit=rmem[2],
        rmem_max=s.get("net.core.rmem_max", 4194304),
        moderate_rcvbuf=bool(s.get("net.ipv4.tcp_moderate_rcvbuf", 1)),
        app_win=s.get("net.ipv4.tcp_app_win", 31),
        adv_win_scale=s.get("net.ipv4.tcp_adv_win_scale", 1) if _before_6_6(s) else None,
        sndbuf=wmem[2],
        syn_retries=s.get("net.ipv4.tcp_syn_retries", 6),
        synack_retries=s.get("net.ipv4.tcp_synack_retries", 5),
        syn_linear_timeouts=s.get("net.ipv4.tcp_syn_linear_timeouts", 0),
        retries2=s.get("net.ipv4.tcp_retries2", 15),
        orphan_retries=s.get("net.ipv4.tcp_orphan_retries", 0),
        min_snd_mss=s.get("net.ipv4.tcp_min_snd_mss", 48),
        time_wait=float(s.get("simtcp.time_wait_seconds", 60)),
        fin_timeout=float(s.get("net.ipv4.tcp_fin_timeout", 60)),
        invalid_ratelimit=s.get("net.ipv4.tcp_invalid_ratelimit", 500) / 1000,
        rfc1337=bool(s.get("net.ipv4.tcp_rfc1337", 0)),
        congestion=s.get("net.ipv4.tcp_congestion_control", "cubic"),
        slow_start_after_idle=bool(s.get("net.ipv4.tcp_slow_start_after_idle", 1)),
        early_retrans=s.get("net.ipv4.tcp_early_retrans", 3),
        recovery=s.get("net.ipv4.tcp_recovery", 1),
        keepalive_time=float(s.get("net.ipv4.tcp_keepalive_time", 7200)),
        keepalive_intvl=float(s.get("net.ipv4.tcp_keepalive_intvl", 75)),
        keepalive_probes=s.get("net.ipv4.tcp_keepalive_probes", 9),
        cubic_params=tuple(s.get(f"tcp_cubic.{name}", default) for name, default in
                           CUBIC_PARAMS),
        challenge_acks=challenge_acks,
    )


class Negotiated(NamedTuple):
    """What the SYN exchange settled (RFC 9293 §3.7.1, RFC 7323, RFC 2018)."""

    snd_mss: int
    snd_wscale: int
    rcv_wscale: int
    sack_ok: bool
    ts_ok: bool


def negotiate(cfg: TcpConfig, peer: Options) -> Negotiated:
    """Options agreed from the peer's SYN and our configuration."""
    # RFC 9293 §3.7.1: no MSS option means 536 (Linux also ignores an MSS of 0); we never
    # send more than we offer either. Linux __tcp_mtu_to_mss() then raises it to at least
    # tcp_min_snd_mss (48), so a peer announcing MSS 1..47 cannot make us send segments of
    # almost no payload (CVE-2019-11479, include/net/tcp.h TCP_MIN_SND_MSS).
    snd_mss = max(min(peer.mss if peer.mss else 536, cfg.mss), cfg.min_snd_mss)
    if peer.wscale is not None and cfg.window_scaling:
        scales = (min(peer.wscale, 14), cfg.wscale)      # RFC 7323 §2.3: at most 14
    else:
        scales = (0, 0)
    return Negotiated(snd_mss, scales[0], scales[1], bool(peer.sack_perm and cfg.sack),
                      peer.ts is not None and bool(cfg.timestamps))


def initial_window(cfg: TcpConfig, ts_ok: bool) -> int:
    """The window field of a SYN or SYN-ACK: tcp_select_initial_window()'s rcv_wnd, at most
    65535 (a SYN's window is never scaled, RFC 7323 §2.2): with tcp_rmem[1] = 128 KB that is
    64240 = 44*1460, or 65160 = 45*1448 with timestamps."""
    return cfg.syn_window_ts if ts_ok else cfg.syn_window   # (TcpConfig works them out)


def synack_options(cfg: TcpConfig, n: Negotiated, peer: Options, tsval: int) -> Options:
    """Options of a SYN-ACK, in Linux's order (MSS, SACK-permitted, TS, NOP, WScale): only
    what the peer offered too; an options-less SYN gets an MSS-only SYN-ACK."""
    return Options(mss=cfg.mss, sack_perm=n.sack_ok,
                   ts=(tsval, peer.ts[0]) if n.ts_ok else None,
                   wscale=n.rcv_wscale if peer.wscale is not None and cfg.window_scaling
                   else None)


def reset_for(seg: Segment) -> Optional[Segment]:
    """The RST answering ``seg`` when no connection wants it (RFC 9293 §3.10.7.1): ACK set →
    <SEQ=SEG.ACK><CTL=RST>; otherwise <SEQ=0><ACK=SEG.SEQ+SEG.LEN><CTL=RST,ACK>; never a RST
    for a RST. 20-byte header, no options, window 0 (as Linux sends it). The reply's numbers
    are 32-bit header fields (simtcp.seq)."""
    f = int(seg.flags)
    if f & RST:
        return None
    if f & ACK:
        return Segment(seg.dport, seg.sport, wire(seg.ack), SEQ_ZERO, FLAG_VALUES[RST], 0)
    return Segment(seg.dport, seg.sport, SEQ_ZERO, wire(seg.seq + seg.seg_len),
                   FLAG_VALUES[RST | ACK], 0)


def orphan_retries(cfg: TcpConfig, alive: bool) -> int:
    """Linux tcp_orphan_retries(): the sysctl, but 0 means 8 while the RTO is below
    TCP_RTO_MAX ("alive"), and 0 once it reached it (net/ipv4/tcp_timer.c)."""
    retries = cfg.orphan_retries
    if retries == 0 and alive:
        retries = 8
    return retries


def model_timeout(boundary: int, rto_base: float, rto_max: float = TCP_RTO_MAX_FOR_MODEL) -> float:
    """Linux tcp_model_timeout(): how long `boundary` exponential backoffs take.

    With 6 SYN retries from 1 s: 1+2+4+8+16+32+64 = 127 s; with 15 data retries from
    200 ms: about 924.6 s (net/ipv4/tcp_timer.c).
    """
    thresh = 0
    while (rto_base * (2 << thresh)) <= rto_max:  # ilog2(rto_max / rto_base)
        thresh += 1
    if boundary <= thresh:
        return ((2 << boundary) - 1) * rto_base
    return ((2 << thresh) - 1) * rto_base + (boundary - thresh) * rto_max
