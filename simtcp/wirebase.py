"""What the wire codecs share: the decode error, address packing, the Internet checksum.

Theory of operation: `simtcp.wire` (IPv4) and the per-protocol codecs (`wire_tcp`,
`wire_udp`, `wire_icmp`) raise one `DecodeError` whose ``reason`` names the check that
failed. Checksums (RFC 1071): the one's-complement sum of 16-bit big-endian words equals the
big-endian integer of the data modulo 0xFFFF (2**16 ≡ 1 mod 0xFFFF), so one C-speed
`int.from_bytes` computes it. 0 then means "0x0000 or 0xFFFF" (the two zeros of one's
complement); callers that need the distinction check for all-zero data themselves.
"""
from __future__ import annotations

import socket

from .reasons import DropReason

__all__ = ["DecodeError", "ip4", "ones_sum", "internet_checksum", "pseudo_sum", "l4_checksum"]


class DecodeError(ValueError):
    """Bytes that are not a well-formed IPv4 datagram. ``reason`` is one of `wire.REASONS`
    (a `DropReason` member); ``detail`` is free text for people."""

    def __init__(self, reason: DropReason, detail: str = "") -> None:
        super().__init__(f"{reason.english}: {detail}" if detail else reason.english)
        self.reason = reason
        self.detail = detail


def ip4(addr: str, which: str) -> bytes:
    """The 4 bytes of a dotted quad. inet_pton accepts only a dotted quad; scapy would treat
    anything else as a host name and ask DNS — a simulator must never do that."""
    try:
        return socket.inet_pton(socket.AF_INET, addr)
    except (OSError, TypeError):
        raise ValueError(f"packet {which} {addr!r} is not an IPv4 address in dotted-quad form "
                         f"(e.g. '192.168.1.10')") from None


def ones_sum(data: bytes) -> int:
    """The one's-complement sum of ``data`` as 16-bit big-endian words, reduced mod 0xFFFF."""
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
    s = ones_sum(data)
    if s == 0:
        return 0x0000 if any(data) else 0xFFFF
    return 0xFFFF - s


def pseudo_sum(src4: bytes, dst4: bytes, proto: int, length: int) -> int:
    """The pseudo-header's sum: source, destination, zero, protocol, length (RFC 9293 §3.1
    for TCP, RFC 768 for UDP)."""
    return (int.from_bytes(src4 + dst4, "big") + proto + length) % 0xFFFF


def l4_checksum(src4: bytes, dst4: bytes, proto: int, header: bytes, payload: bytes = b"") -> int:
    """The TCP/UDP checksum of the segment ``header + payload`` (the header's checksum field
    zero, its length even, as TCP's and UDP's always are, so the two sums add up). The
    pseudo-header holds a non-zero protocol, so the summed data is never all zero and
    0xFFFF - sum is right; a result of 0 is 0 here — UDP sends it as 0xFFFF (RFC 768), the
    caller's business."""
    s = (pseudo_sum(src4, dst4, proto, len(header) + len(payload)) + ones_sum(header)
         + ones_sum(payload)) % 0xFFFF
    return 0xFFFF - s if s else 0
