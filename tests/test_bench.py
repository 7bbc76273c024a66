"""scanner/bench.py: generic measurements only; each kind's own come from its ``bench`` hook.

The full ``cevns-scan bench --quick`` run is tests/test_repo_root.py (slow)."""

import time
from pathlib import Path

import numpy as np
from helpers import assert_one_line_error

from cevns_scan import bench
from cevns_scan.experiments import registry


def test_bench_names_no_experiment():
    """The generic benchmark holds no kind's or built-in dataset's name (issue 15)."""
    text = Path(bench.__file__).read_text().lower()
    for name, kind in registry.kinds().items():
        for word in (name, *kind.builtin):
            assert word.lower() not in text, word
    for word in ("xenon", "cdex", "germanium", "quench", "pull_chi2", "asimov"):
        assert word not in text, word


def test_bench_hooks_are_optional(monkeypatch):
    """kind_benches calls the hook of every kind that has one, and only those."""
    calls = []

    class Hooked:
        def __init__(self, name, hook):
            self.name, self.summary = name, f"{name} kind"
            if hook:
                self.bench = lambda quick, repeat: calls.append((name, quick, repeat)) or {
                    "rows": [{"quantity": "x", "seconds": 1.0}], "lines": [f"{name} line"]}

    fake = {"a": Hooked("a", True), "b": Hooked("b", False), "c": Hooked("c", True)}
    monkeypatch.setattr(registry, "kinds", lambda: fake)
    out = bench.kind_benches(True, 1, lambda s: None)
    assert list(out) == ["a", "c"] and calls == [("a", True, 1), ("c", True, 1)]
    assert out["c"]["lines"] == ["c line"]


def test_scipy_toy_time_stops_at_its_budget(monkeypatch):
    """At least one fit, at most ``most``, each from another start; the mean time of them."""
    import scipy.optimize

    starts = []
    monkeypatch.setattr(scipy.optimize, "minimize",
                        lambda f, x0, **kw: starts.append(tuple(x0)) or f(x0))

    class Quadratic:
        def statistic(self, mu):
            return float(np.sum(np.asarray(mu) ** 2))

        def mu_scale(self, flavour):
            return 1.0

    assert bench.scipy_toy_time(Quadratic(), 0.0) > 0 and len(starts) == 1
    starts.clear()
    bench.scipy_toy_time(Quadratic(), 1e9, most=3)
    assert len(set(starts)) == 3


def test_data_benches_time_each_dataset_and_the_combination():
    from cevns_scan.bench import data_benches

    rows = data_benches(["cdex10-asimov", "xenonnt-8b"], quick=True, repeat=1,
                        log=lambda s: None)
    assert [r["data"] for r in rows] == ["cdex10-asimov", "xenonnt-8b",
                                         "cdex10-asimov + xenonnt-8b"]
    assert all(r["seconds_per_point"] > 0 for r in rows)
    assert rows[0]["toys_per_s"] > 0 and rows[1]["toys_per_s"] > 0
    # the joint fit through a quadratic penalty has no toys: said, not hidden
    assert "toys_skipped" in rows[2]


def test_bench_checks_writability_before_running(in_tmp, cli):
    t0 = time.perf_counter()
    assert_one_line_error(cli("bench", "--json", "/proc/cevns-scan-x/b.json"), "--json")
    assert time.perf_counter() - t0 < 5  # refused before the 25 s of measurements
