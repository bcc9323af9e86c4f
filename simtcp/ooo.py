"""The receiver's out-of-order queue: data that arrived beyond a hole, kept as merged ranges.

Theory of operation: RFC 9293 §3.10.7.4 lets a receiver keep segments that arrive out of
order. A careless queue that stores every segment whole is an attack surface — a peer that
sends thousands of overlapping segments makes it hold megabytes for a few kilobytes of data,
and inserting into a sorted list of segments grows quadratically. Linux keeps the queue in a
red-black tree keyed by sequence number, coalesces adjacent buffers and trims overlaps
(tcp_data_queue_ofo(), net/ipv4/tcp_input.c). Here the queue is a sorted list of
non-overlapping, non-adjacent ranges ``[start, bytearray]``: a new segment is located by
binary search (``bisect``, O(log n)), merged with every range it touches, and only the bytes
not held yet are added. Memory is therefore bounded by the unique bytes, which the window
check before it bounds by the receive buffer.

Like Linux, each range is charged its bytes plus the per-buffer overhead of an skb
(`RANGE_OVERHEAD`, SKB_TRUESIZE() on x86-64), so a flood of tiny disjoint segments cannot
create unbounded bookkeeping either: when the charge exceeds the room left in the receive
buffer, `prune` drops ranges from the highest sequence numbers first, as
tcp_prune_ofo_queue() does ("drop the most recently received, furthest out data"). Data
the receiver pruned after reporting it in SACK blocks is reneging (RFC 2018 §8); the sender
copes with it.

SACK blocks are reported most recent first (RFC 2018 §4: "the first SACK block MUST specify
the contiguous block of data containing the segment which triggered this ACK"); Linux keeps
tp->selective_acks in that order (tcp_sack_new_ofo_skb() moves the block a segment joined,
or a new one, to the front). Each range carries the tick of the last segment that added
bytes to it, and `blocks` lists the ranges newest first.

Sequence numbers are the connection's unwrapped ones (simtcp.seq): plain ints that keep
growing past 2**32, so ranges sort and compare as ordinary integers.
"""
from __future__ import annotations

from bisect import bisect_right
from operator import itemgetter
from typing import List, Tuple

# SKB_TRUESIZE(0) on x86-64: SKB_DATA_ALIGN(sizeof(struct sk_buff)) = 256 plus
# SKB_DATA_ALIGN(sizeof(struct skb_shared_info)) = 320 (include/linux/skbuff.h)
RANGE_OVERHEAD = 576
_start = itemgetter(0)      # a range's first sequence number (the sort key)


class OutOfOrderQueue:
    """Out-of-order data as sorted, merged ranges (see module docstring)."""

    __slots__ = ("_ranges", "nbytes", "_tick")

    def __init__(self) -> None:
        self._ranges: List[list] = []       # [start, bytearray, tick], ascending, disjoint
        self.nbytes = 0
        self._tick = 0                      # counts segments that added bytes (SACK order)

    def __bool__(self) -> bool:
        return bool(self._ranges)

    def __len__(self) -> int:
        """Number of ranges (holes + 1 at most)."""
        return len(self._ranges)

    @property
    def charge(self) -> int:
        """Bytes charged against the receive buffer: the data, plus the per-buffer overhead
        for every range beyond the first (simtcp offers the whole buffer as window, where
        Linux keeps part of it back for overhead, tcp_adv_win_scale; one range therefore
        rides free, so ordinary loss never prunes)."""
        return self.nbytes + RANGE_OVERHEAD * max(len(self._ranges) - 1, 0)

    def insert(self, start: int, data: bytes) -> int:
        """Queue ``data`` at ``start`` (beyond RCV.NXT); returns how many bytes were new."""
        if not data:
            return 0
        ranges = self._ranges
        lo = start
        hi = lo + len(data)
        # the first range that could touch [lo, hi]: the last one starting at or before lo
        i = bisect_right(ranges, lo, key=_start) - 1
        if i < 0 or ranges[i][0] + len(ranges[i][1]) < lo:
            i += 1
        j = i
        while j < len(ranges) and ranges[j][0] <= hi:
            j += 1
        self._tick += 1
        if i == j:                                        # touches nothing: a new range
            ranges.insert(i, [start, bytearray(data), self._tick])
            self.nbytes += len(data)
            return len(data)
        first_lo = ranges[i][0]
        last = ranges[j - 1]
        last_hi = last[0] + len(last[1])
        if i + 1 == j and first_lo <= lo and hi <= last_hi:
            return 0                                      # all of it is held already
        if i + 1 == j and first_lo <= lo:                 # extends one range at its end
            buf = ranges[i][1]
            ranges[i][2] = self._tick
            added = hi - last_hi
            buf += data[len(data) - added:]
            self.nbytes += added
            return added
        # general case: rebuild the merged span from the old ranges and the new bytes
        new_lo, new_hi = min(lo, first_lo), max(hi, last_hi)
        merged = bytearray(new_hi - new_lo)
        merged[lo - new_lo:hi - new_lo] = data
        old = 0
        for r_start, buf, _tick in ranges[i:j]:
            off = r_start - new_lo
            merged[off:off + len(buf)] = buf                 # what we hold wins (Linux
            old += len(buf)                                  # keeps the queued skb)
        ranges[i:j] = [[new_lo, merged, self._tick]]
        self.nbytes += len(merged) - old
        return len(merged) - old

    def take_in_order(self, rcv_nxt: int) -> bytes:
        """Remove and return the bytes that now continue ``rcv_nxt``, dropping anything
        wholly below it."""
        ranges = self._ranges
        out = b""
        while ranges:
            start, buf, _tick = ranges[0]
            off = rcv_nxt - start
            if off < 0:
                break
            del ranges[0]
            self.nbytes -= len(buf)
            if off < len(buf):
                out = bytes(buf[off:])
                break
        return out

    def blocks(self, limit: int) -> Tuple[Tuple[int, int], ...]:
        """The first ``limit`` ranges (left edge, right edge), by sequence number."""
        return tuple((s, s + len(b)) for s, b, _tick in self._ranges[:limit])

    def sack_blocks(self, limit: int) -> Tuple[Tuple[int, int], ...]:
        """The ``limit`` most recently extended ranges as SACK blocks, newest first (RFC
        2018 §4; Linux tcp_sack_new_ofo_skb())."""
        newest = sorted(self._ranges, key=lambda r: -r[2])[:limit]
        return tuple((s, s + len(b)) for s, b, _tick in newest)

    def last_range(self) -> Tuple[int, int]:
        """The highest range: (start, bytes)."""
        start, buf, _tick = self._ranges[-1]
        return start, len(buf)

    def pop_last(self) -> None:
        """Drop the highest range (tcp_prune_ofo_queue() frees from the far end)."""
        self.nbytes -= len(self._ranges.pop()[1])

    def prune(self, room: int) -> int:
        """Drop data from the highest sequence numbers until the charge fits in ``room``
        (Linux tcp_prune_ofo_queue()); returns the number of bytes dropped."""
        dropped = 0
        ranges = self._ranges
        while ranges and self.charge > room:
            buf = ranges[-1][1]
            excess = self.charge - room
            if len(ranges) > 1 or excess >= len(buf):
                ranges.pop()
                self.nbytes -= len(buf)
                dropped += len(buf)
            else:
                del buf[len(buf) - excess:]
                self.nbytes -= excess
                dropped += excess
        return dropped
