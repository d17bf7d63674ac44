"""Firms' and states' market decisions, as array rules over the firm columns.

:func:`offers` and :func:`bids` read the model's public state and return
each market's :class:`Orders`, built by the compiled per-firm rules of
:mod:`agents.order_rules`; nothing here moves tonnes or money (the market
settles). Rules:

- sellers offer stock near the price they expect, never below its book
  cost unless pressed: reservation = expected price x inventory pressure,
  where pressure falls from 1 by 0.15 per month of output held beyond one
  month (floor 0.3), and nothing is sold below a salvage price of 0.3 x the
  reference price: sticky prices that give way to a glut, as producers who
  set their own prices and hold inventories do (GCMat, Riddle et al. 2015);
- miners offer capacity at unit cost net of subsidies and price-floor
  support (they produce to order); states release stockpile at 80% of the
  expected price and buy for it up to their price ceiling; recycled NdPr is
  offered at its recovery cost;
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

from agents import order_rules as rules
from agents.firms import MAGNETS, MINING, SEPARATION, FirmTable
from agents.order_rules import CONC, COVER_CEILING, DYTB, HEAVY, MAGNET, NDPR, Rows
from model.trade import Orders

if TYPE_CHECKING:
    from model.world import RareEarthModel


def offers(model: RareEarthModel, c: int) -> Orders:
    """Everything for sale of commodity ``c`` this month."""
    f, led = model.firms, model.ledger
    n = f.n
    parts = [
        rules.stock_offers(
            model.rosters[SELLERS[c]], led.stock_t, led.stock_value_usd, c, f.country, f.capacity_t_per_month,
            _output_per_input(model, c), model.expected[c], model.reference[c], model.royalty_share,
            model.exportable, c == MAGNET,
        ),
        rules.state_releases(n, led.stock_t[n:, c], model.release_t[c], model.expected[c]),
    ]  # fmt: skip
    if c in (CONC, HEAVY):
        miners = producing(model, SELLERS[c])
        parts.append(
            rules.mine_offers(
                miners, f.country, f.unit_cost_usd_per_kg, f.capacity_t_per_month,
                model.subsidy[c], model.floor[c], model.expected[c],
            )
        )  # fmt: skip
    if c == NDPR:
        mk = model.spec.market
        recovered = mk.recycling_share * model.magnet_use_t * model.spec.magnet.ndpr_oxide_t_per_t
        parts.append(rules.scrap_offers(recovered, mk.recycling_cost_usd_per_kg))
    return Orders(*rules.concat(tuple(parts)))


def bids(model: RareEarthModel, c: int) -> Orders:
    """Everything wanted of commodity ``c`` this month."""
    parts = [rules.state_purchases(model.firms.n, model.buy_t[c], model.ceiling[c])]
    if c in (CONC, HEAVY):
        parts.append(_separator_bids(model, c))
    elif c in (NDPR, DYTB):
        parts.append(_magnet_maker_bids(model, c))
    else:
        parts.append(_end_user_bids(model))
    return Orders(*rules.concat(tuple(parts)))


def _output_per_input(model: RareEarthModel, c: int) -> float:
    """Monthly output of ``c`` per tonne of capacity (separators make two oxides)."""
    if c == NDPR:
        return model.yield_ndpr_typical
    if c == DYTB:
        return model.yield_dytb_typical
    return 1.0


def _cover_months(model: RareEarthModel, c: int) -> np.ndarray:
    """Months of input cover buyers in each region want of ``c``."""
    mk = model.spec.market
    return rules.cover_months(mk.input_cover_days, mk.precautionary_cover_days, model.expect_restriction[c])


def _separator_bids(model: RareEarthModel, c: int) -> Rows:
    f, sc, led = model.firms, model.spec, model.ledger
    y = sc.separation_yield["heavy_concentrate" if c == HEAVY else "concentrate"]
    e, s = model.expected, model.subsidy
    oxide_value = y.ndpr_oxide * (e[NDPR] + s[NDPR]) + y.dytb_oxide * (e[DYTB] + s[DYTB]) + y.coproducts_usd_per_kg
    separators = producing(model, "heavy_separators" if c == HEAVY else "separators")
    return rules.separator_bids(
        separators, f.country, f.unit_cost_usd_per_kg, model.env_cost, f.capacity_t_per_month, led.stock_t,
        led.on_order_t, oxide_value, model.reference[c], _cover_months(model, c),
    )  # fmt: skip


def _magnet_maker_bids(model: RareEarthModel, c: int) -> Rows:
    f, led = model.firms, model.ledger
    rule, third = (
        (rules.magnet_ndpr_bids, model.expected[DYTB]) if c == NDPR else (rules.magnet_dytb_bids, model.price[NDPR])
    )
    return rule(
        producing(model, "magnet_makers"), f.country, f.capacity_t_per_month, led.stock_t, led.on_order_t,
        (model.expected[MAGNET], model.subsidy[MAGNET], third), model.royalty_share, f.unit_cost_usd_per_kg,
        f.dytb_share, model.spec.magnet.ndpr_oxide_t_per_t, model.reference[c], _cover_months(model, c),
    )  # fmt: skip


def _end_user_bids(model: RareEarthModel) -> Rows:
    """Short-run demand curves of end-use manufacturers, plus their stock cover."""
    f, led = model.firms, model.ledger
    prices, shares = model.demand_curve  # (sectors, steps)
    cover_price = np.minimum(1.05 * model.expected[MAGNET], COVER_CEILING * model.reference[MAGNET])
    return rules.end_user_bids(
        model.end_users, f.country, f.sector, model.need_this_month, led.stock_t, led.on_order_t, prices, shares,
        model.content_share, model.content_sector, cover_price, _cover_months(model, MAGNET),
    )  # fmt: skip


#: The roster of firms selling each commodity from their output stock.
SELLERS = {CONC: "miners_conc", HEAVY: "miners_heavy", NDPR: "separators", DYTB: "separators", MAGNET: "magnet_makers"}


def producing(model: RareEarthModel, role: str) -> np.ndarray:
    """Rows of a roster's firms whose plants are built and not idled this month."""
    rows = model.rosters[role]
    return rows[model.producing[rows]]


def rosters(f: FirmTable) -> dict[str, np.ndarray]:
    """Rows of the firms in each market role (static: firms never change role)."""
    sep = f.stage == SEPARATION
    return {
        "miners_conc": np.flatnonzero((f.stage == MINING) & (f.output == CONC)),
        "miners_heavy": np.flatnonzero((f.stage == MINING) & (f.output == HEAVY)),
        "separators": np.flatnonzero(sep),
        "heavy_separators": np.flatnonzero(sep & f.heavy_capable),
        "magnet_makers": np.flatnonzero(f.stage == MAGNETS),
    }


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
