"""scanner/outputs.py: the output policy. No command deletes or overwrites a file that
cevns-scan did not write; an output is never an input; paths are checked before any work."""

import json
import os
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error, load_map

from cevns_scan.cli import main

QUICK = ["--grid", "11", "--quiet"]
REPRO = ["reproduce", *QUICK, "--no-figures"]


def _user_folder(path):
    (path / "sub").mkdir(parents=True)
    (path / "thesis.tex").write_text("my thesis\n")
    (path / "sub" / "notes.txt").write_text("notes\n")


def _user_files_intact(path):
    return ((path / "thesis.tex").read_text() == "my thesis\n"
            and (path / "sub" / "notes.txt").read_text() == "notes\n")


def test_reproduce_refuses_a_folder_of_user_files(in_tmp, cli):
    _user_folder(in_tmp / "analysis")
    for extra in ([], ["--force"]):  # --force does not help: these are not cevns-scan's files
        assert_one_line_error(cli(*REPRO, "--out", "analysis", *extra),
                              "--out analysis", "did not write")
        assert _user_files_intact(in_tmp / "analysis")
        assert sorted(p.name for p in (in_tmp / "analysis").iterdir()) == ["sub", "thesis.tex"]


def test_reproduce_refuses_the_working_directory(in_tmp, cli):
    _user_folder(in_tmp)
    assert_one_line_error(cli(*REPRO, "--out", str(in_tmp), "--force"), "did not write")
    assert _user_files_intact(in_tmp)
    assert sorted(p.name for p in in_tmp.iterdir()) == ["sub", "thesis.tex"]


@pytest.mark.slow
def test_replacing_a_result_needs_force_and_keeps_other_files(in_tmp, cli):
    assert main([*REPRO, "--out", "res"]) == 0
    files = json.loads((in_tmp / "res" / "run.json").read_text())["files"]
    assert "chi2_e_tau.npz" in files and "run.json" in files
    (in_tmp / "res" / "thesis.tex").write_text("my thesis\n")
    before = (in_tmp / "res" / "limits.json").read_bytes()
    assert_one_line_error(cli(*REPRO, "--out", "res"), "earlier cevns-scan result", "--force")
    assert (in_tmp / "res" / "limits.json").read_bytes() == before
    # with --force, one plane only: the old e_tau map (cevns-scan's own) goes, the thesis stays
    assert main([*REPRO, "--out", "res", "--force", "--plane", "e-mu"]) == 0
    names = sorted(p.name for p in (in_tmp / "res").iterdir())
    assert "thesis.tex" in names and "chi2_e_tau.npz" not in names and "chi2_e_mu.npz" in names
    assert (in_tmp / "res" / "thesis.tex").read_text() == "my thesis\n"
    assert not [n for n in names if n.startswith(".")]


@pytest.mark.slow
def test_empty_existing_folder_is_used(in_tmp):
    (in_tmp / "empty").mkdir()
    assert main([*REPRO, "--out", "empty"]) == 0
    assert (in_tmp / "empty" / "run.json").is_file()
    assert not [p for p in (in_tmp / "empty").iterdir() if p.name.startswith(".")]


def test_merge_into_the_scan_folder_is_refused(in_tmp, cli):
    assert main(["scan", "--plane", "e-mu", *QUICK, "--out", "sc"]) == 0
    chunks = sorted((in_tmp / "sc" / "e_mu").iterdir())
    for out in ("sc", "sc/inside", "."):
        assert_one_line_error(cli("merge", "sc", "--out", out, "--force"),
                              f"--out {out}", "scan folder")
    assert sorted((in_tmp / "sc" / "e_mu").iterdir()) == chunks


def test_scan_refuses_a_folder_that_is_not_a_scan(in_tmp, cli):
    _user_folder(in_tmp / "analysis")
    assert_one_line_error(cli("scan", "--plane", "e-mu", *QUICK, "--out", "analysis"),
                          "not a cevns-scan scan folder")
    assert sorted(p.name for p in (in_tmp / "analysis").iterdir()) == ["sub", "thesis.tex"]


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
def inputs(in_tmp):
    (in_tmp / "p.csv").write_text("0.21,2.0\n0.31,1.5\n")
    (in_tmp / "u.csv").write_text("0.21,2.5\n0.31,1.9\n")
    return in_tmp


@pytest.fixture
def fast_commands(monkeypatch):
    """The commands' outputs without their costly measurements, which these tests do not look
    at (each command is run end to end elsewhere: tests/test_repo_root.py runs ``bench --quick``,
    tests/test_xenonnt_release.py the release import): ``bench`` with stand-in timings (its
    fresh-process compile timing alone takes 30 s), and ``dataset import-xenonnt`` reading the
    release once for the three runs of a test (8 s each). What they write goes through the
    output policy as ever."""
    from cevns_scan import bench
    from cevns_scan.experiments.xenonnt import release

    monkeypatch.setattr(bench, "compile_times", lambda repeat: {
        kind: {"first_call_s": 1.0, "import_s": 1.0, "runs": 1} for kind in ("cold", "cached")})
    monkeypatch.setattr(bench, "scan_throughput", lambda statistic, grid, jobs, repeat,
                        chunk_points, backend="threading": {
                            "grid": grid, "points": grid * grid, "jobs": jobs,
                            "backend": backend, "seconds": 1e-6 * grid * grid / jobs,
                            "points_per_s": 1e6 * jobs, "chunks": 1})
    monkeypatch.setattr(bench, "kind_benches", lambda quick, repeat, log: {})
    monkeypatch.setattr(bench, "builtin_toys", lambda quick, workers, log: ({}, {}, {}))
    imported = {}
    real_import = release.import_release

    def import_once(root):
        if root not in imported:
            imported[root] = real_import(root)
        return imported[root]

    monkeypatch.setattr(release, "import_release", import_once)


def _needs(argv):
    if argv[:2] == ["dataset", "import-xenonnt"] and not RELEASE.is_dir():
        pytest.skip(f"the XENONnT release is not at {RELEASE}")


@pytest.mark.parametrize("argv,option,name", [
    pytest.param(a, o, n, id=i) for i, a, o, n, _ in SINGLE_FILES])
def test_a_foreign_file_survives_force(inputs, cli, argv, option, name):
    """Refused before any work, with or without --force, and the file is untouched."""
    (inputs / name).write_bytes(FOREIGN)
    for extra in ([], ["--force"]):
        assert_one_line_error(cli(*argv, option, name, *extra),
                              f"{option} {name}", "not written by cevns-scan")
        assert (inputs / name).read_bytes() == FOREIGN
    assert sorted(p.name for p in inputs.iterdir()) == sorted(["p.csv", "u.csv", name])


@pytest.mark.parametrize("argv,option,name", [
    pytest.param(a, o, n, id=i, marks=[pytest.mark.slow] if slow else [])
    for i, a, o, n, slow in SINGLE_FILES])
def test_a_cevns_scan_file_is_replaced_only_with_force(inputs, cli, fast_commands, argv,
                                                       option, name):
    from cevns_scan.provenance import carries_mark

    _needs(argv)
    assert main([*argv, option, name]) == 0
    path = inputs / name
    assert carries_mark(path)
    before = path.stat().st_ino, path.read_bytes()
    assert_one_line_error(cli(*argv, option, name),
                          "file exists (written by cevns-scan)", "--force")
    assert (path.stat().st_ino, path.read_bytes()) == before
    assert main([*argv, option, name, "--force"]) == 0
    assert path.stat().st_ino != before[0] and carries_mark(path)  # a new file, renamed in
    assert not [p for p in inputs.iterdir() if p.name.startswith(".")]


@pytest.mark.parametrize("out", ["p.csv", "./p.csv", "sub/../u.csv", "link.csv", "hard.csv"])
def test_an_output_that_is_an_input_is_refused_even_with_force(inputs, cli, out):
    (inputs / "sub").mkdir()
    (inputs / "link.csv").symlink_to("p.csv")
    os.link(inputs / "u.csv", inputs / "hard.csv")
    before = {p.name: p.read_bytes() for p in inputs.iterdir() if p.is_file()}
    assert_one_line_error(cli(*DIGITIZED, "--out", out, "--force"), "--out", "is the input")
    assert {p.name: p.read_bytes() for p in inputs.iterdir() if p.is_file()} == before


def test_an_output_that_is_the_config_is_refused(in_tmp, cli):
    """The input check comes first: even a file cevns-scan wrote is not replaced if it is read."""
    assert main(["rates", "--points", "3", "--out", "r.csv"]) == 0
    assert_one_line_error(cli("rates", "--points", "3", "--config", "r.csv", "--out", "./r.csv",
                              "--force"), "--out r.csv", "is the input --config r.csv")


def test_two_outputs_of_one_command_must_differ(in_tmp, cli):
    assert_one_line_error(cli("probabilities", "--energies", "1", "--out", "x", "--plot", "./x"),
                          "--plot ./x", "is also --out x")
    assert not (in_tmp / "x").exists()


def test_over_long_paths_are_refused_before_any_work(in_tmp, cli):
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
        assert_one_line_error(cli(*argv), "allows")
    assert list(in_tmp.iterdir()) == []


@pytest.mark.slow
def test_figure2_and_plot_follow_the_policy(in_tmp, cli):
    _user_folder(in_tmp / "figs")
    assert_one_line_error(cli("figure2", "--out", "figs"), "did not write")
    assert_one_line_error(cli("plot", "figs"), "not a cevns-scan results folder")
    assert main(["figure2", "--out", "f2"]) == 0
    assert_one_line_error(cli("figure2", "--out", "f2"), "--out f2", "add --force")
    assert main(["figure2", "--out", "f2", "--force"]) == 0
    assert sorted(p.name for p in (in_tmp / "f2").iterdir()) == [
        "fig2_rates.pdf", "fig2_rates.png", "run.json"]


# -- results folders: foreign files survive --force, cevns-scan's own are replaced -----------------

FOLDER_COMMANDS = {
    "reproduce": [*REPRO, "--out", "res"],
    "figure2": ["figure2", "--out", "res"],
    "merge": ["merge", "sc", "--out", "res", "--no-figures"],
}


@pytest.mark.slow
@pytest.mark.parametrize("command", list(FOLDER_COMMANDS))
def test_results_folder_keeps_foreign_files_and_replaces_its_own(in_tmp, command):
    from cevns_scan.provenance import carries_mark

    if command == "merge":
        assert main(["scan", "--plane", "e-mu", *QUICK, "--out", "sc"]) == 0
    argv = FOLDER_COMMANDS[command]
    assert main(argv) == 0
    res = in_tmp / "res"
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
def test_plot_replaces_its_figures_and_never_yours(in_tmp, cli):
    assert main([*REPRO, "--out", "res"]) == 0
    res = in_tmp / "res"
    (res / "thesis.tex").write_bytes(FOREIGN)
    assert main(["plot", "res"]) == 0
    ino = (res / "fig3_contours.png").stat().st_ino
    assert main(["plot", "res"]) == 0
    assert (res / "fig3_contours.png").stat().st_ino != ino
    assert (res / "thesis.tex").read_bytes() == FOREIGN
    (res / "fig3_contours.pdf").write_bytes(b"%PDF-1.4 my edited figure\n")  # edited by you
    assert_one_line_error(cli("plot", "res"), "fig3_contours.pdf", "mark")
    assert (res / "fig3_contours.pdf").read_bytes() == b"%PDF-1.4 my edited figure\n"


@pytest.mark.slow
def test_a_result_file_you_changed_is_never_replaced(in_tmp, cli):
    assert main([*REPRO, "--out", "res"]) == 0
    res = in_tmp / "res"
    mine = b'{"my": "own limits"}\n'
    (res / "limits.json").write_bytes(mine)  # same name, your content (no mark)
    before = {p.name: p.read_bytes() for p in res.iterdir()}
    assert_one_line_error(cli(*REPRO, "--out", "res", "--force"),
                          "--out res", "limits.json", "move it out")
    assert {p.name: p.read_bytes() for p in res.iterdir()} == before
    # a file of yours with the name of an output this run adds (figures after --no-figures)
    (res / "limits.json").unlink()
    assert main([*REPRO, "--out", "res", "--force"]) == 0
    (res / "fig2_rates.pdf").write_bytes(b"%PDF-1.4 yours\n")
    assert_one_line_error(cli("reproduce", *QUICK, "--out", "res", "--force"), "fig2_rates.pdf")
    assert (res / "fig2_rates.pdf").read_bytes() == b"%PDF-1.4 yours\n"
    assert not [p for p in res.iterdir() if p.name.startswith(".")]


def test_an_input_that_is_a_file_of_the_replaced_result_is_refused(in_tmp, cli):
    (in_tmp / "res").mkdir()
    (in_tmp / "res" / "run.json").write_text(json.dumps(
        {"command": ["cevns-scan", "reproduce"], "files": ["run.json", "d.csv"]}))
    (in_tmp / "res" / "d.csv").write_text("Tee_lo_keV,Tee_hi_keV,rate,sigma\n0.16,0.26,5,1\n")
    assert_one_line_error(cli(*REPRO, "--data", "res/d.csv", "--out", "res", "--force"),
                          "d.csv", "is the input --data res/d.csv")
    assert (in_tmp / "res" / "d.csv").is_file()


def test_unwritable_and_empty_out_paths(in_tmp, cli):
    for out in ("", "/proc/cevns-scan-test"):
        assert_one_line_error(cli("rates", "--points", "3", "--out", out), "--out")
        assert_one_line_error(cli(*REPRO, "--out", out), "--out")
    assert_one_line_error(cli("bench", "--quick", "--json", "/proc/cevns-scan-test/b.json"),
                          "--json")


@pytest.mark.slow
def test_legacy_result_without_file_list_is_recognised(in_tmp):
    """A results folder from cevns-scan 0.1.0 (run.json without 'files') can be replaced."""
    assert main([*REPRO, "--out", "old"]) == 0
    rec = json.loads((in_tmp / "old" / "run.json").read_text())
    del rec["files"], rec["_written_by"]  # and its files carry no mark, as then
    (in_tmp / "old" / "run.json").write_text(json.dumps(rec))
    lim = json.loads((in_tmp / "old" / "limits.json").read_text())
    del lim["_written_by"]
    (in_tmp / "old" / "limits.json").write_text(json.dumps(lim))
    (in_tmp / "old" / "mine.txt").write_text("keep\n")
    chi2 = load_map(in_tmp / "old" / "chi2_e_mu.npz")
    assert main([*REPRO, "--out", "old", "--force", "--plane", "e-mu"]) == 0
    assert (in_tmp / "old" / "mine.txt").read_text() == "keep\n"
    assert not (in_tmp / "old" / "chi2_e_tau.npz").exists()
    assert np.array_equal(load_map(in_tmp / "old" / "chi2_e_mu.npz"), chi2)
    assert "_written_by" in json.loads((in_tmp / "old" / "limits.json").read_text())


@pytest.mark.parametrize("argv", [
    ["figure2", "--out", "/proc/cevns-scan-x"],
    ["rates", "--points", "2", "--out", "/proc/cevns-scan-x/r.csv"],
    ["dataset", "from-digitized", "--points", "p.csv", "--upper", "p.csv", "--bin-width", "0.1",
     "--out", "/proc/cevns-scan-x/d.csv"],
])
def test_unwritable_targets_fail_before_work(in_tmp, cli, argv):
    (in_tmp / "p.csv").write_text("0.21,2.0\n")
    assert_one_line_error(cli(*argv), "cannot write")
