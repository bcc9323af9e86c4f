"""The lab notebooks as files: student copies without solutions, and headless execution.

Theory of operation: every lab notebook in ``notebooks/<lang>/NN_name.ipynb`` is written
*with* its solutions. Each exercise is three code cells, told apart by their cell tags
(``cell.metadata["tags"]``):

* ``exercise`` — the question's placeholder (``answer_x = None  # your answer``),
* ``solution`` — the answer, computed from the simulation,
* ``check``    — ``simtcp.labcheck.check(...)``, which compares the answer with a value it
  computes itself and raises `simtcp.labcheck.LabCheckError` with an explanation if wrong.

`make_student_versions` removes the ``solution`` cells with nbconvert's own
``TagRemovePreprocessor`` (no JSON surgery of ours: the nbformat rules about cell ids and
metadata stay nbconvert's problem), clears outputs, and writes the copies into the same
folder layout (``out/en/…``, ``out/ja/…``). In a student copy the placeholder stays ``None``,
so every check cell fails until the student answers — tests/test_notebooks.py proves it.

`run_notebook` executes one notebook top to bottom with nbclient, in a fresh kernel whose
working directory is the notebook's folder (as Jupyter does when you open it), so files a
lab writes (pcaps) land next to it. This module imports no matplotlib and no scapy; the
notebooks themselves do.
"""
from __future__ import annotations

import os
from pathlib import Path
from typing import List, Union

__all__ = ["SOLUTION_TAG", "EXERCISE_TAG", "CHECK_TAG", "find_notebooks",
           "make_student_version", "make_student_versions", "run_notebook"]

SOLUTION_TAG = "solution"
EXERCISE_TAG = "exercise"
CHECK_TAG = "check"

PathLike = Union[str, "os.PathLike[str]"]


def find_notebooks(src_dir: PathLike) -> List[Path]:
    """Every ``*.ipynb`` under ``src_dir`` (recursively), sorted, skipping Jupyter's
    ``.ipynb_checkpoints`` autosave copies."""
    src = Path(src_dir)
    if not src.is_dir():
        raise FileNotFoundError(f"{src} is not a directory: pass the folder that holds the "
                                "lab notebooks (e.g. notebooks/, with en/ and ja/ inside)")
    return sorted(p for p in src.rglob("*.ipynb")
                  if ".ipynb_checkpoints" not in p.relative_to(src).parts)


def make_student_version(nb):
    """A copy of notebook node ``nb`` with every ``solution``-tagged cell removed and all
    outputs cleared (the input is not modified)."""
    import copy

    from nbconvert.preprocessors import ClearOutputPreprocessor, TagRemovePreprocessor

    nb = copy.deepcopy(nb)
    remove = TagRemovePreprocessor(remove_cell_tags={SOLUTION_TAG}, enabled=True)
    nb, _ = remove.preprocess(nb, {})
    nb, _ = ClearOutputPreprocessor(enabled=True).preprocess(nb, {})
    return nb


def make_student_versions(src_dir: PathLike, out_dir: PathLike) -> List[Path]:
    """Write a solution-free copy of every notebook under ``src_dir`` into ``out_dir``,
    keeping the relative layout (``src/en/01_x.ipynb`` → ``out/en/01_x.ipynb``).

    Returns the written paths in sorted order. ``out_dir`` must not be ``src_dir`` or lie
    inside it (that would overwrite the solutions or feed copies back into the next run).
    """
    import nbformat

    src, out = Path(src_dir).resolve(), Path(out_dir).resolve()
    if out == src or src in out.parents:
        raise ValueError(f"out_dir {out} is inside the source folder {src}: student copies "
                         "must go elsewhere (e.g. student/), or they would replace the "
                         "solutions or be copied again next time")
    written = []
    for path in find_notebooks(src):
        nb = nbformat.read(path, as_version=4)
        target = out / path.relative_to(src)
        target.parent.mkdir(parents=True, exist_ok=True)
        nbformat.write(make_student_version(nb), target)
        written.append(target)
    return written


KERNEL_STARTS = 3     # tries to start a notebook's kernel (see run_notebook)


def run_notebook(path: PathLike, timeout: int = 60, allow_errors: bool = False, nb=None,
                 kernel_name: str = "python3"):
    """Execute the notebook at ``path`` top to bottom; return the executed nbformat node.

    The kernel's working directory is the notebook's folder. ``timeout`` is seconds per
    cell. With ``allow_errors=False`` the first failing cell raises nbclient's
    ``CellExecutionError`` (its message shows the cell and the traceback); with ``True``
    every cell runs and errors are recorded as outputs of type ``"error"``. ``nb`` runs
    that node instead of reading ``path`` (e.g. a student version made in memory); ``path``
    still decides the working directory. The file on disk is never modified. simtcp's
    progress bars are off in the kernel (``SIMTCP_PROGRESS=0``): nobody watches it.
    """
    import copy

    import nbformat
    from nbclient import NotebookClient

    path = Path(path)
    if nb is None:
        nb = nbformat.read(path, as_version=4)
    given = nb
    for attempt in range(KERNEL_STARTS):
        nb = copy.deepcopy(given)
        client = NotebookClient(nb, timeout=timeout, kernel_name=kernel_name,
                                allow_errors=allow_errors,
                                resources={"metadata": {"path": str(path.parent.resolve())}})
        try:
            # nobody watches a headless run: no progress bars in its outputs (simtcp.progress)
            client.execute(env={**os.environ, "SIMTCP_PROGRESS": "0"})
            return nb
        except RuntimeError:
            # jupyter_client picks the kernel's free ports before the kernel binds them, so
            # two kernels starting at once can pick the same one and the second dies before
            # it answers ("Kernel died before replying to kernel_info"). A kernel that ran
            # no cell yet is started again; any later failure is the notebook's.
            ran = any(c.get("execution_count") for c in nb.cells if c.cell_type == "code")
            if ran or attempt == KERNEL_STARTS - 1:
                raise
    raise AssertionError("unreachable")
