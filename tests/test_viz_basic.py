"""Tests for the figure foundation: style/save, the catalogue, header, state and port figures.

Figures are built with matplotlib's Figure class (no pyplot), so no backend is selected;
text extents are measured with the Agg renderer matplotlib uses when none is given.
"""
from __future__ import annotations

import logging
import warnings

import matplotlib
import pytest
from scapy.layers.inet import IP, TCP
from scapy.packet import Raw

from simtcp.ports import SEED_PORTS
from simtcp.states import TRANSITIONS, State
from simtcp.viz import (LANGS, header_diagram, header_fields, highlighted_edges,
                        port_space_map, save, state_diagram, t, use_style)
from simtcp.viz import i18n, style
from simtcp.viz.header import TCP_FLAG_BITS


def syn_example_bytes() -> bytes:
    """A Linux-like SYN, every field set explicitly (scapy defaults surprise)."""
    p = IP(src="192.168.1.10", dst="192.168.1.20", ttl=64, id=4321, flags="DF") / TCP(
        sport=40000, dport=80, flags="S", seq=3012345678, ack=0, window=64240, urgptr=0,
        options=[("MSS", 1460), ("SAckOK", b""), ("Timestamp", (12345, 0)), ("NOP", None),
                 ("WScale", 7)])
    return bytes(p)


CLIENT_PATH = ["CLOSED", "SYN-SENT", "ESTABLISHED", "FIN-WAIT-1", "FIN-WAIT-2", "TIME-WAIT",
               "CLOSED"]


def _by_gid(fig, prefix):
    return {a.get_gid(): a for a in fig.findobj(lambda a: (a.get_gid() or "").startswith(prefix))}


def _render(fig):
    fig.draw_without_rendering()
    return fig._get_renderer()


# --------------------------------------------------------------------------- style, save --

def test_save_is_byte_deterministic(tmp_path):
    fig = state_diagram(CLIENT_PATH, lang="ja")
    a_svg, a_png = save(fig, tmp_path / "a")
    b_svg, b_png = save(fig, tmp_path / "b")
    # A second, separately built figure must give the same bytes too.
    c_svg, c_png = save(state_diagram(CLIENT_PATH, lang="ja"), tmp_path / "c")
    svg = [open(p, "rb").read() for p in (a_svg, b_svg, c_svg)]
    png = [open(p, "rb").read() for p in (a_png, b_png, c_png)]
    assert svg[0] == svg[1] == svg[2]
    assert png[0] == png[1] == png[2]
    assert png[0][:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<dc:date>" not in svg[0] and b"Matplotlib v" not in png[0]


def test_save_wants_a_path_without_extension(tmp_path):
    with pytest.raises(ValueError, match="without extension"):
        save(state_diagram(), tmp_path / "x.png")


def test_style_does_not_leak_into_rcparams():
    before = list(matplotlib.rcParams["font.family"])
    with use_style("ja"):
        assert matplotlib.rcParams["font.family"][0] == style.JA_FONT
    assert list(matplotlib.rcParams["font.family"]) == before
    port_space_map("ja")
    assert list(matplotlib.rcParams["font.family"]) == before


def test_figures_display_in_notebooks_without_pyplot():
    # IPython falls back to _repr_png_ when no inline printer is registered.
    png = port_space_map()._repr_png_()
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"Matplotlib" not in png


def test_roles_and_states_have_colours():
    assert style.color("syn") != style.color("rst")
    for s in State:
        assert style.state_color(s).startswith("#")
    with pytest.raises(ValueError, match="roles are"):
        style.color("banana")


# ------------------------------------------------------------------------------ catalogue --

def test_catalogue_has_every_key_in_both_languages():
    for key, texts in i18n.CATALOGUE.items():
        assert set(texts) == set(LANGS), key
        assert texts["ja"], f"{key} has no Japanese text"
        if not key.startswith("state_gloss."):
            assert texts["en"], f"{key} has no English text"


def test_catalogue_translates_every_transition_event():
    for row in TRANSITIONS:
        assert i18n.has("event." + row.event), row.event


def test_catalogue_lookup_errors_teach():
    assert t("field.sport", "ja") == "送信元ポート"
    assert t("field.ack", "ja") == "確認応答番号"
    assert t("bytes", "en", n=20) == "20 bytes"
    with pytest.raises(KeyError, match="no.such.key"):
        t("no.such.key")
    with pytest.raises(ValueError, match="'en', 'ja'"):
        t("field.sport", "fr")


@pytest.mark.parametrize("make", [
    lambda lang: header_diagram(syn_example_bytes(), lang=lang),
    lambda lang: state_diagram(CLIENT_PATH, lang=lang),
    lambda lang: port_space_map(lang, in_use=[22, 40000]),
], ids=["header", "states", "portmap"])
def test_japanese_renders_without_missing_glyphs(make, tmp_path, caplog):
    fig = make("ja")
    # Draw outside use_style(), as Jupyter does after the cell: fonts were fixed at creation.
    with warnings.catch_warnings(record=True) as caught, caplog.at_level(logging.WARNING):
        warnings.simplefilter("always")
        save(fig, tmp_path / "ja")
    msgs = [str(w.message) for w in caught]
    assert not [m for m in msgs if "Glyph" in m or "missing from" in m], msgs
    assert not [r for r in caplog.records if "findfont" in r.getMessage()]
    texts = " ".join(x.get_text() for x in fig.findobj(matplotlib.text.Text))
    assert any("\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff" for ch in texts)


# --------------------------------------------------------------------------------- header --

def test_header_fields_match_the_bytes_scapy_built():
    data = syn_example_bytes()
    pkt = IP(data)
    f = {(x.layer, x.name): x for x in header_fields(data)}
    assert f["TCP", "sport"].value == 40000 and f["TCP", "sport"].bit_offset == 0
    assert f["TCP", "dport"].value == 80 and f["TCP", "dport"].bit_offset == 16
    assert f["TCP", "seq"].value == 3012345678 and f["TCP", "seq"].bit_width == 32
    assert f["TCP", "window"].value == 64240
    assert f["TCP", "checksum"].value == pkt[TCP].chksum
    assert f["IPv4", "header_checksum"].value == pkt[IP].chksum
    assert f["IPv4", "src_addr"].value == "192.168.1.10"
    assert f["IPv4", "identification"].value == 4321
    assert f["IPv4", "DF"].value == 1 and f["IPv4", "MF"].value == 0
    assert f["TCP", "data_offset"].value == 10                    # 40-byte header
    set_bits = [n for n in TCP_FLAG_BITS if f["TCP", n].value]
    assert set_bits == ["SYN"]
    assert f["TCP", "mss"].value == 1460
    assert f["TCP", "sack_perm"].value is True
    assert f["TCP", "timestamp"].value == (12345, 0)
    assert f["TCP", "timestamp"].bit_width == 80                  # wraps over three rows
    assert f["TCP", "nop"].bit_width == 8
    assert f["TCP", "wscale"].value == 7
    # The TCP fields tile the header exactly: no gaps, no overlaps.
    tcp = sorted((x for x in f.values() if x.layer == "TCP"), key=lambda x: x.bit_offset)
    assert tcp[0].bit_offset == 0
    for a, b in zip(tcp, tcp[1:]):
        assert a.bit_offset + a.bit_width == b.bit_offset, (a, b)
    assert tcp[-1].bit_offset + tcp[-1].bit_width == 32 * 10


def test_header_fields_flags_of_a_data_segment():
    data = bytes(IP(src="10.0.0.1", dst="10.0.0.2", flags=0, id=1) / TCP(
        sport=80, dport=51234, flags="PA", seq=1, ack=6, window=502) / Raw(b"hello"))
    f = {(x.layer, x.name): x.value for x in header_fields(data)}
    assert [n for n in TCP_FLAG_BITS if f["TCP", n]] == ["ACK", "PSH"]
    assert f["TCP", "ack"] == 6 and f["IPv4", "total_length"] == 45


def test_header_fields_rejects_non_tcp_with_a_reason():
    with pytest.raises(ValueError, match="too short"):
        header_fields(b"\x45\x00")
    udp = bytearray(syn_example_bytes())
    udp[9] = 17
    with pytest.raises(ValueError, match="protocol 17"):
        header_fields(bytes(udp))


@pytest.mark.parametrize("lang", LANGS)
def test_header_diagram_labels_show_values_and_fit_their_boxes(lang):
    fig = header_diagram(syn_example_bytes(), lang=lang)
    labels = _by_gid(fig, "field-")
    text = {gid: a.get_text() for gid, a in labels.items()}
    assert text["field-TCP-sport"] == f"{t('field.sport', lang)} 40000"
    assert "3012345678" in text["field-TCP-seq"]
    assert "0x%04x" % IP(syn_example_bytes())[TCP].chksum in text["field-TCP-checksum"]
    assert text["field-TCP-SYN"] == "SYN\n1" and text["field-TCP-ACK"] == "ACK\n0"
    boxes = _by_gid(fig, "box-")
    set_fill = matplotlib.colors.to_rgba(style.OKABE_ITO["orange"])
    assert boxes["box-TCP-SYN-1"].get_facecolor() == set_fill
    assert boxes["box-TCP-ACK-1"].get_facecolor() != set_fill
    # Every label lies inside its own box, so nothing overlaps on the slide.
    r = _render(fig)
    for gid, label in labels.items():
        layer, name = gid.split("-", 2)[1:]
        own = [b for g, b in boxes.items() if g.startswith(f"box-{layer}-{name}-")]
        lb = label.get_window_extent(r)
        assert any(b.get_window_extent(r).x0 <= lb.x0 and lb.x1 <= b.get_window_extent(r).x1
                   and b.get_window_extent(r).y0 <= lb.y0 and lb.y1 <= b.get_window_extent(r).y1
                   for b in own), gid


# ------------------------------------------------------------------------ state diagram --

def test_highlighted_edges_are_the_rows_taken_in_order():
    rows = highlighted_edges(CLIENT_PATH)
    assert [(r.src.value, r.dst.value) for r in rows] == list(zip(CLIENT_PATH, CLIENT_PATH[1:]))
    assert all(r in TRANSITIONS for r in rows)
    # States as enum members, aliases and repeats are accepted.
    assert highlighted_edges([State.LISTEN, "syn_rcvd", "SYN-RECEIVED", "ESTAB"]) == [
        r for r in TRANSITIONS if (r.src, r.dst) in {(State.LISTEN, State.SYN_RECEIVED),
                                                     (State.SYN_RECEIVED, State.ESTABLISHED)}]
    assert highlighted_edges(None) == [] and highlighted_edges(["LISTEN"]) == []


def test_invalid_path_raises_naming_the_step():
    with pytest.raises(ValueError, match=r"step 2: ESTABLISHED -> TIME-WAIT.*FIN-WAIT-1"):
        highlighted_edges(["SYN-SENT", "ESTABLISHED", "TIME-WAIT"])
    with pytest.raises(ValueError, match="not an RFC 9293 state"):
        state_diagram(["CLOSED", "HALF-OPEN"])


def test_state_diagram_draws_every_transition_and_numbers_the_path():
    fig = state_diagram(CLIENT_PATH)
    edges = _by_gid(fig, "edge-")
    assert len(edges) == len(TRANSITIONS)
    on = {f"edge-{a}-{b}" for a, b in zip(CLIENT_PATH, CLIENT_PATH[1:])}
    hi = matplotlib.colors.to_rgba(style.ROLE_COLORS["highlight"])
    for gid, patch in edges.items():
        assert (patch.get_edgecolor() == hi) == (gid in on), gid
        assert patch.get_linewidth() > 2 if gid in on else patch.get_linewidth() < 2
    steps = {gid: a.get_text() for gid, a in _by_gid(fig, "step-").items()}
    assert steps == {f"step-{a}-{b}": str(k)
                     for k, (a, b) in enumerate(zip(CLIENT_PATH, CLIENT_PATH[1:]), 1)}


def test_state_diagram_repeated_edge_gets_all_its_numbers():
    path = ["LISTEN", "SYN-RECEIVED", "LISTEN", "SYN-RECEIVED", "ESTABLISHED", "CLOSED"]
    steps = {gid: a.get_text() for gid, a in _by_gid(state_diagram(path), "step-").items()}
    assert steps == {"step-LISTEN-SYN-RECEIVED": "1,3", "step-SYN-RECEIVED-LISTEN": "2",
                     "step-SYN-RECEIVED-ESTABLISHED": "4", "step-ESTABLISHED-CLOSED": "5"}


@pytest.mark.parametrize("lang", LANGS)
def test_state_diagram_labels_do_not_cover_states(lang):
    fig = state_diagram(CLIENT_PATH, lang=lang)
    r = _render(fig)
    states = [a.get_window_extent(r) for a in _by_gid(fig, "state-").values()]
    labels = list(_by_gid(fig, "label-").values()) + list(_by_gid(fig, "step-").values())
    assert len(states) == 12 + 6          # 11 states, CLOSED twice, 6 abort tags
    for label in labels:
        lb = label.get_window_extent(r)
        for sb in states:
            assert not lb.overlaps(sb), (label.get_gid(), label.get_text())
        assert 0 <= lb.x0 and lb.x1 <= fig.bbox.width and 0 <= lb.y0, label.get_gid()


# ------------------------------------------------------------------------------- port map --

def test_port_map_marks_every_seed_port_and_in_use_ticks():
    fig = port_space_map(in_use=[22, 40000, 40002])
    services = {gid: a.get_text() for gid, a in _by_gid(fig, "service-").items()}
    assert set(services) == {f"service-{s.port}" for s in SEED_PORTS}
    for s in SEED_PORTS:
        assert services[f"service-{s.port}"].startswith(f"{s.port}\n")
    assert services["service-3389"] == "3389\nrdp"
    assert set(_by_gid(fig, "in-use-")) == {"in-use-22", "in-use-40000", "in-use-40002"}


def test_port_map_os_bars_match_the_profiles():
    bars = _by_gid(port_space_map(), "os-")
    spans = {gid: (b.get_x(), b.get_x() + b.get_width() - 1) for gid, b in bars.items()}
    assert spans == {"os-Linux": (32768, 60999), "os-Windows": (49152, 65535),
                     "os-macOS": (49152, 65535), "os-FreeBSD": (10000, 65535)}
    custom = _by_gid(port_space_map(os_ranges={"my host": (40000, 40009)}), "os-")
    assert set(custom) == {"os-my host"}


def test_port_map_rejects_impossible_ports():
    with pytest.raises((ValueError, OverflowError)):
        port_space_map(in_use=[70000])
    with pytest.raises(ValueError, match="must not be above"):
        port_space_map(os_ranges={"bad": (61000, 32768)})
