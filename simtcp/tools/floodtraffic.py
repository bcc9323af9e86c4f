"""The traffic of a SYN flood: the flooder, the legitimate clients, the server's accept loop.

Theory of operation: each piece is a small timer-driven actor on the network's clock, and
none of them decides an outcome — they only put packets on the wire or call the socket API,
and record what happened. `SynFlood` sends raw SYNs at a fixed rate from an attacker node,
with source addresses drawn from the network's seeded RNG (spoofed, never 0/8, 127/8 or
224/3, RFC 6890). `Clients` opens legitimate connections with non-blocking sockets, one
`Attempt` per try, and records when each one connected, was refused or gave up. `AcceptLoop`
is a server application that accepts (and closes) what completed every few milliseconds,
so the accept queue drains as a real server's does. `simtcp.tools.flood` assembles them
into a measured scenario.
"""
from __future__ import annotations

import errno
import ipaddress
import itertools
import math
from dataclasses import dataclass
from socket import inet_ntoa as _inet_ntoa
from typing import Callable, Dict, List, Optional, Sequence, Tuple, Union

from ..packet import Packet
from ..reasons import SendCause
from ..segment import Flags, Options, Segment
from ..seq import SEQ_ZERO, wire
from ..states import State

__all__ = ["SynFlood", "Clients", "Attempt", "AcceptLoop"]

# Read once: on Python 3.11 reading a member off its Enum class costs about 0.1 µs (the
# metaclass's __getattr__ puts every class attribute look-up on the slow path), twice per SYN
_SYN = Flags.SYN
_SYN_FLOOD = SendCause.SYN_FLOOD


def _dotted(n: int) -> str:
    # the C library's formatting: ~15x cheaper than str(ipaddress.IPv4Address(n)) and a
    # quarter cheaper than formatting the four bytes in Python, once per SYN of a flood
    return _inet_ntoa(n.to_bytes(4, "big"))


def uniform_int(rng, lo: int, hi: int) -> Callable[[], int]:
    """A function drawing ``rng.randint(lo, hi)``: the same values from the same stream.

    CPython's ``randint(a, b)`` is ``a + _randbelow(b - a + 1)``, and ``_randbelow(n)``
    draws ``getrandbits(n.bit_length())`` until the value is below ``n`` (Lib/random.py,
    ``_randbelow_with_getrandbits``, unchanged from 3.11 to 3.13). A flood draws two such
    numbers per SYN; doing the draw here, with ``n`` and the bit count worked out once,
    costs one call instead of randint's seven (its argument checks and three helpers).
    tests/test_flood.py checks the values against ``randint`` for several ranges."""
    n = hi - lo + 1
    if n < 1:
        raise ValueError(f"empty range [{lo}, {hi}]")
    bits = n.bit_length()
    getrandbits = rng.getrandbits

    def draw() -> int:
        r = getrandbits(bits)
        while r >= n:                   # rejection sampling: every value equally likely
            r = getrandbits(bits)
        return lo + r
    return draw


def _check_rate(value, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value > 0 \
            or not math.isfinite(value):
        raise ValueError(f"{what} must be a positive number per second, got {value!r}")
    return float(value)


def _check_target(target) -> Tuple[str, int]:
    if not (isinstance(target, tuple) and len(target) == 2 and isinstance(target[0], str)
            and isinstance(target[1], int) and 0 < target[1] <= 0xFFFF):
        raise ValueError(f"target must be (ip, port) like ('192.168.1.20', 80), got {target!r}")
    return target


# --------------------------------------------------------------------------- the flooder


class SynFlood:
    """Raw SYNs from ``attacker`` to ``target`` at ``rate`` per second for ``duration`` s.

    ``attacker`` is a Host or Peer; SYNs leave through its ``transmit`` (no socket, no
    state — like ``hping3 -S``) with the trace reason ``SendCause.SYN_FLOOD``. ``spoof`` picks each
    SYN's source address:

    * a prefix string (``"10.99.0.0/16"``): a random host address of it (network RNG);
    * a list of addresses: round-robin;
    * ``None``: the attacker's own address (its SYN-ACKs come back to it);
    * ``"random"``: any unicast address (not 0/8, 127/8, 224/3).

    Source ports (1024–65535), ISNs and IP ids are random too. SYN options: MSS ``mss``,
    window scale 7 if ``wscale``, a timestamp if ``timestamps`` (``sack`` adds SACK-permitted).
    SYN *k* leaves at exactly ``start + k / rate``; there are ``round(rate * duration)``.

    The flood is scheduled **on construction** (``start`` is absolute virtual time; a time in
    the past means "now"); ``stop()`` cancels what has not been sent. ``sent`` counts SYNs
    sent so far, ``total`` how many the flood will send in all.
    """

    def __init__(self, attacker, target: Tuple[str, int], rate: float = 200.0,
                 duration: float = 5.0, spoof: Union[None, str, Sequence[str]] = "10.99.0.0/16",
                 start: float = 0.0, wscale: bool = True, timestamps: bool = False,
                 mss: int = 1460, sack: bool = False, window: int = 64240):
        if not callable(getattr(attacker, "transmit", None)):
            raise ValueError(f"attacker must be a Host or Peer of the network, got {attacker!r}")
        self.attacker = attacker
        self.net = attacker.net
        self.target = _check_target(target)
        self.rate = _check_rate(rate, "rate")
        if isinstance(duration, bool) or not isinstance(duration, (int, float)) or duration < 0:
            raise ValueError(f"duration must be >= 0 virtual seconds, got {duration!r}")
        self.duration = float(duration)
        self.start_time = max(float(start), self.net.now)
        self.total = int(round(self.rate * self.duration))
        self.mss, self.window = mss, window
        self.options = Options(mss=mss, sack_perm=sack, wscale=7 if wscale else None,
                               ts=(0, 0) if timestamps else None)
        self._pick = self._source_picker(spoof)
        self._port = uniform_int(self.net.rng, 1024, 65535)
        self.spoof = spoof
        self.sent = 0
        self._stopped = False
        if self.total:
            self.net.schedule(self.start_time, self._send_next)

    def _source_picker(self, spoof):
        rng = self.net.rng
        if spoof is None:
            ip = self.attacker.ip
            return lambda: ip
        if isinstance(spoof, str) and spoof == "random":
            def pick_any() -> str:
                while True:
                    a = rng.getrandbits(32)
                    if a >> 24 not in (0, 127) and a >> 29 != 7:  # not 0/8, 127/8, 224/3
                        text = _dotted(a)                         # (RFC 6890 specials)
                        if text != self.target[0]:
                            return text
            return pick_any
        if isinstance(spoof, str):
            try:
                prefix = ipaddress.IPv4Network(spoof, strict=False)
            except ValueError:
                raise ValueError(f"spoof {spoof!r}: expected a prefix like '10.99.0.0/16', "
                                 "a list of addresses, None or 'random'") from None
            base, n = int(prefix.network_address), prefix.num_addresses
            lo, hi = (1, n - 2) if n > 2 else (0, n - 1)     # skip network/broadcast
            address = uniform_int(rng, base + lo, base + hi)
            return lambda: _dotted(address())
        addrs = [str(ipaddress.IPv4Address(a)) for a in spoof]
        if not addrs:
            raise ValueError("spoof: an empty list of addresses")
        return itertools.cycle(addrs).__next__          # round-robin

    def _send_next(self) -> None:
        if self._stopped or self.sent >= self.total:
            return
        rng = self.net.rng
        opts = self.options
        if opts.ts is not None:
            opts = Options(mss=opts.mss, sack_perm=opts.sack_perm, wscale=opts.wscale,
                           ts=(rng.getrandbits(32), 0))
        seg = Segment(self._port(), self.target[1], wire(rng.getrandbits(32)), SEQ_ZERO, _SYN,
                      self.window, opts)
        pkt = Packet.tcp(self._pick(), self.target[0], seg, rng.getrandbits(16))
        self.attacker.transmit(pkt, _SYN_FLOOD, "RFC 4987 §2")
        self.sent += 1
        if self.sent < self.total:
            # absolute times, so 1/rate steps do not accumulate float error
            self.net.schedule(self.start_time + self.sent / self.rate, self._send_next)

    def stop(self) -> None:
        """Send no more SYNs."""
        self._stopped = True

    @property
    def end_time(self) -> float:
        """When the last SYN leaves."""
        return self.start_time + max(self.total - 1, 0) / self.rate

    def __repr__(self) -> str:
        return (f"<SynFlood {self.rate:g} SYN/s for {self.duration:g} s -> "
                f"{self.target[0]}:{self.target[1]} spoof={self.spoof!r} sent={self.sent}/"
                f"{self.total}>")


# --------------------------------------------------------------------- legitimate clients

OUTCOMES = ("connected", "refused", "timed out", "pending")


@dataclass
class Attempt:
    """One legitimate connection attempt. ``latency`` (s) is set when it connected."""

    host: str
    t_start: float
    outcome: str = "pending"
    latency: Optional[float] = None
    t_end: Optional[float] = None
    local_port: Optional[int] = None


class Clients:
    """Legitimate clients: ``rate`` connects per second, round-robin over ``hosts``;
    ``arrivals="poisson"`` spaces them like independent users (exponential gaps drawn from the
    network's RNG, so a seed gives one story and 20 seeds a spread).

    Each attempt is a non-blocking socket (``setblocking(False)``, ``connect_ex``), polled
    by scheduled checks (every ``poll`` s, doubling up to 1 s: the latency comes from the
    connection's own ESTABLISHED time, so polling only decides when we look). Outcomes:
    "connected" (the handshake completed; the socket is then closed so ports are reused),
    "refused" (RST), "timed out" (the kernel gave up — ``tcp_syn_retries`` — or
    ``timeout`` seconds passed without a connection, like ``curl --connect-timeout``; the
    socket is closed then), or "pending" (still undecided). Scheduled on construction.
    """

    def __init__(self, hosts, target: Tuple[str, int], rate: float = 5.0,
                 duration: float = 5.0, start: float = 0.0, timeout: Optional[float] = None,
                 poll: float = 0.01, arrivals: str = "steady"):
        self.hosts = list(hosts) if isinstance(hosts, (list, tuple)) else [hosts]
        if not self.hosts or not all(callable(getattr(h, "socket", None)) for h in self.hosts):
            raise ValueError("hosts must be one Host or a non-empty list of Hosts (with sockets)")
        self.net = self.hosts[0].net
        self.target = _check_target(target)
        self.rate = _check_rate(rate, "rate")
        if timeout is not None and not timeout > 0:
            raise ValueError(f"timeout must be None or > 0 seconds, got {timeout!r}")
        self.timeout = timeout
        self.poll = poll
        if arrivals not in ("steady", "poisson"):
            raise ValueError(f"arrivals must be 'steady' or 'poisson', got {arrivals!r}")
        self.arrivals = arrivals
        self.start_time = max(float(start), self.net.now)
        self.total = int(round(self.rate * float(duration)))
        self.attempts: List[Attempt] = []
        if self.total:
            self.net.schedule(self.start_time, self._open_next)

    def _open_next(self) -> None:
        k = len(self.attempts)
        host = self.hosts[k % len(self.hosts)]
        att = Attempt(host.name, self.net.now)
        self.attempts.append(att)
        sock = host.socket()
        sock.setblocking(False)
        rc = sock.connect_ex(self.target)
        att.local_port = sock.local[1] if sock.local else None
        # EINPROGRESS is what a real non-blocking connect returns; accept EAGAIN as well
        if rc not in (0, errno.EINPROGRESS, errno.EAGAIN, errno.EWOULDBLOCK):
            self._finish(att, sock, "refused" if rc == errno.ECONNREFUSED else "timed out")
        else:
            self._check(att, sock, self.poll)
        if k + 1 < self.total:
            if self.arrivals == "poisson":    # independent users: exponential gaps (net RNG)
                self.net.schedule(self.net.now + self.net.rng.expovariate(self.rate),
                                  self._open_next)
            else:
                self.net.schedule(self.start_time + (k + 1) / self.rate, self._open_next)

    def _check(self, att: Attempt, sock, wait: float) -> None:
        conn = sock.conn
        now = self.net.now
        if conn.established_at is not None:
            att.latency = conn.established_at - att.t_start
            self._finish(att, sock, "connected")
            return
        if conn.state is State.CLOSED:
            self._finish(att, sock, "refused" if conn.error == errno.ECONNREFUSED
                         else "timed out")
            return
        if self.timeout is not None and now >= att.t_start + self.timeout - 1e-9:
            self._finish(att, sock, "timed out")
            return
        at = now + wait
        if self.timeout is not None:
            at = min(at, att.t_start + self.timeout)
        self.net.schedule(at, self._check, att, sock, min(wait * 2, 1.0))

    def _finish(self, att: Attempt, sock, outcome: str) -> None:
        att.outcome = outcome
        att.t_end = self.net.now
        sock.close()

    def _window(self, t0: Optional[float], t1: Optional[float]) -> List[Attempt]:
        lo = -math.inf if t0 is None else t0
        hi = math.inf if t1 is None else t1
        return [a for a in self.attempts if lo <= a.t_start < hi]

    def outcomes(self, t0: Optional[float] = None, t1: Optional[float] = None) -> Dict[str, int]:
        """How many attempts started in [t0, t1) ended each way."""
        counts = dict.fromkeys(OUTCOMES, 0)
        for a in self._window(t0, t1):
            counts[a.outcome] += 1
        return counts

    def success_ratio(self, t0: Optional[float] = None, t1: Optional[float] = None) -> float:
        """Connected / decided, over attempts started in [t0, t1). Pending attempts are not
        counted (not decided yet); NaN when no attempt in the window is decided."""
        done = [a for a in self._window(t0, t1) if a.outcome != "pending"]
        if not done:
            return math.nan
        return sum(a.outcome == "connected" for a in done) / len(done)

    def latencies(self, t0: Optional[float] = None, t1: Optional[float] = None) -> List[float]:
        """Handshake times (s) of the attempts started in [t0, t1) that connected."""
        return [a.latency for a in self._window(t0, t1) if a.latency is not None]

    def __repr__(self) -> str:
        c = self.outcomes()
        return f"<Clients {self.rate:g}/s -> {self.target[0]}:{self.target[1]} {c}>"


class AcceptLoop:
    """A server application: every ``every`` s it accept()s all completed connections on a
    non-blocking listening socket and (if ``close``) closes them at once — a server that
    keeps up, so only a flood (not a slow app) fills the queues. Stops after ``until``."""

    def __init__(self, sock, every: float = 0.01, close: bool = True,
                 until: Optional[float] = None):
        if sock.listener is None:
            raise ValueError("AcceptLoop needs a listening socket (bind() and listen() first)")
        self.sock, self.every, self.close, self.until = sock, every, close, until
        self.net = sock.net
        self.accepted = 0
        self.children: List = []
        sock.setblocking(False)
        self.net.call_later(every, self._tick)

    def _tick(self) -> None:
        while True:
            try:
                child, _ = self.sock.accept()
            except BlockingIOError:
                break
            self.accepted += 1
            if self.close:
                child.close()
            else:
                self.children.append(child)
        if self.until is None or self.net.now + self.every <= self.until:
            self.net.call_later(self.every, self._tick)
