"""The one place that sets numba's compile options for every kernel.

``cache=True``: compiled machine code is stored beside the sources, so a fresh process (a
worker, a batch job) loads it instead of compiling. ``nogil=True``: kernels release the GIL,
so the threading backend scales. Never ``fastmath``: NaN and zero guards must hold.
"""

from numba import njit

JIT_OPTIONS = {"cache": True, "nogil": True}


def kernel(func):
    """Compile ``func`` with :data:`JIT_OPTIONS` (use as a decorator)."""
    return njit(**JIT_OPTIONS)(func)


def inline_kernel(func):
    """Like :func:`kernel`, but inlined into every kernel that calls it (numba IR inlining).

    For small helpers on a hot path: a compiled call into another numba function is not
    inlined by LLVM, and its call overhead and lost specialisation cost ~25 % of a scan.
    """
    return njit(inline="always", **JIT_OPTIONS)(func)
