"""Socket options: what setsockopt()/getsockopt() accept, and what each one changes.

Theory of operation: `SocketOptions` is a mixin of `socket.Socket`. Each option simtcp
models is stored on the socket and copied into a connection's `TcpConfig` by `configure`
(when the connection is made, and for a listener's children, which inherit the listener's
options as Linux clones them); setting one on a live connection changes it at once where
Linux does (TCP_NODELAY and uncorking push pending data; TCP_CONGESTION re-initialises the
algorithm; SO_RCVBUF locks the buffer). Values follow Linux: buffer sizes are clamped to
net.core.rmem_max / wmem_max and doubled (sk_setsockopt), SO_LINGER makes close() abort
(0 s) or wait for the FIN's ACK (tcp_close()), TCP_MAXSEG is 88-32767, an
unknown congestion control is ENOENT. Every other option raises OSError(ENOPROTOOPT)
saying it is not modelled, so nothing is silently ignored; TCP_INFO is read-only and reads
as struct tcp_info (`simtcp.tcpinfo`).
"""
from __future__ import annotations

import errno
import socket as _pysocket
import struct
from operator import attrgetter
from typing import Optional

from .congestion import ALGORITHMS, make as make_cc
from .lang import tr
from .sockargs import as_int, sockopt_int, sockopt_value
from .states import State
from .tcpconfig import cc_params
from .tcprecv import PINGPONG_THRESH

SOL_SOCKET = _pysocket.SOL_SOCKET
SO_REUSEADDR = _pysocket.SO_REUSEADDR
SO_REUSEPORT = getattr(_pysocket, "SO_REUSEPORT", 15)
IPPROTO_TCP = _pysocket.IPPROTO_TCP
TCP_NODELAY = _pysocket.TCP_NODELAY
TCP_USER_TIMEOUT = getattr(_pysocket, "TCP_USER_TIMEOUT", 18)
SO_RCVBUF = _pysocket.SO_RCVBUF
SO_SNDBUF = _pysocket.SO_SNDBUF
SO_ERROR = _pysocket.SO_ERROR
SO_TYPE = _pysocket.SO_TYPE
TCP_CORK = getattr(_pysocket, "TCP_CORK", 3)
TCP_QUICKACK = getattr(_pysocket, "TCP_QUICKACK", 12)
TCP_MAXSEG = getattr(_pysocket, "TCP_MAXSEG", 2)
TCP_INFO = getattr(_pysocket, "TCP_INFO", 11)
TCP_CONGESTION = getattr(_pysocket, "TCP_CONGESTION", 13)
TCP_CA_NAME_MAX = 16                             # include/net/tcp.h
SO_KEEPALIVE = _pysocket.SO_KEEPALIVE
TCP_KEEPIDLE = getattr(_pysocket, "TCP_KEEPIDLE", 4)
TCP_KEEPINTVL = getattr(_pysocket, "TCP_KEEPINTVL", 5)
TCP_KEEPCNT = getattr(_pysocket, "TCP_KEEPCNT", 6)
# include/net/tcp.h MAX_TCP_KEEPIDLE, MAX_TCP_KEEPINTVL (seconds), MAX_TCP_KEEPCNT
_KEEPALIVE_LIMITS = {TCP_KEEPIDLE: ("TCP_KEEPIDLE", 32767), TCP_KEEPINTVL: ("TCP_KEEPINTVL", 32767),
                     TCP_KEEPCNT: ("TCP_KEEPCNT", 127)}
SO_LINGER = _pysocket.SO_LINGER
# a plain int, not Python's MsgFlag member: send() masks its flags with it on every call,
# and enum.IntFlag arithmetic runs in Python
MSG_MORE = int(getattr(_pysocket, "MSG_MORE", 0x8000))
SOCK_MIN_RCVBUF, SOCK_MIN_SNDBUF = 2304, 4608   # include/net/sock.h (x86-64 sk_buff size)
MODELLED_OPTIONS = ("SO_REUSEADDR", "SO_REUSEPORT", "SO_RCVBUF", "SO_SNDBUF", "SO_LINGER",
                    "SO_KEEPALIVE", "TCP_KEEPIDLE", "TCP_KEEPINTVL", "TCP_KEEPCNT",
                    "TCP_NODELAY", "TCP_QUICKACK",
                    "TCP_CORK", "TCP_USER_TIMEOUT", "TCP_MAXSEG", "TCP_CONGESTION",
                    "TCP_INFO")


def _int_option(value, name: str) -> int:
    """An integer option value as the kernel reads it (sockargs.sockopt_int: an int, or at
    least 4 bytes of a buffer in host order, else EINVAL)."""
    return sockopt_int(value)



def _not_modelled(option: int, level: int) -> OSError:
    return OSError(errno.ENOPROTOOPT, tr(
        "sockopt.not_modelled", "Protocol not available: option {option} at level {level} is "
        "not modelled by simtcp (modelled: {modelled})", option=option, level=level,
        modelled=", ".join(MODELLED_OPTIONS)))

# the socket attributes `SocketOptions.configure` reads (tests/test_listen_queues.py checks
# that it reads no other): what a connection inherits, and the stack's config cache key
INHERITED_OPTIONS = ("nodelay", "cork", "quickack", "user_timeout_ms", "user_mss",
                     "congestion", "rcvbuf", "sndbuf", "keepalive", "keepidle", "keepintvl",
                     "keepcnt")
_INHERITED = attrgetter(*INHERITED_OPTIONS)


class SocketOptions:
    """setsockopt / getsockopt for `socket.Socket` (see the module docstring)."""

    __slots__ = ()

    def _default_options(self) -> None:
        """A new socket's options: Linux's defaults (the sysctls decide the rest)."""
        self.reuseaddr = False
        self.reuseport = False
        self.nodelay = False
        self.user_timeout_ms = 0
        self.cork = False
        self.quickack = True                 # TCP_QUICKACK (False: interactive from the start)
        self.linger: Optional[int] = None    # SO_LINGER seconds (None: l_onoff = 0)
        self.user_mss = 0                    # TCP_MAXSEG (tp->rx_opt.user_mss; 0: none)
        self.congestion: Optional[str] = None    # TCP_CONGESTION (None: the sysctl's)
        self.rcvbuf: Optional[int] = None
        self.sndbuf: Optional[int] = None
        self.keepalive = False               # SO_KEEPALIVE (SOCK_KEEPOPEN)
        self.keepidle = self.keepintvl = self.keepcnt = 0   # TCP_KEEPIDLE/INTVL/CNT (0: sysctl)

    def _clone_options(self, parent: "SocketOptions") -> None:
        """An accepted socket is a clone of the listener (Linux sk_clone_lock()): its options
        read back as the listener's, as they already apply to the connection (configure)."""
        self.reuseaddr = parent.reuseaddr
        self.reuseport = parent.reuseport
        self.nodelay = parent.nodelay
        self.user_timeout_ms = parent.user_timeout_ms
        self.cork = parent.cork
        self.quickack = parent.quickack
        self.linger = parent.linger
        self.user_mss = parent.user_mss
        self.congestion = parent.congestion
        self.rcvbuf = parent.rcvbuf
        self.sndbuf = parent.sndbuf
        self.keepalive = parent.keepalive
        self.keepidle, self.keepintvl, self.keepcnt = parent.keepidle, parent.keepintvl, \
            parent.keepcnt

    #: The options `configure` copies into a connection, as one comparable value: the
    #: stack keeps a configured TcpConfig per value (`stack.Stack.config`). A property
    #: over an attrgetter: read for every connection, and no Python frame.
    inherited_options = property(_INHERITED)

    def configure(self, cfg) -> None:
        """Copy this socket's options into a connection's TcpConfig (a listener's children
        inherit them, as Linux clones the listener's settings). It reads only the
        attributes INHERITED_OPTIONS names."""
        cfg.nodelay = self.nodelay
        cfg.cork = self.cork
        cfg.start_pingpong = not self.quickack
        cfg.user_timeout = self.user_timeout_ms / 1000
        if self.user_mss:
            cfg.mss = min(cfg.mss, self.user_mss)   # advertised and sent (tcp_mss_clamp)
        if self.congestion is not None:
            cfg.congestion = self.congestion
        if self.rcvbuf is not None:
            # SOCK_RCVBUF_LOCK: no autotuning; the window is what tcp_win_from_space()
            # allows of sk_rcvbuf, and the window scale follows it (tcp_select_initial_window)
            cfg.rcvbuf = self.rcvbuf
            cfg.rcvbuf_locked = True
        if self.sndbuf is not None:
            cfg.sndbuf = self.sndbuf
        cfg.keepalive = self.keepalive
        if self.keepidle:
            cfg.keepalive_time = float(self.keepidle)
        if self.keepintvl:
            cfg.keepalive_intvl = float(self.keepintvl)
        if self.keepcnt:
            cfg.keepalive_probes = self.keepcnt

    def _buffer_value(self, option: int, value) -> int:
        """Linux sk_setsockopt() (net/core/sock.c): the value is clamped to net.core.rmem_max
        / wmem_max, then doubled "to allow for struct sk_buff overhead", and never below
        SOCK_MIN_RCVBUF (2304) / SOCK_MIN_SNDBUF (4608) — getsockopt() reads that back."""
        val = _int_option(value, "SO_RCVBUF" if option == SO_RCVBUF else "SO_SNDBUF")
        sysctl = self.host.sysctl
        val &= 0xFFFFFFFF                    # min_t(u32, val, ...): negative means huge
        if option == SO_RCVBUF:
            return max(min(val, sysctl["net.core.rmem_max"]) * 2, SOCK_MIN_RCVBUF)
        return max(min(val, sysctl["net.core.wmem_max"]) * 2, SOCK_MIN_SNDBUF)

    def setsockopt(self, level: int, option: int, value) -> None:
        """The options simtcp models; any other raises OSError(ENOPROTOOPT) saying so."""
        level, option = as_int(level), as_int(option)
        value = sockopt_value(value)
        self._check_open("setsockopt")
        if level == SOL_SOCKET and option == SO_REUSEADDR:
            self.reuseaddr = bool(_int_option(value, "SO_REUSEADDR"))
        elif level == SOL_SOCKET and option == SO_REUSEPORT:
            self.reuseport = bool(_int_option(value, "SO_REUSEPORT"))
        elif level == SOL_SOCKET and option == SO_LINGER:
            # Linux sk_setsockopt(SO_LINGER): a struct linger {int l_onoff; int l_linger}
            # (8 bytes, else EINVAL); l_linger is read unsigned, in seconds
            if not isinstance(value, bytes) or len(value) < 8:
                raise OSError(errno.EINVAL, tr("sockopt.linger", "Invalid argument: SO_LINGER "
                                               "takes a struct linger, struct.pack('ii', "
                                               "l_onoff, l_linger)"))
            onoff, seconds = struct.unpack("<iI", value[:8])
            self.linger = seconds if onoff else None
        elif level == SOL_SOCKET and option == SO_KEEPALIVE:
            # sk_setsockopt(SO_KEEPALIVE) -> tcp_set_keepalive(): probes an idle connection
            self.keepalive = bool(_int_option(value, "SO_KEEPALIVE"))
            if self.conn is not None:
                self.conn.set_keepalive(self.net.now, self.keepalive)
                self.stack.kick(self.conn)
        elif level == IPPROTO_TCP and option in _KEEPALIVE_LIMITS:
            # do_tcp_setsockopt(): 1..MAX seconds (or probes), else EINVAL
            name, top = _KEEPALIVE_LIMITS[option]
            val = _int_option(value, name)
            if not 1 <= val <= top:
                raise OSError(errno.EINVAL, tr("sockopt.keepalive", "Invalid argument: {name} "
                                               "must be 1-{top}", name=name, top=top))
            conn = self.conn
            if option == TCP_KEEPIDLE:
                self.keepidle = val
                if conn is not None:
                    conn.set_keepidle(self.net.now, float(val))
                    self.stack.kick(conn)
            elif option == TCP_KEEPINTVL:
                self.keepintvl = val
                if conn is not None:
                    conn.own_config().keepalive_intvl = float(val)
            else:
                self.keepcnt = val
                if conn is not None:
                    conn.own_config().keepalive_probes = val
        elif level == IPPROTO_TCP and option == TCP_NODELAY:
            self.nodelay = bool(_int_option(value, "TCP_NODELAY"))
            if self.conn is not None:
                self.conn.own_config().nodelay = self.nodelay
                self.conn.push_pending(self.net.now)      # Linux tcp_push_pending_frames()
                self.stack.kick(self.conn)
        elif level == IPPROTO_TCP and option == TCP_QUICKACK:
            # Linux __tcp_sock_set_quickack(): 0 enters interactive (ping-pong) mode — ACKs
            # are delayed —, non-zero leaves it and sends a pending ACK that is due
            self.quickack = bool(_int_option(value, "TCP_QUICKACK"))
            if self.conn is not None:
                self.conn.set_quickack(self.quickack, self.net.now)
                self.stack.kick(self.conn)
        elif level == IPPROTO_TCP and option == TCP_USER_TIMEOUT:
            # Linux do_tcp_setsockopt(): milliseconds, negative is EINVAL; it bounds how long
            # unacknowledged data or unanswered window probes may last (tcp_timer.c)
            value = _int_option(value, "TCP_USER_TIMEOUT")
            if value < 0:
                raise OSError(errno.EINVAL, tr("sockopt.user_timeout", "Invalid argument: "
                                               "TCP_USER_TIMEOUT is a number of milliseconds "
                                               ">= 0"))
            self.user_timeout_ms = value
            if self.conn is not None:
                self.conn.own_config().user_timeout = self.user_timeout_ms / 1000
        elif level == IPPROTO_TCP and option == TCP_MAXSEG:
            mss = _int_option(value, "TCP_MAXSEG")
            if not 88 <= mss <= 32767:       # TCP_MIN_MSS .. MAX_TCP_WINDOW (do_tcp_setsockopt)
                raise OSError(errno.EINVAL, tr("sockopt.maxseg", "Invalid argument: "
                                               "TCP_MAXSEG must be 88-32767"))
            self.user_mss = mss              # takes effect at the next handshake, as on Linux
        elif level == IPPROTO_TCP and option == TCP_CONGESTION:
            if not isinstance(value, (bytes, bytearray)):
                raise TypeError("setsockopt(TCP_CONGESTION): the value is a bytes name such as "
                                "b'reno'")
            name = bytes(value).split(b"\0")[0].decode("ascii", "replace")
            if name not in ALGORITHMS:
                raise OSError(errno.ENOENT, tr(
                    "sockopt.congestion", "No such file or directory: congestion control "
                    "{name!r} is not available (tcp_available_congestion_control: {known})",
                    name=name, known=" ".join(ALGORITHMS)))
            self.congestion = name
            if self.conn is not None:        # tcp_reinit_congestion_control()
                self.conn.own_config().congestion = name
                self.conn.cc = make_cc(name, cc_params(self.conn.cfg))
        elif level == IPPROTO_TCP and option == TCP_INFO:
            raise OSError(errno.ENOPROTOOPT, tr("sockopt.tcp_info_read_only", "Protocol not "
                                                "available: TCP_INFO can only be read "
                                                "(getsockopt)"))
        elif level == IPPROTO_TCP and option == TCP_CORK:
            self.cork = bool(_int_option(value, "TCP_CORK"))
            if self.conn is not None:
                self.conn.own_config().cork = self.cork
                if not self.cork:                    # uncorking pushes what was held
                    self.conn.push_pending(self.net.now)
                    self.stack.kick(self.conn)
        elif level == SOL_SOCKET and option in (SO_RCVBUF, SO_SNDBUF):
            size = self._buffer_value(option, value)
            if option == SO_RCVBUF:
                self.rcvbuf = size
            else:
                self.sndbuf = size
            if self.conn is not None:
                cfg = self.conn.own_config()
                if option == SO_RCVBUF:
                    # __sock_set_rcvbuf(): sk_rcvbuf changes and is locked; the window
                    # follows through tcp_space() / tcp_full_space()
                    cfg.rcvbuf = self.conn.rb.rcvbuf = size
                    cfg.rcvbuf_locked = self.conn.rb.locked = True
                else:
                    cfg.sndbuf = size
        else:
            raise _not_modelled(option, level)

    def getsockopt(self, level: int, option: int, buflen: Optional[int] = None):
        level, option = as_int(level), as_int(option)
        self._check_open("getsockopt")
        if level == SOL_SOCKET and option == SO_ERROR:
            # Linux sock_getsockopt(SO_ERROR): the pending error, cleared once it is read
            conn = self.conn
            if conn is not None and conn.error and not self._error_reported:
                self._error_reported = True
                return conn.error
            return 0
        if level == SOL_SOCKET and option == SO_LINGER:
            data = struct.pack("<iI", self.linger is not None, self.linger or 0)
            if buflen is None:               # an int getsockopt reads l_onoff
                return int(self.linger is not None)
            return data[:buflen]
        if level == SOL_SOCKET and option == SO_TYPE:
            return self.type
        if level == SOL_SOCKET and option == SO_REUSEADDR:
            return int(self.reuseaddr)
        if level == SOL_SOCKET and option == SO_REUSEPORT:
            return int(self.reuseport)
        if level == SOL_SOCKET and option == SO_KEEPALIVE:
            return int(self.keepalive)
        if level == IPPROTO_TCP and option in _KEEPALIVE_LIMITS:
            # keepalive_time_when() / keepalive_intvl_when() / keepalive_probes(): the
            # socket's value, else the namespace's sysctl
            own = {TCP_KEEPIDLE: self.keepidle, TCP_KEEPINTVL: self.keepintvl,
                   TCP_KEEPCNT: self.keepcnt}[option]
            key = {TCP_KEEPIDLE: "time", TCP_KEEPINTVL: "intvl", TCP_KEEPCNT: "probes"}[option]
            return own or self.host.sysctl[f"net.ipv4.tcp_keepalive_{key}"]
        if level == IPPROTO_TCP and option == TCP_NODELAY:
            return int(self.nodelay)
        if level == IPPROTO_TCP and option == TCP_USER_TIMEOUT:
            return self.user_timeout_ms
        if level == IPPROTO_TCP and option == TCP_QUICKACK:
            # do_tcp_getsockopt(): !inet_csk_in_pingpong_mode() — the mode changes by itself
            if self.conn is not None:
                return int(self.conn.pingpong < PINGPONG_THRESH)
            return int(self.quickack)
        if level == IPPROTO_TCP and option == TCP_CORK:
            return int(self.cork)
        if level == IPPROTO_TCP and option == TCP_MAXSEG:
            # tp->mss_cache once connected, else the user's value or TCP_MSS_DEFAULT (536)
            if self.conn is not None and self.conn.state not in (State.CLOSED, State.LISTEN):
                return self.conn.eff_mss
            return self.user_mss or 536
        if level == IPPROTO_TCP and option in (TCP_CONGESTION, TCP_INFO):
            if option == TCP_CONGESTION:
                name = (self.conn.cc.name if self.conn is not None else
                        self.congestion or self.host.sysctl["net.ipv4.tcp_congestion_control"])
                data = name.encode().ljust(TCP_CA_NAME_MAX, b"\0")
            else:
                data = self.tcp_info().pack() if self.conn is not None else bytes(104)
            if buflen is None:               # an int getsockopt reads the first 4 bytes
                return int.from_bytes(data[:4], "little", signed=True)
            return data[:buflen]
        if level == SOL_SOCKET and option == SO_RCVBUF:
            # sk_rcvbuf: tcp_rmem[1] or twice SO_RCVBUF, as autotuning has grown it since
            if self.conn is not None:
                return self.conn.rb.rcvbuf
            return self.rcvbuf or self.host.sysctl["net.ipv4.tcp_rmem"][1]
        if level == SOL_SOCKET and option == SO_SNDBUF:
            return self.sndbuf or self.host.sysctl["net.ipv4.tcp_wmem"][1]
        raise _not_modelled(option, level)

    def tcp_info(self):
        """TCP_INFO of this socket's connection as a `simtcp.tcpinfo.TcpInfo` (state, rto,
        rtt, cwnd, ssthresh, retransmits …), the fields ``ss -ti`` prints."""
        conn = self._connected_conn("tcp_info")
        return conn.info(self.net.now)
