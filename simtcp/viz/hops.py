"""Ladders across routers: one lifeline per node (client, routers, server), one arrow per hop.

Theory of operation: every ``send`` record of the trace is one packet on one wire; its
``deliver``/``drop`` record says where that copy ended. A router that forwards makes a new
copy (``parent`` = the one it received), so a packet crossing two routers is three arrows,
each labelled with the TTL it had on that wire; an ICMP error is an arrow of its own colour
starting where the packet died (a ✗ with the reason). The vertical axis is ordered time:
each distinct instant gets its own row, and the gap to the next grows with the elapsed time
up to a cap, so a 1 ms LAN hop and a 10 ms WAN hop are both readable; tick labels show the
true virtual times. Labels sit at the middle of their arrow, on a white backing.
"""
from __future__ import annotations

from typing import Dict, List, Optional, Sequence

from matplotlib.patches import FancyArrowPatch

from . import style
from .i18n import check_lang, t

__all__ = ["hop_ladder", "hop_rows"]

ROW_MIN, ROW_MAX, PER_MS = 0.36, 0.80, 0.03     # inches


def hop_rows(net, lifelines: Sequence[str], t0: float = 0.0,
             t1: Optional[float] = None) -> List[dict]:
    """One dict per packet copy between two lifelines (or dying at one): sender, receiver,
    times, packet, whether it was dropped and why."""
    recs = net.trace.records
    ends: Dict[int, object] = {}
    for r in recs:
        if r.kind in ("deliver", "drop") and r.pkt_id is not None:
            ends.setdefault(r.pkt_id, r)
    links = {link.name: link for link in net.links}
    rows = []
    for r in recs:
        if r.kind != "send" or r.packet is None or r.host not in lifelines:
            continue
        if r.time < t0 - 1e-12 or (t1 is not None and r.time > t1 + 1e-12):
            continue
        end = ends.get(r.pkt_id)
        if end is None:
            continue
        dropped = end.kind == "drop"
        to = end.host
        if to in links:                      # lost on a wire: toward that wire's far end
            far = [n.name for n in links[to].nodes if n.name != r.host]
            to = far[0] if far else r.host
        if to not in lifelines or to == r.host:
            continue
        rows.append({"from": r.host, "to": to, "t_send": r.time, "t_end": end.time,
                     "packet": r.packet, "dropped": dropped, "reason": end.reason,
                     "at_node": dropped and end.host == to})
    return rows


def _label(p, lang: str) -> str:
    seg = p.segment
    if seg is not None:
        return f"{seg.flags.letters}  TTL={p.ttl}"
    if p.proto == 17:
        return f"UDP :{p.payload.dport}  TTL={p.ttl}"
    if p.proto == 1:
        m = p.payload
        key = f"hops.icmp.{m.type}.{m.code}"
        from .i18n import has
        name = t(key, lang) if has(key) else f"ICMP {m.type}/{m.code}"
        return f"{name}  TTL={p.ttl}"
    return f"proto {p.proto}  TTL={p.ttl}"


def _role(p) -> str:
    seg = p.segment
    if seg is None:
        return "rst" if p.proto == 1 and p.payload.type in (3, 11) else "client"
    f = int(seg.flags)
    if f & 0x04:
        return "rst"
    if f & 0x02:
        return "syn"
    if f & 0x01:
        return "fin"
    return "data" if seg.payload else "ack"


def hop_ladder(net, lifelines: Sequence[str], t0: float = 0.0, t1: Optional[float] = None,
               lang: str = "en", title: Optional[str] = None, ax=None):
    """Draw the packets between ``lifelines`` (node names, left to right) as a ladder."""
    check_lang(lang)
    rows = hop_rows(net, lifelines, t0, t1)
    if not rows:
        raise ValueError(f"no packets between {', '.join(lifelines)} in that time window")
    instants = sorted({r["t_send"] for r in rows} | {r["t_end"] for r in rows})
    y_of, y = {}, 1.75
    # few instants: taller rows, so a short exchange still fills the slide
    row_min = max(ROW_MIN, min(0.9, 5.0 / max(1, len(instants) - 1)))
    for i, at in enumerate(instants):
        if i:
            gap = (at - instants[i - 1]) * 1000 * PER_MS
            y += min(max(ROW_MAX, row_min), max(row_min, gap))
        y_of[at] = y
    width = style.SLIDE_SIZE[0]
    height = max(style.SLIDE_SIZE[1], y + 0.5)
    with style.use_style(lang):
        fig, ax = style.canvas(ax, width, height, y_down=True)
        ax.set_axis_off()
        left, right = 1.6, width - 1.9        # room right of the last lifeline for a ✗ note
        step = (right - left) / max(1, len(lifelines) - 1)
        x_of = {name: left + i * step for i, name in enumerate(lifelines)}
        ink = style.ROLE_COLORS["ink"]
        for name, x in x_of.items():
            node = net.nodes[name]
            ax.plot([x, x], [1.5, y + 0.2], color=style.ROLE_COLORS["muted"], lw=1.5,
                    zorder=1)
            kind = t("hops.router", lang) if getattr(node, "forwarding", False) else \
                t("hops.host", lang)
            ax.text(x, 0.85, name, ha="center", va="bottom",
                    fontsize=style.FONT_SIZES["label"], **style.strong(lang))
            addrs = [a.ip for a in node.interfaces.values() if a.ip] or node.ips
            ax.text(x, 0.9, f"({kind})\n" + "\n".join(addrs[:2]), ha="center", va="top",
                    fontsize=style.FONT_SIZES["tiny"], color=ink, linespacing=1.1)
        ax.text(0.15, 0.35, title or t("hops.title", lang), ha="left", va="center",
                fontsize=style.FONT_SIZES["subtitle"], **style.strong(lang))
        for at in instants:
            ax.text(left - 0.55, y_of[at], f"{at * 1000:.0f}", ha="right", va="center",
                    fontsize=style.FONT_SIZES["tiny"], color=style.ROLE_COLORS["muted"])
        ax.text(left - 0.55, 1.5, t("time_ms", lang), ha="right", va="bottom",
                fontsize=style.FONT_SIZES["tiny"], color=ink)
        for r in rows:
            x1, x2 = x_of[r["from"]], x_of[r["to"]]
            y1, y2 = y_of[r["t_send"]], y_of[r["t_end"]]
            p = r["packet"]
            colour = style.color(_role(p))
            if r["dropped"] and not r["at_node"]:         # lost on the wire
                x2, y2 = x1 + (x2 - x1) * 0.6, y1 + (y2 - y1) * 0.6
            ax.add_patch(FancyArrowPatch((x1, y1), (x2, y2), arrowstyle="-|>",
                                         mutation_scale=14, color=colour, lw=1.8,
                                         linestyle="-" if not r["dropped"] else (0, (4, 3)),
                                         zorder=3))
            ax.text((x1 + x2) / 2, (y1 + y2) / 2 - 0.05, _label(p, lang), ha="center",
                    va="bottom", fontsize=style.FONT_SIZES["tiny"], color=colour, zorder=4,
                    bbox=dict(facecolor="white", edgecolor="none", pad=0.3, alpha=0.7))
            if r["dropped"]:
                ax.text(x2, y2, "✗", ha="center", va="center", color=style.color("rst"),
                        fontsize=style.FONT_SIZES["label"], zorder=5)
                ax.text(x2 + (0.12 if x2 >= x1 else -0.12), y2 + 0.02, _reason(r, lang),
                        ha="left" if x2 >= x1 else "right", va="top",
                        fontsize=style.FONT_SIZES["tiny"], color=style.color("rst"), zorder=5)
    return fig


def _reason(r: dict, lang: str) -> str:
    from .i18n import has
    from ..reasons import Reason
    reason = r["reason"]
    key = f"hops.drop.{reason}"
    if has(key):
        return t(key, lang)
    return reason.label(lang) if isinstance(reason, Reason) else str(reason)
