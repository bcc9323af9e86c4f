"""The port-knocking ladder: SSH filtered, three knocks, knockd opens the port, SSH connects.

Theory of operation: the segments are an ordinary ladder (`simtcp.viz.ladder`) of the
`simtcp.scenarios.port_knock` network. What a ladder cannot show by itself is *why* a
dropped SYN matters — the port it was aimed at and what knockd made of it — so each SYN
that did not reach a socket gets a note beside its × (its destination port and knockd's
stage), and the moment knockd runs its command is marked on the server's lifeline with the
iptables rule it added. Notes are placed from the arrows the ladder drew (found by their
``gid``), so they follow the ladder's own layout. Words come from the figure catalogue.
"""
from __future__ import annotations

from typing import Dict

from . import style
from .i18n import check_lang, t
from .ladder import ladder

INK = style.ROLE_COLORS["ink"]


def knock_ladder(net, lang: str = "en", knock_ports=(7000, 8000, 9000)):
    """Draw the knock scenario ``net`` (`simtcp.scenarios.port_knock`)."""
    check_lang(lang)
    server = net.nodes["server"]
    daemon = next(s for s in server.services if type(s).__name__ == "Knockd")
    fig = ladder(net, lang=lang, title=t("knock.title", lang))
    ax = fig.axes[0]
    # widen the canvas for the notes on the right, keeping the ladder's scale (its labels
    # are laid out in data units for its own size)
    w, h = fig.get_size_inches()
    extra = 3.4
    box = ax.get_position()
    x0, x1 = ax.get_xlim()
    per_inch = (x1 - x0) / (box.width * w)
    fig.set_size_inches(w + extra, h)
    ax.set_position([box.x0 * w / (w + extra), box.y0,
                     (box.width * w + extra) / (w + extra), box.height])
    ax.set_xlim(x0, x1 + extra * per_inch)
    arrows: Dict[int, object] = {a.get_gid(): a for a in ax.lines if a.get_gid()}
    with style.use_style(lang):
        fs = style.FONT_SIZES["small"]
        lifeline = next(a for a in ax.lines if a.get_gid() == "lifeline-server")
        x_server = lifeline.get_data()[0][0]
        stage = 0
        opened_y = None
        for r in net.trace:
            if r.kind != "send" or r.host != "client" or r.packet.segment is None:
                continue
            seg = r.packet.segment
            line = arrows.get(f"segment-{r.pkt_id}")
            if line is None or not (int(seg.flags) == 0x02):
                continue
            xs, ys = line.get_data()
            dropped = any(d.kind == "drop" and d.pkt_id == r.pkt_id for d in net.trace)
            if not dropped:
                continue
            if seg.dport in knock_ports:
                stage += 1
                text = t("knock.stage", lang, port=seg.dport, stage=stage, total=len(knock_ports))
                if stage == len(knock_ports):
                    opened_y = ys[-1]
            else:
                text = t("knock.filtered", lang, port=seg.dport)
            ax.annotate(text, xy=(x_server, ys[-1]), xytext=(12, 0), textcoords="offset points",
                        ha="left", va="center", fontsize=fs, color=INK,
                        gid=f"knock-note-{r.pkt_id}")
        if opened_y is not None:
            rule = next((line.text.split("running command: ", 1)[1] for line in daemon.log
                         if "running command: " in line.text), "")
            ax.annotate(t("knock.open", lang), xy=(x_server, opened_y), xytext=(12, -16),
                        textcoords="offset points", ha="left", va="top", fontsize=fs,
                        color=style.color("rst"), fontweight="bold", gid="knock-open")
            ax.annotate(rule.replace("/sbin/", "").replace(" -p ", "\n    -p "), xy=(x_server, opened_y), xytext=(12, -34),
                        textcoords="offset points", ha="left", va="top", fontsize=fs - 1,
                        color=style.color("rst"), family="DejaVu Sans Mono", gid="knock-rule")
    return fig
