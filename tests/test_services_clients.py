"""Services a scanner finds, the client tools that try them, and the shell that types them.

Expected texts are those the Debian 12 tools print against Linux (OpenBSD nc 1.219,
netkit telnet 0.17, curl 7.88.1), recorded in a private network namespace.
"""
import socket
import struct

import pytest

import simtcp
import simtcp.services
from simtcp.shell import Output


@pytest.fixture
def lan():
    net = simtcp.Network(seed=3)
    client = net.add_host("client", "192.168.1.10")
    server = net.add_host("server", "192.168.1.20")
    net.add_link(client, server, delay=0.005)
    return net, client, server


def test_banner_services_greet_like_the_real_daemons(lan):
    net, client, server = lan
    for kind in ("ssh", "smtp", "ftp", "pop3", "imap", "telnet", "vnc"):
        server.start_service(kind)
    assert client.sh("nc -w 1 server 22") == "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"
    assert client.sh("nc -w 1 server 21") == "220 (vsFTPd 3.0.3)"
    assert client.sh("nc -w 1 server 5900") == "RFB 003.008"
    smtp = client.sh("nc -w 1 server 25", stdin="HELO me\r\nQUIT\r\n")
    assert smtp.splitlines() == ["220 mail.example.com ESMTP Postfix (Debian/GNU)",
                                 "250 mail.example.com", "221 2.0.0 Bye"]


def test_services_run_as_named_processes_after_dropping_root(lan):
    _, _, server = lan
    server.start_service("http")
    table = str(server.ss(processes=True))
    assert '"nginx"' in table and ":80" in table
    (svc,) = server.services
    assert svc.sock.user == "www-data"          # bound as root, then setuid


def test_an_unprivileged_start_cannot_bind_a_low_port(lan):
    _, _, server = lan
    with pytest.raises(PermissionError):
        server.start_service("http", start_as_root=False)
    svc = server.start_service("http", port=8080, start_as_root=False)
    assert svc.port == 8080


def test_nc_z_tells_open_from_closed_and_sets_the_exit_status(lan):
    _, client, server = lan
    server.start_service("ssh")
    out = client.sh("nc -zv server 21-23")
    assert out.splitlines() == [
        "nc: connect to server port 21 (tcp) failed: Connection refused",
        "Connection to server 22 port [tcp/ssh] succeeded!",
        "nc: connect to server port 23 (tcp) failed: Connection refused"]
    assert out.status == 0
    closed = client.sh("nc -zv server 23")
    assert closed.status == 1
    assert client.sh("nc -z server 23") == ""          # without -v nc says nothing


def test_nc_w_times_out_on_a_silent_port_in_virtual_time(lan):
    net, client, server = lan
    net.links[0].add_middlebox(simtcp.link.DropMatching(
        lambda p: p.segment.dport == 23, count=10 ** 6, reason="firewall"))
    t0 = net.now
    out = client.sh("nc -zv -w 2 server 23")
    assert out == "nc: connect to server port 23 (tcp) timed out: Operation now in progress"
    assert out.status == 1
    assert net.now - t0 == pytest.approx(2.0)


def test_curl_gets_a_page_and_reports_refusal_like_curl(lan):
    _, client, server = lan
    server.start_service("http", pages={"/hello": "hi\n"})
    assert client.sh("curl -s http://server/hello") == "hi"
    verbose = client.sh("curl -v http://server/hello").splitlines()
    assert verbose[:3] == ["*   Trying 192.168.1.20:80...",
                           "* Connected to server (192.168.1.20) port 80 (#0)",
                           "> GET /hello HTTP/1.1"]
    assert "< HTTP/1.1 200 OK" in verbose and verbose[-1] == \
        "* Connection #0 to host server left intact"
    missing = client.sh("curl -sI http://server/nope")
    assert missing.startswith("HTTP/1.1 404 Not Found")
    refused = client.sh("curl http://server:81/")
    assert refused == ("curl: (7) Failed to connect to server port 81 after 10 ms: "
                       "Couldn't connect to server")
    assert refused.status == 7


def test_curl_connect_timeout_and_kernel_timeout_differ(lan):
    net, client, server = lan
    net.links[0].add_middlebox(simtcp.link.DropMatching(
        lambda p: p.segment.dport == 8080, count=10 ** 6, reason="firewall"))
    own = client.sh("curl --connect-timeout 2 http://server:8080/")
    assert own == ("curl: (28) Failed to connect to server port 8080 after 2000 ms: "
                   "Timeout was reached")
    kernel = client.sh("curl http://server:8080/")
    # Linux 6.5+: 4 linear SYN timeouts, the last SYN at 67 s, ETIMEDOUT at 131 s
    # (ip-sysctl.rst, tcp_syn_retries)
    assert kernel.status == 28 and "after 131000 ms: Couldn't connect to server" in kernel


def test_telnet_shows_the_login_prompt_and_refusal(lan):
    net, client, server = lan
    server.start_service("telnet")
    out = client.sh("telnet server", stdin="alice\nsecret\n")
    lines = out.splitlines()
    assert lines[:4] == ["Trying 192.168.1.20...", "Connected to server.",
                         "Escape character is '^]'.", "Debian GNU/Linux 12"]
    assert "Login incorrect" in out
    # the password crossed the network in plaintext: it is in the capture
    assert any(b"secret" in bytes(p.segment.payload) for p in
               (c.packet for c in net.capture) if p.segment is not None)
    refused = client.sh("telnet server 2323")
    assert refused.splitlines() == ["Trying 192.168.1.20...",
                                    "telnet: Unable to connect to remote host: "
                                    "Connection refused"]


@pytest.mark.parametrize("line, status, start", [
    ("frobnicate -x", 127, "bash: frobnicate: command not found"),
    ("nc -q 1 server 22", 1, "nc: invalid option -- 'q'"),
    ("curl --bogus http://server/", 2, "curl: option --bogus: is unknown"),
    ("curl ftp://server/", 1, 'curl: (1) Protocol "ftp" not supported'),
    ("sysctl net.ipv4.nope", 255, "sysctl: cannot stat /proc/sys/net/ipv4/nope"),
    ("sysctl net.ipv4.tcp_syn_retries=3", 255, 'sysctl: "net.ipv4.tcp_syn_retries=3" must be'),
    ("echo 'unbalanced", 2, "bash: syntax error"),
])
def test_usage_errors_are_those_of_the_real_tools(lan, line, status, start):
    _, client, _ = lan
    out = client.sh(line)
    assert isinstance(out, Output) and out.status == status
    assert out.startswith(start), out


def test_sysctl_w_changes_the_stack(lan):
    net, client, server = lan
    assert client.sh("sysctl -w net.ipv4.tcp_syn_retries=2") == "net.ipv4.tcp_syn_retries = 2"
    assert client.sh("sysctl -n net.ipv4.tcp_syn_retries") == "2"
    net.links[0].add_middlebox(simtcp.link.DropMatching(
        lambda p: p.segment.dport == 9, count=10 ** 6, reason="firewall"))
    out = client.sh("nc -zv server 9")
    assert out == "nc: connect to server port 9 (tcp) failed: Connection timed out"
    assert net.now == pytest.approx(7.0, abs=0.1)    # SYNs at 0, 1, 3 s; give up at 7 s


class _HangUp(simtcp.services.Service):
    """Reads the request, then closes without a word (``abort``: with SO_LINGER 0, a RST)."""
    kind, port, process, user = "hangup", 8081, "hangup", "nobody"
    abort = False

    class session(simtcp.services.Session):      # noqa: N801
        def on_data(self, data):
            if self.service.abort:
                self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER,
                                     struct.pack("ii", 1, 0))
            self.finish()


@pytest.mark.parametrize("abort, code, why", [
    (False, 52, "Empty reply from server"),
    (True, 56, "Recv failure: Connection reset by peer")])
def test_curl_tells_an_empty_reply_from_a_reset(lan, abort, code, why):
    # curl 7.88.1 against a Python server on loopback in a private netns printed exactly
    # these lines and exit statuses
    _, client, server = lan
    _HangUp(server).abort = abort
    quiet = client.sh("curl http://server:8081/")
    assert quiet == f"curl: ({code}) {why}" and quiet.status == code
    verbose = client.sh("curl -v http://server:8081/").splitlines()
    assert verbose[-3:] == [f"* {why}", "* Closing connection 0", f"curl: ({code}) {why}"]
    assert client.sh("curl -s http://server:8081/") == ""
    assert client.sh("curl -sS http://server:8081/") == f"curl: ({code}) {why}"
