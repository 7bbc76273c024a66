"""Figures: the paper's Fig. 2 (rates) and Fig. 3 (90 % CL regions), PNG and PDF.

Uses matplotlib's object API with the Agg canvas (no pyplot, no display needed).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from matplotlib.figure import Figure

FLAVOUR_TEX = {"e": r"\mu_{\nu_e}", "mu": r"\mu_{\nu_\mu}", "tau": r"\mu_{\nu_\tau}"}


def _save(fig: Figure, out: Path, stem: str) -> None:
    for ext in ("png", "pdf"):
        tmp = out / f".{stem}.tmp.{ext}"
        fig.savefig(tmp, dpi=150 if ext == "png" else None, format=ext)
        tmp.replace(out / f"{stem}.{ext}")


def draw_fig2(out: Path, tables: dict) -> None:
    """Fig. 2: SM and SM + magnetic-moment rates of 8B neutrinos on each target."""
    fig = Figure(figsize=(5.2 * len(tables), 4.2))
    fig.subplots_adjust(left=0.09, right=0.98, bottom=0.12, top=0.92, wspace=0.28)
    axes = fig.subplots(1, len(tables), squeeze=False)[0]
    styles = ["--", "-.", ":"]
    for ax, (name, cols), tag in zip(axes, tables.items(), "abcdef", strict=False):
        t = cols["T_nr_keV"]
        ax.loglog(t, cols["SM"], "k-", lw=2, label="SM")
        for k, (key, vals) in enumerate((k, v) for k, v in cols.items()
                                        if k.startswith("total_mu_")):
            mu = float(key.removeprefix("total_mu_"))
            exp = int(np.floor(np.log10(mu)))
            ax.loglog(t, vals, styles[k % 3], lw=1.5,
                      label=rf"SM + MM, $\mu_\nu = {mu / 10**exp:g}\times10^{{{exp}}}\,\mu_B$")
        top = max(np.max(v) for k, v in cols.items() if k != "T_nr_keV")
        ax.set_ylim(1e-6 * top, 3 * top)
        ax.set_xlabel(r"$T_{nr}$ [keV$_{nr}$]")
        ax.set_ylabel(r"$dR/dT_{nr}$ [events kg$^{-1}$ day$^{-1}$ keV$_{nr}^{-1}$]")
        ax.set_title(f"({tag}) {name}, $^8$B solar neutrinos")
        ax.grid(True, which="major", alpha=0.25)
        ax.legend(fontsize=8)
    _save(fig, out, "fig2_rates")


def load_overlay(spec: str):
    """``LABEL=FILE.csv`` -> (label, (N, 2) polygon in mu_B), validated."""
    from .errors import InputError
    from .tables import read_table

    if "=" not in spec:
        raise InputError(f"--overlay {spec!r}: use LABEL=FILE.csv (a polygon with columns x,y)")
    label, path = spec.split("=", 1)
    table = read_table(path, ("x", "y"))
    poly = np.column_stack([table.numeric("x"), table.numeric("y")])
    if poly.shape[0] < 3 or np.any(poly < 0):
        raise InputError(f"{path}: an overlay polygon needs >= 3 points with x, y >= 0 (mu_B)")
    return label.strip(), poly


def draw_fig3(out: Path, results: list[dict], cl: float, dataset: str, note: str,
              overlays=()) -> Figure:
    """Fig. 3: the CL allowed region in each (mu_x, mu_y) plane (filled) with its contour."""
    fig = Figure(figsize=(4.8 * len(results), 4.6))
    fig.subplots_adjust(left=0.1, right=0.97, bottom=0.12, top=0.86 if note else 0.92,
                        wspace=0.3)
    axes = fig.subplots(1, len(results), squeeze=False)[0]
    for ax, r, tag in zip(axes, results, "abcdef", strict=False):
        pg = r["plane"]
        sx = 10.0 ** np.floor(np.log10(pg.mu_x[-1]))
        sy = 10.0 ** np.floor(np.log10(pg.mu_y[-1]))
        ax.contourf(pg.mu_x / sx, pg.mu_y / sy, r["chi2"].T, levels=[-np.inf, r["level"]],
                    colors=["#9ecae1"], alpha=0.8)
        for line in r["lines"]:
            ax.plot(line[:, 0] / sx, line[:, 1] / sy, "-", color="#08519c", lw=1.8)
        for k, (label, poly) in enumerate(overlays):
            ax.fill(poly[:, 0] / sx, poly[:, 1] / sy, alpha=0.3, color=f"C{(k + 3) % 10}",
                    label=label)
        ax.plot([], [], "-", color="#08519c", label=f"{100 * cl:g} % CL (2 d.o.f.)")
        ax.set_xlim(0, pg.mu_x[-1] / sx)
        ax.set_ylim(0, pg.mu_y[-1] / sy)
        ax.set_xlabel(rf"${FLAVOUR_TEX[pg.flavour_x]}$ [$10^{{{int(np.log10(sx))}}}\,\mu_B$]")
        ax.set_ylabel(rf"${FLAVOUR_TEX[pg.flavour_y]}$ [$10^{{{int(np.log10(sy))}}}\,\mu_B$]")
        ax.set_title(f"({tag}) allowed region, dataset {dataset}", fontsize=9)
        ax.legend(fontsize=8, loc="upper right")
    if note:
        fig.suptitle(note, fontsize=8)
    _save(fig, out, "fig3_contours")
    return fig
