"""The set-up most TCP tests share: two hosts on one link, a listener, a connected pair.

Theory of operation: a test that is about one setting should read as that setting, not as
ten lines of sockets. ``two_hosts`` builds a (10.0.0.1) and b (10.0.0.2) joined by one link;
``connect`` opens a listener on b, connects a to it and accepts, with socket options set
where the test needs them (on the listener before bind, so accepted sockets inherit them,
as Linux's inet_csk_clone_lock() copies them; on the client before connect). Sysctls are set
by the caller between the two calls, so they apply to the sockets ``connect`` creates.
"""
from __future__ import annotations

import simtcp


def two_hosts(seed=1, delay=0.01, names=("a", "b"), wire=None, **link):
    """(net, a, b, link): hosts ``names`` at 10.0.0.1 and 10.0.0.2 over one link."""
    net = simtcp.Network(seed=seed) if wire is None else simtcp.Network(seed=seed, wire=wire)
    a, b = net.add_host(names[0], "10.0.0.1"), net.add_host(names[1], "10.0.0.2")
    return net, a, b, net.add_link(a, b, delay=delay, **link)


def connect(a, b, port=80, backlog=None, server_options=(), client_options=()):
    """(client, accepted, listener): a connected to b:port through a listener on b.
    Options are (level, option, value) triples."""
    srv = b.socket()
    for level, option, value in server_options:
        srv.setsockopt(level, option, value)
    srv.bind(("", port))
    if backlog is None:
        srv.listen()
    else:
        srv.listen(backlog)
    cli = a.socket()
    for level, option, value in client_options:
        cli.setsockopt(level, option, value)
    cli.connect((b.ip, port))
    accepted, _ = srv.accept()
    return cli, accepted, srv


def read_as_it_arrives(sock, sizes=None):
    """Make ``sock`` non-blocking and read whatever arrives (its window and autotuned buffer
    then grow as Linux's tcp_rcv_space_adjust() makes them); ``sizes`` collects each read's
    length."""
    sock.setblocking(False)
    if sizes is None:
        sock.on_ready = lambda s: s.recv(1 << 20) if s.conn.rcvq else None
    else:
        sock.on_ready = lambda s: sizes.append(len(s.recv(1 << 20))) if s.conn.rcvq else None
