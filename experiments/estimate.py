"""Before and about a sweep: time and disk from a pilot batch; throughput of the runner."""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path
from typing import Any

import numpy as np

from experiments.designs import design_table
from experiments.runner import chunk_tasks, run_chunk
from experiments.spec import SweepSpec, load_spec, spec_from_dict
from experiments.store import plan_runs, write_chunk


def estimate_sweep(
    spec: SweepSpec | str | Path, pilot_runs: int = 4, workers: int | None = None
) -> dict[str, Any]:
    """Time and disk of a sweep, extrapolated from ``pilot_runs`` runs spread over the plan."""
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    design = design_table(spec)
    plan = plan_runs(spec, design).drop_duplicates("run_id").reset_index(drop=True)
    picks = plan.iloc[
        np.unique(np.linspace(0, len(plan) - 1, min(pilot_runs, len(plan))).round().astype(int))
    ]
    with tempfile.TemporaryDirectory() as tmp:
        frames = run_chunk(next(chunk_tasks(spec, design, picks, len(picks))))
        size = sum(f.stat().st_size for f in write_chunk(tmp, frames).iterdir())
    manifest, workers = frames["manifest"], workers or os.cpu_count() or 1
    per_run = float(manifest["wall_time_s"].median())
    return {
        "runs": len(plan),
        "design_points": len(design),
        "pilot_runs": len(manifest),
        "pilot_failed": int((manifest["status"] != "ok").sum()),
        "seconds_per_run": per_run,
        "cpu_seconds": per_run * len(plan),
        "workers": workers,
        "wall_seconds": per_run * len(plan) / workers,
        "bytes_per_run": size / len(manifest),
        "disk_bytes": size / len(manifest) * len(plan),
    }


def sweep_throughput(
    workers: int = 2, runs: int = 16, months: int = 6, scenario: str = "baseline"
) -> dict[str, float]:
    """Runs/s of short runs in this process and with ``workers`` processes, and the scaling ratio.

    The parallel figure includes starting the worker pool, as a user's sweep does;
    ``scaling_efficiency`` is speedup / workers (1.0 = linear scaling).
    """
    from experiments.sweep import run_sweep

    spec = spec_from_dict(
        {
            "name": "throughput",
            "scenario": scenario,
            "months": months,
            "replications": runs,
            "seed": 7,
            "outputs": ["metrics"],
        }
    )
    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(
            spec.model_copy(update={"replications": 1}),
            Path(tmp, "warm"),
            workers=0,
            progress=False,
        )
        serial = _timed(spec, Path(tmp, "serial"), 0)
        parallel = _timed(spec, Path(tmp, "parallel"), workers)
    return {
        "workers": workers,
        "runs": runs,
        "months": months,
        "serial_runs_per_s": serial,
        "parallel_runs_per_s": parallel,
        "speedup": parallel / serial,
        "scaling_efficiency": parallel / serial / workers,
    }


def _timed(spec: SweepSpec, out: Path, workers: int) -> float:
    from experiments.sweep import run_sweep

    start = time.perf_counter()
    summary = run_sweep(spec, out, workers=workers, progress=False)
    return summary.ok / (time.perf_counter() - start)
