"""Oracle: the real nmap 7.93 scanning a real Linux kernel behind an iptables rule set, and
simtcp's scanner scanning a simulated host behind the same rules, must find the same state
for every port, for every scan type (-sT -sS -sF -sN -sX -sA -sU).

Two private network namespaces the test creates and deletes, joined by a veth pair
(scanner 10.8.0.1, target 10.8.0.2). The target listens on TCP 22, 80, 443 and 8080 and
answers datagrams on UDP 53 and 161; the other ports are closed. ICMP rate limiting is off on
both targets (``net.ipv4.icmp_ratelimit=0``) so that no error is suppressed by chance. Real
nmap runs with ``-n -Pn -T4 --max-retries 2`` and reports in XML; every subprocess is
bounded by a timeout. Needs root, iproute2, iptables and nmap; skips with a reason
elsewhere. About a minute.
"""
import re
import subprocess
import sys
import xml.etree.ElementTree as ET

import pytest
from netns import namespaces, requires

import simtcp
from simtcp.tools.nmap import scan
from simtcp.udpsocket import SOCK_DGRAM

pytestmark = requires("iptables", "nmap")

TARGET = "10.8.0.2"
TCP_OPEN = (22, 80, 443, 8080)
TCP_PORTS = (22, 23, 80, 81, 443, 444, 8080, 8081)
UDP_OPEN = (53, 161)
UDP_PORTS = (53, 54, 161, 162, 163)
SCANS = ("-sT", "-sS", "-sF", "-sN", "-sX", "-sA", "-sU")

RULESETS = {
    # one target per kind of answer: DROP, REJECT with the default ICMP port unreachable,
    # with a TCP reset, with "administratively prohibited"; open and closed ports behind each
    "per-port": [
        "-A INPUT -p tcp --dport 80 -j DROP",
        "-A INPUT -p tcp --dport 81 -j DROP",
        "-A INPUT -p tcp --dport 443 -j REJECT",
        "-A INPUT -p tcp --dport 444 -j REJECT --reject-with tcp-reset",
        "-A INPUT -p tcp --dport 8080 -j REJECT --reject-with tcp-reset",
        "-A INPUT -p tcp --dport 23 -j REJECT --reject-with icmp-admin-prohibited",
        "-A INPUT -p udp --dport 161 -j DROP",
        "-A INPUT -p udp --dport 163 -j REJECT --reject-with icmp-admin-prohibited",
    ],
    # the classic stateful host firewall: replies to our own traffic, ssh and dns, then DROP
    "stateful": [
        "-A INPUT -m conntrack --ctstate ESTABLISHED,RELATED -j ACCEPT",
        "-A INPUT -p tcp --dport 22 -j ACCEPT",
        "-A INPUT -p tcp --dport 23 -j ACCEPT",
        "-A INPUT -p udp --dport 53 -j ACCEPT",
        "-A INPUT -p udp --dport 54 -j ACCEPT",
        "-P INPUT DROP",
    ],
    # only new connections are filtered: SYNs to 80 dropped, anything else passes
    "syn-only": [
        "-A INPUT -p tcp --dport 80 --syn -j DROP",
        "-A INPUT -p tcp --dport 443 -m conntrack --ctstate NEW -j REJECT --reject-with "
        "tcp-reset",
    ],
}

_SERVE = """
import select, socket, sys
socks = []
for p in (%s):
    s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    s.bind(("0.0.0.0", p)); s.listen(128); s.setblocking(False); socks.append(s)
for p in (%s):
    u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM); u.bind(("0.0.0.0", p))
    socks.append(u)
print("ready", flush=True)
while True:
    ready, _, _ = select.select(socks, [], [], 120)
    if not ready:
        break
    for s in ready:
        if s.type == socket.SOCK_DGRAM:
            data, addr = s.recvfrom(2048); s.sendto(b"reply", addr)
        else:
            try:
                c, _ = s.accept(); c.close()
            except OSError:
                pass
""" % (",".join(map(str, TCP_OPEN)), ",".join(map(str, UDP_OPEN)))


@pytest.fixture(scope="module")
def lab():
    """The two namespaces with the target's listeners; yields a function that applies a
    rule set on the target and runs one real nmap scan."""
    with namespaces("scanner", "target") as ns:
        ns.veth("scanner", "va", "10.8.0.1/24", "target", "vb", f"{TARGET}/24")
        for role in ("scanner", "target"):
            ns.sysctl(role, "net.ipv4.icmp_ratelimit=0")
        ns.iptables_or_skip("target", "-S")
        server = ns.popen("target", sys.executable, "-c", _SERVE, stdout=subprocess.PIPE,
                          text=True)
        try:
            assert server.stdout.readline().strip() == "ready"

            def real_scan(rules, kind, ports, text_args=None):
                ns.exec("target", "iptables", "-F")
                ns.exec("target", "iptables", "-P", "INPUT", "ACCEPT")
                ns.exec("target", "conntrack", "-F", check=False)
                for rule in rules:
                    ns.exec("target", "iptables", *rule.split())
                if text_args is not None:             # nmap's normal output, as printed
                    return ns.exec("scanner", "nmap", *text_args, TARGET, timeout=120).stdout
                out = ns.exec("scanner", "nmap", "-n", "-Pn", kind, "-T4", "--max-retries",
                              "2", "-p", ",".join(map(str, ports)), "-oX", "-", TARGET,
                              timeout=120)
                root = ET.fromstring(out.stdout)
                return {int(p.get("portid")): p.find("state").get("state")
                        for p in root.iter("port")}
            yield real_scan
        finally:
            server.kill()
            server.wait(timeout=10)


def simulated_target(rules):
    net = simtcp.Network(seed=7, wire="fast")
    scanner = net.add_host("scanner", "10.8.0.1/24")
    target = net.add_host("target", f"{TARGET}/24")
    net.add_link(scanner, target, delay=0.0001)
    for h in (scanner, target):
        h.sysctl["net.ipv4.icmp_ratelimit"] = 0
    for port in TCP_OPEN:
        s = target.socket()
        s.bind(("0.0.0.0", port))
        s.listen(128)
    for port in UDP_OPEN:
        u = target.socket(2, SOCK_DGRAM)
        u.bind(("0.0.0.0", port))
        u.setblocking(False)

        def answer(sock):
            while True:
                try:
                    _data, addr = sock.recvfrom(2048)
                except BlockingIOError:
                    return
                sock.sendto(b"reply", addr)
        u.on_ready = answer
    for rule in rules:
        target.iptables(rule)
    return scanner


def simulated_scan(rules, kind, ports):
    scanner = simulated_target(rules)
    report = scan(scanner, ["-n", "-Pn", kind, "-T4", "--max-retries", "2", "-p",
                            ",".join(map(str, ports)), TARGET])
    proto = "udp" if kind == "-sU" else "tcp"
    return {port: state for (port, pr), state in report.hosts[0].states().items()
            if pr == proto}


@pytest.mark.parametrize("ruleset", sorted(RULESETS))
def test_port_states_agree_with_real_nmap(lab, ruleset):
    rules = RULESETS[ruleset]
    disagreements = {}
    for kind in SCANS:
        ports = UDP_PORTS if kind == "-sU" else TCP_PORTS
        real = lab(rules, kind, ports)
        ours = simulated_scan(rules, kind, ports)
        assert set(real) == set(ports), (kind, real)
        diff = {p: (real[p], ours.get(p)) for p in ports if real[p] != ours.get(p)}
        if diff:
            disagreements[kind] = diff
    assert not disagreements, f"(real nmap, simtcp) by port: {disagreements}"


# (rule set, nmap arguments). simtcp names services from IANA's registry, nmap from its
# nmap-services file; they differ for a few ports (8080: http-alt / http-proxy, 81, 24), so
# the cases show only ports whose names agree.
TEXT_CASES = [
    ("stateful", "-n -Pn -sS -T4"),                        # the top 1000: "Not shown: …"
    ("syn-only", "-n -Pn -sS -T4 -p 1-1024"),
    ("per-port", "-n -Pn -sS -T4 -p 21,22,23,25,80,443"),
    ("stateful", "-n -Pn -sA -T4 -p 21,22,23,25,80,443"),
    ("per-port", "-n -Pn -sT -T4 --reason -p 22,25,80,443"),
    ("per-port", "-n -Pn -sU -T4 -p 53,161,162"),
    ("stateful", "-n -Pn -sS -T4 --open -p 21,22,23,25,80,443"),
]


def _mask(text):
    """What cannot agree: the date, the latency, the elapsed time, and the MAC address line
    (simtcp models no link layer)."""
    text = re.sub(r"Starting Nmap 7\.93 \( https://nmap\.org \) at .*", "Starting Nmap", text)
    text = re.sub(r"\([0-9.]+s latency\)", "(Ls latency)", text)
    text = re.sub(r"scanned in [0-9.]+ seconds", "scanned in T seconds", text)
    return "\n".join(line for line in text.rstrip("\n").splitlines()
                     if not line.startswith("MAC Address: "))


@pytest.mark.parametrize("ruleset, args", TEXT_CASES)
def test_normal_output_reads_as_real_nmaps(lab, ruleset, args):
    real = lab(RULESETS[ruleset], None, None, text_args=args.split())
    ours = simulated_target(RULESETS[ruleset]).sh(f"nmap {args} {TARGET}")
    assert _mask(str(ours)) == _mask(real)
