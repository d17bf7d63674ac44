"""Recipes and settlement with exact, hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pytest
from worlds import small_world

from agents.behaviour import CONC, DYTB, HEAVY, MAGNET, NDPR
from agents.firms import END_USE, MAGNETS, SEPARATION
from model import production
from model.run import build_model
from model.scenario import validate


@pytest.fixture
def model():
    m = build_model(validate(small_world(n_countries=2)), seed=0)
    m.ledger.stock_t[:] = 0.0
    m.ledger.stock_value_usd[:] = 0.0
    return m


def only(model, stage):
    rows = np.nonzero(model.firms.stage == stage)[0]
    model.firms.capacity_t_per_month[rows[1:]] = 0.0
    return rows[0]


def test_separation_recipe_heavy_feed_first(model):
    f, led = model.firms, model.ledger
    s = only(model, SEPARATION)
    f.heavy_capable[s] = True
    f.capacity_t_per_month[s] = 50.0
    f.unit_cost_usd_per_kg[s] = 4.0
    model.env_cost[:] = 1.0
    led.stock_t[s, HEAVY], led.stock_t[s, CONC] = 10.0, 100.0
    led.stock_value_usd[s, HEAVY], led.stock_value_usd[s, CONC] = 10.0 * 13e3, 100.0 * 4e3
    cash0 = led.cash_usd[s]
    production.separate(model)
    # 10 t heavy first, then 40 t light fill the 50 t/month capacity.
    assert led.stock_t[s, HEAVY] == 0.0 and led.stock_t[s, CONC] == pytest.approx(60.0)
    assert led.stock_t[s, NDPR] == pytest.approx(0.2 * 40 + 0.25 * 10)  # 10.5 t
    assert led.stock_t[s, DYTB] == pytest.approx(0.002 * 40 + 0.06 * 10)  # 0.68 t
    # Processing (4 + 1 environmental) USD/kg on 50 t of feed, paid to the outside economy.
    assert cash0 - led.cash_usd[s] == pytest.approx(5.0 * 50 * 1000)
    # Book value carried to the oxides: inputs used (130,000 + 160,000) + processing 250,000.
    assert led.stock_value_usd[s, NDPR] + led.stock_value_usd[s, DYTB] == pytest.approx(540_000.0)


def test_magnet_recipe_and_dy_thrift_floor(model):
    f, led = model.firms, model.ledger
    k = only(model, MAGNETS)
    f.capacity_t_per_month[k] = 1000.0
    f.dytb_share[k] = 0.02
    led.stock_t[k, NDPR], led.stock_t[k, DYTB] = 35.0, 0.2
    production.make_magnets(model)
    # NdPr allows 35/0.35 = 100 t; Dy/Tb at the 50% floor of a 2% grade allows 0.2/0.01 = 20 t.
    assert led.stock_t[k, MAGNET] == pytest.approx(20.0)
    assert led.stock_t[k, NDPR] == pytest.approx(35.0 - 20 * 0.35)
    assert led.stock_t[k, DYTB] == pytest.approx(0.0)


def test_end_use_shortage_in_tonnes_and_units(model):
    f, led = model.firms, model.ledger
    users = model.end_users
    ev = users[(f.sector[users] == 0) & (f.country[users] == 0)][0]
    model.need_this_month[:] = 0.0
    model.need_this_month[np.searchsorted(users, ev)] = 10.0
    led.stock_t[ev, MAGNET] = 6.0
    production.use_magnets(model)
    assert led.stock_t[ev, MAGNET] == 0.0
    assert model.shortage_t[0, 0] == pytest.approx(4.0)
    assert model.shortage_units[0, 0] == pytest.approx(4.0 / 0.002)  # 2 kg of magnet per EV
    assert led.books["shortage_loss_usd"][0] == pytest.approx(2000 * 3000.0)
    assert f.stage[ev] == END_USE


def test_ledger_pay_is_double_entry(model):
    led = model.ledger
    total = led.total_cash()
    led.pay(np.array([0, 1, 0]), np.array([led.outside, 2, led.state(1)]), np.array([5.0, 7.0, 11.0]))
    assert led.cash_usd[0] == pytest.approx(-16.0) and led.cash_usd[2] == pytest.approx(7.0)
    assert led.total_cash() == pytest.approx(total)
