"""Port knocking with knockd's semantics: sequence, seq_timeout, tcpflags, commands, timeouts."""
import pytest

import simtcp
from simtcp import shell
from simtcp.knockd import KnockdConfigError, parse_config

CONF = """
[options]
    UseSyslog

[openSSH]
    sequence      = 7000,8000,9000
    seq_timeout   = 5
    tcpflags      = syn
    start_command = /sbin/iptables -A INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
    cmd_timeout   = 10
    stop_command  = /sbin/iptables -D INPUT -s %IP% -p tcp --dport 22 -j ACCEPT
"""


@pytest.fixture
def knocked(monkeypatch):
    ran = []
    monkeypatch.setitem(shell.COMMANDS, "iptables",
                        lambda host, args, stdin=None: ran.append((host.net.now, args)) or "")
    net = simtcp.Network(seed=2, wire="fast")
    client = net.add_host("client", "192.168.1.10")
    server = net.add_host("server", "192.168.1.20")
    net.add_link(client, server, delay=0.005)
    daemon = server.start_service("knockd", config=CONF)
    return net, client, server, daemon, ran


def test_the_right_sequence_runs_the_command_for_the_knocker_only(knocked):
    net, client, server, daemon, ran = knocked
    assert client.sh("knock server 7000 8000 9000").status == 0
    net.run(until=net.now + 1)
    assert ran == [(pytest.approx(0.005), ["-A", "INPUT", "-s", "192.168.1.10", "-p", "tcp",
                                           "--dport", "22", "-j", "ACCEPT"])]
    net.run(until=20)                               # cmd_timeout: the port closes again
    assert ran[1][1][0] == "-D" and ran[1][0] == pytest.approx(10.005)
    assert "OPEN SESAME" in str(daemon)


def test_a_wrong_port_invalidates_and_the_order_matters(knocked):
    net, client, server, daemon, ran = knocked
    client.sh("knock server 7000 8001 8000 9000")
    client.sh("knock server 9000 8000 7000")
    net.run(until=net.now + 1)
    assert ran == []
    assert "sequence invalidated at stage 1" in str(daemon)


def test_a_slow_knock_times_out(knocked):
    net, client, server, daemon, ran = knocked
    client.sh("knock -d 3000 server 7000 8000 9000")   # 6 s > seq_timeout 5 s
    net.run(until=net.now + 1)
    assert ran == [] and "sequence timeout" in str(daemon)


def test_tcpflags_ignores_other_packets_instead_of_breaking_the_knock(knocked):
    net, client, server, daemon, ran = knocked
    server.start_service("ssh")
    sock = client.socket()
    sock.connect(("192.168.1.20", 22))         # established before the knock starts
    client.sh("knock server 7000 8000")
    sock.sendall(b"SSH-2.0-me\r\n")             # ACK/PSH to port 22: no SYN, so ignored
    net.run(until=net.now + 0.5)
    client.sh("knock server 9000")
    net.run(until=net.now + 1)
    assert len(ran) == 1                         # the knock survived the other traffic
    client.sh("knock server 7000 8000")
    client.sh("nc -z server 22")                 # … but a SYN to a wrong port breaks it
    client.sh("knock server 9000")
    net.run(until=net.now + 1)
    assert len(ran) == 1


@pytest.mark.parametrize("text, message", [
    ("[a]\nsequence = 7000,x\n", "invalid sequence entry 'x'"),
    ("[a]\nseq_timeout = 5\n", "no sequence defined"),
    ("[a]\nsequence = 1\ntcpflags = syn,wat\n", 'unrecognized flag "wat"'),
    ("[a]\nsequence = 1\nfoo = bar\n", "unknown attribute 'foo'"),
    ("[options]\nUseSyslog\n", "no knock sections"),
])
def test_bad_configs_are_refused(text, message):
    with pytest.raises(KnockdConfigError, match=message):
        parse_config(text)
