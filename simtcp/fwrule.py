"""One iptables rule: parsing its command-line specification, matching, printing.

Theory of operation
-------------------
A rule (``struct ipt_entry``) is an IPv4 header test — source and destination network,
input and output interface, protocol, each optionally inverted with ``!`` — followed by the
match extensions of ``simtcp.fwmatch`` in the order they were loaded, a target from
``simtcp.fwtarget`` (or none: then the rule only counts), and packet/byte counters.

`parse_rule` reads the tokens of a rule specification the way iptables' getopt loop does:
``!`` inverts the next option; ``-m NAME`` loads a match whose options follow; an option no
loaded extension knows loads the protocol's match implicitly (``-p tcp --dport 22`` becomes
``-p tcp -m tcp --dport 22``); long options may be abbreviated to any unambiguous prefix
(getopt_long: ``--to`` is ``--to-destination`` for DNAT). Errors carry the texts iptables
1.8.9 prints.

`Rule.save()` is the ``iptables-save``/``iptables -S`` form (``-s … -d … -i … -o … -p …``
then the matches, then ``-j``/``-g``); `Rule.listing_columns()` feeds ``iptables -L``.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Callable, List, Optional, Sequence, Tuple

from .fwmatch import (MATCHES, PROTO_NAMES, PROTO_NUMBERS, IptablesError, Match, PacketView,
                      int_to_ip, ip_to_int, parse_ipv4)
from .fwtarget import JumpTarget, Target, make_target

__all__ = ["Rule", "parse_rule", "AddrSpec"]

IFNAMSIZ = 16


@dataclass(frozen=True)
class AddrSpec:
    """``-s``/``-d``: network and prefix length; ``invert`` for ``!``."""

    net: int = 0
    plen: int = 0
    invert: bool = False

    @property
    def mask(self) -> int:
        return (0xFFFFFFFF << (32 - self.plen)) & 0xFFFFFFFF if self.plen else 0

    def matches(self, ip: str) -> bool:
        return ((ip_to_int(ip) & self.mask) == self.net) != self.invert

    def save_text(self) -> str:
        return f"{int_to_ip(self.net)}/{self.plen}"

    def list_text(self, numeric: bool) -> str:
        if self.plen == 0:
            text = "0.0.0.0/0" if numeric else "anywhere"
        elif self.plen == 32:
            text = int_to_ip(self.net)
        else:
            text = self.save_text()
        return ("!" if self.invert else "") + text


ANY = AddrSpec()


def parse_addr(text: str, invert: bool) -> AddrSpec:
    """``a.b.c.d``, ``a.b.c.d/len`` or ``a.b.c.d/m.m.m.m`` (xtables_ipparse_any)."""
    if "," in text:
        raise IptablesError("simtcp: several addresses in one -s/-d (iptables expands them "
                            "to one rule each) are not modelled; write one rule per address", 2)
    addr, slash, mask_s = text.partition("/")
    ip = parse_ipv4(addr)
    if ip is None:
        raise IptablesError.usage(f"host/network `{addr}' not found")
    plen = 32
    if slash:
        if mask_s.isdigit():
            plen = int(mask_s)
            if plen > 32:
                raise IptablesError.usage(f"invalid mask `{mask_s}' specified")
        else:
            m = parse_ipv4(mask_s)
            if m is None or (m and (((~m) & 0xFFFFFFFF) + 1) & (~m & 0xFFFFFFFF)):
                raise IptablesError.usage(f"invalid mask `{mask_s}' specified")
            plen = bin(m).count("1")
    spec = AddrSpec(0, plen, invert)
    return AddrSpec(ip & spec.mask, plen, invert)


@dataclass
class Rule:
    """One rule of a chain. ``counters`` = [packets, bytes]."""

    src: AddrSpec = ANY
    dst: AddrSpec = ANY
    in_iface: Optional[Tuple[str, bool]] = None
    out_iface: Optional[Tuple[str, bool]] = None
    proto: int = 0
    proto_inv: bool = False
    matches: List[Match] = field(default_factory=list)
    target: Optional[Target] = None
    counters: List[int] = field(default_factory=lambda: [0, 0])

    # -- evaluation (ipt_do_table: ip_packet_match, then each match in order)
    def ip_matches(self, view: PacketView) -> bool:
        if self.src.plen or self.src.invert:
            if not self.src.matches(view.src):
                return False
        if self.dst.plen or self.dst.invert:
            if not self.dst.matches(view.dst):
                return False
        if self.in_iface is not None and not _iface_matches(self.in_iface, view.in_iface):
            return False
        if self.out_iface is not None and not _iface_matches(self.out_iface, view.out_iface):
            return False
        if self.proto and (view.proto == self.proto) == self.proto_inv:
            return False
        return True

    def prefilter(self) -> Tuple[int, bool, int, int, int, int, bool, bool, tuple]:
        """A cheap necessary condition, for the traversal's fast path: (proto, proto_inv,
        dport_lo, dport_hi, flags_mask, flags_comp, exact, ipcheck, matches). A packet failing the ``-p``
        test, with a destination port outside [lo, hi], or whose TCP flags masked by
        ``flags_mask`` differ from ``flags_comp`` cannot match; ``exact`` means passing the
        prefilter *is* matching (a rule of only ``-p``, a plain ``--dport``/``--tcp-flags``);
        ``ipcheck`` whether the rule tests addresses or interfaces at all."""
        lo, hi = -1, 0xFFFF        # -1: also packets without ports (ICMP)
        fmask = fcomp = 0
        exact = not (self.src.plen or self.src.invert or self.dst.plen or self.dst.invert
                     or self.in_iface or self.out_iface)
        for m in self.matches:
            if m.name in ("tcp", "udp") and m.sport is None:
                if m.dport is not None:
                    if m.dport[2]:
                        exact = False
                    else:
                        lo, hi = m.dport[0], m.dport[1]
                if m.flags is not None:
                    if m.flags[2]:
                        exact = False
                    else:
                        fmask, fcomp = m.flags[0], m.flags[1]
            else:
                exact = False
        ipcheck = bool(self.src.plen or self.src.invert or self.dst.plen or self.dst.invert
                       or self.in_iface or self.out_iface)
        return (self.proto, self.proto_inv, lo, hi, fmask, fcomp, exact, ipcheck,
                tuple(self.matches))

    def matches_packet(self, view: PacketView, env) -> bool:
        if not self.ip_matches(view):
            return False
        for m in self.matches:
            if not m.matches(view, env):
                return False
        return True

    # -- printing
    def save(self, chain: str) -> str:
        """``-A CHAIN …`` as iptables-save prints it."""
        out = [f"-A {chain}"]
        if self.src.plen or self.src.invert:
            out.append(f"{'! ' if self.src.invert else ''}-s {self.src.save_text()}")
        if self.dst.plen or self.dst.invert:
            out.append(f"{'! ' if self.dst.invert else ''}-d {self.dst.save_text()}")
        for flag, spec in (("-i", self.in_iface), ("-o", self.out_iface)):
            if spec is not None:
                out.append(f"{'! ' if spec[1] else ''}{flag} {spec[0]}")
        if self.proto or self.proto_inv:
            out.append(f"{'! ' if self.proto_inv else ''}-p {PROTO_NAMES.get(self.proto, self.proto)}")
        for m in self.matches:
            out.append(f"-m {m.name}")
            text = m.save()
            if text:
                out.append(text)
        if self.target is not None:
            goto = isinstance(self.target, JumpTarget) and self.target.goto
            out.append(f"{'-g' if goto else '-j'} {self.target.name}")
            text = self.target.save()
            if text:
                out.append(text)
        return " ".join(out)

    def target_name(self) -> str:
        return self.target.name if self.target is not None else ""

    def extras(self, numeric: bool) -> str:
        """The free-text tail of an ``iptables -L`` line (matches, then target info)."""
        out = ""
        if isinstance(self.target, JumpTarget) and self.target.goto:
            out += "[goto] "
        for m in self.matches:
            out += " " + m.listing(numeric)
        if self.target is not None:
            text = self.target.listing(numeric)
            if text:
                out += " " + text
        return out

    def equivalent(self, other: "Rule") -> bool:
        """Same specification (what ``-D CHAIN rule-spec`` compares)."""
        return self.save("X") == other.save("X")


def _iface_matches(spec: Tuple[str, bool], name: Optional[str]) -> bool:
    pattern, inv = spec
    if name is None:
        hit = False
    elif pattern.endswith("+"):              # iptables: "eth+" matches any eth*
        hit = name.startswith(pattern[:-1])
    else:
        hit = name == pattern
    return hit != inv


_IP_OPTIONS = {"-p": "-p", "--protocol": "-p", "-s": "-s", "--source": "-s", "--src": "-s",
               "-d": "-d", "--destination": "-d", "--dst": "-d", "-i": "-i",
               "--in-interface": "-i", "-o": "-o", "--out-interface": "-o", "-j": "-j",
               "--jump": "-j", "-g": "-g", "--goto": "-g", "-m": "-m", "--match": "-m",
               "-c": "-c", "--set-counters": "-c"}


def _resolve(option: str, candidates: Sequence[str]) -> Optional[str]:
    """getopt_long: an exact name, or an unambiguous prefix of one."""
    if option in candidates:
        return option
    hits = [c for c in candidates if c.startswith(option) and option.startswith("--")]
    return hits[0] if len(set(hits)) == 1 else None


def parse_rule(tokens: Sequence[str], table: str, chain: str,
               chain_exists: Callable[[str], bool], builtin: bool) -> Rule:
    """A `Rule` from the tokens of a rule specification (after ``-A CHAIN``)."""
    rule = Rule()
    seen: set = set()
    proto_name: Optional[str] = None
    target_name: Optional[str] = None
    goto = False
    i, invert = 0, False

    def value(opt: str) -> str:
        nonlocal i
        if i + 1 >= len(tokens):
            raise IptablesError.usage(f'option "{opt}" requires an argument')
        i += 1
        return tokens[i]

    def once(opt: str) -> None:
        if opt in seen:
            what = {"-j": "-j", "-g": "-j"}.get(opt, opt)
            raise IptablesError.usage(f"multiple {what} flags not allowed")
        seen.add(opt)

    while i < len(tokens):
        tok = tokens[i]
        if tok == "!":
            if invert:
                raise IptablesError.usage("multiple consecutive ! not allowed")
            invert = True
            i += 1
            continue
        opt = _IP_OPTIONS.get(tok)
        if opt is None and tok.startswith("--") and tok not in _all_ext_options(rule):
            opt = _IP_OPTIONS.get(_resolve(tok, [k for k in _IP_OPTIONS if k.startswith("--")])
                                  or "")
        if opt in ("-p", "-s", "-d", "-i", "-o"):
            once(opt)
            text = value(tok)
            if opt == "-p":
                name = text.lower()
                if name in PROTO_NUMBERS:
                    rule.proto = PROTO_NUMBERS[name]
                elif name.isdigit() and int(name) <= 255:
                    rule.proto = int(name)
                else:
                    raise IptablesError.usage(f'unknown protocol "{text}" specified')
                rule.proto_inv = invert
                proto_name = PROTO_NAMES.get(rule.proto)
                if rule.proto == 0 and invert:
                    raise IptablesError.usage("rule would never match protocol")
            elif opt in ("-s", "-d"):
                spec = parse_addr(text, invert)
                if opt == "-s":
                    rule.src = spec
                else:
                    rule.dst = spec
            else:
                if len(text) >= IFNAMSIZ:
                    raise IptablesError.usage(f"interface name `{text}' must be shorter than "
                                              f"IFNAMSIZ ({IFNAMSIZ - 1})")
                if opt == "-i":
                    rule.in_iface = (text, invert)
                else:
                    rule.out_iface = (text, invert)
        elif opt in ("-j", "-g"):
            if invert:
                raise IptablesError.usage(f"cannot have ! before {opt}")
            if "-j" in seen or "-g" in seen:
                raise IptablesError.usage("multiple -j flags not allowed")
            seen.add(opt)
            target_name = value(tok)
            goto = opt == "-g"
            rule.target = None if goto else make_target(target_name)
        elif opt == "-m":
            name = value(tok)
            if name not in MATCHES:
                if name in ("mac", "owner", "string", "time", "iprange", "length", "ttl",
                            "comment", "connlimit", "set", "mark", "addrtype", "tos", "u32"):
                    raise IptablesError(f"simtcp: match `{name}' is not modelled", 2)
                raise IptablesError.usage(f"Couldn't load match `{name}':No such file or "
                                          "directory", True)
            if name in ("tcp", "udp", "icmp") and proto_name != name:
                raise IptablesError.usage(f"Couldn't load match `{name}':No such file or "
                                          "directory", True)
            rule.matches.append(MATCHES[name](proto_name))
        elif opt == "-c":
            p, b = value(tok), value(tok)
            if not p.isdigit() or not b.isdigit():
                raise IptablesError.usage(f"-c packet counter not numeric")
            rule.counters = [int(p), int(b)]
        elif tok.startswith("-") and len(tok) > 1:
            owner, name = _find_option_owner(rule, tok, proto_name)
            if owner is None:
                if tok in ("-f", "--fragment"):
                    raise IptablesError("simtcp: fragments are not modelled (-f)", 2)
                raise IptablesError.usage(f'unknown option "{tok}"')
            if owner.takes_value(name):
                val = value(tok)
                if name == "--tcp-flags":
                    val = val + " " + value(tok)
            else:
                val = None
            owner.take(name, val, invert)
        else:
            raise IptablesError(f"Bad argument `{tok}'\nTry `iptables -h' or 'iptables "
                                "--help' for more information.", 2)
        invert = False
        i += 1
    if invert:
        raise IptablesError.usage("no command specified")

    for flag, spec, banned in (("-i", rule.in_iface, ("OUTPUT", "POSTROUTING")),
                               ("-o", rule.out_iface, ("INPUT", "PREROUTING"))):
        if spec is not None and builtin and chain in banned:
            raise IptablesError.usage(f"Can't use {flag} with {chain}", True)
    if target_name is not None and rule.target is None:
        if not chain_exists(target_name):
            raise IptablesError.usage(f"Chain '{target_name}' does not exist")
        rule.target = JumpTarget(target_name, goto)
    for m in rule.matches:
        m.final_check(proto_name)
    if rule.target is not None:
        rule.target.final_check(rule.proto, rule.proto_inv)
    return rule


def _all_ext_options(rule: Rule) -> set:
    opts = set()
    for m in rule.matches:
        opts.update(m.options)
    if rule.target is not None:
        opts.update(rule.target.options)
    return opts


def _find_option_owner(rule: Rule, tok: str, proto_name: Optional[str]):
    """Which loaded extension takes option ``tok`` (target first, then matches, newest
    first); else the protocol's match, loaded implicitly as iptables does. As getopt_long
    does, an exact option name wins over an abbreviation, and an abbreviation must be
    unambiguous."""
    owners: List = ([rule.target] if rule.target is not None else []) + rule.matches[::-1]
    implicit = None
    if proto_name in ("tcp", "udp", "icmp") and not any(m.name == proto_name
                                                          for m in rule.matches):
        implicit = MATCHES[proto_name](proto_name)
        owners.append(implicit)
    for owner in owners:
        if tok in owner.options:
            found = owner, tok
            break
    else:
        hits = [(o, n) for o in owners for n in o.options
                if tok.startswith("--") and n.startswith(tok)]
        if len({n for _, n in hits}) != 1:
            return None, None
        found = hits[0]
    if found[0] is implicit:
        rule.matches.append(implicit)
    return found
