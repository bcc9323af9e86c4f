"""Side-by-side misuse of simtcp sockets and Python's real `socket` on 127.0.0.1.

Every case puts a socket in a state (new, bound, listening, connected, write-shut, closed,
closed after connecting), makes one call with right or wrong arguments, and records the
outcome: the return value (where it is comparable) or the exception class and errno. The
test (tests/test_api_parity.py) asserts that both agree except for the short allow-list of
documented differences; ``python tests/api_parity.py`` prints the mismatches.

The real side uses loopback only. Its sockets stay in blocking mode (a Python timeout would
change what connect() reports), but the kernel's SO_RCVTIMEO/SO_SNDTIMEO end a call that
would block for ever after 0.2 s with EAGAIN; that is what simtcp's SimulationIdleError
stands for (the allow-list).
"""
from __future__ import annotations

import errno
import math
import socket
import struct
from typing import Callable, Dict, List, NamedTuple, Optional, Tuple

import simtcp

REAL_TIMEOUT = 0.2
SO, TCP_ = socket.SOL_SOCKET, socket.IPPROTO_TCP


class Outcome(NamedTuple):
    kind: str                  # "ok" or the exception class name
    errno: Optional[int] = None
    value: object = None

    def __str__(self) -> str:
        if self.kind == "ok":
            return f"ok {self.value!r}" if self.value is not None else "ok"
        return f"{self.kind}({self.errno})" if self.errno is not None else self.kind


class RealEnv:
    """Python's socket on loopback: a listening server to connect to, a refused port."""

    ip = "127.0.0.1"

    def __init__(self) -> None:
        self.owned: List[socket.socket] = []
        self.listener = self.track(socket.socket())
        self.listener.bind((self.ip, 0))
        self.listener.listen(16)
        self.server = self.listener.getsockname()
        probe = socket.socket()
        probe.bind((self.ip, 0))
        self.refused = probe.getsockname()      # bound, never listening: connect is refused
        self.owned.append(probe)

    def track(self, s):
        self.owned.append(s)
        return s

    def sock(self, *args):
        s = self.track(socket.socket(*args))
        limit = struct.pack("ll", 0, int(REAL_TIMEOUT * 1e6))
        s.setsockopt(SO, socket.SO_RCVTIMEO, limit)
        s.setsockopt(SO, socket.SO_SNDTIMEO, limit)
        return s

    def accept(self) -> None:
        self.track(self.listener.accept()[0])

    def close(self) -> None:
        for s in self.owned:
            s.close()


class SimEnv:
    """The same on a two-host simtcp network (10.0.0.1 is the client, 10.0.0.2 listens)."""

    ip = "10.0.0.1"

    def __init__(self) -> None:
        self.net = simtcp.Network(seed=5)
        self.client = self.net.add_host("client", self.ip)
        self.host2 = self.net.add_host("server", "10.0.0.2")
        self.net.add_link(self.client, self.host2, delay=0.001)
        self.listener = self.host2.socket()
        self.listener.bind(("10.0.0.2", 80))
        self.listener.listen(16)
        self.server = ("10.0.0.2", 80)
        self.refused = ("10.0.0.2", 81)

    def sock(self, *args):
        return self.client.socket(*args)

    def accept(self) -> None:
        self.listener.accept()

    def close(self) -> None:
        pass


# ------------------------------------------------------------------ states

def _new(e):
    return e.sock()


def _bound(e):
    s = e.sock()
    s.bind((e.ip, 0))
    return s


def _listening(e):
    s = _bound(e)
    s.listen(5)
    return s


def _connected(e):
    s = e.sock()
    s.connect(e.server)
    e.accept()
    return s


def _shut_wr(e):
    s = _connected(e)
    s.shutdown(socket.SHUT_WR)
    return s


def _closed(e):
    s = e.sock()
    s.close()
    return s


def _closed_connected(e):
    s = _connected(e)
    s.close()
    return s


STATES: Dict[str, Callable] = {
    "new": _new, "bound": _bound, "listening": _listening, "connected": _connected,
    "shut_wr": _shut_wr, "closed": _closed, "closed_connected": _closed_connected,
}


# ------------------------------------------------------------------ calls
# (name, call, compare the return value?)

def _nb(fn):
    def call(s, e):
        s.setblocking(False)
        return fn(s, e)
    return call


CALLS: List[Tuple[str, Callable, bool]] = [
    ("bind", lambda s, e: s.bind((e.ip, 0)), True),
    ("bind(port=True)", lambda s, e: s.bind((e.ip, True)), True),
    ("bind(port='80')", lambda s, e: s.bind((e.ip, "80")), True),
    ("bind(port=-1)", lambda s, e: s.bind((e.ip, -1)), True),
    ("bind(port=70000)", lambda s, e: s.bind((e.ip, 70000)), True),
    ("bind(port=1.5)", lambda s, e: s.bind((e.ip, 1.5)), True),
    ("bind('x')", lambda s, e: s.bind("x"), True),
    ("bind((1, 2))", lambda s, e: s.bind((1, 2)), True),
    ("listen(5)", lambda s, e: s.listen(5), True),
    ("listen()", lambda s, e: s.listen(), True),
    ("listen('5')", lambda s, e: s.listen("5"), True),
    ("listen(5.5)", lambda s, e: s.listen(5.5), True),
    ("listen(-1)", lambda s, e: s.listen(-1), True),
    ("connect", lambda s, e: s.connect(e.server), True),
    ("connect(refused)", lambda s, e: s.connect(e.refused), True),
    ("connect('x')", lambda s, e: s.connect("x"), True),
    ("connect_ex", lambda s, e: s.connect_ex(e.server), True),
    ("accept (non-blocking)", _nb(lambda s, e: s.accept()), False),
    ("send(b'x')", lambda s, e: s.send(b"x"), True),
    ("send('x')", lambda s, e: s.send("x"), True),
    ("send(None)", lambda s, e: s.send(None), True),
    ("sendall(b'xy')", lambda s, e: s.sendall(b"xy"), True),
    ("sendall(b'', 1.5)", lambda s, e: s.sendall(b"", 1.5), True),
    ("sendall(bytearray)", lambda s, e: s.sendall(bytearray(b"xy")), True),
    ("recv(0)", lambda s, e: s.recv(0), True),
    ("recv(10)", lambda s, e: s.recv(10), True),
    ("recv(-1)", lambda s, e: s.recv(-1), True),
    ("recv(1.5)", lambda s, e: s.recv(1.5), True),
    ("recv('1')", lambda s, e: s.recv("1"), True),
    ("recv (non-blocking)", _nb(lambda s, e: s.recv(10)), True),
    ("shutdown(SHUT_WR)", lambda s, e: s.shutdown(socket.SHUT_WR), True),
    ("shutdown(SHUT_RDWR)", lambda s, e: s.shutdown(socket.SHUT_RDWR), True),
    ("shutdown(5)", lambda s, e: s.shutdown(5), True),
    ("shutdown('1')", lambda s, e: s.shutdown("1"), True),
    ("setsockopt(SO_REUSEADDR, 1)", lambda s, e: s.setsockopt(SO, socket.SO_REUSEADDR, 1), True),
    ("setsockopt(SO_REUSEADDR, '1')",
     lambda s, e: s.setsockopt(SO, socket.SO_REUSEADDR, "1"), True),
    ("setsockopt(TCP_NODELAY, None)", lambda s, e: s.setsockopt(TCP_, socket.TCP_NODELAY, None),
     True),
    ("getsockopt(SO_ERROR)", lambda s, e: s.getsockopt(SO, socket.SO_ERROR), True),
    ("getsockopt(SO_TYPE)", lambda s, e: s.getsockopt(SO, socket.SO_TYPE), True),
    ("getsockopt(SO_REUSEADDR)", lambda s, e: s.getsockopt(SO, socket.SO_REUSEADDR), True),
    ("getsockopt(TCP_NODELAY)", lambda s, e: s.getsockopt(TCP_, socket.TCP_NODELAY), True),
    ("setblocking('x')", lambda s, e: s.setblocking("x"), True),
    ("setblocking(True)", lambda s, e: s.setblocking(True), True),
    ("settimeout(nan)", lambda s, e: s.settimeout(math.nan), True),
    ("settimeout(-1)", lambda s, e: s.settimeout(-1), True),
    ("gettimeout after settimeout(2)", lambda s, e: (s.settimeout(2), s.gettimeout())[1], True),
    ("getsockname", lambda s, e: type(s.getsockname()).__name__, True),
    ("getpeername", lambda s, e: type(s.getpeername()).__name__, True),
    ("fileno() == -1", lambda s, e: s.fileno() == -1, True),
    ("close", lambda s, e: s.close(), True),
]

CONSTRUCTORS: List[Tuple[str, tuple]] = [
    ("socket(AF_INET, SOCK_STREAM, 17)", (socket.AF_INET, socket.SOCK_STREAM, 17)),
    ("socket(AF_INET, SOCK_STREAM, 6)", (socket.AF_INET, socket.SOCK_STREAM, 6)),
    ("socket(AF_INET, SOCK_STREAM, 0)", (socket.AF_INET, socket.SOCK_STREAM, 0)),
    ("socket(AF_INET, 99)", (socket.AF_INET, 99)),
]

# Documented differences: (case name or "*", real outcome kind, simtcp outcome kind)
ALLOWED = {
    # a blocking call that can never complete: Python waits (here: 0.2 s timeout), simtcp
    # raises SimulationIdleError (README, simtcp.errors)
    ("*", "TimeoutError", "SimulationIdleError"),
}


def outcome(fn, compare: bool, sock=None) -> Outcome:
    try:
        value = fn()
    except Exception as exc:  # noqa: BLE001 - the outcome is what we compare
        kind = type(exc).__name__
        if isinstance(exc, simtcp.SimulationIdleError):
            kind = "SimulationIdleError"
        elif (isinstance(exc, BlockingIOError) and exc.errno == errno.EAGAIN
              and isinstance(sock, socket.socket) and sock.getblocking()):
            return Outcome("TimeoutError")        # SO_RCVTIMEO/SO_SNDTIMEO: blocked for ever
        return Outcome(kind, getattr(exc, "errno", None) if isinstance(exc, OSError) else None)
    return Outcome("ok", None, value if compare else None)


def run_case(env_cls, state: str, call) -> Outcome:
    env = env_cls()
    try:
        try:
            s = STATES[state](env)
        except Exception as exc:  # noqa: BLE001
            return Outcome(f"setup failed: {type(exc).__name__}: {exc}")
        return outcome(lambda: call[1](s, env), call[2], s)
    finally:
        env.close()


def run_constructor(env_cls, args) -> Outcome:
    env = env_cls()
    try:
        return outcome(lambda: env.sock(*args) and None, False)
    finally:
        env.close()


def cases():
    for state in STATES:
        for call in CALLS:
            yield f"{state}: {call[0]}", (state, call)
    for name, args in CONSTRUCTORS:
        yield name, (None, args)


def compare(case) -> Tuple[Outcome, Outcome]:
    state, what = case
    if state is None:
        return run_constructor(RealEnv, what), run_constructor(SimEnv, what)
    return run_case(RealEnv, state, what), run_case(SimEnv, state, what)


def allowed(name: str, real: Outcome, sim: Outcome) -> bool:
    return any(n in ("*", name) and r == real.kind and s == sim.kind for n, r, s in ALLOWED)


def mismatches() -> List[Tuple[str, Outcome, Outcome]]:
    out = []
    for name, case in cases():
        real, sim = compare(case)
        if real != sim and not allowed(name, real, sim):
            out.append((name, real, sim))
    return out


if __name__ == "__main__":
    bad = mismatches()
    total = sum(1 for _ in cases())
    for name, real, sim in bad:
        print(f"{name:<48} real: {real!s:<28} simtcp: {sim}")
    print(f"{len(bad)} of {total} cases differ (outside the allow-list)")
