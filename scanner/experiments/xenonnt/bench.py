"""The XENONnT kind's part of ``cevns-scan bench``: its compiled profile against scipy.

The generic benchmark (:mod:`cevns_scan.bench`) calls :func:`bench` through the kind's
optional ``bench`` hook (:class:`~cevns_scan.experiments.protocols.ExperimentKind`).
"""

from __future__ import annotations

from ..binned_poisson import profile_timing

#: The (e, mu) square the profile is timed on, 0 to this mu in mu_B (the limits are ~1e-9).
MU_MAX = 3e-9


def bench(quick: bool, repeat: int) -> dict:
    """Seconds per grid point of the profiled likelihood of the built-in release (9 nuisances,
    compiled Newton) and of one scipy L-BFGS-B fit of the same deviance."""
    from ...analysis import Analysis
    from . import RELEASE_NAME

    lik = Analysis.from_config(data=RELEASE_NAME).experiments[0].likelihood
    x = profile_timing(lik, MU_MAX, 21 if quick else 101, repeat)
    row = {"quantity": "profile_per_point", "dataset": RELEASE_NAME, **x}
    line = (f"XENONnT likelihood, {x['nuisances']} nuisances profiled: "
            f"{1e6 * x['seconds_per_point']:.1f} us per grid point ({x['grid']}^2 plane, "
            "1 worker); one scipy L-BFGS-B fit (numerical gradient) "
            f"{1e3 * x['scipy_fit_s']:.1f} ms ({x['ratio']:.0f} x)")
    return {"rows": [row], "lines": [line]}
