"""The trace stores records column by column and builds `TraceRecord`s only when read: what
is read back must be exactly what was recorded (values and types), and a traced run must hold
far less than one tuple per record did."""
import gc
import tracemalloc

import pytest

import simtcp
from simtcp.reasons import DemuxRule, SendCause, StateCause
from simtcp.segment import FourTuple
from simtcp.seq import Seq
from simtcp.trace import Trace, TraceRecord
from simtcp.tracestore import SHAPES_CAP, WORDS_CAP, TcbSnapshot

T = FourTuple("10.0.0.1", 40000, "10.0.0.2", 80)


def typed(record):
    """A record with every value's type alongside, so ``==`` also compares types (a StrEnum
    member equals its plain-string value; a Seq equals its int)."""
    def walk(v):
        if isinstance(v, tuple):
            return (type(v), tuple(walk(x) for x in v))
        return (type(v), v)
    return walk(tuple(record))


def test_records_read_back_exactly_as_made():
    made = [
        TraceRecord(0.0, "call", "a", detail=(("call", "bind"), ("args", (("0.0.0.0", 80),)))),
        TraceRecord(0.25, "state", "a", None, None, T, "LISTEN", "CLOSED",
                    StateCause.PASSIVE_OPEN, "RFC 9293 §3.10.1", (("backlog", 4),)),
        TraceRecord(0.5, "send", "a", None, 7, T, reason=SendCause.DATA, rfc="RFC 9293",
                    detail=(("tcb", (Seq(1), Seq(2), Seq(3), 4, 5)),), parent=3),
        TraceRecord(0.5, "demux", "b", None, 7, T, DemuxRule.LISTENER),
        TraceRecord(0.75, "deliver", "b", None, 0),
        # a plain string equal to an enum member's value stays a plain string (and back)
        TraceRecord(1.0, "event", "b", what=str(DemuxRule.LISTENER), reason="x"),
        TraceRecord(1.0, "event", "b", what=DemuxRule.LISTENER, reason="x"),
        TraceRecord(2.0, "event", "b", what=["unhashable"], detail=[1, 2]),
        TraceRecord(3.0, "send", "b", None, 2**40),           # widens the id column
    ]
    trace = Trace()
    for r in made:
        trace.add(r)
    assert [typed(r) for r in trace.records] == [typed(r) for r in made]
    assert [typed(r) for r in trace] == [typed(r) for r in made]
    assert typed(trace[2]) == typed(made[2]) and typed(trace[-1]) == typed(made[-1])
    assert trace.records[1:3] == made[1:3] and trace.records[::-2] == made[::-2]
    assert trace.records == made and len(trace) == len(made)
    with pytest.raises(IndexError):
        trace.records[len(made)]
    with pytest.raises(ValueError):
        trace.record(0.0, "send", "a", None, -5)
    with pytest.raises(TypeError):
        trace.record(0.0, "send", "a", None, "7")
    assert len(trace) == len(made)              # a refused record leaves nothing behind


def test_packed_tcb_and_socket_calls_expand_when_read():
    trace = Trace()
    tcb = (Seq(2**32 - 1), Seq(5), Seq(0), 65535, 1 << 30)
    trace.record(0.1, "send", "a", None, 1, T, detail=TcbSnapshot.of(tcb, (10, None, 200)))
    trace.record(0.1, "send", "a", None, 2, T, detail=TcbSnapshot.of(tcb, (10, 7, 200)))
    big = TcbSnapshot.of(tcb, (1 << 40, 7, 200))          # does not fit: kept as a tuple
    assert big == (("tcb", tcb), ("cc", (1 << 40, 7, 200)))
    trace.record(0.1, "send", "a", None, 3, T, detail=big)
    trace.socket_call(0.2, "a", T, "send", (100,), "100 of 100 bytes queued")
    trace.socket_call(0.3, "a", None, "recv", (1024,), "100 bytes", returned=100)
    r1, r2, r3, c1, c2 = trace.records
    assert typed(r1.detail) == typed((("tcb", tcb), ("cc", (10, None, 200))))
    assert r2.get("cc") == (10, 7, 200) and r3.get("cc") == (1 << 40, 7, 200)
    assert all(type(v) is Seq for v in r1.get("tcb")[:3])
    assert (c1.what, c1.reason, c1.conn, c1.detail) == (
        "send(100)", "100 of 100 bytes queued", T, (("call", "send"), ("args", (100,))))
    assert c2.what == "recv(1024)" and c2.get("returned") == 100 and c2.conn is None


def test_bounded_store_discards_oldest_and_counts_them():
    trace = Trace(limit=16)
    for i in range(100):
        trace.record(float(i), "send" if i % 2 else "deliver", "a", None, i)
    assert 16 <= len(trace) <= 17 and trace.discarded == 100 - len(trace)
    assert trace.count("send") == 50 and trace.count("deliver") == 50
    assert [r.pkt_id for r in trace] == list(range(100 - len(trace), 100))
    assert trace.records.discarded["send"] + trace.records.discarded["deliver"] == trace.discarded
    last = trace.records.pop()
    assert last.pkt_id == 99 and trace[-1].pkt_id == 98
    trace.records.append(last)
    assert trace[-1] == last
    with pytest.raises(ValueError):
        Trace(limit=0)


def test_sharing_tables_stay_small_when_words_never_repeat():
    trace = Trace()
    for i in range(3 * WORDS_CAP):
        trace.socket_call(0.0, "a", None, "connect", (("10.0.0.2", 80),), f"from x:{i}")
    assert len(trace._words) <= WORDS_CAP
    assert [r.reason for r in trace][-1] == f"from x:{3 * WORDS_CAP - 1}"


def test_shapes_of_ever_new_words_stay_bounded_and_read_back():
    """Every record with its own words: a bounded store renumbers the shapes its kept
    records use (the list stays bounded); an unbounded one keeps them all, widening its
    16-bit index column past 65,536 shapes."""
    bounded = Trace(limit=100)
    for i in range(3 * SHAPES_CAP):
        bounded.record(float(i), "event", "a", reason=f"word {i}")
    assert len(bounded._shape_list) <= 2 * SHAPES_CAP + 1
    assert [r.reason for r in bounded] == [f"word {i}" for i in range(
        3 * SHAPES_CAP - len(bounded), 3 * SHAPES_CAP)]
    assert bounded.count("event") == 3 * SHAPES_CAP
    unbounded = Trace()
    n = (1 << 16) + 10
    for i in range(n):
        unbounded.record(0.0, "event", "a", what=i)
    unbounded.record(0.0, "deliver", "a")
    assert unbounded._shape.typecode == "I"
    assert unbounded[-2].what == n - 1 and unbounded[5].what == 5 and unbounded[-1].what == ""
    assert unbounded.count("event") == n and unbounded.count("deliver") == 1
    assert len(unbounded.filter(kind="deliver")) == 1


def _held(trace: bool) -> tuple:
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.get_traced_memory()[0]
    net = simtcp.Network(seed=1, wire="fast", trace=trace, capture=False)
    c, s = net.add_host("c", "10.0.0.1"), net.add_host("s", "10.0.0.2")
    net.add_link(c, s, delay=0.0001)
    lst = s.socket()
    lst.bind(("", 80))
    lst.listen(512)
    for _ in range(100):
        a = c.socket()
        a.connect(("10.0.0.2", 80))
        b, _ = lst.accept()
        a.sendall(b"x" * 100)
        b.recv(1024)
        b.sendall(b"x" * 100)
        a.recv(1024)
        a.close()
        b.close()
    net.run()
    gc.collect()
    held = tracemalloc.get_traced_memory()[0] - before
    tracemalloc.stop()
    return held, len(net.trace)


def test_a_traced_run_holds_little_per_record():
    """Short connections (the bench's workload, 100 of them): the bytes a finished traced
    run holds beyond an untraced one, per record, packets included (one tuple per record
    with its detail tuples held about 400; the bench's goal is 200)."""
    bare, _ = _held(False)
    traced, records = _held(True)
    assert records > 100 * 40
    assert (traced - bare) / records < 220
