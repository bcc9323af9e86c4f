"""Benchmark: simtcp's cost per segment against bare scapy, measured in one run.

Prints, for the same segments:
  (a) bare scapy: build the IPv4/TCP bytes and dissect them again (the fair baseline),
  (b) a simtcp transfer in wire="bytes" mode (every segment encoded by scapy and decoded
      and checksum-verified by the receiver, plus the whole TCP machinery and the trace),
  (c) the same transfer in wire="fast" mode (segments travel as objects),
and the ratios (b)/(a) (goal ≤ 1.5) and (a)/(c) (goal ≥ 10). Not a test: numbers only.
Run: .venv/bin/python bench/bench_segments.py [megabytes]
"""
from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _goals import goal_line  # noqa: E402
from _scapy_baseline import bare_scapy_cost  # noqa: E402

import simtcp  # noqa: E402


def transfer(wire: str, size: int, seed: int = 1):
    """One bulk transfer (with 1% loss, so retransmissions are part of the cost)."""
    net = simtcp.Network(seed=seed, wire=wire)
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.005, loss=0.01, bandwidth=50e6)
    srv = b.socket()
    srv.bind(("", 5001))
    srv.listen(1)
    t0 = time.perf_counter()
    c = a.socket()
    c.connect(("10.0.0.2", 5001))
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
    return elapsed, net


def main() -> None:
    mb = float(sys.argv[1]) if len(sys.argv) > 1 else 2.0
    size = int(mb * (1 << 20))
    transfer("fast", 100_000)                       # warm-up (imports, caches)
    t_bytes, net = transfer("bytes", size)
    n = len(net.capture)
    t_fast, net_fast = transfer("fast", size)
    assert len(net_fast.capture) == n and net_fast.trace.records == net.trace.records
    packets = [cp.packet for cp in net.capture]
    a = bare_scapy_cost(packets, 1)
    b = t_bytes / n
    c = t_fast / n
    print(f"segments in the transfer            : {n} ({mb:g} MB, 1% loss)")
    print(f"(a) bare scapy encode + decode      : {a * 1e6:8.1f} µs/segment")
    print(f"(b) simtcp wire='bytes'             : {b * 1e6:8.1f} µs/segment")
    print(f"(c) simtcp wire='fast'              : {c * 1e6:8.1f} µs/segment")
    goal_line("bulk transfer, (b) simtcp bytes mode / (a) bare scapy, per segment", b / a, 1.5, "x")
    goal_line("bulk transfer, (a) bare scapy / (c) simtcp fast mode, per segment", a / c, 10,
              "x", at_least=True)


if __name__ == "__main__":
    main()
