"""Ladder (sequence) diagrams: every TCP segment as an arrow between two host lifelines.

Theory of operation: `ladder_rows()` (simtcp.viz.ladder_data) turns the trace into rows —
one per segment, relative sequence numbers, state changes. `ladder()` lays them out in
inches, so text sizes and distances are exact:

* Vertical axis — a piecewise map of time (`simtcp.viz.ladder_time`). Records at the same virtual instant (a burst
  of ten segments leaves at one instant when links have no bandwidth limit) get separate
  *rows* ROW inches apart, so their arrows are parallel and their labels never share a
  line; a segment sent in reply to one that just arrived leaves from the same point (the
  textbook "bounce"). Between instants the gap is proportional to elapsed time (one
  typical one-way delay ≈ h_d inches), but an idle gap longer than IDLE one-way delays
  (TIME-WAIT's 60 s, an RTO backoff) is cut to a fixed height and marked "≈". Tick labels
  always show true virtual times; a bracket on the axis groups the rows of one instant
  (and the legend says so).
* Labels — rotated along their arrow. Each candidate position (along the arrow × above or
  below, then smaller type) is an oriented rectangle; the first one that hits no placed
  label or ×, crosses no other arrow and keeps clear of other labels wins
  (separating-axis test, `simtcp.viz.collide`). Labels get a faint white backing so an unavoidable crossing
  stays readable. Widths come from TextToPath (unhinted outlines), which is what the SVG
  (text as paths) shows and what the 150-dpi PNG matches.
* Long transfers — over ``max_arrows`` segments, the middle of each run of ordinary
  data/ACK segments becomes one grey dotted summary arrow ("⋯ 8 more data segments ⋯");
  SYN, FIN, RST, losses and retransmissions are never elided.

Only `simtcp.viz` imports matplotlib; figures are `Figure` objects (no pyplot).
"""
from __future__ import annotations

import math
from typing import Dict, List, Optional, Tuple

from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import Polygon
from matplotlib.textpath import TextToPath

from . import style
from ..reasons import Reason, SendCause
from .i18n import check_lang, has, t
from .collide import Obstacles
from .ladder_data import EPS, _check_filters, _elide, _rows, _source, ladder_rows
from .ladder_time import ROW, TimeLayout

__all__ = ["ladder", "ladder_rows"]

INK = style.ROLE_COLORS["ink"]
TCB_FIELDS = ("SND.UNA", "SND.NXT", "RCV.NXT", "SND.WND", "RCV.WND")
CC_FIELDS = ("SND.UNA", "SND.NXT", "cwnd", "ssthresh", "RTO ms")   # tcb="congestion"


def _fmt_ms(sec: float) -> str:
    ms = sec * 1000.0
    if abs(ms - round(ms)) < 1e-6:
        return str(int(round(ms)))
    return f"{ms:.3f}".rstrip("0").rstrip(".")


def _fmt_dt(sec: float) -> str:
    return f"{sec:.3g} s" if sec >= 1 else f"{sec * 1000:.3g} ms"


def _why(reason, lang: str) -> str:
    """A typed reason's words in the figure's language (plain text passes through)."""
    return reason.label(lang) if isinstance(reason, Reason) else str(reason)


def _state_text(state: str, lang: str) -> str:
    key = "state_gloss." + state
    gloss = t(key, lang) if has(key) else ""
    return f"{state}  {gloss}" if gloss else state


# ------------------------------------------------------------------ drawing
PART_GAP = 0.07     # inches between the parts of one label
LABEL_OFF = 0.03    # inches between an arrow and its label


class _Ladder:
    """One ladder figure; all coordinates are inches from the top-left corner."""

    def __init__(self, rows, lang, tcb, title):
        self.segs = [r for r in rows if r["type"] in ("segment", "elided")]
        self.lang, self.tcb = lang, tcb
        self.fields = CC_FIELDS if tcb == "congestion" else TCB_FIELDS
        self.fs = style.FONT_SIZES
        # unhinted outlines: the widths SVG (text as paths) and 150-dpi PNG both show
        self.ttp = TextToPath()
        self.lanes: List[str] = []
        for r in self.segs:
            for h in (r["sender"], r["receiver"]):
                if h not in self.lanes:
                    self.lanes.append(h)
        if len(self.lanes) < 2:
            raise ValueError(f"a ladder needs two lifelines, but every segment in view stays "
                             f"on {self.lanes[0]!r}")
        peers: Dict[str, set] = {h: set() for h in self.lanes}
        for r in self.segs:
            peers[r["sender"]].add(r["receiver"])
            peers[r["receiver"]].add(r["sender"])
        hub = max(self.lanes, key=lambda h: len(peers[h]))
        if len(peers[hub]) > 1:            # a server with many clients: on the right, once
            self.lanes.remove(hub)
            self.lanes.append(hub)
        self.colors = self.lane_colors(hub if len(peers[hub]) > 1 else None)
        if title is None:
            tuples = [r["tuple"] for r in self.segs if r["tuple"] is not None]
            pairs_ = {frozenset({tp[:2], tp[2:]}) for tp in tuples}
            tcp_only = all(r["base_kind"] not in ("udp", "icmp") for r in self.segs)
            if len(pairs_) == 1 and len(tuples) == len(self.segs) and tcp_only:
                a = self.segs[0]["tuple"]
                title = t("ladder.title_conn", lang, a=f"{a[0]}:{a[1]}", b=f"{a[2]}:{a[3]}")
            else:
                title = t("ladder.title_hosts" if tcp_only else "ladder.title_packets", lang,
                          hosts=", ".join(self.lanes))
        self.title = title
        self.states = [r for r in rows if r["type"] == "state" and r["host"] in self.lanes]
        pairs: Dict[str, set] = {h: set() for h in self.lanes}
        self.addr: Dict[str, set] = {h: set() for h in self.lanes}
        for r in self.segs:
            tp = r["tuple"]
            if tp is None:                     # an ICMP message that quotes no ports
                continue
            pairs[r["sender"]].add((tp[1], tp[3]))
            pairs[r["receiver"]].add((tp[3], tp[1]))
            self.addr[r["sender"]].add((tp[0], tp[1]))
            self.addr[r["receiver"]].add((tp[2], tp[3]))
        self.multi = {h: len(p) > 1 for h, p in pairs.items()}

    # -- measuring -----------------------------------------------------------------------
    def width(self, text: str, size: float, bold: bool = False, mono: bool = False) -> float:
        # Japanese "bold" is a stroked regular face (style.strong): measure it regular
        bold = bold and self.lang != "ja"
        prop = FontProperties(size=size, weight="bold" if bold else "normal",
                              family="DejaVu Sans Mono" if mono else None)
        return self.ttp.get_text_width_height_descent(text, prop, ismath=False)[0] / 72

    def wrap_title(self, room: float, size: float) -> List[str]:
        """The title in as few lines as fit ``room`` inches: split at the last break (a
        space; a Japanese title also after "、" or "。") that keeps each line in room."""
        if not self.title:
            return []
        lines, rest = [], self.title
        while self.width(rest, size, bold=True) > room and len(lines) < 3:
            fits = [i + 1 for i, ch in enumerate(rest) if ch in " 、。;"
                    and self.width(rest[:i + 1], size, bold=True) <= room]
            # prefer a clause break ("; ", "、") to a bare space
            clause = [i for i in fits if rest[i - 1] in ";、。"
                      or rest[i - 2:i] in (", ", "; ")]
            cut = max(clause or fits, default=None)
            if not cut:
                break
            lines.append(rest[:cut].rstrip())
            rest = rest[cut:].lstrip()
        return lines + [rest]

    def text(self, x, y, s, size, color=INK, bold=False, bg=None, **kw):
        extra = style.strong(self.lang, color) if bold else {}
        if bg is not None:
            kw["bbox"] = dict(boxstyle="square,pad=0.12", fc=bg, ec="none",
                              alpha=1.0 if bg != "white" else 0.85)
        kw.setdefault("ha", "center")
        kw.setdefault("va", "center")
        return self.ax.text(x, y, s, fontsize=size, color=color, parse_math=False,
                            rotation_mode="anchor", **extra, **kw)

    def state_label(self, st) -> str:
        s = _state_text(st["state"], self.lang)
        return f"{s}  :{st['conn'].local_port}" if self.multi[st["host"]] else s

    def subtitle(self, h: str) -> str:
        addrs = sorted(self.addr[h])
        if len(addrs) == 1:
            return f"{addrs[0][0]}:{addrs[0][1]}"
        return ", ".join(sorted({a[0] for a in addrs}))

    def lane_colors(self, hub: Optional[str]) -> Dict[str, str]:
        """Role colours for hosts named client/server/attacker (and a hub: the server
        colour); other hosts take the next Okabe–Ito hue nobody uses yet."""
        out = {h: style.color(h) for h in self.lanes if h in ("client", "server", "attacker")}
        if hub is not None and hub not in out and style.color("server") not in out.values():
            out[hub] = style.color("server")
        # not orange / sky blue: those are the SYN and ACK arrows
        free = [style.OKABE_ITO["blue"], style.OKABE_ITO["reddish_purple"], "#555555",
                style.OKABE_ITO["bluish_green"], style.OKABE_ITO["vermillion"]]
        for h in self.lanes:
            if h not in out:
                pick = [c for c in free if c not in out.values()] or free
                out[h] = pick[0]
        return out

    # -- arrows ----------------------------------------------------------------------------
    def geometry(self) -> None:
        X = self.X
        self.geo: Dict[int, dict] = {}
        siblings: Dict[tuple, List[Tuple[float, float]]] = {}
        for r in self.segs:
            x0, y0 = X[r["sender"]], self.tl.y_at[("send", r["index"])]
            x1 = X[r["receiver"]]
            arr = self.tl.y_at.get(("arrive", r["end_index"]))
            g = {"p0": (x0, y0), "p1": None, "cross": None, "head": True}
            if arr is not None:
                g["p1"] = (x1, arr)
                if r["t_arrive"] is None:                     # dropped on arrival at the host
                    g["cross"], g["head"] = 0.94, False
                elif r["discarded"]:
                    g["cross"] = 0.9
                if r["t_arrive"] is not None:
                    key = (r["sender"], r["receiver"], round(r["t_send"], 9))
                    siblings.setdefault(key, []).append((y0, arr - y0))
            self.geo[r["index"]] = g
        for r in self.segs:
            g = self.geo[r["index"]]
            if g["p1"] is not None:
                continue
            x0, y0 = g["p0"]
            sib = siblings.get((r["sender"], r["receiver"], round(r["t_send"], 9)))
            if sib:
                dy = min(sib, key=lambda s: abs(s[0] - y0))[1]
            else:
                dy = self.tl.y_of(r["t_send"] + self.tl.d) - self.tl.y_of(r["t_send"])
            dy = max(dy, 2 * ROW)
            frac = 0.5
            if r["t_drop"] is not None and r["t_drop"] > r["t_send"] + EPS:
                frac = min(max((r["t_drop"] - r["t_send"]) / self.tl.d, 0.15), 0.85)
            g["p1"], g["cross"], g["head"] = (X[r["receiver"]], y0 + dy), frac, False

    def draw_arrow(self, r: dict, g: dict) -> None:
        (x0, y0), (x1, y1) = g["p0"], g["p1"]
        f = g["cross"] if g["cross"] is not None and not g["head"] else 1.0
        ex, ey = x0 + f * (x1 - x0), y0 + f * (y1 - y0)
        kind = r["base_kind"]
        colour = style.color(kind)
        ls, lw = "solid", 1.8 if kind == "data" else 1.6
        if r["retrans"]:
            colour, ls = style.color("retransmission"), style.ROLE_LINESTYLES["retransmission"]
        if r["type"] == "elided":
            colour, ls, lw = "#9A9A9A", (0, (0.5, 2.5)), 2.8
        if r["lost"]:
            colour, ls = style.color("lost"), style.ROLE_LINESTYLES["lost"]
        if kind == "rst":
            lw = 2.6
            colour = style.color("rst") if not r["lost"] else colour
        L = math.hypot(ex - x0, ey - y0)
        ux, uy = (ex - x0) / L, (ey - y0) / L
        hl, hw = 0.15, 0.055
        sx, sy = (ex - ux * hl, ey - uy * hl) if g["head"] else (ex, ey)
        gid = f"segment-{r['pkt_id']}"
        self.ax.add_line(Line2D([x0, sx], [y0, sy], color=colour, lw=lw, ls=ls, zorder=3,
                                solid_capstyle="butt", gid=gid))
        if g["head"]:
            nx, ny = -uy, ux
            self.ax.add_patch(Polygon([(ex, ey), (sx + nx * hw, sy + ny * hw),
                                       (sx - nx * hw, sy - ny * hw)], closed=True, fc=colour,
                                      ec=colour, lw=0.5, zorder=3, gid=gid + "-head"))
        self.obst.add("shaft", [(x0, y0), (ex, ey)])
        if g["cross"] is not None:
            cx, cy = x0 + g["cross"] * (x1 - x0), y0 + g["cross"] * (y1 - y0)
            self.ax.plot([cx], [cy], marker="x", ms=13, mew=3.2, color=style.color("rst"),
                         zorder=6, gid=f"lost-{r['pkt_id']}")
            s = 0.09                  # a label must never hide the ×: a hard obstacle
            self.obst.add("label", [(cx - s, cy - s), (cx + s, cy - s), (cx + s, cy + s),
                                    (cx - s, cy + s)])

    def parts(self, r: dict) -> List[tuple]:
        """(text, colour, bold, background) pieces of one arrow's label, left to right."""
        rst = r["base_kind"] == "rst"
        if r["type"] == "elided":
            text = t("ladder.elided_" + r["base_kind"], self.lang, n=r["n"])
            if r["t_last"] > r["t_send"] + EPS:
                text += " " + t("ladder.until", self.lang, t=_fmt_ms(r["t_last"]))
            return [(text, "#555555", False, "white")]
        out = []
        if r["retrans"]:
            out.append((t("segment.retransmission", self.lang), INK, True,
                        style.TINTS["orange"]))
        out.append((r["head"], style.color("rst") if rst else INK, True, "white"))
        out.append((r["text"], style.color("rst") if rst else INK, False, "white"))
        if r["reason"] is SendCause.SYN_COOKIE or (rst and r["reason"]):  # why: the lesson
            why = (t("ladder.why_cookie", self.lang) if r["reason"] is SendCause.SYN_COOKIE
                   else _why(r["reason"], self.lang))
            out.append((f"({why})", style.color("rst") if rst else INK, False, "white"))
        if r["lost"]:
            out.append((t("ladder.lost", self.lang,
                          reason=_why(r["drop_reason"], self.lang)),
                        style.color("rst"), True, "white"))
        elif r["discarded"]:
            out.append((t("ladder.discarded", self.lang,
                          reason=_why(r["discarded"], self.lang)),
                        style.color("rst"), True, "white"))
        return out

    def _rect(self, mx, my, u, n, w, h):
        return [(mx + a * u[0] * w / 2 + b * n[0] * h / 2, my + a * u[1] * w / 2 + b * n[1] * h / 2)
                for a, b in ((-1, -1), (1, -1), (1, 1), (-1, 1))]

    def place_label(self, r: dict, g: dict) -> None:
        """Put the label along its arrow where it hits no label and crosses no arrow."""
        (x0, y0), (x1, y1) = g["p0"], g["p1"]
        L = math.hypot(x1 - x0, y1 - y0)
        ux, uy = (x1 - x0) / L, (y1 - y0) / L
        if ux < 0:
            ux, uy = -ux, -uy
        u, n = (ux, uy), (uy, -ux)                        # n: unit normal pointing up the page
        parts = self.parts(r)
        lo, hi = min(x0, x1) + 0.1, max(x0, x1) - 0.1
        pref = g["cross"] / 2 if g["cross"] is not None and not g["head"] else 0.5
        best = None
        for rank, size in enumerate((self.fs["small"], self.fs["tiny"], 9)):
            ws = [self.width(p[0], size, p[2]) for p in parts]
            w = sum(ws) + PART_GAP * (len(parts) - 1)
            h = size * 1.3 / 72
            ext = w / 2 * ux + h * abs(n[0])
            fa, fb = sorted(((lo + ext - x0) / (x1 - x0), (hi - ext - x0) / (x1 - x0)))
            if fa > fb:
                fa = fb = 0.5
            fracs = sorted({min(max(pref, fa), fb)} | {fa + (fb - fa) * k / 8 for k in range(9)},
                           key=lambda f: abs(f - pref))
            for side in (1, -1):
                for order, f in enumerate(fracs):
                    cx, cy = x0 + f * (x1 - x0), y0 + f * (y1 - y0)
                    off = side * (LABEL_OFF + h / 2)
                    mx, my = cx + n[0] * off, cy + n[1] * off
                    poly = self._rect(mx, my, u, n, w, h)
                    xs = [p[0] for p in poly]
                    out = (min(xs) < lo - 1e-6) + (max(xs) > hi + 1e-6)
                    # clearance: a label right next to another reads as one line of text
                    halo = self._rect(mx, my, u, n, w + 0.6, h + 0.06)
                    score = (out, self.obst.hits(poly, "label"), self.obst.hits(poly, "shaft"),
                             self.obst.hits(halo, "label"), rank, side == -1, order)
                    if best is None or score < best[0]:
                        best = (score, poly, mx, my, size, ws, w)
            if best[0][:4] == (0, 0, 0, 0):
                break
        _score, poly, mx, my, size, ws, w = best
        self.obst.add("label", poly)
        angle = -math.degrees(math.atan2(uy, ux))
        px, py = mx - ux * w / 2, my - uy * w / 2
        for k, ((s, colour, bold, bg), wi) in enumerate(zip(parts, ws)):
            self.text(px + ux * wi / 2, py + uy * wi / 2, s, size, colour, bold, bg,
                      rotation=angle, zorder=5, gid=f"label-{r['pkt_id']}-{k}")
            px, py = px + ux * (wi + PART_GAP), py + uy * (wi + PART_GAP)

    # -- the whole figure ----------------------------------------------------------------
    def tcb_cells(self, r: dict) -> List[str]:
        values = r["tcb"]
        if self.tcb == "congestion":      # SND.UNA, SND.NXT, then cwnd, ssthresh, RTO
            values = tuple(values[:2]) + tuple(r.get("cc") or (None, None, None))
        return ["–" if v is None else str(v) for v in values]

    def draw(self, ax=None):
        fs, lanes = self.fs, self.lanes
        # horizontal: time axis | tcb | states | lane … lane | states | tcb
        st_w = {h: 0.0 for h in lanes}
        for s in self.states:
            st_w[s["host"]] = max(st_w[s["host"]],
                                  self.width(self.state_label(s), fs["tiny"]) + 0.32)
        tcb_cols: List[float] = []
        if self.tcb:
            cells = [self.tcb_cells(r) for r in self.segs if r["tcb"] is not None]
            tcb_cols = [max([self.width(c[k], fs["tiny"], mono=True) for c in cells]
                            + [self.width(self.fields[k], fs["tiny"])]) + 0.16
                        for k in range(5)]
        tcb_w = sum(tcb_cols) + (0.1 if tcb_cols else 0.0)
        top = 0.15 + (0.55 if self.title else 0.0) + 0.8 + (0.4 if tcb_cols else 0.0) + 0.25
        self.tl = TimeLayout(self.segs, self.states, top)
        tick_w = max(self.width(_fmt_ms(i.t), fs["small"]) for i in self.tl.insts)
        x_axis = 0.15 + 0.35 + tick_w + 0.12
        label_w = []
        for r in self.segs:
            ps = self.parts(r)
            label_w.append(sum(self.width(p[0], fs["small"], p[2]) for p in ps)
                           + PART_GAP * (len(ps) - 1))
        span = max(5.0, max(label_w) * 1.12 + 0.5)
        mids = sum(st_w[h] for h in lanes[1:-1])
        fig_w = None
        if ax is not None:
            pos = ax.get_position()
            fig_w = pos.width * ax.figure.get_figwidth()
        head_w = {h: max(self.width(x, fs["body"]) for x in (h, self.subtitle(h))) / 2 + 0.15
                  for h in lanes}
        left = max(x_axis + 0.15 + tcb_w + st_w[lanes[0]], head_w[lanes[0]] + 0.15)
        right = max(st_w[lanes[-1]] + tcb_w + 0.2, head_w[lanes[-1]] + 0.15)
        W = left + span * (len(lanes) - 1) + mids + right
        target = fig_w if fig_w is not None else style.SLIDE_SIZE[0]
        if W < target:
            span += (target - W) / (len(lanes) - 1)
            W = target
        title_lines = self.wrap_title(W - 0.4, fs["subtitle"])
        if len(title_lines) > 1:        # a long title takes a second line, never the edges
            self.tl = TimeLayout(self.segs, self.states, top + 0.4 * (len(title_lines) - 1))
        self.X, x = {}, left
        for h in lanes:
            x += st_w[h] if h not in (lanes[0], lanes[-1]) else 0.0
            self.X[h] = x
            x += span
        self.geometry()
        ys = [y for g in self.geo.values() for y in (g["p0"][1], g["p1"][1])]
        bottom = max(ys + [i.y_last for i in self.tl.insts]) + 0.35
        specials = self.legend_items()
        # four entries do not fit one slide-wide row: two rows of two
        ncol = len(specials) if len(specials) <= 3 else 2
        legend_rows = -(-len(specials) // ncol) if specials else 0
        H = bottom + (0.55 + 0.35 * (legend_rows - 1) if specials else 0.0) + 0.15
        if ax is None:
            fig = style.figure(W, H)
            ax = fig.add_axes([0, 0, 1, 1])
        else:
            fig = ax.figure
        self.ax, self.obst = ax, Obstacles()
        ax.set_xlim(0, W)
        ax.set_ylim(H, 0)
        ax.set_aspect("equal", adjustable="box")
        ax.axis("off")
        # title and lifelines
        y = 0.15
        if self.title:
            for line in title_lines:
                self.text(W / 2, y + 0.25, line, fs["subtitle"], bold=True)
                y += 0.4
            y += 0.15
        head_y = y + 0.38
        for i, h in enumerate(lanes):
            colour = self.colors[h]
            sub = self.subtitle(h)
            tint = style.TINTS.get(next((k for k, v in style.OKABE_ITO.items() if v == colour),
                                        "grey"), style.TINTS["grey"])
            self.text(self.X[h], head_y, f"{h}\n{sub}", fs["body"], INK, gid=f"host-{h}",
                      bbox=dict(boxstyle="round,pad=0.35", fc=tint, ec=colour, lw=1.5),
                      zorder=4, linespacing=1.3)
            ax.add_line(Line2D([self.X[h]] * 2, [head_y + 0.4, bottom], color=colour, lw=2.5,
                               zorder=1, solid_capstyle="butt", gid=f"lifeline-{h}"))
        if tcb_cols:
            self.draw_tcb_head(tcb_cols, st_w, head_y + 0.62)
        self.draw_axis(x_axis, top, bottom)
        # states beside the lifelines: outer side; middle lanes (clients of a hub drawn on
        # the right) have their own arrows on the right, so their states go left
        for s in self.states:
            h = s["host"]
            yy = self.tl.y_at[("state", s["index"])]
            on_left = h != lanes[-1]
            xx = self.X[h] + (-0.14 if on_left else 0.14)
            try:
                fc = style.state_color(s["state"])
            except ValueError:
                fc = style.TINTS["grey"]
            txt = self.state_label(s)
            self.text(xx, yy, txt, fs["tiny"], INK, ha="right" if on_left else "left", zorder=4,
                      bbox=dict(boxstyle="round,pad=0.25", fc=fc, ec="#555555", lw=0.8),
                      gid=f"state-{h}-{s['index']}")
            if h not in (lanes[0], lanes[-1]):
                w = self.width(txt, fs["tiny"]) + 0.1
                self.obst.add("label", [(xx - w, yy - 0.13), (xx, yy - 0.13), (xx, yy + 0.13),
                                        (xx - w, yy + 0.13)])
        for r in self.segs:
            self.draw_arrow(r, self.geo[r["index"]])
        first = sorted(self.segs, key=lambda r: (r["base_kind"] in ("data", "ack")
                                                 and not r["lost"] and not r["retrans"],
                                                 r["index"]))
        for r in first:
            self.place_label(r, self.geo[r["index"]])
        if tcb_cols:
            self.draw_tcb_values(tcb_cols, st_w)
        if specials:
            ax.legend(*zip(*specials), loc="upper center", bbox_to_anchor=(W / 2, bottom + 0.05),
                      bbox_transform=ax.transData, ncol=ncol, frameon=False,
                      fontsize=fs["small"], handlelength=3.2, columnspacing=2.0)
        return fig

    def draw_axis(self, x_axis: float, top: float, bottom: float) -> None:
        fs, ax = self.fs, self.ax
        grey = "#666666"
        ax.add_line(Line2D([x_axis] * 2, [top - 0.15, bottom], color=grey, lw=1.0, zorder=1))
        self.text(0.15 + 0.12, (top + bottom) / 2, t("time_ms", self.lang) + "  →",
                  fs["label"], grey, rotation=-90)
        last = -1.0
        for inst in self.tl.insts:
            if inst.nrows > 1:          # one instant, several rows: a bracket on the axis
                xb = x_axis + 0.08
                ax.add_line(Line2D([x_axis, xb, xb, x_axis], [inst.y0, inst.y0, inst.y_last,
                                                             inst.y_last], color="#999999", lw=1))
            ax.add_line(Line2D([x_axis - 0.07, x_axis], [inst.y0] * 2, color=grey, lw=1.0))
            if inst.y0 - last >= 0.22:
                self.text(x_axis - 0.1, inst.y0, _fmt_ms(inst.t), fs["small"], INK, ha="right")
                last = inst.y0
        for ya, yb, dt in self.tl.breaks:
            ym = (ya + yb) / 2
            for x in [x_axis] + [self.X[h] for h in self.lanes]:
                self.text(x, ym, "≈", 20, INK, bg="white", zorder=7)
            # beside the axis — or, when a lane runs close to the axis, right of that
            # lane's "≈" so the two marks do not cover the words
            x_idle = x_axis + 0.14
            near = [self.X[h] for h in self.lanes if x_axis < self.X[h] < x_axis + 1.2]
            if near:
                x_idle = max(near) + 0.2
            self.text(x_idle, ym, t("ladder.idle", self.lang, dt=_fmt_dt(dt)),
                      fs["tiny"], grey, ha="left", bg="white", zorder=8)

    def tcb_x(self, cols: List[float], st_w, h: str) -> List[float]:
        """Right edges of the TCB columns beside lane ``h`` (outer side)."""
        if h == self.lanes[0]:
            x = self.X[h] - st_w[h] - 0.1 - sum(cols)
        else:
            x = self.X[h] + st_w[h] + 0.1
        out = []
        for c in cols:
            x += c
            out.append(x)
        return out

    def draw_tcb_head(self, cols, st_w, y: float) -> None:
        for h in (self.lanes[0], self.lanes[-1]):
            xs = self.tcb_x(cols, st_w, h)
            for k, x in enumerate(xs):
                self.text(x - 0.06, y, self.fields[k], self.fs["tiny"], "#444444", ha="right",
                          bold=True)
            x0 = xs[0] - cols[0]
            self.ax.add_line(Line2D([x0, xs[-1]], [y + 0.15] * 2, color="#999999", lw=0.8))
            self.text(x0 + 0.05 if h == self.lanes[0] else xs[-1] - 0.05, y - 0.27,
                      t("ladder.tcb", self.lang), self.fs["tiny"], "#444444",
                      ha="left" if h == self.lanes[0] else "right")

    def draw_tcb_values(self, cols, st_w) -> None:
        for r in self.segs:
            h = r["sender"]
            if r["tcb"] is None or h not in (self.lanes[0], self.lanes[-1]):
                continue
            y = self.tl.y_at[("send", r["index"])]
            for x, v in zip(self.tcb_x(cols, st_w, h), self.tcb_cells(r)):
                self.text(x - 0.06, y, v, self.fs["tiny"], INK, ha="right",
                          family="DejaVu Sans Mono", gid=f"tcb-{r['pkt_id']}")

    def legend_items(self) -> List[tuple]:
        lang, items = self.lang, []
        if any(r["lost"] for r in self.segs):
            items.append((Line2D([0, 1], [0, 0], color=style.color("lost"), lw=1.6,
                                 ls=style.ROLE_LINESTYLES["lost"], marker="x", ms=9, mew=2.5,
                                 mec=style.color("rst"), markevery=[1]),
                          t("ladder.legend_lost", lang)))
        if any(r["retrans"] for r in self.segs):
            items.append((Line2D([], [], color=style.color("retransmission"), lw=1.6,
                                 ls=style.ROLE_LINESTYLES["retransmission"]),
                          t("segment.retransmission", lang)))
        if any(r["base_kind"] == "rst" for r in self.segs):
            items.append((Line2D([], [], color=style.color("rst"), lw=2.6),
                          t("ladder.legend_rst", lang)))
        if any(inst.nrows > 1 for inst in self.tl.insts):
            items.append((Line2D([], [], ls="none", marker=r"$]$", ms=14, color="#999999"),
                          t("ladder.legend_instant", lang)))
        if self.tl.breaks:
            items.append((Line2D([], [], ls="none", marker=r"$\approx$", ms=14, color=INK),
                          t("ladder.legend_break", lang)))
        return items


def ladder(source, *, conn=None, hosts=None, t0=None, t1=None, relative=True, tcb=False,
           lang="en", max_arrows=40, title=None, ax=None, ports=False):
    """Draw a ladder (sequence) diagram of the segments in a Network's trace (or a Trace).

    One lifeline per host (left: the sender of the first segment in view), time flowing
    down in virtual ms; one arrow per segment from its send to its delivery, labelled like
    a textbook (``SYN seq=0 win=64240 <mss 1460,sackOK,ts,wscale 7>``); sequence numbers
    relative to each direction's ISN unless ``relative=False``. Lost segments end in a red
    × with the drop reason; retransmissions are dotted and tagged; RSTs are red and bold;
    state changes are boxed beside the lifelines. ``tcb=True`` adds the sender's TCB after
    each send (SND.UNA SND.NXT RCV.NXT SND.WND RCV.WND, relative like the labels);
    ``tcb="congestion"`` shows SND.UNA SND.NXT and the congestion state instead — cwnd and
    ssthresh in segments, the RTO in ms — so slow start, PRR and tail loss probes show.
    Filters as in `ladder_rows`. Above ``max_arrows`` segments the middle of each run of
    ordinary data/ACK segments is elided into one band. ``title=None`` makes one from the
    endpoints; ``title=""`` draws none. ``ports=True`` labels each segment with its flags and
    ports only (``FIN 56234 → 22``) instead of its numbers — for scans, where every probe
    is a new conversation and the port is the point. Returns a `matplotlib.figure.Figure` (sized to the
    content, 12.8 in wide at least — one 1280×720 slide width), or draws into ``ax``.
    """
    check_lang(lang)
    trace, net = _source(source)
    conn, hosts = _check_filters(conn, hosts, t0, t1)
    rows = _rows(trace, net, conn, hosts, t0, t1, relative)
    segs = [r for r in rows if r["type"] == "segment"]
    if not segs:
        n = sum(1 for r in trace.records if r.kind == "send")
        raise ValueError(f"nothing to draw: no segment matches conn={conn}, hosts={hosts}, "
                         f"t0={t0}, t1={t1} (the trace has {n} send records)")
    kept, summaries = _elide(segs, max_arrows)
    keep = {id(r) for r in kept}
    rows = sorted([r for r in rows if r["type"] != "segment" or id(r) in keep] + summaries,
                  key=lambda r: r["index"])
    if ports:
        for r in rows:
            if r["type"] == "segment":
                r["text"] = f"{r['tuple'][1]} \u2192 {r['tuple'][3]}"
    with style.use_style(lang):
        return _Ladder(rows, lang, tcb, title).draw(ax)
