"""SYN floods end to end (simtcp.tools.flood, simtcp.viz.flood).

Outcomes follow Linux (listen queues, tcp_conn_request() in net/ipv4/tcp_input.c: a Linux 6.x
SYN queue holds backlog + 1 requests)
and §5 (SYN cookies: sent when the queue is full, valid for up to 2 minutes), and come out
of the simulation — the flood tool only sends SYNs and counts.
"""
import gc
import math
import tracemalloc
import warnings

import pytest

import simtcp
from simtcp.segment import Flags, Options, Packet, Segment
from simtcp.seq import Seq
from simtcp.tools.flood import Clients, SynFlood, run_flood_scenario

from conftest import accounting_ok
from simtcp.reasons import DropReason, SendCause, StateCause


def failed_share(run, t0, t1):
    oc = run.clients.outcomes(t0, t1)
    done = oc["connected"] + oc["refused"] + oc["timed out"]
    assert done >= 10, oc                      # enough attempts to mean something
    return (oc["refused"] + oc["timed out"]) / done


@pytest.fixture(scope="module")
def off():
    return run_flood_scenario(syncookies=0, backlog=128, flood_rate=200.0, flood_duration=5.0,
                              spoof="10.99.0.0/16")


@pytest.fixture(scope="module")
def on():
    return run_flood_scenario(syncookies=1, backlog=128, flood_rate=200.0, flood_duration=5.0,
                              spoof="10.99.0.0/16")


# ------------------------------------------------------------------ the classic flood

def test_cookies_off_queue_saturates_stays_full_and_legit_clients_fail(off):
    m, s, f = off.summary(), off.series, off.flood
    assert m["syns_sent"] == 1000
    # backlog + 1 (inet_csk_reqsk_queue_is_full(), Linux 6.x)
    assert m["syn_capacity"] == 129
    sat = m["saturated_at"]
    assert sat is not None and sat - f.start_time < 1.0
    # 129 requests at 200 SYN/s take 0.64 s: nobody scripted that number
    assert sat == pytest.approx(f.start_time + 128 / 200, abs=0.01)
    end = f.start_time + f.duration
    full = [q for t, q in zip(s.t, s.syn_queue) if sat + 0.05 < t <= end]
    assert full and all(q == 129 for q in full)
    assert max(s.syn_queue) == 129                    # never more than fit
    assert failed_share(off, sat, end) >= 0.9
    # before the flood everyone got in, quickly (RTT of a 1 ms LAN)
    assert off.clients.success_ratio(None, f.start_time) == 1.0
    assert all(x < 0.01 for x in off.clients.latencies(None, f.start_time))
    assert m["cookies_sent"] == 0 and m["listen_drops"] > 800
    # every SYN-ACK to a spoofed address (first ones and retransmissions: tcp_synack_retries) died
    # with "no route to host"; the legitimate clients' SYN-ACKs arrived
    to_spoofed = sum(1 for r in off.net.trace.filter(kind="send", host="server")
                     if r.packet.dst.startswith("10.99.") and r.packet.segment.flags.names == "SYN,ACK")
    assert m["synack_retrans"] > 0 and to_spoofed == 129 + m["synack_retrans"]
    assert off.net.trace.drop_reasons() == {DropReason.NO_ROUTE: to_spoofed}
    assert accounting_ok(off.net)


def test_cookies_on_legit_clients_get_through_and_queue_stays_bounded(on, off):
    m, s, f = on.summary(), on.series, on.flood
    end = f.start_time + f.duration
    assert m["cookies_sent"] > 800
    # cookies start only once the queue has overflowed (tcp_syncookies=1)
    assert m["cookies_started_at"] >= m["saturated_at"]
    assert m["cookies_started_at"] - m["saturated_at"] < 0.05
    assert on.clients.success_ratio(f.start_time, end) >= 0.99
    assert failed_share(on, f.start_time, end) <= 0.01
    assert m["cookies_validated"] >= len(on.clients.latencies(m["saturated_at"], end)) - 1
    assert m["cookies_failed"] == 0
    assert max(s.syn_queue) <= m["syn_capacity"]      # half-open state stays bounded
    assert m["listen_drops"] == 0
    # and the very same flood without cookies hurt
    assert off.summary()["legit_success_during"] < 0.3


def test_spoofed_sources_that_are_live_hosts_reset_and_free_the_queue():
    dead = run_flood_scenario(syncookies=0, spoof="10.99.0.0/28", live_hosts=0)
    live = run_flood_scenario(syncookies=0, spoof="10.99.0.0/28", live_hosts=14)
    d, l = dead.summary(), live.summary()
    assert d["saturated_at"] is not None and d["listen_drops"] > 500
    assert l["listen_drops"] < d["listen_drops"] / 10
    assert l["peak_syn_queue"] < 20
    # each live host answered SYN-ACKs with RST (RFC 9293 §3.10.7.1: ACK to a closed port)...
    rsts = sum(live.net.nodes[f"live{i}"].counters["OutRsts"] for i in range(1, 15))
    assert rsts >= 900
    # ...and the server dropped the request on that RST (§3.10.7.4: RST in SYN-RECEIVED)
    back = [r for r in live.net.trace if r.kind == "state" and r.host == "server"
            and r.what == "LISTEN" and r.reason is StateCause.RST_IN_SYN_RECEIVED]
    assert len(back) >= 900
    assert not any(t.remote_ip.startswith("10.99.") for t in live.listener.syn_queue)
    assert live.clients.success_ratio() == 1.0


# ------------------------------------------------------------- cookies with a raw peer

def _syn(port, isn):
    return Segment(port, 80, Seq(isn), Seq(0), Flags.SYN, 64240,
                   Options(mss=1460, wscale=7))


def _ack(port, isn, cookie_synack, plus=0):
    return Segment(port, 80, Seq(isn + 1), cookie_synack.seq + 1 + plus, Flags.ACK, 502)


def test_forged_and_stale_cookies_are_rejected_and_counted():
    net = simtcp.Network(seed=3)
    server = net.add_host("server", "192.168.1.10")
    peer = net.add_peer("192.168.1.99")
    net.add_link(peer, server, delay=0.001)
    server.sysctl["net.ipv4.tcp_syncookies"] = 2          # always: no need to fill the queue
    lsock = server.socket()
    lsock.bind(("0.0.0.0", 80))
    lsock.listen(128)
    synacks = {}
    for port, isn in ((40000, 1000), (40001, 2000), (40002, 3000)):
        peer.send(Packet(peer.ip, server.ip, _syn(port, isn)))
        net.run(until=net.now + 0.01)
        synacks[port] = peer.packets[-1].segment
        assert synacks[port].flags == Flags.SYN | Flags.ACK
    c = server.counters
    assert c["SyncookiesSent"] == 3 and not lsock.listener.syn_queue   # no state kept
    # forged: the right 4-tuple, a wrong acknowledgment number
    peer.send(Packet(peer.ip, server.ip, _ack(40001, 2000, synacks[40001], plus=12345)))
    net.run(until=net.now + 0.01)
    assert c["SyncookiesFailed"] == 1 and c["SyncookiesRecv"] == 0
    rst = peer.packets[-1].segment
    assert rst.flags == Flags.RST and rst.seq == synacks[40001].seq + 1 + 12345
    # genuine, 100 s later: still within the 2-minute validity (TCP_SYNCOOKIE_VALID,
    # include/net/tcp.h)
    net.run(until=100.0)
    peer.send(Packet(peer.ip, server.ip, _ack(40000, 1000, synacks[40000])))
    net.run(until=net.now + 0.01)
    assert c["SyncookiesRecv"] == 1 and len(lsock.listener.accept_queue) == 1
    # stale: the right cookie after 3 minutes. A fresh cookie at t=170 s keeps the "recent
    # overflow" stamp young, so Linux would check (and reject) it rather than skip the check.
    net.run(until=170.0)
    peer.send(Packet(peer.ip, server.ip, _syn(40009, 9000)))
    net.run(until=181.0)
    peer.send(Packet(peer.ip, server.ip, _ack(40002, 3000, synacks[40002])))
    net.run(until=net.now + 0.01)
    assert c["SyncookiesFailed"] == 2 and c["SyncookiesRecv"] == 1
    assert peer.packets[-1].segment.flags == Flags.RST


# ---------------------------------------------------------------------- memory

def _peak(n_syns):
    gc.collect()
    tracemalloc.start()
    run = run_flood_scenario(syncookies=1, flood_rate=n_syns / 2.0, flood_duration=2.0,
                             flood_start=0.5, clients=1, client_rate=1.0, until=3.0,
                             sample_every=0.5, trace=False, capture=False)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert run.flood.sent == n_syns
    assert run.summary()["cookies_sent"] >= n_syns - 200
    assert len(run.server.stack.conns) <= 140             # no per-SYN state
    return peak


def test_memory_stays_flat_when_the_flood_grows_with_cookies_on():
    _peak(500)                                            # warm-up: lazy imports, caches
    small, big = _peak(1500), _peak(6000)
    # 4x the SYNs; a per-SYN leak of even 27 bytes would add 120 kB
    assert big - small < 120_000, (small, big)


# ------------------------------------------------------------------- rate limiting

def test_per_source_rate_limit_stops_a_single_source_flood_only():
    single = run_flood_scenario(syncookies=0, spoof=None)
    single_rl = run_flood_scenario(syncookies=0, spoof=None, rate_limit=(10, 20))
    rand_rl = run_flood_scenario(syncookies=0, spoof="random", rate_limit=(10, 20))
    f = single.flood
    end = f.start_time + f.duration
    s0, s1, r1 = single.summary(), single_rl.summary(), rand_rl.summary()
    # one loud source: the limiter drops most of it, the queue never fills, clients get in
    assert s0["saturated_at"] is not None and failed_share(single, s0["saturated_at"], end) >= 0.9
    assert s1["ratelimit_dropped"] >= 900 and s1["saturated_at"] is None
    assert single_rl.clients.success_ratio(f.start_time, end) >= 0.99
    assert set(single_rl.limiter.drops_by_source) == {single_rl.attacker.ip}
    # spoofed random sources: each sends one SYN, always under its limit
    assert r1["ratelimit_dropped"] <= 5
    assert r1["saturated_at"] is not None
    assert failed_share(rand_rl, r1["saturated_at"], end) >= 0.9


# ------------------------------------------------------------------- the pieces

def _lan(seed=1):
    net = simtcp.Network(seed=seed)
    server = net.add_host("server", "192.168.1.10")
    atk = net.add_peer("192.168.1.66", name="attacker")
    cli = net.add_host("client", "192.168.1.101")
    net.add_lan([server, atk, cli], delay=0.001)
    return net, server, atk, cli


def _flood_sends(net):
    return [r for r in net.trace if r.kind == "send" and r.reason is SendCause.SYN_FLOOD]


def test_synflood_timing_count_options_and_sources():
    net, server, atk, _ = _lan()
    fl = SynFlood(atk, (server.ip, 80), rate=100.0, duration=0.5, spoof="10.99.0.0/16",
                  start=1.0)
    assert fl.total == 50 and fl.sent == 0
    net.run(until=3.0)
    sends = _flood_sends(net)
    assert fl.sent == 50 and len(sends) == 50
    assert [r.time for r in sends] == pytest.approx([1.0 + k / 100 for k in range(50)])
    for r in sends:
        p = r.packet
        assert p.segment.flags == Flags.SYN and p.dst == server.ip and p.segment.dport == 80
        assert p.src.startswith("10.99.") and p.src not in ("10.99.0.0", "10.99.255.255")
        assert p.segment.options.mss == 1460 and p.segment.options.wscale == 7
        assert p.segment.options.ts is None
    assert len({r.packet.src for r in sends}) > 45            # drawn, not repeated
    assert len({r.packet.segment.sport for r in sends}) > 45
    # nothing listens on port 80 here: every SYN got RST,ACK (tcp_v4_send_reset(), RFC 9293
    # §3.10.7.1), sent to nowhere
    assert server.counters["PassiveOpens"] == 0 and server.counters["OutRsts"] == 50
    assert net.trace.drop_reasons() == {DropReason.NO_ROUTE: 50}


def test_synflood_spoof_list_round_robin_none_and_random():
    net, server, atk, _ = _lan()
    SynFlood(atk, (server.ip, 80), rate=10.0, duration=0.5, spoof=["10.0.0.1", "10.0.0.2"])
    net.run(until=1.0)
    assert [r.packet.src for r in _flood_sends(net)] == ["10.0.0.1", "10.0.0.2"] * 2 + \
        ["10.0.0.1"]
    net, server, atk, _ = _lan()
    SynFlood(atk, (server.ip, 80), rate=10.0, duration=0.3, spoof=None,
             timestamps=True, wscale=False)
    net.run(until=1.0)
    sends = _flood_sends(net)
    assert {r.packet.src for r in sends} == {atk.ip}
    assert all(r.packet.segment.options.ts is not None and r.packet.segment.options.wscale
               is None for r in sends)
    # unspoofed, the answers (RST,ACK: nothing listens) come back to the attacker itself
    assert [p.segment.flags for p in atk.packets] == [Flags.RST | Flags.ACK] * 3
    net, server, atk, _ = _lan()
    SynFlood(atk, (server.ip, 80), rate=100.0, duration=1.0, spoof="random")
    net.run(until=2.0)
    first_octets = {int(r.packet.src.split(".")[0]) for r in _flood_sends(net)}
    assert len(first_octets) > 50 and not first_octets & {0, 127} and max(first_octets) < 224


@pytest.mark.parametrize("lo, hi", [(1024, 65535), (1, 65534), (0, 0), (5, 6), (0, 2**32 - 1),
                                    (167968769, 168034302)])
def test_flood_draws_the_values_randint_draws_from_the_same_stream(lo, hi):
    """SynFlood draws ports and addresses with uniform_int instead of randint (fewer calls
    per SYN); the values, and so every flood's trace, must stay those of randint."""
    import random
    from simtcp.tools.floodtraffic import uniform_int
    ours, theirs = random.Random(11), random.Random(11)
    draw = uniform_int(ours, lo, hi)
    assert [draw() for _ in range(2000)] == [theirs.randint(lo, hi) for _ in range(2000)]
    assert ours.getrandbits(64) == theirs.getrandbits(64)     # the streams stay in step
    with pytest.raises(ValueError, match="empty"):
        uniform_int(ours, 5, 4)


@pytest.mark.parametrize("kwargs, match", [
    (dict(rate=0), "rate"), (dict(duration=-1), "duration"), (dict(spoof="10.99/x"), "spoof"),
    (dict(spoof=[]), "spoof"), (dict(target=("1.2.3.4", 0)), "target"),
])
def test_synflood_rejects_nonsense(kwargs, match):
    net, server, atk, _ = _lan()
    args = dict(target=(server.ip, 80))
    args.update(kwargs)
    with pytest.raises(ValueError, match=match):
        SynFlood(atk, **args)


def test_clients_record_refused_connected_and_timed_out():
    net, server, atk, cli = _lan()
    refused = Clients(cli, (server.ip, 81), rate=2.0, duration=1.0)
    lsock = server.socket()
    lsock.bind(("0.0.0.0", 80))
    lsock.listen(8)
    ok = Clients([cli], (server.ip, 80), rate=2.0, duration=1.0)
    lost = Clients([cli], ("192.168.1.200", 80), rate=2.0, duration=1.0, timeout=2.5)
    net.run(until=5.0)
    assert [a.outcome for a in refused.attempts] == ["refused", "refused"]
    assert refused.success_ratio() == 0.0 and refused.latencies() == []
    assert [a.outcome for a in ok.attempts] == ["connected", "connected"]
    assert ok.latencies() == pytest.approx([0.002, 0.002])
    assert [a.t_start for a in ok.attempts] == [0.0, 0.5]
    assert [a.outcome for a in lost.attempts] == ["timed out", "timed out"]
    assert [a.t_end for a in lost.attempts] == pytest.approx([2.5, 3.0])
    assert math.isnan(Clients([cli], (server.ip, 80), duration=0).success_ratio())
    # finished sockets were closed: no socket of the client is left connecting
    assert not [c for c in cli.stack.conns.values() if c.state.value == "SYN-SENT"]


def test_scenario_is_deterministic_and_reads_like_a_report(on):
    again = run_flood_scenario(syncookies=1, backlog=128, flood_rate=200.0,
                               flood_duration=5.0, spoof="10.99.0.0/16")
    def plain(series):
        return {k: [None if isinstance(v, float) and math.isnan(v) else v for v in vs]
                for k, vs in series.as_dict().items()}
    assert plain(again.series) == plain(on.series)
    text = str(on)
    assert "tcp_syncookies=1" in text and "backlog 128" in text and "1000 SYNs" in text
    assert f"cookies sent {on.summary()['cookies_sent']}" in text
    assert "<table>" in on._repr_html_()
    rates = on.series.rate("attack_sent")
    assert max(rates) == pytest.approx(200.0, rel=0.15)


def test_scenario_rejects_bad_settings():
    with pytest.raises(ValueError, match="syncookies"):
        run_flood_scenario(syncookies=3)
    with pytest.raises(ValueError, match="live_hosts"):
        run_flood_scenario(spoof="random", live_hosts=2)


# ----------------------------------------------------------------------- figures

def _texts(fig):
    out = []
    for ax in fig.axes:
        out += [ax.get_title(loc="left"), ax.get_ylabel(), ax.get_xlabel()]
        leg = ax.get_legend()
        if leg is not None:
            out += [x.get_text() for x in leg.get_texts()]
        out += [x.get_text() for x in ax.texts]
    return out + [x.get_text() for x in fig.texts]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_dashboard_and_comparison_draw_in_both_languages(on, off, lang):
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    from simtcp.viz.flood import compare_runs, flood_dashboard
    from simtcp.viz.i18n import t
    with warnings.catch_warnings():
        warnings.simplefilter("error")          # a missing glyph warns; make it fail
        fig = flood_dashboard(off, lang=lang)
        FigureCanvasAgg(fig).draw()
        cmp_fig = compare_runs([off, on], lang=lang)
        FigureCanvasAgg(cmp_fig).draw()
    texts = _texts(fig)
    assert t("flood.saturated", lang, t=off.tap.saturated_at) in texts
    assert any(t("flood.syn_queue", lang) == x for x in texts)
    assert t("flood.capacity", lang, n=129) in texts
    on_fig = flood_dashboard(on, lang=lang)
    assert t("flood.cookies_start", lang, t=on.tap.first_cookie_at) in \
        [x.strip() for x in _texts(on_fig)]
    labels = _texts(cmp_fig)
    assert t("flood.label.cookies0", lang) in labels and t("flood.label.cookies1", lang) in labels
    with pytest.raises(ValueError, match="labels"):
        compare_runs([off, on], labels=["only one"], lang=lang)


def _attempt_times(seed, arrivals):
    run = run_flood_scenario(syncookies=1, flood_rate=50, flood_duration=1.0, seed=seed,
                             client_arrivals=arrivals, trace=False, capture=False)
    return [a.t_start for a in run.clients.attempts]


def test_poisson_clients_follow_the_seed_and_steady_clients_keep_their_timetable():
    steady = _attempt_times(1, "steady")
    rate = 5.0                                       # run_flood_scenario's client_rate
    assert steady == pytest.approx([k / rate for k in range(len(steady))])
    first, again, other = (_attempt_times(1, "poisson"), _attempt_times(1, "poisson"),
                           _attempt_times(2, "poisson"))
    assert first == again                            # same seed, same story
    assert first != other and first != steady        # another seed, another story
    assert len(first) == len(steady)                 # same number of users, random moments
    gaps = [b - a for a, b in zip(first, first[1:])]
    assert len(set(round(g, 9) for g in gaps)) > 1
    with pytest.raises(ValueError, match="steady"):
        run_flood_scenario(client_arrivals="random")


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_flood_band_draws_a_median_and_a_band_per_defence(lang):
    from simtcp.viz.flood import flood_band

    def served(seed, syncookies):
        run = run_flood_scenario(syncookies=syncookies, seed=seed, flood_rate=200,
                                 flood_duration=1.0, client_arrivals="poisson",
                                 trace=False, capture=False)
        return {"t": run.series.t, "served": run.series.legit_success}

    rows = simtcp.sweep(served, params={"syncookies": [0, 1]}, seeds=range(3),
                        executor="serial")
    fig = flood_band(rows, flood=(1.0, 2.0), lang=lang)
    ax = fig.axes[0]
    assert len(ax.lines) == 2                        # one median line per defence
    assert len(ax.collections) == 2                  # one min-max band per defence
    labels = [line.get_label() for line in ax.lines]
    assert labels[0] != labels[1]
    with pytest.raises(ValueError):
        flood_band([{"seed": 1}], lang=lang)
