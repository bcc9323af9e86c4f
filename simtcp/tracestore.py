"""Compact storage for the trace: columns of plain values, records built only when read.

Theory of operation: a traced run makes tens of thousands of records (about 53 per short
connection), and most of them are looked at never or once. Kept as one 12-field
`TraceRecord` tuple each, with its float time, its packet-id int and its detail tuples, a
record cost about 400 bytes. `RecordStore` keeps the same information column by column
instead, with no object per record:

    time      array of doubles          pkt_id   array of ints (-1 = None; 32-bit, then 64)
    packet    list (the shared Packet)  conn     list (the shared FourTuple, or None)
    shape     array of 16-bit indices into a list of (kind, host, what, old, reason, rfc)
              tuples: the records made at one place in the code share one shape
    extra     list: None, the detail tuple as given, or a compact form expanded on reading
              (bytes: a send's TCB packed by `TcbSnapshot`; `SocketCall`: a socket call
              whose display text is built only when read; `_Parented`: detail + parent)

Reading (``trace.records``, iterating, indexing) builds `TraceRecord`s on the fly from the
columns; they compare equal to the records as they were made (same field values and types),
so nothing that reads the trace can tell the difference except by identity.

A bounded store (``limit``) discards its oldest records in chunks, as `Recent` does for a
list, and counts by kind what it discarded.
"""
from __future__ import annotations

import struct
from array import array
from collections import Counter
from collections.abc import Sequence
from typing import Any, Iterator, List, Optional

from .seq import Seq

#: Shapes looked up for sharing at most: past this, a new shape is stored for each record that
#: has it (as a tuple per record was before), and a bounded store renumbers the shapes its
#: kept records use when the list has grown to twice this, so nothing grows without bound.
SHAPES_CAP = 4096
#: Call results remembered for sharing: they are often unique ("from 10.0.0.1:40000"), so
#: the table starts afresh when full (stored records keep their words; only sharing is lost).
WORDS_CAP = 256

_TCB = struct.Struct("<IIIIIIiI")
_NO_DETAIL = ()
_new = tuple.__new__


class TcbSnapshot:
    """A send record's TCB after sending, packed into 32 bytes (a plain `bytes` in the
    store's extra column): SND.UNA, SND.NXT, RCV.NXT, SND.WND, RCV.WND, then cwnd and
    ssthresh in segments (-1 for "not set yet") and the RTO in ms. It reads back as the
    detail ``(("tcb", (SND.UNA, SND.NXT, RCV.NXT, SND.WND, RCV.WND)), ("cc", (cwnd,
    ssthresh or None, rto_ms)))`` with the sequence numbers as `Seq`."""

    @staticmethod
    def of(tcb: tuple, cc: tuple):
        """The packed snapshot, or the detail tuple itself when a value does not fit."""
        cwnd, ssthresh, rto_ms = cc
        try:
            return _TCB.pack(*tcb, cwnd, -1 if ssthresh is None else ssthresh, rto_ms)
        except struct.error:
            return (("tcb", tcb), ("cc", cc))

    @staticmethod
    def detail(packed: bytes) -> tuple:
        una, nxt, rcv_nxt, snd_wnd, rcv_wnd, cwnd, ssthresh, rto_ms = _TCB.unpack(packed)
        return (("tcb", (Seq(una), Seq(nxt), Seq(rcv_nxt), snd_wnd, rcv_wnd)),
                ("cc", (cwnd, None if ssthresh < 0 else ssthresh, rto_ms)))


class SocketCall(tuple):
    """A ``call`` record's typed content, flat: (name, result text, returned value or None,
    *args). ``what`` (the call as text) and the detail are built from it only when read."""

    __slots__ = ()

    def fields(self):
        """(what, reason, detail) of the record."""
        name, result, returned = self[:3]
        args = self[3:]
        detail = (("call", name), ("args", args))
        if returned is not None:
            detail += (("returned", returned),)
        return f"{name}({', '.join(map(repr, args))})", result, detail


class _Parented(tuple):
    """(detail, parent) of a record that has a parent packet id."""

    __slots__ = ()


def _intern(table: dict, value, cap: int) -> dict:
    """``table`` with ``value`` added (a fresh table when it holds ``cap`` values)."""
    if len(table) >= cap:
        table = {}
    table[value] = value
    return table


def _detail(extra) -> tuple:
    return TcbSnapshot.detail(extra) if type(extra) is bytes else extra


class RecordStore:
    """The columns of a trace (module docstring); ``record_type`` builds the records read."""

    record_type: Any = tuple

    def __init__(self, limit: Optional[int] = None) -> None:
        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, int)
                                  or limit < 1):
            raise ValueError(f"a record limit must be a positive int, got {limit!r}")
        self._limit = limit
        self._high = limit + max(limit // 16, 1) if limit is not None else None
        self._discarded: Counter = Counter()
        self._words: dict = {}
        self.enabled = True
        self._clear_columns()
        self._view = RecordView(self)

    def _clear_columns(self) -> None:
        self._time = array("d")
        self._ids = array("i")                 # widened to "q" when ids outgrow it
        self._packets: list = []
        self._conns: list = []
        self._shape = array("H")               # index in _shape_list; widened to "I"
        self._extra: list = []
        self._shape_list: list = []            # the shapes, each once (unless unhashable)
        self._shapes: dict = {}                # shape -> its index, for the first SHAPES_CAP
        self._compact_at = 2 * SHAPES_CAP      # a bounded store renumbers its shapes past this

    # ------------------------------------------------------------------ writing
    def record(self, time: float, kind: str, host: str, packet=None, pkt_id=None, conn=None,
               what: Any = "", old: Any = "", reason: Any = "", rfc: str = "",
               detail: Any = (), parent: Optional[int] = None) -> None:
        """Store one record (the fields of `TraceRecord`, in its order). ``detail`` may be a
        TCB packed by `TcbSnapshot.of`. The caller checks ``enabled`` first, as it decides
        what to build."""
        if pkt_id is None:
            pkt_id = -1
        elif pkt_id < 0:
            raise ValueError(f"a packet id is a non-negative int, got {pkt_id!r}")
        self._time.append(time)
        try:
            self._ids.append(pkt_id)
        except OverflowError:                       # 2^31 packets: widen the column
            self._ids = array("q", self._ids)
            self._ids.append(pkt_id)
        except TypeError:
            self._time.pop()
            raise TypeError(f"a packet id is an int or None, got {pkt_id!r}") from None
        self._packets.append(packet)
        self._conns.append(conn)
        # the types are part of the key: a StrEnum member equals its plain-string value
        key = (kind, host, what, old, reason, rfc, type(what), type(old), type(reason))
        try:
            index = self._shapes[key]
        except KeyError:
            index = self._add_shape(key, True)
        except TypeError:                           # an unhashable field: keep it unshared
            index = self._add_shape(key, False)
        try:
            self._shape.append(index)
        except OverflowError:                       # 65,536 shapes: widen the column
            self._shape = array("I", self._shape)
            self._shape.append(index)
        if parent is not None:
            self._extra.append(_Parented((detail, parent)))
        else:
            self._extra.append(None if detail is _NO_DETAIL else detail)
        if self._high is not None and len(self._ids) > self._high:
            self._discard(len(self._ids) - self._limit)

    def socket_call(self, time: float, host: str, conn, name: str, args: tuple,
                    result: str = "", returned=None) -> None:
        """Store a ``call`` record: what = ``name(args…)`` as text, reason = ``result``,
        detail = ("call", name), ("args", args)[, ("returned", returned)]."""
        if type(result) is str:                     # the same words again: share them
            try:
                result = self._words[result]
            except KeyError:
                self._words = _intern(self._words, result, WORDS_CAP)
        self.record(time, "call", host, None, None, conn,
                    detail=SocketCall((name, result, returned) + args))

    def add(self, record) -> None:
        """Store a ready-made record (when enabled)."""
        if self.enabled:
            self.record(*record)

    def _add_shape(self, key: tuple, share: bool) -> int:
        index = len(self._shape_list)
        self._shape_list.append(key)
        if share and len(self._shapes) < SHAPES_CAP:
            self._shapes[key] = index
        return index

    def _discard(self, n: int) -> None:
        shapes = self._shape_list
        self._discarded.update(shapes[i][0] for i in self._shape[:n])
        for column in (self._time, self._ids, self._packets, self._conns, self._shape,
                       self._extra):
            del column[:n]
        if len(shapes) > self._compact_at:
            self._compact_shapes()

    def _compact_shapes(self) -> None:
        """Keep only the shapes the kept records use (a bounded store whose records carry
        ever new words would otherwise keep every shape it ever saw)."""
        live = sorted(set(self._shape))
        renumber = {old: new for new, old in enumerate(live)}
        self._shape_list = [self._shape_list[i] for i in live]
        self._shapes = {}
        for index, key in enumerate(self._shape_list[:SHAPES_CAP]):
            try:
                self._shapes.setdefault(key, index)
            except TypeError:
                pass
        self._shape = array(self._shape.typecode, [renumber[i] for i in self._shape])
        self._compact_at = 2 * max(SHAPES_CAP, len(live))

    # ------------------------------------------------------------------ reading
    def _build(self, time, shape, packet, pkt_id, conn, extra):
        kind, host, what, old, reason, rfc = self._shape_list[shape][:6]
        detail, parent = (), None
        if extra is not None:
            t = type(extra)
            if t is bytes:
                detail = TcbSnapshot.detail(extra)
            elif t is SocketCall:
                what, reason, detail = extra.fields()
            elif t is _Parented:
                detail, parent = _detail(extra[0]), extra[1]
            else:
                detail = extra
        return _new(self.record_type, (time, kind, host, packet,
                                       None if pkt_id < 0 else pkt_id, conn, what, old,
                                       reason, rfc, detail, parent))

    def _at(self, i: int):
        return self._build(self._time[i], self._shape[i], self._packets[i], self._ids[i],
                           self._conns[i], self._extra[i])

    def _iter(self, start: int = 0, stop: Optional[int] = None) -> Iterator:
        build = self._build
        cols = (self._time, self._shape, self._packets, self._ids, self._conns, self._extra)
        if start or stop is not None:
            cols = tuple(c[start:stop] for c in cols)
        for row in zip(*cols):
            yield build(*row)

    def _kinds(self) -> Iterator[str]:
        shapes = self._shape_list
        return (shapes[i][0] for i in self._shape)

    def _positions(self, kind: Optional[str] = None, host: Optional[str] = None) -> Iterator[int]:
        """Positions of the records of ``kind`` on ``host`` (None: any)."""
        wanted = {i for i, s in enumerate(self._shape_list)
                  if (kind is None or s[0] == kind) and (host is None or s[1] == host)}
        return (p for p, i in enumerate(self._shape) if i in wanted)

    @property
    def records(self) -> "RecordView":
        """The records, oldest first, as a list-like view (records are built as read)."""
        return self._view

    @property
    def limit(self) -> Optional[int]:
        return self._limit

    @property
    def discarded(self) -> int:
        """How many old records a bounded trace has discarded (0 when unbounded)."""
        return sum(self._discarded.values())

    def count(self, kind: str) -> int:
        """Records of ``kind`` ever added, discarded ones included."""
        shapes = self._shape_list
        return (sum(n for i, n in Counter(self._shape).items() if shapes[i][0] == kind)
                + self._discarded[kind])

    def __len__(self) -> int:
        return len(self._ids)

    def __iter__(self) -> Iterator:
        return self._iter()

    def __getitem__(self, i):
        return self._view[i]


class RecordView(Sequence):
    """``trace.records``: reads like the list of records it used to be (len, index, slice,
    iterate, compare) and takes ``append``/``pop``/``clear``. ``limit`` and ``discarded``
    (a Counter by kind) describe a bounded trace."""

    __slots__ = ("_store",)

    def __init__(self, store: RecordStore) -> None:
        self._store = store

    def __len__(self) -> int:
        return len(self._store._ids)

    def __getitem__(self, i):
        s = self._store
        if isinstance(i, slice):
            start, stop, step = i.indices(len(self))
            if step == 1:
                return list(s._iter(start, max(start, stop)))
            return [s._at(j) for j in range(start, stop, step)]
        if i < 0:
            i += len(self)
        if not 0 <= i < len(self):
            raise IndexError("trace record index out of range")
        return s._at(i)

    def __iter__(self) -> Iterator:
        return self._store._iter()

    def __eq__(self, other) -> bool:
        if isinstance(other, RecordView):
            return len(self) == len(other) and all(a == b for a, b in zip(self, other))
        if isinstance(other, list):
            return list(self) == other
        return NotImplemented

    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"<{len(self)} trace records>"

    @property
    def limit(self) -> Optional[int]:
        return self._store._limit

    @property
    def discarded(self) -> Counter:
        return self._store._discarded

    def append(self, record) -> None:
        self._store.record(*record)

    def extend(self, records) -> None:
        for r in records:
            self._store.record(*r)

    def pop(self, i: int = -1):
        s = self._store
        record = self[i]
        i = i + len(self) if i < 0 else i
        for column in (s._time, s._ids, s._packets, s._conns, s._shape, s._extra):
            del column[i]
        return record

    def clear(self) -> None:
        self._store._clear_columns()
