"""Linux listen queues (FACTS §4, §10): SYN queue, accept queue, overflow behaviour."""
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
