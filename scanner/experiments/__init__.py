"""Experiments: a dataset, a response and a likelihood, behind one registry of kinds.

* :mod:`.protocols` writes down what an experiment is made of (dataset, response, likelihood,
  toys, plane statistic) and what a kind declares;
* :mod:`.registry` finds the kinds (entry-point group ``cevns_scan.experiments``, built-in
  ones too) and gives each ``--data`` text to the kind that recognises it;
* :mod:`.joint` fits several experiments together, nuisances shared by name;
* :mod:`.binned_poisson` holds what counting experiments share (the compiled binned Poisson
  likelihood, its plane statistic and toys).

Each kind lives in its own folder: :mod:`.spectrum` (the paper's CDEX-like keV_ee spectrum)
and :mod:`.xenonnt` (the XENONnT solar-8B release). Generic machinery never imports them.
"""

from .protocols import (
    Dataset,
    DatasetCommand,
    Experiment,
    ExperimentKind,
    Likelihood,
    PlaneStatistic,
    Response,
    Toys,
)
from .registry import kind, kinds, register, unregister

__all__ = ["Dataset", "DatasetCommand", "Experiment", "ExperimentKind", "Likelihood",
           "PlaneStatistic", "Response", "Toys", "kind", "kinds", "register", "unregister"]
