"""Modelling sensitivity: how each modelling choice moves each 1-d.o.f. limit.

Every experiment kind may declare the choices it makes that the data do not fix (the optional
kind hook ``systematics(config)``, a sequence of
:class:`~cevns_scan.experiments.protocols.Variation`: config overrides and/or a transform of
the built experiment). :func:`modelling_sensitivity` refits the analysis once per variation
and tabulates the 1-d.o.f. limits with their relative change from the baseline,

    shift = limit(variation) / limit(baseline) - 1.                                     (Y1)

>>> import cevns_scan as cs
>>> table = cs.modelling_sensitivity(cs.load_config(), "xenonnt-8b")   # doctest: +SKIP
>>> print("\\n".join(table.lines()))                                     # doctest: +SKIP
"""

from __future__ import annotations

import dataclasses
import time
from dataclasses import dataclass


@dataclass(frozen=True)
class SystematicsRow:
    """One variation: its 1-d.o.f. upper limits (``mu_<fl>`` -> mu_B) and shifts (Y1)."""

    name: str
    description: str
    experiment: str
    limits: dict
    shifts: dict
    seconds: float

    def to_dict(self) -> dict:
        return {"variation": self.name, "description": self.description,
                "experiment": self.experiment, "limits": self.limits,
                "relative_shift": self.shifts, "seconds": self.seconds}


@dataclass(frozen=True)
class SystematicsTable:
    """The baseline's 1-d.o.f. limits and one :class:`SystematicsRow` per variation."""

    dataset: str
    cl: float
    baseline: dict
    rows: tuple[SystematicsRow, ...]

    def to_dict(self) -> dict:
        return {"dataset": self.dataset, "cl": self.cl, "units": "mu_B",
                "meaning": "1-d.o.f. upper limits (each moment alone, the others zero, Wilks) "
                           "refitted with each modelling choice varied; relative_shift = "
                           "limit / baseline - 1",
                "baseline": self.baseline, "variations": [r.to_dict() for r in self.rows]}

    def csv_bytes(self) -> bytes:
        """variation,experiment,mu_e,mu_mu,mu_tau,shift_mu_e,... (limits in mu_B)."""
        from .outputs import csv_cell
        from .provenance import mark_text

        names = list(self.baseline)
        lines = [f"# 1-d.o.f. {100 * self.cl:g} % CL upper limits in mu_B of dataset "
                 f"{self.dataset} with each modelling choice varied; shift = limit / baseline "
                 "- 1",
                 ",".join(["variation", "experiment", *names, *(f"shift_{n}" for n in names)])]
        rows = [("baseline", "", self.baseline, dict.fromkeys(names, 0.0))]
        rows += [(r.name, r.experiment, r.limits, r.shifts) for r in self.rows]
        for name, exp, lim, shift in rows:
            cells = [name, exp, *(csv_cell(lim[n]) for n in names),
                     *(csv_cell(shift[n]) for n in names)]
            lines.append(",".join(f'"{c}"' if "," in c else c for c in cells))
        return mark_text(("\n".join(lines) + "\n").encode())

    def lines(self) -> list[str]:
        """The printed table: limits and their shifts in percent."""
        names = list(self.baseline)
        width = max([len("baseline"), *(len(r.name) for r in self.rows)])
        out = [f"modelling sensitivity of the 1-d.o.f. {100 * self.cl:g} % CL limits (mu_B), "
               f"dataset {self.dataset}:",
               "  " + "variation".ljust(width) + "".join(f"  {n:>19}" for n in names)]
        out.append("  " + "baseline".ljust(width)
                   + "".join(f"  {self.baseline[n]:>19.4e}" for n in names))
        for r in self.rows:
            out.append("  " + r.name.ljust(width) + "".join(
                f"  {r.limits[n]:>10.4e} {100 * r.shifts[n]:+6.1f}%" for n in names))
        return out


def _upper_limits(analysis) -> dict:
    return {k: hi for k, (_, hi) in analysis.one_dof_intervals().items()}


def variations_of(analysis) -> list[tuple[object, object]]:
    """(experiment, variation) for every variation its kind declares."""
    from .experiments import registry

    out = []
    for e in analysis.experiments:
        hook = getattr(registry.kind(e.kind), "systematics", None)
        for var in hook(analysis.config) if hook is not None else ():
            out.append((e, var))
    return out


def modelling_sensitivity(config=None, data=None, *, progress=None) -> SystematicsTable:
    """Refit the 1-d.o.f. limits of ``data`` (as for :meth:`Analysis.from_config`) with each
    modelling choice its experiment kinds declare varied (Y1).

    ``progress`` is None or a callable receiving one line per finished variation.
    """
    from .analysis import Analysis, load_data
    from .errors import InputError

    specs = list(data) if isinstance(data, list | tuple) else [data]
    loaded = [load_data(s) for s in specs]
    base = Analysis.from_config(config, loaded)
    baseline = _upper_limits(base)
    pairs = variations_of(base)
    if not pairs:
        raise InputError(f"the experiment kinds of {base.label} declare no modelling "
                         "variations (kind hook systematics)")
    rows = []
    for experiment, var in pairs:
        t0 = time.perf_counter()
        ana = base
        if var.overrides:
            cfg = base.config.with_overrides({k: dict(v) for k, v in var.overrides.items()},
                                             f"systematics variation {var.name!r}")
            ana = Analysis.from_config(cfg, loaded)
        if var.transform is not None:
            exps = tuple(var.transform(e) if e.name == experiment.name else e
                         for e in ana.experiments)
            ana = dataclasses.replace(ana, experiments=exps)  # a new (uncached) likelihood
        limits = _upper_limits(ana)
        shifts = {k: limits[k] / baseline[k] - 1.0 for k in limits}
        rows.append(SystematicsRow(var.name, var.description, experiment.name, limits, shifts,
                                   time.perf_counter() - t0))
        if progress is not None:
            progress(f"{var.name}: " + ", ".join(f"{k} {100 * v:+.1f} %"
                                                   for k, v in shifts.items()))
    return SystematicsTable(base.label, base.cl, baseline, tuple(rows))
