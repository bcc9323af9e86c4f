"""Profile the fast-mode workloads of issue 14 and print what each unit costs in Python calls.

Wall-clock figures on a shared machine swing with its load; the number of Python function
calls per connection (or per SYN) does not: it changes only when the code does, so it is
the figure to compare before and after a change to the hot path. The top entries by own
time say where to look next.

    .venv/bin/python bench/profile_fast.py [connection|ports|flood] [n] [top]
"""
from __future__ import annotations

import cProfile
import os
import pstats
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import bench_connections  # noqa: E402
import bench_flood  # noqa: E402
import bench_ports  # noqa: E402

WORKLOADS = {
    # name: (what one unit is, default n, run n units)
    "connection": ("connection (connect, accept, 100 B each way, close both)", 1000,
                   lambda n: bench_connections.simtcp_connections(n, "fast")),
    "ports": ("connection of a port exhaustion", 5000, lambda n: bench_ports.exhaust(n)),
    "flood": ("SYN of a cookies-on flood", 20000, lambda n: bench_flood.flood(n, "fast")),
}


def main(argv) -> None:
    name = argv[1] if len(argv) > 1 else "connection"
    unit, n, run = WORKLOADS[name]
    n = int(argv[2]) if len(argv) > 2 else n
    top = int(argv[3]) if len(argv) > 3 else 25
    run(min(n, 200))                             # warm-up: imports, lazy caches
    profile = cProfile.Profile()
    profile.enable()
    run(n)
    profile.disable()
    stats = pstats.Stats(profile, stream=sys.stdout)
    print(f"{name}: {stats.total_calls / n:,.0f} Python function calls per {unit} "
          f"({n:,} of them; the time below is inflated by the profiler)")
    stats.sort_stats("tottime").print_stats(top)


if __name__ == "__main__":
    main(sys.argv)
