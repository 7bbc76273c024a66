"""COHERENT CsI[Na], full dataset (PRL 129, 081801 (2022), arXiv:2110.07730).

* :mod:`.release` -- reads and checks the paper's ancillary files;
* :mod:`.response` -- our CEvNS expectation in (PE, t_rec) bins per pi-DAR component, Cs and I
  as separate nuclei, with the release's quenching and efficiency models;
* :mod:`.likelihood` -- binned Poisson likelihood with the anti-coincident steady state, the
  neutron backgrounds and the systematic nuisances, on the compiled profiler.

Validation (tests/test_coherent_csi.py): our SM prediction is 355 events in 8-60 PE,
0-6 us (the paper: about 341); the SM fit gives 310 (+33 -32) CEvNS events against the
published 306 +- 20 (see :mod:`.likelihood` for the width).

Registered as the experiment kind ``coherent_csi`` (entry point ``cevns_scan.experiments``):
``--data DIR`` with the ancillary files, each checked against its SHA-256. The package never
ships the release (its licence is not stated): users point at their own download.
"""

from __future__ import annotations

from .._coherent import CoherentKind


class CsIKind(CoherentKind):
    """The :class:`~cevns_scan.experiments.protocols.ExperimentKind` of the CsI[Na] dataset."""

    name = "coherent_csi"
    summary = "COHERENT CsI[Na] full dataset: PE x time binned Poisson"
    data_help = ("the ancillary folder of arXiv:2110.07730 (COHERENT CsI[Na]: dataBeamOnC.txt, "
                 "dataBeamOnAC.txt, the neutron shapes, the efficiency and quenching "
                 "coefficients)")
    marker_files = ("dataBeamOnC.txt", "dataBeamOnAC.txt", "scintRespCoefficients.txt")
    algorithm = "sha256"

    @property
    def checksums(self):
        from .release import SHA256

        return SHA256

    @property
    def citation(self) -> str:
        from .release import RELEASE_PAPER

        return f"{RELEASE_PAPER}, ancillary files"

    def _read(self, spec: str):
        from .release import read_release

        return read_release(spec)

    def build(self, data, model, config):
        from ..protocols import Experiment
        from .likelihood import CsILikelihood
        from .response import csi_model

        csi = csi_model(data.release, model)
        lik = CsILikelihood.build(data.release, csi)
        return Experiment(data.label, data, _Response(data.release), lik.nominal, lik,
                          csi.target.name, self.name)


class _Response:
    """The :class:`~cevns_scan.experiments.protocols.Response` of (C1)."""

    def __init__(self, release):
        self.release = release

    def templates(self, model):
        from .response import csi_model, csi_templates

        return csi_templates(self.release, csi_model(self.release, model))


#: The registered kind (entry point ``coherent_csi = cevns_scan.experiments.coherent_csi:KIND``).
KIND = CsIKind()
