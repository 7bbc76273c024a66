"""Toy Monte Carlo kernels of eq. 18 against scipy.optimize and closed-form asymptotics.

Every reference number is computed here, independently of the kernels: the profiled chi^2 by
numpy's least squares on the augmented system, the global minimum by L-BFGS-B from several
starts including the best point of a fine grid, and the critical values from Wilks' and
Chernoff's theorems with a binomial (order-statistic) Monte Carlo error.
"""

import math

import numpy as np
import pytest
from scipy.optimize import brentq, least_squares, minimize
from scipy.stats import binom, chi2

from cevns_scan.kernels.gaussian_toys import (
    GaussModel,
    conditional_fit,
    global_fit,
    make_gauss_model,
    observed_statistic,
    toy_statistics,
    toy_statistics_grid,
)

CL = 0.9

# ------------------------------------------------------------------ independent references


def random_model(rng, n_comp, n_bins, bg_free, proportional):
    """Random templates (events per bin), sigma in [0.02, 0.3], a data vector at u = v = 0."""
    sm = rng.uniform(0.0, 1.0, (n_comp, n_bins)) * rng.uniform(0.2, 3.0, (n_comp, 1))
    mx = rng.uniform(0.0, 1.0, (n_comp, n_bins))
    my = 0.37 * mx if proportional else rng.uniform(0.0, 1.0, (n_comp, n_bins))
    sigma = rng.uniform(0.02, 0.3, n_comp)
    delta = rng.uniform(0.05, 0.6, n_bins)
    obs = sm.sum(axis=0) + 0.5 + delta * rng.standard_normal(n_bins)
    return make_gauss_model(sm, mx, my, sigma, obs, delta, bg_free, 0.5)


def unit_scales(m: GaussModel):
    """(u, v) of a signal of about one Delta summed in quadrature over the bins."""
    su = 1.0 / math.sqrt(np.sum((m.mx.sum(axis=0) / m.delta) ** 2))
    sv = 1.0 / math.sqrt(np.sum((m.my.sum(axis=0) / m.delta) ** 2))
    return su, sv


def draw_data(rng, m: GaussModel, u, v, xi, bg):
    """Pseudo-data of eq. 18 at (u, v) with pulls xi and background bg, and the centres."""
    rates = (1.0 + m.sigma * xi)[:, None] * (m.sm + u * m.mx + v * m.my)
    obs = rates.sum(axis=0) + bg + m.delta * rng.standard_normal(m.delta.size)
    aux = xi + rng.standard_normal(xi.size)
    return obs, aux


def augmented_system(m: GaussModel, obs, aux, u, v):
    """Rows (bins, then one per pull) of the linear least squares in theta = (xi[, B])."""
    r_ij = m.sm + u * m.mx + v * m.my
    n_comp = r_ij.shape[0]
    cols = [(m.sigma[:, None] * r_ij / m.delta).T]
    if m.bg_free:
        cols.append((1.0 / m.delta)[:, None])
    a_bins = np.hstack(cols)
    r_bins = (obs - r_ij.sum(axis=0) - (0.0 if m.bg_free else m.bg_value)) / m.delta
    a_aux = np.eye(n_comp, a_bins.shape[1])
    return np.vstack([a_bins, a_aux]), np.concatenate([r_bins, aux])


def ref_profile(m, obs, aux, u, v):
    """Profiled chi^2 and theta by numpy.linalg.lstsq (SVD)."""
    a, r = augmented_system(m, obs, aux, u, v)
    theta = np.linalg.lstsq(a, r, rcond=None)[0]
    return float(np.sum((a @ theta - r) ** 2)), theta


def ref_profile_many(m, obs, aux, us, vs):
    """Profiled chi^2 at many points (batched normal equations; for the grid search only)."""
    us, vs = np.asarray(us, float), np.asarray(vs, float)
    r_ij = m.sm[None] + us[:, None, None] * m.mx[None] + vs[:, None, None] * m.my[None]
    n_comp = m.sm.shape[0]
    a = m.sigma[None, :, None] * r_ij / m.delta
    r = (obs - r_ij.sum(axis=1) - (0.0 if m.bg_free else m.bg_value)) / m.delta
    if m.bg_free:
        a = np.concatenate([a, np.broadcast_to(1.0 / m.delta, (us.size, 1, m.delta.size))], 1)
    gram = a @ a.transpose(0, 2, 1)
    idx = np.arange(n_comp)
    gram[:, idx, idx] += 1.0
    b = np.einsum("kpn,kn->kp", a, r)
    b[:, :n_comp] += aux
    theta = np.linalg.solve(gram, b[..., None])[..., 0]
    res = r - np.einsum("kpn,kp->kn", a, theta)
    return np.sum(res**2, axis=1) + np.sum((theta[:, :n_comp] - aux) ** 2, axis=1)


def scipy_global_min(m, obs, aux, u0, v0):
    """min over u, v >= 0: L-BFGS-B (scaled variables) from the truth, the origin and the best
    point of a 61 x 61 grid reaching 40 signal units beyond the truth; the best of them."""
    su, sv = unit_scales(m)
    ticks = np.concatenate([[0.0], np.geomspace(1e-3, 1.0, 60)])
    gu, gv = np.meshgrid(ticks * (u0 + 40 * su), ticks * (v0 + 40 * sv), indexing="ij")
    grid = ref_profile_many(m, obs, aux, gu.ravel(), gv.ravel())
    k = int(np.argmin(grid))
    starts = [(u0, v0), (0.0, 0.0), (gu.ravel()[k], gv.ravel()[k])]

    def fun(p):
        return ref_profile(m, obs, aux, p[0] * su, p[1] * sv)[0]

    best = (math.inf, 0.0, 0.0)
    for s in starts:
        res = minimize(fun, np.array([s[0] / su, s[1] / sv]), method="L-BFGS-B",
                       bounds=[(0.0, None)] * 2,
                       options={"ftol": 1e-15, "gtol": 1e-11, "maxiter": 2000})
        if res.fun < best[0]:
            best = (float(res.fun), res.x[0] * su, res.x[1] * sv)
    return best


def paper_model(default_analysis):
    """The paper's CDEX-like likelihood in the (mu_e, mu_mu) plane, X proportional to Y.

    Constant flavour probabilities make the mu_mu templates P_emu / P_ee times the mu_e ones;
    the proportionality is imposed exactly here so that the test does not depend on the
    configured flavour model.
    """
    lik = default_analysis.experiments[0].likelihood
    mx = lik.mm[:, :, 0]
    my = mx * (lik.mm[:, :, 1].sum() / mx.sum())
    return make_gauss_model(lik.sm, mx, my, lik.sigma, lik.obs, lik.delta, lik.bg_free,
                            lik.bg_value)


# ------------------------------------------------------------------------ conditional fit


@pytest.mark.parametrize("bg_free", [True, False])
@pytest.mark.parametrize("seed", range(4))
def test_conditional_fit_with_aux_matches_least_squares(seed, bg_free):
    rng = np.random.default_rng(100 + seed)
    n_comp = int(rng.integers(1, 6))
    m = random_model(rng, n_comp, int(rng.integers(4, 25)), bg_free, proportional=seed % 2 == 0)
    aux = rng.normal(0.0, 1.5, n_comp)
    su, sv = unit_scales(m)
    for u, v in [(0.0, 0.0), (2.0 * su, 0.0), (0.7 * su, 3.0 * sv)]:
        a, r = augmented_system(m, m.obs, aux, u, v)
        ref = least_squares(lambda th, a=a, r=r: a @ th - r, np.zeros(a.shape[1]),
                            jac=lambda th, a=a: a, method="lm", xtol=1e-15, ftol=1e-15,
                            gtol=1e-15)
        ref_chi2 = float(np.sum(ref.fun**2))
        chi2_k, xi, b = conditional_fit(m, m.obs, aux, u, v)
        assert math.isclose(chi2_k, ref_chi2, rel_tol=1e-9), (u, v)
        np.testing.assert_allclose(xi, ref.x[:n_comp], rtol=1e-9, atol=1e-9)
        if bg_free:
            assert math.isclose(b, ref.x[n_comp], rel_tol=1e-9, abs_tol=1e-9)
        else:
            assert b == m.bg_value


@pytest.mark.parametrize("bg_free", [True, False])
def test_envelope_gradient_and_hessian_match_finite_differences(bg_free):
    # the Newton steps use the exact derivatives of the profile (envelope theorem); check them
    # against central differences of numpy's least-squares profile
    from cevns_scan.kernels import gaussian_toys as gt

    rng = np.random.default_rng([21, bg_free])
    m = random_model(rng, 3, 12, bg_free, proportional=False)
    aux = rng.standard_normal(3)
    work = gt._prepare(m)
    gt._residual_from_obs(m, work, m.obs)
    gt._set_data(work, aux)
    su, sv = work.scale  # the kernels' internal coordinates are (u / su, v / sv)
    x, y = 1.3, 0.7
    gt._evaluate(work, x, y, 2)
    got = work.out[1:6].copy()

    def f(a, b):
        return ref_profile(m, m.obs, aux, a * su, b * sv)[0]

    h = 1e-3
    f0 = f(x, y)
    ref = np.array([
        (f(x + h, y) - f(x - h, y)) / (2 * h),
        (f(x, y + h) - f(x, y - h)) / (2 * h),
        (f(x + h, y) - 2 * f0 + f(x - h, y)) / h**2,
        (f(x + h, y + h) - f(x + h, y - h) - f(x - h, y + h) + f(x - h, y - h)) / (4 * h**2),
        (f(x, y + h) - 2 * f0 + f(x, y - h)) / h**2,
    ])
    np.testing.assert_allclose(got, ref, rtol=0, atol=1e-5 * (1 + np.abs(ref).max()))


# ---------------------------------------------------------------------------- global fit

TRUTHS = {"origin": (0.0, 0.0), "u_axis": (3.0, 0.0), "v_axis": (0.0, 2.5),
          "interior": (2.0, 4.0)}


@pytest.mark.parametrize("truth", list(TRUTHS))
@pytest.mark.parametrize("bg_free", [True, False])
@pytest.mark.parametrize("proportional", [True, False])
def test_global_fit_matches_scipy_on_random_toys(proportional, bg_free, truth):
    # 16 cases x 2 toys = 32 random toys
    rng = np.random.default_rng([7, proportional, bg_free, list(TRUTHS).index(truth)])
    for _ in range(2):
        n_comp = int(rng.integers(1, 6))
        m = random_model(rng, n_comp, int(rng.integers(8, 25)), bg_free, proportional)
        su, sv = unit_scales(m)
        u0, v0 = TRUTHS[truth][0] * su, TRUTHS[truth][1] * sv
        xi = rng.normal(0.0, 1.0, n_comp)
        obs, aux = draw_data(rng, m, u0, v0, xi, 0.5)
        ref, ref_u, ref_v = scipy_global_min(m, obs, aux, u0, v0)
        got, u, v = global_fit(m, obs, aux, u0, v0)
        assert got <= ref + 1e-8, (got, ref, (u / su, v / sv), (ref_u / su, ref_v / sv))
        assert abs(got - ref) <= 1e-6, (got, ref)
        assert u >= 0.0 and v >= 0.0
        # the reported point has the reported chi^2
        assert math.isclose(ref_profile(m, obs, aux, u, v)[0], got, rel_tol=1e-9)


def test_global_fit_in_physical_units_matches_scipy(default_analysis):
    # the paper's templates per mu_B^2: u, v ~ 1e-16, the templates ~ 1e15
    m = paper_model(default_analysis)
    su, sv = unit_scales(m)
    rng = np.random.default_rng(11)
    for u0, v0 in [(0.0, 0.0), (2.0 * su, 1.0 * sv)]:
        obs, aux = draw_data(rng, m, u0, v0, np.zeros(2), 2.0)
        ref, _, _ = scipy_global_min(m, obs, aux, u0, v0)
        got, u, v = global_fit(m, obs, aux, u0, v0)
        assert got <= ref + 1e-8 and abs(got - ref) <= 1e-6, (got, ref)
        assert u >= 0.0 and v >= 0.0
        assert math.isclose(ref_profile(m, obs, aux, u, v)[0], got, rel_tol=1e-9)


def test_observed_statistic_is_the_toy_definition():
    rng = np.random.default_rng(5)
    m = random_model(rng, 3, 15, True, proportional=False)
    su, sv = unit_scales(m)
    zero = np.zeros(3)
    ref_min, _, _ = scipy_global_min(m, m.obs, zero, su, sv)
    for u0, v0 in [(0.0, 0.0), (su, 0.0), (3.0 * su, 2.0 * sv)]:
        t = observed_statistic(m, u0, v0)
        assert t >= 0.0
        assert abs(t - (ref_profile(m, m.obs, zero, u0, v0)[0] - ref_min)) <= 1e-6


# ------------------------------------------------------------------- critical values


def critical_value_check(t, reference, alpha=1e-3):
    """Assert that ``reference`` is the CL quantile of the toys t within Monte Carlo error.

    If it is, #(t <= reference) ~ Binomial(N, CL): a two-sided test at level alpha, which is
    the order-statistic confidence interval of the quantile.
    """
    n = t.size
    count = int(np.sum(t <= reference))
    lo, hi = binom.ppf(alpha / 2, n, CL), binom.isf(alpha / 2, n, CL)
    ts = np.sort(t)
    interval = (ts[int(lo) - 1], ts[int(hi) - 1])
    assert lo <= count <= hi, (f"t_c = {np.quantile(t, CL):.4f}, order-statistic interval "
                               f"{interval}, closed form {reference:.4f}")


def run_toys(m, u0, v0, n_toys, seed):
    rng = np.random.default_rng(seed)
    z_bins = rng.standard_normal((n_toys, m.delta.size))
    z_aux = rng.standard_normal((n_toys, m.sigma.size))
    t = np.empty(n_toys)
    toy_statistics(m, u0, v0, z_bins, z_aux, t)
    assert np.all(t >= -1e-9)
    return t


def test_critical_value_two_independent_directions_is_chi2_2dof():
    # a (nearly) linear Gaussian model: small flux uncertainties, two distinct signal
    # shapes, far (10 signal units) from the boundary
    e = np.linspace(0.0, 1.0, 20)
    sm = np.vstack([5.0 * np.exp(-3.0 * e), 2.0 + 0.0 * e])
    mx = np.vstack([np.exp(-4.0 * e), 0.5 * np.exp(-2.0 * e)])
    my = np.vstack([0.2 + e, 0.5 * e**2])
    delta = np.full(20, 0.3)
    m = make_gauss_model(sm, mx, my, [0.01, 0.02], sm.sum(axis=0) + 1.0, delta, True)
    su, sv = unit_scales(m)
    t = run_toys(m, 10.0 * su, 10.0 * sv, 40000, seed=1)
    critical_value_check(t, chi2.ppf(CL, 2))


@pytest.mark.parametrize("point", [(3.0, 0.0), (2.0, 2.0)])
def test_critical_value_one_direction_is_chi2_1dof(default_analysis, point):
    # X proportional to Y: only P_x u + P_y v is constrained, one degree of freedom
    m = paper_model(default_analysis)
    su, sv = unit_scales(m)
    t = run_toys(m, point[0] * su, point[1] * sv, 40000, seed=2)
    critical_value_check(t, chi2.ppf(CL, 1))


def test_critical_value_at_the_origin_is_the_chernoff_mixture(default_analysis):
    # 1/2 chi2_0 + 1/2 chi2_1: P(t <= q) = 1/2 + F_1(q) / 2 = CL
    mixture = brentq(lambda q: 0.5 + 0.5 * chi2.cdf(q, 1) - CL, 1e-6, 10.0)
    assert math.isclose(mixture, chi2.ppf(2 * CL - 1, 1), rel_tol=1e-9)
    assert round(mixture, 3) == 1.642
    m = paper_model(default_analysis)
    t = run_toys(m, 0.0, 0.0, 40000, seed=3)
    assert 0.45 < np.mean(t <= 1e-9) < 0.55  # the point mass at zero
    critical_value_check(t, mixture)


# --------------------------------------------------------------------------- determinism


def test_toys_are_bit_identical_for_any_split():
    rng = np.random.default_rng(9)
    m = random_model(rng, 4, 18, True, proportional=False)
    su, sv = unit_scales(m)
    z_bins = rng.standard_normal((3, 300, 18))
    z_aux = rng.standard_normal((3, 300, 4))
    u_pts = np.array([0.0, 2.0 * su, 1.0 * su])
    v_pts = np.array([0.0, 0.0, 3.0 * sv])
    grid = np.empty((3, 300))
    toy_statistics_grid(m, u_pts, v_pts, z_bins, z_aux, grid)
    for p in range(3):
        once = np.empty(300)
        again = np.empty(300)
        toy_statistics(m, u_pts[p], v_pts[p], z_bins[p], z_aux[p], once)
        for a, b in [(0, 7), (7, 151), (151, 300)]:
            toy_statistics(m, u_pts[p], v_pts[p], z_bins[p, a:b], z_aux[p, a:b], again[a:b])
        assert np.array_equal(once, grid[p])
        assert np.array_equal(once, again)


# -------------------------------------------------------------------------------- inputs


def test_bad_inputs_are_refused():
    rng = np.random.default_rng(0)
    m = random_model(rng, 2, 6, True, proportional=False)
    with pytest.raises(ValueError, match=">= 0"):
        global_fit(m, m.obs, np.zeros(2), -1.0, 0.0)
    with pytest.raises(ValueError, match=">= 0"):
        observed_statistic(m, 0.0, math.nan)
    with pytest.raises(ValueError, match="z_bins"):
        toy_statistics(m, 0.0, 0.0, np.zeros((3, 5)), np.zeros((3, 2)), np.empty(3))
    with pytest.raises(ValueError, match="delta"):
        make_gauss_model(m.sm, m.mx, m.my, m.sigma, m.obs, np.zeros(6), True)
    with pytest.raises(ValueError, match="shape"):
        make_gauss_model(m.sm, m.mx[:1], m.my, m.sigma, m.obs, m.delta, True)
