"""The compiled Poisson profile-likelihood kernel against plain NumPy and scipy.optimize."""

import itertools
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor

import numpy as np
import pytest
from scipy.optimize import minimize

from cevns_scan.kernels.poisson import (
    CONVERGED,
    MAX_ITER,
    deviance,
    global_fit,
    make_model,
    profile,
    profile_plane,
)

N_RUN, N_PER = 3, 81
N_BINS = N_RUN * N_PER
ANCHORS = np.linspace(-3.0, 3.0, 7)
P = 7  # flux, efficiency, three run backgrounds, ER, neutrons
FLUX, EFF, ER, NEUT = 0, 1, 5, 6
S0, S1, U, V = P, P + 1, P + 2, P + 3
N_PAR = P + 4
SIGMA = np.array([0.04, 0.25, 0.06, 0.075, 0.09, 1.0, 0.58, 1.0, 1.0, np.inf, np.inf])
NUISANCES = np.array([True] * (P + 2) + [False, False])


# ---------------------------------------------------------------- a realistic random problem

def _morph_grid(base, slope0, slope1, kink0=0.0):
    """Templates at the 7 x 7 anchors: base * exp(slope0 s0 + slope1 s1) (1 + kink0 |s0|)."""
    s0 = ANCHORS[:, None, None]
    s1 = ANCHORS[None, :, None]
    return base * np.exp(slope0 * s0 + slope1 * s1) * (1.0 + kink0 * np.abs(s0))


def realistic_problem(rng, *, xy_proportional=False, kink0=0.0, truth=None, empty_run=None,
                      centre=None, pen_index=-1, pen_q=None, n_scale=1.0):
    """B = 243 bins (3 runs x 81), K = 9 components (3 morphing), P = 7 rate parameters."""
    e = np.tile(np.linspace(0.0, 1.0, N_PER), N_RUN)  # reduced energy in each run
    run = np.repeat(np.arange(N_RUN), N_PER)
    sm = 4.0 * np.exp(-5.0 * e) * rng.uniform(0.8, 1.2, N_BINS) + 0.01
    sm[e > 0.85] = 0.0  # exact zeros above the endpoint
    xs = 2.5 * np.exp(-8.0 * e) * rng.uniform(0.8, 1.2, N_BINS)
    xs[e > 0.7] = 0.0
    ys = 0.4 * xs if xy_proportional else 1.5 * np.exp(-4.0 * e) * rng.uniform(0.8, 1.2, N_BINS)
    ys[e > 0.7] = 0.0
    grad0 = rng.uniform(0.05, 0.15) * (e - 0.3)
    grad1 = rng.uniform(-0.1, -0.03) * (e - 0.5)
    tmpl = np.zeros((9, 7, 7, N_BINS))
    tmpl[0] = _morph_grid(sm, grad0, grad1, kink0)
    tmpl[1] = _morph_grid(xs, grad0, grad1)
    tmpl[2] = _morph_grid(ys, 1.0 * grad0, grad1) if not xy_proportional else 0.4 * tmpl[1]
    for r in range(N_RUN):  # per-run flat backgrounds, exactly zero in the other runs
        tmpl[3 + r, 0, 0] = np.where(run == r, rng.uniform(0.01, 0.08) * (1 + 0.5 * e), 0.0)
    tmpl[6, 0, 0] = 0.4 * np.exp(-3.0 * e) * rng.uniform(0.7, 1.3, N_BINS)  # ER leakage
    tmpl[7, 0, 0] = 0.01 + 0.04 * e  # neutrons
    tmpl[8, 0, 0] = 0.005  # a fixed component (no rate parameter)
    tmpl *= n_scale
    morph = np.array([True, True, True, False, False, False, False, False, False])
    coef_index = np.array([0, 1, 2, 0, 0, 0, 0, 0, 0])
    mult = np.array([[FLUX, EFF], [FLUX, EFF], [EFF, FLUX], [2, -1], [-1, 3], [4, -1],
                     [ER, -1], [NEUT, -1], [-1, -1]])
    if centre is None:
        centre = np.array([1.0] * P + [0.0, 0.0, 0.0, 0.0])
    lo = np.array([0.0, 0.5, 0, 0, 0, 0, 0, -3.0, -3.0, 0.0, 0.0])
    hi = np.array([np.inf, 1.5, np.inf, np.inf, np.inf, np.inf, np.inf, 3.0, 3.0, np.inf, np.inf])
    if truth is None:
        truth = np.clip(centre + SIGMA * rng.normal(0, 0.7, N_PAR), lo, hi)
        truth[[U, V]] = rng.uniform(0.0, 1.0, 2)
    m0 = make_model(np.zeros(N_BINS), tmpl, morph, coef_index, mult, ANCHORS, ANCHORS, centre,
                    SIGMA, lo, hi)
    n_obs = rng.poisson(np_lambda(truth, m0)).astype(float)
    if empty_run is not None:
        n_obs[run == empty_run] = 0.0
    return make_model(n_obs, tmpl, morph, coef_index, mult, ANCHORS, ANCHORS, centre, SIGMA, lo,
                      hi, pen_index, pen_q), truth


# ---------------------------------------------------------------- independent NumPy reference

def _interp(m, s0, s1):
    """Bilinear interpolation of every template (cell a[i] <= s < a[i+1]) and its s-gradient."""
    out = []
    for a, s in ((m.anchors0, s0), (m.anchors1, s1)):
        i = int(np.clip(np.searchsorted(a, s, side="right") - 1, 0, a.size - 2))
        out += [i, (s - a[i]) / (a[i + 1] - a[i]), a[i + 1] - a[i]]
    i, t0, h0, j, t1, h1 = out
    q = m.tmpl[:, i:i + 2, j:j + 2, :]
    t = ((1 - t0) * (1 - t1) * q[:, 0, 0] + t0 * (1 - t1) * q[:, 1, 0]
         + (1 - t0) * t1 * q[:, 0, 1] + t0 * t1 * q[:, 1, 1])
    d0 = ((1 - t1) * (q[:, 1, 0] - q[:, 0, 0]) + t1 * (q[:, 1, 1] - q[:, 0, 1])) / h0
    d1 = ((1 - t0) * (q[:, 0, 1] - q[:, 0, 0]) + t0 * (q[:, 1, 1] - q[:, 1, 0])) / h1
    fixed = m.tmpl[:, 0, 0, :]
    mk = m.morph[:, None]
    return np.where(mk, t, fixed), np.where(mk, d0, 0.0), np.where(mk, d1, 0.0)


def np_lambda(theta, m, grad=False):
    n_par = theta.size
    p = n_par - 4
    t, d0, d1 = _interp(m, theta[p], theta[p + 1])
    c = np.array([1.0, theta[p + 2], theta[p + 3]])[m.coef_index]
    rr = np.append(theta[:p], 1.0)  # index -1 -> 1
    rk = rr[m.mult[:, 0]] * rr[m.mult[:, 1]]
    lam = (c * rk) @ t
    if not grad:
        return lam
    jac = np.zeros((n_par, lam.size))
    for k in range(t.shape[0]):
        for j in range(2):
            mm = m.mult[k, j]
            if mm >= 0:
                jac[mm] += c[k] * rr[m.mult[k, 1 - j]] * t[k]
        if m.coef_index[k] > 0:
            jac[p + 1 + m.coef_index[k]] += rk[k] * t[k]
    jac[p] = (c * rk) @ d0
    jac[p + 1] = (c * rk) @ d1
    return lam, jac


def np_deviance(theta, m, grad=False):
    lam = np_lambda(theta, m, grad)
    if grad:
        lam, jac = lam
    n = m.n_obs
    with np.errstate(divide="ignore", invalid="ignore"):
        if np.any((n > 0) & (lam <= 0)):
            return (np.inf, np.zeros(theta.size)) if grad else np.inf
        logt = np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0) / np.where(n > 0, lam, 1.0)),
                        0.0)
        d = 2.0 * np.sum(lam - n + logt)
        w1 = np.where(n > 0, 1.0 - n / np.where(lam > 0, lam, 1.0), 1.0)
    con = (m.sigma > 0) & np.isfinite(m.sigma)
    z = np.where(con, (theta - m.centre) / np.where(con, m.sigma, 1.0), 0.0)
    d += np.sum(z * z)
    if m.pen_index >= 0:
        x = theta[m.pen_index]
        d += m.pen_q[0] + m.pen_q[1] * x + m.pen_q[2] * x * x
    if not grad:
        return d
    g = 2.0 * jac @ w1 + 2.0 * z / np.where(con, m.sigma, 1.0)
    if m.pen_index >= 0:
        g[m.pen_index] += m.pen_q[1] + 2.0 * m.pen_q[2] * theta[m.pen_index]
    return d, g


def scipy_profile(m, free, fixed_theta, starts, lo=None, hi=None):
    """Best L-BFGS-B minimum of the NumPy objective over several starts (no kernel code)."""
    lo = m.lo if lo is None else lo
    hi = m.hi if hi is None else hi
    bounds = [(lo[i] if np.isfinite(lo[i]) else None, hi[i] if np.isfinite(hi[i]) else None)
              for i in np.flatnonzero(free)]

    def fun(x):
        th = fixed_theta.copy()
        th[free] = x
        d, g = np_deviance(th, m, grad=True)
        return (d, g[free]) if np.isfinite(d) else (1e300, np.zeros(x.size))

    best = None
    for s in starts:
        x0 = np.clip(s[free], lo[free], hi[free])
        res = minimize(fun, x0, jac=True, method="L-BFGS-B", bounds=bounds,
                       options={"ftol": 1e-16, "gtol": 1e-11, "maxiter": 20000, "maxcor": 30})
        if best is None or res.fun < best.fun:
            best = res
    th = fixed_theta.copy()
    th[free] = best.x
    return best.fun, th


def _start(m, u=0.0, v=0.0):
    th = m.centre.copy()
    th[[U, V]] = u, v
    return th


def _check_against_scipy(m, free, fixed_theta, result, extra_starts=(), rng=None, **bounds):
    """The kernel's minimum is no worse than scipy's best and agrees with it to 1e-6."""
    d, th, _, status = result
    assert status == CONVERGED
    assert np.all(th >= m.lo) and np.all(th <= m.hi)
    assert np.array_equal(th[~free], fixed_theta[~free])
    assert abs(d - np_deviance(th, m)) < 1e-9  # the value reported is the value attained
    rng = rng or np.random.default_rng(0)
    nudged = th + 1e-3 * rng.normal(size=th.size) * free
    ref_d, ref_th = scipy_profile(m, free, fixed_theta, [nudged, fixed_theta, *extra_starts],
                                  **bounds)
    assert d <= ref_d + 1e-6, (d, ref_d)
    assert abs(d - ref_d) < 1e-6, (d, ref_d)
    return ref_d, ref_th


# ---------------------------------------------------------------- the objective

@pytest.mark.parametrize("seed", range(4))
def test_deviance_matches_numpy(seed):
    rng = np.random.default_rng(seed)
    m, truth = realistic_problem(rng, kink0=0.3 * seed)
    thetas = [truth, _start(m, 0.3, 1.1)]
    for _ in range(10):
        th = truth + rng.normal(0, 0.3, N_PAR) * np.r_[SIGMA[:P + 2], 1.0, 1.0]
        th[S0], th[S1] = rng.uniform(-3, 3, 2)
        th[[U, V]] = np.abs(th[[U, V]])
        thetas.append(np.clip(th, 0, None) if seed % 2 else th)
    th = truth.copy()
    th[S0], th[S1] = ANCHORS[2], ANCHORS[6]  # exactly on anchors, and the last one
    thetas.append(th)
    for th in thetas:
        ref = np_deviance(th, m)
        assert deviance(th, m) == pytest.approx(ref, rel=1e-12, abs=0)


def test_deviance_with_penalty_and_empty_bins():
    rng = np.random.default_rng(11)
    q = np.array([1.06**2, -2 * 1.06, 1.0]) / 0.03**2  # ((r0 - 1.06) / 0.03)^2
    m, truth = realistic_problem(rng, empty_run=2, pen_index=FLUX, pen_q=q)
    assert np.all(m.n_obs[2 * N_PER:] == 0)
    for th in (truth, _start(m, 0.5, 0.2)):
        base = np_deviance(th, m)
        assert deviance(th, m) == pytest.approx(base, rel=1e-12)
    th = truth.copy()
    th[FLUX] = 1.0
    assert deviance(th, m) - deviance(th, m._replace(pen_index=-1)) == pytest.approx(4.0)


def test_deviance_is_inf_where_a_bin_with_counts_has_no_expectation():
    rng = np.random.default_rng(3)
    m, truth = realistic_problem(rng)
    tmpl = m.tmpl.copy()
    tmpl[8] = 0.0  # no fixed component: with every rate 0, lambda = 0 everywhere
    m = m._replace(tmpl=tmpl)
    th = truth.copy()
    th[:P] = 0.0
    assert deviance(th, m) == np.inf
    d, _, _, status = profile(th, NUISANCES, m)
    assert status != CONVERGED and d == np.inf  # infeasible start is reported, never NaN


# ---------------------------------------------------------------- profiling

@pytest.mark.parametrize("seed", range(5))
def test_profile_matches_scipy(seed):
    rng = np.random.default_rng(100 + seed)
    m, truth = realistic_problem(rng)
    for u, v in [(0.0, 0.0), *rng.uniform(0.0, 1.6, (3, 2))]:
        fixed = _start(m, u, v)
        res = profile(fixed, NUISANCES, m)
        _check_against_scipy(m, NUISANCES, fixed, res, [np.where(NUISANCES, truth, fixed)], rng)


def test_profile_with_some_parameters_fixed_and_a_cold_start():
    rng = np.random.default_rng(7)
    m, _ = realistic_problem(rng)
    free = NUISANCES.copy()
    free[[EFF, S1]] = False
    start = _start(m, 0.9, 0.4)
    start[EFF] = 0.8
    start[S1] = -1.7
    start[[FLUX, 2, 3, 4, ER, NEUT]] = [1.5, 3.0, 0.0, 2.0, 8.0, 0.0]  # far from the minimum
    _check_against_scipy(m, free, start, profile(start, free, m), rng=rng)


def test_kink_at_an_anchor():
    # the signal template grows by 50 % per unit |s0| on either side of the anchor s0 = 0 and
    # the data want fewer signal events than nominal: the minimum is the kink itself
    rng = np.random.default_rng(5)
    truth = np.array([0.97, 0.8, 1, 1, 1, 1, 1, 0.0, 0.3, 0.0, 0.0])
    m, _ = realistic_problem(rng, kink0=0.5, truth=truth)
    fixed = _start(m)
    fixed[S0] = 1.3  # start inside a cell, away from the kink
    res = profile(fixed, NUISANCES, m)
    assert res[1][S0] == 0.0
    lo, hi = m.lo.copy(), m.hi.copy()
    for side in ("left", "right"):  # scipy on each side of the kink: both end on it
        (hi if side == "left" else lo)[S0] = 0.0
        _, th = _check_against_scipy(m, NUISANCES, fixed, res, rng=rng, lo=lo, hi=hi)
        assert abs(th[S0]) < 1e-6
        lo, hi = m.lo.copy(), m.hi.copy()
    _check_against_scipy(m, NUISANCES, fixed, res, rng=rng)


def test_kink_crossing_from_a_start_on_the_anchor():
    # start exactly on interior anchors (s = 0 and s = -1) where the minimum is in a cell
    # on the other side: the one-sided derivatives must move the search across
    rng = np.random.default_rng(8)
    truth = np.array([1.0, 1.1, 1, 1, 1, 1, 1, -1.5, 0.8, 0.7, 0.4])
    m, _ = realistic_problem(rng, truth=truth, n_scale=3.0)
    for s0, s1 in [(0.0, -1.0), (-1.0, 0.0), (1.0, 1.0)]:
        fixed = _start(m, 0.7, 0.4)
        fixed[S0], fixed[S1] = s0, s1
        _check_against_scipy(m, NUISANCES, fixed, profile(fixed, NUISANCES, m), rng=rng)


def test_minimum_on_bounds():
    # efficiency pinned at its lower bound 0.5 and the neutron rate at 0 (its auxiliary
    # measurement fluctuated to -1)
    rng = np.random.default_rng(9)
    truth = np.array([1.0, 0.3, 1, 1, 1, 1, 0.0, 0.2, -0.2, 0.0, 0.0])
    centre = np.array([1.0, 1, 1, 1, 1, 1, -1.0, 0, 0, 0, 0])
    m, _ = realistic_problem(rng, truth=truth, centre=centre)
    fixed = _start(m)
    fixed[NEUT] = 0.0
    res = profile(fixed, NUISANCES, m)
    assert res[1][EFF] == 0.5
    assert res[1][NEUT] == 0.0
    _check_against_scipy(m, NUISANCES, fixed, res, rng=rng)


def test_external_penalty():
    rng = np.random.default_rng(12)
    m0, _ = realistic_problem(rng)
    q = np.array([1.06**2, -2 * 1.06, 1.0]) / 0.03**2  # another experiment: r0 = 1.06 +- 0.03
    m = m0._replace(pen_index=FLUX, pen_q=q)
    fixed = _start(m, 0.4, 0.9)
    res = profile(fixed, NUISANCES, m)
    _check_against_scipy(m, NUISANCES, fixed, res, rng=rng)
    res0 = profile(fixed, NUISANCES, m0)
    assert res[1][FLUX] > res0[1][FLUX] + 0.01  # the penalty pulls the flux up


def test_a_run_without_events():
    rng = np.random.default_rng(13)
    m, _ = realistic_problem(rng, empty_run=1)
    for u, v in [(0.0, 0.0), (1.2, 0.3), (0.2, 2.0)]:
        fixed = _start(m, u, v)
        _check_against_scipy(m, NUISANCES, fixed, profile(fixed, NUISANCES, m), rng=rng)


# ---------------------------------------------------------------- global fits

def _global_reference(m, rng, result, proportional):
    free = np.ones(N_PAR, bool)
    starts = [_start(m), _start(m, 0.5, 0.5), result[1] + 1e-3 * rng.normal(size=N_PAR)]
    ref = scipy_profile(m, free, _start(m), starts)
    if proportional:  # Y = 0.4 X: the same minimum with v = 0 and u free, not degenerate
        free_u = free.copy()
        free_u[V] = False
        th = result[1].copy()
        th[U] += 0.4 * th[V]
        th[V] = 0.0
        ref_u = scipy_profile(m, free_u, _start(m), [_start(m), th])
        ref = min(ref, ref_u, key=lambda r: r[0])
    return ref


@pytest.mark.parametrize(("proportional", "u", "v"),
                         [(True, 0.8, 0.5), (True, 0.0, 0.0), (False, 0.6, 0.9),
                          (False, 0.0, 0.0)])
def test_global_fit(proportional, u, v):
    rng = np.random.default_rng(21)
    truth = np.array([1.0, 1, 1, 1, 1, 1, 1, 0.3, -0.4, u, v])
    m, _ = realistic_problem(rng, xy_proportional=proportional, truth=truth)
    res = global_fit(_start(m, 0.3, 0.3), NUISANCES, m)
    d, th, _, status = res
    assert status == CONVERGED
    assert abs(d - np_deviance(th, m)) < 1e-9
    assert th[U] >= 0 and th[V] >= 0
    ref_d, ref_th = _global_reference(m, rng, res, proportional)
    assert d <= ref_d + 1e-6
    assert abs(d - ref_d) < 1e-6
    if proportional:  # only u + 0.4 v is determined
        assert th[U] + 0.4 * th[V] == pytest.approx(ref_th[U] + 0.4 * ref_th[V], abs=1e-3)


# ---------------------------------------------------------------- the plane

def _plane(m, mu_x, mu_y, theta0, free=NUISANCES):
    out_d = np.full((mu_x.size, mu_y.size), np.nan)
    out_th = np.full((mu_x.size, mu_y.size, N_PAR), np.nan)
    out_info = np.full((mu_x.size, mu_y.size, 2), -1, np.int64)
    profile_plane(mu_x, mu_y, theta0, free, m, out_d, out_th, out_info)
    return out_d, out_th, out_info


def test_plane_equals_pointwise_profiles_and_is_chunk_independent():
    rng = np.random.default_rng(31)
    m, _ = realistic_problem(rng, kink0=0.2)
    mu_x = np.linspace(0.0, 1.4, 6)
    mu_y = np.linspace(0.0, 1.2, 7)
    theta0 = _start(m)
    d, th, info = _plane(m, mu_x, mu_y, theta0)
    assert np.all(info[..., 1] == CONVERGED)
    # the documented warm-start rule, point by point
    v = mu_y * mu_y
    for i, mx in enumerate(mu_x):
        done = []  # (theta, converged) of the points of this row so far
        for j in range(mu_y.size):
            start = theta0.copy()
            if j >= 1 and done[j - 1][1]:
                start = done[j - 1][0].copy()
                if j >= 2 and done[j - 2][1]:
                    dv = v[j - 1] - v[j - 2]
                    r = (v[j] - v[j - 1]) / dv if dv != 0 else 0.0
                    start = done[j - 1][0] + r * (done[j - 1][0] - done[j - 2][0])
            start[[U, V]] = mx * mx, v[j]
            dd, tt, nit, status = profile(start, NUISANCES, m)
            assert dd == d[i, j] and np.array_equal(tt, th[i, j])
            assert (nit, status) == tuple(info[i, j])
            done.append((tt, status == CONVERGED))
    # any chunking into whole rows gives the same bits
    for cuts in ([0, 1, 6], [0, 2, 3, 6], [0, 5, 6]):
        for a, b in itertools.pairwise(cuts):
            dc, thc, infoc = _plane(m, mu_x[a:b], mu_y, theta0)
            assert np.array_equal(dc, d[a:b]) and np.array_equal(thc, th[a:b])
            assert np.array_equal(infoc, info[a:b])
    # and the global minimum lies below every grid point (and agrees with scipy)
    res = global_fit(theta0, NUISANCES, m)
    assert res[0] <= d.min() + 1e-9
    for i, j in [(0, 0), (5, 6), (2, 4)]:
        fixed = th[i, j].copy()
        ref_d, _ = scipy_profile(m, NUISANCES, fixed, [fixed, theta0 * NUISANCES
                                                        + fixed * ~NUISANCES])
        assert d[i, j] <= ref_d + 1e-6 and abs(d[i, j] - ref_d) < 1e-6


@pytest.mark.slow
def test_kernels_load_from_numba_cache_in_a_fresh_process():
    rng = np.random.default_rng(1)
    m, _ = realistic_problem(rng)
    profile(_start(m), NUISANCES, m)  # compiled (or loaded) and cached in this process
    code = (
        "import numpy as np\n"
        "from cevns_scan.kernels import poisson as pk\n"
        "m = pk.make_model(np.ones(4), np.ones((1, 2, 2, 4)), [True], [0], [[0, -1]],\n"
        "                  [-1.0, 1.0], [-1.0, 1.0], np.ones(5), np.ones(5), np.zeros(5),\n"
        "                  np.full(5, 9.0))\n"
        "pk.profile(np.ones(5) * 0.5, np.ones(5, bool), m)\n"
        "s = pk.profile.stats\n"
        "print(sum(s.cache_hits.values()), sum(s.cache_misses.values()))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                         timeout=600, check=True)
    hits, misses = map(int, out.stdout.split())
    assert hits == 1 and misses == 0, out.stdout + out.stderr


def test_rows_computed_in_threads_are_identical():
    # the kernels release the GIL; rows computed concurrently give the same bits
    rng = np.random.default_rng(41)
    m, _ = realistic_problem(rng)
    mu_x = np.linspace(0.0, 1.5, 6)
    mu_y = np.linspace(0.0, 1.5, 9)
    d, th, info = _plane(m, mu_x, mu_y, _start(m))
    with ThreadPoolExecutor(2) as pool:
        parts = list(pool.map(lambda r: _plane(m, mu_x[r:r + 2], mu_y, _start(m)), [0, 2, 4]))
    assert np.array_equal(np.concatenate([p[0] for p in parts]), d)
    assert np.array_equal(np.concatenate([p[1] for p in parts]), th)
    assert np.array_equal(np.concatenate([p[2] for p in parts]), info)


def test_non_convergence_is_reported_with_an_attained_value():
    rng = np.random.default_rng(43)
    m, _ = realistic_problem(rng)
    start = _start(m, 1.0, 1.0)
    start[[FLUX, ER, NEUT, S0]] = [2.0, 9.0, 5.0, 2.9]
    d, th, nit, status = profile(start, NUISANCES, m, 1)
    assert status == MAX_ITER and nit == 1
    assert np.isfinite(d) and abs(d - np_deviance(th, m)) < 1e-9
    assert d < deviance(start, m)


def test_make_model_rejects_bad_inputs():
    rng = np.random.default_rng(44)
    m, _ = realistic_problem(rng)
    good = dict(m._asdict())
    for key, bad in [("n_obs", -m.n_obs), ("coef_index", m.coef_index + 3),
                     ("mult", m.mult + P), ("anchors0", ANCHORS[::-1]),
                     ("lo", m.hi + 1), ("pen_q", np.array([0.0, 0.0, -1.0]))]:
        with pytest.raises(ValueError):
            make_model(**{**good, key: bad})
    assert make_model(**good).pen_index == -1
