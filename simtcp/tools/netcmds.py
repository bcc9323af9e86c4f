"""The network-layer shell commands: ``ip addr``, ``ip route`` and ``traceroute``.

Theory of operation: thin layers over the node's API. ``ip`` (iproute2 6.1) parses its
object and command words — abbreviations as iproute2's ``matches()`` accepts them (``ip a``,
``ip r``, ``ip ro``) — and calls `Node.ip_addr` / `Node.ip_route` / `Node.route`;
``traceroute`` (traceroute 2.1.2, the Debian default) parses its flags and calls
`simtcp.tools.traceroute.traceroute`. Errors and exit statuses are the real tools': ip's
"Object ... is unknown" (1) and "Command ... is unknown" (255), traceroute's "Bad option"
(2). A host name is looked up among the network's nodes, as /etc/hosts would.
"""
from __future__ import annotations

from importlib import resources
from typing import List, Optional

from ..shell import Output

def _matches(word: str, full: str) -> bool:
    """iproute2 utils.c matches(): a non-empty prefix of the full word."""
    return 0 < len(word) <= len(full) and full.startswith(word)


def _ip_object(word: str) -> Optional[str]:
    # ip.c: the command table is searched in order, so "a" is address and "r" is route
    for name in ("address", "addrlabel", "maddress", "route", "rule", "neighbour", "ntable",
                 "link", "l2tp", "fou", "ila", "macsec", "tunnel", "tuntap", "token",
                 "tcpmetrics", "monitor", "xfrm", "mroute", "mrule", "netns", "netconf",
                 "vrf", "sr", "nexthop", "mptcp", "ioam", "stats", "help"):
        if _matches(word, name):
            return name
    return None


def ip(host, args: List[str], stdin=None) -> Output:
    """``ip [-4] [-br] addr [show [dev] IF]``, ``ip route [show|add|del|get ...]``."""
    brief = False
    while args and args[0].startswith("-"):
        opt = args[0]
        if _matches(opt, "-brief") or opt == "-br":
            brief = True
        elif opt not in ("-4", "-family=inet"):
            if opt in ("-6", "-s", "-d", "-j", "-p", "-c", "-o", "-n", "-h", "-V", "-a"):
                return Output(f"simtcp: ip {opt} is not modelled (-4 and -br are)", 255)
            return Output(f'Option "{opt}" is unknown, try "ip -help".', 255)
        args = args[1:]
    if not args:
        return Output("simtcp: `ip` without an object prints its help text, which is not "
                      "reproduced; try ip addr or ip route", 255)
    obj = _ip_object(args[0])
    if obj is None:
        return Output(f'Object "{args[0]}" is unknown, try "ip help".', 1)
    rest = args[1:]
    if obj == "address":
        return _ip_addr(host, rest, brief)
    if obj == "route":
        return _ip_route(host, rest)
    return Output(f"simtcp: ip {obj} is not modelled (ip addr and ip route are)", 255)


def _ip_addr(host, rest: List[str], brief: bool) -> Output:
    if rest and any(_matches(rest[0], w) for w in ("show", "list", "lst")):
        rest = rest[1:]
    elif rest and rest[0] in ("add", "del", "delete", "flush", "change", "replace", "save",
                              "restore", "showdump"):
        return Output(f"simtcp: ip address {rest[0]} is not modelled (addresses are given "
                      "to net.add_host / add_router)", 255)
    if rest and rest[0] == "dev":
        rest = rest[1:]
        if not rest:
            return Output('Command line is not complete. Try option "help"', 255)
    dev = None
    if rest:
        if len(rest) > 1:
            return Output(f'Error: either "dev" is duplicate, or "{rest[1]}" is a garbage.',
                          255)
        dev = rest[0]
        if dev != "lo" and dev not in host.interfaces:
            # ipaddress.c: ll_name_to_index() fails
            return Output(f'Device "{dev}" does not exist.', 1)
    return Output(host.ip_addr(dev=dev, brief=brief), 0)


def _ip_route(host, rest: List[str]) -> Output:
    if not rest or any(_matches(rest[0], w) for w in ("show", "list")):
        return Output(host.ip_route(), 0)
    verb = rest[0]
    if _matches(verb, "get"):
        if len(rest) < 2:
            return Output("need at least a destination address", 1)
        return _ip_route_get(host, rest[1])
    if verb in ("add", "del", "delete"):
        try:
            return Output(host.ip_route(*rest), 0)
        except ValueError as e:
            return Output(f"Error: {e}", 2)
    if verb in ("flush", "change", "replace", "append", "save", "restore", "showdump"):
        return Output(f"simtcp: ip route {verb} is not modelled (show, get, add and del "
                      "are)", 255)
    return Output(f'Command "{verb}" is unknown, try "ip route help".', 255)


def _ip_route_get(host, dst: str) -> Output:
    """``ip route get ADDR``: the route the kernel would use (fib lookup), as iproute2
    prints it, with the ``cache`` line of a route without cached exceptions."""
    from ..node import check_ip
    try:
        dst = check_ip(_lookup(host, dst))
    except ValueError:
        return Output(f'Error: any valid prefix is expected rather than "{dst}".', 1)
    hit = host.route(dst)
    if hit is None:
        return Output("RTNETLINK answers: Network is unreachable", 2)
    if hit.iface == "lo":
        return Output(f"local {dst} dev lo src {dst} uid 0 \n    cache <local> ", 0)
    via = f" via {hit.via}" if hit.via else ""
    return Output(f"{dst}{via} dev {hit.iface} src {hit.src} uid 0 \n    cache ", 0)


def _lookup(host, name: str) -> str:
    node = host.net.nodes.get(name)
    return node.ip if node is not None else name


# ---------------------------------------------------------------------------- traceroute
def _usage(name: str) -> str:
    return resources.files("simtcp").joinpath(f"data/usage/{name}.txt").read_text().rstrip()


_TR_VALUE = {"-m": "max_hops", "-q": "queries", "-w": "wait", "-f": "first_ttl",
             "-p": "port"}
_TR_LONG = {"--max-hops": "-m", "--queries": "-q", "--wait": "-w", "--first": "-f",
            "--port": "-p"}
_TR_ARG_NAMES = {"-m": "max_ttl", "-q": "nqueries", "-w": "MAX,HERE,NEAR",
                 "-f": "first_ttl", "-p": "port"}
_TR_NOT_MODELLED = set("46dFIreAUDVNtlgisz") | {"--icmp", "--udp", "--dccp", "--mtu",
                                               "--back", "--sport", "--fwmark"}


def traceroute(host, args: List[str], stdin=None) -> Output:
    """``traceroute [-n] [-T] [-m max_ttl] [-q nqueries] [-w wait] [-f first_ttl]
    [-p port] host``."""
    if not args:
        return Output(_usage("traceroute"), 0)
    numeric, kw, target = False, {}, None
    i = 0
    while i < len(args):
        a = args[i]
        if "=" in a and a.split("=", 1)[0] in _TR_LONG:
            key, val = a.split("=", 1)
            args = args[:i] + [_TR_LONG[key], val] + args[i + 1:]
            a = args[i]
        if a[:2] in _TR_VALUE and len(a) > 2 and not a.startswith("--"):
            args = args[:i] + [a[:2], a[2:]] + args[i + 1:]      # -q1 is -q 1
            a = args[i]
        if a in ("-n",):
            numeric = True
        elif a in ("-T", "--tcp"):
            kw["method"] = "tcp"
        elif a in _TR_VALUE:
            if i + 1 >= len(args):
                return Output(f"Option `{a}' (argc {i + 1}) requires an argument: "
                              f"`{a} {_TR_ARG_NAMES[a]}'", 2)
            val = args[i + 1]
            try:
                kw[_TR_VALUE[a]] = float(val.split(",")[0]) if a == "-w" else int(val)
            except ValueError:
                return Output(f"Cannot handle `{a}' option with arg `{val}' (argc {i + 1})",
                              2)
            i += 1
        elif a.startswith("-") and len(a) > 1:
            flag = a if a.startswith("--") else a[1]
            if flag in _TR_NOT_MODELLED:
                return Output(f"simtcp: traceroute {a} is not modelled (-n, -T, -m, -q, -w, "
                              "-f and -p are)", 2)
            return Output(f"Bad option `{a}' (argc {i + 1})", 2)
        elif target is None:
            target = a
        else:
            return Output(f"simtcp: traceroute's packetlen argument ({a}) is not modelled",
                          2)
        i += 1
    if target is None:
        return Output(_usage("traceroute"), 0)
    if "max_hops" in kw and not 1 <= kw["max_hops"] <= 255:
        return Output("max hops cannot be more than 255" if kw["max_hops"] > 255
                      else "first hop out of range", 2)
    if not 1 <= kw.get("first_ttl", 1) <= kw.get("max_hops", 30):
        return Output("first hop out of range", 2)
    if "queries" in kw and not 1 <= kw["queries"] <= 10:
        return Output("no more than 10 probes per hop", 2)
    dst = _lookup(host, target)
    from ..node import check_ip
    try:
        check_ip(dst)
    except ValueError:
        return Output(f"{target}: Temporary failure in name resolution\nCannot handle "
                      f"\"host\" cmdline arg `{target}' on position 1 (argc {len(args)})", 2)
    if host.source_for(dst) is None:
        return Output("connect: Network is unreachable", 1)
    result = host.traceroute(dst, **kw)
    header = result.header.replace(f"traceroute to {dst} ({dst})",
                                   f"traceroute to {target} ({dst})", 1)
    names = {ip_: n.name for n in host.net.nodes.values() for ip_ in n.ips}
    namer = None if numeric else (lambda a: f"{names.get(a, a)} ({a})")
    return Output("\n".join([header] + [h.text(namer) for h in result.hops]), 0)
