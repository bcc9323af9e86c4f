import pytest

from simtcp.segment import Flags, FourTuple, Options, Packet, Segment


def test_compact_notation_round_trip():
    text = "S 0:0(0) win 64240 <mss 1460,sackOK,TS val 1 ecr 0,nop,wscale 7>"
    seg = Segment.parse(text)
    assert seg.flags == Flags.SYN and seg.window == 64240
    assert seg.options == Options(mss=1460, sack_perm=True, ts=(1, 0), wscale=7)
    assert str(seg) == text


def test_ack_and_payload_in_notation():
    seg = Segment.parse("P. 1:6(5) ack 1 win 502", sport=40000, dport=80)
    assert seg.flags == Flags.PSH | Flags.ACK and seg.payload == b"xxxxx"
    assert (seg.sport, seg.dport, int(seg.ack)) == (40000, 80, 1)


def test_seg_len_counts_syn_and_fin():
    assert Segment.parse("S 0:0(0)").seg_len == 1
    assert Segment.parse("F. 10:13(3) ack 1").seg_len == 4


def test_flag_labels_read_like_a_textbook():
    assert (Flags.SYN | Flags.ACK).names == "SYN,ACK"
    assert (Flags.SYN | Flags.ACK).letters == "S."
    assert Flags(0).names == "none"


def test_bad_notation_explains_the_format():
    with pytest.raises(ValueError, match="compact notation"):
        Segment.parse("SYN please")
    with pytest.raises(ValueError, match="end - start"):
        Segment.parse("P. 1:9(5) ack 1")


def test_packet_four_tuple_is_the_receivers_view():
    p = Packet("10.0.0.1", "10.0.0.2", Segment.parse("S 0:0(0)", sport=40000, dport=80))
    assert p.four_tuple() == FourTuple("10.0.0.2", 80, "10.0.0.1", 40000)
    assert p.four_tuple().reversed() == FourTuple("10.0.0.1", 40000, "10.0.0.2", 80)


def test_sequence_fields_are_plain_ints_that_read_as_seq_in_repr_and_wrap_in_str():
    """Segments carry the 32-bit header fields as ints (simtcp.seq); the repr shows them as
    traces always have, and the compact notation's end wraps at 2**32."""
    seg = Segment.parse("P. 4294967294:2(4) ack 7 win 1")
    assert (type(seg.seq), seg.seq, type(seg.ack), seg.ack) == (int, 2**32 - 2, int, 7)
    assert "seq=Seq(4294967294), ack=Seq(7), flags=" in repr(seg)
    assert str(seg) == "P. 4294967294:2(4) ack 7 win 1"
