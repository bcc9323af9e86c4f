"""The ladder's vertical axis: a piecewise map from virtual time to inches.

Theory of operation: the records of a ladder (segments sent and arriving, state changes)
are grouped into *instants* — everything within EPS of one virtual time. Inside an instant
each lifeline gets its own *rows*, ROW inches apart, so a burst of segments that leaves at
one instant draws as parallel arrows whose labels never share a line; a segment sent in
reply to one that just arrived takes the arrival's row (the textbook "bounce"). Between
instants the gap is proportional to elapsed time — one typical one-way delay is ``h_d``
inches, fewer inches per delay as the ladder grows — but a gap longer than IDLE one-way
delays (TIME-WAIT's 60 s, an RTO backoff) is cut to a fixed height and remembered in
``breaks`` so the figure can mark it "≈". `TimeLayout.y_of` maps any time, also one
between instants, onto that axis.
"""
from __future__ import annotations

from statistics import median
from typing import Dict, List, Optional, Tuple

from .ladder_data import EPS

ROW = 0.34          # inches between two rows of one instant (an 11 pt label + air)
IDLE = 2.5          # gaps longer than this many one-way delays are compressed ("≈")


class Instant:
    """The records at one virtual time: ``events`` and how many rows they need."""
    __slots__ = ("t", "events", "nrows", "y0", "y_last")

    def __init__(self, t):
        self.t, self.events, self.nrows, self.y0, self.y_last = t, [], 1, 0.0, 0.0


class TimeLayout:
    """Where (in inches from the top) every send, arrival and state change of a ladder
    goes. ``segs``/``states`` are ladder rows (simtcp.viz.ladder_data); ``top`` is the
    inch the first instant starts at.

    d        the median one-way delay (seconds), the unit of the axis
    h_d      inches per one-way delay
    insts    the `Instant`s, in time order, with their y0/y_last placed
    breaks   (y_from, y_to, seconds) for each compressed idle gap
    y_at     (kind, row index) -> y, kind "send", "arrive" or "state"
    """

    def __init__(self, segs: List[dict], states: List[dict], top: float) -> None:
        self.segs, self.states = segs, states
        delays = [r["t_arrive"] - r["t_send"] for r in segs if r["t_arrive"] is not None]
        self.d = max(median(delays), 1e-4) if delays else 0.010
        n = len(segs)
        self.h_d = 1.35 if n <= 4 else 0.85 if n <= 8 else 0.75 if n <= 16 else 0.6
        self.insts = self._instants()
        self.breaks: List[Tuple[float, float, float]] = []
        y, prev = top, None
        for inst in self.insts:
            if prev is not None:
                g, brk = self._gap(inst.t - prev.t)
                y = prev.y_last + g
                if brk:
                    self.breaks.append((prev.y_last, y, inst.t - prev.t))
            inst.y0, inst.y_last = y, y + (inst.nrows - 1) * ROW
            prev = inst
        self.y_at: Dict[tuple, float] = {}
        for inst in self.insts:
            for idx, _t, _lane, typ, _ref in inst.events:
                self.y_at[(typ, idx)] = inst.y0 + self._row_of[(typ, idx)] * ROW

    def _instants(self) -> List[Instant]:
        ev = []
        for r in self.segs:
            ev.append((r["index"], r["t_send"], r["sender"], "send", r))
            if r["t_arrive"] is not None:
                ev.append((r["end_index"], r["t_arrive"], r["receiver"], "arrive", r))
            elif r["drop_where"] == r["receiver"] and r["t_drop"] is not None:
                ev.append((r["end_index"], r["t_drop"], r["receiver"], "arrive", r))
        ev += [(s["index"], s["time"], s["host"], "state", s) for s in self.states]
        ev.sort(key=lambda e: (e[1], e[0]))
        insts: List[Instant] = []
        for e in ev:
            if not insts or e[1] > insts[-1].t + EPS:
                insts.append(Instant(e[1]))
            insts[-1].events.append(e)
        self._row_of: Dict[tuple, float] = {}
        for inst in insts:
            cur: Dict[Optional[str], int] = {}
            last: Dict[str, str] = {}
            with_state = set()
            for idx, _t, lane, typ, ref in inst.events:
                if typ == "arrive":
                    cur[lane] = cur.get(lane, -1) + 1
                    row, last[lane] = cur[lane], "arrive"
                elif typ == "send":
                    if last.get(lane) == "arrive":      # a reply leaves where the cause landed
                        row, last[lane] = cur[lane], "bounce"
                    else:
                        cur[lane] = cur.get(lane, -1) + 1
                        row, last[lane] = cur[lane], "send"
                else:
                    row = max(cur.get(lane, -1), 0)
                    if (lane, row) in with_state:
                        row += 1
                    cur[lane] = row
                    with_state.add((lane, row))
                self._row_of[(typ, idx)] = row
            inst.nrows = max(cur.values(), default=0) + 1
        return insts

    def _gap(self, dt: float) -> Tuple[float, bool]:
        lin = self.h_d * dt / self.d
        if dt > IDLE * self.d and lin > 1.2 * self.h_d:
            return max(0.75, 0.9 * self.h_d), True
        return max(ROW, lin), False

    def y_of(self, tm: float) -> float:
        """The y of virtual time ``tm``: an instant's first row, or interpolated between
        instants (past the last one: at most 1.5 one-way delays further down)."""
        prev = None
        for inst in self.insts:
            if abs(inst.t - tm) <= EPS:
                return inst.y0
            if inst.t > tm:
                if prev is None:
                    return inst.y0
                f = (tm - prev.t) / (inst.t - prev.t)
                return prev.y_last + f * (inst.y0 - prev.y_last)
            prev = inst
        return prev.y_last + min(self.h_d * (tm - prev.t) / self.d, 1.5 * self.h_d)
