"""Firms' and states' market decisions, as array rules over the firm columns.

Each function reads the model's public state and returns :class:`Orders`;
nothing here moves tonnes or money (the market settles). Rules:

- sellers offer stock at its average cost, eased when stock piles up
  (inventory pressure), and miners offer capacity at unit cost net of
  subsidies (they produce to order);
- buyers bid the value of their marginal product at expected prices
  (derived demand), first for this month's run, then for their target
  cover of days of use, raised when restrictions are expected
  (precautionary buying, the amplifier of 2010-11);
- end-use manufacturers bid along a short-run demand curve: near the
  reference price they take everything, above it a share cancels with the
  sector's elasticity, and nothing is bought above the choke price.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.firms import MAGNETS, MINING, SEPARATION
from model.schema import COMMODITIES
from model.trade import Orders

if TYPE_CHECKING:
    from model.world import RareEarthModel

CONC, HEAVY, NDPR, DYTB, MAGNET = range(len(COMMODITIES))
DAYS_PER_MONTH = 365.0 / 12.0
#: Stock cover is discretionary: nobody pays more than this multiple of the
#: reference price to build it (keeps cover bids from chasing a spike).
COVER_CEILING = 2.0
NORMAL_STOCK_MONTHS = 1.0
PRESSURE_SLOPE = 0.15
PRESSURE_FLOOR = 0.3
#: Producers hold stock rather than sell below this share of the reference
#: price (they expect prices to revert; by-products such as Dy/Tb are stored).
SALVAGE_SHARE = 0.3


def offers(model: RareEarthModel, c: int) -> Orders:
    """Everything for sale of commodity ``c`` this month."""
    parts = [_stock_offers(model, c), _state_releases(model, c)]
    if c in (CONC, HEAVY):
        parts.append(_mine_offers(model, c))
    if c == NDPR:
        parts.append(_scrap_offers(model))
    return Orders.concat(parts)


def bids(model: RareEarthModel, c: int) -> Orders:
    """Everything wanted of commodity ``c`` this month."""
    parts = [_state_purchases(model, c)]
    if c in (CONC, HEAVY):
        parts.append(_separator_bids(model, c))
    elif c == NDPR:
        parts.append(_magnet_maker_ndpr_bids(model))
    elif c == DYTB:
        parts.append(_magnet_maker_dytb_bids(model))
    else:
        parts.append(_end_user_bids(model))
    return Orders.concat(parts)


def _stock_offers(model: RareEarthModel, c: int) -> Orders:
    """Producers offer their output stock near the price they expect, lower when stock piles up.

    Reservation = expected price x inventory pressure, where pressure falls
    from 1 by ``PRESSURE_SLOPE`` per month of output held beyond
    ``NORMAL_STOCK_MONTHS`` (floor ``PRESSURE_FLOOR``): sticky prices that
    give way to a glut, as producers who set their own prices and hold
    inventories do (GCMat, Riddle et al. 2015). Never below zero margin on
    the stock's book cost unless pressed.
    """
    f, led = model.firms, model.ledger
    stock = led.stock_t[: f.n, c]
    holders = np.nonzero((stock > 1e-9) & model.makes[c])[0]
    qty = stock[holders]
    region = f.country[holders]
    monthly = np.maximum(f.capacity_t_per_month[holders], 1e-9) * _output_per_input(model, c)
    excess = np.maximum(0.0, qty / monthly - NORMAL_STOCK_MONTHS)
    pressure = np.clip(1.0 - PRESSURE_SLOPE * excess, PRESSURE_FLOOR, 1.0)
    book = led.stock_value_usd[holders, c] / qty / 1000.0
    royalty = model.royalty_share[holders] if c == MAGNET else 0.0
    ask = np.maximum(model.expected[c, region], book * (excess <= 0)) * pressure
    price = np.maximum(ask, SALVAGE_SHARE * model.reference[c]) / (1.0 - royalty)
    domestic = ~model.exportable[holders] if c == MAGNET else False
    return Orders.of(holders, region, price, qty, domestic)


def _output_per_input(model: RareEarthModel, c: int) -> float:
    """Monthly output of ``c`` per tonne of capacity (separators make two oxides)."""
    if c == NDPR:
        return model.yield_ndpr_typical
    if c == DYTB:
        return model.yield_dytb_typical
    return 1.0


def _mine_offers(model: RareEarthModel, c: int) -> Orders:
    f = model.firms
    miners = np.nonzero((f.stage == MINING) & (f.output == c) & f.producing(model.month))[0]
    region = f.country[miners]
    support = model.subsidy[c, region] + np.maximum(0.0, model.floor[c, region] - model.expected[c, region])
    cost = f.unit_cost_usd_per_kg[miners]
    return Orders.of(miners, region, cost - support, f.capacity_t_per_month[miners], False, cost)


def _scrap_offers(model: RareEarthModel) -> Orders:
    mk = model.spec.market
    qty = mk.recycling_share * model.magnet_use_t * model.spec.magnet.ndpr_oxide_t_per_t
    regions = np.arange(model.n_regions)
    return Orders.of(-1, regions, mk.recycling_cost_usd_per_kg, qty, True, mk.recycling_cost_usd_per_kg)


def _state_releases(model: RareEarthModel, c: int) -> Orders:
    regions = np.arange(model.n_regions)
    stock = model.ledger.stock_t[model.ledger.state(regions), c]
    qty = np.minimum(model.release_t[c], stock)
    return Orders.of(model.ledger.state(regions), regions, 0.8 * model.expected[c], qty, True)


def _state_purchases(model: RareEarthModel, c: int) -> Orders:
    regions = np.arange(model.n_regions)
    return Orders.of(model.ledger.state(regions), regions, model.ceiling[c], model.buy_t[c])


def _cover_months(model: RareEarthModel, c: int, region: np.ndarray) -> np.ndarray:
    mk = model.spec.market
    days = mk.input_cover_days + mk.precautionary_cover_days * model.expect_restriction[c, region]
    return days / DAYS_PER_MONTH


def _two_step(holders, region, value, run_need, cover_need, reference: float) -> Orders:
    """A bid for this month's run at full value and one for cover just below it (capped)."""
    return Orders.concat(
        [
            Orders.of(holders, region, value, run_need),
            Orders.of(holders, region, np.minimum(0.97 * value, COVER_CEILING * reference), cover_need),
        ]
    )


def _separator_bids(model: RareEarthModel, c: int) -> Orders:
    f, led, sc = model.firms, model.ledger, model.spec
    mask = (f.stage == SEPARATION) & f.producing(model.month)
    if c == HEAVY:
        mask &= f.heavy_capable
    sep = np.nonzero(mask)[0]
    region = f.country[sep]
    y = sc.separation_yield["heavy_concentrate" if c == HEAVY else "concentrate"]
    value = (
        y.ndpr_oxide * (model.expected[NDPR, region] + model.subsidy[NDPR, region])
        + y.dytb_oxide * (model.expected[DYTB, region] + model.subsidy[DYTB, region])
        + y.coproducts_usd_per_kg
        - f.unit_cost_usd_per_kg[sep]
        - model.env_cost[region]
    )
    cap = f.capacity_t_per_month[sep]
    held = led.stock_t[sep, CONC] + led.stock_t[sep, HEAVY] + led.on_order_t[sep, CONC] + led.on_order_t[sep, HEAVY]
    run = np.maximum(0.0, cap - held)
    cover = np.maximum(0.0, cap * (1.0 + _cover_months(model, c, region)) - held - run)
    keep = value > 0
    return _two_step(sep[keep], region[keep], value[keep], run[keep], cover[keep], model.reference[c])


def _magnet_makers(model: RareEarthModel) -> np.ndarray:
    f = model.firms
    return np.nonzero((f.stage == MAGNETS) & f.producing(model.month))[0]


def _magnet_value(model: RareEarthModel, makers: np.ndarray) -> np.ndarray:
    """Expected magnet revenue per kg net of royalty and processing cost."""
    f = model.firms
    region = f.country[makers]
    net = model.expected[MAGNET, region] * (1.0 - model.royalty_share[makers]) + model.subsidy[MAGNET, region]
    return net - f.unit_cost_usd_per_kg[makers]


def _magnet_maker_ndpr_bids(model: RareEarthModel) -> Orders:
    f, led = model.firms, model.ledger
    makers = _magnet_makers(model)
    region = f.country[makers]
    r = model.spec.magnet.ndpr_oxide_t_per_t
    value = (_magnet_value(model, makers) - f.dytb_share[makers] * model.expected[DYTB, region]) / r
    cap = f.capacity_t_per_month[makers] * r
    held = led.stock_t[makers, NDPR] + led.on_order_t[makers, NDPR]
    run = np.maximum(0.0, cap - held)
    cover = np.maximum(0.0, cap * (1.0 + _cover_months(model, NDPR, region)) - held - run)
    keep = value > 0
    return _two_step(makers[keep], region[keep], value[keep], run[keep], cover[keep], model.reference[NDPR])


def _magnet_maker_dytb_bids(model: RareEarthModel) -> Orders:
    f, led = model.firms, model.ledger
    makers = _magnet_makers(model)
    makers = makers[f.dytb_share[makers] > 0]
    region = f.country[makers]
    r = model.spec.magnet.ndpr_oxide_t_per_t
    share = f.dytb_share[makers]
    value = (_magnet_value(model, makers) - r * model.price[NDPR, region]) / share
    value = np.minimum(value, 50.0 * model.reference[DYTB])
    ndpr_held = led.stock_t[makers, NDPR] + led.on_order_t[makers, NDPR]
    cover = 1.0 + _cover_months(model, DYTB, region)
    feasible = np.minimum(f.capacity_t_per_month[makers] * cover, ndpr_held / r)
    held = led.stock_t[makers, DYTB] + led.on_order_t[makers, DYTB]
    run = np.maximum(0.0, np.minimum(f.capacity_t_per_month[makers], feasible) * share - held)
    need = np.maximum(0.0, feasible * share - held - run)
    keep = value > 0
    return _two_step(makers[keep], region[keep], value[keep], run[keep], need[keep], model.reference[DYTB])


def _end_user_bids(model: RareEarthModel) -> Orders:
    """Short-run demand curves of end-use manufacturers, plus their stock cover."""
    f, led = model.firms, model.ledger
    users = model.end_users
    region, sector = f.country[users], f.sector[users]
    need = model.need_this_month
    held = led.stock_t[users, MAGNET] + led.on_order_t[users, MAGNET]
    run = np.maximum(0.0, need - led.stock_t[users, MAGNET])
    cover = np.maximum(0.0, need * (1.0 + _cover_months(model, MAGNET, region)) - held - run)
    prices, shares = model.demand_curve  # (sectors, steps)
    k = prices.shape[1]
    content = model.content_share[region] * model.content_sector[region, sector]
    h, reg, cs = np.repeat(users, k), np.repeat(region, k), np.repeat(content, k)
    qty = (run[:, None] * shares[sector]).ravel()
    price = prices[sector].ravel()
    ref = np.minimum(1.05 * model.expected[MAGNET, region], COVER_CEILING * model.reference[MAGNET])
    return Orders.concat(
        [
            Orders.of(h, reg, price, qty * (1.0 - cs)),
            Orders.of(h, reg, price, qty * cs, True),
            Orders.of(users, region, ref, cover * (1.0 - content)),
            Orders.of(users, region, ref, cover * content, True),
        ]
    )


def demand_curve(sectors, reference_price: float, steps: int) -> tuple[np.ndarray, np.ndarray]:
    """Price levels and quantity shares of each sector's stepped demand curve.

    Quantity demanded at price p is ``min(1, (p / p_ref) ** -elasticity)`` of
    the need, and zero above the choke price; steps sit on a geometric grid
    from the reference to the choke price.
    """
    prices, shares = [], []
    for s in sectors:
        grid = np.geomspace(reference_price, max(s.choke_price_usd_per_kg, reference_price * 1.01), steps)
        q = np.minimum(1.0, (grid / reference_price) ** -s.demand_elasticity)
        share = q - np.append(q[1:], 0.0)
        prices.append(grid)
        shares.append(share)
    return np.array(prices), np.array(shares)
