"""One look for every simtcp figure: palette, roles, font sizes, figure size, deterministic save.

Theory of operation: figures are made for two audiences at once — a teacher's 1280×720 slide
and a student's notebook. So the default figure is 12.8 × 7.2 inches at 100 dpi (exactly one
slide), text is never smaller than 10 pt (≈14 px on that slide), and colours come from the
Okabe–Ito palette, which stays distinguishable for the common forms of colour-vision
deficiency (Okabe & Ito, "Color Universal Design", 2008). Colours are given to *roles*
(client, SYN, RST, lost, a state class, …) rather than picked per figure, so a SYN is the
same colour in the ladder diagram, the header diagram and the SYN-flood dashboard.

rcParams are applied with `use_style(lang)`, a context manager around
`matplotlib.rc_context`: nothing global changes, so importing simtcp never alters a
notebook's own plots and never selects a backend (Jupyter's inline backend keeps working).
Figures are built with `matplotlib.figure.Figure` — not pyplot — so a notebook cell that
returns one shows it exactly once and no figure leaks in pyplot's global registry.

Japanese text uses the IPAexGothic font shipped by `matplotlib_fontja`. Importing that
package calls its `japanize()`, which *globally* switches the font family; we import it
inside an `rc_context` so only the side effect we want survives (the font file registered
with the font manager) and select the family only while drawing a lang="ja" figure.

`save(fig, path)` writes SVG and PNG whose bytes depend only on the figure: SVG ids are
salted with a fixed `svg.hashsalt`, the SVG Date and the PNG Software stamp are dropped, and
text is stored as paths (`svg.fonttype = "path"`). "path" rather than "none" because slides
and web pages then show the same glyphs on machines without IPAexGothic installed, and the
file does not change with the viewer's fonts; the cost is larger files, which is fine here.
"""
from __future__ import annotations

import contextlib
import io
import os
from typing import Dict, Iterator, Tuple

import matplotlib
from matplotlib import patheffects
from matplotlib.figure import Figure

from .i18n import check_lang

# --- palette -----------------------------------------------------------------------------
# Okabe–Ito (2008); the names are theirs.
OKABE_ITO: Dict[str, str] = {
    "black": "#000000",
    "orange": "#E69F00",
    "sky_blue": "#56B4E9",
    "bluish_green": "#009E73",
    "yellow": "#F0E442",
    "blue": "#0072B2",
    "vermillion": "#D55E00",
    "reddish_purple": "#CC79A7",
    "grey": "#999999",
}
_O = OKABE_ITO

# What a colour means, for every figure. Hosts and segment kinds are separate families so a
# figure may colour arrows by segment kind and lifelines by host without clashes that matter.
ROLE_COLORS: Dict[str, str] = {
    # hosts
    "client": _O["blue"],
    "server": _O["bluish_green"],
    "attacker": _O["vermillion"],
    # segment kinds
    "syn": _O["orange"],
    "synack": _O["orange"],
    "ack": _O["sky_blue"],
    "data": _O["black"],
    "fin": _O["reddish_purple"],
    "rst": _O["vermillion"],
    "udp": _O["blue"],
    "icmp": _O["bluish_green"],
    "lost": _O["grey"],
    "retransmission": _O["orange"],
    # emphasis in diagrams (a highlighted path, a set flag bit)
    "highlight": _O["vermillion"],
    "muted": "#B0B0B0",
    "ink": "#222222",
}

# Line styles that carry the same meaning without colour (print, projector washing out).
ROLE_LINESTYLES: Dict[str, str] = {
    "lost": (0, (4, 3)),            # dashed: the segment never arrived
    "retransmission": (0, (1, 2)),  # dotted: a copy of something sent before
}

# Light tints (Okabe–Ito hues mixed with white) for filled boxes that carry black text:
# saturated fills behind text hurt readability on a projector.
TINTS: Dict[str, str] = {
    "orange": "#F8DDA6",
    "sky_blue": "#CBE7F8",
    "bluish_green": "#A6DCCB",
    "yellow": "#FAF5B3",
    "blue": "#A6CBE4",
    "vermillion": "#F1C3A6",
    "reddish_purple": "#EFD2E3",
    "grey": "#E6E6E6",
}

# State classes (RFC 9293 §3.3.2): where in a connection's life a state sits.
STATE_CLASSES: Dict[str, Tuple[str, ...]] = {
    "closed": ("CLOSED",),
    "opening": ("LISTEN", "SYN-SENT", "SYN-RECEIVED"),
    "established": ("ESTABLISHED",),
    "active_close": ("FIN-WAIT-1", "FIN-WAIT-2", "CLOSING", "TIME-WAIT"),
    "passive_close": ("CLOSE-WAIT", "LAST-ACK"),
}
STATE_CLASS_COLORS: Dict[str, str] = {
    "closed": TINTS["grey"],
    "opening": TINTS["sky_blue"],
    "established": TINTS["bluish_green"],
    "active_close": TINTS["orange"],
    "passive_close": TINTS["reddish_purple"],
}

# --- sizes -------------------------------------------------------------------------------
SLIDE_SIZE = (12.8, 7.2)   # inches; × 100 dpi = a 1280×720 slide
FONT_SIZES: Dict[str, float] = {
    "title": 20, "subtitle": 16, "label": 14, "body": 13, "small": 11, "tiny": 10,
}
PNG_DPI = 150              # 1920 px wide: crisp on a projector, still small files
SVG_HASHSALT = "simtcp"    # fixed salt → stable ids inside the SVG
CREATOR = "simtcp"

JA_FONT = "IPAexGothic"    # the family matplotlib_fontja registers
# Fallback after the main family: DejaVu ships with matplotlib and covers symbols
# (arrows, ≤, …) that a Japanese font may lack; matplotlib ≥ 3.6 falls back per glyph.
_FAMILY = {"en": ["DejaVu Sans"], "ja": [JA_FONT, "DejaVu Sans"]}

_ja_registered = False


def _register_japanese_font() -> None:
    """Register IPAexGothic with matplotlib's font manager, without its global rc change."""
    global _ja_registered
    if _ja_registered:
        return
    with matplotlib.rc_context():   # undo japanize()'s matplotlib.rc('font', family=…)
        import matplotlib_fontja  # noqa: F401  (registers ipaexg.ttf on import)
    _ja_registered = True


def strong(lang: str, color: str = "black") -> Dict[str, object]:
    """Text keyword arguments for bold text in ``lang``.

    IPAexGothic has no bold face (asking for one logs "findfont: Failed to find font weight
    bold" and draws regular), so for Japanese a thin outline in the text colour thickens
    the strokes instead.
    """
    if check_lang(lang) == "ja":
        return {"fontweight": "normal",
                "path_effects": [patheffects.withStroke(linewidth=0.8, foreground=color)]}
    return {"fontweight": "bold"}


def color(role: str) -> str:
    """The colour for a role (``"client"``, ``"syn"``, ``"lost"``, …); ValueError if unknown."""
    try:
        return ROLE_COLORS[role]
    except KeyError:
        raise ValueError(f"no colour for role {role!r}; roles are: "
                         + ", ".join(sorted(ROLE_COLORS))) from None


def state_class(state: object) -> str:
    """The class of a state ("opening", "established", …); accepts a State or its name."""
    name = str(getattr(state, "value", state))
    for cls, names in STATE_CLASSES.items():
        if name in names:
            return cls
    raise ValueError(f"{name!r} is not an RFC 9293 state name (e.g. 'SYN-SENT')")


def state_color(state: object) -> str:
    """Fill colour of a state's box, by its class."""
    return STATE_CLASS_COLORS[state_class(state)]


def rc(lang: str = "en") -> Dict[str, object]:
    """The rcParams simtcp figures use for ``lang``; `use_style` applies them."""
    check_lang(lang)
    if lang == "ja":
        _register_japanese_font()
    return {
        "font.family": list(_FAMILY[lang]),
        "font.size": FONT_SIZES["body"],
        "axes.titlesize": FONT_SIZES["subtitle"],
        "axes.labelsize": FONT_SIZES["label"],
        "xtick.labelsize": FONT_SIZES["small"],
        "ytick.labelsize": FONT_SIZES["small"],
        "legend.fontsize": FONT_SIZES["small"],
        "figure.titlesize": FONT_SIZES["title"],
        "figure.figsize": SLIDE_SIZE,
        "figure.dpi": 100,
        "figure.facecolor": "white",
        "axes.facecolor": "white",
        "axes.prop_cycle": matplotlib.cycler(color=[_O[k] for k in (
            "blue", "orange", "bluish_green", "vermillion", "reddish_purple", "sky_blue",
            "yellow", "black")]),
        "axes.spines.top": False,
        "axes.spines.right": False,
        "axes.unicode_minus": False,   # U+2212 is missing from some fonts; "-" never is
        "svg.fonttype": "path",
        "svg.hashsalt": SVG_HASHSALT,
        "path.simplify": True,
    }


@contextlib.contextmanager
def use_style(lang: str = "en") -> Iterator[None]:
    """Context manager: simtcp's rcParams (and the Japanese font if lang="ja") inside.

    Text objects capture their font when created, so a figure built inside this block
    renders correctly later, e.g. when Jupyter draws it after the cell finished.
    """
    with matplotlib.rc_context(rc(lang)):
        yield


class SimFigure(Figure):
    """A Figure that shows itself in Jupyter even if pyplot was never imported.

    matplotlib's inline backend registers its PNG printer only once pyplot loads it; until
    then IPython would print ``<Figure size …>``. ``_repr_png_`` fills that gap, and when
    the inline printer is registered it takes precedence (IPython prefers type printers),
    so the figure is never shown twice.
    """

    def _repr_png_(self) -> bytes:
        buf = io.BytesIO()
        self.savefig(buf, format="png", dpi=100, metadata={"Software": None})
        return buf.getvalue()


def figure(width: float = SLIDE_SIZE[0], height: float = SLIDE_SIZE[1]) -> Figure:
    """A new white Figure of ``width`` × ``height`` inches (default: one 1280×720 slide).

    Not registered with pyplot: returning it from a notebook cell displays it once.
    """
    if not (width > 0 and height > 0):
        raise ValueError(f"figure size must be positive inches, got {width} × {height}")
    return SimFigure(figsize=(width, height), dpi=100, facecolor="white")


def canvas(ax, width: float, height: float, y_down: bool = False):
    """(fig, ax) for a diagram drawn in inch coordinates on a ``width`` × ``height`` area:
    a new slide-style figure when ``ax`` is None, else the given axes. ``y_down`` puts y = 0
    at the top, like the RFCs' ASCII art and ladder diagrams."""
    if ax is None:
        fig = figure(width, height)
        ax = fig.add_axes((0, 0, 1, 1))
    ax.set_xlim(0, width)
    ax.set_ylim((height, 0) if y_down else (0, height))
    ax.set_aspect("equal")
    return ax.figure, ax


def save(fig: Figure, path_without_ext: str | os.PathLike) -> Tuple[str, str]:
    """Write ``<path>.svg`` and ``<path>.png``; return the two file names.

    The bytes depend only on the figure (the same figure saved twice, or rebuilt in another
    process, gives identical files), so regenerated course figures do not show up as
    changed in version control unless the picture changed.
    """
    base = os.fspath(path_without_ext)
    if base.lower().endswith((".svg", ".png")):
        raise ValueError(f"give the path without extension (got {base!r}); save() writes "
                         "both .svg and .png")
    parent = os.path.dirname(base)
    if parent:
        os.makedirs(parent, exist_ok=True)
    svg, png = base + ".svg", base + ".png"
    with matplotlib.rc_context({"svg.hashsalt": SVG_HASHSALT, "svg.fonttype": "path"}):
        # Date=None: no timestamp in the SVG <metadata>; SOURCE_DATE_EPOCH is then irrelevant.
        fig.savefig(svg, format="svg", metadata={"Date": None, "Creator": CREATOR})
        # Software=None drops the "Matplotlib version x.y" tEXt chunk (changes on upgrade).
        fig.savefig(png, format="png", dpi=PNG_DPI, metadata={"Software": None})
    return svg, png
