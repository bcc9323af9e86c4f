"""One pending wake-up per connection: timers move instead of piling up, and still fire.

Linux keeps one timer per socket and kind and moves it (sk_reset_timer() → mod_timer());
simtcp keeps one simulator event per connection at its earliest deadline (Stack._arm). These
tests run each timer of a connection — RTO (SYN and data), tail loss probe, delayed ACK,
persist, keepalive, TIME-WAIT — one event at a time and check after every event that no
connection has more than one pending wake-up, that the pending one comes no later than the
connection's next deadline (so it fires when it should), and that the timer did fire.
"""
import pytest

import simtcp
from simtcp.link import DropMatching
from simtcp.reasons import SendCause, StateCause
from simtcp.sockopts import (IPPROTO_TCP, SO_KEEPALIVE, SO_RCVBUF, SOL_SOCKET, TCP_KEEPCNT,
                             TCP_KEEPIDLE, TCP_KEEPINTVL)
from conftest import accounting_ok



def wakeups(net):
    """connection -> its pending wake-up events (cancelled ones are not pending)."""
    found = {}
    for at, _n, callback, args in net._heap + net._later:
        if callback is not None and getattr(callback, "__name__", "") == "_fire":
            found.setdefault(args[0], []).append(at)
    return found


def check_wakeups(net):
    pending = wakeups(net)
    for conn, times in pending.items():
        assert len(times) == 1, f"{conn} has {len(times)} pending wake-ups: {times}"
    for node in net.nodes.values():
        for conn in node.stack.conns.values():
            deadline = conn.next_deadline()
            if deadline is not None:       # due no later than the deadline (or now, if late)
                assert conn in pending, f"{conn} has a deadline {deadline} but no wake-up"
                assert pending[conn][0] <= max(deadline, net.now)
            # the deadline `_after` compares before arming is the pending wake-up's (or None):
            # set when one is scheduled, cleared when it fires or the socket's timers stop
            event = node.stack._armed.get(conn)
            assert conn.wake_at == (event[3][1] if event is not None else None)
    # cancelled events never sit on top, and never make up most of big heaps
    heap = net._heap
    assert not heap or heap[0][2] is not None
    pending = heap + net._later
    cancelled = sum(1 for e in pending if e[2] is None)
    assert cancelled == net._cancelled
    assert cancelled <= max(100, len(pending) - cancelled)


def run_checked(net, until, max_events=200_000):
    """net.run(until=...) one event at a time, checking the wake-ups after each."""
    for _ in range(max_events):
        if net.idle or net.next_event_time() > until:
            break
        net.step()
        check_wakeups(net)
    else:
        pytest.fail("the run did not end")
    net.run(until=until)


def pair(**link):
    net = simtcp.Network(seed=3, wire="fast")
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=link.pop("delay", 0.01), **link)
    return net, a, b


def connected(net, a, b, server_options=()):
    srv = b.socket()
    for level, option, value in server_options:
        srv.setsockopt(level, option, value)
    srv.bind(("", 80))
    srv.listen(1)
    c = a.socket()
    c.connect(("10.0.0.2", 80))
    s, _ = srv.accept()
    check_wakeups(net)
    return c, s


def sent(net, host, reason):
    return [r.time for r in net.trace if r.kind == "send" and r.host == host
            and r.reason is reason]


def test_syn_retransmission_timer_backs_off_and_fires_each_time():
    net, a, b = pair()
    b.sh("iptables -A INPUT -j DROP")
    c = a.socket()
    c.setblocking(False)
    with pytest.raises(BlockingIOError):
        c.connect(("10.0.0.2", 80))
    run_checked(net, 20.0)
    # initial RTO 1 s; net.ipv4.tcp_syn_linear_timeouts keeps the first timeouts at 1 s,
    # then each one doubles
    assert sent(net, "a", SendCause.SYN_RETRANSMISSION) == pytest.approx([1, 2, 3, 4, 5, 7,
                                                                          11, 19])


def test_tail_loss_probe_then_rto_retransmit_lost_data():
    net, a, b = pair()
    c, s = connected(net, a, b)
    start = net.now
    # every data segment from the client is lost for a while: the probe and the timeout
    # retransmissions are lost too, so each timer has to fire on its own
    a.links[0].add_middlebox(DropMatching(lambda p: p.src == "10.0.0.1"
                                          and bool(p.segment.payload), count=6))
    c.send(b"d" * 3000)
    run_checked(net, start + 10.0)
    probes = sent(net, "a", SendCause.TAIL_LOSS_PROBE)
    rtos = sent(net, "a", SendCause.RETRANSMISSION)
    assert len(probes) == 1 and len(rtos) >= 3
    assert start < probes[0] < rtos[0]
    # the probe, the first two retransmissions are lost: the RTO doubles each time
    assert rtos[2] - rtos[1] == pytest.approx(2 * (rtos[1] - rtos[0]))
    assert s.recv(4000) == b"d" * 3000
    assert accounting_ok(net)


def test_delayed_ack_fires_after_the_ack_timeout():
    net, a, b = pair()
    c, s = connected(net, a, b)
    for _ in range(30):                   # small writes 50 ms apart: the quick-ACK budget
        c.send(b"x" * 10)                 # runs out, then the server delays its ACKs
        run_checked(net, net.now + 0.05)
    delayed = sent(net, "b", SendCause.DELAYED_ACK)
    arrivals = [r.time for r in net.trace if r.kind == "deliver" and r.host == "b"
                and r.packet.segment.payload]
    assert len(delayed) >= 5
    for t in delayed:                     # each one 40 ms (TCP_ATO_MIN) after the data came
        assert any(t - x == pytest.approx(0.04) for x in arrivals)


def test_persist_timer_probes_a_zero_window():
    net, a, b = pair()
    c, s = connected(net, a, b, server_options=[(SOL_SOCKET, SO_RCVBUF, 4096)])
    c.setblocking(False)
    c.send(b"z" * 20000)
    run_checked(net, net.now + 5.0)
    probes = sent(net, "a", SendCause.ZERO_WINDOW_PROBE)
    assert len(probes) >= 3
    gaps = [y - x for x, y in zip(probes, probes[1:])]
    assert all(later > earlier for earlier, later in zip(gaps, gaps[1:]))   # backoff


def test_keepalive_probes_then_reset():
    net, a, b = pair()
    srv = b.socket()
    srv.bind(("", 80))
    srv.listen(1)
    c = a.socket()
    c.setsockopt(SOL_SOCKET, SO_KEEPALIVE, 1)
    c.setsockopt(IPPROTO_TCP, TCP_KEEPIDLE, 10)
    c.setsockopt(IPPROTO_TCP, TCP_KEEPINTVL, 5)
    c.setsockopt(IPPROTO_TCP, TCP_KEEPCNT, 3)
    c.connect(("10.0.0.2", 80))
    start = net.now                       # established: the keepalive timer starts
    srv.accept()
    b.sh("iptables -A INPUT -j DROP")
    run_checked(net, start + 60)
    probes = [round(t - start, 2) for t in sent(net, "a", SendCause.KEEPALIVE_PROBE)]
    resets = [round(t - start, 2) for t in sent(net, "a", StateCause.KEEPALIVE_TIMED_OUT)]
    assert probes == [10, 15, 20] and resets == [25]


def test_time_wait_ends_after_sixty_seconds():
    net, a, b = pair()
    c, s = connected(net, a, b)
    c.close()
    assert s.recv(10) == b""
    s.close()
    run_checked(net, net.now + 0.1)
    (tw,) = a.stack.conns.values()
    assert tw.state.value == "TIME-WAIT"
    # a timewait socket with its own timer replaced the full one (tcp_time_wait()): the
    # wake-up is for the TIME-WAIT deadline, not the stopped retransmission timer's
    assert wakeups(net)[tw] == [tw.next_deadline()]
    run_checked(net, net.now + 100)
    (entered,) = [r.time for r in net.trace if r.kind == "state" and r.host == "a"
                  and r.what == "TIME-WAIT"]
    (closed,) = [r.time for r in net.trace if r.kind == "state" and r.host == "a"
                 and r.what == "CLOSED"]
    assert closed - entered == pytest.approx(60.0)            # TCP_TIMEWAIT_LEN
    assert not a.stack.conns and not a.stack._armed
    assert tw.wake_at is None


def test_many_connections_leave_no_stale_wakeups_on_the_heap():
    """Each handshake used to leave its SYN's retransmission wake-up behind when the data
    that followed armed an earlier RTO; now the wake-up moves. The heap holds one live
    event per connection with a timer, plus at most as many cancelled ones (swept)."""
    net, a, b = pair(delay=0.0001)
    srv = b.socket()
    srv.bind(("", 80))
    srv.listen(512)
    for _ in range(300):
        c = a.socket()
        c.connect(("10.0.0.2", 80))
        s, _ = srv.accept()
        c.sendall(b"x" * 100)
        s.recv(1024)
        s.sendall(b"y" * 100)
        c.recv(1024)
        c.close()
        s.close()
        check_wakeups(net)
    pending = net._heap + net._later
    live = [e for e in pending if e[2] is not None]
    armed = sum(len(node.stack._armed) for node in net.nodes.values())
    assert len(wakeups(net)) == armed >= 300
    assert len(pending) <= 2 * len(live) + 101
    run_checked(net, net.now + 200)
    assert net.idle and net._heap == net._later == [] and net._cancelled == 0


def test_cancelled_events_never_run_nor_move_the_clock():
    net = simtcp.Network(seed=1, wire="fast")
    ran = []
    events = [net.schedule(t, ran.append, t) for t in (1.0, 2.0, 2.0, 3.0, 4.0)]
    net.cancel(events[0])                 # on top: taken off at once
    net.cancel(events[2])                 # inside: stays until it reaches the top
    net.cancel(events[2])                 # twice is once
    net.cancel(events[4])
    assert net.next_event_time() == 2.0 and net._cancelled == 2
    net.run()
    assert ran == [2.0, 3.0] and net.now == 3.0 and net._cancelled == 0
    assert net._heap == net._later == []


def test_sweeping_cancelled_events_keeps_the_order_of_the_rest():
    net = simtcp.Network(seed=1, wire="fast")
    ran = []
    events = [net.schedule(float(k % 7), ran.append, k) for k in range(1000)]
    for e in events[::3] + events[1::3]:  # two thirds cancelled: swept along the way
        net.cancel(e)
    assert len(net._heap) + len(net._later) < 1000
    net.run()
    assert ran == sorted(range(2, 1000, 3), key=lambda k: (k % 7, k))


def test_step_until_asks_only_after_each_event_and_ends_as_run_until():
    """Network.step_until is run_until for a caller that has just found the predicate
    false (a blocking socket call): it asks again only after an event ran; the outcomes
    ("ok", "idle", "timeout", "stalled") are run_until's."""
    net = simtcp.Network(seed=1, wire="fast")
    ran, asked = [], []
    for t in (1.0, 2.0, 3.0):
        net.schedule(t, ran.append, t)

    def two_ran() -> bool:
        asked.append(net.now)
        return len(ran) >= 2

    assert net.step_until(two_ran) == "ok" and net.now == 2.0
    assert asked == [1.0, 2.0]                    # never before the first event
    assert net.run_until(two_ran) == "ok" and asked[-1] == 2.0 and ran == [1.0, 2.0]
    assert net.step_until(lambda: False, timeout=0.5) == "timeout" and net.now == 2.5
    assert net.step_until(lambda: False) == "idle" and ran == [1.0, 2.0, 3.0]
    net.schedule(net.now + net.stall_horizon + 1, ran.append, None)
    assert net.step_until(lambda: False) == "stalled"
