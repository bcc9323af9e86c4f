"""bind(): who may hold a local address and port.

Theory of operation: a socket binds once, to one of its host's addresses (or the wildcard
0.0.0.0) and a port; port 0 asks the port allocator for a free one (`simtcp.portalloc`), a
port below the privileged threshold needs the privilege to bind it (`simtcp.privilege`).
The port is refused (EADDRINUSE) while another socket or connection holds an overlapping
address on it, as Linux inet_csk_bind_conflict() (net/ipv4/inet_connection_sock.c) decides:
two addresses overlap when they are equal or one is the wildcard; SO_REUSEADDR on both
sockets lets them share unless the old one listens, SO_REUSEPORT on both lets sockets of one
user share, and a connection (TIME-WAIT included) holds its port unless the binding socket
set SO_REUSEADDR and the connection is not listening.

`Binding` is a mixin of `socket.Socket`: it uses the socket's host, stack, options and
``local``.
"""
from __future__ import annotations

import errno

from .lang import tr
from .privilege import check_bind
from .stack import WILDCARD
from .states import LISTEN


class Binding:
    """bind() for `socket.Socket` (see the module docstring)."""

    __slots__ = ()

    def bind(self, address) -> None:
        """Bind to (ip, port); port 0 asks the OS for an ephemeral port."""
        ip, port = self._resolve(address, "bind")      # CPython parses before the syscall
        self._check_open("bind")
        if self.local is not None:
            raise OSError(errno.EINVAL, tr("socket.already_bound", "Invalid argument: this socket "
                                             "is already bound to {ip}:{port} (a socket binds "
                                             "once)", ip=self.local[0], port=self.local[1]))
        if ip != WILDCARD and not self.host.is_local_address(ip):
            raise OSError(errno.EADDRNOTAVAIL, tr(
                "socket.not_my_address", "Cannot assign requested address: {ip} is not an "
                "address of host {host} ({ips})", ip=ip, host=self.host.name,
                ips=", ".join(self.host.ips)))
        if port == 0:
            port = self.stack.allocator.bind_port(ip, lambda p: not self._bind_conflict(ip, p),
                                                  self.reuseaddr)
        else:
            check_bind(self, ip, port)      # EACCES below the privileged threshold
            holder = self._bind_conflict(ip, port)
            if holder:
                raise OSError(errno.EADDRINUSE, tr(
                    "socket.eaddrinuse", "Address already in use: {ip}:{port} is held by "
                    "{holder}", ip=ip, port=port, holder=holder) + ("" if self.reuseaddr else tr(
                        "socket.eaddrinuse_hint", "; SO_REUSEADDR lets a new listener start "
                        "while old connections on that port are still in TIME-WAIT")))
        self.local = (ip, port)
        self.bound_explicitly = True
        self.stack.bindings.setdefault(port, []).append(self)
        self._call("bind", (ip, port))

    def _bind_conflict(self, ip: str, port: int) -> str:
        """Who holds ip:port so that bind() must fail ("" when free) — Linux
        inet_csk_bind_conflict(): overlapping addresses conflict unless both sockets set
        SO_REUSEADDR and the old one is not listening; TIME-WAIT counts unless SO_REUSEADDR."""
        for other in self.stack.bindings.get(port, ()):
            if other is self or other.closed:
                continue
            oip = other.local[0]
            if ip != oip and WILDCARD not in (ip, oip):
                continue
            if self.reuseaddr and other.reuseaddr and other.listener is None:
                continue
            if self.reuseport and other.reuseport and self.user == other.user:
                continue
            if other.listener:
                return tr("socket.holder_listening", "another socket (listening)")
            return tr("socket.holder_bound", "another socket (bound)")
        for t in self.stack.port_users(port):
            if ip != t.local_ip and ip != WILDCARD:
                continue
            conn = self.stack.conns[t]
            if self.reuseaddr and conn.state is not LISTEN:
                continue
            return tr("socket.holder_conn", "a connection in {state} ({tuple})",
                      state=conn.state, tuple=f"{t.local_ip}:{t.local_port} <-> "
                                              f"{t.remote_ip}:{t.remote_port}")
        return ""
