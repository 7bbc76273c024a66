"""What a likelihood made of several parts (a joint fit) answers from its parts.

:class:`Parts` gives the Likelihood members that only add up or compare the parts' own:
the number of data points and of unconstrained nuisances, the goodness-of-fit caveat, the
natural scale of a moment, whether a moment is constrained, and the rank of a plane over all
parts together (:func:`joint_rank`).
"""

from __future__ import annotations

import numpy as np

from ..errors import InputError


def constrains(lik, flavour: str) -> bool:
    """Whether a likelihood constrains ``flavour`` (its ``constrains``, else its mu_scale)."""
    test = getattr(lik, "constrains", None)
    if test is not None:
        return bool(test(flavour))
    try:
        lik.mu_scale(flavour)
    except InputError:
        return False
    return True


def stacked_columns(parts, flavour_x: str, flavour_y: str):
    """The parts' magnetic-moment template columns (n, 2) stacked, or None if one lacks them."""
    cols = [getattr(p, "moment_columns", None) for p in parts]
    if any(c is None for c in cols):
        return None
    blocks = [c(flavour_x, flavour_y) for c in cols]
    if any(b is None for b in blocks):
        return None
    blocks = [b for b in blocks if np.abs(b).max() > 0] or blocks
    return np.vstack([b / max(np.abs(b).max(), 1e-300) for b in blocks])


def joint_rank(parts, flavour_x: str, flavour_y: str) -> int:
    """Independent signal directions of a plane over several likelihoods together.

    Two experiments that each constrain one combination of the moments constrain two when
    their combinations differ (solar neutrinos and a beam with other flavours): the rank of
    their stacked template columns (each part scaled to unit maximum). Parts that do not
    give their columns fall back to the largest rank of any part.
    """
    stacked = stacked_columns(parts, flavour_x, flavour_y)
    if stacked is None:
        return max(p.moment_rank(flavour_x, flavour_y) for p in parts)
    return int(np.linalg.matrix_rank(stacked, tol=1e-9 * np.abs(stacked).max()))


class Parts:
    """Likelihood members of a joint likelihood, from its ``parts`` (a tuple)."""

    @property
    def n_data(self) -> int:
        return sum(p.n_data for p in self.parts)

    @property
    def n_unconstrained(self) -> int:
        return sum(p.n_unconstrained for p in self.parts)

    @property
    def gof_note(self) -> str:
        return "; ".join(dict.fromkeys(p.gof_note for p in self.parts if p.gof_note))

    def mu_scale(self, flavour: str) -> float:
        """The smallest natural scale of the parts that constrain the moment (mu_B)."""
        scales = [p.mu_scale(flavour) for p in self.parts if constrains(p, flavour)]
        if not scales:
            raise InputError(f"no experiment of the fit constrains mu_{flavour}")
        return min(scales)

    def constrains(self, flavour: str) -> bool:
        return any(constrains(p, flavour) for p in self.parts)

    def moment_rank(self, flavour_x: str, flavour_y: str) -> int:
        return joint_rank(self.parts, flavour_x, flavour_y)

    def moment_columns(self, flavour_x: str, flavour_y: str):
        return stacked_columns(self.parts, flavour_x, flavour_y)
