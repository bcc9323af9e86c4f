"""SYN cookies: a listener that answers a SYN without remembering it (Linux net/ipv4/syncookies.c).

Theory of operation
-------------------
Under a SYN flood the SYN queue fills with half-open requests that will never complete. With
SYN cookies the server keeps *no* state for a SYN: it encodes what it must remember — that it
really sent a SYN-ACK to this 4-tuple recently, and the peer's MSS — into its own initial
sequence number (the "cookie"). A genuine client echoes it back as ``ack = cookie + 1`` in the
final ACK of the handshake; the server recomputes the cookie and, if it matches, creates the
connection only then. A spoofed SYN costs the server one SYN-ACK and no memory.

Linux layout (``secure_tcp_syn_cookie``), all arithmetic modulo 2**32::

    count  = jiffies / (60*HZ)                  minute counter   (here: int(now // 60))
    H0     = hash(saddr, daddr, sport<<16|dport, 0,     secret[0])
    H1(c)  = hash(saddr, daddr, sport<<16|dport, c,     secret[1])
    cookie = H0 + client_isn + (count << 24) + ((H1(count) + mssind) & 0xFFFFFF)

After subtracting ``H0 + client_isn`` the top 8 bits are the minute counter and the low 24
bits are ``H1(count) + mssind``: only the secret holder can strip the hashes, so on the wire
the cookie is indistinguishable from a random ISN. On the ACK (``check_tcp_syn_cookie``) the
age ``(count_now - top8) & 0xFF`` must be below ``MAX_SYNCOOKIE_AGE`` = 2 — a cookie is good
in the minute it was made and the next one, i.e. for between 60 and 120 s — and the recovered
``mssind`` must be below 4. A forged ACK therefore succeeds with probability 8 / 2**32
(2 acceptable minutes × 4 acceptable indices out of 2**32 values).

Only 2 bits carry the MSS, so the MSS is rounded to ``MSSTAB = (536, 1300, 1440, 1460)``.
Window scale, SACK and ECN do not fit; when the SYN carried timestamps Linux hides them in the
low 6 bits of its TSval (``cookie_init_timestamp``), the client echoes them in TSecr and
``cookie_timestamp_decode`` reads them back. Without timestamps they are lost.

Bernstein's original layout (1996, cr.yp.to/syncookies.html) for contrast::

    bits 31..27  t mod 32       (t increases every 64 s)
    bits 26..24  MSS index      (8 MSS values)
    bits 23..0   s = secret function of (client addr, client port, server addr, server port, t)

There the time and MSS fields are readable by anyone on the wire (see `bernstein_fields`);
Linux adds ``H0 + client_isn`` over all 32 bits so nothing is readable without the secrets.

The hash: Linux uses SipHash-2-4 (``cookie_hash()`` = ``siphash_4u32(saddr, daddr,
sport << 16 | dport, count, &syncookie_secret[c])``) keyed by two boot-time random 128-bit
secrets. Here a keyed BLAKE2b (``hashlib.blake2b(key=…, digest_size=8)`` over the same four
32-bit words, truncated to 32 bits like Linux's ``u32 cookie_hash()``) stands in for SipHash:
the same role (a keyed pseudo-random function of the 4-tuple and the minute), deterministic
for a seed, and computed in C. Python offers no keyed SipHash of its own (``hash()`` runs
SipHash with one per-process key, which a network's seed cannot set), and SipHash written in
Python costs 10-20 µs per call, against about 0.5 µs for BLAKE2b — a flood makes one cookie,
two hashes, per SYN. The bits differ from a real kernel's, the structure does not.

Address order: every function here takes the 4-tuple as **(client addr, server addr, client
port, server port)**. That is the SYN's (saddr, daddr, sport, dport) when the cookie is made
and equally the ACK's (saddr, daddr, sport, dport) when it is checked — in Linux both
``__cookie_v4_init_sequence`` and ``__cookie_v4_check`` hash the *incoming* packet's header,
which is swapped relative to the SYN-ACK the server sends.

Not here (the stack's job): deciding *when* to send cookies (``tcp_syncookies`` 0/1/2, SYN
queue overflow), checking the ACK only if the listener overflowed recently
(``tcp_synq_no_recent_overflow``), and clamping a SYN's wscale above 14 to 14
(``tcp_parse_options``, RFC 7323 §2.3) before calling `encode_ts_options`.
"""
from __future__ import annotations

import hashlib
import ipaddress
import socket as _socket
import math
import random
import struct
from dataclasses import dataclass
from typing import NamedTuple, Optional, Tuple, Union

__all__ = [
    "MSSTAB", "MAX_SYNCOOKIE_AGE", "COOKIE_PERIOD", "FORGERY_PROBABILITY", "TS_OPT_WSCALE_MASK",
    "TS_OPT_SACK", "TS_OPT_ECN", "TSBITS", "Cookie", "CookieJar", "CookieFields", "TsOptions",
    "cookie_count", "mss_index", "encode_ts_options", "decode_ts_options", "decode_cookie",
    "bernstein_fields",
]

Addr = Union[str, int, ipaddress.IPv4Address]

# Linux net/ipv4/syncookies.c: "Table must be sorted"; values from Alcock & Nelson (2011).
MSSTAB: Tuple[int, ...] = (536, 1300, 1440, 1460)
MAX_SYNCOOKIE_AGE = 2          # include/net/tcp.h: count difference must be < 2
COOKIE_PERIOD = 60.0           # TCP_SYNCOOKIE_PERIOD = 60*HZ jiffies: one count per minute
COOKIEBITS = 24                # syncookies.c: "Upper bits store count"
COOKIEMASK = (1 << COOKIEBITS) - 1
FORGERY_PROBABILITY = MAX_SYNCOOKIE_AGE * len(MSSTAB) / 2**32   # = 2**-29 per guessed ACK
TCP_MSS_DEFAULT = 536          # RFC 9293 §3.7.1: no MSS option means 536

# syncookies.c: | 31 ... 6 Timestamp | 5 ECN | 4 SACK | 3..0 WScale |, 0xf = no wscale
TS_OPT_WSCALE_MASK = 0xF
TS_OPT_SACK = 1 << 4
TS_OPT_ECN = 1 << 5
TSBITS = 6
TCP_MAX_WSCALE = 14            # RFC 7323 §2.3

_U32 = 0xFFFFFFFF
_MESSAGE = struct.Struct("!4s4sII").pack     # the hash input: saddr, daddr, ports, count
_inet_aton = _socket.inet_aton               # a dotted quad as its 4 bytes, in C
# the 64-bit digest as a little-endian number, truncated to its low 32 bits (u32 cookie_hash())
_LOW32 = struct.Struct("<I").unpack_from


# --------------------------------------------------------------------------- helpers

def _check_now(now: float) -> float:
    if not isinstance(now, (int, float)) or isinstance(now, bool) or not math.isfinite(now) \
            or now < 0:
        raise ValueError(f"now must be virtual seconds >= 0 (the network clock), got {now!r}")
    return now


def cookie_count(now: float) -> int:
    """The minute counter at virtual time ``now``: ``int(now // 60)``.

    Linux ``tcp_cookie_time()`` = jiffies / (60*HZ). Only its low 8 bits travel in a cookie.
    """
    return int(_check_now(now) // COOKIE_PERIOD) & _U32


def mss_index(mss: Optional[int]) -> int:
    """Index into MSSTAB for a client MSS, as ``__cookie_v4_init_sequence`` picks it.

    The loop ``for (i = 3; i; i--) if (mss >= msstab[i]) break;`` takes the largest entry
    ≤ mss but never goes below index 0, so an MSS *smaller* than 536 still gets index 0 and
    the connection uses 536 — the one case where the cookie rounds the MSS up. ``None`` (no
    MSS option in the SYN) means 536 (RFC 9293 §3.7.1).
    """
    if mss is None:
        mss = TCP_MSS_DEFAULT
    if not isinstance(mss, int) or isinstance(mss, bool) or not 0 <= mss <= 0xFFFF:
        raise ValueError(f"client MSS must be an int in 0..65535 (a 16-bit option), got {mss!r}")
    for i in range(len(MSSTAB) - 1, 0, -1):
        if mss >= MSSTAB[i]:
            return i
    return 0


def _addr_bytes(addr: Addr, what: str) -> bytes:
    if type(addr) is str and addr.count(".") == 3:
        try:                                      # the common case, in C
            return _socket.inet_aton(addr)
        except OSError:
            pass
    try:
        return ipaddress.IPv4Address(addr).packed
    except (ipaddress.AddressValueError, ValueError, TypeError):
        raise ValueError(f"{what} must be an IPv4 address like '192.168.1.10', "
                         f"got {addr!r}") from None


def _port(port: int, what: str) -> int:
    if not isinstance(port, int) or isinstance(port, bool) or not 0 <= port <= 0xFFFF:
        raise ValueError(f"{what} must be a port number in 0..65535, got {port!r}")
    return int(port)


def _u32(value: int, what: str) -> int:
    # int() first: a Seq compares in sequence space, where 0 <= Seq(2**32 - 1) is False.
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= int(value) <= _U32:
        raise ValueError(f"{what} must be a 32-bit sequence number in 0..2**32-1, got {value!r}")
    return int(value)


# --------------------------------------------------------------------------- the jar

class Cookie(NamedTuple):
    """What `CookieJar.make` returns: the server ISN to send and the MSS it encodes."""

    isn: int
    mss: int


class _Opened(NamedTuple):
    h0: int
    count: int        # top 8 bits after stripping H0 + client ISN
    hashed24: int     # low 24 bits: (H1(count_then) + mssind) & COOKIEMASK


class CookieJar:
    """The listener-side secret state for SYN cookies: two secrets, nothing per connection.

    ``CookieJar(rng)`` draws two 128-bit secrets from ``rng`` (the network's seeded
    ``random.Random``) once, like Linux's ``net_get_random_once(syncookie_secret)``. Two jars
    from equal seeds make equal cookies; different seeds make unrelated ones.

    All methods take the 4-tuple as (client addr, server addr, client port, server port) — see
    the module docstring — and ``now`` in virtual seconds.
    """

    def __init__(self, rng: random.Random) -> None:
        if not isinstance(rng, random.Random):
            raise ValueError("CookieJar needs the network's random.Random instance (seeded), "
                             f"got {type(rng).__name__}; the global random module is not allowed")
        secrets = (rng.getrandbits(128).to_bytes(16, "little"),
                   rng.getrandbits(128).to_bytes(16, "little"))
        # each secret's keyed hash state, copied per cookie (cheaper than keying again)
        self._keyed = tuple(hashlib.blake2b(key=k, digest_size=8) for k in secrets)
        self._daddr: Tuple[Optional[str], bytes] = (None, b"")   # last server address, packed

    def __repr__(self) -> str:
        return "CookieJar(<2 secrets>)"

    def _hash(self, saddr: bytes, daddr: bytes, ports: int, count: int, c: int) -> int:
        # Linux cookie_hash(): siphash_4u32(saddr, daddr, sport << 16 | dport, count,
        # &syncookie_secret[c]) truncated to u32. BLAKE2b keyed stands in for SipHash.
        h = self._keyed[c].copy()
        h.update(_MESSAGE(saddr, daddr, ports, count & _U32))
        return _LOW32(h.digest())[0]

    def _tuple(self, saddr: Addr, daddr: Addr, sport: int, dport: int) -> Tuple[bytes, bytes, int]:
        s = _addr_bytes(saddr, "saddr (client address)")
        d = _addr_bytes(daddr, "daddr (server address)")
        ports = (_port(sport, "sport (client port)") << 16) | _port(dport, "dport (server port)")
        return s, d, ports

    def make(self, saddr: Addr, daddr: Addr, sport: int, dport: int, client_isn: int,
             mss: Optional[int], now: float) -> Cookie:
        """The cookie ISN for a SYN from ``saddr:sport`` to ``daddr:dport``.

        Linux ``__cookie_v4_init_sequence`` + ``secure_tcp_syn_cookie``. ``client_isn`` is the
        SYN's sequence number; ``mss`` the SYN's MSS option (``None`` if absent → 536).
        Returns ``Cookie(isn, mss)`` — unpack as ``isn, mss_used = jar.make(...)`` — where
        ``mss_used`` is the MSSTAB entry the cookie encodes (the MSS the connection will use).
        """
        s, d, ports = self._tuple(saddr, daddr, sport, dport)
        client_isn = _u32(client_isn, "client_isn (the SYN's sequence number)")
        return self._make(s, d, ports, client_isn, mss_index(mss), cookie_count(now))

    def make_for_syn(self, saddr: str, daddr: str, sport: int, dport: int, client_isn: int,
                     mss_ind: int, now: float) -> int:
        """The cookie ISN for a SYN the stack received, whose MSS index into `MSSTAB` the
        caller worked out (`mss_index`): the SYN's addresses, ports, sequence number and
        clock are valid by construction, so `make`'s checks of them are left out (a flood
        asks for one cookie per SYN)."""
        if daddr != self._daddr[0]:      # the server's address: the same SYN after SYN
            self._daddr = (daddr, _inet_aton(daddr))
        return self._isn(_inet_aton(saddr), self._daddr[1], sport << 16 | dport,
                         client_isn, mss_ind, int(now // COOKIE_PERIOD) & _U32)

    def _make(self, s: bytes, d: bytes, ports: int, client_isn: int, ind: int,
              count: int) -> Cookie:
        return Cookie(self._isn(s, d, ports, client_isn, ind, count), MSSTAB[ind])

    def _isn(self, s: bytes, d: bytes, ports: int, client_isn: int, ind: int,
             count: int) -> int:
        # secure_tcp_syn_cookie(): H0 + client ISN + count << 24 + ((H1(count) + mssind) & mask)
        return (self._hash(s, d, ports, 0, 0) + client_isn + (count << COOKIEBITS)
                + ((self._hash(s, d, ports, count, 1) + ind) & COOKIEMASK)) & _U32

    def _open(self, s: bytes, d: bytes, ports: int, cookie: int, client_isn: int) -> _Opened:
        h0 = self._hash(s, d, ports, 0, 0)
        rest = (cookie - h0 - client_isn) & _U32   # "Strip away the layers from the cookie"
        return _Opened(h0, rest >> COOKIEBITS, rest & COOKIEMASK)

    def _mssind(self, s: bytes, d: bytes, ports: int, hashed24: int, count_then: int) -> int:
        return (hashed24 - self._hash(s, d, ports, count_then, 1)) & COOKIEMASK

    def check(self, saddr: Addr, daddr: Addr, sport: int, dport: int, seq: int, ack: int,
              now: float) -> Optional[int]:
        """Validate the handshake-completing ACK; return the encoded MSS, or None if forged/old.

        ``seq`` and ``ack`` are the ACK segment's fields as received: the cookie is
        ``ack - 1`` and the client ISN ``seq - 1`` (Linux ``__cookie_v4_check`` /
        ``check_tcp_syn_cookie``). Valid iff the age ``(count_now - count) & 0xFF`` is 0 or 1
        minute counts (``MAX_SYNCOOKIE_AGE``) and the recovered MSS index is < 4. A cookie
        "from the future" (made at a later ``now``) has age 255 and is rejected.
        """
        s, d, ports = self._tuple(saddr, daddr, sport, dport)
        cookie = (_u32(ack, "ack (the ACK's acknowledgment number)") - 1) & _U32
        client_isn = (_u32(seq, "seq (the ACK's sequence number)") - 1) & _U32
        opened = self._open(s, d, ports, cookie, client_isn)
        count = cookie_count(now)
        age = (count - opened.count) & 0xFF
        if age >= MAX_SYNCOOKIE_AGE:
            return None
        ind = self._mssind(s, d, ports, opened.hashed24, count - age)
        return MSSTAB[ind] if ind < len(MSSTAB) else None


# --------------------------------------------------------------------------- timestamps

class TsOptions(NamedTuple):
    """SYN options recovered from a cookie TSecr: wscale (None = no window scaling), sack, ecn."""

    wscale: Optional[int]
    sack: bool
    ecn: bool


def encode_ts_options(tsval_now: int, wscale: Optional[int], sack: bool, ecn: bool) -> int:
    """The TSval for a cookie SYN-ACK: the clock with the SYN's options in the low 6 bits.

    Linux ``cookie_init_timestamp``: ``ts = (now >> 6) << 6 | options``; if that is *greater*
    than now, subtract ``1 << 6`` so the cookie TSval never runs ahead of the timestamps the
    connection sends later (RFC 7323 §5.4: TSval must not decrease). Low bits: wscale in
    bits 0–3 (0xF = the SYN had no wscale option), SACK-permitted bit 4, ECN bit 5.
    ``tsval_now`` is the 32-bit timestamp clock; the result wraps modulo 2**32.
    """
    tsval_now = _u32(tsval_now, "tsval_now (the 32-bit timestamp clock)")
    if wscale is None:
        options = TS_OPT_WSCALE_MASK
    elif isinstance(wscale, int) and not isinstance(wscale, bool) and 0 <= wscale <= TCP_MAX_WSCALE:
        options = wscale
    else:
        raise ValueError(f"wscale must be None or 0..14, got {wscale!r}; Linux clamps a SYN's "
                         "wscale above 14 to 14 when parsing it (tcp_parse_options, RFC 7323 "
                         "§2.3), so pass min(wscale, 14)")
    if sack:
        options |= TS_OPT_SACK
    if ecn:
        options |= TS_OPT_ECN
    ts = ((tsval_now >> TSBITS) << TSBITS) | options
    if ts > tsval_now:
        ts -= 1 << TSBITS
    return ts & _U32


def decode_ts_options(tsecr: int, *, tcp_timestamps: int = 1, tcp_sack: int = 1,
                      tcp_window_scaling: int = 1, tcp_ecn: int = 2) -> Optional[TsOptions]:
    """The SYN's options from the TSecr of a cookie ACK (Linux ``cookie_timestamp_decode``).

    Returns ``TsOptions(wscale, sack, ecn)`` (a tuple: ``wscale, sack, ecn = ...``) or
    ``None`` when the host's sysctls make the cookie unusable, which Linux treats as an
    invalid cookie: timestamps disabled; SACK bit set but ``tcp_sack`` = 0; a wscale encoded
    but ``tcp_window_scaling`` = 0. With default sysctls it never returns None. A wscale above
    14 cannot occur: 4 bits hold 0–15 and 15 means "none" (the SYN's value was clamped to 14
    before encoding). ECN is on only if the bit is set and ``tcp_ecn`` ≠ 0 (``cookie_ecn_ok``;
    Linux also accepts a per-route ECN feature, not modelled).

    Call this only when the ACK carries a timestamp option; an ACK without one means the SYN
    had none, and the connection has no wscale and no SACK. Linux first subtracts the
    per-connection timestamp offset (``secure_tcp_ts_off``) from TSecr; pass TSecr in the same
    clock you gave `encode_ts_options`.
    """
    options = _u32(tsecr, "tsecr (the ACK's echoed timestamp)")
    if not tcp_timestamps:
        return None
    sack = bool(options & TS_OPT_SACK)
    if sack and not tcp_sack:
        return None
    ecn = bool(options & TS_OPT_ECN) and bool(tcp_ecn)
    ws = options & TS_OPT_WSCALE_MASK
    if ws == TS_OPT_WSCALE_MASK:
        return TsOptions(None, sack, ecn)       # "no window scaling"
    if not tcp_window_scaling:
        return None
    return TsOptions(ws, sack, ecn)


# --------------------------------------------------------------------------- for notebooks

@dataclass(frozen=True)
class CookieFields:
    """A cookie taken apart, for notebooks. Fields that need the secrets are None without a jar.

    isn        the cookie (the server's ISN in the SYN-ACK)
    client_isn the client's ISN (the SYN's sequence number)
    h0         H0 = hash(4-tuple, secret 0), added over all 32 bits to hide the layout
    count      top 8 bits after removing H0 and client_isn: the minute counter (mod 256)
    hashed24   low 24 bits: (H1(count) + mss_index) mod 2**24
    mss_index  recovered index into MSSTAB (None when ≥ 4, i.e. not a cookie of this jar)
    mss        MSSTAB[mss_index]
    count_now  the minute counter at ``now`` (None without now)
    age        (count_now - count) & 0xFF, in minute counts (None without now)
    valid      the verdict of `CookieJar.check` (None without jar or now)
    reason     why it is invalid ("" when valid or unknown)
    """

    isn: int
    client_isn: int
    saddr: str
    daddr: str
    sport: int
    dport: int
    h0: Optional[int] = None
    count: Optional[int] = None
    hashed24: Optional[int] = None
    mss_index: Optional[int] = None
    mss: Optional[int] = None
    count_now: Optional[int] = None
    age: Optional[int] = None
    valid: Optional[bool] = None
    reason: str = ""

    def explain(self, lang: str = "en") -> str:
        """A readable multi-line breakdown, in English (``"en"``) or Japanese (``"ja"``)."""
        if lang not in _TEXT:
            raise ValueError(f"lang must be 'en' or 'ja', got {lang!r}")
        t = _TEXT[lang]
        lines = [t["head"].format(isn=self.isn, s=self.saddr, sp=self.sport, d=self.daddr,
                                  dp=self.dport),
                 t["client"].format(v=self.client_isn)]
        if self.h0 is None:
            lines.append(t["opaque"])
            return "\n".join(lines)
        rest = (self.count << COOKIEBITS) | self.hashed24
        # The full minute is known from a valid age (count_now - age); else assume < 256 min.
        known = self.count_now is not None and self.age < MAX_SYNCOOKIE_AGE
        minute = self.count_now - self.age if known else self.count
        lines += [t["h0"].format(v=self.h0),
                  t["rest"].format(v=rest),
                  t["count"].format(c=self.count, m=minute, a=minute * 60, b=minute * 60 + 60),
                  t["low24"].format(v=self.hashed24)]
        if self.mss_index is None:
            lines.append(t["badmss"])
        else:
            lines.append(t["mss"].format(i=self.mss_index, m=self.mss))
        if self.count_now is None:
            lines.append(t["nonow"])
        else:
            lines.append(t["age"].format(n=self.count_now, a=self.age))
            lines.append(t["valid"] if self.valid else t["invalid"].format(r=self.reason))
        return "\n".join(lines)

    def __str__(self) -> str:
        return self.explain("en")


_TEXT = {
    "en": {
        "head": "SYN cookie {isn:#010x} (server ISN {isn}) for {s}:{sp} -> {d}:{dp}",
        "client": "  client ISN                       {v}",
        "opaque": ("  Without the server's secrets this cookie cannot be opened: Linux adds\n"
                   "  H0 = hash(4-tuple, secret) over all 32 bits, so it looks like any random\n"
                   "  ISN. (Bernstein's 1996 layout kept time and MSS readable in the top\n"
                   "  8 bits.)"),
        "h0": "  H0 = hash(4-tuple, secret 0)     {v:#010x}  (hides the layout)",
        "rest": "  cookie - H0 - client ISN         {v:#010x}",
        "count": "  counter (top 8 bits)             {c}  -> made in minute {m} (t = {a}..{b} s)",
        "low24": "  low 24 bits = H1(counter) + idx  {v:#08x}",
        "mss": "  MSS index (low 24 bits - H1)     {i}  -> MSS {m}",
        "badmss": "  MSS index (low 24 bits - H1)     >= 4  -> not a cookie made by this server",
        "nonow": "  (give now= to check its age)",
        "age": "  counter now                      {n}  -> age {a} minute count(s) (valid: 0 or 1)",
        "valid": "  verdict: VALID - the ACK completes the handshake",
        "invalid": "  verdict: INVALID - {r}",
    },
    "ja": {
        "head": "SYN cookie {isn:#010x}（サーバ側 ISN {isn}）  {s}:{sp} → {d}:{dp}",
        "client": "  クライアントの ISN                 {v}",
        "opaque": ("  サーバの秘密の値がなければこの cookie は読み解けません。Linux は 4タプルと\n"
                   "  秘密の値のハッシュ H0 を 32 ビット全体に足し込むため、ふつうの乱数 ISN と\n"
                   "  見分けがつきません（Bernstein の 1996 年の方式では、上位 8 ビットの時刻と\n"
                   "  MSS は誰でも読めました）。"),
        "h0": "  H0 = ハッシュ(4タプル, 秘密の値0)    {v:#010x}（構造を隠すために加算）",
        "rest": "  cookie − H0 − クライアント ISN      {v:#010x}",
        "count": "  カウンタ（上位 8 ビット）           {c} → t = {a}〜{b} 秒（{m} 分台）に生成",
        "low24": "  下位 24 ビット = H1(カウンタ) + インデックス  {v:#08x}",
        "mss": "  MSSインデックス（下位24ビット − H1） {i} → MSS {m}",
        "badmss": "  MSSインデックス（下位24ビット − H1） 4 以上 → このサーバが作った cookie ではありません",
        "nonow": "  （経過時間を調べるには now= を指定してください）",
        "age": "  現在のカウンタ                     {n} → 経過 {a} 分（有効なのは 0 か 1）",
        "valid": "  判定: 有効 ― この ACK でハンドシェイクが完了します",
        "invalid": "  判定: 無効 ― {r}",
    },
}

_REASONS = {
    "en": {"age": "too old (age {a} >= 2 minute counts) or from the future (age 255)",
           "mss": "the MSS index does not decode (forged, wrong 4-tuple or wrong client ISN)"},
    "ja": {"age": "古すぎる（経過 {a} ≥ 2）または未来の cookie（経過 255）",
           "mss": "MSSインデックスが復元できない（偽造、4タプル違い、またはクライアント ISN 違い）"},
}


def decode_cookie(isn: int, saddr: Addr, daddr: Addr, sport: int, dport: int, client_isn: int,
                  jar: Optional[CookieJar] = None, now: Optional[float] = None,
                  lang: str = "en") -> CookieFields:
    """Take a cookie apart for display (4-tuple order: client, server, client port, server port).

    ``isn`` is the server's ISN from the SYN-ACK and ``client_isn`` the SYN's sequence number
    (not the ``+1`` values of the ACK). Without ``jar`` only the raw values are known — a
    Linux cookie is opaque without the secrets. With ``jar`` the counter, the low 24 bits and
    the MSS index are recovered; with ``jar`` and ``now`` the verdict equals
    ``jar.check(..., seq=client_isn + 1, ack=isn + 1, now=now)``. Without ``now`` the MSS index
    is recovered assuming the full minute counter equals its top 8 bits (any simulation
    shorter than 256 minutes). ``lang`` selects the language of ``reason``.
    """
    if lang not in _REASONS:
        raise ValueError(f"lang must be 'en' or 'ja', got {lang!r}")
    isn = _u32(isn, "isn (the cookie)")
    client_isn = _u32(client_isn, "client_isn")
    s_txt = str(ipaddress.IPv4Address(_addr_bytes(saddr, "saddr (client address)")))
    d_txt = str(ipaddress.IPv4Address(_addr_bytes(daddr, "daddr (server address)")))
    base = dict(isn=isn, client_isn=client_isn, saddr=s_txt, daddr=d_txt,
                sport=_port(sport, "sport (client port)"),
                dport=_port(dport, "dport (server port)"))
    if jar is None:
        return CookieFields(**base)
    s, d, ports = jar._tuple(saddr, daddr, sport, dport)
    opened = jar._open(s, d, ports, isn, client_isn)
    if now is None:
        count_now = age = None
        count_then = opened.count
    else:
        count_now = cookie_count(now)
        age = (count_now - opened.count) & 0xFF
        count_then = count_now - age
    ind = jar._mssind(s, d, ports, opened.hashed24, count_then)
    ok_ind = ind < len(MSSTAB)
    valid: Optional[bool] = None
    reason = ""
    if now is not None:
        if age >= MAX_SYNCOOKIE_AGE:
            valid, reason = False, _REASONS[lang]["age"].format(a=age)
        elif not ok_ind:
            valid, reason = False, _REASONS[lang]["mss"]
        else:
            valid = True
    return CookieFields(**base, h0=opened.h0, count=opened.count, hashed24=opened.hashed24,
                        mss_index=ind if ok_ind else None, mss=MSSTAB[ind] if ok_ind else None,
                        count_now=count_now, age=age, valid=valid, reason=reason)


def bernstein_fields(isn: int) -> Tuple[int, int, int]:
    """Split an ISN by Bernstein's original layout: ``(t mod 32, mss index, 24-bit hash)``.

    For contrast only: applied to a Linux cookie the result is noise, which is
    the point — the Linux layout adds H0 + client ISN so nothing is readable on the wire.
    """
    isn = _u32(isn, "isn")
    return isn >> 27, (isn >> 24) & 0x7, isn & COOKIEMASK
