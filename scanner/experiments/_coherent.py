"""What the two COHERENT experiments share (private; the general compound target lives elsewhere).

* :func:`compound_nuclei`: the nuclei of a compound such as CsI or of an element such as Ar,
  each natural isotope with its own Z, N, mass, Helm radius and number per kg of the compound.
* :func:`recoil_quadrature` and :func:`recoil_density`: the recoil spectrum of every pi-DAR
  component (eq. 12 summed over nuclei) on Gauss-Legendre nodes in T_nr, from which each
  experiment's response folds its expected counts.
* :func:`read_table`, :func:`check_digest`: one-line errors for a release folder.
* :func:`count_interval`: a fitted normalisation and its profile-likelihood interval.

Units: recoils in keV_nr at the edges (``t_kev``), MeV inside the kernels.
"""

from __future__ import annotations

import hashlib
import math
from pathlib import Path
from typing import NamedTuple

import numpy as np

from ..errors import InputError
from ..kernels.constants import AMU_MEV, KEV_PER_MEV, MEV_PER_KEV, N_AVOGADRO
from ..kernels.form_factor import helm_radius_fm
from ..kernels.kinematics import t_nr_max
from ..kernels.rates import Nucleus, component_dsigma

#: Gauss-Legendre points per recoil panel and the widest panel, T_hi / T_lo.
RECOIL_GL_ORDER = 8
RECOIL_MAX_RATIO = 1.05
#: Grams per kilogram (nuclei per kg = 1000 N_A / molar mass in g/mol).
G_PER_KG = 1000.0


class TargetNucleus(NamedTuple):
    """One nuclide of a target: label (``"Cs133"``), number per kg of target, kernel nucleus."""

    label: str
    per_kg: float
    nucleus: Nucleus


def compound_nuclei(formula: dict[str, int], couplings: str = "radiative"
                    ) -> tuple[TargetNucleus, ...]:
    """The natural-isotope nuclei of a compound, per kg of the compound.

    Parameters
    ----------
    formula : dict of str to int
        Atoms per formula unit, e.g. ``{"Cs": 1, "I": 1}`` or ``{"Ar": 1}``.
    couplings : {"radiative", "tree"}
        Weak couplings (:func:`cevns_scan.couplings.weak_couplings`); the COHERENT
        predictions use the radiatively corrected ones.

    Returns
    -------
    tuple of TargetNucleus
        For isotope i (amount fraction x_i) of element e (n_e atoms per formula unit):
        per_kg = n_e x_i 1000 N_A / M, M = sum_e n_e A_e the formula's molar mass from the
        standard atomic weights; nuclear mass = atomic mass x u (as the package's natural
        targets), weak charge g_V^p Z + g_V^n N, Helm radius of the mass number.
    """
    from ..couplings import weak_couplings
    from ..nuclides import element, isotope_mixture

    gp, gn = weak_couplings(couplings)
    molar = math.fsum(n * element(sym).atomic_weight for sym, n in formula.items())
    out = []
    for sym, count in formula.items():
        el = element(sym)
        mix = isotope_mixture(sym)
        for n_neutrons, mass_u, x in zip(*mix, strict=True):
            a = round(float(n_neutrons)) + el.z
            nuc = Nucleus(float(mass_u) * AMU_MEV, gp * el.z + gn * float(n_neutrons),
                          float(el.z), helm_radius_fm(float(a)))
            out.append(TargetNucleus(f"{el.symbol}{a}",
                                     count * float(x) * G_PER_KG * N_AVOGADRO / molar, nuc))
    return tuple(out)


def kinematic_breaks_kev(components, nuclei) -> list[float]:
    """Largest recoils (keV_nr) of every component's line and spectrum end on every nucleus."""
    out = []
    for comp in components:
        spec = comp.spectrum
        ends = list(spec.line_e) + ([spec.e[-1]] if spec.e.size else [])
        for e_mev in ends:
            for tn in nuclei:
                out.append(t_nr_max(float(e_mev), tn.nucleus.m_n) * KEV_PER_MEV)
    return out


def recoil_quadrature(t_min_kev: float, t_max_kev: float, breaks_kev=(),
                      order: int = RECOIL_GL_ORDER, max_ratio: float = RECOIL_MAX_RATIO
                      ) -> tuple[np.ndarray, np.ndarray]:
    """Gauss-Legendre nodes and weights (keV_nr) on [t_min, t_max].

    Panels are cut at every break inside (kinematic end points, where the integrand has a
    kink or a jump) and are no wider than ``max_ratio`` in T_hi / T_lo, so the 1/T of the
    magnetic-moment term is integrated to ~1e-12.
    """
    cuts = [t_min_kev]
    inside = sorted(b for b in breaks_kev if t_min_kev < b < t_max_kev)
    for b in [*inside, t_max_kev]:
        a = cuts[-1]
        n = max(1, math.ceil(math.log(b / a) / math.log(max_ratio)))
        cuts.extend(np.geomspace(a, b, n + 1)[1:])
    cuts = np.asarray(cuts)
    x, w = np.polynomial.legendre.leggauss(order)
    half = 0.5 * np.diff(cuts)
    mid = 0.5 * (cuts[1:] + cuts[:-1])
    return (mid[:, None] + half[:, None] * x).ravel(), (half[:, None] * w).ravel()


def recoil_density(components, nuclei, t_kev: np.ndarray, mass_kg: float,
                   fluence_per_cm2: float) -> tuple[np.ndarray, np.ndarray]:
    """Expected recoils per keV_nr of every component at the recoils ``t_kev``.

    dN_c/dT = M sum_n (N_n / kg) Phi <dsigma_n/dT>_c (eq. 12 per nucleus n, summed), with Phi
    the fluence of each flavour (pi-DAR eq. P9).

    Returns
    -------
    sm : ndarray, shape (C, Q)
        SM recoils per keV_nr.
    mm : ndarray, shape (C, Q, 3)
        Magnetic-moment recoils per keV_nr per mu_B^2 of flavour (e, mu, tau): the component's
        unweighted MM term times its flavour weights.
    """
    t_mev = np.ascontiguousarray(np.asarray(t_kev, dtype=float) * MEV_PER_KEV)
    sm = np.zeros((len(components), t_mev.size))
    mm = np.zeros((len(components), t_mev.size, 3))
    for c, comp in enumerate(components):
        m_all = np.zeros(t_mev.size)
        for tn in nuclei:
            s, m = component_dsigma(t_mev, comp.spectrum, tn.nucleus)
            norm = mass_kg * tn.per_kg * fluence_per_cm2 * MEV_PER_KEV  # per MeV -> per keV
            sm[c] += norm * s
            m_all += norm * m
        mm[c] = m_all[:, None] * comp.mm_weights[None, :]
    return sm, mm


# -- release folders ---------------------------------------------------------------------------


def file_digest(path: Path, algorithm: str) -> str:
    """Hex digest (``"md5"`` or ``"sha256"``) of a file's bytes."""
    h = hashlib.new(algorithm)
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def require_file(root: Path, name: str, what: str) -> Path:
    """``root / name``, or an InputError naming it when it is missing."""
    path = Path(root) / name
    if not path.is_file():
        raise InputError(f"{path}: missing; the {what} needs this file of the release")
    return path


def check_digest(path: Path, algorithm: str, expected: str, source: str) -> None:
    """Raise an InputError naming ``path`` unless its digest is ``expected``."""
    got = file_digest(path, algorithm)
    if got != expected:
        raise InputError(f"{path}: {algorithm.upper()} {got} differs from the {source} "
                         f"{expected}; the file is altered or truncated, download it again")


def read_table(path: Path, n_columns: int, n_rows: int | None = None,
               header: str | None = None) -> np.ndarray:
    """Whitespace-separated numbers, ``#`` comments and blank lines skipped.

    ``header``: the first line must start with this text and is skipped. Returns an
    (n_rows, n_columns) float array; an InputError names the file and line of any row with
    another number of columns or a non-number, and a wrong row count.
    """
    rows = []
    with open(path, encoding="utf-8", errors="replace") as fh:
        for line_no, line in enumerate(fh, start=1):
            if header is not None and line_no == 1:
                if not line.lstrip().startswith(header):
                    raise InputError(f"{path} line 1: expected a header starting {header!r}")
                continue
            text = line.split("#", 1)[0].strip()
            if not text:
                continue
            parts = text.split()
            if len(parts) != n_columns:
                raise InputError(f"{path} line {line_no}: {len(parts)} columns, expected "
                                 f"{n_columns} numbers")
            try:
                values = [float(p) for p in parts]
            except ValueError:
                raise InputError(f"{path} line {line_no}: expected {n_columns} numbers, got "
                                 f"{text[:60]!r}") from None
            if not all(math.isfinite(v) for v in values):
                raise InputError(f"{path} line {line_no}: expected finite numbers")
            rows.append(values)
    if n_rows is not None and len(rows) != n_rows:
        raise InputError(f"{path}: {len(rows)} rows of numbers, expected {n_rows} (truncated "
                         "or not the release's file)")
    if not rows:
        raise InputError(f"{path}: no rows of numbers, expected {n_columns} columns")
    return np.asarray(rows, dtype=float)


def check_grid(path: Path, values: np.ndarray, expected: np.ndarray, what: str) -> None:
    """Raise an InputError naming ``path`` unless ``values`` equal ``expected`` (to 1e-9)."""
    if values.shape != expected.shape or not np.allclose(values, expected, rtol=0, atol=1e-9):
        raise InputError(f"{path}: the {what} column is not the release's grid "
                         f"({expected[0]:g} ... {expected[-1]:g})")


# -- fits ----------------------------------------------------------------------------------------


def count_interval(model, theta0: np.ndarray, free: np.ndarray, index: int,
                   level: float = 1.0) -> tuple[float, float, float, np.ndarray]:
    """Best fit of parameter ``index`` and its profile-likelihood interval.

    The interval is where -2 ln L rises by ``level`` (1: 68 % for one parameter) above the
    minimum, every other free parameter profiled (:func:`cevns_scan.kernels.poisson.profile`);
    the crossings are found by Brent's method.

    Returns
    -------
    (float, float, float, ndarray)
        Best-fit value, lower and upper end of the interval, the best-fit theta.
    """
    from scipy.optimize import brentq

    from ..kernels.poisson import CONVERGED, profile

    d_min, best, _, status = profile(theta0, free, model)
    if status != CONVERGED:
        raise RuntimeError(f"the fit did not converge (status {status})")
    x_hat = float(best[index])
    fixed = free.copy()
    fixed[index] = False

    def excess(x):
        theta = best.copy()
        theta[index] = x
        d, _, _, st = profile(theta, fixed, model)
        if st != CONVERGED:
            raise RuntimeError(f"the profile at {x:g} did not converge (status {st})")
        return d - d_min - level

    step = max(abs(x_hat), 1e-3) * 0.05
    lo_bound, hi_bound = model.lo[index], model.hi[index]
    ends = []
    for sign in (-1.0, 1.0):
        a, b = x_hat, x_hat + sign * step
        while excess(b) < 0.0:
            a, b = b, b + sign * 2.0 * abs(b - a)
            if not lo_bound <= b <= hi_bound:
                b = hi_bound if sign > 0 else lo_bound
                if excess(b) < 0.0:
                    break
        ends.append(brentq(excess, min(a, b), max(a, b), xtol=1e-10 * max(1.0, abs(x_hat)))
                    if excess(b) >= 0.0 else b)
    return x_hat, ends[0], ends[1], best


def profile_grid(model, theta0: np.ndarray, free: np.ndarray, u_root: np.ndarray,
                 v_root: np.ndarray) -> tuple[np.ndarray, float]:
    """-2 ln L profiled at (u, v) = (u_root[i]^2, v_root[k]^2), and the seconds per point.

    :func:`cevns_scan.kernels.poisson.profile_plane` (warm starts along each row); a point
    whose extrapolated warm start is infeasible or fails is profiled again from ``theta0``
    (:func:`~cevns_scan.kernels.poisson.profile`). The time per point is the wall-clock
    time of both steps over the grid size (compilation excluded).
    """
    import time

    from ..kernels.poisson import CONVERGED, profile, profile_plane

    ux = np.ascontiguousarray(u_root, dtype=float)
    vy = np.ascontiguousarray(v_root, dtype=float)
    out = np.empty((ux.size, vy.size))
    th = np.empty((ux.size, vy.size, theta0.size))
    info = np.empty((ux.size, vy.size, 2), dtype=np.int64)
    profile_plane(ux[:1], vy[:2], theta0, free, model, out[:1, :2], th[:1, :2], info[:1, :2])
    profile(theta0, free, model)  # compile both outside the timing
    t0 = time.perf_counter()
    profile_plane(ux, vy, theta0, free, model, out, th, info)
    for i, k in np.argwhere(info[..., 1] != CONVERGED):
        theta = theta0.copy()
        theta[-2], theta[-1] = ux[i] ** 2, vy[k] ** 2
        out[i, k], _, _, status = profile(theta, free, model)
        if status != CONVERGED:
            raise RuntimeError(f"the profile at grid point ({i}, {k}) did not converge "
                               f"(status {status})")
    return out, (time.perf_counter() - t0) / out.size
