"""The axes of one (mu_x, mu_y) plane of a scan."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .config import FLAVOURS


@dataclass(frozen=True)
class PlaneGrid:
    """The axes of one (mu_x, mu_y) plane in mu_B; the third moment is zero."""

    flavour_x: str
    flavour_y: str
    mu_x: np.ndarray
    mu_y: np.ndarray

    def __repr__(self) -> str:
        return (f"PlaneGrid({self.name}: mu_{self.flavour_x} {self.mu_x.size} points "
                f"{self.mu_x[0]:.3g}-{self.mu_x[-1]:.3g}, mu_{self.flavour_y} {self.mu_y.size} "
                f"points {self.mu_y[0]:.3g}-{self.mu_y[-1]:.3g} mu_B)")

    @property
    def name(self) -> str:
        return f"{self.flavour_x}_{self.flavour_y}"

    def mu_vector(self, mx: float, my: float) -> np.ndarray:
        """(mu_e, mu_mu, mu_tau) at (mu_x, mu_y) = (mx, my)."""
        mu = np.zeros(3)
        mu[FLAVOURS.index(self.flavour_x)] = mx
        mu[FLAVOURS.index(self.flavour_y)] = my
        return mu
