"""The iptables commands of one node: the command line, each change, and iptables-restore.

Theory of operation: `RulesetCommands.iptables` parses a real iptables command line (``-A/
-I/-D/-R/-C/-F/-X/-N/-E/-P/-L/-S/-Z`` with ``-t``, ``-n -v -x --line-numbers``). Listing
goes to `simtcp.fwlist`; every change is made on a deep copy of the table and validated as
the kernel validates a ruleset it is given (xt_check_target: a target only in its table and
at hooks it supports; no loop of jumps reachable from a built-in chain: ELOOP) before the
copy replaces the live table, so a refused command leaves no trace. `restore` is
``iptables-restore [-n] [-c]``: all tables of the input are staged and replace the live ones
only when every COMMIT succeeded — one transaction. Texts and exit statuses are those of
iptables 1.8.9 (nf_tables), checked in a network namespace by tests/test_iptables_oracle.py.
"""
from __future__ import annotations

import copy
import shlex
from typing import Dict, List, Optional, Sequence, Union

from .fwmatch import IPT_VERSION, TRY_HELP, IptablesError
from .fwrule import Rule, parse_rule
from .fwtables import BUILTIN_CHAINS, NO_CHAIN, NOT_MODELLED_TABLES, Chain, Table
from .fwtarget import TARGETS, JumpTarget, StandardTarget

__all__ = ["RulesetCommands"]


def _usage(text: str, blank: bool = False) -> IptablesError:
    return IptablesError.usage(text, blank)


def _bad_argument(token: str) -> IptablesError:
    """A word no command takes: getopt_long's "unknown option" for something that looks
    like an option (iptables 1.8.9 xtables_error), else "Bad argument"."""
    if token.startswith("-") and token != "-":
        return _usage(f'unknown option "{token}"')
    return IptablesError(f"Bad argument `{token}'\n{TRY_HELP}", 2)


def _kernel(text: str) -> IptablesError:
    return IptablesError(f"iptables: {text}", 1)


_COMMANDS = {"-A": "-A", "--append": "-A", "-C": "-C", "--check": "-C", "-D": "-D",
             "--delete": "-D", "-I": "-I", "--insert": "-I", "-R": "-R", "--replace": "-R",
             "-L": "-L", "--list": "-L", "-S": "-S", "--list-rules": "-S", "-F": "-F",
             "--flush": "-F", "-Z": "-Z", "--zero": "-Z", "-N": "-N", "--new-chain": "-N",
             "-X": "-X", "--delete-chain": "-X", "-P": "-P", "--policy": "-P", "-E": "-E",
             "--rename-chain": "-E"}
_FLAGS = {"-n": "n", "--numeric": "n", "-v": "v", "--verbose": "v", "-x": "x",
          "--exact": "x", "--line-numbers": "line"}
_OP_NAMES = {"-A": "RULE_APPEND", "-I": "RULE_INSERT", "-R": "RULE_REPLACE"}


class RulesetCommands:
    """The iptables and iptables-restore commands of `simtcp.iptables.Netfilter` (a mixin:
    the node's ``tables`` live there)."""

    _restoring = False           # iptables-restore checks jump targets at COMMIT

    def iptables(self, command: Union[str, Sequence[str]]) -> str:
        """Run one iptables command line (without the leading ``iptables``); returns what
        iptables prints on stdout; raises `IptablesError` with its stderr text."""
        tokens = shlex.split(command) if isinstance(command, str) else list(command)
        if tokens and tokens[0] == "iptables":
            tokens = tokens[1:]
        table_name = "filter"
        cmd: Optional[str] = None
        cmd_args: List[str] = []
        flags: set = set()
        rest: List[str] = []
        i = 0
        while i < len(tokens):
            tok = tokens[i]
            if tok in ("-t", "--table"):
                if i + 1 >= len(tokens):
                    raise _usage(f'option "{tok}" requires an argument')
                table_name = tokens[i + 1]
                i += 2
                continue
            if tok in _COMMANDS:
                if cmd is not None:
                    raise _usage(f"Cannot use -{_COMMANDS[tok][1]} with -{cmd[1]}")
                cmd = _COMMANDS[tok]
                i += 1
                need = {"-A": 1, "-C": 1, "-D": 1, "-I": 1, "-R": 1, "-N": 1, "-P": 2,
                        "-E": 2}.get(cmd, 0)
                for _ in range(need):
                    if i >= len(tokens):
                        raise _usage(f'option "{tok}" requires an argument')
                    cmd_args.append(tokens[i])
                    i += 1
                optional = {"-L": 2, "-S": 2, "-Z": 2, "-F": 1, "-X": 1, "-D": 1, "-I": 1,
                            "-R": 1}.get(cmd, 0)
                for _ in range(optional):
                    if i < len(tokens) and not tokens[i].startswith("-") and tokens[i] != "!":
                        if cmd in ("-D", "-I", "-R") and not tokens[i].isdigit():
                            break
                        cmd_args.append(tokens[i])
                        i += 1
                continue
            if tok in _FLAGS:
                flags.add(_FLAGS[tok])
                i += 1
                continue
            if tok in ("-w", "--wait"):
                # The xtables lock: one simulated thread never waits for it.
                i += 2 if i + 1 < len(tokens) and tokens[i + 1].isdigit() else 1
                continue
            rest.append(tok)
            if tok in ("--log-prefix", "--name", "--hashlimit-name") and i + 1 < len(tokens):
                rest.append(tokens[i + 1])
                i += 1
            i += 1
        if cmd is None:
            if rest and rest[0].startswith("-"):
                raise _bad_argument(rest[0])
            raise _usage("no command specified")
        if table_name in NOT_MODELLED_TABLES:
            raise IptablesError(f"simtcp: table '{table_name}' is not modelled (filter and "
                                "nat are)", 2)
        if table_name not in self.tables:
            raise IptablesError(f"{IPT_VERSION}: table '{table_name}' does not exist\n"
                                "Perhaps iptables or your kernel needs to be upgraded.", 3)
        if cmd in ("-L", "-S"):
            if rest:
                raise _bad_argument(rest[0])
            if cmd == "-L":
                return self.list_table(table_name, *cmd_args, numeric="n" in flags,
                                       verbose="v" in flags, exact="x" in flags,
                                       line_numbers="line" in flags)
            return self.list_rules(table_name, *cmd_args, counters="v" in flags)
        live = self.tables[table_name]
        work = copy.deepcopy(live)
        self._apply(work, cmd, cmd_args, rest)
        for c in work.chains.values():
            c.compiled = c.candidates_memo = None
        work.touched = True
        self.tables[table_name] = work
        self._bind(work)
        return ""

    def _bind(self, table: Table) -> None:
        for chain in table.chains.values():
            for rule in chain.rules:
                for m in rule.matches:
                    m.bind(self)

    def _rule(self, table: Table, chain: str, rest: List[str]) -> Rule:
        builtin = chain in BUILTIN_CHAINS[table.name]
        exists = (lambda c: True) if self._restoring else (lambda c: c in table.chains)
        return parse_rule(rest, table.name, chain, exists, builtin)

    def _apply(self, table: Table, cmd: str, args: List[str], rest: List[str]) -> None:
        if cmd in ("-A", "-C", "-D", "-I", "-R"):
            name = args[0]
            num: Optional[int] = None
            if len(args) > 1:
                if not args[1].isdigit() or int(args[1]) == 0:
                    raise _usage(f"Invalid rule number `{args[1]}'")
                num = int(args[1])
            if cmd == "-R" and num is None:
                raise _usage("-R requires a rule number")
            if cmd == "-D" and num is not None:
                if rest:
                    raise _bad_argument(rest[0])
                chain = table.chains.get(name)
                if chain is None or not chain.rules:
                    raise _kernel(NO_CHAIN)
                if num > len(chain.rules):
                    raise _kernel("Index of deletion too big.")
                del chain.rules[num - 1]
                return
            rule = self._rule(table, name, rest)
            chain = table.chains.get(name)
            if chain is None:
                raise _kernel(NO_CHAIN)
            if cmd == "-C" or cmd == "-D":
                for k, r in enumerate(chain.rules):
                    if r.equivalent(rule):
                        if cmd == "-D":
                            del chain.rules[k]
                        return
                raise _kernel("Bad rule (does a matching rule exist in that chain?).")
            if cmd == "-A":
                chain.rules.append(rule)
            elif cmd == "-I":
                pos = (num or 1) - 1
                if pos > len(chain.rules):
                    raise _kernel("Index of insertion too big.")
                chain.rules.insert(pos, rule)
            else:
                if num > len(chain.rules):
                    raise _kernel(NO_CHAIN if not chain.rules else
                                  "Index of replacement too big.")
                rule.counters = chain.rules[num - 1].counters if rule.counters == [0, 0] \
                    else rule.counters
                chain.rules[num - 1] = rule
            if not self._restoring:
                self._validate(table, _OP_NAMES[cmd], name)
            return
        if rest:
            raise _bad_argument(rest[0])
        if cmd == "-N":
            name = args[0]
            if name.startswith("-"):
                raise _usage("chain name not allowed to start with `-'")
            if len(name) > 28:
                raise _usage(f"chain name `{name}' too long (must be under 29 chars)")
            if name in TARGETS:
                raise _usage("chain name may not clash with target name")
            if name in table.chains:
                raise _kernel("Chain already exists.")
            table.chains[name] = Chain(name, False)
        elif cmd == "-X":
            names = args or [c.name for c in table.chains.values() if not c.builtin]
            for name in names:
                chain = table.chains.get(name)
                if chain is None:
                    raise _kernel(NO_CHAIN)
                if chain.builtin:
                    # iptables-nft refuses to delete a base chain with these messages
                    if chain.policy != "ACCEPT":
                        raise _kernel("Directory not empty.")
                    if not chain.rules:
                        raise _kernel(NO_CHAIN)
                if chain.rules or self._references(table, name):
                    raise IptablesError(f"{IPT_VERSION}:  CHAIN_DEL failed (Device or "
                                        f"resource busy): chain {name}", 4)
                del table.chains[name]
        elif cmd == "-F":
            for chain in self._chains(table, args[:1]):
                chain.rules.clear()
        elif cmd == "-Z":
            chains = self._chains(table, args[:1])
            if len(args) > 1:
                if not args[1].isdigit() or not 0 < int(args[1]) <= len(chains[0].rules):
                    raise _kernel(NO_CHAIN)
                chains[0].rules[int(args[1]) - 1].counters = [0, 0]
                return
            for chain in chains:
                chain.policy_counters = [0, 0]
                for r in chain.rules:
                    r.counters = [0, 0]
        elif cmd == "-P":
            name, policy = args
            chain = table.chains.get(name)
            if chain is None or not chain.builtin:
                raise _kernel("Bad built-in chain name.")
            if policy not in ("ACCEPT", "DROP"):
                raise _kernel("Bad policy name. Run `dmesg' for more information.")
            chain.policy = policy
        elif cmd == "-E":
            old, new = args
            chain = table.chains.get(old)
            if chain is None or chain.builtin:
                raise _kernel(NO_CHAIN)
            if new in table.chains:
                raise _kernel("File exists.")
            chain.name = new
            table.chains = {(new if k == old else k): v for k, v in table.chains.items()}
            for c in table.chains.values():
                for r in c.rules:
                    if isinstance(r.target, JumpTarget) and r.target.name == old:
                        r.target.name = new

    def _validate(self, table: Table, op: str, chain_name: str) -> None:
        """The kernel's checks when a ruleset is committed: a target only in its table and
        at the hooks it supports (xt_check_target), REJECT tcp-reset only for TCP, and no
        loop of jumps reachable from a built-in chain (ELOOP)."""
        fail = f"{IPT_VERSION}:  {op} failed (%s): rule in chain {chain_name}"
        for chain in table.chains.values():
            for r in chain.rules:
                if isinstance(r.target, JumpTarget) and table.chains[r.target.name].builtin:
                    raise IptablesError(fail % "Operation not supported", 4)
        reach: Dict[str, set] = {name: set() for name in table.chains}
        for hook in BUILTIN_CHAINS[table.name]:
            todo, path = [(hook, (hook,))], None
            while todo:
                name, path = todo.pop()
                reach[name].add(hook)
                for r in table.chains[name].rules:
                    if isinstance(r.target, JumpTarget):
                        nxt = r.target.name
                        if nxt in path:
                            raise IptablesError(fail % "Too many links", 4)
                        todo.append((nxt, path + (nxt,)))
        for chain in table.chains.values():
            for r in chain.rules:
                t = r.target
                if t is None or isinstance(t, (JumpTarget, StandardTarget)):
                    continue
                if (t.table is not None and t.table != table.name) \
                        or (t.hooks is not None and not reach[chain.name] <= t.hooks) \
                        or not t.check_proto(r.proto, r.proto_inv):
                    raise IptablesError(fail % "Invalid argument", 4)

    def restore(self, text: str, noflush: bool = False, counters: bool = False) -> None:
        """``iptables-restore [-n] [-c]``: all of ``text`` is applied, or — on any error —
        nothing (the whole input is one transaction)."""
        staged = {name: copy.deepcopy(t) for name, t in self.tables.items()}
        current: Optional[Table] = None
        lineno = 0

        def err(msg: str, status: int = 2) -> IptablesError:
            return IptablesError(f"iptables-restore v1.8.9 (nf_tables): {msg}\n"
                                 f"Error occurred at line: {lineno}\n"
                                 "Try `iptables-restore -h' or 'iptables-restore --help' "
                                 "for more information.", status)

        for lineno, raw in enumerate(text.splitlines(), 1):
            line = raw.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("*"):
                name = line[1:].strip()
                if name in NOT_MODELLED_TABLES:
                    raise IptablesError(f"simtcp: table '{name}' is not modelled", 2)
                if name not in staged:
                    raise err(f"iptables-restore: line {lineno} table name '{name}' invalid")
                current = staged[name] if noflush else Table.fresh(name)
                current.touched = True
                staged[name] = current
                continue
            if current is None:
                raise IptablesError(f"iptables-restore: line {lineno} failed", 1)
            if line == "COMMIT":
                for c in current.chains.values():
                    for r in c.rules:
                        if isinstance(r.target, JumpTarget) \
                                and r.target.name not in current.chains:
                            raise err(f"Chain '{r.target.name}' does not exist")
                for c in current.chains.values():
                    try:
                        self._validate(current, "RULE_APPEND", c.name)
                    except IptablesError as e:
                        raise err(str(e).split(": ", 1)[1].strip(), e.status) from None
                current = None
                continue
            if line.startswith(":"):
                parts = line[1:].split()
                if len(parts) < 2:
                    raise IptablesError(f"iptables-restore: line {lineno} failed", 1)
                name, policy = parts[0], parts[1]
                if name in BUILTIN_CHAINS[current.name]:
                    if policy not in ("ACCEPT", "DROP"):
                        raise IptablesError(f"iptables-restore: line {lineno} failed: "
                                            "Bad policy name.", 1)
                    current.chains[name].policy = policy
                    if counters and len(parts) > 2:
                        current.chains[name].policy_counters = _parse_counters(parts[2])
                elif name not in current.chains:
                    current.chains[name] = Chain(name, False)
                continue
            tokens = shlex.split(line)
            rule_counters = None
            if tokens and tokens[0].startswith("["):
                rule_counters = _parse_counters(tokens.pop(0))
            try:
                self._restoring = True
                self._apply(current, _COMMANDS.get(tokens[0], "?") if tokens else "?",
                            tokens[1:2], tokens[2:]) if tokens and tokens[0] in (
                    "-A", "--append", "-I", "-N", "-X", "-F", "-D", "-R", "-P") \
                    else _raise(_usage(f"Bad argument `{tokens[0] if tokens else ''}'"))
            except IptablesError as e:
                first = str(e).split("\n")[0]
                msg = first.split(": ", 1)[1] if first.startswith(IPT_VERSION) else first
                raise err(msg, e.status) from None
            finally:
                self._restoring = False
            if rule_counters is not None and counters and tokens[0] in ("-A", "--append"):
                current.chains[tokens[1]].rules[-1].counters = rule_counters
        if current is not None:
            raise IptablesError(f"iptables-restore: COMMIT expected at line {lineno + 1}", 1)
        for t in staged.values():
            for c in t.chains.values():
                c.compiled = c.candidates_memo = None
        self.tables = staged
        for t in staged.values():
            self._bind(t)


def _raise(e: Exception):
    raise e


def _parse_counters(text: str) -> List[int]:
    p, _, b = text.strip("[]").partition(":")
    return [int(p), int(b)] if p.isdigit() and b.isdigit() else [0, 0]
