"""Links: point-to-point wires and shared LAN segments, with delay, bandwidth, loss, middleboxes.

Theory of operation: a node hands a link a packet (`transmit`). The link runs the middlebox
chain, records what comes out in the network's capture (and the sender interface's, if
someone captures there), draws loss from the network's one seeded RNG,
computes when the last bit arrives (serialization at ``bandwidth`` bits/s after whatever is
already queued in that direction, plus propagation ``delay``) and schedules delivery to the
next hop. At most ``queue_limit`` packets (default 1000, a Linux interface's txqueuelen) wait
for the wire in each direction; a packet arriving at a full queue is dropped ("queue full",
drop-tail), so a sender can never pile up unbounded traffic on a slow link. A packet that
does not make it is dropped with a named reason in the trace.

A middlebox is any callable ``(packet, now) -> list[(extra_delay, packet)] | Dropped``: an
empty list or a `Dropped` means the packet stops there; several entries duplicate it (each
copy gets its own packet id, with the original as parent); delays reorder. Middleboxes are
for on-the-wire devices only — a tap, a lossy, duplicating or reordering cable; policy
(firewalls, NAT, rate limits, scan detection) belongs in a node's hooks (`simtcp.hooks`). The payload on a link is either a
`Packet` (``wire="fast"``) or the bytes scapy built (``wire="bytes"``).
"""
from __future__ import annotations

from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, List, Optional, Sequence, Union

from . import wire
from .packet import Packet, total_length
from .reasons import DropReason, SendCause, as_reason

if TYPE_CHECKING:  # pragma: no cover
    from .sim import Network, Node


@dataclass(frozen=True)
class Dropped:
    """A middlebox verdict: the packet is dropped; ``reason`` (a `DropReason`) says why and
    ``detail`` adds free text for people (both go in the trace)."""

    reason: DropReason
    detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "reason", as_reason(self.reason, DropReason))

    def __str__(self) -> str:
        return f"{self.reason.text}: {self.detail}" if self.detail else self.reason.text


Middlebox = Callable[[Packet, float], Union[List, Dropped]]

wire_length = total_length      # the bytes a packet takes on the wire: its IP total length
# A real interface queues at most txqueuelen packets (DEFAULT_TX_QUEUE_LEN = 1000,
# include/linux/netdevice.h); beyond that the qdisc drops the new packet (drop-tail)
DEFAULT_QUEUE_LIMIT = 1000


class DropMatching:
    """A middlebox that drops the first ``count`` packets matching ``predicate`` — a loss
    you choose (the demo loses exactly one data segment this way)."""

    def __init__(self, predicate: Callable[[Packet], bool], count: int = 1,
                 reason: DropReason = DropReason.LOST_ON_PURPOSE):
        self.predicate, self.count = predicate, count
        self.reason = as_reason(reason, DropReason)
        self.name = "DropMatching"

    def __call__(self, packet: Packet, now: float):
        if self.count > 0 and self.predicate(packet):
            self.count -= 1
            return Dropped(self.reason)
        return [(0.0, packet)]


class Link:
    """A point-to-point link between two nodes (full duplex: one queue per direction)."""

    kind = "p2p"

    def __init__(self, net: "Network", nodes: Sequence["Node"], delay: float = 0.010,
                 loss: float = 0.0, bandwidth: Optional[float] = None, name: str = "",
                 queue_limit: Optional[int] = None):
        if delay < 0:
            raise ValueError(f"delay must be >= 0 seconds, got {delay!r}")
        if not 0.0 <= loss <= 1.0:
            raise ValueError(f"loss is a probability between 0 and 1, got {loss!r}")
        if bandwidth is not None and bandwidth <= 0:
            raise ValueError(f"bandwidth is in bits per second and must be > 0, got {bandwidth!r}")
        if queue_limit is None:
            queue_limit = DEFAULT_QUEUE_LIMIT
        if isinstance(queue_limit, bool) or not isinstance(queue_limit, int) or queue_limit < 1:
            raise ValueError(f"queue_limit is a number of packets >= 1, got {queue_limit!r}")
        self.net = net
        self.nodes = list(nodes)
        self.delay = delay
        self.loss = loss
        self.bandwidth = bandwidth
        self.queue_limit = queue_limit
        self.name = name or "-".join(n.name for n in self.nodes)
        self.middleboxes: List[Middlebox] = []
        self._busy_until: dict = {}
        self._waiting: dict = {}              # sender -> start times of queued packets
        self.loss_filter: Optional[Callable[[Packet], bool]] = None

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} delay={self.delay}s loss={self.loss}>"

    def add_middlebox(self, box: Middlebox) -> Middlebox:
        self.middleboxes.append(box)
        return box

    def peer_of(self, node: "Node") -> Optional["Node"]:
        for n in self.nodes:
            if n is not node:
                return n
        return None

    def next_hop(self, sender: "Node", dst: str) -> Optional["Node"]:
        """On a wire, everything goes to the other end."""
        return self.peer_of(sender)

    def transmit(self, sender: "Node", packet: Packet, data: Optional[bytes], pkt_id: int,
                 hop: Optional["Node"] = None) -> None:
        """Put ``packet`` (id ``pkt_id``) from ``sender`` on this link toward ``hop``.
        ``data`` is its bytes if the sender has them; in bytes mode the link builds them."""
        net = self.net
        now = net.now
        if hop is None:
            hop = self.next_hop(sender, packet.dst)
        if hop is None:
            net.drop(self.name, pkt_id, packet, DropReason.NO_ROUTE,
                     "nobody on this segment owns the destination address (ARP fails)")
            return
        if data is None and net.wire == "bytes":
            data = wire.encode(packet)
        taps = net.capture.taps
        if not (self.middleboxes or net.capture_enabled or taps or self.loss
                or self.bandwidth):
            # the common case: a plain wire (nothing to run, record, lose or queue): the
            # packet arrives after the propagation delay
            net.deliver_later(now + self.delay, hop, pkt_id,
                              packet if data is None else data, self)
            return
        deliveries = [(0.0, packet, pkt_id)]
        if self.middleboxes:
            deliveries = self._middleboxes(deliveries, now)
            if not deliveries:
                return
        if net.capture_enabled or taps:
            # what is on the wire: after the middlebox chain, each copy with its own id
            iface = sender.iface_of(self) if taps else None
            for extra, p, pid in deliveries:
                raw = data if p is packet else None
                if net.capture_enabled:
                    net.capture.append(now, self.name, pid, p, raw)
                tap = taps.get((sender.name, iface)) if taps else None
                if tap is not None:
                    tap.append(now, self.name, pid, p, raw)
        if self.loss and net.rng.random() < self.loss and (self.loss_filter is None
                                                           or self.loss_filter(packet)):
            for _, p, pid in deliveries:
                net.drop(self.name, pid, p, DropReason.LINK_LOSS,
                         f"random loss p={self.loss:g}")
            return
        depart = now
        if self.bandwidth:
            key = sender.name
            start = max(now, self._busy_until.get(key, 0.0))
            size = len(data) if data is not None else wire_length(packet)
            waiting = self._waiting.get(key)
            if waiting is None:
                waiting = self._waiting[key] = deque()
            while waiting and waiting[0] <= now:      # already on the wire: left the queue
                waiting.popleft()
            if len(waiting) >= self.queue_limit:
                for _, p, pid in deliveries:
                    net.drop(self.name, pid, p, DropReason.QUEUE_FULL,
                             f"{self.queue_limit} packets already wait for the wire "
                             f"(txqueuelen, drop-tail)")
                return
            depart = start + size * 8 / self.bandwidth
            self._busy_until[key] = depart
            waiting.append(start)                     # leaves the queue when sending starts
        for extra, p, pid in deliveries:
            payload = data if (p is packet and data is not None) else (
                wire.encode(p) if data is not None else p)
            net.deliver_later(depart + self.delay + extra, hop, pid, payload, self)

    def _middleboxes(self, deliveries: list, now: float) -> list:
        """Run the chain. A copy a box adds (a duplicate, or a changed packet) is a new
        packet on the wire: it gets its own id, with the one it came from as parent."""
        net = self.net
        for box in self.middleboxes:
            name = getattr(box, "name", None) or getattr(box, "__name__", type(box).__name__)
            nxt = []
            for extra, p, pid in deliveries:
                result = box(p, now)
                if isinstance(result, Dropped):
                    net.drop(self.name, pid, p, result.reason, result.detail)
                    continue
                if not result:
                    net.drop(self.name, pid, p, DropReason.MIDDLEBOX, f"dropped by {name}")
                    continue
                kept = False
                for d, q in result:
                    if q is p and not kept:
                        kept = True
                        nxt.append((extra + d, q, pid))
                        continue
                    qid = net.new_packet_id()
                    if net.trace.enabled:
                        net.trace.record(
                            now, "send", self.name, q, qid, parent=pid,
                            reason=SendCause.DUPLICATED if q == p else
                            SendCause.MIDDLEBOX_CHANGED, detail=(("middlebox", name),))
                    nxt.append((extra + d, q, qid))
                if not kept and net.trace.enabled:   # only changed copies went on
                    net.trace.record(now, "deliver", self.name, p, pid,
                                     reason=SendCause.MIDDLEBOX_CHANGED,
                                     detail=(("middlebox", name),))
            deliveries = nxt
        return deliveries


class Lan(Link):
    """A shared segment (a switch): delivers to whichever attached node owns the destination,
    or to the segment's router when nobody does."""

    kind = "lan"

    def next_hop(self, sender: "Node", dst: str) -> Optional["Node"]:
        for n in self.nodes:
            if n is not sender and dst in n.ips:
                return n
        for n in self.nodes:
            if n is not sender and getattr(n, "forwarding", False):
                return n
        return None
