"""The pion decay-at-rest source: closed forms, and flux averages against scipy quad."""

import math

import numpy as np
import pytest
from scipy import integrate
from scipy.special import spherical_jn
from scipy.stats import norm

from cevns_scan.errors import InputError
from cevns_scan.kernels.constants import (
    ALPHA_EM,
    AMU_MEV,
    G_F_MEV2,
    HBARC_MEV_CM,
    HBARC_MEV_FM,
    M_E_MEV,
    M_MU_MEV,
    M_PI_CHARGED_MEV,
)
from cevns_scan.kernels.rates import Nucleus, Quadrature, component_bin_integrals, component_dsigma
from cevns_scan.sources import pion_dar as pd

TAU_PI, TAU_MU = pd.TAU_PI_US, pd.TAU_MU_US
BEAM = pd.BeamTiming(0.44, 0.15)


def test_constants_and_line():
    assert M_MU_MEV == pytest.approx(105.6583755, abs=1e-6)  # CODATA 2018
    assert pd.line_energy_mev() == (M_PI_CHARGED_MEV**2 - M_MU_MEV**2) / (2 * M_PI_CHARGED_MEV)
    assert pd.line_energy_mev() == pytest.approx(29.792, abs=1e-3)
    assert TAU_PI == pytest.approx(0.026033, rel=1e-12)
    assert TAU_MU == pytest.approx(2.1969811, rel=1e-12)
    prompt = pd.components()[0].spectrum
    assert prompt.e.size == 0 and prompt.line_b.tolist() == [1.0]


@pytest.mark.parametrize(("density", "mean_over_m", "end_value_times_m"),
                         [(pd.michel_nue, 3 / 10, 0.0), (pd.michel_numubar, 7 / 20, 4.0)])
def test_michel_closed_forms(density, mean_over_m, end_value_times_m):
    end = pd.michel_end_point_mev()
    assert end == 0.5 * M_MU_MEV
    area = integrate.quad(density, 0, end, epsabs=0, epsrel=1e-13)[0]
    mean = integrate.quad(lambda e: e * density(e), 0, end, epsabs=0, epsrel=1e-13)[0]
    assert area == pytest.approx(1.0, abs=1e-13)
    assert mean == pytest.approx(mean_over_m * M_MU_MEV, rel=1e-13)
    assert float(density(end)) * M_MU_MEV == pytest.approx(end_value_times_m, abs=1e-12)
    assert float(density(end * (1 + 1e-9))) == 0.0 and float(density(-1e-9)) == 0.0
    table = pd.michel_table(density)
    # the piecewise-linear table: unit area and the exact mean (linear panels integrated exactly)
    e, f = table.e, table.f
    assert np.sum(0.5 * np.diff(e) * (f[1:] + f[:-1])) == pytest.approx(1.0, abs=1e-12)
    panel_mean = np.sum(np.diff(e) * (f[:-1] * (2 * e[:-1] + e[1:]) + f[1:] * (e[:-1] + 2 * e[1:]))
                        / 6.0)
    assert panel_mean == pytest.approx(mean_over_m * M_MU_MEV, rel=1e-8)


def test_component_means_and_flavours():
    comps = pd.components()
    assert [c.name for c in comps] == list(pd.COMPONENTS)
    assert [c.mean_energy_mev for c in comps] == pytest.approx(
        [pd.line_energy_mev(), 0.3 * M_MU_MEV, 0.35 * M_MU_MEV], rel=1e-15)
    assert [c.mm_weights.tolist() for c in comps] == [[0, 1, 0], [1, 0, 0], [0, 1, 0]]
    assert [c.timing for c in comps] == ["prompt", "delayed", "delayed"]


# -- flux-averaged cross sections: the tabulated Michel spectra against quad of the exact ones

def _nucleus(z, n, mass_u):
    from cevns_scan.kernels.form_factor import helm_radius_fm

    s2w = 0.23863
    return Nucleus(mass_u * AMU_MEV, 0.5 * (1 - 4 * s2w) * z - 0.5 * n, float(z),
                   helm_radius_fm(float(z + n)))


NUCLEI = {"Ar40": _nucleus(18, 22, 39.9623831), "Cs133": _nucleus(55, 78, 132.905452),
          "I127": _nucleus(53, 74, 126.904473)}


def _helm(t_mev, nuc):
    """Helm F from scipy's spherical Bessel function (independent of the kernels)."""
    q = math.sqrt(2 * nuc.m_n * t_mev) / HBARC_MEV_FM
    x = q * nuc.r0_fm
    return 3 * spherical_jn(1, x) / x * math.exp(-0.5 * (q * 0.9) ** 2)


def _dsigma(e, t, nuc):
    """Eqs. 2 and 6 written out (cm^2/MeV), SM and MM per mu_B^2."""
    if t > 2 * e * e / (2 * e + nuc.m_n):
        return 0.0, 0.0
    f2 = _helm(t, nuc) ** 2
    sm = G_F_MEV2**2 * nuc.m_n / math.pi * (1 - nuc.m_n * t / (2 * e * e)) * nuc.qw**2 * f2
    alpha = ALPHA_EM
    mm = math.pi * alpha**2 / M_E_MEV**2 * (1 / t - 1 / e) * nuc.z**2 * f2
    return sm * HBARC_MEV_CM**2, mm * HBARC_MEV_CM**2


def _quad_average(density, t, nuc):
    e_min = 0.5 * t * (1 + math.sqrt(1 + 2 * nuc.m_n / t))
    out = []
    for k in range(2):
        out.append(integrate.quad(lambda e, k=k: float(density(e)) * _dsigma(e, t, nuc)[k],
                                  e_min, pd.michel_end_point_mev(), epsabs=0, epsrel=1e-13,
                                  limit=200)[0])
    return np.array(out)


@pytest.mark.parametrize("name", list(NUCLEI))
def test_michel_tables_against_quad(name):
    """The piecewise-linear Michel tables reproduce the exact spectra's flux averages to 1e-8."""
    nuc = NUCLEI[name]
    comps = pd.components()
    t_mev = np.array([0.002, 0.01, 0.03, 0.06])
    for comp, density in ((comps[1], pd.michel_nue), (comps[2], pd.michel_numubar)):
        sm, mm = component_dsigma(t_mev, comp.spectrum, nuc)
        for i, t in enumerate(t_mev):
            ref = _quad_average(density, t, nuc)
            if ref[0] == 0:
                assert sm[i] == 0 and mm[i] == 0
                continue
            assert sm[i] == pytest.approx(ref[0], rel=1e-8)
            assert mm[i] == pytest.approx(ref[1], rel=1e-8)


def test_prompt_line_exact():
    nuc = NUCLEI["Ar40"]
    e = pd.line_energy_mev()
    t = np.array([0.001, 0.02, 0.0476, 0.05])
    sm, mm = component_dsigma(t, pd.components()[0].spectrum, nuc)
    for i in range(t.size):
        ref = _dsigma(e, t[i], nuc)
        assert sm[i] == pytest.approx(ref[0], rel=1e-12, abs=1e-300)
        assert mm[i] == pytest.approx(ref[1], rel=1e-12, abs=1e-300)
    assert sm[-1] == 0.0  # above T_max(29.79 MeV) = 47.7 keV on Ar-40


def test_bin_integrals_of_the_michel_table():
    nuc = NUCLEI["Cs133"]
    comp = pd.components()[2]
    x, w = np.polynomial.legendre.leggauss(8)
    quad = Quadrature(x, w, 1.05)
    lo, hi = np.array([0.005, 0.02]), np.array([0.006, 0.03])
    sm, _ = component_bin_integrals(lo, hi, comp.spectrum, nuc, quad)
    for i in range(2):
        ref = integrate.quad(lambda t: _quad_average(pd.michel_numubar, t, nuc)[0], lo[i], hi[i],
                             epsabs=0, epsrel=1e-10)[0]
        assert sm[i] == pytest.approx(ref, rel=2e-8)


# -- arrival times

def test_time_fractions_total_one_and_monotone():
    for timing in pd.TIMINGS:
        assert pd.time_fractions([-50.0, 200.0], timing, BEAM)[0] == pytest.approx(1.0,
                                                                                   abs=1e-13)
        t = np.linspace(-2, 30, 3201)
        cdf = pd.arrival_cdf(t, timing, BEAM)
        assert np.all(np.diff(cdf) >= -1e-15) and cdf[0] >= 0 and cdf[-1] <= 1 + 1e-15


def test_time_cdf_against_numerical_convolution():
    """(P7) and (P8) against quad of the Gaussian CDF over the decay-time densities."""
    def hypo(u):
        return (np.exp(-u / TAU_MU) - np.exp(-u / TAU_PI)) / (TAU_MU - TAU_PI)

    g = norm(BEAM.mean_us, BEAM.sigma_us).cdf
    for t in (0.1, 0.44, 0.6, 1.3, 4.0):
        prompt = integrate.quad(lambda u, t=t: np.exp(-u / TAU_PI) / TAU_PI * g(t - u), 0,
                                60 * TAU_PI, epsabs=1e-14, epsrel=1e-12, limit=200)[0]
        delayed = integrate.quad(lambda u, t=t: hypo(u) * g(t - u), 0, 80 * TAU_MU,
                                 epsabs=1e-14, epsrel=1e-12, limit=400, points=[t])[0]
        assert pd.arrival_cdf(t, "prompt", BEAM) == pytest.approx(prompt, abs=1e-11)
        assert pd.arrival_cdf(t, "delayed", BEAM) == pytest.approx(delayed, abs=1e-11)


def test_time_density_is_the_derivative():
    t = np.linspace(-0.5, 6, 27)
    h = 1e-6
    for timing in pd.TIMINGS:
        cdf = pd.arrival_cdf
        deriv = (cdf(t + h, timing, BEAM) - cdf(t - h, timing, BEAM)) / (2 * h)
        assert np.allclose(pd.arrival_density(t, timing, BEAM), deriv, rtol=1e-6, atol=1e-8)


def test_time_limits():
    """Narrow beam: the pure decay laws; mean arrival times t_b + tau_pi and + tau_mu."""
    narrow = pd.BeamTiming(1.0, 1e-7)
    dt = np.array([0.01, 0.05, 0.5, 3.0])
    prompt = 1 - np.exp(-dt / TAU_PI)
    delayed = 1 - ((TAU_MU * np.exp(-dt / TAU_MU) - TAU_PI * np.exp(-dt / TAU_PI))
                   / (TAU_MU - TAU_PI))
    assert np.allclose(pd.arrival_cdf(1.0 + dt, "prompt", narrow), prompt, atol=1e-9)
    assert np.allclose(pd.arrival_cdf(1.0 + dt, "delayed", narrow), delayed, atol=1e-9)
    assert pd.arrival_cdf(1.0 - 1e-5, "delayed", narrow) == pytest.approx(0.0, abs=1e-12)
    for timing, mean in (("prompt", TAU_PI), ("delayed", TAU_PI + TAU_MU)):
        m = integrate.quad(lambda t, timing=timing: t * pd.arrival_density(t, timing, BEAM), -3,
                           80, epsabs=1e-12, epsrel=1e-12, limit=400, points=[0.44])[0]
        assert m == pytest.approx(BEAM.mean_us + mean, rel=1e-9)


def test_wide_beam_is_the_gaussian():
    """tau << sigma: the prompt profile tends to the Gaussian shifted by tau_pi."""
    wide = pd.BeamTiming(0.0, 50.0)
    t = np.array([-60.0, -10.0, 0.0, 25.0, 80.0])
    assert np.allclose(pd.arrival_cdf(t, "prompt", wide), norm(TAU_PI, 50.0).cdf(t), atol=1e-6)


def test_fluence_and_errors():
    phi = pd.fluence_per_cm2(0.09, 13.8e22, 27.5)
    assert phi == pytest.approx(0.09 * 13.8e22 / (4 * math.pi * 2750.0**2), rel=1e-15)
    with pytest.raises(InputError):
        pd.fluence_per_cm2(0.09, -1.0, 27.5)
    with pytest.raises(InputError, match="width"):
        pd.BeamTiming(0.4, 0.0)
    with pytest.raises(InputError, match="increasing"):
        pd.time_fractions([1.0, 0.5], "prompt", BEAM)
    with pytest.raises(InputError, match="timing"):
        pd.arrival_cdf(1.0, "late", BEAM)


def test_the_source_of_the_physics_model():
    """PionDARSource: fluence per flavour, flavour weights, time fractions of its components,
    and the package's rates on any target with it (per kg over the whole exposure)."""
    import math

    from cevns_scan import load_config
    from cevns_scan.model import build_model
    from cevns_scan.rates import flavour_differential_rates
    from cevns_scan.sources import Source
    from cevns_scan.sources.pion_dar import BeamTiming, pion_dar_source, time_fractions

    beam = BeamTiming(0.44, 0.15)
    src = pion_dar_source(0.09, 1.38e23, 27.5, 0.1, beam)
    assert isinstance(src, Source) and src.exposure_seconds == 1.0
    fluence = 0.09 * 1.38e23 / (4 * math.pi * 2750.0**2)
    assert [c.flux for c in src.components] == pytest.approx([fluence] * 3, rel=1e-15)
    weights = [src.flavour_weights(c) for c in src.components]
    assert weights == [(0.0, 1.0, 0.0), (1.0, 0.0, 0.0), (0.0, 1.0, 0.0)]
    edges = np.array([-0.1, 0.4, 1.0, 6.0])
    for comp, timing in zip(src.components, ("prompt", "delayed", "delayed"), strict=True):
        got = src.time_fractions(comp, edges[:-1], edges[1:])
        assert got == pytest.approx(time_fractions(edges, timing, beam), abs=1e-15)
    model = build_model(load_config()).with_target("Ar").with_source(src)
    sm, mm = flavour_differential_rates(model, [10.0])
    # per kg: fluence x nuclei per kg x flux-averaged cross section (kernels), per keV
    from cevns_scan.kernels.constants import MEV_PER_KEV
    from cevns_scan.kernels.rates import component_dsigma

    (n_kg, nuc), = model.nuclei
    s, m = component_dsigma(np.array([10.0 * MEV_PER_KEV]), src.components[0].spectrum, nuc)
    assert sm[0, 0] == pytest.approx(fluence * n_kg * s[0] * MEV_PER_KEV, rel=1e-13)
    assert mm[0, 0] == pytest.approx([0.0, fluence * n_kg * m[0] * MEV_PER_KEV, 0.0],
                                     rel=1e-13)
    assert src.with_components(["delayed_nue"]).component_names == ("delayed_nue",)
