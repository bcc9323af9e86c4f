"""Shared fixtures: small networks built only through the public API."""
import os

import matplotlib
import pytest

matplotlib.use("Agg")

import simtcp  # noqa: E402


@pytest.fixture
def pair():
    """(net, client, server) joined by a 10 ms link, server listening on port 80."""
    net = simtcp.Network(seed=1)
    client = net.add_host("client", "192.168.1.10")
    server = net.add_host("server", "192.168.1.20")
    net.add_link(client, server, delay=0.010)
    return net, client, server


def accounting_ok(net) -> bool:
    """Every packet sent was delivered or dropped with a reason (nothing silently lost)."""
    sends = [r for r in net.trace if r.kind == "send"]
    ends = [r for r in net.trace if r.kind in ("deliver", "drop")]
    return not net.trace.unaccounted() and len(sends) == len(ends) and all(
        r.reason for r in net.trace if r.kind == "drop")


IN_CI = os.environ.get("CI") == "true"
