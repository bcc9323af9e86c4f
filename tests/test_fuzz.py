"""Random and mutated bytes thrown at a stack in every state: never an exception out of the
simulation; every bad packet is dropped and counted with a reason."""
from hypothesis import HealthCheck, given, settings, strategies as st

import simtcp
from scapy.layers.inet import IP, TCP

from simtcp import wire
from simtcp.segment import Packet, Segment
from conftest import accounting_ok
from simtcp.reasons import DropReason


def busy_network():
    """A server whose stack holds a connection in (nearly) every state: LISTEN, SYN-SENT,
    SYN-RECEIVED, ESTABLISHED, CLOSE-WAIT, LAST-ACK, FIN-WAIT-2 and TIME-WAIT."""
    net = simtcp.Network(seed=9)
    c = net.add_host("c", "10.0.0.1")
    s = net.add_host("s", "10.0.0.2")
    p = net.add_peer("10.0.0.9")                          # a hand-driven client that never ACKs
    net.add_lan([c, s, p], delay=0.001)
    srv = s.socket()
    srv.bind(("", 80))
    srv.listen(8)
    established = c.socket()
    established.connect(("10.0.0.2", 80))
    srv.accept()
    tw = c.socket()
    tw.connect(("10.0.0.2", 80))
    srv.accept()[0].close()                               # server closes first ...
    tw.close()                                            # ... and ends in TIME-WAIT
    cw = c.socket()
    cw.connect(("10.0.0.2", 80))
    srv.accept()
    cw.close()                                            # server side: CLOSE-WAIT
    fw = c.socket()
    fw.connect(("10.0.0.2", 80))
    srv.accept()[0].close()                               # FIN-WAIT-2 (the client never closes)
    for sport, fin in ((6001, False), (6002, True)):      # 6001: SYN-RECEIVED, 6002: LAST-ACK
        p.send(IP(src="10.0.0.9", dst="10.0.0.2") / TCP(sport=sport, dport=80, flags="S", seq=9))
    net.run(until=net.now + 0.01)
    synack = [x for x in p.received if x[TCP].dport == 6002][0]
    p.send(IP(src="10.0.0.9", dst="10.0.0.2") /
           TCP(sport=6002, dport=80, flags="FA", seq=10, ack=synack[TCP].seq + 1))
    net.run(until=net.now + 0.01)
    srv.accept()[0].close()                               # CLOSE-WAIT -> LAST-ACK
    out = s.socket()
    out.setblocking(False)
    out.connect_ex(("10.0.0.9", 7777))                    # SYN-SENT: the peer stays silent
    net.run(until=net.now + 0.1)
    return net, s


VALID = wire.encode(Packet("10.0.0.1", "10.0.0.2",
                           Segment.parse("P. 1:11(10) ack 1 win 512", sport=40000, dport=80)))


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=120))
def test_random_bytes_never_crash(data):
    net, s = busy_network()
    s.inject(data)
    net.run(until=net.now + 1)
    assert accounting_ok(net)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.integers(0, len(VALID) - 1), st.integers(0, 255)), min_size=1,
                max_size=6))
def test_mutated_packets_are_dropped_with_a_reason_or_handled(mutations):
    net, s = busy_network()
    data = bytearray(VALID)
    for i, v in mutations:
        data[i] = v
    s.inject(bytes(data))
    net.run(until=net.now + 1)
    assert accounting_ok(net)
    last = [r for r in net.trace if r.pkt_id == net.trace.filter(kind="send",
                                                                   host="(inject)")[-1].pkt_id]
    ends = [r for r in last if r.kind in ("deliver", "drop")]
    assert len(ends) == 1
    if ends[0].kind == "drop":
        assert ends[0].reason in wire.REASONS or ends[0].reason is DropReason.NO_ROUTE


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["S", "S.", ".", "P.", "F.", "R", "R.", "F", "SF", "SR", ""]),
       st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 65535),
       st.sampled_from([40000, 40001, 40002, 5555]), st.binary(max_size=30))
def test_well_formed_segments_with_any_fields_never_crash(flags, seq, ack, win, sport, payload):
    net, s = busy_network()
    targets = {(t.remote_ip, t.remote_port, t.local_port) for t in s.stack.conns}
    targets.add(("10.0.0.1", sport, 80))
    for src, port, dport in sorted(targets):
        seg = Segment.parse(f"{flags or '.'} 0:0(0)", sport=port, dport=dport).replace(
            flags=simtcp.Flags(sum(simtcp.segment._LETTER_FLAGS[f] for f in set(flags))),
            seq=simtcp.Seq(seq), ack=simtcp.Seq(ack), window=win, payload=payload)
        s.inject(Packet(src, "10.0.0.2", seg))
    net.run(until=net.now + 2)
    assert accounting_ok(net)


def test_the_fuzzed_stack_really_has_connections_in_every_state():
    net, s = busy_network()
    states = {c.state.value for c in s.stack.conns.values()}
    assert states >= {"SYN-SENT", "SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK",
                      "FIN-WAIT-2", "TIME-WAIT"}
    assert s.stack.listeners
