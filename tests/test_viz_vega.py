"""Live chart specs (Vega-Lite): pure functions of the run tables, titled axes, JSON-safe."""

from __future__ import annotations

import json

import pytest
from worlds import small_world

from model.scenario import validate
from viz import vega
from viz.panels import CHART_TABS, spec
from viz.state import Session


@pytest.fixture(scope="module")
def session():
    s = Session(validate(small_world(months=12)), seed=5)
    s.step(2)
    s.intervene("AAA", "licence_approval_rate", 0.5)
    s.step(2)
    return s


def layers(chart: dict) -> list[dict]:
    """Every single-view layer of a spec (through vconcat and layer)."""
    if "vconcat" in chart:
        return [leaf for part in chart["vconcat"] for leaf in layers(part)]
    if "layer" in chart:
        return [leaf for part in chart["layer"] for leaf in layers(part)]
    return [chart]


def y_titles(chart: dict) -> set[str]:
    return {
        leaf["encoding"]["y"]["title"] for leaf in layers(chart) if "title" in leaf.get("encoding", {}).get("y", {})
    }


@pytest.mark.parametrize("kind", CHART_TABS)
def test_every_live_chart_is_json_safe_and_never_links_online(session, kind):
    chart = spec(session, kind, "ndfeb_magnet")
    text = json.dumps(chart, allow_nan=False)  # NaN would break the browser's JSON.parse
    assert chart["usermeta"]["embedOptions"]["actions"]["editor"] is False
    assert "http" not in text.replace(vega.SCHEMA, "")  # no data or scripts from a URL


def test_price_chart_has_units_the_wedge_the_reference_and_events(session):
    live, ref = session.live_tables(), session.reference_tables()
    chart = vega.prices_spec(live.prices, ref.prices, live.events, "ndpr_oxide", china="AAA")
    assert y_titles(chart) == {"price, USD/kg"}
    marks = [leaf["mark"]["type"] if isinstance(leaf["mark"], dict) else leaf["mark"] for leaf in layers(chart)]
    assert marks.count("area") == 1 and "rule" in marks  # wedge, policy events
    reference = [leaf for leaf in layers(chart) if leaf["mark"] == vega.REFERENCE]
    assert len(reference) == 1
    rules = next(
        leaf for leaf in layers(chart) if leaf["mark"] == {"type": "rule", **vega.RULE_STYLES["user/scenario"]}
    )
    assert rules["data"]["values"] == [
        {"date": "2020-03-01", "who": "user/scenario", "changes": "licence_approval_rate"}
    ]
    lines = layers(chart)[0]
    assert len(lines["data"]["values"]) == 4  # one record per month, a field per region ...
    assert lines["transform"] == [{"fold": session.regions, "as": ["region", "price_usd_per_kg"]}]
    first = lines["data"]["values"][0]
    first_month = live.prices[(live.prices["month"] == 0) & (live.prices["commodity"] == "ndpr_oxide")]
    assert first["BBB"] == pytest.approx(
        float(first_month.loc[first_month["region"] == "BBB", "price_usd_per_kg"].iloc[0])
    )


def test_wedge_is_china_against_the_mean_of_the_others(session):
    prices = session.live_tables().prices
    wedge = vega._wedge(prices[prices["commodity"] == "ndfeb_magnet"], "BBB")
    last = prices[(prices["commodity"] == "ndfeb_magnet") & (prices["month"] == 3)]
    by_region = dict(zip(last["region"].astype(str), last["price_usd_per_kg"], strict=True))
    assert wedge["china"].iloc[-1] == pytest.approx(by_region["BBB"])
    others = [v for r, v in by_region.items() if r != "BBB"]
    assert wedge["ex_china"].iloc[-1] == pytest.approx(sum(others) / len(others))
    assert vega._wedge(prices, "ZZZ").empty


def test_share_shortage_stockpile_and_flow_charts_name_their_units(session):
    live, ref = session.live_tables(), session.reference_tables()
    assert y_titles(vega.shares_spec(live.shares, ref.shares, live.events)) == {"share of output"}
    assert y_titles(vega.shortages_spec(live.countries, ref.countries)) == {"t magnet / month"}
    flows = vega.flows_spec(live.flows, session.regions, "ndfeb_magnet", 3)
    assert flows["encoding"]["color"]["title"] == "t / month"
    assert len(flows["data"]["values"]) == len(session.regions) ** 2
    shipped = live.flows[(live.flows["month"] == 3) & (live.flows["commodity"] == "ndfeb_magnet")]
    total = sum(v["tonnes"] for v in flows["data"]["values"])
    assert total == pytest.approx(shipped["tonnes"].sum(), rel=1e-6)


def test_charts_before_the_first_month(session):
    empty = Session(validate(small_world(months=12)), seed=5)
    for kind in CHART_TABS:
        json.dumps(spec(empty, kind, "ndpr_oxide"), allow_nan=False)
