"""How the model's kernels are compiled: one decorator, one set of options.

``@kernel`` (or ``@kernel(inline="always")``) is numba's ``njit`` with:

- ``cache=True``: compiled code is kept on disk (see :mod:`model`: the
  cache folder is keyed by the kernels' sources);
- ``error_model="numpy"``: no zero-division check on each division (a
  division by zero gives inf or NaN, as in numpy). The kernels guard
  their divisions, and the checks cost a branch in every hot loop.
"""

from numba import njit


def kernel(*function, **options):
    """``numba.njit`` with the project's options; use bare or with extra ``njit`` options."""
    return njit(*function, cache=True, error_model="numpy", **options)
