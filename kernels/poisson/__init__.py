"""Profile likelihood of an extended binned Poisson model with morphing templates.

Parameters theta (length P + 4) are ``[r_0 .. r_{P-1}, s_0, s_1, u, v]``: rate multipliers,
two shape parameters and the squared magnetic moments u = mu_x^2, v = mu_y^2. The expected
counts in bin b are

    lambda_b = sum_k c_k(u, v) * prod_{m in mult[k]} r_m * T_k(s_0, s_1)_b,

with c_k = 1, u or v (``coef_index[k]`` = 0, 1, 2) and T_k the template ``tmpl[k, :, :, b]``
bilinearly interpolated on the anchor grids (``morph[k]``) or ``tmpl[k, 0, 0, b]``. The
objective is the Baker-Cousins deviance plus Gaussian constraints and one optional external
quadratic penalty,

    D = 2 sum_b [lambda_b - n_b + n_b ln(n_b / lambda_b)]
        + sum_i ((theta_i - centre_i) / sigma_i)^2 + q0 + q1 theta_p + q2 theta_p^2,

where the log term is absent for n_b = 0, sigma_i <= 0 or infinite means unconstrained and
p = ``pen_index`` (-1: no penalty).

The package, by job:

- :mod:`.model`: the inputs, :class:`PoissonModel`, checked and converted by
  :func:`make_model`;
- :mod:`.workspace`: the scratch arrays of one profiling run (``_Work``, ``_setup``) and the
  helpers of the current morph cell;
- :mod:`.objective`: D, its gradient and Hessian on one morph cell (polynomial cell
  coefficients, group weights, lambda, constraints), and :func:`deviance`;
- :mod:`.newton`: the minimiser, projected damped Newton in a cell, cell switching and
  probing across anchors (``_profile_ws``); the status codes and defaults;
- :mod:`.drivers`: :func:`profile`, :func:`profile_plane` and :func:`global_fit`.

Nothing is allocated inside the Newton loop. All sums run in a fixed order without fastmath,
so a result does not depend on how a scan is cut into chunks.

Status codes: :data:`CONVERGED` (0), :data:`MAX_ITER` (1), :data:`LINE_SEARCH_FAILED` (2),
:data:`INFEASIBLE_START` (3: D = inf at the clipped start), :data:`CELL_LIMIT` (4: too many
cell switches), :data:`SINGULAR` (5: no damping made the Hessian factorisable). The returned
D is never NaN for a finite model and start: it is a value actually attained, or +inf with
status 3.

numba's cache (``cache=True``) is keyed on each kernel's own source file alone: after an
edit to one module here, the kernels of the other modules that call into it still load
their old machine code from the cache. Clear it (``find kernels -name '*.nbi' -delete``)
after such an edit.
"""

from .drivers import global_fit, profile, profile_plane
from .model import PoissonModel, make_model
from .newton import (
    CELL_LIMIT,
    CONVERGED,
    DEFAULT_MAX_ITER,
    DEFAULT_TOL,
    INFEASIBLE_START,
    LINE_SEARCH_FAILED,
    MAX_ITER,
    SINGULAR,
)
from .objective import deviance

__all__ = [
    "CELL_LIMIT",
    "CONVERGED",
    "DEFAULT_MAX_ITER",
    "DEFAULT_TOL",
    "INFEASIBLE_START",
    "LINE_SEARCH_FAILED",
    "MAX_ITER",
    "SINGULAR",
    "PoissonModel",
    "deviance",
    "global_fit",
    "make_model",
    "profile",
    "profile_plane",
]
