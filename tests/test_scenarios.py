"""End-to-end scenarios through the public API, checked against RFC 9293 and Linux."""
import pytest
from scapy.layers.inet import IP, TCP

import simtcp
from simtcp.segment import Flags
from conftest import accounting_ok
from simtcp.reasons import DemuxRule, DropReason, SendCause


def listen(host, port=80, backlog=128, ip="0.0.0.0"):
    s = host.socket()
    s.bind((ip, port))
    s.listen(backlog)
    return s


def states_of(net, host):
    return [r.what for r in net.trace if r.kind == "state" and r.host == host
            and r.conn.remote_port != 0]


def test_handshake_echo_and_close_from_the_client(pair):
    net, client, server = pair
    srv = listen(server)
    cli = client.socket()
    cli.connect(("192.168.1.20", 80))
    assert net.now == pytest.approx(0.020)          # one RTT on a 10 ms link
    conn, addr = srv.accept()
    assert addr == cli.getsockname() and conn.getpeername() == addr
    cli.sendall(b"hello")
    assert conn.recv(1024) == b"hello"
    conn.sendall(b"HELLO")
    assert cli.recv(1024) == b"HELLO"
    cli.close()
    assert conn.recv(1024) == b""                   # the FIN reads as end of file
    conn.close()
    net.run()
    assert states_of(net, "client") == ["SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2",
                                         "TIME-WAIT", "CLOSED"]
    assert states_of(net, "server") == ["SYN-RECEIVED", "ESTABLISHED", "CLOSE-WAIT", "LAST-ACK",
                                        "CLOSED"]
    assert accounting_ok(net)


def test_close_from_the_server_puts_the_server_in_time_wait(pair):
    net, client, server = pair
    srv = listen(server)
    cli = client.socket()
    cli.connect(("server", 80))                      # host names resolve inside the network
    conn, _ = srv.accept()
    conn.close()
    assert cli.recv(10) == b""
    cli.close()
    net.run()
    assert "TIME-WAIT" in states_of(net, "server") and "TIME-WAIT" not in states_of(net, "client")


def test_one_megabyte_over_a_lossy_link_arrives_intact():
    net = simtcp.Network(seed=3)
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.005, loss=0.02, bandwidth=20e6)
    srv = listen(b, 5000)
    c = a.socket()
    c.connect(("10.0.0.2", 5000))
    s, _ = srv.accept()
    data = bytes(range(256)) * 4096
    c.sendall(data)
    c.close()
    got = bytearray()
    while chunk := s.recv(65536):
        got += chunk
    s.close()
    net.run()
    assert bytes(got) == data
    assert net.trace.drop_reasons().get(DropReason.LINK_LOSS, 0) > 0
    assert a.counters["RetransSegs"] > 0
    assert accounting_ok(net)


def test_simultaneous_open_through_sockets(pair):
    net, client, server = pair
    a, b = client.socket(), server.socket()
    a.bind(("192.168.1.10", 7000))
    b.bind(("192.168.1.20", 8000))
    a.setblocking(False)
    b.setblocking(False)
    assert a.connect_ex(("192.168.1.20", 8000)) == 115      # EINPROGRESS
    assert b.connect_ex(("192.168.1.10", 7000)) == 115
    net.run(until=1.0)
    assert a.state == b.state == "ESTABLISHED"
    assert states_of(net, "client")[:3] == ["SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]
    a.setblocking(True)
    b.setblocking(True)
    a.sendall(b"ping")
    assert b.recv(10) == b"ping"
    a.close()
    b.close()
    net.run()
    assert "CLOSING" in states_of(net, "client") and "CLOSING" in states_of(net, "server")


@pytest.mark.parametrize("flags, seq, ack, payload, expect", [
    ("S", 1000, 0, b"", ("RA", 0, 1001)),       # tcp_v4_send_reset(), measured on Linux 6.18
    ("A", 5, 777777, b"", ("R", 777777, 0)),
    ("FA", 2000, 9, b"abc", ("R", 9, 0)),
    ("F", 2000, 0, b"abc", ("RA", 0, 2004)),
    ("", 4000, 0, b"", ("RA", 0, 4000)),
    ("R", 1, 0, b"", None),                      # never answer a RST
])
def test_reset_for_a_closed_port(flags, seq, ack, payload, expect):
    net = simtcp.Network(seed=1)
    server = net.add_host("server", "10.0.0.2")
    peer = net.add_peer("10.0.0.1")
    net.add_link(peer, server, delay=0.001)
    peer.send(IP(src="10.0.0.1", dst="10.0.0.2") /
              TCP(sport=4444, dport=81, flags=flags, seq=seq, ack=ack, window=512) / payload)
    net.run()
    if expect is None:
        assert peer.received == []
        return
    (rst,) = peer.received
    want_flags, want_seq, want_ack = expect
    assert str(rst[TCP].flags) == want_flags
    assert (rst[TCP].seq, rst[TCP].ack, rst[TCP].window) == (want_seq, want_ack, 0)
    assert rst[TCP].options == [] and rst[IP].flags == "DF"
    demux = net.trace.filter(kind="demux", host="server")[0]
    assert demux.what is DemuxRule.NO_SOCKET and "3.10.7.1" in demux.rfc


def test_connect_to_a_closed_port_is_refused(pair):
    net, client, _ = pair
    with pytest.raises(ConnectionRefusedError) as e:
        client.socket().connect(("192.168.1.20", 81))
    assert e.value.errno == 111 and "RST" in str(e.value)


@pytest.mark.parametrize("os_name, times, gives_up", [
    # before Linux 6.5: the textbook doubling, ETIMEDOUT after 127 s
    ("linux-5.15", [0, 1, 3, 7, 15, 31, 63], 127),
    # 6.5+: tcp_syn_linear_timeouts = 4 (ip-sysctl.rst: last SYN at 67 s, timeout at 131 s)
    ("linux", [0, 1, 2, 3, 4, 5, 7, 11, 19, 35, 67], 131)])
def test_syn_retries_then_timeout(os_name, times, gives_up):
    net = simtcp.Network(seed=1)
    client = net.add_host("client", "10.0.0.1", os=os_name)
    hole = net.add_peer("10.0.0.2")             # answers nothing
    net.add_link(client, hole, delay=0.01)
    with pytest.raises(TimeoutError) as e:
        client.socket().connect(("10.0.0.2", 80))
    assert e.value.errno == 110
    syn_times = [round(r.time, 6) for r in net.trace.filter(kind="send", host="client")]
    assert syn_times == times and net.now == pytest.approx(gives_up)


def test_time_wait_lasts_60_seconds_on_linux_and_2msl_when_chosen(pair):
    for seconds in (60, 240):
        net = simtcp.Network(seed=2)
        c, s = net.add_host("c", "10.0.0.1"), net.add_host("s", "10.0.0.2")
        net.add_link(c, s, delay=0.01)
        c.sysctl["simtcp.time_wait_seconds"] = seconds
        srv = listen(s)
        cli = c.socket()
        cli.connect(("10.0.0.2", 80))
        conn, _ = srv.accept()
        cli.close()
        conn.recv(1)
        conn.close()
        net.run()
        tw = [r for r in net.trace.filter(kind="state", host="c") if r.what == "TIME-WAIT"][0]
        closed = [r for r in net.trace.filter(kind="state", host="c") if r.old == "TIME-WAIT"][0]
        assert closed.time - tw.time == pytest.approx(seconds)


def test_specific_listener_beats_wildcard(pair):
    net, client, server = pair
    wild = listen(server, 80, ip="0.0.0.0")
    spec = server.socket()
    spec.setsockopt(simtcp.socket.SOL_SOCKET, simtcp.socket.SO_REUSEADDR, 1)
    wild.reuseaddr = True
    spec.bind(("192.168.1.20", 8080))
    spec.listen(5)
    client.socket().connect(("192.168.1.20", 8080))
    net.run(until=net.now + 0.05)
    rules = [(r.what, r.get("listener")) for r in net.trace.filter(kind="demux", host="server")]
    assert rules[0] == (DemuxRule.LISTENER, ("192.168.1.20", 8080))
    assert (DemuxRule.ESTABLISHED, None) in rules


def test_accept_queue_holds_backlog_plus_one():
    net = simtcp.Network(seed=5)
    server = net.add_host("server", "10.0.0.2")
    clients = [net.add_host(f"c{i}", f"10.0.0.{10 + i}") for i in range(4)]
    net.add_lan([server, *clients])
    srv = listen(server, 80, backlog=1)
    socks = []
    for c in clients:
        s = c.socket()
        s.setblocking(False)
        s.connect_ex(("10.0.0.2", 80))
        socks.append(s)
    net.run(until=0.5)
    lst = srv.listener
    # listen(1) → 2 (sk_acceptq_is_full(): queued > backlog)
    assert len(lst.accept_queue) == 2
    assert server.counters["ListenOverflows"] >= 1


def test_inject_a_crafted_syn_and_a_bad_checksum(pair):
    net, client, server = pair
    listen(server)
    server.inject(IP(src="192.168.1.10", dst="192.168.1.20") /
                  TCP(sport=5555, dport=80, flags="S", seq=42, window=1024))
    net.run(until=0.1)
    synack = [r for r in net.trace.filter(kind="send", host="server")][0].packet.segment
    assert synack.flags == Flags.SYN | Flags.ACK and int(synack.ack) == 43
    server.inject(IP(src="192.168.1.10", dst="192.168.1.20") /
                  TCP(sport=5556, dport=80, flags="S", seq=42, window=1024, chksum=0x1234))
    net.run(until=0.2)
    assert net.trace.drop_reasons()[DropReason.BAD_TCP_CHECKSUM] == 1
    assert server.stack.in_errors[DropReason.BAD_TCP_CHECKSUM] == 1


def test_peer_plays_the_client_by_hand():
    net = simtcp.Network(seed=1)
    server = net.add_host("server", "10.0.0.2")
    me = net.add_peer("10.0.0.1")
    net.add_link(me, server, delay=0.001)
    listen(server, 80)
    me.send(IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=80, flags="S", seq=100))
    net.run(until=0.01)            # (net.run() would wait out all SYN-ACK retransmissions)
    synack = me.received[-1][TCP]
    assert synack.flags == "SA" and synack.ack == 101
    me.send(IP(src="10.0.0.1", dst="10.0.0.2") /
            TCP(sport=1234, dport=80, flags="A", seq=101, ack=synack.seq + 1, window=1000))
    net.run(until=net.now + 0.01)
    assert server.stack.listeners[("0.0.0.0", 80)].accept_queue[0].state.value == "ESTABLISHED"


def test_late_ack_after_the_request_expired_gets_a_reset():
    """Linux 6.18, tcp_synack_retries=3: SYN-ACKs at +1, +3, +7 ... s; after the request is
    gone an ACK gets R."""
    net = simtcp.Network(seed=1)
    server = net.add_host("server", "10.0.0.2")
    me = net.add_peer("10.0.0.1")
    net.add_link(me, server, delay=0.001)
    listen(server, 80)
    me.send(IP(src="10.0.0.1", dst="10.0.0.2") / TCP(sport=1234, dport=80, flags="S", seq=100))
    net.run()
    times = [round(p.time - me.received[0].time, 3) for p in me.received]
    assert times == [0, 1, 3, 7, 15, 31]
    isn = me.received[0][TCP].seq
    me.send(IP(src="10.0.0.1", dst="10.0.0.2") /
            TCP(sport=1234, dport=80, flags="A", seq=101, ack=isn + 1, window=1000))
    net.run()
    rst = me.received[-1][TCP]
    assert str(rst.flags) == "R" and rst.seq == isn + 1


def test_small_receive_buffer_closes_the_window_and_persist_probes_reopen_it(pair):
    net, client, server = pair
    srv = server.socket()
    srv.setsockopt(simtcp.socket.SOL_SOCKET, simtcp.socket.SO_RCVBUF, 4096)
    srv.bind(("", 80))
    srv.listen(1)
    cli = client.socket()
    cli.connect(("192.168.1.20", 80))
    conn, _ = srv.accept()
    cli.sendall(b"z" * 20000)              # far more than the 4 KiB receiver can hold
    net.run(until=net.now + 3.0)
    wins = [r.packet.segment.window for r in net.trace.filter(kind="send", host="server")]
    assert 0 in wins                       # the receiver advertised a zero window
    probes = [r for r in net.trace.filter(kind="send", host="client")
              if r.reason is SendCause.ZERO_WINDOW_PROBE]
    assert probes                          # the sender probed it (RFC 9293 §3.8.6.1)
    got = b""
    while len(got) < 20000:
        got += conn.recv(4096)
    assert got == b"z" * 20000


def test_ip_identification_like_linux(pair):
    """ip_select_ident_segs(): DF segments of a socket count up from a random start; a
    listener's SYN-ACK (request socket) and resets carry 0."""
    net, client, server = pair
    srv = listen(server)
    cli = client.socket()
    cli.connect(("192.168.1.20", 80))
    conn, _ = srv.accept()
    cli.sendall(b"abc")
    conn.recv(10)
    client.socket().connect_ex(("192.168.1.20", 81))      # answered by a RST
    net.run(until=net.now + 0.1)
    sent = [r.packet for r in net.trace.filter(kind="send")]
    c_ids = [p.ident for p in sent if p.src == "192.168.1.10" and p.segment.dport == 80]
    assert c_ids == list(range(c_ids[0], c_ids[0] + len(c_ids))) and len(c_ids) >= 3
    synack = [p for p in sent if p.segment.flags == Flags.SYN | Flags.ACK][0]
    rst = [p for p in sent if p.segment.flags & Flags.RST][0]
    assert synack.ident == 0 and rst.ident == 0 and all(p.df for p in sent)
