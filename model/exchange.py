"""The month's markets in one compiled call: book, clear, settle, record, produce.

:func:`markets` runs the month's markets upstream to downstream with
production between them; :func:`trade` runs the steps of one market in
order: the books of offers and bids (:mod:`agents.books`), the link costs
at last month's exporter prices
(:func:`model.links.link_costs`), the spatial equilibrium
(:func:`model.market.clear_orders`), settlement of sellers, buyers and links
(:mod:`model.settlement`), the tally of output and rationing, and the
month's public record of prices and flows. Shipments in licence review
wait in :class:`model.trade.ReviewPipeline`.

Arguments, beyond the book's tuples (see :mod:`agents.books`):

- ``links``: ``(transport USD/kg, duty rate, tariff rate, review delay
  months, open, licensed)`` by ``[commodity, exporter, importer]``, then
  ``compliant origin [exporter, importer]``, link capacities t and this
  month's export allowance t by exporter;
- ``market``: ``(price resolution share, carry cost share per month)``;
- ``settle``: ``(tonnes produced by commodity, royalty region by firm, no
  royalty region by firm, content premium USD/kg by region, region by
  holder, weights [commodity, holder] for returning denied shipments)``;
- ``record``: ``(counts output [commodity, firm], output t by firm, rationed
  by firm, scratch (2, firms), exports this year t, last flows t, use by
  [region, commodity] t, producer price, quota rent)``; updated in place.

Returns ``(flows, compliant flows, price, producer price, compliant price,
money left between buyers' and sellers' prices USD, turnover USD,
converged)``.
"""

import numpy as np

from agents.books import END_USERS, MAGNET_MAKERS, P_NDPR_PER_T, SEPARATORS, bid_book, offer_book, producing
from agents.order_rules import CONC, DYTB, HEAVY, MAGNET, NDPR
from model.compiled import kernel
from model.links import link_costs
from model.market import clear_orders
from model.policy_arrays import export_allowance
from model.production import run_end_users, run_magnet_makers, run_separators
from model.settlement import settle_buyers, settle_links, settle_sellers, tally
from model.trade import deliver_reviewed, file_for_review


@kernel
def markets(month, months_left, cols, rosters, accounts, prices, policy, demand, params, links, market, settle,
            record, review, making):  # fmt: skip
    """The month's markets upstream to downstream, with production between them (one compiled call).

    Concentrates (heavy first), separation, the oxides, magnet making,
    magnets, and end users building units from magnets on hand. Each market
    first delivers shipments whose licence review ends this month, trades,
    files licensed flows for review and delivers those decided at once.
    ``links`` here are :func:`trade`'s with the yearly quotas
    ``[commodity, exporter]`` in place of one month's allowance (the
    allowance is the quota left over ``months_left``), then the licence
    approval rate ``[commodity, exporter, importer]``; ``review`` is
    :attr:`model.trade.ReviewPipeline.arrays`, ``making`` is ``(tonnes used
    by commodity, heavy-capable by firm, recipes [light/heavy, NdPr t/t Dy/Tb
    t/t co-products USD/kg], costs USD by firm, least Dy/Tb share of grade,
    shortage t and units [region, sector], magnet kg and value USD per unit
    by sector)``. Returns ``(money left between buyers' and sellers' prices
    USD, turnover USD, the first commodity whose clearing did not converge
    or -1)``.
    """
    country, sector, capacity, unit_cost, dytb_share, active = cols
    used, heavy_capable, recipe, costs, dytb_min, shortage_t, shortage_units, kg_per_unit, value_per_unit = making
    produced, output = settle[0], record[1]
    between, turnover, failed = 0.0, 0.0, -1
    for c in (HEAVY, CONC, NDPR, DYTB, MAGNET):
        if c == NDPR:
            run_separators(
                accounts, produced, used, producing(rosters[SEPARATORS], active), country, capacity, heavy_capable,
                unit_cost, prices[5], recipe, prices[3], prices[1], output, costs,
            )  # fmt: skip
        if c == MAGNET:
            run_magnet_makers(
                accounts, produced, used, producing(rosters[MAGNET_MAKERS], active), country, capacity, dytb_share,
                unit_cost, params[P_NDPR_PER_T], dytb_min, prices[3][MAGNET], output, costs,
            )  # fmt: skip
        x, t, ok = _market(month, months_left, c, cols, rosters, accounts, prices, policy, demand, params, links,
                           market, settle, record, review)  # fmt: skip
        between += x
        turnover += t
        if not ok and failed < 0:
            failed = c
    shortage_t[:] = 0.0
    run_end_users(
        accounts, used, rosters[END_USERS], country, sector, demand[0], kg_per_unit, value_per_unit, shortage_t,
        shortage_units, demand[3],
    )  # fmt: skip
    record[6][:, MAGNET] = demand[3]
    return between, turnover, failed


@kernel
def _market(month, months_left, c, cols, rosters, accounts, prices, policy, demand, params, links, market, settle,
            record, review):  # fmt: skip
    """One commodity's market with its licence reviews; returns (between USD, turnover USD, converged)."""
    transport, duty_rate, tariff_rate, delay, link_open, licensed, compliant_origin, link_cap, quota, approval = links
    holder_region, seller_weights = settle[4], settle[5]
    deliver_reviewed(review, accounts, month, c, holder_region, seller_weights[c])
    allowance = export_allowance(quota[c], record[4][c], months_left)
    month_links = (transport, duty_rate, tariff_rate, delay, link_open, licensed, compliant_origin, link_cap, allowance)
    flows, _, price, producer_price, _, between, turnover, converged = trade(
        c, cols, rosters, accounts, prices, policy, demand, params, month_links, market, settle, record
    )
    if licensed[c].any():
        file_for_review(review, month, c, flows, price, producer_price, licensed[c], approval[c], delay[c])
    # Shipments with a zero-month review (approval < 1 only) are decided this same month.
    deliver_reviewed(review, accounts, month, c, holder_region, seller_weights[c])
    return between, turnover, converged


@kernel
def trade(c, cols, rosters, accounts, prices, policy, demand, params, links, market, settle, record):
    """Clear and settle commodity ``c`` for this month (see the module docstring)."""
    transport, duty_rate, tariff_rate, delay, link_open, licensed, compliant_origin, link_cap, export_cap = links
    produced, royalty_region, no_royalty, content_premium = settle[0], settle[1], settle[2], settle[3]
    counts_output, output, rationed, scratch, exports_ytd, last_flows, use_by_region, producer, rent = record
    price, floor = prices[2], prices[4]
    o_holder, o_region, o_price, o_qty, o_flag, o_cost = offer_book(
        c, cols, rosters, accounts, prices, policy, demand, params
    )
    b_holder, b_region, b_price, b_qty, b_flag, _ = bid_book(c, cols, rosters, accounts, prices, policy, demand, params)
    total, freight, duty, tariff, carry = link_costs(
        producer[c], transport[c], duty_rate[c], tariff_rate[c], delay[c], market[1]
    )
    flows, compliant, p, p_producer, p_compliant, quota_rent, sold, filled, converged = clear_orders(
        price.shape[1], (o_region, o_flag, o_price, o_qty), (b_region, b_flag, b_price, b_qty), market[0],
        total, link_open[c], link_cap, export_cap, compliant_origin,
    )  # fmt: skip
    _fill_missing_prices(p, p_producer, p_compliant, price[c])
    revenue = settle_sellers(
        accounts, produced, c, o_holder, o_region, o_flag, o_cost, sold, p, p_producer, floor[c], policy[0],
        royalty_region if c == MAGNET else no_royalty,
    )  # fmt: skip
    paid, _ = settle_buyers(
        accounts, c, b_holder, b_region, b_flag, filled, p, p_compliant, flows, licensed[c], content_premium
    )
    between = settle_links(accounts, flows, compliant, p, p_producer, p_compliant, freight, duty, tariff, carry)
    tally(output.size, o_holder, sold, counts_output[c], output, b_holder, b_qty, filled, rationed, scratch)
    n = flows.shape[0]
    for i in range(n):
        use_by_region[i, c] = 0.0
    for i in range(n):
        for j in range(n):
            use_by_region[j, c] += flows[i, j]
        exports_ytd[c, i] += flows[i].sum() - flows[i, i]
    last_flows[c] = flows
    price[c], producer[c], rent[c] = p, p_producer, quota_rent
    return flows, compliant, p, p_producer, p_compliant, paid.sum() - revenue.sum() - between, paid.sum(), converged


@kernel
def _fill_missing_prices(price, producer_price, compliant_price, previous):
    """Nodes with no market this month keep last month's price, so prices stay finite.

    Compliant demand with no market of its own takes the buyers' price.
    """
    for j in range(price.size):
        if not np.isfinite(price[j]):
            price[j] = previous[j]
        if not np.isfinite(producer_price[j]):
            producer_price[j] = previous[j]
        if not np.isfinite(compliant_price[j]):
            compliant_price[j] = previous[j] if np.isfinite(previous[j]) else price[j]
