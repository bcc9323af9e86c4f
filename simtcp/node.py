"""Nodes: named interfaces and the IP layer — ip_input, ip_output, forwarding — with hook points.

Theory of operation
-------------------
A node has interfaces ``eth0``, ``eth1``, … (`Interface`: addresses with prefixes, an MTU,
the link it is plugged into), a routing table (`simtcp.routes`) and netfilter-style hooks
(`simtcp.hooks`). Interfaces are made when links are attached: the first link gets
``eth0``; an address given with a prefix goes to the interface whose link reaches its subnet
(else the next free one). Its packets follow Linux's IPv4 paths::

    ip_output (locally generated):  route → OUTPUT → POSTROUTING → neighbour → wire
    ip_input  (arrived on a wire):  PREROUTING → route → INPUT → the protocol (TCP/UDP/ICMP)
                                                       └→ forward (routers only)
    forward:  no route → ICMP 3/0; TTL ≤ 1 → ICMP 11/0; DF and over the MTU → ICMP 3/4;
              TTL − 1 → FORWARD → POSTROUTING → neighbour → wire

(net/ipv4/ip_output.c ip_local_out(), ip_input.c ip_rcv()/ip_local_deliver(), ip_forward.c
ip_forward(), route.c ip_error()). "Neighbour" is ARP: the node on the link that owns the
next-hop address; when nobody does, the packet waits out ARP's three unanswered requests
(1 s apart: arp_tbl's mcast_solicit 3, retrans_time 1 s, net/ipv4/arp.c) and is dropped, and
the node reports ICMP host unreachable (3/1) to the packet's source (arp_error_report() →
ipv4_link_failure()) — to itself for a local packet, which is how connect() learns
EHOSTUNREACH.

Packet ids: each copy of a packet on a wire has its own id. A node that hands a packet on —
forwarded, or rewritten by a hook — closes the old id with a ``deliver`` record and opens a
new one (``send`` with ``parent``), so "sent = delivered + dropped + in flight" holds per
hop and a ladder can follow a packet across routers.

Addresses given without a prefix (``add_host("a", "10.0.0.1")``) keep simtcp's original
implicit routing: a neighbour on a shared link that owns the destination, else the
gateway, a router on a shared segment, or the far end of a sole point-to-point link.
"""
from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Callable, Dict, List, Optional, Sequence, Union

from . import wire
from .netfilter import NetfilterCommands
from .hooks import ACCEPT, HookContext, HookPoint, Hooks, Reply
from .packet import IcmpMessage, Packet, total_length
from .reasons import DropReason, EventKind, SendCause
from .noderoute import LOCAL, RouteCache, RouteDecisions, RouteHit
from .routes import RoutingTable

if TYPE_CHECKING:  # pragma: no cover
    from .link import Link
    from .sim import Network

__all__ = ["Node", "Interface", "RouteHit", "check_ip", "parse_address", "ARP_FAIL_DELAY"]

#: Seconds until an unanswered ARP gives up: mcast_solicit (3) × retrans_time (1 s).
ARP_FAIL_DELAY = 3.0
_PRE, _IN, _FWD, _OUT, _POST = (HookPoint.PREROUTING, HookPoint.INPUT, HookPoint.FORWARD,
                                HookPoint.OUTPUT, HookPoint.POSTROUTING)


def check_ip(ip: str) -> str:
    """Validate a dotted-quad IPv4 address (ValueError that says what is wrong)."""
    try:
        return str(ipaddress.IPv4Address(ip))
    except (ipaddress.AddressValueError, ValueError, TypeError):
        raise ValueError(f"{ip!r} is not an IPv4 address (expected dotted quad like "
                         "'192.168.1.10')") from None


def parse_address(text: str) -> tuple:
    """``"192.168.1.10/24"`` → (IPv4Interface, True); a bare address → (…/32, False)."""
    if isinstance(text, str) and "/" in text:
        try:
            return ipaddress.IPv4Interface(text), True
        except ValueError as e:
            raise ValueError(f"{text!r} is not an address with a prefix like "
                             f"'192.168.1.10/24' ({e})") from None
    return ipaddress.IPv4Interface(check_ip(text)), False


class Interface:
    """A network interface: ``name`` (eth0…), addresses with prefixes, ``mtu``, ``link``."""

    def __init__(self, node: "Node", name: str, addrs: Sequence = (), mtu: int = 1500):
        self.node, self.name, self.mtu = node, name, mtu
        self.addrs: List[ipaddress.IPv4Interface] = list(addrs)
        self.link: Optional["Link"] = None
        self._ip_text: tuple = (None, None)    # (addrs[0], its address as text)

    @property
    def ip(self) -> Optional[str]:
        if not self.addrs:
            return None
        first = self.addrs[0]
        if self._ip_text[0] is not first:      # routing asks on every packet
            self._ip_text = (first, str(first.ip))
        return self._ip_text[1]

    def __repr__(self) -> str:
        return (f"<Interface {self.node.name}:{self.name} "
                f"{' '.join(a.with_prefixlen for a in self.addrs) or '-'} mtu {self.mtu}>")


class _Loopback:
    """The ``lo`` device: what a packet to one of our own addresses arrives on."""
    name = "lo"


LOOPBACK = _Loopback()


class Node(RouteDecisions, NetfilterCommands):
    """Anything with interfaces and addresses that links can deliver to."""

    forwarding = False

    def __init__(self, net: "Network", name: str, ips: Sequence[str],
                 gateway: Optional[str] = None):
        self.net = net
        self.name = name
        parsed = [parse_address(ip) for ip in ips]
        self._pending = [a for a, _ in parsed]
        self.legacy = not any(explicit for _, explicit in parsed)
        self.ips: List[str] = [str(a.ip) for a, _ in parsed]
        self.interfaces: Dict[str, Interface] = {}
        self.links: List["Link"] = []
        self.routes = RoutingTable(self)
        self.hooks = Hooks()
        self.gateway_ip = check_ip(gateway) if gateway is not None else None
        self._route_cache = RouteCache(self)           # destination -> RouteHit (route())
        self._neighbours: tuple = (None, {}, None)     # see _implicit_route
        self._iface_by_link: dict = {}
        self.taps: List[Callable] = []     # packet sockets (AF_PACKET): see add_tap

    @property
    def ip(self) -> str:
        """The node's primary address."""
        return self.ips[0]

    def __repr__(self) -> str:
        return f"<{type(self).__name__} {self.name} {', '.join(self.ips)}>"

    # ---------------------------------------------------------------- interfaces
    def attach(self, link: "Link", mtu: int = 1500) -> Interface:
        """Plug a new interface (eth0, eth1, …) into ``link``; called by the Network."""
        iface = Interface(self, f"eth{len(self.interfaces)}", mtu=mtu)
        if self._pending:
            pick = self._pending[0]
            if not self.legacy:
                others = [ipaddress.IPv4Address(ip) for n in link.nodes if n is not self
                          for ip in n.ips]
                pick = next((a for a in self._pending
                             if any(o in a.network for o in others)), pick)
            if self.legacy:                       # bare addresses: all on the first interface
                iface.addrs, self._pending = self._pending, []
            else:
                iface.addrs = [pick]
                self._pending.remove(pick)
        iface.link = link
        self.interfaces[iface.name] = iface
        self._iface_by_link.setdefault(id(link), iface.name)
        self.links.append(link)
        if self.gateway_ip is not None and not any(r.dest.prefixlen == 0
                                                   for r in self.routes.static):
            if self.routes._direct(self.gateway_ip) is not None:
                self.routes.add("default", via=self.gateway_ip)
        return iface

    def iface_of(self, link: Optional["Link"]) -> Optional[str]:
        """The name of our interface on ``link`` (None: not attached, or no link)."""
        return self._iface_by_link.get(id(link)) if link is not None else None

    def ip_addr(self, dev: Optional[str] = None, brief: bool = False) -> str:
        """The interfaces in ``ip addr`` 's layout (iproute2 ipaddress.c), or one (``dev``),
        or ``ip -br addr`` 's table. simtcp models no link layer, so each interface shows a
        locally administered MAC made from its first address (02:00 + the four bytes)."""
        rows = [("lo", "LOOPBACK,UP,LOWER_UP", 65536, "noqueue", "UNKNOWN",
                 "link/loopback 00:00:00:00:00:00 brd 00:00:00:00:00:00",
                 [("127.0.0.1/8", "", "host")])]
        for iface in self.interfaces.values():
            first = iface.addrs[0].ip.packed if iface.addrs else bytes(4)
            mac = ":".join(f"{b:02x}" for b in b"\x02\x00" + first)
            rows.append((iface.name, "BROADCAST,MULTICAST,UP,LOWER_UP", iface.mtu, "fq_codel",
                         "UP", f"link/ether {mac} brd ff:ff:ff:ff:ff:ff",
                         [(a.with_prefixlen, f" brd {a.network.broadcast_address}"
                           if a.network.prefixlen < 31 else "", "global")
                          for a in iface.addrs]))
        if dev is not None:
            rows = [(i, r) for i, r in enumerate(rows, 1) if r[0] == dev]
            if not rows:
                raise ValueError(f'Device "{dev}" does not exist.')
        else:
            rows = list(enumerate(rows, 1))
        lines = []
        for i, (name, flags, mtu, qdisc, state, link, addrs) in rows:
            if brief:                    # print_linkinfo_brief: "%-16s " name, "%-14s " state
                lines.append(f"{name:<16} {state:<14} "
                             + "".join(f"{a} " for a, _b, _s in addrs))
                continue
            lines.append(f"{i}: {name}: <{flags}> mtu {mtu} qdisc {qdisc} state {state} "
                         "group default qlen 1000")
            lines.append(f"    {link}")
            for addr, brd, scope in addrs:
                lines.append(f"    inet {addr}{brd} scope {scope} {name}")
                lines.append("       valid_lft forever preferred_lft forever")
        return "\n".join(lines)

    def ip_route(self, *args: str) -> str:
        """``ip route`` (no arguments: show) or ``ip_route("add", "10.0.0.0/8", "via",
        "192.168.1.254")`` / ``("del", "10.0.0.0/8")``, as the ip command takes them."""
        if not args or args[0] in ("show", "list"):
            return str(self.routes)
        verb, rest = args[0], list(args[1:])
        if verb in ("add", "del", "delete") and rest:
            dest, kw = rest.pop(0), {}
            while rest:
                key = rest.pop(0)
                if key not in ("via", "dev", "src", "metric") or not rest:
                    raise ValueError(f'ip route: unknown or incomplete argument "{key}"')
                kw[key] = rest.pop(0)
            if "metric" in kw:
                kw["metric"] = int(kw["metric"])
            if verb == "add":
                self.routes.add(dest, **kw)
            else:
                self.routes.delete(dest, kw.get("metric"))
            return ""
        raise ValueError(f'ip route: command "{" ".join(args)}" is unknown or not modelled '
                         f'(try show, add, del)')

    # ------------------------------------------------------------------ ip_output
    def transmit(self, packet: Packet, reason: object = "", rfc: str = "",
                 data: Optional[bytes] = None, conn=None, detail: tuple = (),
                 parent: Optional[int] = None) -> int:
        """Send a locally generated packet (ip_local_out); returns its packet id."""
        net = self.net
        pkt_id = net.new_packet_id()
        if net.trace.enabled:
            net.trace.record(net.now, "send", self.name, packet, pkt_id, conn, reason=reason,
                             rfc=rfc, detail=detail, parent=parent)
        hit = self._route_cache[packet.dst]
        if hit is None:
            self.drop_packet(pkt_id, packet, DropReason.NO_ROUTE,
                             f"{self.name} has no route to {packet.dst}")
            return pkt_id
        if hit.hop is not None and not self.hooks.chains:
            # the common case: a neighbour on a wire, and no netfilter hook to run (as
            # Linux's nf_hook() skips hook points nobody registered at): onto the wire
            hit.link.transmit(self, packet, data, pkt_id, hit.hop)
            return pkt_id
        original = packet
        if self.hooks.chains:
            # a packet to one of our own addresses meets OUTPUT and POSTROUTING too (on
            # "lo"), as Linux's loopback traffic does: ip_local_out → ip_output → lo
            packet = self._hook(_OUT, packet, pkt_id, None, hit.iface)
            if packet is None:
                return pkt_id
            if packet.dst != original.dst:              # rerouted after a rewrite (DNAT):
                hit = self._route_cache[packet.dst]     # ip_route_me_harder()
                if hit is None:
                    self.drop_packet(pkt_id, packet, DropReason.NO_ROUTE)
                    return pkt_id
        if hit is LOCAL:
            self._finish_local(pkt_id, packet, original)
            return pkt_id
        self._finish_output(pkt_id, packet, original, hit, data)
        return pkt_id

    def _finish_local(self, pkt_id: int, packet: Packet, original: Packet) -> None:
        """POSTROUTING on ``lo``, a new id if the packet was rewritten, then back in."""
        if self.hooks.chains:
            packet = self._hook(_POST, packet, pkt_id, None, "lo")
            if packet is None:
                return
        if packet is not original:
            pkt_id = self.new_copy(pkt_id, packet, SendCause.REWRITTEN)
        self._loopback(pkt_id, packet)

    def _finish_output(self, pkt_id: int, packet: Packet, original: Packet, hit: RouteHit,
                       data: Optional[bytes]) -> None:
        """POSTROUTING, a new id if the packet was rewritten, neighbour lookup, the wire."""
        if self.hooks.chains:
            packet = self._hook(_POST, packet, pkt_id, None, hit.iface)
            if packet is None:
                return
        if packet is not original:
            pkt_id = self.new_copy(pkt_id, packet, SendCause.REWRITTEN)
            data = None
        if hit.hop is None:
            if self.legacy:           # implicit routing: dropped at once, as simtcp always did
                self.drop_packet(pkt_id, packet, DropReason.NO_ROUTE,
                                 "nobody on this segment owns the destination address "
                                 "(ARP fails)")
                return
            self._arp_fail(pkt_id, packet, hit)
            return
        hit.link.transmit(self, packet, data, pkt_id, hit.hop)

    def new_copy(self, pkt_id: int, packet: Packet, reason: SendCause) -> int:
        """Close ``pkt_id`` here and open a new id for ``packet`` (module docstring)."""
        net = self.net
        new = net.new_packet_id()
        if net.trace.enabled:
            rec = net.trace.record
            rec(net.now, "deliver", self.name, None, pkt_id, reason=reason)
            rec(net.now, "send", self.name, packet, new, reason=reason, parent=pkt_id)
        return new

    def _loopback(self, pkt_id: int, packet: Packet) -> None:
        """A packet to one of our own addresses goes through ``lo``, not a wire."""
        self.net.deliver_later(self.net.now, self, pkt_id, packet, LOOPBACK)

    def _arp_fail(self, pkt_id: int, packet: Packet, hit: RouteHit) -> None:
        net = self.net
        net.in_flight += 1            # waiting for ARP: not yet delivered nor dropped
        net.call_later(ARP_FAIL_DELAY, self._arp_gave_up, pkt_id, packet, hit)

    def _arp_gave_up(self, pkt_id: int, packet: Packet, hit: RouteHit) -> None:
        self.net.in_flight -= 1
        nexthop = hit.via or packet.dst
        self.drop_packet(pkt_id, packet, DropReason.HOST_UNREACHABLE,
                         f"no ARP reply for {nexthop} on {hit.iface} (3 requests, 1 s apart)")
        self.icmp_error(packet, pkt_id, 3, 1)

    # ------------------------------------------------------------------- ip_input
    def receive(self, pkt_id: int, payload: Union[Packet, bytes], link) -> None:
        """A packet arrives from ``link`` (`LOOPBACK` for lo; None: injected): what Linux's
        __netif_receive_skb() does — captures on the interface see it — then ip_rcv().
        A packet from a link or lo was in flight until now (`Network.deliver_later`
        schedules this call)."""
        net = self.net
        if link is not None:
            net.in_flight -= 1
            if net.capture.taps:
                self._capture_arrival(pkt_id, payload, link)
        data = None
        if type(payload) is not Packet:
            data = bytes(payload)
            try:
                packet = wire.decode(data)
            except wire.DecodeError as e:
                net.drop(self.name, pkt_id, None, e.reason, "malformed packet discarded")
                self.count_drop(e.reason)
                return
        else:
            packet = payload
        if not (self.taps or self.hooks.chains) and packet.dst in self.ips:
            # the common case: for us, and nothing watches or filters on the way in
            if net.trace.enabled:
                net.trace.record(net.now, "deliver", self.name, packet, pkt_id)
            self.deliver(packet, pkt_id)
            return
        # only packet sockets, hooks and forwarding ask which interface it came in on
        in_iface = self._in_iface(link) if self.taps or self.hooks.chains or self.forwarding \
            else None
        for tap in self.taps:
            tap(packet, in_iface)
        original = packet
        if self.hooks.chains:
            packet = self._hook(_PRE, packet, pkt_id, in_iface, None)
            if packet is None:
                return
        # 127/8 is local only on lo; from a wire (or injected) a martian (ip_route_input)
        if packet.dst in self.ips or (link is LOOPBACK and packet.dst[:4] == "127."):
            if self.hooks.chains:
                packet = self._hook(_IN, packet, pkt_id, in_iface, None)
                if packet is None:
                    return
            if packet is not original:
                pkt_id = self.new_copy(pkt_id, packet, SendCause.REWRITTEN)
            if net.trace.enabled:
                net.trace.record(net.now, "deliver", self.name, packet, pkt_id)
            self.deliver(packet, pkt_id)
            return
        if packet.dst[:4] == "127.":      # ip_route_input_slow(): martian destination
            self.drop_packet(pkt_id, packet, DropReason.NO_ROUTE,
                             f"martian destination {packet.dst} from a wire")
            self.count_drop(DropReason.NO_ROUTE)
            return
        if self.forwarding:
            self.forward(pkt_id, packet, in_iface, data if packet is original else None)
            return
        # Linux ip_route_input_slow() without forwarding: -EHOSTUNREACH, counted, no ICMP
        self.drop_packet(pkt_id, packet, DropReason.NO_ROUTE,
                         f"{packet.dst} is not an address of {self.name}")
        self.count_drop(DropReason.NO_ROUTE)

    def _capture_arrival(self, pkt_id: int, payload: Union[Packet, bytes], link) -> None:
        """A per-interface capture (`Capture.on`) on the interface ``link`` arrives at."""
        net = self.net
        tap = net.capture.taps.get((self.name, self.iface_of(link)))
        if tap is not None:
            raw = payload if type(payload) is bytes else None
            try:
                packet = payload if raw is None else wire.decode(raw)
            except wire.DecodeError:
                packet = None
            tap.append(net.now, link.name, pkt_id, packet, raw)

    def _in_iface(self, link) -> Optional[str]:
        """The name of the interface a packet from ``link`` arrives on ("lo" for loopback,
        None for an injected packet)."""
        if link is LOOPBACK:
            return "lo"
        return self._iface_by_link.get(id(link)) if link is not None else None

    def add_tap(self, fn: Callable) -> Callable:
        """A packet socket (AF_PACKET, what libpcap uses): ``fn(packet, in_iface)`` sees every
        packet that arrives, before netfilter's PREROUTING — so a tool like nmap or knockd
        sees replies and knocks that a firewall rule on this node drops. It only watches:
        the packet goes on to the hooks and the stack whatever ``fn`` does. Returns ``fn``
        (the handle for `remove_tap`)."""
        self.taps = self.taps + [fn]           # copy: a tap may remove itself while called
        return fn

    def remove_tap(self, fn: Callable) -> None:
        self.taps = [t for t in self.taps if t is not fn]

    def send_raw(self, packet: Packet) -> int:
        """A raw socket (SOCK_RAW with IP_HDRINCL): send ``packet`` exactly as built, through
        this node's OUTPUT and POSTROUTING hooks and its routing table, as Linux's
        raw_send_hdrinc() does. Returns the packet id."""
        return self.transmit(packet, SendCause.RAW)

    def count_drop(self, reason: DropReason) -> None:
        pass

    def deliver(self, packet: Packet, pkt_id: int) -> None:
        raise NotImplementedError

    def drop_packet(self, pkt_id: int, packet: Optional[Packet], reason: DropReason,
                    detail: str = "") -> None:
        self.net.drop(self.name, pkt_id, packet, reason, detail)

    # -------------------------------------------------------------------- forward
    def forward(self, pkt_id: int, packet: Packet, in_iface: Optional[str],
                data: Optional[bytes] = None) -> None:
        """ip_forward() (net/ipv4/ip_forward.c), for nodes with ``forwarding = True``."""
        if not self.forwarding:
            raise NotImplementedError(f"{type(self).__name__} {self.name} does not forward")
        hit = self._route_cache[packet.dst]
        if hit is None:                   # ip_route_input_slow: -ENETUNREACH → ip_error()
            self.drop_packet(pkt_id, packet, DropReason.NO_ROUTE,
                             f"{self.name} has no route to {packet.dst}")
            self.icmp_error(packet, pkt_id, 3, 0, data=data)
            return
        if packet.ttl <= 1:               # checked before the decrement: the quote says 1
            self.drop_packet(pkt_id, packet, DropReason.TTL_EXCEEDED,
                             f"TTL {packet.ttl} would reach 0 at {self.name}")
            self.icmp_error(packet, pkt_id, 11, 0, data=data)
            return
        if hit is not LOCAL:
            mtu = self.interfaces[hit.iface].mtu
            if total_length(packet) > mtu:
                if packet.df:             # ip_exceeds_mtu() → ICMP_FRAG_NEEDED, RFC 1191
                    self.drop_packet(pkt_id, packet, DropReason.FRAG_NEEDED,
                                     f"{total_length(packet)} bytes with DF over {hit.iface} "
                                     f"MTU {mtu}")
                    self.icmp_error(packet, pkt_id, 3, 4, rest=mtu, data=data)
                else:
                    self.drop_packet(pkt_id, packet, DropReason.FRAG_NOT_MODELLED,
                                     f"{total_length(packet)} bytes without DF over MTU {mtu}"
                                     f": Linux would fragment; simtcp does not")
                return
        fwd = packet.with_ttl(packet.ttl - 1)    # ip_decrease_ttl()
        if data is not None:
            data = decrement_ttl(data)
        if self.hooks.chains:
            out = self._hook(_FWD, fwd, pkt_id, in_iface, hit.iface)
            if out is None:
                return
            if out is not fwd:
                data = None
                fwd = out
        net = self.net
        new = net.new_packet_id()
        if net.trace.enabled:
            rec = net.trace.record
            rec(net.now, "deliver", self.name, packet, pkt_id, reason=SendCause.FORWARDED)
            rec(net.now, "send", self.name, fwd, new, reason=SendCause.FORWARDED,
                detail=(("in", in_iface), ("out", hit.iface)), parent=pkt_id)
        if hit is LOCAL:
            self._loopback(new, fwd)
            return
        self._finish_output(new, fwd, fwd, hit, data)

    # ---------------------------------------------------------------------- hooks
    def _hook(self, point: HookPoint, packet: Packet, pkt_id: int, in_iface, out_iface):
        """Run one hook point; the packet to continue with, or None when it ended here."""
        net = self.net
        ctx = HookContext(self, point, packet, pkt_id, in_iface, out_iface, net.now)
        verdict, packet, rewrites = self.hooks.run(ctx)
        if rewrites and net.trace.enabled:
            net.trace.record(net.now, "event", self.name, packet, pkt_id,
                             what=EventKind.REWRITE,
                             detail=(("hook", point.name), ("by", ", ".join(rewrites))))
        if verdict is ACCEPT:
            return packet
        reason, detail = verdict.reason, verdict.detail
        if not isinstance(reason, DropReason):     # a hook's own words: display text only
            detail = f"{reason}: {detail}" if detail else str(reason)
            reason = DropReason.REJECTED if isinstance(verdict, Reply) else DropReason.HOOK
        self.drop_packet(pkt_id, packet, reason, detail or f"{point.name} hook")
        if isinstance(verdict, Reply):
            for p in verdict.packets:
                self.transmit(p, SendCause.REJECT_REPLY, detail=(("hook", point.name),),
                              parent=pkt_id)
        return None

    # ----------------------------------------------------------------------- ICMP
    def icmp_error(self, packet: Packet, pkt_id: int, type_: int, code: int, rest: int = 0,
                   data: Optional[bytes] = None) -> Optional[int]:
        """Send an ICMP error about ``packet`` to its source, as Linux __icmp_send()
        (net/ipv4/icmp.c) does; returns the error's packet id, or None when the rules say
        no error may be sent."""
        from .icmp import build_error
        err = build_error(self, packet, type_, code, rest, data)
        if err is None:
            return None
        return self.transmit(err, SendCause.ICMP_ERROR, "RFC 792; RFC 1812 §4.3.2.3",
                             detail=(("icmp", str(IcmpMessage(type_, code, rest))),),
                             parent=pkt_id)


def decrement_ttl(data: bytes) -> bytes:
    """TTL − 1 with the header checksum updated incrementally, as Linux ip_decrease_ttl()
    (include/net/ip.h) does it (RFC 1624): the TTL is the high byte of word 4, so the
    checksum goes up by 0x0100 with end-around carry (and 0xFFFF becomes 0x0000, the
    value a fresh computation gives)."""
    check = int.from_bytes(data[10:12], "big") + 0x0100
    check = (check + (check >= 0xFFFF)) & 0xFFFF
    return data[:8] + bytes((data[8] - 1,)) + data[9:10] + check.to_bytes(2, "big") + data[12:]

