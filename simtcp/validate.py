"""Checking a hand-built simtcp `Packet` at the API boundary (``host.inject``, ``peer.send``).

Theory of operation: `Packet`, `Segment` and `Options` are plain named tuples, so nothing
stops a student from writing ``Segment(..., window=70000)``, ``ack=None`` or a ``str``
payload. Such a value would otherwise travel deep into the stack and fail far from its cause
(or only when a pcap is written). `check_packet` looks at every field once, where the packet
enters the simulation, and raises a `ValueError` that names the field and its legal range —
the same promise as for scapy packets and bytes, which `wire.decode` checks. It returns the
packet with its fields in the types the stack's own segments have (flags as `Flags`,
sequence numbers as plain 32-bit ints, a `Seq` given for one included), so the stack never
sees a value of another type where it expects them.
"""
from __future__ import annotations

import ipaddress

from .packet import Packet
from .segment import FLAG_VALUES, Options, Segment

_U8, _U16, _U32 = 0xFF, 0xFFFF, 0xFFFFFFFF


def _int(value, name: str, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= int(value) <= high:
        raise ValueError(f"packet field {name} must be an int from 0 to {high}, got {value!r}")
    return int(value)


def _addr(value, name: str) -> str:
    try:
        if not isinstance(value, str):
            raise TypeError
        return str(ipaddress.IPv4Address(value))
    except (ValueError, TypeError):
        raise ValueError(f"packet field {name} must be a dotted-quad IPv4 address such as "
                         f"'192.168.1.10', got {value!r}") from None


def _options(o) -> Options:
    if not isinstance(o, Options):
        raise ValueError(f"segment field options must be a simtcp Options (use "
                         f"simtcp.Options() for none), got {o!r}")
    if o.mss is not None:
        _int(o.mss, "options.mss", _U16)
    if o.wscale is not None:
        _int(o.wscale, "options.wscale", _U8)
    if not isinstance(o.sack_perm, bool):
        raise ValueError(f"options.sack_perm must be True or False, got {o.sack_perm!r}")
    if o.ts is not None:
        if not isinstance(o.ts, tuple) or len(o.ts) != 2:
            raise ValueError(f"options.ts must be a (TSval, TSecr) pair, got {o.ts!r}")
        _int(o.ts[0], "options.ts[0] (TSval)", _U32)
        _int(o.ts[1], "options.ts[1] (TSecr)", _U32)
    if not isinstance(o.sack, tuple):
        raise ValueError(f"options.sack must be a tuple of (left, right) pairs, got {o.sack!r}")
    for i, block in enumerate(o.sack):
        if not isinstance(block, tuple) or len(block) != 2:
            raise ValueError(f"options.sack[{i}] must be a (left, right) pair of sequence "
                             f"numbers, got {block!r}")
        _int(block[0], f"options.sack[{i}] left edge", _U32)
        _int(block[1], f"options.sack[{i}] right edge", _U32)
    if not isinstance(o.extra, tuple):
        raise ValueError(f"options.extra must be a tuple of scapy options, got {o.extra!r}")
    from .wire_tcp import _check_extra
    for item in o.extra:
        _check_extra(item)
    return o


def check_segment(seg) -> Segment:
    """A TCP segment with every header field checked and typed."""
    sport = _int(seg.sport, "sport", _U16)
    dport = _int(seg.dport, "dport", _U16)
    seq = _int(seg.seq, "seq", _U32)
    ack = _int(seg.ack, "ack", _U32)
    flags = _int(seg.flags, "flags", _U8)
    window = _int(seg.window, "window", _U16)
    urgptr = _int(seg.urgptr, "urgptr", _U16)
    if not isinstance(seg.payload, (bytes, bytearray, memoryview)):
        raise ValueError(f"segment field payload must be bytes, got "
                         f"{type(seg.payload).__name__} {seg.payload!r:.40}")
    options = _options(seg.options)
    return Segment(sport, dport, seq, ack, FLAG_VALUES[flags], window, options,
                   bytes(seg.payload), urgptr)


def check_packet(packet) -> Packet:
    """``packet`` with every field checked (ValueError naming the field) and normalized.
    The IPv4 header is checked for every packet, a TCP segment field by field; other
    payloads (UDP, ICMP) are left to the encoder's own range checks."""
    if not isinstance(packet, Packet):
        raise ValueError(f"expected a simtcp Packet, got {type(packet).__name__}")
    src, dst = _addr(packet.src, "src"), _addr(packet.dst, "dst")
    ttl = _int(packet.ttl, "ttl", _U8)
    ident = _int(packet.ident, "ident", _U16)
    proto = _int(packet.proto, "proto", _U8)
    tos = _int(packet.tos, "tos", _U8)
    if not isinstance(packet.df, bool):
        raise ValueError(f"packet field df must be True or False, got {packet.df!r}")
    payload = packet.payload
    if isinstance(payload, Segment):
        payload = check_segment(payload)
    checked = Packet(src, dst, payload, ttl, ident, packet.df, proto, tos)
    from .wire import encode
    try:
        encode(checked)   # option space (40 bytes), total length (65535), other payloads
    except (TypeError, AttributeError, OverflowError) as e:
        raise ValueError(f"packet {packet!r:.80} cannot be encoded: {e}") from None
    return checked
