"""Oracle: what a client sees behind DROP and REJECT rules, on the real Linux kernel with real
iptables rules and in simtcp — the errno of connect() and the fields of the reply.

Two private network namespaces joined by a veth pair (client 10.7.0.1, server 10.7.0.2);
the server namespace gets the iptables rule, the client runs tests/firewall_probe.py.
``tcp_syn_retries=1`` on both sides keeps the DROP case short. The namespaces are created
and deleted here; nothing leaves them. Needs root, iproute2 and iptables.
"""
import json
import sys
from pathlib import Path

import pytest
from netns import namespaces, requires

import simtcp
from simtcp import wire

HERE = Path(__file__).resolve().parent
pytestmark = requires("iptables")

RULES = ["-j DROP", "-j REJECT", "-j REJECT --reject-with tcp-reset",
         "-j REJECT --reject-with icmp-host-unreachable",
         "-j REJECT --reject-with icmp-net-unreachable",
         "-j REJECT --reject-with icmp-admin-prohibited"]


def linux(rule):
    with namespaces("client", "server") as ns:
        ns.veth("client", "va", "10.7.0.1/24", "server", "vb", "10.7.0.2/24")
        for role in ("client", "server"):
            ns.sysctl(role, "net.ipv4.tcp_syn_retries=1")
        ns.iptables_or_skip("server", "-A", "INPUT", "-p", "tcp", "--dport", "80",
                            *rule.split())
        out = ns.exec("client", sys.executable, str(HERE / "firewall_probe.py"))
        got = json.loads(out.stdout)
        return got["result"], [wire.decode(bytes.fromhex(h)) for h in got["replies"]]


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
