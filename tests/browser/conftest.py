"""Fixtures for browser tests: Debian's Chromium via Playwright, and Solara servers.

* ``browser``: a session-wide Playwright Chromium (``launch_chromium``).
* ``solara_server``: a session-wide factory; ``solara_server("viz/app.py")`` starts (once
  per app per session) an offline, telemetry-free ``solara run`` and returns its
  ``ServerHandle`` (``.url``); every server is stopped at the end of the session.
* ``page``: a fresh browser context and page per test, closed afterwards.

Missing assets or a missing Chromium make these fixtures raise, so tests FAIL (never skip).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from model.precompile import kernels_cached, precompile

try:  # tests/ may or may not become a package
    from .harness import ServerHandle, check_offline_assets, launch_chromium, start_solara
except ImportError:
    from harness import ServerHandle, check_offline_assets, launch_chromium, start_solara


@pytest.fixture(scope="session")
def playwright_sync(request):
    # Only one sync Playwright can run per process: reuse pytest-playwright's if it is loaded
    # (e.g. pulled in by Solara's pytest-ipywidgets).
    if request.config.pluginmanager.hasplugin("playwright"):
        yield request.getfixturevalue("playwright")
        return
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        yield p


@pytest.fixture(scope="session")
def browser(playwright_sync):
    browser = launch_chromium(playwright_sync)
    try:
        yield browser
    finally:
        browser.close()


@pytest.fixture(scope="session")
def solara_server() -> Iterator[Callable[..., ServerHandle]]:
    servers: dict[str, ServerHandle] = {}

    def start(module: str, **kwargs) -> ServerHandle:
        handle = servers.get(module)
        if handle is not None and handle.is_running():
            return handle
        check_offline_assets()
        if not kernels_cached():  # a server compiling kernels on its first click would time out
            precompile()
        handle = start_solara(module, **kwargs)
        servers[module] = handle
        return handle

    try:
        yield start
    finally:
        for handle in servers.values():
            handle.stop()


@pytest.fixture
def page(browser):
    context = browser.new_context()
    page = context.new_page()
    page.set_default_timeout(60_000)
    try:
        yield page
    finally:
        context.close()
