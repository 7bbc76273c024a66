"""scanner/targets.py: elements, natural isotopes and compounds by chemical formula."""

import numpy as np
import pytest
from scipy import constants

from cevns_scan.errors import InputError
from cevns_scan.targets import make_target, parse_formula

N_A = constants.Avogadro
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
