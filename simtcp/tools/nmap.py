"""A port scanner that behaves like nmap: probes, port states, timing and the report.

Theory of operation: `scan(host, argv)` parses nmap's command line (`nmap_options`), then
for each target runs host discovery (unless ``-Pn``) and the requested scan in virtual time
from ``host``. Raw scans (-sS, -sF, -sN, -sX, -sA, -sU) build each probe themselves and send
it through the scanning host's raw-socket path; a packet tap (like libpcap) sees the replies
before the host's own stack does — so when a SYN-ACK comes back, the scanning host's kernel
answers it with a RST, exactly the "SYN → SYN-ACK → RST" a capture of ``nmap -sS`` shows.
The connect scan (-sT) uses ordinary sockets: a full handshake, then close.

Each reply is classified as nmap's reference guide ("Port Scanning Techniques") defines:

=========  ==========  =========  ==========================================  ==============
scan       open        closed     filtered                                    no reply
=========  ==========  =========  ==========================================  ==============
-sS        SYN/ACK     RST        ICMP unreachable (3/0,1,2,3,9,10,13)        filtered
-sT        connected   refused    ICMP host/net unreachable, timeout           filtered
-sF/N/X    —           RST        ICMP unreachable                            open|filtered
-sA        —           —          ICMP unreachable  (RST: "unfiltered")       filtered
-sU        UDP reply   ICMP 3/3   other ICMP unreachable                      open|filtered
=========  ==========  =========  ==========================================  ==============

A probe without an answer is retransmitted before the port is declared filtered: at most
``--max-retries`` times, and — as nmap's ultra_scan does — no more than one try beyond the
highest try that ever got an answer in this scan (so a quiet, healthy network costs one
retransmission per silent port, a lossy one more). The retransmission timeout follows the
measured RTT like TCP's (srtt + 4·rttvar, clamped to the template's min/max).
"""
from __future__ import annotations

import ipaddress
import math
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from ..ports import service_name
from ..shell import Output, wall_clock
from . import nmap_options as opt
from .nmap_engine import discover_all, probe_ports, version_scan

VERSION = "7.93"


@dataclass
class PortResult:
    proto: str
    port: int
    state: str                    # open, closed, filtered, unfiltered, open|filtered, …
    reason: str                   # syn-ack, reset, no-response, port-unreach, conn-refused…
    service: str = ""
    version: str = ""
    ttl: Optional[int] = None     # TTL of the reply that decided (raw scans), for --reason

    @property
    def reason_text(self) -> str:
        """nmap's REASON column: ``syn-ack ttl 64``; a connect scan saw no packet: no TTL."""
        return self.reason + (f" ttl {self.ttl}" if self.ttl is not None else "")


@dataclass
class HostReport:
    target: str
    ip: str
    up: bool
    latency: Optional[float] = None
    ports: List[PortResult] = field(default_factory=list)
    up_reason: str = "user-set"   # why nmap thinks it is up: -Pn ("user-set") or the answer

    def state(self, port: int, proto: str = "tcp") -> str:
        for p in self.ports:
            if p.port == port and p.proto == proto:
                return p.state
        raise KeyError(f"{port}/{proto} was not scanned")

    def states(self) -> Dict[Tuple[int, str], str]:
        return {(p.port, p.proto): p.state for p in self.ports}


@dataclass
class ScanReport:
    """What a scan found (``.hosts``) and the text nmap prints (``str(report)``)."""
    options: opt.ScanOptions
    started: float
    finished: float
    hosts: List[HostReport]

    @property
    def elapsed(self) -> float:
        return self.finished - self.started

    def __str__(self) -> str:
        return render(self)

    def _repr_html_(self) -> str:
        import html
        return f"<pre>{html.escape(render(self))}</pre>"


def _clock(t: float) -> str:
    return wall_clock(t).strftime("%Y-%m-%d %H:%M UTC")


def _sig2(x: float) -> str:
    """nmap's latency: two significant digits, fixed notation (0.0000060s, 0.010s)."""
    if x <= 0:
        return "0.00"
    x = float(f"{x:.2g}")                   # round first: 0.0099999 is 0.010, not 0.0100
    decimals = max(0, 1 - math.floor(math.log10(x)))
    return f"{x:.{decimals}f}"


def _targets(host, specs: List[str]) -> List[Tuple[str, str]]:
    """(as typed, IPv4) pairs; a CIDR block expands to its hosts (nmap scans all of them)."""
    out = []
    for spec in specs:
        node = host.net.nodes.get(spec)
        if node is not None:
            out.append((spec, node.ip))
            continue
        try:
            net = ipaddress.IPv4Network(spec, strict=False)
        except ValueError:
            raise opt.NmapUsageError(f"Failed to resolve \"{spec}\".\nWARNING: No targets "
                                     "were specified, so 0 hosts scanned.") from None
        hosts = [str(a) for a in net]     # nmap scans every address, network and broadcast too
        out += [(a, a) for a in hosts]
    return out


def _service(port: int, proto: str) -> str:
    """The service column. simtcp's trimmed IANA table holds TCP rows only; IANA assigns the
    system ports it lists to both TCP and UDP (53 domain, 123 ntp, 161 snmp), so a UDP port
    takes its TCP row's name."""
    return (service_name(port, proto) or (service_name(port, "tcp") if proto == "udp"
                                          else None) or "unknown")


def scan(host, argv: List[str]) -> ScanReport:
    """Run nmap's command line ``argv`` (without the word nmap) from ``host``."""
    options = opt.parse(list(argv))
    start = host.net.now
    reports = []
    targets = _targets(host, options.targets)
    latencies = ({} if options.skip_discovery
                 else discover_all(host, [ip for _typed, ip in targets], options))
    for typed, ip in targets:
        latency, up_reason = None, "user-set"
        if not options.skip_discovery:
            up = latencies[ip]
            if up is None:
                reports.append(HostReport(typed, ip, up=False))
                continue
            latency = up.latency
            up_reason = up.reason + (f" ttl {up.ttl}" if up.ttl is not None else "")
        results, rtt = probe_ports(host, ip, options)
        ports = [PortResult(proto, port, state, reason, _service(port, proto), ttl=ttl)
                 for (proto, port), (state, reason, ttl) in sorted(results.items())]
        if options.version:
            version_scan(host, ip, ports)
        reports.append(HostReport(typed, ip, True, latency if latency is not None else rtt,
                                  ports, up_reason))
    return ScanReport(options, start, host.net.now, reports)


# ---------------------------------------------------------------------- normal output
_HIDE_ABOVE = 25       # portlist.cc isIgnoredState(): max_per_state without -v
# portlist.h: the state numbers nmap breaks ties with (the smaller number is listed first)
_STATE_NUMBER = {"closed": 1, "open": 2, "filtered": 3, "unfiltered": 6, "open|filtered": 7,
                 "closed|filtered": 8}


def _ignored_states(ports: List[PortResult], open_only: bool) -> List[str]:
    """The states nmap folds into "Not shown:", in its order (portlist.cc:
    isIgnoredState, nextIgnoredState): never open; with --open every state that cannot be
    open (open|filtered and unfiltered still can); else a state of more than 25 ports.
    Counts are over all protocols; the larger count first, ties by state number."""
    counts: Dict[str, int] = {}
    for p in ports:
        counts[p.state] = counts.get(p.state, 0) + 1

    def ignored(state: str) -> bool:
        if state == "open":
            return False
        if open_only and state not in ("open|filtered", "unfiltered"):
            return True
        return counts[state] > _HIDE_ABOVE
    return sorted((st for st in counts if ignored(st)),
                  key=lambda st: (-counts[st], _STATE_NUMBER.get(st, 9)))


def _not_shown(ports: List[PortResult], states: List[str]) -> str:
    """output.cc printportoutput(): for each ignored state, one part per (reason, protocol)
    group — the groups sorted by count with portreasons.cc reason_sort(), a merge sort that
    puts the later group first on a tie; "port" or "ports" by the state's total count."""
    parts = []
    for state in states:
        members = [p for p in ports if p.state == state]
        members.sort(key=lambda p: (p.proto != "tcp", p.port))    # nextPort(): TCP, then UDP
        groups: Dict[Tuple[str, str], int] = {}
        for p in members:
            groups[(p.reason, p.proto)] = groups.get((p.reason, p.proto), 0) + 1
        ordered = sorted(reversed(list(groups.items())), key=lambda kv: -kv[1])
        plural = "" if len(members) == 1 else "s"
        parts += [f"{n} {state} {proto} port{plural} ({reason})"
                  for (reason, proto), n in ordered]
    return "Not shown: " + ", ".join(parts)


def render(report: ScanReport) -> str:
    o = report.options
    lines = [f"Starting Nmap {VERSION} ( https://nmap.org ) at {_clock(report.started)}"]
    up = 0
    for h in report.hosts:
        if not h.up:
            if len(report.hosts) == 1:
                lines.append("Note: Host seems down. If it is really up, but blocking our ping "
                             "probes, try -Pn")
            continue
        up += 1
        name = h.ip if h.target == h.ip else f"{h.target} ({h.ip})"
        lines.append(f"Nmap scan report for {name}")
        received = f", received {h.up_reason}" if o.reason else ""
        lines.append(f"Host is up{received} ({_sig2(h.latency or 0.0)}s latency).")
        hidden = _ignored_states(h.ports, o.open_only)
        shown = [p for p in h.ports if p.state not in hidden]
        if hidden:
            if not shown:
                lines.append(f"All {len(h.ports)} scanned ports on {name} are in ignored states.")
            lines.append(_not_shown(h.ports, hidden))
        else:
            lines.append("")
        if shown and o.open_only and any(p.state == "filtered" for p in h.ports) \
                and any(s != "udp" for s in o.scans):
            # --open turns on --defeat-rst-ratelimit (nmap.cc), which output.cc notes
            lines.append("Some closed ports may be reported as filtered due to "
                         "--defeat-rst-ratelimit")
        if shown:
            cols = [("PORT", [f"{p.port}/{p.proto}" for p in shown]),
                    ("STATE", [p.state for p in shown]),
                    ("SERVICE", [p.service for p in shown])]
            if o.reason:
                cols.append(("REASON", [p.reason_text for p in shown]))
            if o.version:
                cols.append(("VERSION", [p.version for p in shown]))
            widths = [max(len(head), *(len(v) for v in vals)) + 1 for head, vals in cols]
            lines.append("".join(head.ljust(w) for (head, _), w in zip(cols, widths)).rstrip()
                         if len(cols) > 3 else
                         "".join(head.ljust(w) for (head, _), w in zip(cols[:-1], widths))
                         + cols[-1][0])
            for i in range(len(shown)):
                row = "".join(vals[i].ljust(w) for (_, vals), w in zip(cols, widths))
                lines.append(row.rstrip())
        lines.append("")
    if o.version and up:
        lines.append("Service detection performed. Please report any incorrect results at "
                     "https://nmap.org/submit/ .")
    n = len(report.hosts)
    lines.append(f"Nmap done: {n} IP address{'es' if n != 1 else ''} ({up} host"
                 f"{'s' if up != 1 else ''} up) scanned in {report.elapsed:.2f} seconds")
    return "\n".join(lines)


def nmap(host, args: List[str], stdin=None) -> Output:
    """The shell command: ``nmap [scan type] [options] target …``."""
    try:
        report = scan(host, args)
    except opt.NmapUsageError as e:
        return Output(str(e), 1)
    return Output(render(report), 0)
