"""Port knocking: a knockd daemon with knockd's semantics, and the ``knock`` client.

Theory of operation (knockd(1), "knockd - port-knock server"): knockd listens at the link
layer (libpcap), so it sees packets before the firewall does — the knocked ports need not be
open, and usually are closed or dropped. Each section of ``knockd.conf`` names a
``sequence`` of ``port[:tcp|udp]``; a client that hits those ports in order, within
``seq_timeout`` seconds of its first knock, has the section's ``command`` run with ``%IP%``
replaced by its address (typically an iptables rule that opens SSH for that address only).
With ``start_command``/``cmd_timeout``/``stop_command`` the port closes again by itself.
A packet on a wrong port invalidates the client's attempt; with ``tcpflags`` set, TCP
packets whose flags do not match are ignored instead (they neither advance nor break it).

In simtcp the daemon is a packet tap on the host (`Node.add_tap`) and commands run through
the host's shell (`host.sh`), exactly the lines an administrator writes in knockd.conf.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .segment import Flags

_FLAG_NAMES = {"fin": Flags.FIN, "syn": Flags.SYN, "rst": Flags.RST, "psh": Flags.PSH,
               "ack": Flags.ACK, "urg": Flags.URG}


class KnockdConfigError(ValueError):
    """knockd.conf has a line knockd refuses; the message says which."""


@dataclass
class Section:
    name: str
    sequence: List[Tuple[int, str]]
    seq_timeout: float = 25.0              # knockd's default
    tcpflags: Optional[Flags] = None
    command: Optional[str] = None
    stop_command: Optional[str] = None
    cmd_timeout: float = 10.0


@dataclass
class Attempt:
    started: float
    stage: int = 0


@dataclass
class KnockLogLine:
    time: float
    text: str


@dataclass
class Knockd:
    """A running knockd (``host.start_service("knockd", config=TEXT)``)."""
    host: object
    sections: List[Section]
    attempts: Dict[Tuple[str, str], Attempt] = field(default_factory=dict)
    log: List[KnockLogLine] = field(default_factory=list)
    process: str = "knockd"
    user: str = "root"
    port: int = 0

    def __post_init__(self) -> None:
        self._tap = self.host.add_tap(self._packet)

    def stop(self) -> None:
        self.host.remove_tap(self._tap)

    def _say(self, text: str) -> None:
        self.log.append(KnockLogLine(self.host.net.now, text))

    def _packet(self, packet, iface=None) -> None:
        if packet.dst not in self.host.ips:
            return
        seg, dgram = packet.segment, packet.datagram
        if seg is not None:
            proto, port, flags = "tcp", seg.dport, seg.flags
        elif dgram is not None:
            proto, port, flags = "udp", dgram.dport, None
        else:
            return
        now = self.host.net.now
        for sec in self.sections:
            key = (sec.name, packet.src)
            if proto == "tcp" and sec.tcpflags is not None and (flags & sec.tcpflags) != sec.tcpflags:
                continue                               # knockd(1): ignored, not an error
            att = self.attempts.get(key)
            if att is not None and now - att.started > sec.seq_timeout:
                self._say(f"{packet.src}: {sec.name}: sequence timeout (stage {att.stage})")
                del self.attempts[key]
                att = None
            expected = sec.sequence[att.stage if att else 0]
            if (port, proto) == expected:
                if att is None:
                    att = self.attempts[key] = Attempt(now)
                att.stage += 1
                self._say(f"{packet.src}: {sec.name}: Stage {att.stage}")
                if att.stage == len(sec.sequence):
                    del self.attempts[key]
                    self._open(sec, packet.src)
            elif att is not None:
                self._say(f"{packet.src}: {sec.name}: sequence invalidated at stage {att.stage}")
                del self.attempts[key]

    def _open(self, sec: Section, ip: str) -> None:
        self._say(f"{ip}: {sec.name}: OPEN SESAME")
        if sec.command:
            self._run(sec, sec.command, ip)
        if sec.stop_command:
            self.host.net.call_later(sec.cmd_timeout, self._close, sec, ip)

    def _close(self, sec: Section, ip: str) -> None:
        self._say(f"{ip}: {sec.name}: command timeout")
        self._run(sec, sec.stop_command, ip)

    def _run(self, sec: Section, command: str, ip: str) -> None:
        line = command.replace("%IP%", ip)
        self._say(f"{ip}: {sec.name}: running command: {line}")
        out = self.host.sh(line.replace("/sbin/", "").replace("/usr/sbin/", ""))
        if getattr(out, "status", 0):
            self._say(f"{ip}: {sec.name}: command failed ({out.status}): {out}")

    def __str__(self) -> str:
        return "\n".join(f"[{l.time:.3f}] {l.text}" for l in self.log)


def _sequence(text: str, section: str) -> List[Tuple[int, str]]:
    out = []
    for item in text.split(","):
        port, _, proto = item.strip().partition(":")
        proto = (proto or "tcp").lower()
        if not port.isdigit() or not 0 < int(port) < 65536 or proto not in ("tcp", "udp"):
            raise KnockdConfigError(f"config: {section}: invalid sequence entry {item.strip()!r}")
        out.append((int(port), proto))
    return out


def parse_config(text: str) -> List[Section]:
    """knockd.conf: ``[options]`` (ignored: logging/interface) and one section per knock."""
    parsed: Dict[str, Dict[str, str]] = {}
    current: Optional[Dict[str, str]] = None
    for n, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip()          # knockd: '#' starts a comment
        if not line:
            continue
        if line.startswith("[") and line.endswith("]"):
            current = parsed.setdefault(line[1:-1].strip(), {})
        elif current is None:
            raise KnockdConfigError(f"config: line {n}: attribute outside a section: {line!r}")
        else:
            key, eq, value = line.partition("=")
            current[key.strip().lower()] = value.strip() if eq else ""
    sections = []
    known = {"sequence", "seq_timeout", "tcpflags", "command", "start_command",
             "stop_command", "cmd_timeout"}
    for name, sec in parsed.items():
        if name.lower() == "options":
            continue
        unknown = set(sec) - known
        if unknown:
            raise KnockdConfigError(f"config: {name}: unknown attribute "
                                    f"'{sorted(unknown)[0]}' (not modelled by simtcp)")
        if "sequence" not in sec:
            raise KnockdConfigError(f"config: {name}: no sequence defined")
        flags = None
        if "tcpflags" in sec:
            flags = Flags(0)
            for f in sec["tcpflags"].split(","):
                f = f.strip().lower()
                if f not in _FLAG_NAMES:
                    raise KnockdConfigError(f"config: {name}: unrecognized flag \"{f}\"")
                flags |= _FLAG_NAMES[f]
        try:
            sections.append(Section(
                name=name, sequence=_sequence(sec["sequence"], name),
                seq_timeout=float(sec.get("seq_timeout", 25)), tcpflags=flags,
                command=sec.get("command", sec.get("start_command")),
                stop_command=sec.get("stop_command"),
                cmd_timeout=float(sec.get("cmd_timeout", 10))))
        except ValueError as e:
            raise KnockdConfigError(f"config: {name}: {e}") from None
    if not sections:
        raise KnockdConfigError("config: no knock sections defined")
    return sections


def knock(host, args: List[str], stdin=None):
    """The ``knock`` client: ``knock [-u] [-d delay_ms] host port[:proto] …`` — one SYN (or
    an empty UDP datagram) per port, in order; it waits for nothing."""
    from socket import AF_INET, SOCK_DGRAM
    from .shell import Output
    udp, delay, rest, i = False, 0.0, [], 0
    while i < len(args):
        a = args[i]
        if a in ("-u", "--udp"):
            udp = True
        elif a in ("-d", "--delay") and i + 1 < len(args) and args[i + 1].isdigit():
            delay = int(args[i + 1]) / 1000.0
            i += 1
        elif a.startswith("-"):
            return Output(f"knock: unrecognized option '{a}'\nusage: knock [options] "
                          "<host> <port[:proto]> [port[:proto]] ...", 1)
        else:
            rest.append(a)
        i += 1
    if len(rest) < 2:
        return Output("usage: knock [options] <host> <port[:proto]> [port[:proto]] ...", 1)
    target = rest[0]
    node = host.net.nodes.get(target)
    ip = node.ip if node is not None else target
    for item in rest[1:]:
        port, _, proto = item.partition(":")
        proto = proto or ("udp" if udp else "tcp")
        if not port.isdigit():
            return Output(f"knock: invalid port: {item}", 1)
        if proto == "udp":
            s = host.socket(AF_INET, SOCK_DGRAM, process="knock")
            s.sendto(b"", (ip, int(port)))
        else:
            s = host.socket(process="knock")
            s.setblocking(False)
            s.connect_ex((ip, int(port)))       # the SYN is the knock
        s.close()
        host.net.run(until=host.net.now + delay)
    return Output("", 0)
