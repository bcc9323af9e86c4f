"""Pictures of NAT: a ladder with both 4-tuples, the translation table, port forwarding.

Theory of operation: NAT is invisible from either end — the inside host sees its own
address, the server sees the router's — so the pictures put the two views side by side.

* `nat_ladder` draws four columns (inside host, the router's inside and outside
  interfaces, the server) from two per-interface captures (``net.capture.on(router, …)``):
  each packet of the flow is one row, its LAN copy on the left with the inside 4-tuple, its
  WAN copy on the right with the translated one, and the rewrite in between.
* `nat_table` draws the router's conntrack entries that NAT touched, as the translation
  table textbooks show: inside endpoint, outside endpoint, remote endpoint, state, expiry.
* `port_forward_before_after` draws the same connection attempt without and with a DNAT
  rule: refused by the router itself, then delivered to the inside server.

All text comes from the figure catalogue (`simtcp.viz.i18n`) in English or Japanese.
"""
from __future__ import annotations

import errno
from typing import List, Optional, Tuple

from matplotlib.patches import FancyArrowPatch, FancyBboxPatch

from . import style
from .i18n import check_lang, t

INK = style.ROLE_COLORS["ink"]


def _flags_label(p) -> str:
    seg = p.segment
    if seg is None:
        return str(p.payload)
    names = seg.flags.names if int(seg.flags) else "none"
    if seg.payload:
        names += f" [{len(seg.payload)} B]"
    return names


def _tuple_text(p) -> str:
    seg = p.segment
    return f"{p.src}:{seg.sport} → {p.dst}:{seg.dport}"


def _flow_rows(lan, wan, inside_ip: str, limit: int) -> List[Tuple[object, object]]:
    """Pairs (LAN copy, WAN copy) of the packets of the first TCP flow from ``inside_ip``,
    matched by TCP sequence/ack numbers and flags (NAT changes neither)."""
    lan_pkts = [c.packet for c in lan if c.packet.segment is not None
                and inside_ip in (c.packet.src, c.packet.dst)]
    if not lan_pkts:
        raise ValueError(f"the LAN capture has no TCP packet of {inside_ip}; start "
                         "net.capture.on(router, iface) before the traffic")
    first = lan_pkts[0]
    port = first.segment.sport if first.src == inside_ip else first.segment.dport
    flow = [p for p in lan_pkts if (p.segment.sport if p.src == inside_ip
                                    else p.segment.dport) == port]
    wan_pkts = [c.packet for c in wan if c.packet.segment is not None]
    rows = []
    for p in flow[:limit]:
        key = (int(p.segment.seq), int(p.segment.ack), int(p.segment.flags))
        match = next((w for w in wan_pkts
                      if (int(w.segment.seq), int(w.segment.ack), int(w.segment.flags)) == key),
                     None)
        rows.append((p, match))
    return rows


def nat_ladder(lan, wan, inside_ip: str, router_ips: Tuple[str, str], server_ip: str,
               lang: str = "en", limit: int = 7, names: Optional[Tuple[str, ...]] = None):
    """The ladder of one NATed TCP flow (see the module docstring). ``lan``/``wan``: the
    captures on the router's inside and outside interfaces; ``router_ips``: (inside,
    outside) addresses of the router."""
    check_lang(lang)
    rows = _flow_rows(lan, wan, inside_ip, limit)
    width, height = 12.8, 1.75 + 0.72 * len(rows)
    with style.use_style(lang):
        fig, ax = style.canvas(None, width, height, y_down=True)
        ax.axis("off")
        xs = (0.9, 5.2, 7.6, 11.9)
        labels = names or (t("nat.inside", lang), t("nat.router_in", lang),
                           t("nat.router_out", lang), t("nat.server", lang))
        addrs = (inside_ip, router_ips[0], router_ips[1], server_ip)
        for x, name, addr in zip(xs, labels, addrs):
            ax.text(x, 0.3, name, ha="center", va="center", fontsize=style.FONT_SIZES["body"],
                    linespacing=1.0, **style.strong(lang))
            ax.text(x, 0.75, addr, ha="center", va="center", fontsize=style.FONT_SIZES["small"],
                    color=INK)
            ax.plot([x, x], [0.95, height - 0.25], color="#B0B0B0", lw=1.5, zorder=0)
        ax.add_patch(FancyBboxPatch((xs[1] - 0.25, 0.95), xs[2] - xs[1] + 0.5,
                                    height - 1.2, boxstyle="round,pad=0.02",
                                    fc=style.TINTS["yellow"], ec="none", zorder=-1))
        ax.text((xs[1] + xs[2]) / 2, height - 0.12, t("nat.rewrite", lang), ha="center",
                va="center", fontsize=style.FONT_SIZES["tiny"], color=INK)
        for i, (lan_p, wan_p) in enumerate(rows):
            y = 1.35 + 0.72 * i
            outbound = lan_p.src == inside_ip
            col = style.color("rst") if lan_p.segment.flags & 0x04 else (
                style.color("syn") if lan_p.segment.flags & 0x02 else
                style.color("client") if outbound else style.color("server"))
            a, b = (xs[0], xs[1]) if outbound else (xs[1], xs[0])
            _arrow(ax, a, b, y, col)
            ax.text((xs[0] + xs[1]) / 2, y - 0.13, _tuple_text(lan_p), ha="center",
                    fontsize=style.FONT_SIZES["tiny"], color=INK)
            ax.text((xs[0] + xs[1]) / 2, y + 0.22, _flags_label(lan_p), ha="center",
                    fontsize=style.FONT_SIZES["tiny"], color=col)
            if wan_p is None:
                ax.text((xs[2] + xs[3]) / 2, y, t("nat.not_seen", lang), ha="center",
                        fontsize=style.FONT_SIZES["tiny"], color="#999999")
                continue
            a, b = (xs[2], xs[3]) if outbound else (xs[3], xs[2])
            _arrow(ax, a, b, y, col)
            ax.text((xs[2] + xs[3]) / 2, y - 0.13, _tuple_text(wan_p), ha="center",
                    fontsize=style.FONT_SIZES["tiny"], color=INK)
            ax.text((xs[2] + xs[3]) / 2, y + 0.22, _flags_label(wan_p), ha="center",
                    fontsize=style.FONT_SIZES["tiny"], color=col)
            ax.annotate("", xy=(xs[2] if outbound else xs[1], y),
                        xytext=(xs[1] if outbound else xs[2], y),
                        arrowprops=dict(arrowstyle="->", color="#777777", lw=1.2, ls="--"))
    return fig


def _arrow(ax, x0: float, x1: float, y: float, col: str) -> None:
    ax.add_patch(FancyArrowPatch((x0, y), (x1, y), arrowstyle="-|>", mutation_scale=14,
                                 color=col, lw=2.0))


def nat_table(router, lang: str = "en", now: Optional[float] = None):
    """The router's NAT translations as a table (from its conntrack entries)."""
    check_lang(lang)
    ct = router.netfilter.conntrack
    now = router.net.now if now is None else now
    rows = []
    for c in sorted(ct.entries(), key=lambda c: c.id):
        if not (c.src_nat or c.dst_nat):
            continue
        mapped = c.reply.inverse()
        proto = {6: "TCP", 17: "UDP", 1: "ICMP"}.get(c.orig.proto, str(c.orig.proto))
        if c.src_nat:
            inside = f"{c.orig.src}:{c.orig.sport}"
            outside = f"{mapped.src}:{mapped.sport}"
            remote = f"{c.orig.dst}:{c.orig.dport}"
            kind = "SNAT"
        else:
            inside = f"{c.reply.src}:{c.reply.sport}"
            outside = f"{c.orig.dst}:{c.orig.dport}"
            remote = f"{c.orig.src}:{c.orig.sport}"
            kind = "DNAT"
        state = c.tcp_state.name if c.orig.proto == 6 else ""
        rows.append((kind, proto, inside, outside, remote, state,
                     f"{max(0, int(c.deadline - now))} s"))
    if not rows:
        raise ValueError(f"{router.name} has no NAT translation in its conntrack table")
    heads = [t(k, lang) for k in ("nat.col.kind", "nat.col.proto", "nat.col.inside",
                                  "nat.col.outside", "nat.col.remote", "nat.col.state",
                                  "nat.col.expires")]
    widths = (0.9, 1.25, 2.45, 2.45, 2.25, 1.9, 1.3)
    height = 1.4 + 0.5 * (len(rows) + 1)
    with style.use_style(lang):
        fig, ax = style.canvas(None, 12.8, height, y_down=True)
        ax.axis("off")
        ax.text(0.2, 0.45, t("nat.table.title", lang, router=router.name), ha="left",
                va="center", fontsize=style.FONT_SIZES["subtitle"], **style.strong(lang))
        x0 = 0.2
        for j, (head, w) in enumerate(zip(heads, widths)):
            ax.add_patch(FancyBboxPatch((x0, 0.9), w - 0.05, 0.45, boxstyle="square,pad=0",
                                        fc=style.TINTS["blue"], ec="white"))
            ax.text(x0 + 0.08, 1.12, head, va="center", fontsize=style.FONT_SIZES["small"],
                    **style.strong(lang))
            for i, row in enumerate(rows):
                y = 1.4 + 0.5 * i
                tint = style.TINTS["grey"] if i % 2 else "white"
                ax.add_patch(FancyBboxPatch((x0, y), w - 0.05, 0.48, boxstyle="square,pad=0",
                                            fc=tint, ec="white"))
                colr = style.color("highlight") if j == 3 else INK
                ax.text(x0 + 0.08, y + 0.24, row[j], va="center",
                        fontsize=style.FONT_SIZES["small"], color=colr, family="monospace"
                        if j in (2, 3, 4) else None)
            x0 += w
    return fig


def port_forward_before_after(before, after, lang: str = "en"):
    """Two panels: the same connection attempt to the public address without and with the
    DNAT rule. ``before``/``after``: `simtcp.natlab.port_forwarding` namespaces."""
    check_lang(lang)
    with style.use_style(lang):
        fig, ax = style.canvas(None, 12.8, 6.4, y_down=True)
        ax.axis("off")
        for k, ns in enumerate((before, after)):
            y0 = 0.3 + 3.1 * k
            title = t("nat.pf.before" if k == 0 else "nat.pf.after", lang)
            ax.text(0.3, y0 + 0.2, title, fontsize=style.FONT_SIZES["subtitle"],
                    **style.strong(lang))
            nodes = ((1.7, t("nat.pf.client", lang), "203.0.113.5"),
                     (6.4, t("nat.pf.router", lang), "203.0.113.1 / 192.168.0.1"),
                     (11.0, t("nat.pf.web", lang), "192.168.0.10:80"))
            for x, name, addr in nodes:
                ax.add_patch(FancyBboxPatch((x - 1.4, y0 + 0.7), 2.8, 0.9,
                                            boxstyle="round,pad=0.05", fc=style.TINTS["sky_blue"],
                                            ec=INK, lw=1))
                ax.text(x, y0 + 1.0, name, ha="center", va="center",
                        fontsize=style.FONT_SIZES["small"], **style.strong(lang))
                ax.text(x, y0 + 1.35, addr, ha="center", va="center",
                        fontsize=style.FONT_SIZES["tiny"])
            ax.add_patch(FancyArrowPatch((3.1, y0 + 1.9), (5.0, y0 + 1.9), arrowstyle="-|>",
                                         mutation_scale=14, color=style.color("syn"), lw=2))
            ax.text(4.0, y0 + 2.2, "SYN → 203.0.113.1:8080", ha="center",
                    fontsize=style.FONT_SIZES["small"])
            if ns.peer is None:
                ax.add_patch(FancyArrowPatch((5.0, y0 + 2.55), (3.1, y0 + 2.55),
                                             arrowstyle="-|>", mutation_scale=14,
                                             color=style.color("rst"), lw=2))
                err = errno.errorcode.get(getattr(ns.error, "errno", None), str(ns.error))
                ax.text(4.0, y0 + 2.85, t("nat.pf.refused", lang, err=err), ha="center",
                        fontsize=style.FONT_SIZES["small"], color=style.color("rst"))
                ax.text(8.7, y0 + 2.2, t("nat.pf.no_rule", lang), ha="center",
                        fontsize=style.FONT_SIZES["small"], color="#777777")
            else:
                ax.add_patch(FancyArrowPatch((7.8, y0 + 1.9), (9.6, y0 + 1.9),
                                             arrowstyle="-|>", mutation_scale=14,
                                             color=style.color("syn"), lw=2))
                ax.text(8.7, y0 + 2.2, "DNAT → 192.168.0.10:80", ha="center",
                        fontsize=style.FONT_SIZES["small"], color=style.color("highlight"))
                ax.text(6.4, y0 + 2.75, "iptables " + ns.rule.replace(" --to-destination",
                                                                     "\n  --to-destination"),
                        ha="center", fontsize=style.FONT_SIZES["tiny"], family="monospace")
                ax.text(11.0, y0 + 2.6, t("nat.pf.accepted", lang, peer=f"{ns.peer[0]}:"
                                          f"{ns.peer[1]}"), ha="center",
                        fontsize=style.FONT_SIZES["small"], color=style.color("server"))
    return fig
