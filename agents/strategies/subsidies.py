"""Subsidy strategies: production subsidies, price floors, domestic-content rules.

Sources: US Inflation Reduction Act 30D ($7,500 per EV; critical-mineral
content 40% in 2024, +10 points a year to 100%; no "foreign entity of
concern"); July 2025 DoD-MP Materials NdPr price floor of $110/kg
(ree-facts.md, "Policy history").
"""

from __future__ import annotations

from pydantic import Field

from agents.strategies.base import Changes, Params, PublicState, Strategy, register
from model.schema import CommodityName


@register
class ProductionSubsidy(Strategy):
    """A per-kilogram subsidy to domestic producers of the named commodities."""

    name = "production_subsidy"
    family = "subsidies"
    classifier = {"stochastic": False, "memory_depth": 0, "reactive": False, "history_calibrated": False}

    class Parameters(Params):
        usd_per_kg: dict[CommodityName, float] = Field(default_factory=lambda: {"ndpr_oxide": 10.0})

    def decide(self, me: str, state: PublicState) -> Changes:
        """Keep the subsidy in force."""
        return {"production_subsidy_usd_per_kg": dict(self.params.usd_per_kg)}


@register
class PriceFloor(Strategy):
    """Guarantee domestic producers a minimum price (DoD-MP Materials, July 2025: NdPr $110/kg)."""

    name = "price_floor"
    family = "subsidies"
    classifier = {"stochastic": False, "memory_depth": 0, "reactive": False, "history_calibrated": True}

    class Parameters(Params):
        floor_usd_per_kg: dict[CommodityName, float] = Field(default_factory=lambda: {"ndpr_oxide": 110.0})

    def decide(self, me: str, state: PublicState) -> Changes:
        """Keep the floor in force."""
        return {"price_floor_usd_per_kg": dict(self.params.floor_usd_per_kg)}


@register
class DomesticContent(Strategy):
    """IRA-style content rule: a rising share of EV magnets must avoid foreign entities of concern.

    The share starts at ``start_share`` and rises by ``step_per_year`` each
    12 months to at most 1 (IRA 30D: 40% in 2024, +10 points a year).
    """

    name = "domestic_content"
    family = "subsidies"
    classifier = {"stochastic": False, "memory_depth": 0, "reactive": False, "history_calibrated": True}

    class Parameters(Params):
        start_share: float = Field(0.4, ge=0.0, le=1.0)
        step_per_year: float = Field(0.1, ge=0.0, le=1.0)
        premium_usd_per_kg: float = Field(20.0, ge=0.0, le=10000.0)
        foreign_entities_of_concern: list[str] = Field(default_factory=lambda: ["CHN"])

    def decide(self, me: str, state: PublicState) -> Changes:
        """Raise the content share on the IRA schedule."""
        p = self.params
        share = min(1.0, p.start_share + p.step_per_year * (state.month // 12))
        return {
            "domestic_content_share": share,
            "content_premium_usd_per_kg": p.premium_usd_per_kg,
            "foreign_entities_of_concern": list(p.foreign_entities_of_concern),
        }
