"""Hardening against what arrives from the wire: a peer that announces a tiny MSS, keeps a
zero window, reneges on SACKed data or floods overlapping segments, and malformed options.
Nothing it does may hang the simulation, exhaust memory or crash a view."""
import errno
import math
import socket
import struct

import pytest
from scapy.layers.inet import IP, TCP

import simtcp
from simtcp import SimulationIdleError, wire
from simtcp.errors import SimulationStalledError
from simtcp.segment import Flags

SRV, PEER = "10.0.0.2", "10.0.0.9"


def scripted_peer(options, window=65535, sport=5555, wire="bytes"):
    """A server listening on port 80 and a hand-driven peer that completes a handshake with
    the given SYN options and advertises ``window``. Returns (net, server-side socket, peer,
    the peer's next sequence number, the server's ISN + 1)."""
    net = simtcp.Network(seed=3, wire=wire)
    s = net.add_host("s", SRV)
    p = net.add_peer(PEER)
    net.add_link(p, s, delay=0.001)
    lst = s.socket()
    lst.bind(("", 80))
    lst.listen(8)
    p.send(IP(src=PEER, dst=SRV) / TCP(sport=sport, dport=80, flags="S", seq=100,
                                         window=window, options=options))
    net.run(until=net.now + 0.01)
    synack = p.received[-1][TCP]
    assert synack.flags == "SA"
    ts = [o for o in options if o[0] == "Timestamp"]
    opts = [("NOP", None), ("NOP", None), ("Timestamp", (2, 0))] if ts else []
    p.send(IP(src=PEER, dst=SRV) / TCP(sport=sport, dport=80, flags="A", seq=101,
                                         ack=synack.seq + 1, window=window, options=opts))
    net.run(until=net.now + 0.01)
    conn, _ = lst.accept()
    return net, conn, p, 101, synack.seq + 1


def data_segments(peer):
    return [x[TCP] for x in peer.received if len(x[TCP].payload) or x[TCP].flags & 0x01]


@pytest.mark.parametrize("mss", [1, 11, 12, 40, 47])
def test_tiny_peer_mss_is_clamped_to_tcp_min_snd_mss(mss):
    """Linux raises the peer's MSS to net.ipv4.tcp_min_snd_mss (48) before subtracting the
    12 bytes of timestamps (tcp_output.c __tcp_mtu_to_mss): 36-byte segments, never empty
    ones and never one larger than the clamp. (Before: MSS 12 sent empty segments for ever,
    MSS 1-11 one oversized segment, then nothing.)"""
    net, conn, p, _, _ = scripted_peer([("MSS", mss), ("Timestamp", (1, 0))])
    conn.send(b"x" * 360)
    net.run(until=net.now + 5)
    segs = [x for x in data_segments(p) if len(x.payload)]
    assert segs, "no data was sent"
    assert all(0 < len(x.payload) <= 48 - 12 for x in segs)
    assert max(len(x.payload) for x in segs) == 48 - 12
    assert sum(len(x.payload) for x in segs) >= 360
    assert len(p.received) < 100


def test_min_snd_mss_sysctl_has_its_effect():
    net, conn, p, _, _ = scripted_peer([("MSS", 20)])
    assert conn.conn.snd_mss == 48
    net2 = simtcp.Network(seed=3)
    h = net2.add_host("h", "10.0.0.1")
    h.sysctl["net.ipv4.tcp_min_snd_mss"] = 100
    assert h.stack.config().min_snd_mss == 100
    with pytest.raises(ValueError):
        h.sysctl["net.ipv4.tcp_min_snd_mss"] = 47        # below TCP_MIN_SND_MSS


def probes(peer):
    return [x for x in peer.received if not len(x[TCP].payload) and x[TCP].flags == "A"]


def test_silent_zero_window_peer_backs_off_then_times_out():
    """tcp_probe_timer(): probes back off exponentially (capped at TCP_RTO_MAX) and the
    connection gives up with ETIMEDOUT after tcp_retries2 (15) unanswered probes. (Before:
    a probe every 2*RTO for ever.)"""
    net, conn, p, _, _ = scripted_peer([("MSS", 1460)], window=0)
    p.received.clear()
    conn.send(b"x" * 1000)
    start = net.now
    net.run(until=start + 4 * 3600)
    got = probes(p)
    assert len(got) == 15
    times = [x.time for x in got]
    gaps = [b - a for a, b in zip(times, times[1:])]
    assert all(b >= a * 1.99 or b == pytest.approx(120) for a, b in zip(gaps, gaps[1:]))
    assert max(gaps) == pytest.approx(120)
    assert conn.conn.state is simtcp.State.CLOSED
    with pytest.raises(TimeoutError) as e:
        conn.send(b"more")
    assert e.value.errno == errno.ETIMEDOUT


def answer_probes(peer, rcv_nxt, window=0):
    """Make the peer answer every segment like a receiver whose buffer is full: a pure ACK
    of ``rcv_nxt`` (what it has taken) advertising ``window``."""
    def reply(node, packet):
        seg = packet.segment
        node.send(IP(src=PEER, dst=SRV) / TCP(sport=seg.dport, dport=seg.sport, flags="A",
                                              seq=101, ack=rcv_nxt, window=window))
    peer.on_receive = reply


def test_answering_zero_window_peer_keeps_connection_with_capped_probes():
    """RFC 1122 §4.2.2.17: a receiver that answers probes keeps the connection open; the
    interval still backs off to TCP_RTO_MAX (Linux tcp_ack_probe re-arms with backoff)."""
    net, conn, p, _, una = scripted_peer([("MSS", 1460)], window=0)
    answer_probes(p, una)
    p.received.clear()
    conn.send(b"x" * 1000)
    net.run(until=net.now + 3600)
    n = len(probes(p))
    assert 25 < n < 50                       # ~10 backing off, then one per 120 s
    assert conn.conn.state is simtcp.State.ESTABLISHED


def test_blocking_sendall_on_a_zero_window_for_ever_stalls_with_a_clear_error():
    """A blocking call on a network that only re-arms timers raises SimulationStalledError
    (a SimulationIdleError) after Network.stall_horizon of virtual time, never hangs."""
    net, conn, p, _, una = scripted_peer([("MSS", 1460)], window=0)
    answer_probes(p, una)
    net.stall_horizon = 1800.0
    start = net.now
    with pytest.raises(SimulationStalledError, match="stall_horizon"):
        conn.sendall(b"x" * (conn.conn.cfg.sndbuf + 1))
    assert net.now == pytest.approx(start + 1800.0)
    assert issubclass(SimulationStalledError, SimulationIdleError)
    with pytest.raises(SimulationStalledError):
        net.run()                                # run() without until: same horizon


def test_tcp_user_timeout_bounds_zero_window_probing():
    net, conn, p, _, una = scripted_peer([("MSS", 1460)], window=0)
    answer_probes(p, una)
    conn.setsockopt(simtcp.socket.IPPROTO_TCP, simtcp.socket.TCP_USER_TIMEOUT, 30_000)
    assert conn.getsockopt(simtcp.socket.IPPROTO_TCP, simtcp.socket.TCP_USER_TIMEOUT) == 30_000
    start = net.now
    conn.send(b"x" * 100)
    net.run(until=start + 600)
    assert conn.conn.state is simtcp.State.CLOSED and conn.conn.error == errno.ETIMEDOUT
    closed = [r.time for r in net.trace if r.kind == "state" and r.what == "CLOSED"]
    assert closed and closed[-1] - start < 31


def test_orphaned_socket_gives_up_probing_an_answering_peer():
    """close() with data queued behind a zero window: tcp_orphan_retries (0 means 8) ends
    it once the probe interval reached TCP_RTO_MAX, even though the peer answers."""
    net, conn, p, _, una = scripted_peer([("MSS", 1460)], window=0)
    answer_probes(p, una)
    conn.send(b"x" * 100)
    conn.close()
    net.run(until=net.now + 3600)
    c = conn.conn
    assert c.state is simtcp.State.CLOSED and c.error == errno.ETIMEDOUT


# ------------------------------------------------------------------ the virtual clock

def test_settimeout_validates_like_python_socket():
    net = simtcp.Network()
    h = net.add_host("h", "10.0.0.1")
    s = h.socket()
    with pytest.raises(ValueError, match="NaN"):
        s.settimeout(math.nan)
    with pytest.raises(OverflowError):
        s.settimeout(math.inf)
    with pytest.raises(ValueError, match="out of range"):
        s.settimeout(-1)
    with pytest.raises(TypeError):
        s.settimeout("1")
    s.settimeout(True)
    assert s.gettimeout() == 1.0


def test_virtual_clock_never_moves_to_a_non_finite_or_earlier_time():
    net = simtcp.Network()
    net.run(until=5)
    for bad in (math.nan, math.inf, -math.inf):
        with pytest.raises(ValueError):
            net.schedule(bad, lambda: None)
        with pytest.raises(ValueError):
            net.run(until=bad)
    net.run(until=1)                    # earlier: nothing happens, time stays
    assert net.now == 5
    a = net.add_host("a", "10.0.0.1")
    b = net.add_host("b", "10.0.0.2")
    net.add_link(a, b)
    lst = b.socket()
    lst.bind(("", 80))
    lst.listen()
    c = a.socket()
    c.connect(("10.0.0.2", 80))        # the ISN clock still works
    assert math.isfinite(net.now)


# ------------------------------------------------------------------ malformed options

@pytest.mark.parametrize("raw", [
    b"\x01\x01\x08\x02",                        # Timestamp of length 2
    b"\x01\x01\x05\x03\x00\x00",                # SACK of length 3
    b"\x01\x01\x05\x09" + b"\x00" * 7 + b"\x00" * 2,     # SACK of length 9
    b"\x01\x01\x05\x0b" + b"\x00" * 9 + b"\x00" * 3,     # SACK of length 11
    b"\x02\x03\x05\x00",                        # MSS of length 3
])
def test_wrong_length_options_never_crash_a_view(raw):
    net, conn, p, seq, ack = scripted_peer([("MSS", 1460)])
    pkt = with_raw_options(seq, ack, raw, b"hi")
    s_host = net["s"]
    s_host.inject(pkt)
    net.run(until=net.now + 1)
    assert conn.recv(10) == b"hi"           # the segment is processed, not dropped
    for view in (str(net.capture), net.capture._repr_html_(), str(net.trace),
                 net.trace.log(), net.trace._repr_html_()):
        assert view
    assert net.capture.pcap_bytes()
    import matplotlib.pyplot as plt
    from simtcp.viz.ladder import ladder
    plt.close(ladder(net, max_arrows=12))


def test_structurally_malformed_option_is_processed_not_dropped():
    net, conn, p, seq, ack = scripted_peer([("MSS", 1460)])
    net["s"].inject(with_raw_options(seq, ack, b"\x08\x00\x00\x00", b"ok"))  # length 0
    net.run(until=net.now + 1)
    assert conn.recv(10) == b"ok"
    assert not net.drops, net.drops     # nothing on the wire was dropped, for any reason


def with_raw_options(seq, ack, options: bytes, payload: bytes) -> bytes:
    """A PSH,ACK datagram from the peer whose TCP options are exactly ``options`` (padded
    with EOL to a word), with correct checksums."""
    options += b"\x00" * (-len(options) % 4)
    tcp = struct.pack("!HHIIBBHHH", 5555, 80, seq, ack, (20 + len(options)) // 4 << 4,
                      0x18, 65535, 0, 0) + options + payload
    ip = struct.pack("!BBHHHBBH4s4s", 0x45, 0, 20 + len(tcp), 1, 0x4000, 64, 6, 0,
                     socket.inet_aton(PEER), socket.inet_aton(SRV))
    ip = ip[:10] + wire.internet_checksum(ip).to_bytes(2, "big") + ip[12:]
    pseudo = ip[12:20] + struct.pack("!BBH", 0, 6, len(tcp))
    ck = wire.internet_checksum(pseudo + tcp)
    return ip + tcp[:16] + ck.to_bytes(2, "big") + tcp[18:]


# ------------------------------------------------------------------ inject(Packet)

def _bad(field, **changes):
    from simtcp.segment import Options, Packet, Segment
    from simtcp.seq import Seq
    seg = Segment(5555, 80, Seq(1), Seq(0), Flags.SYN, 1024)
    pkt = Packet(PEER, SRV, seg)
    seg_fields = {k: v for k, v in changes.items() if k in Segment._fields}
    pkt_fields = {k: v for k, v in changes.items()
                  if k in Packet._fields and k not in Segment._fields}
    opt_fields = {k: v for k, v in changes.items() if k in Options._fields}
    if opt_fields:
        seg_fields["options"] = Options(**opt_fields)
    return field, pkt._replace(payload=seg._replace(**seg_fields), **pkt_fields)


BAD_PACKETS = [
    _bad("window", window=70000), _bad("ack", ack=None), _bad("payload", payload="text"),
    _bad("options", options=None), _bad("src", src=None), _bad("dst", dst="10.0.0"),
    _bad("ttl", ttl=256), _bad("ident", ident=-1), _bad("df", df="yes"),
    _bad("sport", sport=70000), _bad("dport", dport=1.5), _bad("seq", seq=2**32),
    _bad("flags", flags=256), _bad("urgptr", urgptr=None),
    _bad("options.sack[0]", sack=((1,),)), _bad("options.sack[0]", sack=(("a", "b"),)),
    _bad("options.sack", sack=5), _bad("options.mss", mss=70000),
    _bad("options.wscale", wscale="7"), _bad("options.ts", ts=(1,)),
    _bad("options.sack_perm", sack_perm=None), _bad("TCP options", sack=((1, 2),) * 5,
                                                    ts=(1, 2)),
    _bad("Options.extra", extra=(("NoSuchOption", 1),)),
]


@pytest.mark.parametrize("field, packet", BAD_PACKETS, ids=[f for f, _ in BAD_PACKETS])
def test_inject_validates_every_packet_field_at_the_boundary(field, packet):
    """host.inject() with a simtcp Packet: a bad field is a ValueError naming it, raised
    before anything enters the simulation (before: crashes deep in the stack or when a
    pcap was written)."""
    net = simtcp.Network(seed=1)
    h = net.add_host("s", SRV)
    with pytest.raises(ValueError, match=field.replace("[", r"\[").replace("]", r"\]")):
        h.inject(packet)
    assert not len(net.capture) and net.in_flight == 0
    assert net.capture.pcap_bytes()


def test_inject_accepts_a_good_packet_and_normalizes_types():
    from simtcp.segment import Packet, Segment
    net = simtcp.Network(seed=1)
    h = net.add_host("s", SRV)
    h.inject(Packet(PEER, SRV, Segment(5555, 80, 7, 0, 2, 1024)))   # plain ints
    seg = net.capture[0].packet.segment
    assert seg.flags is Flags.SYN and type(seg.seq) is int      # as decoded segments have
    assert h.counters["OutRsts"] == 1            # nothing listens: answered with a reset
    assert str(net.capture) and net.capture.pcap_bytes()
