"""The compiled part of a month, in one call: markets, month end, investment review, record.

The Python side of a month (:meth:`model.world.RareEarthModel.step`) sets
policies, brings capacity online and draws demand shocks; then
:func:`play_month` runs, in order and without returning to Python,

0. end users' need this month (:func:`agents.behaviour.end_users_need`,
   from the shocks drawn in Python), and the month's opening: its books
   and counters cleared, the plants producing this month marked
   (:func:`open_month`);
1. the markets upstream to downstream with production between them, and
   end users building units (:func:`model.exchange.markets`);
2. the month end: expectations, idling and restarts, thrifting, expected
   restrictions (:func:`model.dynamics.month_end`);
3. at an investment review, the expansions (:func:`model.dynamics.invest`);
4. the month's row of the record (:func:`model.recorder.record_month`).

One call instead of four saves each month the dispatch of a hundred-odd
arrays and the Python between the steps, and the arrays cross as one
object (:class:`MonthArrays`, packed once by :func:`pack_month` and kept
while the model's arrays stay the same objects). The caller logs idling
events, queues the new capacity and counts the record's row from what it
returns.
"""

import numpy as np
from numba import types
from numba.experimental import structref
from numba.extending import overload

from agents.behaviour import end_users_need
from model.compiled import kernel
from model.dynamics import invest, month_end
from model.exchange import markets
from model.recorder import record_month


@kernel
def open_month(month, books, produced, used, output, shortage_units, producing, active, online_month):
    """Clear the month's books and counters; mark the plants producing this month.

    Cleared: the books, tonnes produced and used, output by firm and
    shortage units. ``producing`` marks the plants built and not idled
    (``active`` and online by ``month``).
    """
    books[:] = 0.0
    produced[:] = 0.0
    used[:] = 0.0
    output[:] = 0.0
    shortage_units[:] = 0.0
    for h in range(producing.size):
        producing[h] = active[h] & (online_month[h] <= month)  # branch-free: idled plants are scattered


@structref.register
class MonthArraysType(types.StructRef):
    """numba type of :class:`MonthArrays` (fields: the steps' argument tuples)."""

    def preprocess_fields(self, fields):
        """Fields as plain types (literal values would make a new type per value)."""
        return tuple((name, types.unliteral(typ)) for name, typ in fields)


class MonthArrays(structref.StructRefProxy):
    """The arrays of a month's steps as ONE object for :func:`play_month` (see :func:`pack_month`).

    Handing numba a tuple of ~160 arrays costs ~30 us a call (each array is
    typed and unboxed); this object crosses in ~2 us and the steps' tuples
    are read from its fields inside the compiled month.
    """

    @property
    def steps(self) -> dict[str, tuple]:
        """The steps' argument tuples by step (the model's own arrays, for inspection)."""
        return dict(zip(MONTH_STEPS, _steps_of(self), strict=True))


structref.define_boxing(MonthArraysType, MonthArrays)

#: The fields of :class:`MonthArrays`: the argument tuples of the month's steps, without month numbers.
MONTH_STEPS = ("opening", "market", "month_end", "investment", "record")


def _new_month_arrays(opening, market, month_end, investment, record):
    """Stub for :func:`pack_month` (compiled through the overload below)."""
    raise NotImplementedError


@overload(_new_month_arrays)
def _new_month_arrays_impl(opening, market, month_end, investment, record):
    kind = MonthArraysType(list(zip(MONTH_STEPS, (opening, market, month_end, investment, record), strict=True)))

    def impl(opening, market, month_end, investment, record):
        packed = structref.new(kind)
        packed.opening, packed.market, packed.month_end = opening, market, month_end
        packed.investment, packed.record = investment, record
        return packed

    return impl


@kernel
def pack_month(opening, market, month_end, investment, record):
    """A :class:`MonthArrays` of the steps' arguments (tuples as ``RareEarthModel._pack_arguments`` gives them)."""
    return _new_month_arrays(opening, market, month_end, investment, record)


@kernel
def _steps_of(packed):
    return packed.opening, packed.market, packed.month_end, packed.investment, packed.record


@kernel
def play_month(steps, demand, month, months_left, review, t, expect_restriction):
    """Steps 0-4 above; ``review``: whether this month reviews investment, ``t``: the record's row.

    ``steps``: the steps' arrays (:func:`pack_month`), ``demand``: the arguments of
    :func:`agents.behaviour.end_users_need` (``RareEarthModel._demand``), ``months_left``:
    in the calendar year; ``expect_restriction`` receives the month end's expected
    restrictions. Returns ``(money left between buyers' and sellers' prices USD,
    turnover USD, first market that did not converge or -1, idled rows, restarted
    rows, expansions (rows, t/month added, month online))``.
    """
    end_users_need(*demand)
    open_month(month, *steps.opening)
    between, turnover, failed = markets(month, months_left, *steps.market)
    margin, idled, restarted, expect = month_end(*steps.month_end)
    expect_restriction[:] = expect
    if review:
        expansions = invest(margin, month, *steps.investment)
    else:
        expansions = (np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))
    record_month(t, *steps.record)
    return between, turnover, failed, idled, restarted, expansions
