"""simtcp.set_language: simtcp's own words follow the language; behaviour does not."""
from __future__ import annotations

import errno
import socket as pysocket

import pytest

import simtcp
from simtcp import lang


@pytest.fixture
def japanese():
    simtcp.set_language("ja")
    try:
        yield
    finally:
        simtcp.set_language("en")


def _in_use_error():
    net = simtcp.Network(seed=1)
    host = net.add_host("h", "10.0.0.1")
    a = host.socket()
    a.bind(("0.0.0.0", 8080))
    a.listen()
    with pytest.raises(OSError) as info:
        host.socket().bind(("0.0.0.0", 8080))
    return info.value


def _timed_out_error():
    net = simtcp.Network(seed=1)
    a = net.add_host("a", "10.0.0.1")
    b = net.add_host("b", "10.0.0.2")
    net.add_link(a, b, loss=1.0)
    a.sysctl["net.ipv4.tcp_syn_retries"] = 1
    with pytest.raises(TimeoutError) as info:
        a.socket().connect(("10.0.0.2", 80))
    return net, info.value


def test_english_is_the_default():
    assert simtcp.get_language() == "en"
    e = _in_use_error()
    assert e.errno == errno.EADDRINUSE and "Address already in use" in e.strerror


def test_errors_in_japanese_keep_their_errno(japanese):
    e = _in_use_error()
    assert e.errno == errno.EADDRINUSE
    assert "アドレスは既に使用中です" in e.strerror and "SO_REUSEADDR" in e.strerror
    net, t = _timed_out_error()
    assert t.errno == errno.ETIMEDOUT and "タイムアウト" in t.strerror


def test_trace_reasons_in_japanese_same_trace(japanese):
    net_ja, _ = _timed_out_error()
    shown_ja = "\n".join(map(str, net_ja.trace))
    simtcp.set_language("en")
    net_en, _ = _timed_out_error()
    shown_en = "\n".join(map(str, net_en.trace))
    lost = next(r.reason for r in net_en.trace if r.kind == "drop")
    assert f"[{lost.english}]" in shown_en
    assert f"[{lost.label('ja')}]" in shown_ja and lost.label("ja") != lost.english
    assert "[アクティブオープン]" in shown_ja and "[SYN の再送]" in shown_ja
    assert "[active open]" in shown_en and "[SYN retransmission]" in shown_en
    # only the words change: the records themselves are equal
    assert list(net_ja.trace) == list(net_en.trace)


def test_tr_lookup_order_and_errors(japanese):
    lang.add_catalogue({"test.greeting": {"ja": "こんにちは {name}"}})
    assert lang.tr("test.greeting", "hello {name}", name="A") == "こんにちは A"
    assert lang.tr("test.greeting", "hello {name}", lang="en", name="A") == "hello A"
    assert lang.tr("test.untranslated", "plain English") == "plain English"
    assert lang.tr("test.nothing") == "test.nothing"
    with pytest.raises(ValueError):
        simtcp.set_language("fr")
    with pytest.raises(ValueError):
        lang.add_catalogue({"test.greeting": {"ja": "別の文"}})
    assert simtcp.get_language() == "ja"


def test_every_typed_reason_and_event_has_japanese_text():
    """Every member of every reason family (trace reasons, drop reasons, events, demux
    rules) has a Japanese text, from simtcp.lang's catalogue or the figure catalogue: a
    Japanese lab never shows an English reason because someone added a member."""
    from simtcp import reasons
    families = [c for c in vars(reasons).values()
                if isinstance(c, type) and issubclass(c, reasons.Reason) and c is not reasons.Reason]
    assert len(families) >= 5
    missing = [f"{fam.__name__}.{m.name}" for fam in families for m in fam
               if lang.tr(m.key, default=None, lang="ja") == m.key]
    assert not missing, f"no Japanese text for: {missing}"


def test_errors_without_an_explanation_use_strerror_in_the_current_language(japanese):
    """A UDP socket's errors carry strerror(3)'s words: Japanese ones in a Japanese lab,
    the same errno either way."""
    net = simtcp.Network(seed=1)
    host = net.add_host("h", "10.0.0.1")
    s = host.socket(pysocket.AF_INET, pysocket.SOCK_DGRAM)
    with pytest.raises(OSError) as info:
        s.bind(("10.9.9.9", 53))
    assert info.value.errno == errno.EADDRNOTAVAIL
    assert info.value.strerror == "要求されたアドレスを割り当てられません"
    assert lang.strerror(errno.EADDRNOTAVAIL, lang="en") == "Cannot assign requested address"
    unknown = max(errno.errorcode) + 100          # no name: strerror's own text, never a crash
    assert lang.strerror(unknown)


SOCKET_API = ("socket.py", "udpsocket.py", "udp.py", "sockopts.py", "sockargs.py", "portalloc.py")


def test_the_socket_api_explains_its_errors_through_the_catalogue():
    """Every OSError the socket API raises with an errno takes its words from simtcp.lang
    (tr() with a catalogue key, or strerror()), so a Japanese lab shows them in Japanese:
    no message written as a bare string."""
    import ast
    from pathlib import Path
    root = Path(simtcp.__file__).parent
    bare = []
    for name in SOCKET_API:
        tree = ast.parse((root / name).read_text())
        for node in ast.walk(tree):
            if (isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
                    and node.func.id.endswith("Error") and len(node.args) >= 2
                    and isinstance(node.args[0], ast.Attribute)
                    and getattr(node.args[0].value, "id", "") == "errno"
                    and not any(isinstance(n, ast.Call) and getattr(n.func, "id", "") in
                                ("tr", "strerror") for n in ast.walk(node.args[1]))):
                bare.append(f"{name}:{node.lineno}")
    assert not bare, f"errors with English-only words: {bare}"


def test_every_catalogue_key_the_socket_api_uses_has_japanese():
    import re
    from pathlib import Path
    root = Path(simtcp.__file__).parent
    keys = set()
    for name in SOCKET_API:
        keys |= set(re.findall(r'\btr\(\s*f?"([a-z_.{}]+)"', (root / name).read_text()))
    keys = {k for k in keys if "{" not in k} | {f"socket.wait.{c}" for c in
                                                ("accept", "connect", "send", "recv",
                                                                 "recvfrom")}
    assert len(keys) > 30
    missing = sorted(k for k in keys if lang.tr(k, default="\0", lang="ja") == "\0")
    assert not missing, f"no Japanese text for {missing}"


def test_a_would_block_error_reads_in_japanese(japanese):
    net = simtcp.Network(seed=1)
    host = net.add_host("h", "10.0.0.1")
    lst = host.socket()
    lst.bind(("0.0.0.0", 80))
    lst.listen()
    lst.setblocking(False)
    with pytest.raises(BlockingIOError) as info:
        lst.accept()
    assert info.value.errno == errno.EAGAIN
    assert "リソースが一時的に利用できません" in info.value.strerror
    assert "ハンドシェイク" in info.value.strerror           # the wait, in Japanese too
