"""Netfilter-style hook points on every node: where firewalls, NAT, rate limits and scan
detection plug in.

Theory of operation: a node's IP layer (`simtcp.node`) passes every packet through the
hook points Linux's netfilter defines (include/uapi/linux/netfilter.h, NF_INET_*), in the
same places (net/ipv4/ip_input.c, ip_forward.c, ip_output.c)::

    wire → PREROUTING → routing ─┬─→ INPUT → local stack
                                 └─→ FORWARD ─┐
    local stack → OUTPUT → routing ───────────┴─→ POSTROUTING → wire

At each point the node calls the functions registered there in ascending ``priority``
(netfilter's numbers: conntrack -200, mangle -150, DNAT -100, filter 0, SNAT +100,
conntrack confirm INT_MAX; equal priorities run in registration order), each with a
`HookContext`, and each returns a verdict:

- `ACCEPT` — go on to the next function (after the last one, the packet continues);
- `Drop(reason)` — the packet ends here, dropped with that reason (traversal stops);
- `Replace(packet)` — go on with the rewritten packet (NAT, mangle); the node records the
  rewrite, and the copy that leaves carries its own packet id with the original as parent;
- `Reply(packets, reason)` — drop the original (with ``reason``) and send the generated
  packets from this node (REJECT's ICMP error or TCP reset).

A node without functions at a point skips it at the cost of one dictionary lookup, so hooks
cost nothing until used. Link middleboxes (`simtcp.link`) are for on-the-wire devices only
— a tap, a lossy or reordering cable; everything that is policy goes through hooks.
"""
from __future__ import annotations

import enum
import itertools
from dataclasses import dataclass
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Tuple, Union

from .reasons import DropReason

if TYPE_CHECKING:  # pragma: no cover
    from .packet import Packet
    from .sim import Node

__all__ = ["HookPoint", "HookContext", "ACCEPT", "Accept", "Drop", "Replace", "Reply",
           "Verdict", "HookHandle", "Hooks", "PRIORITY"]


class HookPoint(enum.Enum):
    """Netfilter's IPv4 hook points, in their NF_INET_* order."""

    PREROUTING = 0
    INPUT = 1
    FORWARD = 2
    OUTPUT = 3
    POSTROUTING = 4


#: Netfilter's priorities (include/uapi/linux/netfilter_ipv4.h, enum nf_ip_hook_priorities).
PRIORITY = {"conntrack": -200, "mangle": -150, "dnat": -100, "filter": 0, "security": 50,
            "snat": 100, "conntrack_confirm": 2 ** 31 - 1}


@dataclass(frozen=True)
class HookContext:
    """What a hook function sees: the node, the point, the packet (as it is now, after
    earlier rewrites), its id, the interfaces it came in on / goes out of (None where
    netfilter has none: no ``in`` at OUTPUT, no ``out`` at PREROUTING/INPUT) and the time."""

    node: "Node"
    point: HookPoint
    packet: "Packet"
    pkt_id: int
    in_iface: Optional[str]
    out_iface: Optional[str]
    now: float


class Accept:
    """The verdict "continue" (use the `ACCEPT` singleton)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "ACCEPT"


ACCEPT = Accept()


@dataclass(frozen=True)
class Drop:
    """Drop the packet: ``reason`` (a `DropReason` member) goes into the trace and the drop
    counters, ``detail`` is free text for people. Plain words as ``reason`` are accepted as
    display text: the drop is then counted as `DropReason.HOOK`."""

    reason: object
    detail: str = ""


@dataclass(frozen=True)
class Replace:
    """Continue with ``packet`` instead (a rewrite: NAT, TTL or TOS mangling)."""

    packet: "Packet"


@dataclass(frozen=True)
class Reply:
    """Drop the original (``reason``: a `DropReason`, by default REJECTED; plain words are
    display text) and send ``packets`` from this node."""

    packets: Tuple["Packet", ...]
    reason: object = DropReason.REJECTED
    detail: str = ""

    def __post_init__(self) -> None:
        object.__setattr__(self, "packets", tuple(self.packets))


Verdict = Union[Accept, Drop, Replace, Reply]
HookFn = Callable[[HookContext], Verdict]


@dataclass(frozen=True)
class HookHandle:
    """What `Hooks.add` returns; give it to `Hooks.remove`."""

    point: HookPoint
    priority: int
    serial: int
    name: str
    fn: HookFn


class Hooks:
    """The functions registered at each hook point of one node."""

    def __init__(self) -> None:
        self.chains: Dict[HookPoint, List[HookHandle]] = {}
        self._serial = itertools.count()

    def add(self, point: HookPoint, fn: HookFn, priority: int = 0, name: str = "") -> HookHandle:
        """Register ``fn`` at ``point``; lower ``priority`` runs first."""
        if not isinstance(point, HookPoint):
            raise TypeError(f"point must be a HookPoint (e.g. HookPoint.INPUT), got {point!r}")
        if not callable(fn):
            raise TypeError(f"a hook is a function taking a HookContext, got {fn!r}")
        if isinstance(priority, bool) or not isinstance(priority, int):
            raise TypeError(f"priority must be an int (netfilter's numbers), got {priority!r}")
        handle = HookHandle(point, priority, next(self._serial),
                            name or getattr(fn, "name", None) or getattr(fn, "__name__", "hook"),
                            fn)
        chain = self.chains.setdefault(point, [])
        chain.append(handle)
        chain.sort(key=lambda h: (h.priority, h.serial))
        return handle

    def remove(self, handle: HookHandle) -> None:
        """Unregister; ValueError if ``handle`` is not registered here."""
        chain = self.chains.get(handle.point, [])
        if handle not in chain:
            raise ValueError(f"hook {handle.name!r} is not registered at {handle.point.name}")
        chain.remove(handle)
        if not chain:
            del self.chains[handle.point]

    def __bool__(self) -> bool:
        return bool(self.chains)

    def __len__(self) -> int:
        return sum(len(c) for c in self.chains.values())

    def __repr__(self) -> str:
        parts = [f"{p.name}: {', '.join(f'{h.name}({h.priority})' for h in c)}"
                 for p, c in sorted(self.chains.items(), key=lambda kv: kv[0].value)]
        return f"<Hooks {'; '.join(parts) or 'none'}>"

    def run(self, ctx: HookContext) -> Tuple[Verdict, "Packet", Tuple[str, ...]]:
        """Traverse ``ctx.point``: (final verdict, packet after rewrites, names of the hooks
        that rewrote it). The final verdict is ACCEPT, a Drop or a Reply."""
        chain = self.chains.get(ctx.point)
        packet = ctx.packet
        rewrites: Tuple[str, ...] = ()
        if not chain:
            return ACCEPT, packet, rewrites
        for h in tuple(chain):
            verdict = h.fn(ctx)
            if verdict is ACCEPT:
                continue
            if isinstance(verdict, Replace):
                packet = verdict.packet
                rewrites += (h.name,)
                ctx = HookContext(ctx.node, ctx.point, packet, ctx.pkt_id, ctx.in_iface,
                                  ctx.out_iface, ctx.now)
                continue
            if isinstance(verdict, (Drop, Reply)):
                return verdict, packet, rewrites
            raise TypeError(f"hook {h.name!r} at {ctx.point.name} returned {verdict!r}; a "
                            f"hook returns ACCEPT, Drop(reason), Replace(packet) or "
                            f"Reply(packets)")
        return ACCEPT, packet, rewrites
