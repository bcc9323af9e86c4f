"""Command line: ``python -m simtcp demo | figures | student``."""
from __future__ import annotations

import argparse
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def demo(pcap: str = "figures/demo.pcap") -> int:
    """Handshake, a few data segments with one lost and retransmitted, and the close."""
    import simtcp
    from simtcp.link import DropMatching
    from simtcp.reasons import DropReason

    net = simtcp.Network(seed=1)
    client = net.add_host("client", "192.168.1.10", os="linux")
    server = net.add_host("server", "192.168.1.20", os="linux")
    link = net.add_link(client, server, delay=0.010)
    # lose the second data segment from the client, once, so it must be retransmitted
    seen = []

    def second_data_segment(p):
        if p.src == "192.168.1.10" and p.segment is not None and p.segment.payload:
            seen.append(p)
            return len(seen) == 2
        return False

    link.add_middlebox(DropMatching(second_data_segment, reason=DropReason.LINK_LOSS))

    srv = server.socket()
    srv.bind(("0.0.0.0", 80))
    srv.listen(128)
    cli = client.socket()
    cli.connect(("192.168.1.20", 80))
    t_connect = net.now
    conn, addr = srv.accept()
    print(f"{addr[0]}:{addr[1]} -> 192.168.1.20:80: connect() returned at "
          f"{t_connect * 1000:.1f} ms, accept() at {net.now * 1000:.1f} ms (when the final "
          "ACK arrived)\n")
    cli.setsockopt(simtcp.socket.IPPROTO_TCP, simtcp.socket.TCP_NODELAY, 1)
    for i in range(4):
        cli.sendall(f"GET /part{i} HTTP/1.1\r\n".encode())
    net.run(until=net.now + 0.005)
    print("Socket table of the server while the connection is open (ss -tan):")
    print(server.ss())
    print()
    received = b""
    while len(received) < 4 * 21:
        received += conn.recv(1024)
    conn.sendall(b"HTTP/1.1 200 OK\r\n\r\n")
    cli.recv(1024)
    cli.close()
    conn.recv(1024)
    conn.close()
    net.run(until=net.now + 1.0)
    print("Socket table of the client after it closed first (TIME-WAIT lasts 60 s):")
    print(client.ss())
    net.run()
    print("\nSegment log (relative sequence numbers):")
    print(net.trace.log())
    out = Path(pcap)
    out.parent.mkdir(parents=True, exist_ok=True)
    net.capture.write_pcap(out)
    lost = {reason.text: n for reason, n in net.trace.drop_reasons().items()}
    print(f"\n{len(net.capture)} packets captured, dropped: {lost or 'none'}; "
          f"virtual time {net.now:.3f} s")
    print(f"pcap written to {out} (open it in Wireshark, or: tshark -r {out})")
    return 0


def figures(outdir: str = "figures") -> int:
    from simtcp.viz.figureset import build_all
    for path in build_all(outdir):
        print(path)
    return 0


def student(outdir: str = "student") -> int:
    from simtcp.notebooks import make_student_versions
    for path in make_student_versions(ROOT / "notebooks", Path(outdir)):
        print(path)
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m simtcp", description=__doc__)
    sub = parser.add_subparsers(dest="cmd", required=True)
    p = sub.add_parser("demo", help="run the demo scenario and write a pcap")
    p.add_argument("--pcap", default="figures/demo.pcap")
    p = sub.add_parser("figures", help="regenerate the course figures")
    p.add_argument("--out", default="figures")
    p = sub.add_parser("student", help="write solution-free copies of the notebooks")
    p.add_argument("--out", default="student")
    args = parser.parse_args(argv)
    if args.cmd == "demo":
        return demo(args.pcap)
    if args.cmd == "figures":
        return figures(args.out)
    return student(args.out)


if __name__ == "__main__":
    sys.exit(main())
