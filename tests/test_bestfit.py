"""Best fits that mean something (issue 17, item 5): nuisances, pulls, their Hessian errors,
the valley of a one-direction plane, unphysical fits."""

import dataclasses
import json
import math

import numpy as np
import pytest
from scipy import optimize

from cevns_scan.analysis import Analysis
from cevns_scan.bestfit import BestFit, valley_weights
from cevns_scan.errors import CevnsScanWarning
from cevns_scan.experiments.protocols import NuisanceFit


def _paper_probabilities():
    """(P_ee, P_emu, P_etau) of eqs. 8-11 with the de Salas et al. values, written out."""
    s12, s23, s13 = 0.318, 0.574, 0.02200
    p_ee = (1.0 - 2.0 * s12 * (1.0 - s12)) * (1.0 - s13) ** 2 + s13**2
    return p_ee, (1.0 - p_ee) * (1.0 - s23), (1.0 - p_ee) * s23


def _eq18(lik, mu, theta):
    """chi^2 of eq. 18 at fixed nuisances theta = (xi_1..xi_J, B), written out."""
    rates = lik.sm + lik.mm @ (np.asarray(mu) ** 2)
    n_comp = len(lik.components)
    xi, b = theta[:n_comp], theta[n_comp]
    model = b + ((1.0 + lik.sigma[:, None] * xi[:, None]) * rates).sum(axis=0)
    return float(np.sum(((lik.obs - model) / lik.delta) ** 2) + np.sum(xi**2))


def _noisy(analysis, seed=4, mu=(0.0, 0.0, 0.0), scale=1.0):
    """The analysis with its CDEX-like data fluctuated (and a signal mu injected)."""
    exp = analysis.experiments[0]
    lik = exp.likelihood
    rng = np.random.default_rng(seed)
    obs = lik.obs + (lik.mm @ (np.asarray(mu) ** 2)).sum(axis=0) + lik.delta * scale * \
        rng.standard_normal(lik.obs.size)
    lik = dataclasses.replace(lik, obs=obs)
    return Analysis(analysis.config, analysis.model,
                    (dataclasses.replace(exp, likelihood=lik),))


def test_pull_chi2_nuisances_are_the_least_squares_fit_with_hessian_errors(default_analysis):
    ana = _noisy(default_analysis)
    lik = ana.likelihood
    mu = (1.2e-8, 0.5e-8, 0.0)
    got = lik.nuisances_at(mu)
    assert list(got) == [f"xi_{c}" for c in lik.components] + ["background"]
    # independent: scipy minimises eq. 18 over (xi, B) from a distant start
    start = np.array([0.5] * len(lik.components) + [0.0])
    res = optimize.minimize(lambda t: _eq18(lik, mu, t), start, method="BFGS",
                            options={"gtol": 1e-10})
    fitted = np.array([n.value for n in got.values()])
    assert np.allclose(fitted, res.x, rtol=1e-5, atol=1e-6)
    assert math.isclose(_eq18(lik, mu, fitted), lik.statistic(mu), rel_tol=1e-9)
    # errors: the covariance of a chi^2 (Delta chi^2 = 1) is 2 H^-1, H by finite differences
    h = np.empty((fitted.size, fitted.size))
    step = 1e-3 * np.maximum(np.array([n.error for n in got.values()]), 1e-3)
    def f(a, b, da, db):
        t = fitted.copy()
        t[a] += da * step[a]
        t[b] += db * step[b]
        return _eq18(lik, mu, t)

    for a in range(fitted.size):
        for b in range(fitted.size):
            h[a, b] = (f(a, b, 1, 1) - f(a, b, 1, -1) - f(a, b, -1, 1)
                       + f(a, b, -1, -1)) / (4 * step[a] * step[b])
    errors = np.sqrt(np.diag(2.0 * np.linalg.inv(h)))
    assert np.allclose([n.error for n in got.values()], errors, rtol=1e-4)
    pull = got["xi_8B"]
    assert pull.centre == 0 and pull.sigma == 1 and pull.pull == pull.value
    assert math.isclose(pull.lower, -1.0 / lik.sigma[lik.components.index("8B")])
    bg = got["background"]
    assert not bg.constrained and math.isnan(bg.pull) and bg.lower == 0
    assert bg.unit == "events/(keV_ee kg day)"


@pytest.mark.filterwarnings("ignore::cevns_scan.errors.CevnsScanWarning")  # coarse grid
def test_asimov_fit_gives_back_the_injected_background(default_analysis):
    res = default_analysis.scan("e-mu", grid=11)
    bf = res.best_fit
    assert bf.nuisances["background"].value == pytest.approx(2.0, rel=1e-9)  # b0 of the data
    assert abs(bf.nuisances["xi_8B"].value) < 1e-12 and not bf.problems()


def test_valley_weights_are_the_flavour_probabilities(default_analysis):
    p = _paper_probabilities()
    for (fx, fy), (px, py) in ((("e", "mu"), (p[0], p[1])), (("e", "tau"), (p[0], p[2])),
                               (("mu", "tau"), (p[1], p[2]))):
        weights, norm = valley_weights(default_analysis, fx, fy)
        assert weights[f"mu_{fx}"] == pytest.approx(px, rel=1e-9)
        assert weights[f"mu_{fy}"] == pytest.approx(py, rel=1e-9)
        assert "e, mu and tau" in norm


def test_valley_weights_without_templates_come_from_the_crossings(default_analysis):
    """A likelihood that gives no moment templates: the ratio from the statistic alone."""
    class Opaque:
        def __init__(self, lik):
            self._lik = lik

        def __getattr__(self, name):
            if name == "moment_columns":
                raise AttributeError(name)
            return getattr(self._lik, name)

    ana = Analysis(default_analysis.config, default_analysis.model,
                   default_analysis.experiments)
    ana.__dict__["likelihood"] = Opaque(default_analysis.likelihood)
    weights, _ = valley_weights(ana, "e", "mu")
    p = _paper_probabilities()
    assert weights["mu_e"] == pytest.approx(p[0], rel=1e-6)
    assert weights["mu_mu"] == pytest.approx(p[1], rel=1e-6)


@pytest.mark.filterwarnings("ignore::cevns_scan.errors.CevnsScanWarning")  # coarse grid
def test_two_direction_plane_has_a_point_not_a_valley():
    from cevns_scan.config import load_config

    cfg = load_config().with_overrides({"physics": {"preset": "modern"}}, "test")
    ana = Analysis.from_config(cfg)
    assert ana.moment_rank("e", "mu") == 2 and valley_weights(ana, "e", "mu") is None
    assert valley_weights(ana, "mu", "tau") is not None  # MSW splits mu and tau as eqs. 9-10
    res = ana.scan("e-mu", grid=11)
    assert res.best_fit.valley is None and res.best_fit.rank == 2
    assert res.best_fit.to_dict()["point"] == {"mu_e": res.best[0], "mu_mu": res.best[1]}


def test_a_signal_in_the_data_gives_a_valley_drawn_as_a_line(default_analysis):
    mu_true = 1.0e-8
    ana = _noisy(default_analysis, mu=(mu_true, 0.0, 0.0), scale=0.0)  # Asimov with signal
    res = ana.scan("e-mu", grid=31)
    v = res.best_fit.valley
    p = _paper_probabilities()
    assert v.value == pytest.approx(p[0] * mu_true**2, rel=1e-6)  # s_hat = P_ee mu_e^2
    assert v.effective_moment == pytest.approx(math.sqrt(p[0]) * mu_true, rel=1e-6)
    drawn = res.plot()
    x, y = drawn["best"].get_data()
    s = 10.0 ** math.floor(math.log10(max(res.mu_x[-1], res.mu_y[-1])))
    on_curve = p[0] * (np.asarray(x) * s) ** 2 + p[1] * (np.asarray(y) * s) ** 2
    assert len(x) > 50 and np.allclose(on_curve, v.value, rtol=1e-6)
    text = res.best_fit.text()
    assert "a valley, not a point" in text and "background = 2.000 +- 0.070" in text


def test_unphysical_background_warns(default_analysis):
    ana = _noisy(default_analysis, scale=0.0)
    exp = ana.experiments[0]
    lik = dataclasses.replace(exp.likelihood, obs=exp.likelihood.obs - 2.5)  # B_hat = -0.5
    ana = Analysis(ana.config, ana.model, (dataclasses.replace(exp, likelihood=lik),))
    with pytest.warns(CevnsScanWarning) as record:
        result = ana.run(planes=["e-mu"], grid=11)
    bf = result.planes[0].best_fit
    assert bf.nuisances["background"].value == pytest.approx(-0.5, abs=0.01)
    assert any("below its physical minimum 0" in w for w in result.warnings())
    assert any("below its physical minimum 0" in str(w.message) for w in record)  # issued
    assert result.limits_summary()["best_fit"]["e_mu"]["unphysical"]


def test_binned_poisson_nuisances_and_pulls():
    ana = Analysis.from_config(data="xenonnt-8b")
    lik = ana.likelihood
    got = lik.nuisances_at(np.zeros(3))
    _, best = lik.profile_at(np.zeros(3))
    centre, sigma, lo, _ = lik.constraints()
    _, free = lik.start()
    names = [n for i, n in enumerate(lik.parameters[:lik.i_u]) if free[i]]
    assert list(got) == names and "hep" not in got  # hep is fixed at the model
    for name, n in got.items():
        i = lik.parameter_index(name)
        assert n.value == best[i] and n.centre == centre[i] and n.lower == lo[i]
        assert n.sigma == sigma[i] and math.isclose(n.pull, (best[i] - centre[i]) / sigma[i])
        assert math.isnan(n.error)
    bf = BestFit("e_mu", 1, (0.0, 0.0), ("e", "mu"), None, got)
    rec = bf.to_dict()
    assert rec["pulls"]["efficiency"] == pytest.approx((best[1] - 1.0) / 0.25)
    assert rec["uncertainties"]["efficiency"] is None and not bf.problems()


def test_best_fit_is_written_and_printed(in_tmp, cli):
    code, out, err = cli("reproduce", "--plane", "e-mu", "--grid", "21", "--out", "r",
                         "--quiet", "--no-figures")
    assert code == 0, err
    assert "best fit, plane e_mu: a valley, not a point: 0.5421 mu_e^2 + 0.1951 mu_mu^2" in out
    lim = json.loads((in_tmp / "r" / "limits.json").read_text())
    rec = lim["best_fit"]["e_mu"]
    assert rec["point"] is None and rec["combination"]["value"] == 0.0
    assert rec["nuisances"]["background"] == pytest.approx(2.0)
    assert set(rec["pulls"]) == set(rec["uncertainties"]) == set(rec["nuisances"])
    with np.load(in_tmp / "r" / "chi2_e_mu.npz") as z:
        assert int(z["rank"]) == 1 and z["valley_weights"].shape == (2,)


def test_nuisance_fit_pull():
    n = NuisanceFit(1.3, 1.0, 0.2)
    assert n.constrained and math.isclose(n.pull, 1.5)
    assert math.isnan(NuisanceFit(1.0, 0.0, 0.0).pull)
