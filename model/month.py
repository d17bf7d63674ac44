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
arrays and the Python between the steps. The caller logs idling events,
queues the new capacity and counts the record's row from what it returns.
"""

import numpy as np

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


@kernel
def play_month(demand, opening, market_inputs, month_end_inputs, expect_restriction, review, investment_inputs,
               record_inputs):  # fmt: skip
    """Steps 0-4 above; ``review``: whether this month reviews investment.

    Arguments are the steps' own, as packed by ``RareEarthModel._demand``, ``RareEarthModel._opening``,
    ``RareEarthModel._market_inputs``,
    :func:`model.dynamics.month_end_inputs`, :func:`model.dynamics.investment_inputs`
    and :meth:`model.recorder.Recorder.record_inputs`; ``expect_restriction`` receives the
    month end's expected restrictions. Returns ``(money left between buyers' and
    sellers' prices USD, turnover USD, first market that did not converge or -1,
    idled rows, restarted rows, expansions (rows, t/month added, month online))``.
    """
    end_users_need(*demand)
    open_month(*opening)
    between, turnover, failed = markets(*market_inputs)
    margin, idled, restarted, expect = month_end(*month_end_inputs)
    expect_restriction[:] = expect
    if review:
        expansions = invest(margin, *investment_inputs)
    else:
        expansions = (np.zeros(0, np.int64), np.zeros(0), np.zeros(0, np.int64))
    record_month(*record_inputs)
    return between, turnover, failed, idled, restarted, expansions
