"""Messages that name the real problem, one stated minimum per option, plane names spelt as
the outputs spell them (issue 18, item 4). The command-line cases of one-line errors are in
test_bad_inputs.py; these are the library's and the successful spellings."""

from __future__ import annotations

import json

import numpy as np
import pytest

import cevns_scan as cs
from cevns_scan.errors import InputError, ParameterError


@pytest.fixture(scope="module")
def ana():
    return cs.Analysis.from_config()


@pytest.mark.parametrize("cl", [1.5, 0.0, 1.0, 90, -0.5, float("nan")])
def test_a_bad_cl_is_named_not_the_data(ana, cl):
    with pytest.raises(ParameterError, match=r"^cl = .* must be a confidence level in \(0, 1\), "
                                             r"e\.g\. 0\.9 for 90 %$") as err:
        ana.one_dof_intervals(cl=cl)
    assert "data" not in str(err.value) and "constrain" not in str(err.value)
    from cevns_scan.limits import threshold

    with pytest.raises(ParameterError, match="confidence level"):
        threshold(cl, 2)


def test_the_cli_words_a_bad_cl_as_its_option():
    from cevns_scan.cli import _error_text

    exc = ParameterError("cl", 1.5, "must be a confidence level in (0, 1), e.g. 0.9 for 90 %")
    assert _error_text(exc) == "--cl 1.5 must be a confidence level in (0, 1), e.g. 0.9 for 90 %"


def test_one_minimum_per_option_in_library_config_and_cli(ana):
    from cevns_scan.cli import positive_int
    from cevns_scan.config import MIN_GRID, validate
    from cevns_scan.neyman import MIN_TOYS

    assert (MIN_GRID, MIN_TOYS) == (2, 10)
    with pytest.raises(ParameterError, match=r"^grid = 1 must be >= 2 points per axis$"):
        ana.plane_grid("e-mu", 1)
    with pytest.raises(InputError, match=r"\[scan\] grid = 1 is out of range; use an integer >= "
                                         r"2 points per axis"):
        validate({"scan": {"grid": 1}}, "x")
    with pytest.raises(ParameterError, match=r"^toys = 9 must be >= 10 pseudo-experiments"):
        ana.neyman_plane("e", "mu", 9, 0)
    from cevns_scan.neyman import coverage

    with pytest.raises(ParameterError, match=r"^inner = 9 must be >= 10") as err:
        coverage(ana, "e-mu", [(0.0, 0.0)], toys=10, inner=9)
    assert err.value.as_option("--inner-toys").startswith("--inner-toys 9 must be >= 10")
    # the command line takes the same minimum (MIN_GRID, MIN_TOYS), not >= 1
    assert positive_int("--grid", MIN_GRID)("2") == 2
    with pytest.raises(InputError, match=r"--grid 1 must be >= 2"):
        positive_int("--grid", MIN_GRID)("1")


def test_a_non_finite_expected_rate_is_not_called_a_sigma_problem():
    from cevns_scan.experiments.spectrum.datasets import Dataset
    from cevns_scan.experiments.spectrum.pull_chi2 import _check_precision

    ds = Dataset("d", np.array([0.16, 0.26]), np.array([0.26, 0.36]), np.array([2.0, 2.0]),
                 np.array([0.3, 0.3]), "x")
    with pytest.raises(InputError, match=r"bin 1 \(0\.26-0\.36 keV_ee\): the model's expected "
                                         r"rate is nan, not a finite number") as err:
        _check_precision(ds, np.array([1.0, np.nan]))
    assert "sigma" not in str(err.value)
    with pytest.raises(InputError, match=r"bin 0 .*: the rate 1e\+300 is 3\.33e\+300 times "
                                         r"sigma = 0\.3") as err:
        _check_precision(Dataset("d", ds.tee_lo, ds.tee_hi, np.array([1e300, 2.0]), ds.sigma,
                                 "x"), np.array([1.0, 1.0]))
    assert "check the rate and sigma columns" in str(err.value)


def test_a_config_with_a_byte_order_mark_is_read(tmp_path):
    path = tmp_path / "c.toml"
    path.write_bytes(b"\xef\xbb\xbf[scan]\ngrid = 11\n")
    assert cs.load_config(path).scan.grid == 11


@pytest.mark.parametrize("spelling", ["e-mu", "e_mu"])
def test_plane_names_as_the_outputs_spell_them(in_tmp, cli, spelling):
    code, _, err = cli("reproduce", "--plane", spelling, "--grid", "11", "--out", "r",
                       "--quiet", "--no-figures")
    assert code == 0, err
    assert json.loads((in_tmp / "r" / "limits.json").read_text())["two_dof"].keys() == {"e_mu"}
    code, _, err = cli("scan", "--plane", spelling, "--grid", "5", "--out", "sc", "--quiet")
    assert code == 0, err
    assert (in_tmp / "sc" / "e_mu" / "manifest.json").is_file()
    code, out, err = cli("coverage", "--plane", spelling, "--at", "e=1e-8", "--toys", "10",
                         "--inner-toys", "10")
    assert code == 0, err
    assert "plane e-mu" in out
    (in_tmp / "ov.csv").write_text("x,y\n0,0\n1e-8,0\n0,1e-8\n")
    code, _, err = cli("plot", "r", "--overlay", f"X@{spelling}=ov.csv")
    assert code == 0, err
    back = cs.load_results(in_tmp / "r")
    assert back.plane(spelling).name == "e_mu"
    with pytest.raises(KeyError, match=r"plane 'e-tau' is not among the results \(planes: "
                                       r"e_mu\)"):
        back.plane("e-tau")


def test_debug_before_the_command_is_accepted(in_tmp, cli):
    code, out, err = cli("--debug", "rates", "--points", "2", "--tnr-min", "1")
    assert code == 0, err
    assert out.splitlines()[1] == "T_nr_keV,SM,total_mu_1e-09,total_mu_8e-10,total_mu_4e-10"


def test_a_negative_number_list_reaches_the_value_check(cli):
    code, _, err = cli("probabilities", "--energies", "-1,5")
    assert code == 2 and err.strip() == ("cevns-scan: error: --energies -1: a neutrino energy "
                                         "must be > 0 (MeV)")
    code, _, err = cli("probabilities", "--energies", "1,-5e0")
    assert code == 2 and "--energies -5: a neutrino energy must be > 0 (MeV)" in err


def test_an_overlay_for_a_plane_not_drawn_is_refused_not_dropped(default_analysis):
    from cevns_scan.plots import Overlay, check_overlays

    res = default_analysis.scan("e-mu", grid=41)
    poly = np.array([[0, 0], [1e-8, 0], [0, 1e-8]])
    check_overlays([Overlay("X", poly, "e_mu", "x.csv", "0")], [res])  # its own plane: fine
    with pytest.raises(InputError, match=r"overlay 'X' is for plane e_tau, which is not among "
                                         r"the planes drawn \(e_mu\)"):
        check_overlays([Overlay("X", poly, "e_tau", "x.csv", "0")], [res])


def test_true_points_of_coverage_are_checked_in_python(ana):
    from cevns_scan.limits import axis_crossing, check_true_point, threshold
    from cevns_scan.neyman import coverage

    crossing = axis_crossing(ana, "e", threshold(0.9, 2))
    assert check_true_point(ana, ("e", "mu"), (50 * crossing, 0.0), 0.9) == (50 * crossing, 0.0)
    with pytest.raises(InputError, match=r"mu_e = .* mu_B is 200 times the 90 % CL on-axis "
                                         r"crossing"):
        check_true_point(ana, ("e", "mu"), (200 * crossing, 0.0), 0.9)
    with pytest.raises(InputError, match=r"mu_mu = 2 is out of range; use a magnetic moment in "
                                         r"\[0, 1e-4\] mu_B"):
        coverage(ana, "e-mu", [(0.0, 2.0)], toys=10, inner=10)


@pytest.mark.parametrize("option", ["--gof-toys", "--expected"])
def test_toy_counts_of_reproduce_are_checked_before_the_scan(cli, monkeypatch, option):
    """Every toy count states the one minimum (neyman.MIN_TOYS) and is refused before any map
    is computed (--gof-toys 5 used to fail in the library after the scans)."""
    import cevns_scan.scan
    from cevns_scan.neyman import MIN_TOYS

    def no_scan(*args, **kwargs):
        raise AssertionError("a map was computed before the toy count was checked")

    monkeypatch.setattr(cevns_scan.scan, "scan_map", no_scan)
    code, _, err = cli("reproduce", "--grid", "11", "--quiet", "--out", "out", option,
                       MIN_TOYS - 1)
    assert code == 2
    assert err.strip() == (f"cevns-scan: error: {option} {MIN_TOYS - 1} must be >= "
                           f"{MIN_TOYS} pseudo-experiments" + (
                               ", or 0 (or no value) for the Asimov expectation"
                               if option == "--expected" else ""))
