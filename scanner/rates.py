"""Differential event rates dR/dT_nr (eq. 12) for given flavour magnetic moments."""

from __future__ import annotations

import numpy as np

from .errors import InputError
from .kernels.constants import MEV_PER_KEV, SECONDS_PER_DAY
from .kernels.rates import component_dsigma


def rate_norm(model, component) -> float:
    """Events per (kg day) per cm^2 of flux-averaged cross section: N_T/kg * Phi * s/day."""
    return model.target.nuclei_per_kg * component.flux * SECONDS_PER_DAY


def check_mu(mu) -> tuple[float, float, float]:
    """Validate (mu_e, mu_mu, mu_tau) in mu_B: three finite numbers >= 0."""
    mu = tuple(float(m) for m in mu)
    if len(mu) != 3:
        raise InputError(f"need three magnetic moments (mu_e, mu_mu, mu_tau), got {len(mu)}")
    for name, m in zip(("mu_e", "mu_mu", "mu_tau"), mu, strict=True):
        if not np.isfinite(m) or m < 0:
            raise InputError(f"{name} = {m!r} must be a finite number >= 0 in mu_B")
    return mu


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
        dR/dT_nr in events / (kg day keV_nr): the SM part (eq. 2) and the magnetic-moment part
        sum_l mu_l^2 P_el dR_MM/dT (eq. 6 with mu in mu_B), per component of ``model``.
    """
    mu = check_mu(mu)
    t = np.ascontiguousarray(np.atleast_1d(np.asarray(t_nr_kev, dtype=float)))
    if t.ndim != 1 or not np.all(np.isfinite(t)) or np.any(t <= 0):
        raise InputError("recoil energies T_nr must be finite and > 0 keV")
    weight = sum(m * m * p for m, p in zip(mu, model.probabilities, strict=True))
    nucleus = model.nucleus
    t_mev = t * MEV_PER_KEV
    sm = np.zeros((len(model.components), t.size))
    mm = np.zeros_like(sm)
    for j, comp in enumerate(model.components):
        s, m = component_dsigma(t_mev, comp.spectrum, nucleus)
        norm = rate_norm(model, comp) * MEV_PER_KEV  # per MeV -> per keV
        sm[j] = norm * s
        mm[j] = norm * weight * m
    return sm, mm


#: Magnetic moments (mu_B) and targets of the paper's Fig. 2.
FIG2_MU = (1e-9, 8e-10, 4e-10)
FIG2_TARGETS = ("Ge", "Xe")


def figure2_grid(points: int = 200, t_min: float = 0.1, t_max: float = 10.0) -> np.ndarray:
    """Log-spaced recoil energies (keV_nr) of the Fig. 2 tables."""
    return np.geomspace(t_min, t_max, points)


def figure2_tables(config=None, t_nr_kev=None, targets=FIG2_TARGETS, mu=FIG2_MU) -> dict:
    """Fig. 2: 8B rates per target in events / (kg day keV_nr).

    Returns ``target -> {column: array}`` with columns ``T_nr_keV``, ``SM`` and
    ``total_mu_<mu>`` (SM + magnetic moment with mu for every flavour).
    """
    from .config import load_config
    from .model import build_model, make_target

    config = config if config is not None else load_config()
    t_nr_kev = figure2_grid() if t_nr_kev is None else np.asarray(t_nr_kev, dtype=float)
    base = build_model(config.with_overrides({"fluxes": {"components": ["8B"]}}, "figure 2"))
    tables = {}
    for name in targets:
        model = base.with_target(make_target(name))
        sm, _ = differential_rates(model, t_nr_kev)
        cols = {"T_nr_keV": t_nr_kev, "SM": sm.sum(axis=0)}
        for m in mu:
            _, mm = differential_rates(model, t_nr_kev, (m, m, m))
            cols[f"total_mu_{m:g}"] = cols["SM"] + mm.sum(axis=0)
        tables[name] = cols
    return tables
