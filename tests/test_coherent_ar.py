"""COHERENT CENNS-10 argon (Analysis A): release reader, computed response, likelihood."""

import importlib
import math
import shutil
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_interval_ends, numpy_poisson_deviance, scipy_profile
from scipy import integrate
from scipy.stats import norm

from cevns_scan.errors import InputError

SHARED = Path(__file__).resolve().parents[2] / "shared" / "coherent" / "lar2020"
pytestmark = pytest.mark.skipif(not SHARED.is_dir(), reason=f"the COHERENT argon release is not "
                                f"staged at {SHARED} (a fresh clone has no ../shared)")


@pytest.fixture(scope="module")
def release():
    from cevns_scan.experiments.coherent_ar.release import read_release

    return read_release(SHARED)


def _model(release, isotopes="natural", couplings="radiative"):
    """Argon seen by the release's beam, with COHERENT's radiative couplings."""
    from cevns_scan.config import load_config
    from cevns_scan.experiments.coherent_ar.response import argon_model
    from cevns_scan.model import build_model

    cfg = load_config(overrides={"physics": {"couplings": couplings},
                                 "target": {"isotopes": isotopes}})
    return argon_model(release, build_model(cfg))


@pytest.fixture(scope="module")
def model(release):
    return _model(release)


@pytest.fixture(scope="module")
def templates(release, model):
    from cevns_scan.experiments.coherent_ar.response import argon_templates

    return argon_templates(release, model)


# -- release -------------------------------------------------------------------------------------

def test_release_contents(release):
    p = release.parameters
    assert int(release.observed.sum()) == 3752
    for name, total in (("cevns", 128.0), ("brn", 497.0), ("delayed_brn", 33.0),
                        ("steady_state", 3152.0)):
        assert getattr(release, name).sum() == pytest.approx(total, abs=1e-3)
    assert (p.pot, p.distance_m, p.mass_kg) == (pytest.approx(1.38e23), 27.5, 24.4)
    assert (p.qf_a, p.qf_b_per_kevnr, p.nu_per_flavour_per_pot) == (0.246, 0.00078, 0.09)
    assert (p.pot_mean_us, p.pot_width_us, p.resolution_a_sqrt_kevee) == (0.44, 0.15, 0.58)
    assert p.predicted["cevns"] == (128.0, 17.0) and p.best_fit["cevns"] == (159.0, 43.0)
    assert release.time_edges_us[[0, -1]].tolist() == pytest.approx([-0.1, 4.9])
    assert release.energy_edges_kevee[[0, -1]].tolist() == [0.0, 120.0]
    # the 1-D projections: the 3-D data minus the best-fit steady state (3131 of 3152 events)
    ss = release.steady_state * p.best_fit["steady_state"][0] / release.steady_state.sum()
    ss_sub = (release.observed - ss).reshape(12, 8, 10).sum(axis=(1, 2))
    assert release.projections["energy"][:, 1] == pytest.approx(ss_sub, abs=0.5)


def _copy(tmp_path):
    dst = tmp_path / "lar2020"
    shutil.copytree(SHARED, dst)
    for f in dst.iterdir():
        f.chmod(0o644)
    return dst


def test_missing_file(tmp_path):
    from cevns_scan.experiments.coherent_ar.release import read_release

    root = _copy(tmp_path)
    (root / "brnpdf-1sigEnergy.txt").unlink()
    with pytest.raises(InputError, match=r"brnpdf-1sigEnergy\.txt: missing") as exc:
        read_release(root)
    assert "\n" not in str(exc.value)


def test_checksum_mismatch(tmp_path):
    from cevns_scan.experiments.coherent_ar.release import read_release

    root = _copy(tmp_path)
    path = root / "bkgpdf.txt"
    path.write_text(path.read_text().replace("0.799898", "0.799899", 1))
    with pytest.raises(InputError, match=r"bkgpdf\.txt: MD5 .* differs") as exc:
        read_release(root)
    assert "\n" not in str(exc.value)


def test_truncated_file(tmp_path):
    from cevns_scan.experiments.coherent_ar.release import read_release

    root = _copy(tmp_path)
    path = root / "cevnspdf.txt"
    path.write_text("\n".join(path.read_text().splitlines()[:500]) + "\n")
    with pytest.raises(InputError, match=r"cevnspdf\.txt: 500 rows of numbers, expected 960"):
        read_release(root)
    path.write_bytes((SHARED / "cevnspdf.txt").read_bytes()[:-7])  # cut inside the last row
    with pytest.raises(InputError, match=r"cevnspdf\.txt line 960"):
        read_release(root)


def test_malformed_yaml_and_missing_pyyaml(tmp_path, monkeypatch):
    from cevns_scan.experiments.coherent_ar import release as rel

    root = _copy(tmp_path)
    path = root / "LArParametersAnlA.yaml"
    text = path.read_text()
    path.write_text(text.replace("units: m\n", "units: ft\n", 1))
    with pytest.raises(InputError, match=r"LArParametersAnlA\.yaml: distanceToTarget units"):
        rel.read_release(root)
    path.write_text(text.replace("beamExposure:", "beamExposure: [", 1))
    with pytest.raises(InputError, match=r"LArParametersAnlA\.yaml: not valid YAML"):
        rel.read_release(root)
    real = importlib.import_module

    def no_yaml(name, *args):
        if name == "yaml":
            raise ImportError("no yaml")
        return real(name, *args)

    monkeypatch.setattr(rel.importlib, "import_module", no_yaml)
    with pytest.raises(InputError, match=r"pip install 'cevns-scan\[coherent\]'"):
        rel.read_parameters(SHARED / "LArParametersAnlA.yaml")


# -- response ------------------------------------------------------------------------------------

def test_smeared_acceptance_closed_form(release):
    """(A3) against quad of the interpolated acceptance times the Gaussian."""
    from cevns_scan.experiments.coherent_ar.response import efficiency_curve, smeared_acceptance

    x, y = efficiency_curve(release)
    edges = release.energy_edges_kevee

    def eff(e):
        return 0.0 if e < x[0] else float(np.interp(e, x, y))

    for e_true in (0.3, 2.0, 9.7, 35.0, 60.0):
        s = 0.58 * math.sqrt(e_true)
        got = smeared_acceptance(np.array([e_true]), edges, x, y, 0.58)[0]
        for i in range(edges.size - 1):
            ref = integrate.quad(lambda e, e_true=e_true, s=s: eff(e) * norm.pdf(e, e_true, s),
                                 edges[i], edges[i + 1], points=x[(x > edges[i]) &
                                                                  (x < edges[i + 1])][:40],
                                 epsabs=1e-13, epsrel=1e-11, limit=400)[0]
            assert got[i] == pytest.approx(ref, rel=1e-8, abs=1e-12)


@pytest.mark.slow
def test_prompt_energy_bins_against_quad(release, templates, model):
    """The prompt component's energy-bin counts from a one-dimensional quad over T_nr."""
    from cevns_scan.experiments.coherent_ar.response import (
        efficiency_curve,
        quenched_kevee,
        smeared_acceptance,
    )
    from cevns_scan.kernels.constants import MEV_PER_KEV, N_AVOGADRO
    from cevns_scan.kernels.cross_sections import dsigma_mm, dsigma_sm
    from cevns_scan.kernels.form_factor import helm_ff
    from cevns_scan.sources import pion_dar

    p = release.parameters
    e_nu = pion_dar.line_energy_mev()
    phi = p.nu_per_flavour_per_pot * p.pot / (4 * math.pi * (p.distance_m * 100) ** 2)
    x, y = efficiency_curve(release)
    nuclei = model.nuclei
    assert sum(n for n, _ in nuclei) == pytest.approx(1000.0 * N_AVOGADRO / 39.948, rel=1e-4)
    ref_sm = np.zeros(12)
    ref_mm = np.zeros(12)
    for per_kg, nuc in nuclei:
        t_end = 2 * e_nu**2 / (2 * e_nu + nuc.m_n) / MEV_PER_KEV
        for k, ref in ((0, ref_sm), (1, ref_mm)):
            def f(t_kev, nuc=nuc, k=k):
                t = t_kev * MEV_PER_KEV
                ff = helm_ff(t, nuc.m_n, nuc.r0_fm)
                xs = (dsigma_sm(e_nu, t, nuc.m_n, nuc.qw, ff) if k == 0
                      else dsigma_mm(e_nu, t, nuc.m_n, nuc.z, ff, 1.0))
                acc = smeared_acceptance(np.array([quenched_kevee(t_kev, p.qf_a,
                                                                  p.qf_b_per_kevnr)]),
                                         release.energy_edges_kevee, x, y, 0.58)[0]
                return xs * MEV_PER_KEV * acc
            for i in range(3):
                val = integrate.quad(lambda t, i=i, f=f: f(t)[i], 0.05, t_end, epsabs=0,
                                     epsrel=1e-10, limit=400)[0]
                ref[i] += val * per_kg * p.mass_kg * phi
    assert templates.energy_sm[0, :3] == pytest.approx(ref_sm[:3], rel=1e-7)
    mm_mu = np.einsum("cijkf->cif", templates.mm.reshape(3, 12, 8, 10, 3))[0, :3, 1]
    # the time window holds a fraction of the prompt neutrinos; the energy bins hold all
    assert mm_mu / templates.time_fractions[0].sum() == pytest.approx(ref_mm[:3], rel=1e-7)


def test_prediction_against_release(release, templates):
    """Our SM total and marginals beside the collaboration's 128-event CEvNS PDF."""
    from cevns_scan.experiments.coherent_ar.response import marginals

    assert templates.total_sm == pytest.approx(128.0, rel=0.03)  # ours: 125.4
    e, f, t = marginals(templates.sm)
    e0, f0, t0 = marginals(release.cevns)
    assert np.abs(t / t.sum() - t0 / t0.sum()).max() < 0.01  # time bins -0.1 + 0.5 k us
    assert np.abs(f / f.sum() - f0 / f0.sum()).max() < 0.01
    assert np.abs(e / e.sum() - e0 / e0.sum()).max() < 0.02
    mm = templates.mm.sum(axis=(0, 1))
    assert mm[2] == 0.0 and mm[0] > 0 and mm[1] > mm[0]
    assert templates.mm[0, :, 0].sum() == 0.0 and templates.mm[1, :, 1].sum() == 0.0


def test_effective_nucleus_and_recoil_cut(release, templates, model):
    """One effective argon nucleus instead of the natural isotopes, and the recoil cut."""
    from cevns_scan.experiments.coherent_ar.response import argon_templates

    effective = argon_templates(release, _model(release, isotopes="effective"))
    assert abs(effective.total_sm / templates.total_sm - 1) < 5e-3  # -0.33 %
    tree = argon_templates(release, _model(release, couplings="tree"))
    g = model.nucleon_couplings
    qw_rad = g[0] * 18 + g[1] * 21.948
    qw_tree = (0.5 - 2 * 0.23863) * 18 - 0.5 * 21.948
    assert tree.total_sm / templates.total_sm == pytest.approx((qw_tree / qw_rad) ** 2,
                                                               rel=2e-3)
    lower = argon_templates(release, model, t_min_kev=0.01)
    assert lower.total_sm == pytest.approx(templates.total_sm, rel=1e-12)
    assert lower.mm.sum() == pytest.approx(templates.mm.sum(), rel=1e-9)


# -- likelihood ----------------------------------------------------------------------------------

@pytest.fixture(scope="module")
def likelihood(release, templates):
    from cevns_scan.experiments.coherent_ar.likelihood import ArgonLikelihood

    return ArgonLikelihood(release, templates)


def test_compiled_profile_against_scipy(likelihood):
    from cevns_scan.kernels.poisson import profile

    model = likelihood.kernel_model(sm_fit=True)
    theta0, free = likelihood.start(sm_fit=True)
    d, best, _, status = profile(theta0, free, model)
    assert status == 0
    assert numpy_poisson_deviance(model, best) == pytest.approx(d, rel=1e-10)
    idx = np.flatnonzero(free)
    best_scipy = scipy_profile(model, theta0, free, (None, theta0[idx] * 1.1 + 0.05), tol=1e-9)
    assert d <= best_scipy.fun + 1e-7
    assert d == pytest.approx(best_scipy.fun, abs=1e-5)
    assert best[0] == pytest.approx(best_scipy.x[0], abs=2e-3)


def test_sm_fit_beside_the_collaboration(release, templates, likelihood):
    """Ours 139 (+41 -41) and, with the release's CEvNS PDF, 161 (+44 -43): 159 +- 43 published."""
    from cevns_scan.experiments.coherent_ar.likelihood import ArgonLikelihood

    with_release = ArgonLikelihood(release, templates, "release").sm_fit()
    assert with_release.cevns == pytest.approx(159.0, rel=0.05)
    assert with_release.cevns_hi - with_release.cevns == pytest.approx(43.0, rel=0.1)
    assert with_release.cevns - with_release.cevns_lo == pytest.approx(43.0, rel=0.1)
    fit = likelihood.sm_fit()
    assert 159.0 - 43.0 < fit.cevns < 159.0 + 43.0
    assert fit.counts["brn"] == pytest.approx(553.0, abs=2 * 34.0)
    assert fit.counts["steady_state"] == pytest.approx(3131.0, abs=2 * 23.0)
    # the interval ends sit where the profile rises by 1
    assert_interval_ends(likelihood, fit)


def test_profile_grid_converges(likelihood):
    mu = np.linspace(0.0, 3e-8, 12)
    d, seconds = likelihood.profile_grid(mu, mu)
    assert np.all(np.isfinite(d)) and d[0, 0] == d.min()
    assert seconds < 5e-3
