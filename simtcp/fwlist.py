"""What ``iptables -L``, ``iptables -S`` and ``iptables-save`` print, in iptables' layouts.

Theory of operation
-------------------
The layouts are those of iptables 1.8.9 (print_header/print_rule_details of iptables/
xshared.c, nft-shared.c; ``xtables_print_num`` for the K/M/G/T counters), checked byte for
byte against the real tool in a network namespace (tests/test_iptables_oracle.py). The rule
text itself comes from `simtcp.fwrule.Rule.save` and the extensions' ``listing()``; this
module only lays out chains, columns and counters. `RulesetViews` is mixed into
`simtcp.iptables.Netfilter`, which owns the tables.
"""
from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import TYPE_CHECKING, List, Optional

from .fwmatch import IPT_VERSION, PROTO_NAMES, IptablesError
from .fwrule import Rule
from .fwtables import NO_CHAIN
from .logstamp import EPOCH          # virtual time 0, the date nmap's and syslog's lines show
from .fwtarget import JumpTarget

if TYPE_CHECKING:
    from .fwtables import Chain, Table

__all__ = ["RulesetViews"]



class RulesetViews:
    """``-L``/``-S``/save for a class with ``tables`` (name → Table) and ``now``."""

    def _chains(self, table: Table, names: List[str]) -> List[Chain]:
        if not names:
            return list(table.chains.values())
        chain = table.chains.get(names[0])
        if chain is None:
            raise IptablesError("iptables: " + NO_CHAIN, 1)
        return [chain]

    @staticmethod
    def _references(table: Table, name: str) -> int:
        return sum(1 for c in table.chains.values() for r in c.rules
                   if isinstance(r.target, JumpTarget) and r.target.name == name)

    # ------------------------------------------------------------------ listing
    def list_rules(self, table_name: str, chain_name: Optional[str] = None,
                   rulenum: Optional[str] = None, counters: bool = False) -> str:
        """``iptables -S [CHAIN [N]]``."""
        table = self.tables[table_name]
        chains = self._chains(table, [chain_name] if chain_name else [])
        lines: List[str] = []
        if rulenum is not None:
            r = chains[0].rules[int(rulenum) - 1] if rulenum.isdigit() and \
                0 < int(rulenum) <= len(chains[0].rules) else None
            if r is None:
                raise IptablesError("iptables: Index of deletion too big.", 1)
            return _with_counters(r, chains[0].name, counters) + "\n"
        for c in chains:
            if c.builtin:
                pc = f" -c {c.policy_counters[0]} {c.policy_counters[1]}" if counters else ""
                lines.append(f"-P {c.name} {c.policy}{pc}")
            else:
                lines.append(f"-N {c.name}")
        for c in chains:
            lines += [_with_counters(r, c.name, counters) for r in c.rules]
        return "\n".join(lines) + "\n"

    def list_table(self, table_name: str, chain_name: Optional[str] = None,
                   rulenum: Optional[str] = None, numeric: bool = False,
                   verbose: bool = False, exact: bool = False,
                   line_numbers: bool = False) -> str:
        """``iptables -L [CHAIN [N]] [-n] [-v] [-x] [--line-numbers]`` in iptables' layout
        (print_header/print_firewall of iptables/xshared.c and nft-shared.c)."""
        table = self.tables[table_name]
        if chain_name is not None and chain_name not in table.chains:
            raise IptablesError(f"{IPT_VERSION}: chain `{chain_name}' in table "
                                f"`{table_name}' is incompatible, use 'nft' tool.", 1)
        chains = self._chains(table, [chain_name] if chain_name else [])
        fmt = _Fmt(numeric, verbose, exact, line_numbers)
        if rulenum is not None:
            k = int(rulenum) if rulenum.isdigit() else 0
            rules = chains[0].rules
            return "" if not 0 < k <= len(rules) else \
                _rule_line(rules[k - 1], None, fmt) + "\n"
        blocks = []
        for c in chains:
            if c.builtin:
                head = f"Chain {c.name} (policy {c.policy}"
                if verbose:
                    head += (f" {_num(c.policy_counters[0], exact, True)}packets, "
                             f"{_num(c.policy_counters[1], exact, True)}bytes")
                head += ")"
            else:
                head = f"Chain {c.name} ({self._references(table, c.name)} references)"
            lines = [head, _header(fmt)]
            lines += [_rule_line(r, n, fmt) for n, r in enumerate(c.rules, 1)]
            blocks.append("\n".join(lines) + "\n")
        return "\n".join(blocks)

    # ------------------------------------------------------------------ save / restore
    def save(self, counters: bool = False, table: Optional[str] = None) -> str:
        """``iptables-save [-c] [-t TABLE]`` (the date is the virtual time since the epoch)."""
        d = EPOCH + datetime.timedelta(seconds=int(self.now))
        stamp = f"{d.strftime('%a %b')} {d.day:2d} {d.strftime('%H:%M:%S %Y')}"  # ctime()
        out: List[str] = []
        for t in self.tables.values():
            if (table is not None and t.name != table) or (table is None and not t.touched):
                continue
            out.append(f"# Generated by iptables-save v1.8.9 (nf_tables) on {stamp}")
            out.append(f"*{t.name}")
            for c in t.chains.values():
                pol = c.policy if c.builtin else "-"
                pc = c.policy_counters if c.builtin and counters else [0, 0]
                out.append(f":{c.name} {pol} [{pc[0]}:{pc[1]}]")
            for c in t.chains.values():
                for r in c.rules:
                    prefix = f"[{r.counters[0]}:{r.counters[1]}] " if counters else ""
                    out.append(prefix + r.save(c.name))
            out.append("COMMIT")
            out.append(f"# Completed on {stamp}")
        return "\n".join(out) + ("\n" if out else "")


def _with_counters(r: Rule, chain: str, counters: bool) -> str:
    text = r.save(chain)
    return text + (f" -c {r.counters[0]} {r.counters[1]}" if counters else "")


@dataclass(frozen=True)
class _Fmt:
    numeric: bool
    verbose: bool
    exact: bool
    line_numbers: bool


def _num(n: int, exact: bool, notable: bool = False) -> str:
    """xtables_print_num: ``%5llu`` below 100000, else K/M/G/T (rounded), ``-x`` exact."""
    if exact:
        return f"{n} " if notable else f"{n:8d} "
    if n <= 99999:
        return f"{n} " if notable else f"{n:5d} "
    for suffix in "KMGT":
        n = (n + 500) // 1000
        if n <= 9999 or suffix == "T":
            return f"{n}{suffix} " if notable else f"{n:4d}{suffix} "
    raise AssertionError("unreachable")


def _header(fmt: _Fmt) -> str:
    out = ""
    if fmt.line_numbers:
        out += f"{'num':<4} "
    if fmt.verbose:
        out += f"{'pkts':>8} {'bytes':>10} " if fmt.exact else f"{'pkts':>5} {'bytes':>5} "
    out += f"{'target':<9}  prot opt"
    if fmt.verbose:
        out += f" {'in':<6} {'out':<6} "
    out += f" {'source':<19}  {'destination':<19} "
    return out


def _rule_line(r: Rule, n: Optional[int], fmt: _Fmt) -> str:
    out = f"{n:<4} " if (n is not None and fmt.line_numbers) else ""
    if fmt.verbose:
        out += _num(r.counters[0], fmt.exact) + _num(r.counters[1], fmt.exact)
    out += f"{r.target_name():<9} "
    out += "!" if r.proto_inv else " "
    proto = str(r.proto) if fmt.numeric else PROTO_NAMES.get(r.proto, str(r.proto))
    out += f"{proto:<4} -- "
    if fmt.verbose:
        for lead, spec in ((" ", r.in_iface), ("", r.out_iface)):
            if spec is None:
                name = "*" if fmt.numeric else "any"
            else:
                name = ("!" if spec[1] else "") + spec[0]
            out += f"{lead}{name:<6} "
    src = r.src.list_text(fmt.numeric)
    dst = r.dst.list_text(fmt.numeric)
    out += f"{'' if r.src.invert else ' '}{src:<{20 if r.src.invert else 19}} "
    out += f"{'' if r.dst.invert else ' '}{dst:<{20 if r.dst.invert else 19}} "
    return out + r.extras(fmt.numeric)
