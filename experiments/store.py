"""The results folder of a sweep: plan, seeds, run ids and Parquet parts.

Layout of ``out_dir``::

    sweep.json                 spec, its fingerprint, code and package versions
    design.parquet             design points: coordinates x_k and scenario values
    runs.parquet               the plan: run_id, design_index, replication, seed
    parts/chunk-*/TABLE.parquet  one folder per finished chunk of runs

A chunk folder is written under a temporary name and renamed into place
(``os.replace``), so it is either complete or absent: killing a sweep loses
only the chunks in flight. ``manifest.parquet`` in each chunk records every
run's status, error and wall time; a run id found there is never run again.
"""

from __future__ import annotations

import copy
import hashlib
import json
import os
import platform
import shutil
import time
import uuid
from importlib import metadata
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd
import pyarrow as pa

from experiments.designs import design_table, overrides_at
from experiments.spec import SpecError, SweepSpec
from model.outputs import code_version
from model.scenario import set_path

PACKAGES = (
    "mesa",
    "numpy",
    "pandas",
    "pyarrow",
    "pydantic",
    "scipy",
    "numba",
    "SALib",
    "dask",
    "distributed",
)
PLAN_TABLES = ("runs", "design")
STALE_TMP_S = 6 * 3600


def run_seed(master: int, design_index: int, replication: int, common: bool = False) -> int:
    """Derive the seed of one run from the master seed alone (never from the backend)."""
    key = (replication,) if common else (design_index, replication)
    return int(np.random.SeedSequence(master, spawn_key=key).generate_state(1, np.uint32)[0])


def run_id(document: dict[str, Any], seed: int, months: int, version: str) -> str:
    """Hash of (scenario document after overrides, seed, months, code version)."""
    text = json.dumps(
        {"scenario": document, "seed": seed, "months": months, "code": version},
        sort_keys=True,
        default=str,
    )
    return hashlib.sha256(text.encode()).hexdigest()[:20]


def package_versions() -> dict[str, str | None]:
    """Installed versions of the packages a run depends on."""
    out: dict[str, str | None] = {}
    for name in PACKAGES:
        try:
            out[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            out[name] = None
    return out


def plan_runs(spec: SweepSpec, design: pd.DataFrame, version: str | None = None) -> pd.DataFrame:
    """Every (design point, replication) with its seed and run id, in design order."""
    version = version or code_version()
    base = spec.base_document()
    rows = []
    for point in design.to_dict("records"):
        doc = copy.deepcopy(base)
        for path, value in overrides_at(spec, point).items():
            set_path(doc, path, value)
        i = int(point["design_index"])
        for r in range(spec.replications):
            seed = run_seed(spec.seed, i, r, spec.common_random_numbers)
            rows.append((run_id(doc, seed, spec.months, version), i, r, seed))
    return pd.DataFrame(rows, columns=["run_id", "design_index", "replication", "seed"])


def init_store(out_dir: str | Path, spec: SweepSpec) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Create (or reopen) a results folder for ``spec``; return (design, plan)."""
    out = Path(out_dir)
    (out / "parts").mkdir(parents=True, exist_ok=True)
    info = out / "sweep.json"
    version = code_version()
    if info.exists():
        _check_same_sweep(json.loads(info.read_text()), spec, version, out)
    design = design_table(spec)
    plan = plan_runs(spec, design, version)
    _write_parquet(design, out / "design.parquet")
    _write_parquet(plan, out / "runs.parquet")
    meta = {
        "name": spec.name,
        "fingerprint": spec.fingerprint(),
        "spec": spec.model_dump(mode="json"),
        "code_version": version,
        "python": platform.python_version(),
        "packages": package_versions(),
        "runs": int(plan["run_id"].nunique()),
        "design_points": len(design),
    }
    _write_text(json.dumps(meta, indent=2), info)
    _remove_stale_tmp(out / "parts")
    return design, plan


def _check_same_sweep(old: dict[str, Any], spec: SweepSpec, version: str, out: Path) -> None:
    """Refuse to mix results of another spec or another code version in one folder."""
    if old.get("fingerprint") != spec.fingerprint():
        raise SpecError(f"{out} holds results of another spec ({old.get('name')}); use a new --out")
    if old.get("code_version") != version:
        raise SpecError(
            f"{out} holds results of code version {old.get('code_version')}, this is {version}: "
            "run ids would differ, so nothing could be resumed; use a new --out"
        )


def finished_runs(out_dir: str | Path) -> pd.DataFrame:
    """Status records of every finished run (one row per run id; ``ok`` wins over ``failed``)."""
    manifest = read_parts(out_dir, "manifest", one_chunk_per_run=False)
    if manifest.empty:
        return pd.DataFrame(columns=["run_id", "status"])
    manifest["_ok"] = manifest["status"] == "ok"
    manifest = manifest.sort_values("_ok", kind="stable", ascending=False)
    return manifest.drop_duplicates("run_id").drop(columns="_ok").reset_index(drop=True)


def write_chunk(out_dir: str | Path, frames: dict[str, pd.DataFrame]) -> Path:
    """Write one chunk's tables atomically: a temporary folder renamed into ``parts/``."""
    parts = Path(out_dir) / "parts"
    name = f"chunk-{time.strftime('%Y%m%dT%H%M%S')}-{uuid.uuid4().hex[:12]}"
    tmp = parts / f".tmp-{name}"
    tmp.mkdir(parents=True)
    for table, df in frames.items():
        _write_table(_to_plain(df), tmp / f"{table}.parquet")
    os.replace(tmp, parts / name)
    return parts / name


def read_parts(out_dir: str | Path, table: str, one_chunk_per_run: bool = True) -> pd.DataFrame:
    """Concatenate ``table`` from every finished chunk, rows of a run kept in order.

    Each run's rows come from one chunk only (the first written), so even two
    sweeps racing on one folder cannot make a run appear twice.
    """
    files = part_files(out_dir, table)
    frames = [
        df.assign(_chunk=k) for k, df in enumerate(pd.read_parquet(f) for f in files) if len(df)
    ]
    if not frames:
        return pd.read_parquet(files[0]) if files else pd.DataFrame()
    df = pd.concat(frames, ignore_index=True)
    if one_chunk_per_run:
        df = df[df["_chunk"] == df.groupby("run_id")["_chunk"].transform("min")]
    df = df.drop(columns="_chunk")
    return df.sort_values("run_id", kind="stable").reset_index(drop=True)


def part_files(out_dir: str | Path, table: str) -> list[Path]:
    """Parquet files of ``table`` in finished chunks, in a stable order."""
    return sorted((Path(out_dir) / "parts").glob(f"chunk-*/{table}.parquet"))


def read_plan(out_dir: str | Path, table: str = "runs") -> pd.DataFrame:
    """Read the plan (``runs``) or the design points (``design``) of a results folder."""
    return pd.read_parquet(Path(out_dir) / f"{table}.parquet")


def read_info(out_dir: str | Path) -> dict[str, Any]:
    """Read the ``sweep.json`` of a results folder."""
    return json.loads((Path(out_dir) / "sweep.json").read_text())


def _to_plain(df: pd.DataFrame) -> pd.DataFrame:
    """Categoricals as strings, so parts written by different runs concatenate cleanly."""
    cats = [c for c in df.columns if isinstance(df[c].dtype, pd.CategoricalDtype)]
    return df.astype({c: str for c in cats}) if cats else df


def _write_table(df: pd.DataFrame, path: Path) -> None:
    """Write a part; object columns mixing types (event values) are stored as text."""
    try:
        df.to_parquet(path, index=False)
    except (pa.ArrowInvalid, pa.ArrowTypeError, pa.ArrowNotImplementedError):
        mixed = [c for c in df.columns if df[c].dtype == object]
        df.astype({c: str for c in mixed}).to_parquet(path, index=False)


def _write_parquet(df: pd.DataFrame, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    df.to_parquet(tmp, index=False)
    os.replace(tmp, path)


def _write_text(text: str, path: Path) -> None:
    tmp = path.with_name(f".{path.name}.{uuid.uuid4().hex[:8]}.tmp")
    tmp.write_text(text)
    os.replace(tmp, path)


def _remove_stale_tmp(parts: Path) -> None:
    """Drop temporary chunk folders left by a killed sweep (old enough not to be in flight)."""
    now = time.time()
    for tmp in parts.glob(".tmp-*"):
        if now - tmp.stat().st_mtime > STALE_TMP_S:
            shutil.rmtree(tmp, ignore_errors=True)
