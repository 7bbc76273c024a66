"""scanner/probabilities.py: the flavour-probability table and figure, and their command.

[dS21] de Salas et al. 2021: sin^2 theta12 = 0.318, sin^2 theta23 = 0.574, sin^2 theta13 =
0.02200, Delta m^2_21 = 7.50e-5 eV^2 (typed from the source, not produced by the code).
"""


import numpy as np
import pytest
from helpers import user_config

from cevns_scan import msw
from cevns_scan.config import load_config
from cevns_scan.errors import InputError
from cevns_scan.probabilities import draw_probabilities, probability_table

S12, S23, S13, DM21 = 0.318, 0.574, 0.02200, 7.50e-5


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
    modern = probability_table("pp", [0.1, 0.3], user_config({"physics": {"preset": "modern"}}))
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


# -- the figure, and the table beside it ----------------------------------------------------------

def test_probabilities_plot_shows_every_curve_and_marker():
    from matplotlib.figure import Figure

    from cevns_scan.probabilities import LINE_MARKERS, draw_probabilities

    ax = Figure().subplots()
    arts = draw_probabilities(ax, components=("pp", "7Be", "8B"), model="msw",
                              flavours=("ee", "emu", "etau"))
    by = {a.get_label(): a for a in arts}
    for flav in ("P_{ee}", r"P_{e\mu}", r"P_{e\tau}"):
        pp, b8 = by[f"pp ${flav}$"], by[f"8B ${flav}$"]
        assert pp.get_zorder() > b8.get_zorder()  # the narrow pp spectrum lies over 8B
        assert pp.get_linewidth() < b8.get_linewidth()  # and 8B shows around it
    markers = [by[f"7Be ${f}$"].get_marker() for f in ("P_{ee}", r"P_{e\mu}", r"P_{e\tau}")]
    assert markers == [LINE_MARKERS[k] for k in ("ee", "emu", "etau")]
    assert len(set(markers)) == 3


def test_probabilities_table_beside_the_plot_is_the_plotted_model(in_tmp, cli):
    from cevns_scan.probabilities import probability_table

    code, _, err = cli("probabilities", "--energies", "1,10", "--plot", "p.png", "--out", "p.csv")
    assert code == 0, err
    mark, *lines = (in_tmp / "p.csv").read_text().splitlines()
    assert mark.startswith("# written by cevns-scan")  # the provenance line comes first
    assert "msw model" in lines[0]
    rows = np.array([[float(v) for v in ln.split(",")] for ln in lines[2:]])
    msw = probability_table("8B", [1.0, 10.0], model="msw")
    np.testing.assert_allclose(rows[:, 1], msw["P_ee"], rtol=1e-15)
    assert abs(msw["P_ee"][1] - probability_table("8B", [10.0], model="constant")["P_ee"][0]) \
        > 0.1  # the two models differ here, so the test tells them apart
    code, _, _ = cli("probabilities", "--energies", "1,10", "--plot", "q.png", "--model",
                     "constant", "--out", "q.csv")
    assert code == 0 and "constant model" in (in_tmp / "q.csv").read_text().splitlines()[1]
