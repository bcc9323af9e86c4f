"""The network layer: interfaces, routing tables, routers (TTL, ICMP errors), hook points,
ICMP errors into TCP, packet ids across hops, per-interface captures."""
from __future__ import annotations

import errno

import pytest

import simtcp
from simtcp import wire
from simtcp.hooks import ACCEPT, Drop, HookPoint, Replace, Reply
from simtcp.packet import Datagram, IcmpMessage, Packet
from simtcp.reasons import DropReason, SendCause
from simtcp.segment import Segment


def two_sites(seed=1):
    net = simtcp.Network(seed=seed)
    return net, net.two_sites()


def listen(host, port=80):
    s = host.socket()
    s.bind(("0.0.0.0", port))
    s.listen(8)
    return s


def sends(net, **kw):
    return [r for r in net.trace if r.kind == "send"
            and all(getattr(r, k) == v for k, v in kw.items())]


# ------------------------------------------------------------------ interfaces and routes

def test_interfaces_addresses_and_connected_routes():
    net, t = two_sites()
    assert list(t.ra.interfaces) == ["eth0", "eth1"]
    assert t.ra.interfaces["eth0"].addrs[0].with_prefixlen == "192.168.1.1/24"
    assert t.ra.interfaces["eth1"].ip == "198.51.100.1"
    assert t.alice.ip_route() == (
        "default via 192.168.1.1 dev eth0\n"
        "192.168.1.0/24 dev eth0 proto kernel scope link src 192.168.1.10")
    assert "inet 198.51.100.1/30 brd 198.51.100.3 scope global eth1" in t.ra.ip_addr()


def test_address_goes_to_the_interface_whose_link_reaches_its_subnet():
    net = simtcp.Network()
    r = net.add_router("r", "10.0.0.1/24", "172.16.0.1/24")
    web = net.add_host("web", "172.16.0.80/24", gateway="172.16.0.1")
    net.add_link(r, web)                      # the first link reaches 172.16.0.0/24
    assert r.interfaces["eth0"].ip == "172.16.0.1"


def test_longest_prefix_then_metric_and_ip_route_commands():
    net, t = two_sites()
    isp1 = t.isp1
    assert isp1.routes.lookup("192.168.2.7").via == "198.51.100.6"
    assert isp1.routes.lookup("10.0.0.1") is None
    isp1.ip_route("add", "192.168.2.128/25", "via", "198.51.100.1")
    assert isp1.routes.lookup("192.168.2.200").via == "198.51.100.1"   # /25 beats /24
    assert isp1.routes.lookup("192.168.2.7").via == "198.51.100.6"
    isp1.ip_route("add", "default", "via", "198.51.100.6", "metric", "100")
    isp1.ip_route("add", "default", "via", "198.51.100.1", "metric", "50")
    assert isp1.routes.lookup("10.0.0.1").via == "198.51.100.1"      # lower metric wins
    assert isp1.ip_route().splitlines()[0] == "default via 198.51.100.1 dev eth0 metric 50"
    isp1.ip_route("del", "192.168.2.128/25")
    assert isp1.routes.lookup("192.168.2.200").via == "198.51.100.6"
    with pytest.raises(OSError, match="invalid gateway") as e:
        isp1.ip_route("add", "10.0.0.0/8", "via", "203.0.113.9")
    assert e.value.errno == errno.ENETUNREACH
    with pytest.raises(OSError) as e:
        isp1.ip_route("del", "10.0.0.0/8")
    assert e.value.errno == errno.ESRCH
    with pytest.raises(ValueError, match="host bits"):
        isp1.routes.add("10.0.0.1/8", via="198.51.100.1")
    with pytest.raises(ValueError, match="unknown or not modelled"):
        isp1.ip_route("flush")


def test_source_address_comes_from_the_route():
    net = simtcp.Network()
    h = net.add_host("h", ["192.168.1.10/24", "10.9.0.10/24"], gateway="192.168.1.1")
    r1 = net.add_router("r1", "192.168.1.1/24", "203.0.113.1/24")
    r2 = net.add_router("r2", "10.9.0.1/24")
    net.add_lan([h, r1], name="a")
    net.add_lan([h, r2], name="b")
    assert (h.source_for("10.9.0.1"), h.source_for("8.8.8.8")) == ("10.9.0.10",
                                                                  "192.168.1.10")
    srv = net.add_host("srv", "203.0.113.80/24", gateway="203.0.113.1")
    net.add_link(r1, srv)
    listen(srv)
    c = h.socket()
    c.connect(("203.0.113.80", 80))
    assert c.getsockname()[0] == "192.168.1.10"


def test_legacy_addresses_keep_working_next_to_routers():
    net = simtcp.Network(seed=3)
    a = net.add_host("a", "10.0.0.1")
    b = net.add_host("b", "10.0.0.2")
    net.add_link(a, b)
    listen(b)
    c = a.socket()
    c.connect(("10.0.0.2", 80))
    assert c.getsockname()[0] == "10.0.0.1" and a.legacy and a.routes.routes() == []


def test_no_route_on_the_client_fails_at_once_without_a_packet():
    net = simtcp.Network()
    h = net.add_host("h", "192.168.1.10/24")
    r = net.add_router("r", "192.168.1.1/24")
    net.add_lan([h, r])
    c = h.socket()
    with pytest.raises(OSError) as e:
        c.connect(("8.8.8.8", 53))
    assert e.value.errno == errno.ENETUNREACH and net.now == 0.0
    assert sends(net) == []


# -------------------------------------------------------------------------- forwarding

def test_forwarding_decrements_ttl_and_every_hop_is_a_new_copy_with_a_parent():
    net, t = two_sites()
    listen(t.bob)
    c = t.alice.socket()
    c.connect(("192.168.2.10", 80))
    syn_hops = [r for r in sends(net) if r.packet.segment is not None
                and r.packet.segment.flags == simtcp.Flags.SYN]
    assert [r.host for r in syn_hops] == ["alice", "ra", "isp1", "isp2", "rb"]
    assert [r.packet.ttl for r in syn_hops] == [64, 63, 62, 61, 60]
    for prev, nxt in zip(syn_hops, syn_hops[1:]):
        assert nxt.parent == prev.pkt_id and nxt.reason is SendCause.FORWARDED
    ids = [r.pkt_id for r in sends(net)]
    assert len(ids) == len(set(ids))


def test_bytes_mode_forwards_with_an_incremental_checksum_equal_to_a_fresh_build():
    for wmode in ("bytes", "fast"):
        net = simtcp.Network(seed=2, wire=wmode)
        t = net.two_sites()
        listen(t.bob)
        t.alice.socket().connect(("192.168.2.10", 80))
        for cp in net.capture:
            assert cp.bytes == wire.encode(cp.packet)      # the IP checksum is right
    from simtcp.node import decrement_ttl
    for ttl in range(1, 256):
        for ident in (0, 0x1234, 0xFFFF, 0xFEFF):
            p = Packet("10.0.0.1", "10.0.0.2", Datagram(1, 2), ttl=ttl, ident=ident)
            assert decrement_ttl(wire.encode(p)) == wire.encode(p.with_ttl(ttl - 1))


def test_ttl_exceeded_quotes_the_header_as_received():
    net, t = two_sites()
    probe = Packet("192.168.1.10", "192.168.2.10", Datagram(40000, 33434, b"x" * 32), ttl=2,
                   ident=7)
    t.alice.transmit(probe)
    net.run()
    err = [r for r in net.trace if r.kind == "deliver" and r.host == "alice"
           and r.packet is not None and r.packet.proto == 1]
    assert len(err) == 1
    p = err[0].packet
    m = p.icmp
    assert (p.src, m.type, m.code, p.df, p.tos, p.ttl) == ("198.51.100.2", 11, 0, False,
                                                           0xC0, 63)
    q = m.quoted()
    assert (q.src, q.dst, q.proto, q.sport, q.dport, q.ttl) == (
        "192.168.1.10", "192.168.2.10", 17, 40000, 33434, 1)
    assert m.quote == wire.encode(probe.with_ttl(1))     # the whole datagram (< 548 bytes)
    assert net.drops == {DropReason.TTL_EXCEEDED: 1}
    assert t.isp1.counters["Icmp:OutTimeExcds"] == 1


def test_no_route_at_a_router_is_net_unreachable_and_aborts_connect():
    net, t = two_sites()
    c = t.alice.socket()
    with pytest.raises(OSError) as e:
        c.connect(("10.1.2.3", 80))
    assert e.value.errno == errno.ENETUNREACH
    assert net.now == pytest.approx(2 * 0.011)          # one round trip to isp1
    icmp = [r.packet for r in sends(net, host="isp1")]
    assert icmp[0].icmp[:2] == (3, 0)
    assert t.alice.counters["AttemptFails"] == 1


def test_nobody_answering_arp_is_host_unreachable_after_three_seconds():
    net, t = two_sites()
    c = t.alice.socket()
    with pytest.raises(OSError) as e:
        c.connect(("192.168.2.99", 80))
    assert e.value.errno == errno.EHOSTUNREACH
    first_syn_at_rb = 0.001 + 3 * 0.010
    back = first_syn_at_rb + 3.0 + 3 * 0.010 + 0.001
    assert net.now == pytest.approx(back)
    drop = [r for r in net.trace if r.kind == "drop" and r.reason is DropReason.HOST_UNREACHABLE]
    assert drop[0].host == "rb" and drop[0].time == pytest.approx(first_syn_at_rb + 3.0)


def test_df_packet_over_a_smaller_mtu_gets_fragmentation_needed():
    net = simtcp.Network()
    a = net.add_host("a", "10.0.1.10/24", gateway="10.0.1.1")
    r = net.add_router("r", "10.0.1.1/24", "10.0.2.1/24")
    b = net.add_host("b", "10.0.2.10/24", gateway="10.0.2.1")
    net.add_link(a, r)
    net.add_link(r, b, mtu=1400)
    big = Packet("10.0.1.10", "10.0.2.10", Datagram(5000, 6000, b"z" * 1400))
    a.transmit(big)
    a.transmit(big._replace(df=False))
    a.transmit(Packet("10.0.1.10", "10.0.2.10", Datagram(5000, 6000, b"z" * 1372)))
    net.run()
    errs = [r.packet.icmp for r in net.trace if r.kind == "deliver" and r.host == "a"
            and r.packet.icmp.quoted().dst == "10.0.2.10" and r.packet.src == "10.0.1.1"]
    assert [(m.type, m.code, m.next_hop_mtu) for m in errs] == [(3, 4, 1400)]
    assert net.drops == {DropReason.FRAG_NEEDED: 1, DropReason.FRAG_NOT_MODELLED: 1}
    assert [r.packet.datagram is not None for r in net.trace
            if r.kind == "deliver" and r.host == "b"] == [True]   # 1400 bytes fit exactly


def test_no_icmp_error_about_an_icmp_error():
    net, t = two_sites()
    err = Packet("192.168.1.10", "10.9.9.9", IcmpMessage(3, 3, 0, b"\x45" + bytes(27)))
    t.alice.transmit(err)
    net.run()
    assert [r.packet.proto for r in sends(net) if r.host == "isp1"] == []
    assert net.drops == {DropReason.NO_ROUTE: 1}


def test_routers_answer_ping():
    net, t = two_sites()
    t.alice.transmit(Packet("192.168.1.10", "198.51.100.6", IcmpMessage(8, 0, 0x00010001,
                                                                        b"ping")))
    net.run()
    reply = [r.packet for r in net.trace if r.kind == "deliver" and r.host == "alice"]
    assert reply[0].icmp == IcmpMessage(0, 0, 0x00010001, b"ping")
    assert reply[0].src == "198.51.100.6"


# ------------------------------------------------------------------------------- hooks

def test_hooks_run_in_priority_order_and_verdicts_do_what_they_say():
    net, t = two_sites()
    seen = []

    def spy(tag):
        def fn(ctx):
            seen.append((tag, ctx.point, ctx.in_iface, ctx.out_iface, ctx.packet.ttl))
            return ACCEPT
        return fn

    t.ra.hooks.add(HookPoint.FORWARD, spy("filter"), 0)
    t.ra.hooks.add(HookPoint.PREROUTING, spy("conntrack"), -200)
    t.ra.hooks.add(HookPoint.PREROUTING, spy("dnat"), -100)
    t.ra.hooks.add(HookPoint.POSTROUTING, spy("snat"), 100)
    t.alice.transmit(Packet("192.168.1.10", "192.168.2.10", Datagram(1, 9), ttl=5))
    net.run(until=0.002)
    assert seen == [("conntrack", HookPoint.PREROUTING, "eth0", None, 5),
                    ("dnat", HookPoint.PREROUTING, "eth0", None, 5),
                    ("filter", HookPoint.FORWARD, "eth0", "eth1", 4),
                    ("snat", HookPoint.POSTROUTING, None, "eth1", 4)]
    with pytest.raises(TypeError, match="HookPoint"):
        t.ra.hooks.add("INPUT", spy("x"))


def test_drop_replace_and_reply_verdicts():
    net, t = two_sites()
    listen(t.bob)
    drop = t.rb.hooks.add(HookPoint.FORWARD, lambda ctx: Drop(DropReason.FIREWALL, "filtered"),
                          name="filter")
    c = t.alice.socket()
    c.settimeout(0.5)
    with pytest.raises(TimeoutError):
        c.connect(("192.168.2.10", 80))
    assert net.drops[DropReason.FIREWALL] >= 1
    t.rb.hooks.remove(drop)
    with pytest.raises(ValueError):
        t.rb.hooks.remove(drop)

    def reject(ctx):              # iptables -j REJECT (icmp-port-unreachable)
        from simtcp.icmp import build_error
        return Reply([build_error(ctx.node, ctx.packet, 3, 3)])
    t.rb.hooks.add(HookPoint.FORWARD, reject)
    c = t.alice.socket()
    with pytest.raises(ConnectionRefusedError):
        c.connect(("192.168.2.10", 80))
    assert net.drops[DropReason.REJECTED] == 1


def test_replace_makes_a_new_copy_and_captures_differ_per_interface():
    net, t = two_sites()
    listen(t.bob, 8080)

    def redirect(ctx):            # a DNAT-like rewrite of the destination port
        seg = ctx.packet.segment
        if seg is not None and seg.dport == 80:
            return Replace(ctx.packet._replace(segment=seg.replace(dport=8080)))
        return ACCEPT
    t.rb.hooks.add(HookPoint.PREROUTING, redirect, -100, "dnat")
    outside = net.capture.on("rb", "eth0")
    inside = net.capture.on(t.rb, "eth1")
    c = t.alice.socket()
    c.settimeout(1.0)
    try:
        c.connect(("192.168.2.10", 80))
    except OSError:
        pass                     # the reply is not un-NATed: this test looks at the SYN only
    syn_out = [cp for cp in outside if cp.packet.segment.flags == simtcp.Flags.SYN][0]
    syn_in = [cp for cp in inside if cp.packet.segment.flags == simtcp.Flags.SYN][0]
    assert (syn_out.packet.segment.dport, syn_in.packet.segment.dport) == (80, 8080)
    assert (syn_out.packet.ttl, syn_in.packet.ttl) == (61, 60)
    assert syn_in.pkt_id != syn_out.pkt_id
    rec = {r.pkt_id: r for r in net.trace if r.kind == "send"}
    assert rec[syn_in.pkt_id].parent == syn_out.pkt_id
    with pytest.raises(ValueError, match="no interface"):
        net.capture.on(t.rb, "eth7")


def test_hook_returning_nonsense_is_a_clear_error():
    net, t = two_sites()
    t.ra.hooks.add(HookPoint.PREROUTING, lambda ctx: True, name="bad")
    t.alice.transmit(Packet("192.168.1.10", "192.168.2.10", Datagram(1, 9)))
    with pytest.raises(TypeError, match="bad"):
        net.run()
    net.in_flight = 0
    net.trace.enabled = False


# ----------------------------------------------------------------- ICMP errors into TCP

def test_icmp_on_an_established_connection_is_only_a_soft_error():
    net, t = two_sites()
    srv = listen(t.bob)
    c = t.alice.socket()
    c.connect(("192.168.2.10", 80))
    conn, _ = srv.accept()
    t.isp2.routes.delete("192.168.2.0/24")               # the path breaks
    c.send(b"hello")
    net.run(until=net.now + 2.0)
    assert c.conn.state.value == "ESTABLISHED" and c.conn.soft_error == errno.ENETUNREACH
    t.isp2.routes.add("192.168.2.0/24", via="198.51.100.10")   # and heals
    assert conn.recv(5) == b"hello"


def test_timeout_reports_the_soft_error_instead_of_etimedout():
    net, t = two_sites()
    srv = listen(t.bob)
    c = t.alice.socket()
    c.connect(("192.168.2.10", 80))
    srv.accept()
    t.alice.sysctl["net.ipv4.tcp_retries2"] = 3
    t.isp2.routes.delete("192.168.2.0/24")
    c.send(b"hello")
    with pytest.raises(OSError) as e:
        c.recv(10)
    assert e.value.errno == errno.ENETUNREACH


def test_icmp_for_an_unknown_connection_or_outside_the_window_is_counted_and_ignored():
    net, t = two_sites()
    srv = listen(t.bob)
    c = t.alice.socket()
    c.connect(("192.168.2.10", 80))
    srv.accept()
    lport = c.getsockname()[1]
    old = Packet("192.168.1.10", "192.168.2.10",
                 Segment.parse("P. 5:10(5) ack 1 win 502", lport, 80))
    stray = Packet("192.168.1.10", "192.168.2.10", Segment.parse("S 0:0(0)", 1, 2))
    for inner in (old, stray):
        t.alice.inject(Packet("198.51.100.2", "192.168.1.10",
                              IcmpMessage(3, 1, 0, wire.encode(inner)[:28]), df=False))
    net.run(until=net.now + 0.1)
    assert c.conn.state.value == "ESTABLISHED" and c.conn.soft_error is None
    assert t.alice.counters["OutOfWindowIcmps"] == 1
    assert t.alice.counters["Icmp:InErrors"] == 1


# ------------------------------------------------------------------------ topologies

@pytest.mark.parametrize("build, client, server", [
    ("home_lan", "laptop", "server"), ("office_dmz", "pc", "web"),
    ("office_dmz", "outsider", "web"), ("two_sites", "alice", "bob"),
    ("two_sites", "bob", "alice")])
def test_classic_topologies_connect_end_to_end(build, client, server):
    net = simtcp.Network(seed=5)
    topo = getattr(net, build)()
    srv = listen(getattr(topo, server))
    c = getattr(topo, client).socket()
    c.connect((getattr(topo, server).ip, 80))
    conn, addr = srv.accept()
    assert addr == c.getsockname()


# ------------------------------------------------------------------- middlebox copies

def test_a_duplicating_middlebox_gives_each_copy_its_own_id_captured_after_the_chain():
    net = simtcp.Network(seed=4)
    a = net.add_host("a", "10.0.0.1")
    b = net.add_host("b", "10.0.0.2")
    link = net.add_link(a, b)
    link.add_middlebox(lambda p, now: [(0.0, p), (0.001, p)])
    listen(b)
    a.socket().connect(("10.0.0.2", 80))
    net.run(until=net.now + 0.5)
    ids = [cp.pkt_id for cp in net.capture]
    assert len(ids) == len(set(ids)) and len(ids) >= 4
    copies = [r for r in net.trace if r.kind == "send" and r.parent is not None]
    assert copies and all(r.reason is SendCause.DUPLICATED and r.get("middlebox") == "<lambda>"
                          for r in copies)
    assert {r.pkt_id for r in copies} <= set(ids)


# -------------------------------------------------------------------------- traceroute

def test_traceroute_shows_every_router_then_the_destination():
    net, t = two_sites()
    listen(t.bob)
    tcp = t.alice.traceroute("192.168.2.10", method="tcp")
    assert tcp.path == ["192.168.1.1", "198.51.100.2", "198.51.100.6", "198.51.100.10",
                        "192.168.2.10"]
    assert str(tcp).splitlines()[0] == ("traceroute to 192.168.2.10 (192.168.2.10), 30 hops "
                                        "max, 60 byte packets")
    assert str(tcp).splitlines()[2] == " 2  198.51.100.2  22.000 ms  22.000 ms  22.000 ms"
    udp = t.alice.traceroute("192.168.2.10")
    assert udp.path == tcp.path
    assert udp.hops[-1].probes[0].address == "192.168.2.10"
    # ends with !N where a router has no route. isp1 has already sent alice 6 ICMP errors,
    # its whole per-destination burst (inet_peer_xrlim_allow(), net.ipv4.icmp_ratelimit):
    # wait for its bucket to refill, one message per second, as a real router needs
    net.run(until=net.now + 3.0)
    lost = t.alice.traceroute("10.0.0.1")
    assert lost.path == ["192.168.1.1", "198.51.100.2"]
    assert str(lost).endswith("22.000 ms !N")
    with pytest.raises(ValueError, match="udp"):
        t.alice.traceroute("192.168.2.10", method="icmp")


def test_traceroute_marks_silent_hops_with_stars():
    net, t = two_sites()
    t.isp1.hooks.add(HookPoint.OUTPUT, lambda ctx: Drop("no ICMP from isp1")
                     if ctx.packet.proto == 1 else ACCEPT)
    listen(t.bob)
    r = t.alice.traceroute("192.168.2.10", method="tcp", wait=1.0)
    assert r.path[1] is None and str(r.hops[1]) == " 2  * * *"
    assert r.path[-1] == "192.168.2.10"
