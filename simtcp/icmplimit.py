"""Linux's ICMP rate limits: a global token bucket and one bucket per destination.

Theory of operation: before __icmp_send() (net/ipv4/icmp.c) sends an error it asks two
limiters, as Linux 6.x does:

1. the *global* limit, icmp_global_allow(): credit refills at ``net.ipv4.icmp_msgs_per_sec``
   (1000) up to ``net.ipv4.icmp_msgs_burst`` (50), refilled at most every 20 ms (HZ/50);
   icmp_global_consume() then spends a random 0, 1 or 2 credits per message (drawn here
   from the network's seeded RNG);
2. the *per-destination* limit, icmpv4_xrlim_allow() → inet_peer_xrlim_allow()
   (net/ipv4/inetpeer.c): a token bucket per destination address measured in time.
   ``net.ipv4.icmp_ratelimit`` (1000 ms) is the cost of one message; tokens accumulate up
   to XRLIM_BURST_FACTOR (6) messages' worth, and a peer never seen before starts full
   (inet_getpeer() sets rate_last 60 s in the past) — so a burst of datagrams to a closed
   port from a fresh source gets 6 port unreachables, then one per second.

Only the types in ``net.ipv4.icmp_ratemask`` (default 6168: destination unreachable,
source quench, time exceeded, parameter problem) are limited, and never on loopback
(icmpv4_xrlim_allow(): IFF_LOOPBACK). ``icmp_ratelimit = 0`` turns the per-destination
limit off.
"""
from __future__ import annotations

from typing import Dict, Tuple

XRLIM_BURST_FACTOR = 6
PEER_FRESH_AGE = 60.0          # inet_getpeer(): rate_last = jiffies - 60 * HZ
GLOBAL_MIN_REFILL = 0.02       # icmp_global_allow(): delta < HZ / 50 refills nothing


class IcmpRateLimiter:
    """The two limits for one node (module docstring)."""

    def __init__(self, node) -> None:
        self.node = node
        self._peers: Dict[str, Tuple[float, float]] = {}    # dst -> (tokens s, last time)
        self._credit: int = 0
        self._stamp: float = -1.0

    def _sysctl(self, name: str, default: int) -> int:
        sysctl = getattr(self.node, "sysctl", None)
        if sysctl is None:
            return default
        return int(sysctl.get(name, default))

    def allow(self, icmp_type: int, dst: str, loopback: bool = False) -> bool:
        """True if an ICMP error of ``icmp_type`` to ``dst`` may be sent now."""
        mask = self._sysctl("net.ipv4.icmp_ratemask", 6168)
        if not (1 << icmp_type) & mask:
            return True
        if not loopback and not self._global_allow():
            self._count("Icmp:OutRateLimitGlobal")
            return False
        if not loopback and not self._peer_allow(dst):
            self._count("Icmp:OutRateLimitHost")
            return False
        if not loopback:
            self._global_consume()
        return True

    def _count(self, name: str) -> None:
        """ICMP_MIB_RATELIMITGLOBAL / ICMP_MIB_RATELIMITHOST (Linux 6.x /proc/net/snmp)."""
        counters = getattr(self.node, "counters", None)
        if counters is not None:
            counters[name] += 1

    # icmp_global_allow() / icmp_global_consume()
    def _global_allow(self) -> bool:
        if self._credit > 0:
            return True
        now = self.node.net.now
        delta = min(now - self._stamp, 1.0) if self._stamp >= 0 else 1.0
        if delta < GLOBAL_MIN_REFILL:
            return False
        incr = int(self._sysctl("net.ipv4.icmp_msgs_per_sec", 1000) * delta)
        if not incr:
            return False
        self._stamp = now
        self._credit = min(self._credit + incr, self._sysctl("net.ipv4.icmp_msgs_burst", 50))
        return True

    def _global_consume(self) -> None:
        self._credit -= self.node.net.rng.randrange(3)     # get_random_u32_below(3)

    # inet_peer_xrlim_allow()
    def _peer_allow(self, dst: str) -> bool:
        timeout = self._sysctl("net.ipv4.icmp_ratelimit", 1000) / 1000.0
        if timeout <= 0:
            return True
        now = self.node.net.now
        tokens, last = self._peers.get(dst, (0.0, now - PEER_FRESH_AGE))
        tokens = min(tokens + (now - last), XRLIM_BURST_FACTOR * timeout)
        allowed = tokens >= timeout - 1e-12
        if allowed:
            tokens -= timeout
        self._peers[dst] = (tokens, now)
        return allowed


def limiter_of(node) -> IcmpRateLimiter:
    """The node's limiter (made on first use)."""
    limiter = getattr(node, "_icmp_limits", None)
    if limiter is None:
        limiter = node._icmp_limits = IcmpRateLimiter(node)
    return limiter
