"""Runs INSIDE the network namespace made by tests/test_shell_oracle.py: a UDP DNS server on
127.0.0.1:53 whose answers are the bytes simtcp's DnsServer builds (so the real dig and
simtcp's dig read the same messages). Serves until idle for 10 s; nothing leaves the
namespace."""
import socket
import sys

import simtcp

sys.path.insert(0, str(__import__("pathlib").Path(__file__).resolve().parent))
from test_shell_oracle import RECORDS  # noqa: E402

net = simtcp.Network(seed=1)
service = net.add_host("ns", "10.0.0.53").start_service("dns", records=RECORDS)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.bind(("127.0.0.1", 53))
u.settimeout(10)
print("ready", flush=True)
while True:
    try:
        data, addr = u.recvfrom(65535)
    except OSError:
        break
    for reply in service.answer(data, tcp=False):
        u.sendto(reply, addr)
