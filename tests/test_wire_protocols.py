"""simtcp.packet + simtcp.wire for UDP, ICMP and opaque protocols: round trips, byte equality
with plain scapy builds, field-by-field equality with scapy's dissection, malformed input,
ICMP quotes read back."""
from __future__ import annotations

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scapy.layers.inet import ICMP, IP, UDP, IPerror, TCPerror, UDPerror
from scapy.packet import Raw

from simtcp import wire
from simtcp.packet import ICMP_QUOTE_MAX, Datagram, IcmpMessage, Packet, Proto
from simtcp.reasons import DropReason
from simtcp.segment import Segment
from simtcp.wire import DecodeError, decode, encode

A, B = "192.168.1.10", "192.168.1.20"
u16 = st.integers(0, 0xFFFF)
ips = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: ".".join(map(str, t)))
ip_fields = dict(src=ips, dst=ips, ttl=st.integers(0, 255), ident=u16, df=st.booleans(),
                 tos=st.integers(0, 255))

datagrams = st.builds(Datagram, sport=u16, dport=u16, payload=st.binary(max_size=300))
# every ICMP type whose 4 "rest" bytes scapy spreads over different fields; 13/14 and 17/18
# carry their extra header fields at the front of the quote
icmp_types = st.sampled_from([0, 3, 4, 5, 8, 9, 10, 11, 12, 15, 16, 40])
icmps = st.builds(IcmpMessage, type=icmp_types, code=st.integers(0, 255),
                  rest=st.integers(0, 0xFFFFFFFF), quote=st.binary(max_size=200))
udp_packets = st.builds(Packet, payload=datagrams, proto=st.just(17), **ip_fields)
icmp_packets = st.builds(Packet, payload=icmps, proto=st.just(1), **ip_fields)
opaque_packets = st.builds(Packet, payload=st.binary(max_size=100),
                           proto=st.sampled_from([0, 2, 47, 50, 89, 132, 255]), **ip_fields)
any_packets = st.one_of(udp_packets, icmp_packets, opaque_packets)


def ip_header_equals_scapy(p: Packet, ip) -> None:
    assert (p.src, p.dst, p.ttl, p.ident, p.df, p.tos, p.proto) == (
        ip.src, ip.dst, ip.ttl, ip.id, bool(int(ip.flags) & 2), ip.tos, ip.proto)


@settings(max_examples=200, deadline=None)
@given(any_packets)
def test_round_trip_and_checksums(p):
    data = encode(p)
    assert decode(data) == p
    assert decode(data + b"\0" * 5) == p  # link padding after the IP total length
    assert wire.checksum_ok(data) == (True, True)


@settings(max_examples=150, deadline=None)
@given(udp_packets)
def test_udp_encode_equals_plain_scapy_build(p):
    d = p.payload
    ref = IP(version=4, tos=p.tos, id=p.ident, flags=2 if p.df else 0, frag=0, ttl=p.ttl,
             proto=17, src=p.src, dst=p.dst) / UDP(sport=d.sport, dport=d.dport)
    if d.payload:
        ref = ref / Raw(load=d.payload)
    assert encode(p) == bytes(ref)


@settings(max_examples=150, deadline=None)
@given(udp_packets)
def test_udp_decode_equals_scapy_dissection(p):
    ip = IP(encode(p))
    ip_header_equals_scapy(decode(bytes(ip)), ip)
    d = decode(bytes(ip)).payload
    udp = ip[UDP]
    assert (d.sport, d.dport, 8 + len(d.payload)) == (udp.sport, udp.dport, udp.len)
    assert d.payload == bytes(udp.payload)
    assert udp.chksum != 0  # RFC 768: a computed zero goes out as 0xFFFF


def icmp_rest_from_scapy(icmp) -> int:
    """The 4 bytes after the checksum, from scapy's per-type field names."""
    t = icmp.type
    if t in (0, 8, 13, 14, 15, 16, 17, 18, 37, 38):
        return icmp.id << 16 | icmp.seq
    if t == 3:
        return icmp.reserved << 24 | icmp.length << 16 | icmp.nexthopmtu
    if t == 11:
        return icmp.reserved << 24 | icmp.length << 16 | icmp.unused
    if t == 12:
        return icmp.ptr << 24 | icmp.length << 16 | icmp.unused
    if t == 5:
        return int.from_bytes(bytes(map(int, icmp.gw.split("."))), "big")
    return icmp.unused


@settings(max_examples=200, deadline=None)
@given(icmp_packets)
def test_icmp_decode_equals_scapy_dissection(p):
    data = encode(p)
    ip = IP(data)
    got = decode(data)
    ip_header_equals_scapy(got, ip)
    m, icmp = got.payload, ip[ICMP]
    assert (m.type, m.code) == (icmp.type, icmp.code)
    assert m.rest == icmp_rest_from_scapy(icmp)
    assert len(data) - 28 == len(m.quote)
    assert data[28:] == m.quote


@settings(max_examples=100, deadline=None)
@given(icmp_packets)
def test_icmp_encode_equals_plain_scapy_build(p):
    """A scapy build that fills the checksum itself gives the same bytes."""
    m = p.payload
    raw = bytes(m.type.to_bytes(1, "big") + m.code.to_bytes(1, "big") + b"\0\0"
                + m.rest.to_bytes(4, "big") + m.quote)
    ref = IP(version=4, tos=p.tos, id=p.ident, flags=2 if p.df else 0, frag=0, ttl=p.ttl,
             proto=1, src=p.src, dst=p.dst) / ICMP(raw)
    ref[ICMP].chksum = None
    assert encode(p) == bytes(ref)


def test_timestamp_and_address_mask_types_keep_their_extra_fields():
    for t, extra in ((13, bytes(range(12))), (18, b"\xff\xff\xff\x00"), (37, b"abcd")):
        p = Packet(A, B, IcmpMessage(t, 0, 0x00010002, extra + b"tail"))
        assert decode(encode(p)) == p
    with pytest.raises(ValueError, match="timestamps"):
        encode(Packet(A, B, IcmpMessage(13, 0, 0, b"short")))


@settings(max_examples=100, deadline=None)
@given(opaque_packets)
def test_opaque_protocol_equals_scapy(p):
    data = encode(p)
    ip = IP(data)
    ip_header_equals_scapy(decode(data), ip)
    assert decode(data).payload == bytes(ip.payload)


def test_packet_model_basics():
    seg = Segment.parse("S 0:0(0) win 1", 40000, 80)
    tcp = Packet(A, B, seg)
    assert (tcp.proto, tcp.segment, tcp.datagram, tcp.icmp) == (Proto.TCP, seg, None, None)
    assert Packet(A, B, segment=seg) == tcp == tcp._replace(segment=seg)
    udp = Packet(A, B, Datagram(5353, 53, b"q"))
    assert (udp.proto, udp.segment, udp.ports, str(udp)) == (
        17, None, (5353, 53), "192.168.1.10:5353 > 192.168.1.20:53 UDP, length 1")
    assert udp.four_tuple() == (B, 53, A, 5353)
    icmp = tcp._replace(payload=IcmpMessage(8, 0, 0x00070001))
    assert icmp.proto == 1 and icmp.ports == (None, None)
    assert str(icmp) == "192.168.1.10 > 192.168.1.20 ICMP echo request, id 7, seq 1"
    with pytest.raises(ValueError, match="proto="):
        Packet(A, B, b"gre")
    with pytest.raises(TypeError, match="Segment, Datagram"):
        Packet(A, B, 42)
    with pytest.raises(ValueError, match="no ports"):
        icmp.four_tuple()


def quote_of(p: Packet) -> bytes:
    return encode(p)[:ICMP_QUOTE_MAX]


@pytest.mark.parametrize("inner, want", [
    (Packet(A, B, Segment.parse("S 1000:1000(0) win 1", 40000, 80), ttl=1),
     (A, B, 6, 40000, 80, 1000, 1)),
    (Packet(A, B, Datagram(33434, 33435, b"x" * 32), ttl=3),
     (A, B, 17, 33434, 33435, None, 3)),
    (Packet(A, B, IcmpMessage(8, 0, 1)), (A, B, 1, None, None, None, 64)),
])
def test_icmp_quote_reads_back_what_it_quotes(inner, want):
    m = IcmpMessage(11, 0, 0, quote_of(inner))
    got = decode(encode(Packet(B, A, m, df=False))).payload.quoted()
    assert tuple(got) == want
    # RFC 792's minimum, header + 8 bytes, is enough for the ports and TCP's sequence number
    short = IcmpMessage(3, 3, 0, quote_of(inner)[:28]).quoted()
    assert tuple(short) == want
    assert IcmpMessage(3, 3, 0, b"\x45" + b"\0" * 10).quoted() is None


def test_scapy_reads_our_icmp_error_as_an_error_quoting_the_datagram():
    inner = Packet(A, B, Datagram(40000, 53, b"hello"), ident=77)
    m = IcmpMessage(3, 3, 0, quote_of(inner))
    ip = IP(encode(Packet(B, A, m, df=False)))
    assert ip[IPerror].id == 77 and ip[UDPerror].dport == 53
    tcp_inner = Packet(A, B, Segment.parse("S 5:5(0) win 1", 1234, 80))
    ip = IP(encode(Packet(B, A, IcmpMessage(11, 0, 0, quote_of(tcp_inner)), df=False)))
    assert ip[TCPerror].seq == 5


@pytest.mark.parametrize("mutate, reason", [
    (lambda b: b[:24], DropReason.TRUNCATED),                                          # 4 UDP bytes
    (lambda b: b[:24] + b"\x00\x07" + b[26:], DropReason.BAD_UDP_LENGTH),              # < 8
    (lambda b: b[:24] + b"\xff\xff" + b[26:], DropReason.BAD_UDP_LENGTH),              # > IP payload
    (lambda b: b[:-1] + bytes([b[-1] ^ 1]), DropReason.BAD_UDP_CHECKSUM),
])
def test_malformed_udp(mutate, reason):
    data = bytearray(mutate(encode(Packet(A, B, Datagram(1, 2, b"abcd")))))
    data[2:4] = len(data).to_bytes(2, "big")
    data[10:12] = b"\0\0"
    data[10:12] = wire.internet_checksum(bytes(data[:20])).to_bytes(2, "big")
    with pytest.raises(DecodeError) as e:
        decode(bytes(data))
    assert e.value.reason == reason


def test_udp_zero_checksum_means_none_and_trailing_bytes_are_trimmed():
    data = bytearray(encode(Packet(A, B, Datagram(1, 2, b"abcd"))))
    data[26:28] = b"\0\0"
    assert decode(bytes(data)).payload == Datagram(1, 2, b"abcd")
    data[24:26] = (8 + 2).to_bytes(2, "big")   # the UDP length says 2 payload bytes
    assert decode(bytes(data)).payload == Datagram(1, 2, b"ab")


def test_malformed_icmp():
    data = bytearray(encode(Packet(A, B, IcmpMessage(8, 0, 1, b"ping"))))
    data[-1] ^= 1
    with pytest.raises(DecodeError) as e:
        decode(bytes(data))
    assert e.value.reason is DropReason.BAD_ICMP_CHECKSUM
    assert wire.checksum_ok(bytes(data)) == (True, False)
    short = encode(Packet(A, B, b"1234567", proto=1))   # 7 bytes: no ICMP header
    with pytest.raises(DecodeError) as e:
        decode(short)
    assert e.value.reason is DropReason.TRUNCATED
    zero = encode(Packet(A, B, bytes(8), proto=1))       # all zero: checksum 0 is wrong
    with pytest.raises(DecodeError) as e:
        decode(zero)
    assert e.value.reason is DropReason.BAD_ICMP_CHECKSUM


def test_summary_of_each_protocol():
    assert wire.summary(encode(Packet(A, B, Datagram(5, 53, b"q")))) == \
        "IP / UDP 192.168.1.10:5 > 192.168.1.20:53 / Raw"
    assert wire.summary(encode(Packet(A, B, IcmpMessage(3, 3)))) == \
        "IP / ICMP 192.168.1.10 > 192.168.1.20 type 3 code 3"
    assert wire.summary(encode(Packet(A, B, b"gre", proto=47))) == \
        "IP / proto 47 192.168.1.10 > 192.168.1.20 / Raw"


def test_from_scapy_accepts_udp_and_icmp():
    data = wire.from_scapy(IP(src=A, dst=B) / UDP(sport=9, dport=53) / b"q")
    assert decode(data).payload == Datagram(9, 53, b"q")
    data = wire.from_scapy(IP(src=A, dst=B) / ICMP(type=8, id=1, seq=2))
    assert decode(data).payload == IcmpMessage(8, 0, 0x00010002)


def test_capture_prints_udp_and_icmp_like_tcpdump():
    from simtcp.capture import CapturedPacket
    udp = Packet(A, B, Datagram(5353, 53, b"query"))
    assert str(CapturedPacket(0.5, "l", 1, udp)) == \
        "0.500000 192.168.1.10.5353 > 192.168.1.20.53: UDP, length 5"
    err = Packet(B, A, IcmpMessage(3, 3, 0, quote_of(udp)), df=False)
    assert str(CapturedPacket(0.6, "l", 2, err)) == (
        "0.600000 192.168.1.20 > 192.168.1.10: ICMP 192.168.1.20 udp port 53 unreachable, "
        "length 41")
    frag = Packet(B, A, IcmpMessage(3, 4, 1400, quote_of(udp)), df=False)
    assert "unreachable - need to frag (mtu 1400)" in str(CapturedPacket(0, "l", 3, frag))
    ttl = Packet(B, A, IcmpMessage(11, 0, 0, quote_of(udp)), df=False)
    assert str(CapturedPacket(0, "l", 4, ttl)).endswith(
        "ICMP time exceeded in-transit, length 41")
    assert CapturedPacket(0, "l", 1, udp).info() == "5353 \u2192 53 Len=5"
