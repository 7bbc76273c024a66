"""The Sun as a neutrino source: flux components, spectra and flavour probabilities at Earth.

Eight components (pp, pep, hep, 7Be, 8B, 13N, 15O, 17F) of a standard solar model
(``data/solar_fluxes.csv``: BS05(OP), BS05-AGS-OP, B16-GS98, B16-AGSS09met), each a total flux
at Earth in cm^-2 s^-1 times a unit-area tabulated shape (linear interpolation) or exact lines
(7Be at 0.8618 and 0.3843 MeV, pep at 1.442 MeV). Flavour probabilities (docs/design.md §2):

* ``"constant"``: the paper's energy-independent P_ee, P_emu, P_etau of eqs. 8-11, the same
  for every component (:func:`flavour_probabilities`);
* ``"msw"``: day-time adiabatic MSW P_ee(E) of each component averaged over its production
  zones (:mod:`cevns_scan.msw`), with P_emu, P_etau sharing 1 - P_ee as in eqs. 9-10; the
  weights then sit inside the E_nu integral (:meth:`SolarSource.split_flavours`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np

from ..errors import InputError
from ..kernels.constants import SECONDS_PER_DAY
from ..kernels.rates import Spectrum
from ..kernels.spectra import tail_moment_table
from ..tables import Table, check_non_negative, data_file, load_spectrum, read_table
from . import FluxComponent, constant_split

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

#: Relative tolerance of the piecewise-linear tables of phi(E) P_ee(E) for the MSW model
#: (:func:`cevns_scan.msw.weighted_spectrum`): templates agree with a quadrature of
#: phi_lin(E) P_ee(E) dsigma/dT to ~1e-8 (tests/test_rates.py); 8B grows from 201 to
#: 4273 nodes.
MSW_RTOL = 1e-7


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


@functools.lru_cache(maxsize=64)
def _electron_weighted(name: str, e_bytes: bytes, f_bytes: bytes, le_bytes: bytes,
                       lb_bytes: bytes, params: tuple[float, float, float], rtol: float):
    """Cached body of :meth:`Oscillation.electron_spectrum` (arrays passed as bytes)."""
    from .. import msw

    s12, s13, dm2 = params
    e, f = np.frombuffer(e_bytes).copy(), np.frombuffer(f_bytes).copy()
    line_e, line_b = np.frombuffer(le_bytes).copy(), np.frombuffer(lb_bytes).copy()
    if e.size:
        e, f = msw.weighted_spectrum(
            e, f, lambda x: msw.survival_probability(x, name, s12, s13, dm2), rtol)
        e, f = np.ascontiguousarray(e), np.ascontiguousarray(f)
    moments = tail_moment_table(e, f) if e.size else np.zeros((3, 0))
    line_p = (msw.survival_probability(line_e, name, s12, s13, dm2) if line_e.size
              else np.zeros(0))
    return Spectrum(e, f, moments, line_e, np.ascontiguousarray(line_b * line_p))


@dataclass(frozen=True)
class Oscillation:
    """Flavour probabilities at Earth of the electron neutrinos made in the Sun.

    ``model = "constant"``: the paper's energy-independent P_ee, P_eμ, P_eτ (eqs. 8-11,
    :attr:`constant`). ``model = "msw"``: day-time adiabatic MSW P_ee(E) of each flux
    component (:mod:`cevns_scan.msw`, eqs. M1-M4) with P_eμ = (1 - P_ee) cos²θ23 and
    P_eτ = (1 - P_ee) sin²θ23 (eqs. 9-10). Mixing parameters are dimensionless, Δm²21 in eV².
    """

    model: str
    sin2_theta12: float
    sin2_theta23: float
    sin2_theta13: float
    dm2_21_ev2: float

    @property
    def constant(self) -> tuple[float, float, float]:
        """(P_ee, P_eμ, P_eτ) of eqs. 8-11."""
        return flavour_probabilities(self.sin2_theta12, self.sin2_theta23, self.sin2_theta13)

    @property
    def split(self) -> tuple[float, float]:
        """(cos²θ23, sin²θ23): the shares of 1 - P_ee going to ν_μ and ν_τ (eqs. 9-10)."""
        return 1.0 - self.sin2_theta23, self.sin2_theta23

    def electron_spectrum(self, component: FluxComponent) -> Spectrum:
        """The component weighted by its MSW survival probability, per unit total flux.

        Continuous part: a refined piecewise-linear table of φ_lin(E) P_ee(E)
        (:func:`cevns_scan.msw.weighted_spectrum` at :data:`MSW_RTOL`), so the exact E_ν
        moments of eq. 12 integrate the product; lines: branching b_l P_ee(E_l). Cached.
        """
        c = component
        return _electron_weighted(
            c.name, np.ascontiguousarray(c.e_mev, dtype=float).tobytes(),
            np.ascontiguousarray(c.density, dtype=float).tobytes(),
            np.ascontiguousarray(c.line_e_mev, dtype=float).tobytes(),
            np.ascontiguousarray(c.line_branching, dtype=float).tobytes(),
            (self.sin2_theta12, self.sin2_theta13, self.dm2_21_ev2), MSW_RTOL)

    def probabilities(self, component: str, e_nu_mev) -> np.ndarray:
        """(P_ee, P_eμ, P_eτ) at the energies ``e_nu_mev`` (MeV, > 0), shape (3, n)."""
        from .. import msw

        e = np.atleast_1d(np.asarray(e_nu_mev, dtype=float))
        if self.model == "msw":
            return msw.flavour_probabilities(e, component, self.sin2_theta12,
                                             self.sin2_theta23, self.sin2_theta13,
                                             self.dm2_21_ev2)
        msw._check_component(component)
        msw._check_energies(e)
        return np.array(self.constant)[:, None] * np.ones((1, e.size))




@dataclass(frozen=True)
class SolarSource:
    """The Sun seen from the Earth: the :class:`~cevns_scan.sources.Source` of solar neutrinos.

    ``components`` carry total fluxes in cm^-2 s^-1 (rates come out per kg day);
    ``probabilities`` are the paper's constant (P_ee, P_emu, P_etau) of eqs. 8-11, used as the
    flavour weights when ``oscillation.model == "constant"``; with ``"msw"`` the weights depend
    on E_nu and the component (:meth:`split_flavours`).
    """

    components: tuple[FluxComponent, ...]
    probabilities: tuple[float, float, float]
    flux_model: str
    sigma_model: str
    oscillation: Oscillation | None = None

    name = "solar"
    exposure_seconds = SECONDS_PER_DAY

    @property
    def flavour_model(self) -> str:
        """``"constant"`` (eqs. 8-11) or ``"msw"``."""
        return self.oscillation.model if self.oscillation is not None else "constant"

    @property
    def component_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components)

    def flavour_weights(self, component: FluxComponent):
        """The constant (P_ee, P_emu, P_etau) of eqs. 8-11, or None for MSW."""
        return self.probabilities if self.flavour_model == "constant" else None

    def split_flavours(self, model, component: FluxComponent, evaluate, mm_all,
                       factor: float = 1.0) -> np.ndarray:
        """MSW: M_e from the spectrum phi P_ee, M_mu and M_tau from phi (1 - P_ee) (eqs. 9-10).

        M_e = M[phi P_ee], M_mu = cos^2(theta23) (M[phi] - M[phi P_ee]),
        M_tau = sin^2(theta23) (M[phi] - M[phi P_ee]): the integral is linear in the spectrum,
        so sum_l M_l = M[phi] holds exactly. M[phi P_ee] is zero, without building the
        weighted spectrum, where the whole component's part ``mm_all`` is zero.
        """
        from ..rates import nuclide_sum

        weights = self.flavour_weights(component)
        if weights is not None:
            return constant_split(mm_all, weights)
        if not np.any(mm_all != 0.0):
            mm_ee = np.zeros_like(mm_all)
        else:
            spec = self.oscillation.electron_spectrum(component)
            mm_ee = nuclide_sum(model, component, lambda nuc: evaluate(spec, nuc), factor)[1]
        c23, s23 = self.oscillation.split
        rest = mm_all - mm_ee
        return np.stack([mm_ee, c23 * rest, s23 * rest], axis=-1)

    def time_fractions(self, component: FluxComponent, t_lo_us, t_hi_us):
        """None: the Sun is a steady source."""
        return None

    def with_components(self, names) -> SolarSource:
        """The same source restricted to the named flux components (in source order)."""
        unknown = [n for n in names if n not in self.component_names]
        if unknown:
            raise InputError(f"unknown flux component(s) {', '.join(unknown)}; "
                             f"use names from {', '.join(self.component_names)}")
        return dataclasses.replace(
            self, components=tuple(c for c in self.components if c.name in names))

    def flux_averaged_probabilities(self) -> dict[str, tuple[float, float, float]]:
        """Per component, (P_ee, P_emu, P_etau) averaged over its unit-area spectrum and lines.

        For ``"constant"`` every component has the eqs. 8-11 values; for ``"msw"``
        <P_ee> = int phi P_ee dE + sum_l b_l P_ee(E_l) (what run.json records).
        """
        out = {}
        for comp in self.components:
            if self.flavour_model == "constant":
                out[comp.name] = tuple(self.probabilities)
                continue
            spec = self.oscillation.electron_spectrum(comp)
            total = (comp.moments[0, 0] if comp.e_mev.size else 0.0) + comp.line_branching.sum()
            p_ee = float(((spec.cum[0, 0] if spec.e.size else 0.0) + spec.line_b.sum()) / total)
            c23, s23 = self.oscillation.split
            out[comp.name] = (p_ee, (1.0 - p_ee) * c23, (1.0 - p_ee) * s23)
        return out

    def probabilities_record(self) -> dict:
        """What run.json says about the flavour probabilities."""
        if self.flavour_model == "msw":
            avg = self.flux_averaged_probabilities()
            return {"model": "msw: day-time adiabatic MSW, energy dependent per flux component",
                    "flux_averaged": {c: dict(zip(("P_ee", "P_emu", "P_etau"), map(float, p),
                                                  strict=True)) for c, p in avg.items()}}
        return {"model": "constant: eqs. 8-11",
                **dict(zip(("P_ee", "P_emu", "P_etau"), self.probabilities, strict=True))}

    def describe(self) -> dict:
        """run.json's account of the source: flux model, uncertainties, probabilities."""
        return {"source": "solar", "flux_model": self.flux_model,
                "flux_uncertainties": (
                    f"fractional 1-sigma flux errors from {self.sigma_model}; BS05(OP) "
                    "uncertainties are not available to us"),
                "flavour_probabilities": self.probabilities_record()}


def build_solar_source(config) -> SolarSource:
    """The solar source described by a validated :class:`~cevns_scan.config.Config`."""
    flx, osc = config.fluxes, config.oscillation
    components = make_flux_components(flx.model, flx.sigma_model, flx.components,
                                      flx.spectrum_8B, flx.sigma_overrides())
    probs = flavour_probabilities(osc.sin2_theta12, osc.sin2_theta23, osc.sin2_theta13)
    oscillation = Oscillation(config.choices["oscillation"], osc.sin2_theta12, osc.sin2_theta23,
                              osc.sin2_theta13, osc.dm2_21_ev2)
    return SolarSource(components, probs, flx.model, flx.sigma_model, oscillation)
