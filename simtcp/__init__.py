"""simtcp — an educational, deterministic TCP stack simulator.

Simulated hosts exchange real IPv4/TCP segments built with scapy, run the RFC 9293 state
machine, demultiplex by 4-tuple, allocate ephemeral ports like real operating systems, and
every step can be drawn (see simtcp.viz). Quick start::

    import simtcp
    net = simtcp.Network(seed=1)
    client = net.add_host("client", "192.168.1.10")
    server = net.add_host("server", "192.168.1.20")
    net.add_link(client, server, delay=0.010)
    srv = server.socket(); srv.bind(("0.0.0.0", 80)); srv.listen(128)
    cli = client.socket(); cli.connect(("192.168.1.20", 80))
    conn, addr = srv.accept()

``simtcp.set_language("ja")`` makes simtcp's own words (error explanations, trace reasons,
lab feedback) Japanese; English is the default. ``simtcp.set_progress(False)`` switches off
the progress bar that long runs show in a notebook or on a terminal.
``simtcp.set_gc_tuning(False)`` gives the garbage collector back its own pace (simtcp
raises its first threshold for big runs; see `simtcp.gctune`).
"""
from . import _platform  # noqa: F401  (first: fills Pyodide's socket gaps; see its docstring)
from .cli import UsageError
from .lang import get_language, set_language
from .link import Dropped, Lan, Link
from .reasons import DemuxRule, DropReason, EventKind, SendCause, StateCause
from .segment import Flags, FourTuple, Options, Segment
from .packet import Packet
from .gctune import set_gc_tuning
from .progress import get_progress, set_progress
from .seq import Seq
from .sim import Network
from .socket import SimulationIdleError, Socket
from .states import State, TRANSITIONS
from .sweep import SweepResult, sweep
from .trace import Trace, TraceRecord

__version__ = "0.1.0"
__all__ = ["Network", "Socket", "SimulationIdleError", "Segment", "Packet", "Options", "Flags",
           "FourTuple", "Seq", "State", "TRANSITIONS", "Trace", "TraceRecord", "Link", "Lan",
           "Dropped", "sweep", "SweepResult", "DropReason", "SendCause", "StateCause",
           "EventKind", "DemuxRule", "UsageError", "set_language", "get_language",
           "set_progress", "get_progress", "set_gc_tuning"]


def load_ipython_extension(ipython):
    """``%load_ext simtcp`` registers the ``%sim`` / ``%%sim`` magics (simtcp.magics)."""
    from .magics import load_ipython_extension as load
    load(ipython)
