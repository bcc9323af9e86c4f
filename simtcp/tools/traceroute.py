"""traceroute: probes with rising TTL show the routers on the path, as traceroute(8) does.

Theory of operation: a probe with TTL n dies at the n-th router, which answers ICMP time
exceeded (11/0) from its own address (RFC 1812 §5.3.1); the destination itself answers the
probe — UDP to an unlikely port (33434 and up, traceroute's default) with ICMP port
unreachable (3/3), a TCP SYN (``traceroute -T``) with a SYN-ACK or a RST. Each probe's
round-trip time is measured in virtual time. The probes are crafted here and sent with
`Node.transmit`, as traceroute's raw sockets do; replies are matched by the quote of the
ICMP error (the probe's ports) or by the TCP answer's ports. Probes go one at a time (the
real tool sends up to 16 at once, ``-N``), each waiting up to ``wait`` seconds (``-w``,
5 s): ``*`` when nothing comes back. traceroute prints ``!H``, ``!N``, ``!P``, ``!X`` after
a host, net, protocol unreachable or "administratively prohibited" answer and stops there.
"""
from __future__ import annotations

from typing import Callable, List, NamedTuple, Optional

from ..packet import Datagram, Packet
from ..reasons import SendCause
from ..segment import Flags, Segment
from ..seq import Seq

__all__ = ["traceroute", "Hop", "TraceResult"]

_MARKS = {0: "!N", 1: "!H", 2: "!P", 9: "!X", 10: "!X", 13: "!X"}


class Probe(NamedTuple):
    ttl: int
    address: Optional[str]      # who answered (None: no answer, "*")
    rtt: Optional[float]        # seconds
    mark: str                   # "", "!H", "!N", ...


class Hop(NamedTuple):
    ttl: int
    probes: List[Probe]

    def __str__(self) -> str:
        return self.text()

    def text(self, name: Optional[Callable[[str], str]] = None) -> str:
        """The hop's line; ``name`` turns an address into what traceroute prints for it
        (without -n: "name (address)"); default: the address alone (``-n``)."""
        out, last = [f"{self.ttl:2d} "], None
        for p in self.probes:
            if p.address is None:
                out.append(" *")
                continue
            if p.address != last:
                out.append(f" {name(p.address) if name else p.address}")
                last = p.address
            out.append(f"  {p.rtt * 1000:.3f} ms" + (f" {p.mark}" if p.mark else ""))
        return "".join(out)


class TraceResult(NamedTuple):
    header: str
    hops: List[Hop]

    @property
    def path(self) -> List[Optional[str]]:
        """The first answering address of each hop (None for a silent hop)."""
        return [next((p.address for p in h.probes if p.address), None) for h in self.hops]

    def __str__(self) -> str:
        return "\n".join([self.header] + [str(h) for h in self.hops])


def traceroute(host, dst: str, method: str = "udp", max_hops: int = 30, queries: int = 3,
               port: Optional[int] = None, wait: float = 5.0,
               first_ttl: int = 1) -> TraceResult:
    """Trace the path from ``host`` to ``dst`` (``traceroute -n``; ``method="tcp"`` is
    ``traceroute -T``, SYNs to ``port`` 80 by default). Returns a `TraceResult`;
    ``print()`` it for the classic output."""
    if method not in ("udp", "tcp"):
        raise ValueError(f"method must be 'udp' (traceroute's default) or 'tcp' "
                         f"(traceroute -T), got {method!r}")
    if not 1 <= first_ttl <= max_hops <= 255:
        raise ValueError(f"need 1 <= first_ttl <= max_hops <= 255 (traceroute -f/-m), got "
                         f"{first_ttl}, {max_hops}")
    if queries < 1 or queries > 10:
        raise ValueError("queries must be 1..10 (traceroute -q)")
    net = host.net
    src = host.source_for(dst)
    if src is None:
        raise OSError(101, f"Network is unreachable: {host.name} has no route to {dst}")
    size = 60 if method == "udp" else 60
    header = (f"traceroute to {dst} ({dst}), {max_hops} hops max, {size} byte packets")
    sport = 40000 + net.rng.randrange(20000)       # traceroute binds an ephemeral port
    base_port = port if port is not None else (33434 if method == "udp" else 80)
    hops: List[Hop] = []
    answers: dict = {}

    def icmp_hook(packet, msg, quoted, pkt_id):
        key = (quoted.sport, quoted.dport)
        if key in pending:
            answers[key] = (packet.src, net.now, msg)
        elif prev is not None:
            prev(packet, msg, quoted, pkt_id)

    def tcp_hook(packet, pkt_id):
        seg = packet.segment
        key = (seg.dport, seg.sport)
        if key in pending and packet.src == dst:
            answers[key] = (packet.src, net.now, None)
        tcp_prev(packet, pkt_id)

    proto = 17 if method == "udp" else 6
    prev = host.icmp_error_handlers.get(proto)
    tcp_prev = host.protocols.get(6)
    host.icmp_error_handlers[proto] = icmp_hook
    if method == "tcp":
        host.protocols[6] = tcp_hook
    pending: set = set()
    n = 0
    try:
        for ttl in range(first_ttl, max_hops + 1):
            probes, done = [], False
            for _ in range(queries):
                if method == "udp":
                    key = (sport, base_port + n)
                    payload = Datagram(sport, base_port + n, bytes(32))
                else:
                    key = (sport + n, base_port)
                    payload = Segment(sport + n, base_port, Seq(net.rng.getrandbits(32)),
                                      flags=Flags.SYN, window=5840)
                n += 1
                pending.add(key)
                start = net.now
                host.transmit(Packet(src, dst, payload, ttl=ttl, ident=net.rng.getrandbits(16)),
                              SendCause.TRACEROUTE_PROBE, detail=(("ttl", ttl),))
                net.run_until(lambda: key in answers, timeout=wait)
                pending.discard(key)
                got = answers.pop(key, None)
                if got is None:
                    probes.append(Probe(ttl, None, None, ""))
                    continue
                addr, at, msg = got
                mark = ""
                if msg is not None and msg.type == 3 and msg.code != 3:
                    mark = _MARKS.get(msg.code, f"!<{msg.code}>")
                probes.append(Probe(ttl, addr, at - start, mark))
                if addr == dst or mark:
                    done = True
            hops.append(Hop(ttl, probes))
            if done:
                break
    finally:
        if prev is None:
            host.icmp_error_handlers.pop(proto, None)
        else:
            host.icmp_error_handlers[proto] = prev
        if method == "tcp":
            host.protocols[6] = tcp_prev
    return TraceResult(header, hops)
