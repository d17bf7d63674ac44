"""Order rules and settlement kernels alone, with hand-worked numbers."""

from __future__ import annotations

import numpy as np
import pytest

from agents import order_rules as rules
from agents.order_rules import CONC, DYTB, HEAVY, MAGNET, NDPR
from model.ledger import BOOKS, PURCHASES, ROYALTY_IN, ROYALTY_OUT, SUBSIDY, Ledger, withdraw_at_cost
from model.settlement import settle_buyers, settle_links, settle_sellers, tally

HOLDER, REGION, PRICE, QTY, FLAG, MAKE_COST = range(6)


def written(rule, *args):
    """The rows a rule writes into an empty book (room for 64)."""
    rows = rules.empty_rows(64)
    return rules.first_rows(rows, rule(rows, 0, *args))


def test_stock_offer_eases_with_inventory_pressure_and_stops_at_salvage():
    # Three sellers of NdPr in region 0 (expected 60 USD/kg, reference 100), capacity 10 t/month:
    # holder 0 has 10 t (one month: no pressure) at book 50 -> asks max(60, 50) = 60;
    # holder 1 has 30 t (2 months beyond normal: pressure 1 - 0.15 * 2 = 0.7) -> 60 * 0.7 = 42;
    # holder 2 has 100 t (9 months beyond: pressure floors at 0.3 -> 18) -> salvage 0.3 * 100 = 30.
    stock = np.zeros((3, 5))
    stock[:, NDPR] = [10.0, 30.0, 100.0]
    book = stock * 50.0 * 1000.0
    rows = written(
        rules.stock_offers,
        np.arange(3), stock, book, NDPR, np.zeros(3, np.int64), np.full(3, 10.0), 1.0,
        np.array([60.0]), 100.0, np.zeros(3), np.ones(3, bool), False,
    )  # fmt: skip
    assert rows[PRICE] == pytest.approx([60.0, 42.0, 30.0])
    assert rows[QTY] == pytest.approx([10.0, 30.0, 100.0])
    assert not rows[FLAG].any() and np.isnan(rows[MAKE_COST]).all()


def test_stock_offer_keeps_book_cost_unless_pressed_and_grosses_up_royalty():
    # A magnet maker with one month of stock at book 80 > expected 60 asks 80; owing a 20% royalty
    # it needs 80 / 0.8 = 100 to net 80. Without a licence (not exportable) it may sell only at home.
    stock = np.zeros((1, 5))
    stock[0, MAGNET] = 5.0
    rows = written(
        rules.stock_offers,
        np.arange(1), stock, stock * 80.0 * 1000.0, MAGNET, np.zeros(1, np.int64), np.full(1, 5.0), 1.0,
        np.array([60.0]), 100.0, np.array([0.2]), np.zeros(1, bool), True,
    )  # fmt: skip
    assert rows[PRICE] == pytest.approx([100.0])
    assert rows[FLAG].tolist() == [True]


def test_mine_offers_net_subsidy_and_floor_support_and_are_made_to_order():
    # Unit cost 20; subsidy 3 and a floor of 30 over an expected price of 25 (support 5): asks 12.
    rows = written(
        rules.mine_offers,
        np.array([0]), np.zeros(1, np.int64), np.array([20.0]), np.array([7.0]),
        np.array([3.0]), np.array([30.0]), np.array([25.0]),
    )  # fmt: skip
    assert rows[PRICE].tolist() == [12.0] and rows[QTY].tolist() == [7.0] and rows[MAKE_COST].tolist() == [20.0]


def test_separator_bids_run_then_cover_and_drop_unprofitable_plants():
    # Oxide value 50/kg of feed in region 0; plant 0 (cost 10, env 2) bids 38 for its run
    # (capacity 100 - 30 held = 70 t) and min(0.97 * 38, 2 * 20) = 36.86 for 1 month of cover (100 t).
    # Plant 1 (cost 60) values feed below zero and bids nothing.
    stock, on_order = np.zeros((2, 5)), np.zeros((2, 5))
    stock[0, CONC], on_order[0, HEAVY] = 20.0, 10.0
    rows = written(
        rules.separator_bids,
        np.arange(2), np.zeros(2, np.int64), np.array([10.0, 60.0]), np.array([2.0]), np.full(2, 100.0),
        stock, on_order, np.array([50.0]), 20.0, np.array([1.0]),
    )  # fmt: skip
    assert rows[HOLDER].tolist() == [0, 0]
    assert rows[PRICE] == pytest.approx([38.0, 0.97 * 38.0])
    assert rows[QTY] == pytest.approx([70.0, 100.0])


def test_end_user_bids_split_need_over_curve_and_content_rule():
    # One EV maker (sector 0) needs 10 t, holds 4 t: 6 t to buy along a two-step curve
    # (prices 100 and 200, shares 0.75 and 0.25); 40% of EV demand must be compliant.
    # Cover: this month's need plus 1 month of cover (20 t) less holdings (4) and the run (6) = 10 t
    # at the cover price of 120, split the same way.
    stock, on_order = np.zeros((1, 5)), np.zeros((1, 5))
    stock[0, MAGNET] = 4.0
    rows = written(
        rules.end_user_bids,
        np.array([0]), np.zeros(1, np.int64), np.zeros(1, np.int64), np.array([10.0]), stock, on_order,
        np.array([[100.0, 200.0]]), np.array([[0.75, 0.25]]), np.array([0.4]), np.array([[1.0]]),
        np.array([120.0]), np.array([1.0]),
    )  # fmt: skip
    assert rows[PRICE].tolist() == [100.0, 200.0, 100.0, 200.0, 120.0, 120.0]
    assert rows[QTY] == pytest.approx([6 * 0.75 * 0.6, 6 * 0.25 * 0.6, 6 * 0.75 * 0.4, 6 * 0.25 * 0.4, 6.0, 4.0])
    assert rows[FLAG].tolist() == [False, False, True, True, False, True]


def test_settlement_posts_double_entry_with_floor_royalty_and_content_credit():
    # Two regions, one seller (firm 0, region 0) and one buyer (firm 1, region 1). 2 t sold at a
    # producer price of 10 USD/kg (revenue 20,000 USD); region 0's floor of 12 tops it up by 4,000
    # paid by its state; firm 0 owes a 5% royalty (1,000 USD) to region 1's state. The buyer takes
    # 2 t as compliant demand at 15 (30,000 USD) and gets region 1's 1 USD/kg content credit (2,000).
    # The link carries 2 t from 0 to 1: freight 1, tariff 2 (4,000 to region 1's state); the
    # remaining gap (15 - 10 - 3) x 2 t = 4,000 USD is quota rent to region 0's state.
    led = Ledger(2, 2, 5)
    led.stock_t[0, MAGNET], led.stock_value_usd[0, MAGNET] = 2.0, 16_000.0
    revenue = settle_sellers(
        led.accounts, led.produced_t, MAGNET, np.array([0]), np.array([0]), np.array([False]),
        np.array([np.nan]), np.array([2.0]), np.array([14.0, 15.0]), np.array([10.0, 15.0]),
        np.array([12.0, 0.0]), np.array([0.05, 0.0]), np.array([1, -1]),
    )  # fmt: skip
    flows, compliant = np.array([[0.0, 2.0], [0.0, 0.0]]), np.array([[0.0, 2.0], [0.0, 0.0]])
    paid, held = settle_buyers(
        led.accounts, MAGNET, np.array([1]), np.array([1]), np.array([True]), np.array([2.0]),
        np.array([14.0, 14.0]), np.array([15.0, 15.0]), flows, np.zeros((2, 2), bool), np.array([0.0, 1.0]),
    )  # fmt: skip
    zero = np.zeros((2, 2))
    tariff = np.array([[0.0, 2.0], [0.0, 0.0]])
    freight = np.array([[0.0, 1.0], [0.0, 0.0]])
    between = settle_links(
        led.accounts, flows, compliant, np.array([14.0, 14.0]), np.array([10.0, 15.0]),
        np.array([15.0, 15.0]), freight, zero, tariff, zero,
    )  # fmt: skip
    assert revenue.tolist() == [20_000.0] and paid.tolist() == [30_000.0] and held.tolist() == [0.0]
    firm0, firm1, state0, state1, outside = 0, 1, 2, 3, 4
    assert led.cash_usd[firm0] == pytest.approx(20_000 + 4_000 - 1_000)
    assert led.cash_usd[firm1] == pytest.approx(-30_000 + 2_000)
    assert led.cash_usd[state0] == pytest.approx(-4_000 + 4_000)  # floor top-up out, quota rent in
    assert led.cash_usd[state1] == pytest.approx(1_000 - 2_000 + 4_000)
    assert led.cash_usd.sum() == pytest.approx(0.0, abs=1e-9)
    assert led.cash_usd[outside] == pytest.approx(2_000.0)  # freight stays with the outside economy
    assert between == pytest.approx(30_000 - 20_000)
    assert led.stock_t[:2, MAGNET].tolist() == [0.0, 2.0]
    assert led.stock_value_usd[1, MAGNET] == pytest.approx(30_000.0)
    books = dict(zip(BOOKS, led.book_usd, strict=True))
    assert books["subsidy_paid_usd"].tolist() == [4_000.0, 2_000.0]
    assert led.book_usd[ROYALTY_IN].tolist() == [0.0, 1_000.0]
    assert led.book_usd[ROYALTY_OUT].tolist() == [1_000.0, 0.0]
    assert led.book_usd[PURCHASES].tolist() == [0.0, 30_000.0]
    assert books["tariff_revenue_usd"].tolist() == [0.0, 4_000.0]
    assert books["quota_rent_usd"].tolist() == [4_000.0, 0.0]
    assert led.book_usd[SUBSIDY].sum() == 6_000.0


def test_licensed_imports_are_paid_now_and_held_in_review():
    # Region 1 imports 3 t from region 0 (licensed) and 1 t from region 2 (not): 3/4 of each
    # purchase waits in review, on order, paid now; a quarter arrives at once at a quarter of the cost.
    led = Ledger(1, 3, 5)
    flows = np.zeros((3, 3))
    flows[0, 1], flows[2, 1] = 3.0, 1.0
    licensed = np.zeros((3, 3), bool)
    licensed[0, 1] = True
    paid, held = settle_buyers(
        led.accounts, DYTB, np.array([0]), np.array([1]), np.array([False]), np.array([4.0]),
        np.full(3, 100.0), np.full(3, 100.0), flows, licensed, np.zeros(3),
    )  # fmt: skip
    assert held.tolist() == [3.0] and paid.tolist() == [400_000.0]
    assert led.stock_t[0, DYTB] == 1.0 and led.on_order_t[0, DYTB] == 3.0
    assert led.stock_value_usd[0, DYTB] == pytest.approx(100_000.0)


def test_withdraw_skips_the_outside_economy_and_uses_stock_before_any_withdrawal():
    stock, value = np.array([[10.0]]), np.array([[1000.0]])
    taken = withdraw_at_cost(stock, value, np.array([0, -1, 0]), 0, np.array([2.0, 5.0, 3.0]))
    assert taken.tolist() == [200.0, 0.0, 300.0]
    assert stock[0, 0] == 5.0 and value[0, 0] == 500.0


def test_tally_counts_miners_output_and_flags_rationed_buyers():
    # Firm 0 (a miner) sells 3 + 2 t; firm 1 bids 10 t in two rows and gets 9.7 (97% < 98%: rationed);
    # firm 2 gets 9.8 of 10 (not rationed); holder 5 is a state (ignored).
    output, rationed, scratch = np.zeros(3), np.zeros(3, bool), np.zeros((2, 3))
    tally(
        3, np.array([0, 0, 5]), np.array([3.0, 2.0, 1.0]), np.array([True, False, False]), output,
        np.array([1, 1, 2, 5]), np.array([6.0, 4.0, 10.0, 1.0]), np.array([6.0, 3.7, 9.8, 0.0]), rationed, scratch,
    )  # fmt: skip
    assert output.tolist() == [5.0, 0.0, 0.0]
    assert rationed.tolist() == [False, True, False]
    assert not scratch.any()


def test_cover_months_add_precaution_when_restrictions_are_expected():
    assert rules.cover_months(30.0, 60.0, 1.0) == pytest.approx(90.0 / (365.0 / 12.0))
    assert rules.cover_months(30.0, 60.0, 0.0) == pytest.approx(30.0 / (365.0 / 12.0))


def test_rows_without_tonnage_or_finite_price_are_left_out():
    rows = written(rules.state_purchases, 4, np.array([0.0, 5.0, 1e-12]), np.array([10.0, np.inf, 10.0]))
    assert rows[HOLDER].size == 0
    rows = written(rules.state_releases, 4, np.array([3.0, 9.0]), np.array([5.0, 2.0]), np.array([1e-4, 50.0]))
    assert rows[HOLDER].tolist() == [4, 5] and rows[QTY].tolist() == [3.0, 2.0]
    assert rows[PRICE] == pytest.approx([1e-3, 40.0])  # prices are at least MIN_PRICE_USD_PER_KG


def test_licence_review_delivers_approvals_and_refunds_denials_pro_rata():
    # Exporter region 0 ships 40 t of NdPr to region 1 under licence: approval 0.75, review 2 months,
    # bought at 50 USD/kg (buyers' price) and sold at 40 USD/kg (producer price).
    # Buyers: firm 0 has 30 t on order, firm 1 has 10 t (shares 0.75 / 0.25); region 0 has no
    # producers of record, so its state takes the denied goods back and pays the refund.
    from model.ledger import LICENCE_DENIED
    from model.trade import ReviewPipeline, deliver_reviewed, file_for_review

    led = Ledger(2, 2, 5)
    led.on_order_t[:2, NDPR] = [30.0, 10.0]
    holder_region = np.array([1, 1, 0, 1])
    pipe = ReviewPipeline(5, 2)
    flows = np.array([[0.0, 40.0], [0.0, 0.0]])
    licensed = np.array([[False, True], [False, False]])
    file_for_review(pipe.arrays, 0, NDPR, flows, np.array([45.0, 50.0]), np.array([40.0, 42.0]), licensed,
                    np.full((2, 2), 0.75), np.full((2, 2), 2))  # fmt: skip
    assert pipe.total_t()[NDPR] == pytest.approx(40.0)
    deliver_reviewed(pipe.arrays, led.accounts, 1, NDPR, holder_region, np.zeros(4))
    assert led.stock_t.sum() == 0.0, "nothing is due after one month"
    deliver_reviewed(pipe.arrays, led.accounts, 2, NDPR, holder_region, np.zeros(4))
    # Approved 30 t worth 40 t x 50 USD/kg x 30/40 = 1.5 M USD; denied 10 t refunded at 40 USD/kg: 0.4 M USD.
    assert led.stock_t[:2, NDPR] == pytest.approx([22.5, 7.5])
    assert led.stock_value_usd[:2, NDPR] == pytest.approx([1_125_000.0, 375_000.0])
    assert led.on_order_t[:2, NDPR] == pytest.approx([0.0, 0.0])
    assert led.stock_t[led.state(0), NDPR] == pytest.approx(10.0)
    assert led.stock_value_usd[led.state(0), NDPR] == pytest.approx(400_000.0)
    assert led.cash_usd[:3] == pytest.approx([300_000.0, 100_000.0, -400_000.0])
    assert led.total_cash() == pytest.approx(0.0, abs=1e-6)
    assert led.book_usd[LICENCE_DENIED, 0] == pytest.approx(10.0)
    assert pipe.total_t().sum() == 0.0 and not pipe.due.any()


def test_export_allowance_spreads_the_quota_left_and_treats_a_sliver_as_spent():
    from model.policy_arrays import QUOTA_SPENT_T, export_allowance

    quota = np.array([1200.0, np.inf, 600.0])
    exported = np.array([1090.0, 5_000.0, 600.0 - QUOTA_SPENT_T / 2])
    assert export_allowance(quota, exported, 5) == pytest.approx([22.0, np.inf, 0.0])


def test_market_books_list_every_producing_mine_and_each_end_users_curve():
    from agents import behaviour
    from model.run import build_model

    model = build_model("baseline", seed=0, record_firms=False)
    offers = behaviour.offers(model, CONC)
    made = np.isfinite(offers.make_cost)
    miners = behaviour.producing(model, "miners_conc")
    assert sorted(offers.holder[made]) == sorted(miners[model.firms.capacity_t_per_month[miners] > 1e-9])
    assert np.all(offers.price >= rules.MIN_PRICE_USD_PER_KG)
    # This month's need: 10 t more than each user holds, so each bids 10 t along its sector's curve.
    model.need_this_month = model.ledger.stock_t[model.end_users, MAGNET] + 10.0
    bids = behaviour.bids(model, MAGNET)
    curve = np.isin(bids.price, model.demand_curve[0])
    assert sorted(set(bids.holder[curve])) == sorted(model.end_users)
    assert bids.qty[curve].sum() == pytest.approx(10.0 * model.end_users.size)
