"""The scan driver: cut a 2-D grid into row chunks and evaluate a statistic's map with joblib.

The driver knows nothing about likelihoods: it asks a
:class:`~cevns_scan.experiments.PlaneStatistic` to ``evaluate`` a chunk of rows (one compiled
call in a worker). Chunks are fixed by the grid and ``chunk_points`` only, so a map is
bit-identical for any number of workers, any backend and any sharding. The JIT is warmed
(compiled, or loaded from numba's cache) in the parent before workers start, so workers only
load the cached machine code.
"""

from __future__ import annotations

import contextlib
import logging
import os
import signal
import threading
import warnings
from dataclasses import dataclass

import numpy as np

from .errors import InputError, ParameterError, ScanInterrupted
from .progress import Progress

#: joblib backends: threads share the map with no copies (the numba kernels release the GIL);
#: loky runs worker processes; dask runs on a dask.distributed cluster.
BACKENDS = ("threading", "loky", "dask")


@dataclass(frozen=True)
class Chunk:
    """Rows ``i0:i1`` of the grid (all columns)."""

    index: int
    i0: int
    i1: int


def make_chunks(n_rows: int, n_cols: int, chunk_points: int) -> list[Chunk]:
    """Cut ``n_rows`` rows into chunks of about ``chunk_points`` points (whole rows)."""
    rows = max(1, chunk_points // max(n_cols, 1))
    return [Chunk(k, i0, min(i0 + rows, n_rows)) for k, i0 in enumerate(range(0, n_rows, rows))]


def channels(statistic) -> tuple[int, ...]:
    """Extra trailing dimensions of a statistic's map (``()`` for one value per point)."""
    n = getattr(statistic, "channels", 0)
    return (n,) if n else ()


def compute_chunk(index: int, statistic, mu_x: np.ndarray, mu_y: np.ndarray,
                  out: np.ndarray | None = None, row0: int = 0):
    """Worker task: the statistic for the rows ``mu_x`` of one chunk. Returns (index, block).

    ``row0`` is the grid row of ``mu_x[0]`` (statistics that draw random numbers seed each
    point from its grid index). With ``out`` (a view of the shared map, threading backend)
    the block is written in place and no copy travels back; otherwise a new block is
    returned (process backends).
    """
    if out is None:
        out = np.empty((mu_x.size, mu_y.size, *channels(statistic)))
    if getattr(statistic, "channels", 0):
        statistic.evaluate(mu_x, mu_y, out, row0)
    else:
        statistic.evaluate(mu_x, mu_y, out)
    return index, out


def warm_jit(statistic) -> None:
    """Compile (or load from cache) the statistic's kernels in this process."""
    compute_chunk(-1, statistic, np.zeros(1), np.zeros(2))


def check_finite(block: np.ndarray, chunk: Chunk, mu_x: np.ndarray, mu_y: np.ndarray) -> None:
    """A NaN or inf in a chi^2 map is an error that names the grid point."""
    bad = ~np.isfinite(block)
    if np.any(bad):
        where = tuple(int(v) for v in np.argwhere(bad)[0])
        i, k = where[:2]
        gi = chunk.i0 + i
        raise InputError(
            f"the statistic is {block[where]} at grid point [{gi}, {k}] = (mu_x "
            f"{mu_x[gi]:.6g}, mu_y {mu_y[k]:.6g}) mu_B: the templates or data are not finite "
            "there; check the dataset errors and the axis ranges")


class _Interrupt:
    """Turn SIGINT/SIGTERM into a flag that the driver checks after every chunk."""

    def __init__(self):
        self.signum = 0
        self._old = {}

    def _handler(self, signum, frame):
        self.signum = signum

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False


def resolve_jobs(jobs: int | None) -> int:
    """Workers: ``None`` or -1 -> every core of this machine; otherwise >= 1."""
    if jobs is None or jobs == -1:
        return os.cpu_count() or 1
    if jobs < 1:
        raise ParameterError("jobs", jobs, "must be >= 1, or -1 for all cores")
    return int(jobs)


def check_backend(backend: str, scheduler: str | None) -> None:
    """A known joblib backend, and a scheduler address only with dask."""
    if backend not in BACKENDS:
        raise ParameterError("backend", backend, f"is not one of {', '.join(BACKENDS)}")
    if scheduler and backend != "dask":
        raise ParameterError("scheduler", scheduler, "only applies to the dask backend")


def ignore_sigint() -> None:
    """Worker-process initializer: Ctrl-C (SIGINT to the process group) is the parent's to handle.

    The parent stops after the chunk in hand and says how to resume; workers that raised
    KeyboardInterrupt themselves would only add tracebacks.
    """
    signal.signal(signal.SIGINT, signal.SIG_IGN)


@contextlib.contextmanager
def _sigint_ignored():
    """Ignore SIGINT while child processes start, so that they inherit the ignoring."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    old = signal.signal(signal.SIGINT, signal.SIG_IGN)
    try:
        yield
    finally:
        signal.signal(signal.SIGINT, old)


@contextlib.contextmanager
def _backend(backend: str, jobs: int, scheduler: str | None):
    """joblib.parallel_config for the backend; for dask, connect (or start a local cluster)."""
    import joblib

    check_backend(backend, scheduler)
    if backend == "threading":
        with joblib.parallel_config(backend=backend, n_jobs=jobs):
            yield
        return
    if backend == "loky":
        with joblib.parallel_config(backend=backend, n_jobs=jobs, initializer=ignore_sigint):
            yield
        return
    try:
        from dask.distributed import Client, LocalCluster
    except ImportError:
        raise InputError("the dask backend needs dask.distributed: "
                         "pip install 'cevns-scan[cluster]'") from None
    cluster = None
    try:
        if scheduler:
            client = Client(scheduler, timeout="20s")
        else:
            with _sigint_ignored():  # the workers inherit it: Ctrl-C stays with the parent
                cluster = LocalCluster(n_workers=jobs, threads_per_worker=1, processes=True,
                                       host="127.0.0.1", dashboard_address=None,
                                       silence_logs=logging.ERROR)
            client = Client(cluster)
    except OSError as exc:
        raise ParameterError("scheduler", scheduler, f"cannot be reached ({exc}); check the "
                             "address") from None
    try:
        with joblib.parallel_config(backend="dask"):
            yield
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def scan_map(statistic, mu_x: np.ndarray, mu_y: np.ndarray, chunks: list[Chunk], *,
             jobs: int = 1, backend: str = "threading", scheduler: str | None = None,
             progress: Progress | None = None, on_chunk=None, out: np.ndarray | None = None,
             resume_hint: str = "") -> np.ndarray:
    """Evaluate the chunks of a chi^2 map in parallel.

    Parameters
    ----------
    statistic : PlaneStatistic
        What to evaluate (:meth:`cevns_scan.analysis.Analysis.plane`).
    mu_x, mu_y : ndarray
        Axes in mu_B.
    chunks : list of Chunk
        The chunks to compute (others are taken from ``out``).
    jobs, backend, scheduler
        joblib workers (None or -1: all cores) and backend ('threading', 'loky' or 'dask' with
        a scheduler address).
    progress : Progress, optional
    on_chunk : callable, optional
        Called as ``on_chunk(chunk, block)`` in the parent for every finished chunk (the
        checkpoint writer).
    out : ndarray, optional
        Map to fill; NaN where not yet computed.
    resume_hint : str
        Appended to the interruption message (how to resume).

    Raises
    ------
    ScanInterrupted
        On SIGINT/SIGTERM, after the chunk in hand has been handed to ``on_chunk``.
    """
    from joblib import Parallel, delayed

    jobs = resolve_jobs(jobs)
    if out is None:
        out = np.full((mu_x.size, mu_y.size, *channels(statistic)), np.nan)
    by_index = {c.index: c for c in chunks}
    warm_jit(statistic)
    with _Interrupt() as stop, _backend(backend, jobs, scheduler):
        shared = backend == "threading"
        tasks = (delayed(compute_chunk)(c.index, statistic, mu_x[c.i0:c.i1], mu_y,
                                        out[c.i0:c.i1] if shared else None, c.i0)
                 for c in chunks)
        results = Parallel(return_as="generator_unordered")(tasks)
        try:
            for index, block in results:
                chunk = by_index[index]
                check_finite(block, chunk, mu_x, mu_y)
                if not shared:
                    out[chunk.i0:chunk.i1] = block
                if on_chunk is not None:
                    on_chunk(chunk, block)
                if progress is not None:
                    progress.update()
                if stop.signum:
                    break
        except Exception:
            if not stop.signum:
                raise
        finally:
            if progress is not None:
                progress.close()
            if hasattr(results, "close"):
                with warnings.catch_warnings():  # unused or cancelled tasks: we stopped on purpose
                    warnings.simplefilter("ignore", UserWarning)
                    results.close()
        if stop.signum:
            name = signal.Signals(stop.signum).name
            raise ScanInterrupted(f"scan interrupted by {name}"
                                  + (f"; {resume_hint}" if resume_hint else ""), stop.signum)
    return out
