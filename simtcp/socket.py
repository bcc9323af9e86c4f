"""BSD-style sockets on a simulated host, raising what Python's own `socket` raises.

Theory of operation: a `Socket` is a façade over the host's `Stack`. Calls that would block
on a real system (connect, accept, recv, send with a full buffer) drive the simulation
forward in virtual time with `Network.run_until` until they can return. If the simulation
goes idle — no event left that could ever change the answer — a blocking call raises
`SimulationIdleError` (a `TimeoutError`) with an explanation instead of hanging forever.
Non-blocking sockets (`setblocking(False)`) raise `BlockingIOError` like the real thing.

A blocked call does not re-ask its condition after every event of the whole network: every
change to a connection goes through `Stack._after` (a segment, a timer, an ICMP error, a
socket call), which marks the socket that owns the connection (``_changed``; a listener
owns the connections in its queues). `Network.step_until` asks the condition again only
after an event that set the mark — the same event at which asking after every event would
first have found it true, so the calls return at the same instants in the same order.

Errors carry the real errno and a message that teaches: EADDRINUSE, EADDRNOTAVAIL, EACCES,
ECONNREFUSED, ETIMEDOUT, ECONNRESET, ENOTCONN, EISCONN, EINVAL, EBADF, EPIPE.
"""
from __future__ import annotations

import errno
import socket as _pysocket
from typing import Callable, Optional, Tuple

from .lang import strerror, tr
from .reasons import StateCause
from .segment import FourTuple
from .sockbind import Binding
from .sockargs import (as_bytes, as_int, check_shutdown_how, check_socket_args,
                       check_timeout)
from .listener import Listener
from .stack import WILDCARD
from .states import (CLOSE_WAIT, CLOSED, CLOSING, ESTABLISHED, FIN_WAIT_1, LAST_ACK,
                     SYN_RECEIVED, SYN_SENT, TIME_WAIT)

AF_INET = _pysocket.AF_INET
SOCK_STREAM = _pysocket.SOCK_STREAM
SOL_SOCKET = _pysocket.SOL_SOCKET
SO_REUSEADDR = _pysocket.SO_REUSEADDR
SO_REUSEPORT = getattr(_pysocket, "SO_REUSEPORT", 15)
IPPROTO_TCP = _pysocket.IPPROTO_TCP
TCP_NODELAY = _pysocket.TCP_NODELAY
SO_RCVBUF = _pysocket.SO_RCVBUF
SO_SNDBUF = _pysocket.SO_SNDBUF
SO_ERROR = _pysocket.SO_ERROR
SO_TYPE = _pysocket.SO_TYPE
SHUT_RD, SHUT_WR, SHUT_RDWR = 0, 1, 2
from .sockopts import (MODELLED_OPTIONS, MSG_MORE, SO_LINGER, SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF,  # noqa: E402,F401
                       TCP_CA_NAME_MAX, TCP_CONGESTION, TCP_CORK, TCP_INFO, TCP_MAXSEG,
                       TCP_QUICKACK, TCP_USER_TIMEOUT, SocketOptions)


from .errors import SimulationIdleError, SimulationStalledError  # noqa: E402,F401


def _check_port(port, call: str) -> int:
    if not isinstance(port, int):      # CPython's "i" format: a bool is an int
        raise TypeError(tr("socket.port_type", "{call}: the port must be an int, not {kind} "
                           "({port!r}); e.g. ('192.168.1.20', 80)",
                           call=call, kind=type(port).__name__, port=port))
    if not 0 <= port <= 0xFFFF:
        raise OverflowError(tr("socket.port_range", "{call}(): port must be 0-65535. A TCP port "
                               "is a 16-bit field of the header, so {port} does not fit.",
                               call=call, port=port))
    return port


class Socket(Binding, SocketOptions):
    """A TCP socket on a simulated `Host` (AF_INET, SOCK_STREAM)."""

    # slotted: a busy server holds one per connection, and a dict per socket costs more
    # than the TCB itself
    __slots__ = ("host", "net", "stack", "user", "capabilities", "process", "pid", "fd",
                 "family", "type",
                 "proto", "local", "bound_explicitly", "reuseaddr", "reuseport", "nodelay",
                 "user_timeout_ms", "cork", "quickack", "linger", "user_mss", "congestion",
                 "rcvbuf", "sndbuf", "keepalive", "keepidle", "keepintvl", "keepcnt", "listener", "conn", "closed", "_timeout", "_blocking",
                 "_shut_rd", "_error_reported", "on_ready", "_wake_pending", "_changed")

    def __init__(self, host, family: int = AF_INET, type: int = SOCK_STREAM, proto: int = 0,
                 *, user: str = "root", process: Optional[str] = None,
                 _conn=None, _local=None, _listener: Optional["Socket"] = None):
        if _listener is None:               # accept() makes its sockets with valid arguments
            check_socket_args(family, type, proto)
        if type != SOCK_STREAM:
            raise OSError(errno.EPROTONOSUPPORT, tr("socket.tcp_only", "Protocol not supported: "
                                                    "simtcp sockets are TCP (SOCK_STREAM)"))
        self.host = host
        self.net = host.net
        self.stack = host.stack
        self.user = user
        # the process's capabilities (simtcp.privilege)
        self.capabilities = None if _listener is None else _listener.capabilities
        self.process = process or "python"
        # accept(): the listener's process (and user) owns the new socket
        self.pid = host.pid_of(self.process, user) if _listener is None else _listener.pid
        self.fd = host.new_fd(self.pid)
        self.family, self.type, self.proto = family, type, proto
        self.local: Optional[Tuple[str, int]] = _local
        self.bound_explicitly = False
        if _listener is None:
            self._default_options()         # SO_* and TCP_* (simtcp.sockopts)
        else:
            self._clone_options(_listener)  # accept(): Linux sk_clone_lock()
        self.listener: Optional[Listener] = None
        self.conn = _conn
        self.closed = False
        self._timeout: Optional[float] = None
        self._blocking = True
        self._shut_rd = False
        self._error_reported = False     # sk_err was handed out once (sock_error())
        self.on_ready: Optional[Callable[["Socket"], None]] = None   # see Stack.wake
        self._wake_pending = False
        self._changed = False            # Stack._after touched our connection (_wait)
        host.sockets.append(self)
        if _conn is not None:
            self.stack.owner[_conn] = self

    def _ready(self) -> None:
        self._wake_pending = False
        if self.on_ready is not None and not self.closed:
            self.on_ready(self)

    # ------------------------------------------------------------- helpers
    def _call(self, name: str, *args, result: str = "", returned=None) -> None:
        """A ``call`` trace record: ``what`` and ``reason`` are display text (the call and
        its result); code reads the typed values in the detail: ("call", name),
        ("args", args) and ("returned", value) when the call returns one."""
        if not self.net.trace.enabled:
            return
        self.net.trace.socket_call(self.net.now, self.host.name,
                                   self.conn.tuple if self.conn else None, name, args, result,
                                   returned)

    def _check_open(self, call: str) -> None:
        if self.closed:
            raise OSError(errno.EBADF, tr("socket.closed", "Bad file descriptor: {call}() on a "
                                          "closed socket", call=call))

    def _resolve(self, address, call: str) -> Tuple[str, int]:
        if not isinstance(address, tuple) or len(address) != 2:
            raise TypeError(f"{call}(): AF_INET address must be a tuple (host, port), "
                            f"got {address!r}")
        ip, port = address
        if not isinstance(ip, str):
            raise TypeError(f"{call}(): the host must be a str like '192.168.1.20', got {ip!r}")
        port = _check_port(port, call)
        if ip in ("", "0.0.0.0"):
            return WILDCARD, port
        node = self.net.nodes.get(ip)
        if node is not None:             # a host name of the simulated network
            return node.ip, port
        try:
            _pysocket.inet_aton(ip)
            parts = ip.split(".")
            if len(parts) != 4:
                raise OSError
            return ip, port
        except OSError:
            raise _pysocket.gaierror(_pysocket.EAI_NONAME,
                                     f"Name or service not known: {ip!r} is neither a dotted "
                                     f"IPv4 address nor the name of a host in this network "
                                     f"({', '.join(self.net.nodes)})") from None

    def _wait(self, predicate, call: str, what: str) -> None:
        """Block in virtual time until ``predicate()``; honour settimeout/setblocking."""
        if predicate():
            return
        if not self._blocking:
            raise BlockingIOError(errno.EAGAIN, tr(
                "socket.would_block", "Resource temporarily unavailable: {call}() would block "
                "({what}); run the network and try again", call=call,
                what=tr(f"socket.wait.{call}", what)))
        start = self.net.now
        # predicate() was False; on a TCP socket it is asked again only after an event that
        # touched its connection (module docstring). Stack._after marks only TCP sockets:
        # a UDP one (UdpSocket borrows this method) is asked after every event.
        watched = self if self.type == SOCK_STREAM else None
        outcome = self.net.step_until(predicate, self._timeout, watched=watched)
        if outcome == "ok":
            return
        what = tr(f"socket.wait.{call}", what)       # words only for a call that fails
        if outcome == "idle" and self._timeout is not None:
            self.net._advance(start + self._timeout)  # nothing happens until the timeout
            outcome = "timeout"
        if outcome == "stalled":
            raise SimulationStalledError(tr(
                "socket.stalled", "{call}() gave up after {horizon:g} s of virtual time "
                "(Network.stall_horizon) waiting for {what}: the network keeps running timers "
                "but nothing completes the call (a real socket would block for ever). Use "
                "settimeout() to choose how long to wait.", call=call,
                horizon=self.net.stall_horizon, what=what))
        if outcome == "timeout":
            raise TimeoutError(tr("socket.timeout", "timed out: {call}() waited {t:g} s of "
                                  "virtual time for {what}", call=call, t=self._timeout,
                                  what=what))
        if outcome == "idle":
            raise SimulationIdleError(tr(
                "socket.idle", "{call}() would block forever: the simulated network is idle "
                "(nothing is in flight and no timer is pending), so {what} can never happen. "
                "Did the other side call connect()/send()? Use setblocking(False) to poll "
                "instead.", call=call, what=what))

    def setblocking(self, flag: bool) -> None:
        flag = as_int(flag)
        self._check_open("setblocking")
        self._blocking = bool(flag)
        self._timeout = None

    def getblocking(self) -> bool:
        return self._blocking

    def settimeout(self, value: Optional[float]) -> None:
        """Timeout in seconds of *virtual* time (None = block, 0 = non-blocking)."""
        value = check_timeout(value)
        self._check_open("settimeout")
        self._timeout = value
        self._blocking = value != 0

    def gettimeout(self) -> Optional[float]:
        return self._timeout if self._blocking else 0.0

    # --------------------------------------------------------------- listen
    def listen(self, backlog: int = 128) -> None:
        backlog = as_int(backlog)
        self._check_open("listen")
        if self.conn is not None:
            raise OSError(errno.EINVAL, tr("socket.listen_connected",
                                          "Invalid argument: a connected socket cannot listen"))
        if self.local is None:
            self.bind(("0.0.0.0", 0))
        somaxconn = self.host.sysctl.get("net.core.somaxconn", 4096)
        backlog = max(0, min(int(backlog), somaxconn))   # Linux __sys_listen()
        if self.listener is not None:
            self.listener.backlog = backlog
            return
        ip, port = self.local
        lst = Listener(self, ip, port, backlog)
        self.listener = lst
        self.stack.listeners[(ip, port)] = lst
        self.stack._record("state", "LISTEN", old="CLOSED", conn=FourTuple(ip, port, WILDCARD, 0),
                           reason=StateCause.PASSIVE_OPEN, rfc="RFC 9293 §3.10.1",
                           detail=(("backlog", backlog),))
        self._call("listen", backlog)

    def accept(self):
        """Wait (in virtual time) for a completed connection; returns (socket, address)."""
        self._check_open("accept")
        lst = self.listener
        if lst is None:
            raise OSError(errno.EINVAL, tr("socket.accept_not_listening", "Invalid argument: accept() "
                                             "needs a listening socket (call bind() and "
                                             "listen() first)"))
        self._wait(lambda: bool(lst.accept_queue), "accept", "a client to complete the handshake")
        conn = lst.accept_queue.popleft()
        self.stack.parent.pop(conn, None)
        t = conn.tuple
        child = Socket(self.host, user=self.user, process=self.process, _conn=conn,
                       _local=(t.local_ip, t.local_port), _listener=self)
        if self.net.trace.enabled:
            self._call("accept", result=f"{t.remote_ip}:{t.remote_port}")
        return child, (t.remote_ip, t.remote_port)

    # -------------------------------------------------------------- connect
    def connect(self, address) -> None:
        """Active open; blocks (in virtual time) until ESTABLISHED or failure."""
        if self._connect(address) == errno.EINPROGRESS:
            raise BlockingIOError(errno.EINPROGRESS, tr(
                "socket.einprogress", "Operation now in progress: the SYN is on its way; run "
                "the network, then check the socket"))

    def connect_ex(self, address) -> int:
        """Like connect() but returns an errno (0 on success; EINPROGRESS if non-blocking)."""
        try:
            return self._connect(address)
        except OSError as e:
            if e.errno is None:
                raise
            return e.errno

    def _connect(self, address) -> int:
        """connect() without raising EINPROGRESS (a non-blocking connect_ex() in a loop
        should not build an exception per call): 0 when connected, else EINPROGRESS."""
        if not self._start_connect(address):
            if not self._blocking:
                return errno.EINPROGRESS
            self._wait_connected()
        return 0

    def _start_connect(self, address) -> bool:
        ip, port = self._resolve(address, "connect")
        self._check_open("connect")
        if self.listener is not None:
            # Linux inet_stream_connect(): a socket not in CLOSE (a listener) is EISCONN
            raise OSError(errno.EISCONN, tr("socket.connect_listening_isconn",
                                           "Transport endpoint is already connected: a "
                                           "listening socket cannot connect"))
        if self.conn is not None:
            if self.conn.state in (SYN_SENT, SYN_RECEIVED):
                if not self._blocking:
                    raise OSError(errno.EALREADY, strerror(errno.EALREADY))
                self._wait_connected()
                return True
            if self.conn.state is CLOSED and self.conn.error:
                raise self._conn_error("connect")
            raise OSError(errno.EISCONN, tr(
                "socket.eisconn", "Transport endpoint is already connected (to {peer}); a TCP "
                "socket connects once — make a new socket",
                peer=f"{self.conn.tuple.remote_ip}:{self.conn.tuple.remote_port}"))
        if ip == WILDCARD:
            ip = self.host.ip      # Linux: connecting to 0.0.0.0 means this host
        if port == 0:
            raise OSError(errno.ECONNREFUSED, tr("socket.port0", "Connection refused: port 0 is "
                                                 "reserved and nothing can listen on it"))
        # source address: the bound one, else the one the route picks (Linux
        # ip_route_connect(); no route at all fails at once, before any packet is sent)
        src = self.host.source_for(ip)
        if src is None:
            raise OSError(errno.ENETUNREACH, tr(
                "socket.no_route", "Network is unreachable: {host} has no route to {ip} "
                "(Linux ip_route_connect() fails before sending)", host=self.host.name, ip=ip))
        laddr = self.local[0] if self.local and self.local[0] != WILDCARD else src
        if self.local is None:
            lport = self.stack.allocator.connect_port(
                laddr, ip, port, lambda p: not self.stack.port_in_use_for(laddr, p, ip, port),
                busy=self.stack.busy_ports(laddr, ip, port))
        else:
            lport = self.local[1]
            existing = self.stack.conns.get(FourTuple(laddr, lport, ip, port))
            if existing is not None and existing.state is not TIME_WAIT:
                raise OSError(errno.EADDRNOTAVAIL, tr(
                    "socket.tuple_in_use", "Cannot assign requested address: the 4-tuple "
                    "{laddr}:{lport} -> {ip}:{port} is already in use", laddr=laddr,
                    lport=lport, ip=ip, port=port))
        if self.local is not None:
            binds = self.stack.bindings.get(self.local[1], [])
            if self in binds:
                binds.remove(self)
        self.local = (laddr, lport)
        t = FourTuple(laddr, lport, ip, port)
        if self.net.trace.enabled:
            self._call("connect", (ip, port), result=f"from {laddr}:{lport}")
        self.conn = self.stack.open_connection(t, self)
        return False

    def _wait_connected(self) -> None:
        conn = self.conn
        self._wait(lambda: conn.state not in (SYN_SENT, SYN_RECEIVED), "connect",
                   "the handshake to finish")
        if conn.state is CLOSED:
            raise self._conn_error("connect")

    def _take_error(self, call: str) -> OSError:
        """The connection's error, handed out once: Linux sock_error() clears sk_err as it
        reports it (read(), write() or SO_ERROR), so the next call sees the socket as shut
        down instead — read() returns end of file, write() fails with EPIPE."""
        self._error_reported = True
        return self._conn_error(call)

    def _conn_error(self, call: str) -> OSError:
        conn = self.conn
        t = conn.tuple
        where = f"{t.remote_ip}:{t.remote_port}"
        if conn.error == errno.ECONNREFUSED:
            return ConnectionRefusedError(errno.ECONNREFUSED, tr(
                "socket.econnrefused", "Connection refused: {where} answered the SYN with RST "
                "— nothing listens on that port (RFC 9293 §3.10.7.1)", where=where))
        if conn.error == errno.ETIMEDOUT:
            return TimeoutError(errno.ETIMEDOUT, tr(
                "socket.etimedout", "Connection timed out: no answer from {where} after "
                "{retries} retransmissions; t={now:g} s. Linux gives up when the time that "
                "tcp_syn_retries (or, for data, tcp_retries2) exponential backoffs would take "
                "has passed", where=where, retries=conn.retries, now=self.net.now))
        if conn.error in (errno.ENETUNREACH, errno.EHOSTUNREACH, errno.EHOSTDOWN, errno.EPROTO,
                          errno.ENOPROTOOPT, errno.ENONET, errno.EOPNOTSUPP):
            # what tcp_v4_err() reported for an ICMP error (Python raises a plain OSError)
            return OSError(conn.error, tr(
                "socket.icmp_error", "{error}: an ICMP error about our segments to {where} "
                "(Linux tcp_v4_err())", error=strerror(conn.error), where=where))
        if conn.error == errno.ECONNRESET:
            return ConnectionResetError(errno.ECONNRESET, tr(
                "socket.econnreset", "Connection reset by peer: {where} sent a RST", where=where))
        return OSError(errno.ENOTCONN, tr("socket.enotconn_state", "Transport endpoint is not "
                                          "connected: {call}() on a connection that is {state}",
                                          call=call, state=conn.state))

    # -------------------------------------------------------------- data
    def _connected_conn(self, call: str):
        conn = self.conn
        if conn is None or self.closed:
            self._check_open(call)          # EBADF first
            raise OSError(errno.ENOTCONN, tr("socket.enotconn", "Transport endpoint is not connected: "
                                             "{call}() needs a connected socket (connect() "
                                             "first, or use the socket accept() returned)",
                                             call=call))
        return conn

    def _sending_conn(self, call: str):
        """Linux tcp_sendmsg() on a socket that never connected (new, bound, listening):
        sk_stream_wait_connect() answers EPIPE, not ENOTCONN."""
        conn = self.conn
        if conn is None or self.closed:
            self._check_open(call)          # EBADF first
            raise BrokenPipeError(errno.EPIPE, tr(
                "socket.epipe_unconnected", "Broken pipe: {call}() on a socket that is not "
                "connected (connect() first, or use the socket accept() returned)", call=call))
        return conn

    def send(self, data: bytes, flags: int = 0) -> int:
        """Queue data; ``flags`` may be MSG_MORE (more data follows: no push, hold a partial
        segment, as tcp_sendmsg() does); other flags are not modelled (EOPNOTSUPP)."""
        data, flags = as_bytes(data), as_int(flags)
        return self._send(self._sending_conn("send"), data, flags)

    def _send(self, conn, data: bytes, flags: int) -> int:
        """send() on ``conn`` with its arguments and the socket already checked (sendall()
        checks them once)."""
        if flags & ~MSG_MORE:
            raise OSError(errno.EOPNOTSUPP, tr(
                "socket.send_flags", "Operation not supported: send() flags {flags:#x} are not "
                "modelled by simtcp (MSG_MORE is)", flags=flags))
        if conn.error and not self._error_reported:
            raise self._take_error("send")
        if conn.state in (SYN_SENT, SYN_RECEIVED):
            self._wait_connected()
        if conn.fin_queued or conn.state not in (ESTABLISHED, CLOSE_WAIT):
            if conn.error and not self._error_reported:
                raise self._take_error("send")
            # Linux tcp_sendmsg_locked(): once the error was reported, a reset connection
            # is shut down both ways (tcp_done(): SHUTDOWN_MASK) and writing fails with EPIPE
            raise BrokenPipeError(errno.EPIPE, tr("socket.epipe", "Broken pipe: this side already "
                                                  "closed its sending direction (state {state})",
                                                  state=conn.state))
        if conn.cfg.sndbuf <= len(conn.sndq):
            # Linux tcp_sendmsg_locked(): no room (sk_stream_memory_free()) -> wait for it
            self._wait(lambda: conn.cfg.sndbuf > len(conn.sndq) or conn.state is CLOSED,
                       "send", "room in the send buffer")
        if conn.error and not self._error_reported:
            raise self._take_error("send")
        if conn.state is CLOSED:
            raise BrokenPipeError(errno.EPIPE, tr("socket.epipe", "Broken pipe: this side already "
                                                  "closed its sending direction (state {state})",
                                                  state=conn.state))
        n = conn.send(data, self.net.now, more=bool(flags & MSG_MORE))
        self.stack.kick(conn)
        if self.net.trace.enabled:
            self._call("send", len(data), result=f"{n} of {len(data)} bytes queued")
        return n

    def sendall(self, data: bytes, flags: int = 0) -> None:
        view, flags = as_bytes(data), as_int(flags)      # CPython parses both first
        conn = self._sending_conn("sendall")
        while view:
            n = self._send(conn, view, flags)
            view = view[n:]
            if view:         # the rest after a wait: the socket is checked again, as send()
                conn = self._sending_conn("send")

    def recv(self, bufsize: int) -> bytes:
        bufsize = as_int(bufsize)
        if bufsize < 0:
            raise ValueError("negative buffersize in recv")
        if bufsize == 0:
            return b""               # CPython sock_recv(): recvlen 0 returns at once
        conn = self._connected_conn("recv")
        # After shutdown(SHUT_RD) Linux still hands over data already queued (tcp_recvmsg()
        # checks RCV_SHUTDOWN only when the queue is empty), then reads end-of-file
        if self._shut_rd and not conn.rcvq:
            return b""
        self._wait(lambda: bool(conn.rcvq) or conn.eof or conn.state is CLOSED, "recv",
                   "data to arrive")
        if not conn.rcvq and conn.error:
            if self._error_reported:
                return b""       # tcp_recvmsg(): sk_err was reported; RCV_SHUTDOWN reads EOF
            raise self._take_error("recv")
        data = conn.recv(bufsize, self.net.now)
        self.stack.kick(conn)
        if self.net.trace.enabled:
            self._call("recv", bufsize, result=f"{len(data)} bytes", returned=len(data))
        return data

    def shutdown(self, how: int) -> None:
        how = as_int(how)
        self._check_open("shutdown")
        check_shutdown_how(how)
        if self.listener is not None:
            # Linux inet_shutdown() on a listener: SHUT_WR does nothing; reading shut down
            # disconnects it (tcp_disconnect -> inet_csk_listen_stop): it stops listening
            if how in (SHUT_RD, SHUT_RDWR):
                self._stop_listening(StateCause.LISTENER_SHUTDOWN)
            self._call("shutdown", how)
            return
        conn = self._connected_conn("shutdown")
        if how in (SHUT_RD, SHUT_RDWR):
            self._shut_rd = True
        if how in (SHUT_WR, SHUT_RDWR):
            conn.shutdown_write(self.net.now)
            self.stack.kick(conn)
        self._call("shutdown", how)

    def close(self) -> None:
        if self.closed:
            return
        self.closed = True
        self.host.release_fd(self.pid, self.fd)
        if self.listener is not None:
            self._stop_listening(StateCause.LISTENER_CLOSE)
        elif self.conn is not None:
            self.conn.close(self.net.now, linger_zero=self.linger == 0)
            self.stack.kick(self.conn)
            if self.linger:
                self._linger(self.conn)
        if self.conn is None or self.conn.state is CLOSED:
            self.host.sockets.remove(self)      # otherwise when the connection ends
        if self.local is not None:
            binds = self.stack.bindings.get(self.local[1])
            if binds and self in binds:
                binds.remove(self)
                if not binds:
                    del self.stack.bindings[self.local[1]]
        if self.net.trace.enabled:
            self._call("close")

    def _linger(self, conn) -> None:
        """SO_LINGER with a timeout: close() waits until our FIN is acknowledged or the time
        is up (Linux tcp_close() -> sk_stream_wait_close(): while the state is FIN-WAIT-1,
        CLOSING or LAST-ACK). Linux waits even on a non-blocking socket; here that is
        virtual time passing. Either way close() then returns and the connection goes on."""
        def done() -> bool:
            return conn.state not in (FIN_WAIT_1, CLOSING, LAST_ACK)
        start = self.net.now
        if not done() and self.net.step_until(done, self.linger, watched=self) == "idle":
            self.net._advance(start + self.linger)   # nothing happens until the timeout

    def _stop_listening(self, why: StateCause) -> None:
        listener = self.listener
        listener.close()
        self.stack._record("state", "CLOSED", old="LISTEN",
                           conn=FourTuple(listener.ip, listener.port, WILDCARD, 0),
                           reason=why, rfc="RFC 9293 §3.10.4")
        self.listener = None if not self.closed else listener

    def __enter__(self):
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # ------------------------------------------------------------ names
    def getsockname(self) -> Tuple[str, int]:
        self._check_open("getsockname")
        return self.local if self.local is not None else (WILDCARD, 0)

    def getpeername(self) -> Tuple[str, int]:
        conn = self._connected_conn("getpeername")
        if conn.state in (SYN_SENT,) or (conn.closed and conn.error):
            raise OSError(errno.ENOTCONN, strerror(errno.ENOTCONN))
        return conn.tuple.remote_ip, conn.tuple.remote_port

    def fileno(self) -> int:
        return -1 if self.closed else self.fd

    @property
    def state(self) -> str:
        if self.listener is not None:
            return self.listener.state.value
        if self.conn is not None:
            return self.conn.state.value
        return "CLOSED"

    def __repr__(self) -> str:
        local = f"{self.local[0]}:{self.local[1]}" if self.local else "unbound"
        peer = (f" -> {self.conn.tuple.remote_ip}:{self.conn.tuple.remote_port}"
                if self.conn else "")
        return f"<simtcp.Socket fd={self.fd} {self.host.name} {local}{peer} {self.state}>"
