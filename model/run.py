"""Run a scenario: ``config + seed -> tables``, the unit every experiment is built from."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from model.outputs import RunTables, tables
from model.scenario import load_scenario
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
            from model.scenario import set_path, validate

            doc = scenario.model_dump()
            items = overrides.items() if isinstance(overrides, Mapping) else (_split(o) for o in overrides)
            for path, value in items:
                set_path(doc, path, value)
            scenario = validate(doc)
    else:
        scenario = load_scenario(scenario, overrides)
    model = RareEarthModel(scenario, seed=seed, record_firms=record_firms)
    model.overrides = dict(overrides) if isinstance(overrides, Mapping) else list(overrides)
    return model


def _split(text: str) -> tuple[str, Any]:
    from model.scenario import parse_assignment

    return parse_assignment(text)


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
