"""Congestion control and loss recovery, each piece on its own and then inside a connection:
Reno and CUBIC (RFC 5681, RFC 9438, Linux tcp_cong.c / tcp_cubic.c), PRR (RFC 6937), the tail
loss probe (RFC 8985), slow start after idle, and the socket options that expose them."""
import errno
import struct

import pytest

from pairs import connect, read_as_it_arrives, two_hosts

import simtcp
from simtcp.congestion import CA_EVENT_LOSS, CA_EVENT_TX_START, Cubic, Reno, Window, make
from simtcp.recovery import Prr, tlp_timeout
from simtcp.segment import Flags, FourTuple, Segment
from simtcp.socket import IPPROTO_TCP, TCP_CONGESTION, TCP_INFO, TCP_MAXSEG
from simtcp.tcp import Connection, TcpConfig

MSS = 1000


# ------------------------------------------------------------------ Reno
def test_reno_slow_start_then_one_segment_per_window():
    cc, w = Reno(), Window(cwnd=10 * MSS, ssthresh=12 * MSS, mss=MSS)
    cc.cong_avoid(w, 4 * MSS, 0.0)          # 2 segments reach ssthresh, 2 go to avoidance
    assert w.cwnd == 12 * MSS and w.cwnd_cnt == 2
    for _ in range(5):
        cc.cong_avoid(w, 2 * MSS, 0.1)      # 10 more segments ACKed: one window of 12
    assert w.cwnd == 13 * MSS


def test_reno_halves_on_loss_with_a_floor_of_two():
    assert Reno().ssthresh(20 * MSS, MSS) == 10 * MSS
    assert Reno().ssthresh(3 * MSS, MSS) == 2 * MSS
    assert isinstance(Reno(), type(make("reno")))


# ------------------------------------------------------------------ CUBIC
def test_cubic_keeps_seventy_percent_and_remembers_w_max():
    cc = Cubic()
    assert cc.ssthresh(100 * MSS, MSS) == 70 * MSS and cc.last_max_cwnd == 100
    # fast convergence (RFC 9438 §4.7): a loss below the old W_max lowers W_max further
    cc.ssthresh(80 * MSS, MSS)
    assert cc.last_max_cwnd == pytest.approx(80 * (1 + 717 / 1024) / 2)


def grow(cc, cwnd, seconds, rtt=0.1):
    """cwnd (segments) after `seconds` of one ACK per segment, window-limited."""
    w = Window(cwnd=cwnd * MSS, ssthresh=cwnd * MSS, mss=MSS, min_rtt=rtt)
    t = 0.0
    while t < seconds:
        n = w.cwnd // MSS
        for _ in range(n):
            cc.cong_avoid(w, MSS, t)
        t += rtt
    return w.cwnd // MSS


def test_cubic_climbs_back_to_w_max_in_about_k_seconds_then_probes():
    cc = Cubic()
    cc.ssthresh(100 * MSS, MSS)                        # W_max 100, cwnd 70
    k = ((100 - 70) / 0.4) ** (1 / 3)                  # RFC 9438 §4.2: about 4.2 s
    near = grow(cc, 70, k - 0.5)
    assert 90 <= near <= 101                           # concave: fast, then flat near W_max
    cc2 = Cubic()
    cc2.ssthresh(100 * MSS, MSS)
    assert grow(cc2, 70, k + 3) > 105                  # convex: probing beyond W_max


def test_cubic_on_a_short_rtt_grows_like_its_reno_friendly_estimate():
    """RFC 9438 §4.3: where the cubic curve is slower (short RTT), W_est rules, growing
    alpha = 3(1-beta)/(1+beta) ≈ 0.53 segments per RTT — a Reno with CUBIC's beta."""
    cc = Cubic()
    cc.ssthresh(20 * MSS, MSS)
    rtts = 200
    assert grow(cc, 14, rtts * 0.01, rtt=0.01) == pytest.approx(14 + 0.53 * rtts, abs=3)
    assert grow(Cubic(), 14, 0.6, rtt=0.01) > 14 + 0.53 * 60     # no W_max yet: faster


def test_cubic_events_reset_and_shift_the_epoch():
    cc = Cubic()
    cc.ssthresh(50 * MSS, MSS)
    grow(cc, 35, 1.0)
    start = cc.epoch_start
    cc.event(CA_EVENT_TX_START, 5.0, idle=2.0)         # idle time is not growth time
    assert cc.epoch_start == pytest.approx(start + 2.0)
    cc.event(CA_EVENT_LOSS, 6.0)                       # a timeout forgets everything
    assert cc.epoch_start is None and cc.last_max_cwnd == 0


def test_make_by_name():
    assert isinstance(make("cubic"), Cubic) and isinstance(make("reno"), Reno)
    with pytest.raises(ValueError, match="bbr"):
        make("bbr")


# ------------------------------------------------------------------ PRR
def test_prr_sends_in_proportion_while_the_pipe_is_above_ssthresh():
    prr = Prr(prior_cwnd=20 * MSS, ssthresh=14 * MSS)
    # the first ACK forces the fast retransmit out
    assert prr.on_ack(MSS, 19 * MSS, False, False, MSS) == 20 * MSS
    prr.sent(MSS)
    sent = 0
    pipe = 19 * MSS
    for _ in range(9):                                  # every ACK delivers one segment
        cwnd = prr.on_ack(MSS, pipe, False, False, MSS)
        may = max(cwnd - pipe, 0)
        prr.sent(may)
        sent += may
        pipe = pipe - MSS + may
    assert sent == 6 * MSS          # 14/20 of the 10 segments delivered, minus the retransmit
    assert pipe > 14 * MSS          # still above ssthresh: the window came down gradually


def test_prr_slow_start_reduction_bound_below_ssthresh():
    prr = Prr(prior_cwnd=10 * MSS, ssthresh=7 * MSS, delivered=10 * MSS, out=5 * MSS)
    # pipe 3 below ssthresh 7: send up to what was delivered, +1 when SND.UNA advanced
    assert prr.on_ack(2 * MSS, 3 * MSS, True, False, MSS) == 3 * MSS + 4 * MSS


def test_tlp_timeout():
    assert tlp_timeout(0.1, 5, 1.0) == pytest.approx(0.202)
    assert tlp_timeout(0.1, 1, 1.0) == pytest.approx(0.4)       # + the delayed-ACK allowance
    assert tlp_timeout(0.1, 5, 0.15) == pytest.approx(0.15)     # never after the RTO


# ------------------------------------------------------------------ in a connection
T = FourTuple("10.0.0.1", 40000, "10.0.0.2", 80)


def established(**cfg):
    c = Connection(T, TcpConfig(**cfg), 1000)
    c.open_active(0.0)
    c.receive(Segment.parse("S. 5000:5000(0) ack 1001 win 65535 <mss 1460,sackOK,nop,wscale 7>",
                            sport=80, dport=40000), 0.1)
    c.take_segments()
    return c


def ack(c, text, now):
    c.receive(Segment.parse(text, sport=80, dport=40000), now)
    return [o.segment for o in c.take_segments()]


def test_a_lost_tail_is_repaired_by_a_probe_not_the_timeout():
    c = established()
    c.send(b"t" * 1460 * 3, 0.2)
    c.take_segments()
    assert "tlp" in c.timers and c.timers["tlp"] < c.timers["rto"]
    c.on_timer(c.timers["tlp"])
    (probe,) = [o.segment for o in c.take_segments()]
    assert int(probe.seq) == 1001 + 2 * 1460 and len(probe.payload) == 1460   # the last one
    # its SACK shows the first two were lost: recovery starts at once (no RTO wait)
    out = ack(c, f". 5001:5001(0) ack 1001 win 512 <nop,nop,sack {1001 + 2920}:{1001 + 4380}>",
              0.45)
    assert c.total_retrans >= 1 and c.tlp_high_seq is not None


def test_fast_recovery_uses_prr_and_ends_at_ssthresh():
    c = established()
    c.cwnd = 20 * 1460
    c.send(b"r" * 1460 * 20, 0.2)
    c.take_segments()
    base = 1001
    for k in range(3):
        ack(c, f". 5001:5001(0) ack {base} win 2048 <nop,nop,sack {base + 1460}:"
               f"{base + 1460 * (2 + k)}>", 0.3 + k / 1000)
    assert c.prr is not None and c.ssthresh == 14 * 1460          # CUBIC: 0.7 x 20
    ack(c, f". 5001:5001(0) ack {base + 1460 * 20} win 2048", 0.4)  # everything arrived
    # tcp_end_cwnd_reduction(): cwnd = ssthresh; the same ACK may then grow it (cong_avoid)
    assert c.prr is None and c.ssthresh <= c.cwnd <= c.ssthresh + 1460


def test_slow_start_after_idle_restarts_the_window():
    for flag, expect in ((True, 10), (False, 40)):
        c = established(slow_start_after_idle=flag)
        c.cwnd = 40 * 1460
        c.send(b"i" * 100, 0.2)
        ack(c, ". 5001:5001(0) ack 1101 win 2048", 0.3)
        c.send(b"i" * 100, 10.0)                        # idle for many RTOs
        assert c.cwnd // 1460 == expect


def pair(cc="cubic", loss=0.0, seed=3):
    net = simtcp.Network(seed=seed)
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.01, loss=loss)
    a.sysctl["net.ipv4.tcp_congestion_control"] = cc
    cli, conn, _ = connect(a, b, backlog=1)
    return net, a, b, cli, conn


def test_congestion_control_by_sysctl_and_socket_option():
    net, a, b, cli, conn = pair("reno")
    assert cli.conn.cc.name == "reno" and conn.conn.cc.name == "cubic"
    assert cli.getsockopt(IPPROTO_TCP, TCP_CONGESTION, 16) == b"reno".ljust(16, b"\0")
    cli.setsockopt(IPPROTO_TCP, TCP_CONGESTION, b"cubic")
    assert cli.conn.cc.name == "cubic"
    with pytest.raises(OSError) as e:
        cli.setsockopt(IPPROTO_TCP, TCP_CONGESTION, b"bbr")
    assert e.value.errno == errno.ENOENT
    with pytest.raises(ValueError):
        a.sysctl["net.ipv4.tcp_congestion_control"] = "vegas"


def test_tcp_maxseg_clamps_what_is_advertised_and_sent():
    net = simtcp.Network(seed=1)
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.01)
    srv = b.socket()
    srv.bind(("", 80))
    srv.listen(1)
    cli = a.socket()
    assert cli.getsockopt(IPPROTO_TCP, TCP_MAXSEG) == 536          # TCP_MSS_DEFAULT
    cli.setsockopt(IPPROTO_TCP, TCP_MAXSEG, 1000)
    with pytest.raises(OSError) as e:
        cli.setsockopt(IPPROTO_TCP, TCP_MAXSEG, 50)
    assert e.value.errno == errno.EINVAL
    cli.connect(("10.0.0.2", 80))
    syn = net.capture[0].packet.segment
    assert syn.options.mss == 1000 and cli.getsockopt(IPPROTO_TCP, TCP_MAXSEG) == 1000 - 12
    conn, _ = srv.accept()
    conn.sendall(b"m" * 5000)
    net.run(until=net.now + 0.1)
    sizes = {len(p.packet.segment.payload) for p in net.capture if p.packet.segment.sport == 80}
    assert max(sizes) == 1000 - 12                     # the server respects our MSS


def test_tcp_info_shows_the_congestion_state():
    net, a, b, cli, conn = pair(loss=0.03, seed=4)
    cli.setblocking(False)
    conn.setblocking(False)
    for _ in range(12):
        try:
            cli.send(b"x" * 100000)
        except BlockingIOError:
            pass
        net.run(until=net.now + 0.05)
        try:
            while conn.recv(1 << 20):
                pass
        except BlockingIOError:
            pass
    info = cli.tcp_info()
    assert info.state == 1 and info.congestion == "cubic" and info.total_retrans > 0
    assert info.snd_cwnd == cli.conn.cwnd // 1448 and info.rtt >= 20000
    raw = cli.getsockopt(IPPROTO_TCP, TCP_INFO, 104)
    fields = struct.unpack("<8B24I", raw)
    assert fields[0] == 1 and fields[8] == info.rto and fields[26] == info.snd_cwnd
    line = info.ss_line()            # what ss -ti prints under the socket (misc/ss.c)
    assert line.startswith("\t cubic wscale:10,10 rto:") and f"cwnd:{info.snd_cwnd}" in line
    assert info.ss_line(options=True).startswith("\t ts sack cubic ")   # ss -tio


def test_cwnd_scenario_shows_each_algorithm_s_reduction():
    """The data behind figures/*/cwnd_reno_cubic: after a fast retransmit, ssthresh is half
    the window for Reno and 0.7 of it for CUBIC (checked against the sampled curve)."""
    from simtcp import scenarios
    for name, beta in (("reno", 0.5), ("cubic", 717 / 1024)):
        run = scenarios.cwnd_over_time(name, seconds=6.0)
        assert run["fast_retransmit"], name
        ratios = []
        for k in range(1, len(run["t"])):
            before, now = run["ssthresh"][k - 1], run["ssthresh"][k]
            if before is not None and now is not None and now < before:
                ratios.append(now / run["cwnd"][k - 1])
        assert ratios and min(abs(r - beta) for r in ratios) < 0.08, (name, ratios)


def test_ladder_tcb_columns_can_show_the_congestion_state():
    from simtcp import scenarios
    from simtcp.reasons import SendCause
    from simtcp.viz.ladder import ladder
    from simtcp.viz.ladder_data import ladder_rows
    net = scenarios.transfer_with_loss()
    rows = [r for r in ladder_rows(net) if r["type"] == "segment" and r["sender"] == "client"]
    (fast,) = [r for r in rows if r["reason"] is SendCause.FAST_RETRANSMIT]
    cwnd, ssthresh, rto_ms = fast["cc"]
    assert ssthresh == 7 and cwnd <= ssthresh and rto_ms >= 200     # CUBIC: 0.7 x IW10; PRR
    fig = ladder(net, tcb="congestion")
    texts = {t.get_text() for t in fig.axes[0].texts}
    assert {"cwnd", "ssthresh", "RTO ms"} <= texts and "RCV.WND" not in texts


def test_hystart_ends_slow_start_when_the_delay_grows():
    """CUBIC's HyStart (Linux tcp_cubic.c hystart_update()): on a 10 Mbit/s, 40 ms RTT path
    with a deep queue, the RTT of a whole round of ACKs rises by more than
    clamp(min_rtt / 8, 4, 16) ms once the queue builds, and slow start ends there
    (ssthresh = cwnd) — long before any loss. Without HyStart slow start goes on until the
    queue overflows."""
    from simtcp.reasons import EventKind

    def run(hystart):
        net = simtcp.Network(seed=1)
        a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
        a.sysctl["tcp_cubic.hystart"] = hystart
        # a receive buffer that never limits the sender: this is about its slow start; and
        # the delay rule alone (a receiver whose window grows ACKs every segment, Linux
        # tcp_grow_window() "quick |= 1", and then the ACK-train rule fires first)
        b.sysctl["net.ipv4.tcp_rmem"] = "4096 4194304 33554432"
        a.sysctl["tcp_cubic.hystart_detect"] = 2
        net.add_link(a, b, delay=0.02, bandwidth=10e6)
        cli, peer, _ = connect(a, b)
        # the receiver reads as data arrives, so its window (and autotuned buffer) grows
        # ahead of the sender (tcp_rcv_space_adjust())
        read_as_it_arrives(peer)
        cli.setblocking(False)
        cli.send(b"x" * 1_000_000)
        net.run(until=0.45)
        exits = [r for r in net.trace if r.what is EventKind.HYSTART_EXIT]
        return net, cli.conn, exits

    net, conn, exits = run(1)
    assert len(exits) == 1 and dict(exits[0].detail)["how"] == "delay"
    cwnd_at_exit = dict(exits[0].detail)["cwnd"]
    assert 34 < cwnd_at_exit < 200                     # above the BDP (34), far below loss
    assert conn.ssthresh == cwnd_at_exit * conn.eff_mss and conn.total_retrans == 0
    assert conn.cwnd < 2 * conn.ssthresh              # congestion avoidance, not doubling
    assert "HyStart: slow start ends at cwnd" in str(net.trace)
    _net, plain, none = run(0)
    assert not none and plain.ssthresh >= 1 << 30 and plain.cwnd > 2 * conn.cwnd


def rfc6675_pipe(c):
    """The whole sum `pipe` short-cuts in the usual case (no recovery, nothing SACKed)."""
    if c.sack_ok:
        lost = c.rack.lost_bytes if c.prr is not None else 0
        return max(c.in_flight - c.sacked_bytes - lost, 0)
    gone = min(c.dupacks, 3) * c.eff_mss if c.prr is not None else 0
    return max(c.in_flight - gone - c.lost_bytes + c.retrans_out, 0)


@pytest.mark.parametrize("sack", [1, 0])
def test_the_pipe_shortcut_agrees_with_the_whole_sum_through_losses(sack):
    """Outside recovery nothing is marked lost or resent (only recovery sets those marks), so
    `pipe` answers with the bytes in flight while nothing is SACKed: through a lossy
    transfer, with and without SACK, it always equals the whole RFC 6675 sum."""
    net, a, b, _ = two_hosts(seed=5, loss=0.03)
    a.sysctl["net.ipv4.tcp_sack"] = sack
    cli, conn, _ = connect(a, b, backlog=1)
    assert cli.conn.sack_ok == bool(sack)
    read_as_it_arrives(conn)
    cli.setblocking(False)
    data, sent, recoveries, shortcut = b"p" * 400_000, 0, 0, 0
    while True:
        if sent < len(data):
            try:
                sent += cli.send(data[sent:sent + 65536])
            except BlockingIOError:
                pass
        c = cli.conn
        assert c.pipe == rfc6675_pipe(c)
        recoveries += c.prr is not None
        shortcut += c.prr is None and not c.sacked and c.in_flight > 0
        if not net.step():
            break
    assert sent == len(data) and recoveries and shortcut and c.total_retrans
