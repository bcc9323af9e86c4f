"""The cyclic garbage collector's pace during simulations.

Theory of operation: CPython's cyclic garbage collector runs a young-generation collection
each time 700 more container objects have been allocated than freed (3.13+: 2000), and
every tenth of those a wider one that walks every object the older generations hold. A
simulation allocates and frees millions of small objects (segments, events, trace
records) while tens of thousands of connections stay alive, so in a port-exhaustion run a
third or more of the CPU went to those walks, finding almost nothing: simtcp's objects are
freed by reference counting as soon as they are done with.

So the first `Network` made in a process raises the young generation's threshold to
10,000 — only when it still has the interpreter's default, so a program that tuned the
collector itself keeps its own setting. ``simtcp.set_gc_tuning(False)`` puts the previous
thresholds back (and stops later Networks from changing them). Results cannot depend on
it: nothing in simtcp has a finalizer or a weak reference, so when garbage is collected
changes speed and memory, never a trace or a capture.
"""
from __future__ import annotations

import gc
import sys
from typing import Optional, Tuple

__all__ = ["set_gc_tuning", "apply"]

YOUNG_THRESHOLD = 10_000
_DEFAULT_YOUNG = 2000 if sys.version_info >= (3, 13) else 700

_enabled = True
_saved: Optional[Tuple[int, ...]] = None      # thresholds before simtcp changed them


def apply() -> None:
    """Called by every new Network: raise the threshold once, if still the default."""
    global _saved
    if not _enabled or _saved is not None:
        return
    current = gc.get_threshold()
    if current[0] == _DEFAULT_YOUNG:
        _saved = current
        gc.set_threshold(YOUNG_THRESHOLD, *current[1:])


def set_gc_tuning(on: bool) -> None:
    """``False``: restore the collector's thresholds as they were before simtcp raised
    them, and leave them alone from now on; ``True``: allow it again (the default)."""
    global _enabled, _saved
    if not isinstance(on, bool):
        raise TypeError(f"set_gc_tuning() takes True or False, got {on!r}")
    _enabled = on
    if not on and _saved is not None:
        if gc.get_threshold()[0] == YOUNG_THRESHOLD:     # nobody changed it since
            gc.set_threshold(*_saved)
        _saved = None
