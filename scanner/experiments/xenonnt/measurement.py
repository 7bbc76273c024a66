"""The Standard-Model measurement of the XENONnT release: the 8B flux and the CEvNS significance.

Also the expected events per component (pre- and post-fit) and their projections on the four
observables (the figure of observed against expected events).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from ..binned_poisson import Significance, nested_significance
from .likelihood import I_FLUX, I_U, I_V, PoissonLikelihood

#: How the significance is computed (the method string of the measurement's JSON).
METHOD = ("profile likelihood, 8B flux free, mu = 0; q0 = -2 ln L(8B CEvNS off: flux_8B = 0) "
          "- -2 ln L(best fit), a nested test: every other parameter profiled in both "
          "hypotheses and hep CEvNS fixed at the model's flux in both; significance sqrt(q0) "
          "(one parameter on its boundary)")


@dataclass(frozen=True)
class SMMeasurement:
    """The 8B CEvNS measurement at mu = 0 with the 8B flux free (no SNO constraint).

    ``flux`` and ``interval`` in cm^-2 s^-1 (68 % CL, Delta(-2 ln L) = 1, nuisances
    profiled); ``q0`` = -2 ln L(no 8B CEvNS: flux_8B = 0) - the best fit, a nested test
    (hep CEvNS fixed at the model's flux in both hypotheses, every other nuisance profiled in
    both); ``significance`` = sqrt(q0) (Wilks, one parameter at its boundary); ``test`` holds
    the test with its optional toy-based p-value; ``signal_events`` are the fitted CEvNS
    events per run (8B and hep).
    """

    flux: float
    interval: tuple[float, float]
    q0: float
    significance: float
    signal_events: tuple[float, ...]
    background_events: tuple[float, ...]
    observed_events: tuple[int, ...]
    test: Significance | None = field(default=None, compare=False)
    theta: np.ndarray | None = field(default=None, repr=False, compare=False)

    def summary_line(self) -> str:
        """One line: the flux with its interval and the CEvNS significance."""
        lo, hi = self.interval
        sig = self.test.text() if self.test is not None else f"{self.significance:.2f} sigma"
        return (f"8B flux {self.flux:.3g} cm^-2 s^-1, 68 % CL [{lo:.3g}, {hi:.3g}]; 8B CEvNS "
                f"significance {sig} (nested test, hep fixed)")

    def to_dict(self) -> dict:
        return {"flux_8B_cm2_s": self.flux, "flux_68cl_cm2_s": list(self.interval),
                "q0": self.q0, "significance_sigma": self.significance,
                "signal_events_per_run": list(self.signal_events),
                "background_events_per_run": list(self.background_events),
                "observed_events_per_run": list(self.observed_events),
                **({"significance_toys": self.test.to_dict().get("toys")}
                   if self.test is not None and self.test.n_toys else {}),
                "method": METHOD}


def component_events(lik: PoissonLikelihood, theta: np.ndarray) -> dict[str, np.ndarray]:
    """Expected events per run of each component at ``theta`` (mu = 0): name -> (R,)."""
    from ...kernels.poisson_toys import expected_counts

    zero = np.zeros_like(lik.templates.mm[..., 0])
    model = lik.kernel_model(zero, zero)
    n_runs = len(lik.release.runs)
    stack = model.tmpl
    out = {}
    names = [n for n in ("8B", "hep") if n in lik.templates.components for _ in range(3)]
    labels = [*(f"CEvNS {n}" for n in names), *(f"AC {r}" for r in lik.release.runs), "ER",
              "neutron"]
    for k, label in enumerate(labels):
        if label.startswith("CEvNS") and model.coef_index[k] != 0:
            continue
        single = model._replace(tmpl=stack[k:k + 1], morph=model.morph[k:k + 1],
                                coef_index=model.coef_index[k:k + 1], mult=model.mult[k:k + 1])
        lam = expected_counts(single, theta)
        key = label.split(" sr")[0] if label.startswith("AC") else label
        out[key] = out.get(key, 0) + lam.reshape(n_runs, -1).sum(axis=1)
    return out


def sm_measurement(lik: PoissonLikelihood, toys: int = 0, seed: int = 0
                   ) -> tuple[SMMeasurement, np.ndarray]:
    """Fit mu = 0 with the 8B flux free: the measurement and its best-fit parameters.

    The significance is the nested test of 8B CEvNS (:func:`~..binned_poisson.
    nested_significance` with the signal ``flux_8B``); ``toys`` > 0 adds its toy-based value
    (seeded by ``seed``).
    """
    from scipy import optimize

    d_hat, theta = lik.profile_at(np.zeros(3), flux="free")
    test = nested_significance(lik, "flux_8B", toys=toys, seed=seed, flux="free")
    q0 = test.q0
    f_hat = theta[I_FLUX]

    def excess(f):
        return lik.profile_at(np.zeros(3), flux="free", fixed={"flux_8B": f})[0] - d_hat - 1.0

    lo = 0.0 if excess(0.0) <= 0 else optimize.brentq(excess, 0.0, f_hat, xtol=1e-6)
    hi = f_hat * 2 + 1.0
    while excess(hi) < 0:
        hi *= 2
    hi = optimize.brentq(excess, f_hat, hi, xtol=1e-6)
    events = component_events(lik, theta)
    signal = sum(v for k, v in events.items() if k.startswith("CEvNS"))
    background = sum(v for k, v in events.items() if not k.startswith("CEvNS"))
    obs = np.asarray(lik.release.observed).sum(axis=1)
    flux = lik.flux_8b_model
    return SMMeasurement(float(f_hat * flux), (float(lo * flux), float(hi * flux)), float(q0),
                         float(np.sqrt(q0)), tuple(map(float, signal)),
                         tuple(map(float, background)), tuple(int(n) for n in obs), test,
                         theta), theta


def projections(lik: PoissonLikelihood, theta: np.ndarray, mu=None) -> dict:
    """Observed and expected events projected on each observable (summed over runs).

    Returns ``{observable: {"observed": (3,), component: (3,), ..., "MM": (3,)}}``; the
    components at ``theta`` (mu = 0), ``MM`` the extra events of the moments ``mu`` (mu_B).
    """
    from ...kernels.poisson_toys import expected_counts

    rel = lik.release
    n_runs = len(rel.runs)
    shape = (n_runs, 3, 3, 3, 3)
    zero = np.zeros_like(lik.templates.mm[..., 0])
    base = lik.kernel_model(zero, zero)
    per_bin = {}
    labels = []
    for name in ("8B", "hep"):
        if name in lik.templates.components:
            labels += [f"CEvNS {name}", None, None]
    labels += ["AC"] * n_runs + ["ER", "neutron"]
    for k, label in enumerate(labels):
        if label is None:
            continue
        single = base._replace(tmpl=base.tmpl[k:k + 1], morph=base.morph[k:k + 1],
                               coef_index=base.coef_index[k:k + 1], mult=base.mult[k:k + 1])
        key = "CEvNS (SM)" if label.startswith("CEvNS") else label
        per_bin[key] = per_bin.get(key, 0) + expected_counts(single, theta)
    if mu is not None:
        mu2 = (np.asarray(mu, dtype=float) / lik.scale) ** 2
        mm = lik.kernel_model((lik.templates.mm * lik.scale**2) @ mu2, zero)
        th = theta.copy()
        th[I_U], th[I_V] = 1.0, 0.0
        per_bin["MM"] = expected_counts(mm, th) - expected_counts(mm._replace(
            coef_index=np.where(mm.coef_index == 1, 0, mm.coef_index),
            tmpl=np.where((mm.coef_index == 1)[:, None, None, None], 0.0, mm.tmpl)), th)
    per_bin["observed"] = np.asarray(rel.observed, dtype=float).ravel()
    out = {}
    for axis, name in enumerate(rel.observables):
        others = tuple(a + 1 for a in range(4) if a != axis)
        out[name] = {k: v.reshape(shape).sum(axis=(0, *others)) for k, v in per_bin.items()}
    return out


def limit_projections(lik: PoissonLikelihood, mu) -> tuple[dict, np.ndarray]:
    """:func:`projections` at the moments ``mu`` (mu_B) with the nuisances re-profiled there
    (the fit the limit itself makes), and those parameters."""
    mu = np.asarray(mu, dtype=float)
    _, theta = lik.profile_at(mu)
    return projections(lik, theta, mu), theta
