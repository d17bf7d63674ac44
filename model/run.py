"""Run a scenario: ``config + seed -> tables``, the unit every experiment is built from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from model.outputs import RunTables, tables
from model.scenario import apply_overrides, load_scenario, validate
from model.schema import Scenario
from model.world import RareEarthModel


def build_model(
    scenario: str | Path | Scenario,
    seed: int = 0,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    record_firms: bool = True,
) -> RareEarthModel:
    """Load (if needed) and validate a scenario with overrides, and build its model."""
    if isinstance(scenario, Scenario):
        if overrides:
            doc = scenario.model_dump()
            apply_overrides(doc, overrides)
            scenario = validate(doc)
    else:
        scenario = load_scenario(scenario, overrides)
    model = RareEarthModel(scenario, seed=seed, record_firms=record_firms)
    model.overrides = dict(overrides) if isinstance(overrides, Mapping) else list(overrides)
    return model


def simulate(
    scenario: str | Path | Scenario,
    seed: int = 0,
    months: int | None = None,
    overrides: Iterable[str] | Mapping[str, Any] = (),
    record_firms: bool = True,
) -> RunTables:
    """Play a scenario for ``months`` (default: the scenario's horizon) and return its tables."""
    overrides = overrides if isinstance(overrides, Mapping) else list(overrides)
    model = build_model(scenario, seed, overrides, record_firms)
    model.run_months(months if months is not None else model.spec.meta.months)
    return tables(model)
