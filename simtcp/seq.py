"""Sequence numbers: 32 bits on the wire, plain growing integers inside a connection.

Theory of operation: TCP sequence space is the integers modulo 2**32 (RFC 9293 §3.4). On the
wire every sequence number is 32 bits, and two of them are compared by the sign of their
32-bit difference, so 0x00000005 is "after" 0xFFFFFFF0 (RFC 1982 serial arithmetic; Linux
include/net/tcp.h: ``before(seq1, seq2)`` is ``(s32)(seq1 - seq2) < 0`` and ``after(a, b)``
is ``before(b, a)``).

Inside a connection simtcp does not compute modulo 2**32 at all. Every sequence number of
the TCB (SND.UNA, SND.NXT, RCV.NXT, the SACK scoreboard, the out-of-order queue, ...) is a
plain Python int in *unwrapped* form: it starts at the ISN (or IRS), a value below 2**32,
and keeps growing past 2**32 as data flows — as Wireshark's relative sequence numbers do,
or QUIC's packet numbers (RFC 9000 Appendix A.3). The TCP logic then reads like the RFC
text, with ordinary ``<``, ``+`` and ``-``.

A segment (`simtcp.segment.Segment`) carries its sequence numbers as plain ints too: the
32-bit header fields, exactly as decoded from or written to the wire. The connection
converts in exactly two places:

* output: a segment takes ``value & MASK`` (`wire`), where segments are built;
* input: each 32-bit field is unwrapped against the TCB value Linux compares it with
  (`unwrap`): SEG.SEQ against RCV.NXT, SEG.ACK and the SACK block edges against SND.UNA
  (SEG.SEQ and SEG.ACK once per arrival, in `Connection.receive`).
  The unwrapped value is the one nearest the reference, in [ref - 2**31, ref + 2**31).

Equivalence with Linux: for a field ``x`` unwrapped against ``ref`` to ``u``,
``u < ref`` exactly when ``before(x, ref)``, for every 32-bit ``x`` (at the distance of
exactly 2**31 both give "before"); ``u > ref`` exactly when ``after(x, ref)`` except at
that one distance, where Linux answers "after" too and simtcp does not (an answer that
depends on which side of the comparison is written first; simtcp takes "before", so such
a segment is always treated as old, never as new). Compared with another TCB value ``r``
within a window ``w`` of ``ref``, the answer is again Linux's whenever ``x`` lies within
2**31 - w of ``ref``; the connection checks a field against its reference first (RFC 9293
§3.10.7.4's order, as Linux's tcp_sequence() and tcp_ack() do), so a farther value is
refused before a second comparison could differ.

`Seq` is a value type for code that computes with 32-bit numbers on its own (tests,
listeners' quoted numbers, tools): an ``int`` subclass whose ``+``/``-`` wrap and whose
comparisons use the signed 32-bit difference. Segments do not use it: an int subclass with
Python-level operators costs a function call per value made and per operation, on every
segment. A `Seq` placed in a segment field still works (it is an int).
"""
from __future__ import annotations

MOD = 1 << 32
MASK = MOD - 1
HALF = 1 << 31
_MASK = MASK
_HALF = HALF
_sub = int.__sub__          # plain int arithmetic on Seq values (no recursion, no Seq())
_add = int.__add__


class Seq(int):
    """A 32-bit TCP sequence number: ``+``/``-`` wrap, comparisons use signed difference."""

    __slots__ = ()

    def __new__(cls, value: int = 0) -> "Seq":
        return int.__new__(cls, int(value) & _MASK)

    def __add__(self, other: int) -> "Seq":
        return int.__new__(Seq, _add(self, other) & _MASK)

    __radd__ = __add__

    def __sub__(self, other: int):
        """``seq - seq`` → signed distance (int); ``seq - int`` → Seq."""
        if isinstance(other, Seq):
            d = _sub(self, other) & _MASK
            return d - MOD if d >= _HALF else d
        return int.__new__(Seq, _sub(self, other) & _MASK)

    def diff(self, other: int) -> int:
        """Signed distance ``self - other`` in sequence space."""
        d = _sub(self, other) & _MASK
        return d - MOD if d >= _HALF else d

    # Comparisons inline the signed-difference test: d = (self - other) mod 2**32 is
    # "negative" when d >= 2**31.
    def __lt__(self, other: int) -> bool:  # type: ignore[override]
        return (_sub(self, other) & _MASK) >= _HALF

    def __le__(self, other: int) -> bool:  # type: ignore[override]
        d = _sub(self, other) & _MASK
        return d == 0 or d >= _HALF

    def __gt__(self, other: int) -> bool:  # type: ignore[override]
        return 0 < (_sub(self, other) & _MASK) < _HALF

    def __ge__(self, other: int) -> bool:  # type: ignore[override]
        return (_sub(self, other) & _MASK) < _HALF

    def __eq__(self, other: object) -> bool:
        return isinstance(other, int) and _sub(self, other) & _MASK == 0

    def __ne__(self, other: object) -> bool:
        return not isinstance(other, int) or _sub(self, other) & _MASK != 0

    __hash__ = int.__hash__

    def __repr__(self) -> str:
        return f"Seq({int(self)})"

    def between(self, low: int, high: int) -> bool:
        """``low <= self < high`` in sequence space (an empty range when low == high)."""
        return 0 <= self.diff(low) < Seq(high).diff(low)


# the header field of a segment that carries no ACK (kept for code that imports it)
SEQ_ZERO = 0


def wire(value: int) -> int:
    """A connection's (unwrapped) sequence number as the 32-bit header field."""
    return value & _MASK


def unwrap(field: int, ref: int) -> int:
    """The unwrapped sequence number nearest ``ref`` (a TCB value) whose low 32 bits are
    ``field`` (a header field): in [ref - 2**31, ref + 2**31). See the module docstring for
    how comparisons with it match Linux's before()/after()."""
    return ref + ((int(field) - ref + _HALF) & _MASK) - _HALF


def before(seq1: int, seq2: int) -> bool:
    """Linux before() for 32-bit (or unwrapped) values: ``(s32)(seq1 - seq2) < 0``."""
    return (seq1 - seq2) & _MASK >= _HALF


def after(seq2: int, seq1: int) -> bool:
    """Linux after(seq2, seq1): before(seq1, seq2)."""
    return (seq1 - seq2) & _MASK >= _HALF


def seq_max(a: Seq, b: Seq) -> Seq:
    """The later of two wire sequence numbers (RFC 1982)."""
    return a if a.diff(b) >= 0 else b


def seq_min(a: Seq, b: Seq) -> Seq:
    """The earlier of two wire sequence numbers (RFC 1982)."""
    return a if a.diff(b) <= 0 else b
