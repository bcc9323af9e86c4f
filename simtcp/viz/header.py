"""The IPv4 and TCP headers of one real packet, drawn in the RFCs' 32-bit row layout.

Theory of operation: `header_fields(data)` reads the bytes scapy built (with `struct`, so this
module needs no scapy) into a flat list of `HeaderField(layer, name, bit_offset, bit_width,
value)`, offsets counted from the start of the field's own header, exactly as RFC 791
Figure 4 and RFC 9293 Figure 1 number their bits. Flag bits are separate 1-bit fields, and
each TCP option is one field whose width is its length on the wire (a 10-byte Timestamps
option really does straddle three rows), so a student can match every box to the bytes.

`header_diagram` lays those fields out in 32-bit rows: a bit ruler 0–31 above each header,
one box per field whose width is its bit width, the field's name and the packet's actual
value inside. Label size is chosen per box by measuring the text (TextToPath, in points):
one line if it fits, otherwise name over value, smaller if it must — never overflowing.
Rows that hold 1–4-bit fields are drawn taller than the others for that reason.
"""
from __future__ import annotations

import ipaddress
import struct
from typing import List, NamedTuple, Sequence, Tuple

import matplotlib
from matplotlib.font_manager import FontProperties
from matplotlib.patches import Rectangle
from matplotlib.textpath import TextToPath

from ..segment import Flags
from . import style
from .i18n import check_lang, has, t


class HeaderField(NamedTuple):
    layer: str          # "IPv4" or "TCP"
    name: str           # short key: "sport", "seq", "SYN", "mss", … (catalogue: field./option.)
    bit_offset: int     # from the first bit of this layer's header (RFC bit numbering)
    bit_width: int
    value: object       # int, dotted-quad str, (TSval, TSecr), bytes, True/None for flags-like


# TCP control bits in wire order, most significant first (RFC 9293 Figure 1, RFC 3168).
TCP_FLAG_BITS = ("CWR", "ECE", "URG", "ACK", "PSH", "RST", "SYN", "FIN")
IP_FLAG_BITS = ("reserved_flag", "DF", "MF")   # RFC 791 §3.1: bit 0 reserved, must be zero
_PROTO_NAMES = {1: "ICMP", 6: "TCP", 17: "UDP"}


def _ipv4_fields(data: bytes) -> Tuple[List[HeaderField], int, int]:
    if len(data) < 20:
        raise ValueError(f"{len(data)} bytes is too short for an IPv4 header (20 bytes at "
                         "least, RFC 791 §3.1); pass bytes(packet) of an IP/TCP packet")
    vihl, tos, total, ident, frag, ttl, proto, csum = struct.unpack("!BBHHHBBH", data[:12])
    version, ihl = vihl >> 4, vihl & 0xF
    if version != 4:
        raise ValueError(f"IP version {version}: header_diagram draws IPv4 packets only "
                         "(the first 4 bits must be 4)")
    if ihl < 5 or ihl * 4 > len(data):
        raise ValueError(f"IHL {ihl} (= {ihl * 4} bytes) is impossible for a {len(data)}-byte "
                         "packet: IHL counts 32-bit words, minimum 5 (RFC 791 §3.1)")
    F = lambda n, o, w, v: HeaderField("IPv4", n, o, w, v)  # noqa: E731
    fields = [
        F("version", 0, 4, version), F("ihl", 4, 4, ihl),
        F("dscp", 8, 6, tos >> 2), F("ecn", 14, 2, tos & 3),       # RFC 2474, RFC 3168
        F("total_length", 16, 16, total), F("identification", 32, 16, ident),
        F("reserved_flag", 48, 1, (frag >> 15) & 1), F("DF", 49, 1, (frag >> 14) & 1),
        F("MF", 50, 1, (frag >> 13) & 1), F("fragment_offset", 51, 13, frag & 0x1FFF),
        F("ttl", 64, 8, ttl), F("protocol", 72, 8, proto), F("header_checksum", 80, 16, csum),
        F("src_addr", 96, 32, str(ipaddress.IPv4Address(data[12:16]))),
        F("dst_addr", 128, 32, str(ipaddress.IPv4Address(data[16:20]))),
    ]
    if ihl > 5:
        fields.append(F("ip_options", 160, (ihl - 5) * 32, bytes(data[20:ihl * 4])))
    return fields, ihl * 4, proto


def _tcp_options(opts: bytes) -> List[HeaderField]:
    """Decode TCP options (RFC 9293 §3.2) into fields; bit offsets from the TCP header start."""
    out: List[HeaderField] = []
    i = 0
    base = 160
    while i < len(opts):
        kind = opts[i]
        if kind == 0:                       # End of Option List; the rest is padding
            out.append(HeaderField("TCP", "eol", base + 8 * i, 8, None))
            if i + 1 < len(opts):
                out.append(HeaderField("TCP", "padding", base + 8 * (i + 1),
                                       8 * (len(opts) - i - 1), bytes(opts[i + 1:])))
            break
        if kind == 1:                       # NOP: one byte, aligns the next option
            out.append(HeaderField("TCP", "nop", base + 8 * i, 8, None))
            i += 1
            continue
        length = opts[i + 1] if i + 1 < len(opts) else 0
        if length < 2 or i + length > len(opts):
            # A malformed length: show the remaining bytes raw rather than guess.
            out.append(HeaderField("TCP", "options", base + 8 * i, 8 * (len(opts) - i),
                                   bytes(opts[i:])))
            break
        body = bytes(opts[i + 2:i + length])
        if kind == 2 and length == 4:
            name, value = "mss", struct.unpack("!H", body)[0]
        elif kind == 3 and length == 3:
            name, value = "wscale", body[0]
        elif kind == 4 and length == 2:
            name, value = "sack_perm", True
        elif kind == 5 and (length - 2) % 8 == 0:
            name = "sack"
            value = tuple(struct.unpack("!II", body[j:j + 8]) for j in range(0, len(body), 8))
        elif kind == 8 and length == 10:
            name, value = "timestamp", struct.unpack("!II", body)
        else:
            name, value = "unknown", (kind, body)
        out.append(HeaderField("TCP", name, base + 8 * i, 8 * length, value))
        i += length
    return out


def header_fields(data: bytes) -> List[HeaderField]:
    """The fields of the IPv4 header, then the TCP header, of one packet's bytes.

    ``data`` starts with the IPv4 header (what ``bytes(IP()/TCP())`` gives). ValueError,
    saying what is wrong, for anything that is not a well-formed IPv4 + TCP header.
    """
    data = bytes(data)
    ip, ip_len, proto = _ipv4_fields(data)
    if proto != 6:
        raise ValueError(f"IP protocol {proto} ({_PROTO_NAMES.get(proto, 'unknown')}): "
                         "header_diagram draws TCP segments (protocol 6)")
    tcp = data[ip_len:]
    if len(tcp) < 20:
        raise ValueError(f"only {len(tcp)} bytes after the IPv4 header; a TCP header has at "
                         "least 20 (RFC 9293 §3.1)")
    sport, dport, seq, ack, off, flags, win, csum, urg = struct.unpack("!HHIIBBHHH", tcp[:20])
    doff = off >> 4
    if doff < 5 or doff * 4 > len(tcp):
        raise ValueError(f"TCP Data Offset {doff} (= {doff * 4} bytes) does not fit: it "
                         "counts 32-bit words, minimum 5 (RFC 9293 §3.1)")
    F = lambda n, o, w, v: HeaderField("TCP", n, o, w, v)  # noqa: E731
    fields = [F("sport", 0, 16, sport), F("dport", 16, 16, dport), F("seq", 32, 32, seq),
              F("ack", 64, 32, ack), F("data_offset", 96, 4, doff), F("reserved", 100, 4,
                                                                        off & 0xF)]
    fields += [F(name, 104 + k, 1, (flags >> (7 - k)) & 1) for k, name in
               enumerate(TCP_FLAG_BITS)]
    fields += [F("window", 112, 16, win), F("checksum", 128, 16, csum),
               F("urgent", 144, 16, urg)]
    fields += _tcp_options(tcp[20:doff * 4])
    return ip + fields


# ------------------------------------------------------------------------------ drawing --

_CATEGORY_FILL = {
    "sport": "sky_blue", "dport": "sky_blue", "src_addr": "sky_blue", "dst_addr": "sky_blue",
    "seq": "bluish_green", "ack": "bluish_green",
    "checksum": "grey", "header_checksum": "grey", "padding": "grey",
    "window": "yellow",
}
_OPTION_NAMES = {"mss", "wscale", "sack_perm", "sack", "timestamp", "nop", "eol", "unknown",
                 "options", "ip_options"}

# Geometry, in inches: one 1280×720 slide is 12.8 in wide.
_MARGIN = 0.35
_ROW_H = 0.40            # a row of wide fields: one line of text
_TALL_ROW_H = 0.62       # a row holding 1–4-bit fields: a name line and a value line
_RULER_H = 0.30
_SECTION_TITLE_H = 0.42
_GAP = 0.30
_PAD_PT = 4.0            # text padding inside a box, points


def _value_text(f: HeaderField) -> str:
    v = f.value
    if f.name in ("header_checksum", "checksum"):
        return f"0x{v:04x}"
    if f.name in ("ihl", "data_offset"):
        return f"{v} ({v * 4} B)"            # counts 32-bit words (RFC 791, RFC 9293)
    if f.name == "protocol":
        return f"{v} ({_PROTO_NAMES.get(v, '?')})"
    if isinstance(v, bytes):
        return v.hex() if len(v) <= 8 else v[:8].hex() + "…"
    return str(v)


def _labels(f: HeaderField, lang: str) -> Tuple[str, str]:
    """(name, value) texts of a field; value may be "" when the name says it all."""
    n = f.name
    if n in TCP_FLAG_BITS:
        return n, str(f.value)
    if n == "mss":
        return t("option.mss", lang, value=f.value), ""
    if n == "wscale":
        return t("option.wscale", lang, value=f.value), ""
    if n == "sack_perm":
        return t("option.sack_perm", lang), ""
    if n == "timestamp":
        return t("option.timestamp", lang, val=f.value[0], ecr=f.value[1]), ""
    if n == "sack":
        return t("option.sack", lang, blocks=" ".join(f"{a}-{b}" for a, b in f.value)), ""
    if n == "nop":
        return t("option.nop", lang), ""
    if n == "eol":
        return t("option.eol", lang), ""
    if n == "unknown":
        kind, body = f.value
        return t("option.unknown", lang, kind=kind), body.hex()
    return t("field." + n, lang), _value_text(f)


def _short_name(f: HeaderField, lang: str) -> str:
    key = "optname." + f.name
    return t(key, lang) if has(key) else t("field." + f.name, lang)


class _Fitter:
    """Chooses, by measuring, the largest label layout that fits inside a box."""

    def __init__(self) -> None:
        self._ttp = TextToPath()
        self._family = list(matplotlib.rcParams["font.family"])

    def size(self, s: str, pt: float) -> Tuple[float, float]:
        prop = FontProperties(family=self._family, size=pt)
        w, h, d = self._ttp.get_text_width_height_descent(s, prop, ismath=False)
        return w, h + d

    def fit(self, name: str, value: str, w_in: float, h_in: float,
            sizes: Sequence[float]) -> Tuple[str, float]:
        w_pt, h_pt = w_in * 72 - 2 * _PAD_PT, h_in * 72 - _PAD_PT
        one = f"{name} {value}".strip()
        two = f"{name}\n{value}" if value else name
        for pt in sizes:
            for s in (one, two):
                lines = s.split("\n")
                width = max(self.size(x, pt)[0] for x in lines)
                height = len(lines) * pt * 1.25
                if width <= w_pt and height <= h_pt:
                    return s, pt
        return two, sizes[-1]


def _row_layout(nrows: int, tall: set) -> List[Tuple[float, float]]:
    """(top, height) of each row, in inches from the top of the block."""
    out, y = [], 0.0
    for r in range(nrows):
        h = _TALL_ROW_H if r in tall else _ROW_H
        out.append((y, h))
        y += h
    return out


def _block_height(fields: List[HeaderField]) -> Tuple[int, set, float]:
    nbits = max(f.bit_offset + f.bit_width for f in fields)
    nrows = (nbits + 31) // 32
    tall = {f.bit_offset // 32 for f in fields if f.bit_width <= 4}
    h = sum(_TALL_ROW_H if r in tall else _ROW_H for r in range(nrows))
    return nrows, tall, h


def _draw_block(ax, fields: List[HeaderField], top: float, bit_w: float, title: str,
                lang: str, fitter: _Fitter, k: float) -> float:
    """Draw one header (title, ruler, rows) starting at y=top; return the y below it."""
    S = style.FONT_SIZES
    ink = style.ROLE_COLORS["ink"]
    ax.text(_MARGIN, top + _SECTION_TITLE_H * 0.5, title, fontsize=k * S["label"],
            va="center", ha="left", color=ink, **style.strong(lang, ink))
    y = top + _SECTION_TITLE_H
    # Bit ruler, RFC style: bit numbers 0..31 centred over their bit, bytes marked.
    for b in range(32):
        ax.text(_MARGIN + (b + 0.5) * bit_w, y + _RULER_H * 0.5, str(b),
                fontsize=k * S["tiny"], ha="center", va="center",
                color=ink if b % 8 == 0 else "#666666",
                **(style.strong(lang, ink) if b % 8 == 0 else {}))
    y += _RULER_H
    nrows, tall, _ = _block_height(fields)
    rows = _row_layout(nrows, tall)

    # All flag bits of a header share one text size (the largest that fits every one),
    # so CWR does not look less important than ACK.
    flag_pt = {}
    for f in fields:
        if f.name in TCP_FLAG_BITS or f.name in IP_FLAG_BITS:
            rh = rows[f.bit_offset // 32][1]
            name, value = _labels(f, lang)
            flag_pt[f.name] = fitter.fit(name, value, bit_w, rh * 0.64,
                                         (S["tiny"], 9, 8, 7))[1]
    common_flag_pt = min(flag_pt.values()) if flag_pt else S["tiny"]

    for f in fields:
        segments = []   # (row, first bit in row, bits in row)
        off, left = f.bit_offset, f.bit_width
        while left > 0:
            r, c = divmod(off, 32)
            n = min(left, 32 - c)
            segments.append((r, c, n))
            off += n
            left -= n
        is_flag = f.name in TCP_FLAG_BITS or f.name in IP_FLAG_BITS
        if is_flag:
            fill = style.OKABE_ITO["orange"] if f.value else "white"
        elif f.name in _OPTION_NAMES:
            fill = style.TINTS["reddish_purple"]
        else:
            fill = style.TINTS.get(_CATEGORY_FILL.get(f.name, ""), "white")
        main = max(segments, key=lambda s: s[2])   # the widest part carries the label
        for i, seg in enumerate(segments, 1):
            r, c, n = seg
            rtop, rh = rows[r]
            x0 = _MARGIN + c * bit_w
            # Flag bits sit under a "Flags" band that takes the top third of the row.
            band = rh * 0.36 if is_flag else 0.0
            ax.add_patch(Rectangle((x0, y + rtop + band), n * bit_w, rh - band,
                                   facecolor=fill, edgecolor=ink, linewidth=1.0,
                                   hatch="//" if f.name == "padding" else None,
                                   gid=f"box-{f.layer}-{f.name}-{i}"))
            cx, cy = x0 + n * bit_w / 2, y + rtop + band + (rh - band) / 2
            if seg is main:
                name, value = _labels(f, lang)
                kw = {}
                if is_flag:
                    text = f"{name}\n{value}"
                    pt = common_flag_pt
                    kw = style.strong(lang) if f.value else {"color": "#555555"}
                else:
                    text, pt = fitter.fit(name, value, n * bit_w, rh,
                                          (S["body"], S["small"], S["tiny"], 9, 8))
                ax.text(cx, cy, text, fontsize=k * pt, ha="center", va="center",
                        linespacing=1.1, gid=f"field-{f.layer}-{f.name}", **kw)
            else:
                # The other rows of a field that wraps (a 10-byte Timestamps option does).
                label = t("header.part", lang, name=_short_name(f, lang), i=i,
                          n=len(segments))
                text, pt = fitter.fit(label, "", n * bit_w, rh, (S["tiny"], 9, 8))
                ax.text(cx, cy, text, fontsize=k * pt, ha="center", va="center",
                        color="#555555")
    # The "Flags" bands above the flag bits.
    for group, names in (("IPv4", IP_FLAG_BITS), ("TCP", TCP_FLAG_BITS)):
        bits = [f for f in fields if f.name in names]
        if not bits or bits[0].layer != fields[0].layer:
            continue
        first = min(f.bit_offset for f in bits)
        width = sum(f.bit_width for f in bits)
        r, c = divmod(first, 32)
        rtop, rh = rows[r]
        ax.add_patch(Rectangle((_MARGIN + c * bit_w, y + rtop), width * bit_w, rh * 0.36,
                               facecolor=style.TINTS["yellow"], edgecolor=ink,
                               linewidth=1.0))
        ax.text(_MARGIN + (c + width / 2) * bit_w, y + rtop + rh * 0.18,
                t("field.flags", lang), fontsize=k * S["tiny"], ha="center", va="center")
    return y + sum(h for _, h in rows)


def header_diagram(data: bytes, lang: str = "en", ax=None):
    """Draw the IPv4 header over the TCP header of one packet; return the Figure.

    ``data``: the packet's bytes, IPv4 header first (``bytes(scapy_packet)``,
    ``net.capture[i].bytes``). Each field is a box as wide as its bits, labelled with its
    name and this packet's value; set flag bits are filled orange. With ``ax`` the drawing
    goes into that Axes (its axis is turned off and its limits set); otherwise a new figure
    sized for a 1280×720 slide width is made.
    """
    check_lang(lang)
    fields = header_fields(data)
    ip = [f for f in fields if f.layer == "IPv4"]
    tcp = [f for f in fields if f.layer == "TCP"]
    ihl = next(f.value for f in ip if f.name == "ihl")
    doff = next(f.value for f in tcp if f.name == "data_offset")
    total = next(f.value for f in ip if f.name == "total_length")
    payload = max(0, min(total, len(data)) - 4 * ihl - 4 * doff)

    width = style.SLIDE_SIZE[0]
    bit_w = (width - 2 * _MARGIN) / 32
    title_h = 0.55
    footer_h = 0.40
    height = (title_h + 2 * (_SECTION_TITLE_H + _RULER_H) + _GAP + footer_h
              + _block_height(ip)[2] + _block_height(tcp)[2])

    with style.use_style(lang):
        fig, ax = style.canvas(ax, width, height, y_down=True)   # like the RFC's ASCII art
        ax.set_axis_off()
        # Text is in points, the layout in inches: in a smaller Axes, shrink the text too.
        box = ax.get_position()
        k = min(1.0, box.width * fig.get_figwidth() / width,
                box.height * fig.get_figheight() / height)
        fitter = _Fitter()
        S = style.FONT_SIZES

        fl = Flags(sum(1 << (7 - k) for k, n in enumerate(TCP_FLAG_BITS)
                       if next(f.value for f in tcp if f.name == n)))
        get = {f.name: f.value for f in fields}
        summary = (f"{get['src_addr']}:{get['sport']} → {get['dst_addr']}:{get['dport']}  "
                   f"{fl.names}")
        ax.text(_MARGIN, title_h * 0.5, t("header.title", lang, summary=summary),
                fontsize=k * S["subtitle"], ha="left", va="center", **style.strong(lang))
        y = _draw_block(ax, ip, title_h, bit_w, t("header.ipv4", lang, n=4 * ihl), lang,
                        fitter, k)
        y = _draw_block(ax, tcp, y + _GAP, bit_w, t("header.tcp", lang, n=4 * doff), lang,
                        fitter, k)
        note = (t("header.payload", lang, n=payload) if payload
                else t("header.no_payload", lang))
        ax.text(_MARGIN, y + footer_h * 0.5, note, fontsize=k * S["small"], ha="left",
                va="center", color="#444444")
        # Key for the orange flag bits, at the right of the footer.
        kx = width - _MARGIN
        ax.text(kx, y + footer_h * 0.5, t("header.flag_set", lang), fontsize=k * S["small"],
                ha="right", va="center")
        kw = fitter.size(t("header.flag_set", lang), S["small"])[0] / 72
        ax.add_patch(Rectangle((kx - kw - 0.35, y + footer_h * 0.5 - 0.1), 0.25, 0.2,
                               facecolor=style.OKABE_ITO["orange"], edgecolor="black",
                               linewidth=1.0))
    return fig


__all__ = ["HeaderField", "header_fields", "header_diagram", "TCP_FLAG_BITS", "IP_FLAG_BITS"]
