"""Measure how many months per second the app computes and draws: ``python -m viz.speed``.

One app month is: step the live and the reference run, rebuild both runs'
tables, build the open chart and render it to PNG (what the page sends).
"""

from __future__ import annotations

import argparse
import time

from viz import charts
from viz.panels import CHART_TABS, figure
from viz.state import DEFAULT_SEED, Session, default_scenario


def months_per_second(scenario: str, seed: int, months: int, kind: str = "prices") -> dict[str, float]:
    """Months per second with and without drawing ``kind``, and the share spent drawing."""
    session = Session(scenario, seed)
    compute = draw = 0.0
    for _ in range(months):
        begun = time.perf_counter()
        if not session.step():
            raise RuntimeError(session.error)
        session.live_tables(), session.reference_tables()
        stepped = time.perf_counter()
        charts.figure_png(figure(session, kind, "ndpr_oxide"), dpi=charts.DPI)
        compute += stepped - begun
        draw += time.perf_counter() - stepped
    return {"months_per_s": months / (compute + draw), "compute_only_months_per_s": months / compute,
            "draw_share": draw / (compute + draw)}


def main() -> None:
    """Print the rates for every chart tab."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=default_scenario())
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--months", type=int, default=60)
    args = parser.parse_args()
    for kind in CHART_TABS:
        r = months_per_second(args.scenario, args.seed, args.months, kind)
        print(f"{args.scenario} {args.months} months, {kind:10s} tab open: "
              f"{r['months_per_s']:5.1f} months/s drawn every month "
              f"({r['compute_only_months_per_s']:5.1f} without drawing; drawing {r['draw_share']:.0%})")


if __name__ == "__main__":
    main()
