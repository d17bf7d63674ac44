"""One commodity's month of trade in one compiled call: book, clear, settle, record.

:func:`trade` runs the steps of a market in order: the books of offers and
bids (:mod:`agents.books`), the link costs at last month's exporter prices
(:func:`model.links.link_costs`), the spatial equilibrium
(:func:`model.market.clear_orders`), settlement of sellers, buyers and links
(:mod:`model.settlement`), the tally of output and rationing, and the
month's public record of prices and flows. Shipments in licence review
stay in Python (:class:`model.trade.ReviewPipeline`): they exist only where
licences are required.

Arguments, beyond the book's tuples (see :mod:`agents.books`):

- ``links``: ``(transport USD/kg, duty rate, tariff rate, review delay
  months, open, licensed)`` by ``[commodity, exporter, importer]``, then
  ``compliant origin [exporter, importer]``, link capacities t and this
  month's export allowance t by exporter;
- ``market``: ``(price resolution share, carry cost share per month)``;
- ``settle``: ``(tonnes produced by commodity, royalty region by firm, no
  royalty region by firm, content premium USD/kg by region)``;
- ``record``: ``(counts output [commodity, firm], output t by firm, rationed
  by firm, scratch (2, firms), exports this year t, last flows t, use by
  [region, commodity] t, producer price, quota rent)``; updated in place.

Returns ``(flows, compliant flows, price, producer price, compliant price,
money left between buyers' and sellers' prices USD, turnover USD,
converged)``.
"""

import numpy as np
from numba import njit

from agents.books import bid_book, offer_book
from agents.order_rules import MAGNET
from model.links import link_costs
from model.market import clear_orders
from model.settlement import settle_buyers, settle_links, settle_sellers, tally


@njit(cache=True)
def trade(c, cols, rosters, accounts, prices, policy, demand, params, links, market, settle, record):
    """Clear and settle commodity ``c`` for this month (see the module docstring)."""
    transport, duty_rate, tariff_rate, delay, link_open, licensed, compliant_origin, link_cap, export_cap = links
    produced, royalty_region, no_royalty, content_premium = settle
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


@njit(cache=True)
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
