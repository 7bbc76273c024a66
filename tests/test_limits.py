"""scanner/limits.py: thresholds, 1 vs 2 d.o.f., limits scaling with the flavour
probabilities, values with Monte Carlo errors, toy counts, Neyman limit checks, the
rank-aware regions of every plane, and limits the grid cannot resolve."""

import json
import math
import re

import numpy as np
import pytest
from scipy import optimize, stats

from cevns_scan.contours import contour_lines, extent_limits
from cevns_scan.errors import InputError, ParameterError
from cevns_scan.experiments.spectrum.pull_chi2 import PullChi2 as Problem
from cevns_scan.limits import (
    axis_crossing,
    check_neyman_limit,
    flavour_mu,
    format_with_error,
    line_minimum,
    one_dof_limits,
    threshold,
    toy_count_problem,
)


@pytest.mark.parametrize(("value", "error", "text"), [
    (1.6034e-9, 2.1e-11, "1.603(21)e-09"),    # 210: two digits
    (1.6034e-9, 5.0e-11, "1.60(5)e-09"),      # 500: one digit
    (1.6034e-9, 9.7e-12, "1.603(10)e-09"),    # 970: rounds up to two digits of 10^-11
    (2.2186e-8, 3.54e-10, "2.219(35)e-08"),   # 354 is still two digits
    (2.2186e-8, 3.55e-10, "2.22(4)e-08"),     # 355 is one
    (9.9996e-9, 5.0e-13, "9.9996(5)e-09"),
    (123.456, 0.36, "1.235(4)e+02"),
])
def test_value_with_error_follows_the_pdg_rounding(value, error, text):
    assert format_with_error(value, error) == text


def test_value_without_a_usable_error():
    assert format_with_error(1.6034e-9, float("nan")) == "1.603e-09"
    assert format_with_error(1.6034e-9, 0.0) == "1.603e-09"
    assert format_with_error(1.6e-10, 2.1e-9) == "1.6e-10 +- 2.1e-09"


def test_too_few_toys_beyond_the_quantile():
    assert toy_count_problem(100, 0.9) == ""
    assert "at least 100 toys per point" in toy_count_problem(99, 0.9)
    assert "at least 200" in toy_count_problem(150, 0.95)
    assert "at least 1000 inner toys" in toy_count_problem(500, 0.99, "inner toys")


def test_neyman_limit_checks():
    axis = np.linspace(0.0, 1.0, 51)  # cell 0.02
    ok = check_neyman_limit("mu_e", 0.60, (0.0, 0.595), axis, 1, False)
    assert ok.resolved and ok.cells == pytest.approx(30)
    noisy = check_neyman_limit("mu_e", 0.65, (0.0, 0.60), axis, 1, False)
    assert not noisy.resolved and "differ by 2.5 grid cells" in noisy.problems[0]
    assert check_neyman_limit("mu_e", 0.65, (0.0, 0.60), axis, 2, False).resolved
    assert "grid edge" in check_neyman_limit("mu_e", 1.0, (0.0, 1.0), axis, 1, True).problems[0]
    assert "spans only 5" in check_neyman_limit("mu_e", 0.1, (0, 0.1), axis, 1, False).problems[0]
    assert "no Neyman region" in check_neyman_limit("mu_e", math.nan, (math.nan,) * 2, axis, 1,
                                                    False).problems[0]


def _crossing(analysis, flavour, delta):
    """Independent: Brent on the statistic along the axis, from the line minimum."""
    _, chi2_min = line_minimum(analysis, flavour)
    f = lambda m: analysis.statistic(flavour_mu(flavour, m)) - chi2_min - delta  # noqa: E731
    return optimize.brentq(f, 1e-12, 1e-6, xtol=1e-20, rtol=1e-12)


def test_rank_aware_region_of_a_one_direction_plane(default_analysis):
    res = default_analysis.scan("e-mu", grid=101)
    ra = res.rank_aware
    assert res.rank == ra.rank == 1 and ra.threshold == pytest.approx(stats.chi2.ppf(0.9, 1))
    cell = res.mu_x[1] - res.mu_x[0]
    assert abs(ra.limits["mu_e"] - _crossing(default_analysis, "e", 2.705543)) < 0.2 * cell
    # one direction: the region is w_e mu_e^2 + w_mu mu_mu^2 <= s, limits scale as 1/sqrt(P)
    s12, s23, s13 = 0.318, 0.574, 0.022
    p_ee = (1 - 2 * s12 * (1 - s12)) * (1 - s13) ** 2 + s13**2
    p_em = (1 - p_ee) * (1 - s23)
    assert ra.limits["mu_mu"] / ra.limits["mu_e"] == pytest.approx(math.sqrt(p_ee / p_em),
                                                                    rel=2e-3)
    assert ra.limits["mu_e"] < res.limits["mu_e"]  # the 2-d.o.f. region is the larger one
    assert all(c.resolved for c in ra.checks.values())


def test_rank_aware_region_of_a_two_direction_plane_is_the_two_dof_one():
    from cevns_scan.analysis import Analysis
    from cevns_scan.config import load_config

    ana = Analysis.from_config(load_config().with_overrides({"physics": {"preset": "modern"}},
                                                            "test"))
    res = ana.scan("e-mu", grid=41)
    assert res.rank == 2 and res.rank_aware.threshold == pytest.approx(stats.chi2.ppf(0.9, 2))
    assert res.rank_aware.limits == res.limits


def test_rank_aware_limits_in_limits_json_and_summary(in_tmp, cli):
    code, out, err = cli("reproduce", "--grid", "41", "--out", "r", "--quiet", "--no-figures")
    assert code == 0, err
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    for plane, other in (("e_mu", "mu_mu"), ("e_tau", "mu_tau")):
        ra = lim["rank_aware"][plane]
        assert ra["rank"] == 1 and ra["threshold"] == pytest.approx(2.705543, abs=1e-6)
        assert set(ra["limits"]) == {"mu_e", other}
        for name, value in ra["limits"].items():
            assert value < lim["two_dof"][plane][name]
            assert value == pytest.approx(lim["one_dof"][name], rel=0.01)  # 1 cell of 41
    assert "rank-aware (rank 1, Delta chi2 = 2.706), plane e_mu: mu_e < 1.92" in out


# -- thresholds, scaling with the flavour probabilities, 1 vs 2 d.o.f. ----------------------------

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


# -- a bad confidence level is named, not the data; true points of coverage -----------------------

@pytest.mark.parametrize("cl", [1.5, 0.0, 1.0, 90, -0.5, float("nan")])
def test_a_bad_cl_is_named_not_the_data(default_analysis, cl):
    with pytest.raises(ParameterError, match=r"^cl = .* must be a confidence level in \(0, 1\), "
                                             r"e\.g\. 0\.9 for 90 %$") as err:
        default_analysis.one_dof_intervals(cl=cl)
    assert "data" not in str(err.value) and "constrain" not in str(err.value)
    from cevns_scan.limits import threshold

    with pytest.raises(ParameterError, match="confidence level"):
        threshold(cl, 2)


def test_true_points_of_coverage_are_checked_in_python(default_analysis):
    from cevns_scan.limits import axis_crossing, check_true_point, threshold
    from cevns_scan.neyman import coverage

    crossing = axis_crossing(default_analysis, "e", threshold(0.9, 2))
    assert check_true_point(default_analysis, ("e", "mu"), (50 * crossing, 0.0), 0.9) == (
        50 * crossing, 0.0)
    with pytest.raises(InputError, match=r"mu_e = .* mu_B is 200 times the 90 % CL on-axis "
                                         r"crossing"):
        check_true_point(default_analysis, ("e", "mu"), (200 * crossing, 0.0), 0.9)
    with pytest.raises(InputError, match=r"mu_mu = 2 is out of range; use a magnetic moment in "
                                         r"\[0, 1e-4\] mu_B"):
        coverage(default_analysis, "e-mu", [(0.0, 2.0)], toys=10, inner=10)


# -- a limit the grid cannot resolve is never printed plainly -------------------------------------

@pytest.mark.parametrize("extra", [
    pytest.param(["--grid", "2"], id="grid2"),
    pytest.param(["--grid", "3"], id="grid3"),
    pytest.param(["--mu-max", "e=1e-5", "--mu-max", "mu=1e-5"], id="mu-max-too-wide"),
])
def test_unresolved_limits_are_flagged(in_tmp, cli, extra):
    code, out, err = cli("reproduce", "--plane", "e-mu", "--out", "r", "--quiet", "--no-figures",
                         *extra)
    assert code == 0, err
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    chk = lim["two_dof_checks"]["e_mu"]["mu_e"]
    assert chk["resolved"] is False and chk["problems"]
    assert "mu_max_e = " in chk["problems"][0]  # the fix is suggested
    # the exact on-axis crossing is the true 2-d.o.f. limit (one constrained direction)
    assert math.isclose(chk["on_axis_upper"], 2.2192e-08, rel_tol=1e-3)
    assert "warning: plane e_mu, mu_e limit" in err and "not resolved" in err
    assert re.search(r"mu_e < \S+ \[NOT RESOLVED", out)


def test_default_grid_limits_are_resolved_and_match_the_exact_crossing(in_tmp, cli):
    code, out, err = cli("reproduce", "--plane", "e-mu", "--grid", "101", "--out", "r", "--quiet",
                         "--no-figures")
    assert code == 0 and "warning" not in err and "NOT RESOLVED" not in out
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    for name in ("mu_e", "mu_mu"):
        chk = lim["two_dof_checks"]["e_mu"][name]
        assert chk["resolved"] and chk["cells_spanned"] > 50
        assert abs(chk["limit"] - chk["on_axis_upper"]) < chk["grid_cell"]
