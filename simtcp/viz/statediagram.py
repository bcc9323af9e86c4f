"""RFC 9293 Figure 5, the TCP state diagram, drawn from `simtcp.states.TRANSITIONS`.

Theory of operation: the edges are not typed here — every row of `TRANSITIONS` becomes an
arrow, so the picture cannot drift from the state machine the simulator enforces. What this
module adds is *geometry*: where each state's box sits (the RFC's layout: CLOSED on top,
the opening states, ESTABLISHED in the centre, active close on the left, passive close on
the right, CLOSED again at the bottom right) and how each edge is routed (`_ROUTES`: anchor
points on the boxes, a bend, where the label goes). A row that has no route yet is still
drawn, as a straight arrow, so a new transition is never silently missing.

CLOSED appears twice, as in the RFC (a connection starts at the top one and ends at the
bottom one). The "abort" rows — RST or a timeout sends a synchronized connection straight
to CLOSED (RFC 9293 §3.10.7.4) — would cross the whole figure as long arrows, so each is a
short dotted arrow into a small CLOSED tag beside its state.

`path` is the list of states one connection visited (e.g. from its trace). Each step must be
a row of the table (ValueError otherwise, naming the step and the allowed next states); those
edges are drawn thick in the highlight colour with the step numbers 1, 2, 3… in circles,
everything else is greyed out.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence, Tuple, Union

import matplotlib
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Circle, FancyArrowPatch, FancyBboxPatch
from matplotlib.path import Path
from matplotlib.textpath import TextToPath

from ..states import TRANSITIONS, State, Transition
from . import style
from .i18n import check_lang, has, t

StateLike = Union[State, str]

W, H = 12.8, 8.4             # inches; a slide width, a little taller than 16:9
BOX_W, BOX_H = 2.25, 0.62
STUB_W, STUB_H = 0.86, 0.30

# Box centres in inches, y measured from the top (converted when drawing).
# "CLOSED" is the top instance, "CLOSED*" the bottom one, as in the RFC figure.
_POS: Dict[str, Tuple[float, float]] = {
    "CLOSED": (6.4, 0.95),
    "LISTEN": (6.4, 2.25),
    "SYN-RECEIVED": (2.45, 3.45),
    "SYN-SENT": (10.35, 3.45),
    "ESTABLISHED": (6.4, 4.55),
    "FIN-WAIT-1": (2.45, 5.75),
    "CLOSE-WAIT": (10.35, 5.75),
    "FIN-WAIT-2": (2.45, 7.0),
    "CLOSING": (6.4, 7.0),
    "LAST-ACK": (10.35, 7.0),
    "TIME-WAIT": (6.4, 8.0),
    "CLOSED*": (10.75, 8.0),     # a little right of LAST-ACK: room for the 2 MSL label
}

# Abort tags (the little CLOSED boxes), by source state: centre of the tag. Left-column
# states get theirs in the left margin, so the column's own arrows keep their labels.
_STUBS: Dict[str, Tuple[float, float]] = {
    "SYN-RECEIVED": (0.6, 3.45),
    "ESTABLISHED": (6.4, 5.45),
    "FIN-WAIT-1": (0.6, 5.75),
    "FIN-WAIT-2": (0.6, 7.0),
    "CLOSE-WAIT": (12.2, 5.75),
    "CLOSING": (8.3, 7.0),
}


class _Route:
    """How to draw one edge: anchors on the two boxes, a bend, and the label's place."""

    def __init__(self, a: Tuple[str, float], b: Tuple[str, float], bend: float = 0.0,
                 label: Tuple[float, float, float, str, str] = (0.5, 0, 0, "center", "center"),
                 dst: str = "") -> None:
        self.a, self.b, self.bend = a, b, bend
        self.label = label        # (t along the curve, dx, dy in inches (dy down), ha, va)
        self.dst = dst            # box instance the edge ends at ("CLOSED*", "stub")


# Anchors: (side, offset) — side in {"top", "bottom", "left", "right"}; offset in inches
# along that side from its middle (down / right positive). bend: sideways offset of the
# curve's control point, in inches (positive = to the left of the direction of travel).
R = _Route
C = "center"
_ROUTES: Dict[Tuple[str, str], _Route] = {
    ("CLOSED", "LISTEN"): R(("bottom", -0.35), ("top", -0.35), label=(0.5, -0.12, 0, "right", C)),
    ("LISTEN", "CLOSED"): R(("top", 0.35), ("bottom", 0.35), label=(0.5, 0.12, 0, "left", C)),
    ("CLOSED", "SYN-SENT"): R(("right", 0.12), ("top", 0.3), bend=-1.2,
                              label=(0.3, 0.12, -0.05, "left", "bottom")),
    ("SYN-SENT", "CLOSED"): R(("top", -0.3), ("right", -0.12), bend=-0.35,
                              label=(0.55, 0, 0, C, C)),
    ("LISTEN", "SYN-RECEIVED"): R(("bottom", -0.5), ("top", 0.55), bend=-0.3,
                                  label=(0.45, 0, 0, C, C)),
    ("LISTEN", "SYN-SENT"): R(("bottom", 0.5), ("top", -0.55), bend=0.3,
                              label=(0.45, 0, 0, C, C)),
    ("SYN-RECEIVED", "LISTEN"): R(("top", -0.4), ("left", 0.0), bend=-0.9,
                                  label=(0.35, 0, 0, C, C)),
    ("SYN-SENT", "SYN-RECEIVED"): R(("left", 0.0), ("right", 0.0), label=(0.5, 0, 0, C, C)),
    ("SYN-SENT", "ESTABLISHED"): R(("bottom", -0.45), ("right", 0.1), bend=-0.35,
                                   label=(0.55, 0, 0, C, C)),
    ("SYN-RECEIVED", "ESTABLISHED"): R(("bottom", 0.45), ("left", 0.1), bend=0.35,
                                       label=(0.55, 0, 0, C, C)),
    ("SYN-RECEIVED", "FIN-WAIT-1"): R(("bottom", 0.0), ("top", 0.0),
                                      label=(0.5, -0.14, 0, "right", C)),
    ("ESTABLISHED", "FIN-WAIT-1"): R(("bottom", -0.5), ("right", -0.12), bend=-0.35,
                                     label=(0.5, 0, 0, C, C)),
    ("ESTABLISHED", "CLOSE-WAIT"): R(("bottom", 0.5), ("left", 0.0), bend=0.35,
                                     label=(0.5, 0, 0, C, C)),
    ("FIN-WAIT-1", "FIN-WAIT-2"): R(("bottom", 0.0), ("top", 0.0),
                                    label=(0.5, -0.14, 0, "right", C)),
    ("FIN-WAIT-1", "CLOSING"): R(("right", 0.08), ("left", -0.14), bend=0.45,
                                 label=(0.5, 0.0, -0.05, "left", "bottom")),
    ("FIN-WAIT-1", "TIME-WAIT"): R(("bottom", 0.8), ("left", -0.15), bend=0.3,
                                   label=(0.5, 0.0, 0, C, C)),
    ("FIN-WAIT-2", "TIME-WAIT"): R(("bottom", 0.0), ("left", 0.15), bend=0.7,
                                   label=(0.45, 0, 0, C, C)),
    ("CLOSE-WAIT", "LAST-ACK"): R(("bottom", 0.0), ("top", 0.0),
                                  label=(0.5, -0.14, 0, "right", C)),
    ("CLOSING", "TIME-WAIT"): R(("bottom", 0.0), ("top", 0.0),
                                label=(0.5, 0.14, 0, "left", C)),
    ("LAST-ACK", "CLOSED"): R(("bottom", 0.3), ("top", -0.1), dst="CLOSED*",
                              label=(0.5, 0.14, 0, "left", C)),
    ("TIME-WAIT", "CLOSED"): R(("right", 0.0), ("left", 0.0), dst="CLOSED*",
                               label=(0.6, 0, -0.05, C, "bottom")),
}
for _src in _STUBS:
    _ROUTES[(_src, "CLOSED")] = _Route(("", 0.0), ("", 0.0), dst="stub")
del R, C, _src


# --------------------------------------------------------------------------- path logic --

_ALIASES = {"ESTAB": "ESTABLISHED", "SYN-RCVD": "SYN-RECEIVED", "SYN-RECV": "SYN-RECEIVED",
            "FINWAIT-1": "FIN-WAIT-1", "FINWAIT-2": "FIN-WAIT-2", "FIN-WAIT1": "FIN-WAIT-1",
            "FIN-WAIT2": "FIN-WAIT-2", "LASTACK": "LAST-ACK", "TIMEWAIT": "TIME-WAIT",
            "UNCONN": "CLOSED"}


def to_state(s: StateLike) -> State:
    """A State from a State or a name like "SYN-SENT", "SYN_SENT", "ESTAB", "syn-rcvd"."""
    if isinstance(s, State):
        return s
    if not isinstance(s, str):
        raise ValueError(f"{s!r} is not a TCP state; give a simtcp.states.State or a name "
                         "like 'SYN-SENT'")
    name = s.strip().upper().replace("_", "-").replace(" ", "-")
    name = _ALIASES.get(name, name)
    try:
        return State(name)
    except ValueError:
        raise ValueError(f"{s!r} is not an RFC 9293 state; the states are: "
                         + ", ".join(x.value for x in State)) from None


def highlighted_edges(path: Optional[Sequence[StateLike]]) -> List[Transition]:
    """The TRANSITIONS rows a connection took, in order (step k is element k-1).

    Consecutive repeats of one state are one visit (a state sampled twice did not change).
    ValueError if a step is not a row of TRANSITIONS, naming the step and the states the
    RFC allows next.
    """
    if not path:
        return []
    states = [to_state(s) for s in path]
    visits = [states[0]] + [b for a, b in zip(states, states[1:]) if a != b]
    by_pair = {(r.src, r.dst): r for r in TRANSITIONS}
    out = []
    for i, (a, b) in enumerate(zip(visits, visits[1:]), 1):
        row = by_pair.get((a, b))
        if row is None:
            allowed = [f"{r.dst} ({r.event})" for r in TRANSITIONS if r.src == a]
            raise ValueError(
                f"step {i}: {a} -> {b} is not a transition of RFC 9293 Figure 5 "
                f"(simtcp.states.TRANSITIONS). From {a} a connection can go to: "
                + ("; ".join(allowed) if allowed else "nowhere"))
        out.append(row)
    return out


# ------------------------------------------------------------------------------ drawing --

def _anchor(box: Tuple[float, float], side: str, off: float, w: float = BOX_W,
            h: float = BOX_H) -> Tuple[float, float]:
    x, y = box
    if side == "top":
        return x + off, y - h / 2
    if side == "bottom":
        return x + off, y + h / 2
    if side == "left":
        return x - w / 2, y + off
    if side == "right":
        return x + w / 2, y + off
    raise ValueError(side)


def _flip(p: Tuple[float, float]) -> Tuple[float, float]:
    return p[0], H - p[1]           # layout y (down) → plot y (up)


def _bezier(a, b, bend):
    """Control point of a quadratic curve from a to b bent ``bend`` inches to the left."""
    (x1, y1), (x2, y2) = a, b
    dx, dy = x2 - x1, y2 - y1
    n = (dx * dx + dy * dy) ** 0.5 or 1.0
    return ((x1 + x2) / 2 - bend * dy / n, (y1 + y2) / 2 + bend * dx / n)


def _point(a, c, b, s: float) -> Tuple[float, float]:
    u = 1 - s
    return (u * u * a[0] + 2 * u * s * c[0] + s * s * b[0],
            u * u * a[1] + 2 * u * s * c[1] + s * s * b[1])


def _event_label(event: str, lang: str) -> str:
    """The row's event text, on two lines (event / action) like the RFC figure."""
    key = "event." + event
    text = t(key, lang) if has(key) else event
    note = ""
    if text.endswith(")") and " (" in text:
        text, note = text[:-1].split(" (", 1)
    parts = [p.strip() for p in text.split(" / ")]
    lines = [" / ".join(parts)] if len(" / ".join(parts)) <= 14 else parts
    if note:
        lines.append(f"({note})")
    return "\n".join(lines)


def _stub_label(event: str, lang: str) -> str:
    key = "event." + event
    text = t(key, lang) if has(key) else event
    return text.replace("rcv ", "").replace(" or ", " / ").replace("RST受信または", "RST / ")


Box = Tuple[float, float, float, float]      # x0, y0, x1, y1 in layout inches (y down)


def _overlap(a: Box, b: Box) -> float:
    w = min(a[2], b[2]) - max(a[0], b[0])
    h = min(a[3], b[3]) - max(a[1], b[1])
    return w * h if w > 0 and h > 0 else 0.0


def _text_box(measure, text: str, pt: float, x: float, y: float, ha: str, va: str) -> Box:
    """The box a (multi-line) text will cover, layout coordinates, with a little margin."""
    lines = text.split("\n")
    w = max(measure(line, pt) for line in lines) / 72 + 0.08
    h = len(lines) * pt * 1.2 / 72 + 0.04
    x0 = {"left": x, "right": x - w, "center": x - w / 2}[ha]
    y0 = {"top": y, "bottom": y - h, "center": y - h / 2}[va]   # va as seen on the page
    return (x0, y0, x0 + w, y0 + h)


def _curve_len(a, c, b, s: float, n: int = 40) -> float:
    pts = [_point(a, c, b, s * k / n) for k in range(n + 1)]
    return sum(((p[0] - q[0]) ** 2 + (p[1] - q[1]) ** 2) ** 0.5 for p, q in zip(pts, pts[1:]))


def _badge_spot(a, c, b, r: float, obstacles: List[Box]) -> Tuple[float, float]:
    """A point on the curve, near its start, where a badge of radius r hides nothing."""
    total = _curve_len(a, c, b, 1.0)
    want = min(0.5, (r + 0.12) / total if total else 0.5)   # just outside the source box
    cands = sorted((k / 40 for k in range(3, 38)), key=lambda s: (abs(s - want), s))
    best, best_cost = _point(a, c, b, want), float("inf")
    # On the curve if possible; on a short, crowded edge, beside it (touching the line).
    for side in (0.0, 1.0, -1.0):
        for s_ in cands:
            x, y = _point(a, c, b, s_)
            if side:
                p, q = _point(a, c, b, max(0.0, s_ - 0.01)), _point(a, c, b, min(1.0, s_ + 0.01))
                tx, ty = q[0] - p[0], q[1] - p[1]
                n = (tx * tx + ty * ty) ** 0.5 or 1.0
                x, y = x + side * (r + 0.03) * ty / n, y - side * (r + 0.03) * tx / n
            cost = sum(_overlap((x - r, y - r, x + r, y + r), o) for o in obstacles)
            if cost == 0:
                return x, y
            if cost < best_cost:
                best, best_cost = (x, y), cost
    return best


def _place_label(spec, a, c, b, text: str, pt: float, measure, obstacles: List[Box]):
    """Where (and how big) an edge label goes: the route's spot if it covers nothing,
    else slid along the curve, else one or two points smaller. Returns (xy, pt, box)."""
    s0, dx, dy, ha, va = spec
    best = None
    for size in (pt, pt - 1, pt - 2):
        for shift in (0, 0.05, -0.05, 0.1, -0.1, 0.15, -0.15, 0.2, -0.2):
            s_ = min(0.9, max(0.1, s0 + shift))
            x, y = _point(a, c, b, s_)
            xy = (x + dx, y + dy)
            box = _text_box(measure, text, size, xy[0], xy[1], ha, va)
            cost = sum(_overlap(box, o) for o in obstacles)
            if cost == 0:
                return xy, size, box
            if best is None or cost < best[0]:
                best = (cost, xy, size, box)
    return best[1], best[2], best[3]


def state_diagram(path: Optional[Sequence[StateLike]] = None, lang: str = "en", ax=None):
    """Draw RFC 9293 Figure 5 from TRANSITIONS, optionally highlighting ``path``.

    ``path``: the states one connection visited, in order — State members or names such as
    "SYN-SENT" ("ESTAB", "SYN-RCVD" also accepted). Its transitions are drawn thick and
    numbered 1, 2, 3… in the order taken; the rest is greyed. With ``ax`` the diagram is
    drawn into that Axes (limits and aspect are set, the axis hidden). Returns the Figure.
    """
    check_lang(lang)
    steps = highlighted_edges(path)
    numbers: Dict[Tuple[State, State], List[int]] = {}
    for k, row in enumerate(steps, 1):
        numbers.setdefault((row.src, row.dst), []).append(k)
    visited_boxes = set()
    if path:
        visited_boxes.add(to_state(path[0]).value)
    for row in steps:
        r = _ROUTES.get((row.src.value, row.dst.value))
        dst = r.dst if r and r.dst else row.dst.value
        visited_boxes.add(f"stub:{row.src.value}" if dst == "stub" else dst)

    S = style.FONT_SIZES
    hi = style.ROLE_COLORS["highlight"]
    ink = style.ROLE_COLORS["ink"]
    muted = style.ROLE_COLORS["muted"]
    has_path = bool(path)
    label_pt = S["small"]
    stub_pt = S["tiny"] - 1

    with style.use_style(lang):
        fig, ax = style.canvas(ax, W, H)
        # Text is in points, the layout in inches: in a smaller Axes, shrink the text too.
        box = ax.get_position()
        k = min(1.0, box.width * fig.get_figwidth() / W, box.height * fig.get_figheight() / H)
        ax.set_axis_off()
        ttp = TextToPath()
        family = list(matplotlib.rcParams["font.family"])

        def measure(text: str, pt: float) -> float:
            prop = FontProperties(family=family, size=pt)
            return ttp.get_text_width_height_descent(text, prop, ismath=False)[0]

        ax.text(0.25, H - 0.32, t("states.title", lang), fontsize=k * S["title"], ha="left",
                va="center", **style.strong(lang))

        # Everything a label or a step number must not cover: boxes, abort tags and theirs.
        obstacles: List[Box] = []
        for name, (x, y) in _POS.items():
            obstacles.append((x - BOX_W / 2, y - BOX_H / 2, x + BOX_W / 2, y + BOX_H / 2))
            _state_box(ax, name, (x, y), name in visited_boxes, lang, S, hi, ink, k)
        for row in TRANSITIONS:
            tag = _STUBS.get(row.src.value)
            route = _ROUTES.get((row.src.value, row.dst.value))
            if tag and route is not None and route.dst == "stub":
                obstacles.append((tag[0] - STUB_W / 2, tag[1] - STUB_H / 2,
                                  tag[0] + STUB_W / 2, tag[1] + STUB_H / 2))
                obstacles.append(_text_box(measure, _stub_label(row.event, lang), stub_pt,
                                           tag[0], tag[1] + STUB_H / 2 + 0.03, "center",
                                           "top"))

        # Pass 1: every edge and its label; remember the curves for the step badges.
        curves = []
        for row in TRANSITIONS:
            key = (row.src.value, row.dst.value)
            route = _ROUTES.get(key)
            nums = numbers.get((row.src, row.dst), [])
            on_path = bool(nums)
            color = hi if on_path else (muted if has_path else ink)
            lw = 3.2 if on_path else 1.3
            tcolor = ink if (on_path or not has_path) else "#8A8A8A"
            if route is not None and route.dst == "stub":
                a, c, b = _draw_stub(ax, row, lang, color, lw, tcolor,
                                     f"stub:{row.src.value}" in visited_boxes, stub_pt, k)
            else:
                if route is None:       # a row without geometry yet: a straight arrow
                    sb, db = _POS[row.src.value], _POS[row.dst.value]
                    a, b = _clip(sb, db), _clip(db, sb)
                    route = _Route(("", 0), ("", 0))
                else:
                    a = _anchor(_POS[row.src.value], *route.a)
                    b = _anchor(_POS[route.dst or row.dst.value], *route.b)
                c = _bezier(a, b, route.bend)
                _arrow(ax, a, c, b, color, lw, f"edge-{key[0]}-{key[1]}")
                text = _event_label(row.event, lang)
                (lx, ly), pt, box = _place_label(route.label, a, c, b, text, label_pt,
                                                 measure, obstacles)
                obstacles.append(box)
                ax.text(lx, H - ly, text, ha=route.label[3], va=route.label[4], fontsize=k * pt,
                        color=tcolor, linespacing=1.05, zorder=5,
                        gid=f"label-{key[0]}-{key[1]}",
                        bbox=dict(boxstyle="round,pad=0.1", facecolor="white",
                                  edgecolor="none", alpha=0.85))
            if nums:
                curves.append((key, nums, a, c, b))

        # Pass 2: step numbers where they cover no label and no box.
        for key, nums, a, c, b in curves:
            text = ",".join(str(n) for n in nums)
            r = 0.17 if len(text) == 1 else 0.1 + 0.075 * len(text)
            x, y = _badge_spot(a, c, b, r, obstacles)
            obstacles.append((x - r, y - r, x + r, y + r))
            _badge(ax, (x, H - y), text, r, lang, S, f"step-{key[0]}-{key[1]}", k)

        _legend(ax, lang, has_path, S, hi, ink, muted, k)
    return fig


def _state_box(ax, name, xy, visited, lang, S, hi, ink, k):
    state = name.rstrip("*")
    px, py = _flip(xy)
    ax.add_patch(FancyBboxPatch((px - BOX_W / 2, py - BOX_H / 2), BOX_W, BOX_H,
                                boxstyle="round,pad=0,rounding_size=0.12",
                                facecolor=style.state_color(state),
                                edgecolor=hi if visited else ink,
                                linewidth=3.2 if visited else 1.2, zorder=3,
                                gid=f"state-{name}"))
    gloss = t("state_gloss." + state, lang)
    if gloss:       # Japanese: RFC name, and a gloss under it
        ax.text(px, py + 0.1, state, ha="center", va="center", fontsize=k * S["body"],
                zorder=4, **style.strong(lang))
        ax.text(px, py - 0.16, gloss, ha="center", va="center", fontsize=k * S["tiny"],
                zorder=4, color="#333333")
    else:
        ax.text(px, py, state, ha="center", va="center", fontsize=k * S["body"], zorder=4,
                **style.strong(lang))


def _clip(src: Tuple[float, float], dst: Tuple[float, float], w: float = BOX_W,
          h: float = BOX_H) -> Tuple[float, float]:
    """Where the segment from src's centre toward dst leaves a w×h box around src."""
    (x1, y1), (x2, y2) = src, dst
    dx, dy = x2 - x1, y2 - y1
    k = min((w / 2) / abs(dx) if dx else 1e9, (h / 2) / abs(dy) if dy else 1e9)
    return x1 + k * dx, y1 + k * dy


def _arrow(ax, a, c, b, color, lw, gid, linestyle="-"):
    path = Path([_flip(a), _flip(c), _flip(b)], [Path.MOVETO, Path.CURVE3, Path.CURVE3])
    ax.add_patch(FancyArrowPatch(path=path, arrowstyle="-|>", mutation_scale=14 + lw * 2,
                                 color=color, linewidth=lw, linestyle=linestyle, zorder=2,
                                 gid=gid))


def _draw_stub(ax, row: Transition, lang, color, lw, tcolor, visited, pt, k):
    """A short dotted arrow from a state to its own small CLOSED tag."""
    src, tag = _POS[row.src.value], _STUBS[row.src.value]
    a = _clip(src, tag)
    b = _clip(tag, src, STUB_W, STUB_H)
    c = ((a[0] + b[0]) / 2, (a[1] + b[1]) / 2)
    _arrow(ax, a, c, b, color, lw, f"edge-{row.src.value}-CLOSED", linestyle=(0, (2, 2)))
    px, py = _flip(tag)
    ax.add_patch(FancyBboxPatch((px - STUB_W / 2, py - STUB_H / 2), STUB_W, STUB_H,
                                boxstyle="round,pad=0,rounding_size=0.08",
                                facecolor=style.state_color("CLOSED"),
                                edgecolor=color if visited else "#777777",
                                linewidth=2.4 if visited else 0.9, zorder=3,
                                gid=f"state-stub-{row.src.value}"))
    ax.text(px, py, "CLOSED", ha="center", va="center", fontsize=k * pt, zorder=4,
            color="#333333")
    below = tag[1] + STUB_H / 2 + 0.03
    text = _stub_label(row.event, lang)
    ax.text(px, H - below, text, ha="center", va="top", fontsize=k * pt, color=tcolor,
            zorder=5, gid=f"label-{row.src.value}-CLOSED")
    return a, c, b


def _badge(ax, xy, text: str, r: float, lang, S, gid, k):
    hi = style.ROLE_COLORS["highlight"]
    if len(text) <= 2:
        ax.add_patch(Circle(xy, r, facecolor=hi, edgecolor="white", linewidth=1.5, zorder=6))
    else:
        ax.add_patch(FancyBboxPatch((xy[0] - r, xy[1] - 0.16), 2 * r, 0.32,
                                    boxstyle="round,pad=0,rounding_size=0.16",
                                    facecolor=hi, edgecolor="white", linewidth=1.5,
                                    zorder=6))
    ax.text(xy[0], xy[1], text, ha="center", va="center", fontsize=k * S["small"],
            color="white", zorder=7, gid=gid, **style.strong(lang, "white"))


def _legend(ax, lang, has_path, S, hi, ink, muted, k):
    """Line key in the empty top-left corner."""
    x, y = 0.3, H - 0.95
    items = []
    if has_path:
        items.append((hi, 3.2, "-", t("states.path", lang)))
        items.append((muted, 1.3, "-", t("states.other", lang)))
    items.append((muted if has_path else ink, 1.3, (0, (2, 2)), t("states.abort", lang)))
    for color, lw, ls, text in items:
        ax.plot([x, x + 0.5], [y, y], color=color, linewidth=lw, linestyle=ls,
                solid_capstyle="butt")
        ax.text(x + 0.62, y, text, ha="left", va="center", fontsize=k * S["small"])
        y -= 0.34


__all__ = ["state_diagram", "highlighted_edges", "to_state"]
