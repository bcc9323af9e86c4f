"""Oracle: what a client sees behind DROP and REJECT rules, on the real Linux kernel with real
iptables rules and in simtcp — the errno of connect() and the fields of the reply.

Two private network namespaces joined by a veth pair (client 10.7.0.1, server 10.7.0.2);
the server namespace gets the iptables rule, the client runs tests/firewall_probe.py.
``tcp_syn_retries=1`` on both sides keeps the DROP case short. The namespaces are created
and deleted here; nothing leaves them. Needs root, iproute2 and iptables.
"""
import json
import os
import shutil
import subprocess
import sys
import uuid
from pathlib import Path

import pytest

import simtcp
from simtcp import wire

HERE = Path(__file__).resolve().parent
CAN = os.geteuid() == 0 and shutil.which("ip") and shutil.which("iptables")
pytestmark = pytest.mark.skipif(not CAN, reason="needs root, iproute2 and iptables")

RULES = ["-j DROP", "-j REJECT", "-j REJECT --reject-with tcp-reset",
         "-j REJECT --reject-with icmp-host-unreachable",
         "-j REJECT --reject-with icmp-net-unreachable",
         "-j REJECT --reject-with icmp-admin-prohibited"]


def _run(*argv, check=True):
    r = subprocess.run(list(argv), capture_output=True, text=True, timeout=60)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(argv)}: {r.stderr.strip()}")
    return r


def linux(rule):
    a, b = f"fwc-{uuid.uuid4().hex[:6]}", f"fws-{uuid.uuid4().hex[:6]}"
    made = subprocess.run(["ip", "netns", "add", a], capture_output=True, timeout=10)
    if made.returncode:
        pytest.skip(f"cannot create a network namespace: {made.stderr.decode().strip()}")
    try:
        _run("ip", "netns", "add", b)
        _run("ip", "link", "add", "va", "netns", a, "type", "veth", "peer", "name", "vb",
             "netns", b)
        for ns, dev, addr in ((a, "va", "10.7.0.1/24"), (b, "vb", "10.7.0.2/24")):
            _run("ip", "-n", ns, "addr", "add", addr, "dev", dev)
            _run("ip", "-n", ns, "link", "set", dev, "up")
            _run("ip", "-n", ns, "link", "set", "lo", "up")
            _run("ip", "netns", "exec", ns, "sh", "-c",
                 "echo 1 > /proc/sys/net/ipv4/tcp_syn_retries")
        probe = _run("ip", "netns", "exec", b, "iptables", "-A", "INPUT", "-p", "tcp",
                     "--dport", "80", *rule.split(), check=False)
        if probe.returncode:
            pytest.skip(f"iptables does not work in a namespace here: {probe.stderr.strip()}")
        out = _run("ip", "netns", "exec", a, sys.executable, str(HERE / "firewall_probe.py"))
        got = json.loads(out.stdout)
        return got["result"], [wire.decode(bytes.fromhex(h)) for h in got["replies"]]
    finally:
        for ns in (a, b):
            subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


def simulated(rule):
    net = simtcp.Network(seed=1)
    client = net.add_host("client", "10.7.0.1/24")
    server = net.add_host("server", "10.7.0.2/24")
    net.add_link(client, server, delay=0.0005)
    for h in (client, server):
        h.sysctl["net.ipv4.tcp_syn_retries"] = 1
    server.iptables(f"-A INPUT -p tcp --dport 80 {rule}")
    c = client.socket()
    c.settimeout(20)
    try:
        c.connect(("10.7.0.2", 80))
        result = "connected"
    except OSError as e:
        import errno
        result = errno.errorcode.get(e.errno, str(e.errno))
    replies = [cp.packet for cp in net.capture if cp.packet.src == "10.7.0.2"]
    return result, replies


def fields(p):
    """What must agree: the reply's IP header fields that do not depend on randomness, and
    the ICMP type/code or the TCP flags, window and the seq/ack relation."""
    out = {"src": p.src, "ttl": p.ttl, "df": p.df, "tos": p.tos, "proto": p.proto}
    if p.icmp is not None:
        q = p.icmp.quoted()
        out.update(type=p.icmp.type, code=p.icmp.code,
                   quoted=(q.src, q.dst, q.proto, q.dport) if q else None)
    elif p.segment is not None:
        seg = p.segment
        out.update(flags=int(seg.flags), window=seg.window, seq=int(seg.seq),
                   acks_something=seg.ack != 0, ident=p.ident)
    return out


@pytest.mark.parametrize("rule", RULES)
def test_client_sees_what_linux_shows(rule):
    real_result, real_replies = linux(rule)
    sim_result, sim_replies = simulated(rule)
    assert sim_result == real_result
    assert len(sim_replies) == len(real_replies)
    if real_replies:
        assert fields(sim_replies[0]) == fields(real_replies[0])
