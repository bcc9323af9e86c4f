"""The sysctl tables of the OS profiles: every knob simtcp knows, its default on each
operating system, its parser, and where the value comes from.

Theory of operation: `_tcp_specs` lists the Linux names the stack reads (with a kernel
version's defaults: some changed between releases), `_conntrack_specs` netfilter's, and
`_profile_specs` lays each OS's own knobs and values over them (Windows' netsh dynamic port
range, the BSDs' ``net.inet.ip.portrange.*``, XNU's MSL). Each entry is a `_Spec`: the
default, a parser that refuses a malformed value as the real ``sysctl -w`` does (EINVAL-style
ValueError), its ``sysctl -a`` documentation line, and whether simtcp models its effect
(a knob it does not is refused with `NotModelledError` when changed). `parse_os` reads a
profile name such as ``"linux-5.15"``. `simtcp.profiles.Sysctl` is the table a host owns.

Sources are cited per value, tagged [V] read in the cited source, [E] measured on a real
kernel, [S] secondary source only, [U] unverified.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable, Iterable, NamedTuple

__all__ = ["PROFILES", "Profile", "PORT_ALGORITHMS", "parse_port_list", "format_port_list",
           "NotModelledError", "LINUX_KERNEL", "CONGESTION_CONTROLS", "parse_os"]


class NotModelledError(ValueError):
    """A setting that exists on the real system but whose effect simtcp does not simulate:
    refused, so that nothing is silently ignored."""


LINUX_KERNEL = (6, 18)      # the kernel the "linux" profile follows (tests/ oracles ran on 6.18)
CONGESTION_CONTROLS = ("cubic", "reno")   # net.ipv4.tcp_available_congestion_control


class Profile(NamedTuple):
    description: str
    source: str


PROFILES: dict[str, Profile] = {
    "linux": Profile(
        "Linux 6.18 defaults (ip_local_port_range 32768-60999, even ports for connect, "
        "TIME-WAIT 60 s, SYN retries 6, 4 of them linear; os='linux-5.15' for an older kernel)",
        "torvalds/linux Documentation/networking/ip-sysctl.rst, net/ipv4/inet_hashtables.c, "
        "include/net/tcp.h"),
    "windows": Profile(
        "Windows Vista/Server 2008 and later (dynamic ports 49152-65535, "
        "TcpMaxConnectRetransmissions 2)",
        "Microsoft KB 929851 (dynamic port range, netsh int ipv4 set dynamicport); "
        "allocation order and TIME-WAIT length unverified"),
    "macos": Profile(
        "macOS / XNU (portrange 49152-65535, sequential ++lastport unless "
        "net.inet.tcp.randomize_ports=1, MSL 15 s)",
        "apple-oss-distributions/xnu bsd/netinet/in_pcb.c, tcp_subr.c; SYN schedule unverified"),
    "freebsd": Profile(
        "FreeBSD (portrange.first 10000..65535, randomized=1: random start then sequential)",
        "freebsd/freebsd-src sys/netinet/in.h, in_pcb.c (in_pcb_lport_dest)"),
}
_ALIASES = {"darwin": "macos", "osx": "macos", "win": "windows", "win32": "windows"}

PORT_ALGORITHMS = ("linux", "rfc6056-1", "rfc6056-2", "rfc6056-3", "rfc6056-4", "rfc6056-5",
                   "sequential", "bsd-random", "macos", "freebsd", "windows")

_INT_MAX = 2**31 - 1


# --------------------------------------------------------------------------- value parsers

def _int(value: Any, key: str) -> int:
    if isinstance(value, bool) or not isinstance(value, (int, str)):
        raise ValueError(f"sysctl: setting key \"{key}\": Invalid argument "
                         f"(expected an integer, got {type(value).__name__} {value!r})")
    try:
        return int(value.strip()) if isinstance(value, str) else value
    except ValueError:
        raise ValueError(f"sysctl: setting key \"{key}\": Invalid argument "
                         f"({value!r} is not an integer)") from None


def _ints(value: Any, key: str, n: int) -> tuple[int, ...]:
    if isinstance(value, str):
        parts = value.split()
    elif isinstance(value, (tuple, list)):
        parts = list(value)
    else:
        raise ValueError(f"sysctl: setting key \"{key}\": Invalid argument (expected {n} "
                         f"integers like \"{' '.join(['N'] * n)}\" or a tuple, got {value!r})")
    if len(parts) != n:
        raise ValueError(f"sysctl: setting key \"{key}\": Invalid argument (expected {n} "
                         f"values, got {len(parts)}: {value!r})")
    return tuple(_int(p, key) for p in parts)


def parse_port_list(text: Any, key: str = "net.ipv4.ip_local_reserved_ports") -> frozenset[int]:
    """Parse Linux's "1,2-4,10-10" syntax (or an iterable of ints) into a set of ports."""
    if isinstance(text, str):
        out: set[int] = set()
        for item in (t.strip() for t in text.split(",")):
            if not item:
                continue
            lo, sep, hi = item.partition("-")
            a = _int(lo, key)
            b = _int(hi, key) if sep else a
            if not 0 <= a <= b <= 65535:
                raise ValueError(f"sysctl: setting key \"{key}\": Invalid argument "
                                 f"(bad range {item!r}: need 0 <= low <= high <= 65535)")
            out.update(range(a, b + 1))
        return frozenset(out)
    if isinstance(text, Iterable):
        ports = frozenset(_int(p, key) for p in text)
        if any(not 0 <= p <= 65535 for p in ports):
            raise ValueError(f"sysctl: setting key \"{key}\": Invalid argument (port outside "
                             "0-65535)")
        return ports
    raise ValueError(f"sysctl: setting key \"{key}\": Invalid argument ({text!r})")


def format_port_list(ports: Iterable[int]) -> str:
    """Format ports the way the kernel prints the bitmap: "1-4,10" (ranges compressed)."""
    out, run = [], []
    for p in sorted(set(ports)):
        if run and p == run[-1] + 1:
            run.append(p)
            continue
        if run:
            out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
        run = [p]
    if run:
        out.append(str(run[0]) if len(run) == 1 else f"{run[0]}-{run[-1]}")
    return ",".join(out)


@dataclass(frozen=True)
class _Spec:
    default: Any
    parse: Callable[[Any, str], Any]
    doc: str = ""
    modelled: bool = True    # False: readable, but a change is refused (NotModelledError)


def _ranged(lo: int, hi: int) -> Callable[[Any, str], int]:
    def parse(value: Any, key: str) -> int:
        v = _int(value, key)
        if not lo <= v <= hi:
            raise ValueError(f"sysctl: setting key \"{key}\": Invalid argument "
                             f"({v} is outside the accepted range {lo}..{hi})")
        return v
    return parse


def _choice(*allowed: int) -> Callable[[Any, str], int]:
    def parse(value: Any, key: str) -> int:
        v = _int(value, key)
        if v not in allowed:
            raise ValueError(f"sysctl: setting key \"{key}\": Invalid argument "
                             f"({v} is not one of {', '.join(map(str, allowed))})")
        return v
    return parse


def _tcp_recovery(value: Any, key: str) -> int:
    """net.ipv4.tcp_recovery (ip-sysctl.rst): bit 0x1 RACK loss detection, 0x2 a static
    reordering window, 0x4 no DUPACK threshold. Loss detection without RACK (RFC 6675's
    duplicate threshold, tcp_update_scoreboard()) is not modelled, nor are other bits."""
    v = _int(value, key)
    if v not in (1, 3, 5, 7):
        raise NotModelledError(f"sysctl: {key}={v} is not modelled by simtcp: it models RACK "
                               "loss detection (bit 0x1) with or without 0x2 (static "
                               "reordering window) and 0x4 (no DUPACK threshold): 1, 3, 5 or 7")
    return v


def _triple(value: Any, key: str) -> tuple[int, int, int]:
    t = _ints(value, key, 3)
    if not 1 <= t[0] <= t[1] <= t[2]:
        raise ValueError(f"sysctl: setting key \"{key}\": Invalid argument "
                         "(need min <= default <= max, all positive)")
    return t  # type: ignore[return-value]


def _algorithm(value: Any, key: str) -> str:
    if value not in PORT_ALGORITHMS:
        raise ValueError(f"{key}: unknown port allocation algorithm {value!r}; "
                         f"choose one of {', '.join(PORT_ALGORITHMS)}")
    return value


def _seconds(value: Any, key: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0:
        raise ValueError(f"{key}: need a positive number of seconds, got {value!r}")
    return value


def _congestion(value: Any, key: str) -> str:
    if value not in CONGESTION_CONTROLS:
        # Linux tcp_set_default_congestion_control(): ENOENT for an unknown name
        raise ValueError(f"sysctl: setting key \"{key}\": No such file or directory "
                         f"({value!r} is not available; tcp_available_congestion_control = "
                         f"{' '.join(CONGESTION_CONTROLS)})")
    return value


def _port_range(value: Any, key: str) -> tuple[int, int]:
    return _ints(value, key, 2)  # type: ignore[return-value]  # checked in _cross_check


# Linux TCP knobs, shared by every profile (the stack reads these names). L-doc = ip-sysctl.rst.
# Defaults follow the kernel version the profile names (``kernel``, LINUX_KERNEL by default).
def _tcp_specs(kernel: tuple[int, int] = LINUX_KERNEL) -> dict[str, _Spec]:
    b = _choice(0, 1)
    if kernel >= (6, 16):      # commit 572be9bf9d0d "tcp: increase tcp_rmem[2] to 32 MB"
        rmem = (4096, 131072, 33554432)
    else:                      # 6 MB since commit b49960a05e32 (2012)
        rmem = (4096, 131072, 6291456)
    specs = {
        "net.ipv4.ip_local_port_range": _Spec((32768, 60999), _port_range,
                                              "ephemeral range; ends should differ in parity"),
        "net.ipv4.ip_local_reserved_ports": _Spec(frozenset(), parse_port_list,
                                                  "skipped by automatic port assignment only"),
        "net.ipv4.ip_unprivileged_port_start": _Spec(1024, _ranged(0, 65535),
                                                     "ports below need CAP_NET_BIND_SERVICE"),
        "net.ipv4.tcp_tw_reuse": _Spec(2, _choice(0, 1, 2), "0 off, 1 global, 2 loopback only"),
        "net.ipv4.tcp_syncookies": _Spec(1, _choice(0, 1, 2), "0 off, 1 on overflow, 2 always"),
        "net.ipv4.tcp_syn_retries": _Spec(6, _ranged(1, 127), "SYN retransmissions"),
        "net.ipv4.tcp_synack_retries": _Spec(5, _ranged(0, 255), "SYN-ACK retransmissions"),
        "net.ipv4.tcp_max_syn_backlog": _Spec(2048, _ranged(0, _INT_MAX), "SYN queue limit"),
        # commit 19f92a030ca6 "net: increase SOMAXCONN to 4096" (5.4); 128 before
        "net.core.somaxconn": _Spec(4096 if kernel >= (5, 4) else 128, _ranged(0, _INT_MAX),
                                    "listen() backlog cap"),
        # net/core/sock.c sk_setsockopt(): SO_RCVBUF/SO_SNDBUF are clamped to these, then
        # doubled. 4194304 measured on 6.18 (older kernels: 212992, SK_RMEM_MAX).
        "net.core.rmem_max": _Spec(4194304, _ranged(2304 // 2, _INT_MAX),
                                   "largest SO_RCVBUF a process may ask for"),
        "net.core.wmem_max": _Spec(4194304, _ranged(4608 // 2, _INT_MAX),
                                   "largest SO_SNDBUF a process may ask for"),
        "net.ipv4.tcp_abort_on_overflow": _Spec(0, b, "1: RST when the accept queue is full"),
        "net.ipv4.tcp_fin_timeout": _Spec(60, _ranged(0, _INT_MAX), "FIN-WAIT-2 timeout (s)"),
        "net.ipv4.tcp_timestamps": _Spec(1, _choice(0, 1, 2),
                                         "RFC 7323 timestamps; 2: without the random offset"),
        "net.ipv4.tcp_sack": _Spec(1, b, "RFC 2018 SACK"),
        "net.ipv4.tcp_window_scaling": _Spec(1, b, "RFC 7323 window scaling"),
        "net.ipv4.tcp_retries2": _Spec(15, _ranged(0, 255), "data retransmissions"),
        "net.ipv4.tcp_orphan_retries": _Spec(0, _ranged(0, 255),
                                             "retries for a close()d socket; 0 means 8"),
        "net.ipv4.tcp_min_snd_mss": _Spec(48, _ranged(48, 65535),
                                          "floor on the peer's MSS (TCP_MIN_SND_MSS)"),
        "net.ipv4.tcp_rmem": _Spec(rmem, _triple, "receive buffer: min (memory pressure only), "
                                   "default (initial window), max (window scale, autotuning)"),
        # receive-buffer autotuning and window sizing (simtcp.rcvbuf; net/ipv4/tcp_input.c)
        "net.ipv4.tcp_moderate_rcvbuf": _Spec(1, b, "1: DRS grows the receive buffer up to "
                                              "tcp_rmem[2] as the application reads "
                                              "(tcp_rcv_space_adjust())"),
        "net.ipv4.tcp_app_win": _Spec(31, _ranged(0, 31), "reserve buffer/2^n (at least one "
                                      "MSS) from the window (tcp_init_buffer_space())"),
        # ip-sysctl.rst: "Obsolete since linux-6.6" (scaling_ratio replaced it); range
        # -31..31 (TCP_ADV_WIN_SCALE_MIN/MAX)
        "net.ipv4.tcp_adv_win_scale": _Spec(1, _ranged(-31, 31), "buffer overhead "
                                            "bytes/2^n (kernels before 6.6; obsolete, no "
                                            "effect since 6.6)" if kernel >= (6, 6) else
                                            "count buffering overhead as bytes/2^n"),
        "net.ipv4.tcp_wmem": _Spec((4096, 16384, 4194304), _triple,
                                   "send buffer: min, default (SO_SNDBUF), max (autotuning)"),
        "net.ipv4.tcp_rfc1337": _Spec(0, b, "1: TIME-WAIT ignores RST (RFC 1337)"),
        "net.ipv4.tcp_invalid_ratelimit": _Spec(500, _ranged(0, _INT_MAX),
                                                "ms between replies to invalid segments"),
        "net.ipv4.tcp_challenge_ack_limit": _Spec(2147483647, _ranged(0, _INT_MAX),
                                                  "RFC 5961 challenge ACKs per second"),
        "net.ipv4.tcp_congestion_control": _Spec("cubic", _congestion,
                                                 "default congestion control (Kconfig: cubic)"),
        "net.ipv4.tcp_slow_start_after_idle": _Spec(1, b, "1: an idle connection restarts "
                                                    "towards the initial window (RFC 5681 §4.1)"),
        # 0 and 1-2 (early retransmit, removed from Linux) behave as 0 here: no probes
        "net.ipv4.tcp_early_retrans": _Spec(3, _choice(0, 3, 4), "3: tail loss probes "
                                            "(RACK-TLP, RFC 8985); 0: none"),
        # keepalive (RFC 1122 §4.2.3.6; simtcp.tcpkeepalive): MAX_TCP_KEEPIDLE/INTVL 32767,
        # MAX_TCP_KEEPCNT 127 bound the socket options; the sysctls take any positive int
        "net.ipv4.tcp_keepalive_time": _Spec(7200, _ranged(1, _INT_MAX),
                                             "idle seconds before the first keepalive probe"),
        "net.ipv4.tcp_keepalive_intvl": _Spec(75, _ranged(1, _INT_MAX),
                                              "seconds between keepalive probes"),
        "net.ipv4.tcp_keepalive_probes": _Spec(9, _ranged(1, _INT_MAX),
                                               "unanswered keepalive probes before a reset"),
        "net.ipv4.tcp_recovery": _Spec(1, _tcp_recovery, "bits: 0x1 RACK loss detection, "
                                       "0x2 static reordering window, 0x4 no DUPACK threshold"),
        # ICMP error rate limits (net/ipv4/icmp.c; simtcp.icmplimit). L-doc ip-sysctl.rst
        "net.ipv4.icmp_ratelimit": _Spec(1000, _ranged(0, _INT_MAX),
                                         "ms per ICMP error to one destination (0: off)"),
        "net.ipv4.icmp_ratemask": _Spec(6168, _ranged(0, _INT_MAX),
                                        "ICMP types limited (bit n = type n)"),
        "net.ipv4.icmp_msgs_per_sec": _Spec(1000, _ranged(0, _INT_MAX),
                                            "all ICMP errors per second (global)"),
        "net.ipv4.icmp_msgs_burst": _Spec(50, _ranged(0, _INT_MAX),
                                          "global ICMP error burst"),
        # tcp_cubic module parameters (net/ipv4/tcp_cubic.c module_param; the kernel
        # command line spells them tcp_cubic.NAME=VALUE): HyStart, simtcp.congestion
        "tcp_cubic.hystart": _Spec(1, b, "1: CUBIC leaves slow start early (HyStart)"),
        "tcp_cubic.hystart_detect": _Spec(3, _choice(0, 1, 2, 3), "HyStart detection: "
                                          "1 ACK train, 2 delay increase, 3 both"),
        "tcp_cubic.hystart_low_window": _Spec(16, _ranged(0, _INT_MAX), "cwnd (segments) "
                                              "from which HyStart acts"),
        "tcp_cubic.hystart_ack_delta_us": _Spec(2000, _ranged(0, _INT_MAX), "µs between "
                                                "ACKs that still form a train"),
        "simtcp.port_algorithm": _Spec("linux", _algorithm, "see simtcp.portalloc"),
        "simtcp.time_wait_seconds": _Spec(60, _seconds, "Linux TCP_TIMEWAIT_LEN = 60 s"),
        "simtcp.mss": _Spec(1460, _ranged(88, 65495), "MSS we advertise (Linux TCP_MIN_MSS 88)"),
    }
    if kernel >= (6, 5):
        # commit "tcp: make the first N SYN RTO backoffs linear" (6.5): default 4
        specs["net.ipv4.tcp_syn_linear_timeouts"] = _Spec(4, _ranged(0, 127),
                                                          "SYN retransmissions with a linear "
                                                          "(not doubling) timeout; 0 = textbook")
    return specs


def _bsd_portrange(first: int, last: int, hifirst: int, hilast: int,
                   lowfirst: int, lowlast: int) -> dict[str, _Spec]:
    p = _ranged(0, 65535)
    return {
        "net.inet.ip.portrange.first": _Spec(first, p, "default ephemeral range start"),
        "net.inet.ip.portrange.last": _Spec(last, p, "default ephemeral range end"),
        # used only by the IP_PORTRANGE socket option, which simtcp does not model
        "net.inet.ip.portrange.hifirst": _Spec(hifirst, p, "IP_PORTRANGE_HIGH start", False),
        "net.inet.ip.portrange.hilast": _Spec(hilast, p, "IP_PORTRANGE_HIGH end", False),
        "net.inet.ip.portrange.lowfirst": _Spec(lowfirst, p, "IP_PORTRANGE_LOW (counts down)",
                                                False),
        "net.inet.ip.portrange.lowlast": _Spec(lowlast, p, "IP_PORTRANGE_LOW end", False),
    }


def _conntrack_specs() -> dict[str, _Spec]:
    """net.netfilter.nf_conntrack_* (nf_conntrack-sysctl.rst), read by simtcp.conntrack."""
    from .conntrack import CONNTRACK_SYSCTLS
    return {k: _Spec(v, _choice(0, 1) if k.endswith("_loose") else _ranged(0, _INT_MAX),
                     "connection tracking (netfilter)") for k, v in CONNTRACK_SYSCTLS.items()}


def _profile_specs(os_name: str, kernel: tuple[int, int] = LINUX_KERNEL) -> dict[str, _Spec]:
    specs = _tcp_specs(kernel)
    if os_name == "linux":
        specs.update(_conntrack_specs())
        return specs
    if os_name == "windows":
        # KB 929851: dynamic range 49152-65535 since Vista, shown by netsh as start/num.
        specs["netsh.ipv4.dynamicport.tcp.start"] = _Spec(49152, _ranged(1025, 65535),
                                                          "netsh int ipv4 show dynamicport tcp")
        specs["netsh.ipv4.dynamicport.tcp.num"] = _Spec(16384, _ranged(255, 64511), "")
        overrides = {
            "net.ipv4.ip_local_port_range": (49152, 65535),  # mirrors netsh, for the stack
            "net.ipv4.ip_unprivileged_port_start": 0,        # Windows has no privileged ports
            # TcpMaxConnectRetransmissions default 2 (SYN at 0, then 2 retransmissions) [S].
            "net.ipv4.tcp_syn_retries": 2,
            "net.ipv4.tcp_synack_retries": 2,                # TcpMaxConnectResponseRetransmissions [S]
            "net.ipv4.tcp_retries2": 5,                      # TcpMaxDataRetransmissions [S]
            "net.ipv4.tcp_syn_linear_timeouts": 0,           # doubling SYN timeouts [U]
            "simtcp.port_algorithm": "windows",
            # TcpTimedWaitDelay: documented default 240 s (0xF0); Windows 10+ is widely
            # reported to use 120 s. [U] we use 120 s.
            "simtcp.time_wait_seconds": 120,
        }
    elif os_name == "macos":
        specs.update(_bsd_portrange(49152, 65535, 49152, 65535, 1023, 600))
        specs["net.inet.tcp.randomize_ports"] = _Spec(0, _choice(0, 1), "0: sequential")
        specs["net.inet.tcp.msl"] = _Spec(15000, _ranged(1, _INT_MAX), "ms; TIME-WAIT = 2*MSL")
        overrides = {
            "net.ipv4.ip_local_port_range": (49152, 65535),
            # macOS 10.14+ lets unprivileged processes bind low ports on the wildcard
            # address only (see unprivileged_port_start).
            "net.ipv4.ip_unprivileged_port_start": 0,
            # XNU tcp_syn_backoff[] = {1,1,1,1,1,2,4,8,16,32,64,...} bounded by keepinit 75 s:
            # 5 retransmissions 1 s apart then doubling, the last SYN at 67 s [U].
            "net.ipv4.tcp_syn_retries": 10,
            "net.ipv4.tcp_syn_linear_timeouts": 5,
            "simtcp.port_algorithm": "macos",
            "simtcp.time_wait_seconds": 30,                  # 2 * net.inet.tcp.msl
        }
    elif os_name == "freebsd":
        specs.update(_bsd_portrange(10000, 65535, 49152, 65535, 1023, 600))
        specs["net.inet.ip.portrange.randomized"] = _Spec(1, _choice(0, 1), "random start")
        specs["net.inet.ip.portrange.reservedhigh"] = _Spec(1023, _ranged(0, 65535),
                                                            "ports <= this need privilege")
        specs["net.inet.tcp.msl"] = _Spec(30000, _ranged(1, _INT_MAX), "ms; TIME-WAIT = 2*MSL")
        overrides = {
            "net.ipv4.ip_local_port_range": (10000, 65535),
            "net.ipv4.tcp_syn_linear_timeouts": 0,           # (unchanged from before) [U]
            "simtcp.port_algorithm": "freebsd",
            "simtcp.time_wait_seconds": 60,                  # 2 * 30 s
        }
    else:  # pragma: no cover - guarded by Sysctl.__init__
        raise ValueError(os_name)
    for k, v in overrides.items():
        specs[k] = _Spec(v, specs[k].parse, specs[k].doc, specs[k].modelled)
    return specs


def parse_os(os: str) -> tuple[str, tuple[int, int]]:  # noqa: A002 - mirrors add_host(os=...)
    """'linux' -> ('linux', LINUX_KERNEL); 'linux-5.15' -> ('linux', (5, 15)); aliases."""
    text = str(os).lower()
    name, _, version = text.partition("-")
    name = _ALIASES.get(name, name) if version else _ALIASES.get(text, text)
    if name not in PROFILES:
        raise ValueError(f"unknown OS profile {os!r}; choose one of {', '.join(PROFILES)} "
                         "(Linux also as 'linux-X.Y', e.g. 'linux-5.15')")
    if not version:
        return name, LINUX_KERNEL
    if name != "linux":
        raise ValueError(f"{os!r}: only the linux profile takes a kernel version")
    try:
        kernel = tuple(int(x) for x in version.split(".")[:2])
    except ValueError:
        raise ValueError(f"{os!r}: the kernel version must read like 'linux-6.1'") from None
    if len(kernel) != 2 or not (4, 20) <= kernel <= LINUX_KERNEL:
        raise NotModelledError(f"{os!r}: simtcp models Linux kernels 4.20 to "
                               f"{'.'.join(map(str, LINUX_KERNEL))}")
    return name, kernel  # type: ignore[return-value]
