"""Controls derived from the scenario schema: labels, units, bounds and choices.

Every range comes from the pydantic models in :mod:`model.schema` (their JSON
schema), and every strategy choice from ``agents.strategies.REGISTRY``;
nothing here retypes a bound. The Solara widgets themselves are in
:mod:`viz.app`.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from typing import Any

from pydantic import BaseModel

from agents.strategies import REGISTRY
from model.schema import LEVER_FAMILIES, Country, Policy

#: Unit suffixes of field names (STYLE: units live in names) and how to show them.
UNITS = (
    ("_usd_per_kg", "USD/kg"),
    ("_t_per_year", "t/yr"),
    ("_t_per_month", "t/month"),
    ("_months", "months"),
    ("_days", "days"),
    ("_share", "share"),
    ("_rate", "share"),
)

#: The instruments the app offers, as dotted paths inside ``Policy`` (``{c}``: a commodity).
QUOTA_COMMODITIES = ("ndpr_oxide", "dytb_oxide")
QUOTA = "export_quota_t_per_year"
APPROVAL = "licence_approval_rate"
DELAY = "licence_review_delay_months"
LICENSED = "licence_commodities"
SUBSIDY = "production_subsidy_usd_per_kg"
ROYALTY = "patent_royalty_share"
STOCKPILE_DAYS = "stockpile_days"  # a Country field, not a Policy instrument


@dataclass(frozen=True)
class FieldSpec:
    """What a control needs to know about one schema field."""

    path: str
    label: str
    description: str
    kind: str  # "number", "integer", "array"
    minimum: float | None
    maximum: float | None
    choices: tuple[str, ...] = ()

    @property
    def step(self) -> float:
        """Slider step: 1 for integers, 1/100 of the range for numbers."""
        if self.kind == "integer":
            return 1
        span = (self.maximum or 1.0) - (self.minimum or 0.0)
        return span / 100.0

    def clamp(self, value: float) -> float:
        """``value`` moved inside the schema's bounds."""
        if self.minimum is not None:
            value = max(value, self.minimum)
        if self.maximum is not None:
            value = min(value, self.maximum)
        return value


def policy_field(path: str) -> FieldSpec:
    """Spec of an instrument, a dotted path inside ``Policy`` (dict keys allowed)."""
    return _field(Policy, path)


def country_field(path: str) -> FieldSpec:
    """Spec of a field of ``Country`` (e.g. ``stockpile_days``)."""
    return _field(Country, path)


def _field(model_cls: type[BaseModel], path: str) -> FieldSpec:
    node = _schema(model_cls)
    description = ""
    for key in path.split("."):
        if key in node.get("properties", {}):
            node = node["properties"][key]
        elif isinstance(node.get("additionalProperties"), dict):
            node = node["additionalProperties"]
        else:
            raise KeyError(f"{model_cls.__name__} has no field {path!r}")
        description = node.get("description", description)
    items = node.get("items", {})
    return FieldSpec(
        path=path,
        label=label(path),
        description=description,
        kind=node.get("type", "number"),
        minimum=node.get("minimum", node.get("exclusiveMinimum")),
        maximum=node.get("maximum", node.get("exclusiveMaximum")),
        choices=tuple(items.get("enum", ())),
    )


@cache
def _schema(model_cls: type[BaseModel]) -> dict[str, Any]:
    return model_cls.model_json_schema()


def label(path: str) -> str:
    """A readable label with units from a field path: ``licence_review_delay_months`` ->
    ``Licence review delay (months)``; a dict key is appended: ``... ndpr_oxide``."""
    field, _, key = path.partition(".")
    unit = ""
    for suffix, shown in UNITS:
        if field.endswith(suffix):
            field, unit = field[: -len(suffix)], shown
            break
    text = field.replace("_", " ").capitalize()
    if key:
        text += f" {key.replace('_', ' ')}"
    return f"{text} ({unit})" if unit else text


def strategy_choices() -> dict[str, list[str]]:
    """Registered strategy names per lever family (``passive`` first)."""
    return {f: sorted(REGISTRY[f], key=lambda n: (n != "passive", n)) for f in LEVER_FAMILIES}


def strategy_doc(family: str, name: str) -> str:
    """First line of a strategy's docstring (which real policy it models)."""
    doc = REGISTRY[family][name].__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else name


def quota_ceiling_t_per_year(capacity_t_per_year: dict[str, float], commodity: str,
                             current: float | None) -> float:
    """Slider top for a quota: the exporter's capacity (the schema has no upper bound)."""
    top = max(capacity_t_per_year.get(commodity, 0.0), current or 0.0)
    return top if top > 0 else 1.0
