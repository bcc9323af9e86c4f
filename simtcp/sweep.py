"""Parameter sweeps: many independent simulations, on every core or on a cluster.

Theory of operation: a simulation is a pure function of its seed and parameters (one
virtual clock, one seeded RNG), so independent runs can execute anywhere, in any order, and
still give the same numbers. `sweep` builds the list of runs (every parameter combination ×
every seed), hands each to an executor — by default a pool of worker processes from the
standard library, one per core — and puts the results back in the order of the run list, so
a parallel sweep returns exactly what a serial one does. Nothing here runs inside a
simulation: the simulations themselves stay single-threaded and deterministic.

Any object with the `concurrent.futures.Executor` method ``submit(fn, *args)`` returning a
future with ``result()`` can run the sweep: a `ProcessPoolExecutor`, a Dask
``distributed.Client`` (a cluster), ``mpi4py.futures.MPIPoolExecutor`` … Pass
``executor="serial"`` to run in this process (also the fallback where processes cannot be
started, e.g. in a browser under Pyodide).

    def flood_run(seed, cookies):
        return {"served": run_flood_scenario(seed=seed, cookies=cookies).served}

    table = simtcp.sweep(flood_run, params={"cookies": [0, 1]}, seeds=range(20))
    table.to_pandas()            # one row per run: seed, cookies, served

The function must be importable by the worker (defined at module level; with the default
"fork" start method on Linux, functions defined in a notebook work too).
"""
from __future__ import annotations

import itertools
import os
import sys
from typing import Any, Callable, Dict, Iterable, List, Mapping, Optional, Sequence, Union

Params = Union[Mapping[str, Sequence[Any]], Sequence[Mapping[str, Any]], None]


def _combinations(params: Params) -> List[Dict[str, Any]]:
    """A dict of lists is a grid (every combination); a list of dicts is taken as given."""
    if params is None:
        return [{}]
    if isinstance(params, Mapping):
        for key, values in params.items():
            if not isinstance(key, str):
                raise TypeError(f"parameter names must be str, not {type(key).__name__}")
            if isinstance(values, (str, bytes)) or not isinstance(values, Iterable):
                raise TypeError(f"params[{key!r}] must be a list of values to sweep, "
                                f"not {type(values).__name__} (wrap one value in a list)")
        keys = list(params)
        return [dict(zip(keys, combo))
                for combo in itertools.product(*(list(params[k]) for k in keys))]
    runs = list(params)
    for i, run in enumerate(runs):
        if not isinstance(run, Mapping):
            raise TypeError(f"params[{i}] must be a dict of parameter values, "
                            f"not {type(run).__name__}")
    return [dict(r) for r in runs]


def _call(fn: Callable, seed: int, kwargs: Dict[str, Any]) -> Any:
    return fn(seed=seed, **kwargs)


def _row(seed: int, kwargs: Dict[str, Any], value: Any) -> Dict[str, Any]:
    row = {"seed": seed, **kwargs}
    if isinstance(value, Mapping):
        clash = set(value) & set(row)
        if clash:
            raise ValueError(f"the result names {sorted(clash)}, which are already the seed or "
                             "a parameter: rename them in the function's result")
        row.update(value)
    else:
        row["value"] = value
    return row


class SweepResult(list):
    """The sweep's table: a list of dicts (one per run, in run order) that also converts to a
    pandas DataFrame and renders as a table in Jupyter."""

    def to_pandas(self):
        try:
            import pandas
        except ImportError:
            raise ImportError("to_pandas() needs pandas (pip install pandas); the result is "
                              "already a list of dicts") from None
        return pandas.DataFrame(list(self))

    def column(self, name: str) -> list:
        """One column's values, in run order."""
        return [row[name] for row in self]

    def _repr_html_(self) -> str:
        if not self:
            return "<p>empty sweep</p>"
        keys = list(dict.fromkeys(k for row in self for k in row))
        head = "".join(f"<th>{k}</th>" for k in keys)
        body = "".join("<tr>" + "".join(f"<td>{row.get(k, '')}</td>" for k in keys) + "</tr>"
                       for row in self[:200])
        more = f"<p>… {len(self) - 200} more rows</p>" if len(self) > 200 else ""
        return f"<table><tr>{head}</tr>{body}</table>{more}"


def _default_executor(workers: Optional[int]):
    """A process pool (fork on Linux, so notebook functions work), or None where this
    platform cannot start processes (Pyodide)."""
    if sys.platform == "emscripten":
        return None
    # Imported here: Pyodide's standard library has no _multiprocessing, so importing
    # multiprocessing at module level would break `import simtcp` in the browser.
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor
    methods = multiprocessing.get_all_start_methods()
    ctx = multiprocessing.get_context("fork" if "fork" in methods else None)
    return ProcessPoolExecutor(max_workers=workers or os.cpu_count() or 1, mp_context=ctx)


def sweep(fn: Callable[..., Any], params: Params = None, seeds: Iterable[int] = (0,),
          executor: Any = None, workers: Optional[int] = None) -> SweepResult:
    """Run ``fn(seed=s, **p)`` for every parameter combination ``p`` and every seed ``s``.

    ``params``: a dict of lists (a grid: every combination) or a list of dicts. ``seeds``:
    the seeds to repeat each combination with. ``executor``: None (a process per core),
    ``"serial"`` (this process), or any object with ``submit(fn, *args)`` — a
    `concurrent.futures` executor or a Dask ``distributed.Client``. ``workers`` caps the
    default pool. ``fn`` returns a dict (its keys become columns) or a single value
    (column ``value``). Returns a `SweepResult`, rows in the order (parameters, then seed).
    """
    if not callable(fn):
        raise TypeError(f"fn must be callable, not {type(fn).__name__}")
    seed_list = list(seeds)
    for s in seed_list:
        if isinstance(s, bool) or not isinstance(s, int):
            raise TypeError(f"seeds must be integers, not {s!r}")
    if workers is not None and (isinstance(workers, bool) or not isinstance(workers, int)
                                or workers < 1):
        raise ValueError(f"workers must be a positive integer, not {workers!r}")
    runs = [(seed, kwargs) for kwargs in _combinations(params) for seed in seed_list]
    if executor is None:
        pool = _default_executor(workers) if len(runs) > 1 else None
        if pool is None:
            return sweep(fn, params, seed_list, executor="serial")
        with pool:
            return _gather(pool, fn, runs)
    if executor == "serial":
        return SweepResult(_row(seed, kw, _call(fn, seed, kw)) for seed, kw in runs)
    if not hasattr(executor, "submit"):
        raise TypeError("executor must be None, 'serial', or an object with submit(fn, *args) "
                        f"(a concurrent.futures executor or a dask Client), not {executor!r}")
    return _gather(executor, fn, runs)


def _gather(executor: Any, fn: Callable, runs: list) -> SweepResult:
    futures = [executor.submit(_call, fn, seed, kw) for seed, kw in runs]
    return SweepResult(_row(seed, kw, fut.result()) for (seed, kw), fut in zip(runs, futures))
