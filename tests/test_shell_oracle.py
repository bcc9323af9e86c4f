"""Oracles for the shell's texts: the real tcpdump 4.99, dig 9.18 and conntrack 1.4.7 print
the same lines as simtcp's commands for the same packets, messages and connections.

* tcpdump needs no privilege: it reads the pcap of simtcp's per-interface capture (``-r``,
  TZ=UTC, so the virtual-time stamps print alike) and its lines must equal those of
  ``tcpdump -i eth0 -n`` on the simulated host.
* dig and conntrack run in a private network namespace the test creates and deletes (root):
  dig asks, over ``lo`` only, a server answering with the bytes of simtcp's DNS server; a
  veth pair carries one TCP connection and one unanswered UDP datagram for conntrack -L.
Every subprocess has a timeout; each part skips with a reason when its tool is missing.
"""
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from netns import namespaces, requires, run

import simtcp

HERE = Path(__file__).resolve().parent
RECORDS = {"www.example.com": "192.0.2.10", "a.example.com": ["192.0.2.1", "192.0.2.2"],
           "mail.example.com": {"MX": [(10, "mx.example.com")], "TXT": ["hello world"]},
           "averyveryverylongname.sub.example.com": "192.0.2.99"}


@pytest.mark.skipif(not shutil.which("tcpdump"), reason="needs tcpdump")
def test_tcpdump_reads_the_interface_capture_as_simtcp_prints_it(tmp_path):
    net = simtcp.Network(seed=3)
    c = net.add_host("client", "10.0.0.1/24")
    s = net.add_host("server", "10.0.0.2/24")
    net.add_link(c, s, delay=0.005)
    cap = net.capture.on(c, "eth0")
    s.start_service("http")
    s.start_service("ssh")
    s.start_service("smtp")
    c.sh("curl -s http://server/")
    c.sh("nc -w 1 server 22")
    c.sh("nc -w 1 server 25", stdin="QUIT\r\n")
    c.sh("nc -z server 23")
    c.sh("nmap -sX -Pn -p 22,23 server")
    u = c.socket(2, 2)
    u.sendto(b"hey", ("10.0.0.2", 5000))
    s.start_service("dns", records={"www.example.com": "192.0.2.10",
                                    "a.example.com": ["192.0.2.1", "192.0.2.2"],
                                    "mail.example.com": {"MX": [(10, "mx.example.com")],
                                                         "TXT": ["hi there"]}})
    for line in ("dig @server www.example.com", "dig @server +tcp a.example.com",
                 "dig @server mail.example.com MX", "dig @server mail.example.com TXT",
                 "dig @server nope.example.com"):
        c.sh(line)
    c.resolve("www.example.com", "10.0.0.2")              # no EDNS: no [1au]
    c.sh("nmap -sU -Pn -p 53,69 server")                   # nmap's DNS payloads, NOTIMP
    net.run(until=net.now + 100)
    path = tmp_path / "eth0.pcap"
    cap.write_pcap(str(path))
    real = run("tcpdump", "-n", "-r", str(path), timeout=30,
               env={"TZ": "UTC", "PATH": os.environ["PATH"]})
    ours = [line for line in c.sh("tcpdump -i eth0 -n").splitlines()
            if re.match(r"\d\d:\d\d:\d\d\.\d{6} ", line)]
    assert len(ours) > 30
    assert ours == real.stdout.splitlines()


def _real_lines(cap, tmp_path):
    path = tmp_path / "iface.pcap"
    cap.write_pcap(str(path))
    real = run("tcpdump", "-n", "-r", str(path), timeout=30,
               env={"TZ": "UTC", "PATH": os.environ["PATH"]})
    return real.stdout.splitlines()


def _our_lines(host, iface):
    return [line for line in host.sh(f"tcpdump -i {iface} -n").splitlines()
            if re.match(r"\d\d:\d\d:\d\d\.\d{6} ", line)]


@pytest.mark.skipif(not shutil.which("tcpdump"), reason="needs tcpdump")
def test_tcpdump_lines_for_icmp_errors_banners_and_traceroute(tmp_path):
    net = simtcp.Network(seed=3)
    r = net.add_router("r1", "192.168.1.1/24", "203.0.113.1/24")
    c = net.add_host("client", "192.168.1.10/24", gateway="192.168.1.1")
    s = net.add_host("server", "203.0.113.20/24", gateway="203.0.113.1")
    net.add_link(c, r)
    net.add_link(r, s)
    cap = net.capture.on(c, "eth0")
    for kind in ("telnet", "ftp", "pop3", "imap", "mysql", "vnc"):
        s.start_service(kind)
    for code in ("admin-prohibited", "host-unreachable", "net-unreachable",
                 "host-prohibited", "net-prohibited"):
        port = {"admin-prohibited": 30, "host-unreachable": 31, "net-unreachable": 32,
                "host-prohibited": 33, "net-prohibited": 34}[code]
        r.iptables(f"-A FORWARD -p tcp --dport {port} -j REJECT --reject-with icmp-{code}")
    for line in ("traceroute -n -q 1 server", "traceroute -T -n -q 1 server",
                 "telnet server 23", "nc -w 1 server 21", "nc -w 1 server 110",
                 "nc -w 1 server 143", "nc -w 1 server 3306", "nc -w 1 server 5900",
                 "nmap -sU -Pn -p 53 server", "nmap -sA -Pn -p 80 server",
                 "nmap -sS -Pn -p 30-34 server"):
        c.sh(line, stdin="root\r\n" if line.startswith("telnet") else None)
    net.run(until=net.now + 100)
    ours = _our_lines(c, "eth0")
    assert len(ours) > 50
    assert any("unreachable - admin prohibited filter" in line for line in ours)
    assert any("ICMP time exceeded in-transit" in line for line in ours)
    assert ours == _real_lines(cap, tmp_path)


def _mask_dig(text, server):
    text = text.replace(f"@{server} ", "@SERVER ")
    text = re.sub(r"id: \d+", "id: ID", text)
    text = re.sub(r"Query time: \d+ msec", "Query time: T msec", text)
    text = re.sub(r";; WHEN: .*", ";; WHEN: W", text)
    return re.sub(r";; SERVER: \S+", ";; SERVER: S", text)


@requires("dig")
def test_dig_prints_the_same_layout_as_the_real_dig():
    with namespaces("dns") as ns:
        env = dict(os.environ, PYTHONPATH=str(HERE.parent))
        server = ns.popen("dns", sys.executable, str(HERE / "shell_dns_probe.py"),
                          stdout=subprocess.PIPE, text=True, env=env)
        try:
            assert server.stdout.readline().strip() == "ready"
            net = simtcp.Network(seed=1)
            client = net.add_host("client", "10.0.0.1/24")
            host = net.add_host("ns", "10.0.0.53/24")
            net.add_link(client, host, delay=0.002)
            host.start_service("dns", records=RECORDS)
            for query in ("www.example.com", "a.example.com", "mail.example.com MX",
                          "mail.example.com TXT", "nope.example.com",
                          "averyveryverylongname.sub.example.com", "+short a.example.com"):
                real = ns.exec("dns", "dig", "+time=2", "+tries=1", "@127.0.0.1",
                               *query.split(), timeout=30).stdout
                ours = client.sh(f"dig +time=2 +tries=1 @ns {query}")
                assert (_mask_dig(str(ours), "ns").rstrip("\n")
                        == _mask_dig(real, "127.0.0.1").rstrip("\n")), query
        finally:
            server.kill()
            server.wait(timeout=10)


_CT_CLIENT = """
import socket, time
c = socket.create_connection(("10.9.0.2", 80), timeout=5)
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"x", ("10.9.0.2", 5353))
time.sleep(0.2)
print("ok", flush=True)
time.sleep(8)
"""
_CT_SERVER = """
import socket, time
s = socket.socket(); s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("0.0.0.0", 80)); s.listen(); s.settimeout(8)
print("listening", flush=True)
c, _ = s.accept(); time.sleep(8)
"""


def _mask_ct(text):
    return re.sub(r"(sport|dport)=\d+", r"\1=P", text)


@requires("conntrack", "iptables")
def test_conntrack_lists_entries_as_the_real_conntrack_does():
    rule = ("-A", "INPUT", "-m", "conntrack", "--ctstate", "ESTABLISHED", "-j", "ACCEPT")
    with namespaces("a", "b") as ns:
        ns.veth("a", "va", "10.9.0.1/24", "b", "vb", "10.9.0.2/24")
        ns.iptables_or_skip("b", *rule)
        server = ns.popen("b", sys.executable, "-c", _CT_SERVER, stdout=subprocess.PIPE,
                          text=True)
        client = None
        try:
            assert server.stdout.readline().strip() == "listening"
            client = ns.popen("a", sys.executable, "-c", _CT_CLIENT, stdout=subprocess.PIPE,
                              text=True)
            assert client.stdout.readline().strip() == "ok"
            real = ns.exec("b", "conntrack", "-L", timeout=30)
            real_text = _mask_ct(real.stdout + real.stderr)
        finally:
            for proc in (server, client):
                if proc is not None:
                    proc.kill()
                    proc.wait(timeout=10)

    net = simtcp.Network(seed=1)
    ca = net.add_host("a", "10.9.0.1/24")
    sb = net.add_host("b", "10.9.0.2/24")
    net.add_link(ca, sb, delay=0.0001)
    sb.sh(" ".join(("iptables",) + rule))
    srv = sb.socket()
    srv.bind(("0.0.0.0", 80))
    srv.listen(1)
    conn = ca.socket()
    conn.connect(("10.9.0.2", 80))
    u = ca.socket(2, 2)
    u.sendto(b"x", ("10.9.0.2", 5353))
    net.run(until=net.now + 0.3)
    ours = _mask_ct(str(sb.sh("conntrack -L")))
    # the kernel lists entries in hash-table order; compare them as a set, then the
    # summary line conntrack prints last
    assert sorted(ours.splitlines()[:-1]) == sorted(real_text.splitlines()[:-1])
    assert ours.splitlines()[-1] == real_text.splitlines()[-1]


_TRACE_CASES = [  # (FORWARD rule on the router or "", traceroute arguments)
    ("", "-n -q 1"),
    ("", "-T -n -q 1"),
    ("", "-n -q 1 -m 1"),
    ("-p udp -j REJECT --reject-with icmp-admin-prohibited", "-n -q 2"),
    ("-p udp -j REJECT --reject-with icmp-host-unreachable", "-n -q 1"),
]


def _mask_trace(text):
    return re.sub(r"\d+\.\d{3} ms", "T ms", text.rstrip("\n"))


@requires("traceroute", "iptables")
def test_traceroute_prints_what_the_real_traceroute_prints():
    """client 10.7.1.2 — router — server 10.7.2.2, in three namespaces; one probe per hop
    or one hop at a time, as simtcp's traceroute sends them one by one (the real one sends
    up to 16 at once, and ICMP rate limiting then turns many of its answers into stars)."""
    with namespaces("c", "r", "s") as ns:
        ns.veth("c", "a0", "10.7.1.2/24", "r", "a1", "10.7.1.1/24")
        ns.veth("r", "b0", "10.7.2.1/24", "s", "b1", "10.7.2.2/24")
        for role in ("c", "r", "s"):
            ns.sysctl(role, "net.ipv4.icmp_ratelimit=0")
        ns.sysctl("r", "net.ipv4.ip_forward=1")
        ns.route("c", "default", "via", "10.7.1.1")
        ns.route("s", "default", "via", "10.7.2.1")
        for rule, args in _TRACE_CASES:
            ns.exec("r", "iptables", "-F", "FORWARD")
            if rule:
                ns.exec("r", "iptables", "-A", "FORWARD", *rule.split())
            real = ns.exec("c", "traceroute", *args.split(), "10.7.2.2", timeout=60).stdout
            net = simtcp.Network(seed=1)
            router = net.add_router("r1", "10.7.1.1/24", "10.7.2.1/24")
            client = net.add_host("client", "10.7.1.2/24", gateway="10.7.1.1")
            server = net.add_host("server", "10.7.2.2/24", gateway="10.7.2.1")
            net.add_link(client, router, delay=0.001)
            net.add_link(router, server, delay=0.001)
            if rule:
                router.iptables(f"-A FORWARD {rule}")
            ours = client.sh(f"traceroute {args} 10.7.2.2")
            assert _mask_trace(str(ours)) == _mask_trace(real), (rule, args)
