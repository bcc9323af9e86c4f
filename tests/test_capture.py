"""simtcp.capture: tcpdump lines, list behaviour, filters, HTML, and pcap files tshark reads."""
from __future__ import annotations

import io
import os
import shutil
import struct
import subprocess

import pytest

from simtcp import wire
from simtcp.capture import Capture, CapturedPacket
from simtcp.segment import Flags, Packet, Segment

C, S = "192.168.1.10", "192.168.1.20"
CPORT, SPORT = 40000, 80


def handshake() -> Capture:
    """SYN, SYN-ACK, ACK, data, FIN as Linux would send them (client ISN 1000, server 5000)."""
    script = [
        (0.000, C, "S 1000:1000(0) win 64240 <mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7>"),
        (0.010, S, "S. 5000:5000(0) ack 1001 win 65160 "
                   "<mss 1460,sackOK,TS val 700 ecr 100,nop,wscale 7>"),
        (0.020, C, ". 1001:1001(0) ack 5001 win 502 <nop,nop,TS val 110 ecr 700>"),
        (0.020, C, "P. 1001:1006(5) ack 5001 win 502 <nop,nop,TS val 110 ecr 700>"),
        (0.030, S, "F. 5001:5001(0) ack 1006 win 509 <nop,nop,TS val 710 ecr 110>"),
    ]
    cap = Capture()
    for i, (t, src, text) in enumerate(script, 1):
        if src == C:
            p = Packet(C, S, Segment.parse(text, CPORT, SPORT))
        else:
            p = Packet(S, C, Segment.parse(text, SPORT, CPORT))
        cap.append(t, "client-server", i, p)
    return cap


# ---------------------------------------------------------------------------------------
# CapturedPacket

def test_tcpdump_lines():
    lines = str(handshake()).splitlines()
    assert lines[0] == (
        "0.000000 192.168.1.10.40000 > 192.168.1.20.80: Flags [S], seq 1000, win 64240, "
        "options [mss 1460,sackOK,TS val 100 ecr 0,nop,wscale 7], length 0")
    assert lines[1].startswith("0.010000 192.168.1.20.80 > 192.168.1.10.40000: Flags [S.], "
                               "seq 5000, ack 1001, win 65160")
    assert lines[3] == (
        "0.020000 192.168.1.10.40000 > 192.168.1.20.80: Flags [P.], seq 1001:1006, ack 5001, "
        "win 502, options [nop,nop,TS val 110 ecr 700], length 5")
    rst = CapturedPacket(1.5, "l", 9, Packet(C, S, Segment.parse("R 7:7(0) win 0", 1, 2)))
    assert str(rst) == "1.500000 192.168.1.10.1 > 192.168.1.20.2: Flags [R], seq 7, win 0, length 0"


def test_sack_blocks_print_like_tcpdump():
    seg = Segment.parse(". 1:1(0) ack 1 win 1 <TS val 1 ecr 2,sack 10:20 30:40>", 1, 2)
    line = str(CapturedPacket(0, "l", 1, Packet(C, S, seg)))
    assert "options [nop,nop,TS val 1 ecr 2,nop,nop,sack 2 {10:20}{30:40}]" in line


def test_bytes_are_the_given_bytes_or_built_on_demand():
    p = handshake()[0].packet
    given_bytes = wire.encode(p)
    assert CapturedPacket(0.0, "l", 1, p, given_bytes).bytes is given_bytes
    lazy = CapturedPacket(0.0, "l", 1, p)
    assert lazy._bytes is None  # "fast" mode: nothing built until someone looks
    assert lazy.bytes == given_bytes
    assert lazy.scapy.summary().startswith("IP / TCP 192.168.1.10:40000 > 192.168.1.20:")
    assert lazy.scapy is not lazy.scapy  # a fresh dissection each time: safe to edit


def test_captured_packet_is_read_only():
    cp = handshake()[0]
    with pytest.raises(AttributeError, match="read-only"):
        cp.time = 3.0


def test_wireshark_info_column():
    cap = handshake()
    assert cap[0].info() == ("40000 \u2192 80 [SYN] Seq=1000 Win=64240 Len=0 MSS=1460 "
                             "SACK_PERM TSval=100 TSecr=0 WS=128")
    assert cap[4].info().startswith("80 \u2192 40000 [FIN, ACK] Seq=5001 Ack=1006 Win=509")


# ---------------------------------------------------------------------------------------
# Capture: list-like, filter, display

def test_capture_is_list_like():
    cap = handshake()
    assert len(cap) == 5 and bool(cap) and not Capture()
    assert [cp.pkt_id for cp in cap] == [1, 2, 3, 4, 5]
    assert cap[-1].pkt_id == 5
    part = cap[1:3]
    assert isinstance(part, Capture) and [cp.pkt_id for cp in part] == [2, 3]
    assert str(part).count("\n") == 1
    assert repr(cap) == "<Capture: 5 packets>"


def test_filter():
    cap = handshake()
    extra = Packet("10.9.9.9", S, Segment.parse("S 1:1(0) win 1", 5555, 443))
    cap.append(0.5, "other", 6, extra)
    assert [cp.pkt_id for cp in cap.filter(host="10.9.9.9")] == [6]
    assert [cp.pkt_id for cp in cap.filter(port=443)] == [6]
    assert [cp.pkt_id for cp in cap.filter(host=C, port=CPORT)] == [1, 2, 3, 4, 5]
    assert [cp.pkt_id for cp in cap.filter(flags="S")] == [1, 2, 6]
    assert [cp.pkt_id for cp in cap.filter(flags="S", exact=True)] == [1, 6]
    assert [cp.pkt_id for cp in cap.filter(flags="SYN,ACK")] == [2]
    assert [cp.pkt_id for cp in cap.filter(flags=Flags.FIN)] == [5]
    with pytest.raises(ValueError, match="tcpdump letters"):
        cap.filter(flags="SYNACK")


def test_html_table():
    cap = handshake()
    cap.append(0.04, "<b>", 6, Packet(C, S, Segment.parse("R 1:1(0) win 0", 1, 2)))
    page = cap._repr_html_()
    for head in ("No.", "Time", "Source", "Destination", "Flags", "Seq", "Ack", "Win", "Len",
                 "Info"):
        assert f"<th>{head}</th>" in page
    assert page.count("<tr") == 7  # header + 6 packets
    assert "<td>S.</td>" in page and "[SYN, ACK]" in page
    assert "<b>" not in page and "&lt;b&gt;" in page


def test_html_table_is_cut_for_huge_captures():
    cap = Capture()
    p = handshake()[0].packet
    for i in range(600):
        cap.append(i * 0.001, "l", i, p)
    page = cap._repr_html_()
    assert page.count("<tr") == 501 and "100 more packets" in page


# ---------------------------------------------------------------------------------------
# pcap

def test_pcap_layout_and_virtual_timestamps():
    cap = Capture()
    p = handshake()[0].packet
    cap.append(0.01, "l", 1, p)
    cap.append(12.3456785, "l", 2, p)
    data = cap.pcap_bytes()
    magic, major, minor, zone, sigfigs, snaplen, linktype = struct.unpack("<IHHiIII",
                                                                          data[:24])
    assert (magic, major, minor, zone, linktype) == (0xA1B2C3D4, 2, 4, 0, 101)
    frame = wire.encode(p)
    sec, usec, incl, orig = struct.unpack("<IIII", data[24:40])
    assert (sec, usec, incl, orig) == (0, 10000, len(frame), len(frame))
    assert data[40:40 + len(frame)] == frame
    sec, usec = struct.unpack("<II", data[40 + len(frame):48 + len(frame)])
    assert (sec, usec) == (12, 345678) or (sec, usec) == (12, 345679)
    assert len(data) == 24 + 2 * (16 + len(frame))


def test_pcap_is_byte_identical_and_written_to_files(tmp_path):
    a, b = handshake(), handshake()
    path = tmp_path / "h.pcap"
    a.write_pcap(path)
    buf = io.BytesIO()
    b.write_pcap(buf)
    assert path.read_bytes() == buf.getvalue() == a.pcap_bytes()


def test_capture_module_does_not_import_scapy_at_import_time():
    """Only simtcp.wire imports scapy; capture reaches it lazily, inside functions."""
    import ast
    import simtcp.capture as mod
    tree = ast.parse(open(mod.__file__, encoding="utf-8").read())
    names = []
    for node in tree.body:  # module level only
        if isinstance(node, ast.Import):
            names += [a.name for a in node.names]
        elif isinstance(node, ast.ImportFrom):
            names += [f"{'.' * node.level}{node.module or ''}"] + \
                     [f"{'.' * node.level}{a.name}" for a in node.names]
    assert names and not [n for n in names if "scapy" in n or n.endswith("wire")], names


# ---------------------------------------------------------------------------------------
# tshark reads our pcap: no malformed packets, good checksums, the fields we meant

TSHARK = shutil.which("tshark")
FIELDS = ["frame.time_relative", "ip.src", "ip.dst", "ip.ttl", "ip.flags.df",
          "ip.checksum.status", "tcp.checksum.status", "tcp.srcport", "tcp.dstport",
          "tcp.seq_raw", "tcp.ack_raw", "tcp.flags", "tcp.window_size_value", "tcp.len",
          "tcp.options.mss_val", "tcp.options.wscale.shift", "tcp.option_kind",
          "tcp.options.timestamp.tsval", "tcp.options.timestamp.tsecr", "_ws.malformed",
          "_ws.expert.severity"]


def run_tshark(path) -> list:
    if TSHARK is None:
        if os.environ.get("CI") == "true":
            pytest.fail("tshark is required in CI (apt-get install tshark)")
        pytest.skip("tshark is not installed (apt-get install tshark)")
    cmd = [TSHARK, "-n", "-r", str(path), "-o", "tcp.check_checksum:TRUE",
           "-o", "ip.check_checksum:TRUE", "-T", "fields", "-E", "separator=|"]
    for f in FIELDS:
        cmd += ["-e", f]
    res = subprocess.run(cmd, capture_output=True, text=True, timeout=120)
    assert res.returncode == 0, res.stderr
    return [dict(zip(FIELDS, line.split("|"))) for line in res.stdout.splitlines()]


def test_tshark_reads_the_handshake(tmp_path):
    path = tmp_path / "handshake.pcap"
    handshake().write_pcap(path)
    rows = run_tshark(path)
    assert len(rows) == 5
    for r in rows:
        assert r["_ws.malformed"] == ""
        # expert severities: chat 0x200000 / note 0x400000 / warn 0x600000, error 0x800000
        assert all(int(s) < 0x800000 for s in r["_ws.expert.severity"].split(",") if s)
        assert r["ip.checksum.status"] == "1" and r["tcp.checksum.status"] == "1"  # 1 = Good
        assert r["ip.ttl"] == "64" and r["ip.flags.df"] in ("1", "True")
    got = [(r["ip.src"], r["tcp.srcport"], r["tcp.dstport"], r["tcp.seq_raw"], r["tcp.flags"],
            r["tcp.len"]) for r in rows]
    assert got == [
        (C, "40000", "80", "1000", "0x0002", "0"),
        (S, "80", "40000", "5000", "0x0012", "0"),
        (C, "40000", "80", "1001", "0x0010", "0"),
        (C, "40000", "80", "1001", "0x0018", "5"),
        (S, "80", "40000", "5001", "0x0011", "0"),
    ]
    assert [r["tcp.ack_raw"] for r in rows[1:]] == ["1001", "5001", "5001", "1006"]
    assert [float(r["frame.time_relative"]) for r in rows] == [0.0, 0.01, 0.02, 0.02, 0.03]
    syn, synack, ack = rows[0], rows[1], rows[2]
    for r in (syn, synack):
        assert r["tcp.options.mss_val"] == "1460" and r["tcp.options.wscale.shift"] == "7"
        assert r["tcp.option_kind"].split(",") == ["2", "4", "8", "1", "3"]  # Linux order
    assert (syn["tcp.options.timestamp.tsval"], syn["tcp.options.timestamp.tsecr"]) == \
           ("100", "0")
    assert (synack["tcp.options.timestamp.tsval"], synack["tcp.options.timestamp.tsecr"]) == \
           ("700", "100")
    assert ack["tcp.option_kind"].split(",") == ["1", "1", "8"]
    assert ack["tcp.options.mss_val"] == ""


def test_tshark_flags_a_corrupted_checksum(tmp_path):
    """The check above can fail: a flipped payload byte is reported as a bad checksum."""
    cap = handshake()
    good = cap[3]
    bad = bytearray(good.bytes)
    bad[-1] ^= 0xFF
    broken = Capture([CapturedPacket(good.time, good.link, good.pkt_id, good.packet,
                                     bytes(bad))])
    path = tmp_path / "bad.pcap"
    broken.write_pcap(path)
    (row,) = run_tshark(path)
    assert row["tcp.checksum.status"] == "0"  # 0 = Bad


def test_undecodable_bytes_are_captured_and_explained():
    cap = handshake()
    bad = bytearray(cap[3].bytes)
    bad[-1] ^= 0xFF
    cp = cap.append(0.05, "inject", 6, None, bytes(bad))
    assert str(cp) == ("0.050000 <57 bytes, not a valid IPv4 datagram: "
                       "bad TCP checksum>")
    assert [c.pkt_id for c in cap.filter(host=C)] == [1, 2, 3, 4, 5, 6]
    assert [c.pkt_id for c in cap.filter(port=CPORT)] == [1, 2, 3, 4, 5]
    assert "bad TCP checksum" in cap._repr_html_()
    assert cap.pcap_bytes().endswith(bytes(bad))
    with pytest.raises(ValueError, match="needs a Packet"):
        CapturedPacket(0.0, "l", 1, None)
