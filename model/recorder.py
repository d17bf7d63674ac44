"""Recording: one small array snapshot per month, tidy tables on demand.

Snapshots are appended as arrays (cheap inside the month loop); the tidy,
one-row-per-observation DataFrames of :mod:`model.outputs` are built from
them only when asked for. Payoff components come from changes in wealth
over the month, by country:

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

if TYPE_CHECKING:
    from model.world import RareEarthModel

PAYOFF_PARTS = ("producer_surplus_usd", "consumer_surplus_usd", "fiscal_cost_usd", "supply_security_usd")
#: Month books reported per country (money by region, USD): the ledger's first seven.
BOOK_COLUMNS = BOOKS[: PURCHASES + 1]


class Recorder:
    """Collects monthly snapshots of a model's public record."""

    def __init__(self, model: RareEarthModel, record_firms: bool = True) -> None:
        self.model = model
        self.record_firms = record_firms
        self.months: list[int] = []
        self.price: list[np.ndarray] = []
        self.producer_price: list[np.ndarray] = []
        self.quota_rent: list[np.ndarray] = []
        self.flows: list[np.ndarray] = []
        self.output: list[np.ndarray] = []  # (stage, region)
        self.country: list[dict[str, np.ndarray]] = []
        self.events: list[dict[str, Any]] = []
        self.firm_rows: list[dict[str, np.ndarray]] = []
        self.tonnes_error: list[float] = []
        self._closing: tuple[np.ndarray, np.ndarray] | None = None  # holdings at the last close

    def open_month(self) -> None:
        """Snapshot wealth and tonnes before the month."""
        m = self.model
        # Nothing moves between one month's close and the next month's open.
        self._wealth0, self._tonnes0 = self._closing if self._closing is not None else self._holdings()
        m.output_t[:] = 0.0
        m.shortage_units[:] = 0.0
        m.ledger.market_residual_usd = 0.0
        m.ledger.market_turnover_usd = 0.0

    def event(self, country: str, instrument: str, old: Any, new: Any, source: str) -> None:
        """Log a policy change (or a plant idling/restarting)."""
        m = self.model
        self.events.append(
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

    def close_month(self) -> None:
        """Snapshot prices, flows, output by stage and the countries' accounts."""
        m = self.model
        self.months.append(m.month)
        self.price.append(m.price.copy())
        self.producer_price.append(m.producer_price.copy())
        self.quota_rent.append(m.quota_rent.copy())
        self.flows.append(m.last_flows_t.copy())  # every market trades every month
        self.output.append(self._output_by_stage())
        wealth1, tonnes1 = self._closing = self._holdings()
        self.country.append(self._country_accounts(wealth1 - self._wealth0))
        led = m.ledger
        self.tonnes_error.append(float(np.abs(tonnes1 - (self._tonnes0 + led.produced_t - led.used_t)).max()))
        if self.record_firms and m.month % 12 == 0:
            self.firm_rows.append(self._firm_snapshot())

    def _holdings(self) -> tuple[np.ndarray, np.ndarray]:
        """Wealth by group and region (3, regions) USD, and tonnes held or in review by commodity."""
        m, led = self.model, self.model.ledger
        wealth, tonnes = holdings(
            led.cash_usd, led.stock_t, led.stock_value_usd, m.firms.country, m.firms.stage, m.n_regions
        )
        return wealth, tonnes + m.pipeline.total_t()

    def _output_by_stage(self) -> np.ndarray:
        m, f = self.model, self.model.firms
        return output_by_stage(m.output_t, f.stage, f.country, m.n_regions)

    def _country_accounts(self, wealth_change: np.ndarray) -> dict[str, np.ndarray]:
        m, led = self.model, self.model.ledger
        n = m.firms.n
        producers, users, states = wealth_change
        books = led.book_usd
        return {
            "producer_surplus_usd": producers,
            "consumer_surplus_usd": users + books[VALUE_BUILT],
            "fiscal_cost_usd": -states,
            "supply_security_usd": -books[SHORTAGE_LOSS],
            "stockpile_t": led.stock_t[n:].copy(),
            "shortage_t": m.shortage_t.copy(),
            "shortage_units": m.shortage_units.copy(),
            "books": books[: len(BOOK_COLUMNS)].copy(),  # BOOK_COLUMNS by region
            "stockpile_value_usd": led.stock_value_usd[n:].sum(axis=1),
        }

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
