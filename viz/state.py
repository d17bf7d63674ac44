"""Session state of the live app: a live run and an untouched reference run.

Both runs are built from the same scenario and seed and stepped together; the
user's changes (strategies, instruments, stockpile targets) go to the live run
only, apply from the next month (the model's ``month`` is the index of the
month about to be played) and are logged in its events table. Nothing here
needs a browser: the page in :mod:`viz.app` only calls these methods.
"""

from __future__ import annotations

import io
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd

from model.outputs import TABLES, RunTables, tables
from model.run import build_model
from model.scenario import available_scenarios
from model.world import RareEarthModel

DEFAULT_SEED = 7
USER = "user (app)"

Builder = Callable[[Any, int], RareEarthModel]


def default_scenario() -> str:
    """``baseline`` when shipped, else the first shipped scenario."""
    names = list(available_scenarios())
    if not names:
        raise RuntimeError("no scenarios shipped under model/scenarios/")
    return "baseline" if "baseline" in names else names[0]


def _build(scenario: Any, seed: int) -> RareEarthModel:
    return build_model(scenario, seed, record_firms=False)


class Session:
    """One browser tab's runs; every mutation holds a lock (Play steps from a thread)."""

    def __init__(self, scenario: Any = None, seed: int = DEFAULT_SEED, build: Builder = _build) -> None:
        self._lock = threading.RLock()
        self._build = build
        self.scenario = scenario if scenario is not None else default_scenario()
        self.seed = seed
        self.reset()

    # ---- runs -------------------------------------------------------------------------
    def reset(self, scenario: Any = None, seed: int | None = None) -> bool:
        """Rebuild both runs at month 0 (optionally for another scenario or seed)."""
        with self._lock:
            try:
                live = self._build(scenario if scenario is not None else self.scenario,
                                   self.seed if seed is None else seed)
                reference = self._build(scenario if scenario is not None else self.scenario,
                                        self.seed if seed is None else seed)
            except Exception as err:  # a bad scenario keeps the previous runs
                self.error = _message("Could not build the scenario", err)
                return False
            self.scenario = scenario if scenario is not None else self.scenario
            self.seed = self.seed if seed is None else seed
            self.live, self.reference = live, reference
            self.error: str | None = None
            self._cache: dict[str, tuple[Any, RunTables]] = {}
            return True

    @property
    def month(self) -> int:
        """Months played so far in the live run (also the index of the next month)."""
        return self.live.month

    @property
    def date(self) -> str:
        """Calendar date (YYYY-MM) of the next month to play."""
        return self.live.date

    @property
    def horizon(self) -> int:
        """The scenario's default horizon, months."""
        return self.live.spec.meta.months

    @property
    def regions(self) -> list[str]:
        """Country and group codes of the scenario."""
        return list(self.live.regions)

    def step(self, months: int = 1) -> bool:
        """Play ``months`` months in both runs; on failure keep a readable message."""
        with self._lock:
            try:
                for _ in range(months):
                    self.live.step()
                    while self.reference.month < self.live.month:
                        self.reference.step()
            except Exception as err:
                self.error = _message(f"Month {self.live.date} failed", err) + " Press Reset to start again."
                return False
            self.error = None
            return True

    # ---- the user's changes (live run only) -----------------------------------------------
    def intervene(self, country: str, instrument: str, value: Any) -> bool:
        """Set a policy instrument (dotted path in ``Policy``) from the next month."""
        with self._lock:
            return self._guard(lambda: self.live.intervene(country, instrument, value, note=USER))

    def set_strategy(self, country: str, family: str, name: str, **params: Any) -> bool:
        """Replace a country's strategy for one lever family; it decides from the next month."""
        def change() -> None:
            agent = self.live.countries[country]
            old = agent.strategies[family].name
            agent.set_strategy(family, name, **params)
            self.live.recorder.event(country, f"strategy.{family}", old, name, USER)

        with self._lock:
            return self._guard(change)

    def set_stockpile_days(self, country: str, days: float) -> bool:
        """Change a country's state stockpile target (days of use), checked by the schema."""
        def change() -> None:
            agent = self.live.countries[country]
            checked = agent.spec.model_copy()
            checked.stockpile_days = days  # validate_assignment: out of range raises
            old, agent.stockpile_days = agent.stockpile_days, checked.stockpile_days
            self.live.recorder.event(country, "stockpile_days", old, checked.stockpile_days, USER)

        with self._lock:
            return self._guard(change)

    def _guard(self, change: Callable[[], None]) -> bool:
        try:
            change()
        except Exception as err:
            self.error = _message("Change refused", err)
            return False
        self.error = None
        return True

    # ---- what the page shows ----------------------------------------------------------------
    def strategy_names(self, country: str) -> dict[str, str]:
        """The live run's strategy name per lever family for one country."""
        return {f: s.name for f, s in self.live.countries[country].strategies.items()}

    def pending(self) -> list[tuple[str, str, Any]]:
        """Instrument changes waiting for the next month: (country, instrument, value)."""
        return [(code, instrument, value) for code, instrument, value, _ in self.live.pending]

    def live_tables(self) -> RunTables:
        """Tables of the live run so far (cached until it changes)."""
        key = (self.live.month, len(self.live.recorder.events))
        return self._cached("live", key, self.live)

    def reference_tables(self) -> RunTables:
        """Tables of the reference run so far (cached until it is stepped)."""
        return self._cached("reference", self.reference.month, self.reference)

    def _cached(self, name: str, key: Any, run: RareEarthModel) -> RunTables:
        with self._lock:
            hit = self._cache.get(name)
            if hit is None or hit[0] != key:
                hit = (key, tables(run))
                self._cache[name] = hit
            return hit[1]

    def file_stem(self) -> str:
        """A file name stem that says which run a download came from."""
        name = getattr(self.scenario, "meta", None)
        scenario = name.name if name is not None else str(self.scenario)
        return f"reegame_{scenario}_seed{self.seed}_month{self.month}"


def table_csv(run: RunTables, name: str) -> bytes:
    """One table of a run as CSV bytes (what the CSV download holds)."""
    return _table(run, name).to_csv(index=False).encode("utf-8")


def table_parquet(run: RunTables, name: str) -> bytes:
    """One table of a run as Parquet bytes (what the Parquet download holds)."""
    buffer = io.BytesIO()
    _table(run, name).to_parquet(buffer, index=False)
    return buffer.getvalue()


def _table(run: RunTables, name: str) -> pd.DataFrame:
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; tables: {', '.join(TABLES)}")
    return getattr(run, name)


def _message(what: str, err: Exception) -> str:
    text = str(err).strip() or type(err).__name__
    return f"{what}: {text}"
