"""DNS on scapy's DNS layer: UDP first, TC when the answer does not fit, the retry over TCP,
zone transfers over TCP only — all visible in the capture."""
import pytest
from scapy.layers.dns import DNS
from scapy.layers.inet import TCP, UDP

import simtcp


BIG = {"TXT": ["x" * 200, "y" * 200, "z" * 200]}       # an answer of about 700 bytes


def lab(seed=1):
    net = simtcp.Network(seed=seed)
    client = net.add_host("client", "10.0.0.1")
    ns = net.add_host("ns", "10.0.0.53")
    net.add_link(client, ns, delay=0.005)
    server = ns.start_service("dns", records={"www.example.com": "192.0.2.10",
                                              "big.example.com": BIG})
    return net, client, ns, server


def dns_packets(net):
    """(transport, DNS message) for every DNS message in the capture, in order."""
    out = []
    for rec in net.capture:
        pkt = rec.scapy
        if UDP in pkt and 53 in (pkt[UDP].sport, pkt[UDP].dport):
            out.append(("udp", DNS(bytes(pkt[UDP].payload))))
        elif TCP in pkt and 53 in (pkt[TCP].sport, pkt[TCP].dport) and len(pkt[TCP].payload) > 2:
            out.append(("tcp", DNS(bytes(pkt[TCP].payload)[2:])))
    return out


def test_a_small_answer_comes_over_udp():
    net, client, ns, server = lab()
    r = client.resolve("www.example.com", "10.0.0.53")
    assert r.addresses == ["192.0.2.10"] and r.rcode == "NOERROR"
    assert r.transports == ["udp"] and not r.truncated
    msgs = dns_packets(net)
    assert [(t, m.qr, m.tc) for t, m in msgs] == [("udp", 0, 0), ("udp", 1, 0)]


def test_a_large_answer_is_truncated_over_udp_and_retried_over_tcp():
    net, client, ns, server = lab()
    r = client.resolve("big.example.com", "10.0.0.53", "TXT")
    assert r.truncated and r.transports == ["udp", "tcp"]
    assert len(r.answers) == 3 and r.size > 512
    net.run()
    msgs = dns_packets(net)
    assert [(t, m.qr, m.tc) for t, m in msgs] == [
        ("udp", 0, 0), ("udp", 1, 1), ("tcp", 0, 0), ("tcp", 1, 0)]
    udp_reply = msgs[1][1]
    assert udp_reply.ancount == 0 and len(bytes(udp_reply)) <= 512
    assert server.queries == [("udp", "big.example.com.", "TXT"),
                              ("tcp", "big.example.com.", "TXT")]


@pytest.mark.parametrize("edns, transports", [(1232, ["udp"]), (600, ["udp", "tcp"])])
def test_edns_raises_the_udp_limit_to_the_advertised_size(edns, transports):
    net, client, ns, server = lab()
    r = client.resolve("big.example.com", "10.0.0.53", "TXT", edns=edns)
    assert r.transports == transports and len(r.answers) == 3


def test_nxdomain_and_zone_transfer_over_tcp():
    net, client, ns, server = lab()
    assert client.resolve("nope.example.com", "10.0.0.53").rcode == "NXDOMAIN"
    axfr = client.resolve("example.com", "10.0.0.53", "AXFR")
    assert axfr.transports == ["tcp"]
    types = [t for _n, t, _ttl, _v in axfr.answers]
    assert types[0] == types[-1] == "SOA" and "A" in types and types.count("TXT") == 3


def test_port_53_twice_and_a_server_that_is_not_there():
    net, client, ns, server = lab()
    rows = [(r["proto"], r["local_port"], r["process"]) for r in ns.ss("-tulnp")]
    assert rows == [("udp", 53, "named"), ("tcp", 53, "named")]
    with pytest.raises(ConnectionRefusedError, match="connection refused"):
        client.resolve("www.example.com", "10.0.0.1")      # nothing listens on UDP 53 there
