"""Each market's book of orders, assembled in compiled code from the order rules.

:func:`offer_book` and :func:`bid_book` say which rules of
:mod:`agents.order_rules` make the offers and bids of commodity ``c`` (the
reasons for each rule are in :mod:`agents.behaviour`). They read the world
as a few tuples of arrays, packed by :func:`agents.behaviour.book_inputs`:

- ``cols``: firm columns ``(country, sector, capacity t/month, unit cost
  USD/kg, Dy/Tb share of grade, producing this month)``;
- ``rosters``: rows of ``(conc miners, heavy miners, separators, heavy
  separators, magnet makers, end users)``;
- ``accounts``: the ledger's ``(cash, stock, book value, on order, books)``;
- ``prices``: ``(expected, reference, price, subsidy, floor, environmental
  cost)``, USD/kg, by ``[commodity, region]`` (reference by commodity,
  environmental cost by region);
- ``policy``: ``(royalty share by firm, exportable by firm, stockpile release
  t, stockpile buy t, stockpile price ceiling, content share, content rule
  by [region, sector], expected restriction by [commodity, region])``;
- ``demand``: ``(need this month by end user t, demand-curve prices and
  shares by [sector, step], magnets used last month by region t)``;
- ``params``: scenario constants at the ``P_*`` indices below.
"""

import numpy as np

from agents.order_rules import (
    CONC,
    COVER_CEILING,
    DYTB,
    HEAVY,
    MAGNET,
    NDPR,
    cover_months,
    empty_rows,
    end_user_bids,
    first_rows,
    magnet_dytb_bids,
    magnet_ndpr_bids,
    mine_offers,
    scrap_offers,
    separator_bids,
    state_purchases,
    state_releases,
    stock_offers,
)
from model.compiled import kernel

#: Roster positions in ``rosters``.
MINERS_CONC, MINERS_HEAVY, SEPARATORS, HEAVY_SEPARATORS, MAGNET_MAKERS, END_USERS = range(6)
ROSTERS = ("miners_conc", "miners_heavy", "separators", "heavy_separators", "magnet_makers", "end_users")
#: The roster selling each commodity from its output stock, by commodity.
SELLER_ROSTER = (MINERS_CONC, MINERS_HEAVY, SEPARATORS, SEPARATORS, MAGNET_MAKERS)

#: Positions in ``params``: typical oxide yields (t per t of light concentrate),
#: recycling share of magnets used and its cost (USD/kg), NdPr oxide per t of
#: magnet, input cover and precautionary cover (days), and the separation
#: recipes of light and heavy concentrate (NdPr t/t, Dy/Tb t/t, co-products USD/kg).
P_YIELD_NDPR, P_YIELD_DYTB, P_RECYCLING_SHARE, P_RECYCLING_COST, P_NDPR_PER_T = range(5)
P_INPUT_COVER_DAYS, P_PRECAUTION_DAYS, P_RECIPE_LIGHT, P_RECIPE_HEAVY = 5, 6, 7, 10
N_PARAMS = 13


@kernel
def producing(rows, active):
    """The rows whose plants are built and not idled this month."""
    out, k = np.empty(rows.size, np.int64), 0
    for h in rows:  # branch-free: idled plants are scattered
        out[k] = h
        k += active[h]
    return out[:k]


@kernel
def offer_book(c, cols, rosters, accounts, prices, policy, demand, params):
    """Everything for sale of commodity ``c`` this month (order rows, see :mod:`agents.order_rules`)."""
    country, _, capacity, unit_cost, _, active = cols
    stock, value = accounts[1], accounts[2]
    expected, reference, subsidy, floor = prices[0], prices[1], prices[3], prices[4]
    royalty, exportable, release_t = policy[0], policy[1], policy[2]
    n_firms = country.size
    per_input = params[P_YIELD_NDPR] if c == NDPR else (params[P_YIELD_DYTB] if c == DYTB else 1.0)
    sellers = rosters[SELLER_ROSTER[c]]
    # Room for every rule's rows: stock offers, state releases, then mine or scrap offers.
    rows = empty_rows(2 * (sellers.size + release_t.shape[1]))
    k = stock_offers(
        rows, 0, sellers, stock, value, c, country, capacity, per_input, expected[c], reference[c], royalty,
        exportable, c == MAGNET,
    )  # fmt: skip
    k = state_releases(rows, k, n_firms, stock[n_firms:, c], release_t[c], expected[c])
    if c == CONC or c == HEAVY:
        k = mine_offers(
            rows, k, producing(sellers, active), country, unit_cost, capacity, subsidy[c], floor[c], expected[c]
        )
    elif c == NDPR:
        recovered = params[P_RECYCLING_SHARE] * demand[3] * params[P_NDPR_PER_T]
        k = scrap_offers(rows, k, recovered, params[P_RECYCLING_COST])
    return first_rows(rows, k)


@kernel
def bid_book(c, cols, rosters, accounts, prices, policy, demand, params):
    """Everything wanted of commodity ``c`` this month (order rows, see :mod:`agents.order_rules`)."""
    country, sector, capacity, unit_cost, dytb_share, active = cols
    stock, on_order = accounts[1], accounts[3]
    expected, reference, price, subsidy, env_cost = prices[0], prices[1], prices[2], prices[3], prices[5]
    royalty, buy_t, ceiling, content_share, content_sector = policy[0], policy[3], policy[4], policy[5], policy[6]
    cover = cover_months(params[P_INPUT_COVER_DAYS], params[P_PRECAUTION_DAYS], policy[7][c])
    if c == CONC or c == HEAVY:
        buyers, per_buyer = producing(rosters[HEAVY_SEPARATORS if c == HEAVY else SEPARATORS], active), 2
    elif c == NDPR or c == DYTB:
        buyers, per_buyer = producing(rosters[MAGNET_MAKERS], active), 2
    else:
        buyers, per_buyer = rosters[END_USERS], 2 * (demand[1].shape[1] + 1)
    rows = empty_rows(buy_t.shape[1] + per_buyer * buyers.size)  # room for the states' and the firms' rows
    k = state_purchases(rows, 0, country.size, buy_t[c], ceiling[c])
    if c == CONC or c == HEAVY:
        y = P_RECIPE_HEAVY if c == HEAVY else P_RECIPE_LIGHT
        oxide_value = (
            params[y] * (expected[NDPR] + subsidy[NDPR]) + params[y + 1] * (expected[DYTB] + subsidy[DYTB])
            + params[y + 2]
        )  # fmt: skip
        k = separator_bids(
            rows, k, buyers, country, unit_cost, env_cost, capacity, stock, on_order, oxide_value, reference[c], cover
        )
    elif c == NDPR or c == DYTB:  # makers value NdPr at expected Dy/Tb, and Dy/Tb at today's NdPr price
        values = (expected[MAGNET], subsidy[MAGNET], expected[DYTB] if c == NDPR else price[NDPR])
        rule_args = (royalty, unit_cost, dytb_share, params[P_NDPR_PER_T], reference[c], cover)
        if c == NDPR:
            k = magnet_ndpr_bids(rows, k, buyers, country, capacity, stock, on_order, values, *rule_args)
        else:
            k = magnet_dytb_bids(rows, k, buyers, country, capacity, stock, on_order, values, *rule_args)
    else:
        cover_price = np.minimum(1.05 * expected[MAGNET], COVER_CEILING * reference[MAGNET])
        k = end_user_bids(
            rows, k, buyers, country, sector, demand[0], stock, on_order, demand[1], demand[2], content_share,
            content_sector, cover_price, cover,
        )  # fmt: skip
    return first_rows(rows, k)
