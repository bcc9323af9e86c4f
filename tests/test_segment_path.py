"""The per-segment path between two stacks does only what a segment needs, and no less.

The fast path skips work nobody asked for (the arrival interface when no packet socket,
hook or forwarding wants it; the packet constructor's checks for the stack's own TCP
packets; the hook points of a node without netfilter hooks) and keeps each node's route
decisions in a cache; these tests check that whoever does ask still gets the right answer,
and that no cached route outlives a change of the topology or of a routing table.
"""
import simtcp
from simtcp.hooks import ACCEPT, Drop, HookPoint
from simtcp.reasons import DropReason
from simtcp.packet import Packet
from simtcp.segment import Segment


def test_the_stacks_tcp_packets_are_plain_packets():
    seg = Segment.parse("S. 0:0(0) ack 1 win 65160 <mss 1460>", sport=80, dport=40000)
    fast = Packet.tcp("10.0.0.2", "10.0.0.1", seg, 7)
    assert fast == Packet("10.0.0.2", "10.0.0.1", seg, ident=7)
    assert type(fast) is Packet and fast.segment is seg and fast.proto == 6 and fast.df
    assert fast.ttl == 64 and fast.tos == 0


def test_taps_and_hooks_of_a_host_still_learn_the_arrival_interface():
    net = simtcp.Network(seed=1, wire="fast")
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.001)
    srv = b.socket()
    srv.bind(("", 80))
    srv.listen(1)
    tapped, hooked = [], []
    b.add_tap(lambda packet, iface: tapped.append(iface))
    c = a.socket()
    c.connect(("10.0.0.2", 80))
    srv.accept()
    b.hooks.add(HookPoint.INPUT, lambda ctx: hooked.append(ctx.in_iface) or ACCEPT)
    c.sendall(b"x")
    net.run(until=net.now + 0.01)
    assert tapped and set(tapped) == {"eth0"}
    assert hooked and set(hooked) == {"eth0"}


def test_the_state_constants_are_the_members():
    """states.py unpacks the members into module constants in definition order (the hot
    TCP code compares with them): each name must be its own member."""
    from simtcp import states
    for member in states.State:
        assert getattr(states, member.name) is member


def test_a_cached_route_does_not_outlive_a_topology_change():
    net = simtcp.Network(seed=1, wire="fast")
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_lan([a, b], delay=0.001)
    nobody = a.route("10.0.0.3")                    # on the LAN, nobody answers ARP
    assert nobody.hop is None and a.route("10.0.0.2").hop is b
    assert a._route_cache and a._route_cache in net.route_caches
    c = net.add_host("c", "10.0.0.3")               # a new node, then its link
    assert not a._route_cache and net.route_caches == []
    assert a.route("10.0.0.3").hop is None
    net.add_link(a, c, delay=0.001)
    assert a.route("10.0.0.3").hop is c


def test_a_cached_route_does_not_outlive_a_route_change():
    net = simtcp.Network(seed=1, wire="fast")
    pc = net.add_host("pc", "192.168.1.10/24")
    r1 = net.add_router("r1", "192.168.1.1/24")
    r2 = net.add_router("r2", "192.168.1.2/24")
    net.add_lan([pc, r1, r2], delay=0.001)
    assert pc.route("203.0.113.5") is None          # no default route yet
    pc.ip_route("add", "default", "via", "192.168.1.1")
    assert pc.route("203.0.113.5").hop is r1
    pc.ip_route("add", "203.0.113.0/24", "via", "192.168.1.2")
    assert pc.route("203.0.113.5").hop is r2        # the longer prefix, at once
    pc.ip_route("del", "203.0.113.0/24")
    assert pc.route("203.0.113.5").hop is r1
    pc.ip_route("del", "default")
    assert pc.route("203.0.113.5") is None


def test_a_route_cache_stays_small_and_is_listed_once():
    net = simtcp.Network(seed=1, wire="fast")
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.001)
    for i in range(600):                            # a spoofed flood's addresses
        a.route(f"172.16.{i // 256}.{i % 256}")
    assert len(a._route_cache) <= 256 and net.route_caches == [a._route_cache]


def _connected(net, a, b):
    srv = b.socket()
    srv.bind(("", 80))
    srv.listen(1)
    c = a.socket()
    c.connect((b.ip, 80))
    s, _ = srv.accept()
    return c, s


def test_hooks_added_after_the_route_was_cached_see_the_next_packet():
    net = simtcp.Network(seed=1, wire="fast")
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.001)
    c, s = _connected(net, a, b)                    # a's route to b is cached by now
    seen = []
    a.hooks.add(HookPoint.OUTPUT, lambda ctx: seen.append("OUTPUT") or ACCEPT)
    a.hooks.add(HookPoint.POSTROUTING, lambda ctx: seen.append(ctx.out_iface) or ACCEPT)
    c.sendall(b"x")
    net.run(until=net.now + 0.01)
    assert seen[:2] == ["OUTPUT", "eth0"] and s.recv(10) == b"x"
    handle = a.hooks.add(HookPoint.POSTROUTING, lambda ctx: Drop(DropReason.HOOK))
    before = net.drops.get(DropReason.HOOK, 0)
    c.sendall(b"y")
    net.run(until=net.now + 0.01)
    assert net.drops.get(DropReason.HOOK, 0) > before
    a.hooks.remove(handle)


def test_a_capture_started_mid_connection_sees_arrivals_and_departures():
    for wire in ("fast", "bytes"):
        net = simtcp.Network(seed=1, wire=wire, capture=False)
        a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
        net.add_link(a, b, delay=0.001)
        c, s = _connected(net, a, b)
        on_b = net.capture.on(b, "eth0")
        c.sendall(b"x")
        s.recv(10)
        net.run(until=net.now + 0.5)
        texts = [str(p.packet) for p in on_b]
        assert any("10.0.0.1:" in t and "> 10.0.0.2:80" in t for t in texts)   # arrived
        assert any(t.startswith("10.0.0.2:80 >") for t in texts)               # left
        assert net.in_flight == 0
