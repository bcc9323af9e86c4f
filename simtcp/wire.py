"""The wire: simtcp `Packet` <-> real IPv4 bytes. Only the wire modules import scapy.

Theory of operation
-------------------
**Encode** builds each datagram with scapy, ``IP(...)/TCP|UDP|ICMP(...)/Raw(...)``, in
exactly one build per packet, with EVERY header field given explicitly, because scapy's
defaults surprise (a bare ``TCP()`` is sport 20, flags S, window 8192; a bare ``IP()`` has
id 1 and takes its source address from the host's routing table). The transport layer comes
from its codec: `wire_tcp` (Linux's option layout), `wire_udp`, `wire_icmp`; any other
protocol number carries its payload bytes as they are.

Speed (a benchmark compares simtcp with bare scapy). Most of a plain
``bytes(IP()/TCP()/Raw())`` is scapy's generic machinery around the build, not the build:

1. `Packet.do_build` clones every layer to expand "generator" field values (``RandShort()``,
   lists of ports); our fields are plain values, so the layers are marked ``explicit`` —
   what scapy itself does after that expansion — and it skips the clones.
2. Creating the layers (`Packet.__init__`, field defaults, ``any2i`` conversions) costs
   more than building them. So the layers are created once and reused: a chain
   IP / TCP|UDP [/ Raw] per payload class (`_Layers`), whose ``fields`` are set for each
   packet to the values scapy stores after ``any2i`` — what ``IP(ttl=64, ...)`` would
   store, except that the two flag fields hold the plain integer, which is what their
   `FlagsField` writes to the wire (its ``FlagValue`` wrapper is for display, and its
   operator overloads alone cost a third of a build). Every field a packet can change is
   set on every encode, so nothing of one packet reaches the next (tests:
   test_wire_reuse.py, A then B then A; failed encodes; threads). Segments without
   payload (most of a connection's) use a chain without the empty Raw layer.
3. TCP's and UDP's `post_build` compute the checksum through `in4_pseudoheader`, which
   copies the whole IP packet (payload included). We build with a zero checksum and fill
   it in from the pseudo-header and the scapy-built bytes (RFC 9293 §3.1, RFC 768).
4. IP's `post_build` patches IHL and the total length into the header it built when they
   are ``None``; like TCP's data offset and UDP's length, we give them (ICMP excepted:
   scapy adds its per-type header up). scapy computes the IP header checksum, and the ICMP
   checksum, which covers only the ICMP message.

The bytes are scapy's, field by field: tests prove them identical to a fresh
``bytes(IP()/TCP()/Raw())`` with every checksum and length left to scapy, for every kind
of packet.

**Decode** parses with `struct` instead of dissecting with scapy. Measured on the 2-core
test machine for a 100-byte data segment with timestamps (bench/_scapy_baseline.py): ``IP(b)``
≈ 75–240 µs; the struct parse with both checksums verified ≈ 3–16 µs. (Encode: ≈ 27 µs
here against ≈ 85 µs with fresh explicit layers and ≈ 400 µs for a plain
``bytes(IP()/TCP()/Raw())``.) Decode must also check what scapy never checks (lengths,
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
from scapy.packet import Raw

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
    """One reusable chain of scapy layers: IP / transport / Raw (module doc, "speed").

    ``kind`` is the payload class: `Segment` (IP/TCP), `Datagram` (IP/UDP), `IcmpMessage`
    (IP alone: a fresh ICMP layer is attached for each message, because its fields differ
    per type), anything else (IP alone); a Raw layer follows when ``body`` (the chain is for
    packets with payload bytes). Only the IP fields a `Packet` sets and the transport fields
    the codec's ``fill_*`` sets change between packets, and each `encode` sets all of them,
    so nothing of one packet can reach the next.
    """

    __slots__ = ("ip", "ip_fields", "l4_fields", "raw_fields")

    def __init__(self, kind: type, body: bool) -> None:
        # IHL 5: simtcp sends no IP options (RFC 791 §3.1)
        ip = IP(version=4, ihl=5, tos=0, len=None, id=0, flags=0, frag=0, ttl=64, proto=0,
                chksum=None, src="0.0.0.0", dst="0.0.0.0", options=[])
        ip.explicit = 1
        self.ip, self.ip_fields = ip, ip.fields
        self.l4_fields = self.raw_fields = None
        top = ip
        if kind is Segment or kind is Datagram:
            top = tcp_template() if kind is Segment else udp_template()
            ip.add_payload(top)
            self.l4_fields = top.fields
        if body:
            raw = Raw(load=b"")
            raw.explicit = 1
            top.add_payload(raw)
            self.raw_fields = raw.fields


#: Idle layer chains per (payload class, has payload bytes). `encode` takes one and puts it
#: back, so two threads encoding at once never share a chain (list.pop and list.append are
#: atomic).
_IDLE: dict = {(k, b): [] for k in (Segment, Datagram, IcmpMessage, bytes) for b in (0, 1)}


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
    if kind is Segment or kind is Datagram:
        body = p.payload
    elif kind is IcmpMessage:
        body = b""  # the quote is the ICMP layer's own Raw
    else:
        kind, body = bytes, p
    if body:
        body = bytes(body)
    key = (kind, 1 if body else 0)
    idle = _IDLE[key]
    layers = idle.pop() if idle else _Layers(*key)
    ip = layers.ip
    try:
        f = layers.ip_fields
        f["tos"] = packet.tos
        f["id"] = packet.ident
        f["flags"] = 2 if packet.df else 0  # scapy IP flags: 1 MF, 2 DF, 4 evil
        f["ttl"] = packet.ttl
        f["proto"] = packet.proto
        f["src"] = packet.src
        f["dst"] = packet.dst
        if kind is Segment:
            header = fill_tcp(layers.l4_fields, p)
        elif kind is Datagram:
            header = fill_udp(layers.l4_fields, p)
        else:
            header = 0
        if kind is IcmpMessage:
            ip.add_payload(icmp_layer(p))
            f["len"] = None  # scapy adds it up (ICMP's header length differs per type)
        else:
            # total length, given so scapy need not patch it into the header it built
            f["len"] = total = 20 + header + len(body)
            if total > 65535:
                raise ValueError(f"IPv4 total length {total} exceeds 65535 bytes (RFC 791 "
                                 f"total length is 16 bits); send a smaller payload")
        if body:
            layers.raw_fields["load"] = body
        try:
            data = bytes(ip)
        except (struct.error, OverflowError, TypeError, ValueError) as e:
            raise ValueError(f"cannot encode {packet}: a field value does not fit its header "
                             f"field ({e}); ports, window and urgent pointer are 16 bits, "
                             f"seq/ack 32 bits, ttl, tos and protocol 8 bits, ident 16 "
                             f"bits") from None
    finally:
        if kind is IcmpMessage:
            ip.remove_payload()
        idle.append(layers)
    if kind is IcmpMessage or kind is bytes:
        return data
    ck = l4_checksum(src4, dst4, packet.proto, data[20:])
    at = 20 + (TCP_CHECKSUM_AT if kind is Segment else UDP_CHECKSUM_AT)
    if ck == 0 and kind is Datagram:
        ck = 0xFFFF  # RFC 768: a computed zero is sent as all ones (zero means "none")
    return data[:at] + ck.to_bytes(2, "big") + data[at + 2:]


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
