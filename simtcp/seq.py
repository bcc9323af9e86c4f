"""Sequence numbers as a value type (RFC 9293 §3.4).

Theory of operation: TCP sequence space is the integers modulo 2**32. Two sequence numbers
are compared by the sign of their 32-bit difference, so 0x00000005 is "after" 0xFFFFFFF0 —
this is the comparison every RFC 9293 acceptability test uses (RFC 1982 serial arithmetic).
`Seq` is an ``int`` subclass so it travels in headers unchanged, but its ordering operators
and arithmetic are those of sequence space. Never compare raw ints for sequence space.
"""
from __future__ import annotations

MOD = 1 << 32
_MASK = MOD - 1
_HALF = 1 << 31
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

    # Comparisons inline the signed-difference test (they are on every segment's hot path):
    # d = (self - other) mod 2**32 is "negative" when d >= 2**31.
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


# Seq values are immutable, so one zero serves every TCB field that starts at 0 (a Seq is
# an object the garbage collector tracks: making one costs far more than an int)
SEQ_ZERO = Seq(0)


def seq_max(a: Seq, b: Seq) -> Seq:
    return a if a.diff(b) >= 0 else b


def seq_min(a: Seq, b: Seq) -> Seq:
    return a if a.diff(b) <= 0 else b
