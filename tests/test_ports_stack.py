"""Ports through the socket API: ephemeral allocation, exhaustion, SO_REUSEADDR, TIME-WAIT."""
import errno

import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

import simtcp


def lan(n_servers=2, os="linux", seed=1):
    net = simtcp.Network(seed=seed, wire="fast")
    client = net.add_host("client", "10.0.0.1", os=os)
    servers = [net.add_host(f"s{i}", f"10.0.0.{10 + i}") for i in range(n_servers)]
    net.add_lan([client, *servers])
    for s in servers:
        for port in (80, 443):
            sock = s.socket()
            sock.bind(("", port))
            sock.listen(4096)
    return net, client, servers


def open_conn(client, ip, port=80):
    s = client.socket()
    s.setblocking(False)
    code = s.connect_ex((ip, port))
    if code not in (0, errno.EINPROGRESS):
        raise OSError(code, errno.errorcode[code])
    return s


def test_linux_connect_ports_are_even_and_rising_then_odd():
    net, client, _ = lan()
    client.sysctl["net.ipv4.ip_local_port_range"] = "40000 40009"
    ports = [open_conn(client, "10.0.0.10").local[1] for _ in range(10)]
    assert all(p % 2 == 0 for p in ports[:5]) and all(p % 2 for p in ports[5:])
    assert sorted(ports) == list(range(40000, 40010))
    with pytest.raises(OSError) as e:                       # range used up for this destination
        open_conn(client, "10.0.0.10")
    assert e.value.errno == errno.EADDRNOTAVAIL
    other = [open_conn(client, "10.0.0.10", 443).local[1] for _ in range(10)]
    assert sorted(other) == list(range(40000, 40010))       # another destination: all again


def test_same_local_port_toward_two_destinations_at_once():
    net, client, _ = lan()
    client.sysctl["net.ipv4.ip_local_port_range"] = "40000 40001"
    a = [open_conn(client, "10.0.0.10").local[1] for _ in range(2)]
    b = [open_conn(client, "10.0.0.11").local[1] for _ in range(2)]
    assert sorted(a) == sorted(b) == [40000, 40001]         # only the 4-tuple must be unique
    net.run(until=1)
    assert all(s.state == "ESTABLISHED" for s in client.sockets)


def test_bind_zero_picks_odd_ports_and_exhausts_with_eaddrinuse():
    net, client, _ = lan()
    client.sysctl["net.ipv4.ip_local_port_range"] = "40000 40005"
    got = []
    for _ in range(6):
        s = client.socket()
        s.bind(("", 0))
        got.append(s.getsockname()[1])
    assert all(p % 2 for p in got[:3]) and sorted(got) == list(range(40000, 40006))
    with pytest.raises(OSError) as e:
        client.socket().bind(("", 0))
    assert e.value.errno == errno.EADDRINUSE


@pytest.mark.parametrize("os, low, high", [("linux", 32768, 60999), ("windows", 49152, 65535),
                                           ("macos", 49152, 65535), ("freebsd", 10000, 65535)])
def test_each_os_profile_allocates_from_its_own_range(os, low, high):
    net, client, _ = lan(os=os)
    ports = [open_conn(client, "10.0.0.10").local[1] for _ in range(20)]
    assert all(low <= p <= high for p in ports) and len(set(ports)) == 20


def test_macos_allocates_sequentially():
    net, client, _ = lan(os="macos")
    ports = [open_conn(client, "10.0.0.10").local[1] for _ in range(5)]
    assert [b - a for a, b in zip(ports, ports[1:])] == [1, 1, 1, 1]


def test_reserved_ports_are_skipped():
    net, client, _ = lan()
    client.sysctl["net.ipv4.ip_local_port_range"] = "40000 40009"
    client.sysctl["net.ipv4.ip_local_reserved_ports"] = "40000-40003"
    ports = {open_conn(client, "10.0.0.10").local[1] for _ in range(6)}
    assert ports == set(range(40004, 40010))


def test_rebinding_a_port_with_connections_in_time_wait_needs_so_reuseaddr():
    net, client, (server, *_) = lan(n_servers=1)
    srv = server.socket()
    srv.bind(("", 8080))
    srv.listen(5)
    cli = client.socket()
    cli.connect(("10.0.0.10", 8080))
    conn, _ = srv.accept()
    conn.close()                              # the server closes first: it gets TIME-WAIT
    cli.recv(1)
    cli.close()
    srv.close()
    net.run(until=net.now + 1)
    assert "TIME-WAIT" in str(server.ss())
    with pytest.raises(OSError) as e:
        server.socket().bind(("", 8080))
    assert e.value.errno == errno.EADDRINUSE and "TIME-WAIT" in str(e.value)
    again = server.socket()
    again.setsockopt(simtcp.socket.SOL_SOCKET, simtcp.socket.SO_REUSEADDR, 1)
    again.bind(("", 8080))                    # allowed with SO_REUSEADDR
    again.listen(5)
    net.run(until=net.now + 61)               # after 60 s TIME-WAIT is gone: no option needed
    server.socket().bind(("", 8081))


def test_tcp_tw_reuse_lets_connect_take_over_a_time_wait_4tuple():
    net = simtcp.Network(seed=4, wire="fast")
    client = net.add_host("client", "10.0.0.1")
    server = net.add_host("server", "10.0.0.2")
    net.add_link(client, server, delay=0.001)
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(5)
    client.sysctl["net.ipv4.ip_local_port_range"] = "40000 40001"
    client.sysctl["net.ipv4.tcp_tw_reuse"] = 1
    first = []
    for _ in range(2):
        s = client.socket()
        s.connect(("10.0.0.2", 80))
        first.append(s.local[1])
        s.close()
        srv.accept()[0].close()
    net.run(until=net.now + 2)
    assert sum(c.state.value == "TIME-WAIT" for c in client.stack.conns.values()) == 2
    s = client.socket()
    s.connect(("10.0.0.2", 80))               # both ports in TIME-WAIT, ≥ 1 s old: reused
    assert s.local[1] in first
    client.sysctl["net.ipv4.tcp_tw_reuse"] = 0
    s.close()
    srv.accept()[0].close()
    net.run(until=net.now + 2)
    with pytest.raises(OSError) as e:
        client.socket().connect(("10.0.0.2", 80))
    assert e.value.errno == errno.EADDRNOTAVAIL


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.tuples(st.sampled_from(["10.0.0.10", "10.0.0.11"]), st.sampled_from([80, 443])),
                min_size=1, max_size=30),
       st.sampled_from(["linux", "rfc6056-1", "rfc6056-2", "rfc6056-3", "rfc6056-4", "rfc6056-5"]))
def test_allocated_ports_stay_in_range_and_4tuples_are_unique(dests, algorithm):
    net, client, _ = lan()
    client.sysctl["net.ipv4.ip_local_port_range"] = "40000 40007"
    client.sysctl["net.ipv4.ip_local_reserved_ports"] = "40003"
    client.sysctl["simtcp.port_algorithm"] = algorithm
    used = {}
    for ip, port in dests:
        try:
            s = open_conn(client, ip, port)
        except OSError as e:
            assert e.errno == errno.EADDRNOTAVAIL
            # raised only when every usable port toward this destination is taken — except
            # for the RFC 6056 algorithms that draw candidates at random (2: fresh random
            # port, 5: random increments): their num tries may miss a free port (RFC 6056 §3.3)
            assert used.get((ip, port), 0) == 7 or algorithm in ("rfc6056-2", "rfc6056-5")
            continue
        lport = s.local[1]
        assert 40000 <= lport <= 40007 and lport != 40003
        used[(ip, port)] = used.get((ip, port), 0) + 1
    tuples = [(s.local, s.conn.tuple.remote_ip, s.conn.tuple.remote_port)
              for s in client.sockets if s.conn is not None]
    assert len(tuples) == len(set(tuples))


def test_the_busy_port_shortcut_chooses_exactly_the_ports_the_plain_scan_chooses(monkeypatch):
    def exhaust(shortcut):
        net, client, _ = lan(seed=7)
        if not shortcut:
            monkeypatch.setattr(client.stack, "busy_ports", lambda *a: None)
        client.sysctl["net.ipv4.ip_local_port_range"] = "40000 40099"
        ports = []
        for i in range(120):
            if i % 40 == 39:
                net.run(until=net.now + 61)   # TIME-WAIT over: closed ports are free again
            try:
                s = open_conn(client, "10.0.0.10")
            except OSError as e:
                assert e.errno == errno.EADDRNOTAVAIL
                ports.append("full")
                continue
            ports.append(s.local[1])
            if i % 17 == 5:
                s.close()                     # FIN exchange, then 60 s of TIME-WAIT
        return ports

    with_shortcut, plain = exhaust(True), exhaust(False)
    assert with_shortcut == plain
    used = [p for p in plain if p != "full"]
    assert "full" in plain and len(used) > len(set(used))   # exhausted, and freed ports reused


def test_a_listeners_children_hold_their_port_without_a_port_set_each():
    """Only connect()'s connections go in by_dest (the allocator's skip list); a server's
    children are found through the connection table all the same."""
    net, client, (server, _) = lan()
    socks = [open_conn(client, "10.0.0.10") for _ in range(3)]
    net.run()
    assert sum(map(len, client.stack.by_dest.values())) == 3 and not server.stack.by_dest
    listener = next(s for s in server.sockets if s.listener and s.local[1] == 80)
    _child, (_ip, peer_port) = listener.accept()
    listener.close()                          # port 80 is now held by the children only
    assert peer_port in {s.local[1] for s in socks}
    assert server.stack.port_in_use_for("10.0.0.10", 80, "10.0.0.1", peer_port)
    assert not server.stack.port_in_use_for("10.0.0.10", 80, "10.0.0.1", 1)


def test_a_port_holds_its_only_connection_without_a_set_and_a_set_once_shared():
    """Stack.by_port keeps the 4-tuple itself for a port's only connection, a set from the
    second on, and drops the port with its last connection; bind() sees either form."""
    net, client, _ = lan()
    client.sysctl["net.ipv4.ip_local_port_range"] = "40000 40000"
    stack = client.stack
    first = open_conn(client, "10.0.0.10")
    assert stack.by_port[40000] == first.conn.tuple            # no set of one
    assert list(stack.port_users(40000)) == [first.conn.tuple] and not stack.port_users(1)
    with pytest.raises(OSError) as e:
        client.socket().bind(("", 40000))
    assert e.value.errno == errno.EADDRINUSE and "SYN-SENT" in str(e.value)
    second = open_conn(client, "10.0.0.11")                   # same port, another peer
    assert stack.by_port[40000] == {first.conn.tuple, second.conn.tuple}
    net.run(until=1)
    second.close()
    first.close()
    net.run()                                                  # both ends, TIME-WAIT over
    assert 40000 not in stack.by_port and not list(stack.port_users(40000))
    client.socket().bind(("", 40000))
