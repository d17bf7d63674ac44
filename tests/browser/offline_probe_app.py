"""Throwaway Solara page that proves the offline browser path (see test_offline_probe.py)."""

import solara


@solara.component
def Page():
    count, set_count = solara.use_state(0)
    with solara.Column():
        solara.Title("reegame offline probe")
        solara.Button("Increment", on_click=lambda: set_count(count + 1), color="primary")
        solara.Text(f"Count: {count}", classes=["probe-count"])
