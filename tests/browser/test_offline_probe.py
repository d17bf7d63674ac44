"""The Solara front end works with no network beyond 127.0.0.1 (no CDN, no telemetry)."""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import expect

try:
    from .harness import is_local_url, record_requests, required_assets
except ImportError:
    from harness import is_local_url, record_requests, required_assets

pytestmark = pytest.mark.browser

PROBE_APP = str(Path(__file__).with_name("offline_probe_app.py"))


def test_probe_page_renders_and_works_offline(solara_server, page):
    server = solara_server(PROBE_APP)
    urls = record_requests(page)
    bad_responses: list[str] = []
    page.on(
        "response",
        lambda r: bad_responses.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    failed: list[str] = []
    page.on("requestfailed", lambda r: failed.append(f"{r.failure} {r.url}"))

    def details() -> str:
        return (
            "\nfailed responses:\n  "
            + "\n  ".join(bad_responses + failed)
            + "\nrequests:\n  "
            + "\n  ".join(urls)
            + f"\n--- server log ---\n{server.log_text(20)}"
        )

    page.goto(server.url)

    # Rendered by the websocket-driven widget front end, not the pre-rendered HTML.
    button = page.get_by_role("button", name="Increment")
    try:
        expect(button).to_be_visible(timeout=60_000)
    except AssertionError as e:
        pytest.fail(f"the probe page did not render (missing offline assets?): {e}{details()}")
    count = page.locator(".probe-count")
    expect(count).to_have_text("Count: 0")

    button.click()
    expect(count).to_have_text("Count: 1")
    button.click()
    expect(count).to_have_text("Count: 2")

    foreign = sorted({u for u in urls if not is_local_url(u)})
    assert not foreign, "the page made requests off 127.0.0.1:\n  " + "\n  ".join(foreign)

    # The front end really came from Solara's local asset cache.
    cdn = [u for u in urls if urlsplit(u).path.startswith("/_solara/cdn/")]
    assert any("/@widgetti/solara-vuetify-app@" in u for u in cdn), (
        "no Solara front-end bundle was loaded from /_solara/cdn/" + details()
    )
    assert not bad_responses and not failed, "some requests failed" + details()

    # Every asset the app may load later (vega for charts, grid layout, ...) is served
    # locally too (a miss would make the server try its disabled CDN and answer 404).
    for spec, key_file in required_assets().items():
        response = page.request.get(f"{server.url}_solara/cdn/{spec}/{key_file}")
        assert response.ok, f"{spec}/{key_file}: HTTP {response.status}" + details()
