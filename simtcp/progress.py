"""A progress bar for long simulations: virtual time advancing, at a wall-clock rate.

Theory of operation: a run that takes more than about two seconds of *wall-clock* time
shows a tqdm bar (``tqdm.auto``: a widget in Jupyter, text on a terminal) whose position is
the network's *virtual* time — "37.2/60 s [00:03, 11.8 s/s]" reads "37.2 of 60 simulated
seconds done, after 3 real seconds, 11.8 simulated seconds per real second". `Network.run`
asks `for_run` for a `Bar` (None when no bar may be shown: the common case costs one
attribute test per event), ticks it every `CHECK_EVERY` events, and closes it when the run
ends. A scenario that runs the network in several pieces wraps them in `span`, so they
share one bar with the scenario's name.

This module is the only place in simtcp that reads the wall clock, and only to decide
*whether* and *how fast* to draw: nothing here reads or writes the network's state except
``net.now``, so a run with a bar makes the same trace and the same pcap as one without.

When a bar appears: ``set_progress(True)`` (or ``SIMTCP_PROGRESS=1``) always, after the
delay; ``set_progress(False)``, ``SIMTCP_PROGRESS=0`` or ``net.progress = False`` never;
by default (``None``) only where someone is watching — in a Jupyter kernel, or when stderr
is a terminal — and never under pytest. ``net.progress = True`` forces one network's bar.
"""
from __future__ import annotations

import contextlib
import os
import sys
import time
from typing import Optional

__all__ = ["set_progress", "get_progress", "for_run", "span", "Bar", "CHECK_EVERY", "DELAY"]

CHECK_EVERY = 1024     # events between two looks at the wall clock (a power of two)
DELAY = 2.0            # wall-clock seconds before a bar appears
ENV = "SIMTCP_PROGRESS"

_setting: Optional[bool] = None         # set_progress(): True, False, or None = automatic


def set_progress(on: Optional[bool]) -> None:
    """Progress bars for long runs: True = always (after `DELAY` s), False = never,
    None = automatic (only in a notebook or on a terminal, never under pytest)."""
    global _setting
    if on is not None and not isinstance(on, bool):
        raise TypeError(f"set_progress() takes True, False or None, not {on!r}")
    _setting = on


def get_progress() -> Optional[bool]:
    """The process-wide setting: `set_progress`'s, else ``SIMTCP_PROGRESS`` (0/1), else None."""
    if _setting is not None:
        return _setting
    env = os.environ.get(ENV, "").strip().lower()
    if env in ("0", "false", "no", "off"):
        return False
    if env in ("1", "true", "yes", "on"):
        return True
    return None


def _watched() -> bool:
    """Someone may be looking: a Jupyter kernel, or stderr on a terminal — not pytest."""
    if "PYTEST_CURRENT_TEST" in os.environ:
        return False
    if "ipykernel" in sys.modules:
        try:
            from IPython import get_ipython
            shell = get_ipython()
        except Exception:
            shell = None
        if shell is not None and getattr(shell, "kernel", None) is not None:
            return True
    try:
        return sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _wanted(net) -> bool:
    own = getattr(net, "progress", None)
    if own is False:
        return False
    setting = get_progress()
    if setting is False:
        return False
    return own is True or setting is True or _watched()


class Bar:
    """One bar over a stretch of virtual time, drawn only once `DELAY` wall seconds passed."""

    def __init__(self, net, until: Optional[float], desc: str = "simtcp") -> None:
        self.net = net
        self.start = net.now
        self.total = None if until is None else max(until - net.now, 0.0)
        self.desc = desc
        self.wall0 = time.perf_counter()        # display only, never the simulation's time
        self.shown = 0.0
        self.tqdm = None

    def tick(self) -> None:
        """Called every `CHECK_EVERY` events: draw (or advance) the bar once it is due."""
        if self.tqdm is None:
            if time.perf_counter() - self.wall0 < DELAY:
                return
            self.tqdm = self._open()
            if self.tqdm is None:
                return
        done = self.net.now - self.start
        if self.total is not None:
            done = min(done, self.total)
        if done > self.shown:
            self.tqdm.update(done - self.shown)
            self.shown = done

    def _open(self):
        try:
            from tqdm.auto import tqdm
        except ImportError:           # a bar is a nicety: without tqdm, runs stay silent
            self.tick = lambda: None
            return None
        if self.total is not None:
            shape = ("{desc}: {percentage:3.0f}%|{bar}| {n:.1f}/{total:.1f} virtual s "
                     "[{elapsed}, {rate_fmt}]")
        else:                         # run() to idle: how far it has got, no end known
            shape = "{desc}: {n:.1f} virtual s [{elapsed}, {rate_fmt}]"
        return tqdm(total=self.total, desc=self.desc, unit="s", bar_format=shape,
                    leave=False, dynamic_ncols=True)

    def close(self) -> None:
        if self.tqdm is not None:
            self.tick()
            self.tqdm.close()
            self.tqdm = None


def for_run(net, until: Optional[float]) -> Optional[Bar]:
    """The bar `Network.run` ticks: the enclosing `span`'s, a new one, or None (no bar)."""
    outer = getattr(net, "_progress_span", None)
    if outer is not None:
        return outer
    if not _wanted(net):
        return None
    return Bar(net, until)


@contextlib.contextmanager
def span(net, until: Optional[float] = None, desc: str = "simtcp"):
    """One bar named ``desc`` for every `Network.run` inside the block (a scenario that
    runs the network in pieces). ``until``: the virtual time the block will reach, if known."""
    if getattr(net, "_progress_span", None) is not None or not _wanted(net):
        yield None
        return
    bar = Bar(net, until, desc)
    net._progress_span = bar
    try:
        yield bar
    finally:
        net._progress_span = None
        bar.close()
