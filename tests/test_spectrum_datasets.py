"""scanner/experiments/spectrum/datasets.py: the Asimov construction, the CSV loader (byte-order
marks too), and datasets built in Python checked like CSV files."""

import dataclasses
import math

import numpy as np
import pytest

import cevns_scan as cs
from cevns_scan.config import load_config
from cevns_scan.errors import InputError
from cevns_scan.experiments.spectrum.datasets import ASIMOV_NAME, asimov_dataset, load_dataset
from cevns_scan.experiments.spectrum.response import binned_templates
from cevns_scan.model import build_model


def test_asimov_is_sm_plus_background_with_poisson_errors():
    cfg = load_config()
    model = build_model(cfg)
    ds = asimov_dataset(model, cfg.asimov, cfg.spectrum)
    assert ds.label == ASIMOV_NAME and "not the published" in ds.description
    assert ds.rate.size == 20
    assert np.allclose(ds.tee_lo, 0.16 + 0.1 * np.arange(20), rtol=0, atol=1e-12)
    sm = binned_templates(model, ds.tee_lo, ds.tee_hi).sm.sum(0)
    assert np.array_equal(ds.rate, sm + 2.0)
    counts = (sm + 2.0) * 205.4 * 0.1
    assert np.allclose(ds.sigma, np.sqrt(counts) / (205.4 * 0.1), rtol=1e-12)
    assert math.isclose(ds.sigma[0], math.sqrt(2.00208 * 20.54) / 20.54, rel_tol=1e-4)


def test_load_dataset_with_metadata(tmp_path):
    p = tmp_path / "d.csv"
    p.write_text("# label: my data\n# units: cpkkd\n# exposure_kg_day: 205.4\n"
                 "Tee_lo_keV,Tee_hi_keV,rate,sigma\n0.16,0.26,2.1,0.3\n0.26,0.36,1.9,0.25\n")
    ds = load_dataset(p)
    assert ds.label == "my data" and ds.metadata["exposure_kg_day"] == "205.4"
    assert np.array_equal(ds.sigma, [0.3, 0.25])
    # to_csv round-trips exactly
    q = tmp_path / "e.csv"
    q.write_text(ds.to_csv())
    assert load_dataset(q).digest() == ds.digest()


@pytest.mark.parametrize(("rows", "match"), [
    ("0.16,0.26,2.1,0\n", r"line 2: sigma = 0 must be > 0"),
    ("0.26,0.36,2.1,0.3\n0.16,0.26,2.1,0.3\n", r"line 3: .*sort the rows"),
    ("0.16,0.30,2.1,0.3\n0.26,0.36,2.1,0.3\n", r"line 3: .*overlaps"),
    ("0.16,0.26,inf,0.3\n", r"line 2: .*'rate' is inf"),
])
def test_bad_rows(tmp_path, rows, match):
    p = tmp_path / "d.csv"
    p.write_text("Tee_lo_keV,Tee_hi_keV,rate,sigma\n" + rows)
    with pytest.raises(InputError, match=match):
        load_dataset(p)


def _csv_rows(path):
    lines = [ln for ln in path.read_text().splitlines() if not ln.startswith("#")]
    return lines[0].split(","), [ln.split(",") for ln in lines[1:]]


def test_bom_in_a_dataset_file_is_read(in_tmp, cli):
    rows = "".join(f"{0.16 + 0.1 * i:.2f},{0.26 + 0.1 * i:.2f},{2.5 - 0.05 * i},0.3\n"
                   for i in range(10))
    (in_tmp / "d.csv").write_text("\ufeffTee_lo_keV,Tee_hi_keV,rate,sigma\n" + rows,
                                  encoding="utf-8")
    code, _, err = cli("reproduce", "--data", "d.csv", "--no-figures", "--plane", "e-mu",
                       "--grid", "11",
                       "--out", "r", "--quiet")
    assert code == 0, err
    head, rows = _csv_rows(in_tmp / "r" / "templates.csv")
    assert head[0] == "Tee_lo_keV" and len(rows) == 10


# -- datasets built in Python ---------------------------------------------------------------------

def _dataset(**changes):
    from cevns_scan.experiments.spectrum.datasets import Dataset

    args = {"label": "mine", "tee_lo": [0.16, 0.26, 0.36], "tee_hi": [0.26, 0.36, 0.46],
            "rate": [5.0, 4.0, 3.0], "sigma": [0.5, 0.4, 0.3], "source": "notebook"}
    args.update(changes)
    return Dataset(**{k: np.asarray(v) if isinstance(v, list) else v for k, v in args.items()})


@pytest.mark.parametrize(("changes", "pattern"), [
    ({"sigma": [0.5, -0.1, 0.3]}, r"dataset mine bin 1: sigma = -0\.1 must be > 0"),
    ({"sigma": [0.5, 0.0, 0.3]}, r"dataset mine bin 1: sigma = 0 must be > 0"),
    ({"rate": [5.0, float("nan"), 3.0]}, r"dataset mine bin 1: rate = nan is not finite"),
    ({"tee_hi": [0.26, 0.36, 0.36]}, r"bin 2: \[0\.36, 0\.36\] keV_ee needs 0 < Tee_lo_keV"),
    ({"tee_lo": [0.16, 0.20, 0.36]}, r"bin 1: \[0\.2, 0\.36\] keV_ee starts below the end"),
    ({"rate": [5.0, 4.0]}, r"tee_lo, tee_hi, rate and sigma need the same non-zero length"),
    ({"sigma": "abc"}, r"sigma is not an array of numbers"),
])
def test_datasets_built_in_python_are_checked_like_csv(changes, pattern):
    with pytest.raises(InputError, match=pattern):
        _dataset(**changes)


def test_a_valid_python_dataset_fits_and_a_replaced_one_is_checked_again():
    ds = _dataset()
    assert ds.rate.size == 3
    with pytest.raises(InputError, match=r"sigma = -1 must be > 0"):
        dataclasses.replace(ds, sigma=np.array([0.5, -1.0, 0.3]))
    ana = cs.Analysis.from_config(data=ds)
    assert ana.label == "mine" and np.isfinite(ana.statistic(np.zeros(3)))
