"""The lab notebooks: they run, they are shaped like labs, and their checks can fail.

Picks up every notebook in notebooks/en and notebooks/ja (labs added later are tested with
no change here). Conventions checked (see notebooks/README.md, "For notebook authors"):

* stored without outputs; kernelspec python3; every cell has a stable id;
* the first code cell imports simtcp and says ``%matplotlib inline``;
* a "Learning goals" / "学習目標" section near the top and a "Summary" / "まとめ" section;
* at least two exercises, each three adjacent code cells tagged exercise, solution, check;
* executed as stored (solutions in), every cell runs and every check prints its ✓;
* the student copy (solutions removed by simtcp.notebooks) fails in EVERY check cell with a
  LabCheckError and in no other cell — so a check really tests the student's answer;
* a check cell is one call (plus, at most, ``def _helper()`` functions it passes to the
  call), so it leaves no expected value in the student's namespace;
* a student who answers wrong — twice, with a value of the right kind — gets feedback that
  never contains the expected value (the student run answers every exercise three times:
  missing, wrong, wrong again; the expected values come from the run with solutions);
* in that wrong-answer run, no output of any cell before an exercise's last check (demos,
  tables, traces, figures' text, earlier feedback) shows that exercise's expected value:
  the student must predict it. An output after the check may show it (that is where a lab
  puts the revealing run).

Executing ~20 notebooks twice dominates this file's run time, so each notebook is executed
at most once per version (cached per module) and two kernels run side by side.
"""
from __future__ import annotations

import ast
import json
import re
import time
import warnings
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import nbformat
import pytest

from simtcp.notebooks import (CHECK_TAG, EXERCISE_TAG, SOLUTION_TAG, find_notebooks,
                              make_student_version, make_student_versions, run_notebook)

ROOT = Path(__file__).resolve().parent.parent
NB_DIR = ROOT / "notebooks"
LANGS = ("en", "ja")
NOTEBOOKS = [p for lang in LANGS for p in sorted((NB_DIR / lang).glob("*.ipynb"))]
IDS = [f"{p.parent.name}/{p.name}" for p in NOTEBOOKS]
CELL_TIMEOUT = 60          # seconds per cell (nbclient)
AIM = 30.0                 # seconds per notebook: warn above (2-core CI machine)
WORKERS = 2                # kernels executing at once

GOALS = {"en": "learning goals", "ja": "学習目標"}
CHECK_CALL = re.compile(r"\b(labcheck\.)?check(_true)?\(")
SUMMARY = {"en": "summary", "ja": "まとめ"}


def tags(cell) -> set:
    return set(cell.get("metadata", {}).get("tags", []))


def read(path: Path):
    return nbformat.read(path, as_version=4)


def triples(nb) -> list:
    """(exercise, solution, check) cell triples: three adjacent code cells with those tags."""
    cells = nb.cells
    out = []
    for i in range(len(cells) - 2):
        a, b, c = cells[i:i + 3]
        if (EXERCISE_TAG in tags(a) and SOLUTION_TAG in tags(b) and CHECK_TAG in tags(c)
                and all(x.cell_type == "code" for x in (a, b, c))):
            out.append((a, b, c))
    return out


def errors(cell) -> list:
    return [o for o in cell.get("outputs", []) if o.get("output_type") == "error"]


def text_of(cell) -> str:
    parts = []
    for o in cell.get("outputs", []):
        if o.get("output_type") == "stream":
            parts.append(o.get("text", ""))
        elif "data" in o:
            parts.append(o["data"].get("text/plain", ""))
    return "".join(parts)


# ------------------------------------------------- wrong answers (student copy, extended)
# Runs in the kernel after the notebook (with solutions): for every exercise checked with
# check(), a wrong answer of the same kind, and the distinctive pieces of the expected value
# (numbers >= 10, texts of 3+ characters) that feedback must never show.
DUMP_EXPECTED = r"""
import enum as _enum, json as _json
from simtcp import labcheck as _lc

def _wrong(v):
    if isinstance(v, bool):
        return repr(not v)
    if isinstance(v, _enum.Enum):
        return repr(next(m for m in type(v) if m is not v).name)
    if isinstance(v, int):
        return repr(v + 7919)
    if isinstance(v, float):
        return repr(v * 3 + 1.5)
    if isinstance(v, str):
        return repr("zz-not-it")
    if isinstance(v, (list, tuple, set, frozenset)):
        items = sorted(v, key=repr) if isinstance(v, (set, frozenset)) else list(v)
        flipped = items[::-1]
        return repr(flipped if flipped != items else items[:-1] + ["zz"])
    return repr("zz-not-it")

def _tokens(v):
    if isinstance(v, bool):
        return []
    if isinstance(v, _enum.Enum):
        return _tokens(v.name)
    if isinstance(v, int):
        return [str(v)] if abs(v) >= 10 else []
    if isinstance(v, float):
        return sorted({repr(v), f"{v:g}", f"{v:.2f}"})
    if isinstance(v, str):
        return [v] if len(v.strip()) >= 3 else []
    if isinstance(v, (list, tuple, set, frozenset)):
        return [t for x in v for t in _tokens(x)]
    return []

print("LABCHECK-EXPECTED " + _json.dumps(
    {k: {"wrong": _wrong(v), "tokens": _tokens(v)} for k, v in _lc._expected.items()}))
"""
PLACEHOLDER = re.compile(r"^(\w+)\s*=\s*(None|\.\.\.)\b", re.M)
WRONG_TAG = "wrong-answer"          # cells the wrong-answer copy adds (answer, check again)


def expected_of(executed) -> dict:
    for line in text_of(executed.cells[-1]).splitlines():
        if line.startswith("LABCHECK-EXPECTED "):
            return json.loads(line.split(" ", 1)[1])
    raise AssertionError("the run with solutions did not report labcheck's expected values")


def wrong_answer_copy(nb, expected: dict):
    """The student copy, where after each check (answer missing) the student answers wrong
    and runs the check twice more: attempt 1 (nudge), attempt 2 (hint)."""
    nb = make_student_version(nb)
    out = []
    for i, cell in enumerate(nb.cells):
        out.append(cell)
        if CHECK_TAG not in tags(cell) or i == 0 or EXERCISE_TAG not in tags(nb.cells[i - 1]):
            continue
        names = [m.group(1) for m in PLACEHOLDER.finditer(nb.cells[i - 1].source)]
        wrong = [f"{n} = {expected[n]['wrong']}" for n in names if n in expected]
        if not wrong:
            continue            # check_true exercises: the missing answer is the wrong one
        meta = {"tags": [WRONG_TAG]}
        out.append(nbformat.v4.new_code_cell("\n".join(wrong), metadata=meta))
        for _ in range(2):
            out.append(nbformat.v4.new_code_cell(cell.source, metadata={"tags": [CHECK_TAG, WRONG_TAG]}))
    for k, cell in enumerate(out):
        cell["id"] = f"w{k:03d}"
    nb.cells = out
    return nb


def shown_text(cell) -> str:
    """Everything a cell showed: streams, displays and the error's message."""
    return text_of(cell) + "".join(e.get("evalue", "") for e in errors(cell))


def revealed(text: str, tokens) -> list:
    found = []
    for tok in tokens:
        pat = re.escape(tok)
        if re.search(rf"(?<![\w.]){pat}(?![\w]|\.\d)", text, re.I):
            found.append(tok)
    return found


# ------------------------------------------------------------------ execution (cached)
class _Runs:
    """Executes notebooks (as stored, and as student copies) once each, two at a time."""

    def __init__(self, needed) -> None:
        self.results: dict = {}
        self.needed = needed          # (path, version) in the order the selected tests ask

    def _one(self, key):
        path, version = key
        start = time.perf_counter()        # wall clock is fine here: tests, not simtcp/
        try:
            if version == "full":
                nb = read(path)
                nb.cells.append(nbformat.v4.new_code_cell(DUMP_EXPECTED))
                nb = run_notebook(path, timeout=CELL_TIMEOUT, nb=nb)
            else:
                full = self.results.get((path, "full")) or self._one((path, "full"))
                if full[0] is None:
                    raise RuntimeError(f"the notebook itself failed: {full[1]}")
                nb = run_notebook(path, timeout=CELL_TIMEOUT, allow_errors=True,
                                  nb=wrong_answer_copy(read(path), expected_of(full[0])))
            return nb, None, time.perf_counter() - start
        except Exception as exc:          # reported by the test that asks for this run
            return None, exc, time.perf_counter() - start

    def get(self, path: Path, version: str):
        key = (path, version)
        if key not in self.results:
            # Run this notebook together with the next ones the selected tests will ask for.
            todo = [key] + [k for k in self.needed
                            if k not in self.results and k != key][:WORKERS - 1]
            with ThreadPoolExecutor(max_workers=WORKERS) as pool:
                for k, res in zip(todo, pool.map(self._one, todo)):
                    self.results[k] = res
        return self.results[key]


@pytest.fixture(scope="module")
def runs(request):
    versions = {"test_notebook_runs_and_checks_pass": "full",
                "test_student_version_checks_fail": "student",
                "test_wrong_answers_see_no_expected_value_before_the_check": "student"}
    needed = [(item.callspec.params["path"], versions[item.originalname])
              for item in request.session.items
              if getattr(item, "originalname", None) in versions and hasattr(item, "callspec")]
    r = _Runs(needed)
    yield r
    # Report the run times on the terminal (outside pytest's output capture).
    rep = request.config.pluginmanager.get_plugin("terminalreporter")
    capman = request.config.pluginmanager.get_plugin("capturemanager")
    if rep is None or capman is None or not r.results:
        return
    with capman.global_and_fixture_disabled():
        rep.write_line("")
        rep.write_line(f"notebook run times (wall clock, {WORKERS} kernels at once):")
        for (path, version), (_, exc, secs) in sorted(r.results.items(),
                                                      key=lambda kv: (str(kv[0][0]), kv[0][1])):
            flag = "  FAILED" if exc else ""
            rep.write_line(f"  {path.parent.name}/{path.name:<32} {version:<8} "
                           f"{secs:6.1f} s{flag}")


# ------------------------------------------------------------------------ the tests
def test_notebooks_exist():
    assert NOTEBOOKS, f"no notebooks found in {NB_DIR}/en or {NB_DIR}/ja"


def test_en_and_ja_have_the_same_notebooks():
    en = sorted(p.name for p in (NB_DIR / "en").glob("*.ipynb"))
    ja = sorted(p.name for p in (NB_DIR / "ja").glob("*.ipynb"))
    assert en == ja, (f"only in en: {sorted(set(en) - set(ja))}; "
                      f"only in ja: {sorted(set(ja) - set(en))}")


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_stored_without_outputs(path):
    nb = read(path)
    dirty = [c.get("id") for c in nb.cells if c.cell_type == "code"
             and (c.get("outputs") or c.get("execution_count") is not None)]
    assert not dirty, f"{path.name}: cells stored with outputs or execution counts: {dirty}"
    assert nb.metadata.get("kernelspec", {}).get("name") == "python3"
    ids = [c.get("id") for c in nb.cells]
    assert all(ids) and len(set(ids)) == len(ids), f"{path.name}: missing or repeated cell ids"
    nbformat.validate(nb)


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_lab_structure(path):
    nb = read(path)
    lang = path.parent.name
    code = [c for c in nb.cells if c.cell_type == "code"]
    assert code and "import simtcp" in code[0].source and "%matplotlib inline" in code[0].source, \
        f"{path.name}: the first code cell must `import simtcp` and say `%matplotlib inline`"
    if lang == "ja":
        assert 'simtcp.set_language("ja")' in code[0].source, \
            f"{path.name}: a Japanese lab's first code cell must call simtcp.set_language(\"ja\")"
    heads = [line.strip().lstrip("#").strip().lower()
             for c in nb.cells if c.cell_type == "markdown"
             for line in c.source.splitlines() if line.startswith("#")]
    assert any(h.startswith(GOALS[lang]) for h in heads), \
        f"{path.name}: no '## {GOALS[lang]}' heading"
    first_code = nb.cells.index(code[0])
    assert any(GOALS[lang] in c.source.lower() for c in nb.cells[:first_code]
               if c.cell_type == "markdown"), f"{path.name}: learning goals must come first"
    assert any(h.startswith(SUMMARY[lang]) for h in heads), \
        f"{path.name}: no '## {SUMMARY[lang]}' heading"
    found = triples(nb)
    assert len(found) >= 2, f"{path.name}: {len(found)} exercise/solution/check triples, need 2"
    for ex, sol, chk in found:
        assert "None" in ex.source or "..." in ex.source, \
            f"{path.name} {ex.id}: the exercise cell should hold a placeholder (None)"
        assert CHECK_CALL.search(chk.source), \
            f"{path.name} {chk.id}: the check cell must call simtcp.labcheck's check()/check_true()"
    tagged = [c for c in nb.cells if tags(c) & {EXERCISE_TAG, SOLUTION_TAG, CHECK_TAG}]
    assert len(tagged) == 3 * len(found), \
        f"{path.name}: a cell tagged exercise/solution/check is not in a complete triple"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_notebook_runs_and_checks_pass(path, runs):
    nb, exc, secs = runs.get(path, "full")
    if exc is not None:
        pytest.fail(f"{path.parent.name}/{path.name} failed after {secs:.1f} s:\n{exc}")
    # timing is reported, not asserted (performance goals live in bench/, not in tests)
    if secs > AIM:
        warnings.warn(f"{path.parent.name}/{path.name} took {secs:.1f} s; aim for < {AIM:.0f} s")
    for _, _, chk in triples(nb):
        assert "✓" in text_of(chk), f"{path.name} {chk.id}: the check did not confirm the " \
                                    f"solution:\n{text_of(chk)}"


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_student_version_checks_fail(path, runs):
    nb, exc, secs = runs.get(path, "student")
    if exc is not None:
        pytest.fail(f"student copy of {path.name} could not be executed:\n{exc}")
    assert not [c for c in nb.cells if SOLUTION_TAG in tags(c)]
    full, _, _ = runs.get(path, "full")
    expected = expected_of(full)
    question = ""
    checked = 0
    for cell in nb.cells:
        if cell.cell_type == "markdown":
            question = cell.source
            continue
        errs = errors(cell)
        if EXERCISE_TAG in tags(cell):
            offered = cell.source + question          # the choices and data the question gives
            tokens = [t for n in PLACEHOLDER.findall(cell.source)
                      for t in expected.get(n[0], {}).get("tokens", [])
                      if t.lower() not in offered.lower()]
        if CHECK_TAG in tags(cell):
            assert errs and errs[0]["ename"] == "LabCheckError", \
                f"{path.name} {cell.id}: with the solution removed (or a wrong answer) this " \
                f"check must raise LabCheckError, got {[e['ename'] for e in errs] or 'no error'}"
            leak = revealed(shown_text(cell), tokens)
            assert not leak, (f"{path.name}: the feedback of check cell {cell.id} reveals the "
                              f"expected value {leak}:\n{shown_text(cell)}")
            checked += 1
        else:
            assert not errs, (f"{path.name} {cell.id}: fails without the solutions "
                              f"({errs[0]['ename']}: {errs[0]['evalue']}); only check cells "
                              "may depend on an answer")
    wrong_runs = [c for c in nb.cells if WRONG_TAG in tags(c) and CHECK_TAG in tags(c)]
    assert wrong_runs, f"{path.name}: no exercise was answered wrong (no check() exercises?)"
    assert checked == len(triples(read(path))) + len(wrong_runs)


HEX_DUMP_LINE = re.compile(r"^\s*(?:[0-9a-f]{4,8}\s+)?(?:[0-9a-f]{2}[ :]){8,}.*$", re.I | re.M)


def without_hex_dumps(text: str) -> str:
    """Output minus hex dump lines (scapy's hexdump(), bytes.hex(" ")): a byte written in
    base 16, such as "33", is not the decimal value 33 a student could copy."""
    return HEX_DUMP_LINE.sub("", text)


def exercises_in_order(nb, expected: dict):
    """(placeholder names, the expected tokens a student must not see, index of the
    exercise's last check cell) for every exercise of an executed wrong-answer copy."""
    out, question = [], ""
    cells = nb.cells
    for i, cell in enumerate(cells):
        if cell.cell_type == "markdown":
            question = cell.source
            continue
        if EXERCISE_TAG not in tags(cell):
            continue
        offered = (cell.source + question).lower()     # choices and data the question gives
        names = [m[0] for m in PLACEHOLDER.findall(cell.source)]
        tokens = [t for n in names for t in expected.get(n, {}).get("tokens", [])
                  if t.lower() not in offered]
        last = i
        for j in range(i + 1, len(cells)):
            if CHECK_TAG not in tags(cells[j]) and WRONG_TAG not in tags(cells[j]):
                break
            last = j
        out.append((names, tokens, last))
    return out


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_wrong_answers_see_no_expected_value_before_the_check(path, runs):
    """Issue 15's definition of done: a student copy answered wrong shows the expected value
    nowhere in its outputs up to that exercise's last check — not in a demonstration, a
    table, a trace or a figure's text. A lab either asks about parameters it has not shown,
    or shows the revealing run after the check."""
    nb, exc, _ = runs.get(path, "student")
    if exc is not None:
        pytest.fail(f"student copy of {path.name} could not be executed:\n{exc}")
    full, _, _ = runs.get(path, "full")
    expected = expected_of(full)
    shown = [without_hex_dumps(shown_text(c)) if c.cell_type == "code" else ""
             for c in nb.cells]
    problems = []
    for names, tokens, last in exercises_in_order(nb, expected):
        for k in range(last + 1):
            leak = revealed(shown[k], tokens)
            if leak:
                problems.append(f"{'/'.join(names)}: {leak} shown by cell {nb.cells[k].id} "
                                f"(source starts {nb.cells[k].source[:60]!r})")
                break
    assert not problems, (f"{path.parent.name}/{path.name}: expected values visible before "
                          "the student answers:\n" + "\n".join(problems))


CHECK_FUNCS = {"check", "check_true"}


@pytest.mark.parametrize("path", NOTEBOOKS, ids=IDS)
def test_check_cells_are_one_call(path):
    """A check cell leaves nothing in the student's namespace: one call to check() or
    check_true(), preceded at most by ``def _helper():`` functions passed to that call
    (labcheck calls them and removes them)."""
    for _, _, chk in triples(read(path)):
        tree = ast.parse(chk.source)
        *defs, last = tree.body
        where = f"{path.name} {chk.id}"
        assert isinstance(last, ast.Expr) and isinstance(last.value, ast.Call), \
            f"{where}: a check cell must end with the check call"
        func = last.value.func
        fname = func.attr if isinstance(func, ast.Attribute) else getattr(func, "id", "")
        assert fname in CHECK_FUNCS, f"{where}: the last statement must call check/check_true"
        passed = {a.id for a in last.value.args if isinstance(a, ast.Name)}
        for d in defs:
            assert isinstance(d, ast.FunctionDef) and d.name.startswith("_"), \
                f"{where}: before the call only `def _helper():` may appear (no assignments)"
            assert d.name in passed, f"{where}: {d.name} is defined but not passed to {fname}"


def test_make_student_versions(tmp_path):
    src = tmp_path / "nbs"
    (src / "en").mkdir(parents=True)
    (src / "ja").mkdir()
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = None", metadata={"tags": [EXERCISE_TAG]}),
                nbformat.v4.new_code_cell("x = 1", metadata={"tags": [SOLUTION_TAG]}),
                nbformat.v4.new_code_cell("assert x == 1", metadata={"tags": [CHECK_TAG]})]
    nb.cells[2].outputs = [nbformat.v4.new_output("stream", text="ok")]
    for lang in ("en", "ja"):
        nbformat.write(nb, src / lang / "01_x.ipynb")
    (src / "en" / ".ipynb_checkpoints").mkdir()
    nbformat.write(nb, src / "en" / ".ipynb_checkpoints" / "01_x-checkpoint.ipynb")
    out = tmp_path / "student"
    written = make_student_versions(src, out)
    assert written == [out / "en" / "01_x.ipynb", out / "ja" / "01_x.ipynb"]
    copy = read(written[0])
    assert [c.source for c in copy.cells] == ["x = None", "assert x == 1"]
    assert copy.cells[1].outputs == []
    assert read(src / "en" / "01_x.ipynb").cells[1].source == "x = 1"   # source untouched
    with pytest.raises(ValueError):
        make_student_versions(src, src / "student")
    assert find_notebooks(src) == [src / "en" / "01_x.ipynb", src / "ja" / "01_x.ipynb"]
