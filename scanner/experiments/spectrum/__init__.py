"""The CDEX-like experiment: a keV_ee spectrum of a solar-neutrino CEvNS search (the paper's).

* data (:mod:`.datasets`): a dataset CSV (``Tee_lo_keV,Tee_hi_keV,rate,sigma``), the built-in
  ``cdex10-asimov`` (an expected sensitivity), or a WebPlotDigitizer export turned into a CSV
  by ``cevns-scan dataset from-digitized`` (:mod:`.digitize`, :mod:`.commands`);
* response (:mod:`.response`): Lindhard quenching into electron-equivalent bins (eqs. 15-17);
* likelihood (:mod:`.pull_chi2`): the pull chi^2 of eq. 18, pulls and flat background profiled
  exactly; it shares the 8B flux (``flux_8B``) with other solar experiments;
* outputs (:mod:`.outputs`): templates.csv and templates_components.csv.

Registered as the experiment kind ``spectrum`` (entry point ``cevns_scan.experiments``).
"""

from __future__ import annotations

import dataclasses
from pathlib import Path
from types import MappingProxyType

from ...errors import InputError
from ..protocols import Experiment
from .commands import FROM_DIGITIZED
from .settings import DEFAULTS, MOVED, AsimovSection, SpectrumSection

#: The built-in Asimov dataset (an expected sensitivity for a CDEX-10-like exposure).
ASIMOV_NAME = "cdex10-asimov"
#: Lindhard k of the paper, measured for germanium.
GERMANIUM_K = 0.162
#: File suffixes read as dataset CSVs.
SUFFIXES = (".csv", ".txt")


@dataclasses.dataclass(frozen=True)
class AsimovRequest:
    """``cdex10-asimov`` before the model exists: the dataset is built from it (build)."""

    label: str = ASIMOV_NAME
    source: str = ASIMOV_NAME
    description: str = ""
    metadata: dict = dataclasses.field(default_factory=dict)

    kind = "spectrum"


class SpectrumKind:
    """The :class:`~cevns_scan.experiments.protocols.ExperimentKind` of keV_ee spectra."""

    name = "spectrum"
    summary = "binned keV_ee spectrum, Lindhard quenching, pull chi2 of eq. 18 (the paper's)"
    data_help = (f"{ASIMOV_NAME} (built in: Asimov data of a CDEX-10-like exposure) or a dataset "
                 "CSV (Tee_lo_keV,Tee_hi_keV,rate,sigma in events/(keV_ee kg day))")
    builtin = (ASIMOV_NAME,)
    default_data = ASIMOV_NAME
    config_sections = MappingProxyType({"spectrum": SpectrumSection, "asimov": AsimovSection})
    config_defaults = DEFAULTS
    config_moved = MappingProxyType(MOVED)
    output_files = ("templates.csv", "templates_components.csv")
    #: The 8B flux is shared by name with the other solar experiments of a joint fit.
    shares = ("flux_8B",)
    dataset_commands = (FROM_DIGITIZED,)

    def recognises(self, spec: str) -> bool:
        return spec == ASIMOV_NAME or Path(spec).suffix.lower() in SUFFIXES

    def load(self, spec: str):
        from .datasets import load_dataset

        if spec == ASIMOV_NAME:
            return AsimovRequest()
        return load_dataset(spec)

    def build(self, data, model, config) -> Experiment:
        """Templates of the dataset's bins, then eq. 18 (the Asimov data from the model)."""
        from .datasets import asimov_dataset
        from .pull_chi2 import make_pull_chi2
        from .response import QuenchedBins

        settings = config.spectrum
        dataset = (asimov_dataset(model, config.asimov, settings)
                   if isinstance(data, AsimovRequest) else data)
        response = QuenchedBins(dataset.tee_lo, dataset.tee_hi, settings.quenching_k,
                                settings.bin_rate)
        templates = response.templates(model)
        likelihood = make_pull_chi2(templates, dataset, settings)
        return Experiment(dataset.label, dataset, response, templates, likelihood,
                          model.target.name, self.name)

    def manifest(self, data) -> dict:
        return {"kind": self.name, "csv": data.to_csv(), "label": data.label,
                "source": data.source, "metadata": {k: str(v) for k, v in data.metadata.items()}}

    def from_manifest(self, record: dict, where: str):
        from ...tables import parse_table
        from .datasets import COLUMNS, dataset_from_table

        ds = dataset_from_table(parse_table(record["csv"], COLUMNS, where))
        return dataclasses.replace(ds, source=record.get("source", ds.source),
                                   metadata=record.get("metadata", ds.metadata))

    def write_outputs(self, experiment, out, result, figures: bool = True) -> None:
        from .outputs import write_spectrum_outputs

        write_spectrum_outputs(experiment, out, result, figures)

    def warnings(self, experiment, analysis) -> list[str]:
        """Germanium inputs (the paper's k, the CDEX-10 exposure) used with another target."""
        tgt = analysis.model.target
        if tgt.symbol == "Ge":
            return []
        out = []
        if analysis.config.spectrum.quenching_k == GERMANIUM_K:
            out.append(f"target {tgt.name} uses the Lindhard k = {GERMANIUM_K} measured for "
                       "germanium; set [spectrum] quenching_k for this target")
        if experiment.dataset.label == ASIMOV_NAME:
            out.append(f"dataset {ASIMOV_NAME} is a CDEX-10 (germanium) exposure; with target "
                       f"{tgt.name} it is a hypothetical experiment")
        return out

    def check_config(self, config) -> None:
        """A fixed background needs its value."""
        sec = config.spectrum
        if sec.background == "fixed" and sec.background_value is None:
            raise InputError(f"{config.source}: key [spectrum] background = 'fixed' needs "
                             "[spectrum] background_value (a rate >= 0 in events/(keV_ee kg "
                             "day)); or use background = 'free'")

    def bench(self, quick: bool, repeat: int) -> dict:
        """``cevns-scan bench``: template build and naive baselines (:mod:`.bench`)."""
        from .bench import bench

        return bench(quick, repeat)

    def __repr__(self) -> str:
        return f"<experiment kind {self.name!r}: {self.summary}>"


#: The registered kind (entry point ``spectrum = cevns_scan.experiments.spectrum:KIND``).
KIND = SpectrumKind()
