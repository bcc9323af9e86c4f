"""Progress bars of long runs (simtcp.progress): shown when asked and due, silent in tests and
when switched off, and never a change to the simulation itself."""
from __future__ import annotations

import itertools

import pytest

import simtcp
from simtcp import progress
from simtcp.tools.flood import run_flood_scenario


class FakeClock:
    """A wall clock that jumps one second each time it is read: every run looks slow."""

    def __init__(self) -> None:
        self.reads = itertools.count()

    def perf_counter(self) -> float:
        return float(next(self.reads))


@pytest.fixture
def slow_clock(monkeypatch):
    clock = FakeClock()
    monkeypatch.setattr(progress, "time", clock)
    monkeypatch.delenv(progress.ENV, raising=False)
    yield clock
    progress.set_progress(None)


def busy_network(events: int = 5 * progress.CHECK_EVERY) -> simtcp.Network:
    """A network with many events and no packets: a long run, cheaply."""
    net = simtcp.Network(seed=1)
    for i in range(events):
        net.schedule(i * 0.001, lambda: None)
    return net


def test_a_bar_appears_when_forced_on_and_the_run_is_slow(slow_clock, capsys):
    progress.set_progress(True)
    net = busy_network()
    net.run(until=10.0)
    err = capsys.readouterr().err
    assert "virtual s" in err and "simtcp" in err, err
    assert net.now == 10.0


def test_no_bar_by_default_under_pytest(slow_clock, capsys):
    net = busy_network()
    assert progress.get_progress() is None and progress.for_run(net, 10.0) is None
    net.run(until=10.0)
    assert capsys.readouterr().err == ""


@pytest.mark.parametrize("switch", ["set_progress", "env", "network"])
def test_the_off_switches_win_over_a_forced_bar(slow_clock, capsys, monkeypatch, switch):
    net = busy_network()
    if switch == "set_progress":
        net.progress = True                     # even a network that asks for one
        progress.set_progress(False)
    elif switch == "env":
        net.progress = True
        monkeypatch.setenv(progress.ENV, "0")
    else:
        progress.set_progress(True)
        net.progress = False
    net.run(until=10.0)
    assert capsys.readouterr().err == ""


def test_a_network_can_ask_for_its_own_bar(slow_clock, capsys, monkeypatch):
    monkeypatch.setenv(progress.ENV, "1")
    assert progress.get_progress() is True
    monkeypatch.delenv(progress.ENV)
    net = busy_network()
    net.progress = True
    net.run(until=10.0)
    assert "virtual s" in capsys.readouterr().err


def test_a_fast_run_shows_nothing_even_when_forced(monkeypatch, capsys):
    progress.set_progress(True)
    try:
        net = busy_network(events=10)          # over long before the delay: no bar
        net.run(until=1.0)
    finally:
        progress.set_progress(None)
    assert capsys.readouterr().err == ""


def test_a_scenario_shares_one_named_bar_across_its_runs(slow_clock, capsys):
    progress.set_progress(True)
    net = busy_network()
    with progress.span(net, until=10.0, desc="my scenario") as bar:
        for k in range(1, 11):
            net.run(until=float(k))
            assert net._progress_span is bar
    assert net._progress_span is None
    err = capsys.readouterr().err
    assert "my scenario" in err and err.count("virtual s") >= 1


def test_a_bar_changes_nothing_in_the_simulation(slow_clock, capsys):
    """Same seed, bar or no bar: the same trace, the same pcap bytes, the same numbers."""
    def flood():
        run = run_flood_scenario(syncookies=1, flood_rate=300, flood_duration=1.0, seed=3)
        return run.net.trace.log(), run.net.capture.pcap_bytes(), run.summary()

    progress.set_progress(False)
    quiet = flood()
    progress.set_progress(True)
    shown = flood()
    assert "SYN flood" in capsys.readouterr().err
    assert shown == quiet


def test_set_progress_takes_only_true_false_or_none():
    with pytest.raises(TypeError):
        progress.set_progress("yes")
    assert simtcp.set_progress is progress.set_progress
