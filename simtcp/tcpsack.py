"""The sender's SACK scoreboard: what the receiver reported holding, and what that means for
sending and recovery.

Theory of operation: the peer's SACK blocks (RFC 2018) arrive as 32-bit edges; `_note_sack`
unwraps them against SND.UNA and merges them into ``sacked``, a sorted list of disjoint
(start, end) ranges above SND.UNA (Linux marks the same per skb in
tcp_sacktag_write_queue()). The sender reads it to skip what the receiver holds (`_sack_clip`; RFC 6675's
NextSeg()), to size the segment recovery resends first (`_head_hole`), to notice a receiver
that reneged on what it reported (`_head_sacked`, `_check_sack_reneging`; RFC 2018 §8) and
to recognise a D-SACK, a first block that reports a duplicate (`_check_dsack`; RFC 2883 §4),
which RACK uses to widen its reordering window (`recovery.Rack.dsack`).

`SackScoreboard` is a mixin of `tcp.Connection` through `tcpsend.Sender`; it uses the
connection's TCB fields.
"""
from __future__ import annotations

from typing import List, Tuple

from .reasons import EventKind
from .seq import unwrap


class SackScoreboard:
    """The SACK scoreboard of `tcp.Connection` (see the module docstring)."""

    __slots__ = ()

    def _sack_clip(self, size: int):
        """(end of the SACKed block SND.NXT sits in, or None; size cut at the next block)."""
        nxt = self.snd_nxt
        for start, end in self.sacked:
            if start <= nxt < end:
                return end, 0
            gap = start - nxt
            if 0 < gap < size:
                size = gap
        return None, size

    def _note_sack(self, blocks) -> None:
        """Merge the peer's SACK blocks into the scoreboard (RFC 2018 §4). Their edges are
        32-bit: unwrapped against SND.UNA (Linux tcp_is_sackblock_valid() compares them
        with snd_una and snd_nxt)."""
        una, top = self.snd_una, self.snd_max
        ranges = [(s, e) for s, e in self.sacked if e > una]
        for left, right in blocks:
            left, right = unwrap(left, una), unwrap(right, una)
            if una < right <= top and left < right:
                ranges.append((left if left > una else una, right))
        ranges.sort()
        merged: List[Tuple[int, int]] = []
        for start, end in ranges:
            if merged and start <= merged[-1][1]:
                if end > merged[-1][1]:
                    merged[-1] = (merged[-1][0], end)
            else:
                merged.append((start, end))
        self.sacked = merged or ()        # no list kept while nothing is SACKed

    def _head_sacked(self) -> bool:
        """Is the byte at SND.UNA marked SACKed? The cumulative ACK stopped at data the
        receiver had reported holding: it reneged (RFC 2018 §8)."""
        return bool(self.sacked) and self.sacked[0][0] <= self.snd_una

    def _check_sack_reneging(self, now: float) -> None:
        """Linux tcp_check_sack_reneging(): SND.UNA advanced onto a SACKed block. Give the
        receiver max(SRTT/2, 10 ms) to send ACKs that restore sanity, then let the
        retransmission timer fire (which forgets the SACK marks, `_on_rto`)."""
        if not self._head_sacked():
            return
        delay = max((self.srtt or 0.0) / 2, 0.010)
        self.timers["rto"] = now + delay
        self._event(EventKind.SACK_RENEGING, "", "Linux tcp_check_sack_reneging()",
                    (("delay", delay),))

    def _check_dsack(self, blocks, ack: int) -> None:
        """tcp_check_dsack(): a first SACK block below the cumulative ACK, or inside the
        second block, reports a duplicate (RFC 2883 §4); `recovery.Rack.dsack` judges it.
        The 32-bit edges are unwrapped against SND.UNA (seq.py)."""
        una = self.snd_una
        left, right = unwrap(blocks[0][0], una), unwrap(blocks[0][1], una)
        if not left < ack:
            if len(blocks) < 2:
                return
            left2, right2 = unwrap(blocks[1][0], una), unwrap(blocks[1][1], una)
            if right > right2 or left < left2:
                return
        self.rack.dsack(left, right, self.eff_mss, self.max_window, self.tlp_high_seq,
                        self.total_retrans)

    def _head_hole(self) -> int:
        """Bytes from SND.UNA to the first SACKed block (at most one segment): the segment
        recovery marks lost and resends."""
        size = min(self.eff_mss, max(self.snd_max - self.snd_una, 0))
        for start, _end in self.sacked:
            gap = start - self.snd_una
            if 0 < gap < size:
                size = gap
        return size
