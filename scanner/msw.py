"""Energy-dependent solar flavour probabilities: day-time adiabatic MSW (three flavours).

The paper (Demirci, Başlı & Mustamin 2023, eqs. 8-11) uses one vacuum-averaged survival
probability for all energies; :func:`constant_probabilities` returns it for comparison. This
module adds the energy dependence from the matter (MSW) effect in the Sun, in the standard
adiabatic three-flavour reduction, averaged over where each flux component is produced
(BS05(OP) zone table, ``data/solar_model_bs05op.csv``). These are **day-time** probabilities:
Earth regeneration (night-time) is not included.

Equations (numbered here as M1-M5; E in MeV, n_e in cm^-3, Δm²21 in eV²):

(M1) matter potential  V = √2 G_F n_e (ħc)³   [MeV], with G_F in MeV^-2 and ħc in MeV cm;

(M2) β = 2 E V cos²θ13 / Δm²21  (dimensionless; Δm²21 converted to MeV²);

(M3) matter angle at the production point
     cos 2θ12^m = (cos 2θ12 − β) / sqrt((cos 2θ12 − β)² + sin² 2θ12);

(M4) adiabatic propagation to vacuum (no level crossing)
     P2ν = 1/2 + 1/2 cos 2θ12 cos 2θ12^m,
     P_ee = cos⁴θ13 ⟨P2ν⟩ + sin⁴θ13,
     where ⟨·⟩ is the average over the production zones with the component's weights;

(M5) P_eμ = (1 − P_ee) cos²θ23,  P_eτ = (1 − P_ee) sin²θ23   (the paper's eqs. 9-10).

For β → 0 this tends to the paper's eq. 8/11 value (1 − sin²2θ12/2) cos⁴θ13 + sin⁴θ13, for
β → ∞ to cos⁴θ13 sin²θ12 + sin⁴θ13. References: Wolfenstein, PRD 17, 2369 (1978); Mikheyev &
Smirnov, Sov. J. Nucl. Phys. 42, 913 (1985); adiabatic formula (M4): Parke, PRL 57, 1275
(1986); three-flavour reduction: Kuo & Pantaleone, Rev. Mod. Phys. 61, 937 (1989). The
reduction neglects the matter shift of θ13, a relative effect of order sin²θ13 2EV/Δm²31
(about 1e-3 in P_ee at 10-15 MeV against a full 3x3 adiabatic diagonalisation).

:func:`weighted_spectrum` turns a piecewise-linear spectrum φ(E) and a probability P(E) into a
refined piecewise-linear table of φ(E) P(E), so that the exact panel moments of
:mod:`cevns_scan.kernels.spectra` can integrate the product (eq. 12 of the paper).
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from types import MappingProxyType

import numpy as np

from .errors import InputError
from .kernels.constants import G_F_MEV2, HBARC_MEV_CM, N_AVOGADRO
from .tables import Table, check_increasing, data_file, read_table

#: Flux components with a production-zone column ``frac_<name>`` in the solar-model table.
COMPONENTS = ("pp", "pep", "hep", "7Be", "8B", "13N", "15O", "17F")

SOLAR_MODEL_FILE = "solar_model_bs05op.csv"
OSCILLATION_FILE = "oscillation_parameters.csv"

#: Allowed deviation of a production-fraction column's sum from 1 before renormalising.
WEIGHT_SUM_TOLERANCE = 1e-2

#: √2 G_F (ħc)³ in MeV cm³: V [MeV] = this times n_e [cm^-3] (eq. M1).
MATTER_POTENTIAL_MEV_CM3 = math.sqrt(2.0) * G_F_MEV2 * HBARC_MEV_CM**3
#: eV² -> MeV².
MEV2_PER_EV2 = 1.0e-12

#: Energies per block in :func:`survival_probability` (bounds the (E, zone) work array).
_BLOCK = 1024
#: :func:`weighted_spectrum` cuts a failing panel into at most this many parts per pass ...
_MAX_PIECES = 32
#: ... and never cuts a panel narrower than this times the last table energy.
_MIN_RELATIVE_WIDTH = 1e-12


@dataclass(frozen=True, eq=False)
class SolarModel:
    """Electron density and normalised production weights per zone of a solar model.

    Attributes
    ----------
    radius : ndarray
        Zone radius r / R_sun (dimensionless), increasing.
    n_e_cm3 : ndarray
        Electron number density in cm^-3.
    weights : Mapping[str, ndarray]
        Per component (see :data:`COMPONENTS`): fraction of its flux produced in each zone,
        normalised to sum 1.
    source : str
        Citation lines of the table.
    """

    radius: np.ndarray
    n_e_cm3: np.ndarray
    weights: Mapping[str, np.ndarray]
    source: str


def _readonly(values: np.ndarray) -> np.ndarray:
    values.setflags(write=False)
    return values


def _weight_column(table: Table, component: str) -> np.ndarray:
    """Production fractions of one component, checked (>= 0, sum 1 within tolerance), normalised."""
    column = f"frac_{component}"
    w = table.numeric(column)
    if np.any(w < 0.0):
        line = table.line_numbers[int(np.argmax(w < 0.0))]
        raise InputError(f"{table.path} line {line}: column {column} is negative; "
                         "production fractions must be >= 0")
    total = float(np.sum(w))
    if not abs(total - 1.0) <= WEIGHT_SUM_TOLERANCE:
        raise InputError(f"{table.path}: column {column} sums to {total:.6g}, not 1 within "
                         f"{WEIGHT_SUM_TOLERANCE:g}; give the fraction of the flux per zone")
    return _readonly(w / total)


@functools.cache
def load_solar_model() -> SolarModel:
    """The BS05(OP) zone table (``data/solar_model_bs05op.csv``), parsed once and cached.

    Returns
    -------
    SolarModel
        n_e = N_A 10^(log10_ne_cm3_per_NA) in cm^-3 and the normalised weight of each
        component per zone.

    Raises
    ------
    InputError
        A missing column, non-number, unsorted radius, negative fraction, or a fraction column
        whose sum differs from 1 by more than :data:`WEIGHT_SUM_TOLERANCE`.
    """
    columns = ("r_over_Rsun", "log10_ne_cm3_per_NA", *(f"frac_{c}" for c in COMPONENTS))
    table = read_table(data_file(SOLAR_MODEL_FILE), columns, label=f"data/{SOLAR_MODEL_FILE}")
    radius = table.numeric("r_over_Rsun")
    check_increasing(table, "r_over_Rsun", radius)
    n_e = N_AVOGADRO * 10.0 ** table.numeric("log10_ne_cm3_per_NA")
    weights = {c: _weight_column(table, c) for c in COMPONENTS}
    return SolarModel(_readonly(radius), _readonly(n_e), MappingProxyType(weights),
                      " ".join(table.comments))


def load_oscillation_parameters() -> dict[str, float]:
    """Best-fit oscillation parameters from ``data/oscillation_parameters.csv``.

    Returns
    -------
    dict
        Parameter name -> value, e.g. ``sin2_theta12``, ``sin2_theta23``, ``sin2_theta13``
        (dimensionless), ``dm2_21_eV2`` and ``dm2_31_eV2`` (eV²); de Salas et al. 2021.
    """
    label = f"data/{OSCILLATION_FILE}"
    table = read_table(data_file(OSCILLATION_FILE), ("parameter", "value"), label=label)
    values = table.numeric("value")
    j = table.columns.index("parameter")
    return {row[j].strip(): float(v) for row, v in zip(table.rows, values, strict=True)}


def _check_component(component: str) -> None:
    if component not in COMPONENTS:
        raise InputError(f"unknown solar flux component {component!r}; "
                         f"use one of {', '.join(COMPONENTS)}")


def _check_energies(e_nu_mev) -> np.ndarray:
    """Energies as a float array; each must be finite and > 0 MeV."""
    e = np.asarray(e_nu_mev, dtype=float)
    bad = ~(np.isfinite(e) & (e > 0.0))
    if np.any(bad):
        value = e[bad].flat[0]
        raise InputError(f"neutrino energy {value:g} MeV is not a positive finite number; "
                         "give energies > 0 MeV")
    return e


def _check_mixing(name: str, value: float, *, open_interval: bool = False) -> float:
    value = float(value)
    ok = 0.0 < value < 1.0 if open_interval else 0.0 <= value <= 1.0
    if not ok:
        interval = "(0, 1)" if open_interval else "[0, 1]"
        raise InputError(f"{name} = {value:g} is outside {interval}; give sin^2 of a mixing angle")
    return value


def _check_dm2(dm2_21_ev2: float) -> float:
    value = float(dm2_21_ev2)
    if not (math.isfinite(value) and value > 0.0):
        raise InputError(f"dm2_21_ev2 = {value:g} eV^2 is not positive; give Δm²21 in eV^2 > 0")
    return value


def _mean_cos_2theta_m(e: np.ndarray, n_e: np.ndarray, w: np.ndarray, cos2t: float,
                       sin_sq_2t: float, beta_per_mev_cm3: float) -> np.ndarray:
    """Zone-weighted mean of cos 2θ12^m (eq. M3) at each energy in ``e`` (1-D, MeV).

    ``cos2t`` is cos 2θ12, ``sin_sq_2t`` is sin² 2θ12, ``beta_per_mev_cm3`` is β / (E n_e).
    """
    out = np.empty(e.size)
    for start in range(0, e.size, _BLOCK):
        d = np.outer(e[start:start + _BLOCK], n_e)
        d *= -beta_per_mev_cm3
        d += cos2t  # cos 2θ12 - β
        root = d * d
        root += sin_sq_2t  # (cos 2θ12 - β)² + sin² 2θ12
        np.sqrt(root, out=root)
        d /= root
        out[start:start + _BLOCK] = d @ w
    return out


def survival_probability(e_nu_mev, component: str, sin2_theta12: float, sin2_theta13: float,
                         dm2_21_ev2: float, solar: SolarModel | None = None) -> np.ndarray:
    """Day-time adiabatic MSW survival probability P_ee(E) of one component (eqs. M1-M4).

    Parameters
    ----------
    e_nu_mev : array_like
        Neutrino energies in MeV, each > 0.
    component : str
        Flux component, one of :data:`COMPONENTS` (sets the production-zone weights).
    sin2_theta12 : float
        sin²θ12, in (0, 1).
    sin2_theta13 : float
        sin²θ13, in [0, 1].
    dm2_21_ev2 : float
        Δm²21 in eV², > 0.
    solar : SolarModel, optional
        Zone table; defaults to :func:`load_solar_model`.

    Returns
    -------
    ndarray
        P_ee (dimensionless), same shape as ``e_nu_mev``.

    Raises
    ------
    InputError
        A non-positive or non-finite energy, an unknown component or a parameter out of range.
    """
    e = _check_energies(e_nu_mev)
    _check_component(component)
    s12 = _check_mixing("sin2_theta12", sin2_theta12, open_interval=True)
    s13 = _check_mixing("sin2_theta13", sin2_theta13)
    dm2 = _check_dm2(dm2_21_ev2)
    solar = solar or load_solar_model()
    w = solar.weights[component]
    used = w > 0.0
    c13sq = 1.0 - s13
    cos2t = 1.0 - 2.0 * s12
    sin_sq_2t = 4.0 * s12 * (1.0 - s12)
    # β / (E n_e) in MeV^-1 cm^3 (eq. M2)
    beta_coeff = 2.0 * MATTER_POTENTIAL_MEV_CM3 * c13sq / (dm2 * MEV2_PER_EV2)
    mean_c2m = _mean_cos_2theta_m(e.ravel(), solar.n_e_cm3[used], w[used], cos2t, sin_sq_2t,
                                  beta_coeff)
    p2 = 0.5 + 0.5 * cos2t * mean_c2m
    return (c13sq**2 * p2 + s13**2).reshape(e.shape)


def _split_flavours(p_ee, sin2_theta23: float):
    """(P_ee, P_eμ, P_eτ) from P_ee (eq. M5 = paper eqs. 9-10)."""
    rest = 1.0 - p_ee
    return p_ee, rest * (1.0 - sin2_theta23), rest * sin2_theta23


def flavour_probabilities(e_nu_mev, component: str, sin2_theta12: float, sin2_theta23: float,
                          sin2_theta13: float, dm2_21_ev2: float) -> np.ndarray:
    """(P_ee, P_eμ, P_eτ)(E) at Earth, day time (eqs. M1-M5).

    Parameters
    ----------
    e_nu_mev : array_like
        Neutrino energies in MeV, each > 0.
    component : str
        Flux component, one of :data:`COMPONENTS`.
    sin2_theta12, sin2_theta23, sin2_theta13 : float
        sin² of the mixing angles.
    dm2_21_ev2 : float
        Δm²21 in eV².

    Returns
    -------
    ndarray
        Shape ``(3,) + shape(e_nu_mev)``: P_ee, P_eμ, P_eτ (they sum to 1).
    """
    s23 = _check_mixing("sin2_theta23", sin2_theta23)
    p_ee = survival_probability(e_nu_mev, component, sin2_theta12, sin2_theta13, dm2_21_ev2)
    return np.stack(_split_flavours(p_ee, s23))


def line_probabilities(e_line_mev: float, component: str, sin2_theta12: float,
                       sin2_theta23: float, sin2_theta13: float,
                       dm2_21_ev2: float) -> tuple[float, float, float]:
    """(P_ee, P_eμ, P_eτ) of a monochromatic line (⁷Be 0.8618 / 0.3843 MeV, pep 1.442 MeV).

    Parameters
    ----------
    e_line_mev : float
        Line energy in MeV.
    component : str
        Component whose production zones apply (``"7Be"`` or ``"pep"``).
    sin2_theta12, sin2_theta23, sin2_theta13 : float
        sin² of the mixing angles.
    dm2_21_ev2 : float
        Δm²21 in eV².

    Returns
    -------
    tuple of float
        P_ee, P_eμ, P_eτ at the line energy (eqs. M1-M5).
    """
    probs = flavour_probabilities(float(e_line_mev), component, sin2_theta12, sin2_theta23,
                                  sin2_theta13, dm2_21_ev2)
    return float(probs[0]), float(probs[1]), float(probs[2])


def constant_probabilities(sin2_theta12: float, sin2_theta23: float,
                           sin2_theta13: float) -> tuple[float, float, float]:
    """The paper's energy-independent (P_ee, P_eμ, P_eτ), eqs. 8-11.

    P_eff = 1 − sin²2θ12 / 2 (eq. 11), P_ee = P_eff cos⁴θ13 + sin⁴θ13 (eq. 8),
    P_eμ = (1 − P_ee) cos²θ23 (eq. 9), P_eτ = (1 − P_ee) sin²θ23 (eq. 10).
    """
    s12 = _check_mixing("sin2_theta12", sin2_theta12)
    s13 = _check_mixing("sin2_theta13", sin2_theta13)
    s23 = _check_mixing("sin2_theta23", sin2_theta23)
    p_eff = 1.0 - 2.0 * s12 * (1.0 - s12)
    p_ee = p_eff * (1.0 - s13) ** 2 + s13**2
    return _split_flavours(p_ee, s23)


def _check_spectrum(e_nodes_mev, density, rtol: float) -> tuple[np.ndarray, np.ndarray]:
    e = np.asarray(e_nodes_mev, dtype=float)
    f = np.asarray(density, dtype=float)
    if e.ndim != 1 or e.shape != f.shape or e.size < 2:
        raise InputError("weighted_spectrum needs 1-D energy and density arrays of equal "
                         "length >= 2")
    if not (np.all(np.isfinite(e)) and np.all(np.isfinite(f))):
        raise InputError("weighted_spectrum: energies and densities must be finite")
    if np.any(np.diff(e) <= 0.0) or e[0] < 0.0:
        raise InputError("weighted_spectrum: energies must be >= 0 MeV and strictly increasing")
    if np.any((e == 0.0) & (f != 0.0)):
        raise InputError("weighted_spectrum: the density is non-zero at E = 0 MeV, where the "
                         "probability is not defined; start the table above 0 MeV")
    if not (math.isfinite(rtol) and rtol > 0.0):
        raise InputError(f"weighted_spectrum: rtol = {rtol:g} must be a positive number")
    return e, f


def _product(e: np.ndarray, phi: np.ndarray, p_of_e: Callable) -> np.ndarray:
    """φ(E) P(E), evaluating P only where φ != 0 (so E = 0 with φ = 0 is allowed)."""
    out = np.zeros_like(phi)
    live = phi != 0.0
    if np.any(live):
        p = np.asarray(p_of_e(e[live]), dtype=float)
        out[live] = phi[live] * p.reshape(-1)
    return out


def _pieces(deviation: np.ndarray, tolerance: np.ndarray) -> np.ndarray:
    """Number of equal sub-panels that brings the chord deviation (∝ h²) below tolerance."""
    with np.errstate(divide="ignore", invalid="ignore"):
        ratio = np.sqrt(deviation / tolerance)
    return np.clip(np.ceil(np.nan_to_num(ratio, nan=2.0, posinf=_MAX_PIECES)),
                   2, _MAX_PIECES).astype(np.int64)


def _subdivide(a, b, ga, gb, k, e, f, p_of_e):
    """Split panel i of [a, b] into k[i] equal parts; new nodes and the child panels."""
    owner = np.repeat(np.arange(a.size), k - 1)
    first = np.cumsum(k) - k
    j = np.arange(owner.size) - np.repeat(first - np.arange(a.size), k - 1) + 1
    x = a[owner] + (b - a)[owner] * (j / k[owner])
    gx = _product(x, np.interp(x, e, f), p_of_e)
    is_first = np.zeros(int(k.sum()), dtype=bool)
    is_first[first] = True
    is_last = np.zeros_like(is_first)
    is_last[first + k - 1] = True
    lo, hi, glo, ghi = (np.empty(is_first.size) for _ in range(4))
    lo[is_first], glo[is_first] = a, ga
    lo[~is_first], glo[~is_first] = x, gx
    hi[is_last], ghi[is_last] = b, gb
    hi[~is_last], ghi[~is_last] = x, gx
    return x, gx, (lo, hi, glo, ghi)


def weighted_spectrum(e_nodes_mev, density, p_of_e: Callable, rtol: float = 1e-9):
    """Refined piecewise-linear table of φ_lin(E) P(E) for the exact E_ν moments.

    The original nodes are kept (the kinks of φ_lin stay nodes). A panel [a, b] passes when
    the product at its midpoint m deviates from the chord by at most ``rtol |φ P (m)|``;
    otherwise it is cut into k equal parts, k = ceil(sqrt(deviation / tolerance)) (the
    deviation h² (φP)''/8 falls as h²), 2 <= k <= 32, and each part is tested again. The
    midpoint deviation bounds the interpolation error, so the piecewise-linear interpolant of
    the result reproduces φ_lin P locally to relative accuracy ~rtol, and with it every tail
    moment ∫_x^{E_max} φ_lin P E^p dE (p = 0, −1, −2; see :mod:`cevns_scan.kernels.spectra`).
    The node count grows as rtol^(-1/2).

    Parameters
    ----------
    e_nodes_mev : array_like
        Table energies in MeV, >= 0 and strictly increasing.
    density : array_like
        φ at the nodes (MeV^-1); zero at E = 0 if the table starts there.
    p_of_e : callable
        P(E) for a 1-D array of energies in MeV (> 0), e.g. a closure over
        :func:`survival_probability`.
    rtol : float, optional
        Relative tolerance of the product's local interpolation error.

    Returns
    -------
    e_new : ndarray
        Refined nodes in MeV (a superset of ``e_nodes_mev``).
    density_new : ndarray
        φ_lin(E) P(E) at ``e_new`` (MeV^-1).
    """
    e, f = _check_spectrum(e_nodes_mev, density, float(rtol))
    g = _product(e, f, p_of_e)
    panels = (e[:-1], e[1:], g[:-1], g[1:])
    new_e, new_g = [e], [g]
    while panels[0].size:
        a, b, ga, gb = panels
        m = 0.5 * (a + b)
        gm = _product(m, np.interp(m, e, f), p_of_e)
        deviation = np.abs(gm - 0.5 * (ga + gb))
        tolerance = rtol * np.abs(gm)
        cut = (deviation > tolerance) & (b - a > _MIN_RELATIVE_WIDTH * e[-1])
        k = _pieces(deviation[cut], tolerance[cut])
        x, gx, panels = _subdivide(a[cut], b[cut], ga[cut], gb[cut], k, e, f, p_of_e)
        new_e.append(x)
        new_g.append(gx)
    e_all = np.concatenate(new_e)
    order = np.argsort(e_all, kind="stable")
    return e_all[order], np.concatenate(new_g)[order]
