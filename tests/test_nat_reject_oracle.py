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
import os
import shutil
import subprocess
import sys
import uuid

import pytest

import simtcp

CAN = os.geteuid() == 0 and all(shutil.which(t) for t in ("ip", "iptables", "conntrack"))
pytestmark = pytest.mark.skipif(not CAN, reason="needs root, iproute2, iptables, conntrack")

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


def _run(*argv, check=True):
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=30)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
    return r


def linux(reject):
    tag = uuid.uuid4().hex[:6]
    c, r, s = (f"nrc-{tag}", f"nrr-{tag}", f"nrs-{tag}")
    made = subprocess.run(["ip", "netns", "add", c], capture_output=True, timeout=10)
    if made.returncode:
        pytest.skip(f"cannot create a network namespace: {made.stderr.decode().strip()}")
    try:
        for ns in (r, s):
            _run("ip", "netns", "add", ns)
        _run("ip", "link", "add", "vc", "netns", c, "type", "veth", "peer", "name", "vrc",
             "netns", r)
        _run("ip", "link", "add", "vs", "netns", s, "type", "veth", "peer", "name", "vrs",
             "netns", r)
        for ns, dev, addr in ((c, "vc", "203.0.113.5/24"), (r, "vrc", "203.0.113.1/24"),
                              (r, "vrs", "192.168.0.1/24"), (s, "vs", "192.168.0.10/24")):
            _run("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            _run("ip", "-n", ns, "link", "set", dev, "up")
        _run("ip", "-n", s, "route", "add", "default", "via", "192.168.0.1")
        _run("ip", "netns", "exec", r, "sysctl", "-qw", "net.ipv4.ip_forward=1")
        for rule in (DNAT, "-A FORWARD -p tcp -d 192.168.0.10 --dport 80 " + reject):
            probe = _run("ip", "netns", "exec", r, "iptables", *rule.split(), check=False)
            if probe.returncode:
                pytest.skip(f"iptables does not work in a namespace: {probe.stderr.strip()}")
        result = _run("ip", "netns", "exec", c, sys.executable, "-c", CLIENT).stdout.strip()
        table = _run("ip", "netns", "exec", r, "conntrack", "-L", check=False).stdout
        return result, len([line for line in table.splitlines() if line.strip()])
    finally:
        for ns in (c, r, s):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


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
