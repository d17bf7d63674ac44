"""Session state of the live app: a live run and an untouched reference run.

Both runs are built from the same scenario and seed and stepped together; the
user's changes (strategies, instruments, stockpile targets) go to the live run
only, apply from the next month (the model's ``month`` is the index of the
month about to be played) and are logged in its events table. Nothing here
needs a browser: the page in :mod:`viz.app` only calls these methods.
"""

from __future__ import annotations

import copy
import dataclasses
import io
import threading
from collections.abc import Callable
from typing import Any

import pandas as pd
from pydantic import ValidationError

from agents.strategies import make_strategy
from model.outputs import TABLES, RunTables, tables
from model.run import build_model
from model.scenario import available_scenarios, format_errors, set_path
from model.world import RareEarthModel

DEFAULT_SEED = 7
#: The reference run is played this many months at a time, its tables built once per batch
#: and cut at the live month (a table rebuild every month costs more than a month's step).
REFERENCE_AHEAD = 12
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
        if not self.reset():
            raise RuntimeError(self.error)

    # ---- runs -------------------------------------------------------------------------
    def reset(self, scenario: Any = None, seed: int | None = None) -> bool:
        """Rebuild both runs at month 0 (optionally for another scenario or seed)."""
        with self._lock:
            try:
                live = self._build(
                    scenario if scenario is not None else self.scenario,
                    self.seed if seed is None else seed,
                )
                reference = self._build(
                    scenario if scenario is not None else self.scenario,
                    self.seed if seed is None else seed,
                )
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
                    if self.reference.month < self.live.month:
                        self.reference.run_months(self.live.month - self.reference.month + REFERENCE_AHEAD - 1)
            except Exception as err:
                self.error = _message(f"Month {self.live.date} failed", err) + " Press Reset to start again."
                return False
            self.error = None
            return True

    # ---- the user's changes (live run only) -----------------------------------------------
    def intervene(self, country: str, instrument: str, value: Any) -> bool:
        """Set a policy instrument (dotted path in ``Policy``) from the next month.

        The model keeps one pending value per instrument (a dragged slider asks many
        times), so one event is logged per month.
        """
        with self._lock:
            return self._guard(lambda: self.live.intervene(country, instrument, value, note=USER))

    def set_strategy(self, country: str, family: str, name: str, **params: Any) -> bool:
        """Choose a country's strategy for one lever family; it decides from the next month."""
        with self._lock:
            return self._guard(lambda: self.live.set_strategy(country, family, name, note=USER, **params))

    def set_stockpile_days(self, country: str, days: float) -> bool:
        """Change a country's state stockpile target (days of use) from the next month."""
        with self._lock:
            return self._guard(lambda: self.live.set_stockpile_days(country, days, note=USER))

    def _queued(self, country: str, what: str) -> Any:
        """The pending value of one change, or None."""
        for code, path, value, _ in self.live.pending:
            if (code, path) == (country, what):
                return value
        return None

    def _guard(self, change: Callable[[], None]) -> bool:
        try:
            change()
        except Exception as err:
            self.error = _message("Change refused", err)
            return False
        self.error = None
        return True

    # ---- what the page shows ----------------------------------------------------------------
    def strategy_params(self, country: str, family: str) -> dict[str, Any]:
        """Return the parameters of a country's strategy (a queued choice's, if any)."""
        queued = self._queued(country, f"strategy.{family}")
        if queued is not None:
            params = {k: v for k, v in queued.items() if k != "name"}
            return make_strategy(family, queued["name"], **params).params.model_dump()
        return self.live.countries[country].strategies[family].params.model_dump()

    def strategy_names(self, country: str) -> dict[str, str]:
        """Strategy name per lever family for one country (a queued choice shows as chosen)."""
        names = {f: s.name for f, s in self.live.countries[country].strategies.items()}
        for family in names:
            queued = self._queued(country, f"strategy.{family}")
            names[family] = queued["name"] if queued is not None else names[family]
        return names

    def stockpile_days(self, country: str) -> float:
        """Return a country's stockpile target, days of use (a queued change shows as set)."""
        queued = self._queued(country, "stockpile_days")
        return queued if queued is not None else self.live.countries[country].stockpile_days

    def instrument(self, country: str, instrument: str) -> Any:
        """Return an instrument's value for next month: value in force, pending changes applied."""
        doc = self.live.countries[country].policy.model_dump()
        for code, path, value, _ in self.live.pending:
            if code == country and path != "stockpile_days" and not path.startswith("strategy."):
                set_path(doc, path, copy.deepcopy(value))
        node: Any = doc
        for key in instrument.split("."):
            node = node.get(key) if isinstance(node, dict) else None
        return node

    def pending(self) -> list[tuple[str, str, Any]]:
        """List changes waiting for the next month: (country, what, value)."""
        return [
            (code, path, value["name"] if path.startswith("strategy.") else value)
            for code, path, value, _ in self.live.pending
        ]

    def data_key(self) -> tuple[int, int, int]:
        """Return a key that changes with what charts show (rebuilt, stepped, events)."""
        return (
            id(self.live),
            self.live.month,
            len(self.live.recorder.events),
            self.reference.month,
        )

    def live_tables(self) -> RunTables:
        """Tables of the live run so far (cached until it changes)."""
        key = (self.live.month, len(self.live.recorder.events))
        return self._cached("live", key, self.live)

    def reference_tables(self) -> RunTables:
        """Tables of the reference run up to the live run's month."""
        with self._lock:
            full = self._cached("reference", self.reference.month, self.reference)
            key = (self.reference.month, self.live.month)
            hit = self._cache.get("reference_cut")
            if hit is None or hit[0] != key:
                hit = (key, until(full, self.live.month))
                self._cache["reference_cut"] = hit
            return hit[1]

    def _cached(self, name: str, key: Any, run: RareEarthModel) -> RunTables:
        with self._lock:
            hit = self._cache.get(name)
            if hit is None or hit[0] != key:
                hit = (key, tables(run))
                self._cache[name] = hit
            return hit[1]

    def file_stem(self) -> str:
        """Return a file name stem that says which run a download came from."""
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


def until(run: RunTables, months: int) -> RunTables:
    """The tables of a run's first ``months`` months."""
    cut = {
        name: df[df["month"] < months].reset_index(drop=True) if "month" in df else df
        for name, df in run.as_dict().items()
    }
    return dataclasses.replace(run, **cut)


def largest_price_gap(live: pd.DataFrame, reference: pd.DataFrame) -> tuple[float, str, str] | None:
    """Largest relative price difference, live vs reference, in the latest common month.

    Returns ``(share, commodity, region)``, or None before the first month.
    """
    if live.empty or reference.empty:
        return None
    month = min(live["month"].max(), reference["month"].max())
    keys = ["commodity", "region"]
    a = live[live["month"] == month].set_index(keys)["price_usd_per_kg"]
    b = reference[reference["month"] == month].set_index(keys)["price_usd_per_kg"]
    gap = ((a - b).abs() / b).fillna(0.0)
    commodity, region = gap.idxmax()
    return float(gap.max()), str(commodity), str(region)


def _table(run: RunTables, name: str) -> pd.DataFrame:
    if name not in TABLES:
        raise ValueError(f"unknown table {name!r}; tables: {', '.join(TABLES)}")
    return getattr(run, name)


def _message(what: str, err: Exception) -> str:
    """Make a short message: field, value and allowed range, no pydantic links."""
    text = format_errors(err) if isinstance(err, ValidationError) else str(err)
    text = text.replace("invalid scenario:", "")
    lines = [line for line in text.strip().splitlines() if "errors.pydantic.dev" not in line]
    return f"{what}: {' '.join(line.strip() for line in lines) or type(err).__name__}"
