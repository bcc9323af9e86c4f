"""The simulated network: one virtual clock, one event heap, one seeded RNG.

Theory of operation: `Network` is a discrete-event simulator. Everything that will happen
later is an event ``[time, n, callback, args]`` on a heap; ``n`` is a running number so
that events at the same instant run in the order they were scheduled — together with the
single `random.Random(seed)` this makes a run fully deterministic: the same seed gives the
same trace and byte-identical captures. There is no wall clock and no thread anywhere.

A pending event can be cancelled (`cancel`), the way a kernel deletes a timer: it is
marked (its callback becomes None) and never runs nor moves the clock. Marked events are
taken off the heap when they reach its top — the top of the heap is always a live event,
so peeking at ``heap[0]`` stays right — and all at once when they make up more than half
of it, so cancelled timers cannot pile up (asyncio's event loop does the same).

Two heaps: most events are due soon (a packet arriving, a delayed ACK), while long timers
(TIME-WAIT's 60 s, keepalive) wait in thousands — one or two per recently closed connection.
In one heap every push and pop would sift through all of them (a heap of 4,000 is twelve
levels deep), so the events due up to ``_near_until`` (a window of `_NEAR` seconds from the
first event in it) go on the *near* heap and later ones on the *later* heap; when the near
heap runs dry, the next window's events move over from the later heap, in order. Every
near event comes before every later one, so the near heap's top is always the next event
(and the near heap is empty only when both are): ``heap[0]`` still tells what runs next,
and the order is (time, n) exactly as with one heap. (Linux's timer wheel also files
timers by how far away they are, in levels of coarser granularity: kernel/time/timer.c.)

Blocking socket calls drive the simulation themselves through `run_until(predicate)`, which
pops events until the predicate holds, the heap is empty (idle: nothing can ever change),
or a virtual-time limit passes (`step_until` when the caller has just asked the predicate).

The topology (hosts, routers, links: `simtcp.network`) and the IP layer of each node
(interfaces, routes, forwarding, hooks: `simtcp.node`, `simtcp.routes`, `simtcp.hooks`)
live in their own modules; this one only moves time and packets between them. A packet
that nobody owns or routes is dropped with a reason — which is what happens to SYN-ACKs
sent to spoofed sources.
"""
from __future__ import annotations

import heapq
import math
import random
from typing import Callable, Dict, List, Optional

from . import gctune, progress
from .capture import Capture
from .errors import STALL_HORIZON, SimulationStalledError
from .link import Link
from .network import Topology
from .node import Node, check_ip  # noqa: F401  (re-exported: simtcp.sim.Node)
from .packet import Packet
from .reasons import DropReason
from .trace import Trace

WIRE_MODES = ("bytes", "fast")
_INF = math.inf
#: Cancelled events are swept out of the heap together once there are more than this many
#: and they make up more than half of it (fewer wait until they reach the top).
_SWEEP_MIN = 100
#: Seconds of virtual time the near heap covers (see the module docstring, "Two heaps").
_NEAR = 1.0


class Network(Topology):
    """A deterministic virtual-time network of simulated hosts (see module docstring)."""

    def __init__(self, seed: int = 0, wire: str = "bytes", trace: bool = True,
                 capture: bool = True, trace_limit: Optional[int] = None,
                 capture_limit: Optional[int] = None):
        """``trace``/``capture`` False keep memory flat in huge runs (a 100,000-SYN flood);
        counters and socket state still work. ``trace_limit``/``capture_limit`` keep only
        the most recent N records/packets instead (long runs that still want to look at
        the end); ``net.capture.stream(path)`` writes every packet to a pcap as it goes."""
        if wire not in WIRE_MODES:
            raise ValueError(f"wire must be one of {WIRE_MODES}, got {wire!r}")
        self.seed = seed
        self.wire = wire
        self.rng = random.Random(seed)
        self.now = 0.0
        self._heap: list = []            # the events due up to _near_until, soonest on top
        self._later: list = []           # the events after it (module docstring)
        self._near_until = _NEAR
        self._n = 0
        self._cancelled = 0              # cancelled events still on the heaps
        self._next_pkt = 0
        self.trace = Trace(trace_limit)
        self.trace.enabled = trace
        self.capture = Capture(limit=capture_limit)
        self.capture_enabled = capture
        self.nodes: Dict[str, Node] = {}
        self.links: List[Link] = []
        self.drops: Dict[str, int] = {}
        self.in_flight = 0               # packets on a wire right now (sent, not yet arrived)
        self.topology_version = object()
        self.route_caches: list = []     # the nodes' filled route caches (topology_changed)
        # blocking calls and run() give up after this much virtual time (simtcp.errors)
        self.stall_horizon = STALL_HORIZON
        # progress bar of long runs (simtcp.progress): None = automatic, False = never
        self.progress: Optional[bool] = None
        self._progress_span = None
        gctune.apply()                   # the collector's pace for big runs (simtcp.gctune)

    # ------------------------------------------------------------------ events
    def schedule(self, at: float, callback: Callable, *args) -> list:
        """Run ``callback(*args)`` at virtual time ``at`` (never earlier than now); returns
        the event, which `cancel` takes. The clock only moves forward to finite times: a NaN
        or infinite time is refused here, before it could reach the heap and poison every
        later comparison."""
        if not -_INF < at < _INF:        # (a NaN fails every comparison)
            raise ValueError(f"cannot schedule an event at virtual time {at!r}: times must "
                             "be finite numbers of seconds")
        if at < self.now:
            at = self.now
        event = [at, self._n, callback, args]
        self._n += 1
        heap = self._heap
        if not heap:                     # nothing pending (nor later): a new near window
            self._near_until = at + _NEAR
            heap.append(event)
        elif at <= self._near_until:
            heapq.heappush(heap, event)
        else:
            heapq.heappush(self._later, event)
        return event

    def call_later(self, delay: float, callback: Callable, *args) -> list:
        return self.schedule(self.now + delay, callback, *args)

    def cancel(self, event: list) -> None:
        """Cancel a pending event (one `schedule` returned that has not run yet): it will
        never run (module docstring)."""
        if event[2] is None:
            return
        event[2], event[3] = None, ()    # (drop the references it held at once)
        self._cancelled += 1
        heap = self._heap
        if heap and heap[0] is event:
            self._pop_cancelled()
        elif (self._cancelled > _SWEEP_MIN
              and self._cancelled * 2 > len(heap) + len(self._later)):
            for h in (heap, self._later):
                h[:] = [e for e in h if e[2] is not None]
                heapq.heapify(h)         # (order is by (time, n): the same as before)
            self._cancelled = 0          # (the near heap keeps its live top: not empty)

    def _pop_cancelled(self) -> None:
        """Take cancelled events off the top of the heap, so that its top is live (and
        refill it from the later heap if that leaves it empty)."""
        heap = self._heap
        while heap and heap[0][2] is None:
            heapq.heappop(heap)
            self._cancelled -= 1
        if not heap and self._later:
            self._pull_later()

    def _pull_later(self) -> None:
        """The near heap ran dry: the next window's events move over from the later heap
        (popped in order and appended, they make a valid heap; cancelled ones are left
        behind for good)."""
        heap, later = self._heap, self._later
        while not heap and later:
            self._near_until = later[0][0] + _NEAR
            while later and later[0][0] <= self._near_until:
                event = heapq.heappop(later)
                if event[2] is None:
                    self._cancelled -= 1
                else:
                    heap.append(event)

    def step(self) -> bool:
        """Run one event; False when there is none."""
        heap = self._heap
        if not heap:
            return False
        at, _, callback, args = heapq.heappop(heap)
        if not heap or heap[0][2] is None:
            self._pop_cancelled()
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
        bar = progress.for_run(self, until)     # None unless a progress bar may be shown
        try:
            return self._run(until, max_events, bar)
        finally:
            if bar is self._progress_span and bar is not None:
                bar.tick()                      # a scenario's bar, shared by its runs
            elif bar is not None:
                bar.close()

    def _run(self, until: Optional[float], max_events: Optional[int], bar) -> float:
        # exactly one of the two limits applies: ``until`` (stop there) or, without it, the
        # stall horizon (give up): one comparison per event tells whether either is passed
        horizon = self.now + self.stall_horizon if until is None else None
        limit = until if horizon is None else horizon
        most = _INF if max_events is None else max_events
        n = 0
        heap = self._heap
        every = progress.CHECK_EVERY - 1
        while heap:
            if heap[0][0] > limit:
                if horizon is None:
                    break
                self._advance(horizon)
                raise SimulationStalledError(
                    f"run() did not reach an idle network within {self.stall_horizon:g} s of "
                    f"virtual time (stall_horizon); something keeps re-arming timers, e.g. a "
                    f"peer holding a zero window. Use run(until=...) to run for a set time.")
            if n >= most:
                return self.now
            self.step()
            n += 1
            if bar is not None and not n & every:
                bar.tick()                      # reads the wall clock: display only
        if until is not None:
            self._advance(until)
        return self.now

    def run_until(self, predicate: Callable[[], bool], timeout: Optional[float] = None) -> str:
        """Step until ``predicate()`` is true. Returns "ok", "idle", "timeout" or, without a
        timeout (or one longer than ``stall_horizon``), "stalled" once ``stall_horizon``
        seconds of virtual time passed in vain."""
        if predicate():
            return "ok"
        return self.step_until(predicate, timeout)

    def step_until(self, predicate: Callable[[], bool], timeout: Optional[float] = None,
                   watched=None) -> str:
        """`run_until` for a caller that has just found ``predicate()`` false (a blocking
        socket call): it is asked again only after each event, since nothing can change
        before one runs. With ``watched`` (a `Socket`), only after an event that set its
        ``_changed`` mark, which whatever can make the predicate true sets (the
        `simtcp.socket` module docstring); the mark is cleared here and at each asking."""
        if timeout is None or timeout > self.stall_horizon:
            deadline, late = self.now + self.stall_horizon, "stalled"
        else:
            deadline, late = self.now + timeout, "timeout"
        if watched is not None:
            watched._changed = False
        heap = self._heap
        while heap:
            if heap[0][0] > deadline:
                self._advance(deadline)
                return late
            self.step()
            if watched is not None:
                if not watched._changed:
                    continue            # the event did not touch what the caller waits for
                watched._changed = False
            if predicate():
                return "ok"
        return "idle"

    # ----------------------------------------------------------------- packets
    def deliver_later(self, at: float, node: Node, pkt_id: int, payload, link) -> None:
        """Schedule a packet's arrival at ``node`` from ``link`` (a link, or ``lo``):
        `Node.receive` at ``at``. Until then it counts as in flight."""
        self.in_flight += 1
        self.schedule(at, node.receive, pkt_id, payload, link)

    def new_packet_id(self) -> int:
        self._next_pkt += 1
        return self._next_pkt

    def drop(self, where: str, pkt_id: int, packet: Optional[Packet], reason: DropReason,
             detail: str = "") -> None:
        """Record the end of packet ``pkt_id``: dropped at ``where`` for ``reason`` (a
        `DropReason` member; ``detail`` is free text for people)."""
        if not isinstance(reason, DropReason):
            raise TypeError(f"drop reason must be a DropReason member, got {reason!r}")
        self.drops[reason] = self.drops.get(reason, 0) + 1
        if self.trace.enabled:
            self.trace.record(self.now, "drop", where, packet, pkt_id, reason=reason,
                              detail=(("detail", detail),) if detail else ())

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
