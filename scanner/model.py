"""The physics model: target nuclei, solar flux components, flavour probabilities, couplings.

Built from a validated :class:`~cevns_scan.config.Config` by :func:`build_model`. The numbers
feed the kernels; nothing here integrates. Three physics choices (docs/design.md §2), each
with the paper's option first:

* flavour probabilities: ``"constant"`` (eqs. 8-11) or ``"msw"`` (day-time adiabatic MSW,
  :mod:`cevns_scan.msw`);
* target nuclei: ``"effective"`` (one nucleus of the molar mass, eq. 12) or ``"natural"``
  (the stable isotopes, :mod:`cevns_scan.nuclides`);
* weak couplings: ``"tree"`` (eq. 3) or ``"radiative"`` (:mod:`cevns_scan.couplings`).
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass

import numpy as np

from .couplings import weak_couplings
from .errors import InputError
from .kernels.constants import AMU_MEV, N_AVOGADRO
from .kernels.cross_sections import weak_charge
from .kernels.form_factor import helm_radius_fm
from .kernels.rates import Nucleus, Spectrum
from .kernels.spectra import tail_moment_table
from .tables import Table, check_non_negative, data_file, load_spectrum, read_table

#: Proton number and standard atomic weight (g/mol) of the paper's two targets; any element of
#: data/elements.csv works as a target (:func:`make_target`), these agree with that table.
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

#: Relative tolerance of the piecewise-linear tables of phi(E) P_ee(E) for the MSW model
#: (:func:`cevns_scan.msw.weighted_spectrum`): templates agree with a quadrature of
#: phi_lin(E) P_ee(E) dsigma/dT to ~1e-8 (tests/test_rates_vs_quad.py); 8B grows from 201 to
#: 4273 nodes.
MSW_RTOL = 1e-7


@dataclass(frozen=True)
class Nuclide:
    """One kind of nucleus of a target and its share of the target's nuclei.

    Attributes
    ----------
    a_mass : float
        Mass number A for the Helm radius (the molar mass for the effective nucleus).
    n_neutrons : float
        Neutron number N (A - Z; not an integer for the effective nucleus).
    mass_u : float
        Nuclear mass in u: the isotope's atomic mass (the effective nucleus: the molar mass),
        as the paper's m_N = A u (electron masses, 2.4e-4 relative for Ge, are not removed).
    fraction : float
        Number (amount) fraction of the element's nuclei, in [0, 1].
    """

    a_mass: float
    n_neutrons: float
    mass_u: float
    fraction: float

    @property
    def m_n_mev(self) -> float:
        """Nuclear mass in MeV."""
        return self.mass_u * AMU_MEV

    @property
    def r0_fm(self) -> float:
        """Helm radius in fm (Lewin-Smith, from :attr:`a_mass`)."""
        return helm_radius_fm(self.a_mass)


@dataclass(frozen=True)
class Target:
    """The detector element: its nuclei, either one effective nucleus or the natural isotopes.

    ``a_mass``, ``n_neutrons``, ``m_n_mev``, ``r0_fm`` are those of the effective nucleus
    (A = molar mass, N = A - Z, m_N = A u; docs/design.md §2) whatever ``isotopes`` is;
    :attr:`nuclides` lists what the rates sum over. ``nuclei_per_kg`` = 1000 N_A / molar mass
    counts the element's nuclei of all isotopes (eq. 12).
    """

    name: str
    z: int
    molar_mass: float
    isotopes: str = "effective"
    natural: tuple[Nuclide, ...] = ()

    @property
    def a_mass(self) -> float:
        return self.molar_mass

    @property
    def n_neutrons(self) -> float:
        return self.molar_mass - self.z

    @property
    def m_n_mev(self) -> float:
        """Nuclear mass of the effective nucleus in MeV."""
        return self.molar_mass * AMU_MEV

    @property
    def nuclei_per_kg(self) -> float:
        """N_T per kg of target: 1000 N_A / A (eq. 12)."""
        return 1000.0 * N_AVOGADRO / self.molar_mass

    @property
    def r0_fm(self) -> float:
        """Helm radius of the effective nucleus in fm."""
        return helm_radius_fm(self.a_mass)

    @property
    def symbol(self) -> str | None:
        """Chemical symbol of the element with this Z (data/elements.csv), or None."""
        from .nuclides import element_by_z

        el = element_by_z(self.z)
        return el.symbol if el is not None else None

    @property
    def nuclides(self) -> tuple[Nuclide, ...]:
        """What the rates sum over: the natural isotopes, or the one effective nucleus."""
        if self.isotopes == "natural":
            return self.natural
        return (Nuclide(self.molar_mass, self.n_neutrons, self.molar_mass, 1.0),)


def _find_element(name: str):
    """The tabulated element named ``name`` (symbol or English name), or None."""
    from .nuclides import element

    try:
        return element(name)
    except InputError:
        return None


def _unknown_element(name: str, need: str) -> InputError:
    from .nuclides import _suggestions

    hint = _suggestions(name, 2)
    close = f" (did you mean {' or '.join(hint)}?)" if hint else ""
    return InputError(f"key [target] name = {name!r} is not an element of data/elements.csv"
                      f"{close}; {need}")


def _natural_target(label: str, el, molar_mass) -> Target:
    """The natural-isotope target of element ``el`` (molar mass = standard atomic weight)."""
    from .nuclides import isotope_mixture

    if molar_mass is not None:
        raise InputError("key [target] molar_mass applies to isotopes = 'effective' only; the "
                         "natural isotopes take their masses from data/isotopes.csv: remove "
                         "molar_mass or set [target] isotopes = 'effective'")
    mix = isotope_mixture(el.symbol)
    natural = tuple(Nuclide(float(n + el.z), float(n), float(m), float(x))
                    for n, m, x in zip(*mix, strict=True))
    return Target(label, el.z, el.atomic_weight, "natural", natural)


def make_target(name: str, z: int | None = None, molar_mass: float | None = None,
                isotopes: str = "effective") -> Target:
    """The target ``name``: any element of data/elements.csv, or a label with Z and molar mass.

    Parameters
    ----------
    name : str
        Chemical symbol or English name (``"Ar"``, ``"argon"``; the target is then named by
        its symbol), or any label when ``z`` and ``molar_mass`` are given.
    z : int, optional
        Proton number; for an element it must match the table.
    molar_mass : float, optional
        Molar mass in g/mol of the effective nucleus; default: the standard atomic weight.
    isotopes : {"effective", "natural"}
        One nucleus with A = molar mass (the paper), or the element's stable isotopes with
        their abundances and atomic masses (data/isotopes.csv).

    Raises
    ------
    InputError
        One line naming the [target] key: an unknown element without z and molar_mass, a z
        that contradicts the element, or molar_mass with natural isotopes.
    """
    from .nuclides import element_by_z

    el = _find_element(name)
    if el is not None and z is not None and z != el.z:
        raise InputError(f"key [target] z = {z} contradicts name = {name!r} ({el.symbol} has "
                         f"Z = {el.z} in data/elements.csv); remove z or correct it")
    label = el.symbol if el is not None else name
    if isotopes == "natural":
        el = el if el is not None else (element_by_z(z) if z is not None else None)
        if el is None:
            raise _unknown_element(name, "isotopes = 'natural' needs a tabulated element: use "
                                   "a chemical symbol such as 'Ar', or give its z")
        return _natural_target(label, el, molar_mass)
    if isotopes != "effective":
        raise InputError(f"key [target] isotopes = {isotopes!r} is not known; use 'effective' "
                         "or 'natural'")
    if el is None and (z is None or molar_mass is None):
        raise _unknown_element(name, "use a chemical symbol such as 'Ar', or give [target] z "
                               "and molar_mass for another target")
    z = z if z is not None else el.z
    molar_mass = molar_mass if molar_mass is not None else el.atomic_weight
    return Target(label, int(z), float(molar_mass))


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


@functools.lru_cache(maxsize=64)
def _electron_weighted(name: str, e_bytes: bytes, f_bytes: bytes, le_bytes: bytes,
                       lb_bytes: bytes, params: tuple[float, float, float], rtol: float):
    """Cached body of :meth:`Oscillation.electron_spectrum` (arrays passed as bytes)."""
    from . import msw

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
        from . import msw

        e = np.atleast_1d(np.asarray(e_nu_mev, dtype=float))
        if self.model == "msw":
            return msw.flavour_probabilities(e, component, self.sin2_theta12,
                                             self.sin2_theta23, self.sin2_theta13,
                                             self.dm2_21_ev2)
        msw._check_component(component)
        msw._check_energies(e)
        return np.array(self.constant)[:, None] * np.ones((1, e.size))


@dataclass(frozen=True)
class Model:
    """Everything the rate kernels need, in their units.

    ``probabilities`` are always the paper's constant (P_ee, P_eμ, P_eτ) of eqs. 8-11; they
    weight the magnetic-moment rates only when ``oscillation.model == "constant"``. With
    ``"msw"`` the weights depend on E_ν and the component (:meth:`flux_averaged_probabilities`).
    ``couplings`` is ``"tree"`` or ``"radiative"``; :attr:`choices` records every choice.
    """

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
    oscillation: Oscillation | None = None
    couplings: str = "tree"
    preset: str = "paper"

    @property
    def flavour_model(self) -> str:
        """``"constant"`` (eqs. 8-11) or ``"msw"``."""
        return self.oscillation.model if self.oscillation is not None else "constant"

    @property
    def choices(self) -> dict[str, str]:
        """The physics choices this model uses: preset, oscillation, isotopes, couplings."""
        return {"preset": self.preset, "oscillation": self.flavour_model,
                "isotopes": self.target.isotopes, "couplings": self.couplings}

    @property
    def nucleon_couplings(self) -> tuple[float, float]:
        """(g_V^p, g_V^n) of the weak charge g_V^p Z + g_V^n N (eq. 3, or radiative)."""
        return weak_couplings(self.couplings, self.sin2_theta_w)

    def charge_of(self, n_neutrons: float) -> float:
        """Weak charge Q_W = g_V^p Z + g_V^n N of a nucleus of this target with N neutrons."""
        if self.couplings == "tree":
            return weak_charge(float(self.target.z), n_neutrons, self.sin2_theta_w)
        g_p, g_n = self.nucleon_couplings
        return g_p * float(self.target.z) + g_n * n_neutrons

    @property
    def weak_charge(self) -> float:
        """Weak charge of the effective nucleus (N = molar mass - Z)."""
        return self.charge_of(self.target.n_neutrons)

    @property
    def nucleus(self) -> Nucleus:
        """The effective nucleus as the rate kernels take it."""
        tgt = self.target
        return Nucleus(tgt.m_n_mev, self.weak_charge, float(tgt.z), tgt.r0_fm)

    @property
    def nuclei(self) -> tuple[tuple[float, Nucleus], ...]:
        """``(nuclei per kg, Nucleus)`` for every nuclide the rates sum over.

        Per kg of target, nuclide i contributes x_i N_T nuclei, with x_i its number
        abundance and N_T = 1000 N_A / (molar mass) (eq. 12); the effective target is one
        nuclide with x = 1, exactly :attr:`nucleus`.
        """
        tgt = self.target
        if tgt.isotopes != "natural":
            return ((tgt.nuclei_per_kg, self.nucleus),)
        z = float(tgt.z)
        return tuple((iso.fraction * tgt.nuclei_per_kg,
                      Nucleus(iso.m_n_mev, self.charge_of(iso.n_neutrons), z, iso.r0_fm))
                     for iso in tgt.nuclides)

    @property
    def component_names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.components)

    def flux_averaged_probabilities(self) -> dict[str, tuple[float, float, float]]:
        """Per component, (P_ee, P_eμ, P_eτ) averaged over its unit-area spectrum and lines.

        For ``"constant"`` every component has the eqs. 8-11 values; for ``"msw"``
        ⟨P_ee⟩ = ∫ φ P_ee dE + Σ_l b_l P_ee(E_l) (what run.json should record).
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

    def with_target(self, target: Target | str) -> Model:
        """The same model for another target: a :class:`Target`, or an element's name (then
        with this model's isotope choice)."""
        if isinstance(target, str):
            target = make_target(target, isotopes=self.target.isotopes)
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
    """The :class:`Model` described by a validated :class:`~cevns_scan.config.Config`.

    The physics choices are ``config.choices`` (preset, then the per-key overrides).
    """
    tgt, flx, osc = config.target, config.fluxes, config.oscillation
    choices = config.choices
    target = make_target(tgt.name, tgt.z, tgt.molar_mass, choices["isotopes"])
    components = make_flux_components(flx.model, flx.sigma_model, flx.components,
                                      flx.spectrum_8B, flx.sigma_overrides())
    probs = flavour_probabilities(osc.sin2_theta12, osc.sin2_theta23, osc.sin2_theta13)
    oscillation = Oscillation(choices["oscillation"], osc.sin2_theta12, osc.sin2_theta23,
                              osc.sin2_theta13, osc.dm2_21_ev2)
    return Model(target, components, probs, config.physics.sin2_theta_w,
                 config.physics.quenching_k, config.physics.bin_rate, config.numerics.gl_order,
                 config.numerics.max_ratio, flx.model, flx.sigma_model, oscillation,
                 choices["couplings"], choices["preset"])
