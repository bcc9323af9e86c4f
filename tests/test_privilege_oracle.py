"""The real kernel decides privileged binds as simtcp does: CAP_NET_BIND_SERVICE, not the
user id, and net.ipv4.ip_unprivileged_port_start (Linux inet_bind()).

A private network namespace (created and deleted here) has its own
ip_unprivileged_port_start; tests/bind_probe.py runs in it under setpriv as nobody, as nobody
with the ambient capability, and as root without it, and reports the errno of each bind().
Root only; skipped elsewhere.
"""
import json
import os
import socket
from pathlib import Path

import pytest
from netns import namespaces, requires

import simtcp
from simtcp.privilege import ALL_CAPABILITIES, Capability

PY = "/usr/bin/python3"            # readable by nobody (a pyenv/venv python may not be)
pytestmark = [requires("setpriv"),
              pytest.mark.skipif(not os.access(PY, os.X_OK), reason="needs /usr/bin/python3")]

PROBE = Path(__file__).with_name("bind_probe.py")
BINDS = [("tcp", "0.0.0.0", 80), ("udp", "0.0.0.0", 80), ("tcp", "0.0.0.0", 1024),
         ("tcp", "127.0.0.1", 79), ("udp", "0.0.0.0", 1), ("tcp", "0.0.0.0", 0)]
NOBODY = ["--reuid=65534", "--regid=65534", "--clear-groups"]
IDENTITIES = {   # setpriv arguments, and the same identity as a simtcp process
    "nobody": (NOBODY, dict(user="nobody")),
    "nobody+cap": (NOBODY + ["--inh-caps=+net_bind_service",
                             "--ambient-caps=+net_bind_service"],
                   dict(user="nobody", capabilities={"CAP_NET_BIND_SERVICE"})),
    "root-cap": (["--bounding-set=-net_bind_service", "--inh-caps=-all"],
                 dict(user="root",
                      capabilities=set(ALL_CAPABILITIES) - {Capability.CAP_NET_BIND_SERVICE})),
}


def kernel(setpriv_args, start):
    with namespaces("priv") as ns:
        ns.sysctl("priv", f"net.ipv4.ip_unprivileged_port_start={start}")
        # the probe's text goes on the command line: the user it runs as (nobody) may not be
        # allowed to read this checkout (a clone in a 0700 temporary directory)
        out = ns.exec("priv", "setpriv", *setpriv_args, PY, "-c", PROBE.read_text(),
                      json.dumps(BINDS), timeout=30)
        return json.loads(out.stdout)


def simulated(identity, start):
    net = simtcp.Network(seed=1)
    host = net.add_host("h", "10.0.0.1")
    host.sysctl["net.ipv4.ip_unprivileged_port_start"] = start
    proc = host.process("probe", **identity)
    out = []
    for kind, ip, port in BINDS:
        s = proc.socket(type=socket.SOCK_STREAM if kind == "tcp" else socket.SOCK_DGRAM)
        try:
            s.bind((ip, port))
            out.append(0)
        except OSError as e:
            out.append(e.errno)
        finally:
            s.close()
    return out


@pytest.mark.parametrize("start", [1024, 80, 0])
@pytest.mark.parametrize("who", sorted(IDENTITIES))
def test_privileged_binds_agree_with_the_kernel(who, start):
    setpriv_args, identity = IDENTITIES[who]
    assert simulated(identity, start) == kernel(setpriv_args, start)
