"""The output policy: no command deletes or overwrites a file that cevns-scan did not write."""

import json
import os
from pathlib import Path

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


# -- single output files: only a file cevns-scan wrote (it carries the mark) is replaced ----------

FOREIGN = b"precious: the user's own file\n"
DIGITIZED = ["dataset", "from-digitized", "--points", "p.csv", "--upper", "u.csv",
             "--bin-width", "0.1"]
RELEASE = Path(__file__).resolve().parents[2] / "shared" / "xenonnt" / "cevns_data_release"

#: (id, argv without the output path, output option, output name, slow)
SINGLE_FILES = [
    ("rates", ["rates", "--points", "3"], "--out", "f.csv", False),
    ("probabilities-out", ["probabilities", "--energies", "1,5"], "--out", "f.csv", False),
    ("probabilities-plot", ["probabilities", "--energies", "1,5"], "--plot", "f.png", True),
    ("coverage-json", ["coverage", "--at", "e=0,mu=0", "--toys", "10", "--inner-toys", "10",
                       "--jobs", "1"], "--json", "f.json", True),
    ("dataset-from-digitized", DIGITIZED, "--out", "f.csv", False),
    ("dataset-import-xenonnt", ["dataset", "import-xenonnt", str(RELEASE)], "--out", "f.npz",
     True),
    ("bench-json", ["bench", "--quick", "--plot", "b.png"], "--json", "f.json", True),
    ("bench-plot", ["bench", "--quick", "--json", "b.json"], "--plot", "f.png", True),
]


@pytest.fixture
def inputs(cwd):
    (cwd / "p.csv").write_text("0.21,2.0\n0.31,1.5\n")
    (cwd / "u.csv").write_text("0.21,2.5\n0.31,1.9\n")
    return cwd


@pytest.fixture
def fast_bench(monkeypatch):
    """bench without its fresh-process compile timing (30 s); everything it writes is real."""
    from cevns_scan import bench

    monkeypatch.setattr(bench, "compile_times", lambda repeat: {
        kind: {"first_call_s": 1.0, "import_s": 1.0, "runs": 1} for kind in ("cold", "cached")})


def _needs(argv):
    if argv[:2] == ["dataset", "import-xenonnt"] and not RELEASE.is_dir():
        pytest.skip(f"the XENONnT release is not at {RELEASE}")


@pytest.mark.parametrize("argv,option,name", [
    pytest.param(a, o, n, id=i) for i, a, o, n, _ in SINGLE_FILES])
def test_a_foreign_file_survives_force(inputs, capsys, argv, option, name):
    """Refused before any work, with or without --force, and the file is untouched."""
    (inputs / name).write_bytes(FOREIGN)
    for extra in ([], ["--force"]):
        assert main([*argv, option, name, *extra]) == 2
        _one_line_error(capsys, f"{option} {name}", "not written by cevns-scan")
        assert (inputs / name).read_bytes() == FOREIGN
    assert sorted(p.name for p in inputs.iterdir()) == sorted(["p.csv", "u.csv", name])


@pytest.mark.parametrize("argv,option,name", [
    pytest.param(a, o, n, id=i, marks=[pytest.mark.slow] if slow else [])
    for i, a, o, n, slow in SINGLE_FILES])
def test_a_cevns_scan_file_is_replaced_only_with_force(inputs, capsys, fast_bench, argv, option,
                                                       name):
    from cevns_scan.provenance import carries_mark

    _needs(argv)
    assert main([*argv, option, name]) == 0
    path = inputs / name
    assert carries_mark(path)
    before = path.stat().st_ino, path.read_bytes()
    capsys.readouterr()
    assert main([*argv, option, name]) == 2
    _one_line_error(capsys, "file exists (written by cevns-scan)", "--force")
    assert (path.stat().st_ino, path.read_bytes()) == before
    assert main([*argv, option, name, "--force"]) == 0
    assert path.stat().st_ino != before[0] and carries_mark(path)  # a new file, renamed in
    assert not [p for p in inputs.iterdir() if p.name.startswith(".")]


def test_the_marks_of_every_kind_are_recognised(cwd):
    """The mark is in the content, not the name: a foreign file of each kind carries none."""
    import io

    from matplotlib.figure import Figure

    from cevns_scan.outputs import csv_bytes, json_bytes, npz_bytes
    from cevns_scan.provenance import carries_mark, figure_metadata

    fig = Figure()
    fig.subplots().plot([0, 1])
    files = {"a.csv": csv_bytes(["x"], [np.zeros(2)]), "a.json": json_bytes({"x": 1}),
             "a.npz": npz_bytes(x=np.zeros(2))}
    for fmt in ("png", "pdf"):
        for marked in (True, False):
            buf = io.BytesIO()
            fig.savefig(buf, format=fmt, metadata=figure_metadata(fmt) if marked else None)
            files[f"{'a' if marked else 'b'}.{fmt}"] = buf.getvalue()
    buf = io.BytesIO()
    np.savez(buf, x=np.zeros(2))
    files.update({"b.npz": buf.getvalue(), "b.csv": b"x\n0.0\n", "b.json": b'{"x": 1}\n',
                  "c.json": b'{"x": "_written_by cevns-scan"}\n', "c.csv": b"# data\n1\n",
                  "d.csv": b"", "e.csv": b"\x89PNG\r\n\x1a\n\x00\x00"})
    for name, data in files.items():
        (cwd / name).write_bytes(data)
        assert carries_mark(cwd / name) == name.startswith("a"), name
    (cwd / "dir").mkdir()
    assert not carries_mark(cwd / "dir") and not carries_mark(cwd / "missing.csv")
    # the shipped XENONnT file (written by cevns-scan before marks existed) is recognised
    from cevns_scan.tables import data_file

    assert carries_mark(data_file("xenonnt_8b.npz"))


def test_marked_files_still_read(cwd):
    """The readers of cevns-scan's own files skip or ignore the mark."""
    from cevns_scan.experiments.spectrum.datasets import load_dataset
    from cevns_scan.outputs import load_npz, npz_bytes

    (cwd / "p.csv").write_text("0.21,2.0\n0.31,1.5\n")
    (cwd / "u.csv").write_text("0.21,2.5\n0.31,1.9\n")
    assert main([*DIGITIZED, "--label", "x", "--out", "d.csv"]) == 0
    text = (cwd / "d.csv").read_text()
    assert text.startswith("# written by cevns-scan ")
    ds = load_dataset(cwd / "d.csv")
    assert ds.label == "x" and ds.rate.tolist() == [2.0, 1.5]
    assert "written" not in " ".join(ds.metadata)
    (cwd / "m.npz").write_bytes(npz_bytes(chi2=np.ones(3)))
    assert load_npz(cwd / "m.npz", "")["chi2"].tolist() == [1.0, 1.0, 1.0]


@pytest.mark.parametrize("out", ["p.csv", "./p.csv", "sub/../u.csv", "link.csv", "hard.csv"])
def test_an_output_that_is_an_input_is_refused_even_with_force(inputs, capsys, out):
    (inputs / "sub").mkdir()
    (inputs / "link.csv").symlink_to("p.csv")
    os.link(inputs / "u.csv", inputs / "hard.csv")
    before = {p.name: p.read_bytes() for p in inputs.iterdir() if p.is_file()}
    assert main([*DIGITIZED, "--out", out, "--force"]) == 2
    _one_line_error(capsys, "--out", "is the input")
    assert {p.name: p.read_bytes() for p in inputs.iterdir() if p.is_file()} == before


def test_an_output_that_is_the_config_is_refused(cwd, capsys):
    """The input check comes first: even a file cevns-scan wrote is not replaced if it is read."""
    assert main(["rates", "--points", "3", "--out", "r.csv"]) == 0
    assert main(["rates", "--points", "3", "--config", "r.csv", "--out", "./r.csv",
                 "--force"]) == 2
    _one_line_error(capsys, "--out r.csv", "is the input --config r.csv")


def test_two_outputs_of_one_command_must_differ(cwd, capsys):
    assert main(["probabilities", "--energies", "1", "--out", "x", "--plot", "./x"]) == 2
    _one_line_error(capsys, "--plot ./x", "is also --out x")
    assert not (cwd / "x").exists()


def test_over_long_paths_are_refused_before_any_work(cwd, capsys):
    long_name = "x" * 300 + ".csv"
    long_path = "a/" * 2100 + "f.csv"
    for argv in (["rates", "--points", "3", "--out", long_name],
                 ["rates", "--points", "3", "--out", long_path],
                 ["rates", "--points", "3", "--config", long_name],
                 ["reproduce", "--grid", "11", "--out", long_path],
                 ["reproduce", "--grid", "11", "--data", long_path, "--out", "r"],
                 ["scan", "--plane", "e-mu", "--out", long_name],
                 ["merge", long_path, "--out", "m"],
                 [*DIGITIZED[:3], long_name, *DIGITIZED[4:], "--out", "d.csv"]):
        assert main(argv) == 2, argv
        _one_line_error(capsys, "allows")
    assert list(cwd.iterdir()) == []


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


# -- results folders: foreign files survive --force, cevns-scan's own are replaced -----------------

FOLDER_COMMANDS = {
    "reproduce": [*REPRO, "--out", "res"],
    "figure2": ["figure2", "--out", "res"],
    "merge": ["merge", "sc", "--out", "res", "--no-figures"],
}


@pytest.mark.slow
@pytest.mark.parametrize("command", list(FOLDER_COMMANDS))
def test_results_folder_keeps_foreign_files_and_replaces_its_own(cwd, capsys, command):
    from cevns_scan.provenance import carries_mark

    if command == "merge":
        assert main(["scan", "--plane", "e-mu", *QUICK, "--out", "sc"]) == 0
    argv = FOLDER_COMMANDS[command]
    assert main(argv) == 0
    res = cwd / "res"
    files = json.loads((res / "run.json").read_text())["files"]
    assert all(carries_mark(res / f) for f in files), [f for f in files
                                                       if not carries_mark(res / f)]
    (res / "thesis.tex").write_bytes(FOREIGN)
    inodes = {f: (res / f).stat().st_ino for f in files}
    assert main([*argv, "--force"]) == 0
    assert (res / "thesis.tex").read_bytes() == FOREIGN
    assert all((res / f).stat().st_ino != inodes[f] for f in files)  # each one replaced
    assert all(carries_mark(res / f) for f in files)


@pytest.mark.slow
def test_plot_replaces_its_figures_and_never_yours(cwd, capsys):
    assert main([*REPRO, "--out", "res"]) == 0
    res = cwd / "res"
    (res / "thesis.tex").write_bytes(FOREIGN)
    assert main(["plot", "res"]) == 0
    ino = (res / "fig3_contours.png").stat().st_ino
    assert main(["plot", "res"]) == 0
    assert (res / "fig3_contours.png").stat().st_ino != ino
    assert (res / "thesis.tex").read_bytes() == FOREIGN
    (res / "fig3_contours.pdf").write_bytes(b"%PDF-1.4 my edited figure\n")  # edited by you
    capsys.readouterr()
    assert main(["plot", "res"]) == 2
    _one_line_error(capsys, "fig3_contours.pdf", "mark")
    assert (res / "fig3_contours.pdf").read_bytes() == b"%PDF-1.4 my edited figure\n"


@pytest.mark.slow
def test_a_result_file_you_changed_is_never_replaced(cwd, capsys):
    assert main([*REPRO, "--out", "res"]) == 0
    res = cwd / "res"
    mine = b'{"my": "own limits"}\n'
    (res / "limits.json").write_bytes(mine)  # same name, your content (no mark)
    before = {p.name: p.read_bytes() for p in res.iterdir()}
    capsys.readouterr()
    assert main([*REPRO, "--out", "res", "--force"]) == 2
    _one_line_error(capsys, "--out res", "limits.json", "move it out")
    assert {p.name: p.read_bytes() for p in res.iterdir()} == before
    # a file of yours with the name of an output this run adds (figures after --no-figures)
    (res / "limits.json").unlink()
    assert main([*REPRO, "--out", "res", "--force"]) == 0
    (res / "fig2_rates.pdf").write_bytes(b"%PDF-1.4 yours\n")
    capsys.readouterr()
    assert main(["reproduce", *QUICK, "--out", "res", "--force"]) == 2
    _one_line_error(capsys, "fig2_rates.pdf")
    assert (res / "fig2_rates.pdf").read_bytes() == b"%PDF-1.4 yours\n"
    assert not [p for p in res.iterdir() if p.name.startswith(".")]


def test_an_input_that_is_a_file_of_the_replaced_result_is_refused(cwd, capsys):
    (cwd / "res").mkdir()
    (cwd / "res" / "run.json").write_text(json.dumps(
        {"command": ["cevns-scan", "reproduce"], "files": ["run.json", "d.csv"]}))
    (cwd / "res" / "d.csv").write_text("Tee_lo_keV,Tee_hi_keV,rate,sigma\n0.16,0.26,5,1\n")
    assert main([*REPRO, "--data", "res/d.csv", "--out", "res", "--force"]) == 2
    _one_line_error(capsys, "d.csv", "is the input --data res/d.csv")
    assert (cwd / "res" / "d.csv").is_file()


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
    del rec["files"], rec["_written_by"]  # and its files carry no mark, as then
    (cwd / "old" / "run.json").write_text(json.dumps(rec))
    lim = json.loads((cwd / "old" / "limits.json").read_text())
    del lim["_written_by"]
    (cwd / "old" / "limits.json").write_text(json.dumps(lim))
    (cwd / "old" / "mine.txt").write_text("keep\n")
    chi2 = load_map(cwd / "old" / "chi2_e_mu.npz")
    assert main([*REPRO, "--out", "old", "--force", "--plane", "e-mu"]) == 0
    assert (cwd / "old" / "mine.txt").read_text() == "keep\n"
    assert not (cwd / "old" / "chi2_e_tau.npz").exists()
    assert np.array_equal(load_map(cwd / "old" / "chi2_e_mu.npz"), chi2)
    assert "_written_by" in json.loads((cwd / "old" / "limits.json").read_text())
