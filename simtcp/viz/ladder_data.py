"""The rows of a ladder diagram, read from the trace alone (no matplotlib here).

Theory of operation: each ``send`` record is one segment; the ``deliver`` or ``drop`` record
with the same pkt_id says where and when it ended (the trace guarantees exactly one).
Sequence numbers are made relative to each direction's ISN — the seq of that direction's
latest SYN, else the first seq seen, which is Wireshark's rule — so "seq=1 ack=1" reads the
same in every capture. ``state`` records of the connections in view become annotations for
their host's lifeline; a listener contributes only its passive OPEN (LISTEN), because its
later CLOSE says nothing about the connection drawn.

`_elide` shortens long transfers for `simtcp.viz.ladder`: the middle of each run of ordinary
data/ACK segments becomes one summary row; SYN, FIN, RST, losses and retransmissions stay.
"""
from __future__ import annotations

from statistics import median
from typing import Dict, List, Tuple

from ..reasons import EventKind, Reason
from ..packet import Datagram, IcmpMessage, icmp_text
from ..segment import Flags, FourTuple
from ..trace import Trace

EPS = 1e-9          # seconds: records closer than this are one instant
MOD = 2 ** 32


def _source(source) -> Tuple[Trace, object]:
    if isinstance(source, Trace):
        return source, None
    trace = getattr(source, "trace", None)
    if isinstance(trace, Trace):
        return trace, source
    raise ValueError(f"ladder() draws a simtcp Network or its Trace, not "
                     f"{type(source).__name__}; pass net or net.trace")


def _namer(trace: Trace, net):
    """ip -> lifeline name: who sent from it / received at it, else the network's owner."""
    names: Dict[str, str] = {}
    for r in trace.records:
        if r.packet is not None and r.kind == "send":
            names.setdefault(r.packet.src, r.host)
        elif r.packet is not None and r.kind == "deliver":
            names.setdefault(r.packet.dst, r.host)

    def name(ip: str) -> str:
        if ip in names:
            return names[ip]
        node = net.owner(ip) if net is not None and hasattr(net, "owner") else None
        return node.name if node is not None else ip
    return name


def _base_kind(flags: Flags, length: int) -> str:
    if flags & Flags.RST:
        return "rst"
    if flags & Flags.SYN:
        return "synack" if flags & Flags.ACK else "syn"
    if flags & Flags.FIN:
        return "fin"
    return "data" if length else "ack"


def _check_filters(conn, hosts, t0, t1):
    if conn is not None:
        if not (isinstance(conn, tuple) and len(conn) == 4):
            raise ValueError(f"conn must be a FourTuple (local_ip, local_port, remote_ip, "
                             f"remote_port), e.g. sock.conn.tuple; got {conn!r}")
        conn = FourTuple(*conn)
    if hosts is not None:
        if isinstance(hosts, str):
            hosts = [hosts]
        hosts = {getattr(h, "name", h) for h in hosts}
    if t0 is not None and t1 is not None and t1 < t0:
        raise ValueError(f"t1={t1} s is before t0={t0} s: the window is empty")
    return conn, hosts


def ladder_rows(source, *, conn=None, hosts=None, t0=None, t1=None, relative=True,
                max_arrows=None) -> List[dict]:
    """The structured rows a ladder diagram draws, in trace order.

    Segment rows (``type="segment"``): sender, receiver, t_send, t_arrive (None if lost),
    t_drop, drop_reason, drop_where, label, kind (syn synack ack data fin rst lost
    retrans), base_kind (the kind by flags alone), lost, retrans, discarded (reason a
    delivered segment was ignored, e.g. "SYN queue full"), flags, seq/ack/len (relative
    if ``relative``), tcb (SND.UNA, SND.NXT, RCV.NXT, SND.WND, RCV.WND after sending, or
    None), pkt_id, index (of the send record), tuple (sender's FourTuple), reason.
    State rows (``type="state"``): host, time, state, old, reason, conn, index.
    With ``max_arrows``, elided runs become ``type="elided"`` rows (n, data, ack, time).

    Filters: ``conn`` (a FourTuple, either direction), ``hosts`` (names; a segment is kept
    when both its ends are named — or one end, if only one name is given), and the window
    ``t0 <= send time <= t1`` in seconds.
    """
    trace, net = _source(source)
    conn, hosts = _check_filters(conn, hosts, t0, t1)
    rows = _rows(trace, net, conn, hosts, t0, t1, relative)
    if max_arrows is None:
        return rows
    segs = [r for r in rows if r["type"] == "segment"]
    kept, summaries = _elide(segs, max_arrows)
    keep = {id(r) for r in kept}
    out = [r for r in rows if r["type"] != "segment" or id(r) in keep] + summaries
    return sorted(out, key=lambda r: r["index"])


def _rows(trace: Trace, net, conn, hosts, t0, t1, relative) -> List[dict]:
    recs = trace.records
    ends: Dict[int, Tuple[int, object]] = {}
    notes: Dict[int, str] = {}
    first: Dict[tuple, int] = {}
    for i, r in enumerate(recs):
        if r.kind in ("deliver", "drop") and r.pkt_id is not None:
            ends.setdefault(r.pkt_id, (i, r))
        elif (r.kind == "event" and r.pkt_id is not None and isinstance(r.what, EventKind)
              and r.what.discards_packet):
            notes.setdefault(r.pkt_id, r.reason or r.what)
        elif r.kind == "send" and r.packet is not None and r.packet.segment is not None:
            p, s = r.packet, r.packet.segment
            key = (p.src, s.sport, p.dst, s.dport)
            if s.flags & Flags.SYN and key not in first:
                first[key] = int(s.seq)          # a SYN defines the ISN (RFC 9293 §3.4.1)
            first.setdefault(key, int(s.seq))    # no SYN seen yet: first seq (Wireshark)
    name = _namer(trace, net)
    single = hosts is not None and len(hosts) == 1
    isn: Dict[tuple, int] = {}
    rows: List[dict] = []
    pairs = set()
    for i, r in enumerate(recs):
        if r.kind == "send" and r.packet is not None and r.packet.segment is None \
                and type(r.packet.payload) in (Datagram, IcmpMessage):
            row = _datagram_row(i, r, ends, notes, name, conn, hosts, single, t0, t1)
            if row is not None:
                rows.append(row)
            continue
        if r.kind != "send" or r.packet is None or r.packet.segment is None:
            continue
        p, s = r.packet, r.packet.segment
        key, rev = (p.src, s.sport, p.dst, s.dport), (p.dst, s.dport, p.src, s.sport)
        if s.flags & Flags.SYN:
            isn[key] = int(s.seq)
        base = isn.get(key, first.get(key))
        peer = isn.get(rev, first.get(rev))
        if conn is not None and p.four_tuple() not in (conn, conn.reversed()):
            continue
        end_i, end = ends.get(r.pkt_id, (None, None))
        if end is None:
            continue        # still in flight when the picture was taken: not (yet) an arrow
        receiver = end.host if end is not None and end.kind == "deliver" else name(p.dst)
        if hosts is not None:
            inside = (r.host in hosts) + (receiver in hosts)
            if inside < (1 if single else 2):
                continue
        pairs.add(frozenset({(p.src, s.sport), (p.dst, s.dport)}))
        if (t0 is not None and r.time < t0 - EPS) or (t1 is not None and r.time > t1 + EPS):
            continue
        rows.append(_segment_row(i, r, receiver, end_i, end, notes.get(r.pkt_id),
                                 base if relative else None, peer if relative else None))
    for i, r in enumerate(recs):
        if r.kind != "state" or r.conn is None or r.time < (t0 or 0.0) - EPS \
                or (t1 is not None and r.time > t1 + EPS):
            continue
        c = r.conn
        if c.remote_port == 0 and c.remote_ip == "0.0.0.0":
            # a listener: show only its passive OPEN, on the host whose port is in view
            if r.what != "LISTEN" or not any(
                    port == c.local_port and (c.local_ip in ("0.0.0.0", ip)) and name(ip) == r.host
                    for pair in pairs for ip, port in pair):
                continue
        elif frozenset({(c.local_ip, c.local_port), (c.remote_ip, c.remote_port)}) not in pairs:
            continue
        rows.append({"type": "state", "index": i, "host": r.host, "time": r.time,
                     "state": r.what, "old": r.old, "reason": r.reason, "conn": c})
    rows.sort(key=lambda row: row["index"])
    return rows


def _dns_note(message: bytes) -> str:
    """" DNS query" / " DNS response" (+ ", TC" when truncated), from the DNS header
    (RFC 1035 §4.1.1: QR is the top bit of the flags, TC the 7th)."""
    if len(message) < 12:
        return ""
    flags = int.from_bytes(message[2:4], "big")
    return (" DNS response" if flags & 0x8000 else " DNS query") + (
        ", TC" if flags & 0x0200 else "")


def _datagram_row(i, r, ends, notes, name, conn, hosts, single, t0, t1):
    """A row for a UDP datagram (RFC 768) or an ICMP message (RFC 792): drawn like a
    segment, labelled with its ports and length, or with the ICMP type and code. An ICMP
    error belongs to the connection its quote names."""
    p = r.packet
    m = p.payload
    if type(m) is Datagram:
        tup = FourTuple(p.src, m.sport, p.dst, m.dport)
        kind, head, text = "udp", "UDP", f"{m.sport} → {m.dport} len={len(m.payload)}"
        if 53 in (m.sport, m.dport):
            text += _dns_note(m.payload)
    else:
        q = m.quoted() if m.is_error else None
        # the error's own direction, with the ports of the datagram it is about
        tup = (FourTuple(p.src, q.dport, p.dst, q.sport)
               if q is not None and q.sport is not None else None)
        kind, head = "icmp", "ICMP"
        text = f"{icmp_text(m)} ({m.type}/{m.code})"
    if conn is not None and (tup is None or tup not in (conn, conn.reversed())):
        return None       # an ICMP error belongs to the connection whose datagram it quotes
    end_i, end = ends.get(r.pkt_id, (None, None))
    if end is None:
        return None
    receiver = end.host if end.kind == "deliver" else name(p.dst)
    if hosts is not None and (r.host in hosts) + (receiver in hosts) < (1 if single else 2):
        return None
    if (t0 is not None and r.time < t0 - EPS) or (t1 is not None and r.time > t1 + EPS):
        return None
    lost = end.kind == "drop"
    return {
        "type": "segment", "index": i, "pkt_id": r.pkt_id, "sender": r.host,
        "receiver": receiver, "t_send": r.time, "t_arrive": None if lost else end.time,
        "t_drop": end.time if lost else None, "drop_reason": end.reason if lost else None,
        "drop_where": end.host if lost else None, "end_index": end_i,
        "discarded": notes.get(r.pkt_id), "flags": head, "head": head, "text": text,
        "label": f"{head} {text}", "kind": "lost" if lost else kind, "base_kind": kind,
        "lost": lost, "retrans": False, "seq": None, "ack": None,
        "len": len(m.payload) if kind == "udp" else 0, "tcb": None, "tuple": tup,
        "reason": r.reason}


def _segment_row(i, r, receiver, end_i, end, note, base, peer) -> dict:
    p, s = r.packet, r.packet.segment
    rel = lambda v, b: (int(v) - b) % MOD if b is not None else int(v)  # noqa: E731
    n = len(s.payload)
    seq = rel(s.seq, base)
    ack = rel(s.ack, peer) if s.flags & Flags.ACK else None
    words = [f"seq={seq}"] + ([f"ack={ack}"] if ack is not None else []) \
        + ([f"len={n}"] if n else [])
    if s.flags & Flags.SYN or (s.window == 0 and not s.flags & Flags.RST):
        words.append(f"win={s.window}")          # unscaled only in SYNs (RFC 7323 §2.2)
    if s.flags & Flags.SYN and s.options:
        words.append(f"<{s.options.short()}>")
    if s.options.sack:
        blocks = " ".join(f"{rel(a, peer)}-{rel(b, peer)}" for a, b in s.options.sack)
        words.append(f"<sack {blocks}>")
    lost = end is None or end.kind == "drop"
    retrans = isinstance(r.reason, Reason) and r.reason.retransmission
    bk = _base_kind(s.flags, n)
    tcb = r.get("tcb")
    if tcb is not None:
        una, nxt, rnxt, swnd, rwnd = tcb
        known = bool(s.flags & Flags.ACK) or rnxt != 0    # before the peer's SYN: unknown
        tcb = (rel(una, base), rel(nxt, base), rel(rnxt, peer) if known else None, swnd, rwnd)
    return {
        "type": "segment", "index": i, "pkt_id": r.pkt_id, "sender": r.host,
        "receiver": receiver, "t_send": r.time,
        "t_arrive": end.time if end is not None and end.kind == "deliver" else None,
        "t_drop": end.time if lost and end is not None else None,
        "drop_reason": end.reason if lost and end is not None else None,
        "drop_where": end.host if lost and end is not None else None,
        "end_index": end_i, "discarded": note,
        "flags": s.flags.names, "head": s.flags.names, "text": " ".join(words),
        "label": f"{s.flags.names} " + " ".join(words),
        "kind": "lost" if lost else ("retrans" if retrans else bk), "base_kind": bk,
        "lost": lost, "retrans": retrans, "seq": seq, "ack": ack, "len": n,
        "tcb": tcb, "cc": r.get("cc"), "tuple": FourTuple(p.src, s.sport, p.dst, s.dport), "reason": r.reason,
    }


def _plain(r: dict) -> bool:
    """An ordinary data segment or ACK: the only kind that may be elided."""
    return (r["base_kind"] in ("data", "ack") and not (r["lost"] or r["retrans"] or r["discarded"])
            and "win=0" not in r["text"])


def _elide(segs: List[dict], max_arrows: int) -> Tuple[List[dict], List[dict]]:
    """Keep about max_arrows arrows by eliding the middle of runs of ordinary segments.

    A run is one stream (same sender, receiver, kind, duplicate ACK or not) in one round
    trip: it ends at a SYN, FIN or RST, at a loss or retransmission in the same direction,
    and where the stream pauses for longer than a one-way delay. Each run keeps its first
    and last k segments (k as large as max_arrows allows, down to 0 for very long
    transfers); its middle becomes one summary row drawn parallel to its neighbours.
    """
    if max_arrows < 4:
        raise ValueError(f"max_arrows={max_arrows}: keep at least 4 arrows so a handshake "
                         "and its neighbours stay visible")
    if len(segs) <= max_arrows:
        return segs, []
    delays = [r["t_arrive"] - r["t_send"] for r in segs if r["t_arrive"] is not None]
    d = median(delays) if delays else 0.0
    runs: List[List[int]] = []
    open_runs: Dict[tuple, List[int]] = {}
    for i, r in enumerate(segs):
        if not _plain(r):
            boundary = r["base_kind"] in ("syn", "synack", "fin", "rst")
            for key in [k for k in open_runs if boundary or k[:2] == (r["sender"], r["receiver"])]:
                runs.append(open_runs.pop(key))
            continue
        dup = isinstance(r["reason"], Reason) and r["reason"].duplicate_ack
        key = (r["sender"], r["receiver"], r["base_kind"], dup)
        run = open_runs.get(key)
        if run and r["t_send"] - segs[run[-1]]["t_send"] > d + EPS:   # a new round trip
            runs.append(open_runs.pop(key))
        open_runs.setdefault(key, []).append(i)
    runs += open_runs.values()

    def total(k):
        return len(segs) - sum(len(run) - 2 * k - 1 for run in runs if len(run) > 2 * k + 1)
    k = max([len(run) // 2 for run in runs] + [1])
    while k > 0 and total(k) > max_arrows:
        k -= 1
    drop, summaries = set(), []
    for run in runs:
        if len(run) <= 2 * k + 1:
            continue
        mid = [segs[i] for i in run[k:len(run) - k]]
        drop.update(run[k:len(run) - k])
        a = mid[0]
        summaries.append({
            "type": "elided", "index": a["index"], "end_index": a["end_index"], "n": len(mid),
            "sender": a["sender"], "receiver": a["receiver"], "t_send": a["t_send"],
            "t_arrive": a["t_arrive"], "t_last": mid[-1]["t_send"], "t_drop": None,
            "drop_where": None, "base_kind": a["base_kind"], "kind": "elided", "lost": False,
            "retrans": False, "discarded": None, "tcb": None, "cc": None, "tuple": a["tuple"], "text": "",
            "reason": "", "pkt_id": f"elided-{a['pkt_id']}", "pkt_ids": [r["pkt_id"] for r in mid]})
    return [r for n, r in enumerate(segs) if n not in drop], summaries
