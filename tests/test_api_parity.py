"""API misuse, side by side: every case of tests/api_parity.py must raise (or return) in
simtcp what Python's own socket raises on 127.0.0.1 — same exception class, same errno —
apart from the short allow-list of documented differences."""
import pytest

from api_parity import ALLOWED, allowed, cases, compare

CASES = list(cases())


@pytest.mark.parametrize("name, case", CASES, ids=[name for name, _ in CASES])
def test_misuse_matches_python_socket(name, case):
    real, sim = compare(case)
    assert real == sim or allowed(name, real, sim), f"{name}: real {real}, simtcp {sim}"


def test_the_table_covers_every_method_state_and_argument_kind():
    assert len(CASES) >= 116
    assert len(ALLOWED) <= 3
    states = {name.split(":")[0] for name, _ in CASES if ":" in name}
    assert {"new", "bound", "listening", "connected", "closed"} <= states


def test_the_allow_list_is_really_needed():
    """The documented difference exists: recv() on a connection where nothing will ever
    arrive blocks for ever in Python (here: SO_RCVTIMEO ends it) and is
    SimulationIdleError in simtcp."""
    real, sim = compare(dict(CASES)["connected: recv(10)"])
    assert (real.kind, sim.kind) == ("TimeoutError", "SimulationIdleError")
