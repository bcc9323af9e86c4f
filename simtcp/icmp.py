"""ICMP on a node: building error messages (__icmp_send) and receiving ICMP (icmp_rcv).

Theory of operation: a node that cannot deliver or forward a packet tells its source with
an ICMP error (RFC 792) that quotes the packet's IP header and as much of its data as fits
in 576 bytes (RFC 1812 §4.3.2.3; Linux's __icmp_send() in net/ipv4/icmp.c). Linux's rules,
followed here: never an error about an ICMP error (RFC 1122 §3.2.2) nor about a packet
from a non-unicast source; the error comes from the packet's destination address when that
is ours, else from the address the route back to the source picks; TTL is
``ip_default_ttl`` (64); TOS is the packet's TOS bits with precedence "internetwork control"
(0xC0); DF is clear (the ICMP socket uses IP_PMTUDISC_DONT).

Arriving ICMP (a host's protocol 1, `icmp_input`): an echo request gets an echo reply
(icmp_echo()); an error is matched to the socket it concerns through its quote and handed
to that protocol's error handler (``host.icmp_error_handlers[proto]``: TCP's is
`Stack.icmp_error`, Linux's tcp_v4_err()), as icmp_unreach() does. Counters are Linux's
``Icmp:`` MIB names (``netstat -s``).
"""
from __future__ import annotations

import ipaddress
from typing import TYPE_CHECKING, Optional

from . import wire
from .packet import ICMP_QUOTE_MAX, IcmpMessage, Packet
from .reasons import SendCause

if TYPE_CHECKING:  # pragma: no cover
    from .host import Host
    from .node import Node

__all__ = ["build_error", "icmp_input", "ERROR_TYPES"]

#: The ICMP types that are errors (Linux icmp_pointers[].error).
ERROR_TYPES = frozenset((3, 4, 5, 11, 12))
_OUT_COUNTER = {3: "OutDestUnreachs", 11: "OutTimeExcds", 12: "OutParmProbs", 0: "OutEchoReps"}
_IN_COUNTER = {3: "InDestUnreachs", 11: "InTimeExcds", 12: "InParmProbs", 8: "InEchos",
               0: "InEchoReps"}
IPTOS_PREC_INTERNETCONTROL = 0xC0
IPTOS_TOS_MASK = 0x1E


def _unicast(addr: str) -> bool:
    ip = ipaddress.IPv4Address(addr)
    return not (ip.is_multicast or ip.is_unspecified or addr == "255.255.255.255")


def build_error(node: "Node", packet: Packet, type_: int, code: int, rest: int = 0,
                data: Optional[bytes] = None) -> Optional[Packet]:
    """The ICMP error ``node`` sends about ``packet`` (``data``: its bytes as received, if
    known), or None when Linux would send none (module docstring)."""
    if packet.proto == 1:
        inner = packet.payload
        if type(inner) is not IcmpMessage or inner.type in ERROR_TYPES or inner.type > 18:
            return None                     # never an error about an error (or unknown type)
    if not _unicast(packet.src):
        return None
    if packet.dst in node.ips:
        src = packet.dst
    else:
        src = node.source_for(packet.src)
        if src is None:
            return None                     # no route back: __icmp_send gives up
    # the rate limits (icmp_global_allow(), icmpv4_xrlim_allow(): simtcp.icmplimit); a packet
    # that came in on loopback (from one of our own addresses) is exempt
    from .icmplimit import limiter_of
    if not limiter_of(node).allow(type_, packet.src, loopback=packet.src in node.ips):
        return None
    if data is None:
        data = wire.encode(packet)
    quote = data[:ICMP_QUOTE_MAX]
    ttl = 64
    sysctl = getattr(node, "sysctl", None)
    if sysctl is not None and "net.ipv4.ip_default_ttl" in sysctl:
        ttl = int(sysctl["net.ipv4.ip_default_ttl"])
    ident = node.net.rng.getrandbits(16)    # ip_select_ident(): DF clear, hashed counter
    counters = getattr(node, "counters", None)
    if counters is not None:
        counters["Icmp:OutMsgs"] += 1
        if type_ in _OUT_COUNTER:
            counters["Icmp:" + _OUT_COUNTER[type_]] += 1
    return Packet(src, packet.src, IcmpMessage(type_, code, rest, quote), ttl=ttl,
                  ident=ident, df=False,
                  tos=(packet.tos & IPTOS_TOS_MASK) | IPTOS_PREC_INTERNETCONTROL)


def icmp_input(host: "Host", packet: Packet, pkt_id: int) -> None:
    """icmp_rcv() for a host: echo, or an error handed to the protocol it quotes."""
    m = packet.payload
    c = host.counters
    c["Icmp:InMsgs"] += 1
    if m.type in _IN_COUNTER:
        c["Icmp:" + _IN_COUNTER[m.type]] += 1
    if m.type == 8:
        reply = Packet(packet.dst, packet.src, IcmpMessage(0, 0, m.rest, m.quote), ttl=64,
                       ident=host.net.rng.getrandbits(16), df=False, tos=packet.tos)
        c["Icmp:OutMsgs"] += 1
        c["Icmp:OutEchoReps"] += 1
        host.transmit(reply, SendCause.ECHO_REPLY, "RFC 792 (Linux icmp_echo())", parent=pkt_id)
        return
    if m.type not in ERROR_TYPES:
        return
    quoted = m.quoted()
    if quoted is None:
        c["Icmp:InErrors"] += 1             # icmp_unreach(): no room for header + 8 bytes
        return
    handler = host.icmp_error_handlers.get(quoted.proto)
    if handler is not None:
        handler(packet, m, quoted, pkt_id)
