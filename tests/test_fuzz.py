"""Random and mutated bytes thrown at a stack in every state: never an exception out of the
simulation; every bad packet is dropped and counted with a reason."""
from hypothesis import HealthCheck, given, settings, strategies as st

import simtcp
from simtcp import wire
from simtcp.segment import Packet, Segment
from conftest import accounting_ok


def busy_network():
    """A server with a listener, an established connection, a half-open one and a TIME-WAIT."""
    net = simtcp.Network(seed=9)
    c = net.add_host("c", "10.0.0.1")
    s = net.add_host("s", "10.0.0.2")
    net.add_link(c, s, delay=0.001)
    srv = s.socket()
    srv.bind(("", 80))
    srv.listen(8)
    a = c.socket()
    a.connect(("10.0.0.2", 80))
    conn, _ = srv.accept()
    b = c.socket()
    b.connect(("10.0.0.2", 80))
    srv.accept()[0].close()
    b.close()
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
        assert ends[0].reason in wire.REASONS or ends[0].reason == "no route to host"


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(["S", "S.", ".", "P.", "F.", "R", "R.", "F", "SF", "SR", ""]),
       st.integers(0, 2**32 - 1), st.integers(0, 2**32 - 1), st.integers(0, 65535),
       st.sampled_from([40000, 40001, 40002, 5555]), st.binary(max_size=30))
def test_well_formed_segments_with_any_fields_never_crash(flags, seq, ack, win, sport, payload):
    net, s = busy_network()
    for port in {sport} | {t.remote_port for t in s.stack.conns}:
        seg = Segment.parse(f"{flags or '.'} 0:0(0)", sport=port, dport=80).replace(
            flags=simtcp.Flags(sum(simtcp.segment._LETTER_FLAGS[f] for f in set(flags))),
            seq=simtcp.Seq(seq), ack=simtcp.Seq(ack), window=win, payload=payload)
        s.inject(Packet("10.0.0.1", "10.0.0.2", seg))
    net.run(until=net.now + 2)
    assert accounting_ok(net)
