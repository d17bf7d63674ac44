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
from model.compiled import kernel
from model.ledger import USD_PER_T_PER_USD_PER_KG as K
from model.policy_arrays import restriction_expectations

if TYPE_CHECKING:
    from model.world import RareEarthModel


#: Expected margins within +-10% of the unit processing cost count as break-even.
IDLE_BAND = 0.1


def month_end(model: RareEarthModel) -> np.ndarray:
    """Expectations, idling and restarts, thrifting and expected restrictions (one compiled call).

    Idled and restarted plants are logged as events. Returns each firm's
    expected margin, USD/kg of output (or feed, for separators; 0 for end
    users), which investment reviews read.
    """
    f, sc, mk, table, lk = model.firms, model.spec, model.spec.market, model.sector_table, model.policy.links
    margin, idled, restarted, model.expect_restriction = _month_end(
        mk.expectation_weight, model.price, model.expected, model.reference,
        (f.stage, f.output, f.country, f.unit_cost_usd_per_kg, f.dytb_share, f.capacity_t_per_month),
        (f.active, f.loss_months, f.profit_months, mk.exit_after_loss_months, mk.restart_after_profit_months),
        model.royalty_share, model.subsidy, model.env_cost, model.recipe[0], sc.magnet.ndpr_oxide_t_per_t,
        model.rationed, model.rationed_last, model.output_t, model.output_window_t,
        model.intensity, (table["trigger"], table["thrift_max"], table["floor"]),
        (model.last_flows_t, model.import_share, model.quota_rent, lk.licensed, lk.approval_rate, lk.open),
    )  # fmt: skip
    for rows, what in ((idled, "idled"), (restarted, "restarted")):
        for row in rows:
            model.recorder.event(model.regions[f.country[row]], f"firm.{f.ids[row]}", None, what, "firm")
    return margin


@kernel
def _month_end(weight, price, expected, reference, firms, idling, royalty, subsidy, env_cost, light_recipe,
               ndpr_per_t, rationed, rationed_last, output, output_window, intensity, thrifting,
               restrictions):  # fmt: skip
    """Compiled :func:`month_end`; returns (margin, idled rows, restarted rows, expected restrictions)."""
    stage, out, country, unit_cost, dytb_share, capacity = firms
    active, loss_months, profit_months, exit_after, restart_after = idling
    expected += weight * (price - expected)  # adaptive expectations
    rationed_last[:] = rationed
    rationed[:] = False
    margin = _margins(stage, out, country, unit_cost, dytb_share, royalty, expected, subsidy, env_cost, light_recipe,
                      ndpr_per_t)  # fmt: skip
    idled, restarted = _idle_and_restart(
        stage, margin, unit_cost, rationed_last, active, loss_months, profit_months, capacity, exit_after,
        restart_after,
    )  # fmt: skip
    output_window += output
    _thrift(expected[MAGNET], reference[MAGNET], intensity, *thrifting)
    flows, import_share, quota_rent, licensed, approval, link_open = restrictions
    expect = restriction_expectations(flows, import_share, quota_rent, reference, licensed, approval, link_open)
    return margin, idled, restarted, expect


@kernel
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


@kernel
def _idle_and_restart(stage, margin, unit_cost, rationed, active, loss_months, profit_months, capacity,
                      exit_after, restart_after):  # fmt: skip
    """Count loss and profit months, idle and restart plants in place; returns (idled, restarted) rows."""
    idled, restarted, n_idled, n_restarted = np.empty(stage.size, np.int64), np.empty(stage.size, np.int64), 0, 0
    for h in range(stage.size):
        producer = stage[h] <= MAGNETS
        band = IDLE_BAND * unit_cost[h]
        # Counters without branches (margins' signs are unpredictable): & on bools, times a bool.
        losing = producer & (margin[h] < -band) & (not rationed[h]) & active[h]
        winning = producer & (margin[h] > band) & (not active[h])
        loss_months[h] = (loss_months[h] + 1) * losing
        profit_months[h] = (profit_months[h] + 1) * winning
        if active[h] and loss_months[h] >= exit_after and capacity[h] > 0:
            active[h], idled[n_idled], n_idled = False, h, n_idled + 1
        elif not active[h] and profit_months[h] >= restart_after:
            active[h], restarted[n_restarted], n_restarted = True, h, n_restarted + 1
    return idled[:n_idled], restarted[:n_restarted]


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


@kernel
def _thrift(magnet_price, reference, intensity, trigger, thrift_max, floor):
    """Lower magnet intensity [region, sector] where the expected magnet price stays above the sector's trigger."""
    for r in range(intensity.shape[0]):
        ratio = magnet_price[r] / reference
        for s in range(intensity.shape[1]):
            pressure = min(max((ratio - trigger[s]) / trigger[s], 0.0), 1.0)
            cut = thrift_max[s] / 12.0 * pressure
            intensity[r, s] = max(intensity[r, s] * (1.0 - cut), floor[s])
