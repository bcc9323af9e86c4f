"""The 16-bit port space as a picture: IANA ranges, well-known services, OS ephemeral ranges.

Theory of operation: the lower band is the whole space 0–65535 drawn to scale, coloured by
the RFC 6335 §6 class (reserved 0, system 1–1023, user 1024–49151, dynamic 49152–65535),
with each operating system's ephemeral range as a bar under it — so students see at once
that Linux (32768–60999) and FreeBSD (10000–65535) do not follow IANA's advice, and that
the well-known ports are a sliver of 1.6 %. Because that sliver is too thin to mark services
in, the upper band repeats 0–1023 enlarged (×64), joined to the sliver by zoom lines.

Service labels are spread apart horizontally (they keep their order, so leader lines never
cross) and joined to their exact port by a leader line: ports 20, 21, 22, 23 and 25 are
0.06 inch apart on the zoomed band, far less than a label's width. Every marked service
carries a gid ``service-<port>`` and every in-use tick ``in-use-<port>`` so tests and
notebooks can find them.

Ranges and services come from `simtcp.ports` (SEED_PORTS, classify) and the OS profiles'
own sysctl defaults (`simtcp.profiles.Sysctl.ephemeral_range`), so the figure cannot drift
from what the simulator does.
"""
from __future__ import annotations

from typing import Iterable, List, Mapping, Optional, Sequence, Tuple, Union

import matplotlib
from matplotlib.font_manager import FontProperties
from matplotlib.lines import Line2D
from matplotlib.patches import ConnectionPatch, Rectangle
from matplotlib.textpath import TextToPath

from ..ports import SEED_PORTS, PortClass, classify
from ..profiles import Sysctl
from . import style
from .i18n import check_lang, t

# Service names as students know them; IANA's registry names some ports differently
# (53 "domain", 3389 "ms-wbt-server", 5900 "rfb").
_FRIENDLY = {"domain": "dns", "ms-wbt-server": "rdp", "rfb": "vnc"}

OS_ORDER = ("freebsd", "linux", "windows", "macos")   # FreeBSD first: its bar starts lowest

_CLASS_FILL = {
    PortClass.RESERVED: "#555555",
    PortClass.SYSTEM: style.TINTS["orange"],
    PortClass.USER: style.TINTS["sky_blue"],
    PortClass.DYNAMIC: style.TINTS["bluish_green"],
}
_CLASS_KEY = {PortClass.RESERVED: "port.reserved", PortClass.SYSTEM: "port.system",
              PortClass.USER: "port.user", PortClass.DYNAMIC: "port.dynamic"}

ServicesArg = Union[Iterable[object], Mapping[int, str]]


def _services(services: Optional[ServicesArg]) -> List[Tuple[int, str]]:
    """Normalise SeedPort objects, {port: name}, (port, name) pairs or bare ints."""
    if services is None:
        return []
    items = services.items() if isinstance(services, Mapping) else services
    out = {}
    for s in items:
        if hasattr(s, "port"):
            port, name = s.port, getattr(s, "name", "")
        elif isinstance(s, tuple):
            port, name = s
        else:
            port, name = s, ""
        classify(port)          # ValueError/OverflowError with the ports module's message
        out[int(port)] = _FRIENDLY.get(str(name), str(name))
    return sorted(out.items())


def _os_ranges(os_ranges: Union[bool, Mapping[str, Tuple[int, int]]]
               ) -> List[Tuple[str, int, int]]:
    if os_ranges is False or os_ranges is None:
        return []
    if os_ranges is True:
        return [(t("os." + name, "en"), *Sysctl(name).ephemeral_range()) for name in OS_ORDER]
    out = []
    for label, rng in os_ranges.items():
        lo, hi = rng
        classify(lo), classify(hi)
        if lo > hi:
            raise ValueError(f"ephemeral range for {label!r} is {lo}–{hi}: the first port "
                             "must not be above the last")
        out.append((str(label), int(lo), int(hi)))
    return out


def _spread(want: Sequence[float], width: Sequence[float], lo: float, hi: float,
            gap: float) -> List[float]:
    """Centres near ``want`` (sorted), in order, with labels ``gap`` apart, within [lo, hi]."""
    n = len(want)
    x = list(want)
    for i in range(n):                        # push right so neighbours do not overlap
        left = lo + width[i] / 2 if i == 0 else x[i - 1] + (width[i - 1] + width[i]) / 2 + gap
        x[i] = max(x[i], left)
    for i in reversed(range(n)):              # then pull back inside the right edge
        right = hi - width[i] / 2 if i == n - 1 else x[i + 1] - (width[i + 1] + width[i]) / 2 - gap
        x[i] = min(x[i], right)
    return x


class _Measure:
    def __init__(self) -> None:
        self._ttp = TextToPath()
        self._family = list(matplotlib.rcParams["font.family"])

    def width_in(self, s: str, pt: float) -> float:
        prop = FontProperties(family=self._family, size=pt)
        return max(self._ttp.get_text_width_height_descent(line, prop, ismath=False)[0]
                   for line in s.split("\n")) / 72


def _band(ax, lo: int, hi: int, y0: float, y1: float) -> None:
    """Colour [lo, hi] by IANA class between y0 and y1 (port p covers [p, p+1))."""
    for cls in PortClass:
        a, b = max(lo, cls.low), min(hi, cls.high)
        if a <= b:
            ax.add_patch(Rectangle((a, y0), b + 1 - a, y1 - y0, facecolor=_CLASS_FILL[cls],
                                   edgecolor="none", gid=f"class-{cls.value}"))
    ax.add_patch(Rectangle((lo, y0), hi + 1 - lo, y1 - y0, facecolor="none",
                           edgecolor=style.ROLE_COLORS["ink"], linewidth=1.2))


def _callouts(ax, ports: List[Tuple[int, str]], xlim: Tuple[float, float], ax_w_in: float,
              y_from: float, y_label: float, up: bool, meas: _Measure, pt: float,
              knee: float) -> None:
    """Service labels spread along y_label, each joined to its port at y_from."""
    if not ports:
        return
    units_per_in = (xlim[1] - xlim[0]) / ax_w_in
    texts = [f"{p}\n{name}" if name else str(p) for p, name in ports]
    widths = [meas.width_in(s, pt) * units_per_in for s in texts]
    xs = _spread([p + 0.5 for p, _ in ports], widths, xlim[0], xlim[1], 0.22 * units_per_in)
    sign = 1 if up else -1
    for (port, _), s, x in zip(ports, texts, xs):
        px = port + 0.5
        ax.add_line(Line2D([px, px, x], [y_from, knee, y_label], color="#333333",
                           linewidth=1.0, solid_capstyle="butt"))
        ax.add_line(Line2D([px], [y_from], marker="v" if up else "^", markersize=4.5,
                           color=style.ROLE_COLORS["ink"], linestyle="none"))
        ax.text(x, y_label + sign * 0.04, s, ha="center", va="bottom" if up else "top",
                fontsize=pt, linespacing=1.05, gid=f"service-{port}")


def port_space_map(lang: str = "en", os_ranges: Union[bool, Mapping[str, Tuple[int, int]]] = True,
                   services: Optional[ServicesArg] = SEED_PORTS,
                   in_use: Optional[Iterable[int]] = None, ax=None):
    """Draw the port number space; return the Figure.

    ``os_ranges``: True for the Linux, Windows, macOS and FreeBSD defaults (from the OS
    profiles), False for none, or ``{"label": (first, last)}`` — e.g. a host's changed
    ``ip_local_port_range``. ``services``: SeedPort objects (default: the course's seed
    list), ``{port: name}``, ``(port, name)`` pairs or bare port numbers. ``in_use``: a Host (its ports in use now) or ports
    to tick (for example the source ports a run allocated). With ``ax`` the map is drawn
    inside that Axes' area (the Axes itself is hidden).
    """
    check_lang(lang)
    svc = _services(services)
    ranges = _os_ranges(os_ranges)
    if hasattr(in_use, "stack"):        # a Host: the local ports its sockets hold right now
        st = in_use.stack
        in_use = {port for _ip, port in st.listeners} | set(st.by_port) | set(st.bindings)
    used = sorted({int(p) for p in (in_use or ())})
    for p in used:
        classify(p)

    S = style.FONT_SIZES
    ink = style.ROLE_COLORS["ink"]
    mark = style.ROLE_COLORS["highlight"]
    with style.use_style(lang):
        if ax is None:
            fig = style.figure()
            ax = fig.add_axes((0, 0, 1, 1))
        fig = ax.figure
        ax.set_axis_off()
        pos = ax.get_position()
        W = pos.width * fig.get_figwidth()
        H = pos.height * fig.get_figheight()
        meas = _Measure()

        # Vertical plan in inches from the top of the area: title, zoomed band with its
        # callouts, zoom lines, full band, OS bars, callouts of ports ≥ 1024, axis ticks.
        low = [(p, n) for p, n in svc if p < 1024]
        high = [(p, n) for p, n in svc if p >= 1024]
        nos = len(ranges)
        row = 0.34
        title_h, zoom_call_h, zoom_h, gap_h = 0.55, 0.85, 0.55, 0.55
        full_h, high_call_h, tick_h = 0.95, (0.75 if high else 0.1), 0.5
        os_h = (nos * row + 0.35) if nos else 0.0
        need = title_h + zoom_call_h + zoom_h + gap_h + full_h + os_h + high_call_h + tick_h
        scale = H / need          # stretch or squeeze the plan to the area we were given
        lm, rm = 1.25, 0.35       # left margin holds the OS names
        inner_w = W - lm - rm

        def box(top_in: float, h_in: float):
            return ax.inset_axes((lm / W, 1 - (top_in + h_in) * scale / H, inner_w / W,
                                  h_in * scale / H))

        ax.text(0.5 * lm / W, 1 - 0.5 * title_h * scale / H, t("portmap.title", lang),
                transform=ax.transAxes, ha="left", va="center", fontsize=S["title"],
                **style.strong(lang))

        # --- zoomed band 0–1023 ------------------------------------------------------------
        top = title_h
        zax = box(top, zoom_call_h + zoom_h)
        zax.set_xlim(0, 1024)
        zoom_total = zoom_call_h + zoom_h
        zax.set_ylim(0, zoom_total / zoom_h)     # band is y∈[0, 1]
        zax.set_axis_off()
        _band(zax, 0, 1023, 0, 1)
        zax.text(512, 0.5, t("portmap.zoom", lang), ha="center", va="center",
                 fontsize=S["label"], **style.strong(lang))
        # Port 0 is 1/1024 of this band: name it in the margin beside its end.
        zax.text(-0.1 * 1024 / inner_w, 0.5, t("portmap.port0", lang), ha="right",
                 va="center", fontsize=S["tiny"], color="#333333", linespacing=1.1)
        y_lab = zoom_total / zoom_h - 0.62
        _callouts(zax, low, (0, 1024), inner_w, 1.0, y_lab, True, meas, S["small"],
                  knee=1.0 + 0.25 * (y_lab - 1.0))
        for p in used:
            if p < 1024:
                zax.add_line(Line2D([p + 0.5] * 2, [0, 0.3], color=mark, linewidth=2.0,
                                    gid=f"in-use-{p}"))

        # --- full band 0–65535 with OS bars ----------------------------------------------
        top += zoom_total + gap_h
        rest = full_h + os_h + high_call_h
        fax = box(top, rest)
        fax.set_xlim(0, 65536)
        # y in units of the full band's height, band at [0, 1], everything else below 0.
        fax.set_ylim(-(rest - full_h) / full_h, 1)
        for side in ("top", "right", "left"):
            fax.spines[side].set_visible(False)
        fax.spines["bottom"].set_position(("axes", 0))
        fax.set_yticks([])
        # (1024 is named on the band; as a tick it would collide with 0 on this scale)
        ticks = [0, 10000, 32768, 49152, 60999, 65535] if ranges else [0, 16384, 32768,
                                                                         49152, 65535]
        fax.set_xticks([tk + 0.5 for tk in ticks])
        fax.set_xticklabels([str(tk) for tk in ticks])
        fax.set_xlabel(t("portmap.xlabel", lang))
        _band(fax, 0, 65535, 0, 1)
        fax.text(0.5 * (1024 + 49152), 0.62, t("port.user", lang), ha="center",
                 va="center", fontsize=S["label"], **style.strong(lang))
        fax.text(0.5 * (1024 + 49152), 0.28, "1024–49151", ha="center", va="center",
                 fontsize=S["body"])
        dyn = t("port.dynamic", lang).replace(" (", "\n(").replace(" （", "\n（")
        dyn_pt = S["body"] if meas.width_in(dyn, S["body"]) < inner_w * 16384 / 65536 - 0.1 \
            else S["small"]
        fax.text(0.5 * (49152 + 65536), 0.5, dyn + "\n49152–65535", ha="center",
                 va="center", fontsize=dyn_pt, linespacing=1.1)
        # The sliver 0–1023 gets a frame, joined to the zoomed band by two zoom lines.
        fax.add_patch(Rectangle((0, 0), 1024, 1, facecolor="none", edgecolor="black",
                                linewidth=1.6))
        for xa, xb in ((0, 0), (1024, 1024)):
            fig.add_artist(ConnectionPatch((xa, 1), (xb, 0), coordsA=fax.transData,
                                           coordsB=zax.transData, color="#555555",
                                           linewidth=1.0, linestyle=(0, (4, 3))))
        for p in used:
            if p >= 1024:     # the zoomed band shows the others legibly
                fax.add_line(Line2D([p + 0.5] * 2, [0, 0.16], color=mark, linewidth=2.0,
                                    gid=f"in-use-{p}"))

        # OS ephemeral ranges: one bar per OS under the band, IANA's boundary as a guide.
        rh = row / full_h
        y = -0.35 / full_h if ranges else 0.0     # no OS bars: callouts start at the band
        if ranges:
            fax.text(65536, y + 0.05 / full_h, t("portmap.ephemeral_by_os", lang),
                     ha="right", va="bottom", fontsize=S["small"], color="#333333")
        blue = style.OKABE_ITO["blue"]
        for label, lo, hi in ranges:
            y -= rh
            fax.add_patch(Rectangle((lo, y + 0.12 * rh), hi + 1 - lo, 0.76 * rh,
                                    facecolor=blue, edgecolor="none", gid=f"os-{label}"))
            fax.text(0.5 * (lo + hi + 1), y + 0.5 * rh, f"{lo}–{hi}", ha="center",
                     va="center", fontsize=S["small"], color="white",
                     **style.strong(lang, "white"))
            fax.text(-1200, y + 0.5 * rh, label, ha="right", va="center",
                     fontsize=S["body"])
        if ranges:
            fax.add_line(Line2D([49152, 49152], [0, y], color=ink, linewidth=1.0,
                                linestyle=(0, (2, 2))))
        # Services at or above 1024: leaders go down past the OS bars to spread labels.
        y_label = y - 0.25 / full_h
        # The leader runs straight down past the bars (ports < 10000 clear FreeBSD's bar)
        # and bends only below them.
        _callouts(fax, high, (0, 65536), inner_w, 0.0, y_label - 0.02, False, meas,
                  S["small"], knee=y + 0.05 / full_h)

        if used:      # key in the title row, where nothing else is
            handle = Line2D([], [], color=mark, linewidth=2.0)
            ax.legend([handle], [t("portmap.in_use", lang)], loc="center right",
                      bbox_to_anchor=(1 - rm / W, 1 - 0.5 * title_h * scale / H),
                      frameon=False, fontsize=S["small"], borderaxespad=0)
    return fig


__all__ = ["port_space_map", "OS_ORDER"]
