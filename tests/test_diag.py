"""simtcp.diag: the one socket enumeration behind ss, netstat, lsof and the demux figure."""
import simtcp
from simtcp.diag import SockDiag, sockets
from simtcp.states import State
from simtcp.viz.demux import demux_rows


def _busy_server():
    net = simtcp.Network(seed=11)
    server = net.add_host("server", "192.168.1.20")
    clients = [net.add_host(f"c{i}", f"192.168.1.{30 + i}") for i in range(3)]
    net.add_lan([server] + clients)
    srv = server.socket(process="nginx")
    srv.bind(("0.0.0.0", 80))
    srv.listen(8)
    socks = []
    for c in clients:
        s = c.socket()
        s.connect(("192.168.1.20", 80))
        socks.append(s)
    accepted = [srv.accept()[0] for _ in clients]
    socks[0].close()
    accepted[0].close()
    net.run(until=net.now + 0.05)
    return net, server


def test_every_view_reads_the_same_sockets():
    net, server = _busy_server()
    entries = sockets(server, ("tcp",))
    assert all(isinstance(e, SockDiag) for e in entries)
    key = [(e.state, e.local_ip, e.local_port, e.peer_ip, e.peer_port) for e in entries]
    ss_rows = [(r["state"], r["local_ip"], r["local_port"], r["peer_ip"], r["peer_port"])
               for r in server.ss("-tan")]
    ns_rows = [(r["state"], r["local_ip"], r["local_port"], r["peer_ip"], r["peer_port"])
               for r in server.netstat("-tan")]
    assert ss_rows == key == ns_rows
    held = [k for k, e in zip(key, entries) if e.pid is not None]
    assert set(held) == {(r["state"], r["local_ip"], r["local_port"], r["peer_ip"],
                          r["peer_port"]) for r in server.lsof("-nP", "-iTCP")}
    assert State.TIME_WAIT not in {s for s, *_ in held}       # no descriptor: not in lsof
    demux = demux_rows(server, 80)
    assert [(r["local"], r["remote"]) for r in demux] == [
        ((e.local_ip, e.local_port), ("*", "*") if e.listener else (e.peer_ip, e.peer_port))
        for e in sorted(entries, key=lambda e: (not e.listener, tuple(
            int(x) for x in e.peer_ip.split(".")), e.peer_port))]


def test_unknown_protocol_is_refused():
    net, server = _busy_server()
    import pytest
    with pytest.raises(ValueError, match="sctp"):
        sockets(server, ("sctp",))
