"""Hosts (a node with a TCP stack and sockets) and peers (a node with no stack at all).

Theory of operation: a `Host` owns a `Stack` and a sysctl table for its OS profile; its
sockets are thin façades over the stack (`simtcp.socket`). Arriving packets that are for
one of its addresses go to `Stack.input`. `inject()` hands the host a crafted packet as if it
had just arrived on a link — the way to watch a real stack answer a segment you built.

A `Peer` has no TCP at all: it records what arrives (`received`, as scapy packets) and
sends exactly what it is given. Labs use it to play the other side of a handshake by hand,
and tests use it as a scripted packetdrill-style peer.
"""
from __future__ import annotations

import heapq
from collections import Counter
from typing import List, Optional, Sequence

from . import wire
from .packet import Packet
from .node import Node
from .reasons import DropReason, SendCause
from .socket import Socket
from .stack import Stack
from .udpsocket import SOCK_DGRAM, UdpSocket


def _to_packet(pkt) -> tuple:
    """(Packet or None, bytes or None) from a scapy packet, bytes or a simtcp Packet."""
    if isinstance(pkt, Packet):
        from .validate import check_packet
        return check_packet(pkt), None
    data = pkt if isinstance(pkt, (bytes, bytearray)) else wire.from_scapy(pkt)
    data = bytes(data)
    try:
        return wire.decode(data), data
    except wire.DecodeError:
        return None, data


class SocketTable:
    """A host's sockets: open ones, and closed ones whose connection has not ended yet
    (FIN-WAIT, TIME-WAIT …). A socket leaves once it is closed and its connection is gone,
    like a file whose last reference dropped, so closed connections do not pile up. Each
    socket keeps the inode number it got when it was added (``inode_of``)."""

    def __init__(self) -> None:
        # socket -> inode, in order (sockets hash by identity; no tuple per socket)
        self._socks: dict = {}
        self._next_inode = 20000

    def append(self, sock) -> None:
        if sock not in self._socks:
            self._socks[sock] = self._next_inode
            self._next_inode += 1

    def remove(self, sock) -> None:
        self._socks.pop(sock, None)

    def inode_of(self, sock) -> Optional[int]:
        return self._socks.get(sock)

    def __iter__(self):
        return iter(list(self._socks))

    def __len__(self) -> int:
        return len(self._socks)

    def __contains__(self, sock) -> bool:
        return sock in self._socks

    def __getitem__(self, index):
        return list(self._socks)[index]

    def __eq__(self, other) -> bool:
        return list(self) == list(other) if isinstance(other, (list, SocketTable)) else NotImplemented

    def __repr__(self) -> str:
        return f"SocketTable({list(self)!r})"


class Host(Node):
    """A simulated computer with a TCP stack, an OS profile and sockets."""

    def __init__(self, net, name: str, ips: Sequence[str], os: str = "linux",
                 gateway: Optional[str] = None):
        super().__init__(net, name, ips, gateway)
        from .profiles import Sysctl
        self.os = os
        self.sysctl = Sysctl(os)
        self.stack = Stack(self)
        #: IP protocol number -> handler(packet, pkt_id): Linux's inet_protos[] table, which
        #: ip_local_deliver_finish() (net/ipv4/ip_input.c) consults for a local packet.
        self.protocols: dict = {6: self.stack.input, 1: self._icmp_input}
        #: quoted protocol -> handler(icmp packet, IcmpMessage, Quoted, pkt_id) for ICMP
        #: errors (icmp_unreach() → tcp_v4_err() / udp_err())
        self.icmp_error_handlers: dict = {6: self.stack.icmp_error}
        from .udp import Udp
        self.udp = Udp(self)                   # UDP: its own port space (simtcp.udp)
        self.protocols[17] = self.udp.input
        self.icmp_error_handlers[17] = self.udp.icmp_error
        self.sockets = SocketTable()
        self.services: list = []               # programs started with start_service()
        self._pids: dict = {}                  # (process name, user) -> pid
        self._fds: dict = {}                   # pid -> [next unused fd, heap of freed fds]
        self._pid_base = 1000 + len(net.nodes) * 100

    # ---------------------------------------------------------------- sockets
    def socket(self, family: int = 2, type: int = 1, proto: int = 0, *, user: str = "root",
               process: Optional[str] = None):
        """A socket on this host, like ``socket.socket(AF_INET, SOCK_STREAM)`` (TCP,
        `simtcp.socket.Socket`) or ``socket.socket(AF_INET, SOCK_DGRAM)`` (UDP,
        `simtcp.udpsocket.UdpSocket`).

        ``user`` matters for privileged ports: only root may bind below
        ``ip_unprivileged_port_start`` (1024 on Linux).
        """
        if type == SOCK_DGRAM and family == 2:
            return UdpSocket(self, family, type, proto, user=user, process=process)
        return Socket(self, family, type, proto, user=user, process=process)

    def process(self, name: str, user: str = "root", capabilities=None):
        """A program running on this host as ``user`` with Linux ``capabilities`` (None:
        all of them for root, none for anyone else): its ``socket()`` binds with that
        privilege, ``report()`` shows what it could do (simtcp.privilege)."""
        from .privilege import Process
        return Process(self, name, user, capabilities)

    def start_service(self, kind: str, port: Optional[int] = None, **options):
        """Start a small server program: "http", "ssh", "smtp", "ftp", "pop3", "imap",
        "telnet", "mysql", "vnc", "rdp" (see simtcp.services), or "dns" (simtcp.dns: UDP and
        TCP port 53, ``records={...}``) on its default port or ``port``. It runs as its own
        process and user (``ss -p`` and ``lsof`` show it)."""
        from . import dns  # noqa: F401  (registers the "dns" service)
        from .services import start_service
        return start_service(self, kind, port, **options)

    def resolve(self, name: str, server, qtype: str = "A", **options):
        """Look ``name`` up at the DNS ``server`` like a stub resolver: UDP first, then TCP
        when the answer comes back truncated (simtcp.dns.resolve; ``edns=1232`` as dig)."""
        from .dns import resolve
        return resolve(self, name, server, qtype, **options)

    def sh(self, line: str, stdin=None):
        """Run a command line as on this host's shell: ``host.sh("ss -tulnp")`` returns the
        text the real command prints (see simtcp.shell for the programs it knows)."""
        from .shell import run
        return run(self, line, stdin)

    def pid_of(self, process: str, user: str) -> int:
        """The simulated process id of a (program, user): one process per pair."""
        if (process, user) not in self._pids:
            self._pids[(process, user)] = self._pid_base + len(self._pids)
        return self._pids[(process, user)]

    def new_fd(self, pid: int) -> int:
        """The lowest free file descriptor of process ``pid``, as POSIX requires (0-2 are
        stdin, stdout and stderr)."""
        table = self._fds.get(pid)
        if table is None:                    # (not setdefault: no lists made to be dropped)
            table = self._fds[pid] = [3, []]
        if table[1]:
            return heapq.heappop(table[1])   # the lowest closed one below the high-water mark
        table[0] += 1
        return table[0] - 1

    def release_fd(self, pid: int, fd: int) -> None:
        table = self._fds.get(pid)
        if table is not None:
            heapq.heappush(table[1], fd)

    # ----------------------------------------------------------------- packets
    def deliver(self, packet: Packet, pkt_id: int) -> None:
        try:
            handler = self.protocols[packet.proto]
        except KeyError:
            # no handler and no raw socket: Linux counts InUnknownProtos and answers ICMP
            # protocol unreachable (ip_local_deliver_finish(), net/ipv4/ip_input.c)
            self.stack.counters["InUnknownProtos"] += 1
            self.icmp_error(packet, pkt_id, 3, 2)
            return
        handler(packet, pkt_id)

    def _icmp_input(self, packet: Packet, pkt_id: int) -> None:
        from .icmp import icmp_input
        icmp_input(self, packet, pkt_id)

    def count_drop(self, reason: DropReason) -> None:
        """Count a packet this host discarded: per reason in ``stack.in_errors``, and in the
        MIB counters Linux tcp_v4_rcv() bumps (InErrs; InCsumErrors for a bad checksum)."""
        self.stack.in_errors[reason] += 1
        if reason.tcp_error:
            self.stack.counters["InErrs"] += 1
        if reason.checksum_error:
            self.stack.counters["InCsumErrors"] += 1

    def inject(self, pkt) -> int:
        """Hand this host a packet as if it had arrived on a link.

        ``pkt`` is a scapy packet (``IP(...)/TCP(...)``; missing checksums are filled in by
        scapy, wrong ones you set are kept so you can watch them being dropped), raw bytes,
        or a simtcp `Packet`. Returns the packet id used in the trace and capture.
        """
        net = self.net
        packet, data = _to_packet(pkt)
        pkt_id = net.new_packet_id()
        if net.trace.enabled:
            net.trace.record(net.now, "send", "(inject)", packet, pkt_id,
                             reason=SendCause.INJECTED, detail=(("to", self.name),))
        if net.capture_enabled:
            net.capture.append(net.now, "inject", pkt_id, packet, data)
        self.receive(pkt_id, data if data is not None else packet, None)
        return pkt_id

    @property
    def counters(self) -> Counter:
        """Stack counters (InSegs, OutSegs, OutRsts, ListenOverflows, SyncookiesSent …)."""
        return self.stack.counters

    # ------------------------------------------------------------------ views
    def ss(self, *args, **kwargs):
        """A socket table like ``ss -tan`` (see simtcp.tools.views.ss)."""
        from .tools.views import ss
        return ss(self, *args, **kwargs)

    def netstat(self, *args, **kwargs):
        from .tools.views import netstat
        return netstat(self, *args, **kwargs)

    def netstat_s(self) -> str:
        """Protocol statistics like ``netstat -s`` (the Tcp: and TcpExt: sections)."""
        from .tools.views import netstat_s
        return netstat_s(self)

    def traceroute(self, dst: str, **kwargs):
        """The path to ``dst`` like ``traceroute -n`` (see simtcp.tools.traceroute)."""
        from .tools.traceroute import traceroute
        return traceroute(self, dst, **kwargs)

    def lsof(self, *args, **kwargs):
        from .tools.views import lsof
        return lsof(self, *args, **kwargs)


class Router(Host):
    """A host that forwards packets between its interfaces (``net.ipv4.ip_forward=1``):
    TTL decrement, ICMP time exceeded / unreachable / fragmentation needed (`simtcp.node`).
    It has a stack like any Linux router: it answers pings, resets TCP to closed ports."""

    forwarding = True


class Peer(Node):
    """A raw endpoint with no TCP stack (see module docstring)."""

    def __init__(self, net, name: str, ips: Sequence[str]):
        super().__init__(net, name, ips)
        self.received: List = []
        self.packets: List[Packet] = []
        self.on_receive = None

    def deliver(self, packet: Packet, pkt_id: int) -> None:
        self.packets.append(packet)
        pkt = wire.to_scapy(wire.encode(packet))
        pkt.time = self.net.now
        self.received.append(pkt)
        if self.on_receive is not None:
            self.on_receive(self, packet)

    def send(self, pkt, reason: SendCause = SendCause.PEER) -> int:
        """Send a scapy packet, raw bytes or a simtcp Packet exactly as given."""
        packet, data = _to_packet(pkt)
        if packet is None:
            # undecodable (e.g. a deliberately wrong checksum): send the bytes as they are
            link = self.links[0] if self.links else None
            net = self.net
            pkt_id = net.new_packet_id()
            if net.trace.enabled:
                net.trace.record(net.now, "send", self.name, None, pkt_id, reason=reason)
            if link is None:
                net.drop(self.name, pkt_id, None, DropReason.NO_ROUTE)
                return pkt_id
            dst_ip = ".".join(str(b) for b in data[16:20]) if len(data) >= 20 else ""
            if net.capture_enabled:
                net.capture.append(net.now, link.name, pkt_id, None, data)
            hop = link.next_hop(self, dst_ip)
            if hop is None:
                net.drop(link.name, pkt_id, None, DropReason.NO_ROUTE)
                return pkt_id
            net.deliver_later(net.now + link.delay, hop, pkt_id, data, link)
            return pkt_id
        return self.transmit(packet, reason, "", data)
