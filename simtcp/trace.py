"""The trace: one ordered stream of records that explains everything the network did.

Theory of operation: every layer appends `TraceRecord`s to the network's `Trace` as things
happen — a packet put on a link (``send``), delivered to a host (``deliver``), dropped with a
named reason (``drop``), a demultiplexing decision (``demux``), a TCP state change
(``state``), a socket call (``call``) and notable stack events (``event``: retransmission
timeouts, cookies, queue overflows). Records read as immutable named tuples holding only
plain values and immutable segments, so the same seed gives an equal trace in both wire
modes, and figures (`simtcp.viz`) can be drawn from the trace alone. They are stored column
by column and built only when read (`simtcp.tracestore`): a traced run holds about a third
of the memory one tuple per record took.

Accounting rule ("nothing silently lost"): every ``send`` record's packet id ends in exactly
one ``deliver`` or ``drop`` record; `Trace.unaccounted()` lists the ones that do not.

A bounded trace (``Network(trace_limit=N)``) keeps the most recent N records: the oldest
are discarded in chunks (so it holds between N and N + N/16), and the kinds
of what was discarded are counted, so `Trace.count` still gives totals and the accounting
rule still holds (a send is always older than its fate, so a fate is never kept without its
send being counted).
"""
from __future__ import annotations

from collections import Counter
from typing import Any, Iterable, Iterator, List, NamedTuple, Optional

from .reasons import SendCause, words
from .segment import FourTuple
from .packet import Packet
from .tracestore import RecordStore

KINDS = ("send", "deliver", "drop", "demux", "state", "call", "event")


class TraceRecord(NamedTuple):
    """One thing that happened at virtual time ``time`` (seconds).

    kind     one of KINDS
    host     name of the host (or link, for drops on a link) where it happened
    packet   the Packet for send/deliver/drop/demux records
    pkt_id   network-wide packet number, linking a send to its deliver/drop
    conn     the FourTuple of the connection concerned (local view), if any
    what     state name for ``state``; the call as text for ``call``; a `DemuxRule` for
             ``demux``; an `EventKind` for ``event``
    old      previous state (``state`` records)
    reason   why, typed (`simtcp.reasons`): a `DropReason` for ``drop``, a `SendCause` (or
             the `StateCause` of an abort) for ``send``, a `StateCause` or the RFC 9293
             Figure 5 transition words for ``state``; for ``call`` the result as display
             text (typed values are in the detail)
    rfc      the rule followed, e.g. "RFC 9293 §3.10.7.4"
    detail   extra plain values (tuple of (key, value) pairs); send records from a connection
             carry ("tcb", (SND.UNA, SND.NXT, RCV.NXT, SND.WND, RCV.WND)) after sending
             (the three sequence numbers as `Seq`)
    parent   for a ``send`` of a copy made from another packet (forwarded hop, duplicate,
             rewrite, generated ICMP error or reset): the id of that packet
    """

    time: float
    kind: str
    host: str
    packet: Optional[Packet] = None
    pkt_id: Optional[int] = None
    conn: Optional[FourTuple] = None
    what: str = ""
    old: str = ""
    reason: str = ""
    rfc: str = ""
    detail: tuple = ()
    parent: Optional[int] = None

    def get(self, key: str, default: Any = None) -> Any:
        for k, v in self.detail:
            if k == key:
                return v
        return default

    @property
    def what_text(self) -> str:
        """``what`` as display text, with the numbers from the detail filled in."""
        return words(self.what, **dict(self.detail))

    @property
    def reason_text(self) -> str:
        """``reason`` as display text in the current language."""
        return words(self.reason, **dict(self.detail))

    def __str__(self) -> str:
        t = f"{self.time * 1000:10.3f} ms  {self.host:<10} {self.kind:<7}"
        body = ""
        if self.kind in ("send", "deliver", "drop", "demux") and self.packet is not None:
            body = str(self.packet)
            if self.kind == "demux":
                body = f"{self.what_text}: {body}"
        elif self.kind == "state":
            body = f"{self.conn}  {self.old} -> {self.what}"
        else:
            body = f"{self.what_text}" + (f" {self.conn}" if self.conn else "")
        if self.reason:
            body += f"  [{self.reason_text}]"
        if self.rfc:
            body += f"  ({self.rfc})"
        return f"{t} {body}"


class Recent(list):
    """A list that keeps only its most recent ``limit`` items: appending beyond
    ``limit + limit // 16`` discards the oldest down to ``limit``. ``discarded`` counts what
    went, by ``key(item)``."""

    def __init__(self, limit: int, key=None, on_discard=None) -> None:
        super().__init__()
        if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
            raise ValueError(f"a record limit must be a positive int, got {limit!r}")
        self.limit = limit
        self._high = limit + max(limit // 16, 1)
        self.discarded: Counter = Counter()
        self._key = key
        self._on_discard = on_discard

    def append(self, item) -> None:
        list.append(self, item)
        if len(self) > self._high:
            n = len(self) - self.limit
            if self._key is not None:
                self.discarded.update(self._key(x) for x in self[:n])
            else:
                self.discarded[None] += n
            del self[:n]


class Trace(RecordStore):
    """The records of a run, oldest first, with small query helpers; ``limit`` keeps only
    the most recent records (see module docstring). Layers add records with `record` (the
    fields of `TraceRecord`) or `add` (a ready `TraceRecord`); they are stored compactly
    (`simtcp.tracestore`) and read back as `TraceRecord`s."""

    record_type = TraceRecord

    def filter(self, kind: Optional[str] = None, host: Optional[str] = None,
               conn: Optional[FourTuple] = None, what: Optional[str] = None) -> List[TraceRecord]:
        """Records matching every given criterion (``conn`` matches either direction)."""
        out = []
        pair = (conn, conn.reversed()) if conn is not None else None
        for r in self._select(kind, host):
            if what is not None and r.what != what:
                continue
            if pair is not None and r.conn not in pair:
                if r.packet is None or r.packet.ports[0] is None or \
                        r.packet.four_tuple() not in pair:
                    continue
            out.append(r)
        return out

    def _select(self, kind: Optional[str] = None, host: Optional[str] = None) -> Iterator:
        """The records of ``kind`` on ``host`` (None: any), read from the columns so that
        only those are built."""
        for i in self._positions(kind, host):
            yield self._at(i)

    def states(self, host: str, conn: Optional[FourTuple] = None) -> List[str]:
        """The sequence of states a connection on ``host`` went through (first old included)."""
        recs = [r for r in self._select("state", host) if conn is None or r.conn == conn]
        return ([recs[0].old] if recs else []) + [r.what for r in recs]

    def unaccounted(self) -> List[TraceRecord]:
        """Send records whose packet was neither delivered nor dropped."""
        kinds = list(self._kinds())
        ended = {pid for k, pid in zip(kinds, self._ids) if k == "deliver" or k == "drop"}
        return [self._at(i) for i, (k, pid) in enumerate(zip(kinds, self._ids))
                if k == "send" and pid not in ended]

    def drop_reasons(self) -> dict:
        """{DropReason: number of packets dropped for it}."""
        out: dict = {}
        for r in self._select("drop"):
            out[r.reason] = out.get(r.reason, 0) + 1
        return out

    def log(self, relative: bool = True, states: bool = True) -> str:
        """A readable segment log: one line per segment sent (with its fate), and state
        changes. Sequence numbers are relative to each direction's first SYN (like
        Wireshark's "relative sequence numbers") unless ``relative=False``."""
        fate = {}
        for r in self.records:
            if r.kind in ("deliver", "drop"):
                fate[r.pkt_id] = r
        isn: dict = {}
        lines = []
        for r in self.records:
            if r.kind == "send" and r.packet is not None and r.packet.segment is None:
                end = fate.get(r.pkt_id)
                mark = "" if end is None or end.kind == "deliver" else f"  ✗ {end.reason_text}"
                lines.append(f"{r.time * 1000:9.1f} ms  {r.host:>8} → "
                             f"{r.packet.dst:<15} {r.packet.payload}{mark}")
            elif r.kind == "send" and r.packet is not None:
                p, seg = r.packet, r.packet.segment
                key = (p.src, seg.sport, p.dst, seg.dport)
                if seg.flags & 0x02 and key not in isn:
                    isn[key] = int(seg.seq)
                base = isn.get(key, 0) if relative else 0
                rbase = isn.get((p.dst, seg.dport, p.src, seg.sport), 0) if relative else 0
                seq = (int(seg.seq) - base) % (1 << 32)
                text = f"{seg.flags.names:<8} seq={seq}"
                if seg.flags & 0x10:
                    text += f" ack={(int(seg.ack) - rbase) % (1 << 32)}"
                text += f" win={seg.window}"
                if seg.payload:
                    text += f" len={len(seg.payload)}"
                if seg.options and seg.flags & 0x02:
                    text += f" <{seg.options.short()}>"
                end = fate.get(r.pkt_id)
                mark = "" if end is None or end.kind == "deliver" else f"  ✗ {end.reason_text}"
                why = (f"  ({r.reason_text})" if r.reason and r.reason is not SendCause.DATA
                       else "")
                lines.append(f"{r.time * 1000:9.1f} ms  {r.host:>8} → "
                             f"{p.dst:<15} {text}{why}{mark}")
            elif states and r.kind == "state" and r.conn is not None and r.conn.remote_port:
                lines.append(f"{r.time * 1000:9.1f} ms  {r.host:>8}   "
                             f"{r.old} → {r.what}")
        return "\n".join(lines)

    def text(self, kinds: Iterable[str] = KINDS) -> str:
        kinds = set(kinds)
        return "\n".join(str(r) for r in self.records if r.kind in kinds)

    def __str__(self) -> str:
        return self.text()

    def _repr_html_(self, limit: int = 300) -> str:
        """A table for Jupyter (the first ``limit`` records; ``print(trace)`` shows all)."""
        import html
        rows = []
        for r in self.records[:limit]:
            if r.packet is not None:
                body = str(r.packet)
            elif r.kind == "state":
                body = f"{r.conn}  {r.old} → {r.what}"
            else:
                body = f"{r.what_text}" + (f" {r.conn}" if r.conn else "")
            rows.append("<tr>" + "".join(f"<td>{html.escape(str(c))}</td>" for c in (
                f"{r.time * 1000:.3f}", r.host, r.kind, body, r.reason_text, r.rfc)) + "</tr>")
        more = (f"<p>… {len(self.records) - limit} more records (print the trace to see all)</p>"
                if len(self.records) > limit else "")
        return ("<table style='font-family:monospace'><tr><th>ms</th><th>host</th><th>kind</th>"
                "<th>what</th><th>why</th><th>rule</th></tr>" + "".join(rows) + "</table>" + more)
