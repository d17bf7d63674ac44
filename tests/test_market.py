"""Tests of the spatial-equilibrium market clearing (model/market.py).

Hand cases first (each number worked out in a comment), then property tests
against scipy's HiGHS LP as an oracle, then the step aggregation helpers.
"""

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scipy.optimize import linprog

from model.market import Clearing, MarketInput, clear_market
from model.steps import aggregate_steps, allocate_to_offers, log_price

INF = np.inf
approx = pytest.approx


def build(n, supply, demand, link_cost=1.0, link_open=True, link_cap=INF, export_cap=INF,
          compliant_origin=True):  # fmt: skip
    """A MarketInput from step tuples: supply (region, price, qty[, domestic_only]),
    demand (region, bid, qty[, compliant_only]); scalars broadcast to (N, N) / (N,)."""
    s = [tuple(x) + (False,) * (4 - len(x)) for x in supply]
    d = [tuple(x) + (False,) * (4 - len(x)) for x in demand]
    col = lambda rows, k, dt: np.array([r[k] for r in rows], dtype=dt)  # noqa: E731
    full = lambda v, shape, dt: np.broadcast_to(np.asarray(v, dtype=dt), shape).copy()  # noqa: E731
    return MarketInput(
        n_regions=n,
        supply_region=col(s, 0, np.int64), supply_price=col(s, 1, float),
        supply_qty=col(s, 2, float), supply_domestic_only=col(s, 3, bool),
        demand_region=col(d, 0, np.int64), demand_price=col(d, 1, float),
        demand_qty=col(d, 2, float), demand_compliant_only=col(d, 3, bool),
        link_cost=full(link_cost, (n, n), float), link_open=full(link_open, (n, n), bool),
        link_cap=full(link_cap, (n, n), float), export_cap=full(export_cap, (n,), float),
        compliant_origin=full(compliant_origin, (n, n), bool),
    )  # fmt: skip


# ------------------------------------------------------------ 1. one region


@pytest.mark.parametrize(
    ("supply_qty", "demand_qty", "traded", "price"),
    [
        (100, 60, 60, 10),  # excess supply: the marginal seller's cost, 10, clears
        (60, 100, 60, 50),  # excess demand: the marginal unserved bid, 50, clears
        (100, 100, 100, 10),  # kink: any price in [10, 50] clears; the lowest is reported
    ],
)
def test_one_region_price_is_lowest_clearing_price(supply_qty, demand_qty, traded, price):
    c = clear_market(build(1, [(0, 10, supply_qty)], [(0, 50, demand_qty)]))
    assert c.flows[0, 0] == approx(traded, abs=1e-9)
    assert c.supply_sold[0] == approx(traded, abs=1e-9)
    assert c.demand_filled[0] == approx(traded, abs=1e-9)
    assert c.price[0] == approx(price, abs=1e-9)
    assert c.producer_price[0] == approx(price, abs=1e-9)
    assert c.surplus == approx(traded * (50 - 10), abs=1e-9)  # 40 USD/kg on each tonne
    assert c.quota_rent[0] == 0.0


def test_no_trade_when_bids_are_below_costs():
    # supply 10 t @ 50, demand 10 t @ 20: nothing trades; the bid 20 is the
    # lowest price at which the (unserved) buyer is content.
    c = clear_market(build(1, [(0, 50, 10)], [(0, 20, 10)]))
    assert c.flows[0, 0] == 0.0 and c.surplus == 0.0
    assert c.price[0] == approx(20, abs=1e-9)


# ------------------------------------------------------------ 2. two producers, one ban

A, B = 0, 1
TWO_PRODUCERS = dict(
    supply=[(A, 10, 100), (B, 20, 100)],
    demand=[(B, 100, 150), (A, 100, 0)],  # no demand in A (a 0 t bid)
    link_cost=2.0,
)


def test_two_producers_open_trade():
    c = clear_market(build(2, **TWO_PRODUCERS))
    # A's 100 t land in B at 10 + 2 = 12 < 20, so B buys all of them and 50 t
    # of its own supply; B's own step is partly sold, so it sets B's price: 20.
    assert c.flows[A, B] == approx(100, abs=1e-9)
    assert c.flows[B, B] == approx(50, abs=1e-9)
    assert c.flows[B, A] == 0.0 and c.flows[A, A] == 0.0
    assert c.price[B] == approx(20, abs=1e-12)
    # A's producers net the B price minus transport: 20 - 2 = 18 (> their cost
    # 10: they are inframarginal). A has no buyers; its price is what one more
    # tonne costs there, A's own supply at 18.
    assert c.producer_price[A] == approx(18, abs=1e-12)
    assert c.price[A] == approx(18, abs=1e-12)
    # value 150 t * 100 - cost 100 * 10 - 50 * 20 - transport 100 * 2
    assert c.surplus == approx(15000 - 1000 - 1000 - 200, abs=1e-9)


def test_two_producers_ban_on_a_to_b():
    link_open = np.array([[True, False], [True, True]])  # ban A -> B
    c = clear_market(build(2, **TWO_PRODUCERS | dict(link_open=link_open)))
    # B is left with its own 100 t for 150 t of bids at 100: 50 t unserved, so
    # the unserved bid sets B's price: 100 (shortage), and B's producers get it.
    assert c.flows[A, B] == 0.0
    assert c.flows[B, B] == approx(100, abs=1e-9)
    assert c.demand_filled[0] == approx(100, abs=1e-9)
    assert c.price[B] == approx(100, abs=1e-12)
    assert c.producer_price[B] == approx(100, abs=1e-12)
    # A sells nothing: its price is its cheapest unsold offer, 10.
    assert c.producer_price[A] == approx(10, abs=1e-12)
    assert c.supply_sold[0] == 0.0
    assert c.surplus == approx(100 * 100 - 100 * 20, abs=1e-9)


def test_a_region_where_nothing_trades_is_priced_at_the_delivered_cost_of_one_more_tonne():
    A, B, C = 0, 1, 2
    link_cost = np.ones((3, 3))
    link_cost[A, B] = 10.0
    c = clear_market(build(3, [(A, 10, 100)], [(A, 50, 60), (B, 15, 60)], link_cost=link_cost))
    # A sells 60 t at home and has 40 t left at 10: its price is 10. Landed in B
    # its tonnes would cost 10 + 10 = 20 > B's bid of 15: nothing is exported, B's
    # unserved bid sets its price, 15. C has no sellers and no buyers: a tonne
    # there would come from A at 10 + 1 (from B's sellers, were there any, at
    # 15 + 1), so C's price is 11, not A's export netback (15 - 10 = 5) + 1.
    assert c.flows.sum() == approx(60, abs=1e-9) and c.flows[A, A] == approx(60, abs=1e-9)
    assert c.producer_price[A] == approx(10, abs=1e-12) and c.price[A] == approx(10, abs=1e-12)
    assert c.price[B] == approx(15, abs=1e-12)
    assert c.price[C] == approx(11, abs=1e-12)
    assert c.quota_rent.tolist() == [0.0, 0.0, 0.0]


# ------------------------------------------------------------ 3. export quota

X, Y = 0, 1


def quota_market(export_cap_x):
    return build(
        2,
        supply=[(X, 5, 1000), (Y, 50, 100)],
        demand=[(X, 200, 100), (Y, 200, 300)],
        link_cost=1.0,
        export_cap=[export_cap_x, INF],
    )


def test_binding_export_quota_creates_rent_equal_to_price_wedge():
    c = clear_market(quota_market(150))
    # X may ship only 150 t; Y adds its own 100 t (at 50 < 200) and still lacks
    # 50 t of bids at 200, so Y's price is 200. X's 1000 t at 5 serve 100 t at
    # home + 150 t exported: X's step is partly sold, X's price is 5.
    assert c.flows[X, Y] == approx(150, abs=1e-9)
    assert c.flows[X, X] == approx(100, abs=1e-9)
    assert c.flows[Y, Y] == approx(100, abs=1e-9)
    assert c.demand_filled[1] == approx(250, abs=1e-9)
    assert c.price[Y] == approx(200, abs=1e-12)
    assert c.price[X] == approx(5, abs=1e-12)
    assert c.producer_price[X] == approx(5, abs=1e-12)
    # The quota rent is the wedge: world price - transport - domestic price.
    assert c.quota_rent[X] == approx(200 - 1 - 5, abs=1e-12)
    assert c.quota_rent[X] == approx(c.price[Y] - 1.0 - c.price[X], abs=1e-12)
    assert c.price[X] < c.price[Y] - 1.0  # domestic price below the netback
    assert c.quota_rent[Y] == 0.0
    # value (100 + 250) * 200 - cost 250 * 5 - 100 * 50 - transport 150 * 1
    assert c.surplus == approx(70000 - 1250 - 5000 - 150, abs=1e-9)


@pytest.mark.parametrize("export_cap_x", [500.0, INF])
def test_slack_export_quota_has_zero_rent(export_cap_x):
    c = clear_market(quota_market(export_cap_x))
    # Unconstrained, X's supply at 5 + 1 undercuts Y's own at 50: Y imports all
    # its 300 t, and both prices are set by X's partly sold step: 5 and 5 + 1.
    assert c.flows[X, Y] == approx(300, abs=1e-9)
    assert c.flows[Y, Y] == 0.0
    assert c.price[X] == approx(5, abs=1e-12)
    assert c.price[Y] == approx(6, abs=1e-12)
    assert c.quota_rent[X] == 0.0


# ------------------------------------------------------------ 4. tariffs


def tariff_market(tariff, y_supply_qty, link_cap):
    cost = np.array([[0.0, 5.0 + tariff], [5.0, 0.0]])  # transport 5 + tariff on X -> Y
    return build(
        2,
        supply=[(X, 10, 1000), (Y, 30, y_supply_qty)],
        demand=[(Y, 100, 200)],
        link_cost=cost,
        link_cap=[[INF, link_cap], [INF, INF]],
    )


def test_tariff_passes_through_fully_when_imports_are_marginal():
    free = clear_market(tariff_market(0.0, 50, INF))
    taxed = clear_market(tariff_market(3.0, 50, INF))
    # Imports land at 10 + 5 = 15 (then 18) < Y's own 30: Y imports all 200 t
    # and the import price sets Y's price, which rises by exactly the tariff.
    assert free.flows[X, Y] == approx(200, abs=1e-9) == taxed.flows[X, Y]
    assert free.price[Y] == approx(15, abs=1e-12)
    assert taxed.price[Y] - free.price[Y] == approx(3.0, abs=1e-12)


def test_tariff_does_not_move_price_when_domestic_supply_is_marginal():
    free = clear_market(tariff_market(0.0, 500, 100))
    taxed = clear_market(tariff_market(3.0, 500, 100))
    # A licence caps imports at 100 t (still cheaper than 30 with the tariff);
    # Y's own step at 30 fills the other 100 t and is marginal: price 30 both.
    assert free.flows[X, Y] == approx(100, abs=1e-9) == taxed.flows[X, Y]
    assert free.flows[Y, Y] == approx(100, abs=1e-9) == taxed.flows[Y, Y]
    assert free.price[Y] == approx(30, abs=1e-12) == taxed.price[Y]


# ------------------------------------------------------------ 5. compliant demand

CN, US = 0, 1


def compliant_market(us_supply_qty):
    origin = np.array([[True, False], [True, True]])  # CN origin not compliant in the US
    return build(
        2,
        supply=[(CN, 10, 1000), (US, 40, us_supply_qty)],
        demand=[(US, 200, 100), (US, 300, 100, True)],  # ordinary, compliant-only
        link_cost=2.0,
        compliant_origin=origin,
    )


def test_compliant_demand_cannot_use_non_compliant_origin():
    c = clear_market(compliant_market(50))
    # Only the US's own 50 t are compliant: 50 t of compliant bids at 300 go
    # unserved, so the compliant price is 300 (and US producers earn it). The
    # ordinary bids are served by CN at 10 + 2 = 12.
    assert c.compliant_flows[CN, US] == 0.0
    assert c.compliant_flows[US, US] == approx(50, abs=1e-9)
    assert c.demand_filled == approx([100, 50], abs=1e-9)
    assert c.flows[CN, US] == approx(100, abs=1e-9)
    assert c.compliant_price[US] == approx(300, abs=1e-12)
    assert c.producer_price[US] == approx(300, abs=1e-12)
    assert c.price[US] == approx(12, abs=1e-12)
    assert c.compliant_price[US] > c.price[US]


def test_compliant_premium_is_cost_gap_when_compliant_supply_is_ample():
    c = clear_market(compliant_market(500))
    # 100 t of the US's 500 t at 40 serve the compliant bids: compliant price
    # 40; ordinary bids still buy CN's at 12. Premium 28.
    assert c.demand_filled == approx([100, 100], abs=1e-9)
    assert c.compliant_price[US] == approx(40, abs=1e-12)
    assert c.price[US] == approx(12, abs=1e-12)


# ------------------------------------------------------------ 6. domestic-only supply


def test_domestic_only_supply_is_never_exported():
    market = build(
        2,
        supply=[(A, 1, 100, True), (A, 5, 20)],  # cheap unlicensed output + 20 t exportable
        demand=[(A, 50, 10), (B, 100, 100)],
        link_cost=1.0,
    )
    c = clear_market(market)
    # A's home demand (10 t) takes the domestic-only output at 1; only the
    # 20 t exportable step crosses to B, where 80 t of bids at 100 go unserved.
    assert c.supply_sold == approx([10, 20], abs=1e-9)
    assert c.flows[A, B] == approx(20, abs=1e-9)
    assert c.flows[A, A] == approx(10, abs=1e-9)
    assert c.price[A] == approx(1, abs=1e-12)
    assert c.price[B] == approx(100, abs=1e-12)


# ------------------------------------------------------------ validation


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("link_cost", np.zeros((3, 3))),
        ("supply_qty", np.array([-1.0])),
        ("supply_price", np.array([np.nan])),
        ("demand_region", np.array([5])),
        ("link_open", np.ones((2, 2))),
        ("export_cap", np.array([np.nan, 1.0])),
        ("link_cap", np.full((2, 2), -1.0)),
    ],
)
def test_bad_input_names_the_field(field, value):
    good = build(2, [(0, 10, 10)], [(1, 20, 10)])
    kwargs = {f: getattr(good, f) for f in good.__dataclass_fields__} | {field: value}
    with pytest.raises(ValueError, match=field):
        MarketInput(**kwargs)


def test_empty_market_clears_to_nothing():
    c = clear_market(build(2, [], []))
    assert c.surplus == 0.0 and not c.flows.any()
    assert np.isnan(c.price).all()  # nothing reaches any node


# ------------------------------------------------------------ 7. oracle and invariants


def lp_surplus(m: MarketInput) -> float:
    """Optimum of the same LP by scipy HiGHS, written from the network's definition."""
    n = m.n_regions
    cols, cost, bounds, rows = [], [], [], {}

    def var(c, lo, hi, entries):  # entries: {(node_kind, region): +1 in / -1 out}
        for key, sign in entries.items():
            rows.setdefault(key, {})[len(cols)] = sign
        cols.append(len(cols))
        cost.append(c)
        bounds.append((lo, None if np.isinf(hi) else hi))

    for r, p, q, dom in zip(m.supply_region, m.supply_price, m.supply_qty,
                            m.supply_domestic_only, strict=True):  # fmt: skip
        var(p, 0, q, {("D" if dom else "S", r): 1})
    for r, v, q, comp in zip(m.demand_region, m.demand_price, m.demand_qty,
                             m.demand_compliant_only, strict=True):  # fmt: skip
        var(-v, 0, q, {("C" if comp else "D", r): -1})
    for i in range(n):
        var(0, 0, INF, {("S", i): -1, ("D", i): 1})
        if m.compliant_origin[i, i]:
            var(0, 0, INF, {("S", i): -1, ("C", i): 1})
        var(0, 0, m.export_cap[i], {("S", i): -1, ("E", i): 1})
        for j in range(n):
            if i != j and m.link_open[i, j]:
                var(m.link_cost[i, j], 0, m.link_cap[i, j], {("E", i): -1, ("D", j): 1})
                if m.compliant_origin[i, j]:
                    var(m.link_cost[i, j], 0, m.link_cap[i, j], {("E", i): -1, ("C", j): 1})
    a_eq = np.zeros((len(rows), len(cols)))
    for k, entries in enumerate(rows.values()):
        for col, sign in entries.items():
            a_eq[k, col] = sign
    # HiGHS's default feasibility tolerance (1e-7) would let ~1e-7 t of demand be met from nothing,
    # worth more than the comparison's 1e-6 USD at tens of USD/kg: tighten it.
    tight = {"primal_feasibility_tolerance": 1e-10, "dual_feasibility_tolerance": 1e-10}
    out = linprog(cost, A_eq=a_eq, b_eq=np.zeros(len(rows)), bounds=bounds, method="highs", options=tight)
    assert out.status == 0
    return -out.fun


TOL_T, TOL_P = 1e-7, 1e-7


def check_balances(m: MarketInput, c: Clearing) -> None:
    """Tonnes add up at every node; bounds, caps, quotas, bans and origin rules hold."""
    n, off = m.n_regions, ~np.eye(m.n_regions, dtype=bool)
    assert np.all(c.supply_sold >= -TOL_T) and np.all(c.supply_sold <= m.supply_qty + TOL_T)
    assert np.all(c.demand_filled >= -TOL_T) and np.all(c.demand_filled <= m.demand_qty + TOL_T)
    sold = np.bincount(m.supply_region, c.supply_sold, minlength=n)
    exportable = np.bincount(m.supply_region, c.supply_sold * ~m.supply_domestic_only, n)
    filled = np.bincount(m.demand_region, c.demand_filled, minlength=n)
    compliant = np.bincount(m.demand_region, c.demand_filled * m.demand_compliant_only, n)
    exports = (c.flows * off).sum(axis=1)
    assert c.flows.sum(axis=1) == approx(sold, abs=TOL_T)
    assert c.flows.sum(axis=0) == approx(filled, abs=TOL_T)
    assert c.compliant_flows.sum(axis=0) == approx(compliant, abs=TOL_T)
    assert np.all(exports <= exportable + TOL_T)  # domestic-only steps stay home
    assert np.all(exports <= m.export_cap + TOL_T)
    assert np.all(c.flows[off & ~m.link_open] == 0)
    assert np.all(c.compliant_flows[~m.compliant_origin] == 0)
    assert np.all(c.compliant_flows <= c.flows + TOL_T)
    assert np.all((c.flows - c.compliant_flows)[off] <= m.link_cap[off] + TOL_T)
    assert np.all(c.compliant_flows[off] <= m.link_cap[off] + TOL_T)


def check_step_slackness(sold, qty, step_price, node_price, is_supply) -> None:
    """A step that trades is in the money; a step with room left is not."""
    sign = 1.0 if is_supply else -1.0  # supply: cost <= price; demand: bid >= price
    live = qty > TOL_T
    assert np.all(np.isfinite(node_price[live]))
    traded = live & (sold > TOL_T)
    room = live & (sold < qty - TOL_T)
    assert np.all(sign * (step_price - node_price)[traded] <= TOL_P)
    assert np.all(sign * (step_price - node_price)[room] >= -TOL_P)


def check_prices(m: MarketInput, c: Clearing) -> None:
    """Complementary slackness for steps, links and quotas."""
    dom, comp = m.supply_domestic_only, m.demand_compliant_only
    s_node = np.where(dom, c.price[m.supply_region], c.producer_price[m.supply_region])
    d_node = np.where(comp, c.compliant_price[m.demand_region], c.price[m.demand_region])
    check_step_slackness(c.supply_sold, m.supply_qty, m.supply_price, s_node, True)
    check_step_slackness(c.demand_filled, m.demand_qty, m.demand_price, d_node, False)
    n = m.n_regions
    exports = (c.flows * ~np.eye(n, dtype=bool)).sum(axis=1)
    assert np.all(c.quota_rent >= 0)
    assert np.all(exports[c.quota_rent > TOL_P] >= m.export_cap[c.quota_rent > TOL_P] - TOL_T)
    gate = c.producer_price + c.quota_rent  # price at the export gate when exports flow
    for i in range(n):
        for j in range(n):
            ordinary = c.flows[i, j] - c.compliant_flows[i, j]
            if i != j and m.link_open[i, j] and ordinary > TOL_T:
                # what flows earns its delivered cost; if unsaturated, exactly that
                assert c.price[j] >= gate[i] + m.link_cost[i, j] - TOL_P
                if ordinary < m.link_cap[i, j] - TOL_T:
                    assert c.price[j] == approx(gate[i] + m.link_cost[i, j], abs=TOL_P)


quarter = st.integers(0, 80).map(lambda k: k / 4)  # exact binary fractions: many ties
halves = st.integers(0, 40).map(lambda k: k / 2)
money = st.one_of(quarter, st.floats(0, 20, allow_subnormal=False))
tonnes = st.one_of(halves, st.floats(0, 20, allow_subnormal=False))
capacity = st.one_of(st.just(INF), tonnes)


@st.composite
def markets(draw) -> MarketInput:
    n = draw(st.integers(1, 4))

    def side():
        k = draw(st.integers(1, 6))
        region = draw(st.lists(st.integers(0, n - 1), min_size=k, max_size=k))
        return [(r, draw(money), draw(tonnes), draw(st.booleans())) for r in region]

    supply, demand = side(), side()
    matrix = lambda s: np.array(draw(st.lists(s, min_size=n * n, max_size=n * n))).reshape(n, n)  # noqa: E731
    return build(
        n, supply, demand,
        link_cost=matrix(money), link_open=matrix(st.booleans()), link_cap=matrix(capacity),
        export_cap=draw(st.lists(capacity, min_size=n, max_size=n)),
        compliant_origin=matrix(st.booleans()),
    )  # fmt: skip


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(markets())
def test_random_markets_match_lp_and_satisfy_invariants(m):
    c = clear_market(m)
    assert c.surplus == approx(lp_surplus(m), rel=1e-6, abs=1e-6)
    check_balances(m, c)
    check_prices(m, c)


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_large_random_market_matches_lp(seed):
    # 10 regions, 300 supply and 200 demand steps: the size the model clears monthly.
    rng = np.random.default_rng(seed)
    n, n_s, n_d = 10, 300, 200
    m = MarketInput(
        n, rng.integers(0, n, n_s), rng.uniform(10, 100, n_s), rng.uniform(1, 100, n_s),
        rng.random(n_s) < 0.1, rng.integers(0, n, n_d), rng.uniform(20, 200, n_d),
        rng.uniform(1, 150, n_d), rng.random(n_d) < 0.2, rng.uniform(1, 20, (n, n)),
        rng.random((n, n)) < 0.8,
        np.where(rng.random((n, n)) < 0.3, rng.uniform(50, 500, (n, n)), INF),
        np.where(rng.random(n) < 0.3, rng.uniform(100, 2000, n), INF), rng.random((n, n)) < 0.7,
    )  # fmt: skip
    c = clear_market(m)
    assert c.surplus == approx(lp_surplus(m), rel=1e-9)
    check_balances(m, c)
    check_prices(m, c)


# ------------------------------------------------------------ 8. aggregation


def test_aggregate_and_allocate_hand_example():
    region = [0, 0, 0, 1, 1, 0]
    price = [10.0, 10.0001, 20.0, 10.0, 10.0, 5.0]
    qty = [1.0, 3.0, 2.0, 0.0, 5.0, 0.0]
    step_region, step_price, step_qty, step_of_offer = aggregate_steps(region, price, qty, n_regions=2, resolution=0.01)
    # 10 and 10.0001 share a 1% bin; the 0 t offers are dropped; steps sorted
    # by region then price. The merged price is the tonne-weighted mean.
    assert step_region.tolist() == [0, 0, 1]
    assert step_price == approx([(10 * 1 + 10.0001 * 3) / 4, 20, 10], rel=1e-15)
    assert step_qty.tolist() == [4, 2, 5]
    assert step_of_offer.tolist() == [0, 0, 1, -1, 2, -1]
    # half of step 0 sold -> each of its offers sells half; step 1 fully; step 2 none
    sold = allocate_to_offers(step_of_offer, qty, step_qty, [2.0, 2.0, 0.0])
    assert sold.tolist() == [0.5, 1.5, 2.0, 0.0, 0.0, 0.0]


def test_aggregate_separates_prices_a_bin_apart_and_handles_zero_and_negative():
    step_region, step_price, _, _ = aggregate_steps(
        [0, 0, 0, 0], [-3.0, 0.0, 10.0, 10.3], [1, 1, 1, 1], n_regions=1, resolution=0.01
    )
    assert step_region.tolist() == [0, 0, 0, 0]
    assert step_price.tolist() == [-3.0, 0.0, 10.0, 10.3]  # 3% apart: separate steps


def test_aggregate_rejects_bad_offers():
    with pytest.raises(ValueError, match="qty"):
        aggregate_steps([0], [1.0], [-1.0], 1, 0.01)
    with pytest.raises(ValueError, match="region"):
        aggregate_steps([3], [1.0], [1.0], 1, 0.01)
    with pytest.raises(ValueError, match="resolution"):
        aggregate_steps([0], [1.0], [1.0], 1, 0.0)
    with pytest.raises(ValueError, match="step_sold"):
        allocate_to_offers([0], [1.0], [1.0], [2.0])


offers = st.integers(0, 150).flatmap(  # past SMALL_SORT distinct steps too
    lambda k: st.tuples(
        st.lists(st.integers(0, 3), min_size=k, max_size=k),
        st.lists(st.one_of(st.floats(-50, 500, allow_subnormal=False), quarter), min_size=k, max_size=k),  # fmt: skip
        st.lists(st.one_of(st.just(0.0), tonnes), min_size=k, max_size=k),
    )
)


@settings(max_examples=300, deadline=None)
@given(offers, st.sampled_from([1e-3, 1e-2, 0.1]), st.data())
def test_aggregate_then_allocate_conserves_tonnes(offer_rows, resolution, data):
    region, price, qty = (np.array(x, dtype=float) for x in offer_rows)
    region = region.astype(np.int64)
    step_region, step_price, step_qty, step_of_offer = aggregate_steps(region, price, qty, 4, resolution)
    kept = step_of_offer >= 0
    assert np.array_equal(kept, qty > 0)
    assert np.bincount(step_region, step_qty, 4) == approx(np.bincount(region, qty, 4), rel=1e-12)
    assert np.array_equal(step_region[step_of_offer[kept]], region[kept])
    # every offer lies within one bin of its step's price (in log-price space)
    gap = log_price(price[kept]) - log_price(step_price[step_of_offer[kept]])
    assert np.all(np.abs(gap) <= np.log1p(resolution) * (1 + 1e-9) + 1e-12)
    order = np.lexsort((step_price, step_region))
    assert np.array_equal(order, np.arange(step_region.size))  # sorted by region, price
    share = np.array(data.draw(st.lists(st.floats(0, 1), min_size=step_qty.size,
                                        max_size=step_qty.size)))  # fmt: skip
    step_sold = share * step_qty
    offer_sold = allocate_to_offers(step_of_offer, qty, step_qty, step_sold)
    assert np.all(offer_sold >= 0) and np.all(offer_sold <= qty)
    per_step = np.bincount(step_of_offer[kept], offer_sold[kept], step_qty.size)
    assert per_step == approx(step_sold, rel=1e-12, abs=1e-12)
    assert offer_sold[kept] == approx(qty[kept] * share[step_of_offer[kept]], rel=1e-9, abs=1e-12)
    assert np.all(offer_sold[~kept] == 0)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.integers(-3, 40), min_size=1, max_size=150))
def test_insertion_argsort_sorts_as_argsort_does(keys):
    from model.steps import _insertion_argsort

    keys = np.array(keys, np.int64)
    order = _insertion_argsort(keys)
    assert sorted(order.tolist()) == list(range(keys.size))
    assert np.array_equal(keys[order], np.sort(keys))


@settings(max_examples=60, deadline=None)
@given(
    st.lists(st.tuples(st.integers(0, 3), st.integers(-5, 5)), min_size=0, max_size=30),
    st.sampled_from(["as_given", "by_price", "supply_rising_demand_falling"]),
)
def test_steps_are_ordered_by_curve_then_cost(steps, arrangement):
    """The solver's step order: grouped by curve, costs rising in each, whatever order they come in."""
    from model.network import _sort_into

    if arrangement != "as_given":  # markets hand steps over sorted by price, per curve
        steps = sorted(steps, key=lambda s: (s[0], s[1] if arrangement == "by_price" or s[0] < 2 else -s[1]))
    curve = np.array([s[0] for s in steps], np.int64)
    cost = np.array([float(s[1]) for s in steps])
    order, bounds = np.empty(len(steps), np.int64), np.empty(5, np.int64)
    _sort_into(curve, cost, 4, order, bounds)
    assert sorted(order.tolist()) == list(range(len(steps)))
    for g in range(4):
        mine = order[bounds[g] : bounds[g + 1]]
        assert (curve[mine] == g).all() and len(mine) == (curve == g).sum()
        assert (np.diff(cost[mine]) >= 0).all()
