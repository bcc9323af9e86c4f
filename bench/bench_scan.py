"""Benchmark: the scanner's wall-clock cost (issue: scanning, the client tools, hardening).

(a) ``nmap -sS -Pn -p- -T4`` — all 65,535 TCP ports of one host, in fast mode
    (``wire="fast"``, trace and capture off, as a lab does for a scan this size);
    goal ≤ 10 s wall on a 2-core machine. Also printed: the same with the trace and the
    capture on (``Network(wire="fast")``'s defaults), for information.
(b) ``nmap -sS -p <10 common ports> 192.168.1.0/24`` — a sweep of a /24 LAN with host
    discovery on: 40 hosts up (each with ssh and http), the other 213 addresses silent;
    goal ≤ 10 s wall.

Prints, per case, the figure, the goal and figure/goal (≤ 1 meets it), plus the virtual
time nmap reports. Not a test: numbers only. Run: .venv/bin/python bench/bench_scan.py
"""
from __future__ import annotations

import time

import simtcp
from simtcp.tools.nmap import scan

COMMON = "21,22,23,25,53,80,110,143,443,3389"


def one_host(trace: bool):
    net = simtcp.Network(seed=1, wire="fast", trace=trace, capture=trace)
    client = net.add_host("client", "10.0.0.1/24")
    server = net.add_host("server", "10.0.0.2/24")
    net.add_link(client, server, delay=0.001)
    for kind in ("ssh", "http", "smtp"):
        server.start_service(kind)
    t0 = time.perf_counter()
    report = scan(client, ["-sS", "-Pn", "-p-", "-T4", "10.0.0.2"])
    wall = time.perf_counter() - t0
    assert len(report.hosts[0].ports) == 65535
    assert sum(p.state == "open" for p in report.hosts[0].ports) == 3
    return wall, report.elapsed


def sweep(up: int = 40):
    net = simtcp.Network(seed=1, wire="fast", trace=False, capture=False)
    scanner = net.add_host("scanner", "192.168.1.250/24")
    hosts = [net.add_host(f"h{i}", f"192.168.1.{i}/24") for i in range(1, up + 1)]
    net.add_lan([scanner] + hosts, delay=0.0005)
    for h in hosts:
        h.start_service("ssh")
        h.start_service("http")
    t0 = time.perf_counter()
    report = scan(scanner, ["-sS", "-p", COMMON, "-T4", "192.168.1.0/24"])
    wall = time.perf_counter() - t0
    assert sum(h.up for h in report.hosts) == up + 1          # the scanner answers too
    return wall, report.elapsed


def main() -> None:
    goal = 10.0
    wall, virtual = one_host(trace=False)
    print(f"(a) -p- SYN scan, fast mode:        {wall:6.2f} s wall   goal ≤ {goal:.0f} s   "
          f"ratio {wall / goal:.2f}   (nmap: scanned in {virtual:.2f} s virtual)")
    wall_t, _ = one_host(trace=True)
    print(f"    same with trace and capture on: {wall_t:6.2f} s wall   (information)")
    wall, virtual = sweep()
    print(f"(b) /24 sweep of 10 common ports:   {wall:6.2f} s wall   goal ≤ {goal:.0f} s   "
          f"ratio {wall / goal:.2f}   (nmap: scanned in {virtual:.2f} s virtual)")


if __name__ == "__main__":
    main()
