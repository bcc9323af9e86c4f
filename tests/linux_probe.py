"""Runs INSIDE a private network namespace (tests/test_linux_oracle.py creates and deletes it).

Creates tun0 (10.9.0.1/24), listens on 10.9.0.1:80, then for each probe read from stdin (one
hex-encoded IPv4 packet per line, "from" 10.9.0.2) writes it into tun0 — the real Linux
kernel receives it — and prints the IPv4/TCP packets the kernel sends back within a short,
bounded wait, as one JSON list of hex strings per probe. No packet leaves the namespace.
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

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000

fd = os.open("/dev/net/tun", os.O_RDWR)
fcntl.ioctl(fd, TUNSETIFF, struct.pack("16sH", b"tun0", IFF_TUN | IFF_NO_PI))
for cmd in (["ip", "link", "set", "lo", "up"],
            ["ip", "addr", "add", "10.9.0.1/24", "dev", "tun0"],
            ["ip", "link", "set", "tun0", "up"],
            ["sysctl", "-qw", "net.ipv6.conf.all.disable_ipv6=1"]):
    subprocess.run(cmd, check=True, timeout=10)
listener = socket.socket()
listener.bind(("10.9.0.1", 80))
listener.listen(8)


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
for line in sys.stdin:
    os.write(fd, bytes.fromhex(line.strip()))
    print(json.dumps(replies()), flush=True)
