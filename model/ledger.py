"""Money and tonnes: who holds what, and every movement as a double entry.

Holders are the rows of one table: firms first (``0..n-1``), then one state
account per region (``n..n+N-1``, which also holds the state stockpile).
Money has one more account, the *outside economy* (factor payments,
freight, scrap, final buyers), so that every transfer has a payer and a payee
and the sum of all balances never changes. Tonnes enter only by production
and leave only by use; the recorder checks both every month.

The :class:`Ledger` methods post a few transfers from Python; the compiled
functions at the end (``take``, ``put``, ``withdraw_at_cost``) are what the
settlement and production kernels post with, per holder.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from model.compiled import kernel

USD_PER_T_PER_USD_PER_KG = 1000.0
#: Month books kept by region (USD, except ``licence_denied_t``); rows of ``Ledger.book_usd``.
BOOKS = (
    "subsidy_paid_usd",
    "tariff_revenue_usd",
    "duty_revenue_usd",
    "quota_rent_usd",
    "royalty_income_usd",
    "royalty_paid_usd",
    "purchases_usd",
    "coproduct_sales_usd",
    "value_built_usd",
    "shortage_loss_usd",
    "licence_denied_t",
)
(SUBSIDY, TARIFF, DUTY, QUOTA_RENT, ROYALTY_IN, ROYALTY_OUT, PURCHASES, COPRODUCTS, VALUE_BUILT, SHORTAGE_LOSS,
 LICENCE_DENIED) = range(len(BOOKS))  # fmt: skip


@dataclass
class Ledger:
    """Cash by account and stock by holder, with month books for payoffs."""

    n_firms: int
    n_regions: int
    n_commodities: int
    cash_usd: np.ndarray = field(init=False)
    stock_t: np.ndarray = field(init=False)
    stock_value_usd: np.ndarray = field(init=False)
    on_order_t: np.ndarray = field(init=False)
    produced_t: np.ndarray = field(init=False)
    used_t: np.ndarray = field(init=False)
    book_usd: np.ndarray = field(init=False)  # (len(BOOKS), regions)
    market_residual_usd: float = 0.0
    market_turnover_usd: float = 0.0

    def __post_init__(self) -> None:
        holders = self.n_firms + self.n_regions
        self.cash_usd = np.zeros(holders + 1)
        self.stock_t = np.zeros((holders, self.n_commodities))
        self.stock_value_usd = np.zeros((holders, self.n_commodities))
        self.on_order_t = np.zeros((holders, self.n_commodities))
        self.produced_t = np.zeros(self.n_commodities)
        self.used_t = np.zeros(self.n_commodities)
        self.book_usd = np.zeros((len(BOOKS), self.n_regions))
        #: The arrays compiled kernels post to, in this order.
        self.accounts = (self.cash_usd, self.stock_t, self.stock_value_usd, self.on_order_t, self.book_usd)

    @property
    def books(self) -> dict[str, np.ndarray]:
        """The month's books by name (views into ``book_usd``)."""
        return dict(zip(BOOKS, self.book_usd, strict=True))

    @property
    def outside(self) -> int:
        """Account index of the outside economy."""
        return self.n_firms + self.n_regions

    def state(self, region: int | np.ndarray) -> int | np.ndarray:
        """Holder/account index of a region's state."""
        return self.n_firms + region

    def pay(self, payer: np.ndarray | int, payee: np.ndarray | int, usd: np.ndarray | float) -> None:
        """Move money; scalars repeat against arrays, repeated indices accumulate."""
        usd = np.asarray(usd, dtype=float)
        n = max(np.size(payer), np.size(payee), usd.size)
        if usd.ndim == 0 and n > 1:
            usd = np.full(n, float(usd))
        self._post(payer, -usd)
        self._post(payee, usd)

    def _post(self, account: np.ndarray | int, usd: np.ndarray) -> None:
        if np.ndim(account) == 0:
            self.cash_usd[account] += usd.sum()
        elif 8 * np.size(account) < self.cash_usd.size:  # few postings into many accounts
            np.add.at(self.cash_usd, account, usd)
        else:
            self.cash_usd += np.bincount(account, weights=usd, minlength=self.cash_usd.size)

    def book(self, name: str, region: np.ndarray | int, usd: np.ndarray | float) -> None:
        """Add to a named month book by region (for payoff components and spending)."""
        row = self.book_usd[BOOKS.index(name)]
        usd = np.asarray(usd, dtype=float)
        if np.ndim(region) == 0:
            row[region] += usd.sum()
        elif usd.ndim == 0:
            row += np.bincount(region, minlength=self.n_regions) * float(usd)
        else:
            row += np.bincount(region, weights=usd, minlength=self.n_regions)

    def move(self, src: np.ndarray, dst: np.ndarray, commodity: int, tonnes: np.ndarray, value_usd: np.ndarray) -> None:
        """Move stock between holders (or into/out of transit when ``dst``/``src`` is -1)."""
        real_src, real_dst = src >= 0, dst >= 0
        np.subtract.at(self.stock_t[:, commodity], src[real_src], tonnes[real_src])
        np.subtract.at(self.stock_value_usd[:, commodity], src[real_src], value_usd[real_src])
        np.add.at(self.stock_t[:, commodity], dst[real_dst], tonnes[real_dst])
        np.add.at(self.stock_value_usd[:, commodity], dst[real_dst], value_usd[real_dst])

    def total_cash(self) -> float:
        """Sum of every account: constant over a run."""
        return float(self.cash_usd.sum())


# ---------------------------------------------------------------- compiled postings
# For kernels that settle many orders at once; each mirrors a Ledger method.


@kernel
def _book_value(stock, value, h, c, tonnes):
    """Book value of ``tonnes`` of holder ``h``'s stock of ``c`` at its average cost (at most all of it)."""
    s = stock[h, c]
    return value[h, c] * min(tonnes / s, 1.0) if s > 1e-12 else 0.0


@kernel
def take(stock, value, used, h, c, tonnes):
    """Holder ``h`` uses up to ``tonnes`` of ``c`` (never more than it holds); returns their book value."""
    tonnes = min(tonnes, stock[h, c])
    used[c] += tonnes
    taken = _book_value(stock, value, h, c, tonnes)
    stock[h, c] -= tonnes
    value[h, c] -= taken
    return taken


@kernel
def put(stock, value, produced, h, c, tonnes, usd):
    """Holder ``h`` makes ``tonnes`` of ``c`` at book value ``usd``."""
    stock[h, c] += tonnes
    value[h, c] += usd
    produced[c] += tonnes


@kernel
def withdraw_at_cost(stock, value, holders, c, tonnes):
    """Take tonnes out of holders' stock at average book cost (sold or used); returns their value.

    Holders ``-1`` (the outside economy) are skipped. A holder listed twice
    gives up the same share of its opening book value per tonne each time.
    """
    taken = np.zeros(holders.size)
    for k in range(holders.size):
        if holders[k] >= 0 and tonnes[k] != 0.0:
            taken[k] = _book_value(stock, value, holders[k], c, tonnes[k])
    for k in range(holders.size):
        if holders[k] >= 0 and tonnes[k] != 0.0:
            stock[holders[k], c] -= tonnes[k]
            value[holders[k], c] -= taken[k]
    return taken
