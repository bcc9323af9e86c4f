"""RACK's reordering state as TCP_INFO and ss -ti show it (Linux tcp_get_info():
tcpi_reordering, tcpi_reord_seen, tcpi_dsack_dups; misc/ss.c tcp_stats_print()), after the
kernel-checked script tests/packetdrill/sack-rack-dsack-widens-reo-wnd.pkt: reordering is
seen twice, a RACK retransmission turns out spurious (one D-SACK) and the window widens to
two steps of min_RTT / 4."""
from pathlib import Path

from simtcp import packetdrill
from simtcp.packetdrill import SimtcpBackend

SCRIPT = Path(__file__).resolve().parent / "packetdrill" / "sack-rack-dsack-widens-reo-wnd.pkt"


def test_dsack_after_reordering_widens_the_window_and_shows_in_tcp_info():
    backend = SimtcpBackend()
    assert packetdrill.run(SCRIPT.read_text(), backend).passed
    (conn,) = [c for c in backend.host.stack.conns.values() if c.state.synchronized]
    # reordering in steps 1 and 3 (segments 1 and 6 late), one spurious retransmission
    assert (conn.rack.reord_seen, conn.rack.dsack_dups, conn.rack.reo_wnd_steps) == (2, 1, 2)
    assert conn.rack.reo_wnd_persist == 16          # TCP_RACK_RECOVERY_THRESH
    assert conn._rack_reo_wnd() == conn.min_rtt / 4 * 2
    info = conn.info()
    assert (info.reord_seen, info.dsack_dups, info.reordering) == (2, 1, 3)
    line = info.ss_line()
    assert " dsack_dups:1 " in line and " reord_seen:2 " in line and "reordering:" not in line
    assert line.index("dsack_dups") < line.index("reord_seen")     # tcp_stats_print() order


def test_reordering_farther_than_three_segments_raises_tp_reordering():
    from simtcp.recovery import Rack
    rack = Rack()
    for i in range(6):                                  # six 1000-byte segments at t=0
        rack.sent(1 + 1000 * i, 1001 + 1000 * i, 0.0, False)
    rack.on_ack(1, [(5001, 6001)], 0.1, None)           # segment 6 first
    rack.on_ack(6001, [], 0.11, None)                   # then 1-5, never retransmitted
    assert rack.reord_seen == 1 and rack.reordering(1000) == 6   # (6001 - 1) / 1000
    assert Rack().reordering(1000) == 3
