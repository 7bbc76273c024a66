"""``cevns-scan plot DIR``: redraw the figures of a results folder from its saved files."""

from __future__ import annotations

import json
from pathlib import Path

from .contours import contour_lines
from .errors import InputError
from .outputs import load_npz, previous_result_files
from .pipeline import FIG2_TARGETS, PlaneGrid, sort_planes
from .plots import draw_fig2, draw_fig3, load_overlay
from .tables import read_table


def replot(folder: Path, overlay_specs=()) -> None:
    """Redraw fig2_rates and fig3_contours in ``folder`` from rates_*.csv and chi2_*.npz."""
    if not folder.is_dir():
        raise InputError(f"{folder}: no such results folder")
    if previous_result_files(folder) is None:
        raise InputError(f"{folder}: not a cevns-scan results folder (no cevns-scan run.json); "
                         "plot redraws the figures of a folder written by reproduce or merge")
    overlays = [load_overlay(s) for s in overlay_specs]
    maps = sorted(folder.glob("chi2_*.npz"))
    if not maps:
        raise InputError(f"{folder}: no chi2_*.npz maps; run `cevns-scan reproduce` or "
                         "`cevns-scan merge` into it first")
    results = []
    cl = 0.9
    for path in maps:
        z = load_npz(path, "not a readable chi2 map; rerun reproduce or merge")
        missing = {"mu_x", "mu_y", "chi2", "chi2_min", "delta_chi2", "flavours"} - set(z)
        if missing:
            raise InputError(f"{path}: lacks {', '.join(sorted(missing))}; not a cevns-scan map")
        fx, fy = (str(f) for f in z["flavours"])
        pg = PlaneGrid(fx, fy, z["mu_x"], z["mu_y"])
        level = float(z["chi2_min"] + z["delta_chi2"])
        cl = float(z["cl"]) if "cl" in z else cl
        results.append({"plane": pg, "chi2": z["chi2"], "level": level,
                        "lines": contour_lines(pg.mu_x, pg.mu_y, z["chi2"], level)})
    sort_planes(results)
    label, note = "", ""
    run = folder / "run.json"
    if run.is_file():
        rec = json.loads(run.read_text())
        label = rec.get("dataset", {}).get("label", "")
        note = rec.get("dataset", {}).get("note", "")
    draw_fig3(folder, results, cl, label, note, overlays)
    tables = {}
    for name in FIG2_TARGETS:
        path = folder / f"rates_{name}.csv"
        if path.is_file():
            t = read_table(path, ("T_nr_keV", "SM"))
            tables[name] = {c: t.numeric(c) for c in t.columns}
    if tables:
        draw_fig2(folder, tables)
