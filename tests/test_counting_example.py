"""The worked example of a third-party experiment kind: examples/counting_experiment.

Fast tests import the example in-process (``registry.register``); the slow test installs it
into a temporary folder (``pip install --target``, the main environment untouched), runs the
first command of its README and checks the limits against an independent scipy computation.
"""

from __future__ import annotations

import json
import os
import pickle
import re
import shlex
import shutil
import subprocess
import sys
import tomllib
from pathlib import Path

import numpy as np
import pytest
from helpers import assert_one_line_error
from scipy import integrate, optimize, stats
from scipy.special import xlogy

from cevns_scan.errors import InputError

ROOT = Path(__file__).resolve().parents[1]
EXAMPLE = ROOT / "examples" / "counting_experiment"
DATA = EXAMPLE / "argon_8b.count.toml"
BIN = Path(sys.executable).parent


@pytest.fixture
def ce(monkeypatch):
    """The example package, imported from its folder and registered in this process."""
    if not EXAMPLE.is_dir():
        pytest.skip("examples/ is not beside the tests (not a repository checkout)")
    from cevns_scan.experiments import registry

    monkeypatch.syspath_prepend(str(EXAMPLE))
    import counting_experiment
    import counting_experiment.counts
    import counting_experiment.data
    import counting_experiment.likelihood

    registry.register(counting_experiment.KIND)
    yield counting_experiment
    registry.unregister("counting")
    for name in [m for m in sys.modules if m.split(".")[0] == "counting_experiment"]:
        del sys.modules[name]


# -- an independent computation: scipy on the same physics and likelihood ------------------


def argon_8b():
    from cevns_scan.config import load_config
    from cevns_scan.model import build_model

    return build_model(load_config()).with_target("Ar").with_components(["8B"])


def quad_counts(window, exposure):
    """SM and mu_e = 1 mu_B magnetic-moment events in the window by scipy quad of dR/dT."""
    from cevns_scan.rates import differential_rates

    model = argon_8b()

    def rate(t, part):
        sm, mm = differential_rates(model, [t], (1.0, 0.0, 0.0))
        return (sm if part == 0 else mm)[0, 0]

    return tuple(exposure * integrate.quad(rate, *window, args=(p,), epsabs=0, epsrel=1e-9,
                                           limit=500)[0] for p in (0, 1))


def scipy_profile(s, n, b0, sigma):
    """min over b >= 0 of 2 (lam - n + n ln(n / lam)) + ((b - b0) / sigma)^2, lam = s + b."""
    def f(b):
        lam = s + b
        return 2 * (lam - n + xlogy(n, n / lam)) + ((b - b0) / sigma) ** 2
    hi = max(b0, 0.0) + 10 * sigma + n + 10
    res = optimize.minimize_scalar(f, bounds=(0.0, hi), method="bounded",
                                   options={"xatol": 1e-13})
    return min(res.fun, f(0.0))


def scipy_global(s_min, n, b0, sigma):
    """min over s >= s_min of :func:`scipy_profile` (convex in s: a profile of a jointly
    convex function), by a bounded scalar search and the endpoint."""
    res = optimize.minimize_scalar(lambda s: scipy_profile(s, n, b0, sigma),
                                   bounds=(s_min, s_min + 3 * n + 30), method="bounded",
                                   options={"xatol": 1e-12})
    return min(res.fun, scipy_profile(s_min, n, b0, sigma))


def scipy_one_dof_limit(n, b0, sigma, s_sm, m, cl=0.9):
    """The 1-d.o.f. upper limit on mu (mu_B) of a count with signal s_sm + m mu^2."""
    g = lambda x: scipy_profile(s_sm + x, n, b0, sigma)  # noqa: E731  x = m mu^2 >= 0
    best = optimize.minimize_scalar(g, bounds=(0.0, 10 * n + 10), method="bounded",
                                    options={"xatol": 1e-12})
    g_min = min(best.fun, g(0.0))
    x_best = best.x if best.fun < g(0.0) else 0.0
    dchi2 = stats.chi2.ppf(cl, 1)
    x = optimize.brentq(lambda x: g(x) - g_min - dchi2, x_best, 100 * n + 100, xtol=1e-14,
                        rtol=1e-13)
    return float(np.sqrt(x / m)), g_min


# -- fast tests, in-process ----------------------------------------------------------------


def test_window_counts_agree_with_quad(ce):
    """Eq. C1 (Gauss-Legendre over the window) against scipy quad of the same dR/dT."""
    data = ce.data.load_counting(DATA)
    counts = ce.counts.window_counts(argon_8b(), data.window_kev_nr, data.exposure_kg_day, 48)
    sm, mm_e = quad_counts(data.window_kev_nr, data.exposure_kg_day)
    # dR/dT has tiny kinks where E_min(T) crosses a node of the tabulated 8B spectrum:
    # Gauss-Legendre converges to ~1e-9 there, far below any statistical need
    assert counts.sm == pytest.approx(sm, rel=1e-8)
    assert counts.mm[0] == pytest.approx(mm_e, rel=1e-8)
    # the flavours share one shape: M_l / M_e = P_el / P_ee (constant probabilities)
    p = argon_8b().probabilities
    assert counts.mm / counts.mm[0] == pytest.approx(np.asarray(p) / p[0], rel=1e-12)


def test_window_is_cut_at_the_largest_recoil(ce):
    """T_max = 2 E^2 / (2 E + m_N) of the highest 8B energy: above it no signal, no kink."""
    model = argon_8b()
    e_max = model.components[0].e_max_mev
    t_max = 2 * e_max**2 / (2 * e_max + model.target.m_n_mev) * 1e3
    assert ce.counts.largest_recoil_kev(model) == pytest.approx(t_max, rel=1e-12)
    inside = ce.counts.window_counts(model, (5.0, t_max), 1.0, 48)
    beyond = ce.counts.window_counts(model, (5.0, t_max + 30.0), 1.0, 48)
    assert beyond.sm == inside.sm and beyond.window_kev_nr == (5.0, t_max)
    with pytest.raises(InputError, match="above the largest 8B recoil"):
        ce.counts.window_counts(model, (t_max + 1, t_max + 2), 1.0, 48)


@pytest.mark.parametrize(("s", "n", "b0", "sigma"), [
    (13.7, 44, 30.0, 5.0), (2.0, 0, 3.0, 1.0), (50.0, 3, 10.0, 2.0), (0.5, 20, 0.2, 0.1),
    (5.0, 7, -1.5, 2.0), (1e-3, 1, 40.0, 0.5)])
def test_profiled_statistic_against_scipy(ce, s, n, b0, sigma):
    """The closed-form profile of the background (eq. C3) against a bounded scipy search."""
    lik = ce.likelihood
    assert float(lik.profiled_statistic(s, n, b0, sigma)) == pytest.approx(
        scipy_profile(s, n, b0, sigma), rel=1e-9, abs=1e-9)


def test_global_minimum_against_scipy(ce):
    """min over s >= s_min, b >= 0 (a toy's global fit): the closed form of the edges against
    scipy's nested scalar minimisation, and against L-BFGS-B in (s, b) for a few cases."""
    lik = ce.likelihood
    rng = np.random.default_rng(1)
    for k in range(40):
        s_min, sigma = rng.uniform(0.5, 20), rng.uniform(0.3, 6)
        n, b0 = float(rng.poisson(rng.uniform(0, 40))), rng.normal(rng.uniform(0, 30), sigma)
        ours = float(lik.minimum_over_signal(s_min, n, b0, sigma))
        assert ours == pytest.approx(scipy_global(s_min, n, b0, sigma), abs=1e-8)
        if k % 8:
            continue

        def f(x, n=n, b0=b0, sigma=sigma):
            lam = x[0] + x[1]
            return 2 * (lam - n + xlogy(n, n / lam)) + ((x[1] - b0) / sigma) ** 2
        best = min(optimize.minimize(f, x0, method="L-BFGS-B",
                                     bounds=[(s_min, None), (0.0, None)]).fun
                   for x0 in ([s_min + 1, 1.0], [n + 1, max(b0, 0.1)], [s_min, 0.0]))
        assert ours <= best + 1e-9 and ours == pytest.approx(best, abs=1e-5)


def test_fixed_background(ce):
    """sigma = 0: b = b0 and the statistic is the Poisson deviance alone."""
    lik = ce.likelihood
    assert float(lik.profiled_statistic(10.0, 44, 30.0, 0.0)) == pytest.approx(
        2 * (40 - 44 + 44 * np.log(44 / 40)), rel=1e-14)
    assert float(lik.minimum_over_signal(10.0, 44, 30.0, 0.0)) == 0.0
    assert float(lik.minimum_over_signal(20.0, 44, 30.0, 0.0)) == pytest.approx(
        2 * (50 - 44 + 44 * np.log(44 / 50)), rel=1e-14)


def test_one_dof_limit_in_process(ce):
    """The analysis's 1-d.o.f. limits against scipy on the same likelihood and quad counts."""
    from cevns_scan.analysis import Analysis

    ana = Analysis.from_config(data=str(DATA))
    data = ana.dataset
    sm, mm_e = quad_counts(data.window_kev_nr, data.exposure_kg_day)
    limit, _ = scipy_one_dof_limit(data.observed, data.background, data.background_sigma, sm,
                                   mm_e)
    assert ana.one_dof_intervals()["mu_e"] == (0.0, pytest.approx(limit, rel=1e-6))


def test_toys_against_scipy_and_picklable(ce):
    """Toy statistics t = D(s0) - min D recomputed with scipy for the same pseudo-data; the
    plane and toy objects travel to process workers (pickle) and give the same numbers."""
    from cevns_scan.analysis import Analysis

    ana = Analysis.from_config(data=str(DATA))
    lik = ana.likelihood
    toys = lik.toys("e", "mu")
    u0 = (0.8e-9) ** 2
    counts, centres, t = toys.pseudo_data(u0, 0.0, np.random.default_rng(3), 15)
    p = toys.plane
    s0 = p.sm + p.mx * u0
    for n, b0, ti in zip(counts[:, 0], centres[:, 0], t, strict=True):
        want = scipy_profile(s0, n, b0, p.sigma) - scipy_global(p.sm, n, b0, p.sigma)
        assert ti == pytest.approx(want, abs=1e-8)
    again = pickle.loads(pickle.dumps(toys)).statistics(u0, 0.0, np.random.default_rng(3), 15)
    assert np.array_equal(again, t)
    plane = pickle.loads(pickle.dumps(ana.plane("e", "mu")))
    mu = np.array([0.0, 1e-9])
    out = np.empty((2, 2))
    plane.evaluate(mu, mu, out)
    assert out[1, 0] == pytest.approx(lik.statistic([1e-9, 0, 0]), rel=1e-14)


@pytest.mark.filterwarnings("ignore::cevns_scan.errors.CevnsScanWarning")  # coarse grid
def test_neyman_runs_on_the_kind(ce):
    """--toys works: toy critical values follow the asymptotic forms within Monte Carlo error
    (~0.1 here): at mu = 0 on the boundary the 50:50 mixture of chi2_0 and chi2_1 (its 90 %
    point is chi2_1's 80 % point), far inside chi2_1."""
    from cevns_scan.analysis import Analysis

    ana = Analysis.from_config(data=str(DATA))
    res = ana.neyman("e-mu", grid=3, toys=2000, seed=2)
    assert np.all(np.isfinite(res.tcrit)) and np.all(res.tcrit_err < 0.2)
    assert abs(res.tcrit[0, 0] - stats.chi2.ppf(0.8, 1)) < 0.4
    assert abs(res.tcrit[-1, -1] - stats.chi2.ppf(0.9, 1)) < 0.5


def test_registry_finds_the_kind_by_suffix_and_name(ce, tmp_path):
    from cevns_scan.experiments import registry

    kind, spec = registry.recognise("runs/a.COUNT.toml")
    assert kind.name == "counting" and spec == "runs/a.COUNT.toml"
    assert registry.recognise("counting:x.toml")[0].name == "counting"
    assert "counting: a counting file" in registry.data_help()
    with pytest.raises(InputError, match="no such file"):
        registry.load(str(tmp_path / "missing.count.toml"))


def test_manifest_round_trip(ce):
    from cevns_scan.experiments import registry

    data = ce.data.load_counting(DATA)
    record = json.loads(json.dumps(ce.KIND.manifest(data)))
    back = registry.from_manifest(record, "scan.json")
    assert back.digest() == data.digest() and back.label == data.label == "argon-8b-demo"
    record["toml"] = record["toml"].replace("observed = 44", "observed = 45")
    with pytest.raises(InputError, match=r"scan\.json: the counting data do not match"):
        registry.from_manifest(record, "scan.json")


@pytest.mark.parametrize(("edit", "message"), [
    (("observed = 44", "observed = -1"), "key observed = -1 must be a count"),
    (("observed = 44", "observed = 4.5"), "key observed = 4.5 must be a count"),
    (("background_sigma = 5.0", "background_sigma = 0"), "background_sigma = 0 is out of"),
    (("window_kev_nr = [1.0, 10.0]", "window_kev_nr = [10.0, 1.0]"), "window_kev_nr = 1.0 is"),
    (("exposure_kg_day", "exposure_kg_days"), "unknown key 'exposure_kg_days'; did you mean "
                                              "'exposure_kg_day'"),
    (("background = 30.0", ""), "key background is missing"),
    (("label = ", "label = 3 #"), "key label must be a text"),
    (("observed = 44", "observed = "), "not valid TOML"),
])
def test_bad_files_are_one_line_errors(ce, tmp_path, edit, message):
    path = tmp_path / "bad.count.toml"
    path.write_text(DATA.read_text().replace(*edit))
    with pytest.raises(InputError) as err:
        ce.data.load_counting(path)
    text = str(err.value)
    assert message in text and "\n" not in text and text.startswith(str(path))


def test_config_section_and_fixed_background(ce):
    from cevns_scan.analysis import Analysis
    from cevns_scan.config import load_config, validate

    cfg = load_config()
    assert cfg.section("counting").background == "constrained"
    fixed = Analysis.from_config(cfg.replace(counting={"background": "fixed"}), str(DATA))
    assert fixed.likelihood.sigma == 0.0
    data = fixed.dataset
    s = fixed.likelihood.sm
    n, b = data.observed, data.background
    assert fixed.statistic([0, 0, 0]) == pytest.approx(
        2 * (s + b - n + n * np.log(n / (s + b))), rel=1e-13)
    with pytest.raises(InputError, match=r"unknown key \[counting\] 'backgrund'; did you mean "
                                         "'background'"):
        validate({"counting": {"backgrund": "fixed"}}, "my.toml")
    with pytest.raises(InputError, match=r"\[counting\] nodes"):
        validate({"counting": {"nodes": 2}}, "my.toml")


def test_warning_for_a_window_above_the_endpoint(ce, tmp_path):
    from cevns_scan.analysis import Analysis

    path = tmp_path / "wide.count.toml"
    path.write_text(DATA.read_text().replace("[1.0, 10.0]", "[1.0, 40.0]"))
    warnings = Analysis.from_config(data=str(path)).warnings()
    assert len(warnings) == 1 and "reaches above the largest 8B recoil on argon" in warnings[0]
    assert Analysis.from_config(data=str(DATA)).warnings() == []


def test_dataset_command_writes_a_readable_file(ce, cli):
    code, _, err = cli("dataset", "make-counting", "--observed", "12", "--background", "9.5",
                       "--background-sigma", "1.5", "--exposure-kg-day", "3652.5",
                       "--window", "2", "12", "--label", "my-run", "--out", "m.count.toml")
    assert code == 0, err
    data = ce.data.load_counting("m.count.toml")
    assert (data.label, data.observed, data.background, data.background_sigma,
            data.exposure_kg_day, data.window_kev_nr) == ("my-run", 12, 9.5, 1.5, 3652.5,
                                                          (2.0, 12.0))
    assert_one_line_error(cli("dataset", "make-counting", "--observed", "1", "--background", "1",
                              "--background-sigma", "1", "--exposure-kg-day", "1", "--window",
                              "2", "1", "--out", "n.count.toml"), "window_kev_nr")
    assert not Path("n.count.toml").exists()


# -- slow: installed as a package, the README's command --------------------------------------


def readme_command() -> list[str]:
    """The first code block of the example's README: one cevns-scan command."""
    text = (EXAMPLE / "README.md").read_text()
    block = re.search(r"^```[a-z]*\n(.*?)^```", text, re.S | re.M).group(1).strip()
    assert "\n" not in block and block.startswith("cevns-scan "), block
    return shlex.split(block)


def _can_build_offline() -> bool:
    import importlib.util

    import setuptools

    major, minor = (int(x) for x in setuptools.__version__.split(".")[:2])
    return (major, minor) >= (70, 1) or importlib.util.find_spec("wheel") is not None


@pytest.mark.slow
def test_readme_command_of_the_installed_example(tmp_path):
    """pip install the example into a temporary folder (nothing in this environment
    changes), run the README's first command, compare limits.json with scipy."""
    if not EXAMPLE.is_dir():
        pytest.skip("examples/ is not beside the tests (not a repository checkout)")
    # a copy: building writes build/ and *.egg-info next to the sources
    work = tmp_path / "checkout"
    shutil.copytree(EXAMPLE, work / "examples" / "counting_experiment",
                    ignore=shutil.ignore_patterns("build", "*.egg-info", "__pycache__"))
    site = tmp_path / "site"
    pip = [sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-cache-dir",
           "--disable-pip-version-check", "--target", str(site)]
    if _can_build_offline():  # with this environment's setuptools, no download
        pip += ["--no-build-isolation", "--no-index"]
    proc = subprocess.run([*pip, str(work / "examples" / "counting_experiment")],
                          capture_output=True, text=True, timeout=300)
    if proc.returncode and not _can_build_offline():
        pytest.skip("building the example needs setuptools >= 70.1 or wheel here, or a "
                    f"package index: {proc.stderr.strip().splitlines()[-1:]}")
    assert proc.returncode == 0, proc.stderr
    eps = (site / "cevns_scan_counting_example-0.1.0.dist-info" / "entry_points.txt")
    assert "counting = counting_experiment:KIND" in eps.read_text()

    env = dict(os.environ, PYTHONPATH=str(site), PATH=f"{BIN}{os.pathsep}{os.environ['PATH']}")
    argv = readme_command()
    proc = subprocess.run(argv, cwd=work, env=env, capture_output=True, text=True,
                          timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    out = work / argv[argv.index("--out") + 1]
    limits = json.loads((out / "limits.json").read_text())
    expected = json.loads((out / "counting_expected.json").read_text())
    run = json.loads((out / "run.json").read_text())
    assert run["experiments"][0]["kind"] == "counting" and limits["target"] == "Ar"

    data = tomllib.loads((work / argv[argv.index("--data") + 1]).read_text())
    window, exposure = tuple(data["window_kev_nr"]), data["exposure_kg_day"]
    sm, mm_e = quad_counts(window, exposure)
    assert expected["expected_sm"] == pytest.approx(sm, rel=1e-8)
    p = argon_8b().probabilities
    n, b0, sigma = data["observed"], data["background"], data["background_sigma"]
    for k, fl in enumerate(("e", "mu", "tau")):
        m = mm_e * p[k] / p[0]
        one, _ = scipy_one_dof_limit(n, b0, sigma, sm, m)
        assert np.isfinite(limits["one_dof"][f"mu_{fl}"])
        assert limits["one_dof"][f"mu_{fl}"] == pytest.approx(one, rel=1e-6)
    # 2 d.o.f.: one count sees m_e mu_e^2 + m_x mu_x^2, so the contour's extent along mu_e
    # is the on-axis crossing at chi2.ppf(0.9, 2), read off a 201 x 201 grid
    two, _ = scipy_one_dof_limit(n, b0, sigma, sm, mm_e, cl=stats.chi2.cdf(
        stats.chi2.ppf(0.9, 2), 1))
    for plane in ("e_mu", "e_tau"):
        assert limits["two_dof"][plane]["mu_e"] == pytest.approx(two, rel=1e-3)

    # the main environment never saw the example
    probe = subprocess.run([sys.executable, "-c", "from importlib.metadata import entry_points;"
                            "print(sorted(e.name for e in entry_points(group="
                            "'cevns_scan.experiments')))"], capture_output=True, text=True,
                           cwd=tmp_path)
    assert "counting" not in probe.stdout and "spectrum" in probe.stdout
