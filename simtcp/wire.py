"""The wire: simtcp `Packet` <-> real IPv4 bytes. Only the wire modules import scapy.

Theory of operation
-------------------
**Encode** builds every header with scapy, the fields of ``IP(...)`` and
``TCP|UDP|ICMP(...)``, with EVERY header field given explicitly, because scapy's defaults
surprise (a bare ``TCP()`` is sport 20, flags S, window 8192; a bare ``IP()`` has id 1 and
takes its source address from the host's routing table). The transport layer comes from its
codec: `wire_tcp` (Linux's option layout), `wire_udp`, `wire_icmp`; any other protocol
number carries its payload bytes as they are.

Speed (a benchmark compares simtcp with bare scapy). Most of a plain
``bytes(IP()/TCP()/Raw())`` is scapy's generic machinery around the header fields, not the
fields:

1. Creating the layers (`Packet.__init__`, field defaults, ``any2i`` conversions) costs
   more than building them. So the layers are created once and reused: an IP layer and a
   TCP or UDP layer per payload class (`_Layers`), whose ``fields`` are set for each
   packet to the values scapy stores after ``any2i`` — what ``IP(ttl=64, ...)`` would
   store, except that the two flag fields hold the plain integer, which is what their
   `FlagsField` writes to the wire (its ``FlagValue`` wrapper is for display, and its
   operator overloads alone cost a third of a build). Every field a packet can change is
   set on every encode, so nothing of one packet reaches the next (tests:
   test_wire_reuse.py, A then B then A; failed encodes; threads).
2. Each header is scapy's `Packet.self_build`: the layer's fields, written one by one by
   their scapy field classes (the TCP options by `TCPOptionsField`). What a whole build
   (`Packet.build`) adds around it serves values we never use or computes what we give or
   overwrite: `do_build` clones the layers to expand "generator" values (``RandShort()``,
   lists of ports; ours are plain values); `post_build` patches in IHL, lengths, TCP's
   data offset (all given here) and the checksums — TCP's and UDP's through
   `in4_pseudoheader`, which copies the whole IP packet; `build_padding`/`build_done`
   serve Padding layers. So the headers are built one by one with zero checksums, and
   concatenated with the payload bytes (the bytes a ``Raw(load)`` layer would add), and
   the checksums are filled in: the IP header's (RFC 791), and TCP's or UDP's from the
   pseudo-header (RFC 9293 §3.1, RFC 768). An ICMP message (rare) gets scapy's whole
   build, its checksum included: it covers only the ICMP message, and its header length
   differs per type.

The bytes are scapy's, field by field: tests prove them identical to a fresh
``bytes(IP()/TCP()/Raw())`` with every checksum and length left to scapy, for every kind
of packet.

**Decode** parses with `struct` instead of dissecting with scapy. Measured on the 2-core
test machine for a 100-byte data segment with timestamps (bench/_scapy_baseline.py): ``IP(b)``
≈ 75–240 µs; the struct parse with both checksums verified ≈ 3–16 µs. (Encode: ≈ 24 µs
here, ≈ 35 µs with a whole `build` of the reused layers, ≈ 85 µs with fresh explicit
layers and ≈ 400 µs for a plain ``bytes(IP()/TCP()/Raw())``.) Decode must also check what scapy never checks (lengths,
checksums, fragments), which needs the raw header anyway. Tests prove the result equals
scapy's dissection field by field for TCP, UDP and ICMP; labs that want scapy's view call
`to_scapy()` (or ``CapturedPacket.scapy``).

Checksums: `simtcp.wirebase` (RFC 1071, one C-speed `int.from_bytes` per check).
"""
from __future__ import annotations

import socket
import struct
from typing import Tuple, Union

from scapy.layers.inet import IP
from scapy.packet import Packet as _ScapyPacket

from .packet import Datagram, IcmpMessage, Packet
from .reasons import DropReason
from .segment import Segment
from .wire_icmp import decode_icmp, icmp_layer
from .wire_tcp import CHECKSUM_OFFSET as TCP_CHECKSUM_AT
from .wire_tcp import decode_segment, fill_tcp, tcp_option_list, tcp_template
from .wire_udp import CHECKSUM_OFFSET as UDP_CHECKSUM_AT
from .wire_udp import decode_datagram, fill_udp, udp_template
from .wirebase import DecodeError, internet_checksum, ip4, l4_checksum, ones_sum, pseudo_sum

__all__ = ["DecodeError", "REASONS", "encode", "decode", "to_scapy", "from_scapy", "summary",
           "checksum_ok", "internet_checksum", "tcp_option_list"]

IP_CHECKSUM_AT = 10  # of the header checksum in the IPv4 header

#: Every `DecodeError.reason`, in the order decode checks them (`DropReason` members: the
#: stack uses them as drop reasons in the trace).
REASONS = (DropReason.TRUNCATED, DropReason.NOT_IPV4, DropReason.BAD_IP_HEADER_LENGTH,
           DropReason.BAD_IP_TOTAL_LENGTH, DropReason.BAD_IP_CHECKSUM, DropReason.IP_FRAGMENT,
           DropReason.BAD_TCP_DATA_OFFSET, DropReason.BAD_TCP_CHECKSUM,
           DropReason.BAD_UDP_LENGTH, DropReason.BAD_UDP_CHECKSUM, DropReason.BAD_ICMP_CHECKSUM)


def checksum_ok(data: bytes) -> Tuple[bool, bool]:
    """``(ip_ok, transport_ok)`` for the datagram in ``data``; ``(False, False)`` when too
    short. The transport checksum is TCP's or UDP's (with the pseudo-header; a UDP zero
    means "none" and is fine) or ICMP's; other protocols have none here (True).

    For labs ("flip a bit, which checksum catches it?"); never raises.
    """
    data = bytes(data)
    if len(data) < 20:
        return (False, False)
    ihl = (data[0] & 0x0F) * 4
    if ihl < 20 or ihl > len(data):
        return (False, False)
    ip_ok = ones_sum(data[:ihl]) == 0
    total = int.from_bytes(data[2:4], "big")
    if total < ihl or total > len(data):
        return (ip_ok, False)
    seg, proto = data[ihl:total], data[9]
    if proto == 17 and len(seg) >= 8 and seg[6:8] == b"\0\0":
        return (ip_ok, True)
    if proto in (6, 17):
        ok = (pseudo_sum(data[12:16], data[16:20], proto, len(seg)) + ones_sum(seg)) % 0xFFFF == 0
    elif proto == 1:
        ok = ones_sum(seg) == 0 and any(seg)
    else:
        ok = True
    return (ip_ok, ok)


# ---------------------------------------------------------------------------------------
# Encode

class _Layers:
    """The reusable scapy layers for one payload class (module doc, "speed"): an IP layer and,
    for a `Segment` or a `Datagram`, the codec's TCP or UDP layer. They are built one by
    one, never chained: an ICMP message gets a fresh layer (its fields differ per type), and
    other protocols' payload bytes follow the IP header as they are. Only the IP fields a
    `Packet` sets and the transport fields the codec's ``fill_*`` sets change between
    packets, and each `encode` sets all of them, so nothing of one packet can reach the next.
    """

    __slots__ = ("ip", "ip_fields", "l4", "l4_fields")

    def __init__(self, kind: type) -> None:
        # IHL 5: simtcp sends no IP options (RFC 791 §3.1); the checksum is filled in later
        ip = IP(version=4, ihl=5, tos=0, len=20, id=0, flags=0, frag=0, ttl=64, proto=0,
                chksum=0, src="0.0.0.0", dst="0.0.0.0", options=[])
        self.ip, self.ip_fields = ip, ip.fields
        self.l4 = self.l4_fields = None
        if kind is Segment or kind is Datagram:
            self.l4 = tcp_template() if kind is Segment else udp_template()
            self.l4_fields = self.l4.fields


#: Idle layers per payload class. `encode` takes one set and puts it back, so two threads
#: encoding at once never share layers (list.pop and list.append are atomic).
_IDLE: dict = {k: [] for k in (Segment, Datagram, IcmpMessage, bytes)}


def encode(packet: Packet) -> bytes:
    """Build the IPv4 datagram for ``packet`` with scapy; correct checksums.

    Deterministic: the same Packet gives the same bytes. Raises ValueError (with the field
    named) for values that do not fit their header field, an address that is not a dotted
    quad, or TCP options longer than the 40 bytes a TCP header can hold (RFC 9293 §3.1).
    """
    src4 = ip4(packet.src, "src")
    dst4 = ip4(packet.dst, "dst")
    p = packet.payload
    kind = type(p)
    if kind is not Segment and kind is not Datagram and kind is not IcmpMessage:
        kind = bytes
    idle = _IDLE[kind]
    layers = idle.pop() if idle else _Layers(kind)
    try:
        if kind is Segment or kind is Datagram:
            if kind is Segment:
                fill_tcp(layers.l4_fields, p)
            else:
                fill_udp(layers.l4_fields, p)
            body = bytes(p.payload)
            header = _scapy_build(layers.l4.self_build, packet)
            # the checksum over the pseudo-header and the segment (RFC 9293 §3.1, RFC 768)
            ck = l4_checksum(src4, dst4, packet.proto, header, body)
            if kind is Segment:
                transport = _put16(header, TCP_CHECKSUM_AT, ck) + body
            else:  # RFC 768: a computed zero is sent as all ones (zero means "none")
                transport = _put16(header, UDP_CHECKSUM_AT, ck or 0xFFFF) + body
        elif kind is IcmpMessage:
            # the whole scapy build: ICMP's checksum covers the ICMP message only
            transport = _scapy_build(icmp_layer(p).build, packet)
        else:
            transport = bytes(p)
        total = 20 + len(transport)
        if total > 65535:
            raise ValueError(f"IPv4 total length {total} exceeds 65535 bytes (RFC 791 "
                             f"total length is 16 bits); send a smaller payload")
        f = layers.ip_fields
        f["tos"] = packet.tos
        f["len"] = total
        f["id"] = packet.ident
        f["flags"] = 2 if packet.df else 0  # scapy IP flags: 1 MF, 2 DF, 4 evil
        f["ttl"] = packet.ttl
        f["proto"] = packet.proto
        f["src"] = packet.src
        f["dst"] = packet.dst
        header = _scapy_build(layers.ip.self_build, packet)
    finally:
        idle.append(layers)
    return _put16(header, IP_CHECKSUM_AT, internet_checksum(header)) + transport


def _scapy_build(build, packet: Packet) -> bytes:
    """``build()`` (a scapy layer's), with scapy's complaint about a value that does not fit
    its field turned into a ValueError that says which fields have which sizes."""
    try:
        return build()
    except (struct.error, OverflowError, TypeError, ValueError) as e:
        raise ValueError(f"cannot encode {packet}: a field value does not fit its header "
                         f"field ({e}); ports, window and urgent pointer are 16 bits, "
                         f"seq/ack 32 bits, ttl, tos and protocol 8 bits, ident 16 "
                         f"bits") from None


def _put16(header: bytes, at: int, value: int) -> bytes:
    """``header`` with the 16-bit field at offset ``at`` set to ``value`` (a checksum)."""
    return header[:at] + value.to_bytes(2, "big") + header[at + 2:]


# ---------------------------------------------------------------------------------------
# Decode

_IP_HDR = struct.Struct("!BBHHHBBH4s4s")


def decode(data: bytes) -> Packet:
    """Parse and verify an IPv4 datagram. Raises only `DecodeError` (reason in `REASONS`).

    Bytes after the IP total length (link-layer padding) are ignored. IP options are skipped;
    the TCP NS/AE bit is not represented in `Packet`. Protocols other than TCP, UDP and ICMP
    decode to their payload bytes.
    """
    if not isinstance(data, bytes):
        try:
            data = bytes(data)
        except Exception:  # noqa: BLE001 - "never raises anything but DecodeError"
            raise DecodeError(DropReason.TRUNCATED, f"not bytes: {type(data).__name__}") from None
    n = len(data)
    if n < 20:
        raise DecodeError(DropReason.TRUNCATED, f"{n} bytes, an IPv4 header needs 20")
    vihl, tos, total, ident, ffrag, ttl, proto, _ck, src4, dst4 = _IP_HDR.unpack_from(data)
    if vihl >> 4 != 4:
        raise DecodeError(DropReason.NOT_IPV4, f"version {vihl >> 4}")
    ihl = (vihl & 0x0F) * 4
    if ihl < 20:
        raise DecodeError(DropReason.BAD_IP_HEADER_LENGTH, f"IHL {ihl // 4} words, minimum is 5")
    if ihl > n:
        raise DecodeError(DropReason.TRUNCATED, f"IP header of {ihl} bytes in {n} bytes")
    if total < ihl:
        raise DecodeError(DropReason.BAD_IP_TOTAL_LENGTH, f"total length {total} < header {ihl}")
    if total > n:
        raise DecodeError(DropReason.TRUNCATED, f"IP total length {total} but {n} bytes")
    if ones_sum(data[:ihl]) != 0:
        raise DecodeError(DropReason.BAD_IP_CHECKSUM)
    if ffrag & 0x3FFF:  # MF set or a fragment offset: RFC 791 §3.2
        raise DecodeError(DropReason.IP_FRAGMENT, "simtcp does not reassemble IP fragments")
    seg = data[ihl:total]
    if proto == 6:
        payload = decode_segment(seg, src4, dst4)
    elif proto == 17:
        payload = decode_datagram(seg, src4, dst4)
    elif proto == 1:
        payload = decode_icmp(seg)
    else:
        payload = seg
    return tuple.__new__(Packet, (socket.inet_ntoa(src4), socket.inet_ntoa(dst4), payload,
                                  ttl, ident, bool(ffrag & 0x4000), proto, tos))


# ---------------------------------------------------------------------------------------
# scapy views, for labs and host.inject()

def to_scapy(data: bytes) -> IP:
    """scapy's dissection of the datagram: ``to_scapy(b).show()``, ``[TCP].options``…"""
    return IP(bytes(data))


def from_scapy(pkt: Union[_ScapyPacket, bytes, bytearray, memoryview],
               default_src: str = None) -> bytes:
    """Bytes of a user-crafted packet, as ``host.inject(IP(...)/TCP(...))`` needs.

    Raw bytes pass through unchanged (they may be deliberately broken: decode() judges them).
    A scapy packet must contain an IP layer (TCP, UDP, ICMP or anything else inside); an
    Ether() or other layer in front is stripped. Checksums left ``None`` are filled by scapy; set values (even
    wrong ones) are kept, so labs can send a bad checksum on purpose. An IP source left unset
    is ``default_src`` if given: scapy would otherwise take it from the REAL machine's
    routing table.
    """
    if isinstance(pkt, (bytes, bytearray, memoryview)):
        return bytes(pkt)
    if not isinstance(pkt, _ScapyPacket):
        raise ValueError(f"expected a scapy packet such as IP(dst=...)/TCP(dport=...) or raw "
                         f"bytes, got {type(pkt).__name__}")
    if IP not in pkt:
        raise ValueError(f"{pkt.summary()!r} has no IP layer: simtcp links carry IPv4 "
                         f"datagrams, so wrap it: IP(src='192.168.1.99', "
                         f"dst='192.168.1.20')/TCP(dport=80, flags='S')")
    ip = pkt[IP]
    if ip.fields.get("src") is None:
        if default_src is None:
            raise ValueError("set the IP source explicitly, e.g. IP(src='192.168.1.99', ...): "
                             "left unset, scapy would pick this real machine's address")
        ip = ip.copy()
        ip.src = default_src
    return bytes(ip)


_SCAPY_FLAG_LETTERS = "FSRPAUEC"  # scapy's TCP flag string, lowest bit first ("SA", "PA")


def summary(data: bytes) -> str:
    """A one-line summary in scapy's layout, with numeric ports so it is the same on every
    machine (scapy names ports from /etc/services): ``IP / TCP 10.0.0.1:40000 >
    10.0.0.2:80 SA``, ``... PA / Raw``, ``IP / UDP 10.0.0.1:5000 > 10.0.0.2:53 / Raw``,
    ``IP / ICMP 10.0.0.1 > 10.0.0.2 dest-unreach 3``. Undecodable bytes say why; never
    raises."""
    try:
        p = decode(data)
    except DecodeError as e:
        return f"<{len(bytes(data))} bytes, not a valid IPv4 datagram: {e}>"
    s = p.segment
    if s is None:
        d = p.payload
        if p.proto == 17:
            text = f"IP / UDP {p.src}:{d.sport} > {p.dst}:{d.dport}"
            return text + " / Raw" if d.payload else text
        if p.proto == 1:
            return f"IP / ICMP {p.src} > {p.dst} type {d.type} code {d.code}"
        return f"IP / proto {p.proto} {p.src} > {p.dst} / Raw"
    flags = "".join(c for i, c in enumerate(_SCAPY_FLAG_LETTERS) if int(s.flags) >> i & 1)
    text = f"IP / TCP {p.src}:{s.sport} > {p.dst}:{s.dport} {flags}"
    return text + " / Raw" if s.payload else text
