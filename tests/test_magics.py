"""The %sim / %%sim magics run shell commands on a host found by name in the notebook."""
import pytest

import simtcp
from simtcp.magics import SimMagicError, _find_host

IPython = pytest.importorskip("IPython")


def _net(name="client"):
    net = simtcp.Network(seed=1)
    a = net.add_host(name, "10.0.0.1")
    b = net.add_host("server", "10.0.0.2")
    net.add_link(a, b)
    return net


def test_host_is_found_by_name_and_ambiguity_is_explained():
    net, other = _net(), _net()
    assert _find_host({"net": net}, "client") is net.nodes["client"]
    with pytest.raises(SimMagicError, match="net.client, other.client"):
        _find_host({"net": net, "other": other}, "client")
    assert _find_host({"net": net, "other": other}, "other.client") is other.nodes["client"]
    with pytest.raises(SimMagicError, match="hosts: client, server"):
        _find_host({"net": net}, "nobody")


def test_magics_run_in_an_ipython_shell(capsys):
    from IPython.testing.globalipapp import start_ipython
    ip = start_ipython()
    ip.run_line_magic("load_ext", "simtcp")
    net = _net()
    net.nodes["server"].start_service("ssh")
    ip.user_ns["net"] = net
    ip.run_line_magic("sim", "client nc -zv server 22")
    ip.run_cell_magic("sim", "server", "hostname\n# a comment\nfrobnicate\n")
    out = capsys.readouterr().out
    assert "Connection to server 22 port [tcp/ssh] succeeded!" in out
    assert "server$ hostname\nserver\n" in out
    assert "bash: frobnicate: command not found\n[exit status 127]" in out
