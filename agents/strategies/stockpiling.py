"""Stockpiling strategies: a days-of-use target with a release rule.

Source: JOGMEC's rule, a national target of 60 days of use (42 state, 18
private), up to 180 days for high-risk metals (ree-facts.md).
"""

from __future__ import annotations

from pydantic import Field

from agents.strategies.base import COMMODITY_INDEX, Changes, Params, PublicState, Strategy, register
from model.schema import CommodityName


@register
class DaysOfUseTarget(Strategy):
    """Build stocks toward a days-of-use target; release them in a shortage or price spike.

    Each month buy ``1/fill_months`` of the gap to the target at prices up to
    ``ceiling_ratio`` x reference; when the local price exceeds
    ``release_price_ratio`` x reference or a magnet shortage appears, offer
    ``release_share`` of the stock.
    """

    name = "days_of_use_target"
    family = "stockpiling"
    classifier = {"stochastic": False, "memory_depth": 1, "reactive": True, "history_calibrated": True}

    class Parameters(Params):
        target_days: float | None = Field(None, ge=0.0, le=730.0, description="None: the country's stockpile_days")
        commodities: list[CommodityName] = Field(default_factory=lambda: ["ndpr_oxide", "dytb_oxide"])
        fill_months: int = Field(24, ge=1, le=240)
        ceiling_ratio: float = Field(1.2, ge=0.0, le=100.0)
        release_price_ratio: float = Field(2.0, ge=1.0, le=100.0)
        release_share: float = Field(0.1, ge=0.0, le=1.0)

    def decide(self, me: str, state: PublicState) -> Changes:
        """Set this month's buy and release volumes and the purchase ceiling."""
        p = self.params
        i = state.region(me)
        days = p.target_days if p.target_days is not None else state.stockpile_days[me]
        buy, release, ceiling = {}, {}, {}
        short = state.shortage(me) > 0
        use, stocks = state.use_t[i].tolist(), state.stockpile_t[i].tolist()
        prices, reference = state.price_usd_per_kg[:, i].tolist(), state.reference_price_usd_per_kg.tolist()
        for name in p.commodities:  # Python floats: round() on them is fast
            c = COMMODITY_INDEX[name]
            target = use[c] * 12.0 / 365.0 * days
            stock = stocks[c]
            crisis = short or prices[c] / reference[c] > p.release_price_ratio
            # Orders are placed in whole tonnes and cents (also keeps the events table readable).
            buy[name] = 0.0 if crisis else round(max(0.0, target - stock) / p.fill_months)
            release[name] = round(p.release_share * stock, 1) if crisis else 0.0
            ceiling[name] = round(p.ceiling_ratio * reference[c], 2)
        return {
            "stockpile_buy_t_per_month": buy,
            "stockpile_release_t_per_month": release,
            "stockpile_price_ceiling_usd_per_kg": ceiling,
        }
