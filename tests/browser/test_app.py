"""The live app in a real Chromium: loads offline, steps, plays, takes changes, downloads."""

from __future__ import annotations

import io
import re

import pandas as pd
import pytest
from playwright.sync_api import expect

try:
    from .harness import is_local_url, record_requests
except ImportError:
    from harness import is_local_url, record_requests

from model.outputs import tables
from model.run import build_model
from viz.state import DEFAULT_SEED, default_scenario, table_csv

pytestmark = pytest.mark.browser

APP = "viz.app:Page"
SERVER_WORK_MS = 30_000  # a month computed and redrawn on a loaded machine, with margin


@pytest.fixture
def app(solara_server, page):
    """The app's page, rendered (month counter shown), with its requests recorded."""
    server = solara_server(APP)
    page.requests = record_requests(page)
    page.bad_responses = []
    page.on(
        "response",
        lambda r: page.bad_responses.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    page.goto(server.url)
    expect(page.locator(".ree-month")).to_have_text("0", timeout=90_000)
    expect(chart_image(page, "prices")).to_be_visible(timeout=SERVER_WORK_MS)
    page.server = server
    return page


def chart_image(page, kind: str):
    """The chart as drawn by Vega in the browser (an SVG of marks)."""
    return page.locator(f".ree-chart-{kind} svg.marks").first


def wait_for_redraw(page, kind: str, before: str) -> None:
    page.wait_for_function(
        "([sel, old]) => { const e = document.querySelector(sel); return e && e.outerHTML !== old; }",
        arg=[f".ree-chart-{kind} svg.marks", before],
    )


def month(page) -> int:
    return int(page.locator(".ree-month").inner_text())


def step(page, times: int = 1) -> None:
    for _ in range(times):
        before = month(page)
        page.locator(".ree-step").click()
        expect(page.locator(".ree-month")).to_have_text(str(before + 1), timeout=SERVER_WORK_MS)


def test_page_loads_and_every_chart_draws_without_leaving_127_0_0_1(app):
    step(app)
    for tab, kind in (
        ("Market shares", "shares"),
        ("Shortages", "shortages"),
        ("Stockpiles", "stockpiles"),
        ("Trade flows", "flows"),
        ("Prices", "prices"),
    ):
        app.get_by_role("tab", name=tab).click()
        expect(chart_image(app, kind)).to_be_visible(timeout=SERVER_WORK_MS)
    foreign = sorted({u for u in app.requests if not is_local_url(u)})
    assert not foreign, "the page made requests off 127.0.0.1:\n  " + "\n  ".join(foreign)
    assert not app.bad_responses, app.bad_responses
    assert any("/_solara/cdn/" in u for u in app.requests), "front end not served locally"


def test_step_advances_the_month_and_redraws_the_chart(app):
    before = chart_image(app, "prices").evaluate("e => e.outerHTML")
    step(app)
    expect(app.locator(".ree-status")).to_contain_text("next month")
    wait_for_redraw(app, "prices", before)
    after_one = chart_image(app, "prices").evaluate("e => e.outerHTML")
    step(app)
    wait_for_redraw(app, "prices", after_one)


def test_play_runs_and_pause_stops(app):
    app.locator(".ree-play").click()
    app.wait_for_function("() => Number(document.querySelector('.ree-month').innerText) >= 3")
    app.locator(".ree-pause").click()
    expect(app.locator(".ree-status")).to_contain_text("paused", timeout=SERVER_WORK_MS)
    expect(app.locator(".ree-play")).to_be_visible()
    app.wait_for_timeout(800)  # a month already under way may still land
    stopped = month(app)
    app.wait_for_timeout(1500)
    assert month(app) == stopped, "months kept coming after Pause"
    assert stopped >= 3


def test_strategy_change_mid_run_moves_prices_off_the_reference(app):
    step(app, 2)
    expect(app.locator(".ree-gap")).to_contain_text("largest price gap 0.0%")
    app.locator(".ree-strategy-export_controls").click()
    app.get_by_role("option", name="licence_regime").click()
    approval = app.get_by_role("slider", name=re.compile(r"^Approval \(share\)"))  # the strategy's own parameter
    expect(approval).to_have_attribute("aria-valuemax", "1", timeout=SERVER_WORK_MS)
    expect(app.locator(".ree-pending").first).to_contain_text("strategy.export_controls", timeout=SERVER_WORK_MS)
    step(app, 2)
    gap = app.locator(".ree-gap")
    expect(gap).to_contain_text("largest price gap")
    share = float(re.search(r"gap ([0-9.]+)%", gap.inner_text()).group(1))
    assert share > 0.0, gap.inner_text()
    expect(app.get_by_text("user (app)").first).to_be_visible()  # logged as an event


def test_csv_and_parquet_downloads_match_the_models_tables(app, tmp_path):
    step(app, 2)
    model = build_model(default_scenario(), DEFAULT_SEED, record_firms=False)
    model.run_months(2)
    expected = tables(model)
    with app.expect_download() as csv_download:
        app.get_by_role("button", name="CSV").click()
    assert csv_download.value.suggested_filename.endswith("_month2_prices.csv")
    path = tmp_path / "prices.csv"
    csv_download.value.save_as(path)
    assert path.read_bytes() == table_csv(expected, "prices")
    with app.expect_download() as parquet_download:
        app.get_by_role("button", name="Parquet").click()
    data = open(parquet_download.value.path(), "rb").read()
    pd.testing.assert_frame_equal(pd.read_parquet(io.BytesIO(data)), expected.prices)
    with app.expect_download() as png_download:
        app.get_by_role("button", name="Prices PNG").click()
    assert open(png_download.value.path(), "rb").read(8) == b"\x89PNG\r\n\x1a\n"


def test_instrument_change_is_pending_then_logged(app):
    app.get_by_text("Quota on ndpr_oxide").click()
    pending = app.locator(".ree-pending").first
    expect(pending).to_contain_text("CHN export_quota_t_per_year", timeout=SERVER_WORK_MS)
    slider = app.get_by_role("slider", name="Export quota ndpr oxide (t/yr)")
    expect(slider).to_have_attribute("aria-valuemin", "0")  # the schema's bound (ge=0)
    step(app)
    expect(app.locator(".ree-pending")).to_have_count(0)
    expect(app.get_by_text("export_quota_t_per_year").first).to_be_visible()  # in the events


def test_bad_seed_shows_a_readable_error_and_the_session_stays_usable(app):
    seed = app.get_by_label("Seed")
    seed.fill("-5")
    seed.press("Enter")
    error = app.locator(".ree-error")
    expect(error).to_contain_text("Could not build the scenario", timeout=SERVER_WORK_MS)
    step(app)  # the previous runs are kept and still step
    expect(error).to_have_count(0)
