"""SYN-flood dashboards: what a flood does to a listener, and what each defence changes.

Theory of operation: a `simtcp.tools.flood.FloodRun` carries a time series sampled from the
server during a run. `flood_dashboard` draws one run as three stacked panels on a shared
time axis, read top to bottom as cause → effect:

1. the SYN queue — half-open requests against the queue's capacity (and the accept queue),
   with the moment it fills and the moment SYN cookies start marked;
2. per-second rates — attack SYNs sent, SYNs the server dropped (queue full, or the rate
   limiter), SYN-ACKs carrying a cookie, SYN-ACK retransmissions;
3. the legitimate clients — the share of attempts that connected (over a sliding window of
   start times) and every single attempt as a marker: its handshake time if it connected,
   a cross if it failed.

The flood's interval is shaded in every panel. `compare_runs` puts several runs (different
defences, same flood) on the same axes: legitimate success on top, SYN-queue occupancy
below. `flood_band` summarises a `simtcp.sweep` of the same flood over many seeds: per
defence, the median share of legitimate clients served over time and the band from the
lowest to the highest seed. Colours come from `style` roles (the attacker is vermillion everywhere, SYNs orange,
the server green, clients blue) and every word from the `i18n` catalogue.
"""
from __future__ import annotations

import math
from typing import Optional, Sequence

from matplotlib.lines import Line2D
from matplotlib.ticker import FixedLocator, FuncFormatter, NullLocator

from . import style
from .i18n import check_lang, t

_O = style.OKABE_ITO
_FLOOD_TINT = "#FBE3D6"          # vermillion tint for the flood interval
_RUN_COLORS = (_O["vermillion"], _O["bluish_green"], _O["blue"], _O["reddish_purple"],
               _O["orange"], _O["black"])
# bands are translucent: hues far from the flood's vermillion tint, so both stay readable
_BAND_COLORS = (_O["blue"], _O["bluish_green"], _O["reddish_purple"], _O["black"])
_RUN_STYLES = ("-", "-", (0, (4, 2)), (0, (1, 1.5)), "-.", (0, (3, 1, 1, 1)))


def _source(run, lang: str) -> str:
    spoof = run.settings["spoof"]
    if spoof is None:
        return t("flood.source.single", lang, ip=run.attacker.ip)
    if spoof == "random":
        return t("flood.source.random", lang)
    if isinstance(spoof, str):
        return t("flood.source.prefix", lang, prefix=spoof)
    return t("flood.source.list", lang, n=len(spoof))


def run_label(run, lang: str = "en") -> str:
    """A short name for a run's defence: "SYN cookies off", "… + SYN limit 10/s per source"."""
    check_lang(lang)
    base = t(f"flood.label.cookies{run.settings['syncookies']}", lang)
    for key, name in (("synack_retries", "tcp_synack_retries"),
                      ("tcp_max_syn_backlog", "tcp_max_syn_backlog")):
        if run.settings.get(key) is not None:
            base += f"\n+ {name}={run.settings[key]}"
    if run.settings.get("backlog") not in (None, 128):
        base += "\n+ " + t("flood.backlog", lang, n=run.settings["backlog"])
    if run.limiter is not None:
        return t("flood.label.ratelimit", lang, base=base, rate=run.limiter.limiter.rate)
    return base


def _defence_line(run, lang: str) -> str:
    parts = [t(f"flood.label.cookies{run.settings['syncookies']}", lang)
             + f" (tcp_syncookies={run.settings['syncookies']})",
             t("flood.backlog", lang, n=run.settings["backlog"])]
    for key in ("tcp_max_syn_backlog", "synack_retries"):
        if run.settings[key] is not None:
            parts.append(f"{'tcp_' if key == 'synack_retries' else ''}{key}={run.settings[key]}")
    return ",  ".join(parts)


def _shade_flood(ax, run, label: Optional[str] = None) -> None:
    f = run.flood
    ax.axvspan(f.start_time, f.start_time + f.duration, color=_FLOOD_TINT, zorder=0, lw=0,
               label=label)


def _legend(ax, fig, handles=None, labels=None) -> None:
    """Legends in one column right of the panels, all starting at the same x."""
    pos = ax.get_position()
    kw = dict(loc="upper left", bbox_to_anchor=(0.725, pos.y1), bbox_transform=fig.transFigure,
              frameon=False, borderaxespad=0)
    if handles is None:
        ax.legend(**kw)
    else:
        ax.legend(handles, labels, **kw)


def _rate(s, name: str, step: int):
    """Per-second rate of cumulative series ``name`` over ``step`` samples, as a step curve."""
    ys, ts, out = getattr(s, name), s.t, []
    for i in range(len(ts)):
        j = max(0, (i - 1) // step * step)
        k = min(len(ts) - 1, j + step)
        out.append((ys[k] - ys[j]) / (ts[k] - ts[j]) if ts[k] > ts[j] else 0.0)
    return out


def _panel_title(ax, text: str, lang: str) -> None:
    ax.set_title(text, loc="left", fontsize=style.FONT_SIZES["body"], pad=4,
                 **style.strong(lang))


def _check_run(run) -> None:
    if not hasattr(run, "series") or not hasattr(run, "flood"):
        raise ValueError(f"expected a FloodRun from simtcp.tools.flood.run_flood_scenario, "
                         f"got {type(run).__name__}")
    if len(run.series) < 2:
        raise ValueError("the run has fewer than 2 samples; run it longer or sample more often")


def _split(ax, fig, heights, gap_in=0.55):
    """Stack len(heights) figure Axes inside ``ax``'s area (top to bottom), sharing x;
    ``gap_in`` inches between panels leaves room for each panel's title."""
    pos = ax.get_position()
    gap = gap_in / fig.get_figheight()
    unit = (pos.height - gap * (len(heights) - 1)) / sum(heights)
    out, top = [], pos.y1
    for h in heights:
        a = fig.add_axes((pos.x0, top - h * unit, pos.width, h * unit),
                         sharex=out[0] if out else None)
        out.append(a)
        top -= h * unit + gap
    return out


def flood_dashboard(run, lang: str = "en", ax=None):
    """Draw one `FloodRun` as a three-panel dashboard (see module docstring); return the Figure.

    With ``ax`` the dashboard fills that Axes' area (the Axes itself is hidden), so it can
    sit inside a larger figure.
    """
    check_lang(lang)
    _check_run(run)
    s = run.series
    S = style.FONT_SIZES
    ink = style.ROLE_COLORS["ink"]
    with style.use_style(lang):
        if ax is None:
            fig = style.figure()
            ax = fig.add_axes((0.075, 0.115, 0.585, 0.715))
        fig = ax.figure
        ax.set_axis_off()
        pos = ax.get_position()           # titles and footer sit relative to this area
        q_ax, r_ax, l_ax = _split(ax, fig, (3.0, 2.2, 2.4))
        f = run.flood
        fig.text(pos.x0, pos.y1 + 0.135, t("flood.title", lang, rate=f.rate,
                                           source=_source(run, lang)),
                 ha="left", va="top", fontsize=S["title"], **style.strong(lang))
        fig.text(pos.x0, pos.y1 + 0.075, _defence_line(run, lang), ha="left", va="top",
                 fontsize=S["subtitle"], color=ink)

        # --- 1. SYN queue --------------------------------------------------------------
        _shade_flood(q_ax, run, t("flood.flood_span", lang))
        cap = s.syn_capacity[-1]
        q_ax.fill_between(s.t, s.syn_queue, step="post", color=style.TINTS["orange"],
                          zorder=1)
        q_ax.step(s.t, s.syn_queue, where="post", color=style.color("syn"), lw=2,
                  label=t("flood.syn_queue", lang), zorder=3)
        q_ax.step(s.t, s.syn_capacity, where="post", color=ink, lw=1.5, ls=(0, (5, 3)),
                  label=t("flood.capacity", lang, n=cap), zorder=2)
        q_ax.step(s.t, s.accept_queue, where="post", color=style.color("server"), lw=2,
                  label=t("flood.accept_queue", lang), zorder=3)
        q_ax.set_ylim(0, max(cap, max(s.syn_queue), max(s.accept_queue)) * 1.3)
        q_ax.set_ylabel(t("flood.connections", lang))
        _panel_title(q_ax, t("flood.panel.queue", lang), lang)
        sat, ck = run.tap.saturated_at, run.tap.first_cookie_at
        if sat is not None:
            q_ax.annotate(t("flood.saturated", lang, t=sat), xy=(sat, cap),
                          xytext=(sat + 0.04 * s.t[-1], cap * 1.17), fontsize=S["small"],
                          va="center", arrowprops=dict(arrowstyle="->", color=ink, lw=1.2))
        if ck is not None:
            for a in (q_ax, r_ax, l_ax):
                a.axvline(ck, color=style.color("server"), lw=1.5, ls=(0, (1, 1.5)), zorder=4)
            q_ax.text(ck, cap * 0.45, " " + t("flood.cookies_start", lang, t=ck),
                      color=style.color("server"), fontsize=S["small"], ha="left",
                      va="center", bbox=dict(fc="white", ec="none", alpha=0.85, pad=1))
        _legend(q_ax, fig)

        # --- 2. rates ------------------------------------------------------------------
        _shade_flood(r_ax, run)
        lines = [("attack_sent", "flood.attack_syns", style.color("attacker"), "-"),
                 ("listen_drops", "flood.syn_dropped", _O["grey"], (0, (5, 2))),
                 ("cookies_sent", "flood.cookies_sent", style.color("server"), "-"),
                 ("synack_retrans", "flood.synack_retrans", style.color("syn"), (0, (1, 1.5)))]
        if run.limiter is not None:
            lines.insert(2, ("ratelimit_dropped", "flood.ratelimit_dropped", _O["black"],
                             (0, (3, 1, 1, 1))))
        top = 1.0
        step = max(1, int(round(0.5 / run.settings["sample_every"])))
        for name, key, colour, ls in lines:
            y = _rate(s, name, step)
            top = max(top, max(y))
            r_ax.step(s.t, y, where="pre", color=colour, ls=ls, lw=2, label=t(key, lang))
        r_ax.set_ylim(0, top * 1.15)
        r_ax.set_ylabel(t("flood.per_second", lang))
        _panel_title(r_ax, t("flood.panel.rates", lang), lang)
        _legend(r_ax, fig)

        # --- 3. legitimate clients -----------------------------------------------------
        _legit_panel(l_ax, run, lang)
        l_ax.set_xlabel(t("time_s", lang))
        l_ax.set_xlim(0, s.t[-1])
        for a in (q_ax, r_ax):
            a.tick_params(labelbottom=False)
        m = run.summary()
        oc = run.clients.outcomes(f.start_time, f.start_time + f.duration)
        fig.text(pos.x0, pos.y0 - 0.103, t("flood.footer", lang, ok=oc["connected"],
                                 n=sum(v for k, v in oc.items() if k != "pending"),
                                 sent=m["cookies_sent"], valid=m["cookies_validated"],
                                 failed=m["cookies_failed"]),
                 ha="left", va="bottom", fontsize=S["small"], color=ink)
    return fig


def _legit_panel(ax, run, lang: str) -> None:
    s = run.series
    atts = run.clients.attempts
    _shade_flood(ax, run)
    _panel_title(ax, t("flood.panel.legit", lang, n=len(atts)), lang)
    client = style.color("client")
    pct = [v * 100 if not math.isnan(v) else math.nan for v in s.legit_success]
    ax.plot(s.t, pct, color=client, lw=2.5, label=t("flood.success_line", lang, w=s.window),
            zorder=3)
    ax.set_ylim(-5, 135)
    ax.set_yticks([0, 50, 100])
    ax.set_ylabel(t("flood.success", lang), color=client)
    # each attempt on a log time-to-connect axis; failures in a row of crosses at the top
    lat = ax.twinx()
    lat.spines["right"].set_visible(True)
    lat.set_yscale("log")
    ok = [(a.t_start, a.latency * 1000) for a in atts if a.outcome == "connected"]
    bad = [a.t_start for a in atts if a.outcome in ("refused", "timed out")]
    hi = max([v for _, v in ok] + [10.0])
    lo = min([v for _, v in ok] + [1.0])
    ymax = hi * 30
    lat.set_ylim(lo / 3, ymax)
    if ok:
        lat.scatter([x for x, _ in ok], [y for _, y in ok], s=22, marker="o",
                    color=_O["bluish_green"], edgecolor="white", linewidth=0.5, zorder=4)
    fail_y = hi * 8
    if bad:
        lat.scatter(bad, [fail_y] * len(bad), s=40, marker="x", color=style.color("rst"),
                    linewidth=1.8, zorder=4)
    # decades for handshake times, and one extra tick naming the row of failures
    ticks = [10.0 ** k for k in range(math.floor(math.log10(lo / 3)) + 1,
                                      math.floor(math.log10(hi * 3)) + 1)]
    lat.yaxis.set_major_locator(FixedLocator(ticks + ([fail_y] if bad else [])))
    lat.yaxis.set_minor_locator(NullLocator())
    lat.yaxis.set_major_formatter(FuncFormatter(
        lambda v, _: t("flood.failed", lang) if v == fail_y else f"{v:g}"))
    if bad:
        lat.get_yticklabels()[-1].set_color(style.color("rst"))
    lat.set_ylabel(t("flood.latency", lang), color=_O["bluish_green"])
    handles = [Line2D([], [], color=client, lw=2.5),
               Line2D([], [], ls="", marker="o", color=_O["bluish_green"]),
               Line2D([], [], ls="", marker="x", color=style.color("rst"), mew=1.8)]
    labels = [t("flood.success_line", lang, w=s.window), t("flood.attempt_ok", lang),
              t("flood.attempt_fail", lang)]
    _legend(ax, ax.figure, handles, labels)


def compare_runs(runs: Sequence, labels: Optional[Sequence[str]] = None, lang: str = "en"):
    """Several runs (same flood, different defences) on the same axes; return the Figure.

    Top: the share of legitimate attempts that connected; bottom: SYN-queue occupancy
    (dashed: each run's capacity). ``labels`` default to `run_label` (the defence).
    """
    check_lang(lang)
    runs = list(runs)
    if not runs:
        raise ValueError("compare_runs needs at least one FloodRun")
    for r in runs:
        _check_run(r)
    if labels is None:
        labels = [run_label(r, lang) for r in runs]
    elif len(labels) != len(runs):
        raise ValueError(f"{len(labels)} labels for {len(runs)} runs")
    S = style.FONT_SIZES
    ink = style.ROLE_COLORS["ink"]
    with style.use_style(lang):
        fig = style.figure()
        box = fig.add_axes((0.075, 0.1, 0.6, 0.73))
        box.set_axis_off()
        top, bottom = _split(box, fig, (1.0, 1.0), gap_in=0.75)
        f = runs[0].flood
        fig.text(0.075, 0.965, t("flood.compare.title", lang), ha="left", va="top",
                 fontsize=S["title"], **style.strong(lang))
        backlogs = {r.settings["backlog"] for r in runs}
        common = (",  " + t("flood.backlog", lang, n=runs[0].settings["backlog"])
                  if len(backlogs) == 1 else "")       # else each label names its backlog
        fig.text(0.075, 0.905, t("flood.title", lang, rate=f.rate, source=_source(runs[0], lang))
                 + common,
                 ha="left", va="top", fontsize=S["subtitle"], color=ink)
        for a in (top, bottom):
            _shade_flood(a, runs[0])
        xmax = 0.0
        cap_seen = set()
        for i, (r, lab) in enumerate(zip(runs, labels)):
            s = r.series
            c, ls = _RUN_COLORS[i % len(_RUN_COLORS)], _RUN_STYLES[i % len(_RUN_STYLES)]
            # earlier runs drawn wider and below: identical curves (two runs both at 100 %,
            # or both with a full queue) show as nested stripes instead of hiding each other
            lw = 2.5 + 2.5 * (len(runs) - 1 - i)
            top.plot(s.t, [v * 100 for v in s.legit_success], color=c, ls=ls, lw=lw,
                     label=lab, zorder=2 + i, solid_capstyle="butt")
            bottom.step(s.t, s.syn_queue, where="post", color=c, ls=ls, lw=lw, label=lab,
                        zorder=2 + i)
            cap = s.syn_capacity[-1]
            if cap not in cap_seen:
                cap_seen.add(cap)
                bottom.axhline(cap, color=ink, lw=1, ls=(0, (5, 3)), zorder=1)
                bottom.text(0.0, cap, " " + t("flood.capacity", lang, n=cap), va="bottom",
                            ha="left", fontsize=S["small"], color=ink)
            xmax = max(xmax, s.t[-1])
        top.set_ylim(-5, 110)
        top.set_yticks([0, 50, 100])
        top.set_ylabel("%")
        _panel_title(top, t("flood.compare.success", lang), lang)
        bottom.set_ylim(0, max(max(max(r.series.syn_queue) for r in runs), max(cap_seen)) * 1.25)
        bottom.set_ylabel(t("flood.connections", lang))
        _panel_title(bottom, t("flood.compare.queue", lang), lang)
        bottom.set_xlabel(t("time_s", lang))
        bottom.set_xlim(0, xmax)
        top.tick_params(labelbottom=False)
        handles, labs = bottom.get_legend_handles_labels()
        from matplotlib.patches import Patch
        handles.append(Patch(color=_FLOOD_TINT))
        labs.append(t("flood.flood_span", lang))
        _legend(top, fig, handles, labs)
    return fig


def flood_band(rows: Sequence[dict], by: str = "syncookies", flood: tuple = (1.0, 4.0),
               window: float = 1.0, lang: str = "en"):
    """Median and min–max band, over seeds, of the share of legitimate clients served.

    ``rows``: a `simtcp.sweep` table whose rows carry ``t`` and ``served`` (a run's
    ``series.t`` and ``series.legit_success``) and the parameter ``by`` (one line and band
    per value; ``syncookies`` values are named like `run_label`). ``flood``: (start, end)
    of the flood, shaded; ``window``: the series' success window, for the axis label.
    Returns the Figure.
    """
    check_lang(lang)
    rows = list(rows)
    if not rows or any("t" not in r or "served" not in r or by not in r for r in rows):
        raise ValueError(f"flood_band needs sweep rows with 't', 'served' and {by!r}")
    groups: dict = {}
    for r in rows:
        groups.setdefault(r[by], []).append(r)
    S = style.FONT_SIZES
    with style.use_style(lang):
        fig = style.figure()
        ax = fig.add_axes((0.075, 0.12, 0.6, 0.66))
        fig.text(0.075, 0.965, t("flood.band.title", lang, n=max(map(len, groups.values()))),
                 ha="left", va="top", fontsize=S["title"], **style.strong(lang))
        fig.text(0.075, 0.905, t("flood.band.subtitle", lang), ha="left", va="top",
                 fontsize=S["subtitle"], color=style.ROLE_COLORS["ink"])
        ax.axvspan(flood[0], flood[1], color=_FLOOD_TINT, zorder=0, lw=0,
                   label=t("flood.flood_span", lang))
        for i, (value, group) in enumerate(sorted(groups.items(), key=lambda kv: str(kv[0]))):
            ts = group[0]["t"]
            if any(list(r["t"]) != list(ts) for r in group):
                raise ValueError("every run of a group must be sampled at the same times")
            lo, mid, hi = [], [], []
            for k in range(len(ts)):
                vals = sorted(r["served"][k] * 100 for r in group
                              if not math.isnan(r["served"][k]))
                if not vals:
                    lo.append(math.nan), mid.append(math.nan), hi.append(math.nan)
                    continue
                n = len(vals)
                lo.append(vals[0])
                hi.append(vals[-1])
                mid.append(vals[n // 2] if n % 2 else (vals[n // 2 - 1] + vals[n // 2]) / 2)
            c = _BAND_COLORS[i % len(_BAND_COLORS)]
            name = (t(f"flood.label.cookies{value}", lang) if by == "syncookies"
                    else f"{by}={value}")
            ax.fill_between(ts, lo, hi, color=c, alpha=0.25, lw=0, zorder=1 + i)
            ax.plot(ts, mid, color=c, lw=2.5, zorder=3 + i, label=name)
        ax.set_ylim(-5, 110)
        ax.set_yticks([0, 25, 50, 75, 100])
        ax.set_ylabel(t("flood.band.success", lang, w=window))
        ax.set_xlabel(t("time_s", lang))
        ax.set_xlim(0, max(r["t"][-1] for r in rows))
        _legend(ax, fig)
    return fig
