"""The public API exactly as the README and the architecture guide show it."""
from scapy.layers.inet import IP, TCP

import simtcp


def test_design_md_example_runs_as_written(tmp_path):
    net = simtcp.Network(seed=1)                       # virtual time starts at 0.0 s
    client = net.add_host("client", "192.168.1.10", os="linux")
    server = net.add_host("server", "192.168.1.20", os="linux")
    net.add_link(client, server, delay=0.010, loss=0.0)
    assert net.now == 0.0

    srv = server.socket()
    srv.bind(("0.0.0.0", 80))
    srv.listen(128)

    cli = client.socket()
    cli.connect(("192.168.1.20", 80))
    conn, addr = srv.accept()
    cli.sendall(b"hello")
    data = conn.recv(1024)
    assert data == b"hello" and addr == cli.getsockname()
    cli.close()
    conn.close()
    net.run()
    assert net.now > 60                                # TIME-WAIT ran out in virtual time

    first = net.capture[0]
    assert first.time == 0.0 and first.bytes[:1] == b"\x45"
    assert first.scapy[TCP].flags == "S"
    net.capture.write_pcap(tmp_path / "handshake.pcap")
    assert (tmp_path / "handshake.pcap").stat().st_size > 24
    assert any(r.kind == "state" for r in net.trace)

    server.sysctl["net.ipv4.tcp_syncookies"] = 1
    assert "LISTEN" in str(server.ss())
    server.inject(IP(src="192.168.1.10", dst="192.168.1.20") /
                  TCP(sport=1234, dport=80, flags="S", seq=7))
    net.run(until=net.now + 1)

    peer = net.add_peer("192.168.1.99")
    net.add_link(peer, server, delay=0.001)
    peer.send(IP(src="192.168.1.99", dst="192.168.1.20") /
              TCP(sport=4321, dport=80, flags="S", seq=100))
    net.run(until=net.now + 0.1)
    assert peer.received[-1][TCP].flags == "SA" and peer.received[-1][TCP].ack == 101


def test_readme_quick_start_runs(capsys):
    net = simtcp.Network(seed=1)
    client = net.add_host("client", "192.168.1.10", os="linux")
    server = net.add_host("server", "192.168.1.20", os="linux")
    net.add_link(client, server, delay=0.010, loss=0.0)
    srv = server.socket(); srv.bind(("0.0.0.0", 80)); srv.listen(128)  # noqa: E702
    cli = client.socket(); cli.connect(("192.168.1.20", 80))  # noqa: E702
    conn, addr = srv.accept()
    cli.sendall(b"hello"); print(conn.recv(1024))  # noqa: E702
    cli.close(); conn.close(); net.run()  # noqa: E702
    print(net.trace.log())
    out = capsys.readouterr().out
    assert "b'hello'" in out and "TIME-WAIT → CLOSED" in out


def test_notebook_facing_objects_render_html_and_text():
    net = simtcp.Network(seed=1)
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b)
    s = b.socket(); s.bind(("", 80)); s.listen(1)  # noqa: E702
    a.socket().connect(("10.0.0.2", 80))
    for obj in (net, net.trace, net.capture, b.ss(), b.netstat(), b.lsof(port=80)):
        assert "<table" in obj._repr_html_() and str(obj)
