"""Element/isotope tables and weak couplings, against numbers quoted from the primary sources.

References quoted below (typed here as the independent reference, not produced by the code):

* [CIAAW21] CIAAW, Isotopic compositions of the elements 2021 (www.ciaaw.org), representative
  isotopic compositions (amount fractions, uncertainty in the last digits).
* [AW21] T. Prohaska et al., Standard atomic weights of the elements 2021, Pure Appl. Chem. 94
  (2022) 573 (abridged values with their uncertainties).
* [AME20] M. Wang et al., The AME 2020 atomic mass evaluation (II), Chinese Phys. C 45 (2021)
  030003 (atomic masses in u).
* [PDG24] S. Navas et al. (Particle Data Group), Phys. Rev. D 110 (2024) 030001, review
  "Electroweak model and constraints on new physics" (J. Erler, A. Freitas), section 10.3.1:
  SM neutrino-quark couplings g_LL^{nu u} = 0.3457, g_LL^{nu d} = -0.4288,
  g_LR^{nu u} = -0.1553, g_LR^{nu d} = 0.0777.
"""

import math

import numpy as np
import pytest

from cevns_scan import nuclides
from cevns_scan.couplings import weak_couplings
from cevns_scan.errors import InputError
from cevns_scan.model import KNOWN_TARGETS
from cevns_scan.nuclides import element, elements, isotope_mixture, load_nuclides
from cevns_scan.tables import data_file, read_table

# [CIAAW21] representative compositions: A -> (fraction, uncertainty)
GE_CIAAW21 = {70: (0.2052, 0.0019), 72: (0.2745, 0.0015), 73: (0.0776, 0.0008),
              74: (0.3652, 0.0012), 76: (0.0775, 0.0012)}
XE_CIAAW21 = {124: (0.00095, 0.00005), 126: (0.00089, 0.00003), 128: (0.01910, 0.00013),
              129: (0.26401, 0.00138), 130: (0.04071, 0.00022), 131: (0.21232, 0.00051),
              132: (0.26909, 0.00055), 134: (0.10436, 0.00035), 136: (0.08857, 0.00072)}
# [AME20] atomic masses in u
GE_AME20 = {70: 69.9242485, 72: 71.92207582, 73: 72.92345895, 74: 73.921177761,
            76: 75.921402725}
XE_AME20 = {124: 123.9058852, 126: 125.904297422, 128: 127.903530753, 129: 128.904780857,
            130: 129.903509347, 131: 130.905084128, 132: 131.904155083, 134: 133.90539303,
            136: 135.907214474}
# [AW21] standard atomic weights (g/mol) and their uncertainties
ATOMIC_WEIGHTS_AW21 = {
    "Ge": (72.630, 0.008), "Xe": (131.293, 0.006), "Ar": (39.95, 0.16),
    "Na": (22.98976928, 0.00000002), "I": (126.90447, 0.00003),
    "Cs": (132.90545196, 0.00000006), "O": (15.999, 0.001),
}


@pytest.mark.parametrize(("symbol", "z", "composition", "masses"), [
    ("Ge", 32, GE_CIAAW21, GE_AME20),
    ("Xe", 54, XE_CIAAW21, XE_AME20),
])
def test_isotopes_match_ciaaw_and_ame(symbol, z, composition, masses):
    el = element(symbol)
    assert el.z == z
    assert [iso.a for iso in el.isotopes] == sorted(composition)
    for iso in el.isotopes:
        assert iso.abundance == pytest.approx(composition[iso.a][0], abs=1e-12)
        assert iso.mass_u == pytest.approx(masses[iso.a], abs=1e-6)


def test_built_in_targets_use_the_standard_atomic_weights():
    # [AW21]: Ge 72.630(8), Xe 131.293(6); the built-in effective targets use the same values
    assert element("Ge").atomic_weight == 72.630
    assert element("Xe").atomic_weight == 131.293
    for name, (z, molar_mass) in KNOWN_TARGETS.items():
        assert element(name).z == z
        assert element(name).atomic_weight == molar_mass


@pytest.mark.parametrize("symbol", sorted(ATOMIC_WEIGHTS_AW21))
def test_mean_isotope_mass_reproduces_standard_atomic_weight(symbol):
    weight, sigma = ATOMIC_WEIGHTS_AW21[symbol]
    el = element(symbol)
    assert el.atomic_weight == pytest.approx(weight, abs=1e-12)
    assert abs(el.mean_isotope_mass_u - weight) <= sigma
    _, mass, x = isotope_mixture(symbol)
    assert abs(float(np.sum(x * mass)) - weight) <= sigma


def test_every_element_sums_to_one_and_z_range():
    table = elements()
    zs = [el.z for el in table]
    # Z = 1..83 without Tc (43) and Pm (61), plus Th (90) and Pa (91)
    assert zs == [z for z in range(1, 84) if z not in (43, 61)] + [90, 91]
    for el in table:
        assert math.fsum(iso.abundance for iso in el.isotopes) == pytest.approx(1.0, abs=1e-9)
        assert all(iso.abundance > 0.0 for iso in el.isotopes)


def test_tables_cite_their_sources():
    for name in ("elements.csv", "isotopes.csv"):
        text = " ".join(read_table(data_file(name), ("symbol", "z")).comments)
        assert "periodictable 2.1.0" in text
        assert "Prohaska" in text and "Isotopic compositions of the elements 2021" in text
        assert "AME 2020" in text
    iso_comments = " ".join(read_table(data_file("isotopes.csv"), ("symbol",)).comments)
    assert "sum" in iso_comments and "midpoint" in iso_comments


@pytest.mark.parametrize("query", ["ge", "Ge", "GE", " germanium ", "Germanium"])
def test_lookup_ignores_case(query):
    assert element(query).symbol == "Ge"


def test_british_names():
    assert element("caesium").symbol == "Cs"
    assert element("aluminium").symbol == "Al"
    assert element("sulphur").symbol == "S"


@pytest.mark.parametrize(("query", "suggested"), [
    ("Gx", "Ge (germanium)"), ("germanum", "Ge (germanium)"), ("xenn", "Xe (xenon)"),
])
def test_unknown_symbol_suggests(query, suggested):
    with pytest.raises(InputError, match="did you mean") as err:
        element(query)
    message = str(err.value)
    assert suggested in message
    assert f"unknown element {query!r}" in message
    assert "data/elements.csv" in message
    assert "\n" not in message


def test_untabulated_and_bad_input():
    with pytest.raises(InputError,
                       match=r"Tc \(technetium, Z = 43\) is not tabulated in data/elements.csv"):
        element("Tc")
    with pytest.raises(InputError, match="unknown element 'Qq'; give a chemical symbol"):
        element("Qq")
    with pytest.raises(InputError, match="must be given as a chemical symbol"):
        element(32)


def test_isotope_mixture_ge():
    n, mass, x = isotope_mixture("ge")
    assert n.tolist() == [38.0, 40.0, 41.0, 42.0, 44.0]  # A - 32
    assert x.sum() == pytest.approx(1.0, abs=1e-15)
    assert x.tolist() == pytest.approx([0.2052, 0.2745, 0.0776, 0.3652, 0.0775], abs=1e-15)
    assert mass.tolist() == pytest.approx([GE_AME20[a] for a in (70, 72, 73, 74, 76)], abs=1e-6)


def test_natural_ge_weak_charge_sum_by_hand():
    # Tree level, sin^2 = 0.23863: g_V^p = (1 - 0.95452)/2 = 0.02274, Z g_V^p = 0.72768,
    # Q(N) = 0.72768 - N/2 = -18.27232, -19.27232, -19.77232, -20.27232, -21.27232 for
    # N = 38, 40, 41, 42, 44, weighted with the [CIAAW21] fractions.
    by_hand = (0.2052 * 18.27232**2 + 0.2745 * 19.27232**2 + 0.0776 * 19.77232**2
               + 0.3652 * 20.27232**2 + 0.0775 * 21.27232**2)
    assert by_hand == pytest.approx(385.95921181, rel=1e-10)
    gp, gn = weak_couplings("tree", 0.23863)
    n, _, x = isotope_mixture("Ge")
    assert float(np.sum(x * (gp * 32 + gn * n) ** 2)) == pytest.approx(by_hand, rel=1e-12)
    # Radiative ([PDG24]): g_V^p = 0.0297, g_V^n = -0.5118, Z g_V^p = 0.9504
    by_hand_rad = (0.2052 * (0.9504 - 0.5118 * 38) ** 2 + 0.2745 * (0.9504 - 0.5118 * 40) ** 2
                   + 0.0776 * (0.9504 - 0.5118 * 41) ** 2 + 0.3652 * (0.9504 - 0.5118 * 42) ** 2
                   + 0.0775 * (0.9504 - 0.5118 * 44) ** 2)
    gp, gn = weak_couplings("radiative")
    assert float(np.sum(x * (gp * 32 + gn * n) ** 2)) == pytest.approx(by_hand_rad, rel=1e-12)


# --- table validation: errors name the file and the line -------------------------------------

ELEMENTS = "symbol,z,atomic_weight,name\nH,1,1.0080,hydrogen\nHe,2,4.002602,helium\n"
ISOTOPES = ("symbol,z,a,mass_u,abundance\nH,1,1,1.0078250319,0.999855\n"
            "H,1,2,2.01410177784,0.000145\nHe,2,3,3.01602932197,2e-06\n"
            "He,2,4,4.00260325413,0.999998\n")


def _write(tmp_path, elements_text=ELEMENTS, isotopes_text=ISOTOPES):
    e, i = tmp_path / "el.csv", tmp_path / "iso.csv"
    e.write_text(elements_text)
    i.write_text(isotopes_text)
    return e, i


def test_good_custom_tables(tmp_path):
    table = load_nuclides(*_write(tmp_path))
    assert list(table) == ["H", "He"]
    assert table["He"].isotopes[1].a == 4


@pytest.mark.parametrize(("old", "new", "where", "match"), [
    ("H,1,2,2.01410177784,0.000145", "H,1,2,2.01410177784,0.1", "iso",
     r"iso.csv line 2: the abundances of H sum to 1.09986, not 1 within 0.001"),
    ("He,2,3,3.01602932197,2e-06", "He,3,3,3.01602932197,2e-06", "iso",
     r"iso.csv line 4: z = 3 for He, but .*el.csv line 3 gives z = 2"),
    ("He,2,4,4.00260325413,0.999998", "He,2,4,4.00260325413,99.9998", "iso",
     r"iso.csv line 5: abundance = 99.9998 is outside \[0, 1\]"),
    ("H,1,1,1.0078250319,0.999855", "H,1,1,-1.0078250319,0.999855", "iso",
     r"iso.csv line 2: mass_u = -1.00783 is not positive"),
    ("H,1,1,1.0078250319,0.999855", "H,1,1,0.999855,1.0078250319", "iso",
     r"iso.csv line 2: abundance = 1.00783 is outside"),
    ("He,2,3,3.01602932197,2e-06", "Hx,2,3,3.01602932197,2e-06", "iso",
     r"iso.csv line 4: symbol 'Hx' is not in .*el.csv"),
    ("He,2,3,3.01602932197,2e-06", "He,2,4,3.01602932197,2e-06", "iso",
     r"iso.csv line 4: mass_u = 3.01603 u is not close to the mass number a = 4"),
    ("He,2,3,3.01602932197,2e-06", "He,2,3.5,3.01602932197,2e-06", "iso",
     r"iso.csv line 4: column a = 3.5 is not an integer >= 1"),
    ("He,2,4.002602,helium", "He,1,4.002602,helium", "el",
     r"el.csv line 3: z = 1 is repeated \(first on line 2\)"),
    ("He,2,4.002602,helium", "H,2,4.002602,helium", "el",
     r"el.csv line 3: symbol H is repeated \(first on line 2\)"),
    ("He,2,4.002602,helium", "He,2,0,helium", "el",
     r"el.csv line 3: atomic_weight = 0 is not positive"),
    ("He,2,4.002602,helium", "He,2,4.002602,helium\nLi,3,6.94,lithium", "el",
     r"el.csv line 4: Li has no isotopes in .*iso.csv"),
])
def test_bad_tables(tmp_path, old, new, where, match):
    el_text = ELEMENTS.replace(old, new) if where == "el" else ELEMENTS
    iso_text = ISOTOPES.replace(old, new) if where == "iso" else ISOTOPES
    assert (el_text, iso_text) != (ELEMENTS, ISOTOPES)
    with pytest.raises(InputError, match=match) as err:
        load_nuclides(*_write(tmp_path, el_text, iso_text))
    assert "\n" not in str(err.value)


def test_duplicate_isotope_and_missing_column(tmp_path):
    with pytest.raises(InputError, match=r"iso.csv line 6: He-4 is repeated \(first on line 5\)"):
        load_nuclides(*_write(tmp_path, isotopes_text=ISOTOPES + "He,2,4,4.00260325413,0\n"))
    with pytest.raises(InputError, match=r"el.csv line 1: header lacks column\(s\) name"):
        load_nuclides(*_write(tmp_path, elements_text=ELEMENTS.replace(",name", "")
                              .replace(",hydrogen", "").replace(",helium", "")))


def test_packaged_tables_are_cached():
    assert nuclides._packaged() is nuclides._packaged()
    assert element("Xe") is element("xenon")
