"""Sockets with every kind of pending timer, for tests/test_ss_timer_oracle.py: run INSIDE a
private network namespace that test creates (loopback only), it prints what the real
``ss -tnoa`` says. The test takes the same steps (`open_sockets`) on a simtcp host.

Steps (all on 127.0.0.1, listener on port 5001; client ports name the cases):
40001 SO_KEEPALIVE (keepalive, tcp_keepalive_time), 40002 SO_KEEPALIVE with TCP_KEEPIDLE 30,
40003 closed after the server closed (TIME-WAIT), 40004 closed first (an orphan in
FIN-WAIT-2), 40005 writes into a peer that does not read (zero window: persist), 40006 sends
5 bytes that an iptables rule drops (the retransmission timer), 40007 closes first with
tcp_fin_timeout 120 (its first 60 s run on the keepalive timer).
"""
import socket
import subprocess
import sys
import time

def run(*argv):
    return subprocess.run(list(argv), capture_output=True, text=True, timeout=10)


def open_sockets(new_socket, pause, set_fin_timeout, drop_sport, wait: float) -> list:
    """The steps above, on a real host or a simulated one: ``new_socket()`` makes a TCP
    socket, ``pause(seconds)`` lets time pass, ``set_fin_timeout(seconds)`` sets
    net.ipv4.tcp_fin_timeout and ``drop_sport(port)`` adds the iptables rule. Returns the
    sockets, which must stay open until ss has looked."""
    listener = new_socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
    listener.bind(("127.0.0.1", 5001))
    listener.listen(8)
    keep = [listener]

    def pair(port, *options):
        c = new_socket()
        for opt in options:
            c.setsockopt(*opt)
        c.bind(("127.0.0.1", port))
        c.connect(("127.0.0.1", 5001))
        s, _ = listener.accept()
        keep.extend((c, s))
        return c, s

    pair(40001, (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1))
    pair(40002, (socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1),
         (socket.IPPROTO_TCP, socket.TCP_KEEPIDLE, 30))
    tw, tw_s = pair(40003)
    tw_s.close()
    pause(0.05)
    tw.close()
    fw, _ = pair(40004)
    fw.close()
    ps, _ = pair(40005)
    ps.setblocking(False)
    try:
        for _ in range(1000):
            ps.send(b"x" * 65536)
            pause(0.0001)
    except BlockingIOError:
        pass
    set_fin_timeout(120)
    long_fw, _ = pair(40007)
    long_fw.close()
    un, _ = pair(40006)
    drop_sport(40006)
    un.send(b"hello")
    pause(wait)
    return keep


def _drop_sport(port: int) -> None:
    if run("iptables", "-A", "INPUT", "-p", "tcp", "--sport", str(port), "-j",
           "DROP").returncode:
        sys.exit("iptables failed")


def main(wait: float) -> None:
    run("ip", "link", "set", "lo", "up")
    keep = open_sockets(socket.socket, time.sleep,
                        lambda secs: run("sysctl", "-qw", f"net.ipv4.tcp_fin_timeout={secs}"),
                        _drop_sport, wait)
    print(run("ss", "-tnoa").stdout, end="")
    del keep


if __name__ == "__main__":
    main(float(sys.argv[1]))
