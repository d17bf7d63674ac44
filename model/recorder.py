"""Recording: one small array snapshot per month, tidy tables on demand.

Snapshots are written into arrays with the month first, by one compiled
call a month; the tidy, one-row-per-observation DataFrames of
:mod:`model.outputs` are built from them only when asked for. Payoff
components come from changes in wealth over the month, by country:

- producer surplus: change in cash + stock book value of mines, separators
  and magnet makers;
- consumer surplus: value of end-use units built plus the change in end
  users' cash and stocks (magnet spending is negative), so units not built
  are already missing from it;
- fiscal cost: the fall in the state's cash + stockpile book value
  (subsidies, credits and stockpile losses cost; tariffs, duties, quota
  rent and royalties earn);
- supply security: minus the value of units not built for want of magnets.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import numpy as np

from agents.firms import MAGNETS
from model.compiled import kernel
from model.ledger import BOOKS, PURCHASES, SHORTAGE_LOSS, VALUE_BUILT
from model.schema import SECTORS
from model.trade import in_review

if TYPE_CHECKING:
    from model.world import RareEarthModel

PAYOFF_PARTS = ("producer_surplus_usd", "consumer_surplus_usd", "fiscal_cost_usd", "supply_security_usd")
#: Month books reported per country (money by region, USD): the ledger's first seven.
BOOK_COLUMNS = BOOKS[: PURCHASES + 1]


#: The countries' accounts kept each month, besides the payoff parts: name -> shape by (regions, commodities).
ACCOUNT_SHAPES = {
    "stockpile_t": lambda n, k: (n, k),
    "shortage_t": lambda n, k: (n, len(SECTORS)),
    "shortage_units": lambda n, k: (n, len(SECTORS)),
    "books": lambda n, k: (len(BOOK_COLUMNS), n),  # BOOK_COLUMNS by region
    "stockpile_value_usd": lambda n, k: (n,),
}


class Recorder:
    """Collects monthly snapshots of a model's public record.

    Each series is one array with the month first, filled in place by one
    compiled call at each month's close (:func:`record_month`) and doubled
    when full; :meth:`series` gives a view of the months recorded so far.
    """

    def __init__(self, model: RareEarthModel, record_firms: bool = True) -> None:
        self.model = model
        self.record_firms = record_firms
        self.n_months = 0
        n, k = model.n_regions, len(model.reference)
        shapes = {
            "price": (k, n),
            "producer_price": (k, n),
            "quota_rent": (k, n),
            "flows": (k, n, n),
            "output": (3, n),  # (stage, region)
            **{part: (n,) for part in PAYOFF_PARTS},
            **{name: shape(n, k) for name, shape in ACCOUNT_SHAPES.items()},
            "tonnes_error": (),
        }
        self._series = {name: np.zeros((0, *shape)) for name, shape in shapes.items()}
        self._months = np.zeros(0, np.int64)
        #: Events as logged: a row (dict), or a batch of plants idled or restarted in one month,
        #: ``(month, date, firm rows, "idled" | "restarted")``, turned into rows when read (:attr:`events`).
        self._log: list[dict[str, Any] | tuple[int, str, np.ndarray, str]] = []
        self._events: list[dict[str, Any]] = []
        self._read = 0  # entries of the log already in ``_events``
        self.firm_rows: list[dict[str, np.ndarray]] = []
        #: Wealth (3, regions) USD and tonnes by commodity at the last close (the next month's opening).
        self.opening: tuple[np.ndarray, np.ndarray] | None = None

    # ---- the record so far (views) -----------------------------------------------------------
    @property
    def months(self) -> np.ndarray:
        """Months recorded."""
        return self._months[: self.n_months]

    def series(self, name: str) -> np.ndarray:
        """One recorded series, month first (``price``, ``flows``, ``shortage_t``, ...)."""
        return self._series[name][: self.n_months]

    @property
    def tonnes_error(self) -> np.ndarray:
        """Largest gap each month between tonnes held and opening + produced - used (t; ~0)."""
        return self.series("tonnes_error")

    # ---- the month --------------------------------------------------------------------------
    def open_month(self) -> None:
        """Snapshot wealth and tonnes before the first month (later months open where the last closed).

        The month's output and shortage counters are cleared by :func:`model.month.open_month`.
        """
        m = self.model
        if self.opening is None:  # nothing moves between one month's close and the next month's open
            self.opening = _holdings(m)
        m.ledger.market_residual_usd = 0.0
        m.ledger.market_turnover_usd = 0.0

    @property
    def events(self) -> list[dict[str, Any]]:
        """Every event so far, one row (dict) each, in the order logged."""
        f, regions = self.model.firms, self.model.regions
        for entry in self._log[self._read :]:
            if isinstance(entry, dict):
                self._events.append(entry)
                continue
            month, date, rows, what = entry
            self._events.extend(
                {"month": month, "date": date, "country": regions[f.country[row]], "instrument": f"firm.{f.ids[row]}",
                 "old_value": "", "new_value": what, "source": "firm"}
                for row in rows.tolist()
            )  # fmt: skip
        self._read = len(self._log)
        return self._events

    def firm_events(self, rows: np.ndarray, what: str) -> None:
        """Log plants (firm rows) idled or restarted this month; their rows are built when read."""
        if rows.size:
            m = self.model
            self._log.append((m.month, m.date, rows.copy(), what))

    def event(self, country: str, instrument: str, old: Any, new: Any, source: str) -> None:
        """Log a policy change."""
        m = self.model
        self._log.append(
            {
                "month": m.month,
                "date": m.date,
                "country": country,
                "instrument": instrument,
                "old_value": _text(old),
                "new_value": _text(new),
                "source": source,
            }
        )

    def make_room(self) -> int:
        """Return this month's row of the record; the series grow (doubling) when full."""
        t = self.n_months
        if t == self._months.size:
            self._grow(max(16, 2 * t))
        return t

    def reserve(self, months: int) -> None:
        """Make room for ``months`` more months at once (a run of known length grows the series once)."""
        if self.n_months + months > self._months.size:
            self._grow(max(16, self.n_months + months))

    def record_arrays(self) -> tuple:
        """The arrays of :func:`record_month` (after the row): the series, and what a month's row reads."""
        m, led, f = self.model, self.model.ledger, self.model.firms
        s, review = self._series, m.pipeline
        return (
            (s["price"], s["producer_price"], s["quota_rent"], s["flows"], s["output"]),
            tuple(s[part] for part in PAYOFF_PARTS),
            tuple(s[name] for name in ACCOUNT_SHAPES),
            s["tonnes_error"],
            (m.price, m.producer_price, m.quota_rent, m.last_flows_t, m.output_t, m.shortage_t, m.shortage_units),
            (f.stage, f.country),
            led.accounts,
            (led.produced_t, led.used_t),
            (review.approved_t, review.denied_t, review.due),
            self.opening,
        )

    def recorded(self) -> None:
        """Count the row :func:`record_month` wrote; snapshot the firms once a year if asked."""
        m = self.model
        self._months[self.n_months] = m.month
        self.n_months += 1
        if self.record_firms and m.month % 12 == 0:
            self.firm_rows.append(self._firm_snapshot())

    def _grow(self, months: int) -> None:
        self.model._arguments = None  # the model's packed month arrays hold the old series
        for name, old in self._series.items():
            self._series[name] = np.zeros((months, *old.shape[1:]))
            self._series[name][: self.n_months] = old[: self.n_months]
        self._months = np.concatenate([self._months[: self.n_months], np.zeros(months - self.n_months, np.int64)])

    def _firm_snapshot(self) -> dict[str, np.ndarray]:
        m, f = self.model, self.model.firms
        producer = np.nonzero(f.stage <= MAGNETS)[0]
        return {
            "month": np.full(len(producer), m.month),
            "row": producer,
            "capacity_t_per_year": f.capacity_t_per_month[producer] * 12.0,
            "output_t": m.output_t[producer].copy(),
            "active": f.producing(m.month)[producer],
            "cash_usd": f.cash_usd[producer].copy(),
        }


def _holdings(m: RareEarthModel) -> tuple[np.ndarray, np.ndarray]:
    """Wealth by group and region (3, regions) USD, and tonnes held or in review by commodity."""
    led, review = m.ledger, m.pipeline
    wealth, tonnes = holdings(led.cash_usd, led.stock_t, led.stock_value_usd, m.firms.country, m.firms.stage,
                              m.n_regions)  # fmt: skip
    return wealth, tonnes + in_review(review.approved_t, review.denied_t, review.due)


@kernel
def record_month(t, public, payoff, accounts, tonnes_error, month, firms, ledger, made, review, opening):
    """Write month row ``t`` of the record, and make this month's close the next month's opening.

    ``public``: (price, producer price, quota rent, flows, output by stage)
    series to fill from ``month``'s (price, producer price, quota rent, last
    flows, output by firm, shortage t, shortage units); ``payoff``: the
    :data:`PAYOFF_PARTS` series; ``accounts``: the :data:`ACCOUNT_SHAPES`
    series; ``ledger``: :attr:`model.ledger.Ledger.accounts`; ``made``:
    (tonnes produced, tonnes used) by commodity; ``review``: the review
    pipeline's (approved t, denied t, due); ``opening``: (wealth, tonnes),
    updated in place.
    """
    price, producer_price, quota_rent, flows, output = public
    now_price, now_producer, now_rent, now_flows, output_t, shortage_t, shortage_units = month
    stage, country = firms
    cash, stock, stock_value, _, book = ledger
    produced, used = made
    wealth0, tonnes0 = opening
    price[t], producer_price[t], quota_rent[t], flows[t] = now_price, now_producer, now_rent, now_flows
    output[t] = output_by_stage(output_t, stage, country, output.shape[2])
    wealth, tonnes = holdings(cash, stock, stock_value, country, stage, wealth0.shape[1])
    tonnes += in_review(review[0], review[1], review[2])
    producers, users, states = payoff[0], payoff[1], payoff[2]
    for r in range(wealth.shape[1]):
        producers[t, r] = wealth[0, r] - wealth0[0, r]
        users[t, r] = wealth[1, r] - wealth0[1, r] + book[VALUE_BUILT, r]
        states[t, r] = -(wealth[2, r] - wealth0[2, r])
        payoff[3][t, r] = -book[SHORTAGE_LOSS, r]
    stockpile_t, shortage, units, books, stockpile_value = accounts
    n = country.size
    stockpile_t[t] = stock[n:]
    shortage[t], units[t] = shortage_t, shortage_units
    books[t] = book[: books.shape[1]]
    for r in range(stockpile_value.shape[1]):
        stockpile_value[t, r] = stock_value[n + r].sum()
    error = 0.0
    for c in range(tonnes.size):
        error = max(error, abs(tonnes[c] - (tonnes0[c] + produced[c] - used[c])))
    tonnes_error[t] = error
    wealth0[:], tonnes0[:] = wealth, tonnes


@kernel
def holdings(cash, stock, stock_value, country, stage, n_regions):
    """Wealth by group and region, and tonnes held by commodity, in one pass over the holders.

    Wealth is cash plus stock book value (USD) of producers (row 0), end
    users (row 1) and states (row 2). Tonnes (for the conservation check)
    are summed as four interleaved partial sums, which runs faster than one
    running sum per commodity.
    """
    wealth, tonnes = np.zeros((3, n_regions)), np.zeros((4, stock.shape[1]))  # tonnes: 4 partial sums
    n_firms = country.size
    g0, r0, acc = 0, 0, 0.0  # the wealth cell being summed, in a register (holders come grouped)
    for h in range(stock.shape[0]):
        w = cash[h]
        for c in range(stock.shape[1]):
            w += stock_value[h, c]
            tonnes[h & 3, c] += stock[h, c]
        if h >= n_firms:
            g, r = 2, h - n_firms
        else:
            g, r = (0 if stage[h] <= MAGNETS else 1), country[h]
        if g != g0 or r != r0:
            wealth[g0, r0] = acc
            g0, r0, acc = g, r, wealth[g, r]
        acc += w
    wealth[g0, r0] = acc
    return wealth, tonnes.sum(axis=0)


@kernel
def output_by_stage(output, stage, country, n_regions):
    """Output (t) by stage (mining, separation, magnets) and region."""
    out = np.zeros((3, n_regions))
    g0, r0, acc = 0, 0, 0.0  # the cell being summed, in a register (firms come grouped)
    for h in range(output.size):
        if stage[h] <= MAGNETS:
            if stage[h] != g0 or country[h] != r0:
                out[g0, r0] = acc
                g0, r0, acc = stage[h], country[h], out[stage[h], country[h]]
            acc += output[h]
    out[g0, r0] = acc
    return out


def _text(value: Any) -> str:
    return "" if value is None else str(value)


__all__ = ["BOOK_COLUMNS", "PAYOFF_PARTS", "Recorder", "SECTORS"]
