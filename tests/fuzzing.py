"""The fuzz harness: case generators per class of input, and the invariants checked after
every batch. Used CI-sized by tests/test_fuzz_harness.py (hypothesis drives the random
choices, so failures shrink) and at length by tests/fuzz_long.py (``make fuzz``).

Classes of cases (each takes a `random.Random` and a `World`):

* ``bytes`` — random bytes; ``mutated`` — a valid datagram with a few bytes changed;
* ``scapy`` — scapy's own ``fuzz(IP()/TCP())``; ``options`` — random TCP option bytes in a
  segment for a live connection;
* ``bad_packet`` — a simtcp `Packet` with random (often wrong) field values, injected;
* ``storm`` — RST/SYN/FIN/ACK with sequence numbers around RCV.NXT for every connection the
  server holds (every state of the busy network);
* ``peer`` — an adversarial peer: tiny MSS, zero window for ever, SACK lies and reneging,
  overlapping floods;
* ``api`` — a socket method with right or wrong arguments on a socket in some state.

Invariants (`check`): nothing but the documented exceptions escapes; every packet is
accounted for; virtual time is finite and the event heap bounded; the receive queues stay
within their buffers; a fresh connection on the same network still works; every view
(text, HTML, ladder data, pcap, ss) renders.
"""
from __future__ import annotations

import math
import random
import socket as pysocket
from typing import Callable, Dict, List, Optional, Tuple

from scapy.layers.inet import IP, TCP
from scapy.packet import fuzz as scapy_fuzz

import simtcp
from simtcp import wire
from simtcp.errors import SimulationIdleError
from simtcp.segment import Flags, Options, Packet, Segment
from simtcp.seq import Seq

from api_parity import CALLS, STATES, SimEnv
from conftest import accounting_ok
from test_fuzz import VALID, busy_network

# what a caller may legitimately see from the API (Python's socket raises the same)
API_ERRORS = (OSError, TypeError, ValueError, OverflowError, SimulationIdleError)
MAX_EVENTS = 200_000           # per batch run: more means a runaway (counted as a hang)


class Hang(Exception):
    """A batch did not settle within MAX_EVENTS events."""


class World:
    """The busy network of tests/test_fuzz.py: a server holding a connection in (nearly)
    every state, a client host and a raw peer on one LAN."""

    def __init__(self, isn: Optional[int] = None) -> None:
        self.net, self.server = busy_network()
        self.client = self.net["c"]
        if isn is not None:     # the server's next connections start there (RFC 6528's choice)
            self.server.stack.isn = lambda t: isn

    def run(self, seconds: float) -> None:
        net = self.net
        net.run(until=net.now + seconds, max_events=MAX_EVENTS)
        if net.next_event_time() is not None and net.next_event_time() <= net.now:
            raise Hang(f"more than {MAX_EVENTS} events at t={net.now}")


def _rand_bytes(rng: random.Random, n: int) -> bytes:
    return bytes(rng.getrandbits(8) for _ in range(n))


def case_bytes(rng, w: World) -> None:
    w.server.inject(_rand_bytes(rng, rng.randrange(0, 120)))


def case_mutated(rng, w: World) -> None:
    data = bytearray(VALID)
    for _ in range(rng.randrange(1, 6)):
        data[rng.randrange(len(data))] = rng.getrandbits(8)
    w.server.inject(bytes(data))


def case_scapy(rng, w: World) -> None:
    state = random.getstate()
    random.seed(rng.getrandbits(64))       # scapy's fuzz() draws from the global RNG
    try:
        pkt = scapy_fuzz(IP(src="10.0.0.9", dst="10.0.0.2") / TCP(dport=80))
        data = bytes(pkt)
    except Exception:  # noqa: BLE001 - scapy could not build its own fuzz: not our case
        return
    finally:
        random.setstate(state)
    w.server.inject(data)


def _live_segment(w: World, rng) -> Tuple[Packet, object]:
    conns = [c for c in w.server.stack.conns.values()]
    conn = rng.choice(conns) if conns else None
    if conn is None:
        seg = Segment(rng.randrange(1024, 65536), 80, Seq(rng.getrandbits(32)), Seq(0),
                      Flags.SYN, 1024)
        return Packet("10.0.0.9", "10.0.0.2", seg), None
    t = conn.tuple
    seg = Segment(t.remote_port, t.local_port, Seq(conn.rcv_nxt), Seq(conn.snd_nxt),
                  Flags.ACK | Flags.PSH, 1024, payload=b"f" * rng.randrange(0, 40))
    return Packet(t.remote_ip, t.local_ip, seg), conn


def case_options(rng, w: World) -> None:
    p, _ = _live_segment(w, rng)
    opts = _rand_bytes(rng, rng.randrange(0, 41))
    opts += b"\x00" * (-len(opts) % 4)
    data = bytearray(wire.encode(p))
    tcp = data[20:40] + opts + data[40:]
    tcp[12] = ((20 + len(opts)) // 4) << 4
    tcp[16:18] = b"\x00\x00"
    ip = bytearray(data[:20])
    ip[2:4] = (20 + len(tcp)).to_bytes(2, "big")
    ip[10:12] = b"\x00\x00"
    ip[10:12] = wire.internet_checksum(bytes(ip)).to_bytes(2, "big")
    pseudo = bytes(ip[12:20]) + bytes([0, 6]) + len(tcp).to_bytes(2, "big")
    tcp[16:18] = wire.internet_checksum(pseudo + bytes(tcp)).to_bytes(2, "big")
    w.server.inject(bytes(ip) + bytes(tcp))


_WEIRD = (None, -1, 0, 1, 2**16, 2**32, 2**64, 1.5, math.nan, "x", b"x", (), (1,), ((1, 2),),
          True, object())


def _weird(rng, good):
    return good if rng.random() < 0.7 else rng.choice(_WEIRD)


def case_bad_packet(rng, w: World) -> None:
    """A Packet with random field values: the boundary must refuse it with ValueError
    (or accept it); anything else escaping is a crash."""
    good, _ = _live_segment(w, rng)
    s = good.segment
    o = Options(mss=_weird(rng, None), wscale=_weird(rng, None), sack_perm=_weird(rng, False),
                ts=_weird(rng, None), sack=_weird(rng, ()), extra=_weird(rng, ()))
    seg = Segment(_weird(rng, s.sport), _weird(rng, s.dport), _weird(rng, s.seq),
                  _weird(rng, s.ack), _weird(rng, s.flags), _weird(rng, s.window),
                  _weird(rng, o), _weird(rng, s.payload), _weird(rng, 0))
    try:
        pkt = Packet(_weird(rng, good.src), _weird(rng, good.dst), _weird(rng, seg),
                     _weird(rng, 64), _weird(rng, 0), _weird(rng, True))
    except (TypeError, ValueError):
        return                   # Packet itself refuses a payload that is no payload
    try:
        w.server.inject(pkt)
    except ValueError:
        pass


def case_storm(rng, w: World) -> None:
    """RST/SYN/FIN/ACK around RCV.NXT for each connection the server holds."""
    for conn in list(w.server.stack.conns.values()):
        t = conn.tuple
        flags = rng.choice((Flags.RST, Flags.SYN, Flags.RST | Flags.ACK, Flags.SYN | Flags.ACK,
                            Flags.FIN | Flags.ACK, Flags.ACK))
        seq = conn.rcv_nxt + rng.choice((0, 1, -1, 100, 2**31, rng.getrandbits(32)))
        seg = Segment(t.remote_port, t.local_port, Seq(seq), Seq(conn.snd_una + rng.choice(
            (0, 1, -1, 2**20))), flags, rng.randrange(0, 65536))
        w.server.inject(Packet(t.remote_ip, t.local_ip, seg))


def case_peer(rng, w: World) -> None:
    """An adversarial peer against the server's listener: a handshake with a tiny or odd
    MSS, then a zero window, SACK lies or an overlapping flood."""
    net, srv = w.net, w.server
    sport = rng.randrange(20000, 30000)
    opts = Options(mss=rng.choice((0, 1, 11, 12, 47, 48, 536, 1460)),
                   sack_perm=rng.random() < 0.7,
                   ts=(1, 0) if rng.random() < 0.5 else None)
    syn = Segment(sport, 80, Seq(1000), Seq(0), Flags.SYN, rng.choice((0, 1, 65535)), opts)
    srv.inject(Packet("10.0.0.9", "10.0.0.2", syn))
    w.run(0.01)
    conn = srv.stack.conns.get(simtcp.FourTuple("10.0.0.2", 80, "10.0.0.9", sport))
    if conn is None:
        return
    window = rng.choice((0, 0, 1, 100, 65535))
    ack = Segment(sport, 80, Seq(1001), Seq(conn.snd_nxt), Flags.ACK, window,
                  Options(ts=(2, 0)) if opts.ts else Options())
    srv.inject(Packet("10.0.0.9", "10.0.0.2", ack))
    for _ in range(rng.randrange(0, 30)):
        what = rng.random()
        if what < 0.4:       # overlapping out-of-order data
            off = rng.randrange(1, 3000)
            seg = Segment(sport, 80, Seq(1001 + off), Seq(conn.snd_nxt), Flags.ACK, window,
                          payload=b"o" * rng.randrange(1, 1400))
        else:                # an ACK with lies in its SACK blocks
            blocks = tuple((int(Seq(conn.snd_una + rng.randrange(-10, 5000))),
                            int(Seq(conn.snd_una + rng.randrange(-10, 5000)))) for _ in
                           range(rng.randrange(0, 4)))
            seg = Segment(sport, 80, Seq(1001), Seq(conn.snd_una + rng.randrange(0, 3)),
                          Flags.ACK, window, Options(sack=blocks))
        srv.inject(Packet("10.0.0.9", "10.0.0.2", seg))
    if conn.state is simtcp.State.ESTABLISHED:
        conn.send(b"d" * rng.randrange(0, 5000), net.now)
        srv.stack.kick(conn)


def case_api(rng, w: World) -> None:
    env = SimEnv()
    state = rng.choice(list(STATES))
    _, call, _ = rng.choice(CALLS)
    s = STATES[state](env)
    try:
        call(s, env)
    except API_ERRORS:
        pass
    env.net.run(until=env.net.now + 1)
    check_views(env.net)


CASES: Dict[str, Callable] = {
    "bytes": case_bytes, "mutated": case_mutated, "scapy": case_scapy, "options": case_options,
    "bad_packet": case_bad_packet, "storm": case_storm, "peer": case_peer, "api": case_api,
}


# ------------------------------------------------------------------ invariants

def check_views(net) -> None:
    assert isinstance(str(net.capture), str)
    assert net.capture._repr_html_()
    assert net.trace.log() is not None and net.trace._repr_html_()
    assert net.capture.pcap_bytes()[:4] == b"\xd4\xc3\xb2\xa1"
    for node in net.nodes.values():
        if hasattr(node, "ss"):
            assert node.ss() is not None


def fresh_connection_works(net, client, server) -> None:
    port = 9000 + len(server.stack.listeners)
    lst = server.socket()
    lst.bind(("", port))
    lst.listen(64)
    c = client.socket()
    c.settimeout(30)
    c.connect((server.ip, port))
    b, _ = lst.accept()
    c.sendall(b"ping")
    assert b.recv(4) == b"ping"
    for s in (c, b, lst):
        s.close()


def check(w: World) -> None:
    net = w.net
    assert math.isfinite(net.now)
    assert accounting_ok(net)
    assert len(net._heap) < 100_000 and net.in_flight < 100_000
    for node in net.nodes.values():
        stack = getattr(node, "stack", None)
        if stack is None:
            continue
        for conn in stack.conns.values():
            assert len(conn.rcvq) + (conn.ooo.nbytes if conn.ooo else 0) <= conn.rb.rcvbuf + 65535
            assert len(conn.sndq) <= conn.cfg.sndbuf
    check_views(net)
    fresh_connection_works(net, w.client, w.server)


def run_batch(kind: str, rng: random.Random, cases: int,
              isn: Optional[int] = None) -> List[str]:
    """``cases`` cases of one class on one World (``isn``: the ISN of the server's new
    connections), then the invariants. Returns the problems (an empty list when all is
    well); a crash is an exception escaping a case."""
    problems = []
    w = World(isn)
    gen = CASES[kind]
    for _ in range(cases):
        try:
            gen(rng, w)
            w.run(0.5)
        except Hang as e:
            problems.append(f"hang: {e}")
            return problems
        except Exception as e:  # noqa: BLE001 - the harness reports, the test asserts
            problems.append(f"crash: {type(e).__name__}: {e}")
            return problems
    try:
        w.run(5)
        check(w)
    except Exception as e:  # noqa: BLE001
        problems.append(f"invariant: {type(e).__name__}: {e}")
    return problems
