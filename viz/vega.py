"""Live charts as Vega-Lite specs: run tables in, a spec dict out, drawn by the browser.

The page shows these (Solara's VegaLite widget; vega, vega-lite and vega-embed
are served from the local asset cache, never a CDN), so a month costs the
server only a few milliseconds of JSON. :mod:`viz.charts` draws the same
views with matplotlib for PNG downloads. Every spec: the live run, the
reference run faint and dashed behind it, and policy events as rules (red:
user or scenario; faint purple: strategies).
"""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd

from model.outputs import SHARE_STAGES
from model.schema import COMMODITIES, SECTORS

SCHEMA = "https://vega.github.io/schema/vega-lite/v5.json"  # an identifier, never fetched
CHINA = "CHN"
WIDTH, HEIGHT = 620, 170
TIME = {
    "field": "date",
    "type": "temporal",
    "title": "date (monthly)",
    "axis": {"format": "%Y-%m", "tickCount": {"interval": "month", "step": 3}},
}
REFERENCE = {
    "type": "line",
    "strokeDash": [4, 3],
    "color": "#555",
    "opacity": 0.5,
    "strokeWidth": 1,
}
#: No links to the online Vega editor; keep SVG/PNG export of the drawn chart.
EMBED = {
    "renderer": "svg",
    "actions": {"export": True, "source": False, "compiled": False, "editor": False},
}

Spec = dict[str, Any]


def _values(df: pd.DataFrame) -> list[dict[str, Any]]:
    """Rows as JSON-safe records (dates as ISO strings, NaN as null), built column-wise."""
    columns = {name: _column(df[name]) for name in df.columns}
    names = list(columns)
    return [dict(zip(names, row, strict=True)) for row in zip(*columns.values(), strict=True)]


def _column(col: pd.Series) -> list[Any]:
    if isinstance(col.dtype, pd.CategoricalDtype):
        return np.asarray(col.cat.categories, dtype=object)[col.cat.codes.to_numpy()].tolist()
    if pd.api.types.is_datetime64_any_dtype(col):
        return np.datetime_as_string(col.to_numpy(), unit="D").tolist()
    if pd.api.types.is_float_dtype(col):
        return [None if v != v else v for v in col.to_numpy(dtype=float).round(6).tolist()]
    return col.astype(object).tolist()


def _folded(df: pd.DataFrame, key: str, value: str) -> tuple[list[dict[str, Any]], list[dict[str, Any]]]:
    """Data as one record per date with a field per ``key`` (compact), and the fold back to long.

    Returns ``(values, transform)`` for a layer: a long table of T dates x K keys travels
    as T records instead of T*K, which is what keeps a month's message small in long runs.
    """
    if df.empty:
        return [], []
    wide = df.pivot(index="date", columns=key, values=value)  # tidy tables: one row per (date, key)
    wide.columns = [str(c) for c in wide.columns]
    keys = list(wide.columns)
    return _values(wide.reset_index()), [{"fold": keys, "as": [key, value]}]


def _chart(layers: list[Spec], title: str, height: int = HEIGHT) -> Spec:
    return {
        "title": {"text": title, "anchor": "start", "fontSize": 12},
        "width": WIDTH,
        "height": height,
        "layer": [layer for layer in layers if layer],
    }


def _top(spec: Spec) -> Spec:
    return {"$schema": SCHEMA, "usermeta": {"embedOptions": EMBED}, **spec}


#: Rule styles: policy changes by the user or the scenario, and those made by strategies.
#: Fixed colours, not a colour scale: a layer's scales are shared with the data it marks.
RULE_STYLES = {
    "user/scenario": {"color": "#d62728", "opacity": 0.8, "strokeWidth": 1.5},
    "strategy": {"color": "#9467bd", "opacity": 0.15, "strokeWidth": 1},
}


def event_rules(events: pd.DataFrame | None) -> list[Spec]:
    """Vertical rules at policy changes: user and scenario red, strategies faint purple."""
    if events is None or events.empty:
        return []
    changes: dict[tuple[str, str], set[str]] = {}
    dates = np.datetime_as_string(pd.to_datetime(events["date"]).to_numpy(), unit="D")
    for date, source, instrument in zip(dates, events["source"], events["instrument"], strict=True):
        if source != "firm":
            who = "strategy" if str(source).startswith("strategy") else "user/scenario"
            changes.setdefault((date, who), set()).add(f"{instrument}")
    layers = []
    for who, style in RULE_STYLES.items():
        rows = [{"date": d, "who": w, "changes": "; ".join(sorted(c)[:6])} for (d, w), c in changes.items() if w == who]
        if rows:
            layers.append(
                {
                    "data": {"values": rows},
                    "mark": {"type": "rule", **style},
                    "encoding": {
                        "x": TIME,
                        "tooltip": [
                            {"field": "date", "type": "temporal", "format": "%Y-%m"},
                            {"field": "who", "type": "nominal", "title": "changed by"},
                            {"field": "changes", "type": "nominal"},
                        ],
                    },
                }
            )
    return layers


def prices_spec(
    prices: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
    commodity: str = "ndpr_oxide",
    china: str = CHINA,
) -> Spec:
    """Price of one commodity by region, with the China vs ex-China wedge shaded."""
    live = _one(prices, "commodity", commodity)
    values, fold = _folded(live, "region", "price_usd_per_kg")
    layers = [
        {
            "data": {"values": values},
            "transform": fold,
            "mark": {"type": "line", "strokeWidth": 1},
            "encoding": {
                "x": TIME,
                "y": {
                    "field": "price_usd_per_kg",
                    "type": "quantitative",
                    "title": "price, USD/kg",
                    "scale": {"zero": False},
                },
                "color": {"field": "region", "type": "nominal", "title": "region"},
                "tooltip": [{"field": "region"}, {"field": "price_usd_per_kg", "format": ".2f"}],
            },
        }
    ]
    wedge = _wedge(live, china)
    if not wedge.empty:
        layers.append(
            {
                "data": {"values": _values(wedge)},
                "mark": {"type": "area", "color": "orange", "opacity": 0.25},
                "encoding": {
                    "x": TIME,
                    "y": {"field": "china", "type": "quantitative"},
                    "y2": {"field": "ex_china"},
                },
            }
        )
        sides = wedge.rename(columns={"china": china, "ex_china": f"ex-{china} mean"})
        sides = sides.melt(id_vars="date", var_name="side", value_name="price_usd_per_kg")
        layers.append(
            {
                "data": {"values": _values(sides)},
                "mark": {"type": "line", "strokeWidth": 2.5},
                "encoding": {
                    "x": TIME,
                    "y": {"field": "price_usd_per_kg", "type": "quantitative"},
                    "color": {
                        "field": "side",
                        "type": "nominal",
                        "title": "wedge",
                        "scale": {"range": ["#d62728", "#1f77b4"]},
                    },
                },
            }
        )
    ref = _wedge(_one(reference, "commodity", commodity), china)
    if not ref.empty:
        ref = ref.melt(id_vars="date", var_name="line", value_name="price_usd_per_kg")
        layers.append(
            {
                "data": {"values": _values(ref)},
                "mark": REFERENCE,
                "encoding": {
                    "x": TIME,
                    "y": {"field": "price_usd_per_kg", "type": "quantitative"},
                    "detail": {"field": "line"},
                },
            }
        )
    layers.extend(event_rules(events))
    title = f"{commodity}: price by region (shaded: {china} vs ex-{china} mean; dashed: reference)"
    return _top({**_chart(layers, title, height=260), "resolve": {"scale": {"color": "independent"}}})


def _wedge(prices: pd.DataFrame, china: str) -> pd.DataFrame:
    """Per date: China's price and the mean price of every other region."""
    if prices.empty:
        return pd.DataFrame()
    region = np.asarray(_column(prices["region"]), dtype=object)
    is_china = region == china
    if not is_china.any():
        return pd.DataFrame()
    price = prices["price_usd_per_kg"].to_numpy(dtype=float)
    dates, row = np.unique(prices["date"].to_numpy(), return_inverse=True)
    others = np.bincount(row[~is_china], weights=price[~is_china], minlength=len(dates))
    count = np.bincount(row[~is_china], minlength=len(dates))
    china_price = np.full(len(dates), np.nan)
    china_price[row[is_china]] = price[is_china]
    ex_china = np.divide(others, count, out=np.full(len(dates), np.nan), where=count > 0)
    return pd.DataFrame({"date": dates, "china": china_price, "ex_china": ex_china})


def shares_spec(
    shares: pd.DataFrame, reference: pd.DataFrame | None = None, events: pd.DataFrame | None = None
) -> Spec:
    """Share of world output by country, a stacked-area panel per stage."""
    panels, rules = [], event_rules(events)
    for stage in SHARE_STAGES:
        values, fold = _folded(_producers(_one(shares, "stage", stage)), "country", "share")
        area = {
            "data": {"values": values},
            "transform": fold,
            "mark": {"type": "area", "opacity": 0.85},
            "encoding": {
                "x": TIME,
                "y": {
                    "field": "share",
                    "type": "quantitative",
                    "stack": True,
                    "title": "share of output",
                    "scale": {"domain": [0, 1]},
                },
                "color": {"field": "country", "type": "nominal"},
                "tooltip": [{"field": "country"}, {"field": "share", "format": ".1%"}],
            },
        }
        ref = _one(reference, "stage", stage)
        ref_layer = {}
        if not ref.empty:
            # Vega-Lite stacks in the colour field's sorted order: sum the reference the same way
            ref = ref.assign(code=ref["country"].astype(str)).sort_values(["date", "code"], kind="stable")
            ref = ref.assign(top=ref.groupby("date")["share"].cumsum())
            values, fold = _folded(_producers(ref), "country", "top")
            ref_layer = {
                "data": {"values": values},
                "transform": fold,
                "mark": REFERENCE,
                "encoding": {
                    "x": TIME,
                    "y": {"field": "top", "type": "quantitative"},
                    "detail": {"field": "country"},
                },
            }
        panels.append(_chart([area, ref_layer, *rules], f"{stage}: share of world output"))
    return _top({"vconcat": panels, "resolve": {"scale": {"color": "shared"}}})


def _producers(shares: pd.DataFrame) -> pd.DataFrame:
    """Rows of the countries with output in some month (the others add nothing to a stack)."""
    if shares.empty:
        return shares
    active = shares.loc[shares["share"].to_numpy() > 0, "country"].unique()
    return shares[shares["country"].isin(active).to_numpy()]


def shortages_spec(
    countries: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
) -> Spec:
    """Magnet shortages: stacked by sector (all countries), and by country (all sectors)."""
    columns = [f"shortage_{s}_t" for s in SECTORS]
    y = {"type": "quantitative", "title": "t magnet / month"}
    by_sector = pd.DataFrame(columns=["date", "sector", "tonnes"])
    by_country = pd.DataFrame(columns=["date", "country", "tonnes"])
    if not countries.empty:
        world = countries.groupby("date")[columns].sum().rename(columns=dict(zip(columns, SECTORS, strict=True)))
        by_sector = world.reset_index().melt(id_vars="date", var_name="sector", value_name="tonnes")
        by_country = countries.assign(tonnes=countries[columns].sum(axis=1))[["date", "country", "tonnes"]]
    ref_layer = {}
    if reference is not None and not reference.empty:
        total = reference.groupby("date")[columns].sum().sum(axis=1).rename("tonnes").reset_index()
        ref_layer = {
            "data": {"values": _values(total)},
            "mark": REFERENCE,
            "encoding": {"x": TIME, "y": {"field": "tonnes", "type": "quantitative"}},
        }
    sector_area = {
        "data": {"values": _values(by_sector)},
        "mark": "area",
        "encoding": {
            "x": TIME,
            "y": {"field": "tonnes", **y, "stack": True},
            "color": {"field": "sector", "type": "nominal"},
        },
    }
    country_lines = {
        "data": {"values": _values(by_country)},
        "mark": {"type": "line", "strokeWidth": 1.2},
        "encoding": {
            "x": TIME,
            "y": {"field": "tonnes", **y},
            "color": {"field": "country", "type": "nominal"},
        },
    }
    return _top(
        {
            "vconcat": [
                _chart(
                    [sector_area, ref_layer, *event_rules(events)],
                    "shortage by sector, all countries (dashed: reference)",
                ),
                _chart([country_lines, *event_rules(events)], "shortage by country, all sectors"),
            ],
            "resolve": {"scale": {"color": "independent"}},
        }
    )


def stockpiles_spec(
    countries: pd.DataFrame,
    reference: pd.DataFrame | None = None,
    events: pd.DataFrame | None = None,
) -> Spec:
    """State stockpiles by country, a panel per commodity any state holds."""
    panels, rules = [], event_rules(events)
    for commodity in COMMODITIES:
        column = f"stockpile_{commodity}_t"
        live = _held(countries, column)
        ref = _held(reference, column)
        if live.empty and ref.empty:
            continue
        lines = {
            "data": {"values": _values(live)},
            "mark": {"type": "line", "strokeWidth": 1.5},
            "encoding": {
                "x": TIME,
                "y": {"field": column, "type": "quantitative", "title": "t held"},
                "color": {"field": "country", "type": "nominal"},
            },
        }
        ref_layer = (
            {
                "data": {"values": _values(ref)},
                "mark": REFERENCE,
                "encoding": {
                    "x": TIME,
                    "y": {"field": column, "type": "quantitative"},
                    "detail": {"field": "country"},
                },
            }
            if not ref.empty
            else {}
        )
        panels.append(_chart([lines, ref_layer, *rules], f"{commodity}: state stockpiles"))
    if not panels:
        return _top(
            _chart(
                [
                    {
                        "data": {"values": [{"text": "no state holds a stockpile yet"}]},
                        "mark": {"type": "text", "fontSize": 14},
                        "encoding": {"text": {"field": "text"}},
                    }
                ],
                "state stockpiles (t held)",
                60,
            )
        )
    return _top({"vconcat": panels, "resolve": {"scale": {"color": "shared"}}})


def _held(countries: pd.DataFrame | None, column: str) -> pd.DataFrame:
    if countries is None or countries.empty or column not in countries:
        return pd.DataFrame()
    holders = countries.loc[countries[column] > 0, "country"].unique()
    return countries[countries["country"].isin(holders)][["date", "country", column]]


def flows_spec(flows: pd.DataFrame, regions: list[str], commodity: str, month: int) -> Spec:
    """Trade flow matrix (exporter x importer, tonnes) of one commodity in one month."""
    chosen = flows[(flows["commodity"] == commodity) & (flows["month"] == month)] if len(flows) else flows
    grid = pd.MultiIndex.from_product([regions, regions], names=["exporter", "importer"])
    tonnes = chosen.groupby(["exporter", "importer"], observed=True)["tonnes"].sum() if len(chosen) else None
    matrix = pd.Series(0.0, index=grid, name="tonnes")
    if tonnes is not None:
        matrix.loc[tonnes.index] = tonnes.to_numpy()
    axis = {"type": "nominal", "sort": regions}
    return _top(
        {
            "title": {"text": f"{commodity}, month {month}: tonnes shipped", "anchor": "start"},
            "width": 360,
            "height": 360,
            "data": {"values": _values(matrix.reset_index())},
            "mark": "rect",
            "encoding": {
                "x": {"field": "importer", **axis, "title": "importer"},
                "y": {"field": "exporter", **axis, "title": "exporter"},
                "color": {
                    "field": "tonnes",
                    "type": "quantitative",
                    "title": "t / month",
                    "scale": {"scheme": "viridis"},
                },
                "tooltip": [
                    {"field": "exporter"},
                    {"field": "importer"},
                    {"field": "tonnes", "type": "quantitative", "format": ",.1f"},
                ],
            },
        }
    )


def _one(df: pd.DataFrame | None, key: str, value: str) -> pd.DataFrame:
    """Rows of ``df`` with ``key == value`` (an empty frame for no table)."""
    if df is None or df.empty:
        return pd.DataFrame(columns=[] if df is None else df.columns)
    return df[(df[key] == value).to_numpy()]
