"""Export-control strategies: quotas, licence regimes, bans and retaliation.

Sources: China's quota history (USGS OFR 2011-1042); the April 2025 licences
and their 45-working-day review (MOFCOM announcements 18/2025, via
ree-facts.md); the Sept 2010 informal embargo on Japan.
"""

from __future__ import annotations

from pydantic import Field

from agents.strategies.base import Changes, Params, PublicState, Strategy, register
from model.schema import COMMODITIES, CommodityName


@register
class FixedQuota(Strategy):
    """A fixed annual export quota per commodity (China 2010-2014 style, USGS OFR 2011-1042)."""

    name = "fixed_quota"
    family = "export_controls"
    classifier = {"stochastic": False, "memory_depth": 0, "reactive": False, "history_calibrated": False}

    class Parameters(Params):
        quota_t_per_year: dict[CommodityName, float] = Field(
            default_factory=lambda: {"ndpr_oxide": 6000.0, "dytb_oxide": 600.0}
        )

    def decide(self, me: str, state: PublicState) -> Changes:
        """Hold the quota at its fixed level."""
        return {"export_quota_t_per_year": dict(self.params.quota_t_per_year)}


@register
class LicenceRegime(Strategy):
    """Export licences with an approval rate and review delay (China, April 2025)."""

    name = "licence_regime"
    family = "export_controls"
    classifier = {"stochastic": False, "memory_depth": 0, "reactive": False, "history_calibrated": True}

    class Parameters(Params):
        commodities: list[CommodityName] = Field(default_factory=lambda: ["dytb_oxide", "ndfeb_magnet"])
        approval_rate: float = Field(0.5, ge=0.0, le=1.0)
        review_delay_months: int = Field(2, ge=0, le=24)
        exempt: list[str] = Field(default_factory=list)

    def decide(self, me: str, state: PublicState) -> Changes:
        """Keep the regime in force."""
        p = self.params
        return {
            "licence_commodities": list(p.commodities),
            "licence_approval_rate": p.approval_rate,
            "licence_review_delay_months": p.review_delay_months,
            "licence_exempt": list(p.exempt),
        }


@register
class TitForTat(Strategy):
    """Ban exports to any country that restricted its own exports to us last month.

    Axelrod's tit-for-tat carried to trade: cooperate (open trade) first, then
    copy the opponent's last move toward us, for the commodities named.
    """

    name = "tit_for_tat"
    family = "export_controls"
    classifier = {"stochastic": False, "memory_depth": 1, "reactive": True, "history_calibrated": False}

    class Parameters(Params):
        commodities: list[CommodityName] = Field(default_factory=lambda: list(COMMODITIES))
        opponents: list[str] = Field(default_factory=list, description="empty: everyone")

    def decide(self, me: str, state: PublicState) -> Changes:
        """Ban exactly the countries that restricted us last month."""
        others = self.params.opponents or [r for r in state.regions if r != me]
        hostile = sorted(o for o in others if o in state.policies and state.restricts(o, me))
        return {"export_ban": {c: list(hostile) for c in self.params.commodities}}


@register
class ShortageEmbargo(Strategy):
    """Graduated escalation: ban a target while the target's imports from us stay high.

    A stylised coercion rule: when the target's share of our exports exceeds a
    threshold, impose a ban on it for ``duration_months``, then lift it.
    """

    name = "embargo"
    family = "export_controls"
    classifier = {"stochastic": False, "memory_depth": 1, "reactive": False, "history_calibrated": False}

    class Parameters(Params):
        target: str = "JPN"
        commodities: list[CommodityName] = Field(default_factory=lambda: ["ndpr_oxide", "dytb_oxide"])
        start_month: int = Field(0, ge=0, le=1200)
        duration_months: int = Field(2, ge=1, le=1200)

    def decide(self, me: str, state: PublicState) -> Changes:
        """Ban the target inside the embargo window, lift it outside."""
        p = self.params
        on = p.start_month <= state.month < p.start_month + p.duration_months
        return {"export_ban": {c: ([p.target] if on else []) for c in p.commodities}}
