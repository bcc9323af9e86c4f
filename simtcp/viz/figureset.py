"""The course figure set: ``make figures`` / ``python -m simtcp figures`` regenerates figures/.

Theory of operation: `FIGURES` lists each figure once — a file stem, a title and a one-line
description in both languages, and a function ``make(lang) -> Figure`` that runs a small
deterministic scenario (`simtcp.scenarios`) and draws it. `build_all` renders every figure
in English and Japanese as SVG and PNG (byte-identical across runs: fixed seeds, and
`style.save` strips dates) and writes figures/README.md, the index teachers browse.
"""
from __future__ import annotations

from pathlib import Path
from typing import Callable, List, NamedTuple, Optional, Sequence

from .. import scenarios
from .style import save


class FigureSpec(NamedTuple):
    stem: str
    title_en: str
    title_ja: str
    about_en: str
    about_ja: str
    make: Callable[[str], object]


def _first_conn(net, host: str):
    for r in net.trace:
        if r.kind == "state" and r.host == host and r.conn is not None and r.conn.remote_port:
            return r.conn
    return None


def _ladder(build: Callable, **kw):
    def make(lang: str):
        from .ladder import ladder
        return ladder(build(), lang=lang, **kw)
    return make


def _state_diagram(lang: str):
    from .statediagram import state_diagram
    net = scenarios.teardown(active="client")
    return state_diagram(net.trace.states("client", _first_conn(net, "client")), lang=lang)


def _header(lang: str):
    from .header import header_diagram
    return header_diagram(scenarios.handshake().capture[0].bytes, lang=lang)


def _portmap(lang: str):
    from .portmap import port_space_map
    return port_space_map(lang=lang)


def _demux(lang: str):
    from .demux import demux_diagram
    net, server = scenarios.many_clients(3)
    return demux_diagram(server, port=80, lang=lang)


def _hops(build: Callable, title_key: str, dst: str,
          lifelines: Sequence[str] = ("client", "r1", "r2", "server")):
    def make(lang: str):
        from .hops import hop_ladder
        from .i18n import t
        return hop_ladder(build(), list(lifelines), lang=lang,
                          title=t(title_key, lang, dst=dst))
    return make


def _topology(lang: str):
    from ..sim import Network
    from .topology import topology_diagram
    net = Network(seed=1)
    net.two_sites()
    return topology_diagram(net, lang=lang)


def _cwnd(lang: str):
    from .cwnd import cwnd_figure
    return cwnd_figure(lang)


def _flood(defences: Sequence[dict], compare: bool):
    def make(lang: str):
        from ..tools.flood import run_flood_scenario
        from .flood import compare_runs, flood_dashboard
        runs = [run_flood_scenario(**d) for d in defences]
        if compare:
            return compare_runs(runs, lang=lang)
        return flood_dashboard(runs[0], lang=lang)
    return make


def _nat_ladder(lang: str):
    from .. import natlab
    from .natviz import nat_ladder
    ns = natlab.masquerade_two_clients()
    return nat_ladder(ns.lan_capture, ns.wan_capture, "192.168.0.11",
                      ("192.168.0.1", "203.0.113.1"), "203.0.113.5", lang=lang)


def _nat_table(lang: str):
    from .. import natlab
    from .natviz import nat_table
    return nat_table(natlab.masquerade_two_clients().router, lang=lang)


def _chain_walk(lang: str):
    from .. import natlab
    from .chainwalk import chain_walk, netfilter_events
    ns = natlab.firewall_walk()
    record = next(r for r in netfilter_events(ns.net, "server")
                  if r.packet.segment is not None and r.packet.segment.dport == 22)
    return chain_walk(ns.server, record, lang=lang)


def _scan_ladder(name: str, title_key: str):
    def make(lang: str):
        from .. import scanlab
        from .i18n import t
        from .ladder import ladder
        net, _report = getattr(scanlab, name)()
        return ladder(net, lang=lang, ports=True, title=t(title_key, lang))
    return make


def _scan_map(lang: str):
    from .. import scanlab
    from .scanmap import port_state_map
    _net, report = scanlab.scanned_host()
    return port_state_map(report, lang=lang)


def _knock_ladder(lang: str):
    from .knockviz import knock_ladder
    return knock_ladder(scenarios.port_knock(), lang=lang)


def _port_forwarding(lang: str):
    from .. import natlab
    from .natviz import port_forward_before_after
    return port_forward_before_after(natlab.port_forwarding(False),
                                     natlab.port_forwarding(True), lang=lang)


FIGURES: List[FigureSpec] = [
    FigureSpec("handshake", "Three-way handshake", "3ウェイハンドシェイク",
               "SYN, SYN-ACK, ACK on a 10 ms link, with options and the states of both ends.",
               "10 ms のリンク上の SYN・SYN-ACK・ACK。オプションと両端の状態遷移つき。",
               _ladder(scenarios.handshake)),
    FigureSpec("data_loss_retransmission", "Data with one loss and its retransmission",
               "データ転送：1つの損失と再送",
               "Six data segments; the second is lost on the link and retransmitted after "
               "duplicate ACKs or the retransmission timeout.",
               "6 個のデータセグメントのうち 2 番目がリンクで失われ、再送される様子。",
               _ladder(scenarios.transfer_with_loss)),
    FigureSpec("teardown_active_client", "Teardown: the client closes first",
               "切断：クライアントが先に閉じる",
               "FIN/ACK in both directions; the active closer waits in TIME-WAIT (60 s on Linux).",
               "双方向の FIN/ACK。先に閉じた側が TIME-WAIT で待つ（Linux では 60 秒）。",
               _ladder(lambda: scenarios.teardown(active="client"))),
    FigureSpec("teardown_active_server", "Teardown: the server closes first",
               "切断：サーバーが先に閉じる",
               "Now the server is the active closer and ends in TIME-WAIT; the client passes "
               "through CLOSE-WAIT and LAST-ACK.",
               "今度はサーバーが先に閉じて TIME-WAIT に入り、クライアントは CLOSE-WAIT と "
               "LAST-ACK を通る。",
               _ladder(lambda: scenarios.teardown(active="server"))),
    FigureSpec("rst_closed_port", "RST from a closed port", "閉じたポートからの RST",
               "A SYN to a port nobody listens on is answered with RST,ACK seq=0 "
               "ack=SEG.SEQ+1 (RFC 9293 §3.10.7.1).",
               "誰も待ち受けていないポートへの SYN には RST,ACK（seq=0, ack=SEG.SEQ+1）が返る"
               "（RFC 9293 §3.10.7.1）。",
               _ladder(scenarios.rst_closed_port)),
    FigureSpec("simultaneous_open", "Simultaneous open", "同時オープン",
               "Both ends send a SYN at the same time; each goes SYN-SENT → SYN-RECEIVED → "
               "ESTABLISHED (RFC 9293 Figure 8).",
               "両端が同時に SYN を送り、それぞれ SYN-SENT → SYN-RECEIVED → ESTABLISHED と"
               "遷移する（RFC 9293 図8）。",
               _ladder(scenarios.simultaneous_open)),
    FigureSpec("cwnd_reno_cubic", "Congestion window: Reno and CUBIC",
               "輻輳ウィンドウ：Reno と CUBIC",
               "A 30 s bulk transfer over a lossy 100 ms path: Reno's saw-tooth against "
               "CUBIC's curve, with fast retransmits (PRR), tail loss probes and timeouts.",
               "損失のある RTT 100 ms の経路で 30 秒間の一括転送。Reno ののこぎり波と CUBIC の"
               "曲線を、高速再送（PRR）・テールロスプローブ・タイムアウトとともに比べる。",
               _cwnd),
    FigureSpec("state_diagram", "TCP state diagram", "TCP の状態遷移図",
               "RFC 9293 Figure 5 drawn from simtcp's transition table, with the path of an "
               "actively closed client connection numbered.",
               "simtcp の遷移表から描いた RFC 9293 図5。能動的に閉じたクライアント接続の経路に"
               "番号をふってある。",
               _state_diagram),
    FigureSpec("header_syn", "The headers of a real SYN", "実際の SYN のヘッダー",
               "IPv4 and TCP headers of the scapy-built SYN, field by field in the RFC's "
               "32-bit rows, with its options.",
               "scapy が組み立てた SYN の IPv4/TCP ヘッダーを RFC の 32 ビット行で、"
               "オプションも含めて 1 フィールドずつ。",
               _header),
    FigureSpec("port_space", "The port number space", "ポート番号の空間",
               "IANA's well-known, registered and dynamic ranges, common services, and the "
               "ephemeral ranges of Linux, Windows, macOS and FreeBSD.",
               "IANA のウェルノウン・登録済み・動的ポートの範囲、代表的なサービス、各 OS の"
               "エフェメラルポート範囲。",
               _portmap),
    FigureSpec("demux", "Demultiplexing by 4-tuple", "4タプルによる多重分離",
               "Three clients on one server port: the 4-tuple, not the port, tells the "
               "connections apart.",
               "1 つのサーバーポートに 3 つのクライアント。接続を区別するのはポートではなく "
               "4タプル。",
               _demux),
    FigureSpec("syn_flood_no_cookies", "SYN flood without SYN cookies",
               "SYN cookie なしの SYNフラッド",
               "200 spoofed SYN/s fill the SYN queue of a backlog-128 listener; legitimate "
               "clients fail.",
               "毎秒 200 個の送信元偽装 SYN が backlog 128 の SYN キューを埋め、正規の"
               "クライアントが接続できなくなる。",
               _flood([dict(syncookies=0)], compare=False)),
    FigureSpec("syn_flood_cookies", "SYN flood with SYN cookies", "SYN cookie ありの SYNフラッド",
               "The same flood with tcp_syncookies=1: cookies are sent once the queue "
               "overflows and legitimate clients get through.",
               "同じ攻撃に tcp_syncookies=1 で対抗。キューがあふれると cookie が送られ、正規の"
               "クライアントは接続できる。",
               _flood([dict(syncookies=1)], compare=False)),
    FigureSpec("syn_flood_defences", "SYN flood defences compared", "SYNフラッド対策の比較",
               "No defence, SYN cookies, fewer SYN-ACK retries and per-source rate limiting, "
               "side by side.",
               "対策なし・SYN cookie・SYN-ACK 再送回数の削減・送信元ごとのレート制限を並べて比較。",
               _flood([dict(syncookies=0), dict(syncookies=1),
                       dict(syncookies=0, synack_retries=1),
                       dict(syncookies=0, rate_limit=(10.0, 20))], compare=True)),
    FigureSpec("syn_cookie_handshake", "A handshake completed by a SYN cookie",
               "SYN cookie で完了するハンドシェイク",
               "SYN → SYN-ACK whose sequence number is the cookie → ACK → ESTABLISHED, with no "
               "half-open state kept.",
               "SYN → シーケンス番号が cookie の SYN-ACK → ACK → ESTABLISHED。ハーフオープンの"
               "状態は残らない。",
               _ladder(scenarios.cookie_handshake)),
    FigureSpec("traceroute_hops", "traceroute across two routers",
               "2 台のルータを越える traceroute",
               "SYN probes with TTL 1, 2, 3: each router on the path drops the probe whose TTL "
               "runs out and answers ICMP time exceeded; the third reaches the server.",
               "TTL 1, 2, 3 の SYN プローブ。TTL が尽きたルータがプローブを捨てて ICMP 時間超過を"
               "返し、3 つ目がサーバーに届く。",
               _hops(scenarios.traceroute_tcp, "hops.traceroute_title", "10.0.2.10")),
    FigureSpec("net_unreachable_hops", "A router without a route",
               "経路を持たないルータ",
               "r2 has no route to 10.9.0.1: it drops the SYN and answers ICMP net unreachable; "
               "connect() fails with ENETUNREACH after one round trip.",
               "r2 は 10.9.0.1 への経路を持たないので SYN を捨てて ICMP ネットワーク到達不能を返し、"
               "connect() は 1 往復後に ENETUNREACH で失敗する。",
               _hops(scenarios.net_unreachable, "hops.unreach_title", "10.9.0.1",
                     ("client", "r1", "r2"))),
    FigureSpec("udp_port_unreachable", "UDP: a closed port answers with ICMP",
               "UDP：閉じたポートは ICMP で答える",
               "A datagram to a closed UDP port gets ICMP port unreachable (3/3), which quotes "
               "it; a connected socket then reports ECONNREFUSED. The open port 53 answers "
               "with a datagram: no handshake either way.",
               "閉じた UDP ポートへのデータグラムには、それを引用した ICMP ポート到達不能（3/3）が"
               "返り、接続済みソケットは ECONNREFUSED を受け取る。開いているポート 53 は"
               "データグラムで答える。どちらにもハンドシェイクはない。",
               _ladder(scenarios.udp_port_unreachable)),
    FigureSpec("dns_udp_then_tcp", "DNS: UDP first, TCP after truncation",
               "DNS：まず UDP、切り詰められたら TCP",
               "An answer larger than 512 bytes comes back over UDP with the TC bit and no "
               "records; the resolver asks again over TCP port 53 (RFC 1035 §4.2, RFC 7766).",
               "512 バイトを超える答えは TC ビットを立ててレコードなしで UDP で返り、リゾルバは "
               "TCP のポート 53 で問い合わせ直す（RFC 1035 §4.2、RFC 7766）。",
               _ladder(scenarios.dns_truncation, max_arrows=16)),
    FigureSpec("topology_two_sites", "Two sites and the internet between them",
               "2 つの拠点とその間のインターネット",
               "Hosts, routers, their interfaces and addresses, the subnets of the links and "
               "each router's routes (net.two_sites()).",
               "ホスト・ルータ・インターフェースとアドレス・リンクのサブネット・各ルータの経路"
               "（net.two_sites()）。",
               _topology),
    FigureSpec("nat_ladder", "NAT: one connection, two 4-tuples",
               "NAT：1つの接続、2つの4タプル",
               "The second of two inside hosts that both use source port 40000: its packets on "
               "the router's inside and outside wires, with the 4-tuple each wire carries "
               "(MASQUERADE picked another outside port).",
               "どちらも送信元ポート 40000 を使う内側のホスト2台のうち2台目。ルーターの内側と外側の"
               "回線を流れるパケットと、それぞれの4タプル（MASQUERADE が外側で別のポートを選んだ）。",
               _nat_ladder),
    FigureSpec("nat_table", "The NAT translation table", "NAT の変換表",
               "The router's conntrack entries for the two connections: inside endpoint, "
               "the outside endpoint it is mapped to, the remote endpoint, state and expiry.",
               "2つの接続についてのルーターの conntrack エントリ。内側の端点、変換後の外側の端点、"
               "相手の端点、状態、残り時間。",
               _nat_table),
    FigureSpec("firewall_chain_walk", "Which rule did this packet hit?",
               "このパケットはどのルールに当たったか",
               "An SSH SYN walks a default-deny INPUT chain and a user chain: numbered steps, "
               "rules that matched, the LOG rule it passed and the REJECT that decided.",
               "SSH の SYN が原則拒否の INPUT チェーンとユーザー定義チェーンをたどる様子。番号つきの"
               "手順、マッチしたルール、通過した LOG ルール、そして判定した REJECT。",
               _chain_walk),
    FigureSpec("port_forwarding", "Port forwarding, before and after",
               "ポートフォワーディングの設定前と設定後",
               "A connection to 203.0.113.1:8080 is refused by the router itself, then "
               "delivered to the web server 192.168.0.10:80 once a DNAT rule exists.",
               "203.0.113.1:8080 への接続は、ルールがなければルーター自身に拒否され、DNAT ルールを"
               "置くと内側の Web サーバー 192.168.0.10:80 に届く。",
               _port_forwarding),
    FigureSpec("scan_syn", "SYN scan: open and closed ports", "SYN スキャン：開いたポートと閉じたポート",
               "nmap -sS: the open port answers SYN-ACK and the scanner's own kernel resets "
               "the half-open connection; the closed port answers RST at once.",
               "nmap -sS。開いたポートは SYN-ACK を返し、スキャナ自身のカーネルが半開きの接続を "
               "RST で終わらせる。閉じたポートはすぐに RST を返す。",
               _scan_ladder("syn_scan", "scan.syn_title")),
    FigureSpec("scan_fin_null_xmas", "FIN, NULL and Xmas scans", "FIN・NULL・Xmas スキャン",
               "Probes without SYN, RST or ACK: a closed port answers RST (RFC 9293 "
               "§3.10.7.1), an open one drops them silently, so nmap retries and can only say "
               "open|filtered.",
               "SYN・RST・ACK のないプローブ。閉じたポートは RST を返し（RFC 9293 §3.10.7.1）、"
               "開いたポートは黙って捨てるので、nmap は再送したうえで open|filtered としか言えない。",
               _scan_ladder("stealth_scans", "scan.stealth_title")),
    FigureSpec("scan_ack_stateful", "ACK scan through a stateful firewall",
               "ステートフルファイアウォール越しの ACK スキャン",
               "nmap -sA maps the firewall, not the services: the port the rules let through "
               "answers RST (unfiltered), the one the DROP policy catches stays silent "
               "(filtered).",
               "nmap -sA が調べるのはサービスではなくファイアウォール。ルールが通すポートは RST を"
               "返し（unfiltered）、DROP ポリシーに捕まるポートは無言（filtered）。",
               _scan_ladder("ack_scan_stateful", "scan.ack_title")),
    FigureSpec("scan_port_states", "A scanned host, port by port", "スキャンしたホストのポートごとの状態",
               "nmap -sS -sU against a server behind a firewall: every port's state and "
               "nmap's reason — open, closed, filtered (DROP or REJECT) and open|filtered.",
               "ファイアウォールの内側のサーバーに nmap -sS -sU。各ポートの状態と nmap の判定理由"
               "（open・closed・filtered（DROP か REJECT）・open|filtered）。",
               _scan_map),
    FigureSpec("knock_ladder", "Port knocking", "ポートノッキング",
               "SSH is dropped by the firewall; the client knocks on 7000, 8000 and 9000 "
               "(dropped too, but knockd sees them), knockd opens port 22 for the client's "
               "address only, and the next connect() completes.",
               "SSH はファイアウォールで破棄される。クライアントが 7000・8000・9000 にノックすると"
               "（これも破棄されるが knockd には見える）、knockd がそのクライアントのアドレスにだけ"
               "ポート 22 を開け、次の connect() が成功する。",
               _knock_ladder),
]


def build_all(outdir="figures", only: Optional[Sequence[str]] = None,
              langs: Sequence[str] = ("en", "ja")) -> List[Path]:
    """Render the figure set into ``outdir``/<lang>/<stem>.{svg,png}; returns the paths."""
    import matplotlib.pyplot as plt
    out = Path(outdir)
    written: List[Path] = []
    for spec in FIGURES:
        if only and spec.stem not in only:
            continue
        for lang in langs:
            (out / lang).mkdir(parents=True, exist_ok=True)
            fig = spec.make(lang)
            written.extend(Path(p) for p in save(fig, out / lang / spec.stem))
            plt.close(fig)
    if not only:
        (out / "README.md").write_text(index_markdown(), encoding="utf-8")
        written.append(out / "README.md")
    return written


def index_markdown() -> str:
    lines = ["# simtcp course figures / 講義用の図", "",
             "Regenerate with `make figures` (or `python -m simtcp figures`). Every figure exists "
             "in English (`en/`) and Japanese (`ja/`), as SVG (for slides and print) and PNG. "
             "They come from deterministic simulations, so regenerating gives the same files.",
             "",
             "`make figures`（または `python -m simtcp figures`）で再生成できます。すべての図に"
             "英語版（`en/`）と日本語版（`ja/`）があり、SVG と PNG で出力されます。",
             ""]
    for spec in FIGURES:
        lines += [f"## {spec.title_en} / {spec.title_ja}", "",
                  f"{spec.about_en}", "", f"{spec.about_ja}", "",
                  f"[en SVG](en/{spec.stem}.svg) · [ja SVG](ja/{spec.stem}.svg)", "",
                  f'<img src="en/{spec.stem}.png" width="480"> '
                  f'<img src="ja/{spec.stem}.png" width="480">', ""]
    return "\n".join(lines)
