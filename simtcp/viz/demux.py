"""The demultiplexing picture: one server port, many connections, told apart by 4-tuple.

Theory of operation: a student's first model of TCP is often "port 80 = the web server's
connection". This figure shows why that is wrong, from a live host's tables: every client
connection arrives at the *same* server port, and the stack hands each segment to a
different socket chosen by the whole 4-tuple (RFC 9293 §3.3.1; Linux looks up the
established hash by 4-tuple first and only then the listeners — inet_hashtables.c).

Left: clients (one box per remote address, one badge per ephemeral source port) with one
coloured line per connection converging on the server's single port badge, which fans out
to one socket per 4-tuple plus the listening socket (its 4-tuple has wildcards: it takes
only new SYNs). Right: the same sockets as a table in ``ss -tan`` order of columns, with
the same colours. Everything is read from `simtcp.diag` — the socket enumeration ss,
netstat and lsof also read — at the moment of the call, so the picture cannot disagree with
`ss`.
"""
from __future__ import annotations

import ipaddress
import textwrap
from typing import List, Optional

from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import FancyBboxPatch
from matplotlib.textpath import TextToPath

from . import style
from .i18n import check_lang, t

INK = style.ROLE_COLORS["ink"]
MAX_ROWS = 10           # connections drawn; the rest are counted ("… and N more")
_CYCLE = ("blue", "vermillion", "bluish_green", "reddish_purple", "orange", "sky_blue",
          "black")


def _pick_port(entries) -> int:
    counts = {}
    for e in entries:
        counts[e.local_port] = counts.get(e.local_port, 0) + (0 if e.listener else 1)
    if not counts:
        raise ValueError("this host has no listening socket and no connection: bind(), "
                         "listen() and connect some clients first")
    return min(counts, key=lambda p: (-counts[p], p))


def _ip_key(ip: str):
    try:
        return (0, int(ipaddress.IPv4Address(ip)))
    except ValueError:
        return (1, ip)


def demux_rows(host, port: Optional[int] = None) -> List[dict]:
    """The sockets on ``host``'s ``port`` as rows: listeners first, then connections by
    remote address and port. Keys: local, remote (``(ip, port)``; a listener's remote is
    ``("*", "*")``), state (RFC name), listener (bool), client (host name or the IP)."""
    from ..diag import tcp_sockets
    if getattr(host, "stack", None) is None:
        raise ValueError(f"demux_diagram() needs a Host with a TCP stack, not {host!r} "
                         "(a Peer has no sockets)")
    entries = tcp_sockets(host)               # the same enumeration ss/netstat/lsof read
    port = _pick_port(entries) if port is None else port
    net = getattr(host, "net", None)
    rows = []
    for e in sorted((e for e in entries if e.listener and e.local_port == port),
                    key=lambda e: _ip_key(e.local_ip)):
        rows.append({"local": (e.local_ip, e.local_port), "remote": ("*", "*"),
                     "state": "LISTEN", "listener": True, "client": None})
    conns = [e for e in entries if not e.listener and e.local_port == port]
    conns.sort(key=lambda e: (_ip_key(e.peer_ip), e.peer_port, _ip_key(e.local_ip)))
    for e in conns:
        owner = net.owner(e.peer_ip) if net is not None and hasattr(net, "owner") else None
        rows.append({"local": (e.local_ip, e.local_port), "remote": (e.peer_ip, e.peer_port),
                     "state": e.state.value, "listener": False,
                     "client": owner.name if owner is not None else e.peer_ip})
    if not rows:
        raise ValueError(f"{host.name} has no socket on port {port}: nothing listens there "
                         "and no connection uses it")
    return rows


def demux_diagram(host, port: Optional[int] = None, lang: str = "en", ax=None):
    """Draw how ``host``'s stack tells apart the connections on one ``port``.

    ``port=None`` picks the local port with the most connections (a listening port
    counts). Returns a 12.8 × 7.2 in `Figure` (one 1280×720 slide), or draws into ``ax``.
    At most MAX_ROWS connections are drawn; the table says how many more exist.
    """
    check_lang(lang)
    rows = demux_rows(host, port)
    port = rows[0]["local"][1]
    with style.use_style(lang):
        return _draw(host, port, rows, lang, ax)


def _box(ax, x, y, w, h, fc, ec, lw=1.4, r=0.08, z=2):
    ax.add_patch(FancyBboxPatch((x, y), w, h, boxstyle=f"round,pad=0,rounding_size={r}",
                                fc=fc, ec=ec, lw=lw, zorder=z))


def _text(ax, x, y, s, size, color=INK, lang="en", bold=False, **kw):
    kw.setdefault("ha", "center")
    kw.setdefault("va", "center")
    extra = style.strong(lang, color) if bold else {}
    return ax.text(x, y, s, fontsize=size, color=color, parse_math=False, zorder=5,
                   **extra, **kw)


def _width(s: str, size: float, mono: bool = False, bold: bool = False) -> float:
    prop = FontProperties(size=size, family="DejaVu Sans Mono" if mono else None,
                          weight="bold" if bold else "normal")
    return TextToPath().get_text_width_height_descent(s, prop, ismath=False)[0] / 72


def _draw(host, port, rows, lang, ax):
    """Layout left to right: clients | gap | server (port badge → one socket per 4-tuple) |
    the socket table. Widths come from the text itself; the figure widens (never squeezes
    text) when a 1280×720 slide is too narrow for long addresses."""
    fs = style.FONT_SIZES
    H = style.SLIDE_SIZE[1]
    listeners = [r for r in rows if r["listener"]]
    conns = [r for r in rows if not r["listener"]]
    shown, hidden = conns[:MAX_ROWS], len(conns) - MAX_ROWS
    for i, r in enumerate(shown):
        r["color"] = style.OKABE_ITO[_CYCLE[i % len(_CYCLE)]]
    sockets = listeners + shown
    groups: dict = {}
    for r in shown:
        groups.setdefault(r["remote"][0], []).append(r)

    # widths (inches) measured from the strings
    fours = [f"({r['local'][0]}, {r['local'][1]}, {r['remote'][0]}, {r['remote'][1]})"
             for r in sockets]
    sock_w = max(_width(f, fs["tiny"], mono=True) for f in fours) + 0.25
    cells = [(f"{r['local'][0]}:{r['local'][1]}", f"{r['remote'][0]}:{r['remote'][1]}",
              r["state"]) for r in sockets]
    heads = [t(k, lang) for k in ("demux.local", "demux.peer", "demux.state")]
    col_w = [max([_width(c[k], fs["tiny"], mono=True) for c in cells]
                 + [_width(heads[k], fs["tiny"], bold=lang == "en")]) + 0.25 for k in range(3)]
    badge_w = max([_width(t("demux.port", lang, port=r["remote"][1]), fs["small"]) + 0.35
                   for r in shown] or [1.2])
    names = [g[0]["client"] for g in groups.values()] + list(groups)
    client_w = max([badge_w + 0.3] + [_width(n, fs["small"], bold=lang == "en") + 0.3 for n in names]
                   + [_width(t("demux.clients", lang), fs["tiny"]) + 0.05])
    cx0 = 0.3
    cx1 = cx0 + client_w
    sx0 = cx1 + 1.3                               # the port badge sits on the server's edge
    sock_x = sx0 + 1.05
    sx1 = sock_x + sock_w + 0.15
    tx = sx1 + 0.35
    table_w = 0.25 + sum(col_w)
    table_w = max(table_w, _width(t("demux.table", lang, host=host.name, port=port),
                                  fs["small"], bold=lang == "en"))
    W = max(style.SLIDE_SIZE[0], tx + table_w + 0.3)
    fig, ax = style.canvas(ax, W, H, y_down=True)
    ax.axis("off")
    _text(ax, W / 2, 0.38, t("demux.title", lang), fs["subtitle"], lang=lang, bold=True)

    # --- server: one port badge fanning out to one socket per 4-tuple --------------------
    top, bottom = 1.0, 5.75
    _box(ax, sx0, top - 0.1, sx1 - sx0, bottom - top + 0.2, style.TINTS["bluish_green"] + "55",
         style.color("server"), lw=2, r=0.15, z=1)
    _text(ax, (sx0 + sx1) / 2 + 0.35, top + 0.14, f"{host.name}  {host.ip}", fs["body"],
          lang=lang, bold=True)
    n = len(sockets)
    step = min(0.62, (bottom - top - 0.45) / max(n, 1))
    y0 = top + 0.45 + (bottom - top - 0.45 - step * n) / 2 + step / 2
    py = (top + bottom) / 2
    px = sx0
    for k, r in enumerate(sockets):
        y = y0 + k * step
        if r["listener"]:
            fc, ec, col = style.TINTS["grey"], "#777777", "#777777"
        else:
            fc, ec, col = "white", r["color"], r["color"]
        _box(ax, sock_x, y - 0.25, sock_w, 0.5, fc, ec, lw=1.6)
        kind = t("demux.listening" if r["listener"] else "demux.connected", lang)
        _text(ax, sock_x + 0.1, y - 0.1, fours[k], fs["tiny"], lang=lang, ha="left",
              family="DejaVu Sans Mono")
        _text(ax, sock_x + 0.1, y + 0.13, f"{kind} · {r['state']}", fs["tiny"], col, lang,
              ha="left")
        ax.add_line(Line2D([px, sock_x], [py, y], color=col, lw=2.2 if not r["listener"]
                           else 1.4, ls="solid" if not r["listener"] else (0, (4, 3)), zorder=1.5))
    bw = max(0.84, _width(t("demux.port", lang, port=port), fs["body"], bold=lang == "en") + 0.3)
    _box(ax, px - bw / 2, py - 0.36, bw, 0.72, style.TINTS["yellow"], INK, lw=2, r=0.2, z=3)
    _text(ax, px, py, t("demux.port", lang, port=port), fs["body"], lang=lang, bold=True)

    # --- clients: one box per address (name, address), one badge per ephemeral port --------
    heights = [0.85 + 0.42 * len(g) for g in groups.values()]
    gap = max(0.15, (bottom - top - 0.3 - sum(heights)) / (len(heights) + 1)) if heights else 0
    y = top + 0.3 + gap
    for (ip, g), h in zip(groups.items(), heights):
        _box(ax, cx0, y, cx1 - cx0, h, style.TINTS["blue"] + "66", style.color("client"), lw=1.6)
        name = g[0]["client"]
        _text(ax, cx0 + 0.15, y + 0.22, name, fs["small"], lang=lang, ha="left", bold=True)
        if name != ip:
            _text(ax, cx0 + 0.15, y + 0.5, ip, fs["tiny"], "#333333", lang, ha="left")
        for j, r in enumerate(g):
            by = y + 0.9 + 0.42 * (j - 0.1) if name != ip else y + 0.62 + 0.42 * j
            _box(ax, cx1 - 0.15 - badge_w, by - 0.16, badge_w, 0.32, "white", r["color"],
                 lw=1.8, z=3)
            _text(ax, cx1 - 0.15 - badge_w / 2, by, t("demux.port", lang, port=r["remote"][1]),
                  fs["small"], r["color"], lang)
            ax.add_line(Line2D([cx1 - 0.15, px], [by, py], color=r["color"], lw=2.2,
                               zorder=1.5))
        y += h + gap
    _text(ax, cx0, top - 0.05, t("demux.clients_title", lang), fs["small"], lang=lang, ha="left",
          bold=True)
    _text(ax, cx0, top + 0.2, t("demux.clients", lang), fs["tiny"], "#444444", lang, ha="left")

    # --- the table --------------------------------------------------------------------------
    _text(ax, tx, top + 0.14, t("demux.table", lang, host=host.name, port=port), fs["small"],
          lang=lang, ha="left", bold=True)
    cols = [tx + 0.25, tx + 0.25 + col_w[0], tx + 0.25 + col_w[0] + col_w[1]]
    hy = top + 0.6
    for x, head in zip(cols, heads):
        _text(ax, x, hy, head, fs["tiny"], "#444444", lang, ha="left", bold=True)
    ax.add_line(Line2D([tx, tx + table_w], [hy + 0.2] * 2, color="#999999", lw=0.8))
    ty, rstep = hy + 0.5, min(0.42, (bottom + 0.3 - hy - 0.5) / max(len(sockets) + 1, 1))
    for k, r in enumerate(sockets):
        col = r.get("color", "#777777")
        ax.add_line(Line2D([tx + 0.04, tx + 0.14], [ty, ty], color=col, lw=6,
                           solid_capstyle="butt"))
        for x, c in zip(cols, cells[k]):
            _text(ax, x, ty, c, fs["tiny"], lang=lang, ha="left", family="DejaVu Sans Mono")
        ty += rstep
    if hidden > 0:
        _text(ax, cols[0], ty, t("demux.more", lang, n=hidden), fs["tiny"], "#555555", lang,
              ha="left")
    caption = t("demux.caption", lang, port=port)
    width = int(120 * W / 12.8) if lang == "en" else int(62 * W / 12.8)
    _text(ax, W / 2, H - 0.62, "\n".join(textwrap.wrap(caption, width)), fs["small"], INK, lang,
          linespacing=1.4)
    return fig
