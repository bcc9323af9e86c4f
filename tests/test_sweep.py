"""simtcp.sweep: a parallel sweep returns exactly what a serial one does, in run order."""
from concurrent.futures import ThreadPoolExecutor

import pytest

import simtcp
from simtcp.sweep import sweep
from simtcp.tools.flood import run_flood_scenario


def flood_outcome(seed, syncookies):
    """A small SYN flood: what legitimate clients got, and the server's counters."""
    run = run_flood_scenario(seed=seed, syncookies=syncookies, flood_rate=300.0,
                             flood_duration=1.0, clients=3, trace=False, capture=False)
    s = run.summary()
    return {k: s[k] for k in sorted(s) if isinstance(s[k], (int, float, str))}


def lossy_transfer(seed, loss):
    net = simtcp.Network(seed=seed, wire="fast")
    a = net.add_host("a", "10.0.0.1")
    b = net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.005, loss=loss)
    srv = b.socket(); srv.bind(("", 80)); srv.listen(8)
    cli = a.socket(); cli.connect(("10.0.0.2", 80))
    conn, _ = srv.accept()
    cli.sendall(b"x" * 20000)
    got = b""
    while len(got) < 20000:
        got += conn.recv(65536)
    return {"finished_at": round(net.now, 9), "retrans": b.counters.get("RetransSegs", 0)
            + a.counters.get("RetransSegs", 0)}


def test_parallel_equals_serial_for_the_same_seeds():
    params = {"syncookies": [0, 1]}
    serial = sweep(flood_outcome, params=params, seeds=range(3), executor="serial")
    parallel = sweep(flood_outcome, params=params, seeds=range(3), workers=2)
    assert parallel == serial
    assert [(r["syncookies"], r["seed"]) for r in serial] == [
        (0, 0), (0, 1), (0, 2), (1, 0), (1, 1), (1, 2)]
    # the runs really differ by seed and parameter, so equality above is not trivial
    assert len({tuple(sorted(r.items())) for r in serial}) == 6


def test_any_executor_with_submit_gives_the_same_table():
    params = [{"loss": 0.0}, {"loss": 0.05}]
    serial = sweep(lossy_transfer, params=params, seeds=[1, 2], executor="serial")
    with ThreadPoolExecutor(2) as pool:        # stands in for a dask Client: only submit()
        other = sweep(lossy_transfer, params=params, seeds=[1, 2], executor=pool)
    assert other == serial
    assert serial.column("loss") == [0.0, 0.0, 0.05, 0.05]
    assert max(serial.column("retrans")) > 0      # the lossy runs did retransmit


def test_scalar_results_and_table_helpers():
    table = sweep(lambda seed, x: seed * 10 + x, params={"x": [1, 2]}, seeds=[0, 1],
                  executor="serial")
    assert table.column("value") == [1, 11, 2, 12]
    assert "<table>" in table._repr_html_()


@pytest.mark.parametrize("kwargs, error", [
    (dict(params={"x": 3}), TypeError),             # one value, not a list to sweep
    (dict(params=[3]), TypeError),
    (dict(seeds=["1"]), TypeError),
    (dict(workers=0), ValueError),
    (dict(executor=42), TypeError),
])
def test_bad_arguments_are_refused_clearly(kwargs, error):
    with pytest.raises(error):
        sweep(lambda seed, **kw: 0, **kwargs)


def test_a_result_that_hides_a_parameter_is_refused():
    with pytest.raises(ValueError, match="rename"):
        sweep(lambda seed, x: {"x": 1}, params={"x": [1]}, executor="serial")
