"""UDP on a host: the port table, input demultiplexing, ICMP errors, output (RFC 768).

Theory of operation: a host's `Udp` is Linux's net/ipv4/udp.c in miniature.

* **Ports.** UDP has its own port space (RFC 768: the ports of UDP and TCP are separate
  numbers), kept in the host's `PortTable` under ``("udp", address, port)`` beside TCP's
  binds. ``bind()`` to a port another UDP socket holds on an overlapping address fails
  with EADDRINUSE unless every holder and the newcomer set SO_REUSEADDR
  (udp_lib_lport_inuse()); port 0 asks the per-OS allocator (`PortAllocator.udp_port`).
  A socket that sends before it is bound is bound to an ephemeral port first
  (inet_autobind() from inet_sendmsg()).
* **Input** (__udp4_lib_rcv() → __udp4_lib_lookup()): the socket with the best score gets
  the datagram — compute_score(): a socket bound to the destination address beats a
  wildcard one, a connected socket must match the source and scores higher; among equals
  the most recently bound wins (sockets are added at the head of the hash chain). With no
  socket the host answers ICMP port unreachable (type 3 code 3, RFC 1122 §4.1.3.1) — if the
  ICMP rate limits allow (`simtcp.icmplimit`) — and counts ``Udp:NoPorts``. A datagram that
  does not fit in the receive buffer (sk_rmem_alloc + truesize > SO_RCVBUF) is dropped and
  counted in ``Udp:RcvbufErrors`` (__udp_enqueue_schedule_skb()).
* **Errors** (__udp4_lib_err()): an ICMP error quoting one of our datagrams is matched to
  the socket that sent it. Linux (without IP_RECVERR) reports only *hard* errors, and only
  to *connected* sockets: sk_err is set and the next send() or recv() raises it once
  (sock_error() clears it). Port unreachable becomes ECONNREFUSED (icmp_err_convert[]).
* **Output** (udp_sendmsg()): one IPv4 packet per datagram with DF set, as Linux sends
  it (simtcp does not fragment: a datagram is one packet whatever its size).

Queue accounting follows Linux: Recv-Q in ss/netstat is sk_rmem_alloc, the truesize of the
queued buffers, not the payload bytes (`truesize()`).
"""
from __future__ import annotations

import errno
from typing import TYPE_CHECKING, List, Optional, Tuple

from .lang import strerror
from .packet import Datagram, Packet
from .reasons import DemuxRule, DropReason, SendCause

if TYPE_CHECKING:  # pragma: no cover
    from .udpsocket import UdpSocket

WILDCARD = "0.0.0.0"
MAX_PAYLOAD = 65535 - 20 - 8          # 65507: the IPv4 total length field limits a datagram
ICMP_UNREACH_ERRNO = {0: errno.ENETUNREACH, 1: errno.EHOSTUNREACH, 2: errno.ENOPROTOOPT,
                      3: errno.ECONNREFUSED, 5: errno.EOPNOTSUPP, 6: errno.ENETUNREACH,
                      7: errno.EHOSTDOWN, 8: errno.ENONET, 9: errno.EACCES, 10: errno.EACCES,
                      11: errno.ENETUNREACH, 12: errno.EHOSTUNREACH, 13: errno.EHOSTUNREACH,
                      14: errno.EHOSTUNREACH, 15: errno.EHOSTUNREACH}
#: icmp_err_convert[] "fatal" column: the codes Linux treats as hard errors (4, frag
#: needed, is handled as path MTU discovery and 5, source route failed, is soft)
HARD_UNREACH = frozenset({0, 1, 2, 3, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15})
SKB_STRUCT = 256        # SKB_DATA_ALIGN(sizeof(struct sk_buff)) on x86_64
SKB_SHINFO = 320        # SKB_DATA_ALIGN(sizeof(struct skb_shared_info))
SKB_HEADROOM = 128      # link-layer headroom reserved in front of the IP header
SKB_SMALL_HEAD = 576    # SKB_SMALL_HEAD_CACHE_SIZE: small heads come from their own cache


def truesize(payload_len: int) -> int:
    """The receive-buffer charge of one queued datagram (skb->truesize), which is what
    Recv-Q shows for UDP: the sk_buff plus a head buffer holding headroom, IP and UDP
    headers, the payload and skb_shared_info, rounded up to the allocator's size class
    (the small-head cache, else a power of two; include/linux/skbuff.h SKB_TRUESIZE()).
    Measured on Linux 6.x: 832 bytes for 1-100 byte datagrams, 1280 for 500, 2304 for
    1000-1472, 4352 for 3000."""
    head = ((SKB_HEADROOM + 28 + payload_len + 63) & ~63) + SKB_SHINFO
    size = SKB_SMALL_HEAD if head <= SKB_SMALL_HEAD else 1 << (head - 1).bit_length()
    return SKB_STRUCT + size


class Udp:
    """The UDP layer of one host (module docstring)."""

    def __init__(self, host) -> None:
        self.host = host
        self.net = host.net
        self.bound: List["UdpSocket"] = []        # most recently bound first (hash chain)
        self._idents: dict = {}                   # (dst, src) -> next IPv4 ID (ip_idents)

    # ------------------------------------------------------------------ ports
    def sockets(self) -> List["UdpSocket"]:
        return [s for s in self.bound if not s.closed]

    def holders(self, ip: str, port: int) -> List["UdpSocket"]:
        """Open sockets whose binding overlaps ip:port (same port; same address or either
        one the wildcard)."""
        return [s for s in self.bound if not s.closed and s.local is not None
                and s.local[1] == port and (s.local[0] == ip or WILDCARD in (ip, s.local[0]))]

    def in_use(self, sock: "UdpSocket", ip: str, port: int) -> Optional["UdpSocket"]:
        """udp_lib_lport_inuse(): the socket that makes ip:port unavailable to ``sock``."""
        for other in self.holders(ip, port):
            if other is sock:
                continue
            if not (sock.reuseaddr and other.reuseaddr):
                return other
        return None

    def bind(self, sock: "UdpSocket", ip: str, port: int) -> Tuple[str, int]:
        if port == 0:
            port = self.host.stack.allocator.udp_port(
                ip, lambda p: self.in_use(sock, ip, p) is None)
        else:
            holder = self.in_use(sock, ip, port)
            if holder is not None:
                raise OSError(errno.EADDRINUSE, strerror(errno.EADDRINUSE))
        self.bound.insert(0, sock)
        return ip, port

    def unbind(self, sock: "UdpSocket") -> None:
        if sock in self.bound:
            self.bound.remove(sock)

    # ------------------------------------------------------------------ input
    def lookup(self, src: str, sport: int, dst: str, dport: int) -> Optional["UdpSocket"]:
        """__udp4_lib_lookup(): the best-scoring socket for a datagram (module docstring)."""
        best, best_score = None, -1
        for s in self.bound:
            if s.closed or s.local is None or s.local[1] != dport:
                continue
            score = 0
            if s.local[0] != WILDCARD:
                if s.local[0] != dst:
                    continue
                score += 4
            if s.peer is not None:
                if s.peer != (src, sport):
                    continue
                score += 4
            if score > best_score:
                best, best_score = s, score
        return best

    def input(self, packet: Packet, pkt_id: int) -> None:
        """__udp4_lib_rcv() for a datagram addressed to this host."""
        d = packet.payload
        c = self.host.counters
        sock = self.lookup(packet.src, d.sport, packet.dst, d.dport)
        if sock is None:
            c["Udp:NoPorts"] += 1
            self.host.stack._record("demux", DemuxRule.NO_SOCKET, packet, pkt_id,
                                    reason=DemuxRule.REPLY_PORT_UNREACHABLE,
                                    rfc="RFC 1122 §4.1.3.1")
            self.host.icmp_error(packet, pkt_id, 3, 3)
            return
        self.host.stack._record("demux", DemuxRule.UDP_SOCKET, packet, pkt_id,
                                rfc="RFC 768", detail=(("socket", sock.local),))
        size = truesize(len(d.payload))
        if sock.rmem_alloc + size > sock.rcvbuf_limit:
            c["Udp:RcvbufErrors"] += 1
            c["Udp:InErrors"] += 1
            self.host.count_drop(DropReason.RCVBUF_FULL)
            return
        c["Udp:InDatagrams"] += 1
        sock.enqueue(d.payload, (packet.src, d.sport), size)

    def icmp_error(self, icmp_packet: Packet, msg, quoted, pkt_id: int) -> None:
        """__udp4_lib_err(): find the socket that sent the quoted datagram and report hard
        errors to it if it is connected."""
        sock = self.lookup(quoted.dst, quoted.dport, quoted.src, quoted.sport)
        if sock is None:
            return
        if msg.type == 3:
            err = ICMP_UNREACH_ERRNO.get(msg.code)
            hard = msg.code in HARD_UNREACH
        elif msg.type == 12:
            err, hard = errno.EPROTO, True
        elif msg.type == 11:
            err, hard = errno.EHOSTUNREACH, False
        else:
            return
        if err is None or not hard or sock.peer is None:
            return                              # Linux without IP_RECVERR: nothing to see
        sock.error = err
        sock.wake()

    # ------------------------------------------------------------------ output
    def output(self, sock: "UdpSocket", payload: bytes, dst: Tuple[str, int]) -> int:
        """udp_sendmsg() → ip_make_skb(): one packet per datagram. The source address is
        the socket's, or for a wildcard socket the one the route picks. DF is set (path MTU
        discovery is on by default, IP_PMTUDISC_WANT). The IPv4 ID (ip_select_ident_segs()):
        a connected socket counts up its own inet_id; an unconnected one takes the next
        value of a counter per (destination, source, protocol) (ip_idents); both start at
        a random value. Checked against the kernel (tests/test_linux_udp_oracle.py)."""
        src_ip = sock.local[0]
        if src_ip == WILDCARD:
            src_ip = self.host.source_for(dst[0])
            if src_ip is None:
                raise OSError(errno.ENETUNREACH, strerror(errno.ENETUNREACH))
        if sock.peer is not None:
            if sock.ip_id is None:
                sock.ip_id = self.net.rng.getrandbits(16)
            ident, sock.ip_id = sock.ip_id, (sock.ip_id + 1) & 0xFFFF
        else:
            key = (dst[0], src_ip)
            ident = self._idents.get(key)
            if ident is None:
                ident = self.net.rng.getrandbits(16)
            self._idents[key] = (ident + 1) & 0xFFFF
        packet = Packet(src_ip, dst[0], Datagram(sock.local[1], dst[1], payload),
                        ident=ident, df=True)
        self.host.counters["Udp:OutDatagrams"] += 1
        return self.host.transmit(packet, SendCause.DATAGRAM, "RFC 768")
