"""``dig``: a DNS lookup printed in the layout of dig 9.18 (BIND), over `simtcp.dns.resolve`.

Theory of operation: the command parses dig's arguments (``@server``, name, type, class,
``+short``, ``+tcp``, ``+time=``, ``+tries=``, ``-p``), asks `simtcp.dns.resolve` one try at a
time (dig prints a ";; communications error" line for each failed try, then "no servers could
be reached", exit status 9), and prints the answer message the way dig does: the header
and flags, the OPT pseudosection, the question and the answer/authority sections in BIND's
master-file columns (bin/dig/dighost.c, lib/dns/masterdump.c: TTL at column 24, class at
32, type at 40, data at 48, reached with tabs — or one space when a field already passed its
column), then the query time in *virtual* milliseconds, the server and transport, the date
(virtual time 0 is 2026-12-01 00:00:00 UTC, as in nmap's report) and the message size.
Without ``@server`` dig asks the host's ``nameserver`` attribute (its /etc/resolv.conf);
a host without one gets a message saying so.
"""
from __future__ import annotations

import os
from importlib import resources
from typing import List, Optional

from ..shell import Output, wall_clock

VERSION = "9.18.49-1~deb12u3-Debian"
_COLUMNS = (24, 32, 40, 48)          # masterdump.c dns_master_style_debug / dig's style


def _usage(bad: str) -> Output:
    text = resources.files("simtcp").joinpath("data/usage/dig.txt").read_text().rstrip()
    return Output(f"Invalid option: {bad}\n{text}", 1)


def _columns(fields: List[str], first_col: int = 0) -> str:
    """BIND's indent(): pad to each column with tabs (stops every 8); when the text already
    reaches the column, a single space."""
    out, cur = fields[0], len(fields[0])
    for text, col in zip(fields[1:], _COLUMNS[first_col:]):
        if cur >= col:
            out += " "
            cur += 1
        else:
            tabs = col // 8 - cur // 8
            out += "\t" * tabs
            cur = col
        out += text
        cur += len(text)
    return out


def _rdata(rr) -> str:
    from ..dns import TYPE_NAMES
    rtype = TYPE_NAMES.get(rr.type, str(rr.type))
    if rtype == "MX":
        return f"{rr.preference} {rr.exchange.decode()}"
    if rtype == "SOA":
        return (f"{rr.mname.decode()} {rr.rname.decode()} {rr.serial} {rr.refresh} "
                f"{rr.retry} {rr.expire} {rr.minimum}")
    if rtype == "TXT":
        return " ".join('"%s"' % (t.decode() if isinstance(t, bytes) else t)
                        for t in rr.rdata)
    return rr.rdata.decode() if isinstance(rr.rdata, bytes) else str(rr.rdata)


def _record(rr) -> str:
    from ..dns import TYPE_NAMES
    return _columns([rr.rrname.decode(), str(rr.ttl), "IN",
                     TYPE_NAMES.get(rr.type, str(rr.type)), _rdata(rr)])


def _records(section) -> List:
    """The records of a section (scapy >= 2.8 gives a list), without the OPT pseudo-RR."""
    return [rr for rr in (section or []) if rr.type != 41]


def render(res, argv_text: str, server_given: bool) -> str:
    """dig's full output for a `simtcp.dns.Resolution` (module docstring)."""
    from ..dns import RCODES, TYPE_NAMES
    m = res.reply
    flags = [name for name, on in (("qr", m.qr), ("aa", m.aa), ("tc", m.tc), ("rd", m.rd),
                                   ("ra", m.ra), ("ad", m.ad), ("cd", m.cd)) if on]
    opt = [rr for rr in (m.ar or []) if rr.type == 41]
    an, ns, ar_other = _records(m.an), _records(m.ns), _records(m.ar)
    lines = ["", f"; <<>> DiG {VERSION} <<>> {argv_text}"]
    if server_given:
        lines.append("; (1 server found)")
    lines += [";; global options: +cmd", ";; Got answer:",
              f";; ->>HEADER<<- opcode: QUERY, status: {RCODES.get(m.rcode, m.rcode)}, "
              f"id: {m.id}",
              f";; flags: {' '.join(flags)}; QUERY: {len(m.qd or [])}, ANSWER: {len(an)}, "
              f"AUTHORITY: {len(ns)}, ADDITIONAL: {len(ar_other) + len(opt)}"]
    if m.rd and not m.ra:
        lines.append(";; WARNING: recursion requested but not available")
    lines.append("")
    if opt:
        lines += [";; OPT PSEUDOSECTION:",
                  f"; EDNS: version: 0, flags:; udp: {opt[0].rclass}"]
    q = m.qd[0] if m.qd else None
    if q is not None:
        lines += [";; QUESTION SECTION:",
                  _columns([";" + q.qname.decode(), "IN",
                            TYPE_NAMES.get(q.qtype, str(q.qtype))], first_col=1)]
    for title, rrs in (("ANSWER", an), ("AUTHORITY", ns), ("ADDITIONAL", ar_other)):
        if rrs:
            lines += ["", f";; {title} SECTION:"] + [_record(rr) for rr in rrs]
    when = wall_clock(res.finished).strftime("%a %b %d %H:%M:%S UTC %Y")
    transport = res.transports[-1].upper()
    lines += ["", f";; Query time: {int((res.finished - res.started) * 1000)} msec",
              f";; SERVER: {res.server[0]}#{res.server[1]}({res.server[0]}) ({transport})",
              f";; WHEN: {when}", f";; MSG SIZE  rcvd: {res.size}", ""]
    return "\n".join(lines)


def dig(host, args: List[str], stdin=None) -> Output:
    """``dig [@server] [-p port] name [type] [IN] [+short] [+tcp] [+time=N] [+tries=N]``."""
    from ..dns import TYPES, resolve
    server: Optional[str] = None
    port, name, qtype = 53, None, None
    short = tcp = False
    timeout, tries = 5.0, 3
    i = 0
    while i < len(args):
        a = args[i]
        if a.startswith("@"):
            server = a[1:]
        elif a.startswith("+"):
            key, _, val = a[1:].partition("=")
            if key in ("short",):
                short = True
            elif key in ("tcp", "vc"):
                tcp = True
            elif key in ("notcp", "novc"):
                tcp = False
            elif key in ("time", "tries", "retry"):
                if not val.isdigit():
                    return Output(f"Invalid option: {a}\n;; Could not parse {key} value", 1) \
                        if not val else _usage(a)
                if key == "time":
                    timeout = float(max(1, int(val)))
                else:
                    tries = max(1, int(val) + (1 if key == "retry" else 0))
            elif key in ("trace", "dnssec", "nsid", "cookie", "nocookie", "norecurse",
                         "recurse", "noall", "answer", "stats", "nostats", "cmd", "nocmd",
                         "comments", "nocomments", "question", "noquestion", "edns",
                         "noedns", "bufsize", "ignore", "multiline", "search", "nssearch",
                         "identify", "ttlid", "nottlid", "besteffort", "fail", "yaml"):
                return Output(f"simtcp: dig +{key} is not modelled (+short, +tcp, +time and "
                              "+tries are)", 1)
            else:
                return _usage(a)
        elif a == "-p":
            given_port = args[i + 1] if i + 1 < len(args) else ""
            if not given_port.isdigit() or int(given_port) > 65535:
                return Output(f"dig: invalid port number '{given_port}'", 1)
            port = int(args[i + 1])
            i += 1
        elif a.startswith("-"):
            if a in ("-x", "-t", "-c", "-q", "-b", "-f", "-k", "-y", "-4", "-6", "-m", "-u",
                     "-r", "-i", "-v", "-h"):
                return Output(f"simtcp: dig {a} is not modelled (@server, -p, name, type, "
                              "+short, +tcp, +time, +tries are)", 1)
            return _usage(a)
        elif name is None:
            name = a
        elif a.upper() in TYPES and qtype is None:
            qtype = a.upper()
        elif a.upper() == "IN":
            pass
        else:
            return Output(f"simtcp: dig with several queries ({name}, {a}) or the type "
                          f"{a!r} is not modelled (types: {', '.join(TYPES)})", 1)
        i += 1
    if name is None:
        return Output("simtcp: dig without a name asks the root servers (NS .), which are "
                      "not modelled", 1)
    given = server is not None
    if server is None:
        server = getattr(host, "nameserver", None)
        if server is None:
            return Output(f"simtcp: {host.name} has no nameserver (its /etc/resolv.conf): "
                          f"give one with @server, or set {host.name}.nameserver = ADDRESS",
                          1)
    node = host.net.nodes.get(server)
    addr = node.ip if node is not None else server
    from ..node import check_ip
    try:
        check_ip(addr)
    except ValueError:
        return Output(f"dig: couldn't get address for '{server}': failure", 1)
    errors: List[str] = []
    res = None
    for _ in range(tries):
        try:
            res = resolve(host, name, (addr, port), qtype or "A", edns=1232, tcp=tcp,
                          timeout=timeout, tries=1)
            break
        except ConnectionRefusedError:
            errors.append(f";; communications error to {addr}#{port}: connection refused")
        except TimeoutError:
            errors.append(f";; communications error to {addr}#{port}: timed out")
        except OSError as e:            # no route: dighost.c "UDP setup ... failed"
            errors.append(f";; {'TCP' if tcp else 'UDP'} setup with {addr}#{port}({addr}) "
                          f"for {name} failed: {os.strerror(e.errno).lower()}.")
            break
    argv_text = " ".join(args)
    if res is None:
        head = ["", f"; <<>> DiG {VERSION} <<>> {argv_text}"]
        if given:
            head.append("; (1 server found)")
        head.append(";; global options: +cmd")
        return Output("\n".join(errors + ([] if short else head)
                                + [";; no servers could be reached"]), 9)
    if short:
        return Output("\n".join(_rdata(rr) for rr in _records(res.reply.an or [])), 0)
    return Output("\n".join(errors + [render(res, argv_text, given)]), 0)
