"""One way for every benchmark to state a goal: the measured figure, the goal and the ratio.

`goal_line(what, measured, goal, unit)` prints, for example::

    GOAL port exhaustion, 28,232 connections: 2.71 s  (goal ≤ 3 s)  ratio 0.90  meets

A ratio ≤ 1 meets the goal (for "at least" goals, ``at_least=True``, the ratio is goal /
measured, so ≤ 1 still means "meets"). `full_mode()` is True when ``SIMTCP_BENCH_FULL=1``:
the long runs (a million SYNs, 100,000 connections) run only then; the quick mode measures
a smaller run and says so. Benchmarks are not tests: nothing here asserts a time.
"""
from __future__ import annotations

import os


def full_mode() -> bool:
    """``SIMTCP_BENCH_FULL=1 make bench`` runs the issue's full sizes."""
    return os.environ.get("SIMTCP_BENCH_FULL", "") not in ("", "0")


def goal_line(what: str, measured: float, goal: float, unit: str = "",
              at_least: bool = False, note: str = "") -> float:
    """Print one goal line and return the ratio (≤ 1: the goal is met)."""
    ratio = (goal / measured if measured else float("inf")) if at_least else measured / goal
    sign = "≥" if at_least else "≤"
    verdict = "meets" if ratio <= 1 else "misses"
    tail = f"  [{note}]" if note else ""
    print(f"GOAL {what}: {measured:,.4g} {unit}  (goal {sign} {goal:g} {unit})  "
          f"ratio {ratio:.2f}  {verdict}{tail}")
    return ratio
