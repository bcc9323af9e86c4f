""""Which rule did this packet hit?" — one packet's walk through iptables chains.

Theory of operation: every filter or nat decision on a node is a trace record (kind
``event``, what ``netfilter``) carrying the walk — each rule the packet was tested against,
in order, and whether it matched (`simtcp.netfilter`). `chain_walk` draws the chains that
walk visited, rule by rule as ``iptables -S`` prints them, numbering the steps: grey rows
did not match, blue rows matched and let the walk go on (LOG, a jump to a user chain), the
red or green row decided; when no rule decided, the chain's policy is marked.
"""
from __future__ import annotations

from typing import List, Optional

from matplotlib.patches import Circle, FancyBboxPatch

from . import style
from ..reasons import EventKind
from .i18n import check_lang, t

INK = style.ROLE_COLORS["ink"]


def netfilter_events(net, node: Optional[str] = None) -> List[object]:
    """The netfilter decision records of the trace (optionally of one node)."""
    return [r for r in net.trace if r.kind == "event" and r.what is EventKind.NETFILTER
            and (node is None or r.host == node)]


def chain_walk(node, record, lang: str = "en"):
    """Draw the walk of one netfilter trace record on ``node`` (see the module docstring)."""
    check_lang(lang)
    d = dict(record.detail)
    table, walk, verdict = d["table"], d["walk"], d["verdict"]
    decided_chain, decided_rule = d["chain"], d["rule"]
    rules = node.netfilter.rules.tables[table]
    chains: List[str] = []
    for chain, *_ in walk:
        if chain not in chains:
            chains.append(chain)
    if decided_chain not in chains:
        chains.append(decided_chain)
    steps = {}
    for k, (chain, num, matched, _target) in enumerate(walk, 1):
        steps.setdefault((chain, num), []).append((k, matched))
    row_h = 0.46
    n_rows = sum(len(rules.chains[c].rules) + 1 for c in chains) + (decided_rule is None)
    height = 1.6 + row_h * n_rows + 0.3 * len(chains)
    ok = verdict == "ACCEPT" or verdict == "NAT"
    with style.use_style(lang):
        fig, ax = style.canvas(None, 12.8, max(height, 3.0), y_down=True)
        ax.axis("off")
        p = record.packet
        seg = p.segment
        what = f"{p.src}:{seg.sport} → {p.dst}:{seg.dport} {seg.flags.names}" if seg \
            else f"{p.src} → {p.dst}"
        ax.text(0.3, 0.4, t("walk.title", lang, node=node.name, table=table,
                            hook=d["hook"]), fontsize=style.FONT_SIZES["subtitle"],
                **style.strong(lang))
        ax.text(0.3, 0.85, what, fontsize=style.FONT_SIZES["small"], family="monospace")
        y = 1.3
        for chain in chains:
            c = rules.chains[chain]
            head = f"Chain {chain}" + (f" (policy {c.policy})" if c.builtin else "")
            ax.text(0.3, y + 0.2, head, fontsize=style.FONT_SIZES["body"], **style.strong(lang))
            y += row_h
            for num, rule in enumerate(c.rules, 1):
                hits = steps.get((chain, num), [])
                decided = chain == decided_chain and num == decided_rule
                if decided:
                    fc = style.TINTS["bluish_green"] if ok else style.TINTS["vermillion"]
                elif any(m for _, m in hits):
                    fc = style.TINTS["sky_blue"]
                elif hits:
                    fc = style.TINTS["grey"]
                else:
                    fc = "white"
                ax.add_patch(FancyBboxPatch((1.1, y), 11.3, row_h - 0.06,
                                            boxstyle="round,pad=0.01", fc=fc, ec="#CCCCCC"))
                text = rule.save(chain)
                if len(text) > 88:
                    text = text[:85] + "…"
                ax.text(1.2, y + row_h / 2 - 0.03, f"{num:>2}  {text}", va="center",
                        fontsize=style.FONT_SIZES["tiny"], family="monospace",
                        color=INK if hits or decided else "#888888")
                for j, (k, matched) in enumerate(hits):
                    cx = 0.75 - 0.38 * j
                    ax.add_patch(Circle((cx, y + row_h / 2 - 0.03), 0.16,
                                        fc=INK if matched else "white", ec=INK))
                    ax.text(cx, y + row_h / 2 - 0.03, str(k), ha="center", va="center",
                            fontsize=style.FONT_SIZES["tiny"] - 1,
                            color="white" if matched else INK)
                y += row_h
            if c.builtin and chain == decided_chain and decided_rule is None:
                ax.add_patch(FancyBboxPatch((1.1, y), 11.3, row_h - 0.06,
                                            boxstyle="round,pad=0.01",
                                            fc=style.TINTS["bluish_green"] if ok
                                            else style.TINTS["vermillion"], ec="#CCCCCC"))
                ax.text(1.2, y + row_h / 2 - 0.03, t("walk.policy", lang, policy=c.policy),
                        va="center", fontsize=style.FONT_SIZES["tiny"])
                y += row_h
            y += 0.3
        ax.text(0.3, y + 0.1, t("walk.verdict", lang, verdict=verdict,
                                where=(t("walk.by_policy", lang) if decided_rule is None
                                       else f"{decided_chain} #{decided_rule}")),
                fontsize=style.FONT_SIZES["body"],
                color=style.color("server") if ok else style.color("rst"), **style.strong(lang))
    return fig
