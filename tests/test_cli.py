"""Views accept the real command lines (simtcp.cli): flags have their real effect, unknown
or unmodelled flags raise simtcp.UsageError with the real tool's message."""
import shutil
import subprocess

import pytest

import simtcp
from simtcp import UsageError
from simtcp.cli import parse_lsof, parse_netstat, parse_ss
from simtcp.states import State


@pytest.fixture
def sc():
    net = simtcp.Network(seed=7)
    server = net.add_host("server", "192.168.1.20")
    client = net.add_host("client", "192.168.1.10")
    net.add_link(client, server, delay=0.001)
    srv = server.socket(process="sshd")
    srv.bind(("0.0.0.0", 22))
    srv.listen(5)
    web = server.socket(user="www-data", process="nginx")
    web.bind(("192.168.1.20", 8080))
    web.listen(5)
    cli = client.socket()
    cli.connect(("192.168.1.20", 22))
    conn, _ = srv.accept()
    net.run(until=net.now + 0.01)
    return net, server, client


def test_ss_command_lines_match_the_keyword_forms(sc):
    net, server, client = sc
    assert str(server.ss("-tan")) == str(server.ss())
    assert str(server.ss("-t", "-a", "-n")) == str(server.ss())
    assert str(server.ss("ss -tan")) == str(server.ss())
    assert str(server.ss("-tln")) == str(server.ss(listening=True))
    assert str(server.ss("-tanp")) == str(server.ss(processes=True))
    est = server.ss("-tan", "state", "established")
    assert str(est) == str(server.ss(state="established"))
    assert str(server.ss("-tan state established")) == str(est)
    assert [r["state"] for r in est] == [State.ESTABLISHED]


def test_ss_filters_and_header(sc):
    net, server, client = sc
    only22 = server.ss("-tan", "( sport = :22 or dport = :22 )")
    assert {r["local_port"] for r in only22} == {22}
    assert str(only22) == str(server.ss(port=22))
    ssh = server.ss("-tan", "sport", "=", ":ssh")
    assert {r["local_port"] for r in ssh} == {22}
    assert len(server.ss("-tan", "dst", "192.168.1.10")) == 1
    assert len(server.ss("-tan", "exclude", "listening")) == 1
    # -H: no header line, and (as in iproute2) the columns are measured on the rows alone
    no_head = str(server.ss("-tanH")).split("\n")
    with_head = str(server.ss("-tan")).split("\n")
    assert len(no_head) == len(with_head) - 1 and with_head[0].startswith("State")
    assert [line.split() for line in no_head] == [line.split() for line in with_head[1:]]
    assert str(server.ss("-tun")).startswith("Netid")       # two protocols: a Netid column
    # with no -a/-l, ss hides listeners; names are resolved without -n
    assert [r["state"] for r in server.ss("-t")] == [State.ESTABLISHED]
    assert "192.168.1.20:ssh" in str(server.ss("-t"))


@pytest.mark.parametrize("args, message", [
    (("-X",), "ss: invalid option -- 'X'"),
    (("--foo",), "ss: unrecognized option '--foo'"),
    (("-tan", "state", "foo"), "ss: wrong state name: foo"),
    (("-tan", "dport"), 'ss: bison bellows (while parsing filter): "syntax error!" Sorry.'),
    (("-tan", "sport", "=", ":foo"), 'Error: "foo" does not look like a port.'),
    (("-te",), "ss: -e (extended information) is not modelled by simtcp"),
    (("-x",), "ss: -x (UNIX sockets) is not modelled by simtcp"),
])
def test_ss_usage_errors(sc, args, message):
    with pytest.raises(UsageError) as e:
        sc[1].ss(*args)
    assert str(e.value) == message


def test_netstat_p_is_no_longer_dropped(sc):
    net, server, client = sc
    text = str(server.netstat("-tulnp")).split("\n")
    assert text[0] == "Active Internet connections (only servers)"
    assert text[1].endswith("PID/Program name    ")
    assert any("/sshd" in line for line in text[2:])
    assert str(server.netstat("-tanp")) == str(server.netstat(programs=True))
    assert str(server.netstat("-tan")) == str(server.netstat())


@pytest.mark.parametrize("args, message", [
    (("-X",), "netstat: invalid option -- 'X'"),
    (("--foo",), "netstat: unrecognized option '--foo'"),
    (("-r",), "netstat: -r (this option) is not modelled by simtcp"),
])
def test_netstat_usage_errors(sc, args, message):
    with pytest.raises(UsageError) as e:
        sc[1].netstat(*args)
    assert str(e.value).split("\n")[0] == message


def test_lsof_command_lines(sc):
    net, server, client = sc
    t22 = server.lsof("-i", ":22")
    assert str(t22) != "" and {r["local_port"] for r in t22} == {22}
    assert t22.status == 0
    assert str(server.lsof("-i", "tcp:22")) == str(t22)
    assert str(server.lsof("-i tcp:ssh")) == str(server.lsof("-i", "TCP:22"))
    assert str(server.lsof("-nP", "-iTCP")) == str(server.lsof())
    nothing = server.lsof("-i", "tcp:80")
    assert str(nothing) == "" and nothing.status == 1
    listening = server.lsof("-iTCP", "-sTCP:LISTEN")
    assert {r["state"] for r in listening} == {State.LISTEN}
    www = server.lsof("-a", "-u", "www-data", "-i", "TCP")
    assert {r["user"] for r in www} == {"www-data"}
    either = server.lsof("-u", "www-data", "-i", ":22")            # no -a: either matches
    assert {r["user"] for r in either} == {"www-data", "root"}
    assert server.lsof("-t", "-i", ":22").text.split("\n") == [str(t22.rows[0]["pid"])]


@pytest.mark.parametrize("args, message", [
    (("-Y",), "lsof: illegal option character: Y"),
    (("-i", "foo"), "lsof: unknown protocol name (foo) in: -i foo"),
    (("-i", ":foo"), "lsof: unknown service foo in: -i :foo"),
    (("-iTCP", "-sTCP:FOO"), "lsof: unknown TCP state name: FOO"),
])
def test_lsof_usage_errors(sc, args, message):
    with pytest.raises(UsageError) as e:
        sc[1].lsof(*args)
    assert str(e.value) == message


def test_usage_error_is_a_value_error_with_a_status():
    with pytest.raises(ValueError):
        parse_ss(["-X"])
    with pytest.raises(UsageError) as e:
        parse_netstat(["-Z"])
    assert e.value.status == 3                   # net-tools usage(): exit(E_USAGE)


def test_the_shell_reports_the_tools_exit_status(sc):
    net, server, client = sc
    assert server.sh("ss -X").status == 255
    assert server.sh("ss -X") == "ss: invalid option -- 'X'"
    assert server.sh("netstat -X").status == 3
    assert server.sh("lsof -i :9999").status == 1 and server.sh("lsof -i :9999") == ""
    assert server.sh("lsof -i :22").status == 0
    assert server.sh("netstat -tulnp") == str(server.netstat("-tulnp"))


REAL = [("ss", ["-X"]), ("ss", ["--foo"]), ("ss", ["state", "foo"]),
        ("ss", ["-tan", "dport"]), ("netstat", ["-X"]), ("netstat", ["--foo"]),
        ("lsof", ["-Y"]), ("lsof", ["-i", "foo"]), ("lsof", ["-i", ":foo"])]


@pytest.mark.parametrize("tool, args", REAL)
def test_messages_are_the_real_tools_messages(tool, args):
    """Where the tool is installed, its first line of complaint is simtcp's message."""
    if shutil.which(tool) is None:
        pytest.skip(f"{tool} is not installed")
    real = subprocess.run([tool] + args, capture_output=True, text=True, timeout=20)
    first = (real.stderr or real.stdout).split("\n")[0]
    parser = {"ss": parse_ss, "netstat": parse_netstat, "lsof": parse_lsof}[tool]
    with pytest.raises(UsageError) as e:
        parser(args)
    assert str(e.value).split("\n")[0] == first
