"""A shell on every host: the commands the port guide names, typed as on a real machine.

Theory of operation: ``host.sh("ss -tulnp")`` splits the line like a POSIX shell (shlex),
looks the program up in `COMMANDS` and calls it with the host and its argument vector. A
command is a thin layer over the Python API (which stays the primary interface): it parses
the real tool's flags, calls simtcp, and returns the text the real tool prints as an
`Output` — a `str` that also carries the exit status, like ``$?``. Unknown programs get
bash's "command not found" (status 127); a tool's unknown flag gets that tool's usage error.
Commands run in virtual time: ``nc -w 2`` or a connect() that times out advance ``net.now``.

`COMMANDS` maps a program name to "module:function"; modules are imported on first use, so
a tool's module can register itself without this file importing everything.
"""
from __future__ import annotations

import datetime
import importlib
import shlex
from typing import Callable, Dict, List, Optional, Union


class Output(str):
    """A command's text, plus its exit status (``.status``; 0 = success)."""

    status: int = 0

    def __new__(cls, text: str = "", status: int = 0) -> "Output":
        out = super().__new__(cls, text)
        out.status = status
        return out

    def __repr__(self) -> str:
        return str(self)            # a notebook cell shows the text as a terminal would

    def _repr_html_(self) -> str:
        import html
        return f"<pre>{html.escape(str(self))}</pre>"


Command = Callable[..., Union[str, Output]]

def wall_clock(t: float) -> datetime.datetime:
    """The date and time a command shows for virtual time ``t`` (seconds): nmap's "Starting
    Nmap … at", dig's "WHEN:" — from the epoch the logs use (`simtcp.logstamp.EPOCH`, UTC),
    so the same run prints the same dates."""
    from .logstamp import EPOCH
    return EPOCH.replace(tzinfo=datetime.timezone.utc) + datetime.timedelta(seconds=t)

COMMANDS: Dict[str, Union[str, Command]] = {
    "nc": "simtcp.tools.clients:nc",
    "netcat": "simtcp.tools.clients:nc",
    "telnet": "simtcp.tools.clients:telnet",
    "curl": "simtcp.tools.clients:curl",
    "nmap": "simtcp.tools.nmap:nmap",
    "knock": "simtcp.knockd:knock",
    "ss": "simtcp.shell:_view_ss",
    "netstat": "simtcp.shell:_view_netstat",
    "lsof": "simtcp.shell:_view_lsof",
    "sysctl": "simtcp.shell:_sysctl",
    "hostname": "simtcp.shell:_hostname",
    "echo": "simtcp.shell:_echo",
    "iptables": "simtcp.tools.fwcmds:iptables",
    "iptables-save": "simtcp.tools.fwcmds:iptables_save",
    "conntrack": "simtcp.tools.fwcmds:conntrack",
    "ip": "simtcp.tools.netcmds:ip",
    "traceroute": "simtcp.tools.netcmds:traceroute",
    "tcpdump": "simtcp.tools.tcpdump:tcpdump",
    "dig": "simtcp.tools.dig:dig",
}


def register(name: str, target: Union[str, Command]) -> None:
    """Add (or replace) a program: a callable ``fn(host, argv, stdin) -> str`` or its
    "module:function" path."""
    COMMANDS[name] = target


def _resolve(target: Union[str, Command]) -> Command:
    if callable(target):
        return target
    module, _, func = target.partition(":")
    return getattr(importlib.import_module(module), func)


def run(host, line: str, stdin: Optional[Union[str, bytes]] = None) -> Output:
    """Run one command line on ``host`` (see module docstring)."""
    if not isinstance(line, str):
        raise TypeError(f"a command line is a str, not {type(line).__name__}")
    try:
        argv = shlex.split(line, comments=True)
    except ValueError as e:                       # unbalanced quotes
        return Output(f"bash: syntax error: {e}", 2)
    if not argv:
        return Output("", 0)
    program, args = argv[0], argv[1:]
    target = COMMANDS.get(program)
    if target is None:
        return Output(f"bash: {program}: command not found", 127)
    result = _resolve(target)(host, args, stdin)
    return result if isinstance(result, Output) else Output(str(result), 0)


def run_script(host, text: str) -> List[Output]:
    """Several lines (a ``%%sim`` cell): each runs in turn; blank lines and # comments skip."""
    return [run(host, line) for line in text.splitlines() if line.strip()
            and not line.lstrip().startswith("#")]


# ------------------------------------------------------------ small built-in programs
def _view(method: str, host, args: List[str]) -> Output:
    from .cli import UsageError
    try:
        table = getattr(host, method)(*args)
    except UsageError as e:                     # the tool's own message and exit status
        return Output(str(e), e.status)
    except (ValueError, TypeError) as e:
        return Output(str(e), 1)
    return Output(str(table), getattr(table, "status", 0))


def _view_ss(host, args, stdin=None) -> Output:
    return _view("ss", host, args)


def _view_netstat(host, args, stdin=None) -> Output:
    from .cli import UsageError, parse_netstat
    try:
        opts = parse_netstat(args)
    except UsageError as e:
        return Output(str(e), e.status)
    if opts.statistics:
        return Output(host.netstat_s(), 0)
    return _view("netstat", host, args)


def _view_lsof(host, args, stdin=None) -> Output:
    return _view("lsof", host, args)


def _hostname(host, args, stdin=None) -> Output:
    return Output(host.name, 0)


def _echo(host, args, stdin=None) -> Output:
    return Output(" ".join(args), 0)


def _sysctl(host, args, stdin=None) -> Output:
    """procps sysctl: ``sysctl NAME``, ``sysctl -n NAME``, ``sysctl -w NAME=VALUE``, ``-a``."""
    names_only = "-n" in args
    write = "-w" in args
    rest = [a for a in args if a not in ("-n", "-w", "-q")]
    bad = [a for a in rest if a.startswith("-") and a != "-a"]
    if bad:
        return Output(f"sysctl: invalid option -- '{bad[0].lstrip('-')[:1]}'\n"
                      "Usage:\n sysctl [options] [variable[=value] ...]", 2)
    if rest == ["-a"]:
        lines = [f"{k} = {host.sysctl[k]}" for k in sorted(host.sysctl)]
        return Output("\n".join(lines), 0)
    out, status = [], 0
    for item in rest:
        if "=" in item:
            if not write:
                out.append(f'sysctl: "{item}" must be of the form name=value')
                status = 255
                continue
            key, value = (s.strip() for s in item.split("=", 1))
            try:
                host.sysctl[key] = value
            except KeyError:
                path = key.replace(".", "/")
                out.append(f"sysctl: cannot stat /proc/sys/{path}: No such file or directory")
                status = 255
                continue
            except (ValueError, TypeError) as e:
                out.append(f"sysctl: setting key \"{key}\": Invalid argument ({e})")
                status = 255
                continue
            out.append(f"{key} = {host.sysctl[key]}")
        else:
            try:
                value = host.sysctl[item]
            except KeyError:
                path = item.replace(".", "/")
                out.append(f"sysctl: cannot stat /proc/sys/{path}: No such file or directory")
                status = 255
                continue
            out.append(str(value) if names_only else f"{item} = {value}")
    return Output("\n".join(out), status)
