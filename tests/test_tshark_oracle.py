"""Oracle: Wireshark's dissector reads our pcap — no malformed packets, no bad checksums,
and it flags retransmissions exactly where simtcp retransmitted."""
import shutil
import subprocess

import pytest

from conftest import IN_CI
from test_determinism import lossy_transfer

TSHARK = shutil.which("tshark")
if TSHARK is None:
    pytestmark = pytest.mark.skipif(not IN_CI, reason="tshark is not installed (CI installs it)")


def tshark(path, *args):
    out = subprocess.run([TSHARK or "tshark", "-r", str(path), "-o", "tcp.check_checksum:TRUE",
                          "-o", "ip.check_checksum:TRUE", *args], capture_output=True, text=True, timeout=120, check=True)
    return out.stdout


def test_lossy_transfer_pcap_is_clean_and_retransmissions_match(tmp_path):
    net = lossy_transfer(5, size=80_000)
    path = tmp_path / "lossy.pcap"
    net.capture.write_pcap(path)
    rows = tshark(path, "-T", "fields", "-e", "frame.number", "-e", "_ws.malformed",
                  "-e", "ip.checksum.status", "-e", "tcp.checksum.status",
                  "-e", "tcp.analysis.retransmission", "-e", "tcp.analysis.fast_retransmission",
                  "-e", "tcp.analysis.spurious_retransmission").splitlines()
    assert len(rows) == len(net.capture)
    flagged = set()
    for row in rows:
        num, malformed, ip_ok, tcp_ok, retr, fast, spurious = (row.split("\t") + [""] * 7)[:7]
        assert not malformed, row
        assert ip_ok == "1" and tcp_ok == "1", f"bad checksum in frame {num}"   # 1 = Good
        if retr or fast or spurious:
            flagged.add(int(num))
    ours = set()
    sends = {r.pkt_id: r for r in net.trace if r.kind == "send"}
    for i, cp in enumerate(net.capture, start=1):
        if sends[cp.pkt_id].reason.retransmission:
            ours.add(i)
    assert ours, "the scenario should lose and retransmit something"
    assert flagged == ours


def test_demo_style_handshake_reads_as_a_clean_conversation(tmp_path, pair):
    net, client, server = pair
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(1)
    cli = client.socket()
    cli.connect(("192.168.1.20", 80))
    conn, _ = srv.accept()
    cli.sendall(b"GET / HTTP/1.0\r\n\r\n")
    conn.recv(100)
    cli.close()
    conn.close()
    net.run()
    path = tmp_path / "hs.pcap"
    net.capture.write_pcap(path)
    flags = tshark(path, "-T", "fields", "-e", "tcp.flags").split()
    assert flags[:3] == ["0x0002", "0x0012", "0x0010"]          # SYN, SYN+ACK, ACK
    text = tshark(path)
    assert "[SYN]" in text and "[SYN, ACK]" in text and "[FIN, ACK]" in text
    assert "Malformed" not in text


def routed_mixed_traffic():
    """TCP across four routers, UDP probes dying on the way (ICMP time exceeded), a net
    unreachable, a ping and its reply: forwarded, UDP and ICMP packets in one capture."""
    import simtcp
    from simtcp.packet import IcmpMessage, Packet
    net = simtcp.Network(seed=7)
    t = net.two_sites()
    tap = net.capture.on("isp1", "eth1")
    srv = t.bob.socket()
    srv.bind(("", 80))
    srv.listen(1)
    cli = t.alice.socket()
    cli.connect(("192.168.2.10", 80))
    conn, _ = srv.accept()
    cli.sendall(b"x" * 3000)
    conn.recv(3000)
    t.alice.traceroute("192.168.2.10", max_hops=3, queries=1)
    t.alice.traceroute("10.1.1.1", max_hops=3, queries=1)
    t.alice.transmit(Packet("192.168.1.10", "198.51.100.6", IcmpMessage(8, 0, 0x00010001,
                                                                        b"ping" * 8)))
    net.run(until=net.now + 1)
    return net, tap


def test_routed_udp_and_icmp_pcaps_are_clean(tmp_path):
    net, tap = routed_mixed_traffic()
    for name, cap in (("all", net.capture), ("isp1-eth1", tap)):
        path = tmp_path / f"{name}.pcap"
        cap.write_pcap(path)
        # the network-wide capture holds each TCP segment once per hop, which tshark's
        # stream reassembly would call overlapping data (so would a capture on "any" of a
        # router): reassemble only in the per-interface capture, where a segment is once
        extra = ("-o", "tcp.desegment_tcp_streams:FALSE") if name == "all" else ()
        rows = tshark(path, *extra, "-o", "udp.check_checksum:TRUE",
                      "-T", "fields", "-e", "_ws.malformed", "-e", "ip.checksum.status",
                      "-e", "ip.proto", "-e", "icmp.type", "-e", "icmp.code",
                      "-e", "icmp.checksum.status", "-e", "udp.checksum.status",
                      "-e", "tcp.checksum.status", "-e", "ip.ttl").splitlines()
        assert len(rows) == len(cap)
        kinds = set()
        for cp, row in zip(cap, rows):
            malformed, ip_ok, proto, itype, icode, ick, uck, tck, ttl = \
                (row.split("\t") + [""] * 9)[:9]
            assert not malformed and set(ip_ok.split(",")) == {"1"}, row   # quote's too
            p = cp.packet
            # the outer header is what tshark reads first (an ICMP error also carries the
            # quoted header, which tshark lists after it)
            assert proto.split(",")[0] == str(p.proto) and ttl.split(",")[0] == str(p.ttl)
            if p.proto == 1:
                assert (int(itype.split(",")[0]), int(icode.split(",")[0])) == \
                    (p.icmp.type, p.icmp.code) and ick.split(",")[0] == "1", row
                kinds.add(("icmp", p.icmp.type, p.icmp.code))
            elif p.proto == 17:
                assert uck == "1", row
                kinds.add(("udp",))
            else:
                assert tck.split(",")[0] == "1", row
                kinds.add(("tcp",))
        if name == "all":
            assert {("udp",), ("tcp",), ("icmp", 11, 0), ("icmp", 3, 0), ("icmp", 8, 0),
                    ("icmp", 0, 0)} <= kinds
    # the per-interface capture holds only what crossed isp1's eth1, TTLs as on that wire
    syn = [cp for cp in tap if cp.packet.segment is not None
           and cp.packet.segment.flags == simtcp_flags().SYN][0]
    assert syn.packet.ttl == 62 and syn.link == "isp1-isp2"


def simtcp_flags():
    import simtcp
    return simtcp.Flags
