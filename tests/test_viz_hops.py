"""Ladders across routers and the topology figure: what they draw comes from the trace and
the routing tables."""
import pytest

from simtcp import scenarios
from simtcp.reasons import DropReason
from simtcp.viz.hops import hop_ladder, hop_rows
from simtcp.viz.topology import topology_diagram, _layers, _node_lines


def test_traceroute_rows_follow_each_copy_hop_by_hop():
    net = scenarios.traceroute_tcp()
    rows = hop_rows(net, ["client", "r1", "r2", "server"])
    probes = [(r["from"], r["to"], r["packet"].ttl) for r in rows
              if r["packet"].segment is not None and r["packet"].segment.flags.letters == "S"]
    assert probes == [("client", "r1", 1), ("client", "r1", 2), ("r1", "r2", 1),
                      ("client", "r1", 3), ("r1", "r2", 2), ("r2", "server", 1)]
    dropped = [(r["to"], r["reason"]) for r in rows if r["dropped"]]
    assert dropped == [("r1", DropReason.TTL_EXCEEDED), ("r2", DropReason.TTL_EXCEEDED)]
    icmp = [(r["from"], r["to"]) for r in rows if r["packet"].proto == 1]
    assert icmp == [("r1", "client"), ("r2", "r1"), ("r1", "client")]


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_hop_ladder_and_topology_draw_in_both_languages(lang):
    fig = hop_ladder(scenarios.net_unreachable(), ["client", "r1", "r2"], lang=lang)
    texts = [t.get_text() for t in fig.axes[0].texts]
    want = "ICMP net unreachable  TTL=64" if lang == "en" else "ICMP ネットワーク到達不能  TTL=64"
    assert want in texts
    net = scenarios.two_routers()
    fig = topology_diagram(net, lang=lang)
    texts = "\n".join(t.get_text() for t in fig.axes[0].texts)
    assert "eth1 10.0.12.1/30\n10.0.2.0/24 via 10.0.12.2" in texts
    with pytest.raises(ValueError, match="no packets"):
        hop_ladder(net, ["client", "r1"], t0=99.0)


def test_topology_columns_are_distances_from_the_first_host():
    import simtcp
    net = simtcp.Network()
    net.office_dmz()
    cols = [[n.name for n in c] for c in _layers(net)]
    assert cols == [["pc"], ["firewall"], ["web", "outsider"]]
    assert _node_lines(net["firewall"])[:3] == ["eth0 10.0.0.1/24", "eth1 172.16.0.1/24",
                                                "eth2 203.0.113.1/24"]
