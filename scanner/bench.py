"""``cevns-scan bench``: compile times, scan throughput, Neyman toys, and each kind's own.

Everything is measured in this run on this machine: medians of repeated runs, wall-clock
(``time.perf_counter``). This module measures what every analysis has, without naming an
experiment: numba's first call and the scan throughput of the default analysis, and the
Neyman toy throughput of every built-in dataset of every registered kind (toy counts sized
from a short calibration run). What only one experiment has (its template build, naive
hand-written baselines, the per-point cost of its likelihood) comes from that kind's
optional ``bench(quick, repeat)`` hook (:class:`~cevns_scan.experiments.ExperimentKind`).
"""

from __future__ import annotations

import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from . import __version__

_COMPILE_SCRIPT = """
import json, time
t0 = time.perf_counter()
from cevns_scan.analysis import Analysis
from cevns_scan.scan import warm_jit
t1 = time.perf_counter()
a = Analysis.from_config()
warm_jit(a.plane("e", "mu"))
t2 = time.perf_counter()
print(json.dumps({"import_s": t1 - t0, "first_call_s": t2 - t1}))
"""


def _machine() -> dict:
    cpu = platform.processor() or ""
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    except OSError:
        pass
    return {"cpu": cpu, "cores": os.cpu_count(), "platform": platform.platform(),
            "python": platform.python_version()}


def median_time(fn, repeat: int) -> float:
    """Median wall-clock seconds of ``repeat`` calls of ``fn()`` (what every benchmark reports)."""
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t)
    return statistics.median(times)


def compile_times(repeat: int) -> dict:
    """First-call time (templates + chi2 kernel) in a fresh process: cold cache vs warm cache."""
    out = {"cold": [], "cached": []}
    for _ in range(repeat):
        with tempfile.TemporaryDirectory() as cache:
            env = dict(os.environ, NUMBA_CACHE_DIR=cache)
            for kind in ("cold", "cached"):
                # cwd: a neutral folder, so that nothing in the caller's folder shadows a module
                proc = subprocess.run([sys.executable, "-c", _COMPILE_SCRIPT], env=env,
                                      capture_output=True, text=True, check=True, cwd=cache)
                out[kind].append(json.loads(proc.stdout.strip().splitlines()[-1]))
    return {kind: {"first_call_s": statistics.median(r["first_call_s"] for r in runs),
                   "import_s": statistics.median(r["import_s"] for r in runs),
                   "runs": len(runs)} for kind, runs in out.items()}


def scan_throughput(statistic, grid: int, jobs: int, repeat: int, chunk_points: int,
                    backend: str = "threading") -> dict:
    from .scan import make_chunks, scan_map

    mu = np.linspace(0.0, 3e-8, grid)
    chunks = make_chunks(grid, grid, chunk_points)
    warm_rows = min(grid, 4 * jobs)  # start the workers and load the JIT before timing
    scan_map(statistic, mu[:warm_rows], mu, make_chunks(warm_rows, grid, grid), jobs=jobs,
             backend=backend)
    t = median_time(lambda: scan_map(statistic, mu, mu, chunks, jobs=jobs, backend=backend),
                     repeat)
    return {"grid": grid, "points": grid * grid, "jobs": jobs, "backend": backend,
            "seconds": t, "points_per_s": grid * grid / t, "chunks": len(chunks)}


def _neyman_plane(analysis, toys: int):
    from .neyman import NeymanPlane

    lik = analysis.likelihood
    return NeymanPlane(analysis.plane("e", "mu"), lik.toys("e", "mu"), toys, 1, analysis.cl)


def calibrated_toys(analysis, points: int, budget_s: float, most: int) -> int:
    """Toys per point so that one throughput run (``points`` x 2 points, 1 worker) takes
    about ``budget_s``: timed with 10 toys per point first; between 10 and ``most``."""
    from .scan import make_chunks, scan_map

    plane = _neyman_plane(analysis, 10)
    cross = analysis.axis_maximum("e")
    mu_x, mu_y = np.linspace(0.0, cross, points), np.linspace(0.0, cross, 2)
    scan_map(plane, mu_x[:1], mu_y[:1], make_chunks(1, 1, 1))  # compile or load
    t0 = time.perf_counter()
    scan_map(plane, mu_x, mu_y, make_chunks(points, 2, 2))
    per_toy = (time.perf_counter() - t0) / (points * 2 * 10)
    return int(min(max(budget_s / (per_toy * points * 2), 10), most))


def toy_throughput(analysis, toys: int, points: int, workers: list[int]) -> list[dict]:
    """Neyman toys (one conditional and one global fit each) per second, by worker count."""
    from .scan import make_chunks, scan_map

    plane = _neyman_plane(analysis, toys)
    cross = analysis.axis_maximum("e")
    mu_x = np.linspace(0.0, cross, points)
    mu_y = np.linspace(0.0, cross, 2)
    scan_map(plane, mu_x[:1], mu_y[:1], make_chunks(1, 1, 1))  # compile or load
    rows = []
    for jobs in workers:
        t0 = time.perf_counter()
        scan_map(plane, mu_x, mu_y, make_chunks(points, 2, 2), jobs=jobs)
        dt = time.perf_counter() - t0
        n = points * 2 * toys
        rows.append({"jobs": jobs, "toys": n, "seconds": dt, "toys_per_s": n / dt,
                     "fits_per_s": 2 * n / dt})
    for r in rows:
        r["efficiency"] = r["toys_per_s"] / (r["jobs"] * rows[0]["toys_per_s"])
    return rows


def scipy_toy_time(analysis, budget_s: float, most: int = 10) -> float:
    """Seconds for one scipy global fit of a toy (L-BFGS-B over mu_x^2, mu_y^2 >= 0 of the
    profiled statistic, as a hand-written Neyman construction would do): the mean of fits
    from different starts until ``budget_s`` is spent (at least one, at most ``most``)."""
    from scipy.optimize import minimize

    stat = analysis.statistic
    scale = analysis.mu_scale("e")
    times = []
    while len(times) < most and (not times or sum(times) < budget_s):
        x0 = np.array([0.5 + 0.1 * len(times), 0.3])
        t0 = time.perf_counter()
        minimize(lambda p: stat(np.array([np.sqrt(max(p[0], 0)) * scale,
                                          np.sqrt(max(p[1], 0)) * scale, 0.0])), x0,
                 method="L-BFGS-B", bounds=[(0, None), (0, None)])
        times.append(time.perf_counter() - t0)
    return statistics.fmean(times)


def builtin_toys(quick: bool, workers: list[int], log) -> tuple[dict, dict, dict]:
    """Neyman toy throughput and one scipy global fit for every built-in dataset of every
    registered kind: (rows by dataset, scipy seconds by dataset, skipped: dataset -> why)."""
    from .analysis import Analysis
    from .errors import InputError
    from .experiments import registry

    points = 2 if quick else 4
    budget = 0.25 if quick else 3.0
    toys, scipy_s, skipped = {}, {}, {}
    for name in registry.builtin_names():
        log(f"bench: Neyman toys of {name} ({', '.join(map(str, workers))} worker(s))...")
        try:
            analysis = Analysis.from_config(data=name)
            n = calibrated_toys(analysis, points, budget, 1000 if quick else 5000)
        except InputError as exc:  # data not installed, no toys for this likelihood
            skipped[name] = str(exc)
            continue
        toys[name] = toy_throughput(analysis, n, points, workers)
        scipy_s[name] = scipy_toy_time(analysis, 0.1 if quick else 1.0)
    return toys, scipy_s, skipped


def kind_benches(quick: bool, repeat: int, log) -> dict:
    """Each registered kind's own measurements (its optional ``bench`` hook), by kind name."""
    from .experiments import registry

    out = {}
    for name, k in registry.kinds().items():
        hook = getattr(k, "bench", None)
        if hook is None:
            continue
        log(f"bench: experiment kind {name} ({k.summary})...")
        out[name] = hook(quick, repeat)
    return out


def plane_point_time(analysis, grid: int, repeat: int) -> float:
    """Seconds per grid point of the analysis's compiled (e, mu) plane statistic (median of
    ``repeat`` runs on a ``grid`` x ``grid`` square up to the auto axis maxima, 1 worker)."""
    plane = analysis.plane("e", "mu")
    mu_x = np.linspace(0.0, analysis.axis_maximum("e"), grid)
    mu_y = np.linspace(0.0, analysis.axis_maximum("mu"), grid)
    out = np.empty((grid, grid))
    plane.evaluate(mu_x[:2], mu_y[:2], out[:2, :2])  # compile or load
    return median_time(lambda: plane.evaluate(mu_x, mu_y, out), repeat) / grid**2


def data_benches(specs: list[str], quick: bool, repeat: int, log) -> list[dict]:
    """The given data specs, each alone and, with several, all together: seconds per
    grid point of the (e, mu) plane and Neyman toys per second (1 worker)."""
    from .analysis import Analysis
    from .errors import InputError

    groups = [[s] for s in specs] + ([list(specs)] if len(specs) > 1 else [])
    rows = []
    for group in groups:
        analysis = Analysis.from_config(data=group)
        log(f"bench: data {analysis.label}...")
        row = {"data": analysis.label, "experiments": len(group),
               "seconds_per_point": plane_point_time(analysis, 21 if quick else 51, repeat)}
        try:
            n = calibrated_toys(analysis, 2, 0.5 if quick else 5.0, 500 if quick else 5000)
            row["toys_per_s"] = toy_throughput(analysis, n, 2, [1])[0]["toys_per_s"]
        except InputError as exc:
            row["toys_skipped"] = str(exc)
        rows.append(row)
    return rows


def _fit_exponent(points, seconds) -> float:
    return float(np.polyfit(np.log(points), np.log(seconds), 1)[0])


def scaling_plot(by_workers: list[dict], by_size: list[dict], machine: dict) -> bytes:
    """The scaling figure as PNG bytes."""
    import io

    from matplotlib.figure import Figure
    from matplotlib.ticker import NullFormatter

    from .provenance import figure_metadata

    fig = Figure(figsize=(10, 4), layout="constrained")
    a, b = fig.subplots(1, 2)
    for backend in sorted({r["backend"] for r in by_workers}):
        rows = [r for r in by_workers if r["backend"] == backend]
        a.plot([r["jobs"] for r in rows], [r["points_per_s"] for r in rows], "o-", label=backend)
    first = by_workers[0]
    w = sorted({r["jobs"] for r in by_workers})
    a.plot(w, [first["points_per_s"] * k for k in w], "k--", lw=1, label="ideal")
    a.set_xticks(w)
    a.set_xlabel("joblib workers")
    a.set_ylabel("chi2 points per second")
    a.set_title(f"grid {by_workers[0]['grid']}^2")
    a.legend()
    pts = [r["points"] for r in by_size]
    b.loglog(pts, [r["seconds"] for r in by_size], "o-", label="1 worker")
    b.xaxis.set_minor_formatter(NullFormatter())
    b.set_xlabel("grid points")
    b.set_ylabel("seconds")
    b.set_title("time against grid size")
    b.legend()
    fig.suptitle(f"{machine['cpu']} ({machine['cores']} cores)", fontsize=9)
    buf = io.BytesIO()
    fig.savefig(buf, dpi=120, format="png", metadata=figure_metadata("png"))
    return buf.getvalue()


def run_bench(args) -> int:
    """The ``bench`` command on its parsed arguments (``json``, ``plot``, ``force``, ``quick``,
    ``max_workers``, ``data``): measure, print the table, write the JSON and the plot."""
    from .analysis import Analysis
    from .experiments import registry
    from .outputs import check_distinct_outputs, check_output_file, json_bytes, write_output_file

    plot = args.plot or (str(Path(args.json).with_suffix(".png")) if args.json
                         else "bench_scaling.png")
    for name, value in (("json", args.json), ("plot", plot)):
        if value:
            check_output_file(value, force=args.force, name=name)
    check_distinct_outputs([("json", args.json), ("plot", plot)])
    quick = args.quick
    repeat = 3 if not quick else 1
    machine = _machine()
    max_workers = args.max_workers or os.cpu_count() or 1
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731

    log("bench: numba compile times (fresh processes, cold and cached)...")
    compile_t = compile_times(1 if quick else 3)
    analysis = Analysis.from_config()
    coef = analysis.plane("e", "mu")
    chunk_points = analysis.config.scan.chunk_points
    big = 401 if quick else 2001
    log(f"bench: scan throughput of the default analysis ({analysis.label}) on a {big}x{big} "
        "grid...")
    workers = sorted({1, 2, max_workers} if max_workers >= 2 else {1})
    by_workers = []
    for backend in ("threading", "loky"):
        rows = [scan_throughput(coef, big, j, repeat, chunk_points, backend) for j in workers]
        for r in rows:
            r["efficiency"] = r["points_per_s"] / (r["jobs"] * rows[0]["points_per_s"])
        by_workers += rows
    sizes = [101, 201, 401] if quick else [501, 1001, 2001, 2829]
    by_size = [scan_throughput(coef, n, 1, repeat, chunk_points) for n in sizes]
    exponent = _fit_exponent([r["points"] for r in by_size], [r["seconds"] for r in by_size])
    experiments = kind_benches(quick, repeat, log)
    given = data_benches(list(args.data or ()), quick, repeat, log)
    toys, scipy_toy, skipped = builtin_toys(quick, sorted({1, min(2, max_workers)}), log)
    result = {
        "machine": machine, "quick": quick, "version": __version__,
        "compile": compile_t,
        "default_data": registry.default_spec(),
        "scan_by_workers": by_workers,
        "scan_by_size": by_size, "time_exponent": exponent,
        "experiments": experiments,
        "neyman_toys": toys,
        "scipy_per_toy_fit_s": scipy_toy,
        "neyman_skipped": skipped,
        "data": given,
    }
    _print_table(result)
    if args.json:
        write_output_file(args.json, json_bytes(result), force=args.force, name="json")
    write_output_file(plot, scaling_plot(by_workers, by_size, machine), force=args.force,
                      name="plot")
    log(f"bench: scaling plot {plot}" + (f", JSON {args.json}" if args.json else ""))
    return 0


def _print_table(r: dict) -> None:
    m = r["machine"]
    print(f"cevns-scan {r['version']} bench on {m['cpu']} ({m['cores']} cores), "
          f"Python {m['python']}{' [quick]' if r['quick'] else ''}")
    c = r["compile"]
    print(f"  numba first call (default analysis {r['default_data']}: templates + plane "
          f"statistic), fresh process: cold cache {c['cold']['first_call_s']:.2f} s, with cache "
          f"{c['cached']['first_call_s']:.2f} s (imports {c['cached']['import_s']:.2f} s)")
    print(f"  scan throughput of {r['default_data']} (median of repeated runs):")
    print("    backend     grid        points  workers   seconds      points/s   efficiency")
    for row in r["scan_by_workers"]:
        print(f"    {row['backend']:<9}  {row['grid']:>5}  {row['points']:>11,}  {row['jobs']:>7}"
              f"  {row['seconds']:>8.3f}  {row['points_per_s']:>12.3e}   "
              f"{100 * row['efficiency']:>6.1f} %")
    print("  time against grid size (1 worker):")
    for row in r["scan_by_size"]:
        print(f"    {row['grid']:>5}  {row['points']:>11,}  {row['seconds']:>8.3f} s  "
              f"{row['points_per_s']:.3e} points/s")
    print(f"    fitted exponent t ~ N^{r['time_exponent']:.3f}")
    for name, part in r["experiments"].items():
        print(f"  experiment kind {name}:")
        for line in part["lines"]:
            print(f"    {line}")
    print("  Neyman toys (each: a conditional and a global fit, compiled):")
    for name, rows in r["neyman_toys"].items():
        per_toy = 1.0 / rows[0]["toys_per_s"]
        scipy_s = r["scipy_per_toy_fit_s"][name]
        for row in rows:
            print(f"    {name:<14} {row['jobs']} worker(s): {row['toys_per_s']:9.1f} toys/s, "
                  f"{row['fits_per_s']:9.1f} fits/s, efficiency {100 * row['efficiency']:.0f} %")
        print(f"    {name:<14} {1e6 * per_toy:.0f} us per toy; one scipy global fit "
              f"{1e3 * scipy_s:.1f} ms ({scipy_s / per_toy:.0f} x)")
    for name, why in r["neyman_skipped"].items():
        print(f"    {name:<14} skipped: {why}")
    if r.get("data"):
        print("  the given data, each alone and together, 1 worker:")
        for row in r["data"]:
            toys = (f"{row['toys_per_s']:9.1f} toys/s ({1e3 / row['toys_per_s']:.2f} ms per toy)"
                    if "toys_per_s" in row else f"toys skipped: {row['toys_skipped']}")
            print(f"    {row['data']}: {1e6 * row['seconds_per_point']:.1f} us per grid point; "
                  f"{toys}")
