"""The physics model: target nucleus, solar flux components, flavour probabilities, quenching.

Built from a validated :class:`~cevns_scan.config.Config` by :func:`build_model`. The numbers
feed the kernels; nothing here integrates.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np

from .errors import InputError
from .kernels.constants import AMU_MEV, N_AVOGADRO
from .kernels.cross_sections import weak_charge
from .kernels.form_factor import helm_radius_fm
from .kernels.rates import Nucleus, Spectrum
from .kernels.spectra import tail_moment_table
from .tables import Table, check_non_negative, data_file, load_spectrum, read_table

#: Built-in targets: proton number and natural molar mass in g/mol (docs/design.md §2).
KNOWN_TARGETS = {"Ge": (32, 72.630), "Xe": (54, 131.293)}

#: Spectral-shape file of each continuous component.
SPECTRUM_FILES = {
    "pp": "spectrum_pp.csv",
    "hep": "spectrum_hep.csv",
    "13N": "spectrum_13N.csv",
    "15O": "spectrum_15O.csv",
    "17F": "spectrum_17F.csv",
}
SPECTRUM_8B = {
    "winter2006": ("spectrum_8B.csv", "dN_dE_per_MeV"),
    "bahcall1996": ("spectrum_8B_bahcall1996.csv", "best_per_MeV"),
}


@dataclass(frozen=True)
class Target:
    """One effective nucleus per element: A = molar mass, N = A - Z, m_N = A u (design §2)."""

    name: str
    z: int
    molar_mass: float

    @property
    def a_mass(self) -> float:
        return self.molar_mass

    @property
    def n_neutrons(self) -> float:
        return self.molar_mass - self.z

    @property
    def m_n_mev(self) -> float:
        """Nuclear mass in MeV."""
        return self.molar_mass * AMU_MEV

    @property
    def nuclei_per_kg(self) -> float:
        """N_T per kg of target: 1000 N_A / A (eq. 12)."""
        return 1000.0 * N_AVOGADRO / self.molar_mass

    @property
    def r0_fm(self) -> float:
        """Helm radius in fm."""
        return helm_radius_fm(self.a_mass)


def make_target(name: str, z: int | None = None, molar_mass: float | None = None) -> Target:
    """A built-in target by name, or any element from its Z and molar mass (g/mol)."""
    if z is None or molar_mass is None:
        if name not in KNOWN_TARGETS:
            raise InputError(
                f"unknown target {name!r}; use {' or '.join(KNOWN_TARGETS)}, "
                "or give Z and molar mass"
            )
        z, molar_mass = KNOWN_TARGETS[name]
    return Target(name, int(z), float(molar_mass))


@dataclass(frozen=True)
class FluxComponent:
    """One solar-neutrino flux component.

    ``flux`` is the total flux at Earth in cm^-2 s^-1, ``frac_sigma`` its fractional 1-sigma.
    The continuous shape (``e_mev``, ``density``, unit area) and the lines (``line_e_mev``,
    ``line_branching``, summing to 1) are either may be empty.
    """

    name: str
    flux: float
    frac_sigma: float
    e_mev: np.ndarray
    density: np.ndarray
    moments: np.ndarray
    line_e_mev: np.ndarray
    line_branching: np.ndarray

    @property
    def spectrum(self) -> Spectrum:
        """The component as the rate kernels take it."""
        return Spectrum(self.e_mev, self.density, self.moments, self.line_e_mev,
                        self.line_branching)

    @property
    def e_max_mev(self) -> float:
        ends = [self.e_mev[-1]] if self.e_mev.size else []
        return float(max([*ends, *self.line_e_mev.tolist()]))


@functools.cache
def _flux_table() -> Table:
    return read_table(data_file("solar_fluxes.csv"), ("model", "component", "flux_cm2_s",
                                                      "frac_sigma"), label="data/solar_fluxes.csv")


def flux_models() -> tuple[str, ...]:
    """Solar models in data/solar_fluxes.csv, in file order."""
    seen: dict[str, None] = {}
    for row in _flux_table().rows:
        seen[row[0].strip()] = None
    return tuple(seen)


def model_fluxes(model: str) -> dict[str, tuple[float, float]]:
    """``component -> (flux cm^-2 s^-1, fractional sigma or nan)`` for one solar model."""
    table = _flux_table()
    flux = table.numeric("flux_cm2_s")
    sigma = table.numeric("frac_sigma", allow_empty=True)
    check_non_negative(table, "flux_cm2_s", flux)
    out = {}
    for row, f, s in zip(table.rows, flux, sigma, strict=True):
        if row[0].strip() == model:
            out[row[1].strip()] = (float(f), float(s))
    if not out:
        raise InputError(f"solar model {model!r} is not in data/solar_fluxes.csv; "
                         f"use one of {', '.join(flux_models())}")
    return out


@functools.cache
def _lines() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    table = read_table(data_file("solar_lines.csv"), ("component", "line", "E_nu_MeV", "branching"),
                       label="data/solar_lines.csv")
    energy = table.numeric("E_nu_MeV")
    branching = table.numeric("branching")
    check_non_negative(table, "branching", branching)
    out: dict[str, tuple[list, list]] = {}
    for row, e, b in zip(table.rows, energy, branching, strict=True):
        out.setdefault(row[0].strip(), ([], []))
        out[row[0].strip()][0].append(e)
        out[row[0].strip()][1].append(b)
    result = {}
    for comp, (es, bs) in out.items():
        total = sum(bs)
        if abs(total - 1.0) > 1e-6:
            raise InputError(f"data/solar_lines.csv: branchings of {comp} sum to {total:g}, not 1")
        result[comp] = (np.array(es), np.array(bs))
    return result


@functools.cache
def _spectrum(filename: str, column: str):
    return load_spectrum(data_file(filename), column, label=f"data/{filename}")


_EMPTY = np.zeros(0)


def make_flux_components(model: str, sigma_model: str, components, spectrum_8b: str,
                         sigma_overrides: dict[str, float]) -> tuple[FluxComponent, ...]:
    """The flux components of a solar model with their shapes, lines and 1-sigma errors."""
    fluxes = model_fluxes(model)
    sigmas = model_fluxes(sigma_model)
    lines = _lines()
    out = []
    for name in components:
        flux, sigma = fluxes[name]
        if math.isnan(sigma):
            sigma = sigmas[name][1]
        if name in sigma_overrides:
            sigma = sigma_overrides[name]
        if math.isnan(sigma):
            raise InputError(
                f"config key [fluxes] sigma_model = {sigma_model!r} has no uncertainty for {name}; "
                "choose B16-GS98 or B16-AGSS09met, or set [fluxes.sigma]"
            )
        if name in lines:
            e_l, b_l = lines[name]
            e, f = _EMPTY, _EMPTY
        else:
            filename, column = (SPECTRUM_8B[spectrum_8b] if name == "8B"
                                else (SPECTRUM_FILES[name], "dN_dE_per_MeV"))
            spec = _spectrum(filename, column)
            e, f = spec.e_mev, spec.density
            e_l, b_l = _EMPTY, _EMPTY
        moments = tail_moment_table(e, f) if e.size else np.zeros((3, 0))
        out.append(FluxComponent(name, flux, sigma, e, f, moments, e_l, b_l))
    return tuple(out)


def flavour_probabilities(sin2_theta12: float, sin2_theta23: float, sin2_theta13: float):
    """(P_ee, P_emu, P_etau) at Earth from eqs. 8-11.

    P_eff = 1 - sin^2(2 theta12) / 2, P_ee = P_eff cos^4 theta13 + sin^4 theta13,
    P_emu = (1 - P_ee) cos^2 theta23, P_etau = (1 - P_ee) sin^2 theta23.
    """
    sin2_2t12 = 4.0 * sin2_theta12 * (1.0 - sin2_theta12)
    p_eff = 1.0 - 0.5 * sin2_2t12
    p_ee = p_eff * (1.0 - sin2_theta13) ** 2 + sin2_theta13**2
    return (p_ee, (1.0 - p_ee) * (1.0 - sin2_theta23), (1.0 - p_ee) * sin2_theta23)


@dataclass(frozen=True)
class Model:
    """Everything the rate kernels need, in their units."""

    target: Target
    components: tuple[FluxComponent, ...]
    probabilities: tuple[float, float, float]
    sin2_theta_w: float
    quenching_k: float
    bin_rate: str
    gl_order: int
    max_ratio: float
    flux_model: str
    sigma_model: str

    @property
    def weak_charge(self) -> float:
        return weak_charge(float(self.target.z), self.target.n_neutrons, self.sin2_theta_w)

    @property
    def nucleus(self) -> Nucleus:
        """The target as the rate kernels take it."""
        tgt = self.target
        return Nucleus(tgt.m_n_mev, self.weak_charge, float(tgt.z), tgt.r0_fm)

    @property
    def component_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components)

    def with_target(self, target: Target) -> Model:
        """The same model for another target nucleus."""
        return dataclasses.replace(self, target=target)

    def with_components(self, names) -> Model:
        """The same model restricted to the named flux components (in model order)."""
        unknown = [n for n in names if n not in self.component_names]
        if unknown:
            raise InputError(f"unknown flux component(s) {', '.join(unknown)}; "
                             f"use names from {', '.join(self.component_names)}")
        return dataclasses.replace(
            self, components=tuple(c for c in self.components if c.name in names))


def build_model(config) -> Model:
    """The :class:`Model` described by a validated :class:`~cevns_scan.config.Config`."""
    tgt, flx, osc = config.target, config.fluxes, config.oscillation
    target = make_target(tgt.name, tgt.z, tgt.molar_mass)
    components = make_flux_components(flx.model, flx.sigma_model, flx.components,
                                      flx.spectrum_8B, flx.sigma_overrides())
    probs = flavour_probabilities(osc.sin2_theta12, osc.sin2_theta23, osc.sin2_theta13)
    return Model(target, components, probs, config.physics.sin2_theta_w,
                 config.physics.quenching_k, config.physics.bin_rate, config.numerics.gl_order,
                 config.numerics.max_ratio, flx.model, flx.sigma_model)
