"""Nothing grows without bound: closed connections are freed, the trace and the capture can
be capped (and the capture streamed to disk), link queues drop-tail like txqueuelen."""
import io
import os

import pytest

import simtcp
from conftest import accounting_ok
from soak import soak
from simtcp.link import DEFAULT_QUEUE_LIMIT
from simtcp.reasons import DropReason
from simtcp.segment import Flags, Packet, Segment
from simtcp.seq import Seq


def short_connections(net, n):
    c, s = net["c"], net["s"]
    lst = s.socket()
    lst.bind(("", 80))
    lst.listen(16)
    for _ in range(n):
        a = c.socket()
        a.connect(("10.1.0.2", 80))
        b, _ = lst.accept()
        a.sendall(b"x")
        b.recv(1)
        b.close()
        a.close()
    net.run()
    return lst


def two_hosts(**kw):
    net = simtcp.Network(seed=4, **kw)
    c = net.add_host("c", "10.1.0.1")
    s = net.add_host("s", "10.1.0.2")
    net.add_link(c, s, delay=0.001)
    return net, c, s


def test_closed_connections_leave_the_socket_and_owner_tables():
    """Before: host.sockets and stack.owner kept two entries per closed connection for
    ever (100,000 dead objects after 50,000 connections)."""
    net, c, s = two_hosts(trace=False, capture=False)
    lst = short_connections(net, 200)
    assert c.sockets == [] and s.sockets == [lst]
    assert not c.stack.owner and not s.stack.owner
    assert not c.stack.conns and not s.stack.conns


def test_a_closed_socket_stays_listed_until_its_connection_ends():
    net, c, s = two_hosts()
    lst = s.socket()
    lst.bind(("", 80))
    lst.listen()
    a = c.socket()
    a_inode = c.sockets.inode_of(a)
    a.connect(("10.1.0.2", 80))
    b, _ = lst.accept()
    a.close()                                         # the client goes to FIN-WAIT-2 ...
    net.run(until=net.now + 1)
    b.close()                                         # ... then TIME-WAIT; b: LAST-ACK, CLOSED
    net.run(until=net.now + 1)
    assert a in c.sockets and a.conn.state is simtcp.State.TIME_WAIT
    assert b not in s.sockets                         # the server's side ended (LAST-ACK)
    net.run()
    assert a not in c.sockets
    fresh = c.socket()
    assert c.sockets.inode_of(fresh) > a_inode        # inode numbers are never reused


def test_bounded_trace_and_capture_keep_the_most_recent_and_still_account():
    net, c, s = two_hosts(trace_limit=160, capture_limit=64)
    short_connections(net, 40)
    assert 160 <= len(net.trace) <= 170 and 64 <= len(net.capture) <= 68
    assert net.trace.discarded > 0 and net.capture.discarded > 0
    assert net.trace.count("send") > sum(1 for r in net.trace if r.kind == "send")
    assert accounting_ok(net)
    last = net.trace[-1]
    assert last.time == net.now or last.time <= net.now
    assert str(net.capture) and net.trace.log() is not None
    with pytest.raises(ValueError):
        simtcp.Network(trace_limit=0)


def test_streamed_capture_equals_the_full_capture_byte_for_byte(tmp_path):
    full, _, _ = two_hosts()
    short_connections(full, 5)
    path = tmp_path / "live.pcap"
    net, _, _ = two_hosts(capture_limit=10)
    net.capture.stream(path)
    short_connections(net, 5)
    net.capture.stop_stream()
    assert len(net.capture) <= 11
    assert path.read_bytes() == full.capture.pcap_bytes()
    buf = io.BytesIO()                                # a file object stays open
    net2, _, _ = two_hosts()
    net2.capture.stream(buf)
    short_connections(net2, 1)
    net2.capture.stop_stream()
    assert buf.getvalue() == net2.capture.pcap_bytes()


def test_link_queue_drops_tail_beyond_txqueuelen():
    """A million packets could wait on a 1 Mbit/s link before; now at most 1000 (Linux
    DEFAULT_TX_QUEUE_LEN) per direction, the rest dropped as "queue full"."""
    net = simtcp.Network(seed=2, wire="fast")
    p = net.add_peer("10.2.0.9")
    h = net.add_host("h", "10.2.0.1")
    link = net.add_link(p, h, delay=0.001, bandwidth=1e6)
    assert link.queue_limit == DEFAULT_QUEUE_LIMIT == 1000
    for i in range(3000):
        p.send(Packet("10.2.0.9", "10.2.0.1", Segment(4000 + i % 1000, 9, Seq(i), Seq(0),
                                                          Flags.SYN, 1024)))
    assert net.drops.get(DropReason.QUEUE_FULL) == 3000 - 1001
    assert net.in_flight == 1001                     # one on the wire, 1000 waiting
    net.run(until=net.now + 60)
    assert accounting_ok(net)
    with pytest.raises(ValueError):
        net.add_link(p, h, queue_limit=0)


SOAK = int(os.environ.get("SIMTCP_SOAK", "2000"))


def test_soak_memory_is_flat_after_time_wait():
    """Short connections with tracing on (capped): after every batch's TIME-WAIT has
    expired nothing is left behind and memory does not grow (the full 50,000 is
    ``make soak`` / SIMTCP_SOAK=50000)."""
    r = soak(SOAK, batch=250, trace_limit=2000, capture_limit=2000)
    assert r.sockets_left == 1 and r.owners_left == 0 and r.conns_left == 0
    assert r.trace_records <= 2000 + 125 and r.capture_packets <= 2000 + 125
    assert r.per_1000 < 64 * 1024, f"{r.per_1000:.0f} bytes per 1,000 connections"
