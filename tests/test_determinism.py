"""Same seed → same trace and byte-identical pcap; both wire modes give the same trace."""
import simtcp
from simtcp.reasons import DropReason


def lossy_transfer(seed, wire="bytes", size=60_000):
    net = simtcp.Network(seed=seed, wire=wire)
    a, b = net.add_host("a", "10.0.0.1"), net.add_host("b", "10.0.0.2")
    net.add_link(a, b, delay=0.004, loss=0.05, bandwidth=5e6)
    srv = b.socket()
    srv.bind(("", 9000))
    srv.listen(4)
    c = a.socket()
    c.connect(("10.0.0.2", 9000))
    s, _ = srv.accept()
    c.sendall(bytes(range(256)) * (size // 256))
    c.close()
    while s.recv(100_000):
        pass
    s.close()
    net.run()
    return net


def test_same_seed_same_trace_and_identical_pcap(tmp_path):
    n1, n2 = lossy_transfer(11), lossy_transfer(11)
    assert n1.trace.records == n2.trace.records
    p1, p2 = tmp_path / "a.pcap", tmp_path / "b.pcap"
    n1.capture.write_pcap(p1)
    n2.capture.write_pcap(p2)
    assert p1.read_bytes() == p2.read_bytes() and len(n1.capture) > 50


def test_different_seeds_differ():
    assert lossy_transfer(11).trace.records != lossy_transfer(12).trace.records


def test_fast_and_bytes_modes_give_identical_traces_and_pcaps():
    fast, slow = lossy_transfer(5, "fast"), lossy_transfer(5, "bytes")
    assert fast.trace.records == slow.trace.records
    assert fast.capture.pcap_bytes() == slow.capture.pcap_bytes()
    assert fast.trace.drop_reasons().get(DropReason.LINK_LOSS)
