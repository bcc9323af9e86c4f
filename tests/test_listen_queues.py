"""Linux listen queues (tcp_conn_request() in net/ipv4/tcp_input.c; measured on Linux 6.18):
SYN queue, accept queue, overflow behaviour."""
from scapy.layers.inet import IP, TCP

import simtcp


def setup(backlog, cookies=0, **sysctl):
    net = simtcp.Network(seed=2, wire="fast")
    server = net.add_host("server", "10.0.0.2")
    peer = net.add_peer("10.0.0.9")
    net.add_link(peer, server, delay=0.001)
    server.sysctl["net.ipv4.tcp_syncookies"] = cookies
    for k, v in sysctl.items():
        server.sysctl[k.replace("__", ".")] = v
    s = server.socket()
    s.bind(("", 80))
    s.listen(backlog)
    return net, server, peer, s.listener


def syn(peer, sport, seq=1000, opts=()):
    peer.send(IP(src="10.0.0.9", dst="10.0.0.2") /
              TCP(sport=sport, dport=80, flags="S", seq=seq, options=list(opts)))


def ack_for(peer, sport, synack, seq=1001):
    peer.send(IP(src="10.0.0.9", dst="10.0.0.2") /
              TCP(sport=sport, dport=80, flags="A", seq=seq, ack=synack[TCP].seq + 1))


def synack_to(peer, sport):
    return [p for p in peer.received if p[TCP].dport == sport and p[TCP].flags == "SA"]


def test_listen_backlog_is_capped_by_somaxconn():
    net, server, peer, lst = setup(100000)
    assert lst.backlog == 4096
    server.sysctl["net.core.somaxconn"] = 128
    s = server.socket()
    s.bind(("", 81))
    s.listen(1000)
    assert s.listener.backlog == 128


def test_syn_queue_overflows_when_requests_exceed_the_backlog_cookies_off():
    net, server, peer, lst = setup(1)
    for port in (5001, 5002, 5003):
        syn(peer, port)
    net.run(until=0.1)
    assert len(lst.syn_queue) == 2                       # listen(1): the third SYN is dropped
    assert synack_to(peer, 5003) == [] and server.counters["ListenDrops"] == 1


def test_syn_queue_overflow_sends_a_cookie_when_cookies_are_on():
    net, server, peer, lst = setup(1, cookies=1)
    for port in (5001, 5002, 5003):
        syn(peer, port)
    net.run(until=0.1)
    assert len(lst.syn_queue) == 2 and server.counters["SyncookiesSent"] == 1
    assert len(synack_to(peer, 5003)) == 1               # answered, but nothing remembered


def test_last_quarter_of_tcp_max_syn_backlog_is_reserved_when_cookies_are_off():
    net, server, peer, lst = setup(1024, net__ipv4__tcp_max_syn_backlog=128)
    for port in range(6000, 6200):
        syn(peer, port)
    net.run(until=0.1)
    # tcp_conn_request(): drop while max_syn_backlog - qlen < max_syn_backlog / 4
    assert len(lst.syn_queue) == 128 - 32 + 1


def handshake(net, peer, sport, until):
    syn(peer, sport)
    net.run(until=until)
    ack_for(peer, sport, synack_to(peer, sport)[0])


def test_full_accept_queue_drops_syns_silently_and_the_final_ack_is_ignored():
    net, server, peer, lst = setup(1)                   # listen(1): two may wait in accept()
    syn(peer, 7001)
    syn(peer, 7002)
    net.run(until=0.01)
    ack_for(peer, 7001, synack_to(peer, 7001)[0])       # accept queue: 1
    syn(peer, 7003)                                     # SYN queue: 7002, 7003
    net.run(until=0.02)
    ack_for(peer, 7002, synack_to(peer, 7002)[0])       # accept queue: 2 = full
    net.run(until=0.03)
    assert len(lst.accept_queue) == 2
    syn(peer, 7004)                                     # accept queue full: SYN dropped
    ack_for(peer, 7003, synack_to(peer, 7003)[0])       # final ACK dropped (abort_on_overflow=0)
    net.run(until=0.05)
    assert synack_to(peer, 7004) == [] and server.counters["ListenOverflows"] >= 2
    states = {t.remote_port: c.state.value for t, c in server.stack.conns.items()}
    assert states[7003] == "SYN-RECEIVED" and 7004 not in states
    net.run(until=1.5)                                  # its SYN-ACK is retransmitted at +1 s
    assert len(synack_to(peer, 7003)) == 2
    lst.sock.accept()                                   # the application makes room ...
    ack_for(peer, 7003, synack_to(peer, 7003)[0])       # ... and the next ACK completes it
    net.run(until=1.6)
    assert len(lst.accept_queue) == 2
    assert {t.remote_port: c.state.value for t, c in server.stack.conns.items()}[7003] \
        == "ESTABLISHED"


def test_tcp_abort_on_overflow_answers_the_final_ack_with_a_reset():
    net, server, peer, lst = setup(1, net__ipv4__tcp_abort_on_overflow=1)
    syn(peer, 7001)
    syn(peer, 7002)
    net.run(until=0.01)
    ack_for(peer, 7001, synack_to(peer, 7001)[0])
    syn(peer, 7003)
    net.run(until=0.02)
    ack_for(peer, 7002, synack_to(peer, 7002)[0])       # accept queue full (2 for listen(1))
    net.run(until=0.03)
    ack_for(peer, 7003, synack_to(peer, 7003)[0])       # → RST instead of silence
    net.run(until=0.04)
    rst = [p for p in peer.received if p[TCP].dport == 7003 and "R" in str(p[TCP].flags)]
    assert len(rst) == 1
    assert 7003 not in {t.remote_port for t in server.stack.conns}


def cookie_connection(timestamps):
    """A handshake against tcp_syncookies=2 from a peer; returns (SYN-ACK, server conn)."""
    net, server, peer, lst = setup(128, cookies=2)
    opts = [("MSS", 1460), ("SAckOK", b"")] + ([("Timestamp", (1000, 0))] if timestamps else []) \
        + [("NOP", None), ("WScale", 5)]              # the client scales by 2**5
    syn(peer, 8001, opts=opts)
    net.run(until=0.01)
    (synack,) = synack_to(peer, 8001)
    ack_opts = [("NOP", None), ("NOP", None),
                ("Timestamp", (1001, synack[TCP].options[2][1][0]))] if timestamps else []
    peer.send(IP(src="10.0.0.9", dst="10.0.0.2") /
              TCP(sport=8001, dport=80, flags="A", seq=1001, ack=synack[TCP].seq + 1,
                  options=ack_opts))
    net.run(until=0.02)
    (conn,) = [c for t, c in server.stack.conns.items() if t.remote_port == 8001]
    assert server.counters["SyncookiesRecv"] == 1 and not lst.syn_queue
    return synack, conn


def test_cookie_without_timestamps_loses_window_scaling_and_sack():
    synack, conn = cookie_connection(timestamps=False)
    assert [name for name, _ in synack[TCP].options] == ["MSS"]     # MSS-only SYN-ACK
    assert conn.state.value == "ESTABLISHED"
    # lost (cookie_v4_check(): a cookie without timestamps carries no options)
    assert conn.snd_wscale == 0 and not conn.sack_ok


def test_cookie_with_timestamps_keeps_them_in_the_tsval_bits():
    synack, conn = cookie_connection(timestamps=True)
    names = [name for name, _ in synack[TCP].options]
    assert names == ["MSS", "SAckOK", "Timestamp", "NOP", "WScale"]   # same as a normal one
    tsval = synack[TCP].options[2][1][0]
    assert tsval & 0x3F == 5 | 0x10                   # the client's wscale 5 + the SACK bit
    assert conn.state.value == "ESTABLISHED"
    assert conn.snd_wscale == 5 and conn.rcv_wscale == 10 and conn.sack_ok   # restored


def test_options_set_on_a_listener_after_listen_reach_the_next_syn_ack():
    """The stack keeps one configured TcpConfig per listener option set (Stack.config): an
    option changed after listen() must reach the next request and cookie, never a stale one."""
    import socket as pysocket
    from scapy.layers.inet import TCP
    for cookies in (0, 2):                      # a request socket, then a SYN cookie
        net, server, peer, lst = setup(8, cookies=cookies)
        syn(peer, 5000, opts=[("MSS", 1460)])
        net.run(until=net.now + 0.01)
        lst.sock.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_MAXSEG, 700)
        syn(peer, 5001, opts=[("MSS", 1460)])
        net.run(until=net.now + 0.01)
        lst.sock.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_RCVBUF, 4096)
        syn(peer, 5002, opts=[("MSS", 1460)])
        net.run(until=net.now + 0.01)
        got = [(dict(p[TCP].options)["MSS"], p[TCP].window)
               for sport in (5000, 5001, 5002) for p in synack_to(peer, sport)]
        # whole segments of the MSS in 64 KiB; SO_RCVBUF 4096 is doubled and the window offers half
        assert got == [(1460, 64240), (700, 65100), (700, 3500)], (cookies, got)


def test_a_sysctl_changed_under_a_flood_reaches_the_next_cookie_syn_ack():
    """The listener works out a cookie SYN-ACK's options once per SYN option set and
    configuration (Listener._synack_plan): a sysctl changed between two SYNs with the same
    options must change the next SYN-ACK, and a SYN without options gets MSS 536's cookie."""
    net, server, peer, lst = setup(8, cookies=2)
    opts = [("MSS", 1460), ("SAckOK", b""), ("Timestamp", (1000, 0)), ("NOP", None),
            ("WScale", 5)]
    syn(peer, 6000, opts=opts)
    net.run(until=net.now + 0.01)
    server.sysctl["net.ipv4.tcp_timestamps"] = 0
    syn(peer, 6001, opts=opts)
    net.run(until=net.now + 0.01)
    server.sysctl["net.ipv4.tcp_timestamps"] = 1
    syn(peer, 6002, opts=opts)
    syn(peer, 6003)                                  # no options at all
    net.run(until=net.now + 0.01)
    (a,), (b,), (c,), (d,) = (synack_to(peer, p) for p in (6000, 6001, 6002, 6003))
    names = ["MSS", "SAckOK", "Timestamp", "NOP", "WScale"]
    assert [n for n, _ in a[TCP].options] == names and a[TCP].window == 65160
    assert [n for n, _ in b[TCP].options] == ["MSS"] and b[TCP].window == 64240
    assert [n for n, _ in c[TCP].options] == names and c[TCP].window == 65160
    assert [n for n, _ in d[TCP].options] == ["MSS"]
    assert server.counters["SyncookiesSent"] == 4 and not lst.syn_queue
    # each cookie opens with the MSS it encodes: 1460 for the first three, 536 for the last
    jar = server.stack.cookies
    for p, client_isn, mss in ((a, 1000, 1460), (b, 1000, 1460), (d, 1000, 536)):
        assert jar.check("10.0.0.9", "10.0.0.2", p[TCP].dport, 80, client_isn + 1,
                         p[TCP].seq + 1, net.now) == mss


def test_cookie_syn_acks_for_many_option_sets_stay_right_and_the_plans_stay_few():
    """A flood varying its SYN options (here 80 MSS values) must get, SYN after SYN, the
    cookie of its own MSS bucket, while the listener keeps at most 64 worked-out plans."""
    from simtcp.syncookies import MSSTAB, mss_index
    net, server, peer, lst = setup(8, cookies=2)
    mss_values = [500 + 13 * i for i in range(80)]
    for i, mss in enumerate(mss_values):
        syn(peer, 7000 + i, opts=[("MSS", mss)])
        net.run(until=net.now + 0.001)
        assert len(lst._plans) <= 64
    net.run(until=net.now + 0.01)                  # the last SYN-ACK is still on the link
    jar = server.stack.cookies
    for i, mss in enumerate(mss_values):
        (synack,) = synack_to(peer, 7000 + i)
        assert jar.check("10.0.0.9", "10.0.0.2", 7000 + i, 80, 1001, synack[TCP].seq + 1,
                         net.now) == MSSTAB[mss_index(mss)]
    assert server.counters["SyncookiesSent"] == 80


def test_the_config_cache_key_names_every_option_configure_reads():
    """Stack.config() caches one TcpConfig per value of inherited_options: an option
    that configure() copies but the key leaves out would hand out a stale config."""
    import simtcp
    from simtcp.sockopts import INHERITED_OPTIONS, SocketOptions
    from simtcp.tcpconfig import TcpConfig

    class Recorder:
        def __init__(self, sock):
            self.sock, self.read = sock, set()

        def __getattr__(self, name):
            self.read.add(name)
            return getattr(self.sock, name)

    sock = simtcp.Network(seed=1).add_host("h", "10.0.0.1").socket()
    recorder = Recorder(sock)
    SocketOptions.configure(recorder, TcpConfig())
    assert recorder.read and recorder.read <= set(INHERITED_OPTIONS), \
        recorder.read - set(INHERITED_OPTIONS)


def test_an_accepted_socket_clones_every_option_of_its_listener():
    """accept() copies the listener's options one by one (SocketOptions._clone_options,
    Linux sk_clone_lock()): an option a new socket has (_default_options) but the clone
    forgets would read back as the default on the accepted socket."""
    from simtcp.sockopts import SocketOptions

    class Bag:
        pass

    defaults = Bag()
    SocketOptions._default_options(defaults)
    parent, child = Bag(), Bag()
    for name in vars(defaults):
        setattr(parent, name, object())            # a value no default can equal
    SocketOptions._clone_options(child, parent)
    assert vars(defaults) and vars(child) == vars(parent)


def test_an_accepted_socket_reads_back_its_listeners_options():
    import socket as pysocket
    net = simtcp.Network(seed=1, wire="fast")
    client = net.add_host("client", "10.0.0.1")
    server = net.add_host("server", "10.0.0.2")
    net.add_link(client, server, delay=0.001)
    srv = server.socket()
    srv.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
    srv.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_KEEPALIVE, 1)
    srv.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_KEEPIDLE, 30)
    srv.bind(("", 80))
    srv.listen(8)
    cli = client.socket()
    cli.connect(("10.0.0.2", 80))
    conn, _ = srv.accept()
    got = [conn.getsockopt(level, option) for level, option in
           ((pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY), (pysocket.SOL_SOCKET, pysocket.SO_KEEPALIVE),
            (pysocket.IPPROTO_TCP, pysocket.TCP_KEEPIDLE))]
    assert got == [1, 1, 30]
    fresh = server.socket()
    assert fresh.getsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY) == 0


def test_connections_share_one_config_until_an_option_changes_their_own():
    """Stack.config() hands every connection made with the same settings one read-only
    TcpConfig; a socket option set on one connection copies it first (own_config), so the
    other connections and the next ones keep theirs."""
    import socket as pysocket

    import pytest
    net = simtcp.Network(seed=1, wire="fast")
    client = net.add_host("client", "10.0.0.1")
    server = net.add_host("server", "10.0.0.2")
    net.add_link(client, server, delay=0.001)
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(8)
    pairs = []
    for _ in range(2):
        cli = client.socket()
        cli.connect(("10.0.0.2", 80))
        pairs.append((cli, srv.accept()[0]))
    (a, a_srv), (b, b_srv) = pairs
    assert a.conn.cfg is b.conn.cfg and a_srv.conn.cfg is b_srv.conn.cfg
    with pytest.raises(AttributeError):
        a.conn.cfg.nodelay = True               # shared: nobody may change it in place
    a.setsockopt(pysocket.IPPROTO_TCP, pysocket.TCP_NODELAY, 1)
    a.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_KEEPALIVE, 1)
    assert a.conn.cfg.nodelay and a.conn.cfg.keepalive
    assert not b.conn.cfg.nodelay and not b.conn.cfg.keepalive
    assert not client.stack.config().nodelay
    later = client.socket()
    later.connect(("10.0.0.2", 80))
    assert later.conn.cfg is b.conn.cfg


def test_a_configs_derived_windows_follow_the_fields_they_come_from():
    """TcpConfig works out tcp_select_initial_window()'s answers (wscale, syn_window,
    syn_window_ts) once and keeps them: a change to a field they depend on must make them
    be worked out again, on a copy too; a shared config still answers."""
    import copy

    from simtcp.tcpconfig import TcpConfig, initial_window, select_initial_window

    def fresh(cfg):              # what tcp_select_initial_window() says right now
        return (select_initial_window(cfg, cfg.mss)[1], select_initial_window(cfg, cfg.mss)[0],
                select_initial_window(cfg, cfg.mss - 12)[0])

    cfg = TcpConfig()
    assert (cfg.wscale, cfg.syn_window, cfg.syn_window_ts) == fresh(cfg) == (10, 64240, 65160)
    for name, value in (("rmem_limit", 6291456), ("rcvbuf", 8192), ("mss", 536),
                        ("rcvbuf_locked", True), ("window_scaling", False),
                        ("adv_win_scale", 2), ("rmem_max", 1 << 20)):
        setattr(cfg, name, value)
        assert (cfg.wscale, cfg.syn_window, cfg.syn_window_ts) == fresh(cfg), name
        assert initial_window(cfg, True) == cfg.syn_window_ts
    copied = copy.copy(cfg)
    copied.mss = 1000                        # a copy works its own out (own_config())
    assert (copied.wscale, copied.syn_window, copied.syn_window_ts) == fresh(copied)
    assert copied.syn_window != cfg.syn_window
    shared = TcpConfig()
    shared.shared = True
    assert shared.wscale == 10 and shared.syn_window == 64240
