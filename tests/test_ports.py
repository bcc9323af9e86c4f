"""Tests for simtcp.ports: IANA ranges (RFC 6335 §6) and the shipped service registry."""
import io
import os

import pytest
from hypothesis import given, strategies as st

from simtcp import ports
from simtcp.ports import PortClass, classify


@pytest.mark.parametrize("port, cls", [
    (0, PortClass.RESERVED), (1, PortClass.SYSTEM), (1023, PortClass.SYSTEM),
    (1024, PortClass.USER), (49151, PortClass.USER), (49152, PortClass.DYNAMIC),
    (65535, PortClass.DYNAMIC),
])
def test_classify_boundaries(port, cls):
    assert classify(port) is cls
    assert cls.low <= port <= cls.high
    assert port in cls


def test_classes_tile_the_port_space():
    spans = sorted((c.low, c.high) for c in PortClass)
    assert spans[0][0] == 0 and spans[-1][1] == 65535
    assert all(a[1] + 1 == b[0] for a, b in zip(spans, spans[1:]))
    assert PortClass.DYNAMIC.label_ja == "エフェメラルポート/動的ポート"
    assert PortClass.SYSTEM.label_ja == "ウェルノウンポート"
    assert "ephemeral" in PortClass.DYNAMIC.label


@pytest.mark.parametrize("bad, exc", [
    (-1, OverflowError), (65536, OverflowError), (1.5, TypeError), ("80", TypeError),
    (True, TypeError), (None, TypeError),
])
def test_classify_rejects_bad_ports(bad, exc):
    with pytest.raises(exc) as info:
        classify(bad)
    if exc is OverflowError:
        assert "port must be 0-65535." in str(info.value)


@given(st.integers(0, 65535))
def test_classify_is_total_and_consistent(port):
    cls = classify(port)
    assert cls.low <= port <= cls.high


SEED = {20: "ftp-data", 21: "ftp", 22: "ssh", 23: "telnet", 25: "smtp", 53: "domain",
        80: "http", 110: "pop3", 143: "imap", 443: "https", 3306: "mysql",
        3389: "ms-wbt-server", 5900: "rfb", 8080: "http-alt"}


@pytest.mark.parametrize("port, name", sorted(SEED.items()))
def test_service_names_for_seed_ports(port, name):
    assert ports.service_name(port) == name
    # Names are not unique: IANA registered "http-alt" on 591 (FileMaker) before 8080, and
    # service_port() returns the lowest port, as getservbyname() returns the first line.
    assert ports.service_port(name) == (591 if name == "http-alt" else port)


def test_seed_list_matches_registry_and_has_notes():
    assert [s.port for s in ports.SEED_PORTS] == sorted(SEED)
    for s in ports.SEED_PORTS:
        assert s.name == SEED[s.port]
        assert s.note and s.note_ja
    assert "plaintext" in next(s for s in ports.SEED_PORTS if s.port == 23).note
    assert "zone" in next(s for s in ports.SEED_PORTS if s.port == 53).note


def test_registered_ports_used_in_teaching():
    expect = {5432: "postgresql", 6379: "redis", 8443: "pcsync-https", 1433: "ms-sql-s",
              1521: "ncube-lm"}
    for port, name in expect.items():
        assert ports.service_name(port) == name


def test_unknown_and_unassigned():
    assert ports.service_name(4) is None            # "Unassigned"
    assert ports.service_name(0) is None            # reserved, no name
    assert ports.service_name(61000) is None
    with pytest.raises(KeyError, match="unknown service 'no-such-svc'"):
        ports.service_port("no-such-svc")
    assert ports.describe(22) == "The Secure Shell (SSH) Protocol"
    assert ports.describe(0) == "Reserved"


def test_primary_name_wins_over_alias():
    # Port 80 has http, www, www-http rows: IANA lists the primary first.
    assert ports.service_name(80) == "http"
    assert ports.service_port("www") == 80


def test_shipped_file_is_small_and_covers_system_ports():
    assert os.path.getsize(ports.DATA_FILE) < 300_000
    rows = ports.load_registry(proto="tcp")
    named = {e.low for e in rows if e.name and e.high <= 1023}
    assert len(named) > 400
    assert {7, 9, 13, 37, 79, 113, 119, 123, 179, 389, 445, 465, 587, 636, 873, 993, 995} <= named


SAMPLE = '''Service Name,Port Number,Transport Protocol,Description,Assignee,Contact,Registration Date,Modification Date,Reference,Service Code,Unauthorized Use Reported,Assignment Notes
,0,tcp,Reserved,[Jon_Postel],[Jon_Postel],,,,,,
ssh,22,tcp,The Secure Shell (SSH) Protocol,,,,,[RFC4251],,,
whois++,63,tcp,whois++,[R],[R],,,,,,"This entry is an alias.
This entry is now historic."
x11,6000-6063,tcp,X Window System,[Stephen_Casner],[Stephen_Casner],,,,,,
x11,6000-6063,udp,X Window System,[Stephen_Casner],[Stephen_Casner],,,,,,
active-net,3322-3325,,Active Networks,[Bob_Braden_2],[Bob_Braden_2],,,,,,
sftp-ssh,,tcp,Secure File Transfer Protocol over SSH,,,,,,,,
'''


def test_load_registry_parses_iana_features():
    rows = ports.load_registry(io.StringIO(SAMPLE))
    assert len(rows) == 6                           # the port-less row is skipped
    assert rows[0].name == "" and rows[0].low == 0
    assert rows[2].notes.splitlines() == ["This entry is an alias.", "This entry is now historic."]
    x11 = rows[3]
    assert (x11.low, x11.high, x11.proto) == (6000, 6063, "tcp") and 6010 in x11
    tcp = ports.load_registry(io.StringIO(SAMPLE), proto="tcp")
    assert {r.proto for r in tcp} == {"tcp", ""}   # transport-less rows apply to all
    assert len(tcp) == 5


def test_load_registry_rejects_other_csv():
    with pytest.raises(ValueError, match="missing columns"):
        ports.load_registry(io.StringIO("a,b\n1,2\n"))


def _trim_tool():
    import importlib.util
    path = os.path.join(os.path.dirname(ports.DATA_FILE), "trim_iana.py")
    spec = importlib.util.spec_from_file_location("trim_iana", path)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_trim_tool_reproduces_shipped_file_and_filters():
    tool = _trim_tool()
    with open(ports.DATA_FILE, newline="", encoding="utf-8") as fh:
        shipped = fh.read()
    out = io.StringIO()
    tool.trim(io.StringIO(shipped), out)
    assert out.getvalue() == shipped
    out = io.StringIO()
    assert tool.trim(io.StringIO(SAMPLE), out) == 4
    kept = ports.load_registry(io.StringIO(out.getvalue()))
    assert [(e.name, e.proto) for e in kept] == [
        ("", "tcp"), ("ssh", "tcp"), ("whois++", "tcp"), ("x11", "tcp")]
