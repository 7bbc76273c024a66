"""COHERENT CsI[Na] full dataset: release reader, computed response, likelihood."""

import itertools
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_interval_ends, numpy_poisson_deviance, scipy_profile
from scipy import integrate, optimize
from scipy.special import gammaln

from cevns_scan.errors import InputError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "coherent" / "csi2021"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"the COHERENT CsI release is not "
                                f"staged at {SHARED} (a fresh clone has no ../shared)")


@pytest.fixture(scope="module")
def release():
    from cevns_scan.experiments.coherent_csi.release import read_release

    return read_release(SHARED)


@pytest.fixture(scope="module")
def model(release):
    """CsI seen by the SNS beam, with COHERENT's radiative couplings."""
    from cevns_scan.config import load_config
    from cevns_scan.experiments.coherent_csi.response import csi_model
    from cevns_scan.model import build_model

    cfg = load_config(overrides={"physics": {"couplings": "radiative"},
                                 "target": {"isotopes": "natural"}})
    return csi_model(release, build_model(cfg))


@pytest.fixture(scope="module")
def likelihood(release, model):
    from cevns_scan.experiments.coherent_csi.likelihood import CsILikelihood

    return CsILikelihood.build(release, model)


# -- release -------------------------------------------------------------------------------------

def test_release_contents(release):
    from cevns_scan.experiments.coherent_csi.response import histogram

    assert len(release.coincident) == 5142 and len(release.anticoincident) == 4890
    assert histogram(release.coincident).sum() == 1567  # 8 <= PE < 60, t < 6 us
    assert histogram(release.anticoincident).sum() == 1291
    nom, plus, minus = (np.array(release.efficiency[k]) for k in ("nominal", "plus", "minus"))
    assert minus == pytest.approx(2 * nom - plus, rel=1e-4)  # the file's third row is -1 sigma
    assert release.quenching["nominal"][0] == 0.0554628
    assert release.flux_file is None and "not in the release folder" in release.flux_used


def _copy(tmp_path):
    dst = tmp_path / "csi2021"
    shutil.copytree(SHARED, dst)
    for f in dst.iterdir():
        f.chmod(0o644)
    return dst


def test_bad_release_folders(tmp_path):
    from cevns_scan.experiments.coherent_csi.release import read_release

    root = _copy(tmp_path)
    (root / "ninTrec.txt").unlink()
    with pytest.raises(InputError, match=r"ninTrec\.txt: missing"):
        read_release(root)
    shutil.copy(SHARED / "ninTrec.txt", root / "ninTrec.txt")
    path = root / "dataBeamOnC.txt"
    path.write_text(path.read_text().replace("111.189 2.24", "111.189 2.25", 1))
    with pytest.raises(InputError, match=r"dataBeamOnC\.txt: SHA256 .* differs") as exc:
        read_release(root)
    assert "\n" not in str(exc.value)
    path.write_text((SHARED / "dataBeamOnC.txt").read_text().replace("111.189 2.24",
                                                                      "311.189 2.24", 1))
    with pytest.raises(InputError, match=r"dataBeamOnC\.txt: event 1 \(311.189 PE"):
        read_release(root)
    shutil.copy(SHARED / "dataBeamOnC.txt", path)
    brn = root / "brnPE.txt"
    brn.write_text("\n".join((SHARED / "brnPE.txt").read_text().splitlines()[:200]) + "\n")
    with pytest.raises(InputError, match=r"brnPE\.txt: 200 rows of numbers, expected 250"):
        read_release(root)
    shutil.copy(SHARED / "brnPE.txt", brn)
    (root / "snsFlux2D.root").write_bytes(b"not read")
    assert "present but not read" in read_release(root).flux_used


# -- response ------------------------------------------------------------------------------------

def test_gamma_smearing_is_the_release_parametrisation(release):
    """(C3) against quad of the 2018 release's density with a = 0.0749/E, b = 9.56 E."""
    from cevns_scan.experiments.coherent_csi import response as r

    eff = release.efficiency["nominal"]
    for e in (0.4, 1.5, 3.0):
        a, b = 1 / (r.LIGHT_YIELD_PE_PER_KEVEE * e), r.GAMMA_B_PER_KEVEE * e

        def dens(x, a=a, b=b):
            return math.exp((1 + b) * math.log(a * (1 + b)) - gammaln(1 + b) + b * math.log(x)
                            - a * (1 + b) * x)

        got = r.pe_acceptance(np.array([e]), eff)[0]
        for i, (lo, hi) in enumerate(zip(r.PE_EDGES[:-1], r.PE_EDGES[1:], strict=True)):
            ref = integrate.quad(lambda x, dens=dens: dens(x) * float(r.pe_efficiency(x, eff)),
                                 lo, hi, epsabs=1e-14, epsrel=1e-12)[0]
            assert got[i] == pytest.approx(ref, rel=1e-9, abs=1e-14)
        mean = integrate.quad(lambda x, dens=dens: x * dens(x), 0, 400, points=[13.35 * e])[0]
        assert mean == pytest.approx(13.35 * e, rel=1e-9)


def test_time_efficiency_and_fractions():
    from cevns_scan.experiments.coherent_csi import response as r
    from cevns_scan.sources import pion_dar

    edges = r.TIME_EDGES_US
    ref = [integrate.quad(lambda t: float(r.time_efficiency(t)), a, b, points=[0.52])[0]
           for a, b in itertools.pairwise(edges)]
    assert r.time_efficiency_integrals(edges) == pytest.approx(ref, rel=1e-12)
    assert float(r.time_efficiency(0.52 + 1 / 0.0494)) == pytest.approx(math.exp(-1))
    beam = pion_dar.BeamTiming(0.47, 0.15)
    for timing in pion_dar.TIMINGS:
        got = r.efficient_time_fractions(edges, timing, beam)
        want = [integrate.quad(lambda t, timing=timing: float(r.time_efficiency(t))
                               * float(pion_dar.arrival_density(t, timing, beam)), a, b,
                               points=[0.52], epsabs=1e-14, epsrel=1e-12)[0]
                for a, b in itertools.pairwise(edges)]
        assert got == pytest.approx(want, rel=1e-9, abs=1e-14)


def test_beam_timing_from_the_nin_distribution(release):
    """The least-squares mean against scipy's scalar minimiser on the same residuals."""
    from cevns_scan.experiments.coherent_csi.release import TREC_CENTRES_US
    from cevns_scan.experiments.coherent_csi.response import beam_timing_from_nin
    from cevns_scan.sources import pion_dar

    beam = beam_timing_from_nin(release)
    edges = np.append(TREC_CENTRES_US - 0.005, TREC_CENTRES_US[-1] + 0.005)
    y = release.nin_time

    def ssq(m):
        f = pion_dar.time_fractions(edges, "delayed", pion_dar.BeamTiming(m, 0.15))
        return np.sum((y.sum() * f - y) ** 2)

    ref = optimize.minimize_scalar(ssq, bounds=(0.2, 0.8), method="bounded",
                                   options={"xatol": 1e-10})
    assert beam.mean_us == pytest.approx(ref.x, abs=1e-6)
    assert beam.mean_us == pytest.approx(0.473, abs=0.002) and beam.sigma_us == 0.15


def test_anticoincident_times_follow_the_time_efficiency(release):
    """The steady state carries eps_T: 2 Delta ln L (eps_T vs flat) = 22 for the 4890 AC events."""
    t = release.anticoincident[:, 1]
    t = t[t < 6]
    eps = np.where(t < 0.52, 1.0, np.exp(-0.0494 * (t - 0.52)))
    norm = 0.52 + (1 - math.exp(-0.0494 * (6 - 0.52))) / 0.0494
    two_dll = 2 * (np.sum(np.log(eps / norm)) - t.size * math.log(1 / 6))
    assert two_dll == pytest.approx(22.07, abs=0.05)


def test_prediction(release, likelihood):
    """Our SM prediction beside the paper's ~341 (ours 355: +4 %); flavour structure of MM."""
    nominal = likelihood.nominal
    assert nominal.total_sm == pytest.approx(341.0, rel=0.06)
    mm = nominal.mm.sum(axis=(0, 1))
    assert mm[2] == 0 and mm[1] > mm[0] > 0
    # each pi-DAR component in (C1) is its PE spectrum times its time fractions
    sm = nominal.sm.reshape(3, 8, 11)
    assert sm == pytest.approx(np.einsum("ci,ck->cik", nominal.pe_sm, nominal.time_fractions))
    # the quenching models bracket the nominal; the efficiency models too
    v = likelihood.variations
    s = likelihood.signal.sum()
    assert min(v["eff_plus"].sum(), v["eff_minus"].sum()) < s < max(v["eff_plus"].sum(),
                                                                      v["eff_minus"].sum())


def test_recoil_cut(release, likelihood, model):
    from cevns_scan.experiments.coherent_csi import response as r

    lower = r.csi_templates(release, model, r.csi_spectra(model, t_min_kev=0.01))
    assert lower.total_sm == pytest.approx(likelihood.nominal.total_sm, rel=1e-12)
    assert lower.mm.sum() == pytest.approx(likelihood.nominal.mm.sum(), rel=1e-12)


# -- likelihood ----------------------------------------------------------------------------------

def test_compiled_profile_against_scipy(likelihood):
    from cevns_scan.kernels.poisson import profile

    for sm_fit in (True, False):
        mx = None if sm_fit else likelihood.mm_template("e") * 30.0
        my = None if sm_fit else likelihood.mm_template("mu") * 20.0
        model = likelihood.kernel_model(mx, my, sm_fit=sm_fit)
        theta0, free = likelihood.start(sm_fit=sm_fit)
        theta0[-2:] = 1.0
        d, best, _, status = profile(theta0, free, model)
        assert status == 0
        assert numpy_poisson_deviance(model, best) == pytest.approx(d, rel=1e-10)
        idx = np.flatnonzero(free)
        res = scipy_profile(model, theta0, free)
        assert d <= res.fun + 1e-8
        assert d == pytest.approx(res.fun, abs=1e-6)
        assert best[idx] == pytest.approx(res.x, abs=2e-3)


def test_sm_fit(likelihood):
    """310 (+33 -32) CEvNS events; published 306 +- 20."""

    fit = likelihood.sm_fit()
    assert fit.cevns == pytest.approx(306.0, rel=0.03)
    assert fit.cevns_lo < 306.0 < fit.cevns_hi
    assert fit.counts["brn"] == pytest.approx(18.4, abs=4.6)
    assert_interval_ends(likelihood, fit)


def test_profile_grid_converges(likelihood):
    mu = np.linspace(0.0, 6e-8, 15)
    d, seconds = likelihood.profile_grid(mu, mu)
    assert np.all(np.isfinite(d)) and d[0, 0] == d.min()
    assert seconds < 5e-3
