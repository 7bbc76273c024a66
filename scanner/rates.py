"""Differential event rates dR/dT_nr (eq. 12) for given flavour magnetic moments."""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .kernels.constants import MEV_PER_KEV
from .kernels.rates import component_dsigma
from .sources import constant_split


def rate_norm(model, component, nuclei_per_kg: float | None = None) -> float:
    """Events per kg and exposure unit per cm^2 of flux-averaged cross section.

    N_T/kg * Phi * (seconds per exposure unit): for the Sun (Phi in cm^-2 s^-1, 86400 s)
    events per (kg day); for a beam whose Phi is a fluence (cm^-2, 1 s) events per kg.
    ``nuclei_per_kg`` defaults to the target's N_T = 1000 N_A / A (eq. 12); for one nuclide
    pass its x_i N_T (:attr:`cevns_scan.model.Model.nuclei`).
    """
    n_t = model.target.nuclei_per_kg if nuclei_per_kg is None else nuclei_per_kg
    return n_t * component.flux * model.source.exposure_seconds


def check_mu(mu) -> tuple[float, float, float]:
    """Validate (mu_e, mu_mu, mu_tau) in mu_B: three finite numbers >= 0 (mu = 1 gives the
    magnetic-moment rate per mu_B^2, which templates use)."""
    mu = tuple(float(m) for m in mu)
    if len(mu) != 3:
        raise InputError(f"need three magnetic moments (mu_e, mu_mu, mu_tau), got {len(mu)}")
    for name, m in zip(("mu_e", "mu_mu", "mu_tau"), mu, strict=True):
        if not np.isfinite(m) or m < 0:
            raise InputError(f"{name} = {m!r} must be a finite number >= 0 in mu_B")
    return mu


def check_recoils(t_nr_kev) -> np.ndarray:
    """Recoil energies in keV_nr as a contiguous 1-D array; each finite and > 0."""
    t = np.ascontiguousarray(np.atleast_1d(np.asarray(t_nr_kev, dtype=float)))
    if t.ndim != 1 or not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise InputError("recoil energies T_nr must be finite and > 0 keV")
    return t


def nuclide_sum(model, component, evaluate, factor: float = 1.0, mm_weight: float = 1.0):
    """Sum over the target's nuclides of the normalised SM and magnetic-moment parts.

    For nuclide i with x_i N_T nuclei per kg (:attr:`~cevns_scan.model.Model.nuclei`) and the
    kernel result ``(s_i, m_i) = evaluate(nucleus_i)`` (per nucleus and unit flux), returns

        sm = sum_i n_i s_i,   mm = sum_i (n_i mm_weight) m_i,   n_i = x_i N_T Phi (s/day) factor,

    i.e. rates per kg of the element: dR/dT = sum_i x_i N_T Phi <dsigma_i/dT> (eq. 12 summed
    over isotopes). The effective target has one nuclide (x = 1), giving today's single term.
    """
    sm = mm = None
    for n_kg, nucleus in model.nuclei:
        norm = rate_norm(model, component, n_kg) * factor
        s, m = evaluate(nucleus)
        if sm is None:
            sm, mm = norm * s, (norm * mm_weight) * m
        else:
            sm = sm + norm * s
            mm = mm + (norm * mm_weight) * m
    return sm, mm


def per_flavour(model, component, evaluate, mm_all, factor: float = 1.0) -> np.ndarray:
    """(..., 3) magnetic-moment parts of one component for flavours e, mu, tau.

    Constant flavour weights w (the paper's P_el, or a beam component's flavour) give
    mm_all w_l; energy-dependent ones (MSW) come from the source
    (:meth:`cevns_scan.sources.Source.split_flavours`), with ``evaluate(spectrum, nucleus)``
    the kernel call of this rate and ``factor`` its unit conversion.
    """
    weights = model.source.flavour_weights(component)
    if weights is not None:
        return constant_split(mm_all, weights)
    return model.source.split_flavours(model, component, evaluate, mm_all, factor)


def differential_rates(model, t_nr_kev, mu=(0.0, 0.0, 0.0)):
    """SM and magnetic-moment differential rates per flux component.

    Parameters
    ----------
    model : cevns_scan.model.Model
    t_nr_kev : array_like
        Nuclear recoil energies in keV_nr (> 0).
    mu : (float, float, float)
        Effective magnetic moments (mu_e, mu_mu, mu_tau) in Bohr magnetons.

    Returns
    -------
    sm, mm : ndarray, shape (n_components, len(t_nr_kev))
        dR/dT_nr in events / (kg day keV_nr), summed over the target's nuclides
        (:func:`nuclide_sum`): the SM part (eq. 2) and the magnetic-moment part
        sum_l mu_l^2 P_el dR_MM/dT (eq. 6 with mu in mu_B), per component of ``model``. With
        the MSW model the P_el(E) weights sit inside the E_nu integral (:func:`per_flavour`).
    """
    mu = check_mu(mu)
    t = check_recoils(t_nr_kev)
    t_mev = t * MEV_PER_KEV
    sm = np.zeros((len(model.components), t.size))
    mm = np.zeros_like(sm)
    weights = [model.source.flavour_weights(c) for c in model.components]
    if all(w is not None for w in weights):
        for j, comp in enumerate(model.components):
            weight = sum(m * m * p for m, p in zip(mu, weights[j], strict=True))
            # per MeV -> per keV
            sm[j], mm[j] = nuclide_sum(model, comp,
                                       lambda nuc, c=comp: component_dsigma(t_mev, c.spectrum,
                                                                            nuc),
                                       MEV_PER_KEV, weight)
        return sm, mm
    sm, per_flavour = flavour_differential_rates(model, t)
    return sm, per_flavour @ (np.asarray(mu) ** 2)


def flavour_differential_rates(model, t_nr_kev):
    """SM and per-flavour magnetic-moment rates (per mu_B^2) at recoils ``t_nr_kev`` (keV_nr).

    Returns
    -------
    sm : ndarray, shape (J, n)
        events / (kg day keV_nr).
    mm : ndarray, shape (J, n, 3)
        Per mu_B^2 for flavour e, mu, tau: P_el (eqs. 8-11) times the unweighted part for
        the constant model, the source's energy-dependent split for MSW (:func:`per_flavour`).
    """
    t = check_recoils(t_nr_kev)
    t_mev = t * MEV_PER_KEV

    def evaluate(spec, nuc):
        return component_dsigma(t_mev, spec, nuc)

    sm = np.zeros((len(model.components), t.size))
    mm = np.zeros((len(model.components), t.size, 3))
    for j, comp in enumerate(model.components):
        sm[j], m_all = nuclide_sum(model, comp, lambda nuc, c=comp: evaluate(c.spectrum, nuc),
                                   MEV_PER_KEV)
        mm[j] = per_flavour(model, comp, evaluate, m_all, MEV_PER_KEV)
    return sm, mm


#: Magnetic moments (mu_B) of the paper's Fig. 2.
FIG2_MU = (1e-9, 8e-10, 4e-10)
#: The paper's Fig. 2 targets; a configuration's own target replaces Ge
#: (:func:`figure2_targets`).
FIG2_TARGETS = ("Ge", "Xe")
#: The comparison target drawn beside the configured one.
FIG2_COMPARISON = "Xe"


def figure2_targets(config) -> tuple[str, ...]:
    """Targets of Fig. 2 and ``rates_<target>.csv`` for ``config``: the configured target
    and xenon (``('Ge', 'Xe')`` for the paper's setup; ``('Ar', 'Xe')`` for argon), each by
    the name its target takes (``'argon'`` is ``'Ar'``)."""
    from .targets import make_target

    tgt = config.target
    name = make_target(tgt.name, tgt.z, tgt.molar_mass, config.choices["isotopes"]).name
    return tuple(dict.fromkeys((name, FIG2_COMPARISON)))


def figure2_grid(points: int = 200, t_min: float = 0.1, t_max: float = 10.0) -> np.ndarray:
    """Log-spaced recoil energies (keV_nr) of the Fig. 2 tables."""
    return np.geomspace(t_min, t_max, points)


def figure2_tables(config=None, t_nr_kev=None, targets=None, mu=FIG2_MU) -> dict:
    """Fig. 2: 8B rates per target in events / (kg day keV_nr).

    ``targets`` defaults to :func:`figure2_targets` (the configured target and Xe); the
    configured target is the config's own (its z, molar mass and isotopes), any other is
    the element or formula of that name with the config's isotope choice.

    Returns ``target -> {column: array}`` with columns ``T_nr_keV``, ``SM`` and
    ``total_mu_<mu>`` (SM + magnetic moment with mu for every flavour).
    """
    from .config import load_config
    from .model import build_model

    config = config if config is not None else load_config()
    targets = figure2_targets(config) if targets is None else targets
    t_nr_kev = figure2_grid() if t_nr_kev is None else np.asarray(t_nr_kev, dtype=float)
    base = build_model(config.with_overrides({"fluxes": {"components": ["8B"]}}, "figure 2"))
    tables = {}
    for name in targets:
        model = base if name == base.target.name else base.with_target(name)
        sm, _ = differential_rates(model, t_nr_kev)
        cols = {"T_nr_keV": t_nr_kev, "SM": sm.sum(axis=0)}
        for m in mu:
            _, mm = differential_rates(model, t_nr_kev, (m, m, m))
            cols[f"total_mu_{m:g}"] = cols["SM"] + mm.sum(axis=0)
        tables[name] = cols
    return tables
