"""Running a packetdrill script against a back end: timing, sequence-number mapping, checks.

Theory of operation: the engine walks the script's events in order, the way packetdrill's
run.c does, against a *back end* — anything that has a clock, can inject a packet, reports
the packets its TCP stack sends, and hands out Python-socket-like objects (see `Backend`).
The same engine drives a simtcp host in virtual time (`simtcp.packetdrill.simhost`) and the
real Linux kernel behind a TUN device in wall-clock time (tests/packetdrill_kernel.py).

* Time. An absolute time is seconds from the start; a relative time ``+d`` counts from when
  the previous event actually happened (packetdrill adjust_relative_event_times(); for an
  outbound packet, when the stack sent it), except that consecutive inbound packets are
  anchored on the previous one's scheduled time. An outbound packet expected at t must be
  sent within t ± max(4 ms, 12.5 % of the gap to the previous event's time) — packetdrill's
  defaults (config.c tolerance_usecs = 4000, tolerance_percent = 12.5; run.c
  verify_time()). Inbound packets and system calls happen when the runner makes them
  happen, so they are not timed (packetdrill also times its own punctuality; on a busy
  machine that measures the machine, not the stack).
* Sequence numbers. The script plays the remote end in its own sequence space: an inbound
  packet's seq is sent as written, its ack (and SACK blocks) are relative to the stack's ISN;
  an outbound packet's seq is checked relative to the stack's ISN (learned from its SYN or
  SYN-ACK), its ack and SACK blocks as written.
* Timestamps. An outbound TSval is not checked (it depends on the host's clock); the first
  one seen fixes the offset between the script's TSval and the live one (a packet matched
  with ``<...>`` counts as TSval 0), and a non-zero TSecr the script sends is moved by that
  offset. An outbound TSecr must equal the TSval the script sent.
* Strictness. Every packet the stack sends must be expected by the script: one that arrives
  while the engine waits for anything else fails the script (stricter than packetdrill,
  which only notices a stray packet when it compares the next expected one).
* System calls run non-blocking underneath; a call that would block on a socket the script
  left blocking is outside this subset and fails with a clear message.

The verdict names the script line that failed and why.
"""
from __future__ import annotations

import errno as _errno
import socket as _pysocket
import struct
from dataclasses import dataclass, field
from typing import Dict, List, Optional, Protocol, Tuple

from ..segment import Flags, Options, Packet, Segment
from ..seq import Seq
from .script import (Event, OptionSpec, PacketEvent, Script, ScriptError, SyscallEvent,
                     SysctlEvent, parse)

TOLERANCE = 0.004            # packetdrill config.c: tolerance_usecs = 4000
TOLERANCE_FRACTION = 0.125   # packetdrill config.c: tolerance_percent = 12.5
LOCAL_PORT = 8080            # packetdrill config.c: live_bind_port / live_connect_port
REMOTE_PORT = 40000          # the script's own port when the stack listens
ANY_TIME_WAIT = 10.0         # how long "*" waits for an outbound packet


class Backend(Protocol):
    local_ip: str
    remote_ip: str

    def now(self) -> float: ...                                   # seconds since start
    def advance(self, t: float) -> None: ...                      # let time pass until t
    def pending(self) -> List[Tuple[float, Packet]]: ...          # sent, not yet consumed
    def wait_outbound(self, deadline: float) -> Optional[Tuple[float, Packet]]: ...
    def inject(self, packet: Packet) -> float: ...               # when the stack got it
    def socket(self): ...                                         # non-blocking, like socket.socket
    def inq(self, sock) -> int: ...                               # ioctl(SIOCINQ)
    def set_sysctl(self, name: str, value: str) -> None: ...
    def close(self) -> None: ...


@dataclass
class Verdict:
    passed: bool
    line: int = 0
    message: str = ""
    log: List[str] = field(default_factory=list)
    timing: bool = False         # failed only because a packet came outside its time window

    def __str__(self) -> str:
        return "pass" if self.passed else f"FAIL line {self.line}: {self.message}"


class ScriptFailure(Exception):
    def __init__(self, line: int, message: str, timing: bool = False):
        super().__init__(message)
        self.line = line
        self.timing = timing


@dataclass
class _Flow:
    remote_port: int
    local_port: Optional[int]
    isn: Optional[int] = None
    ts_offset: Optional[int] = None


_NAMES = {n: getattr(_pysocket, n) for n in dir(_pysocket)
          if n.startswith(("SOL_", "SO_", "IPPROTO_", "TCP_", "SHUT_", "MSG_"))}
_NAMES.setdefault("TCP_USER_TIMEOUT", 18)
_NAMES.setdefault("TCP_CORK", 3)
_NAMES.setdefault("SO_REUSEPORT", 15)
O_RDWR, O_NONBLOCK = 0o2, 0o4000


def _value(token: str):
    """An argument: a number, a constant name (``SO_REUSEADDR``), ``A|B``, ``[N]``, or a
    ``{l_onoff=1, l_linger=0}`` struct (packed as C ints, like struct linger)."""
    token = token.strip()
    if token.startswith("{") and token.endswith("}"):
        fields = [f.split("=", 1)[1] for f in token[1:-1].split(",")]
        return struct.pack(f"{len(fields)}i", *(int(f, 0) for f in fields))
    if token.startswith("[") and token.endswith("]"):
        token = token[1:-1]
    total = 0
    for part in token.split("|"):
        part = part.strip()
        if part in _NAMES:
            total |= _NAMES[part]
        elif part in ("O_RDWR", "O_NONBLOCK"):
            total |= O_RDWR if part == "O_RDWR" else O_NONBLOCK
        else:
            total |= int(part, 0)
    return total


class Runner:
    def __init__(self, script: Script, backend: Backend):
        self.script, self.b = script, backend
        self.flows: Dict[Optional[int], _Flow] = {}
        self.fds: Dict[int, object] = {}
        self.nonblocking: Dict[int, bool] = {}
        self.last_time = 0.0          # the previous event's expected time
        self.base = 0.0               # when the previous event actually happened
        self.last_inbound = False
        self.log: List[str] = []

    # ------------------------------------------------------------------ flows
    def _flow(self, port: Optional[int]) -> _Flow:
        if port not in self.flows:
            self.flows[port] = _Flow(port or REMOTE_PORT, LOCAL_PORT)
        return self.flows[port]

    # ------------------------------------------------------------------- time
    def _expected_time(self, ev: Event) -> Optional[float]:
        t = ev.time
        if t.kind == "any":
            return None
        if t.kind == "absolute":
            return t.value
        inbound = isinstance(ev, PacketEvent) and ev.inbound
        if inbound and self.last_inbound:
            return self.last_time + t.value
        return self.base + t.value

    def _range_end(self, ev: Event, expected: float) -> float:
        """The latest expected time (a range ``a~b`` ends at b; else it is ``expected``)."""
        t = ev.time
        return expected if t.end is None else expected + (t.end - t.value)

    def _tolerance(self, expected: float) -> float:
        return max(TOLERANCE, TOLERANCE_FRACTION * (expected - self.last_time))

    def _check_time(self, ev: Event, expected: Optional[float], actual: float, what: str):
        if expected is None:
            return
        tol, end = self._tolerance(expected), self._range_end(ev, expected)
        if actual < expected - tol or actual > end + tol:
            when = f"{expected:.6f} s" if end == expected else \
                f"{expected:.6f}~{end:.6f} s"
            raise ScriptFailure(ev.line, f"timing error: expected {what} at {when} "
                                f"but it happened at {actual:.6f} s; tolerance {tol:.6f} s", timing=True)

    def _no_stray_packets(self, line: int, due: Optional[float] = None) -> None:
        """Fail on a packet the script did not expect. One sent after the moment ``due`` at
        which the runner should have acted (plus the tolerance) answers the runner's own
        lateness — e.g. a retransmission because an inbound ACK was injected late on a busy
        machine — so it is a timing failure (which the kernel back end reruns)."""
        for at, pkt in self.b.pending():
            late = due is not None and at > due + self._tolerance(due)
            raise ScriptFailure(line, f"unexpected outbound packet at {at:.6f} s: "
                                f"{self._describe(pkt)}" + (
                                    f" (after {due:.6f} s, when the runner was due to act)"
                                    if late else ""), timing=late)

    def _describe(self, pkt: Packet) -> str:
        seg = pkt.segment
        flow = next((f for f in self.flows.values() if f.remote_port == seg.dport), None)
        isn = flow.isn if flow and flow.isn is not None else 0
        rel = Segment(seg.sport, seg.dport, Seq(int(seg.seq) - isn), seg.ack, seg.flags,
                      seg.window, seg.options, seg.payload)
        return str(rel)

    # ---------------------------------------------------------------- running
    def run(self) -> Verdict:
        try:
            for ev in self.script.events:
                self._event(ev)
            self._no_stray_packets(self.script.events[-1].line if self.script.events else 0)
        except ScriptFailure as e:
            return Verdict(False, e.line, str(e), self.log, e.timing)
        return Verdict(True, log=self.log)

    def _event(self, ev: Event) -> None:
        expected = self._expected_time(ev)
        if isinstance(ev, PacketEvent) and not ev.inbound:
            self.base = self._outbound(ev, expected)
        else:
            # The runner itself injects packets and makes calls at their time; being late
            # (a busy machine) is not the stack's fault, so only outbound packets are timed.
            if expected is not None and expected > self.b.now():
                self.b.advance(expected)
            self._no_stray_packets(ev.line, expected)
            self.base = None
            if isinstance(ev, PacketEvent):
                self.base = self._inbound(ev)
            elif isinstance(ev, SysctlEvent):
                for k, v in ev.settings:
                    try:
                        self.b.set_sysctl(k, v)
                    except (OSError, KeyError, ValueError) as e:
                        raise ScriptFailure(ev.line, f"sysctl {k}={v}: {e}") from None
            else:
                self._syscall(ev)
            if self.base is None:
                self.base = self.b.now()
        # packetdrill keeps each event's (adjusted) script time as the base of the next
        # event's tolerance (run.c last_event_time_usecs())
        self.last_time = expected if expected is not None else self.base
        self.last_inbound = isinstance(ev, PacketEvent) and ev.inbound

    # ---------------------------------------------------------------- packets
    def _inbound(self, ev: PacketEvent) -> float:
        flow = self._flow(ev.port)
        if flow.local_port is None:
            raise ScriptFailure(ev.line, "inbound packet before the stack's SYN told the "
                                "runner its port")
        isn = flow.isn or 0
        o = ev.options or OptionSpec()
        ts = o.ts
        if ts is not None and ts[1]:
            ts = (ts[0], (ts[1] + (flow.ts_offset or 0)) & 0xFFFFFFFF)
        opts = Options(mss=o.mss, wscale=o.wscale, sack_perm=o.sack_perm, ts=ts,
                       sack=tuple(((l + isn) & 0xFFFFFFFF, (r + isn) & 0xFFFFFFFF)
                                  for l, r in o.sack))
        ack = ((ev.ack or 0) + isn) & 0xFFFFFFFF if ev.ack is not None else 0
        seg = Segment(flow.remote_port, flow.local_port, Seq(ev.start), Seq(ack), ev.flags,
                      ev.win or 0, opts, b"\0" * ev.length)
        self.log.append(f"{self.b.now():.6f} < {seg}")
        return self.b.inject(Packet(self.b.remote_ip, self.b.local_ip, seg))

    def _outbound(self, ev: PacketEvent, expected: Optional[float]) -> float:
        flow = self._flow(ev.port)
        if expected is None:
            deadline = self.b.now() + ANY_TIME_WAIT
        else:
            deadline = self._range_end(ev, expected) + self._tolerance(expected)
        got = self.b.wait_outbound(deadline)
        if got is None:
            end = None if expected is None else self._range_end(ev, expected)
            when = ("any time" if expected is None else f"{expected:.6f} s" if end == expected
                    else f"{expected:.6f}~{end:.6f} s")
            raise ScriptFailure(ev.line, f"expected an outbound {ev.flags.letters} packet at "
                                f"{when}; none by {deadline:.6f} s", timing=True)
        at, pkt = got
        self.log.append(f"{at:.6f} > {pkt.segment}")
        self._check_time(ev, expected, at, "outbound packet")
        self._match(ev, flow, pkt)
        return at

    def _match(self, ev: PacketEvent, flow: _Flow, pkt: Packet) -> None:
        seg = pkt.segment
        def fail(why):
            raise ScriptFailure(ev.line, f"{why}; got {self._describe(pkt)}")
        if pkt.dst != self.b.remote_ip or seg.dport != flow.remote_port or \
                (flow.local_port is not None and seg.sport != flow.local_port):
            fail(f"packet for another flow (expected port {flow.remote_port})")
        flow.local_port = seg.sport
        if seg.flags != ev.flags:
            fail(f"flags: expected {ev.flags.letters}, got {seg.flags.letters}")
        if seg.flags & Flags.SYN and flow.isn is None:
            flow.isn = (int(seg.seq) - ev.start) & 0xFFFFFFFF
        isn = flow.isn or 0
        rel = (int(seg.seq) - isn) & 0xFFFFFFFF
        if rel != ev.start % 2**32 or len(seg.payload) != ev.length:
            fail(f"sequence: expected {ev.start}:{ev.start + ev.length}({ev.length}), got "
                 f"{rel}:{(rel + len(seg.payload)) & 0xFFFFFFFF}({len(seg.payload)})")
        if ev.ack is not None and int(seg.ack) != ev.ack % 2**32:
            fail(f"ack: expected {ev.ack}, got {int(seg.ack)}")
        if ev.win is not None and seg.window != ev.win:
            fail(f"window: expected {ev.win}, got {seg.window}")
        o = seg.options
        if o.ts is not None and flow.ts_offset is None and ev.options and ev.options.ts:
            flow.ts_offset = (o.ts[0] - ev.options.ts[0]) & 0xFFFFFFFF
        elif o.ts is not None and flow.ts_offset is None:
            flow.ts_offset = o.ts[0]
        if ev.options is None:
            return
        e = ev.options
        got = (o.mss, o.wscale, o.sack_perm, o.ts is not None, tuple(o.sack))
        want = (e.mss, e.wscale, e.sack_perm, e.ts is not None, e.sack)
        if got != want or (e.ts and o.ts[1] != e.ts[1]):
            fail(f"options: expected <{_show(e)}>")

    # --------------------------------------------------------------- syscalls
    def _sock(self, ev: SyscallEvent):
        try:
            fd = int(ev.args[0])
        except (IndexError, ValueError):
            raise ScriptFailure(ev.line, f"{ev.name}: the first argument must be a fd") from None
        if fd not in self.fds:
            return fd, None
        return fd, self.fds[fd]

    def _syscall(self, ev: SyscallEvent) -> None:
        handler = getattr(self, f"_sys_{ev.name}", None)
        if handler is None:
            raise ScriptFailure(ev.line, f"system call {ev.name}() is not in this runner's "
                                "subset")
        fd, sock = (None, None) if ev.name == "socket" else self._sock(ev)
        if ev.name != "socket" and sock is None:
            ret, err = -1, _errno.EBADF
        else:
            try:
                ret, err = handler(ev, fd, sock), None
            except BlockingIOError as e:
                if ev.name != "socket" and not self.nonblocking.get(fd):
                    raise ScriptFailure(ev.line, f"{ev.name}() would block on a blocking "
                                        "socket; this runner needs calls that complete at "
                                        "their time (set O_NONBLOCK)") from None
                ret, err = -1, e.errno
            except OSError as e:
                if e.errno is None:
                    raise ScriptFailure(ev.line, f"{ev.name}(): {e}") from None
                ret, err = -1, e.errno
            except (TypeError, ValueError, NotImplementedError) as e:
                raise ScriptFailure(ev.line, f"{ev.name}() not supported by this back end: "
                                    f"{e}") from None
        self.log.append(f"{self.b.now():.6f} {ev.name}({', '.join(ev.args)}) = {ret}"
                        + (f" {_errno.errorcode.get(err, err)}" if err else ""))
        want_err = getattr(_errno, ev.errno) if ev.errno else None
        if ret != ev.ret or (ev.ret == -1 and err != want_err):
            got = f"{ret}" + (f" {_errno.errorcode.get(err, err)}" if err else "")
            want = f"{ev.ret}" + (f" {ev.errno}" if ev.errno else "")
            raise ScriptFailure(ev.line, f"{ev.name}() returned {got}, expected {want}")

    def _new_fd(self, ev: SyscallEvent, sock) -> int:
        """Live fd numbers differ between back ends; the script's numbers name sockets
        (a call expected to fail but succeeding gets the next free number)."""
        fd = ev.ret if ev.ret >= 0 else max(self.fds, default=2) + 1
        self.fds[fd] = sock
        self.nonblocking[fd] = False
        return fd

    def _sys_socket(self, ev, fd, sock):
        return self._new_fd(ev, self.b.socket())

    def _sys_fcntl(self, ev, fd, sock):
        cmd = ev.args[1]
        if cmd == "F_SETFL":
            self.nonblocking[fd] = bool(_value(ev.args[2]) & O_NONBLOCK)
            return 0
        if cmd == "F_GETFL":
            return O_RDWR | (O_NONBLOCK if self.nonblocking[fd] else 0)
        raise NotImplementedError(f"fcntl {cmd}")

    def _sys_setsockopt(self, ev, fd, sock):
        sock.setsockopt(_value(ev.args[1]), _value(ev.args[2]), _value(ev.args[3]))
        return 0

    def _sys_getsockopt(self, ev, fd, sock):
        got = sock.getsockopt(_value(ev.args[1]), _value(ev.args[2]))
        if got != _value(ev.args[3]):
            raise ScriptFailure(ev.line, f"getsockopt {ev.args[2]}: expected {ev.args[3]}, "
                                f"got [{got}]")
        return 0

    def _sys_bind(self, ev, fd, sock):
        sock.bind((self.b.local_ip, LOCAL_PORT))
        return 0

    def _sys_listen(self, ev, fd, sock):
        sock.listen(_value(ev.args[1]))
        return 0

    def _sys_accept(self, ev, fd, sock):
        child, _ = sock.accept()
        child.setblocking(False)
        return self._new_fd(ev, child)

    def _sys_connect(self, ev, fd, sock):
        self.flows[None] = _Flow(LOCAL_PORT, None)
        sock.connect((self.b.remote_ip, LOCAL_PORT))
        return 0

    def _sys_write(self, ev, fd, sock):
        return sock.send(b"\0" * _value(ev.args[2]))

    def _sys_send(self, ev, fd, sock):
        flags = _value(ev.args[3]) if len(ev.args) > 3 else 0
        data = b"\0" * _value(ev.args[2])
        return sock.send(data, flags) if flags else sock.send(data)

    def _sys_read(self, ev, fd, sock):
        return len(sock.recv(_value(ev.args[2])))

    def _sys_recv(self, ev, fd, sock):
        return self._sys_read(ev, fd, sock)

    def _sys_shutdown(self, ev, fd, sock):
        sock.shutdown(_value(ev.args[1]))
        return 0

    def _sys_close(self, ev, fd, sock):
        sock.close()
        del self.fds[fd]
        return 0

    def _sys_ioctl(self, ev, fd, sock):
        if ev.args[1] not in ("SIOCINQ", "FIONREAD"):
            raise NotImplementedError(f"ioctl {ev.args[1]}")
        got = self.b.inq(sock)
        if got != _value(ev.args[2]):
            raise ScriptFailure(ev.line, f"ioctl SIOCINQ: expected {ev.args[2]}, got [{got}]")
        return 0


def _show(o: OptionSpec) -> str:
    parts = []
    if o.mss is not None:
        parts.append(f"mss {o.mss}")
    if o.sack_perm:
        parts.append("sackOK")
    if o.ts:
        parts.append(f"TS val {o.ts[0]} ecr {o.ts[1]}")
    if o.wscale is not None:
        parts.append(f"wscale {o.wscale}")
    if o.sack:
        parts.append("sack " + " ".join(f"{l}:{r}" for l, r in o.sack))
    return ",".join(parts)


def run(script, backend: Backend) -> Verdict:
    """Run a script (text, or an already parsed `Script`) against a back end."""
    if isinstance(script, str):
        try:
            script = parse(script)
        except ScriptError as e:
            return Verdict(False, e.line, str(e))
    try:
        return Runner(script, backend).run()
    finally:
        backend.close()
