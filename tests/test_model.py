"""scanner/model.py: targets, flux components, flavour probabilities and the line terms; the
couplings and oscillation choices (MSW bookkeeping; the rates against quadrature are in
tests/test_rates.py).

[PDG24] radiative couplings g_V^p = 0.0297, g_V^n = -0.5118; [dS21] de Salas et al. 2021:
sin^2 theta12 = 0.318, sin^2 theta23 = 0.574, sin^2 theta13 = 0.02200, Delta m^2_21 = 7.50e-5
eV^2 (typed from the sources, not produced by the code under test)."""

import dataclasses
import math

import numpy as np
import pytest
from helpers import user_config
from scipy import constants as sc

from cevns_scan.config import load_config, validate
from cevns_scan.experiments.spectrum.response import binned_templates
from cevns_scan.kernels.constants import MEV_PER_KEV, SECONDS_PER_DAY
from cevns_scan.kernels.cross_sections import dsigma_mm, dsigma_sm, weak_charge
from cevns_scan.kernels.form_factor import helm_ff
from cevns_scan.kernels.kinematics import t_nr_max
from cevns_scan.model import Target, build_model, flavour_probabilities, make_target
from cevns_scan.rates import differential_rates
from cevns_scan.tables import data_file, read_table


@pytest.fixture(scope="module")
def model():
    return build_model(load_config())


def test_probabilities_sum_to_one_and_closed_form():
    pee, pem, pet = flavour_probabilities(0.318, 0.574, 0.02200)
    assert math.isclose(pee + pem + pet, 1.0, rel_tol=1e-15)
    s2_2t12 = math.sin(2 * math.asin(math.sqrt(0.318))) ** 2
    c13 = math.cos(math.asin(math.sqrt(0.022)))
    ref = (1 - 0.5 * s2_2t12) * c13**4 + 0.022**2
    assert math.isclose(pee, ref, rel_tol=1e-13)
    assert math.isclose(pem / pet, (1 - 0.574) / 0.574, rel_tol=1e-13)


def test_default_oscillation_matches_data_table(model):
    table = read_table(data_file("oscillation_parameters.csv"), ("parameter", "value"))
    values = dict(zip((r[0] for r in table.rows), table.numeric("value"), strict=True))
    cfg = load_config().to_dict()["oscillation"]
    for key in ("sin2_theta12", "sin2_theta23", "sin2_theta13"):
        assert cfg[key] == values[key]


def test_every_spectrum_integrates_to_one(model):
    for comp in model.components:
        if comp.e_mev.size:
            area = np.sum(0.5 * np.diff(comp.e_mev) * (comp.density[1:] + comp.density[:-1]))
            assert abs(area - 1.0) < 1e-14, comp.name
            # the exact moment table agrees: zeroth moment from the first node is the area
            assert math.isclose(comp.moments[0, 0], 1.0, rel_tol=1e-13), comp.name
        else:
            assert math.isclose(comp.line_branching.sum(), 1.0, rel_tol=1e-15), comp.name


def test_targets():
    ge = make_target("Ge")
    assert (ge.z, ge.molar_mass, ge.n_neutrons) == (32, 72.630, 72.630 - 32)
    assert math.isclose(ge.nuclei_per_kg, 1000 * sc.Avogadro / 72.630, rel_tol=1e-15)
    ar = Target("Ar", 18, 39.948)
    assert math.isclose(ar.m_n_mev, 39.948 * 931.4941, rel_tol=1e-8)


@pytest.mark.parametrize("line", [0, 1])
def test_line_contributes_exactly_below_tmax_and_nothing_above(model, line):
    be7 = model.with_components(["7Be"])
    comp = be7.components[0]
    e_line, b = comp.line_e_mev[line], comp.line_branching[line]
    tgt = model.target
    tmax_kev = t_nr_max(e_line, tgt.m_n_mev) / MEV_PER_KEV
    other = comp.line_e_mev[1 - line]
    t_other_kev = t_nr_max(other, tgt.m_n_mev) / MEV_PER_KEV
    norm = tgt.nuclei_per_kg * comp.flux * SECONDS_PER_DAY * MEV_PER_KEV
    for frac in (0.3, 0.999999):
        t_kev = frac * tmax_kev
        t = t_kev * MEV_PER_KEV
        ff = helm_ff(t, tgt.m_n_mev, tgt.r0_fm)
        sm, mm = differential_rates(be7, [t_kev], (1e-9, 0, 0))
        exp_sm = norm * b * dsigma_sm(e_line, t, tgt.m_n_mev, be7.weak_charge, ff)
        exp_mm = norm * b * be7.probabilities[0] * dsigma_mm(e_line, t, tgt.m_n_mev, tgt.z, ff,
                                                             1e-9)
        if t_kev <= t_other_kev:  # the other line is open too
            e2, b2 = other, comp.line_branching[1 - line]
            exp_sm += norm * b2 * dsigma_sm(e2, t, tgt.m_n_mev, be7.weak_charge, ff)
            exp_mm += norm * b2 * be7.probabilities[0] * dsigma_mm(e2, t, tgt.m_n_mev, tgt.z,
                                                                   ff, 1e-9)
        assert math.isclose(sm[0, 0], exp_sm, rel_tol=1e-14)
        assert math.isclose(mm[0, 0], exp_mm, rel_tol=1e-14)
    above = tmax_kev * (1 + 1e-9)
    if above > t_other_kev:
        sm, mm = differential_rates(be7, [above], (1e-9, 0, 0))
        assert sm[0, 0] == 0.0 and mm[0, 0] == 0.0


def test_only_8b_and_hep_reach_germanium_above_0p1_kev(model):
    sm, _ = differential_rates(model, [0.1, 1.0])
    open_ = {n for n, row in zip(model.component_names, sm, strict=True) if np.any(row > 0)}
    assert open_ == {"8B", "hep"}


def test_differential_rates_reject_bad_input(model):
    from cevns_scan.errors import InputError

    with pytest.raises(InputError, match="mu_e"):
        differential_rates(model, [1.0], (-1e-9, 0, 0))
    with pytest.raises(InputError, match="T_nr"):
        differential_rates(model, [0.0])


@pytest.mark.parametrize(("flux_model", "b8"), [("B16-GS98", 5.46e6), ("B16-AGSS09met", 4.50e6),
                                                ("BS05-OP", 5.691e6)])
def test_flux_models_selectable(flux_model, b8):

    m = build_model(validate({"fluxes": {"model": flux_model}}, "test"))
    comp = dict(zip(m.component_names, m.components, strict=True))
    assert comp["8B"].flux == b8
    assert comp["8B"].frac_sigma == 0.12 and comp["hep"].frac_sigma == 0.30


def test_bahcall1996_8b_shape_selectable(model):

    alt = build_model(validate({"fluxes": {"spectrum_8B": "bahcall1996"}}, "test"))
    a = alt.with_components(["8B"]).components[0]
    w = model.with_components(["8B"]).components[0]
    assert a.e_mev.size == 829 and w.e_mev.size == 201
    assert math.isclose(a.moments[0, 0], 1.0, rel_tol=1e-13)
    # same physics, slightly different shapes: rates within 10 % at 1 keV_nr, not equal
    r_alt = differential_rates(alt.with_components(["8B"]), [1.0])[0][0, 0]
    r_w = differential_rates(model.with_components(["8B"]), [1.0])[0][0, 0]
    assert r_alt != r_w and abs(r_alt / r_w - 1) < 0.1


# -- the couplings and oscillation choices --------------------------------------------------------

S12, S23, S13, DM21 = 0.318, 0.574, 0.02200, 7.50e-5


GP_RAD, GN_RAD = 0.0297, -0.5118  # [PDG24]


LO = 0.16 + 0.1 * np.arange(20)


HI = LO + 0.1


@pytest.fixture(scope="module")
def msw_model():
    msw = build_model(user_config({"oscillation": {"model": "msw"}}))
    return msw.with_components(("8B", "hep"))


def test_radiative_couplings_are_the_cited_values():
    model = build_model(user_config({"physics": {"couplings": "radiative"}}))
    g_p, g_n = model.nucleon_couplings
    assert g_p == pytest.approx(GP_RAD, abs=1e-12) and g_n == pytest.approx(GN_RAD, abs=1e-12)
    assert model.weak_charge == pytest.approx(GP_RAD * 32 + GN_RAD * (72.630 - 32), rel=1e-12)


def test_tree_couplings_are_eq_3_bit_for_bit(model):
    assert model.weak_charge == weak_charge(32.0, 72.630 - 32, 0.23863)
    assert model.nucleon_couplings == (0.5 * (1 - 4 * 0.23863), -0.5)


def test_msw_leaves_the_sm_part_unchanged_and_keeps_unitarity(msw_model):
    """SM is flavour blind; with mu_e = mu_mu = mu_tau the MM part is sum_l P_el = 1 times the
    unweighted one, whatever P(E); mu and tau share 1 - P_ee as cos^2 : sin^2 theta23."""
    const = msw_model.with_source(dataclasses.replace(msw_model.source, oscillation=None))
    a, b = binned_templates(msw_model, LO, HI), binned_templates(const, LO, HI)
    assert np.array_equal(a.sm, b.sm)
    np.testing.assert_allclose(a.mm.sum(axis=2), b.mm.sum(axis=2), rtol=1e-12, atol=0)
    live = a.mm[..., 2] > 0
    np.testing.assert_allclose(a.mm[..., 1][live] / a.mm[..., 2][live], (1 - S23) / S23,
                               rtol=1e-12)
    t = np.array([1.0, 3.0])
    sm_a, mm_a = differential_rates(msw_model, t, (1e-9, 1e-9, 1e-9))
    sm_b, mm_b = differential_rates(const, t, (1e-9, 1e-9, 1e-9))
    assert np.array_equal(sm_a, sm_b)
    np.testing.assert_allclose(mm_a, mm_b, rtol=1e-12)


def test_msw_shapes_differ_between_flavours(msw_model, model):
    """Constant P: one spectral shape (rank 1); MSW: e and mu differ (rank 2), e weaker."""
    a = binned_templates(msw_model, LO, HI).mm.sum(axis=0)
    b = binned_templates(model, LO, HI).mm.sum(axis=0)
    assert np.linalg.matrix_rank(b[:, :2], tol=1e-9 * b.max()) == 1
    assert np.linalg.matrix_rank(a[:, :2], tol=1e-9 * a.max()) == 2
    # 8B is in the matter-dominated regime: P_ee well below the vacuum 0.542, above the
    # high-density limit cos^4(theta13) sin^2(theta12) + sin^4(theta13)
    p_ee = msw_model.flux_averaged_probabilities()["8B"][0]
    assert (1 - S13) ** 2 * S12 + S13**2 < p_ee < 0.45


def test_flux_averaged_probabilities_constant(model):
    p_eff = 1 - 2 * S12 * (1 - S12)
    p_ee = p_eff * (1 - S13) ** 2 + S13**2
    for probs in model.flux_averaged_probabilities().values():
        assert probs == pytest.approx((p_ee, (1 - p_ee) * (1 - S23), (1 - p_ee) * S23),
                                      rel=1e-14)


def test_centre_bin_rate_with_msw(msw_model):
    """bin_rate = 'centre' (eq. 17) splits the flavours the same way."""
    constant = msw_model.with_source(dataclasses.replace(msw_model.source, oscillation=None))
    a = binned_templates(msw_model, LO, HI, bin_rate="centre")
    b = binned_templates(constant, LO, HI, bin_rate="centre")
    assert np.array_equal(a.sm, b.sm)
    np.testing.assert_allclose(a.mm.sum(axis=2), b.mm.sum(axis=2), rtol=1e-12, atol=0)
    assert not np.allclose(a.mm, b.mm, rtol=1e-3)
