"""The CDEX-like kind's part of ``cevns-scan bench``: template build and naive baselines.

The generic benchmark (:mod:`cevns_scan.bench`) calls :func:`bench` through the kind's
optional ``bench`` hook (:class:`~cevns_scan.experiments.protocols.ExperimentKind`). The
naive workflows are what one writes by hand for eq. 18: per grid point a ``scipy.optimize``
minimisation of the pulls with precomputed templates, and per grid point the 20 binned rates
by nested ``scipy.integrate.quad``.
"""

from __future__ import annotations

import time

import numpy as np

from ...bench import median_time


def template_time(analysis, repeat: int) -> dict:
    """Median seconds of one template set (every flux component, SM and MM) for the bins of
    the analysis's dataset, after one call that compiles or loads the kernels."""
    from .response import binned_templates

    model, ds = analysis.model, analysis.dataset
    binned_templates(model, ds.tee_lo, ds.tee_hi)
    t = median_time(lambda: binned_templates(model, ds.tee_lo, ds.tee_hi), repeat)
    return {"seconds": t, "components": len(model.components), "bins": int(ds.tee_lo.size),
            "interactions": "SM + MM (3 flavours)"}


def plane_time_per_point(analysis, grid: int, repeat: int) -> float:
    """Seconds per grid point of the compiled eq. 18 plane (one thread, 0-3e-8 mu_B)."""
    plane = analysis.plane("e", "mu")
    mu = np.linspace(0.0, 3e-8, grid)
    out = np.empty((grid, grid))
    plane.evaluate(mu[:2], mu[:2], out[:2, :2])  # compile or load
    return median_time(lambda: plane.evaluate(mu, mu, out), repeat) / grid**2


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

    from ...kernels.constants import MEV_PER_KEV
    from ...kernels.cross_sections import dsigma_mm, dsigma_sm
    from ...kernels.form_factor import helm_ff
    from ...kernels.kinematics import e_nu_min
    from ...kernels.quenching import t_nr_kev_from_t_ee
    from .response import PAPER_K

    tgt = model.target
    mu2p = (1e-8) ** 2 * model.probabilities[0] + (1e-8) ** 2 * model.probabilities[1]
    comps = [c for c in model.components if c.e_mev.size and c.e_max_mev > 1.0]
    t = time.perf_counter()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", IntegrationWarning)
        for i in range(n_bins):
            t_lo = t_nr_kev_from_t_ee(tee_lo[i], tgt.z, PAPER_K) * MEV_PER_KEV
            t_hi = t_nr_kev_from_t_ee(tee_hi[i], tgt.z, PAPER_K) * MEV_PER_KEV
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


def bench(quick: bool, repeat: int) -> dict:
    """The Ge template build of the built-in Asimov dataset, the compiled eq. 18 per grid point,
    and the naive workflows against it (``rows`` for JSON, ``lines`` for the table)."""
    from ...analysis import Analysis
    from . import ASIMOV_NAME

    analysis = Analysis.from_config(data=ASIMOV_NAME)
    templ = template_time(analysis, 5 if quick else 50)
    ours = plane_time_per_point(analysis, 401 if quick else 2001, repeat)
    opt_s = naive_optimize_per_point(analysis.experiments[0].likelihood, 50 if quick else 300)
    quad = naive_quad_per_point(analysis.model, analysis.dataset.tee_lo,
                                analysis.dataset.tee_hi, 1 if quick else 20)
    q_s = quad["seconds_per_point"]
    rows = [{"quantity": "templates", "dataset": ASIMOV_NAME, **templ},
            {"quantity": "plane_per_point", "dataset": ASIMOV_NAME, "seconds_per_point": ours},
            {"quantity": "naive_optimize_per_point", "seconds_per_point": opt_s,
             "ratio": opt_s / ours},
            {"quantity": "naive_quad_per_point", "ratio": q_s / ours, **quad}]
    lines = [f"{analysis.target_label} template set ({templ['components']} fluxes x "
             f"{templ['bins']} bins x SM, MM): {1e3 * templ['seconds']:.2f} ms",
             "naive workflows of eq. 18, seconds per grid point (ratio to the compiled plane at "
             f"1 worker, {ours:.2e} s):",
             f"  scipy.optimize per point, precomputed templates: {opt_s:.2e} s  "
             f"({opt_s / ours:.2e} x)",
             f"  scipy.integrate.quad rates per point ({quad['bins_timed']} of {quad['bins']} "
             f"bins timed): {q_s:.2e} s  ({q_s / ours:.2e} x)"]
    return {"rows": rows, "lines": lines}
