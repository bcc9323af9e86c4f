"""Small, deterministic scenarios that figures, notebooks and tests share.

Theory of operation: each function builds a fresh `Network` with a fixed seed, drives it
through the public socket API only, and returns the network (and the hosts involved), so
its trace and capture can be drawn or inspected. They are the canonical pictures of the
course: a handshake, a transfer with one loss, both kinds of close, a reset, a
simultaneous open, many clients on one server port.
"""
from __future__ import annotations

from typing import Tuple

from .link import DropMatching
from .progress import span
from .reasons import DropReason
from .sim import Network

CLIENT_IP, SERVER_IP = "192.168.1.10", "192.168.1.20"


def _pair(seed: int = 1, delay: float = 0.010, **link):
    net = Network(seed=seed)
    client = net.add_host("client", CLIENT_IP)
    server = net.add_host("server", SERVER_IP)
    wire = net.add_link(client, server, delay=delay, **link)
    return net, client, server, wire


def _listen(host, port: int = 80, backlog: int = 128):
    s = host.socket()
    s.bind(("0.0.0.0", port))
    s.listen(backlog)
    return s


def handshake(seed: int = 1) -> Network:
    """The three-way handshake and nothing else."""
    net, client, server, _ = _pair(seed)
    srv = _listen(server)
    client.socket().connect((SERVER_IP, 80))
    srv.accept()
    net.run(until=net.now + 0.001)
    return net


def transfer_with_loss(seed: int = 1, segments: int = 6, lost: int = 2) -> Network:
    """A handshake, ``segments`` data segments from the client of which number ``lost`` is
    dropped once on the link (and retransmitted), and the close."""
    net, client, server, link = _pair(seed)
    count = []

    def nth_data(p):
        if p.src == CLIENT_IP and p.segment is not None and p.segment.payload:
            count.append(p)
            return len(count) == lost
        return False

    link.add_middlebox(DropMatching(nth_data, reason=DropReason.LINK_LOSS))
    srv = _listen(server)
    cli = client.socket()
    cli.setsockopt(6, 1, 1)                      # TCP_NODELAY: one segment per send
    cli.connect((SERVER_IP, 80))
    conn, _ = srv.accept()
    for i in range(segments):
        cli.sendall(f"segment {i}".encode() * 100)
    got = 0
    while got < segments * 900:
        got += len(conn.recv(65536))
    cli.close()
    conn.recv(10)
    conn.close()
    net.run(until=net.now + 1)
    return net


def teardown(seed: int = 1, active: str = "client") -> Network:
    """A connection closed first by ``active`` ("client" or "server"); the active closer
    ends in TIME-WAIT, the other passes through CLOSE-WAIT and LAST-ACK."""
    net, client, server, _ = _pair(seed)
    srv = _listen(server)
    cli = client.socket()
    cli.connect((SERVER_IP, 80))
    conn, _ = srv.accept()
    first, second = (cli, conn) if active == "client" else (conn, cli)
    first.close()
    second.recv(10)
    net.run(until=net.now + 0.05)
    second.close()
    net.run()
    return net


def rst_closed_port(seed: int = 1) -> Network:
    """A SYN to a port nobody listens on, answered by <SEQ=0><ACK=SEG.SEQ+1><CTL=RST,ACK>."""
    net, client, _, _ = _pair(seed)
    try:
        client.socket().connect((SERVER_IP, 81))
    except ConnectionRefusedError:
        pass
    return net


def simultaneous_open(seed: int = 1) -> Network:
    """Both ends connect to each other's bound port at the same instant (RFC 9293 §3.5)."""
    net, client, server, _ = _pair(seed)
    a, b = client.socket(), server.socket()
    a.bind((CLIENT_IP, 7000))
    b.bind((SERVER_IP, 8000))
    a.setblocking(False)
    b.setblocking(False)
    a.connect_ex((SERVER_IP, 8000))
    b.connect_ex((CLIENT_IP, 7000))
    net.run(until=0.1)
    return net


def many_clients(n: int = 3, seed: int = 1) -> Tuple[Network, object]:
    """``n`` clients connected to one server port 80 (for the demux picture)."""
    net = Network(seed=seed)
    server = net.add_host("server", SERVER_IP)
    clients = [net.add_host(f"client{i + 1}", f"192.168.1.{11 + i}") for i in range(n)]
    net.add_lan([server, *clients], delay=0.002)
    srv = _listen(server)
    for c in clients:
        s = c.socket()
        s.connect((SERVER_IP, 80))
        srv.accept()
    return net, server


def cookie_handshake(seed: int = 1, timestamps: bool = True) -> Network:
    """A handshake completed by a SYN cookie (``tcp_syncookies=2``: always send cookies):
    the server keeps no SYN-RECEIVED state; the ACK alone creates the connection."""
    net, client, server, _ = _pair(seed)
    server.sysctl["net.ipv4.tcp_syncookies"] = 2
    client.sysctl["net.ipv4.tcp_timestamps"] = int(timestamps)
    srv = _listen(server)
    client.socket().connect((SERVER_IP, 80))
    srv.accept()
    net.run(until=net.now + 0.001)
    return net


def two_routers(seed: int = 1) -> Network:
    """client 10.0.1.10 — r1 — r2 — server 10.0.2.10 (5 ms, 10 ms, 5 ms links), the server
    listening on port 80: the smallest path with routers in it."""
    net = Network(seed=seed)
    client = net.add_host("client", "10.0.1.10/24", gateway="10.0.1.1")
    r1 = net.add_router("r1", "10.0.1.1/24", "10.0.12.1/30")
    r2 = net.add_router("r2", "10.0.12.2/30", "10.0.2.1/24")
    server = net.add_host("server", "10.0.2.10/24", gateway="10.0.2.1")
    net.add_link(client, r1, delay=0.005)
    net.add_link(r1, r2, delay=0.010)
    net.add_link(r2, server, delay=0.005)
    r1.routes.add("10.0.2.0/24", via="10.0.12.2")
    r2.routes.add("default", via="10.0.12.1")
    _listen(server)
    return net


def traceroute_tcp(seed: int = 1) -> Network:
    """``traceroute -T -q 1`` from the client to the server across two routers: SYNs with
    TTL 1, 2, 3; two ICMP time exceeded; the server's SYN-ACK, the client stack's RST."""
    net = two_routers(seed)
    net.nodes["client"].traceroute("10.0.2.10", method="tcp", queries=1)
    net.run(until=net.now + 0.1)
    return net


def net_unreachable(seed: int = 1) -> Network:
    """connect() to 10.9.0.1, which r2 has no route to: ICMP net unreachable (3/0) comes
    back and connect() fails with ENETUNREACH after one round trip to r2."""
    net = two_routers(seed)
    r2 = net.nodes["r2"]
    r2.routes.delete("default")                  # r2 knows only the client's network
    r2.routes.add("10.0.1.0/24", via="10.0.12.1")
    net.nodes["r1"].routes.add("10.9.0.0/16", via="10.0.12.2")
    sock = net.nodes["client"].socket()
    try:
        sock.connect(("10.9.0.1", 80))
    except OSError:
        pass
    return net


def udp_port_unreachable(seed: int = 1) -> Network:
    """A UDP datagram to a port nobody listens on, from a connected socket: the host answers
    ICMP port unreachable (3/3, RFC 1122 §4.1.3.1) quoting it; the next recv() raises
    ECONNREFUSED. A second datagram goes to the open port 53 and is answered."""
    net, client, server, _wire = _pair(seed, delay=0.010)
    echo = server.socket(2, 2)
    echo.bind(("0.0.0.0", 53))
    sock = client.socket(2, 2)
    sock.connect((SERVER_IP, 9))
    sock.send(b"anyone?")
    net.run()
    sock.settimeout(0.1)
    try:
        sock.recv(100)
    except ConnectionRefusedError:
        pass
    other = client.socket(2, 2)
    other.sendto(b"hello", (SERVER_IP, 53))
    data, peer = echo.recvfrom(100)
    echo.sendto(data.upper(), peer)
    net.run()
    return net


def dns_truncation(seed: int = 1) -> Network:
    """A DNS answer too big for UDP (RFC 1035 §4.2.1): the server replies with TC set, the
    resolver asks again over TCP port 53 (RFC 7766), each message length-prefixed."""
    net, client, server, _wire = _pair(seed, delay=0.010)
    server.start_service("dns", records={
        "big.example.com": {"TXT": [f"line {i:02d} of a long answer" for i in range(20)]}})
    client.resolve("big.example.com", SERVER_IP, "TXT")
    net.run(until=net.now + 0.1)
    return net


def cwnd_over_time(congestion: str = "cubic", seed: int = 7, loss: float = 0.004,
                   delay: float = 0.05, seconds: float = 30.0, step: float = 0.01) -> dict:
    """A bulk transfer over a lossy 100 ms-RTT path with ``congestion`` ("cubic" or "reno"):
    the sender's cwnd and ssthresh (segments) sampled every ``step`` seconds, and when it
    entered fast recovery, sent a tail loss probe or timed out. The same seed gives the same
    curve; both algorithms see the same path (the losses themselves follow the run)."""
    net, client, server, _ = _pair(seed, delay=delay, loss=loss)
    client.sysctl["net.ipv4.tcp_congestion_control"] = congestion
    srv = _listen(server)
    cli = client.socket()
    cli.connect((SERVER_IP, 80))
    conn, _ = srv.accept()
    cli.setblocking(False)
    conn.setblocking(False)
    c = cli.conn
    start = net.now
    out = {"t": [], "cwnd": [], "ssthresh": [], "congestion": congestion, "loss": loss,
           "rtt": 2 * delay}
    with span(net, start + seconds, desc=f"cwnd ({congestion})"):   # a bar if it runs long
        while net.now - start < seconds:
            try:
                cli.send(b"\0" * (1 << 20))
            except BlockingIOError:
                pass
            net.run(until=net.now + step)
            try:
                while conn.recv(1 << 22):
                    pass
            except BlockingIOError:
                pass
            mss = c.eff_mss
            out["t"].append(net.now - start)
            out["cwnd"].append(c.cwnd / mss)
            out["ssthresh"].append(c.ssthresh / mss if c.ssthresh < 1 << 30 else None)
    kinds = {"fast_retransmit": [], "tail_loss_probe": [], "rto": []}
    for r in net.trace:
        if r.host != "client" or r.time < start:
            continue
        if r.kind == "send" and r.reason in ("fast_retransmit", "tail_loss_probe"):
            kinds[str(r.reason)].append(r.time - start)
        elif r.kind == "event" and r.what == "rto":
            kinds["rto"].append(r.time - start)
    out.update(kinds)
    out["delivered"] = c.snd_una - c.iss
    return out


KNOCKD_CONF = """[openSSH]
    sequence      = 7000,8000,9000
    seq_timeout   = 5
    tcpflags      = syn
    start_command = /sbin/iptables -I INPUT 1 -s %IP% -p tcp --dport 22 -j ACCEPT
    cmd_timeout   = 10
    stop_command  = /sbin/iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
"""


def port_knock(seed: int = 1) -> Network:
    """Port knocking: SSH is dropped by the server's firewall; the client knocks on 7000,
    8000 and 9000 (each SYN dropped too — knockd sees it before the firewall); knockd opens
    port 22 for the client's address only, and the next connect() completes."""
    net, client, server, _ = _pair(seed)
    server.start_service("ssh")
    server.iptables("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
    server.iptables("-A INPUT -p tcp -j DROP")
    server.start_service("knockd", config=KNOCKD_CONF)
    first = client.socket()
    first.setblocking(False)
    first.connect_ex((SERVER_IP, 22))                    # before knocking: dropped
    net.run(until=0.5)
    first.close()
    client.sh(f"knock -d 200 {SERVER_IP} 7000 8000 9000")
    net.run(until=net.now + 0.3)
    ssh = client.socket()
    ssh.settimeout(5.0)
    ssh.connect((SERVER_IP, 22))
    net.run(until=net.now + 0.05)
    return net
