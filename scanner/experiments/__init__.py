"""Experiments: a dataset, a response and a likelihood (docs/design.md §1).

* A :class:`Response` turns the physics model's recoil spectra into expected rates or counts
  in the analysis bins, per flux component, SM and magnetic-moment parts separately.
* A :class:`Likelihood` turns expected and observed values into the test statistic
  -2 ln L(mu) profiled over its nuisance parameters, at one point or on a chunk of a plane.
* An :class:`Experiment` bundles the three; an :class:`~cevns_scan.analysis.Analysis` is the
  physics model plus one or more experiments. The scan driver only ever asks for a
  :class:`PlaneStatistic`; it does not know which likelihood it evaluates.

Implementations: :mod:`.quenched` (Lindhard quenching into keV_ee bins) and :mod:`.gaussian`
(the pull chi^2 of eq. 18, profiled analytically).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class PlaneStatistic(Protocol):
    """-2 ln L profiled over the nuisances on a grid of one (mu_x, mu_y) plane.

    Must be picklable (it travels to process and dask workers) and deterministic: a point's
    value may not depend on which chunk of rows it is computed in.
    """

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray) -> None:
        """Fill ``out[i, k]`` with the statistic at (mu_x[i], mu_y[k]) in mu_B."""


@runtime_checkable
class Response(Protocol):
    """How recoil spectra become expected values in an experiment's analysis bins."""

    def templates(self, model) -> Any:
        """Per flux component: SM and magnetic-moment (per mu_B^2, per flavour) expectations."""

    def write_outputs(self, experiment, out, result, figures: bool = True) -> None:
        """Write the experiment's own files (templates, expectations, figures) into ``out``."""


@runtime_checkable
class Likelihood(Protocol):
    """-2 ln L(mu) of one experiment, its nuisance parameters profiled."""

    #: Number of data points (bins) entering the goodness of fit.
    n_data: int
    #: Nuisance parameters fitted without a constraint (they reduce the degrees of freedom).
    n_unconstrained: int

    def statistic(self, mu) -> float:
        """-2 ln L profiled over the nuisances at (mu_e, mu_mu, mu_tau) in mu_B."""

    def plane(self, flavour_x: str, flavour_y: str) -> PlaneStatistic:
        """The compiled statistic of one plane (the third moment at zero)."""

    def mu_scale(self, flavour: str) -> float:
        """A natural scale of mu_flavour (mu_B): its signal is about one error per bin."""

    def moment_rank(self, flavour_x: str, flavour_y: str) -> int:
        """Independent signal directions of the plane's two moments (1 or 2)."""

    def describe(self) -> dict:
        """What run.json records about this likelihood (nuisances, widths, choices)."""


@dataclass(frozen=True)
class Experiment:
    """A dataset with its response and likelihood, on its target (element symbol)."""

    name: str
    dataset: Any
    response: Response
    templates: Any
    likelihood: Likelihood
    target: str = ""

    def write_outputs(self, out, result, figures: bool = True) -> None:
        """Write this experiment's own files of a results folder (its response knows them)."""
        self.response.write_outputs(self, out, result, figures)
