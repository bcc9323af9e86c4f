"""Ephemeral port allocation, the way real operating systems do it.

Theory of operation
-------------------
When an application calls ``connect()`` without ``bind()``, or ``bind()`` to port 0, the
kernel picks the local port. The stack builds one :class:`PortAllocator` per host with
``make_allocator(sysctl, rng)`` and asks it for a port, passing a ``check(port) -> bool``
callback that knows the socket tables (4-tuple uniqueness, TIME-WAIT reuse, bind() holders).
The allocator owns only the *search order* — which port to try next — and the per-host state
that order needs (hash secrets, Linux's ``table_perturb``, counters).

The algorithm (``sysctl["simtcp.port_algorithm"]``), the range and the reserved ports are
read again whenever the host's sysctls changed (``Sysctl.version``), so a lab can switch them
on a live host:

* ``linux``: ``__inet_hash_connect()`` (net/ipv4/inet_hashtables.c), "RFC 6056 3.3.4
  Algorithm 4: Double-Hash" with Linux's parity trick: connect() takes ports with the parity
  of the range's low end (even by default), bind(0) (``inet_csk_find_open_port()``,
  net/ipv4/inet_connection_sock.c) takes the other parity first.
* ``rfc6056-1`` … ``rfc6056-5``: the five algorithms of RFC 6056 §3.3, as NetBSD's
  sys/netinet/portalgo.c implements them.
* ``sequential``: ``++lastport`` wrapping in the range (XNU/BSD without randomization).
* ``bsd-random``: a random start, then sequential (FreeBSD ``randomized=1``, RFC 6056 alg 1).
* ``macos`` / ``freebsd``: the OS's own switch (``net.inet.tcp.randomize_ports`` /
  ``net.inet.ip.portrange.randomized``) chooses between the two above.
* ``windows``: **unverified** (Microsoft documents only the range, KB 929851); see
  :meth:`PortAllocator._windows`.

Randomness: one 128-bit master secret is drawn from the network's ``random.Random`` when the
allocator is built; every keyed hash (Linux's SipHash stand-in, RFC 6056's F and G, the
``table_perturb`` contents) is derived from it with BLAKE2b, so the same seed gives the same
ports. Linux uses SipHash; any keyed PRF gives the same *behaviour*, and BLAKE2b is in hashlib.
Per-call randomness (Linux's ``random_below(8)``, RFC 6056 random() calls) comes from the rng.

Cost: a scan is O(range), as in the kernel, and runs as C-level ``range``/``filter``
iteration, so a candidate costs one ``check()`` call (reserved ports and the optional ``busy``
set are skipped in C). Exhausting the whole default Linux range toward ONE destination is
inherently quadratic: once the 14,116 even ports are taken, every further connect() rescans
all of them before reaching an odd port (~2e8 candidates in total, as in the kernel). Measured
on the development machine (CPython 3.11): ~0.3 s for the even half, 25-40 s for the whole range
with a set-based ``check``, 12-15 s when the caller also passes ``busy`` (machine shared with
other jobs). The RFC 6056 and BSD algorithms exhaust the same range in 0.2-3 s. Labs on exhaustion should use a small range.
"""
from __future__ import annotations

import errno
import hashlib
import itertools
import random
from typing import Callable, Container

from .lang import strerror, tr
from .profiles import Sysctl

__all__ = ["PortAllocator", "make_allocator", "TABLE_PERTURB_SIZE"]

Check = Callable[[int], bool]

TABLE_PERTURB_SIZE = 1 << 16     # Linux INET_TABLE_PERTURB_SHIFT = 16
RFC6056_TABLE_LENGTH = 10        # RFC 6056 §3.3.4 suggests 10
RFC6056_N = 500                  # RFC 6056 §3.3.5; NetBSD portalgo.c uses 500
_U32 = 0xFFFFFFFF


class _Union:
    """Membership in either of two containers (reserved ports or the caller's busy set)."""

    __slots__ = ("a", "b")

    def __init__(self, a: Container[int], b: Container[int]) -> None:
        self.a, self.b = a, b

    def __contains__(self, port: object) -> bool:  # type: ignore[override]
        return port in self.a or port in self.b

    def __bool__(self) -> bool:
        return True


def make_allocator(sysctl: Sysctl, rng: random.Random) -> "PortAllocator":
    """Build the per-host allocator (the stack calls this once per host)."""
    return PortAllocator(sysctl, rng)


#: Slots of Linux's UDP hash table (alloc_large_system_hash("UDP", ..., scale 21): one per
#: 2 MiB of memory, a power of two; 2048 is a 4 GiB machine). It only shapes the order in
#: which a crowded range is searched.
UDP_HTABLE_SIZE = 2048


class PortAllocator:
    """Chooses local ports for connect() and bind(port 0) on one host.

    ``connect_port(laddr, raddr, rport, check)`` → port, or OSError(EADDRNOTAVAIL).
    ``bind_port(laddr, check, reuseaddr=False)`` → port, or OSError(EADDRINUSE).
    ``check(port)`` must return True when *port* is usable for this request; the allocator
    itself skips reserved ports (``sysctl.reserved_ports()``) and stays inside
    ``sysctl.ephemeral_range()``.
    """

    def __init__(self, sysctl: Sysctl, rng: random.Random) -> None:
        self.sysctl = sysctl
        self.rng = rng
        secret = rng.getrandbits(128).to_bytes(16, "big")
        self._keys = {name: hashlib.blake2b(name.encode(), key=secret, digest_size=16).digest()
                      for name in ("linux-port", "linux-perturb", "rfc-f", "rfc-g",
                                   "rfc-table", "windows")}
        self._perturb_delta: dict[int, int] = {}     # table_perturb[i] - initial value
        self._memo: dict = {}        # keyed hashes already computed (see _linux_hashes)
        self._full: dict = {}       # connect passes found entirely busy (see _linux_connect)
        self._all_skipped = False    # the last scan never reached check() (see _scan)
        self._alg3_next = 0                          # RFC 6056 §3.3.3 next_ephemeral
        self._alg4_table: list[int] | None = None
        self._alg5_next: int | None = None
        self._lastport = 0                           # BSD ipi_lastport (starts at 0: first)
        self._win_next: int | None = None
        self.last_probes = 0                         # candidates tried by the last call
        self._settings_version = -1                  # the sysctl version _settings is from
        self._settings_cache: tuple = ()

    # ------------------------------------------------------------------ helpers
    @property
    def algorithm(self) -> str:
        alg = self.sysctl["simtcp.port_algorithm"]
        if alg == "macos":
            return "bsd-random" if self.sysctl["net.inet.tcp.randomize_ports"] else "sequential"
        if alg == "freebsd":
            return ("bsd-random" if self.sysctl["net.inet.ip.portrange.randomized"]
                    else "sequential")
        return alg

    def _hash(self, key: str, *parts: object, size: int = 8) -> int:
        data = "|".join(map(str, parts)).encode()
        return int.from_bytes(hashlib.blake2b(data, key=self._keys[key],
                                              digest_size=size).digest(), "big")

    def _linux_hashes(self, laddr: str, raddr: str, rport: int) -> tuple[int, int, int]:
        """A destination's keyed hashes for Linux: (port_offset, the table_perturb index it
        picks, that entry's boot value). The table is materialised lazily: entry i's boot
        value is a keyed hash of i (Linux fills the 65536 u32 entries with random bytes
        once) and `_perturb_delta` stores only the increments. Remembered: connect() after
        connect() to one destination asks for the same hashes. Bounded for a scanner."""
        memo = self._memo
        found = memo.get((laddr, raddr, rport))
        if found is None:
            if len(memo) >= 4096:
                memo.clear()
            # secure_ipv4_port_ephemeral()
            port_offset = self._hash("linux-port", laddr, raddr, rport)
            index = port_offset & (TABLE_PERTURB_SIZE - 1)
            found = memo[laddr, raddr, rport] = (port_offset, index,
                                                 self._hash("linux-perturb", index, size=4))
        return found

    def _settings(self) -> tuple[int, int, frozenset[int], str]:
        """(low, high, reserved ports, algorithm), as the sysctls say: every call asks, so
        they are read again only after a sysctl changed (Sysctl.version)."""
        sysctl = self.sysctl
        if self._settings_version != sysctl.version:
            low, high = sysctl.ephemeral_range()
            self._settings_cache = (low, high, sysctl.reserved_ports(), self.algorithm)
            self._settings_version = sysctl.version
        return self._settings_cache

    @staticmethod
    def _skip(reserved: frozenset[int], busy: Container[int] | None) -> Container[int]:
        """Ports to skip without asking check(): reserved ports (+ the caller's busy set)."""
        if not busy:
            return reserved
        if not reserved:
            return busy
        return _Union(reserved, busy)

    # ------------------------------------------------------------------ public API
    def connect_port(self, laddr: str, raddr: str, rport: int, check: Check, *,
                     busy: Container[int] | None = None) -> int:
        """Local port for an unbound connect() from *laddr* to *raddr*:*rport*.

        ``busy`` (optional) is a set of ports the caller already knows are unusable (e.g. the
        local ports of existing connections to this destination); they are skipped at C
        speed without calling ``check``. It only makes the scan faster: the ports chosen are
        the same as with ``check`` alone, provided ``check`` rejects every busy port.
        """
        low, high, reserved, alg = self._settings()
        reserved = self._skip(reserved, busy)
        if alg == "linux":
            port = self._linux_connect(low, high, reserved, laddr, raddr, rport, check,
                                       busy if reserved is busy else None)
        else:
            port = self._generic(alg, low, high, reserved, (laddr, raddr, rport), check)
        if port is None:
            raise OSError(errno.EADDRNOTAVAIL, tr(
                "portalloc.connect_exhausted", "Cannot assign requested address (every port "
                "in {range} is in use toward {raddr}:{rport}: connect() needs a unique (local "
                "address, local port, remote address, remote port) 4-tuple; close sockets, "
                "wait for TIME-WAIT to expire, widen the range, or connect to another "
                "destination, which can reuse the same local ports)",
                range=self.sysctl.ephemeral_range_name(), raddr=raddr, rport=rport))
        return port

    def bind_port(self, laddr: str, check: Check, reuseaddr: bool = False, *,
                  busy: Container[int] | None = None) -> int:
        """Local port for bind(port 0) on *laddr* (``busy`` as in :meth:`connect_port`)."""
        low, high, reserved, alg = self._settings()
        reserved = self._skip(reserved, busy)
        if alg == "linux":
            port = self._linux_bind(low, high, reserved, check, reuseaddr)
        else:
            port = self._generic(alg, low, high, reserved, (laddr, "*", 0), check)
        if port is None:
            raise OSError(errno.EADDRINUSE, tr(
                "portalloc.bind_exhausted", "Address already in use (bind() to port 0 found "
                "no free port in {range} on {laddr}: a bound port is held for every "
                "destination, so bind(0) exhausts sooner than connect())",
                range=self.sysctl.ephemeral_range_name(), laddr=laddr))
        return port

    def udp_port(self, laddr: str, check: Check) -> int:
        """Local port for a UDP socket's bind(port 0) or automatic bind. Linux has its own
        search for UDP (udp_lib_get_port(): a random start, then steps of an odd multiple of
        the hash-table size, so every port of the range is tried; no odd/even preference);
        BSDs and Windows use the same in_pcb allocator for UDP and TCP."""
        low, high, reserved, alg = self._settings()
        if alg == "linux":
            port = self._linux_udp(low, high, reserved, check)
        else:
            port = self._generic(alg, low, high, reserved, (laddr, "*", 0), check)
        if port is None:
            raise OSError(errno.EADDRINUSE, strerror(errno.EADDRINUSE))
        return port

    def _linux_udp(self, low: int, high: int, reserved: Container[int],
                   check: Check) -> int | None:
        # net/ipv4/udp.c udp_lib_get_port(): first = reciprocal_scale(rand, remaining) + low;
        # rand = (rand | 1) * UDP_HTABLE_SIZE; for each of the table's slots starting at
        # `first`, walk snum += rand (an unsigned short) through that slot's ports.
        remaining = high - low + 1
        rand = self.rng.getrandbits(32)
        first = ((rand * remaining) >> 32) + low
        step = ((rand | 1) * UDP_HTABLE_SIZE) & 0xFFFF
        self.last_probes = 0
        for slot in range(UDP_HTABLE_SIZE):
            start = (first + slot) & 0xFFFF
            snum = start
            while True:
                if low <= snum <= high and snum not in reserved:
                    self.last_probes += 1
                    if check(snum):
                        return snum
                snum = (snum + step) & 0xFFFF
                if snum == start:
                    break
        return None

    # ------------------------------------------------------------------ Linux
    def _linux_connect(self, low: int, high: int, reserved: Container[int], laddr: str,
                       raddr: str, rport: int, check: Check, busy=None) -> int | None:
        # net/ipv4/inet_hashtables.c __inet_hash_connect(), without IP_LOCAL_PORT_RANGE.
        port_offset, index, perturb = self._linux_hashes(laddr, raddr, rport)
        perturb = (perturb + self._perturb_delta.get(index, 0)) & _U32      # table_perturb[index]
        step = 2
        high += 1                                   # [32768, 60999] -> [32768, 61000[
        remaining = high - low
        if remaining > 1:
            remaining &= ~1                         # keep the scan on one parity
        self.last_probes = 0
        offset = ((perturb + (port_offset >> 32)) & _U32) % remaining
        offset &= ~1                                # first pass: parity of @low
        while True:
            # A pass whose every candidate was in the caller's busy set stays full until
            # the set loses a port: skip re-scanning it (same result, not quadratic time).
            memo = None
            if busy is not None and hasattr(busy, "serial"):
                memo = (laddr, raddr, rport, low, high, offset & 1)
                if self._full.get(memo) == (busy.serial, busy.removals):
                    offset += 1
                    if not (offset & 1 and remaining > 1):
                        return None
                    continue
            found, i = self._scan(low + offset, high, remaining, step, reserved, check)
            if found is None and memo is not None and self._all_skipped:
                self._full[memo] = (busy.serial, busy.removals)
            if found is not None:
                # "add a little bit of randomness to the next source port"
                i = max(i, self.rng.randrange(8) * 2)
                self._perturb_delta[index] = (self._perturb_delta.get(index, 0) + i + step) & _U32
                return found
            offset += 1                             # second pass: the other parity
            if not (offset & 1 and remaining > 1):
                return None

    def _scan(self, start: int, high: int, remaining: int, step: int,
              reserved: Container[int], check: Check) -> tuple[int | None, int]:
        """The kernel loop ``for (i = 0; i < remaining; i += step, port += step) { if (port >=
        high) port -= remaining; ... }`` as two C-level ranges (the wrap happens at most once),
        so a candidate costs one check() call. Returns (port, i) or (None, remaining)."""
        n = -(-remaining // step)
        first = range(start, min(high, start + step * n), step)
        if first and start not in reserved and check(start):
            # the usual case, the first candidate is free: no chain of ranges to walk (when
            # it is taken, the walk below asks check() about it once more)
            self._all_skipped = False
            self.last_probes += 1
            return start, 0
        wrap = start + step * len(first) - remaining
        second = range(wrap, wrap + step * (n - len(first)), step)
        candidates = itertools.chain(first, second)
        if reserved:                                # inet_is_local_reserved_port(): skip
            candidates = itertools.filterfalse(reserved.__contains__, candidates)
        head = next(candidates, None)
        self._all_skipped = head is None            # every candidate reserved or busy
        found = head if head is None or check(head) else next(filter(check, candidates), None)
        if found is None:
            self.last_probes += n
            return None, remaining
        i = found - start if found >= start else step * len(first) + (found - wrap)
        self.last_probes += i // step + 1
        return found, i

    def _linux_bind(self, low0: int, high0: int, reserved: Container[int], check: Check,
                    reuseaddr: bool) -> int | None:
        # net/ipv4/inet_connection_sock.c inet_csk_find_open_port(): odd ports first ("leave
        # even ports for connect()"); with SO_REUSEADDR try the lower half of the range first.
        attempt_half = 1 if reuseaddr else 0
        self.last_probes = 0
        while True:
            low, high = low0, high0 + 1
            if high - low < 4:
                attempt_half = 0
            if attempt_half:
                half = low + (((high - low) >> 2) << 1)
                if attempt_half == 1:
                    high = half
                else:
                    low = half
            remaining = high - low
            if remaining > 1:
                remaining &= ~1
            offset = self.rng.randrange(remaining) | 1
            while True:
                found, _ = self._scan(low + offset, high, remaining, 2, reserved, check)
                if found is not None:
                    return found
                offset -= 1                         # the other parity
                if offset & 1:
                    break
            if attempt_half == 1:
                attempt_half = 2                    # now the upper half
                continue
            return None

    # ------------------------------------------------------------------ RFC 6056 and BSD
    def _generic(self, alg: str, low: int, high: int, reserved: Container[int],
                 flow: tuple[str, str, int], check: Check) -> int | None:
        num = high - low + 1
        rng = self.rng
        candidates = self._candidates(alg, low, num, flow, rng)
        probes = 0
        for port in candidates:                     # every generator yields at most num ports
            if port in reserved:
                continue
            probes += 1
            if check(port):
                self.last_probes = probes
                return port
        self.last_probes = probes
        return None

    def _candidates(self, alg: str, low: int, num: int, flow: tuple[str, str, int],
                    rng: random.Random):
        if alg in ("rfc6056-1", "bsd-random"):
            # RFC 6056 §3.3.1 Simple Port Randomization: random start, then next++ wrapping.
            nxt = rng.randrange(num)
            for _ in range(num):
                yield low + nxt
                nxt = (nxt + 1) % num
        elif alg == "rfc6056-2":
            # §3.3.2 Random Port Randomization: a fresh random port after every collision; it
            # may give up before trying every port (count is the only bound).
            for _ in range(num):
                yield low + rng.randrange(num)
        elif alg == "rfc6056-3":
            # §3.3.3 Simple Hash-Based: offset = F(laddr, raddr, rport, secret), one global
            # next_ephemeral counter ("initialised at system boot", here 0).
            offset = self._hash("rfc-f", *flow)
            for _ in range(num):
                port = low + (self._alg3_next + offset) % num
                self._alg3_next += 1
                yield port
        elif alg == "rfc6056-4":
            # §3.3.4 Double-Hash: a TABLE_LENGTH table of counters indexed by G(); the
            # table is "initialised at boot to random values" (derived from the secret).
            if self._alg4_table is None:
                self._alg4_table = [self._hash("rfc-table", i, size=2)
                                    for i in range(RFC6056_TABLE_LENGTH)]
            offset = self._hash("rfc-f", *flow)
            index = self._hash("rfc-g", *flow) % RFC6056_TABLE_LENGTH
            for _ in range(num):
                port = low + (offset + self._alg4_table[index]) % num
                self._alg4_table[index] += 1
                yield port
        elif alg == "rfc6056-5":
            # §3.3.5 Random-Increments: next += random() % N + 1.
            if self._alg5_next is None:
                self._alg5_next = rng.randrange(65536)
            for _ in range(num):
                self._alg5_next += rng.randrange(RFC6056_N) + 1
                yield low + self._alg5_next % num
        elif alg == "sequential":
            # XNU/FreeBSD in_pcbbind: ++lastport, back to first when it leaves the range.
            for _ in range(num):
                self._lastport += 1
                if not low <= self._lastport < low + num:
                    self._lastport = low
                yield self._lastport
        elif alg == "windows":
            yield from self._windows(low, num, rng)
        else:  # pragma: no cover - profiles validates the name
            raise ValueError(f"unknown port algorithm {alg!r}")

    def _windows(self, low: int, num: int, rng: random.Random):
        """Windows: one host-wide counter from a random start, +1 per allocation.

        UNVERIFIED: Microsoft documents the dynamic range (KB 929851) but not
        the order. Packet captures of Windows clients commonly show source ports rising by
        one across connections, so we model a global sequential counter whose starting point
        is drawn once per host. Treat results about Windows port *order* as illustrative.
        """
        if self._win_next is None:
            self._win_next = self._hash("windows", "start") % num
        for _ in range(num):
            port = low + self._win_next % num
            self._win_next = (self._win_next + 1) % num
            yield port

    # ------------------------------------------------------------------ explanation
    def describe(self) -> str:
        """One paragraph, in plain English, on how the active algorithm picks ports."""
        lo, hi = self.sysctl.ephemeral_range()
        rng_txt = f"The range is {self.sysctl.ephemeral_range_name()} ({hi - lo + 1} ports)."
        alg = self.algorithm
        texts = {
            "linux": (
                "Linux (__inet_hash_connect, RFC 6056 algorithm 4 'double hash'): a keyed hash "
                "of (local address, remote address, remote port) picks a starting offset and "
                "one of 65536 perturbation counters. connect() scans with step 2 from there, "
                "taking only ports with the parity of the range's low end (even by default) "
                "before trying the other parity, and accepts a port as soon as the 4-tuple is "
                "unique - so the same local port can serve different destinations at once. "
                "After a success the counter advances by the distance scanned plus a random "
                "2-16, so repeated connects to one server get rising ports with small random "
                "gaps. bind(0) starts at a random odd port and keeps even ports for connect()."),
            "rfc6056-1": (
                "RFC 6056 algorithm 1 (simple port randomization): start at a random port and, "
                "on collision, try the next one, wrapping at the end of the range."),
            "bsd-random": (
                "Random start, then sequential (FreeBSD net.inet.ip.portrange.randomized=1, "
                "macOS with randomize_ports=1): RFC 6056 algorithm 1."),
            "rfc6056-2": (
                "RFC 6056 algorithm 2 (random port randomization): every attempt draws a fresh "
                "random port; after as many attempts as there are ports it gives up, possibly "
                "without having tried them all."),
            "rfc6056-3": (
                "RFC 6056 algorithm 3 (simple hash-based): a keyed hash of the destination "
                "gives an offset, and one host-wide counter that increments on every attempt "
                "is added to it, so each destination sees its own sequence."),
            "rfc6056-4": (
                "RFC 6056 algorithm 4 (double hash): as algorithm 3, but the counter comes from "
                "a 10-entry table indexed by a second hash, so connections to one destination "
                "do not reveal the counter used for another."),
            "rfc6056-5": (
                "RFC 6056 algorithm 5 (random increments): the next port is the previous one "
                "plus a random step between 1 and 500, wrapping in the range."),
            "sequential": (
                "Sequential (BSD/XNU ++lastport): every allocation takes the port after the "
                "last one handed out, going back to the first port after the last; easy to "
                "predict, which RFC 6056 warns against."),
            "windows": (
                "Windows (order UNVERIFIED): ports come from the netsh dynamic range; simtcp "
                "models a host-wide counter that rises by one from a random starting point."),
        }
        return f"{texts[alg]} {rng_txt}"
