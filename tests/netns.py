"""Private network namespaces for the kernel-oracle tests: made, wired, used and deleted.

Theory of operation: a kernel-oracle test runs the real Linux stack and real tools only
inside network namespaces it creates itself (the project's safety rule), so traffic never
leaves them. `namespaces("client", "router", ...)` creates one namespace per role with a
name no other test run can share, brings ``lo`` up in each, and deletes every one of them
on the way out, whatever happens inside. The object it yields names them (``ns["client"]``)
and runs commands in them with a timeout on every call. When this machine cannot make a
namespace (not root, no iproute2, a container without the privilege), the test is skipped
with the reason; a later set-up step that fails is an error, not a skip.

    with namespaces("c", "s") as ns:
        ns.veth("c", "va", "10.7.0.1/24", "s", "vb", "10.7.0.2/24")
        ns.exec("s", "iptables", "-A", "INPUT", "-j", "DROP")
        out = ns.exec("c", sys.executable, "probe.py").stdout
"""
from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import uuid
from typing import Dict, Iterator, Optional

import pytest


def missing(*tools: str, tun: bool = False) -> Optional[str]:
    """Why the oracle cannot run here (not root, a tool or /dev/net/tun missing), or None."""
    if not hasattr(os, "geteuid") or os.geteuid() != 0:
        return "needs root (network namespaces)"
    absent = [t for t in ("ip",) + tools if not shutil.which(t)]
    if absent:
        return "needs " + ", ".join(absent)
    if tun and not os.path.exists("/dev/net/tun"):
        return "needs /dev/net/tun"
    return None


def requires(*tools: str, tun: bool = False):
    """A skip marker for a test (or ``pytestmark``) that needs root, iproute2 and ``tools``."""
    reason = missing(*tools, tun=tun)
    return pytest.mark.skipif(reason is not None, reason=reason or "")


def run(*argv: str, check: bool = True, timeout: float = 60, **kw) -> subprocess.CompletedProcess:
    """Run a command (text output captured, bounded by ``timeout`` seconds); with ``check``,
    a non-zero exit raises with the command's stderr."""
    kw.setdefault("capture_output", "stdout" not in kw and "stderr" not in kw)
    r = subprocess.run(list(argv), text=True, timeout=timeout, **kw)
    if check and r.returncode:
        raise RuntimeError(f"{' '.join(argv)}: {(r.stderr or '').strip()}")
    return r


class Namespaces:
    """The namespaces of one oracle run, by role."""

    def __init__(self, names: Dict[str, str]) -> None:
        self.names = names

    def __getitem__(self, role: str) -> str:
        return self.names[role]

    def argv(self, role: str, *argv: str) -> list:
        """``argv`` run inside the role's namespace (for Popen)."""
        return ["ip", "netns", "exec", self.names[role], *argv]

    def exec(self, role: str, *argv: str, check: bool = True, timeout: float = 60,
             **kw) -> subprocess.CompletedProcess:
        return run(*self.argv(role, *argv), check=check, timeout=timeout, **kw)

    def popen(self, role: str, *argv: str, **kw) -> subprocess.Popen:
        return subprocess.Popen(self.argv(role, *argv), **kw)

    def addr(self, role: str, dev: str, cidr: str) -> None:
        """Give ``dev`` an address and bring it up."""
        run("ip", "-n", self.names[role], "addr", "add", cidr, "dev", dev)
        run("ip", "-n", self.names[role], "link", "set", dev, "up")

    def veth(self, role_a: str, dev_a: str, cidr_a: Optional[str],
             role_b: str, dev_b: str, cidr_b: Optional[str]) -> None:
        """A veth pair between two namespaces, each end addressed (if a CIDR is given) and up."""
        run("ip", "link", "add", dev_a, "netns", self.names[role_a], "type", "veth",
            "peer", "name", dev_b, "netns", self.names[role_b])
        for role, dev, cidr in ((role_a, dev_a, cidr_a), (role_b, dev_b, cidr_b)):
            if cidr:
                self.addr(role, dev, cidr)
            else:
                run("ip", "-n", self.names[role], "link", "set", dev, "up")

    def route(self, role: str, *spec: str) -> None:
        run("ip", "-n", self.names[role], "route", "add", *spec)

    def sysctl(self, role: str, setting: str) -> None:
        """``net.ipv4.ip_forward=1`` style, inside the namespace."""
        self.exec(role, "sysctl", "-qw", setting)

    def iptables_or_skip(self, role: str, *rule: str) -> None:
        """Add an iptables rule; skip the test if iptables cannot work in a namespace here
        (an old kernel or a container without the netfilter modules)."""
        r = self.exec(role, "iptables", *rule, check=False)
        if r.returncode:
            pytest.skip(f"iptables does not work in a namespace here: {r.stderr.strip()}")


@contextlib.contextmanager
def namespaces(*roles: str) -> Iterator[Namespaces]:
    """Create one fresh namespace per role (``lo`` up), yield them, delete them all."""
    tag = uuid.uuid4().hex[:6]
    made: Dict[str, str] = {}
    try:
        for role in roles:
            name = f"simtcp-{role}-{tag}"
            r = subprocess.run(["ip", "netns", "add", name], capture_output=True, text=True,
                               timeout=10)
            if r.returncode:
                pytest.skip(f"cannot create a network namespace: {r.stderr.strip()}")
            made[role] = name
            run("ip", "-n", name, "link", "set", "lo", "up", timeout=10)
        yield Namespaces(made)
    finally:
        for name in made.values():
            subprocess.run(["ip", "netns", "del", name], capture_output=True, timeout=10)
