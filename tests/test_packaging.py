"""Packaging: compatible ranges in pyproject.toml, exact pins in constraints.txt (what CI and
`make` install), the same pins in environment.yml, and a wheel that installs into an existing
environment without replacing what is there."""
import re
import subprocess
import sys
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement
from packaging.version import Version

from web.wheelhouse import ROOT, build_simtcp_wheel, canonical, constraint_pins

PROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
LIBRARY = [Requirement(r) for r in PROJECT["dependencies"]]
EXTRAS = {name: [Requirement(r) for r in reqs]
          for name, reqs in PROJECT["optional-dependencies"].items()}
JUPYTER_TOOLING = {"jupyter", "nbclient", "nbformat", "nbconvert", "ipykernel"}


def direct_requirements():
    return LIBRARY + [r for reqs in EXTRAS.values() for r in reqs]


def environment_pins():
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.fullmatch(r"\s*-\s+([A-Za-z0-9_.-]+)\s*(==|=)\s*([0-9][^\s#]*)\s*(#.*)?", line)
        if m and m[1].lower() != "python":
            pins[canonical(m[1])] = m[3]
    return pins


def test_library_dependencies_are_compatible_ranges():
    assert {canonical(r.name) for r in LIBRARY} == {"scapy", "matplotlib", "matplotlib-fontja", "tqdm"}
    for req in LIBRARY:
        ops = {spec.operator for spec in req.specifier}
        assert ">=" in ops and "==" not in ops and "===" not in ops, \
            f"{req}: a library dependency needs a lower bound and must not be pinned exactly"


def test_jupyter_tooling_is_only_in_the_lab_extra():
    assert {canonical(r.name) for r in EXTRAS["lab"]} >= JUPYTER_TOOLING
    assert not JUPYTER_TOOLING & {canonical(r.name) for r in LIBRARY}
    assert {"pytest", "hypothesis"} <= {canonical(r.name) for r in EXTRAS["test"]}


def test_an_older_ipykernel_satisfies_the_lab_extra():
    (ipykernel,) = [r for r in EXTRAS["lab"] if canonical(r.name) == "ipykernel"]
    assert ipykernel.specifier.contains("6.9.2")


def test_constraints_pin_every_direct_dependency_inside_its_range():
    pins = constraint_pins()
    for req in direct_requirements():
        name = canonical(req.name)
        assert name in pins, f"{name} is a dependency but constraints.txt does not pin it"
        assert req.specifier.contains(pins[name], prereleases=True), \
            f"constraints.txt pins {name}=={pins[name]}, outside pyproject's {req.specifier}"


def test_environment_yml_lists_the_constraint_pins_of_the_direct_dependencies():
    pins = constraint_pins()
    expected = {canonical(r.name): pins[canonical(r.name)] for r in direct_requirements()
                if canonical(r.name) in pins}
    env = environment_pins()
    assert env == expected, (f"only in environment.yml: {sorted(set(env.items()) - set(expected.items()))}; "
                             f"expected from constraints.txt: {sorted(set(expected.items()) - set(env.items()))}")


def test_make_installs_the_constrained_versions():
    makefile = (ROOT / "Makefile").read_text()
    assert re.search(r"pip install .*-c constraints\.txt .*\.\[lab,test,site\]", makefile)


def _run(*cmd, **kw):
    done = subprocess.run(cmd, capture_output=True, text=True, **kw)
    assert done.returncode == 0, f"{' '.join(map(str, cmd))} failed:\n{done.stdout}\n{done.stderr}"
    return done.stdout


def test_wheel_installs_beside_an_older_ipykernel(tmp_path):
    """What failed for a user with Jupyter (`%pip install simtcp` wanted ipykernel==7.4.0 over
    their 6.9.2): the wheel must install into that environment and leave ipykernel alone."""
    wheel = build_simtcp_wheel(tmp_path / "dist")
    venv = tmp_path / "venv"
    _run(sys.executable, "-m", "venv", str(venv))
    py = str(venv / "bin" / "python")
    pip = [py, "-m", "pip", "--disable-pip-version-check", "install", "--quiet"]
    _run(*pip, "ipykernel==6.9.2")
    _run(*pip, str(wheel))
    versions = _run(py, "-c", "import importlib.metadata as m; "
                    "print(m.version('ipykernel'), m.version('simtcp'))").split()
    assert versions == ["6.9.2", "0.1.0"]
    # And it works there: the README quick start up to the data exchange.
    out = _run(py, "-c", "import simtcp\n"
               "net = simtcp.Network(seed=1)\n"
               "c = net.add_host('client', '192.168.1.10'); s = net.add_host('server', '192.168.1.20')\n"
               "net.add_link(c, s, delay=0.010)\n"
               "srv = s.socket(); srv.bind(('0.0.0.0', 80)); srv.listen(8)\n"
               "cli = c.socket(); cli.connect(('192.168.1.20', 80)); conn, _ = srv.accept()\n"
               "cli.sendall(b'hello'); print(conn.recv(1024))", cwd=tmp_path)
    assert out.strip() == "b'hello'"


def test_every_subpackage_is_in_the_wheel():
    listed = set(tomllib.loads((ROOT / "pyproject.toml").read_text())["tool"]["setuptools"]
                 ["packages"])
    found = {".".join(p.parent.relative_to(ROOT).parts)
             for p in (ROOT / "simtcp").rglob("__init__.py")}
    assert found <= listed, f"add to [tool.setuptools] packages: {sorted(found - listed)}"


def test_make_lab_allows_root_only_as_root():
    """`make lab` adds --allow-root exactly when run as root (Jupyter refuses root otherwise)."""
    import os
    import shutil
    if shutil.which("make") is None:
        pytest.skip("make is not installed")
    out = subprocess.run(["make", "-n", "-o", ".venv/.installed", "lab"], cwd=ROOT,
                         capture_output=True, text=True, check=True).stdout
    recipe = [line for line in out.splitlines() if "jupyter lab" in line][-1]
    shown = subprocess.run(["bash", "-c", recipe.replace(".venv/bin/jupyter", "echo")],
                           capture_output=True, text=True, check=True).stdout
    assert ("--allow-root" in shown) == (os.geteuid() == 0), shown
