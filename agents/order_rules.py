"""Order rules of firms and states: compiled functions from columns to order rows.

Each rule reads firm columns, stocks and prices and writes order rows
``(holder, region, price, qty, flag, make_cost)`` (see
:class:`model.trade.Orders`) into the market's book from row ``k`` on, and
returns the next free row: holder row in the ledger (-1 = the outside
economy), region, USD/kg, t, a flag (offers: domestic only; bids: compliant
origin only) and, for goods produced to order, their unit cost (NaN = sold
from stock). Rows with no tonnage or no finite price are left out and
prices are at least ``MIN_PRICE_USD_PER_KG``. A book is allocated once for
all its rules (:mod:`agents.books`): a rule writes at most one row per firm
or state it is given, two per separator or magnet maker and ``2 (steps +
1)`` per end user. :mod:`agents.behaviour` gives the reasons for each rule.
"""

import numpy as np

from model.compiled import kernel

#: Order rows: (holder, region, price USD/kg, qty t, flag, make_cost USD/kg).
Rows = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray, np.ndarray]

MIN_PRICE_USD_PER_KG = 1e-3
MIN_QTY_T = 1e-9
DAYS_PER_MONTH = 365.0 / 12.0
#: Stock cover is discretionary: nobody pays more than this multiple of the
#: reference price to build it (keeps cover bids from chasing a spike).
COVER_CEILING = 2.0
NORMAL_STOCK_MONTHS = 1.0
PRESSURE_SLOPE = 0.15
PRESSURE_FLOOR = 0.3
#: Producers hold stock rather than sell below this share of the reference
#: price (they expect prices to revert; by-products such as Dy/Tb are stored).
SALVAGE_SHARE = 0.3
#: Magnet makers bid at most this multiple of the reference price for Dy/Tb.
DYTB_BID_CAP = 50.0
CONC, HEAVY, NDPR, DYTB, MAGNET = range(5)


# ---------------------------------------------------------------- order rows


@kernel
def empty_rows(size):
    """Order rows with room for ``size`` orders (uninitialised: :func:`_put` writes every field)."""
    return (np.empty(size, np.int64), np.empty(size, np.int64), np.empty(size), np.empty(size),
            np.empty(size, np.bool_), np.empty(size))  # fmt: skip


@kernel
def _put(rows, k, holder, region, price, qty, flag=False, make_cost=np.nan):
    """Write order ``k`` if it has tonnage and a finite price; returns the next free row."""
    if not (qty > MIN_QTY_T and np.isfinite(price)):
        return k
    rows[0][k], rows[1][k], rows[2][k], rows[3][k] = holder, region, max(price, MIN_PRICE_USD_PER_KG), qty
    rows[4][k], rows[5][k] = flag, make_cost
    return k + 1


@kernel
def first_rows(rows, k):
    """The first ``k`` rows (the orders written)."""
    return rows[0][:k], rows[1][:k], rows[2][:k], rows[3][:k], rows[4][:k], rows[5][:k]


@kernel
def cover_months(input_cover_days, precautionary_cover_days, expect_restriction):
    """Months of input cover a buyer wants: normal, plus more when restrictions are expected."""
    return (input_cover_days + precautionary_cover_days * expect_restriction) / DAYS_PER_MONTH


@kernel
def _held(stock, on_order, h, c):
    """Tonnes of ``c`` holder ``h`` has in stock or on order."""
    return stock[h, c] + on_order[h, c]


@kernel
def _magnet_value(h, r, expected_magnet, royalty, subsidy_magnet, unit_cost):
    """A maker's expected magnet revenue per kg net of royalty, plus subsidy, less processing cost."""
    return expected_magnet[r] * (1.0 - royalty[h]) + subsidy_magnet[r] - unit_cost[h]


@kernel(inline="always")
def _run_and_cover(rows, k, j, h, r, value, run, more, reference):
    """A buyer's bid for this month's run at full value (row ``k``) and for cover just below it, capped (row ``j``).

    Returns the next free run row and cover row (see :func:`_cover_after_runs`).
    """
    if not value > 0:
        return k, j
    k = _put(rows, k, h, r, value, run)
    j = _put(rows, j, h, r, min(0.97 * value, COVER_CEILING * reference), more)
    return k, j


@kernel
def _cover_after_runs(rows, k, cover_from, j):
    """Move the cover rows written at ``cover_from .. j`` down to follow the run rows (which end at ``k``).

    Buyers' rules write each buyer's run and cover bids in one pass over the
    buyers, runs from the first free row and cover from ``cover_from`` (room
    for a run row per buyer further on); the book lists every run bid, then
    every cover bid. Returns the next free row.
    """
    holder, region, price, qty, flag, make_cost = rows
    for i in range(j - cover_from):
        src, dst = cover_from + i, k + i  # dst <= src: copying forward is safe
        holder[dst], region[dst], price[dst], qty[dst] = holder[src], region[src], price[src], qty[src]
        flag[dst], make_cost[dst] = flag[src], make_cost[src]
    return k + j - cover_from


# ---------------------------------------------------------------- sellers


@kernel
def stock_offers(rows, k, sellers, stock, book_value, c, country, capacity, output_per_input, expected, reference,
                 royalty, exportable, is_magnet):  # fmt: skip
    """Producers offer their output stock at its expected price, less when stock piles up.

    ``sellers``: rows of the firms that sell commodity ``c`` from stock;
    ``stock``/``book_value``: t and USD by holder and commodity. Reservation =
    max(expected price, book cost unless pressed) x inventory pressure, never
    below the salvage price, grossed up for a magnet maker's royalty.
    Magnet makers without a patent licence may sell only at home.
    """
    for h in sellers:
        qty = stock[h, c]
        if not qty > MIN_QTY_T:
            continue
        r = country[h]
        monthly = max(capacity[h], 1e-9) * output_per_input
        excess = max(0.0, qty / monthly - NORMAL_STOCK_MONTHS)
        pressure = min(max(1.0 - PRESSURE_SLOPE * excess, PRESSURE_FLOOR), 1.0)
        book = book_value[h, c] / qty / 1000.0 if excess <= 0 else 0.0  # (divisions dominate this loop)
        price = max(max(expected[r], book) * pressure, SALVAGE_SHARE * reference)
        if is_magnet:
            price /= 1.0 - royalty[h]
        k = _put(rows, k, h, r, price, qty, is_magnet and not exportable[h])
    return k


@kernel
def mine_offers(rows, k, miners, country, unit_cost, capacity, subsidy, floor, expected):
    """Mines offer their capacity at unit cost net of subsidy and price-floor support; made to order."""
    for h in miners:
        r = country[h]
        support = subsidy[r] + max(0.0, floor[r] - expected[r])
        k = _put(rows, k, h, r, unit_cost[h] - support, capacity[h], False, unit_cost[h])
    return k


@kernel
def state_releases(rows, k, n_firms, state_stock, release_t, expected):
    """States release stockpile (up to the month's release) at 80% of the expected price, at home."""
    for r in range(release_t.size):
        k = _put(rows, k, n_firms + r, r, 0.8 * expected[r], min(release_t[r], state_stock[r]), True)
    return k


@kernel
def scrap_offers(rows, k, recovered_t, recycling_cost):
    """Recycled NdPr from end-of-life magnets, sold at home at its recovery cost."""
    for r in range(recovered_t.size):
        k = _put(rows, k, -1, r, recycling_cost, recovered_t[r], True, recycling_cost)
    return k


# ---------------------------------------------------------------- buyers


@kernel
def state_purchases(rows, k, n_firms, buy_t, ceiling):
    """States buy for their stockpile up to the month's order, at most at their price ceiling."""
    for r in range(buy_t.size):
        k = _put(rows, k, n_firms + r, r, ceiling[r], buy_t[r])
    return k


@kernel
def separator_bids(
    rows, k, sep, country, unit_cost, env_cost, capacity, stock, on_order, oxide_value, reference, cover
):
    """Separators bid the value of their oxides (net of cost) for this month's run and their cover.

    ``oxide_value[r]``: value of one kg of feed's oxides and co-products in
    region ``r`` at expected prices plus subsidies; feed held counts both
    concentrates in stock or on order; ``cover[r]``: months of cover wanted.
    """
    j = cover_from = k + sep.size  # cover rows from here (see _cover_after_runs)
    for h in sep:
        r = country[h]
        held = stock[h, CONC] + stock[h, HEAVY] + on_order[h, CONC] + on_order[h, HEAVY]
        value = oxide_value[r] - unit_cost[h] - env_cost[r]
        run = max(0.0, capacity[h] - held)
        more = max(0.0, capacity[h] * (1.0 + cover[r]) - held - run)
        k, j = _run_and_cover(rows, k, j, h, r, value, run, more, reference)
    return _cover_after_runs(rows, k, cover_from, j)


@kernel
def magnet_ndpr_bids(rows, k, makers, country, capacity, stock, on_order, magnet_prices, royalty, unit_cost, dytb_share,
                     ndpr_per_t, reference, cover):  # fmt: skip
    """Magnet makers bid for NdPr oxide at the magnet's net value less its Dy/Tb, per t of oxide.

    ``magnet_prices = (expected magnet price, magnet subsidy, expected Dy/Tb
    price)`` by region, USD/kg.
    """
    expected_magnet, subsidy_magnet, expected_dytb = magnet_prices
    j = cover_from = k + makers.size  # cover rows from here (see _cover_after_runs)
    for h in makers:
        r = country[h]
        net = _magnet_value(h, r, expected_magnet, royalty, subsidy_magnet, unit_cost)
        value = (net - dytb_share[h] * expected_dytb[r]) / ndpr_per_t
        cap, held = capacity[h] * ndpr_per_t, _held(stock, on_order, h, NDPR)
        run = max(0.0, cap - held)
        more = max(0.0, cap * (1.0 + cover[r]) - held - run)
        k, j = _run_and_cover(rows, k, j, h, r, value, run, more, reference)
    return _cover_after_runs(rows, k, cover_from, j)


@kernel
def magnet_dytb_bids(rows, k, makers, country, capacity, stock, on_order, magnet_prices, royalty, unit_cost, dytb_share,
                     ndpr_per_t, reference, cover):  # fmt: skip
    """Magnet makers bid for Dy/Tb for as many magnets as their NdPr allows, up to their cover.

    Value per kg of Dy/Tb: the magnet's net value less its NdPr at today's
    price, over the Dy/Tb share of the grade (capped at ``DYTB_BID_CAP`` x
    reference). ``magnet_prices = (expected magnet price, magnet subsidy,
    today's NdPr price)`` by region, USD/kg. Makers of grades without Dy/Tb
    do not bid.
    """
    expected_magnet, subsidy_magnet, price_ndpr = magnet_prices
    j = cover_from = k + makers.size  # cover rows from here (see _cover_after_runs)
    for h in makers:
        share = dytb_share[h]
        if not share > 0:
            continue
        r = country[h]
        net = _magnet_value(h, r, expected_magnet, royalty, subsidy_magnet, unit_cost)
        value = min((net - ndpr_per_t * price_ndpr[r]) / share, DYTB_BID_CAP * reference)
        feasible = min(capacity[h] * (1.0 + cover[r]), _held(stock, on_order, h, NDPR) / ndpr_per_t)
        held = _held(stock, on_order, h, DYTB)
        run = max(0.0, min(capacity[h], feasible) * share - held)
        more = max(0.0, feasible * share - held - run)
        k, j = _run_and_cover(rows, k, j, h, r, value, run, more, reference)
    return _cover_after_runs(rows, k, cover_from, j)


@kernel
def end_user_bids(rows, k, users, country, sector, need, stock, on_order, curve_price, curve_share, content_share,
                  content_sector, cover_price, cover):  # fmt: skip
    """End users bid along their sector's demand curve for this month's need, then for cover.

    Each user's need not met from stock is split over the curve's steps;
    the share under a domestic-content rule bids as compliant-only demand.
    Cover is bid at ``cover_price[r]``. Rows come as: curve (any origin),
    curve (compliant), cover (any origin), cover (compliant).
    """
    steps = curve_price.shape[1]
    for compliant in (False, True):
        for i in range(users.size):
            h, r, s = users[i], country[users[i]], sector[users[i]]
            cs = content_share[r] * content_sector[r, s]
            run = max(0.0, need[i] - stock[h, MAGNET])
            for j in range(steps):
                q = run * curve_share[s, j]
                k = _put(rows, k, h, r, curve_price[s, j], q * cs if compliant else q * (1.0 - cs), compliant)
    for compliant in (False, True):
        for i in range(users.size):
            h, r, s = users[i], country[users[i]], sector[users[i]]
            cs = content_share[r] * content_sector[r, s]
            run = max(0.0, need[i] - stock[h, MAGNET])
            more = max(0.0, need[i] * (1.0 + cover[r]) - _held(stock, on_order, h, MAGNET) - run)
            k = _put(rows, k, h, r, cover_price[r], more * cs if compliant else more * (1.0 - cs), compliant)
    return k
