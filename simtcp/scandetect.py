"""Scan detection, as psad and portsentry do it: many ports from one source in a short time.

Theory of operation
-------------------
A port scan is one source touching many destination ports of a host within a short time; a
normal client touches one or two. The detector keeps, per source address, the ports it
probed with the time of the last probe, forgets probes older than ``window`` seconds, and
when ``ports`` distinct ports remain it raises one typed `ScanAlert` and writes the syslog
line psad writes (``psad: scan detected: SRC -> DST tcp: [lo-hi] flags: SYN tcp pkts: N
DL: d``; the danger level from psad.conf's packet thresholds DANGER_LEVEL1..5 = 5, 15, 150,
1500, 10000). One alert per scan: the source must stay quiet for ``window`` seconds before
it can raise another.

Where the probes come from (``source``):

- ``"log"`` — psad's way: psad reads the firewall's ``-j LOG`` lines (it needs a ruleset that
  logs what it does not accept; ``log_prefix`` restricts it to lines with that prefix, psad's
  FW_MSG_SEARCH). Here the detector reads the host's kernel log as it is written
  (`simtcp.iptables.KernelLogLine`, which keeps the logged packet typed), so it sees exactly
  what the firewall logged — nothing that an ACCEPT rule let through before the LOG rule.
- ``"packets"`` — portsentry's and scanlogd's way: a raw look at every arriving packet, here a
  hook at PREROUTING with the raw table's priority (NF_IP_PRI_RAW = -300, before conntrack
  and the filter), counting probes: TCP segments without ACK (SYN, FIN, NULL, Xmas) and UDP
  datagrams. Segments with ACK belong to connections (or to an ACK scan, which these tools
  do not report either).

With ``block=True`` the detector bans the source as psad's auto-blocking does: a DROP rule
for it in the chain PSAD_BLOCK_INPUT, which the first block creates and jumps to from the
top of INPUT; after ``block_timeout`` seconds (psad's AUTO_BLOCK_TIMEOUT, 3600) the rule is
deleted again. The ban is applied from the event loop right after the packet that tripped
the alert (a daemon reacts after the packet, never inside the kernel's rule walk), so the
scanner finds every later port filtered.
"""
from __future__ import annotations

import enum
from dataclasses import dataclass, field
from typing import Callable, Dict, List, Optional, Tuple

from .hooks import ACCEPT, HookPoint
from .logstamp import syslog_line
from .segment import Flags

__all__ = ["ScanDetector", "ScanAlert", "BlockEvent", "BlockAction", "DetectorSource",
           "DANGER_LEVELS", "RAW_PRIORITY"]

#: psad.conf DANGER_LEVEL1 .. DANGER_LEVEL5: packet counts of danger levels 1-5.
DANGER_LEVELS = (5, 15, 150, 1500, 10000)
#: include/uapi/linux/netfilter_ipv4.h NF_IP_PRI_RAW: before conntrack (-200).
RAW_PRIORITY = -300
BLOCK_CHAIN = "PSAD_BLOCK_INPUT"

# The TCP flags in the order nf_log_syslog.c prints them (and psad repeats them).
_FLAG_ORDER = ((Flags.CWR, "CWR"), (Flags.ECE, "ECE"), (Flags.URG, "URG"), (Flags.ACK, "ACK"),
               (Flags.PSH, "PSH"), (Flags.RST, "RST"), (Flags.SYN, "SYN"), (Flags.FIN, "FIN"))


class DetectorSource(enum.Enum):
    LOG = "log"            # the firewall's LOG lines (psad)
    PACKETS = "packets"    # every arriving packet (portsentry, scanlogd)


class BlockAction(enum.Enum):
    ADDED = "added"
    REMOVED = "removed"


@dataclass(frozen=True)
class ScanAlert:
    """One detected scan: who, whom, which ports (sorted), the flags of the probes, how many
    probe packets the source sent in the window, psad's danger level."""

    time: float
    host: str
    src: str
    dst: str
    proto: str
    ports: Tuple[int, ...]
    flags: str
    packets: int
    danger_level: int

    @property
    def text(self) -> str:
        lo, hi = self.ports[0], self.ports[-1]
        span = str(lo) if lo == hi else f"{lo}-{hi}"
        flags = f" flags: {self.flags}" if self.proto == "tcp" else ""
        return syslog_line(self.time, self.host, "psad",
                           f"scan detected: {self.src} -> {self.dst} {self.proto}: [{span}]"
                           f"{flags} {self.proto} pkts: {self.packets} DL: {self.danger_level}")

    def __str__(self) -> str:
        return self.text


@dataclass(frozen=True)
class BlockEvent:
    time: float
    host: str
    src: str
    action: BlockAction
    timeout: float

    @property
    def text(self) -> str:
        if self.action is BlockAction.ADDED:
            what = f"added iptables auto-block against {self.src} for {self.timeout:g} seconds"
        else:
            what = f"removed iptables auto-block against {self.src}"
        return syslog_line(self.time, self.host, "psad", what)

    def __str__(self) -> str:
        return self.text


@dataclass
class _Track:
    ports: Dict[Tuple[str, int], float] = field(default_factory=dict)   # (proto, port) -> t
    times: List[float] = field(default_factory=list)                   # probe packet times
    last: float = 0.0
    alerted: bool = False


def danger_level(packets: int) -> int:
    """psad's danger level of a source that sent ``packets`` packets (0 below DANGER_LEVEL1)."""
    return sum(1 for threshold in DANGER_LEVELS if packets >= threshold)


def flag_names(flags: int) -> str:
    names = [name for bit, name in _FLAG_ORDER if flags & bit]
    return " ".join(names) if names else "NULL"


class ScanDetector:
    """A psad/portsentry-like scan detector on ``host`` (see the module docstring).

    ``ports``: distinct destination ports from one source that make a scan; ``window``:
    seconds within which they must fall (these two are simtcp's knobs, not a copy of one
    tool's defaults); ``source``: "log" or "packets"; ``block``/``block_timeout``: ban the
    source with an iptables DROP rule for that long. ``on_alert(alert)`` is called for each
    alert. ``alerts``, ``blocks`` and ``syslog`` (the lines) record what happened.
    """

    process = "psad"
    user = "root"
    port = 0

    def __init__(self, host, *, ports: int = 10, window: float = 5.0, source: str = "log",
                 log_prefix: Optional[str] = None, block: bool = False,
                 block_timeout: float = 3600.0, ignore: Tuple[str, ...] = ("127.0.0.1",),
                 on_alert: Optional[Callable[[ScanAlert], None]] = None):
        if isinstance(ports, bool) or not isinstance(ports, int) or ports < 2:
            raise ValueError(f"ports must be an int >= 2 (distinct ports that make a scan), "
                             f"got {ports!r}")
        if not isinstance(window, (int, float)) or not window > 0:
            raise ValueError(f"window must be a positive number of seconds, got {window!r}")
        if not isinstance(block_timeout, (int, float)) or not block_timeout > 0:
            raise ValueError(f"block_timeout must be a positive number of seconds, "
                             f"got {block_timeout!r}")
        self.host, self.net = host, host.net
        self.threshold, self.window = ports, float(window)
        self.source = DetectorSource(source)
        self.log_prefix = log_prefix
        self.block, self.block_timeout = bool(block), float(block_timeout)
        self.ignore = frozenset(ignore)
        self.on_alert = on_alert
        self.alerts: List[ScanAlert] = []
        self.blocks: List[BlockEvent] = []
        self.blocked: Dict[str, float] = {}          # src -> time the block ends
        self._tracks: Dict[str, _Track] = {}
        self._chain_ready = False
        if self.source is DetectorSource.LOG:
            host._linux_only("psad")                 # LOG lines are netfilter's
            self._rules = host.netfilter.rules
            self._rules.log_readers.append(self._log_line)
            self._hook = None
        else:
            self._rules = None
            self._hook = host.hooks.add(HookPoint.PREROUTING, self._packet, RAW_PRIORITY,
                                        "scan detector")

    # ------------------------------------------------------------------ inputs
    def _log_line(self, line) -> None:
        view = line.view
        if view is None or (self.log_prefix is not None and line.prefix != self.log_prefix):
            return
        if view.proto not in (6, 17) or view.dport is None:
            return
        self._probe(line.time, view.src, view.dst, "tcp" if view.proto == 6 else "udp",
                    view.dport, view.tcp_flags)

    def _packet(self, ctx):
        p = ctx.packet
        if p.dst in self.host.ips:
            seg, dgram = p.segment, p.datagram
            if seg is not None and not seg.flags & Flags.ACK:
                self._probe(ctx.now, p.src, p.dst, "tcp", seg.dport, int(seg.flags))
            elif dgram is not None:
                self._probe(ctx.now, p.src, p.dst, "udp", dgram.dport, 0)
        return ACCEPT

    # ------------------------------------------------------------------ detection
    def _probe(self, now: float, src: str, dst: str, proto: str, port: int, flags: int) -> None:
        if src in self.ignore or src in self.host.ips:
            return
        track = self._tracks.get(src)
        if track is None:
            track = self._tracks[src] = _Track()
        elif now - track.last > self.window:
            track.alerted = False                     # quiet for a window: a new scan
        horizon = now - self.window
        if track.ports and min(track.ports.values()) < horizon:
            track.ports = {k: t for k, t in track.ports.items() if t >= horizon}
        track.times = [t for t in track.times if t >= horizon]
        track.ports[(proto, port)] = now
        track.times.append(now)
        track.last = now
        if track.alerted or len(track.ports) < self.threshold:
            return
        track.alerted = True
        ports = tuple(sorted(p for pr, p in track.ports if pr == proto))
        alert = ScanAlert(now, self.host.name, src, dst, proto, ports,
                          flag_names(flags) if proto == "tcp" else "", len(track.times),
                          danger_level(len(track.times)))
        self.alerts.append(alert)
        if self.on_alert is not None:
            self.on_alert(alert)
        if self.block and src not in self.blocked:
            self.blocked[src] = now + self.block_timeout
            self.net.call_later(0.0, self._add_block, src)

    # ------------------------------------------------------------------ blocking
    def _add_block(self, src: str) -> None:
        ipt = self.host.iptables
        if not self._chain_ready:
            if BLOCK_CHAIN not in self.host.netfilter.rules.tables["filter"].chains:
                ipt(f"-N {BLOCK_CHAIN}")
                ipt(f"-I INPUT 1 -j {BLOCK_CHAIN}")
            self._chain_ready = True
        ipt(f"-A {BLOCK_CHAIN} -s {src} -j DROP")
        self.blocks.append(BlockEvent(self.net.now, self.host.name, src, BlockAction.ADDED,
                                      self.block_timeout))
        self.net.call_later(self.block_timeout, self._remove_block, src)

    def _remove_block(self, src: str) -> None:
        if self.blocked.pop(src, None) is None:
            return
        self.host.iptables(f"-D {BLOCK_CHAIN} -s {src} -j DROP")
        self.blocks.append(BlockEvent(self.net.now, self.host.name, src, BlockAction.REMOVED,
                                      self.block_timeout))

    # ------------------------------------------------------------------ views
    @property
    def syslog(self) -> List[str]:
        """psad's syslog lines (alerts and blocks), in time order."""
        events = sorted([(a.time, 0, a.text) for a in self.alerts]
                        + [(b.time, 1, b.text) for b in self.blocks])
        return [text for _t, _k, text in events]

    def stop(self) -> None:
        """Stop watching (a block already in place stays until its timeout)."""
        if self._rules is not None and self._log_line in self._rules.log_readers:
            self._rules.log_readers.remove(self._log_line)
        if self._hook is not None:
            self.host.hooks.remove(self._hook)
            self._hook = None

    def __str__(self) -> str:
        return "\n".join(self.syslog)

    def __repr__(self) -> str:
        return (f"<ScanDetector on {self.host.name}: {self.threshold} ports in "
                f"{self.window:g} s from {self.source.value}, {len(self.alerts)} alert(s)>")


def _psad(host, port: Optional[int] = None, **options) -> ScanDetector:
    """``host.start_service("psad", ports=…, window=…, block=True)``: the detector on the
    firewall's LOG lines; ``source="packets"`` for portsentry's way."""
    if port is not None:
        raise ValueError("psad listens on no port: it reads the firewall's log")
    return ScanDetector(host, **options)
