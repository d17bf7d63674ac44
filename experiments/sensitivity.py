"""Sobol and Morris indices (SALib) with failed design points handled explicitly.

SALib's estimators need every row of their sample. A failed run leaves its
design point without an outcome (NaN). Rather than dropping rows silently,
which would misalign the Saltelli/Morris structure, we drop whole *blocks*:
a Saltelli block (the ``D + 2`` or ``2D + 2`` rows built from one base
sample) or a Morris trajectory (``D + 1`` rows). The estimators stay valid
on the remaining blocks, and the result names what was dropped.
"""

from __future__ import annotations

from typing import Any

import numpy as np


def block_size(method: str, num_vars: int, second_order: bool = False) -> int:
    """Rows per Saltelli block (``sobol``) or Morris trajectory (``morris``)."""
    if method == "sobol":
        return 2 * num_vars + 2 if second_order else num_vars + 2
    if method == "morris":
        return num_vars + 1
    raise ValueError(f"no block structure for design method {method!r}")


def complete_blocks(y: np.ndarray, size: int) -> tuple[np.ndarray, list[int]]:
    """Row mask of blocks with no NaN outcome, and the indices of blocks dropped."""
    blocks = np.isfinite(np.asarray(y, dtype=float)).reshape(-1, size).all(axis=1)
    return np.repeat(blocks, size), [int(b) for b in np.flatnonzero(~blocks)]


def sobol_indices(
    problem: dict[str, Any], y: np.ndarray, second_order: bool = False, seed: int = 0
) -> dict[str, Any]:
    """First-order and total Sobol indices, after dropping incomplete Saltelli blocks."""
    from SALib.analyze import sobol

    size = block_size("sobol", problem["num_vars"], second_order)
    keep, dropped = complete_blocks(y, size)
    out = _empty(problem, ("S1", "S1_conf", "ST", "ST_conf"), dropped, len(keep) // size)
    if keep.sum() < 2 * size or _constant(y, keep, out):
        return out
    res = sobol.analyze(
        problem, np.asarray(y, float)[keep], calc_second_order=second_order, seed=seed
    )
    out.update({k: np.asarray(res[k], float) for k in ("S1", "S1_conf", "ST", "ST_conf")})
    return out


def morris_indices(
    problem: dict[str, Any], x: np.ndarray, y: np.ndarray, num_levels: int, seed: int = 0
) -> dict[str, Any]:
    """Morris mu, mu* and sigma, after dropping incomplete trajectories."""
    from SALib.analyze import morris

    size = block_size("morris", problem["num_vars"])
    keep, dropped = complete_blocks(y, size)
    out = _empty(problem, ("mu", "mu_star", "sigma", "mu_star_conf"), dropped, len(keep) // size)
    if keep.sum() < 2 * size or _constant(y, keep, out):
        return out
    res = morris.analyze(
        problem,
        np.asarray(x, float)[keep],
        np.asarray(y, float)[keep],
        num_levels=num_levels,
        seed=seed,
    )
    out.update({k: np.asarray(res[k], float) for k in ("mu", "mu_star", "sigma", "mu_star_conf")})
    return out


def _constant(y: np.ndarray, keep: np.ndarray, out: dict[str, Any]) -> bool:
    """Flag an outcome that does not vary: its indices are undefined, not zero."""
    out["constant"] = bool(np.ptp(np.asarray(y, float)[keep]) == 0.0)
    return out["constant"]


def _empty(
    problem: dict[str, Any], keys: tuple[str, ...], dropped: list[int], blocks: int
) -> dict[str, Any]:
    nan = np.full(problem["num_vars"], np.nan)
    out: dict[str, Any] = {k: nan.copy() for k in keys}
    out.update(
        names=list(problem["names"]),
        blocks=blocks,
        blocks_used=blocks - len(dropped),
        dropped_blocks=dropped,
        constant=False,
    )
    return out
