"""The output policy: no command deletes or overwrites a file that cevns-scan did not write."""

import json
import os

import numpy as np
import pytest
from helpers import load_map

from cevns_scan.cli import main

QUICK = ["--grid", "11", "--quiet"]
REPRO = ["reproduce", *QUICK, "--no-figures"]


@pytest.fixture
def cwd(tmp_path):
    old = os.getcwd()
    os.chdir(tmp_path)
    yield tmp_path
    os.chdir(old)


def _user_folder(path):
    (path / "sub").mkdir(parents=True)
    (path / "thesis.tex").write_text("my thesis\n")
    (path / "sub" / "notes.txt").write_text("notes\n")


def _user_files_intact(path):
    return ((path / "thesis.tex").read_text() == "my thesis\n"
            and (path / "sub" / "notes.txt").read_text() == "notes\n")


def _one_line_error(capsys, *needles):
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and err.startswith("cevns-scan: error:"), err
    for n in needles:
        assert n in err, err
    return err


def test_reproduce_refuses_a_folder_of_user_files(cwd, capsys):
    _user_folder(cwd / "analysis")
    for extra in ([], ["--force"]):  # --force does not help: these are not cevns-scan's files
        assert main([*REPRO, "--out", "analysis", *extra]) == 2
        _one_line_error(capsys, "--out analysis", "did not write")
        assert _user_files_intact(cwd / "analysis")
        assert sorted(p.name for p in (cwd / "analysis").iterdir()) == ["sub", "thesis.tex"]


def test_reproduce_refuses_the_working_directory(cwd, capsys):
    _user_folder(cwd)
    assert main([*REPRO, "--out", str(cwd), "--force"]) == 2
    _one_line_error(capsys, "did not write")
    assert _user_files_intact(cwd)
    assert sorted(p.name for p in cwd.iterdir()) == ["sub", "thesis.tex"]


@pytest.mark.slow
def test_replacing_a_result_needs_force_and_keeps_other_files(cwd, capsys):
    assert main([*REPRO, "--out", "res"]) == 0
    files = json.loads((cwd / "res" / "run.json").read_text())["files"]
    assert "chi2_e_tau.npz" in files and "run.json" in files
    (cwd / "res" / "thesis.tex").write_text("my thesis\n")
    before = (cwd / "res" / "limits.json").read_bytes()
    capsys.readouterr()
    assert main([*REPRO, "--out", "res"]) == 2
    _one_line_error(capsys, "earlier cevns-scan result", "--force")
    assert (cwd / "res" / "limits.json").read_bytes() == before
    # with --force, one plane only: the old e_tau map (cevns-scan's own) goes, the thesis stays
    assert main([*REPRO, "--out", "res", "--force", "--plane", "e-mu"]) == 0
    names = sorted(p.name for p in (cwd / "res").iterdir())
    assert "thesis.tex" in names and "chi2_e_tau.npz" not in names and "chi2_e_mu.npz" in names
    assert (cwd / "res" / "thesis.tex").read_text() == "my thesis\n"
    assert not [n for n in names if n.startswith(".")]


@pytest.mark.slow
def test_empty_existing_folder_is_used(cwd):
    (cwd / "empty").mkdir()
    assert main([*REPRO, "--out", "empty"]) == 0
    assert (cwd / "empty" / "run.json").is_file()
    assert not [p for p in (cwd / "empty").iterdir() if p.name.startswith(".")]


def test_merge_into_the_scan_folder_is_refused(cwd, capsys):
    assert main(["scan", "--plane", "e-mu", *QUICK, "--out", "sc"]) == 0
    chunks = sorted((cwd / "sc" / "e_mu").iterdir())
    for out in ("sc", "sc/inside", "."):
        capsys.readouterr()
        assert main(["merge", "sc", "--out", out, "--force"]) == 2
        _one_line_error(capsys, f"--out {out}", "scan folder")
    assert sorted((cwd / "sc" / "e_mu").iterdir()) == chunks


def test_scan_refuses_a_folder_that_is_not_a_scan(cwd, capsys):
    _user_folder(cwd / "analysis")
    assert main(["scan", "--plane", "e-mu", *QUICK, "--out", "analysis"]) == 2
    _one_line_error(capsys, "not a cevns-scan scan folder")
    assert sorted(p.name for p in (cwd / "analysis").iterdir()) == ["sub", "thesis.tex"]


@pytest.mark.parametrize("argv", [
    ["rates", "--points", "3", "--out", "f.csv"],
    ["dataset", "from-digitized", "--points", "p.csv", "--upper", "u.csv", "--bin-width", "0.1",
     "--out", "f.csv"],
])
def test_single_files_are_not_overwritten_without_force(cwd, capsys, argv):
    (cwd / "p.csv").write_text("0.21,2.0\n0.31,1.5\n")
    (cwd / "u.csv").write_text("0.21,2.5\n0.31,1.9\n")
    (cwd / "f.csv").write_text("precious\n")
    assert main(argv) == 2
    _one_line_error(capsys, "--out f.csv", "--force")
    assert (cwd / "f.csv").read_text() == "precious\n"
    assert main([*argv, "--force"]) == 0
    assert "Tee_lo_keV" in (cwd / "f.csv").read_text() or "T_nr_keV" in (cwd / "f.csv").read_text()


@pytest.mark.slow
def test_figure2_and_plot_follow_the_policy(cwd, capsys):
    _user_folder(cwd / "figs")
    assert main(["figure2", "--out", "figs"]) == 2
    _one_line_error(capsys, "did not write")
    assert main(["plot", "figs"]) == 2
    _one_line_error(capsys, "not a cevns-scan results folder")
    assert main(["figure2", "--out", "f2"]) == 0
    assert main(["figure2", "--out", "f2"]) == 2
    assert main(["figure2", "--out", "f2", "--force"]) == 0
    assert sorted(p.name for p in (cwd / "f2").iterdir()) == [
        "fig2_rates.pdf", "fig2_rates.png", "run.json"]


def test_unwritable_and_empty_out_paths(cwd, capsys):
    for out in ("", "/proc/cevns-scan-test"):
        assert main(["rates", "--points", "3", "--out", out]) == 2
        _one_line_error(capsys, "--out")
        assert main([*REPRO, "--out", out]) == 2
        _one_line_error(capsys, "--out")
    assert main(["bench", "--quick", "--json", "/proc/cevns-scan-test/b.json"]) == 2
    _one_line_error(capsys, "--json")


@pytest.mark.slow
def test_legacy_result_without_file_list_is_recognised(cwd):
    """A results folder from cevns-scan 0.1.0 (run.json without 'files') can be replaced."""
    assert main([*REPRO, "--out", "old"]) == 0
    rec = json.loads((cwd / "old" / "run.json").read_text())
    del rec["files"]
    (cwd / "old" / "run.json").write_text(json.dumps(rec))
    (cwd / "old" / "mine.txt").write_text("keep\n")
    chi2 = load_map(cwd / "old" / "chi2_e_mu.npz")
    assert main([*REPRO, "--out", "old", "--force", "--plane", "e-mu"]) == 0
    assert (cwd / "old" / "mine.txt").read_text() == "keep\n"
    assert not (cwd / "old" / "chi2_e_tau.npz").exists()
    assert np.array_equal(load_map(cwd / "old" / "chi2_e_mu.npz"), chi2)
