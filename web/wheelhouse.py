"""The wheels a browser (Pyodide, JupyterLite) needs to run simtcp, built or fetched locally.

Theory of operation: Pyodide installs pure-Python wheels with micropip/piplite, but a browser
must not reach PyPI at run time, so every wheel is gathered beforehand into one folder. The
simtcp wheel is built from a copy of the source tree (so building leaves no build/ or
*.egg-info behind in the checkout); scapy, matplotlib-fontja and tqdm are pure-Python wheels taken
from PyPI at the exact versions in constraints.txt, through pip (and so its cache).
matplotlib and its compiled dependencies are not here: Pyodide provides them (see
web/pyodide_dist.py).
"""
from __future__ import annotations

import re
import shutil
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
# Pure-Python runtime dependencies that a browser installs from the wheelhouse.
BROWSER_DEPENDENCIES = ("scapy", "matplotlib-fontja", "tqdm")


def constraint_pins(path: Path = ROOT / "constraints.txt") -> dict[str, str]:
    """{canonical name: exact version} from a pip constraints file (``name==version`` lines)."""
    pins = {}
    for line in path.read_text().splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([^\s;]+)", line)
        if not m:
            raise ValueError(f"{path.name}: {line!r} is not an exact name==version pin")
        pins[canonical(m[1])] = m[2]
    return pins


def canonical(name: str) -> str:
    """PEP 503 normalised project name."""
    return re.sub(r"[-_.]+", "-", name).lower()


def _pip(*args: str) -> None:
    """Run pip quietly; on failure raise with everything it printed."""
    done = subprocess.run([sys.executable, "-m", "pip", "--disable-pip-version-check", *args],
                          capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"pip {' '.join(args)} failed ({done.returncode}):\n"
                           f"{done.stdout}\n{done.stderr}")


def build_simtcp_wheel(out_dir: Path) -> Path:
    """Build simtcp's wheel from a copy of the source tree into ``out_dir``; return its path."""
    out_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="simtcp-src-") as tmp:
        src = Path(tmp) / "src"
        src.mkdir()
        for name in ("pyproject.toml", "README.md"):
            shutil.copy2(ROOT / name, src / name)
        shutil.copytree(ROOT / "simtcp", src / "simtcp",
                        ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
        _pip("wheel", "--quiet", "--no-deps", "--wheel-dir", str(out_dir), str(src))
    (wheel,) = sorted(out_dir.glob("simtcp-*.whl"))
    return wheel


def fetch_dependency_wheels(out_dir: Path, names=BROWSER_DEPENDENCIES) -> list[Path]:
    """Download the pure-Python wheels of ``names`` at their constraints.txt pins."""
    out_dir.mkdir(parents=True, exist_ok=True)
    pins = constraint_pins()
    specs = [f"{name}=={pins[name]}" for name in names]
    _pip("download", "--quiet", "--no-deps", "--only-binary=:all:", "--dest", str(out_dir),
         *specs)
    wheels = []
    for name in names:
        stem = name.replace("-", "_")
        (wheel,) = sorted(out_dir.glob(f"{stem}-{pins[name]}-*.whl"))
        assert wheel.name.endswith("-none-any.whl"), f"{wheel.name} is not pure Python"
        wheels.append(wheel)
    return wheels


def build_wheelhouse(out_dir: Path) -> list[Path]:
    """simtcp's wheel and its browser dependencies' wheels, all in ``out_dir``."""
    return [build_simtcp_wheel(out_dir), *fetch_dependency_wheels(out_dir)]


if __name__ == "__main__":
    for wheel in build_wheelhouse(Path(sys.argv[1] if len(sys.argv) > 1 else "dist")):
        print(wheel)
