"""Runs INSIDE a private network namespace (tests/test_linux_oracle.py creates and deletes it).

Creates tun0 (10.9.0.1/24), listens on 10.9.0.1:80 (and on :82 with SO_RCVBUF 16384, and on
:83, whose connection is accepted and closed when a probe line says {"action":
"accept_close"}), then for each probe read from stdin (one
JSON object per line: "hex", an IPv4 packet "from" 10.9.0.2, and optionally "ack_isn" = k to
set its ACK field to the kernel's ISN for that client port + k) writes it into tun0 — the
real Linux kernel receives it — and prints the IPv4/TCP packets the kernel sends back within
a short, bounded wait, as one JSON list of hex strings per probe. No packet leaves the
namespace.
"""
import fcntl
import json
import os
import select
import socket
import struct
import subprocess
import sys
import time

from simtcp import wire   # imported before any probe: importing scapy takes long enough under
                          # load for the kernel's 1 s SYN-ACK timer to fire mid-handshake

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000

fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tun0", IFF_TUN | IFF_NO_PI))
try:       # no IPv6 chatter on tun0 (this namespace's own /proc/sys/net)
    with open("/proc/sys/net/ipv6/conf/all/disable_ipv6", "w") as f:
        f.write("1")
except OSError:
    pass      # no IPv6 in this kernel: nothing to silence
for cmd in (["ip", "link", "set", "lo", "up"],
            ["ip", "addr", "add", "10.9.0.1/24", "dev", "tun0"],
            ["ip", "link", "set", "tun0", "up"]):
    subprocess.run(cmd, check=True, timeout=10)
listener = socket.socket()
listener.bind(("10.9.0.1", 80))
listener.listen(8)
small = socket.socket()                               # port 82: a listener with SO_RCVBUF set
small.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 16384)
small.bind(("10.9.0.1", 82))
small.listen(8)
closer = socket.socket()                              # port 83: accept() and close() on request
closer.bind(("10.9.0.1", 83))
closer.listen(8)
closer.settimeout(2.0)


def replies(wait=0.3):
    got, end = [], time.monotonic() + wait
    while (left := end - time.monotonic()) > 0:
        ready, _, _ = select.select([fd], [], [], left)
        if not ready:
            break
        pkt = os.read(fd, 65535)
        if len(pkt) >= 20 and pkt[0] >> 4 == 4 and pkt[9] == 6:    # IPv4 + TCP only
            got.append(pkt.hex())
    return got


replies(0.2)                                          # drain anything the setup caused
isn = {}                                              # client port -> the kernel's ISN
for line in sys.stdin:
    item = json.loads(line)
    if item.get("action") == "accept_close":          # close() a connection with unread data
        conn, _ = closer.accept()
        conn.close()
        print(json.dumps(replies(item.get("wait", 0.3))), flush=True)
        continue
    data = bytes.fromhex(item["hex"])
    if item.get("ack_isn") is not None:               # acknowledge what the kernel chose
        pkt = wire.decode(data)
        seg = pkt.segment
        seg = seg.replace(ack=type(seg.ack)(isn[seg.sport] + item["ack_isn"]))
        data = wire.encode(pkt._replace(segment=seg))
    os.write(fd, data)
    got = replies(item.get("wait", 0.3))
    for h in got:
        b = bytes.fromhex(h)
        ihl = (b[0] & 15) * 4
        if b[ihl + 13] & 0x12 == 0x12:                # a SYN-ACK: remember its ISN
            isn[int.from_bytes(b[ihl + 2:ihl + 4], "big")] = int.from_bytes(b[ihl + 4:ihl + 8], "big")
    print(json.dumps(got), flush=True)
