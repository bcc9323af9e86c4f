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
Issue 14's big run: 1,000,000 SYNs with cookies on in fast mode within 15 s of wall time,
with flat memory: what the finished run holds at most 1.25x what a run of a tenth of the
SYNs over the same virtual time holds (a flood must cost no memory per SYN; the legitimate
client's connections grow with virtual time, so both runs last equally long; the
tracemalloc peaks are printed too). The
quick mode measures 100,000 SYNs against the proportional share of the goal (1.5 s) and
compares 10,000 with 100,000; SIMTCP_BENCH_FULL=1 runs the million.
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

from _goals import full_mode, goal_line  # noqa: E402
from _scapy_baseline import bare_scapy_costs  # noqa: E402

from simtcp.segment import Flags, Options, Packet, Segment  # noqa: E402
from simtcp.seq import Seq  # noqa: E402
from simtcp.tools.flood import run_flood_scenario  # noqa: E402

RATE = 20_000.0          # SYN/s; the flood lasts n / RATE virtual seconds


def flood(n: int, wire: str, rate: float = RATE):
    return run_flood_scenario(syncookies=1, flood_rate=rate, flood_duration=n / rate,
                              flood_start=0.1, clients=1, client_rate=1.0,
                              until=n / rate + 1.0, sample_every=0.5, wire=wire,
                              trace=False, capture=False)


def timed(n: int, wire: str):
    gc.collect()
    t0 = time.perf_counter()
    run = flood(n, wire)
    return run, time.perf_counter() - t0


def peak_memory(n: int, wire: str) -> int:
    return flood_memory(n, wire)[0]


def flood_memory(n: int, wire: str, rate: float = RATE):
    """(tracemalloc peak during the run, bytes the finished run still holds — its network,
    listener, counters and sampled series)."""
    gc.collect()
    tracemalloc.start()
    run = flood(n, wire, rate)
    gc.collect()
    held, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    del run
    return peak, held


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
            goal_line("flood, bare scapy per segment / simtcp fast per SYN", bare / per_syn,
                      10, "x", at_least=True)
        else:
            goal_line("flood, simtcp bytes per SYN / bare scapy per segment", per_syn / bare,
                      1.5, "x")

    big = 1_000_000 if full_mode() else 100_000
    if big == 100_000:
        wall = rows[0][2]                     # the 100,000-SYN fast run above
    else:
        _, wall = timed(big, "fast")
    goal_line(f"SYN flood, {big:,} SYNs, cookies on, fast mode, wall", wall, 15.0 * big / 1e6,
              "s", note="" if full_mode() else "share of 15 s per 1,000,000; "
              "SIMTCP_BENCH_FULL=1 runs the million")
    print(f"peak memory (tracemalloc), 10,000 SYNs bytes: {peak_memory(10_000, 'bytes') / 1e6:.2f} MB")
    # "flat" means no memory per SYN. Both floods last the same virtual time (the smaller
    # one at a tenth of the rate), so the legitimate client's connections — one a second,
    # each held through TIME-WAIT — are the same in both and only the SYN count differs.
    duration = big / RATE
    (small_peak, small_held), (big_peak, big_held) = (
        flood_memory(big // 10, "fast", RATE / 10), flood_memory(big, "fast"))
    print(f"peak memory (tracemalloc), {big // 10:,} SYNs fast: {small_peak / 1e6:.2f} MB; "
          f"{big:,} SYNs fast: {big_peak / 1e6:.2f} MB (both over {duration:g} s of virtual time)")
    print(f"held when the flood is over: {small_held / 1e6:.2f} MB and {big_held / 1e6:.2f} MB")
    goal_line(f"flood memory flat: held after {big:,} SYNs / after {big // 10:,} in the same "
              f"virtual time", big_held / small_held, 1.25, "x")
    _, short_held = flood_memory(big // 10, "fast")
    print(f"  (a flood of {big // 10:,} SYNs at the same rate, ten times shorter, holds "
          f"{short_held / 1e6:.2f} MB: the difference is the client's connections of the longer "
          f"run, which grow with virtual time, not with SYNs)")

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
