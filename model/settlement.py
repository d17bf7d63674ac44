"""Settlement of one commodity's cleared month: tonnes and money move, books are kept.

Compiled kernels over the orders and the ledger's arrays (``Ledger.accounts``:
cash by account, stock and book value by holder and commodity, tonnes on
order, month books by region). Money moves through a clearing house, the
outside account: buyers pay the price of their node, sellers receive the
price of theirs, and the gap is paid out as tariffs (importer), duties and
quota rent (exporter); freight and the carrying cost of review delays stay
with the outside economy. Every posting has a payer and a payee, so the sum
of all cash never changes; the tests check it every month.

Holders: firms ``0..F-1``, then one state per region ``F..F+N-1``; the
outside account is ``F+N``; an order's holder ``-1`` is the outside economy
(scrap). Prices in USD/kg, tonnes in t (1 t x 1 USD/kg = 1000 USD).
"""

import numpy as np

from model.compiled import kernel
from model.ledger import DUTY, PURCHASES, QUOTA_RENT, ROYALTY_IN, ROYALTY_OUT, SUBSIDY, TARIFF, withdraw_at_cost
from model.ledger import USD_PER_T_PER_USD_PER_KG as K


@kernel
def settle_sellers(accounts, produced, c, holder, region, domestic, make_cost, sold, r_price, r_producer, floor,
                   royalty_share, royalty_region):  # fmt: skip
    """Sellers make (if producing to order), deliver and are paid; returns revenue per offer (USD).

    Domestic-only offers get the buyers' price of their region, others the
    producer price. A price floor tops the price up (paid by the state) and
    a patent royalty share of revenue goes to the holder's state.
    """
    cash, stock, value, _, books = accounts
    outside = cash.size - 1
    n_firms = outside - books.shape[1]
    firm = holder >= 0
    for k in range(holder.size):  # produced to order: made now, at its cost
        if np.isfinite(make_cost[k]) and sold[k] > 0:
            if firm[k]:
                cost = sold[k] * make_cost[k] * K
                stock[holder[k], c] += sold[k]
                value[holder[k], c] += cost
                produced[c] += sold[k]
                cash[holder[k]] -= cost
                cash[outside] += cost
            else:
                produced[c] += sold[k]
    withdraw_at_cost(stock, value, holder, c, sold)
    revenue = np.zeros(holder.size)
    for k in range(holder.size):
        if sold[k] == 0.0:  # unsold offers move nothing (many, in a large book)
            continue
        price = r_price[region[k]] if domestic[k] else r_producer[region[k]]
        payee = holder[k] if firm[k] else outside
        revenue[k] = sold[k] * price * K
        cash[outside] -= revenue[k]
        cash[payee] += revenue[k]
        if firm[k] and floor[region[k]] > price:
            topup = (floor[region[k]] - price) * sold[k] * K
            cash[n_firms + region[k]] -= topup
            cash[payee] += topup
            books[SUBSIDY, region[k]] += topup
        if 0 <= holder[k] < n_firms and royalty_region[holder[k]] >= 0:
            owed = revenue[k] * royalty_share[holder[k]]
            cash[payee] -= owed
            cash[n_firms + royalty_region[holder[k]]] += owed
            books[ROYALTY_IN, royalty_region[holder[k]]] += owed
            books[ROYALTY_OUT, region[k]] += owed
    return revenue


@kernel
def settle_buyers(accounts, c, holder, region, compliant, filled, r_price, r_compliant, flows, licensed,
                  content_premium):  # fmt: skip
    """Buyers pay their node price; goods arrive now or go into licence review.

    Each buyer in region ``j`` gets the share of ``j``'s imports that needs a
    licence (``licensed[i, j]``) later: bought now, delivered or refunded
    when the review ends. Compliant purchases earn the domestic-content
    credit from their state. Returns (paid per bid, tonnes per bid held in review).
    """
    cash, stock, value, on_order, books = accounts
    review_share = _review_share(flows, licensed)
    outside = cash.size - 1
    n_firms = outside - books.shape[1]
    paid, held = np.zeros(holder.size), np.zeros(holder.size)
    received = cash[outside]  # the clearing house's cash, in a register (bidders are never the house)
    for k in range(holder.size):
        if filled[k] == 0.0:  # unfilled bids move nothing
            continue
        j, h = region[k], holder[k]
        paid[k] = filled[k] * (r_compliant[j] if compliant[k] else r_price[j]) * K
        cash[h] -= paid[k]
        received += paid[k]
        if compliant[k]:
            credit = content_premium[j] * filled[k] * K
            cash[n_firms + j] -= credit
            cash[h] += credit
            books[SUBSIDY, j] += credit
        held[k] = filled[k] * review_share[j]
        stock[h, c] += filled[k] - held[k]
        value[h, c] += paid[k] * (1.0 - review_share[j])
        on_order[h, c] += held[k]
        books[PURCHASES, j] += paid[k]
    cash[outside] = received
    return paid, held


@kernel
def settle_links(accounts, flows, compliant_flows, r_price, r_producer, r_compliant, freight, duty, tariff, carry):
    """Pay tariffs to importers, duties and quota rent to exporters; freight stays outside.

    Per-kg link cost components are ``[exporter, importer]`` arrays. The
    quota rent on a link is what is left of the buyer-seller gap after its
    costs. Returns the money taken between buyer and seller prices (USD).
    """
    cash, _, _, _, books = accounts
    n = flows.shape[0]
    between = 0.0
    for i in range(n):
        for j in range(n):
            x = flows[i, j]
            if i == j or x == 0.0:
                continue
            xc = compliant_flows[i, j]
            gap = (x - xc) * r_price[j] + xc * r_compliant[j] - x * r_producer[i]
            cost = freight[i, j] + duty[i, j] + tariff[i, j] + carry[i, j]
            rent = max(0.0, gap - x * cost)
            _pay_state(cash, books, j, TARIFF, x * tariff[i, j] * K)
            _pay_state(cash, books, i, DUTY, x * duty[i, j] * K)
            _pay_state(cash, books, i, QUOTA_RENT, rent * K)
            between += (x * cost + rent) * K
    return between


@kernel
def _pay_state(cash, books, region, book, usd):
    """The clearing house (outside account) pays a region's state, booked under ``book``."""
    outside = cash.size - 1
    cash[outside] -= usd
    cash[outside - books.shape[1] + region] += usd
    books[book, region] += usd


@kernel
def _review_share(flows, licensed):
    """Share of each importer's inflow that passes through licence review."""
    n = flows.shape[0]
    share = np.zeros(n)
    for j in range(n):
        review, total = 0.0, 0.0
        for i in range(n):
            total += flows[i, j]
            if licensed[i, j]:
                review += flows[i, j]
        if total > 1e-12:
            share[j] = review / total
    return share


@kernel
def tally(n_firms, offer_holder, sold, count_output, output, bid_holder, wanted, filled, rationed, scratch):
    """Firms' month from one market: miners' output sold, and who got < 98% of what it bid for.

    ``scratch``: (2, firms) zeros, left zeroed on return (bids of one firm are summed in it).
    """
    for k in range(offer_holder.size):
        h = offer_holder[k]
        if 0 <= h < n_firms and count_output[h]:
            output[h] += sold[k]
    wanted_by, got_by = scratch[0], scratch[1]
    for k in range(bid_holder.size):
        if bid_holder[k] < n_firms:
            wanted_by[bid_holder[k]] += wanted[k]
            got_by[bid_holder[k]] += filled[k]
    for k in range(bid_holder.size):
        h = bid_holder[k]
        if h < n_firms and wanted_by[h] > 0.0:  # first of the firm's bids: judge, then clear
            if got_by[h] < 0.98 * wanted_by[h]:
                rationed[h] = True
            wanted_by[h], got_by[h] = 0.0, 0.0
