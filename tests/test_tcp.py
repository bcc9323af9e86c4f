"""Scripted-peer tests of the sans-IO Connection: segments in (compact notation), segments out."""
import errno

import pytest

from simtcp.segment import Flags, FourTuple, Options, Segment
from simtcp.seq import Seq
from simtcp.reasons import StateCause
from simtcp.states import State, transition
from simtcp.tcp import Connection, TcpConfig
from simtcp.tcpconfig import model_timeout

T = FourTuple("10.0.0.1", 40000, "10.0.0.2", 80)
PEER_SYN_OPTS = "<mss 1460,sackOK,TS val 500 ecr 0,nop,wscale 7>"


def conn(iss=1000, **cfg):
    return Connection(T, TcpConfig(**cfg), iss)


def inp(c, text, now=0.0):
    c.receive(Segment.parse(text, sport=80, dport=40000), now)


def out(c):
    return [o.segment for o in c.take_segments()]


def states(c):
    return [e.what for e in c.take_events() if e.kind == "state"]


def established(iss=1000, irs=5000, now=0.0, **cfg):
    """A client connection in ESTABLISHED with the peer's ISN = irs (timestamps off: simpler)."""
    c = conn(iss, timestamps=False, **cfg)
    c.open_active(now)
    inp(c, f"S. {irs}:{irs}(0) ack {iss + 1} win 65535 <mss 1460>", now)
    out(c), c.take_events()
    return c


def test_active_open_sends_linux_style_syn():
    c = conn()
    c.open_active(0.0)
    (syn,) = out(c)
    assert syn.flags == Flags.SYN and int(syn.seq) == 1000 and syn.window == 64240
    o = syn.options
    # wscale 10: tcp_select_initial_window() scales for tcp_rmem[2] = 32 MB (Linux 6.16+)
    assert (o.mss, o.sack_perm, o.wscale) == (1460, True, 10) and o.ts[1] == 0
    assert states(c) == ["SYN-SENT"]


def test_three_way_handshake_client_side():
    c = conn()
    c.open_active(0.0)
    out(c)
    inp(c, f"S. 5000:5000(0) ack 1001 win 65160 {PEER_SYN_OPTS}", 0.02)
    (ack,) = out(c)
    assert ack.flags == Flags.ACK and int(ack.seq) == 1001 and int(ack.ack) == 5001
    assert c.state is State.ESTABLISHED and c.eff_mss == 1448   # 1460 - 12 bytes of TS option
    assert ack.options.ts == (c._tsval(0.02), 500)              # echoes the peer's TSval
    assert c.srtt == pytest.approx(0.02)


def test_passive_open_answers_syn_with_synack_and_completes():
    c = Connection(FourTuple("10.0.0.2", 80, "10.0.0.1", 40000), TcpConfig(), 7000)
    c.accept_syn(Segment.parse(f"S 3000:3000(0) win 64240 {PEER_SYN_OPTS}", 40000, 80), 0.0)
    (synack,) = out(c)
    assert synack.flags == Flags.SYN | Flags.ACK
    assert (int(synack.seq), int(synack.ack), synack.window) == (7000, 3001, 65160)
    assert [e.what for e in c.take_events()] == ["SYN-RECEIVED"]
    c.receive(Segment.parse(". 3001:3001(0) ack 7001 win 502", 40000, 80), 0.01)
    assert c.state is State.ESTABLISHED and c.snd_wnd == 502 << 7


def test_options_less_syn_gets_mss_only_synack_and_536_byte_segments():
    c = Connection(FourTuple("10.0.0.2", 80, "10.0.0.1", 40000), TcpConfig(), 7000)
    c.accept_syn(Segment.parse("S 3000:3000(0) win 8192", 40000, 80), 0.0)
    (synack,) = out(c)
    assert str(synack.options) == "mss 1460" and synack.window == 64240   # as Linux 6.18 answered
    assert c.eff_mss == 536                   # no MSS option: RFC 9293 §3.7.1 default


def test_simultaneous_open():
    c = conn()
    c.open_active(0.0)
    out(c)
    inp(c, f"S 5000:5000(0) win 64240 {PEER_SYN_OPTS}", 0.01)     # their SYN crosses ours
    (synack,) = out(c)
    assert synack.flags == Flags.SYN | Flags.ACK
    assert (int(synack.seq), int(synack.ack)) == (1000, 5001)     # <SEQ=ISS><ACK=RCV.NXT>
    inp(c, f"S. 5000:5000(0) ack 1001 win 65160 {PEER_SYN_OPTS}", 0.02)
    assert states(c) == ["SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]


def test_rst_with_acceptable_ack_in_syn_sent_is_connection_refused():
    c = conn()
    c.open_active(0.0)
    out(c)
    inp(c, "R. 0:0(0) ack 1001 win 0")
    assert c.state is State.CLOSED and c.error == errno.ECONNREFUSED
    assert out(c) == []                       # never answer a RST


def test_unacceptable_ack_in_syn_sent_gets_rst_seq_seg_ack():
    c = conn()
    c.open_active(0.0)
    out(c)
    inp(c, "S. 5000:5000(0) ack 4242 win 65535")
    (rst,) = out(c)
    assert rst.flags == Flags.RST and int(rst.seq) == 4242
    assert c.state is State.SYN_SENT


def test_rfc5961_rst_handling():
    c = established()
    inp(c, "R 9999999:9999999(0)")                   # outside the window: ignored
    assert out(c) == [] and c.state is State.ESTABLISHED
    inp(c, "R 5101:5101(0)")                         # in window, not RCV.NXT: challenge ACK
    (chal,) = out(c)
    assert chal.flags == Flags.ACK and int(chal.ack) == 5001 and c.state is State.ESTABLISHED
    inp(c, "R 5001:5001(0)")                         # exactly RCV.NXT: reset
    assert c.state is State.CLOSED and c.error == errno.ECONNRESET and out(c) == []


def test_syn_on_established_connection_gets_challenge_ack():
    c = established()
    inp(c, "S 777:777(0) win 1000")
    (chal,) = out(c)
    assert chal.flags == Flags.ACK and int(chal.seq) == 1001 and int(chal.ack) == 5001
    assert c.state is State.ESTABLISHED


def test_unacceptable_segment_gets_an_ack():
    c = established()
    inp(c, "P. 900000:900010(10) ack 1001 win 512")
    (ack,) = out(c)
    assert ack.flags == Flags.ACK and int(ack.ack) == 5001 and not c.rcvq


def test_data_is_cut_into_mss_sized_segments():
    c = established()
    c.send(b"a" * 4000, 0.1)
    segs = out(c)
    assert [len(s.payload) for s in segs] == [1460, 1460, 1080]
    assert segs[-1].flags & Flags.PSH and not segs[0].flags & Flags.PSH
    assert [int(s.seq) for s in segs] == [1001, 2461, 3921]


def test_receive_window_limits_the_sender():
    c = established()
    inp(c, "P. 5001:5001(0) ack 1001 win 2920")
    c.send(b"b" * 5000, 0.1)
    segs = out(c)
    assert sum(len(s.payload) for s in segs) == 2920      # only what the peer offered
    inp(c, "P. 5001:5001(0) ack 3921 win 1000", 0.2)
    assert out(c) == []     # sender SWS avoidance: no 1000-byte runt (RFC 9293 §3.8.6.2.1)
    c.on_timer(c.timers["persist"])      # ... until the persist timer fires (tcp_write_wakeup)
    (probe,) = out(c)
    assert len(probe.payload) == 1000 and int(probe.seq) == 3921


def test_out_of_order_data_is_kept_and_reassembled():
    c = established()
    inp(c, "P. 5101:5201(100) ack 1001 win 512")
    (dup,) = out(c)
    assert int(dup.ack) == 5001 and c.rcvq == b""          # duplicate ACK, data held
    inp(c, "P. 5001:5101(100) ack 1001 win 512")
    assert len(c.rcvq) == 200 and int(c.rcv_nxt) == 5201


def test_syn_retransmission_schedule_and_timeout_at_127s():
    c = conn()
    c.open_active(0.0)
    times = [0.0]
    out(c)
    while c.state is State.SYN_SENT:
        now = c.next_deadline()
        c.on_timer(now)
        if any(s.flags & Flags.SYN for s in out(c)):
            times.append(now)
    assert times == [0, 1, 3, 7, 15, 31, 63]
    assert now == pytest.approx(127) and c.error == errno.ETIMEDOUT


def test_syn_linear_timeouts_like_linux_6_16():
    c = conn(syn_retries=2, syn_linear_timeouts=4)
    c.open_active(0.0)
    times = [0.0]
    out(c)
    while c.state is State.SYN_SENT:
        now = c.next_deadline()
        c.on_timer(now)
        if out(c):
            times.append(now)
    assert times == [0, 1, 2, 3, 4, 5] and now == pytest.approx(7)   # as Linux 6.18 did


def test_model_timeout_matches_linux():
    assert model_timeout(6, 1.0) == 127
    assert model_timeout(15, 0.2) == pytest.approx(924.6)


def test_rto_backs_off_and_karn_ignores_retransmitted_samples():
    c = established(now=0.0)
    c.send(b"x" * 100, 1.0)
    out(c)
    rto = c.rto
    c.on_timer(c.next_deadline())
    (re,) = out(c)
    assert int(re.seq) == 1001 and c.rto == pytest.approx(min(2 * rto, 120))
    inp(c, "P. 5001:5001(0) ack 1101 win 512", now=c.timers.get("rto", 5.0))
    assert c.srtt is None or c.srtt < 1.0      # no sample taken from the retransmission


def test_fast_retransmit_after_three_duplicate_acks():
    c = established()
    c.send(b"y" * 1460 * 6, 0.1)
    out(c)
    inp(c, "P. 5001:5001(0) ack 2461 win 65535", 0.2)     # the first segment arrived
    out(c)
    for _ in range(3):
        inp(c, "P. 5001:5001(0) ack 2461 win 65535", 0.2)
    (re,) = out(c)
    assert int(re.seq) == 2461 and len(re.payload) == 1460


def test_active_close_through_time_wait():
    c = established()
    c.close(1.0)
    (fin,) = out(c)
    assert fin.flags == Flags.FIN | Flags.ACK and c.state is State.FIN_WAIT_1
    inp(c, "P. 5001:5001(0) ack 1002 win 512", 1.01)
    assert c.state is State.FIN_WAIT_2
    inp(c, "F. 5001:5001(0) ack 1002 win 512", 1.02)
    (ack,) = out(c)
    assert int(ack.ack) == 5002 and c.state is State.TIME_WAIT
    assert c.next_deadline() == pytest.approx(61.02)        # Linux TCP_TIMEWAIT_LEN = 60 s
    inp(c, "F. 5001:5001(0) ack 1002 win 512", 30.0)        # retransmitted FIN: ACK again
    assert len(out(c)) == 1 and c.next_deadline() == pytest.approx(90.0)
    c.on_timer(90.0)
    assert c.state is State.CLOSED


def test_passive_close():
    c = established()
    inp(c, "F. 5001:5001(0) ack 1001 win 512", 1.0)
    out(c)
    assert c.state is State.CLOSE_WAIT and c.eof
    c.close(2.0)
    assert c.state is State.LAST_ACK
    inp(c, "P. 5002:5002(0) ack 1002 win 512", 2.01)
    assert c.state is State.CLOSED


def test_simultaneous_close():
    c = established()
    c.close(1.0)
    out(c)
    inp(c, "F. 5001:5001(0) ack 1001 win 512", 1.01)    # their FIN, ours not yet acked
    assert c.state is State.CLOSING
    inp(c, "P. 5002:5002(0) ack 1002 win 512", 1.02)
    assert c.state is State.TIME_WAIT


def test_close_with_unread_data_resets():
    c = established()
    inp(c, "P. 5001:5011(10) ack 1001 win 512", 0.1)
    out(c)
    c.close(0.2)
    (rst,) = out(c)
    assert rst.flags == Flags.RST | Flags.ACK and c.state is State.CLOSED   # RFC 2525 §2.17


def test_transfer_across_the_sequence_wrap():
    iss = 2**32 - 700
    c = established(iss=iss, irs=2**32 - 50)
    c.send(b"w" * 2000, 0.1)
    segs = out(c)
    assert int(segs[-1].seq) < int(segs[0].seq)             # the raw numbers wrapped
    ack_to = int(Seq(iss + 1) + 2000)
    inp(c, f"P. {2**32 - 49}:{2**32 - 49}(0) ack {ack_to} win 512", 0.2)
    assert c.snd_una == Seq(ack_to) and len(c.sndq) == 0
    inp(c, f"P. {2**32 - 49}:{2**32 + 51 - 2**32}(100) ack {ack_to} win 512", 0.3)
    # inside the connection the numbers grow past 2**32 (simtcp.seq); the ACK and the TCB
    # view carry the 32-bit value
    assert len(c.rcvq) == 100 and c.rcv_nxt == 2**32 + 51 and c.tcb()["rcv_nxt"] == 51
    assert c.snd_una == iss + 1 + 2000 and c.tcb()["snd_una"] == ack_to


def test_illegal_transition_is_refused():
    c = conn()
    with pytest.raises(ValueError, match="no transition"):
        c._set_state(State.TIME_WAIT)
    assert c.state is State.CLOSED and not c.take_events()
    with pytest.raises(ValueError, match="no transition CLOSED -> TIME-WAIT"):
        transition(State.CLOSED, State.TIME_WAIT)


def test_a_state_event_names_its_edge_or_the_cause_given():
    """A change without a cause shares its edge's event (made once, states.EDGES); one with
    a cause gets its own event carrying it, and the edge's RFC section."""
    c = conn()
    c.open_active(0.0)
    c.abort(0.1, StateCause.CLOSE_BEFORE_HANDSHAKE)
    c.open_active(0.2)
    first, aborted, again = c.take_events()
    row = transition(State.CLOSED, State.SYN_SENT)
    assert first == ("state", "SYN-SENT", "CLOSED", row.event, row.rfc, ())
    assert again is first                           # the same edge: the same shared event
    assert aborted == ("state", "CLOSED", "SYN-SENT", StateCause.CLOSE_BEFORE_HANDSHAKE,
                       transition(State.SYN_SENT, State.CLOSED).rfc, ())


def test_old_duplicate_data_is_answered_with_a_dsack_block():
    c = conn(timestamps=False)
    c.open_active(0.0)
    out(c)
    inp(c, "S. 5000:5000(0) ack 1001 win 65535 <mss 1460,sackOK>")
    out(c)
    inp(c, "P. 5001:5101(100) ack 1001 win 512", 0.1)
    out(c)
    inp(c, "P. 5001:5101(100) ack 1001 win 512", 0.2)        # the same data again
    (ack,) = out(c)
    assert int(ack.ack) == 5101 and ack.options.sack[0] == (5001, 5101)   # RFC 2883 D-SACK


def test_synchronized_states_are_those_after_the_handshake():
    """RFC 9293 §3.5.2: CLOSED, LISTEN, SYN-SENT and SYN-RECEIVED are not synchronized."""
    assert {s for s in State if not s.synchronized} == {
        State.CLOSED, State.LISTEN, State.SYN_SENT, State.SYN_RECEIVED}


def test_segments_share_their_timestamps_until_tsval_or_ts_recent_moves():
    """The options after the handshake are made again only when they change: segments sent
    in the same millisecond with the same TS.Recent carry one Options (``ts_options``); a
    later TSval, a new TS.Recent or SACK blocks give new ones."""
    c = conn()
    c.open_active(0.0)
    out(c)
    inp(c, f"S. 5000:5000(0) ack 1001 win 65160 {PEER_SYN_OPTS}", 0.02)
    (ack,) = out(c)
    c.send(b"a" * 3000, 0.0205)                     # the same millisecond: TSval 20
    first = out(c)
    assert len(first) == 3 and all(s.options is ack.options for s in first)
    inp(c, ". 5001:5001(0) ack 4001 win 500 <nop,nop,TS val 600 ecr 20>", 0.0206)
    c.send(b"b" * 1448, 0.0207)                     # TS.Recent is now 600
    (echo,) = out(c)
    assert echo.options.ts == (20, 600) and echo.options is not ack.options
    c.send(b"c" * 2896, 0.0215)                     # TSval 21: one new Options, shared
    later = out(c)
    assert len(later) == 2 and later[0].options.ts == (21, 600)
    assert later[0].options is not echo.options and later[1].options is later[0].options
    # data out of order: the ACK carries a SACK block; the hole filled, it carries none
    inp(c, "P. 5101:5201(100) ack 4001 win 500 <nop,nop,TS val 601 ecr 21>", 0.0216)
    (sack,) = out(c)
    assert sack.options.ts == (21, 600) and sack.options.sack == ((5101, 5201),)
    inp(c, "P. 5001:5101(100) ack 4001 win 500 <nop,nop,TS val 601 ecr 21>", 0.0217)
    (filled,) = out(c)
    assert int(filled.ack) == 5201 and filled.options == Options(ts=(21, 601))
    c.send(b"d" * 1448, 0.0218)
    (same,) = out(c)
    assert same.options is filled.options
