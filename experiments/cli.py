"""The ``reegame`` command line: scenarios, single runs, the app, sweeps, analysis."""

from __future__ import annotations

import sys
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

app = typer.Typer(
    add_completion=False, no_args_is_help=True, help="Rare-earth supply chain as a repeated game."
)
console = Console()
err = Console(stderr=True)


def _fail(message: str) -> None:
    err.print(f"[bold red]error:[/] {message}", highlight=False)
    raise typer.Exit(code=2)


@app.command()
def scenarios() -> None:
    """List the shipped scenarios, one line each."""
    from model.scenario import available_scenarios, load_scenario

    for name, title in available_scenarios().items():
        sc = load_scenario(name)
        console.print(
            f"{name:<16} {sc.meta.start_date}  {sc.meta.months:>4} months  {title}", highlight=False
        )


@app.command()
def run(
    scenario: Annotated[str, typer.Argument(help="shipped scenario name or path to a TOML file")],
    months: Annotated[
        int | None, typer.Option(help="months to play (default: the scenario's horizon)")
    ] = None,
    seed: Annotated[int, typer.Option(help="random seed")] = 0,
    out: Annotated[
        Path | None, typer.Option(help="write Parquet tables and manifest.json here")
    ] = None,
    set_: Annotated[
        list[str] | None, typer.Option("--set", help="override PATH=VALUE (repeatable)")
    ] = None,
) -> None:
    """Play one scenario and print a summary; with --out, write its tables."""
    from model.outputs import tables
    from model.run import build_model
    from model.scenario import ScenarioError

    if months is not None and not 1 <= months <= 1200:
        _fail(f"--months = {months}: must be between 1 and 1200")
    try:
        model = build_model(scenario, seed=seed, overrides=list(set_ or []))
    except (ScenarioError, ValueError) as e:
        _fail(str(e))
    horizon = months if months is not None else model.spec.meta.months
    start = time.perf_counter()
    model.run_months(horizon)
    result = tables(model)
    elapsed = time.perf_counter() - start
    _print_summary(result, elapsed)
    if out is not None:
        result.write(out)
        console.print(
            f"wrote {', '.join(result.as_dict())} and manifest.json to {out}", highlight=False
        )


def _print_summary(result, elapsed: float) -> None:
    prices, shares, countries = result.prices, result.shares, result.countries
    first, last = prices.month.min(), prices.month.max()
    table = Table(title=f"{result.manifest['scenario']}: months {first}-{last} in {elapsed:.2f} s")
    for col in ("measure", "start", "end"):
        table.add_column(col, justify="right" if col != "measure" else "left")
    for commodity in ("ndpr_oxide", "dytb_oxide", "ndfeb_magnet"):
        for region in ("CHN", "ex-CHN"):
            sel = prices[(prices.commodity == commodity)]
            sel = sel[sel.region == "CHN"] if region == "CHN" else sel[sel.region != "CHN"]
            if sel.empty:
                continue
            series = sel.groupby("month").price_usd_per_kg.mean()
            table.add_row(
                f"{commodity} price {region} (USD/kg)",
                f"{series.iloc[0]:.1f}",
                f"{series.iloc[-1]:.1f}",
            )
    for stage in ("mining", "separation", "magnets"):
        sel = shares[(shares.stage == stage) & (shares.country == "CHN")]
        if not sel.empty:
            table.add_row(
                f"China {stage} share", f"{sel.share.iloc[0]:.1%}", f"{sel.share.iloc[-1]:.1%}"
            )
    short = [c for c in countries.columns if c.startswith("shortage_") and c.endswith("_t")]
    table.add_row(
        "magnet shortage, all sectors (t)", "", f"{countries[short].to_numpy().sum():,.0f}"
    )
    table.add_row("policy events", "", f"{len(result.events)}")
    console.print(table)


@app.command()
def schema() -> None:
    """Print the scenario schema (JSON Schema): every field, unit, bound."""
    import json

    from model.schema import Scenario

    console.print_json(json.dumps(Scenario.model_json_schema()))


@app.command("app")
def app_command(
    host: Annotated[str, typer.Option(help="interface to bind")] = "127.0.0.1",
    port: Annotated[int, typer.Option(help="port")] = 8765,
) -> None:
    """Start the browser app (Solara) on a local address."""
    from viz.launch import serve

    raise typer.Exit(code=serve(host=host, port=port))


@app.command()
def sweep(
    spec: Annotated[Path, typer.Argument(help="sweep spec (TOML)")],
    out: Annotated[Path, typer.Option(help="result store directory (resumes if it exists)")],
    workers: Annotated[int | None, typer.Option(help="local worker processes")] = None,
    dask: Annotated[
        str | None, typer.Option(help="Dask scheduler address, e.g. tcp://host:8786")
    ] = None,
    shard: Annotated[
        str | None, typer.Option(help="i/N: run only this shard (Slurm arrays)")
    ] = None,
    estimate: Annotated[
        bool, typer.Option(help="only estimate time and disk from a pilot batch")
    ] = False,
) -> None:
    """Run (or resume) a parameter sweep into a result store."""
    from experiments import sweep as sw

    try:
        loaded = sw.load_spec(spec)
        if estimate:
            console.print(sw.estimate_sweep(loaded))
            return
        summary = sw.run_sweep(loaded, out, workers=workers, dask_address=dask, shard=shard)
    except ValueError as e:
        _fail(str(e))
    console.print(summary)


@app.command()
def analyze(results: Annotated[Path, typer.Argument(help="result store directory")]) -> None:
    """Summaries with confidence intervals, sensitivity indices and figures."""
    from experiments import sweep as sw

    try:
        console.print(sw.analyze(results))
    except ValueError as e:
        _fail(str(e))


def main() -> None:
    """Console-script entry point."""
    app(prog_name="reegame")


if __name__ == "__main__":
    sys.exit(main())
