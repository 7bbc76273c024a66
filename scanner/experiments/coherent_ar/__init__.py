"""COHERENT CENNS-10 liquid argon, Analysis A (PRL 126, 012002 (2021), arXiv:2003.10630).

* :mod:`.release` -- reads and checks the Zenodo release folder (doi:10.5281/zenodo.3903810);
* :mod:`.response` -- our CEvNS expectation in the release's 12 x 8 x 10 bins, per pi-DAR
  component, SM and magnetic moment per flavour;
* :mod:`.likelihood` -- the collaboration's binned likelihood on the compiled profiler.

Validation (tests/test_coherent_ar.py): our SM prediction is 125.4 events (the collaboration
predicts 128 +- 17); the SM fit gives 139 (+41 -40) CEvNS events with our template and 161
(+44 -43) with the collaboration's PDF, against the published 159 +- 43. The 13 % difference
of our fit is the energy-time correlation of the computed expectation (prompt nu_mu give
recoils below about 20 keV_ee only), which the release's PDF, a product of an energy-F90 and
a time distribution, leaves out.

Registered as the experiment kind ``coherent_ar`` (entry point ``cevns_scan.experiments``):
``--data DIR`` with the release's data files, each checked against its MD5. The package never
ships the release (its licence is not stated): users point at their own download.
"""

from __future__ import annotations

from .._coherent import CoherentKind


class ArgonKind(CoherentKind):
    """The :class:`~cevns_scan.experiments.protocols.ExperimentKind` of CENNS-10 Analysis A."""

    name = "coherent_ar"
    summary = "COHERENT CENNS-10 argon (Analysis A): energy x F90 x time binned Poisson"
    data_help = ("the Zenodo release folder of COHERENT CENNS-10 Analysis A (doi:10.5281/"
                 "zenodo.3903810: datanobkgsub.txt, the PDFs, LArParametersAnlA.yaml; needs "
                 "the [coherent] extra)")
    marker_files = ("datanobkgsub.txt", "LArParametersAnlA.yaml")
    algorithm = "md5"

    @property
    def checksums(self):
        from .release import MD5

        return MD5

    @property
    def citation(self) -> str:
        from .release import RELEASE_DOI, RELEASE_NOTE, RELEASE_PAPER

        return f"{RELEASE_PAPER}; release doi:{RELEASE_DOI}, {RELEASE_NOTE}"

    def _read(self, spec: str):
        from .release import read_release

        return read_release(spec)

    def build(self, data, model, config):
        from ..protocols import Experiment
        from .likelihood import ArgonLikelihood
        from .response import argon_model, argon_templates

        ar = argon_model(data.release, model)
        templates = argon_templates(data.release, ar)
        lik = ArgonLikelihood(data.release, templates)
        return Experiment(data.label, data, _Response(data.release), templates, lik,
                          ar.target.name, self.name)


class _Response:
    """The :class:`~cevns_scan.experiments.protocols.Response` of (A1)."""

    def __init__(self, release):
        self.release = release

    def templates(self, model):
        from .response import argon_model, argon_templates

        return argon_templates(self.release, argon_model(self.release, model))


#: The registered kind (entry point ``coherent_ar = cevns_scan.experiments.coherent_ar:KIND``).
KIND = ArgonKind()
