"""Reading packetdrill scripts: a documented subset of packetdrill's grammar.

Theory of operation: packetdrill (Google, GPL-2.0; github.com/google/packetdrill, grammar in
gtests/net/packetdrill/lexer.l and parser.y) specifies TCP behaviour as a script that
interleaves system calls, packets the test injects (``<``) and packets the stack must send
(``>``), each at a time. This module turns such a script into a list of typed events; it does
not run anything (see `simtcp.packetdrill.engine`). The subset it reads:

* comments: ``// ...`` to the end of a line, ``/* ... */`` (may span lines); blank lines.
* times: ``0.100`` (absolute, seconds from the start), ``+0.1`` (relative to the previous
  event), ``*`` (any time), and ranges for outbound packets, ``+0.003~+0.015`` or
  ``0.1~0.2`` (any time in the range, tolerance added at both ends).
* shell lines, with or without a time: `` `sysctl -q name=value [name=value ...]` `` and
  `` `echo value > /proc/sys/net/...` `` (several joined by ``;`` or newlines). They may
  only set sysctls; anything else is refused with a clear error.
* packets: ``< S 0:0(0) win 32792 <mss 1000,sackOK,nop,nop,nop,wscale 7>`` and
  ``> S. 0:0(0) ack 1 <...>``: flags (packetdrill letters ``S F R P . E W U``), ``start:end
  (len)``, optional ``ack N``, ``win N``, and an option list, or ``<...>`` (do not check
  options). Options: ``mss N``, ``wscale N``, ``sackOK``, ``TS val N ecr M``,
  ``sack L:R [L:R ...]``, ``nop``, ``eol``. A remote port other than the default may be given
  with the extension ``<:40001`` / ``>:40001`` (packetdrill has one flow per script; a few
  listen-queue scripts need several).
* system calls: ``name(arg, ...) = ret`` optionally followed by ``ERRNO (text)``; ``...``
  stands for an argument the runner fills in (addresses, buffers), ``[N]`` for an int
  passed or returned by reference.
"""
from __future__ import annotations

import re
import shlex
from dataclasses import dataclass, field
from typing import List, Optional, Tuple, Union

from ..segment import _LETTER_FLAGS, Flags


class ScriptError(ValueError):
    """The script is outside the supported grammar (with its line number)."""

    def __init__(self, line: int, message: str):
        super().__init__(f"line {line}: {message}")
        self.line = line


@dataclass(frozen=True)
class Time:
    kind: str          # "absolute" | "relative" | "any"
    value: float = 0.0
    end: Optional[float] = None    # a range: value ~ end (same kind)


@dataclass(frozen=True)
class OptionSpec:
    """Expected or injected TCP options (``None`` = not checked, for ``<...>``)."""

    mss: Optional[int] = None
    wscale: Optional[int] = None
    sack_perm: bool = False
    ts: Optional[Tuple[int, int]] = None
    sack: Tuple[Tuple[int, int], ...] = ()


@dataclass(frozen=True)
class PacketEvent:
    line: int
    time: Time
    inbound: bool                  # "<": the script sends it; ">": the stack must send it
    flags: Flags
    start: int
    length: int
    ack: Optional[int]
    win: Optional[int]
    options: Optional[OptionSpec]  # None: "<...>" (not checked)
    port: Optional[int] = None     # remote port (extension), None = the script's default


@dataclass(frozen=True)
class SyscallEvent:
    line: int
    time: Time
    name: str
    args: Tuple[str, ...]
    ret: int
    errno: Optional[str] = None    # e.g. "EINPROGRESS"


@dataclass(frozen=True)
class SysctlEvent:
    line: int
    time: Time
    settings: Tuple[Tuple[str, str], ...]


Event = Union[PacketEvent, SyscallEvent, SysctlEvent]


@dataclass
class Script:
    name: str
    events: List[Event] = field(default_factory=list)


_NUM = r"\+?\d*\.?\d+"
_TIME = re.compile(rf"^\s*(\*|{_NUM}(?:~{_NUM})?)\s+(.*)$", re.S)
_PACKET = re.compile(
    r"^([<>])(?::(?P<port>\d+))?\s+(?P<flags>[SFRPUEW.]+)\s+(?P<start>\d+):(?P<end>\d+)\((?P<len>\d+)\)"
    r"(?:\s+ack\s+(?P<ack>\d+))?(?:\s+win\s+(?P<win>\d+))?(?:\s+<(?P<opts>[^>]*)>)?\s*$")
_SYSCALL = re.compile(r"^(?P<name>[a-z_]+)\((?P<args>.*)\)\s*=\s*(?P<ret>-?\d+)"
                      r"(?:\s+(?P<errno>E[A-Z]+)(?:\s*\(.*\))?)?\s*$")


def _strip_comments(text: str) -> str:
    text = re.sub(r"/\*.*?\*/", lambda m: "\n" * m.group(0).count("\n"), text, flags=re.S)
    return "\n".join(re.sub(r"//.*$", "", ln) for ln in text.split("\n"))


def _split_args(text: str) -> Tuple[str, ...]:
    args, depth, cur = [], 0, ""
    for c in text:
        if c in "[{(":
            depth += 1
        elif c in "]})":
            depth -= 1
        if c == "," and depth == 0:
            args.append(cur.strip())
            cur = ""
        else:
            cur += c
    if cur.strip():
        args.append(cur.strip())
    return tuple(args)


def parse_options(text: str, line: int) -> Optional[OptionSpec]:
    if text.strip() == "...":
        return None
    kw: dict = {}
    for item in (p.strip() for p in text.split(",")):
        w = item.split()
        if not w or w[0] in ("nop", "eol"):
            continue
        try:
            if w[0] == "mss":
                kw["mss"] = int(w[1])
            elif w[0] == "wscale":
                kw["wscale"] = int(w[1])
            elif w[0] == "sackOK":
                kw["sack_perm"] = True
            elif w[0] == "TS" and w[1] == "val" and w[3] == "ecr":
                kw["ts"] = (int(w[2]), int(w[4]))
            elif w[0] == "sack":
                kw["sack"] = tuple((int(a), int(b)) for a, b in (x.split(":") for x in w[1:]))
            else:
                raise ValueError
        except (ValueError, IndexError):
            raise ScriptError(line, f"unsupported TCP option {item!r} (supported: mss N, "
                              "wscale N, sackOK, TS val N ecr M, sack L:R, nop, eol)") from None
    return OptionSpec(**kw)


def _parse_shell(cmd: str, line: int, time: Time) -> SysctlEvent:
    settings = []
    for part in re.split(r"[;\n]", cmd):
        part = part.strip()
        if not part:
            continue
        words = shlex.split(part)
        if words[:1] == ["sysctl"]:
            for w in words[1:]:
                if w.startswith("-"):
                    continue
                if "=" not in w:
                    raise ScriptError(line, f"sysctl needs name=value, got {w!r}")
                k, v = w.split("=", 1)
                settings.append((k.strip(), v.strip()))
        elif words[:1] == ["echo"] and len(words) >= 4 and words[-2] == ">" \
                and words[-1].startswith("/proc/sys/"):
            settings.append((words[-1][len("/proc/sys/"):].replace("/", "."),
                             " ".join(words[1:-2])))
        else:
            raise ScriptError(line, f"shell command not supported: {part!r} (only "
                              "'sysctl -q name=value' and 'echo V > /proc/sys/...' are)")
    return SysctlEvent(line, time, tuple(settings))


def parse(text: str, name: str = "<script>") -> Script:
    """Parse a script; raises `ScriptError` for anything outside the subset."""
    script = Script(name)
    lines = _strip_comments(text).split("\n")
    i = 0
    while i < len(lines):
        lineno, raw = i + 1, lines[i].strip()
        i += 1
        if not raw:
            continue
        time = Time("relative", 0.0)
        m = _TIME.match(raw)
        if m and not raw.startswith("`"):
            t, raw = m.group(1), m.group(2).strip()
            lo, _, hi = t.partition("~")
            if hi and lo.startswith("+") != hi.startswith("+"):
                raise ScriptError(lineno, f"a time range mixes relative and absolute: {t}")
            end = float(hi.lstrip("+")) if hi else None
            time = (Time("any") if t == "*" else
                    Time("relative", float(lo[1:]), end) if lo.startswith("+") else
                    Time("absolute", float(lo), end))
        elif not raw.startswith("`"):
            raise ScriptError(lineno, f"an event needs a time first: {raw!r}")
        if raw.startswith("`"):
            while raw.count("`") < 2 and i < len(lines):
                raw += "\n" + lines[i]
                i += 1
            if raw.count("`") != 2 or not raw.rstrip().endswith("`"):
                raise ScriptError(lineno, "unterminated `shell command`")
            script.events.append(_parse_shell(raw.strip()[1:-1], lineno, time))
            continue
        if raw[0] in "<>":
            p = _PACKET.match(raw)
            if not p:
                raise ScriptError(lineno, f"not a packet in the supported syntax: {raw!r}")
            flags = Flags(0)
            for c in p["flags"]:
                flags |= _LETTER_FLAGS[c]
            start, end, n = int(p["start"]), int(p["end"]), int(p["len"])
            if (end - start) % 2**32 != n:
                raise ScriptError(lineno, "end - start must equal the length in parentheses")
            opts = OptionSpec() if p["opts"] is None else parse_options(p["opts"], lineno)
            script.events.append(PacketEvent(
                lineno, time, raw[0] == "<", flags, start, n,
                int(p["ack"]) if p["ack"] else None, int(p["win"]) if p["win"] else None,
                opts, int(p["port"]) if p["port"] else None))
            continue
        s = _SYSCALL.match(raw)
        if not s:
            raise ScriptError(lineno, f"not an event in the supported syntax: {raw!r}")
        script.events.append(SyscallEvent(lineno, time, s["name"], _split_args(s["args"]),
                                          int(s["ret"]), s["errno"]))
    return script
