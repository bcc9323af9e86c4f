"""The JupyterLite site (`make site`): its notebooks, and lab 01 run in a real browser.

The browser test builds the site, serves it on 127.0.0.1, opens lab 01 in Debian's headless
Chromium (driven by playwright-core, web/run_lab.cjs) and runs it cell by cell like a student
who types the teacher's solution into each exercise cell. It asserts that every cell runs
without error, every check cell confirms the answer, the figures render, and no request
goes anywhere but the local server (Chromium is also told no other host exists). The
Pyodide distribution is vendored into the site (web/pyodide_dist.py), so there is no
exception for Pyodide's CDN and no plot cell is skipped.

It takes minutes (site build about 1.5 min, the lab about 2-3 more: the first cell's install
and the first import of scapy take most of it), so it runs in CI (CI=true, where .ci/run
installs Chromium) or with SIMTCP_SITE_TESTS=1 (`make site-test`), and skips otherwise.
"""
import functools
import http.server
import json
import os
import shutil
import threading
from pathlib import Path
from urllib.parse import urlsplit

import nbformat
import pytest

from web.build_site import SETUP_TAG, build_site, write_site_notebooks
from web.node import WEB, NodeUnavailable, node_modules, run_node
from web.wheelhouse import ROOT

CHROMIUM = Path("/usr/bin/chromium")
LAB = "en/01_what_is_a_port.ipynb"


def test_site_notebooks_are_student_versions_with_the_setup_cell_first(tmp_path):
    written = write_site_notebooks(ROOT / "notebooks", tmp_path)
    sources = sorted(p.relative_to(ROOT / "notebooks") for p in (ROOT / "notebooks").glob("*/*.ipynb"))
    assert sorted(p.relative_to(tmp_path) for p in written) == sources
    for path in written:
        nb = nbformat.read(path, as_version=4)
        nbformat.validate(nb)
        first = nb.cells[0]
        assert first.cell_type == "code" and first.metadata["tags"] == [SETUP_TAG]
        assert "piplite.install" in first.source and "simtcp" in first.source
        tags = [t for c in nb.cells for t in c.metadata.get("tags", [])]
        assert "solution" not in tags and "exercise" in tags and "check" in tags


def solutions(lab: Path) -> dict:
    """{exercise cell source: what a student leaves in it} for one repository lab: the
    exercise cell as given (it may define the data the exercise is about) with the
    teacher's solution typed in below it."""
    cells = nbformat.read(lab, as_version=4).cells
    pairs = {}
    for cell, after in zip(cells, cells[1:]):
        if "exercise" in cell.metadata.get("tags", []):
            assert "solution" in after.metadata.get("tags", []), cell.source
            pairs[cell.source] = cell.source + "\n" + after.source
    return pairs


class _QuietHandler(http.server.SimpleHTTPRequestHandler):
    extensions_map = {**http.server.SimpleHTTPRequestHandler.extensions_map,
                      ".mjs": "text/javascript", ".wasm": "application/wasm"}

    def log_message(self, *args):
        pass


@pytest.fixture(scope="module")
def served_site(tmp_path_factory):
    if not (os.environ.get("CI") == "true" or os.environ.get("SIMTCP_SITE_TESTS") == "1"):
        pytest.skip("builds the JupyterLite site and runs a lab in Chromium (minutes): "
                    "runs in CI or with SIMTCP_SITE_TESTS=1 (make site-test)")
    if not CHROMIUM.exists():
        pytest.skip("Debian's chromium is not installed (apt-get install chromium chromium-driver)")
    try:
        node_modules()
    except NodeUnavailable as err:
        pytest.skip(f"the browser is driven from node, which is unavailable: {err}")
    site = tmp_path_factory.mktemp("site") / "site"
    build_site(site, tmp_path_factory.mktemp("relay"))
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(_QuietHandler, directory=str(site)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


def test_lab_01_runs_in_chromium_offline(served_site, tmp_path):
    answers = tmp_path / "solutions.json"
    answers.write_text(json.dumps(solutions(ROOT / "notebooks" / LAB)))
    artefacts = Path(os.environ.get("SIMTCP_ARTEFACTS", ROOT / "build" / "artefacts"))
    artefacts.mkdir(parents=True, exist_ok=True)
    screenshot = artefacts / "site_lab01.png"
    done = run_node(WEB / "run_lab.cjs", served_site, LAB, str(answers), str(screenshot),
                    str(tmp_path / "profile"), timeout=1500)
    print(f"screenshot of the running lab: {screenshot}")
    assert done.stdout.strip(), done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert "error" not in result, (result["error"], result["failures"], result["console"][-20:])

    local = urlsplit(served_site).netloc
    away = [u for u in result["requests"]
            if urlsplit(u).scheme not in ("data", "blob") and urlsplit(u).netloc != local]
    assert away == [], f"requests that left 127.0.0.1: {away}"
    assert result["failures"] == [], result["failures"]

    code = [c for c in result["cells"] if c["type"] == "code"]
    assert code[0]["tags"] == [SETUP_TAG]
    for cell in code:
        assert cell["executionCount"] is not None, f"cell {cell['index']} did not finish"
        errors = [o for o in cell["outputs"] if o["output_type"] == "error"]
        assert not errors, f"cell {cell['index']}:\n{cell['source']}\n{errors[0]['ename']}: {errors[0]['evalue']}"
    expected = solutions(ROOT / "notebooks" / LAB)
    assert sum(c["typed"] for c in code) == len(expected)
    checks = [c for c in code if "check" in c["tags"]]
    assert len(checks) == len(expected)
    for cell in checks:
        text = "".join(o.get("text", "") for o in cell["outputs"] if o["output_type"] == "stream")
        assert "✓" in text and "correct" in text, f"check cell {cell['index']}: {text!r}"
    plots = [c["index"] for c in code
             if any("image/png" in o.get("data", {}) for o in c["outputs"])]
    assert plots, "no figure rendered (header_diagram draws one)"
    assert screenshot.stat().st_size > 10_000
