"""Ready-made firewall and NAT scenarios: the networks the figures, labs and benchmarks use.

Theory of operation
-------------------
Each function builds a small deterministic network (fixed seed) the way a home or office
network is built — inside hosts on 192.168.0.0/24 behind a router ``r1`` whose outside
interface is 203.0.113.1 (RFC 5737 documentation space) on a WAN segment with ``server``
203.0.113.5 — applies the iptables rules the scenario is about with the real command syntax,
runs a little traffic, and returns a namespace of everything a picture or a lab needs.
"""
from __future__ import annotations

import types
from typing import Sequence

from .sim import Network

__all__ = ["home_nat", "masquerade_two_clients", "port_forwarding", "firewall_walk"]


def home_nat(seed: int = 1, hosts: int = 2, outsiders: Sequence[tuple] = ()) -> types.SimpleNamespace:
    """pc0, pc1, … (192.168.0.10, .11, …) on the LAN (``r1`` eth0 192.168.0.1); ``r1`` eth1
    203.0.113.1 on the WAN with ``server`` 203.0.113.5 and any ``outsiders`` (name, address).
    No rules yet."""
    net = Network(seed=seed)
    r = net.add_router("r1", "192.168.0.1/24", "203.0.113.1/24")
    inside = [net.add_host(f"pc{i}", f"192.168.0.{10 + i}/24", gateway="192.168.0.1")
              for i in range(hosts)]
    server = net.add_host("server", "203.0.113.5/24", gateway="203.0.113.1")
    others = [net.add_host(n, f"{ip}/24", gateway="203.0.113.1") for n, ip in outsiders]
    net.add_lan(inside + [r], delay=0.001, name="lan")
    net.add_lan([r, server] + others, delay=0.010, name="wan")
    ns = types.SimpleNamespace(net=net, router=r, inside=inside, server=server,
                               outsiders=others)
    for h in inside + others:
        setattr(ns, h.name, h)
    return ns


def masquerade_two_clients(seed: int = 1) -> types.SimpleNamespace:
    """Two inside hosts connect from the same source port 40000 to server:80 through
    ``-t nat -A POSTROUTING -o eth1 -j MASQUERADE``; captures run on r1's eth0 and eth1.
    The first keeps port 40000, the second is given another (as Linux's
    nf_nat_l4proto_unique_tuple() does)."""
    ns = home_nat(seed)
    r = ns.router
    r.iptables("-t nat -A POSTROUTING -o eth1 -j MASQUERADE")
    ns.lan_capture = ns.net.capture.on(r, "eth0")
    ns.wan_capture = ns.net.capture.on(r, "eth1")
    srv = ns.server.socket()
    srv.bind(("0.0.0.0", 80))
    srv.listen(8)
    ns.clients = []
    for h in ns.inside:
        c = h.socket()
        c.bind(("0.0.0.0", 40000))
        c.connect(("203.0.113.5", 80))
        conn, _ = srv.accept()
        c.sendall(b"GET / HTTP/1.0\r\n\r\n")
        conn.recv(100)
        ns.clients.append(c)
    ns.net.run(until=ns.net.now + 0.1)
    return ns


def port_forwarding(forward: bool = True, seed: int = 1) -> types.SimpleNamespace:
    """A web server on pc0:80 published as 203.0.113.1:8080 with
    ``-t nat -A PREROUTING -i eth1 -p tcp --dport 8080 -j DNAT --to-destination
    192.168.0.10:80`` (``forward=False``: without that rule); the server host connects."""
    ns = home_nat(seed, hosts=1)
    r = ns.router
    ns.rule = ("-t nat -A PREROUTING -i eth1 -p tcp --dport 8080 -j DNAT "
               "--to-destination 192.168.0.10:80")
    r.iptables(ns.rule if forward else "-t nat -L")
    web = ns.pc0.socket()
    web.bind(("0.0.0.0", 80))
    web.listen(8)
    c = ns.server.socket()
    ns.error = None
    try:
        c.connect(("203.0.113.1", 8080))
        ns.peer = web.accept()[1]
    except OSError as e:
        ns.error = e
        ns.peer = None
    ns.net.run(until=ns.net.now + 0.1)
    return ns


def firewall_walk(seed: int = 1) -> types.SimpleNamespace:
    """A default-deny INPUT chain on ``server`` with a user chain, and one SSH attempt
    from pc0 that the walk shows rule by rule (trace enabled)."""
    ns = home_nat(seed, hosts=1)
    s = ns.server
    for rule in ("-N SERVICES",
                 "-A SERVICES -p tcp --dport 80 -j ACCEPT",
                 "-A SERVICES -p tcp --dport 443 -j ACCEPT",
                 "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
                 "-A INPUT -p icmp -j ACCEPT",
                 "-A INPUT -j SERVICES",
                 "-A INPUT -p tcp --dport 22 -s 192.168.0.0/24 -j LOG --log-prefix 'SSH: '",
                 "-A INPUT -p tcp -j REJECT --reject-with tcp-reset",
                 "-P INPUT DROP"):
        s.iptables(rule)
    ssh = ns.pc0.socket()
    try:
        ssh.connect(("203.0.113.5", 22))
    except ConnectionRefusedError as e:
        ns.error = e
    ns.net.run(until=ns.net.now + 0.1)
    return ns
