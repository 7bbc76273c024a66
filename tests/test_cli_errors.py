"""Bad input through the command line: one-line error, exit code 2, no traceback, no output.

Every case runs the command line in-process (``cevns_scan.cli.main(argv)``) in a fresh
temporary folder holding only the input files that the case writes (a few also as a real
``python -m cevns_scan`` process), and checks that

* the exit code is 2,
* stderr is exactly one line, starting with ``cevns-scan: error:``,
* no traceback is printed (stdout or stderr),
* the message names the offending item (file and line, config key, or option),
* nothing was written: the folder holds no new entries (hidden temporary folders such as
  ``.paper.tmp-*`` included) and its files are unchanged

(``helpers.assert_one_line_error``, the one check of every command-line error in the tests).
"""

from __future__ import annotations

from pathlib import Path

import pytest
from helpers import FolderState, assert_one_line_error, run_cli

# -- inputs ---------------------------------------------------------------------------------------

UNITS = "# units: events/(keV_ee kg day)"
HEADER = "Tee_lo_keV,Tee_hi_keV,rate,sigma"
ROW1 = "0.16,0.26,5.0,0.5"  # line 4 of a dataset made by _ds()
ROW2 = "0.26,0.36,4.0,0.4"  # line 5
ROW3 = "0.36,0.46,3.0,0.3"  # line 6


def _ds(*rows: str, header: str = HEADER, units: str = UNITS) -> str:
    """A dataset CSV: label line 1, units line 2, header line 3, rows from line 4."""
    return "\n".join(["# label: test", units, header, *rows]) + "\n"


# Fast argv, so that a case which wrongly succeeds does not take long. Config files are fed
# mostly through `rates` (same loader and validation as `reproduce`, a much lighter import).
REPRO = ["reproduce", "--grid", "11", "--quiet", "--out", "out"]
REPRO_CFG = ["reproduce", "--config", "c.toml", "--grid", "11", "--quiet", "--out", "out"]
REPRO_DATA = ["reproduce", "--data", "d.csv", "--grid", "11", "--quiet", "--out", "out"]
RATES_CFG = ["rates", "--config", "c.toml", "--points", "5", "--out", "r.csv"]
SCAN = ["scan", "--plane", "e-mu", "--grid", "11", "--quiet", "--out", "ck"]


def _cfg(text: str) -> dict[str, str]:
    return {"c.toml": text}


def _data(text: str) -> dict[str, str]:
    return {"d.csv": text}


# (id, argv, files to create (name -> text; a name ending in '/' is a folder), expected substrings)
CASES = [
    # -- configuration (TOML) ------------------------------------------------------------------
    ("cfg-unknown-key-suggestion", REPRO_CFG, _cfg("[scan]\ngird = 11\n"),
     ["c.toml", "'gird'", "did you mean 'grid'"]),
    ("cfg-unknown-key-fit", RATES_CFG, _cfg("[fit]\nbackgroud = 'free'\n"),
     ["c.toml", "'backgroud'", "did you mean 'background'"]),
    ("cfg-unknown-section", RATES_CFG, _cfg("[scna]\ngrid = 11\n"),
     ["c.toml", "[scna]", "did you mean 'scan'"]),
    ("cfg-section-not-table", RATES_CFG, _cfg("scan = 5\n"),
     ["c.toml", "[scan]", "table"]),
    ("cfg-grid-wrong-type", RATES_CFG, _cfg('[scan]\ngrid = "ten"\n'),
     ["c.toml", "[scan] grid", "'ten'", "integer"]),
    ("cfg-grid-1", RATES_CFG, _cfg("[scan]\ngrid = 1\n"),
     ["c.toml", "[scan] grid = 1", ">= 2"]),
    ("cfg-cl-1.5", RATES_CFG, _cfg("[fit]\ncl = 1.5\n"),
     ["c.toml", "[fit] cl = 1.5", "(0, 1)"]),
    ("cfg-cl-0", RATES_CFG, _cfg("[fit]\ncl = 0.0\n"),
     ["c.toml", "[fit] cl = 0", "(0, 1)"]),
    ("cfg-sigma-negative", RATES_CFG, _cfg("[fluxes.sigma]\n8B = -0.1\n"),
     ["c.toml", "[fluxes.sigma] 8B", "-0.1"]),
    ("cfg-sigma-unknown-component", RATES_CFG, _cfg("[fluxes.sigma]\nB9 = 0.1\n"),
     ["c.toml", "[fluxes.sigma] B9"]),
    ("cfg-mu-max-negative", RATES_CFG, _cfg("[scan]\nmu_max_e = -1e-9\n"),
     ["c.toml", "[scan] mu_max_e", "-1e-09"]),
    ("cfg-invalid-toml", RATES_CFG, _cfg("[scan\ngrid = 11\n"),
     ["c.toml", "TOML"]),
    ("cfg-missing-file", ["rates", "--config", "nope.toml", "--points", "5", "--out", "r.csv"],
     {},
     ["nope.toml", "not found"]),
    ("cfg-is-folder", ["rates", "--config", "cfgdir", "--points", "5", "--out", "r.csv"],
     {"cfgdir/": ""},
     ["cfgdir", "folder"]),
    ("cfg-unknown-target", RATES_CFG, _cfg('[target]\nname = "Xx"\n'),
     ["c.toml", "[target] name", "'Xx'", "z and molar_mass"]),
    ("cfg-target-z-contradicts", RATES_CFG, _cfg('[target]\nname = "Xe"\nz = 18\n'),
     ["c.toml", "[target] z = 18", "Xe"]),
    ("cfg-unknown-flux-model", RATES_CFG, _cfg('[fluxes]\nmodel = "BS05"\n'),
     ["c.toml", "[fluxes] model", "'BS05'"]),
    ("cfg-bad-components", RATES_CFG, _cfg('[fluxes]\ncomponents = ["pp", "9Be"]\n'),
     ["c.toml", "[fluxes] components"]),
    ("cfg-bad-plane", RATES_CFG, _cfg('[scan]\nplanes = ["e-e"]\n'),
     ["c.toml", "[scan] planes", "'e-e'"]),
    # -- datasets --------------------------------------------------------------------------------
    ("ds-missing-file", ["reproduce", "--data", "nope.csv", "--grid", "11", "--quiet",
                         "--out", "out"], {},
     ["nope.csv", "no such file"]),
    ("ds-missing-column", REPRO_DATA,
     _data(_ds("0.16,0.26,5.0", header="Tee_lo_keV,Tee_hi_keV,rate")),
     ["d.csv line 3", "sigma"]),
    ("ds-semicolons", REPRO_DATA,
     _data(_ds(ROW1.replace(",", ";"), ROW2.replace(",", ";"), header=HEADER.replace(",", ";"))),
     ["d.csv line 3", "','"]),
    ("ds-nan", REPRO_DATA, _data(_ds(ROW1, "0.26,0.36,nan,0.4", ROW3)),
     ["d.csv line 5", "rate"]),
    ("ds-inf", REPRO_DATA, _data(_ds(ROW1, "0.26,0.36,4.0,inf", ROW3)),
     ["d.csv line 5", "sigma"]),
    ("ds-sigma-zero", REPRO_DATA, _data(_ds(ROW1, "0.26,0.36,4.0,0", ROW3)),
     ["d.csv line 5", "sigma = 0"]),
    ("ds-sigma-negative", REPRO_DATA, _data(_ds(ROW1, "0.26,0.36,4.0,-0.4", ROW3)),
     ["d.csv line 5", "sigma = -0.4"]),
    ("ds-overlap", REPRO_DATA, _data(_ds(ROW1, "0.20,0.36,4.0,0.4", ROW3)),
     ["d.csv line 5", "overlap"]),
    ("ds-unsorted", REPRO_DATA, _data(_ds(ROW2, ROW1, ROW3)),
     ["d.csv line 5", "sort"]),
    ("ds-empty-file", REPRO_DATA, _data(""),
     ["d.csv", "empty"]),
    ("ds-header-only", REPRO_DATA, _data(_ds()),
     ["d.csv", "no data rows"]),
    ("ds-non-numeric", REPRO_DATA, _data(_ds(ROW1, "0.26,0.36,abc,0.4", ROW3)),
     ["d.csv line 5", "'abc'"]),
    ("ds-wrong-units", REPRO_DATA,
     _data(_ds(ROW1, ROW2, units="# units: events/(keV_nr ton yr)")),
     ["d.csv", "keV_nr ton yr"]),
    ("ds-too-many-fields", REPRO_DATA, _data(_ds(ROW1, "0.26,0.36,4.0,0.4,9", ROW3)),
     ["d.csv line 5", "5 fields"]),
    # -- command-line arguments -----------------------------------------------------------------
    ("cli-no-command", [], {}, ["give a command"]),
    ("cli-unknown-option", [*REPRO, "--bogus"], {}, ["--bogus"]),
    ("cli-shard-0of2", [*SCAN, "--shard", "0/2"], {}, ["--shard '0/2'"]),
    ("cli-shard-3of2", [*SCAN, "--shard", "3/2"], {}, ["--shard '3/2'"]),
    ("cli-shard-letters", [*SCAN, "--shard", "a/b"], {}, ["--shard 'a/b'"]),
    ("cli-grid-0", ["reproduce", "--grid", "0", "--quiet", "--out", "out"], {}, ["--grid 0"]),
    ("cli-grid-text", ["reproduce", "--grid", "ten", "--quiet", "--out", "out"], {},
     ["--grid 'ten'"]),
    ("cli-jobs-0", [*REPRO, "--jobs", "0"], {}, ["--jobs 0"]),
    ("cli-mu-max-flavour", [*REPRO, "--mu-max", "x=1e-9"], {}, ["--mu-max 'x=1e-9'"]),
    ("cli-mu-max-zero", [*REPRO, "--mu-max", "e=0"], {}, ["--mu-max", "> 0"]),
    ("cli-out-inside-file", ["reproduce", "--grid", "11", "--quiet", "--out", "somefile.txt/sub"],
     {"somefile.txt": "not a folder\n"}, ["--out somefile.txt/sub", "somefile.txt"]),
    ("cli-unknown-backend", [*REPRO, "--backend", "spark"], {}, ["--backend 'spark'"]),
    ("cli-overlay-no-equals", [*REPRO, "--overlay", "poly.csv"], {"poly.csv": "x,y\n1,1\n"},
     ["--overlay 'poly.csv'", "LABEL=FILE.csv"]),
    ("rates-tnr-max-below-min", ["rates", "--tnr-min", "5", "--tnr-max", "1", "--points", "5",
                                 "--out", "r.csv"],
     {}, ["--tnr-max 1", "--tnr-min 5"]),
    ("rates-negative-mu", ["rates", "--mu=-1e-9", "--points", "5", "--out", "r.csv"], {},
     ["--mu -1e-09", ">= 0"]),
    ("rates-negative-mu-separate", ["rates", "--mu", "1e-9", "-2e-10", "--points", "5", "--out",
                                    "r.csv"], {}, ["--mu -2e-10", ">= 0"]),
    ("rates-unknown-target", ["rates", "--target", "Foo", "--points", "5", "--out", "r.csv"], {},
     ["--target 'Foo'"]),
    ("rates-unknown-flux", ["rates", "--flux", "8B,9Be", "--points", "5", "--out", "r.csv"], {},
     ["9Be"]),
    ("rates-out-is-folder", ["rates", "--out", "rdir"], {"rdir/": ""},
     ["--out rdir", "folder"]),
    ("merge-not-a-scan", ["merge", "notascan", "--out", "merged"],
     {"notascan/": "", "notascan/readme.txt": "hello\n"},
     ["notascan", "no scan"]),
    # -- checked before any work (the issue "no file lost, no unit slip, no hang") ----------------
    ("cli-seed-negative", ["neyman", "--plane", "e-mu", "--grid", "11", "--toys", "10",
                           "--seed", "-1", "--quiet", "--out", "ck"], {}, ["--seed -1", "2**63"]),
    ("cli-seed-too-large", ["neyman", "--plane", "e-mu", "--grid", "11", "--toys", "10",
                            "--seed", str(2 ** 64), "--quiet", "--out", "ck"], {},
     [f"--seed {2 ** 64}", "2**63 - 1"]),
    ("reproduce-seed-too-large", [*REPRO, "--toys", "10", "--seed", str(2 ** 63)], {},
     [f"--seed {2 ** 63}"]),
    ("coverage-seed-negative", ["coverage", "--toys", "10", "--seed=-5"], {}, ["--seed -5"]),
    ("reproduce-grid-beyond-memory", ["reproduce", "--grid", "100000", "--quiet", "--out",
                                      "out"], {},  # 2 planes x 74.5 GiB maps x 6 copies
     ["--grid 100000", "GiB of memory", "shards", "smaller grid"]),
    ("scan-scheduler-malformed", [*SCAN, "--backend", "dask", "--scheduler",
                                  "tcp://host:notaport"], {},
     ["--scheduler 'tcp://host:notaport'", "SCHEME://HOST:PORT"]),
    ("scan-scheduler-port-0", [*SCAN, "--backend", "dask", "--scheduler", "tcp://host:0"], {},
     ["--scheduler 'tcp://host:0'"]),
    ("reproduce-scheduler-http", [*REPRO, "--backend", "dask", "--scheduler",
                                  "http://host:8787/status"], {},
     ["--scheduler 'http://host:8787/status'"]),
    ("scan-connect-timeout-0", [*SCAN, "--connect-timeout", "0"], {}, ["--connect-timeout 0"]),
    ("merge-plane-folder", ["merge", "sc/e_mu", "--out", "merged"],
     {"sc/e_mu/manifest.json": "{}\n"},
     ["sc/e_mu: is the folder of plane e_mu", "merge the scan folder sc"]),
    ("digitized-bin-width-0", ["dataset", "from-digitized", "--points", "p.csv",
                               "--upper", "u.csv", "--bin-width", "0", "--out", "dd.csv"],
     {"p.csv": "0.2,5\n0.3,4\n", "u.csv": "0.2,6\n0.3,5\n"}, ["--bin-width 0"]),
    # -- unit slips: each physical key has a plausible range in its unit (issue 18, item 2) ---
    ("cfg-sno-flux-without-1e6", RATES_CFG, _cfg("[xenonnt]\nsno_flux = 5.25\n"),
     ["c.toml", "[xenonnt] sno_flux = 5.25", "cm^-2 s^-1", "[5.25e5, 5.25e7]"]),
    ("cfg-sigma-in-percent", RATES_CFG, _cfg("[fluxes.sigma]\n8B = 12\n"),
     ["c.toml", "[fluxes.sigma] 8B = 12", "[0, 1]", "0.12 = 12 %"]),
    ("cfg-molar-mass-decade", RATES_CFG, _cfg("[target]\nmolar_mass = 7.263\n"),
     ["c.toml", "[target] molar_mass = 7.263", "Ge", "g/mol", "[67.92, 77.92]"]),
    ("cfg-lindhard-k-percent", RATES_CFG, _cfg("[spectrum]\nquenching_k = 16.2\n"),
     ["c.toml", "[spectrum] quenching_k = 16.2", "[0.05, 0.5]", "dimensionless"]),
    ("cfg-dm2-without-1e-5", RATES_CFG, _cfg("[oscillation]\ndm2_21_ev2 = 7.5\n"),
     ["c.toml", "[oscillation] dm2_21_ev2 = 7.5", "eV^2", "[7.5e-6, 7.5e-4]"]),
    ("cfg-sigma-ac-percent", RATES_CFG, _cfg("[xenonnt]\nsigma_ac = [9.04, 5.76, 5.76]\n"),
     ["c.toml", "[xenonnt] sigma_ac", "(0, 1]"]),
    ("cli-mu-max-forgotten-exponent", [*REPRO, "--mu-max", "e=1"], {},
     ["--mu-max 'e=1'", "(0, 1e-4] mu_B"]),
    ("cli-rates-mu-forgotten-exponent", ["rates", "--mu", "1", "--points", "5", "--out",
                                         "r.csv"], {}, ["--mu 1", "[0, 1e-4] mu_B"]),
    ("cli-coverage-at-forgotten-exponent", ["coverage", "--at", "e=2", "--toys", "10",
                                            "--inner-toys", "10"], {},
     ["--at 'e=2'", "mu_e = 2", "[0, 1e-4] mu_B"]),
    ("cli-coverage-at-far-outside", ["coverage", "--at", "e=1e-5", "--toys", "10",
                                     "--inner-toys", "10"], {},
     ["--at 'e=1e-5'", "times the 90 % CL on-axis crossing", "mu_B"]),
    # -- one stated minimum per option, messages that name the real problem (item 4) ------
    ("cli-grid-1", ["reproduce", "--grid", "1", "--quiet", "--out", "out"], {},
     ["--grid 1 must be >= 2 points per axis"]),
    ("cli-toys-below-minimum", [*REPRO, "--toys", "5"], {},
     ["--toys 5 must be >= 10 pseudo-experiments"]),
    ("cli-neyman-toys-below-minimum", ["neyman", "--plane", "e-mu", "--grid", "5", "--toys", "9",
                                       "--out", "ck"], {}, ["--toys 9 must be >= 10"]),
    ("cli-coverage-inner-toys-below-minimum", ["coverage", "--inner-toys", "5"], {},
     ["--inner-toys 5 must be >= 10"]),
    ("cli-gof-toys-below-minimum", [*REPRO, "--gof-toys", "5"], {},
     ["--gof-toys 5 must be >= 10 pseudo-experiments"]),
    ("cli-expected-toys-below-minimum", [*REPRO, "--expected", "5"], {},
     ["--expected 5 must be >= 10 pseudo-experiments"]),
    ("rates-untabulated-element", ["rates", "--target", "U", "--points", "5", "--out", "r.csv"],
     {}, ["--target 'U'", "uranium", "z = 92", "molar_mass = 238.029"]),
    ("probabilities-negative-energy", ["probabilities", "--energies", "-1,5"], {},
     ["--energies -1", "> 0 (MeV)"]),
    ("cli-overlay-plane-not-scanned", [*REPRO, "--plane", "e-mu", "--overlay", "X@e-tau=ov.csv"],
     {"ov.csv": "x,y\n0,0\n1e-8,0\n0,1e-8\n"}, ["overlay 'X'", "plane e_tau", "e_mu"]),
    ("cli-command-misspelt", ["reproduse", "--grid", "11"], {},
     ["unknown command 'reproduse'", "did you mean 'reproduce'?"]),
    ("cli-dataset-action-misspelt", ["dataset", "from-digitised"], {},
     ["unknown action 'from-digitised'", "did you mean 'from-digitized'?"]),
]


def _write_inputs(root: Path, files: dict[str, str]) -> None:
    for name, text in files.items():
        path = root / name
        if name.endswith("/"):
            path.mkdir(parents=True, exist_ok=True)
        else:
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(text, encoding="utf-8")


def test_enough_distinct_cases():
    ids = [c[0] for c in CASES]
    assert len(ids) == len(set(ids))
    assert len({(tuple(c[1]), tuple(sorted(c[2].items()))) for c in CASES}) == len(CASES)
    assert len(CASES) >= 24


#: Cases that also run as a real process (``python -m cevns_scan``), from the shell's view.
SUBPROCESS_CASES = ("cfg-unknown-key-suggestion", "ds-nan", "cli-unknown-option",
                    "merge-not-a-scan")


@pytest.mark.parametrize("argv,files,expected", [pytest.param(*c[1:], id=c[0]) for c in CASES])
def test_bad_input(in_tmp, cli, argv, files, expected):
    _write_inputs(in_tmp, files)
    before = FolderState(in_tmp)
    assert_one_line_error(cli(*argv), *expected, unchanged=before)


@pytest.mark.parametrize("argv,files,expected", [
    pytest.param(*c[1:], id=c[0], marks=() if c[0] == SUBPROCESS_CASES[0] else pytest.mark.slow)
    for c in CASES if c[0] in SUBPROCESS_CASES])
def test_bad_input_in_a_real_process(tmp_path, argv, files, expected):
    _write_inputs(tmp_path, files)
    before = FolderState(tmp_path)
    proc = run_cli(*argv, cwd=tmp_path, timeout=120, check=False)
    assert_one_line_error(proc, *expected, unchanged=before)
