"""Physics beyond the paper (issue 12): presets, choices, targets, couplings, MSW bookkeeping.

Numbers quoted here are typed from their sources (not produced by the code under test):

* [PDG24] Particle Data Group 2024, review "Electroweak model and constraints on new physics"
  (J. Erler, A. Freitas), section 10.3.1: g_LL^{nu u} = 0.3457, g_LL^{nu d} = -0.4288,
  g_LR^{nu u} = -0.1553, g_LR^{nu d} = 0.0777, hence g_V^p = 0.0297, g_V^n = -0.5118.
* [CIAAW21]/[AME20]/[AW21] natural germanium (see tests/test_nuclides.py): A = 70, 72, 73,
  74, 76 with amount fractions 0.2052, 0.2745, 0.0776, 0.3652, 0.0775, atomic masses
  69.9242485 ... 75.921402725 u, standard atomic weight 72.630; argon 39.95.
* [dS21] de Salas et al. 2021: sin^2 theta12 = 0.318, sin^2 theta23 = 0.574,
  sin^2 theta13 = 0.02200, Delta m^2_21 = 7.50e-5 eV^2.

The rates themselves are checked against quadrature in tests/test_rates_vs_quad.py.
"""

import dataclasses
import math

import numpy as np
import pytest
from scipy import constants as sc

from cevns_scan import msw
from cevns_scan.config import PRESETS, load_config, validate
from cevns_scan.errors import InputError
from cevns_scan.experiments.spectrum.response import binned_templates
from cevns_scan.kernels.cross_sections import weak_charge
from cevns_scan.model import build_model, make_target
from cevns_scan.probabilities import draw_probabilities, probability_table
from cevns_scan.rates import differential_rates, figure2_tables

S12, S23, S13, DM21 = 0.318, 0.574, 0.02200, 7.50e-5
GP_RAD, GN_RAD = 0.0297, -0.5118  # [PDG24]
GE_NATURAL = ((70, 69.9242485, 0.2052), (72, 71.92207582, 0.2745), (73, 72.92345895, 0.0776),
              (74, 73.921177761, 0.3652), (76, 75.921402725, 0.0775))
LO = 0.16 + 0.1 * np.arange(20)
HI = LO + 0.1


def _cfg(user=None):
    return validate(user or {}, "my.toml")


@pytest.fixture(scope="module")
def paper():
    return build_model(load_config())


@pytest.fixture(scope="module")
def msw_model():
    return build_model(_cfg({"oscillation": {"model": "msw"}})).with_components(("8B", "hep"))


# ---------------------------------------------------------------------------------------------
# Presets and choices
# ---------------------------------------------------------------------------------------------
def test_default_is_the_paper_preset(paper):
    paper_choices = {"preset": "paper", "oscillation": "constant", "isotopes": "effective",
                     "couplings": "tree"}
    assert load_config().choices == paper_choices
    assert paper.choices == paper_choices
    # one nuclide, the effective nucleus, with N_T = 1000 N_A / 72.630 per kg
    ((n_kg, nuc),) = paper.nuclei
    assert n_kg == 1000.0 * sc.Avogadro / 72.630
    assert nuc == paper.nucleus
    assert paper.oscillation.dm2_21_ev2 == DM21


@pytest.mark.parametrize(("user", "expected"), [
    ({"physics": {"preset": "modern"}},
     {"preset": "modern", "oscillation": "msw", "isotopes": "natural", "couplings": "radiative"}),
    ({"physics": {"preset": "modern"}, "oscillation": {"model": "constant"}},
     {"preset": "modern", "oscillation": "constant", "isotopes": "natural",
      "couplings": "radiative"}),
    ({"target": {"isotopes": "natural"}},
     {"preset": "paper", "oscillation": "constant", "isotopes": "natural", "couplings": "tree"}),
    ({"physics": {"couplings": "radiative"}},
     {"preset": "paper", "oscillation": "constant", "isotopes": "effective",
      "couplings": "radiative"}),
])
def test_choice_keys_override_the_preset(user, expected):
    cfg = _cfg(user)
    assert cfg.choices == expected
    assert build_model(cfg).choices == expected
    # the config round-trips through its JSON (run.json, checkpoints) with its choices
    from cevns_scan.config import config_from_json

    assert config_from_json(cfg.to_json(), "run.json").choices == expected


def test_presets_table():
    assert PRESETS["paper"] == {"oscillation": "constant", "isotopes": "effective",
                                "couplings": "tree"}
    assert PRESETS["modern"] == {"oscillation": "msw", "isotopes": "natural",
                                 "couplings": "radiative"}


@pytest.mark.parametrize(("user", "match"), [
    ({"physics": {"preset": "new"}}, r"\[physics\] preset = 'new' is out of range; use 'paper'"),
    ({"oscillation": {"model": "vacuum"}}, r"\[oscillation\] model = 'vacuum' .* 'msw'"),
    ({"target": {"isotopes": "enriched"}}, r"\[target\] isotopes = 'enriched' .* 'natural'"),
    ({"physics": {"couplings": "loop"}}, r"\[physics\] couplings = 'loop' .* 'radiative'"),
    ({"oscillation": {"dm2_21_ev2": -7.5e-5}}, r"\[oscillation\] dm2_21_ev2 = -7.5e-05 .* eV"),
    ({"oscillation": {"model": "msw", "sin2_theta12": 0.0}},
     r"\[oscillation\] sin2_theta12 = 0.0 must be in \(0, 1\) for model = 'msw'"),
    ({"target": {"name": "Xe", "z": 18}},
     r"\[target\] z = 18 contradicts name = 'Xe' \(Xe has Z = 54"),
    ({"target": {"name": "Xx"}}, r"\[target\] name = 'Xx' is not an element .* z and molar_mass"),
    ({"target": {"name": "Ge", "isotopes": "natural", "molar_mass": 72.6}},
     r"\[target\] molar_mass applies to isotopes = 'effective' only"),
    ({"target": {"name": "HPGe", "z": 43, "molar_mass": 98.0, "isotopes": "natural"}},
     r"isotopes = 'natural' needs a tabulated element"),
])
def test_invalid_choices_are_one_line_naming_the_key(user, match):
    with pytest.raises(InputError, match=match) as err:
        _cfg(user)
    assert str(err.value).startswith("my.toml: ") and "\n" not in str(err.value)


# ---------------------------------------------------------------------------------------------
# Targets: any element by name, natural isotopes
# ---------------------------------------------------------------------------------------------
def test_any_element_by_name_alone():
    model = build_model(_cfg({"target": {"name": "Ar"}}))
    assert (model.target.name, model.target.z, model.target.molar_mass) == ("Ar", 18, 39.95)
    assert model.target.symbol == "Ar"
    assert make_target("argon").name == "Ar"  # English names give the symbol
    assert make_target("ge").name == "Ge"


def test_custom_label_and_symbol_from_z():
    tgt = make_target("HPGe", 32, 72.6)
    assert (tgt.name, tgt.z, tgt.molar_mass, tgt.symbol) == ("HPGe", 32, 72.6, "Ge")
    assert make_target("X", 43, 98.0).symbol is None  # Tc (no natural isotopes) is not tabulated
    nat = make_target("HPGe", 32, isotopes="natural")  # a label with z: the element of Z
    assert (nat.name, nat.z, len(nat.nuclides)) == ("HPGe", 32, 5)


def test_effective_target_keeps_the_paper_numbers():
    for name, (z, mass) in {"Ge": (32, 72.630), "Xe": (54, 131.293)}.items():
        tgt = make_target(name)
        assert (tgt.name, tgt.z, tgt.molar_mass, tgt.isotopes) == (name, z, mass, "effective")
        (nuc,) = tgt.nuclides
        assert (nuc.a_mass, nuc.n_neutrons, nuc.mass_u, nuc.fraction) == (mass, mass - z, mass,
                                                                           1.0)


def test_natural_germanium_by_hand():
    """x_i, A_i, N_i, m_i, Helm R0(A_i) and x_i N_T of natural Ge against typed numbers."""
    model = build_model(_cfg({"target": {"isotopes": "natural"}}))
    tgt = model.target
    assert (tgt.name, tgt.z, tgt.molar_mass, tgt.isotopes) == ("Ge", 32, 72.630, "natural")
    n_t = 1000.0 * sc.Avogadro / 72.630
    u_mev = sc.physical_constants["atomic mass constant energy equivalent in MeV"][0]
    total = sum(x for _, _, x in GE_NATURAL)
    assert len(model.nuclei) == len(GE_NATURAL)
    for (a, mass, x), iso, (n_kg, nuc) in zip(GE_NATURAL, tgt.nuclides, model.nuclei,
                                              strict=True):
        assert (iso.a_mass, iso.n_neutrons) == (a, a - 32)
        assert iso.mass_u == pytest.approx(mass, rel=1e-12)
        assert n_kg == pytest.approx(x / total * n_t, rel=1e-12)
        c = 1.23 * a ** (1 / 3) - 0.60
        r0 = math.sqrt(c * c + 7 / 3 * math.pi**2 * 0.52**2 - 5 * 0.9**2)
        assert nuc.r0_fm == pytest.approx(r0, rel=1e-13)
        assert nuc.m_n == pytest.approx(mass * u_mev, rel=1e-13)
        assert nuc.qw == pytest.approx(0.5 * (1 - 4 * 0.23863) * 32 - 0.5 * (a - 32), rel=1e-13)
        assert nuc.z == 32.0
    # the number fractions add up to the element: sum_i x_i N_T = N_T
    assert sum(n for n, _ in model.nuclei) == pytest.approx(n_t, rel=1e-14)


def test_with_target_by_name_keeps_the_isotope_choice():
    model = build_model(_cfg({"target": {"isotopes": "natural"}}))
    xe = model.with_target("Xe")
    assert xe.target.isotopes == "natural" and len(xe.nuclei) == 9
    assert build_model(load_config()).with_target("Xe").target == make_target("Xe")


# ---------------------------------------------------------------------------------------------
# Couplings
# ---------------------------------------------------------------------------------------------
def test_radiative_couplings_are_the_cited_values():
    model = build_model(_cfg({"physics": {"couplings": "radiative"}}))
    g_p, g_n = model.nucleon_couplings
    assert g_p == pytest.approx(GP_RAD, abs=1e-12) and g_n == pytest.approx(GN_RAD, abs=1e-12)
    assert model.weak_charge == pytest.approx(GP_RAD * 32 + GN_RAD * (72.630 - 32), rel=1e-12)


def test_tree_couplings_are_eq_3_bit_for_bit(paper):
    assert paper.weak_charge == weak_charge(32.0, 72.630 - 32, 0.23863)
    assert paper.nucleon_couplings == (0.5 * (1 - 4 * 0.23863), -0.5)


# ---------------------------------------------------------------------------------------------
# MSW bookkeeping (the rates against quadrature: tests/test_rates_vs_quad.py)
# ---------------------------------------------------------------------------------------------
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


def test_msw_shapes_differ_between_flavours(msw_model, paper):
    """Constant P: one spectral shape (rank 1); MSW: e and mu differ (rank 2), e weaker."""
    a = binned_templates(msw_model, LO, HI).mm.sum(axis=0)
    b = binned_templates(paper, LO, HI).mm.sum(axis=0)
    assert np.linalg.matrix_rank(b[:, :2], tol=1e-9 * b.max()) == 1
    assert np.linalg.matrix_rank(a[:, :2], tol=1e-9 * a.max()) == 2
    # 8B is in the matter-dominated regime: P_ee well below the vacuum 0.542, above the
    # high-density limit cos^4(theta13) sin^2(theta12) + sin^4(theta13)
    p_ee = msw_model.flux_averaged_probabilities()["8B"][0]
    assert (1 - S13) ** 2 * S12 + S13**2 < p_ee < 0.45


def test_flux_averaged_probabilities_constant(paper):
    p_eff = 1 - 2 * S12 * (1 - S12)
    p_ee = p_eff * (1 - S13) ** 2 + S13**2
    for probs in paper.flux_averaged_probabilities().values():
        assert probs == pytest.approx((p_ee, (1 - p_ee) * (1 - S23), (1 - p_ee) * S23),
                                      rel=1e-14)


def test_figure2_tables_follow_the_preset():
    modern = _cfg({"physics": {"preset": "modern"}})
    t = np.array([1.0, 2.0])
    got = figure2_tables(modern, t)
    paper = figure2_tables(None, t)
    assert set(got) == {"Ge", "Xe"}
    assert np.all(got["Ge"]["SM"] > paper["Ge"]["SM"])  # radiative couplings: |Q_W| larger


# ---------------------------------------------------------------------------------------------
# The probability table and figure
# ---------------------------------------------------------------------------------------------
def test_probability_table_msw_is_msw_py():
    e = [1.0, 5.0, 10.0, 15.0]
    tab = probability_table("8B", e, model="msw")
    assert list(tab) == ["E_nu_MeV", "P_ee", "P_emu", "P_etau"]
    ref = msw.flavour_probabilities(np.array(e), "8B", S12, S23, S13, DM21)
    for row, col in enumerate(("P_ee", "P_emu", "P_etau")):
        np.testing.assert_array_equal(tab[col], ref[row])
    np.testing.assert_allclose(tab["P_ee"] + tab["P_emu"] + tab["P_etau"], 1.0, rtol=1e-14)
    assert np.all(np.diff(tab["P_ee"]) < 0)  # falls towards the matter-dominated limit


def test_probability_table_constant_is_eqs_8_to_11():
    tab = probability_table("pp", [0.1, 0.3], load_config())
    p_ee = (1 - 2 * S12 * (1 - S12)) * (1 - S13) ** 2 + S13**2
    np.testing.assert_allclose(tab["P_ee"], p_ee, rtol=1e-14)
    np.testing.assert_allclose(tab["P_etau"], (1 - p_ee) * S23, rtol=1e-14)
    # the preset decides when no model is given
    modern = probability_table("pp", [0.1, 0.3], _cfg({"physics": {"preset": "modern"}}))
    assert np.all(modern["P_ee"] < p_ee)


@pytest.mark.parametrize(("args", "match"), [
    (("8b", [1.0]), "unknown solar flux component '8b'"),
    (("8B", [0.0]), "neutrino energy 0 MeV"),
    (("8B", []), "non-empty"),
])
def test_probability_table_bad_input(args, match):
    with pytest.raises(InputError, match=match):
        probability_table(*args)
    with pytest.raises(InputError, match="flavour model 'vac'"):
        probability_table("8B", [1.0], model="vac")


def test_draw_probabilities_returns_labelled_artists():
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, ax = plt.subplots()
    try:
        arts = draw_probabilities(ax, components=("pp", "7Be", "8B"), model="msw",
                                  flavours=("ee", "emu"))
        assert [a.get_label() for a in arts] == [
            "pp $P_{ee}$", r"pp $P_{e\mu}$", "7Be $P_{ee}$", r"7Be $P_{e\mu}$", "8B $P_{ee}$",
            r"8B $P_{e\mu}$"]
        x, y = arts[2].get_data()  # 7Be: two line markers at 0.3843 and 0.8618 MeV
        np.testing.assert_allclose(x, [0.3843, 0.8618])
        assert arts[2].get_marker() == "o"
        np.testing.assert_allclose(y, msw.survival_probability(np.array(x), "7Be", S12, S13,
                                                               DM21))
        assert ax.get_xscale() == "log"
    finally:
        plt.close(fig)


def test_centre_bin_rate_with_msw(msw_model):
    """bin_rate = 'centre' (eq. 17) splits the flavours the same way."""
    constant = msw_model.with_source(dataclasses.replace(msw_model.source, oscillation=None))
    a = binned_templates(msw_model, LO, HI, bin_rate="centre")
    b = binned_templates(constant, LO, HI, bin_rate="centre")
    assert np.array_equal(a.sm, b.sm)
    np.testing.assert_allclose(a.mm.sum(axis=2), b.mm.sum(axis=2), rtol=1e-12, atol=0)
    assert not np.allclose(a.mm, b.mm, rtol=1e-3)


def test_probabilities_command_prints_the_csv(in_tmp, cli):
    from cevns_scan.msw import load_oscillation_parameters, survival_probability

    code, out, err = cli("probabilities", "--component", "8B", "--energies", "1,5,10,15",
                         "--model", "msw", "--plot", "p.png")
    assert code == 0, err
    lines = [ln for ln in out.splitlines() if not ln.startswith("#")]
    assert lines[0] == "E_nu_MeV,P_ee,P_emu,P_etau"
    rows = np.array([[float(v) for v in ln.split(",")] for ln in lines[1:]])
    assert np.allclose(rows[:, 0], [1, 5, 10, 15])
    assert np.allclose(rows[:, 1:].sum(axis=1), 1.0, atol=1e-7)
    p = load_oscillation_parameters()
    ref = survival_probability(rows[:, 0], "8B", p["sin2_theta12"], p["sin2_theta13"],
                               p["dm2_21_eV2"])
    assert np.allclose(rows[:, 1], ref, atol=1e-8)  # printed with 8 significant digits
    assert (in_tmp / "p.png").stat().st_size > 1000
    code, out, _ = cli("probabilities", "--component", "8B", "--energies", "10",
                       "--model", "constant")
    assert out.splitlines()[-1].startswith("10,0.54209115")
