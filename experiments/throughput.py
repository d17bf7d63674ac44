"""Throughput of the sweep runner: runs/s in one process and with a worker pool.

Called by ``benchmarks/bench.py``. Short baseline runs make start-up and task
overhead visible, which is what chunking is meant to hide.
"""

from __future__ import annotations

import os
import tempfile
import time
from pathlib import Path

from experiments.spec import SweepSpec, spec_from_dict


def sweep_throughput(
    workers: int = 2, runs: int = 32, months: int = 6, scenario: str = "baseline"
) -> dict[str, float]:
    """Runs/s of short runs in this process and with ``workers`` processes, and the scaling ratio.

    The parallel figure includes starting the worker pool, as a user's sweep does;
    ``sweep_scaling_efficiency`` is speedup / workers (1.0 = linear scaling). The machine's
    load average before the measurement is returned too: other processes skew it.
    ``sweep_parallel_cores_used`` (CPU seconds / wall seconds of the pooled sweep)
    tells how many cores the workers actually got; ``sweep_cpu_per_run_ratio``
    (pooled / serial CPU seconds) is the pool's CPU overhead, 1.0 = none.
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
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        run_sweep(
            spec.model_copy(update={"replications": 1}),
            Path(tmp, "warm"),
            workers=0,
            progress=False,
        )
        serial, serial_cpu, _ = _timed(spec, Path(tmp, "serial"), 0)
        parallel, parallel_cpu, cores = _timed(spec, Path(tmp, "parallel"), workers)
    return {
        "sweep_load_average_1min": round(load, 2),
        "sweep_workers": workers,
        "sweep_runs": runs,
        "sweep_months": months,
        "sweep_serial_runs_per_s": round(serial, 3),
        "sweep_parallel_runs_per_s": round(parallel, 3),
        "sweep_speedup": round(parallel / serial, 3),
        "sweep_scaling_efficiency": round(parallel / serial / workers, 3),
        "sweep_parallel_cores_used": round(cores, 2),
        "sweep_cpu_per_run_ratio": round(parallel_cpu / serial_cpu, 3),
    }


def _timed(spec: SweepSpec, out: Path, workers: int) -> tuple[float, float, float]:
    """Return runs/s, CPU seconds (this process and its workers) and cores kept busy."""
    from experiments.sweep import run_sweep

    start, cpu = time.perf_counter(), _cpu_seconds()
    summary = run_sweep(spec, out, workers=workers, progress=False)
    wall, cpu = time.perf_counter() - start, _cpu_seconds() - cpu
    return summary.ok / wall, cpu, cpu / wall


def _cpu_seconds() -> float:
    t = os.times()
    return t.user + t.system + t.children_user + t.children_system
