"""The simulated network: one virtual clock, one event heap, one seeded RNG, the topology.

Theory of operation: `Network` is a discrete-event simulator. Everything that will happen
later is an event ``(time, n, callback, args)`` on a heap; ``n`` is a running number so
that events at the same instant run in the order they were scheduled — together with the
single `random.Random(seed)` this makes a run fully deterministic: the same seed gives the
same trace and byte-identical captures. There is no wall clock and no thread anywhere.

Blocking socket calls drive the simulation themselves through `run_until(predicate)`, which
pops events until the predicate holds, the heap is empty (idle: nothing can ever change),
or a virtual-time limit passes.

Routing is deliberately small: a node sends to a neighbour on a shared link that owns the
destination; otherwise to its gateway (a router on one of its links, or the far end of its
only point-to-point link). A packet that nobody owns or routes is dropped with the reason
"no route to host" — which is what happens to SYN-ACKs sent to spoofed sources.
"""
from __future__ import annotations

import heapq
import ipaddress
import math
import random
from typing import Callable, Dict, Iterable, List, Optional, Sequence, Union

from . import wire
from .capture import Capture
from .errors import STALL_HORIZON, SimulationStalledError
from .link import Lan, Link
from .segment import Packet
from .reasons import DropReason
from .trace import Trace, TraceRecord

WIRE_MODES = ("bytes", "fast")


def check_ip(ip: str) -> str:
    """Validate a dotted-quad IPv4 address (ValueError that says what is wrong)."""
    try:
        return str(ipaddress.IPv4Address(ip))
    except (ipaddress.AddressValueError, ValueError, TypeError):
        raise ValueError(f"{ip!r} is not an IPv4 address (expected dotted quad like "
                         "'192.168.1.10')") from None


class Node:
    """Anything with addresses that links can deliver to."""

    forwarding = False

    def __init__(self, net: "Network", name: str, ips: Sequence[str]):
        self.net = net
        self.name = name
        self.ips: List[str] = [check_ip(ip) for ip in ips]
        self.links: List[Link] = []
        self.gateway: Optional[Node] = None
        self._routes: dict = {}

    @property
    def ip(self) -> str:
        """The node's primary address."""
        return self.ips[0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {', '.join(self.ips)}>"

    def route(self, dst: str):
        """(link, next hop) toward ``dst``, or (None, None). Cached until the topology
        changes (routes depend only on links and addresses)."""
        cache = self._routes
        stamp = (self.net.topology_version, self.gateway)
        if cache.get(None) != stamp:
            cache.clear()
            cache[None] = stamp
        hit = cache.get(dst)
        if hit is None:
            if len(cache) > 256:               # spoofed floods reach many addresses: stay small
                cache.clear()
                cache[None] = stamp
            hit = cache[dst] = self._find_route(dst)
        return hit

    def _find_route(self, dst: str):
        for link in self.links:
            for n in link.nodes:
                if n is not self and dst in n.ips:
                    return link, n
        if self.gateway is not None:
            for link in self.links:
                if self.gateway in link.nodes:
                    return link, self.gateway
        for link in self.links:           # a router on a shared segment is the default route
            for n in link.nodes:
                if n is not self and n.forwarding:
                    return link, n
        if len(self.links) == 1 and self.links[0].kind == "p2p":
            return self.links[0], self.links[0].peer_of(self)
        return None, None

    def transmit(self, packet: Packet, reason: object = "", rfc: str = "",
                 data: Optional[bytes] = None, conn=None, detail: tuple = ()) -> int:
        """Put a packet on the wire toward its destination; returns its packet id."""
        net = self.net
        pkt_id = net.new_packet_id()
        if net.trace.enabled:
            net.trace.records.append(TraceRecord(net.now, "send", self.name, packet, pkt_id, conn,
                                      reason=reason, rfc=rfc, detail=detail))
        link, hop = self.route(packet.dst)
        if link is None:
            net.drop(self.name, pkt_id, packet, DropReason.NO_ROUTE,
                     f"{self.name} has no route to {packet.dst}")
            return pkt_id
        if data is None and net.wire == "bytes":
            data = wire.encode(packet)
        link.transmit(self, packet, data, pkt_id, hop)
        return pkt_id

    def receive(self, pkt_id: int, payload: Union[Packet, bytes], link) -> None:
        """A packet arrives from ``link``: decode, check the address, hand it on."""
        net = self.net
        if isinstance(payload, (bytes, bytearray)):
            try:
                packet = wire.decode(bytes(payload))
            except wire.DecodeError as e:
                net.drop(self.name, pkt_id, None, e.reason, "malformed packet discarded")
                self.count_drop(e.reason)
                return
        else:
            packet = payload
        if packet.dst not in self.ips:
            if self.forwarding:
                self.forward(pkt_id, packet, link)
                return
            net.drop(self.name, pkt_id, packet, DropReason.NO_ROUTE,
                     f"{packet.dst} is not an address of {self.name}")
            self.count_drop(DropReason.NO_ROUTE)
            return
        if net.trace.enabled:
            net.trace.records.append(TraceRecord(net.now, "deliver", self.name, packet, pkt_id))
        self.deliver(packet, pkt_id)

    def count_drop(self, reason: DropReason) -> None:
        pass

    def deliver(self, packet: Packet, pkt_id: int) -> None:
        raise NotImplementedError

    def forward(self, pkt_id: int, packet: Packet, link) -> None:
        """Routers (``forwarding = True``) override this; hosts and peers never forward."""
        raise NotImplementedError(f"{type(self).__name__} {self.name} does not forward packets")


class Network:
    """A deterministic virtual-time network of simulated hosts (see module docstring)."""

    def __init__(self, seed: int = 0, wire: str = "bytes", trace: bool = True,
                 capture: bool = True):
        """``trace``/``capture`` False keep memory flat in huge runs (a 100,000-SYN flood);
        counters and socket state still work."""
        if wire not in WIRE_MODES:
            raise ValueError(f"wire must be one of {WIRE_MODES}, got {wire!r}")
        self.seed = seed
        self.wire = wire
        self.rng = random.Random(seed)
        self.now = 0.0
        self._heap: list = []
        self._n = 0
        self._next_pkt = 0
        self.trace = Trace()
        self.trace.enabled = trace
        self.capture = Capture()
        self.capture_enabled = capture
        self.nodes: Dict[str, Node] = {}
        self.links: List[Link] = []
        self.drops: Dict[str, int] = {}
        self.in_flight = 0               # packets on a wire right now (sent, not yet arrived)
        self.topology_version = object()
        # blocking calls and run() give up after this much virtual time (simtcp.errors)
        self.stall_horizon = STALL_HORIZON

    # --------------------------------------------------------------- topology
    def _register(self, node: Node) -> Node:
        self.topology_version = object()
        if node.name in self.nodes:
            raise ValueError(f"a node named {node.name!r} already exists")
        for ip in node.ips:
            owner = self.owner(ip)
            if owner is not None:
                raise ValueError(f"{ip} already belongs to {owner.name}")
        self.nodes[node.name] = node
        return node

    def owner(self, ip: str) -> Optional[Node]:
        for node in self.nodes.values():
            if ip in node.ips:
                return node
        return None

    def add_host(self, name: str, ip: Union[str, Sequence[str]], os: str = "linux"):
        """A host with a TCP stack. ``os`` picks the defaults: linux|windows|macos|freebsd."""
        from .host import Host
        ips = [ip] if isinstance(ip, str) else list(ip)
        return self._register(Host(self, name, ips, os=os))

    def add_peer(self, ip: str, name: Optional[str] = None):
        """A raw endpoint with no TCP stack: it records what arrives and sends only what you
        give it (labs where the student is the TCP stack)."""
        from .host import Peer
        return self._register(Peer(self, name or f"peer-{ip}", [ip]))

    def add_link(self, a: Node, b: Node, delay: float = 0.010, loss: float = 0.0,
                 bandwidth: Optional[float] = None, name: str = "",
                 queue_limit: Optional[int] = None) -> Link:
        """A point-to-point link; ``delay`` in seconds one way, ``loss`` a probability."""
        link = Link(self, [a, b], delay, loss, bandwidth, name, queue_limit)
        return self._attach(link)

    def add_lan(self, nodes: Iterable[Node], delay: float = 0.001, loss: float = 0.0,
                bandwidth: Optional[float] = None, name: str = "lan") -> Lan:
        """A shared segment (switch) connecting many nodes."""
        return self._attach(Lan(self, list(nodes), delay, loss, bandwidth, name))

    def _attach(self, link: Link) -> Link:
        self.topology_version = object()       # invalidates every node's route cache
        for n in link.nodes:
            if n.net is not self:
                raise ValueError(f"{n.name} belongs to another Network")
            n.links.append(link)
        self.links.append(link)
        return link

    def __getitem__(self, name: str) -> Node:
        return self.nodes[name]

    # ------------------------------------------------------------------ events
    def schedule(self, at: float, callback: Callable, *args) -> None:
        """Run ``callback(*args)`` at virtual time ``at`` (never earlier than now). The clock
        only moves forward to finite times: a NaN or infinite time is refused here, before
        it could reach the heap and poison every later comparison."""
        if not math.isfinite(at):
            raise ValueError(f"cannot schedule an event at virtual time {at!r}: times must "
                             "be finite numbers of seconds")
        if at < self.now:
            at = self.now
        heapq.heappush(self._heap, (at, self._n, callback, args))
        self._n += 1

    def call_later(self, delay: float, callback: Callable, *args) -> None:
        self.schedule(self.now + delay, callback, *args)

    def step(self) -> bool:
        """Run one event; False when there is none."""
        if not self._heap:
            return False
        at, _, callback, args = heapq.heappop(self._heap)
        self.now = at
        callback(*args)
        return True

    @property
    def idle(self) -> bool:
        return not self._heap

    def next_event_time(self) -> Optional[float]:
        return self._heap[0][0] if self._heap else None

    def _advance(self, to: float) -> None:
        """Move the clock forward to ``to`` with nothing happening in between."""
        if not math.isfinite(to):
            raise ValueError(f"virtual time cannot move to {to!r}")
        if to > self.now:
            self.now = to

    def run(self, until: Optional[float] = None, max_events: Optional[int] = None) -> float:
        """Run until idle, or until virtual time ``until`` (then ``now == until``).

        Without ``until``, a network that never goes idle (a zero-window peer answering
        probes for ever, keepalives) raises `SimulationStalledError` once
        ``stall_horizon`` seconds of virtual time have passed, instead of running for ever.
        """
        if until is not None and (isinstance(until, bool) or not isinstance(until, (int, float))
                                  or not math.isfinite(until)):
            raise ValueError(f"run(until=...) needs a finite virtual time in seconds, "
                             f"got {until!r}")
        horizon = self.now + self.stall_horizon if until is None else None
        n = 0
        heap = self._heap
        while heap:
            if until is not None and heap[0][0] > until:
                break
            if horizon is not None and heap[0][0] > horizon:
                self._advance(horizon)
                raise SimulationStalledError(
                    f"run() did not reach an idle network within {self.stall_horizon:g} s of "
                    f"virtual time (stall_horizon); something keeps re-arming timers, e.g. a "
                    f"peer holding a zero window. Use run(until=...) to run for a set time.")
            if max_events is not None and n >= max_events:
                return self.now
            self.step()
            n += 1
        if until is not None:
            self._advance(until)
        return self.now

    def run_until(self, predicate: Callable[[], bool], timeout: Optional[float] = None) -> str:
        """Step until ``predicate()`` is true. Returns "ok", "idle", "timeout" or, without a
        timeout (or one longer than ``stall_horizon``), "stalled" once ``stall_horizon``
        seconds of virtual time passed in vain."""
        if timeout is None or timeout > self.stall_horizon:
            deadline, late = self.now + self.stall_horizon, "stalled"
        else:
            deadline, late = self.now + timeout, "timeout"
        heap = self._heap
        while not predicate():
            if not heap:
                return "idle"
            if heap[0][0] > deadline:
                self._advance(deadline)
                return late
            self.step()
        return "ok"

    # ----------------------------------------------------------------- packets
    def deliver_later(self, at: float, node: Node, pkt_id: int, payload, link) -> None:
        """Schedule a packet's arrival at ``node``; until then it counts as in flight."""
        self.in_flight += 1
        self.schedule(at, self._arrive, node, pkt_id, payload, link)

    def _arrive(self, node: Node, pkt_id: int, payload, link) -> None:
        self.in_flight -= 1
        node.receive(pkt_id, payload, link)

    def new_packet_id(self) -> int:
        self._next_pkt += 1
        return self._next_pkt

    def encode(self, packet: Packet) -> bytes:
        return wire.encode(packet)

    def drop(self, where: str, pkt_id: int, packet: Optional[Packet], reason: DropReason,
             detail: str = "") -> None:
        """Record the end of packet ``pkt_id``: dropped at ``where`` for ``reason`` (a
        `DropReason` member; ``detail`` is free text for people)."""
        if not isinstance(reason, DropReason):
            raise TypeError(f"drop reason must be a DropReason member, got {reason!r}")
        self.drops[reason] = self.drops.get(reason, 0) + 1
        if self.trace.enabled:
            self.trace.add(TraceRecord(self.now, "drop", where, packet, pkt_id, reason=reason,
                                       detail=(("detail", detail),) if detail else ()))

    # ------------------------------------------------------------------ views
    @property
    def hosts(self) -> Dict[str, Node]:
        return dict(self.nodes)

    def __repr__(self) -> str:
        return (f"<Network seed={self.seed} wire={self.wire} t={self.now:.6f}s "
                f"nodes={list(self.nodes)} packets={self._next_pkt}>")

    def _repr_html_(self) -> str:
        rows = "".join(f"<tr><td>{n.name}</td><td>{type(n).__name__}</td>"
                       f"<td>{', '.join(n.ips)}</td><td>{getattr(n, 'os', '')}</td></tr>"
                       for n in self.nodes.values())
        return (f"<p><b>simtcp Network</b> seed={self.seed}, wire={self.wire}, "
                f"t = {self.now * 1000:.3f} ms, {self._next_pkt} packets</p>"
                f"<table><tr><th>name</th><th>kind</th><th>addresses</th><th>os</th></tr>"
                f"{rows}</table>")
