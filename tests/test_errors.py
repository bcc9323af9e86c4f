"""API misuse raises what Python's socket raises, with the real errno and a teaching message."""
import errno
import socket as pysocket

import pytest

import simtcp


def server_on_80(server):
    s = server.socket()
    s.bind(("0.0.0.0", 80))
    s.listen(5)
    return s


def test_port_out_of_range_is_overflow_error(pair):
    _, client, _ = pair
    for bad in (-1, 65536, 70000):
        with pytest.raises(OverflowError, match="0-65535"):
            client.socket().bind(("0.0.0.0", bad))
    with pytest.raises(OverflowError):
        client.socket().connect(("192.168.1.20", 65536))


def test_port_of_the_wrong_type_is_type_error(pair):
    _, client, _ = pair
    with pytest.raises(TypeError):
        client.socket().bind(("0.0.0.0", "80"))


def test_bind_to_a_port_in_use(pair):
    _, _, server = pair
    server_on_80(server)
    with pytest.raises(OSError) as e:
        server.socket().bind(("0.0.0.0", 80))
    assert e.value.errno == errno.EADDRINUSE and "Address already in use" in str(e.value)


def test_bind_to_an_address_the_host_does_not_own(pair):
    _, client, _ = pair
    with pytest.raises(OSError) as e:
        client.socket().bind(("192.168.1.20", 80))
    assert e.value.errno == errno.EADDRNOTAVAIL and "not an address of host client" in str(e.value)


def test_bind_twice_is_einval(pair):
    _, client, _ = pair
    s = client.socket()
    s.bind(("0.0.0.0", 5000))
    with pytest.raises(OSError) as e:
        s.bind(("0.0.0.0", 5001))
    assert e.value.errno == errno.EINVAL


def test_privileged_port_needs_root(pair):
    _, _, server = pair
    with pytest.raises(PermissionError) as e:
        server.socket(user="alice").bind(("0.0.0.0", 80))
    assert e.value.errno == errno.EACCES and "ip_unprivileged_port_start" in str(e.value)
    server.socket(user="alice").bind(("0.0.0.0", 8080))     # unprivileged: fine


def test_connect_refused(pair):
    _, client, _ = pair
    with pytest.raises(ConnectionRefusedError) as e:
        client.socket().connect(("192.168.1.20", 9))
    assert e.value.errno == errno.ECONNREFUSED


def test_connect_timeout_after_syn_retries():
    net = simtcp.Network(seed=1)
    c = net.add_host("c", "10.0.0.1")
    net.add_link(c, net.add_peer("10.0.0.2"), delay=0.01)
    c.sysctl["net.ipv4.tcp_syn_retries"] = 2
    with pytest.raises(TimeoutError) as e:
        c.socket().connect(("10.0.0.2", 80))
    assert e.value.errno == errno.ETIMEDOUT and net.now == pytest.approx(7.0)


def test_send_on_an_unconnected_socket(pair):
    # Linux tcp_sendmsg(): a socket that never connected answers EPIPE (Python raises
    # BrokenPipeError); recv() on it is ENOTCONN
    _, client, _ = pair
    with pytest.raises(BrokenPipeError) as e:
        client.socket().send(b"x")
    assert e.value.errno == errno.EPIPE
    with pytest.raises(OSError) as e:
        client.socket().recv(1)
    assert e.value.errno == errno.ENOTCONN


def test_connect_twice_is_eisconn(pair):
    _, client, server = pair
    server_on_80(server)
    s = client.socket()
    s.connect(("192.168.1.20", 80))
    with pytest.raises(OSError) as e:
        s.connect(("192.168.1.20", 80))
    assert e.value.errno == errno.EISCONN


@pytest.mark.parametrize("bad", ["999.1.1.1", "not-a-host", "1.2.3"])
def test_invalid_address_strings(pair, bad):
    _, client, _ = pair
    with pytest.raises(pysocket.gaierror):
        client.socket().connect((bad, 80))


def test_address_must_be_a_tuple(pair):
    _, client, _ = pair
    with pytest.raises(TypeError, match="tuple"):
        client.socket().connect("192.168.1.20:80")


def test_accept_with_nobody_connecting_raises_instead_of_hanging(pair):
    _, _, server = pair
    srv = server_on_80(server)
    with pytest.raises(simtcp.SimulationIdleError, match="idle"):
        srv.accept()


def test_non_blocking_accept_and_recv_raise_blocking_io_error(pair):
    _, _, server = pair
    srv = server_on_80(server)
    srv.setblocking(False)
    with pytest.raises(BlockingIOError):
        srv.accept()


def test_settimeout_uses_virtual_time(pair):
    net, client, server = pair
    srv = server_on_80(server)
    srv.settimeout(2.5)
    client.socket().connect(("192.168.1.20", 80))
    srv.accept()
    with pytest.raises(TimeoutError):
        srv.accept()
    assert net.now >= 2.5


def test_operations_on_a_closed_socket_are_ebadf(pair):
    _, client, _ = pair
    s = client.socket()
    s.close()
    with pytest.raises(OSError) as e:
        s.bind(("0.0.0.0", 0))
    assert e.value.errno == errno.EBADF


def test_recv_after_reset_is_econnreset(pair):
    net, client, server = pair
    srv = server_on_80(server)
    cli = client.socket()
    cli.connect(("192.168.1.20", 80))
    conn, _ = srv.accept()
    cli.sendall(b"unread")
    net.run(until=net.now + 0.1)
    conn.close()                        # unread data: Linux sends RST, not FIN
    with pytest.raises(ConnectionResetError) as e:
        cli.recv(10)
    assert e.value.errno == errno.ECONNRESET


def test_send_after_shutdown_is_broken_pipe(pair):
    _, client, server = pair
    server_on_80(server)
    cli = client.socket()
    cli.connect(("192.168.1.20", 80))
    cli.shutdown(simtcp.socket.SHUT_WR)
    with pytest.raises(BrokenPipeError):
        cli.send(b"x")


def test_bad_network_arguments_are_value_errors():
    net = simtcp.Network()
    a = net.add_host("a", "10.0.0.1")
    with pytest.raises(ValueError, match="IPv4"):
        net.add_host("b", "10.0.0.300")
    with pytest.raises(ValueError, match="already belongs"):
        net.add_host("c", "10.0.0.1")
    with pytest.raises(ValueError, match="probability"):
        net.add_link(a, net.add_host("d", "10.0.0.4"), loss=1.5)
    with pytest.raises(ValueError, match="wire"):
        simtcp.Network(wire="slow")
