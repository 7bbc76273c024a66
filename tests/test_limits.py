"""Limit helpers (issue 17): values with Monte Carlo errors, toy counts, Neyman limit checks,
and the rank-aware regions of every plane."""

import json
import math

import numpy as np
import pytest
from scipy import optimize, stats

from cevns_scan.limits import (
    check_neyman_limit,
    flavour_mu,
    format_with_error,
    line_minimum,
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
