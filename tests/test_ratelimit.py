"""SYN rate limiting (simtcp.ratelimit): token buckets like iptables limit / hashlimit."""
import dataclasses
import ipaddress
import random

import pytest

import simtcp

from simtcp.ratelimit import (HashLimit, SynRateLimit, TokenBucket, format_rate,
                              is_syn, parse_rate)
from simtcp.link import Dropped
from simtcp.segment import Packet, Segment
from simtcp.reasons import DropReason


def pkt(text="S 0:0(0) win 64240", src="10.0.0.5", dst="10.0.0.2", sport=40000, dport=80):
    return Packet(src, dst, Segment.parse(text, sport, dport))


# ----------------------------------------------------------------------------- rates

@pytest.mark.parametrize("text, per_second", [
    ("10/s", 10.0), ("10/sec", 10.0), ("10/second", 10.0), ("10", 10.0), (10, 10.0),
    ("600/minute", 10.0), ("600/m", 10.0), ("3/hour", 3 / 3600), ("1/d", 1 / 86400),
    ("10/SEC", 10.0),
])
def test_parse_rate_accepts_iptables_spellings(text, per_second):
    assert parse_rate(text) == pytest.approx(per_second)


@pytest.mark.parametrize("bad", ["10/fortnight", "ten/s", "0/s", -1, "10/", True, None])
def test_parse_rate_rejects_nonsense(bad):
    with pytest.raises(ValueError, match="rate"):
        parse_rate(bad)


def test_format_rate_picks_a_whole_number_unit():
    assert [format_rate(r) for r in (10, 0.5, 1 / 3, 2 / 3600, 1 / 86400)] == \
        ["10/s", "30/min", "20/min", "2/hour", "1/day"]
    assert format_rate(10, iptables=True) == "10/sec"
    assert format_rate(0.5, iptables=True) == "30/min"


# ----------------------------------------------------------------------------- TokenBucket

def test_token_bucket_exact_sequence():
    tb = TokenBucket(10, 2)
    times = [0, 0, 0, 0.05, 0.1, 0.1, 0.25, 0.35, 0.45, 10.0, 10.0, 10.0]
    assert [tb.allow(t) for t in times] == \
        [True, True, False,     # a full bucket of 2, then empty
         False,                 # 0.05 s refills half a token
         True, False,           # 0.1 s: exactly one token
         True, True, True,      # 1.5 tokens each time, half a token carried
         True, True, False]     # long idle: refilled to the burst, not beyond


def test_token_bucket_burst_then_rate():
    # like: iptables -m limit --limit 10/s --limit-burst 20
    tb = TokenBucket("10/s", 20)
    assert sum(tb.allow(0.0) for _ in range(50)) == 20
    # 1000 attempts at 100/s for 10 s: 20 (burst) + 10/s * 9.99 s refill -> 119
    tb = TokenBucket(10, 20)
    assert sum(tb.allow(k * 0.01) for k in range(1000)) == 119


@pytest.mark.parametrize("make", [lambda: TokenBucket(10, 1).allow,
                                  lambda: (lambda now, hl=HashLimit(10, 1): hl.allow("a", now))])
def test_float_steps_count_as_whole_tokens(make):
    # 0.1 + 0.1 + 0.1 != 0.3 in binary; a refill of 0.9999999999 still is one token
    allow = make()
    t, results = 0.0, []
    for _ in range(100):
        results.append(allow(t))
        t += 0.1
    assert all(results)


def test_token_bucket_peek_and_time_order():
    tb = TokenBucket(4, 3)
    assert tb.tokens(0.0) == 3
    tb.allow(0.0)
    assert tb.tokens(0.25) == pytest.approx(3.0)
    assert tb.tokens(0.1) == pytest.approx(2.4)
    with pytest.raises(ValueError, match="backwards"):
        tb.allow(-1.0)
    with pytest.raises(ValueError, match="burst"):
        TokenBucket(10, 0)


# ----------------------------------------------------------------------------- HashLimit

def test_hashlimit_isolates_sources():
    hl = HashLimit(1, 3)
    assert [hl.allow("10.0.0.5", 0.0) for _ in range(4)] == [True, True, True, False]
    assert [hl.allow("10.0.0.6", 0.0) for _ in range(4)] == [True, True, True, False]
    assert hl.allow("10.0.0.5", 0.5) is False
    assert hl.allow("10.0.0.5", 1.0) is True      # 1 token per second
    assert len(hl) == 2


def test_hashlimit_expiry_resets_the_bucket():
    hl = HashLimit("1/min", 2, expire=10.0)
    assert [hl.allow("a", 0.0) for _ in range(3)] == [True, True, False]
    assert hl.allow("a", 9.9) is False            # 9.9 s of 1/min: not yet a token
    assert len(hl) == 1 and hl.expired == 0
    # the last packet refreshed the entry at 9.9 s: it lives until 19.9 s
    assert hl.purge(19.8) == 0 and len(hl) == 1
    assert hl.purge(19.9) == 1 and len(hl) == 0 and hl.expired == 1
    assert hl.allow("a", 20.0) is True            # a new entry starts with a full bucket


def test_hashlimit_table_stays_bounded_under_a_spoofed_flood():
    # 1000 SYN/s, each from a fresh random source, for 60 s; entries expire after 10 s.
    rng = random.Random(4)
    hl = HashLimit(10, 20, expire=10.0)
    admitted = 0
    for k in range(60_000):
        now = k / 1000
        src = str(ipaddress.IPv4Address(rng.getrandbits(32)))
        admitted += hl.allow(src, now)
        assert len(hl) <= 10_000                 # at most 10 s worth of sources
    assert hl.peak_entries == 10_000
    assert hl.expired == 50_000
    # every spoofed SYN was under its own source's limit: hashlimit does not stop this flood
    assert admitted == 60_000


def test_hashlimit_full_table_refuses_new_keys_only():
    hl = HashLimit(1, 1, expire=5.0, max_entries=2)
    assert hl.allow("a", 0.0) and hl.allow("b", 0.0)
    assert hl.allow("c", 0.0) is False and hl.table_full == 1
    assert hl.allow("a", 1.0) is True             # existing keys still served
    assert hl.allow("c", 5.0) is True             # "b" expired at 5.0 s, room for "c"


def test_hashlimit_modes_make_keys():
    hl = HashLimit(1, 1, key="srcip,dstport")
    assert hl.key_of(pkt(dport=80)) == ("10.0.0.5", 80)
    assert hl.reject_reason(pkt(dport=80), 0.0) is None
    assert hl.reject_reason(pkt(dport=443), 0.0) is None      # another port, another bucket
    assert hl.reject_reason(pkt(dport=80), 0.0) == "from 10.0.0.5 to port 80 over 1/s"
    assert HashLimit(1, 1, key="dstip").key_of(pkt()) == "10.0.0.2"
    assert HashLimit(1, 1, key="").key_of(pkt()) == ()
    with pytest.raises(ValueError, match="srcip, srcport, dstip, dstport"):
        HashLimit(1, 1, key="srcipp")
    with pytest.raises(ValueError, match="expire"):
        HashLimit(1, 1, expire=0)


# ----------------------------------------------------------------------------- SynRateLimit

def test_syn_over_the_limit_is_dropped_with_a_reason():
    mb = SynRateLimit(HashLimit(10, 20))
    syn = pkt()
    verdicts = [mb.judge(syn, 0.0) for _ in range(21)]
    assert verdicts[:20] == [None] * 20
    assert verdicts[20] == "SYN from 10.0.0.5 over 10/s"
    assert (mb.passed, mb.dropped, mb.syns_passed) == (20, 1, 20)
    assert mb.drops_by_source == {"10.0.0.5": 1}
    assert mb.judge(pkt(src="10.0.0.6"), 0.0) is None   # another source has its own bucket


@pytest.mark.parametrize("text", [
    "S. 0:0(0) ack 1 win 65160",       # SYN-ACK
    ". 1:1(0) ack 1 win 502",          # handshake ACK
    "P. 1:6(5) ack 1 win 502",         # data
    "F. 6:6(0) ack 1 win 502",
    "R 1:1(0)",
    "SF 0:0(0) win 64240",             # SYN+FIN is not --syn (FIN must be clear)
    "SR 0:0(0) win 64240",
])
def test_non_syn_segments_pass_even_over_the_limit(text):
    hl = HashLimit(1, 1)
    mb = SynRateLimit(hl)
    assert mb.judge(pkt(), 0.0) is None and mb.judge(pkt(), 0.0) is not None
    assert mb.judge(pkt(text), 0.0) is None
    assert hl.tokens("10.0.0.5", 0.0) == pytest.approx(0.0)    # the limiter was not consulted
    assert mb.dropped == 1


def test_ecn_setup_syn_is_still_a_syn():
    assert is_syn(pkt("SEW 0:0(0) win 64240"))
    mb = SynRateLimit(TokenBucket(1, 1))
    assert mb.judge(pkt("SEW 0:0(0) win 64240"), 0.0) is None
    assert mb.judge(pkt("SEW 0:0(0) win 64240"), 0.0) == \
        "SYN from 10.0.0.5 (all sources together over 1/s)"


def test_ports_restrict_the_rule():
    mb = SynRateLimit(TokenBucket(1, 1), ports=[80, 443])
    assert mb.judge(pkt(dport=80), 0.0) is None
    assert mb.judge(pkt(dport=443), 0.0) is not None
    assert all(mb.judge(pkt(dport=22), 0.0) is None for _ in range(5))
    with pytest.raises(ValueError, match="ports"):
        SynRateLimit(TokenBucket(1, 1), ports=[70000])
    with pytest.raises(ValueError, match="limiter"):
        SynRateLimit("10/s")
    with pytest.raises(ValueError, match="chain"):
        SynRateLimit(TokenBucket(1, 1), chain="OUTPUT")


def test_installed_as_an_input_hook_it_drops_syns_at_the_server():
    """The limiter sits on the server's INPUT hook (like the iptables rule it prints): the
    SYN over the limit crosses the wire and is dropped on arrival, with the reason."""
    from simtcp.hooks import HookPoint
    net = simtcp.Network(seed=1)
    server = net.add_host("server", "10.0.0.1")
    peer = net.add_peer("10.0.0.5")
    net.add_link(peer, server, delay=0.001)
    mb = SynRateLimit(TokenBucket(1, 1), ports=80)
    handle = mb.install(server)
    assert handle.point is HookPoint.INPUT and handle.name == "SynRateLimit"
    peer.send(pkt(dst="10.0.0.1", sport=40000))
    peer.send(pkt(dst="10.0.0.1", sport=40001))
    net.run()
    drops = [r for r in net.trace if r.kind == "drop"]
    assert [(r.host, r.reason, r.get("detail")) for r in drops] == [
        ("server", DropReason.RATE_LIMIT,
         "SYN from 10.0.0.5 (all sources together over 1/s)")]
    assert drops[0].packet.segment.sport == 40001
    server.hooks.remove(handle)
    peer.send(pkt(dst="10.0.0.1", sport=40002))
    net.run()
    assert mb.dropped == 1                                    # removed: no longer consulted


def test_str_reads_like_iptables():
    assert str(SynRateLimit(HashLimit(10, 20))) == (
        "-A INPUT -p tcp --syn -m hashlimit --hashlimit-above 10/sec --hashlimit-burst 20 "
        "--hashlimit-mode srcip --hashlimit-name syn --hashlimit-htable-expire 10000 -j DROP")
    assert str(SynRateLimit(HashLimit("30/min", 5, key="srcip,dstport", expire=5,
                                      max_entries=1000), ports=80)) == (
        "-A INPUT -p tcp --dport 80 --syn -m hashlimit --hashlimit-above 30/min "
        "--hashlimit-burst 5 --hashlimit-mode srcip,dstport --hashlimit-name syn "
        "--hashlimit-htable-max 1000 --hashlimit-htable-expire 5000 -j DROP")
    # -m limit cannot be inverted: accept under the limit, then drop the rest
    assert str(SynRateLimit(TokenBucket("10/s", 20), ports=[443, 80])).splitlines() == [
        "-A INPUT -p tcp --syn -m multiport --dports 80,443 -m limit --limit 10/sec "
        "--limit-burst 20 -j ACCEPT",
        "-A INPUT -p tcp --syn -m multiport --dports 80,443 -j DROP"]


def test_dropped_is_a_frozen_value():
    d = Dropped(DropReason.LINK_LOSS)
    assert d == Dropped("link_loss") and hash(d) == hash(Dropped(DropReason.LINK_LOSS))
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.reason = DropReason.QUEUE_FULL


def test_drop_verdict_is_a_frozen_value():
    from simtcp.hooks import Drop
    d = Drop(DropReason.RATE_LIMIT, "x")
    assert d == Drop(DropReason.RATE_LIMIT, "x") and hash(d) == hash(
        Drop(DropReason.RATE_LIMIT, "x"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        d.reason = DropReason.QUEUE_FULL
    with pytest.raises(ValueError, match="DropReason.LINK_LOSS"):
        Dropped("link loss")          # display words are not a reason
