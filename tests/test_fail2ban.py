"""sshd's password logins and auth log; fail2ban's maxretry/findtime/bantime bans."""
import errno

import pytest

import simtcp
from simtcp.fail2ban import Jail, JailAction
from simtcp.sshd import AuthOutcome, LoginOutcome, ssh_login


def lab(seed=5, **sshd):
    net = simtcp.Network(seed=seed, wire="fast")
    attacker = net.add_host("attacker", "192.168.1.66")
    alice = net.add_host("alice", "192.168.1.10")
    server = net.add_host("server", "192.168.1.20")
    net.add_lan([attacker, alice, server], delay=0.001)
    sshd.setdefault("accounts", {"alice": "correct horse", "root": "toor"})
    ssh = server.start_service("ssh", **sshd)
    return net, attacker, alice, server, ssh


def test_logins_write_sshds_auth_log_lines():
    net, attacker, alice, server, ssh = lab()
    assert ssh_login(alice, "server", "alice", "correct horse").ok
    bad = ssh_login(attacker, "server", "alice", "123456")
    assert bad.outcome is LoginOutcome.DENIED
    assert str(bad) == "Permission denied, please try again."
    ssh_login(attacker, "server", "admin", "admin")
    ssh_login(attacker, "server", "root", "toor")         # right password, still refused
    net.run(until=net.now + 1)
    kinds = [e.outcome for e in ssh.auth_events]
    assert kinds == [AuthOutcome.ACCEPTED, AuthOutcome.FAILED, AuthOutcome.CLOSED_PREAUTH,
                     AuthOutcome.INVALID_USER, AuthOutcome.FAILED, AuthOutcome.CLOSED_PREAUTH,
                     AuthOutcome.FAILED, AuthOutcome.CLOSED_PREAUTH]
    lines = ssh.auth_log.splitlines()
    port = bad.local_port
    assert lines[0].startswith("Dec  1 00:00:00 server sshd[")
    assert lines[0].endswith(f"Accepted password for alice from 192.168.1.10 port "
                             f"{ssh.auth_events[0].port} ssh2")
    assert lines[1].endswith(f"Failed password for alice from 192.168.1.66 port {port} ssh2")
    assert lines[2].endswith(f"Connection closed by authenticating user alice 192.168.1.66 "
                             f"port {port} [preauth]")
    assert "]: Invalid user admin from 192.168.1.66 port " in lines[3]
    assert "]: Failed password for invalid user admin from 192.168.1.66 port " in lines[4]
    assert "]: Failed password for root from 192.168.1.66 port " in lines[6]


def test_permit_root_login_yes_lets_root_in():
    net, attacker, alice, server, ssh = lab(permit_root_login="yes")
    assert ssh_login(alice, "server", "root", "toor").ok


def test_the_password_never_crosses_the_wire_readable():
    net, attacker, alice, server, ssh = lab()
    ssh_login(alice, "server", "alice", "correct horse")
    wire = b"".join(bytes(p.bytes) for p in net.capture)
    assert b"SSH-2.0-OpenSSH_9.2p1" in wire
    assert b"correct horse" not in wire and b"alice" not in wire


def test_max_auth_tries_disconnects():
    net, attacker, alice, server, ssh = lab(max_auth_tries=1)
    ssh_login(attacker, "server", "alice", "guess")
    net.run(until=net.now + 1)
    assert ssh.auth_events[-1].outcome is AuthOutcome.TOO_MANY_FAILURES
    assert ssh.auth_events[-1].text.endswith(
        "Too many authentication failures [preauth]")


def test_a_jail_bans_after_maxretry_failures_within_findtime_and_unbans():
    net, attacker, alice, server, ssh = lab()
    jail = Jail(server, maxretry=3, findtime=60, bantime=120)
    for guess in ("123456", "password", "qwerty"):
        assert ssh_login(attacker, "server", "alice", guess).outcome is LoginOutcome.DENIED
    net.run(until=net.now + 0.1)
    assert list(jail.banned) == ["192.168.1.66"]
    assert "-A f2b-sshd -s 192.168.1.66/32 -j REJECT --reject-with icmp-port-unreachable" \
        in server.iptables("-S")
    assert "-A INPUT -p tcp -m multiport --dports 22 -j f2b-sshd" in server.iptables("-S")
    refused = ssh_login(attacker, "server", "alice", "correct horse")
    assert refused.outcome is LoginOutcome.REFUSED and refused.errno == errno.ECONNREFUSED
    assert ssh_login(alice, "server", "alice", "correct horse").ok   # others unaffected
    ban_line = [e for e in jail.events if e.action is JailAction.BAN][0].text
    assert ban_line.startswith("2026-12-01 00:00:00,")
    assert ban_line.endswith(" fail2ban.actions        [%d]: NOTICE  [sshd] Ban 192.168.1.66"
                             % jail.pid)
    net.run(until=net.now + 121)
    assert jail.banned == {} and jail.events[-1].action is JailAction.UNBAN
    assert ssh_login(attacker, "server", "alice", "correct horse").ok
    assert "Currently banned:\t0" in jail.status()


def test_failures_spread_wider_than_findtime_never_ban():
    net, attacker, alice, server, ssh = lab()
    jail = Jail(server, maxretry=3, findtime=10, bantime=60)
    for guess in ("a", "b", "c", "d", "e"):
        ssh_login(attacker, "server", "alice", guess)
        net.run(until=net.now + 6)                   # 6 s apart: at most 2 in any 10 s
    assert jail.banned == {}
    assert sum(e.action is JailAction.FOUND for e in jail.events) == 5


def test_ignoreip_and_permanent_bans():
    net, attacker, alice, server, ssh = lab()
    jail = Jail(server, maxretry=2, bantime=-1, ignoreip=("192.168.1.10/32",))
    for _ in range(3):
        ssh_login(alice, "server", "alice", "typo")
        ssh_login(attacker, "server", "alice", "guess")
    net.run(until=net.now + 10_000)
    assert list(jail.banned) == ["192.168.1.66"]


@pytest.mark.parametrize("bad", [{"maxretry": 0}, {"findtime": 0}, {"bantime": "10m"}])
def test_bad_jail_settings_are_refused(bad):
    net, attacker, alice, server, ssh = lab()
    with pytest.raises(ValueError):
        Jail(server, **bad)


def test_a_jail_needs_an_ssh_service():
    net = simtcp.Network(seed=1)
    h = net.add_host("h", "10.0.0.1")
    with pytest.raises(ValueError, match="no ssh service"):
        Jail(h)


def test_unban_by_hand_and_a_stopped_jail():
    net, attacker, alice, server, ssh = lab()
    jail = Jail(server, maxretry=1, bantime=3600)
    ssh_login(attacker, "server", "alice", "x")
    net.run(until=net.now + 0.1)
    assert ssh_login(attacker, "server", "alice", "correct horse").outcome is LoginOutcome.REFUSED
    jail.unban("192.168.1.66")                       # fail2ban-client set sshd unbanip
    assert ssh_login(attacker, "server", "alice", "correct horse").ok
    with pytest.raises(ValueError, match="not banned"):
        jail.unban("192.168.1.66")
    jail.stop()
    ssh_login(attacker, "server", "alice", "y")
    net.run(until=net.now + 0.1)
    assert jail.banned == {}


@pytest.mark.parametrize("bad", [{"permit_root_login": "maybe"}, {"max_auth_tries": 0}])
def test_bad_sshd_settings_are_refused(bad):
    net = simtcp.Network(seed=1)
    h = net.add_host("h", "10.0.0.1")
    with pytest.raises(ValueError):
        h.start_service("ssh", **bad)
