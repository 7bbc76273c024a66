"""Expected limits (scanner/expected.py): Asimov medians, asymptotic bands and toys.

For a Gaussian model linear in s = mu^2 (no pulls, fixed background) everything is known in
closed form: the unconstrained estimate s_hat ~ N(0, sigma_s) with sigma_s^-2 = X^T W X, a
pseudo-experiment's limit is s_hat + sqrt(z^2 sigma_s^2 + min(s_hat, 0)^2), so the bands of
eq. E1 are exact and the toys must reproduce them within their Monte Carlo errors. The
limits found on a likelihood's own data plane must equal its 1-d.o.f. limits
(limits.axis_interval, another code path).
"""

from __future__ import annotations

import json
import math
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error
from scipy import stats

from cevns_scan.expected import (
    BAND_LEVELS,
    BAND_SIGMAS,
    asimov_limits,
    asymptotic_band,
    line_limit,
    toy_limits,
    toy_rng,
)
from cevns_scan.experiments.spectrum.pull_chi2 import PullChi2
from cevns_scan.limits import threshold

CL = 0.9
#: Flavour weights of the magnetic-moment templates (any positive numbers).
WEIGHTS = np.array([0.55, 0.25, 0.20])


@pytest.fixture(scope="module")
def linear():
    """Eq. 18 with one component, no pull (sigma 0) and no background: chi2 is an exact
    quadratic in s = mu^2."""
    n = 12
    x = np.linspace(1.0, 3.0, n) * 1e15  # MM rate per mu_B^2 (so that mu ~ 1e-8)
    sm = np.linspace(4.0, 1.0, n)
    delta = np.sqrt(sm + 1.0) * 0.3
    mm = x[None, :, None] * WEIGHTS[None, None, :]
    lik = PullChi2(("8B",), sm[None, :], mm, np.zeros(1), sm.copy(), delta, False, 0.0)
    return lik, x, sm, delta


def sigma_s(x, delta, weight):
    """The width of s_l = mu_l^2 for templates weight * x (closed form)."""
    return 1.0 / math.sqrt(np.sum((weight * x / delta) ** 2))


def test_asimov_median_and_bands_closed_form(linear):
    lik, x, _, delta = linear
    z = math.sqrt(threshold(CL, 1))
    got = asimov_limits(lik, CL)
    for fl, w in zip(("e", "mu", "tau"), WEIGHTS, strict=True):
        s = sigma_s(x, delta, w)
        e = got[f"mu_{fl}"]
        assert e.median == pytest.approx(math.sqrt(z * s), rel=1e-8)
        for n, edge in ((-2, e.band_95[0]), (-1, e.band_68[0]), (1, e.band_68[1]),
                        (2, e.band_95[1])):
            assert edge == pytest.approx(math.sqrt(s * (n + math.sqrt(z**2 + min(n, 0)**2))),
                                         rel=1e-8)


def test_asymptotic_band_formula():
    """E1 at N = 0 is the median; at N = -1 with z = 1.645: sqrt((-1 + sqrt(z^2 + 1)) / z)."""
    z = math.sqrt(threshold(CL, 1))
    assert asymptotic_band(2.0, CL, 0) == pytest.approx(2.0, rel=1e-14)
    assert asymptotic_band(1.0, CL, -1) == pytest.approx(math.sqrt((-1 + math.hypot(z, 1)) / z))
    assert asymptotic_band(1.0, CL, 2) == pytest.approx(math.sqrt((2 + z) / z))


def test_one_toy_limit_closed_form(linear):
    """A pseudo-experiment's limit from line_limit equals the closed form of its data."""
    lik, x, sm, delta = linear
    toys = lik.toys("e", "mu")
    z2 = threshold(CL, 1)
    for k in range(5):
        obs, aux = toys.draw_data(0.0, 0.0, toy_rng(7, k), 1)
        xe = WEIGHTS[0] * x
        s_hat = np.sum(xe * (obs[0] - sm) / delta**2) / np.sum((xe / delta) ** 2)
        s = sigma_s(x, delta, WEIGHTS[0])
        s_up = s_hat + math.sqrt(z2 * s**2 + min(s_hat, 0.0) ** 2)
        plane = toys.with_data(obs[0], aux[0]).data_plane()
        assert line_limit(plane, 0, z2, 1e-8) == pytest.approx(math.sqrt(s_up), rel=1e-8)


@pytest.mark.slow
def test_toy_quantiles_match_the_exact_bands(linear):
    """4000 toys: each quantile within four Monte Carlo errors of the exact band edge."""
    lik, _, _, _ = linear
    asimov = asimov_limits(lik, CL)
    got = toy_limits(lik, CL, 4000, seed=11, asimov=asimov)
    e, a = got["mu_e"], asimov["mu_e"]
    exact = {-2: a.band_95[0], -1: a.band_68[0], 0: a.median, 1: a.band_68[1],
             2: a.band_95[1]}
    toys = {-2: e.band_95[0], -1: e.band_68[0], 0: e.median, 1: e.band_68[1], 2: e.band_95[1]}
    n = e.n_toys
    for sig, level in zip(BAND_SIGMAS, BAND_LEVELS, strict=True):
        # the quantile's error: binomial spread of the level divided by the density there
        s = a.median**2 / math.sqrt(threshold(CL, 1))
        s_q = exact[sig] ** 2
        s_hat = stats.norm.ppf(level) * s  # its unconstrained estimate
        ds_dshat = 1.0 + (s_hat / math.sqrt(threshold(CL, 1) * s**2 + s_hat**2)
                          if s_hat < 0 else 0.0)
        density_s = stats.norm.pdf(s_hat, scale=s) / ds_dshat
        err_mu = math.sqrt(level * (1 - level) / n) / density_s / (2 * math.sqrt(s_q))
        assert abs(toys[sig] - exact[sig]) < 4 * err_mu, sig
    # the flavours see the same pseudo-experiments: limits scale with 1/sqrt(weight)
    ratio = got["mu_mu"].limits / got["mu_e"].limits
    assert np.allclose(ratio, math.sqrt(WEIGHTS[0] / WEIGHTS[1]), rtol=1e-7)


def _own_data_limit(lik, flavour, other):
    toys = lik.toys(flavour, other)
    model = toys.model
    aux = getattr(toys, "aux_obs", None)
    data = (model.obs, aux) if aux is not None else (model.n_obs, model.centre)
    plane = toys.with_data(*data).data_plane()
    return line_limit(plane, 0, threshold(CL, 1), lik.mu_scale(flavour))


@pytest.mark.parametrize("data", ["cdex10-asimov", "xenonnt-8b"])
def test_data_plane_limit_equals_one_dof_limit(data):
    """line_limit on the data's own plane (the toys' path) gives the 1-d.o.f. limit that
    limits.axis_interval finds with the likelihood's statistic (the observed path)."""
    from cevns_scan import Analysis

    ana = Analysis.from_config(data=data)
    observed = ana.one_dof_intervals()
    for fl, other in (("e", "mu"), ("tau", "e")):
        got = _own_data_limit(ana.likelihood, fl, other)
        assert got == pytest.approx(observed[f"mu_{fl}"][1], rel=1e-6)


def test_asimov_of_the_cdex_asimov_dataset_is_the_observed_limit(default_analysis):
    """cdex10-asimov is itself the expectation at mu = 0: its Asimov median is its limit."""
    exp = default_analysis.expected_limits()
    for name, (_, hi) in default_analysis.one_dof_intervals().items():
        assert exp.limits[name].median == pytest.approx(hi, rel=1e-6)
        assert exp.limits[name].observed == hi


def test_reproduce_expected_writes_bands_and_figure(cli):
    code, out, err = cli("reproduce", "--out", "res", "--grid", "21", "--quiet",
                         "--expected", "20", "--seed", "4")
    assert code == 0, err
    lim = json.loads(Path("res/limits.json").read_text())
    exp = lim["one_dof_expected"]
    assert set(exp) == {"mu_e", "mu_mu", "mu_tau"}
    for value in exp.values():
        assert value["band_95"][0] <= value["band_68"][0] <= value["median"]
        assert value["median"] <= value["band_68"][1] <= value["band_95"][1]
        assert value["n_toys"] == 20
    assert lim["one_dof_expected_method"] == "toys"
    assert "one_dof_expected_asimov" in lim
    cont = json.loads(Path("res/contours.json").read_text())
    assert set(cont["expected"]) == {"e_mu", "e_tau"}
    assert cont["expected"]["e_mu"]["lines"]
    assert Path("res/fig_expected_limits.png").is_file()
    assert "expected 1 d.o.f. limits (20 toys)" in out
    assert_one_line_error(cli("reproduce", "--out", "res2", "--grid", "21", "--expected", "5"),
                          "--expected 5 must be >= 10")


def test_joint_fit_refuses_expected_limits_before_scanning(cli):
    """Experiments sharing the 8B flux through a quadratic penalty draw no toys: one line,
    exit 2, nothing written (and no scan first)."""
    assert_one_line_error(cli("reproduce", "--data", "cdex10-asimov", "--data", "xenonnt-8b",
                              "--grid", "5", "--out", "j", "--quiet", "--expected"),
                          "expected limits need pseudo-experiments")
    assert not Path("j").exists()


LAR = Path(__file__).resolve().parents[2] / "shared" / "coherent" / "lar2020"


@pytest.mark.skipif(not LAR.is_dir(), reason=f"the COHERENT argon release is not staged at {LAR}")
def test_expected_limits_cover_the_constrained_flavours_only():
    """A pi-DAR beam has no nu_tau: the argon release's expected limits are mu_e and mu_mu,
    and its data plane gives back its own 1-d.o.f. limits (the generic toy hooks)."""
    from cevns_scan import Analysis

    ana = Analysis.from_config(data=str(LAR))
    exp = ana.expected_limits()
    assert set(exp.limits) == {"mu_e", "mu_mu"}
    observed = ana.one_dof_intervals()
    assert _own_data_limit(ana.likelihood, "e", "mu") == pytest.approx(
        observed["mu_e"][1], rel=1e-6)
