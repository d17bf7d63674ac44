"""Panels of the page: run status, chart tabs, recent events and downloads."""

from __future__ import annotations

import solara
import solara.lab
import solara.widgets

from model.outputs import TABLES
from model.schema import COMMODITIES
from viz import charts, vega
from viz.state import Session, largest_price_gap, table_csv, table_parquet

CHART_TABS = ("prices", "shares", "shortages", "stockpiles", "flows")
TAB_LABELS = {
    "prices": "Prices",
    "shares": "Market shares",
    "shortages": "Shortages",
    "stockpiles": "Stockpiles",
    "flows": "Trade flows",
}


@solara.component
def Status(session: Session, version: int, playing: bool):
    """Show months played, the next date, and a readable error if an action failed."""
    with solara.Row(style={"align-items": "center", "gap": "12px"}):
        solara.Text("Months played:")
        solara.Text(str(session.month), classes=["ree-month"])
        solara.Text(
            f"next month {session.date} · horizon {session.horizon} months · {'playing' if playing else 'paused'}",
            classes=["ree-status"],
        )
    solara.Text(_gap_text(session), classes=["ree-gap"])
    if session.error:
        solara.Error(session.error, classes=["ree-error"])


def _gap_text(session: Session) -> str:
    gap = largest_price_gap(session.live_tables().prices, session.reference_tables().prices)
    if gap is None:
        return "Live vs reference: no month played yet"
    share, commodity, region = gap
    return f"Live vs reference, latest month: largest price gap {share:.1%} ({commodity}, {region})"


@solara.component
def ChartTabs(session: Session, version: int):
    """Show one tab per chart; only the open tab is built and sent to the browser."""
    tab = solara.use_reactive(0)
    commodity = solara.use_reactive("ndpr_oxide")
    chosen_month = solara.use_reactive(-1)  # -1: follow the latest month
    latest = session.month - 1
    month = latest if chosen_month.value < 0 or chosen_month.value > latest else chosen_month.value
    with solara.lab.Tabs(value=tab, lazy=True):
        for kind in CHART_TABS:
            with solara.lab.Tab(TAB_LABELS[kind]):
                Chart(session, kind, commodity.value, month, session.data_key())
    kind = CHART_TABS[tab.value]
    if kind in ("prices", "flows"):
        solara.ToggleButtonsSingle(value=commodity, values=list(COMMODITIES))
    if kind == "flows" and latest > 0:
        with solara.Row(style={"align-items": "center"}):
            solara.SliderInt("Month of flows", value=month, min=0, max=latest, on_value=chosen_month.set)
            solara.Button("Latest", on_click=lambda: chosen_month.set(-1), text=True)


@solara.component
def Chart(session: Session, kind: str, commodity: str, month: int, data_key: tuple):
    """Show a live chart (drawn by the browser) and its PNG download (matplotlib)."""
    chart = solara.use_memo(lambda: spec(session, kind, commodity, month), [data_key, kind, commodity, month])
    with solara.Column(classes=["ree-chart", f"ree-chart-{kind}"]):
        solara.widgets.VegaLite.element(spec=chart)
        solara.FileDownload(
            lambda: charts.figure_png(figure(session, kind, commodity, month)),
            label=f"{TAB_LABELS[kind]} PNG",
            mime_type="image/png",
            filename=f"{session.file_stem()}_{kind}{_suffix(kind, commodity)}.png",
        )


def _suffix(kind: str, commodity: str) -> str:
    return f"_{commodity}" if kind in ("prices", "flows") else ""


#: Which run table each chart kind draws from (flows is drawn for one month, live only).
CHART_TABLE = {"prices": "prices", "shares": "shares", "shortages": "countries", "stockpiles": "countries"}


def spec(session: Session, kind: str, commodity: str, month: int | None = None) -> dict:
    """Build the Vega-Lite spec of one chart kind from the session's tables."""
    return _chart(session, kind, commodity, month, lambda name: getattr(vega, f"{name}_spec"))


def figure(session: Session, kind: str, commodity: str, month: int | None = None):
    """Build the matplotlib figure of one chart kind (for PNG downloads)."""
    return _chart(session, kind, commodity, month, lambda name: getattr(charts, f"{name}_figure"))


def _chart(session: Session, kind: str, commodity: str, month: int | None, builder):
    """Call the chart builder of ``kind`` with the live and reference tables it needs."""
    live, ref = session.live_tables(), session.reference_tables()
    if kind not in CHART_TABLE:
        return builder("flows")(live.flows, session.regions, commodity, session.month - 1 if month is None else month)
    table = CHART_TABLE[kind]
    args = (getattr(live, table), getattr(ref, table), live.events)
    return builder(kind)(*args, commodity) if kind == "prices" else builder(kind)(*args)


@solara.component
def EventsNow(session: Session, version: int):
    """Show changes waiting for next month and the live run's latest policy events."""
    pending = session.pending()
    with solara.Details(f"Pending changes ({len(pending)}) and recent policy events", expand=True):
        for code, what, value in pending:
            solara.Text(f"from {session.date}: {code} {what} = {value}", classes=["ree-pending"])
        events = session.live_tables().events
        policy = events[events["source"] != "firm"].tail(12)
        policy = policy.assign(date=policy["date"].dt.strftime("%Y-%m"))
        if len(policy):
            solara.DataFrame(policy, items_per_page=12)


@solara.component
def Exports(session: Session, version: int):
    """Offer the live run's tables as CSV or Parquet downloads."""
    name = solara.use_reactive("prices")
    stem = session.file_stem()
    with solara.Card("Download the live run", margin=0):
        with solara.Row(style={"align-items": "center"}):
            solara.Select("Table", values=list(TABLES), value=name, classes=["ree-table"])
            solara.FileDownload(
                lambda: table_csv(session.live_tables(), name.value),
                filename=f"{stem}_{name.value}.csv",
                label="CSV",
                mime_type="text/csv",
            )
            solara.FileDownload(
                lambda: table_parquet(session.live_tables(), name.value),
                filename=f"{stem}_{name.value}.parquet",
                label="Parquet",
            )
