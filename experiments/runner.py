"""Run chunks of simulations on any ``concurrent.futures`` executor.

The unit sent to a worker is a :class:`ChunkTask`: the scenario document and
several runs (overrides + seed), so short runs are not dominated by process
start-up or task overhead. A worker returns tables; the driver writes them,
so Dask workers need no shared file system. A run that raises is returned as
a ``failed`` manifest row with its error; the chunk carries on.
"""

from __future__ import annotations

import copy
import os
import socket
import time
import traceback
from collections.abc import Iterator
from concurrent.futures import Executor, Future
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import pandas as pd

from experiments.designs import overrides_at
from experiments.metrics import metrics
from experiments.spec import SweepSpec
from model.outputs import code_version
from model.run import simulate
from model.scenario import set_path, validate

MANIFEST_COLUMNS = [
    "run_id",
    "design_index",
    "replication",
    "seed",
    "status",
    "error",
    "traceback",
    "wall_time_s",
    "months",
    "code_version",
    "host",
    "pid",
    "finished_at",
]


@dataclass(frozen=True)
class RunTask:
    """One run: where it sits in the design, its seed and its overrides."""

    run_id: str
    design_index: int
    replication: int
    seed: int
    overrides: dict[str, Any]


@dataclass(frozen=True)
class ChunkTask:
    """Runs sent to a worker together, with everything needed to play them."""

    document: dict[str, Any]
    runs: tuple[RunTask, ...]
    months: int
    outputs: tuple[str, ...]
    record_firms: bool
    code_version: str


@dataclass
class _Collected:
    manifest: list[dict[str, Any]] = field(default_factory=list)
    metrics: list[dict[str, Any]] = field(default_factory=list)
    series: dict[str, list[pd.DataFrame]] = field(default_factory=dict)


def run_chunk(task: ChunkTask) -> dict[str, pd.DataFrame]:
    """Play every run of a chunk; return ``manifest`` (+ ``metrics``, series tables)."""
    got = _Collected()
    for run in task.runs:
        _play(task, run, got)
    frames = {"manifest": pd.DataFrame(got.manifest, columns=MANIFEST_COLUMNS)}
    if "metrics" in task.outputs:
        frames["metrics"] = pd.DataFrame(got.metrics)
    for name, dfs in got.series.items():
        frames[name] = pd.concat(dfs, ignore_index=True)
    return frames


def _play(task: ChunkTask, run: RunTask, got: _Collected) -> None:
    start = time.perf_counter()
    error = trace = None
    try:
        tables = play_run(task.document, run.overrides, run.seed, task.months, task.record_firms)
        _collect(task, run, tables, got)
    except Exception as err:  # noqa: BLE001 - a failed run is data, the sweep goes on
        error, trace = f"{type(err).__name__}: {err}", traceback.format_exc(limit=8)
    got.manifest.append(
        {
            "run_id": run.run_id,
            "design_index": run.design_index,
            "replication": run.replication,
            "seed": run.seed,
            "status": "failed" if error else "ok",
            "error": error,
            "traceback": trace,
            "wall_time_s": time.perf_counter() - start,
            "months": task.months,
            "code_version": task.code_version,
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "finished_at": datetime.now(UTC).isoformat(timespec="seconds"),
        }
    )


def play_run(
    document: dict[str, Any],
    overrides: dict[str, Any],
    seed: int,
    months: int,
    record_firms: bool = False,
) -> dict[str, pd.DataFrame]:
    """Apply overrides to a scenario document, validate it and simulate: tables by name."""
    doc = copy.deepcopy(document)
    for path, value in overrides.items():
        set_path(doc, path, value)
    return simulate(validate(doc), seed=seed, months=months, record_firms=record_firms).as_dict()


def _collect(
    task: ChunkTask, run: RunTask, tables: dict[str, pd.DataFrame], got: _Collected
) -> None:
    if "metrics" in task.outputs:
        got.metrics.append({"run_id": run.run_id, **metrics(tables)})
    if "series" in task.outputs:
        for name, df in tables.items():
            if name == "firms" and not task.record_firms:
                continue
            got.series.setdefault(name, []).append(
                df.assign(run_id=run.run_id)[["run_id", *df.columns]]
            )


def worker_pid(_: object = None) -> int:
    """Return the worker's process id (a no-op task that makes a pool start its processes)."""
    return os.getpid()


class InlineExecutor(Executor):
    """Runs each task in the calling process at submit time (``workers=0``; debugging, tests)."""

    def submit(self, fn: Any, /, *args: Any, **kwargs: Any) -> Future:
        """Run ``fn`` now; return a finished future holding its result or exception."""
        future: Future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as err:  # noqa: BLE001 - handed back through the future
            future.set_exception(err)
        return future


def chunk_tasks(
    spec: SweepSpec, design: pd.DataFrame, pending: pd.DataFrame, size: int
) -> Iterator[ChunkTask]:
    """Tasks of ``size`` pending runs each, built from the spec's design."""
    document, version = spec.base_document(), code_version()
    overrides = {int(r["design_index"]): overrides_at(spec, r) for r in design.to_dict("records")}
    for rows in chunk_runs(pending, size):
        yield make_task(spec, document, rows, overrides, version)


def chunk_runs(plan: pd.DataFrame, size: int) -> list[pd.DataFrame]:
    """Split pending runs into chunks of ``size`` rows, in plan order."""
    return [plan.iloc[i : i + size] for i in range(0, len(plan), size)]


def default_chunk_size(pending: int, workers: int) -> int:
    """About four chunks per worker, at most 32 runs each, so progress stays visible."""
    return max(1, min(32, -(-pending // (4 * max(1, workers)))))


def make_task(
    spec: SweepSpec,
    document: dict[str, Any],
    rows: pd.DataFrame,
    overrides: dict[int, dict[str, Any]],
    version: str,
) -> ChunkTask:
    """Build the task of one chunk from plan rows and each design point's overrides."""
    runs = tuple(
        RunTask(
            r.run_id,
            int(r.design_index),
            int(r.replication),
            int(r.seed),
            overrides[int(r.design_index)],
        )
        for r in rows.itertuples()
    )
    return ChunkTask(document, runs, spec.months, tuple(spec.outputs), spec.record_firms, version)
