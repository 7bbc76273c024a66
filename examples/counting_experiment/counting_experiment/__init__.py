"""A counting experiment as a cevns-scan plug-in: the worked example of docs/experiments.md.

One window of nuclear recoils on argon, solar-8B CEvNS as the signal, an expected background
with a Gaussian constraint:

* data (:mod:`.data`): a ``NAME.count.toml`` file (observed count, background and its sigma,
  exposure, recoil window); ``cevns-scan dataset make-counting`` writes one (:mod:`.commands`);
* response (:mod:`.counts`): the model's recoil spectra integrated over the window (eq. C1);
* likelihood (:mod:`.likelihood`): Poisson with the background profiled in closed form
  (eqs. C2, C3), with its plane statistic and toys;
* configuration (:mod:`.settings`): the section ``[counting]``;
* outputs: ``counting_expected.json`` in the results folder.

cevns-scan finds :data:`KIND` through the entry point declared in this package's
``pyproject.toml``::

    [project.entry-points."cevns_scan.experiments"]
    counting = "counting_experiment:KIND"
"""

from __future__ import annotations

from types import MappingProxyType

from cevns_scan.errors import InputError
from cevns_scan.experiments.protocols import Experiment

from .commands import MAKE_COUNTING
from .data import SUFFIX
from .settings import DEFAULTS, CountingSection

__all__ = ["KIND", "CountingKind"]


class CountingKind:
    """The :class:`~cevns_scan.experiments.protocols.ExperimentKind` of counting files."""

    name = "counting"
    summary = "one counting window of solar-8B CEvNS on argon, Gaussian-constrained background"
    data_help = (f"a counting file NAME{SUFFIX} (observed, background, background_sigma, "
                 "exposure_kg_day, window_kev_nr)")
    builtin = ()
    default_data = None
    config_sections = MappingProxyType({"counting": CountingSection})
    config_defaults = DEFAULTS
    config_moved = MappingProxyType({})
    output_files = ("counting_expected.json",)
    dataset_commands = (MAKE_COUNTING,)

    def recognises(self, spec: str) -> bool:
        """Cheap and never raises: the suffix decides."""
        return str(spec).lower().endswith(SUFFIX)

    def load(self, spec: str):
        from .data import load_counting

        return load_counting(spec)

    def build(self, data, model, config) -> Experiment:
        """Counts in the window on argon (eq. C1), then the likelihood (eq. C2)."""
        from .counts import Window, window_model
        from .likelihood import CountingLikelihood

        settings = config.section("counting")
        argon = window_model(model)
        response = Window(data.window_kev_nr, data.exposure_kg_day, settings.nodes)
        counts = response.templates(argon)
        sigma = data.background_sigma if settings.background == "constrained" else 0.0
        lik = CountingLikelihood(counts.sm, counts.mm, data.observed, data.background, sigma)
        return Experiment(data.label, data, response, counts, lik, argon.target.name,
                          self.name)

    def manifest(self, data) -> dict:
        """The whole file's numbers travel in the manifest (it is a few lines)."""
        return {"kind": self.name, "toml": data.to_toml(), "source": data.source,
                "sha256": data.digest()}

    def from_manifest(self, record: dict, where: str):
        import dataclasses

        from .data import parse_text

        data = parse_text(record["toml"], where, "counting")
        if data.digest() != record.get("sha256"):
            raise InputError(f"{where}: the counting data do not match their recorded digest; "
                             "the manifest was edited")
        return dataclasses.replace(data, source=record.get("source", data.source))

    def write_outputs(self, experiment, out, result, figures: bool = True) -> None:
        """counting_expected.json: the window's expected events and the fit at mu = 0."""
        import numpy as np

        from cevns_scan.config import FLAVOURS
        from cevns_scan.outputs import write_json

        from .likelihood import profiled_background

        lik, counts, data = experiment.likelihood, experiment.templates, experiment.dataset
        b_sm = float(profiled_background(lik.sm, float(lik.observed), lik.background,
                                         lik.sigma))
        at_limit = {}
        for fl in FLAVOURS:
            mu = result.one_dof.get(f"mu_{fl}", float("nan"))
            at_limit[f"mu_{fl}"] = {"mu_b": mu, "mm_events": float(lik.mm[FLAVOURS.index(fl)]
                                                                   * mu**2)}
        write_json(out / "counting_expected.json", {
            "dataset": experiment.name, "target": experiment.target,
            "window_kev_nr": list(data.window_kev_nr),
            "window_integrated_kev_nr": list(counts.window_kev_nr),
            "largest_8B_recoil_kev_nr": counts.t_max_kev_nr,
            "exposure_kg_day": data.exposure_kg_day,
            "observed": data.observed,
            "background": data.background, "background_sigma": lik.sigma,
            "expected_sm": counts.sm,
            "mm_per_mu_b2": dict(zip(FLAVOURS, map(float, counts.mm), strict=True)),
            "fit_at_mu_0": {"background": b_sm, "statistic": lik.statistic(np.zeros(3))},
            "at_one_dof_limits": at_limit,
            "units": "events in the window; mm_per_mu_b2 per mu_B^2, flavour-weighted"})

    def warnings(self, experiment, analysis) -> list[str]:
        """A window reaching above the largest 8B recoil: that part adds no signal."""
        counts, data = experiment.templates, experiment.dataset
        lo, hi = data.window_kev_nr
        if hi > counts.t_max_kev_nr:
            return [f"{data.label}: the window {lo:g}-{hi:g} keV_nr reaches above the largest "
                    f"8B recoil on argon ({counts.t_max_kev_nr:.3g} keV_nr), where there is no "
                    "signal; its background there only dilutes the count (lower the upper "
                    "edge)"]
        return []

    def __repr__(self) -> str:
        return f"<experiment kind {self.name!r}: {self.summary}>"


#: The registered kind (entry point ``counting = counting_experiment:KIND``).
KIND = CountingKind()
