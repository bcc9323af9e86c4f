"""Topology: hosts, routers, peers, links and LANs, and the classic networks in one call.

Theory of operation: `Topology` is the half of `simtcp.Network` that builds the graph (the
other half, `simtcp.sim`, keeps the clock). Nodes are registered by name; an address
belongs to one node only. Linking nodes gives each a new interface (`Node.attach`), whose
connected route appears in its routing table. Whenever something that routing depends on
changes, `topology_changed()` gives the network a new version stamp (for what is worked out
once per topology: compiled routing tables, implicit neighbours) and empties every node's
route cache (`simtcp.noderoute.RouteCache`).

Two ways to describe addresses, mixable:

* ``add_host("a", "10.0.0.1")`` — a bare address, simtcp's original implicit routing
  (neighbours that own the address, else a router on the segment or the far end);
* ``add_host("pc", "192.168.1.10/24", gateway="192.168.1.1")`` and
  ``add_router("r1", "192.168.1.1/24", "203.0.113.1/24")`` — interfaces with prefixes,
  connected routes, a default route, longest-prefix match, as on a real machine.

`home_lan`, `office_dmz` and `two_sites` build the classic teaching networks.
"""
from __future__ import annotations

import types
from typing import TYPE_CHECKING, Dict, Iterable, List, Optional, Sequence, Union

from .link import Lan, Link

if TYPE_CHECKING:  # pragma: no cover
    from .node import Node

__all__ = ["Topology"]


class Topology:
    """The topology-building methods of `simtcp.Network`."""

    nodes: Dict[str, "Node"]
    links: List[Link]
    route_caches: list      # the nodes' RouteCaches that hold something (Network.__init__)

    # -------------------------------------------------------------- registration
    def topology_changed(self) -> None:
        """Invalidate every route decision (links, addresses or routes changed): a new
        version stamp, and every route cache that holds something emptied."""
        self.topology_version = object()
        for cache in self.route_caches:
            cache.clear()
            cache.listed = False
        self.route_caches.clear()

    def _register(self, node: "Node") -> "Node":
        self.topology_changed()
        if node.name in self.nodes:
            raise ValueError(f"a node named {node.name!r} already exists")
        for ip in node.ips:
            owner = self.owner(ip)
            if owner is not None:
                raise ValueError(f"{ip} already belongs to {owner.name}")
        self.nodes[node.name] = node
        return node

    def owner(self, ip: str) -> Optional["Node"]:
        for node in self.nodes.values():
            if ip in node.ips:
                return node
        return None

    def __getitem__(self, name: str) -> "Node":
        return self.nodes[name]

    # --------------------------------------------------------------------- nodes
    def add_host(self, name: str, ip: Union[str, Sequence[str]], os: str = "linux",
                 gateway: Optional[str] = None):
        """A host with a TCP stack. ``os`` picks the defaults: linux|windows|macos|freebsd.
        ``ip`` is ``"10.0.0.1"`` (implicit routing) or ``"192.168.1.10/24"`` (an interface
        address with its prefix); ``gateway`` becomes the default route."""
        from .host import Host
        ips = [ip] if isinstance(ip, str) else list(ip)
        return self._register(Host(self, name, ips, os=os, gateway=gateway))

    def add_router(self, name: str, *addresses: str, os: str = "linux"):
        """A router: a host that forwards (``net.ipv4.ip_forward=1``), one interface per
        address, e.g. ``add_router("r1", "192.168.1.1/24", "203.0.113.1/24")``. Each
        address goes to the interface whose link reaches its subnet."""
        from .host import Router
        if not addresses:
            raise ValueError("a router needs at least one address, e.g. '192.168.1.1/24'")
        return self._register(Router(self, name, list(addresses), os=os))

    def add_peer(self, ip: str, name: Optional[str] = None):
        """A raw endpoint with no TCP stack: it records what arrives and sends only what you
        give it (labs where the student is the TCP stack)."""
        from .host import Peer
        return self._register(Peer(self, name or f"peer-{ip}", [ip]))

    # --------------------------------------------------------------------- links
    def add_link(self, a: "Node", b: "Node", delay: float = 0.010, loss: float = 0.0,
                 bandwidth: Optional[float] = None, name: str = "",
                 queue_limit: Optional[int] = None, mtu: int = 1500) -> Link:
        """A point-to-point link; ``delay`` in seconds one way, ``loss`` a probability,
        ``mtu`` of both new interfaces in bytes."""
        link = Link(self, [a, b], delay, loss, bandwidth, name, queue_limit)
        return self._attach(link, mtu)

    def add_lan(self, nodes: Iterable["Node"], delay: float = 0.001, loss: float = 0.0,
                bandwidth: Optional[float] = None, name: str = "lan", mtu: int = 1500) -> Lan:
        """A shared segment (switch) connecting many nodes."""
        return self._attach(Lan(self, list(nodes), delay, loss, bandwidth, name), mtu)

    def _attach(self, link: Link, mtu: int = 1500) -> Link:
        if not isinstance(mtu, int) or not 68 <= mtu <= 65535:
            raise ValueError(f"mtu must be 68..65535 bytes (RFC 791 minimum 68), got {mtu!r}")
        for n in link.nodes:
            if n.net is not self:
                raise ValueError(f"{n.name} belongs to another Network")
        for n in link.nodes:
            n.attach(link, mtu)
        self.links.append(link)
        self.topology_changed()
        return link

    # ------------------------------------------------------------ classic networks
    def home_lan(self, hosts: Sequence[str] = ("laptop", "phone"), delay: float = 0.001,
                 wan_delay: float = 0.010) -> types.SimpleNamespace:
        """A home network: ``hosts`` on 192.168.1.0/24 behind ``router`` (192.168.1.1,
        WAN 203.0.113.2/24), whose ISP side has ``server`` (203.0.113.80) — the
        documentation ranges of RFC 1918 and RFC 5737. Returns a namespace of the nodes."""
        router = self.add_router("router", "192.168.1.1/24", "203.0.113.2/24")
        inside = [self.add_host(h, f"192.168.1.{10 + i}/24", gateway="192.168.1.1")
                  for i, h in enumerate(hosts)]
        server = self.add_host("server", "203.0.113.80/24", gateway="203.0.113.2")
        lan = self.add_lan(inside + [router], delay=delay, name="home-lan")
        wan = self.add_link(router, server, delay=wan_delay, name="wan")
        return types.SimpleNamespace(router=router, server=server, lan=lan, wan=wan,
                                     hosts=inside, **{h.name: h for h in inside})

    def office_dmz(self, delay: float = 0.001, wan_delay: float = 0.010
                   ) -> types.SimpleNamespace:
        """An office: ``pc`` on the inside LAN 10.0.0.0/24, ``web`` in the DMZ
        172.16.0.0/24, one ``firewall`` router with three interfaces (inside eth0, DMZ
        eth1, outside eth2 203.0.113.1/24) and an ``outsider`` on the internet side."""
        fw = self.add_router("firewall", "10.0.0.1/24", "172.16.0.1/24", "203.0.113.1/24")
        pc = self.add_host("pc", "10.0.0.10/24", gateway="10.0.0.1")
        web = self.add_host("web", "172.16.0.80/24", gateway="172.16.0.1")
        outsider = self.add_host("outsider", "203.0.113.99/24", gateway="203.0.113.1")
        inside = self.add_lan([pc, fw], delay=delay, name="inside")
        dmz = self.add_lan([web, fw], delay=delay, name="dmz")
        outside = self.add_link(fw, outsider, delay=wan_delay, name="outside")
        return types.SimpleNamespace(firewall=fw, pc=pc, web=web, outsider=outsider,
                                     inside=inside, dmz=dmz, outside=outside)

    def two_sites(self, delay: float = 0.001, wan_delay: float = 0.010
                  ) -> types.SimpleNamespace:
        """"The internet" between two sites: ``alice`` (192.168.1.10) behind ``ra``,
        ``bob`` (192.168.2.10) behind ``rb``, and two provider routers ``isp1``,
        ``isp2`` between them on /30 links — four routers, so traceroute has hops to
        show. Providers route only the two sites (no default: anything else is
        unreachable)."""
        ra = self.add_router("ra", "192.168.1.1/24", "198.51.100.1/30")
        isp1 = self.add_router("isp1", "198.51.100.2/30", "198.51.100.5/30")
        isp2 = self.add_router("isp2", "198.51.100.6/30", "198.51.100.9/30")
        rb = self.add_router("rb", "198.51.100.10/30", "192.168.2.1/24")
        alice = self.add_host("alice", "192.168.1.10/24", gateway="192.168.1.1")
        bob = self.add_host("bob", "192.168.2.10/24", gateway="192.168.2.1")
        self.add_lan([alice, ra], delay=delay, name="site-a")
        self.add_link(ra, isp1, delay=wan_delay, name="ra-isp1")
        self.add_link(isp1, isp2, delay=wan_delay, name="isp1-isp2")
        self.add_link(isp2, rb, delay=wan_delay, name="isp2-rb")
        self.add_lan([bob, rb], delay=delay, name="site-b")
        ra.routes.add("default", via="198.51.100.2")
        rb.routes.add("default", via="198.51.100.9")
        isp1.routes.add("192.168.1.0/24", via="198.51.100.1")
        isp1.routes.add("192.168.2.0/24", via="198.51.100.6")
        isp2.routes.add("192.168.1.0/24", via="198.51.100.5")
        isp2.routes.add("192.168.2.0/24", via="198.51.100.10")
        return types.SimpleNamespace(alice=alice, bob=bob, ra=ra, rb=rb, isp1=isp1,
                                     isp2=isp2)
