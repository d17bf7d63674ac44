"""Paired A/B timing of two checkouts on a noisy machine (not a test).

    .venv/bin/python benchmarks/paired.py OLD_CHECKOUT NEW_CHECKOUT [--world baseline|100k] [--runs 60]

Each checkout runs in its own warm worker process (kernels loaded, one run
played first). The driver then asks them in turn for the same work (a
240-month baseline run of seed ``i % 6``, build included, or one month of
the 100,000-firm world), alternating which goes first, so that each pair of
timings sees the same machine. It prints each side's median and best and the
median of the per-pair ratios NEW/OLD with its quartiles. On the shared
2-core machines the speed of the same code moved by 30-50% within minutes;
the per-pair ratio stays put where whole-run figures do not. Each checkout
keeps its own kernel cache (compiled on its first use, about two minutes).
"""

from __future__ import annotations

import argparse
import statistics
import subprocess
import sys
import time
from pathlib import Path


def worker(checkout: str, world: str) -> None:
    """Serve timings over stdin/stdout: a seed in, seconds out."""
    sys.path[:0] = [checkout, f"{checkout}/tests", f"{checkout}/benchmarks"]
    from model.precompile import precompile
    from model.run import build_model

    precompile()
    if world == "100k":
        from bench import big_world

        from model.scenario import validate

        big = build_model(validate(big_world(100_000)), seed=0, record_firms=False)
        big.run_months(2)
    else:
        build_model("baseline", seed=99, record_firms=False).run_months(240)
    print("ready", flush=True)
    for line in sys.stdin:
        start = time.perf_counter()
        if world == "100k":
            big.step()
        else:
            build_model("baseline", seed=int(line), record_firms=False).run_months(240)
        print(f"{time.perf_counter() - start:.6f}", flush=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("old")
    parser.add_argument("new")
    parser.add_argument("--world", choices=("baseline", "100k"), default="baseline")
    parser.add_argument("--runs", type=int, default=60)
    parser.add_argument("--serve", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        return worker(args.old, args.world)
    here = Path(__file__).resolve()
    workers = {
        side: subprocess.Popen(
            [sys.executable, str(here), str(Path(path).resolve()), "-", "--world", args.world, "--serve"],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, text=True, cwd="/",
        )  # fmt: skip
        for side, path in (("old", args.old), ("new", args.new))
    }
    for side, proc in workers.items():
        if proc.stdout.readline().strip() != "ready":
            raise SystemExit(f"the {side} worker did not start")

    def timed(side: str, seed: int) -> float:
        workers[side].stdin.write(f"{seed}\n")
        workers[side].stdin.flush()
        return float(workers[side].stdout.readline())

    seconds: dict[str, list[float]] = {"old": [], "new": []}
    ratios = []
    for i in range(args.runs):
        pair = {side: timed(side, i % 6) for side in (("old", "new") if i % 2 == 0 else ("new", "old"))}
        for side, value in pair.items():
            seconds[side].append(value)
        ratios.append(pair["new"] / pair["old"])
    for proc in workers.values():
        proc.stdin.close()
        proc.wait()
    q1, _, q3 = statistics.quantiles(ratios, n=4)
    for side, values in seconds.items():
        print(f"{side}: median {statistics.median(values):.4f} s, best {min(values):.4f} s")
    print(f"new/old: median {statistics.median(ratios):.3f} (quartiles {q1:.3f}-{q3:.3f}, {args.runs} pairs)")


if __name__ == "__main__":
    main()
