"""Shared fixtures: small networks built only through the public API."""
import os

import matplotlib
import pytest

matplotlib.use("Agg")

import simtcp  # noqa: E402
from hypothesis import settings  # noqa: E402

# Property tests explore the same examples on every run (no flaky CI), without a database;
# HYPOTHESIS_PROFILE=explore searches anew each time (for local bug hunting).
settings.register_profile("repeatable", derandomize=True, database=None)
settings.register_profile("explore", derandomize=False)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "repeatable"))


@pytest.fixture
def pair():
    """(net, client, server) joined by a 10 ms link, server listening on port 80."""
    net = simtcp.Network(seed=1)
    client = net.add_host("client", "192.168.1.10")
    server = net.add_host("server", "192.168.1.20")
    net.add_link(client, server, delay=0.010)
    return net, client, server


def accounting_ok(net) -> bool:
    """Every packet sent was delivered, dropped with a reason, or is still on a wire."""
    sends = net.trace.count("send")
    ends = [r for r in net.trace if r.kind in ("deliver", "drop")]
    ended = net.trace.count("deliver") + net.trace.count("drop")
    return (sends == ended + net.in_flight
            and len(net.trace.unaccounted()) == net.in_flight
            and all(r.reason for r in ends if r.kind == "drop"))


@pytest.fixture(autouse=True)
def every_network_accounts_for_its_packets(monkeypatch):
    """In every test, each Network's trace must account for every packet it sent:
    sent = delivered + dropped (with a reason) + still in flight."""
    nets = []
    original = simtcp.sim.Network.__init__

    def tracking_init(self, *args, **kwargs):
        original(self, *args, **kwargs)
        nets.append(self)

    monkeypatch.setattr(simtcp.sim.Network, "__init__", tracking_init)
    yield
    for net in nets:
        if net.trace.enabled and len(net.trace):
            assert accounting_ok(net), f"packets unaccounted for in {net!r}"


IN_CI = os.environ.get("CI") == "true"
