"""Design points: where in parameter space each run sits.

A design is a matrix ``x`` (one row per design point, one column per
parameter) in *design space*: a range parameter's own units, or the index
``[0, n)`` of a list of values. :meth:`Parameter.value_at` turns a coordinate
into the scenario value. Sobol (Saltelli) and Morris samples come from SALib
in the row order its analysers expect, so analysis can hand them back as is.
"""

from __future__ import annotations

import itertools
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from scipy.stats import qmc

from experiments.spec import SweepSpec


def salib_problem(spec: SweepSpec) -> dict[str, Any]:
    """Build the SALib problem dictionary of a spec's parameters."""
    return {
        "num_vars": len(spec.parameters),
        "names": [p.path for p in spec.parameters],
        "bounds": [list(p.bounds) for p in spec.parameters],
    }


def design_matrix(spec: SweepSpec) -> np.ndarray:
    """Design-space coordinates, shape (points, parameters), drawn from the spec's seed."""
    if not spec.parameters:
        return np.zeros((1, 0))
    method = spec.design.method
    return {
        "full_factorial": _full_factorial,
        "latin_hypercube": _latin_hypercube,
        "sobol": _sobol,
        "morris": _morris,
    }[method](spec)


def expected_points(spec: SweepSpec) -> int:
    """How many design points a spec yields (before replication)."""
    d, n = len(spec.parameters), spec.design.samples
    if d == 0:
        return 1
    if spec.design.method == "full_factorial":
        return int(np.prod([len(_factorial_axis(p, spec.design.levels)) for p in spec.parameters]))
    if spec.design.method == "sobol":
        return n * (2 * d + 2 if spec.design.second_order else d + 2)
    if spec.design.method == "morris":
        return n * (d + 1)
    return n


def design_table(spec: SweepSpec) -> pd.DataFrame:
    """One row per design point: ``design_index``, coordinates ``x_k`` and the scenario values."""
    x = design_matrix(spec)
    table: dict[str, Any] = {"design_index": np.arange(len(x), dtype=np.int64)}
    for k, param in enumerate(spec.parameters):
        table[f"x_{k}"] = x[:, k]
        table[param.path] = [param.value_at(v) for v in x[:, k]]
    return pd.DataFrame(table)


def overrides_at(spec: SweepSpec, row: Mapping[str, Any]) -> dict[str, Any]:
    """Return the ``{path: value}`` overrides of one design-table record, as plain Python values."""
    return {p.path: _plain(row[p.path]) for p in spec.parameters}


def _plain(value: Any) -> Any:
    return value.item() if isinstance(value, np.generic) else value


def _factorial_axis(param: Any, levels: int) -> np.ndarray:
    if not param.is_range:
        return np.arange(len(param.values), dtype=float)
    axis = np.linspace(param.low, param.high, levels)
    return np.unique(np.round(axis)) if param.integer else axis


def _full_factorial(spec: SweepSpec) -> np.ndarray:
    axes = [_factorial_axis(p, spec.design.levels) for p in spec.parameters]
    return np.array(list(itertools.product(*axes)), dtype=float)


def _latin_hypercube(spec: SweepSpec) -> np.ndarray:
    rng = np.random.default_rng(np.random.SeedSequence(spec.seed, spawn_key=(0xD5,)))
    unit = qmc.LatinHypercube(d=len(spec.parameters), rng=rng).random(spec.design.samples)
    bounds = np.array([p.bounds for p in spec.parameters])
    return qmc.scale(unit, bounds[:, 0], bounds[:, 1])


def _sobol(spec: SweepSpec) -> np.ndarray:
    return sobol_sample.sample(
        salib_problem(spec),
        spec.design.samples,
        calc_second_order=spec.design.second_order,
        seed=spec.seed,
    )


def _morris(spec: SweepSpec) -> np.ndarray:
    return morris_sample.sample(
        salib_problem(spec), spec.design.samples, num_levels=spec.design.levels, seed=spec.seed
    )
