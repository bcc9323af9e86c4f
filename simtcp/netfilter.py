"""Netfilter on a node: conntrack, the nat table and the filter table at the hook points.

Theory of operation
-------------------
`NodeNetfilter` plugs the sans-IO pieces — `simtcp.conntrack`, `simtcp.nat`, the rule
engine `simtcp.iptables` — into a node's hook points (`simtcp.hooks`) with Linux's
priorities (include/uapi/linux/netfilter_ipv4.h)::

    PREROUTING   conntrack -200 → DNAT (nat PREROUTING) -100
    INPUT        filter INPUT 0 → SNAT (nat INPUT) +100 → conntrack confirm INT_MAX
    FORWARD      filter FORWARD 0
    OUTPUT       conntrack -200 → DNAT (nat OUTPUT) -100 → filter OUTPUT 0
    POSTROUTING  SNAT (nat POSTROUTING) +100 → conntrack confirm INT_MAX

The hooks are registered the first time the node's iptables is used, so a node without
rules pays nothing. A packet's conntrack entry, found at the first hook, is remembered for
the rest of its (synchronous) traversal of the node — the kernel keeps it in ``skb->_nfct``.
The nat table is consulted only for the first packet of a flow (``nf_nat_inet_fn``: ctinfo
NEW, manip not yet set up); a flow that no rule translates gets the null binding, which
still makes its source port unique. ICMP errors about a translated flow (RELATED) get their
outer header and their quoted packet translated (``nf_nat_icmp_reply_translation``).

REJECT answers as ipt_REJECT does: an ICMP destination-unreachable built like any ICMP error
of the node (`simtcp.icmp.build_error`), or for ``tcp-reset`` a RST made by
``nf_send_reset`` (nf_reject_ipv4.c): ports swapped, SEQ = the segment's ACK if it had one,
else ACK = its SEQ + SYN + FIN + payload, window 0, TTL 64, ID 0, DF, attached to the
packet's conntrack entry so NAT translates it back.

Every filter/nat decision is a trace record (kind ``event``, what ``netfilter``) naming the
table, chain and rule that decided and every rule the packet was tested against — the
source of the "which rule did this packet hit" picture.
"""
from __future__ import annotations

import struct
from dataclasses import dataclass
from typing import TYPE_CHECKING, Dict, List, Optional, Tuple

from .conntrack import ORIGINAL, REPLY, Conn, ConntrackTable, CtTuple, CtVerdict
from .fwmatch import CtState, PacketView
from .fwtarget import NatKind, RejectWith
from .hooks import ACCEPT, Drop, HookPoint, PRIORITY, Replace, Reply
from .iptables import IptablesError, Netfilter, RuleVerdict, Verdict
from .nat import MANIP_DST, MANIP_SRC, nat_range_for, setup_nat, translate
from .packet import Datagram, IcmpMessage, Packet, total_length
from .reasons import DropReason, EventKind
from .segment import Flags, Segment
from .seq import MASK

if TYPE_CHECKING:  # pragma: no cover
    from .hooks import HookContext

__all__ = ["NodeNetfilter", "NetfilterCommands"]

_PRE, _IN, _FWD, _OUT, _POST = (HookPoint.PREROUTING, HookPoint.INPUT, HookPoint.FORWARD,
                                HookPoint.OUTPUT, HookPoint.POSTROUTING)
_ICMP_ERRORS = frozenset((3, 4, 5, 11, 12))
TABLE_FULL_TEXT = "nf_conntrack: nf_conntrack: table full, dropping packet"


@dataclass
class _Current:
    """The conntrack view of the packet being traversed (skb->_nfct)."""

    key: Optional[CtTuple]
    conn: Optional[Conn]
    direction: int
    state: Optional[CtState]
    related: bool = False
    packet: object = None          # the packet object this was computed for


def packet_tuple(p: Packet) -> Optional[CtTuple]:
    """The conntrack tuple of a packet (None: a protocol conntrack does not track here)."""
    payload = p.payload
    kind = type(payload)
    if kind is Segment or kind is Datagram:
        return CtTuple(p.proto, p.src, payload.sport, p.dst, payload.dport)
    if kind is IcmpMessage:
        return CtTuple(1, p.src, payload.rest >> 16, p.dst, payload.type << 8 | payload.code)
    return None


def packet_view(p: Packet, in_iface, out_iface, state: Optional[CtState]) -> PacketView:
    payload = p.payload
    kind = type(payload)
    if kind is Segment:
        return PacketView(p.src, p.dst, 6, payload.sport, payload.dport, int(payload.flags),
                          None, None, in_iface, out_iface, state, total_length(p), p.tos,
                          p.ttl, p.ident, p.df, payload.window, payload.urgptr)
    if kind is Datagram:
        return PacketView(p.src, p.dst, 17, payload.sport, payload.dport, 0, None, None,
                          in_iface, out_iface, state, total_length(p), p.tos, p.ttl, p.ident,
                          p.df)
    if kind is IcmpMessage:
        return PacketView(p.src, p.dst, 1, None, None, 0, payload.type, payload.code,
                          in_iface, out_iface, state, total_length(p), p.tos, p.ttl, p.ident,
                          p.df)
    return PacketView(p.src, p.dst, p.proto, None, None, 0, None, None, in_iface, out_iface,
                      state, total_length(p), p.tos, p.ttl, p.ident, p.df)


def _rewrite(p: Packet, manip: str, ip: str, port: int) -> Packet:
    """The packet with its source (SRC) or destination (DST) address and port replaced."""
    payload = p.payload
    kind = type(payload)
    if kind is Segment or kind is Datagram:
        payload = payload._replace(**({"sport": port} if manip == MANIP_SRC else
                                      {"dport": port}))
    elif kind is IcmpMessage and payload.type not in _ICMP_ERRORS:
        payload = payload._replace(rest=(port << 16) | (payload.rest & 0xFFFF))
    if manip == MANIP_SRC:
        return p.replace(src=ip, payload=payload, proto=p.proto)
    return p.replace(dst=ip, payload=payload, proto=p.proto)


def _checksum(data: bytes) -> int:
    if len(data) % 2:
        data += b"\0"
    s = sum(struct.unpack(f"!{len(data) // 2}H", data))
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _csum_replace(check: int, old: bytes, new: bytes) -> int:
    """RFC 1624 incremental update: HC' = ~(~HC + ~m + m')."""
    s = ~check & 0xFFFF
    for i in range(0, len(old), 2):
        s += (~int.from_bytes(old[i:i + 2], "big")) & 0xFFFF
        s += int.from_bytes(new[i:i + 2], "big")
    while s >> 16:
        s = (s & 0xFFFF) + (s >> 16)
    return ~s & 0xFFFF


def _rewrite_quote(quote: bytes, manip: str, ip: str, port: int) -> bytes:
    """Translate the packet quoted in an ICMP error (nf_nat_ipv4_manip_pkt on the inner
    header): its address, port, IP header checksum and the transport checksum (pseudo-header
    and port), when the quote holds them."""
    q = bytearray(quote)
    ihl = (q[0] & 0x0F) * 4
    off = 12 if manip == MANIP_SRC else 16
    old_ip, new_ip = bytes(q[off:off + 4]), bytes(int(x) for x in ip.split("."))
    q[off:off + 4] = new_ip
    q[10:12] = b"\0\0"
    q[10:12] = _checksum(bytes(q[:ihl])).to_bytes(2, "big")
    proto = q[9]
    poff = ihl + (0 if manip == MANIP_SRC else 2)
    if proto in (6, 17) and len(q) >= poff + 2:
        old_port = bytes(q[poff:poff + 2])
        new_port = port.to_bytes(2, "big")
        q[poff:poff + 2] = new_port
        coff = ihl + (16 if proto == 6 else 6)
        if len(q) >= coff + 2:
            check = int.from_bytes(q[coff:coff + 2], "big")
            if not (proto == 17 and check == 0):          # UDP: 0 = no checksum
                check = _csum_replace(check, old_ip + old_port, new_ip + new_port)
                q[coff:coff + 2] = check.to_bytes(2, "big")
    return bytes(q)


class NodeNetfilter:
    """Netfilter of one node (see the module docstring): ``rules`` (the iptables tables),
    ``conntrack`` (the connection table)."""

    def __init__(self, node) -> None:
        self.node = node
        self.rules = Netfilter()
        self.conntrack = ConntrackTable(getattr(node, "sysctl", None))
        self.conntrack.nat_secret = node.net.rng.getrandbits(32)
        self._cur = _Current(None, None, ORIGINAL, None)
        self._attached: Dict[int, Tuple[Conn, int]] = {}
        # packets looped back through lo, with the conntrack view they left with
        self._looped: Dict[int, Tuple[Packet, _Current]] = {}
        self._installed = False
        self._nat_installed = False
        self._table_full_log: List[float] = []

    # ------------------------------------------------------------------ setup
    def install(self) -> None:
        """Register the hooks: conntrack and filter on first use, the nat hooks once the
        nat table has been changed (as iptable_nat registers its hooks when loaded)."""
        add = self.node.hooks.add
        if not self._installed:
            self._installed = True
            add(_PRE, self._ct_in, PRIORITY["conntrack"], "conntrack")
            add(_OUT, self._ct_in, PRIORITY["conntrack"], "conntrack")
            add(_IN, self._filter, PRIORITY["filter"], "filter INPUT")
            add(_FWD, self._filter, PRIORITY["filter"], "filter FORWARD")
            add(_OUT, self._filter, PRIORITY["filter"], "filter OUTPUT")
            add(_IN, self._confirm, PRIORITY["conntrack_confirm"], "conntrack confirm")
            add(_POST, self._confirm, PRIORITY["conntrack_confirm"], "conntrack confirm")
        if not self._nat_installed and self.rules.tables["nat"].touched:
            self._nat_installed = True
            add(_PRE, self._dnat, PRIORITY["dnat"], "nat PREROUTING")
            add(_OUT, self._dnat, PRIORITY["dnat"], "nat OUTPUT")
            add(_IN, self._snat, PRIORITY["snat"], "nat INPUT")
            add(_POST, self._snat, PRIORITY["snat"], "nat POSTROUTING")

    # ------------------------------------------------------------------ helpers
    def _current(self, ctx: "HookContext") -> _Current:
        cur = self._cur
        if cur.packet is ctx.packet:
            return cur
        key = packet_tuple(ctx.packet)
        if cur.key == key:
            cur.packet = ctx.packet
            return cur
        hit = self.conntrack.lookup(key) if key is not None else None
        if hit is None:
            return _Current(key, None, ORIGINAL, CtState.INVALID)
        conn, direction = hit
        state = CtState.ESTABLISHED if (direction == REPLY or conn.seen_reply) else \
            CtState.NEW
        return _Current(key, conn, direction, state)

    def _trace(self, ctx: "HookContext", v: RuleVerdict) -> None:
        net = self.node.net
        if not net.trace.enabled:
            return
        where = "policy" if v.rulenum is None else f"rule {v.rulenum}"
        walk = tuple((s.chain, s.rulenum, s.matched, s.target) for s in v.walk)
        net.trace.record(
            net.now, "event", self.node.name, ctx.packet, ctx.pkt_id, what=EventKind.NETFILTER,
            reason=f"{v.table} {v.chain} {where}: {v.verdict.value}",
            rfc="Linux net/ipv4/netfilter/ip_tables.c ipt_do_table()",
            detail=(("table", v.table), ("hook", ctx.point.name), ("chain", v.chain),
                    ("rule", v.rulenum), ("verdict", v.verdict.value), ("walk", walk)))

    def _view(self, ctx: "HookContext", cur: _Current) -> PacketView:
        return packet_view(ctx.packet, ctx.in_iface, ctx.out_iface, cur.state)

    # ------------------------------------------------------------------ conntrack
    def _ct_in(self, ctx: "HookContext"):
        """nf_conntrack_in (priority -200)."""
        p = ctx.packet
        if self._looped:
            looped = self._looped.pop(id(p), None)
            if looped is not None and looped[0] is p:
                # back in from lo: the skb still carries the entry OUTPUT gave it, and
                # nf_conntrack_in() leaves a packet that has one alone
                cur = looped[1]
                self._cur = _Current(cur.key, cur.conn, cur.direction, cur.state,
                                     related=cur.related, packet=p)
                return ACCEPT
        seg = p.payload
        if type(seg) is Segment and not self._attached:          # the common case, fast
            key = CtTuple(6, p.src, seg.sport, p.dst, seg.dport)
            conn, direction, state, refusal = self.conntrack.track(key, int(seg.flags), ctx.now)
            if refusal is None:
                self._cur = _Current(key, conn, direction, state, packet=p)
                return ACCEPT
            self._log_table_full(ctx.now)
            self._cur = _Current(None, None, ORIGINAL, None)
            return Drop(DropReason.CONNTRACK_FULL)
        attached = self._attached.pop(id(p), None)
        self._attached.clear()       # a generated reply goes through OUTPUT at once, or never
        key = packet_tuple(p)
        if attached is not None:                    # nf_ct_attach: a reply we generated
            conn, direction = attached
            if key is not None and key.proto == 1:  # an ICMP error: RELATED, NAT'd as one
                self._cur = _Current(key, conn, direction, CtState.RELATED, related=True,
                                     packet=p)
            else:
                self._cur = _Current(key, conn, direction, CtState.ESTABLISHED)
            return ACCEPT
        if key is None:
            self._cur = _Current(None, None, ORIGINAL, CtState.UNTRACKED)
            return ACCEPT
        if key.proto == 1 and (key.dport >> 8) in _ICMP_ERRORS:
            quoted = p.payload.quoted()
            hit = None
            if quoted is not None and quoted.sport is not None:
                inner = CtTuple(quoted.proto, quoted.src, quoted.sport, quoted.dst,
                                quoted.dport)
                hit = self.conntrack.related(inner)
            if hit is None:
                self._cur = _Current(key, None, ORIGINAL, CtState.INVALID)
            else:
                self._cur = _Current(key, hit[0], hit[1], CtState.RELATED, related=True)
            return ACCEPT
        flags = int(p.payload.flags) if key.proto == 6 else 0
        conn, direction, state, refusal = self.conntrack.track(key, flags, ctx.now)
        if refusal is CtVerdict.TABLE_FULL:
            self._log_table_full(ctx.now)
            self._cur = _Current(None, None, ORIGINAL, None)
            return Drop(DropReason.CONNTRACK_FULL)
        self._cur = _Current(key, conn, direction, state, packet=p)
        return ACCEPT

    def _log_table_full(self, now: float) -> None:
        """net_warn_ratelimited: at most 10 messages per 5 s (net.core.message_burst,
        message_cost)."""
        recent = [t for t in self._table_full_log if t > now - 5.0]
        if len(recent) < 10:
            recent.append(now)
            self.rules.log_kernel(now, 4, TABLE_FULL_TEXT)
        self._table_full_log = recent

    def _confirm(self, ctx: "HookContext"):
        cur = self._current(ctx)
        if ctx.out_iface == "lo" and cur.conn is not None:
            self._looped[id(ctx.packet)] = (ctx.packet, cur)     # see _ct_in
        conn = cur.conn
        # __nf_conntrack_confirm(): only a packet in the original direction confirms; a
        # REJECT reply carrying the entry by nf_ct_attach (reply direction) never does
        if conn is None or conn.confirmed or cur.direction != ORIGINAL:
            return ACCEPT
        if self.conntrack.confirm(conn, ctx.now) is CtVerdict.INSERT_FAILED:
            return Drop(DropReason.NAT_CLASH)
        return ACCEPT

    # ------------------------------------------------------------------ nat
    def _nat_address(self, ctx: "HookContext", kind: NatKind) -> Optional[str]:
        ifaces = self.node.interfaces
        if kind is NatKind.MASQUERADE:
            iface = ifaces.get(ctx.out_iface) if ctx.out_iface else None
            return iface.ip if iface is not None else None
        if kind is NatKind.REDIRECT:
            if ctx.point is _OUT:
                return "127.0.0.1"
            iface = ifaces.get(ctx.in_iface) if ctx.in_iface else None
            return iface.ip if iface is not None else None
        return None

    def _nat(self, ctx: "HookContext", manip: str):
        cur = self._current(ctx)
        conn = cur.conn
        if conn is None:
            return ACCEPT
        if cur.related:
            return self._nat_icmp(ctx, cur, manip)
        if not conn.confirmed and manip not in conn.nat_done:
            rng = None
            v = self.rules.traverse("nat", ctx.point.name, self._view(ctx, cur), ctx.now,
                                    record=self.node.net.trace.enabled)
            self._trace(ctx, v)
            if v.verdict is Verdict.DROP:
                return Drop(DropReason.FIREWALL)
            if v.verdict is Verdict.NAT:
                addr = self._nat_address(ctx, v.target.kind)
                if v.target.kind in (NatKind.MASQUERADE, NatKind.REDIRECT) and addr is None:
                    return Drop(DropReason.NAT_NO_ADDRESS)
                rng = nat_range_for(v.target, addr)
                conn.nat_rule = (v.table, v.chain, v.rulenum)
            setup_nat(self.conntrack, conn, manip, rng, self.node.net.rng)
        target = translate(conn, cur.direction, manip)
        if target is None:
            return ACCEPT
        new = _rewrite(ctx.packet, manip, *target)
        if new == ctx.packet:        # already translated (a looped-back packet's 2nd pass)
            return ACCEPT
        self._cur = _Current(packet_tuple(new), conn, cur.direction, cur.state, packet=new)
        return Replace(new)

    def _dnat(self, ctx):
        return self._nat(ctx, MANIP_DST)

    def _snat(self, ctx):
        return self._nat(ctx, MANIP_SRC)

    def _nat_icmp(self, ctx: "HookContext", cur: _Current, manip: str):
        """nf_nat_icmp_reply_translation: translate the quoted packet with the other
        direction's tuple (opposite manip) and the outer header to match."""
        conn, d = cur.conn, cur.direction
        if d == ORIGINAL:
            applies = conn.src_nat if manip == MANIP_SRC else conn.dst_nat
        else:
            applies = conn.dst_nat if manip == MANIP_SRC else conn.src_nat
        if not applies:
            return ACCEPT
        other = conn.reply if d == ORIGINAL else conn.orig        # tuplehash[!dir]
        inner_manip = MANIP_DST if manip == MANIP_SRC else MANIP_SRC
        inner_ip, inner_port = ((other.src, other.sport) if inner_manip == MANIP_SRC
                                else (other.dst, other.dport))
        p = ctx.packet
        m = p.payload
        quote = _rewrite_quote(m.quote, inner_manip, inner_ip, inner_port)
        outer = other.inverse()
        ip = outer.src if manip == MANIP_SRC else outer.dst
        new = p.replace(payload=m._replace(quote=quote), proto=1,
                        **({"src": ip} if manip == MANIP_SRC else {"dst": ip}))
        self._cur = _Current(packet_tuple(new), conn, d, cur.state, related=True)
        return Replace(new)

    # ------------------------------------------------------------------ filter
    def _filter(self, ctx: "HookContext"):
        t = self.rules.tables["filter"]
        chain = t.chains[ctx.point.name]
        if not chain.rules and chain.policy == "ACCEPT":     # nothing to walk: count it
            chain.policy_counters[0] += 1
            chain.policy_counters[1] += total_length(ctx.packet)
            return ACCEPT
        cur = self._current(ctx)
        record = self.node.net.trace.enabled
        v = self.rules.traverse("filter", ctx.point.name,
                                packet_view(ctx.packet, ctx.in_iface, ctx.out_iface,
                                            cur.state), ctx.now, record)
        if record:
            self._trace(ctx, v)
        if v.verdict is Verdict.ACCEPT:
            return ACCEPT
        if v.verdict is Verdict.DROP:
            return Drop(DropReason.FIREWALL)
        if v.verdict is Verdict.TARPIT:
            return Reply(self._tarpit(ctx, cur), DropReason.FIREWALL_TARPIT)
        return Reply(self._reject(ctx, cur, v.target.with_), DropReason.FIREWALL_REJECT)

    def _tarpit(self, ctx: "HookContext", cur: _Current) -> tuple:
        """xtables-addons xt_TARPIT.c tarpit_tcp4() + xttarpit_tarpit(): see
        `simtcp.fwtarget.TarpitTarget`. 20-byte header, no options, DF, IP ID 0, TTL from the
        route (64), attached to the packet's conntrack entry (nf_ct_attach)."""
        p = ctx.packet
        seg = p.payload
        if type(seg) is not Segment:
            return ()
        f = seg.flags
        if f & (Flags.RST | Flags.FIN) or not f & (Flags.SYN | Flags.ACK):
            return ()                               # "No replies for RST, FIN or !SYN,!ACK"
        seq = seg.ack if f & Flags.ACK else 0
        if f & Flags.SYN and f & Flags.ACK:
            out = Segment(seg.dport, seg.sport, seq, 0, Flags.RST, 0)
        elif f & Flags.SYN:
            out = Segment(seg.dport, seg.sport, seq, (seg.seq + 1) & MASK, Flags.SYN | Flags.ACK, 5)
        else:
            out = Segment(seg.dport, seg.sport, seq, seg.seq, Flags.ACK, 0)
        reply = Packet(p.dst, p.src, out, ttl=64, ident=0, df=True)
        if cur.conn is not None:
            self._attached[id(reply)] = (cur.conn, REPLY if cur.direction == ORIGINAL
                                         else ORIGINAL)
        return (reply,)

    def _reject(self, ctx: "HookContext", cur: _Current, with_: RejectWith) -> tuple:
        p = ctx.packet
        if with_ is RejectWith.TCP_RESET:
            seg = p.payload
            if type(seg) is not Segment or seg.flags & Flags.RST:
                return ()
            if seg.flags & Flags.ACK:
                rst = Segment(seg.dport, seg.sport, seg.ack, 0, Flags.RST, 0)
            else:
                ack = (seg.seq + seg.seg_len) & MASK
                rst = Segment(seg.dport, seg.sport, 0, ack, Flags.RST | Flags.ACK, 0)
            reply = Packet(p.dst, p.src, rst, ttl=64, ident=0, df=True)
            if cur.conn is not None:
                self._attached[id(reply)] = (cur.conn, REPLY if cur.direction == ORIGINAL
                                             else ORIGINAL)
            return (reply,)
        from .icmp import build_error
        err = build_error(self.node, p, *with_.icmp)
        if err is None:
            return ()
        if cur.conn is not None:
            # net/ipv4/icmp.c icmp_glue_bits(): an ICMP error gets the offending packet's
            # conntrack entry attached (nf_ct_attach), even an unconfirmed one, so NAT
            # translates its quote back (nf_nat_icmp_reply_translation): a client whose SYN
            # was DNAT'd and then rejected in FORWARD sees its own connection quoted and
            # gets ECONNREFUSED (checked against the kernel in a netns)
            self._attached[id(err)] = (cur.conn, REPLY if cur.direction == ORIGINAL
                                       else ORIGINAL)
        return (err,)


class NetfilterCommands:
    """What a node offers for netfilter (mixed into nodes): the real commands."""

    @property
    def netfilter(self) -> NodeNetfilter:
        nf = self.__dict__.get("_netfilter")
        if nf is None:
            nf = self.__dict__["_netfilter"] = NodeNetfilter(self)
        return nf

    def iptables(self, command: str = "-L") -> str:
        """Run ``iptables COMMAND`` on this node (``host.iptables("-A INPUT -p tcp --dport
        22 -j ACCEPT")``); returns what it prints, raises `simtcp.iptables.IptablesError`
        with iptables' message. The first use turns netfilter on for the node."""
        self._linux_only("iptables")
        nf = self.netfilter
        out = nf.rules.iptables(command)
        nf.install()
        return out

    def _linux_only(self, tool: str) -> None:
        os_name = getattr(getattr(self, "sysctl", None), "os", "linux")
        if os_name != "linux":
            raise IptablesError(f"simtcp: {tool} is Linux's netfilter; {self.name} runs "
                                f"{os_name}, whose firewall is not modelled", 127)

    def iptables_save(self, counters: bool = False) -> str:
        return self.netfilter.rules.save(counters=counters)

    def iptables_restore(self, text: str, noflush: bool = False) -> None:
        self._linux_only("iptables-restore")
        nf = self.netfilter
        nf.rules.restore(text, noflush=noflush)
        nf.install()

    def conntrack(self, command: str = "-L") -> str:
        """``conntrack -L`` (the only command modelled)."""
        if command.split() != ["-L"]:
            raise ValueError(f"simtcp: conntrack {command!r} is not modelled (only -L is)")
        nf = self.netfilter
        nf.conntrack.expire(self.net.now)
        return nf.conntrack.listing(self.net.now)

    def dmesg(self) -> str:
        """The kernel log (``-j LOG`` lines, conntrack warnings) as ``dmesg`` prints it."""
        return self.netfilter.rules.dmesg()

    @property
    def kernel_log(self):
        return self.netfilter.rules.kernel_log
