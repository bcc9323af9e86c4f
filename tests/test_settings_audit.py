"""Every setting simtcp accepts has its effect, or is refused as not modelled (issue 11).

The test enumerates every sysctl of every OS profile and every socket option simtcp takes;
each must appear below either with a check that changing it changes what the simulation does,
or as refused with NotModelledError / ENOPROTOOPT. A new setting without a row fails here.
"""
import errno

import re

import pytest
from scapy.layers.inet import IP, TCP

import simtcp
from simtcp.profiles import PROFILES, NotModelledError, Sysctl
from simtcp.reasons import SendCause, StateCause
from simtcp.segment import Flags
from simtcp.sockopts import SO_KEEPALIVE, TCP_KEEPCNT, TCP_KEEPIDLE, TCP_KEEPINTVL
from pairs import connect, read_as_it_arrives, two_hosts
from simtcp.socket import (IPPROTO_TCP, MODELLED_OPTIONS, SO_RCVBUF, SO_REUSEADDR, SO_REUSEPORT,
                           SO_LINGER, SO_SNDBUF, SOL_SOCKET, TCP_CONGESTION, TCP_CORK, TCP_INFO,
                           TCP_MAXSEG, TCP_NODELAY, TCP_QUICKACK, TCP_USER_TIMEOUT)

PEER = "10.0.0.9"


def client_to_peer(changes=(), os="linux", run=0.01):
    """A host (10.0.0.1) whose connect() goes to a raw peer that answers nothing."""
    net = simtcp.Network(seed=5)
    host = net.add_host("h", "10.0.0.1", os=os)
    peer = net.add_peer(PEER)
    net.add_link(host, peer, delay=0.001)
    for k, v in dict(changes).items():
        host.sysctl[k] = v
    s = host.socket()
    s.setblocking(False)
    s.connect_ex((PEER, 80))
    net.run(until=run)
    return net, host, peer, s


def first_syn(changes=(), os="linux"):
    return client_to_peer(changes, os)[2].packets[0].segment


def syn_times(changes, os="linux"):
    net, host, peer, s = client_to_peer(changes, os, run=400)
    return [round(p.time, 3) for p in net.capture]


def server_with_peer(changes=(), backlog=8, os="linux"):
    net = simtcp.Network(seed=6)
    host = net.add_host("s", "10.0.0.2", os=os)
    peer = net.add_peer(PEER)
    net.add_link(peer, host, delay=0.001)
    for k, v in dict(changes).items():
        host.sysctl[k] = v
    lst = host.socket()
    lst.bind(("", 80))
    lst.listen(backlog)
    return net, host, peer, lst


def send(peer, sport, flags, seq, ack=0, payload=b"", dport=80, dst="10.0.0.2", options=()):
    p = IP(src=PEER, dst=dst) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack,
                                    options=list(options))
    peer.send(p / payload if payload else p)


def handshake(net, peer, sport, syn=True):
    if syn:
        send(peer, sport, "S", 1000)
        net.run(until=net.now + 0.01)
    isn = int([p for p in peer.packets if p.segment.dport == sport][-1].segment.seq)
    send(peer, sport, "A", 1001, isn + 1)
    net.run(until=net.now + 0.01)
    return isn


def port_of(changes, os="linux"):
    return client_to_peer(changes, os)[3].getsockname()[1]


def differs(fn, default, changed):
    a, b = fn(default), fn(changed)
    assert a != b, (a, b)
    return a, b


# --------------------------------------------------------------------------- effects
def eff_port_range():
    assert 40000 <= port_of({"net.ipv4.ip_local_port_range": "40000 40009"}) <= 40009


def eff_reserved():
    rng = {"net.ipv4.ip_local_port_range": "40000 40001"}
    assert port_of(rng) == 40000
    assert port_of({**rng, "net.ipv4.ip_local_reserved_ports": "40000"}) == 40001


def eff_unprivileged(os="linux"):
    net = simtcp.Network(seed=1)
    h = net.add_host("h", "10.0.0.1", os=os)
    with pytest.raises(PermissionError):
        h.socket(user="alice").bind(("", 900))      # privileged by default
    key = "net.ipv4.ip_unprivileged_port_start" if os != "freebsd" else \
        "net.inet.ip.portrange.reservedhigh"
    h.sysctl[key] = 0
    h.socket(user="alice").bind(("", 900))


def eff_tw_reuse():
    def reuse(mode):
        net = simtcp.Network(seed=4, wire="fast")
        c, s = net.add_host("c", "10.0.0.1"), net.add_host("s", "10.0.0.2")
        net.add_link(c, s, delay=0.001)
        srv = s.socket()
        srv.bind(("", 80))
        srv.listen(5)
        c.sysctl["net.ipv4.ip_local_port_range"] = "40000 40000"
        c.sysctl["net.ipv4.tcp_tw_reuse"] = mode
        first = c.socket()
        first.connect(("10.0.0.2", 80))
        first.close()
        srv.accept()[0].close()
        net.run(until=net.now + 2)
        return c.socket().connect_ex(("10.0.0.2", 80))
    assert differs(reuse, 0, 1) == (errno.EADDRNOTAVAIL, 0)


def eff_syncookies():
    def cookies(mode):
        net, host, peer, _ = server_with_peer({"net.ipv4.tcp_syncookies": mode})
        send(peer, 1234, "S", 1000)
        net.run(until=0.01)
        return host.counters["SyncookiesSent"]
    differs(cookies, 1, 2)


def eff_syn_retries():
    assert len(differs(syn_times, {"net.ipv4.tcp_syn_retries": 6},
                       {"net.ipv4.tcp_syn_retries": 2})[1]) == 3 + 3   # 2 + 4 linear, capped


def eff_syn_linear():
    a, b = differs(syn_times, {}, {"net.ipv4.tcp_syn_linear_timeouts": 0})
    assert b[:4] == [0.0, 1.0, 3.0, 7.0]


def eff_synack_retries():
    def synacks(n):
        net, host, peer, _ = server_with_peer({"net.ipv4.tcp_synack_retries": n})
        send(peer, 1234, "S", 1000)
        net.run(until=200)
        return len(peer.packets)
    differs(synacks, 5, 1)


def eff_max_syn_backlog():
    def accepted(maxb):
        net, host, peer, _ = server_with_peer({"net.ipv4.tcp_syncookies": 0,
                                               "net.ipv4.tcp_max_syn_backlog": maxb}, backlog=100)
        for sport in range(2000, 2006):
            send(peer, sport, "S", 1000)
        net.run(until=0.01)
        return len(peer.packets)
    assert differs(accepted, 2048, 4) == (6, 4)


def eff_somaxconn():
    def backlog(cap):
        return server_with_peer({"net.core.somaxconn": cap}, backlog=1000)[3].listener.backlog
    assert differs(backlog, 4096, 16) == (1000, 16)


def eff_rmem_max():
    def rcvbuf(limit):
        net, host, peer, s = client_to_peer({"net.core.rmem_max": limit})
        t = host.socket()
        t.setsockopt(SOL_SOCKET, SO_RCVBUF, 10**9)
        return t.getsockopt(SOL_SOCKET, SO_RCVBUF)
    assert differs(rcvbuf, 4194304, 10000) == (8388608, 20000)


def eff_wmem_max():
    def sndbuf(limit):
        net, host, peer, s = client_to_peer({"net.core.wmem_max": limit})
        t = host.socket()
        t.setsockopt(SOL_SOCKET, SO_SNDBUF, 10**9)
        return t.getsockopt(SOL_SOCKET, SO_SNDBUF)
    assert differs(sndbuf, 4194304, 10000) == (8388608, 20000)


def eff_abort_on_overflow():
    def answer(flag):
        net, host, peer, _ = server_with_peer({"net.ipv4.tcp_abort_on_overflow": flag}, backlog=1)
        for sport in (3001, 3002):
            send(peer, sport, "S", 1000)
        net.run(until=net.now + 0.01)
        handshake(net, peer, 3001, syn=False)
        send(peer, 3003, "S", 1000)
        net.run(until=net.now + 0.01)
        handshake(net, peer, 3002, syn=False)   # the accept queue (2 for listen(1)) is full
        handshake(net, peer, 3003, syn=False)
        return [p.segment.flags for p in peer.packets if p.segment.dport == 3003][-1]
    assert differs(answer, 0, 1)[1] == Flags.RST


def eff_fin_timeout():
    def lifetime(seconds):
        net, host, peer, lst = server_with_peer({"net.ipv4.tcp_fin_timeout": seconds})
        handshake(net, peer, 3001)
        conn, _ = lst.accept()
        conn.close()                        # FIN; the peer ACKs it and never closes
        net.run(until=net.now + 0.01)
        fin = [p for p in peer.packets if p.segment.flags & Flags.FIN][-1].segment
        send(peer, 3001, "A", 1001, int(fin.seq) + 1)
        net.run()
        return round(net.now)
    a, b = differs(lifetime, 60, 5)
    assert b < a


def eff_timestamps():
    assert first_syn().options.ts is not None
    assert first_syn({"net.ipv4.tcp_timestamps": 0}).options.ts is None
    # 2: timestamps without the per-connection random offset (TSval = the ms clock)
    assert first_syn({"net.ipv4.tcp_timestamps": 2}).options.ts[0] == 0
    assert first_syn().options.ts[0] != 0


def eff_sack():
    assert first_syn().options.sack_perm and not \
        first_syn({"net.ipv4.tcp_sack": 0}).options.sack_perm


def eff_window_scaling():
    assert first_syn().options.wscale == 10
    assert first_syn({"net.ipv4.tcp_window_scaling": 0}).options.wscale is None


def eff_retries2():
    def retransmissions(n):
        net = simtcp.Network(seed=7)
        c, s = net.add_host("c", "10.0.0.1"), net.add_host("s", "10.0.0.2")
        link = net.add_link(c, s, delay=0.001)
        c.sysctl["net.ipv4.tcp_retries2"] = n
        srv = s.socket()
        srv.bind(("", 80))
        srv.listen(1)
        cli = c.socket()
        cli.connect(("10.0.0.2", 80))
        link.loss = 1.0                         # the path dies
        cli.send(b"x" * 100)
        net.run(until=net.now + 2000)
        return cli.conn.state.value, cli.conn.retries
    a, b = differs(retransmissions, 15, 3)
    assert b[0] == "CLOSED" and b[1] < a[1]


def eff_rmem():
    syn = first_syn({"net.ipv4.tcp_rmem": "4096 32768 4194304"})
    assert (syn.options.wscale, syn.window) == (7, 16060)      # rmem[2] scale, rmem[1] window
    with pytest.raises(NotModelledError):
        Sysctl()["net.ipv4.tcp_rmem"] = "8192 131072 33554432"


def bulk_receiver(changes, read=True):
    """1 MB over a 10 Mbit/s, 20 ms link to a host with ``changes``; its application reads
    as data arrives (or never). Returns the receiving connection after 0.6 s."""
    net, a, b, _ = two_hosts(delay=0.02, bandwidth=10e6)
    for k, v in dict(changes).items():
        b.sysctl[k] = v
    cli, peer, _ = connect(a, b)
    if read:
        read_as_it_arrives(peer)
    else:
        peer.setblocking(False)
    cli.setblocking(False)
    cli.send(b"x" * 1_000_000)
    net.run(until=0.6)
    return peer.conn


def eff_moderate_rcvbuf():
    """DRS (tcp_rcv_space_adjust()) grows sk_rcvbuf as the application reads; off, it stays
    at tcp_rmem[1] (and getsockopt(SO_RCVBUF) says so)."""
    grown, fixed = differs(lambda v: bulk_receiver({"net.ipv4.tcp_moderate_rcvbuf": v})
                           .rb.rcvbuf, 1, 0)
    assert grown > 131072 and fixed == 131072


def eff_app_win():
    """tcp_init_buffer_space(): the window clamp keeps buffer/2^tcp_app_win back (31: only
    one segment), and rcv_ssthresh (TCP_INFO, ``ss -ti``) starts no higher."""
    def rcv_ssthresh(app_win):
        net, host, peer, lst = server_with_peer({"net.ipv4.tcp_app_win": app_win})
        # with window scaling: otherwise the clamp is 65535, below the buffer's 65536
        send(peer, 3001, "S", 1000, options=[("WScale", 7)])
        net.run(until=net.now + 0.01)
        handshake(net, peer, 3001, syn=False)
        return lst.accept()[0].tcp_info().rcv_ssthresh
    assert differs(rcv_ssthresh, 31, 1) == (65536 - 1460, 65536 // 2)


def eff_adv_win_scale():
    """Before Linux 6.6 tcp_win_from_space() is space - space/2^tcp_adv_win_scale: 2 offers
    3/4 of the buffer (the SYN's 65535 cap) where 1 offers half. Since 6.6 it is obsolete
    (ip-sysctl.rst): scaling_ratio replaced it, and setting it changes nothing."""
    assert differs(lambda v: first_syn({"net.ipv4.tcp_adv_win_scale": v}, "linux-5.15").window,
                   1, 2) == (64240, 65535)
    assert first_syn({"net.ipv4.tcp_adv_win_scale": 2}).window == first_syn().window == 64240


def eff_wmem():
    net, host, peer, s = client_to_peer({"net.ipv4.tcp_wmem": "4096 20000 65536"})
    assert host.socket().getsockopt(SOL_SOCKET, SO_SNDBUF) == 20000     # tcp_wmem[1]
    assert s.conn.cfg.sndbuf == 65536                                    # the autotuning cap
    with pytest.raises(NotModelledError):
        Sysctl()["net.ipv4.tcp_wmem"] = "8192 16384 4194304"


def eff_rfc1337():
    def after_rst(flag):
        net, host, peer, lst = server_with_peer({"net.ipv4.tcp_rfc1337": flag})
        handshake(net, peer, 3001)
        conn, _ = lst.accept()
        conn.close()
        net.run(until=net.now + 0.01)
        fin = [p for p in peer.packets if p.segment.flags & Flags.FIN][-1].segment
        send(peer, 3001, "FA", 1001, int(fin.seq) + 1)      # TIME-WAIT on the server
        net.run(until=net.now + 0.01)
        send(peer, 3001, "R", 1002)
        net.run(until=net.now + 0.01)
        return str(host.ss())
    a, b = differs(after_rst, 0, 1)
    assert "TIME-WAIT" in b and "TIME-WAIT" not in a


def eff_invalid_ratelimit():
    def replies(ms):
        net, host, peer, _ = server_with_peer({"net.ipv4.tcp_invalid_ratelimit": ms})
        handshake(net, peer, 3001)
        before = len(peer.packets)
        for _ in range(3):                       # pure ACKs far beyond the window
            send(peer, 3001, "A", 900000, 1)
            net.run(until=net.now + 0.01)
        return len(peer.packets) - before
    assert differs(replies, 500, 0) == (1, 3)


def eff_challenge_limit():
    def challenges(limit):
        net, host, peer, _ = server_with_peer({"net.ipv4.tcp_challenge_ack_limit": limit})
        for sport in (3001, 3002):
            handshake(net, peer, sport)
        before = len(peer.packets)
        for sport in (3001, 3002):
            send(peer, sport, "R", 5000)          # in window, not at RCV.NXT
        net.run(until=net.now + 0.01)
        return len(peer.packets) - before
    assert differs(challenges, 2147483647, 1) == (2, 1)


def eff_port_algorithm():
    def ports(alg):
        net = simtcp.Network(seed=8)
        h = net.add_host("h", "10.0.0.1")
        p = net.add_peer(PEER)
        net.add_link(h, p, delay=0.001)
        h.sysctl["simtcp.port_algorithm"] = alg
        out = []
        for _ in range(3):
            s = h.socket()
            s.setblocking(False)
            s.connect_ex((PEER, 80))
            out.append(s.getsockname()[1])
        return out
    a, b = differs(ports, "linux", "sequential")
    assert b[1] - b[0] == 1


def eff_time_wait():
    def lasts(seconds):
        net, c, s, _ = two_hosts(seed=9, delay=0.001, names=("c", "s"))
        c.sysctl["simtcp.time_wait_seconds"] = seconds
        cli, conn, _ = connect(c, s, backlog=1)
        cli.close()                             # the client closes first: its TIME-WAIT
        net.run(until=net.now + 0.1)
        conn.close()
        net.run()
        return round(net.now)
    differs(lasts, 60, 10)


def eff_mss():
    assert first_syn().options.mss == 1460
    assert first_syn({"simtcp.mss": 1000}).options.mss == 1000


def eff_netsh():
    net, host, peer, s = client_to_peer({"netsh.ipv4.dynamicport.tcp.num": 255,
                                         "netsh.ipv4.dynamicport.tcp.start": 50000}, os="windows")
    assert 50000 <= s.getsockname()[1] <= 50254


def eff_bsd_range(os):
    def port(changes):
        return client_to_peer(changes, os=os)[3].getsockname()[1]
    assert 20000 <= port({"net.inet.ip.portrange.first": 20000,
                          "net.inet.ip.portrange.last": 20009}) <= 20009


def eff_bsd_random(os, key, default):
    def ports(flag):
        net = simtcp.Network(seed=8)
        h = net.add_host("h", "10.0.0.1", os=os)
        p = net.add_peer(PEER)
        net.add_link(h, p, delay=0.001)
        h.sysctl[key] = flag
        out = []
        for _ in range(3):
            s = h.socket()
            s.setblocking(False)
            s.connect_ex((PEER, 80))
            out.append(s.getsockname()[1])
        return out
    differs(ports, default, 1 - default)


def eff_msl(os):
    s = Sysctl(os)
    s["net.inet.tcp.msl"] = 5000
    assert s["simtcp.time_wait_seconds"] == 10


def bulk_conn(changes):
    """A connection from a host with ``changes`` to a peer that ACKs nothing: what it sent."""
    net, host, peer, s = client_to_peer(changes)
    syn = peer.packets[0].segment
    send(peer, 80, "SA", 7000, int(syn.seq) + 1, dst="10.0.0.1", dport=syn.sport,
         options=[("MSS", 1460), ("SAckOK", b""), ("NOP", None), ("WScale", 7)])
    net.run(until=net.now + 0.01)
    return net, host, peer, s


def eff_congestion_control():
    names = {cc: bulk_conn({"net.ipv4.tcp_congestion_control": cc})[3].conn.cc.name
             for cc in ("cubic", "reno")}
    assert names == {"cubic": "cubic", "reno": "reno"}
    # and the algorithm changes what happens after a loss (tests/test_congestion.py)
    assert {n: bulk_conn({"net.ipv4.tcp_congestion_control": n})[3].conn.cc.ssthresh(
        20 * 1448, 1448) // 1448 for n in names} == {"cubic": 14, "reno": 10}


def eff_early_retrans():
    def probe_armed(mode):
        net, host, peer, s = bulk_conn({"net.ipv4.tcp_early_retrans": mode})
        s.conn.srtt = 0.02
        s.send(b"x" * 3000)
        return "tlp" in s.conn.timers
    assert differs(probe_armed, 3, 0) == (True, False)


def eff_recovery():
    """net.ipv4.tcp_recovery's bits, measured with the kernel-checked packetdrill scripts:
    0x4 (no DUPACK threshold) delays the retransmission three SACKs trigger at once, 0x2
    (static reordering window) makes a D-SACK not widen RACK's window."""
    from pathlib import Path
    from simtcp import packetdrill
    here = Path(__file__).resolve().parent / "packetdrill"

    def passes(name, value):
        text = (here / name).read_text()
        text = re.sub(r" ?net\.ipv4\.tcp_recovery=\d", "", text).replace(
            '6291456"`', f'6291456" net.ipv4.tcp_recovery={value}`', 1)
        return packetdrill.run(text).passed
    # sack-fast-retransmit: resent at once; sack-rack-no-dupthresh: resent 12.5 ms later
    assert differs(lambda v: passes("sack-fast-retransmit.pkt", v), 1, 5) == (True, False)
    assert differs(lambda v: passes("sack-rack-no-dupthresh.pkt", v), 1, 5) == (False, True)
    # the D-SACK widens the window (no second retransmission) unless it is static
    assert differs(lambda v: passes("sack-rack-dsack-widens-reo-wnd.pkt", v), 1, 3) == (
        True, False)
    assert differs(lambda v: passes("sack-rack-static-reo-wnd.pkt", v), 1, 3) == (False, True)
    for refused in (0, 2, 8):     # loss detection without RACK (RFC 6675 alone) is not modelled
        with pytest.raises(NotModelledError):
            Sysctl("linux")["net.ipv4.tcp_recovery"] = refused


def keepalive_run(sysctls=(), options=()):
    """A connection whose client sets SO_KEEPALIVE (and ``options``) on a host with
    ``sysctls``; the server goes silent at once. (times of the client's keepalive probes,
    the time of its RST, its errno) within 3 hours."""
    net, a, b, _ = two_hosts()
    for k, v in dict(sysctls).items():
        a.sysctl[k] = v
    c, _, _ = connect(a, b, backlog=1, client_options=[(SOL_SOCKET, SO_KEEPALIVE, 1)] + [
        (IPPROTO_TCP, option, value) for option, value in options])
    start = net.now
    b.sh("iptables -A INPUT -j DROP")
    net.run(until=start + 3 * 3600)
    sent = [r for r in net.trace if r.kind == "send" and r.host == "a"]
    probes = [round(r.time - start) for r in sent if r.reason is SendCause.KEEPALIVE_PROBE]
    resets = [round(r.time - start) for r in sent if r.reason is StateCause.KEEPALIVE_TIMED_OUT]
    return probes, resets, c.conn.error


def eff_keepalive_time():
    # 7200 s idle, then 9 probes 75 s apart, then the reset (RFC 1122 §4.2.3.6)
    probes, resets, err = keepalive_run()
    assert probes == [7200 + 75 * i for i in range(9)] and resets == [7200 + 75 * 9]
    assert err == errno.ETIMEDOUT
    assert keepalive_run({"net.ipv4.tcp_keepalive_time": 60})[0][0] == 60


def eff_keepalive_intvl():
    probes = keepalive_run({"net.ipv4.tcp_keepalive_intvl": 10})[0]
    assert probes[:3] == [7200, 7210, 7220]


def eff_keepalive_probes():
    probes, resets, _ = keepalive_run({"net.ipv4.tcp_keepalive_probes": 2})
    assert probes == [7200, 7275] and resets == [7350]


def eff_slow_start_after_idle():
    def after_idle(flag):
        net, host, peer, s = bulk_conn({"net.ipv4.tcp_slow_start_after_idle": flag})
        s.conn.cwnd = 40 * s.conn.eff_mss
        net.run(until=net.now + 30)
        s.send(b"x")
        return s.conn.cwnd // s.conn.eff_mss
    assert differs(after_idle, 1, 0) == (10, 40)


def hystart_exit(**params):
    """A bulk transfer on a 10 Mbit/s link with a 20 ms delay (and a 1000-packet queue):
    (segments of cwnd, how) when CUBIC's HyStart ended slow start within 0.45 s, or None."""
    net, a, b, _ = two_hosts(delay=0.02, bandwidth=10e6)
    for k, v in params.items():
        a.sysctl[f"tcp_cubic.{k}"] = v
    b.sysctl["net.ipv4.tcp_rmem"] = "4096 4194304 33554432"   # a receiver that never limits
    cli, _, _ = connect(a, b)
    cli.setblocking(False)
    cli.send(b"x" * 1_000_000)
    net.run(until=0.45)
    found = cli.conn.cc.hystart_exit
    return found and found[1:]


def eff_config_field(key, value, field, expected):
    """The sysctl reaches the connection's configuration; the behaviour it drives is tested
    in tests/test_hardening_wire.py (tcp_min_snd_mss clamping, orphan probing)."""
    net = simtcp.Network(seed=1)
    h = net.add_host("h", "10.0.0.1")
    before = getattr(h.stack.config(), field)
    h.sysctl[key] = value
    assert getattr(h.stack.config(), field) == expected != before

# netfilter connection tracking (simtcp.conntrack, sans-IO): each timeout is how long an
# entry in that state lives; the table is driven through the packets that reach the state
_CT_PATHS = {   # state -> (direction, flags) steps from nothing (1 = original, 0 = reply)
    "syn_sent": [(1, 0x02)], "syn_recv": [(1, 0x02), (0, 0x12)],
    "established": [(1, 0x02), (0, 0x12), (1, 0x10)],
    "fin_wait": [(1, 0x02), (0, 0x12), (1, 0x10), (1, 0x11)],
    "close_wait": [(1, 0x02), (0, 0x12), (1, 0x10), (1, 0x11), (0, 0x10)],
    "last_ack": [(1, 0x02), (0, 0x12), (1, 0x10), (1, 0x11), (0, 0x10), (0, 0x11)],
    "time_wait": [(1, 0x02), (0, 0x12), (1, 0x10), (1, 0x11), (0, 0x10), (0, 0x11), (1, 0x10)],
    "close": [(1, 0x02), (0, 0x12), (1, 0x10), (1, 0x04)],
}


def eff_conntrack(key):
    from simtcp.conntrack import CONNTRACK_SYSCTLS, ConntrackTable, CtTuple
    tcp = CtTuple(6, "192.168.0.10", 40000, "198.51.100.7", 80)
    udp = CtTuple(17, "192.168.0.10", 40000, "198.51.100.7", 53)
    name = key.rsplit(".", 1)[1]

    def lifetime(value):
        ct = ConntrackTable({key: value})
        if name.startswith("nf_conntrack_tcp_timeout_"):
            conn = None
            for k, (orig, flags) in enumerate(_CT_PATHS[name[len("nf_conntrack_tcp_timeout_"):]]):
                conn = ct.track(tcp if orig else tcp.inverse(), flags, k * 0.01)[0] or conn
                if k == 0:
                    ct.confirm(conn, 0.0)
            return round(conn.deadline - (k * 0.01), 6)
        if name == "nf_conntrack_udp_timeout":
            conn = ct.track(udp, 0, 0.0)[0]
            return conn.deadline
        if name == "nf_conntrack_udp_timeout_stream":
            conn = ct.track(udp, 0, 0.0)[0]
            ct.confirm(conn, 0.0)
            ct.track(udp.inverse(), 0, 0.1)
            return ct.track(udp, 0, 3.0)[0].deadline - 3.0      # a stream after 2 s
        if name == "nf_conntrack_icmp_timeout":
            echo = CtTuple(1, "192.168.0.10", 8 << 8, "198.51.100.7", 8 << 8)
            return ct.track(echo, 0, 0.0)[0].deadline
        if name == "nf_conntrack_max":
            for port in range(3):
                c = ct.track(tcp._replace(sport=41000 + port), 0x02, 0.0)[0]
                if c is not None:
                    ct.confirm(c, 0.0)
            return len(ct)
        if name == "nf_conntrack_tcp_loose":
            return ct.track(tcp, 0x10, 0.0)[0] is not None         # mid-stream pickup
        raise AssertionError(f"no check for {key}")
    default = CONNTRACK_SYSCTLS[key]
    changed = {"nf_conntrack_max": 2, "nf_conntrack_tcp_loose": 0}.get(name, 777)
    differs(lifetime, default, changed)



def icmp_unreachables(changes, n=40):
    """UDP datagrams to n closed ports of a host with ``changes``: ICMP errors it sent."""
    net = simtcp.Network(seed=9)
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.001)
    for k, v in dict(changes).items():
        b.sysctl[k] = v
    s = a.socket(2, 2)
    for i in range(n):
        s.sendto(b"x", ("10.0.0.2", 3000 + i))
    net.run()
    return b.counters["Icmp:OutDestUnreachs"]


def eff_icmp(key, default_changes, changed):
    """net.ipv4.icmp_*: the per-destination and global ICMP error limits (net/ipv4/icmp.c)."""
    base = dict(default_changes)
    a = icmp_unreachables(base)
    b = icmp_unreachables({**base, key: changed})
    assert a != b, (key, a, b)

EFFECTS = {
    "net.ipv4.icmp_ratelimit": lambda: eff_icmp("net.ipv4.icmp_ratelimit", {}, 0),
    "net.ipv4.icmp_ratemask": lambda: eff_icmp("net.ipv4.icmp_ratemask", {}, 0),
    "net.ipv4.icmp_msgs_burst": lambda: eff_icmp(
        "net.ipv4.icmp_msgs_burst", {"net.ipv4.icmp_ratelimit": 0}, 10),
    "net.ipv4.icmp_msgs_per_sec": lambda: eff_icmp(
        "net.ipv4.icmp_msgs_per_sec", {"net.ipv4.icmp_ratelimit": 0,
                                       "net.ipv4.icmp_msgs_burst": 5}, 0),
    "net.ipv4.tcp_congestion_control": eff_congestion_control,
    "net.ipv4.tcp_early_retrans": eff_early_retrans,
    # the queue builds up: HyStart's delay test fires at 96 segments (BDP: 34)
    "tcp_cubic.hystart": lambda: differs(lambda v: hystart_exit(hystart=v), 1, 0),
    # the receiver's window grows, so it ACKs every 1.2 ms segment at once (Linux
    # tcp_grow_window(): quick |= 1): the ACK train fires first at 3 (both), the delay
    # test alone (2) later
    "tcp_cubic.hystart_detect": lambda: differs(lambda v: hystart_exit(hystart_detect=v), 3, 2),
    # ... unless only ACKs up to 1 ms apart count as a train: then it never fires
    "tcp_cubic.hystart_ack_delta_us": lambda: differs(
        lambda v: hystart_exit(hystart_detect=1, hystart_ack_delta_us=v), 2000, 1000),
    "tcp_cubic.hystart_low_window": lambda: differs(
        lambda v: hystart_exit(hystart_low_window=v), 16, 200),
    "net.ipv4.tcp_slow_start_after_idle": eff_slow_start_after_idle,
    "net.ipv4.tcp_recovery": eff_recovery,
    "net.ipv4.tcp_keepalive_time": eff_keepalive_time,
    "net.ipv4.tcp_keepalive_intvl": eff_keepalive_intvl,
    "net.ipv4.tcp_keepalive_probes": eff_keepalive_probes,
    "net.ipv4.tcp_min_snd_mss": lambda: eff_config_field("net.ipv4.tcp_min_snd_mss", 100,
                                                         "min_snd_mss", 100),
    "net.ipv4.tcp_orphan_retries": lambda: eff_config_field("net.ipv4.tcp_orphan_retries", 3,
                                                            "orphan_retries", 3),
    "net.ipv4.ip_local_port_range": eff_port_range,
    "net.ipv4.ip_local_reserved_ports": eff_reserved,
    "net.ipv4.ip_unprivileged_port_start": eff_unprivileged,
    "net.ipv4.tcp_tw_reuse": eff_tw_reuse,
    "net.ipv4.tcp_syncookies": eff_syncookies,
    "net.ipv4.tcp_syn_retries": eff_syn_retries,
    "net.ipv4.tcp_syn_linear_timeouts": eff_syn_linear,
    "net.ipv4.tcp_synack_retries": eff_synack_retries,
    "net.ipv4.tcp_max_syn_backlog": eff_max_syn_backlog,
    "net.core.somaxconn": eff_somaxconn,
    "net.core.rmem_max": eff_rmem_max,
    "net.core.wmem_max": eff_wmem_max,
    "net.ipv4.tcp_abort_on_overflow": eff_abort_on_overflow,
    "net.ipv4.tcp_fin_timeout": eff_fin_timeout,
    "net.ipv4.tcp_timestamps": eff_timestamps,
    "net.ipv4.tcp_sack": eff_sack,
    "net.ipv4.tcp_window_scaling": eff_window_scaling,
    "net.ipv4.tcp_retries2": eff_retries2,
    "net.ipv4.tcp_rmem": eff_rmem,
    "net.ipv4.tcp_wmem": eff_wmem,
    "net.ipv4.tcp_moderate_rcvbuf": eff_moderate_rcvbuf,
    "net.ipv4.tcp_app_win": eff_app_win,
    "net.ipv4.tcp_adv_win_scale": eff_adv_win_scale,
    "net.ipv4.tcp_rfc1337": eff_rfc1337,
    "net.ipv4.tcp_invalid_ratelimit": eff_invalid_ratelimit,
    "net.ipv4.tcp_challenge_ack_limit": eff_challenge_limit,
    "simtcp.port_algorithm": eff_port_algorithm,
    "simtcp.time_wait_seconds": eff_time_wait,
    "simtcp.mss": eff_mss,
    "netsh.ipv4.dynamicport.tcp.start": eff_netsh,
    "netsh.ipv4.dynamicport.tcp.num": eff_netsh,
    "net.inet.ip.portrange.first": lambda: eff_bsd_range("macos"),
    "net.inet.ip.portrange.last": lambda: eff_bsd_range("freebsd"),
    "net.inet.tcp.randomize_ports": lambda: eff_bsd_random("macos", "net.inet.tcp.randomize_ports", 0),
    "net.inet.ip.portrange.randomized": lambda: eff_bsd_random(
        "freebsd", "net.inet.ip.portrange.randomized", 1),
    "net.inet.ip.portrange.reservedhigh": lambda: eff_unprivileged("freebsd"),
    "net.inet.tcp.msl": lambda: (eff_msl("macos"), eff_msl("freebsd")),
}
REFUSED = {   # name -> a profile that has it
    "net.inet.ip.portrange.hifirst": "macos",
    "net.inet.ip.portrange.hilast": "freebsd",
    "net.inet.ip.portrange.lowfirst": "macos",
    "net.inet.ip.portrange.lowlast": "freebsd",
}


def _with_conntrack():
    from simtcp.conntrack import CONNTRACK_SYSCTLS
    for key in CONNTRACK_SYSCTLS:
        EFFECTS[key] = (lambda k: lambda: eff_conntrack(k))(key)


_with_conntrack()


def all_sysctl_names():
    return set().union(*(set(Sysctl(os)) for os in PROFILES))


def test_every_accepted_sysctl_has_an_effect_or_is_refused():
    names = all_sysctl_names()
    assert names == set(EFFECTS) | set(REFUSED), (names ^ (set(EFFECTS) | set(REFUSED)))
    assert not set(EFFECTS) & set(REFUSED)


@pytest.mark.parametrize("name", sorted(EFFECTS))
def test_sysctl_has_its_effect(name):
    EFFECTS[name]()


@pytest.mark.parametrize("name", sorted(REFUSED))
def test_sysctl_not_modelled_is_refused(name):
    s = Sysctl(REFUSED[name])
    value = s[name]
    s[name] = value                            # writing the value it has changes nothing
    with pytest.raises(NotModelledError, match="not modelled"):
        s[name] = value - 1
    assert s[name] == value


# --------------------------------------------------------------------------- socket options
def opt_nodelay():
    net = simtcp.Network(seed=1)
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.01)
    srv = b.socket()
    srv.bind(("", 80))
    srv.listen(1)

    def small_writes(nodelay):
        cli = a.socket()
        cli.setsockopt(IPPROTO_TCP, TCP_NODELAY, nodelay)
        cli.connect(("10.0.0.2", 80))
        srv.accept()
        start = len(net.capture)
        for _ in range(3):
            cli.send(b"x" * 10)
        net.run(until=net.now + 0.001)
        return sum(1 for p in net.capture[start:] if p.packet.segment.payload)
    assert (small_writes(0), small_writes(1)) == (1, 3)        # Nagle holds the 2nd and 3rd


def _connected():
    """A network with a client connected to b:80 over a 10 ms link: (net, client socket)."""
    net, a, b, _ = two_hosts()
    return net, connect(a, b, backlog=1)[0]


def opt_cork():
    net, cli = _connected()
    cli.setsockopt(IPPROTO_TCP, TCP_CORK, 1)
    start = len(net.capture)
    cli.send(b"x" * 10)
    net.run(until=net.now + 0.05)
    assert not any(p.packet.segment.payload for p in net.capture[start:])    # held
    cli.setsockopt(IPPROTO_TCP, TCP_CORK, 0)                                  # uncork: sent
    net.run(until=net.now + 0.001)
    assert [len(p.packet.segment.payload) for p in net.capture[start:]] == [10]


def opt_linger():
    """SO_LINGER 0: close() aborts with RST; SO_LINGER 5: close() returns once the FIN is
    acknowledged (a 10 ms link: 20 ms later), not at once (Linux tcp_close())."""
    import struct
    for linger in (0, 5):
        net, cli = _connected()
        net.run()
        cli.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, linger))
        assert cli.getsockopt(SOL_SOCKET, SO_LINGER, 8) == struct.pack("ii", 1, linger)
        start, t0 = len(net.capture), net.now
        cli.close()
        first = net.capture[start].packet.segment
        if linger == 0:
            assert first.flags == Flags.RST | Flags.ACK and net.now == t0
        else:
            assert first.flags & Flags.FIN and abs(net.now - t0 - 0.02) < 1e-9


def opt_quickack():
    """TCP_QUICKACK 0: interactive mode from the start — the first data waits for the
    delayed-ACK timer (40 ms) instead of a quick ACK; reads back 0 (Linux
    __tcp_sock_set_quickack(), do_tcp_getsockopt())."""
    delays = {}
    for on in (1, 0):
        net, a, b, _ = two_hosts()
        cli, conn, _ = connect(a, b, backlog=1, server_options=[(IPPROTO_TCP, TCP_QUICKACK, on)])
        assert conn.getsockopt(IPPROTO_TCP, TCP_QUICKACK) == on
        net.run()
        start, t0 = len(net.capture), net.now
        cli.send(b"x" * 10)
        net.run()
        acks = [p.time for p in net.capture[start:] if p.packet.src == "10.0.0.2"]
        delays[on] = round(acks[0] - t0, 6)
    assert delays == {1: 0.01, 0: 0.05}    # sent on arrival (10 ms) or 40 ms later


def opt_reuseaddr():
    net = simtcp.Network(seed=1)
    h = net.add_host("h", "10.0.0.1")
    first = h.socket()
    first.bind(("", 8080))
    with pytest.raises(OSError):
        h.socket().bind(("", 8080))
    for s in (first, second := h.socket()):
        s.setsockopt(SOL_SOCKET, SO_REUSEADDR, 1)
    second.bind(("", 8080))


def opt_reuseport():
    net = simtcp.Network(seed=1)
    h = net.add_host("h", "10.0.0.1")
    socks = [h.socket(), h.socket()]
    for s in socks:
        s.setsockopt(SOL_SOCKET, SO_REUSEPORT, 1)
        s.bind(("", 8080))
        s.listen(1)


def opt_user_timeout():
    """Reaches the connection (and its children); the give-up it causes is tested in
    tests/test_hardening_wire.py::test_tcp_user_timeout_bounds_zero_window_probing."""
    net, a, b, _ = two_hosts()
    _, conn, _ = connect(a, b, backlog=1, server_options=[(IPPROTO_TCP, TCP_USER_TIMEOUT, 5000)])
    assert conn.conn.cfg.user_timeout == 5.0                   # inherited from the listener


def opt_maxseg():
    net, host, peer, s = client_to_peer()
    t = host.socket()
    t.setsockopt(IPPROTO_TCP, TCP_MAXSEG, 600)
    t.setblocking(False)
    t.connect_ex((PEER, 81))
    net.run(until=net.now + 0.01)
    assert [p.segment.options.mss for p in peer.packets if p.segment.dport == 81] == [600]


def opt_congestion():
    net, host, peer, s = bulk_conn({})
    s.setsockopt(IPPROTO_TCP, TCP_CONGESTION, b"reno")
    assert s.conn.cc.name == "reno"


def opt_keepalive():
    # on: probes after tcp_keepalive_time; set on a live connection it arms the timer then
    assert keepalive_run()[0][0] == 7200
    net, host, peer, s = bulk_conn({})
    s.conn.sndq.clear()
    s.conn.snd_nxt = s.conn.snd_una
    assert "keepalive" not in s.conn.timers and s.getsockopt(SOL_SOCKET, SO_KEEPALIVE) == 0
    s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1)
    assert s.conn.timers["keepalive"] == pytest.approx(net.now + 7200)
    s.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 0)
    assert "keepalive" not in s.conn.timers


def opt_keepidle():
    assert keepalive_run(options=[(TCP_KEEPIDLE, 30)])[0][:2] == [30, 105]
    net, host, peer, s = bulk_conn({})
    assert s.getsockopt(IPPROTO_TCP, TCP_KEEPIDLE) == 7200          # the sysctl's
    for bad in (0, 32768):
        with pytest.raises(OSError) as e:
            s.setsockopt(IPPROTO_TCP, TCP_KEEPIDLE, bad)
        assert e.value.errno == errno.EINVAL


def opt_keepintvl():
    assert keepalive_run(options=[(TCP_KEEPINTVL, 5)])[0][:3] == [7200, 7205, 7210]


def opt_keepcnt():
    probes, resets, _ = keepalive_run(options=[(TCP_KEEPCNT, 1)])
    assert probes == [7200] and resets == [7275]
    with pytest.raises(OSError):
        bulk_conn({})[3].setsockopt(IPPROTO_TCP, TCP_KEEPCNT, 128)     # MAX_TCP_KEEPCNT 127


def opt_info():
    net, host, peer, s = bulk_conn({})
    assert s.getsockopt(IPPROTO_TCP, TCP_INFO, 104)[0] == 1          # tcpi_state ESTABLISHED
    with pytest.raises(OSError) as e:
        s.setsockopt(IPPROTO_TCP, TCP_INFO, 1)                         # read-only
    assert e.value.errno == errno.ENOPROTOOPT


OPTION_EFFECTS = {
    "TCP_MAXSEG": opt_maxseg,
    "TCP_CONGESTION": opt_congestion,
    "TCP_INFO": opt_info,
    "TCP_USER_TIMEOUT": opt_user_timeout,
    "SO_REUSEADDR": opt_reuseaddr,
    "SO_REUSEPORT": opt_reuseport,
    "SO_RCVBUF": eff_rmem_max,
    "SO_SNDBUF": eff_wmem_max,
    "TCP_NODELAY": opt_nodelay,
    "TCP_CORK": opt_cork,
    "SO_LINGER": opt_linger,
    "TCP_QUICKACK": opt_quickack,
    "SO_KEEPALIVE": opt_keepalive,
    "TCP_KEEPIDLE": opt_keepidle,
    "TCP_KEEPINTVL": opt_keepintvl,
    "TCP_KEEPCNT": opt_keepcnt,
}


def test_every_modelled_socket_option_has_an_effect():
    assert set(MODELLED_OPTIONS) == set(OPTION_EFFECTS)


@pytest.mark.parametrize("name", sorted(OPTION_EFFECTS))
def test_socket_option_has_its_effect(name):
    OPTION_EFFECTS[name]()


def test_other_socket_options_are_refused_as_not_modelled():
    net = simtcp.Network(seed=1)
    s = net.add_host("h", "10.0.0.1").socket()
    for level, option in ((SOL_SOCKET, 10), (IPPROTO_TCP, 99), (0, 1)):    # SO_OOBINLINE …
        with pytest.raises(OSError) as e:
            s.setsockopt(level, option, 1)
        assert e.value.errno == errno.ENOPROTOOPT and "not modelled" in str(e.value)
        with pytest.raises(OSError) as e:
            s.getsockopt(level, option)
        assert e.value.errno == errno.ENOPROTOOPT
