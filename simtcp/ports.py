"""Port numbers: the three IANA ranges and the service-name registry.

Theory of operation
-------------------
A TCP port is a 16-bit number. RFC 6335 §6 splits the space into three ranges with different
rules: *System* (well-known) ports 0-1023 are assigned by IETF review and, on Unix, need
privilege to bind; *User* (registered) ports 1024-49151 are assigned by IANA on request; and
*Dynamic* (private, ephemeral) ports 49152-65535 are never assigned and are where operating
systems are *told* to pick client ports from (Linux ignores that advice: its default
``ip_local_port_range`` is 32768-60999, see :mod:`simtcp.profiles`). Port 0 is reserved: in
``bind()`` it means "pick one for me".

``classify()`` names the range; the registry functions answer "what runs on port 22?" from a
trimmed copy of IANA's ``service-names-port-numbers.csv`` shipped in ``simtcp/data`` (see
``simtcp/data/README.md`` for its source and how to refresh it). We ship our own table because
scapy's ``TCP_SERVICES`` reads ``/etc/services`` at import and is simply empty where that file
is missing (scapy/data.py, no bundled fallback) — course figures must not depend on the
machine they are built on.

The table is parsed lazily on first use and cached in module globals; that is a cache, not
randomness, so determinism is unaffected.
"""
from __future__ import annotations

import csv
import enum
import os
from dataclasses import dataclass
from typing import IO, Union

__all__ = [
    "PortClass", "classify", "check_port", "ServiceEntry", "load_registry", "registry",
    "service_name", "service_port", "describe", "SEED_PORTS", "SeedPort", "DATA_FILE",
]

DATA_FILE = os.path.join(os.path.dirname(__file__), "data", "service-names-port-numbers.csv")


class PortClass(enum.Enum):
    """The IANA port ranges of RFC 6335 §6 (value = the RFC's short name)."""

    RESERVED = "reserved"
    SYSTEM = "system"
    USER = "user"
    DYNAMIC = "dynamic"

    @property
    def low(self) -> int:
        return _RANGES[self][0]

    @property
    def high(self) -> int:
        return _RANGES[self][1]

    @property
    def label(self) -> str:
        return _LABELS[self][0]

    @property
    def label_ja(self) -> str:
        return _LABELS[self][1]

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and not isinstance(port, bool) and self.low <= port <= self.high


_RANGES = {
    PortClass.RESERVED: (0, 0),
    PortClass.SYSTEM: (1, 1023),
    PortClass.USER: (1024, 49151),
    PortClass.DYNAMIC: (49152, 65535),
}
_LABELS = {
    PortClass.RESERVED: ("reserved (port 0: 'any port' in bind())", "予約済み"),
    PortClass.SYSTEM: ("system / well-known port", "ウェルノウンポート"),
    PortClass.USER: ("user / registered port", "登録済みポート"),
    PortClass.DYNAMIC: ("dynamic / private / ephemeral port", "エフェメラルポート/動的ポート"),
}


def check_port(port: object, *, what: str = "port") -> int:
    """Validate a port number the way Python's ``socket`` module does, with a teaching message.

    ``bool`` and non-integers raise TypeError (``True`` is an int in Python but never a port);
    integers outside 0-65535 raise OverflowError, as ``socket.bind(("", 70000))`` does.
    """
    if isinstance(port, bool) or not isinstance(port, int):
        raise TypeError(
            f"{what} must be an int, not {type(port).__name__} ({port!r}); a TCP port is a "
            "16-bit unsigned number in the header, so it cannot be a string or a float")
    if not 0 <= port <= 65535:
        raise OverflowError(
            f"{what} must be 0-65535. ({port} does not fit in the 16-bit port field of the "
            "TCP header; RFC 9293 §3.1)")
    return port


def classify(port: int) -> PortClass:
    """Return the RFC 6335 §6 range of *port* (``classify(443) is PortClass.SYSTEM``)."""
    check_port(port)
    if port == 0:
        return PortClass.RESERVED
    if port <= 1023:
        return PortClass.SYSTEM
    if port <= 49151:
        return PortClass.USER
    return PortClass.DYNAMIC


# --------------------------------------------------------------------------- registry

@dataclass(frozen=True)
class ServiceEntry:
    """One row of the IANA registry. ``low == high`` unless the row covers a range."""

    name: str            # "" for unassigned / reserved rows
    low: int
    high: int
    proto: str           # "tcp", "udp", "sctp", "dccp" or "" (row for every transport)
    description: str
    reference: str = ""
    notes: str = ""

    def __contains__(self, port: object) -> bool:
        return isinstance(port, int) and self.low <= port <= self.high


_COLUMNS = ("Service Name", "Port Number", "Transport Protocol", "Description")


def _parse_ports(text: str) -> tuple[int, int] | None:
    text = text.strip()
    if not text:
        return None               # service-name-only rows (no port assigned)
    lo, sep, hi = text.partition("-")
    low = int(lo)
    high = int(hi) if sep else low
    if not 0 <= low <= high <= 65535:
        raise ValueError(f"bad port range {text!r} in IANA registry")
    return low, high


def load_registry(path_or_file: Union[str, os.PathLike, IO[str], None] = None,
                  proto: str | None = None) -> list[ServiceEntry]:
    """Parse an IANA ``service-names-port-numbers.csv`` (the full download or our trimmed copy).

    Handles port ranges ("6000-6063"), blank service names (unassigned / reserved rows),
    multi-line quoted fields (the csv module does this), rows without a port (skipped) and
    rows without a transport (kept with ``proto=""``). ``proto`` keeps only rows of that
    transport, plus transport-less rows.
    """
    if path_or_file is None:
        path_or_file = DATA_FILE
    if isinstance(path_or_file, (str, os.PathLike)):
        with open(path_or_file, newline="", encoding="utf-8") as fh:
            return load_registry(fh, proto)
    reader = csv.DictReader(path_or_file)
    missing = [c for c in _COLUMNS if c not in (reader.fieldnames or ())]
    if missing:
        raise ValueError(f"not an IANA service-names-port-numbers CSV: missing columns {missing}")
    want = proto.lower() if proto else None
    out: list[ServiceEntry] = []
    for row in reader:
        ports = _parse_ports(row["Port Number"] or "")
        if ports is None:
            continue
        p = (row["Transport Protocol"] or "").strip().lower()
        if want and p not in (want, ""):
            continue
        out.append(ServiceEntry(
            name=(row["Service Name"] or "").strip(), low=ports[0], high=ports[1], proto=p,
            description=(row["Description"] or "").strip(),
            reference=(row.get("Reference") or "").strip(),
            notes=(row.get("Assignment Notes") or "").strip()))
    return out


_CACHE: dict[str, object] = {}


def registry() -> list[ServiceEntry]:
    """The shipped table, parsed once and cached."""
    if "rows" not in _CACHE:
        _CACHE["rows"] = load_registry(DATA_FILE)
    return _CACHE["rows"]  # type: ignore[return-value]


def _index(proto: str) -> tuple[dict[int, ServiceEntry], dict[str, int]]:
    key = "idx:" + proto
    if key not in _CACHE:
        by_port: dict[int, ServiceEntry] = {}
        by_name: dict[str, int] = {}
        for e in registry():
            if e.proto not in (proto, ""):
                continue
            for port in range(e.low, e.high + 1):
                # The first named row wins: IANA lists the primary name before aliases
                # ("http" before "www" and "www-http" on port 80).
                old = by_port.get(port)
                if old is None or (not old.name and e.name):
                    by_port[port] = e
            if e.name and e.name.lower() not in by_name:
                by_name[e.name.lower()] = e.low
        _CACHE[key] = (by_port, by_name)
    return _CACHE[key]  # type: ignore[return-value]


# Ports IANA assigned twice, where the first row is not the name people (and /etc/services)
# use: 465/tcp lists "urd" first, but RFC 8314 made 465 "submissions" (mail over TLS).
_COMMON_NAME = {("tcp", 465): "submissions"}


def service_name(port: int, proto: str = "tcp") -> str | None:
    """IANA service name for *port* (``22 -> "ssh"``), or None when unassigned/unknown."""
    check_port(port)
    common = _COMMON_NAME.get((proto.lower(), port))
    if common is not None:
        return common
    e = _index(proto.lower())[0].get(port)
    return e.name if e is not None and e.name else None


def service_port(name: str, proto: str = "tcp") -> int:
    """Port registered for service *name* (``"https" -> 443``); KeyError if unknown."""
    if not isinstance(name, str):
        raise TypeError(f"service name must be a str, not {type(name).__name__}")
    try:
        return _index(proto.lower())[1][name.strip().lower()]
    except KeyError:
        raise KeyError(
            f"unknown service {name!r}/{proto}: simtcp ships a trimmed IANA table (all TCP "
            "system ports 0-1023 plus common registered ports); see simtcp/data/README.md to "
            "add more, or pass the port number directly") from None


def describe(port: int, proto: str = "tcp") -> str | None:
    """IANA's description of *port* ("Secure Shell (SSH) Protocol"), or None."""
    check_port(port)
    e = _index(proto.lower())[0].get(port)
    return e.description if e is not None else None


# --------------------------------------------------------------------------- course seed list

@dataclass(frozen=True)
class SeedPort:
    port: int
    name: str           # IANA service name
    note: str
    note_ja: str


SEED_PORTS: tuple[SeedPort, ...] = (
    SeedPort(20, "ftp-data", "FTP data channel (active mode: the server connects from port 20)",
             "FTP データ転送 (アクティブモードではサーバがポート20から接続)"),
    SeedPort(21, "ftp", "FTP control channel; passwords in plaintext (prefer SFTP/FTPS)",
             "FTP 制御。パスワードが平文 (SFTP/FTPS を推奨)"),
    SeedPort(22, "ssh", "Secure Shell: encrypted remote login, scp/sftp, tunnels",
             "SSH: 暗号化されたリモートログイン・scp/sftp・トンネル"),
    SeedPort(23, "telnet", "Telnet: plaintext remote login, discouraged (use SSH)",
             "Telnet: 平文のリモートログイン。非推奨 (SSH を使う)"),
    SeedPort(25, "smtp", "SMTP mail relay between servers (clients submit on 587/465)",
             "SMTP サーバ間のメール転送 (クライアントの送信は 587/465)"),
    SeedPort(53, "domain", "DNS; TCP for large responses and zone transfers (AXFR)",
             "DNS。大きな応答やゾーン転送 (AXFR) では TCP を使う"),
    SeedPort(80, "http", "HTTP: unencrypted web", "HTTP: 暗号化なしの Web"),
    SeedPort(110, "pop3", "POP3 mail download; plaintext (POP3S is 995)",
             "POP3 メール受信。平文 (POP3S は 995)"),
    SeedPort(143, "imap", "IMAP mailbox access; plaintext unless STARTTLS (IMAPS is 993)",
             "IMAP メールボックス操作。STARTTLS なしでは平文 (IMAPS は 993)"),
    SeedPort(443, "https", "HTTPS: HTTP over TLS", "HTTPS: TLS 上の HTTP"),
    SeedPort(3306, "mysql", "MySQL/MariaDB database; should not face the Internet",
             "MySQL/MariaDB データベース。インターネットに公開しない"),
    SeedPort(3389, "ms-wbt-server", "Windows Remote Desktop (RDP); a frequent attack target",
             "Windows リモートデスクトップ (RDP)。攻撃の標的になりやすい"),
    SeedPort(5900, "rfb", "VNC (Remote Framebuffer protocol, RFC 6143)",
             "VNC (リモートフレームバッファ, RFC 6143)"),
    SeedPort(8080, "http-alt", "Alternate HTTP: proxies, development servers",
             "代替 HTTP: プロキシや開発用サーバ"),
)
