"""Conformance: every script of tests/packetdrill/ passes on the real kernel and on simtcp.

The kernel runs are done once for the session, in parallel, in private network namespaces
(tests/conformance.py; skipped with a reason without root, iproute2 or /dev/net/tun). A test
fails when the kernel fails a script (the script is wrong) or when simtcp disagrees with a
script the kernel passes. Scripts simtcp is known not to pass yet are in
conformance.KNOWN_GAPS and marked xfail(strict=True): when the behaviour lands, the test
turns red until the entry is removed. simtcp runs every script, long ones included (virtual
time); the kernel runs the long-timer scripts only under `make conformance`
(SIMTCP_CONFORMANCE_LONG=1).
"""
import warnings
import os

import pytest

import conformance

LONG = os.environ.get("SIMTCP_CONFORMANCE_LONG") == "1"
SCRIPTS = conformance.scripts()


@pytest.fixture(scope="module")
def kernel():
    """Kernel verdicts for the scripts the kernel runs in this session (name -> dict)."""
    why = conformance.kernel_unavailable()
    if why:
        return {"_skip": why}
    todo = [p for p in SCRIPTS if LONG or not conformance.is_long(p)]
    try:
        return conformance.kernel_verdicts(todo)
    except RuntimeError as e:
        return {"_skip": str(e)}


def _params():
    for p in SCRIPTS:
        marks = [pytest.mark.conformance]
        if p.name in conformance.KNOWN_GAPS:
            marks.append(pytest.mark.xfail(strict=True, reason=conformance.KNOWN_GAPS[p.name]))
        yield pytest.param(p, id=p.name, marks=marks)


def test_there_are_enough_scripts_in_every_category():
    cats = {}
    for p in SCRIPTS:
        cats[conformance.category(p)] = cats.get(conformance.category(p), 0) + 1
    assert len(SCRIPTS) >= 60, len(SCRIPTS)
    assert set(cats) >= {"handshake", "mss", "close", "rst", "timewait", "listen", "sack",
                         "rto", "zerowin", "nagle", "delack"}, cats


@pytest.mark.conformance
@pytest.mark.parametrize("path", list(_params()))
def test_simtcp_agrees_with_the_kernel(path, kernel):
    k = kernel.get(path.name)
    if k is not None and k.get("retried") and k["passed"]:
        warnings.warn(f"the kernel passed {path.name} only when run again (busy machine?); "
                      f"first failure: {k['first_failure']}")
    if k is not None and not k["passed"]:
        if k.get("timing"):
            # after its reruns the kernel still missed a time window: on a loaded machine the
            # runner, not the kernel, is late — no verdict on the script; simtcp is still judged
            warnings.warn(f"kernel missed a deadline in {path.name} (busy machine?): {k['message']}")
        else:   # the ground truth first: a script the kernel fails for any other reason is wrong
            raise AssertionError(f"the kernel fails {path.name} line {k['line']}: {k['message']}")
    v = conformance.simtcp_verdict(path)
    assert v.passed, f"{path.name}: simtcp {v}\n" + "\n".join(v.log)


def test_the_kernel_ran_or_says_why(kernel):
    if "_skip" in kernel:
        pytest.skip(f"kernel back end: {kernel['_skip']}")
    expected = {p.name for p in SCRIPTS if LONG or not conformance.is_long(p)}
    assert set(kernel) == expected
