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
from numba import njit

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
    """Expected margin per kg of output (or feed, for separators), USD/kg, per firm (0 for end users)."""
    f, sc = model.firms, model.spec
    yl = sc.separation_yield["concentrate"]
    return _margins(
        f.stage, f.output, f.country, f.unit_cost_usd_per_kg, f.dytb_share, model.royalty_share, model.expected,
        model.subsidy, model.env_cost, np.array([yl.ndpr_oxide, yl.dytb_oxide, yl.coproducts_usd_per_kg]),
        sc.magnet.ndpr_oxide_t_per_t,
    )  # fmt: skip


def idle_and_restart(model: RareEarthModel, margin: np.ndarray) -> list[tuple[int, str]]:
    """Idle plants after sustained expected losses; restart them after sustained profit.

    Losses count only outside a break-even band (``IDLE_BAND`` x unit cost) and
    only for firms that got the inputs they bid for: a buyer left short is
    the marginal bidder in a scarce market, and the input price is its own
    valuation, not a loss it could avoid by idling.
    """
    f, mk = model.firms, model.spec.market
    idled, restarted = _idle_and_restart(
        f.stage, margin, f.unit_cost_usd_per_kg, model.rationed_last, f.active, f.loss_months, f.profit_months,
        f.capacity_t_per_month, mk.exit_after_loss_months, mk.restart_after_profit_months,
    )  # fmt: skip
    return [(int(i), "idled") for i in idled] + [(int(i), "restarted") for i in restarted]


@njit(cache=True)
def _margins(stage, output, country, unit_cost, dytb_share, royalty, e, subsidy, env_cost, light_recipe, ndpr_per_t):
    margin = np.zeros(stage.size)
    for h in range(stage.size):
        r = country[h]
        if stage[h] == MINING:
            margin[h] = e[output[h], r] + subsidy[output[h], r] - unit_cost[h]
        elif stage[h] == SEPARATION:
            margin[h] = (light_recipe[0] * e[NDPR, r] + light_recipe[1] * e[DYTB, r] + light_recipe[2] - e[CONC, r]
                         - unit_cost[h] - env_cost[r])  # fmt: skip
        elif stage[h] == MAGNETS:
            margin[h] = (e[MAGNET, r] * (1.0 - royalty[h]) - unit_cost[h] - ndpr_per_t * e[NDPR, r]
                         - dytb_share[h] * e[DYTB, r])  # fmt: skip
    return margin


@njit(cache=True)
def _idle_and_restart(stage, margin, unit_cost, rationed, active, loss_months, profit_months, capacity,
                      exit_after, restart_after):  # fmt: skip
    """Count loss and profit months, idle and restart plants in place; returns (idled, restarted) rows."""
    idled, restarted = np.zeros(stage.size, np.bool_), np.zeros(stage.size, np.bool_)
    for h in range(stage.size):
        producer = stage[h] <= MAGNETS
        band = IDLE_BAND * unit_cost[h]
        losing = producer and margin[h] < -band and not rationed[h]
        winning = producer and margin[h] > band
        loss_months[h] = loss_months[h] + 1 if losing and active[h] else 0
        profit_months[h] = profit_months[h] + 1 if winning and not active[h] else 0
        if active[h] and loss_months[h] >= exit_after and capacity[h] > 0:
            active[h], idled[h] = False, True
        elif not active[h] and profit_months[h] >= restart_after:
            active[h], restarted[h] = True, True
    return np.flatnonzero(idled), np.flatnonzero(restarted)


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
