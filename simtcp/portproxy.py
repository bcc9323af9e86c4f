"""A small reverse proxy: how an unprivileged service answers on a privileged port.

Theory of operation
-------------------
Two ways let a program that runs as an ordinary user serve port 80 (it may not bind it:
`simtcp.privilege`):

1. **Redirect in the kernel** — ``iptables -t nat -A PREROUTING -p tcp --dport 80 -j
   REDIRECT --to-ports 8080`` (xt_REDIRECT.c): connections to port 80 are delivered to the
   listener on 8080; the program binds 8080 as its own user. Nothing listens on 80, so
   ``ss -tln`` shows only 8080 (and a local client needs an OUTPUT rule too).
2. **A reverse proxy in front** — this module. The proxy (``haproxy`` here) starts as root,
   binds port 80, drops to its own user (as every Service does), and relays each client
   connection byte for byte to the backend, e.g. the application on ``127.0.0.1:8080``
   running as an unprivileged user. Only the proxy's small relay ever held root, and only
   for bind().

The relay is event-driven like every service: the accepted socket and a non-blocking
connection to the backend wake each other (`Socket.on_ready`); bytes read from one side are
queued for the other and written as room allows; an end of stream on either side closes
both. A backend that refuses or cannot be reached closes the client's connection (what a
proxy in TCP mode does).
"""
from __future__ import annotations

from typing import Optional, Tuple

from .services import Service, Session, register

__all__ = ["ReverseProxy"]


class RelaySession(Session):
    """One client connection and its backend connection."""

    def on_open(self) -> None:
        svc = self.service
        self.to_backend = b""
        self.to_client = b""
        self.backend = svc.host.socket(user=svc.user, process=svc.process)
        self.backend.setblocking(False)
        self.backend.connect_ex(svc.backend)
        self.backend.on_ready = self._backend_ready
        svc.relayed += 1

    # client -> backend
    def on_data(self, data: bytes) -> None:
        self.to_backend += data
        self._flush_backend()

    def on_eof(self) -> None:
        self._close_backend()
        self.finish()

    def _flush_backend(self) -> None:
        conn = self.backend.conn
        if not self.to_backend or conn is None or conn.state.value not in (
                "ESTABLISHED", "CLOSE-WAIT"):
            return
        try:
            n = self.backend.send(self.to_backend)
        except BlockingIOError:
            return
        except OSError:
            self._close_backend()
            self.finish()
            return
        self.to_backend = self.to_backend[n:]

    # backend -> client
    def _backend_ready(self, sock) -> None:
        conn = sock.conn
        if conn is None or conn.error:               # refused, unreachable, reset
            self._close_backend()
            self.finish()
            return
        self._flush_backend()
        while not self.done:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                data = b""
            if not data:                             # the backend finished: so do we
                self._close_backend()
                self.finish()
                return
            self.send(data)

    def _close_backend(self) -> None:
        if not self.backend.closed:
            self.backend.on_ready = None
            self.backend.close()


class ReverseProxy(Service):
    """``server.start_service("proxy", port=80, backend=("127.0.0.1", 8080))``: a TCP
    reverse proxy (haproxy in TCP mode) that binds as root, drops to user ``haproxy``, and
    relays every connection to ``backend``."""

    kind, port, process, user = "proxy", 80, "haproxy", "haproxy"
    session = RelaySession

    def __init__(self, host, port: Optional[int] = None, *,
                 backend: Tuple[str, int] = ("127.0.0.1", 8080), **kw):
        if (not isinstance(backend, tuple) or len(backend) != 2
                or not isinstance(backend[0], str) or isinstance(backend[1], bool)
                or not isinstance(backend[1], int) or not 0 < backend[1] < 65536):
            raise ValueError(f"backend must be (address, port), got {backend!r}")
        self.backend = backend
        self.relayed = 0
        super().__init__(host, port, **kw)


register("proxy", ReverseProxy)
