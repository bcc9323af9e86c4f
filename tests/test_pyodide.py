"""The README quick start under Pyodide (CPython compiled to WebAssembly) in node, offline,
gives the same trace text and the same pcap bytes as under CPython.

Runs every Pyodide runtime in web/package.json: the one the JupyterLite site ships and the
newest. Wheels come from web/wheelhouse.py (built and fetched before node starts); the
runtime is unpacked from npm, and nothing is fetched while Python runs (no loadPackage,
no micropip). Skips only when node or npm is not installed."""
import base64
import json
import re
import subprocess
import sys

import pytest

from web.node import WEB, NodeUnavailable, node_modules, run_node
from web.wheelhouse import ROOT, build_wheelhouse

RUNTIMES = {name: spec for name, spec in
            json.loads((WEB / "package.json").read_text())["dependencies"].items()
            if name.startswith("pyodide")}
PCAP = "hello.pcap"


def readme_quick_start() -> str:
    readme = (ROOT / "README.md").read_text()
    section = readme.split("## Quick start", 1)[1]
    code = re.search(r"```python\n(.*?)```", section, re.S)[1]
    assert PCAP in code and "net.trace.log()" in code
    return code


@pytest.fixture(scope="module")
def wheels(tmp_path_factory):
    return build_wheelhouse(tmp_path_factory.mktemp("wheelhouse"))


@pytest.fixture(scope="module")
def modules():
    try:
        return node_modules()
    except NodeUnavailable as err:
        pytest.skip(f"Pyodide runs in node, which is unavailable here: {err}")


@pytest.fixture(scope="module")
def cpython_run(tmp_path_factory):
    cwd = tmp_path_factory.mktemp("cpython")
    (cwd / "quick_start.py").write_text(readme_quick_start())
    done = subprocess.run([sys.executable, "quick_start.py"], cwd=cwd, capture_output=True,
                          text=True, timeout=120, env={"PYTHONPATH": str(ROOT), "PATH": ""})
    assert done.returncode == 0, done.stderr
    return done.stdout, (cwd / PCAP).read_bytes()


@pytest.mark.parametrize("runtime", sorted(RUNTIMES))
def test_readme_quick_start_is_identical_under_pyodide(runtime, wheels, modules, cpython_run,
                                                       tmp_path):
    script = tmp_path / "quick_start.py"
    script.write_text("import sys\nassert sys.platform == 'emscripten', sys.platform\n"
                      + readme_quick_start())
    done = run_node(WEB / "pyodide_run.cjs", str(modules / runtime), str(script),
                    *map(str, wheels), "--read", PCAP)
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    expected_version = RUNTIMES[runtime].rpartition("@")[2]
    assert result["version"] == expected_version
    assert result["ok"], f"{result.get('error')}\n{result['stderr']}"
    stdout, pcap = cpython_run
    assert result["stdout"] == stdout
    assert PCAP in result["files"], "the quick start wrote no pcap under Pyodide"
    assert base64.b64decode(result["files"][PCAP]) == pcap
