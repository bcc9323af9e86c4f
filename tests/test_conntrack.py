"""Connection tracking and NAT tuple selection on their own (sans-IO)."""
import random

import pytest

from simtcp.conntrack import (ORIGINAL, REPLY, ConntrackTable, CtTuple, CtVerdict, TcpCt)
from simtcp.fwmatch import CtState
from simtcp.iptables import Netfilter
from simtcp.nat import (MANIP_DST, MANIP_SRC, NatRange, nat_range_for, setup_nat,
                        translate)

SYN, SYNACK, ACK, FIN, RST = 0x02, 0x12, 0x10, 0x11, 0x14

C = CtTuple(6, "192.168.0.10", 40000, "198.51.100.7", 80)


def handshake(ct, t=C, now=0.0):
    conn, d, st, _ = ct.track(t, SYN, now)
    assert ct.confirm(conn, now) is None
    return conn


def test_tcp_states_through_a_connection_and_assured():
    ct = ConntrackTable()
    conn = handshake(ct)
    assert conn.tcp_state is TcpCt.SYN_SENT and not conn.seen_reply
    conn2, d, st, _ = ct.track(C, SYN, 1.0)                 # retransmitted SYN: still NEW
    assert (conn2, d, st) == (conn, ORIGINAL, CtState.NEW)
    _, d, st, _ = ct.track(C.inverse(), SYNACK, 1.01)
    assert (d, st, conn.tcp_state) == (REPLY, CtState.ESTABLISHED, TcpCt.SYN_RECV)
    _, d, st, _ = ct.track(C, ACK, 1.02)
    assert (st, conn.tcp_state, conn.assured) == (CtState.ESTABLISHED, TcpCt.ESTABLISHED, True)
    assert conn.deadline == pytest.approx(1.02 + 432000)
    ct.track(C, FIN, 2.0)
    assert conn.tcp_state is TcpCt.FIN_WAIT
    ct.track(C.inverse(), ACK, 2.01)
    assert conn.tcp_state is TcpCt.CLOSE_WAIT
    ct.track(C.inverse(), FIN, 2.02)
    assert conn.tcp_state is TcpCt.LAST_ACK
    ct.track(C, ACK, 2.03)
    assert conn.tcp_state is TcpCt.TIME_WAIT and conn.deadline == pytest.approx(122.03)
    assert ct.expire(122.02) == 0 and len(ct) == 1
    assert ct.expire(122.03) == 1 and len(ct) == 0


def test_syn_sent_times_out_after_the_sysctl():
    ct = ConntrackTable({"net.netfilter.nf_conntrack_tcp_timeout_syn_sent": 5})
    handshake(ct)
    ct.expire(4.9)
    assert len(ct) == 1
    ct.expire(5.0)
    assert len(ct) == 0


def test_invalid_packets():
    ct = ConntrackTable()
    assert ct.track(C, SYNACK, 0)[2] is CtState.INVALID       # SYN-ACK out of nowhere
    assert ct.track(C, 0x03, 0)[2] is CtState.INVALID         # SYN+FIN: tcp_error
    conn = handshake(ct)
    assert ct.track(C, ACK, 0.1)[2] is CtState.INVALID        # ACK before SYN-ACK: sIV
    assert conn.tcp_state is TcpCt.SYN_SENT


def test_loose_pickup_of_midstream_ack():
    ct = ConntrackTable()
    conn, _, st, _ = ct.track(C, ACK, 0)
    assert st is CtState.NEW and conn.tcp_state is TcpCt.ESTABLISHED
    strict = ConntrackTable({"net.netfilter.nf_conntrack_tcp_loose": 0})
    assert strict.track(C, ACK, 0)[2] is CtState.INVALID


def test_reset_before_reply_forgets_the_entry():
    ct = ConntrackTable()
    handshake(ct)
    ct.track(C.inverse(), RST, 0.01)                            # closed port
    assert len(ct) == 0


def test_syn_after_time_wait_opens_a_fresh_entry():
    ct = ConntrackTable()
    conn = handshake(ct)
    for t, f in ((C.inverse(), SYNACK), (C, ACK), (C, FIN), (C.inverse(), FIN), (C, ACK)):
        ct.track(t, f, 1)
    assert conn.tcp_state is TcpCt.TIME_WAIT
    new, _, st, _ = ct.track(C, SYN, 2)
    assert new is not conn and st is CtState.NEW and conn.dead


def test_udp_unreplied_then_stream_timeouts():
    ct = ConntrackTable()
    u = CtTuple(17, "10.0.0.1", 5000, "10.0.0.2", 53)
    conn, _, st, _ = ct.track(u, 0, 0)
    ct.confirm(conn, 0)
    assert st is CtState.NEW and conn.deadline == 30
    _, d, st, _ = ct.track(u.inverse(), 0, 0.5)
    assert st is CtState.ESTABLISHED and conn.deadline == 30.5 and not conn.assured
    ct.track(u, 0, 3.0)                                         # older than 2 s: a stream
    assert conn.deadline == 123.0 and conn.assured


def test_icmp_echo_and_related_error():
    ct = ConntrackTable()
    echo = CtTuple(1, "10.0.0.1", 77, "10.0.0.2", 8 << 8)
    conn, _, st, _ = ct.track(echo, 0, 0)
    ct.confirm(conn, 0)
    assert conn.reply == CtTuple(1, "10.0.0.2", 77, "10.0.0.1", 0)
    assert ct.track(conn.reply, 0, 0.1)[2] is CtState.ESTABLISHED
    tcp = handshake(ct)
    hit = ct.related(C)       # an ICMP error quoting the client's SYN comes back
    assert hit == (tcp, REPLY)
    assert ct.track(CtTuple(1, "9.9.9.9", 0, "10.0.0.1", 3 << 8 | 3), 0, 0)[2] \
        is CtState.INVALID                                      # an error is not a flow


def test_table_full_early_drop_and_dropping():
    ct = ConntrackTable({"net.netfilter.nf_conntrack_max": 2})
    a = handshake(ct, CtTuple(6, "10.0.0.1", 1, "10.0.0.9", 80))
    b = handshake(ct, CtTuple(6, "10.0.0.2", 1, "10.0.0.9", 80), now=1)
    c = handshake(ct, CtTuple(6, "10.0.0.3", 1, "10.0.0.9", 80), now=2)
    assert a.dead and not b.dead and not c.dead and ct.stats["early_drop"] == 1
    for conn in (b, c):                                          # make both ASSURED
        ct.track(conn.reply, SYNACK, 3)
        ct.track(conn.orig, ACK, 3)
    assert b.assured and c.assured
    got = ct.track(CtTuple(6, "10.0.0.4", 1, "10.0.0.9", 80), SYN, 4)
    assert got[0] is None and got[3] is CtVerdict.TABLE_FULL


def test_memory_is_flat_after_expiry():
    ct = ConntrackTable({"net.netfilter.nf_conntrack_udp_timeout": 1})
    for i in range(2000):
        conn, *_ = ct.track(CtTuple(17, "10.0.0.1", 1024 + i, "10.0.0.2", 53), 0, i * 0.01)
        ct.confirm(conn, i * 0.01)
    ct.expire(100)
    assert len(ct) == 0 and ct.by_tuple == {} and ct._heap == []


# ------------------------------------------------------------------------ NAT

def masq_range():
    nf = Netfilter()
    nf.iptables("-t nat -A POSTROUTING -o eth1 -j MASQUERADE")
    target = nf.tables["nat"].chains["POSTROUTING"].rules[0].target
    return nat_range_for(target, "203.0.113.1")


def snat(ct, t, rng, seed=1, now=0.0):
    conn, *_ = ct.track(t, SYN, now)
    setup_nat(ct, conn, MANIP_SRC, rng, random.Random(seed))
    return conn, ct.confirm(conn, now)


def test_masquerade_keeps_the_port_when_free_else_picks_another():
    ct, rng = ConntrackTable(), masq_range()
    a, err = snat(ct, C, rng)
    assert err is None and a.reply == CtTuple(6, "198.51.100.7", 80, "203.0.113.1", 40000)
    b, err = snat(ct, CtTuple(6, "192.168.0.11", 40000, "198.51.100.7", 80), rng)
    assert err is None
    assert b.reply.dst == "203.0.113.1" and b.reply.dport != 40000
    assert 1024 <= b.reply.dport <= 65535
    # a third host's port 40000 toward another destination keeps 40000: the outside
    # 5-tuple differs from the first flow's, so nothing clashes (Linux overloads ports)
    c, _ = snat(ct, CtTuple(6, "192.168.0.12", 40000, "198.51.100.8", 80), rng)
    assert c.reply.dport == 40000


def test_endpoint_independent_mapping_reuses_the_mapping():
    ct, rng = ConntrackTable(), masq_range()
    snat(ct, C, rng)
    b, _ = snat(ct, CtTuple(6, "192.168.0.11", 40000, "198.51.100.7", 80), rng)
    mapped = b.reply.dport
    # the same inside endpoint toward a new destination gets the same outside port
    c, _ = snat(ct, CtTuple(6, "192.168.0.11", 40000, "192.0.2.50", 443), rng)
    assert c.reply.dport == mapped


def test_nat_never_maps_two_live_flows_onto_one_outside_tuple():
    ct, rng = ConntrackTable(), masq_range()
    outside = set()
    for i in range(300):
        conn, err = snat(ct, CtTuple(6, f"192.168.{i // 250}.{i % 250 + 1}", 40000,
                                     "198.51.100.7", 80), rng, seed=i)
        assert err is None
        key = (conn.reply.dst, conn.reply.dport)
        assert key not in outside
        outside.add(key)


def test_port_exhaustion_toward_one_destination():
    nf = Netfilter()
    nf.iptables("-t nat -A POSTROUTING -p tcp -j SNAT --to-source 203.0.113.1:1000-1003")
    target = nf.tables["nat"].chains["POSTROUTING"].rules[0].target
    rng = nat_range_for(target, None)
    ct = ConntrackTable()
    results = [snat(ct, CtTuple(6, "192.168.0.10", 40000 + i, "198.51.100.7", 80), rng)[1]
               for i in range(6)]
    assert results[:4] == [None] * 4
    assert results[4:] == [CtVerdict.INSERT_FAILED] * 2
    assert sorted(c.reply.dport for c in ct.entries()) == [1000, 1001, 1002, 1003]
    # another destination still has all four ports
    assert snat(ct, CtTuple(6, "192.168.0.10", 50000, "198.51.100.8", 80), rng)[1] is None


def test_random_fully_ignores_a_free_original_port():
    ct = ConntrackTable()
    rng = NatRange(*(2 * [0xCB007101]), None, None, random_fully=True)
    ports = {snat(ct, CtTuple(6, "192.168.0.10", 40000 + i, "198.51.100.7", 80), rng,
                  seed=i)[0].reply.dport for i in range(5)}
    assert ports != {40000 + i for i in range(5)}


def test_dnat_translation_both_directions():
    nf = Netfilter()
    nf.iptables("-t nat -A PREROUTING -p tcp --dport 8080 -j DNAT "
                "--to-destination 192.168.0.10:80")
    target = nf.tables["nat"].chains["PREROUTING"].rules[0].target
    ct = ConntrackTable()
    t = CtTuple(6, "198.51.100.7", 5555, "203.0.113.1", 8080)
    conn, *_ = ct.track(t, SYN, 0)
    assert setup_nat(ct, conn, MANIP_DST, nat_range_for(target, None), random.Random(1))
    ct.confirm(conn, 0)
    assert translate(conn, ORIGINAL, MANIP_DST) == ("192.168.0.10", 80)
    assert translate(conn, ORIGINAL, MANIP_SRC) is None
    reply = CtTuple(6, "192.168.0.10", 80, "198.51.100.7", 5555)
    assert ct.lookup(reply) == (conn, REPLY)
    assert translate(conn, REPLY, MANIP_SRC) == ("203.0.113.1", 8080)
