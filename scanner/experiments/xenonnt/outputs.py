"""The XENONnT experiment's files in a results folder: SM measurement, expected events, figure."""

from __future__ import annotations

import numpy as np


def draw_projections(fig, proj: dict, mu_label: str = "") -> list:
    """Four panels: stacked post-fit expectation, observed counts, the MM signal at the limit."""
    axes = fig.subplots(1, len(proj))
    colours = {"AC": "#bdbdbd", "ER": "#9ecae1", "neutron": "#a1d99b", "CEvNS (SM)": "#fc9272"}
    for ax, (name, vals) in zip(axes, proj.items(), strict=True):
        x = np.arange(3)
        bottom = np.zeros(3)
        for key in ("AC", "ER", "neutron", "CEvNS (SM)"):
            ax.bar(x, vals[key], bottom=bottom, color=colours[key], label=key, width=0.8)
            bottom = bottom + vals[key]
        if "MM" in vals:
            top = bottom + vals["MM"]
            ax.step(np.append(x - 0.4, 2.4), np.append(top, top[-1]), where="post",
                    color="#cb181d", ls="--", label=f"+ MM {mu_label}")
        obs = vals["observed"]
        ax.errorbar(x, obs, yerr=np.sqrt(np.maximum(obs, 1)), fmt="ko", ms=4, label="observed")
        ax.set_xticks(x, ["bin 1", "bin 2", "bin 3"])
        ax.set_title(name, fontsize=8)
        ax.set_ylabel("events (SR0 + SR1 + SR2)")
    axes[0].legend(fontsize=6)
    return list(axes)


def write_release_outputs(experiment, out, result, figures: bool = True) -> None:
    """xenonnt_sm_measurement.json, xenonnt_expected.csv and fig_xenonnt_projections."""
    from matplotlib.figure import Figure

    from ...outputs import csv_cell, write_json
    from ...plots import save_figure
    from .likelihood import I_U, PARAMETERS
    from .measurement import component_events, projections, sm_measurement

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
    mu = (limit, 0.0, 0.0) if np.isfinite(limit) else None
    fig = Figure(figsize=(13, 3.6), layout="constrained")
    draw_projections(fig, projections(lik, theta, mu),
                     f"mu_e = {limit:.2g} mu_B (1 d.o.f. limit)" if mu else "")
    fig.suptitle(f"{experiment.name}: observed and post-fit expected events (CC-BY-4.0 XENON "
                 "collaboration data release)", fontsize=9)
    save_figure(fig, out, "fig_xenonnt_projections")
