"""nmap's normal output details (output.cc, portlist.cc, portreasons.cc): the "Not shown"
line per state and reason, singular/plural, --open and --reason. The real nmap's text is
compared in tests/test_nmap_oracle.py (root); these pin the rules without it."""
import simtcp


def _target(rules=()):
    net = simtcp.Network(seed=2, wire="fast")
    scanner = net.add_host("scanner", "10.8.0.1/24")
    target = net.add_host("target", "10.8.0.2/24")
    net.add_link(scanner, target, delay=0.001)
    for port in (22, 80):
        s = target.socket()
        s.bind(("0.0.0.0", port))
        s.listen(8)
    for rule in rules:
        target.iptables(rule)
    return scanner


def test_not_shown_lists_each_reason_of_a_state_and_counts_words_by_state():
    scanner = _target(["-A INPUT -p tcp --dport 30:59 -j DROP",
                       "-A INPUT -p tcp --dport 60:62 -j REJECT"])
    out = scanner.sh("nmap -n -Pn -sS -T5 -p 1-100 10.8.0.2").splitlines()
    # 65 closed (reset), 33 filtered: 30 silent, 3 answered ICMP port unreachable
    assert out[3] == ("Not shown: 65 closed tcp ports (reset), 30 filtered tcp ports "
                      "(no-response), 3 filtered tcp ports (port-unreach)")
    assert out[4:7] == ["PORT   STATE SERVICE", "22/tcp open  ssh", "80/tcp open  http"]


def test_open_hides_states_that_cannot_be_open_and_notes_the_rst_ratelimit():
    scanner = _target(["-A INPUT -p tcp --dport 23 -j DROP"])
    out = scanner.sh("nmap -n -Pn -sS -T5 --open -p 21-23 10.8.0.2").splitlines()
    assert out[3] == ("Not shown: 1 closed tcp port (reset), 1 filtered tcp port "
                      "(no-response)")
    assert out[4] == ("Some closed ports may be reported as filtered due to "
                      "--defeat-rst-ratelimit")
    assert out[5:7] == ["PORT   STATE SERVICE", "22/tcp open  ssh"]


def test_reason_column_carries_the_replys_ttl_and_the_host_line_why_it_is_up():
    scanner = _target()
    out = scanner.sh("nmap -n -sS -T5 --reason -p 22,23 10.8.0.2").splitlines()
    assert out[2] == "Host is up, received reset ttl 64 (0.0020s latency)."
    assert out[5:7] == ["22/tcp open   ssh     syn-ack ttl 64",
                        "23/tcp closed telnet  reset ttl 64"]
    connect = scanner.sh("nmap -n -Pn -sT --reason -p 22 10.8.0.2").splitlines()
    assert connect[2].startswith("Host is up, received user-set (")
    assert connect[5] == "22/tcp open  ssh     syn-ack"          # no packet seen: no TTL


def test_udp_scan_sends_nmaps_dns_payloads_and_a_dns_server_answers_status_with_notimp():
    net = simtcp.Network(seed=2, wire="fast")
    scanner = net.add_host("scanner", "10.8.0.1/24")
    target = net.add_host("target", "10.8.0.2/24")
    net.add_link(scanner, target, delay=0.001)
    target.start_service("dns", records={"www.example.com": "192.0.2.10"})
    out = scanner.sh("nmap -n -Pn -sU -p 53,69 10.8.0.2").splitlines()
    assert out[5:7] == ["53/udp open   domain", "69/udp closed tftp"]
    net.run(until=net.now + 1)
    lines = [line.split(" ", 2)[2] for line in scanner.sh("tcpdump -n -i eth0").splitlines()
             if line[:2].isdigit() and line[2] == ":"]
    sport = lines[0].split()[0].rsplit(".", 1)[1]
    assert lines[0] == f"10.8.0.1.{sport} > 10.8.0.2.53: 0 stat [0q] (12)"
    assert lines[1] == f"10.8.0.1.{sport} > 10.8.0.2.53: 30583+ TXT CHAOS? version.bind. (30)"
    assert lines[2] == f"10.8.0.1.{sport} > 10.8.0.2.69: TFTP, length 12, tftp-#0"
    assert f"10.8.0.2.53 > 10.8.0.1.{sport}: 0 stat NotImp- [0q] 0/0/0 (12)" in lines
