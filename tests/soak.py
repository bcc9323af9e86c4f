"""Soak: many short connections on one network, memory measured as TIME-WAIT drains.

Each connection: connect, accept, one byte each way, close on both sides; after every batch
the network runs until idle, so every TIME-WAIT has expired and every closed socket should
be gone. Memory (tracemalloc, after a garbage collection) is sampled after each batch; a
leak shows as growth per 1,000 connections between the first sample and the last.

    python tests/soak.py [connections] [--trace-limit N] [--no-trace]

``make soak`` runs the full 50,000; tests/test_soak.py runs a CI-sized count.
"""
from __future__ import annotations

import gc
import sys
import tracemalloc
from typing import List, NamedTuple

import simtcp


class SoakResult(NamedTuple):
    connections: int
    samples: List[int]                 # traced bytes after each batch
    per_1000: float                    # growth per 1,000 connections: least-squares slope
    sockets_left: int                  # client + server sockets still tracked
    owners_left: int
    conns_left: int
    trace_records: int
    capture_packets: int


def soak(connections: int, batch: int = 1000, trace_limit=None, trace: bool = True,
         capture_limit=None, capture: bool = True, wire: str = "fast") -> SoakResult:
    net = simtcp.Network(seed=11, wire=wire, trace=trace, capture=capture,
                         trace_limit=trace_limit, capture_limit=capture_limit)
    c = net.add_host("c", "10.1.0.1")
    s = net.add_host("s", "10.1.0.2")
    net.add_link(c, s, delay=0.0005)
    lst = s.socket()
    lst.bind(("", 80))
    lst.listen(128)
    samples = []
    tracemalloc.start()
    try:
        done = 0
        while done < connections:
            for _ in range(min(batch, connections - done)):
                a = c.socket()
                a.connect(("10.1.0.2", 80))
                b, _ = lst.accept()
                a.sendall(b"q")
                b.recv(1)
                b.sendall(b"r")
                a.recv(1)
                a.close()
                b.close()
                done += 1
            net.run()                       # until idle: every TIME-WAIT has expired
            gc.collect()
            samples.append(tracemalloc.get_traced_memory()[0])
    finally:
        tracemalloc.stop()
    # The slope of a least-squares line through the samples, not last minus first: what a
    # capped trace/capture ring holds at a sample point varies by tens of KiB from batch to
    # batch (which records happen to be in the ring), so two end points alone are noise.
    n = len(samples)
    if n > 1:
        xs = [i * batch for i in range(n)]
        mx, my = sum(xs) / n, sum(samples) / n
        per_1000 = 1000 * (sum((x - mx) * (y - my) for x, y in zip(xs, samples))
                           / sum((x - mx) ** 2 for x in xs))
    else:
        per_1000 = 0.0
    return SoakResult(connections, samples, per_1000, len(c.sockets) + len(s.sockets),
                      len(c.stack.owner) + len(s.stack.owner),
                      len(c.stack.conns) + len(s.stack.conns), len(net.trace),
                      len(net.capture))


if __name__ == "__main__":
    args = sys.argv[1:]
    n = int(args[0]) if args and args[0].isdigit() else 50_000
    limit = int(args[args.index("--trace-limit") + 1]) if "--trace-limit" in args else 10_000
    on = "--no-trace" not in args
    r = soak(n, trace_limit=limit if on else None, trace=on, capture_limit=limit if on else None,
             capture=on)
    print(f"{r.connections} connections, trace {'capped at ' + str(limit) if on else 'off'}: "
          f"memory {r.samples[0] / 2**20:.2f} MiB after the first 1,000, "
          f"{r.samples[-1] / 2**20:.2f} MiB at the end; growth {r.per_1000 / 1024:.2f} KiB per "
          f"1,000 connections; sockets left {r.sockets_left}, owners {r.owners_left}, "
          f"connections {r.conns_left}; trace {r.trace_records} records, capture "
          f"{r.capture_packets} packets")
