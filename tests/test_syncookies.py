"""SYN cookies (simtcp.syncookies) against the rules of Linux net/ipv4/syncookies.c."""
import ipaddress
import random

import pytest
from hypothesis import given, settings, strategies as st

from simtcp.seq import Seq
from simtcp.syncookies import (FORGERY_PROBABILITY, MSSTAB, Cookie, CookieJar, TsOptions,
                               bernstein_fields, cookie_count, decode_cookie, decode_ts_options,
                               encode_ts_options, mss_index)

C, S, CP, SP = "192.168.1.10", "192.168.1.20", 40000, 80     # client, server, ports


@pytest.fixture
def jar():
    return CookieJar(random.Random(1))


def ack_for(jar, cookie_isn, client_isn, now, tup=(C, S, CP, SP)):
    """What the server's check sees for the client's final ACK: seq = ISN+1, ack = cookie+1."""
    return jar.check(*tup, (client_isn + 1) % 2**32, (cookie_isn + 1) % 2**32, now)


# ----------------------------------------------------------------------------- round trip

ipv4 = st.integers(0, 2**32 - 1).map(lambda n: str(ipaddress.IPv4Address(n)))


@settings(max_examples=300, deadline=None)
@given(saddr=ipv4, daddr=ipv4, sport=st.integers(0, 65535), dport=st.integers(0, 65535),
       client_isn=st.integers(0, 2**32 - 1), mss=st.one_of(st.none(), st.integers(0, 65535)),
       now=st.floats(0, 1e7), later=st.floats(0, 1))
def test_make_then_check_returns_the_mss_bucket(saddr, daddr, sport, dport, client_isn, mss,
                                                now, later):
    jar = CookieJar(random.Random(7))
    isn, mss_used = jar.make(saddr, daddr, sport, dport, client_isn, mss, now)
    assert mss_used == MSSTAB[mss_index(mss)]
    # any time in the same minute or the next one: count difference 0 or 1
    minute_end = (cookie_count(now) + 2) * 60.0
    then = now + later * (minute_end - now) * 0.999999
    assert cookie_count(then) - cookie_count(now) in (0, 1)
    tup = (saddr, daddr, sport, dport)
    # the stack's own call (no argument checks) makes the very same cookie
    assert jar.make_for_syn(*tup, client_isn, mss_index(mss), now) == isn
    assert ack_for(jar, isn, client_isn, then, tup) == mss_used
    fields = decode_cookie(isn, *tup, client_isn, jar=jar, now=then)
    assert fields.valid is True and fields.mss == mss_used
    assert fields.count == cookie_count(now) & 0xFF


def test_cookie_is_deterministic_for_a_seed():
    # Pinned: same seed -> same cookie, run after run (traces and pcaps depend on it).
    assert CookieJar(random.Random(1)).make(C, S, CP, SP, 1000, 1460, 0.0) == \
        Cookie(2049537547, 1460)


def test_same_seed_agrees_different_seed_disagrees():
    a, b, c = (CookieJar(random.Random(s)) for s in (5, 5, 6))
    args = (C, S, CP, SP, 123456, 1460, 30.0)
    assert a.make(*args) == b.make(*args)
    assert a.make(*args).isn != c.make(*args).isn
    # and a server with other secrets cannot validate it
    assert ack_for(c, a.make(*args).isn, 123456, 30.0) is None
    assert ack_for(b, a.make(*args).isn, 123456, 30.0) == 1460


def test_jar_draws_from_the_given_rng_only():
    r1, r2 = random.Random(3), random.Random(3)
    CookieJar(r1)
    CookieJar(r2)
    assert r1.random() == r2.random()
    with pytest.raises(ValueError, match="random.Random"):
        CookieJar(random)


def test_seq_values_are_accepted(jar):
    isn, mss = jar.make(C, S, CP, SP, Seq(2**32 - 1), 1460, 0.0)
    # client ISN 2**32-1: the ACK's seq wraps to 0
    assert jar.check(C, S, CP, SP, Seq(2**32 - 1) + 1, Seq(isn) + 1, 1.0) == 1460


# ----------------------------------------------------------------------------- forgery

def test_forgery_probability_is_2_to_the_minus_29():
    # 2 acceptable minute counts x 4 acceptable MSS indices out of 2**32 ack values
    assert FORGERY_PROBABILITY == 2**-29


def test_random_acks_are_rejected(jar):
    rng = random.Random(99)
    accepted = sum(jar.check(C, S, CP, SP, 1001, rng.getrandbits(32), 30.0) is not None
                   for _ in range(10_000))
    assert accepted == 0      # expected 10_000 * 2**-29 ≈ 2e-5


def test_random_acks_from_random_sources_are_rejected(jar):
    rng = random.Random(100)
    for _ in range(2_000):
        src = str(ipaddress.IPv4Address(rng.getrandbits(32)))
        assert jar.check(src, S, rng.randrange(1024, 65536), SP, rng.getrandbits(32),
                         rng.getrandbits(32), 30.0) is None


def test_mss_index_is_additive_inside_the_cookie(jar):
    # The low 24 bits are H1 + mssind: an ACK one higher decodes as the next MSS bucket.
    # Why Linux only accepts mssind < 4, and why a forger's chance is 8 in 2**32, not 1.
    isn, mss = jar.make(C, S, CP, SP, 5000, 536, 0.0)
    assert mss == 536
    got = [jar.check(C, S, CP, SP, 5001, (isn + 1 + k) % 2**32, 0.0) for k in (-1, 0, 1, 2, 3, 4)]
    assert got == [None, 536, 1300, 1440, 1460, None]
    # changing the top 8 bits changes the counter; H1 of another minute does not match
    assert jar.check(C, S, CP, SP, 5001, (isn + 1 + (1 << 24)) % 2**32, 0.0) is None
    assert jar.check(C, S, CP, SP, 5001, (isn + 1 - (1 << 24)) % 2**32, 60.0) is None


def test_wrong_client_isn_is_rejected(jar):
    isn, _ = jar.make(C, S, CP, SP, 7000, 1460, 0.0)
    assert jar.check(C, S, CP, SP, 7001, isn + 1, 0.0) == 1460
    assert jar.check(C, S, CP, SP, 7001 + 10, isn + 1, 0.0) is None
    assert jar.check(C, S, CP, SP, 7001 + (1 << 20), isn + 1, 0.0) is None


@pytest.mark.parametrize("tup", [
    ("192.168.1.11", S, CP, SP),      # other client address
    (C, "192.168.1.21", CP, SP),      # other server address
    (C, S, CP + 2, SP),               # other client port
    (C, S, CP, 443),                  # other server port
    (S, C, SP, CP),                   # the SYN-ACK's order: wrong, the ACK's order is needed
])
def test_wrong_four_tuple_is_rejected(jar, tup):
    isn, _ = jar.make(C, S, CP, SP, 1000, 1460, 0.0)
    assert ack_for(jar, isn, 1000, 0.0) == 1460
    assert ack_for(jar, isn, 1000, 0.0, tup) is None


# ----------------------------------------------------------------------------- age

@pytest.mark.parametrize("made, checked, ok", [
    (0.0, 0.0, True), (0.0, 59.0, True), (0.0, 59.999, True),
    (0.0, 60.0, True),                 # next minute: count difference 1
    (0.0, 119.0, True), (0.0, 119.999, True),
    (0.0, 120.0, False),               # count difference 2 = MAX_SYNCOOKIE_AGE
    (0.0, 180.0, False), (0.0, 1000.0, False),
    (59.5, 60.0, True), (59.5, 119.9, True),
    (59.5, 120.0, False),              # made late in minute 0: only 60.5 s of life
    (120.0, 60.0, False),              # from the future: age (1 - 2) & 0xFF = 255
    (0.0, 256 * 60 + 30.0, False),     # 256 minutes later the top 8 bits match again,
])                                     # but H1 of minute 256 differs from H1 of minute 0
def test_age_is_counted_in_whole_minutes(jar, made, checked, ok):
    isn, mss = jar.make(C, S, CP, SP, 424242, 1440, made)
    assert ack_for(jar, isn, 424242, checked) == (1440 if ok else None)


def test_cookie_count_is_one_tick_per_minute():
    assert [cookie_count(t) for t in (0, 59.999, 60, 119.9, 120, 3600)] == [0, 0, 1, 1, 2, 60]
    with pytest.raises(ValueError, match="virtual seconds"):
        cookie_count(-1)


# ----------------------------------------------------------------------------- MSS table

@pytest.mark.parametrize("mss, index", [
    (0, 0), (535, 0),                  # below 536: Linux still uses index 0, i.e. rounds UP
    (536, 0), (1299, 0), (1300, 1), (1439, 1), (1440, 2), (1459, 2), (1460, 3),
    (9000, 3), (65535, 3), (None, 0),  # None: no MSS option -> 536 (RFC 9293 §3.7.1)
])
def test_mss_index_table_boundaries(jar, mss, index):
    assert mss_index(mss) == index
    isn, used = jar.make(C, S, CP, SP, 1, mss, 0.0)
    assert used == MSSTAB[index]
    assert ack_for(jar, isn, 1, 0.0) == MSSTAB[index]


def test_bad_inputs_teach():
    jar = CookieJar(random.Random(0))
    with pytest.raises(ValueError, match="IPv4 address"):
        jar.make("300.1.1.1", S, CP, SP, 1, 1460, 0.0)
    with pytest.raises(ValueError, match="port"):
        jar.make(C, S, 70000, SP, 1, 1460, 0.0)
    with pytest.raises(ValueError, match="32-bit"):
        jar.make(C, S, CP, SP, 2**32, 1460, 0.0)
    with pytest.raises(ValueError, match="MSS"):
        jar.make(C, S, CP, SP, 1, 70000, 0.0)
    with pytest.raises(ValueError, match="virtual seconds"):
        jar.check(C, S, CP, SP, 1, 1, float("nan"))


# ----------------------------------------------------------------------------- timestamps

def test_ts_encoding_matches_the_linux_measurement():
    # measured on Linux 6.18: wscale 7 + SACK -> the low 6 bits of the cookie TSval read 23.
    ts = encode_ts_options(1000, 7, True, False)
    assert ts & 0x3F == 23
    assert ts == 960 + 23             # (1000 >> 6) << 6 | 23, not above the clock
    assert encode_ts_options(1000, None, False, False) == 960 + 0xF
    assert encode_ts_options(1000 - 40 + 23, 7, True, False) == 983   # exactly the clock


def test_ts_encoding_never_runs_ahead_of_the_clock():
    # 1000 has low bits 40; options 0x2F (47) > 40, so one 64-step back: 960 - 64 + 47
    assert encode_ts_options(1000, None, False, True) == 896 + 47
    # near zero the step back wraps modulo 2**32
    assert encode_ts_options(5, 7, True, False) == 2**32 - 64 + 23


@settings(max_examples=300, deadline=None)
@given(now=st.integers(0, 2**32 - 1), wscale=st.one_of(st.none(), st.integers(0, 14)),
       sack=st.booleans(), ecn=st.booleans())
def test_ts_round_trip(now, wscale, sack, ecn):
    ts = encode_ts_options(now, wscale, sack, ecn)
    assert 0 <= (now - ts) % 2**32 < 64          # at most 63 ticks behind the clock
    assert decode_ts_options(ts) == TsOptions(wscale, sack, ecn)


def test_ts_decode_rejections_follow_the_sysctls():
    with_ws = encode_ts_options(5000, 7, True, True)
    no_ws = encode_ts_options(5000, None, False, False)
    assert decode_ts_options(with_ws, tcp_timestamps=0) is None
    assert decode_ts_options(with_ws, tcp_sack=0) is None            # SACK bit, SACK off
    assert decode_ts_options(no_ws, tcp_sack=0) == (None, False, False)
    assert decode_ts_options(with_ws, tcp_window_scaling=0) is None  # wscale, scaling off
    assert decode_ts_options(no_ws, tcp_window_scaling=0) == (None, False, False)
    assert decode_ts_options(with_ws, tcp_ecn=0) == (7, True, False)  # ECN just not used
    wscale, sack, ecn = decode_ts_options(with_ws)
    assert (wscale, sack, ecn) == (7, True, True)


def test_ts_encode_rejects_unclamped_wscale():
    with pytest.raises(ValueError, match="clamps"):
        encode_ts_options(1000, 15, False, False)
    with pytest.raises(ValueError, match="32-bit"):
        encode_ts_options(2**32, 7, False, False)


# ----------------------------------------------------------------------------- notebooks

def test_decode_cookie_fields_and_explanations(jar):
    isn, _ = jar.make(C, S, CP, SP, 1000, 1452, 130.0)             # minute 2, PPPoE MSS
    f = decode_cookie(isn, C, S, CP, SP, 1000, jar=jar, now=185.0)
    assert (f.count, f.mss_index, f.mss, f.count_now, f.age, f.valid) == (2, 2, 1440, 3, 1, True)
    en = f.explain()
    assert "made in minute 2" in en and "MSS 1440" in en and "VALID" in en
    ja = f.explain("ja")
    for word in ("SYN cookie", "カウンタ", "MSSインデックス", "有効", "120〜180 秒"):
        assert word in ja
    old = decode_cookie(isn, C, S, CP, SP, 1000, jar=jar, now=240.0, lang="ja")
    assert old.valid is False and "古すぎる" in old.reason and "無効" in old.explain("ja")
    forged = decode_cookie(isn + 0x1000, C, S, CP, SP, 1000, jar=jar, now=130.0)
    assert forged.age == 0 and forged.count == 2          # the counter still reads right …
    assert forged.valid is False and forged.mss is None and "forged" in forged.reason
    assert jar.check(C, S, CP, SP, 1001, isn + 0x1000 + 1, 130.0) is None   # … the MSS not
    with pytest.raises(ValueError, match="'en' or 'ja'"):
        f.explain("fr")


def test_decode_cookie_without_secrets_is_opaque(jar):
    isn, _ = jar.make(C, S, CP, SP, 1000, 1460, 0.0)
    f = decode_cookie(isn, C, S, CP, SP, 1000)
    assert (f.count, f.mss, f.valid) == (None, None, None)
    assert "cannot be opened" in f.explain()
    assert "読み解けません" in f.explain("ja")
    without_now = decode_cookie(isn, C, S, CP, SP, 1000, jar=jar)
    assert without_now.mss == 1460 and without_now.valid is None


def test_bernstein_layout_is_readable_on_the_wire():
    assert bernstein_fields(0xFD123456) == (31, 5, 0x123456)
    assert bernstein_fields(0) == (0, 0, 0)
