"""scanner/couplings.py: the weak nucleon couplings, tree level (eq. 3) and radiative.

[PDG24] Particle Data Group 2024, review "Electroweak model and constraints on new physics"
(J. Erler, A. Freitas), section 10.3.1: g_LL^{nu u} = 0.3457, g_LL^{nu d} = -0.4288,
g_LR^{nu u} = -0.1553, g_LR^{nu d} = 0.0777, hence g_V^p = 0.0297, g_V^n = -0.5118 (typed
from the source, not produced by the code under test).
"""

import math

import pytest

from cevns_scan import couplings
from cevns_scan.couplings import nucleon_couplings, weak_couplings
from cevns_scan.errors import InputError
from cevns_scan.tables import data_file, read_table

# [PDG24] neutrino-quark couplings
PDG24 = {"g_LL_nu_u": 0.3457, "g_LL_nu_d": -0.4288, "g_LR_nu_u": -0.1553, "g_LR_nu_d": 0.0777}


def test_radiative_couplings_are_the_pdg_numbers():
    table = couplings.coupling_table()
    assert table["radiative"] == PDG24
    # g_V^p = 2 (0.3457 - 0.1553) + (-0.4288 + 0.0777) = 0.3808 - 0.3511 = 0.0297
    # g_V^n = (0.3457 - 0.1553) + 2 (-0.4288 + 0.0777) = 0.1904 - 0.7022 = -0.5118
    gp, gn = weak_couplings("radiative")
    assert gp == pytest.approx(0.0297, abs=1e-12)
    assert gn == pytest.approx(-0.5118, abs=1e-12)
    assert weak_couplings(" Radiative ", 0.2) == (gp, gn)  # sin^2 theta_W is not used
    comments = " ".join(read_table(data_file("weak_couplings.csv"), ("scheme",)).comments)
    assert "Phys. Rev. D 110 (2024) 030001" in comments and "10.3.1" in comments


@pytest.mark.parametrize("s2", [0.23863, 0.2312, 0.25])
def test_tree_couplings_are_eq3(s2):
    assert weak_couplings("tree", s2) == pytest.approx(((1.0 - 4.0 * s2) / 2.0, -0.5), abs=1e-15)


def test_tree_default_and_quark_relation():
    assert weak_couplings() == pytest.approx((0.02274, -0.5), abs=1e-15)
    # tree-level quark couplings give eq. 3: g_LL^u = 1/2 - 2/3 s^2, g_LR^u = -2/3 s^2,
    # g_LL^d = -1/2 + 1/3 s^2, g_LR^d = 1/3 s^2
    s2 = 0.23863
    gp, gn = nucleon_couplings(0.5 - 2 * s2 / 3, -0.5 + s2 / 3, -2 * s2 / 3, s2 / 3)
    assert (gp, gn) == pytest.approx(((1.0 - 4.0 * s2) / 2.0, -0.5), abs=1e-15)


@pytest.mark.parametrize(("z", "n", "tree_q", "rad_q", "ratio"), [
    # Q = g_V^p Z + g_V^n N with N = molar mass - Z (the built-in effective nuclei)
    (32, 40.63, 0.72768 - 20.315, 0.9504 - 20.794434, 1.026384),      # Ge
    (54, 77.293, 1.22796 - 38.6465, 1.6038 - 39.5585574, 1.028866),   # Xe
])
def test_radiative_cross_section_ratio(z, n, tree_q, rad_q, ratio):
    gp_t, gn_t = weak_couplings("tree", 0.23863)
    gp_r, gn_r = weak_couplings("radiative")
    assert gp_t * z + gn_t * n == pytest.approx(tree_q, abs=1e-9)
    assert gp_r * z + gn_r * n == pytest.approx(rad_q, abs=1e-9)
    assert ((gp_r * z + gn_r * n) / (gp_t * z + gn_t * n)) ** 2 == pytest.approx(ratio, abs=1e-6)


@pytest.mark.parametrize("scheme", ["loop", "", "MSbar"])
def test_unknown_scheme(scheme):
    with pytest.raises(InputError, match=r"unknown weak-coupling scheme .*use 'tree'") as err:
        weak_couplings(scheme)
    assert "\n" not in str(err.value)


@pytest.mark.parametrize("s2", [0.0, 1.0, -0.1, math.nan, "x", True])
def test_bad_sin2(s2):
    with pytest.raises(InputError, match=r"sin2_theta_w = .* is not a number in \(0, 1\)"):
        weak_couplings("tree", s2)
