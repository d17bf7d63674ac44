"""The sweep runner and store: same results on every backend, resumable, failures recorded."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
import pytest
import tomli_w
from worlds import small_world

from experiments import runner, sweep
from experiments.analysis import load_results, query
from experiments.spec import load_spec
from experiments.store import finished_runs
from experiments.sweep import estimate_sweep, parse_shard, run_sweep, sweep_throughput

ROOT = Path(__file__).resolve().parents[1]
PYTHON = sys.executable


def write_spec(
    folder: Path,
    months: int = 6,
    replications: int = 2,
    samples: int = 3,
    method: str = "latin_hypercube",
    extra: str = "",
    outputs: str = '["metrics", "series"]',
) -> Path:
    """A small-world scenario file and a spec varying two of its parameters."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "small.toml").write_bytes(tomli_w.dumps(small_world(months=months)).encode())
    spec = folder / "spec.toml"
    spec.write_text(f"""
name = "small-{method}"
scenario = "small.toml"
months = {months}
replications = {replications}
seed = 11
outputs = {outputs}
{extra}
[design]
method = "{method}"
samples = {samples}

[[parameters]]
path = "countries.AAA.stockpile_days"
low = 0.0
high = 90.0

[[parameters]]
path = "market.demand_noise_share"
low = 0.0
high = 0.1
""")
    return spec


def tables_of(
    out: Path, names=("metrics", "prices", "countries", "manifest")
) -> dict[str, pd.DataFrame]:
    """Tables of a results folder, without columns that legitimately differ between backends."""
    out_tables = {}
    for name in names:
        df = load_results(out, name)
        df = df.drop(columns=["wall_time_s", "host", "pid", "finished_at"], errors="ignore")
        out_tables[name] = df.sort_values(
            [c for c in ("run_id", "month", "commodity", "region", "country") if c in df.columns],
            kind="stable",
        ).reset_index(drop=True)
    return out_tables


@pytest.fixture(scope="module")
def spec_path(tmp_path_factory) -> Path:
    return write_spec(tmp_path_factory.mktemp("spec"))


@pytest.fixture(scope="module")
def serial_out(spec_path, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("serial") / "out"
    summary = run_sweep(spec_path, out, workers=0, progress=False)
    assert (summary.planned, summary.ok, summary.failed) == (6, 6, 0)
    return out


def assert_same_results(a: Path, b: Path) -> None:
    left, right = tables_of(a), tables_of(b)
    for name in left:
        pd.testing.assert_frame_equal(left[name], right[name], check_dtype=False, obj=name)


@pytest.mark.parametrize("workers,start", [(1, "fork"), (2, "fork"), (1, "forkserver")])
def test_process_pool_matches_serial(serial_out, spec_path, tmp_path, monkeypatch, workers, start):
    if start == "forkserver":  # what a sweep uses when other threads are alive (notebook, Dask)
        monkeypatch.setattr(sweep.threading, "active_count", lambda: 2)
    assert sweep._process_context().get_start_method() == start
    summary = run_sweep(spec_path, tmp_path / "out", workers=workers, progress=False)
    assert summary.ok == 6
    assert_same_results(serial_out, tmp_path / "out")


def test_dask_local_cluster_matches_serial(serial_out, spec_path, tmp_path):
    distributed = pytest.importorskip("distributed")
    with distributed.LocalCluster(
        n_workers=2, threads_per_worker=1, processes=True, host="127.0.0.1", dashboard_address=None
    ) as cluster:
        summary = run_sweep(
            spec_path, tmp_path / "out", dask_address=cluster.scheduler_address, progress=False
        )
    assert summary.ok == 6
    assert_same_results(serial_out, tmp_path / "out")


def test_rerun_skips_completed_runs(serial_out, spec_path):
    summary = run_sweep(spec_path, serial_out, workers=0, progress=False)
    assert (summary.planned, summary.skipped, summary.ran) == (6, 6, 0)
    assert load_results(serial_out, "metrics")["run_id"].is_unique


def test_series_tables_carry_run_ids_and_duckdb_reads_them(serial_out):
    plan = load_results(serial_out, "runs")
    prices = load_results(serial_out, "prices")
    assert set(prices["run_id"]) == set(plan["run_id"])
    counts = query(serial_out, "SELECT run_id, count(*) AS n FROM prices GROUP BY run_id")
    assert counts["n"].nunique() == 1 and len(counts) == 6


def test_shards_split_the_plan_and_complete_it(spec_path, serial_out, tmp_path):
    out = tmp_path / "out"
    first = run_sweep(spec_path, out, workers=0, shard="1/2", progress=False)
    assert first.planned == 3 and len(finished_runs(out)) == 3
    second = run_sweep(spec_path, out, workers=0, shard=(2, 2), progress=False)
    assert second.planned == 3 and second.skipped == 0
    assert_same_results(serial_out, out)
    with pytest.raises(ValueError, match="shard"):
        parse_shard("3/2")


def test_failing_run_is_recorded_and_the_sweep_goes_on(spec_path, tmp_path, monkeypatch):
    plan_seeds = []
    real = runner.simulate

    def flaky(scenario, seed, months, record_firms):
        plan_seeds.append(seed)
        if len(plan_seeds) == 2:
            raise FloatingPointError("price diverged")
        return real(scenario, seed=seed, months=months, record_firms=record_firms)

    monkeypatch.setattr(runner, "simulate", flaky)
    out = tmp_path / "out"
    summary = run_sweep(spec_path, out, workers=0, progress=False)
    assert (summary.ran, summary.ok, summary.failed) == (6, 5, 1)
    manifest = load_results(out, "manifest")
    failed = manifest[manifest["status"] == "failed"]
    assert len(failed) == 1 and failed["error"].iloc[0] == "FloatingPointError: price diverged"
    assert failed["seed"].iloc[0] == plan_seeds[1]
    assert failed["run_id"].iloc[0] not in set(load_results(out, "metrics")["run_id"])
    monkeypatch.setattr(runner, "simulate", real)
    assert run_sweep(spec_path, out, workers=0, progress=False).ran == 0
    retried = run_sweep(spec_path, out, workers=0, progress=False, retry_failed=True)
    assert (retried.ran, retried.ok) == (1, 1)
    assert (load_results(out, "manifest")["status"] == "ok").all()


def test_killed_sweep_resumes_without_duplicates(tmp_path):
    spec = write_spec(
        tmp_path / "spec",
        months=8,
        replications=3,
        samples=4,
        extra="chunk_size = 1",
        outputs='["metrics"]',
    )
    out = tmp_path / "out"
    cmd = [
        PYTHON,
        "-m",
        "experiments.sweep",
        str(spec),
        "--out",
        str(out),
        "--workers",
        "1",
        "--no-progress",
    ]
    proc = subprocess.Popen(
        cmd, cwd=ROOT, start_new_session=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        deadline = time.monotonic() + 120
        while not list((out / "parts").glob("chunk-*")) and time.monotonic() < deadline:
            assert proc.poll() is None, "sweep ended before writing a part"
            time.sleep(0.02)
    finally:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.wait()
    done_before = len(finished_runs(out))
    assert done_before >= 1, "the kill came after the first part"
    assert done_before < 12, "the kill came before the end"
    summary = run_sweep(spec, out, workers=0, progress=False)
    assert summary.skipped == done_before and summary.ran == 12 - done_before
    manifest = load_results(out, "manifest")
    assert (manifest["status"] == "ok").all() and manifest["run_id"].is_unique
    metrics = load_results(out, "metrics")
    assert len(metrics) == 12 and metrics["run_id"].is_unique


def test_spec_change_in_same_folder_is_refused(serial_out, tmp_path):
    other = write_spec(tmp_path / "other", replications=3)
    with pytest.raises(ValueError, match="another spec"):
        run_sweep(other, serial_out, workers=0, progress=False)


def test_estimate_extrapolates_time_and_disk(spec_path):
    est = estimate_sweep(load_spec(spec_path), pilot_runs=2, workers=2)
    assert est["runs"] == 6 and est["pilot_runs"] == 2 and est["pilot_failed"] == 0
    assert est["seconds_per_run"] > 0 and est["bytes_per_run"] > 0
    assert est["wall_seconds"] == pytest.approx(est["cpu_seconds"] / 2)
    assert est["disk_bytes"] == pytest.approx(est["bytes_per_run"] * 6)


def test_new_code_version_in_same_folder_is_refused(serial_out, spec_path, monkeypatch):
    from experiments import store

    monkeypatch.setattr(store, "code_version", lambda: "9.9.9+gdeadbeef")
    with pytest.raises(ValueError, match="code version .* this is 9.9.9"):
        run_sweep(spec_path, serial_out, workers=0, progress=False)


def test_sweep_throughput_reports_both_rates_and_the_scaling_ratio():
    figures = sweep_throughput(workers=2, runs=2, months=1)
    assert figures["sweep_serial_runs_per_s"] > 0 and figures["sweep_parallel_runs_per_s"] > 0
    assert figures["sweep_scaling_efficiency"] == pytest.approx(
        figures["sweep_speedup"] / 2, abs=2e-3
    )


def test_a_run_written_twice_is_read_once(serial_out, tmp_path):
    out = tmp_path / "copy"
    shutil.copytree(serial_out, out)
    chunk = sorted((out / "parts").glob("chunk-*"))[0]
    shutil.copytree(chunk, out / "parts" / "chunk-zzzz-duplicate")  # e.g. two drivers racing
    before, after = tables_of(serial_out), tables_of(out)
    for name in before:
        pd.testing.assert_frame_equal(before[name], after[name], check_dtype=False, obj=name)


def test_chunk_with_mixed_type_event_values_is_still_written(tmp_path):
    from experiments.store import write_chunk

    events = pd.DataFrame({"run_id": ["r1"] * 3, "new_value": [1.0, ["JPN"], "x"]})
    folder = write_chunk(tmp_path, {"events": events})
    assert pd.read_parquet(folder / "events.parquet")["new_value"].tolist() == [
        "1.0",
        "['JPN']",
        "x",
    ]


def test_edited_scenario_file_is_not_mixed_into_old_results(tmp_path):
    spec = write_spec(tmp_path / "spec", months=2, replications=1, samples=1)
    run_sweep(spec, tmp_path / "out", workers=0, progress=False)
    edited = small_world(months=2, demand_scale=2.0)
    (tmp_path / "spec" / "small.toml").write_bytes(tomli_w.dumps(edited).encode())
    with pytest.raises(ValueError, match="another spec"):
        run_sweep(spec, tmp_path / "out", workers=0, progress=False)
