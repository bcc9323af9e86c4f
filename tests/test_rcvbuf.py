"""Receive memory and the window it allows (simtcp.rcvbuf, simtcp.tcpwindow).

The numbers come from Linux 6.18 over TUN (the packetdrill conformance scripts
tests/packetdrill/rcvwin-*.pkt pin the windows on the wire against the real kernel); these
tests pin the arithmetic underneath.
"""
import pytest

from pairs import connect, read_as_it_arrives

import simtcp
from simtcp.rcvbuf import RcvBuf, skb_alloc
from simtcp.seq import Seq
from simtcp.socket import SO_RCVBUF, SOL_SOCKET


@pytest.mark.parametrize("ip_len, truesize, tailroom", [
    (1040, 2304, 624),     # 1000 bytes of payload: a 2 KB kmalloc head
    (1500, 2304, 164),     # a full 1460-byte segment still fits 2 KB
    (640, 1280, 0),        # 600 bytes: exactly a 1 KB head
    (340, 1280, 300),
    (140, 832, 52),        # small heads come from their own 576-byte cache
])
def test_skb_truesize_matches_what_linux_charged(ip_len, truesize, tailroom):
    assert skb_alloc(ip_len) == (truesize, tailroom)


def test_window_from_space_follows_the_measured_ratio():
    rb = RcvBuf(131072, False, None)
    assert rb.full_space == 65536                    # 50 % until measured
    rb.ratio = 1448 * 256 // 2304                      # 160
    assert rb.full_space == 81920
    assert rb.space_from_win(118156) == 189049
    old = RcvBuf(131072, False, 2)                     # before 6.6: tcp_adv_win_scale 2
    assert old.full_space == 98304 and old.space_from_win(98304) == 131072


def test_the_kept_windows_follow_every_change_of_the_memory():
    """full_space and space_left are values kept up to date, not computed when read: each
    change of sk_rcvbuf, of the scaling ratio or of sk_rmem_alloc must refresh them."""
    rb = RcvBuf(131072, False, None)
    assert (rb.full_space, rb.space_left) == (65536, 65536)
    rb.queue(Seq(2000), 1000, 1040)                    # charges a 2304-byte skb
    assert (rb.full_space, rb.space_left) == (65536, (131072 - 2304) // 2)
    rb.ratio = 160                                     # a new measurement
    assert (rb.full_space, rb.space_left) == (81920, (131072 - 2304) * 160 >> 8)
    rb.rcvbuf = 262144                                 # grown (DRS, tcp_clamp_window())
    assert (rb.full_space, rb.space_left) == (163840, (262144 - 2304) * 160 >> 8)
    rb.consume(Seq(2000))                              # read: the skb is freed
    assert rb.space_left == rb.full_space
    rb.queue(Seq(3000), 1000, 1040)
    rb.discard()                                       # the connection went away
    assert rb.rmem == 0 and rb.space_left == rb.full_space
    assert rb.rcvbuf_grow(200000, 1 << 25, True, 0)    # DRS through its own setter
    assert rb.full_space == rb.win_from_space(rb.rcvbuf) and rb.rcvbuf > 262144


def test_a_small_segment_is_copied_into_the_tailroom_for_free():
    rb = RcvBuf(131072, False, None)
    base = Seq(1000)
    rb.queue(base + 1000, 1000, 1040)
    rb.queue(base + 1100, 100, 140)                    # fits the 624 bytes left
    rb.queue(base + 1600, 500, 540)                    # fits what is left then (524)
    assert rb.rmem == 2304 and len(rb.skbs) == 1
    rb.queue(base + 2300, 700, 740)                    # does not: a new skb
    assert rb.rmem == 4608
    rb.consume(base + 1599)                            # the first skb is not read to its end
    assert rb.rmem == 4608
    rb.consume(base + 1600)
    assert rb.rmem == 2304


def test_dynamic_right_sizing_grows_the_buffer_only_when_allowed():
    def grown(moderate, locked):
        rb = RcvBuf(131072, locked, None)
        rb.ratio, rb.space = 160, 14480
        return rb.rcvbuf_grow(24616, 33554432, moderate, 0), rb.rcvbuf, rb.space
    assert grown(True, False) == (True, 189049, 24616)
    assert grown(False, False) == (False, 131072, 24616)     # measured, buffer unchanged
    assert grown(True, True) == (False, 131072, 24616)       # SO_RCVBUF locked it


def bulk(rmem=None, read=True, rcvbuf=None):
    net = simtcp.Network(seed=2)
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    if rmem:
        b.sysctl["net.ipv4.tcp_rmem"] = rmem
    net.add_link(a, b, delay=0.01, bandwidth=20e6)
    cli, peer, _ = connect(a, b, server_options=[(SOL_SOCKET, SO_RCVBUF, rcvbuf)] if rcvbuf else ())
    got = []
    if read:
        read_as_it_arrives(peer, got)
    else:
        peer.setblocking(False)
    cli.setblocking(False)
    cli.send(b"x" * 2_000_000)
    net.run(until=1.0)
    return net, peer, sum(got)


def test_a_reading_receiver_autotunes_and_ss_shows_it():
    net, peer, read = bulk()
    conn = peer.conn
    assert conn.rb.rcvbuf > 131072 == 131072
    assert peer.getsockopt(SOL_SOCKET, SO_RCVBUF) == conn.rb.rcvbuf
    info = peer.tcp_info()
    assert info.rcv_space == conn.rb.space > 14480 and info.rcv_rtt > 20000   # µs, >= RTT
    assert f"rcv_space:{info.rcv_space}" in info.ss_line()
    grown = [r for r in net.trace if r.kind == "event" and r.rfc == "Linux tcp_rcvbuf_grow()"]
    assert grown and read > 1_000_000


def test_a_receiver_that_does_not_read_offers_only_what_its_memory_holds():
    net, peer, _ = bulk(read=False)
    conn = peer.conn
    # 131072 bytes of memory hold 56 skbs of 2304 bytes, 81 KB of payload; the windows
    # already offered (never shrunk, rounded up to 1024) let a few more segments in:
    # tcp_clamp_window() grows the buffer to the memory they took and tcp_collapse()
    # packs the queue into page-sized skbs, which opens the window once more; then 0
    assert conn.last_rcv_wnd == 0 and conn.rb.rmem <= conn.rb.rcvbuf + 2304
    assert 131072 < conn.rb.rcvbuf <= 131072 + 6 * 2304
    assert len(conn.rcvq) <= conn.rb.rmem                 # of the 2 MB sent
    assert any(r.kind == "event" and r.rfc == "Linux tcp_collapse()" for r in net.trace)
    net2, locked, _ = bulk(rcvbuf=65536)               # SO_RCVBUF: no autotuning either
    assert locked.conn.rb.rcvbuf == 131072 and locked.conn.rb.locked
