"""The firewall's shell commands: ``iptables``, ``iptables-save`` and ``conntrack``.

Theory of operation: each command is a thin layer over the node's netfilter API
(`simtcp.netfilter.NetfilterCommands`): ``iptables`` hands its argument vector to
``host.iptables()`` (which already speaks iptables 1.8.9's command line and errors, see
`simtcp.iptables`); ``iptables-save`` prints `RulesetViews.save`; ``conntrack`` lists the
node's `ConntrackTable`. What is added here is only the command line of the tools and their
texts — the usage errors, the stderr summary lines ("N flow entries have been shown.") and
the exit statuses — taken from iptables 1.8.9 and conntrack-tools 1.4.7 on Debian 12 (the
real tools' sources: iptables/iptables-save.c, conntrack-tools src/conntrack.c). A terminal
shows stdout and stderr together, so the `Output` holds both, stdout first.
"""
from __future__ import annotations

from typing import Callable, List, Optional

from ..iptables import IptablesError
from ..shell import Output

IPTABLES_VERSION = "iptables v1.8.9 (nf_tables)"
CONNTRACK = "conntrack v1.4.7 (conntrack-tools)"
_CT_TRY = "Try `conntrack -h' or 'conntrack --help' for more information."
_PROTOS = {"tcp": 6, "udp": 17, "icmp": 1}


def _joined(stdout: str, stderr: str) -> str:
    stdout = stdout.rstrip("\n")
    return f"{stdout}\n{stderr}" if stdout else stderr


# ------------------------------------------------------------------------------ iptables
def iptables(host, args: List[str], stdin=None) -> Output:
    """``iptables ARGS``: ``host.iptables(args)``; a refused command prints iptables' error
    and exits with its status (2 bad command line, 1 ruleset error, 4 kernel refused)."""
    if args and args[0] in ("-V", "--version"):
        return Output(IPTABLES_VERSION, 0)
    if any(a in ("-h", "--help") for a in args):
        return Output("simtcp: iptables -h (the long help text) is not reproduced; see "
                      "`man iptables`", 2)
    try:
        return Output(host.iptables(list(args)).rstrip("\n"), 0)
    except IptablesError as e:
        return Output(str(e), e.status)


def iptables_save(host, args: List[str], stdin=None) -> Output:
    """``iptables-save [-c] [-t TABLE]`` (iptables/iptables-save.c, nft variant)."""
    counters, table = False, None
    i = 0
    while i < len(args):
        a = args[i]
        if a in ("-c", "--counters"):
            counters = True
        elif a in ("-t", "--table") or (a.startswith("-t") and len(a) > 2):
            if a in ("-t", "--table"):
                if i + 1 >= len(args):
                    return Output("iptables-save: option requires an argument -- 't'\n"
                                  "Look at manual page `iptables-save.8' for more "
                                  "information.", 1)
                i += 1
                table = args[i]
            else:
                table = a[2:]
            if table in ("mangle", "raw", "security"):
                return Output(f"simtcp: table '{table}' is not modelled (filter and nat "
                              "are)", 1)
            if table not in ("filter", "nat"):
                return Output(f"Table `{table}' does not exist", 1)
        elif a.startswith("--") or (a.startswith("-") and len(a) > 1):
            opt = a if a.startswith("--") else a[1]
            text = (f"iptables-save: unrecognized option '{a}'" if a.startswith("--")
                    else f"iptables-save: invalid option -- '{opt}'")
            return Output(text + "\nLook at manual page `iptables-save.8' for more "
                          "information.", 1)
        else:
            return Output("Unknown arguments found on commandline", 1)
        i += 1
    nf = host.netfilter.rules
    nf.now = max(nf.now, host.net.now)       # the header's date: now, in virtual time
    if table is not None:
        nf.tables[table].touched = True      # -t prints the table even if never changed
    return Output(nf.save(counters=counters, table=table).rstrip("\n"), 0)


# ----------------------------------------------------------------------------- conntrack
def _ct_error(text: str) -> Output:
    return Output(f"{CONNTRACK}: {text}\n{_CT_TRY}", 2)


_CT_COMMANDS = {"-L": "list", "--dump": "list", "-C": "count", "--count": "count",
                "-F": "flush", "--flush": "flush", "-V": "version", "--version": "version"}
_CT_NOT_MODELLED = {"-G", "--get", "-D", "--delete", "-I", "--create", "-U", "--update",
                    "-E", "--event", "-S", "--stats", "-h", "--help", "-R", "--load-file"}
_CT_ADDRESS = {"-s": "src", "--src": "src", "--orig-src": "src", "-d": "dst",
               "--dst": "dst", "--orig-dst": "dst", "-r": "rsrc", "--reply-src": "rsrc",
               "-q": "rdst", "--reply-dst": "rdst"}
_CT_PORTS = {"--sport": "sport", "--orig-port-src": "sport", "--dport": "dport",
             "--orig-port-dst": "dport", "--reply-port-src": "rsport",
             "--reply-port-dst": "rdport"}


def _ct_address(text: str) -> Optional[str]:
    """conntrack parses addresses with inet_aton (so ``10.1`` is 10.0.0.1)."""
    import socket
    try:
        return socket.inet_ntoa(socket.inet_aton(text))
    except OSError:
        return None


def conntrack(host, args: List[str], stdin=None) -> Output:
    """``conntrack -L [-p tcp|udp|icmp [--sport N] [--dport N]] [-s ADDR] [-d ADDR]
    [-o extended]``, ``conntrack -C``, ``conntrack -F``, ``conntrack -V`` (see module doc)."""
    if not args:
        return Output("simtcp: conntrack without a command prints its help text, which is "
                      "not reproduced; try conntrack -L", 0)
    command: Optional[str] = None
    filters: dict = {}
    proto: Optional[str] = None
    extended = False
    i = 0
    while i < len(args):
        a = args[i]

        def value() -> Optional[str]:
            return args[i + 1] if i + 1 < len(args) else None
        if a in _CT_COMMANDS or a in _CT_NOT_MODELLED:
            if command is not None:
                return _ct_error("Invalid commands combination")
            if a in _CT_NOT_MODELLED:
                return Output(f"simtcp: conntrack {a} is not modelled (-L, -C, -F and -V "
                              "are)", 2)
            command = _CT_COMMANDS[a]
            if command == "list" and value() is not None and not value().startswith("-"):
                if value() != "conntrack":
                    if value() in ("expect", "dying", "unconfirmed"):
                        return Output(f"simtcp: conntrack -L {value()} is not modelled (only "
                                      "the conntrack table is)", 2)
                    return _ct_error(f"unknown type `{value()}'")
                i += 1
        elif a in ("-p", "--proto", "-o", "--output") or a in _CT_ADDRESS or a in _CT_PORTS:
            v = value()
            if v is None:
                return _ct_error(f"option `{a}' requires an argument")
            if a in ("-p", "--proto"):
                if v.lower() not in _PROTOS:
                    known = v.isdigit() or v.lower() in ("sctp", "dccp", "udplite", "gre",
                                                          "icmpv6")
                    return (Output(f"simtcp: conntrack -p {v} is not modelled (tcp, udp and "
                                   "icmp are)", 2) if known
                            else _ct_error(f"`{v}' unsupported protocol"))
                proto = v.lower()
            elif a in ("-o", "--output"):
                for kind in v.split(","):
                    if kind not in ("extended", "xml", "timestamp", "id", "ktimestamp",
                                    "labels", "userspace"):
                        return _ct_error(f"Bad parameter `{v}'")
                    if kind != "extended":
                        return Output(f"simtcp: conntrack -o {kind} is not modelled (-o "
                                      "extended is)", 2)
                extended = True
            elif a in _CT_PORTS:
                if proto not in ("tcp", "udp"):
                    return _ct_error(f"unknown option `{a}'")
                if not v.isdigit() or int(v) > 65535:
                    return _ct_error(f"Bad parameter `{v}'")
                filters[_CT_PORTS[a]] = int(v)
            else:
                addr = _ct_address(v)
                if addr is None:
                    return _ct_error(f"Bad parameter `{v}'")
                filters[_CT_ADDRESS[a]] = addr
            i += 1
        elif a.startswith("-"):
            return _ct_error(f"unknown option `{a}'")
        else:
            return _ct_error(f"Bad parameter `{a}'")
        i += 1
    if command is None:
        return _ct_error("no command specified")
    if command == "version":
        return Output(CONNTRACK, 0)
    nf = host.netfilter
    now = host.net.now
    nf.conntrack.expire(now)
    if command == "count":
        return Output(str(len(list(nf.conntrack.entries()))), 0)
    if command == "flush":
        for conn in list(nf.conntrack.entries()):
            nf.conntrack.kill(conn)
        return Output(f"{CONNTRACK}: connection tracking table has been emptied.", 0)
    select = _ct_select(_PROTOS.get(proto), filters)
    text = nf.conntrack.listing(now, select)
    lines = [line for line in text.splitlines() if line]
    if extended:                               # -o extended: the layer-3 family first
        lines = [f"ipv4     2 {line}" for line in lines]
    return Output(_joined("\n".join(lines),
                          f"{CONNTRACK}: {len(lines)} flow entries have been shown."), 0)


def _ct_select(proto: Optional[int], f: dict) -> Callable:
    def keep(conn) -> bool:
        o, r = conn.orig, conn.reply
        return ((proto is None or o.proto == proto)
                and f.get("src", o.src) == o.src and f.get("dst", o.dst) == o.dst
                and f.get("rsrc", r.src) == r.src and f.get("rdst", r.dst) == r.dst
                and f.get("sport", o.sport) == o.sport and f.get("dport", o.dport) == o.dport
                and f.get("rsport", r.sport) == r.sport
                and f.get("rdport", r.dport) == r.dport)
    return keep


__all__ = ["iptables", "iptables_save", "conntrack"]
