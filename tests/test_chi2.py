"""kernels/chi2.py and scanner/experiments/spectrum/pull_chi2.py: the analytic pull/background
profiling of eq. 18 against scipy.optimize, and datasets it cannot fit refused in one line."""

import math

import numpy as np
import pytest
from helpers import assert_one_line_error
from scipy.optimize import least_squares, minimize

from cevns_scan.errors import InputError
from cevns_scan.experiments.spectrum.pull_chi2 import PullChi2 as Problem
from cevns_scan.experiments.spectrum.settings import SpectrumSection
from cevns_scan.kernels.chi2 import chi2_grid, gram_coefficients, last_cholesky_pivot
from cevns_scan.kernels.cholesky import cholesky_columns


def random_problem(rng, n_comp, n_bins, bg_free, scale=1.0):
    sm = rng.uniform(0.0, 1.0, (n_comp, n_bins)) * scale
    mm = rng.uniform(0.0, 1.0, (n_comp, n_bins, 3)) * scale
    sigma = rng.uniform(0.01, 0.4, n_comp)
    obs = rng.uniform(0.5, 3.0, n_bins) * scale
    delta = rng.uniform(0.05, 0.6, n_bins) * scale
    return Problem(tuple(f"c{j}" for j in range(n_comp)), sm, mm, sigma, obs, delta, bg_free,
                   float(rng.uniform(0, 1) * scale))


def numeric_chi2(p: Problem, mu):
    """min over (xi, B) of eq. 18 by scipy.optimize.least_squares (no use of the kernel)."""
    r_ij = p.sm + p.mm @ (np.asarray(mu) ** 2)
    c = p.sigma[:, None] * r_ij
    n_comp = r_ij.shape[0]

    def residuals(theta):
        xi = theta[:n_comp]
        b = theta[n_comp] if p.bg_free else p.bg_value
        return np.concatenate([(p.obs - r_ij.sum(0) - b - xi @ c) / p.delta, xi])

    x0 = np.zeros(n_comp + (1 if p.bg_free else 0))
    res = least_squares(residuals, x0, method="lm", xtol=1e-15, ftol=1e-15, gtol=1e-15)
    return float(np.sum(res.fun**2)), res.x


@pytest.mark.parametrize("bg_free", [True, False])
@pytest.mark.parametrize("seed", range(6))
def test_analytic_equals_numerical_minimisation(seed, bg_free):
    rng = np.random.default_rng(seed)
    p = random_problem(rng, n_comp=int(rng.integers(1, 6)), n_bins=int(rng.integers(3, 30)),
                       bg_free=bg_free, scale=10.0 ** rng.uniform(-3, 2))
    for _ in range(4):
        mu = rng.uniform(0, 2, 3)
        ref, _ = numeric_chi2(p, mu)
        assert math.isclose(p.statistic(mu), ref, rel_tol=1e-9), (seed, mu)


def test_minimize_bfgs_agrees_too():
    # a second, independent minimiser: a generic quasi-Newton on the same objective
    rng = np.random.default_rng(42)
    p = random_problem(rng, 2, 20, True)
    mu = np.array([0.4, 0.9, 0.2])
    r_ij = p.sm + p.mm @ mu**2
    c = p.sigma[:, None] * r_ij

    def f(theta):
        res = (p.obs - r_ij.sum(0) - theta[2] - theta[:2] @ c) / p.delta
        return np.sum(res**2) + np.sum(theta[:2] ** 2)

    res = minimize(f, np.zeros(3), method="BFGS", options={"gtol": 1e-12})
    assert math.isclose(p.statistic(mu), res.fun, rel_tol=1e-9)


def test_grid_points_equal_single_points():
    rng = np.random.default_rng(7)
    p = random_problem(rng, 2, 12, True)
    coef = p.coefficients("e", "tau")
    mx = np.array([0.0, 0.3, 1.1])
    my = np.array([0.0, 0.5, 0.7, 2.0])
    out = np.empty((3, 4))
    chi2_grid(mx, my, coef, out)
    for i in range(3):
        for k in range(4):
            assert math.isclose(out[i, k], p.statistic([mx[i], 0.0, my[k]]), rel_tol=1e-12)


def test_zero_pull_data_gives_zero():
    rng = np.random.default_rng(3)
    p = random_problem(rng, 2, 15, True)
    mu = np.array([0.0, 0.0, 0.0])
    obs = p.sm.sum(0) + 1.7  # exactly the model with background 1.7 and no pull
    q = Problem(p.components, p.sm, p.mm, p.sigma, obs, p.delta, True, 0.0)
    assert q.statistic(mu) < 1e-12 * np.sum((obs / p.delta) ** 2)


def test_zero_template_component_drops_out():
    from cevns_scan.experiments.spectrum.datasets import Dataset
    from cevns_scan.experiments.spectrum.pull_chi2 import make_pull_chi2 as make_problem
    from cevns_scan.experiments.spectrum.response import Templates

    rng = np.random.default_rng(11)
    n = 8
    sm = rng.uniform(0.1, 1, (3, n))
    mm = rng.uniform(0.1, 1, (3, n, 3))
    sm[1] = 0.0
    mm[1] = 0.0
    lo = 0.2 + 0.1 * np.arange(n)
    tp = Templates(("a", "b", "c"), lo, lo + 0.1, sm, mm, np.array([0.1, 0.2, 0.3]))
    ds = Dataset("t", lo, lo + 0.1, rng.uniform(1, 2, n), rng.uniform(0.1, 0.3, n), "test")
    p = make_problem(tp, ds, SpectrumSection(quenching_k=0.162, bin_rate="integrated",
                                             background="free"))
    assert p.components == ("a", "c")
    full = Problem(("a", "b", "c"), sm, mm, tp.frac_sigma, ds.rate, ds.sigma, True, 0.0)
    mu = [0.3, 0.2, 0.1]
    # the dropped pull is zero at the minimum and adds nothing
    assert math.isclose(p.statistic(mu), full.statistic(mu), rel_tol=1e-12)


def test_gram_coefficients_shape():
    rng = np.random.default_rng(0)
    sm = rng.uniform(size=(2, 5))
    coef = gram_coefficients(sm, sm, sm, np.ones(2), np.ones(5), np.ones(5), True, 0.0)
    assert coef.shape == (4, 4, 6)
    coef = gram_coefficients(sm, sm, sm, np.ones(2), np.ones(5), np.ones(5), False, 0.0)
    assert coef.shape == (3, 3, 6)


def test_tiny_sigma_is_finite_and_underflowing_sigma_is_an_error():
    from cevns_scan.errors import InputError
    from cevns_scan.experiments.spectrum.datasets import Dataset
    from cevns_scan.experiments.spectrum.pull_chi2 import make_pull_chi2 as make_problem
    from cevns_scan.experiments.spectrum.response import Templates

    n = 4
    lo = 0.2 + 0.1 * np.arange(n)
    sm = np.full((1, n), 0.01)
    mm = np.repeat(np.array([1e15, 5e14, 2e14, 1e14])[None, :, None], 3, axis=2)
    tp = Templates(("8B",), lo, lo + 0.1, sm, mm, np.array([0.12]))
    fit = SpectrumSection(quenching_k=0.162, bin_rate="integrated", background="free")
    ds = Dataset("t", lo, lo + 0.1, sm[0] + 2.0, np.full(n, 1e-4), "test")
    p = make_problem(tp, ds, fit)
    assert p.statistic([0, 0, 0]) < 1e-6 and np.isfinite(p.statistic([1e-9, 0, 0]))
    # with tiny errors the only way to absorb the signal is a large 8B pull: chi2 ~ xi^2 >> 1
    assert p.statistic([1e-9, 0, 0]) > 10
    bad = Dataset("t", lo, lo + 0.1, sm[0] + 2.0, np.array([0.1, 1e-200, 0.1, 0.1]), "test")
    with pytest.raises(InputError, match=r"bin 1 .*too small"):
        make_problem(tp, bad, fit)
    # errors 1e9 times below the rate: chi^2 would be rounding noise, so it is refused
    for tiny in (1e-9, 1e-12, 1e-20, 1e-30):
        noisy = Dataset("t", lo, lo + 0.1, sm[0] + 2.0, np.array([0.1, 0.1, tiny, 0.1]), "t")
        with pytest.raises(InputError, match=r"bin 2 .*cannot be computed to the accuracy"):
            make_problem(tp, noisy, fit)


def test_shared_cholesky_against_numpy():
    """The one in-place Cholesky of the kernels: factor, Schur complement and refusal."""
    rng = np.random.default_rng(7)
    n = 6
    b = rng.normal(size=(n, n))
    a = b @ b.T + 0.1 * np.eye(n)
    full = np.tril(a.copy())
    assert cholesky_columns(full, n, n, 0.0)
    np.testing.assert_allclose(np.tril(full), np.linalg.cholesky(a), rtol=1e-12, atol=1e-14)
    # the last pivot of the augmented matrix is the Schur complement 1 / (A^-1)_nn
    assert last_cholesky_pivot(np.tril(a.copy()), n) == pytest.approx(
        1.0 / np.linalg.inv(a)[-1, -1], rel=1e-12)
    # a pivot below the threshold (here an indefinite leading block) is refused
    bad = a.copy()
    bad[2, 2] = -1.0
    assert not cholesky_columns(np.tril(bad), n, n, 0.0)
    assert math.isnan(last_cholesky_pivot(np.tril(bad), n))
    assert not cholesky_columns(np.tril(a.copy()), n, n, 1e300)


def test_a_non_finite_expected_rate_is_not_called_a_sigma_problem():
    from cevns_scan.experiments.spectrum.datasets import Dataset
    from cevns_scan.experiments.spectrum.pull_chi2 import _check_precision

    ds = Dataset("d", np.array([0.16, 0.26]), np.array([0.26, 0.36]), np.array([2.0, 2.0]),
                 np.array([0.3, 0.3]), "x")
    with pytest.raises(InputError, match=r"bin 1 \(0\.26-0\.36 keV_ee\): the model's expected "
                                         r"rate is nan, not a finite number") as err:
        _check_precision(ds, np.array([1.0, np.nan]))
    assert "sigma" not in str(err.value)
    with pytest.raises(InputError, match=r"bin 0 .*: the rate 1e\+300 is 3\.33e\+300 times "
                                         r"sigma = 0\.3") as err:
        _check_precision(Dataset("d", ds.tee_lo, ds.tee_hi, np.array([1e300, 2.0]), ds.sigma,
                                 "x"), np.array([1.0, 1.0]))
    assert "check the rate and sigma columns" in str(err.value)


# -- degenerate datasets are one line -------------------------------------------------------------

def _dataset(path, sigmas):
    rows = "".join(f"{0.16 + 0.1 * i:.2f},{0.26 + 0.1 * i:.2f},2.5,{s}\n"
                   for i, s in enumerate(sigmas))
    path.write_text("Tee_lo_keV,Tee_hi_keV,rate,sigma\n" + rows)


@pytest.mark.parametrize("sigmas,needle", [
    ([0.3], "free flat background"),
    ([0.3, 1e-9, 0.3, 0.3], "cannot be computed"),
    ([0.3, 1e-12, 0.3, 0.3], "cannot be computed"),
    ([0.3, 1e-20, 0.3, 0.3], "cannot be computed"),
    ([0.3, 1e-30, 0.3, 0.3], "cannot be computed"),
])
def test_degenerate_datasets_are_one_line(in_tmp, cli, sigmas, needle):
    _dataset(in_tmp / "d.csv", sigmas)
    assert_one_line_error(cli("reproduce", "--data", "d.csv", "--grid", "11", "--out", "r"), needle)
    assert not (in_tmp / "r").exists()
