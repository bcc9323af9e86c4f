"""Argument rules of Python's `socket` methods, so simtcp sockets refuse what it refuses.

Theory of operation: CPython parses a socket method's arguments before it ever calls the
kernel (Modules/socketmodule.c): ``listen`` and ``recv`` take an integer through
``__index__`` (a float or a str is a TypeError), ``send`` a bytes-like object, ``setsockopt``
an int or a bytes-like value, ``setblocking`` and ``shutdown`` an int. So a wrong type is a
TypeError even on a closed socket, and only then does the kernel answer (EBADF, EINVAL …).
`simtcp.socket.Socket` calls these helpers first, in that same order. The messages are
CPython's own.
"""
from __future__ import annotations

import errno
import math
import operator

from .lang import tr


def as_int(value, what: str = "") -> int:
    """An integer argument the way PyArg_Parse "i"/"n" takes it (bool is an int)."""
    if type(value) is int:                  # the usual case needs no conversion
        return value
    try:
        return operator.index(value)
    except TypeError:
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an "
                        f"integer{what}") from None


def as_bytes(data) -> bytes:
    """A bytes-like argument (PyArg_Parse "y*"): str, None, ints are TypeErrors."""
    if type(data) is bytes:                 # immutable already: no copy needed
        return data
    if isinstance(data, str) or data is None or isinstance(data, int):
        raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'")
    try:
        return memoryview(data).tobytes()
    except TypeError:
        raise TypeError(f"a bytes-like object is required, not '{type(data).__name__}'") \
            from None


def sockopt_value(value):
    """setsockopt's third argument: an int, or a bytes-like buffer (Python 3.11 accepts None
    only together with an explicit optlen, which simtcp does not model)."""
    if isinstance(value, int):
        return int(value)
    if isinstance(value, (bytes, bytearray, memoryview)):
        return bytes(value)
    raise TypeError(f"a bytes-like object is required, not '{type(value).__name__}'")


def sockopt_int(value) -> int:
    """The integer an option's value stands for; a buffer is read like the kernel reads an
    int option (native byte order, at least 4 bytes, else EINVAL)."""
    if isinstance(value, bytes):
        if len(value) < 4:
            raise OSError(errno.EINVAL, tr("sockargs.int_option", "Invalid argument: an int "
                                           "socket option needs at least 4 bytes"))
        return int.from_bytes(value[:4], "little", signed=True)
    return value


def check_shutdown_how(how) -> int:
    how = as_int(how)
    if how not in (0, 1, 2):
        # Linux inet_shutdown(): "how" is checked before the socket's state
        raise OSError(errno.EINVAL, tr("sockargs.shutdown_how", "Invalid argument: how must "
                                       "be SHUT_RD, SHUT_WR or SHUT_RDWR"))
    return how


# Linux include/linux/net.h: SOCK_STREAM 1 … SOCK_PACKET 10; __sock_create() refuses a type
# outside [0, SOCK_MAX) with EINVAL, inet_create() an unknown type with ESOCKTNOSUPPORT and a
# protocol the type does not carry with EPROTONOSUPPORT.
SOCK_MAX = 11
INET_TYPES = {1: (0, 6), 2: (0, 17), 3: None}      # stream: TCP; dgram: UDP; raw: any


def check_socket_args(family: int, type_: int, proto: int) -> None:
    family, type_, proto = as_int(family), as_int(type_), as_int(proto)
    if family != 2:
        raise OSError(errno.EAFNOSUPPORT, tr("sockargs.ipv4_only", "Address family not "
                                             "supported by protocol: simtcp simulates IPv4 "
                                             "(AF_INET) only"))
    if not 0 <= type_ < SOCK_MAX:
        raise OSError(errno.EINVAL, tr("sockargs.type_range", "Invalid argument: socket type "
                                       "{type}", type=type_))
    if type_ not in INET_TYPES:
        raise OSError(errno.ESOCKTNOSUPPORT, tr("sockargs.type", "Socket type not supported: "
                                                "{type}", type=type_))
    allowed = INET_TYPES[type_]
    if allowed is not None and proto not in allowed:
        raise OSError(errno.EPROTONOSUPPORT, tr("sockargs.proto", "Protocol not supported: "
                                                "protocol {proto} with socket type {type}",
                                                proto=proto, type=type_))


def check_timeout(value):
    """Python's socket rules for a timeout (Modules/socketmodule.c socket_parse_timeout):
    None blocks; a NaN is ValueError, a negative number "Timeout value out of range", a
    number too large for time_t OverflowError, anything not a number TypeError."""
    if value is None:
        return None
    if isinstance(value, float):
        pass
    elif hasattr(value, "__index__") or hasattr(value, "__float__"):
        try:
            value = float(value)
        except (TypeError, ValueError):
            raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an "
                            "integer") from None
    else:
        raise TypeError(f"'{type(value).__name__}' object cannot be interpreted as an integer")
    if math.isnan(value):
        raise ValueError("Invalid value NaN (not a number)")
    if value < 0:
        raise ValueError("Timeout value out of range")
    if value > 2 ** 63 / 1e9:          # _PyTime_FromSecondsObject: beyond time_t
        raise OverflowError("timestamp out of range for platform time_t")
    return value
