"""ICMP on the wire (RFC 792): the scapy layer for an `IcmpMessage`, and the checked parser.

Theory of operation: the 4 bytes after type, code and checksum mean something different per
type, and scapy names them per type (ConditionalFields of its ICMP layer): identifier and
sequence for echo and the other query types, ``reserved``/``length``/``nexthopmtu`` for
destination unreachable (RFC 1191 §4, RFC 4884 §4.1), ``reserved``/``length``/``unused`` for
time exceeded, ``ptr``/``length``/``unused`` for parameter problem, ``gw`` for redirect.
`IcmpMessage.rest` keeps them as one 32-bit number; `icmp_layer` spreads it over the fields
scapy has for the type, so every field is explicit and the bytes are exactly ``rest``.
Timestamp (13/14), address mask (17/18) and domain name (37/38) messages carry more
header fields in scapy; their ``quote`` starts with those bytes. The checksum covers the ICMP message only (no pseudo-header);
scapy computes it.
"""
from __future__ import annotations

import socket
import struct

from scapy.layers.inet import ICMP
from scapy.packet import Raw

from .packet import IcmpMessage
from .reasons import DropReason
from .wirebase import DecodeError, ones_sum

__all__ = ["icmp_layer", "decode_icmp"]

_ID_SEQ_TYPES = (0, 8, 15, 16)  # scapy's icmp_id_seq_types with nothing more after them
_ICMP_HDR = struct.Struct("!BBHI")


def icmp_layer(m: IcmpMessage):
    """The scapy ICMP layer (with the quote as Raw payload) for ``m``."""
    t, r = m.type, m.rest
    if not (0 <= r <= 0xFFFFFFFF):
        raise ValueError(f"ICMP rest of header {r!r} does not fit 32 bits")
    kw = dict(type=t, code=m.code, chksum=None)
    body = bytes(m.quote)
    if t in _ID_SEQ_TYPES:
        kw.update(id=r >> 16, seq=r & 0xFFFF)
    elif t == 3:
        kw.update(reserved=r >> 24, length=(r >> 16) & 0xFF, nexthopmtu=r & 0xFFFF)
    elif t == 11:
        kw.update(reserved=r >> 24, length=(r >> 16) & 0xFF, unused=r & 0xFFFF)
    elif t == 12:
        kw.update(ptr=r >> 24, length=(r >> 16) & 0xFF, unused=r & 0xFFFF)
    elif t == 5:
        kw.update(gw=socket.inet_ntoa(r.to_bytes(4, "big")))
    elif t in (13, 14):
        if len(body) < 12:
            raise ValueError("an ICMP timestamp message needs 12 bytes of timestamps in quote")
        o, rx, tx = struct.unpack_from("!III", body)
        kw.update(id=r >> 16, seq=r & 0xFFFF, ts_ori=o, ts_rx=rx, ts_tx=tx)
        body = body[12:]
    elif t in (17, 18):
        if len(body) < 4:
            raise ValueError("an ICMP address mask message needs the 4-byte mask in quote")
        kw.update(id=r >> 16, seq=r & 0xFFFF, addr_mask=socket.inet_ntoa(body[:4]))
        body = body[4:]
    elif t in (37, 38):  # scapy adds a 32-bit "unused" after id and seq (obsolete types)
        if len(body) < 4:
            raise ValueError(f"scapy's ICMP type {t} has 4 more header bytes: give them as "
                             f"the first 4 bytes of quote")
        kw.update(id=r >> 16, seq=r & 0xFFFF, unused=int.from_bytes(body[:4], "big"))
        body = body[4:]
    else:
        kw.update(unused=r)
    layer = ICMP(**kw)
    layer.explicit = 1
    if body:
        raw = Raw(load=body)
        raw.explicit = 1
        layer.add_payload(raw)
    return layer


def decode_icmp(seg: bytes) -> IcmpMessage:
    """Parse and verify the ICMP message ``seg`` (everything after the IP header)."""
    if len(seg) < 8:
        raise DecodeError(DropReason.TRUNCATED, f"ICMP header needs 8 bytes, {len(seg)} present")
    if ones_sum(seg) != 0 or not any(seg):  # all zero: a one's-complement sum of 0x0000
        raise DecodeError(DropReason.BAD_ICMP_CHECKSUM)
    t, code, _ck, rest = _ICMP_HDR.unpack_from(seg)
    return IcmpMessage(t, code, rest, seg[8:])
