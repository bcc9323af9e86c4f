"""The language simtcp speaks: English by default, Japanese for the Japanese labs.

Theory of operation: simtcp's own words — error explanations, trace reasons, check
feedback — are looked up with ``tr(key, default, **fmt)`` at the moment they are shown.
The caller always passes the English text as ``default``, so English needs no catalogue
and a key nobody translated still reads well; other languages come from a catalogue of
``key -> {lang: text}`` entries that any module may extend with `add_catalogue` (each
module registers the translations of its own words, next to the code that uses them).

`set_language("ja")` switches every later lookup (``simtcp.set_language`` is the same
function). The setting is process-wide and only changes words, never behaviour: code
decides on typed values (errno numbers, enum members), never on this text, so a run in
Japanese makes the same trace and the same pcap as a run in English.

Texts may hold ``str.format`` fields (``{port}``) that ``tr(..., port=80)`` fills in; a
translation must use the same field names as the English text. A Japanese text follows
the terms of Japanese networking textbooks (送信元ポート, 確認応答, ウェルノウンポート) and
keeps what a student types or reads in a tool (errno names, ``SO_REUSEADDR``, state
names such as TIME-WAIT) in its original spelling.
"""
from __future__ import annotations

from typing import Dict, Mapping, Optional

__all__ = ["LANGUAGES", "set_language", "get_language", "tr", "add_catalogue", "language"]

LANGUAGES = ("en", "ja")
_current = "en"
_catalogue: Dict[str, Dict[str, str]] = {}


def set_language(lang: str) -> None:
    """Make ``lang`` ("en" or "ja") the language of every message simtcp shows from now on."""
    global _current
    if lang not in LANGUAGES:
        raise ValueError(f"language must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    _current = lang


def get_language() -> str:
    """The language set with `set_language` ("en" unless changed)."""
    return _current


def language(lang: Optional[str]) -> str:
    """``lang`` checked, or the current language when ``lang`` is None (for ``lang=`` args)."""
    if lang is None:
        return _current
    if lang not in LANGUAGES:
        raise ValueError(f"lang must be one of {', '.join(LANGUAGES)}, not {lang!r}")
    return lang


def add_catalogue(entries: Mapping[str, Mapping[str, str]]) -> None:
    """Register translations: ``{key: {"ja": text, ...}}``. An "en" entry, if given, is used
    when a caller passes no English default. A key registered twice must say the same."""
    for key, texts in entries.items():
        unknown = set(texts) - set(LANGUAGES)
        if unknown:
            raise ValueError(f"{key}: unknown language(s) {sorted(unknown)}")
        old = _catalogue.setdefault(key, {})
        for lang, text in texts.items():
            if old.get(lang, text) != text:
                raise ValueError(f"{key}: a different {lang} text is already registered")
            old[lang] = text


def tr(key: str, default: Optional[str] = None, lang: Optional[str] = None, **fmt) -> str:
    """The text for ``key`` in ``lang`` (default: the current language), formatted with ``fmt``.

    Lookup order: the catalogue's text in that language; the caller's English ``default``;
    the catalogue's English text; the key itself (so a missing entry shows, never crashes).
    """
    lang = language(lang)
    texts = _catalogue.get(key, {})
    text = texts.get(lang) if lang != "en" else None
    if text is None:
        text = default if default is not None else texts.get("en", key)
    return text.format(**fmt) if fmt else text


# --------------------------------------------------------------------------------------
# Words of the core (socket errors, trace reasons). Other modules register their own.
add_catalogue({
    # socket.py: errors (the errno prefix is what strerror(3) prints under ja_JP.UTF-8)
    "socket.port_type": {"ja": "{call}: ポート番号は int で指定します。{kind} ではありません"},
    "socket.port_range": {"ja": "{call}(): ポート番号は 0〜65535 です。TCP のポートは 16 ビットの"
                                "フィールドなので、{port} は入りません"},
    "socket.closed": {"ja": "不正なファイル記述子です: 閉じたソケットで {call}() を呼びました"},
    "socket.already_bound": {"ja": "無効な引数です: このソケットはすでに {ip}:{port} に bind "
                                   "されています（bind できるのは1回だけです）"},
    "socket.not_my_address": {"ja": "要求されたアドレスを割り当てられません: {ip} はホスト "
                                    "{host} のアドレスではありません（{ips}）"},
    "socket.eacces": {"ja": "許可がありません: ポート {port} は ip_unprivileged_port_start "
                            "（{start}）より小さい特権ポートです。bind() できるのは root（または "
                            "CAP_NET_BIND_SERVICE を持つプロセス）だけで、このソケットの所有者は "
                            "{user!r} です"},
    "socket.eaddrinuse": {"ja": "アドレスは既に使用中です: {ip}:{port} は {holder} が使っています"},
    "socket.holder_listening": {"ja": "待ち受け中の別のソケット"},
    "socket.holder_bound": {"ja": "bind 済みの別のソケット"},
    "socket.holder_conn": {"ja": "状態 {state} の接続（{tuple}）"},
    "socket.eaddrinuse_hint": {"ja": "。SO_REUSEADDR を設定すると、そのポートの古い接続が TIME-WAIT "
                                     "に残っていても新しいリスナーを起動できます"},
    "socket.econnrefused": {"ja": "接続を拒否されました: {where} は SYN に RST で答えました。"
                                  "そのポートで待ち受けているプログラムはありません"
                                  "（RFC 9293 §3.10.7.1）"},
    "socket.etimedout": {"ja": "接続がタイムアウトしました: {where} から {retries} 回の再送の後も"
                               "応答がありません（t={now:g} 秒）。Linux は tcp_syn_retries（データ"
                               "なら tcp_retries2）回の指数バックオフにかかる時間が過ぎるとあきらめます"},
    "socket.econnreset": {"ja": "接続が相手からリセットされました: {where} が RST を送りました"},
    "socket.enotconn_state": {"ja": "トランスポート端点が接続されていません: 状態が {state} の"
                                    "接続で {call}() を呼びました"},
    "socket.enotconn": {"ja": "トランスポート端点が接続されていません: {call}() には接続済みの"
                              "ソケットが必要です（先に connect() するか、accept() が返した"
                              "ソケットを使います）"},
    "socket.listen_connected": {"ja": "無効な引数です: 接続済みのソケットは listen できません"},
    "socket.accept_not_listening": {"ja": "無効な引数です: accept() には待ち受け中のソケットが必要です"
                                          "（先に bind() と listen()）"},
    "socket.connect_listening": {"ja": "無効な引数です: 待ち受け中のソケットは connect できません"},
    "socket.eisconn": {"ja": "トランスポート端点はすでに接続されています（相手は {peer}）。"
                             "TCP のソケットが connect できるのは1回だけです。新しいソケットを"
                             "作ってください"},
    "socket.port0": {"ja": "接続を拒否されました: ポート 0 は予約されていて、どのプログラムも"
                           "待ち受けられません"},
    "socket.epipe": {"ja": "パイプが切断されました: こちら側はすでに送信方向を閉じています"
                           "（状態 {state}）"},
    # trace reasons shown in brackets by TraceRecord.__str__ (typed reasons bring their own)
    "trace.active open": {"ja": "アクティブオープン"},
    "trace.SYN retransmission": {"ja": "SYN の再送"},
    "trace.retransmission": {"ja": "再送"},
    "trace.link loss": {"ja": "リンク上で消失"},
    "trace.SYN queue full": {"ja": "SYN キューが満杯"},
    "trace.accept queue full": {"ja": "accept キューが満杯"},
    "trace.forged or stale cookie": {"ja": "偽造または期限切れの cookie"},
    "trace.reply with RST": {"ja": "RST で応答"},
    "trace.no RST for a RST": {"ja": "RST には RST を返さない"},
    "trace.specific address": {"ja": "特定のアドレス"},
    "trace.wildcard address": {"ja": "ワイルドカードアドレス"},
    "trace.zero-window probe": {"ja": "ゼロウィンドウプローブ"},
    "trace.no route to host": {"ja": "ホストへの経路がない"},
    "trace.injected": {"ja": "注入されたパケット"},
    "trace.bad TCP checksum": {"ja": "TCP チェックサムの誤り"},
    "trace.bad IPv4 header checksum": {"ja": "IPv4 ヘッダチェックサムの誤り"},
    "trace.duplicate data: D-SACK": {"ja": "重複データ: D-SACK"},
    "trace.TIME-WAIT replaced by a new connection": {"ja": "TIME-WAIT を新しい接続で置き換え"},
})
