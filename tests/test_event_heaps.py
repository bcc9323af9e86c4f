"""The near and later event heaps (simtcp.sim, "Two heaps"): events run in (time, n) order
exactly as with one heap, long timers wait on the later heap, cancelling works on both."""
from hypothesis import given, strategies as st

import simtcp
from simtcp import sim


def check_heaps(net):
    """Every near event comes before every later one and no later than ``_near_until``;
    the near heap's top is live, and the near heap is empty only when both are."""
    near, later = net._heap, net._later
    assert all(e[0] <= net._near_until for e in near)
    assert all(e[0] > net._near_until for e in later)
    if later:
        assert near and max(e[:2] for e in near) < min(e[:2] for e in later)
    assert not near or near[0][2] is not None
    assert net._cancelled == sum(e[2] is None for e in near + later)


# an operation: schedule at now + delay (some far beyond the near window), cancel the k-th
# event scheduled so far, or run one event; a run event may schedule another one itself
_ops = st.lists(st.one_of(
    st.tuples(st.just("at"), st.sampled_from([0.0, 0.0001, 0.2, 0.99, 1.0, 1.5, 3.0, 60.0,
                                              3000.0])),
    st.tuples(st.just("cancel"), st.integers(0, 200)),
    st.just(("step", None))),
    max_size=120)


@given(_ops)
def test_events_run_in_time_then_scheduling_order_across_both_heaps(ops):
    net = simtcp.Network(seed=1, wire="fast")
    ran, events, model = [], [], {}          # model: n -> (time, n) of the pending events

    def fire(n, then):
        ran.append(n)
        if then is not None:                  # an event that schedules the next one
            add(net.now + then, None)

    def add(at, then):
        n = len(events)
        events.append(net.schedule(at, fire, n, then))
        model[n] = (events[-1][0], n)

    def step_checked():
        """One step: it runs the model's next event, or reports that there is none."""
        expected = min(model.values(), default=None)
        assert net.next_event_time() == (expected[0] if expected else None)
        assert net.step() == (expected is not None)
        if expected is not None:
            assert ran[-1] == expected[1] and net.now == expected[0]
            del model[expected[1]]
        check_heaps(net)
        return expected is not None

    for op, arg in ops:
        if op == "at":
            add(net.now + arg, 0.5 if arg == 0.2 else None)
        elif op == "cancel" and arg in model:     # a pending event
            net.cancel(events[arg])
            del model[arg]
        elif op == "cancel" and arg < len(events) and events[arg][2] is None:
            net.cancel(events[arg])               # twice is once
        elif op == "step":
            step_checked()
        check_heaps(net)
    while step_checked():
        pass
    assert net.idle and net._heap == net._later == [] and net._cancelled == 0


def test_far_events_wait_on_the_later_heap_and_come_over_in_order():
    net = simtcp.Network(seed=1, wire="fast")
    ran = []
    net.schedule(0.1, ran.append, 0.1)            # opens the window: up to 1.1 s
    for t in (100.0, 0.5, 60.0, 60.0, 3600.0, 60.5, 62.0):
        net.schedule(t, ran.append, t)
    assert net._near_until == 0.1 + sim._NEAR
    assert sorted(e[0] for e in net._heap) == [0.1, 0.5]
    assert sorted(e[0] for e in net._later) == [60.0, 60.0, 60.5, 62.0, 100.0, 3600.0]
    net.run(until=1.0)
    assert ran == [0.1, 0.5] and net.now == 1.0 and not net.idle
    # the near heap ran dry at 0.5 s: the next window (60 s to 61 s) came over, in order
    assert [e[0] for e in net._heap] == [60.0, 60.0, 60.5] and net._near_until == 61.0
    assert net.next_event_time() == 60.0
    net.schedule(2.0, ran.append, 2.0)            # in the window: near
    net.schedule(61.5, ran.append, 61.5)          # after it: later
    assert len(net._heap) == 4 and len(net._later) == 4
    net.run()
    assert ran == [0.1, 0.5, 2.0, 60.0, 60.0, 60.5, 61.5, 62.0, 100.0, 3600.0]
    assert net.now == 3600.0


def test_cancelled_later_events_are_left_behind_and_counted():
    net = simtcp.Network(seed=1, wire="fast")
    ran = []
    near = net.schedule(0.5, ran.append, "near")
    far = [net.schedule(10.0 + k, ran.append, k) for k in range(3)]
    net.cancel(far[0])
    net.cancel(far[1])
    assert net._cancelled == 2 and net.next_event_time() == 0.5
    net.cancel(near)                      # the near heap's last event: the later one comes over
    assert net._heap and net._heap[0] is far[2] and net._cancelled == 0
    assert net.next_event_time() == 12.0
    net.run()
    assert ran == [2] and net.now == 12.0


def test_sweeping_covers_both_heaps():
    net = simtcp.Network(seed=1, wire="fast")
    ran = []
    events = [net.schedule(0.5 if k % 2 else 50.0 + k, ran.append, k) for k in range(400)]
    for e in events[:300]:
        net.cancel(e)
    check_heaps(net)
    assert len(net._heap) + len(net._later) < 400          # swept along the way
    net.run()
    assert ran == sorted(range(300, 400), key=lambda k: (0.5 if k % 2 else 50.0 + k, k))


def test_long_timers_of_many_connections_stay_off_the_near_heap():
    """The reason for two heaps: 300 closed connections leave their TIME-WAIT wake-ups
    (60 s) pending, and the near heap holds only what is due soon."""
    net = simtcp.Network(seed=1, wire="fast", trace=False, capture=False)
    a = net.add_host("a", "10.0.0.1")
    b = net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.0001)
    srv = b.socket()
    srv.bind(("", 80))
    srv.listen(512)
    for _ in range(300):
        c = a.socket()
        c.connect(("10.0.0.2", 80))
        s, _ = srv.accept()
        c.sendall(b"x" * 100)
        s.recv(1024)
        c.close()
        s.close()
        check_heaps(net)
    assert len(net._later) >= 300 and len(net._heap) < 20
    net.run()
    assert not a.stack.conns and not b.stack.conns and net._later == []
