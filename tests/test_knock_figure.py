"""The port-knocking ladder: each dropped SYN is explained, and knockd's opening is marked."""
import matplotlib.pyplot as plt
import pytest

from simtcp import scenarios
from simtcp.viz.knockviz import knock_ladder


@pytest.fixture(scope="module")
def knocked():
    return scenarios.port_knock()


def test_the_scenario_opens_ssh_for_the_knocker_only(knocked):
    server = knocked.nodes["server"]
    rules = server.iptables("-S INPUT").splitlines()
    assert rules[1] == "-A INPUT -s 192.168.1.10/32 -p tcp -m tcp --dport 22 -j ACCEPT"
    assert "ESTAB" in str(server.ss("-tn"))


@pytest.mark.parametrize("lang, first, last", [
    ("en", "port 22: filtered (DROP)", "port 9000: knock 3 of 3"),
    ("ja", "ポート 22：遮断（DROP）", "ポート 9000：ノック 3/3")])
def test_every_dropped_syn_gets_a_note_and_the_opening_is_marked(knocked, lang, first, last):
    fig = knock_ladder(knocked, lang=lang)
    texts = {t.get_gid(): t.get_text() for t in fig.axes[0].texts if t.get_gid()}
    notes = [v for k, v in sorted(texts.items()) if k.startswith("knock-note-")]
    assert len(notes) == 4 and first in notes and last in notes
    assert "--dport 22 -j ACCEPT" in texts["knock-rule"]
    assert "knock-open" in texts
    plt.close(fig)
