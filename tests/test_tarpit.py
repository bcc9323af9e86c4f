"""Delayed responses: the TARPIT target (xtables-addons) and rate-limited resets, and what
they cost a scanner in virtual time."""
import pytest

import simtcp
from simtcp.iptables import IptablesError
from simtcp.reasons import DropReason
from simtcp.segment import Flags
from simtcp.tools.nmap import scan


def lab(seed=7):
    net = simtcp.Network(seed=seed, wire="fast")
    attacker = net.add_host("attacker", "192.168.1.66")
    server = net.add_host("server", "192.168.1.20")
    net.add_link(attacker, server, delay=0.001)
    server.start_service("ssh")
    return net, attacker, server


def test_tarpit_answers_syn_with_a_five_byte_window_and_holds_data_at_zero():
    net, attacker, server = lab()
    server.iptables("-A INPUT -p tcp --dport 8000 -j TARPIT")
    sock = attacker.socket()
    sock.settimeout(5.0)
    sock.connect(("192.168.1.20", 8000))               # "open": the tarpit said SYN-ACK
    synack = [p for p in net.capture if p.packet.src == "192.168.1.20"][0].packet.segment
    assert synack.flags == Flags.SYN | Flags.ACK and synack.window == 5
    assert synack.seq == 0 and not synack.options.mss
    sock.send(b"GET / HTTP/1.0\r\n\r\n")
    with pytest.raises(TimeoutError):
        sock.recv(100)
    replies = [p.packet.segment for p in net.capture if p.packet.src == "192.168.1.20"]
    assert all(s.window == 0 and s.flags == Flags.ACK for s in replies[1:])
    first = int(replies[1].ack)                          # the ACK of the handshake's ACK
    # nothing of the data is ever acknowledged (Linux's zero-window probes use SND.UNA - 1)
    assert len(replies) > 2 and {int(s.ack) for s in replies[1:]} <= {first, first - 1}
    assert "8000" not in str(server.ss("-tan"))               # no socket holds any of it
    drops = [r for r in net.trace.records if r.kind == "drop" and r.host == "server"]
    assert drops and all(r.reason is DropReason.FIREWALL_TARPIT for r in drops)
    sock.close()


def test_tarpit_ignores_fin_and_rst_and_resets_syn_ack():
    net, attacker, server = lab()
    server.iptables("-A INPUT -p tcp -j TARPIT")
    out = []
    attacker.add_tap(lambda p, iface=None: out.append(p) if p.src == "192.168.1.20" else None)
    from simtcp.packet import Packet
    from simtcp.segment import Segment
    from simtcp.seq import Seq
    for flags in (Flags.FIN, Flags.RST, Flags(0), Flags.SYN | Flags.ACK):
        seg = Segment(40000, 22, Seq(1000), Seq(5000), flags, 1024)
        attacker.send_raw(Packet("192.168.1.66", "192.168.1.20", seg))
    net.run(until=net.now + 1)
    assert [(p.segment.flags, int(p.segment.seq)) for p in out] == [(Flags.RST, 5000)]


@pytest.mark.parametrize("rule", ["-A INPUT -j TARPIT", "-A INPUT -p udp -j TARPIT",
                                  "-A OUTPUT -p tcp -j TARPIT",
                                  "-A INPUT -p tcp -j TARPIT --honeypot"])
def test_tarpit_rules_the_kernel_refuses(rule):
    net, attacker, server = lab()
    with pytest.raises(IptablesError):
        server.iptables(rule)
    assert "TARPIT" not in server.iptables_save()


def test_tarpit_saves_like_libxt_tarpit():
    net, attacker, server = lab()
    server.iptables("-A INPUT -p tcp --dport 23 -j TARPIT")
    assert "-A INPUT -p tcp -m tcp --dport 23 -j TARPIT --tarpit" in server.iptables_save()


def test_a_tarpit_turns_closed_ports_open_and_costs_a_version_scan_time():
    net, attacker, server = lab()
    args = ["-sS", "-sV", "-Pn", "-p", "20-25", "192.168.1.20"]
    before = scan(attacker, args)
    assert before.hosts[0].state(23) == "closed"
    server.iptables("-A INPUT -p tcp ! --dport 22 -j TARPIT")
    after = scan(attacker, args)
    states = after.hosts[0].states()
    assert set(states.values()) == {"open"}               # every port answers SYN-ACK
    assert after.hosts[0].ports[2].service != "ssh" or after.hosts[0].ports[2].port == 22
    # -sV waits for a banner that never comes on each of the 5 tarpitted ports
    assert after.elapsed > before.elapsed + 5 * 10


def test_rate_limited_resets_slow_a_syn_scan():
    net, attacker, server = lab()
    args = ["-sS", "-Pn", "-p", "1000-1099", "192.168.1.20"]
    before = scan(attacker, args)
    assert set(before.hosts[0].states().values()) == {"closed"}
    server.iptables("-A INPUT -p tcp --syn -m limit --limit 5/s --limit-burst 5 "
                    "-j REJECT --reject-with tcp-reset")
    server.iptables("-A INPUT -p tcp --syn -j DROP")
    after = scan(attacker, args)
    assert after.elapsed > 5 * before.elapsed
    assert "filtered" in after.hosts[0].states().values()   # some probes never answered


def test_icmp_rate_limits_slow_a_udp_scan():
    """Linux answers closed UDP ports with rate-limited ICMP port unreachables
    (icmp_ratelimit / icmp_msgs_per_sec): nmap sees silence, retries, and slows down."""
    times = {}
    for limit in (0, 1000):
        net, attacker, server = lab()
        server.sysctl["net.ipv4.icmp_ratelimit"] = limit
        report = scan(attacker, ["-sU", "-Pn", "-p", "1000-1049", "192.168.1.20"])
        times[limit] = report.elapsed
        if limit == 0:
            assert set(report.hosts[0].states().values()) == {"closed"}
    assert times[1000] > 3 * times[0]
