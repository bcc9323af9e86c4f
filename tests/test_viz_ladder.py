"""Ladder and demux diagrams: rows from the trace, what is drawn, filters, determinism."""
import io
import logging
import warnings

import pytest

import simtcp
from simtcp.segment import FourTuple
from simtcp.viz import style
from simtcp.viz.demux import demux_diagram, demux_rows
from simtcp.viz.ladder import ladder, ladder_rows
from simtcp.reasons import DropReason


# ------------------------------------------------------------------ scenarios
def _pair(seed=1, loss=0.0):
    net = simtcp.Network(seed=seed)
    c = net.add_host("client", "192.168.1.10")
    s = net.add_host("server", "192.168.1.20")
    net.add_link(c, s, delay=0.010, loss=loss)
    return net, c, s


def handshake():
    net, c, s = _pair()
    srv = s.socket(); srv.bind(("0.0.0.0", 80)); srv.listen(128)
    cli = c.socket(); cli.connect(("192.168.1.20", 80)); srv.accept(); net.run()
    return net, cli


def full_exchange():
    net, c, s = _pair()
    srv = s.socket(); srv.bind(("0.0.0.0", 80)); srv.listen(128)
    cli = c.socket(); cli.connect(("192.168.1.20", 80)); conn, _ = srv.accept()
    cli.sendall(b"hello"); conn.recv(1024); cli.close()
    net.run(until=net.now + 0.05); conn.close(); net.run()
    return net, cli


def lossy(seed=3, n=40000):
    net, c, s = _pair(seed=seed, loss=0.05)
    srv = s.socket(); srv.bind(("0.0.0.0", 80)); srv.listen(128)
    cli = c.socket(); cli.connect(("192.168.1.20", 80)); conn, _ = srv.accept()
    cli.sendall(b"x" * n)
    got = 0
    while got < n:
        got += len(conn.recv(65536))
    cli.close(); conn.close(); net.run()
    return net


def three_clients():
    net = simtcp.Network(seed=7)
    server = net.add_host("server", "10.0.0.80")
    clients = [net.add_host(f"client{i + 1}", f"10.0.0.{11 + i}") for i in range(3)]
    net.add_lan([server] + clients, delay=0.001)
    srv = server.socket(); srv.bind(("0.0.0.0", 80)); srv.listen(16)
    socks = []
    for c in clients:
        s = c.socket(); s.connect(("10.0.0.80", 80)); srv.accept(); socks.append(s)
    return net, server, socks


def segs(rows):
    return [r for r in rows if r["type"] == "segment"]


def states(rows, host):
    return [r["state"] for r in rows if r["type"] == "state" and r["host"] == host]


def gids(fig, prefix):
    return [a.get_gid() for a in fig.findobj() if (a.get_gid() or "").startswith(prefix)]


def texts(fig):
    return [t.get_text() for t in fig.findobj(lambda a: hasattr(a, "get_text"))]


# ------------------------------------------------------------------ the handshake
def test_handshake_rows_and_states():
    net, _ = handshake()
    rows = ladder_rows(net)
    s = segs(rows)
    assert [r["label"].split()[0] for r in s] == ["SYN", "SYN,ACK", "ACK"]
    assert [r["kind"] for r in s] == ["syn", "synack", "ack"]
    assert [(r["sender"], r["receiver"]) for r in s] == [
        ("client", "server"), ("server", "client"), ("client", "server")]
    assert s[0]["label"].startswith("SYN seq=0 win=64240 <mss 1460")
    assert s[1]["label"].startswith("SYN,ACK seq=0 ack=1")
    assert s[2]["label"] == "ACK seq=1 ack=1"
    assert all(r["t_arrive"] == pytest.approx(r["t_send"] + 0.010) for r in s)
    assert states(rows, "client") == ["SYN-SENT", "ESTABLISHED"]
    assert states(rows, "server") == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED"]


def test_handshake_figure_has_three_arrows_and_state_boxes():
    net, _ = handshake()
    fig = ladder(net)
    shafts = [g for g in gids(fig, "segment-") if not g.endswith("-head")]
    assert len(shafts) == 3
    assert len(gids(fig, "segment-")) == 6            # each delivered arrow has a head
    boxes = {a.get_gid(): a.get_text() for a in fig.axes[0].texts
             if (a.get_gid() or "").startswith("state-")}
    client = [v for k, v in boxes.items() if k.startswith("state-client-")]
    server = [v for k, v in boxes.items() if k.startswith("state-server-")]
    assert client == ["SYN-SENT", "ESTABLISHED"]
    assert server == ["LISTEN", "SYN-RECEIVED", "ESTABLISHED"]
    # the client (first sender) is the left lifeline
    lines = {ln.get_gid(): ln.get_xdata()[0] for ln in fig.axes[0].lines
             if (ln.get_gid() or "").startswith("lifeline-")}
    assert lines["lifeline-client"] < lines["lifeline-server"]


def test_labels_of_different_arrows_do_not_overlap():
    net, _ = full_exchange()
    fig = ladder(net)
    from matplotlib.backends.backend_agg import FigureCanvasAgg
    renderer = FigureCanvasAgg(fig).get_renderer()
    boxes = {}
    for t in fig.axes[0].texts:
        gid = t.get_gid() or ""
        if gid.startswith("label-"):
            boxes.setdefault(gid.rsplit("-", 1)[0], []).append(t.get_window_extent(renderer))
    assert len(boxes) == len(segs(ladder_rows(net)))
    # arrows here are gentle slopes, so the axis-aligned boxes of the rotated parts are tight
    keys = sorted(boxes)
    for i, a in enumerate(keys):
        for b in keys[i + 1:]:
            for ba in boxes[a]:
                for bb in boxes[b]:
                    assert not ba.shrunk(0.9, 0.8).overlaps(bb.shrunk(0.9, 0.8)), (a, b)


# ------------------------------------------------------------------ numbering, filters
def test_relative_numbers_start_at_zero_and_absolute_on_request():
    net, cli = full_exchange()
    rel = segs(ladder_rows(net))
    first = {}
    for r in rel:
        first.setdefault(r["sender"], r["seq"])
    assert first == {"client": 0, "server": 0}
    absolute = segs(ladder_rows(net, relative=False))
    syn = next(r for r in net.trace if r.kind == "send")
    assert absolute[0]["seq"] == int(syn.packet.segment.seq)
    assert f"seq={int(syn.packet.segment.seq)}" in absolute[0]["label"]
    # the FIN carries seq = 1 + 5 data bytes; its ACK acknowledges 7 (FIN counts one)
    fin = next(r for r in rel if r["kind"] == "fin" and r["sender"] == "client")
    assert fin["seq"] == 6
    assert any(r["ack"] == 7 and r["sender"] == "server" for r in rel)


def test_filters_conn_hosts_and_window():
    net, server, socks = three_clients()
    all_rows = segs(ladder_rows(net))
    assert len(all_rows) == 9
    tup = socks[1].conn.tuple
    for c in (tup, tup.reversed()):
        only = segs(ladder_rows(net, conn=c))
        assert len(only) == 3
        assert {r["tuple"] for r in only} <= {tup, tup.reversed()}
    by_host = segs(ladder_rows(net, hosts=["client3", "server"]))
    assert len(by_host) == 3 and {r["sender"] for r in by_host} == {"client3", "server"}
    assert len(segs(ladder_rows(net, hosts="client1"))) == 3
    t_first = all_rows[3]["t_send"]
    window = segs(ladder_rows(net, t0=t_first))
    assert window == [r for r in all_rows if r["t_send"] >= t_first]
    assert segs(ladder_rows(net, t1=0.0)) == all_rows[:1]
    # three connections in one ladder: one lifeline per host
    fig = ladder(net, hosts=["client1", "client2", "server"])
    assert len(gids(fig, "lifeline-")) == 3
    with pytest.raises(ValueError, match="nothing to draw"):
        ladder(net, conn=FourTuple("1.2.3.4", 1, "5.6.7.8", 2))
    with pytest.raises(ValueError, match="before t0"):
        ladder_rows(net, t0=1.0, t1=0.5)


# ------------------------------------------------------------------ loss, retransmission, RST
def test_lost_segment_ends_in_a_cross_and_has_no_arrival():
    net = lossy()
    rows = segs(ladder_rows(net))
    lost = [r for r in rows if r["lost"]]
    assert lost, "seed 3 loses segments on this link"
    assert all(r["t_arrive"] is None and r["kind"] == "lost" and r["drop_reason"] is DropReason.LINK_LOSS
               for r in lost)
    fig = ladder(net)
    crosses = set(gids(fig, "lost-"))
    heads = set(gids(fig, "segment-"))
    for r in lost:                      # losses are never elided
        assert f"lost-{r['pkt_id']}" in crosses
        assert f"segment-{r['pkt_id']}" in heads
        assert f"segment-{r['pkt_id']}-head" not in heads
    assert any("lost: link loss" in s for s in texts(fig))


def test_retransmission_is_marked_and_long_transfers_are_elided():
    net = lossy()
    rows = segs(ladder_rows(net))
    retrans = [r for r in rows if r["retrans"]]
    assert retrans and all(r["kind"] == "retrans" for r in retrans)
    assert len(rows) > 40
    fig = ladder(net, max_arrows=40)
    shaft = {ln.get_gid(): ln for ln in fig.axes[0].lines}
    for r in retrans:
        assert shaft[f"segment-{r['pkt_id']}"].get_linestyle() != "-"
    assert "retransmission" in texts(fig)
    drawn = [g for g in gids(fig, "segment-") if not g.endswith("-head")]
    assert len(drawn) < len(rows)
    short = ladder_rows(net, max_arrows=20)
    elided = [r for r in short if r["type"] == "elided"]
    assert elided and sum(r["n"] for r in elided) + len(segs(short)) == len(rows)
    kept = {r["pkt_id"] for r in segs(short)}
    assert all(r["pkt_id"] in kept for r in rows if r["lost"] or r["retrans"]
               or r["base_kind"] in ("syn", "synack", "fin", "rst"))
    assert any(s.startswith("⋯") for s in texts(ladder(net, max_arrows=20)))
    with pytest.raises(ValueError, match="at least 4"):
        ladder(net, max_arrows=2)


def test_rst_to_a_closed_port():
    net, c, s = _pair()
    cli = c.socket()
    with pytest.raises(ConnectionRefusedError):
        cli.connect(("192.168.1.20", 81))
    net.run()
    rows = ladder_rows(net)
    rst = segs(rows)[1]
    assert rst["kind"] == "rst" and rst["label"] == "RST,ACK seq=0 ack=1"
    assert states(rows, "client") == ["SYN-SENT", "CLOSED"]
    fig = ladder(net)
    line = {ln.get_gid(): ln for ln in fig.axes[0].lines}[f"segment-{rst['pkt_id']}"]
    assert line.get_color() == style.color("rst") and line.get_linewidth() > 2
    assert "(no socket: reset)" in texts(fig)


def test_simultaneous_open():
    net, c, s = _pair()
    a = c.socket(); a.bind(("0.0.0.0", 5000)); a.setblocking(False)
    b = s.socket(); b.bind(("0.0.0.0", 6000)); b.setblocking(False)
    a.connect_ex(("192.168.1.20", 6000)); b.connect_ex(("192.168.1.10", 5000))
    net.run(until=1.0)
    rows = ladder_rows(net)
    assert [r["kind"] for r in segs(rows)][:2] == ["syn", "syn"]
    for host in ("client", "server"):
        assert states(rows, host)[:3] == ["SYN-SENT", "SYN-RECEIVED", "ESTABLISHED"]
    assert len(gids(ladder(net), "state-")) == 6


def test_idle_gaps_are_compressed_and_tcb_columns():
    net, _ = full_exchange()
    fig = ladder(net)
    assert "≈" in texts(fig)                       # the 60 s TIME-WAIT wait is cut
    assert fig.get_figheight() < 14
    assert "60100" in texts(fig)                   # …but the tick keeps the true time
    tcb = ladder(net, tcb=True)
    assert {"SND.UNA", "SND.NXT", "RCV.NXT", "SND.WND", "RCV.WND"} <= set(texts(tcb))
    syn = segs(ladder_rows(net))[0]
    assert syn["tcb"][:3] == (0, 1, None)          # RCV.NXT unknown before the peer's SYN


# ------------------------------------------------------------------ output
def test_same_scenario_gives_identical_svg(tmp_path):
    out = []
    for k in range(2):
        net, _ = full_exchange()
        svg, _png = style.save(ladder(net, tcb=True), tmp_path / f"ladder{k}")
        out.append(open(svg, "rb").read())
    assert out[0] == out[1]


@pytest.mark.parametrize("draw", ["ladder", "demux"])
def test_japanese_has_no_missing_glyphs(draw, caplog):
    if draw == "ladder":
        fig = ladder(lossy(), lang="ja", max_arrows=20)
    else:
        fig = demux_diagram(three_clients()[1], lang="ja")
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        for fmt in ("png", "svg"):
            fig.savefig(io.BytesIO(), format=fmt)
    assert not [w for w in caught if "missing from" in str(w.message)]
    assert not [r for r in caplog.records if "findfont" in r.getMessage()]
    assert any("消失" in s for s in texts(fig)) or draw == "demux"


def test_ladder_draws_into_a_given_axes():
    from matplotlib.figure import Figure
    fig = Figure(figsize=(12, 8))
    ax = fig.add_subplot(1, 1, 1)
    net, _ = handshake()
    assert ladder(net, ax=ax, title="") is fig
    assert len([g for g in gids(fig, "segment-") if not g.endswith("-head")]) == 3
    with pytest.raises(ValueError, match="Network or its Trace"):
        ladder(object())
    assert len(segs(ladder_rows(net.trace))) == 3


# ------------------------------------------------------------------ demux
def test_demux_lists_every_four_tuple():
    net, server, socks = three_clients()
    extra = net.nodes["client1"].socket()
    extra.connect(("10.0.0.80", 80))
    fig = demux_diagram(server)
    shown = texts(fig)
    conns = [t for t in server.stack.conns if t.local_port == 80]
    assert len(conns) == 4
    for tup in conns:
        assert f"({tup.local_ip}, 80, {tup.remote_ip}, {tup.remote_port})" in shown
        assert f"{tup.remote_ip}:{tup.remote_port}" in shown
        assert f"port {tup.remote_port}" in shown
    assert "(0.0.0.0, 80, *, *)" in shown and "LISTEN" in shown
    assert shown.count("port 80") == 1                    # one server port for all
    rows = demux_rows(server)
    assert rows[0]["listener"] and [r["client"] for r in rows[1:]] == [
        "client1", "client1", "client2", "client3"]
    with pytest.raises(ValueError, match="no socket on port 81"):
        demux_diagram(server, port=81)


@pytest.mark.parametrize("lang", ["en", "ja"])
def test_a_long_title_wraps_inside_the_figure(lang):
    net, _ = handshake()
    title = ("A title far too long for one line of a three-arrow ladder, with clauses; "
             "it must wrap at a clause break and stay inside the figure on both sides")
    fig = ladder(net, title=title, lang=lang)
    fig.canvas.draw()
    box = fig.bbox
    lines = [t for t in fig.axes[0].texts if t.get_text() and t.get_text() in title]
    assert len(lines) >= 2 and " ".join(t.get_text() for t in lines) == title
    assert lines[0].get_text().endswith(";")              # the clause break was chosen
    for t in lines:
        ext = t.get_window_extent()
        assert box.x0 <= ext.x0 and ext.x1 <= box.x1, t.get_text()
    import matplotlib.pyplot as plt
    plt.close(fig)
