"""The real-kernel back end for packetdrill scripts; runs INSIDE a private network namespace.

tests/conformance.py starts this file with ``ip netns exec <a namespace it created>``. For
each script path given on the command line it forks a child, which moves into a namespace of
its own (unshare(CLONE_NEWNET): a fresh, empty network stack with its own sysctls, gone
when the child exits), creates tun0 (192.168.0.1/24, a route to the script's 192.0.2.0/24)
and runs the script with `simtcp.packetdrill.engine` against real sockets and wall-clock
time: packets the script sends are written into tun0 (the kernel receives them), packets the
kernel sends to 192.0.2.1 are read from tun0. Nothing leaves the namespace. Up to --jobs
children run at once (the scripts mostly sleep). Prints one JSON verdict per script.
"""
import ctypes
import fcntl
import json
import os
import select
import socket
import struct
import subprocess
import sys
import tempfile
import termios
import time
from pathlib import Path

from simtcp import wire
from simtcp.packetdrill.engine import run
from simtcp.packetdrill.script import ScriptError, parse

TUNSETIFF, IFF_TUN, IFF_NO_PI = 0x400454CA, 0x0001, 0x1000
CLONE_NEWNET = 0x40000000
# A failure on a busy shared machine may be the machine's (a late timer, a packet read late):
# a failing script is run again in a fresh namespace, at most RETRIES times, and keeps the
# first failure's message in "first_failure". A script the kernel fails every time is wrong.
RETRIES = 2
ETH_P_ALL, SO_TIMESTAMPNS, PACKET_OUTGOING = 0x0003, 35, 4
LOCAL_IP, REMOTE_IP = "192.168.0.1", "192.0.2.1"


class KernelBackend:
    local_ip, remote_ip = LOCAL_IP, REMOTE_IP

    def __init__(self):
        self.fd = os.open("/dev/net/tun", os.O_RDWR)
        fcntl.ioctl(self.fd, TUNSETIFF, struct.pack("16sH", b"tun0", IFF_TUN | IFF_NO_PI))
        for cmd in (["ip", "link", "set", "lo", "up"],
                    ["ip", "addr", "add", f"{LOCAL_IP}/24", "dev", "tun0"],
                    ["ip", "link", "set", "tun0", "up"],
                    ["ip", "route", "add", "192.0.2.0/24", "dev", "tun0"]):
            subprocess.run(cmd, check=True, timeout=10)
        # Outgoing packets are timed by the kernel (SO_TIMESTAMPNS on a packet socket that
        # sees tun0's transmissions), not by when this process, on a busy machine, reads them.
        self.sniff = socket.socket(socket.AF_PACKET, socket.SOCK_DGRAM, socket.htons(ETH_P_ALL))
        self.sniff.setsockopt(socket.SOL_SOCKET, SO_TIMESTAMPNS, 1)
        self.sniff.bind(("tun0", ETH_P_ALL))
        self.queue = []
        self.sockets = []
        self.start = time.time()
        self._read_until(time.time() + 0.05)          # whatever bringing tun0 up caused
        self.queue.clear()
        self.start = time.time()

    def _read_until(self, end, stop_on_packet=False, echo=None):
        """Read what the kernel sends until ``end`` (or the first packet, or until the
        kernel has taken in the injected bytes ``echo``: returns when it did)."""
        while True:
            left = end - time.time()
            ready, _, _ = select.select([self.fd, self.sniff], [], [], max(0.0, left))
            if self.fd in ready:
                os.read(self.fd, 65535)       # the same packets as the sniffer: drain tun0
            if self.sniff in ready:
                data, anc, _, addr = self.sniff.recvmsg(65535, 64)
                stamp = next((struct.unpack("qq", d[:16]) for lvl, typ, d in anc
                              if lvl == socket.SOL_SOCKET and typ == SO_TIMESTAMPNS), None)
                at = stamp[0] + stamp[1] / 1e9 if stamp else time.time()
                if echo is not None and addr[2] != PACKET_OUTGOING and data == echo:
                    return at - self.start
                if addr[2] == PACKET_OUTGOING and len(data) >= 20 and data[0] >> 4 == 4 \
                        and data[9] == 6:                          # IPv4 + TCP only
                    pkt = wire.decode(data)
                    if pkt.dst == REMOTE_IP:
                        self.queue.append((at - self.start, pkt))
                        if stop_on_packet:
                            return
            if not ready and left <= 0:
                return

    def now(self):
        return time.time() - self.start

    def advance(self, t):
        self._read_until(self.start + t)

    def pending(self):
        self._read_until(time.time())               # anything already waiting
        return list(self.queue)

    def wait_outbound(self, deadline):
        if not self.queue:
            self._read_until(self.start + deadline, stop_on_packet=True)
        return self.queue.pop(0) if self.queue else None

    def inject(self, packet):
        """Write into tun0; returns when the kernel received it (its own timestamp), which on
        a busy machine can be later than the write."""
        data = wire.encode(packet)
        os.write(self.fd, data)
        got = self._read_until(time.time() + 1.0, echo=data)
        return got if got is not None else self.now()

    def socket(self):
        s = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        s.setblocking(False)
        self.sockets.append(s)
        return s

    def inq(self, sock):
        return struct.unpack("i", fcntl.ioctl(sock.fileno(), termios.FIONREAD, b"\0" * 4))[0]

    def set_sysctl(self, name, value):
        if not name.startswith("net."):        # only this namespace's own /proc/sys/net
            raise ValueError(f"{name}: only net.* sysctls (per network namespace) may be set")
        with open("/proc/sys/" + name.replace(".", "/"), "w") as f:
            f.write(value)

    def close(self):
        for s in self.sockets:
            s.close()
        self.sniff.close()
        os.close(self.fd)


def run_one(path: Path, host_ns: str) -> dict:
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.unshare(CLONE_NEWNET) != 0 or os.readlink("/proc/self/ns/net") == host_ns:
        return {"script": path.name, "passed": False, "line": 0,
                "message": f"cannot enter a private namespace (errno {ctypes.get_errno()})"}
    for knob in ("all", "default"):            # no IPv6 chatter on tun0
        try:
            Path(f"/proc/sys/net/ipv6/conf/{knob}/disable_ipv6").write_text("1")
        except OSError:
            pass                               # no IPv6 in this kernel: nothing to silence
    try:
        script = parse(path.read_text(), name=path.name)
    except ScriptError as e:
        return {"script": path.name, "passed": False, "line": e.line, "message": str(e)}
    v = run(script, KernelBackend())
    return {"script": path.name, "passed": v.passed, "line": v.line, "message": v.message,
            "log": v.log, "timing": v.timing}


def main(argv):
    jobs = 4
    if argv[:1] == ["--jobs"]:
        jobs, argv = int(argv[1]), argv[2:]
    try:        # scripts are timed: be scheduled promptly on a busy machine (root may do this)
        os.nice(-10)
    except OSError:
        pass
    host_ns = os.readlink("/proc/self/ns/net")
    todo = [Path(a) for a in argv]
    running = {}                                          # pid -> (path, result file)
    with tempfile.TemporaryDirectory() as tmp:
        while todo or running:
            while todo and len(running) < jobs:
                path = todo.pop(0)
                out_file = Path(tmp) / f"{len(todo)}-{path.name}.json"
                pid = os.fork()
                if pid == 0:                              # child: one script, own namespace
                    try:
                        out = first = run_one(path, host_ns)
                        for _ in range(RETRIES):
                            if out["passed"]:
                                break
                            out = dict(run_one(path, host_ns), retried=True,
                                       first_failure=f"line {first['line']}: "
                                                     f"{first['message']}")
                    except Exception as e:                # report, never hang the parent
                        out = {"script": path.name, "passed": False, "line": 0,
                               "message": f"runner error: {type(e).__name__}: {e}"}
                    out_file.write_text(json.dumps(out))
                    os._exit(0)
                running[pid] = (path, out_file)
            pid, _ = os.wait()
            path, out_file = running.pop(pid)
            text = out_file.read_text() if out_file.exists() else json.dumps(
                {"script": path.name, "passed": False, "line": 0, "message": "child died"})
            out_file.unlink(missing_ok=True)
            print(text, flush=True)


if __name__ == "__main__":
    main(sys.argv[1:])
