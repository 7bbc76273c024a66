"""The XENONnT solar-8B experiment (issue 10): fold, likelihood, profile, SM measurement, joint fit.

Every reference number is computed here, independently of the code under test:
``scipy.integrate.quad`` for the efficiency fold, a fine Gauss-Legendre rule with numpy/scipy
interpolants for the node-spacing study, a numpy re-implementation of the expected counts
(bilinear morphing, exposures) and of the Baker-Cousins deviance with its Gaussian
constraints, ``scipy.optimize`` for every profile, and a least-squares solution of eq. 18 for
the CDEX-like part of the joint fit. The physics rate dR/dT_nr comes from
``cevns_scan.rates.flavour_differential_rates`` (tested against quad in test_rates.py).
Published numbers (significance about 3.3 sigma, the 2024 flux 4.7e6 cm^-2 s^-1, the
constraint widths) come from ``../shared/xenonnt/README.md``.
"""

from __future__ import annotations

import contextlib
import csv
import dataclasses
import io
import json
import math

import numpy as np
import pytest
from helpers import FolderState, assert_one_line_error
from scipy import integrate, optimize, stats
from scipy.interpolate import PchipInterpolator

from cevns_scan.experiments.xenonnt.fold import MonoEfficiencyFold
from cevns_scan.experiments.xenonnt.measurement import sm_measurement

#: Unit conversions of the test (per kg day -> per tonne year).
PER_TONNE_YEAR = 1000.0 * 365.25
#: Anchors of t_ly and t_qy in the release (README: -3 ... 3).
ANCHORS = np.arange(-3.0, 4.0)
#: Parameter order of the kernel's theta (the rates, the two yields, u, v).
N_RATES = 8
I_FLUX, I_EFF, I_HEP, I_TLY, I_TQY, I_U, I_V = 0, 1, 7, 8, 9, 10, 11
#: Published constraint widths (README table, 2024 statistical model; SR2 uses SR1's).
PUBLISHED_WIDTHS = {"sno_flux": 5.25e6, "sno_flux_sigma": 0.20e6, "sigma_efficiency": 0.25,
                    "efficiency_min": 0.5, "efficiency_max": 1.5,
                    "sigma_ac": [0.0904, 0.0576, 0.0576], "sigma_er": 1.0,
                    "sigma_neutron": 0.58}
#: Observed events per run (README: 9, 28 and 25).
OBSERVED = (9, 28, 25)


# ---------------------------------------------------------------------------- fixtures


@pytest.fixture(scope="module")
def analysis():
    from cevns_scan import Analysis

    return Analysis.from_config(data="xenonnt-8b")


@pytest.fixture(scope="module")
def lik(analysis):
    return analysis.experiments[0].likelihood


@pytest.fixture(scope="module")
def xe_model(analysis):
    return analysis.model.with_target("Xe")


@pytest.fixture(scope="module")
def folded(lik, xe_model):
    return MonoEfficiencyFold(lik.release).templates(xe_model)


@pytest.fixture(scope="module")
def fine_rule(xe_model):
    """A fine Gauss-Legendre rule on 0.5-5.0 keV_nr (0.02 keV panels, 10 nodes) with the 8B
    SM and MM (flavour e) rates in events / (t y keV_nr) at its nodes."""
    from cevns_scan.rates import flavour_differential_rates

    edges = np.linspace(0.5, 5.0, 226)
    x, w = np.polynomial.legendre.leggauss(10)
    half, mid = 0.5 * np.diff(edges), 0.5 * (edges[1:] + edges[:-1])
    t = (mid[:, None] + half[:, None] * x).ravel()
    wt = (half[:, None] * w).ravel()
    sm, mm = flavour_differential_rates(xe_model.with_components(["8B"]), t)
    return t, wt, sm[0] * PER_TONNE_YEAR, mm[0, :, 0] * PER_TONNE_YEAR


def _run_cli(argv, folder):
    from cevns_scan.cli import main

    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main([str(a) for a in argv])
    return code, out.getvalue(), err.getvalue(), folder


@pytest.fixture(scope="module")
def xe_run(tmp_path_factory):
    """``reproduce --data xenonnt-8b --plane e-mu --grid 21`` (once for the module)."""
    folder = tmp_path_factory.mktemp("xe") / "r"
    return _run_cli(["reproduce", "--data", "xenonnt-8b", "--plane", "e-mu", "--grid", "21",
                     "--out", folder, "--quiet"], folder)


@pytest.fixture(scope="module")
def joint_run(tmp_path_factory):
    """``reproduce --data cdex10-asimov --data xenonnt-8b`` (once for the module)."""
    folder = tmp_path_factory.mktemp("joint") / "r"
    return _run_cli(["reproduce", "--data", "cdex10-asimov", "--data", "xenonnt-8b", "--plane",
                     "e-mu", "--grid", "21", "--out", folder, "--quiet", "--no-figures"],
                    folder)


# ---------------------------------------------------------------------------- independent model


def bilinear(values, t_ly, t_qy):
    """values[..., 7, 7, B] bilinearly interpolated at (t_ly, t_qy) in [-3, 3]^2 (the anchors
    are the integers -3 ... 3)."""
    i = min(max(math.floor(t_ly - ANCHORS[0]), 0), ANCHORS.size - 2)
    k = min(max(math.floor(t_qy - ANCHORS[0]), 0), ANCHORS.size - 2)
    x, y = t_ly - ANCHORS[i], t_qy - ANCHORS[k]
    corners = values[..., i:i + 2, k:k + 2, :]
    weights = np.array([[(1 - x) * (1 - y), (1 - x) * y], [x * (1 - y), x * y]])
    return np.einsum("...ijb,ij->...b", corners, weights)


class NumpyModel:
    """Expected counts and -2 ln L at fixed moments ``mu`` (mu_B), built with numpy from the
    release's arrays (exposures, AC, ER, neutron anchors) and the folded signal templates.

    Parameters p (10,): 8B flux factor, efficiency, AC of SR0-SR2, ER, neutron, hep, t_ly,
    t_qy. Signals (8B, hep) scale with efficiency x their factor; the signal and neutron
    templates are bilinear in (t_ly, t_qy) between the anchors.
    """

    def __init__(self, lik, mu, counts=None, flux="sno"):
        rel, tp = lik.release, lik.templates
        exposure = np.asarray(rel.exposure_t_y)[:, None]
        mu2 = np.asarray(mu, dtype=float) ** 2
        j8, jh = tp.components.index("8B"), tp.components.index("hep")
        # the morphing templates (8B, hep, neutron), (3, R, 7, 7, 81)
        self.morph = np.stack([tp.sm[j8] + tp.mm[j8] @ mu2, tp.sm[jh] + tp.mm[jh] @ mu2,
                               np.asarray(rel.rg) * exposure[:, :, None, None]])
        self.ac = np.asarray(rel.ac) * exposure
        self.er = np.asarray(rel.er) * exposure
        n = np.asarray(rel.observed if counts is None else counts, dtype=float).ravel()
        self.n, self.pos = n, n > 0
        self.n_log_n = float(np.sum(n[self.pos] * np.log(n[self.pos])))
        self.centre, self.sigma = constraint_terms(lik, flux)
        self.c = self.sigma > 0

    def expected(self, p):
        f, eff, ac0, ac1, ac2, er, neutron, hep, t_ly, t_qy = p
        signal_8b, signal_hep, rg = bilinear(self.morph, t_ly, t_qy)
        lam = eff * (f * signal_8b + hep * signal_hep)
        lam = lam + np.array([ac0, ac1, ac2])[:, None] * self.ac + er * self.er
        return lam + neutron * rg

    def __call__(self, p):
        """Baker-Cousins deviance plus the Gaussian constraints (+inf if lambda_b <= 0
        where n_b > 0)."""
        lam = self.expected(p).ravel()
        lp = lam[self.pos]
        if np.any(lp <= 0):
            return math.inf
        n = self.n[self.pos]
        d = 2.0 * (lam.sum() - n.sum() + self.n_log_n - np.sum(n * np.log(lp)))
        p = np.asarray(p, dtype=float)
        return float(d + np.sum(((p[self.c] - self.centre[self.c]) / self.sigma[self.c]) ** 2))


def expected(lik, p, mu):
    """Expected counts (3, 81) at the 10 parameters ``p`` and moments ``mu`` (mu_B)."""
    return NumpyModel(lik, mu).expected(p)


def constraint_terms(lik, flux):
    """Centres and widths (0: unconstrained) of the 10 parameters from the config values."""
    s = lik.settings
    f0 = lik.flux_8b_model
    centre = np.array([s.sno_flux / f0, 1, 1, 1, 1, 1, 1, 1, 0, 0], dtype=float)
    sigma = np.array([s.sno_flux_sigma / f0, s.sigma_efficiency, *s.sigma_ac, s.sigma_er,
                      s.sigma_neutron, 0.0, 1.0, 1.0])
    if flux == "free":
        centre[I_FLUX], sigma[I_FLUX] = 1.0, 0.0
    return centre, sigma


def bounds(lik):
    """Box of the 10 parameters: rates >= 0, efficiency in its range, yields in [-3, 3]."""
    s = lik.settings
    lo = np.array([0, s.efficiency_min, 0, 0, 0, 0, 0, 0, -3, -3], dtype=float)
    hi = np.array([np.inf, s.efficiency_max, *[np.inf] * 6, 3, 3])
    return lo, hi


def scipy_profile(objective, lik, p_fixed, free, starts):
    """min of ``objective(p)`` over the ``free`` of the 10 parameters with scipy L-BFGS-B.

    Runs from every start on the whole box, then once in each of the 3 x 3 morph cells
    (t_ly, t_qy) around the best point found (the objective is smooth inside a cell; the
    bilinear morphing has kinks on the anchors). Returns (D, p).
    """
    lo, hi = bounds(lik)
    idx = np.flatnonzero(free)
    box = list(zip(lo[idx], hi[idx], strict=True))

    def f(x):
        p = np.array(p_fixed, dtype=float)
        p[idx] = x
        return objective(p)

    opts = {"ftol": 1e-15, "gtol": 1e-10, "maxiter": 5000, "maxfun": 100000}
    best_d, best_p = math.inf, None
    for start in starts:
        x0 = np.clip(np.asarray(start, dtype=float)[idx], lo[idx], hi[idx])
        r = optimize.minimize(f, x0, method="L-BFGS-B", bounds=box, options=opts)
        if r.fun < best_d:
            best_d, best_p = float(r.fun), r.x.copy()
    it_ly, it_qy = list(idx).index(I_TLY), list(idx).index(I_TQY)
    c_ly = min(int(np.floor(best_p[it_ly] + 3)), 5)
    c_qy = min(int(np.floor(best_p[it_qy] + 3)), 5)
    centre_p = best_p.copy()
    for a in range(max(c_ly - 1, 0), min(c_ly + 1, 5) + 1):
        for b in range(max(c_qy - 1, 0), min(c_qy + 1, 5) + 1):
            cell = list(box)
            cell[it_ly] = (ANCHORS[a], ANCHORS[a + 1])
            cell[it_qy] = (ANCHORS[b], ANCHORS[b + 1])
            x0 = np.clip(centre_p, [c[0] for c in cell], [c[1] for c in cell])
            r = optimize.minimize(f, x0, method="L-BFGS-B", bounds=cell, options=opts)
            if r.fun < best_d:
                best_d, best_p = float(r.fun), r.x.copy()
    p = np.array(p_fixed, dtype=float)
    p[idx] = best_p
    return best_d, p


def nominal(lik, flux_factor=None):
    """The nominal parameters: constraint centres (8B at the SNO centre unless given)."""
    centre, _ = constraint_terms(lik, "sno")
    if flux_factor is not None:
        centre[I_FLUX] = flux_factor
    return centre


def with_counts(lik, counts):
    """The same likelihood with ``counts`` (3, 81), possibly non-integer, as the data."""
    release = dataclasses.replace(lik.release, observed=np.asarray(counts, dtype=float))
    return dataclasses.replace(lik, release=release)


def pchip_fold(e_nodes, eps, t, w, rate):
    """sum_b int rate * PCHIP(eps[:, b]) over the rule (t, w); eps (n_nodes, 81), zero
    outside the node range."""
    values = np.nan_to_num(PchipInterpolator(e_nodes, eps, axis=0, extrapolate=False)(t))
    return float(((rate * w)[:, None] * values).sum())


def linear_fold(e_nodes, eps, t, w, rate, log=False):
    """The same with linear (or log-linear) interpolation between the nodes."""
    inside = (t >= e_nodes[0]) & (t <= e_nodes[-1])
    total = 0.0
    for b in range(eps.shape[1]):
        if log:
            values = np.exp(np.interp(t, e_nodes, np.log(eps[:, b])))
        else:
            values = np.interp(t, e_nodes, eps[:, b])
        total += float(np.sum(rate * w * values * inside))
    return total


# ---------------------------------------------------------------------------- 1. the fold


@pytest.mark.parametrize(("run", "a_ly", "a_qy", "b"),
                         [(0, 3, 3, 40), (1, 0, 6, 0), (2, 6, 2, 80)])
def test_fold_matches_quad(lik, xe_model, folded, run, a_ly, a_qy, b):
    """N = X int dR/dT eps dT with quad (PCHIP eps of that bin, zero outside 0.5-5 keV)."""
    from cevns_scan.rates import flavour_differential_rates

    rel = lik.release
    model = xe_model.with_components(["8B"])
    comp = model.components[0]
    e = np.asarray(rel.mono_energy_kev, dtype=float)
    eps = PchipInterpolator(e, np.asarray(rel.mono)[run, a_ly, a_qy, :, b])
    # kinematic endpoints: the spectrum's last node and where its density reaches zero
    m_n = 131.293 * 931.49410242  # MeV, A u
    last = np.flatnonzero(np.asarray(comp.density) > 0)[-1]
    ends = {float(comp.e_mev[min(last + 1, comp.e_mev.size - 1)]), float(comp.e_mev[-1])}
    t_ends = [2 * x * x / (2 * x + m_n) * 1e3 for x in ends]
    top = min(5.0, max(t_ends))
    points = sorted({*(x for x in e if 0.5 < x < top), *(x for x in t_ends if 0.5 < x < top)})
    j = folded.components.index("8B")
    for k, got in ((-1, folded.sm[j, run, a_ly, a_qy, b]),
                   (1, folded.mm[j, run, a_ly, a_qy, b, 1])):  # SM and MM of flavour mu

        def integrand(t, k=k):
            sm, mm = flavour_differential_rates(model, np.array([t]))
            rate = sm[0, 0] if k < 0 else mm[0, 0, k]
            return rate * PER_TONNE_YEAR * float(eps(t))

        val, err = integrate.quad(integrand, 0.5, top, points=points, limit=500, epsabs=0.0,
                                  epsrel=1e-10)
        ref = float(rel.exposure_t_y[run]) * val
        assert err < 1e-8 * abs(val)
        assert ref > 0
        assert got == pytest.approx(ref, rel=1e-6), (k, got, ref)


# ---------------------------------------------------------------------------- 2. node spacing


def test_fold_stable_under_halving_and_linear_is_biased(lik, xe_model, folded, fine_rule):
    """PCHIP: every other node (0.5, 0.7, ..., 4.9) changes the 8B events per run by <= 0.1 %;
    linear (log-linear) interpolation of all nodes is biased by > +0.3 % (< -0.3 %)."""
    rel = lik.release
    e = np.asarray(rel.mono_energy_kev, dtype=float)
    mono = np.asarray(rel.mono)
    coarse_rel = dataclasses.replace(rel, mono=mono[:, :, :, ::2],
                                     mono_energy_kev=e[::2])
    assert coarse_rel.mono_energy_kev[1] == pytest.approx(0.7)
    coarse = MonoEfficiencyFold(coarse_rel).templates(xe_model)
    j = folded.components.index("8B")
    t, w, rate_sm, rate_mm = fine_rule
    for r in range(3):
        x = float(rel.exposure_t_y[r])
        eps = mono[r, 3, 3]  # (46, 81) at the nominal anchor t_ly = t_qy = 0
        full_code = folded.sm[j, r, 3, 3].sum()
        half_code = coarse.sm[j, r, 3, 3].sum()
        # the code's folds are the PCHIP folds of those nodes (fine rule, numpy + scipy)
        full_ref = x * pchip_fold(e, eps, t, w, rate_sm)
        half_ref = x * pchip_fold(e[::2], eps[::2], t, w, rate_sm)
        assert full_code == pytest.approx(full_ref, rel=1e-6)
        assert half_code == pytest.approx(half_ref, rel=1e-6)
        assert abs(half_code / full_code - 1) <= 1e-3
        mm_full = folded.mm[j, r, 3, 3, :, 0].sum()
        assert abs(coarse.mm[j, r, 3, 3, :, 0].sum() / mm_full - 1) <= 1e-3
        assert mm_full == pytest.approx(x * pchip_fold(e, eps, t, w, rate_mm), rel=1e-6)
        # the alternatives on the same (all) nodes
        lin = x * linear_fold(e, eps, t, w, rate_sm)
        log = x * linear_fold(e, eps, t, w, rate_sm, log=True)
        assert lin / full_ref - 1 > 3e-3
        assert log / full_ref - 1 < -3e-3
        # and they are not stable under halving either
        lin_half = x * linear_fold(e[::2], eps[::2], t, w, rate_sm)
        assert lin_half / lin - 1 > 3e-3


# ---------------------------------------------------------------------------- 3. the profile


def test_kernel_deviance_matches_numpy(lik):
    """The kernel model of the plane is the numpy model: D at random parameters."""
    from cevns_scan.kernels.poisson import deviance

    plane = lik.plane("e", "mu")
    rng = np.random.default_rng(7)
    for _ in range(6):
        p = np.concatenate([rng.uniform(0.5, 1.5, 7), [rng.uniform(0.5, 1.5)],
                            rng.uniform(-3, 3, 2)])
        mu = rng.uniform(0, 1, 2) * np.array([3e-9, 5e-9])
        theta = np.concatenate([p, (mu / plane.scale) ** 2])
        ref = NumpyModel(lik, (mu[0], mu[1], 0.0))(p)
        assert deviance(theta, plane.model) == pytest.approx(ref, rel=1e-12, abs=1e-9)


@pytest.mark.slow
def test_profile_matches_scipy(lik):
    """Profiled -2 ln L of the kernel (plane and profile_at) against scipy L-BFGS-B."""
    from cevns_scan.kernels.poisson import deviance, profile

    plane = lik.plane("e", "mu")
    free = np.ones(10, dtype=bool)
    free[I_HEP] = False
    rng = np.random.default_rng(2024)
    worst = 0.0
    for _ in range(6):
        mu = rng.uniform(0, 1, 2) * np.array([3e-9, 5e-9])
        out = np.empty((1, 1))
        plane.evaluate(np.array([mu[0]]), np.array([mu[1]]), out)
        d_kernel = float(out[0, 0])
        uv = (mu / plane.scale) ** 2
        start = np.concatenate([nominal(lik), uv])
        _, theta_k, _, status = profile(start, np.concatenate([free, [False, False]]),
                                        plane.model)
        assert status == 0

        def objective(p, uv=uv):
            return deviance(np.concatenate([p, uv]), plane.model)

        perturbed = [theta_k[:10] + np.random.default_rng(s).normal(0, 0.05, 10)
                     for s in (1, 2)]
        for p in perturbed:
            p[I_HEP] = 1.0
        d_scipy, _ = scipy_profile(objective, lik, nominal(lik), free,
                                   [nominal(lik), theta_k[:10], *perturbed])
        assert abs(d_kernel - d_scipy) <= 1e-6, (mu, d_kernel, d_scipy)
        assert d_kernel <= d_scipy + 1e-6
        # the same point through profile_at (one combined MM template)
        assert lik.profile_at((mu[0], mu[1], 0.0))[0] == pytest.approx(d_kernel, abs=1e-6)
        worst = max(worst, abs(d_kernel - d_scipy))
    assert worst <= 1e-6


# ---------------------------------------------------------------------------- 4. Asimov


def test_asimov_gives_back_truth(lik):
    """Asimov data at (mu_e, 0) and nominal nuisances: fit mu_e = truth, D_min = 0."""
    from cevns_scan.kernels.poisson import global_fit

    mu_true = 1.5e-9
    p0 = nominal(lik)
    asimov = with_counts(lik, expected(lik, p0, (mu_true, 0.0, 0.0)))
    # the 1-d profile along mu_e (mu_mu = mu_tau = 0)
    r = optimize.minimize_scalar(lambda m: asimov.statistic((m * 1e-9, 0.0, 0.0)),
                                 bounds=(0.0, 4.0), method="bounded",
                                 options={"xatol": 1e-10})
    assert r.x * 1e-9 == pytest.approx(mu_true, rel=1e-3)
    assert abs(r.fun) <= 1e-6
    d_true, theta = asimov.profile_at((mu_true, 0.0, 0.0))
    assert abs(d_true) <= 1e-6
    np.testing.assert_allclose(theta[:10], p0, atol=1e-4)
    # a grid scan of the plane's mu_e axis: the minimum sits on the truth (a grid node)
    plane = asimov.plane("e", "mu")
    grid = np.linspace(0.0, 3e-9, 61)
    out = np.empty((grid.size, 1))
    plane.evaluate(grid, np.zeros(1), out)
    assert grid[np.argmin(out[:, 0])] == pytest.approx(mu_true, rel=1e-9)
    assert abs(out.min()) <= 1e-6
    # the global fit over (u, v) >= 0: D = 0 and the same MM events (e and mu templates are
    # proportional in the constant-probability model, so only that combination is fixed)
    start, free = asimov.start()
    start[I_U] = start[I_V] = 0.5
    d, th, _, status = global_fit(start, free, plane.model)
    assert status == 0
    assert abs(d) <= 1e-6
    mm = asimov.templates.mm.sum(axis=(0, 1, 2, 3, 4))  # per flavour, mu_B^-2
    scale2 = plane.scale**2
    assert (th[I_U] * mm[0] + th[I_V] * mm[1]) * scale2 == pytest.approx(
        mu_true**2 * mm[0], rel=1e-3)


@pytest.mark.parametrize("flux_case", ["sno_centre", "model_flux"])
def test_asimov_sm_measurement_gives_back_flux(lik, flux_case):
    """SM measurement on Asimov data at mu = 0 returns the flux it was built with."""
    f_true = nominal(lik)[I_FLUX] if flux_case == "sno_centre" else 1.0
    asimov = with_counts(lik, expected(lik, nominal(lik, f_true), (0.0, 0.0, 0.0)))
    meas, theta = sm_measurement(asimov)
    truth = f_true * lik.flux_8b_model
    assert meas.flux == pytest.approx(truth, rel=1e-4)
    assert meas.interval[0] < truth < meas.interval[1]
    assert theta[I_EFF] == pytest.approx(1.0, abs=1e-4)


# ---------------------------------------------------------------------------- 5. real data


@pytest.mark.slow
def test_sm_measurement_on_real_data(lik):
    """Regression against the published numbers (README): significance about 3.3 sigma
    (accepted 3.0-3.6) and a 68 % flux interval containing the 2024 value 4.7e6 cm^-2 s^-1;
    q0 equals the difference of two scipy profiles of the numpy likelihood (flux free vs
    8B off, hep fixed at its model flux in both: a nested test) and the interval ends lie at
    Delta(-2 ln L) = 1."""
    meas, theta = sm_measurement(lik)
    assert 3.0 <= meas.significance <= 3.6
    assert meas.interval[0] < 4.7e6 < meas.interval[1]
    assert meas.interval[0] < meas.flux < meas.interval[1]
    assert meas.significance == pytest.approx(math.sqrt(meas.q0), rel=1e-12)
    assert meas.observed_events == OBSERVED
    objective = NumpyModel(lik, (0.0, 0.0, 0.0), flux="free")
    free = np.ones(10, dtype=bool)
    free[I_HEP] = False
    start = nominal(lik, 1.0)
    jitter = theta[:10] + np.random.default_rng(3).normal(0, 0.05, 10)
    jitter[I_HEP] = 1.0
    d_hat, p_hat = scipy_profile(objective, lik, start, free, [start, theta[:10], jitter])
    off = start.copy()
    off[I_FLUX] = 0.0
    free_bkg = free.copy()
    free_bkg[I_FLUX] = False
    d_bkg, _ = scipy_profile(objective, lik, off, free_bkg, [off])
    assert meas.q0 == pytest.approx(d_bkg - d_hat, abs=1e-4)
    assert meas.flux == pytest.approx(p_hat[I_FLUX] * lik.flux_8b_model, rel=1e-3)
    free_f = free.copy()
    free_f[I_FLUX] = False
    for end in meas.interval:
        fixed = p_hat.copy()
        fixed[I_FLUX] = end / lik.flux_8b_model
        d_end, _ = scipy_profile(objective, lik, fixed, free_f, [fixed])
        assert d_end - d_hat == pytest.approx(1.0, abs=1e-3)


@pytest.mark.slow
def test_projections_at_the_limit_are_reprofiled(lik, analysis):
    """The projections figure shows the model at the 1-d.o.f. mu_e limit with the nuisances
    re-profiled there: its total equals the numpy expectation at the scipy profile at that
    mu (about 65 events), not the SM fit's nuisances plus the signal (about 80)."""
    from cevns_scan.experiments.xenonnt.measurement import limit_projections, projections

    limit = analysis.one_dof_intervals()["mu_e"][1]
    mu = (limit, 0.0, 0.0)
    proj, theta = limit_projections(lik, mu)
    total = sum(float(np.sum(v)) for k, v in next(iter(proj.values())).items()
                if k != "observed")
    objective = NumpyModel(lik, mu)
    free = np.ones(10, dtype=bool)
    free[I_HEP] = False
    start = nominal(lik)
    d, p = scipy_profile(objective, lik, start, free, [start, theta[:10]])
    assert d == pytest.approx(lik.statistic(mu), abs=1e-4)
    assert total == pytest.approx(float(expected(lik, p, mu).sum()), rel=1e-4)
    for name, values in proj.items():  # every projection holds the same events
        assert sum(float(np.sum(v)) for k, v in values.items() if k != "observed") == \
            pytest.approx(total, rel=1e-12), name
    _, sm_theta = sm_measurement(lik)
    old = projections(lik, sm_theta, mu)
    old_total = sum(float(np.sum(v)) for k, v in next(iter(old.values())).items()
                    if k != "observed")
    assert total < old_total - 10.0


# ---------------------------------------------------------------------------- 6. joint fit


def eq18_scaled(gauss, mu, f):
    """Eq. 18 with the 8B templates times f and no 8B pull, by linear least squares."""
    r = gauss.sm + gauss.mm @ (np.asarray(mu, dtype=float) ** 2)  # (J, n)
    j8 = gauss.components.index("8B")
    r[j8] = r[j8] * f
    sigma = np.array(gauss.sigma, dtype=float)
    sigma[j8] = 0.0
    cols = [sigma[j] * r[j] / gauss.delta for j in range(sigma.size) if sigma[j] > 0]
    n_pulls = len(cols)
    rhs = (gauss.obs - r.sum(axis=0) - (0.0 if gauss.bg_free else gauss.bg_value)) / gauss.delta
    if gauss.bg_free:
        cols.append(1.0 / gauss.delta)
    design = np.stack(cols, axis=1)
    pull_rows = np.zeros((n_pulls, design.shape[1]))
    pull_rows[:, :n_pulls] = np.eye(n_pulls)
    a = np.vstack([design, pull_rows])
    b = np.concatenate([rhs, np.zeros(n_pulls)])
    x, *_ = np.linalg.lstsq(a, b, rcond=None)
    return float(np.sum((b - a @ x) ** 2))


def joint_reference(gauss, poisson, mu):
    """min over f of eq. 18 (f) + the XENONnT profile with the flux fixed at f: (D, f)."""
    def total(f):
        return eq18_scaled(gauss, mu, f) + poisson.profile_at(mu, fixed={"flux_8B": f})[0]

    r = optimize.minimize_scalar(total, bounds=(0.0, 4.0), method="bounded",
                                 options={"xatol": 1e-10})
    return float(r.fun), float(r.x)


def test_shared_flux_joint_fit():
    """The 8B flux shared by name: min_f [eq. 18 (8B x f, no 8B pull) + XENONnT at flux f]."""
    from cevns_scan import Analysis
    from cevns_scan.experiments.joint import SharedQuadraticLikelihood

    joint = Analysis.from_config(data=["cdex10-asimov", "xenonnt-8b"]).likelihood
    assert isinstance(joint, SharedQuadraticLikelihood)
    assert joint.name == "flux_8B"
    gauss, poisson = joint.provider, joint.absorber
    mu = (1.2e-9, 0.7e-9, 0.4e-9)
    ref, _ = joint_reference(gauss, poisson, mu)
    assert joint.statistic(mu) == pytest.approx(ref, abs=1e-5)
    out = np.empty((1, 1))
    joint.plane("e", "mu").evaluate(np.array([mu[0]]), np.array([mu[1]]), out)
    ref_plane, _ = joint_reference(gauss, poisson, (mu[0], mu[1], 0.0))
    assert out[0, 0] == pytest.approx(ref_plane, abs=1e-5)
    # a CDEX-like part that pulls the flux: 8B-like excess, 1000x smaller errors, fixed
    # background, so that the shared flux moves away from XENONnT's own preference
    j8 = gauss.components.index("8B")
    strong = dataclasses.replace(gauss, obs=gauss.obs + gauss.sm[j8], delta=gauss.delta / 1000,
                                 bg_free=False, bg_value=2.0)
    stressed = SharedQuadraticLikelihood("flux_8B", strong, poisson)
    mu = (0.3e-9, 0.0, 2e-9)
    ref, f_joint = joint_reference(strong, poisson, mu)
    f_alone = optimize.minimize_scalar(
        lambda f: poisson.profile_at(mu, fixed={"flux_8B": f})[0], bounds=(0.0, 4.0),
        method="bounded", options={"xatol": 1e-10}).x
    assert abs(f_joint - f_alone) > 5e-3
    assert stressed.statistic(mu) == pytest.approx(ref, abs=1e-5)
    stressed.plane("e", "tau").evaluate(np.array([mu[0]]), np.array([mu[2]]), out)
    assert out[0, 0] == pytest.approx(ref, abs=1e-5)


# ---------------------------------------------------------------------------- 7. CLI


def read_expected_csv(path):
    rows = [line for line in path.read_text().splitlines() if not line.startswith("#")]
    return list(csv.DictReader(rows))


@pytest.mark.slow
def test_cli_reproduce_xenonnt(xe_run, lik, fine_rule):
    """reproduce --data xenonnt-8b writes the results contract plus the XENONnT files."""
    code, _, err, folder = xe_run
    assert code == 0, err
    for name in ("limits.json", "xenonnt_sm_measurement.json", "xenonnt_expected.csv",
                 "fig_xenonnt_projections.png", "fig_xenonnt_projections.pdf", "run.json",
                 "chi2_e_mu.npz", "contours.json"):
        assert (folder / name).is_file(), name
    assert (folder / "fig_xenonnt_projections.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    # limits.json: the 1-d.o.f. limit on mu_e sits at Delta(-2 ln L) = chi2.ppf(0.9, 1)
    limits = json.loads((folder / "limits.json").read_text())
    assert limits["dataset"] == "xenonnt-8b"
    assert limits["target"] == "Xe"
    assert limits["cl"] == 0.9
    assert set(limits["one_dof"]) == {"mu_e", "mu_mu", "mu_tau"}
    assert all(v > 0 and math.isfinite(v) for v in limits["two_dof"]["e_mu"].values())
    limit = limits["one_dof"]["mu_e"]
    best = optimize.minimize_scalar(lambda m: lik.statistic((m * limit, 0.0, 0.0)),
                                    bounds=(0.0, 1.0), method="bounded",
                                    options={"xatol": 1e-10})
    d_min = min(best.fun, lik.statistic((0.0, 0.0, 0.0)))
    assert lik.statistic((limit, 0.0, 0.0)) - d_min == pytest.approx(stats.chi2.ppf(0.9, 1),
                                                                     abs=1e-3)
    # the SM measurement file
    sm = json.loads((folder / "xenonnt_sm_measurement.json").read_text())
    assert sm["observed_events_per_run"] == list(OBSERVED)
    assert 3.0 <= sm["significance_sigma"] <= 3.6
    assert sm["significance_sigma"] == pytest.approx(math.sqrt(sm["q0"]), rel=1e-12)
    lo, hi = sm["flux_68cl_cm2_s"]
    assert lo < sm["flux_8B_cm2_s"] < hi
    assert sm["dataset"] == "xenonnt-8b"
    # expected events: observed 9, 28, 25; prefit = nominal nuisances, SNO flux
    rows = read_expected_csv(folder / "xenonnt_expected.csv")
    rel = lik.release
    t, w, rate_sm, _ = fine_rule
    e = np.asarray(rel.mono_energy_kev, dtype=float)
    c_flux = PUBLISHED_WIDTHS["sno_flux"] / lik.flux_8b_model
    for r, run in enumerate(("sr0", "sr1", "sr2")):
        mine = {row["component"]: row for row in rows if row["run"] == run}
        assert set(mine) == {"CEvNS 8B", "CEvNS hep", "AC", "ER", "neutron", "observed"}
        assert int(mine["observed"]["observed"]) == OBSERVED[r]
        x = float(rel.exposure_t_y[r])
        n8b = c_flux * x * pchip_fold(e, np.asarray(rel.mono)[r, 3, 3], t, w, rate_sm)
        assert float(mine["CEvNS 8B"]["prefit"]) == pytest.approx(n8b, rel=1e-6)
        assert float(mine["AC"]["prefit"]) == pytest.approx(x * np.sum(rel.ac[r]), rel=1e-12)
        assert float(mine["ER"]["prefit"]) == pytest.approx(x * np.sum(rel.er[r]), rel=1e-12)
        assert float(mine["neutron"]["prefit"]) == pytest.approx(
            x * np.sum(rel.rg[r, 3, 3]), rel=1e-12)
        post = sum(float(mine[k]["postfit"]) for k in mine if k != "observed")
        fitted = sm["signal_events_per_run"][r] + sm["background_events_per_run"][r]
        assert post == pytest.approx(fitted, rel=1e-9)
    # run.json records the [xenonnt] widths (the published ones by default) and the data
    run = json.loads((folder / "run.json").read_text())
    recorded = run["config"]["xenonnt"]
    for key, value in PUBLISHED_WIDTHS.items():
        assert recorded[key] == pytest.approx(value), key
    assert recorded["flux_8B"] == "sno"
    desc = run["experiments"][0]["likelihood"]
    assert desc["sigma"]["ac"] == pytest.approx(PUBLISHED_WIDTHS["sigma_ac"])
    assert desc["sigma"]["neutron"] == pytest.approx(0.58)
    assert run["datasets"][0]["label"] == "xenonnt-8b"
    assert run["datasets"][0]["metadata"]["license"] == "CC-BY-4.0"
    assert "fig_xenonnt_projections.png" in run["files"]


@pytest.mark.slow
def test_cli_run_json_target_is_xenon(xe_run):
    code, _, _, folder = xe_run
    assert code == 0
    run = json.loads((folder / "run.json").read_text())
    assert run["target"]["name"] == "Xe"


def test_cli_joint(joint_run):
    """--data cdex10-asimov --data xenonnt-8b runs and names both datasets."""
    code, out, err, folder = joint_run
    assert code == 0, err
    limits = json.loads((folder / "limits.json").read_text())
    assert limits["dataset"] == "cdex10-asimov + xenonnt-8b"
    run = json.loads((folder / "run.json").read_text())
    assert [d["label"] for d in run["datasets"]] == ["cdex10-asimov", "xenonnt-8b"]
    assert [e["name"] for e in run["experiments"]] == ["cdex10-asimov", "xenonnt-8b"]
    assert "cdex10-asimov" in out and "xenonnt-8b" in out
    assert "not the published CDEX-10 data" in out  # the CDEX-like part is synthetic
    for name in ("xenonnt_sm_measurement.json", "xenonnt_expected.csv", "templates.csv"):
        assert (folder / name).is_file(), name


def test_cli_joint_run_json_likelihood(joint_run):
    code, _, _, folder = joint_run
    assert code == 0
    run = json.loads((folder / "run.json").read_text())
    assert "shared" in run["likelihood"]["likelihood"]


def test_cli_import_missing_folder(cli, in_tmp):
    """dataset import-xenonnt on a missing folder: exit 2, one line, nothing written."""
    before = FolderState(in_tmp)
    result = cli("dataset", "import-xenonnt", in_tmp / "no_such_release", "--out", "x.npz")
    assert result[1] == ""
    assert_one_line_error(result, "no_such_release", unchanged=before)
