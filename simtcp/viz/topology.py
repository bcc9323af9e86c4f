"""Topology figure: nodes, their interfaces and addresses, the links and LANs between them,
and each router's routes — a network drawn the way a teacher draws it on a slide.

Theory of operation: the layout is layered. A breadth-first walk from the first host gives
every node a column (its distance in links); a column with one node sits alternately higher
and lower (a zigzag, so text and link labels have room); several nodes in one column are
stacked. A LAN (a switch) is a vertical bar between its members' columns that they hang on;
a point-to-point link is a line. Each node is a box with its name; under it, one line per
interface (``eth0 192.168.1.1/24``) and, for routers and hosts with more than connected
routes, the routes `ip route` would print, without the connected ones (the interface lines
already say them). The subnet of each link is written on the link.
"""
from __future__ import annotations

from collections import deque
from typing import Dict, List, Tuple

from matplotlib.patches import FancyBboxPatch

from . import style
from .i18n import check_lang, t

__all__ = ["topology_diagram"]

COL_W = 1.95                 # inches between two columns of nodes
BOX_W, BOX_H = 1.15, 0.45
ZIG = 0.85                   # neighbouring columns sit this much higher / lower


def _layers(net) -> List[list]:
    """Columns of nodes: breadth-first distance from the first host, where two nodes are
    neighbours if a link or a LAN joins them (every component after the previous one)."""
    nodes = sorted(net.nodes.values(), key=lambda n: bool(getattr(n, "forwarding", False)))
    if not nodes:
        raise ValueError("the network has no nodes to draw")
    col: Dict[object, int] = {}
    for start in nodes:
        if start in col:
            continue
        col[start] = 0 if not col else max(col.values()) + 1
        queue = deque([start])
        while queue:
            node = queue.popleft()
            for link in node.links:
                for n in link.nodes:
                    if n not in col:
                        col[n] = col[node] + 1
                        queue.append(n)
    columns: List[list] = [[] for _ in range(max(col.values()) + 1)]
    for node, c in col.items():
        columns[c].append(node)
    return columns


def _node_lines(node) -> List[str]:
    lines = [f"{name} {a.with_prefixlen if a.network.prefixlen < 32 else a.ip}"
             for name, iface in node.interfaces.items() for a in iface.addrs]
    routes = [r for r in node.routes.routes() if r.proto != "kernel"]
    for r in routes:
        dest = "default" if r.dest.prefixlen == 0 else str(r.dest)
        lines.append(f"{dest} via {r.via}" if r.via else f"{dest} dev {r.dev}")
    return lines


def topology_diagram(net, lang: str = "en", title: str = None, ax=None):
    """Draw ``net``'s nodes, interfaces, addresses, links and routes on one slide."""
    check_lang(lang)
    columns = _layers(net)
    width = max(style.SLIDE_SIZE[0], 1.4 + COL_W * len(columns))
    rows = max(len(c) for c in columns)
    height = max(style.SLIDE_SIZE[1], 2.6 + rows * 2.4)
    pos: Dict[object, Tuple[float, float]] = {}
    x0 = (width - COL_W * (len(columns) - 1)) / 2
    for c, items in enumerate(columns):
        shift = (ZIG if c % 2 else -ZIG) if len(items) == 1 else 0.0
        for i, item in enumerate(items):
            pos[item] = (x0 + c * COL_W,
                         height / 2 + 0.35 + (i - (len(items) - 1) / 2) * 2.4 + shift)
    for link in net.links:                   # a LAN bar stands between its members
        if link.kind == "lan":
            xs = sorted({pos[n][0] for n in link.nodes})
            x = (xs[0] + xs[-1]) / 2 if len(xs) > 1 else xs[0] + COL_W / 2
            ys = [pos[n][1] for n in link.nodes]
            pos[link] = (x, (min(ys) + max(ys)) / 2)
    ink = style.ROLE_COLORS["ink"]
    with style.use_style(lang):
        fig, ax = style.canvas(ax, width, height, y_down=True)
        ax.set_axis_off()
        ax.text(0.2, 0.4, title or t("topology.title", lang), ha="left", va="center",
                fontsize=style.FONT_SIZES["subtitle"], **style.strong(lang))
        for link in net.links:                        # LAN bars and links, under the boxes
            if link.kind == "lan":
                x, _ = pos[link]
                ys = [pos[n][1] for n in link.nodes]
                top, bottom = min(ys) - 0.35, max(ys) + 0.35
                ax.plot([x, x], [top, bottom], color=style.ROLE_COLORS["muted"], lw=6,
                        solid_capstyle="round", zorder=1)
                ax.text(x - 0.1, (top + bottom) / 2, f"{link.name}  {_subnet(link)}",
                        ha="center", va="bottom", rotation=90, rotation_mode="anchor",
                        fontsize=style.FONT_SIZES["tiny"], color=ink,
                        bbox=dict(facecolor="white", edgecolor="none", pad=0.5))
                for n in link.nodes:
                    nx, ny = pos[n]
                    ax.plot([nx, x], [ny, ny], color=ink, lw=1.2, zorder=1)
            else:
                a, b = link.nodes
                (xa, ya), (xb, yb) = pos[a], pos[b]
                ax.plot([xa, xb], [ya, yb], color=ink, lw=1.6, zorder=1)
                ax.text((xa + xb) / 2, (ya + yb) / 2 - 0.08, _subnet(link), ha="center",
                        va="bottom", fontsize=style.FONT_SIZES["tiny"], color=ink,
                        bbox=dict(facecolor="white", edgecolor="none", pad=0.5))
        for item, (x, y) in pos.items():
            if not hasattr(item, "interfaces"):
                continue
            router = getattr(item, "forwarding", False)
            fill = style.TINTS["orange"] if router else style.TINTS["sky_blue"]
            ax.add_patch(FancyBboxPatch((x - BOX_W / 2, y - BOX_H / 2), BOX_W, BOX_H,
                                        boxstyle="round,pad=0.02,rounding_size=0.08",
                                        facecolor=fill, edgecolor=ink, lw=1.2, zorder=2))
            kind = t("hops.router", lang) if router else t("hops.host", lang)
            ax.text(x, y - 0.02, item.name, ha="center", va="bottom",
                    fontsize=style.FONT_SIZES["body"], zorder=3, **style.strong(lang))
            ax.text(x, y + 0.01, kind, ha="center", va="top",
                    fontsize=style.FONT_SIZES["tiny"], color=ink, zorder=3)
            under = y >= height / 2 - 0.3     # upper row: text above the box, else below
            ax.text(x, y + (BOX_H / 2 + 0.08) * (1 if under else -1),
                    "\n".join(_node_lines(item)), ha="center", va="top" if under else "bottom",
                    fontsize=style.FONT_SIZES["tiny"], color=ink, zorder=3,
                    family="DejaVu Sans Mono", linespacing=1.15,
                    bbox=dict(facecolor="white", edgecolor="none", pad=0.3, alpha=0.85))
    return fig


def _subnet(link) -> str:
    """The subnet the interfaces on ``link`` share (e.g. 198.51.100.0/30), or ''."""
    nets = set()
    for n in link.nodes:
        for iface in n.interfaces.values():
            if iface.link is link:
                nets.update(str(a.network) for a in iface.addrs if a.network.prefixlen < 32)
    return ", ".join(sorted(nets))
