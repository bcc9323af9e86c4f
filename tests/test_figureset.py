"""`make figures` works and the committed figures are what the code draws today."""
from pathlib import Path

import pytest

from simtcp.viz.figureset import FIGURES, build_all, index_markdown

ROOT = Path(__file__).resolve().parent.parent


@pytest.mark.parametrize("stem, lang", [("handshake", "en"), ("state_diagram", "ja"),
                                        ("data_loss_retransmission", "en"),
                                        ("rst_closed_port", "ja"), ("demux", "en")])
def test_regenerated_figures_match_the_committed_ones(tmp_path, stem, lang):
    written = build_all(tmp_path, only=[stem], langs=[lang])
    assert {p.suffix for p in written} == {".svg", ".png"}
    for p in written:
        committed = ROOT / "figures" / lang / p.name
        assert committed.exists(), f"{committed} is missing: run `make figures`"
        assert p.read_bytes() == committed.read_bytes(), \
            f"{p.name} ({lang}) differs from the committed figure: run `make figures`"


def test_every_figure_is_committed_in_both_languages_and_indexed():
    readme = (ROOT / "figures" / "README.md").read_text(encoding="utf-8")
    assert readme == index_markdown()
    for spec in FIGURES:
        for lang in ("en", "ja"):
            for ext in ("svg", "png"):
                assert (ROOT / "figures" / lang / f"{spec.stem}.{ext}").exists()
        assert f"en/{spec.stem}.png" in readme
