"""Datasets: the Asimov construction and the CSV loader."""

import math

import numpy as np
import pytest

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
