"""Receive-buffer memory and the window it allows, as Linux accounts for them.

Theory of operation: Linux does not offer the free bytes of its receive buffer as the
window. Every segment is held in an skb whose *truesize* (payload, headers, the allocator's
rounding, struct sk_buff and skb_shared_info) is charged to ``sk_rmem_alloc`` against the
buffer ``sk_rcvbuf``; the window is the part of the buffer that payload can fill, found by
``tcp_win_from_space()`` (include/net/tcp.h): ``space * scaling_ratio / 256``, where
``scaling_ratio`` starts at 50 % (TCP_DEFAULT_SCALING_RATIO) and is re-measured as
payload/truesize whenever a larger full segment arrives (tcp_measure_rcv_mss(),
net/ipv4/tcp_input.c; kernels before 6.6 used the fixed ``tcp_adv_win_scale`` instead).

`RcvBuf` is one connection's receive memory: ``rcvbuf`` (sk_rcvbuf: tcp_rmem[1], or twice
SO_RCVBUF, which locks it), ``rmem`` (sk_rmem_alloc), ``ratio``, ``window_clamp`` (the
largest window ever offered) and the skbs queued in order and out of order. The two windows
the memory allows, ``space_left`` (tcp_space()) and ``full_space`` (tcp_full_space()), are
asked for every segment sent but change only with the memory: they are kept as values,
recomputed whenever ``rcvbuf``, ``ratio`` (setters) or ``rmem`` (`charge`, `discard`: its
only writers) changes. Its methods are the kernel's arithmetic: `win_from_space`,
`skb_alloc` (the skb a driver that copies each frame into a linear
buffer allocates — tun_get_user() -> tun_alloc_skb() does, which is what the conformance
suite's kernel receives through), `queue` (tcp_queue_rcv(): a segment is copied into the
tailroom of the queue's last skb when it fits, tcp_try_coalesce(), and costs nothing more),
`consume` (an skb is freed once read to its end, tcp_eat_recv_skb()), and the
Dynamic Right-Sizing of the buffer (`rcvbuf_grow`, tcp_rcvbuf_grow(); `rtt_update`,
tcp_rcv_rtt_update()). The TCP receiver (`simtcp.tcpwindow`) decides when to call them.

The arithmetic is Linux 6.18's (checked against it by tests/packetdrill/rcvwin-*.pkt); a
profile of a kernel before 6.6 differs only in tcp_win_from_space() (tcp_adv_win_scale,
no scaling_ratio) — its older DRS formula (per-segment memory estimate) is not modelled.
The truesize is that of a driver copying frames into linear buffers (TUN, as in the
conformance suite); NIC drivers with page fragments or loopback's shared skbs differ.
"""
from __future__ import annotations

from collections import deque
from functools import lru_cache
from operator import itemgetter
from typing import Deque, Optional, Sequence, Tuple


TCP_RMEM_TO_WIN_SCALE = 8            # include/net/tcp.h
TCP_DEFAULT_SCALING_RATIO = 1 << (TCP_RMEM_TO_WIN_SCALE - 1)   # 50 % until measured
NET_SKB_PAD = 64                     # max(32, L1_CACHE_BYTES): headroom of a received skb
SHINFO_SIZE = 320                    # SKB_DATA_ALIGN(sizeof(struct skb_shared_info)), x86-64
SKB_SIZE = 256                       # SKB_DATA_ALIGN(sizeof(struct sk_buff)), x86-64
SMALL_HEAD_SIZE = 576                # SKB_SMALL_HEAD_CACHE_SIZE (net/core/skbuff.c)
SOCK_MIN_RCVBUF = 2304               # 2048 + ALIGN(sizeof(struct sk_buff), 1) (include/net/sock.h)
TCP_INIT_CWND = 10                   # include/net/tcp.h
PAGE_SIZE = 4096                     # the unit of sk_forward_alloc
_start = itemgetter(0)               # an out-of-order skb's first sequence number (sort key)


def alloc_skb(size: int) -> Tuple[int, int]:
    """(truesize, usable bytes) of alloc_skb(size): __alloc_skb() asks kmalloc_reserve()
    for the size, cache-aligned, plus skb_shared_info; heads up to SKB_SMALL_HEAD_CACHE_SIZE
    come from their own cache, larger ones are rounded up to a kmalloc size
    (kmalloc_size_roundup(): 1024, 2048, 4096, then powers of two); truesize =
    SKB_TRUESIZE(usable size)."""
    head = -(-size // 64) * 64 + SHINFO_SIZE
    if head <= SMALL_HEAD_SIZE:
        total = SMALL_HEAD_SIZE
    else:
        total = max(1024, 1 << (head - 1).bit_length())
    return total + SKB_SIZE, total - SHINFO_SIZE


# asked twice for every segment received (for room, then when it is queued), and a flow's
# segments come in few sizes: computed once per size
@lru_cache(maxsize=256)
def skb_alloc(ip_len: int) -> Tuple[int, int]:
    """(truesize, tailroom) of the linear skb a driver that copies each frame allocates for
    a received IP packet of ``ip_len`` bytes: NET_SKB_PAD of headroom, then the packet
    (tun_get_user() -> tun_alloc_skb()). Measured on Linux 6.18 over TUN: 1040 bytes ->
    2304, 640 -> 1280, 140 -> 832."""
    truesize, usable = alloc_skb(NET_SKB_PAD + ip_len)
    return truesize, usable - NET_SKB_PAD - ip_len


class RcvBuf:
    """One connection's receive memory (see the module docstring)."""

    __slots__ = ("_rcvbuf", "locked", "rmem", "_ratio", "adv_win_scale", "window_clamp",
                 "skbs", "ooo_skbs", "space", "space_seq", "space_time", "rtt_us",
                 "rtt_seq", "rtt_time", "rtt_last_tsecr", "mstamp", "nomem",
                 "last_seg_size", "fwd", "fast", "full_space", "space_left")

    def __init__(self, rcvbuf: int, locked: bool, adv_win_scale: Optional[int]) -> None:
        self.locked = locked                 # SOCK_RCVBUF_LOCK (SO_RCVBUF was set)
        self.rmem = 0                        # sk_rmem_alloc: truesize of every queued skb
        self.fwd = 0                         # sk_forward_alloc: memory reserved, in pages
        self.fast = False                    # tp->pred_flags set: header prediction on
        self._ratio = TCP_DEFAULT_SCALING_RATIO   # tp->scaling_ratio (`ratio`)
        self.adv_win_scale = adv_win_scale   # kernels before 6.6: tcp_adv_win_scale
        self._rcvbuf = rcvbuf                # sk_rcvbuf (`rcvbuf`)
        # the windows it allows (see `rcvbuf`'s setter): nothing is allocated yet, the whole
        # buffer is free
        self.full_space = self.space_left = self.win_from_space(rcvbuf)
        self.window_clamp = 0                # tp->window_clamp (set by the handshake)
        # in-order skbs: [end, truesize, tailroom] (the deque is made when the first one
        # is queued: most connections of a big run never receive data, and an empty deque
        # costs 600 bytes); out-of-order: [start, end, truesize, tailroom], ascending (an
        # empty tuple until the first one arrives)
        self.skbs: Optional[Deque[list]] = None
        self.ooo_skbs: Sequence[list] = ()
        # DRS (tcp_rcv_space_adjust): bytes read per RTT, and since when
        self.space = 0                       # tp->rcvq_space.space
        self.space_seq: Optional[int] = None  # tp->rcvq_space.seq (copied_seq then)
        self.space_time = 0.0                # tp->rcvq_space.time
        self.rtt_us = 0                      # tp->rcv_rtt_est.rtt_us (x8, as Linux keeps it)
        self.rtt_seq: Optional[int] = None   # tp->rcv_rtt_est.seq
        self.rtt_time: Optional[float] = None   # tp->rcv_rtt_est.time (None: not started)
        self.rtt_last_tsecr = 0              # tp->rcv_rtt_last_tsecr
        self.mstamp = 0.0                    # tp->tcp_mstamp: when the socket last ran
        self.nomem = False                   # ICSK_ACK_NOMEM: a segment found no memory
        self.last_seg_size = 0               # icsk_ack.last_seg_size (tcp_measure_rcv_mss())

    # ------------------------------------------------------------- arithmetic
    def win_from_space(self, space: int) -> int:
        """tcp_win_from_space(): the part of ``space`` bytes of memory payload can fill."""
        scale = self.adv_win_scale
        if scale is None:                    # 6.6+: (space * scaling_ratio) >> 8
            return (space * self._ratio) >> TCP_RMEM_TO_WIN_SCALE
        return space >> -scale if scale <= 0 else space - (space >> scale)

    def space_from_win(self, win: int) -> int:
        """tcp_space_from_win(): the memory a window of ``win`` bytes needs."""
        scale = self.adv_win_scale
        if scale is None:
            return (win << TCP_RMEM_TO_WIN_SCALE) // self._ratio
        return win << -scale if scale <= 0 else (win << scale) // ((1 << scale) - 1)

    @property
    def rcvbuf(self) -> int:
        """sk_rcvbuf: the memory the receive queues may hold."""
        return self._rcvbuf

    @rcvbuf.setter
    def rcvbuf(self, size: int) -> None:
        self._rcvbuf = size
        self._rescale()

    @property
    def ratio(self) -> int:
        """tp->scaling_ratio: payload per 256 bytes of truesize, as last measured."""
        return self._ratio

    @ratio.setter
    def ratio(self, ratio: int) -> None:
        self._ratio = ratio
        self._rescale()

    def _rescale(self) -> None:
        """``full_space`` = tcp_full_space(): the window the whole buffer allows."""
        self.full_space = self.win_from_space(self._rcvbuf)
        self._free_changed()

    def _free_changed(self) -> None:
        """``space_left`` = tcp_space(): the window the free memory allows (negative when
        overcommitted)."""
        self.space_left = self.win_from_space(self._rcvbuf - self.rmem)

    # ---------------------------------------------------------------- accounting
    def charge(self, size: int) -> None:
        """skb_set_owner_r() / sock_rfree(): ``size`` bytes of truesize join (or, negative,
        leave) sk_rmem_alloc and are taken from (given back to) sk_forward_alloc; whole
        pages left over go back to the system (sk_mem_uncharge() -> sk_mem_reclaim())."""
        self.rmem += size
        self.fwd -= size
        if size < 0 and self.fwd >= PAGE_SIZE:
            self.fwd %= PAGE_SIZE
        self._free_changed()

    def schedule(self, size: int) -> None:
        """sk_rmem_schedule(): reserve whole pages for ``size`` bytes beyond what is
        reserved already (__sk_mem_schedule(); the global tcp_mem limits are not
        modelled: memory is never short)."""
        delta = size - self.fwd
        if delta > 0:
            self.fwd += -(-delta // PAGE_SIZE) * PAGE_SIZE

    # ---------------------------------------------------------------- queueing
    def queue(self, end: int, length: int, ip_len: int) -> int:
        """tcp_queue_rcv(): ``length`` in-order payload bytes ending at ``end`` arrived in
        an IP packet of ``ip_len`` bytes. tcp_try_coalesce() copies them into the tailroom
        of the queue's last skb when they fit (skb_try_coalesce(): no new memory);
        otherwise the skb is queued and charged (skb_set_owner_r()). Returns the truesize
        of the skb that carried them (for tcp_grow_window())."""
        truesize, tailroom = skb_alloc(ip_len)
        skbs = self.skbs
        if skbs is None:
            skbs = self.skbs = deque()
        if skbs and length <= skbs[-1][2]:
            tail = skbs[-1]
            tail[0] = end
            tail[2] -= length
            return truesize
        skbs.append([end, truesize, tailroom])
        self.charge(truesize)
        return truesize

    def consume(self, copied_seq: int) -> None:
        """The application has read up to ``copied_seq``: skbs read to their end are freed
        (tcp_recvmsg() -> tcp_eat_recv_skb()); a partly read one keeps all its memory."""
        skbs = self.skbs
        while skbs and skbs[0][0] <= copied_seq:
            self.charge(-skbs.popleft()[1])

    def discard(self) -> None:
        """Everything queued is gone (the connection closed or aborted)."""
        if self.skbs:
            self.skbs.clear()
        self.ooo_skbs = ()
        self.rmem = self.fwd = 0
        self._free_changed()

    def queue_ooo(self, start: int, end: int, ip_len: int) -> int:
        """tcp_data_queue_ofo(): an out-of-order skb is charged like an in-order one; one
        that continues the highest out-of-order skb is copied into its tailroom when it
        fits (tcp_ooo_try_coalesce()). Returns its truesize."""
        truesize, tailroom = skb_alloc(ip_len)
        ooo = self.ooo_skbs
        if not ooo:
            ooo = self.ooo_skbs = []
        length = end - start
        if ooo and ooo[-1][1] == start and length <= ooo[-1][3]:
            last = ooo[-1]
            last[1] = end
            last[3] -= length
            return truesize
        ooo.append([start, end, truesize, tailroom])
        ooo.sort(key=_start)
        self.charge(truesize)
        return truesize

    def ooo_to_queue(self, old_nxt: int, new_nxt: int) -> None:
        """tcp_ofo_queue(): RCV.NXT moved from ``old_nxt`` to ``new_nxt`` through the
        out-of-order queue. Its skbs below ``new_nxt`` leave it: one wholly below what
        was already received is a duplicate and is freed; the others join the receive
        queue, copied into its last skb when they fit (tcp_queue_rcv())."""
        keep, cursor = [], old_nxt
        if self.skbs is None:
            self.skbs = deque()
        for skb in self.ooo_skbs:                      # ascending by sequence
            start, end, truesize, tailroom = skb
            if start >= new_nxt:
                keep.append(skb)
                continue
            if end <= cursor:
                self.charge(-truesize)                 # a duplicate: freed
                continue
            cursor = end
            length = end - start
            if self.skbs and length <= self.skbs[-1][2]:
                self.skbs[-1][0] = end                 # copied, then freed
                self.skbs[-1][2] -= length
                self.charge(-truesize)
            else:                                      # moves, still charged
                self.skbs.append([end, truesize, tailroom])
        self.ooo_skbs = keep

    def drop_ooo_beyond(self, edge: int) -> None:
        """tcp_prune_ofo_queue() freed the out-of-order data from ``edge`` on."""
        keep = []
        for skb in self.ooo_skbs:
            if skb[1] > edge:
                self.charge(-skb[2])
            else:
                keep.append(skb)
        self.ooo_skbs = keep

    # ---------------------------------------------------------------- DRS
    def rtt_update(self, sample_us: int, win_dep: bool, queue_empty: bool) -> None:
        """tcp_rcv_rtt_update(): the receiver's RTT estimate (x8). A smaller sample replaces
        it; a larger one is ignored when measured per window (win_dep) or while data waits
        in the receive queue, and otherwise smoothed by 1/8."""
        m = max(sample_us, 1) << 3
        old = self.rtt_us
        if old == 0 or m < old:
            self.rtt_us = m
        elif not win_dep and queue_empty:
            self.rtt_us = old - (old >> 3) + max(sample_us, 1)

    def rcvbuf_grow(self, newval: int, rmem_cap: int, moderate: bool,
                    ooo_span: int) -> bool:
        """tcp_rcvbuf_grow() (Linux 6.18): the application read ``newval`` bytes in the last
        RTT. DRS is one RTT late, and the sender may double its rate in slow start, so the
        buffer is sized for 2 * newval plus twice the growth since the last measurement
        (plus what waits out of order), as memory (tcp_space_from_win()), up to tcp_rmem[2].
        Only with net.ipv4.tcp_moderate_rcvbuf and a buffer SO_RCVBUF did not lock. The
        window clamp follows. Returns whether sk_rcvbuf grew."""
        old = self.space
        self.space = newval
        if not moderate or self.locked:
            return False
        rcvwin = newval << 1
        if old > 0:
            rcvwin += (rcvwin * (newval - old) // old) << 1
        rcvwin += ooo_span
        rcvbuf = min(self.space_from_win(rcvwin), rmem_cap)
        if rcvbuf <= self._rcvbuf:
            return False
        self.rcvbuf = rcvbuf
        self.window_clamp = self.win_from_space(rcvbuf)
        return True
