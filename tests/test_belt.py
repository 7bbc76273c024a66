"""The one-dimensional Neyman belt of a one-direction plane (issue 17, item 2)."""

import json
import math

import numpy as np
import pytest
from helpers import assert_one_line_error
from scipy import stats

from cevns_scan.analysis import Analysis
from cevns_scan.belt import belt_interval
from cevns_scan.errors import ParameterError


def _cross(analysis):
    return analysis.plane_grid("e-mu", 3).mu_x[-1] / 1.3  # the 2-d.o.f. on-axis crossing


def test_belt_critical_values_are_the_boundary_mixture_and_chi2_1(default_analysis):
    """At s = 0 the 1/2 chi2_0 + 1/2 chi2_1 mixture (1.642), far from it chi2_1 (2.706)."""
    belt = default_analysis.neyman_belt("e-mu", points=3, toys=6000, seed=2,
                                        mu_max=1.5 * _cross(default_analysis))
    mixture, chi2_1 = stats.chi2.ppf(0.8, 1), stats.chi2.ppf(0.9, 1)
    assert abs(belt.tcrit[0] - mixture) < 4 * belt.tcrit_err[0] + 0.02, belt.tcrit
    assert abs(belt.tcrit[-1] - chi2_1) < 4 * belt.tcrit_err[-1] + 0.02, belt.tcrit
    assert belt.s[-1] == pytest.approx(belt.weights["mu_e"] * belt.mu_axis[-1] ** 2)


@pytest.fixture(scope="module")
def cdex_belt(default_analysis):
    return default_analysis.neyman_belt("e-mu", points=21, toys=3000, seed=5, jobs=2)


def test_belt_limits_map_s_back_to_each_axis(cdex_belt):
    b = cdex_belt
    lo, s_up = b.s_interval
    assert lo == 0.0 and not b.touches and not b.problems()
    for name, w in b.weights.items():
        assert b.limits[name] == pytest.approx(math.sqrt(s_up / w), rel=1e-12)  # (B2)
        assert b.mc_error[name] / b.limits[name] == pytest.approx(
            b.mc_error["mu_e"] / b.limits["mu_e"], rel=1e-12)
    assert 0 < b.mc_error["mu_e"] < 0.02 * b.limits["mu_e"]
    assert b.s_error == pytest.approx(2 * s_up * b.mc_error["mu_e"] / b.limits["mu_e"], rel=0.02)
    # the boundary drawn in the plane is the quarter ellipse s = s_up
    (line,) = b.lines
    s = b.weights["mu_e"] * line[:, 0] ** 2 + b.weights["mu_mu"] * line[:, 1] ** 2
    assert np.allclose(s, s_up, rtol=1e-12)


@pytest.mark.slow
def test_belt_agrees_with_the_two_dimensional_map(default_analysis, cdex_belt):
    ney = default_analysis.neyman("e-mu", grid=31, toys=1000, seed=6, jobs=2)
    for name in ("mu_e", "mu_mu"):
        cell = ney.checks[name].cell
        err = math.hypot(ney.mc_error[name], cdex_belt.mc_error[name])
        assert abs(ney.limits[name] - cdex_belt.limits[name]) < 3 * err + cell, name
    # and both lie between the mixture and the chi2_1 thresholds' regions
    one_dof = default_analysis.one_dof_intervals()["mu_e"][1]
    assert 0.9 * one_dof < cdex_belt.limits["mu_e"] < 1.02 * one_dof


def test_belt_does_not_depend_on_workers(default_analysis):
    one = default_analysis.neyman_belt("e-tau", points=5, toys=200, seed=3, jobs=1)
    two = default_analysis.neyman_belt("e-tau", points=5, toys=200, seed=3, jobs=2)
    assert np.array_equal(one.tcrit, two.tcrit) and one.limits == two.limits
    assert "at least 100" not in " ".join(one.problems())


def test_belt_interval_crossings():
    mu = np.linspace(0.0, 4.0, 5)
    tcrit = np.full(5, 2.0)
    lo, hi, touches = belt_interval(mu, lambda m: (m - 1.0) ** 2, tcrit)
    assert (lo, hi, touches) == (0.0, pytest.approx(1.0 + math.sqrt(2)), False)
    lo, hi, _ = belt_interval(mu, lambda m: (m - 2.5) ** 2, tcrit)
    assert lo == pytest.approx(2.5 - math.sqrt(2)) and hi == pytest.approx(2.5 + math.sqrt(2))
    assert belt_interval(mu, lambda m: 0.0 * m, tcrit)[2]  # reaches the top
    assert math.isnan(belt_interval(mu, lambda m: 5.0 + m, tcrit)[1])


def test_belt_needs_one_direction_and_enough_points():
    from cevns_scan.config import load_config

    ana = Analysis.from_config(load_config().with_overrides({"physics": {"preset": "modern"}},
                                                            "test"))
    with pytest.raises(ParameterError, match="two constrained directions"):
        ana.neyman_belt("e-mu", points=5, toys=100)
    with pytest.raises(ParameterError, match="points"):
        ana.neyman_belt("mu-tau", points=2, toys=100)


@pytest.mark.slow
def test_reproduce_with_a_belt(in_tmp, cli):
    code, out, err = cli("reproduce", "--plane", "e-mu", "--grid", "21", "--toys", "400",
                         "--belt", "--belt-points", "9", "--seed", "2", "--out", "r", "--quiet")
    assert code == 0, err
    line = next(ln for ln in out.splitlines() if "Neyman" in ln)
    assert "toy MC belt, 400 toys/point" in line and "mu_e < 1.9" in line and ")e-08" in line
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    ney = lim["neyman"]
    belt = ney["belt"]["e_mu"]
    assert belt["points"] == 9 and belt["weights"]["mu_e"] == pytest.approx(0.54209, abs=1e-5)
    assert ney["two_dof"]["e_mu"]["mu_e"] == pytest.approx(
        math.sqrt(belt["s_limit"] / belt["weights"]["mu_e"]))
    assert 0 < ney["mc_error"]["e_mu"]["mu_e"] < 0.05 * ney["two_dof"]["e_mu"]["mu_e"]
    with np.load(in_tmp / "r" / "belt_e_mu.npz") as z:
        assert z["tcrit"].shape == (9,) and int(z["toys_per_point"]) == 400
    assert not (in_tmp / "r" / "tcrit_e_mu.npz").exists()
    code, _, err = cli("plot", "r")
    assert code == 0, err
    code, _, err = cli("plot", "r", "--cl", "0.95")
    assert code == 0, err
    assert_one_line_error(cli("reproduce", "--belt", "--out", "x"), "--belt needs --toys")


@pytest.mark.slow
def test_xenonnt_belt_gives_the_precise_limit():
    """The audit's precise XENONnT mu_e is about 1.60e-9; a small belt must agree with it and
    with the 2-D map of the README (1.629e-9) within its Monte Carlo error (and 2 %)."""
    ana = Analysis.from_config(data="xenonnt-8b")
    b = ana.neyman_belt("e-mu", points=11, toys=2000, seed=4, jobs=2)
    err = b.mc_error["mu_e"]
    assert 0 < err < 0.03 * b.limits["mu_e"]
    assert abs(b.limits["mu_e"] - 1.62e-9) < 3 * err + 0.02 * 1.62e-9, (b.limits, err)
    assert b.limits["mu_mu"] / b.limits["mu_e"] == pytest.approx(
        math.sqrt(b.weights["mu_e"] / b.weights["mu_mu"]))
