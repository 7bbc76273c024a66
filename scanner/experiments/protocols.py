"""The protocols of an experiment: dataset, response, likelihood, toys, plane statistic, kind.

An **experiment** is a dataset seen through a response and judged by a likelihood
(docs/design.md §1). An **experiment kind** is the plug-in that knows one family of datasets
(the CDEX-like keV_ee spectrum, the XENONnT release, ...): how to recognise, load, configure,
build, checkpoint and write it. Generic machinery (analysis, scan, contours, limits, Neyman,
results) sees only these protocols; it never names a concrete experiment.

Writing a new kind: ``docs/experiments.md`` and the worked example
``examples/counting_experiment/``.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, NamedTuple, Protocol, runtime_checkable

import numpy as np


@runtime_checkable
class Dataset(Protocol):
    """Observed data of one experiment, validated when it was loaded."""

    #: Name of the experiment kind that loaded it (:class:`ExperimentKind` ``name``).
    kind: str
    #: Short name, unique within an analysis (the label of outputs and figures).
    label: str
    #: Where the data came from (a file, a release folder, a built-in name).
    source: str
    #: What figures and summaries must say about the data ("" for real data; synthetic data
    #: such as an Asimov dataset say so here).
    description: str
    #: Extra facts recorded in run.json (exposure, citation, licence ...).
    metadata: Mapping

    def digest(self) -> str:
        """SHA-256 of the numbers (a checkpoint belongs to exactly these data)."""


@runtime_checkable
class PlaneStatistic(Protocol):
    """-2 ln L profiled over the nuisances on a grid of one (mu_x, mu_y) plane.

    The Wilks scan's statistic fills one value per point; a Neyman plane fills
    ``channels`` values per point (the statistic, then its toy critical values). Must be
    picklable (it travels to process and dask workers) and deterministic: a point's value may
    not depend on which chunk of rows it is computed in (``row0`` is the chunk's first row).
    """

    def evaluate(self, mu_x: np.ndarray, mu_y: np.ndarray, out: np.ndarray) -> None:
        """Fill ``out[i, k]`` (``out[i, k, :]`` with channels) at (mu_x[i], mu_y[k]), mu_B."""


@runtime_checkable
class Toys(Protocol):
    """Pseudo-experiments of one plane of a likelihood (the profile construction).

    At a tested point (u0, v0) = (mu_x^2, mu_y^2) in mu_B^2 the nuisances are fitted to the
    data; toys are drawn from the model there (auxiliary measurements fluctuated too), and
    each toy gets t = -2 ln L(u0, v0) - min over u, v >= 0, both profiled.
    """

    def statistics(self, u0: float, v0: float, rng: np.random.Generator, n: int) -> np.ndarray:
        """t of ``n`` toys at (u0, v0)."""

    def pseudo_data(self, u0: float, v0: float, rng: np.random.Generator, n: int) -> tuple:
        """``n`` pseudo-experiments as data: (observation, auxiliary centres, t)."""

    def with_data(self, observation: np.ndarray, auxiliary: np.ndarray) -> Toys:
        """The same model with one pseudo-experiment as the data (for coverage)."""

    # Optional hooks of toys (expected limits, :mod:`cevns_scan.expected`):
    #
    # asimov(u0, v0) -> (observation, auxiliary)
    #     The expected data at (u0, v0): the model's expectation with the nuisances at their
    #     conditional fit to the data, the auxiliary centres at the fitted values.
    # draw_data(u0, v0, rng, n) -> (observation, auxiliary)
    #     ``pseudo_data`` without the statistics (cheaper); the same draws for the same rng.
    # data_plane() -> PlaneStatistic
    #     -2 ln L of the toys' own data (``with_data``) on the plane, nuisances profiled.

    # Optional (the toy goodness of fit, :mod:`cevns_scan.goodness`, needs it):
    #
    # def minima(self, u0, v0, rng, n) -> np.ndarray:
    #     """The global minimum over u, v >= 0 of -2 ln L (nuisances profiled) of each of
    #     ``n`` toys drawn at (u0, v0) as :meth:`statistics` draws them: the goodness-of-fit
    #     statistic of the saturated-model comparison, toy by toy."""


class NuisanceFit(NamedTuple):
    """One nuisance parameter at a fit (:meth:`Likelihood.nuisances_at`).

    ``value`` the fitted value; ``centre`` and ``sigma`` its Gaussian constraint (``sigma``
    0 or infinite: unconstrained, no pull); ``error`` its 1-sigma uncertainty at the fixed
    moments (NaN when the likelihood does not compute it); ``lower`` the smallest physical
    value (a fit below it is unphysical, e.g. a negative background); ``unit`` of value,
    centre, sigma and error ("" for a factor or a pull in units of its sigma).
    """

    value: float
    centre: float
    sigma: float
    error: float = float("nan")
    lower: float = float("-inf")
    unit: str = ""

    @property
    def constrained(self) -> bool:
        return bool(0.0 < self.sigma < float("inf"))

    @property
    def pull(self) -> float:
        """(value - centre) / sigma, NaN when unconstrained."""
        return (self.value - self.centre) / self.sigma if self.constrained else float("nan")


@runtime_checkable
class Response(Protocol):
    """How recoil spectra become expected values in an experiment's analysis bins."""

    def templates(self, model) -> Any:
        """Per flux component: SM and magnetic-moment (per mu_B^2, per flavour) expectations."""


@runtime_checkable
class Likelihood(Protocol):
    """-2 ln L(mu) of one experiment (or of several combined), its nuisances profiled."""

    #: Number of data points (bins) entering the goodness of fit.
    n_data: int
    #: Nuisance parameters fitted without a constraint (they reduce the degrees of freedom).
    n_unconstrained: int
    #: A caveat on the asymptotic goodness of fit ("" when the chi2 distribution holds).
    #: A non-empty note (e.g. Poisson bins with few events) means that no asymptotic p-value
    #: is reported: the chi2 distribution of -2 ln L does not hold, and a p-value must come
    #: from toys (:func:`cevns_scan.goodness.toy_goodness_of_fit`).
    gof_note: str
    #: Names of nuisance parameters this likelihood can share with others in a joint fit
    #: (e.g. ``"flux_8B"``): experiments that declare the same name get one parameter.
    shared: tuple[str, ...]

    def statistic(self, mu) -> float:
        """-2 ln L profiled over the nuisances at (mu_e, mu_mu, mu_tau) in mu_B."""

    def plane(self, flavour_x: str, flavour_y: str) -> PlaneStatistic:
        """The compiled statistic of one plane (the third moment at zero)."""

    def toys(self, flavour_x: str, flavour_y: str) -> Toys:
        """Pseudo-experiments of one plane (the Neyman construction and coverage)."""

    def mu_scale(self, flavour: str) -> float:
        """A natural scale of mu_flavour (mu_B): its signal is about one error per bin."""

    def moment_rank(self, flavour_x: str, flavour_y: str) -> int:
        """Independent signal directions of the plane's two moments (1 or 2)."""

    def describe(self) -> dict:
        """What run.json records about this likelihood (nuisances, widths, choices)."""

    # Optional hooks (generic code looks for them with getattr):
    #
    # sm_measurement(toys: int = 0, seed: int = 0) -> measurement
    #     The experiment's Standard-Model measurement at mu = 0 (a signal strength or flux
    #     with its interval and the signal's significance, a nested test), with ``toys`` > 0
    #     pseudo-experiments for a toy-based significance. The object has ``summary_line()``
    #     (one line for the printed summary) and ``to_dict()`` (JSON types).

    # Optional hooks, used when present (generic code checks with getattr):
    #
    # def nuisances_at(self, mu) -> dict[str, NuisanceFit]:
    #     """The nuisance parameters profiled at (mu_e, mu_mu, mu_tau) in mu_B, by name, with
    #     their constraints (the best-fit nuisances and pulls of limits.json)."""
    #
    # def moment_columns(self, flavour_x, flavour_y) -> np.ndarray | None:
    #     """(n, 2): the two moments' signal templates over all bins; for the rank of joint
    #     fits and the weights of a one-direction plane (None when not available)."""


@dataclass(frozen=True)
class DatasetCommand:
    """A ``cevns-scan dataset NAME`` subcommand contributed by an experiment kind.

    ``add_arguments(parser)`` declares its options on an argparse parser; ``run(args)`` does
    the work and returns the exit code. Library errors raised inside are printed as one line.
    ``inputs`` lists its input-path options as (argparse dest, option) pairs: an output that
    resolves to one of them is refused (:func:`cevns_scan.cli.input_paths`).
    """

    name: str
    help: str
    example: str
    add_arguments: Any
    run: Any
    inputs: tuple = ()


@dataclass(frozen=True)
class Variation:
    """One modelling choice varied (``cevns-scan systematics``, :mod:`cevns_scan.systematics`).

    ``overrides`` are config keys (``section -> key -> value``) applied before the analysis is
    built; ``transform`` (or None) maps the built :class:`Experiment` of the kind to the varied
    one (e.g. a likelihood with a nuisance parameter held fixed).
    """

    name: str
    description: str
    overrides: Mapping = field(default_factory=dict)
    transform: Any = None


@dataclass(frozen=True)
class Experiment:
    """A dataset with its response, templates and likelihood, on its target."""

    name: str
    dataset: Any
    response: Response
    templates: Any
    likelihood: Likelihood
    target: str = ""
    kind: str = ""

    def __repr__(self) -> str:
        return f"Experiment({self.name!r}, kind {self.kind!r}, target {self.target})"

    def write_outputs(self, out, result, figures: bool = True) -> None:
        """Write this experiment's own files into the results folder ``out`` (its kind's)."""
        from .registry import kind

        kind(self.kind).write_outputs(self, out, result, figures)


@runtime_checkable
class ExperimentKind(Protocol):
    """The plug-in of one family of datasets, registered under the entry-point group
    ``cevns_scan.experiments`` (built-in kinds too).

    Attributes
    ----------
    name : str
        Unique kind name (``"spectrum"``, ``"xenonnt"``); ``--data NAME:SPEC`` selects it.
    summary : str
        One line: what the experiment is.
    data_help : str
        How a user names its data with ``--data`` (built-in names, file types, folders).
    builtin : tuple of str
        Built-in dataset names it provides (e.g. ``("xenonnt-8b",)``).
    default_data : str or None
        The dataset of an analysis given no data (one kind has it: ``"cdex10-asimov"``).
    config_sections : mapping
        Section name -> frozen dataclass of its keys (fields declared with
        :func:`cevns_scan.config.config_key`); the config schema is assembled from these.
    config_defaults : str
        TOML text of the sections' default values (with comments: the packaged defaults).
    config_moved : mapping
        ``(old section, key) -> (section, key)`` for keys that moved here (accepted one
        release longer, with a note).
    output_files : tuple of str
        File names (or glob patterns) it writes into a results folder.
    dataset_commands : tuple of DatasetCommand
        Its ``cevns-scan dataset`` subcommands.
    shares : tuple of str, optional
        The nuisance parameters its likelihood can share with other experiments, by name
        (``"flux_8B"``, ``"flux_sns"``); joint fits pair experiments by these names
        (:mod:`cevns_scan.experiments.joint`). The likelihood's ``shared`` is what counts;
        this declaration documents it (``cevns_scan.experiments.registry.shared_names``).

    Notes
    -----
    Optional hooks (the registry does not require them; generic code looks them up with
    ``getattr``):

    ``check_config(config) -> None``
        Cross-key checks of its own sections in a validated config; raises a one-line
        :class:`~cevns_scan.errors.InputError` naming the config source and key.
    ``bench(quick: bool, repeat: int) -> dict``
        Its own measurements for ``cevns-scan bench`` (template build, naive baselines, the
        per-point cost of its likelihood ...), on its built-in data; ``quick`` asks for small
        sizes (seconds), ``repeat`` for the number of repeated runs whose median is taken.
        Returns ``{"rows": [dict, ...], "lines": [str, ...]}``: ``rows`` go into the JSON
        under ``experiments.<name>`` (JSON types, each with a ``"quantity"`` key), ``lines``
        are printed in the table, indented by the caller.

    A worked example of a kind from another package: ``examples/counting_experiment/``,
    walked through in ``docs/experiments.md`` ("Writing an experiment").
    """

    name: str
    summary: str
    data_help: str
    builtin: tuple[str, ...]
    default_data: str | None
    config_sections: Mapping[str, type]
    config_defaults: str
    config_moved: Mapping[tuple[str, str], tuple[str, str]]
    output_files: tuple[str, ...]
    dataset_commands: tuple[DatasetCommand, ...]

    def recognises(self, spec: str) -> bool:
        """True when the ``--data`` text ``spec`` names this kind's data (a built-in name, a
        file of its format, a release folder as published). Must be cheap and not raise."""

    def load(self, spec: str) -> Dataset:
        """Read and validate the data (one-line :class:`~cevns_scan.errors.InputError` on a
        bad file); nothing is computed from the physics model yet."""

    def build(self, data, model, config) -> Experiment:
        """The experiment of ``data`` with the physics ``model`` and the validated config."""

    def manifest(self, data: Dataset) -> dict:
        """How a checkpoint manifest records the data (JSON types; ``from_manifest`` reads it
        back). Must contain ``"kind": name``."""

    def from_manifest(self, record: dict, where: str) -> Dataset:
        """The data a manifest recorded (checked against its digest; ``where`` names the
        manifest in error messages)."""

    def write_outputs(self, experiment: Experiment, out, result, figures: bool = True) -> None:
        """Write the experiment's own files into the results folder ``out``."""

    def warnings(self, experiment: Experiment, analysis) -> list[str]:
        """Caveats about the inputs (one line each, with the fix), e.g. a germanium quenching
        factor used with another target."""

    # Optional hooks (generic code looks for them with getattr):
    #
    # systematics(config) -> sequence of Variation
    #     The kind's modelling choices worth varying, relative to ``config`` (efficiency,
    #     yields, flavour probabilities, spectra, widths ...): ``cevns-scan systematics``
    #     refits with each (:mod:`cevns_scan.systematics`).
