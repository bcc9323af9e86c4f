"""IPv4 packets of any protocol: a TCP segment, a UDP datagram, an ICMP message or opaque bytes.

Theory of operation: a `Packet` is an immutable value (a tuple, cheap to create: one is made
per segment sent) holding the IPv4 header fields simtcp models — ``src``, ``dst``, ``ttl``,
``ident``, ``df``, ``tos`` — the protocol number ``proto`` and the ``payload``: a
`Segment` (TCP, 6), a `Datagram` (UDP, 17), an `IcmpMessage` (ICMP, 1) or, for any other
protocol number, the payload bytes as they are (RFC 791 §3.1: the protocol field names the
next level protocol; IP itself does not look inside). ``proto`` follows from the payload
type and only has to be given for opaque bytes.

``packet.segment`` is the TCP segment of a TCP packet and None otherwise, so code written
when every packet was TCP keeps working: ``Packet(src, dst, segment)``,
``Packet(src=…, dst=…, segment=…)`` and ``p._replace(segment=…)`` are accepted as before.

ICMP error messages carry a *quote*: the IP header of the datagram that caused the error
plus at least its first 8 data bytes (RFC 792; RFC 1812 §4.3.2.3 asks for as much as fits in
576 bytes, which is what Linux's icmp_send() quotes). `IcmpMessage.quoted()` reads the quote
back into the (src, dst, proto, sport, dport, seq) a receiver needs to find the socket the
error concerns — what Linux's icmp_unreach() → tcp_v4_err()/udp_err() do with it.

Bytes exist only in `simtcp.wire` (scapy builds them, a struct parser reads them).
"""
from __future__ import annotations

import enum
import socket
import struct
from typing import NamedTuple, Optional, Union

from .segment import FourTuple, Segment

__all__ = ["Proto", "Datagram", "IcmpMessage", "Quoted", "Packet", "IcmpType",
           "ICMP_QUOTE_MAX", "proto_name", "total_length"]


class Proto(enum.IntEnum):
    """IP protocol numbers simtcp understands (IANA "Assigned Internet Protocol Numbers")."""

    ICMP = 1
    TCP = 6
    UDP = 17


def proto_name(proto: int) -> str:
    """``tcp``, ``udp``, ``icmp`` or the number, as tcpdump and ``ip route`` print them."""
    try:
        return Proto(proto).name.lower()
    except ValueError:
        return str(proto)


class IcmpType(enum.IntEnum):
    """The ICMP types simtcp generates or interprets (RFC 792, RFC 1191 for 3/4)."""

    ECHO_REPLY = 0
    DEST_UNREACH = 3
    ECHO_REQUEST = 8
    TIME_EXCEEDED = 11
    PARAMETER_PROBLEM = 12


#: Bytes of the offending datagram Linux quotes: icmp_send() limits the error to 576 bytes
#: (RFC 1812 §4.3.2.3), minus its own 20-byte IP header and 8-byte ICMP header.
ICMP_QUOTE_MAX = 576 - 20 - 8


class Datagram(NamedTuple):
    """A UDP datagram (RFC 768). Length and checksum are derived when it is encoded."""

    sport: int
    dport: int
    payload: bytes = b""

    def __str__(self) -> str:
        return f"UDP, length {len(self.payload)}"


class Quoted(NamedTuple):
    """What an ICMP error's quote says about the datagram that caused it. ``sport``,
    ``dport`` are None unless the quote holds a TCP or UDP header's first 4 bytes; ``seq``
    (TCP only) needs 8 bytes."""

    src: str
    dst: str
    proto: int
    sport: Optional[int]
    dport: Optional[int]
    seq: Optional[int]
    ttl: int

    def four_tuple(self) -> Optional[FourTuple]:
        """The connection as the *sender* of the quoted datagram sees it (local = source)."""
        if self.sport is None:
            return None
        return FourTuple(self.src, self.sport, self.dst, self.dport)


_QUOTE_IP = struct.Struct("!BBHHHBBH4s4s")


class IcmpMessage(NamedTuple):
    """An ICMP message (RFC 792): ``type``, ``code``, the 32-bit ``rest`` of the header
    (identifier << 16 | sequence for echo; the next-hop MTU in the low 16 bits for 3/4,
    RFC 1191; zero for the other errors) and ``quote``: for errors, the offending IP header
    + at least 8 bytes of its data; for echo, the echoed data."""

    type: int
    code: int = 0
    rest: int = 0
    quote: bytes = b""

    @property
    def is_error(self) -> bool:
        """Destination unreachable, source quench, redirect, time exceeded, parameter
        problem: the messages that quote a datagram (RFC 1122 §3.2.2)."""
        return self.type in (3, 4, 5, 11, 12)

    @property
    def next_hop_mtu(self) -> int:
        """The MTU a "fragmentation needed" (3/4) names (RFC 1191 §4); 0 for other types."""
        return self.rest & 0xFFFF if (self.type, self.code) == (3, 4) else 0

    @property
    def ident(self) -> int:
        return self.rest >> 16

    @property
    def seq(self) -> int:
        return self.rest & 0xFFFF

    def quoted(self) -> Optional[Quoted]:
        """Parse the quote (None when it is not an IPv4 header + transport ports)."""
        q = self.quote
        if len(q) < 20 or q[0] >> 4 != 4:
            return None
        ihl = (q[0] & 0x0F) * 4
        if ihl < 20 or len(q) < ihl:
            return None
        _v, _tos, _tot, _id, _ff, ttl, proto, _ck, s4, d4 = _QUOTE_IP.unpack_from(q)
        sport = dport = seq = None
        if proto in (6, 17) and len(q) >= ihl + 4:
            sport, dport = struct.unpack_from("!HH", q, ihl)
            if proto == 6 and len(q) >= ihl + 8:
                seq = int.from_bytes(q[ihl + 4:ihl + 8], "big")
        return Quoted(socket.inet_ntoa(s4), socket.inet_ntoa(d4), proto, sport, dport, seq,
                      ttl)

    def __str__(self) -> str:
        return icmp_text(self)


_ICMP_TEXT = {
    (0, None): "echo reply", (8, None): "echo request",
    (3, 0): "net unreachable", (3, 1): "host unreachable", (3, 2): "protocol unreachable",
    (3, 3): "port unreachable", (3, 4): "need to frag", (3, 9): "net prohibited",
    (3, 10): "host prohibited", (3, 13): "communication prohibited",
    (11, 0): "time exceeded in-transit", (11, 1): "ip reassembly time exceeded",
    (12, None): "parameter problem",
}


def icmp_text(m: IcmpMessage) -> str:
    """tcpdump's words for an ICMP message (print-icmp.c): ``192.0.2.1 udp port 33434
    unreachable``-style details need the quote, which `capture` adds."""
    text = _ICMP_TEXT.get((m.type, m.code)) or _ICMP_TEXT.get((m.type, None))
    if text is None:
        text = f"type {m.type} code {m.code}"
    if (m.type, m.code) == (3, 4):
        text += f" (mtu {m.next_hop_mtu})"
    if m.type in (0, 8):
        text += f", id {m.ident}, seq {m.seq}"
    return text


Payload = Union[Segment, Datagram, IcmpMessage, bytes]

_PROTO_OF = {Segment: 6, Datagram: 17, IcmpMessage: 1}


def tcp_options_length(seg: Segment) -> int:
    """Bytes of TCP options as `simtcp.wire` lays them out (Linux order, padded to 4)."""
    o = seg.options
    if not o:
        return 0
    n = o.known_length()
    for kind, value in o.extra:
        n += 2 + (len(value) if isinstance(value, (bytes, bytearray)) else 2)
    return (n + 3) & ~3


def total_length(packet: "Packet") -> int:
    """The IPv4 total length of ``packet`` (RFC 791): what it occupies on a wire, and what
    is compared with an interface's MTU — computed without building bytes."""
    p = packet[2]
    kind = type(p)
    if kind is Segment:
        return 40 + tcp_options_length(p) + len(p.payload)
    if kind is Datagram:
        return 28 + len(p.payload)
    if kind is IcmpMessage:
        return 28 + len(p.quote)
    return 20 + len(p)


class _PacketFields(NamedTuple):
    src: str
    dst: str
    payload: object
    ttl: int = 64
    ident: int = 0
    df: bool = True
    proto: int = 6
    tos: int = 0


class Packet(_PacketFields):
    """An IPv4 datagram (RFC 791) carrying a TCP segment, UDP datagram, ICMP message or
    opaque bytes (see the module docstring). Linux sets DF on TCP and UDP (path MTU
    discovery, ``ip_no_pmtu_disc=0``) and clears it on ICMP errors it sends."""

    __slots__ = ()

    def __new__(cls, src: str, dst: str, payload: Payload = None, ttl: int = 64,
                ident: int = 0, df: bool = True, proto: Optional[int] = None, tos: int = 0,
                *, segment: Optional[Segment] = None):
        if segment is not None:
            if payload is not None:
                raise TypeError("give payload or segment, not both")
            payload = segment
        if proto is None:
            proto = _PROTO_OF.get(type(payload))
            if proto is None:
                if isinstance(payload, (bytes, bytearray)):
                    raise ValueError("a Packet with an opaque bytes payload needs proto= "
                                     "(the IP protocol number, e.g. proto=47 for GRE)")
                raise TypeError(f"Packet payload must be a Segment, Datagram, IcmpMessage "
                                f"or bytes, got {type(payload).__name__}")
        return tuple.__new__(cls, (src, dst, payload, ttl, ident, df, proto, tos))

    @classmethod
    def tcp(cls, src: str, dst: str, segment: Segment, ident: int = 0) -> "Packet":
        """``Packet(src, dst, segment, ident=ident)`` without the argument checks: a TCP
        stack makes one per segment it sends (TTL 64, DF set, TOS 0)."""
        return tuple.__new__(cls, (src, dst, segment, 64, ident, True, 6, 0))

    @property
    def segment(self) -> Optional[Segment]:
        """The TCP segment (None when this is not a TCP packet)."""
        p = self[2]
        return p if type(p) is Segment else None

    @property
    def datagram(self) -> Optional[Datagram]:
        p = self[2]
        return p if type(p) is Datagram else None

    @property
    def icmp(self) -> Optional[IcmpMessage]:
        p = self[2]
        return p if type(p) is IcmpMessage else None

    def with_ttl(self, ttl: int) -> "Packet":
        """A copy with another TTL (the one change every router makes; fast)."""
        return tuple.__new__(Packet, (self[0], self[1], self[2], ttl, self[4], self[5],
                                      self[6], self[7]))

    def _replace(self, **changes) -> "Packet":
        if "segment" in changes:
            changes["payload"] = changes.pop("segment")
        if "payload" in changes and "proto" not in changes:
            changes["proto"] = None
        fields = self._asdict()
        fields.update(changes)
        return Packet(**fields)

    def replace(self, **changes) -> "Packet":
        """A copy with some fields changed (packets are immutable)."""
        return self._replace(**changes)

    @property
    def ports(self) -> tuple:
        """(sport, dport) for TCP and UDP, (None, None) otherwise."""
        p = self[2]
        if type(p) is Segment or type(p) is Datagram:
            return p.sport, p.dport
        return None, None

    def four_tuple(self) -> FourTuple:
        """The 4-tuple as the receiver sees it (local = destination); TCP and UDP only."""
        p = self[2]
        if type(p) is not Segment and type(p) is not Datagram:
            raise ValueError(f"a {proto_name(self[6])} packet has no ports")
        return FourTuple(self.dst, p.dport, self.src, p.sport)

    def __str__(self) -> str:
        p = self[2]
        if type(p) is Segment or type(p) is Datagram:
            return f"{self.src}:{p.sport} > {self.dst}:{p.dport} {p}"
        if type(p) is IcmpMessage:
            return f"{self.src} > {self.dst} ICMP {p}"
        return f"{self.src} > {self.dst} ip-proto-{self[6]} {len(p)}"
