"""UDP sockets: the same exceptions and errnos as Python's socket on Linux (a table checked
against real loopback sockets), port spaces, port unreachable, ECONNREFUSED, rate limits."""
import errno
import socket as pysocket

import pytest

import simtcp
from simtcp.reasons import DropReason
from simtcp.udpsocket import SOCK_DGRAM

AF_INET = pysocket.AF_INET


def pair(seed=1, **kw):
    net = simtcp.Network(seed=seed)
    a = net.add_host("a", "10.0.0.1")
    b = net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.005)
    return net, a, b


def outcome(fn):
    """What a call did: ("ok", value) or (exception class, errno or message)."""
    try:
        return ("ok", fn())
    except OSError as e:
        return (type(e), e.errno if e.errno is not None else str(e))
    except (TypeError, ValueError, OverflowError) as e:
        return (type(e), str(e))


# each case: (name, function of (make_socket, peer_address, closed_port_address)) -> result
def _send_unconnected(S, peer, closed):
    return S().send(b"x")


def _getpeername_unconnected(S, peer, closed):
    return S().getpeername()


def _sendto_port0(S, peer, closed):
    return S().sendto(b"x", (peer[0], 0))


def _sendto_port_too_big(S, peer, closed):
    return S().sendto(b"x", (peer[0], 70000))


def _sendto_too_long(S, peer, closed):
    return S().sendto(b"x" * 65508, peer)


def _sendto_longest(S, peer, closed):
    return S().sendto(b"x" * 65507, peer)


def _recv_nonblocking(S, peer, closed):
    s = S()
    s.setblocking(False)
    return s.recv(10)


def _recvfrom_negative(S, peer, closed):
    return S().recvfrom(-1)


def _bind_twice(S, peer, closed):
    s = S()
    s.bind((peer[0] if False else "0.0.0.0", 0))
    return s.bind(("0.0.0.0", 0))


def _bind_in_use(S, peer, closed):
    s = S()
    s.bind(("0.0.0.0", 0))
    return S().bind(s.getsockname())


def _bind_foreign_address(S, peer, closed):
    return S().bind(("10.9.9.9", 0))


def _connect_port_too_big(S, peer, closed):
    return S().connect((peer[0], 70000))


def _closed_sendto(S, peer, closed):
    s = S()
    s.close()
    return s.sendto(b"x", peer)


def _closed_recv(S, peer, closed):
    s = S()
    s.close()
    return s.recv(1)


def _closed_getsockname(S, peer, closed):
    s = S()
    s.close()
    return s.getsockname()


def _bind_str_port(S, peer, closed):
    return S().bind(("0.0.0.0", "80"))


def _sendto_str(S, peer, closed):
    return S().sendto("x", peer)


def _listen(S, peer, closed):
    return S().listen(1)


def _accept(S, peer, closed):
    return S().accept()


def _shutdown_unconnected(S, peer, closed):
    return S().shutdown(pysocket.SHUT_RDWR)


def _sendall_unconnected(S, peer, closed):
    return S().sendall(b"x")


def _broadcast_without_option(S, peer, closed):
    return S().sendto(b"x", ("255.255.255.255", 9))


def _connect_port0_getpeername(S, peer, closed):
    s = S()
    s.connect((peer[0], 0))
    return s.getpeername()


def _unbound_getsockname(S, peer, closed):
    return S().getsockname()


def _send_autobinds(S, peer, closed):
    s = S()
    s.sendto(b"x", peer)
    ip, port = s.getsockname()
    return ip, port != 0


def _buffer_sizes(S, peer, closed):
    out = []
    for value in (100, 2048, 4096):
        s = S()
        s.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_RCVBUF, value)
        s.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_SNDBUF, value)
        out.append((s.getsockopt(pysocket.SOL_SOCKET, pysocket.SO_RCVBUF),
                    s.getsockopt(pysocket.SOL_SOCKET, pysocket.SO_SNDBUF)))
    return out


def _default_buffer_sizes(S, peer, closed):
    s = S()
    return (s.getsockopt(pysocket.SOL_SOCKET, pysocket.SO_RCVBUF),
            s.getsockopt(pysocket.SOL_SOCKET, pysocket.SO_SNDBUF))


CASES = [f for name, f in sorted(globals().items()) if name.startswith("_") and callable(f)
         and f.__code__.co_argcount == 3]


def _real(case):
    """Run ``case`` with real loopback sockets."""
    rcv = pysocket.socket(AF_INET, pysocket.SOCK_DGRAM)
    rcv.bind(("127.0.0.1", 0))
    made = []

    def S():
        s = pysocket.socket(AF_INET, pysocket.SOCK_DGRAM)
        made.append(s)
        return s
    try:
        return outcome(lambda: case(S, rcv.getsockname(), ("127.0.0.1", 9)))
    finally:
        for s in made + [rcv]:
            s.close()


def _simulated(case):
    net, a, b = pair()
    rcv = b.socket(AF_INET, SOCK_DGRAM)
    rcv.bind(("0.0.0.0", 5000))

    def S():
        return a.socket(AF_INET, SOCK_DGRAM)
    result = outcome(lambda: case(S, ("10.0.0.2", 5000), ("10.0.0.2", 9)))
    net.run()
    return result


def _normalise(result):
    kind, value = result
    if kind == "ok" and isinstance(value, tuple) and value and isinstance(value[0], str) \
            and value[0] == "0.0.0.0":
        return kind, value[1:]
    return result


@pytest.mark.parametrize("case", CASES, ids=lambda f: f.__name__.strip("_"))
def test_udp_calls_fail_like_python_sockets_on_linux(case):
    real, sim = _real(case), _simulated(case)
    if real[0] in (TypeError, ValueError, OverflowError):
        assert sim[0] is real[0]            # same class; simtcp's message may teach more
    else:
        assert _normalise(sim) == _normalise(real)


# ----------------------------------------------------------------- behaviour
def udp(host):
    return host.socket(AF_INET, SOCK_DGRAM)


def test_datagrams_keep_their_boundaries_and_sources():
    net, a, b = pair()
    srv = udp(b)
    srv.bind(("0.0.0.0", 5353))
    c = udp(a)
    c.sendto(b"first", ("10.0.0.2", 5353))
    c.sendto(b"second datagram", ("10.0.0.2", 5353))
    assert srv.recvfrom(100) == (b"first", ("10.0.0.1", c.getsockname()[1]))
    assert srv.recv(6) == b"second"                    # the rest of it is discarded
    srv.setblocking(False)
    with pytest.raises(BlockingIOError):
        srv.recv(100)
    assert b.counters["Udp:InDatagrams"] == 2 and a.counters["Udp:OutDatagrams"] == 2


def test_a_closed_port_answers_icmp_port_unreachable_quoting_the_datagram():
    net, a, b = pair()
    c = udp(a)
    c.sendto(b"probe", ("10.0.0.2", 9))
    net.run()
    (icmp,) = [r.packet for r in net.trace if r.kind == "send" and r.host == "b"]
    m = icmp.payload
    assert (icmp.src, icmp.dst, icmp.proto) == ("10.0.0.2", "10.0.0.1", 1)
    assert (m.type, m.code) == (3, 3)                   # RFC 792: port unreachable
    q = m.quoted()
    assert (q.src, q.dst, q.proto, q.sport, q.dport) == ("10.0.0.1", "10.0.0.2", 17,
                                                         c.getsockname()[1], 9)
    assert m.quote.endswith(b"probe")                  # IP header + UDP header + data
    assert b.counters["Udp:NoPorts"] == 1


def test_connected_socket_gets_econnrefused_once_unconnected_gets_nothing():
    net, a, b = pair()
    conn = udp(a)
    conn.connect(("10.0.0.2", 9))
    conn.send(b"x")
    net.run()
    conn.settimeout(1.0)
    with pytest.raises(ConnectionRefusedError) as e:
        conn.recv(10)
    assert e.value.errno == errno.ECONNREFUSED
    with pytest.raises(TimeoutError):                   # reported once (sock_error clears it)
        conn.recv(10)
    assert conn.send(b"again") == 5
    net.run()
    with pytest.raises(ConnectionRefusedError):         # the next send() sees it too
        conn.send(b"third")
    loose = udp(a)
    loose.sendto(b"x", ("10.0.0.2", 9))
    net.run()
    loose.settimeout(1.0)
    with pytest.raises(TimeoutError):
        loose.recv(10)


@pytest.mark.parametrize("ratelimit, replies", [(1000, 6), (0, 20)])
def test_icmp_rate_limit_a_burst_of_20_gets_6_replies(ratelimit, replies):
    """inet_peer_xrlim_allow(): a fresh peer may get XRLIM_BURST_FACTOR (6) errors at once,
    then one per icmp_ratelimit ms; icmp_ratelimit=0 turns the per-peer limit off."""
    net, a, b = pair()
    b.sysctl["net.ipv4.icmp_ratelimit"] = ratelimit
    s = udp(a)
    for i in range(20):
        s.sendto(b"x", ("10.0.0.2", 1000 + i))
    net.run()
    sent = [r for r in net.trace if r.kind == "send" and r.host == "b"]
    assert len(sent) == replies
    assert b.counters["Udp:NoPorts"] == 20
    if ratelimit:
        net.run(until=net.now + 1.0)                    # one token per second comes back
        s.sendto(b"x", ("10.0.0.2", 2000))
        net.run()
        assert len([r for r in net.trace if r.kind == "send" and r.host == "b"]) == 7


def test_tcp_and_udp_port_53_are_two_ports():
    net, a, b = pair()
    t = b.socket()
    t.bind(("0.0.0.0", 53))
    t.listen(5)
    u = udp(b)
    u.bind(("0.0.0.0", 53))                             # no EADDRINUSE: another port space
    with pytest.raises(OSError) as e:
        udp(b).bind(("0.0.0.0", 53))
    assert e.value.errno == errno.EADDRINUSE
    text = str(b.ss("-tuln")).split("\n")
    assert text[0].startswith("Netid State")
    assert [line.split()[:2] for line in text[1:]] == [["udp", "UNCONN"], ["tcp", "LISTEN"]]
    ns = str(b.netstat("-tulnp")).split("\n")
    assert ns[2].startswith("tcp ") and ns[3].startswith("udp ")
    assert ns[3].split()[5] == f"{u.pid}/python"        # no State for an unconnected socket
    assert [r["proto"] for r in b.lsof("-i", ":53")] == ["tcp", "udp"]
    assert str(b.lsof("-P", "-i", "udp:53")).split("\n")[1].endswith("UDP *:53 ")
    assert str(b.lsof("-i", "udp:53")).split("\n")[1].endswith("UDP *:domain ")


def test_recv_q_is_the_receive_buffer_charge_and_overflow_drops():
    net, a, b = pair()
    srv = udp(b)
    srv.bind(("0.0.0.0", 7000))
    srv.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_RCVBUF, 2048)   # 4096 after doubling
    c = udp(a)
    for _ in range(6):
        c.sendto(b"y" * 100, ("10.0.0.2", 7000))
    net.run()
    (row,) = b.ss("-uan")
    assert row["recv_q"] == 4 * 832                     # truesize of a small datagram
    assert b.counters["Udp:RcvbufErrors"] == 2
    assert b.stack.in_errors[DropReason.RCVBUF_FULL] == 2


def test_same_seed_same_trace():
    def run(seed):
        net, a, b = pair(seed)
        s = udp(a)
        for i in range(5):
            s.sendto(bytes([i]) * 10, ("10.0.0.2", 40000 + i))
        net.run()
        return [str(r) for r in net.trace], net.capture.pcap_bytes()
    assert run(4) == run(4)


def test_global_icmp_limit_and_ratemask():
    """icmp_global_allow(): a bucket of icmp_msgs_burst credits, each message spending a
    random 0-2 of them; icmp_ratemask without bit 3 exempts destination unreachables."""
    def replies(**sysctls):
        net, a, b = pair(seed=9)
        for k, v in sysctls.items():
            b.sysctl[f"net.ipv4.{k}"] = v
        s = udp(a)
        for i in range(60):
            s.sendto(b"x", ("10.0.0.2", 3000 + i))
        net.run()
        return b.counters["Icmp:OutDestUnreachs"], b.counters["Icmp:OutRateLimitGlobal"]
    sent, limited = replies(icmp_ratelimit=0, icmp_msgs_burst=10)
    assert 5 <= sent < 60 and sent + limited == 60
    assert replies(icmp_ratemask=0) == (60, 0)


def test_ladder_rows_for_datagrams_and_icmp():
    from simtcp import scenarios
    from simtcp.segment import FourTuple
    from simtcp.viz.ladder_data import ladder_rows
    net = scenarios.udp_port_unreachable()
    rows = [r for r in ladder_rows(net) if r["type"] == "segment"]
    assert [r["base_kind"] for r in rows] == ["udp", "icmp", "udp", "udp"]
    probe, icmp = rows[0], rows[1]
    assert icmp["text"] == "port unreachable (3/3)" and icmp["sender"] == "server"
    assert icmp["tuple"] == probe["tuple"].reversed()       # the datagram it quotes
    only = [r["base_kind"] for r in ladder_rows(net, conn=probe["tuple"])
            if r["type"] == "segment"]
    assert only == ["udp", "icmp"]                          # the error belongs to that flow
    dns = [r["text"] for r in ladder_rows(scenarios.dns_truncation())
           if r["type"] == "segment" and r["base_kind"] == "udp"]
    assert dns[0].endswith("DNS query") and dns[1].endswith("DNS response, TC")
