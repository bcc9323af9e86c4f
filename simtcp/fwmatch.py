"""iptables matches: the packet view a rule looks at, and each ``-m`` extension.

Theory of operation
-------------------
netfilter's rule engine never sees a socket; it sees one IPv4 packet plus a little context
(the hook's in/out interface, the connection-tracking state of the packet). `PacketView` is
that: a small frozen value built by the caller from a simulated packet (or by a test from
plain numbers), so the rule engine stays sans-IO and can be tested on its own.

A rule is the IPv4 header part (``-s -d -i -o -p``, `IpSpec` in ``fwrule``) followed by a list
of *match extensions*, evaluated in order; the first one that does not match ends the rule
(``ipt_do_table()`` → ``xt_ematch_foreach`` in net/ipv4/netfilter/ip_tables.c). Each
extension here knows how to

* take its options from the command line (``take(option, value, invert)`` — the real
  ``x6_parse`` of libxt_<name>.c; the same option names, the same error texts),
* check the finished rule (``final_check``),
* match a packet (``matches(view, env)``, the kernel's ``<name>_mt()``; ``env`` gives
  virtual time and the per-node shared state such as ``recent`` lists),
* print itself as ``iptables-save`` prints it (``save()``) and as ``iptables -L`` prints it
  (``listing(numeric)``), checked against iptables 1.8.9 in a network namespace.

``-p tcp --dport 22`` loads the ``tcp`` match implicitly, as iptables does; that is why
``iptables-save`` prints ``-p tcp -m tcp --dport 22``.
"""
from __future__ import annotations

import enum
import functools
import socket
import struct
from typing import Callable, Dict, NamedTuple, Optional, Tuple

from . import ports as _ports

__all__ = ["PacketView", "CtState", "IptablesError", "MATCHES", "Match", "PROTO_NUMBERS",
           "ip_to_int", "parse_port", "TCP_FLAG_BITS"]

IPT_VERSION = "iptables v1.8.9 (nf_tables)"
TRY_HELP = "Try `iptables -h' or 'iptables --help' for more information."


class IptablesError(ValueError):
    """A command iptables refuses. ``str(e)`` is what iptables prints on stderr; ``status``
    is its exit status (1 = kernel/ruleset error, 2 = bad command line, 3 = missing table,
    4 = the kernel refused the change). Nothing of a refused command is applied."""

    def __init__(self, message: str, status: int = 2) -> None:
        super().__init__(message)
        self.status = status

    @classmethod
    def usage(cls, text: str, blank: bool = False) -> "IptablesError":
        """A command-line error as xtables_error(PARAMETER_PROBLEM, ...) prints it."""
        return cls(f"{IPT_VERSION}: {text}\n" + ("\n" if blank else "") + TRY_HELP, 2)


class CtState(enum.Enum):
    """Connection-tracking state of a packet as ``-m conntrack --ctstate`` sees it
    (include/uapi/linux/netfilter/nf_conntrack_common.h; SNAT/DNAT are the xt_conntrack
    pseudo-states "this connection is source/destination-translated")."""

    INVALID = "INVALID"
    NEW = "NEW"
    RELATED = "RELATED"
    ESTABLISHED = "ESTABLISHED"
    UNTRACKED = "UNTRACKED"
    SNAT = "SNAT"
    DNAT = "DNAT"


# The order libxt_conntrack/libxt_state print states in (print_state()).
_STATE_ORDER = (CtState.INVALID, CtState.NEW, CtState.RELATED, CtState.ESTABLISHED,
                CtState.UNTRACKED, CtState.SNAT, CtState.DNAT)

PROTO_NUMBERS = {"tcp": 6, "udp": 17, "icmp": 1, "all": 0}
PROTO_NAMES = {6: "tcp", 17: "udp", 1: "icmp", 0: "all"}

# TCP flag bits as in the TCP header (RFC 9293 §3.1); names as libxt_tcp.c tcp_flag_names.
TCP_FLAG_BITS = {"FIN": 0x01, "SYN": 0x02, "RST": 0x04, "PSH": 0x08, "ACK": 0x10, "URG": 0x20,
                 "ALL": 0x3F, "NONE": 0}


class PacketView(NamedTuple):
    """What a netfilter rule can see of one IPv4 packet at one hook.

    ``proto`` is the IP protocol number (6 TCP, 17 UDP, 1 ICMP); ports are None for ICMP;
    ``tcp_flags`` the TCP flag byte; ``in_iface``/``out_iface`` the interfaces known at the
    hook (None where the kernel has none: no ``in`` on OUTPUT, no ``out`` on PREROUTING);
    ``ctstate`` the conntrack state (None = no conntrack entry, which rules see as INVALID);
    ``length`` the IP total length (byte counters, LOG's LEN=).
    """

    src: str
    dst: str
    proto: int
    sport: Optional[int] = None
    dport: Optional[int] = None
    tcp_flags: int = 0
    icmp_type: Optional[int] = None
    icmp_code: Optional[int] = None
    in_iface: Optional[str] = None
    out_iface: Optional[str] = None
    ctstate: Optional[CtState] = None
    length: int = 40
    tos: int = 0
    ttl: int = 64
    ident: int = 0
    df: bool = True
    window: int = 0
    urgp: int = 0


@functools.lru_cache(maxsize=65536)
def ip_to_int(ip: str) -> int:
    """Dotted quad → 32-bit int (a cache of a pure function: no effect on determinism)."""
    return struct.unpack("!I", socket.inet_aton(ip))[0]


def int_to_ip(n: int) -> str:
    return socket.inet_ntoa(struct.pack("!I", n))


def parse_ipv4(text: str) -> Optional[int]:
    """Strict dotted quad (four decimal parts 0..255) or None."""
    parts = text.split(".")
    if len(parts) != 4 or not all(p.isdigit() and int(p) <= 255 for p in parts):
        return None
    return (int(parts[0]) << 24) | (int(parts[1]) << 16) | (int(parts[2]) << 8) | int(parts[3])


# --------------------------------------------------------------------------- ports

def parse_port(text: str, proto: str) -> int:
    """A port number or service name (xtables_parse_port: getservbyname, here the IANA
    registry in simtcp.ports)."""
    if text.isdigit():
        n = int(text)
        if n <= 0xFFFF:
            return n
    else:
        for registry_proto in (proto, "tcp"):     # see _port_name on UDP names
            try:
                return _ports.service_port(text, registry_proto)
            except (KeyError, ValueError):
                pass
    raise IptablesError.usage(f"invalid port/service `{text}' specified")


def parse_port_range(text: str, proto: str) -> Tuple[int, int]:
    """``22``, ``1000:2000``, ``:1024`` (from 0), ``1024:`` (to 65535) — libxt_tcp parse_ports."""
    if ":" in text:
        lo_s, _, hi_s = text.partition(":")
        lo = parse_port(lo_s, proto) if lo_s else 0
        hi = parse_port(hi_s, proto) if hi_s else 0xFFFF
        if lo > hi:
            raise IptablesError.usage("invalid portrange (min > max)")
        return lo, hi
    p = parse_port(text, proto)
    return p, p


def _port_text(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}:{hi}"


def _port_name(port: int, proto: str, numeric: bool) -> str:
    """A port as ``iptables -L`` shows it: its service name unless ``-n``."""
    if numeric:
        return str(port)
    # simtcp's registry is IANA's TCP list; IANA assigns the well-known names to both
    # TCP and UDP, so a UDP port is named by its TCP entry.
    return _ports.service_name(port, proto) or _ports.service_name(port, "tcp") or str(port)


def _port_list_text(name: str, lo: int, hi: int, inv: bool, numeric: bool, proto: str) -> str:
    """libxt_tcp print_ports: ``dpt:22``, ``dpts:1000:2000``, ``dpt:!22``."""
    bang = "!" if inv else ""
    if lo == hi:
        return f"{name}:{bang}{_port_name(lo, proto, numeric)}"
    return f"{name}s:{bang}{_port_name(lo, proto, numeric)}:{_port_name(hi, proto, numeric)}"


# --------------------------------------------------------------------------- base

class Match:
    """One ``-m`` extension of one rule. Subclasses set ``name`` and ``options``."""

    name = ""
    options: Tuple[str, ...] = ()

    def __init__(self, proto: Optional[str]) -> None:
        self.proto = proto           # the rule's -p as text when the match was loaded
        self._seen: set = set()

    def once(self, option: str, label: str) -> None:
        if option in self._seen:
            raise IptablesError.usage(f"Only one `{label}' allowed")
        self._seen.add(option)

    def take(self, option: str, value: Optional[str], invert: bool) -> None:
        raise NotImplementedError

    def takes_value(self, option: str) -> bool:
        return True

    def final_check(self, rule_proto: Optional[str]) -> None:
        pass

    def matches(self, view: PacketView, env) -> bool:
        raise NotImplementedError

    def save(self) -> str:
        raise NotImplementedError

    def listing(self, numeric: bool) -> str:
        raise NotImplementedError

    def bind(self, env) -> None:
        """Connect shared state (recent lists, hashlimit tables) when the rule is committed."""


def _bang(inv: bool) -> str:
    return "! " if inv else ""


# --------------------------------------------------------------------------- tcp / udp

class TcpMatch(Match):
    """``-m tcp`` (xt_tcpudp.c tcp_mt): ports, ``--tcp-flags MASK COMP``, ``--syn``."""

    name = "tcp"
    options = ("--sport", "--source-port", "--dport", "--destination-port", "--tcp-flags",
               "--syn")

    def __init__(self, proto):
        super().__init__(proto)
        self.sport: Optional[Tuple[int, int, bool]] = None
        self.dport: Optional[Tuple[int, int, bool]] = None
        self.flags: Optional[Tuple[int, int, bool]] = None

    def takes_value(self, option):
        return option != "--syn"

    def take(self, option, value, invert):
        if option in ("--sport", "--source-port"):
            self.once("sport", "--source-port")
            self.sport = (*parse_port_range(value, self.name), invert)
        elif option in ("--dport", "--destination-port"):
            self.once("dport", "--destination-port")
            self.dport = (*parse_port_range(value, self.name), invert)
        elif option == "--syn":
            self.once("flags", "--tcp-flags")
            self.flags = (0x17, 0x02, invert)    # FIN,SYN,RST,ACK SYN
        else:  # --tcp-flags MASK COMP (value is "MASK COMP")
            self.once("flags", "--tcp-flags")
            mask_s, comp_s = value.split(" ", 1)
            self.flags = (_parse_flags(mask_s), _parse_flags(comp_s), invert)

    def matches(self, view, env):
        if view.sport is None:
            return False
        if self.sport is not None:
            lo, hi, inv = self.sport
            if (lo <= view.sport <= hi) == inv:
                return False
        if self.dport is not None:
            lo, hi, inv = self.dport
            if (lo <= view.dport <= hi) == inv:
                return False
        if self.flags is not None:
            mask, comp, inv = self.flags
            if ((view.tcp_flags & mask) == comp) == inv:
                return False
        return True

    def save(self):
        out = []
        if self.sport:
            out.append(f"{_bang(self.sport[2])}--sport {_port_text(*self.sport[:2])}")
        if self.dport:
            out.append(f"{_bang(self.dport[2])}--dport {_port_text(*self.dport[:2])}")
        if self.flags:
            mask, comp, inv = self.flags
            out.append(f"{_bang(inv)}--tcp-flags {_flag_names(mask)} {_flag_names(comp)}")
        return " ".join(out)

    def listing(self, numeric):
        out = [self.name]
        if self.sport:
            out.append(_port_list_text("spt", *self.sport, numeric, self.name))
        if self.dport:
            out.append(_port_list_text("dpt", *self.dport, numeric, self.name))
        if self.flags:
            mask, comp, inv = self.flags
            shown = (f"0x{mask:02X}/0x{comp:02X}" if numeric
                     else f"{_flag_names(mask)}/{_flag_names(comp)}")
            out.append(f"flags:{'!' if inv else ''}{shown}")
        return " ".join(out)


class UdpMatch(TcpMatch):
    """``-m udp`` (xt_tcpudp.c udp_mt): source and destination ports."""

    name = "udp"
    options = ("--sport", "--source-port", "--dport", "--destination-port")


def _parse_flags(text: str) -> int:
    bits = 0
    for part in text.split(","):
        if part not in TCP_FLAG_BITS:
            raise IptablesError.usage(f"Unknown TCP flag `{part}'")
        bits |= TCP_FLAG_BITS[part]
    return bits


def _flag_names(bits: int) -> str:
    if bits == 0:
        return "NONE"
    return ",".join(n for n in ("FIN", "SYN", "RST", "PSH", "ACK", "URG")
                    if bits & TCP_FLAG_BITS[n])


# --------------------------------------------------------------------------- icmp

ICMP_TYPE_NAMES = {
    "any": (0xFF, 0, 0xFF), "echo-reply": (0, 0, 0xFF), "pong": (0, 0, 0xFF),
    "destination-unreachable": (3, 0, 0xFF), "network-unreachable": (3, 0, 0),
    "host-unreachable": (3, 1, 1), "protocol-unreachable": (3, 2, 2),
    "port-unreachable": (3, 3, 3), "fragmentation-needed": (3, 4, 4),
    "network-prohibited": (3, 9, 9), "host-prohibited": (3, 10, 10),
    "communication-prohibited": (3, 13, 13), "source-quench": (4, 0, 0xFF),
    "redirect": (5, 0, 0xFF), "echo-request": (8, 0, 0xFF), "ping": (8, 0, 0xFF),
    "router-advertisement": (9, 0, 0xFF), "router-solicitation": (10, 0, 0xFF),
    "time-exceeded": (11, 0, 0xFF), "ttl-exceeded": (11, 0, 0xFF),
    "ttl-zero-during-transit": (11, 0, 0), "ttl-zero-during-reassembly": (11, 1, 1),
    "parameter-problem": (12, 0, 0xFF), "timestamp-request": (13, 0, 0xFF),
    "timestamp-reply": (14, 0, 0xFF), "address-mask-request": (17, 0, 0xFF),
    "address-mask-reply": (18, 0, 0xFF),
}


class IcmpMatch(Match):
    """``-m icmp --icmp-type TYPE[/CODE]|NAME`` (ip_tables.c icmp_match; 255 = any)."""

    name = "icmp"
    options = ("--icmp-type",)

    def __init__(self, proto):
        super().__init__(proto)
        self.spec: Tuple[int, int, int] = (0xFF, 0, 0xFF)
        self.invert = False
        self.named_any = False

    def take(self, option, value, invert):
        self.once("type", "--icmp-type")
        self.invert = invert
        if value in ICMP_TYPE_NAMES:
            self.spec = ICMP_TYPE_NAMES[value]
            self.named_any = value == "any"
            return
        t, sep, c = value.partition("/")
        if not t.isdigit() or int(t) > 255 or (sep and (not c.isdigit() or int(c) > 255)):
            raise IptablesError.usage(f"Invalid ICMP type `{value}'")
        code = int(c) if sep else None
        self.spec = (int(t), code if code is not None else 0, code if code is not None else 0xFF)

    def matches(self, view, env):
        if view.icmp_type is None:
            return False
        t, lo, hi = self.spec
        hit = t == 0xFF or (view.icmp_type == t and lo <= view.icmp_code <= hi)
        return hit != self.invert

    def save(self):
        t, lo, hi = self.spec
        text = "any" if t == 0xFF else (str(t) if (lo, hi) == (0, 0xFF) else f"{t}/{lo}")
        return f"{_bang(self.invert)}--icmp-type {text}"

    def listing(self, numeric):
        t, lo, hi = self.spec
        if not numeric:
            for name, spec in ICMP_TYPE_NAMES.items():
                if spec == self.spec:
                    return f"icmp {'!' if self.invert else ''}{name}"
        text = f"icmp{' !' if self.invert else ''}type {t}"
        if (lo, hi) != (0, 0xFF):
            text += f" code {lo}" if lo == hi else f" codes {lo}-{hi}"
        return text


# --------------------------------------------------------------------------- multiport

class MultiportMatch(Match):
    """``-m multiport --sports|--dports|--ports LIST`` (xt_multiport.c, revision 1: up to 15
    ports, a range ``a:b`` counting as two)."""

    name = "multiport"
    options = ("--sports", "--source-ports", "--dports", "--destination-ports", "--ports")

    def __init__(self, proto):
        super().__init__(proto)
        self.kind = ""
        self.ranges: Tuple[Tuple[int, int], ...] = ()
        self.invert = False

    def take(self, option, value, invert):
        if self.kind:
            raise IptablesError.usage("multiport can only have one option")
        if self.proto not in ("tcp", "udp"):
            raise IptablesError.usage("multiport needs `-p tcp', `-p udp', `-p udplite', "
                                      "`-p sctp' or `-p dccp'")
        self.kind = {"--source-ports": "sports", "--destination-ports": "dports"}.get(
            option, option[2:])
        ranges, slots = [], 0
        for part in value.split(","):
            ranges.append(parse_port_range(part, self.proto))
            slots += 1 if ranges[-1][0] == ranges[-1][1] else 2
        if slots > 15:
            raise IptablesError.usage("too many ports specified")
        self.ranges = tuple(ranges)
        self.invert = invert

    def final_check(self, rule_proto):
        if not self.kind:
            raise IptablesError.usage("multiport expects an option")

    def matches(self, view, env):
        if view.sport is None:
            return False
        for lo, hi in self.ranges:
            s = lo <= view.sport <= hi
            d = lo <= view.dport <= hi
            hit = s if self.kind == "sports" else d if self.kind == "dports" else (s or d)
            if hit:
                return not self.invert
        return self.invert

    def _list(self, numeric=True):
        return ",".join(
            _port_name(lo, self.proto, numeric) if lo == hi
            else f"{_port_name(lo, self.proto, numeric)}:{_port_name(hi, self.proto, numeric)}"
            for lo, hi in self.ranges)

    def save(self):
        return f"{_bang(self.invert)}--{self.kind} {self._list()}"

    def listing(self, numeric):
        return f"multiport {self.kind} {' !' if self.invert else ''}{self._list(numeric)}"


# --------------------------------------------------------------------------- conntrack / state

def _parse_states(value: str, label: str) -> Tuple[CtState, ...]:
    states = set()
    for part in value.split(","):
        try:
            st = CtState(part)
        except ValueError:
            raise IptablesError.usage(f'Bad {label} "{part}"') from None
        if st in (CtState.SNAT, CtState.DNAT):
            raise IptablesError(f"simtcp: --{label} {part} is not modelled", 2)
        states.add(st)
    return tuple(s for s in _STATE_ORDER if s in states)


class ConntrackMatch(Match):
    """``-m conntrack --ctstate LIST`` (xt_conntrack.c conntrack_mt_v3)."""

    name = "conntrack"
    options = ("--ctstate",)
    label = "ctstate"

    def __init__(self, proto):
        super().__init__(proto)
        self.states: Tuple[CtState, ...] = ()
        self.invert = False

    def take(self, option, value, invert):
        self.states = _parse_states(value, self.label)
        self.invert = invert

    def final_check(self, rule_proto):
        if not self.states:
            raise IptablesError.usage(f"{self.name}: At least one option is required", True)

    def matches(self, view, env):
        state = view.ctstate if view.ctstate is not None else CtState.INVALID
        return (state in self.states) != self.invert

    def save(self):
        return f"{_bang(self.invert)}--{self.label} {','.join(s.value for s in self.states)}"

    def listing(self, numeric):
        states = ",".join(s.value for s in self.states)
        return f"{'! ' if self.invert else ''}{self.label} {states}"


class StateMatch(ConntrackMatch):
    """``-m state --state LIST`` (xt_state.c; the older spelling of ``--ctstate``)."""

    name = "state"
    options = ("--state",)
    label = "state"


MATCHES: Dict[str, Callable[[Optional[str]], Match]] = {
    m.name: m for m in (TcpMatch, UdpMatch, IcmpMatch, MultiportMatch, ConntrackMatch,
                        StateMatch)}


def _register_stateful() -> None:
    from . import fwstateful     # limit, hashlimit, recent: matches with memory
    for m in (fwstateful.LimitMatch, fwstateful.HashlimitMatch, fwstateful.RecentMatch):
        MATCHES[m.name] = m


_register_stateful()
