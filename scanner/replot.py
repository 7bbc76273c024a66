"""``cevns-scan plot DIR``: redraw the figures of a results folder from its saved files."""

from __future__ import annotations

import dataclasses
import json
from pathlib import Path

import numpy as np

from .errors import InputError
from .grid import PlaneGrid
from .neyman import read_neyman
from .outputs import (
    atomic_write_bytes,
    check_replaceable,
    load_npz,
    previous_result_files,
    probe_writable,
    write_json,
)
from .plots import check_overlays, figure2, figure3, load_overlay, save_figure
from .provenance import MARK_KEY
from .results import read_plane, sort_planes
from .tables import read_table


def load_plane(path: Path, cl: float | None = None):
    """A :class:`~cevns_scan.results.PlaneResult` from a saved ``chi2_<plane>.npz``.

    ``cl`` (default: the map's own) reads the contours and limits at another level.
    """
    z = load_npz(path, "not a readable chi2 map; rerun reproduce or merge")
    missing = {"mu_x", "mu_y", "chi2", "chi2_min", "cl", "flavours"} - set(z)
    if missing:
        raise InputError(f"{path}: lacks {', '.join(sorted(missing))}; not a cevns-scan map")
    fx, fy = (str(f) for f in z["flavours"])
    pg = PlaneGrid(fx, fy, z["mu_x"], z["mu_y"])
    if "best_fit" in z:
        best = tuple(float(v) for v in z["best_fit"])
    else:  # maps of cevns-scan 0.1: the grid point of the minimum
        i, k = np.unravel_index(int(np.argmin(z["chi2"])), z["chi2"].shape)
        best = (float(pg.mu_x[i]), float(pg.mu_y[k]))
    res = read_plane(pg, z["chi2"], float(z["chi2_min"]), best,
                     float(z["cl"]) if cl is None else cl)
    if "rank" in z:  # maps of cevns-scan 0.3 and later
        res = dataclasses.replace(res, rank=int(z["rank"]))
    if "valley_weights" in z:  # a one-direction plane: its best fit is a valley
        from .bestfit import BestFit, Valley

        weights = dict(zip((f"mu_{fx}", f"mu_{fy}"), map(float, z["valley_weights"]),
                           strict=True))
        valley = Valley(weights, float(z["valley_value"]), "")
        res = dataclasses.replace(res, rank=int(z["rank"]), best_fit=BestFit(
            pg.name, 1, best, (fx, fy), valley, {}, available=False))
    return res


def load_neyman(path: Path, wilks):
    """A :class:`~cevns_scan.neyman.NeymanResult` from ``tcrit_<plane>.npz`` at ``wilks.cl``."""
    z = load_npz(path, "not a readable Neyman map; rerun reproduce with toys, or merge")
    missing = {"tcrit", "tcrit_err", "quantiles", "toys_per_point", "seed", "cl"} - set(z)
    if missing:
        raise InputError(f"{path}: lacks {', '.join(sorted(missing))}; not a cevns-scan map")
    maps = np.concatenate([z["tcrit"][..., None], z["tcrit_err"][..., None], z["quantiles"]],
                          axis=-1)
    return read_neyman(wilks, maps, int(z["toys_per_point"]), int(z["seed"]), float(z["cl"]))


def figure_label(rec: dict) -> str:
    """Fig. 3's dataset text from a run.json: every dataset's label, then the target, as
    :meth:`~cevns_scan.results.AnalysisResult.write` titles it."""
    labels = [d.get("label", "") for d in rec.get("datasets") or [rec.get("dataset", {})]]
    target = rec.get("target", {}).get("name", "")
    label = " + ".join(lab for lab in labels if lab)
    return f"{label}, {target}" if target else label


def figure_note(rec: dict) -> str:
    """The caveat of a run.json's synthetic datasets, as the analysis words it."""
    return "; ".join(d.get("note", "") for d in rec.get("datasets") or [rec.get("dataset", {})]
                     if d.get("note"))


def rate_tables(folder: Path, rec: dict) -> list[Path]:
    """The Fig. 2 tables of a results folder, the comparison target (Xe) last: those its
    run.json lists as written (older folders: every ``rates_*.csv``)."""
    from .rates import FIG2_COMPARISON

    files = rec.get("files")
    if isinstance(files, list):
        paths = [folder / f for f in files if str(f).startswith("rates_")
                 and str(f).endswith(".csv")]
    else:
        paths = list(folder.glob("rates_*.csv"))
    paths = [p for p in paths if p.is_file()]
    return sorted(paths, key=lambda p: (p.stem == f"rates_{FIG2_COMPARISON}", p.stem))


def load_belt(path: Path, wilks):
    """A :class:`~cevns_scan.belt.BeltResult` from ``belt_<plane>.npz`` at ``wilks.cl``."""
    from .belt import read_belt

    z = load_npz(path, "not a readable Neyman belt; rerun reproduce with toys and the belt")
    missing = {"mu_axis", "t_obs", "tcrit", "tcrit_err", "quantiles", "weights", "flavours",
               "toys_per_point", "seed", "cl", "normalisation"} - set(z)
    if missing:
        raise InputError(f"{path}: lacks {', '.join(sorted(missing))}; not a cevns-scan belt")
    return read_belt(z, wilks.cl, wilks)


def replot(folder: Path, overlay_specs=(), cl: float | None = None, caveat: bool = True) -> None:
    """Redraw fig2_rates and fig3_contours in ``folder`` from rates_*.csv and chi2_*.npz."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such results folder")
    if previous_result_files(folder) is None:
        raise InputError(f"{folder}: not a cevns-scan results folder (no cevns-scan run.json); "
                         "plot redraws the figures of a folder written by reproduce or merge")
    probe_writable(folder, str(folder))
    overlays = [load_overlay(s) for s in overlay_specs]
    maps = sorted(folder.glob("chi2_*.npz"))
    if not maps:
        raise InputError(f"{folder}: no chi2_*.npz maps; run `cevns-scan reproduce` or "
                         "`cevns-scan merge` into it first")
    rec = json.loads((folder / "run.json").read_text())
    fig2_tables = rate_tables(folder, rec)
    drawn = ["fig3_contours.png", "fig3_contours.pdf"]
    if fig2_tables:
        drawn += ["fig2_rates.png", "fig2_rates.pdf"]
    check_replaceable(folder, [*drawn, "run.json"], name="folder")  # yours stay yours
    results = sort_planes([load_plane(p, cl) for p in maps])
    check_overlays(overlays, results)
    neyman = [load_neyman(folder / f"tcrit_{r.name}.npz", r) for r in results
              if (folder / f"tcrit_{r.name}.npz").is_file()]
    neyman += [load_belt(folder / f"belt_{r.name}.npz", r) for r in results
               if (folder / f"belt_{r.name}.npz").is_file()]
    expected, parts = {}, []
    if (folder / "contours.json").is_file() and cl is None:  # at the maps' own CL only
        saved = json.loads((folder / "contours.json").read_text())
        expected = {name: [np.asarray(line) for line in entry.get("lines", [])]
                    for name, entry in saved.get("expected", {}).items()}
        parts = [(label, name, [np.asarray(line) for line in entry.get("lines", [])])
                 for label, planes in saved.get("experiments", {}).items()
                 for name, entry in planes.items()]
    save_figure(figure3(results, figure_label(rec), figure_note(rec) if caveat else "",
                        overlays, neyman, parts=parts, expected=expected,
                        physics=rec.get("physics_choices", {}).get("preset", "")),
                folder, "fig3_contours")
    tables = {}
    for path in fig2_tables:
        t = read_table(path, ("T_nr_keV", "SM"))
        tables[path.stem.removeprefix("rates_")] = {c: t.numeric(c) for c in t.columns}
    if tables:
        save_figure(figure2(tables), folder, "fig2_rates")
    if isinstance(rec.get("files"), list):  # the figures are cevns-scan's files now
        rec["files"] = sorted(set(rec["files"]) | set(drawn))
        if MARK_KEY in rec:
            write_json(folder / "run.json", rec)
        else:  # a folder of an older version, whose files carry no mark: it stays one
            atomic_write_bytes(folder / "run.json", (json.dumps(rec, indent=2) + "\n").encode())
