"""The CDEX-like experiment's files in a results folder: templates.csv, templates_components.csv."""

from __future__ import annotations

from ...outputs import atomic_write_bytes, csv_cell, write_csv
from .response import Templates


def write_spectrum_outputs(experiment, out, result, figures: bool = True) -> None:
    """templates.csv (per bin) and templates_components.csv (per flux component)."""
    ds, tp, model = experiment.dataset, experiment.templates, result.analysis.model
    write_csv(out / "templates.csv",
              ["Tee_lo_keV", "Tee_hi_keV", "observed", "sigma", "SM", "MM_e", "MM_mu",
               "MM_tau"],
              [ds.tee_lo, ds.tee_hi, ds.rate, ds.sigma, tp.sm.sum(0), *tp.mm.sum(0).T],
              [f"dataset {ds.label}: {ds.description or ds.source}",
               "rates in events/(keV_ee kg day); MM_l per mu_B^2 for flavour l, weighted by "
               "P_el, summed over flux components; per component in "
               "templates_components.csv",
               "physics: " + ", ".join(f"{k} = {v}" for k, v in model.choices.items())])
    write_component_templates(out, tp, experiment.likelihood)


def write_component_templates(out, tp: Templates, lik) -> None:
    """templates_components.csv: everything eq. 18 needs, per flux component and bin."""
    n = tp.tee_lo.size
    rows = {"component": [], "frac_sigma": [], "pull": [], "Tee_lo_keV": [],
            "Tee_hi_keV": [], "SM": [], "MM_e": [], "MM_mu": [], "MM_tau": []}
    for j, name in enumerate(tp.components):
        rows["component"] += [name] * n
        rows["frac_sigma"] += [float(tp.frac_sigma[j])] * n
        rows["pull"] += [int(name in lik.components)] * n
        rows["Tee_lo_keV"] += list(tp.tee_lo)
        rows["Tee_hi_keV"] += list(tp.tee_hi)
        rows["SM"] += list(tp.sm[j])
        for k, fl in enumerate(("e", "mu", "tau")):
            rows[f"MM_{fl}"] += list(tp.mm[j, :, k])
    lines = ["# per flux component j and analysis bin i: S_ij (SM) and M_ijl per mu_B^2 "
             "(flavour-weighted), events/(keV_ee kg day); frac_sigma = sigma_j of eq. 18; "
             "pull = 1 if the component takes a pull (0: its templates vanish in every bin)",
             f"# background: {lik.describe()['background']}; observed and sigma per bin are "
             "in templates.csv", ",".join(rows)]
    for i in range(len(rows["component"])):
        lines.append(",".join(csv_cell(v[i]) for v in rows.values()))
    atomic_write_bytes(out / "templates_components.csv", ("\n".join(lines) + "\n").encode())

