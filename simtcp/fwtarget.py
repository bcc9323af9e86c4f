"""iptables targets: what a matching rule does with the packet (``-j``).

Theory of operation
-------------------
A target is either a verdict (ACCEPT, DROP, RETURN; a jump or goto to a user chain), a
terminal action that produces something (REJECT answers with an ICMP error or a TCP reset;
DNAT/SNAT/MASQUERADE/REDIRECT set up a translation for the connection and accept), or a
non-terminal side effect (LOG writes a kernel log line and traversal continues with the
next rule — ``XT_CONTINUE`` in ip_tables.c).

Each target class parses its own options with the texts libxt_<NAME>.c uses, prints itself as
``iptables-save`` and ``iptables -L`` do, and says at which hooks the kernel accepts it
(``xt_target.hooks``/``.table``: a rule with a target at a hook it does not support is
refused by the kernel with EINVAL when the rule is committed).

The rule engine (``simtcp.iptables``) turns a terminal target into a `RuleVerdict`; the
network layer acts on it (sends the REJECT reply, applies the NAT mapping).
"""
from __future__ import annotations

import enum
from dataclasses import dataclass
from typing import FrozenSet, Optional, Tuple

from .fwmatch import IptablesError, PacketView, int_to_ip, parse_ipv4

__all__ = ["Target", "StandardTarget", "JumpTarget", "RejectTarget", "LogTarget", "NatTarget",
           "TarpitTarget", "RejectWith", "NatKind", "TARGETS", "format_log_line"]


class RejectWith(enum.Enum):
    """``--reject-with`` types (libipt_REJECT.c reject_table; value = the saved name) with
    the ICMP type/code ipt_REJECT.c sends (RFC 792, RFC 1812 §5.2.7.1 for 3/13)."""

    NET_UNREACHABLE = "icmp-net-unreachable"
    HOST_UNREACHABLE = "icmp-host-unreachable"
    PORT_UNREACHABLE = "icmp-port-unreachable"
    PROTO_UNREACHABLE = "icmp-proto-unreachable"
    NET_PROHIBITED = "icmp-net-prohibited"
    HOST_PROHIBITED = "icmp-host-prohibited"
    ADMIN_PROHIBITED = "icmp-admin-prohibited"
    TCP_RESET = "tcp-reset"

    @property
    def icmp(self) -> Optional[Tuple[int, int]]:
        """(type, code) of the ICMP error, None for tcp-reset."""
        return _REJECT_ICMP.get(self)


_REJECT_ICMP = {RejectWith.NET_UNREACHABLE: (3, 0), RejectWith.HOST_UNREACHABLE: (3, 1),
                RejectWith.PORT_UNREACHABLE: (3, 3), RejectWith.PROTO_UNREACHABLE: (3, 2),
                RejectWith.NET_PROHIBITED: (3, 9), RejectWith.HOST_PROHIBITED: (3, 10),
                RejectWith.ADMIN_PROHIBITED: (3, 13)}
_REJECT_ALIASES = {"tcp-rst": RejectWith.TCP_RESET}


class NatKind(enum.Enum):
    DNAT = "DNAT"
    SNAT = "SNAT"
    MASQUERADE = "MASQUERADE"
    REDIRECT = "REDIRECT"


FILTER_HOOKS = frozenset({"INPUT", "FORWARD", "OUTPUT"})


class Target:
    """Base: ``name`` as printed; ``table``/``hooks`` where the kernel accepts it
    (None = anywhere)."""

    name = ""
    table: Optional[str] = None
    hooks: Optional[FrozenSet[str]] = None
    options: Tuple[str, ...] = ()
    terminal = True

    def takes_value(self, option: str) -> bool:
        return True

    def take(self, option: str, value: Optional[str], invert: bool) -> None:
        raise IptablesError.usage(f'unknown option "{option}"')

    def final_check(self, proto: Optional[str], proto_inv: bool) -> None:
        pass

    def check_proto(self, proto, proto_inv) -> bool:
        """False when the kernel's checkentry would refuse this target for the rule's -p."""
        return True

    def save(self) -> str:
        return ""

    def listing(self, numeric: bool) -> str:
        return ""


class StandardTarget(Target):
    """ACCEPT, DROP, RETURN (the standard target's verdicts)."""

    def __init__(self, name: str) -> None:
        self.name = name
        self.terminal = name != "RETURN"


class JumpTarget(Target):
    """``-j CHAIN`` (call: RETURN comes back here) or ``-g CHAIN`` (goto: RETURN from CHAIN
    returns to whoever called this chain) — ipt_do_table's jump stack."""

    terminal = False

    def __init__(self, chain: str, goto: bool) -> None:
        self.name = chain
        self.goto = goto


class RejectTarget(Target):
    """``-j REJECT [--reject-with TYPE]`` (ipt_REJECT.c): default icmp-port-unreachable;
    tcp-reset only for ``-p tcp`` (reject_tg_check)."""

    name = "REJECT"
    table = "filter"
    hooks = FILTER_HOOKS
    options = ("--reject-with",)

    def __init__(self) -> None:
        self.with_ = RejectWith.PORT_UNREACHABLE

    def take(self, option, value, invert):
        try:
            self.with_ = _REJECT_ALIASES.get(value) or RejectWith(value)
        except ValueError:
            raise IptablesError.usage(f'unknown reject type "{value}"') from None

    def check_proto(self, proto, proto_inv):
        return self.with_ is not RejectWith.TCP_RESET or (proto == 6 and not proto_inv)

    def save(self):
        return f"--reject-with {self.with_.value}"

    def listing(self, numeric):
        return f"reject-with {self.with_.value}"


class TarpitTarget(Target):
    """``-j TARPIT [--tarpit]`` (xtables-addons extensions/xt_TARPIT.c, libxt_TARPIT.c):
    "capture and hold incoming TCP connections using no local per-connection resources".
    The kernel module answers from the rule itself — no socket, no state — and drops the
    packet; ``xttarpit_tarpit()`` says what it answers (seq = the packet's ACK or 0):

    - SYN (no ACK) → SYN-ACK with window 5 ("our SYN-ACKs must have a >0 window"), ack =
      seq + 1: every tarpitted port looks open;
    - any other segment with ACK and no FIN/RST → ACK with window 0, ack = seq: data is
      never acknowledged, so the peer retransmits into a zero window until it gives up;
    - SYN-ACK → RST (anti-spoofing); RST, FIN, or neither SYN nor ACK → nothing.

    Only for ``-p tcp`` at INPUT and FORWARD (xt_target .proto/.hooks). The honeypot and
    reset variants (``--honeypot``, ``--reset``) are not modelled."""

    name = "TARPIT"
    table = "filter"
    hooks = frozenset({"INPUT", "FORWARD"})
    options = ("--tarpit", "--honeypot", "--reset")

    def takes_value(self, option):
        return False

    def take(self, option, value, invert):
        if option != "--tarpit":
            raise IptablesError(f"simtcp: TARPIT {option} is not modelled (only the default "
                                "--tarpit variant is)", 2)

    def check_proto(self, proto, proto_inv):
        return proto == 6 and not proto_inv

    def save(self):
        return "--tarpit"

    def listing(self, numeric):
        return "-j TARPIT --tarpit"              # tarpit_tg_print()


LOG_LEVELS = {"emerg": 0, "panic": 0, "alert": 1, "crit": 2, "err": 3, "error": 3,
              "warning": 4, "warn": 4, "notice": 5, "info": 6, "debug": 7}


class LogTarget(Target):
    """``-j LOG [--log-prefix TEXT] [--log-level N]`` (xt_LOG.c → nf_log_syslog.c): a kernel
    log line per packet; not terminal."""

    name = "LOG"
    options = ("--log-prefix", "--log-level")
    terminal = False

    def __init__(self) -> None:
        self.prefix = ""
        self.level = 4

    def take(self, option, value, invert):
        if option == "--log-prefix":
            if len(value) > 127:          # NFT_LOG_PREFIX_SIZE - 1 (nf_tables backend)
                raise IptablesError.usage("Maximum prefix length 127 for --log-prefix")
            self.prefix = value
        elif value.isdigit() and int(value) <= 7:
            self.level = int(value)
        elif value in LOG_LEVELS:
            self.level = LOG_LEVELS[value]
        else:
            raise IptablesError.usage(f"log-level `{value}' unknown")

    def save(self):
        out = []
        if self.prefix:
            out.append(f'--log-prefix "{self.prefix}"')
        if self.level != 4:
            out.append(f"--log-level {self.level}")
        return " ".join(out)

    def listing(self, numeric):
        # iptables-nft: numeric "LOG flags 0 level 4", names "LOG level warn" (nft's names)
        text = (f"LOG flags 0 level {self.level}" if numeric
                else f"LOG level {_NFT_LEVEL_NAMES[self.level]}")
        return text + (f' prefix "{self.prefix}"' if self.prefix else "")


_NFT_LEVEL_NAMES = ("emerg", "alert", "crit", "err", "warn", "notice", "info", "debug")


def format_log_line(prefix: str, view: PacketView) -> str:
    """The packet as nf_log_syslog.c dump_ipv4_packet() writes it (without the MAC= field:
    the simulated links have no link-layer addresses). Every field ends with a space, as in
    the kernel's line."""
    parts = [f"{prefix}IN={view.in_iface or ''} OUT={view.out_iface or ''} ",
             f"SRC={view.src} DST={view.dst} LEN={view.length} TOS=0x{view.tos & 0x1E:02X} "
             f"PREC=0x{view.tos & 0xE0:02X} TTL={view.ttl} ID={view.ident} "]
    if view.df:
        parts.append("DF ")
    if view.proto == 6:
        parts.append(f"PROTO=TCP SPT={view.sport} DPT={view.dport} WINDOW={view.window} "
                     "RES=0x00 ")
        for name, bit in (("CWR", 0x80), ("ECE", 0x40), ("URG", 0x20), ("ACK", 0x10),
                          ("PSH", 0x08), ("RST", 0x04), ("SYN", 0x02), ("FIN", 0x01)):
            if view.tcp_flags & bit:
                parts.append(name + " ")
        parts.append(f"URGP={view.urgp} ")
    elif view.proto == 17:
        parts.append(f"PROTO=UDP SPT={view.sport} DPT={view.dport} "
                     f"LEN={max(0, view.length - 20)} ")
    elif view.proto == 1:
        parts.append(f"PROTO=ICMP TYPE={view.icmp_type} CODE={view.icmp_code} ")
    else:
        parts.append(f"PROTO={view.proto} ")
    return "".join(parts)


@dataclass(frozen=True)
class NatRange:
    """``[ip[-ip]][:port[-port]]`` of --to-destination/--to-source/--to-ports."""

    ip_lo: Optional[int] = None
    ip_hi: Optional[int] = None
    port_lo: Optional[int] = None
    port_hi: Optional[int] = None

    def text(self) -> str:
        out = ""
        if self.ip_lo is not None:
            out = int_to_ip(self.ip_lo)
            if self.ip_hi != self.ip_lo:
                out += "-" + int_to_ip(self.ip_hi)
        if self.port_lo is not None:
            out += ":" + _prange(self.port_lo, self.port_hi)
        return out


def _prange(lo: int, hi: int) -> str:
    return str(lo) if lo == hi else f"{lo}-{hi}"


def _parse_ports(text: str, full: str) -> Tuple[int, int]:
    lo_s, dash, hi_s = text.partition("-")
    if not lo_s.isdigit() or (dash and not hi_s.isdigit()):
        raise IptablesError.usage(f"Port `{text}' not valid")
    lo, hi = int(lo_s), int(hi_s) if dash else int(lo_s)
    if not 0 < lo <= 0xFFFF or not 0 < hi <= 0xFFFF:
        raise IptablesError.usage(f"Port `{text}' not valid")
    if hi < lo:
        raise IptablesError.usage(f"Invalid port:port syntax - use dash")
    return lo, hi


def _parse_nat_range(text: str) -> NatRange:
    addr, colon, ports = text.partition(":")
    ip_lo = ip_hi = None
    if addr:
        lo_s, dash, hi_s = addr.partition("-")
        ip_lo = parse_ipv4(lo_s)
        ip_hi = parse_ipv4(hi_s) if dash else ip_lo
        if ip_lo is None or ip_hi is None:
            raise IptablesError.usage(f"Bad IP address \"{lo_s if ip_lo is None else hi_s}\"")
        if ip_hi < ip_lo:
            raise IptablesError.usage(f"Bad IP range \"{addr}\"")
    plo = phi = None
    if colon:
        plo, phi = _parse_ports(ports, text)
    if ip_lo is None and plo is None:
        raise IptablesError.usage(f"Bad IP address \"{text}\"")
    return NatRange(ip_lo, ip_hi, plo, phi)


class NatTarget(Target):
    """DNAT/SNAT (``--to-destination``/``--to-source``), MASQUERADE and REDIRECT
    (``--to-ports``), each with ``--random`` (random port/source choice, NF_NAT_RANGE_
    PROTO_RANDOM) and SNAT/MASQUERADE ``--random-fully`` (NF_NAT_RANGE_PROTO_RANDOM_FULLY:
    random even when the original port is free). Hooks as in xt_nat.c / xt_MASQUERADE.c /
    xt_REDIRECT.c."""

    table = "nat"
    terminal = True

    _HOOKS = {NatKind.DNAT: frozenset({"PREROUTING", "OUTPUT"}),
              NatKind.SNAT: frozenset({"POSTROUTING", "INPUT"}),
              NatKind.MASQUERADE: frozenset({"POSTROUTING"}),
              NatKind.REDIRECT: frozenset({"PREROUTING", "OUTPUT"})}
    _TO = {NatKind.DNAT: "--to-destination", NatKind.SNAT: "--to-source",
           NatKind.MASQUERADE: "--to-ports", NatKind.REDIRECT: "--to-ports"}

    def __init__(self, kind: NatKind) -> None:
        self.kind = kind
        self.name = kind.value
        self.hooks = self._HOOKS[kind]
        self.options = (self._TO[kind], "--random") + (
            ("--random-fully",) if kind in (NatKind.SNAT, NatKind.MASQUERADE) else ())
        self.range: Optional[NatRange] = None
        self.random = False
        self.random_fully = False

    def takes_value(self, option):
        return option.startswith("--to")

    def take(self, option, value, invert):
        if option == "--random":
            self.random = True
        elif option == "--random-fully":
            self.random_fully = True
        elif self.kind in (NatKind.MASQUERADE, NatKind.REDIRECT):
            lo, hi = _parse_ports(value, value)
            self.range = NatRange(port_lo=lo, port_hi=hi)
        else:
            if self.range is not None:
                raise IptablesError.usage(f"{self.name}: Multiple --to-{'destination' if self.kind is NatKind.DNAT else 'source'} not supported")
            self.range = _parse_nat_range(value)

    def final_check(self, proto, proto_inv):
        if self.kind in (NatKind.DNAT, NatKind.SNAT) and self.range is None:
            raise IptablesError.usage(f'{self.name}: option "{self._TO[self.kind]}" must '
                                      "be specified", True)
        if self.range is not None and self.range.port_lo is not None \
                and (proto not in (6, 17) or proto_inv):
            raise IptablesError.usage("Need TCP, UDP, SCTP or DCCP with port specification")

    def _flags(self):
        return (["--random"] if self.random else []) + (
            ["--random-fully"] if self.random_fully else [])

    def save(self):
        out = []
        if self.range is not None:
            text = self.range.text()
            if self.kind in (NatKind.MASQUERADE, NatKind.REDIRECT):
                text = text.lstrip(":")
            out.append(f"{self._TO[self.kind]} {text}")
        return " ".join(out + self._flags())

    def listing(self, numeric):
        out = []
        if self.range is not None:
            text = self.range.text()
            if self.kind is NatKind.MASQUERADE:
                out.append(f"masq ports: {text.lstrip(':')}")
            elif self.kind is NatKind.REDIRECT:
                out.append(f"redir ports {text.lstrip(':')}")
            else:
                out.append(f"to:{text}")
        return " ".join(out + [f.lstrip("-") for f in self._flags()])


def make_target(name: str) -> Optional[Target]:
    """A built-in target by name, or None (then ``name`` must be a chain)."""
    if name in ("ACCEPT", "DROP", "RETURN"):
        return StandardTarget(name)
    if name == "REJECT":
        return RejectTarget()
    if name == "LOG":
        return LogTarget()
    if name == "TARPIT":
        return TarpitTarget()
    if name in NatKind.__members__:
        return NatTarget(NatKind(name))
    return None


TARGETS = ("ACCEPT", "DROP", "RETURN", "REJECT", "LOG", "DNAT", "SNAT", "MASQUERADE",
           "REDIRECT", "TARPIT")
