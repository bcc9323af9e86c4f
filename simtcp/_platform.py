"""Platform gaps simtcp fills before anything else is imported (only under Pyodide).

Theory of operation: simtcp needs no real network, so it runs in a browser under Pyodide
(CPython compiled to WebAssembly, ``sys.platform == "emscripten"``). Pyodide's ``socket``
module differs from Linux's in three ways that break simtcp or scapy at import time:

1. ``SO_REUSEADDR`` and ``SO_REUSEPORT`` are missing. simtcp's sockets model Linux's, and
   labs call ``setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)``, so the missing names
   are added with Linux's values (include/uapi/asm-generic/socket.h: SO_REUSEADDR 2,
   SO_REUSEPORT 15). Names that exist are never changed.
2. ``socket.has_ipv6`` is False, and scapy's IPv6 layer (scapy/layers/inet6.py, imported by
   ``scapy.all`` through the DNS, VXLAN … layers) refuses to load then. It is set to True:
   the flag only says whether the platform can *use* IPv6 sockets, and nothing here opens
   one (Pyodide has no real sockets at all).
3. ``inet_pton``/``inet_ntop`` raise for ``AF_INET6`` (IPv6 is disabled in the Emscripten
   build), and scapy calls them once ``has_ipv6`` is True. They are wrapped: ``AF_INET6``
   goes through the standard library's ``ipaddress`` (RFC 4291 section 2.2 text forms in,
   RFC 5952 canonical text out) and writes embedded IPv4 addresses in dotted form exactly
   where glibc's inet_ntop does (resolv/inet_ntop.c, inet_ntop6: the longest zero run is
   words 0-5, or words 0-4 followed by ffff), raising the same exceptions CPython's socket
   module raises; every other family goes to the original.

On every other platform this module does nothing. It holds no state and is idempotent.
"""
from __future__ import annotations

import ipaddress
import socket
import struct
import sys

# Linux's values: include/uapi/asm-generic/socket.h
_LINUX_SOCKET_CONSTANTS = {"SO_REUSEADDR": 2, "SO_REUSEPORT": 15}


def _wrap_inet6(original_pton, original_ntop):
    def inet_pton(family, address):
        if family != socket.AF_INET6:
            return original_pton(family, address)
        if not isinstance(address, str):
            raise TypeError(f"inet_pton() argument 2 must be str, not {type(address).__name__}")
        try:
            return ipaddress.IPv6Address(address).packed
        except ValueError:
            raise OSError("illegal IP address string passed to inet_pton") from None

    def inet_ntop(family, packed):
        if family != socket.AF_INET6:
            return original_ntop(family, packed)
        packed = bytes(packed)
        if len(packed) != 16:
            raise ValueError("invalid length of packed IP address string")
        words = struct.unpack("!8H", packed)
        if words[:5] == (0,) * 5 and ((words[5] == 0 and words[6] != 0) or words[5] == 0xFFFF):
            prefix = "::ffff:" if words[5] == 0xFFFF else "::"
            return prefix + original_ntop(socket.AF_INET, packed[12:])
        return str(ipaddress.IPv6Address(packed))

    inet_pton.__doc__ = original_pton.__doc__
    inet_ntop.__doc__ = original_ntop.__doc__
    inet_pton._simtcp_wrapped = inet_ntop._simtcp_wrapped = True
    return inet_pton, inet_ntop


def fill_platform_gaps(platform: str = sys.platform, sock=socket) -> None:
    """Apply the Pyodide fixes above when ``platform`` is ``"emscripten"``; else nothing."""
    if platform != "emscripten":
        return
    for name, value in _LINUX_SOCKET_CONSTANTS.items():
        if not hasattr(sock, name):
            setattr(sock, name, value)
    if not getattr(sock.inet_pton, "_simtcp_wrapped", False):
        sock.inet_pton, sock.inet_ntop = _wrap_inet6(sock.inet_pton, sock.inet_ntop)
    sock.has_ipv6 = True


fill_platform_gaps()
