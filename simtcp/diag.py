"""One socket enumeration for every view: simtcp's sock_diag.

Theory of operation: Linux tools do not walk the kernel's tables themselves; ``ss`` asks
the sock_diag netlink interface (net/core/sock_diag.c, net/ipv4/inet_diag.c with
tcp_diag.c and udp_diag.c), netstat reads /proc/net/tcp and /proc/net/udp (produced by the
same hash-table walks), and lsof maps each process's file descriptors onto those entries.
`sockets()` is that one walk for a simulated host. It yields a `SockDiag` per socket the
kernel would report — TCP listeners, then the established hash (which also holds SYN-RECV
request sockets and TIME-WAIT sockets), then UDP sockets — with Linux's queue values, and
the process, descriptor and inode of whoever holds it. `ss`, `netstat`, `lsof` and the
demultiplexing figure all read it, so they cannot disagree.

Queue values (net/ipv4/tcp_diag.c tcp_diag_get_info(); get_tcp4_sock() in
net/ipv4/tcp_ipv4.c; udp_diag.c / udp4_format_sock() for UDP):

* TCP listener: Recv-Q = accept-queue length (sk_ack_backlog), ``backlog`` =
  sk_max_ack_backlog (ss shows it as Send-Q; /proc/net/tcp shows 0).
* TCP connection: Recv-Q = rcv_nxt - copied_seq, i.e. unread bytes **plus 1 for a FIN the
  application has not read**; Send-Q = write_seq - snd_una (unsent and unacknowledged
  bytes, plus 1 while our SYN or FIN is unacknowledged).
* SYN-RECV request sockets and TIME-WAIT sockets: 0 and 0 (inet_req_diag_fill,
  inet_twsk_diag_fill); they have no file descriptor.
* UDP: Recv-Q = sk_rmem_alloc, Send-Q = sk_wmem_alloc (see `simtcp.udp`); state
  ESTABLISHED when connected, else CLOSE (ss prints UNCONN).

The pending timer (``ss -o``; `diag_timer`) is what inet_sk_diag_fill() (net/ipv4/
inet_diag.c) reports as idiag_timer / idiag_expires / idiag_retrans: 1 "on" for the
retransmission timer, which in Linux also carries the tail loss probe and RACK's
reordering timeout (ICSK_TIME_RETRANS, _LOSS_PROBE, _REO_TIMEOUT), with icsk_retransmits;
4 "persist" for the zero-window probe timer with icsk_probes_out; 2 "keepalive" for
sk_timer (SO_KEEPALIVE, and an orphan's FIN-WAIT-2 timeout while it is longer than
TCP_TIMEWAIT_LEN) with icsk_probes_out; 3 "timewait" for TIME-WAIT sockets and for an
orphan in FIN-WAIT-2 (tcp_close(): tcp_time_wait(sk, TCP_FIN_WAIT2, tmo); inet_twsk_diag_fill);
a SYN-RECV request shows its SYN-ACK timer as "on" with its retransmissions
(inet_req_diag_fill); 0 otherwise (a listener, an idle connection).
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Dict, Iterable, List, Optional, Tuple

from .states import State

S = State
WILDCARD = "0.0.0.0"
PROTOCOLS = ("tcp", "udp")


@dataclass(frozen=True)
class SockDiag:
    """One socket as sock_diag reports it (plus the process that holds it, if any)."""

    proto: str                 # "tcp" or "udp"
    state: State
    recv_q: int
    send_q: int
    local_ip: str
    local_port: int
    peer_ip: str
    peer_port: int
    listener: bool = False
    backlog: Optional[int] = None
    process: Optional[str] = None
    pid: Optional[int] = None
    fd: Optional[int] = None
    user: Optional[str] = None
    inode: Optional[int] = None
    tcp_info: Optional[object] = None   # TcpInfo / ListenerInfo when asked for (ss -i)
    timer: Tuple[int, int, int] = (0, 0, 0)   # (idiag_timer, expires ms, retrans): ss -o

    def row(self, **override) -> dict:
        """A plain dict of the fields (what `SocketTable` rows hold)."""
        out = {f.name: getattr(self, f.name) for f in fields(self)}
        out.update(override)
        return out

    @property
    def sort_key(self) -> tuple:
        if self.listener:
            return (0, self.local_port, _ip_key(self.local_ip))
        return (1, _ip_key(self.local_ip), self.local_port, _ip_key(self.peer_ip),
                self.peer_port)


TIMER_OFF, TIMER_ON, TIMER_KEEPALIVE, TIMER_TIMEWAIT, TIMER_PERSIST = range(5)
TIMER_NAMES = ("off", "on", "keepalive", "timewait", "persist", "unknown")   # misc/ss.c


def diag_timer(conn, now: float) -> Tuple[int, int, int]:
    """(idiag_timer, idiag_expires in ms, idiag_retrans) of one TCP connection (module
    docstring; jiffies_delta_to_msecs(): never negative)."""
    t = conn.timers
    if not t:
        return (TIMER_OFF, 0, 0)

    def ms(deadline: float) -> int:
        return max(round((deadline - now) * 1000), 0)

    st = conn.state
    if st is S.TIME_WAIT and "timewait" in t:
        return (TIMER_TIMEWAIT, ms(t["timewait"]), 0)
    if "finwait2" in t:
        # tcp_close() / tcp_rcv_state_process(): a timeout longer than TCP_TIMEWAIT_LEN runs
        # on sk_timer first, the last TCP_TIMEWAIT_LEN in a FIN-WAIT-2 timewait socket
        left, tw = t["finwait2"] - now, conn.cfg.time_wait
        if conn.cfg.fin_timeout > tw and left > tw:
            return (TIMER_KEEPALIVE, ms(t["finwait2"] - tw), conn.probes_out)
        return (TIMER_TIMEWAIT, ms(t["finwait2"]), 0)
    pending = [t[k] for k in ("rto", "tlp", "reo") if k in t]
    if pending:
        return (TIMER_ON, ms(min(pending)), conn.retries)
    if "persist" in t:
        return (TIMER_PERSIST, ms(t["persist"]), conn.probes_out)
    if "keepalive" in t:
        return (TIMER_KEEPALIVE, ms(t["keepalive"]), conn.probes_out)
    return (TIMER_OFF, 0, 0)


def _ip_key(ip: str) -> tuple:
    return tuple(int(p) for p in ip.split("."))


def _eof_reads(net) -> Dict:
    """4-tuple -> last virtual time a recv() returned b"" at EOF, from the trace's typed
    call records (used when the connection does not record that the FIN was read)."""
    seen: Dict = {}
    for r in getattr(net.trace, "records", ()):
        if r.kind == "call" and r.get("call") == "recv" and r.get("returned") == 0 \
                and r.get("args") != (0,) and r.conn is not None:
            seen[r.conn] = r.time
    return seen


def _inodes(host) -> Dict[int, int]:
    # each socket keeps the inode number it got when created (Host.sockets, a SocketTable)
    return {id(s): host.sockets.inode_of(s) for s in host.sockets}


def _holder(sock, inodes) -> dict:
    if sock is None:
        return {}
    return dict(process=sock.process, pid=sock.pid, fd=sock.fd, user=sock.user,
                inode=inodes.get(id(sock)))


def tcp_sockets(host, inodes: Optional[Dict[int, int]] = None,
                info: bool = False) -> List[SockDiag]:
    """TCP: listeners (sorted by port, address), then the established hash. ``info`` adds
    each full socket's TCP_INFO (INET_DIAG_INFO; request and TIME-WAIT sockets have none)."""
    from .tcpinfo import ListenerInfo
    stack = host.stack
    inodes = _inodes(host) if inodes is None else inodes
    out: List[SockDiag] = []
    now = host.net.now
    for lst in stack.listeners.values():
        sock = lst.sock if not lst.sock.closed else None
        linfo = None
        if info:
            cfg = stack.config()
            linfo = ListenerInfo(lst.sock.congestion or cfg.congestion, cfg.init_cwnd,
                                 len(lst.accept_queue))
        out.append(SockDiag("tcp", S.LISTEN, len(lst.accept_queue), 0, lst.ip, lst.port,
                            WILDCARD, 0, listener=True, backlog=lst.backlog,
                            tcp_info=linfo, **_holder(sock, inodes)))
    eof_reads = None
    for t, conn in stack.conns.items():
        st = conn.state
        if st is S.CLOSED:
            continue
        owner = stack.owner.get(conn)
        # only an accepted (or connecting) socket that is still open has an inode a
        # process can hold: children in the listen queues and orphans have none
        held = (owner is not None and not owner.closed and conn not in stack.parent
                and owner.conn is conn)
        cinfo = None
        if (st is S.SYN_RECEIVED and conn in stack.parent) or st is S.TIME_WAIT:
            rq = sq = 0
        else:
            cinfo = conn.info(now) if info else None
            fin_unread = 0
            if conn.eof:
                flag = getattr(conn, "eof_read", None)
                if flag is None and not conn.rcvq:
                    if eof_reads is None:
                        eof_reads = _eof_reads(host.net)
                    flag = eof_reads.get(t, -1.0) >= (conn.established_at or 0.0)
                fin_unread = 0 if (flag and not conn.rcvq) else 1
            rq = len(conn.rcvq) + fin_unread
            syn = 1 if st in (S.SYN_SENT, S.SYN_RECEIVED) else 0
            fin = 1 if conn.fin_queued and st in (S.FIN_WAIT_1, S.CLOSING, S.LAST_ACK) else 0
            sq = len(conn.sndq) + syn + fin
        out.append(SockDiag("tcp", st, rq, sq, t.local_ip, t.local_port, t.remote_ip,
                            t.remote_port, tcp_info=cinfo, timer=diag_timer(conn, now),
                            **_holder(owner if held else None, inodes)))
    out.sort(key=lambda e: e.sort_key)
    return out


def udp_sockets(host, inodes: Optional[Dict[int, int]] = None) -> List[SockDiag]:
    """UDP: every open datagram socket (udp_diag_dump walks the UDP hash)."""
    table = getattr(host, "udp", None)
    if table is None:
        return []
    inodes = _inodes(host) if inodes is None else inodes
    out = [SockDiag("udp", S.ESTABLISHED if s.peer is not None else S.CLOSED,
                    s.rmem_alloc, s.wmem_alloc, s.local[0], s.local[1],
                    *(s.peer or (WILDCARD, 0)), **_holder(s, inodes))
           for s in table.sockets() if s.local is not None]
    out.sort(key=lambda e: e.sort_key)
    return out


def sockets(host, protocols: Iterable[str] = PROTOCOLS, info: bool = False) -> List[SockDiag]:
    """Every socket of ``host`` the kernel would report, for the given protocols, in the
    order ss prints them (ss.c main(): udp_show() before tcp_show()); ``info``: with TCP_INFO
    (`tcp_sockets`)."""
    protocols = tuple(protocols)
    bad = [p for p in protocols if p not in PROTOCOLS]
    if bad:
        raise ValueError(f"unknown protocol {bad[0]!r}: simtcp models {', '.join(PROTOCOLS)}")
    if getattr(host, "stack", None) is None:
        raise ValueError(f"{host!r} has no sockets (a Peer has no stack)")
    inodes = _inodes(host)
    out: List[SockDiag] = []
    if "udp" in protocols:
        out += udp_sockets(host, inodes)
    if "tcp" in protocols:
        out += tcp_sockets(host, inodes, info)
    return out
