"""The analysis pipeline shared by ``reproduce``, ``scan`` and ``merge``.

config + dataset -> model -> templates -> fit problem -> plane grids -> chi^2 maps ->
contours and limits -> results files (DESIGN.md section 5).
"""

from __future__ import annotations

import hashlib
import platform
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from . import __version__
from .config import FLAVOURS, Config, parse_plane
from .contours import contour_lines, extent_limits, refine_minimum
from .datasets import ASIMOV_NAME, Dataset, resolve_dataset
from .errors import InputError
from .fit import Problem, axis_crossing, make_problem, one_dof_limits, threshold
from .model import Model, build_model, make_target
from .outputs import atomic_write_bytes, npz_bytes, write_csv, write_json
from .rates import differential_rates
from .templates import Templates, binned_templates

#: Magnetic moments (mu_B) of the paper's Fig. 2.
FIG2_MU = (1e-9, 8e-10, 4e-10)
FIG2_TARGETS = ("Ge", "Xe")


@dataclass(frozen=True)
class Analysis:
    """A configured model with its dataset, templates and fit problem."""

    config: Config
    model: Model
    dataset: Dataset
    templates: Templates
    problem: Problem

    def digest(self) -> str:
        """Hash of everything a chi^2 map depends on: config, dataset numbers, version."""
        h = hashlib.sha256(self.config.to_json().encode())
        h.update(self.dataset.digest().encode())
        h.update(__version__.encode())
        return h.hexdigest()

    @property
    def cl(self) -> float:
        return self.config["fit"]["cl"]


def prepare(config: Config, data_spec: str | None = None, dataset: Dataset | None = None):
    """Build the :class:`Analysis` for a config and a dataset (path, 'cdex10-asimov' or object)."""
    model = build_model(config)
    if dataset is None:
        dataset = resolve_dataset(data_spec, model, config)
    templates = binned_templates(model, dataset.tee_lo, dataset.tee_hi)
    problem = make_problem(templates, dataset, config["fit"])
    return Analysis(config, model, dataset, templates, problem)


@dataclass(frozen=True)
class PlaneGrid:
    """The axes of one (mu_x, mu_y) plane, third moment at zero, in mu_B."""

    flavour_x: str
    flavour_y: str
    mu_x: np.ndarray
    mu_y: np.ndarray

    @property
    def name(self) -> str:
        return f"{self.flavour_x}_{self.flavour_y}"


def axis_maximum(analysis: Analysis, flavour: str) -> float:
    """The configured axis maximum, or ``auto``: margin x the on-axis 2-d.o.f. crossing.

    The crossing is where chi2(mu_l, others 0) - min reaches chi2.ppf(cl, 2). For these
    templates the chi^2 depends on the moments only through sum_l P_el mu_l^2, so the
    2-d.o.f. contour's extent along an axis equals that crossing and a margin > 1 closes the
    contour inside the grid; a contour that still touches the edge is reported.
    """
    value = analysis.config["scan"][f"mu_max_{flavour}"]
    if value != "auto":
        return float(value)
    thr = threshold(analysis.cl, 2)
    return analysis.config["scan"]["auto_margin"] * axis_crossing(analysis.problem, flavour, thr)


def plane_grid(analysis: Analysis, plane: str, grid: int | None = None) -> PlaneGrid:
    """Linear axes from 0 to :func:`axis_maximum` with ``grid`` points each."""
    fx, fy = parse_plane(plane, "--plane")
    n = grid if grid is not None else analysis.config["scan"]["grid"]
    if n < 2:
        raise InputError(f"--grid {n} must be >= 2 points per axis")
    return PlaneGrid(fx, fy, np.linspace(0.0, axis_maximum(analysis, fx), n),
                     np.linspace(0.0, axis_maximum(analysis, fy), n))


def plane_digest(analysis: Analysis, pg: PlaneGrid) -> str:
    """Hash of the analysis and the plane's axes (what a checkpoint chunk belongs to)."""
    h = hashlib.sha256(analysis.digest().encode())
    h.update(pg.name.encode())
    h.update(np.ascontiguousarray(pg.mu_x, dtype="<f8").tobytes())
    h.update(np.ascontiguousarray(pg.mu_y, dtype="<f8").tobytes())
    return h.hexdigest()


def _mu_vector(flavour_x, flavour_y, mx, my):
    mu = np.zeros(3)
    mu[FLAVOURS.index(flavour_x)] = mx
    mu[FLAVOURS.index(flavour_y)] = my
    return mu


def plane_result(analysis: Analysis, pg: PlaneGrid, chi2: np.ndarray) -> dict:
    """Minimum, 90 % (or configured CL) contour and 2-d.o.f. limits of one plane."""
    prob = analysis.problem
    chi2_min, bx, by = refine_minimum(
        lambda a, b: prob.chi2(_mu_vector(pg.flavour_x, pg.flavour_y, a, b)),
        pg.mu_x, pg.mu_y, chi2)
    thr = threshold(analysis.cl, 2)
    level = chi2_min + thr
    lines = contour_lines(pg.mu_x, pg.mu_y, chi2, level)
    lim_x, lim_y, touches = extent_limits(lines, pg.mu_x, pg.mu_y, chi2, level)
    return {"plane": pg, "chi2": chi2, "chi2_min": chi2_min, "best": (bx, by),
            "delta_chi2": thr, "level": level, "lines": lines,
            "limits": {f"mu_{pg.flavour_x}": lim_x, f"mu_{pg.flavour_y}": lim_y},
            "touches": touches}


def sort_planes(results: list[dict]) -> None:
    """Put planes in the paper's panel order (e-mu, e-tau, then the rest), in place."""
    order = {"e_mu": 0, "e_tau": 1}
    results.sort(key=lambda r: order.get(r["plane"].name, len(order)))


def edge_messages(results: list[dict]) -> list[str]:
    """Warnings for contours that reach the upper edge of their grid."""
    out = []
    for r in results:
        pg = r["plane"]
        for axis in r["touches"]:
            fl = pg.flavour_x if axis == "x" else pg.flavour_y
            out.append(f"warning: the allowed region of plane {pg.name} reaches the "
                       f"grid edge mu_{fl} = {(pg.mu_x if axis == 'x' else pg.mu_y)[-1]:.4g} mu_B; "
                       f"the mu_{fl} limit is a lower bound: raise [scan] mu_max_{fl}")
    return out


def fig2_tables(config: Config, t_nr_kev: np.ndarray, targets=FIG2_TARGETS, mu=FIG2_MU):
    """Fig. 2 tables: 8B rates per target in events / (kg day keV_nr).

    Columns T_nr_keV, SM and total_mu_<mu> (SM + magnetic moment, mu for every flavour).
    """
    base = build_model(config.with_overrides({"fluxes": {"components": ["8B"]}}, "figure 2"))
    tables = {}
    for name in targets:
        model = base.with_target(make_target(name))
        sm, _ = differential_rates(model, t_nr_kev)
        cols = {"T_nr_keV": t_nr_kev, "SM": sm.sum(axis=0)}
        for m in mu:
            _, mm = differential_rates(model, t_nr_kev, (m, m, m))
            cols[f"total_mu_{m:g}"] = cols["SM"] + mm.sum(axis=0)
        tables[name] = cols
    return tables


def fig2_grid(points: int = 200, t_min: float = 0.1, t_max: float = 10.0) -> np.ndarray:
    """Log-spaced recoil energies (keV_nr) of the Fig. 2 tables."""
    return np.geomspace(t_min, t_max, points)


def limits_summary(analysis: Analysis, results: list[dict]) -> dict:
    """limits.json content (DESIGN.md section 5)."""
    return {
        "two_dof": {r["plane"].name: r["limits"] for r in results},
        "one_dof": one_dof_limits(analysis.problem, analysis.cl),
        "cl": analysis.cl,
        "dataset": analysis.dataset.label,
        "units": "mu_B",
        "note": analysis.dataset.description or f"fit to dataset {analysis.dataset.label}",
        "edge_warnings": edge_messages(results),
    }


def contours_summary(analysis: Analysis, results: list[dict]) -> dict:
    """contours.json content: per plane the CL polylines in mu_B."""
    return {
        "cl": analysis.cl, "dof": 2, "delta_chi2": threshold(analysis.cl, 2), "units": "mu_B",
        "dataset": analysis.dataset.label,
        "planes": {r["plane"].name: {
            "x": f"mu_{r['plane'].flavour_x}", "y": f"mu_{r['plane'].flavour_y}",
            "chi2_min": r["chi2_min"], "best_fit": list(r["best"]), "level": r["level"],
            "lines": [line.tolist() for line in r["lines"]]} for r in results},
    }


def package_versions() -> dict:
    import contourpy
    import joblib
    import matplotlib
    import numba
    import scipy

    return {"cevns-scan": __version__, "python": platform.python_version(),
            "numpy": np.__version__, "scipy": scipy.__version__, "numba": numba.__version__,
            "joblib": joblib.__version__, "matplotlib": matplotlib.__version__,
            "contourpy": contourpy.__version__, "platform": platform.platform()}


def run_record(analysis: Analysis, argv: list[str], timings: dict, extra: dict | None = None):
    """run.json content: enough to reproduce the result."""
    ds = analysis.dataset
    prob = analysis.problem
    sigmas = "; ".join(f"{c}: {s:g}" for c, s in zip(prob.components, prob.sigma, strict=True))
    rec = {
        "command": ["cevns-scan", *argv],
        "versions": package_versions(),
        "config_source": analysis.config.source,
        "config": analysis.config.data,
        "config_sha256": analysis.config.digest(),
        "dataset": {"label": ds.label, "source": ds.source, "sha256": ds.digest(),
                    "note": ds.description, "metadata": {k: str(v) for k, v in ds.metadata.items()},
                    "asimov": ds.label == ASIMOV_NAME},
        "input_sha256": analysis.digest(),
        "flux_model": analysis.model.flux_model,
        "flux_uncertainties": (
            f"fractional 1-sigma flux errors from {analysis.model.sigma_model} ({sigmas}); "
            "BS05(OP) uncertainties are not available to us"),
        "pull_components": list(analysis.problem.components),
        "flavour_probabilities": dict(zip(("P_ee", "P_emu", "P_etau"),
                                          analysis.model.probabilities, strict=True)),
        "timings_s": timings,
        "created_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()),
    }
    if extra:
        rec.update(extra)
    return rec


def write_results(out: Path, analysis: Analysis, results: list[dict], argv: list[str],
                  timings: dict, overlays=(), extra: dict | None = None) -> dict:
    """Write every file of DESIGN.md section 5 into the folder ``out``. Returns limits."""
    from .plots import draw_fig2, draw_fig3

    t0 = time.perf_counter()
    t_nr = fig2_grid()
    tables = fig2_tables(analysis.config, t_nr)
    for name, cols in tables.items():
        write_csv(out / f"rates_{name}.csv", list(cols), list(cols.values()),
                  [f"Fig. 2: 8B ({analysis.model.flux_model}) CEvNS rate on {name}, "
                   "events/(kg day keV_nr); total_mu_X = SM + magnetic moment with "
                   "mu_e = mu_mu = mu_tau = X mu_B"])
    tp = analysis.templates
    ds = analysis.dataset
    write_csv(out / "templates.csv",
              ["Tee_lo_keV", "Tee_hi_keV", "observed", "sigma", "SM", "MM_e", "MM_mu", "MM_tau"],
              [ds.tee_lo, ds.tee_hi, ds.rate, ds.sigma, tp.sm.sum(0), *tp.mm.sum(0).T],
              [f"dataset {ds.label}: {ds.description or ds.source}",
               "rates in events/(keV_ee kg day); MM_l per mu_B^2 for flavour l, weighted by P_el, "
               "summed over flux components"])
    for r in results:
        pg = r["plane"]
        atomic_write_bytes(out / f"chi2_{pg.name}.npz", npz_bytes(
            mu_x=pg.mu_x, mu_y=pg.mu_y, chi2=r["chi2"], chi2_min=np.float64(r["chi2_min"]),
            delta_chi2_90=np.float64(threshold(0.9, 2)), cl=np.float64(analysis.cl),
            delta_chi2=np.float64(r["delta_chi2"]),
            flavours=np.array([pg.flavour_x, pg.flavour_y]),
            dataset=np.array(ds.label)))
    limits = limits_summary(analysis, results)
    write_json(out / "contours.json", contours_summary(analysis, results))
    write_json(out / "limits.json", limits)
    timings = dict(timings, tables_s=time.perf_counter() - t0)
    t1 = time.perf_counter()
    draw_fig2(out, tables)
    draw_fig3(out, results, analysis.cl, ds.label, ds.description, overlays)
    timings["figures_s"] = time.perf_counter() - t1
    write_json(out / "run.json", run_record(analysis, argv, timings, extra))
    return limits


def progress_desc(pg: PlaneGrid) -> str:
    return f"scan {pg.name} ({pg.mu_x.size}x{pg.mu_y.size})"
