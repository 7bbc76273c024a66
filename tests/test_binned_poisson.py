"""scanner/experiments/binned_poisson.py: the nested significance test of binned Poisson
likelihoods.

A three-component, three-bin model (signal, a constrained background and a fixed component)
is fitted independently with scipy.optimize on the Baker-Cousins deviance written out here;
the toy p-value is compared with the asymptotic one where the asymptotics hold (large
counts); XENONnT's nested q0 keeps hep CEvNS in both hypotheses.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import optimize, stats

from cevns_scan.errors import InputError
from cevns_scan.experiments.binned_poisson import (
    nested_significance,
    nested_significance_of_model,
)
from cevns_scan.kernels.poisson import make_model

SIGNAL = np.array([3.0, 6.0, 1.0])
BACKGROUND = np.array([5.0, 2.0, 6.0])
FIXED = np.array([0.5, 1.0, 0.5])
SIGMA_BKG = 0.1


def three_bin_model(counts, signal=SIGNAL, background=BACKGROUND, fixed=FIXED):
    """theta = [r_signal, r_background, r_fixed, s0, s1, u, v]; r_background constrained."""
    tmpl = np.stack([signal, background, fixed])[:, None, None, :]
    n_par = 7
    centre = np.array([1.0, 1.0, 1.0, 0, 0, 0, 0])
    sigma = np.array([0.0, SIGMA_BKG, 0.0, 0, 0, 0, 0])
    lo = np.array([0.0, 0.0, 0.0, -np.inf, -np.inf, 0.0, 0.0])
    hi = np.full(n_par, np.inf)
    model = make_model(np.asarray(counts, float), tmpl, np.zeros(3, bool), np.zeros(3, int),
                       np.array([[0, -1], [1, -1], [2, -1]]), [0.0], [0.0], centre, sigma, lo,
                       hi)
    theta = centre.copy()
    theta[5:] = 0.0
    free = np.array([True, True, False, False, False, False, False])
    return model, theta, free


def deviance(r_sig, r_bkg, counts, signal=SIGNAL, background=BACKGROUND, fixed=FIXED):
    lam = r_sig * signal + r_bkg * background + fixed
    n = np.asarray(counts, float)
    terms = lam - n + np.where(n > 0, n * np.log(np.where(n > 0, n, 1.0) / lam), 0.0)
    return 2.0 * terms.sum() + ((r_bkg - 1.0) / SIGMA_BKG) ** 2


def scipy_q0(counts, fixed=FIXED):
    best = min((optimize.minimize(lambda p: deviance(p[0], p[1], counts, fixed=fixed), x0,
                                  method="L-BFGS-B", bounds=[(0, None), (1e-6, None)],
                                  options={"ftol": 1e-15, "gtol": 1e-12})
                for x0 in ([1.0, 1.0], [0.1, 1.2], [3.0, 0.8])), key=lambda r: r.fun)
    null = optimize.minimize_scalar(lambda b: deviance(0.0, b, counts, fixed=fixed),
                                    bounds=(1e-6, 5.0), method="bounded",
                                    options={"xatol": 1e-12})
    return null.fun - best.fun


def test_q0_matches_scipy_and_keeps_the_fixed_component():
    counts = [11, 15, 7]
    model, theta, free = three_bin_model(counts)
    sig = nested_significance_of_model(model, theta, free, (0,), ("signal",))
    expected = scipy_q0(counts)
    assert sig.q0 == pytest.approx(expected, abs=1e-7)
    assert sig.z == pytest.approx(np.sqrt(expected), rel=1e-7)
    assert sig.p_value == pytest.approx(stats.norm.sf(np.sqrt(expected)), rel=1e-6)
    # switching the fixed component off in the null only (the old test) is another number
    assert abs(scipy_q0(counts, fixed=np.zeros(3)) - sig.q0) > 0.1


def test_signal_parameter_must_be_free():
    model, theta, free = three_bin_model([4, 5, 6])
    with pytest.raises(InputError, match="must be free"):
        nested_significance_of_model(model, theta, free, (2,), ("fixed",))


def test_toy_p_value_matches_chernoff_with_large_counts():
    """With ~10^3 events per bin the asymptotic distribution (chi2_1 / 2 + a point mass at
    0) holds: the toys' tail fraction at the observed q0 agrees with Phi(-sqrt(q0)) within
    four binomial errors."""
    signal, background = np.array([30.0, 60.0, 10.0]), np.array([900.0, 400.0, 1200.0])
    fixed = np.array([10.0, 20.0, 10.0])
    lam0 = background + fixed
    counts = np.round(lam0 + 0.5 * signal)  # an excess of about 1 sigma
    tmpl = np.stack([signal, background, fixed])
    model, theta, free = three_bin_model(counts, *tmpl)
    sig = nested_significance_of_model(model, theta, free, (0,), ("signal",), toys=3000,
                                       seed=5)
    assert 0.3 < sig.q0 < 4.0
    assert sig.n_failed == 0
    p_asym = stats.norm.sf(np.sqrt(sig.q0))
    err = np.sqrt(p_asym * (1 - p_asym) / sig.n_toys)
    assert abs(sig.p_toys - p_asym) < 4 * err
    again = nested_significance_of_model(model, theta, free, (0,), ("signal",), toys=3000,
                                         seed=5)
    assert again.n_exceeding == sig.n_exceeding  # seeded


@pytest.fixture(scope="module")
def xenonnt():
    from cevns_scan import Analysis

    return Analysis.from_config(data="xenonnt-8b").experiments[0].likelihood


def test_xenonnt_significance_is_nested(xenonnt):
    """q0 = D(flux_8B = 0, hep fixed) - D(best), the two fits of profile_at; below the
    non-nested value that switched hep off too."""
    sig = nested_significance(xenonnt, "flux_8B", flux="free")
    zero = np.zeros(3)
    d_best, _ = xenonnt.profile_at(zero, flux="free")
    d_null, _ = xenonnt.profile_at(zero, flux="free", fixed={"flux_8B": 0.0})
    d_off, _ = xenonnt.profile_at(zero, flux="free", fixed={"flux_8B": 0.0, "hep": 0.0})
    assert sig.q0 == pytest.approx(d_null - d_best, abs=1e-8)
    assert sig.q0 < d_off - d_best
    assert sig.signal == ("flux_8B",)
    with pytest.raises(InputError, match="not free"):
        nested_significance(xenonnt, "hep", flux="free")
    meas = xenonnt.sm_measurement()
    assert meas.q0 == sig.q0
    assert "nested" in meas.to_dict()["method"]
    assert "8B CEvNS significance" in meas.summary_line()
