"""Oracle: the real Linux kernel, in a private network namespace, and simtcp on UDP.

The same datagrams go to both: the ICMP port unreachable a closed port sends (fields and
quote), how many replies a burst of 20 gets (the ICMP rate limit), and what a connected UDP
socket reports after an ICMP port unreachable. Needs root, iproute2 and /dev/net/tun;
skips with a reason elsewhere. Nothing is sent outside the namespace.
"""
import json
import subprocess
import sys
from pathlib import Path

from netns import namespaces, requires

import simtcp
from simtcp import wire
from simtcp.packet import Datagram
from simtcp.segment import Packet

HERE = Path(__file__).resolve().parent
pytestmark = requires(tun=True)

PROBE = Packet("10.9.0.2", "10.9.0.1", Datagram(40000, 9, b"simtcp udp probe"), ident=4242,
               df=False)
BURST = [Packet("10.9.0.3", "10.9.0.1", Datagram(41000 + i, 2000 + i, b"x"), ident=100 + i,
                df=False) for i in range(20)]


def linux():
    with namespaces("udp") as ns:
        proc = ns.popen("udp", sys.executable, str(HERE / "linux_udp_probe.py"),
                        stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                        text=True)
        try:
            proc.stdin.write(json.dumps({"probe": wire.encode(PROBE).hex(),
                                         "burst": [wire.encode(p).hex() for p in BURST]}) + "\n")
            proc.stdin.flush()
            sent = bytes.fromhex(json.loads(proc.stdout.readline())["sent"])
            datagram = wire.decode(sent)
            icmp = _port_unreachable_for(datagram, sent)
            proc.stdin.write(json.dumps({"icmp": wire.encode(icmp).hex()}) + "\n")
            proc.stdin.flush()
            out, err = proc.communicate(timeout=60)
            assert proc.returncode == 0, err
        finally:
            if proc.poll() is None:
                proc.kill()
        return json.loads(out.strip().splitlines()[-1]), datagram


def _port_unreachable_for(datagram, data):
    """The ICMP port unreachable 10.9.0.2 would send about ``datagram``, built by simtcp."""
    net = simtcp.Network(seed=3)
    other = net.add_host("other", "10.9.0.2")
    from simtcp.icmp import build_error
    return build_error(other, datagram, 3, 3, data=data)


def simtcp_reply(packet):
    net = simtcp.Network(seed=1)
    server = net.add_host("server", "10.9.0.1")
    peer = net.add_peer("10.9.0.2")
    net.add_link(peer, server, delay=0.001)
    peer.send(packet)
    net.run()
    return peer.packets


def fields(p: Packet):
    m = p.payload
    return {"src": p.src, "dst": p.dst, "proto": p.proto, "ttl": p.ttl, "tos": p.tos,
            "df": p.df, "type": m.type, "code": m.code, "rest": m.rest, "quote": m.quote.hex()}


def test_port_unreachable_rate_limit_and_econnrefused_match_the_kernel():
    result, datagram = linux()
    (kernel,) = [wire.decode(bytes.fromhex(h)) for h in result["reply"]]
    (ours,) = simtcp_reply(PROBE)
    assert fields(ours) == fields(kernel)
    assert kernel.payload.quote == wire.encode(PROBE)        # the whole datagram is quoted
    # the burst from a fresh source: XRLIM_BURST_FACTOR (6) replies
    net = simtcp.Network(seed=2)
    server = net.add_host("server", "10.9.0.1")
    peer = net.add_peer("10.9.0.3")
    net.add_link(peer, server, delay=0.001)
    for p in BURST:
        peer.send(p)
    net.run()
    assert len(peer.packets) == result["burst_replies"] == 6
    # a connected socket: the error surfaces once, at the next recv(); send() works again
    assert result["recv1"] == ["ConnectionRefusedError", 111]
    assert result["recv2"][0] == "TimeoutError"
    assert result["send"] == ["ok", 5]
    net = simtcp.Network(seed=4)
    a = net.add_host("a", "10.9.0.1")
    b = net.add_host("b", "10.9.0.2")
    net.add_link(a, b, delay=0.001)
    s = a.socket(2, 2)
    s.connect(("10.9.0.2", 9))
    s.settimeout(0.3)
    s.send(b"hello")
    net.run()

    def outcome(fn):
        try:
            return ["ok", fn()]
        except OSError as e:
            return [type(e).__name__, e.errno]
    ours = {"recv1": outcome(lambda: s.recv(100)), "recv2": outcome(lambda: s.recv(100)),
            "send": outcome(lambda: s.send(b"again"))}
    assert [ours[k][0] for k in ours] == [result[k][0] for k in ours]
    assert ours["recv1"] == result["recv1"] and ours["send"] == result["send"]
    assert datagram.payload.payload == b"hello"
    # what the kernel's own datagrams look like: DF set; IDs count up per connected
    # socket ("hello", "again", "third") and per destination for unconnected sendto()
    loose = [wire.decode(bytes.fromhex(h)) for h in result["unconnected"]]
    (third,) = [wire.decode(bytes.fromhex(h)) for h in result["connected"]]
    assert datagram.df and third.df and all(d.df for d in loose)
    assert (third.ident - datagram.ident) % 65536 == 2
    assert (loose[1].ident - loose[0].ident) % 65536 == 1
    s.send(b"third")
    u = a.socket(2, 2)
    for _ in range(2):
        u.sendto(b"loose", ("10.9.0.2", 7))
    net.run()
    sent = [r.packet for r in net.trace if r.kind == "send" and r.host == "a"
            and r.packet.proto == 17]
    hello, again, third_ours, l1, l2 = sent
    assert all(p.df for p in sent)
    assert (third_ours.ident - hello.ident) % 65536 == 2
    assert (l2.ident - l1.ident) % 65536 == 1
