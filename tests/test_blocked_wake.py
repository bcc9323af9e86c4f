"""A blocked socket call asks its condition again only after an event that touched its
connection (the `_changed` mark `Stack._after` sets; `simtcp.socket` module docstring).

Each scenario runs twice: as shipped, and with the mark ignored, so that the condition is
asked after every event of the network (what `Network.step_until` did before the mark).
Both runs must return at the same instant with the same outcome and leave the same trace:
the mark may only save askings, never move a wake-up. A busy network (other connections
exchanging data) shows the saving: the waiting call is not asked about their events.
"""
import errno
import struct

import pytest

import simtcp
from simtcp.socket import SO_LINGER, SOL_SOCKET


def _network(ask_every_event: bool):
    """A client and a server, and ``asked``: the instants a blocked call's condition was
    asked at (the first asking, in `_wait` itself, is not counted)."""
    net = simtcp.Network(seed=5, wire="fast")
    c = net.add_host("client", "10.0.0.1")
    s = net.add_host("server", "10.0.0.2")
    net.add_link(c, s, delay=0.001)
    asked = []
    step_until = net.step_until

    def counting_step_until(predicate, timeout=None, watched=None):
        def counted() -> bool:
            asked.append(net.now)
            return predicate()
        return step_until(counted, timeout, None if ask_every_event else watched)

    net.step_until = counting_step_until        # (an instance attribute: this network only)
    return net, c, s, asked


def _pair(net, c, s, port=80):
    srv = s.socket()
    srv.bind(("", port))
    srv.listen(8)
    cli = c.socket()
    cli.connect(("10.0.0.2", port))
    conn, _ = srv.accept()
    return srv, cli, conn


def _data(net, c, s):
    srv, cli, conn = _pair(net, c, s)
    net.call_later(0.5, conn.send, b"late")     # arrives while cli.recv() waits
    return cli.recv(100)


def _eof(net, c, s):
    srv, cli, conn = _pair(net, c, s)
    net.call_later(0.5, conn.close)
    return cli.recv(100)


def _rst(net, c, s):
    srv, cli, conn = _pair(net, c, s)
    conn.setsockopt(SOL_SOCKET, SO_LINGER, struct.pack("ii", 1, 0))
    net.call_later(0.5, conn.close)             # linger 0: close() sends a RST
    try:
        cli.recv(100)
    except ConnectionResetError as e:
        return e.errno
    return None


def _timeout(net, c, s):
    srv, cli, conn = _pair(net, c, s)
    cli.settimeout(0.25)
    try:
        cli.recv(100)
    except TimeoutError:
        return "timeout"
    return None


def _accept(net, c, s):
    srv = s.socket()
    srv.bind(("", 80))
    srv.listen(8)
    cli = c.socket()
    cli.setblocking(False)
    net.call_later(0.5, cli.connect_ex, ("10.0.0.2", 80))   # a client comes later
    conn, peer = srv.accept()
    return peer


def _refused(net, c, s):
    cli = c.socket()
    return cli.connect_ex(("10.0.0.2", 81))     # nothing listens: the SYN is answered by RST


def _busy(net, c, s):
    """cli.recv() waits while another connection moves 200 kB: none of its events touch
    cli's connection."""
    srv, cli, conn = _pair(net, c, s)
    _, bulk_cli, bulk_conn = _pair(net, c, s, port=81)
    bulk_cli.setblocking(False)
    bulk_cli.send(b"z" * 200_000)
    net.call_later(0.5, conn.send, b"late")
    return cli.recv(100)


SCENARIOS = {"data": (_data, b"late"), "eof": (_eof, b""),
             "rst": (_rst, errno.ECONNRESET), "timeout": (_timeout, "timeout"),
             "accept": (_accept, ("10.0.0.1", None)), "refused": (_refused, errno.ECONNREFUSED),
             "busy": (_busy, b"late")}


@pytest.mark.parametrize("name", sorted(SCENARIOS))
def test_a_blocked_call_wakes_when_and_as_it_did_asking_after_every_event(name):
    scenario, expected = SCENARIOS[name]
    runs = []
    for ask_every_event in (True, False):
        net, c, s, asked = _network(ask_every_event)
        result = scenario(net, c, s)
        if name == "accept":
            result = (result[0], None)          # (the ephemeral port is the allocator's)
        assert result == expected
        runs.append((result, net.now, net.trace.text(), asked))
    (r_all, now_all, text_all, asked_all), (r_mark, now_mark, text_mark, asked_mark) = runs
    assert (r_mark, now_mark, text_mark) == (r_all, now_all, text_all)
    # the wake-up itself is asked at the same instant; fewer askings before it
    assert asked_mark and asked_mark[-1] == asked_all[-1]
    assert set(asked_mark) <= set(asked_all) and len(asked_mark) <= len(asked_all)


def test_events_of_other_connections_do_not_ask_a_blocked_call():
    counts = []
    for ask_every_event in (True, False):
        net, c, s, asked = _network(ask_every_event)
        srv, cli, conn = _pair(net, c, s)
        _, bulk_cli, bulk_conn = _pair(net, c, s, port=81)
        bulk_cli.setblocking(False)
        bulk_cli.send(b"z" * 200_000)           # 200 kB move while cli.recv() waits
        net.call_later(0.5, conn.send, b"late")
        asked.clear()
        assert cli.recv(100) == b"late"
        counts.append(len(asked))
    # asking after every event, the bulk transfer's events dominate; with the mark the
    # blocked recv() is asked only about its own connection: once, as the data arrives
    assert counts[0] > 50 and counts[1] == 1


def test_stack_after_marks_the_owner_and_step_until_clears_the_mark():
    net, c, s, _ = _network(ask_every_event=False)
    srv, cli, conn = _pair(net, c, s)
    cli._changed = False
    conn.send(b"x")                              # cli's connection gets a segment ...
    net.run()
    assert cli._changed and conn._changed        # ... and its ACK touches conn's
    srv._changed = False
    c.socket().connect(("10.0.0.2", 80))         # a connection in srv's queues
    assert srv._changed
    cli._changed = True
    assert net.step_until(lambda: False, watched=cli) == "idle"
    assert not cli._changed                      # cleared: only later events count
