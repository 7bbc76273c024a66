"""A results folder read back into result objects: :func:`load_results`.

A folder written by ``cevns-scan reproduce``, by ``cevns-scan merge`` (the shards of a cluster
job) or by :meth:`AnalysisResult.write <cevns_scan.results.AnalysisResult.write>` holds the
maps (``chi2_<plane>.npz``, ``tcrit_<plane>.npz``) and what was read off them
(``limits.json``, ``run.json``). :func:`load_results` gives back a :class:`SavedResult` with
the same attributes as an :class:`~cevns_scan.results.AnalysisResult` (``planes``,
``plane(name)``, ``one_dof``, ``one_dof_intervals``, ``neyman``, ``cl``, ``warnings()``,
``summary_lines()``) without rebuilding the model:

>>> import cevns_scan as cs
>>> res = cs.load_results("results/paper")          # doctest: +SKIP
>>> res.plane("e-mu").limits, res.one_dof["mu_e"]   # doctest: +SKIP

Each plane's limit checks, goodness of fit and excluded origin, and a Neyman belt's interval
and limits, are those the run recorded (against the exact on-axis crossings, with the
likelihood itself); ``plane.with_cl(0.95)`` reads the stored map at another level and checks
it against the grid alone (the model is not there).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .contours import contour_lines, extent_limits
from .errors import InputError
from .limits import LimitCheck
from .results import (
    NO_P_NOTE,
    GoodnessOfFit,
    RankAwareRegion,
    find_plane,
    sort_planes,
    summary_lines,
)


@dataclass(frozen=True)
class SavedResult:
    """The results of a folder: planes (with their checks and fit), Neyman regions,
    1-d.o.f. intervals, and the run's record.

    Attributes
    ----------
    folder : Path
    planes : tuple of PlaneResult
        In the paper's panel order; each with ``checks``, ``gof``, ``origin_excluded``,
        ``rank_aware`` and ``best_fit`` as the run recorded them (``rank`` from the map file).
    one_dof_intervals : dict
        ``mu_<flavour>`` -> (lower, upper) in mu_B, each moment alone.
    neyman : tuple of NeymanResult or BeltResult
        Planes with a toy-MC Neyman construction: a 2-D map (``tcrit_<plane>.npz``) or a
        one-dimensional belt (``belt_<plane>.npz``).
    run : dict
        ``run.json``: command, config, datasets, versions, timings.
    limits_record : dict
        ``limits.json`` as written.
    """

    folder: Path
    planes: tuple
    one_dof_intervals: dict
    neyman: tuple = ()
    run: dict = field(default_factory=dict, repr=False)
    limits_record: dict = field(default_factory=dict, repr=False)

    @property
    def cl(self) -> float:
        return float(self.limits_record.get("cl", self.planes[0].cl if self.planes else 0.9))

    @property
    def one_dof(self) -> dict[str, float]:
        """1-d.o.f. upper ends, ``mu_<flavour>`` -> mu_B (others at zero)."""
        return {k: hi for k, (_, hi) in self.one_dof_intervals.items()}

    @property
    def label(self) -> str:
        """The datasets' label, as the run printed it."""
        return str(self.limits_record.get("dataset", ""))

    @property
    def target_label(self) -> str:
        return str(self.limits_record.get("target", self.run.get("target", {}).get("name", "")))

    @property
    def physics_choices(self) -> dict:
        return dict(self.limits_record.get("physics_choices", {}))

    @property
    def config(self):
        """The run's configuration as a validated :class:`~cevns_scan.config.Config`."""
        from .config import config_from_json

        return config_from_json(json.dumps(self.run.get("config", {})),
                                f"{self.folder}/run.json")

    def plane(self, name: str):
        """The result of plane ``'e_mu'`` (or ``'e-mu'``)."""
        return find_plane(self.planes, name)

    def plot(self, axes=None, **style) -> list:
        """Every plane on its own panel, as :meth:`AnalysisResult.plot
        <cevns_scan.results.AnalysisResult.plot>` draws it."""
        from .plots import plot_planes

        return plot_planes(self.planes, self.neyman, axes=axes, **style)

    def warnings(self) -> list[str]:
        """The run's warnings (``limits.json``), one line each."""
        return [str(w) for w in self.limits_record.get("warnings", [])]

    @property
    def unconstrained(self) -> tuple[str, ...]:
        """Flavours whose moment no experiment of the run constrained (no limit)."""
        return tuple(k.removeprefix("mu_") for k in self.limits_record.get("unconstrained", {}))

    def summary_lines(self) -> list[str]:
        """The summary the run printed: limits, rank-aware and Neyman limits, intervals,
        unconstrained moments, fit quality and best fits (not the experiments alone, expected
        limits or SM measurements: see ``limits_record``)."""
        from .replot import figure_note

        return summary_lines(self.label, self.target_label, self.cl, self.planes, self.neyman,
                             self.one_dof_intervals, unconstrained=self.unconstrained,
                             synthetic=bool(figure_note(self.run)))

    def __repr__(self) -> str:
        one = ", ".join(f"{k} < {v:.4g}" for k, v in self.one_dof.items())
        extra = f", Neyman on {len(self.neyman)}" if self.neyman else ""
        return (f"SavedResult({self.folder}: {self.label}, {self.target_label}, CL {self.cl:g}, "
                f"planes {', '.join(r.name for r in self.planes)}{extra}; 1 d.o.f. {one})")


def _read_json(path: Path) -> dict:
    try:
        rec = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise InputError(f"{path}: missing; not a complete cevns-scan results folder") from None
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise InputError(f"{path}: cannot be read as JSON ({exc}); rerun reproduce or "
                         "merge") from None
    if not isinstance(rec, dict):
        raise InputError(f"{path}: not a cevns-scan record (a JSON object)")
    return rec


def _recorded(plane, limits: dict):
    """``plane`` with the checks, fit and excluded origin that limits.json recorded for it."""
    name = plane.name
    gof = limits.get("goodness_of_fit", {}).get(name)
    if isinstance(gof, dict):
        note = str(gof.get("note", "")).removesuffix(NO_P_NOTE)  # as the likelihood worded it
        plane = dataclasses.replace(plane, gof=GoodnessOfFit(
            float(gof["chi2_min"]), int(gof["dof"]), float(gof["p_value"]), note))
    if not math.isclose(float(limits.get("cl", plane.cl)), plane.cl):
        return plane
    checks = limits.get("two_dof_checks", {}).get(name)
    if isinstance(checks, dict):
        plane = dataclasses.replace(plane, checks=_checks(checks))
        excluded = limits.get("origin_excluded", {}).get(name)
        if excluded is not None:
            plane = dataclasses.replace(plane, origin_excluded=bool(excluded))
    ra = limits.get("rank_aware", {}).get(name)
    if isinstance(ra, dict) and isinstance(ra.get("checks"), dict):
        plane = dataclasses.replace(plane, rank_aware=_rank_aware(plane, ra))
    bf = limits.get("best_fit", {}).get(name)
    if isinstance(bf, dict):
        plane = dataclasses.replace(plane, best_fit=_best_fit(plane, bf))
    return plane


def _number(x) -> float:
    return float("nan") if x is None else float(x)


def _best_fit(plane, record: dict):
    """The best fit (point or valley, nuisances with pulls and errors) limits.json recorded.

    The physical minimum of each nuisance is not recorded: the unphysical ones are among the
    run's warnings.
    """
    from .bestfit import BestFit, Valley
    from .experiments.protocols import NuisanceFit

    fx, fy = plane.grid.flavour_x, plane.grid.flavour_y
    comb = record.get("combination")
    valley = None if not isinstance(comb, dict) else Valley(
        {k: float(w) for k, w in comb["weights"].items()}, float(comb["value"]),
        str(comb.get("normalisation", "")))
    at = record.get("nuisances_at") or {}
    point = (float(at.get(f"mu_{fx}", plane.best[0])), float(at.get(f"mu_{fy}", plane.best[1])))
    centres, sigmas = record.get("centres", {}), record.get("sigmas", {})
    errors, units = record.get("uncertainties", {}), record.get("units", {})
    nuisances = {k: NuisanceFit(float(v), _number(centres.get(k)), float(sigmas.get(k, 0.0)),
                                _number(errors.get(k)), unit=str(units.get(k, "")))
                 for k, v in record.get("nuisances", {}).items()}
    return BestFit(plane.name, int(record.get("rank", plane.rank)), point, (fx, fy), valley,
                   nuisances, available="note" not in record)


def _checks(record: dict) -> dict:
    """``mu_<flavour>`` -> :class:`LimitCheck` from limits.json's record of them."""
    return {k: LimitCheck(k, float(c["limit"]), (float(c["on_axis_lower"]),
                                                 float(c["on_axis_upper"])),
                          float(c["grid_cell"]), tuple(c.get("problems", ())))
            for k, c in record.items()}


def _rank_aware(plane, record: dict) -> RankAwareRegion:
    """The rank-aware region limits.json recorded, its contour drawn from the stored map."""
    pg = plane.grid
    thr = float(record["threshold"])
    level = plane.chi2_min + thr
    lines = contour_lines(pg.mu_x, pg.mu_y, plane.chi2, level)
    *_, touches = extent_limits(lines, pg.mu_x, pg.mu_y, plane.chi2, level)
    return RankAwareRegion(int(record["rank"]), thr, lines,
                           {k: float(v) for k, v in record["limits"].items()},
                           _checks(record["checks"]), tuple(touches),
                           bool(record.get("origin_excluded", False)))


def _recorded_belt(belt, limits: dict):
    """A Neyman belt with the interval and limits that limits.json recorded for it.

    Read back, the belt interpolates t_obs linearly between its points (1 % off with 5
    points); the run solved for the crossing with the likelihood itself.
    """
    name = belt.name
    ney = limits.get("neyman", {})
    rec = ney.get("belt", {}).get(name)
    two_dof, errors = ney.get("two_dof", {}).get(name), ney.get("mc_error", {}).get(name, {})
    if (not isinstance(rec, dict) or not isinstance(two_dof, dict)
            or not math.isclose(float(limits.get("cl", belt.cl)), belt.cl)):
        return belt

    return dataclasses.replace(
        belt, s_interval=(_number(rec.get("s_lower")), _number(rec.get("s_limit"))),
        s_error=_number(rec.get("s_limit_err")),
        limits={k: _number(v) for k, v in two_dof.items()},
        mc_error={k: _number(errors.get(k)) for k in two_dof})


def load_results(folder) -> SavedResult:
    """The result objects of a results folder (``reproduce``, ``merge``, or ``write``).

    Parameters
    ----------
    folder : str or Path
        A folder that cevns-scan wrote (it holds cevns-scan's ``run.json``), including one
        merged from the shards of a cluster job.

    Returns
    -------
    SavedResult

    Raises
    ------
    InputError
        One line when the folder is missing, is not a cevns-scan results folder, or lacks
        its maps.
    """
    from .outputs import previous_result_files
    from .replot import load_belt, load_neyman, load_plane

    folder = Path(folder)
    if not folder.is_dir():
        raise InputError(f"{folder}: no such results folder")
    files = previous_result_files(folder)
    if files is None:
        raise InputError(f"{folder}: not a cevns-scan results folder (no cevns-scan run.json); "
                         "give a folder written by reproduce, merge or AnalysisResult.write")
    maps = [folder / f for f in files if f.startswith("chi2_") and f.endswith(".npz")]
    if not maps:
        raise InputError(f"{folder}: holds no chi2_<plane>.npz maps; run reproduce or merge "
                         "into it")
    run = _read_json(folder / "run.json")
    limits = _read_json(folder / "limits.json")
    planes = sort_planes([_recorded(load_plane(p), limits) for p in maps])
    neyman = tuple(load_neyman(folder / f"tcrit_{r.name}.npz", r) for r in planes
                   if (folder / f"tcrit_{r.name}.npz").is_file())
    neyman += tuple(_recorded_belt(load_belt(folder / f"belt_{r.name}.npz", r), limits)
                    for r in planes if (folder / f"belt_{r.name}.npz").is_file())
    intervals = {k: (float(v[0]), float(v[1]))
                 for k, v in limits.get("one_dof_intervals", {}).items()}
    if not intervals:  # results of cevns-scan 0.1: upper limits only
        intervals = {k: (0.0, float(v)) for k, v in limits.get("one_dof", {}).items()}
    return SavedResult(folder, tuple(planes), intervals, neyman, run, limits)
