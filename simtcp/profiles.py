"""OS profiles: a validating sysctl table with each operating system's real defaults.

Theory of operation
-------------------
Every simulated host owns one :class:`Sysctl`, a ``MutableMapping`` from real knob names
(``net.ipv4.tcp_syncookies``) to values. It behaves like ``sysctl(8)`` on that OS: unknown
names fail like ``sysctl: cannot stat /proc/sys/...``, malformed values fail with EINVAL-style
ValueErrors, and ``str(sysctl)`` reads like ``sysctl -a``.

The stack reads TCP behaviour through the **Linux names** on every profile (the Windows, macOS
and FreeBSD profiles carry them too, filled with that OS's values where known), so the stack
has one code path. Port allocation is OS specific, so the stack asks the generic accessors
:meth:`Sysctl.ephemeral_range`, :meth:`Sysctl.reserved_ports` and
:meth:`Sysctl.unprivileged_port_start`, which read the OS's own knobs (``netsh`` dynamic port
range on Windows, ``net.inet.ip.portrange.*`` on the BSDs). simtcp's own settings live under
``simtcp.*`` (the allocation algorithm, the TIME-WAIT length, the MSS).

The knobs each profile has, their defaults, parsers and sources are the tables of
`simtcp.sysctltables`.
"""
from __future__ import annotations

import collections.abc
import difflib
from typing import Any, Iterator

from .sysctltables import (CONGESTION_CONTROLS, LINUX_KERNEL, PORT_ALGORITHMS, PROFILES,
                           NotModelledError, Profile, _Spec, _int, _profile_specs,
                           format_port_list, parse_os, parse_port_list)

__all__ = ["Sysctl", "PROFILES", "Profile", "PORT_ALGORITHMS", "parse_port_list",
           "format_port_list", "NotModelledError", "LINUX_KERNEL", "CONGESTION_CONTROLS"]


class Sysctl(collections.abc.MutableMapping):
    """A host's kernel tunables, with one OS's defaults and ``sysctl(8)``-like validation.

    ``Sysctl(os="linux")``; ``os`` is one of :data:`PROFILES` (linux, windows, macos, freebsd).

    * ``s["net.ipv4.ip_local_port_range"]`` is a tuple ``(32768, 60999)``; assigning accepts a
      tuple or the real file's text ``"32768 60999"``. Linux refuses (EINVAL) a range with
      low > high or low below ``ip_unprivileged_port_start`` (ip-sysctl.rst). Ends of the same
      parity are *accepted*, as Linux does, although the documentation says they "should"
      differ: with equal parity the connect() scan leaves one port unused (see portalloc).
    * ``s["net.ipv4.ip_local_reserved_ports"]`` reads and writes the "1,2-4,10-10" syntax;
      :meth:`reserved_ports` gives the parsed frozenset.
    * Non-Linux profiles keep every Linux-named TCP key (filled with that OS's values where
      known) because the stack reads those names on every OS. The port range, however, comes
      from the OS's own knobs there (netsh start/num on Windows, mirrored into
      ``net.ipv4.ip_local_port_range``; ``net.inet.ip.portrange.first/last`` on the BSDs):
      always ask :meth:`ephemeral_range`.
    * ``del s[key]`` restores the profile default (a real /proc file cannot be deleted).
    """

    def __init__(self, os: str = "linux") -> None:  # noqa: A002 - mirrors add_host(os=...)
        name, kernel = parse_os(os)
        self.os = name
        self.kernel = kernel                # Linux version whose defaults apply (linux only)
        #: CurrEstab counts CLOSE-WAIT since Linux 6.10 (commit "tcp: count CLOSE-WAIT
        #: sockets for TCP_MIB_CURRESTAB", also in stable kernels); before, only ESTABLISHED.
        #: Fixed by the profile, so a plain attribute: the stack asks on every state change.
        self.curr_estab_counts_close_wait = name != "linux" or kernel >= (6, 10)
        self._specs = _profile_specs(name, kernel)
        self._values: dict[str, Any] = {k: s.default for k, s in self._specs.items()}
        self.version = 0                    # bumped on every change (lets readers cache)

    # -- mapping protocol
    def _spec(self, key: str) -> _Spec:
        spec = self._specs.get(key) if isinstance(key, str) else None
        if spec is None:
            hint = difflib.get_close_matches(str(key), self._specs, n=1, cutoff=0.85)
            more = f" (did you mean {hint[0]!r}?)" if hint else ""
            path = str(key).replace(".", "/")
            raise KeyError(f"sysctl: cannot stat /proc/sys/{path}: No such file or directory"
                           f"{more} [profile {self.os!r}]")
        return spec

    def __getitem__(self, key: str) -> Any:
        if type(key) is not str or key not in self._values:
            self._spec(key)                     # raises sysctl's "cannot stat" KeyError
        if key == "net.ipv4.ip_local_reserved_ports":
            return format_port_list(self._values[key])
        return self._values[key]

    def get(self, key: str, default: Any = None) -> Any:
        """``Mapping.get`` without its exception round trip: the stack reads several sysctls
        for every connection and every SYN."""
        if type(key) is str and key in self._values and key != "net.ipv4.ip_local_reserved_ports":
            return self._values[key]
        return super().get(key, default)

    def __setitem__(self, key: str, value: Any) -> None:
        spec = self._spec(key)
        new = spec.parse(value, key)
        if not spec.modelled and new != self._values[key]:
            raise NotModelledError(f"sysctl: {key} is not modelled by simtcp ({spec.doc}); "
                                   "it keeps its default")
        self._cross_check(key, new)
        self._values[key] = new
        self.version += 1
        if key.startswith("netsh.ipv4.dynamicport.tcp."):
            self._values["net.ipv4.ip_local_port_range"] = self.ephemeral_range()
        elif key == "net.inet.tcp.msl":        # BSD TIME-WAIT lasts 2*MSL
            self._values["simtcp.time_wait_seconds"] = 2 * new / 1000

    def __delitem__(self, key: str) -> None:
        self._values[key] = self._spec(key).default
        self.version += 1

    def __iter__(self) -> Iterator[str]:
        return iter(sorted(self._specs))

    def __len__(self) -> int:
        return len(self._specs)

    def _cross_check(self, key: str, new: Any) -> None:
        # Linux net/ipv4/sysctl_net_ipv4.c ipv4_local_port_range / ipv4_privileged_ports.
        if key == "net.ipv4.ip_local_port_range":
            low, high = new
            unpriv = self._values["net.ipv4.ip_unprivileged_port_start"]
            if not 1 <= low <= high <= 65535:
                raise ValueError(
                    f"sysctl: setting key \"{key}\": Invalid argument (Linux refuses "
                    f"{low} {high}: need 1 <= low <= high <= 65535; see ip-sysctl.rst)")
            if self.os == "linux" and low < unpriv:
                raise ValueError(
                    f"sysctl: setting key \"{key}\": Invalid argument (Linux refuses a "
                    f"range starting at {low}, below ip_unprivileged_port_start={unpriv}: "
                    "ephemeral ports must not overlap privileged ports; see ip-sysctl.rst)")
        elif key == "net.ipv4.ip_unprivileged_port_start" and self.os == "linux":
            low = self._values["net.ipv4.ip_local_port_range"][0]
            if new > low:
                raise ValueError(
                    f"sysctl: setting key \"{key}\": Invalid argument ({new} would make "
                    f"ephemeral ports from {low} privileged; lower ip_local_port_range first)")
        elif key in ("net.ipv4.tcp_rmem", "net.ipv4.tcp_wmem") and new[0] != self._values[key][0]:
            raise NotModelledError(
                f"sysctl: {key}[0] (the floor under memory pressure) is not modelled: simtcp "
                f"has no memory pressure; keep it at {self._values[key][0]}")
        elif key == "netsh.ipv4.dynamicport.tcp.start":
            self._check_netsh(new, self._values["netsh.ipv4.dynamicport.tcp.num"])
        elif key == "netsh.ipv4.dynamicport.tcp.num":
            self._check_netsh(self._values["netsh.ipv4.dynamicport.tcp.start"], new)

    # -- generic accessors used by the stack and the port allocator
    def ephemeral_range(self) -> tuple[int, int]:
        """Inclusive (low, high) range for automatic (ephemeral) ports on this OS."""
        v = self._values
        if self.os == "windows":
            start = v["netsh.ipv4.dynamicport.tcp.start"]
            return start, start + v["netsh.ipv4.dynamicport.tcp.num"] - 1
        if self.os in ("macos", "freebsd"):
            # BSD in_pcb.c counts down when first > last; the set of ports is the same.
            a, b = v["net.inet.ip.portrange.first"], v["net.inet.ip.portrange.last"]
            return (a, b) if a <= b else (b, a)
        return tuple(v["net.ipv4.ip_local_port_range"])  # type: ignore[return-value]

    def ephemeral_range_name(self) -> str:
        """How this OS names its range (for error messages): 'ip_local_port_range 32768-60999'."""
        lo, hi = self.ephemeral_range()
        if self.os == "windows":
            return f"the netsh dynamic port range {lo}-{hi}"
        if self.os in ("macos", "freebsd"):
            return f"net.inet.ip.portrange.first..last {lo}-{hi}"
        return f"ip_local_port_range {lo}-{hi}"

    def reserved_ports(self) -> frozenset[int]:
        """Ports automatic assignment must skip (Linux ip_local_reserved_ports)."""
        return self._values["net.ipv4.ip_local_reserved_ports"]

    def unprivileged_port_start(self, ip: str = "0.0.0.0") -> int:
        """Lowest port an unprivileged process may bind to address ``ip`` (0 = none privileged).

        macOS 10.14+ exempts only binds to the wildcard address: XNU's in_pcbbind()
        (bsd/netinet/in_pcb.c) asks for PRIV_NETINET_RESERVEDPORT when ``lport <
        IPPORT_RESERVED`` and the address is not INADDR_ANY, so a specific address below
        1024 still needs root.
        """
        if self.os == "macos" and ip != "0.0.0.0":
            return 1024                       # IPPORT_RESERVED
        if self.os == "freebsd":
            return self._values["net.inet.ip.portrange.reservedhigh"] + 1
        return self._values["net.ipv4.ip_unprivileged_port_start"]

    # -- Windows netsh
    @staticmethod
    def _check_netsh(start: int, num: int) -> None:
        if start < 1025 or num < 255 or start + num - 1 > 65535:
            raise ValueError(
                f"netsh int ipv4 set dynamicport tcp start={start} num={num}: The parameter "
                "is incorrect. (netsh requires start >= 1025, num >= 255 and "
                "start + num - 1 <= 65535)")

    def netsh_set_dynamicport(self, *, start: int, num: int) -> None:
        """Mirror ``netsh int ipv4 set dynamicport tcp start=10000 num=1000`` (Windows only)."""
        if self.os != "windows":
            raise ValueError(f"netsh is a Windows command; this host runs the {self.os!r} "
                             "profile (set its portrange sysctls instead)")
        start = _int(start, "start")
        num = _int(num, "num")
        self._check_netsh(start, num)
        self._values["netsh.ipv4.dynamicport.tcp.start"] = start
        self._values["netsh.ipv4.dynamicport.tcp.num"] = num
        self._values["net.ipv4.ip_local_port_range"] = (start, start + num - 1)
        self.version += 1

    def netsh_show_dynamicport(self) -> str:
        """Text like ``netsh int ipv4 show dynamicport tcp``."""
        if self.os != "windows":
            raise ValueError(f"netsh is a Windows command; this host runs {self.os!r}")
        v = self._values
        return ("\nProtocol tcp Dynamic Port Range\n---------------------------------\n"
                f"Start Port      : {v['netsh.ipv4.dynamicport.tcp.start']}\n"
                f"Number of Ports : {v['netsh.ipv4.dynamicport.tcp.num']}\n")

    # -- presentation
    def copy(self) -> "Sysctl":
        other = Sysctl(self.os if self.os != "linux" else "linux-%d.%d" % self.kernel)
        other._values = dict(self._values)
        return other

    def doc(self, key: str) -> str:
        """One-line meaning of *key*."""
        return self._spec(key).doc

    def __str__(self) -> str:
        lines = []
        for key in self:
            value = self[key]
            if isinstance(value, tuple):
                value = "\t".join(map(str, value))
            lines.append(f"{key} = {value}")
        return "\n".join(lines)

    def __repr__(self) -> str:
        changed = {k: self[k] for k in self if self._values[k] != self._specs[k].default}
        return f"Sysctl(os={self.os!r}, changed={changed!r})"
