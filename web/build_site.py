"""`make site`: a JupyterLite site of every lab (English and Japanese) that runs offline.

Theory of operation: JupyterLite is JupyterLab as static files; its Pyodide kernel runs
Python in each student's browser, so a class needs no server beyond a static host.
This script gathers, in a scratch "lite dir":

- content/en, content/ja: the student versions of the labs (solutions removed, as
  `make student` writes them), each with one first cell that installs simtcp with piplite;
- static/pyodide: a self-contained Pyodide distribution (web/pyodide_dist.py), which the
  Pyodide kernel addon copies into the site and points the kernel at;
- the wheels of simtcp, scapy, matplotlib-fontja and tqdm (web/wheelhouse.py), and comm, which the
  kernel itself installs at start, which the piplite addon copies into the site and indexes,
  with the PyPI fallback switched off,

then runs `jupyter lite build`. The site needs nothing at run time but its own files.
"""
from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

from simtcp.notebooks import find_notebooks, make_student_version

from .pyodide_dist import build_distribution
from .wheelhouse import ROOT, build_wheelhouse, fetch_dependency_wheels

SETUP_TAG = "jupyterlite-setup"
KERNEL_PLUGIN = "@jupyterlite/pyodide-kernel-extension:kernel"
# What the Pyodide kernel installs with piplite when it starts and neither its own wheels nor
# Pyodide 0.27's distribution provide (its worker: piplite.install('comm', ...)); without it
# the kernel never starts once the PyPI fallback is off.
KERNEL_STARTUP_WHEELS = ("comm",)
KERNEL_EXTENSION = (Path(sys.prefix) / "share" / "jupyter" / "labextensions" / "@jupyterlite"
                    / "pyodide-kernel-extension")
SETUP_TEXT = {
    "en": "# In the browser (JupyterLite) only: run this cell first. It installs simtcp from this\n"
          "# site (nothing is downloaded from elsewhere); in your own Jupyter, skip it.\n",
    "ja": "# ブラウザ（JupyterLite）の場合のみ: 最初にこのセルを実行してください。このサイトから\n"
          "# simtcp をインストールします（外部からは何もダウンロードしません）。自分の Jupyter では不要です。\n",
}
SETUP_CODE = ('import piplite\n'
              'await piplite.install(["simtcp", "scapy", "matplotlib-fontja", "tqdm"])')


def setup_cell(lang: str):
    import nbformat
    cell = nbformat.v4.new_code_cell(SETUP_TEXT[lang] + SETUP_CODE)
    cell.metadata["tags"] = [SETUP_TAG]
    return cell


def write_site_notebooks(src: Path, out: Path) -> list[Path]:
    """Student versions of every lab under ``src`` with the setup cell first, into ``out``."""
    import nbformat
    written = []
    for path in find_notebooks(src):
        rel = path.relative_to(src)
        nb = make_student_version(nbformat.read(path, as_version=4))
        nb.cells.insert(0, setup_cell(rel.parts[0]))
        target = out / rel
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(nb, target)
        written.append(target)
    return written


def build_site(output: Path, cache: Path) -> None:
    with tempfile.TemporaryDirectory(prefix="simtcp-lite-") as tmp:
        lite = Path(tmp)
        write_site_notebooks(ROOT / "notebooks", lite / "content")
        shutil.copy2(ROOT / "notebooks" / "README.md", lite / "content" / "README.md")
        build_distribution(lite / "static" / "pyodide", cache)
        wheels = build_wheelhouse(lite / "wheels")
        wheels += fetch_dependency_wheels(lite / "wheels", KERNEL_STARTUP_WHEELS)
        (lite / "jupyter-lite.json").write_text(json.dumps({
            "jupyter-lite-schema-version": 0,
            "jupyter-config-data": {
                "appName": "simtcp labs",
                # window.jupyterapp: lets tests/test_site.py drive the labs cell by cell.
                "exposeAppInBrowser": "true",
                "litePluginSettings": {KERNEL_PLUGIN: {"disablePyPIFallback": True}},
            }}, indent=2))
        (lite / "jupyter_lite_config.json").write_text(json.dumps({
            # Only the Pyodide kernel's extension: the JupyterLab extensions installed beside
            # jupyter in this environment target a newer JupyterLab than JupyterLite's and
            # would break the page.
            "LiteBuildConfig": {"contents": ["content"], "no_sourcemaps": True,
                                "ignore_sys_prefix": ["federated_extensions"],
                                "federated_extensions": [str(KERNEL_EXTENSION)]},
            "PipliteAddon": {"piplite_urls": [str(w) for w in wheels]},
        }, indent=2))
        if output.exists():
            shutil.rmtree(output)
        done = subprocess.run([sys.executable, "-m", "jupyter", "lite", "build",
                               "--lite-dir", str(lite), "--output-dir", str(output.resolve())],
                              cwd=lite, capture_output=True, text=True)
        if done.returncode:
            raise RuntimeError(f"jupyter lite build failed:\n{done.stdout}\n{done.stderr}")


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", default=str(ROOT / "site"))
    parser.add_argument("--cache", default=str(Path(tempfile.gettempdir()) / "simtcp-relay"))
    args = parser.parse_args(argv)
    build_site(Path(args.output), Path(args.cache))
    print(f"site written to {args.output}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
