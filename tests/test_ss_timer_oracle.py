"""``ss -o``: the timer column (misc/ss.c tcp_timer_print(); idiag_timer from
net/ipv4/inet_diag.c) of simtcp's ss against the real ss, for the same sockets.

The real side runs tests/ss_timer_probe.py in a private network namespace this test creates
and deletes (tests/netns.py; loopback only, root); the simtcp side takes the same steps on a simulated host.
Kinds (on, keepalive, timewait, persist) and retransmission/probe counts must be equal;
the time left only within a tolerance, since the real one runs on a wall clock.
"""
import re
import socket as pysocket
import sys
from pathlib import Path

import simtcp
from simtcp.tools.views import ms_timer

from netns import namespaces, requires
from ss_timer_probe import open_sockets

HERE = Path(__file__).resolve().parent
WAIT = 1.0         # seconds after the dropped send: mid-way between the 2nd and 3rd RTO
ROW = re.compile(r"^(\S+)\s+\d+\s+\d+\s+127\.0\.0\.1:(\d+)\s+\S+:(\S+)\s*(?:timer:\((\w+),([^,]*),(\d+)\))?")


def parse_ms(text: str) -> int:
    """The inverse of print_ms_timer() for what it prints."""
    m = re.fullmatch(r"(?:(\d+)min)?(?:(\d+)(?:sec|\.))?(?:(\d+)ms)?", text)
    minutes, secs, msecs = (int(g or 0) for g in m.groups())
    return (minutes * 60 + secs) * 1000 + msecs


def timers(text: str) -> dict:
    """(local port, peer port) -> (state, kind or None, ms left, retrans) from ss -tnoa."""
    out = {}
    for line in text.splitlines()[1:]:
        m = ROW.match(line)
        assert m, line
        state, lport, pport, kind, left, retrans = m.groups()
        out[(int(lport), 0 if pport == "*" else int(pport))] = (
            state, kind, parse_ms(left) if kind else 0, int(retrans) if kind else 0)
    return out


def scenario(wait: float) -> str:
    """tests/ss_timer_probe.py's steps on a simtcp host; its ss -tnoa."""
    net = simtcp.Network(seed=1)
    h = net.add_host("h", "10.0.0.1/24")

    def set_fin_timeout(secs):
        h.sysctl["net.ipv4.tcp_fin_timeout"] = secs

    def drop_sport(port):
        assert h.sh(f"iptables -A INPUT -p tcp --sport {port} -j DROP") == ""

    keep = open_sockets(h.socket, lambda secs: net.run(until=net.now + secs), set_fin_timeout,
                        drop_sport, wait)
    assert len(keep) == 15
    return h.sh("ss -tnoa")


def test_ms_timer_prints_like_iproute2():
    assert [ms_timer(v) for v in (0, 7, 204, 1500, 9999, 10500, 58000, 61000, 605000,
                                  7140000)] == [
        "", "007ms", "204ms", "1.500ms", "9.999ms", "10sec", "58sec", "1min1sec",
        "10min", "119min"]
    assert all(parse_ms(ms_timer(v)) == v for v in (7, 204, 1500, 9999, 58000, 61000))


def test_simtcp_timer_kinds():
    got = timers(scenario(WAIT))
    assert got[(40001, 5001)][:2] == ("ESTAB", "keepalive")
    assert got[(40002, 5001)][1] == "keepalive" and 28000 <= got[(40002, 5001)][2] <= 29000
    assert got[(5001, 40003)][:2] == ("TIME-WAIT", "timewait")
    assert got[(40004, 5001)][:2] == ("FIN-WAIT-2", "timewait")
    assert got[(40005, 5001)][1] == "persist"
    assert got[(40006, 5001)][1::2] == ("on", 2)
    assert got[(40007, 5001)][:2] == ("FIN-WAIT-2", "keepalive")
    assert got[(5001, 0)] == ("LISTEN", None, 0, 0)


def test_timer_follows_the_process_column_and_ss_oi_adds_ts_sack():
    net = simtcp.Network(seed=1)
    h = net.add_host("h", "10.0.0.1/24")
    listener = h.socket()
    listener.bind(("127.0.0.1", 5001))
    listener.listen(1)
    c = h.socket()
    c.setsockopt(pysocket.SOL_SOCKET, pysocket.SO_KEEPALIVE, 1)
    c.connect(("127.0.0.1", 5001))
    listener.accept()
    lines = h.sh(f"ss -tnop sport = :{c.getsockname()[1]}").splitlines()
    assert lines[1].endswith(f'users:(("python",pid={c.pid},fd={c.fd})) '
                             "timer:(keepalive,120min,0)")
    info = h.sh("ss -tnoi").splitlines()
    (row,) = [i for i, line in enumerate(info) if "timer:(keepalive,120min,0)" in line]
    assert info[row + 1].startswith("\t ts sack cubic ")
    assert "timer" not in h.sh("ss -tnl -o") and h.ss(options=True).command == "ss -tano"


@requires("ss", "iptables")
def test_ss_timer_column_matches_the_kernel():
    with namespaces("ss") as ns:
        real = timers(ns.exec("ss", sys.executable, str(HERE / "ss_timer_probe.py"),
                              str(WAIT)).stdout)
    ours = timers(scenario(WAIT))
    assert set(ours) == set(real)
    # An orphan's FIN-WAIT-2 (fin_timeout <= TCP_TIMEWAIT_LEN) is a timewait socket — unless
    # the ACK of its FIN was processed while close() still held the socket (on loopback it
    # can be): then tcp_rcv_state_process() parks it on sk_timer for the same time
    # ("th->fin || sock_owned_by_user(sk)"), which ss shows as keepalive. Either is Linux.
    if real[(40004, 5001)][1] == "keepalive":
        real[(40004, 5001)] = real[(40004, 5001)][:1] + ("timewait",) + real[(40004, 5001)][2:]
    for key, (state, kind, left, retrans) in real.items():
        o_state, o_kind, o_left, o_retrans = ours[key]
        assert (o_state, o_kind, o_retrans) == (state, kind, retrans), (key, real[key], ours[key])
        # the wall clock: the real steps take time the virtual ones do not
        assert abs(o_left - left) <= max(0.1 * left, 400), (key, real[key], ours[key])
