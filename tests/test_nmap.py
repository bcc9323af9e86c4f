"""The scanner: nmap's port states for every scan type, its retries, timing and report.

The expected states are those real nmap 7.93 reported against Linux with the same rules in
a private network namespace (REJECT = icmp-port-unreachable; -sT sees ECONNREFUSED from
both a RST and that ICMP error, so it says "closed" where -sS says "filtered").
"""
import pytest

import simtcp
from simtcp.hooks import Drop, HookPoint, Reply, ACCEPT
from simtcp.icmp import build_error
from simtcp.reasons import DropReason
from simtcp.tools.nmap import scan
from simtcp.tools.nmap_options import NmapUsageError, parse


def rules(server, drop=(), reject=()):
    """INPUT rules on the server: DROP, or REJECT with ICMP port unreachable, by TCP port."""
    def hook(ctx):
        seg = ctx.packet.segment
        if seg is None:
            return ACCEPT
        if seg.dport in drop:
            return Drop(DropReason.FIREWALL, "test DROP")
        if seg.dport in reject:
            return Reply((build_error(server, ctx.packet, 3, 3, 0, None),))
        return ACCEPT
    server.hooks.add(HookPoint.INPUT, hook, name="test filter")


@pytest.fixture
def target():
    net = simtcp.Network(seed=5, wire="fast")
    client = net.add_host("client", "192.168.1.10")
    server = net.add_host("server", "192.168.1.20")
    net.add_link(client, server, delay=0.005)
    for kind in ("ssh", "smtp", "http"):
        server.start_service(kind)
    rules(server, drop={23}, reject={24})
    return net, client, server


EXPECTED = {   # port: state, per scan type (real nmap 7.93 against Linux, same rules)
    "-sS": {22: "open", 23: "filtered", 24: "filtered", 25: "open", 80: "open", 21: "closed"},
    "-sT": {22: "open", 23: "filtered", 24: "closed", 25: "open", 80: "open", 21: "closed"},
    "-sF": {22: "open|filtered", 23: "open|filtered", 24: "filtered", 80: "open|filtered",
            21: "closed"},
    "-sN": {22: "open|filtered", 23: "open|filtered", 24: "filtered", 21: "closed"},
    "-sX": {22: "open|filtered", 23: "open|filtered", 24: "filtered", 21: "closed"},
    "-sA": {22: "unfiltered", 23: "filtered", 24: "filtered", 21: "unfiltered"},
}


@pytest.mark.parametrize("kind", sorted(EXPECTED))
def test_port_states_follow_nmaps_definitions(target, kind):
    net, client, _ = target
    ports = ",".join(str(p) for p in sorted(EXPECTED[kind]))
    report = scan(client, [kind, "-Pn", "-p", ports, "server"])
    (host,) = report.hosts
    assert {p: host.state(p) for p in EXPECTED[kind]} == EXPECTED[kind]


def test_a_silent_port_is_retried_once_before_filtered(target):
    net, client, _ = target
    scan(client, ["-sS", "-Pn", "-p", "22-23", "server"])
    probes = [c for c in net.capture if c.packet.segment is not None
              and c.packet.src == "192.168.1.10" and c.packet.segment.dport == 23]
    assert len(probes) == 2          # the probe and one retransmission (max_successful_tryno+1)


def test_syn_scan_shows_syn_synack_rst_on_the_wire(target):
    net, client, _ = target
    scan(client, ["-sS", "-Pn", "-p", "22", "server"])
    flags = [str(c.packet.segment.flags) for c in net.capture
             if c.packet.segment is not None and 22 in (c.packet.segment.dport,
                                                         c.packet.segment.sport)]
    assert flags[:3] == [str(simtcp.Flags.SYN), str(simtcp.Flags.SYN | simtcp.Flags.ACK),
                         str(simtcp.Flags.RST)]       # the RST comes from client's own kernel


def test_report_layout_and_folding(target):
    net, client, _ = target
    text = str(scan(client, ["server"]))
    lines = text.splitlines()
    assert lines[0].startswith("Starting Nmap 7.93 ( https://nmap.org ) at 2026-12-01")
    # the same layout real nmap printed for these ports and rules (module docstring)
    assert lines[1:4] == ["Nmap scan report for server (192.168.1.20)",
                          "Host is up (0.010s latency).",
                          "Not shown: 995 closed tcp ports (reset)"]
    assert "PORT   STATE    SERVICE" in lines
    assert "22/tcp open     ssh" in lines and "23/tcp filtered telnet" in lines
    assert lines[-1].startswith("Nmap done: 1 IP address (1 host up) scanned in ")


def test_version_detection_reads_banners(target):
    net, client, _ = target
    report = scan(client, ["-sV", "-Pn", "-p", "22,25,80", "server"])
    versions = {p.port: p.version for p in report.hosts[0].ports}
    assert versions == {22: "OpenSSH 9.2p1 Debian 2+deb12u3 (protocol 2.0)",
                        25: "Postfix smtpd", 80: "nginx 1.22.1"}


def test_timing_templates_cost_virtual_time_not_wall_time(target):
    net, client, _ = target
    fast = scan(client, ["-T4", "-Pn", "-p", "20-30", "server"]).elapsed
    polite = scan(client, ["-T2", "-Pn", "-p", "20-30", "server"]).elapsed
    assert polite >= 10 * 0.4 > fast   # -T2 waits 0.4 s between its 11 probes (10 gaps)


def test_a_host_that_answers_nothing_seems_down(target):
    net, client, _ = target
    out = client.sh("nmap -p 22 192.168.1.99")
    assert "Note: Host seems down. If it is really up, but blocking our ping probes, try -Pn" in out
    assert "(0 hosts up)" in out


@pytest.mark.parametrize("argv, message", [
    (["-sS", "-sT", "x"], "more than one type of TCP scan"),
    (["-sQ", "x"], "Scantype Q not supported"),
    (["-p", "70000", "x"], "between 0 and 65535"),
    (["-T9", "x"], "Unknown timing mode"),
    (["--frobnicate", "x"], "unrecognized option '--frobnicate'"),
    (["-sS"], "No targets were specified"),
])
def test_bad_command_lines_get_nmaps_errors(argv, message):
    with pytest.raises(NmapUsageError, match=message.replace("(", r"\(")):
        parse(argv)


def test_port_specifications():
    assert len(parse(["-p-", "x"]).ports) == 65535
    assert parse(["-p", "U:53,T:22,80", "-sU", "-sS", "x"]).ports == [
        ("tcp", 22), ("tcp", 80), ("udp", 53)]
    assert len(parse(["-F", "x"]).ports) == 100
    assert parse(["x"]).ports[:3] == [("tcp", 1), ("tcp", 3), ("tcp", 4)]


def test_version_detection_stops_waiting_once_a_banner_matches(target):
    # service_scan.cc matches each read: a greeting that arrives in milliseconds does not
    # cost the NULL probe's 6 s; an HTTP server (silent until asked) costs them once
    net, client, _ = target
    ssh = scan(client, ["-sV", "-Pn", "-p", "22", "server"]).elapsed
    http = scan(client, ["-sV", "-Pn", "-p", "80", "server"]).elapsed
    assert ssh < 1.0
    assert 6.0 <= http < 7.0


def test_a_filtered_port_is_retried_once_when_no_retry_was_ever_answered():
    # nmap's scan_engine.cc allows a port max_successful_tryno + 1 retries; that number
    # rises only with answers (port 22's came to the first try), so each silent port gets
    # its probe and one retransmission — not 1 + max-retries (10) once ports start giving up
    import collections
    net = simtcp.Network(seed=1)
    a, s = net.add_host("scanner", "192.168.1.66"), net.add_host("server", "192.168.1.20")
    net.add_link(a, s, delay=0.001)
    s.start_service("ssh")
    s.iptables("-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT")
    s.iptables("-A INPUT -p tcp --dport 22 -j ACCEPT")
    s.iptables("-P INPUT DROP")
    report = scan(a, ["-sS", "-Pn", "-p", "1-100", "server"])
    assert report.hosts[0].state(22) == "open"
    probes = collections.Counter(p.packet.segment.dport for p in net.capture
                                 if p.packet.src == "192.168.1.66" and p.packet.segment
                                 and p.packet.segment.flags == simtcp.Flags.SYN)
    assert probes[22] == 1
    assert {probes[port] for port in range(1, 101) if port != 22} == {2}
