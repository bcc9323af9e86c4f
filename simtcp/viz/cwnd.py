"""The congestion window over time: Reno and CUBIC on the same lossy path.

Theory of operation: `cwnd_figure` runs `simtcp.scenarios.cwnd_over_time` once per
algorithm and draws one panel each, on the same axes: the congestion window (segments) as a
solid line, ssthresh dashed, and a marker on the time axis for every fast retransmit (the
start of a PRR recovery), tail loss probe and retransmission timeout. Reno's saw-tooth
(halve, then +1 segment per RTT) sits above CUBIC's curve — concave up to the window of
the last loss, flat there, convex beyond (RFC 9438) — so the difference reads at a glance.
Words come from the `i18n` catalogue, colours from `style`.
"""
from __future__ import annotations

from functools import lru_cache

from matplotlib.lines import Line2D

from .. import scenarios
from . import style
from .i18n import check_lang, t

_O = style.OKABE_ITO
_COLORS = {"reno": _O["blue"], "cubic": _O["vermillion"]}
_MARKS = (("fast_retransmit", "v", _O["orange"]), ("tail_loss_probe", "o", _O["reddish_purple"]),
          ("rto", "X", _O["black"]))


@lru_cache(maxsize=4)
def _runs(algorithms, scenario):
    """The runs behind a figure (deterministic), kept so the other language reuses them."""
    return [scenarios.cwnd_over_time(a, **dict(scenario)) for a in algorithms]


def cwnd_figure(lang: str = "en", algorithms=("reno", "cubic"), **scenario):
    """A slide-sized figure: one panel per congestion control, cwnd and ssthresh over time."""
    check_lang(lang)
    runs = _runs(tuple(algorithms), tuple(sorted(scenario.items())))
    top = max(max(r["cwnd"]) for r in runs) * 1.12
    with style.use_style(lang):
        fig = style.figure()
        axes = fig.subplots(len(runs), 1, sharex=True, sharey=True)
        for ax, run in zip(axes, runs):
            name = run["congestion"]
            color = _COLORS.get(name, _O["black"])
            ax.plot(run["t"], run["cwnd"], color=color, lw=2.0)
            ss = [(x, y) for x, y in zip(run["t"], run["ssthresh"]) if y is not None]
            if ss:
                ax.plot([x for x, _ in ss], [y for _, y in ss], color=color, lw=1.2, ls="--")
            for key, marker, mcolor in _MARKS:
                ax.plot(run[key], [top * 0.04] * len(run[key]), ls="none", marker=marker,
                        color=mcolor, ms=7, clip_on=False)
            mbytes = run["delivered"] / 1e6
            ax.set_title(t("cwnd.panel", lang, name=t(f"cwnd.name.{name}", lang), mb=mbytes),
                         loc="left", fontsize=15, fontweight="bold")
            ax.set_ylabel(t("cwnd.ylabel", lang))
            ax.set_ylim(0, top)
            ax.grid(axis="y", color="#DDDDDD", lw=0.8)
            for side in ("top", "right"):
                ax.spines[side].set_visible(False)
        axes[-1].set_xlabel(t("cwnd.xlabel", lang))
        axes[-1].set_xlim(0, max(runs[0]["t"]))
        r0 = runs[0]
        fig.suptitle(t("cwnd.title", lang, loss=r0["loss"] * 100, rtt=r0["rtt"] * 1000),
                     x=0.07, ha="left", fontsize=18, fontweight="bold")
        legend = [Line2D([], [], color="#555555", lw=2.0, label=t("cwnd.legend.cwnd", lang)),
                  Line2D([], [], color="#555555", lw=1.2, ls="--",
                         label=t("cwnd.legend.ssthresh", lang))]
        legend += [Line2D([], [], ls="none", marker=m, color=c, ms=7,
                          label=t(f"cwnd.legend.{k}", lang)) for k, m, c in _MARKS]
        fig.legend(handles=legend, loc="upper right", ncols=5, frameon=False, fontsize=11,
                   bbox_to_anchor=(0.98, 0.955))
        fig.subplots_adjust(left=0.07, right=0.98, top=0.84, bottom=0.1, hspace=0.35)
    return fig
