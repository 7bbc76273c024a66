"""Reader of the COHERENT CENNS-10 liquid-argon data release (Analysis A), as published.

Release: D. Akimov et al. (COHERENT), "COHERENT Collaboration data release from the first
detection of coherent elastic neutrino-nucleus scattering on argon", arXiv:2006.12659, Zenodo
doi:10.5281/zenodo.3903810, for the result of Akimov et al., PRL 126, 012002 (2021),
arXiv:2003.10630. The release states no licence that we could verify: the package never ships
its files; users point :func:`read_release` at their own download.

Conventions of the release (checked on reading):

* Every 3-D file has 960 rows ``keVee F90 t_us value``: 12 energy bins (centres 5 ... 115
  keVee, width 10) x 8 F90 bins (0.525 ... 0.875, width 0.05) x 10 time bins (0.15 ... 4.65
  us, width 0.5), energy slowest and time fastest, i.e. C order of a (12, 8, 10) array. The
  bin edges are the centres +- half a width: [0, 120] keVee, [0.5, 0.9], [-0.1, 4.9] us.
* ``datanobkgsub.txt``: observed counts (integers); ``cevnspdf``, ``brnpdf`` (prompt beam-
  related neutrons), ``delbrnpdf`` (delayed BRN), ``bkgpdf`` (steady state): expected counts of
  the collaboration's prediction, summing to 128.0, 497.0, 33.0 and 3152.0.
* Shape systematics: two-sided (+-1 sigma) ``brnpdf+-1sigEnergy``, ``brnpdf+-1sigBRNTimingMean``,
  ``cevnspdf+-1sigF90``; one-sided ``brnpdfBRNTimingWidthSyst``,
  ``cevnspdfCEvNSTimingMeanSyst``.
* ``CENNS10AnlAEfficiency.txt``: ``keVee keVnr efficiency`` at 80 bin centres 0.25 ... 39.75
  keVee (a trailing blank line is part of the file).
* ``energydata1d``, ``f90data1d``, ``timingdata1d``: one header line, then 8 columns (bin
  centre, steady-state-subtracted data, its error, best-fit CEvNS, BRN, CEvNS+BRN, systematic
  band low and high); ``systerrors1d{energy,psd,time}``: bin centre, low and high factor.
* ``LArParametersAnlA.yaml``: every other number (exposure, distance, mass, quenching,
  neutrinos per POT, resolution, POT trace, predicted and best-fit normalisations).

Every file is checked against an MD5 digest (:data:`MD5`): four are the Zenodo record's own,
the others were computed from the staged files copied from the release. A missing file, a
malformed one or a digest mismatch raises :class:`~cevns_scan.errors.InputError` with one line
naming the file and what was expected. The companion PDF and the two example scripts of the
release are not needed.
"""

from __future__ import annotations

import importlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ...errors import InputError
from .._coherent import check_digest, check_grid, read_table, require_file

#: Zenodo record of the release.
RELEASE_DOI = "10.5281/zenodo.3903810"
RELEASE_PAPER = "D. Akimov et al. (COHERENT), PRL 126, 012002 (2021), arXiv:2003.10630"
RELEASE_NOTE = "arXiv:2006.12659"

#: MD5 digests of the 21 data files. The first four are those of the Zenodo record; the
#: others were computed from the staged files copied from the release (Zenodo 3903810).
MD5 = {
    "energydata1d.txt": "fb4122f9309e16df39de4d3f3224af56",  # Zenodo record
    "datanobkgsub.txt": "4346ec521e91a7227b2e34ff8f3c269b",  # Zenodo record
    "cevnspdf.txt": "5601234e03bc9bbd01066591629e72c0",  # Zenodo record
    "LArParametersAnlA.yaml": "cc9f2c60ce0c17809453e0caad9c4a38",  # Zenodo record
    # computed from the staged files copied from the release:
    "CENNS10AnlAEfficiency.txt": "77139f1bb79dcf972a3a0ecc28a4a8f5",
    "bkgpdf.txt": "ccc2df245a004a644cd04317d07b35df",
    "brnpdf.txt": "7ccf0fdc0d0010d2c6570d620816e4df",
    "brnpdf+1sigBRNTimingMean.txt": "edf00a561d1f934d3e8bef2c401e8d91",
    "brnpdf-1sigBRNTimingMean.txt": "937c7c0f53aff94600ed7dfffb69de8b",
    "brnpdf+1sigEnergy.txt": "2ad879a7302d8ca2e25ef1e192f88183",
    "brnpdf-1sigEnergy.txt": "ea7dd87225a19fe75f28d3dec00e7441",
    "brnpdfBRNTimingWidthSyst.txt": "5050ef987d122fae43eeef27b86ec1b2",
    "cevnspdf+1sigF90.txt": "0237a293b243b371459bcb19bc2fa116",
    "cevnspdf-1sigF90.txt": "b9bd9500b0c84b851f0d38e4869cad0f",
    "cevnspdfCEvNSTimingMeanSyst.txt": "24455c1cd2acf4f359cf0942deb7b29b",
    "delbrnpdf.txt": "5d57e91a773f03368d149dc5739b6a01",
    "f90data1d.txt": "4fa866380574a7d70f719ffcbab11806",
    "timingdata1d.txt": "a467365800489d105f7305a38751c9e5",
    "systerrors1denergy.txt": "d933e52f2c0dd8987e3535640194065f",
    "systerrors1dpsd.txt": "2d0cb7ca23e3b0a3edfd2f0cb0e9d5dd",
    "systerrors1dtime.txt": "98c920d71497cfa8b35bbd18fc8975c3",
}
#: The four digests published on the Zenodo record (the rest: computed from staged copies).
ZENODO_MD5 = ("energydata1d.txt", "datanobkgsub.txt", "cevnspdf.txt", "LArParametersAnlA.yaml")

#: Bin centres of the three analysis axes (the release's grid).
ENERGY_CENTRES_KEVEE = 5.0 + 10.0 * np.arange(12)
F90_CENTRES = 0.525 + 0.05 * np.arange(8)
TIME_CENTRES_US = 0.15 + 0.5 * np.arange(10)
SHAPE = (12, 8, 10)
N_BINS = 960

#: The 3-D files: attribute name -> file.
PDF_FILES = {
    "observed": "datanobkgsub.txt",
    "cevns": "cevnspdf.txt",
    "brn": "brnpdf.txt",
    "delayed_brn": "delbrnpdf.txt",
    "steady_state": "bkgpdf.txt",
    "brn_energy_plus": "brnpdf+1sigEnergy.txt",
    "brn_energy_minus": "brnpdf-1sigEnergy.txt",
    "brn_time_mean_plus": "brnpdf+1sigBRNTimingMean.txt",
    "brn_time_mean_minus": "brnpdf-1sigBRNTimingMean.txt",
    "brn_time_width": "brnpdfBRNTimingWidthSyst.txt",
    "cevns_f90_plus": "cevnspdf+1sigF90.txt",
    "cevns_f90_minus": "cevnspdf-1sigF90.txt",
    "cevns_time_mean": "cevnspdfCEvNSTimingMeanSyst.txt",
}
#: 1-D projections (one header line, 8 columns) and their row counts.
PROJECTION_FILES = {"energy": ("energydata1d.txt", 12), "f90": ("f90data1d.txt", 8),
                    "time": ("timingdata1d.txt", 10)}
SYSTEMATIC_BAND_FILES = {"energy": ("systerrors1denergy.txt", 12),
                         "f90": ("systerrors1dpsd.txt", 8), "time": ("systerrors1dtime.txt", 10)}
EFFICIENCY_FILE = "CENNS10AnlAEfficiency.txt"
EFFICIENCY_ROWS = 80
PARAMETERS_FILE = "LArParametersAnlA.yaml"

_INSTALL_HINT = "pip install 'cevns-scan[coherent]'"
_WHAT = "COHERENT CENNS-10 argon release (Zenodo 3903810)"
#: Normalisation entries of the yaml: our name -> (prediction key, best-fit key).
NORMALISATIONS = {
    "cevns": ("cevnsPredictionNormalization", "cevnsBestfitNormalization"),
    "brn": ("promptBeamRelatedNeutronPredictionNormalization",
            "promptBeamRelatedNeutronBestfitNormalization"),
    "delayed_brn": ("delayedBeamRelatedNeutronPredictionNormalization",
                    "delayedBeamRelatedNeutronBestfitNormalization"),
    "steady_state": ("ssBackgroundPredictionNormalization", "ssBackgroundBestfitNormalization"),
}


@dataclass(frozen=True)
class LArParameters:
    """The numbers of ``LArParametersAnlA.yaml`` in SI-like units named in each field.

    ``predicted`` and ``best_fit`` map ``cevns``, ``brn``, ``delayed_brn``, ``steady_state``
    to (value, uncertainty) in events.
    """

    pot: float
    distance_m: float
    mass_kg: float
    mass_sigma_kg: float
    qf_a: float
    qf_b_per_kevnr: float
    nu_per_flavour_per_pot: float
    nu_per_flavour_per_pot_sigma: float
    resolution_a_sqrt_kevee: float
    pot_mean_us: float
    pot_mean_sigma_us: float
    pot_width_us: float
    predicted: dict = field(default_factory=dict)
    best_fit: dict = field(default_factory=dict)


@dataclass(frozen=True, eq=False)
class LArRelease:
    """Everything of the argon release that the response and the likelihood need.

    3-D arrays have shape (960,) in the release's order (C order of (12, 8, 10): energy,
    F90, time); ``observed`` is int64, the rest float64 (expected events).
    """

    root: Path
    observed: np.ndarray
    cevns: np.ndarray
    brn: np.ndarray
    delayed_brn: np.ndarray
    steady_state: np.ndarray
    brn_energy_plus: np.ndarray
    brn_energy_minus: np.ndarray
    brn_time_mean_plus: np.ndarray
    brn_time_mean_minus: np.ndarray
    brn_time_width: np.ndarray
    cevns_f90_plus: np.ndarray
    cevns_f90_minus: np.ndarray
    cevns_time_mean: np.ndarray
    efficiency_kevee: np.ndarray  #: (80,) bin centres in keVee
    efficiency_kevnr: np.ndarray  #: (80,) the same in keVnr
    efficiency: np.ndarray  #: (80,) acceptance
    projections: dict  #: name -> (n, 8) array of the 1-D files
    systematic_bands: dict  #: name -> (n, 3) array
    parameters: LArParameters

    @property
    def energy_edges_kevee(self) -> np.ndarray:
        return np.append(ENERGY_CENTRES_KEVEE - 5.0, ENERGY_CENTRES_KEVEE[-1] + 5.0)

    @property
    def f90_edges(self) -> np.ndarray:
        return np.append(F90_CENTRES - 0.025, F90_CENTRES[-1] + 0.025)

    @property
    def time_edges_us(self) -> np.ndarray:
        return np.append(TIME_CENTRES_US - 0.25, TIME_CENTRES_US[-1] + 0.25)


def _grid_columns() -> np.ndarray:
    e, f, t = np.meshgrid(ENERGY_CENTRES_KEVEE, F90_CENTRES, TIME_CENTRES_US, indexing="ij")
    return np.stack([e.ravel(), f.ravel(), t.ravel()], axis=1)


def _read_pdf(path: Path, integer: bool) -> np.ndarray:
    table = read_table(path, 4, N_BINS)
    grid = _grid_columns()
    for k, what in enumerate(("keVee", "F90", "time")):
        check_grid(path, table[:, k], grid[:, k], what)
    values = table[:, 3]
    if np.any(values < 0):
        raise InputError(f"{path}: negative counts; expected expected-event numbers >= 0")
    if integer:
        if np.any(values != np.round(values)):
            raise InputError(f"{path}: expected integer counts in the fourth column")
        return values.astype(np.int64)
    return values


def _import_yaml():
    try:
        return importlib.import_module("yaml")
    except ImportError:
        raise InputError(f"reading {PARAMETERS_FILE} needs PyYAML; run {_INSTALL_HINT}"
                         ) from None


def _number(path: Path, node, key: str, *, field_name: str = "value") -> float:
    try:
        value = node[field_name]
    except (KeyError, TypeError):
        raise InputError(f"{path}: {key} has no {field_name}; expected the release's "
                         "parameter file") from None
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise InputError(f"{path}: {key} {field_name} = {value!r} is not a number")
    return float(value)


def _entry(path: Path, content: dict, key: str, units: str | None = None) -> dict:
    node = content.get(key) if isinstance(content, dict) else None
    if not isinstance(node, dict):
        raise InputError(f"{path}: no entry {key}; expected the release's parameter file")
    if units is not None and str(node.get("units", "")).strip() != units:
        raise InputError(f"{path}: {key} units {node.get('units')!r}, expected {units!r}")
    return node


def _parameter(path: Path, node: dict, key: str, name: str, units: str) -> dict:
    for p in node.get("parameters") or []:
        if isinstance(p, dict) and p.get("name") == name:
            if str(p.get("units", "")).strip() != units:
                raise InputError(f"{path}: {key} parameter {name} units {p.get('units')!r}, "
                                 f"expected {units!r}")
            return p
    raise InputError(f"{path}: {key} has no parameter {name}")


def read_parameters(path: Path) -> LArParameters:
    """Parse ``LArParametersAnlA.yaml`` (PyYAML, imported here)."""
    yaml = _import_yaml()
    try:
        content = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
    except (yaml.YAMLError, UnicodeDecodeError) as exc:
        first = " ".join(str(exc).split())[:120]
        raise InputError(f"{path}: not valid YAML ({first})") from None
    if not isinstance(content, dict):
        raise InputError(f"{path}: expected a YAML mapping of the release's parameters")
    beam = _entry(path, content, "beamExposure", "E22 POT")
    dist = _entry(path, content, "distanceToTarget", "m")
    mass = _entry(path, content, "fiducialMass", "kg")
    qf = _entry(path, content, "larQF")
    nu = _entry(path, content, "neutrinosPerProton", "nu/flavor/proton")
    res = _entry(path, content, "energyResolution")
    pot = _entry(path, content, "snsPOTTraceTiming")
    qf_a = _parameter(path, qf, "larQF", "a", "none")
    qf_b = _parameter(path, qf, "larQF", "b", "(keVnr)^-1")
    res_a = _parameter(path, res, "energyResolution", "a", "(keVee)^(1/2)")
    pot_a = _parameter(path, pot, "snsPOTTraceTiming", "a", "ns")
    pot_b = _parameter(path, pot, "snsPOTTraceTiming", "b", "ns")
    ns_per_us = 1000.0
    predicted, best = {}, {}
    for name, (k_pred, k_best) in NORMALISATIONS.items():
        n_pred = _entry(path, content, k_pred)
        n_best = _entry(path, content, k_best)
        predicted[name] = (_number(path, n_pred, k_pred),
                           _number(path, n_pred, k_pred, field_name="uncertainty"))
        err_key = "uncertainty_stat" if "uncertainty_stat" in n_best else "uncertainty"
        best[name] = (_number(path, n_best, k_best),
                      _number(path, n_best, k_best, field_name=err_key))
    out = LArParameters(
        pot=_number(path, beam, "beamExposure") * 1e22,
        distance_m=_number(path, dist, "distanceToTarget"),
        mass_kg=_number(path, mass, "fiducialMass"),
        mass_sigma_kg=_number(path, mass, "fiducialMass", field_name="uncertainty"),
        qf_a=_number(path, qf_a, "larQF a"),
        qf_b_per_kevnr=_number(path, qf_b, "larQF b"),
        nu_per_flavour_per_pot=_number(path, nu, "neutrinosPerProton"),
        nu_per_flavour_per_pot_sigma=_number(path, nu, "neutrinosPerProton",
                                             field_name="uncertainty"),
        resolution_a_sqrt_kevee=_number(path, res_a, "energyResolution a"),
        pot_mean_us=_number(path, pot_a, "snsPOTTraceTiming a") / ns_per_us,
        pot_mean_sigma_us=_number(path, pot_a, "snsPOTTraceTiming a",
                                  field_name="uncertainty") / ns_per_us,
        pot_width_us=_number(path, pot_b, "snsPOTTraceTiming b") / ns_per_us,
        predicted=predicted, best_fit=best)
    for name in ("pot", "distance_m", "mass_kg", "nu_per_flavour_per_pot", "pot_width_us",
                 "resolution_a_sqrt_kevee"):
        if not getattr(out, name) > 0:
            raise InputError(f"{path}: {name} = {getattr(out, name)!r} must be > 0")
    return out


def read_release(root) -> LArRelease:
    """Read and check the argon release folder ``root`` (the files as published on Zenodo).

    Raises
    ------
    InputError
        One line naming the file: missing, not of the expected form (rows, columns, grid,
        integer counts, YAML entries and units), or with another MD5 digest than the release's.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root}: not a folder; expected the {_WHAT}")
    paths = {name: require_file(root, name, _WHAT) for name in MD5}
    arrays = {attr: _read_pdf(paths[name], attr == "observed") for attr, name in PDF_FILES.items()}
    eff = read_table(paths[EFFICIENCY_FILE], 3, EFFICIENCY_ROWS)
    check_grid(paths[EFFICIENCY_FILE], eff[:, 0], 0.25 + 0.5 * np.arange(EFFICIENCY_ROWS),
               "keVee")
    if np.any((eff[:, 2] < 0) | (eff[:, 2] > 1)):
        raise InputError(f"{paths[EFFICIENCY_FILE]}: efficiencies outside [0, 1]")
    projections = {k: read_table(paths[f], 8, n, header="Bin Center")
                   for k, (f, n) in PROJECTION_FILES.items()}
    bands = {k: read_table(paths[f], 3, n) for k, (f, n) in SYSTEMATIC_BAND_FILES.items()}
    params = read_parameters(paths[PARAMETERS_FILE])
    for name, digest in MD5.items():
        source = "Zenodo record's" if name in ZENODO_MD5 else "release's"
        check_digest(paths[name], "md5", digest, f"{source} MD5")
    return LArRelease(root, **arrays, efficiency_kevee=eff[:, 0], efficiency_kevnr=eff[:, 1],
                      efficiency=eff[:, 2], projections=projections, systematic_bands=bands,
                      parameters=params)
