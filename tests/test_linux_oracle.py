"""Oracle: the real Linux kernel, in a private network namespace, answers the same segments.

Each probe is encoded by simtcp (scapy), written into a TUN device inside a namespace this
test creates (and deletes), and the kernel's answer is compared with simtcp's answer to the
same bytes. Only structure that does not depend on randomness is compared (flags, the
seq/ack relation, window, option order). Needs root, iproute2 and /dev/net/tun; skips with a
reason elsewhere. Nothing is sent outside the namespace.
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
from simtcp.segment import Options, Packet, Segment

HERE = Path(__file__).resolve().parent
CAN = os.geteuid() == 0 and shutil.which("ip") and os.path.exists("/dev/net/tun")
pytestmark = pytest.mark.skipif(not CAN, reason="needs root, iproute2 and /dev/net/tun")

FULL = Options(mss=1460, sack_perm=True, ts=(12345, 0), wscale=7)
PROBES = {   # name: (dport, compact notation)
    "closed SYN": (81, "S 1000:1000(0) win 64240"),
    "closed ACK": (81, ". 5:5(0) ack 777777 win 512"),
    "closed FIN+data": (81, "F 2000:2003(3) win 512"),
    "closed no flags": (81, "none"),
    "closed RST": (81, "R 1:1(0) win 0"),
    "listener SYN, full options": (80, "S 3000:3000(0) win 64240"),
    "listener SYN, no options": (80, "S 4000:4000(0) win 8192"),
}


def probe_packets():
    out = {}
    for i, (name, (dport, text)) in enumerate(PROBES.items()):
        if text == "none":
            seg = Segment(40000 + i, dport, simtcp.Seq(4000), flags=simtcp.Flags(0), window=512)
        else:
            seg = Segment.parse(text, sport=40000 + i, dport=dport)
            if "full" in name:
                seg = seg.replace(options=FULL)
        out[name] = Packet("10.9.0.2", "10.9.0.1", seg)
    return out


def linux_answers(packets):
    ns = f"simtcp-oracle-{uuid.uuid4().hex[:8]}"
    try:
        made = subprocess.run(["ip", "netns", "add", ns], capture_output=True, timeout=10)
        if made.returncode:
            pytest.skip(f"cannot create a network namespace: {made.stderr.decode().strip()}")
        stdin = "".join(wire.encode(p).hex() + "\n" for p in packets.values())
        run = subprocess.run(["ip", "netns", "exec", ns, sys.executable,
                              str(HERE / "linux_probe.py")], input=stdin, text=True,
                             capture_output=True, timeout=60)
        assert run.returncode == 0, run.stderr
        lines = run.stdout.strip().splitlines()
        return {name: [wire.decode(bytes.fromhex(h)) for h in json.loads(line)]
                for name, line in zip(packets, lines)}
    finally:
        subprocess.run(["ip", "netns", "del", ns], capture_output=True, timeout=10)


def simtcp_answers(packets):
    net = simtcp.Network(seed=1)
    server = net.add_host("server", "10.9.0.1")
    peer = net.add_peer("10.9.0.2")
    net.add_link(peer, server, delay=0.001)
    s = server.socket()
    s.bind(("10.9.0.1", 80))
    s.listen(8)
    out = {}
    for name, p in packets.items():
        before = len(peer.packets)
        peer.send(p)
        net.run(until=net.now + 0.1)
        out[name] = peer.packets[before:]
    return out


def shape(probe: Packet, answers):
    """What must match: flags, seq/ack relative to the probe, window, option kinds."""
    res = []
    for a in answers:
        seg, q = a.segment, probe.segment
        o = seg.options
        res.append({
            "flags": seg.flags.names,
            "seq": "SEG.ACK" if int(seg.seq) == int(q.ack) and q.ack else
                   ("0" if int(seg.seq) == 0 else "ISN"),
            "ack": (int(seg.ack) - int(q.seq)) % 2**32 if seg.flags & simtcp.Flags.ACK else None,
            "window": seg.window if seg.flags & simtcp.Flags.RST or seg.flags & simtcp.Flags.SYN
            else "-",
            "options": [k for k, v in (("mss", o.mss), ("sackOK", o.sack_perm), ("ts", o.ts),
                                       ("wscale", o.wscale)) if v],
            "mss": o.mss, "ts_echo": o.ts[1] if o.ts else None,
            "df": a.df, "ident": a.ident if seg.flags & simtcp.Flags.RST else "-",
        })
    return res


def test_simtcp_answers_like_the_linux_kernel():
    packets = probe_packets()
    linux, ours = linux_answers(packets), simtcp_answers(packets)
    for name, probe in packets.items():
        assert shape(probe, ours[name]) == shape(probe, linux[name]), name
    # a few facts the comparison rests on, stated plainly (FACTS §2, §10)
    assert linux["closed RST"] == []
    synack = linux["listener SYN, full options"][0].segment
    assert synack.flags == simtcp.Flags.SYN | simtcp.Flags.ACK and synack.window == 65160
