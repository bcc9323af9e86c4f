"""A port-state map: one tile per scanned port, coloured by the state nmap reported.

Theory of operation: `port_state_map(report)` takes a `simtcp.tools.nmap.ScanReport` (or
one `HostReport`) and draws every scanned port as a tile — the port number, the service name
and the reason nmap gave (syn-ack, reset, no-response, port-unreach …) — in rows by
protocol, filled with the state's colour and marked with a hatch pattern too, so the six
states of nmap's reference guide ("Port Scanning Basics": open, closed, filtered,
unfiltered, open|filtered, closed|filtered) stay apart in grey print and for colour-blind
readers. The legend says in one line what each state means — what nmap *saw*, not what the
port "is": a filtered port may hide a running service, as the picture's firewall shows.
Only states that occur are listed. Drawn in inch coordinates on one slide (12.8 × 7.2 in).
"""
from __future__ import annotations

from typing import List

from matplotlib.patches import Rectangle

from . import style
from .i18n import check_lang, t

__all__ = ["port_state_map", "STATE_STYLES"]

# state: (fill, hatch) — Okabe–Ito tints; hatches carry the meaning without colour
STATE_STYLES = {
    "open": (style.TINTS["bluish_green"], ""),
    "closed": (style.TINTS["grey"], ""),
    "filtered": (style.TINTS["vermillion"], "///"),
    "unfiltered": (style.TINTS["sky_blue"], ""),
    "open|filtered": (style.TINTS["yellow"], ".."),
    "closed|filtered": (style.TINTS["reddish_purple"], "\\\\\\"),
}
_ORDER = tuple(STATE_STYLES)
_W, _H, _GAP = 1.14, 0.95, 0.10         # tile size and gap (inches)
_LEFT, _TOP = 1.05, 1.15


def port_state_map(report, *, lang: str = "en", title=None):
    """Draw the ports of the first host of ``report`` (module docstring); returns a Figure."""
    check_lang(lang)
    host = report.hosts[0] if hasattr(report, "hosts") else report
    if not host.ports:
        raise ValueError(f"nothing to draw: the report for {host.ip} has no scanned ports "
                         "(was the host down?)")
    rows: List[tuple] = []
    for proto in ("tcp", "udp"):
        ports = [p for p in host.ports if p.proto == proto]
        per_row = 9
        for i in range(0, len(ports), per_row):
            rows.append((proto if i == 0 else "", ports[i:i + per_row]))
    width, height = style.SLIDE_SIZE
    with style.use_style(lang):
        fig, ax = style.canvas(None, width, height, y_down=True)
        ax.set_axis_off()
        fs = style.FONT_SIZES
        ax.text(width / 2, 0.45, title if title is not None else
                t("scanmap.title", lang, target=host.target if host.target == host.ip
                  else f"{host.target} ({host.ip})"),
                ha="center", va="center", fontsize=fs["title"], **style.strong(lang))
        y = _TOP
        for label, ports in rows:
            if label:
                ax.text(_LEFT - 0.2, y + _H / 2, label.upper(), ha="right", va="center",
                        fontsize=fs["label"], **style.strong(lang))
            for k, p in enumerate(ports):
                x = _LEFT + k * (_W + _GAP)
                fill, hatch = STATE_STYLES.get(p.state, ("white", ""))
                ax.add_patch(Rectangle((x, y), _W, _H, facecolor=fill, hatch=hatch,
                                       edgecolor="#555555", linewidth=1.0,
                                       gid=f"port-{p.proto}-{p.port}"))
                ax.text(x + _W / 2, y + 0.27, str(p.port), ha="center", va="center",
                        fontsize=fs["label"], **style.strong(lang),
                        bbox=dict(boxstyle="round,pad=0.12", facecolor="white",
                                  edgecolor="none", alpha=0.9))
                ax.text(x + _W / 2, y + 0.57, _short(p.service, 12), ha="center",
                        va="center", fontsize=fs["tiny"],
                        bbox=dict(boxstyle="round,pad=0.08", facecolor="white",
                                  edgecolor="none", alpha=0.85))
                ax.text(x + _W / 2, y + 0.80, _short(p.reason, 13), ha="center",
                        va="center", fontsize=fs["tiny"], color="#444444",
                        bbox=dict(boxstyle="round,pad=0.08", facecolor="white",
                                  edgecolor="none", alpha=0.85))
            y += _H + _GAP + (0.2 if not label else 0.0)
        y += 0.25
        seen = [s for s in _ORDER if any(p.state == s for p in host.ports)]
        ax.text(_LEFT, y, t("scanmap.legend", lang), ha="left", va="center",
                fontsize=fs["body"], **style.strong(lang))
        y += 0.38
        for state in seen:
            fill, hatch = STATE_STYLES[state]
            ax.add_patch(Rectangle((_LEFT, y - 0.15), 0.5, 0.3, facecolor=fill, hatch=hatch,
                                   edgecolor="#555555", linewidth=1.0, gid=f"legend-{state}"))
            count = sum(p.state == state for p in host.ports)
            ax.text(_LEFT + 0.65, y, f"{state} ({count})", ha="left", va="center",
                    fontsize=fs["body"], **style.strong(lang))
            ax.text(_LEFT + 2.75, y, t(f"scanmap.{state}", lang), ha="left", va="center",
                    fontsize=fs["small"])
            y += 0.36
        ax.text(width - 0.3, height - 0.2, t("scanmap.footer", lang), ha="right",
                va="center", fontsize=fs["tiny"], color="#555555")
    return fig


def _short(text: str, n: int) -> str:
    return text if len(text) <= n else text[:n - 1] + "\u2026"
