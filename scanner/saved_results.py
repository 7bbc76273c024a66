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

Each plane's limit checks, goodness of fit and excluded origin are those the run recorded
(against the exact on-axis crossings); ``plane.with_cl(0.95)`` reads the stored map at
another level and checks it against the grid alone (the model is not there).
"""

from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path

from .errors import InputError
from .limits import LimitCheck
from .results import GoodnessOfFit, find_plane, sort_planes, summary_lines


@dataclass(frozen=True)
class SavedResult:
    """The results of a folder: planes (with their checks and fit), Neyman regions,
    1-d.o.f. intervals, and the run's record.

    Attributes
    ----------
    folder : Path
    planes : tuple of PlaneResult
        In the paper's panel order; each with ``checks``, ``gof`` and ``origin_excluded`` as
        the run recorded them.
    one_dof_intervals : dict
        ``mu_<flavour>`` -> (lower, upper) in mu_B, each moment alone.
    neyman : tuple of NeymanResult
        Planes with a toy-MC Neyman construction (``tcrit_<plane>.npz``).
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

    def summary_lines(self) -> list[str]:
        """The summary the run printed: limits, Neyman limits, intervals, fit quality."""
        return summary_lines(self.label, self.target_label, self.cl, self.planes, self.neyman,
                             self.one_dof_intervals)

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
        plane = dataclasses.replace(plane, gof=GoodnessOfFit(
            float(gof["chi2_min"]), int(gof["dof"]), float(gof["p_value"]), gof.get("note", "")))
    checks = limits.get("two_dof_checks", {}).get(name)
    if isinstance(checks, dict) and math.isclose(float(limits.get("cl", plane.cl)), plane.cl):
        plane = dataclasses.replace(plane, checks={
            k: LimitCheck(k, float(c["limit"]), (float(c["on_axis_lower"]),
                                                 float(c["on_axis_upper"])),
                          float(c["grid_cell"]), tuple(c.get("problems", ())))
            for k, c in checks.items()})
        excluded = limits.get("origin_excluded", {}).get(name)
        if excluded is not None:
            plane = dataclasses.replace(plane, origin_excluded=bool(excluded))
    return plane


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
    from .replot import load_neyman, load_plane

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
    intervals = {k: (float(v[0]), float(v[1]))
                 for k, v in limits.get("one_dof_intervals", {}).items()}
    if not intervals:  # results of cevns-scan 0.1: upper limits only
        intervals = {k: (0.0, float(v)) for k, v in limits.get("one_dof", {}).items()}
    return SavedResult(folder, tuple(planes), intervals, neyman, run, limits)
