"""pyproject.toml and environment.yml pin the same dependencies."""
import re
import tomllib
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def pyproject_pins():
    data = tomllib.loads((ROOT / "pyproject.toml").read_text())
    reqs = data["project"]["dependencies"] + data["project"]["optional-dependencies"]["test"]
    pins = {}
    for r in reqs:
        m = re.fullmatch(r"([A-Za-z0-9_.-]+)==([0-9][^ ;]*)", r.strip())
        assert m, f"pyproject dependency {r!r} is not pinned with =="
        pins[m[1].lower()] = m[2]
    return pins


def environment_pins():
    pins = {}
    for line in (ROOT / "environment.yml").read_text().splitlines():
        m = re.fullmatch(r"\s*-\s+([A-Za-z0-9_.-]+)\s*(==|=)\s*([0-9][^\s#]*)\s*(#.*)?", line)
        if m and m[1].lower() != "python":
            pins[m[1].lower()] = m[3]
    return pins


def test_pyproject_and_environment_yml_agree():
    py, env = pyproject_pins(), environment_pins()
    assert py == env, (f"only in pyproject: {sorted(set(py.items()) - set(env.items()))}; "
                       f"only in environment.yml: {sorted(set(env.items()) - set(py.items()))}")


def test_core_dependencies_are_declared():
    assert {"scapy", "matplotlib", "matplotlib-fontja", "jupyter", "pytest",
            "hypothesis"} <= set(pyproject_pins())
