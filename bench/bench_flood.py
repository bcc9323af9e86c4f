"""Benchmark: SYN floods through the whole simulator, against bare scapy measured in the same run.

Two floods with SYN cookies on (tcp_syncookies=1, backlog 128), trace and capture off:

* 100,000 SYNs with ``wire="fast"`` (segments travel as objects; nothing is encoded);
* 10,000 SYNs with ``wire="bytes"`` (every segment that reaches a link is built by scapy and
  parsed again by the receiver, checksums verified).

Per SYN the simulator does: the attacker's send, the link, the server's demux and listener
checks, a SYN cookie, the SYN-ACK's transmit — which dies at the server with "no route to
host" (a spoofed address) before being encoded. So in bytes mode one SYN costs scapy one
encode and one decode, exactly what ``bare_scapy_cost`` measures per segment; the ratio
"simtcp per SYN / bare scapy per segment" is the price of everything else.

Goals: bytes mode <= 1.5x bare scapy per SYN; fast mode >= 10x cheaper than bare scapy.
Peak memory is measured in separate runs (tracemalloc slows Python down).

    .venv/bin/python bench/bench_flood.py            # numbers
    .venv/bin/python bench/bench_flood.py --profile  # + the top cProfile entries (fast mode)
"""
from __future__ import annotations

import cProfile
import gc
import os
import pstats
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

from _scapy_baseline import bare_scapy_costs  # noqa: E402

from simtcp.segment import Flags, Options, Packet, Segment  # noqa: E402
from simtcp.seq import Seq  # noqa: E402
from simtcp.tools.flood import run_flood_scenario  # noqa: E402

RATE = 20_000.0          # SYN/s; the flood lasts n / RATE virtual seconds


def flood(n: int, wire: str):
    return run_flood_scenario(syncookies=1, flood_rate=RATE, flood_duration=n / RATE,
                              flood_start=0.1, clients=1, client_rate=1.0,
                              until=n / RATE + 1.0, sample_every=0.5, wire=wire,
                              trace=False, capture=False)


def timed(n: int, wire: str):
    gc.collect()
    t0 = time.perf_counter()
    run = flood(n, wire)
    return run, time.perf_counter() - t0


def peak_memory(n: int, wire: str) -> int:
    gc.collect()
    tracemalloc.start()
    flood(n, wire)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return peak


def flood_like_syns(k: int = 200):
    """Segments like the flood's: SYN <mss 1460,nop,wscale 7> from spoofed sources."""
    out = []
    for i in range(k):
        seg = Segment(1024 + i * 7, 80, Seq(i * 7919), Seq(0), Flags.SYN, 64240,
                      Options(mss=1460, wscale=7))
        out.append(Packet(f"10.99.{i // 250}.{i % 250 + 1}", "192.168.1.10", seg, ident=i))
    return out


def main(profile: bool = False) -> None:
    flood(2000, "fast")                       # warm-up: imports, lazy caches
    flood(500, "bytes")
    syns = flood_like_syns()
    bare_scapy_costs(syns[:20], 1)            # warm-up
    enc, dec = bare_scapy_costs(syns, 10)
    bare = enc + dec
    print(f"bare scapy, SYN <mss,wscale>: encode {enc * 1e6:.1f} us + decode {dec * 1e6:.1f} us"
          f" = {bare * 1e6:.1f} us per segment")

    rows = []
    for n, wire in ((100_000, "fast"), (10_000, "bytes")):
        run, wall = timed(n, wire)
        c = run.server.counters
        segs = run.flood.sent + c["OutSegs"]
        per_syn = wall / run.flood.sent
        rows.append((n, wire, wall, per_syn, wall / segs, run))
        print(f"\n{n:,} SYNs, wire={wire!r}: {wall:.2f} s wall, {run.net.now:g} s virtual")
        print(f"  per SYN (whole simulation): {per_syn * 1e6:7.1f} us   "
              f"per segment sent ({segs:,}): {wall / segs * 1e6:7.1f} us")
        print(f"  cookies sent {c['SyncookiesSent']:,}, SYN queue peak "
              f"{max(run.series.syn_queue)}, server connections left "
              f"{len(run.server.stack.conns)}")
        if wire == "fast":
            print(f"  bare scapy / simtcp fast per SYN: {bare / per_syn:.2f}x cheaper "
                  f"(goal >= 10x)")
        else:
            print(f"  simtcp bytes per SYN / bare scapy per segment: {per_syn / bare:.2f}x "
                  f"(goal <= 1.5x)")

    for n, wire in ((100_000, "fast"), (10_000, "bytes")):
        print(f"peak memory (tracemalloc), {n:,} SYNs {wire}: {peak_memory(n, wire) / 1e6:.2f} MB")
    print(f"peak memory, 10,000 SYNs fast (for scale): {peak_memory(10_000, 'fast') / 1e6:.2f} MB")

    if profile:
        for wire, n in (("fast", 20_000), ("bytes", 5_000)):
            print(f"\ncProfile, {n:,} SYNs, wire={wire!r}, top 22 by own time:")
            pr = cProfile.Profile()
            pr.enable()
            flood(n, wire)
            pr.disable()
            pstats.Stats(pr, stream=sys.stdout).sort_stats("tottime").print_stats(22)


if __name__ == "__main__":
    main(profile="--profile" in sys.argv)
