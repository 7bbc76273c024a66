"""Modelling sensitivity (scanner/systematics.py) with the XENONnT kind's variations.

A pinned parameter is compared with the same choice reached another way: the efficiency held
at 1 against a constraint of width 1e-7 (a config key), hep pinned at 0 against a model
without the hep component; the CSV and JSON round-trip; a kind without variations is refused.
"""

from __future__ import annotations

import csv
import json
from pathlib import Path

import pytest
from helpers import assert_one_line_error

from cevns_scan import Analysis, load_config
from cevns_scan.systematics import modelling_sensitivity


@pytest.fixture(scope="module")
def table():
    return modelling_sensitivity(load_config(), "xenonnt-8b")


def _limits(config):
    return {k: hi for k, (_, hi) in Analysis.from_config(config, "xenonnt-8b")
            .one_dof_intervals().items()}


@pytest.mark.slow
def test_variations_match_the_same_choice_made_another_way(table):
    rows = {r.name: r for r in table.rows}
    cfg = load_config()
    narrow = _limits(cfg.replace(xenonnt={"sigma_efficiency": 1e-7}))
    assert rows["efficiency fixed"].limits["mu_e"] == pytest.approx(narrow["mu_e"], rel=1e-4)
    no_hep = [c for c in cfg.fluxes.components if c != "hep"]
    without = _limits(cfg.replace(fluxes={"components": no_hep}))
    assert rows["hep off"].limits["mu_e"] == pytest.approx(without["mu_e"], rel=1e-6)
    msw = _limits(cfg.replace(oscillation={"model": "msw"}))
    assert rows["MSW probabilities"].limits == pytest.approx(msw, rel=1e-12)
    for r in table.rows:
        for k, v in r.limits.items():
            assert r.shifts[k] == pytest.approx(v / table.baseline[k] - 1.0, rel=1e-12)
    # the audit's numbers (issue 17): efficiency fixed -12.6 %, yields fixed -9.8 %, MSW +28 %
    assert rows["efficiency fixed"].shifts["mu_e"] == pytest.approx(-0.126, abs=0.002)
    assert rows["yields fixed"].shifts["mu_e"] == pytest.approx(-0.098, abs=0.002)
    assert rows["MSW probabilities"].shifts["mu_e"] == pytest.approx(0.28, abs=0.01)


@pytest.mark.slow
def test_cli_writes_csv_and_json(cli, table):
    code, out, err = cli("systematics", "--data", "xenonnt-8b", "--out", "s.csv", "--json",
                         "s.json", "--quiet")
    assert code == 0, err
    assert "efficiency fixed" in out and "-12.6%" in out
    rows = list(csv.reader(line for line in Path("s.csv").read_text().splitlines()
                           if not line.startswith("#")))
    assert rows[0][:5] == ["variation", "experiment", "mu_e", "mu_mu", "mu_tau"]
    assert rows[1][0] == "baseline"
    assert [r[0] for r in rows[2:]] == [r.name for r in table.rows]
    assert float(rows[2][2]) == table.rows[0].limits["mu_e"]
    rec = json.loads(Path("s.json").read_text())
    assert rec["baseline"] == table.baseline
    assert_one_line_error(cli("systematics", "--data", "xenonnt-8b", "--out", "s.csv"), "--force")
    Path("mine.csv").write_text("a user's file\n")
    assert_one_line_error(cli("systematics", "--data", "xenonnt-8b", "--out", "mine.csv",
                              "--force"), "never replaced")
    assert Path("mine.csv").read_text() == "a user's file\n"


def test_kind_without_variations_is_refused(cli):
    assert_one_line_error(cli("systematics", "--data", "cdex10-asimov"),
                          "declare no modelling variations")
