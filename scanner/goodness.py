"""Goodness of fit from pseudo-experiments: the saturated-model p-value (issue 17, item 7).

For Poisson bins with few events the deviance -2 ln L_min (Baker-Cousins, i.e. against the
saturated model, plus the constraint terms) does not follow a chi^2 distribution, so its
asymptotic p-value means nothing (a "p = 0.999" from chi^2(242) on sparse bins). Its
distribution comes from toys instead: pseudo-experiments drawn from the best fit (moments and
nuisances at their fitted values, auxiliary measurements fluctuated), each fitted globally
as the data were; the p-value is the fraction at least as large as the data's,

    p = #{toys : -2 ln L_min(toy) >= -2 ln L_min(data)} / N,                           (G1)

with its binomial error sqrt(p (1 - p) / N). Toy block b (of :data:`BLOCK` toys) comes from
``SeedSequence(seed, spawn_key=(b,))``, so p does not depend on the number of workers.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from .errors import InputError, ParameterError

#: Toys per random-number block (the unit of parallel work).
BLOCK = 250


@dataclass(frozen=True)
class ToyGoodnessOfFit:
    """The toy p-value (G1) of one plane's best fit."""

    statistic: float
    toys: int
    seed: int
    exceed: int

    @property
    def p_value(self) -> float:
        return self.exceed / self.toys

    @property
    def p_value_err(self) -> float:
        p = self.p_value
        return math.sqrt(max(p * (1.0 - p), 1.0 / self.toys) / self.toys)

    def to_dict(self) -> dict:
        return {"statistic": self.statistic, "p_value": self.p_value,
                "p_value_err": self.p_value_err, "toys": self.toys, "seed": self.seed,
                "method": "saturated-model deviance, toys from the best fit (nuisances and "
                          "moments at their fitted values, auxiliary measurements fluctuated), "
                          "each fitted globally"}

    def __str__(self) -> str:
        if self.exceed == 0:
            return f"p < {1.0 / self.toys:.2g} from {self.toys} toys"
        return f"p = {self.p_value:.3g} +- {self.p_value_err:.2g} from {self.toys} toys"


def toy_goodness_of_fit(analysis, result, *, toys: int = 1000, seed: int = 0,
                        jobs: int | None = 1) -> ToyGoodnessOfFit:
    """The toy p-value (G1) of the best fit of a plane's :class:`~cevns_scan.results.PlaneResult`.

    Toys are drawn at the best fit (in a one-direction plane, any point of its valley gives
    the same model) with the likelihood's toys; their ``minima`` hook gives each toy's global
    minimum of -2 ln L.
    """
    from joblib import Parallel, delayed

    from .neyman import MIN_TOYS, point_rng
    from .scan import resolve_jobs

    if int(toys) < MIN_TOYS:
        raise ParameterError("gof_toys", toys, f"must be >= {MIN_TOYS} pseudo-experiments")
    pg = result.grid
    try:
        model = analysis.likelihood.toys(pg.flavour_x, pg.flavour_y)
    except InputError as exc:
        raise InputError(f"no toy goodness of fit for {analysis.label}: {exc}") from None
    if not hasattr(model, "minima"):
        raise InputError(f"the toys of {type(model).__name__} do not give their minima; no toy "
                         "goodness of fit for this likelihood")
    bf = result.best_fit
    u0, v0 = ((bf.point[0] ** 2, bf.point[1] ** 2) if bf is not None
              else (result.best[0] ** 2, result.best[1] ** 2))
    cuts = [*range(0, int(toys), BLOCK), int(toys)]

    def block(b):
        return model.minima(u0, v0, point_rng(seed, b), cuts[b + 1] - cuts[b])

    parts = Parallel(n_jobs=resolve_jobs(jobs), backend="threading")(
        delayed(block)(b) for b in range(len(cuts) - 1))
    minima = np.concatenate(parts)
    # a toy ties the data when equal to rounding: count it as at least as large
    tol = 1e-9 * max(1.0, abs(result.chi2_min))
    exceed = int(np.sum(minima >= result.chi2_min - tol))
    return ToyGoodnessOfFit(float(result.chi2_min), int(toys), int(seed), exceed)
