"""``netstat``: the socket list (net-tools netstat.c) and ``netstat -s`` statistics.

Theory of operation: the socket rows come from `simtcp.diag` like every view; the text is
net-tools' own printf layout (tcp_do_one(), udp_do_one()), so the output can be put next to
a real terminal. ``netstat -s`` prints the MIB counters the stack keeps (``host.counters``)
with net-tools' statistics.c wording.
"""
from __future__ import annotations

import functools
from typing import List, Sequence

from ..cli import UsageError
from .views import NETSTAT_NAMES, S, SocketTable, _entries, _port_name, _row

def _netstat_addr(ip: str, port: int, numeric: bool, wide: bool = False) -> str:
    """net-tools addr_do_one(): "ip:port", cut to 22 characters unless -W."""
    sport = _port_name(port, numeric)
    if len(ip) + len(sport) > 22 and not wide:
        plen = min(len(sport), 22 - 4)
        return ip[:22 - plen] + ":" + sport[:plen]
    return f"{ip}:{sport}"


def _netstat_prog(r: dict) -> str:
    # netstat -p: "PID/name" in a 20-byte buffer (PROGNAME_WIDTH), "-" without an inode
    return f"{r['pid']}/{r['process']}"[:19] if r["pid"] is not None else "-"


def _netstat_state(r: dict) -> str:
    """tcp_do_one() prints the TCP state; udp_do_one() "ESTABLISHED" for a connected
    socket and nothing for an unconnected one (TCP_CLOSE)."""
    if r.get("proto", "tcp") == "udp":
        return "ESTABLISHED" if r["state"] is S.ESTABLISHED else ""
    return NETSTAT_NAMES[r["state"]]


def netstat_text(rows: List[dict], title: str = "(servers and established)",
                 numeric: bool = True, programs: bool = False, wide: bool = False) -> str:
    """net-tools tcp_do_one()/udp_do_one(): printf("%-4s  %6ld %6ld %-*s %-*s %-11s")
    (+ " %-20s" for -p); ``-W`` widens the address columns instead of cutting them."""
    head = "Proto Recv-Q Send-Q Local Address           Foreign Address         State      "
    if programs:
        head += f" {'PID/Program name':<20}"
    lines = ["Active Internet connections " + title, head]
    for r in rows:
        la = _netstat_addr(r["local_ip"], r["local_port"], numeric, wide)
        ra = _netstat_addr(r["peer_ip"], r["peer_port"], numeric, wide)
        line = (f"{r.get('proto', 'tcp'):<4}  {r['recv_q']:6d} {r['send_q']:6d} {la:<23} "
                f"{ra:<23} {_netstat_state(r):<11}")
        if programs:
            line += f" {_netstat_prog(r):<20}"
        lines.append(line)
    return "\n".join(lines)


def netstat(host, *args, all: bool = True, listening: bool = False, numeric: bool = True,
            programs: bool = False, protocols: Sequence[str] = ("tcp",)) -> SocketTable:
    """``netstat``'s socket list. Give the real command line — ``host.netstat("-tulnp")``
    — and every flag has its real effect (`simtcp.cli.parse_netstat`: -t -u -l -a -n -p
    -W -4 -s; others raise `simtcp.UsageError`). Without arguments it is ``netstat -tan``;
    the keywords say the same (``protocols=("tcp", "udp")`` for ``-tu``).

    netstat reads /proc/net/tcp and /proc/net/udp, where a listener's Send-Q is 0 (ss shows
    the backlog there) and its Recv-Q is the accept-queue length. Without ``-a``, ``-l``
    picks sockets whose foreign port is 0 (servers), otherwise the rest. ``-p`` adds the
    PID/Program name column ("-" for a socket no process holds, like TIME-WAIT).
    """
    wide = False
    if args:
        from ..cli import parse_netstat
        o = parse_netstat(args)
        if o.statistics:
            raise UsageError("netstat: use host.netstat_s() (or host.sh(\"netstat -s\")) for "
                             "-s: statistics are not a socket table")
        protocols, all, listening = o.protocols, o.all, o.listening
        numeric, programs, wide = o.numeric, o.programs, o.wide
        command = "netstat " + " ".join(o.argv)
    else:
        command = "netstat -" + "".join(p[0] for p in ("tcp", "udp") if p in protocols) + \
            ("a" if all else "l" if listening else "") + ("n" if numeric else "") + \
            ("p" if programs else "")
    # net-tools prints /proc/net/tcp, then /proc/net/udp
    entries = [e for p in ("tcp", "udp") if p in protocols for e in _entries(host, (p,))]
    rows = [_row(e, send_q=0) if e["listener"] else _row(e) for e in entries
            if all or (e["peer_port"] == 0) == bool(listening)]
    title = ("(servers and established)" if all else
             "(only servers)" if listening else "(w/o servers)")
    render = functools.partial(netstat_text, title=title, numeric=numeric, programs=programs,
                               wide=wide)
    cols = [("Proto", "left", lambda r: r["proto"]), ("Recv-Q", "right", lambda r: r["recv_q"]),
            ("Send-Q", "right", lambda r: r["send_q"]), ("Local Address", "left",
             lambda r: _netstat_addr(r["local_ip"], r["local_port"], numeric, wide)),
            ("Foreign Address", "left", lambda r: _netstat_addr(r["peer_ip"], r["peer_port"],
                                                                numeric, wide)),
            ("State", "left", _netstat_state)]
    if programs:
        cols.append(("PID/Program name", "left", _netstat_prog))
    return SocketTable("netstat", command, rows, render, cols, host.name, host.net.now)


# net-tools statistics.c wording; Tcp: lines always print, TcpExt: lines only when non-zero
_TCP_LINES = (("ActiveOpens", "{} active connection openings"),
              ("PassiveOpens", "{} passive connection openings"),
              ("AttemptFails", "{} failed connection attempts"),
              ("EstabResets", "{} connection resets received"),
              ("CurrEstab", "{} connections established"),
              ("InSegs", "{} segments received"),
              ("OutSegs", "{} segments sent out"),
              ("RetransSegs", "{} segments retransmitted"),
              ("InErrs", "{} bad segments received"),
              ("OutRsts", "{} resets sent"))
# net-tools statistics.c, the Udp: group (counters kept as "Udp:<MIB name>")
_UDP_LINES = (("InDatagrams", "{} packets received"),
              ("NoPorts", "{} packets to unknown port received"),
              ("InErrors", "{} packet receive errors"),
              ("OutDatagrams", "{} packets sent"),
              ("RcvbufErrors", "{} receive buffer errors"),
              ("SndbufErrors", "{} send buffer errors"))
# in the order of /proc/net/netstat (net/ipv4/proc.c snmp4_net_list)
_TCPEXT_LINES = (("SyncookiesSent", "{} SYN cookies sent"),
                 ("SyncookiesRecv", "{} SYN cookies received"),
                 ("SyncookiesFailed", "{} invalid SYN cookies received"),
                 ("EmbryonicRsts", "{} resets received for embryonic SYN_RECV sockets"),
                 ("TW", "{} TCP sockets finished time wait in fast timer"),
                 ("DelayedACKs", "{} delayed acks sent"),
                 ("ListenOverflows", "{} times the listen queue of a socket overflowed"),
                 ("ListenDrops", "{} SYNs to LISTEN sockets dropped"))


def netstat_s(host) -> str:
    """``netstat -s``: its ``Tcp:``, ``Udp:`` and ``TcpExt:`` sections, from ``host.counters``.

    CurrEstab counts connections in ESTABLISHED or CLOSE-WAIT now: RFC 1213's tcpCurrEstab,
    and Linux since 6.10 (tcp_set_state() in net/ipv4/tcp.c decrements it only on leaving
    both, commit "tcp: count CLOSE-WAIT sockets for TCP_MIB_CURRESTAB"; older kernels
    dropped a connection from the count when it entered CLOSE-WAIT). InErrs ("bad
    segments received") counts the TCP-level drops (bad TCP checksum, data offset or option,
    see `Host.count_drop`); InCsumErrors is the checksum part. TcpExt counters
    without known wording print as ``Name: value``, as netstat does.
    """
    c = host.counters
    values = dict(c)
    values["CurrEstab"] = sum(1 for conn in host.stack.conns.values()
                              if conn.state in (S.ESTABLISHED, S.CLOSE_WAIT))
    csum = c.get("InCsumErrors", 0)
    lines = ["Tcp:"]
    lines += ["    " + text.format(values.get(key, 0)) for key, text in _TCP_LINES]
    if csum:
        lines.append(f"    InCsumErrors: {csum}")
    lines.append("Udp:")
    lines += ["    " + text.format(c.get("Udp:" + key, 0)) for key, text in _UDP_LINES]
    lines.append("TcpExt:")
    known = {k for k, _ in _TCP_LINES} | {k for k, _ in _TCPEXT_LINES} | {"InCsumErrors"}
    lines += ["    " + text.format(c[key]) for key, text in _TCPEXT_LINES if c.get(key)]
    lines += [f"    {k}: {v}" for k, v in sorted(c.items())
              if v and k not in known and ":" not in k and " " not in k]
    return "\n".join(lines)


