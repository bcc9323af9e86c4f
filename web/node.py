"""The JavaScript tools of the browser tests (web/package.json), installed once into a cache.

Theory of operation: web/package.json and web/package-lock.json pin the Pyodide runtimes and
playwright-core. They are installed with `npm ci` into a cache folder outside the checkout
(SIMTCP_NODE_CACHE, default ~/.cache/simtcp/node), keyed by the lock file's hash, so a second
run costs nothing and a changed lock file installs afresh. Nothing here downloads a browser:
playwright-core drives Debian's /usr/bin/chromium.
"""
from __future__ import annotations

import hashlib
import os
import shutil
import subprocess
from pathlib import Path

WEB = Path(__file__).resolve().parent


class NodeUnavailable(RuntimeError):
    """node or npm is not installed (the tests that need them skip with this reason)."""


def cache_root() -> Path:
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "simtcp" / "node"
    return Path(os.environ.get("SIMTCP_NODE_CACHE", default))


def node_modules() -> Path:
    """The node_modules folder holding web/package-lock.json's packages (installing if needed)."""
    for tool in ("node", "npm"):
        if shutil.which(tool) is None:
            raise NodeUnavailable(f"{tool} is not installed (apt-get install nodejs npm)")
    lock = (WEB / "package-lock.json").read_bytes()
    target = cache_root() / hashlib.sha256(lock).hexdigest()[:16]
    stamp = target / ".installed"
    if not stamp.exists():
        target.mkdir(parents=True, exist_ok=True)
        for name in ("package.json", "package-lock.json"):
            shutil.copy2(WEB / name, target / name)
        done = subprocess.run(["npm", "ci", "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=target, capture_output=True, text=True, timeout=600)
        if done.returncode:
            raise RuntimeError(f"npm ci in {target} failed:\n{done.stdout}\n{done.stderr}")
        stamp.write_text("ok\n")
    return target / "node_modules"


def run_node(script: Path, *args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    """Run a node script with NODE_PATH at the cached node_modules; never raises on its exit."""
    env = dict(os.environ, NODE_PATH=str(node_modules()))
    return subprocess.run(["node", str(script), *args], capture_output=True, text=True,
                          env=env, timeout=timeout)
