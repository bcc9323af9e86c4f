"""The scan scenarios (simtcp.scanlab) and their pictures: scan ladders and the port-state
map."""
import io

import pytest

from simtcp import scanlab
from simtcp.viz.ladder import ladder, ladder_rows
from simtcp.viz.scanmap import STATE_STYLES, port_state_map


def test_syn_scan_scenario_is_syn_synack_rst_and_syn_rst():
    net, report = scanlab.syn_scan()
    assert report.hosts[0].states() == {(22, "tcp"): "open", (23, "tcp"): "closed"}
    segs = [(r["sender"], r["flags"], r["tuple"][1], r["tuple"][3])
            for r in ladder_rows(net) if r["type"] == "segment"]
    sport = segs[0][2]
    assert segs == [("scanner", "SYN", sport, 22), ("scanner", "SYN", sport, 23),
                    ("target", "SYN,ACK", 22, sport), ("target", "RST,ACK", 23, sport),
                    ("scanner", "RST", sport, 22)]


def test_stealth_and_ack_scenarios_show_the_states_nmap_defines():
    _, reports = scanlab.stealth_scans()
    for r in reports:
        assert r.hosts[0].states() == {(22, "tcp"): "open|filtered", (23, "tcp"): "closed"}
    net, report = scanlab.ack_scan_stateful()
    assert report.hosts[0].states() == {(22, "tcp"): "unfiltered", (80, "tcp"): "filtered"}
    lost = [r for r in ladder_rows(net) if r["type"] == "segment" and r["lost"]]
    assert [r["tuple"][3] for r in lost] == [80, 80]          # the probe and its retry


def test_ladder_ports_labels_carry_flags_and_ports_only():
    net, _ = scanlab.syn_scan()
    fig = ladder(net, ports=True)
    texts = [t.get_text() for ax in fig.axes for t in ax.texts]
    assert any(t.endswith("\u2192 22") for t in texts)
    assert not any("seq=" in t for t in texts)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_port_state_map_has_one_tile_per_port_and_a_legend_of_the_states_seen(lang):
    _, report = scanlab.scanned_host()
    host = report.hosts[0]
    fig = port_state_map(report, lang=lang)
    ax = fig.axes[0]
    gids = {p.get_gid() for p in ax.patches}
    assert {f"port-{p.proto}-{p.port}" for p in host.ports} <= gids
    seen = {p.state for p in host.ports}
    assert seen == {"open", "closed", "filtered", "open|filtered"}
    assert {g[len("legend-"):] for g in gids if g and g.startswith("legend-")} == seen
    fills = {p.get_gid(): p.get_facecolor() for p in ax.patches}
    from matplotlib.colors import to_rgba
    for p in host.ports:
        assert fills[f"port-{p.proto}-{p.port}"] == to_rgba(STATE_STYLES[p.state][0])
    fig.savefig(io.BytesIO(), format="png")
