"""The data of an iptables ruleset: tables, their chains, and the rules in each chain.

Theory of operation: a `Table` (``filter`` or ``nat``) maps chain names to `Chain`s; the
built-in chains of each table are the hooks it is attached to (BUILTIN_CHAINS) and carry a
policy with its own counters; user chains have none. A chain compiles its rules once into
prefilter tuples (`Rule.prefilter`) and memoises, per (protocol, destination port, TCP
flags), which rules a packet could match at all — a pure speed-up the traversal in
`simtcp.iptables` uses; any change to the rules throws both away.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .fwrule import Rule

__all__ = ["BUILTIN_CHAINS", "NOT_MODELLED_TABLES", "NO_CHAIN", "Chain", "Table"]

BUILTIN_CHAINS = {"filter": ("INPUT", "FORWARD", "OUTPUT"),
                  "nat": ("PREROUTING", "INPUT", "OUTPUT", "POSTROUTING")}
NOT_MODELLED_TABLES = ("mangle", "raw", "security")
NO_CHAIN = "No chain/target/match by that name."


@dataclass
class Chain:
    name: str
    builtin: bool
    policy: Optional[str] = None            # ACCEPT/DROP for built-in chains
    policy_counters: List[int] = field(default_factory=lambda: [0, 0])
    rules: List[Rule] = field(default_factory=list)
    compiled: Optional[list] = None          # [(rule, prefilter...)], rebuilt after changes

    candidates_memo: Optional[dict] = None

    def fast(self) -> list:
        """The rules with their prefilters (`Rule.prefilter`), built on first use."""
        if self.compiled is None:
            self.compiled = [(r, *r.prefilter()) for r in self.rules]
            self.candidates_memo = {}
        return self.compiled

    def candidates(self, proto: int, dport: int, flags: int) -> Tuple[int, ...]:
        """Indices of the rules a packet of this protocol, destination port and TCP flags
        can match (their prefilter passes), in order — memoised, bounded. Only a speed-up:
        the other rules would fail their first tests anyway."""
        rules = self.fast()
        memo = self.candidates_memo
        key = (proto, dport, flags)
        got = memo.get(key)
        if got is None:
            if len(memo) >= 4096:
                memo.clear()
            got = memo[key] = tuple(
                i for i, (_r, p, pinv, lo, hi, fm, fc, _x, _ip, _m) in enumerate(rules)
                if not ((p and (proto == p) == pinv) or not lo <= dport <= hi
                        or (flags & fm) != fc))
        return got


@dataclass
class Table:
    name: str
    chains: Dict[str, Chain] = field(default_factory=dict)
    touched: bool = False                  # iptables-save prints tables that were changed

    @classmethod
    def fresh(cls, name: str) -> "Table":
        t = cls(name)
        for c in BUILTIN_CHAINS[name]:
            t.chains[c] = Chain(c, True, "ACCEPT")
        return t
