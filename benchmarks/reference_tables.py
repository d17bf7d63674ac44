"""Safety net for changes meant to keep the model's behaviour (not a test): save, then compare.

    .venv/bin/python benchmarks/reference_tables.py save DIR      # before the change
    .venv/bin/python benchmarks/reference_tables.py compare DIR   # after each step

Four reference runs (the three shipped scenarios, the baseline at two seeds
and horizons) are written as Parquet under ``DIR/<scenario>-<seed>/``. A
speed-up or a restructure should leave prices, shares, flows, events and
firms identical, and money columns equal up to the rounding of sums taken
in another order (``MONEY_TOL``). ``compare`` prints each column that
differs with its largest relative difference and the first month it
appears, and exits 1 if anything differs beyond the tolerance. When a
difference is intended (a fix), find its first month and cause, then save
again.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from model.outputs import TABLES  # noqa: E402
from model.run import simulate  # noqa: E402

RUNS = (("baseline", 7, 240), ("quota-2010", 1, None), ("licensing-2025", 3, None), ("baseline", 11, 60))
#: Relative difference allowed in money columns (USD): sums over orders taken in another order.
MONEY_TOL = 1e-5


def save(root: Path) -> None:
    """Run the reference runs and write their tables."""
    for scenario, seed, months in RUNS:
        start = time.perf_counter()
        simulate(scenario, seed=seed, months=months).write(root / f"{scenario}-{seed}")
        print(f"{scenario} seed {seed}: saved ({time.perf_counter() - start:.2f} s)")


def compare(root: Path) -> bool:
    """Run the reference runs again and compare with the saved tables; True if all agree."""
    agree = True
    for scenario, seed, months in RUNS:
        run = simulate(scenario, seed=seed, months=months).as_dict()
        for name in TABLES:
            saved = pd.read_parquet(root / f"{scenario}-{seed}" / f"{name}.parquet")
            for line, ok in _differences(f"{scenario}-{seed} {name}", saved, run[name]):
                print(line)
                agree &= ok
    print("tables agree" if agree else "tables DIFFER")
    return agree


def _differences(label: str, saved: pd.DataFrame, now: pd.DataFrame):
    """(message, within tolerance) for every column that differs."""
    if saved.shape != now.shape or list(saved.columns) != list(now.columns):
        yield f"{label}: shape {saved.shape} -> {now.shape}", False
        return
    months = saved["month"].to_numpy() if "month" in saved else np.zeros(len(saved), int)
    for col in saved.columns:
        a, b = saved[col], now[col]
        if pd.api.types.is_numeric_dtype(a) and pd.api.types.is_numeric_dtype(b):
            x, y = a.to_numpy(float), b.to_numpy(float)
            rel = np.abs(x - y) / np.maximum(1.0, np.abs(x))
            rel[np.isnan(x) & np.isnan(y)] = 0.0
            rel[np.isnan(x) != np.isnan(y)] = np.inf
        else:
            rel = np.where(a.astype(str).to_numpy() == b.astype(str).to_numpy(), 0.0, np.inf)
        if rel.max(initial=0.0) > 0.0:
            worst, first = rel.max(), months[np.argmax(rel > 0.0)]
            ok = col.endswith("_usd") and worst <= MONEY_TOL
            yield f"{label}.{col}: max relative difference {worst:.3g}, first in month {first}", ok


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("save", "compare"):
        print(__doc__)
        return 2
    root = Path(argv[1])
    if argv[0] == "save":
        save(root)
        return 0
    return 0 if compare(root) else 1


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
