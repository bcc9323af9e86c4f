"""Sequence numbers across the 2**32 wrap (simtcp.seq): inside a connection they are plain
growing ints, on the wire 32-bit. A connection must behave exactly the same wherever its
numbers start, and far-off numbers must get Linux's answers (before()/after())."""
import socket as pysocket

import pytest
from hypothesis import given, settings, strategies as st

import simtcp
from simtcp.reasons import SendCause
from simtcp.segment import Flags, FourTuple, Segment
from simtcp.seq import MASK, Seq, unwrap
from simtcp.states import State
from simtcp.tcp import Connection, TcpConfig

# ------------------------------------------------------------------ end to end
SIZE_UP, SIZE_DOWN = 256 * 470, 40_000


def transfer(isn_client, isn_server, seed=2):
    """A lossy transfer both ways (SACK, timestamps on) with the ISNs forced."""
    net = simtcp.Network(seed=seed)
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.004, loss=0.04, bandwidth=5e6)
    a.stack.isn = lambda t: isn_client          # RFC 6528's choice, replaced for the test
    b.stack.isn = lambda t: isn_server
    srv = b.socket()
    srv.bind(("", 9000))
    srv.listen(1)
    c = a.socket()
    c.connect(("10.0.0.2", 9000))
    s, _ = srv.accept()
    s.sendall(b"d" * SIZE_DOWN)
    c.sendall(bytes(range(256)) * (SIZE_UP // 256))
    c.shutdown(pysocket.SHUT_WR)
    got_up = b""
    while chunk := s.recv(100_000):
        got_up += chunk
    s.shutdown(pysocket.SHUT_WR)
    got_down = b""
    while chunk := c.recv(100_000):
        got_down += chunk
    info = (c.tcp_info(), s.tcp_info(), c.conn.tcb(), s.conn.tcb())
    s.close()
    c.close()
    net.run()
    assert got_up == bytes(range(256)) * (SIZE_UP // 256) and got_down == b"d" * SIZE_DOWN
    return net, info


def relative(net, isn):
    """Every captured segment with its sequence numbers relative to the sender's and the
    receiver's ISN (what Wireshark shows): equal runs mean equal behaviour."""
    rows = []
    for cp in net.capture:
        p = cp.packet
        s = p.segment
        src, dst = isn[p.src], isn[p.dst]
        sack = tuple(((l - dst) & MASK, (r - dst) & MASK) for l, r in s.options.sack)
        rows.append((cp.time, p.src, int(s.flags), (int(s.seq) - src) & MASK,
                     (int(s.ack) - dst) & MASK if s.flags & Flags.ACK else None, s.window,
                     len(s.payload), sack))
    return rows


HOST_IP = {"a": "10.0.0.1", "b": "10.0.0.2"}


def tcb_snapshots(net, isn):
    """(host, SND.UNA, SND.NXT, RCV.NXT) of every send record, relative to the ISNs when
    ``isn`` names them (the records of a SYN-SENT socket have no RCV.NXT yet)."""
    out = []
    for r in net.trace:
        tcb = r.get("tcb") if r.kind == "send" else None
        if tcb is None:
            continue
        me = HOST_IP[r.host]
        peer = "10.0.0.2" if me == "10.0.0.1" else "10.0.0.1"
        una, nxt, rcv = (int(v) for v in tcb[:3])
        if isn:
            una, nxt = (una - isn[me]) & MASK, (nxt - isn[me]) & MASK
            rcv = (rcv - isn[peer]) & MASK if rcv else rcv
        out.append((r.host, una, nxt, rcv))
    return out


def first_retransmission(net, host_ip, isn):
    """Offset from the ISN of the first data segment ``host_ip`` sent twice."""
    seen = set()
    for cp in net.capture:
        s = cp.packet.segment
        if cp.packet.src == host_ip and s.payload:
            rel = (int(s.seq) - isn) & MASK
            if rel in seen:
                return rel
            seen.add(rel)
    raise AssertionError(f"{host_ip} retransmitted nothing: choose another seed")


def test_a_lossy_transfer_across_the_wrap_behaves_as_one_far_from_it():
    """Same seed, ISNs far from 2**32, then ISNs placed so that each side's first
    retransmitted segment straddles 2**32: the same segments at the same times (relative
    numbers), SACK blocks and retransmissions included; the wire and the TCB views stay
    32-bit; TCP_INFO's byte counters are exact."""
    base = {"10.0.0.1": 1000, "10.0.0.2": 5000}
    net0, _ = transfer(base["10.0.0.1"], base["10.0.0.2"])
    up = first_retransmission(net0, "10.0.0.1", base["10.0.0.1"])
    down = first_retransmission(net0, "10.0.0.2", base["10.0.0.2"])
    wrap = {"10.0.0.1": (2**32 - up - 100) & MASK, "10.0.0.2": (2**32 - down - 100) & MASK}
    net1, (ci, si, ctcb, stcb) = transfer(wrap["10.0.0.1"], wrap["10.0.0.2"])
    assert relative(net1, wrap) == relative(net0, base)
    # the retransmissions straddle the wrap on the wire: numerically the end is below the start
    straddling = [s for s in (cp.packet.segment for cp in net1.capture)
                  if s.payload and int(s.seq) + len(s.payload) > 2**32]
    assert {int(s.seq) for s in straddling} >= {(wrap["10.0.0.1"] + up) & MASK,
                                                 (wrap["10.0.0.2"] + down) & MASK}
    # ... and SACK blocks reported data beyond a hole across the wrap: a left edge
    # numerically below the cumulative ACK but after it in sequence space
    segments = [cp.packet.segment for cp in net1.capture]
    assert any(l < int(s.ack) and (l - int(s.ack)) & MASK < 2**31
               for s in segments for l, _ in s.options.sack)
    assert all(0 <= int(s.seq) <= MASK and 0 <= int(s.ack) <= MASK for s in segments)
    # the trace's TCB snapshots show the 32-bit values, the same relative to the ISNs
    assert tcb_snapshots(net1, wrap) == tcb_snapshots(net0, base)
    assert all(0 <= int(v) <= MASK for t in tcb_snapshots(net1, {}) for v in t[1:4])
    assert ctcb["snd_una"] == (wrap["10.0.0.1"] + 1 + SIZE_UP + 1) & MASK
    assert ctcb["rcv_nxt"] == stcb["snd_nxt"] == (wrap["10.0.0.2"] + 1 + SIZE_DOWN + 1) & MASK
    # exact counts past 2**32: tcpi_bytes_acked counts the SYN for the active opener, and
    # both count the FIN (Linux tcp_rcv_nxt_update(end_seq)); the ACK of the server's FIN
    # is still on its way when the counters are read
    assert ci.bytes_acked == SIZE_UP + 1 + 1 and si.bytes_received == SIZE_UP + 1
    assert si.bytes_acked == SIZE_DOWN and ci.bytes_received == SIZE_DOWN + 1
    assert ci.total_retrans and si.total_retrans


# ------------------------------------------------------------- far-off numbers
T = FourTuple("10.0.0.1", 40000, "10.0.0.2", 80)
ISS, IRS = 2**32 - 700, 2**32 - 50              # both sides wrap after a few hundred bytes


def established():
    c = Connection(T, TcpConfig(timestamps=False), ISS)
    c.open_active(0.0)
    inp(c, f"S. {IRS}:{IRS}(0) ack {(ISS + 1) & MASK} win 65535 <mss 1460,sackOK>", 0.01)
    c.send(b"w" * 2000, 0.02)                   # snd_una = ISS + 1, snd_nxt = ISS + 2001
    c.take_segments(), c.take_events()
    return c


def inp(c, text, now):
    c.receive(Segment.parse(text, sport=80, dport=40000), now)


def sent(c):
    return [(o.segment, o.reason) for o in c.take_segments()]


RCV_NXT, SND_UNA, SND_NXT = IRS + 1, ISS + 1, ISS + 2001


@pytest.mark.parametrize("offset", [2**31 - 1, 2**31, 2**31 + 1, -2**31 + 1, 70_000])
def test_a_segment_far_from_rcv_nxt_is_refused_with_an_ack(offset):
    """Linux tcp_sequence(): data starting beyond the window (after(seq, rcv_nxt + wnd)),
    or ending before it, is dropped and answered with an ACK of RCV.NXT (tcp_send_dupack;
    RFC 9293 §3.10.7.4). At exactly 2**31 away before() holds: the segment is old, and for
    an old one the ACK names it in a D-SACK block (tcp_dsack_set(), RFC 2883 §4)."""
    c = established()
    seq = (RCV_NXT + offset) & MASK
    inp(c, f". {seq}:{(seq + 100) & MASK}(100) ack {SND_UNA & MASK} win 512", 0.1)
    ((ack, why),) = sent(c)
    old = offset >= 2**31 or offset < 0
    assert why is (SendCause.DSACK if old else SendCause.UNACCEPTABLE)
    assert ack.options.sack[:1] == (((seq, (seq + 100) & MASK),) if old else ())
    assert int(ack.ack) == RCV_NXT & MASK
    assert int(ack.seq) == SND_NXT & MASK and not c.rcvq and c.rcv_nxt == RCV_NXT


@pytest.mark.parametrize("ack_offset", [1, 2**31 - 2001, 2**31 - 1])
def test_an_ack_of_data_never_sent_is_challenged(ack_offset):
    """Linux tcp_ack(): after(ack, snd_nxt) -> the segment is discarded and a challenge
    ACK answers it (RFC 5961 §5.2), its data too."""
    c = established()
    ack = (SND_NXT + ack_offset) & MASK if ack_offset == 1 else (SND_UNA + ack_offset) & MASK
    inp(c, f". {RCV_NXT & MASK}:{(RCV_NXT + 10) & MASK}(10) ack {ack} win 512", 0.1)
    ((seg, why),) = sent(c)
    assert why is SendCause.ACK_UNSENT and int(seg.ack) == RCV_NXT & MASK
    assert c.snd_una == SND_UNA and not c.rcvq


def test_acks_across_the_wrap_move_snd_una_past_2_32():
    c = established()
    inp(c, f". {RCV_NXT & MASK}:{RCV_NXT & MASK}(0) ack {(SND_UNA + 1000) & MASK} win 512", 0.1)
    assert c.snd_una == SND_UNA + 1000 > 2**32 and c.tcb()["snd_una"] == (SND_UNA + 1000) & MASK
    inp(c, f". {RCV_NXT & MASK}:{RCV_NXT & MASK}(0) ack {SND_UNA & MASK} win 512", 0.11)
    assert c.snd_una == SND_UNA + 1000               # an old ACK (before(ack, snd_una)): ignored
    assert c.state is State.ESTABLISHED


def test_sack_blocks_across_the_wrap_reach_the_scoreboard():
    """Blocks are unwrapped against SND.UNA: one straddling 2**32 and one above it are
    merged into the scoreboard; one beyond SND.NXT (tcp_is_sackblock_valid()) is not."""
    c = established()
    straddle = ((SND_UNA + 500) & MASK, (SND_UNA + 1500) & MASK)
    beyond = ((SND_NXT + 10) & MASK, (SND_NXT + 20) & MASK)
    inp(c, f". {RCV_NXT & MASK}:{RCV_NXT & MASK}(0) ack {SND_UNA & MASK} win 512 "
           f"<nop,nop,sack {straddle[0]}:{straddle[1]} {beyond[0]}:{beyond[1]}>", 0.1)
    assert straddle[1] < straddle[0]                  # numerically wrapped on the wire
    assert c.sacked == [(SND_UNA + 500, SND_UNA + 1500)] and c.sacked_bytes == 1000


def test_storms_and_lying_peers_near_the_wrap_break_nothing():
    """tests/fuzzing.py's RST/SYN/FIN storms around RCV.NXT and adversarial peers (odd MSS,
    zero windows, SACK lies around SND.UNA) against a server whose new connections start
    60 bytes below 2**32 (their data crosses it): no crash, no hang, every invariant holds."""
    import random

    from fuzzing import run_batch
    rng = random.Random(14)
    for kind in ("storm", "peer"):
        assert run_batch(kind, rng, 25, isn=2**32 - 60) == []


@given(st.integers(min_value=0, max_value=MASK), st.integers(min_value=0, max_value=MASK),
       st.booleans())
@settings(max_examples=300, deadline=None)
def test_receive_unwraps_seg_seq_and_seg_ack_as_unwrap_does(seq, ack, as_seq_type):
    """`Connection.receive` writes `seq.unwrap` out for SEG.SEQ (against RCV.NXT) and
    SEG.ACK (against SND.UNA): the same values, whether a segment carries plain ints (as
    decoded and built segments do) or `Seq` values (as a test may put in one)."""
    c = established()
    wrap = Seq if as_seq_type else int
    c.receive(Segment(80, 40000, wrap(seq), wrap(ack), Flags.ACK, 512), 0.1)
    assert (c.seg_seq, c.seg_ack) == (unwrap(seq, RCV_NXT), unwrap(ack, SND_UNA))
    assert type(c.seg_seq) is int and type(c.seg_ack) is int
