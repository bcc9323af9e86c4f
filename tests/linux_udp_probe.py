"""Runs INSIDE a private network namespace (tests/test_linux_udp_oracle.py creates and
deletes it): what the real kernel does with UDP.

Creates tun0 (10.9.0.1/24) and reads one JSON object from stdin: "probe" (hex of a UDP
datagram from 10.9.0.2 to a closed port of 10.9.0.1), "burst" (hex of 20 datagrams from
10.9.0.3 to closed ports) and "unreach" (a function of nothing: the test's own ICMP port
unreachable is built here from the datagram the kernel sends). Prints one JSON object:
the kernel's ICMP reply to the probe, how many ICMP replies the burst got, and what a
connected UDP socket's recv()/send() return after an ICMP port unreachable. Every wait is
bounded; no packet leaves the namespace.
"""
import errno
import fcntl
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

from simtcp import wire          # imported first (slow under load), before any timing
from simtcp.icmp import build_error  # noqa: F401  (the test builds the ICMP error)

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tun0", IFF_TUN | IFF_NO_PI))
try:
    with open("/proc/sys/net/ipv6/conf/all/disable_ipv6", "w") as f:
        f.write("1")
except OSError:
    pass
for cmd in (["ip", "link", "set", "lo", "up"],
            ["ip", "addr", "add", "10.9.0.1/24", "dev", "tun0"],
            ["ip", "link", "set", "tun0", "up"]):
    subprocess.run(cmd, check=True, timeout=10)


def read_packets(wait, proto):
    got, end = [], time.monotonic() + wait
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        pkt = os.read(fd, 65535)
        if len(pkt) >= 20 and pkt[0] >> 4 == 4 and pkt[9] == proto:
            got.append(pkt)
    return got


def outcome(fn):
    try:
        return ["ok", fn()]
    except OSError as e:
        return [type(e).__name__, e.errno]


read_packets(0.2, 1)                                   # drain what the setup caused
job = json.loads(sys.stdin.readline())
result = {}
os.write(fd, bytes.fromhex(job["probe"]))
result["reply"] = [p.hex() for p in read_packets(0.3, 1)]
for h in job["burst"]:
    os.write(fd, bytes.fromhex(h))
result["burst_replies"] = len(read_packets(0.5, 1))

# a connected UDP socket toward 10.9.0.2:9; the test answers its datagram with an ICMP
# port unreachable written into tun0, as a remote host would
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.connect(("10.9.0.2", 9))
s.settimeout(0.3)
s.send(b"hello")
(sent,) = read_packets(0.3, 17)[:1] or [b""]
print(json.dumps({"sent": sent.hex()}), flush=True)
answer = json.loads(sys.stdin.readline())
os.write(fd, bytes.fromhex(answer["icmp"]))
time.sleep(0.05)
result["recv1"] = outcome(lambda: s.recv(100))
result["recv2"] = outcome(lambda: s.recv(100))
result["send"] = outcome(lambda: s.send(b"again"))
read_packets(0.2, 17)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(2):
    u.sendto(b"loose", ("10.9.0.2", 7))
result["unconnected"] = [p.hex() for p in read_packets(0.3, 17)]
s.send(b"third")
result["connected"] = [p.hex() for p in read_packets(0.3, 17)]
print(json.dumps(result), flush=True)
