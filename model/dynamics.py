"""Between months: expectations, idling and restarts, investment, thrifting.

Expectations are adaptive (never perfect foresight). Plants idle after
sustained expected losses and restart after sustained expected profit
(Mountain Pass idled 2015-2018). Investment compares the expected return on
new capacity with the country's hurdle rate and arrives after the stage's
lead time. Thrifting lowers magnet intensity when magnet prices stay high
(Sprecher et al. 2017: up to ~10% of demand a year).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.behaviour import CONC, DYTB, MAGNET, NDPR
from agents.firms import MAGNETS, MINING, SEPARATION
from model.ledger import USD_PER_T_PER_USD_PER_KG as K

if TYPE_CHECKING:
    from model.world import RareEarthModel


#: Expected margins within +-10% of the unit processing cost count as break-even.
IDLE_BAND = 0.1


def update_expectations(model: RareEarthModel) -> None:
    """Adaptive expectations: move a share of the way to the latest price."""
    w = model.spec.market.expectation_weight
    model.expected += w * (model.price - model.expected)


def expected_margin(model: RareEarthModel) -> np.ndarray:
    """Expected margin per kg of output (or feed, for separators), USD/kg, per firm."""
    f, sc = model.firms, model.spec
    e, region = model.expected, f.country
    margin = np.zeros(f.n)
    mine = f.stage == MINING
    margin[mine] = (
        e[f.output[mine], region[mine]] + model.subsidy[f.output[mine], region[mine]] - f.unit_cost_usd_per_kg[mine]
    )
    sep = f.stage == SEPARATION
    yl = sc.separation_yield["concentrate"]
    r = region[sep]
    margin[sep] = (
        yl.ndpr_oxide * e[NDPR, r]
        + yl.dytb_oxide * e[DYTB, r]
        + yl.coproducts_usd_per_kg
        - e[CONC, r]
        - f.unit_cost_usd_per_kg[sep]
        - model.env_cost[r]
    )
    mag = f.stage == MAGNETS
    r = region[mag]
    rr = sc.magnet.ndpr_oxide_t_per_t
    margin[mag] = (
        e[MAGNET, r] * (1.0 - model.royalty_share[mag])
        - f.unit_cost_usd_per_kg[mag]
        - rr * e[NDPR, r]
        - f.dytb_share[mag] * e[DYTB, r]
    )
    return margin


def idle_and_restart(model: RareEarthModel, margin: np.ndarray) -> list[tuple[int, str]]:
    """Idle plants after sustained expected losses; restart them after sustained profit.

    Losses count only outside a break-even band and only for firms that got
    the inputs they bid for.
    """
    f, mk = model.firms, model.spec.market
    producer = f.stage <= MAGNETS
    band = IDLE_BAND * f.unit_cost_usd_per_kg  # a margin hovering near zero is not a loss
    # A buyer left short of inputs is the marginal bidder in a scarce market:
    # the input price is its own valuation, not a loss it could avoid by idling.
    losing = producer & (margin < -band) & ~model.rationed_last
    winning = producer & (margin > band)
    f.loss_months = np.where(losing & f.active, f.loss_months + 1, 0)
    f.profit_months = np.where(winning & ~f.active, f.profit_months + 1, 0)
    idle = f.active & (f.loss_months >= mk.exit_after_loss_months) & (f.capacity_t_per_month > 0)
    restart = ~f.active & (f.profit_months >= mk.restart_after_profit_months)
    f.active = (f.active & ~idle) | restart
    return [(int(i), "idled") for i in np.nonzero(idle)[0]] + [(int(i), "restarted") for i in np.nonzero(restart)[0]]


def invest(model: RareEarthModel, margin: np.ndarray) -> None:
    """At each review, expand plants whose expected return beats the hurdle rate."""
    f, mk = model.firms, model.spec.market
    months = mk.investment_review_months
    stage_names = ("mining", "separation", "magnets")
    capex = np.array([mk.capex_usd_per_t_per_year[s] for s in stage_names])
    lead = np.array([mk.lead_time_months[s] for s in stage_names])
    producer = (f.stage <= MAGNETS) & f.producing(model.month) & (f.capacity_t_per_month > 0)
    stage = np.minimum(f.stage, MAGNETS)
    utilisation = model.output_window_t / np.maximum(f.capacity_t_per_month * months, 1e-9)
    annual_return = margin * K / np.maximum(capex[stage], 1e-9)  # per t/yr of capacity
    go = producer & (utilisation >= 0.85) & (annual_return > model.hurdle[f.country])
    added = f.capacity_t_per_month[go] * mk.expansion_share
    model.schedule_capacity(np.nonzero(go)[0], added, model.month + lead[stage[go]])
    spend = added * 12.0 * capex[stage[go]]
    model.ledger.pay(np.nonzero(go)[0], model.ledger.outside, spend)
    model.output_window_t[:] = 0.0


def thrift(model: RareEarthModel) -> None:
    """Lower magnet intensity where magnet prices stay above the sector's trigger."""
    table = model.sector_table
    ratio = model.expected[MAGNET][:, None] / model.reference[MAGNET]
    trigger = table["trigger"][None, :]
    pressure = np.clip((ratio - trigger) / trigger, 0.0, 1.0)
    cut = table["thrift_max"][None, :] / 12.0 * pressure
    model.intensity = np.maximum(model.intensity * (1.0 - cut), table["floor"][None, :])
