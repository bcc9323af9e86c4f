"""The probing engine behind simtcp's nmap: discovery, port probes with retries, -sV.

Theory of operation: `probe_ports` keeps up to the timing template's ``parallelism`` probes
outstanding, spaced by its ``scan_delay``. Each probe has a deadline (the current
retransmission timeout); a deadline that passes unanswered retransmits the probe while the
retry budget allows (see `simtcp.tools.nmap`), otherwise the port gets its "no reply"
state. Replies are matched by a packet tap on the scanning host (raw scans) or by the
socket's outcome (connect scan). Everything is driven by events on the network's clock and
ends when every port has a state — `Network.run_until` with that predicate.
"""
from __future__ import annotations

import errno
from collections import deque
from typing import Dict, List, NamedTuple, Optional, Tuple

from ..packet import Datagram, Packet
from ..segment import Flags, Options, Segment
from ..seq import Seq

# nmap: "ICMP unreachable error (type 3, code 0, 1, 2, 3, 9, 10, or 13)"
_UNREACH_CODES = {0: "net-unreach", 1: "host-unreach", 2: "proto-unreach", 3: "port-unreach",
                  9: "net-prohibited", 10: "host-prohibited", 13: "admin-prohibited"}
_FLAGS = {"syn": Flags.SYN, "fin": Flags.FIN, "null": Flags(0),
          "xmas": Flags.FIN | Flags.PSH | Flags.URG, "ack": Flags.ACK}
# nmap-payloads (Nmap 7.93): what -sU puts in the datagram for a port, one datagram per
# payload (scan_engine_raw.cc sends them all). simtcp carries the entries for the DNS and
# TFTP ports, the UDP services its labs scan; any other port gets nmap's empty datagram.
_DNS_STATUS = b"\x00\x00\x10\x00" + bytes(8)              # DNSStatusRequest
_DNS_VERSION = (b"\x77\x77\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x07version\x04bind\x00"
                b"\x00\x10\x00\x03")                          # version.bind CH TXT
_UDP_PAYLOADS = {53: (_DNS_STATUS, _DNS_VERSION), 69: (_DNS_STATUS,),
                 5353: (_DNS_STATUS, _DNS_VERSION), 26198: (_DNS_STATUS, _DNS_VERSION)}
_SYN_ACK = int(Flags.SYN | Flags.ACK)
_RST = int(Flags.RST)
# (state on RST, state on ICMP unreachable, state on silence) — nmap's reference guide
_RULES = {"syn": ("closed", "filtered", "filtered"),
          "fin": ("closed", "filtered", "open|filtered"),
          "null": ("closed", "filtered", "open|filtered"),
          "xmas": ("closed", "filtered", "open|filtered"),
          "ack": ("unfiltered", "filtered", "filtered"),
          "udp": (None, "filtered", "open|filtered")}


class _Rtt:
    """RTT estimate and retransmission timeout, as TCP's (RFC 6298) within nmap's bounds."""

    def __init__(self, timing):
        self.t = timing
        self.srtt: Optional[float] = None
        self.rttvar = 0.0
        self.first: Optional[float] = None

    def sample(self, r: float) -> None:
        if self.first is None:
            self.first = r
        if self.srtt is None:
            self.srtt, self.rttvar = r, r / 2
        else:
            self.rttvar = 0.75 * self.rttvar + 0.25 * abs(self.srtt - r)
            self.srtt = 0.875 * self.srtt + 0.125 * r

    def timeout(self) -> float:
        if self.srtt is None:
            return self.t.initial_rtt
        return min(self.t.max_rtt, max(self.t.min_rtt, self.srtt + 4 * self.rttvar))


class _Scan:
    """One scan type against one target: the probe loop."""

    def __init__(self, host, ip: str, kind: str, ports: List[int], options):
        self.host, self.net, self.ip, self.kind = host, host.net, ip, kind
        self.opts, self.timing = options, options.template
        self.todo = deque(ports)
        self.out: Dict[int, dict] = {}           # port -> {"try", "sent", "sock"}
        self.result: Dict[int, Tuple[str, str]] = {}
        self.ttl: Dict[int, int] = {}            # TTL of the reply that decided, raw scans
        self.rtt = _Rtt(self.timing)
        self.best_try = 0                        # highest try number that got an answer
        self.sport = 40000 + self.net.rng.randrange(20000)   # nmap: one random source port
        self.next_send = self.net.now
        self.total = len(ports)
        # what every probe of this scan shares (one source address, flags and options)
        self.src = host.source_for(ip)
        self.flags = _FLAGS.get(kind, Flags(0))
        self.options = Options(mss=1460) if kind == "syn" else Options()
        self.rules = _RULES.get(kind)
        self._tap = None

    # -- the loop
    def run(self) -> Dict[int, Tuple[str, str]]:
        return _run_together([self])[0]

    def start(self) -> None:
        self._tap = self.host.add_tap(self._reply) if self.kind != "connect" else None
        self._pump()

    def done(self) -> bool:
        return len(self.result) == self.total

    def finish(self) -> Dict[int, Tuple[str, str]]:
        if self._tap is not None:
            self.host.remove_tap(self._tap)
            self._tap = None
        for rec in self.out.values():
            if rec.get("sock") is not None:
                rec["sock"].on_ready = None
                rec["sock"].close()
        for port in list(self.todo) + list(self.out):     # the network went idle
            self.result.setdefault(port, (_RULES.get(self.kind, ("", "", "filtered"))[2],
                                          "no-response"))
        return self.result

    def _pump(self) -> None:
        now = self.net.now
        while self.todo and len(self.out) < self.timing.parallelism:
            if now < self.next_send:
                self.net.schedule(self.next_send, self._pump)
                return
            port = self.todo.popleft()
            self._send(port, 0)
            self.next_send = now + self.timing.scan_delay

    def _send(self, port: int, tryno: int) -> None:
        net = self.net
        rec = {"try": tryno, "sent": net.now, "sock": None}
        self.out[port] = rec
        if self.kind == "connect":
            rec["sock"] = self._connect(port)
        else:
            self.host.send_raw(self._probe(port, tryno))
            if self.kind == "udp":            # nmap sends every payload it has for the port
                for extra in _UDP_PAYLOADS.get(port, ())[1:]:
                    self.host.send_raw(Packet(self.src, self.ip,
                                              Datagram(self.sport, port, extra), df=False))
        net.schedule(net.now + self.rtt.timeout(), self._expire, port, tryno)

    def _probe(self, port: int, tryno: int) -> Packet:
        if self.kind == "udp":
            payload = _UDP_PAYLOADS.get(port, (b"",))[0]
            return Packet(self.src, self.ip, Datagram(self.sport, port, payload), df=False)
        rng = self.net.rng
        flags = self.flags
        seq = Seq(rng.getrandbits(32))
        ack = Seq(rng.getrandbits(32)) if self.kind == "ack" else Seq(0)
        seg = Segment(self.sport, port, seq, ack, flags, window=1024, options=self.options)
        return Packet(self.src, self.ip, seg, df=False, ident=rng.getrandbits(16))

    def _expire(self, port: int, tryno: int) -> None:
        rec = self.out.get(port)
        if rec is None or rec["try"] != tryno:
            return                                 # answered, or a newer try is out
        allowed = min(self.opts.retries(), self.best_try + 1)
        if rec.get("sock") is not None:
            rec["sock"].on_ready = None
            rec["sock"].close()
        if tryno < allowed:
            self._send(port, tryno + 1)
            return
        self._done(port, _RULES[self.kind][2] if self.kind != "connect" else "filtered",
                   "no-response", answered=False)

    def _done(self, port: int, state: str, reason: str, ttl: Optional[int] = None,
              answered: bool = True) -> None:
        rec = self.out.pop(port, None)
        if rec is None or port in self.result:
            return
        if rec["try"] == 0 and answered:
            self.rtt.sample(self.net.now - rec["sent"])      # Karn: first tries only
        if answered:
            # scan_engine.cc: max_successful_tryno rises only when a probe is answered; a
            # port that gave up after its retries must not raise everyone else's allowance
            self.best_try = max(self.best_try, rec["try"])
        self.result[port] = (state, reason)
        if ttl is not None:
            self.ttl[port] = ttl          # nmap --reason: "syn-ack ttl 64" (the reply's TTL)
        self._pump()

    # -- replies
    def _reply(self, packet: Packet, iface=None) -> None:
        if packet.src != self.ip and not packet.icmp:
            return
        seg = packet.segment
        if seg is not None:
            if seg.dport == self.sport and seg.sport in self.out:
                flags = int(seg.flags)            # plain ints: IntFlag's & is slow
                if self.kind == "syn" and flags & _SYN_ACK == _SYN_ACK:
                    self._done(seg.sport, "open", "syn-ack", packet.ttl)
                elif flags & _RST:
                    self._done(seg.sport, self.rules[0], "reset", packet.ttl)
            return
        icmp, dgram = packet.icmp, packet.datagram
        if dgram is not None and self.kind == "udp" and dgram.dport == self.sport:
            if dgram.sport in self.out:
                self._done(dgram.sport, "open", "udp-response", packet.ttl)
        elif icmp is not None and icmp.type == 3:
            q = icmp.quoted()
            if q is None or q.dst != self.ip or q.sport != self.sport or q.dport not in self.out:
                return
            reason = _UNREACH_CODES.get(icmp.code)
            if reason is None:
                return
            if self.kind == "udp" and icmp.code == 3:
                self._done(q.dport, "closed", reason, packet.ttl)
            else:
                self._done(q.dport, _RULES[self.kind][1], reason, packet.ttl)

    # -- connect scan
    def _connect(self, port: int):
        sock = self.host.socket(process="nmap")
        sock.setblocking(False)
        code = sock.connect_ex((self.ip, port))
        if code == 0:
            self._connected(port, sock)
            return None
        sock.on_ready = lambda s, port=port: self._connect_progress(port, s)
        return sock

    def _connect_progress(self, port: int, sock) -> None:
        conn = sock.conn
        err = conn.error if conn is not None else None      # what SO_ERROR reports
        if conn is not None and conn.state.value in ("ESTABLISHED", "CLOSE-WAIT"):
            self._connected(port, sock)
        elif err in (errno.ECONNREFUSED,):
            sock.on_ready = None
            sock.close()
            self._done(port, "closed", "conn-refused")
        elif err in (errno.EHOSTUNREACH, errno.ENETUNREACH):
            sock.on_ready = None
            sock.close()
            self._done(port, "filtered", "host-unreach" if err == errno.EHOSTUNREACH
                       else "net-unreach")

    def _connected(self, port: int, sock) -> None:
        sock.on_ready = None
        sock.close()
        self._done(port, "open", "syn-ack")


def _run_together(scans: List["_Scan"]) -> List[Dict[int, Tuple[str, str]]]:
    """Run several scans at once on one clock (nmap probes a host group in parallel)."""
    net = scans[0].net
    try:
        for scan in scans:
            scan.start()
        net.run_until(lambda: all(scan.done() for scan in scans))
    finally:
        results = [scan.finish() for scan in scans]
    return results


def probe_ports(host, ip: str, options) -> Tuple[
        Dict[Tuple[str, int], Tuple[str, str, Optional[int]]], Optional[float]]:
    """Every requested port's (state, reason, TTL of the deciding reply or None), and the
    measured RTT."""
    results: Dict[Tuple[str, int], Tuple[str, str, Optional[int]]] = {}
    rtt = None
    for kind in options.scans:
        proto = "udp" if kind == "udp" else "tcp"
        ports = [p for pr, p in options.ports if pr == proto]
        scan = _Scan(host, ip, kind, ports, options)
        for port, (state, reason) in scan.run().items():
            results[(proto, port)] = (state, reason, scan.ttl.get(port))
        rtt = rtt if rtt is not None else scan.rtt.first
    return results, rtt


class HostUp(NamedTuple):
    """Why discovery says a host is up (nmap --reason: "received reset ttl 64")."""
    latency: Optional[float]
    reason: str
    ttl: Optional[int]


def discover(host, ip: str, options) -> Optional[float]:
    """nmap's default host discovery for a privileged user (see `discover_all`) of one
    address: the RTT of the first answer, or None when the host seems down."""
    up = discover_all(host, [ip], options)[ip]
    return up.latency if up is not None else None


def discover_all(host, ips: List[str], options) -> Dict[str, Optional[HostUp]]:
    """nmap's default host discovery for a privileged user, of every address at once (nmap
    pings a whole host group in parallel): TCP SYN to 443, then — for the addresses still
    silent — TCP ACK to 80 (an ICMP echo is not modelled); any answer, even a RST, means
    "up". Returns each address's `HostUp` (RTT of its first answer, reason, TTL), or None
    (seems down)."""
    probe = type(options)(scans=["syn"], ports=[("tcp", 443)], timing=options.timing,
                          max_retries=1, targets=list(ips))
    found: Dict[str, Optional[HostUp]] = {ip: None for ip in ips}
    silent = list(dict.fromkeys(ips))
    for kind, port in (("syn", 443), ("ack", 80)):
        if not silent:
            break
        scans = [_Scan(host, ip, kind, [port], probe) for ip in silent]
        results = _run_together(scans)
        still = []
        for ip, scan, result in zip(silent, scans, results):
            reason = result[port][1]
            if reason != "no-response":
                found[ip] = HostUp(scan.rtt.first, reason, scan.ttl.get(port))
            else:
                still.append(ip)
        silent = still
    return found


# ------------------------------------------------------------------------ -sV
_SIGNATURES = [  # (what the banner starts with / contains, service, version text)
    (b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "ssh",
     "OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)"),
    (b"SSH-", "ssh", ""),
    (b"ESMTP Postfix", "smtp", "Postfix smtpd"),
    (b"(vsFTPd 3.0.3)", "ftp", "vsftpd 3.0.3"),
    (b"+OK Dovecot", "pop3", "Dovecot pop3d"),
    (b"Dovecot (Debian) ready", "imap", "Dovecot imapd"),
    (b"8.0.36\x00", "mysql", "MySQL 8.0.36"),
    (b"RFB 003.008", "vnc", "VNC (protocol 3.8)"),
    (b"login: ", "telnet", "Linux telnetd"),
    (b"Server: nginx/1.22.1", "http", "nginx 1.22.1"),
    (b"HTTP/1.", "http", ""),
]


def _match(data: bytes):
    return next(((service, version) for needle, service, version in _SIGNATURES
                 if needle in data), None)


def _read_probe_reply(sock, wait: float) -> bytes:
    """Read a probe's reply until it matches a signature, the server closes, or ``wait``
    seconds have passed — service_scan.cc matches every read at once, it does not sit out a
    probe's totalwaitms once a banner has matched."""
    from ..socket import SimulationIdleError
    net = sock.net
    deadline = net.now + wait
    data = b""
    while True:
        remaining = deadline - net.now
        if remaining <= 0:
            return data
        sock.settimeout(remaining)
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, SimulationIdleError, OSError):
            return data
        if not chunk:
            return data
        data += chunk
        if _match(data) is not None:
            return data


def version_scan(host, ip: str, ports) -> None:
    """nmap -sV: the NULL probe (read a banner, up to 6 s: nmap-service-probes
    ``totalwaitms 6000``), else the GetRequest probe (up to 5 s); match the reply."""
    for p in ports:
        if p.proto != "tcp" or p.state != "open":
            continue
        sock = host.socket(process="nmap")
        sock.settimeout(5.0)
        try:
            sock.connect((ip, p.port))
        except OSError:
            sock.close()
            continue
        data = _read_probe_reply(sock, 6.0)
        if not data:
            try:
                sock.sendall(b"GET / HTTP/1.0\r\n\r\n")
                data = _read_probe_reply(sock, 5.0)
            except OSError:
                data = b""
        sock.close()
        found = _match(data)
        if found is not None:
            p.service, p.version = found
