"""Benchmark: exhaust Linux's default ephemeral range from one client toward one server:port.

Every connect() runs the real allocator (__inet_hash_connect: even ports first, then the odd
ones, each call scanning from a hash-chosen offset) and a full handshake in wire="fast" mode.
Prints the time per allocation, the ratio to the same number of bare scapy SYN encodes
measured in this run (goal: the whole exhaustion faster than those encodes), and the peak
memory per established connection endpoint (tracemalloc; goal ≤ 4 KiB).
Run: .venv/bin/python bench/bench_ports.py [count]   (default: the whole range, 28,232)
"""
from __future__ import annotations

import errno
import sys
import time
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _scapy_baseline import bare_scapy_costs  # noqa: E402

import simtcp  # noqa: E402
from simtcp.segment import Packet, Segment  # noqa: E402


def exhaust(limit=None):
    net = simtcp.Network(seed=1, wire="fast", trace=False, capture=False)
    client = net.add_host("client", "10.0.0.1")
    server = net.add_host("server", "10.0.0.2")
    net.add_link(client, server, delay=0.0001)
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(4096)
    socks, ports = [], []
    t0 = time.perf_counter()
    error = None
    while limit is None or len(socks) < limit:
        s = client.socket()
        s.setblocking(False)
        code = s.connect_ex(("10.0.0.2", 80))
        if code not in (0, errno.EINPROGRESS):
            error = OSError(code, errno.errorcode.get(code, "?"))
            break
        socks.append(s)
        ports.append(s.local[1])
        if len(socks) % 256 == 0:
            net.run()
            while srv.listener.accept_queue:
                srv.listener.accept_queue.popleft()
    net.run()
    elapsed = time.perf_counter() - t0
    return elapsed, ports, error, net


def memory_per_endpoint(n=2000):
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    _, ports, _, net = exhaust(n)
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    endpoints = sum(len(h.stack.conns) for h in net.nodes.values())
    return grown / max(endpoints, 1), endpoints


def main():
    limit = int(sys.argv[1]) if len(sys.argv) > 1 else None
    elapsed, ports, error, _ = exhaust(limit)
    n = len(ports)
    evens = next((i for i, p in enumerate(ports) if p % 2), n)
    syn = Packet("10.0.0.1", "10.0.0.2", Segment.parse(
        "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>", 40000, 80))
    enc, _ = bare_scapy_costs([syn], repeat=min(n, 3000))
    scapy_total = enc * n
    print(f"connections opened                  : {n}"
          f" ({evens} even ports first, then odd)")
    print(f"ended with                          : "
          f"{errno.errorcode.get(getattr(error, 'errno', 0), 'no error')} {error or ''}")
    print(f"time per allocation (+ handshake)   : {elapsed / n * 1e6:8.1f} µs  (whole run {elapsed:.1f} s)")
    print(f"bare scapy SYN encode               : {enc * 1e6:8.1f} µs  ({n} of them: {scapy_total:.1f} s)")
    print(f"exhaustion run / scapy encodes      : {elapsed / scapy_total:6.2f}  (goal < 1)")
    per, endpoints = memory_per_endpoint()
    print(f"memory per connection endpoint      : {per / 1024:6.2f} KiB over {endpoints} endpoints "
          "(goal ≤ 4 KiB)")


if __name__ == "__main__":
    main()
