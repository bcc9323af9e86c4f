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

import errno as _errno
import functools
import importlib.util
import os
from pathlib import Path
from typing import Dict, Mapping, Optional

__all__ = ["LANGUAGES", "set_language", "get_language", "tr", "add_catalogue", "language",
           "strerror"]

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

    Lookup order: the catalogue's text in that language, then the figure catalogue's
    (simtcp/viz/i18n.py: a word translated for figures, such as a typed reason's
    ``reason.<value>``, is translated in text too); the caller's English ``default``; the
    catalogue's English text; the key itself (so a missing entry shows, never crashes).
    """
    lang = language(lang)
    texts = _catalogue.get(key, {})
    text = texts.get(lang) if lang != "en" else None
    if text is None and lang != "en":
        text = _figure_words().get(key, {}).get(lang)
    if text is None:
        text = default if default is not None else texts.get("en", key)
    return text.format(**fmt) if fmt else text


def strerror(code: int, lang: Optional[str] = None) -> str:
    """The errno message as strerror(3) prints it: the C library's English text, or the
    Japanese one glibc prints under ja_JP.UTF-8 (catalogue key ``errno.<NAME>``)."""
    name = _errno.errorcode.get(code, "")
    return tr(f"errno.{name}", os.strerror(code), lang=lang)


@functools.lru_cache(maxsize=1)
def _figure_words() -> Dict[str, Dict[str, str]]:
    """The figure catalogue, loaded from its file: importing the package simtcp.viz would
    import matplotlib, which text output must not need."""
    path = Path(__file__).with_name("viz") / "i18n.py"
    spec = importlib.util.spec_from_file_location("simtcp._figure_words", path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module._C


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
    "socket.eacces_bsd": {"ja": "許可がありません: {ip} のポート {port} は {start} より小さい"
                                "特権ポートです。ここで bind() できるのは root だけで、このソケットの"
                                "所有者は {user!r} です"},
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
})

# strerror(3) under ja_JP.UTF-8 (glibc's ja.po), for errors that carry no explanation
add_catalogue({f"errno.{name}": {"ja": text} for name, text in {
    "EACCES": "許可がありません",
    "EADDRINUSE": "アドレスは既に使用中です",
    "EADDRNOTAVAIL": "要求されたアドレスを割り当てられません",
    "EAFNOSUPPORT": "プロトコルによってサポートされていないアドレスファミリーです",
    "EAGAIN": "リソースが一時的に利用できません",
    "EALREADY": "操作はすでに進行中です",
    "EBADF": "不正なファイル記述子です",
    "ECONNREFUSED": "接続を拒否されました",
    "ECONNRESET": "接続が相手からリセットされました",
    "EDESTADDRREQ": "宛先アドレスが必要です",
    "EHOSTDOWN": "ホストがダウンしています",
    "EHOSTUNREACH": "ホストへの経路がありません",
    "EINVAL": "無効な引数です",
    "EISCONN": "トランスポート端点はすでに接続されています",
    "EMSGSIZE": "メッセージが長すぎます",
    "ENETUNREACH": "ネットワークに到達できません",
    "ENOENT": "そのようなファイルやディレクトリはありません",
    "ENONET": "マシンはネットワーク上にありません",
    "ENOPROTOOPT": "利用できないプロトコルです",
    "ENOTCONN": "トランスポート端点が接続されていません",
    "EOPNOTSUPP": "サポートされていない操作です",
    "EPIPE": "パイプが切断されました",
    "EPROTO": "プロトコルエラー",
    "EPROTONOSUPPORT": "サポートされていないプロトコルです",
    "ESOCKTNOSUPPORT": "サポートされていないソケット型です",
    "ETIMEDOUT": "接続がタイムアウトしました",
}.items()})

add_catalogue({
    "socket.connect_listening_isconn": {"ja": "トランスポート端点はすでに接続されています: 待ち受け中の"
                                              "ソケットは connect できません"},
    "socket.icmp_error": {"ja": "{error}: {where} へのセグメントについて ICMP エラーが届きました"
                                "（Linux tcp_v4_err()）"},
    "socket.no_route": {"ja": "ネットワークに到達できません: {host} には {ip} への経路がありません"
                              "（Linux の ip_route_connect() は送信前に失敗します）"},
    "portalloc.connect_exhausted": {"ja": "要求されたアドレスを割り当てられません（{range} のポートは"
                                          "すべて {raddr}:{rport} 宛てに使用中です。connect() には"
                                          "（ローカルアドレス、ローカルポート、リモートアドレス、リモート"
                                          "ポート）の4タプルが一意である必要があります。ソケットを閉じる、"
                                          "TIME-WAIT の終了を待つ、範囲を広げる、または別の宛先に接続"
                                          "してください。宛先が違えば同じローカルポートを再利用できます）"},
    "portalloc.bind_exhausted": {"ja": "アドレスは既に使用中です（bind() でポート 0 を指定しましたが、"
                                       "{laddr} の {range} に空きポートがありません。bind したポートは"
                                       "すべての宛先に対して確保されるため、bind(0) は connect() より"
                                       "先に枯渇します）"},
})

# the rest of the socket API's explanations (socket.py, udpsocket.py, sockopts.py, sockargs.py)
add_catalogue({
    "socket.tcp_only": {"ja": "サポートされていないプロトコルです: simtcp のこのソケットは TCP"
                              "（SOCK_STREAM）です"},
    "socket.wait.accept": {"ja": "クライアントがハンドシェイクを終えること"},
    "socket.wait.connect": {"ja": "ハンドシェイクの完了"},
    "socket.wait.send": {"ja": "送信バッファの空き"},
    "socket.wait.recv": {"ja": "データの到着"},
    "socket.wait.recvfrom": {"ja": "データグラムの到着"},
    "socket.would_block": {"ja": "リソースが一時的に利用できません: {call}() はブロックします"
                                 "（待っているのは{what}）。ネットワークを進めてから、もう一度"
                                 "試してください"},
    "socket.stalled": {"ja": "{call}() は仮想時間で {horizon:g} 秒（Network.stall_horizon）"
                             "{what}を待ち、あきらめました。ネットワークではタイマーが動き続けて"
                             "いますが、この呼び出しを完了させるものがありません（本物のソケット"
                             "なら永遠にブロックします）。待つ時間は settimeout() で選べます。"},
    "socket.timeout": {"ja": "タイムアウトしました: {call}() は仮想時間で {t:g} 秒、{what}を"
                             "待ちました"},
    "socket.idle": {"ja": "{call}() は永遠にブロックします: シミュレーションのネットワークは止まって"
                          "います（送信中のパケットも、待っているタイマーもありません）。そのため"
                          "{what}は決して起こりません。相手は connect() や send() を呼びましたか。"
                          "ポーリングするなら setblocking(False) を使ってください。"},
    "socket.einprogress": {"ja": "操作は現在処理中です: SYN を送りました。ネットワークを進めてから"
                                 "ソケットを確かめてください"},
    "socket.tuple_in_use": {"ja": "要求されたアドレスを割り当てられません: 4タプル {laddr}:{lport} "
                                  "-> {ip}:{port} はすでに使われています"},
    "socket.epipe_unconnected": {"ja": "パイプが切断されました: 接続していないソケットで {call}() "
                                       "を呼びました（先に connect() するか、accept() が返した"
                                       "ソケットを使います）"},
    "socket.send_flags": {"ja": "サポートされていない操作です: send() のフラグ {flags:#x} は "
                                "simtcp ではモデル化されていません（MSG_MORE は使えます）"},
    "udpsocket.option": {"ja": "利用できないプロトコルです: レベル {level} のオプション {option} は"
                               " UDP ではシミュレートされていません（SO_REUSEADDR、SO_BROADCAST、"
                               "SO_RCVBUF、SO_SNDBUF は使えます）"},
    "sockopt.user_timeout": {"ja": "無効な引数です: TCP_USER_TIMEOUT は 0 以上のミリ秒数です"},
    "sockopt.maxseg": {"ja": "無効な引数です: TCP_MAXSEG は 88〜32767 です"},
    "sockopt.keepalive": {"ja": "無効な引数です: {name} は 1〜{top} です"},
    "sockopt.linger": {"ja": "無効な引数です: SO_LINGER には struct linger を渡します"
                             "（struct.pack('ii', l_onoff, l_linger)）"},
    "sockopt.congestion": {"ja": "そのようなファイルやディレクトリはありません: 輻輳制御 {name!r} は"
                                 "使えません（tcp_available_congestion_control: {known}）"},
    "sockopt.tcp_info_read_only": {"ja": "利用できないプロトコルです: TCP_INFO は読む（getsockopt）"
                                         "ことしかできません"},
    "sockopt.not_modelled": {"ja": "利用できないプロトコルです: レベル {level} のオプション {option}"
                                   " は simtcp ではモデル化されていません（モデル化されているもの: "
                                   "{modelled}）"},
    "sockargs.int_option": {"ja": "無効な引数です: int のソケットオプションには 4 バイト以上が必要"
                                  "です"},
    "sockargs.shutdown_how": {"ja": "無効な引数です: how は SHUT_RD、SHUT_WR、SHUT_RDWR のどれか"
                                    "です"},
    "sockargs.ipv4_only": {"ja": "プロトコルによってサポートされていないアドレスファミリーです: "
                                 "simtcp がシミュレートするのは IPv4（AF_INET）だけです"},
    "sockargs.type_range": {"ja": "無効な引数です: ソケット型 {type}"},
    "sockargs.type": {"ja": "サポートされていないソケット型です: {type}"},
    "sockargs.proto": {"ja": "サポートされていないプロトコルです: ソケット型 {type} でプロトコル "
                             "{proto}"},
})
# Typed reasons (simtcp.reasons: key reason.<value>) that figures do not label; the
# kernel's own log line (syn_flood_warning) and sysctl names stay as Linux prints them.
add_catalogue({
    "reason.active_open": {"ja": "アクティブオープン"},
    "reason.syn_retransmission": {"ja": "SYN の再送"},
    "reason.synack": {"ja": "待ち受けソケットが SYN を受信"},
    "reason.synack_retransmission": {"ja": "SYN,ACK の再送"},
    "reason.duplicate_syn": {"ja": "重複した SYN: SYN,ACK を再送"},
    "reason.simultaneous_open": {"ja": "同時オープン"},
    "reason.syn_cookie": {"ja": "SYN cookie"},
    "reason.handshake_ack": {"ja": "ハンドシェイク完了"},
    "reason.data": {"ja": "データ"},
    "reason.fin": {"ja": "FIN"},
    "reason.retransmission": {"ja": "再送"},
    "reason.fast_retransmit": {"ja": "高速再送（重複 ACK 3個）"},
    "reason.fast_retransmit_partial": {"ja": "高速再送（部分 ACK）"},
    "reason.zero_window_probe": {"ja": "ゼロウィンドウプローブ"},
    "reason.rack_retransmit": {"ja": "RACK が損失と判定したセグメントの再送"},
    "reason.keepalive_probe": {"ja": "キープアライブプローブ"},
    "reason.ack_data": {"ja": "データへの ACK"},
    "reason.delayed_ack": {"ja": "遅延 ACK"},
    "reason.ack_of_fin": {"ja": "FIN への ACK"},
    "reason.window_update": {"ja": "ウィンドウ更新"},
    "reason.duplicate_data": {"ja": "重複データ"},
    "reason.dsack": {"ja": "重複データ: D-SACK"},
    "reason.out_of_order": {"ja": "順序の乱れたデータ: 重複 ACK"},
    "reason.unacceptable": {"ja": "受け入れられないセグメント"},
    "reason.challenge_ack_rst": {"ja": "ウィンドウ内の RST へのチャレンジ ACK"},
    "reason.challenge_ack_syn": {"ja": "SYN へのチャレンジ ACK"},
    "reason.time_wait_syn": {"ja": "TIME-WAIT での SYN: ACK を返す"},
    "reason.time_wait_fin": {"ja": "TIME-WAIT での FIN の再送: ACK を返し 2MSL をやり直す"},
    "reason.time_wait_out_of_window": {"ja": "TIME-WAIT でウィンドウ外のセグメント: ACK を返す"},
    "reason.injected": {"ja": "注入されたパケット"},
    "reason.peer": {"ja": "peer が送信"},
    "reason.syn_flood": {"ja": "SYNフラッド"},
    "reason.passive_open": {"ja": "パッシブオープン、バックログ {backlog}"},
    "reason.listener_close": {"ja": "待ち受けソケットで close()"},
    "reason.cookie_ack": {"ja": "ACK に正しい SYN cookie"},
    "reason.cookie_established": {"ja": "ACK が正しい SYN cookie を運んだ"},
    "reason.close_before_handshake": {"ja": "ハンドシェイク完了前の close()"},
    "reason.refused": {"ja": "接続拒否（RST）"},
    "reason.reset_by_peer": {"ja": "相手からのリセット（RST）"},
    "reason.rst_in_syn_received": {"ja": "SYN-RECEIVED で RST: LISTEN に戻る"},
    "reason.syn_in_syn_received": {"ja": "SYN-RECEIVED で新しい SYN: 要求をリセット"},
    "reason.ack_of_our_fin": {"ja": "自分の FIN への ACK"},
    "reason.time_wait_expired": {"ja": "2MSL タイマ満了"},
    "reason.fin_wait_2_timeout": {"ja": "FIN-WAIT-2 で tcp_fin_timeout 満了"},
    "reason.timed_out": {"ja": "接続タイムアウト"},
    "reason.persist_timed_out": {"ja": "接続タイムアウト（持続タイマ）"},
    "reason.keepalive_timed_out": {"ja": "接続タイムアウト（キープアライブ）"},
    "reason.ack_unsent": {"ja": "チャレンジ ACK: まだ送っていないデータへの ACK"},
    "reason.hystart_exit": {"ja": "HyStart: cwnd {cwnd} でスロースタートを終える ({how})"},
    "reason.rack_loss": {"ja": "RACK: {segments} 個のセグメントを損失と判定（届いたセグメントより前に送られ、RACK.rtt + 並べ替え窓より古い）"},
    "reason.rto": {"ja": "再送タイムアウト: {retry} 回目、次の RTO は {next_rto:g} 秒"},
    "reason.give_up": {"ja": "あきらめる"},
    "reason.syn_dropped": {"ja": "SYN を破棄"},
    "reason.accept_queue_reset": {"ja": "accept キューが満杯: リセット"},
    "reason.accept_queue_ignored": {"ja": "accept キューが満杯: ACK を無視"},
    "reason.cookie_failed": {"ja": "SYN cookie の検査に失敗"},
    "reason.bad_cookie": {"ja": "偽造または期限切れの cookie"},
    "reason.retries_exhausted": {"ja": "最後の再送の後も応答なし"},
    "reason.retries2_exhausted": {"ja": "tcp_retries2 を使い切った"},
    "reason.probes_unanswered": {"ja": "ゼロウィンドウプローブ {probes} 回に応答なし"},
    "reason.keepalive_unanswered": {"ja": "キープアライブプローブ {probes} 回に応答なし"},
    "reason.established": {"ja": "4タプルが一致"},
    "reason.established_table": {"ja": "確立済みテーブル: {state}"},
    "reason.listener": {"ja": "待ち受けソケット {listener[0]}:{listener[1]}"},
    "reason.no_socket": {"ja": "ソケットなし"},
    "reason.specific_address": {"ja": "特定のアドレス"},
    "reason.wildcard_address": {"ja": "ワイルドカードアドレス"},
    "reason.time_wait_replaced": {"ja": "TIME-WAIT を新しい接続で置き換え"},
    "reason.reply_rst": {"ja": "RST で応答"},
    "reason.no_rst_for_rst": {"ja": "RST には RST を返さない"},
    "reason.tail_loss_probe": {"ja": "テールロスプローブ（再送）"},
    "reason.raw": {"ja": "raw ソケット（ツールが組み立てたパケット）"},
    "reason.datagram": {"ja": "データグラム"},
    "reason.listener_shutdown": {"ja": "待ち受けソケットで shutdown(): 待ち受けを終了"},
    "reason.sack_reneging": {"ja": "SACK の取り消し: {delay:g} 秒後に再送タイムアウト"},
    "reason.ofo_pruned": {"ja": "順序外キューを削減: {bytes} バイトを破棄"},
    "reason.rcvbuf_grown": {"ja": "受信バッファを自動調整: {rcvbuf} バイト"},
    "reason.rcvbuf_collapsed": {"ja": "受信キューを詰め直し: メモリ {rmem} バイト"},
    "reason.rcvbuf_dropped": {"ja": "受信メモリ不足: {bytes} バイトを破棄し、ウィンドウ 0"},
    "reason.no_ack_for_pto": {"ja": "プローブタイムアウト（2 SRTT）内に ACK なし"},
    "reason.cwnd_restart": {"ja": "アイドル後の cwnd の再開"},
    "reason.idle_longer_than_rto": {"ja": "RTO より長いアイドル"},
    "reason.udp_socket": {"ja": "UDP ソケット {socket[0]}:{socket[1]}"},
    "reason.reply_port_unreachable": {"ja": "ICMP ポート到達不能で応答"},
    # what the kernel itself prints: the log line (tcp_syn_flood_action() in
    # net/ipv4/tcp_input.c) and the sysctl setting are English under every locale
    "reason.syn_flood_warning": {"ja": "Possible SYN flooding on port {port}. Sending cookies."},
    "reason.abort_on_overflow": {"ja": "tcp_abort_on_overflow=1"},
})
