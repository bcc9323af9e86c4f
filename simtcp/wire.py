"""The wire: simtcp `Packet` <-> real IPv4/TCP bytes. The ONLY module that imports scapy.

Theory of operation
-------------------
**Encode** builds each datagram with scapy, ``IP(...)/TCP(...)/Raw(...)``, in exactly one
build per packet, with EVERY header field given explicitly, because scapy's defaults surprise
(a bare ``TCP()`` is sport 20, flags S, window 8192; a bare ``IP()`` has id 1 and takes its
source address from the host's routing table). Options are laid out the way Linux writes them
(`tcp_options_write()` in Linux net/ipv4/tcp_output.c), so a capture of the simulator looks
like a capture of a Linux host:

    MSS            02 04 hh ll                        always first
    TS + SACK_PERM 04 02 08 0a <TSval> <TSecr>        SAckOK shares the TS word (SYN, SYN-ACK)
    TS only        01 01 08 0a <TSval> <TSecr>        NOP,NOP,Timestamp (established segments)
    SACK_PERM only 01 01 04 02                        NOP,NOP,SAckOK (no timestamps)
    WScale         01 03 03 ss                        NOP,WScale
    SACK blocks    01 01 05 0a+8n <left right>...     NOP,NOP,SAck (RFC 2018 §3)

so a Linux SYN is ``mss,sackOK,TS,nop,wscale`` (20 option bytes, FACTS §10 measured on Linux
6.18) and without timestamps ``mss,nop,nop,sackOK,nop,wscale``. ``Options.extra`` items
(scapy option tuples) follow, and scapy pads the list with zero bytes to a 32-bit boundary.

Speed (a benchmark compares simtcp with bare scapy): two things in scapy's generic build path
cost more than the build itself. (1) `Packet.do_build` clones every layer to expand
"generator" field values (``RandShort()``, lists of ports); our fields are plain values, so
we mark the layers ``explicit`` — what scapy itself does after that expansion — and it skips
the clones. (2) TCP's `post_build` computes the checksum through `in4_pseudoheader`, which
copies the whole IP packet (payload included). We build with a zero TCP checksum and fill it
in from the pseudo-header and the scapy-built bytes (RFC 9293 §3.1); tests prove the result
is byte-identical to plain ``bytes(IP()/TCP()/Raw())`` with ``chksum=None``. The IP header
checksum is left ``None``: scapy fills it cheaply.

**Decode** parses with `struct` instead of dissecting with scapy. Measured on the 2-core
test machine for a 100-byte data segment with timestamps (bench/_scapy_baseline.py): ``IP(b)``
≈ 160–240 µs; the struct parse with both checksums verified ≈ 8–16 µs. (Encode: ≈ 180–270 µs
here against ≈ 850–1100 µs for a plain ``bytes(IP()/TCP()/Raw())``.) Decode must also check
what scapy never checks (lengths, checksums, fragments), which needs the raw header anyway.
Tests prove the result equals scapy's dissection field by field; labs that want scapy's view
call `to_scapy()` (or ``CapturedPacket.scapy``). Options simtcp does not interpret are handed
to scapy's own option parser, so ``Options.extra`` holds exactly what scapy would show.

Checksums use the identity that the one's-complement sum of 16-bit words is the big-endian
integer modulo 0xFFFF (2**16 ≡ 1 mod 0xFFFF), one C-speed `int.from_bytes` per check.
"""
from __future__ import annotations

import socket
import struct
from typing import List, Tuple, Union

from scapy.layers.inet import IP, TCP, TCPOptions, TCPOptionsField
from scapy.packet import Packet as _ScapyPacket
from scapy.packet import Raw

from .segment import NO_OPTIONS, Flags, Options, Packet, Segment
from .reasons import DropReason
from .seq import Seq

__all__ = ["DecodeError", "REASONS", "encode", "decode", "to_scapy", "from_scapy", "summary",
           "checksum_ok", "internet_checksum", "tcp_option_list"]

#: Every `DecodeError.reason`, in the order decode checks them (`DropReason` members: the
#: stack uses them as drop reasons in the trace).
REASONS = (DropReason.TRUNCATED, DropReason.NOT_IPV4, DropReason.BAD_IP_HEADER_LENGTH,
           DropReason.BAD_IP_TOTAL_LENGTH, DropReason.BAD_IP_CHECKSUM, DropReason.NOT_TCP,
           DropReason.IP_FRAGMENT, DropReason.BAD_TCP_DATA_OFFSET, DropReason.BAD_TCP_CHECKSUM)


class DecodeError(ValueError):
    """Bytes that are not a well-formed IPv4/TCP datagram. ``reason`` is one of `REASONS`."""

    def __init__(self, reason: DropReason, detail: str = "") -> None:
        super().__init__(f"{reason.english}: {detail}" if detail else reason.english)
        self.reason = reason
        self.detail = detail


# ---------------------------------------------------------------------------------------
# Checksums (RFC 1071; TCP pseudo-header RFC 9293 §3.1)

def _ones_sum(data: bytes) -> int:
    """The one's-complement sum of ``data`` as 16-bit big-endian words, reduced mod 0xFFFF.

    0 here means "0x0000 or 0xFFFF" (the two zeros of one's complement); callers that need
    the distinction check for all-zero data themselves.
    """
    n = int.from_bytes(data, "big")
    if len(data) & 1:
        n <<= 8  # RFC 1071: an odd trailing byte is padded with a zero byte on the right
    return n % 0xFFFF


def internet_checksum(data: bytes) -> int:
    """The Internet checksum of ``data`` (RFC 1071), as the 16-bit value put in a header.

    Equal to scapy's ``scapy.utils.checksum``: for data whose words sum to a non-zero
    multiple of 0xFFFF the sum is 0xFFFF and the checksum is 0x0000.
    """
    data = bytes(data)
    s = _ones_sum(data)
    if s == 0:
        return 0x0000 if any(data) else 0xFFFF
    return 0xFFFF - s


def _pseudo_sum(src4: bytes, dst4: bytes, tcp_len: int) -> int:
    # RFC 9293 §3.1: source, destination, zero, PTCL=6, TCP length.
    return (int.from_bytes(src4 + dst4, "big") + 6 + tcp_len) % 0xFFFF


def checksum_ok(data: bytes) -> Tuple[bool, bool]:
    """``(ip_ok, tcp_ok)`` for the datagram in ``data``; ``(False, False)`` when too short.

    For labs ("flip a bit, which checksum catches it?"); never raises.
    """
    data = bytes(data)
    if len(data) < 20:
        return (False, False)
    ihl = (data[0] & 0x0F) * 4
    if ihl < 20 or ihl > len(data):
        return (False, False)
    ip_ok = _ones_sum(data[:ihl]) == 0
    total = int.from_bytes(data[2:4], "big")
    if total < ihl or total > len(data):
        return (ip_ok, False)
    seg = data[ihl:total]
    tcp_ok = (_pseudo_sum(data[12:16], data[16:20], len(seg)) + _ones_sum(seg)) % 0xFFFF == 0
    return (ip_ok, tcp_ok)


# ---------------------------------------------------------------------------------------
# Encode

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


def _ip4(addr: str, which: str) -> bytes:
    # inet_pton accepts only a dotted quad; scapy would treat anything else as a host name
    # and ask DNS — a simulator must never do that.
    try:
        return socket.inet_pton(socket.AF_INET, addr)
    except (OSError, TypeError):
        raise ValueError(f"packet {which} {addr!r} is not an IPv4 address in dotted-quad form "
                         f"(e.g. '192.168.1.10')") from None


def encode(packet: Packet) -> bytes:
    """Build the IPv4/TCP datagram for ``packet`` with scapy; correct checksums.

    Deterministic: the same Packet gives the same bytes. Raises ValueError (with the field
    named) for values that do not fit their header field, an address that is not a dotted
    quad, or options longer than the 40 bytes a TCP header can hold (RFC 9293 §3.1).
    """
    seg = packet.segment
    src4 = _ip4(packet.src, "src")
    dst4 = _ip4(packet.dst, "dst")
    opts = tcp_option_list(seg)
    o = seg.options
    optlen = (len(_OPTFIELD.i2m(None, opts)) if o.extra
              else o.known_length()) if opts else 0
    if optlen > 40:
        raise ValueError(f"TCP options take {optlen} bytes but a TCP header has room for 40 "
                         f"(data offset is 4 bits: at most 15 words, 5 of them fixed); "
                         f"options: {o}")
    ip = IP(version=4, ihl=None, tos=0, len=None, id=packet.ident,
            flags=2 if packet.df else 0,  # scapy IP flags: 1 MF, 2 DF, 4 evil
            frag=0, ttl=packet.ttl, proto=6, chksum=None, src=packet.src, dst=packet.dst,
            options=[])
    tcp = TCP(sport=seg.sport, dport=seg.dport, seq=int(seg.seq), ack=int(seg.ack),
              # data offset: 5 words + options padded to a word (RFC 9293 §3.1); given here
              # so scapy does not serialize the options a second time to find it
              dataofs=5 + (optlen + 3) // 4, reserved=0, flags=int(seg.flags),
              window=seg.window,
              chksum=0,  # filled below from the pseudo-header (see module doc, speed)
              urgptr=seg.urgptr, options=opts)
    ip.add_payload(tcp)
    ip.explicit = 1
    tcp.explicit = 1
    if seg.payload:
        raw = Raw(load=bytes(seg.payload))
        raw.explicit = 1
        tcp.add_payload(raw)
    try:
        data = bytes(ip)
    except (struct.error, OverflowError, TypeError, ValueError) as e:
        raise ValueError(f"cannot encode {packet}: a field value does not fit its header "
                         f"field ({e}); ports, window and urgent pointer are 16 bits, "
                         f"seq/ack 32 bits, ttl 8 bits, ident 16 bits") from None
    if len(data) > 65535:
        raise ValueError(f"IPv4 total length {len(data)} exceeds 65535 bytes "
                         f"(RFC 791 total length is 16 bits); send a smaller payload")
    seg_bytes = data[20:]
    s = (_pseudo_sum(src4, dst4, len(seg_bytes)) + _ones_sum(seg_bytes)) % 0xFFFF
    ck = 0xFFFF - s if s else 0  # pseudo-header has PTCL=6, so the data is never all zero
    return data[:36] + ck.to_bytes(2, "big") + data[38:]


# ---------------------------------------------------------------------------------------
# Decode

_IP_HDR = struct.Struct("!BBHHHBBH4s4s")
_TCP_HDR = struct.Struct("!HHIIBBHHH")
_FLAGS = tuple(Flags(i) for i in range(256))  # IntFlag construction is slow; look it up
_TS_ONLY = b"\x01\x01\x08\x0a"  # NOP,NOP,Timestamp: every established Linux segment


def decode(data: bytes) -> Packet:
    """Parse and verify an IPv4/TCP datagram. Raises only `DecodeError` (reason in `REASONS`).

    Bytes after the IP total length (link-layer padding) are ignored. IP options are skipped;
    the TCP NS/AE bit and the ECN/DSCP byte are not represented in `Packet`.
    """
    if not isinstance(data, bytes):
        try:
            data = bytes(data)
        except Exception:  # noqa: BLE001 - "never raises anything but DecodeError"
            raise DecodeError(DropReason.TRUNCATED, f"not bytes: {type(data).__name__}") from None
    n = len(data)
    if n < 20:
        raise DecodeError(DropReason.TRUNCATED, f"{n} bytes, an IPv4 header needs 20")
    vihl, _tos, total, ident, ffrag, ttl, proto, _ck, src4, dst4 = _IP_HDR.unpack_from(data)
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
    if _ones_sum(data[:ihl]) != 0:
        raise DecodeError(DropReason.BAD_IP_CHECKSUM)
    if proto != 6:
        raise DecodeError(DropReason.NOT_TCP, f"IP protocol {proto}")
    if ffrag & 0x3FFF:  # MF set or a fragment offset: RFC 791 §3.2
        raise DecodeError(DropReason.IP_FRAGMENT, "simtcp does not reassemble IP fragments")
    seg = data[ihl:total]
    tlen = total - ihl
    if tlen < 20:
        raise DecodeError(DropReason.TRUNCATED, f"TCP header needs 20 bytes, {tlen} present")
    sport, dport, seq, ack, offres, flags, window, _tck, urgptr = _TCP_HDR.unpack_from(seg)
    doff = (offres >> 4) * 4
    if doff < 20 or doff > tlen:
        raise DecodeError(DropReason.BAD_TCP_DATA_OFFSET, f"data offset {doff // 4} words in a "
                                                 f"{tlen}-byte segment")
    if (_pseudo_sum(src4, dst4, tlen) + _ones_sum(seg)) % 0xFFFF != 0:
        raise DecodeError(DropReason.BAD_TCP_CHECKSUM)
    if doff == 20:
        options = NO_OPTIONS
    elif doff == 32 and seg[20:24] == _TS_ONLY:
        options = Options(ts=(int.from_bytes(seg[24:28], "big"),
                              int.from_bytes(seg[28:32], "big")))
    else:
        options = _parse_options(seg[20:doff])
    segment = Segment(sport, dport, Seq(seq), Seq(ack), _FLAGS[flags], window, options,
                      seg[doff:], urgptr)
    return Packet(socket.inet_ntoa(src4), socket.inet_ntoa(dst4), segment, ttl, ident,
                  bool(ffrag & 0x4000))


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


# ---------------------------------------------------------------------------------------
# scapy views, for labs and host.inject()

def to_scapy(data: bytes) -> IP:
    """scapy's dissection of the datagram: ``to_scapy(b).show()``, ``[TCP].options``…"""
    return IP(bytes(data))


def from_scapy(pkt: Union[_ScapyPacket, bytes, bytearray, memoryview],
               default_src: str = None) -> bytes:
    """Bytes of a user-crafted packet, as ``host.inject(IP(...)/TCP(...))`` needs.

    Raw bytes pass through unchanged (they may be deliberately broken: decode() judges them).
    A scapy packet must contain an IP layer with a TCP layer inside; an Ether() or other
    layer in front is stripped. Checksums left ``None`` are filled by scapy; set values (even
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
    if TCP not in ip:
        raise ValueError(f"{pkt.summary()!r} has no TCP layer: simtcp hosts speak TCP only, "
                         f"so add one: IP(...)/TCP(sport=40000, dport=80, flags='S', seq=0)")
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
    10.0.0.2:80 SA``, ``... PA / Raw``. Undecodable bytes say why; never raises."""
    try:
        p = decode(data)
    except DecodeError as e:
        return f"<{len(bytes(data))} bytes, not a valid IPv4/TCP datagram: {e}>"
    s = p.segment
    flags = "".join(c for i, c in enumerate(_SCAPY_FLAG_LETTERS) if int(s.flags) >> i & 1)
    text = f"IP / TCP {p.src}:{s.sport} > {p.dst}:{s.dport} {flags}"
    return text + " / Raw" if s.payload else text
