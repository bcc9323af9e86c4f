"""``tcpdump -i IFACE -n``: what one interface of a host saw, in tcpdump 4.99's line format.

Theory of operation: a simulated tcpdump cannot run beside the traffic, so it reads what the
network already recorded. If a per-interface capture was started (``net.capture.on(host,
"eth0")``) that capture is used as it is; otherwise the packets of the interface are taken
from the network's capture and trace: a packet put on the interface's link *by this host*
(its ``send`` record) went out at that time, a packet on that link whose fate — delivered
or dropped, by the firewall say — was decided *at this host* came in at the time it arrived
(tcpdump sees a packet before netfilter does). Packets lost on the wire reach only the
sender's tcpdump; on a switched LAN a host sees only its own packets.

Each line is what tcpdump prints (print-tcp.c, print-ip.c, print-udp.c, print-icmp.c):
``HH:MM:SS.ffffff IP src.port > dst.port: Flags [S], seq …`` in virtual time (0 s is
00:00:00 of the first day). Sequence numbers are relative, as tcpdump's are without ``-S``:
the first packet with ACK of a conversation (or any SYN with ACK) records both initial
sequence numbers and is printed absolute; later packets print the difference
(print-tcp.c, ``tcp_seq_hash``). ``seq`` appears only on a segment with data, SYN, FIN or
RST. ``-i any`` adds the interface and direction columns of the Linux cooked header v2
(print-sll.c: ``%-5s`` name, ``In  ``/``Out ``). After ``length N`` come the summaries
tcpdump prints for the services simtcp runs: the first line of HTTP, SMTP and FTP, the SSH
version line, and DNS over UDP and TCP (``41007+ [1au] A? www.example.com. (44)``,
``41007*- 1/0/1 A 192.0.2.10 (75)``: print-domain.c without -v), and TFTP's opcode (port
69, which nmap -sU probes). tcpdump decodes more UDP ports (NTP 123, SNMP 161, syslog 514,
…) that simtcp runs no service on; datagrams to those print as plain ``UDP, length N``.

Options: ``-i IFACE|any``, ``-n``/``-nn``, ``-c COUNT``, ``-S`` (absolute sequence numbers),
``-tt`` (seconds since the epoch), ``-q``-less; a filter expression of primitives joined by
``and``: ``tcp``, ``udp``, ``icmp``, ``[src|dst] host ADDR``, ``[tcp|udp] [src|dst] port N``.
Anything else is tcpdump's usage error or a "not modelled" message.
"""
from __future__ import annotations

import ipaddress
from importlib import resources
from typing import Callable, Dict, List, Optional, Tuple

from ..capture import tcpdump_options, tcpdump_other
from ..packet import Packet
from ..segment import Flags
from ..shell import Output

__all__ = ["tcpdump", "interface_packets", "TcpdumpFormatter"]

# print-tcp.c tcp_flag_values, in the order tcpdump prints them
_FLAG_LETTERS = ((Flags.FIN, "F"), (Flags.SYN, "S"), (Flags.RST, "R"), (Flags.PSH, "P"),
                 (Flags.ACK, "."), (Flags.URG, "U"), (Flags.ECE, "E"), (Flags.CWR, "W"))


def _usage(prefix: str) -> Output:
    text = resources.files("simtcp").joinpath("data/usage/tcpdump.txt").read_text().rstrip()
    return Output(f"tcpdump: {prefix}\n{text}", 1)


def tcp_flags(flags: Flags) -> str:
    return "".join(c for f, c in _FLAG_LETTERS if flags & f) or "none"


def _ip_int(a: str) -> int:
    return int(ipaddress.IPv4Address(a))


class TcpdumpFormatter:
    """Turns packets into tcpdump lines, keeping tcpdump's relative-sequence table."""

    def __init__(self, absolute: bool = False, epoch_stamps: bool = False) -> None:
        self.absolute = absolute
        self.epoch_stamps = epoch_stamps
        self.isn: Dict[tuple, Tuple[int, int]] = {}

    def stamp(self, t: float) -> str:
        usec = round(t * 1_000_000)
        sec, usec = divmod(usec, 1_000_000)
        if self.epoch_stamps:
            return f"{sec}.{usec:06d}"
        return f"{sec // 3600 % 24:02d}:{sec // 60 % 60:02d}:{sec % 60:02d}.{usec:06d}"

    def body(self, p: Packet) -> str:
        s = p.segment
        if s is None:
            d = p.datagram
            if d is not None and 53 in (d.sport, d.dport):      # print-udp.c → domain_print
                return (f"IP {p.src}.{d.sport} > {p.dst}.{d.dport}: "
                        + _dns(bytes(d.payload), over_tcp=False))
            if d is not None and 69 in (d.sport, d.dport):      # print-udp.c → tftp_print
                return f"IP {p.src}.{d.sport} > {p.dst}.{d.dport}: " + _tftp(bytes(d.payload))
            return "IP " + tcpdump_other(p)
        seq, ack, n = int(s.seq), int(s.ack), len(s.payload)
        if not self.absolute and s.flags & Flags.ACK:
            rev = (_ip_int(p.src), s.sport) > (_ip_int(p.dst), s.dport)
            key = ((p.dst, p.src, s.dport, s.sport) if rev else
                   (p.src, p.dst, s.sport, s.dport))
            base = self.isn.get(key)
            if base is None or s.flags & Flags.SYN:      # new conversation: print absolute
                self.isn[key] = ((ack - 1) & 0xFFFFFFFF, seq) if rev else \
                    (seq, (ack - 1) & 0xFFFFFFFF)
            elif rev:
                seq, ack = (seq - base[1]) & 0xFFFFFFFF, (ack - base[0]) & 0xFFFFFFFF
            else:
                seq, ack = (seq - base[0]) & 0xFFFFFFFF, (ack - base[1]) & 0xFFFFFFFF
        text = f"IP {p.src}.{s.sport} > {p.dst}.{s.dport}: Flags [{tcp_flags(s.flags)}]"
        if n or s.flags & (Flags.SYN | Flags.FIN | Flags.RST):
            text += f", seq {seq}" + (f":{(seq + n) & 0xFFFFFFFF}" if n else "")
        if s.flags & Flags.ACK:
            text += f", ack {ack}"
        text += f", win {s.window}"
        if s.flags & Flags.URG:
            text += f", urg {s.urgptr}"
        if s.options:
            text += f", options [{tcpdump_options(s)}]"
        text += f", length {n}"
        if n:
            text += _application(s.sport, s.dport, bytes(s.payload))
        return text


# print-http.c httpcmds
_HTTP_COMMANDS = {c.encode() for c in (
    "GET PUT COPY HEAD LOCK MOVE POLL POST BCOPY BMOVE MKCOL TRACE LABEL MERGE DELETE SEARCH "
    "UNLOCK REPORT UPDATE NOTIFY BDELETE CONNECT OPTIONS CHECKIN PROPFIND CHECKOUT CCM_POST "
    "SUBSCRIBE PROPPATCH BPROPFIND BPROPPATCH UNCHECKOUT MKACTIVITY MKWORKSPACE UNSUBSCRIBE "
    "RPC_CONNECT VERSION-CONTROL BASELINE-CONTROL").split()}


def _first_line(data: bytes, protocol: str) -> str:
    """util-print.c print_txt_line(): the first line up to CR LF or LF, if printable; a line
    without its end is printed with tcpdump's truncation mark."""
    for i, c in enumerate(data):
        if c == 0x0A:
            return ": " + data[:i].decode("ascii")
        if c == 0x0D:
            if i + 1 < len(data) and data[i + 1] == 0x0A:
                return ": " + data[:i].decode("ascii")
            return ""
        if not (0x20 <= c < 0x7F or c == 0x09):
            return ""
    return ": " + data.decode("ascii") + f" [|{protocol}]"


def _application(sport: int, dport: int, data: bytes) -> str:
    """What print-tcp.c's port dispatch adds after ``length N`` for the text protocols the
    simulated services speak (in tcpdump's order: SMTP 25, SSH 22, FTP 21, HTTP 80/8080,
    DNS 53). Telnet option decoding is not modelled: those lines end at the length."""
    ports = (sport, dport)
    if 25 in ports:                                       # smtp_print → txtproto_print
        return ": SMTP" + _first_line(data, "smtp")
    if 22 in ports:                                       # print-ssh.c: version line only
        if data.startswith(b"SSH-"):
            line = _first_line(data, "ssh")
            return ": SSH" + line if line and not line.endswith("[|ssh]") else ""
        return ""
    if 21 in ports:
        return ": FTP" + _first_line(data, "ftp")
    if 80 in ports or 8080 in ports:                      # txtproto_print with httpcmds
        tokens = data.split(b"\r\n", 1)[0].split(b"\n", 1)[0].split()
        show = bool(tokens) and (tokens[0].upper() in _HTTP_COMMANDS or (
            len(tokens) > 1 and len(tokens[1]) == 3 and tokens[1].isdigit()))
        return ": HTTP" + (_first_line(data, "http") if show else "")
    if 53 in ports:
        return _dns(data, over_tcp=True)
    return ""


def _tftp(data: bytes) -> str:
    """print-tftp.c: the protocol, the length and the opcode's name (``tftp-#N`` for an
    unknown one, which ends the line). The request details of a known opcode (file name,
    mode, block number) are not modelled — simtcp runs no TFTP service."""
    text = f"TFTP, length {len(data)}"
    if len(data) < 2:
        return text + " [|tftp]"
    op = int.from_bytes(data[:2], "big")
    return text + ", " + {1: "RRQ", 2: "WRQ", 3: "DATA", 4: "ACK", 5: "ERROR",
                          6: "OACK"}.get(op, f"tftp-#{op}")


# print-domain.c: ns_ops, ns_resp (rcode words), and the non-verbose record data
_DNS_OPS = ("", " inv_q", " stat", " op3", " notify", " update", " op6", " op7", " op8",
            " updateA", " updateD", " updateDA", " updateM", " updateMA", " zoneInit",
            " zoneRef")
_DNS_RCODES = ("", " FormErr", " ServFail", " NXDomain", " NotImp", " Refused", " YXDomain",
               " YXRRSet", " NXRRSet", " NotAuth", " NotZone")


def _dns_name(raw) -> str:
    name = raw.decode() if isinstance(raw, bytes) else str(raw)
    return name if name.endswith(".") else name + "."


def _dns_rr(rr) -> str:
    """ns_rprint() without -v: the type, then the data tcpdump shows for it."""
    from ..dns import TYPE_NAMES
    typ = TYPE_NAMES.get(rr.type, "OPT" if rr.type == 41 else f"Type{rr.type}")
    if rr.type == 41:
        return f" OPT UDPsize={rr.rclass}" + (" DO" if rr.z & 0x8000 else "")
    if rr.rclass != 1:                                 # the class, when it is not IN
        return f" {_dns_class(rr.rclass)}" + _dns_rr_in(rr, typ)
    return _dns_rr_in(rr, typ)


def _dns_class(value: int) -> str:
    return {1: "IN", 3: "CHAOS", 4: "HS", 255: "ANY"}.get(value, f"(Class {value})")


def _dns_rr_in(rr, typ: str) -> str:
    if typ in ("A", "AAAA"):
        return f" {typ} {rr.rdata}"
    if typ in ("NS", "CNAME"):
        return f" {typ} {_dns_name(rr.rdata)}"
    if typ == "MX":
        return f" MX {_dns_name(rr.exchange)} {rr.preference}"
    if typ == "TXT":
        return " TXT" + "".join(' "%s"' % (t.decode() if isinstance(t, bytes) else t)
                                for t in rr.rdata)
    return f" {typ}"                                   # SOA and others: the type only


def _dns(data: bytes, over_tcp: bool) -> str:
    """domain_print() without -v (print-domain.c), on scapy's parse of the message."""
    from scapy.layers.dns import DNS
    if over_tcp:
        if len(data) < 2 or int.from_bytes(data[:2], "big") != len(data) - 2:
            return ""          # a message split across segments: not decoded here
        data = data[2:]
    if len(data) < 12:
        return f"domain [length {len(data)} < 12] (invalid)"
    m = DNS(data)
    qd, an, ns, ar = m.qdcount, m.ancount, m.nscount, m.arcount
    prefix = " " if over_tcp else ""
    if m.qr:
        text = (f"{m.id}{_DNS_OPS[m.opcode]}"
                f"{_DNS_RCODES[m.rcode] if m.rcode < len(_DNS_RCODES) else f' Resp{m.rcode}'}"
                f"{'*' if m.aa else ''}{'' if m.ra else '-'}{'|' if m.tc else ''}"
                f"{'$' if m.ad else ''}")
        if qd != 1:
            text += f" [{qd}q]"
        text += f" {an}/{ns}/{ar}"
        text += ",".join(_dns_rr(rr) for rr in (m.an or []))
    else:
        text = f"{m.id}{_DNS_OPS[m.opcode]}{'+' if m.rd else ''}{'%' if m.cd else ''}"
        b2 = int.from_bytes(data[2:4], "big")
        if b2 & 0x6CF:
            text += f" [b2&3=0x{b2:x}]"
        if an:
            text += f" [{an}a]"
        if qd != 1:
            text += f" [{qd}q]"
        if ns:
            text += f" [{ns}n]"
        if ar:
            text += f" [{ar}au]"
        from ..dns import TYPE_NAMES
        for q in m.qd or []:
            cls = f" {_dns_class(q.qclass)}" if q.qclass != 1 else ""
            text += f" {TYPE_NAMES.get(q.qtype, f'Type{q.qtype}')}{cls}? {_dns_name(q.qname)}"
    return f"{prefix}{text} ({len(data)})"


# ------------------------------------------------------------------ the interface's packets
def interface_packets(host, iface: str) -> List[Tuple[float, str, str, Packet]]:
    """(time, interface, "In"/"Out", packet) for every packet ``iface`` of ``host`` saw
    (module docstring), in the order they passed. ``iface`` "any" takes every interface."""
    net = host.net
    names = list(host.interfaces) if iface == "any" else [iface]
    rows: List[Tuple[float, int, str, str, Packet]] = []
    traced: Dict[str, str] = {}
    for name in names:
        if (host.name, name) not in net.capture.taps:
            link = host.interfaces[name].link
            if link is not None:
                traced[link.name] = name
    sent: Dict[int, int] = {}
    fate: Dict[int, Tuple[float, int]] = {}
    if net.trace.enabled:
        for k, r in enumerate(net.trace):
            if r.host != host.name or r.pkt_id is None:
                continue
            if r.kind == "send":
                sent.setdefault(r.pkt_id, k)
            elif r.kind in ("deliver", "drop") and r.pkt_id not in fate:
                fate[r.pkt_id] = (r.time, k)
    elif traced:
        raise RuntimeError(
            "simtcp: this network keeps no trace to read the interface's packets from; "
            "start net.capture.on(host, iface) before the traffic")
    for name in names:
        tap = net.capture.taps.get((host.name, name))
        for k, cp in enumerate(tap or ()):            # a live capture: as it recorded
            if cp.packet is not None:
                out = cp.pkt_id in sent if sent else cp.packet.src in host.ips
                rows.append((cp.time, k, name, "Out" if out else "In", cp.packet))
    if traced:
        if not net.capture_enabled:
            raise RuntimeError(
                "simtcp: this network keeps no capture (Network(capture=False)); start "
                "net.capture.on(host, iface) before the traffic")
        for cp in net.capture:
            name = traced.get(cp.link)
            if name is None or cp.packet is None:
                continue
            if cp.pkt_id in sent:
                rows.append((cp.time, sent[cp.pkt_id], name, "Out", cp.packet))
            elif cp.pkt_id in fate:
                t, k = fate[cp.pkt_id]
                rows.append((t, k, name, "In", cp.packet))
    rows.sort(key=lambda row: (row[0], row[1]))
    return [(t, name, way, p) for t, _k, name, way, p in rows]


# ------------------------------------------------------------------------- the filter
def _parse_filter(words: List[str]) -> Callable[[Packet], bool]:
    """Primitives joined by ``and`` (pcap-filter(7)); raises ValueError for anything else."""
    tests: List[Callable[[Packet], bool]] = []
    i = 0
    while i < len(words):
        w = words[i]
        if w in ("and", "&&"):
            i += 1
            continue
        proto = None
        if w in ("tcp", "udp", "icmp"):
            proto = {"tcp": 6, "udp": 17, "icmp": 1}[w]
            if i + 1 < len(words) and words[i + 1] not in ("and", "&&"):
                i += 1
                w = words[i]
            else:
                tests.append(lambda p, proto=proto: p.proto == proto)
                i += 1
                continue
        direction = None
        if w in ("src", "dst"):
            direction = w
            i += 1
            if i >= len(words):
                raise ValueError("syntax error")
            w = words[i]
        if w in ("host", "port") and i + 1 < len(words):
            value = words[i + 1]
            i += 2
            if w == "host":
                ipaddress.IPv4Address(value)
                tests.append(lambda p, a=value, d=direction: (
                    (d != "dst" and p.src == a) or (d != "src" and p.dst == a)))
            else:
                if not value.isdigit() or int(value) > 65535:
                    raise ValueError(f"illegal port number {value}")
                tests.append(lambda p, n=int(value), d=direction, pr=proto: (
                    (pr is None or p.proto == pr) and _ports(p) is not None and (
                        (d != "dst" and _ports(p)[0] == n) or (d != "src" and _ports(p)[1] == n))))
            continue
        raise ValueError(w)
    return lambda p: all(t(p) for t in tests)


def _ports(p: Packet) -> Optional[Tuple[int, int]]:
    d = p.segment if p.segment is not None else p.datagram
    return (d.sport, d.dport) if d is not None else None


# ----------------------------------------------------------------------------- command
def tcpdump(host, args: List[str], stdin=None) -> Output:
    """``tcpdump -i IFACE|any -n [-c N] [-S] [-tt] [expression]`` (module docstring)."""
    iface: Optional[str] = None
    count: Optional[int] = None
    absolute = epoch = False
    expression: List[str] = []
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("-") and len(a) > 1 and not expression:
            if a.startswith("--"):
                if a in ("--count", "--number", "--print", "--immediate-mode", "--micro",
                         "--nano", "--version", "--list-interfaces", "--help"):
                    return Output(f"simtcp: tcpdump {a} is not modelled (-i, -n, -c, -S "
                                  "and -tt are)", 1)
                return _usage(f"unrecognized option '{a}'")
            j = 1
            while j < len(a):
                c = a[j]
                if c in "ic":
                    val = a[j + 1:] or (args[i + 1] if i + 1 < len(args) else None)
                    if val is None:
                        return _usage(f"option requires an argument -- '{c}'")
                    if not a[j + 1:]:
                        i += 1
                    if c == "i":
                        iface = val
                    else:
                        if not val.isdigit() or int(val) == 0:
                            return Output(f"tcpdump: invalid packet count {val}", 1)
                        count = int(val)
                    break
                if c == "n":
                    pass
                elif c == "S":
                    absolute = True
                elif c == "t":
                    if a[j:j + 2] != "tt" or epoch:
                        return Output("simtcp: tcpdump -t/-ttt/-tttt are not modelled "
                                      "(-tt is)", 1)
                    epoch = True
                    j += 1
                elif c in "AbdDefhHIJKlLNOpqtuUvxX#BCEFGjMQrsTVwWyzZ":
                    return Output(f"simtcp: tcpdump -{c} is not modelled (-i, -n, -c, -S and "
                                  "-tt are)", 1)
                else:
                    return _usage(f"invalid option -- '{c}'")
                j += 1
        else:
            expression.append(a)
        i += 1
    if iface is None:
        iface = next(iter(host.interfaces), None)     # pcap_lookupdev(): the first device
        if iface is None:
            return Output("tcpdump: no suitable device found", 1)
    if iface != "any" and iface not in host.interfaces:
        return Output(f"tcpdump: {iface}: No such device exists\n(SIOCGIFHWADDR: No such "
                      "device)", 1)
    try:
        keep = _parse_filter(expression)
    except ValueError as e:
        return Output(f"simtcp: tcpdump expression {' '.join(expression)!r} is not modelled "
                      f"({e}); use tcp/udp/icmp, [src|dst] host A, [tcp|udp] [src|dst] port "
                      "N joined by and", 1)
    fmt = TcpdumpFormatter(absolute=absolute, epoch_stamps=epoch)
    head = []
    if iface == "any":
        head.append("tcpdump: data link type LINUX_SLL2")
    head.append("tcpdump: verbose output suppressed, use -v[v]... for full protocol decode")
    link = ("LINUX_SLL2 (Linux cooked v2)" if iface == "any" else "EN10MB (Ethernet)")
    head.append(f"listening on {iface}, link-type {link}, snapshot length 262144 bytes")
    lines, seen = [], 0
    dropped = getattr(host.net.trace.records, "discarded", None)
    if dropped and sum(dropped.values()) and any(
            (host.name, n) not in host.net.capture.taps for n in host.interfaces):
        head.append("simtcp: the trace keeps only its most recent records "
                    "(Network(trace_limit=...)); older packets are not shown")
    for t, name, way, p in interface_packets(host, iface):
        if not keep(p):
            continue
        seen += 1
        if count is not None and len(lines) >= count:
            continue
        col = f"{name:<5} {way:<3} " if iface == "any" else ""
        lines.append(f"{fmt.stamp(t)} {col}{fmt.body(p)}")
    tail = [f"{len(lines)} packet{'s' if len(lines) != 1 else ''} captured",
            f"{seen} packet{'s' if seen != 1 else ''} received by filter",
            "0 packets dropped by kernel"]
    return Output("\n".join(head + lines + tail), 0)
