"""scanner/targets.py: targets by element name, Z or label; natural isotopes; the molar mass
checked against the element's isotopes; compounds by chemical formula.

[CIAAW21]/[AME20]/[AW21] natural germanium (see tests/test_nuclides.py): A = 70, 72, 73, 74,
76 with amount fractions 0.2052, 0.2745, 0.0776, 0.3652, 0.0775, atomic masses 69.9242485 ...
75.921402725 u, standard atomic weight 72.630; argon 39.95 (typed from the sources).
"""

import math

import numpy as np
import pytest
from helpers import user_config
from scipy import constants as sc

from cevns_scan.config import load_config, validate
from cevns_scan.errors import InputError
from cevns_scan.model import build_model, make_target
from cevns_scan.targets import parse_formula

GE_NATURAL = ((70, 69.9242485, 0.2052), (72, 71.92207582, 0.2745), (73, 72.92345895, 0.0776),
              (74, 73.921177761, 0.3652), (76, 75.921402725, 0.0775))


# -- any element by name, natural isotopes --------------------------------------------------------

def test_any_element_by_name_alone():
    model = build_model(user_config({"target": {"name": "Ar"}}))
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
    model = build_model(user_config({"target": {"isotopes": "natural"}}))
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
    model = build_model(user_config({"target": {"isotopes": "natural"}}))
    xe = model.with_target("Xe")
    assert xe.target.isotopes == "natural" and len(xe.nuclei) == 9
    assert build_model(load_config()).with_target("Xe").target == make_target("Xe")


# -- the molar mass must fit the element ----------------------------------------------------------

def _isotope_masses(symbol: str) -> list[float]:
    """Atomic masses of an element's natural isotopes, read from data/isotopes.csv here."""
    from importlib.resources import files

    text = files("cevns_scan.data").joinpath("isotopes.csv").read_text()
    rows = [line.split(",") for line in text.splitlines()
            if line and not line.startswith("#") and not line.startswith("symbol")]
    return [float(r[3]) for r in rows if r[0] == symbol]


@pytest.mark.parametrize("symbol", ["Ge", "Xe", "Ar"])
def test_molar_mass_must_fit_the_elements_isotopes(symbol):
    masses = _isotope_masses(symbol)
    lo, hi = min(masses) - 2.0, max(masses) + 2.0
    for inside in (lo + 1e-6, hi - 1e-6, max(masses)):  # an enriched heavy isotope is fine
        assert validate({"target": {"name": symbol, "molar_mass": inside}},
                        "x").target.molar_mass == inside
    for outside in (lo - 1e-3, hi + 1e-3, min(masses) / 10):
        with pytest.raises(InputError) as err:
            validate({"target": {"name": symbol, "molar_mass": outside}}, "my.toml")
        msg = str(err.value)
        assert msg.startswith(f"my.toml: key [target] molar_mass = {outside!r} does not fit "
                              f"{symbol}")
        assert f"[{lo:.2f}, {hi:.2f}] g/mol" in msg


def test_molar_mass_of_a_label_with_z_follows_z():
    # z = 32 names germanium even under another label, so germanium's isotopes decide
    with pytest.raises(InputError, match=r"molar_mass = 7\.263 does not fit Ge"):
        validate({"target": {"name": "detector", "z": 32, "molar_mass": 7.263}}, "x")
    # a Z without tabulated isotopes (uranium): A between Z and 3 Z
    cfg = validate({"target": {"name": "U", "z": 92, "molar_mass": 238.029}}, "x")
    assert cfg.target.molar_mass == 238.029
    with pytest.raises(InputError, match=r"\[92\.00, 276\.00\] g/mol"):
        validate({"target": {"name": "U", "z": 92, "molar_mass": 23.8}}, "x")


def test_make_target_checks_the_molar_mass_in_python():
    from cevns_scan import make_target

    assert math.isclose(make_target("Ge", molar_mass=75.92).molar_mass, 75.92)
    with pytest.raises(InputError, match=r"^molar_mass = 7\.263 does not fit Ge"):
        make_target("Ge", molar_mass=7.263)


def test_an_untabulated_element_is_named_not_a_look_alike():
    from cevns_scan import make_target

    with pytest.raises(InputError) as err:
        make_target("U")
    msg = str(err.value)
    assert "uranium" in msg and "z = 92" in msg and "molar_mass = 238.029" in msg
    assert "Cu" not in msg and "copper" not in msg
    # what it says works
    assert make_target("U", z=92, molar_mass=238.029).z == 92


# -- compounds by chemical formula ----------------------------------------------------------------

N_A = sc.Avogadro
#: Standard atomic weights of data/elements.csv (CIAAW 2021).
W = {"Cs": 132.90545196, "I": 126.90447, "Ca": 40.078, "W": 183.84, "O": 15.999, "C": 12.011,
     "F": 18.998403162, "Na": 22.98976928}


@pytest.mark.parametrize("text,parts", [
    ("CsI", (("Cs", 1), ("I", 1))),
    ("CaWO4", (("Ca", 1), ("W", 1), ("O", 4))),
    ("C3F8", (("C", 3), ("F", 8))),
    ("HOH", (("H", 2), ("O", 1))),
    ("Ar", (("Ar", 1),)),
])
def test_formulas(text, parts):
    assert parse_formula(text) == parts


@pytest.mark.parametrize("text", ["", "csi", "Cs-I", "C0", "2CsI", "Cs I"])
def test_not_formulas(text):
    assert parse_formula(text) is None


@pytest.mark.parametrize("formula", ["CsI", "CaWO4", "C3F8", "NaI"])
def test_compound_nuclei_per_kg(formula):
    """Each element contributes count x 1000 N_A / M_formula nuclei per kg."""
    target = make_target(formula)
    parts = parse_formula(formula)
    molar = sum(W[s] * n for s, n in parts)
    assert target.is_compound and target.z is None
    assert target.molar_mass == pytest.approx(molar, rel=1e-6)
    per_kg = {n.element: n.fraction * target.nuclei_per_kg for n in target.nuclides}
    for sym, count in parts:
        assert per_kg[sym] == pytest.approx(count * 1000.0 * N_A / molar, rel=1e-6)


def test_natural_isotopes_of_a_compound():
    """CsI with natural isotopes: Cs-133 alone, I-127 alone (both monoisotopic), each with its
    own Z and atomic mass; CaWO4: every stable isotope, abundances x count summing per element."""
    csi = make_target("CsI", isotopes="natural")
    assert sorted((n.element, n.z, round(n.a_mass)) for n in csi.nuclides) == [
        ("Cs", 55, 133), ("I", 53, 127)]
    cawo4 = make_target("CaWO4", isotopes="natural")
    per_element = {}
    for n in cawo4.nuclides:
        per_element[n.element] = per_element.get(n.element, 0.0) + n.fraction
    assert per_element == pytest.approx({"Ca": 1.0, "W": 1.0, "O": 4.0}, rel=1e-12)
    assert {n.z for n in cawo4.nuclides if n.element == "W"} == {74}


def test_compound_rates_are_the_sum_of_their_nuclei():
    """dR/dT per kg of CsI = the Cs part + the I part, each from its own one-element model
    weighted by its mass fraction (independent of the compound code path)."""
    from cevns_scan import load_config
    from cevns_scan.model import build_model
    from cevns_scan.rates import differential_rates

    base = build_model(load_config()).with_components(["8B"])
    t = [0.5, 2.0, 5.0]
    sm, mm = differential_rates(base.with_target("CsI"), t, (1e-9, 0.0, 0.0))
    m_cs, m_i = W["Cs"], W["I"]
    total = np.zeros_like(sm)
    total_mm = np.zeros_like(mm)
    for sym, frac in (("Cs", m_cs / (m_cs + m_i)), ("I", m_i / (m_cs + m_i))):
        s, m = differential_rates(base.with_target(sym), t, (1e-9, 0.0, 0.0))
        total += frac * s
        total_mm += frac * m
    np.testing.assert_allclose(sm, total, rtol=1e-12)
    np.testing.assert_allclose(mm, total_mm, rtol=1e-12)


def test_target_errors_are_one_line():
    with pytest.raises(InputError, match="compound; its molar mass"):
        make_target("CsI", molar_mass=260.0)
    with pytest.raises(InputError, match="element Xx of the formula"):
        make_target("CsXx")
    with pytest.raises(InputError, match="is a compound; the effective mass number"):
        make_target("CsI").a_mass  # noqa: B018
    with pytest.raises(InputError, match=r"Lindhard quenching of eq\. 15 is defined for one"):
        from cevns_scan import load_config
        from cevns_scan.experiments.spectrum.response import binned_templates
        from cevns_scan.model import build_model

        binned_templates(build_model(load_config()).with_target("CsI"), [1.0], [2.0])
