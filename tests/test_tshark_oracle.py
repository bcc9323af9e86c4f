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
