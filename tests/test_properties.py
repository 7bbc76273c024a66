"""Property-based tests (hypothesis) of the numerical kernels.

Properties checked, for randomly drawn inputs:

1. differential rates (SM and magnetic-moment parts) are >= 0 and finite for any recoil,
   any flavour moments and any target nucleus;
2. binned templates are >= 0 and finite for any ordered, non-overlapping keV_ee bins, and
   exactly 0 in bins that lie entirely above the kinematic maximum;
3. the SM differential rate of a continuous spectrum (the 8B and hep components, and random
   piecewise-linear spectra) is non-increasing in T_nr, below the first zero of the Helm form
   factor (only rounding is allowed);
4. the profiled chi^2 is >= 0, agrees with an independent dense least-squares solution, and is
   0 (to rounding) for data built exactly from the model at a grid point;
5. a chi^2 map does not depend on how the grid is cut into chunks (bit-identical).

Hypothesis' example database is switched off so the tests write nothing into the repository.
"""

from __future__ import annotations

import functools
import itertools
import math

import numpy as np
import pytest
from hypothesis import HealthCheck, assume, given, settings
from hypothesis import strategies as st

from cevns_scan.config import load_config
from cevns_scan.experiments.spectrum.pull_chi2 import GaussianPlane
from cevns_scan.experiments.spectrum.pull_chi2 import PullChi2 as Problem
from cevns_scan.experiments.spectrum.response import PAPER_K, binned_templates
from cevns_scan.kernels.chi2 import chi2_grid, gram_coefficients
from cevns_scan.kernels.constants import HBARC_MEV_FM, MEV_PER_KEV
from cevns_scan.kernels.kinematics import t_nr_max
from cevns_scan.kernels.quenching import t_ee_kev
from cevns_scan.kernels.rates import Nucleus, Spectrum, component_dsigma
from cevns_scan.kernels.spectra import tail_moment_table
from cevns_scan.model import Target, build_model, make_target
from cevns_scan.rates import differential_rates
from cevns_scan.scan import compute_chunk, make_chunks, scan_map

BASE = settings(deadline=None, database=None,
                suppress_health_check=(HealthCheck.too_slow,))

#: First zero of the spherical Bessel function j1: 3 j1(x)/x > 0 and decreasing on [0, X1).
J1_FIRST_ZERO = 4.493409457909064

#: Relative slack of the monotonicity check: rounding only.
MONOTONE_RTOL = 1e-12

#: chi^2 at the true point may differ from 0 by this fraction of sum((obs/delta)^2) (see test).
CHI2_ZERO_RTOL = 1e-9

_EMPTY = np.zeros(0)


# ---------------------------------------------------------------------------------------------
# Fixtures and strategies
# ---------------------------------------------------------------------------------------------
@functools.cache
def default_model():
    """The default model (Ge, 8 components). Not a fixture argument of the hypothesis tests:
    hypothesis would print its (very long) repr with every falsifying example."""
    return build_model(load_config())


@pytest.fixture(scope="module", autouse=True)
def _warm_jit():
    """Compile (or load from numba's cache) every kernel once, before any timed example."""
    m = default_model()
    differential_rates(m, np.array([0.1, 1.0]), (1e-10, 1e-10, 1e-10))
    binned_templates(m, np.array([0.2]), np.array([0.3]))
    c = m.components[4]
    component_dsigma(np.array([1e-3]), Spectrum(c.e_mev, c.density, c.moments, _EMPTY, _EMPTY),
                     Nucleus(m.target.m_n_mev, m.weak_charge, float(m.target.z),
                             m.target.r0_fm))
    tail_moment_table(np.array([1.0, 2.0]), np.array([1.0, 0.0]))
    one = np.ones((1, 2))
    coef = gram_coefficients(one, one, one, np.ones(1), np.ones(2), np.ones(2), True, 0.0)
    chi2_grid(np.zeros(1), np.zeros(1), coef, np.empty((1, 1)))
    coef = gram_coefficients(one, one, one, np.ones(1), np.ones(2), np.ones(2), False, 0.0)
    chi2_grid(np.zeros(1), np.zeros(1), coef, np.empty((1, 1)))


@st.composite
def targets(draw):
    """Ge, Xe, or any element Z = 1..92 with molar mass 2.2-2.6 Z g/mol."""
    if draw(st.booleans()):
        return make_target(draw(st.sampled_from(["Ge", "Xe"])))
    z = draw(st.integers(1, 92))
    ratio = draw(st.floats(2.2, 2.6))
    return Target("X", z, ratio * z)


def log_floats(lo, hi):
    """Floats log-uniformly spread over [lo, hi] (hypothesis still shrinks towards lo)."""
    a, b = math.log10(lo), math.log10(hi)
    return st.floats(a, b).map(lambda x: min(max(10.0**x, lo), hi))


@st.composite
def spectra(draw):
    """A random piecewise-linear spectrum: strictly increasing nodes > 0 MeV, values >= 0."""
    n = draw(st.integers(2, 12))
    e0 = draw(log_floats(1e-2, 30.0))
    steps = draw(st.lists(log_floats(1e-3, 1.0), min_size=n - 1, max_size=n - 1))
    e = e0 * np.cumprod(np.concatenate([[1.0], 1.0 + np.asarray(steps)]))
    assume(np.all(np.diff(e) > 0))
    value = st.one_of(st.just(0.0), st.floats(0.0, 10.0), log_floats(1e-6, 1e3))
    f = np.asarray(draw(st.lists(value, min_size=n, max_size=n)), dtype=float)
    return np.ascontiguousarray(e), np.ascontiguousarray(f)


def form_factor_zero_kev(target: Target) -> float:
    """T_nr (keV) of the first zero of the Helm F: q R0 = 4.4934 with q^2 = 2 m_N T."""
    q_mev = J1_FIRST_ZERO / target.r0_fm * HBARC_MEV_FM
    return q_mev**2 / (2.0 * target.m_n_mev) / MEV_PER_KEV


def kinematic_tee_max(model) -> float:
    """Largest keV_ee any component of ``model`` can give on its target."""
    e_max = max(c.e_max_mev for c in model.components)
    t_nr_kev = t_nr_max(e_max, model.target.m_n_mev) / MEV_PER_KEV
    return t_ee_kev(t_nr_kev, float(model.target.z), PAPER_K)


@st.composite
def fit_problems(draw, max_comp=4, max_bins=10):
    """Random non-negative templates (J, n), sigma, observations, errors and background mode."""
    j = draw(st.integers(1, max_comp))
    n = draw(st.integers(1, max_bins))
    pos = st.one_of(st.just(0.0), st.floats(0.0, 10.0), log_floats(1e-3, 10.0))

    def matrix():
        vals = draw(st.lists(pos, min_size=j * n, max_size=j * n))
        return np.ascontiguousarray(np.asarray(vals, dtype=float).reshape(j, n))

    sm, mx, my = matrix(), matrix(), matrix()
    sigma = np.asarray(draw(st.lists(log_floats(1e-3, 1.0), min_size=j, max_size=j)))
    obs = np.asarray(draw(st.lists(st.floats(0.0, 100.0), min_size=n, max_size=n)))
    delta = np.asarray(draw(st.lists(log_floats(1e-2, 10.0), min_size=n, max_size=n)))
    bg_free = draw(st.booleans())
    bg_value = draw(st.floats(0.0, 10.0))
    return (sm, mx, my, np.ascontiguousarray(sigma), np.ascontiguousarray(obs),
            np.ascontiguousarray(delta), bg_free, bg_value)


mu_axes = st.lists(st.floats(0.0, 3.0), min_size=1, max_size=12).map(
    lambda v: np.ascontiguousarray(np.asarray(v, dtype=float)))


def reference_chi2(sm, mx, my, sigma, obs, delta, bg_free, bg_value, u, v):
    """Independent eq. 18: min over pulls (and B) by dense least squares (numpy.linalg.lstsq)."""
    j = sm.shape[0]
    rate = sm + u * mx + v * my
    resid = obs - rate.sum(axis=0) - (0.0 if bg_free else bg_value)
    cols = [(sigma[k] * rate[k]) / delta for k in range(j)]
    if bg_free:
        cols.append(1.0 / delta)
    a_data = np.stack(cols, axis=1)
    prior = np.zeros((j, a_data.shape[1]))
    prior[:, :j] = np.eye(j)
    a = np.vstack([a_data, prior])
    y = np.concatenate([resid / delta, np.zeros(j)])
    theta = np.linalg.lstsq(a, y, rcond=None)[0]
    r = y - a @ theta
    # Size of the terms that cancel in chi^2: data, expected rate and background per error.
    size = np.abs(obs) + rate.sum(axis=0) + (0.0 if bg_free else abs(bg_value))
    return float(r @ r), float(np.sum((size / delta) ** 2))


# ---------------------------------------------------------------------------------------------
# 1. Rates non-negative and finite
# ---------------------------------------------------------------------------------------------
@settings(BASE, max_examples=60)
@given(target=targets(),
       t_kev=st.lists(log_floats(1e-3, 50.0), min_size=1, max_size=20),
       mu=st.tuples(*(st.one_of(st.just(0.0), st.floats(0.0, 1e-6)),) * 3))
def test_rates_non_negative_and_finite(target, t_kev, mu):
    m = default_model().with_target(target)
    sm, mm = differential_rates(m, np.asarray(t_kev), mu=mu)
    assert sm.shape == mm.shape == (len(m.components), len(t_kev))
    assert np.all(np.isfinite(sm)) and np.all(np.isfinite(mm))
    assert np.all(sm >= 0.0) and np.all(mm >= 0.0)
    if not any(mu):
        assert np.all(mm == 0.0)


# ---------------------------------------------------------------------------------------------
# 2. Templates non-negative and finite; exactly zero above the kinematic maximum
# ---------------------------------------------------------------------------------------------
@st.composite
def relative_bins(draw):
    """Ordered, non-overlapping bins, touching or with gaps, as multiples of the endpoint.

    Edges span 1e-3 to a few hundred times the kinematic maximum, so bins below, across and
    entirely above it all occur.
    """
    n = draw(st.integers(1, 8))
    contiguous = draw(st.booleans())
    n_edges = n + 1 if contiguous else 2 * n
    start = draw(st.floats(-3.0, 0.3))
    steps = draw(st.lists(st.floats(0.01, 0.5), min_size=n_edges - 1, max_size=n_edges - 1))
    edges = 10.0 ** (start + np.concatenate([[0.0], np.cumsum(steps)]))
    if contiguous:
        return edges[:-1], edges[1:]
    return edges[0::2], edges[1::2]


@settings(BASE, max_examples=40)
@given(target=targets(), rel=relative_bins())
def test_templates_non_negative_finite_and_zero_above_endpoint(target, rel):
    m = default_model().with_target(target)
    tee_max = kinematic_tee_max(m)
    lo, hi = tee_max * rel[0], tee_max * rel[1]
    if hi[-1] < 50.0:  # the 50-60 keV_ee bin, above the maximum for Ge and Xe
        lo, hi = np.append(lo, 50.0), np.append(hi, 60.0)
    tpl = binned_templates(m, lo, hi)
    assert tpl.sm.shape == (len(m.components), lo.size)
    assert tpl.mm.shape == (len(m.components), lo.size, 3)
    assert np.all(np.isfinite(tpl.sm)) and np.all(np.isfinite(tpl.mm))
    assert np.all(tpl.sm >= 0.0) and np.all(tpl.mm >= 0.0)
    # Bins starting above the largest recoil any neutrino can give hold no events at all
    # (a relative margin of 1e-9 covers the rounding of the keV_ee -> keV_nr inversion).
    above = lo > tee_max * (1.0 + 1e-9)
    assert np.all(tpl.sm[:, above] == 0.0)
    assert np.all(tpl.mm[:, above, :] == 0.0)
    # ... and well below it the model does give events (the check can tell zero from not).
    if lo[0] < 0.5 * tee_max:
        assert tpl.sm[:, 0].sum() > 0.0


def test_50_60_kev_ee_bin_is_empty_for_ge_and_xe():
    model = default_model()
    for name in ("Ge", "Xe"):
        tpl = binned_templates(model.with_target(make_target(name)), [0.2, 50.0], [0.3, 60.0])
        assert np.all(tpl.sm[:, 1] == 0.0) and np.all(tpl.mm[:, 1] == 0.0)
        assert tpl.sm[:, 0].sum() > 0.0


# ---------------------------------------------------------------------------------------------
# 3. SM rate of a continuous spectrum non-increasing in T_nr
# ---------------------------------------------------------------------------------------------
# dsigma_SM/dT = G_F^2 m_N/pi Q_w^2 F^2(T) (1 - m_N T / 2E^2): at fixed E the bracket decreases
# with T, and the lower limit E_min(T) of the flux integral increases with T, so the flux
# average int_{E_min(T)} phi(E) (1 - m_N T/2E^2) dE decreases. F^2 = (3 j1(qR0)/(qR0))^2
# exp(-q^2 s^2) decreases with q (q^2 = 2 m_N T) only up to the first zero of j1, q R0 = 4.4934;
# beyond it F^2 oscillates (diffraction minima), so T is restricted to below that zero,
# T_zero = (4.4934 hbar c / R0)^2 / (2 m_N), computed from the target's Helm radius R0.
# (For the solar spectra on Ge/Xe T_zero is far above the kinematic end; it matters for light
# targets and for the random spectra, whose nodes reach several hundred MeV.)


#: Fractions of the top of the T range, uniform and log-uniform, so that the lowest recoils
#: (q R0 < 0.1, where F switches to its Taylor series) are sampled too.
fractions = st.one_of(st.floats(1e-9, 1.0), log_floats(1e-9, 1.0))


def assert_non_increasing(sm, t):
    for k in range(sm.size - 1):
        assert sm[k + 1] <= sm[k] * (1.0 + MONOTONE_RTOL), (
            f"SM rate rises from T={t[k]!r} ({sm[k]!r}) to T={t[k + 1]!r} ({sm[k + 1]!r})")


@settings(BASE, max_examples=60)
@given(target=targets(), name=st.sampled_from(["8B", "hep"]),
       frac=st.lists(fractions, min_size=2, max_size=30))
def test_sm_rate_non_increasing_solar(target, name, frac):
    m = default_model().with_target(target).with_components([name])
    e_end = m.components[0].e_max_mev
    t_top = min(form_factor_zero_kev(target) * (1.0 - 1e-9),
                1.05 * t_nr_max(e_end, target.m_n_mev) / MEV_PER_KEV)
    t = np.sort(t_top * np.asarray(frac))
    sm, _ = differential_rates(m, t)
    assert np.all(np.isfinite(sm[0])) and np.all(sm[0] >= 0.0)
    assert sm[0, 0] > 0.0 or t[0] > 0.5 * t_top
    assert_non_increasing(sm[0], t)


@settings(BASE, max_examples=75)
@given(target=targets(), spec=spectra(),
       frac=st.lists(fractions, min_size=2, max_size=30))
def test_sm_rate_non_increasing_random_spectrum(target, spec, frac):
    e, f = spec
    cum = tail_moment_table(e, f)
    m_n = target.m_n_mev
    t_zero = form_factor_zero_kev(target) * MEV_PER_KEV
    t_top = min(t_zero * (1.0 - 1e-9), 1.2 * t_nr_max(e[-1], m_n))
    t = np.ascontiguousarray(np.sort(t_top * np.asarray(frac)))
    qw = default_model().with_target(target).weak_charge
    sm, mm = component_dsigma(t, Spectrum(e, f, cum, _EMPTY, _EMPTY),
                              Nucleus(m_n, qw, float(target.z), target.r0_fm))
    assert np.all(np.isfinite(sm)) and np.all(sm >= 0.0)
    assert np.all(np.isfinite(mm)) and np.all(mm >= 0.0)
    assert_non_increasing(sm, t)


# ---------------------------------------------------------------------------------------------
# 4. chi^2 >= 0, and 0 for data built exactly from the model
# ---------------------------------------------------------------------------------------------
@settings(BASE, max_examples=75)
@given(problem=fit_problems(), mu_x=mu_axes, mu_y=mu_axes)
def test_chi2_non_negative_and_matches_least_squares(problem, mu_x, mu_y):
    sm, mx, my, sigma, obs, delta, bg_free, bg_value = problem
    coef = gram_coefficients(sm, mx, my, sigma, obs, delta, bg_free, bg_value)
    out = np.empty((mu_x.size, mu_y.size))
    chi2_grid(mu_x, mu_y, coef, out)
    assert np.all(np.isfinite(out))
    assert np.all(out >= 0.0)
    # The Gram/Cholesky route must give the least-squares minimum of eq. 18 (independent dense
    # solve). Both carry rounding relative to the size of the terms that cancel,
    # sum(((|O| + R + B)/Delta)^2), amplified by the elimination: 1e-9 of it (as in the
    # exact-data test below) plus 1e-7 relative.
    for i, a in enumerate(mu_x):
        for k, b in enumerate(mu_y):
            ref, scale = reference_chi2(sm, mx, my, sigma, obs, delta, bg_free, bg_value,
                                        a * a, b * b)
            assert out[i, k] == pytest.approx(ref, rel=1e-7, abs=CHI2_ZERO_RTOL * scale)


@settings(BASE, max_examples=75)
@given(problem=fit_problems(), mu_x=mu_axes, mu_y=mu_axes,
       bg_true=st.floats(0.0, 10.0), data=st.data())
def test_chi2_zero_for_exact_model_data(problem, mu_x, mu_y, bg_true, data):
    sm, mx, my, sigma, _, delta, bg_free, _ = problem
    ix = data.draw(st.integers(0, mu_x.size - 1))
    iy = data.draw(st.integers(0, mu_y.size - 1))
    u, v = mu_x[ix] * mu_x[ix], mu_y[iy] * mu_y[iy]
    obs = np.ascontiguousarray((sm + u * mx + v * my).sum(axis=0) + bg_true)
    coef = gram_coefficients(sm, mx, my, sigma, obs, delta, bg_free, bg_true)
    out = np.empty((mu_x.size, mu_y.size))
    chi2_grid(mu_x, mu_y, coef, out)
    assert np.all(np.isfinite(out)) and np.all(out >= 0.0)
    # Exactly 0 in exact arithmetic (pulls 0, B = B_true). chi^2 is the last Cholesky pivot,
    # i.e. the Schur complement r^T W r - b^T M^-1 b, and every Gram entry is a sum of
    # polynomial terms in (mu_x^2, mu_y^2) of size up to sum((obs/delta)^2) that cancel at the
    # true point (obs is a sum of non-negative parts, so no term exceeds it); the remainder is
    # rounding of those terms, eps times that scale, amplified by the elimination: 1e-9 of
    # sum((obs/delta)^2) leaves ~1e6 headroom over double-precision eps.
    tol = CHI2_ZERO_RTOL * float(np.sum((obs / delta) ** 2))
    assert out[ix, iy] <= tol, (out[ix, iy], tol)


@settings(BASE, max_examples=30)
@given(mu_true=st.tuples(*(st.one_of(st.just(0.0), st.floats(0.0, 3e-9)),) * 3),
       bg_true=st.floats(0.0, 1e-2), bg_free=st.booleans(),
       rel_err=st.floats(0.01, 1.0))
def test_chi2_zero_for_exact_model_data_real_templates(mu_true, bg_true, bg_free, rel_err):
    lo = 0.16 + 0.1 * np.arange(20)
    tpl = binned_templates(default_model(), lo, lo + 0.1)
    obs = tpl.expected(mu_true).sum(axis=0) + bg_true
    delta = rel_err * obs + 1e-6
    problem = Problem(tpl.components, np.ascontiguousarray(tpl.sm), np.ascontiguousarray(tpl.mm),
                      tpl.frac_sigma, np.ascontiguousarray(obs), np.ascontiguousarray(delta),
                      bg_free, bg_true)
    tol = CHI2_ZERO_RTOL * float(np.sum((obs / delta) ** 2))
    value = problem.statistic(mu_true)
    assert 0.0 <= value <= tol
    # ... and the test can tell: moving mu_e by 1e-9 mu_B away from the truth costs chi^2.
    other = (mu_true[0] + 1e-9, mu_true[1], mu_true[2])
    assert problem.statistic(other) > tol


# ---------------------------------------------------------------------------------------------
# 5. Independence of chunk size
# ---------------------------------------------------------------------------------------------
@settings(BASE, max_examples=80)
@given(problem=fit_problems(), mu_x=mu_axes, mu_y=mu_axes, data=st.data())
def test_map_independent_of_chunk_size(problem, mu_x, mu_y, data):
    coef = gram_coefficients(*problem)
    full = np.empty((mu_x.size, mu_y.size))
    chi2_grid(mu_x, mu_y, coef, full)
    chunk_points = data.draw(st.integers(1, mu_x.size * mu_y.size), label="chunk_points")
    chunks = make_chunks(mu_x.size, mu_y.size, chunk_points)
    # The chunks are whole rows, in order, disjoint and covering the grid.
    assert [c.index for c in chunks] == list(range(len(chunks)))
    assert chunks[0].i0 == 0 and chunks[-1].i1 == mu_x.size
    assert all(a.i1 == b.i0 for a, b in itertools.pairwise(chunks))
    assert all(c.i1 > c.i0 for c in chunks)
    assembled = np.full_like(full, np.nan)
    for c in reversed(chunks):  # any order
        index, block = compute_chunk(c.index, GaussianPlane(coef), mu_x[c.i0:c.i1], mu_y)
        assert index == c.index
        assembled[c.i0:c.i1] = block
    assert np.array_equal(assembled, full)


@settings(BASE, max_examples=10)
@given(problem=fit_problems(), mu_x=mu_axes, mu_y=mu_axes, jobs=st.integers(1, 3),
       data=st.data())
def test_scan_map_independent_of_chunk_size_and_jobs(problem, mu_x, mu_y, jobs, data):
    coef = gram_coefficients(*problem)
    full = np.empty((mu_x.size, mu_y.size))
    chi2_grid(mu_x, mu_y, coef, full)
    chunk_points = data.draw(st.integers(1, mu_x.size * mu_y.size), label="chunk_points")
    chunks = make_chunks(mu_x.size, mu_y.size, chunk_points)
    result = scan_map(GaussianPlane(coef), mu_x, mu_y, chunks, jobs=jobs, backend="threading")
    assert np.array_equal(result, full)
