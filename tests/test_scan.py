"""The joblib scan driver: chunking and independence of workers and backends."""

import numpy as np
import pytest

from cevns_scan.analysis import Analysis
from cevns_scan.errors import InputError
from cevns_scan.scan import check_finite, make_chunks, scan_map


@pytest.fixture(scope="module")
def plane():
    analysis = Analysis.from_config()
    pg = analysis.plane_grid("e-mu", 61)
    return analysis.plane("e", "mu"), pg.mu_x, pg.mu_y


def test_chunks_cover_grid_once():
    for rows, cols, pts in [(10, 7, 1), (10, 7, 20), (10, 7, 10_000), (1, 5, 3)]:
        chunks = make_chunks(rows, cols, pts)
        covered = np.concatenate([np.arange(c.i0, c.i1) for c in chunks])
        assert np.array_equal(covered, np.arange(rows))
        assert [c.index for c in chunks] == list(range(len(chunks)))


@pytest.mark.parametrize(("jobs", "backend"), [(2, "loky"), (2, "threading")])
def test_jobs_and_backends_give_identical_maps(plane, jobs, backend):
    coef, mu_x, mu_y = plane
    ref = scan_map(coef, mu_x, mu_y, make_chunks(61, 61, 61 * 61), jobs=1)
    got = scan_map(coef, mu_x, mu_y, make_chunks(61, 61, 300), jobs=jobs, backend=backend)
    assert np.array_equal(ref, got)
    assert np.all(np.isfinite(ref)) and ref.min() >= 0


def test_nan_in_map_names_grid_point():
    from cevns_scan.scan import Chunk

    block = np.zeros((2, 3))
    block[1, 2] = np.nan
    with pytest.raises(InputError, match=r"grid point \[6, 2\]"):
        check_finite(block, Chunk(0, 5, 7), np.linspace(0, 1, 10), np.linspace(0, 1, 3))


def test_very_large_mu_stays_finite(plane):
    coef, _, _ = plane
    mu = np.array([0.0, 1e-6])
    out = scan_map(coef, mu, mu, make_chunks(2, 2, 4))
    assert np.all(np.isfinite(out))
    assert out[1, 1] > out[0, 0]
