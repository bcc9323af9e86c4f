"""The message catalogue: every word a simtcp figure shows, in English and Japanese.

Theory of operation: figures never contain literal label strings; they ask `t(key, lang)`.
One flat dict maps a key to its "en" and "ja" text, so a missing translation is visible in
one place (a test checks that every key has both languages) and a teacher can correct a
wording without touching drawing code. Texts may hold `str.format` fields (``{port}``) that
`t(..., port=80)` fills in.

Japanese wording follows the terms Japanese networking textbooks use (e.g. 送信元ポート,
確認応答番号, ウェルノウンポート). TCP state names stay as the RFC spells them in both
languages — students meet them in `ss`/`netstat` output — and get a short Japanese gloss
(`state_gloss.*`). Transition events keep RFC 9293 Figure 5's words in English
(``rcv SYN / snd SYN,ACK``) and read as 「SYN受信 / SYN,ACK送信」 in Japanese.
"""
from __future__ import annotations

from typing import Dict

LANGS = ("en", "ja")

_C: Dict[str, Dict[str, str]] = {
    # --- shared -----------------------------------------------------------------------
    "time_ms": {"en": "time (ms)", "ja": "時間 (ms)"},
    "time_s": {"en": "time (s)", "ja": "時間 (s)"},
    "handshake": {"en": "3-way handshake", "ja": "3ウェイハンドシェイク"},
    "client": {"en": "client", "ja": "クライアント"},
    "server": {"en": "server", "ja": "サーバ"},
    "attacker": {"en": "attacker", "ja": "攻撃者"},
    "segment.syn": {"en": "SYN", "ja": "SYN"},
    "segment.ack": {"en": "ACK", "ja": "ACK"},
    "segment.data": {"en": "data", "ja": "データ"},
    "segment.fin": {"en": "FIN", "ja": "FIN"},
    "segment.rst": {"en": "RST", "ja": "RST"},
    "segment.lost": {"en": "lost", "ja": "消失"},
    "segment.retransmission": {"en": "retransmission", "ja": "再送"},
    "bytes": {"en": "{n} bytes", "ja": "{n} バイト"},

    # --- header diagram: titles ----------------------------------------------------------
    "header.title": {"en": "One packet, field by field: {summary}",
                     "ja": "1つのパケットを1フィールドずつ: {summary}"},
    "header.ipv4": {"en": "IPv4 header (RFC 791), {n} bytes",
                    "ja": "IPv4ヘッダ (RFC 791)  {n} バイト"},
    "header.tcp": {"en": "TCP header (RFC 9293), {n} bytes",
                   "ja": "TCPヘッダ (RFC 9293)  {n} バイト"},
    "header.bit": {"en": "bit", "ja": "ビット"},
    "header.payload": {"en": "followed by {n} bytes of data",
                       "ja": "この後に {n} バイトのデータが続く"},
    "header.no_payload": {"en": "no data (header only)", "ja": "データなし (ヘッダのみ)"},
    "header.flag_set": {"en": "flag bit = 1", "ja": "フラグ = 1"},
    "header.flag_clear": {"en": "flag bit = 0", "ja": "フラグ = 0"},
    "header.part": {"en": "{name} (part {i} of {n})", "ja": "{name} ({i}/{n})"},

    # --- IPv4 fields (RFC 791 §3.1; DSCP/ECN per RFC 2474 and RFC 3168) -------------------
    "field.version": {"en": "Version", "ja": "バージョン"},
    "field.ihl": {"en": "IHL", "ja": "ヘッダ長"},
    "field.dscp": {"en": "DSCP", "ja": "DSCP"},
    "field.ecn": {"en": "ECN", "ja": "ECN"},
    "field.total_length": {"en": "Total Length", "ja": "パケット長"},
    "field.identification": {"en": "Identification", "ja": "識別子"},
    "field.flags": {"en": "Flags", "ja": "フラグ"},
    "field.reserved_flag": {"en": "Rsv", "ja": "予約"},
    "field.DF": {"en": "DF", "ja": "DF"},
    "field.MF": {"en": "MF", "ja": "MF"},
    "field.fragment_offset": {"en": "Fragment Offset", "ja": "フラグメントオフセット"},
    "field.ttl": {"en": "Time to Live", "ja": "生存時間 (TTL)"},
    "field.protocol": {"en": "Protocol", "ja": "プロトコル"},
    "field.header_checksum": {"en": "Header Checksum", "ja": "ヘッダチェックサム"},
    "field.src_addr": {"en": "Source Address", "ja": "送信元IPアドレス"},
    "field.dst_addr": {"en": "Destination Address", "ja": "宛先IPアドレス"},
    "field.ip_options": {"en": "IP Options", "ja": "IPオプション"},

    # --- TCP fields (RFC 9293 §3.1 Figure 1) ----------------------------------------------
    "field.sport": {"en": "Source Port", "ja": "送信元ポート"},
    "field.dport": {"en": "Destination Port", "ja": "宛先ポート"},
    "field.seq": {"en": "Sequence Number", "ja": "シーケンス番号"},
    "field.ack": {"en": "Acknowledgment Number", "ja": "確認応答番号"},
    "field.data_offset": {"en": "Data Offset", "ja": "データオフセット"},
    "field.reserved": {"en": "Rsrvd", "ja": "予約"},
    "field.window": {"en": "Window", "ja": "ウィンドウサイズ"},
    "field.checksum": {"en": "Checksum", "ja": "チェックサム"},
    "field.urgent": {"en": "Urgent Pointer", "ja": "緊急ポインタ"},
    "field.options": {"en": "Options", "ja": "オプション"},
    "field.padding": {"en": "Padding", "ja": "パディング"},

    # --- TCP options (RFC 9293 §3.2, RFC 7323, RFC 2018) ---------------------------------
    "option.mss": {"en": "MSS {value}", "ja": "MSS {value}"},
    "option.sack_perm": {"en": "SACK permitted", "ja": "SACK許可"},
    "option.timestamp": {"en": "Timestamps  TSval {val}  TSecr {ecr}",
                         "ja": "タイムスタンプ  TSval {val}  TSecr {ecr}"},
    "option.nop": {"en": "NOP", "ja": "NOP"},
    "option.wscale": {"en": "Window Scale {value}", "ja": "ウィンドウスケール {value}"},
    "option.eol": {"en": "End of List", "ja": "EOL (終端)"},
    "option.sack": {"en": "SACK {blocks}", "ja": "SACK {blocks}"},
    "option.unknown": {"en": "option kind {kind}", "ja": "オプション 種別 {kind}"},
    # Short option names, for the parts of an option that wraps onto several rows.
    "optname.mss": {"en": "MSS", "ja": "MSS"},
    "optname.wscale": {"en": "Window Scale", "ja": "ウィンドウスケール"},
    "optname.sack_perm": {"en": "SACK permitted", "ja": "SACK許可"},
    "optname.timestamp": {"en": "Timestamps", "ja": "タイムスタンプ"},
    "optname.sack": {"en": "SACK", "ja": "SACK"},
    "optname.nop": {"en": "NOP", "ja": "NOP"},
    "optname.eol": {"en": "End of List", "ja": "EOL"},
    "optname.unknown": {"en": "option", "ja": "オプション"},

    # --- port map (RFC 6335 §6) ------------------------------------------------------------
    "portmap.title": {"en": "The TCP port number space", "ja": "TCPのポート番号空間"},
    "portmap.full": {"en": "All ports 0–65535 (to scale)",
                     "ja": "全ポート 0〜65535 (実際の比率)"},
    "portmap.zoom": {"en": "Zoom: well-known ports 0–1023",
                     "ja": "拡大: ウェルノウンポート 0〜1023"},
    "portmap.xlabel": {"en": "port number", "ja": "ポート番号"},
    "portmap.ephemeral_by_os": {"en": "ephemeral range used by each OS",
                                "ja": "OSごとのエフェメラルポート範囲"},
    "portmap.in_use": {"en": "port in use", "ja": "使用中のポート"},
    "portmap.port0": {"en": "port 0:\nreserved", "ja": "ポート0:\n予約"},
    "portmap.service": {"en": "well-known service", "ja": "代表的なサービス"},
    "port.reserved": {"en": "Reserved", "ja": "予約"},
    "port.system": {"en": "Well-known ports", "ja": "ウェルノウンポート"},
    "port.user": {"en": "Registered ports", "ja": "登録済みポート"},
    "port.dynamic": {"en": "Ephemeral ports (dynamic/private)",
                     "ja": "エフェメラルポート (動的/プライベート)"},
    "os.linux": {"en": "Linux", "ja": "Linux"},
    "os.windows": {"en": "Windows", "ja": "Windows"},
    "os.macos": {"en": "macOS", "ja": "macOS"},
    "os.freebsd": {"en": "FreeBSD", "ja": "FreeBSD"},

    # --- state diagram (RFC 9293 §3.3.2 Figure 5) ----------------------------------------
    "states.title": {"en": "TCP connection states (RFC 9293, Figure 5)",
                     "ja": "TCPの状態遷移図 (RFC 9293 図5)"},
    "states.path": {"en": "transitions this connection took, in order",
                    "ja": "この接続がたどった遷移 (番号は順序)"},
    "states.other": {"en": "other transitions", "ja": "その他の遷移"},
    "states.abort": {"en": "abort: RST or timeout → CLOSED",
                     "ja": "中断: RST受信またはタイムアウト → CLOSED"},
    "states.active_open": {"en": "active open (client)", "ja": "アクティブオープン (クライアント)"},
    "states.passive_open": {"en": "passive open (server)", "ja": "パッシブオープン (サーバ)"},
    "states.active_close": {"en": "active close", "ja": "アクティブクローズ"},
    "states.passive_close": {"en": "passive close", "ja": "パッシブクローズ"},
    "state_gloss.CLOSED": {"en": "", "ja": "接続なし"},
    "state_gloss.LISTEN": {"en": "", "ja": "接続待ち受け"},
    "state_gloss.SYN-SENT": {"en": "", "ja": "SYN送信済み"},
    "state_gloss.SYN-RECEIVED": {"en": "", "ja": "SYN受信済み"},
    "state_gloss.ESTABLISHED": {"en": "", "ja": "接続確立"},
    "state_gloss.FIN-WAIT-1": {"en": "", "ja": "FIN待ち1"},
    "state_gloss.FIN-WAIT-2": {"en": "", "ja": "FIN待ち2"},
    "state_gloss.CLOSE-WAIT": {"en": "", "ja": "クローズ待ち"},
    "state_gloss.CLOSING": {"en": "", "ja": "同時クローズ中"},
    "state_gloss.LAST-ACK": {"en": "", "ja": "最後のACK待ち"},
    "state_gloss.TIME-WAIT": {"en": "", "ja": "2MSL待ち"},

    # Transition events, keyed by the exact event text of simtcp.states.TRANSITIONS.
    # English keeps the RFC words; " / " separates the event from the action.
    "event.passive OPEN": {"en": "passive OPEN", "ja": "パッシブオープン"},
    "event.active OPEN / snd SYN": {"en": "active OPEN / snd SYN",
                                    "ja": "アクティブオープン / SYN送信"},
    "event.rcv SYN / snd SYN,ACK": {"en": "rcv SYN / snd SYN,ACK",
                                    "ja": "SYN受信 / SYN,ACK送信"},
    "event.SEND / snd SYN": {"en": "SEND / snd SYN", "ja": "SEND / SYN送信"},
    "event.CLOSE": {"en": "CLOSE", "ja": "CLOSE"},
    "event.rcv SYN,ACK / snd ACK": {"en": "rcv SYN,ACK / snd ACK",
                                    "ja": "SYN,ACK受信 / ACK送信"},
    "event.rcv SYN / snd SYN,ACK (simultaneous open)": {
        "en": "rcv SYN / snd SYN,ACK (simultaneous open)",
        "ja": "SYN受信 / SYN,ACK送信 (同時オープン)"},
    "event.CLOSE, RST or timeout": {"en": "CLOSE, RST or timeout",
                                    "ja": "CLOSE, RST受信, タイムアウト"},
    "event.rcv ACK of SYN": {"en": "rcv ACK of SYN", "ja": "SYNへのACK受信"},
    "event.CLOSE / snd FIN": {"en": "CLOSE / snd FIN", "ja": "CLOSE / FIN送信"},
    "event.rcv RST (passive open)": {"en": "rcv RST (passive open)",
                                     "ja": "RST受信 (パッシブオープン時)"},
    "event.rcv RST or timeout": {"en": "rcv RST or timeout", "ja": "RST受信またはタイムアウト"},
    "event.rcv FIN / snd ACK": {"en": "rcv FIN / snd ACK", "ja": "FIN受信 / ACK送信"},
    "event.rcv ACK of FIN": {"en": "rcv ACK of FIN", "ja": "FINへのACK受信"},
    "event.rcv FIN / snd ACK (simultaneous close)": {
        "en": "rcv FIN / snd ACK (simultaneous close)",
        "ja": "FIN受信 / ACK送信 (同時クローズ)"},
    "event.rcv FIN,ACK / snd ACK": {"en": "rcv FIN,ACK / snd ACK",
                                    "ja": "FIN,ACK受信 / ACK送信"},
    "event.rcv RST": {"en": "rcv RST", "ja": "RST受信"},
    "event.rcv ACK of FIN (or RST, timeout)": {
        "en": "rcv ACK of FIN (or RST, timeout)",
        "ja": "FINへのACK受信 (またはRST, タイムアウト)"},
    "event.timeout = 2 MSL (or new SYN, RST)": {
        "en": "timeout = 2 MSL (or new SYN, RST)",
        "ja": "2MSL経過 (または新しいSYN, RST)"},

    # --- ladder diagram (simtcp.viz.ladder) ------------------------------------------------
    "ladder.title_conn": {"en": "Connection {a} ⇄ {b}", "ja": "コネクション {a} ⇄ {b}"},
    "ladder.title_hosts": {"en": "TCP segments: {hosts}", "ja": "TCPセグメント: {hosts}"},
    "ladder.title_packets": {"en": "Packets: {hosts}", "ja": "パケット: {hosts}"},
    "ladder.lost": {"en": "lost: {reason}", "ja": "消失: {reason}"},
    "ladder.discarded": {"en": "ignored: {reason}", "ja": "破棄: {reason}"},
    "ladder.elided_data": {"en": "⋯ {n} more data segments, not shown ⋯",
                           "ja": "⋯ データセグメント {n} 個を省略 ⋯"},
    "ladder.elided_ack": {"en": "⋯ {n} more ACKs, not shown ⋯", "ja": "⋯ ACK {n} 個を省略 ⋯"},
    "ladder.until": {"en": "(sent until {t} ms)", "ja": "({t} ms まで送信)"},
    "ladder.tcb": {"en": "TCB right after each send", "ja": "各送信の直後のTCB"},
    "ladder.idle": {"en": "{dt} idle", "ja": "{dt} 経過"},

    # --- scans: port-state map and scan ladders -------------------------------------------
    "scanmap.title": {"en": "What nmap saw on {target}: one tile per port",
                      "ja": "nmap から見た {target}: 1 ポート 1 マス"},
    "scanmap.legend": {"en": "state (count) — what the scanner saw",
                       "ja": "状態 (数) — スキャナが観測したこと"},
    "scanmap.open": {"en": "a program accepted the probe (SYN-ACK, or a UDP reply)",
                     "ja": "プログラムが応答した (SYN-ACK、または UDP の応答)"},
    "scanmap.closed": {"en": "the host answered, nobody listens (RST, ICMP port unreachable)",
                       "ja": "ホストは応答したが待ち受けなし (RST、ICMP ポート到達不能)"},
    "scanmap.filtered": {"en": "no answer after retries, or ICMP unreachable: a firewall",
                         "ja": "再送しても無応答、または ICMP 到達不能: ファイアウォール"},
    "scanmap.unfiltered": {"en": "reachable (ACK scan); open or closed is not known",
                           "ja": "到達可能 (ACK スキャン)。開閉は分からない"},
    "scanmap.open|filtered": {"en": "silence: open, or a firewall dropped the probe",
                              "ja": "無応答: 開いているか、ファイアウォールが破棄した"},
    "scanmap.closed|filtered": {"en": "closed, or filtered: nmap cannot tell",
                                "ja": "閉じているかフィルタされている: 区別できない"},
    "scanmap.footer": {"en": "inside each tile: port, service, nmap's reason",
                       "ja": "マスの中: ポート番号・サービス名・nmap の判定理由"},
    "scan.syn_title": {"en": "SYN scan (nmap -sS): open port 22 answers SYN-ACK, "
                             "the scanner's kernel resets it; closed port 23 answers RST",
                       "ja": "SYN スキャン (nmap -sS): 開いた 22 番は SYN-ACK、スキャナのカーネル"
                             "が RST。閉じた 23 番は RST"},
    "scan.stealth_title": {"en": "FIN, NULL and Xmas scans: open port 22 stays silent "
                                 "(then a retry), closed port 23 answers RST",
                           "ja": "FIN・NULL・Xmas スキャン: 開いた 22 番は無言 (再送も)、"
                                 "閉じた 23 番は RST"},
    "scan.ack_title": {"en": "ACK scan through a stateful firewall: 22 is let through "
                             "(RST: unfiltered), 80 is dropped (filtered)",
                       "ja": "ステートフルファイアウォール越しの ACK スキャン: 22 番は通過 "
                             "(RST: unfiltered)、80 番は破棄 (filtered)"},
    "ladder.legend_lost": {"en": "lost (× where it was dropped)", "ja": "消失 (× = 失われた位置)"},
    "ladder.legend_rst": {"en": "reset (RST)", "ja": "リセット (RST)"},
    "ladder.legend_instant": {"en": "sent at the same instant (spread out to be readable)",
                              "ja": "同じ時刻に送信 (読めるように縦に並べた)"},
    "ladder.legend_break": {"en": "idle time compressed (axis times are true)",
                            "ja": "待ち時間を圧縮 (軸の時刻は実際の値)"},
    "ladder.why_cookie": {"en": "seq = SYN cookie, no state kept",
                          "ja": "seq が SYN cookie、状態は保持しない"},
    # typed reasons (simtcp.reasons): key "reason.<machine value>"; English = member text
    "reason.link_loss": {"en": "link loss", "ja": "回線上で損失"},
    "reason.bad_udp_length": {"en": "bad UDP length", "ja": "UDP の長さが不正"},
    "reason.bad_udp_checksum": {"en": "bad UDP checksum", "ja": "UDP チェックサム不正"},
    "reason.bad_icmp_checksum": {"en": "bad ICMP checksum", "ja": "ICMP チェックサム不正"},
    "reason.ttl_exceeded": {"en": "TTL exceeded", "ja": "TTL 超過"},
    "reason.host_unreachable": {"en": "host unreachable (no ARP reply)", "ja": "ホスト到達不能（ARP 応答なし）"},
    "reason.frag_needed": {"en": "fragmentation needed", "ja": "断片化が必要"},
    "reason.frag_not_modelled": {"en": "needs fragmentation (not modelled)", "ja": "断片化が必要（未モデル化）"},
    "reason.hook": {"en": "dropped by a hook", "ja": "フックで破棄"},
    "reason.rejected": {"en": "rejected (an error was sent back)", "ja": "拒否（エラーを返送）"},
    "reason.forwarded": {"en": "forwarded", "ja": "転送"},
    "reason.rewritten": {"en": "rewritten by a hook", "ja": "フックで書き換え"},
    "reason.duplicated": {"en": "copied by a middlebox", "ja": "中継装置が複製"},
    "reason.middlebox_changed": {"en": "changed by a middlebox", "ja": "中継装置が変更"},
    "reason.icmp_error": {"en": "ICMP error", "ja": "ICMP エラー"},
    "reason.reject_reply": {"en": "reply sent by a hook (REJECT)", "ja": "フックが返した応答（REJECT）"},
    "reason.icmp_abort": {"en": "aborted by an ICMP error", "ja": "ICMP エラーで中止"},
    "reason.icmp_match": {"en": "ICMP error for this connection", "ja": "この接続への ICMP エラー"},
    "reason.echo_reply": {"en": "echo reply", "ja": "エコー応答"},
    "reason.traceroute_probe": {"en": "traceroute probe, TTL {ttl}", "ja": "traceroute プローブ（TTL {ttl}）"},
    "reason.request_dropped": {"en": "request dropped after an ICMP error", "ja": "ICMP エラーで要求を破棄"},
    "reason.rewrite": {"en": "rewritten by a hook", "ja": "フックで書き換え"},
    "reason.soft_error": {"en": "ICMP error recorded; the connection goes on", "ja": "ICMP エラーを記録し接続は継続"},
    "reason.pmtu_not_modelled": {"en": "fragmentation needed: path MTU discovery is not modelled", "ja": "断片化が必要：経路 MTU 探索は未モデル化"},
    "reason.icmp_no_socket": {"en": "ICMP error: no socket", "ja": "ICMP エラー：該当ソケットなし"},
    "reason.no_route": {"en": "no route to host", "ja": "宛先への経路なし"},
    "reason.queue_full": {"en": "queue full", "ja": "キューあふれ"},
    "reason.lost_on_purpose": {"en": "lost on purpose", "ja": "意図的に破棄"},
    "reason.middlebox": {"en": "dropped by a middlebox", "ja": "中継装置が破棄"},
    "reason.rate_limit": {"en": "rate limit", "ja": "レート制限"},
    "reason.firewall": {"en": "dropped by a firewall rule", "ja": "ファイアウォールのルールで破棄"},
    "reason.rcvbuf_full": {"en": "receive buffer full", "ja": "受信バッファが満杯"},
    "reason.truncated": {"en": "truncated", "ja": "途中で切れたパケット"},
    "reason.not_ipv4": {"en": "not IPv4", "ja": "IPv4 ではない"},
    "reason.bad_ip_header_length": {"en": "bad IP header length", "ja": "不正な IP ヘッダ長"},
    "reason.bad_ip_total_length": {"en": "bad IP total length", "ja": "不正な IP 全長"},
    "reason.bad_ip_checksum": {"en": "bad IP checksum", "ja": "IP チェックサム誤り"},
    "reason.not_tcp": {"en": "not TCP", "ja": "TCP ではない"},
    "reason.ip_fragment": {"en": "IP fragment", "ja": "IP フラグメント"},
    "reason.bad_tcp_data_offset": {"en": "bad TCP data offset", "ja": "不正な TCP データオフセット"},
    "reason.bad_tcp_checksum": {"en": "bad TCP checksum", "ja": "TCP チェックサム誤り"},
    "reason.syn_queue_full": {"en": "SYN queue full", "ja": "SYNキューが満杯"},
    "reason.accept_queue_full": {"en": "accept queue full", "ja": "acceptキューが満杯"},
    "reason.syn_backlog_reserved": {"en": "tcp_max_syn_backlog: last quarter reserved",
                                    "ja": "tcp_max_syn_backlog: 残り4分の1は予約"},
    "reason.no_abort_on_overflow": {"en": "tcp_abort_on_overflow=0",
                                    "ja": "tcp_abort_on_overflow=0"},
    "reason.no_socket_reset": {"en": "no socket: reset", "ja": "該当するソケットなし: リセット"},
    "reason.listener_ack_reset": {"en": "ACK to a listener: reset",
                                  "ja": "待ち受けソケットへのACK: リセット"},
    "reason.syn_in_syn_received_reset": {"en": "SYN in SYN-RECEIVED: reset",
                                         "ja": "SYN-RECEIVED で SYN 受信: リセット"},
    "reason.unacceptable_ack_syn_sent": {"en": "unacceptable ACK in SYN-SENT",
                                         "ja": "SYN-SENT で受理できない ACK"},
    "reason.unacceptable_ack_syn_received": {"en": "unacceptable ACK in SYN-RECEIVED",
                                             "ja": "SYN-RECEIVED で受理できない ACK"},
    "reason.abort": {"en": "abort", "ja": "強制終了"},
    "reason.close_unread": {"en": "close() with unread data",
                            "ja": "未読データを残して close()"},
    "reason.close_linger_zero": {"en": "close() with SO_LINGER 0: abort",
                                 "ja": "SO_LINGER 0 での close(): 中断 (RST)"},
    "reason.data_after_close": {"en": "data received after close()",
                                "ja": "close() 後にデータを受信"},
    "reason.time_wait_new_syn": {"en": "new SYN reuses the TIME-WAIT 4-tuple",
                                 "ja": "新しい SYN が TIME-WAIT の4タプルを再利用"},
    "reason.time_wait_reused": {"en": "TIME-WAIT reused by connect() (tcp_tw_reuse)",
                                "ja": "connect() が TIME-WAIT を再利用 (tcp_tw_reuse)"},
    "reason.listener_closed": {"en": "listener closed before accept()",
                               "ja": "accept() 前に待ち受けソケットを閉じた"},
    "reason.accept_queue_abort": {"en": "accept queue full (tcp_abort_on_overflow=1)",
                                  "ja": "acceptキューが満杯 (tcp_abort_on_overflow=1)"},

    # --- demultiplexing diagram (simtcp.viz.demux) -----------------------------------------
    "demux.title": {"en": "One server port, many connections: the 4-tuple tells them apart",
                    "ja": "1つのサーバポートに複数の接続: 区別するのは4タプル"},
    "demux.port": {"en": "port {port}", "ja": "ポート {port}"},
    "demux.listening": {"en": "listening socket", "ja": "待ち受けソケット"},
    "demux.connected": {"en": "connection socket", "ja": "接続ソケット"},
    "demux.ephemeral": {"en": "ephemeral port", "ja": "エフェメラルポート"},
    "demux.clients_title": {"en": "clients", "ja": "クライアント"},
    "demux.clients": {"en": "one ephemeral port per connection",
                      "ja": "接続ごとにエフェメラルポート"},
    "demux.table": {"en": "{host}: sockets on port {port} (like ss -tan)",
                    "ja": "{host} のポート {port} のソケット (ss -tan 相当)"},
    "demux.local": {"en": "Local Address:Port", "ja": "ローカル アドレス:ポート"},
    "demux.peer": {"en": "Peer Address:Port", "ja": "相手 アドレス:ポート"},
    "demux.state": {"en": "State", "ja": "状態"},
    "demux.caption": {"en": "All connections use server port {port}: the port alone does not "
                            "identify a connection — the 4-tuple (local address, local port, "
                            "remote address, remote port) does.",
                      "ja": "どの接続もサーバのポート {port} を使う。ポート番号だけでは接続を"
                            "区別できず、4タプル (ローカルアドレス, ローカルポート, "
                            "リモートアドレス, リモートポート) で区別する。"},
    "demux.more": {"en": "… and {n} more", "ja": "… ほか {n} 件"},

    # --- SYN-flood dashboard (simtcp.viz.flood) -------------------------------------------
    "cwnd.title": {"en": "Congestion window over time: {loss:g} % random loss, RTT {rtt:g} ms",
                   "ja": "輻輳ウィンドウの時間変化：ランダム損失 {loss:g} %、RTT {rtt:g} ms"},
    "cwnd.panel": {"en": "{name} — {mb:.1f} MB delivered in 30 s",
                   "ja": "{name} — 30 秒で {mb:.1f} MB を配送"},
    "cwnd.name.reno": {"en": "Reno", "ja": "Reno"},
    "cwnd.name.cubic": {"en": "CUBIC (Linux default)", "ja": "CUBIC（Linux の既定）"},
    "cwnd.ylabel": {"en": "segments", "ja": "セグメント数"},
    "cwnd.xlabel": {"en": "time (s)", "ja": "時間 (秒)"},
    "cwnd.legend.cwnd": {"en": "cwnd", "ja": "cwnd"},
    "cwnd.legend.ssthresh": {"en": "ssthresh", "ja": "ssthresh"},
    "cwnd.legend.fast_retransmit": {"en": "fast retransmit (PRR)", "ja": "高速再送（PRR）"},
    "cwnd.legend.tail_loss_probe": {"en": "tail loss probe", "ja": "テールロスプローブ"},
    "cwnd.legend.rto": {"en": "timeout (RTO)", "ja": "タイムアウト（RTO）"},
    "flood.title": {"en": "SYN flood: {rate:g} SYN/s from {source}",
                    "ja": "SYNフラッド: {source}から毎秒{rate:g}個のSYN"},
    "flood.source.prefix": {"en": "spoofed {prefix}", "ja": "偽装した送信元 {prefix} "},
    "flood.source.random": {"en": "random spoofed sources", "ja": "ランダムに偽装した送信元"},
    "flood.source.single": {"en": "one real source ({ip})", "ja": "偽装なしの単一送信元 ({ip}) "},
    "flood.source.list": {"en": "{n} spoofed addresses", "ja": "偽装アドレス{n}個"},
    "flood.backlog": {"en": "backlog {n}", "ja": "バックログ {n}"},
    "flood.flood_span": {"en": "SYN flood", "ja": "SYNフラッド"},
    "flood.panel.queue": {"en": "Server's SYN queue: half-open connections (SYN-RECEIVED)",
                          "ja": "サーバのSYNキュー: ハーフオープン接続 (SYN-RECEIVED)"},
    "flood.syn_queue": {"en": "SYN queue (half-open)", "ja": "SYNキュー (ハーフオープン)"},
    "flood.capacity": {"en": "capacity {n}", "ja": "上限 {n}"},
    "flood.accept_queue": {"en": "accept queue (waiting for accept())",
                           "ja": "acceptキュー (accept()待ち)"},
    "flood.connections": {"en": "connections", "ja": "接続数"},
    "flood.panel.rates": {"en": "SYNs arriving and what the server does with them",
                          "ja": "届いたSYNとサーバの対応"},
    "flood.per_second": {"en": "per second", "ja": "毎秒の個数"},
    "flood.attack_syns": {"en": "attack SYNs sent", "ja": "攻撃SYN (送信)"},
    "flood.cookies_sent": {"en": "SYN-ACKs with a SYN cookie", "ja": "SYN cookie 付きSYN-ACK"},
    "flood.syn_dropped": {"en": "SYNs dropped (queue full)", "ja": "破棄したSYN (キュー満杯)"},
    "flood.ratelimit_dropped": {"en": "SYNs dropped by the rate limit",
                                "ja": "レート制限で破棄したSYN"},
    "flood.synack_retrans": {"en": "SYN-ACK retransmissions", "ja": "SYN-ACK再送"},
    "flood.panel.legit": {"en": "Legitimate clients ({n} connection attempts)",
                          "ja": "正規クライアント (接続の試行 {n} 回)"},
    "flood.success": {"en": "connected (%)", "ja": "接続成功率 (%)"},
    "flood.success_line": {"en": "connected, attempts of the last {w:g} s",
                           "ja": "接続成功率 (直近{w:g}秒の試行)"},
    "flood.latency": {"en": "handshake (ms)", "ja": "ハンドシェイク (ms)"},
    "flood.attempt_ok": {"en": "an attempt that connected\n(its handshake time)",
                         "ja": "成功した試行\n(ハンドシェイク時間)"},
    "flood.attempt_fail": {"en": "an attempt that failed", "ja": "失敗した試行"},
    "flood.failed": {"en": "failed", "ja": "失敗"},
    "flood.saturated": {"en": "queue full at {t:.2f} s", "ja": "{t:.2f}秒でキューが満杯"},
    "flood.cookies_start": {"en": "SYN cookies from {t:.2f} s",
                            "ja": "{t:.2f}秒からSYN cookie を送信"},
    "flood.never_full": {"en": "queue never full", "ja": "キューは満杯にならない"},
    "flood.footer": {"en": "during the flood {ok} of {n} legitimate attempts connected; "
                           "SYN cookies sent {sent}, validated {valid}, failed {failed}",
                     "ja": "フラッド中の正規の試行 {n} 回のうち {ok} 回が接続成功; "
                           "SYN cookie 送信 {sent} / 検証成功 {valid} / 検証失敗 {failed}"},
    "flood.compare.title": {"en": "The same SYN flood against different defences",
                            "ja": "同じSYNフラッドに対する防御の比較"},
    "flood.compare.success": {"en": "Legitimate clients connected (%)",
                              "ja": "正規クライアントの接続成功率 (%)"},
    "flood.compare.queue": {"en": "SYN queue: half-open connections",
                            "ja": "SYNキュー: ハーフオープン接続の数"},
    "flood.band.title": {"en": "The same SYN flood, {n} seeds: legitimate clients served",
                         "ja": "同じ SYNフラッドを {n} 通りの seed で: 正規のクライアントの接続成功率"},
    "flood.band.subtitle": {"en": "line: median of the seeds; band: lowest to highest seed",
                            "ja": "線: seed の中央値、帯: 最小の seed から最大の seed まで"},
    "flood.band.success": {"en": "connected (%), attempts of the last {w:g} s",
                           "ja": "接続成功率 (%)、直近 {w:g} 秒の試行"},
    "flood.label.cookies0": {"en": "SYN cookies off", "ja": "SYN cookie 無効"},
    "flood.label.cookies1": {"en": "SYN cookies on", "ja": "SYN cookie 有効"},
    "flood.label.cookies2": {"en": "SYN cookies always", "ja": "SYN cookie 常時"},
    "flood.label.ratelimit": {"en": "{base}\n+ SYN limit {rate:g}/s per source",
                              "ja": "{base}\n+ 送信元ごとのSYN制限 (毎秒{rate:g}個)"},

    # --- ladders across routers, topology (simtcp.viz.hops, simtcp.viz.topology) --------
    "hops.title": {"en": "Packets hop by hop", "ja": "ホップごとのパケット"},
    "hops.traceroute_title": {
        "en": "traceroute -T {dst}: one more hop per probe (TTL 1, 2, 3)",
        "ja": "traceroute -T {dst}：プローブごとに 1 ホップ先へ（TTL 1, 2, 3）"},
    "hops.unreach_title": {
        "en": "connect() to {dst}: a router without a route answers ICMP",
        "ja": "{dst} への connect()：経路のないルータが ICMP で答える"},
    "hops.router": {"en": "router", "ja": "ルータ"},
    "hops.host": {"en": "host", "ja": "ホスト"},
    "hops.icmp.11.0": {"en": "ICMP time exceeded", "ja": "ICMP 時間超過"},
    "hops.icmp.3.0": {"en": "ICMP net unreachable", "ja": "ICMP ネットワーク到達不能"},
    "hops.icmp.3.1": {"en": "ICMP host unreachable", "ja": "ICMP ホスト到達不能"},
    "hops.icmp.3.3": {"en": "ICMP port unreachable", "ja": "ICMP ポート到達不能"},
    "hops.icmp.3.4": {"en": "ICMP fragmentation needed", "ja": "ICMP 断片化が必要"},
    "hops.icmp.8.0": {"en": "ICMP echo request", "ja": "ICMP エコー要求"},
    "hops.icmp.0.0": {"en": "ICMP echo reply", "ja": "ICMP エコー応答"},
    "hops.drop.ttl_exceeded": {"en": "TTL 1 → 0: dropped", "ja": "TTL 1 → 0：破棄"},
    "hops.drop.no_route": {"en": "no route: dropped", "ja": "経路なし：破棄"},
    "hops.drop.host_unreachable": {"en": "no ARP reply: dropped",
                                   "ja": "ARP 応答なし：破棄"},
    "topology.title": {"en": "Topology: interfaces, addresses and routes",
                       "ja": "トポロジー：インターフェース・アドレス・経路"},
    "topology.routes": {"en": "routes", "ja": "経路"},
}

# NAT and firewall pictures (viz.natviz, viz.chainwalk)
_C.update({
    "nat.inside": {"en": "Inside host", "ja": "内側のホスト"},
    "nat.router_in": {"en": "Router eth0\n(inside)", "ja": "ルーター eth0\n（内側）"},
    "nat.router_out": {"en": "Router eth1\n(outside)", "ja": "ルーター eth1\n（外側）"},
    "nat.server": {"en": "Server", "ja": "サーバー"},
    "nat.rewrite": {"en": "the router rewrites addresses and ports (conntrack + NAT)",
                    "ja": "ルーターがアドレスとポートを書き換える（conntrack + NAT）"},
    "nat.not_seen": {"en": "(not forwarded)", "ja": "（転送されない）"},
    "nat.table.title": {"en": "NAT translations on {router} (conntrack -L)",
                        "ja": "{router} の NAT 変換表（conntrack -L）"},
    "nat.col.kind": {"en": "NAT", "ja": "種類"},
    "nat.col.proto": {"en": "Proto", "ja": "プロトコル"},
    "nat.col.inside": {"en": "Inside endpoint", "ja": "内側の端点"},
    "nat.col.outside": {"en": "Outside (mapped)", "ja": "外側（変換後）"},
    "nat.col.remote": {"en": "Remote endpoint", "ja": "相手の端点"},
    "nat.col.state": {"en": "State", "ja": "状態"},
    "nat.col.expires": {"en": "Expires in", "ja": "残り時間"},
    "nat.pf.before": {"en": "Before: no port forwarding", "ja": "設定前：ポートフォワーディングなし"},
    "nat.pf.after": {"en": "After: DNAT 203.0.113.1:8080 → 192.168.0.10:80",
                     "ja": "設定後：DNAT 203.0.113.1:8080 → 192.168.0.10:80"},
    "nat.pf.client": {"en": "Client on the Internet", "ja": "インターネット上のクライアント"},
    "nat.pf.router": {"en": "Home router", "ja": "家庭用ルーター"},
    "nat.pf.web": {"en": "Web server (inside)", "ja": "Web サーバー（内側）"},
    "nat.pf.refused": {"en": "RST from the router: {err}", "ja": "ルーターが RST を返す: {err}"},
    "nat.pf.no_rule": {"en": "nothing is forwarded inside", "ja": "内側には何も届かない"},
    "nat.pf.accepted": {"en": "accept() → peer {peer}", "ja": "accept() → 相手 {peer}"},
    "walk.title": {"en": "Which rule did this packet hit? ({node}, table {table}, hook {hook})",
                   "ja": "このパケットはどのルールに当たったか（{node}・{table} テーブル・{hook}）"},
    "walk.policy": {"en": "end of chain: policy {policy}", "ja": "チェーンの終わり：ポリシー {policy}"},
    "walk.verdict": {"en": "Verdict: {verdict} ({where})", "ja": "判定：{verdict}（{where}）"},
    "knock.title": {"en": "Port knocking: SSH is filtered until the client knocks on "
                          "7000, 8000, 9000",
                    "ja": "ポートノッキング：7000・8000・9000 にノックするまで SSH は遮断される"},
    "knock.stage": {"en": "port {port}: knock {stage} of {total}",
                    "ja": "ポート {port}：ノック {stage}/{total}"},
    "knock.filtered": {"en": "port {port}: filtered (DROP)",
                       "ja": "ポート {port}：遮断（DROP）"},
    "knock.open": {"en": "knockd: sequence complete, runs its command",
                   "ja": "knockd：ノック完了、コマンドを実行"},
    "reason.firewall_tarpit": {"en": "held in a tarpit by a firewall rule (TARPIT)",
                               "ja": "ファイアウォールのルールでターピットに捕捉（TARPIT）"},
    "reason.firewall_reject": {"en": "rejected by a firewall rule",
                               "ja": "ファイアウォールのルールで拒否"},
    "reason.conntrack_full": {"en": "conntrack table full (nf_conntrack_max)",
                              "ja": "conntrack テーブルが満杯（nf_conntrack_max）"},
    "reason.nat_clash": {"en": "conntrack insert failed: NAT tuple already in use",
                         "ja": "conntrack への登録に失敗：NAT の変換先タプルが使用中"},
    "reason.nat_no_address": {"en": "MASQUERADE/REDIRECT: no address on the interface",
                              "ja": "MASQUERADE/REDIRECT：インターフェースにアドレスがない"},
    "reason.netfilter": {"en": "netfilter decision", "ja": "netfilter の判定"},
    "walk.by_policy": {"en": "the chain policy", "ja": "チェーンのポリシー"},
})

CATALOGUE = _C


def check_lang(lang: str) -> str:
    """Return ``lang`` if simtcp has texts for it, else raise ValueError naming the choices."""
    if lang not in LANGS:
        raise ValueError(f"unknown language {lang!r}; simtcp figures speak "
                         + ", ".join(repr(x) for x in LANGS))
    return lang


def t(key: str, lang: str = "en", **fmt: object) -> str:
    """The text for ``key`` in ``lang``, with ``{fields}`` filled from ``fmt``.

    KeyError (naming the key) if the catalogue has no such key; ValueError if ``lang`` is
    not one of "en", "ja"; KeyError naming the field if the text needs a ``fmt`` argument
    that was not given.
    """
    check_lang(lang)
    try:
        text = _C[key][lang]
    except KeyError:
        raise KeyError(f"no text for key {key!r} in the simtcp figure catalogue "
                       "(simtcp/viz/i18n.py)") from None
    if not fmt:
        return text
    try:
        return text.format(**fmt)
    except KeyError as e:
        raise KeyError(f"text {key!r} needs the argument {e.args[0]!r}") from None


def has(key: str) -> bool:
    """True if the catalogue has ``key`` (in every language, which a test enforces)."""
    return key in _C
