"""An SSH server that takes password logins and writes sshd's auth log, and a login client.

Theory of operation
-------------------
The connection starts as OpenSSH's does: the server's identification string, the client's
(RFC 4253 §4.2). What follows in real SSH — key exchange, then every message encrypted — is
not modelled as cryptography. The client sends its password attempt as one binary packet of
the real shape (uint32 ``packet_length``, then bytes, RFC 4253 §6) whose content is random
bytes from the network's RNG — what a capture of real SSH shows: nothing readable. The
server learns the user name and password the way decryption would give them to it: the
first 8 bytes of the packet name an entry the client left in the network's "session keys"
table (the stand-in for the shared secret of the key exchange; it works through NAT). The
server answers with a packet of the same kind; the client reads the outcome from the same
entry. So the bytes on the wire have real sizes and timing and reveal nothing, and the
log lines are those sshd writes.

The server follows OpenSSH 9.2 (auth.c auth_log(), auth2.c): a password attempt logs
``Accepted password for USER from IP port PORT ssh2`` or ``Failed password for [invalid
user ]USER from IP port PORT ssh2``; an unknown user is announced first with ``Invalid user
USER from IP port PORT``. ``PermitRootLogin`` defaults to ``prohibit-password`` (sshd_config(5)
since OpenSSH 7.0), so a password login as root fails even with the right password. After
``MaxAuthTries`` (6) failures on one connection sshd disconnects ("Too many authentication
failures"). A client that leaves before authenticating is logged as ``Connection closed by
[authenticating|invalid] user USER IP port PORT [preauth]``. Each line has the syslog stamp
(`simtcp.logstamp`) and ``sshd[PID]`` of the per-connection sshd process; ``auth_events``
keeps them typed (`AuthEvent`) for readers such as `simtcp.fail2ban`.
"""
from __future__ import annotations

import enum
import errno
import struct
from dataclasses import dataclass
from typing import Callable, Dict, List, Optional

from .logstamp import syslog_line
from .services import SSH, BannerSession, register

__all__ = ["SSHD", "AuthEvent", "AuthOutcome", "LoginOutcome", "LoginResult", "ssh_login",
           "CLIENT_VERSION"]

CLIENT_VERSION = b"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\r\n"
MAX_AUTH_TRIES = 6                      # sshd_config(5) MaxAuthTries default
_AUTH_PACKET = 96                       # bytes of an encrypted USERAUTH_REQUEST (typical)
_REPLY_PACKET = 28


class AuthOutcome(enum.Enum):
    ACCEPTED = "accepted"
    FAILED = "failed"                   # one failed password attempt
    INVALID_USER = "invalid_user"       # the user does not exist (logged before FAILED)
    TOO_MANY_FAILURES = "too_many_failures"
    CLOSED_PREAUTH = "closed_preauth"   # the client left before authenticating


@dataclass(frozen=True)
class AuthEvent:
    """One line of sshd's auth log, typed."""

    time: float
    host: str
    pid: int
    outcome: AuthOutcome
    user: str
    ip: str
    port: int
    invalid_user: bool = False

    @property
    def text(self) -> str:
        who = f"{self.user} from {self.ip} port {self.port}"
        if self.outcome is AuthOutcome.ACCEPTED:
            msg = f"Accepted password for {who} ssh2"
        elif self.outcome is AuthOutcome.FAILED:
            msg = f"Failed password for {'invalid user ' if self.invalid_user else ''}{who} ssh2"
        elif self.outcome is AuthOutcome.INVALID_USER:
            msg = f"Invalid user {who}"
        elif self.outcome is AuthOutcome.TOO_MANY_FAILURES:
            msg = (f"Disconnecting {'invalid' if self.invalid_user else 'authenticating'} user "
                   f"{self.user} {self.ip} port {self.port}: Too many authentication failures "
                   "[preauth]")
        else:
            msg = (f"Connection closed by {'invalid' if self.invalid_user else 'authenticating'}"
                   f" user {self.user} {self.ip} port {self.port} [preauth]")
        return syslog_line(self.time, self.host, f"sshd[{self.pid}]", msg)

    def __str__(self) -> str:
        return self.text


@dataclass
class _Attempt:
    user: str
    password: str
    outcome: Optional[AuthOutcome] = None


def _session_keys(net) -> Dict[int, _Attempt]:
    """The stand-in for the key exchange's shared secrets (see the module docstring)."""
    return net.__dict__.setdefault("_ssh_session_keys", {})


class SSHDSession(BannerSession):
    def on_open(self) -> None:
        svc = self.service
        svc.connections += 1
        self.pid = svc.host.pid_of(svc.process, svc.user) + svc.connections
        self.stage = "version"
        self.failures = 0
        self.user: Optional[str] = None
        self.authenticated = False
        self.send(svc.banner)

    def on_data(self, data: bytes) -> None:
        if self.stage == "version":
            super().on_data(data)
            return
        self.buffer += data
        while not self.done and len(self.buffer) >= 4:
            length = struct.unpack("!I", self.buffer[:4])[0]
            if len(self.buffer) < 4 + length:
                return
            body, self.buffer = self.buffer[4:4 + length], self.buffer[4 + length:]
            self._auth_packet(body)

    def on_line(self, line: bytes) -> None:
        if not line.startswith(b"SSH-2.0-"):
            self.send(b"Invalid SSH identification string.\r\n")
            self.finish()
            return
        self.stage = "auth"
        rest, self.buffer = self.buffer, b""
        if rest:
            self.on_data(rest)

    def _auth_packet(self, body: bytes) -> None:
        svc = self.service
        token = int.from_bytes(body[:8], "big") if len(body) >= 8 else None
        attempt = _session_keys(svc.host.net).get(token)
        if attempt is None:                     # not a packet we can "decrypt": protocol error
            self.finish()
            return
        self.user = attempt.user
        valid = attempt.user in svc.accounts
        ip, port = self.peer
        if not valid:
            svc._log(self, AuthOutcome.INVALID_USER, attempt.user, invalid=True)
        ok = (valid and svc.accounts[attempt.user] == attempt.password
              and (attempt.user != "root" or svc.permit_root_login == "yes"))
        if ok:
            self.authenticated = True
            attempt.outcome = AuthOutcome.ACCEPTED
            svc._log(self, AuthOutcome.ACCEPTED, attempt.user)
        else:
            self.failures += 1
            attempt.outcome = AuthOutcome.FAILED
            svc._log(self, AuthOutcome.FAILED, attempt.user, invalid=not valid)
        rng = svc.host.net.rng
        self.send(struct.pack("!I", _REPLY_PACKET) + rng.getrandbits(8 * _REPLY_PACKET)
                  .to_bytes(_REPLY_PACKET, "big"))
        if not ok and self.failures >= svc.max_auth_tries:
            svc._log(self, AuthOutcome.TOO_MANY_FAILURES, attempt.user, invalid=not valid)
            self.authenticated = True           # nothing more to log at EOF
            self.finish()

    def on_eof(self) -> None:
        if self.user is not None and not self.authenticated:
            self.service._log(self, AuthOutcome.CLOSED_PREAUTH, self.user,
                              invalid=self.user not in self.service.accounts)
        self.finish()


class SSHD(SSH):
    """OpenSSH's sshd with password logins (see the module docstring).

    ``accounts``: user -> password; ``permit_root_login``: "prohibit-password" (default),
    "yes" or "no"; ``max_auth_tries``: MaxAuthTries. ``auth_log`` is the text of the log,
    ``auth_events`` the same lines typed; functions in ``auth_readers`` get each new event.
    """

    session = SSHDSession

    def __init__(self, host, port: Optional[int] = None, *,
                 accounts: Optional[Dict[str, str]] = None,
                 permit_root_login: str = "prohibit-password",
                 max_auth_tries: int = MAX_AUTH_TRIES, **kw):
        if permit_root_login not in ("yes", "no", "prohibit-password", "without-password",
                                     "forced-commands-only"):
            raise ValueError(f"PermitRootLogin must be yes, prohibit-password, "
                             f"forced-commands-only or no, not {permit_root_login!r}")
        if isinstance(max_auth_tries, bool) or not isinstance(max_auth_tries, int) \
                or max_auth_tries < 1:
            raise ValueError(f"MaxAuthTries must be a positive int, got {max_auth_tries!r}")
        self.accounts = dict(accounts or {})
        self.permit_root_login = permit_root_login
        self.max_auth_tries = max_auth_tries
        self.auth_events: List[AuthEvent] = []
        self.auth_readers: List[Callable[[AuthEvent], None]] = []
        self.connections = 0
        super().__init__(host, port, **kw)

    def _log(self, session: SSHDSession, outcome: AuthOutcome, user: str,
             invalid: bool = False) -> None:
        ip, port = session.peer
        event = AuthEvent(self.host.net.now, self.host.name, session.pid, outcome, user, ip,
                          port, invalid)
        self.auth_events.append(event)
        for reader in list(self.auth_readers):
            reader(event)

    @property
    def auth_log(self) -> str:
        """/var/log/auth.log: sshd's lines."""
        return "\n".join(e.text for e in self.auth_events)


register("ssh", SSHD)


# ------------------------------------------------------------------------------ the client
class LoginOutcome(enum.Enum):
    ACCEPTED = "accepted"
    DENIED = "denied"                   # "Permission denied, please try again."
    REFUSED = "refused"                 # ECONNREFUSED: closed port or REJECT
    TIMED_OUT = "timed_out"             # no answer (DROP)
    UNREACHABLE = "unreachable"         # EHOSTUNREACH / ENETUNREACH
    DISCONNECTED = "disconnected"       # the server closed before answering


@dataclass(frozen=True)
class LoginResult:
    outcome: LoginOutcome
    user: str
    server: str
    port: int
    local_port: Optional[int] = None
    errno: Optional[int] = None

    @property
    def ok(self) -> bool:
        return self.outcome is LoginOutcome.ACCEPTED

    def __str__(self) -> str:
        return {LoginOutcome.ACCEPTED: f"Welcome: {self.user}@{self.server}",
                LoginOutcome.DENIED: "Permission denied, please try again.",
                LoginOutcome.REFUSED: f"ssh: connect to host {self.server} port {self.port}: "
                                      "Connection refused",
                LoginOutcome.TIMED_OUT: f"ssh: connect to host {self.server} port "
                                        f"{self.port}: Connection timed out",
                LoginOutcome.UNREACHABLE: f"ssh: connect to host {self.server} port "
                                          f"{self.port}: No route to host",
                LoginOutcome.DISCONNECTED: f"Connection closed by {self.server} port "
                                           f"{self.port}"}[self.outcome]


def _read(sock, until: Callable[[bytes], bool]) -> bytes:
    data = b""
    while not until(data):
        try:
            chunk = sock.recv(4096)
        except OSError:
            break
        if not chunk:
            break
        data += chunk
    return data


def ssh_login(host, server: str, user: str, password: str, *, port: int = 22,
              timeout: float = 10.0) -> LoginResult:
    """Log in from ``host`` to ``server`` (name or address) with one password attempt, as
    ``ssh user@server`` does when the password is typed once; then disconnect. Blocking in
    virtual time; ``timeout`` is ssh's ConnectTimeout (and the wait for each answer)."""
    node = host.net.nodes.get(server)
    ip = node.ip if node is not None else server
    sock = host.socket(process="ssh", user="student")
    sock.settimeout(timeout)
    try:
        try:
            sock.connect((ip, port))
        except ConnectionRefusedError as e:
            return LoginResult(LoginOutcome.REFUSED, user, server, port, errno=e.errno)
        except TimeoutError as e:
            return LoginResult(LoginOutcome.TIMED_OUT, user, server, port,
                               errno=e.errno or errno.ETIMEDOUT)
        except OSError as e:
            return LoginResult(LoginOutcome.UNREACHABLE, user, server, port, errno=e.errno)
        local = sock.getsockname()[1]
        banner = _read(sock, lambda d: b"\n" in d)
        if not banner.startswith(b"SSH-"):
            return LoginResult(LoginOutcome.DISCONNECTED, user, server, port, local)
        rng = host.net.rng
        token = rng.getrandbits(64)
        keys = _session_keys(host.net)
        keys[token] = attempt = _Attempt(user, password)
        body = token.to_bytes(8, "big") + rng.getrandbits(8 * (_AUTH_PACKET - 8)).to_bytes(
            _AUTH_PACKET - 8, "big")
        try:
            sock.sendall(CLIENT_VERSION + struct.pack("!I", _AUTH_PACKET) + body)
            _read(sock, lambda d: len(d) >= 4 + _REPLY_PACKET)
        except OSError:
            pass
        keys.pop(token, None)
        if attempt.outcome is AuthOutcome.ACCEPTED:
            return LoginResult(LoginOutcome.ACCEPTED, user, server, port, local)
        if attempt.outcome is AuthOutcome.FAILED:
            return LoginResult(LoginOutcome.DENIED, user, server, port, local)
        return LoginResult(LoginOutcome.DISCONNECTED, user, server, port, local)
    finally:
        sock.close()
