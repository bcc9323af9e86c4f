"""Time stamps of the log files daemons write, in virtual time.

Theory of operation: virtual time 0 is 2026-12-01 00:00:00 UTC (the same epoch as nmap's
"Starting Nmap" line and the HTTP service's Date header). Classic syslog (RFC 3164 §4.1.2,
what rsyslog writes to /var/log/auth.log by default on Debian 12) stamps a line
``Mmm dd hh:mm:ss`` with the day space-padded; Python's logging module, which fail2ban uses,
writes ``YYYY-MM-DD hh:mm:ss,mmm``.
"""
from __future__ import annotations

import datetime

__all__ = ["EPOCH", "syslog_stamp", "iso_stamp", "syslog_line"]

EPOCH = datetime.datetime(2026, 12, 1, 0, 0, 0)


def _at(t: float) -> datetime.datetime:
    return EPOCH + datetime.timedelta(seconds=t)


def syslog_stamp(t: float) -> str:
    """``Dec  1 00:00:05`` (RFC 3164: month, day padded with a space, time)."""
    d = _at(t)
    return f"{d.strftime('%b')} {d.day:2d} {d.strftime('%H:%M:%S')}"


def iso_stamp(t: float) -> str:
    """``2026-12-01 00:00:05,250`` (Python logging's default asctime)."""
    d = _at(t)
    return f"{d.strftime('%Y-%m-%d %H:%M:%S')},{d.microsecond // 1000:03d}"


def syslog_line(t: float, host: str, tag: str, text: str) -> str:
    """One syslog line: ``Dec  1 00:00:05 server sshd[1234]: text``."""
    return f"{syslog_stamp(t)} {host} {tag}: {text}"
