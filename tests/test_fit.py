"""Limits: scaling with the flavour probabilities, 1 vs 2 d.o.f., thresholds."""

import math

import numpy as np
import pytest
from scipy import stats

from cevns_scan.contours import contour_lines, extent_limits
from cevns_scan.experiments.spectrum.pull_chi2 import PullChi2 as Problem
from cevns_scan.limits import axis_crossing, one_dof_limits, threshold

P = (0.5420911520320001, 0.19506916923436798, 0.26283967873363195)


def one_template_problem(bg_free=False):
    """One flux component, fixed background, MM templates = P_el x a common shape."""
    t = np.linspace(0.2, 2.1, 20)
    sm = (0.02 / t)[None, :]
    unit = (3e15 * np.exp(-t / 0.3))[None, :]
    mm = unit[:, :, None] * np.asarray(P)[None, None, :]
    obs = sm[0] + 2.0
    delta = np.full(20, 0.3)
    return Problem(("8B",), sm, mm, np.array([0.12]), obs, delta, bg_free, 2.0)


def test_thresholds():
    assert math.isclose(threshold(0.9, 2), 4.605170185988091, rel_tol=1e-12)
    assert math.isclose(threshold(0.9, 1), 2.705543454095404, rel_tol=1e-12)


@pytest.mark.parametrize("bg_free", [False, True])
def test_limits_scale_as_sqrt_of_probability_ratio(bg_free):
    p = one_template_problem(bg_free)
    lim = one_dof_limits(p, 0.9)
    assert math.isclose(lim["mu_mu"] / lim["mu_e"], math.sqrt(P[0] / P[1]), rel_tol=1e-9)
    assert math.isclose(lim["mu_tau"] / lim["mu_e"], math.sqrt(P[0] / P[2]), rel_tol=1e-9)


def test_one_dof_limit_is_the_threshold_crossing():
    p = one_template_problem()
    lim = one_dof_limits(p, 0.9)["mu_e"]
    assert math.isclose(p.statistic([lim, 0, 0]) - p.statistic([0, 0, 0]), stats.chi2.ppf(0.9, 1),
                        rel_tol=1e-9)


def test_two_dof_extent_exceeds_one_dof_limit():
    p = one_template_problem()
    one = one_dof_limits(p, 0.9)
    mu_max = 1.5 * axis_crossing(p, "e", threshold(0.9, 2))
    mu_x = np.linspace(0, mu_max, 301)
    mu_y = np.linspace(0, mu_max * math.sqrt(P[0] / P[1]), 301)
    chi2 = np.array([[p.statistic([x, y, 0]) for y in mu_y] for x in mu_x])
    level = chi2.min() + threshold(0.9, 2)
    lx, ly, touches = extent_limits(contour_lines(mu_x, mu_y, chi2, level), mu_x, mu_y, chi2,
                                    level)
    assert touches == []
    assert lx > one["mu_e"] and ly > one["mu_mu"]
    # and equals the on-axis 2-d.o.f. crossing to grid accuracy
    assert math.isclose(lx, axis_crossing(p, "e", threshold(0.9, 2)), rel_tol=1e-4)
    assert math.isclose(ly / lx, math.sqrt(P[0] / P[1]), rel_tol=1e-4)
