"""Orders as the market sees them, and shipments waiting in licence review.

Firms and states post :class:`Orders` (offers and bids); a commodity's month
of trade is one compiled call (:func:`model.exchange.trade`). Licensed
shipments wait in the :class:`ReviewPipeline` until their review ends.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.ledger import USD_PER_T_PER_USD_PER_KG as K
from model.ledger import Ledger
from model.links import LinkState

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
    """Shipments waiting for an export licence: tonnes and contract values by due month."""

    def __init__(self, n_commodities: int, n_regions: int) -> None:
        shape = (MAX_DELAY + 1, n_commodities, n_regions, n_regions)
        self.approved_t = np.zeros(shape)
        self.denied_t = np.zeros(shape)
        self.buyer_usd = np.zeros(shape)
        self.seller_usd = np.zeros(shape)
        self.due = np.zeros((MAX_DELAY + 1, n_commodities), dtype=bool)  # [slot, c]: anything filed there

    def total_t(self) -> np.ndarray:
        """Tonnes in review by commodity."""
        if not self.due.any():
            return np.zeros(self.due.shape[1])
        return (self.approved_t + self.denied_t).sum(axis=(0, 2, 3))

    def file(
        self, month: int, c: int, flows_t: np.ndarray, price: np.ndarray, producer_price: np.ndarray, links: LinkState
    ) -> None:
        """Put this month's licensed flows (t) into review, valued at the month's prices (USD/kg)."""
        x = flows_t * links.licensed[c]
        if not x.any():
            return
        for d in np.unique(links.delay_months[c][x > 0]):
            sel = (links.delay_months[c] == d) & (x > 0)
            slot = (month + int(d)) % (MAX_DELAY + 1)
            self.due[slot, c] = True
            a = links.approval_rate[c]
            self.approved_t[slot, c][sel] += (x * a)[sel]
            self.denied_t[slot, c][sel] += (x * (1.0 - a))[sel]
            self.buyer_usd[slot, c][sel] += (x * price[None, :] * K)[sel]
            self.seller_usd[slot, c][sel] += (x * producer_price[:, None] * K)[sel]

    def deliver(self, ledger: Ledger, month: int, c: int, holder_region: np.ndarray, seller_weight: np.ndarray) -> None:
        """Shipments due this month: approved ones reach buyers, denied ones go back and are refunded.

        ``holder_region`` gives each holder's region; ``seller_weight`` (holders,)
        apportions returned goods and refunds among an exporter's sellers.
        """
        slot = month % (MAX_DELAY + 1)
        if not self.due[slot, c]:
            return
        ok, no = self.approved_t[slot, c], self.denied_t[slot, c]
        for i, j in zip(*np.nonzero(ok + no > 0), strict=True):
            total = ok[i, j] + no[i, j]
            buyers = _weights(ledger.on_order_t[:, c] * (holder_region == j))
            sellers = _weights(seller_weight * (holder_region == i), fallback=ledger.state(i))
            taken = np.minimum(ledger.on_order_t[buyers[0], c], total * buyers[1])
            ledger.on_order_t[buyers[0], c] -= taken
            value_in = self.buyer_usd[slot, c, i, j] * ok[i, j] / total
            ledger.move(np.full(len(buyers[0]), -1), buyers[0], c, ok[i, j] * buyers[1], value_in * buyers[1])
            refund = self.seller_usd[slot, c, i, j] * no[i, j] / total
            ledger.move(np.full(len(sellers[0]), -1), sellers[0], c, no[i, j] * sellers[1], refund * sellers[1])
            ledger.pay(sellers[0], ledger.outside, refund * sellers[1])
            ledger.pay(ledger.outside, buyers[0], refund * buyers[1])
            ledger.book("licence_denied_t", np.array([i]), no[i, j])
        for arr in (self.approved_t, self.denied_t, self.buyer_usd, self.seller_usd):
            arr[slot, c] = 0.0
        self.due[slot, c] = False


def _weights(w: np.ndarray, fallback: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    idx = np.nonzero(w > 0)[0]
    if len(idx) == 0:
        if fallback is None:
            return np.array([], dtype=np.int64), np.array([])
        return np.array([fallback]), np.array([1.0])
    return idx, w[idx] / w[idx].sum()
