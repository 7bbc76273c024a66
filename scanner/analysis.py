"""An analysis: the physics model plus one or more experiments (docs/design.md §1).

>>> import cevns_scan as cs
>>> ana = cs.Analysis.from_config(cs.load_config(), data="cdex10-asimov")
>>> res = ana.scan("e-mu", grid=101)          # a PlaneResult: map, contours, limits, fit
>>> res.limits["mu_e"], res.gof.p_value        # doctest: +SKIP

The scan driver only asks an analysis for a :class:`~cevns_scan.experiments.PlaneStatistic`;
the thresholds, contours and limits only need :meth:`Analysis.statistic`.
"""

from __future__ import annotations

import dataclasses
import functools
import hashlib
import time
from dataclasses import dataclass

import numpy as np

from .config import MIN_GRID, Config, load_config, parse_plane
from .errors import ParameterError, warn
from .experiments import registry
from .experiments.protocols import Experiment
from .grid import PlaneGrid
from .limits import axis_crossing, check_cl, one_dof_intervals, threshold
from .model import Model, build_model


def load_data(spec):
    """Read a dataset spec with the kind that recognises it; loaded data pass through.

    Reading the files first reports a bad path or a malformed file before anything is
    computed (or compiled). ``None`` is the default dataset.
    """
    return registry.load(registry.default_spec() if spec is None else spec)


def build_experiment(spec, model: Model, config: Config) -> Experiment:
    """One experiment from a dataset spec or loaded data (see :meth:`Analysis.from_config`)."""
    data = load_data(spec)
    return registry.kind_of(data).build(data, model, config)


@dataclass(frozen=True)
class Analysis:
    """A configured physics model with its experiments.

    Build one with :meth:`from_config`; scan a plane with :meth:`scan`, or every configured
    plane with :meth:`run`.
    """

    config: Config
    model: Model
    experiments: tuple[Experiment, ...]

    def __repr__(self) -> str:
        return (f"Analysis({self.label} on {self.target_label}, preset "
                f"{self.config.physics.preset}, CL {self.cl:g})")

    # -- construction ----------------------------------------------------------------------

    @classmethod
    def from_config(cls, config: Config | None = None, data=None) -> Analysis:
        """The analysis of ``config`` (default: the paper's) on ``data``.

        ``data`` is one dataset or a list of them: a text that an experiment kind recognises
        (a built-in name such as ``'cdex10-asimov'``, the default, or ``'xenonnt-8b'``; a
        file; a release folder; ``'KIND:SPEC'`` to name the kind, see
        :func:`cevns_scan.experiments.kinds`) or data a kind has loaded. Several experiments
        are fitted together, nuisances shared by name (:mod:`cevns_scan.experiments.joint`).
        """
        config = config if config is not None else load_config()
        specs = list(data) if isinstance(data, list | tuple) else [data]
        specs = [load_data(spec) for spec in specs]  # bad files fail before any computation
        model = build_model(config)
        experiments = tuple(build_experiment(spec, model, config) for spec in specs)
        labels = [e.name for e in experiments]
        if len(set(labels)) != len(labels):
            raise ParameterError("data", " ".join(labels), "names one dataset twice")
        return cls(config, model, experiments)

    # -- what the experiments share ----------------------------------------------------------

    @property
    def cl(self) -> float:
        return self.config.fit.cl

    def with_cl(self, cl: float) -> Analysis:
        """The same analysis at confidence level ``cl`` in (0, 1) (``[fit] cl``)."""
        cl = check_cl(cl)
        if cl == self.cl:
            return self
        return dataclasses.replace(self, config=self.config.replace(fit={"cl": cl}))

    @property
    def dataset(self):
        """The dataset of the first experiment."""
        return self.experiments[0].dataset

    @property
    def templates(self):
        """The templates of the first experiment."""
        return self.experiments[0].templates

    @property
    def label(self) -> str:
        return " + ".join(e.name for e in self.experiments)

    @property
    def target_label(self) -> str:
        """The experiments' targets, e.g. ``'Ge'`` or ``'Ge + Xe'``."""
        return " + ".join(dict.fromkeys(e.target for e in self.experiments))

    @property
    def caveat(self) -> str:
        """What the figures and summaries must say about the data (synthetic datasets)."""
        return "; ".join(e.dataset.description for e in self.experiments
                         if e.dataset.description)

    @property
    def n_data(self) -> int:
        return self.likelihood.n_data

    @property
    def n_unconstrained(self) -> int:
        return self.likelihood.n_unconstrained

    @property
    def gof_note(self) -> str:
        """A caveat on the asymptotic goodness of fit (e.g. few events per Poisson bin)."""
        return self.likelihood.gof_note

    @functools.cached_property
    def likelihood(self):
        """The likelihood of all experiments together (nuisances shared by name)."""
        from .experiments.joint import combine

        return combine(e.likelihood for e in self.experiments)

    def warnings(self) -> list[str]:
        """Every experiment kind's caveats about the inputs (one line each, with the fix)."""
        out = []
        for e in self.experiments:
            out += registry.kind(e.kind).warnings(e, self)
        return list(dict.fromkeys([*self.config.notes, *out]))

    def statistic(self, mu) -> float:
        """-2 ln L (chi^2 for eq. 18) at (mu_e, mu_mu, mu_tau) in mu_B, nuisances profiled."""
        return float(self.likelihood.statistic(mu))

    def constrains(self, flavour: str) -> bool:
        """Whether any experiment's data constrain the moment of ``flavour`` (a pion
        decay-at-rest beam has no nu_tau: COHERENT alone says nothing on mu_tau)."""
        from .experiments.parts import constrains

        return constrains(self.likelihood, flavour)

    @property
    def constrained(self) -> tuple[str, ...]:
        """Flavours whose moment some experiment of the analysis constrains."""
        from .config import FLAVOURS

        return tuple(f for f in FLAVOURS if f not in self.unconstrained)

    @property
    def unconstrained(self) -> tuple[str, ...]:
        """Flavours whose moment no experiment of the analysis constrains."""
        from .config import FLAVOURS

        return tuple(f for f in FLAVOURS if not self.constrains(f))

    def mu_scale(self, flavour: str) -> float:
        """A natural scale of mu_flavour (mu_B): the most sensitive experiment's."""
        return self.likelihood.mu_scale(flavour)

    def moment_rank(self, flavour_x: str, flavour_y: str) -> int:
        """Independent signal directions of a plane's two moments over all experiments."""
        return self.likelihood.moment_rank(flavour_x, flavour_y)

    def plane(self, flavour_x: str, flavour_y: str):
        """The compiled statistic of the (mu_x, mu_y) plane, for the scan driver."""
        return self.likelihood.plane(flavour_x, flavour_y)

    def valley_weights(self, flavour_x: str, flavour_y: str):
        """(weights, normalisation) of s = w_x mu_x^2 + w_y mu_y^2 in a one-direction plane,
        or None when the data constrain two directions (:func:`cevns_scan.bestfit.valley_weights`).
        """
        from .bestfit import valley_weights

        return valley_weights(self, flavour_x, flavour_y)

    def digest(self) -> str:
        """Hash of everything a map depends on: config, datasets' numbers, version."""
        from . import __version__

        h = hashlib.sha256(self.config.to_json().encode())
        for e in self.experiments:
            h.update(e.dataset.digest().encode())
        h.update(__version__.encode())
        return h.hexdigest()

    # -- grids -------------------------------------------------------------------------------

    def axis_maximum(self, flavour: str) -> float:
        """The configured axis maximum, or ``auto``: margin x the on-axis 2-d.o.f. crossing.

        The crossing is where statistic(mu_l, others 0) - min reaches chi2.ppf(cl, 2). When
        the statistic depends on the moments only through sum_l P_el mu_l^2 (the paper's
        model), the 2-d.o.f. contour's extent along an axis equals that crossing, and a
        margin > 1 closes the contour inside the grid.
        """
        value = self.config.scan.mu_max(flavour)
        if value != "auto":
            return float(value)
        return self.config.scan.auto_margin * axis_crossing(self, flavour, threshold(self.cl, 2))

    def plane_grid(self, plane: str, grid: int | None = None) -> PlaneGrid:
        """Linear axes from 0 to :meth:`axis_maximum` with ``grid`` points each."""
        fx, fy = parse_plane(plane, "plane")
        n = grid if grid is not None else self.config.scan.grid
        if n < MIN_GRID:
            raise ParameterError("grid", n, f"must be >= {MIN_GRID} points per axis")
        return PlaneGrid(fx, fy, np.linspace(0.0, self.axis_maximum(fx), n),
                         np.linspace(0.0, self.axis_maximum(fy), n))

    def neyman_plane(self, flavour_x: str, flavour_y: str, toys: int, seed: int):
        """The statistic of a Neyman scan: the observed map plus toy critical values."""
        from .neyman import MIN_TOYS, NeymanPlane

        if toys < MIN_TOYS:
            raise ParameterError("toys", toys, f"must be >= {MIN_TOYS} pseudo-experiments per "
                                 "point")
        return NeymanPlane(self.plane(flavour_x, flavour_y),
                           self.likelihood.toys(flavour_x, flavour_y), int(toys), int(seed),
                           self.cl)

    def plane_digest(self, pg: PlaneGrid, toys: int = 0, seed: int = 0) -> str:
        """Hash of the analysis and a plane's axes (what a checkpoint chunk belongs to).

        A Neyman scan (``toys`` > 0) also hashes the toys per point and the seed.
        """
        h = hashlib.sha256(self.digest().encode())
        if toys:
            h.update(f"neyman toys={int(toys)} seed={int(seed)}".encode())
        h.update(pg.name.encode())
        h.update(np.ascontiguousarray(pg.mu_x, dtype="<f8").tobytes())
        h.update(np.ascontiguousarray(pg.mu_y, dtype="<f8").tobytes())
        return h.hexdigest()

    # -- scans -------------------------------------------------------------------------------

    def scan(self, plane: str | PlaneGrid, grid: int | None = None, *, cl: float | None = None,
             jobs: int = 1, backend: str = "threading", scheduler: str | None = None,
             progress=None):
        """Scan one plane (``'e-mu'`` or a :class:`PlaneGrid`) and read off its results.

        ``cl`` (default: the config's ``[fit] cl``) is the confidence level of the contour and
        limits; ``jobs`` workers of the joblib ``backend`` ('threading', 'loky' or 'dask' with
        a ``scheduler`` address); ``progress`` is None or a factory
        ``progress(total_chunks, description)`` returning an object with ``update()`` and
        ``close()`` (:class:`~cevns_scan.progress.Progress`). Returns a
        :class:`~cevns_scan.results.PlaneResult`; its caveats (a limit the grid does not
        resolve, a bad fit) are issued as :class:`~cevns_scan.errors.CevnsScanWarning`.
        """
        ana = self if cl is None else self.with_cl(cl)
        res = ana._scan(plane, grid, jobs, backend, scheduler, progress)
        warn([*res.warnings(), *ana.warnings()])
        return res

    def _scan(self, plane, grid, jobs, backend, scheduler, progress):
        from .results import plane_result
        from .scan import make_chunks, scan_map

        pg = plane if isinstance(plane, PlaneGrid) else self.plane_grid(plane, grid)
        chunks = make_chunks(pg.mu_x.size, pg.mu_y.size, self.config.scan.chunk_points)
        bar = progress(len(chunks), f"scan {pg.name} ({pg.mu_x.size}x{pg.mu_y.size})"
                       ) if progress is not None else None
        chi2 = scan_map(self.plane(pg.flavour_x, pg.flavour_y), pg.mu_x, pg.mu_y, chunks,
                        jobs=jobs, backend=backend, scheduler=scheduler, progress=bar,
                        resume_hint="nothing was written; rerun the same command")
        return plane_result(self, pg, chi2)

    def neyman(self, plane: str | PlaneGrid, grid: int | None = None, *, toys: int = 1000,
               seed: int = 0, cl: float | None = None, jobs: int = 1,
               backend: str = "threading", scheduler: str | None = None, progress=None):
        """Scan one plane with the toy-MC Neyman construction (:mod:`cevns_scan.neyman`).

        ``toys`` pseudo-experiments per grid point, seeded from (``seed``, point index);
        ``cl`` as in :meth:`scan`. Returns a :class:`~cevns_scan.neyman.NeymanResult`; its
        ``wilks`` is the same map read with Wilks' threshold.
        """
        ana = self if cl is None else self.with_cl(cl)
        ney = ana._neyman(plane, grid, toys, seed, jobs, backend, scheduler, progress)
        warn([*ney.wilks.warnings(), *(f"plane {ney.name}, Neyman: {p}" for p in ney.problems()),
              *ana.warnings()])
        return ney

    def _neyman(self, plane, grid, toys, seed, jobs, backend, scheduler, progress):
        from .neyman import read_neyman
        from .results import plane_result
        from .scan import make_chunks, scan_map

        pg = plane if isinstance(plane, PlaneGrid) else self.plane_grid(plane, grid)
        stat = self.neyman_plane(pg.flavour_x, pg.flavour_y, toys, seed)
        chunks = make_chunks(pg.mu_x.size, pg.mu_y.size, self.config.scan.neyman_chunk_points)
        bar = progress(len(chunks), f"neyman {pg.name} ({pg.mu_x.size}x{pg.mu_y.size}, {toys} "
                       "toys/point)") if progress is not None else None
        maps = scan_map(stat, pg.mu_x, pg.mu_y, chunks, jobs=jobs, backend=backend,
                        scheduler=scheduler, progress=bar,
                        resume_hint="nothing was written; rerun the same command")
        wilks = plane_result(self, pg, np.ascontiguousarray(maps[..., 0]))
        return read_neyman(wilks, maps[..., 1:], toys, seed, self.cl)

    def expected_limits(self, n_toys: int = 0, seed: int = 0, *, planes=(),
                        jobs: int | None = 1, progress=None, observed: dict | None = None):
        """Expected 1-d.o.f. limits without a signal (:mod:`cevns_scan.expected`).

        ``n_toys`` background-only pseudo-experiments (seeded by ``seed``), or 0 for the
        Asimov median with the asymptotic bands; the expected (Asimov) contour of each plane
        of ``planes`` (names or :class:`PlaneGrid`). ``observed`` (default: computed) are the
        data's 1-d.o.f. limits to compare with. Returns an
        :class:`~cevns_scan.expected.ExpectedLimits`.
        """
        from .expected import expected_limits

        grids = [p if isinstance(p, PlaneGrid) else self.plane_grid(p) for p in planes]
        if observed is None:
            observed = {k: hi for k, (_, hi) in self.one_dof_intervals().items()}
        return expected_limits(self.likelihood, self.cl, int(n_toys), int(seed), grids=grids,
                               observed=observed, jobs=jobs, progress=progress,
                               flavours=self.constrained)

    def scannable_planes(self, planes) -> list[str]:
        """The planes whose two moments the data constrain (others are left out; none left
        is an error naming the unconstrained flavours)."""
        keep = [p for p in planes if not set(parse_plane(p, "plane")) & set(self.unconstrained)]
        if not keep:
            raise ParameterError("planes", ", ".join(planes),
                                 "all involve a moment these data do not constrain (mu_"
                                 + ", mu_".join(self.unconstrained) + "); scan e-mu instead")
        return keep

    def neyman_belt(self, plane: str, *, points: int = 41, toys: int = 10_000, seed: int = 0,
                    jobs: int | None = 1, mu_max: float | None = None, wilks=None):
        """The Neyman construction of a one-direction plane as a one-dimensional belt in
        s = sum_l w_l mu_l^2 (:func:`cevns_scan.belt.neyman_belt`): ``points`` belt points
        with ``toys`` pseudo-experiments each. Returns a :class:`~cevns_scan.belt.BeltResult`
        whose ``limits`` and ``mc_error`` are the axis limits and their Monte Carlo errors.
        """
        from .belt import neyman_belt

        return neyman_belt(self, plane, points=points, toys=toys, seed=seed, jobs=jobs,
                           mu_max=mu_max, wilks=wilks)

    def goodness_of_fit_toys(self, result, *, toys: int = 1000, seed: int = 0,
                             jobs: int | None = 1):
        """The toy (saturated-model) p-value of a plane's best fit
        (:func:`cevns_scan.goodness.toy_goodness_of_fit`)."""
        from .goodness import toy_goodness_of_fit

        return toy_goodness_of_fit(self, result, toys=toys, seed=seed, jobs=jobs)

    def one_dof_intervals(self, cl: float | None = None) -> dict[str, tuple[float, float]]:
        """1-d.o.f. intervals (Wilks) of each moment with the other two at zero (mu_B).

        ``(0, upper)`` is an upper limit; a lower end > 0 means the data exclude mu = 0.
        Flavours the data do not constrain (:attr:`unconstrained`) are left out.
        """
        from .config import FLAVOURS

        flavours = tuple(f for f in FLAVOURS if f not in self.unconstrained)
        return one_dof_intervals(self, self.cl if cl is None else cl, flavours)

    def each_experiment(self) -> tuple[Analysis, ...]:
        """One analysis per experiment (the same model and config), for its own region."""
        return tuple(dataclasses.replace(self, experiments=(e,)) for e in self.experiments)

    def run(self, planes=None, grid: int | None = None, *, cl: float | None = None,
            jobs: int = 1, backend: str = "threading", scheduler: str | None = None,
            progress=None, toys: int = 0, seed: int = 0, belt: bool = False,
            belt_points: int = 41, gof_toys: int = 0, each: bool | None = None,
            significance_toys: int = 0, expected: int | None = None):
        """Scan every plane (default: the config's) and add the 1-d.o.f. limits.

        ``cl`` (default: the config's) is the confidence level of every region and limit;
        ``progress`` is None or a factory ``progress(total_chunks, description)``. With
        ``toys`` > 0 every plane also gets the Neyman construction (:meth:`neyman`); with
        ``belt`` a one-direction plane gets it as a belt of ``belt_points`` points with
        ``toys`` toys each (:meth:`neyman_belt`) instead, a two-direction plane the 2-D map.
        ``gof_toys`` > 0 adds each plane's toy goodness of fit
        (:meth:`goodness_of_fit_toys`, seeded with ``seed``). With ``each`` (default: when
        there are several experiments) every experiment is also scanned alone, for its own
        region beside the combined one (Wilks). Planes of a moment the data do not constrain
        are left out. The SM measurement of every experiment that has one is added, its
        significance also from ``significance_toys`` pseudo-experiments when > 0 (seeded by
        ``seed``). ``expected`` adds the expected limits and contours
        (:meth:`expected_limits`): None for none, 0 for the Asimov ones, N > 0 for N
        background-only pseudo-experiments. Returns an
        :class:`~cevns_scan.results.AnalysisResult`; its :meth:`warnings
        <cevns_scan.results.AnalysisResult.warnings>` are issued as
        :class:`~cevns_scan.errors.CevnsScanWarning`, each once.
        """
        from .results import AnalysisResult, ExperimentResult, sm_measurements

        ana = self if cl is None else self.with_cl(cl)
        if significance_toys < 0:
            raise ParameterError("significance_toys", significance_toys, "must be >= 0")
        if expected is not None:
            from .expected import require_toys

            require_toys(ana.likelihood, ana.constrained)  # refused before any scan

        results, neyman, timings, gof = [], [], {}, {}
        planes = ana.scannable_planes(planes or ana.config.scan.planes)
        for plane in planes:
            t0 = time.perf_counter()
            fx, fy = ((plane.flavour_x, plane.flavour_y) if isinstance(plane, PlaneGrid)
                      else parse_plane(plane, "plane"))
            if belt and toys and ana.valley_weights(fx, fy) is not None:
                res = ana._scan(plane, grid, jobs, backend, scheduler, progress)
                t1 = time.perf_counter()
                timings[f"scan_{res.grid.name}_s"] = t1 - t0
                neyman.append(ana.neyman_belt(f"{fx}-{fy}", points=belt_points, toys=toys,
                                              seed=seed, jobs=jobs, mu_max=res.grid.mu_x[-1],
                                              wilks=res))
                timings[f"belt_{res.grid.name}_s"] = time.perf_counter() - t1
            elif toys:
                ney = ana._neyman(plane, grid, toys, seed, jobs, backend, scheduler, progress)
                res = ney.wilks
                neyman.append(ney)
                timings[f"neyman_{res.grid.name}_s"] = time.perf_counter() - t0
            else:
                res = ana._scan(plane, grid, jobs, backend, scheduler, progress)
                timings[f"scan_{res.grid.name}_s"] = time.perf_counter() - t0
            results.append(res)
            if gof_toys:
                t0 = time.perf_counter()
                gof[res.name] = ana.goodness_of_fit_toys(res, toys=gof_toys, seed=seed,
                                                         jobs=jobs)
                timings[f"gof_toys_{res.name}_s"] = time.perf_counter() - t0
        parts = []
        if each if each is not None else len(ana.experiments) > 1:
            for sub in ana.each_experiment():
                t0 = time.perf_counter()
                mine = [p for p in planes
                        if not set(parse_plane(p, "plane")) & set(sub.unconstrained)]
                scans = tuple(sub._scan(p, grid, jobs, backend, scheduler, progress)
                              for p in mine)
                parts.append(ExperimentResult(sub.label, scans, sub.one_dof_intervals(),
                                              sub.unconstrained))
                timings[f"each_{sub.label}_s"] = time.perf_counter() - t0
        t0 = time.perf_counter()
        measurements = sm_measurements(ana, int(significance_toys), int(seed))
        if measurements:
            timings["sm_measurement_s"] = time.perf_counter() - t0
        intervals = ana.one_dof_intervals()
        exp = None
        if expected is not None:
            t0 = time.perf_counter()
            exp = ana.expected_limits(expected, seed, planes=[r.grid for r in results],
                                      jobs=jobs, progress=progress,
                                      observed={k: hi for k, (_, hi) in intervals.items()})
            timings["expected_s"] = time.perf_counter() - t0
        result = AnalysisResult(ana, tuple(results), intervals, timings, tuple(neyman),
                                gof, tuple(parts), measurements, exp)
        warn(list(dict.fromkeys(result.warnings())))
        return result
