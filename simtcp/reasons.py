"""Typed reasons and events: why a packet was dropped, why a segment was sent, what happened.

Theory of operation: every ``reason`` and event name simtcp puts in its trace, counters and
figures is a member of one of the enums below. Members are ``str`` subclasses
(`enum.StrEnum`) whose value is a stable machine name (``"no_route"``); code compares
members (``r.reason is DropReason.LINK_LOSS``) and asks typed questions
(``r.reason.retransmission``), never searches the words. The words are only for people:
``member.text`` is the display text in the current language (`simtcp.lang.tr`, key
``"reason.<value>"``, English when the catalogue has no entry) and ``member.label(lang)``
the same for a figure drawn in an explicit language.

Each family is its own enum:

* `DropReason` — a packet's fate when it is not delivered (trace ``drop`` records,
  `Network.drops`, link middlebox verdicts, malformed input from `simtcp.wire`);
* `SendCause` — why a segment or datagram was sent (trace ``send`` records); the
  retransmissions Linux counts in ``RetransSegs`` are marked, so the counter never depends
  on wording (the ACK a TIME-WAIT socket sends for a retransmitted FIN is *not* one: Linux
  sends it from tcp_timewait_state_process() through tcp_v4_timewait_ack(), which does not
  touch TCP_MIB_RETRANSSEGS);
* `StateCause` — why a connection changed state or was aborted (``state`` records and the
  RST an abort sends);
* `EventKind` — the ``what`` of ``event`` and ``demux`` records.
"""
from __future__ import annotations

import enum
from typing import Optional

__all__ = ["words", "Reason", "DropReason", "SendCause", "StateCause", "EventKind", "DemuxRule",
           "as_reason"]


def _tr(key: str, default: str) -> str:
    try:
        from .lang import tr
    except ImportError:          # simtcp.lang not available: English only
        return default
    return tr(key, default=default)


def _fill(text: str, fields: dict) -> str:
    if "{" not in text:
        return text
    try:
        return text.format(**fields)
    except (KeyError, IndexError, ValueError):
        return text


def words(value, **fields) -> str:
    """Display text of a reason, event or state name (plain strings pass through)."""
    if isinstance(value, Reason):
        return value.describe(**fields)
    return str(value)


class Reason(enum.StrEnum):
    """Base of every typed reason: value = machine name, `text` = display words."""

    def __new__(cls, value: str, english: str, *flags: str):
        obj = str.__new__(cls, value)
        obj._value_ = value
        obj.english = english
        obj.flags = frozenset(flags)
        # plain attributes, not properties: the stack asks on every segment it sends
        #: True for the sends Linux counts in RetransSegs (only `SendCause` has any)
        obj.retransmission = "retrans" in obj.flags
        #: an ACK that repeats the last acknowledgment (RFC 5681 §2 "duplicate ACK")
        obj.duplicate_ack = "dupack" in obj.flags
        return obj

    @property
    def key(self) -> str:
        """The catalogue key of the display text."""
        return f"reason.{self.value}"

    @property
    def text(self) -> str:
        """Display text in the current language (`simtcp.set_language`)."""
        return _tr(self.key, self.english)

    def label(self, lang: str = "en", **fields) -> str:
        """Display text in ``lang`` (figures pass their own language), ``{fields}`` filled."""
        from .viz.i18n import check_lang, has, t
        check_lang(lang)
        text = t(self.key, lang) if lang != "en" and has(self.key) else self.english
        return _fill(text, fields)

    def describe(self, **fields) -> str:
        """`text` with the ``{fields}`` it names filled in (a trace record's detail)."""
        return _fill(self.text, fields)

    def __repr__(self) -> str:
        return f"{type(self).__name__}.{self.name}"


class DropReason(Reason):
    """Why a packet was not delivered (one ``drop`` record per packet copy)."""

    # malformed input, in the order simtcp.wire.decode checks it
    TRUNCATED = "truncated", "truncated"
    NOT_IPV4 = "not_ipv4", "not IPv4"
    BAD_IP_HEADER_LENGTH = "bad_ip_header_length", "bad IP header length"
    BAD_IP_TOTAL_LENGTH = "bad_ip_total_length", "bad IP total length"
    BAD_IP_CHECKSUM = "bad_ip_checksum", "bad IP checksum", "ip"
    NOT_TCP = "not_tcp", "not TCP"
    IP_FRAGMENT = "ip_fragment", "IP fragment"
    BAD_TCP_DATA_OFFSET = "bad_tcp_data_offset", "bad TCP data offset", "tcp"
    BAD_TCP_CHECKSUM = "bad_tcp_checksum", "bad TCP checksum", "tcp", "checksum"
    # routing and links
    NO_ROUTE = "no_route", "no route to host"
    LINK_LOSS = "link_loss", "link loss"
    QUEUE_FULL = "queue_full", "queue full"
    LOST_ON_PURPOSE = "lost_on_purpose", "lost on purpose"
    MIDDLEBOX = "middlebox", "dropped by a middlebox"
    RATE_LIMIT = "rate_limit", "rate limit"
    FIREWALL = "firewall", "dropped by a firewall rule"
    # the network layer (simtcp.node, simtcp.icmp, simtcp.hooks)
    BAD_UDP_LENGTH = "bad_udp_length", "bad UDP length"
    BAD_UDP_CHECKSUM = "bad_udp_checksum", "bad UDP checksum"
    BAD_ICMP_CHECKSUM = "bad_icmp_checksum", "bad ICMP checksum"
    TTL_EXCEEDED = "ttl_exceeded", "TTL exceeded"
    HOST_UNREACHABLE = "host_unreachable", "host unreachable (no ARP reply)"
    FRAG_NEEDED = "frag_needed", "fragmentation needed"
    FRAG_NOT_MODELLED = "frag_not_modelled", "needs fragmentation (not modelled)"
    HOOK = "hook", "dropped by a hook"
    REJECTED = "rejected", "rejected (an error was sent back)"
    FIREWALL_REJECT = "firewall_reject", "rejected by a firewall rule"
    FIREWALL_TARPIT = "firewall_tarpit", "held in a tarpit by a firewall rule (TARPIT)"
    CONNTRACK_FULL = "conntrack_full", "conntrack table full (nf_conntrack_max)"
    NAT_CLASH = "nat_clash", "conntrack insert failed: NAT tuple already in use"
    NAT_NO_ADDRESS = "nat_no_address", "MASQUERADE/REDIRECT: no address on the interface"
    RCVBUF_FULL = "rcvbuf_full", "receive buffer full"

    @property
    def tcp_error(self) -> bool:
        """Counted in Tcp InErrs (Linux tcp_v4_rcv(): csum_error / bad_packet)."""
        return "tcp" in self.flags

    @property
    def checksum_error(self) -> bool:
        """Counted in Tcp InCsumErrors (Linux tcp_v4_rcv(): csum_error)."""
        return "checksum" in self.flags


class SendCause(Reason):
    """Why a packet was sent. ``retransmission`` marks what Linux counts in RetransSegs
    (tcp_retransmit_skb(), tcp_rtx_synack())."""

    # opening
    ACTIVE_OPEN = "active_open", "active open"
    SYN_RETRANSMISSION = "syn_retransmission", "SYN retransmission", "retrans"
    SYNACK = "synack", "SYN received on a listening socket"
    SYNACK_RETRANSMISSION = "synack_retransmission", "SYN,ACK retransmission", "retrans"
    DUPLICATE_SYN = "duplicate_syn", "duplicate SYN: retransmit SYN,ACK", "retrans"
    SIMULTANEOUS_OPEN = "simultaneous_open", "simultaneous open"
    SYN_COOKIE = "syn_cookie", "SYN cookie"
    HANDSHAKE_ACK = "handshake_ack", "handshake completes"
    # data, FIN and their retransmissions
    DATA = "data", "data"
    FIN = "fin", "FIN"
    RETRANSMISSION = "retransmission", "retransmission", "retrans"
    FAST_RETRANSMIT = "fast_retransmit", "fast retransmit (3 duplicate ACKs)", "retrans"
    FAST_RETRANSMIT_PARTIAL = ("fast_retransmit_partial", "fast retransmit (partial ACK)",
                               "retrans")
    TAIL_LOSS_PROBE = "tail_loss_probe", "retransmission (tail loss probe)", "retrans"
    ZERO_WINDOW_PROBE = "zero_window_probe", "zero-window probe"
    RACK_RETRANSMIT = ("rack_retransmit", "retransmission of a segment RACK marked lost",
                       "retrans")
    KEEPALIVE_PROBE = "keepalive_probe", "keepalive probe"
    # acknowledgments
    ACK_DATA = "ack_data", "ACK data"
    DELAYED_ACK = "delayed_ack", "delayed ACK"
    ACK_OF_FIN = "ack_of_fin", "ACK of FIN"
    WINDOW_UPDATE = "window_update", "window update"
    DUPLICATE_DATA = "duplicate_data", "duplicate data", "dupack"
    DSACK = "dsack", "duplicate data: D-SACK", "dupack"
    OUT_OF_ORDER = "out_of_order", "out-of-order data: duplicate ACK", "dupack"
    UNACCEPTABLE = "unacceptable", "unacceptable segment"
    ACK_UNSENT = "ack_unsent", "challenge ACK: ACK for data not yet sent"
    CHALLENGE_ACK_RST = "challenge_ack_rst", "challenge ACK for in-window RST"
    CHALLENGE_ACK_SYN = "challenge_ack_syn", "challenge ACK for SYN"
    TIME_WAIT_SYN = "time_wait_syn", "SYN in TIME-WAIT: ACK"
    TIME_WAIT_FIN = "time_wait_fin", "retransmitted FIN in TIME-WAIT: ACK, restart 2MSL"
    TIME_WAIT_OUT_OF_WINDOW = ("time_wait_out_of_window",
                               "out-of-window segment in TIME-WAIT: ACK")
    # resets
    UNACCEPTABLE_ACK_SYN_SENT = "unacceptable_ack_syn_sent", "unacceptable ACK in SYN-SENT"
    UNACCEPTABLE_ACK_SYN_RECEIVED = ("unacceptable_ack_syn_received",
                                     "unacceptable ACK in SYN-RECEIVED")
    NO_SOCKET_RESET = "no_socket_reset", "no socket: reset"
    SYN_IN_SYN_RECEIVED_RESET = "syn_in_syn_received_reset", "SYN in SYN-RECEIVED: reset"
    LISTENER_ACK_RESET = "listener_ack_reset", "ACK to a listener: reset"
    ACCEPT_QUEUE_RESET = "accept_queue_reset", "accept queue full: reset"
    # not from a stack
    INJECTED = "injected", "injected"
    PEER = "peer", "sent by peer"
    RAW = "raw", "raw socket (a tool built this packet)"
    SYN_FLOOD = "syn_flood", "SYN flood"
    FORWARDED = "forwarded", "forwarded"
    REWRITTEN = "rewritten", "rewritten by a hook"
    DUPLICATED = "duplicated", "copied by a middlebox"
    MIDDLEBOX_CHANGED = "middlebox_changed", "changed by a middlebox"
    ICMP_ERROR = "icmp_error", "ICMP error"
    ECHO_REPLY = "echo_reply", "echo reply"
    TRACEROUTE_PROBE = "traceroute_probe", "traceroute probe, TTL {ttl}"
    REJECT_REPLY = "reject_reply", "reply sent by a hook (REJECT)"
    DATAGRAM = "datagram", "datagram"



class StateCause(Reason):
    """Why a connection changed state; an abort also sends its RST with this cause."""

    ABORT = "abort", "abort"
    PASSIVE_OPEN = "passive_open", "passive OPEN, backlog {backlog}"
    LISTENER_CLOSE = "listener_close", "close() on the listener"
    LISTENER_SHUTDOWN = "listener_shutdown", "shutdown() on the listener: no longer listening"
    COOKIE_ACK = "cookie_ack", "valid SYN cookie in ACK"
    COOKIE_ESTABLISHED = "cookie_established", "ACK carried a valid SYN cookie"
    CLOSE_BEFORE_HANDSHAKE = "close_before_handshake", "close() before the handshake completed"
    CLOSE_UNREAD = "close_unread", "close() with unread data"
    CLOSE_LINGER_ZERO = "close_linger_zero", "close() with SO_LINGER 0: abort"
    DATA_AFTER_CLOSE = "data_after_close", "data received after close()"
    REFUSED = "refused", "connection refused (RST)"
    RESET_BY_PEER = "reset_by_peer", "connection reset by peer (RST)"
    RST_IN_SYN_RECEIVED = "rst_in_syn_received", "RST in SYN-RECEIVED: back to LISTEN"
    SYN_IN_SYN_RECEIVED = "syn_in_syn_received", "new SYN in SYN-RECEIVED: request reset"
    ACK_OF_OUR_FIN = "ack_of_our_fin", "ACK of our FIN"
    TIME_WAIT_EXPIRED = "time_wait_expired", "2MSL timer expired"
    FIN_WAIT_2_TIMEOUT = "fin_wait_2_timeout", "tcp_fin_timeout expired in FIN-WAIT-2"
    TIMED_OUT = "timed_out", "connection timed out"
    PERSIST_TIMED_OUT = "persist_timed_out", "connection timed out (persist timer)"
    KEEPALIVE_TIMED_OUT = "keepalive_timed_out", "connection timed out (keepalive)"
    TIME_WAIT_NEW_SYN = "time_wait_new_syn", "new SYN reuses the TIME-WAIT 4-tuple"
    TIME_WAIT_REUSED = "time_wait_reused", "TIME-WAIT reused by connect() (tcp_tw_reuse)"
    LISTENER_CLOSED = "listener_closed", "listener closed before accept()"
    ACCEPT_QUEUE_ABORT = "accept_queue_abort", "accept queue full (tcp_abort_on_overflow=1)"
    ICMP_ABORT = "icmp_abort", "aborted by an ICMP error"
    REQUEST_DROPPED = "request_dropped", "request dropped after an ICMP error"


class EventKind(Reason):
    """The ``what`` of ``event`` records (numbers they carry are in the record's detail)."""

    RTO = "rto", "retransmission timeout: retry {retry}, next RTO {next_rto:g} s"
    GIVE_UP = "give_up", "give up"
    SYN_FLOOD_WARNING = "syn_flood_warning", "Possible SYN flooding on port {port}. Sending cookies."
    SYN_DROPPED = "syn_dropped", "SYN dropped"
    ACCEPT_QUEUE_RESET = "accept_queue_reset", "accept queue full: reset"
    ACCEPT_QUEUE_IGNORED = "accept_queue_ignored", "accept queue full: ACK ignored"
    COOKIE_FAILED = "cookie_failed", "SYN cookie check failed"
    SACK_RENEGING = "sack_reneging", "SACK reneging: retransmission timeout in {delay:g} s"
    OFO_PRUNED = "ofo_pruned", "out-of-order queue pruned: {bytes} bytes dropped"
    RCVBUF_GROWN = "rcvbuf_grown", "receive buffer autotuned to {rcvbuf} bytes"
    RCVBUF_COLLAPSED = "rcvbuf_collapsed", "receive queue collapsed to {rmem} bytes of memory"
    RCVBUF_DROPPED = "rcvbuf_dropped", "no receive memory: {bytes} bytes dropped, zero window"
    # why an event happened (its ``reason``)
    SYN_QUEUE_FULL = "syn_queue_full", "SYN queue full"
    ACCEPT_QUEUE_FULL = "accept_queue_full", "accept queue full"
    SYN_BACKLOG_RESERVED = "syn_backlog_reserved", "tcp_max_syn_backlog: last quarter reserved"
    ABORT_ON_OVERFLOW = "abort_on_overflow", "tcp_abort_on_overflow=1"
    NO_ABORT_ON_OVERFLOW = "no_abort_on_overflow", "tcp_abort_on_overflow=0"
    BAD_COOKIE = "bad_cookie", "forged or stale cookie"
    RETRIES_EXHAUSTED = "retries_exhausted", "no answer after the last retransmission"
    RETRIES2_EXHAUSTED = "retries2_exhausted", "tcp_retries2 exhausted"
    PROBES_UNANSWERED = "probes_unanswered", "{probes} zero-window probes unanswered"
    KEEPALIVE_UNANSWERED = "keepalive_unanswered", "{probes} keepalive probes unanswered"
    REWRITE = "rewrite", "rewritten by a hook"
    SOFT_ERROR = "soft_error", "ICMP error recorded; the connection goes on"
    PMTU_NOT_MODELLED = "pmtu_not_modelled", "fragmentation needed: path MTU discovery is not modelled"
    TAIL_LOSS_PROBE = "tail_loss_probe", "tail loss probe"
    HYSTART_EXIT = "hystart_exit", "HyStart: slow start ends at cwnd {cwnd} ({how})"
    RACK_LOSS = ("rack_loss", "RACK: {segments} segment(s) lost (sent before a delivered "
                 "one, older than RACK.rtt + reordering window)")
    NO_ACK_FOR_PTO = "no_ack_for_pto", "no ACK within the probe timeout (2 SRTT)"
    CWND_RESTART = "cwnd_restart", "cwnd restart after idle"
    IDLE_LONGER_THAN_RTO = "idle_longer_than_rto", "idle for more than an RTO"
    NETFILTER = "netfilter", "netfilter decision"

    @property
    def discards_packet(self) -> bool:
        """The event means the packet it names was ignored (a ladder marks it)."""
        return self in (EventKind.SYN_DROPPED, EventKind.ACCEPT_QUEUE_IGNORED)


class DemuxRule(Reason):
    """Which lookup rule took an arriving segment (``demux`` records; RFC 9293 §3.10.7)."""

    ESTABLISHED = "established", "4-tuple match"
    ESTABLISHED_TABLE = "established_table", "established table: {state}"
    LISTENER = "listener", "listener {listener[0]}:{listener[1]}"
    NO_SOCKET = "no_socket", "no socket"
    # the rule's reason
    SPECIFIC_ADDRESS = "specific_address", "specific address"
    WILDCARD_ADDRESS = "wildcard_address", "wildcard address"
    TIME_WAIT_REPLACED = "time_wait_replaced", "TIME-WAIT replaced by a new connection"
    REPLY_RST = "reply_rst", "reply with RST"
    NO_RST_FOR_RST = "no_rst_for_rst", "no RST for a RST"
    ICMP_MATCH = "icmp_match", "ICMP error for this connection"
    ICMP_NO_SOCKET = "icmp_no_socket", "ICMP error: no socket"
    UDP_SOCKET = "udp_socket", "UDP socket {socket[0]}:{socket[1]}"
    REPLY_PORT_UNREACHABLE = "reply_port_unreachable", "reply with ICMP port unreachable"


def as_reason(value, family: type = DropReason) -> Optional[Reason]:
    """``value`` as a member of ``family``: a member passes, a machine name converts
    (``"link_loss"``), anything else raises ValueError listing the choices."""
    if isinstance(value, family):
        return value
    try:
        return family(value)
    except ValueError:
        names = ", ".join(f"{family.__name__}.{m.name}" for m in family)
        raise ValueError(f"{value!r} is not a {family.__name__}; use one of {names}") from None
