"""Operator views of a simulated host: ``ss``, ``netstat``, ``netstat -s`` and ``lsof``.

Theory of operation: each view reads the host's stack the way the real tool reads the
kernel, then lays the rows out with the real tool's own formatting rules, so a student can
put the simulated output next to a real terminal and see the same thing:

* ``ss`` (iproute2, misc/ss.c) asks sock_diag: listeners first, then the established
  hash, which also holds SYN-RECV request sockets and TIME-WAIT sockets. Its column engine
  (``render_calc_width``/``render``) measures every field, right-aligns the address and
  left-aligns the port around the ``:``, and pads; we port that engine. Piped output (what
  a notebook shows) keeps the measured widths; ``width=N`` emulates a terminal of N
  columns, where ss spreads the spare room over the columns and wraps.
* ``netstat`` (net-tools) reads /proc/net/tcp and /proc/net/udp and prints fixed printf
  columns (`simtcp.tools.netstat`).
* ``lsof`` walks /proc/PID/fd, so it only sees sockets a process still holds: no
  TIME-WAIT, no SYN-RECV request, no child waiting in the accept queue, nothing orphaned
  by close() (`simtcp.tools.lsof`).

All three read one socket enumeration, `simtcp.diag` (Linux's sock_diag), and accept the
real tools' command lines (`simtcp.cli`).

Recv-Q/Send-Q follow Linux's definitions (net/ipv4/tcp_diag.c tcp_diag_get_info(), and
get_tcp4_sock() in net/ipv4/tcp_ipv4.c for /proc/net/tcp):

* listener, ss: Recv-Q = accept-queue length (sk_ack_backlog), Send-Q = the backlog
  (sk_max_ack_backlog); netstat shows Recv-Q = accept queue but Send-Q = 0 there.
* connection: Recv-Q = rcv_nxt - copied_seq: bytes received and not yet read, **plus 1 for
  a FIN the application has not read** (recv() returning b"" consumes it; close() does not),
  which is why a leaked CLOSE-WAIT socket shows Recv-Q 1. Whether EOF was read comes from
  ``Connection.eof_read`` if the core keeps it, else from the trace's recv() call records.
  Send-Q = write_seq - snd_una:
  unacknowledged *and* unsent bytes, plus 1 while our SYN or FIN is unacknowledged (so
  SYN-SENT shows Send-Q 1, LAST-ACK shows 1).
* SYN-RECV request sockets and TIME-WAIT sockets report 0 and 0 (inet_req_diag_fill,
  inet_twsk_diag_fill).

Row order: the kernel walks its hash tables, so real order looks random. We print the
listeners first (as the kernel does), sorted by port then address, then every other socket
sorted by local address, local port, peer address, peer port. lsof sorts by PID then FD,
as the real one does.
"""
from __future__ import annotations

import functools
import html
from typing import Callable, Dict, Iterator, List, Optional, Sequence

from ..cli import UsageError
from ..states import State

try:  # service names for numeric=False (IANA registry)
    from ..ports import service_name as _service_name
except ImportError:  # pragma: no cover - ports.py is optional for the views
    _service_name = None

S = State
WILDCARD = "0.0.0.0"
FIELDS = ("proto", "state", "recv_q", "send_q", "local_ip", "local_port", "peer_ip", "peer_port",
          "process", "pid", "fd", "user", "inode")

# net-tools netstat.c tcp_state[] (lsof's Linux dialect prints the same names)
NETSTAT_NAMES = {S.ESTABLISHED: "ESTABLISHED", S.SYN_SENT: "SYN_SENT", S.SYN_RECEIVED: "SYN_RECV",
                 S.FIN_WAIT_1: "FIN_WAIT1", S.FIN_WAIT_2: "FIN_WAIT2", S.TIME_WAIT: "TIME_WAIT",
                 S.CLOSED: "CLOSE", S.CLOSE_WAIT: "CLOSE_WAIT", S.LAST_ACK: "LAST_ACK",
                 S.LISTEN: "LISTEN", S.CLOSING: "CLOSING"}

# ss state filter words (misc/ss.c scan_state(): sstate_namel[] plus the groups)
_ALL = frozenset(State)
SS_STATE_WORDS: Dict[str, frozenset] = {
    "established": frozenset({S.ESTABLISHED}), "syn-sent": frozenset({S.SYN_SENT}),
    "syn-recv": frozenset({S.SYN_RECEIVED}), "syn-rcv": frozenset({S.SYN_RECEIVED}),
    "fin-wait-1": frozenset({S.FIN_WAIT_1}), "fin-wait-2": frozenset({S.FIN_WAIT_2}),
    "time-wait": frozenset({S.TIME_WAIT}), "closed": frozenset({S.CLOSED}),
    "close": frozenset({S.CLOSED}), "unconnected": frozenset({S.CLOSED}),
    "close-wait": frozenset({S.CLOSE_WAIT}), "last-ack": frozenset({S.LAST_ACK}),
    "listening": frozenset({S.LISTEN}), "closing": frozenset({S.CLOSING}),
    "all": _ALL,
    "connected": _ALL - {S.CLOSED, S.LISTEN},
    "synchronized": _ALL - {S.CLOSED, S.LISTEN, S.SYN_SENT},
    "bucket": frozenset({S.SYN_RECEIVED, S.TIME_WAIT}),
    "big": _ALL - {S.SYN_RECEIVED, S.TIME_WAIT},
}
_SS_WORD: Dict[State, str] = {}          # State -> the word ss's filter uses for it
for _word, _set in SS_STATE_WORDS.items():
    if len(_set) == 1:
        _SS_WORD.setdefault(next(iter(_set)), _word)
# ss with neither -a nor -l: SS_CONN, everything but LISTEN, CLOSE, TIME-WAIT and SYN-RECV
SS_CONN = _ALL - {S.LISTEN, S.CLOSED, S.TIME_WAIT, S.SYN_RECEIVED}

# colour hints for HTML (Okabe-Ito, colour-blind safe)
_COLOURS = {S.LISTEN: "#0072B2", S.ESTABLISHED: "#009E73", S.SYN_SENT: "#E69F00",
            S.SYN_RECEIVED: "#E69F00", S.FIN_WAIT_1: "#CC79A7", S.FIN_WAIT_2: "#CC79A7",
            S.CLOSING: "#CC79A7", S.CLOSE_WAIT: "#D55E00", S.LAST_ACK: "#D55E00",
            S.TIME_WAIT: "#999999", S.CLOSED: "#999999"}


def parse_states(value) -> frozenset:
    """A set of `State` from what a caller may write: ``"established"``, ``"time-wait"``,
    ``"listening"``, a group (``"connected"``, ``"synchronized"``, ``"bucket"``, ``"big"``,
    ``"all"``), a `State`, an RFC name (``"SYN-RECEIVED"``), an ss name (``"ESTAB"``), a netstat
    name (``"TIME_WAIT"``), or an iterable of those."""
    if isinstance(value, State):
        return frozenset({value})
    if isinstance(value, str):
        word = value.strip()
        low = word.lower()
        if low in SS_STATE_WORDS:
            return SS_STATE_WORDS[low]
        for st in State:
            if word.upper() in (st.value, st.ss_name, NETSTAT_NAMES[st], st.name):
                return frozenset({st})
        raise ValueError(f"unknown TCP state {value!r}: use an ss state word "
                         f"({', '.join(SS_STATE_WORDS)}), a simtcp.State, or a name as ss, "
                         "netstat or RFC 9293 print it (ESTAB, TIME_WAIT, SYN-RECEIVED)")
    try:
        items = list(value)
    except TypeError:
        raise ValueError(f"state must be a name, a simtcp.State or a list of them, "
                         f"not {value!r}") from None
    out: frozenset = frozenset()
    for item in items:
        out |= parse_states(item)
    return out


# --------------------------------------------------------------------- the table
class SocketTable:
    """Rows of a socket view plus the real tool's text (``str``) and an HTML table.

    ``rows`` are dicts with typed fields: ``state`` (`State`), ``recv_q``, ``send_q``
    (int, or None where the tool shows no queues), ``local_ip``, ``local_port``,
    ``peer_ip``, ``peer_port`` (``"0.0.0.0"``/0 for a listener's peer), ``process``,
    ``pid``, ``fd``, ``user`` (None when no process holds the socket) and ``inode``.
    """

    def __init__(self, tool: str, command: str, rows: List[dict],
                 render: Callable[[List[dict]], str], html_columns: Sequence[tuple],
                 host_name: str = "", time: float = 0.0):
        self.tool = tool
        self.command = command
        self.rows = list(rows)
        self._render = render
        self._html_columns = tuple(html_columns)
        self.host_name = host_name
        self.time = time

    @property
    def text(self) -> str:
        """The output of the real tool, line for line (no final newline)."""
        return self._render(self.rows)

    def __str__(self) -> str:
        return self.text

    def __repr__(self) -> str:
        return self.text

    def __len__(self) -> int:
        return len(self.rows)

    def __iter__(self) -> Iterator[dict]:
        return iter(self.rows)

    def __getitem__(self, i):
        return self.rows[i]

    def filter(self, **criteria) -> "SocketTable":
        """Rows matching every criterion, as a new table rendered the same way.

        A criterion is a value (equality), a list/tuple/set (membership) or a callable
        (predicate). ``state`` accepts any spelling `parse_states` knows
        (``filter(state="time-wait")``); ``port`` matches either side.
        """
        tests = []
        for key, want in criteria.items():
            if key == "state" and not callable(want):
                states = parse_states(want)
                tests.append(lambda r, s=states: r["state"] in s)
            elif key == "port":
                ports = set(want) if isinstance(want, (list, tuple, set, frozenset)) else {want}
                tests.append(lambda r, p=ports: r["local_port"] in p or r["peer_port"] in p)
            elif key in FIELDS:
                tests.append(lambda r, k=key, w=want: _matches(r[k], w))
            else:
                raise ValueError(f"cannot filter on {key!r}: rows have the fields "
                                 f"{', '.join(FIELDS)} (and 'port' means either side)")
        rows = [r for r in self.rows if all(t(r) for t in tests)]
        return SocketTable(self.tool, self.command, rows, self._render, self._html_columns,
                           self.host_name, self.time)

    def _repr_html_(self) -> str:
        esc = html.escape
        cell = "padding:0 0.7em 0 0;white-space:pre;text-align:{}"
        head = "".join(f'<th style="{cell.format(a)}">{esc(h)}</th>'
                       for h, a, _ in self._html_columns)
        body = []
        for r in self.rows:
            tds = []
            for h, align, fn in self._html_columns:
                style = cell.format(align)
                if h in ("State", "NAME"):
                    style += f";color:{_COLOURS.get(r['state'], '#000')};font-weight:bold"
                tds.append(f'<td style="{style}">{esc(str(fn(r)))}</td>')
            body.append("<tr>" + "".join(tds) + "</tr>")
        if not body:
            note = ("no output: lsof prints nothing and exits 1 when no file matches"
                    if self.tool == "lsof" else "no sockets match")
            body.append(f'<tr><td colspan="{len(self._html_columns)}" '
                        f'style="color:#777">({esc(note)})</td></tr>')
        where = f"{self.host_name}, " if self.host_name else ""
        return (f'<div style="font-family:monospace">'
                f'<div style="color:#555">$ {esc(self.command)} '
                f'<span style="color:#999">({esc(where)}t = {self.time:.6g} s)</span></div>'
                f'<table style="font-family:monospace;border-collapse:collapse">'
                f'<thead><tr>{head}</tr></thead><tbody>{"".join(body)}</tbody></table></div>')


def _matches(value, want) -> bool:
    if callable(want):
        return bool(want(value))
    return value in want if isinstance(want, (list, tuple, set, frozenset)) else value == want


# ------------------------------------------------------------- reading the stack
def _entries(host, protocols=("tcp",), info: bool = False) -> List[dict]:
    """Rows of every socket sock_diag reports (`simtcp.diag`), for the given protocols;
    ``info`` adds TCP_INFO (key ``tcp_info``)."""
    from ..diag import sockets
    return [e.row() for e in sockets(host, protocols, info)]


def _row(entry: dict, **override) -> dict:
    row = {k: entry[k] for k in FIELDS}
    row.update(override)
    return row


def _port_name(port: int, numeric: bool, skip_ephemeral=None) -> str:
    if port == 0:
        return "*"
    if numeric or _service_name is None:
        return str(port)
    if skip_ephemeral is not None and skip_ephemeral[0] <= port <= skip_ephemeral[1]:
        return str(port)
    return _service_name(port) or str(port)


# ------------------------------------------------------------------------- ss
# misc/ss.c columns[]: (align, header, left delimiter). Netid is disabled for -t.
_SS_COLUMNS = (("L", "Netid", ""), ("L", "State", " "), ("L", "Recv-Q", " "),
               ("L", "Send-Q", " "), ("R", "Local Address:", " "), ("L", "Port", ""),
               ("R", "Peer Address:", " "), ("L", "Port", ""), ("L", "Process", ""),
               ("L", "", ""))


def ss_layout(lines: List[List[str]], disabled: Sequence[bool],
              width: Optional[int] = None, header: bool = True) -> str:
    """iproute2's column engine (misc/ss.c render_calc_width() and render()).

    ``lines`` holds one token per column (disabled columns included, ignored). First pass:
    a column is as wide as its longest token plus its left delimiter (not for the first
    visible column; ``header=False`` for ``-H``, no title line). With ``width=None`` (stdout not a tty) that is all. On a terminal of
    ``width`` columns the spare room is spread over the columns of each screen line — the
    remainder to the last ones — and a column that does not fit starts a new line.
    """
    n = len(_SS_COLUMNS)
    maxlen = [0] * n
    for i, toks in enumerate(lines):
        for c in range(n):
            # a field is measured when it is flushed (field_flush()); the last data row's
            # Process field is still unflushed when render() runs, so it never widens its
            # column: with -p the last users:(...) just overflows (seen with iproute2 6.1)
            if not disabled[c] and not (i == len(lines) - 1 and (i or not header) and c == 8):
                maxlen[c] = max(maxlen[c], len(toks[c]))
    widths = [0] * n
    first = True
    screen = width if width is not None else 1 << 30
    for c in range(n):
        if disabled[c]:
            continue
        w = maxlen[c] + (len(_SS_COLUMNS[c][2]) if not first and maxlen[c] else 0)
        widths[c] = min(w, screen)
        if widths[c]:
            first = False
    if width is not None:
        eol, length, linecols, c = -1, 0, 0, 0
        while c < n:
            if not widths[c]:
                c += 1
                continue
            linecols += 1
            length += widths[c]
            last = not any(widths[c + 1:])
            if not last and length < screen:
                c += 1
                continue
            if length != screen:
                if length > screen:          # screen width exceeded: go back one column
                    length -= widths[c]
                    c -= 1
                    linecols -= 1
                pad = screen - length
                spacing, rem = divmod(pad, max(linecols, 1))
                for t in range(c, eol, -1):
                    if widths[t]:
                        widths[t] += spacing + (1 if rem else 0)
                        rem -= 1 if rem else 0
            eol = c                      # the terminal itself wraps the line here
            length = linecols = 0
            c += 1
    out = []
    for toks in lines:
        parts, started = [], False
        for c in range(n):
            if disabled[c]:
                continue
            align, _, ldelim = _SS_COLUMNS[c]
            printed = 0
            if started:                  # left delimiter only once the line has begun
                parts.append(ldelim)
                printed = len(ldelim)
            started = True
            tok = toks[c]
            if align == "R" and widths[c]:
                parts.append(" " * max(0, widths[c] - len(tok) - printed))
                printed = max(printed, widths[c] - len(tok))
            parts.append(tok)
            printed += len(tok)
            if align == "L" and widths[c] > printed:
                parts.append(" " * (widths[c] - printed))
        out.append("".join(parts))
    return "\n".join(out)


def ss(host, *args, all: bool = True, listening: bool = False, numeric: bool = True,
       processes: bool = False, state=None, port: Optional[int] = None,
       width: Optional[int] = None, protocols: Sequence[str] = ("tcp",),
       info: bool = False, options: bool = False) -> SocketTable:
    """The socket table as ``ss`` prints it.

    Give the real command line — ``host.ss("-tuln")``, ``host.ss("-tan", "state",
    "established")``, ``host.ss("-tan '( sport = :80 or dport = :80 )'")`` — and every flag
    has its real effect (`simtcp.cli.parse_ss`; unknown or unmodelled flags raise
    `simtcp.UsageError` with ss's own message). Without arguments it is ``ss -tan``, and
    keywords set the same things: ``all`` = ``-a`` (without it ss hides LISTEN, UNCONN,
    TIME-WAIT and SYN-RECV), ``listening`` = ``-l``, ``state`` (any `parse_states`
    spelling) like ``state established`` — with a single state ss drops the State column —,
    ``numeric=False`` prints service names except for ephemeral ports, ``processes`` adds
    ``users:(("python",pid=1100,fd=3))``, ``port`` keeps sockets whose local or peer port
    matches, ``protocols`` ``("tcp", "udp")`` for ``-tu`` (a Netid column appears when
    more than one protocol is shown), ``info`` = ``-i``: under each TCP socket the line of
    TCP_INFO ss prints (``\t cubic wscale:7,7 rto:204 rtt:… cwnd:10 …``; `simtcp.tcpinfo`);
    like ss, the line is part of the last column, which therefore pads the header.
    ``options`` = ``-o``: the pending timer after the addresses (and processes), as
    ``timer:(on,200ms,0)`` — kind, time left, retransmissions or probes (`ss_timer`); with
    ``-i`` it also adds ``ts sack`` to the TCP_INFO line.
    ``width=None`` is the layout of piped output; ``width=80`` that of an 80-column terminal.
    """
    header, match, expression = True, None, ""
    if args:
        from ..cli import parse_ss
        o = parse_ss(args)
        protocols, all, listening, numeric = o.protocols, o.all, o.listening, o.numeric
        processes, header, match, expression = o.processes, o.header, o.match, o.expression
        info, options = o.info, o.options
        states = o.states
        if states is None:
            states = (_ALL if all else frozenset({S.LISTEN, S.CLOSED}) if listening
                      else SS_CONN)
        command = "ss " + " ".join(o.argv)
    else:
        if state is not None:
            states = parse_states(state)
        elif listening:
            states = frozenset({S.LISTEN, S.CLOSED})
        elif all:
            states = _ALL
        else:
            states = SS_CONN
        command = _ss_command(protocols, all, listening, numeric, processes, state, port, info,
                              options)
    if not states:
        raise UsageError("ss: no socket states to show with such filter.")
    def extra(e: dict) -> dict:
        out = {"info": _info_line(e, numeric, options)} if info else {}
        if options:
            out["timer"] = ss_timer(e["timer"]) if e["proto"] == "tcp" else ""
        return out

    rows = [_row(e, send_q=e["backlog"], **extra(e)) if e["listener"] else _row(e, **extra(e))
            for e in _entries(host, protocols, info)
            if e["state"] in states and (port is None or port in (e["local_port"], e["peer_port"]))
            and (match is None or match(e))]
    show_state = len(states) > 1
    show_netid = len(protocols) > 1
    eph = tuple(host.sysctl.get("net.ipv4.ip_local_port_range", (32768, 60999)))

    def tokens(r: dict) -> List[str]:
        users = (f' users:(("{r["process"]}",pid={r["pid"]},fd={r["fd"]}))'
                 if processes and r["pid"] is not None else "") + r.get("timer", "") + \
            r.get("info", "")
        return [r["proto"], r["state"].ss_name, f"{r['recv_q']:<6d}", f"{r['send_q']:<6d}",
                r["local_ip"] + ":", _port_name(r["local_port"], numeric, eph),
                r["peer_ip"] + ":", _port_name(r["peer_port"], numeric, eph), users, ""]

    disabled = [not show_netid, not show_state] + [False] * 8

    def render(rs: List[dict]) -> str:
        head = [[c[1] for c in _SS_COLUMNS]] if header else []
        lines = head + [tokens(r) for r in rs]
        return ss_layout(lines, disabled, width, header=header) if lines else ""

    def addr(ip_key: str, port_key: str) -> Callable[[dict], str]:
        return lambda r: f"{r[ip_key]}:{_port_name(r[port_key], numeric, eph)}"

    cols = (([("Netid", "left", lambda r: r["proto"])] if show_netid else [])
            + ([("State", "left", lambda r: r["state"].ss_name)] if show_state else []) + [
        ("Recv-Q", "right", lambda r: r["recv_q"]), ("Send-Q", "right", lambda r: r["send_q"]),
        ("Local Address:Port", "left", addr("local_ip", "local_port")),
        ("Peer Address:Port", "left", addr("peer_ip", "peer_port"))])
    if processes:
        cols.append(("Process", "left", lambda r: tokens(r)[8].split("\n")[0].strip()))
    if options:
        cols.append(("Timer", "left", lambda r: r["timer"].strip()))
    if info:
        cols.append(("TCP_INFO", "left", lambda r: r["info"].strip()))
    return SocketTable("ss", command, rows, render, cols, host.name, host.net.now)


def ms_timer(timeout: int) -> str:
    """iproute2 misc/ss.c print_ms_timer(): 204 -> "204ms", 1500 -> "1.500ms", 58000 ->
    "58sec", 7140000 -> "119min" (minutes hide seconds above 9, seconds hide ms above 9)."""
    secs, msecs = divmod(timeout, 1000)
    minutes, secs = divmod(secs, 60)
    out = ""
    if minutes:
        msecs = 0
        out = f"{minutes}min"
        if minutes > 9:
            secs = 0
    if secs:
        if secs > 9:
            msecs = 0
        out += f"{secs}" + ("." if msecs else "sec")
    if msecs:
        out += f"{msecs:03d}ms"
    return out


def ss_timer(timer) -> str:
    """What ss -o adds after the addresses (misc/ss.c tcp_timer_print()): nothing when no
    timer is pending, else `` timer:(kind,time left,retransmissions)`` (`simtcp.diag`)."""
    from ..diag import TIMER_NAMES
    kind, expires, retrans = timer
    if not kind:
        return ""
    return f" timer:({TIMER_NAMES[min(kind, 5)]},{ms_timer(expires)},{retrans})"


def _info_line(entry: dict, numeric: bool, options: bool = False) -> str:
    """What ss -i adds to a socket's last column: a new line, a tab and TCP_INFO
    (misc/ss.c inet_show_sock(): out("\n\t") then tcp_show_info()); nothing for sockets
    without INET_DIAG_INFO (UDP, SYN-RECV requests, TIME-WAIT)."""
    ti = entry.get("tcp_info")
    if ti is None:
        return ""
    return "\n" + ti.ss_line(options=options, numeric=numeric)


def _ss_command(protocols, all, listening, numeric, processes, state, port,
                info=False, options=False) -> str:
    """The ss command line the keyword form stands for."""
    flags = "-" + "".join(p[0] for p in ("tcp", "udp") if p in protocols) + \
        ("l" if listening and state is None else "a" if all and state is None else "") + \
        ("n" if numeric else "") + ("o" if options else "") + ("p" if processes else "") + \
        ("i" if info else "")
    command = "ss " + flags
    if state is not None:
        for w in (state if isinstance(state, (list, tuple, set, frozenset)) else [state]):
            words = ([w.lower()] if isinstance(w, str) and w.lower() in SS_STATE_WORDS else
                     sorted(_SS_WORD[st] for st in parse_states(w)))
            command += "".join(f" state {word}" for word in words)
    if port is not None:
        command += f" '( sport = :{port} or dport = :{port} )'"
    return command


from .netstat import netstat, netstat_s, netstat_text  # noqa: E402,F401  (re-exported)
from .lsof import lsof, lsof_text  # noqa: E402,F401
