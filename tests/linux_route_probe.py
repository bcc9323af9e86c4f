"""Runs INSIDE the client namespace that test_linux_oracle.py builds (client — router —
server, veth pairs); never run it on a real machine. Prints one JSON object:

  "ttl1":   hex of every ICMP message that came back for a UDP probe sent with TTL 1
            (the router's time exceeded, with its quote);
  "connect": for each target, the errno connect() failed with and how long it took.

Every wait is bounded; only the namespaces' own addresses are used.
"""
import errno
import json
import select
import socket
import sys
import time

probe = bytes.fromhex(sys.argv[1])          # the UDP probe simtcp encoded (TTL 1)
targets = json.loads(sys.argv[2])            # [[name, ip, port], ...]

icmp = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_ICMP)
raw = socket.socket(socket.AF_INET, socket.SOCK_RAW, socket.IPPROTO_RAW)   # IP_HDRINCL
raw.sendto(probe, (socket.inet_ntoa(probe[16:20]), 0))
got, end = [], time.monotonic() + 1.0
while (left := end - time.monotonic()) > 0:
    ready, _, _ = select.select([icmp], [], [], left)
    if not ready:
        break
    got.append(icmp.recv(65535).hex())

results = {}
for name, ip, port in targets:
    s = socket.socket()
    s.settimeout(8.0)
    t0 = time.monotonic()
    try:
        s.connect((ip, port))
        results[name] = [0, time.monotonic() - t0]
    except OSError as e:
        results[name] = [e.errno or errno.ETIMEDOUT, time.monotonic() - t0]
    s.close()
print(json.dumps({"ttl1": got, "connect": results}), flush=True)
