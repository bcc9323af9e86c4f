"""UDP sockets (AF_INET, SOCK_DGRAM) on a simulated host, raising what Python's own `socket`
raises on Linux.

Theory of operation: a `UdpSocket` is a façade over the host's `Udp` layer (`simtcp.udp`).
It keeps what Linux keeps in a UDP sock: the local address (``bind``, or an automatic
ephemeral port on the first send — inet_autobind()), an optional peer (``connect``:
ip4_datagram_connect() only records it, nothing is sent), the receive queue of whole
datagrams and a pending error (sk_err). Every call is checked in Linux's order and fails
with the same exception class and errno as CPython's socket module on Linux (the table in
tests/test_udp.py compares with real loopback sockets):

* ``send()`` without a peer: EDESTADDRREQ; ``sendto()`` to port 0: EINVAL; more than
  65507 bytes: EMSGSIZE; the broadcast address without SO_BROADCAST: EACCES.
* ``recv(n)`` returns one datagram, cut to ``n`` bytes (the rest is discarded, as
  MSG_TRUNC describes); an empty datagram is a valid b"".
* A connected socket that got an ICMP hard error (port unreachable: ECONNREFUSED) raises
  it once from its next send() or recv() (sock_error() reads and clears sk_err).
* ``listen``/``accept``: EOPNOTSUPP; ``getpeername`` unconnected and ``shutdown``
  unconnected: ENOTCONN; anything after ``close``: EBADF.

Blocking calls run the simulation in virtual time, like `simtcp.socket.Socket`.
"""
from __future__ import annotations

import errno
import socket as _pysocket
from collections import deque
from typing import Optional, Tuple

from .socket import AF_INET, SO_RCVBUF, SO_REUSEADDR, SO_SNDBUF, SOL_SOCKET, Socket
from .lang import strerror, tr
from .privilege import check_bind
from .udp import MAX_PAYLOAD, WILDCARD

SOCK_DGRAM = _pysocket.SOCK_DGRAM
SO_BROADCAST = _pysocket.SO_BROADCAST
RCVBUF_DEFAULT = 212992        # net.core.rmem_default
SNDBUF_DEFAULT = 212992        # net.core.wmem_default


class UdpSocket:
    """A UDP socket on a simulated `Host` (see module docstring)."""

    # the address checks and the virtual-time wait are the TCP socket's own
    _resolve = Socket._resolve
    _wait = Socket._wait
    _call = Socket._call
    setblocking = Socket.setblocking
    getblocking = Socket.getblocking
    settimeout = Socket.settimeout
    gettimeout = Socket.gettimeout

    def __init__(self, host, family: int = AF_INET, type: int = SOCK_DGRAM, proto: int = 0,
                 *, user: str = "root", process: Optional[str] = None):
        if proto not in (0, _pysocket.IPPROTO_UDP):
            raise OSError(errno.EPROTONOSUPPORT, strerror(errno.EPROTONOSUPPORT))
        self.host = host
        self.net = host.net
        self.stack = host.stack
        self.udp = host.udp
        self.family, self.type, self.proto = family, type, proto
        self.user = user
        self.capabilities = None            # the process's capabilities (simtcp.privilege)
        self.process = process or "python"
        self.pid = host.pid_of(self.process, user)
        self.fd = host.new_fd(self.pid)
        self.local: Optional[Tuple[str, int]] = None
        self.peer: Optional[Tuple[str, int]] = None
        self._dest: Optional[Tuple[str, int]] = None     # where send() goes (connect())
        self.conn = None                   # no TCP connection (trace records use it)
        self.reuseaddr = False
        self.broadcast = False
        self.rcvbuf_limit = RCVBUF_DEFAULT
        self.sndbuf_limit = SNDBUF_DEFAULT
        self.queue: deque = deque()        # (payload, source address, truesize)
        self.rmem_alloc = 0
        self.wmem_alloc = 0                # sent datagrams leave at once: always 0
        self.error = 0
        self.ip_id: Optional[int] = None    # inet_id: IPv4 IDs of a connected socket
        self.closed = False
        self.on_ready = None               # a program's readiness callback (Stack.wake)
        self._wake_pending = False
        self._timeout: Optional[float] = None
        self._blocking = True
        host.sockets.append(self)

    # ------------------------------------------------------------- helpers
    def _check_open(self, call: str) -> None:
        if self.closed:
            raise OSError(errno.EBADF, strerror(errno.EBADF))

    def _take_error(self) -> None:
        """sock_error(): a pending error is raised once, then cleared."""
        err, self.error = self.error, 0
        if err == errno.ECONNREFUSED:
            raise ConnectionRefusedError(err, strerror(err))
        if err:
            raise OSError(err, strerror(err))

    def wake(self) -> None:
        """Tell the program holding this socket that something changed (`Stack.wake`)."""
        self.stack.wake(self)

    def _ready(self) -> None:
        self._wake_pending = False
        if self.on_ready is not None and not self.closed:
            self.on_ready(self)

    def _autobind(self) -> None:
        if self.local is None:
            self.local = self.udp.bind(self, WILDCARD, 0)

    def enqueue(self, payload: bytes, source: Tuple[str, int], size: int) -> None:
        """A datagram for this socket (called by `Udp.input`)."""
        self.queue.append((payload, source, size))
        self.rmem_alloc += size
        self.wake()

    # ---------------------------------------------------------------- bind
    def bind(self, address) -> None:
        self._check_open("bind")
        ip, port = self._resolve(address, "bind")
        if self.local is not None:
            raise OSError(errno.EINVAL, strerror(errno.EINVAL))
        if ip != WILDCARD and not self.host.is_local_address(ip):
            raise OSError(errno.EADDRNOTAVAIL, strerror(errno.EADDRNOTAVAIL))
        check_bind(self, ip, port)          # per address: macOS exempts only the wildcard
        self.local = self.udp.bind(self, ip, port)
        self._call("bind", (ip, port))

    def connect(self, address) -> None:
        """ip4_datagram_connect(): remember the peer, pick the source address; no packet."""
        self._check_open("connect")
        ip, port = self._resolve(address, "connect")
        src = self.host.source_for(ip) if hasattr(self.host, "source_for") else self.host.ip
        if src is None:
            raise OSError(errno.ENETUNREACH, strerror(errno.ENETUNREACH))
        if self.local is None:
            self.local = self.udp.bind(self, WILDCARD, 0)
        if self.local[0] == WILDCARD:
            # the socket keeps its port and takes the route's source address (inet_saddr)
            self.udp.unbind(self)
            self.local = (src, self.local[1])
            self.udp.bound.insert(0, self)
        # Linux records the peer even with port 0 (send() then goes to port 0), but
        # getpeername() reports ENOTCONN without a port (inet_getname())
        self.peer = (ip, port) if port else None
        self._dest = (ip, port)
        self._call("connect", (ip, port))

    def connect_ex(self, address) -> int:
        try:
            self.connect(address)
        except OSError as e:
            if e.errno is None:
                raise
            return e.errno
        return 0

    # ---------------------------------------------------------------- send
    def _check_data(self, data, call: str) -> bytes:
        try:
            return bytes(memoryview(data))
        except TypeError:
            raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'") \
                from None

    def sendto(self, data, *args) -> int:
        if len(args) == 2:
            _flags, address = args
        elif len(args) == 1:
            address = args[0]
        else:
            raise TypeError(f"sendto() takes 2 or 3 arguments ({len(args) + 1} given)")
        self._check_open("sendto")
        payload = self._check_data(data, "sendto")
        ip, port = self._resolve(address, "sendto")
        self._autobind()
        if port == 0:
            raise OSError(errno.EINVAL, strerror(errno.EINVAL))
        return self._send(payload, (ip, port), "sendto")

    def send(self, data, flags: int = 0) -> int:
        self._check_open("send")
        payload = self._check_data(data, "send")
        self._autobind()
        dest = self._dest
        if dest is None:
            raise OSError(errno.EDESTADDRREQ, strerror(errno.EDESTADDRREQ))
        return self._send(payload, dest, "send")

    def sendall(self, data, flags: int = 0) -> None:
        self.send(data, flags)

    def _send(self, payload: bytes, dest: Tuple[str, int], call: str) -> int:
        if len(payload) > MAX_PAYLOAD:
            raise OSError(errno.EMSGSIZE, strerror(errno.EMSGSIZE))
        if dest[0] == "255.255.255.255" and not self.broadcast:
            raise PermissionError(errno.EACCES, strerror(errno.EACCES))
        self._take_error()                 # sock_alloc_send_pskb(): sock_error() first
        self.udp.output(self, payload, dest)
        self._call(call, len(payload), result=f"{len(payload)} bytes", returned=len(payload))
        return len(payload)

    # ---------------------------------------------------------------- recv
    def recvfrom(self, bufsize: int, flags: int = 0):
        self._check_open("recvfrom")
        if bufsize < 0:
            raise ValueError("negative buffersize in recvfrom")
        self._take_error()
        self._wait(lambda: bool(self.queue) or bool(self.error), "recvfrom",
                   "a datagram to arrive")
        self._take_error()
        payload, source, size = self.queue.popleft()
        self.rmem_alloc -= size
        self._call("recvfrom", bufsize, result=f"{len(payload[:bufsize])} bytes from "
                   f"{source[0]}:{source[1]}", returned=len(payload[:bufsize]))
        return payload[:bufsize], source

    def recv(self, bufsize: int, flags: int = 0) -> bytes:
        if bufsize < 0:
            self._check_open("recv")
            raise ValueError("negative buffersize in recv")
        return self.recvfrom(bufsize, flags)[0]

    # ------------------------------------------------------------- the rest
    def listen(self, backlog: int = 0) -> None:
        self._check_open("listen")
        raise OSError(errno.EOPNOTSUPP, strerror(errno.EOPNOTSUPP))

    def accept(self):
        self._check_open("accept")
        raise OSError(errno.EOPNOTSUPP, strerror(errno.EOPNOTSUPP))

    def shutdown(self, how: int) -> None:
        self._check_open("shutdown")
        if self.peer is None:
            raise OSError(errno.ENOTCONN, strerror(errno.ENOTCONN))

    def getsockname(self) -> Tuple[str, int]:
        self._check_open("getsockname")
        return self.local if self.local is not None else (WILDCARD, 0)

    def getpeername(self) -> Tuple[str, int]:
        self._check_open("getpeername")
        if self.peer is None:
            raise OSError(errno.ENOTCONN, strerror(errno.ENOTCONN))
        return self.peer

    def setsockopt(self, level: int, option: int, value) -> None:
        self._check_open("setsockopt")
        if level == SOL_SOCKET and option == SO_REUSEADDR:
            self.reuseaddr = bool(value)
        elif level == SOL_SOCKET and option == SO_BROADCAST:
            self.broadcast = bool(value)
        elif level == SOL_SOCKET and option in (SO_RCVBUF, SO_SNDBUF):
            # sock_setsockopt(): the kernel doubles the value (bookkeeping overhead), with
            # a floor of SOCK_MIN_RCVBUF/SOCK_MIN_SNDBUF
            size = max(int(value) * 2, 2304 if option == SO_RCVBUF else 4608)
            if option == SO_RCVBUF:
                self.rcvbuf_limit = size
            else:
                self.sndbuf_limit = size
        else:
            raise OSError(errno.ENOPROTOOPT, tr(
                "udpsocket.option", "Protocol not available: option {option} at level {level} "
                "is not simulated for UDP (SO_REUSEADDR, SO_BROADCAST, SO_RCVBUF, SO_SNDBUF "
                "are)", option=option, level=level))

    def getsockopt(self, level: int, option: int) -> int:
        self._check_open("getsockopt")
        if level == SOL_SOCKET and option == SO_REUSEADDR:
            return int(self.reuseaddr)
        if level == SOL_SOCKET and option == SO_BROADCAST:
            return int(self.broadcast)
        if level == SOL_SOCKET and option == SO_RCVBUF:
            return self.rcvbuf_limit
        if level == SOL_SOCKET and option == SO_SNDBUF:
            return self.sndbuf_limit
        raise OSError(errno.ENOPROTOOPT, strerror(errno.ENOPROTOOPT))

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.udp.unbind(self)
        self.queue.clear()
        self.rmem_alloc = 0
        self.host.release_fd(self.pid, self.fd)
        self._call("close")

    def fileno(self) -> int:
        return -1 if self.closed else self.fd

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def __repr__(self) -> str:
        where = f"laddr={self.local}" if self.local else "unbound"
        peer = f" raddr={self.peer}" if self.peer else ""
        return (f"<simtcp UdpSocket fd={self.fileno()} family=AF_INET type=SOCK_DGRAM "
                f"{where}{peer}{' closed' if self.closed else ''}>")

