"""Compile and cache the model's kernels once, so the first real run starts fast.

    python -m model.precompile

Plays two months of the baseline, which calls every compiled kernel with
the types a run uses; numba writes them to the source-keyed cache (see
``model/__init__.py``). Does nothing when that cache already holds them.
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

import numba


def kernels_cached() -> bool:
    """Whether the kernel cache of the current sources has been written."""
    return any(Path(numba.config.CACHE_DIR).rglob("*.nbi"))


def precompile() -> float:
    """Compile (or load) every kernel; returns the seconds it took."""
    from model.run import build_model

    start = time.perf_counter()
    build_model("baseline", seed=0, record_firms=False).run_months(2)
    return time.perf_counter() - start


def main() -> None:
    """Compile the kernels unless the current sources' cache already holds them."""
    if kernels_cached():
        return
    print(
        "reegame: compiling the model's kernels (about two minutes, once per code version) ...",
        file=sys.stderr,
    )
    print(f"reegame: kernels compiled and cached in {precompile():.0f} s", file=sys.stderr)


if __name__ == "__main__":
    main()
