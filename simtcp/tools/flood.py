"""SYN floods end to end: a flooder, legitimate clients, and a measured scenario.

Theory of operation
-------------------
A SYN flood (CERT CA-1996-21; RFC 4987) sends connection requests whose handshakes will
never finish. Each one a listener accepts costs it a *request* in the SYN queue for as long
as it retransmits its SYN-ACK (Linux: ``tcp_synack_retries`` = 5 → about 63 s); once the
queue is full, new SYNs — the legitimate ones too — are dropped (``tcp_syncookies=0``) or
answered with a SYN cookie that costs no memory (``=1``, the default, or ``=2``).

Nothing here scripts an outcome; the pieces only make traffic and *measure*:

* `SynFlood` puts raw SYNs on the wire from an attacker node at a fixed rate, with spoofed
  source addresses. What happens to the SYN-ACKs is the simulator's business: sent to an
  address nobody owns they die with "no route to host" (the half-open request stays until
  its retries run out); sent to a live host on the LAN, that host's stack answers with a RST
  (RFC 9293 §3.10.7.1: an ACK to a closed port), which frees the request (§3.10.7.4, RST in
  SYN-RECEIVED) — why floods spoof *unused* addresses.
* `Clients` opens legitimate connections with non-blocking sockets and records each attempt.
* `AcceptLoop` is a server application that accepts (and closes) what completes, so the
  accept queue behaves like a real server's.
* `run_flood_scenario` builds a LAN (server, attacker, clients, optional live hosts), applies
  the defences, runs, and samples the listener every ``sample_every`` seconds into a
  `FloodRun` that `simtcp.viz.flood` draws.

Everything is in virtual time and draws randomness only from the network's seeded RNG, so a
scenario gives the same numbers on every run.
"""
from __future__ import annotations

import errno
import ipaddress
import itertools
import math
from dataclasses import dataclass
from statistics import median
from typing import Dict, List, Optional, Sequence, Tuple, Union

from ..segment import Flags, Options, Segment
from ..packet import Packet
from ..progress import span
from ..reasons import Reason, SendCause
from ..seq import Seq
from ..states import State

__all__ = ["SynFlood", "Clients", "Attempt", "AcceptLoop", "FloodSeries", "FloodRun",
           "run_flood_scenario", "syn_capacity"]


def _dotted(n: int) -> str:
    # ~10x cheaper than str(ipaddress.IPv4Address(n)), which matters at 100,000 SYNs
    return f"{n >> 24}.{(n >> 16) & 255}.{(n >> 8) & 255}.{n & 255}"


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

_SYNACK = int(Flags.SYN | Flags.ACK)

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
                    if a >> 24 not in (0, 127) and a >> 29 != 7 and _dotted(a) != self.target[0]:
                        return _dotted(a)   # not 0/8, 127/8, 224/3 (RFC 6890 specials)
            return pick_any
        if isinstance(spoof, str):
            try:
                prefix = ipaddress.IPv4Network(spoof, strict=False)
            except ValueError:
                raise ValueError(f"spoof {spoof!r}: expected a prefix like '10.99.0.0/16', "
                                 "a list of addresses, None or 'random'") from None
            base, n = int(prefix.network_address), prefix.num_addresses
            lo, hi = (1, n - 2) if n > 2 else (0, n - 1)     # skip network/broadcast
            return lambda: _dotted(base + rng.randint(lo, hi))
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
        seg = Segment(rng.randint(1024, 65535), self.target[1], Seq(rng.getrandbits(32)),
                      Seq(0), Flags.SYN, self.window, opts)
        pkt = Packet(self._pick(), self.target[0], seg, ident=rng.getrandbits(16))
        self.attacker.transmit(pkt, SendCause.SYN_FLOOD, "RFC 4987 §2")
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


def syn_capacity(listener, sysctl) -> int:
    """How many half-open requests fit before SYNs are refused (Linux 6.x, FACTS §4, §10):
    ``backlog + 1`` (full when qlen > backlog); with cookies off also
    ``tcp_max_syn_backlog - tcp_max_syn_backlog/4 + 1`` (the last quarter is reserved)."""
    cap = listener.backlog + 1
    if sysctl.get("net.ipv4.tcp_syncookies", 1) == 0:
        maxb = sysctl.get("net.ipv4.tcp_max_syn_backlog", 2048)
        cap = min(cap, maxb - (maxb >> 2) + 1)
    return cap


class _ServerTap:
    """Counts what the server sends and notes when its SYN queue first fills — a tap on the
    server's interface, so the numbers exist even with the trace off."""

    def __init__(self, host, listener):
        self.host, self.listener = host, listener
        self.synacks = self.synack_retrans = self.cookies = 0
        self.first_cookie_at: Optional[float] = None
        self.saturated_at: Optional[float] = None
        self._tx, self._rx = host.transmit, host.deliver
        host.transmit, host.deliver = self._transmit, self._deliver

    def _transmit(self, packet, reason="", *args, **kw):
        seg = packet.segment
        if seg is not None and int(seg.flags) & _SYNACK == _SYNACK:
            if reason is SendCause.SYN_COOKIE:
                self.cookies += 1
                if self.first_cookie_at is None:
                    self.first_cookie_at = self.host.net.now
            elif isinstance(reason, Reason) and reason.retransmission:
                self.synack_retrans += 1
            else:
                self.synacks += 1
        return self._tx(packet, reason, *args, **kw)

    def _deliver(self, packet, pkt_id):
        self._rx(packet, pkt_id)
        if self.saturated_at is None and len(self.listener.syn_queue) >= \
                syn_capacity(self.listener, self.host.sysctl):
            self.saturated_at = self.host.net.now


# ------------------------------------------------------------------------ the scenario

_SERIES = ("t", "syn_queue", "syn_capacity", "accept_queue", "accept_capacity", "synacks",
           "synack_retrans", "cookies_sent", "cookies_valid", "cookies_failed",
           "listen_overflows", "listen_drops", "attack_sent", "ratelimit_dropped",
           "legit_success", "legit_latency", "legit_attempts")


class FloodSeries:
    """Time series sampled every ``sample_every`` s: one list per name in ``FIELDS``.

    ``t`` (s); occupancies are instantaneous (``syn_queue`` = half-open requests,
    ``syn_capacity`` (`syn_capacity`), ``accept_queue`` = completed but not yet accepted,
    ``accept_capacity``); counters are cumulative since t=0 (`rate` turns one into
    per-second values): ``synacks``/``synack_retrans`` (without cookies), ``cookies_sent``/
    ``cookies_valid``/``cookies_failed``, ``listen_overflows``/``listen_drops``,
    ``attack_sent``, ``ratelimit_dropped``. ``legit_success``/``legit_latency``/
    ``legit_attempts``: over the legitimate attempts *started* in the ``window`` seconds up
    to each sample (success = connected/decided; latency = median handshake time in s; NaN
    when there are none).
    """

    FIELDS = _SERIES

    def __init__(self, window: float = 1.0):
        self.window = window
        for name in _SERIES:
            setattr(self, name, [])

    def rate(self, name: str) -> List[float]:
        """Per-second rate of a cumulative series (first sample: 0)."""
        ys, ts = getattr(self, name), self.t
        return [0.0] + [(ys[i] - ys[i - 1]) / (ts[i] - ts[i - 1]) for i in range(1, len(ts))]

    def as_dict(self) -> Dict[str, list]:
        return {k: list(getattr(self, k)) for k in _SERIES}

    def __len__(self) -> int:
        return len(self.t)


class FloodRun:
    """The result of `run_flood_scenario`: the network, the actors, and the measurements.

    ``series`` (`FloodSeries`), ``summary()`` (a dict), ``settings`` (what was asked),
    ``net``/``server``/``attacker``/``flood``/``clients``/``accept_loop``/``limiter``.
    ``str(run)`` reads like a short report; in a notebook the run shows as a table.
    """

    def __init__(self, settings, net, server, attacker, flood, clients, accept_loop, limiter,
                 listener, tap, series):
        self.settings, self.net, self.server, self.attacker = settings, net, server, attacker
        self.flood, self.clients, self.accept_loop, self.limiter = flood, clients, accept_loop, \
            limiter
        self.listener, self.tap, self.series = listener, tap, series

    def summary(self) -> Dict[str, object]:
        s, c, f = self.series, self.server.counters, self.flood
        t0, t1 = f.start_time, f.start_time + f.duration
        cl = self.clients
        lat = cl.latencies(t0, t1)
        return {
            "syns_sent": f.sent,
            "peak_syn_queue": max(s.syn_queue, default=0),
            "syn_capacity": syn_capacity(self.listener, self.server.sysctl),
            "saturated_at": self.tap.saturated_at,
            "cookies_started_at": self.tap.first_cookie_at,
            "synacks": self.tap.synacks,
            "synack_retrans": self.tap.synack_retrans,
            "cookies_sent": c["SyncookiesSent"],
            "cookies_validated": c["SyncookiesRecv"],
            "cookies_failed": c["SyncookiesFailed"],
            "listen_overflows": c["ListenOverflows"],
            "listen_drops": c["ListenDrops"],
            "ratelimit_dropped": self.limiter.dropped if self.limiter else 0,
            "legit_attempts": len(cl.attempts),
            "legit_outcomes": cl.outcomes(),
            "legit_success": cl.success_ratio(),
            "legit_success_before": cl.success_ratio(None, t0),
            "legit_success_during": cl.success_ratio(t0, t1),
            "legit_success_after": cl.success_ratio(t1, None),
            "legit_median_latency_during": median(lat) if lat else math.nan,
            "accepted": self.accept_loop.accepted if self.accept_loop else 0,
        }

    def defence(self) -> str:
        """One line naming the defences, e.g. "tcp_syncookies=1, backlog 128"."""
        st = self.settings
        parts = [f"tcp_syncookies={st['syncookies']}", f"backlog {st['backlog']}"]
        if st["tcp_max_syn_backlog"] is not None:
            parts.append(f"tcp_max_syn_backlog {st['tcp_max_syn_backlog']}")
        if st["synack_retries"] is not None:
            parts.append(f"tcp_synack_retries {st['synack_retries']}")
        if self.limiter is not None:
            lim = self.limiter.limiter
            parts.append(f"SYN limit {lim.rate:g}/s burst {lim.burst} per source")
        return ", ".join(parts)

    def __str__(self) -> str:
        m, f = self.summary(), self.flood

        def ratio(t0, t1):
            oc = self.clients.outcomes(t0, t1)
            done = sum(v for k, v in oc.items() if k != "pending")
            return f"{oc['connected']}/{done}"

        t0, t1 = f.start_time, f.start_time + f.duration
        sat = "never" if m["saturated_at"] is None else f"t={m['saturated_at']:.3f} s"
        ck = "" if m["cookies_started_at"] is None else \
            f" (first at t={m['cookies_started_at']:.3f} s)"
        lat = m["legit_median_latency_during"]
        lat = "-" if math.isnan(lat) else f"{lat * 1000:.1f} ms"
        spoof = self.settings["spoof"]
        lines = [
            f"SYN flood on {f.target[0]}:{f.target[1]}: {f.rate:g} SYN/s x {f.duration:g} s "
            f"from {spoof!r} ({f.sent} SYNs), t = {t0:g}-{t1:g} s; run until "
            f"t = {self.net.now:g} s",
            f"defence:   {self.defence()}",
            f"SYN queue: full {sat}; peak {m['peak_syn_queue']}/{m['syn_capacity']}",
            f"server:    SYN-ACKs {m['synacks']} (+{m['synack_retrans']} retransmitted), "
            f"cookies sent {m['cookies_sent']}{ck}, validated {m['cookies_validated']}, "
            f"failed {m['cookies_failed']}",
            f"           ListenOverflows {m['listen_overflows']}, ListenDrops "
            f"{m['listen_drops']}, rate-limit drops {m['ratelimit_dropped']}, "
            f"accepted {m['accepted']}",
            f"legit:     connected before {ratio(None, t0)}, during {ratio(t0, t1)}, "
            f"after {ratio(t1, None)}; median handshake during the flood {lat}",
        ]
        return "\n".join(lines)

    def __repr__(self) -> str:
        return f"<FloodRun {self.defence()}; {self.flood!r}>"

    def _repr_html_(self) -> str:
        import html
        rows = "".join(f"<tr><td>{html.escape(k)}</td><td>{html.escape(_fmt(v))}</td></tr>"
                       for k, v in self.summary().items())
        return (f"<p><b>SYN flood run</b> — {html.escape(self.defence())}</p>"
                f"<pre>{html.escape(str(self))}</pre>"
                f"<table><tr><th>measure</th><th>value</th></tr>{rows}</table>")


def _fmt(v) -> str:
    if isinstance(v, float):
        return "-" if math.isnan(v) else f"{v:.4g}"
    return str(v)


def run_flood_scenario(*, syncookies: int = 1, backlog: int = 128,
                       tcp_max_syn_backlog: Optional[int] = None,
                       synack_retries: Optional[int] = None, rate_limit=None,
                       flood_rate: float = 200.0, flood_duration: float = 5.0,
                       flood_start: float = 1.0, spoof="10.99.0.0/16", live_hosts: int = 0,
                       clients: int = 4, client_rate: float = 5.0,
                       client_arrivals: str = "steady",
                       client_timeout: Optional[float] = 3.0, accept_every: Optional[float] = 0.01,
                       until: Optional[float] = None, sample_every: float = 0.1,
                       success_window: float = 1.0, seed: int = 1, wire: str = "fast",
                       trace: Optional[bool] = None, capture: Optional[bool] = None,
                       port: int = 80, delay: float = 0.001, attacker: str = "peer",
                       timestamps: bool = False) -> FloodRun:
    """Build, defend, flood, measure. Returns a `FloodRun`.

    Topology: one LAN (``delay`` s) with ``server`` 192.168.1.20 (the server address of every
    lab) listening on ``port``, an
    ``attacker`` at 192.168.1.66 (``"peer"``: a raw node with no TCP stack, so SYN-ACKs that
    reach it are never answered — like an attacker that firewalls its own RSTs; ``"host"``: a
    normal host whose stack answers them with RST), ``clients`` legitimate hosts
    192.168.1.101… and ``live_hosts`` hosts that own the first addresses of ``spoof`` (a
    prefix or a list), so SYN-ACKs sent there meet a real stack.

    Defences on the server: ``syncookies`` (0/1/2), ``backlog`` (listen()),
    ``tcp_max_syn_backlog``, ``synack_retries`` (None: the OS default), ``rate_limit``
    ``(rate, burst)``: a per-source `SynRateLimit(HashLimit)` hook on the server's INPUT for SYNs to
    ``port`` (or a ready `SynRateLimit`). ``accept_every``: the server app accepts and closes
    every so many seconds (None: it never accepts).

    The flood runs from ``flood_start`` for ``flood_duration`` s; clients connect at
    ``client_rate`` /s from t=0 (``client_arrivals``: "steady" or "poisson") with a
    ``client_timeout`` (None: wait for the kernel); the run
    ends at ``until`` (default: 4 s after the flood, and every client attempt has ended).
    ``trace``/``capture`` None: on for floods up to 3000 SYNs (a ladder can be drawn), off
    above (memory stays flat).
    """
    settings = dict(locals())                 # the arguments, exactly as given
    from ..ratelimit import HashLimit, SynRateLimit
    from ..sim import Network
    if syncookies not in (0, 1, 2):
        raise ValueError(f"syncookies is net.ipv4.tcp_syncookies: 0, 1 or 2, got {syncookies!r}")
    if not sample_every > 0:
        raise ValueError(f"sample_every must be > 0 seconds, got {sample_every!r}")
    total = int(round(flood_rate * flood_duration))
    small = total <= 3000
    net = Network(seed=seed, wire=wire, trace=small if trace is None else trace,
                  capture=small if capture is None else capture)
    flood_end = flood_start + flood_duration
    wait = client_timeout if client_timeout is not None else 130.0
    if until is None:
        until = flood_end + max(4.0, wait + 1.0)
    server = net.add_host("server", "192.168.1.20")
    if attacker not in ("peer", "host"):
        raise ValueError(f"attacker must be 'peer' or 'host', got {attacker!r}")
    atk = net.add_peer("192.168.1.66", name="attacker") if attacker == "peer" else \
        net.add_host("attacker", "192.168.1.66")
    cl_hosts = [net.add_host(f"client{i + 1}", f"192.168.1.{101 + i}") for i in range(clients)]
    live = []
    if live_hosts:
        if isinstance(spoof, str) and spoof != "random":
            hosts_iter = ipaddress.IPv4Network(spoof, strict=False).hosts()
            addrs = [str(next(hosts_iter)) for _ in range(live_hosts)]
        elif isinstance(spoof, (list, tuple)):
            addrs = list(spoof)[:live_hosts]
        else:
            raise ValueError("live_hosts needs spoof to be a prefix or a list of addresses")
        live = [net.add_host(f"live{i + 1}", a) for i, a in enumerate(addrs)]
    lan = net.add_lan([server, atk, *cl_hosts, *live], delay=delay)

    s = server.sysctl
    for key, value in (("tcp_syncookies", syncookies), ("tcp_synack_retries", synack_retries),
                       ("tcp_max_syn_backlog", tcp_max_syn_backlog)):
        if value is not None:
            s["net.ipv4." + key] = value
    limiter = None
    if rate_limit is not None:
        box = rate_limit if isinstance(rate_limit, SynRateLimit) else \
            SynRateLimit(HashLimit(rate_limit[0], rate_limit[1], key="srcip"), ports=port)
        limiter = box
        box.install(server)

    lsock = server.socket()
    lsock.bind(("0.0.0.0", port))
    lsock.listen(backlog)
    listener = lsock.listener
    loop = AcceptLoop(lsock, accept_every, until=until) if accept_every else None
    tap = _ServerTap(server, listener)
    flood = SynFlood(atk, (server.ip, port), flood_rate, flood_duration, spoof, flood_start,
                     timestamps=timestamps)
    n_client = max(0.0, until - wait - 0.5) if clients else 0.0
    legit = Clients(cl_hosts or [server], (server.ip, port), client_rate, n_client, 0.0,
                    client_timeout, arrivals=client_arrivals)
    series = FloodSeries(window=max(success_window, sample_every))

    def sample() -> None:
        c = server.counters
        row = (net.now, len(listener.syn_queue), syn_capacity(listener, s),
               len(listener.accept_queue), listener.backlog + 1, tap.synacks, tap.synack_retrans,
               c["SyncookiesSent"], c["SyncookiesRecv"], c["SyncookiesFailed"],
               c["ListenOverflows"], c["ListenDrops"], flood.sent,
               limiter.dropped if limiter else 0)
        for name, value in zip(_SERIES, row):       # the first 14 fields, in order
            getattr(series, name).append(value)

    n_samples = int(math.floor(until / sample_every + 1e-9)) + 1
    for k in range(n_samples):
        net.schedule(k * sample_every, sample)
    with span(net, until, desc="SYN flood"):    # a progress bar if it runs long
        net.run(until=until)
    for t in series.t:       # legit results by start time (known only after the run)
        series.legit_success.append(legit.success_ratio(t - series.window, t))
        lat = legit.latencies(t - series.window, t)
        series.legit_latency.append(median(lat) if lat else math.nan)
        series.legit_attempts.append(len(legit._window(t - series.window, t)))
    settings["until"] = until
    return FloodRun(settings, net, server, atk, flood, legit, loop, limiter, listener, tap,
                    series)
