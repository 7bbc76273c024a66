"""Day-time adiabatic MSW probabilities (cevns_scan.msw) against closed forms and eigh.

The references here are independent of the module: the zone table is read with the csv
module, the matter potential is built from scipy.constants, and the matter mixing comes from
numerically diagonalising the flavour Hamiltonian with numpy.linalg.eigh.
"""

import csv
import functools
import math
from importlib import resources

import numpy as np
import pytest
from scipy import constants as sc
from scipy.integrate import quad

from cevns_scan import msw
from cevns_scan.errors import InputError
from cevns_scan.kernels.spectra import tail_moment_table, tail_moments
from cevns_scan.tables import data_file, load_spectrum

# de Salas et al. 2021, normal ordering (the values in data/oscillation_parameters.csv)
S12, S23, S13, DM21, DM31 = 0.318, 0.574, 0.02200, 7.50e-5, 2.55e-3
COMPONENTS = ("pp", "pep", "hep", "7Be", "8B", "13N", "15O", "17F")

# Independent constants: G_F in eV^-2, hbar c in eV cm.
G_F_EV2 = sc.physical_constants["Fermi coupling constant"][0] * 1e-18
HBARC_EV_CM = sc.physical_constants["reduced Planck constant times c in MeV fm"][0] * 1e-7


@functools.cache
def _zones():
    """(n_e in cm^-3, {component: normalised weights}) read with the csv module."""
    path = resources.files("cevns_scan.data").joinpath("solar_model_bs05op.csv")
    with open(str(path), newline="") as handle:
        rows = [r for r in csv.reader(handle) if r and not r[0].startswith("#")]
    header, body = rows[0], np.array(rows[1:], dtype=float)
    n_e = sc.Avogadro * 10.0 ** body[:, header.index("log10_ne_cm3_per_NA")]
    weights = {}
    for c in COMPONENTS:
        w = body[:, header.index(f"frac_{c}")]
        weights[c] = w / w.sum()
    return n_e, weights


def _potential_ev(n_e):
    """V = sqrt(2) G_F n_e in eV."""
    return math.sqrt(2.0) * G_F_EV2 * n_e * HBARC_EV_CM**3


def _vacuum_p_ee(s12=S12, s13=S13):
    return (1.0 - 0.5 * 4.0 * s12 * (1.0 - s12)) * (1.0 - s13) ** 2 + s13**2


def _p_ee_eigh_2x2(e_mev, component, s12=S12, s13=S13, dm2=DM21):
    """Adiabatic P_ee from eigh of the 2x2 Hamiltonian (potential V cos^2 theta13) per zone."""
    n_e, weights = _zones()
    c13sq = 1.0 - s13
    c2, s2 = 1.0 - 2.0 * s12, 2.0 * math.sqrt(s12 * (1.0 - s12))
    k = dm2 / (4.0 * e_mev * 1e6)
    h = np.empty((n_e.size, 2, 2))
    h[:, 0, 0] = -k * c2 + _potential_ev(n_e) * c13sq
    h[:, 0, 1] = h[:, 1, 0] = k * s2
    h[:, 1, 1] = k * c2
    _, vec = np.linalg.eigh(h)  # ascending eigenvalues: matter states 1, 2
    p2 = (1.0 - s12) * vec[:, 0, 0] ** 2 + s12 * vec[:, 0, 1] ** 2
    return c13sq**2 * float(p2 @ weights[component]) + s13**2


def _pmns(s12, s13, s23):
    """Real PMNS matrix (delta = 0)."""
    c12, c13, c23 = (math.sqrt(1.0 - s) for s in (s12, s13, s23))
    r12 = np.array([[c12, math.sqrt(s12), 0], [-math.sqrt(s12), c12, 0], [0, 0, 1]])
    r13 = np.array([[c13, 0, math.sqrt(s13)], [0, 1, 0], [-math.sqrt(s13), 0, c13]])
    r23 = np.array([[1, 0, 0], [0, c23, math.sqrt(s23)], [0, -math.sqrt(s23), c23]])
    return r23 @ r13 @ r12


def _p_ee_eigh_3x3(e_mev, component):
    """Adiabatic P_ee = sum_i |U_ei|^2 |U^m_ei|^2 from eigh of the full 3x3 Hamiltonian."""
    n_e, weights = _zones()
    u = _pmns(S12, S13, S23)
    h = np.repeat((u @ np.diag([0.0, DM21, DM31]) @ u.T / (2.0 * e_mev * 1e6))[None], n_e.size, 0)
    h[:, 0, 0] += _potential_ev(n_e)
    _, vec = np.linalg.eigh(h)  # normal ordering: no level crossing, order is kept
    return float((vec[:, 0, :] ** 2 @ u[0, :] ** 2) @ weights[component])


def test_constant_probabilities_closed_form():
    p_ee = _vacuum_p_ee()
    got = msw.constant_probabilities(S12, S23, S13)
    expected = (p_ee, (1.0 - p_ee) * (1.0 - S23), (1.0 - p_ee) * S23)
    assert got == pytest.approx(expected, rel=1e-15, abs=0)
    assert p_ee == pytest.approx(0.542091152032, rel=1e-12)


@pytest.mark.parametrize("component", COMPONENTS)
def test_low_energy_limit_is_vacuum_average(component):
    # beta ~ 2e-7 at 1 eV: the matter correction is below 1e-7
    p = msw.survival_probability(1e-6, component, S12, S13, DM21)
    assert abs(float(p) - _vacuum_p_ee()) < 1e-7


@pytest.mark.parametrize("component", ("pp", "8B", "7Be"))
def test_first_order_matter_correction(component):
    # cos 2theta_m = cos 2theta - sin^2 2theta * beta + O(beta^2), so
    # P_ee - P_vac = -c13^4 cos 2theta sin^2 2theta <beta> / 2 (relative O(beta) ~ 1e-3)
    n_e, weights = _zones()
    e_mev = 1e-3
    beta = 2.0 * e_mev * 1e6 * _potential_ev(n_e) * (1.0 - S13) / DM21
    c2, sin_sq_2t = 1.0 - 2.0 * S12, 4.0 * S12 * (1.0 - S12)
    expected = -0.5 * (1.0 - S13) ** 2 * c2 * sin_sq_2t * float(beta @ weights[component])
    got = float(msw.survival_probability(e_mev, component, S12, S13, DM21)) - _vacuum_p_ee()
    assert got == pytest.approx(expected, rel=2e-3)


@pytest.mark.parametrize("component", COMPONENTS)
def test_high_energy_limit(component):
    # beta >= 1e5 in every zone at 1e8 MeV: cos 2theta_m = -1 + O(1/beta^2)
    p = msw.survival_probability(1e8, component, S12, S13, DM21)
    assert abs(float(p) - ((1.0 - S13) ** 2 * S12 + S13**2)) < 1e-6


@pytest.mark.parametrize("component", ("8B", "pp", "hep", "7Be"))
def test_against_eigh_2x2(component):
    energies = np.array([0.05, 0.3843, 0.8618, 1.442, 3.0, 6.5, 10.0, 15.0, 18.0])
    got = msw.survival_probability(energies, component, S12, S13, DM21)
    ref = np.array([_p_ee_eigh_2x2(e, component) for e in energies])
    assert np.max(np.abs(got - ref)) < 1e-10


@pytest.mark.parametrize("component", ("8B", "pp"))
@pytest.mark.parametrize("e_mev", [0.1, 1.0, 5.0, 10.0, 15.0])
def test_three_flavour_reduction_error_is_theta13_order(e_mev, component):
    # The reduction neglects the matter shift of theta13, of order s13^2 * 2 E V / dm31^2.
    n_e, weights = _zones()
    a = 2.0 * e_mev * 1e6 * float(_potential_ev(n_e) @ weights[component]) / DM31
    got = float(msw.survival_probability(e_mev, component, S12, S13, DM21))
    assert abs(got - _p_ee_eigh_3x3(e_mev, component)) < 2.0 * S13 * a


@pytest.mark.parametrize("component", COMPONENTS)
def test_probabilities_sum_to_one(component):
    energies = np.geomspace(1e-4, 1e3, 57)
    probs = msw.flavour_probabilities(energies, component, S12, S23, S13, DM21)
    assert probs.shape == (3, energies.size)
    assert np.max(np.abs(probs.sum(axis=0) - 1.0)) < 1e-14
    assert np.all(probs >= 0.0)
    np.testing.assert_allclose(probs[2] / probs[1], S23 / (1.0 - S23), rtol=1e-13)


@pytest.mark.parametrize(("e_line", "component"),
                         [(0.8618, "7Be"), (0.3843, "7Be"), (1.442, "pep")])
def test_line_probabilities(e_line, component):
    p_ee, p_emu, p_etau = msw.line_probabilities(e_line, component, S12, S23, S13, DM21)
    assert abs(p_ee - _p_ee_eigh_2x2(e_line, component)) < 1e-10
    assert abs(p_emu - (1.0 - p_ee) * (1.0 - S23)) < 1e-15
    assert abs(p_ee + p_emu + p_etau - 1.0) < 1e-14


def test_oscillation_parameter_table():
    params = msw.load_oscillation_parameters()
    assert params["sin2_theta12"] == 0.318
    assert params["sin2_theta23"] == 0.574
    assert params["sin2_theta13"] == 0.02200
    assert params["dm2_21_eV2"] == 7.50e-5


def test_solar_model_table():
    solar = msw.load_solar_model()
    n_e, weights = _zones()
    np.testing.assert_allclose(solar.n_e_cm3, n_e, rtol=1e-14)
    assert solar.n_e_cm3[0] == pytest.approx(sc.Avogadro * 10.0**2.013, rel=1e-14)
    for c in COMPONENTS:
        np.testing.assert_allclose(solar.weights[c], weights[c], rtol=1e-13, atol=1e-300)
        assert math.fsum(solar.weights[c]) == pytest.approx(1.0, abs=1e-13)
    assert not solar.n_e_cm3.flags.writeable
    assert msw.load_solar_model() is solar


def _bad_weights_table(tmp_path, scale):
    text = data_file("solar_model_bs05op.csv").read_text(encoding="utf-8").splitlines()
    header_at = next(i for i, line in enumerate(text) if not line.startswith("#"))
    j = text[header_at].split(",").index("frac_8B")
    out = text[: header_at + 1]
    for line in text[header_at + 1:]:
        fields = line.split(",")
        fields[j] = repr(float(fields[j]) * scale)
        out.append(",".join(fields))
    path = tmp_path / "solar_model_bs05op.csv"
    path.write_text("\n".join(out) + "\n", encoding="utf-8")
    return path


def test_weight_sum_checked(tmp_path, monkeypatch):
    path = _bad_weights_table(tmp_path, 1.05)
    monkeypatch.setattr(msw, "data_file", lambda name: path)
    with pytest.raises(InputError, match=r"data/solar_model_bs05op\.csv: column frac_8B sums "
                                         r"to 1\.0499"):
        msw.load_solar_model.__wrapped__()


@pytest.mark.parametrize("energy", [0.0, -1.0, math.nan, math.inf])
def test_bad_energy(energy):
    with pytest.raises(InputError) as info:
        msw.survival_probability([1.0, energy], "8B", S12, S13, DM21)
    message = str(info.value)
    assert "\n" not in message
    assert f"neutrino energy {energy:g} MeV" in message


def test_unknown_component():
    with pytest.raises(InputError, match=r"unknown solar flux component '8b'; use one of pp, "):
        msw.flavour_probabilities(1.0, "8b", S12, S23, S13, DM21)


@pytest.mark.parametrize(("name", "args"), [
    ("sin2_theta12", (1.0, "pp", 1.2, S13, DM21)),
    ("sin2_theta13", (1.0, "pp", S12, -0.1, DM21)),
    ("dm2_21_ev2", (1.0, "pp", S12, S13, 0.0)),
])
def test_bad_parameters(name, args):
    with pytest.raises(InputError, match=name):
        msw.survival_probability(*args)


def test_weighted_spectrum_rejects_density_at_zero_energy():
    with pytest.raises(InputError, match="non-zero at E = 0 MeV"):
        msw.weighted_spectrum([0.0, 1.0], [1.0, 0.0], lambda e: np.ones_like(e))


def test_weighted_spectrum_constant_probability_adds_no_nodes():
    # phi_lin * const is exactly piecewise linear: nothing to refine
    e, f = np.array([0.0, 1.0, 2.0, 5.0]), np.array([0.0, 0.4, 0.3, 0.0])
    e_new, g_new = msw.weighted_spectrum(e, f, lambda x: np.full_like(x, 0.25))
    np.testing.assert_array_equal(e_new, e)
    np.testing.assert_allclose(g_new, 0.25 * f, rtol=1e-15)


SPECTRA = {"8B": "spectrum_8B.csv", "hep": "spectrum_hep.csv"}
# the last non-zero nodes are 15.2 MeV (8B, zero from 15.3) and 18.765 MeV (hep, zero at 18.784)
TAIL_STARTS = {"8B": [0.05, 0.37, 2.0, 7.77, 14.0, 15.25, 15.2999],
               "hep": [0.01, 0.5, 3.3, 10.0, 17.0, 18.77, 18.7839]}


@functools.cache
def _refined(component):
    spec = load_spectrum(data_file(SPECTRA[component]))
    p_of_e = functools.partial(msw.survival_probability, component=component,
                               sin2_theta12=S12, sin2_theta13=S13, dm2_21_ev2=DM21)
    e_new, g_new = msw.weighted_spectrum(spec.e_mev, spec.density, p_of_e)
    return spec, e_new, g_new


@functools.cache
def _p_exact(component, e_mev):
    """P_ee at one energy (cached: quad visits the same points for p = 0, -1, -2)."""
    return float(msw.survival_probability(e_mev, component, S12, S13, DM21))


def _quad_tail(spec, component, x, p):
    """int_x^Emax phi_lin(E) P(E) E^p dE by quad, panel by panel, P exact."""
    e, f = spec.e_mev, spec.density
    total, lo = 0.0, max(x, e[0])
    for hi in e[e > lo]:
        total += quad(lambda t: np.interp(t, e, f) * _p_exact(component, t) * t**p, lo, hi,
                      epsabs=0.0, epsrel=1e-12, limit=200)[0]
        lo = hi
    return total


@pytest.mark.parametrize("component", ["8B", pytest.param("hep", marks=pytest.mark.slow)])
def test_weighted_spectrum_moments_vs_quad(component):
    spec, e_new, g_new = _refined(component)
    assert np.all(np.isin(spec.e_mev, e_new))
    cum = tail_moment_table(e_new, g_new)
    for x in TAIL_STARTS[component]:
        got = tail_moments(x, e_new, g_new, cum)
        for p, value in zip((0, -1, -2), got, strict=True):
            ref = _quad_tail(spec, component, x, p)
            assert ref > 0.0
            assert math.isclose(value, ref, rel_tol=1e-8), (x, p, value, ref)
