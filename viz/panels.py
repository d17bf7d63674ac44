"""Panels of the page: run status, chart tabs, recent events and downloads."""

from __future__ import annotations

import solara
import solara.lab

from model.outputs import TABLES
from model.schema import COMMODITIES
from viz import charts
from viz.state import Session, largest_price_gap, table_csv, table_parquet

CHART_TABS = ("prices", "shares", "shortages", "stockpiles", "flows")
TAB_LABELS = {"prices": "Prices", "shares": "Market shares", "shortages": "Shortages",
              "stockpiles": "Stockpiles", "flows": "Trade flows"}


@solara.component
def Status(session: Session, version: int, playing: bool):
    """Months played, the next month's date, a readable error if the last action failed."""
    with solara.Row(style={"align-items": "center", "gap": "12px"}):
        solara.Text("Months played:")
        solara.Text(str(session.month), classes=["ree-month"])
        solara.Text(f"next month {session.date} · horizon {session.horizon} months · "
                    f"{'playing' if playing else 'paused'}", classes=["ree-status"])
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
    """One tab per chart; only the open tab is drawn (drawing dominates a month's time)."""
    tab = solara.use_reactive(0)
    commodity = solara.use_reactive("ndpr_oxide")
    with solara.lab.Tabs(value=tab, lazy=True):
        for kind in CHART_TABS:
            with solara.lab.Tab(TAB_LABELS[kind]):
                Chart(session, kind, commodity.value, session.data_key())
    if CHART_TABS[tab.value] in ("prices", "flows"):
        solara.ToggleButtonsSingle(value=commodity, values=list(COMMODITIES))


@solara.component
def Chart(session: Session, kind: str, commodity: str, data_key: tuple):
    """A chart of the live run over the faint reference run, with a PNG download."""
    def build():
        return figure(session, kind, commodity)

    fig = solara.use_memo(build, [data_key, kind, commodity])
    with solara.Column(classes=["ree-chart", f"ree-chart-{kind}"]):
        solara.FigureMatplotlib(fig, dependencies=[data_key, kind, commodity], format="png",
                                dpi=charts.DPI)
        solara.FileDownload(lambda: charts.figure_png(build()), label=f"{TAB_LABELS[kind]} PNG",
                            filename=f"{session.file_stem()}_{kind}.png", mime_type="image/png")


def figure(session: Session, kind: str, commodity: str):
    """Build the figure of one chart kind from the session's tables."""
    live, ref = session.live_tables(), session.reference_tables()
    if kind == "prices":
        return charts.prices_figure(live.prices, ref.prices, live.events, commodity)
    if kind == "shares":
        return charts.shares_figure(live.shares, ref.shares, live.events)
    if kind == "shortages":
        return charts.shortages_figure(live.countries, ref.countries, live.events)
    if kind == "stockpiles":
        return charts.stockpiles_figure(live.countries, ref.countries, live.events)
    return charts.flows_figure(live.flows, session.regions, commodity, session.month - 1)


@solara.component
def EventsNow(session: Session, version: int):
    """Changes waiting for next month, and the latest policy events of the live run."""
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
    """Download the live run's tables as CSV or Parquet."""
    name = solara.use_reactive("prices")
    stem = session.file_stem()
    with solara.Card("Download the live run", margin=0):
        with solara.Row(style={"align-items": "center"}):
            solara.Select("Table", values=list(TABLES), value=name, classes=["ree-table"])
            solara.FileDownload(lambda: table_csv(session.live_tables(), name.value),
                                filename=f"{stem}_{name.value}.csv", label="CSV",
                                mime_type="text/csv")
            solara.FileDownload(lambda: table_parquet(session.live_tables(), name.value),
                                filename=f"{stem}_{name.value}.parquet", label="Parquet")
