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

import ipaddress
import math
from statistics import median
from typing import Dict, List, Optional

from ..progress import span
from ..reasons import Reason, SendCause
from ..segment import Flags
from .floodtraffic import AcceptLoop, Attempt, Clients, SynFlood

__all__ = ["SynFlood", "Clients", "Attempt", "AcceptLoop", "FloodSeries", "FloodRun",
           "run_flood_scenario", "syn_capacity"]

_SYNACK = int(Flags.SYN | Flags.ACK)
_SYN_COOKIE = SendCause.SYN_COOKIE      # read once (an Enum class attribute is slow to read)


def syn_capacity(listener, sysctl) -> int:
    """How many half-open requests fit before SYNs are refused (Linux 6.x, measured on 6.18;
    inet_csk_reqsk_queue_is_full(), tcp_input.c tcp_conn_request()):
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

    def _transmit(self, packet, reason="", rfc="", data=None, conn=None, detail=(),
                  parent=None):
        # Node.transmit's parameters, passed on as they came (no *args/**kw to pack per packet)
        if reason is _SYN_COOKIE:                      # a SYN-ACK (listener._send_cookie)
            self.cookies += 1
            if self.first_cookie_at is None:
                self.first_cookie_at = self.host.net.now
        else:
            seg = packet.segment
            if seg is not None and int(seg.flags) & _SYNACK == _SYNACK:
                if isinstance(reason, Reason) and reason.retransmission:
                    self.synack_retrans += 1
                else:
                    self.synacks += 1
        return self._tx(packet, reason, rfc, data, conn, detail, parent)

    def _deliver(self, packet, pkt_id):
        self._rx(packet, pkt_id)
        if len(self.listener.syn_queue) >= syn_capacity(self.listener, self.host.sysctl):
            self.saturated_at = self.host.net.now
            # noted for good: what arrives later goes straight to the host again
            if self.host.deliver == self._deliver:
                self.host.deliver = self._rx


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
