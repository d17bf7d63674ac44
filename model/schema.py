"""The scenario schema: every parameter typed, bounded and named with its unit.

This module is the single source of parameter declarations. The loader
(`model.scenario`), the command line (`--set`), the app's controls and the
sweep ranges all read bounds and descriptions from these models, never
retype them. Field names carry units (`_t_per_year`, `_usd_per_kg`,
`_months`, `_days`, `_share`, `_rate`).
"""

from __future__ import annotations

import re
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

STAGES = ("mining", "separation", "magnets", "end_use")
COMMODITIES = ("concentrate", "heavy_concentrate", "ndpr_oxide", "dytb_oxide", "ndfeb_magnet")
SECTORS = ("ev", "wind", "electronics", "industrial", "defense")
LEVER_FAMILIES = ("export_controls", "subsidies", "licensing", "stockpiling")
#: Non-ISO codes used for groups, after the World Bank's convention.
GROUP_CODES = {"EUU": "European Union (27)", "ROW": "Rest of world"}

Stage = Literal["mining", "separation", "magnets", "end_use"]
CommodityName = Literal["concentrate", "heavy_concentrate", "ndpr_oxide", "dytb_oxide", "ndfeb_magnet"]
SectorName = Literal["ev", "wind", "electronics", "industrial", "defense"]
Share = Annotated[float, Field(ge=0.0, le=1.0)]
NonNegative = Annotated[float, Field(ge=0.0)]
Price = Annotated[float, Field(gt=0.0, le=1.0e6)]


class Strict(BaseModel):
    """Base for every schema model: unknown keys are errors, values validated on set."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, frozen=False)


class Meta(Strict):
    """What the scenario is, when it starts and where its numbers come from."""

    name: str = Field(min_length=1, max_length=64, pattern=r"^[a-z0-9][a-z0-9\-_]*$")
    title: str = Field(min_length=1)
    description: str = ""
    start_date: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="month 0, YYYY-MM")
    months: int = Field(ge=1, le=1200, description="default horizon, months")
    sources: list[str] = Field(default_factory=list, description="citations (ree-facts.md)")


class Commodity(Strict):
    """A traded material: unit, stage that produces it, reference price and freight."""

    unit: Literal["t REO", "t oxide", "t magnet"]
    produced_by: Stage
    reference_price_usd_per_kg: Price = Field(description="price that anchors bids, USD/kg")
    transport_cost_usd_per_kg: NonNegative = Field(le=100.0, description="freight between regions")
    source: str = ""


class SeparationYield(Strict):
    """Oxides recovered from one tonne of a concentrate (t oxide per t REO)."""

    ndpr_oxide: Share
    dytb_oxide: Share
    coproducts_usd_per_kg: float = Field(
        0.0, ge=0.0, le=1000.0, description="value of the other oxides (La, Ce, Y, ...) per kg REO feed"
    )
    source: str = ""


class MagnetRecipe(Strict):
    """Oxide content of one tonne of sintered NdFeB magnet."""

    ndpr_oxide_t_per_t: float = Field(gt=0.0, le=1.0)
    dytb_min_share_of_grade: Share = Field(
        0.5, description="short-run floor of Dy/Tb use per t, share of a maker's grade (thrifting within the plant)"
    )
    source: str = ""


class Sector(Strict):
    """An end-use sector: how much magnet a unit needs and what a missing unit costs."""

    unit_name: str
    magnet_kg_per_unit: float = Field(gt=0.0, le=1.0e5)
    value_lost_usd_per_unit: float = Field(ge=0.0, le=1.0e9, description="margin lost per unit not built")
    choke_price_usd_per_kg: Price = Field(description="highest price paid for magnets before units are cancelled")
    demand_elasticity: float = Field(ge=0.0, le=3.0, description="short-run price elasticity, absolute")
    thrift_max_share_per_year: Share = Field(description="largest yearly cut in magnet intensity")
    thrift_floor_share: Share = Field(description="lowest intensity reachable, share of initial")
    thrift_trigger_price_ratio: float = Field(ge=1.0, le=100.0, description="price/reference that starts thrifting")
    source: str = ""


class Market(Strict):
    """How markets clear and firms behave, common to all countries."""

    price_resolution_share: float = Field(0.01, ge=1e-4, le=0.5, description="width of a price step, relative")
    demand_steps: int = Field(8, ge=2, le=32, description="steps of each end-use demand curve")
    carry_cost_share_per_month: float = Field(0.01, ge=0.0, le=0.2, description="holding cost of stock, share of value")
    expectation_weight: Share = Field(0.3, description="weight of the latest price in adaptive expectations")
    input_cover_days: float = Field(45.0, ge=0.0, le=365.0, description="firms' normal input stock, days of use")
    precautionary_cover_days: float = Field(
        90.0, ge=0.0, le=730.0, description="extra cover sought when restrictions are expected"
    )
    exit_after_loss_months: int = Field(18, ge=1, le=120, description="months of losses before a plant idles")
    restart_after_profit_months: int = Field(
        12, ge=1, le=120, description="months of expected profit before an idle plant restarts"
    )
    investment_review_months: int = Field(12, ge=1, le=60, description="months between investment reviews")
    expansion_share: Share = Field(0.15, description="capacity added by one investment, share of current")
    lead_time_months: dict[Stage, int] = Field(
        default_factory=lambda: {"mining": 120, "separation": 36, "magnets": 24, "end_use": 12},
        description="construction lead time by stage, months",
    )
    capex_usd_per_t_per_year: dict[Stage, float] = Field(
        default_factory=lambda: {"mining": 40000.0, "separation": 60000.0, "magnets": 20000.0, "end_use": 0.0},
        description="capital cost per t/yr of new capacity",
    )
    demand_noise_share: float = Field(
        0.02, ge=0.0, le=0.5, description="s.d. of monthly end-use demand shocks, relative"
    )
    cost_spread_share: float = Field(
        0.15, ge=0.0, le=0.9, description="spread of synthetic firms' unit costs around the country cost"
    )
    recycling_share: Share = Field(0.02, description="share of magnet use returning as NdPr oxide")
    recycling_cost_usd_per_kg: Price = 40.0
    source: str = ""

    @field_validator("lead_time_months")
    @classmethod
    def _lead_times_bounded(cls, v: dict[str, int]) -> dict[str, int]:
        for stage, months in v.items():
            if not 0 <= months <= 480:
                raise ValueError(f"lead_time_months.{stage}={months} outside [0, 480]")
        return v


class StrategyChoice(Strict):
    """A strategy by name with its parameters (validated by the strategy itself)."""

    model_config = ConfigDict(extra="allow", validate_assignment=True)
    name: str = "passive"


class Strategies(Strict):
    """One strategy per lever family."""

    export_controls: StrategyChoice = Field(default_factory=StrategyChoice)
    subsidies: StrategyChoice = Field(default_factory=StrategyChoice)
    licensing: StrategyChoice = Field(default_factory=StrategyChoice)
    stockpiling: StrategyChoice = Field(default_factory=StrategyChoice)


class Policy(Strict):
    """A country's instruments in force. Strategies and scheduled events change these."""

    export_quota_t_per_year: dict[CommodityName, NonNegative] = Field(default_factory=dict)
    export_duty_rate: dict[CommodityName, Annotated[float, Field(ge=0.0, le=5.0)]] = Field(default_factory=dict)
    import_tariff_rate: dict[CommodityName, Annotated[float, Field(ge=0.0, le=5.0)]] = Field(default_factory=dict)
    export_ban: dict[CommodityName, list[str]] = Field(
        default_factory=dict, description="destinations banned, ISO codes or '*'"
    )
    licence_commodities: list[CommodityName] = Field(default_factory=list)
    licence_approval_rate: Share = 1.0
    licence_review_delay_months: int = Field(0, ge=0, le=24)
    licence_exempt: list[str] = Field(default_factory=list, description="destinations not needing a licence")
    production_subsidy_usd_per_kg: dict[CommodityName, Annotated[float, Field(ge=0.0, le=1000.0)]] = Field(
        default_factory=dict
    )
    price_floor_usd_per_kg: dict[CommodityName, Annotated[float, Field(ge=0.0, le=10000.0)]] = Field(
        default_factory=dict
    )
    domestic_content_share: Share = Field(
        0.0, description="IRA-style share of magnets that must come from compliant origins"
    )
    content_rule_sectors: list[SectorName] = Field(default_factory=lambda: ["ev"])
    content_premium_usd_per_kg: float = Field(
        0.0, ge=0.0, le=10000.0, description="credit earned per kg of compliant magnet"
    )
    foreign_entities_of_concern: list[str] = Field(default_factory=list)
    patent_royalty_share: Share = Field(
        0.0, description="royalty asked by this country's patent holders, share of sales"
    )
    patent_refused: list[str] = Field(
        default_factory=list, description="countries whose magnet makers are refused licences"
    )
    compulsory_licence_royalty_share: Share = Field(
        0.0, description="royalty set by this country's courts, 0 = none granted"
    )
    stockpile_buy_t_per_month: dict[CommodityName, NonNegative] = Field(default_factory=dict)
    stockpile_release_t_per_month: dict[CommodityName, NonNegative] = Field(default_factory=dict)
    stockpile_price_ceiling_usd_per_kg: dict[CommodityName, Annotated[float, Field(ge=0.0, le=1.0e5)]] = Field(
        default_factory=dict
    )


class PayoffWeights(Strict):
    """Weights of a country's payoff: a declared, weighted sum of its components."""

    producer_surplus: float = Field(1.0, ge=0.0, le=10.0)
    consumer_surplus: float = Field(1.0, ge=0.0, le=10.0)
    fiscal_cost: float = Field(1.0, ge=0.0, le=10.0)
    supply_security: float = Field(1.0, ge=0.0, le=10.0)


class StageCosts(Strict):
    """Unit processing costs of synthetic firms, USD/kg of output (inputs excluded)."""

    mining_usd_per_kg: Price = 4.0
    separation_usd_per_kg: Price = 4.0
    magnets_usd_per_kg: Price = 15.0


class Country(Strict):
    """A country or group: demand, totals for synthetic firms, instruments and strategies."""

    name: str
    alliances: list[str] = Field(default_factory=list)
    environmental_cost_usd_per_kg: float = Field(0.0, ge=0.0, le=1000.0, description="added to separation cost")
    hurdle_rate_per_year: float = Field(0.10, ge=0.0, le=1.0)
    stockpile_days: float = Field(0.0, ge=0.0, le=730.0, description="state stockpile target, days of use")
    stockpile_t: dict[CommodityName, NonNegative] = Field(
        default_factory=dict, description="state stockpile at month 0"
    )
    magnet_demand_t_per_year: dict[SectorName, NonNegative] = Field(default_factory=dict)
    demand_growth_per_year: float = Field(0.0, ge=-0.5, le=1.0)
    capacity_t_per_year: dict[CommodityName, NonNegative] = Field(
        default_factory=dict, description="country total capacity; synthetic firms fill the gap left by named ones"
    )
    costs: StageCosts = Field(default_factory=StageCosts)
    synthetic_firms: int = Field(3, ge=1, le=100000, description="synthetic firms per (stage, commodity) gap")
    payoff_weights: PayoffWeights = Field(default_factory=PayoffWeights)
    policy: Policy = Field(default_factory=Policy)
    strategies: Strategies = Field(default_factory=Strategies)
    source: str = ""


class Firm(Strict):
    """A named facility: a mine, separation plant or magnet maker."""

    name: str
    country: str
    stage: Literal["mining", "separation", "magnets"]
    commodity: CommodityName = Field(description="miners: the concentrate they produce; others: main output")
    capacity_t_per_year: NonNegative = Field(
        le=1.0e7, description="miners: t REO concentrate; separators: t REO feed; magnet makers: t magnet"
    )
    unit_cost_usd_per_kg: Price = Field(
        description="processing cost, inputs excluded: per kg REO mined, per kg REO feed separated, per kg magnet"
    )
    heavy_capable: bool = Field(False, description="separators: can process heavy (ionic-clay) concentrate")
    dytb_share: Share = Field(0.0, description="magnet makers: t DyTb oxide per t magnet (grade)")
    patent_licensed: bool = Field(True, description="magnet makers: holds a licence for high-grade magnets")
    online_date: str | None = Field(None, pattern=r"^\d{4}-(0[1-9]|1[0-2])$", description="first month of output")
    source: str = ""

    @model_validator(mode="after")
    def _commodity_matches_stage(self) -> Firm:
        expected = {
            "mining": {"concentrate", "heavy_concentrate"},
            "separation": {"ndpr_oxide", "dytb_oxide"},
            "magnets": {"ndfeb_magnet"},
        }[self.stage]
        if self.commodity not in expected:
            raise ValueError(
                f"commodity={self.commodity!r} not made at stage {self.stage!r}; allowed {sorted(expected)}"
            )
        return self


class Link(Strict):
    """An override of one trade link (or a family of them with '*')."""

    exporter: str
    importer: str
    commodity: CommodityName | Literal["*"] = "*"
    transport_cost_usd_per_kg: float | None = Field(None, ge=0.0, le=100.0)
    tariff_rate: float | None = Field(None, ge=0.0, le=5.0)
    source: str = ""


class Event(Strict):
    """A scheduled policy change: sets one instrument of one country at one month."""

    date: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    country: str
    instrument: str = Field(description="dotted path inside Policy, e.g. export_quota_t_per_year.ndpr_oxide")
    value: float | int | bool | str | list[str] | dict[str, float] | dict[str, list[str]]
    note: str = ""
    source: str = ""


class Project(Strict):
    """Capacity under construction at month 0, arriving on a date."""

    firm: str
    capacity_t_per_year: NonNegative
    online_date: str = Field(pattern=r"^\d{4}-(0[1-9]|1[0-2])$")
    source: str = ""


ISO_CODE = re.compile(r"^[A-Z]{3}$")


class Scenario(Strict):
    """A complete, validated world: the only input a model needs besides a seed."""

    meta: Meta
    market: Market = Field(default_factory=Market)
    commodities: dict[CommodityName, Commodity]
    separation_yield: dict[Literal["concentrate", "heavy_concentrate"], SeparationYield]
    magnet: MagnetRecipe
    sectors: dict[SectorName, Sector]
    countries: dict[str, Country]
    firms: dict[str, Firm] = Field(default_factory=dict)
    links: list[Link] = Field(default_factory=list)
    events: list[Event] = Field(default_factory=list)
    projects: list[Project] = Field(default_factory=list)

    @field_validator("countries")
    @classmethod
    def _country_codes(cls, v: dict[str, Country]) -> dict[str, Country]:
        for code in v:
            if not ISO_CODE.match(code):
                raise ValueError(f"country code {code!r} is not ISO 3166 alpha-3 or a documented group code")
        return v

    @model_validator(mode="after")
    def _references_resolve(self) -> Scenario:
        missing = set(COMMODITIES) - set(self.commodities)
        if missing:
            raise ValueError(f"commodities missing: {sorted(missing)}")
        codes = set(self.countries)
        for fid, firm in self.firms.items():
            if firm.country not in codes:
                raise ValueError(f"firms.{fid}.country={firm.country!r} not among countries {sorted(codes)}")
        for i, ev in enumerate(self.events):
            if ev.country not in codes:
                raise ValueError(f"events.{i}.country={ev.country!r} not among countries {sorted(codes)}")
            _check_instrument(f"events.{i}", self.countries[ev.country].policy, ev.instrument, ev.value)
        for i, link in enumerate(self.links):
            for side in ("exporter", "importer"):
                code = getattr(link, side)
                if code != "*" and code not in codes:
                    raise ValueError(f"links.{i}.{side}={code!r} not among countries {sorted(codes)}")
        for i, project in enumerate(self.projects):
            if project.firm not in self.firms:
                raise ValueError(f"projects.{i}.firm={project.firm!r} is not a firm id")
        return self


def _check_instrument(where: str, policy: Policy, instrument: str, value: object) -> None:
    """An event must name a real instrument and give it a value inside its bounds."""
    doc = policy.model_dump()
    keys = instrument.split(".")
    if keys[0] not in Policy.model_fields:
        raise ValueError(f"{where}.instrument={instrument!r}: unknown; instruments: {sorted(Policy.model_fields)}")
    node = doc
    for key in keys[:-1]:
        node = node.setdefault(key, {})
    node[keys[-1]] = value
    try:
        Policy.model_validate(doc)
    except ValueError as err:
        raise ValueError(f"{where}: {instrument} = {value!r} is not allowed: {err}") from None
