"""Run packetdrill-syntax scripts against a simulated host (or, in the tests, the real kernel).

packetdrill (Google, GPL-2.0, https://github.com/google/packetdrill) is the standard way the
Linux TCP developers specify what their stack does. This package reads a documented subset
of its script language (`simtcp.packetdrill.script`) and runs it with the same rules of
timing and sequence-number mapping (`simtcp.packetdrill.engine`). In a notebook::

    from simtcp import packetdrill
    verdict = packetdrill.run('''
        0 socket(..., SOCK_STREAM, IPPROTO_TCP) = 3
       +0 bind(3, ..., ...) = 0
       +0 listen(3, 1) = 0
       +0 < S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>
       +0 > S. 0:0(0) ack 1 <mss 1460,nop,nop,sackOK,nop,wscale 7>
    ''')
    print(verdict)                       # "pass", or the failing line and why
    verdict.log                          # what was sent and received, with times

The scripts of tests/packetdrill/ were each checked against the real Linux kernel.
"""
from __future__ import annotations

from pathlib import Path
from typing import Optional, Union

from .engine import Verdict, run as _run
from .script import Script, ScriptError, parse
from .simhost import SimtcpBackend

__all__ = ["run", "run_file", "parse", "Script", "ScriptError", "SimtcpBackend", "Verdict"]


def run(script: Union[str, Script], backend: Optional[SimtcpBackend] = None) -> Verdict:
    """Run a script (its text) against ``backend`` (default: a fresh simulated Linux host)."""
    return _run(script, backend or SimtcpBackend())


def run_file(path: Union[str, Path], backend: Optional[SimtcpBackend] = None) -> Verdict:
    """Run the script in a ``.pkt`` file."""
    path = Path(path)
    try:
        script = parse(path.read_text(), name=path.name)
    except ScriptError as e:
        return Verdict(False, e.line, str(e))
    return _run(script, backend or SimtcpBackend())
