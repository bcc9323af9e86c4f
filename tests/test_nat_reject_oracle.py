"""Oracle: a port-forwarded (DNAT) connection rejected in FORWARD, on the real kernel and in
simtcp — the client's connect() errno, what the client sees quoted in the ICMP error, and
what the router's conntrack table keeps afterwards.

Linux attaches the offending packet's (unconfirmed) conntrack entry to the ICMP error it
builds (net/ipv4/icmp.c icmp_glue_bits() → nf_ct_attach) and to the TCP RST
(nf_reject_ipv4.c nf_send_reset()), so NAT translates the reply back and the client learns
ECONNREFUSED about the address it dialled; the reply never confirms the entry
(nf_conntrack_core.c __nf_conntrack_confirm(): only the original direction does), so the
table stays empty.

Three private network namespaces (client 203.0.113.5 — router 203.0.113.1 / 192.168.0.1 —
server 192.168.0.10) joined by veth pairs, created and deleted here; nothing leaves them.
Needs root, iproute2, iptables and conntrack.
"""
import sys

import pytest
from netns import namespaces, requires

import simtcp

pytestmark = requires("iptables", "conntrack")

DNAT = "-t nat -A PREROUTING -p tcp --dport 8080 -j DNAT --to-destination 192.168.0.10:80"
REJECTS = ["-j REJECT", "-j REJECT --reject-with tcp-reset"]

CLIENT = """
import socket
s = socket.socket(); s.settimeout(5)
try:
    s.connect(("203.0.113.1", 8080)); print("connected")
except OSError as e:
    print(type(e).__name__)
"""


def linux(reject):
    with namespaces("client", "router", "server") as ns:
        ns.veth("client", "vc", "203.0.113.5/24", "router", "vrc", "203.0.113.1/24")
        ns.veth("server", "vs", "192.168.0.10/24", "router", "vrs", "192.168.0.1/24")
        ns.route("server", "default", "via", "192.168.0.1")
        ns.sysctl("router", "net.ipv4.ip_forward=1")
        for rule in (DNAT, "-A FORWARD -p tcp -d 192.168.0.10 --dport 80 " + reject):
            ns.iptables_or_skip("router", *rule.split())
        result = ns.exec("client", sys.executable, "-c", CLIENT, timeout=30).stdout.strip()
        table = ns.exec("router", "conntrack", "-L", check=False, timeout=30).stdout
        return result, len([line for line in table.splitlines() if line.strip()])


def simulated(reject):
    net = simtcp.Network(seed=3)
    router = net.add_router("r1", "203.0.113.1/24", "192.168.0.1/24")
    client = net.add_host("client", "203.0.113.5/24", gateway="203.0.113.1")
    server = net.add_host("server", "192.168.0.10/24", gateway="192.168.0.1")
    net.add_lan([client, router], delay=0.001, name="wan")
    net.add_lan([router, server], delay=0.001, name="lan")
    router.iptables(DNAT)
    router.iptables("-A FORWARD -p tcp -d 192.168.0.10 --dport 80 " + reject)
    s = client.socket()
    s.settimeout(5)
    try:
        s.connect(("203.0.113.1", 8080))
        result = "connected"
    except OSError as e:
        result = type(e).__name__
    s.close()
    return result, len(router.conntrack("-L").splitlines())


@pytest.mark.parametrize("reject", REJECTS)
def test_rejected_port_forward_reads_like_linux(reject):
    kernel = linux(reject)
    assert kernel[0] == "ConnectionRefusedError"        # the oracle itself behaves
    assert simulated(reject) == kernel
