"""The iptables rule set of one node: tables, chains, the commands, and rule traversal.

Theory of operation
-------------------
`Netfilter` holds the ``filter`` table (chains INPUT, FORWARD, OUTPUT) and the ``nat`` table
(PREROUTING, INPUT, OUTPUT, POSTROUTING) of one host or router, plus the state that rules
share across the node (``-m recent`` lists, ``-m hashlimit`` tables) and the kernel log that
``-j LOG`` writes to.

The tables and chains are `simtcp.fwtables`; the commands (`Netfilter.iptables`,
`Netfilter.restore`: the real command lines, a refused one leaving no trace) are
`simtcp.fwcommands`; the listings (``-L``, ``-S``, iptables-save) are `simtcp.fwlist`.

`Netfilter.traverse(table, hook, view, now)` is ``ipt_do_table()`` (net/ipv4/netfilter/
ip_tables.c): rules in order, counters on every match, the first terminal target decides;
``-j CHAIN`` pushes a return point, ``-g CHAIN`` does not, RETURN (or running off the end of
a user chain) pops, and running off the end of a built-in chain — or RETURN from it — applies
the chain's policy. LOG writes a line and goes on. The result is a `RuleVerdict` naming the
rule (or policy) that decided, and, when asked, every rule the packet was tested against —
the "which rule did this packet hit" walk.
"""
from __future__ import annotations

import bisect
import enum
from dataclasses import dataclass, field
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

from .fwcommands import RulesetCommands
from .fwlist import RulesetViews
from .fwmatch import IptablesError, PacketView
from .fwstateful import RecentList
from .fwtables import BUILTIN_CHAINS, Chain, Table
from .fwtarget import (JumpTarget, LogTarget, RejectTarget, StandardTarget, Target,
                       TarpitTarget, format_log_line)

__all__ = ["Netfilter", "RuleVerdict", "Verdict", "WalkStep", "Chain", "Table",
           "IptablesError", "BUILTIN_CHAINS", "KernelLogLine"]



class Verdict(enum.Enum):
    """What the traversal of one hook's chain decided."""

    ACCEPT = "ACCEPT"
    DROP = "DROP"
    REJECT = "REJECT"
    NAT = "NAT"          # a DNAT/SNAT/MASQUERADE/REDIRECT target: translate, then accept
    TARPIT = "TARPIT"    # xt_TARPIT: answer from the rule, drop the packet


class WalkStep(NamedTuple):
    """One rule the packet was tested against: chain, 1-based rule number, whether it
    matched, and the rule's target name ("" when none)."""

    chain: str
    rulenum: int
    matched: bool
    target: str


class RuleVerdict(NamedTuple):
    """The outcome of one traversal. ``rulenum`` is None when the chain policy decided;
    ``target`` is the deciding rule's target (for REJECT and NAT its options); ``hotdrop``
    marks a drop forced by a match (hashlimit table full)."""

    verdict: Verdict
    table: str
    chain: str
    rulenum: Optional[int]
    target: Optional[Target] = None
    walk: Tuple[WalkStep, ...] = ()
    hotdrop: bool = False

    @property
    def by_policy(self) -> bool:
        return self.rulenum is None and not self.hotdrop


@dataclass(frozen=True)
class KernelLogLine:
    """One kernel log line (what ``dmesg`` shows): virtual time, syslog level, text. A line
    written by ``-j LOG`` also keeps, typed, the packet it describes (``view``) and the rule's
    ``--log-prefix``, so a log reader (`simtcp.scandetect`) never parses the text back."""

    time: float
    level: int
    text: str
    prefix: str = field(default="", compare=False)
    view: Optional[PacketView] = field(default=None, compare=False)

    def __str__(self) -> str:
        secs = int(self.time)
        return f"[{secs:5d}.{int(round((self.time - secs) * 1e6)):06d}] {self.text}"


class Netfilter(RulesetCommands, RulesetViews):
    """The iptables state of one node (see the module docstring)."""

    def __init__(self) -> None:
        self.tables: Dict[str, Table] = {name: Table.fresh(name) for name in BUILTIN_CHAINS}
        self.recent_lists: Dict[str, RecentList] = {}
        self.hashlimit_tables: Dict[str, object] = {}
        self.kernel_log: List[KernelLogLine] = []
        self.log_readers: List[Callable[[KernelLogLine], None]] = []   # called per new line
        self.now = 0.0
        self._hotdrop = False

    # ------------------------------------------------------------------ shared state (env)
    def recent_list(self, name: str) -> RecentList:
        return self.recent_lists.setdefault(name, RecentList(name))

    def hashlimit_table(self, name: str, factory: Callable[[], object]):
        if name not in self.hashlimit_tables:
            self.hashlimit_tables[name] = factory()
        return self.hashlimit_tables[name]

    def hotdrop(self) -> None:
        self._hotdrop = True

    def log_kernel(self, now: float, level: int, text: str) -> None:
        """Append a line to the kernel log (LOG target, conntrack warnings)."""
        self._log(KernelLogLine(now, level, text))

    def _log(self, line: KernelLogLine) -> None:
        self.kernel_log.append(line)
        for reader in self.log_readers:          # like a syslog reader tailing kern.log
            reader(line)

    def dmesg(self) -> str:
        """The kernel log as ``dmesg`` prints it."""
        return "\n".join(str(line) for line in self.kernel_log)

    # ------------------------------------------------------------------ traversal
    def traverse(self, table: str, hook: str, view: PacketView, now: float,
                 record: bool = False) -> RuleVerdict:
        """Run ``view`` through ``table``'s built-in chain ``hook`` (ipt_do_table)."""
        t = self.tables[table]
        self.now = now
        self._hotdrop = False
        chain = t.chains[hook]
        stack: List[Tuple[Chain, int]] = []
        walk: List[WalkStep] = []
        idx = 0
        length = view.length
        vproto = view.proto
        vdport = view.dport if view.dport is not None else -1
        vflags = view.tcp_flags
        while True:
            rules = chain.fast()
            returned = False
            if record:                       # the walk lists every rule tested
                cand, pos, end = None, idx, len(rules)
            else:
                cand = chain.candidates(vproto, vdport, vflags)
                pos, end = bisect.bisect_left(cand, idx) if idx else 0, len(cand)
            while pos < end:
                i = cand[pos] if cand is not None else pos
                pos += 1
                idx = i + 1
                rule, proto, proto_inv, lo, hi, fmask, fcomp, exact, ipcheck, matches = rules[i]
                # the protocol, destination-port and TCP-flag tests first (a rule failing
                # them cannot match whatever else it says)
                if (proto and (vproto == proto) == proto_inv) or not lo <= vdport <= hi \
                        or (vflags & fmask) != fcomp:
                    hit = False
                elif exact:
                    hit = True
                else:                        # ip_packet_match, then each match in order
                    hit = not ipcheck or rule.ip_matches(view)
                    if hit:
                        for m in matches:
                            if not m.matches(view, self):
                                hit = False
                                break
                if record:
                    walk.append(WalkStep(chain.name, idx, hit, rule.target_name()))
                if self._hotdrop:
                    return RuleVerdict(Verdict.DROP, table, chain.name, idx, None,
                                       tuple(walk), True)
                if not hit:
                    continue
                rule.counters[0] += 1
                rule.counters[1] += length
                target = rule.target
                if target is None:
                    continue
                if type(target) is JumpTarget:
                    if not target.goto:
                        stack.append((chain, idx))
                    chain, idx = t.chains[target.name], 0
                    break
                if type(target) is LogTarget:
                    self._log(KernelLogLine(now, target.level,
                                            format_log_line(target.prefix, view),
                                            target.prefix, view))
                    continue
                if type(target) is StandardTarget:
                    if target.name == "RETURN":
                        returned = True
                        break
                    verdict = Verdict.ACCEPT if target.name == "ACCEPT" else Verdict.DROP
                elif type(target) is RejectTarget:
                    verdict = Verdict.REJECT
                elif type(target) is TarpitTarget:
                    verdict = Verdict.TARPIT
                else:
                    verdict = Verdict.NAT
                return RuleVerdict(verdict, table, chain.name, idx, target, tuple(walk))
            else:
                returned = True
            if not returned:
                continue                      # jumped: go on in the new chain
            if chain.builtin or not stack:
                base = t.chains[hook]
                base.policy_counters[0] += 1
                base.policy_counters[1] += length
                return RuleVerdict(Verdict(base.policy), table, hook, None, None, tuple(walk))
            chain, idx = stack.pop()
