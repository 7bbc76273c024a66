"""Weak (vector) couplings of neutrinos to protons and neutrons for CEvNS.

Two schemes, with their numbers and citations in the packaged table ``data/weak_couplings.csv``:

``"tree"``
    The paper's eq. 3: g_V^p = (1 - 4 sin^2 theta_W)/2, g_V^n = -1/2, with the paper's
    sin^2 theta_W = 0.23863 unless another value is given.
``"radiative"``
    Standard Model couplings including electroweak radiative corrections, from the effective
    neutrino-quark couplings g_LL^{nu q}, g_LR^{nu q} printed in the PDG 2024 review
    "Electroweak model and constraints on new physics" (J. Erler and A. Freitas), section 10.3.1:
    g_V^p = 2 g_V^u + g_V^d and g_V^n = g_V^u + 2 g_V^d with g_V^q = g_LL^{nu q} + g_LR^{nu q},
    i.e. g_V^p = 0.0297, g_V^n = -0.5118. These describe nu_mu data and are used for all
    flavours (the flavour-dependent charge-radius terms are not separated).

The coherent weak charge of a nucleus is then Q = g_V^p Z + g_V^n N.
"""

from __future__ import annotations

import functools
import math

from .errors import InputError
from .tables import data_file, read_table

#: Packaged table of the couplings (in ``cevns_scan.data``).
COUPLINGS_FILE = "weak_couplings.csv"
_LABEL = f"data/{COUPLINGS_FILE}"

#: Known schemes, in the order they are documented.
SCHEMES = ("tree", "radiative")

#: Quantities each scheme needs from the table.
_REQUIRED = {
    "tree": ("sin2_theta_w",),
    "radiative": ("g_LL_nu_u", "g_LL_nu_d", "g_LR_nu_u", "g_LR_nu_d"),
}


def coupling_table() -> dict[str, dict[str, float]]:
    """``scheme -> {quantity: value}`` from ``data/weak_couplings.csv`` (a copy of the cache).

    Returns
    -------
    dict of str to dict of str to float
        E.g. ``{"tree": {"sin2_theta_w": 0.23863}, "radiative": {"g_LL_nu_u": 0.3457, ...}}``.
    """
    return {scheme: dict(values) for scheme, values in _coupling_table().items()}


@functools.cache
def _coupling_table() -> dict[str, dict[str, float]]:
    """The table, read once and checked.

    Raises
    ------
    InputError
        For a missing column, a non-number, an unknown scheme, a repeated quantity or a
        quantity a scheme needs but lacks; the message names the file (and line).
    """
    table = read_table(data_file(COUPLINGS_FILE), ("scheme", "quantity", "value"), label=_LABEL)
    values = table.numeric("value")
    i_scheme = table.columns.index("scheme")
    i_quantity = table.columns.index("quantity")
    out: dict[str, dict[str, float]] = {}
    for row, value, line in zip(table.rows, values, table.line_numbers, strict=True):
        scheme, quantity = row[i_scheme].strip(), row[i_quantity].strip()
        if scheme not in SCHEMES:
            raise InputError(f"{_LABEL} line {line}: unknown scheme {scheme!r}; use "
                             f"{' or '.join(SCHEMES)}")
        if quantity in out.get(scheme, {}):
            raise InputError(f"{_LABEL} line {line}: {scheme} {quantity} is given twice")
        out.setdefault(scheme, {})[quantity] = float(value)
    for scheme, needed in _REQUIRED.items():
        missing = [q for q in needed if q not in out.get(scheme, {})]
        if missing:
            raise InputError(f"{_LABEL}: scheme {scheme} lacks {', '.join(missing)}")
    return out


def nucleon_couplings(g_ll_u: float, g_ll_d: float, g_lr_u: float,
                      g_lr_d: float) -> tuple[float, float]:
    """Proton and neutron vector couplings from neutrino-quark couplings.

    Parameters
    ----------
    g_ll_u, g_ll_d, g_lr_u, g_lr_d : float
        Effective couplings of the left-handed neutrino current to left- (LL) and
        right-handed (LR) u and d quark currents (dimensionless; PDG convention, also written
        eps_L(q), eps_R(q)).

    Returns
    -------
    tuple of float
        ``(g_V^p, g_V^n)`` = ``(2 g_V^u + g_V^d, g_V^u + 2 g_V^d)`` with
        g_V^q = g_LL^q + g_LR^q (dimensionless).
    """
    g_u = g_ll_u + g_lr_u
    g_d = g_ll_d + g_lr_d
    return 2.0 * g_u + g_d, g_u + 2.0 * g_d


def weak_couplings(scheme: str = "tree",
                   sin2_theta_w: float | None = None) -> tuple[float, float]:
    """Vector couplings (g_V^p, g_V^n) of neutrinos to protons and neutrons.

    Parameters
    ----------
    scheme : {"tree", "radiative"}
        ``"tree"``: the paper's eq. 3; ``"radiative"``: radiatively corrected SM couplings
        (PDG 2024, see the module docstring). Case and surrounding spaces are ignored.
    sin2_theta_w : float, optional
        Weak mixing angle sin^2 theta_W (dimensionless) for ``"tree"``; default: the paper's
        0.23863 from the table. Ignored by ``"radiative"``, whose couplings already contain
        the SM value of the mixing angle with its radiative corrections.

    Returns
    -------
    tuple of float
        ``(g_V^p, g_V^n)``, dimensionless; the weak charge is g_V^p Z + g_V^n N.

    Raises
    ------
    InputError
        For an unknown scheme, or for ``"tree"`` a sin^2 theta_W that is not a number in
        (0, 1).
    """
    key = scheme.strip().lower() if isinstance(scheme, str) else scheme
    if key not in SCHEMES:
        raise InputError(f"unknown weak-coupling scheme {scheme!r}; use 'tree' (the paper's "
                         "eq. 3) or 'radiative' (radiatively corrected SM couplings, PDG 2024)")
    values = _coupling_table()[key]
    if key == "radiative":
        return nucleon_couplings(values["g_LL_nu_u"], values["g_LL_nu_d"],
                                 values["g_LR_nu_u"], values["g_LR_nu_d"])
    s2 = values["sin2_theta_w"] if sin2_theta_w is None else sin2_theta_w
    try:
        s2_value = math.nan if isinstance(s2, bool) else float(s2)
    except (TypeError, ValueError):
        s2_value = math.nan
    if not 0.0 < s2_value < 1.0:
        raise InputError(f"sin2_theta_w = {s2!r} is not a number in (0, 1); give sin^2 of the "
                         "weak mixing angle, e.g. 0.23863")
    return 0.5 * (1.0 - 4.0 * s2_value), -0.5
