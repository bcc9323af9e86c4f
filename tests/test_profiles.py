"""Tests for simtcp.profiles: OS defaults and sysctl(8)-like validation."""
import pytest
from hypothesis import given, strategies as st

from simtcp.profiles import PORT_ALGORITHMS, PROFILES, Sysctl, format_port_list, parse_port_list


def test_linux_defaults_match_facts():
    s = Sysctl("linux")
    assert s["net.ipv4.ip_local_port_range"] == (32768, 60999)
    assert s["net.ipv4.ip_unprivileged_port_start"] == 1024
    assert s["net.ipv4.tcp_tw_reuse"] == 2
    assert s["net.ipv4.tcp_syncookies"] == 1
    assert s["net.ipv4.tcp_syn_retries"] == 6
    assert s["net.ipv4.tcp_synack_retries"] == 5
    assert s["net.ipv4.tcp_syn_linear_timeouts"] == 4                # Linux 6.5+
    assert s["net.core.somaxconn"] == 4096
    assert s["net.ipv4.tcp_max_syn_backlog"] == 2048
    assert s["net.ipv4.tcp_rmem"] == (4096, 131072, 33554432)        # as read on Linux 6.18
    assert s["net.ipv4.tcp_wmem"] == (4096, 16384, 4194304)
    assert s["simtcp.time_wait_seconds"] == 60 and s["simtcp.mss"] == 1460
    assert s["simtcp.port_algorithm"] == "linux"
    assert s.ephemeral_range() == (32768, 60999)
    assert s.reserved_ports() == frozenset()
    assert s.unprivileged_port_start() == 1024
    assert s.get("net.ipv4.tcp_fin_timeout", None) == 60
    assert s.get("net.ipv4.nonexistent", "dflt") == "dflt"


def test_port_range_accepts_tuple_and_sysctl_text():
    s = Sysctl()
    s["net.ipv4.ip_local_port_range"] = "40000 40009"
    assert s["net.ipv4.ip_local_port_range"] == (40000, 40009)
    s["net.ipv4.ip_local_port_range"] = "50000\t50999"
    assert s.ephemeral_range() == (50000, 50999)
    s["net.ipv4.ip_local_port_range"] = (40000, 40000)        # one port; same parity allowed
    assert s.ephemeral_range() == (40000, 40000)


@pytest.mark.parametrize("bad", ["40009 40000", (1000, 2000), "1 2 3", "a b", 5, (0, 10),
                                 (60000, 70000)])
def test_port_range_rejects_like_linux(bad):
    s = Sysctl()
    with pytest.raises(ValueError, match="Invalid argument"):
        s["net.ipv4.ip_local_port_range"] = bad
    assert s["net.ipv4.ip_local_port_range"] == (32768, 60999)   # unchanged


def test_privileged_start_interacts_with_range():
    s = Sysctl()
    with pytest.raises(ValueError, match="ip_unprivileged_port_start"):
        s["net.ipv4.ip_local_port_range"] = (1000, 2000)
    s["net.ipv4.ip_unprivileged_port_start"] = 0
    s["net.ipv4.ip_local_port_range"] = (1000, 2000)
    with pytest.raises(ValueError, match="Invalid argument"):
        s["net.ipv4.ip_unprivileged_port_start"] = 1024


def test_reserved_ports_syntax():
    s = Sysctl()
    s["net.ipv4.ip_local_reserved_ports"] = "1,2-4,10-10"
    assert s.reserved_ports() == frozenset({1, 2, 3, 4, 10})
    assert s["net.ipv4.ip_local_reserved_ports"] == "1-4,10"
    s["net.ipv4.ip_local_reserved_ports"] = [40002, 40003]
    assert s["net.ipv4.ip_local_reserved_ports"] == "40002-40003"
    with pytest.raises(ValueError):
        s["net.ipv4.ip_local_reserved_ports"] = "5-3"
    with pytest.raises(ValueError):
        s["net.ipv4.ip_local_reserved_ports"] = "1,x"


@given(st.frozensets(st.integers(0, 65535), max_size=40))
def test_port_list_round_trip(ports):
    assert parse_port_list(format_port_list(ports)) == ports


@pytest.mark.parametrize("key, bad", [
    ("net.ipv4.tcp_syncookies", 3), ("net.ipv4.tcp_syncookies", -1),
    ("net.ipv4.tcp_syncookies", "on"), ("net.ipv4.tcp_syncookies", 1.0),
    ("net.ipv4.tcp_syncookies", True), ("net.ipv4.tcp_tw_reuse", 3),
    ("net.ipv4.tcp_sack", 2), ("net.ipv4.tcp_syn_retries", 0),
    ("net.ipv4.tcp_rmem", (4096, 100, 200)), ("net.ipv4.tcp_rmem", "1 2"),
    ("simtcp.port_algorithm", "random"), ("simtcp.time_wait_seconds", 0),
    ("simtcp.mss", 10),
])
def test_bad_values_raise_value_error(key, bad):
    s = Sysctl()
    before = s[key]
    with pytest.raises(ValueError):
        s[key] = bad
    assert s[key] == before


def test_good_values_and_strings_accepted():
    s = Sysctl()
    s["net.ipv4.tcp_syncookies"] = "2"
    assert s["net.ipv4.tcp_syncookies"] == 2
    s["net.ipv4.tcp_rmem"] = "4096 87380 6291456"
    assert s["net.ipv4.tcp_rmem"] == (4096, 87380, 6291456)
    for alg in PORT_ALGORITHMS:
        s["simtcp.port_algorithm"] = alg
    del s["net.ipv4.tcp_syncookies"]
    assert s["net.ipv4.tcp_syncookies"] == 1


def test_unknown_key_message():
    s = Sysctl()
    with pytest.raises(KeyError, match=r"cannot stat /proc/sys/net/ipv4/xyz: No such file"):
        s["net.ipv4.xyz"] = 1
    with pytest.raises(KeyError, match="did you mean 'net.ipv4.tcp_syncookies'"):
        s["net.ipv4.tcp_syncookie"]
    assert "net.ipv4.xyz" not in s


def test_str_is_sorted_sysctl_a_lines():
    s = Sysctl()
    lines = str(s).splitlines()
    assert "net.ipv4.ip_local_port_range = 32768\t60999" in lines
    assert "net.ipv4.tcp_syncookies = 1" in lines
    keys = [line.split(" = ")[0] for line in lines]
    assert keys == sorted(keys) and len(keys) == len(s)


def test_windows_profile_and_netsh():
    w = Sysctl("windows")
    assert w.ephemeral_range() == (49152, 65535)
    assert w["netsh.ipv4.dynamicport.tcp.start"] == 49152
    assert w["netsh.ipv4.dynamicport.tcp.num"] == 16384
    assert w["net.ipv4.tcp_syn_retries"] == 2
    assert w["simtcp.port_algorithm"] == "windows"
    assert w.unprivileged_port_start() == 0
    w.netsh_set_dynamicport(start=10000, num=1000)
    assert w.ephemeral_range() == (10000, 10999)
    assert w["net.ipv4.ip_local_port_range"] == (10000, 10999)   # mirrored for the stack
    assert "Start Port      : 10000" in w.netsh_show_dynamicport()
    for start, num in [(1024, 1000), (10000, 254), (65000, 1000)]:
        with pytest.raises(ValueError, match="The parameter is incorrect"):
            w.netsh_set_dynamicport(start=start, num=num)
    assert w.ephemeral_range() == (10000, 10999)
    with pytest.raises(ValueError):
        w["netsh.ipv4.dynamicport.tcp.num"] = 60000             # start+num-1 > 65535
    with pytest.raises(ValueError, match="Windows command"):
        Sysctl("linux").netsh_set_dynamicport(start=10000, num=1000)


def test_bsd_profiles():
    m = Sysctl("macos")
    assert m.ephemeral_range() == (49152, 65535)
    assert m["net.inet.tcp.randomize_ports"] == 0
    assert m["net.inet.ip.portrange.hifirst"] == 49152
    f = Sysctl("freebsd")
    assert f.ephemeral_range() == (10000, 65535)
    assert (f["net.inet.ip.portrange.lowfirst"], f["net.inet.ip.portrange.lowlast"]) == (1023, 600)
    assert f["net.inet.ip.portrange.randomized"] == 1
    assert f.unprivileged_port_start() == 1024
    f["net.inet.ip.portrange.first"] = 20000
    assert f.ephemeral_range() == (20000, 65535)
    for s in (m, f):   # every profile keeps the Linux TCP keys the stack reads
        assert s["net.ipv4.tcp_syncookies"] == 1 and "net.core.somaxconn" in s


def test_profiles_table_and_unknown_os():
    assert set(PROFILES) == {"linux", "windows", "macos", "freebsd"}
    assert all(p.description and p.source for p in PROFILES.values())
    assert Sysctl("darwin").os == "macos"
    with pytest.raises(ValueError, match="unknown OS profile"):
        Sysctl("plan9")


def test_copy_is_independent():
    a = Sysctl()
    b = a.copy()
    b["net.ipv4.tcp_syncookies"] = 0
    assert a["net.ipv4.tcp_syncookies"] == 1
    assert "tcp_syncookies" in repr(b)


def test_macos_low_ports_free_on_the_wildcard_only():
    """macOS 10.14+: an ordinary user may bind port 80 on 0.0.0.0 but not on a specific
    address (XNU in_pcbbind(): the privilege check skips INADDR_ANY only)."""
    import errno

    import simtcp
    host = simtcp.Network(seed=1).add_host("mac", "10.0.0.5", os="macos")
    host.socket(user="alice").bind(("0.0.0.0", 80))
    with pytest.raises(PermissionError) as info:
        host.socket(user="alice").bind(("10.0.0.5", 443))
    assert info.value.errno == errno.EACCES
    host.socket(user="root").bind(("10.0.0.5", 443))
    host.socket(user="alice").bind(("10.0.0.5", 1024))
