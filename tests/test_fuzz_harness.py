"""The fuzz harness, CI-sized: every class of hostile input (tests/fuzzing.py) in batches,
with the invariants checked after each batch. ``make fuzz`` runs a million cases."""
import pytest
from hypothesis import HealthCheck, given, settings, strategies as st

from fuzzing import CASES, World, check, run_batch


@pytest.mark.parametrize("kind", sorted(CASES))
@settings(max_examples=6, deadline=None, suppress_health_check=list(HealthCheck))
@given(rng=st.randoms(use_true_random=False))
def test_fuzz_class_keeps_every_invariant(kind, rng):
    assert run_batch(kind, rng, cases=6) == []


def test_the_invariants_can_fail():
    """The checks are not vacuous: a network with an unaccounted packet, or a stack that
    no longer answers, fails them."""
    w = World()
    check(w)                                   # a healthy world passes
    w.net.trace.add(w.net.trace[-1]._replace(kind="send", pkt_id=10**9))
    with pytest.raises(AssertionError):
        check(w)
    w.net.trace.records.pop()                  # (the autouse accounting check runs too)
    w = World()
    w.server.protocols[6] = lambda packet, pkt_id: None    # a TCP that answers nothing
    with pytest.raises(TimeoutError):
        check(w)
