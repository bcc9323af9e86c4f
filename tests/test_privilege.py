"""Privileged ports: CAP_NET_BIND_SERVICE per process, ip_unprivileged_port_start, the macOS
wildcard rule, dropping privileges, the blast radius report, and port proxies."""
import errno
import socket as pysocket

import pytest

import simtcp
from simtcp.privilege import ALL_CAPABILITIES, Capability


def linux(os="linux"):
    net = simtcp.Network(seed=11, wire="fast")
    client = net.add_host("client", "192.168.1.10")
    server = net.add_host("server", "192.168.1.20", os=os)
    net.add_link(client, server, delay=0.001)
    return net, client, server


def eacces(fn):
    with pytest.raises(PermissionError) as info:
        fn()
    assert info.value.errno == errno.EACCES
    return info.value


def test_the_capability_decides_not_the_user():
    net, client, server = linux()
    web = server.process("nginx", user="www-data")
    eacces(lambda: web.socket().bind(("0.0.0.0", 80)))
    capped = server.process("nginx", user="www-data", capabilities={"CAP_NET_BIND_SERVICE"})
    capped.socket().bind(("0.0.0.0", 80))
    bare_root = server.process("sshd", user="root", capabilities=())
    eacces(lambda: bare_root.socket().bind(("0.0.0.0", 22)))
    assert server.process("sshd").capabilities == ALL_CAPABILITIES
    web.socket().bind(("0.0.0.0", 8080))                 # above the threshold: anyone
    web.socket().bind(("0.0.0.0", 0))                    # "any port" never needs privilege


@pytest.mark.parametrize("kind", [pysocket.SOCK_STREAM, pysocket.SOCK_DGRAM])
def test_ip_unprivileged_port_start_moves_the_threshold(kind):
    net, client, server = linux()
    app = server.process("app", user="app")
    server.sysctl["net.ipv4.ip_unprivileged_port_start"] = 80
    app.socket(type=kind).bind(("0.0.0.0", 80))
    eacces(lambda: app.socket(type=kind).bind(("0.0.0.0", 79)))
    server.sysctl["net.ipv4.ip_unprivileged_port_start"] = 0      # nothing privileged
    app.socket(type=kind).bind(("0.0.0.0", 1))


def test_macos_privileged_ports_need_root_on_a_specific_address_for_udp_too():
    net, client, server = linux(os="macos")
    u = server.socket(pysocket.AF_INET, pysocket.SOCK_DGRAM, user="alice")
    u.bind(("0.0.0.0", 53))
    err = eacces(lambda: server.socket(pysocket.AF_INET, pysocket.SOCK_DGRAM,
                                       user="alice").bind(("192.168.1.20", 123)))
    assert "only root" in str(err)
    server.socket(pysocket.AF_INET, pysocket.SOCK_DGRAM, user="root").bind(("192.168.1.20", 123))
    with pytest.raises(ValueError, match="Linux"):
        server.process("nginx", user="www-data", capabilities={"CAP_NET_BIND_SERVICE"})


def test_a_service_with_ambient_capabilities_binds_80_as_its_user():
    net, client, server = linux()
    eacces(lambda: server.start_service("http", start_as_root=False))
    svc = server.start_service("http", capabilities={"CAP_NET_BIND_SERVICE"})
    assert "It works" in str(client.sh("curl -s http://192.168.1.20/"))
    assert 'users:(("nginx",pid=' in str(server.ss("-tlnp")) and svc.proc.user == "www-data"
    assert svc.proc.capabilities == {Capability.CAP_NET_BIND_SERVICE}
    with pytest.raises(ValueError):
        server.start_service("http", port=81, capabilities=(), start_as_root=True)
    with pytest.raises(ValueError, match="unknown capability"):
        server.process("x", capabilities={"CAP_MAGIC"})


def test_dropping_privileges_keeps_open_sockets_and_loses_the_rest():
    net, client, server = linux()
    proc = server.process("nginx")
    listener = proc.socket()
    listener.bind(("0.0.0.0", 80))
    listener.listen(8)
    proc.drop_privileges("www-data")
    assert proc.capabilities == frozenset()
    eacces(lambda: proc.socket().bind(("0.0.0.0", 443)))
    c = client.socket()
    c.connect(("192.168.1.20", 80))                      # the listener still works
    with pytest.raises(PermissionError) as info:
        proc.drop_privileges("root")
    assert info.value.errno == errno.EPERM
    keeper = server.process("haproxy")
    keeper.drop_privileges("haproxy", keep={"CAP_NET_BIND_SERVICE"})
    keeper.socket().bind(("0.0.0.0", 443))


def test_blast_radius_of_root_versus_a_service_user():
    net, client, server = linux()
    as_root = server.start_service("http", user="root", port=80)
    as_user = server.start_service("http", port=8080)    # binds as root, drops to www-data
    assert as_root.proc.can_read("/etc/shadow") and as_root.proc.can_bind(22)
    assert not as_user.proc.can_read("/etc/shadow")
    assert not as_user.proc.can_read("/etc/ssh/ssh_host_ed25519_key")
    assert as_user.proc.can_read("/var/www/html/index.html")
    assert not as_user.proc.can_bind(22) and as_user.proc.can_bind(8081)
    root_report, user_report = as_root.report(), as_user.report()
    assert "capabilities: all of them" in root_report
    assert "[x] read /etc/shadow (password hashes)" in root_report
    assert "[ ] read /etc/shadow (password hashes)" in user_report
    assert "[ ] change the firewall: iptables (CAP_NET_ADMIN)" in user_report
    with pytest.raises(ValueError, match="file model"):
        as_user.proc.can_read("/etc/motd")


def test_port_proxy_by_redirect():
    net, client, server = linux()
    server.start_service("http", port=8080, start_as_root=False)     # www-data from the start
    server.iptables("-t nat -A PREROUTING -p tcp --dport 80 -j REDIRECT --to-ports 8080")
    assert "It works" in str(client.sh("curl -s http://192.168.1.20/"))
    listening = str(server.ss("-tln"))
    assert ":8080" in listening and ":80 " not in listening


def test_reverse_proxy_in_front_of_an_unprivileged_app():
    net, client, server = linux()
    app = server.start_service("http", port=8080, address="127.0.0.1", user="app",
                               process="app", start_as_root=False,
                               pages={"/": "<h1>from the app</h1>\n"})
    proxy = server.start_service("proxy", backend=("127.0.0.1", 8080))
    out = client.sh("curl -s http://192.168.1.20/")
    assert "from the app" in str(out)
    assert proxy.relayed == 1 and proxy.proc.user == "haproxy"
    assert app.proc.user == "app" and not app.proc.can_bind(80)
    table = str(server.ss("-tlnp"))
    assert "0.0.0.0:80 " in table and '"haproxy"' in table and "127.0.0.1:8080" in table


def test_a_proxy_whose_backend_is_down_closes_the_client():
    net, client, server = linux()
    server.start_service("proxy", backend=("127.0.0.1", 8080))
    c = client.socket()
    c.settimeout(5.0)
    c.connect(("192.168.1.20", 80))                      # the proxy accepts ...
    c.sendall(b"GET / HTTP/1.1\r\nHost: server\r\n\r\n")
    assert c.recv(100) == b""                            # ... and closes: backend refused
    assert net.now < 1.0


@pytest.mark.parametrize("backend", [8080, ("127.0.0.1",), ("127.0.0.1", 0), ("x", True)])
def test_bad_backends_are_refused(backend):
    net, client, server = linux()
    with pytest.raises(ValueError):
        server.start_service("proxy", backend=backend)


def test_loopback_is_local_to_every_host():
    net, client, server = linux()
    lst = server.socket(user="app")
    lst.bind(("127.0.0.1", 8080))
    lst.listen(1)
    c = server.socket()
    c.connect(("127.0.0.1", 8080))
    conn, peer = lst.accept()
    assert peer[0] == "127.0.0.1"
    probe = client.socket()
    with pytest.raises(ConnectionRefusedError):            # the client's own loopback
        probe.connect(("127.0.0.1", 8080))
