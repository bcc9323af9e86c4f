"""The RFC 9293 connection states and the table of allowed transitions.

Theory of operation: `TRANSITIONS` is the state machine of RFC 9293 §3.3.2 (Figure 5) as
data. `tcp.Connection` may change state only along a row of this table (it checks), every
change becomes a trace record carrying the row's event text and RFC section, and
`simtcp.viz.state_diagram` draws the figure from the same rows — so the picture cannot drift
from the code.
"""
from __future__ import annotations

import enum
from typing import NamedTuple, Tuple


class State(enum.Enum):
    CLOSED = "CLOSED"
    LISTEN = "LISTEN"
    SYN_SENT = "SYN-SENT"
    SYN_RECEIVED = "SYN-RECEIVED"
    ESTABLISHED = "ESTABLISHED"
    FIN_WAIT_1 = "FIN-WAIT-1"
    FIN_WAIT_2 = "FIN-WAIT-2"
    CLOSE_WAIT = "CLOSE-WAIT"
    CLOSING = "CLOSING"
    LAST_ACK = "LAST-ACK"
    TIME_WAIT = "TIME-WAIT"

    # Members are singletons compared by identity, so identity is a valid hash; Enum's own
    # __hash__ (hash of the name) runs in Python, and states are dict keys on every segment.
    __hash__ = object.__hash__

    def __str__(self) -> str:
        return self.value

    def __init__(self, value: str) -> None:
        #: RFC 9293 §3.5.2: the states after the handshake has been seen through. Set once
        #: per member (a plain attribute, not a property: the sender asks on every ACK).
        self.synchronized: bool = value not in ("CLOSED", "LISTEN", "SYN-SENT", "SYN-RECEIVED")

    @property
    def ss_name(self) -> str:
        """The name `ss` prints (ESTAB, SYN-RECV, TIME-WAIT, …)."""
        return _SS_NAMES[self]


_SS_NAMES = {State.CLOSED: "UNCONN", State.LISTEN: "LISTEN", State.SYN_SENT: "SYN-SENT",
             State.SYN_RECEIVED: "SYN-RECV", State.ESTABLISHED: "ESTAB",
             State.FIN_WAIT_1: "FIN-WAIT-1", State.FIN_WAIT_2: "FIN-WAIT-2",
             State.CLOSE_WAIT: "CLOSE-WAIT", State.CLOSING: "CLOSING",
             State.LAST_ACK: "LAST-ACK", State.TIME_WAIT: "TIME-WAIT"}


class Transition(NamedTuple):
    src: State
    dst: State
    event: str      # what happens, RFC 9293 Figure 5 style: "rcv SYN / snd SYN,ACK"
    rfc: str        # where the RFC says so


S = State

# The members as module constants too (like re.IGNORECASE): ``st is ESTABLISHED`` reads like
# ``st is State.ESTABLISHED``, but a State.X look-up passes through Python 3.11's
# EnumType.__getattr__ hook (about 7x the cost of a global) and the TCP code asks on
# every segment.
(CLOSED, LISTEN, SYN_SENT, SYN_RECEIVED, ESTABLISHED, FIN_WAIT_1, FIN_WAIT_2, CLOSE_WAIT,
 CLOSING, LAST_ACK, TIME_WAIT) = State

TRANSITIONS: Tuple[Transition, ...] = (
    Transition(S.CLOSED, S.LISTEN, "passive OPEN", "RFC 9293 §3.10.1"),
    Transition(S.CLOSED, S.SYN_SENT, "active OPEN / snd SYN", "RFC 9293 §3.10.1"),
    Transition(S.LISTEN, S.SYN_RECEIVED, "rcv SYN / snd SYN,ACK", "RFC 9293 §3.10.7.2"),
    Transition(S.LISTEN, S.SYN_SENT, "SEND / snd SYN", "RFC 9293 §3.10.2"),
    Transition(S.LISTEN, S.CLOSED, "CLOSE", "RFC 9293 §3.10.4"),
    Transition(S.SYN_SENT, S.ESTABLISHED, "rcv SYN,ACK / snd ACK", "RFC 9293 §3.10.7.3"),
    Transition(S.SYN_SENT, S.SYN_RECEIVED, "rcv SYN / snd SYN,ACK (simultaneous open)",
               "RFC 9293 §3.10.7.3"),
    Transition(S.SYN_SENT, S.CLOSED, "CLOSE, RST or timeout", "RFC 9293 §3.10.7.3"),
    Transition(S.SYN_RECEIVED, S.ESTABLISHED, "rcv ACK of SYN", "RFC 9293 §3.10.7.4"),
    Transition(S.SYN_RECEIVED, S.FIN_WAIT_1, "CLOSE / snd FIN", "RFC 9293 §3.10.4"),
    Transition(S.SYN_RECEIVED, S.LISTEN, "rcv RST (passive open)", "RFC 9293 §3.10.7.4"),
    Transition(S.SYN_RECEIVED, S.CLOSED, "rcv RST or timeout", "RFC 9293 §3.10.7.4"),
    Transition(S.ESTABLISHED, S.FIN_WAIT_1, "CLOSE / snd FIN", "RFC 9293 §3.10.4"),
    Transition(S.ESTABLISHED, S.CLOSE_WAIT, "rcv FIN / snd ACK", "RFC 9293 §3.10.7.4"),
    Transition(S.ESTABLISHED, S.CLOSED, "rcv RST or timeout", "RFC 9293 §3.10.7.4"),
    Transition(S.FIN_WAIT_1, S.FIN_WAIT_2, "rcv ACK of FIN", "RFC 9293 §3.10.7.4"),
    Transition(S.FIN_WAIT_1, S.CLOSING, "rcv FIN / snd ACK (simultaneous close)",
               "RFC 9293 §3.10.7.4"),
    Transition(S.FIN_WAIT_1, S.TIME_WAIT, "rcv FIN,ACK / snd ACK", "RFC 9293 §3.10.7.4"),
    Transition(S.FIN_WAIT_1, S.CLOSED, "rcv RST or timeout", "RFC 9293 §3.10.7.4"),
    Transition(S.FIN_WAIT_2, S.TIME_WAIT, "rcv FIN / snd ACK", "RFC 9293 §3.10.7.4"),
    Transition(S.FIN_WAIT_2, S.CLOSED, "rcv RST or timeout", "RFC 9293 §3.10.7.4"),
    Transition(S.CLOSE_WAIT, S.LAST_ACK, "CLOSE / snd FIN", "RFC 9293 §3.10.4"),
    Transition(S.CLOSE_WAIT, S.CLOSED, "rcv RST or timeout", "RFC 9293 §3.10.7.4"),
    Transition(S.CLOSING, S.TIME_WAIT, "rcv ACK of FIN", "RFC 9293 §3.10.7.4"),
    Transition(S.CLOSING, S.CLOSED, "rcv RST", "RFC 9293 §3.10.7.4"),
    Transition(S.LAST_ACK, S.CLOSED, "rcv ACK of FIN (or RST, timeout)", "RFC 9293 §3.10.7.4"),
    Transition(S.TIME_WAIT, S.CLOSED, "timeout = 2 MSL (or new SYN, RST)", "RFC 9293 §3.10.8"),
)
del S


class _Edges(dict):
    """(src, dst) -> the `Transition` row; an edge RFC 9293 does not have raises ValueError
    (``__missing__``), so checking a state change is one dict look-up."""

    def __missing__(self, edge: Tuple[State, State]) -> Transition:
        src, dst = edge
        raise ValueError(f"RFC 9293 has no transition {src} -> {dst}")


#: The rows of `TRANSITIONS` by edge: ``EDGES[src, dst]`` is the row, or ValueError.
EDGES = _Edges(((t.src, t.dst), t) for t in TRANSITIONS)

#: A state's name as trace records carry it ("SYN-SENT"): ``NAME[s] == s.value``, without
#: the cost of enum's ``value`` property on the hot path.
NAME = {s: s.value for s in State}


def transition(src: State, dst: State) -> Transition:
    """The table row from ``src`` to ``dst``; ValueError if the RFC has no such edge."""
    return EDGES[src, dst]
