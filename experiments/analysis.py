"""Read a sweep's results folder: tidy tables, summaries, sensitivity indices, figures.

Everything here reads tables only (``load_results``); nothing touches a live
model. :func:`analyze` writes under ``out_dir/analysis``:

- ``experiments.parquet``: one row per run (design values, seed, status, metrics);
- ``summary.csv``/``.parquet``: per design point and metric, mean, s.d., n and a
  95% confidence interval over replications;
- ``sensitivity.csv``: Sobol or Morris indices (designs ``sobol``/``morris``);
- ``failures.csv``: every failed run with its error;
- ``figures/*.png`` with a ``.json`` sidecar each; ``report.json``.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from experiments.designs import salib_problem
from experiments.figures import parameter_figure, price_path_figure
from experiments.metrics import CHINA, KEY_METRICS, PRICE_COMMODITIES
from experiments.sensitivity import morris_indices, sobol_indices
from experiments.spec import SweepSpec
from experiments.store import (
    PLAN_TABLES,
    finished_runs,
    part_files,
    read_info,
    read_parts,
    read_plan,
)

RUN_COLUMNS = ("run_id", "design_index", "replication", "seed")


def load_results(out_dir: str | Path, table: str) -> pd.DataFrame:
    """Read a table of a results folder: ``runs``, ``design``, ``manifest``, ``metrics``, series.

    ``manifest`` lists every planned run with its status (``pending`` when not
    yet finished); series and ``metrics`` rows carry ``run_id``.
    """
    if table in PLAN_TABLES:
        return read_plan(out_dir, table)
    if table == "manifest":
        plan = read_plan(out_dir).drop_duplicates("run_id")
        done = finished_runs(out_dir).drop(
            columns=["design_index", "replication", "seed"], errors="ignore"
        )
        merged = plan.merge(done, on="run_id", how="left")
        merged["status"] = merged["status"].fillna("pending")
        return merged
    parts = read_parts(out_dir, table)
    if parts.empty:
        return parts
    planned = set(read_plan(out_dir)["run_id"])
    return parts[parts["run_id"].isin(planned)].reset_index(drop=True)


def query(out_dir: str | Path, sql: str) -> pd.DataFrame:
    """Run DuckDB SQL over a results folder; every table is a view of the same name."""
    import duckdb

    con = duckdb.connect()
    for table in (
        "metrics",
        "manifest",
        "prices",
        "shares",
        "flows",
        "countries",
        "events",
        "firms",
    ):
        files = [str(f) for f in part_files(out_dir, table)]
        if files:
            con.execute(
                f"CREATE VIEW {table} AS SELECT * FROM read_parquet({files!r}, union_by_name=true)"
            )
    for table in PLAN_TABLES:
        con.execute(
            f"CREATE VIEW {table} AS SELECT * FROM read_parquet('{Path(out_dir) / table}.parquet')"
        )
    return con.execute(sql).df()


def experiments_table(out_dir: str | Path) -> pd.DataFrame:
    """One row per planned (design point, replication): parameter values, status, metrics."""
    plan, design = read_plan(out_dir), read_plan(out_dir, "design")
    status = load_results(out_dir, "manifest")[["run_id", "status", "error", "wall_time_s"]]
    table = plan.merge(design, on="design_index").merge(status, on="run_id", how="left")
    metrics = load_results(out_dir, "metrics")
    if not metrics.empty:
        table = table.merge(metrics, on="run_id", how="left")
    return table.sort_values(["design_index", "replication"]).reset_index(drop=True)


def metric_columns(table: pd.DataFrame, spec: SweepSpec) -> list[str]:
    """Numeric outcome columns of an experiments table."""
    skip = set(RUN_COLUMNS) | {"wall_time_s"} | {p.path for p in spec.parameters}
    return [
        c
        for c in table.columns
        if c not in skip and not c.startswith("x_") and pd.api.types.is_numeric_dtype(table[c])
    ]


def summarize(table: pd.DataFrame, spec: SweepSpec) -> pd.DataFrame:
    """Mean, s.d., n and 95% CI over replications, per design point and metric (successful runs)."""
    from scipy.stats import t

    ok = table[table["status"] == "ok"]
    keys = ["design_index", *[p.path for p in spec.parameters]]
    long = ok.melt(id_vars=keys, value_vars=metric_columns(table, spec), var_name="metric")
    stats = (
        long.groupby([*keys, "metric"], dropna=False)["value"]
        .agg(["mean", "std", "count"])
        .reset_index()
    )
    n = stats["count"].to_numpy()
    half = np.where(n > 1, t.ppf(0.975, np.maximum(n - 1, 1)) * stats["std"] / np.sqrt(n), np.nan)
    stats["ci95_low"], stats["ci95_high"] = stats["mean"] - half, stats["mean"] + half
    return stats.rename(columns={"count": "n"})


def sensitivity(table: pd.DataFrame, spec: SweepSpec) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Sobol or Morris indices of every metric; the dict says which blocks were dropped and why."""
    method = spec.design.method
    if method not in ("sobol", "morris"):
        return pd.DataFrame(), {}
    problem, rows, dropped = salib_problem(spec), [], {}
    x = (
        table.groupby("design_index")[[f"x_{k}" for k in range(len(spec.parameters))]]
        .first()
        .to_numpy()
    )
    for metric in metric_columns(table, spec):
        y = _point_means(table, metric)
        res = (
            sobol_indices(problem, y, spec.design.second_order, seed=spec.seed)
            if method == "sobol"
            else morris_indices(problem, x, y, spec.design.levels, seed=spec.seed)
        )
        dropped[metric] = {
            "blocks": res["blocks"],
            "blocks_used": res["blocks_used"],
            "dropped_blocks": res["dropped_blocks"],
            "constant": res["constant"],
        }
        rows += _index_rows(metric, res)
    return pd.DataFrame(rows), dropped


def _point_means(table: pd.DataFrame, metric: str) -> np.ndarray:
    """Mean over successful replications per design point; NaN where none succeeded."""
    ok = table[metric].where(table["status"] == "ok")
    return ok.groupby(table["design_index"]).mean().to_numpy(dtype=float)


def _index_rows(metric: str, res: dict[str, Any]) -> list[dict[str, Any]]:
    keys = [
        k
        for k in ("S1", "S1_conf", "ST", "ST_conf", "mu", "mu_star", "sigma", "mu_star_conf")
        if k in res
    ]
    return [
        {"metric": metric, "parameter": name, **{k: float(res[k][i]) for k in keys}}
        for i, name in enumerate(res["names"])
    ]


def analyze(out_dir: str | Path) -> dict[str, Any]:
    """Write summaries, sensitivity indices, failures and figures under ``out_dir/analysis``."""
    out_dir = Path(out_dir)
    if not (out_dir / "sweep.json").exists():
        raise ValueError(
            f"{out_dir}: not a sweep results folder (no sweep.json); run `reegame sweep` first"
        )
    info = read_info(out_dir)
    spec = SweepSpec.model_validate(info["spec"])
    target = out_dir / "analysis"
    target.mkdir(parents=True, exist_ok=True)
    table = experiments_table(out_dir)
    table.to_parquet(target / "experiments.parquet", index=False)
    summary = summarize(table, spec)
    summary.to_csv(target / "summary.csv", index=False)
    summary.to_parquet(target / "summary.parquet", index=False)
    failures = table[table["status"] == "failed"][
        ["run_id", "design_index", "replication", "seed", "error"]
    ]
    failures.to_csv(target / "failures.csv", index=False)
    indices, dropped = sensitivity(table, spec)
    if not indices.empty:
        indices.to_csv(target / f"sensitivity_{spec.design.method}.csv", index=False)
    report = {
        "out_dir": str(out_dir),
        "runs": len(table),
        "ok": int((table["status"] == "ok").sum()),
        "failed": len(failures),
        "pending": int((table["status"] == "pending").sum()),
        "failed_run_ids": failures["run_id"].tolist(),
        "sensitivity_method": spec.design.method,
        "sensitivity_dropped": dropped,
        "figures": [str(p) for p in _figures(table, spec, info, target)],
    }
    report["figures"] += [str(p) for p in _path_figures(out_dir, table, spec, info, target)]
    (target / "report.json").write_text(json.dumps(report, indent=2))
    return report


def _figures(
    table: pd.DataFrame, spec: SweepSpec, info: dict[str, Any], target: Path
) -> list[Path]:
    ok = table[table["status"] == "ok"]
    outcomes = [m for m in KEY_METRICS if m in ok.columns and ok[m].notna().any()]
    if ok.empty or not outcomes:
        return []
    provenance = {
        "sweep": spec.name,
        "code_version": info.get("code_version"),
        "out_dir": str(target.parent),
    }
    return [
        parameter_figure(
            ok, p.path, outcomes, target / "figures" / f"{_slug(p.path)}.png", provenance
        )
        for p in spec.parameters
    ]


def price_paths(out_dir: str | Path, table: pd.DataFrame) -> pd.DataFrame:
    """Monthly oxide prices ex-China and in China per design point: mean and 95% CI over runs."""
    from scipy.stats import t

    prices = load_results(out_dir, "prices")
    if prices.empty:
        return pd.DataFrame()
    ok = table.loc[table["status"] == "ok", ["run_id", "design_index"]].drop_duplicates("run_id")
    prices = prices[prices["commodity"].isin(PRICE_COMMODITIES)].merge(ok, on="run_id")
    prices["where"] = np.where(prices["region"] == CHINA, "chn", "ex_chn")
    keys = ["design_index", "commodity", "where", "month"]
    per_run = prices.groupby([*keys, "run_id"])["price_usd_per_kg"].mean().reset_index()
    stats = per_run.groupby(keys)["price_usd_per_kg"].agg(["mean", "std", "count"]).reset_index()
    n = stats["count"].to_numpy()
    half = np.where(n > 1, t.ppf(0.975, np.maximum(n - 1, 1)) * stats["std"] / np.sqrt(n), 0.0)
    stats["ci95_low"], stats["ci95_high"] = stats["mean"] - half, stats["mean"] + half
    return stats.rename(columns={"count": "n"})


def _path_figures(
    out_dir: Path, table: pd.DataFrame, spec: SweepSpec, info: dict[str, Any], target: Path
) -> list[Path]:
    """Price paths over replications; drawn for single-point designs (replication studies)."""
    paths = price_paths(out_dir, table)
    if paths.empty:
        return []
    paths.to_csv(target / "price_paths.csv", index=False)
    if paths["design_index"].nunique() != 1:
        return []
    ok = table.loc[table["status"] == "ok", "run_id"]
    provenance = {
        "sweep": spec.name,
        "code_version": info.get("code_version"),
        "run_ids": sorted(ok.astype(str).unique().tolist()),
    }
    return [price_path_figure(paths, target / "figures" / "price_paths.png", provenance)]


def _slug(path: str) -> str:
    return path.replace(".", "__")
