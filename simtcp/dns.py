"""DNS over UDP and TCP: a small authoritative server and a stub resolver on scapy's DNS layer.

Theory of operation: ``server.start_service("dns", records={...})`` starts `DnsServer`, a
program (process ``named``, user ``bind``) with a UDP and a TCP socket on port 53 — the same
number in two port spaces. It answers from its zone the way an authoritative server does:

* **UDP** (RFC 1035 §4.2.1): the answer must fit in 512 bytes, or in the size a client
  advertises in an EDNS(0) OPT record (RFC 6891 §6.2.3, at least 512). An answer that does
  not fit goes back with the TC (truncated) bit set and no records — what BIND and dig do
  (RFC 2181 §9 lets a server omit the partial RRset).
* **TCP** (RFC 1035 §4.2.2, RFC 7766): each message is preceded by its length in two
  bytes; there is no 512-byte limit, several queries may use one connection, and a zone
  transfer (AXFR, RFC 5936) is only served here: the zone's SOA, every record, the SOA again.

`resolve()` is the stub resolver behind ``host.resolve(name, server=...)``: it asks over
UDP (one connected socket, as dig uses, so an ICMP port unreachable ends the lookup with
"connection refused"; a random query ID and source port), waits in virtual time (5 s, 3
tries, like dig), and when the answer comes back truncated asks again over TCP (RFC 7766 §5:
"the resolver SHOULD retry over TCP") — both exchanges are visible in a capture. Messages are
built and parsed with scapy (``scapy.layers.dns``), so a pcap opens cleanly in Wireshark.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from scapy.layers.dns import DNS, DNSQR, DNSRR, DNSRRMX, DNSRROPT, DNSRRSOA

from .services import Service, Session, register
from .udpsocket import SOCK_DGRAM

__all__ = ["DnsServer", "Resolution", "resolve", "zone_records", "UDP_LIMIT", "EDNS_SIZE"]

UDP_LIMIT = 512          # RFC 1035 §2.3.4: UDP messages 512 octets or less
EDNS_SIZE = 1232         # what dig 9.18 advertises (DNS flag day 2020)
PORT = 53
TYPES = {"A": 1, "NS": 2, "CNAME": 5, "SOA": 6, "MX": 15, "TXT": 16, "AAAA": 28,
         "AXFR": 252, "ANY": 255}
TYPE_NAMES = {v: k for k, v in TYPES.items()}
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}


def _fqdn(name: str) -> str:
    name = name.strip().lower()
    return name if name.endswith(".") else name + "."


@dataclass(frozen=True)
class Record:
    name: str            # fully qualified, with the final dot
    type: str            # "A", "TXT", ...
    value: object
    ttl: int = 300

    def rr(self):
        if self.type == "MX":
            pref, host = self.value
            return DNSRRMX(rrname=self.name, ttl=self.ttl, preference=pref, exchange=host)
        if self.type == "SOA":
            return DNSRRSOA(rrname=self.name, ttl=self.ttl, **self.value)
        rdata = self.value
        if self.type == "TXT":
            rdata = [rdata] if isinstance(rdata, (str, bytes)) else list(rdata)
        return DNSRR(rrname=self.name, type=self.type, ttl=self.ttl, rdata=rdata)


def zone_records(records: Dict[str, object], origin: Optional[str] = None) -> List[Record]:
    """Records from ``{name: value}``: a value is an IPv4 address (an A record), or a dict
    ``{"A": [...], "TXT": [...], "MX": [(10, "mail.example.com")], "NS": [...]}``. The zone
    gets an SOA at ``origin`` (default: the last two labels of the first name)."""
    out: List[Record] = []
    for name, value in records.items():
        name = _fqdn(name)
        by_type = value if isinstance(value, dict) else {"A": value}
        for rtype, values in by_type.items():
            rtype = rtype.upper()
            if rtype not in TYPES or rtype in ("AXFR", "ANY"):
                raise ValueError(f"record type {rtype!r} is not modelled; use one of "
                                 "A, AAAA, NS, CNAME, MX, TXT, SOA")
            items = values if isinstance(values, list) else [values]
            out += [Record(name, rtype, v) for v in items]
    if origin is None:             # the zone: the last two labels of the first name
        first = out[0].name.rstrip(".").split(".") if out else ["example", "com"]
        origin = ".".join(first[-2:])
    origin = _fqdn(origin)
    if not any(r.type == "SOA" for r in out):
        out.insert(0, Record(origin, "SOA", dict(mname="ns1." + origin,
                                                 rname="hostmaster." + origin, serial=1,
                                                 refresh=7200, retry=3600, expire=1209600,
                                                 minimum=3600), 3600))
    return out


class DnsServer(Service):
    """An authoritative DNS server for one zone, over UDP and TCP port 53."""

    kind, port, process, user = "dns", PORT, "named", "bind"

    class session(Session):                # noqa: N801 - DNS over TCP (RFC 7766)
        def on_data(self, data: bytes) -> None:
            self.buffer += data
            while len(self.buffer) >= 2:
                n = struct.unpack("!H", self.buffer[:2])[0]
                if len(self.buffer) < 2 + n:
                    return
                query, self.buffer = self.buffer[2:2 + n], self.buffer[2 + n:]
                for reply in self.service.answer(query, tcp=True):
                    self.send(struct.pack("!H", len(reply)) + reply)

    def __init__(self, host, port: Optional[int] = None, *,
                 records: Optional[Dict[str, object]] = None, origin: Optional[str] = None,
                 **kw):
        super().__init__(host, port, **kw)
        self.records = zone_records(records or {}, origin)
        self.origin = self.records[0].name
        self.udp = host.socket(2, SOCK_DGRAM, user="root", process=self.process)
        self.udp.bind((kw.get("address", "0.0.0.0"), self.port))
        self.udp.user = self.user
        self.udp.setblocking(False)
        self.udp.on_ready = self._datagrams
        self.queries: List[Tuple[str, str, str]] = []       # (transport, name, type)

    def _datagrams(self, sock) -> None:
        while True:
            try:
                query, client = sock.recvfrom(65535)
            except BlockingIOError:
                return
            for reply in self.answer(query, tcp=False):
                sock.sendto(reply, client)

    def answer(self, data: bytes, tcp: bool) -> List[bytes]:
        """The reply messages to one query (module docstring); none for garbage."""
        if len(data) < 12:                  # shorter than the header (RFC 1035 §4.1.1)
            return []
        try:
            q = DNS(data)
        except Exception:                   # scapy raises many kinds; not a DNS message
            return []
        if q.qr:
            return []
        if q.opcode != 0:
            # only QUERY is served: "Not Implemented" (RFC 1035 §4.1.1 RCODE 4), as BIND
            # answers a STATUS request — which is what nmap -sU sends to port 53
            return [bytes(DNS(id=q.id, qr=1, opcode=q.opcode, rd=q.rd, rcode=4, qd=[]))]
        if not q.qd:
            return []
        question = q.qd[0]
        qname, qtype = _fqdn(question.qname.decode()), TYPE_NAMES.get(question.qtype, "?")
        self.queries.append(("tcp" if tcp else "udp", qname, qtype))
        opt = [rr for rr in (q.ar or []) if rr.type == 41]
        edns = [DNSRROPT(rclass=EDNS_SIZE, z=0)] if opt else []
        head = dict(id=q.id, qr=1, aa=1, rd=q.rd, opcode=q.opcode, qd=question)
        if qtype == "AXFR":
            if not tcp or qname != self.origin:
                return [bytes(DNS(rcode=5 if tcp else 1, **head))]  # REFUSED / FORMERR
            soa = self.records[0].rr()
            return [bytes(DNS(an=[soa] + [r.rr() for r in self.records[1:]] + [soa], **head))]
        names = {r.name for r in self.records}
        found = [r for r in self.records if r.name == qname
                 and (qtype == "ANY" or r.type == qtype)]
        rcode = 0 if qname in names else 3
        reply = DNS(rcode=rcode, an=[r.rr() for r in found],
                    ns=[self.records[0].rr()] if not found else [], ar=edns, **head)
        wire = bytes(reply)
        limit = 65535 if tcp else max(UDP_LIMIT, opt[0].rclass if opt else UDP_LIMIT)
        if len(wire) > limit:
            wire = bytes(DNS(rcode=rcode, tc=1, ar=edns, **head))
        return [wire]

    def stop(self) -> None:
        super().stop()
        self.udp.on_ready = None
        self.udp.close()


register("dns", DnsServer)


@dataclass
class Resolution:
    """What a lookup found, and how (``transports``: "udp", then "tcp" after truncation)."""

    name: str
    qtype: str
    rcode: str = "NOERROR"
    answers: List[Tuple[str, str, int, object]] = field(default_factory=list)
    transports: List[str] = field(default_factory=list)
    truncated: bool = False
    server: Tuple[str, int] = ("", PORT)
    size: int = 0
    reply: object = None          # the answering message (scapy DNS), for dig's sections
    started: float = 0.0          # virtual time the (last) query was sent
    finished: float = 0.0         # virtual time its answer arrived

    @property
    def addresses(self) -> List[str]:
        return [v for _n, t, _ttl, v in self.answers if t == "A"]

    def __str__(self) -> str:
        lines = [f";; ->>HEADER<<- status: {self.rcode}; {len(self.answers)} answers"
                 + (" (UDP answer truncated, retried over TCP)" if self.truncated else "")]
        lines += [f"{n:<24} {ttl:<6} IN {t:<5} {v}" for n, t, ttl, v in self.answers]
        lines.append(f";; SERVER: {self.server[0]}#{self.server[1]}"
                     f"({'/'.join(t.upper() for t in self.transports)})  MSG SIZE rcvd: "
                     f"{self.size}")
        return "\n".join(lines)


def _decode_answers(reply) -> List[Tuple[str, str, int, object]]:
    out = []
    for rr in reply.an or []:
        rtype = TYPE_NAMES.get(rr.type, str(rr.type))
        if rtype == "MX":
            value: object = (rr.preference, rr.exchange.decode())
        elif rtype == "SOA":
            value = rr.mname.decode()
        elif rtype == "TXT":
            value = " ".join('"%s"' % (t.decode() if isinstance(t, bytes) else t)
                             for t in rr.rdata)
        else:
            value = rr.rdata.decode() if isinstance(rr.rdata, bytes) else rr.rdata
        out.append((rr.rrname.decode(), rtype, rr.ttl, value))
    return out


def resolve(host, name: str, server, qtype: str = "A", edns: Optional[int] = None,
            tcp: bool = False, timeout: float = 5.0, tries: int = 3) -> Resolution:
    """Look ``name`` up at ``server`` (an address, host name or (address, port)): UDP first,
    TCP when the UDP answer is truncated (module docstring). ``edns`` advertises an EDNS(0)
    UDP size (dig's default is 1232; None sends no OPT record, so the limit is 512).
    AXFR always uses TCP."""
    from .socket import SimulationIdleError
    qtype = qtype.upper()
    if qtype not in TYPES:
        raise ValueError(f"query type {qtype!r} is not modelled; use one of {', '.join(TYPES)}")
    addr = server if isinstance(server, tuple) else (server, PORT)
    qid = host.net.rng.getrandbits(16)
    query = DNS(id=qid, rd=1, qd=DNSQR(qname=_fqdn(name), qtype=TYPES[qtype]),
                ar=[DNSRROPT(rclass=edns, z=0)] if edns else [])
    res = Resolution(_fqdn(name), qtype, server=addr)
    reply = None
    if not tcp and qtype != "AXFR":
        sock = host.socket(2, SOCK_DGRAM, process="resolve")
        sock.settimeout(timeout)
        try:
            sock.connect(addr)            # connected, as dig's: ICMP errors reach recv()
            for _ in range(tries):
                res.started = host.net.now
                sock.send(bytes(query))
                try:
                    data = sock.recv(65535)
                except (TimeoutError, SimulationIdleError):
                    continue
                except ConnectionRefusedError:
                    raise ConnectionRefusedError(
                        111, f";; communications error to {addr[0]}#{addr[1]}: connection "
                        "refused (ICMP port unreachable: nothing listens on UDP port "
                        f"{addr[1]})") from None
                r = DNS(data)
                if r.id == qid and r.qr:
                    reply, res.size = r, len(data)
                    break
        finally:
            sock.close()
        res.transports.append("udp")
        if reply is None:
            raise TimeoutError(f";; connection timed out; no servers could be reached "
                               f"({addr[0]}#{addr[1]}, {tries} tries of {timeout:g} s)")
        if reply.tc:
            res.truncated = True
            reply = None
    if reply is None:
        res.started = host.net.now
        reply, res.size = _tcp_query(host, bytes(query), addr, timeout)
        res.transports.append("tcp")
    res.finished = host.net.now
    res.reply = reply
    res.rcode = RCODES.get(reply.rcode, str(reply.rcode))
    res.answers = _decode_answers(reply)
    return res


def _tcp_query(host, message: bytes, addr, timeout: float):
    sock = host.socket(process="resolve")
    sock.settimeout(timeout)
    try:
        sock.connect(addr)
        sock.sendall(struct.pack("!H", len(message)) + message)
        buf = b""
        while len(buf) < 2 or len(buf) < 2 + struct.unpack("!H", buf[:2])[0]:
            chunk = sock.recv(65535)
            if not chunk:
                raise ConnectionResetError("the DNS server closed the TCP connection early")
            buf += chunk
        n = struct.unpack("!H", buf[:2])[0]
        return DNS(buf[2:2 + n]), n
    finally:
        sock.close()
