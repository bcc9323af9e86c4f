"""A TCB makes its containers on first use (a port-exhaustion run holds tens of thousands of
idle connections, and every container is one more object for the cyclic collector to walk);
reading one before it exists gives what an empty one would."""
import gc

from simtcp.congestion import Cubic
from simtcp.segment import Flags, FourTuple, Segment
from simtcp.tcp import Connection, TcpConfig

T = FourTuple("10.0.0.1", 40000, "10.0.0.2", 80)
SYNACK = "S. 5000:5000(0) ack 1001 win 65535 <mss 1460,sackOK,nop,nop,nop,wscale 7>"


def inp(c, text, now=0.0):
    c.receive(Segment.parse(text, sport=80, dport=40000), now)


def established():
    """An ESTABLISHED client (SACK on, timestamps off) whose outputs were all taken."""
    c = Connection(T, TcpConfig(timestamps=False), 1000)
    c.open_active(0.0)
    inp(c, SYNACK, 0.01)
    list(c.take_segments()), list(c.take_events())
    return c


def lazy_fields(c):
    return {"_out": c._out, "_events": c._events, "sacked": c.sacked,
            "push_marks": c.push_marks, "rack": c._rack, "cc": c._cc, "ooo": c.ooo}


def test_an_idle_established_connection_holds_no_empty_containers():
    c = established()
    assert lazy_fields(c) == {"_out": (), "_events": (), "sacked": (), "push_marks": (),
                              "rack": None, "cc": None, "ooo": None}
    # nothing the TCB refers to directly is an empty list, set or dict the collector tracks
    for name in Connection.__slots__:
        value = getattr(c, name, None)
        assert not (gc.is_tracked(value) and isinstance(value, (list, set)) and not value), name


def test_reading_before_first_use_is_reading_an_empty_container():
    fresh = Connection(T, TcpConfig(timestamps=False), 1000)
    assert not fresh.take_segments() and not fresh.take_events()
    assert fresh.next_deadline() is None and fresh.sacked_bytes == 0
    c = established()
    info = c.info(0.02)
    assert (info.sacked, info.lost, info.retrans, info.bytes_retrans) == (0, 0, 0, 0)
    assert (info.segs_out, info.segs_in, info.data_segs_out, info.data_segs_in) == (2, 1, 0, 0)
    assert c._data_options(0.02).sack == ()              # no out-of-order data: no SACK blocks
    assert c.rack.retrans_in_flight() == 0 and c.rack.lost_segments() == []
    assert c.rack.detect_loss(0.02, 0.001) == (0, 0.0) and c.rack.log == ()
    assert info.congestion == "cubic" and c.cc.name == "cubic"


def test_the_congestion_control_is_made_from_the_configuration_when_first_needed():
    c = Connection(T, TcpConfig(timestamps=False, congestion="reno"), 1000)
    c.open_active(0.0)
    inp(c, SYNACK, 0.01)
    assert c._cc is None and c.info(0.02).congestion == "reno" and c._cc is not None
    c.cc = Cubic()                                  # what TCP_CONGESTION does
    assert c.info(0.02).congestion == "cubic"


def test_in_order_data_makes_no_out_of_order_queue_and_the_first_hole_does():
    c = established()
    inp(c, ". 5001:5101(100) ack 1001 win 502", 0.02)
    assert c.ooo is None and int(c.rcv_nxt) == 5101
    list(c.take_segments())
    inp(c, ". 5201:5301(100) ack 1001 win 502", 0.03)           # a hole of 100 bytes
    (dupack,) = [o.segment for o in c.take_segments()]
    assert len(c.ooo) == 1 and dupack.options.sack == ((5201, 5301),)
    inp(c, ". 5101:5201(100) ack 1001 win 502", 0.04)           # the hole filled
    assert not c.ooo and int(c.rcv_nxt) == 5301


def test_push_marks_and_rack_log_are_made_by_the_first_write_and_let_go_when_acked():
    c = established()
    assert c.send(b"a" * 100, 0.02) == 100
    (seg,) = [o.segment for o in c.take_segments()]
    assert seg.flags == Flags.ACK | Flags.PSH
    # the first write starts sending: CUBIC hears of it (CA_EVENT_TX_START)
    assert list(c.push_marks) == [1101] and len(c.rack.log) == 1 and c._cc is not None
    inp(c, ". 5001:5001(0) ack 1101 win 502", 0.03)
    assert c.rack.log == () and not c.push_marks
    assert c.send(b"b" * 100, 0.04) == 100                     # a second write after that
    (seg,) = [o.segment for o in c.take_segments()]
    assert seg.flags == Flags.ACK | Flags.PSH and int(seg.seq) == 1101
    info = c.info(0.04)
    assert (info.data_segs_out, info.bytes_sent, info.segs_in) == (2, 200, 2)
