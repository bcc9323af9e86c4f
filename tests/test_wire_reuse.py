"""simtcp.wire reuses its scapy layers from packet to packet (wire.py docstring, "speed").

These tests prove that the reuse changes nothing: every packet of a varied corpus (TCP with
every option kind and none, with and without payload, SYN/RST/FIN; UDP including DNS;
ICMP errors quoting packets; odd TTL, DF, ident and TOS; other protocols) encodes to
exactly the bytes of a fresh bare-scapy build ``bytes(IP(...)/TCP(...)/Raw(...))`` with
scapy filling every length and checksum, in any order, after failed encodes, and from
several threads at once — so no field of one packet can reach the next.
"""
from __future__ import annotations

import threading

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.dns import DNS, DNSQR, DNSRR
from scapy.layers.inet import ICMP, IP, TCP, UDP
from scapy.packet import Raw

from simtcp import wire
from simtcp.packet import Datagram, IcmpMessage, Packet
from simtcp.segment import Options, Segment
from simtcp.wire import encode

A, B = "192.168.1.10", "192.168.1.20"


def tcp(text: str, sport: int = 40000, dport: int = 80, **ip) -> Packet:
    return Packet(ip.pop("src", A), ip.pop("dst", B), Segment.parse(text, sport, dport), **ip)


def with_options(text: str, options: Options, **ip) -> Packet:
    seg = Segment.parse(text, 40000, 80)._replace(options=options)
    return Packet(A, B, seg, **ip)


def dns_query() -> bytes:
    return bytes(DNS(id=0x1234, rd=1, qd=DNSQR(qname="www.example.com", qtype="A")))


def dns_answer() -> bytes:
    return bytes(DNS(id=0x1234, qr=1, aa=1, rd=1, ra=1, qd=DNSQR(qname="www.example.com"),
                     an=DNSRR(rrname="www.example.com", ttl=300, rdata="93.184.216.34")))


SYN = tcp("S 100:100(0) win 64240 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>")
DATA = tcp("P. 1:101(100) ack 1 win 502 <nop,nop,TS val 1000 ecr 2000>")

CORPUS = [
    SYN,
    tcp("S 100:100(0) win 64240 <mss 1460,nop,nop,sackOK,nop,wscale 7>"),   # no timestamps
    tcp("S. 500:500(0) ack 101 win 65160 <mss 1460>", 80, 40000, src=B, dst=A),
    DATA,
    tcp(". 1:1(0) ack 1 win 502"),                                            # no options
    tcp("F. 101:101(0) ack 1 win 502 <nop,nop,TS val 1001 ecr 2000>"),
    tcp("R 1:1(0) win 0", ttl=255, df=False, ident=0xFFFF),
    tcp("R. 0:0(0) ack 101 win 0", ttl=1, tos=0xB8, ident=1),
    Packet(A, B, Segment.parse("FPUEW. 7:20(13) ack 9 win 1", 1, 65535)._replace(urgptr=3),
           ttl=0, df=False, tos=0xFF),
    with_options(". 1:1(0) ack 1 win 502",
                 Options(ts=(5, 6), sack=((1000, 2000), (3000, 4000), (5000, 6000)))),
    with_options(". 1:1(0) ack 1 win 502", Options(sack=((10, 20),))),
    with_options("S 0:0(0) win 1", Options(sack_perm=True)),                  # SACK_PERM alone
    with_options("S 0:0(0) win 1", Options(wscale=14)),
    with_options(". 1:11(10) ack 1 win 9", Options(mss=536, extra=(("UTO", 30),))),
    with_options(". 1:1(0) ack 1 win 9", Options(extra=((253, b"\x01\x02\x03"),))),
    with_options(". 1:1(0) ack 1 win 9", Options(ts=(1, 2), extra=(("MD5", b"\x00" * 16),))),
    Packet(A, B, Datagram(5353, 53, dns_query())),
    Packet(B, A, Datagram(53, 5353, dns_answer()), ttl=61, ident=77),
    Packet(A, B, Datagram(0, 9, b"")),                                        # empty UDP
    Packet(A, B, Datagram(1, 2, b"\xff\xff" * 3)),                            # sum near zero
    Packet(B, A, IcmpMessage(3, 3, 0, wire.encode(DATA)[:28]), df=False),     # port unreach.
    Packet(B, A, IcmpMessage(3, 4, 1400, wire.encode(SYN)[:48]), df=False),   # frag. needed
    Packet("10.9.9.1", A, IcmpMessage(11, 0, 0, wire.encode(SYN)[:28]), df=False, ttl=254),
    Packet(A, B, IcmpMessage(8, 0, 0x00010002, b"ping" * 8)),
    Packet(B, A, IcmpMessage(0, 0, 0x00010002, b"ping" * 8)),
    Packet(A, B, IcmpMessage(5, 1, 0x0A000001, wire.encode(DATA)[:28])),      # redirect
    Packet(A, B, IcmpMessage(13, 0, 0x00030004, bytes(range(12)))),           # timestamp
    Packet(A, B, b"\x45\x00opaque", proto=47),                                # GRE
    Packet(A, B, b"", proto=255),
]


def fresh_scapy(p: Packet) -> bytes:
    """The same datagram written the way a scapy user writes it: fresh layers, every
    length and checksum left to scapy."""
    ip = IP(version=4, tos=p.tos, id=p.ident, flags=2 if p.df else 0, frag=0, ttl=p.ttl,
            proto=p.proto, src=p.src, dst=p.dst)
    x = p.payload
    if isinstance(x, Segment):
        pkt = ip / TCP(sport=x.sport, dport=x.dport, seq=int(x.seq), ack=int(x.ack),
                       flags=int(x.flags), window=x.window, urgptr=x.urgptr,
                       options=wire.tcp_option_list(x))
        body = x.payload
    elif isinstance(x, Datagram):
        pkt, body = ip / UDP(sport=x.sport, dport=x.dport), x.payload
    elif isinstance(x, IcmpMessage):
        icmp = ICMP(bytes([x.type, x.code, 0, 0]) + x.rest.to_bytes(4, "big") + x.quote)
        icmp.chksum = None
        pkt, body = ip / icmp, b""
    else:
        pkt, body = ip, x
    return bytes(pkt / Raw(load=body) if body else pkt)


EXPECTED = [fresh_scapy(p) for p in CORPUS]


def test_corpus_covers_every_kind_of_packet():
    kinds = {type(p.payload) for p in CORPUS}
    assert kinds == {Segment, Datagram, IcmpMessage, bytes}
    segs = [p.payload for p in CORPUS if isinstance(p.payload, Segment)]
    o = [s.options for s in segs]
    assert any(x.mss for x in o) and any(x.wscale for x in o) and any(x.ts for x in o)
    assert any(x.sack for x in o) and any(x.sack_perm and not x.ts for x in o)
    assert any(x.extra for x in o) and any(not x for x in o)
    assert any(s.payload for s in segs) and any(not s.payload for s in segs)


@pytest.mark.parametrize("i", range(len(CORPUS)))
def test_each_packet_equals_a_fresh_scapy_build(i):
    assert encode(CORPUS[i]) == EXPECTED[i]


def test_a_then_b_then_a_gives_a_again():
    """The reused layers keep nothing of the packet before: every pair, both orders."""
    for i, a in enumerate(CORPUS):
        for j, b in enumerate(CORPUS):
            assert encode(a) == EXPECTED[i]
            assert encode(b) == EXPECTED[j]
            assert encode(a) == EXPECTED[i]


@settings(max_examples=60, deadline=None)
@given(st.lists(st.integers(0, len(CORPUS) - 1), min_size=1, max_size=40))
def test_any_order_gives_the_same_bytes(order):
    assert [encode(CORPUS[i]) for i in order] == [EXPECTED[i] for i in order]


@pytest.mark.parametrize("bad", [
    tcp(". 1:1(0) ack 1 win 9", sport=70000),                         # port beyond 16 bits
    tcp(". 1:1(0) ack 1 win 9", ttl=300),                             # ttl beyond 8 bits
    with_options("S 0:0(0) win 1", Options(extra=(("MD5", b"x" * 16),) * 3)),  # > 40 bytes
    Packet(A, B, Datagram(1, 70000, b"x")),
    Packet(A, B, IcmpMessage(13, 0, 0, b"short")),                    # timestamps missing
    Packet(A, B, b"x" * 70000, proto=47),                             # IPv4 length > 65535
])
def test_a_failed_encode_leaves_nothing_behind(bad):
    with pytest.raises(ValueError):
        encode(bad)
    assert [encode(p) for p in CORPUS] == EXPECTED


@pytest.mark.parametrize("make", [
    lambda n: Packet(A, B, Segment.parse(f". 1:{1 + n}({n}) ack 1 win 9", 1, 2)),
    lambda n: Packet(A, B, Datagram(1, 2, b"u" * n)),
    lambda n: Packet(A, B, b"g" * n, proto=47),
])
def test_the_largest_datagram_is_built_and_one_byte_more_is_refused(make):
    header = len(encode(make(0)))
    largest = make(65535 - header)
    assert encode(largest) == fresh_scapy(largest)
    with pytest.raises(ValueError, match="IPv4 total length 65536 exceeds 65535"):
        encode(make(65536 - header))


def test_threads_encoding_at_once_never_share_layers():
    """Each encode takes its own layer chain, so concurrent encodes stay correct."""
    results, errors = {}, []

    def work(k: int) -> None:
        try:
            order = list(range(len(CORPUS)))[k:] + list(range(len(CORPUS)))[:k]
            results[k] = [(i, encode(CORPUS[i])) for i in order * 20]
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=work, args=(k,)) for k in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert not errors and len(results) == 4
    for got in results.values():
        assert all(data == EXPECTED[i] for i, data in got)
