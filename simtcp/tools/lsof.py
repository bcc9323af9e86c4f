"""``lsof``: the open network files of a host's processes (lsof 4.95, Linux dialect).

Theory of operation: lsof walks /proc/PID/fd and matches each socket inode with the
kernel's socket tables; here the rows come from `simtcp.diag` and only sockets a process
holds (a file descriptor) are listed. The text follows lsof's print_file() column rules.
"""
from __future__ import annotations

import functools
from typing import List, Optional

from .views import NETSTAT_NAMES, WILDCARD, S, SocketTable, _entries, _port_name, _row


def _lsof_name(r: dict, numeric: bool) -> str:
    """lsof printinaddr(): "*" for INADDR_ANY, "local->foreign", then the TCP state in
    parentheses; a UDP socket has no state, and the Linux dialect leaves a space there."""
    def ep(ip: str, p: int) -> str:  # noqa: E306
        return ("*" if ip == WILDCARD else ip) + ":" + _port_name(p, numeric)
    text = ep(r["local_ip"], r["local_port"])
    if r["state"] not in (S.LISTEN, S.CLOSED):
        text += "->" + ep(r["peer_ip"], r["peer_port"])
    if r.get("proto", "tcp") == "udp":
        return text + " "
    return f"{text} ({NETSTAT_NAMES[r['state']]})"


def _lsof_fd(r: dict) -> str:
    # the Linux dialect formats a descriptor "%4d" (hex from 10000), then the access mode
    # 'u' (read and write) and the lock character ' '
    return (f"{r['fd']:4d}" if r["fd"] < 10000 else f"{r['fd']:X}") + "u "


def lsof_text(rows: List[dict], numeric: bool = True) -> str:
    """lsof print_file(): widths measured on a first pass; COMMAND is cut at 9 characters
    (CMDL); the FD title is printed in FdColW - 2. No rows, no output (not even a header)."""
    if not rows:
        return ""
    cmd_w = max([7] + [min(len(r["process"]), 9) for r in rows])
    pid_w = max([3] + [len(str(r["pid"])) for r in rows])
    user_w = max([4] + [len(r["user"]) for r in rows])
    fd_w = max([2] + [len(_lsof_fd(r)) for r in rows])
    dev_w = max([6] + [len(str(r["inode"])) for r in rows])
    lines = [f"{'COMMAND':<{cmd_w}} {'PID':>{pid_w}} {'USER':>{user_w}} "
             f"{'FD':>{fd_w - 2}}   {'TYPE':>4} {'DEVICE':>{dev_w}} {'SIZE/OFF':>8} "
             f"{'NODE':>4} NAME"]
    for r in rows:
        lines.append(f"{r['process'][:cmd_w]:<{cmd_w}} {r['pid']:>{pid_w}} "
                     f"{r['user'][:user_w]:>{user_w}} {_lsof_fd(r):>{fd_w}} {'IPv4':>4} "
                     f"{r['inode']:>{dev_w}} {'0t0':>8} {r.get('proto', 'tcp').upper():>4} "
                     f"{_lsof_name(r, numeric)}")
    return "\n".join(lines)


def lsof(host, *args, port: Optional[int] = None, user: Optional[str] = None,
         numeric: bool = True) -> SocketTable:
    """Open sockets of the host's processes, as ``lsof`` lists them.

    Give the real command line — ``host.lsof("-i", ":22")``, ``host.lsof("-i tcp:80")``,
    ``host.lsof("-nP -iUDP")``, ``host.lsof("-iTCP -sTCP:LISTEN")`` — and every option has
    its real effect (`simtcp.cli.parse_lsof`: -i [46][proto][@host][:port], -u, -a, -n, -P,
    -t, -s; others raise `simtcp.UsageError` with lsof's message). Without arguments it is
    ``lsof -nP -iTCP``, and ``port``/``user`` stand for ``-i :PORT`` / ``-a -u USER``.

    lsof finds sockets through /proc/PID/fd, so only sockets a process still holds appear:
    listeners, connecting and accepted sockets, UDP sockets. TIME-WAIT and SYN-RECV entries,
    children still in the accept queue and connections orphaned by close() have no file
    descriptor and are absent (ss and netstat show them). A wildcard address prints as
    ``*``. With no match lsof prints nothing at all and exits 1 (``table.status``).
    simtcp hosts have no reverse DNS, so addresses print as numbers with or without -n.
    """
    terse = False
    if args:
        from ..cli import parse_lsof
        o = parse_lsof(args)
        selections = []
        if o.inet is not None:
            selections.append(lambda r: any(sel.matches(r) for sel in o.inet))
        if o.users:
            selections.append(lambda r: r["user"] in o.users)
        entries = _entries(host, ("tcp", "udp"))
        if o.tcp_states is not None:
            keep, drop = o.tcp_states
            entries = [e for e in entries if e["proto"] != "tcp" or (
                (not keep or NETSTAT_NAMES[e["state"]] in keep)
                and NETSTAT_NAMES[e["state"]] not in drop)]
        combine = all if o.and_ else any

        def wanted(e: dict) -> bool:
            return not selections or combine(f(e) for f in selections)
        numeric = o.numeric_ports
        terse = o.terse
        command = "lsof " + " ".join(o.argv)
    else:
        entries = _entries(host, ("tcp",))

        def wanted(e: dict) -> bool:
            return ((user is None or e["user"] == user)
                    and (port is None or port in (e["local_port"], e["peer_port"])))
        command = "lsof " + ("-nP " if numeric else "-n ") + "-iTCP" + \
            (f":{port}" if port is not None else "") + (f" -a -u {user}" if user else "")
    rows = sorted((_row(e, recv_q=None, send_q=None) for e in entries
                   if e["pid"] is not None and wanted(e)),
                  key=lambda r: (r["pid"], r["fd"]))
    if terse:
        def render(rs: List[dict]) -> str:
            return "\n".join(dict.fromkeys(str(r["pid"]) for r in rs))
    else:
        render = functools.partial(lsof_text, numeric=numeric)
    cols = [("COMMAND", "left", lambda r: r["process"][:9]), ("PID", "right", lambda r: r["pid"]),
            ("USER", "left", lambda r: r["user"]), ("FD", "right", lambda r: _lsof_fd(r).strip()),
            ("TYPE", "left", lambda r: "IPv4"), ("DEVICE", "right", lambda r: r["inode"]),
            ("SIZE/OFF", "right", lambda r: "0t0"),
            ("NODE", "left", lambda r: r["proto"].upper()),
            ("NAME", "left", lambda r: _lsof_name(r, numeric))]
    table = SocketTable("lsof", command, rows, render, cols, host.name, host.net.now)
    table.status = 0 if rows else 1
    return table

