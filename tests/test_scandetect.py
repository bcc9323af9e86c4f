"""Scan detection (psad from the firewall's LOG lines, portsentry from raw packets) and bans."""
import pytest

import simtcp
from simtcp.scandetect import BlockAction, ScanDetector, danger_level
from simtcp.tools.nmap import scan


def lab(seed=3):
    net = simtcp.Network(seed=seed, wire="fast")
    attacker = net.add_host("attacker", "192.168.1.66")
    client = net.add_host("client", "192.168.1.10")
    server = net.add_host("server", "192.168.1.20")
    net.add_lan([attacker, client, server], delay=0.001)
    server.start_service("http")
    server.start_service("ssh")
    return net, attacker, client, server


def logging_firewall(server):
    """psad's setup: accept what is wanted, LOG the rest, then drop it."""
    server.iptables("-A INPUT -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT")
    server.iptables("-A INPUT -p tcp --dport 80 -j ACCEPT")
    server.iptables("-A INPUT -j LOG --log-prefix \"DROP \"")
    server.iptables("-A INPUT -j DROP")


def test_a_syn_scan_trips_the_log_detector_and_a_web_client_does_not():
    net, attacker, client, server = lab()
    logging_firewall(server)
    psad = server.start_service("psad", ports=10, window=5.0)
    for _ in range(3):                                        # an ordinary web client
        out = client.sh("curl -s http://192.168.1.20/")
        assert "It works" in str(out)
    assert psad.alerts == []
    report = scan(attacker, ["-sS", "-Pn", "-p", "1-100", "192.168.1.20"])
    assert report.hosts[0].state(80) == "open"
    [alert] = psad.alerts
    assert alert.src == "192.168.1.66" and alert.dst == "192.168.1.20"
    assert alert.proto == "tcp" and alert.flags == "SYN" and len(alert.ports) == 10
    assert 80 not in alert.ports                              # accepted, so never logged
    assert alert.text.startswith("Dec  1 00:00:")
    assert " server psad: scan detected: 192.168.1.66 -> 192.168.1.20 tcp: [" in alert.text
    assert alert.text.endswith(f"flags: SYN tcp pkts: 10 DL: {danger_level(10)}")


def test_the_log_prefix_restricts_what_psad_reads():
    net, attacker, client, server = lab()
    logging_firewall(server)
    psad = server.start_service("psad", log_prefix="SCAN ")
    scan(attacker, ["-sS", "-Pn", "-p", "1-100", "192.168.1.20"])
    assert psad.alerts == []                                  # our lines say "DROP "


def test_the_packet_detector_needs_no_firewall_and_sees_fin_scans():
    net, attacker, client, server = lab()
    det = ScanDetector(server, ports=8, window=3.0, source="packets")
    client.sh("curl -s http://192.168.1.20/")
    client.sh("nc -z -w 1 192.168.1.20 22")
    assert det.alerts == []
    scan(attacker, ["-sF", "-Pn", "-p", "20-40", "192.168.1.20"])
    [alert] = det.alerts
    assert alert.flags == "FIN" and len(alert.ports) == 8


def test_a_slow_scan_stays_under_the_window():
    net, attacker, client, server = lab()
    det = ScanDetector(server, ports=5, window=2.0, source="packets")
    for port in range(1, 12):                                 # one port every 3 s
        scan(attacker, ["-sS", "-Pn", "-p", str(port), "192.168.1.20"])
        net.run(until=net.now + 3.0)
    assert det.alerts == []


def test_a_ban_makes_the_rest_of_the_scan_filtered_and_expires():
    net, attacker, client, server = lab()
    logging_firewall(server)
    psad = server.start_service("psad", ports=5, window=5.0, block=True, block_timeout=600)
    before = scan(attacker, ["-sS", "-Pn", "-p", "1-30,80", "192.168.1.20"])
    assert len(psad.alerts) == 1 and psad.blocks[0].action is BlockAction.ADDED
    assert "-A PSAD_BLOCK_INPUT -s 192.168.1.66/32 -j DROP" in server.iptables("-S")
    assert server.iptables("-S INPUT").splitlines()[1] == "-A INPUT -j PSAD_BLOCK_INPUT"
    assert before.hosts[0].state(80) == "filtered"        # probed after the ban
    after = scan(attacker, ["-sS", "-Pn", "-p", "22,80", "192.168.1.20"])
    assert after.hosts[0].states() == {(22, "tcp"): "filtered", (80, "tcp"): "filtered"}
    assert "It works" in str(client.sh("curl -s http://192.168.1.20/"))   # others still served
    net.run(until=net.now + 601)
    assert psad.blocks[-1].action is BlockAction.REMOVED
    again = scan(attacker, ["-sS", "-Pn", "-p", "80", "192.168.1.20"])
    assert again.hosts[0].state(80) == "open"
    assert "removed iptables auto-block against 192.168.1.66" in str(psad)


@pytest.mark.parametrize("bad", [{"ports": 1}, {"window": 0}, {"source": "tea leaves"},
                                 {"block_timeout": -1}])
def test_bad_settings_are_refused(bad):
    net, attacker, client, server = lab()
    with pytest.raises(ValueError):
        ScanDetector(server, **{"source": "packets", **bad})


def test_danger_levels_follow_psad_thresholds():
    assert [danger_level(n) for n in (4, 5, 15, 149, 150, 1500, 10000)] == [0, 1, 2, 2, 3, 4, 5]


def test_a_stopped_detector_sees_nothing_more():
    for source in ("log", "packets"):
        net, attacker, client, server = lab()
        logging_firewall(server)
        det = ScanDetector(server, ports=5, source=source)
        det.stop()
        scan(attacker, ["-sS", "-Pn", "-p", "1-50", "192.168.1.20"])
        assert det.alerts == []
