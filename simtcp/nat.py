"""NAT as Linux's nf_nat does it: choosing the translated tuple, and rewriting packets.

Theory of operation
-------------------
NAT in Linux is a property of a conntrack entry, decided once, on the first packet of a flow
(the nat table is only traversed for conntrack NEW packets): DNAT/REDIRECT at PREROUTING or
OUTPUT ("manip DST"), SNAT/MASQUERADE at POSTROUTING or INPUT ("manip SRC"). Deciding means
changing the entry's *reply* tuple (``nf_nat_setup_info``): the router then expects replies
addressed to the translated endpoint. Every later packet of the flow, in either direction,
is rewritten so that the original direction looks like the inverse of the reply tuple and
the reply direction like the inverse of the original tuple (``nf_nat_packet``).

Choosing the tuple is ``get_unique_tuple`` (net/netfilter/nf_nat_core.c):

1. for SNAT without ``--random*``: keep the original source if it is in the target range and
   the resulting tuple is unused; else reuse the mapping an existing flow from the same inside
   address and port already has (``find_appropriate_src``) — this is why Linux NAPT is
   *endpoint-independent mapping* (RFC 4787 §4.1, RFC 5382 REQ-1) as long as that port is
   free toward the new destination;
2. pick the address from the range (``find_best_ips_proto``: a hash of the addresses);
3. keep the port if the tuple is unused, else search the port range from a random offset
   (``nf_nat_l4proto_unique_tuple``: ports below 512 map into 1-511, 512-1023 into 600-1023,
   others into 1024-65535 unless ``--to-ports``/``:ports`` say; at most 128 tries, then
   halving rounds). ``--random``/``--random-fully`` skip steps 1 and 3's "keep".

"Unused" means no other entry has the resulting reply tuple (``nf_nat_used_tuple``): two live
flows are never mapped onto the same outside 5-tuple. If nothing is free — port exhaustion
toward one destination — the last candidate clashes and the packet is dropped when the
entry is confirmed (conntrack "insert_failed").

Filtering: Linux keeps no state for an outside endpoint that was never contacted, so an
unsolicited packet to a mapped port matches no entry and is not translated
(address-and-port-dependent filtering, RFC 4787 §5). A DNAT rule is what opens a port.

Randomness (the port search offset, the address hash secret) comes from the network's seeded
RNG, so runs are reproducible.
"""
from __future__ import annotations

import zlib
from dataclasses import dataclass
from typing import Optional, Tuple

from .conntrack import ORIGINAL, REPLY, Conn, ConntrackTable, CtTuple
from .fwmatch import int_to_ip, ip_to_int
from .fwtarget import NatKind, NatTarget

__all__ = ["NatRange", "nat_range_for", "setup_nat", "translate", "MANIP_SRC", "MANIP_DST",
           "NAT_MAX_ATTEMPTS"]

MANIP_SRC, MANIP_DST = "src", "dst"
NAT_MAX_ATTEMPTS = 128           # nf_nat_core.c NF_NAT_MAX_ATTEMPTS


@dataclass(frozen=True)
class NatRange:
    """``struct nf_nat_range2`` resolved for one packet: addresses (None = keep), ports
    (None = not specified), and the random flags."""

    ip_lo: Optional[int]
    ip_hi: Optional[int]
    port_lo: Optional[int]
    port_hi: Optional[int]
    random: bool = False
    random_fully: bool = False

    @property
    def random_all(self) -> bool:
        return self.random or self.random_fully


def nat_range_for(target: NatTarget, iface_addr: Optional[str]) -> NatRange:
    """The range a NAT target means for this packet. ``iface_addr``: for MASQUERADE the
    address of the outgoing interface (nf_nat_masquerade_ipv4: inet_select_addr), for
    REDIRECT the primary address of the incoming interface, or 127.0.0.1 for locally
    generated packets (nf_nat_redirect_ipv4)."""
    r = target.range
    plo = r.port_lo if r is not None else None
    phi = r.port_hi if r is not None else None
    if target.kind in (NatKind.MASQUERADE, NatKind.REDIRECT):
        ip = ip_to_int(iface_addr) if iface_addr else None
        return NatRange(ip, ip, plo, phi, target.random, target.random_fully)
    return NatRange(r.ip_lo, r.ip_hi, plo, phi, target.random, target.random_fully)


def _endpoint(t: CtTuple, manip: str) -> Tuple[str, int]:
    return (t.src, t.sport) if manip == MANIP_SRC else (t.dst, t.dport)


def _with(t: CtTuple, manip: str, ip: str, port: int) -> CtTuple:
    if manip == MANIP_SRC:
        return CtTuple(t.proto, ip, port, t.dst, t.dport)
    return CtTuple(t.proto, t.src, t.sport, ip, port)


def _used(table: ConntrackTable, t: CtTuple, conn: Conn) -> bool:
    """nf_nat_used_tuple: the reply tuple ``t`` implies is already someone else's."""
    return table.tuple_taken(t.inverse(), conn)


def _in_range(t: CtTuple, rng: NatRange, manip: str) -> bool:
    """nf_in_range: the address (if the range maps addresses) and port (if specified)."""
    ip, port = _endpoint(t, manip)
    if rng.ip_lo is not None and not rng.ip_lo <= ip_to_int(ip) <= rng.ip_hi:
        return False
    if rng.port_lo is None or t.proto not in (6, 17):
        return True
    return rng.port_lo <= port <= rng.port_hi


def _port_of(t: CtTuple, manip: str) -> int:
    if t.proto == 1:
        return t.sport                      # the ICMP echo identifier is the "port"
    return _endpoint(t, manip)[1]


def _set_port(t: CtTuple, manip: str, port: int) -> CtTuple:
    if t.proto == 1:
        return CtTuple(1, t.src, port, t.dst, t.dport)
    ip = _endpoint(t, manip)[0]
    return _with(t, manip, ip, port)


def get_unique_tuple(table: ConntrackTable, orig: CtTuple, rng: NatRange, conn: Conn,
                     manip: str, random_source) -> CtTuple:
    """nf_nat_core.c get_unique_tuple (see the module docstring)."""
    if manip == MANIP_SRC and not rng.random_all:
        if _in_range(orig, rng, manip):
            if not _used(table, orig, conn):
                return orig
        else:
            for other in table.by_source.get((orig.proto, orig.src, orig.sport), ()):
                # find_appropriate_src: the mapped source of an existing flow from the same
                # inside endpoint, toward this flow's destination
                mapped = other.reply.inverse()
                cand = _with(orig, MANIP_SRC, mapped.src, mapped.sport) if orig.proto != 1 \
                    else CtTuple(1, mapped.src, mapped.sport, orig.dst, orig.dport)
                if _in_range(cand, rng, manip) and not _used(table, cand, conn):
                    return cand
                break
    t = orig
    if rng.ip_lo is not None:                   # find_best_ips_proto
        ip_lo, ip_hi = rng.ip_lo, rng.ip_hi
        if ip_lo == ip_hi:
            chosen = ip_lo
        else:
            key = f"{orig.src}>{orig.dst if manip == MANIP_SRC else ''}".encode()
            chosen = ip_lo + (zlib.crc32(key, table.nat_secret) % (ip_hi - ip_lo + 1))
        t = _with(t, manip, int_to_ip(chosen), _endpoint(t, manip)[1]) if t.proto != 1 \
            else (CtTuple(1, int_to_ip(chosen), t.sport, t.dst, t.dport) if manip == MANIP_SRC
                  else CtTuple(1, t.src, t.sport, int_to_ip(chosen), t.dport))
    if not rng.random_all:
        if rng.port_lo is not None:
            port = _port_of(t, manip)
            if rng.port_lo <= port <= rng.port_hi and (
                    rng.port_lo == rng.port_hi or not _used(table, t, conn)):
                return t
        elif not _used(table, t, conn):
            return t
    return _unique_port(table, t, rng, conn, manip, random_source)


def _unique_port(table, t, rng, conn, manip, random_source) -> CtTuple:
    """nf_nat_l4proto_unique_tuple (nf_nat_proto.c)."""
    if t.proto not in (6, 17, 1):
        return t
    if rng.port_lo is None:
        if manip == MANIP_DST:
            return t                        # "If it's dst rewrite, can't change port"
        port = _port_of(t, manip)
        if t.proto == 1:
            lo, size = 0, 65536
        elif port < 1024:
            lo, size = (1, 511) if port < 512 else (600, 1023 - 600 + 1)
        else:
            lo, size = 1024, 65535 - 1024 + 1
    else:
        lo, size = rng.port_lo, rng.port_hi - rng.port_lo + 1
    if rng.random_all or manip != MANIP_DST:
        off = random_source.getrandbits(16)     # get_random_u16()
    else:
        off = 0
    attempts = min(size, NAT_MAX_ATTEMPTS)
    cand = t
    while True:
        for _ in range(attempts):
            cand = _set_port(t, manip, lo + off % size)
            off += 1
            if not _used(table, cand, conn):
                return cand
        if attempts >= size or attempts < 16:
            return cand                      # nothing free: the confirm will clash
        attempts //= 2
        off = random_source.getrandbits(16)


def setup_nat(table: ConntrackTable, conn: Conn, manip: str, rng: Optional[NatRange],
              random_source) -> bool:
    """nf_nat_setup_info: decide ``conn``'s ``manip`` translation once. ``rng`` None is the
    null binding (no rule matched: the identity mapping, still made unique for SRC).
    Returns True if the reply tuple changed."""
    if manip in conn.nat_done:
        return False
    conn.nat_done.add(manip)
    curr = conn.reply.inverse()
    if rng is None:
        if manip == MANIP_DST:
            return False
        # __nf_nat_alloc_null_binding: SRC keeps the address, port made unique if needed
        ip = ip_to_int(curr.src)
        rng = NatRange(ip, ip, None, None)
    new = get_unique_tuple(table, curr, rng, conn, manip, random_source)
    if new == curr:
        return False
    conn.reply = new.inverse()
    if manip == MANIP_SRC:
        conn.src_nat = True
    else:
        conn.dst_nat = True
    return True


def translate(conn: Conn, direction: int, manip: str
              ) -> Optional[Tuple[str, int]]:
    """nf_nat_packet: the (address, port) to write into the packet's ``manip`` side at a
    hook of that manip type, or None when this direction needs no change there."""
    if direction == ORIGINAL:
        applies = conn.src_nat if manip == MANIP_SRC else conn.dst_nat
        target = conn.reply.inverse()
    else:
        applies = conn.dst_nat if manip == MANIP_SRC else conn.src_nat
        target = conn.orig.inverse()
    if not applies:
        return None
    if target.proto == 1:
        ip = target.src if manip == MANIP_SRC else target.dst
        return ip, target.sport
    return _endpoint(target, manip)


__all__ += ["get_unique_tuple", "REPLY"]
