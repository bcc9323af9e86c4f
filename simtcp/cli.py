"""Command lines of ss, netstat and lsof, parsed the way the real tools parse them.

Theory of operation: a view accepts what people type — ``host.ss("-tuln")``,
``host.ss("-tan", "state", "established")``, ``host.netstat("-tulnp")``,
``host.lsof("-i", ":22")`` or one string ``"lsof -i tcp:80"`` — and turns it into typed
options here. Short flags may be bundled (``-tuln``), an option's argument may be attached
or separate (``-iTCP`` / ``-i TCP``), as getopt(3) allows. Every flag either has its real
effect or is refused: an option the real tool does not know raises `UsageError` with the
message that tool prints (``ss: invalid option -- 'X'``), and an option the real tool
knows but simtcp does not model raises `UsageError` saying so. Nothing is ignored.

The parsers follow iproute2 misc/ss.c (main(): getopt_long, then the filter: ``state`` /
``exclude`` words and an expression over ``sport``/``dport``/``src``/``dst``), net-tools
netstat.c (main(): getopt_long) and lsof's main.c / enter_i() (``-i
[46][protocol][@host][:port]``).
"""
from __future__ import annotations

import shlex
from dataclasses import dataclass, field
from typing import Callable, FrozenSet, List, Optional, Sequence, Tuple

__all__ = ["UsageError", "split_args", "SsOptions", "parse_ss", "NetstatOptions",
           "parse_netstat", "LsofOptions", "LsofInet", "parse_lsof"]


class UsageError(ValueError):
    """A command line the tool refuses; ``str()`` is the tool's own message and
    ``status`` its exit status."""

    def __init__(self, message: str, status: int = 1):
        super().__init__(message)
        self.status = status


def split_args(tool: str, args: Sequence[str]) -> List[str]:
    """Argument vector from ``("-tan", "state", "established")`` or one command line
    string (``"ss -tan state established"``; the program name is optional)."""
    out: List[str] = []
    for a in args:
        if not isinstance(a, str):
            raise TypeError(f"{tool} arguments are strings, not {type(a).__name__} ({a!r})")
        out += shlex.split(a) if (" " in a.strip() or len(args) == 1) else [a]
    if out and out[0] == tool:
        out = out[1:]
    return out


def _getopt(tool: str, argv: List[str], short: str, long: dict, invalid: Callable[[str], str],
            unrecognized: Callable[[str], str], stop_at_operand: bool = True):
    """A small getopt_long: yields (option, argument) pairs and returns the operands.
    ``short`` is a getopt string ("tuf:"), ``long`` maps a long name to (short, takes_arg)."""
    opts: List[Tuple[str, Optional[str]]] = []
    i = 0
    while i < len(argv):
        a = argv[i]
        if a == "--":
            i += 1
            break
        if a.startswith("--"):
            name, eq, val = a[2:].partition("=")
            if name not in long:
                raise UsageError(unrecognized(a))
            letter, takes = long[name]
            if takes and not eq:
                i += 1
                if i >= len(argv):
                    raise UsageError(f"{tool}: option '--{name}' requires an argument")
                val = argv[i]
            opts.append((letter, val if takes else None))
            i += 1
            continue
        if a.startswith("-") and len(a) > 1:
            j = 1
            while j < len(a):
                c = a[j]
                k = short.find(c)
                if k < 0 or c == ":":
                    raise UsageError(invalid(c))
                if short[k + 1:k + 2] == ":":
                    val = a[j + 1:]
                    if not val:
                        i += 1
                        if i >= len(argv):
                            raise UsageError(f"{tool}: option requires an argument -- '{c}'")
                        val = argv[i]
                    opts.append((c, val))
                    break
                opts.append((c, None))
                j += 1
            i += 1
            continue
        if stop_at_operand:
            break
        i += 1
    return opts, argv[i:]


def _not_modelled(tool: str, flag: str, what: str) -> UsageError:
    return UsageError(f"{tool}: {flag} ({what}) is not modelled by simtcp")


# ----------------------------------------------------------------------------- ss
_SS_SHORT = "hVnraloempTisEZzN:46Mtu0SdwxbKHOA:D:F:f:"
_SS_LONG = {"help": ("h", False), "version": ("V", False), "numeric": ("n", False),
            "resolve": ("r", False), "all": ("a", False), "listening": ("l", False),
            "options": ("o", False), "extended": ("e", False), "memory": ("m", False),
            "processes": ("p", False), "threads": ("T", False), "info": ("i", False),
            "summary": ("s", False), "events": ("E", False), "context": ("Z", False),
            "contexts": ("z", False), "net": ("N", True), "ipv4": ("4", False),
            "ipv6": ("6", False), "mptcp": ("M", False), "tcp": ("t", False),
            "udp": ("u", False), "packet": ("0", False), "sctp": ("S", False),
            "dccp": ("d", False), "raw": ("w", False), "unix": ("x", False),
            "bpf": ("b", False), "kill": ("K", False), "no-header": ("H", False),
            "oneline": ("O", False), "query": ("A", True), "socket": ("A", True),
            "diag": ("D", True), "filter": ("F", True), "family": ("f", True)}
_SS_UNMODELLED = {"h": "help", "V": "version", "r": "resolve host names: simtcp has no "
                  "reverse DNS", "e": "extended information",
                  "m": "socket memory", "T": "threads",
                  "s": "summary", "E": "events", "Z": "SELinux context",
                  "z": "SELinux contexts", "N": "network namespaces", "6": "IPv6",
                  "M": "MPTCP", "0": "packet sockets", "S": "SCTP", "d": "DCCP",
                  "w": "raw sockets", "x": "UNIX sockets", "b": "BPF filters",
                  "K": "killing sockets", "O": "one-line output", "A": "socket queries",
                  "D": "diag dumps", "F": "filter files", "f": "families"}


@dataclass
class SsOptions:
    protocols: Tuple[str, ...] = ("tcp", "udp")
    all: bool = False
    listening: bool = False
    numeric: bool = False
    processes: bool = False
    info: bool = False                        # -i: TCP_INFO under each TCP socket
    options: bool = False                     # -o: the pending timer, timer:(on,200ms,0)
    header: bool = True
    states: Optional[FrozenSet] = None        # from state/exclude words
    match: Optional[Callable[[dict], bool]] = None
    expression: str = ""
    argv: List[str] = field(default_factory=list)


def parse_ss(args: Sequence[str]) -> SsOptions:
    """``ss [OPTIONS] [ state STATE ... ] [ exclude STATE ... ] [ EXPRESSION ]``."""
    argv = split_args("ss", args)
    try:
        return _parse_ss(argv)
    except UsageError as e:
        if e.status == 1 and not str(e).startswith("Error:"):
            e.status = 255               # ss exits 255 on a usage error (exit(-1))
        raise


def _parse_ss(argv: List[str]) -> SsOptions:
    from .tools.views import SS_STATE_WORDS, _ALL
    opts, rest = _getopt("ss", argv, _SS_SHORT, _SS_LONG,
                         lambda c: f"ss: invalid option -- '{c}'",
                         lambda a: f"ss: unrecognized option '{a}'")
    o = SsOptions(argv=argv)
    protos: List[str] = []
    for c, _val in opts:
        if c == "n":
            o.numeric = True
        elif c == "a":
            o.all = True
        elif c == "l":
            o.listening = True
        elif c == "p":
            o.processes = True
        elif c == "i":
            o.info = True
        elif c == "o":
            o.options = True
        elif c == "H":
            o.header = False
        elif c == "4":
            pass                 # simtcp's sockets are all IPv4: -4 keeps every one
        elif c in "tu":
            protos.append("tcp" if c == "t" else "udp")
        else:
            raise _not_modelled("ss", f"-{c}", _SS_UNMODELLED.get(c, "this option"))
    if protos:
        o.protocols = tuple(p for p in ("udp", "tcp") if p in protos)
    # the filter: state words first (ss.c main(): "state"/"exclude" loop), then an expression
    states = None
    i = 0
    while i < len(rest) and rest[i] in ("state", "exclude", "excl"):
        if i + 1 >= len(rest):
            raise UsageError('Command line is not complete. Try option "help"')
        word = rest[i + 1].lower()
        if word not in SS_STATE_WORDS:
            raise UsageError(f"ss: wrong state name: {rest[i + 1]}")
        if rest[i] == "state":
            states = (states or frozenset()) | SS_STATE_WORDS[word]
        else:
            states = (_ALL if states is None else states) - SS_STATE_WORDS[word]
        i += 2
    o.states = states
    expr = rest[i:]
    if expr:
        o.match = _SsExpr(expr).parse()
        o.expression = " ".join(expr)
    return o


_BISON = 'ss: bison bellows (while parsing filter): "syntax error!" Sorry.'
_OPS = {"=": "eq", "==": "eq", "eq": "eq", "!=": "ne", "ne": "ne", "neq": "ne",
        ">=": "ge", "ge": "ge", "geq": "ge", "<=": "le", "le": "le", "leq": "le",
        ">": "gt", "gt": "gt", "<": "lt", "lt": "lt"}


class _SsExpr:
    """misc/ssfilter.y, the parts that apply to simtcp's sockets: ``sport``/``dport``
    compared with a port, ``src``/``dst`` equal to an address[:port], joined by
    ``and``/``or``/``not`` (``&``, ``|``, ``!``) and parentheses."""

    def __init__(self, words: List[str]):
        toks: List[str] = []
        for w in words:
            w = w.replace("(", " ( ").replace(")", " ) ")
            toks += w.split()
        self.toks, self.i = toks, 0

    def _peek(self) -> Optional[str]:
        return self.toks[self.i] if self.i < len(self.toks) else None

    def _take(self) -> str:
        tok = self._peek()
        if tok is None:
            raise UsageError(_BISON)
        self.i += 1
        return tok

    def parse(self) -> Callable[[dict], bool]:
        f = self._or()
        if self._peek() is not None:
            raise UsageError(_BISON)
        return f

    def _or(self):
        left = self._and()
        while self._peek() in ("or", "|", "||"):
            self._take()
            right = self._and()
            left = (lambda a, b: lambda r: a(r) or b(r))(left, right)
        return left

    def _and(self):
        left = self._not()
        while self._peek() not in (None, ")", "or", "|", "||"):
            if self._peek() in ("and", "&", "&&"):
                self._take()
            right = self._not()
            left = (lambda a, b: lambda r: a(r) and b(r))(left, right)
        return left

    def _not(self):
        if self._peek() in ("not", "!"):
            self._take()
            inner = self._not()
            return lambda r: not inner(r)
        if self._peek() == "(":
            self._take()
            inner = self._or()
            if self._take() != ")":
                raise UsageError(_BISON)
            return inner
        return self._atom()

    def _atom(self):
        key = self._take()
        if key in ("sport", "dport"):
            op = "eq"
            if self._peek() in _OPS:
                op = _OPS[self._take()]
            port = _port_word(self._take())
            field_ = "local_port" if key == "sport" else "peer_port"
            cmp = {"eq": lambda a: a == port, "ne": lambda a: a != port,
                   "ge": lambda a: a >= port, "le": lambda a: a <= port,
                   "gt": lambda a: a > port, "lt": lambda a: a < port}[op]
            return lambda r: cmp(r[field_])
        if key in ("src", "dst"):
            if self._peek() in ("=", "==", "eq"):
                self._take()
            word = self._take()
            ip, colon, port = word.rpartition(":")
            if not colon:
                ip, port = word, ""
            side = "local" if key == "src" else "peer"
            want_port = _port_word(":" + port) if port and port != "*" else None
            want_ip = None if ip in ("", "*") else ip
            return lambda r: ((want_ip is None or r[side + "_ip"] == want_ip)
                              and (want_port is None or r[side + "_port"] == want_port))
        raise UsageError(_BISON)


def _port_word(word: str) -> int:
    w = word[1:] if word.startswith(":") else word
    if w.isdigit() and int(w) <= 65535:
        return int(w)
    from .ports import service_port
    try:
        return service_port(w)
    except (KeyError, TypeError):
        raise UsageError(f'Error: "{w}" does not look like a port.') from None


# ------------------------------------------------------------------------ netstat
_NETSTAT_SHORT = "A:CFMacdeghilnNoprsStuUvVWw2fx64"
_NETSTAT_LONG = {"protocol": ("A", True), "cache": ("C", False), "fib": ("F", False),
                 "masquerade": ("M", False), "all": ("a", False), "continuous": ("c", False),
                 "debug": ("d", False), "extend": ("e", False), "groups": ("g", False),
                 "help": ("h", False), "interfaces": ("i", False), "listening": ("l", False),
                 "numeric": ("n", False), "symbolic": ("N", False), "timers": ("o", False),
                 "programs": ("p", False), "route": ("r", False), "statistics": ("s", False),
                 "sctp": ("S", False), "tcp": ("t", False), "udp": ("u", False),
                 "udplite": ("U", False), "verbose": ("v", False), "version": ("V", False),
                 "wide": ("W", False), "raw": ("w", False), "unix": ("x", False),
                 "inet": ("4", False), "ipv4": ("4", False), "inet6": ("6", False),
                 "ipv6": ("6", False), "numeric-hosts": ("n", False),
                 "numeric-ports": ("n", False), "numeric-users": ("n", False)}
_NETSTAT_USAGE = ("netstat: invalid option -- '{c}'\n"
                  "usage: netstat [-vWeenNcCF] [<Af>] -r         netstat {{-V|--version|-h|--help}}\n"
                  "       netstat [-vWnNcaeol] [<Socket> ...]\n"
                  "       netstat {{ [-vWeenNac] -i | [-cnNe] -M | -s [-6tuw] }}")


@dataclass
class NetstatOptions:
    protocols: Tuple[str, ...] = ("tcp", "udp")
    all: bool = False
    listening: bool = False
    numeric: bool = False
    programs: bool = False
    wide: bool = False
    statistics: bool = False
    argv: List[str] = field(default_factory=list)


def parse_netstat(args: Sequence[str]) -> NetstatOptions:
    argv = split_args("netstat", args)
    try:
        return _parse_netstat(argv)
    except UsageError as e:
        if e.status == 1:
            e.status = 3                 # netstat's usage() exits with E_USAGE (3)
        raise


def _parse_netstat(argv: List[str]) -> NetstatOptions:
    opts, rest = _getopt("netstat", argv, _NETSTAT_SHORT, _NETSTAT_LONG,
                         lambda c: _NETSTAT_USAGE.format(c=c),
                         lambda a: f"netstat: unrecognized option '{a}'")
    if rest:
        raise _not_modelled("netstat", rest[0], "an operand; net-tools ignores it, simtcp "
                            "refuses it")
    o = NetstatOptions(argv=argv)
    protos: List[str] = []
    for c, _val in opts:
        if c == "a":
            o.all = True
        elif c == "l":
            o.listening = True
        elif c == "n":
            o.numeric = True
        elif c == "p":
            o.programs = True
        elif c == "W":
            o.wide = True
        elif c == "s":
            o.statistics = True
        elif c == "4":
            pass                 # every simtcp socket is IPv4
        elif c in "tu":
            protos.append("tcp" if c == "t" else "udp")
        else:
            raise _not_modelled("netstat", f"-{c}", "this option")
    if protos:
        o.protocols = tuple(p for p in ("tcp", "udp") if p in protos)
    return o


# --------------------------------------------------------------------------- lsof
@dataclass(frozen=True)
class LsofInet:
    """One ``-i`` selection: [46][protocol][@host][:port[,port|-range]...]."""

    protocol: Optional[str] = None        # "tcp", "udp" or None (both)
    host: Optional[str] = None
    ports: Optional[Tuple[Tuple[int, int], ...]] = None

    def matches(self, r: dict) -> bool:
        if self.protocol is not None and r.get("proto", "tcp") != self.protocol:
            return False
        if self.host is not None and self.host not in (r["local_ip"], r["peer_ip"]):
            return False
        if self.ports is not None and not any(
                lo <= p <= hi for lo, hi in self.ports for p in (r["local_port"], r["peer_port"])
                if p):
            return False
        return True


@dataclass
class LsofOptions:
    inet: Optional[List[LsofInet]] = None     # None: no -i given
    users: Optional[Tuple[str, ...]] = None
    and_: bool = False
    numeric_hosts: bool = False
    numeric_ports: bool = False
    terse: bool = False
    tcp_states: Optional[Tuple[FrozenSet[str], FrozenSet[str]]] = None   # (keep, drop)
    argv: List[str] = field(default_factory=list)


_LSOF_USAGE_TAIL = ("lsof 4.95.0\n latest revision: https://github.com/lsof-org/lsof")


def _lsof_error(msg: str) -> UsageError:
    return UsageError(msg, status=1)


def _parse_inet(spec: str) -> LsofInet:
    s = spec
    if s[:1] in ("4", "6"):
        if s[0] == "6":
            raise _not_modelled("lsof", "-i 6", "IPv6")
        s = s[1:]
    proto = None
    head = s
    for sep in ("@", ":"):
        head = head.split(sep, 1)[0]
    if head:
        if head.lower() not in ("tcp", "udp"):
            raise _lsof_error(f"lsof: unknown protocol name ({head}) in: -i {spec}")
        proto = head.lower()
    rest = s[len(head):]
    host = None
    if rest.startswith("@"):
        host, _, port = rest[1:].partition(":")
        rest = ":" + port if port else ""
    ports = None
    if rest.startswith(":"):
        ports = []
        for part in rest[1:].split(","):
            lo, dash, hi = part.partition("-")
            ports.append((_lsof_port(lo, spec), _lsof_port(hi, spec) if dash else
                          _lsof_port(lo, spec)))
        ports = tuple(ports)
    return LsofInet(proto, host or None, ports)


def _lsof_port(word: str, spec: str) -> int:
    if word.isdigit():
        return int(word)
    from .ports import service_port
    try:
        return service_port(word)
    except (KeyError, TypeError):
        raise _lsof_error(f"lsof: unknown service {word} in: -i {spec}") from None


_LSOF_KNOWN = set("?abhKlnNoOPRtUvVXcdDeEfFgiLmMopsSTuwx")


def parse_lsof(args: Sequence[str]) -> LsofOptions:
    """lsof's options that select or format network files: ``-i [spec]`` (repeatable; the
    selections are ORed), ``-u user[,user]``, ``-a`` (AND the selections), ``-n``, ``-P``,
    ``-t`` (PIDs only), ``-s PROTO:STATE[,STATE]`` (``-sTCP:LISTEN``, ``^`` excludes)."""
    argv = split_args("lsof", args)
    o = LsofOptions(argv=argv)
    i = 0
    while i < len(argv):
        a = argv[i]
        if not a.startswith("-") or len(a) < 2:
            raise _not_modelled("lsof", a, "file names")
        j = 1
        while j < len(a):
            c = a[j]
            if c not in _LSOF_KNOWN:
                raise _lsof_error(f"lsof: illegal option character: {c}")
            if c == "i":
                spec = a[j + 1:]
                if not spec and i + 1 < len(argv) and not argv[i + 1].startswith("-"):
                    i += 1
                    spec = argv[i]
                o.inet = (o.inet or []) + [_parse_inet(spec) if spec else LsofInet()]
                break
            if c in "us":
                val = a[j + 1:]
                if not val:
                    i += 1
                    if i >= len(argv):
                        raise _lsof_error(f"lsof: -{c} not followed by a specification")
                    val = argv[i]
                if c == "u":
                    o.users = (o.users or ()) + tuple(val.split(","))
                else:
                    o.tcp_states = _lsof_states(val)
                break
            if c == "a":
                o.and_ = True
            elif c == "n":
                o.numeric_hosts = True
            elif c == "P":
                o.numeric_ports = True
            elif c == "t":
                o.terse = True
            else:
                raise _not_modelled("lsof", f"-{c}", "this option")
            j += 1
        i += 1
    return o


def _lsof_states(spec: str):
    from .tools.views import NETSTAT_NAMES
    proto, colon, names = spec.partition(":")
    if not colon or proto.upper() not in ("TCP", "UDP"):
        raise _lsof_error(f"lsof: unknown protocol name ({proto}) in: -s {spec}")
    if proto.upper() == "UDP":
        raise _not_modelled("lsof", "-s UDP:", "UDP TPI states")
    keep, drop = set(), set()
    known = set(NETSTAT_NAMES.values())
    for n in names.split(","):
        target = drop if n.startswith("^") else keep
        n = n.lstrip("^").upper()
        if n not in known:
            raise _lsof_error(f"lsof: unknown TCP state name: {n}")
        target.add(n)
    return frozenset(keep), frozenset(drop)
