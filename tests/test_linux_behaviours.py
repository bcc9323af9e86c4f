"""Linux behaviours that textbook TCP leaves open, each as the kernel does it (issue 11):
window scale from the buffer limits, socket buffer sizes, shutdown(SHUT_RD), the timestamps
on an abort's reset, TS.Recent, PSH, duplicate ACKs with SACK, CurrEstab, kernel versions."""
import errno

import pytest
from scapy.layers.inet import IP, TCP

from pairs import connect, two_hosts

import simtcp
from simtcp.profiles import NotModelledError, Sysctl
from simtcp.segment import Flags, FourTuple, Segment
from simtcp.socket import MSG_MORE, SO_RCVBUF, SO_SNDBUF, SOL_SOCKET, SHUT_RD
from simtcp.states import State
from simtcp.tcp import Connection, TcpConfig, select_initial_window

T = FourTuple("10.0.0.1", 40000, "10.0.0.2", 80)


def pair(seed=1, delay=0.005, **link):
    return two_hosts(seed, delay, **link)[:3]


def connected(net, a, b, port=80):
    return connect(a, b, port, backlog=8)[:2]


# ------------------------------------------------------------------ window scale
@pytest.mark.parametrize("rmem2, rmem_max, expected", [
    (33554432, 4194304, 10),        # Linux 6.16+ defaults (a Linux 6.18 kernel said 10)
    (6291456, 212992, 7),           # the long-standing 6 MB default gave 7
    (4194304, 4194304, 7),
    (131072, 65536, 2),
    (1 << 31, 0, 14),               # RFC 7323 §2.3: never more than 14
])
def test_window_scale_follows_the_largest_possible_buffer(rmem2, rmem_max, expected):
    cfg = TcpConfig(rmem_limit=rmem2, rmem_max=rmem_max)
    assert select_initial_window(cfg, 1460) == (64240, expected)


def test_a_locked_receive_buffer_sets_both_window_and_scale():
    # SO_RCVBUF 16384 -> sk_rcvbuf 32768 -> space 16384: 11 segments, and no scaling needed
    cfg = TcpConfig(rcvbuf=32768, rcvbuf_locked=True)
    assert select_initial_window(cfg, 1448) == (15928, 0)
    cfg.rcvbuf = 1 << 21            # space 1 MB: scale 5; the SYN's window stays 16 bits
    assert select_initial_window(cfg, 1460) == (65535, 5)
    assert select_initial_window(TcpConfig(window_scaling=False), 1460)[1] == 0


def test_tcp_rmem_sysctl_changes_the_syn():
    net, a, b = pair()
    peer = net.add_peer("10.0.0.9")
    net.add_link(peer, a, delay=0.001)
    a.sysctl["net.ipv4.tcp_rmem"] = "4096 32768 4194304"
    s = a.socket()
    s.setblocking(False)
    s.connect_ex(("10.0.0.9", 80))
    net.run(until=0.01)
    syn = peer.packets[-1].segment
    assert syn.options.wscale == 7 and syn.window == 16384 // 1460 * 1460


# ------------------------------------------------------------------ buffers
def test_socket_buffers_read_back_doubled_and_clamped_like_linux():
    """Values measured on Linux 6.18: 1 -> 2304 / 4608 (SOCK_MIN_*), 65536 -> 131072,
    10**8 -> 2 * rmem_max; before any setsockopt, tcp_rmem[1] and tcp_wmem[1]."""
    net, a, _ = pair()
    s = a.socket()
    assert (s.getsockopt(SOL_SOCKET, SO_RCVBUF), s.getsockopt(SOL_SOCKET, SO_SNDBUF)) == \
        (131072, 16384)
    for value, rcv, snd in ((1, 2304, 4608), (65536, 131072, 131072),
                            (10**8, 8388608, 8388608), (-1, 8388608, 8388608)):
        s.setsockopt(SOL_SOCKET, SO_RCVBUF, value)
        s.setsockopt(SOL_SOCKET, SO_SNDBUF, value)
        assert (s.getsockopt(SOL_SOCKET, SO_RCVBUF), s.getsockopt(SOL_SOCKET, SO_SNDBUF)) == \
            (rcv, snd)
    a.sysctl["net.core.rmem_max"] = 100000
    s.setsockopt(SOL_SOCKET, SO_RCVBUF, 10**8)
    assert s.getsockopt(SOL_SOCKET, SO_RCVBUF) == 200000


def test_so_rcvbuf_is_the_window_the_receiver_offers():
    net, a, b = pair()
    cli, conn, _ = connect(a, b, backlog=1,         # SO_RCVBUF 4096: sk_rcvbuf 8192 of memory
                           server_options=[(SOL_SOCKET, SO_RCVBUF, 4096)])
    assert conn.conn.rcv_wscale == 0 and conn.conn.snd_wscale == 10
    cli.setblocking(False)
    cli.send(b"x" * 20000)
    net.run(until=net.now + 1)
    # the window closed when three 1448-byte segments (2304-byte skbs) filled the memory;
    # the kernel agrees (tests/packetdrill/rcvwin-rcvbuf-tiny-zero.pkt)
    assert len(conn.conn.rcvq) == 3 * 1448 and conn.conn.last_rcv_wnd == 0


# ------------------------------------------------------------------ shutdown(SHUT_RD)
def test_shutdown_rd_still_returns_queued_data_then_eof():
    net, a, b = pair()
    cli, conn = connected(net, a, b)
    cli.sendall(b"hello")
    net.run(until=net.now + 0.1)
    conn.shutdown(SHUT_RD)
    assert conn.recv(100) == b"hello"               # tcp_recvmsg(): queued data first
    assert conn.recv(100) == b""                    # then end-of-file, without blocking


# ------------------------------------------------------------------ the abort's reset
def test_reset_from_close_with_unread_data_carries_timestamps_and_window():
    net, a, b = pair()
    cli, conn = connected(net, a, b)
    cli.sendall(b"unread")
    net.run(until=net.now + 0.1)
    conn.close()
    net.run(until=net.now + 0.1)
    (rst,) = [p for p in net.capture if p.packet.segment.flags & Flags.RST]
    seg = rst.packet.segment
    assert seg.flags == Flags.RST | Flags.ACK and seg.options.ts is not None
    assert seg.window > 0 and rst.packet.ident != 0   # tcp_transmit_skb(): the socket's own


def test_ip_ids_count_per_socket_from_a_keyed_start_and_a_request_socket_sends_zero():
    # ip_select_ident_segs(): each full socket counts from get_random_u16() (here the keyed
    # hash of its 4-tuple); a request socket has none yet, so its SYN-ACK carries 0
    net, a, b = pair()
    cli, conn = connected(net, a, b)
    cli.sendall(b"ping")
    conn.recv(10)
    conn.sendall(b"pong")
    cli.recv(10)
    cli.close()
    conn.close()
    net.run()
    sent = {}
    for cp in net.capture:
        sent.setdefault(cp.packet.src, []).append(cp.packet)
    for host, packets in ((a, sent[a.ip]), (b, sent[b.ip][1:])):
        seg = packets[0].segment
        start = host.stack._hash(f"ipid|{packets[0].src}|{seg.sport}|{packets[0].dst}|"
                                 f"{seg.dport}") & 0xFFFF
        assert [p.ident for p in packets] == [(start + i) & 0xFFFF
                                              for i in range(len(packets))]
    synack = sent[b.ip][0]
    assert synack.segment.flags == Flags.SYN | Flags.ACK and synack.ident == 0
    assert len(sent[a.ip]) >= 5 and len(sent[b.ip]) >= 4


# ------------------------------------------------------------------ TS.Recent
def established(ts=True):
    c = Connection(T, TcpConfig(timestamps=ts), 1000)
    c.open_active(0.0)
    c.receive(Segment.parse("S. 5000:5000(0) ack 1001 win 65535 <mss 1460,sackOK,TS val 100 "
                            "ecr 0,nop,wscale 7>", sport=80, dport=40000), 0.01)
    c.take_segments()
    return c


def feed(c, text, now):
    c.receive(Segment.parse(text, sport=80, dport=40000), now)
    return [o.segment for o in c.take_segments()]


def test_ts_recent_is_not_taken_from_an_unacceptable_segment():
    c = established()
    # far beyond the window: a duplicate ACK answers it and must echo the *old* TSval
    (dup,) = feed(c, ". 900000:900010(10) ack 1001 win 512 <nop,nop,TS val 999 ecr 0>", 0.1)
    assert dup.options.ts[1] == 100 and c.ts_recent == 100
    # an in-window RST not at RCV.NXT: challenge ACK, still the old TSval
    (chal,) = feed(c, "R 5002:5002(0) win 0 <nop,nop,TS val 888 ecr 0>", 1.0)
    assert chal.options.ts[1] == 100
    # an acceptable segment updates it, and an older TSval does not take it back
    feed(c, "P. 5001:5011(10) ack 1001 win 512 <nop,nop,TS val 300 ecr 0>", 2.0)
    assert c.ts_recent == 300
    feed(c, ". 5011:5011(0) ack 1001 win 512 <nop,nop,TS val 200 ecr 0>", 2.1)
    assert c.ts_recent == 300


# ------------------------------------------------------------------ PSH
def test_psh_marks_the_end_of_each_write_not_only_an_empty_queue():
    c = established(ts=False)
    c.cfg.nodelay = True
    c.send(b"a" * 100, 0.1)
    c.send(b"b" * 3000, 0.1)
    segs = [o.segment for o in c.take_segments()]
    assert [len(s.payload) for s in segs] == [100, 1460, 1460, 80]
    assert [bool(s.flags & Flags.PSH) for s in segs] == [True, False, False, True]


def test_msg_more_holds_the_push_and_the_partial_segment():
    c = established(ts=False)
    c.send(b"head", 0.1, more=True)
    assert not c.take_segments() and "persist" in c.timers     # held (TCP_NAGLE_CORK)
    c.send(b"tail", 0.1)
    (seg,) = [o.segment for o in c.take_segments()]
    assert seg.payload == b"headtail" and seg.flags & Flags.PSH


def test_a_long_write_is_pushed_every_half_window():
    """tcp_sendmsg() forced_push(): more than max_window/2 past the last push."""
    c = established(ts=False)          # the peer offered 65535 << 7
    c.max_window = 8 * 1460            # (a small window, so the forced pushes show)
    c.snd_wnd = c.cwnd = 1 << 20
    c.send(b"z" * 1460 * 12, 0.1)
    psh = [i for i, o in enumerate(c.take_segments()) if o.segment.flags & Flags.PSH]
    assert psh == [3, 8, 11]      # write_seq > pushed_seq + 5840 first after 4 segments


def test_socket_send_accepts_msg_more_only():
    net, a, b = pair()
    cli, conn = connected(net, a, b)
    cli.send(b"x", MSG_MORE)
    with pytest.raises(OSError) as e:
        cli.send(b"x", 0x1)            # MSG_OOB
    assert e.value.errno == errno.EOPNOTSUPP and "not modelled" in str(e.value)


# ------------------------------------------------------------------ dup ACKs with SACK
def test_a_sack_carrying_ack_counts_even_when_the_window_changes():
    c = established(ts=False)
    c.send(b"d" * 1460 * 6, 0.1)
    c.take_segments()
    base = 1001
    for k, win in enumerate((600, 700, 800)):      # every ACK also opens the window
        blocks = f"{base + 1460}:{base + 1460 * (2 + k)}"
        out = feed(c, f". 5001:5001(0) ack {base} win {win} <nop,nop,sack {blocks}>", 0.2 + k / 100)
    assert c.dupacks >= 3 and out and int(out[0].seq) == base   # fast retransmit of the hole


def test_a_larger_window_without_sack_is_a_window_update_not_a_dupack():
    c = established(ts=False)
    c.send(b"d" * 1460 * 6, 0.1)
    c.take_segments()
    feed(c, ". 5001:5001(0) ack 2461 win 600", 0.2)
    for win in (700, 800, 900):
        assert feed(c, f". 5001:5001(0) ack 2461 win {win}", 0.3) == []
    assert c.dupacks == 0


# ------------------------------------------------------------------ counters, versions
@pytest.mark.parametrize("os_name, close_wait_counts", [("linux", True), ("linux-6.6", False)])
def test_curr_estab_counts_close_wait_since_6_10(os_name, close_wait_counts):
    net = simtcp.Network(seed=1)
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2", os=os_name)
    net.add_link(a, b, delay=0.005)
    cli, conn = connected(net, a, b)
    assert b.counters["CurrEstab"] == 1
    cli.close()
    net.run(until=net.now + 0.1)
    assert conn.state == "CLOSE-WAIT"
    assert b.counters["CurrEstab"] == (1 if close_wait_counts else 0)
    conn.close()
    net.run(until=net.now + 0.1)
    assert b.counters["CurrEstab"] == 0


def test_the_linux_profile_names_its_kernel_and_follows_its_version():
    assert Sysctl("linux").kernel == (6, 18)
    assert "6.18" in simtcp.profiles.PROFILES["linux"].description
    old = Sysctl("linux-5.4")
    assert old["net.core.somaxconn"] == 4096 and Sysctl("linux-4.20")["net.core.somaxconn"] == 128
    assert "net.ipv4.tcp_syn_linear_timeouts" not in Sysctl("linux-6.1")
    assert Sysctl("linux-6.5")["net.ipv4.tcp_syn_linear_timeouts"] == 4
    assert Sysctl("linux-6.15")["net.ipv4.tcp_rmem"][2] == 6291456
    assert Sysctl("linux-6.16")["net.ipv4.tcp_rmem"][2] == 33554432
    with pytest.raises(KeyError, match="cannot stat"):
        Sysctl("linux-6.1")["net.ipv4.tcp_syn_linear_timeouts"] = 4
    with pytest.raises(NotModelledError):
        Sysctl("linux-3.10")
    with pytest.raises(ValueError):
        Sysctl("windows-10")
    assert Sysctl("linux-5.15").copy().kernel == (5, 15)


def test_rfc1337_keeps_time_wait_against_a_reset():
    for rfc1337, survives in ((0, False), (1, True)):
        c = established(ts=False)
        c.cfg.rfc1337 = bool(rfc1337)
        c.close(0.2)
        c.take_segments()
        feed(c, "F. 5001:5001(0) ack 1002 win 512", 0.3)
        assert c.state is State.TIME_WAIT
        feed(c, "R 5002:5002(0) win 0", 0.5)
        assert (c.state is State.TIME_WAIT) == survives


def test_host_wide_challenge_ack_limit():
    net = simtcp.Network(seed=3)
    b = net.add_host("b", "10.0.0.2")
    peer = net.add_peer("10.0.0.9")
    net.add_link(peer, b, delay=0.001)
    b.sysctl["net.ipv4.tcp_challenge_ack_limit"] = 1
    srv = b.socket()
    srv.bind(("", 80))
    srv.listen(8)
    for sport in (1001, 1002):        # two connections, one in-window RST each
        peer.send(IP(src="10.0.0.9", dst="10.0.0.2") / TCP(sport=sport, dport=80, flags="S",
                                                             seq=100))
        net.run(until=net.now + 0.01)
        isn = peer.packets[-1].segment.seq
        peer.send(IP(src="10.0.0.9", dst="10.0.0.2") / TCP(sport=sport, dport=80, flags="A",
                                                             seq=101, ack=int(isn) + 1))
        net.run(until=net.now + 0.01)
    before = len(peer.packets)
    for sport in (1001, 1002):
        peer.send(IP(src="10.0.0.9", dst="10.0.0.2") / TCP(sport=sport, dport=80, flags="R",
                                                             seq=5000))
    net.run(until=net.now + 0.01)
    assert len(peer.packets) - before == 1          # budget of 1 per second: one challenge
    assert b.counters["TCPChallengeACKLimitDrops"] == 1
