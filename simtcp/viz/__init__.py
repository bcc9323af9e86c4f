"""simtcp's figures: the only part of simtcp that imports matplotlib.

Every drawing function takes ``lang="en"`` or ``"ja"`` and an optional ``ax``, and returns a
matplotlib Figure (not registered with pyplot, so a notebook shows it once). `save(fig,
path)` writes byte-reproducible SVG + PNG for course material.

    from simtcp.viz import state_diagram, save
    save(state_diagram(["CLOSED", "SYN-SENT", "ESTABLISHED"], lang="ja"), "figures/states")
"""
from .demux import demux_diagram, demux_rows
from .header import HeaderField, header_diagram, header_fields
from .i18n import LANGS, t
from .ladder import ladder, ladder_rows
from .portmap import port_space_map
from .statediagram import highlighted_edges, state_diagram
from .style import figure, save, use_style

__all__ = [
    "HeaderField", "LANGS", "demux_diagram", "demux_rows", "figure", "header_diagram",
    "header_fields", "highlighted_edges", "ladder", "ladder_rows", "port_space_map", "save",
    "state_diagram", "t", "use_style",
]
