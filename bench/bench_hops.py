"""Benchmark: what forwarding costs. One bulk transfer in wire="fast" mode over one link,
then over three links (two routers between the hosts), with the trace and capture on.

Prints the cost per end-to-end segment (segments the two hosts sent) for
  (a) one hop, addresses without prefixes (simtcp's original implicit routing),
  (b) one hop, interfaces with prefixes and routing tables,
  (c) three hops through two routers (TTL, route lookup, hooks points, a new packet id per
      hop), and the ratio (c)/(b) (goal ≤ 3: a hop costs no more than a one-hop delivery),
and the same in wire="bytes" mode, where a router re-checks the bytes it receives and
adjusts the TTL and header checksum in place (ip_decrease_ttl()), not re-encoding.
Not a test: numbers only. Run: .venv/bin/python bench/bench_hops.py [megabytes]
"""
from __future__ import annotations

import os
import sys
import time

import simtcp

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _goals import goal_line  # noqa: E402


def build(kind: str, wire: str):
    net = simtcp.Network(seed=1, wire=wire)
    if kind == "legacy":
        a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
        net.add_link(a, b, delay=0.005, bandwidth=50e6)
        return net, a, b, "10.0.0.2"
    if kind == "one":
        a = net.add_host("a", "10.0.0.1/24")
        b = net.add_host("b", "10.0.0.2/24")
        net.add_link(a, b, delay=0.005, bandwidth=50e6)
        return net, a, b, "10.0.0.2"
    a = net.add_host("a", "10.0.1.10/24", gateway="10.0.1.1")
    r1 = net.add_router("r1", "10.0.1.1/24", "10.0.12.1/30")
    r2 = net.add_router("r2", "10.0.12.2/30", "10.0.2.1/24")
    b = net.add_host("b", "10.0.2.10/24", gateway="10.0.2.1")
    for x, y in ((a, r1), (r1, r2), (r2, b)):
        net.add_link(x, y, delay=0.005 / 3, bandwidth=50e6)
    r1.routes.add("10.0.2.0/24", via="10.0.12.2")
    r2.routes.add("default", via="10.0.12.1")
    return net, a, b, "10.0.2.10"


def transfer(kind: str, wire: str, size: int):
    net, a, b, dst = build(kind, wire)
    srv = b.socket()
    srv.bind(("", 5001))
    srv.listen(1)
    t0 = time.perf_counter()
    c = a.socket()
    c.connect((dst, 5001))
    s, _ = srv.accept()
    c.sendall(bytes(size))
    c.close()
    got = 0
    while chunk := s.recv(1 << 20):
        got += len(chunk)
    s.close()
    net.run()
    elapsed = time.perf_counter() - t0
    assert got == size
    segments = sum(1 for r in net.trace if r.kind == "send" and r.host in ("a", "b"))
    return elapsed / segments, segments


def main() -> None:
    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    size = int(mb * (1 << 20))
    transfer("one", "fast", 100_000)                          # warm-up
    for wire in ("fast", "bytes"):
        legacy, n = transfer("legacy", wire, size)
        one, _ = transfer("one", wire, size)
        three, _ = transfer("three", wire, size)
        print(f"wire={wire!r}: {n} end-to-end segments ({mb:g} MB)")
        print(f"  (a) one hop, implicit routing   : {legacy * 1e6:8.1f} µs/segment")
        print(f"  (b) one hop, routing table      : {one * 1e6:8.1f} µs/segment")
        print(f"  (c) three hops, two routers     : {three * 1e6:8.1f} µs/segment")
        print(f"  (b)/(a) = {one / legacy:4.2f}")
        goal_line(f"wire={wire}: three hops / one hop, per end-to-end segment", three / one,
                  3.0, "x")


if __name__ == "__main__":
    main()
