"""UDP on the wire (RFC 768): the scapy layer for a `Datagram`, and the checked parser.

Theory of operation: one reused layer (`udp_template`, `fill_udp`) is built with explicit
length and a zero checksum, which `simtcp.wire` fills in from the pseudo-header; a computed
checksum of zero is sent as 0xFFFF, because zero in the field means "no checksum" (RFC 768).
The parser follows Linux __udp4_lib_rcv() (net/ipv4/udp.c): a length field shorter than the
header or longer than the IP payload is a short packet; bytes after the UDP length are
trimmed; a zero checksum is accepted unchecked, any other must verify.
"""
from __future__ import annotations

import struct

from scapy.layers.inet import UDP

from .packet import Datagram
from .reasons import DropReason
from .wirebase import DecodeError, ones_sum, pseudo_sum

__all__ = ["udp_template", "fill_udp", "decode_datagram", "CHECKSUM_OFFSET"]

CHECKSUM_OFFSET = 6  # of the checksum field in the UDP header
_UDP_HDR = struct.Struct("!HHHH")


def udp_template() -> UDP:
    """A UDP layer for `fill_udp` to reuse (`simtcp.wire`, "speed"); checksum 0."""
    return UDP(sport=0, dport=0, len=8, chksum=0)


def fill_udp(fields: dict, d: Datagram) -> None:
    """Set every per-datagram field of a `udp_template` layer (its ``fields`` dict)."""
    fields["sport"] = d.sport
    fields["dport"] = d.dport
    fields["len"] = 8 + len(d.payload)


def decode_datagram(seg: bytes, src4: bytes, dst4: bytes) -> Datagram:
    """Parse and verify the UDP datagram ``seg`` (everything after the IP header)."""
    n = len(seg)
    if n < 8:
        raise DecodeError(DropReason.TRUNCATED, f"UDP header needs 8 bytes, {n} present")
    sport, dport, ulen, ck = _UDP_HDR.unpack_from(seg)
    if ulen < 8 or ulen > n:
        raise DecodeError(DropReason.BAD_UDP_LENGTH, f"length field {ulen} with {n} bytes after the "
                                            f"IP header")
    seg = seg[:ulen]
    if ck and (pseudo_sum(src4, dst4, 17, ulen) + ones_sum(seg)) % 0xFFFF != 0:
        raise DecodeError(DropReason.BAD_UDP_CHECKSUM)
    return Datagram(sport, dport, seg[8:])
