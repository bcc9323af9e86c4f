"""The simtcp back end: a simulated Linux host in virtual time, the script as its peer.

Theory of operation: one `Network` holds a `Host` (the stack under test, 192.168.0.1, the
address packetdrill gives the local end) and a `Peer` (192.0.2.1, packetdrill's remote
address) on a link with no delay, so a packet the script injects at t arrives at t and a
packet the host sends at t is seen at t. Waiting is running the simulation: `advance(t)` runs
it until t; `wait_outbound(deadline)` runs it only until the host's next packet reaches the
peer. Sockets are the host's own (`simtcp.socket.Socket`), made non-blocking so that a call
never moves the clock; the engine decides what a would-block means.
"""
from __future__ import annotations

import errno
from typing import List, Optional, Tuple

from ..segment import Packet
from ..sim import Network

LOCAL_IP, REMOTE_IP = "192.168.0.1", "192.0.2.1"   # packetdrill's IPv4 defaults (config.c)


class SimtcpBackend:
    """Drive a simulated host (``os`` profile, default linux) from a packetdrill script."""

    local_ip, remote_ip = LOCAL_IP, REMOTE_IP

    def __init__(self, seed: int = 1, os: str = "linux"):
        self.net = Network(seed=seed)
        self.host = self.net.add_host("stack", LOCAL_IP, os=os)
        self.peer = self.net.add_peer(REMOTE_IP, name="script")
        self.net.add_link(self.peer, self.host, delay=0.0, name="tun0")
        self._queue: List[Tuple[float, Packet]] = []
        self.peer.on_receive = lambda _peer, pkt: self._queue.append((self.net.now, pkt))

    def now(self) -> float:
        return self.net.now

    def advance(self, t: float) -> None:
        self.net.run(until=t)

    def pending(self) -> List[Tuple[float, Packet]]:
        self.net.run(until=self.net.now)          # what is due now has happened by now
        return list(self._queue)

    def wait_outbound(self, deadline: float) -> Optional[Tuple[float, Packet]]:
        if not self._queue and deadline > self.net.now:
            outcome = self.net.run_until(lambda: bool(self._queue), deadline - self.net.now)
            if outcome == "idle":
                self.net.run(until=deadline)
        return self._queue.pop(0) if self._queue else None

    def inject(self, packet: Packet) -> float:
        self.peer.send(packet)                    # SendCause.PEER: the script is the peer
        self.net.run(until=self.net.now)          # it arrives (and is answered) at once
        return self.net.now

    def socket(self):
        sock = self.host.socket()
        sock.setblocking(False)
        return sock

    def inq(self, sock) -> int:
        """ioctl(SIOCINQ): bytes queued for reading (Linux tcp_ioctl() -> tcp_inq())."""
        if sock.listener is not None or sock.conn is None:
            raise OSError(errno.EINVAL, "Invalid argument: SIOCINQ on a socket that is not "
                          "connected")
        return len(sock.conn.rcvq)

    def set_sysctl(self, name: str, value: str) -> None:
        self.host.sysctl[name] = value

    def close(self) -> None:
        pass
