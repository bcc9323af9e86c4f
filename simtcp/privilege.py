"""Who may do what on a host: processes, users, Linux capabilities, privileged ports, and
what a compromised process could reach.

Theory of operation
-------------------
A `Process` runs as a user with a set of Linux capabilities (capabilities(7); the numbers of
include/uapi/linux/capability.h). Root's processes hold every capability unless they were
started with fewer (systemd's ``CapabilityBoundingSet=``); other users' processes hold none
unless given some (systemd's ``AmbientCapabilities=``, or ``setcap`` file capabilities).

Binding a port below the privileged threshold asks for privilege, as each kernel does it:

- Linux, ``inet_bind()`` → ``__inet_bind()`` (net/ipv4/af_inet.c): ``if (snum &&
  inet_port_requires_bind_service(net, snum) && !ns_capable(net->user_ns,
  CAP_NET_BIND_SERVICE)) return -EACCES``, where ``inet_port_requires_bind_service()``
  (include/net/ip.h) is ``port < net.ipv4.ip_unprivileged_port_start`` (default 1024; 0 means
  no port is privileged). It is the capability that counts, not the user id: a root process
  without CAP_NET_BIND_SERVICE gets EACCES, a ``www-data`` process with it may bind 80.
- macOS (XNU ``in_pcbbind()``, bsd/netinet/in_pcb.c, since macOS 10.14 Mojave): the check
  ``priv_check_cred(cred, PRIV_NETINET_RESERVEDPORT)`` runs only when ``lport <
  IPPORT_RESERVED (1024) && sin_addr != INADDR_ANY`` — any user may bind a low port on the
  wildcard address, only root a low port on a specific address. No capabilities.
- FreeBSD ``in_pcbbind_setup()``: ``net.inet.ip.portrange.reservedlow..reservedhigh``
  (0..1023) need PRIV_NETINET_RESERVEDPORT (root). Windows has no privileged ports.

Dropping privileges (capabilities(7), "Effect of user ID changes on capabilities"): when a
process whose user ids were 0 switches them all to a non-zero user, its permitted, effective
and ambient sets are cleared — unless it set ``PR_SET_KEEPCAPS`` first, which keeps the
permitted set so the process can raise the capabilities it chose to keep.
`Process.drop_privileges(user, keep=…)` is that sequence (prctl, setuid, capset). Sockets
already open stay open: the check happens at bind() time only — which is why "bind as root,
then drop to a service user" works.

The blast radius of a process — what an attacker who takes it over inherits — is shown by
`Process.report()`: the ports it could bind, which of the host's sensitive files it could read
(``generic_permission()`` in fs/namei.c: owner, group or other bits, bypassed by
CAP_DAC_OVERRIDE / CAP_DAC_READ_SEARCH), and whether it could change the firewall
(CAP_NET_ADMIN), capture or forge packets (CAP_NET_RAW) or signal other users' processes
(CAP_KILL). The file table is a small model of a Debian 12 server's files, not a file system.
"""
from __future__ import annotations

import enum
import errno
from dataclasses import dataclass
from typing import Dict, FrozenSet, Iterable, List, Optional, Tuple

__all__ = ["Capability", "ALL_CAPABILITIES", "Process", "FileEntry", "SENSITIVE_FILES",
           "may_bind_privileged", "check_bind", "bind_threshold"]


class Capability(enum.IntEnum):
    """Linux capabilities simtcp gives a meaning to (include/uapi/linux/capability.h)."""

    CAP_CHOWN = 0
    CAP_DAC_OVERRIDE = 1
    CAP_DAC_READ_SEARCH = 2
    CAP_FOWNER = 3
    CAP_KILL = 5
    CAP_SETGID = 6
    CAP_SETUID = 7
    CAP_NET_BIND_SERVICE = 10
    CAP_NET_ADMIN = 12
    CAP_NET_RAW = 13
    CAP_SYS_MODULE = 16
    CAP_SYS_PTRACE = 19
    CAP_SYS_ADMIN = 21


ALL_CAPABILITIES: FrozenSet[Capability] = frozenset(Capability)


def _caps(values: Optional[Iterable]) -> Optional[FrozenSet[Capability]]:
    if values is None:
        return None
    out = set()
    for v in values:
        if isinstance(v, Capability):
            out.add(v)
        elif isinstance(v, str) and v.upper() in Capability.__members__:
            out.add(Capability[v.upper()])
        elif isinstance(v, str) and ("CAP_" + v.upper()) in Capability.__members__:
            out.add(Capability["CAP_" + v.upper()])
        else:
            raise ValueError(f"unknown capability {v!r}; simtcp models "
                             f"{', '.join(c.name for c in Capability)}")
    return frozenset(out)


def effective(user: str, capabilities: Optional[FrozenSet[Capability]]) -> FrozenSet[Capability]:
    """The effective set: given explicitly, else root's full set or nothing."""
    if capabilities is not None:
        return capabilities
    return ALL_CAPABILITIES if user == "root" else frozenset()


def bind_threshold(host, ip: str) -> int:
    """Ports below this need privilege to bind on ``ip`` (0: none)."""
    return host.sysctl.unprivileged_port_start(ip)


def may_bind_privileged(host, user: str, capabilities: Optional[FrozenSet[Capability]]) -> bool:
    """Linux: CAP_NET_BIND_SERVICE in the effective set; other systems: the user is root."""
    if host.sysctl.os == "linux":
        return Capability.CAP_NET_BIND_SERVICE in effective(user, capabilities)
    return user == "root"


def check_bind(sock, ip: str, port: int) -> None:
    """Raise PermissionError(EACCES) when ``sock``'s process may not bind ``ip:port``
    (port 0 — "any port" — never needs privilege)."""
    start = bind_threshold(sock.host, ip)
    if port == 0 or port >= start:
        return
    if may_bind_privileged(sock.host, sock.user, getattr(sock, "capabilities", None)):
        return
    from .lang import tr
    if sock.host.sysctl.os == "linux":
        why = tr("socket.eacces", "Permission denied: port {port} is below "
                 "ip_unprivileged_port_start ({start}); only root (or CAP_NET_BIND_SERVICE) "
                 "may bind it, and this socket belongs to {user!r}",
                 port=port, start=start, user=sock.user)
    else:
        why = tr("socket.eacces_bsd", "Permission denied: port {port} is below {start} on "
                 "{ip}; only root may bind it there, and this socket belongs to {user!r}",
                 port=port, start=start, ip=ip, user=sock.user)
    raise PermissionError(errno.EACCES, why)


# ----------------------------------------------------------------------------- files
@dataclass(frozen=True)
class FileEntry:
    """One file of the model: owner, group, permission bits, and what it holds."""

    path: str
    owner: str
    group: str
    mode: int
    what: str

    def readable_by(self, user: str, groups: FrozenSet[str],
                    caps: FrozenSet[Capability]) -> bool:
        """fs/namei.c generic_permission(): the owner's, the group's or the others' read
        bit; CAP_DAC_OVERRIDE or CAP_DAC_READ_SEARCH read anything."""
        if caps & {Capability.CAP_DAC_OVERRIDE, Capability.CAP_DAC_READ_SEARCH}:
            return True
        if user == self.owner:
            return bool(self.mode & 0o400)
        if self.group in groups:
            return bool(self.mode & 0o040)
        return bool(self.mode & 0o004)


#: The files that matter when a service is compromised, with Debian 12's owners and modes.
SENSITIVE_FILES: Tuple[FileEntry, ...] = (
    FileEntry("/etc/passwd", "root", "root", 0o644, "user accounts (no passwords)"),
    FileEntry("/etc/shadow", "root", "shadow", 0o640, "password hashes"),
    FileEntry("/etc/ssh/ssh_host_ed25519_key", "root", "root", 0o600,
              "the SSH server's private host key"),
    FileEntry("/etc/ssl/private/server.key", "root", "ssl-cert", 0o640,
              "the web server's TLS private key"),
    FileEntry("/var/www/html/index.html", "root", "root", 0o644, "the public web page"),
    FileEntry("/var/lib/mysql/shop/customers.ibd", "mysql", "mysql", 0o640,
              "the database's customer table"),
    FileEntry("/home/student/.ssh/id_ed25519", "student", "student", 0o600,
              "a user's SSH private key"),
)

_GROUPS: Dict[str, FrozenSet[str]] = {        # supplementary groups on a default install
    "root": frozenset({"root"}),
}


class Process:
    """A program running on ``host`` as ``user`` with ``capabilities`` (None: root's full
    set for root, none for anyone else). ``host.process(name, user=…, capabilities=…)``."""

    def __init__(self, host, name: str, user: str = "root",
                 capabilities: Optional[Iterable] = None):
        if not isinstance(name, str) or not name:
            raise ValueError(f"a process needs a name, got {name!r}")
        if not isinstance(user, str) or not user:
            raise ValueError(f"a process needs a user name, got {user!r}")
        caps = _caps(capabilities)
        if caps is not None and host.sysctl.os != "linux":
            raise ValueError(f"capabilities are Linux's; {host.name} runs {host.sysctl.os}, "
                             "where only root may bind privileged ports (not modelled there)")
        self.host, self.name, self.user = host, name, user
        self._caps = caps
        self.pid = host.pid_of(name, user)        # a process keeps its pid across setuid()

    @property
    def capabilities(self) -> FrozenSet[Capability]:
        """The effective capability set."""
        return effective(self.user, self._caps)

    @property
    def groups(self) -> FrozenSet[str]:
        return _GROUPS.get(self.user, frozenset({self.user}))

    def socket(self, family: int = 2, type: int = 1, proto: int = 0):
        """A socket opened by this process (its user and capabilities decide bind())."""
        sock = self.host.socket(family, type, proto, user=self.user, process=self.name)
        sock.capabilities = self._caps
        return sock

    def drop_privileges(self, user: str, keep: Iterable = ()) -> None:
        """prctl(PR_SET_KEEPCAPS) (when ``keep``), setuid(user), capset(keep): the process
        now runs as ``user`` with only the kept capabilities it had."""
        if self.user != "root":
            raise PermissionError(errno.EPERM, f"Operation not permitted: {self.name} runs as "
                                  f"{self.user!r}; only root (CAP_SETUID) may change user")
        kept = _caps(keep) or frozenset()
        self.host._pids.setdefault((self.name, user), self.pid)   # same process, same pid
        self.user = user
        self._caps = kept & effective("root", self._caps)

    # ------------------------------------------------------------------ the blast radius
    def can_bind(self, port: int, ip: str = "0.0.0.0") -> bool:
        start = bind_threshold(self.host, ip)
        return port == 0 or port >= start or may_bind_privileged(self.host, self.user,
                                                                 self._caps)

    def can_read(self, path: str) -> bool:
        for f in SENSITIVE_FILES:
            if f.path == path:
                return f.readable_by(self.user, self.groups, self.capabilities)
        raise ValueError(f"{path!r} is not in simtcp's file model; choose one of "
                         f"{', '.join(f.path for f in SENSITIVE_FILES)}")

    def abilities(self) -> List[Tuple[str, bool]]:
        """(what, yes/no) rows of the report."""
        caps = self.capabilities
        start = bind_threshold(self.host, "0.0.0.0")
        if start:
            examples = " (e.g. 22, 80, 443)" if start > 443 else ""
            rows = [(f"bind ports below {start}{examples}", self.can_bind(start - 1))]
        else:
            rows = [("bind any port (no port is privileged here)", True)]
        rows += [(f"read {f.path} ({f.what})", f.readable_by(self.user, self.groups, caps))
                 for f in SENSITIVE_FILES]
        rows += [("change the firewall: iptables (CAP_NET_ADMIN)",
                  Capability.CAP_NET_ADMIN in caps),
                 ("capture and forge packets: raw sockets (CAP_NET_RAW)",
                  Capability.CAP_NET_RAW in caps),
                 ("kill other users' processes (CAP_KILL)", Capability.CAP_KILL in caps),
                 ("become any user: setuid (CAP_SETUID)", Capability.CAP_SETUID in caps)]
        return rows

    def report(self) -> str:
        """What an attacker who controls this process could do."""
        caps = self.capabilities
        names = ("all of them" if caps == ALL_CAPABILITIES else
                 ", ".join(c.name for c in sorted(caps)) or "none")
        lines = [f"process {self.name} (pid {self.pid}) on {self.host.name}, user {self.user}",
                 f"capabilities: {names}"]
        lines += [f"  [{'x' if ok else ' '}] {what}" for what, ok in self.abilities()]
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.report()

    def __repr__(self) -> str:
        return f"<Process {self.name} pid {self.pid} user {self.user} on {self.host.name}>"
