"""iptables matches that remember: ``limit``, ``hashlimit`` and ``recent``.

Theory of operation
-------------------
Most matches look only at the packet. These three keep state between packets, in virtual
time: ``-m limit`` a token bucket per rule and ``-m hashlimit`` a bucket per key, both the
existing `simtcp.ratelimit` buckets (xt_limit.c, xt_hashlimit.c); ``-m recent`` named lists
of addresses with time stamps (xt_recent.c), the building block of port-knocking and
scan-detection rules. hashlimit tables and recent lists are shared by name across the rules
of a node (the kernel's per-netns lists), so they live in the node's `Netfilter` and a rule
finds them in ``bind()`` when it is committed.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Dict, List, Optional, Tuple

from .fwmatch import IPT_VERSION, IptablesError, Match, _bang, int_to_ip, ip_to_int, parse_ipv4
from .ratelimit import (HASHLIMIT_MODES, HashLimit, TokenBucket, format_rate, parse_rate,
                        rate_unit)

__all__ = ["LimitMatch", "HashlimitMatch", "RecentMatch", "RecentList"]



def _rate(value: str) -> float:
    try:
        return parse_rate(value)
    except ValueError:
        raise IptablesError.usage(f'bad rate "{value}"\'') from None


def _uint(value: str, what: str, lo: int = 0, hi: int = 2**32 - 1) -> int:
    if not value.isdigit() or not lo <= int(value) <= hi:
        raise IptablesError.usage(f"{what} `{value}' invalid")
    return int(value)


class LimitMatch(Match):
    """``-m limit --limit RATE --limit-burst N`` (xt_limit.c): a token bucket per rule,
    `simtcp.ratelimit.TokenBucket`; default 3/hour, burst 5."""

    name = "limit"
    options = ("--limit", "--limit-burst")

    def __init__(self, proto):
        super().__init__(proto)
        self.rate = 3 / 3600
        self.burst = 5
        self.bucket: Optional[TokenBucket] = None

    def take(self, option, value, invert):
        if invert:
            raise IptablesError.usage("limit does not support invert")
        if option == "--limit":
            self.rate = _rate(value)
        else:
            self.burst = _uint(value, "bad --limit-burst", 1, 10000)

    def bind(self, env):
        if self.bucket is None:
            self.bucket = TokenBucket(self.rate, self.burst)

    def matches(self, view, env):
        return self.bucket.allow(env.now)

    def save(self):
        text = f"--limit {format_rate(self.rate, True)}"
        return text + (f" --limit-burst {self.burst}" if self.burst != 5 else "")

    def listing(self, numeric):
        return f"limit: avg {format_rate(self.rate, True)} burst {self.burst}"


class HashlimitMatch(Match):
    """``-m hashlimit`` (xt_hashlimit.c): a token bucket per key, `simtcp.ratelimit.HashLimit`.

    ``--hashlimit-upto`` matches packets within the rate, ``--hashlimit-above`` those over it.
    Rules naming the same ``--hashlimit-name`` share one table (htable_find_get), configured by
    the first rule. A packet from a new key when the table is full is dropped outright
    (hashlimit_mt_common: dsthash_alloc_init fails → hotdrop), whatever the rule says.
    """

    name = "hashlimit"
    options = ("--hashlimit-upto", "--hashlimit-above", "--hashlimit-burst",
               "--hashlimit-mode", "--hashlimit-name", "--hashlimit-htable-expire",
               "--hashlimit-htable-max")

    def __init__(self, proto):
        super().__init__(proto)
        self.rate: Optional[float] = None
        self.above = False
        self.burst = 5
        self.mode: Tuple[str, ...] = ()
        self.table_name: Optional[str] = None
        self.expire_ms: Optional[int] = None
        self.max_entries: Optional[int] = None
        self.table: Optional[HashLimit] = None
        self.unit_ms = 1000             # the period of the unit the rate was typed in

    def take(self, option, value, invert):
        if option in ("--hashlimit-upto", "--hashlimit-above"):
            self.rate = _rate(value)
            self.above = (option == "--hashlimit-above") != invert
            # libxt_hashlimit.c parse_rate() remembers the typed unit (udata->mult); without
            # --hashlimit-htable-expire the table's expire is one such period
            # (hashlimit_mt_check: expire = udata->mult * 1000)
            unit = value.partition("/")[2]
            self.unit_ms = round(1000 / _rate("1/" + unit)) if unit else 1000
        elif option == "--hashlimit-burst":
            self.burst = _uint(value, "bad --hashlimit-burst", 1, 10000)
        elif option == "--hashlimit-mode":
            modes = value.split(",")
            if any(m not in HASHLIMIT_MODES for m in modes):
                raise IptablesError.usage("bad --hashlimit-mode")
            self.mode = tuple(m for m in HASHLIMIT_MODES if m in modes)
        elif option == "--hashlimit-name":
            self.table_name = value
        elif option == "--hashlimit-htable-expire":
            self.expire_ms = _uint(value, "bad --hashlimit-htable-expire", 1)
        else:
            self.max_entries = _uint(value, "bad --hashlimit-htable-max", 1)

    def final_check(self, rule_proto):
        if self.rate is None:
            raise IptablesError.usage("hashlimit: option \"--hashlimit-upto\" must be "
                                      "specified", True)
        if self.table_name is None:
            raise IptablesError.usage("hashlimit: option \"--hashlimit-name\" must be "
                                      "specified", True)

    def bind(self, env):
        # always re-link: a committed copy of the rule shares the node's table by name
        self.table = env.hashlimit_table(self.table_name, lambda: HashLimit(
            self.rate, self.burst, ",".join(self.mode),
            expire=self.effective_expire_ms / 1000, max_entries=self.max_entries,
            name=self.table_name))

    @property
    def effective_expire_ms(self) -> int:
        return self.unit_ms if self.expire_ms is None else self.expire_ms

    @property
    def _prints_expire(self) -> bool:
        # hashlimit_mt_print()/_save(): only when it differs from print_rate()'s quantum
        return self.effective_expire_ms != round(rate_unit(self.rate) * 1000)

    def matches(self, view, env):
        values = {"srcip": view.src, "srcport": view.sport, "dstip": view.dst,
                  "dstport": view.dport}
        parts = tuple(values[m] for m in self.table.mode)
        key = parts[0] if len(parts) == 1 else parts
        full_before = self.table.table_full
        within = self.table.allow(key, env.now)
        if self.table.table_full != full_before:
            env.hotdrop()
            return False
        return within != self.above

    def save(self):
        kind = "above" if self.above else "upto"
        out = [f"--hashlimit-{kind} {format_rate(self.rate, True)}",
               f"--hashlimit-burst {self.burst}"]
        if self.mode:
            out.append(f"--hashlimit-mode {','.join(self.mode)}")
        out.append(f"--hashlimit-name {self.table_name}")
        if self.max_entries is not None:
            out.append(f"--hashlimit-htable-max {self.max_entries}")
        if self._prints_expire:
            out.append(f"--hashlimit-htable-expire {self.effective_expire_ms}")
        return " ".join(out)

    def listing(self, numeric):
        kind = "above" if self.above else "up to"
        text = f"limit: {kind} {format_rate(self.rate, True)} burst {self.burst}"
        if self.mode:
            text += f" mode {'-'.join(self.mode)}"
        if self.max_entries is not None:
            text += f" htable-max {self.max_entries}"
        if self._prints_expire:
            text += f" htable-expire {self.effective_expire_ms}"
        return text


# --------------------------------------------------------------------------- recent

RECENT_PKT_LIST = 20      # xt_recent ip_pkt_list_tot: time stamps kept per address
RECENT_LIST_TOT = 100     # xt_recent ip_list_tot: addresses kept per list (oldest evicted)


@dataclass
class RecentList:
    """One ``/proc/net/xt_recent/NAME`` list: address → time stamps (newest last), in
    least-recently-updated order so the oldest entry is evicted first."""

    name: str
    entries: Dict[str, List[float]] = field(default_factory=dict)

    def stamps(self, addr: str) -> List[float]:
        return list(self.entries.get(addr, ()))

    def touch(self, addr: str, now: float) -> None:
        stamps = self.entries.pop(addr, None)
        if stamps is None:
            if len(self.entries) >= RECENT_LIST_TOT:           # recent_entry_init: evict
                del self.entries[next(iter(self.entries))]
            stamps = []
        stamps.append(now)
        del stamps[:-RECENT_PKT_LIST]
        self.entries[addr] = stamps


class RecentMatch(Match):
    """``-m recent`` (xt_recent.c recent_mt): remember source (or destination) addresses in a
    named list, and match on how often and how recently they were seen."""

    name = "recent"
    options = ("--set", "--rcheck", "--update", "--remove", "--seconds", "--reap",
               "--hitcount", "--name", "--rsource", "--rdest", "--mask")
    _MODES = ("--set", "--rcheck", "--update", "--remove")

    def __init__(self, proto):
        super().__init__(proto)
        self.mode: Optional[str] = None
        self.invert = False
        self.seconds = 0
        self.reap = False
        self.hitcount = 0
        self.list_name = "DEFAULT"
        self.rdest = False
        self.mask = 0xFFFFFFFF
        self.table: Optional[RecentList] = None

    def takes_value(self, option):
        return option in ("--seconds", "--hitcount", "--name", "--mask")

    def take(self, option, value, invert):
        if option in self._MODES:
            if self.mode is not None:
                raise IptablesError.usage("recent: only one of `--set', `--rcheck' "
                                          "`--update' or `--remove' may be set")
            self.mode, self.invert = option, invert
        elif option == "--seconds":
            self.seconds = _uint(value, "recent: bad --seconds")
        elif option == "--reap":
            self.reap = True
        elif option == "--hitcount":
            self.hitcount = _uint(value, "recent: bad --hitcount")
        elif option == "--name":
            self.list_name = value
        elif option == "--mask":
            m = parse_ipv4(value)
            if m is None:
                raise IptablesError.usage(f"host/network `{value}' not found")
            self.mask = m
        else:
            self.rdest = option == "--rdest"

    def final_check(self, rule_proto):
        if self.mode is None:
            raise IptablesError.usage("recent: you must specify one of `--set', `--rcheck' "
                                      "`--update' or `--remove'")
        if self.reap and not self.seconds:
            raise IptablesError.usage("recent: --reap is only valid with --seconds")
        if self.hitcount > RECENT_PKT_LIST:
            # recent_mt_check: hit_count > ip_pkt_list_tot is refused by the kernel (EINVAL)
            raise IptablesError(f"{IPT_VERSION}:  RULE_APPEND failed (Invalid argument): "
                                "hitcount above ip_pkt_list_tot (20)", 4)

    def bind(self, env):
        self.table = env.recent_list(self.list_name)   # shared by name across rules

    def matches(self, view, env):
        addr = int_to_ip(ip_to_int(view.dst if self.rdest else view.src) & self.mask)
        ret = self.invert
        stamps = self.table.entries.get(addr)
        now = env.now
        if stamps is None:
            if self.mode != "--set":
                return ret
            self.table.touch(addr, now)
            return not ret
        if self.mode == "--set":
            ret = not ret
        elif self.mode == "--remove":
            del self.table.entries[addr]
            return not ret
        else:                                   # --rcheck / --update
            hits = 0
            for stamp in stamps:
                if self.seconds and stamp < now - self.seconds:   # time_after(time, stamp)
                    continue
                hits += 1
                if not self.hitcount or hits >= self.hitcount:
                    ret = not ret
                    break
            if self.reap:
                stamps[:] = [s for s in stamps if s >= now - self.seconds]
        if self.mode == "--set" or (self.mode == "--update" and ret):
            self.table.touch(addr, now)
        return ret

    def _mode_word(self):
        return {"--set": "SET", "--rcheck": "CHECK", "--update": "UPDATE",
                "--remove": "REMOVE"}[self.mode]

    def save(self):
        out = [f"{_bang(self.invert)}{self.mode}"]
        if self.seconds:
            out.append(f"--seconds {self.seconds}")
        if self.reap:
            out.append("--reap")
        if self.hitcount:
            out.append(f"--hitcount {self.hitcount}")
        out += [f"--name {self.list_name}", f"--mask {int_to_ip(self.mask)}",
                "--rdest" if self.rdest else "--rsource"]
        return " ".join(out)

    def listing(self, numeric):
        out = [f"{'! ' if self.invert else ''}recent: {self._mode_word()}"]
        if self.seconds:
            out.append(f"seconds: {self.seconds}")
        if self.reap:
            out.append("reap")
        if self.hitcount:
            out.append(f"hit_count: {self.hitcount}")
        out += [f"name: {self.list_name}", f"side: {'dest' if self.rdest else 'source'}",
                f"mask: {int_to_ip(self.mask)}"]
        return " ".join(out)
