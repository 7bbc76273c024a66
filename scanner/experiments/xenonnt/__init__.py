"""The XENONnT solar-8B CEvNS data release as an experiment (CC-BY-4.0).

* data (:mod:`.release`): the release folder as published is imported into one validated
  ``.npz`` (``cevns-scan dataset import-xenonnt``, :mod:`.commands`); the package ships the
  converted file as the built-in ``xenonnt-8b``;
* response (:mod:`.fold`): the mono-energetic efficiency fold of any recoil spectrum (X1);
* likelihood (:mod:`.likelihood`): extended binned Poisson with nine constrained nuisances,
  profiled in compiled code; it shares the 8B flux (``flux_8B``) with other solar experiments;
* outputs (:mod:`.measurement`, :mod:`.outputs`): the SM measurement (8B flux, CEvNS
  significance), expected events per component, and the projections figure.

Registered as the experiment kind ``xenonnt`` (entry point ``cevns_scan.experiments``).
"""

from __future__ import annotations

from pathlib import Path
from types import MappingProxyType

from ...errors import InputError
from .commands import IMPORT_XENONNT
from .settings import DEFAULTS, XenonntSection

#: The built-in name of the shipped release file.
RELEASE_NAME = "xenonnt-8b"


def _looks_like_release(path: Path) -> bool:
    return path.is_dir() and (path / "binning").is_dir() and (path / "templates").is_dir()


class XenonntKind:
    """The :class:`~cevns_scan.experiments.protocols.ExperimentKind` of the XENONnT release."""

    name = "xenonnt"
    summary = "XENONnT solar-8B CEvNS release: efficiency fold, binned Poisson likelihood"
    data_help = (f"{RELEASE_NAME} (built in: the converted XENONnT release, CC-BY-4.0), a file "
                 "made by 'cevns-scan dataset import-xenonnt' (.npz), or the release folder as "
                 "published (imported on the fly; needs the [xenonnt] extra)")
    builtin = (RELEASE_NAME,)
    default_data = None
    config_sections = MappingProxyType({"xenonnt": XenonntSection})
    config_defaults = DEFAULTS
    config_moved = MappingProxyType({})
    output_files = ("xenonnt_sm_measurement.json", "xenonnt_expected.csv",
                    "fig_xenonnt_projections.png", "fig_xenonnt_projections.pdf")
    #: The 8B flux is shared by name with the other solar experiments of a joint fit.
    shares = ("flux_8B",)
    dataset_commands = (IMPORT_XENONNT,)

    def recognises(self, spec: str) -> bool:
        path = Path(spec)
        return spec == RELEASE_NAME or path.suffix.lower() == ".npz" or _looks_like_release(path)

    def load(self, spec: str):
        from .likelihood import ReleaseData, load_release_data
        from .release import import_release

        if _looks_like_release(Path(spec)):
            return ReleaseData(Path(spec).name, import_release(spec), str(spec))
        return load_release_data(spec)

    def build(self, data, model, config):
        from .likelihood import xenonnt_experiment

        return xenonnt_experiment(data, model, config)

    def manifest(self, data) -> dict:
        return {"kind": self.name, "label": data.label, "source": data.source,
                "sha256": data.digest()}

    def from_manifest(self, record: dict, where: str):
        label, source = record["label"], record["source"]
        data = self.load(RELEASE_NAME if label == RELEASE_NAME else source)
        if data.digest() != record.get("sha256"):
            raise InputError(f"{where}: the XENONnT release {source} is not the one the "
                             "scan used (other numbers); merge where that file is")
        return data

    def write_outputs(self, experiment, out, result, figures: bool = True) -> None:
        from .outputs import write_release_outputs

        write_release_outputs(experiment, out, result, figures)

    def warnings(self, experiment, analysis) -> list[str]:
        return []

    def systematics(self, config) -> tuple:
        """Modelling choices to vary (:mod:`.systematics`), relative to ``config``."""
        from .systematics import variations

        return variations(config)

    def bench(self, quick: bool, repeat: int) -> dict:
        """``cevns-scan bench``: the compiled profile against scipy (:mod:`.bench`)."""
        from .bench import bench

        return bench(quick, repeat)

    def __repr__(self) -> str:
        return f"<experiment kind {self.name!r}: {self.summary}>"


#: The registered kind (entry point ``xenonnt = cevns_scan.experiments.xenonnt:KIND``).
KIND = XenonntKind()
