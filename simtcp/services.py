"""Small simulated servers: the programs behind the ports a scanner finds.

Theory of operation: a `Service` is a program on a host. It opens a listening socket as its
own process and user (so ``ss -p`` and ``lsof`` name it), and from then on reacts to events
in virtual time instead of blocking: the stack wakes a socket's ``on_ready`` callback when a
connection reaches the accept queue or data arrives (`Stack.wake`, the simulation's epoll).
Each accepted connection gets a `Session` that speaks the protocol line by line: a greeting
banner on connect (what ``nc``, ``telnet`` and ``nmap -sV`` read), then replies to commands.

The banners are those of the Debian 12 packages a student meets (OpenSSH 9.2p1, Postfix,
vsftpd 3.0.3, Dovecot, nginx 1.22.1); the protocols are only as deep as a port lesson needs:
HTTP/1.1 serves real responses (RFC 9112), SMTP/FTP/POP3/IMAP answer their greeting-stage
commands with the standard reply codes (RFC 5321 §4.2, RFC 959 §4.2, RFC 1939, RFC 9051),
Telnet asks for a login in plaintext (visible in any capture), MySQL sends its protocol-10
handshake, VNC its RFB version; SSH stops after the version exchange (RFC 4253 §4.2).
"""
from __future__ import annotations

import struct
from typing import Callable, Dict, List, Optional, Tuple, Type, Union

from .socket import Socket

# A fixed virtual epoch for Date headers: virtual time 0 is this instant (deterministic).
_EPOCH_DAY = "Tue, 01 Dec 2026"


class Session:
    """One accepted connection of a service. Subclasses override the ``on_*`` methods."""

    def __init__(self, service: "Service", sock: Socket, peer: Tuple[str, int]):
        self.service, self.sock, self.peer = service, sock, peer
        self.buffer = b""
        self.done = False

    def send(self, data: bytes) -> None:
        if not self.done:
            try:
                self.sock.send(data)
            except OSError:                 # the client went away; nothing to tell
                self.finish()

    def finish(self) -> None:
        """Close the connection from the server side."""
        if not self.done:
            self.done = True
            self.sock.on_ready = None
            self.sock.close()

    def on_open(self) -> None:
        """The connection is established: send a greeting, if the protocol has one."""

    def on_line(self, line: bytes) -> None:
        """One CRLF- or LF-terminated line from the client (without the terminator)."""

    def on_data(self, data: bytes) -> None:
        self.buffer += data
        while not self.done and b"\n" in self.buffer:
            line, self.buffer = self.buffer.split(b"\n", 1)
            self.on_line(line.rstrip(b"\r"))

    def on_eof(self) -> None:
        self.finish()

    def _readable(self, sock: Socket) -> None:
        while not self.done:
            try:
                data = sock.recv(65536)
            except BlockingIOError:
                return
            except OSError:
                self.finish()
                return
            if not data:
                self.on_eof()
                return
            self.on_data(data)


class Service:
    """A listening program. ``host.start_service(kind, port=…)`` builds one (see SERVICES)."""

    kind = "service"
    port = 0
    process = "service"
    user = "root"
    session: Type[Session] = Session

    def __init__(self, host, port: Optional[int] = None, *, user: Optional[str] = None,
                 process: Optional[str] = None, address: str = "0.0.0.0",
                 start_as_root: Optional[bool] = None, capabilities=None,
                 backlog: int = 128):
        """``start_as_root`` (the default): the program starts as root, binds, then drops to
        ``user`` (setuid after bind, as nginx and sshd do); False: it runs as ``user`` from
        the start, so a port below ``ip_unprivileged_port_start`` fails with EACCES.
        ``capabilities`` (e.g. ``{"CAP_NET_BIND_SERVICE"}``): it runs as ``user`` from the
        start holding these Linux capabilities, as systemd's ``AmbientCapabilities=`` gives
        them (simtcp.privilege); then ``start_as_root`` must not be True."""
        from .privilege import Process
        if capabilities is not None and start_as_root:
            raise ValueError("capabilities= runs the program as its user from the start; "
                             "start_as_root=True contradicts it")
        self.host = host
        self.port = self.port if port is None else port
        self.user = user or self.user
        self.process = process or self.process
        self.sessions: List[Session] = []
        if capabilities is not None:
            self.proc = Process(host, self.process, self.user, capabilities)
        else:
            as_root = start_as_root is None or start_as_root
            self.proc = Process(host, self.process, "root" if as_root else self.user)
        self.sock = self.proc.socket()
        self.sock.setsockopt(1, 2, 1)                   # SO_REUSEADDR, as daemons do
        self.sock.bind((address, self.port))            # EACCES/EADDRINUSE reach the caller
        self.sock.listen(backlog)
        if self.proc.user != self.user:                 # setuid(): privileges dropped
            self.proc.drop_privileges(self.user)
            self.sock.user, self.sock.capabilities = self.user, self.proc._caps
        self.sock.setblocking(False)
        self.sock.on_ready = self._accept_ready

    def _accept_ready(self, lsock: Socket) -> None:
        while True:
            try:
                child, peer = lsock.accept()
            except BlockingIOError:
                return
            child.setblocking(False)
            session = self.session(self, child, peer)
            self.sessions.append(session)
            child.on_ready = session._readable
            session.on_open()
            if not session.done:
                session._readable(child)            # data may have come with the ACK

    def report(self) -> str:
        """What an attacker who took over this program could do (simtcp.privilege)."""
        return self.proc.report()

    def stop(self) -> None:
        """Stop the program: close the listener and every open session."""
        for s in self.sessions:
            s.finish()
        self.sock.on_ready = None
        self.sock.close()

    def __repr__(self) -> str:
        return (f"<{type(self).__name__} {self.kind} on {self.host.name}:{self.port} "
                f"as {self.process}/{self.user}>")


# --------------------------------------------------------------------- greeting protocols
class BannerSession(Session):
    """Greets with the service's banner, answers commands from a small table, closes on QUIT."""

    def on_open(self) -> None:
        self.send(self.service.banner)

    def on_line(self, line: bytes) -> None:
        verb = line.split(b" ", 1)[0].upper()
        reply = self.service.replies.get(verb, self.service.unknown)
        self.send(reply)
        if verb in self.service.closing:
            self.finish()


class BannerService(Service):
    session = BannerSession
    banner = b""
    replies: Dict[bytes, bytes] = {}
    unknown = b""
    closing = (b"QUIT",)


class SSH(BannerService):
    """OpenSSH's identification string (RFC 4253 §4.2); the binary key exchange that follows
    is not modelled: a client that sends anything but its own version line is disconnected
    with the line sshd prints ("Invalid SSH identification string")."""
    kind, port, process = "ssh", 22, "sshd"
    banner = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"

    class session(BannerSession):          # noqa: N801 - a Session subclass
        def on_line(self, line: bytes) -> None:
            if not line.startswith(b"SSH-2.0-"):
                self.send(b"Invalid SSH identification string.\r\n")
            self.finish()


class SMTP(BannerService):
    kind, port, process, user = "smtp", 25, "master", "root"
    banner = b"220 mail.example.com ESMTP Postfix (Debian/GNU)\r\n"
    replies = {b"HELO": b"250 mail.example.com\r\n",
               b"EHLO": b"250-mail.example.com\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n"
                        b"250-STARTTLS\r\n250 8BITMIME\r\n",
               b"NOOP": b"250 2.0.0 Ok\r\n", b"QUIT": b"221 2.0.0 Bye\r\n"}
    unknown = b"502 5.5.2 Error: command not recognized\r\n"


class FTP(BannerService):
    kind, port, process = "ftp", 21, "vsftpd"
    banner = b"220 (vsFTPd 3.0.3)\r\n"
    replies = {b"USER": b"331 Please specify the password.\r\n",
               b"PASS": b"530 Login incorrect.\r\n", b"SYST": b"215 UNIX Type: L8\r\n",
               b"QUIT": b"221 Goodbye.\r\n"}
    unknown = b"530 Please login with USER and PASS.\r\n"


class POP3(BannerService):
    kind, port, process = "pop3", 110, "dovecot"
    banner = b"+OK Dovecot (Debian) ready.\r\n"
    replies = {b"USER": b"+OK\r\n", b"PASS": b"-ERR [AUTH] Authentication failed.\r\n",
               b"CAPA": b"+OK\r\nCAPA\r\nTOP\r\nUIDL\r\nUSER\r\n.\r\n",
               b"QUIT": b"+OK Logging out\r\n"}
    unknown = b"-ERR Unknown command.\r\n"


class IMAP(BannerService):
    kind, port, process = "imap", 143, "dovecot"
    banner = (b"* OK [CAPABILITY IMAP4rev1 SASL-IR LOGIN-REFERRALS ID ENABLE IDLE LITERAL+ "
              b"STARTTLS AUTH=PLAIN] Dovecot (Debian) ready.\r\n")

    class session(BannerSession):          # noqa: N801
        def on_line(self, line: bytes) -> None:
            tag, _, rest = line.partition(b" ")
            verb = rest.split(b" ", 1)[0].upper()
            if verb == b"LOGOUT":
                self.send(b"* BYE Logging out\r\n" + tag + b" OK Logout completed.\r\n")
                self.finish()
            elif verb == b"LOGIN":
                self.send(tag + b" NO [AUTHENTICATIONFAILED] Authentication failed.\r\n")
            else:
                self.send(tag + b" BAD Error in IMAP command received by server.\r\n")


class Telnet(BannerService):
    """A login prompt in plaintext: whatever the user types crosses the network readable."""
    kind, port, process = "telnet", 23, "in.telnetd"

    class session(BannerSession):          # noqa: N801
        def on_open(self) -> None:
            self.stage = "login"
            self.send(b"Debian GNU/Linux 12\r\n" + self.service.host.name.encode() + b" login: ")

        def on_line(self, line: bytes) -> None:
            if self.stage == "login":
                self.stage = "password"
                self.send(b"Password: ")
            else:
                self.stage = "login"
                self.send(b"\r\nLogin incorrect\r\n" + self.service.host.name.encode()
                          + b" login: ")


class MySQL(Service):
    """MySQL's server greeting (protocol version 10) — what ``nmap -sV`` identifies."""
    kind, port, process, user = "mysql", 3306, "mysqld", "mysql"

    class session(Session):                # noqa: N801
        def on_open(self) -> None:
            version = b"8.0.36\x00"
            body = (b"\x0a" + version + struct.pack("<I", 8) + b"abcdefgh\x00"
                    + struct.pack("<HBHH", 0xFFFF, 0xFF, 0x0002, 0xDFFF) + b"\x15"
                    + b"\x00" * 10 + b"ijklmnopqrst\x00" + b"caching_sha2_password\x00")
            self.send(struct.pack("<I", len(body))[:3] + b"\x00" + body)


class VNC(BannerService):
    kind, port, process, user = "vnc", 5900, "Xvnc", "student"
    banner = b"RFB 003.008\n"


class RDP(Service):
    """An RDP listener (xrdp): silent until the client speaks (X.224 connection request)."""
    kind, port, process, user = "rdp", 3389, "xrdp", "xrdp"


# ------------------------------------------------------------------------------ HTTP
class HTTPSession(Session):
    """HTTP/1.1 (RFC 9112): request line + headers, a response from the service's pages."""

    def on_data(self, data: bytes) -> None:
        self.buffer += data
        while not self.done and b"\r\n\r\n" in self.buffer:
            head, self.buffer = self.buffer.split(b"\r\n\r\n", 1)
            self.respond(head.decode("latin-1"))

    def respond(self, head: str) -> None:
        lines = head.split("\r\n")
        parts = lines[0].split(" ")
        headers = {k.strip().lower(): v.strip() for k, _, v in
                   (line.partition(":") for line in lines[1:]) if k}
        if len(parts) != 3 or not parts[2].startswith("HTTP/1."):
            self.reply(400, "Bad Request", b"", close=True)
            return
        method, path, version = parts
        close = (headers.get("connection", "").lower() == "close" or version == "HTTP/1.0")
        pages = self.service.pages
        if method not in ("GET", "HEAD"):
            self.reply(405, "Not Allowed", b"", close)
        elif path in pages:
            self.reply(200, "OK", pages[path], close, head_only=method == "HEAD")
        else:
            self.reply(404, "Not Found", b"<html><body><h1>404 Not Found</h1></body></html>\n",
                       close, head_only=method == "HEAD")

    def reply(self, code: int, text: str, body: bytes, close: bool,
              head_only: bool = False) -> None:
        now = self.service.host.net.now
        hh, mm, ss = int(now // 3600) % 24, int(now // 60) % 60, int(now) % 60
        head = (f"HTTP/1.1 {code} {text}\r\nServer: nginx/1.22.1\r\n"
                f"Date: {_EPOCH_DAY} {hh:02d}:{mm:02d}:{ss:02d} GMT\r\n"
                f"Content-Type: text/html\r\nContent-Length: {len(body)}\r\n"
                f"Connection: {'close' if close else 'keep-alive'}\r\n\r\n")
        self.send(head.encode() + (b"" if head_only else body))
        if close:
            self.finish()


class HTTP(Service):
    kind, port, process, user = "http", 80, "nginx", "www-data"
    session = HTTPSession

    def __init__(self, host, port: Optional[int] = None, *,
                 pages: Optional[Dict[str, Union[str, bytes]]] = None, **kw):
        super().__init__(host, port, **kw)
        default = (f"<html><head><title>{host.name}</title></head><body><h1>It works on "
                   f"{host.name}</h1></body></html>\n").encode()
        self.pages = {"/": default}
        for path, body in (pages or {}).items():
            self.pages[path] = body.encode() if isinstance(body, str) else bytes(body)


def _knockd(host, port: Optional[int] = None, *, config: str = ""):
    """knockd: no listening socket — a packet tap (see simtcp.knockd)."""
    from .knockd import Knockd, parse_config
    if port is not None:
        raise ValueError("knockd listens on no port: its knock sequence is in config=")
    return Knockd(host, parse_config(config))


SERVICES: Dict[str, Callable[..., object]] = {
    cls.kind: cls for cls in (HTTP, SSH, SMTP, FTP, POP3, IMAP, Telnet, MySQL, VNC, RDP)}
SERVICES["knockd"] = _knockd


def _psad(host, port: Optional[int] = None, **options):
    """psad: no listening socket — a reader of the firewall's log (see simtcp.scandetect)."""
    from .scandetect import _psad as make
    return make(host, port, **options)


SERVICES["psad"] = _psad


def register(kind: str, factory: Callable[..., object]) -> None:
    """Let another module add a service kind (e.g. DNS) to ``start_service``."""
    SERVICES[kind] = factory


def start_service(host, kind: str, port: Optional[int] = None, **options):
    """Start a service of ``kind`` on ``host`` (its default port unless ``port`` is given)."""
    if not isinstance(kind, str) or kind not in SERVICES:
        raise ValueError(f"unknown service {kind!r}; choose one of {', '.join(sorted(SERVICES))}")
    if port is not None and (isinstance(port, bool) or not isinstance(port, int)):
        raise TypeError(f"port must be an int, not {type(port).__name__}")
    service = SERVICES[kind](host, port, **options)
    host.services.append(service)
    return service


from . import sshd as _sshd  # noqa: E402,F401  (registers "ssh" with password logins)
from . import portproxy as _portproxy  # noqa: E402,F401  (registers "proxy")
