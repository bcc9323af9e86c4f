"""SYN rate limiting in virtual time: token buckets as iptables ``limit`` and ``hashlimit`` do it.

Theory of operation
-------------------
A token bucket holds at most ``burst`` tokens and refills at ``rate`` tokens per second; each
packet that conforms takes one token, a packet that finds less than one token does not
conform. So a sender may send ``burst`` packets at once, then ``rate`` per second for ever.
This is the model of netfilter's ``xt_limit`` (``-m limit --limit 10/s --limit-burst 20``,
whose "credit" counter starts full at ``burst`` and is recharged per jiffy) and of
``xt_hashlimit``, which keeps one bucket per key — per source address with
``--hashlimit-mode srcip`` — in a hash table whose idle entries expire after
``--hashlimit-htable-expire`` ms (default 10000) so memory stays bounded even under a flood
of spoofed, never-repeating sources. When the table reaches ``--hashlimit-htable-max``
entries, a packet from a *new* key cannot get a bucket and is dropped (``dsthash_alloc_init``
returns NULL → hotdrop): an attacker who fills the table also locks out new legitimate clients.

Here time is continuous virtual seconds (the kernel counts in jiffies; the idealisation only
removes rounding), a refill that lands within 1e-9 token of a whole token counts as whole (so
``10/s`` at t = 0.1, 0.2, … behaves as arithmetic says, not as binary floats say; likewise
1e-9 s for expiry), and expired hashlimit entries are removed exactly on time rather than by
a 1 s garbage-collection timer.

`SynRateLimit` wraps a limiter as a netfilter-style hook (`simtcp.hooks`, installed on the
server's INPUT point like an iptables rule): it accepts every segment except a
connection-opening SYN that the limiter refuses, which it drops. "SYN" means what iptables ``--syn`` means: of FIN, SYN, RST, ACK only SYN is
set (``--tcp-flags FIN,SYN,RST,ACK SYN``), so ECE/CWR on an ECN-setup SYN do not matter.

Why rate-limit SYNs: it caps the work a flood can make a listener do, but it cannot tell a
spoofed SYN from a real one — a per-source limit protects against one loud source, not against
a flood from random sources (each spoofed source sends one SYN and is always under its limit).
SYN cookies (`simtcp.syncookies`) address that case.
"""
from __future__ import annotations

import collections
import math
from typing import Hashable, Iterable, List, Optional, Tuple, Union

from .hooks import ACCEPT, PRIORITY, Drop, HookContext, HookHandle, HookPoint
from .packet import Packet
from .reasons import DropReason
from .segment import Flags

__all__ = ["TokenBucket", "HashLimit", "SynRateLimit", "parse_rate", "format_rate", "rate_unit",
           "is_syn"]

# Tolerance for float arithmetic (see the module docstring): in tokens for refills, in
# seconds for expiry, so 0.1 + 0.1 + 0.1 s behaves like 0.3 s.
_EPS = 1e-9

# xtables rate units (libxt_limit.c parse_rate: any prefix of the unit's name is accepted).
_UNITS = (("second", 1.0), ("minute", 60.0), ("hour", 3600.0), ("day", 86400.0))
_IPT_NAMES = {"second": "sec", "minute": "min", "hour": "hour", "day": "day"}
_SHORT_NAMES = {"second": "s", "minute": "min", "hour": "hour", "day": "day"}

HASHLIMIT_MODES = ("srcip", "srcport", "dstip", "dstport")
# simtcp's own default for the Python API (10 s, the kernel's XT_HASHLIMIT_EXPIRE). The
# iptables command's default is different: one period of the rate's unit
# (libxt_hashlimit.c hashlimit_mt_check: expire = udata->mult * 1000), see `rate_unit`.
HASHLIMIT_EXPIRE = 10.0
LIMIT_BURST = 5                # XT_LIMIT_BURST / XT_HASHLIMIT_BURST default




def parse_rate(rate: Union[str, float, int]) -> float:
    """A rate in packets per second from a number or iptables text: ``"10/s"``, ``"10/sec"``,
    ``"600/minute"``, ``"3/h"``, ``"1/day"``; a bare number means per second (like xtables)."""
    if isinstance(rate, bool):
        raise ValueError(f"rate must be a number or text like '10/s', got {rate!r}")
    if isinstance(rate, (int, float)):
        value = float(rate)
    elif isinstance(rate, str):
        num, _, unit = rate.strip().partition("/")
        try:
            value = float(num)
        except ValueError:
            raise ValueError(f"rate {rate!r}: expected '<number>/<unit>' such as '10/s' or "
                             "'600/minute'") from None
        if _:
            unit = unit.strip().lower()
            for name, seconds in _UNITS:
                if unit and name.startswith(unit):
                    value /= seconds
                    break
            else:
                raise ValueError(f"rate {rate!r}: unit must be (a prefix of) second, minute, "
                                 "hour or day, as in iptables")
    else:
        raise ValueError(f"rate must be a number or text like '10/s', got {rate!r}")
    if not math.isfinite(value) or value <= 0:
        raise ValueError(f"rate must be > 0 packets per unit of time, got {rate!r}")
    return value


def _unit_of(rate: float) -> Tuple[str, float]:
    """The shortest unit in which ``rate`` is a whole number >= 1: (name, seconds)."""
    for name, seconds in _UNITS:
        n = rate * seconds
        if n >= 1 - _EPS and abs(n - round(n)) < 1e-6 * max(1.0, n):
            return name, seconds
    return "second", 1.0


def rate_unit(rate: float) -> float:
    """Seconds in the unit xtables prints ``rate`` in: 1 for "10/sec", 60 for "3/min".

    libxt_hashlimit.c print_rate() returns this period (its "quantum", in ms), and
    hashlimit_mt_print()/hashlimit_mt_save() print ``--hashlimit-htable-expire`` only when
    the table's expire differs from it.
    """
    return _unit_of(rate)[1]


def format_rate(rate: float, iptables: bool = False) -> str:
    """``10.0`` → ``"10/s"`` (``"10/sec"`` with ``iptables=True``); ``0.5`` → ``"30/min"``.

    Picks the shortest unit in which the rate is a whole number ≥ 1, like xtables prints it.
    """
    names = _IPT_NAMES if iptables else _SHORT_NAMES
    name, seconds = _unit_of(rate)
    n = rate * seconds
    if abs(n - round(n)) < 1e-6 * max(1.0, n):
        return f"{round(n)}/{names[name]}"
    return f"{rate:g}/{names['second']}"


def _check_burst(burst: int) -> int:
    if not isinstance(burst, int) or isinstance(burst, bool) or burst < 1:
        raise ValueError(f"burst must be a whole number of packets >= 1, got {burst!r}")
    return burst


def _check_time(now: float, last: Optional[float], who: str) -> float:
    if not isinstance(now, (int, float)) or isinstance(now, bool) or not math.isfinite(now):
        raise ValueError(f"{who}: now must be virtual seconds (a finite number), got {now!r}")
    if last is not None and now < last:
        raise ValueError(f"{who}: virtual time never runs backwards (now={now} after {last}); "
                         "pass the network clock")
    return float(now)


def is_syn(packet: Packet) -> bool:
    """True for a connection request as iptables ``--syn`` sees it: SYN set, FIN/RST/ACK clear."""
    seg = packet.segment
    if seg is None:
        return False
    f = seg.flags
    return (f & (Flags.FIN | Flags.SYN | Flags.RST | Flags.ACK)) == Flags.SYN


# --------------------------------------------------------------------------- limit

class TokenBucket:
    """One bucket for all packets: iptables ``-m limit --limit RATE --limit-burst BURST``.

    ``rate`` in packets per second (or text such as ``"10/s"``), ``burst`` the bucket size.
    The bucket starts full. ``allow(now)`` refills ``rate × elapsed`` tokens (capped at
    ``burst``) and spends one if there is one. ``now`` must not decrease between calls.
    """

    def __init__(self, rate: Union[float, str], burst: int = LIMIT_BURST) -> None:
        self.rate = parse_rate(rate)
        self.burst = _check_burst(burst)
        self._tokens = float(self.burst)
        self._last: Optional[float] = None

    def tokens(self, now: float) -> float:
        """Tokens available at ``now``, without spending any."""
        now = _check_time(now, self._last, "TokenBucket")
        if self._last is None:
            return self._tokens
        return min(float(self.burst), self._tokens + (now - self._last) * self.rate)

    def allow(self, now: float) -> bool:
        """Spend a token at virtual time ``now``: True if the packet conforms to the limit."""
        self._tokens = self.tokens(now)
        self._last = float(now)
        if self._tokens + _EPS >= 1.0:
            self._tokens = max(0.0, self._tokens - 1.0)
            return True
        return False

    # -- the limiter protocol used by SynRateLimit
    def reject_reason(self, packet: Packet, now: float) -> Optional[str]:
        """None if ``packet`` conforms (a token is spent); else why, for a Dropped reason."""
        if self.allow(now):
            return None
        return f"from {packet.src} (all sources together over {format_rate(self.rate)})"

    def iptables_lines(self, prefix: str) -> List[str]:
        """``limit`` cannot be inverted, so "drop above the rate" takes two rules."""
        return [f"{prefix} -m limit --limit {format_rate(self.rate, True)} "
                f"--limit-burst {self.burst} -j ACCEPT", f"{prefix} -j DROP"]

    def __repr__(self) -> str:
        return f"TokenBucket(rate={format_rate(self.rate)!r}, burst={self.burst})"


# --------------------------------------------------------------------------- hashlimit

class HashLimit:
    """One token bucket per key: iptables ``-m hashlimit --hashlimit-mode srcip``.

    ``key`` is the hashlimit mode, a comma-separated subset of ``srcip, srcport, dstip,
    dstport`` (``"srcip"``, ``"srcip,dstport"`` …); ``""`` means one shared bucket, like
    ``limit``. A key with one field is that value (``"10.0.0.5"``), with several a tuple in
    the order written. A bucket idle for ``expire`` seconds is forgotten (the next packet
    from that key starts with a full bucket again). ``max_entries`` (``--hashlimit-htable-max``;
    None = no cap) bounds the table: a packet from a new key when it is full is refused.
    ``name`` is the ``--hashlimit-name`` (mandatory in real iptables).

    Counters: ``peak_entries`` (largest table size seen), ``table_full`` (packets refused
    because the table was full), ``expired`` (entries forgotten).
    """

    def __init__(self, rate: Union[float, str], burst: int = LIMIT_BURST, key: str = "srcip",
                 expire: float = HASHLIMIT_EXPIRE, max_entries: Optional[int] = None,
                 name: str = "syn") -> None:
        self.rate = parse_rate(rate)
        self.burst = _check_burst(burst)
        fields = tuple(f.strip() for f in key.split(",") if f.strip()) if isinstance(key, str) \
            else None
        if fields is None or any(f not in HASHLIMIT_MODES for f in fields) \
                or len(set(fields)) != len(fields):
            raise ValueError(f"key (hashlimit mode) must be a comma-separated list of "
                             f"{', '.join(HASHLIMIT_MODES)} without repeats, got {key!r}")
        self.mode = fields
        if not isinstance(expire, (int, float)) or isinstance(expire, bool) \
                or not math.isfinite(expire) or expire <= 0:
            raise ValueError(f"expire must be > 0 seconds, got {expire!r}")
        self.expire = float(expire)
        if max_entries is not None and (not isinstance(max_entries, int)
                                        or isinstance(max_entries, bool) or max_entries < 1):
            raise ValueError(f"max_entries must be None or an int >= 1, got {max_entries!r}")
        self.max_entries = max_entries
        if not isinstance(name, str) or not name or " " in name:
            raise ValueError(f"name must be a non-empty word (--hashlimit-name), got {name!r}")
        self.name = name
        # key -> [tokens, last_seen]; ordered by last_seen, oldest first, so expiry pops
        # from the front in O(1) per entry.
        self._table: "collections.OrderedDict[Hashable, List[float]]" = collections.OrderedDict()
        self._last: Optional[float] = None
        self.peak_entries = 0
        self.table_full = 0
        self.expired = 0

    def key_of(self, packet: Packet) -> Hashable:
        """The bucket key of ``packet`` under this mode."""
        sport, dport = packet.ports          # None for protocols without ports
        values = {"srcip": packet.src, "srcport": sport, "dstip": packet.dst,
                  "dstport": dport}
        parts = tuple(values[f] for f in self.mode)
        return parts[0] if len(parts) == 1 else parts

    def purge(self, now: float) -> int:
        """Forget buckets idle for ``expire`` seconds or more (xt_hashlimit ``htable_gc``).

        Returns how many were removed. Called by `allow`; call it yourself to look at the
        table size at a given time.
        """
        now = _check_time(now, self._last, "HashLimit")
        self._last = now
        removed = 0
        while self._table:
            k, (_, last) = next(iter(self._table.items()))
            if last + self.expire > now + _EPS:  # time_after_eq(jiffies, dh->expires) frees
                break
            del self._table[k]
            removed += 1
        self.expired += removed
        return removed

    def allow(self, key: Hashable, now: float) -> bool:
        """Spend a token from ``key``'s bucket at ``now``: True if the packet conforms."""
        return self._judge(key, now) is None

    def _judge(self, key: Hashable, now: float) -> Optional[str]:
        self.purge(now)
        entry = self._table.get(key)
        if entry is None:
            if self.max_entries is not None and len(self._table) >= self.max_entries:
                self.table_full += 1             # dsthash_alloc_init: "max count reached"
                return f"hashlimit table full ({self.max_entries} entries)"
            entry = self._table[key] = [float(self.burst), now]
            self.peak_entries = max(self.peak_entries, len(self._table))
        else:
            entry[0] = min(float(self.burst), entry[0] + (now - entry[1]) * self.rate)
            entry[1] = now
            self._table.move_to_end(key)         # every packet refreshes dh->expires
        if entry[0] + _EPS >= 1.0:
            entry[0] = max(0.0, entry[0] - 1.0)
            return None
        return "over"

    def __len__(self) -> int:
        return len(self._table)

    def tokens(self, key: Hashable, now: float) -> float:
        """Tokens ``key`` would have at ``now`` (``burst`` if no live bucket); no side effects."""
        now = _check_time(now, self._last, "HashLimit")
        entry = self._table.get(key)
        if entry is None or entry[1] + self.expire <= now + _EPS:
            return float(self.burst)
        return min(float(self.burst), entry[0] + (now - entry[1]) * self.rate)

    # -- the limiter protocol used by SynRateLimit
    def reject_reason(self, packet: Packet, now: float) -> Optional[str]:
        """None if ``packet`` conforms (a token is spent); else why, for a Dropped reason."""
        verdict = self._judge(self.key_of(packet), now)
        if verdict is None:
            return None
        sport, dport = packet.ports
        src = _endpoint(packet.src if "srcip" in self.mode else None,
                        sport if "srcport" in self.mode else None)
        dst = _endpoint(packet.dst if "dstip" in self.mode else None,
                        dport if "dstport" in self.mode else None)
        who = " ".join(p for p in (f"from {src or packet.src}", f"to {dst}" if dst else "") if p)
        if verdict != "over":
            return f"{who}: {verdict}"
        if not self.mode:
            return f"{who} (all sources together over {format_rate(self.rate)})"
        return f"{who} over {format_rate(self.rate)}"

    def iptables_lines(self, prefix: str) -> List[str]:
        opts = [f"--hashlimit-above {format_rate(self.rate, True)}",
                f"--hashlimit-burst {self.burst}"]
        if self.mode:
            opts.append(f"--hashlimit-mode {','.join(self.mode)}")
        opts.append(f"--hashlimit-name {self.name}")
        # libxt_hashlimit.c hashlimit_mt_save(): htable-max before htable-expire, and the
        # expire only when it differs from the rate's period (the command's own default)
        if self.max_entries is not None:
            opts.append(f"--hashlimit-htable-max {self.max_entries}")
        if round(self.expire * 1000) != round(rate_unit(self.rate) * 1000):
            opts.append(f"--hashlimit-htable-expire {round(self.expire * 1000)}")
        return [f"{prefix} -m hashlimit {' '.join(opts)} -j DROP"]

    def __repr__(self) -> str:
        return (f"HashLimit(rate={format_rate(self.rate)!r}, burst={self.burst}, "
                f"key={','.join(self.mode)!r}, expire={self.expire}, entries={len(self)})")


def _endpoint(ip: Optional[str], port: Optional[int]) -> str:
    if ip is not None and port is not None:
        return f"{ip}:{port}"
    if ip is not None:
        return ip
    if port is not None:
        return f"port {port}"
    return ""


# --------------------------------------------------------------------------- hook

class SynRateLimit:
    """A netfilter-style hook that drops connection-opening SYNs over a rate limit.

    ``SynRateLimit(limiter, ports=None, chain="INPUT")``: ``limiter`` is a `TokenBucket` or
    `HashLimit`; ``ports`` limits the rule to those destination ports (an int or an
    iterable; None = all); ``chain`` is the hook point (INPUT, FORWARD or PREROUTING), as
    the iptables chain the rule would be in. ``mb.install(node)`` registers it on a node's
    hooks (`simtcp.hooks`, filter priority 0); as a hook it returns ACCEPT or
    ``Drop(DropReason.RATE_LIMIT, "SYN from 10.0.0.5 over 10/s")``. ``mb.judge(packet,
    now)`` is the decision alone: None (let through) or the detail of the drop. Non-SYN segments and SYNs to other
    ports pass without touching the limiter.

    Counters: ``passed`` (all packets let through), ``dropped`` (SYNs dropped),
    ``syns_passed`` (SYNs the limiter admitted), ``drops_by_source`` (a Counter of source IPs).
    ``str(mb)`` is the iptables rule(s) that would do the same on a Linux host.
    """

    name = "SynRateLimit"

    def __init__(self, limiter: Union[TokenBucket, HashLimit],
                 ports: Union[None, int, Iterable[int]] = None, chain: str = "INPUT") -> None:
        if not callable(getattr(limiter, "reject_reason", None)):
            raise ValueError("limiter must be a TokenBucket or HashLimit (anything with "
                             f"reject_reason(packet, now)), got {limiter!r}")
        self.limiter = limiter
        if ports is None:
            self.ports: Optional[Tuple[int, ...]] = None
        else:
            plist = [ports] if isinstance(ports, int) else list(ports)
            if not plist or any(not isinstance(p, int) or isinstance(p, bool)
                                or not 0 <= p <= 0xFFFF for p in plist):
                raise ValueError(f"ports must be None, a port 0..65535 or a non-empty list of "
                                 f"them, got {ports!r}")
            self.ports = tuple(sorted(set(plist)))
        if chain not in ("INPUT", "FORWARD", "PREROUTING"):
            raise ValueError(f"chain must be INPUT, FORWARD or PREROUTING (where a SYN limit "
                             f"can see arriving SYNs), got {chain!r}")
        self.chain = chain
        self.passed = 0
        self.dropped = 0
        self.syns_passed = 0
        self.drops_by_source: "collections.Counter[str]" = collections.Counter()

    def judge(self, packet: Packet, now: float) -> Optional[str]:
        """None when ``packet`` may pass (a SYN spends a token), else the drop reason."""
        if is_syn(packet) and (self.ports is None or packet.segment.dport in self.ports):
            why = self.limiter.reject_reason(packet, now)
            if why is not None:
                self.dropped += 1
                self.drops_by_source[packet.src] += 1
                return f"SYN {why}"
            self.syns_passed += 1
        self.passed += 1
        return None

    def __call__(self, ctx: HookContext):
        why = self.judge(ctx.packet, ctx.now)
        return ACCEPT if why is None else Drop(DropReason.RATE_LIMIT, why)

    def install(self, node, priority: int = PRIORITY["filter"]) -> HookHandle:
        """Register on ``node``'s hooks at the point named by ``chain``."""
        return node.hooks.add(HookPoint[self.chain], self, priority, self.name)

    def __str__(self) -> str:
        prefix = f"-A {self.chain} -p tcp"
        if self.ports is None:
            prefix += " --syn"
        elif len(self.ports) == 1:
            prefix += f" --dport {self.ports[0]} --syn"
        else:
            prefix += f" --syn -m multiport --dports {','.join(map(str, self.ports))}"
        return "\n".join(self.limiter.iptables_lines(prefix))

    def __repr__(self) -> str:
        return (f"SynRateLimit({self.limiter!r}, ports={self.ports}, passed={self.passed}, "
                f"dropped={self.dropped})")
