"""The XENONnT experiment's files in a results folder: SM measurement, expected events, figure."""

from __future__ import annotations

import numpy as np

#: Display names (math text) and units of the release's observables.
OBSERVABLE_LABELS = {"cs2": (r"corrected S2, $cS2$", "PE"),
                     "s2_shadow_s2_time_shadow_quantile": ("S2 time-shadow quantile", ""),
                     "s1_bdt_score": ("S1 BDT score", ""),
                     "s2_bdt_score": ("S2 BDT score", "")}
COLOURS = {"AC": "#bdbdbd", "ER": "#9ecae1", "neutron": "#a1d99b", "CEvNS (SM)": "#fc9272"}


def _edge_text(values: np.ndarray) -> str:
    """One bin edge over the runs: '90' when they agree, else 'min-max'."""
    fmt = (lambda v: f"{v:.0f}") if np.max(np.abs(values)) >= 10 else (lambda v: f"{v:.2f}")
    lo, hi = fmt(float(np.min(values))), fmt(float(np.max(values)))
    return lo if lo == hi else f"{lo}\N{EN DASH}{hi}"


def bin_labels(edges: np.ndarray) -> list[str]:
    """Tick labels '[lo,\\nhi)' of one observable's bins; ``edges`` (runs, n + 1)."""
    n = edges.shape[1] - 1
    return [f"[{_edge_text(edges[:, b])},\n{_edge_text(edges[:, b + 1])}" + (")" if b < n - 1
                                                                             else "]")
            for b in range(n)]


def mu_text(mu: float) -> str:
    """mu in math text, e.g. '1.65\\times10^{-9}'."""
    exp = int(np.floor(np.log10(mu)))
    return rf"{mu / 10**exp:.3g}\times10^{{{exp}}}"


def draw_projections(fig, proj: dict, edges: np.ndarray | None = None, mu_label: str = "",
                     reference: dict | None = None) -> list:
    """Four panels: stacked expected events, the MM signal on top, observed counts.

    ``proj`` is :func:`.measurement.projections` (components at one fit); ``edges`` the
    release's bin edges (runs, 4 observables, 4) for the axis labels; ``reference`` the
    projections of another fit (e.g. the SM fit at mu = 0), drawn as a dotted total. The
    legend sits beside the panels, off the data.
    """
    axes = fig.subplots(1, len(proj))
    for k, (ax, (name, vals)) in enumerate(zip(axes, proj.items(), strict=True)):
        x = np.arange(len(vals["observed"]))
        bottom = np.zeros(x.size)
        for key in ("AC", "ER", "neutron", "CEvNS (SM)"):
            ax.bar(x, vals[key], bottom=bottom, color=COLOURS[key], label=key, width=0.8)
            bottom = bottom + vals[key]
        if "MM" in vals:
            ax.bar(x, vals["MM"], bottom=bottom, color="none", edgecolor="#cb181d",
                   hatch="///", lw=1.0, width=0.8, label=f"magnetic moment, {mu_label}")
        if reference is not None:
            ref = sum(reference[name][key] for key in ("AC", "ER", "neutron", "CEvNS (SM)"))
            ax.step(np.append(x - 0.4, x[-1] + 0.4), np.append(ref, ref[-1]), where="post",
                    color="k", ls=":", lw=1.2, label=r"SM fit ($\mu_\nu = 0$), total")
        obs = vals["observed"]
        ax.errorbar(x, obs, yerr=np.sqrt(np.maximum(obs, 1)), fmt="ko", ms=4,
                    label=r"observed ($\pm\sqrt{n}$)")
        title, unit = OBSERVABLE_LABELS.get(name, (name.replace("_", " "), ""))
        if edges is not None:
            ax.set_xticks(x, bin_labels(edges[:, k]), fontsize=7)
        else:
            ax.set_xticks(x, [f"bin {b + 1}" for b in x])
        ax.set_xlabel(f"{title} [{unit}]" if unit else title, fontsize=9)
        ax.set_ylim(0, 1.25 * max(float(np.max(bottom + vals.get("MM", 0))),
                                  float(np.max(obs + np.sqrt(np.maximum(obs, 1))))))
    axes[0].set_ylabel("events (SR0 + SR1 + SR2)")
    handles, labels = axes[0].get_legend_handles_labels()
    fig.legend(handles, labels, loc="outside lower center", ncol=len(labels), fontsize=7,
               frameon=False)
    return list(axes)


def write_release_outputs(experiment, out, result, figures: bool = True) -> None:
    """xenonnt_sm_measurement.json, xenonnt_expected.csv and fig_xenonnt_projections."""
    from matplotlib.figure import Figure

    from ...outputs import csv_cell, write_json
    from ...plots import save_figure
    from .likelihood import I_U, PARAMETERS
    from .measurement import component_events, limit_projections, projections, sm_measurement

    lik = experiment.likelihood
    meas = result.sm_measurements().get(experiment.name) if hasattr(
        result, "sm_measurements") else None
    if meas is None:
        meas, theta = sm_measurement(lik)
    theta = meas.theta
    write_json(out / "xenonnt_sm_measurement.json", {
        **meas.to_dict(), "dataset": experiment.name,
        "published": "XENONnT 2026 (arXiv:2604.06002, SR0+SR1+SR2): about 3.3 sigma; 2024 "
                     "(SR0+SR1): 4.7 (+3.6 -2.3) x 10^6 cm^-2 s^-1, 2.73 sigma",
        "best_fit_parameters": dict(zip(PARAMETERS[:I_U], map(float, theta[:I_U]),
                                        strict=True))})
    prefit, _ = lik.start()
    pre, post = component_events(lik, prefit), component_events(lik, theta)
    lines = ["# expected events per science run and component: prefit (nominal nuisances, "
             "model 8B flux) and postfit (the SM measurement: mu = 0, 8B flux free)",
             "run,component,prefit,postfit,observed"]
    obs = np.asarray(lik.release.observed).sum(axis=1)
    for r, run in enumerate(lik.release.runs):
        for comp in pre:
            lines.append(f"{run},{comp},{csv_cell(pre[comp][r])},{csv_cell(post[comp][r])},")
        lines.append(f"{run},observed,,,{int(obs[r])}")
    (out / "xenonnt_expected.csv").write_text("\n".join(lines) + "\n")
    if not figures:
        return
    limit = result.one_dof.get("mu_e", float("nan"))
    fig = Figure(figsize=(13, 4.2), layout="constrained")
    edges = np.asarray(lik.release.bin_edges)
    if np.isfinite(limit):
        at_limit, _ = limit_projections(lik, (limit, 0.0, 0.0))  # nuisances re-profiled
        draw_projections(fig, at_limit, edges,
                         rf"$\mu_{{\nu_e}} = {mu_text(limit)}\,\mu_B$",
                         reference=projections(lik, theta))
        what = (f"expected events at the 1-d.o.f. {100 * result.cl:g} % CL limit on "
                r"$\mu_{\nu_e}$, nuisances re-profiled there")
    else:
        draw_projections(fig, projections(lik, theta), edges)
        what = r"post-fit expected events of the SM fit ($\mu_\nu = 0$)"
    fig.suptitle(f"{experiment.name}: observed events and {what}; bin edges per run (a range "
                 "where SR0-SR2 differ); CC-BY-4.0 XENON collaboration data release",
                 fontsize=8)
    save_figure(fig, out, "fig_xenonnt_projections")
