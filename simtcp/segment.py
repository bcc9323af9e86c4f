"""Value types of TCP: flags, options, segments, 4-tuples (IP packets: simtcp.packet).

Theory of operation: the TCP core (`tcp.py`) and the stack (`stack.py`) speak `Segment`
(the TCP header + payload) and `Packet` (a Segment inside an IPv4 header). They are
immutable named tuples (cheap to create: one is made per segment), so a segment, once sent,
can be put in a trace and drawn later without fear that someone changed it. Bytes exist only in `wire.py` (scapy). `FourTuple` is the key of
the demultiplexing tables (RFC 9293 §3.3.1: a connection is identified by the socket pair).

The compact notation (tcpdump / packetdrill style) reads and writes segments in tests and
logs::

    S 0:0(0) win 64240 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>
    S. 0:0(0) ack 1 win 65160 <mss 1460>
    P. 1:6(5) ack 1 win 502
    R 1000:1000(0)

Flags letters are tcpdump's: S SYN, F FIN, R RST, P PSH, U URG, E ECE, W CWR and "." ACK.
"""
from __future__ import annotations

import enum
import re
from typing import NamedTuple, Optional, Tuple

from .seq import MASK


class Flags(enum.IntFlag):
    """TCP control bits (RFC 9293 §3.1, RFC 3168 for ECE/CWR)."""

    FIN = 0x01
    SYN = 0x02
    RST = 0x04
    PSH = 0x08
    ACK = 0x10
    URG = 0x20
    ECE = 0x40
    CWR = 0x80

    @property
    def names(self) -> str:
        """Textbook label: ``SYN,ACK``, ``FIN,ACK``, ``ACK`` …"""
        order = ("SYN", "FIN", "RST", "PSH", "URG", "ECE", "CWR", "ACK")
        return ",".join(n for n in order if self & Flags[n]) or "none"

    @property
    def letters(self) -> str:
        """tcpdump style: ``S``, ``S.``, ``P.``, ``F.``, ``R`` (``.`` is ACK)."""
        s = "".join(c for c, f in (("S", Flags.SYN), ("F", Flags.FIN), ("R", Flags.RST),
                                    ("P", Flags.PSH), ("U", Flags.URG), ("E", Flags.ECE),
                                    ("W", Flags.CWR)) if self & f)
        return s + "." if self & Flags.ACK else (s or "none")


FLAG_VALUES = tuple(Flags(i) for i in range(256))   # Flags(i) without enum's slow call

_LETTER_FLAGS = {"S": Flags.SYN, "F": Flags.FIN, "R": Flags.RST, "P": Flags.PSH,
                 "U": Flags.URG, "E": Flags.ECE, "W": Flags.CWR, ".": Flags.ACK}


class Options(NamedTuple):
    """TCP options a segment carries (RFC 9293 §3.2, RFC 7323, RFC 2018).

    ``ts`` is ``(TSval, TSecr)``; ``sack`` holds SACK blocks as ``(left, right)`` pairs.
    ``extra`` keeps options simtcp does not interpret, as (kind, value) pairs from scapy.
    """

    mss: Optional[int] = None
    wscale: Optional[int] = None
    sack_perm: bool = False
    ts: Optional[Tuple[int, int]] = None
    sack: Tuple[Tuple[int, int], ...] = ()
    extra: Tuple[Tuple[object, object], ...] = ()

    def __bool__(self) -> bool:
        return bool(self.mss is not None or self.wscale is not None or self.sack_perm
                    or self.ts is not None or self.sack or self.extra)

    def known_length(self) -> int:
        """Bytes the options simtcp interprets take in Linux's layout (tcp_options_write()):
        MSS 4; SACK-permitted + TS 12, or NOP,NOP,TS 12, or NOP,NOP,SACK-permitted 4;
        NOP,WScale 4; NOP,NOP + 8 per SACK block. Always a multiple of 4."""
        n = 4 if self.mss is not None else 0
        if self.ts is not None:
            n += 12
        elif self.sack_perm:
            n += 4
        if self.wscale is not None:
            n += 4
        if self.sack:
            n += 4 + 8 * len(self.sack)
        return n

    def _parts(self, textbook: bool) -> list:
        parts = []
        if self.mss is not None:
            parts.append(f"mss {self.mss}")
        if self.sack_perm:
            parts.append("sackOK")
        if self.ts is not None:
            parts.append("ts" if textbook else f"TS val {self.ts[0]} ecr {self.ts[1]}")
        if self.wscale is not None:
            parts.append(f"wscale {self.wscale}" if textbook else f"nop,wscale {self.wscale}")
        if self.sack:
            sep = "-" if textbook else ":"
            parts.append("sack " + " ".join(f"{l}{sep}{r}" for l, r in self.sack))
        if not textbook:
            parts.extend(f"{k} {v}" for k, v in self.extra)
        return parts

    def __str__(self) -> str:
        """tcpdump's option list: ``mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7``."""
        return ",".join(self._parts(textbook=False))

    def short(self) -> str:
        """Textbook label: ``mss 1460,sackOK,ts,wscale 7``."""
        return ",".join(self._parts(textbook=True))


NO_OPTIONS = Options()


class Segment(NamedTuple):
    """A TCP segment: header fields + payload, as on the wire. ``seq`` and ``ack`` are the
    32-bit header fields as plain ints (a connection unwraps them: simtcp.seq); ``window``
    is the raw 16-bit header field."""

    sport: int
    dport: int
    seq: int
    ack: int = 0
    flags: Flags = Flags(0)
    window: int = 0
    options: Options = NO_OPTIONS
    payload: bytes = b""
    urgptr: int = 0

    @property
    def seg_len(self) -> int:
        """SEG.LEN of RFC 9293 §3.4: payload plus one for SYN and one for FIN."""
        f = int(self.flags)
        return len(self.payload) + (f & 2) // 2 + (f & 1)    # SYN = 0x02, FIN = 0x01

    def __repr__(self) -> str:
        # sequence fields read Seq(n), the form traces have always shown for them
        return (f"Segment(sport={self.sport!r}, dport={self.dport!r}, seq=Seq({int(self.seq)}), "
                f"ack=Seq({int(self.ack)}), flags={self.flags!r}, window={self.window!r}, "
                f"options={self.options!r}, payload={self.payload!r}, urgptr={self.urgptr!r})")

    def __str__(self) -> str:
        s = int(self.seq)
        n = len(self.payload)
        text = f"{self.flags.letters} {s}:{(s + n) & MASK}({n})"
        if self.flags & Flags.ACK:
            text += f" ack {int(self.ack)}"
        text += f" win {self.window}"
        if self.options:
            text += f" <{self.options}>"
        return text

    def replace(self, **changes) -> "Segment":
        """A copy with some fields changed (segments are immutable)."""
        return self._replace(**changes)

    @classmethod
    def parse(cls, text: str, sport: int = 0, dport: int = 0) -> "Segment":
        """Read the compact notation (see module doc). Payload is ``len`` bytes of ``x``."""
        m = _NOTATION.fullmatch(text.strip())
        if not m:
            raise ValueError(f"not a segment in compact notation: {text!r} "
                             "(expected e.g. 'S 0:0(0) win 65535 <mss 1460>')")
        flags = Flags(0)
        for c in m["flags"]:
            flags |= _LETTER_FLAGS[c]
        start, length = int(m["start"]), int(m["len"])
        if m["end"] is not None and (int(m["end"]) - start) % (1 << 32) != length:
            raise ValueError(f"{text!r}: end - start must equal the length in parentheses")
        ack = int(m["ack"]) if m["ack"] else 0
        if m["ack"]:
            flags |= Flags.ACK
        options = _parse_options(m["opts"]) if m["opts"] else NO_OPTIONS
        return cls(sport, dport, start & MASK, ack & MASK, flags, int(m["win"] or 0), options,
                   b"x" * length)


_NOTATION = re.compile(
    r"(?P<flags>[SFRPUEW.]+)\s+(?P<start>\d+)(?::(?P<end>\d+))?\((?P<len>\d+)\)"
    r"(?:\s+ack\s+(?P<ack>\d+))?(?:\s+win\s+(?P<win>\d+))?(?:\s+<(?P<opts>[^>]*)>)?")


def _parse_options(text: str) -> Options:
    kw: dict = {}
    for item in (p.strip() for p in text.split(",")):
        words = item.split()
        if not words or words[0] in ("nop", "eol"):
            continue
        name = words[0]
        if name == "mss":
            kw["mss"] = int(words[1])
        elif name == "wscale":
            kw["wscale"] = int(words[1])
        elif name == "sackOK":
            kw["sack_perm"] = True
        elif name == "TS":  # TS val N ecr M
            kw["ts"] = (int(words[2]), int(words[4]))
        elif name == "sack":
            kw["sack"] = tuple(tuple(int(x) for x in b.split(":")) for b in words[1:])
        else:
            raise ValueError(f"unknown TCP option {item!r} (known: mss, wscale, sackOK, "
                             "TS val N ecr M, sack L:R, nop)")
    return Options(**kw)


class FourTuple(NamedTuple):
    """A connection's identity from one endpoint's point of view (RFC 9293 §3.3.1)."""

    local_ip: str
    local_port: int
    remote_ip: str
    remote_port: int

    def __str__(self) -> str:
        return f"{self.local_ip}:{self.local_port} <-> {self.remote_ip}:{self.remote_port}"

    def reversed(self) -> "FourTuple":
        return FourTuple(self.remote_ip, self.remote_port, self.local_ip, self.local_port)


def __getattr__(name: str):
    """``from simtcp.segment import Packet`` keeps working: the IPv4 packet moved to
    `simtcp.packet` (it carries UDP and ICMP too), which imports this module."""
    if name == "Packet":
        from .packet import Packet
        return Packet
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
