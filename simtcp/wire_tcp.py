"""TCP on the wire (RFC 9293 §3.1): the scapy layer for a `Segment`, and the checked parser.

Theory of operation: options are laid out the way Linux writes them (`tcp_options_write()`
in Linux net/ipv4/tcp_output.c), so a capture of the simulator looks like a capture of a
Linux host:

    MSS            02 04 hh ll                        always first
    TS + SACK_PERM 04 02 08 0a <TSval> <TSecr>        SAckOK shares the TS word (SYN, SYN-ACK)
    TS only        01 01 08 0a <TSval> <TSecr>        NOP,NOP,Timestamp (established segments)
    SACK_PERM only 01 01 04 02                        NOP,NOP,SAckOK (no timestamps)
    WScale         01 03 03 ss                        NOP,WScale
    SACK blocks    01 01 05 0a+8n <left right>...     NOP,NOP,SAck (RFC 2018 §3)

so a Linux SYN is ``mss,sackOK,TS,nop,wscale`` (20 option bytes, measured on Linux 6.18)
and without timestamps ``mss,nop,nop,sackOK,nop,wscale``. ``Options.extra`` items (scapy
option tuples) follow, and scapy pads the list with zero bytes to a 32-bit boundary.

One TCP layer is reused for segment after segment (`tcp_template`, `fill_tcp`) and built
with a zero checksum, which `simtcp.wire` fills in from the pseudo-header (see its
docstring, "speed"). `decode_segment` checks the data offset, the checksum and the
options; options simtcp does not interpret are handed to scapy's own option parser, so
``Options.extra`` holds exactly what scapy would show.
"""
from __future__ import annotations

import struct
from typing import List

from scapy.layers.inet import TCP, TCPOptions, TCPOptionsField

from .segment import NO_OPTIONS, Flags, Options, Segment
from .reasons import DropReason
from .wirebase import DecodeError, ones_sum, pseudo_sum

__all__ = ["tcp_option_list", "tcp_template", "fill_tcp", "decode_segment",
           "CHECKSUM_OFFSET"]

CHECKSUM_OFFSET = 16  # of the checksum field in the TCP header

_NOP = ("NOP", None)
_OPTFIELD = TCPOptionsField("options", b"")
_BY_NAME = TCPOptions[1]  # scapy option name -> kind number


def tcp_option_list(segment: Segment) -> List[tuple]:
    """The scapy option list for ``segment``, in Linux's order and alignment (module doc).

    `capture` renders tcpdump's ``options [...]`` from this list, so the text shows exactly
    the NOPs that are on the wire.
    """
    o = segment.options
    if o is NO_OPTIONS or not o:
        return []
    out: List[tuple] = []
    if o.mss is not None:
        out.append(("MSS", o.mss))
    # Linux tcp_options_write(): SACK_PERM rides in the two bytes before TS, where an
    # established segment has NOP,NOP.
    if o.ts is not None:
        if o.sack_perm:
            out.append(("SAckOK", b""))
        else:
            out += (_NOP, _NOP)
        out.append(("Timestamp", (o.ts[0], o.ts[1])))
    elif o.sack_perm:
        out += (_NOP, _NOP, ("SAckOK", b""))
    if o.wscale is not None:
        out += (_NOP, ("WScale", o.wscale))
    if o.sack:
        out += (_NOP, _NOP, ("SAck", tuple(edge for block in o.sack for edge in block)))
    if o.extra:
        for item in o.extra:
            _check_extra(item)
        out.extend(o.extra)
    return out


def _check_extra(item: object) -> None:
    """Refuse what scapy would skip with a mere warning: the segment would differ silently."""
    ok = isinstance(item, tuple) and len(item) == 2
    if ok:
        name, value = item
        if isinstance(name, str):
            ok = name in ("NOP", "EOL") or name in _BY_NAME
        else:
            ok = (isinstance(name, int) and 0 <= name <= 255
                  and isinstance(value, (bytes, str)))
    if not ok:
        raise ValueError(
            f"Options.extra item {item!r} is not a scapy TCP option: use (name, value) with a "
            f"scapy name such as ('UTO', 30) or ('MD5', b'...'), or (kind, bytes) such as "
            f"(253, b'\\x01\\x02') for a kind scapy does not know")


def tcp_template() -> TCP:
    """A TCP layer for `fill_tcp` to reuse, segment after segment (`simtcp.wire`, "speed").
    The fields no segment changes are set here: reserved bits 0, checksum 0 (simtcp.wire
    fills it in from the pseudo-header)."""
    return TCP(sport=0, dport=0, seq=0, ack=0, dataofs=5, reserved=0, flags=0, window=0,
               chksum=0, urgptr=0, options=[])


def fill_tcp(fields: dict, seg: Segment) -> None:
    """Set every per-segment field of a `tcp_template` layer (its ``fields`` dict) for
    ``seg``: the values are scapy's internal ones, so its build gives the header a fresh
    ``TCP(sport=..., ...)`` gives (simtcp.wire, "speed")."""
    opts = tcp_option_list(seg)
    o = seg.options
    optlen = (len(_OPTFIELD.i2m(None, opts)) if o.extra
              else o.known_length()) if opts else 0
    if optlen > 40:
        raise ValueError(f"TCP options take {optlen} bytes but a TCP header has room for 40 "
                         f"(data offset is 4 bits: at most 15 words, 5 of them fixed); "
                         f"options: {o}")
    fields["sport"] = seg.sport
    fields["dport"] = seg.dport
    fields["seq"] = int(seg.seq)     # int(): a test may put a Seq in a segment
    fields["ack"] = int(seg.ack)
    # data offset: 5 words + options padded to a word (RFC 9293 §3.1); given here so scapy
    # does not serialize the options a second time to find it
    fields["dataofs"] = 5 + (optlen + 3) // 4
    fields["flags"] = int(seg.flags)
    fields["window"] = seg.window
    fields["urgptr"] = seg.urgptr
    fields["options"] = opts


_TCP_HDR = struct.Struct("!HHIIBBHHH")
_FLAGS = tuple(Flags(i) for i in range(256))  # IntFlag construction is slow; look it up
_TS_ONLY = b"\x01\x01\x08\x0a"  # NOP,NOP,Timestamp: every established Linux segment


def decode_segment(seg: bytes, src4: bytes, dst4: bytes) -> Segment:
    """Parse and verify the TCP segment ``seg`` (everything after the IP header)."""
    tlen = len(seg)
    if tlen < 20:
        raise DecodeError(DropReason.TRUNCATED, f"TCP header needs 20 bytes, {tlen} present")
    sport, dport, seq, ack, offres, flags, window, _tck, urgptr = _TCP_HDR.unpack_from(seg)
    doff = (offres >> 4) * 4
    if doff < 20 or doff > tlen:
        raise DecodeError(DropReason.BAD_TCP_DATA_OFFSET, f"data offset {doff // 4} words in a "
                                                 f"{tlen}-byte segment")
    if (pseudo_sum(src4, dst4, 6, tlen) + ones_sum(seg)) % 0xFFFF != 0:
        raise DecodeError(DropReason.BAD_TCP_CHECKSUM)
    if doff == 20:
        options = NO_OPTIONS
    elif doff == 32 and seg[20:24] == _TS_ONLY:
        options = Options(ts=(int.from_bytes(seg[24:28], "big"),
                              int.from_bytes(seg[28:32], "big")))
    else:
        options = _parse_options(seg[20:doff])
    return Segment(sport, dport, seq, ack, _FLAGS[flags], window, options,
                   seg[doff:], urgptr)


def _parse_options(raw: bytes) -> Options:
    """TCP options (RFC 9293 §3.2), read the way Linux tcp_parse_options() reads them
    (net/ipv4/tcp_input.c): EOL ends the list; a structurally broken option — no length
    byte, a length below 2 ("silly options") or one running past the header ("don't parse
    partial options") — ends parsing, keeping what was read before it, and the segment is
    still processed. A known kind with an unexpected length is not interpreted (Linux
    ignores it) and is kept in ``extra`` the way scapy shows it."""
    mss = wscale = ts = None
    sack_perm = False
    sack: tuple = ()
    extra: list = []
    i, end = 0, len(raw)
    while i < end:
        kind = raw[i]
        if kind == 0:  # EOL: the rest is padding
            break
        if kind == 1:  # NOP
            i += 1
            continue
        if i + 1 >= end:
            break          # no length byte: Linux stops ("if (length < 2) return")
        olen = raw[i + 1]
        if olen < 2 or i + olen > end:
            break          # silly or partial option: Linux stops parsing here
        body = raw[i + 2:i + olen]
        if kind == 2 and olen == 4 and mss is None:
            mss = int.from_bytes(body, "big")
        elif kind == 3 and olen == 3 and wscale is None:
            wscale = body[0]
        elif kind == 4 and olen == 2 and not sack_perm:
            sack_perm = True
        elif kind == 8 and olen == 10 and ts is None:
            ts = (int.from_bytes(body[:4], "big"), int.from_bytes(body[4:], "big"))
        elif kind == 5 and olen > 2 and (olen - 2) % 8 == 0 and not sack:
            edges = struct.unpack(f"!{(olen - 2) // 4}I", body)
            sack = tuple(zip(edges[::2], edges[1::2]))
        else:
            extra.append(_scapy_option(raw[i:i + olen]))
        i += olen
    return Options(mss, wscale, sack_perm, ts, sack, tuple(extra))


def _scapy_option(raw: bytes) -> tuple:
    """One option as scapy's own parser shows it, e.g. ``('UTO', 30)`` or ``(253, b'..')``;
    ``(kind, body bytes)`` if scapy cannot parse it (it must never escape decode())."""
    try:
        parsed = _OPTFIELD.m2i(None, raw)
    except Exception:  # noqa: BLE001 - a scapy parser bug must not escape decode()
        parsed = ()
    if len(parsed) != 1:
        return (raw[0], bytes(raw[2:]))
    return tuple(parsed[0])
