"""Benchmark: the cost of one whole TCP connection, simtcp against the real kernel's loopback.

One "connection" is: connect, accept, 100 bytes each way, close both ends (11 segments).
The kernel figure is the same loop driven from Python with the standard `socket` module on
127.0.0.1 — the cheapest real TCP a Python user can have — measured in this same run, so the
printed ratios do not depend on how fast this machine happens to be.

simtcp runs the loop over a 0.1 ms link in both wire modes (``fast``: segments as objects;
``bytes``: every segment encoded by scapy and decoded again by the receiver), then
``net.run()`` drains TIME-WAIT. Goals (issue 14): fast ≤ 3× the kernel, bytes ≤ 15×.

Run: .venv/bin/python bench/bench_connections.py [connections]   (default 400)
"""
from __future__ import annotations

import socket
import sys
import time

import simtcp

PAYLOAD = b"x" * 100
GOALS = {"fast": 3.0, "bytes": 15.0}


def one_connection(connect, accept) -> None:
    """The measured workload, the same for both stacks: connect, accept, 100 bytes each
    way, close both ends."""
    cli = connect()
    conn, _ = accept()
    cli.sendall(PAYLOAD)
    conn.recv(1024)
    conn.sendall(PAYLOAD)
    cli.recv(1024)
    cli.close()
    conn.close()


def kernel_loopback(n: int) -> float:
    """Seconds per connection on the real kernel's loopback (Python's socket module)."""
    srv = socket.socket()
    srv.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    srv.bind(("127.0.0.1", 0))
    srv.listen(128)
    addr = srv.getsockname()
    t0 = time.perf_counter()
    for _ in range(n):
        one_connection(lambda: socket.create_connection(addr), srv.accept)
    elapsed = time.perf_counter() - t0
    srv.close()
    return elapsed / n


def simtcp_connections(n: int, wire: str) -> float:
    """Seconds per connection in simtcp (tracing and capture off, as in a big run)."""
    net = simtcp.Network(seed=1, wire=wire, trace=False, capture=False)
    client = net.add_host("client", "10.0.0.1")
    server = net.add_host("server", "10.0.0.2")
    net.add_link(client, server, delay=0.0001)
    srv = server.socket()
    srv.bind(("", 80))
    srv.listen(4096)
    t0 = time.perf_counter()
    def connect():
        cli = client.socket()
        cli.connect(("10.0.0.2", 80))
        return cli

    for _ in range(n):
        one_connection(connect, srv.accept)
    net.run()
    return (time.perf_counter() - t0) / n


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    simtcp_connections(20, "fast")          # warm caches and imports outside the clock
    kernel = kernel_loopback(n)
    print(f"whole connection (connect, accept, 100 B each way, close both; {n} connections)")
    print(f"  kernel loopback (Python socket): {kernel * 1e6:8.1f} µs per connection")
    for wire in ("fast", "bytes"):
        cost = simtcp_connections(n if wire == "fast" else max(n // 4, 20), wire)
        ratio = cost / kernel
        verdict = "meets" if ratio <= GOALS[wire] else "misses"
        print(f"  simtcp wire={wire:<5}               : {cost * 1e6:8.1f} µs per connection"
              f" = {ratio:5.1f}× kernel (goal ≤ {GOALS[wire]:g}×: {verdict})")


if __name__ == "__main__":
    main()
