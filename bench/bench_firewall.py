"""Benchmark: the per-packet cost of netfilter on a router, and NAT memory after expiry.

1. Forwarding. Two raw peers (no TCP stack; the receiver only counts) exchange the
   packets of one TCP flow through a router, ``wire="fast"``, trace and capture off: first with no rules at all, then with
   conntrack and a 50-rule FORWARD chain whose *last* rule accepts ESTABLISHED packets, so
   every packet is tested against all 50 rules. Goal: the ratio of the two per-packet costs
   (CPU time, best of three interleaved runs in the same process) <= 2. Measured for
   ``wire="fast"`` (packets as objects: forwarding itself is very cheap, so the fixed cost
   of three hook points weighs most) and for the default ``wire="bytes"``.
2. NAT at scale. 100,000 UDP flows from 1,000 inside hosts to 400 servers through MASQUERADE (conntrack +
   nf_nat tuple selection, sans-IO), then virtual time passes their timeout. Goal: after
   expiry the table, the NAT source index and the expiry heap are empty and the memory
   held returns to (about) where it started.

    .venv/bin/python bench/bench_firewall.py
"""
from __future__ import annotations

import gc
import os
import random
import sys
import time
import tracemalloc

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _goals import goal_line  # noqa: E402

import simtcp  # noqa: E402
from simtcp.conntrack import ConntrackTable, CtTuple  # noqa: E402
from simtcp.iptables import Netfilter  # noqa: E402
from simtcp.nat import MANIP_SRC, nat_range_for, setup_nat  # noqa: E402
from simtcp.packet import Packet  # noqa: E402
from simtcp.segment import Flags, Segment  # noqa: E402
from simtcp.seq import Seq  # noqa: E402

N_PACKETS = 20_000


def forward_run(rules: bool, n: int = N_PACKETS, wire: str = "fast") -> float:
    net = simtcp.Network(seed=1, wire=wire)
    net.trace.enabled = False
    r = net.add_router("r1", "10.0.1.1/24", "10.0.2.1/24")
    a = net.add_peer("10.0.1.10")
    b = net.add_peer("10.0.2.10")
    net.add_link(a, r, delay=0.0001)
    net.add_link(r, b, delay=0.0001)
    if rules:
        for i in range(49):
            r.iptables(f"-A FORWARD -p tcp --dport {1000 + i} -j DROP")
        r.iptables("-A FORWARD -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT")
        r.iptables("-P FORWARD DROP")
        r.iptables("-I FORWARD 1 -p tcp --syn -j ACCEPT")
        r.iptables("-I FORWARD 2 -p tcp --tcp-flags SYN,ACK SYN,ACK -j ACCEPT")
    syn = Packet("10.0.1.10", "10.0.2.10", Segment(40000, 80, Seq(1), Seq(0), Flags.SYN, 64240))
    synack = Packet("10.0.2.10", "10.0.1.10", Segment(80, 40000, Seq(100), Seq(2),
                                                      Flags.SYN | Flags.ACK, 64240))
    a.send(syn)
    net.run()
    b.send(synack)
    net.run()
    # The receiving peer only counts (a Peer normally keeps a scapy copy of every packet,
    # which would dwarf the router's work being measured).
    arrived = []
    b.deliver = lambda packet, pkt_id: arrived.append(pkt_id)
    data = [Packet("10.0.1.10", "10.0.2.10", Segment(40000, 80, Seq(2 + 100 * i), Seq(101),
                                                     Flags.ACK | Flags.PSH, 64240, payload=b"x" * 100))
            for i in range(n)]
    gc.collect()
    t0 = time.process_time()
    for k, p in enumerate(data):
        a.send(p)
        if k % 100 == 99:
            net.run()
    net.run()
    elapsed = time.process_time() - t0
    got = len(arrived)
    assert got == n, f"{got} of {n} packets arrived"
    return elapsed / n


def nat_run(flows: int = 100_000) -> dict:
    nf = Netfilter()
    nf.iptables("-t nat -A POSTROUTING -o eth1 -j MASQUERADE")
    target = nf.tables["nat"].chains["POSTROUTING"].rules[0].target
    rng = nat_range_for(target, "203.0.113.1")
    ct = ConntrackTable({"net.netfilter.nf_conntrack_max": 2 * flows})
    rnd = random.Random(1)
    gc.collect()
    tracemalloc.start()
    base = tracemalloc.get_traced_memory()[0]
    for i in range(flows):
        t = CtTuple(17, f"192.168.{i % 1000 // 250}.{i % 250 + 1}", 40000 + i // 1000,
                    f"198.51.{100 + i % 4}.{i % 100 + 1}", 53)
        conn, *_ = ct.track(t, 0, i * 1e-4)
        setup_nat(ct, conn, MANIP_SRC, rng, rnd)
        assert ct.confirm(conn, i * 1e-4) is None
    peak_entries = len(ct)
    full = tracemalloc.get_traced_memory()[0] - base
    ct.expire(flows * 1e-4 + 31)
    gc.collect()
    after = tracemalloc.get_traced_memory()[0] - base
    tracemalloc.stop()
    return {"flows": flows, "peak_entries": peak_entries, "entries_after": len(ct),
            "index_after": len(ct.by_source), "heap_after": len(ct._heap),
            "bytes_full": full, "bytes_after": after}


def main() -> None:
    # CPU time of this process, best of three interleaved runs (the machine may be shared)
    for wire, n in (("fast", N_PACKETS), ("bytes", N_PACKETS // 4)):
        runs = [(forward_run(False, n, wire), forward_run(True, n, wire)) for _ in range(3)]
        base = min(r[0] for r in runs)
        fw = min(r[1] for r in runs)
        print(f"wire={wire}: forwarding, no rules:             {base * 1e6:8.1f} µs/packet")
        print(f"wire={wire}: forwarding, conntrack + 50 rules: {fw * 1e6:8.1f} µs/packet")
        goal_line(f"firewall, wire={wire}: conntrack + 50 rules / no rules, per packet",
                  fw / base, 2.0, "x")
    r = nat_run()
    print(f"NAT: {r['flows']} flows, {r['peak_entries']} conntrack entries, "
          f"{r['bytes_full'] / 1e6:.1f} MB held")
    print(f"after expiry: {r['entries_after']} entries, NAT index {r['index_after']}, "
          f"heap {r['heap_after']}, {r['bytes_after'] / 1e6:.2f} MB held "
          f"(goal: flat, ~0)")


if __name__ == "__main__":
    main()
