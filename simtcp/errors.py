"""Errors the simulator itself raises (not the ones a real socket raises: those are OSError).

Theory of operation: a blocking socket call drives the simulation until it can return. Two
things can make that impossible, and each has its own error so that a notebook never hangs:

* the network is *idle* — no event is left that could ever change the answer
  (`SimulationIdleError`);
* the network only re-arms timers without ever completing the call — a zero-window peer that
  answers every probe, say (RFC 1122 §4.2.2.17 lets such a connection live forever). A
  blocking call without a timeout gives up after `Network.stall_horizon` seconds of virtual
  time (default `STALL_HORIZON`, one hour) with `SimulationStalledError`; so does
  ``Network.run()`` without ``until``. Both are documented differences from Python's
  `socket`, which would block for ever.
"""
from __future__ import annotations

STALL_HORIZON = 3600.0   # seconds of virtual time a blocking call or run() may take


class SimulationIdleError(TimeoutError):
    """A blocking call can never complete: the simulated network has nothing left to do."""


class SimulationStalledError(SimulationIdleError):
    """The simulation keeps running timers, but the call has not completed within
    `Network.stall_horizon` seconds of virtual time (see module docstring)."""
