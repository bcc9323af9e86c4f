"""nmap's command line: scan types, port specifications and timing templates.

Theory of operation: `parse(argv)` turns the flags a student types (``nmap -sS -p 1-1024 -T4
server``) into a `ScanOptions` value, with nmap's own error texts for what it refuses. The
numbers behind the timing templates are those of nmap's reference guide, "Timing and
Performance" (-T0 … -T5: scan delay, initial/min/max RTT timeouts, retries, parallelism);
simtcp runs them in virtual time, so a -T0 scan's five-minute gaps cost no wall time.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from importlib import resources
from typing import Dict, List, Optional, Tuple

SCAN_TYPES = {"-sS": "syn", "-sT": "connect", "-sF": "fin", "-sN": "null", "-sX": "xmas",
              "-sA": "ack", "-sU": "udp"}
SCAN_NAMES = {"syn": "SYN Stealth Scan", "connect": "Connect Scan", "fin": "FIN Scan",
              "null": "NULL Scan", "xmas": "XMAS Scan", "ack": "ACK Scan", "udp": "UDP Scan"}


@dataclass(frozen=True)
class Timing:
    """One timing template (nmap reference guide, "Timing and Performance")."""
    name: str
    scan_delay: float          # seconds between probes to one host
    initial_rtt: float         # --initial-rtt-timeout
    min_rtt: float             # --min-rtt-timeout
    max_rtt: float             # --max-rtt-timeout
    max_retries: int           # --max-retries
    parallelism: int           # probes outstanding at once (nmap adapts this; simtcp fixes it)


TIMINGS = {
    0: Timing("paranoid", 300.0, 300.0, 0.1, 10.0, 10, 1),
    1: Timing("sneaky", 15.0, 15.0, 0.1, 10.0, 10, 1),
    2: Timing("polite", 0.4, 1.0, 0.1, 10.0, 10, 1),
    3: Timing("normal", 0.0, 1.0, 0.1, 10.0, 10, 30),
    4: Timing("aggressive", 0.0, 0.5, 0.1, 1.25, 6, 60),
    5: Timing("insane", 0.0, 0.25, 0.05, 0.3, 2, 120),
}


class NmapUsageError(ValueError):
    """A command line nmap refuses; the message is nmap's."""


def _top_ports() -> Dict[str, List[int]]:
    text = resources.files("simtcp").joinpath("data/nmap-top-ports.txt").read_text()
    out = {}
    for line in text.splitlines():
        if line and not line.startswith("#"):
            proto, *ports = line.split()
            out[proto] = [int(p) for p in ports]
    return out


TOP_PORTS = _top_ports()


@dataclass
class ScanOptions:
    scans: List[str] = field(default_factory=list)          # "syn", "udp", …
    ports: Optional[List[Tuple[str, int]]] = None          # [("tcp", 22), ("udp", 53)]
    top: Optional[int] = None
    skip_discovery: bool = False                            # -Pn
    timing: int = 3
    version: bool = False                                   # -sV
    max_retries: Optional[int] = None
    reason: bool = False
    open_only: bool = False
    numeric: bool = False
    targets: List[str] = field(default_factory=list)

    @property
    def template(self) -> Timing:
        return TIMINGS[self.timing]

    def retries(self) -> int:
        return self.template.max_retries if self.max_retries is None else self.max_retries


def _error(text: str) -> NmapUsageError:
    return NmapUsageError(text + "\nQUITTING!")


def parse_ports(spec: str, scans: List[str]) -> List[Tuple[str, int]]:
    """``22``, ``20-25,80``, ``-`` (1-65535), ``U:53,T:22`` — nmap's -p syntax."""
    protos = ["udp"] if scans == ["udp"] else (["tcp", "udp"] if "udp" in scans else ["tcp"])
    if spec == "-":
        return [(p, n) for p in protos for n in range(1, 65536)]
    out: List[Tuple[str, int]] = []
    current = protos
    for item in spec.split(","):
        item = item.strip()
        if item[:2] in ("T:", "U:"):
            current = ["tcp"] if item[0] == "T" else ["udp"]
            item = item[2:]
        lo, dash, hi = item.partition("-")
        try:
            a = int(lo) if lo else 1
            b = (int(hi) if hi else 65535) if dash else a
        except ValueError:
            raise _error(f"Error #485: Your port specifications are illegal.  Example of proper "
                         f"form: \"-100,200-1024,T:3000-4000,U:60000-\"") from None
        if not (0 <= a <= 65535 and 0 <= b <= 65535) or b < a:
            raise _error("Ports specified must be between 0 and 65535 inclusive")
        out += [(p, n) for p in current for n in range(a, b + 1)]
    return sorted(set(out), key=lambda pn: (pn[0], pn[1]))


def parse(argv: List[str]) -> ScanOptions:
    opts = ScanOptions()
    port_spec = None
    i = 0
    while i < len(argv):
        a = argv[i]

        def value() -> str:
            if i + 1 >= len(argv):
                raise _error(f"nmap: option '{a}' requires an argument\nSee the output of "
                             "nmap -h for a summary of options.")
            return argv[i + 1]
        if a in SCAN_TYPES:
            opts.scans.append(SCAN_TYPES[a])
        elif a == "-sV":
            opts.version = True
        elif a.startswith("-s") and len(a) == 3:
            raise _error(f"Scantype {a[2]} not supported")
        elif a == "-p":
            port_spec = value()
            i += 1
        elif a.startswith("-p") and len(a) > 2 and a != "-p-":
            port_spec = a[2:]
        elif a == "-p-":
            port_spec = "-"
        elif a == "-F":
            opts.top = 100
        elif a == "--top-ports":
            v = value()
            if not v.isdigit() or int(v) < 1:
                raise _error("--top-ports should be an integer 1 or greater")
            opts.top = int(v)
            i += 1
        elif a == "-Pn":
            opts.skip_discovery = True
        elif a.startswith("-T") and len(a) == 3:
            if a[2] not in "012345":
                raise _error("Unknown timing mode (-T argument).  Use either \"paranoid\", "
                             "\"sneaky\", \"polite\", \"normal\", \"aggressive\", \"insane\" "
                             "or a number from 0 (Paranoid) to 5 (Insane)")
            opts.timing = int(a[2])
        elif a == "--max-retries":
            v = value()
            if not v.isdigit():
                raise _error("max-retries must be a positive integer")
            opts.max_retries = int(v)
            i += 1
        elif a == "--reason":
            opts.reason = True
        elif a == "--open":
            opts.open_only = True
        elif a == "-n":
            opts.numeric = True
        elif a.startswith("-"):
            raise _error(f"nmap: unrecognized option '{a}'\nSee the output of nmap -h for a "
                         "summary of options.")
        else:
            opts.targets.append(a)
        i += 1
    if not opts.scans:
        opts.scans = ["syn"]          # root's default (simulated hosts run nmap as root)
    if "connect" in opts.scans and "syn" in opts.scans:
        raise _error("You specified more than one type of TCP scan.  Please choose only one "
                     "of -sA, -b, -sT, -sF, -sI, -sM, -sN, -sS, -sW, and -sX")
    if len([s for s in opts.scans if s != "udp"]) > 1:
        raise _error("You specified more than one type of TCP scan.  Please choose only one "
                     "of -sA, -b, -sT, -sF, -sI, -sM, -sN, -sS, -sW, and -sX")
    if not opts.targets:
        raise _error("WARNING: No targets were specified, so 0 hosts scanned.")
    if port_spec is not None:
        opts.ports = parse_ports(port_spec, opts.scans)
    else:
        n = opts.top or 1000
        protos = [("udp" if s == "udp" else "tcp") for s in opts.scans]
        opts.ports = sorted({(p, port) for p in protos for port in TOP_PORTS[p][:n]})
    return opts
