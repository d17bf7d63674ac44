"""Between months, with hand-worked numbers: expectations, idling and restarts, thrifting, investment."""

from __future__ import annotations

import numpy as np
import pytest
from worlds import small_world

from agents.behaviour import CONC, MAGNET
from agents.firms import END_USE, MAGNETS, MINING
from model import dynamics
from model.run import build_model
from model.scenario import validate


@pytest.fixture
def model():
    return build_model(validate(small_world(n_countries=2)), seed=0)


def a_mine(model) -> tuple[int, int]:
    """A concentrate mine's row and region, with a unit cost of 9 USD/kg and no subsidy."""
    f = model.firms
    h = int(np.nonzero((f.stage == MINING) & (f.output == CONC) & (f.capacity_t_per_month > 0))[0][0])
    f.unit_cost_usd_per_kg[h] = 9.0
    model.subsidy[:] = 0.0
    return h, int(f.country[h])


def month_end(model):
    return dynamics.month_end(*dynamics.month_end_inputs(model))


def test_expectations_adapt_and_a_plant_idles_after_sustained_losses(model):
    h, r = a_mine(model)
    mk, f = model.spec.market, model.firms
    model.price[CONC, r], model.expected[CONC, r] = 10.0, 6.0
    f.loss_months[h] = mk.exit_after_loss_months - 1
    margin, idled, restarted, _ = month_end(model)
    expected = 6.0 + mk.expectation_weight * (10.0 - 6.0)
    assert model.expected[CONC, r] == pytest.approx(expected)
    assert margin[h] == pytest.approx(expected - 9.0)  # below -10% of the unit cost: a loss month
    assert not f.active[h] and h in idled and h not in restarted


def test_an_idled_plant_restarts_after_sustained_expected_profit(model):
    h, r = a_mine(model)
    mk, f = model.spec.market, model.firms
    f.active[h] = False
    model.price[CONC, r] = model.expected[CONC, r] = 20.0
    f.profit_months[h] = mk.restart_after_profit_months - 1
    margin, idled, restarted, _ = month_end(model)
    assert margin[h] == pytest.approx(11.0)
    assert f.active[h] and h in restarted and h not in idled


def test_idled_and_restarted_plants_are_events_in_the_order_logged(model):
    h, r = a_mine(model)
    rec, code = model.recorder, model.regions[r]
    rec.event(code, "export_duty_rate.ndpr_oxide", 0.0, 0.25, "scenario: before")
    rec.firm_events(np.array([h]), "idled")
    rec.event(code, "export_duty_rate.ndpr_oxide", 0.25, 0.0, "scenario: after")
    rec.firm_events(np.array([], np.int64), "idled")  # nothing to log
    rec.firm_events(np.array([h, h]), "restarted")
    firm = f"firm.{model.firms.ids[h]}"
    rows = [(e["country"], e["instrument"], e["old_value"], e["new_value"], e["source"]) for e in rec.events]
    assert rows == [
        (code, "export_duty_rate.ndpr_oxide", "0.0", "0.25", "scenario: before"),
        (code, firm, "", "idled", "firm"),
        (code, "export_duty_rate.ndpr_oxide", "0.25", "0.0", "scenario: after"),
        (code, firm, "", "restarted", "firm"),
        (code, firm, "", "restarted", "firm"),
    ]
    assert rec.events is rec.events and len(rec.events) == 5  # read twice: nothing added twice


def test_a_rationed_month_is_not_a_loss_month_and_the_flag_moves_to_last_month(model):
    h, r = a_mine(model)
    f = model.firms
    model.price[CONC, r] = model.expected[CONC, r] = 5.0  # margin -4: a loss, were it not rationed
    f.loss_months[h], model.rationed[h] = 3, True
    month_end(model)
    assert f.loss_months[h] == 0 and f.active[h]
    assert model.rationed_last[h] and not model.rationed[h]


def test_magnets_dear_enough_thrift_at_the_sectors_full_yearly_rate(model):
    ref = model.reference[MAGNET]
    model.price[MAGNET] = model.expected[MAGNET] = 3.0 * ref  # twice the 1.5 trigger: full pressure
    table = model.sector_table
    assert (table["trigger"] == 1.5).all() and (table["thrift_max"] == 0.1).all()
    month_end(model)
    assert model.intensity == pytest.approx(np.full_like(model.intensity, 1.0 - 0.1 / 12.0))


def test_investment_expands_only_busy_profitable_producing_plants():
    stage = np.array([MINING, MINING, MINING, MINING, END_USE, MAGNETS])
    country = np.array([0, 0, 1, 0, 0, 0])
    capacity = np.array([100.0, 100.0, 100.0, 100.0, 0.0, 50.0])
    active = np.array([True, True, True, False, True, True])
    online = np.array([0, 0, 0, 0, 0, 20])  # the magnet plant is not built yet in month 12
    window = np.array([1080.0, 960.0, 1080.0, 1080.0, 0.0, 600.0])  # t over 12 months: 90%, 80%, ...
    margin = np.array([5.0, 5.0, 5.0, 5.0, 0.0, 50.0])  # USD/kg
    hurdle = np.array([0.10, 0.30])
    capex = np.array([20_000.0, 30_000.0, 40_000.0])  # USD per t/yr: mining return 5 * 1000 / 20000 = 0.25
    lead = np.array([60, 36, 24])
    cash = np.full(7, 1e7)
    rows, added, due = dynamics.invest(
        margin, 12, (stage, country, capacity, active, online), window, (12, 0.15, hurdle, capex, lead), cash
    )
    # Only plant 0: busy (90% >= 85%), return 0.25 over a 0.10 hurdle, producing. Plant 1 ran at 80%,
    # plant 2's country asks 0.30, plant 3 is idled, plant 4 is an end user, plant 5 is not built yet.
    assert rows.tolist() == [0] and added.tolist() == [15.0] and due.tolist() == [72]
    capex_paid = 15.0 * 12.0 * 20_000.0  # 3.6 million USD, to the outside economy (the last account)
    assert cash[0] == 1e7 - capex_paid and cash[6] == 1e7 + capex_paid and (cash[1:6] == 1e7).all()
    assert (window == 0.0).all()  # the next review counts from here


def test_investment_in_the_model_queues_capacity_and_conserves_money(model):
    f, led = model.firms, model.ledger
    model.month = 12
    h = int(np.nonzero((f.stage == MINING) & (f.capacity_t_per_month > 0))[0][0])
    model.output_window_t[:] = 0.0
    model.output_window_t[h] = f.capacity_t_per_month[h] * 12.0  # ran flat out
    margin = np.zeros(f.n)
    margin[h] = 1e3  # far above any hurdle
    total = led.total_cash()
    model.schedule_capacity(*dynamics.invest(margin, model.month, *dynamics.investment_inputs(model)))
    lead = model.spec.market.lead_time_months["mining"]
    [(firms, added)] = model.projects[12 + lead]
    assert firms.tolist() == [h] and added[0] == pytest.approx(f.capacity_t_per_month[h] * 0.15)
    assert led.total_cash() == pytest.approx(total, rel=1e-12)
