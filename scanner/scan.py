"""The scan driver: cut a 2-D grid into row chunks and evaluate a statistic's map with joblib.

The driver knows nothing about likelihoods: it asks a
:class:`~cevns_scan.experiments.PlaneStatistic` to ``evaluate`` a chunk of rows (one compiled
call in a worker). Chunks are fixed by the grid and ``chunk_points`` only, so a map is
bit-identical for any number of workers, any backend and any sharding. The JIT is warmed
(compiled, or loaded from numba's cache) in the parent before workers start, so workers only
load the cached machine code.

Signals: the first SIGINT or SIGTERM during a scan is acknowledged at once on stderr; finished
chunks are handed on, statistics whose chunks loop over points in Python (the Neyman
construction) stop at their next point (:func:`check_stop`), and after :data:`STOP_GRACE`
seconds the scan stops whatever is still running. A second signal stops it at once. Either
way :class:`~cevns_scan.errors.ScanInterrupted` says how to resume. A dask scheduler is probed
(:func:`probe_scheduler`) with a connect timeout before anything is sent to it.
"""

from __future__ import annotations

import contextlib
import logging
import math
import os
import re
import shutil
import signal
import socket
import sys
import threading
import time
import warnings
from dataclasses import dataclass

import numpy as np

from .errors import InputError, ParameterError, ScanInterrupted
from .progress import Progress

#: joblib backends: threads share the map with no copies (the numba kernels release the GIL);
#: loky runs worker processes; dask runs on a dask.distributed cluster.
BACKENDS = ("threading", "loky", "dask")
#: Seconds a dask scheduler has to answer as one (the ``connect_timeout`` default).
CONNECT_TIMEOUT = 30.0
#: Seconds between the first stop signal and stopping whatever chunks are still running.
STOP_GRACE = 5.0
#: Lower bounds of the speed on one core, for time estimates: chi^2 points per second (the
#: pull chi^2 of a CDEX-like dataset; the XENONnT likelihood is ~400 times slower) and toys
#: per second (CDEX-like; XENONnT ~70 times slower). README "Benchmark".
FASTEST_POINTS_PER_S = 1.0e7
FASTEST_TOYS_PER_S = 1.5e5


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
                  out: np.ndarray | None = None, row0: int = 0, started: float | None = None):
    """Worker task: the statistic for the rows ``mu_x`` of one chunk. Returns (index, block).

    ``row0`` is the grid row of ``mu_x[0]`` (statistics that draw random numbers seed each
    point from its grid index). With ``out`` (a view of the shared map, threading backend)
    the block is written in place and no copy travels back; otherwise a new block is
    returned (process backends). ``started`` is the scan's start (``time.time()``): a stop
    request after it makes :func:`check_stop` raise inside the statistic.
    """
    if out is None:
        out = np.empty((mu_x.size, mu_y.size, *channels(statistic)))
    with stop_scope(started):  # module functions only: workers import them by name
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


# -- stopping on signals -------------------------------------------------------------------------

class ChunkStopped(Exception):
    """A chunk stopped part-way because its scan is stopping; its block is discarded."""


#: When this process was last asked to stop (``time.time()``; 0: never). Set by the parent's
#: signal handler (seen by worker threads) or, in a worker process, by its own SIGINT.
_stop_at = 0.0
_local = threading.local()


def _request_stop() -> None:
    global _stop_at
    _stop_at = time.time()


def stop_requested() -> bool:
    """Whether the scan that runs the current chunk has been asked to stop."""
    started = getattr(_local, "started", None)
    return started is not None and _stop_at >= started


def check_stop() -> None:
    """Raise :class:`ChunkStopped` if the current chunk's scan is stopping.

    Statistics that loop over grid points or toy batches in Python call it between them, so
    that a long chunk ends within one point of a stop request; results are unchanged when no
    stop comes.
    """
    if stop_requested():
        raise ChunkStopped("the scan is stopping")


def _say(text: str) -> None:
    """One line on stderr, safe inside a signal handler (no buffered stream involved)."""
    lead = "\n" if getattr(sys.stderr, "isatty", lambda: False)() else ""
    with contextlib.suppress(OSError, ValueError):
        os.write(2, f"{lead}{text}\n".encode())


class _Interrupt:
    """SIGINT/SIGTERM during a scan: the first is a stop request, the second stops at once.

    The first signal is acknowledged on stderr, sets :attr:`signum` (the driver stops handing
    out chunks) and the stop time (long chunks end at their next point); after ``grace``
    seconds a timer delivers it again. The second raises :class:`ScanInterrupted` where the
    main thread is, saying ``hint`` (how to resume).
    """

    def __init__(self, hint: str = "", grace: float | None = STOP_GRACE, what: str = "scan"):
        self.signum = 0
        self.now = False
        self.hint = hint
        self.what = what
        self.grace = grace
        self._old = {}
        self._timer = None
        self._lock = threading.Lock()
        self._active = False

    @property
    def message(self) -> str:
        name = signal.Signals(self.signum).name if self.signum else "a signal"
        return f"{self.what} interrupted by {name}" + (f"; {self.hint}" if self.hint else "")

    def _handler(self, signum, frame):
        if not self._active:
            return  # a timer's late delivery after the scan ended
        if self.signum:
            self.now = True
            raise ScanInterrupted(self.message, self.signum)
        self.signum = signum
        _request_stop()
        _say(f"cevns-scan: {signal.Signals(signum).name} received: stopping after the current "
             "chunk... (again: stop at once)")
        if self.grace is not None:
            self._timer = threading.Timer(self.grace, self._stop_now, (signum,))
            self._timer.daemon = True
            self._timer.start()

    def _stop_now(self, signum):
        import _thread

        with self._lock:
            if self._active:
                _thread.interrupt_main(signum)

    def __enter__(self):
        if threading.current_thread() is threading.main_thread():
            self._active = True
            for sig in (signal.SIGINT, signal.SIGTERM):
                self._old[sig] = signal.signal(sig, self._handler)
        return self

    def __exit__(self, *exc):
        with self._lock:
            self._active = False
        if self._timer is not None:
            self._timer.cancel()
        time.sleep(0)  # a delivery already pending runs here, into the inactive handler
        for sig, old in self._old.items():
            signal.signal(sig, old)
        return False


@contextlib.contextmanager
def interruptible(what: str, hint: str = "", grace: float | None = STOP_GRACE):
    """Signals during threaded work outside :func:`scan_map` (``coverage``).

    The first asks the threads to stop (:func:`check_stop`, under :func:`stop_scope`) and
    the body ends with ``ScanInterrupted("<what> interrupted by SIG...; <hint>")`` when they
    have; the second signal (or the end of ``grace``) raises it at once.
    """
    with _Interrupt(hint, grace, what) as state:
        try:
            yield state
        except Exception:
            if not state.signum:
                raise
        if state.signum:
            raise ScanInterrupted(state.message, state.signum)


@contextlib.contextmanager
def stop_scope(started: float):
    """Run a worker's work as part of the scan that began at ``started`` (see check_stop)."""
    old = getattr(_local, "started", None)
    _local.started = started
    try:
        yield
    finally:
        _local.started = old


def resolve_jobs(jobs: int | None) -> int:
    """Workers: ``None`` or -1 -> every core of this machine; otherwise >= 1."""
    if jobs is None or jobs == -1:
        return os.cpu_count() or 1
    if jobs < 1:
        raise ParameterError("jobs", jobs, "must be >= 1, or -1 for all cores")
    return int(jobs)


_ADDRESS_RE = re.compile(r"(?:(?P<scheme>[a-z][a-z0-9+.-]*)://)?"
                         r"(?P<host>\[[0-9A-Fa-f:.]+\]|[A-Za-z0-9_.-]+):(?P<port>[0-9]{1,5})")
#: Address schemes of dask.distributed comms that connect to host:port.
SCHEMES = ("tcp", "tls", "ws", "wss", "ucx")


def parse_scheduler(address: str) -> tuple[str, str, int]:
    """``[scheme://]host:port`` -> (scheme, host, port); anything else is a ParameterError."""
    text = address if isinstance(address, str) else ""
    m = _ADDRESS_RE.fullmatch(text.strip())
    port = int(m.group("port")) if m else 0
    scheme = (m.group("scheme") or "tcp") if m else ""
    if not m or not 1 <= port <= 65535 or scheme not in SCHEMES:
        raise ParameterError("scheduler", address, "is not a dask scheduler address "
                             "SCHEME://HOST:PORT (scheme tcp, tls, ws, wss or ucx), e.g. "
                             "tcp://node1:8786")
    return scheme, m.group("host").strip("[]"), port


def check_backend(backend: str, scheduler: str | None) -> None:
    """A known joblib backend, and a well-formed scheduler address only with dask."""
    if backend not in BACKENDS:
        raise ParameterError("backend", backend, f"is not one of {', '.join(BACKENDS)}")
    if scheduler is not None and backend != "dask":
        raise ParameterError("scheduler", scheduler, "only applies to the dask backend")
    if scheduler is not None:
        parse_scheduler(scheduler)


def _check_timeout(timeout) -> float:
    if not isinstance(timeout, int | float) or not 0 < timeout < math.inf:
        raise ParameterError("connect_timeout", timeout, "must be a positive number of seconds")
    return float(timeout)


def _run_interruptibly(coro):
    """Run ``coro`` to its end on a new event loop, where Ctrl-C is a plain KeyboardInterrupt.

    ``asyncio.run`` turns the first SIGINT into a cancellation of the task, and a library that
    swallows it (a cancellation that meets a finishing ``wait_for``, or one turned into a
    retry) leaves the wait running to its timeout. Here the signal raises in the main thread,
    out of the loop, as it does everywhere else; the loop's tasks are then cancelled and given
    at most 1 s.
    """
    import asyncio

    loop = asyncio.new_event_loop()
    try:
        return loop.run_until_complete(coro)
    finally:
        try:
            tasks = [t for t in asyncio.all_tasks(loop) if not t.done()]
            for task in tasks:
                task.cancel()
            if tasks:
                loop.run_until_complete(asyncio.wait(tasks, timeout=1.0))
        finally:
            loop.close()


def probe_scheduler(address: str, timeout: float = CONNECT_TIMEOUT) -> None:
    """Check that ``address`` answers as a dask scheduler within ``timeout`` seconds.

    A closed port, a server that accepts and says nothing (the dashboard's port, 8787), one
    that answers otherwise, or a dask worker is one :class:`ParameterError` (``scheduler``)
    after at most ``timeout`` seconds. Runs in the calling thread, so SIGINT and SIGTERM stop
    it like any other work.
    """
    timeout = _check_timeout(timeout)
    scheme, host, port = parse_scheduler(address)
    deadline = time.monotonic() + timeout
    fail = lambda why: ParameterError("scheduler", address, why)  # noqa: E731
    try:
        with socket.create_connection((host, port), timeout=timeout):
            pass
    except TimeoutError:
        raise fail(f"did not accept a connection within {timeout:g} s; check the address and "
                   "that the scheduler runs") from None
    except OSError as exc:
        raise fail(f"cannot be reached ({exc.strerror or exc}); check the address and that the "
                   "scheduler runs") from None
    import asyncio

    try:
        from distributed.comm import connect
    except ImportError:
        raise InputError("the dask backend needs dask.distributed: "
                         "pip install 'cevns-scan[cluster]'") from None

    async def identity():
        left = max(deadline - time.monotonic(), 0.1)
        comm = await asyncio.wait_for(connect(f"{scheme}://{host}:{port}", timeout=left), left)
        try:
            await asyncio.wait_for(comm.write({"op": "identity", "reply": True}),
                                   max(deadline - time.monotonic(), 0.1))
            return await asyncio.wait_for(comm.read(), max(deadline - time.monotonic(), 0.1))
        finally:
            comm.abort()

    try:
        reply = _run_interruptibly(identity())
    except TimeoutError:
        raise fail(f"does not answer as a dask scheduler within {timeout:g} s (is it the "
                   "dashboard's port? the scheduler's is usually 8786)") from None
    except Exception as exc:  # whatever a foreign server makes the protocol do
        detail = " ".join(str(exc).split())[:80] or type(exc).__name__
        raise fail(f"does not answer as a dask scheduler ({detail}); check the address") from None
    if not isinstance(reply, dict) or reply.get("type") != "Scheduler":
        kind = reply.get("type") if isinstance(reply, dict) else type(reply).__name__
        raise fail(f"answers as a dask {kind}, not as a scheduler; give the scheduler's address")


def ignore_sigint() -> None:
    """Worker-process initializer: Ctrl-C (SIGINT to the process group) is the parent's to handle.

    The parent stops after the chunk in hand and says how to resume; workers that raised
    KeyboardInterrupt themselves would only add tracebacks. A worker's SIGINT only marks a
    stop request, so that its long chunk ends at the next point (:func:`check_stop`).
    """
    signal.signal(signal.SIGINT, lambda signum, frame: _request_stop())


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
def _backend(backend: str, jobs: int, scheduler: str | None,
             connect_timeout: float = CONNECT_TIMEOUT):
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
            probe_scheduler(scheduler, connect_timeout)
            client = Client(scheduler, timeout=f"{_check_timeout(connect_timeout):g}s")
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


# -- what a grid costs ---------------------------------------------------------------------------

def available_memory() -> int | None:
    """Bytes of memory this process may still use (Linux MemAvailable, else physical), or None."""
    with contextlib.suppress(OSError, ValueError):
        with open("/proc/meminfo") as fh:
            for line in fh:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    with contextlib.suppress(AttributeError, OSError, ValueError):
        return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")
    return None


def available_disk(path) -> int | None:
    """Free bytes on the file system of ``path`` (or its nearest existing ancestor), or None."""
    folder = os.path.abspath(os.fspath(path))
    while not os.path.isdir(folder) and os.path.dirname(folder) != folder:
        folder = os.path.dirname(folder)
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return None


def size_text(n_bytes: float) -> str:
    """``74.5 GiB``."""
    for unit, scale in (("TiB", 2 ** 40), ("GiB", 2 ** 30), ("MiB", 2 ** 20)):
        if n_bytes >= scale:
            return f"{n_bytes / scale:.1f} {unit}"
    return f"{n_bytes / 1024:.1f} KiB"


def time_text(seconds: float) -> str:
    """``17 min``, ``3.2 h``, ``9.5 days``."""
    if seconds < 120:
        return f"{seconds:.0f} s"
    if seconds < 7200:
        return f"{seconds / 60:.0f} min"
    if seconds < 172800:
        return f"{seconds / 3600:.1f} h"
    return f"{seconds / 86400:.1f} days"


def map_bytes(n_x: int, n_y: int, channels: int = 0) -> int:
    """Bytes of a map of float64 values (``channels`` per point; 0 means one)."""
    return 8 * int(n_x) * int(n_y) * max(int(channels), 1)


#: Working copies of a plane's map while a results folder is made from it (measured: peak
#: memory of ``reproduce --plane e-mu --grid 6001`` = 1.25 GB (figures 1.6 GB) above the
#: imports, with a 0.29 GB map: 4.4 and 5.6 maps).
RESULT_COPIES = 6


def seconds_lower_bound(points: int, toys: int = 0) -> float:
    """The least time ``points`` grid points take on one core (see FASTEST_*)."""
    return points * toys / FASTEST_TOYS_PER_S if toys else points / FASTEST_POINTS_PER_S


def check_memory(need: int, grid: int, what: str, seconds: float | None, fix: str) -> None:
    """A ParameterError (``grid``) if ``need`` bytes exceed the memory available here.

    The message states the estimate, the time (``seconds``, a lower bound, if given) and
    ``fix``.
    """
    available = available_memory()
    if available is not None and need > available:
        took = f" (and at least {time_text(seconds)} of computing on one core)" if seconds else ""
        raise ParameterError("grid", grid, f"needs about {size_text(need)} of memory for {what}, "
                             f"more than the {size_text(available)} available here{took}; {fix}")


def check_results_grid(grid: int, planes: int = 1, channels: int = 1, toys: int = 0) -> None:
    """Refuse, before any work, a grid whose maps cannot be held to make a results folder.

    ``planes`` maps of ``grid`` x ``grid`` points, each of ``channels`` values per point (1
    for chi^2 alone; a Neyman scan's :data:`cevns_scan.neyman.CHANNELS`) and
    :data:`RESULT_COPIES` working copies; ``toys`` per point (0: none) set the time estimate.
    """
    need = planes * map_bytes(grid, grid) * (channels + RESULT_COPIES - 1)
    check_memory(need, grid, f"{planes} plane(s) of {grid}x{grid} points",
                 planes * seconds_lower_bound(grid * grid, toys),
                 "scan the planes as shards of a batch job (each shard holds only its own "
                 "rows) and merge on a machine with that memory, or use a smaller grid")


def scan_map(statistic, mu_x: np.ndarray, mu_y: np.ndarray, chunks: list[Chunk], *,
             jobs: int = 1, backend: str = "threading", scheduler: str | None = None,
             progress: Progress | None = None, on_chunk=None, out: np.ndarray | None = None,
             resume_hint: str = "", keep_map: bool = True,
             connect_timeout: float = CONNECT_TIMEOUT) -> np.ndarray | None:
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
    keep_map : bool
        False: no map is held (memory in proportion to the chunks in flight, not to the grid);
        every block goes to ``on_chunk`` only, and None is returned.
    connect_timeout : float
        Seconds a dask ``scheduler`` has to answer as one (:func:`probe_scheduler`).

    Raises
    ------
    ScanInterrupted
        On SIGINT/SIGTERM: after the chunks in hand have been handed to ``on_chunk`` (long
        chunks stop at their next point and are dropped; after :data:`STOP_GRACE` seconds
        all are), or at once on a second signal.
    ParameterError
        ``grid``, if the map cannot be held in this machine's memory; ``scheduler``, if it
        does not answer as a dask scheduler within ``connect_timeout``.
    """
    from joblib import Parallel, delayed

    jobs = resolve_jobs(jobs)
    check_backend(backend, scheduler)
    if keep_map and out is None:
        check_memory(map_bytes(mu_x.size, mu_y.size, getattr(statistic, "channels", 0)),
                     mu_x.size,
                     f"a {mu_x.size}x{mu_y.size} map",
                     seconds_lower_bound(mu_x.size * mu_y.size, getattr(statistic, "n_toys", 0)),
                     "scan it as shards of a batch job (each holds only its own rows), or use "
                     "a smaller grid")
        out = np.full((mu_x.size, mu_y.size, *channels(statistic)), np.nan)
    by_index = {c.index: c for c in chunks}
    warm_jit(statistic)
    started = time.time()
    with _backend(backend, jobs, scheduler, connect_timeout), _Interrupt(resume_hint) as stop:
        shared = backend == "threading" and keep_map
        tasks = (delayed(compute_chunk)(c.index, statistic, mu_x[c.i0:c.i1], mu_y,
                                        out[c.i0:c.i1] if shared else None, c.i0, started)
                 for c in chunks)
        results = Parallel(return_as="generator_unordered")(tasks)
        try:
            for index, block in results:
                chunk = by_index[index]
                check_finite(block, chunk, mu_x, mu_y)
                if keep_map and not shared:
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
            if hasattr(results, "close") and not (stop.now and backend == "threading"):
                with warnings.catch_warnings():  # unused or cancelled tasks: we stopped on purpose
                    warnings.simplefilter("ignore", UserWarning)
                    results.close()
        if stop.signum:
            raise ScanInterrupted(stop.message, stop.signum)
    return out if keep_map else None
