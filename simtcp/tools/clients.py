"""The client tools a student tries a port with: ``nc``, ``telnet`` and ``curl``.

Theory of operation: each tool parses the real program's flags, opens a simtcp socket on the
host it runs on, and prints what the real program prints — the texts were taken from the
Debian 12 packages (OpenBSD netcat 1.219, netkit telnet 0.17, curl 7.88.1) run against
Linux in a private network namespace. The three outcomes a port lesson is about are told
apart exactly as those tools do:

* refused (a RST: closed port, or ``REJECT --reject-with tcp-reset``; also ICMP port
  unreachable): "Connection refused";
* no answer at all (a DROP rule, a host that is gone): the kernel's SYN retries run out
  (ETIMEDOUT, "Connection timed out", 131 s with Linux 6.18 defaults), or the tool's own timer
  fires first (``nc -w``: "timed out: Operation now in progress"; ``curl
  --connect-timeout``: "Timeout was reached");
* an ICMP error (REJECT with icmp-host-unreachable, a router without a route): "No route to
  host" / "Network is unreachable".

Everything happens in virtual time: a timeout advances the network's clock, it costs no wall
time. Every tool returns a `simtcp.shell.Output` (text + exit status).
"""
from __future__ import annotations

import errno
import os
from typing import List, Optional, Union
from urllib.parse import urlsplit

from ..ports import service_name
from ..services import Service, Session
from ..shell import Output
from ..socket import SimulationIdleError

NC_USAGE = ("usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n"
            "\t  [-m minttl] [-O length] [-P proxy_username] [-p source_port]\n"
            "\t  [-q seconds] [-s sourceaddr] [-T keyword] [-V rtable] [-W recvlimit]\n"
            "\t  [-w timeout] [-X proxy_protocol] [-x proxy_address[:port]]\n"
            "\t  [destination] [port]")
READ_HORIZON = 30.0     # virtual seconds a tool keeps reading a silent, open connection


def _strerror(exc: OSError) -> str:
    return os.strerror(exc.errno) if exc.errno else "Connection timed out"


def _connect(host, ip: str, port: int, timeout: Optional[float]):
    """(socket, None) on success, or (None, OSError). ``timeout``: the tool's own timer."""
    s = host.socket(process=None)
    if timeout is not None:
        s.settimeout(timeout)
    try:
        s.connect((ip, port))
        return s, None
    except OSError as e:
        s.close()
        return None, e


def _read_all(sock, horizon: float = READ_HORIZON) -> bytes:
    """What the server sends until it closes, or stays silent for ``horizon`` seconds."""
    sock.settimeout(horizon)
    data = b""
    while True:
        try:
            chunk = sock.recv(65536)
        except (TimeoutError, SimulationIdleError):
            return data
        except OSError:
            return data
        if not chunk:
            return data
        data += chunk


def _target(host, name: str) -> str:
    node = host.net.nodes.get(name)
    return node.ip if node is not None else name


def _ports(spec: str) -> List[int]:
    lo, _, hi = spec.partition("-")
    if not lo.isdigit() or (hi and not hi.isdigit()):
        raise ValueError(spec)
    a, b = int(lo), int(hi or lo)
    if not (0 < a <= 65535 and 0 < b <= 65535) or b < a:
        raise ValueError(spec)
    return list(range(a, b + 1))


# ---------------------------------------------------------------------------------- nc
def nc(host, args: List[str], stdin: Optional[Union[str, bytes]] = None) -> Output:
    """OpenBSD netcat: ``nc [-z] [-v] [-n] [-u] [-w secs] host port[-port]``;
    ``nc -l [-p] port`` starts a listener that keeps what it receives."""
    flags, timeout, pos, i = set(), None, [], 0
    while i < len(args):
        a = args[i]
        if a == "-w" or a == "-p":
            if i + 1 >= len(args):
                return Output(f"nc: option requires an argument -- '{a[1]}'\n{NC_USAGE}", 1)
            if a == "-w":
                try:
                    timeout = float(args[i + 1])
                except ValueError:
                    return Output(f"nc: timeout {args[i + 1]}: invalid", 1)
            else:
                flags.add("p")
                pos.append(args[i + 1])
            i += 2
            continue
        if a.startswith("-") and len(a) > 1:
            for ch in a[1:]:
                if ch not in "zvnuld46":
                    return Output(f"nc: invalid option -- '{ch}'\n{NC_USAGE}", 1)
                flags.add(ch)
        else:
            pos.append(a)
        i += 1
    if "l" in flags:
        return _nc_listen(host, pos, flags)
    if len(pos) != 2:
        return Output(NC_USAGE, 1)
    name = pos[0]
    try:
        ports = _ports(pos[1])
    except ValueError:
        return Output("nc: port range not valid", 1)
    if "u" in flags:
        return _nc_udp(host, name, ports, flags, timeout, stdin)
    ip = _target(host, name)
    lines, status = [], 1
    for port in ports:
        sock, err = _connect(host, ip, port, timeout)
        if err is not None:
            if "v" in flags:
                if err.errno is None:       # nc's own -w timer fired before the kernel's
                    lines.append(f"nc: connect to {name} port {port} (tcp) timed out: "
                                 "Operation now in progress")
                else:
                    lines.append(f"nc: connect to {name} port {port} (tcp) failed: "
                                 f"{_strerror(err)}")
            continue
        status = 0
        if "v" in flags:
            lines.append(f"Connection to {name} {port} port [tcp/{service_name(port) or '*'}] "
                         "succeeded!")
        if "z" not in flags:
            if stdin:
                sock.sendall(stdin.encode() if isinstance(stdin, str) else stdin)
            received = _read_all(sock, timeout if timeout is not None else READ_HORIZON)
            if received:
                lines.append(received.decode("utf-8", "replace").rstrip("\r\n"))
        sock.close()
    return Output("\n".join(lines), status)


def _nc_udp(host, name, ports, flags, timeout, stdin) -> Output:
    """``nc -u``: UDP has no handshake, so ``-z`` only learns something from an ICMP port
    unreachable (the next read fails with ECONNREFUSED); silence means "maybe open"."""
    from socket import AF_INET, SOCK_DGRAM
    ip = _target(host, name)
    lines, status = [], 1
    for port in ports:
        s = host.socket(AF_INET, SOCK_DGRAM)
        s.settimeout(timeout if timeout is not None else 1.0)
        try:
            s.connect((ip, port))
            s.send((stdin.encode() if isinstance(stdin, str) else stdin) if stdin else b"X")
            s.recv(65536)
            ok = True
        except (TimeoutError, SimulationIdleError):
            ok = True                       # no ICMP error: nc reports success
        except ConnectionRefusedError:
            ok = False
        finally:
            s.close()
        if ok:
            status = 0
            if "v" in flags:
                lines.append(f"Connection to {name} {port} port [udp/"
                             f"{service_name(port, 'udp') or '*'}] succeeded!")
    return Output("\n".join(lines), status)


class NetcatSession(Session):
    def on_data(self, data: bytes) -> None:
        self.service.received += data


class NetcatListener(Service):
    """``nc -l PORT``: a listener that keeps what clients send (``.received``)."""
    kind, process, user = "nc", "nc", "student"
    session = NetcatSession

    def __init__(self, *a, **kw):
        super().__init__(*a, **kw)
        self.received = b""


def _nc_listen(host, pos: List[str], flags) -> Output:
    if len(pos) != 1 or not pos[0].isdigit():
        return Output(NC_USAGE, 1)
    port = int(pos[0])
    try:
        host.services.append(NetcatListener(host, port))
    except OSError as e:
        return Output(f"nc: {_strerror(e)}", 1)
    return Output(f"Listening on 0.0.0.0 {port}" if "v" in flags else "", 0)


# ------------------------------------------------------------------------------ telnet
def telnet(host, args: List[str], stdin: Optional[Union[str, bytes]] = None) -> Output:
    """netkit telnet: ``telnet host [port]``; ``stdin`` lines are typed after the banner."""
    if not args or len(args) > 2 or any(a.startswith("-") for a in args):
        return Output("usage: telnet [-4] [-6] [-8] [-E] [-L] [-a] [-d] [-e char] [-l user]\n"
                      "\t[-n tracefile] [ -b addr ] [-r] [host-name [port]]", 1)
    name = args[0]
    port_s = args[1] if len(args) == 2 else "23"
    port = int(port_s) if port_s.isdigit() else None
    if port is None:
        return Output(f"telnet: could not resolve {name}/{port_s}: Servname not supported "
                      "for ai_socktype", 1)
    ip = _target(host, name)
    lines = [f"Trying {ip}..."]
    sock, err = _connect(host, ip, port, None)
    if err is not None:
        lines.append(f"telnet: Unable to connect to remote host: {_strerror(err)}")
        return Output("\n".join(lines), 1)
    lines += [f"Connected to {name}.", "Escape character is '^]'."]
    text = _read_all(sock, 2.0)
    for line in (stdin.splitlines() if isinstance(stdin, str) else []):
        sock.sendall(line.encode() + b"\r\n")
        text += _read_all(sock, 2.0)
    if text:
        lines.append(text.decode("utf-8", "replace").replace("\r\n", "\n").rstrip("\n"))
    if sock.conn is not None and sock.conn.eof:
        lines.append("Connection closed by foreign host.")
    sock.close()
    return Output("\n".join(lines), 0)


# -------------------------------------------------------------------------------- curl
def curl(host, args: List[str], stdin: Optional[Union[str, bytes]] = None) -> Output:
    """curl 7.88: ``curl [-v] [-s] [-S] [-I] [--connect-timeout s] [-m s] URL``."""
    verbose = silent = show_error = head = False
    connect_timeout: Optional[float] = None
    url, i = None, 0
    while i < len(args):
        a = args[i]
        if a in ("--connect-timeout", "-m", "--max-time"):
            if i + 1 >= len(args):
                return Output(f"curl: option {a}: requires parameter\ncurl: try 'curl --help' "
                              "or 'curl --manual' for more information", 2)
            try:
                connect_timeout = float(args[i + 1])
            except ValueError:
                return Output(f"curl: option {a}: expected a proper numerical parameter\n"
                              "curl: try 'curl --help' or 'curl --manual' for more information", 2)
            i += 2
            continue
        if a in ("-v", "--verbose"):
            verbose = True
        elif a in ("-s", "--silent"):
            silent = True
        elif a in ("-S", "--show-error"):
            show_error = True
        elif a in ("-I", "--head"):
            head = True
        elif a.startswith("-") and len(a) > 1 and all(c in "vsSI" for c in a[1:]):
            verbose |= "v" in a
            silent |= "s" in a
            show_error |= "S" in a
            head |= "I" in a
        elif a.startswith("-"):
            return Output(f"curl: option {a}: is unknown\ncurl: try 'curl --help' or "
                          "'curl --manual' for more information", 2)
        else:
            url = a
        i += 1
    if url is None:
        return Output("curl: no URL specified!\ncurl: try 'curl --help' or 'curl --manual' "
                      "for more information", 2)
    parts = urlsplit(url if "://" in url else "http://" + url)
    if parts.scheme != "http":
        return Output(f'curl: (1) Protocol "{parts.scheme}" not supported or disabled in '
                      "libcurl", 1)
    name = parts.hostname or ""
    try:
        port = parts.port or 80
    except ValueError:
        return Output("curl: (3) URL using bad/illegal format or missing URL", 3)
    ip = _target(host, name)
    out: List[str] = []
    if verbose:
        out.append(f"*   Trying {ip}:{port}...")
    start = host.net.now
    sock, err = _connect(host, ip, port, connect_timeout)
    if err is not None:
        ms = round((host.net.now - start) * 1000)
        if err.errno is None:
            code, why = 28, "Timeout was reached"
        else:
            code = 28 if err.errno == errno.ETIMEDOUT else 7
            why = "Couldn't connect to server"
            if verbose:
                out.append(f"* connect to {ip} port {port} failed: {_strerror(err)}")
        if verbose:
            out += [f"* Failed to connect to {name} port {port} after {ms} ms: {why}",
                    "* Closing connection 0"]
        if not silent or show_error:
            out.append(f"curl: ({code}) Failed to connect to {name} port {port} after {ms} ms: "
                       f"{why}")
        return Output("\n".join(out), code)
    hostport = name if port == 80 else f"{name}:{port}"
    request = [f"{'HEAD' if head else 'GET'} {parts.path or '/'}"
               f"{'?' + parts.query if parts.query else ''} HTTP/1.1",
               f"Host: {hostport}", "User-Agent: curl/7.88.1", "Accept: */*"]
    if verbose:
        out.append(f"* Connected to {name} ({ip}) port {port} (#0)")
        out += [f"> {line}" for line in request] + ["> "]
    sock.sendall(("\r\n".join(request) + "\r\n\r\n").encode())
    failure = None
    try:
        response = _read_http(sock, head)
    except ConnectionResetError:            # lib/transfer.c: CURLE_RECV_ERROR
        response, failure = b"", (56, "Recv failure: Connection reset by peer")
    sock.close()
    if failure is None and not response:    # lib/http.c: CURLE_GOT_NOTHING
        failure = (52, "Empty reply from server")
    if failure is not None:
        code, why = failure
        if verbose:
            out += [f"* {why}", "* Closing connection 0"]
        if not silent or show_error:
            out.append(f"curl: ({code}) {why}")
        return Output("\n".join(out), code)
    head_text, _, body = response.partition(b"\r\n\r\n")
    if verbose:
        out += [f"< {line}" for line in head_text.decode("latin-1").split("\r\n")] + ["< "]
    if head and not verbose:
        out.append(head_text.decode("latin-1").replace("\r\n", "\n"))
    elif body:
        out.append(body.decode("utf-8", "replace").rstrip("\n"))
    if verbose:
        out.append("* Connection #0 to host {} left intact".format(name))
    return Output("\n".join(out), 0)


def _read_http(sock, head_only: bool) -> bytes:
    """One HTTP/1.1 response: the head, then Content-Length bytes of body (RFC 9112 §6)."""
    sock.settimeout(READ_HORIZON)
    data = b""
    while True:
        if b"\r\n\r\n" in data:
            head, _, body = data.partition(b"\r\n\r\n")
            length = 0
            for line in head.split(b"\r\n")[1:]:
                k, _, v = line.partition(b":")
                if k.strip().lower() == b"content-length" and v.strip().isdigit():
                    length = int(v.strip())
            if head_only or len(body) >= length:
                return head + b"\r\n\r\n" + body[:0 if head_only else length]
        try:
            chunk = sock.recv(65536)
        except ConnectionResetError:
            raise
        except OSError:
            return data
        if not chunk:
            return data
        data += chunk


__all__ = ["nc", "telnet", "curl"]
