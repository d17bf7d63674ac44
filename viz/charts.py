"""Charts as pure functions: run tables in, a matplotlib ``Figure`` out.

Each function reads the tidy tables of :mod:`model.outputs` (the live run,
optionally a reference run drawn faintly behind it, and the events table to
mark policy changes on the time axis). Figures are built with the object API
(no pyplot state), so they are safe to build in any thread.
"""

from __future__ import annotations

import io

import matplotlib

matplotlib.use("Agg")

import numpy as np  # noqa: E402
import pandas as pd  # noqa: E402
from matplotlib.dates import AutoDateLocator, ConciseDateFormatter  # noqa: E402
from matplotlib.figure import Figure  # noqa: E402

from model.outputs import SHARE_STAGES  # noqa: E402
from model.schema import COMMODITIES, SECTORS  # noqa: E402

CHINA = "CHN"
REFERENCE_STYLE = {"color": "0.35", "alpha": 0.45, "linewidth": 1.0, "linestyle": "--"}
#: Policy changes set by the user or the scenario, and those made by strategies.
EVENT_STYLE = {"color": "tab:red", "linestyle": "-", "alpha": 0.7}
STRATEGY_EVENT_STYLE = {"color": "tab:purple", "linestyle": ":", "alpha": 0.3}
DPI = 80


def _figure(rows: int, height: float = 2.0, width: float = 10.0) -> tuple[Figure, np.ndarray]:
    """Make a column of panels sharing the time axis, room on the right for legends.

    Fixed margins, not constrained layout: it costs more than the drawing itself.
    """
    fig = Figure(figsize=(width, height * rows + 0.6), dpi=DPI)
    axes = fig.subplots(rows, 1, squeeze=False, sharex=True)
    fig.subplots_adjust(
        left=0.08,
        right=0.76,
        top=1 - 0.35 / (height * rows + 0.6),
        bottom=0.45 / (height * rows + 0.6),
        hspace=0.35,
    )
    for ax in axes.ravel():
        locator = AutoDateLocator(minticks=3, maxticks=8)
        ax.xaxis.set_major_locator(locator)
        ax.xaxis.set_major_formatter(ConciseDateFormatter(locator))
    axes.ravel()[-1].set_xlabel("date (monthly)")
    return fig, axes.ravel()


def _legend(ax, **style) -> None:
    """Put a legend right of the panel, if anything in it is labelled."""
    if ax.get_legend_handles_labels()[0]:
        ax.legend(**{"loc": "upper left", "bbox_to_anchor": (1.0, 1.0), "fontsize": 8, **style})


def _empty(ax, text: str = "no months played yet") -> None:
    ax.text(0.5, 0.5, text, ha="center", va="center", transform=ax.transAxes, color="0.4")


def mark_events(ax, events: pd.DataFrame | None) -> None:
    """Vertical lines at policy changes: user and scenario events solid, strategies dotted."""
    if events is None or events.empty:
        return
    policy = events[events["source"] != "firm"]
    is_strategy = policy["source"].str.startswith("strategy")
    on_x = ax.get_xaxis_transform()  # x in data, y in axes fraction
    for chosen, style in (
        (policy[is_strategy], STRATEGY_EVENT_STYLE),
        (policy[~is_strategy], EVENT_STYLE),
    ):
        dates = pd.unique(chosen["date"])
        if len(dates):
            ax.vlines(dates, 0.0, 1.0, transform=on_x, linewidth=0.9, **style)


def shares_figure(
    shares: pd.DataFrame, reference: pd.DataFrame | None = None, events: pd.DataFrame | None = None
) -> Figure:
    """Market share of output by country, one stacked-area panel per stage."""
    fig, axes = _figure(len(SHARE_STAGES), height=1.9)
    for ax, stage in zip(axes, SHARE_STAGES, strict=True):
        ax.set_title(f"{stage}: share of world output", fontsize=10, loc="left")
        ax.set_ylabel("share of output")
        ax.set_ylim(0, 1)
        wide = _wide(shares, "stage", stage, "country", "share")
        if wide.empty:
            _empty(ax)
            continue
        ax.stackplot(wide.index, wide.to_numpy().T, labels=list(wide.columns), alpha=0.85)
        ref = _wide(reference, "stage", stage, "country", "share")
        if not ref.empty:
            ax.plot(ref.index, ref.cumsum(axis=1).to_numpy(), **REFERENCE_STYLE)
        mark_events(ax, events)
    _legend(axes[0], title="country")
    return fig


def prices_figure(
    prices: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    commodity: str = "ndpr_oxide",
    china: str = CHINA,
) -> Figure:
    """Price of one commodity by region; the China vs ex-China wedge is shaded."""
    fig, (ax,) = _figure(1, height=3.6)
    ax.set_title(f"{commodity}: price by region", fontsize=10, loc="left")
    ax.set_ylabel("price, USD/kg")
    wide = _wide(prices, "commodity", commodity, "region", "price_usd_per_kg")
    if wide.empty:
        _empty(ax)
        return fig
    for region in wide.columns:
        if region != china:
            ax.plot(wide.index, wide[region], linewidth=0.8, alpha=0.6, label=region)
    _wedge(ax, wide, china)
    ref = _wide(reference, "commodity", commodity, "region", "price_usd_per_kg")
    if not ref.empty:
        if china in ref.columns:
            ax.plot(ref.index, ref[china], label=f"reference {china}", **REFERENCE_STYLE)
        others = [r for r in ref.columns if r != china]
        ax.plot(
            ref.index,
            ref[others].mean(axis=1),
            label=f"reference ex-{china}",
            **{**REFERENCE_STYLE, "linestyle": ":"},
        )
    mark_events(ax, events)
    _legend(ax, fontsize=7, ncol=2)
    return fig


def _wedge(ax, wide: pd.DataFrame, china: str) -> None:
    others = [r for r in wide.columns if r != china]
    if china not in wide.columns or not others:
        return
    ex_china = wide[others].mean(axis=1)
    ax.plot(wide.index, wide[china], color="tab:red", linewidth=1.8, label=f"{china}")
    ax.plot(wide.index, ex_china, color="tab:blue", linewidth=1.8, label=f"ex-{china} (mean)")
    ax.fill_between(
        wide.index,
        wide[china],
        ex_china,
        color="tab:orange",
        alpha=0.25,
        label=f"{china} vs ex-{china} wedge",
    )


def shortages_figure(
    countries: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
) -> Figure:
    """Magnet shortages: stacked by sector (world), and by country (all sectors)."""
    fig, axes = _figure(2, height=2.2)
    columns = [f"shortage_{s}_t" for s in SECTORS]
    by_sector, by_country = axes
    by_sector.set_title("shortage by sector, all countries", fontsize=10, loc="left")
    by_country.set_title("shortage by country, all sectors", fontsize=10, loc="left")
    for ax in axes:
        ax.set_ylabel("t magnet / month")
    if countries is None or countries.empty:
        _empty(by_sector)
        _empty(by_country)
        return fig
    world = countries.groupby("date")[columns].sum()
    by_sector.stackplot(world.index, world.to_numpy().T, labels=list(SECTORS), alpha=0.85)
    per_country = _country_totals(countries, columns)
    for code in per_country.columns:
        by_country.plot(per_country.index, per_country[code], label=code, linewidth=1.2)
    if reference is not None and not reference.empty:
        ref_world = reference.groupby("date")[columns].sum().sum(axis=1)
        by_sector.plot(ref_world.index, ref_world, label="reference total", **REFERENCE_STYLE)
    for ax in axes:
        mark_events(ax, events)
        _legend(ax)
    return fig


def stockpiles_figure(
    countries: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
) -> Figure:
    """State stockpiles by country, one panel per commodity that any state holds."""
    held = [c for c in COMMODITIES if _holds(countries, c) or _holds(reference, c)] or ["ndpr_oxide"]
    fig, axes = _figure(len(held), height=1.8)
    for ax, commodity in zip(axes, held, strict=True):
        column = f"stockpile_{commodity}_t"
        ax.set_title(f"{commodity}: state stockpiles", fontsize=10, loc="left")
        ax.set_ylabel("t held")
        if countries is None or countries.empty:
            _empty(ax)
            continue
        wide = _country_totals(countries, [column])
        for code in wide.columns[(wide > 0).any()]:
            ax.plot(wide.index, wide[code], label=code, linewidth=1.4)
        if reference is not None and not reference.empty:
            ref = _country_totals(reference, [column])
            ref = ref[ref.columns[(ref > 0).any()]]
            if not ref.empty:
                ax.plot(ref.index, ref.to_numpy(), **REFERENCE_STYLE)
        mark_events(ax, events)
        _legend(ax, title="country")
    return fig


def _holds(countries: pd.DataFrame | None, commodity: str) -> bool:
    column = f"stockpile_{commodity}_t"
    return countries is not None and column in countries and bool((countries[column] > 0).any())


def flows_figure(flows: pd.DataFrame, regions: list[str], commodity: str, month: int) -> Figure:
    """Trade flow matrix (exporter x importer, tonnes) of one commodity in one month."""
    fig = Figure(figsize=(7.0, 5.6), dpi=DPI)
    ax = fig.subplots()
    fig.subplots_adjust(left=0.12, right=0.95, bottom=0.14, top=0.93)
    chosen = flows[(flows["commodity"] == commodity) & (flows["month"] == month)] if len(flows) else flows
    matrix = np.zeros((len(regions), len(regions)))
    for row in chosen.itertuples(index=False):
        matrix[regions.index(row.exporter), regions.index(row.importer)] += row.tonnes
    image = ax.imshow(matrix, cmap="viridis")
    ax.set_xticks(range(len(regions)), regions, rotation=90)
    ax.set_yticks(range(len(regions)), regions)
    ax.set_xlabel("importer")
    ax.set_ylabel("exporter")
    ax.set_title(f"{commodity}, month {month}: tonnes shipped", fontsize=10, loc="left")
    fig.colorbar(image, ax=ax, label="t / month")
    return fig


def figure_png(fig: Figure, dpi: int = 120) -> bytes:
    """Render a figure as PNG bytes (for download)."""
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=dpi)
    return buffer.getvalue()


def _wide(df: pd.DataFrame | None, key: str, value: str, columns: str, measure: str) -> pd.DataFrame:
    """Rows of ``df`` with ``key == value`` as a date x ``columns`` table of ``measure``."""
    if df is None or df.empty:
        return pd.DataFrame()
    chosen = df[df[key] == value]
    return chosen.pivot_table(index="date", columns=columns, values=measure, observed=True).sort_index()


def _country_totals(countries: pd.DataFrame, columns: list[str]) -> pd.DataFrame:
    totals = countries.assign(_total=countries[columns].sum(axis=1))
    return totals.pivot_table(index="date", columns="country", values="_total", observed=True).sort_index()
