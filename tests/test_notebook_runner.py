"""simtcp.notebooks.run_notebook starts a kernel again when one dies before it ran a cell
(two kernels starting at once can pick the same free port), and never hides a failure that
came later."""
import nbformat
import nbclient
import pytest

from simtcp.notebooks import KERNEL_STARTS, run_notebook


def _notebook():
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell("x = 6 * 7\nprint(x)")]
    return nb


def test_a_kernel_that_died_while_starting_is_started_again(tmp_path, monkeypatch):
    real, calls = nbclient.NotebookClient.execute, []

    def flaky(self, **kw):
        calls.append(1)
        if len(calls) == 1:
            raise RuntimeError("Kernel died before replying to kernel_info")
        return real(self, **kw)

    monkeypatch.setattr(nbclient.NotebookClient, "execute", flaky)
    given = _notebook()
    nb = run_notebook(tmp_path / "lab.ipynb", timeout=60, nb=given)
    assert len(calls) == 2
    assert nb.cells[0].outputs[0]["text"] == "42\n"
    assert given.cells[0].get("outputs") == []          # the given node is left as it was


def test_a_failure_after_a_cell_ran_is_not_retried(tmp_path, monkeypatch):
    calls = []

    def dies_after_a_cell(self, **kw):
        calls.append(1)
        self.nb.cells[0]["execution_count"] = 1
        raise RuntimeError("Kernel died")

    monkeypatch.setattr(nbclient.NotebookClient, "execute", dies_after_a_cell)
    with pytest.raises(RuntimeError):
        run_notebook(tmp_path / "lab.ipynb", nb=_notebook())
    assert len(calls) == 1


def test_a_kernel_that_never_starts_fails_after_a_few_tries(tmp_path, monkeypatch):
    calls = []

    def never(self, **kw):
        calls.append(1)
        raise RuntimeError("Kernel died before replying to kernel_info")

    monkeypatch.setattr(nbclient.NotebookClient, "execute", never)
    with pytest.raises(RuntimeError):
        run_notebook(tmp_path / "lab.ipynb", nb=_notebook())
    assert len(calls) == KERNEL_STARTS
