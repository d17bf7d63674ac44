"""The live browser app: ``solara run viz.app:Page`` (or ``reegame app``).

The page holds one :class:`viz.state.Session` per browser tab (a live run and
an untouched reference run). Controls come from :mod:`viz.controls`, charts
from :mod:`viz.charts`, panels from :mod:`viz.panels`; this file only lays
them out and runs the Play loop.
"""

from __future__ import annotations

import threading
import time

import solara

from model.scenario import available_scenarios
from viz.controls import PolicyControls
from viz.panels import ChartTabs, EventsNow, Exports, Status
from viz.state import DEFAULT_SEED, Session

#: Play runs at most this many months between two redraws when drawing is slow.
MAX_CATCH_UP_MONTHS = 12


def months_this_frame(lag_s: float, months_per_s: float, months_left: int) -> int:
    """Months to play before the next redraw: one, plus those the last frames fell behind by.

    Keeps Play at the chosen speed when a month plus its redraw takes longer than
    ``1 / months_per_s`` (the chart then skips frames, not months); never past the horizon.
    """
    behind = int(lag_s * months_per_s)
    return max(1, min(MAX_CATCH_UP_MONTHS, 1 + behind, months_left))


@solara.component
def Page():
    """Lay out the page: run and policy controls on the left, charts on the right."""
    session = solara.use_memo(lambda: Session(seed=DEFAULT_SEED), [])
    version = solara.use_reactive(0)
    playing = solara.use_reactive(False)
    speed = solara.use_reactive(5)

    def bump() -> None:
        version.value += 1

    def play(cancel: threading.Event) -> None:
        lag = 0.0
        while playing.value and not cancel.is_set():
            begun = time.perf_counter()
            months = months_this_frame(lag, speed.value, session.horizon - session.month)
            ok = session.step(months)
            bump()
            if not ok or session.month >= session.horizon:
                playing.value = False
                return
            budget = months / speed.value
            spent = time.perf_counter() - begun
            lag = max(0.0, spent - budget)
            cancel.wait(max(0.0, budget - spent))

    solara.use_thread(play, dependencies=[playing.value], intrusive_cancel=False)

    solara.Title("reegame: rare-earth supply chain")
    with solara.Sidebar():
        RunControls(session, playing, speed, bump)
        PolicyControls(session, version.value, bump)
    with solara.Column(style={"padding": "8px"}):
        Status(session, version.value, playing.value)
        ChartTabs(session, version.value)
        EventsNow(session, version.value)
        Exports(session, version.value)


@solara.component
def RunControls(session: Session, playing: solara.Reactive, speed: solara.Reactive, bump):
    """Show scenario, seed, Reset, Step, Play/Pause and speed."""
    scenarios = list(available_scenarios())

    def reset(scenario: str | None = None, seed: int | None = None) -> None:
        playing.value = False
        session.reset(scenario, seed)
        bump()

    def step() -> None:
        session.step()
        bump()

    with solara.Card("Run", margin=0):
        solara.Select(
            "Scenario",
            values=scenarios,
            value=str(session.scenario),
            on_value=lambda name: reset(scenario=name),
            disabled=playing.value,
        )
        solara.InputInt(
            "Seed",
            value=session.seed,
            disabled=playing.value,
            on_value=lambda seed: reset(seed=seed),
        )
        with solara.Row(gap="6px"):
            solara.Button("Reset", on_click=lambda: reset(), outlined=True, classes=["ree-reset"])
            solara.Button("Step", on_click=step, disabled=playing.value, color="primary", classes=["ree-step"])
            if playing.value:
                solara.Button(
                    "Pause",
                    on_click=lambda: playing.set(False),
                    color="warning",
                    classes=["ree-pause"],
                )
            else:
                solara.Button(
                    "Play",
                    on_click=lambda: playing.set(True),
                    color="success",
                    disabled=session.month >= session.horizon,
                    classes=["ree-play"],
                )
        solara.SliderInt("Speed (months/s)", value=speed, min=1, max=24)
