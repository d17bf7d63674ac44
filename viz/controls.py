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

import solara
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
CHINA = "CHN"


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
        node = _not_null(node)
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


def _not_null(node: dict[str, Any]) -> dict[str, Any]:
    """The non-null branch of an optional field (``float | None``)."""
    branches = [b for b in node.get("anyOf", []) if b.get("type") != "null"]
    return {**node, **branches[0]} if len(branches) == 1 else node


def strategy_parameters(family: str, name: str) -> list[FieldSpec]:
    """Numeric parameters of a strategy that the schema bounds on both sides (slider-ready)."""
    params = REGISTRY[family][name].Parameters
    fields = [_field(params, key) for key in params.model_fields]
    return [f for f in fields if f.kind in ("number", "integer") and None not in (f.minimum, f.maximum)]


@cache
def _schema(model_cls: type[BaseModel]) -> dict[str, Any]:
    return model_cls.model_json_schema()


def label(path: str) -> str:
    """Make a readable label with units from a field path.

    ``licence_review_delay_months`` -> ``Licence review delay (months)``; a dict key is
    appended: ``export_quota_t_per_year.ndpr_oxide`` -> ``Export quota ndpr oxide (t/yr)``.
    """
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
    """Return registered strategy names per lever family (``passive`` first)."""
    return {f: sorted(REGISTRY[f], key=lambda n: (n != "passive", n)) for f in LEVER_FAMILIES}


def strategy_doc(family: str, name: str) -> str:
    """First line of a strategy's docstring (which real policy it models)."""
    doc = REGISTRY[family][name].__doc__ or ""
    return doc.strip().splitlines()[0] if doc.strip() else name


def quota_ceiling_t_per_year(capacity_t_per_year: dict[str, float], commodity: str, current: float | None) -> float:
    """Slider top for a quota: the exporter's capacity (the schema has no upper bound)."""
    top = max(capacity_t_per_year.get(commodity, 0.0), current or 0.0)
    return top if top > 0 else 1.0


# ---- Solara widgets --------------------------------------------------------------------------
@solara.component
def PolicyControls(session, version: int, bump):
    """Show one country's strategies and key instruments (changes apply next month).

    ``version`` is passed down so that panels redraw when the session (mutable, hence
    equal to itself) has changed.
    """
    country = solara.use_reactive(CHINA if CHINA in session.regions else session.regions[0])
    if country.value not in session.regions:  # the scenario changed
        country.value = session.regions[0]
    code = country.value

    def apply(ok: bool) -> None:
        bump()

    with solara.Card("Policy (applies from next month)", margin=0, classes=["ree-policy"]):
        solara.Select("Country", values=session.regions, value=country, classes=["ree-country"])
        StrategyPickers(session, code, version, apply)
        QuotaSliders(session, code, version, apply)
        LicenceControls(session, code, version, apply)
        SubsidySlider(session, code, version, apply)
        _slider(
            country_field(STOCKPILE_DAYS),
            session.stockpile_days(code),
            lambda days: apply(session.set_stockpile_days(code, days)),
        )
        _slider(
            policy_field(ROYALTY),
            session.instrument(code, ROYALTY) or 0.0,
            lambda v: apply(session.intervene(code, ROYALTY, v)),
        )


@solara.component
def StrategyPickers(session, code: str, version: int, apply):
    """Choose a strategy per lever family from the registry, and its bounded parameters."""
    current = session.strategy_names(code)
    for family, names in strategy_choices().items():
        name = current[family]
        solara.Select(
            f"{family.replace('_', ' ')} strategy",
            values=names,
            value=name,
            on_value=lambda chosen, f=family: apply(session.set_strategy(code, f, chosen)),
            classes=[f"ree-strategy-{family}"],
        )
        params = session.strategy_params(code, family)
        for spec in strategy_parameters(family, name):
            if params.get(spec.path) is not None:
                _slider(
                    spec,
                    params[spec.path],
                    lambda v, f=family, n=name, p=spec.path: apply(
                        session.set_strategy(code, f, n, **{**session.strategy_params(code, f), p: v})
                    ),
                )


@solara.component
def QuotaSliders(session, code: str, version: int, apply):
    """Set export quotas on the oxides; unchecking lifts the quota."""
    capacity = session.live.spec.countries[code].capacity_t_per_year
    for commodity in QUOTA_COMMODITIES:
        path = f"{QUOTA}.{commodity}"
        value = session.instrument(code, path)
        spec = policy_field(path)
        top = quota_ceiling_t_per_year(capacity, commodity, value)

        def toggle(on: bool, c=commodity, top=top) -> None:
            quotas = dict(session.instrument(code, QUOTA) or {})
            if on:
                quotas[c] = top
            else:
                quotas.pop(c, None)
            apply(session.intervene(code, QUOTA, quotas))

        solara.Checkbox(label=f"Quota on {commodity}", value=value is not None, on_value=toggle)
        if value is not None:
            _slider(spec, value, lambda v, p=path: apply(session.intervene(code, p, v)), top=top)


@solara.component
def LicenceControls(session, code: str, version: int, apply):
    """Set licensed commodities, the approval rate and the review delay."""
    licensed = policy_field(LICENSED)
    solara.SelectMultiple(
        licensed.label,
        values=list(session.instrument(code, LICENSED) or []),
        all_values=list(licensed.choices),
        on_value=lambda v: apply(session.intervene(code, LICENSED, list(v))),
    )
    for path in (APPROVAL, DELAY):
        _slider(
            policy_field(path),
            session.instrument(code, path),
            lambda v, p=path: apply(session.intervene(code, p, v)),
        )


@solara.component
def SubsidySlider(session, code: str, version: int, apply):
    """Set a production subsidy on one commodity."""
    commodity = solara.use_reactive("ndpr_oxide")
    spec = policy_field(f"{SUBSIDY}.{commodity.value}")
    solara.Select("Subsidised commodity", values=list(policy_field(LICENSED).choices), value=commodity)
    value = session.instrument(code, spec.path) or 0.0
    _slider(spec, value, lambda v: apply(session.intervene(code, spec.path, v)))


def _slider(spec: FieldSpec, value, on_value, top: float | None = None):
    """Make a slider bounded by the schema (``top`` only where it sets no maximum)."""
    low = spec.minimum if spec.minimum is not None else 0.0
    high = spec.maximum if spec.maximum is not None else top
    shown = f"{spec.label}: {value:,.6g}"
    if spec.kind == "integer":
        return solara.SliderInt(shown, value=int(value), min=int(low), max=int(high), on_value=on_value)
    step = (high - low) / 100.0
    return solara.SliderFloat(shown, value=float(value), min=low, max=high, step=step, on_value=on_value)
