"""Hardening of the receive path and loss recovery: the out-of-order queue holds unique bytes
only, within the receive buffer (Linux tcp_data_queue_ofo / tcp_prune_ofo_queue), and a
sender survives a receiver that reneges on data it SACKed (RFC 2018 §8)."""
import sys

from hypothesis import given, settings, strategies as st
from scapy.layers.inet import IP, TCP

import simtcp
from simtcp.ooo import RANGE_OVERHEAD, OutOfOrderQueue
from simtcp.rcvbuf import skb_alloc
from simtcp.reasons import EventKind
from simtcp.segment import Flags, Packet, Segment
from simtcp.seq import Seq
from test_hardening_wire import PEER, SRV, scripted_peer


# ------------------------------------------------------------------ the queue itself

@settings(max_examples=300, deadline=None)
@given(st.integers(0, 2**32 - 1),
       st.lists(st.tuples(st.integers(1, 400), st.integers(1, 60)), max_size=40))
def test_queue_holds_exactly_the_unique_bytes_in_order(base, segments):
    """Against a reference model (a dict of byte offsets): every byte stored once, ranges
    sorted, disjoint and non-adjacent; from any base below 2**32 the connection's
    (unwrapped, simtcp.seq) numbers may run past 2**32."""
    q = OutOfOrderQueue()
    b = base
    model = {}
    for off, length in segments:
        data = bytes((off + i) % 251 for i in range(length))
        q.insert(b + off, data)
        for i in range(length):
            model.setdefault(off + i, data[i])
    assert q.nbytes == len(model)
    edges = [(l - b, r - b) for l, r in q.blocks(10**6)]
    assert all(l < r for l, r in edges)
    assert all(r1 < l2 for (_, r1), (l2, _) in zip(edges, edges[1:]))
    assert sum(r - l for l, r in edges) == len(model)
    # drain from the front: fill the hole at 0 and everything contiguous comes out
    q.insert(b + 0, b"\x00") if 0 not in model else None
    model.setdefault(0, 0)
    n = 0
    while n in model:
        n += 1
    out = q.take_in_order(b)
    assert out == bytes(model[i] for i in range(n))
    assert q.nbytes == len(model) - n


def test_prune_drops_the_furthest_data_first():
    q = OutOfOrderQueue()
    b = 1000
    for off in (10, 100, 200, 300):
        q.insert(b + off, b"x" * 50)
    dropped = q.prune(100 + RANGE_OVERHEAD)
    assert dropped == 100
    assert [l - b for l, _ in q.blocks(10)] == [10, 100]


# ------------------------------------------------------------------ from the wire

def flood(peer, seq0, ack, segments):
    for off, length in segments:
        peer.send(Packet(PEER, SRV, Segment(5555, 80, Seq(seq0 + off), Seq(ack), Flags.ACK,
                                            65535, payload=b"z" * length)))


def test_overlapping_out_of_order_flood_holds_unique_bytes_only():
    """3,000 overlapping segments beyond a hole, each one byte further: the queue keeps the
    unique data as one range, not 4 MB of copies (before: every segment stored whole).
    Linux keeps each partly new segment's skb whole (tcp_data_queue_ofo()), so memory —
    not bytes — runs out after some 57 segments of 2304 bytes: the later ones would land
    last and are dropped (tcp_prune_ofo_queue() stops), and the memory stays bounded."""
    net, conn, p, seq, ack = scripted_peer([("MSS", 1460), ("SAckOK", b"")], wire="fast")
    flood(p, seq, ack, [(1 + i, 1400) for i in range(3000)])
    net.run(until=net.now + 1)
    ooo, rb = conn.conn.ooo, conn.conn.rb
    assert len(ooo) == 1 and 1400 + 50 < ooo.nbytes < 1400 + 2999
    assert rb.rmem <= rb.rcvbuf + 2304 and rb.rcvbuf < 2 * 131072
    held = sum(sys.getsizeof(r[1]) for r in ooo._ranges)
    assert held < 3 * ooo.nbytes, f"{held} bytes kept for {ooo.nbytes} bytes of data"
    queued = ooo.nbytes
    p.send(IP(src=PEER, dst=SRV) / TCP(sport=5555, dport=80, flags="A", seq=seq, ack=ack,
                                       window=65535) / b"z")
    net.run(until=net.now + 1)
    assert len(conn.recv(10_000)) == 1 + queued
    assert not conn.conn.ooo


def test_tiny_disjoint_segments_are_pruned_within_the_receive_buffer():
    """One-byte segments with gaps cost an skb each in Linux (truesize 832: simtcp.rcvbuf).
    Beyond a buffer SO_RCVBUF locked, a segment that would land last is dropped
    (tcp_prune_ofo_queue() stops there); one that lands lower makes room by pruning the far
    end. The queue never grows without bound."""
    net, conn, p, seq, ack = scripted_peer([("MSS", 1460), ("SAckOK", b"")], wire="fast")
    rb = conn.conn.rb
    rb.rcvbuf, rb.locked = 65536, True
    flood(p, seq, ack, [(2 + 2 * i, 1) for i in range(600)])
    net.run(until=net.now + 1)
    ooo = conn.conn.ooo
    truesize = skb_alloc(40 + 1)[0]
    assert truesize == 832 and rb.rmem <= 65536 + truesize
    assert 50 < len(ooo) <= 65536 // truesize + 1
    kinds = {r.what for r in net.trace if r.kind == "event"}
    assert EventKind.RCVBUF_DROPPED in kinds and EventKind.OFO_PRUNED not in kinds
    held = len(ooo)
    flood(p, seq, ack, [(3, 1)])                 # into the first gap: lands low
    net.run(until=net.now + 1)
    assert any(r.kind == "event" and r.what is EventKind.OFO_PRUNED for r in net.trace)
    assert len(ooo) <= held and rb.rmem <= 65536 + truesize


# ------------------------------------------------------------------ SACK reneging

def test_sender_recovers_when_the_receiver_reneges_on_sacked_data():
    """The receiver SACKs 100-300, then ACKs only up to 100 (it dropped the rest). Linux
    notices (tcp_check_sack_reneging), times out quickly, forgets the SACK marks and
    resends; before, the SACKed bytes were never resent and the connection died after
    tcp_retries2."""
    net, conn, p, seq, una = scripted_peer([("MSS", 100), ("SAckOK", b"")])
    phase = {"n": 0, "expected": una + 100}

    def ack(node, value, sack=None):
        opts = [("NOP", None), ("NOP", None), ("SAck", sack)] if sack else []
        node.send(IP(src=PEER, dst=SRV) / TCP(sport=5555, dport=80, flags="A", seq=seq,
                                              ack=value, window=65535, options=opts))

    def receiver(node, packet):
        s = packet.segment
        if not s.payload:
            return
        start = int(s.seq)
        if phase["n"] == 0 and start == una + 200:         # all three arrived: pretend the
            phase["n"] = 1                                  # first was lost, SACK the others
            ack(node, una, (una + 100, una + 300))
        elif phase["n"] == 1 and start == una:              # the retransmission: ACK it but
            phase["n"] = 2                                  # renege on 100-300
            ack(node, una + 100)
        elif phase["n"] == 2 and start == phase["expected"]:
            phase["expected"] += len(s.payload)
            ack(node, phase["expected"])

    p.on_receive = receiver
    conn.send(b"r" * 300)
    net.run(until=net.now + 10)
    assert conn.conn.snd_una == una + 300
    assert any(r.kind == "event" and r.what is EventKind.SACK_RENEGING for r in net.trace)
