"""Goodness of fit that can be trusted (issue 17, item 7): a saturated-model p-value from
toys, no asymptotic p-value for sparse Poisson bins, and a warning when p > 0.99."""

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy import stats

from cevns_scan.analysis import Analysis
from cevns_scan.goodness import toy_goodness_of_fit
from cevns_scan.results import goodness_of_fit


def _fluctuated(analysis, seed):
    exp = analysis.experiments[0]
    lik = exp.likelihood
    obs = lik.obs + lik.delta * np.random.default_rng(seed).standard_normal(lik.obs.size)
    return Analysis(analysis.config, analysis.model,
                    (dataclasses.replace(exp, likelihood=dataclasses.replace(lik, obs=obs)),))


@pytest.mark.filterwarnings("ignore::cevns_scan.errors.CevnsScanWarning")  # coarse grid
def test_toy_p_value_of_the_pull_chi2_is_the_boundary_mixture(default_analysis):
    """With s_hat = 0 at the boundary, chi2_min of eq. 18 (20 bins, free B, one direction)
    follows 1/2 chi2_18 + 1/2 chi2_19: the toys must give that survival probability."""
    ana = _fluctuated(default_analysis, seed=5)
    res = ana.scan("e-mu", grid=11)
    assert res.best_fit.valley.value == 0.0  # the data fluctuate away from a signal
    toy = toy_goodness_of_fit(ana, res, toys=2000, seed=3, jobs=2)
    exact = 0.5 * stats.chi2.sf(res.chi2_min, 18) + 0.5 * stats.chi2.sf(res.chi2_min, 19)
    assert 0.05 < exact < 0.95  # a p-value the test can resolve
    assert abs(toy.p_value - exact) < 4 * toy.p_value_err, (toy, exact)
    assert toy.toys == 2000 and toy.statistic == res.chi2_min


@pytest.mark.filterwarnings("ignore::cevns_scan.errors.CevnsScanWarning")  # coarse grid
def test_toy_p_value_does_not_depend_on_workers():
    ana = Analysis.from_config(data="xenonnt-8b")
    res = ana.scan("e-mu", grid=5)
    one = toy_goodness_of_fit(ana, res, toys=300, seed=7, jobs=1)
    two = toy_goodness_of_fit(ana, res, toys=300, seed=7, jobs=2)
    assert one == two and 0 < one.p_value < 1
    assert str(one).startswith("p = ") and "300 toys" in str(one)


def test_poisson_fit_has_no_asymptotic_p_value():
    note = "Poisson bins with few events: the chi2 distribution does not hold"
    gof = goodness_of_fit(177.0, 242, note)
    assert not gof.asymptotic and np.isnan(gof.reported_p) and not gof.bad and not gof.too_good
    assert "no asymptotic p-value" in str(gof) and "p =" not in str(gof)
    assert gof.to_dict()["p_value"] == pytest.approx(stats.chi2.sf(177.0, 242))  # kept
    good = goodness_of_fit(3.0, 18)
    assert good.too_good and not good.bad and good.reported_p == stats.chi2.sf(3.0, 18)


@pytest.mark.slow
def test_xenonnt_reproduce_quotes_a_toy_p_value(in_tmp, cli):
    code, out, err = cli("reproduce", "--data", "xenonnt-8b", "--plane", "e-mu", "--grid", "9",
                         "--gof-toys", "200", "--out", "r", "--quiet", "--no-figures")
    assert code == 0, err
    assert "no asymptotic p-value" in out and "saturated model, p = " in out
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    rec = lim["goodness_of_fit_p_value"]["e_mu"]
    assert rec["method"].startswith("toys (200)") and 0 <= rec["p_value"] <= 1
    assert lim["goodness_of_fit_toys"]["e_mu"]["toys"] == 200
    code, out, _ = cli("reproduce", "--data", "xenonnt-8b", "--plane", "e-mu", "--grid", "5",
                       "--out", "r2", "--quiet", "--no-figures")
    assert code == 0 and "--gof-toys N gives one" in out
    assert json.loads((in_tmp / "r2" / "limits.json").read_text())[
        "goodness_of_fit_p_value"]["e_mu"]["p_value"] is None


def test_over_estimated_errors_warn(in_tmp, cli, default_analysis):
    ds, lik = default_analysis.dataset, default_analysis.likelihood
    rng = np.random.default_rng(2)
    rate = lik.obs + lik.delta * rng.standard_normal(lik.obs.size)
    rows = "".join(f"{a:.2f},{b:.2f},{float(r)!r},{5 * float(d)!r}\n"
                   for a, b, r, d in zip(ds.tee_lo, ds.tee_hi, rate, lik.delta, strict=True))
    (in_tmp / "d.csv").write_text("Tee_lo_keV,Tee_hi_keV,rate,sigma\n" + rows)
    code, out, err = cli("reproduce", "--data", "d.csv", "--plane", "e-mu", "--grid", "21",
                         "--out", "r", "--quiet", "--no-figures")
    assert code == 0, err
    assert "the fit is too good" in err and "over-estimated" in err and "[FIT TOO GOOD]" in out
    # the Asimov dataset fits exactly by construction: no warning there
    code, out, err = cli("reproduce", "--plane", "e-mu", "--grid", "21", "--out", "a",
                         "--quiet", "--no-figures")
    assert code == 0 and "too good" not in err and "TOO GOOD" not in out


# -- bad fits are reported as such ----------------------------------------------------------------

def test_bad_fit_prints_gof_warns_and_reports_intervals(in_tmp, cli):
    (in_tmp / "c.toml").write_text('[fit]\nbackground = "fixed"\nbackground_value = 0.0\n')
    code, out, err = cli("reproduce", "--config", "c.toml", "--no-figures", "--plane", "e-mu",
                         "--grid", "41",
                         "--out", "r", "--quiet")
    assert code == 0, err
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    gof = lim["goodness_of_fit"]["e_mu"]
    # the Asimov data hold b0 = 2.0 per bin, the fit fixes B = 0: chi2_min ~ 462 for 19 d.o.f.
    assert gof["dof"] == 19 and gof["chi2_min"] > 400 and gof["bad_fit"] is True
    assert math.isclose(gof["p_value"], stats.chi2.sf(gof["chi2_min"], 19), rel_tol=1e-9)
    assert "bad fit" in err and "[BAD FIT]" in out
    assert lim["origin_excluded"]["e_mu"] is True
    assert "mu_e in [" in out and "mu_e <" not in out.split("1 d.o.f.")[0]
    lo, hi = lim["one_dof_intervals"]["mu_e"]
    assert 0 < lo < hi


def test_gof_is_recorded_for_every_run(in_tmp, cli):
    code, out, _ = cli("reproduce", "--plane", "e-mu", "--grid", "21", "--out", "r", "--quiet",
                       "--no-figures")
    assert code == 0 and "fit, plane e_mu: chi2_min =" in out
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    assert lim["goodness_of_fit"]["e_mu"]["dof"] == 18  # 20 bins - free B - 1 direction
