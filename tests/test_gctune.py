"""simtcp.gctune: the collector's threshold is raised once, only from the default, and
set_gc_tuning(False) restores it; results do not depend on it."""
import gc

import pytest

import simtcp
from simtcp import gctune


@pytest.fixture
def fresh_gc():
    before = gc.get_threshold()
    saved, enabled = gctune._saved, gctune._enabled
    gctune._saved, gctune._enabled = None, True
    yield
    gc.set_threshold(*before)
    gctune._saved, gctune._enabled = saved, enabled


def test_a_network_raises_the_default_threshold_and_the_switch_restores_it(fresh_gc):
    gc.set_threshold(gctune._DEFAULT_YOUNG, 10, 10)
    simtcp.Network(seed=1)
    assert gc.get_threshold() == (gctune.YOUNG_THRESHOLD, 10, 10)
    simtcp.set_gc_tuning(False)
    assert gc.get_threshold() == (gctune._DEFAULT_YOUNG, 10, 10)
    simtcp.Network(seed=2)                               # switched off: left alone
    assert gc.get_threshold() == (gctune._DEFAULT_YOUNG, 10, 10)
    with pytest.raises(TypeError):
        simtcp.set_gc_tuning("no")


def test_a_program_that_tuned_the_collector_keeps_its_setting(fresh_gc):
    gc.set_threshold(1234, 5, 6)
    simtcp.Network(seed=1)
    assert gc.get_threshold() == (1234, 5, 6)


def _pcap(seed):
    net = simtcp.Network(seed=seed)
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.001)
    srv = b.socket(); srv.bind(("0.0.0.0", 80)); srv.listen(8)
    for _ in range(20):
        c = a.socket(); c.connect(("10.0.0.2", 80)); conn, _ = srv.accept()
        c.sendall(b"x" * 3000); conn.recv(5000); c.close(); conn.close()
    net.run()
    return net.capture.pcap_bytes()


def test_results_do_not_depend_on_the_collector(fresh_gc):
    gc.set_threshold(gctune._DEFAULT_YOUNG, 10, 10)
    tuned = _pcap(7)
    simtcp.set_gc_tuning(False)
    gc.set_threshold(1, 1, 1)                            # collect as often as possible
    assert _pcap(7) == tuned
