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


def month_end_inputs(model: RareEarthModel) -> tuple:
    """The arguments of :func:`month_end`, read from the model."""
    f, sc, mk, table, lk = model.firms, model.spec, model.spec.market, model.sector_table, model.policy.links
    return (
        mk.expectation_weight, model.price, model.expected, model.reference,
        (f.stage, f.output, f.country, f.unit_cost_usd_per_kg, f.dytb_share, f.capacity_t_per_month),
        (f.active, f.loss_months, f.profit_months, mk.exit_after_loss_months, mk.restart_after_profit_months),
        model.royalty_share, model.subsidy, model.env_cost, model.recipe[0], sc.magnet.ndpr_oxide_t_per_t,
        model.rationed, model.rationed_last, model.output_t, model.output_window_t,
        model.intensity, (table["trigger"], table["thrift_max"], table["floor"]),
        (model.last_flows_t, model.import_share, model.quota_rent, lk.licensed, lk.approval_rate, lk.open),
    )  # fmt: skip


@kernel
def month_end(weight, price, expected, reference, firms, idling, royalty, subsidy, env_cost, light_recipe,
              ndpr_per_t, rationed, rationed_last, output, output_window, intensity, thrifting,
              restrictions):  # fmt: skip
    """Expectations, idling and restarts, thrifting and expected restrictions (arguments: :func:`month_end_inputs`).

    Returns (each firm's expected margin, USD/kg of output (or feed, for
    separators; 0 for end users), which investment reviews read; the rows
    of plants idled and restarted; expected restrictions [commodity, region]).
    """
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


def investment_inputs(model: RareEarthModel) -> tuple:
    """The arrays of :func:`invest` (after the margins and the month), read from the model."""
    f = model.firms
    return (
        (f.stage, f.country, f.capacity_t_per_month, f.active, f.online_month), model.output_window_t,
        model.investment_terms, model.ledger.cash_usd,
    )  # fmt: skip


def investment_terms(model: RareEarthModel) -> tuple:
    """The scenario's investment terms as :func:`invest` reads them (built once per model)."""
    mk, stages = model.spec.market, ("mining", "separation", "magnets")
    capex = np.array([mk.capex_usd_per_t_per_year[s] for s in stages])
    lead = np.array([mk.lead_time_months[s] for s in stages], np.int64)
    return (mk.investment_review_months, mk.expansion_share, model.hurdle, capex, lead)


@kernel
def invest(margin, month, firms, output_window, terms, cash):
    """At a review, expand plants whose expected return beats the hurdle rate; returns the expansions.

    A producing plant expands by ``expansion share`` of its capacity when it
    ran at 85% or more of capacity since the last review and its expected
    margin, per t/yr of new capacity over the stage's capex, beats its
    country's hurdle rate. It pays the capex now to the outside economy (the
    last account of ``cash``) and the capacity arrives after the stage's
    lead time. ``terms = (months between reviews, expansion share, hurdle
    rate by region, capex USD per t/yr by stage, lead months by stage)``.
    Returns ``(firm rows, t/month added, month online)``.
    """
    stage, country, capacity, active, online_month = firms
    months, share, hurdle, capex, lead = terms
    n, outside = stage.size, cash.size - 1
    rows, added, due, m = np.empty(n, np.int64), np.empty(n), np.empty(n, np.int64), 0
    for h in range(n):
        s = min(stage[h], MAGNETS)
        producer = stage[h] <= MAGNETS and active[h] and online_month[h] <= month and capacity[h] > 0
        utilisation = output_window[h] / max(capacity[h] * months, 1e-9)
        annual_return = margin[h] * K / max(capex[s], 1e-9)  # per t/yr of capacity
        if producer and utilisation >= 0.85 and annual_return > hurdle[country[h]]:
            rows[m], added[m], due[m] = h, capacity[h] * share, month + lead[s]
            spend = added[m] * 12.0 * capex[s]
            cash[h] -= spend
            cash[outside] += spend
            m += 1
    output_window[:] = 0.0
    return rows[:m], added[:m], due[:m]


@kernel
def _thrift(magnet_price, reference, intensity, trigger, thrift_max, floor):
    """Lower magnet intensity [region, sector] where the expected magnet price stays above the sector's trigger."""
    for r in range(intensity.shape[0]):
        ratio = magnet_price[r] / reference
        for s in range(intensity.shape[1]):
            pressure = min(max((ratio - trigger[s]) / trigger[s], 0.0), 1.0)
            cut = thrift_max[s] / 12.0 * pressure
            intensity[r, s] = max(intensity[r, s] * (1.0 - cut), floor[s])
