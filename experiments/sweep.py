"""Run a sweep: plan, skip what is done, send chunks to an executor, store results.

Entry points the command line calls: :func:`load_spec`, :func:`run_sweep`,
:func:`estimate_sweep`; :func:`sweep_throughput` is for the benchmark. The
same code path serves a local process pool, a Dask cluster (``dask_address``)
and a Slurm array task (``shard=(i, n)``); seeds depend on the master seed
and the design alone, so results are the same on every backend.

``python -m experiments.sweep SPEC --out DIR [--workers N]`` runs one sweep.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing
import os
import threading
import time
import warnings
from collections.abc import Callable, Iterator
from concurrent.futures import FIRST_COMPLETED, Executor, Future, ProcessPoolExecutor, wait
from contextlib import contextmanager
from dataclasses import asdict, dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.estimate import estimate_sweep
from experiments.progress import SweepProgress
from experiments.runner import (
    ChunkTask,
    InlineExecutor,
    chunk_tasks,
    default_chunk_size,
    play_run,
    run_chunk,
    worker_pid,
)
from experiments.spec import SpecError, SweepSpec, load_spec
from experiments.store import finished_runs, init_store, write_chunk
from experiments.throughput import sweep_throughput

__all__ = [
    "SweepSummary",
    "analyze",
    "estimate_sweep",
    "load_spec",
    "parse_shard",
    "run_sweep",
    "sweep_throughput",
]
log = logging.getLogger(__name__)


@dataclass
class SweepSummary:
    """Counts of one invocation of :func:`run_sweep` (``lost``: chunks whose worker died)."""

    out_dir: str
    planned: int
    skipped: int
    ran: int
    ok: int
    failed: int
    lost: int
    wall_time_s: float

    def as_dict(self) -> dict[str, Any]:
        """Return the counts as a plain dictionary."""
        return asdict(self)


def parse_shard(shard: str | tuple[int, int] | None) -> tuple[int, int] | None:
    """``"3/50"`` -> (3, 50); shards are numbered from 1 like Slurm array tasks."""
    if shard is None or isinstance(shard, tuple):
        parsed = shard
    else:
        try:
            parsed = tuple(int(p) for p in str(shard).split("/"))
        except ValueError:
            parsed = ()
    if parsed is not None and (len(parsed) != 2 or not 1 <= parsed[0] <= parsed[1]):
        raise SpecError(f"--shard {shard!r}: expected i/N with 1 <= i <= N, e.g. 3/50")
    return parsed


def run_sweep(
    spec: SweepSpec | str | Path,
    out_dir: str | Path,
    workers: int | None = None,
    dask_address: str | None = None,
    shard: str | tuple[int, int] | None = None,
    progress: bool = True,
    executor: Executor | None = None,
    retry_failed: bool = False,
) -> SweepSummary:
    """Run every planned run of ``spec`` not yet in ``out_dir`` (``workers=0``: in this process)."""
    start = time.perf_counter()
    spec = spec if isinstance(spec, SweepSpec) else load_spec(spec)
    shard = parse_shard(shard)
    design, plan = init_store(out_dir, spec)
    planned = select_shard(plan.drop_duplicates("run_id"), shard)
    pending = pending_runs(planned, out_dir, retry_failed)
    warm = partial(warm_up, spec) if len(pending) else None
    with open_executor(workers, dask_address, executor, warm) as (pool, slots):
        tasks = chunk_tasks(
            spec, design, pending, spec.chunk_size or default_chunk_size(len(pending), slots)
        )
        with SweepProgress(len(pending), enabled=progress, label=spec.name) as bar:
            lost = drive(pool, tasks, out_dir, bar, max_in_flight=2 * slots)
    return SweepSummary(
        str(out_dir),
        len(planned),
        len(planned) - len(pending),
        bar.done,
        bar.done - bar.failed,
        bar.failed,
        lost,
        time.perf_counter() - start,
    )


def select_shard(runs: pd.DataFrame, shard: tuple[int, int] | None) -> pd.DataFrame:
    """Select shard ``i`` of ``n``: the runs whose plan position is ``i - 1`` modulo ``n``."""
    if shard is None:
        return runs
    i, n = shard
    return runs[np.arange(len(runs)) % n == i - 1]


def pending_runs(
    runs: pd.DataFrame, out_dir: str | Path, retry_failed: bool = False
) -> pd.DataFrame:
    """Planned runs without a finished record (``retry_failed``: failed ones count as pending)."""
    done = finished_runs(out_dir)
    if retry_failed:
        done = done[done["status"] == "ok"]
    return runs[~runs["run_id"].isin(set(done["run_id"]))]


def drive(
    pool: Executor,
    tasks: Iterator[ChunkTask],
    out_dir: str | Path,
    bar: SweepProgress,
    max_in_flight: int,
) -> int:
    """Keep up to ``max_in_flight`` chunks running; write each as it finishes. Returns runs lost."""
    in_flight: dict[Future, ChunkTask] = {}
    lost = 0
    for task in tasks:
        while len(in_flight) >= max_in_flight:
            lost += _harvest(in_flight, out_dir, bar)
        in_flight[pool.submit(run_chunk, task)] = task
    while in_flight:
        lost += _harvest(in_flight, out_dir, bar)
    return lost


def _harvest(in_flight: dict[Future, ChunkTask], out_dir: str | Path, bar: SweepProgress) -> int:
    done, _ = wait(list(in_flight), return_when=FIRST_COMPLETED)
    lost = 0
    for future in done:
        task = in_flight.pop(future)
        try:
            frames = future.result()
        except Exception as err:  # noqa: BLE001 - a dead worker loses its chunk, not the sweep
            log.warning(
                "chunk of %d runs lost (%s); rerun the sweep to retry them", len(task.runs), err
            )
            lost += len(task.runs)
            continue
        write_chunk(out_dir, frames)
        manifest = frames["manifest"]
        bar.advance(len(manifest), int((manifest["status"] != "ok").sum()))
    return lost


@contextmanager
def open_executor(
    workers: int | None,
    dask_address: str | None,
    executor: Executor | None,
    warm: Callable[[], object] | None = None,
) -> Iterator[tuple[Executor, int]]:
    """Open the executor to use; yield it with how many tasks it runs at once.

    ``warm`` runs in this process before a local pool forks, so workers inherit
    compiled kernels instead of loading them each.
    """
    if executor is not None:
        yield executor, max(1, workers or os.cpu_count() or 1)
    elif dask_address:
        from distributed import Client

        with Client(dask_address) as client:
            yield client.get_executor(), max(1, sum(client.nthreads().values()))
    elif workers == 0:
        yield InlineExecutor(), 1
    else:
        n, context = workers or os.cpu_count() or 1, _process_context()
        if warm is not None and context.get_start_method() == "fork":
            warm()
        with ProcessPoolExecutor(max_workers=n, mp_context=context) as pool:
            with warnings.catch_warnings():  # native pools only (see _process_context)
                warnings.filterwarnings(
                    "ignore", "This process .* is multi-threaded", DeprecationWarning
                )
                list(pool.map(worker_pid, range(n)))  # start every worker before any thread of ours
            yield pool, n


def warm_up(spec: SweepSpec) -> None:
    """Play one month of the scenario, loading compiled kernels; errors are left to the runs."""
    try:
        play_run(spec.base_document(), {}, spec.seed, 1)
    except Exception as err:  # noqa: BLE001 - a failing scenario is recorded run by run
        log.debug("warm-up failed: %s", err)


def _process_context() -> multiprocessing.context.BaseContext:
    """Fork (workers inherit the imported, warmed-up model) when no Python thread but ours runs.

    The only other threads are then native, idle library pools (OpenBLAS, Arrow,
    jemalloc), which register at-fork handlers; CPython still warns about them,
    hence the filter above. With Python threads alive (a notebook, a Dask
    client) workers come from a forkserver that has imported the runner once.
    """
    if "fork" in multiprocessing.get_all_start_methods() and threading.active_count() == 1:
        return multiprocessing.get_context("fork")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["experiments.runner"])
    return context


def analyze(out_dir: str | Path) -> dict[str, Any]:
    """Write summaries, sensitivity indices and figures of a results folder (see ``analysis``)."""
    from experiments.analysis import analyze as analyze_results

    return analyze_results(out_dir)


def main(argv: list[str] | None = None) -> int:
    """Minimal command line: ``python -m experiments.sweep SPEC --out DIR``."""
    parser = argparse.ArgumentParser(
        prog="python -m experiments.sweep", description=__doc__.splitlines()[0]
    )
    parser.add_argument("spec")
    parser.add_argument("--out", required=True)
    parser.add_argument("--workers", type=int, default=None)
    parser.add_argument("--dask", default=None)
    parser.add_argument("--shard", default=None)
    parser.add_argument("--no-progress", action="store_true")
    args = parser.parse_args(argv)
    summary = run_sweep(
        args.spec,
        args.out,
        workers=args.workers,
        dask_address=args.dask,
        shard=args.shard,
        progress=not args.no_progress,
    )
    print(summary.as_dict())
    return 0 if summary.lost == 0 else 1


if __name__ == "__main__":
    raise SystemExit(main())
