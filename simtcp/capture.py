"""Packet capture: what a tap on the links saw, as tcpdump lines, a Wireshark-like table and
a pcap file.

Theory of operation: the network appends one `CapturedPacket` per packet put on a link,
with the virtual time, the link's name, the network-wide packet id and the simtcp `Packet`.
In ``wire="bytes"`` mode the network passes the bytes it already built, so the capture holds
exactly what travelled; in ``wire="fast"`` mode bytes are built (by `simtcp.wire`, scapy)
only when someone looks — ``.bytes``, ``.scapy`` or `Capture.write_pcap`. This module does
not import scapy itself: `simtcp.wire` is imported on first use.

The pcap file is classic libpcap format (magic a1b2c3d4, version 2.4, microsecond stamps)
with link type 101, LINKTYPE_RAW: each record is an IPv4 datagram with no link header. That
is the type tcpdump, Wireshark and tshark have read the longest (LINKTYPE_IPV4, 228, which
scapy's wrpcap picks, is newer; tshark 4.0 reads both without complaint). Stamps come from virtual time only, so the same
run gives a byte-identical file.
"""
from __future__ import annotations

import html
import os
import struct
from typing import IO, Dict, Iterable, Iterator, List, Optional, Tuple, Union, overload

from .packet import IcmpMessage, Packet, icmp_text, proto_name
from .segment import Flags

LINKTYPE_RAW = 101  # https://www.tcpdump.org/linktypes.html: raw IPv4/IPv6, no link header
_PCAP_HEADER = struct.pack("<IHHiIII", 0xA1B2C3D4, 2, 4, 0, 0, 65535, LINKTYPE_RAW)
_PCAP_RECORD = struct.Struct("<IIII")
_HTML_MAX_ROWS = 500


def _wire():
    from . import wire  # scapy is imported only when bytes are really needed
    return wire


class CapturedPacket:
    """One packet seen on a link: ``time`` (virtual s), ``link`` (name), ``pkt_id``, ``packet``.

    ``bytes`` is the datagram on the wire (built on first access when not given) and
    ``scapy`` a fresh scapy dissection of it (``cap[0].scapy.show()``). Read-only.
    ``packet`` is None for bytes that do not decode (a crafted bad checksum, say); then
    ``data`` must be given, and the text views say why the bytes are not valid.
    """

    __slots__ = ("time", "link", "pkt_id", "packet", "_bytes")

    def __init__(self, time: float, link: str, pkt_id: int, packet: Packet,
                 data: Optional[bytes] = None) -> None:
        if packet is None and data is None:
            raise ValueError("a CapturedPacket needs a Packet, or the bytes when the packet "
                             "does not decode")
        setattr_ = object.__setattr__       # read-only to users; one append per packet
        setattr_(self, "time", time)
        setattr_(self, "link", link)
        setattr_(self, "pkt_id", pkt_id)
        setattr_(self, "packet", packet)
        setattr_(self, "_bytes", data)

    def __setattr__(self, name, value):
        raise AttributeError(f"CapturedPacket is read-only (tried to set {name!r}); "
                             "build a new Packet and send it instead")

    @property
    def bytes(self) -> bytes:
        data = self._bytes
        if data is None:
            data = _wire().encode(self.packet)
            object.__setattr__(self, "_bytes", data)
        return data

    @property
    def scapy(self):
        """scapy's ``IP`` packet for these bytes (a new object each time: edit it freely)."""
        return _wire().to_scapy(self.bytes)

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, CapturedPacket):
            return NotImplemented
        return (self.time, self.link, self.pkt_id, self.packet) == \
               (other.time, other.link, other.pkt_id, other.packet)

    def __hash__(self) -> int:
        return hash((self.time, self.link, self.pkt_id, self.packet))

    def __repr__(self) -> str:
        return f"<CapturedPacket #{self.pkt_id} {self.time:.6f}s on {self.link}: {self.packet}>"

    def __str__(self) -> str:
        """A tcpdump ``-tt -n -S`` line (absolute sequence numbers)::

            0.010000 192.168.1.10.40000 > 192.168.1.20.80: Flags [S], seq 0, win 64240,
            options [mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7], length 0
        """
        p = self.packet
        if p is None:
            return f"{self.time:.6f} {_wire().summary(self.bytes)}"
        s = p.segment
        if s is None:
            return f"{self.time:.6f} {tcpdump_other(p)}"
        n = len(s.payload)
        seq = int(s.seq)
        text = (f"{self.time:.6f} {p.src}.{s.sport} > {p.dst}.{s.dport}: "
                f"Flags [{s.flags.letters}], ")
        # tcpdump prints "seq a:b" only when the segment carries data
        text += f"seq {seq}:{(seq + n) & 0xFFFFFFFF}" if n else f"seq {seq}"
        if s.flags & Flags.ACK:
            text += f", ack {int(s.ack)}"
        text += f", win {s.window}"
        if s.flags & Flags.URG:
            text += f", urg {s.urgptr}"
        if s.options:
            text += f", options [{tcpdump_options(s)}]"
        return text + f", length {n}"

    def info(self) -> str:
        """Wireshark's Info column: ``40000 → 80 [SYN] Seq=0 Win=64240 Len=0 MSS=1460 …``."""
        if self.packet is None:
            return _wire().summary(self.bytes)
        s = self.packet.segment
        if s is None:
            return wireshark_other(self.packet)
        names = [n for n, f in (("FIN", Flags.FIN), ("SYN", Flags.SYN), ("RST", Flags.RST),
                                ("PSH", Flags.PSH), ("ACK", Flags.ACK), ("URG", Flags.URG),
                                ("ECE", Flags.ECE), ("CWR", Flags.CWR)) if s.flags & f]
        parts = [f"{s.sport} \u2192 {s.dport} [{', '.join(names) or '<None>'}]",
                 f"Seq={int(s.seq)}"]
        if s.flags & Flags.ACK:
            parts.append(f"Ack={int(s.ack)}")
        parts += [f"Win={s.window}", f"Len={len(s.payload)}"]
        o = s.options
        if o.mss is not None:
            parts.append(f"MSS={o.mss}")
        if o.sack_perm:
            parts.append("SACK_PERM")
        if o.ts is not None:
            parts += [f"TSval={o.ts[0]}", f"TSecr={o.ts[1]}"]
        if o.wscale is not None:
            parts.append(f"WS={2 ** min(o.wscale, 14)}")  # RFC 7323 §2.3: shift capped at 14
        for left, right in o.sack:
            parts += [f"SLE={left}", f"SRE={right}"]
        return " ".join(parts)


def _is_ints(value, count=None) -> bool:
    return (isinstance(value, tuple) and (count is None or len(value) == count)
            and all(isinstance(v, int) for v in value))


# print-icmp.c icmp_print(), ICMP_UNREACH: the wording of each code (%s: the quoted dst)
_UNREACH_WORDS = {0: "net %s unreachable", 1: "host %s unreachable",
                  5: "%s unreachable - source route failed",
                  6: "net %s unreachable - unknown", 7: "host %s unreachable - unknown",
                  8: "%s unreachable - source host isolated",
                  9: "net %s unreachable - admin prohibited",
                  10: "host %s unreachable - admin prohibited",
                  11: "net %s unreachable - tos prohibited",
                  12: "host %s unreachable - tos prohibited",
                  13: "host %s unreachable - admin prohibited filter",
                  14: "host %s unreachable - host precedence violation",
                  15: "host %s unreachable - precedence cutoff"}


def _quoted_text(m: IcmpMessage) -> str:
    """tcpdump's destination-unreachable wording (print-icmp.c, icmp_print())."""
    q = m.quoted()
    dst = q.dst if q is not None else "?"
    code = m.code
    if code == 2 and q is not None:
        return f"{dst} protocol {q.proto} unreachable"
    if code == 3 and q is not None and q.dport is not None:
        return f"{dst} {proto_name(q.proto)} port {q.dport} unreachable"
    if code == 4:
        return (f"{dst} unreachable - need to frag (mtu {m.next_hop_mtu})" if m.next_hop_mtu
                else f"{dst} unreachable - need to frag")
    words = _UNREACH_WORDS.get(code)
    return words % dst if words else f"{dst} unreachable - #{code}"


def tcpdump_other(p: Packet) -> str:
    """tcpdump ``-n`` text for a UDP, ICMP or other non-TCP packet."""
    d = p.payload
    if p.proto == 17:
        return f"{p.src}.{d.sport} > {p.dst}.{d.dport}: UDP, length {len(d.payload)}"
    if p.proto == 1:
        text = _quoted_text(d) if d.type == 3 else icmp_text(d)
        return f"{p.src} > {p.dst}: ICMP {text}, length {8 + len(d.quote)}"
    return f"{p.src} > {p.dst}: ip-proto-{p.proto} {len(d)}"


def wireshark_other(p: Packet) -> str:
    """Wireshark's Info column for UDP and ICMP (``5000 → 53 Len=5``)."""
    d = p.payload
    if p.proto == 17:
        return f"{d.sport} \u2192 {d.dport} Len={len(d.payload)}"
    if p.proto == 1:
        return icmp_text(d)
    return f"IP protocol {p.proto}"


def tcpdump_options(segment) -> str:
    """tcpdump's rendering of the options as they lie on the wire, NOPs included. An option
    of a known kind with the wrong length (kept as scapy shows it) is printed the way
    tcpdump's print-tcp.c does: ``TS[bad opt]``, ``sack invalid sack``; never an error."""
    out = []
    for name, value in _wire().tcp_option_list(segment):
        if name == "MSS":
            out.append(f"mss {value}" if isinstance(value, int) else "mss[bad opt]")
        elif name == "NOP":
            out.append("nop")
        elif name == "EOL":
            out.append("eol")
        elif name == "SAckOK":
            out.append("sackOK" if value in (b"", None) else "sackOK[bad opt]")
        elif name == "Timestamp":
            out.append(f"TS val {value[0]} ecr {value[1]}" if _is_ints(value, 2)
                       else "TS[bad opt]")
        elif name == "WScale":
            out.append(f"wscale {value}" if isinstance(value, int) else "wscale[bad opt]")
        elif name == "SAck":
            if _is_ints(value) and len(value) % 2 == 0:
                blocks = "".join(f"{{{value[i]}:{value[i + 1]}}}"
                                 for i in range(0, len(value), 2))
                out.append(f"sack {len(value) // 2} {blocks}")
            else:
                out.append("sack invalid sack")
        elif isinstance(name, int):
            out.append(f"unknown-{name} 0x{bytes(value).hex()}")
        else:
            out.append(f"{str(name).lower()} {value}")
    return ",".join(out)


def _pcap_record(cp: CapturedPacket) -> bytes:
    """One pcap record: µs stamp from virtual time, then the datagram."""
    if cp.time < 0:
        raise ValueError(f"packet #{cp.pkt_id} has negative time {cp.time}")
    sec, usec = divmod(round(cp.time * 1_000_000), 1_000_000)
    data = cp.bytes
    return _PCAP_RECORD.pack(sec, usec, len(data), len(data)) + data


def _raw_addrs(cp: CapturedPacket) -> tuple:
    """(source, destination) read from the IPv4 header of undecodable bytes, or ("", "")."""
    data = cp.bytes
    if len(data) < 20:
        return ("", "")
    return (".".join(str(b) for b in data[12:16]), ".".join(str(b) for b in data[16:20]))


def _parse_flags(flags: Union[Flags, int, str]) -> Flags:
    if isinstance(flags, str):
        text = flags.strip()
        letters = {"S": Flags.SYN, "F": Flags.FIN, "R": Flags.RST, "P": Flags.PSH,
                   "U": Flags.URG, "E": Flags.ECE, "W": Flags.CWR, ".": Flags.ACK}
        value = Flags(0)
        if text and all(c in letters for c in text):
            for c in text:
                value |= letters[c]
            return value
        try:
            for name in text.replace("|", ",").split(","):
                value |= Flags[name.strip().upper()]
        except KeyError:
            raise ValueError(f"flags {flags!r}: use tcpdump letters ('S', 'S.', 'R', 'F.', "
                             f"'P.') or names ('SYN', 'SYN,ACK') or simtcp.Flags") from None
        return value
    return Flags(int(flags))


class Capture:
    """Every packet seen on the links, in order. A list of `CapturedPacket` that also prints
    like tcpdump, shows as a table in Jupyter and writes a pcap file."""

    def __init__(self, packets: Iterable[CapturedPacket] = (),
                 limit: Optional[int] = None) -> None:
        """``limit`` keeps only the most recent packets (between ``limit`` and
        ``limit + limit // 16``: the oldest are discarded in chunks)."""
        if limit is None:
            self._packets: List[CapturedPacket] = list(packets)
        else:
            from .trace import Recent
            self._packets = Recent(limit)
            for cp in packets:
                self._packets.append(cp)
        self._stream: Optional[IO[bytes]] = None
        self._owns_stream = False
        #: per-interface captures, (node name, interface) -> Capture (see `on`)
        self.taps: Dict[Tuple[str, str], "Capture"] = {}

    @property
    def discarded(self) -> int:
        """Packets a bounded capture has discarded (0 when unbounded)."""
        d = getattr(self._packets, "discarded", None)
        return sum(d.values()) if d else 0

    def on(self, node, iface: str) -> "Capture":
        """Start capturing on one interface, like ``tcpdump -i eth1`` on that node: a new
        Capture of every packet that leaves or arrives there, as it was on that wire (after
        the sender's hooks and the link's middleboxes), each with its own packet id; the
        time is when it left, or arrived. Calling it again returns the same Capture."""
        name = getattr(node, "name", node)
        n = getattr(node, "interfaces", None)
        if n is not None and iface not in n:
            raise ValueError(f"{name} has no interface {iface!r} (it has "
                             f"{', '.join(n) or 'none'})")
        return self.taps.setdefault((name, iface), Capture())

    def off(self, node, iface: str) -> "Capture":
        """Stop capturing on that interface; returns what was captured."""
        return self.taps.pop((getattr(node, "name", node), iface))

    def append(self, time: float, link: str, pkt_id: int, packet: Packet,
               data: Optional[bytes] = None) -> CapturedPacket:
        """Record a packet; ``data`` is its bytes when the caller already built them."""
        cp = CapturedPacket(time, link, pkt_id, packet, data)
        self._packets.append(cp)
        if self._stream is not None:
            self._stream.write(_pcap_record(cp))
        return cp

    def stream(self, path: Union[str, os.PathLike, IO[bytes]]) -> None:
        """From now on write every packet to a pcap file as it is captured (the packets
        already held are written first), so a long run can keep a complete capture on disk
        with a bounded one in memory. The file is the same bytes `write_pcap` would give.
        `stop_stream` flushes and closes it (a file object you passed stays open)."""
        self.stop_stream()
        if hasattr(path, "write"):
            f, self._owns_stream = path, False
        else:
            f, self._owns_stream = open(path, "wb"), True
        f.write(_PCAP_HEADER)
        for cp in self._packets:
            f.write(_pcap_record(cp))
        self._stream = f

    def stop_stream(self) -> None:
        f, self._stream = self._stream, None
        if f is not None:
            if self._owns_stream:
                f.close()
            else:
                f.flush()

    def __len__(self) -> int:
        return len(self._packets)

    def __iter__(self) -> Iterator[CapturedPacket]:
        return iter(self._packets)

    @overload
    def __getitem__(self, index: int) -> CapturedPacket: ...

    @overload
    def __getitem__(self, index: slice) -> "Capture": ...

    def __getitem__(self, index):
        if isinstance(index, slice):
            return Capture(self._packets[index])
        return self._packets[index]

    def __bool__(self) -> bool:
        return bool(self._packets)

    def filter(self, host: Optional[str] = None, port: Optional[int] = None,
               flags: Union[Flags, int, str, None] = None, exact: bool = False) -> "Capture":
        """The packets to or from ``host``, to or from ``port``, and carrying ``flags``.

        ``flags`` is tcpdump letters (``"S"``, ``"S."``, ``"R"``), names (``"SYN,ACK"``) or
        `Flags`; a packet matches when it has all of them (``"S"`` keeps SYN and SYN-ACK),
        or exactly them with ``exact=True`` (``"S"`` keeps only SYNs).
        """
        want = None if flags is None else _parse_flags(flags)
        out = []
        for cp in self._packets:
            p = cp.packet
            if p is None:  # undecodable bytes: only the addresses can be read
                if port is None and want is None and (host is None or host in _raw_addrs(cp)):
                    out.append(cp)
                continue
            s = p.segment
            if host is not None and host not in (p.src, p.dst):
                continue
            if port is not None and port not in p.ports:
                continue
            if want is not None:
                if s is None:
                    continue
                if (s.flags != want) if exact else (s.flags & want) != want:
                    continue
            out.append(cp)
        return Capture(out)

    # -- pcap --------------------------------------------------------------------------

    def pcap_bytes(self) -> bytes:
        """The whole pcap file as bytes (see `write_pcap`)."""
        return b"".join([_PCAP_HEADER] + [_pcap_record(cp) for cp in self._packets])

    def write_pcap(self, path: Union[str, os.PathLike, IO[bytes]]) -> None:
        """Write a classic pcap file (LINKTYPE_RAW, µs stamps from virtual time) that
        Wireshark, tshark and tcpdump open. ``path`` may also be a binary file object.
        Byte-identical for the same packets and times."""
        data = self.pcap_bytes()
        if hasattr(path, "write"):
            path.write(data)  # type: ignore[union-attr]
            return
        with open(path, "wb") as f:
            f.write(data)

    # -- display -----------------------------------------------------------------------

    def __repr__(self) -> str:
        return f"<Capture: {len(self._packets)} packets>"

    def __str__(self) -> str:
        return "\n".join(str(cp) for cp in self._packets)

    def _repr_html_(self) -> str:
        head = ("No.", "Time", "Source", "Destination", "Flags", "Seq", "Ack", "Win", "Len",
                "Info")
        rows = ["<table class='simtcp-capture'><thead><tr>"
                + "".join(f"<th>{h}</th>" for h in head) + "</tr></thead><tbody>"]
        for no, cp in enumerate(self._packets[:_HTML_MAX_ROWS], 1):
            p = cp.packet
            if p is None:
                src, dst = _raw_addrs(cp)
                cells = (no, f"{cp.time:.6f}", src, dst, "", "", "", "", len(cp.bytes),
                         cp.info())
            elif p.segment is None:
                cells = (no, f"{cp.time:.6f}", p.src, p.dst, proto_name(p.proto).upper(), "",
                         "", "", len(cp.bytes), cp.info())
            else:
                s = p.segment
                cells = (no, f"{cp.time:.6f}", p.src, p.dst, s.flags.letters, int(s.seq),
                         int(s.ack) if s.flags & Flags.ACK else "", s.window,
                         len(s.payload), cp.info())
            rows.append(f"<tr title='{html.escape(cp.link, quote=True)}'>"
                        + "".join(f"<td>{html.escape(str(c))}</td>" for c in cells) + "</tr>")
        rows.append("</tbody></table>")
        if len(self._packets) > _HTML_MAX_ROWS:
            rows.append(f"<p>… {len(self._packets) - _HTML_MAX_ROWS} more packets "
                        f"(print the capture or slice it: cap[{_HTML_MAX_ROWS}:])</p>")
        return "".join(rows)
