"""One commodity's month of trade: orders in, clearing, settlement, shipments in review.

Firms and states post :class:`Orders` (offers and bids). Orders are merged
into stepped curves per region, the spatial equilibrium is solved by
:func:`model.market.clear_market`, and volumes are handed back to orders in
merit order. Money moves through a clearing house (the outside account):
buyers pay the price of their node, sellers receive the price of theirs, and
the gap is paid out as tariffs (importer), duties and quota rent (exporter);
freight and the carrying cost of review delays stay with the outside
economy. What is left over is the numerical residual, booked as
``market_residual_usd`` and checked to be ~0 by the tests.
"""

from __future__ import annotations

from dataclasses import dataclass, fields

import numpy as np

from model.ledger import USD_PER_T_PER_USD_PER_KG as K
from model.ledger import Ledger
from model.links import LinkState
from model.market import MarketInput, aggregate_steps, allocate_to_offers, clear_market

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

    @staticmethod
    def of(holder, region, price, qty, flag=False, make_cost=np.nan) -> Orders:
        """Build orders from arrays or scalars (scalars repeat); empty rows dropped."""
        qty = np.asarray(qty, float)
        price = np.asarray(price, float)
        size = max(np.size(holder), np.size(region), price.size, qty.size)
        qty, price = _full(qty, size, float), _full(price, size, float)
        keep = (qty > 1e-9) & np.isfinite(price)
        return Orders(
            _full(holder, size, np.int64)[keep],
            _full(region, size, np.int64)[keep],
            np.maximum(price[keep], 1e-3),
            qty[keep],
            _full(flag, size, bool)[keep],
            _full(make_cost, size, float)[keep],
        )

    @staticmethod
    def concat(parts: list[Orders]) -> Orders:
        """Stack several order books."""
        return Orders(*(np.concatenate([getattr(p, f.name) for p in parts]) for f in fields(Orders)))


def _full(value, size: int, dtype) -> np.ndarray:
    arr = np.asarray(value, dtype=dtype)
    return np.full(size, arr, dtype=dtype) if arr.ndim == 0 else arr


@dataclass
class TradeResult:
    """What one commodity's clearing did this month."""

    flows_t: np.ndarray  # (N, N) exporter x importer; diagonal = domestic
    compliant_flows_t: np.ndarray
    price: np.ndarray  # (N,) price paid by buyers, USD/kg
    producer_price: np.ndarray  # (N,) price received by exporting sellers
    compliant_price: np.ndarray
    quota_rent: np.ndarray
    sold: np.ndarray  # t per offer
    filled: np.ndarray  # t per bid


def clear_commodity(
    offers: Orders,
    bids: Orders,
    link_cost: np.ndarray,
    link_open: np.ndarray,
    export_cap: np.ndarray,
    compliant_origin: np.ndarray,
    resolution: float,
) -> TradeResult:
    """Merge orders into stepped curves, solve the equilibrium, hand volumes back."""
    n = link_cost.shape[0]
    # Orders come from typed firm columns (Orders.of), so the market's input checks are skipped.
    s_key, s_price, s_qty, s_of = aggregate_steps(
        offers.region + n * offers.flag, offers.price, offers.qty, 2 * n, resolution, check=False
    )
    d_key, d_price, d_qty, d_of = aggregate_steps(
        bids.region + n * bids.flag, bids.price, bids.qty, 2 * n, resolution, check=False
    )
    out = clear_market(
        MarketInput.trusted(
            n_regions=n,
            supply_region=s_key % n,
            supply_price=s_price,
            supply_qty=s_qty,
            supply_domestic_only=s_key >= n,
            demand_region=d_key % n,
            demand_price=d_price,
            demand_qty=d_qty,
            demand_compliant_only=d_key >= n,
            link_cost=link_cost,
            link_open=link_open,
            link_cap=np.full((n, n), np.inf),
            export_cap=export_cap,
            compliant_origin=compliant_origin,
        )
    )
    return TradeResult(
        flows_t=out.flows,
        compliant_flows_t=out.compliant_flows,
        price=out.price.copy(),
        producer_price=out.producer_price.copy(),
        compliant_price=out.compliant_price.copy(),
        quota_rent=np.nan_to_num(out.quota_rent, nan=0.0),
        sold=allocate_to_offers(s_of, offers.qty, s_qty, out.supply_sold, check=False),
        filled=allocate_to_offers(d_of, bids.qty, d_qty, out.demand_filled, check=False),
    )


def fill_missing_prices(r: TradeResult, previous: np.ndarray) -> None:
    """Nodes with no market this month keep last month's price, so prices stay finite."""
    for arr in (r.price, r.producer_price, r.compliant_price):
        missing = ~np.isfinite(arr)
        arr[missing] = previous[missing]
    missing = ~np.isfinite(r.compliant_price)
    r.compliant_price[missing] = r.price[missing]


def settle_sellers(
    ledger: Ledger,
    c: int,
    offers: Orders,
    r: TradeResult,
    floor_usd_per_kg: np.ndarray,
    royalty_share: np.ndarray,
    royalty_region: np.ndarray,
) -> np.ndarray:
    """Sellers make (if producing to order), deliver and are paid; returns revenue per offer."""
    s = r.sold
    firm = offers.holder >= 0
    made = np.isfinite(offers.make_cost) & (s > 0)
    if np.any(made & firm):
        h, t = offers.holder[made & firm], s[made & firm]
        cost = t * offers.make_cost[made & firm] * K
        ledger.produce(h, c, t, cost)
        ledger.pay(h, ledger.outside, cost)
    ledger.produced_t[c] += float(s[made & ~firm].sum())
    ledger.withdraw(offers.holder[firm], c, s[firm])
    price = np.where(offers.flag, r.price[offers.region], r.producer_price[offers.region])
    revenue = s * price * K
    payee = np.where(firm, offers.holder, ledger.outside)
    ledger.pay(ledger.outside, payee, revenue)
    topup = np.maximum(0.0, floor_usd_per_kg[offers.region] - price) * s * K * firm
    ledger.pay(ledger.state(offers.region), payee, topup)
    ledger.book("subsidy_paid_usd", offers.region, topup)
    royalty = revenue * royalty_share * (royalty_region >= 0)
    holder_region = np.maximum(royalty_region, 0)
    ledger.pay(payee, ledger.state(holder_region), royalty)
    ledger.book("royalty_income_usd", holder_region, royalty)
    ledger.book("royalty_paid_usd", offers.region, royalty)
    return revenue


def settle_buyers(
    ledger: Ledger, c: int, bids: Orders, r: TradeResult, licensed: np.ndarray, content_premium: np.ndarray
) -> tuple[np.ndarray, np.ndarray]:
    """Buyers pay their node price; goods arrive now or go into licence review.

    Returns (paid per bid, tonnes per bid held in review).
    """
    f = r.filled
    price = np.where(bids.flag, r.compliant_price[bids.region], r.price[bids.region])
    paid = f * price * K
    ledger.pay(bids.holder, ledger.outside, paid)
    credit = content_premium[bids.region] * f * K * bids.flag
    ledger.pay(ledger.state(bids.region), bids.holder, credit)
    ledger.book("subsidy_paid_usd", bids.region, credit)
    review_in = (r.flows_t * licensed).sum(axis=0)
    total_in = r.flows_t.sum(axis=0)
    review_share = np.divide(review_in, total_in, out=np.zeros_like(total_in), where=total_in > 1e-12)
    held = f * review_share[bids.region]
    now = f - held
    ledger.move(np.full(len(f), -1), bids.holder, c, now, paid * (1.0 - review_share[bids.region]))
    np.add.at(ledger.on_order_t[:, c], bids.holder, held)
    ledger.book("purchases_usd", bids.region, paid)
    return paid, held


def settle_links(
    ledger: Ledger, r: TradeResult, freight: np.ndarray, duty: np.ndarray, tariff: np.ndarray, carry: np.ndarray
) -> float:
    """Pay tariffs to importers, duties and quota rent to exporters; freight stays outside.

    Per-kg link cost components are ``[exporter, importer]`` arrays. Returns
    the money taken between buyer and seller prices (USD).
    """
    x = r.flows_t.copy()
    xc = r.compliant_flows_t.copy()
    np.fill_diagonal(x, 0.0)
    np.fill_diagonal(xc, 0.0)
    buyer = (x - xc) * r.price[None, :] + xc * r.compliant_price[None, :]
    seller = x * r.producer_price[:, None]
    rent = np.maximum(0.0, buyer - seller - x * (freight + duty + tariff + carry))
    n = x.shape[0]
    regions = np.arange(n)
    ledger.pay(ledger.outside, ledger.state(regions), (x * tariff).sum(axis=0) * K)
    ledger.pay(ledger.outside, ledger.state(regions), ((x * duty).sum(axis=1) + rent.sum(axis=1)) * K)
    ledger.book("tariff_revenue_usd", regions, (x * tariff).sum(axis=0) * K)
    ledger.book("duty_revenue_usd", regions, (x * duty).sum(axis=1) * K)
    ledger.book("quota_rent_usd", regions, rent.sum(axis=1) * K)
    return float((x * (freight + duty + tariff + carry)).sum() + rent.sum()) * K


class ReviewPipeline:
    """Shipments waiting for an export licence: tonnes and contract values by due month."""

    def __init__(self, n_commodities: int, n_regions: int) -> None:
        shape = (MAX_DELAY + 1, n_commodities, n_regions, n_regions)
        self.approved_t = np.zeros(shape)
        self.denied_t = np.zeros(shape)
        self.buyer_usd = np.zeros(shape)
        self.seller_usd = np.zeros(shape)

    def total_t(self) -> np.ndarray:
        """Tonnes in review by commodity."""
        return (self.approved_t + self.denied_t).sum(axis=(0, 2, 3))

    def file(self, month: int, c: int, r: TradeResult, links: LinkState) -> None:
        """Put this month's licensed flows into review."""
        x = r.flows_t * links.licensed[c]
        if not x.any():
            return
        for d in np.unique(links.delay_months[c][x > 0]):
            sel = (links.delay_months[c] == d) & (x > 0)
            slot = (month + int(d)) % (MAX_DELAY + 1)
            a = links.approval_rate[c]
            self.approved_t[slot, c][sel] += (x * a)[sel]
            self.denied_t[slot, c][sel] += (x * (1.0 - a))[sel]
            self.buyer_usd[slot, c][sel] += (x * r.price[None, :] * K)[sel]
            self.seller_usd[slot, c][sel] += (x * r.producer_price[:, None] * K)[sel]

    def deliver(self, ledger: Ledger, month: int, c: int, holder_region: np.ndarray, seller_weight: np.ndarray) -> None:
        """Shipments due this month: approved ones reach buyers, denied ones go back and are refunded.

        ``holder_region`` gives each holder's region; ``seller_weight`` (holders,)
        apportions returned goods and refunds among an exporter's sellers.
        """
        slot = month % (MAX_DELAY + 1)
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


def _weights(w: np.ndarray, fallback: int | None = None) -> tuple[np.ndarray, np.ndarray]:
    idx = np.nonzero(w > 0)[0]
    if len(idx) == 0:
        if fallback is None:
            return np.array([], dtype=np.int64), np.array([])
        return np.array([fallback]), np.array([1.0])
    return idx, w[idx] / w[idx].sum()
