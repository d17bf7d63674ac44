"""Measure how many months per second the app computes and draws: ``python -m viz.speed``.

One app month is: step the live and the reference run, rebuild both runs'
tables, build the open chart's Vega-Lite spec and serialise it to JSON (what
the page sends; the browser draws it). The matplotlib PNG of the same chart,
built only when downloaded, is timed too.
"""

from __future__ import annotations

import argparse
import json
import time

from viz import charts
from viz.panels import CHART_TABS, figure, spec
from viz.state import DEFAULT_SEED, Session, default_scenario


def months_per_second(scenario: str, seed: int, months: int, kind: str = "prices") -> dict[str, float]:
    """Months per second (compute + chart), compute alone, and the time of one PNG."""
    session = Session(scenario, seed)
    compute = draw = 0.0
    for _ in range(months):
        begun = time.perf_counter()
        if not session.step():
            raise RuntimeError(session.error)
        session.live_tables(), session.reference_tables()
        stepped = time.perf_counter()
        json.dumps(spec(session, kind, "ndpr_oxide"), allow_nan=False)
        compute += stepped - begun
        draw += time.perf_counter() - stepped
    begun = time.perf_counter()
    charts.figure_png(figure(session, kind, "ndpr_oxide"))
    png = time.perf_counter() - begun
    return {
        "months_per_s": months / (compute + draw),
        "compute_only_months_per_s": months / compute,
        "chart_ms": 1000 * draw / months,
        "png_ms": 1000 * png,
    }


def main() -> None:
    """Print the rates for every chart tab."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--scenario", default=default_scenario())
    parser.add_argument("--seed", type=int, default=DEFAULT_SEED)
    parser.add_argument("--months", type=int, default=60)
    args = parser.parse_args()
    for kind in CHART_TABS:
        r = months_per_second(args.scenario, args.seed, args.months, kind)
        print(
            f"{args.scenario}, {args.months} months, {kind:10s} tab open: "
            f"{r['months_per_s']:5.1f} months/s with the chart rebuilt every month "
            f"({r['compute_only_months_per_s']:5.1f} without; chart {r['chart_ms']:4.0f} ms/month; "
            f"PNG download {r['png_ms']:4.0f} ms)"
        )


if __name__ == "__main__":
    main()
