"""fail2ban: ban an address after repeated failed logins, through an iptables rule.

Theory of operation
-------------------
A jail watches one service's log. fail2ban's jail.conf(5) semantics: a host is banned when
it has generated ``maxretry`` failures within the last ``findtime`` seconds; the ban lasts
``bantime`` seconds (a negative bantime bans for ever); addresses in ``ignoreip`` are never
banned. The defaults are jail.conf's: bantime 10m, findtime 10m, maxretry 5, ignoreip
127.0.0.1/8.

The jail reads sshd's auth log typed (`simtcp.sshd.AuthEvent`) — where fail2ban matches the
``Failed password … from <HOST>`` lines with the regular expressions of filter.d/sshd.conf,
simtcp counts each failed password attempt once (an invalid user's attempt included).

Banning is action.d/iptables-multiport.conf: on the first ban the action creates chain
``f2b-<jail>`` ending in RETURN and inserts ``-p tcp -m multiport --dports PORT -j
f2b-<jail>`` at the top of INPUT; each ban inserts ``-s IP -j REJECT --reject-with
icmp-port-unreachable`` (the default blocktype) at the top of that chain and the unban
deletes it. So a banned client's next ``connect()`` to the port fails at once with
ECONNREFUSED while every other port and client is untouched. The jail's own log has the
lines of fail2ban.log (``… fail2ban.actions [PID]: NOTICE  [sshd] Ban 192.168.1.66``, Python
logging's format ``%(asctime)s %(name)-24s[%(process)d]: %(levelname)-7s %(message)s``).
"""
from __future__ import annotations

import enum
import ipaddress
from dataclasses import dataclass
from typing import Dict, List, Optional, Sequence

from .logstamp import iso_stamp
from .sshd import SSHD, AuthEvent, AuthOutcome

__all__ = ["Jail", "JailEvent", "JailAction"]


class JailAction(enum.Enum):
    FOUND = "found"
    BAN = "ban"
    UNBAN = "unban"


@dataclass(frozen=True)
class JailEvent:
    time: float
    jail: str
    action: JailAction
    ip: str
    pid: int
    failure_time: Optional[float] = None

    @property
    def text(self) -> str:
        if self.action is JailAction.FOUND:
            name, level = "fail2ban.filter", "INFO"
            msg = f"[{self.jail}] Found {self.ip} - {iso_stamp(self.failure_time)[:19]}"
        else:
            name, level = "fail2ban.actions", "NOTICE"
            msg = f"[{self.jail}] {'Ban' if self.action is JailAction.BAN else 'Unban'} {self.ip}"
        return f"{iso_stamp(self.time)} {name:<24}[{self.pid}]: {level:<7} {msg}"

    def __str__(self) -> str:
        return self.text


def _duration(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise ValueError(f"{what} must be a number of seconds, got {value!r}")
    return float(value)


class Jail:
    """A fail2ban jail on ``host`` watching ``service`` (an `SSHD`; default: the host's
    running ssh service). See the module docstring for the semantics."""

    def __init__(self, host, service: Optional[SSHD] = None, *, name: str = "sshd",
                 maxretry: int = 5, findtime: float = 600.0, bantime: float = 600.0,
                 port: Optional[int] = None,
                 ignoreip: Sequence[str] = ("127.0.0.1/8",)):
        if service is None:
            found = [s for s in host.services if isinstance(s, SSHD)]
            if not found:
                raise ValueError(f"no ssh service runs on {host.name}: start one with "
                                 "host.start_service('ssh', accounts={...})")
            service = found[0]
        if isinstance(maxretry, bool) or not isinstance(maxretry, int) or maxretry < 1:
            raise ValueError(f"maxretry must be a positive int, got {maxretry!r}")
        self.findtime = _duration(findtime, "findtime")
        self.bantime = _duration(bantime, "bantime")
        if self.findtime <= 0:
            raise ValueError(f"findtime must be positive, got {findtime!r}")
        host._linux_only("fail2ban")
        self.host, self.net, self.service, self.name = host, host.net, service, name
        self.maxretry = maxretry
        self.port = service.port if port is None else port
        self.ignoreip = [ipaddress.ip_network(n, strict=False) for n in ignoreip]
        self.pid = host.pid_of("fail2ban-server", "root")
        self.failures: Dict[str, List[float]] = {}
        self.banned: Dict[str, Optional[float]] = {}      # ip -> unban time (None: for ever)
        self.events: List[JailEvent] = []
        self._started = False
        service.auth_readers.append(self._auth_event)

    # ------------------------------------------------------------------ the filter
    def _auth_event(self, event: AuthEvent) -> None:
        if event.outcome is not AuthOutcome.FAILED:
            return
        ip = event.ip
        if any(ipaddress.ip_address(ip) in n for n in self.ignoreip) or ip in self.banned:
            return
        now = event.time
        self.events.append(JailEvent(now, self.name, JailAction.FOUND, ip, self.pid, now))
        times = [t for t in self.failures.get(ip, []) if t > now - self.findtime] + [now]
        self.failures[ip] = times
        if len(times) >= self.maxretry:
            del self.failures[ip]
            self.banned[ip] = None if self.bantime < 0 else now + self.bantime
            self.events.append(JailEvent(now, self.name, JailAction.BAN, ip, self.pid))
            self.net.call_later(0.0, self._ban, ip)

    # ------------------------------------------------------------------ the action
    def _rule(self, ip: str) -> str:
        return f"-s {ip} -j REJECT --reject-with icmp-port-unreachable"

    def _ban(self, ip: str) -> None:
        chain = f"f2b-{self.name}"
        ipt = self.host.iptables
        if not self._started:                           # actionstart, on the first ban
            self._started = True
            if chain not in self.host.netfilter.rules.tables["filter"].chains:
                ipt(f"-N {chain}")
                ipt(f"-A {chain} -j RETURN")
            ipt(f"-I INPUT -p tcp -m multiport --dports {self.port} -j {chain}")
        ipt(f"-I {chain} 1 {self._rule(ip)}")
        if self.bantime >= 0:
            self.net.call_later(self.bantime, self._unban, ip)

    def _unban(self, ip: str) -> None:
        if ip not in self.banned:
            return
        del self.banned[ip]
        self.host.iptables(f"-D f2b-{self.name} {self._rule(ip)}")
        self.events.append(JailEvent(self.net.now, self.name, JailAction.UNBAN, ip, self.pid))

    def unban(self, ip: str) -> None:
        """``fail2ban-client set JAIL unbanip IP``."""
        if ip not in self.banned:
            raise ValueError(f"{ip} is not banned in jail {self.name}")
        self._unban(ip)

    def stop(self) -> None:
        if self._auth_event in self.service.auth_readers:
            self.service.auth_readers.remove(self._auth_event)

    # ------------------------------------------------------------------ views
    @property
    def log(self) -> str:
        """/var/log/fail2ban.log: this jail's lines."""
        return "\n".join(e.text for e in self.events)

    def status(self) -> str:
        """``fail2ban-client status sshd``."""
        total_failed = sum(1 for e in self.events if e.action is JailAction.FOUND)
        total_banned = sum(1 for e in self.events if e.action is JailAction.BAN)
        return (f"Status for the jail: {self.name}\n"
                f"|- Filter\n"
                f"|  |- Currently failed:\t{len(self.failures)}\n"
                f"|  |- Total failed:\t{total_failed}\n"
                f"|  `- File list:\t/var/log/auth.log\n"
                f"`- Actions\n"
                f"   |- Currently banned:\t{len(self.banned)}\n"
                f"   |- Total banned:\t{total_banned}\n"
                f"   `- Banned IP list:\t{' '.join(self.banned)}")

    def __str__(self) -> str:
        return self.log
