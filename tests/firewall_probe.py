"""Runs INSIDE the client namespace made by tests/test_firewall_oracle.py.

Opens a packet socket on ``va`` (so nothing is missed), connect()s to 10.7.0.2:80 with a
bounded timeout, and prints one JSON object: the errno name (or "connected") and the hex of
every IPv4 packet the server side sent back (ICMP or TCP) during the attempt. Nothing leaves
the namespace pair.
"""
import errno
import json
import select
import socket
import time

ETH_P_IP = 0x0800


def _sum16(data):
    if len(data) % 2:
        data += b"\0"
    total = sum(int.from_bytes(data[i:i + 2], "big") for i in range(0, len(data), 2))
    while total >> 16:
        total = (total & 0xFFFF) + (total >> 16)
    return total


def fix_tcp_checksum(ip):
    """veth offloads checksums: a packet socket sees a TCP checksum not yet filled in
    (CHECKSUM_PARTIAL). Fill it in, as the wire would have."""
    ihl = (ip[0] & 0x0F) * 4
    total = int.from_bytes(ip[2:4], "big")
    tcp = bytearray(ip[ihl:total])
    tcp[16:18] = b"\0\0"
    pseudo = ip[12:20] + bytes((0, 6)) + len(tcp).to_bytes(2, "big")
    tcp[16:18] = (~_sum16(pseudo + bytes(tcp)) & 0xFFFF).to_bytes(2, "big")
    return ip[:ihl] + bytes(tcp) + ip[total:]
sniff = socket.socket(socket.AF_PACKET, socket.SOCK_RAW, socket.htons(ETH_P_IP))
sniff.bind(("va", 0))
sniff.setblocking(False)
c = socket.socket()
c.settimeout(20)
try:
    c.connect(("10.7.0.2", 80))
    result = "connected"
except OSError as e:
    result = errno.errorcode.get(e.errno, str(e.errno)) if e.errno else type(e).__name__
replies = []
end = time.monotonic() + 0.3
while (left := end - time.monotonic()) > 0:
    ready, _, _ = select.select([sniff], [], [], left)
    if not ready:
        break
    frame, addr = sniff.recvfrom(65535)
    if addr[2] == socket.PACKET_OUTGOING:
        continue
    ip = frame[14:] if len(frame) > 14 and frame[12:14] == b"\x08\x00" else frame
    if len(ip) >= 20 and ip[0] >> 4 == 4 and ip[12:16] == socket.inet_aton("10.7.0.2"):
        if ip[9] == 6:
            ip = fix_tcp_checksum(ip)
        replies.append(ip.hex())
print(json.dumps({"result": result, "replies": replies}))
