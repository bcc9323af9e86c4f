"""simtcp.wire: byte layouts, round trips, checksums, malformed input, scapy interop."""
from __future__ import annotations

import struct

import pytest
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st
from scapy.layers.inet import IP, TCP, UDP
from scapy.layers.l2 import Ether
from scapy.packet import Raw
from scapy.utils import checksum as scapy_checksum

from simtcp import wire
from simtcp.segment import Flags, Options, Packet, Segment
from simtcp.seq import Seq
from simtcp.wire import DecodeError, decode, encode
from simtcp.reasons import DropReason

A, B = "192.168.1.10", "192.168.1.20"


def pkt(text: str, sport=40000, dport=80, **kw) -> Packet:
    return Packet(kw.pop("src", A), kw.pop("dst", B), Segment.parse(text, sport, dport), **kw)


def tcp_options_bytes(data: bytes) -> bytes:
    doff = (data[32] >> 4) * 4
    return data[40:20 + doff]


def fix_checksums(data: bytes) -> bytes:
    """Recompute the IP header checksum and, when the lengths allow, the TCP checksum."""
    b = bytearray(data)
    if len(b) < 20:
        return bytes(b)
    ihl = (b[0] & 0x0F) * 4
    if 20 <= ihl <= len(b):
        b[10:12] = b"\0\0"
        b[10:12] = wire.internet_checksum(bytes(b[:ihl])).to_bytes(2, "big")
        total = int.from_bytes(b[2:4], "big")
        if ihl + 20 <= total <= len(b):
            b[ihl + 16:ihl + 18] = b"\0\0"
            seg = bytes(b[ihl:total])
            pseudo = bytes(b[12:20]) + struct.pack("!BBH", 0, b[9], len(seg))
            b[ihl + 16:ihl + 18] = wire.internet_checksum(pseudo + seg).to_bytes(2, "big")
    return bytes(b)


# ---------------------------------------------------------------------------------------
# Option layouts: byte-exact against what Linux tcp_options_write() emits

def test_linux_syn_layout_is_mss_sackok_ts_nop_wscale():
    data = encode(pkt("S 0:0(0) win 64240 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>"))
    assert tcp_options_bytes(data) == bytes.fromhex(
        "020405b4" "0402" "080a" "00000001" "00000000" "01" "030307")
    assert len(tcp_options_bytes(data)) == 20
    assert data[32] >> 4 == 10 and len(data) == 60


def test_syn_without_timestamps_is_mss_nop_nop_sackok_nop_wscale():
    data = encode(pkt("S 0:0(0) win 64240 <mss 1460,sackOK,nop,wscale 7>"))
    assert tcp_options_bytes(data) == bytes.fromhex("020405b4" "01010402" "01030307")


def test_syn_with_timestamps_without_sack():
    data = encode(pkt("S 0:0(0) win 64240 <mss 1460,TS val 9 ecr 0,nop,wscale 2>"))
    assert tcp_options_bytes(data) == bytes.fromhex(
        "020405b4" "0101080a" "00000009" "00000000" "01030302")


def test_mss_only_syn_ack():
    data = encode(pkt("S. 0:0(0) ack 1 win 64240 <mss 1460>", 80, 40000))
    assert tcp_options_bytes(data) == bytes.fromhex("020405b4")
    assert data[32] >> 4 == 6


def test_established_timestamps_are_nop_nop_ts():
    data = encode(pkt("P. 1:6(5) ack 1 win 502 <TS val 100 ecr 200>"))
    assert tcp_options_bytes(data) == bytes.fromhex("0101080a" "00000064" "000000c8")
    assert data[-5:] == b"xxxxx"


def test_sack_blocks_follow_timestamps_with_nop_nop():
    data = encode(pkt(". 1:1(0) ack 1 win 502 <TS val 1 ecr 2,sack 5:10 20:30>"))
    assert tcp_options_bytes(data) == bytes.fromhex(
        "0101080a0000000100000002" "0101" "0512" "00000005" "0000000a" "00000014" "0000001e")


def test_no_options_gives_a_20_byte_tcp_header():
    data = encode(pkt("R 1000:1000(0) win 0"))
    assert len(data) == 40 and data[32] >> 4 == 5


def test_extra_options_are_passed_through_and_padded():
    seg = Segment(1, 2, Seq(3), options=Options(mss=536, extra=(("UTO", 30), (253, b"\x01"))))
    data = encode(Packet(A, B, seg))
    assert tcp_options_bytes(data) == bytes.fromhex("02040218" "1c04001e" "fd0301" "00")
    assert decode(data).segment.options.extra == (("UTO", 30), (253, b"\x01"))


def test_options_longer_than_40_bytes_are_refused():
    seg = Segment(1, 2, Seq(3), options=Options(ts=(1, 2), extra=((253, b"x" * 28),)))
    with pytest.raises(ValueError, match="40"):
        encode(Packet(A, B, seg))


def test_extra_item_scapy_would_skip_is_refused():
    seg = Segment(1, 2, Seq(3), options=Options(extra=(("NoSuchOption", 1),)))
    with pytest.raises(ValueError, match="scapy TCP option"):
        encode(Packet(A, B, seg))


# ---------------------------------------------------------------------------------------
# Every header field is explicit

def test_every_header_field_is_what_the_packet_says():
    p = Packet(A, B, Segment(12345, 443, Seq(0xFFFFFFF0), Seq(77), Flags.PSH | Flags.ACK,
                             1234, Options(ts=(5, 6)), b"hello", urgptr=0),
               ttl=1, ident=54321, df=False)
    data = encode(p)
    (vihl, tos, total, ident, ffrag, ttl, proto, _, src, dst) = struct.unpack(
        "!BBHHHBBH4s4s", data[:20])
    assert (vihl, tos, total, ident, ffrag, ttl, proto) == (0x45, 0, 57, 54321, 0, 1, 6)
    assert (src, dst) == (bytes([192, 168, 1, 10]), bytes([192, 168, 1, 20]))
    sport, dport, seq, ack, off, flags, win, _, urg = struct.unpack("!HHIIBBHHH", data[20:40])
    assert (sport, dport, seq, ack, off, flags, win, urg) == \
           (12345, 443, 0xFFFFFFF0, 77, 8 << 4, 0x18, 1234, 0)
    assert wire.checksum_ok(data) == (True, True)


def test_df_and_ident_defaults_follow_linux():
    data = encode(pkt("S 0:0(0) win 64240"))
    assert data[6:8] == b"\x40\x00"  # DF, offset 0
    assert data[4:6] == b"\x00\x00" and data[8] == 64


def test_same_packet_gives_identical_bytes():
    a = pkt("P. 1:101(100) ack 1 win 502 <TS val 1 ecr 1>")
    b = pkt("P. 1:101(100) ack 1 win 502 <TS val 1 ecr 1>")
    assert encode(a) == encode(a) == encode(b)


@pytest.mark.parametrize("bad, message", [
    (dict(src="server"), "dotted-quad"),
    (dict(dst="10.0.0"), "dotted-quad"),
    (dict(ttl=256), "does not fit"),
    (dict(ident=70000), "does not fit"),
])
def test_caller_mistakes_raise_value_error(bad, message):
    kw = dict(src=A, dst=B, segment=Segment.parse("S 0:0(0) win 1", 1, 2))
    kw.update(bad)
    with pytest.raises(ValueError, match=message):
        encode(Packet(**kw))


def test_port_out_of_range_raises_value_error():
    with pytest.raises(ValueError, match="16 bits"):
        encode(Packet(A, B, Segment(70000, 80, Seq(0))))


# ---------------------------------------------------------------------------------------
# Round trips (hypothesis)

def options_len(o: Options) -> int:
    from scapy.layers.inet import TCPOptionsField
    seg = Segment(0, 0, Seq(0), options=o)
    return len(TCPOptionsField("options", b"").i2m(None, wire.tcp_option_list(seg)))


u32 = st.integers(0, 2**32 - 1)
u16 = st.integers(0, 65535)
ips = st.tuples(*[st.integers(0, 255)] * 4).map(lambda t: "%d.%d.%d.%d" % t)
options = st.builds(
    Options,
    mss=st.none() | u16,
    wscale=st.none() | st.integers(0, 14),
    sack_perm=st.booleans(),
    ts=st.none() | st.tuples(u32, u32),
    sack=st.lists(st.tuples(u32, u32), max_size=2).map(tuple),
    extra=st.lists(st.sampled_from([("UTO", 30), (253, b"\x01\x02"), (254, b"")]),
                   max_size=1, unique=True).map(tuple),
).filter(lambda o: options_len(o) <= 40)  # a TCP header holds 40 option bytes
segments = st.builds(Segment, sport=u16, dport=u16, seq=u32.map(Seq), ack=u32.map(Seq),
                     flags=st.integers(0, 255).map(Flags), window=u16, options=options,
                     payload=st.binary(max_size=300), urgptr=u16)
packets = st.builds(Packet, src=ips, dst=ips, payload=segments, ttl=st.integers(0, 255),
                    ident=u16, df=st.booleans(), proto=st.just(6), tos=st.integers(0, 255))


@settings(max_examples=300, deadline=None)
@given(packets)
def test_round_trip(p):
    data = encode(p)
    assert decode(data) == p
    assert decode(data + b"\0" * 6) == p  # link padding after IP total length is ignored
    assert wire.checksum_ok(data) == (True, True)


@settings(max_examples=150, deadline=None)
@given(packets)
def test_encode_equals_plain_scapy_build(p):
    """Our fast path (explicit layers, checksum filled from the pseudo-header) produces the
    bytes scapy produces when it fills every checksum and length itself."""
    s = p.segment
    ref = IP(version=4, tos=p.tos, id=p.ident, flags=2 if p.df else 0, frag=0, ttl=p.ttl,
             proto=6, src=p.src, dst=p.dst) / TCP(
        sport=s.sport, dport=s.dport, seq=int(s.seq), ack=int(s.ack), flags=int(s.flags),
        window=s.window, urgptr=s.urgptr, options=wire.tcp_option_list(s))
    if s.payload:
        ref = ref / Raw(load=s.payload)
    assert encode(p) == bytes(ref)


def options_from_scapy(opts) -> Options:
    """An independent reading of scapy's option list, with decode()'s documented rules."""
    kw = dict(mss=None, wscale=None, sack_perm=False, ts=None, sack=())
    extra = []
    for name, val in opts:
        if name in ("NOP", "EOL"):
            continue
        if name == "MSS" and isinstance(val, int) and kw["mss"] is None:
            kw["mss"] = val
        elif name == "WScale" and isinstance(val, int) and kw["wscale"] is None:
            kw["wscale"] = val
        elif name == "SAckOK" and val == b"" and not kw["sack_perm"]:
            kw["sack_perm"] = True
        elif name == "Timestamp" and isinstance(val, tuple) and kw["ts"] is None:
            kw["ts"] = val
        elif (name == "SAck" and isinstance(val, tuple) and val and len(val) % 2 == 0
              and not kw["sack"]):
            kw["sack"] = tuple(zip(val[::2], val[1::2]))
        else:
            extra.append((name, val))
    return Options(extra=tuple(extra), **kw)


def assert_equals_scapy_view(data: bytes, p: Packet, options: bool = True) -> None:
    ip = IP(data)
    assert (p.src, p.dst, p.ttl, p.ident, p.df, p.tos, p.proto) == (
        ip.src, ip.dst, ip.ttl, ip.id, bool(int(ip.flags) & 2), ip.tos, ip.proto)
    if p.proto != 6:   # a mutated protocol number: UDP/ICMP views in test_wire_protocols.py
        assert p.segment is None
        if p.proto not in (1, 17):
            assert p.payload == ip.payload.original
        return
    tcp = ip[TCP]
    s = p.segment
    assert (s.sport, s.dport, int(s.seq), int(s.ack), int(s.flags), s.window, s.urgptr) == \
           (tcp.sport, tcp.dport, tcp.seq, tcp.ack, int(tcp.flags) & 0xFF, tcp.window,
            tcp.urgptr)
    assert s.payload == bytes(tcp.payload)
    if options:
        assert s.options == options_from_scapy(tcp.options)


@settings(max_examples=150, deadline=None)
@given(packets)
def test_decode_equals_scapy_dissection(p):
    data = encode(p)
    assert_equals_scapy_view(data, decode(data))


# ---------------------------------------------------------------------------------------
# Checksums

@given(st.binary(max_size=200))
def test_internet_checksum_equals_scapy(data):
    assert wire.internet_checksum(data) == scapy_checksum(data)


def test_internet_checksum_rfc1071_example():
    # RFC 1071 §3: words 0001 f203 f4f5 f6f7 sum to 0xddf2 → checksum 0x220d
    assert wire.internet_checksum(bytes.fromhex("0001f203f4f5f6f7")) == 0x220D


def test_flipped_payload_byte_is_a_bad_tcp_checksum():
    data = bytearray(encode(pkt("P. 1:11(10) ack 1 win 502")))
    data[-1] ^= 0x01
    with pytest.raises(DecodeError) as e:
        decode(bytes(data))
    assert e.value.reason is DropReason.BAD_TCP_CHECKSUM
    assert wire.checksum_ok(bytes(data)) == (True, False)


def test_flipped_ttl_is_a_bad_ip_checksum():
    data = bytearray(encode(pkt("S 0:0(0) win 1")))
    data[8] ^= 0x10
    with pytest.raises(DecodeError) as e:
        decode(bytes(data))
    assert e.value.reason is DropReason.BAD_IP_CHECKSUM
    assert wire.checksum_ok(bytes(data)) == (False, True)


@settings(max_examples=200, deadline=None)
@given(packets, st.data())
def test_any_single_bit_flip_is_detected(p, data):
    raw = bytearray(encode(p))
    bit = data.draw(st.integers(0, len(raw) * 8 - 1))
    raw[bit // 8] ^= 1 << (bit % 8)
    with pytest.raises(DecodeError):
        decode(bytes(raw))


# ---------------------------------------------------------------------------------------
# Malformed input: every class has its reason

GOOD = encode(pkt("P. 1:5(4) ack 1 win 502 <TS val 1 ecr 2>"))


def edit(offset: int, value: bytes, fix=True) -> bytes:
    b = bytearray(GOOD)
    b[offset:offset + len(value)] = value
    return fix_checksums(bytes(b)) if fix else bytes(b)


@pytest.mark.parametrize("data, reason", [
    (b"", DropReason.TRUNCATED),
    (GOOD[:19], DropReason.TRUNCATED),
    (GOOD[:-1], DropReason.TRUNCATED),  # IP total length says one byte more
    (edit(0, b"\x65"), DropReason.NOT_IPV4),
    (edit(0, b"\x44"), DropReason.BAD_IP_HEADER_LENGTH),
    (edit(0, b"\x4f"), DropReason.TRUNCATED),  # 60-byte IP header, only a little more data
    (edit(2, b"\x00\x10"), DropReason.BAD_IP_TOTAL_LENGTH),
    (edit(11, b"\x00", fix=False), DropReason.BAD_IP_CHECKSUM),
    (edit(9, b"\x11"), DropReason.BAD_UDP_LENGTH),   # TCP's sequence number read as a UDP length
    (edit(9, b"\x01"), DropReason.BAD_ICMP_CHECKSUM),
    (edit(6, b"\x20\x00"), DropReason.IP_FRAGMENT),  # MF
    (edit(6, b"\x00\x10"), DropReason.IP_FRAGMENT),  # offset 16
    (edit(2, b"\x00\x27"), DropReason.TRUNCATED),  # TCP header cut to 19 bytes
    (edit(32, b"\x40"), DropReason.BAD_TCP_DATA_OFFSET),
    (edit(32, b"\xf0"), DropReason.BAD_TCP_DATA_OFFSET),
    (edit(41, b"\x00", fix=False), DropReason.BAD_TCP_CHECKSUM),
])
def test_malformed_input_reason(data, reason):
    with pytest.raises(DecodeError) as e:
        decode(data)
    assert e.value.reason is reason
    assert reason in wire.REASONS
    assert isinstance(e.value, ValueError)


@pytest.mark.parametrize("options, kept", [
    (b"\x08\x00", ()),                                          # option length 0
    (b"\x08\x2a", ()),                                          # runs past the header
    (b"\x01" * 11 + b"\x08", ()),                               # no length byte
    (b"\x03\x03\x07\x08\x01" + b"\x01" * 7, ("wscale",)),       # good option, then silly one
])
def test_structurally_malformed_option_ends_parsing_like_linux(options, kept):
    # Linux tcp_parse_options(): a silly or partial option ends the option list; what was
    # read before it counts and the segment itself is still processed (not dropped)
    p = decode(edit(40, options))
    o = p.segment.options
    assert (o.wscale is not None) == ("wscale" in kept)
    assert o.ts is None and not o.extra
    assert p.segment.payload == decode(GOOD).segment.payload


def test_ip_options_are_skipped():
    b = bytearray(GOOD)
    data = bytes([0x46]) + bytes(b[1:20]) + b"\x01\x01\x01\x00" + bytes(b[20:])
    data = bytearray(data)
    data[2:4] = (len(data)).to_bytes(2, "big")
    assert decode(fix_checksums(bytes(data))) == decode(GOOD)


def test_wrong_length_known_option_is_kept_as_scapy_shows_it():
    # MSS with length 3: Linux ignores it (tcp_parse_options), scapy shows ('MSS', b'\x05')
    data = edit(40, b"\x02\x03\x05\x01\x01\x01\x01\x01\x01\x01\x01\x01")
    p = decode(data)
    assert p.segment.options.mss is None
    assert p.segment.options.extra == (("MSS", b"\x05"),)
    assert_equals_scapy_view(data, p)


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.binary(max_size=120))
def test_random_bytes_only_ever_raise_decode_error(data):
    for candidate in (data, fix_checksums(data)):
        try:
            decode(candidate)
        except DecodeError as e:
            assert e.reason in wire.REASONS


@settings(max_examples=500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(packets, st.lists(st.tuples(st.integers(0, 200), st.integers(0, 255)), min_size=1,
                         max_size=6), st.integers(0, 300))
def test_mutated_packets_decode_like_scapy_or_raise_decode_error(p, changes, cut):
    b = bytearray(encode(p))
    for pos, value in changes:
        if pos < len(b):
            b[pos] = value
    data = fix_checksums(bytes(b[:max(cut, 1)] if cut < len(b) else b))
    try:
        got = decode(data)
    except DecodeError as e:
        assert e.reason in wire.REASONS
        event(e.reason)
        return
    event("decoded")
    total = int.from_bytes(data[2:4], "big")
    ihl = (data[0] & 0x0F) * 4
    doff = (data[ihl + 12] >> 4) * 4
    raw = data[ihl + 20:ihl + doff]
    prefix = well_formed_prefix(raw)
    if prefix != raw:
        event("malformed options: parsing stops")
        # Linux tcp_parse_options() stops at the broken option; scapy reads the prefix alike
        from scapy.layers.inet import TCPOptionsField
        assert got.segment.options == options_from_scapy(
            TCPOptionsField("options", b"").m2i(None, prefix))
        assert_equals_scapy_view(data[:total], got, options=False)
        return
    assert_equals_scapy_view(data[:total], got)


def well_formed_prefix(raw: bytes) -> bytes:
    """The options Linux reads before a structural error (an independent walk of RFC 9293
    §3.2's kind/length layout): up to EOL, a missing length byte, a length < 2 or one that
    runs past the end."""
    i = 0
    while i < len(raw):
        if raw[i] == 0:
            return raw
        if raw[i] == 1:
            i += 1
            continue
        if i + 1 >= len(raw) or raw[i + 1] < 2 or i + raw[i + 1] > len(raw):
            return raw[:i]
        i += raw[i + 1]
    return raw


# ---------------------------------------------------------------------------------------
# scapy interop

def test_from_scapy_fills_checksums_and_decodes():
    data = wire.from_scapy(IP(src="10.0.0.99", dst=B, ttl=64) /
                           TCP(sport=1234, dport=80, flags="S", seq=1000, window=1024))
    p = decode(data)
    assert (p.src, p.segment.flags, int(p.segment.seq)) == ("10.0.0.99", Flags.SYN, 1000)


def test_from_scapy_keeps_a_deliberately_wrong_checksum():
    data = wire.from_scapy(IP(src=A, dst=B) / TCP(sport=1, dport=80, chksum=0x1234))
    with pytest.raises(DecodeError, match="bad TCP checksum"):
        decode(data)


def test_from_scapy_strips_ether_and_passes_bytes_through():
    inner = IP(src=A, dst=B) / TCP(sport=1, dport=80, flags="A")
    assert wire.from_scapy(Ether() / inner) == bytes(inner)
    assert wire.from_scapy(b"\x45junk") == b"\x45junk"


@pytest.mark.parametrize("thing, message", [
    (TCP(dport=80), "no IP layer"),
    ("IP/TCP", "scapy packet"),
])
def test_from_scapy_teaches_on_mistakes(thing, message):
    with pytest.raises(ValueError, match=message):
        wire.from_scapy(thing)


def test_from_scapy_never_takes_the_real_machines_address():
    with pytest.raises(ValueError, match="IP source"):
        wire.from_scapy(IP(dst=B) / TCP(dport=80))
    data = wire.from_scapy(IP(dst=B) / TCP(dport=80), default_src="192.168.1.99")
    assert decode(data).src == "192.168.1.99"


def test_to_scapy_and_summary():
    data = encode(pkt("S. 0:0(0) ack 1 win 65160 <mss 1460>", 80, 40000))
    s = wire.to_scapy(data)
    assert s[TCP].options == [("MSS", 1460)] and s[IP].src == A
    assert wire.summary(data) == f"IP / TCP {A}:80 > {B}:40000 SA"
    assert wire.summary(encode(pkt("P. 1:3(2) ack 1 win 1"))).endswith(" PA / Raw")
    assert "bad TCP checksum" in wire.summary(edit(41, b"\x00", fix=False))
