"""Traffic to a host's own addresses meets netfilter as Linux's loopback traffic does:
OUTPUT and POSTROUTING on ``lo`` (ip_local_out → ip_output), then PREROUTING and INPUT with
``-i lo`` (the device it arrived on); conntrack tracks it once, at OUTPUT (nf_conntrack_in
leaves a packet that already carries an entry alone); an OUTPUT REDIRECT/DNAT that points at
a local address is routed back in (ip_route_me_harder).

Each case is also run on the real kernel in a private network namespace holding only
``lo`` (created and deleted here; nothing leaves it), when root and iptables are there.
"""
import sys

import pytest
from netns import namespaces, requires

import simtcp

CASES = {
    # name: (rules, port to dial, expected outcome)
    "input lo accepted under a DROP policy": (
        ["-A INPUT -i lo -j ACCEPT", "-P INPUT DROP"], 8080, "connected"),
    "input DROP policy without the lo rule": (["-P INPUT DROP"], 8080, "TimeoutError"),
    "output -o lo drop": (["-A OUTPUT -o lo -p tcp --dport 8080 -j DROP"], 8080,
                          "TimeoutError"),
    "output redirect 80 to 8080": (
        ["-t nat -A OUTPUT -o lo -p tcp --dport 80 -j REDIRECT --to-ports 8080"], 80,
        "connected"),
}

CLIENT = """
import socket, sys, threading
srv = socket.socket(); srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
srv.bind(("127.0.0.1", 8080)); srv.listen(4)
c = socket.socket(); c.settimeout(2)
try:
    c.connect(("127.0.0.1", int(sys.argv[1]))); print("connected")
except OSError as e:
    print(type(e).__name__)
"""


def simulated(rules, port):
    net = simtcp.Network(seed=5)
    h = net.add_host("h", "192.168.1.20")
    srv = h.socket()
    srv.bind(("127.0.0.1", 8080))
    srv.listen(4)
    for rule in rules:
        h.iptables(rule)
    c = h.socket()
    c.settimeout(2)
    try:
        c.connect(("127.0.0.1", port))
        result = "connected"
    except OSError as e:
        result = type(e).__name__
    return net, h, srv, c, result


@pytest.mark.parametrize("name", list(CASES))
def test_loopback_traffic_meets_the_rules(name):
    rules, port, expected = CASES[name]
    assert simulated(rules, port)[4] == expected


def test_a_looped_connection_is_tracked_once_and_carries_data():
    net, h, srv, c, result = simulated(CASES["output redirect 80 to 8080"][0], 80)
    assert result == "connected" and c.getpeername() == ("127.0.0.1", 80)
    conn, _ = srv.accept()
    c.sendall(b"ping")
    assert conn.recv(10) == b"ping"
    conn.sendall(b"pong")
    assert c.recv(10) == b"pong"
    entries = h.conntrack("-L").splitlines()
    assert len(entries) == 1
    assert "ESTABLISHED" in entries[0] and "dport=80 " in entries[0] and \
        "sport=8080 " in entries[0]


@requires("iptables")
@pytest.mark.parametrize("name", list(CASES))
def test_the_kernel_agrees(name):
    rules, port, expected = CASES[name]
    with namespaces("lo") as ns:
        for rule in rules:
            ns.iptables_or_skip("lo", *rule.split())
        out = ns.exec("lo", sys.executable, "-c", CLIENT, str(port), check=False, timeout=30)
        assert out.stdout.strip() == expected
