"""Orders as the market sees them, and shipments waiting in licence review.

Firms and states post :class:`Orders` (offers and bids); a commodity's month
of trade is one compiled call (:func:`model.exchange.trade`). Licensed
shipments wait in the :class:`ReviewPipeline` until their review ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.compiled import kernel
from model.ledger import LICENCE_DENIED
from model.ledger import USD_PER_T_PER_USD_PER_KG as K

MAX_DELAY = 24


@dataclass
class Orders:
    """Offers or bids for one commodity; one row per order."""

    holder: np.ndarray  # holder row in the ledger; -1 = the outside economy (scrap)
    region: np.ndarray
    price: np.ndarray  # USD/kg: reservation (offers) or willingness to pay (bids)
    qty: np.ndarray  # t
    flag: np.ndarray  # offers: domestic only; bids: compliant origin only
    make_cost: np.ndarray  # offers produced to order: USD/kg paid on sale; NaN = from stock


class ReviewPipeline:
    """Shipments waiting for an export licence: tonnes and contract values by due month.

    The arrays are ``[slot, commodity, exporter, importer]``, slot = due month
    modulo ``MAX_DELAY + 1``; :attr:`arrays` is what the compiled market reads
    (:func:`file_for_review` puts flows in, :func:`deliver_reviewed` takes them out).
    """

    def __init__(self, n_commodities: int, n_regions: int) -> None:
        shape = (MAX_DELAY + 1, n_commodities, n_regions, n_regions)
        self.approved_t = np.zeros(shape)
        self.denied_t = np.zeros(shape)
        self.buyer_usd = np.zeros(shape)
        self.seller_usd = np.zeros(shape)
        self.due = np.zeros((MAX_DELAY + 1, n_commodities), dtype=bool)  # [slot, c]: anything filed there
        self.arrays = (self.approved_t, self.denied_t, self.buyer_usd, self.seller_usd, self.due)

    def total_t(self) -> np.ndarray:
        """Tonnes in review by commodity."""
        return in_review(self.approved_t, self.denied_t, self.due)


@kernel
def in_review(approved, denied, due):
    """Tonnes in licence review by commodity (approved and denied shipments not yet delivered)."""
    total = np.zeros(due.shape[1])
    if not due.any():
        return total
    for s in range(approved.shape[0]):
        for c in range(approved.shape[1]):
            total[c] += approved[s, c].sum() + denied[s, c].sum()
    return total


@kernel
def file_for_review(review, month, c, flows, price, producer_price, licensed, approval, delay):
    """Compiled :meth:`ReviewPipeline.file`: licensed flows ``[exporter, importer]`` of ``c`` wait for review."""
    approved, denied, buyer_usd, seller_usd, due = review
    n = flows.shape[0]
    for i in range(n):
        for j in range(n):
            x = flows[i, j] * licensed[i, j]
            if not x > 0:
                continue
            slot = (month + delay[i, j]) % (MAX_DELAY + 1)
            due[slot, c] = True
            approved[slot, c, i, j] += x * approval[i, j]
            denied[slot, c, i, j] += x * (1.0 - approval[i, j])
            buyer_usd[slot, c, i, j] += x * price[j] * K
            seller_usd[slot, c, i, j] += x * producer_price[i] * K


@kernel
def deliver_reviewed(review, accounts, month, c, holder_region, seller_weight):
    """Compiled :meth:`ReviewPipeline.deliver`.

    For each link with shipments due: buyers in the importing region (pro
    rata to their tonnes on order) receive the approved tonnes at their
    contract value; denied tonnes go back to the exporter's sellers (pro
    rata to ``seller_weight``, else to its state), who refund the buyers.
    """
    approved, denied, buyer_usd, seller_usd, due = review
    cash, stock, value, on_order, books = accounts
    slot = month % (MAX_DELAY + 1)
    if not due[slot, c]:
        return
    outside = cash.size - 1
    n_firms = outside - books.shape[1]
    n = approved.shape[2]
    for i in range(n):
        for j in range(n):
            ok, no = approved[slot, c, i, j], denied[slot, c, i, j]
            total = ok + no
            if not total > 0:
                continue
            buyers = _weights(on_order[:, c] * (holder_region == j), -1)
            sellers = _weights(seller_weight * (holder_region == i), n_firms + i)
            value_in = buyer_usd[slot, c, i, j] * ok / total
            refund = seller_usd[slot, c, i, j] * no / total
            for k in range(buyers[0].size):
                b, w = buyers[0][k], buyers[1][k]
                on_order[b, c] -= min(on_order[b, c], total * w)
                stock[b, c] += ok * w
                value[b, c] += value_in * w
                cash[outside] -= refund * w
                cash[b] += refund * w
            for k in range(sellers[0].size):
                h, w = sellers[0][k], sellers[1][k]
                stock[h, c] += no * w
                value[h, c] += refund * w
                cash[h] -= refund * w
                cash[outside] += refund * w
            books[LICENCE_DENIED, i] += no
    approved[slot, c], denied[slot, c], buyer_usd[slot, c], seller_usd[slot, c] = 0.0, 0.0, 0.0, 0.0
    due[slot, c] = False


@kernel
def _weights(w, fallback):
    """Rows with positive weight and their shares of the total (``fallback`` alone if none; -1 = nobody)."""
    idx = np.flatnonzero(w > 0)
    if idx.size == 0:
        if fallback < 0:
            return idx, np.zeros(0)
        return np.full(1, fallback, np.int64), np.ones(1)
    shares = w[idx]
    return idx, shares / shares.sum()
