"""The cyclic garbage collector's pace during simulations.

Theory of operation: CPython's cyclic garbage collector runs a young-generation collection
each time 700 more container objects have been allocated than freed (3.13+: 2000), and
every tenth of those a middle one that walks every object that survived the young ones
since. A simulation allocates and frees millions of small objects (segments, events, trace
records) while tens of thousands of connections stay alive, so in a port-exhaustion run a
third or more of the CPU went to those walks, finding almost nothing: simtcp's objects are
freed by reference counting as soon as they are done with.

So the first `Network` made in a process raises the young generation's threshold to
10,000 — only when it still has the interpreter's default, so a program that tuned the
collector itself keeps its own setting. The middle generation's threshold (default 10)
goes to 100 at the same time. What survives a young collection in a simulation is either
a connection's state (its TCB, socket, 4-tuple, receive buffer: about nine containers,
alive until the connection ends — after TIME-WAIT, 60 simulated seconds, for most) or
something caught in flight (a segment on a wire, a pending event). A middle collection
walks all of them once more only to move them to the oldest generation, where they stay
until reference counting frees them; run ten times less often, it finds many of them
already freed and walks them not at all (port exhaustion, 28,232 connections held
open: its 3 middle collections, 0.1-0.2 s, no longer happen). Cyclic garbage made outside simtcp waits longer for a
middle collection (at most a million containers allocated net), never forever. The
oldest generation's rule is not changed.

``simtcp.set_gc_tuning(False)`` puts the previous thresholds back (and stops later
Networks from changing them). Results cannot depend on it: nothing in simtcp has a
finalizer or a weak reference, so when garbage is collected changes speed and memory,
never a trace or a capture.
"""
from __future__ import annotations

import gc
import sys
from typing import Optional, Tuple

__all__ = ["set_gc_tuning", "apply"]

YOUNG_THRESHOLD = 10_000
MIDDLE_THRESHOLD = 100
_DEFAULT_YOUNG = 2000 if sys.version_info >= (3, 13) else 700
_DEFAULT_MIDDLE = 10

_enabled = True
_saved: Optional[Tuple[int, ...]] = None      # thresholds before simtcp changed them
_tuned: Tuple[int, ...] = ()                  # the (young, middle) thresholds it set


def apply() -> None:
    """Called by every new Network: raise the thresholds once, if still the default (the
    middle one only if it too is still the default)."""
    global _saved, _tuned
    if not _enabled or _saved is not None:
        return
    current = gc.get_threshold()
    if current[0] == _DEFAULT_YOUNG:
        middle = MIDDLE_THRESHOLD if current[1] == _DEFAULT_MIDDLE else current[1]
        _saved = current
        _tuned = (YOUNG_THRESHOLD, middle)
        gc.set_threshold(*_tuned, *current[2:])


def set_gc_tuning(on: bool) -> None:
    """``False``: restore the collector's thresholds as they were before simtcp raised
    them, and leave them alone from now on; ``True``: allow it again (the default)."""
    global _enabled, _saved
    if not isinstance(on, bool):
        raise TypeError(f"set_gc_tuning() takes True or False, got {on!r}")
    _enabled = on
    if not on and _saved is not None:
        if gc.get_threshold()[:2] == _tuned:     # nobody changed them since
            gc.set_threshold(*_saved)
        _saved = None
