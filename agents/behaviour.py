"""Firms' and states' market decisions, as array rules over the firm columns.

:func:`offers` and :func:`bids` read the model's public state and return
each market's :class:`Orders`, built in compiled code (:mod:`agents.books`)
by the per-firm rules of :mod:`agents.order_rules`; nothing here moves
tonnes or money (the market settles). Rules:

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

from agents import books
from agents.firms import END_USE, MAGNETS, MINING, SEPARATION, FirmTable
from agents.order_rules import CONC, DYTB, HEAVY, MAGNET, NDPR  # noqa: F401 (commodity codes, re-exported)
from model.compiled import kernel
from model.trade import Orders

if TYPE_CHECKING:
    from model.schema import Scenario
    from model.world import RareEarthModel


def offers(model: RareEarthModel, c: int) -> Orders:
    """Everything for sale of commodity ``c`` this month (the book the market clears)."""
    return Orders(*books.offer_book(c, *book_inputs(model)))


def bids(model: RareEarthModel, c: int) -> Orders:
    """Everything wanted of commodity ``c`` this month (the book the market clears)."""
    return Orders(*books.bid_book(c, *book_inputs(model)))


def book_inputs(model: RareEarthModel) -> tuple:
    """The world as :mod:`agents.books` reads it: ``(cols, rosters, accounts, prices, policy, demand, params)``."""
    f, m = model.firms, model
    return (
        (f.country, f.sector, f.capacity_t_per_month, f.unit_cost_usd_per_kg, f.dytb_share, m.producing),
        m.roster_rows,
        m.ledger.accounts,
        (m.expected, m.reference, m.price, m.subsidy, m.floor, m.env_cost),
        (m.royalty_share, m.exportable, m.release_t, m.buy_t, m.ceiling, m.content_share, m.content_sector,
         m.expect_restriction),
        (m.need_this_month, *m.demand_curve, m.magnet_use_t),
        m.book_params,
    )  # fmt: skip


def book_params(sc: Scenario) -> np.ndarray:
    """The scenario constants the books read, at the ``books.P_*`` positions."""
    mk, light, heavy = sc.market, sc.separation_yield["concentrate"], sc.separation_yield["heavy_concentrate"]
    p = np.zeros(books.N_PARAMS)
    p[books.P_YIELD_NDPR], p[books.P_YIELD_DYTB] = light.ndpr_oxide, light.dytb_oxide
    p[books.P_RECYCLING_SHARE], p[books.P_RECYCLING_COST] = mk.recycling_share, mk.recycling_cost_usd_per_kg
    p[books.P_NDPR_PER_T] = sc.magnet.ndpr_oxide_t_per_t
    p[books.P_INPUT_COVER_DAYS], p[books.P_PRECAUTION_DAYS] = mk.input_cover_days, mk.precautionary_cover_days
    for at, y in ((books.P_RECIPE_LIGHT, light), (books.P_RECIPE_HEAVY, heavy)):
        p[at : at + 3] = y.ndpr_oxide, y.dytb_oxide, y.coproducts_usd_per_kg
    return p


def producing(model: RareEarthModel, role: str) -> np.ndarray:
    """Rows of a roster's firms whose plants are built and not idled this month."""
    return books.producing(model.rosters[role], model.producing)


def rosters(f: FirmTable) -> dict[str, np.ndarray]:
    """Rows of the firms in each market role (static: firms never change role)."""
    sep = f.stage == SEPARATION
    return {
        "miners_conc": np.flatnonzero((f.stage == MINING) & (f.output == CONC)),
        "miners_heavy": np.flatnonzero((f.stage == MINING) & (f.output == HEAVY)),
        "separators": np.flatnonzero(sep),
        "heavy_separators": np.flatnonzero(sep & f.heavy_capable),
        "magnet_makers": np.flatnonzero(f.stage == MAGNETS),
        "end_users": np.flatnonzero(f.stage == END_USE),
    }


@kernel
def end_users_need(need, base, users, region, sector, growth, intensity, noise_share, shocks):
    """Each end user's magnet need this month (t), written into ``need``.

    Its base need (t/month) grown by its region's demand growth since the
    start (``growth`` by region), scaled by the region-sector magnet
    intensity (thrifting), times a lognormal shock ``exp(noise_share * z)``
    with ``shocks`` the standard normal draws ``z``, one per user.
    """
    for k in range(users.size):
        r = region[k]
        need[k] = base[users[k]] * growth[r] * intensity[r, sector[k]] * np.exp(noise_share * shocks[k])


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
