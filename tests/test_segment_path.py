"""The per-segment path between two stacks does only what a segment needs, and no less.

The fast path skips work nobody asked for (the arrival interface when no packet socket,
hook or forwarding wants it; the packet constructor's checks for the stack's own TCP
packets); these tests check that whoever does ask still gets the right answer.
"""
import simtcp
from simtcp.hooks import ACCEPT, HookPoint
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
