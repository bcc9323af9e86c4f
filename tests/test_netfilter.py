"""Netfilter on simulated nodes: stateful filtering, REJECT/DROP as clients see them, NAPT,
port forwarding, hairpinning, endpoint-independent mapping and filtering, exhaustion,
conntrack table full, LOG lines — end to end through the network layer's hook points."""
import errno

import pytest

import simtcp


def home(seed=1, hosts=2, outsiders=()):
    """pcN on 192.168.0.0/24 (eth0 of r1), r1's eth1 203.0.113.1 on a WAN segment with
    ``server`` 203.0.113.5 and any ``outsiders`` (name, address)."""
    net = simtcp.Network(seed=seed)
    r = net.add_router("r1", "192.168.0.1/24", "203.0.113.1/24")
    inside = [net.add_host(f"pc{i}", f"192.168.0.{10 + i}/24", gateway="192.168.0.1")
              for i in range(hosts)]
    server = net.add_host("server", "203.0.113.5/24", gateway="203.0.113.1")
    others = [net.add_host(n, f"{ip}/24", gateway="203.0.113.1") for n, ip in outsiders]
    net.add_lan(inside + [r], delay=0.001, name="lan")
    net.add_lan([r, server] + others, delay=0.010, name="wan")
    return (net, r, inside, server) + tuple(others)


def listen(host, port):
    s = host.socket()
    s.bind(("0.0.0.0", port))
    s.listen(64)
    return s


def connect(host, addr, sport=None):
    c = host.socket()
    if sport is not None:
        c.bind(("0.0.0.0", sport))
    c.connect(addr)
    return c


def test_masquerade_keeps_the_first_port_and_shows_both_tuples_in_captures():
    net, r, (a, b), server = home()
    r.iptables("-t nat -A POSTROUTING -o eth1 -j MASQUERADE")
    inside = net.capture.on(r, "eth0")                # tcpdump -i eth0 / -i eth1 on r1
    outside = net.capture.on(r, "eth1")
    srv = listen(server, 80)
    connect(a, ("203.0.113.5", 80), sport=40000)
    connect(b, ("203.0.113.5", 80), sport=40000)
    _, first = srv.accept()
    _, second = srv.accept()
    assert first == ("203.0.113.1", 40000)            # source port kept when free
    assert second[0] == "203.0.113.1" and second[1] != 40000
    syn_in = [p.packet for p in inside if p.packet.segment and p.packet.src == "192.168.0.11"]
    syn_out = [p.packet for p in outside
               if p.packet.segment and p.packet.segment.sport == second[1]]
    assert syn_in and syn_in[0].segment.sport == 40000
    assert syn_out and syn_out[0].src == "203.0.113.1"
    lines = r.conntrack().splitlines()
    assert len(lines) == 2 and all("[ASSURED]" in line for line in lines)
    # every forwarded packet went through the (empty) FORWARD chain and its policy counts it
    head = r.iptables("-L FORWARD -n -v -x").splitlines()[0]
    forwarded = len(outside)                          # each also appears once inside
    assert len(inside) == forwarded
    assert head.startswith(f"Chain FORWARD (policy ACCEPT {forwarded} packets, ")


def test_endpoint_independent_mapping_and_address_port_dependent_filtering():
    net, r, (a, _), server, other = home(outsiders=[("other", "203.0.113.6")])
    r.iptables("-t nat -A POSTROUTING -o eth1 -j MASQUERADE")
    lan = net.capture.on(r, "eth0")
    srv = listen(server, 80)
    connect(a, ("203.0.113.5", 80), sport=40000)
    assert srv.accept()[1] == ("203.0.113.1", 40000)
    # An outside host that was never contacted reaches the router itself, not the inside
    # host: Linux NAT filters by address and port (RFC 4787 §5), it has no mapping for it.
    probe = other.socket()
    with pytest.raises(ConnectionRefusedError):
        probe.connect(("203.0.113.1", 40000))
    assert not [p for p in lan if p.packet.src == "203.0.113.6"]


def test_port_forwarding_several_services_on_one_address():
    net, r, (a, b), server = home()
    r.iptables("-t nat -A PREROUTING -i eth1 -p tcp --dport 8080 -j DNAT "
               "--to-destination 192.168.0.10:80")
    r.iptables("-t nat -A PREROUTING -i eth1 -p tcp --dport 2222 -j DNAT "
               "--to-destination 192.168.0.11:22")
    web, ssh = listen(a, 80), listen(b, 22)
    c1 = connect(server, ("203.0.113.1", 8080))
    c2 = connect(server, ("203.0.113.1", 2222))
    conn1, peer1 = web.accept()
    conn2, peer2 = ssh.accept()
    assert peer1[0] == peer2[0] == "203.0.113.5"
    assert c1.getpeername() == ("203.0.113.1", 8080)
    assert c2.getpeername() == ("203.0.113.1", 2222)
    c1.sendall(b"GET /")
    assert conn1.recv(100) == b"GET /"
    conn1.sendall(b"200 OK")
    assert c1.recv(100) == b"200 OK"
    # a port nobody forwarded is the router's own (closed) port
    with pytest.raises(ConnectionRefusedError):
        connect(server, ("203.0.113.1", 8081))


def test_hairpinning_fails_without_and_works_with_the_snat_fix():
    net, r, (a, b), server = home()
    r.iptables("-t nat -A PREROUTING -d 203.0.113.1 -p tcp --dport 8080 -j DNAT "
               "--to-destination 192.168.0.10:80")
    web = listen(a, 80)
    c = b.socket()
    c.settimeout(5)
    # The server answers the inside client directly (same LAN) from 192.168.0.10:80;
    # the client expected 203.0.113.1:8080 and resets: no connection.
    with pytest.raises(OSError):
        c.connect(("203.0.113.1", 8080))
    r.iptables("-t nat -A POSTROUTING -s 192.168.0.0/24 -d 192.168.0.10 -p tcp --dport 80 "
               "-j MASQUERADE")
    c2 = connect(b, ("203.0.113.1", 8080))
    conn, peer = web.accept()
    while peer[0] != "192.168.0.1":                 # skip the failed attempt, if queued
        conn, peer = web.accept()
    assert c2.getpeername() == ("203.0.113.1", 8080)


def test_stateful_default_deny():
    net, r, (a, _), server = home()
    srv = listen(server, 80)
    ins = listen(a, 22)
    for rule in ("-P FORWARD DROP",
                 "-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
                 "-A FORWARD -i eth0 -o eth1 -m conntrack --ctstate NEW -j ACCEPT"):
        r.iptables(rule)
    connect(a, ("203.0.113.5", 80))
    srv.accept()
    probe = server.socket()
    probe.settimeout(3)
    with pytest.raises(TimeoutError):
        probe.connect(("192.168.0.10", 22))
    assert "policy DROP" in r.iptables("-L FORWARD -n -v")
    del ins


@pytest.mark.parametrize("rule, exc, code", [
    ("-j REJECT", ConnectionRefusedError, errno.ECONNREFUSED),
    ("-j REJECT --reject-with tcp-reset", ConnectionRefusedError, errno.ECONNREFUSED),
    ("-j REJECT --reject-with icmp-host-unreachable", OSError, errno.EHOSTUNREACH),
    ("-j REJECT --reject-with icmp-admin-prohibited", OSError, errno.EHOSTUNREACH),
    ("-j REJECT --reject-with icmp-net-unreachable", OSError, errno.ENETUNREACH),
    ("-j DROP", TimeoutError, errno.ETIMEDOUT),
])
def test_what_clients_see(rule, exc, code):
    net, r, (a, _), server = home()
    listen(server, 81)
    r.iptables(f"-A FORWARD -p tcp --dport 80 {rule}")
    c = a.socket()
    with pytest.raises(exc) as e:
        c.connect(("203.0.113.5", 80))
    assert e.value.errno == code


def test_nat_port_exhaustion_toward_one_destination():
    net, r, (a, _), server = home()
    r.iptables("-t nat -A POSTROUTING -o eth1 -p tcp -j SNAT --to-source 203.0.113.1:1000-1001")
    srv = listen(server, 80)
    connect(a, ("203.0.113.5", 80))
    connect(a, ("203.0.113.5", 80))
    assert sorted(srv.accept()[1][1] for _ in range(2)) == [1000, 1001]
    c = a.socket()
    c.settimeout(5)
    with pytest.raises(TimeoutError):
        c.connect(("203.0.113.5", 80))
    assert r.netfilter.conntrack.stats["insert_failed"] >= 1


def test_nat_never_reuses_a_live_outside_tuple():
    net, r, inside, server = home(hosts=6)
    r.iptables("-t nat -A POSTROUTING -o eth1 -j MASQUERADE")
    srv = listen(server, 80)
    for h in inside:
        for _ in range(3):
            connect(h, ("203.0.113.5", 80), sport=None)
    peers = [srv.accept()[1] for _ in range(len(inside) * 3)]
    assert len(set(peers)) == len(peers)
    replies = [line.split()[-6:-2] for line in r.conntrack().splitlines()]
    assert len({tuple(x) for x in replies}) == len(replies)


def test_log_lines_in_dmesg():
    net, r, (a, _), server = home()
    listen(server, 80)
    r.iptables("-A FORWARD -p tcp --syn -j LOG --log-prefix 'NEW-SYN: '")
    connect(a, ("203.0.113.5", 80))
    line = r.dmesg().splitlines()[0]
    assert "NEW-SYN: IN=eth0 OUT=eth1 SRC=192.168.0.10 DST=203.0.113.5 LEN=60 " in line
    assert "TTL=63" in line and "PROTO=TCP" in line and " SYN URGP=0 " in line


def test_conntrack_table_full_drops_new_flows():
    net, r, (a, b), server = home()
    r.sysctl["net.netfilter.nf_conntrack_max"] = 1
    r.iptables("-t nat -A POSTROUTING -o eth1 -j MASQUERADE")
    srv = listen(server, 80)
    connect(a, ("203.0.113.5", 80))
    srv.accept()
    c = b.socket()
    c.settimeout(3)
    with pytest.raises(TimeoutError):
        c.connect(("203.0.113.5", 80))
    assert "nf_conntrack: table full, dropping packet" in r.dmesg()


def test_same_seed_same_outcome():
    def run():
        net, r, (a, b), server = home(seed=7)
        r.iptables("-t nat -A POSTROUTING -o eth1 -j MASQUERADE")
        srv = listen(server, 80)
        connect(a, ("203.0.113.5", 80), sport=40000)
        connect(b, ("203.0.113.5", 80), sport=40000)
        srv.accept()
        srv.accept()
        return r.conntrack(), net.capture.pcap_bytes()
    assert run() == run()


def test_mapping_lives_as_long_as_the_conntrack_entry():
    net, r, (a, _), server = home()
    r.iptables("-t nat -A POSTROUTING -o eth1 -j MASQUERADE")
    srv = listen(server, 80)
    c = connect(a, ("203.0.113.5", 80), sport=40000)
    conn, _ = srv.accept()
    c.close()
    conn.close()
    net.run(until=net.now + 1.0)
    assert "TIME_WAIT" in r.conntrack()
    t_wait = r.sysctl["net.netfilter.nf_conntrack_tcp_timeout_time_wait"]
    net.run(until=net.now + t_wait + 1)
    assert r.conntrack() == ""
    assert r.netfilter.conntrack.by_source == {}


def test_iptables_is_refused_on_a_non_linux_host():
    net = simtcp.Network(seed=1)
    w = net.add_host("win", "10.0.0.1/24", os="windows")
    with pytest.raises(ValueError, match="not modelled"):
        w.iptables("-A INPUT -j DROP")


def test_icmp_error_about_a_natted_flow_is_translated_back():
    """RELATED: the server's ICMP port unreachable quotes the *outside* 4-tuple; the router
    rewrites the outer destination and the quoted packet (nf_nat_icmp_reply_translation), so
    the inside client's stack finds its socket and connect() fails with ECONNREFUSED."""
    net, r, (a, _), server = home()
    r.iptables("-t nat -A POSTROUTING -o eth1 -j MASQUERADE")
    server.iptables("-A INPUT -p tcp --dport 81 -j REJECT")
    lan = net.capture.on(r, "eth0")
    c = a.socket()
    with pytest.raises(ConnectionRefusedError):
        c.connect(("203.0.113.5", 81))
    err = [cp.packet for cp in lan if cp.packet.icmp is not None]
    assert len(err) == 1 and err[0].dst == "192.168.0.10"
    q = err[0].icmp.quoted()
    assert (q.src, q.sport, q.dst, q.dport) == ("192.168.0.10", c.getsockname()[1],
                                                "203.0.113.5", 81)
    assert "RELATED" not in r.conntrack()          # an error creates no entry of its own


def test_icmp_echo_through_masquerade():
    from simtcp.packet import IcmpMessage, Packet
    net, r, (a, _), server = home()
    r.iptables("-t nat -A POSTROUTING -o eth1 -j MASQUERADE")
    wan = net.capture.on(r, "eth1")
    a.transmit(Packet("192.168.0.10", "203.0.113.5", IcmpMessage(8, 0, (77 << 16) | 1,
                                                                 b"ping")))
    net.run(until=net.now + 1)
    out = [cp.packet for cp in wan]
    assert [(p.src, p.dst, p.icmp.type) for p in out] == [
        ("203.0.113.1", "203.0.113.5", 8), ("203.0.113.5", "203.0.113.1", 0)]
    assert a.counters["Icmp:InEchoReps"] == 1
    assert "icmp     1 29 src=192.168.0.10 dst=203.0.113.5 type=8 code=0 id=77" in r.conntrack()
