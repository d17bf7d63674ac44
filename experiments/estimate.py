"""Before a sweep: its time and disk, extrapolated from a pilot batch of runs."""

from __future__ import annotations

import os
import tempfile
from pathlib import Path
from typing import Any

import numpy as np

from experiments.designs import design_table
from experiments.runner import chunk_tasks, run_chunk
from experiments.spec import SweepSpec, load_spec
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
        "pilot_errors": sorted(manifest["error"].dropna().unique().tolist()),
        "seconds_per_run": per_run,
        "cpu_seconds": per_run * len(plan),
        "workers": workers,
        "wall_seconds": per_run * len(plan) / workers,
        "bytes_per_run": size / len(manifest),
        "disk_bytes": size / len(manifest) * len(plan),
    }
