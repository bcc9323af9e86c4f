"""Where a node's packets go: the route decision of a node, and its cache.

Theory of operation
-------------------
Every packet a node sends or forwards asks one question: out of which interface, to which
neighbour on that link, from which source address? (`RouteHit`; `LOCAL` for one of the
node's own addresses or 127.0.0.0/8, which loop back on ``lo``.) Nodes whose addresses have
prefixes answer it from their routing table (`simtcp.routes`: longest prefix match, then
the neighbour on the route's link that owns the next hop — ARP); nodes with bare addresses
keep simtcp's original implicit routing (`simtcp.node` module docstring): the neighbour
that owns the destination, else a router on a shared segment, else the far end of a sole
point-to-point link.

The answer only changes when the topology or a routing table does, so each node keeps its
answers in a `RouteCache`: a packet's route is one dictionary look-up, as Linux's routing
caches it in the socket's dst entry (sk_dst_cache, __sk_dst_check()) and invalidates it by
generation when routes change (rt_genid). The network empties every filled cache on any
change of links, nodes, addresses or routes (`Topology.topology_changed`).
"""
from __future__ import annotations

from typing import TYPE_CHECKING, NamedTuple, Optional, Tuple

if TYPE_CHECKING:  # pragma: no cover
    from .link import Link
    from .node import Node

__all__ = ["RouteHit", "RouteCache", "LOCAL", "RouteDecisions"]


class RouteHit(NamedTuple):
    """Where a packet to some destination goes: out of ``iface`` on ``link`` to the node
    ``hop`` (None: nobody answers ARP for ``via``), from source address ``src``."""

    link: Optional["Link"]
    hop: Optional["Node"]
    iface: str
    src: Optional[str]
    via: Optional[str]


#: The route of a packet to one of the node's own addresses (or 127.0.0.0/8): back in on
#: ``lo``.
LOCAL = RouteHit(None, None, "lo", None, None)


class RouteCache(dict):
    """One node's route decisions: destination -> `RouteHit` (None: no route).

    Sending a packet looks its destination up here: a plain dictionary look-up, no call.
    A miss works the route out once (`RouteDecisions._find_route`). The network empties every cache
    that holds something whenever routing may change (`Topology.topology_changed`: a
    link, a node, an address or a route), so a cached decision is never stale; each cache
    joins the network's list of filled caches when it takes its first entry."""

    __slots__ = ("node", "listed")

    def __init__(self, node: "Node") -> None:
        super().__init__()
        self.node = node
        self.listed = False             # on the network's list of caches to empty

    def __missing__(self, dst: str) -> Optional[RouteHit]:
        if len(self) >= 256:            # spoofed floods reach many addresses: stay small
            self.clear()
        if not self.listed:
            self.node.net.route_caches.append(self)
            self.listed = True
        hit = self[dst] = self.node._find_route(dst)
        return hit


class RouteDecisions:
    """The route decision of a `Node` (module docstring); mixed into Node, which provides
    ``ips``, ``routes``, ``interfaces``, ``links``, ``legacy``, ``net`` and ``iface_of``."""

    def route(self, dst: str) -> Optional[RouteHit]:
        """Where a packet to ``dst`` goes, or None (no route). Cached until the topology or
        a routing table changes (`RouteCache`)."""
        return self._route_cache[dst]

    def is_local_address(self, ip: str) -> bool:
        """One of this node's addresses, or the loopback net 127.0.0.0/8 of ``lo`` (Linux's
        local routing table holds ``local 127.0.0.0/8 dev lo``: every 127.x address is
        this host)."""
        return ip in self.ips or ip[:4] == "127."

    def _find_route(self, dst: str) -> Optional[RouteHit]:
        if dst in self.ips or dst[:4] == "127.":
            return LOCAL
        try:
            route = self.routes.lookup(dst)
        except ValueError:
            return None
        if route is not None:
            iface = self.interfaces[route.dev]
            nexthop = route.via or dst
            hop = None
            for n in iface.link.nodes:
                if n is not self and nexthop in n.ips:
                    hop = n
                    break
            if hop is None and iface.link.kind == "p2p" and route.via is None and \
                    any(n.forwarding for n in iface.link.nodes if n is not self):
                hop = iface.link.peer_of(self)   # a router's /30 link: it forwards onwards
            return RouteHit(iface.link, hop, iface.name, self.routes.source_for(route, dst),
                            route.via)
        return self._implicit_route(dst) if self.legacy else None

    def _implicit_route(self, dst: str) -> Optional[RouteHit]:
        """simtcp's original routing for addresses without prefixes (module docstring): the
        neighbour that owns ``dst``, else the way to every other address. Both are worked
        out once per topology: a SYN flood from spoofed addresses asks for a new address
        every segment, so routing it is a look-up, not a walk over the LAN."""
        stamp, owners, elsewhere = self._neighbours
        if stamp is not self.net.topology_version:
            owners, elsewhere = self._neighbour_table()
            self._neighbours = (self.net.topology_version, owners, elsewhere)
        return owners.get(dst, elsewhere)

    def _neighbour_table(self) -> Tuple[dict, Optional[RouteHit]]:
        """(address -> the way to the node owning it on one of this node's links, the first
        in link order; the way to any other address, or None)."""
        hits: dict = {}                       # (link, next hop) -> its RouteHit, made once

        def way(link, hop) -> RouteHit:
            hit = hits.get((link, hop))
            if hit is None:
                iface = self.iface_of(link)
                src = self.interfaces[iface].ip or self.ip
                hit = hits[(link, hop)] = RouteHit(link, hop, iface, src, None)
            return hit

        owners: dict = {}
        for link in self.links:
            for n in link.nodes:
                if n is not self:
                    for ip in n.ips:
                        if ip not in owners:
                            owners[ip] = way(link, n)
        elsewhere = None
        for link in self.links:               # a router on a shared segment is the default route
            hop = next((n for n in link.nodes if n is not self and n.forwarding), None)
            if hop is not None:
                elsewhere = way(link, hop)
                break
        if elsewhere is None and len(self.links) == 1 and self.links[0].kind == "p2p":
            elsewhere = way(self.links[0], self.links[0].peer_of(self))
        if elsewhere is None and self.links:
            elsewhere = way(self.links[0], None)  # "on the LAN", but nobody owns it: ARP fails
        return owners, elsewhere

    def source_for(self, dst: str) -> Optional[str]:
        """The source address Linux would give a connection to ``dst`` (from the route), or
        None when there is no route (connect() then fails with ENETUNREACH)."""
        hit = self.route(dst)
        if hit is None:
            return None
        if hit is LOCAL:
            return dst
        return hit.src or self.ip
