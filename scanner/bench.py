"""``cevns-scan bench``: compile times, template build, scan throughput and naive baselines.

Everything is measured in this run on this machine: medians of repeated runs, wall-clock
(``time.perf_counter``). The naive workflows are what one writes by hand: per grid point a
``scipy.optimize`` minimisation of the pulls with precomputed templates, and per grid point
the 20 binned rates by nested ``scipy.integrate.quad``.
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


def _median_time(fn, repeat: int) -> float:
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


def template_time(analysis, repeat: int) -> dict:
    from .experiments.quenched import binned_templates

    model, ds = analysis.model, analysis.dataset
    binned_templates(model, ds.tee_lo, ds.tee_hi)
    t = _median_time(lambda: binned_templates(model, ds.tee_lo, ds.tee_hi), repeat)
    return {"seconds": t, "components": len(model.components), "bins": int(ds.tee_lo.size),
            "interactions": "SM + MM (3 flavours)"}


def scan_throughput(statistic, grid: int, jobs: int, repeat: int, chunk_points: int,
                    backend: str = "threading") -> dict:
    from .scan import make_chunks, scan_map

    mu = np.linspace(0.0, 3e-8, grid)
    chunks = make_chunks(grid, grid, chunk_points)
    warm_rows = min(grid, 4 * jobs)  # start the workers and load the JIT before timing
    scan_map(statistic, mu[:warm_rows], mu, make_chunks(warm_rows, grid, grid), jobs=jobs,
             backend=backend)
    t = _median_time(lambda: scan_map(statistic, mu, mu, chunks, jobs=jobs, backend=backend),
                     repeat)
    return {"grid": grid, "points": grid * grid, "jobs": jobs, "backend": backend,
            "seconds": t, "points_per_s": grid * grid / t, "chunks": len(chunks)}


def naive_optimize_per_point(problem, n_points: int, seed: int = 0) -> float:
    """Seconds per point: scipy.optimize.minimize over (xi, B) with precomputed templates."""
    from scipy.optimize import minimize

    rng = np.random.default_rng(seed)
    n_comp = problem.sm.shape[0]

    def chi2(theta, r_ij):
        c = problem.sigma[:, None] * r_ij
        res = (problem.obs - r_ij.sum(0) - theta[n_comp] - theta[:n_comp] @ c) / problem.delta
        return float(np.sum(res**2) + np.sum(theta[:n_comp] ** 2))

    t = time.perf_counter()
    for _ in range(n_points):
        mu = rng.uniform(0, 3e-8, 3) * np.array([1.0, 1.0, 0.0])
        r_ij = problem.sm + problem.mm @ mu**2
        minimize(chi2, np.zeros(n_comp + 1), args=(r_ij,), method="BFGS")
    return (time.perf_counter() - t) / n_points


def naive_quad_per_point(model, tee_lo, tee_hi, n_bins: int) -> dict:
    """Seconds per point: the binned expected rates of one (mu_e, mu_mu) point by nested quad.

    For each bin and each open flux component, quad over T_nr of a quad over E_nu of
    phi(E) (dsigma_SM + mu^2 P dsigma_MM) (table nodes as break points). Only ``n_bins`` of
    the bins are computed; the time is scaled to all bins.
    """
    import warnings

    from scipy.integrate import IntegrationWarning, quad

    from .kernels.constants import MEV_PER_KEV
    from .kernels.cross_sections import dsigma_mm, dsigma_sm
    from .kernels.form_factor import helm_ff
    from .kernels.kinematics import e_nu_min
    from .kernels.quenching import t_nr_kev_from_t_ee

    tgt = model.target
    mu2p = (1e-8) ** 2 * model.probabilities[0] + (1e-8) ** 2 * model.probabilities[1]
    comps = [c for c in model.components if c.e_mev.size and c.e_max_mev > 1.0]
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        for i in range(n_bins):
            t_lo = t_nr_kev_from_t_ee(tee_lo[i], tgt.z, model.quenching_k) * MEV_PER_KEV
            t_hi = t_nr_kev_from_t_ee(tee_hi[i], tgt.z, model.quenching_k) * MEV_PER_KEV
            for comp in comps:
                def inner(tn, comp=comp):
                    ff = helm_ff(tn, tgt.m_n_mev, tgt.r0_fm)
                    lo = e_nu_min(tn, tgt.m_n_mev)
                    if lo >= comp.e_mev[-1]:
                        return 0.0
                    pts = comp.e_mev[(comp.e_mev > lo)][:400]

                    def f(e):
                        phi = np.interp(e, comp.e_mev, comp.density)
                        return phi * (dsigma_sm(e, tn, tgt.m_n_mev, model.weak_charge, ff)
                                      + mu2p * dsigma_mm(e, tn, tgt.m_n_mev, tgt.z, ff, 1.0))
                    return quad(f, lo, comp.e_mev[-1], points=pts, limit=len(pts) + 50,
                                epsrel=1e-8)[0]
                quad(inner, t_lo, t_hi, epsrel=1e-8, limit=200)
    elapsed = time.perf_counter() - t
    return {"seconds_per_point": elapsed * tee_lo.size / n_bins, "bins_timed": n_bins,
            "bins": int(tee_lo.size), "components": [c.name for c in comps]}


def poisson_profile_time(analysis, grid: int, repeat: int) -> dict:
    """XENONnT: profiled -2 ln L per grid point (compiled) and one scipy fit of the same."""
    from scipy.optimize import minimize

    from .kernels.poisson import deviance

    lik = analysis.experiments[0].likelihood
    plane = lik.plane("e", "mu")
    mu = np.linspace(0.0, 3e-9, grid)
    out = np.empty((grid, grid))
    plane.evaluate(mu[:2], mu[:2], out[:2, :2])  # compile or load
    t = _median_time(lambda: plane.evaluate(mu, mu, out), repeat)
    theta0, free = plane.theta0.copy(), plane.free
    theta0[-2] = (1.5e-9 / plane.scale) ** 2
    idx = np.flatnonzero(free)
    lo, hi = plane.model.lo[idx], plane.model.hi[idx]

    def f(x):
        th = theta0.copy()
        th[idx] = x
        return deviance(th, plane.model)

    n_fit = 3 if repeat == 1 else 10
    t0 = time.perf_counter()
    for _ in range(n_fit):
        minimize(f, theta0[idx], method="L-BFGS-B",
                 bounds=list(zip(np.where(np.isfinite(lo), lo, None),
                                 np.where(np.isfinite(hi), hi, None), strict=True)))
    scipy_s = (time.perf_counter() - t0) / n_fit
    per_point = t / grid**2
    return {"grid": grid, "seconds_per_point": per_point, "scipy_fit_s": scipy_s,
            "ratio": scipy_s / per_point, "nuisances": int(idx.size)}


def toy_throughput(analysis, toys: int, points: int, workers: list[int]) -> list[dict]:
    """Neyman toys (one conditional and one global fit each) per second, by worker count."""
    from .neyman import NeymanPlane
    from .scan import make_chunks, scan_map

    lik = analysis.experiments[0].likelihood
    plane = NeymanPlane(analysis.plane("e", "mu"), lik.toys("e", "mu"), toys, 1, analysis.cl)
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


def scipy_toy_time(analysis, n: int) -> float:
    """Seconds for one scipy global fit of a toy (L-BFGS-B over mu_x^2, mu_y^2 >= 0 of the
    profiled statistic, as a hand-written Neyman construction would do)."""
    from scipy.optimize import minimize

    stat = analysis.statistic
    scale = analysis.mu_scale("e")
    t0 = time.perf_counter()
    for k in range(n):
        x0 = np.array([0.5 + 0.1 * k, 0.3])
        minimize(lambda p: stat(np.array([np.sqrt(max(p[0], 0)) * scale,
                                          np.sqrt(max(p[1], 0)) * scale, 0.0])), x0,
                 method="L-BFGS-B", bounds=[(0, None), (0, None)])
    return (time.perf_counter() - t0) / n


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
    from .analysis import Analysis
    from .outputs import check_distinct_outputs, check_output_file, json_bytes, write_output_file

    plot = args.plot or (str(Path(args.json).with_suffix(".png")) if args.json
                         else "bench_scaling.png")
    for option, value in (("--json", args.json), ("--plot", plot)):
        if value:
            check_output_file(value, force=args.force, option=option)
    check_distinct_outputs([("--json", args.json), ("--plot", plot)])
    quick = args.quick
    repeat = 3 if not quick else 1
    machine = _machine()
    max_workers = args.max_workers or os.cpu_count() or 1
    log = lambda s: print(s, file=sys.stderr, flush=True)  # noqa: E731

    log("bench: numba compile times (fresh processes, cold and cached)...")
    compile_t = compile_times(1 if quick else 3)
    analysis = Analysis.from_config()
    log("bench: template build...")
    templ = template_time(analysis, 5 if quick else 50)
    coef = analysis.plane("e", "mu")
    chunk_points = analysis.config.scan.chunk_points
    big = 401 if quick else 2001
    log(f"bench: scan throughput on a {big}x{big} grid...")
    workers = sorted({1, 2, max_workers} if max_workers >= 2 else {1})
    by_workers = []
    for backend in ("threading", "loky"):
        rows = [scan_throughput(coef, big, j, repeat, chunk_points, backend) for j in workers]
        for r in rows:
            r["efficiency"] = r["points_per_s"] / (r["jobs"] * rows[0]["points_per_s"])
        by_workers += rows
    base = by_workers[0]["points_per_s"]
    sizes = [101, 201, 401] if quick else [501, 1001, 2001, 2829]
    by_size = [scan_throughput(coef, n, 1, repeat, chunk_points) for n in sizes]
    exponent = _fit_exponent([r["points"] for r in by_size], [r["seconds"] for r in by_size])
    log("bench: naive baselines (scipy.optimize per point, scipy.integrate.quad per point)...")
    opt_s = naive_optimize_per_point(analysis.experiments[0].likelihood, 50 if quick else 300)
    quad = naive_quad_per_point(analysis.model, analysis.dataset.tee_lo, analysis.dataset.tee_hi,
                                1 if quick else 20)
    log("bench: XENONnT profile likelihood (compiled Newton vs scipy)...")
    xe = Analysis.from_config(data="xenonnt-8b")
    poisson = poisson_profile_time(xe, 21 if quick else 101, repeat)
    log("bench: Neyman toys (CDEX-like and XENONnT, 1 and 2 workers)...")
    toy_workers = sorted({1, min(2, max_workers)})
    toys = {"cdex10-asimov": toy_throughput(analysis, 100 if quick else 1000, 4, toy_workers),
            "xenonnt-8b": toy_throughput(xe, 20 if quick else 200, 2 if quick else 4,
                                         toy_workers)}
    scipy_toy = {"cdex10-asimov": scipy_toy_time(analysis, 3 if quick else 10),
                 "xenonnt-8b": scipy_toy_time(xe, 1 if quick else 3)}
    ours_s = 1.0 / base
    result = {
        "machine": machine, "quick": quick, "version": __version__,
        "compile": compile_t,
        "templates_ge": templ,
        "scan_by_workers": by_workers,
        "scan_by_size": by_size, "time_exponent": exponent,
        "naive": {
            "optimize_per_point_s": opt_s, "optimize_ratio": opt_s / ours_s,
            "quad_per_point_s": quad["seconds_per_point"],
            "quad_ratio": quad["seconds_per_point"] / ours_s, "quad_detail": quad,
            "ours_per_point_s": ours_s,
        },
        "xenonnt_profile": poisson,
        "neyman_toys": toys,
        "scipy_per_toy_fit_s": scipy_toy,
    }
    _print_table(result)
    if args.json:
        write_output_file(args.json, json_bytes(result), force=args.force, option="--json")
    write_output_file(plot, scaling_plot(by_workers, by_size, machine), force=args.force,
                      option="--plot")
    log(f"bench: scaling plot {plot}" + (f", JSON {args.json}" if args.json else ""))
    return 0


def _print_table(r: dict) -> None:
    m = r["machine"]
    print(f"cevns-scan {r['version']} bench on {m['cpu']} ({m['cores']} cores), "
          f"Python {m['python']}{' [quick]' if r['quick'] else ''}")
    c = r["compile"]
    print(f"  numba first call (templates + chi2), fresh process: cold cache "
          f"{c['cold']['first_call_s']:.2f} s, with cache {c['cached']['first_call_s']:.2f} s "
          f"(imports {c['cached']['import_s']:.2f} s)")
    t = r["templates_ge"]
    print(f"  Ge template set ({t['components']} fluxes x {t['bins']} bins x SM, MM): "
          f"{1e3 * t['seconds']:.2f} ms")
    print("  scan throughput (median of repeated runs):")
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
    n = r["naive"]
    print("  naive workflows, seconds per grid point (ratio to ours at 1 worker, "
          f"{n['ours_per_point_s']:.2e} s):")
    print(f"    scipy.optimize per point, precomputed templates: {n['optimize_per_point_s']:.2e} s"
          f"  ({n['optimize_ratio']:.2e} x)")
    q = n["quad_detail"]
    print(f"    scipy.integrate.quad rates per point ({q['bins_timed']} of {q['bins']} bins timed):"
          f" {n['quad_per_point_s']:.2e} s  ({n['quad_ratio']:.2e} x)")
    x = r["xenonnt_profile"]
    print(f"  XENONnT likelihood, {x['nuisances']} nuisances profiled: "
          f"{1e6 * x['seconds_per_point']:.1f} us per grid point ({x['grid']}^2 plane, "
          "1 worker); one scipy L-BFGS-B fit (numerical gradient) "
          f"{1e3 * x['scipy_fit_s']:.1f} ms ({x['ratio']:.0f} x)")
    print("  Neyman toys (each: a conditional and a global fit, compiled):")
    for name, rows in r["neyman_toys"].items():
        per_toy = 1.0 / rows[0]["toys_per_s"]
        scipy_s = r["scipy_per_toy_fit_s"][name]
        for row in rows:
            print(f"    {name:<14} {row['jobs']} worker(s): {row['toys_per_s']:9.1f} toys/s, "
                  f"{row['fits_per_s']:9.1f} fits/s, efficiency {100 * row['efficiency']:.0f} %")
        print(f"    {name:<14} {1e6 * per_toy:.0f} us per toy; one scipy global fit "
              f"{1e3 * scipy_s:.1f} ms ({scipy_s / per_toy:.0f} x)")
