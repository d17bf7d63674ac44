"""PNG figures of key outcomes against each parameter, each with a JSON sidecar.

Figures read the tidy experiments table only (one row per run: parameter
values and metrics). The sidecar names the runs drawn and the code version,
so a figure can always be traced to its data.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402

MAX_LEVELS_FOR_MEANS = 20


def parameter_figure(
    runs: pd.DataFrame,
    parameter: str,
    outcomes: Sequence[str],
    path: Path,
    provenance: dict[str, Any],
) -> Path:
    """Scatter of each outcome against ``parameter`` (means +/- 95% CI when levels are few)."""
    fig, axes = plt.subplots(1, len(outcomes), figsize=(4.2 * len(outcomes), 3.6), squeeze=False)
    x, labels = _axis_values(runs[parameter])
    for ax, outcome in zip(axes[0], outcomes, strict=True):
        _panel(ax, x, runs[outcome].to_numpy(dtype=float), labels)
        ax.set_title(outcome, fontsize=9)
        ax.set_xlabel(parameter, fontsize=8)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    sidecar = {
        **provenance,
        "parameter": parameter,
        "outcomes": list(outcomes),
        "run_ids": sorted(runs["run_id"].astype(str).tolist()),
    }
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2))
    return path


def price_path_figure(paths: pd.DataFrame, path: Path, provenance: dict[str, Any]) -> Path:
    """Monthly price ex-China and in China, mean with a 95% CI band over replications."""
    commodities = list(paths["commodity"].unique())
    fig, axes = plt.subplots(
        1, len(commodities), figsize=(5.0 * len(commodities), 3.6), squeeze=False
    )
    for ax, commodity in zip(axes[0], commodities, strict=True):
        for where, rows in paths[paths["commodity"] == commodity].groupby("where"):
            ax.plot(rows["month"], rows["mean"], label=f"{where} (n={int(rows['n'].max())})")
            ax.fill_between(rows["month"], rows["ci95_low"], rows["ci95_high"], alpha=0.25)
        ax.set_title(f"{commodity} price, USD/kg", fontsize=9)
        ax.set_xlabel("month", fontsize=8)
        ax.tick_params(labelsize=7)
        ax.legend(fontsize=7)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=110)
    plt.close(fig)
    sidecar = {**provenance, "outcome": "price_usd_per_kg by month, mean and 95% CI over runs"}
    path.with_suffix(".json").write_text(json.dumps(sidecar, indent=2))
    return path


def _axis_values(column: pd.Series) -> tuple[np.ndarray, list[str] | None]:
    """Numeric x positions; non-numeric values become category positions with labels."""
    if pd.api.types.is_numeric_dtype(column):
        return column.to_numpy(dtype=float), None
    labels = sorted(column.astype(str).unique())
    return column.astype(str).map({v: i for i, v in enumerate(labels)}).to_numpy(
        dtype=float
    ), labels


def _panel(ax: Any, x: np.ndarray, y: np.ndarray, labels: list[str] | None) -> None:
    ax.scatter(x, y, s=10, alpha=0.5, color="tab:blue", label="runs")
    levels = np.unique(x[np.isfinite(x)])
    if 1 < len(levels) <= MAX_LEVELS_FOR_MEANS:
        means, half = _level_means(x, y, levels)
        ax.errorbar(
            levels, means, yerr=half, color="tab:red", marker="o", capsize=3, label="mean, 95% CI"
        )
    if labels is not None:
        ax.set_xticks(range(len(labels)), labels, rotation=30, fontsize=7)
    ax.tick_params(labelsize=7)
    ax.legend(fontsize=7)


def _level_means(x: np.ndarray, y: np.ndarray, levels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    from scipy.stats import t

    means, half = [], []
    for level in levels:
        values = y[(x == level) & np.isfinite(y)]
        n = len(values)
        means.append(values.mean() if n else np.nan)
        half.append(t.ppf(0.975, n - 1) * values.std(ddof=1) / np.sqrt(n) if n > 1 else 0.0)
    return np.array(means), np.array(half)
