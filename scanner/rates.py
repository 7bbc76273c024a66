"""Differential event rates dR/dT_nr (eq. 12) for given flavour magnetic moments."""

from __future__ import annotations

import numpy as np

from .kernels.constants import MEV_PER_KEV, SECONDS_PER_DAY
from .kernels.rates import component_dsigma

from .errors import InputError


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
    tgt = model.target
    t_mev = t * MEV_PER_KEV
    sm = np.zeros((len(model.components), t.size))
    mm = np.zeros_like(sm)
    for j, comp in enumerate(model.components):
        s, m = component_dsigma(t_mev, comp.e_mev, comp.density, comp.moments, comp.line_e_mev,
                                comp.line_branching, tgt.m_n_mev, model.weak_charge,
                                float(tgt.z), tgt.r0_fm)
        norm = rate_norm(model, comp) * MEV_PER_KEV  # per MeV -> per keV
        sm[j] = norm * s
        mm[j] = norm * weight * m
    return sm, mm
