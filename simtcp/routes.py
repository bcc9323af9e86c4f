"""A node's routing table: connected routes, static routes, a default gateway; longest prefix
match; ``ip route`` and ``ip addr`` views.

Theory of operation: like Linux's main table (net/ipv4/fib_trie.c), a lookup picks, among
the routes whose destination prefix contains the address, the one with the longest prefix,
then the lowest metric. Connected routes appear by themselves for every address with a
prefix on an interface that is attached to a link (``proto kernel scope link src ADDR``,
what fib_add_ifaddr() installs); static routes and the default route (``default via GW``)
are added by the user. A route either reaches the destination directly on its interface
(no ``via``) or through a gateway, which must itself be reachable directly (Linux refuses
``ip route add … via`` an unreachable gateway: "Nexthop has invalid gateway").

The source address of a locally generated packet comes from the route (Linux
inet_select_addr() via fib_result_prefsrc()): the route's ``src`` if it has one, else the
interface address in the same subnet as the gateway (or destination), else the interface's
first address.
"""
from __future__ import annotations

import ipaddress
import socket
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional, Union

if TYPE_CHECKING:  # pragma: no cover
    from .node import Interface, Node

__all__ = ["Route", "RoutingTable", "parse_prefix"]


def parse_prefix(text: Union[str, ipaddress.IPv4Network]) -> ipaddress.IPv4Network:
    """``"10.0.0.0/8"``, ``"default"`` or a bare address (a /32 host route)."""
    if isinstance(text, ipaddress.IPv4Network):
        return text
    if text == "default":
        return ipaddress.IPv4Network("0.0.0.0/0")
    try:
        return ipaddress.IPv4Network(text, strict=True)
    except ValueError as e:
        raise ValueError(f"{text!r} is not a destination prefix like '10.0.0.0/8' or "
                         f"'default' ({e}; host bits must be zero, as `ip route` insists)"
                         ) from None


def address_int(addr: str) -> int:
    """A dotted quad as a 32-bit int; ValueError for anything else. inet_pton (strict: only
    the dotted-quad form) does the common case in C — a spoofed flood asks for a new
    address with every packet."""
    try:
        return int.from_bytes(socket.inet_pton(socket.AF_INET, addr), "big")
    except (OSError, TypeError):
        return int(ipaddress.IPv4Address(addr))     # raises the ValueError that explains


@dataclass(frozen=True)
class Route:
    """One entry: ``dest`` reached on interface ``dev``, through gateway ``via`` (None:
    directly), preferring source ``src``."""

    dest: ipaddress.IPv4Network
    dev: str
    via: Optional[str] = None
    src: Optional[str] = None
    proto: str = "static"          # "kernel" for connected routes, as `ip route` shows them
    metric: int = 0

    @property
    def scope(self) -> str:
        return "link" if self.via is None else "global"

    def __str__(self) -> str:
        dest = "default" if self.dest.prefixlen == 0 else str(self.dest)
        text = dest + (f" via {self.via}" if self.via else "") + f" dev {self.dev}"
        if self.proto != "static":
            text += f" proto {self.proto}"
        if self.via is None:
            text += " scope link"
        if self.src:
            text += f" src {self.src}"
        if self.metric:
            text += f" metric {self.metric}"
        return text


class RoutingTable:
    """The main routing table of one node (see the module docstring)."""

    def __init__(self, node: "Node") -> None:
        self.node = node
        self.static: List[Route] = []
        self._compiled: tuple = (None, ())     # (topology version, rows for lookup())

    # ------------------------------------------------------------------ contents
    def connected(self) -> List[Route]:
        out = []
        for iface in self.node.interfaces.values():
            if iface.link is None:
                continue
            for a in iface.addrs:
                if a.network.prefixlen < 32:
                    out.append(Route(a.network, iface.name, None, str(a.ip), "kernel"))
        return out

    def routes(self) -> List[Route]:
        """Every route, in `ip route`'s order (by destination; default first)."""
        return sorted(self.connected() + self.static,
                      key=lambda r: (int(r.dest.network_address), r.dest.prefixlen, r.metric))

    def add(self, dest: str, via: Optional[str] = None, dev: Optional[str] = None,
            src: Optional[str] = None, metric: int = 0) -> Route:
        """``ip route add DEST [via GW] [dev IFACE] [src ADDR] [metric N]``."""
        net = parse_prefix(dest)
        if via is None and dev is None:
            raise ValueError("a route needs a gateway (via=) or an interface (dev=)")
        if via is not None:
            via = str(ipaddress.IPv4Address(via))
            hop = self._direct(via)
            if hop is None:
                raise OSError(101, f"Nexthop has invalid gateway: {via} is not on a "
                                   f"network directly connected to {self.node.name}")
            if dev is not None and hop.dev != dev:
                raise OSError(101, f"Nexthop has invalid gateway: {via} is not on {dev}")
            dev = hop.dev
        elif dev not in self.node.interfaces:
            raise ValueError(f"{self.node.name} has no interface {dev!r} "
                             f"(it has {', '.join(self.node.interfaces) or 'none'})")
        if src is not None and src not in self.node.ips:
            raise OSError(99, f"Cannot assign requested address: {src} is not an address of "
                              f"{self.node.name}")
        route = Route(net, dev, via, src, "static", metric)
        if any(r.dest == net and r.metric == metric for r in self.static):
            raise FileExistsError(17, f"RTNETLINK answers: File exists ({dest} metric "
                                      f"{metric} is already in the table)")
        self.static.append(route)
        self.node.net.topology_changed()
        return route

    def delete(self, dest: str, metric: Optional[int] = None) -> None:
        """``ip route del DEST``; ESRCH ("No such process", as ip prints) when absent."""
        net = parse_prefix(dest)
        for r in self.static:
            if r.dest == net and (metric is None or r.metric == metric):
                self.static.remove(r)
                self.node.net.topology_changed()
                return
        raise OSError(3, f"RTNETLINK answers: No such process (no route to {dest})")

    # ------------------------------------------------------------------- lookup
    def _direct(self, addr: str) -> Optional[Route]:
        ip = ipaddress.IPv4Address(addr)
        best = None
        for r in self.connected() + [s for s in self.static if s.via is None]:
            if ip in r.dest and (best is None or r.dest.prefixlen > best.dest.prefixlen):
                best = r
        return best

    def lookup(self, dst: str) -> Optional[Route]:
        """The route for ``dst``: longest prefix, then lowest metric; None when none."""
        ip = address_int(dst)
        best, best_rank = None, None
        for network, mask, rank, route in self._rows():
            if ip & mask == network and (best is None or rank > best_rank):
                best, best_rank = route, rank
        return best

    def _rows(self) -> tuple:
        """The table as (network, netmask, (prefix length, -metric), route) integers, rebuilt
        when the topology or a route changes (every change bumps the network's version)."""
        stamp = self.node.net.topology_version
        if self._compiled[0] is not stamp:
            rows = tuple((int(r.dest.network_address), int(r.dest.netmask),
                          (r.dest.prefixlen, -r.metric), r)
                         for r in self.connected() + self.static)
            self._compiled = (stamp, rows)
        return self._compiled[1]

    def source_for(self, route: Route, dst: str) -> Optional[str]:
        """The source address Linux would pick for ``dst`` over ``route``."""
        if route.src:
            return route.src
        iface: "Interface" = self.node.interfaces[route.dev]
        toward = ipaddress.IPv4Address(route.via or dst)
        for a in iface.addrs:
            if toward in a.network:
                return str(a.ip)
        if iface.addrs:
            return str(iface.addrs[0].ip)
        return self.node.ips[0] if self.node.ips else None

    # -------------------------------------------------------------------- views
    def __str__(self) -> str:
        return "\n".join(str(r) for r in self.routes())

    def __repr__(self) -> str:
        return f"<RoutingTable of {self.node.name}: {len(self.routes())} routes>"
