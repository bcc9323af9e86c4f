"""The fair baseline for wire benchmarks: what bare scapy costs per segment.

`bare_scapy_cost(packets, repeat)` builds each segment the way a scapy user would —
``bytes(IP(...)/TCP(..., options=[...])/Raw(load))``, every header field given, checksums
left for scapy to fill, fresh layers for every packet — and dissects the bytes again with
``IP(b)``. simtcp's own path (`simtcp.wire.encode` + `decode`) does the same job: one scapy
build (of layers it reuses from packet to packet: simtcp/wire.py, "speed"), then a verified
parse. The field values are prepared before the clock starts, so only scapy's work is timed.

Run it directly for the numbers on a typical data segment with timestamps::

    .venv/bin/python bench/_scapy_baseline.py
"""
from __future__ import annotations

import time
from typing import Sequence, Tuple

from scapy.layers.inet import IP, TCP
from scapy.packet import Raw

from simtcp.segment import Packet
from simtcp.wire import tcp_option_list


def _prepare(packets: Sequence[Packet]) -> list:
    todo = []
    for p in packets:
        s = p.segment
        todo.append((
            dict(version=4, ihl=None, tos=0, len=None, id=p.ident, flags=2 if p.df else 0,
                 frag=0, ttl=p.ttl, proto=6, chksum=None, src=p.src, dst=p.dst),
            dict(sport=s.sport, dport=s.dport, seq=int(s.seq), ack=int(s.ack), dataofs=None,
                 reserved=0, flags=int(s.flags), window=s.window, chksum=None,
                 urgptr=s.urgptr, options=tcp_option_list(s)),
            bytes(s.payload)))
    return todo


def bare_scapy_costs(packets: Sequence[Packet], repeat: int = 1) -> Tuple[float, float]:
    """``(encode_seconds, decode_seconds)`` per segment with bare scapy."""
    if not packets or repeat < 1:
        raise ValueError("need at least one packet and repeat >= 1")
    todo = _prepare(packets)
    built = []
    t0 = time.perf_counter()
    for _ in range(repeat):
        built = [bytes(IP(**ipf) / TCP(**tcpf) / Raw(load=pl)) if pl
                 else bytes(IP(**ipf) / TCP(**tcpf)) for ipf, tcpf, pl in todo]
    t1 = time.perf_counter()
    for _ in range(repeat):
        for b in built:
            IP(b)
    t2 = time.perf_counter()
    n = len(todo) * repeat
    return (t1 - t0) / n, (t2 - t1) / n


def bare_scapy_cost(packets: Sequence[Packet], repeat: int = 1) -> float:
    """Seconds per segment for bare scapy to build the bytes and dissect them again."""
    enc, dec = bare_scapy_costs(packets, repeat)
    return enc + dec


def _simtcp_costs(packets: Sequence[Packet], repeat: int) -> Tuple[float, float]:
    from simtcp.wire import decode, encode
    t0 = time.perf_counter()
    for _ in range(repeat):
        built = [encode(p) for p in packets]
    t1 = time.perf_counter()
    for _ in range(repeat):
        for b in built:
            decode(b)
    t2 = time.perf_counter()
    n = len(packets) * repeat
    return (t1 - t0) / n, (t2 - t1) / n


if __name__ == "__main__":
    from simtcp.segment import Segment
    seg = Segment.parse("P. 1:101(100) ack 1 win 502 <nop,nop,TS val 1000 ecr 2000>",
                        40000, 80)
    pkts = [Packet("192.168.1.10", "192.168.1.20", seg, ident=i) for i in range(200)]
    _simtcp_costs(pkts[:10], 1), bare_scapy_costs(pkts[:10], 1)  # warm up
    be, bd = bare_scapy_costs(pkts, 10)
    se, sd = _simtcp_costs(pkts, 10)
    print(f"data segment, 100 bytes, timestamps ({len(pkts) * 10} segments each)")
    print(f"  bare scapy : encode {be * 1e6:7.1f} us  decode {bd * 1e6:7.1f} us  "
          f"total {(be + bd) * 1e6:7.1f} us")
    print(f"  simtcp.wire: encode {se * 1e6:7.1f} us  decode {sd * 1e6:7.1f} us  "
          f"total {(se + sd) * 1e6:7.1f} us")
    print(f"  ratio simtcp/bare: {(se + sd) / (be + bd):.2f}")
