"""Reader of the COHERENT CsI[Na] full-dataset release (ancillary files of arXiv:2110.07730).

Paper: D. Akimov et al. (COHERENT), "Measurement of the Coherent Elastic Neutrino-Nucleus
Scattering Cross Section on CsI by COHERENT", PRL 129, 081801 (2022), arXiv:2110.07730; the
release is the paper's ancillary files (``anc/`` of arXiv:2110.07730v2). It states no licence
that we could verify: the package never ships it; users point :func:`read_release` at their
own download.

Files (all text unless noted):

* ``dataBeamOnC.txt``, ``dataBeamOnAC.txt``: selected events, ``PE t_us`` per line after two
  ``#`` comment lines, in the beam-coincident (C) and anti-coincident (AC) windows. The
  supplemental material defines the sample as PE < 250 and 0 <= t_rec < 12 us, of which
  PE < 60 and t_rec < 6 us is the CEvNS region (quoted by public fitters of the release).
* ``brnPE.txt``, ``ninPE.txt``: beam-related and neutrino-induced neutron spectra in 1-PE
  bins (centres 0.5 ... 249.5); ``brnTrec.txt``, ``ninTrec.txt``: their recoil-time
  distributions in 10-ns bins (centres -0.245 ... 6.245 us).
* ``effCoefficients.txt``: detection efficiency eps(x) = a / (1 + exp(-b (x - c))) + d in
  reconstructed PE x, three rows: nominal, +1 sigma, -1 sigma. (The file labels the third
  row "+1 sigma" too; its coefficients are the nominal minus the +1 sigma shift, e.g.
  a = 1.32045 -+ 0.02345, so it is the -1 sigma curve.)
* ``scintRespCoefficients.txt``: quenching E_ee = a x + b x^2 + c x^3 + d x^4 (x in MeV_nr,
  E_ee in MeV_ee), five rows: nominal, systematic model 0 at +-1 sigma, model 1 at +-1 sigma.

Absent from our staged copy and optional: ``snsFlux2D.root`` (the collaboration's flux in
E_nu x time) and the supplemental PDF. :attr:`CsIRelease.flux_file` records whether the ROOT
flux is present; the response always uses the computed pi-DAR flux
(:mod:`cevns_scan.sources.pion_dar`).

Each of the 8 files is checked against the SHA-256 of :data:`SHA256`, computed from the staged
files copied from the arXiv ancillary release. Missing, malformed or altered files raise
:class:`~cevns_scan.errors.InputError` with one line naming the file and what was expected.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ...errors import InputError
from .._coherent import check_digest, check_grid, read_table, require_file

RELEASE_PAPER = "D. Akimov et al. (COHERENT), PRL 129, 081801 (2022), arXiv:2110.07730"

#: SHA-256 of the 8 release files, computed from the staged files copied from the arXiv
#: ancillary release of arXiv:2110.07730v2.
SHA256 = {
    "brnPE.txt": "0000b042b8d0d28b90370eb70d1409db1d8c510fcf2b3e636370b0d4443ac0b0",
    "brnTrec.txt": "6f279d835242a868dfc048abaa42b8c400bf961036de7bc7e64636efdd46466f",
    "dataBeamOnAC.txt": "f530d4a50e889333ada0e739db2e36d7f9f3b783822c8c6e932dae88ce071639",
    "dataBeamOnC.txt": "0a188a0291af06dd023d966d1c9fea7a82ec32d8c1a10750fd09c2b17f10a749",
    "effCoefficients.txt": "f1e58e6b8ec4db53da3be21fe44ebc4621e9b248b920be09759b1000dada8c51",
    "ninPE.txt": "41cae0376003cc2dcd028a3913e7c16395471f612b56d311f80e2a6071c9950c",
    "ninTrec.txt": "2bb034d648b312f4ee329ae95078dc748ff3f83b999c411b08f86d82ddf8e151",
    "scintRespCoefficients.txt": "ea6b8f34b296bf6e99f2a4ac504030d99155daba3e3c252f51c87d2470319d13",
}
#: Optional files of the release that we neither need nor check.
FLUX_FILE = "snsFlux2D.root"

#: Event-list bounds of the release (PE, t_rec in us), from the supplemental material.
PE_MAX = 250.0
T_MAX_US = 12.0
#: Grids of the background shape files.
PE_CENTRES = 0.5 + np.arange(250)
TREC_CENTRES_US = -0.245 + 0.01 * np.arange(650)
#: Row names of the coefficient files, in file order.
EFFICIENCY_MODELS = ("nominal", "plus", "minus")
QUENCHING_MODELS = ("nominal", "model0_plus", "model0_minus", "model1_plus", "model1_minus")

_WHAT = "COHERENT CsI[Na] release (arXiv:2110.07730 ancillary files)"


@dataclass(frozen=True, eq=False)
class CsIRelease:
    """The CsI[Na] release, checked.

    Attributes
    ----------
    root : Path
    coincident, anticoincident : ndarray, shape (n, 2)
        Events (PE, t_rec in us) of the C and AC windows.
    brn_pe, nin_pe : ndarray, shape (250,)
        Neutron spectra in the 1-PE bins of :data:`PE_CENTRES`.
    brn_time, nin_time : ndarray, shape (650,)
        Their time distributions in the 10-ns bins of :data:`TREC_CENTRES_US`.
    efficiency : dict
        :data:`EFFICIENCY_MODELS` -> (a, b, c, d).
    quenching : dict
        :data:`QUENCHING_MODELS` -> (a, b, c, d) of E_ee[MeV] = a x + b x^2 + c x^3 + d x^4.
    flux_file : Path or None
        ``snsFlux2D.root`` if present (not used: the flux is computed).
    """

    root: Path
    coincident: np.ndarray
    anticoincident: np.ndarray
    brn_pe: np.ndarray
    brn_time: np.ndarray
    nin_pe: np.ndarray
    nin_time: np.ndarray
    efficiency: dict
    quenching: dict
    flux_file: Path | None

    @property
    def flux_used(self) -> str:
        """Which neutrino flux the response uses, in words."""
        if self.flux_file is None:
            return "computed pi-DAR flux (snsFlux2D.root is not in the release folder)"
        return "computed pi-DAR flux (snsFlux2D.root is present but not read)"


def _events(path: Path) -> np.ndarray:
    ev = read_table(path, 2)
    bad = (ev[:, 0] <= 0) | (ev[:, 0] >= PE_MAX) | (ev[:, 1] < 0) | (ev[:, 1] >= T_MAX_US)
    if np.any(bad):
        i = int(np.argmax(bad))
        raise InputError(f"{path}: event {i + 1} ({ev[i, 0]:g} PE, {ev[i, 1]:g} us) is outside "
                         f"0 < PE < {PE_MAX:g} and 0 <= t < {T_MAX_US:g} us")
    return ev


def _shape(path: Path, centres: np.ndarray, what: str) -> np.ndarray:
    table = read_table(path, 2, centres.size)
    check_grid(path, table[:, 0], centres, what)
    if np.any(table[:, 1] < 0) or not table[:, 1].sum() > 0:
        raise InputError(f"{path}: expected non-negative values with a positive sum")
    return table[:, 1]


def read_release(root) -> CsIRelease:
    """Read and check the CsI[Na] release folder ``root``.

    Raises
    ------
    InputError
        One line naming the file: missing, malformed (columns, grid, ranges, row counts) or
        with another SHA-256 than the release's.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder; expected the {_WHAT}")
    paths = {name: require_file(root, name, _WHAT) for name in SHA256}
    eff = read_table(paths["effCoefficients.txt"], 4, len(EFFICIENCY_MODELS))
    qf = read_table(paths["scintRespCoefficients.txt"], 4, len(QUENCHING_MODELS))
    release = CsIRelease(
        root,
        _events(paths["dataBeamOnC.txt"]),
        _events(paths["dataBeamOnAC.txt"]),
        _shape(paths["brnPE.txt"], PE_CENTRES, "PE"),
        _shape(paths["brnTrec.txt"], TREC_CENTRES_US, "time"),
        _shape(paths["ninPE.txt"], PE_CENTRES, "PE"),
        _shape(paths["ninTrec.txt"], TREC_CENTRES_US, "time"),
        {k: tuple(row) for k, row in zip(EFFICIENCY_MODELS, eff, strict=True)},
        {k: tuple(row) for k, row in zip(QUENCHING_MODELS, qf, strict=True)},
        (root / FLUX_FILE) if (root / FLUX_FILE).is_file() else None,
    )
    for name, digest in SHA256.items():
        check_digest(paths[name], "sha256", digest, "release's SHA-256")
    return release
