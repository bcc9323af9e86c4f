"""simtcp/_platform.py: the Pyodide gaps it fills, checked on CPython against a stand-in
`socket` module shaped like Pyodide's and against CPython's real socket functions."""
import socket
import types

import pytest

from simtcp._platform import fill_platform_gaps

ADDRESSES = ["::", "::1", "fe80::1", "2001:db8::8:800:200c:417a", "2001:db8:0:0:1:0:0:1",
             "::ffff:192.0.2.128", "::192.0.2.128", "::0.0.1.2", "1::", "ff02::1:ff00:1",
             "2001:db8:85a3::8a2e:370:7334", "::ffff:0:0", "0:0:0:0:0:1:0:0"]


def pyodide_like_socket():
    """What Pyodide's socket module lacks or refuses, around CPython's IPv4 functions."""
    def inet_pton(family, address):
        if family == socket.AF_INET6:
            raise OSError("can't use AF_INET6, IPv6 is disabled")
        return socket.inet_pton(family, address)

    def inet_ntop(family, packed):
        if family == socket.AF_INET6:
            raise OSError("can't use AF_INET6, IPv6 is disabled")
        return socket.inet_ntop(family, packed)

    return types.SimpleNamespace(AF_INET=socket.AF_INET, AF_INET6=socket.AF_INET6,
                                 SOL_SOCKET=1, has_ipv6=False,
                                 inet_pton=inet_pton, inet_ntop=inet_ntop)


def test_nothing_changes_off_pyodide():
    sock = pyodide_like_socket()
    before = dict(vars(sock))
    fill_platform_gaps("linux", sock)
    assert vars(sock) == before


def test_missing_constants_get_linux_values_and_present_ones_stay():
    sock = pyodide_like_socket()
    sock.SO_REUSEPORT = 99          # present: must not be overwritten
    fill_platform_gaps("emscripten", sock)
    assert sock.SO_REUSEADDR == 2 and sock.SO_REUSEPORT == 99 and sock.SOL_SOCKET == 1
    assert sock.has_ipv6 is True


@pytest.mark.parametrize("address", ADDRESSES)
def test_ipv6_text_forms_match_cpythons_socket(address):
    sock = pyodide_like_socket()
    fill_platform_gaps("emscripten", sock)
    packed = socket.inet_pton(socket.AF_INET6, address)
    assert sock.inet_pton(socket.AF_INET6, address) == packed
    assert sock.inet_ntop(socket.AF_INET6, packed) == socket.inet_ntop(socket.AF_INET6, packed)
    assert sock.inet_pton(socket.AF_INET, "192.0.2.1") == socket.inet_aton("192.0.2.1")


@pytest.mark.parametrize("bad", ["1:2:3:4:5:6:7:8:9", "fe80::1::2", "12345::", "1.2.3.4", ""])
def test_ipv6_errors_are_cpythons(bad):
    sock = pyodide_like_socket()
    fill_platform_gaps("emscripten", sock)
    with pytest.raises(OSError) as real:
        socket.inet_pton(socket.AF_INET6, bad)
    with pytest.raises(OSError) as ours:
        sock.inet_pton(socket.AF_INET6, bad)
    assert str(ours.value) == str(real.value)
    with pytest.raises(ValueError, match="invalid length"):
        socket.inet_ntop(socket.AF_INET6, b"\0" * 15)
    with pytest.raises(ValueError, match="invalid length"):
        sock.inet_ntop(socket.AF_INET6, b"\0" * 15)


def test_filling_twice_wraps_once():
    sock = pyodide_like_socket()
    fill_platform_gaps("emscripten", sock)
    first = sock.inet_pton
    fill_platform_gaps("emscripten", sock)
    assert sock.inet_pton is first
