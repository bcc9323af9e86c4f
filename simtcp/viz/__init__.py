"""simtcp's figures: the only part of simtcp that imports matplotlib.

Every drawing function takes ``lang="en"`` or ``"ja"`` and an optional ``ax``, and returns a
matplotlib Figure (not registered with pyplot, so a notebook shows it once). `save(fig,
path)` writes byte-reproducible SVG + PNG for course material.

    from simtcp.viz import state_diagram, save
    save(state_diagram(["CLOSED", "SYN-SENT", "ESTABLISHED"], lang="ja"), "figures/states")
"""
from .header import HeaderField, header_diagram, header_fields
from .i18n import LANGS, t
from .portmap import port_space_map
from .statediagram import highlighted_edges, state_diagram
from .style import figure, save, use_style

__all__ = [
    "HeaderField", "LANGS", "figure", "header_diagram", "header_fields", "highlighted_edges",
    "port_space_map", "save", "state_diagram", "t", "use_style",
]
