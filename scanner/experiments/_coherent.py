"""What the two COHERENT experiments share: recoil spectra, release-folder checks, fits.

* :func:`recoil_spectra`: the recoil spectrum of every pi-DAR component of a model (a target
  such as Ar or CsI seen by the beam; eq. 12 summed over its nuclei) on Gauss-Legendre nodes
  in T_nr (:func:`recoil_quadrature`), from which each experiment's response folds its
  expected counts.
* :func:`read_table`, :func:`check_digest`: one-line errors for a release folder.
* :func:`count_interval`: a fitted normalisation and its profile-likelihood interval.

Units: recoils in keV_nr at the edges (``t_kev``), MeV inside the kernels.
"""

from __future__ import annotations

import hashlib
import math
from dataclasses import dataclass
from pathlib import Path
from types import MappingProxyType

import numpy as np

from ..errors import InputError
from ..kernels.constants import KEV_PER_MEV
from ..kernels.kinematics import t_nr_max

#: Gauss-Legendre points per recoil panel and the widest panel, T_hi / T_lo.
RECOIL_GL_ORDER = 8
RECOIL_MAX_RATIO = 1.05


def kinematic_breaks_kev(model) -> list[float]:
    """Largest recoils (keV_nr) of every component's line and spectrum end on every nucleus."""
    out = []
    for comp in model.components:
        spec = comp.spectrum
        ends = list(spec.line_e) + ([spec.e[-1]] if spec.e.size else [])
        for e_mev in ends:
            for _, nucleus in model.nuclei:
                out.append(t_nr_max(float(e_mev), nucleus.m_n) * KEV_PER_MEV)
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


@dataclass(frozen=True)
class RecoilSpectra:
    """Recoil spectra of every source component on Gauss-Legendre recoil nodes.

    ``sm`` (C, Q) recoils per keV_nr, ``mm`` (C, Q, 3) per keV_nr per mu_B^2 of flavour
    (e, mu, tau), for the whole exposure; ``t_kev``, ``weights`` the nodes and weights.
    """

    t_kev: np.ndarray
    weights: np.ndarray
    sm: np.ndarray
    mm: np.ndarray
    components: tuple

    def density(self, mu) -> np.ndarray:
        """dN/dT (Q,) of all components at the moments ``mu`` (mu_B)."""
        mu2 = np.asarray(mu, dtype=float) ** 2
        return self.sm.sum(axis=0) + self.mm.sum(axis=0) @ mu2


def recoil_spectra(model, mass_kg: float, t_min_kev: float) -> RecoilSpectra:
    """dN_c/dT of every component of ``model`` (a target seen by a pi-DAR source) on recoil
    quadrature nodes from ``t_min_kev`` to the largest recoil, for ``mass_kg`` of target.

    The rates are the package's (:func:`cevns_scan.rates.flavour_differential_rates`, eq. 12
    summed over the target's nuclei): per kg per keV_nr over the whole exposure (the source's
    fluence), times the mass.
    """
    from ..rates import flavour_differential_rates

    breaks = kinematic_breaks_kev(model)
    t, w = recoil_quadrature(t_min_kev, max(breaks), breaks)
    sm, mm = flavour_differential_rates(model, t)
    return RecoilSpectra(t, w, sm * mass_kg, mm * mass_kg, model.components)


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


# -- the experiment kinds' common part ------------------------------------------------------------


@dataclass(frozen=True, eq=False)
class ReleaseData:
    """A COHERENT release folder as an experiment's dataset (checked when read).

    ``digest()`` is the SHA-256 of the files' own checksums (which the reader verified), so a
    checkpoint belongs to exactly these files.
    """

    kind: str
    label: str
    source: str
    release: object
    checksums: tuple[tuple[str, str], ...]
    citation: str
    description: str = ""

    @property
    def metadata(self) -> dict:
        return {"citation": self.citation, "files": len(self.checksums),
                "license": "not stated by the collaboration: read from the user's download, "
                           "never shipped"}

    def digest(self) -> str:
        h = hashlib.sha256(self.kind.encode())
        for name, value in self.checksums:
            h.update(f"{name}={value};".encode())
        return h.hexdigest()

    def __repr__(self) -> str:
        return f"ReleaseData({self.kind!r}, {self.source!r})"


class CoherentKind:
    """What the two COHERENT kinds share: a release folder as ``--data``, read and checked by
    the kind's reader; a manifest naming the folder and its checksums; the SM measurement as
    an output. Subclasses set the attributes and :meth:`_read`, :meth:`build`."""

    summary = ""
    data_help = ""
    builtin: tuple[str, ...] = ()
    default_data = None
    config_sections: dict = MappingProxyType({})
    config_defaults = ""
    config_moved: dict = MappingProxyType({})
    dataset_commands: tuple = ()
    #: One neutrino flux for every detector at the SNS (shared by name in joint fits).
    shares = ("flux_sns",)
    #: Files whose presence marks a release folder of this kind.
    marker_files: tuple[str, ...] = ()
    #: file name -> expected checksum, and the algorithm.
    checksums: dict = MappingProxyType({})
    algorithm = "md5"
    citation = ""

    @property
    def output_files(self) -> tuple[str, ...]:
        return (f"{self.name}_sm_measurement.json", f"{self.name}_expected.csv")

    def recognises(self, spec: str) -> bool:
        path = Path(spec)
        return path.is_dir() and all((path / f).is_file() for f in self.marker_files)

    def load(self, spec: str) -> ReleaseData:
        release = self._read(spec)
        sums = tuple(sorted(self.checksums.items()))
        return ReleaseData(self.name, self.name, str(spec), release, sums, self.citation)

    def manifest(self, data) -> dict:
        return {"kind": self.name, "label": data.label, "source": data.source,
                "sha256": data.digest()}

    def from_manifest(self, record: dict, where: str):
        data = self.load(record["source"])
        if data.digest() != record.get("sha256"):
            raise InputError(f"{where}: the release {record['source']} is not the one the scan "
                             "used (other files); merge where that folder is")
        return data

    def write_outputs(self, experiment, out, result, figures: bool = True) -> None:
        from ..outputs import atomic_write_bytes, csv_cell, write_json

        fit = experiment.likelihood.sm_fit()
        meas = sm_measurement_record(experiment, fit)
        write_json(out / f"{self.name}_sm_measurement.json", meas)
        tp = experiment.templates
        lines = [f"# {experiment.name}: CEvNS events per pi-DAR component in the analysis "
                 "region (prediction, before the fit); MM per mu_B^2 of each flavour",
                 "component,SM_events,MM_e,MM_mu,MM_tau"]
        for c, name in enumerate(tp.components):
            lines.append(",".join([name, *(csv_cell(float(v)) for v in
                                           (tp.sm[c].sum(), *tp.mm[c].sum(axis=0)))]))
        atomic_write_bytes(out / f"{self.name}_expected.csv", ("\n".join(lines) + "\n").encode())

    def warnings(self, experiment, analysis) -> list[str]:
        return []

    def __repr__(self) -> str:
        return f"<experiment kind {self.name!r}: {self.summary}>"


def sm_measurement_record(experiment, fit) -> dict:
    """``<kind>_sm_measurement.json``: predicted and fitted CEvNS events with the 68 % interval,
    the best-fit nuisances (value and pull), and the significance of CEvNS (nested)."""
    lik = experiment.likelihood
    names = lik.parameters[:-4]
    model = lik.kernel_model(*(np.zeros(lik.mm_all().shape[:-1]),) * 2, sm_fit=True)
    nuisances = {}
    for i, name in enumerate(names):
        s = float(model.sigma[i])
        pull = (float(fit.theta[i]) - float(model.centre[i])) / s if s > 0 else None
        nuisances[name] = {"value": float(fit.theta[i]), "centre": float(model.centre[i]),
                           "sigma": s, "pull": pull}
    q0 = cevns_q0(lik, fit)
    return {"dataset": experiment.name,
            "cevns_events_predicted": float(fit.predicted_cevns),
            "cevns_events_fitted": float(fit.cevns),
            "cevns_events_fitted_err": [float(fit.cevns - fit.cevns_lo),
                                        float(fit.cevns_hi - fit.cevns)],
            "cevns_events_fitted_68cl": [float(fit.cevns_lo), float(fit.cevns_hi)],
            "background_events_fitted": {k: float(v) for k, v in fit.counts.items()
                                         if k != "cevns"},
            "q0": q0, "significance_sigma": float(np.sqrt(max(q0, 0.0))),
            "best_fit_nuisances": nuisances,
            "method": "profile likelihood at mu = 0: the CEvNS normalisation free, the SNS "
                      "flux fixed at its nominal value (degenerate with it), every other "
                      "nuisance profiled; 68 % interval from Delta(-2 ln L) = 1; q0 = -2 ln L "
                      "with the CEvNS normalisation at 0 minus the best fit, everything else "
                      "the same in both hypotheses (nested); significance sqrt(q0)"}


def cevns_q0(lik, fit) -> float:
    """-2 ln L(CEvNS normalisation = 0) - the SM fit's, the rest profiled in both (nested)."""
    from ..kernels.poisson import profile

    model = lik.kernel_model(*(np.zeros(lik.mm_all().shape[:-1]),) * 2, sm_fit=True)
    _, free = lik.start(sm_fit=True)
    i = lik.parameter_index("cevns")
    theta0 = fit.theta.copy()
    theta0[i] = 0.0
    free0 = free.copy()
    free0[i] = False
    d0, _, _, _ = profile(theta0, free0, model)
    return float(d0 - fit.deviance)


# -- the binned likelihood both experiments share ---------------------------------------------

#: The kernel's unit of the squared moments: u = (mu / MU_UNIT)^2.
MU_UNIT = 1e-9
#: Flavour index of the templates' last axis.
FLAVOUR_INDEX = {"e": 0, "mu": 1, "tau": 2}
#: A shape term's owner "signal" is r_cevns in the SM fit and r_flux in moment scans.
SIGNAL = "signal"


@dataclass(frozen=True)
class SMFit:
    """The SM fit: CEvNS count with its 68 % profile-likelihood interval, the nuisances.

    ``counts`` maps every background and ``cevns`` to fitted events (multiplier x template
    sum); ``theta`` is the best fit; ``deviance`` -2 ln L at the minimum; ``predicted_cevns``
    the CEvNS prediction (the template sum).
    """

    cevns: float
    cevns_lo: float
    cevns_hi: float
    counts: dict
    theta: np.ndarray
    deviance: float
    predicted_cevns: float


class CoherentLikelihood:
    """The binned Poisson likelihood of a COHERENT detector, written once for both.

    Expected counts, in the kernel's notation (one template each, with its c_k(u, v) and the
    two rate multipliers of ``mult``)::

        lambda_b = r_cevns r_flux S_b + r_flux (u X_b + v Y_b) + sum_i r_i B_ib
                   + sum_k r_owner(k) s_k dT_kb                                         (L1)

    with S the SM CEvNS expectation, X, Y the magnetic-moment templates of the plane's two
    flavours, B_i the backgrounds (each named by its normalisation parameter) and dT_k the
    shape differences, each scaled by its unit-Gaussian nuisance s_k and by its owner's
    normalisation (a background's, or for a CEvNS shape term r_cevns in the SM fit and r_flux
    in moment scans, where r_cevns = 1). A subclass (a frozen dataclass that is also a
    :class:`~cevns_scan.experiments.binned_poisson.BinnedPoisson`) provides ``parameters``,
    ``observed``, ``signal``, ``cevns_templates`` (with ``mm``), ``backgrounds()`` (name ->
    template), ``shape_terms(sm_fit)`` ((name, dT, owner) each; owner a background's name or
    :data:`SIGNAL`), ``constraints(sm_fit)`` and ``describe()``.
    """

    scale = MU_UNIT
    shared = ("flux_sns",)
    gof_note = ("Poisson bins with few events: the chi2 distribution of -2 ln L is only "
                "indicative here")
    n_unconstrained = 0

    @property
    def n_data(self) -> int:
        return int(self.observed.size)

    def mm_template(self, flavour: str) -> np.ndarray:
        """Magnetic-moment events per unit of the kernel's u (mu = MU_UNIT), (B,)."""
        return (self.cevns_templates.mm[..., FLAVOUR_INDEX[flavour]].sum(axis=0)
                * MU_UNIT**2)

    def mm_all(self) -> np.ndarray:
        """Magnetic-moment events per unit u = (mu / MU_UNIT)^2 of (e, mu, tau), (B, 3)."""
        return self.cevns_templates.mm.sum(axis=0) * MU_UNIT**2

    def mu_scale(self, flavour: str) -> float:
        """Where the magnetic-moment events reach the square root of all events (mu_B)."""
        signal = float(self.mm_template(flavour).sum()) / MU_UNIT**2
        if not signal > 0:
            raise InputError(f"the mu_{flavour} templates vanish: this experiment does not "
                             f"constrain mu_{flavour}")
        return (float(self.observed.sum()) ** 0.5 / signal) ** 0.5

    def kernel_model(self, mx=None, my=None, n_obs=None, sm_fit: bool = False):
        """The :class:`~cevns_scan.kernels.poisson.PoissonModel` of (L1); ``mx``, ``my`` the
        (B,) templates of u and v (default zero); ``sm_fit`` the model of the SM fit."""
        from ..kernels.poisson import make_model

        index = self.parameters.index
        i_cevns, i_flux = index("cevns"), index("flux_sns")
        zero = np.zeros(self.observed.size)
        tmpl, coef, mult = [], [], []

        def add(values, c, m0, m1=-1):
            tmpl.append(values)
            coef.append(c)
            mult.append((m0, m1))

        add(self.signal, 0, i_cevns, i_flux)
        add(zero if mx is None else mx, 1, i_flux)
        add(zero if my is None else my, 2, i_flux)
        for name, values in self.backgrounds().items():
            add(values, 0, index(name))
        for name, diff, owner in self.shape_terms(sm_fit):
            i_owner = (i_cevns if sm_fit else i_flux) if owner == SIGNAL else index(owner)
            add(diff, 0, i_owner, index(name))
        centre, sigma, lo, hi = self.constraints(sm_fit)
        return make_model(self.observed if n_obs is None else n_obs,
                          np.stack(tmpl)[:, None, None, :], np.zeros(len(tmpl), bool), coef,
                          mult, [0.0], [0.0], centre, sigma, lo, hi)

    def shape_constraints(self, centre, sigma, lo, hi, bound: float) -> None:
        """Unit Gaussians in [-bound, bound] for every shape nuisance (in place); the unused
        morphing parameters s0, s1 unbounded."""
        for name, _, _ in self.shape_terms():
            i = self.parameters.index(name)
            centre[i], sigma[i], lo[i], hi[i] = 0.0, 1.0, -bound, bound
        lo[-4] = lo[-3] = -np.inf

    def start(self, sm_fit: bool = False) -> tuple[np.ndarray, np.ndarray]:
        """Start (the prior centres, u = v = 0) and the free mask.

        SM fit: r_cevns free, r_flux fixed at 1 (degenerate with r_cevns; it changes the
        cross section, not the fitted count). Magnetic-moment scans: r_cevns fixed at 1,
        r_flux constrained.
        """
        centre, _, _, _ = self.constraints(sm_fit)
        free = np.ones(len(self.parameters), dtype=bool)
        free[-4:] = False  # s0, s1 (no morphing), u, v
        free[self.parameters.index("flux_sns" if sm_fit else "cevns")] = False
        return centre.copy(), free

    def sm_fit(self) -> SMFit:
        """r_cevns with everything else profiled; its 68 % interval from Delta(-2 ln L) = 1."""
        from ..kernels.poisson import profile

        model = self.kernel_model(sm_fit=True)
        theta, free = self.start(sm_fit=True)
        r_hat, r_lo, r_hi, best = count_interval(model, theta, free,
                                                 self.parameters.index("cevns"))
        d, _, _, _ = profile(best, free, model)
        total = self.signal.sum()
        counts = {"cevns": r_hat * total}
        for name, values in self.backgrounds().items():
            counts[name] = float(best[self.parameters.index(name)] * values.sum())
        return SMFit(r_hat * total, r_lo * total, r_hi * total, counts, best, float(d), total)

    def profile_grid(self, mu_x, mu_y, flavours=("e", "mu")):
        """-2 ln L profiled over all nuisances on a (mu_x, mu_y) grid in mu_B.

        Returns (D (nx, ny), seconds per grid point); see :func:`profile_grid`.
        """
        model = self.kernel_model(self.mm_template(flavours[0]), self.mm_template(flavours[1]))
        theta, free = self.start(sm_fit=False)
        return profile_grid(model, theta, free, np.asarray(mu_x) / MU_UNIT,
                            np.asarray(mu_y) / MU_UNIT)
