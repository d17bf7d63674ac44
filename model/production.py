"""Production and use: inputs become outputs by recipe; unmet need becomes shortage.

All three steps are array operations over the firm columns. Book values
follow the goods: an output's value is its inputs' book value plus the
processing cost (split between the two oxides by expected value).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.behaviour import CONC, DYTB, HEAVY, MAGNET, NDPR
from agents.firms import MAGNETS, SEPARATION
from model.ledger import USD_PER_T_PER_USD_PER_KG as K

if TYPE_CHECKING:
    from model.world import RareEarthModel


def separate(model: RareEarthModel) -> None:
    """Separators crack concentrate into NdPr and Dy/Tb oxides, heavy feed first."""
    f, led, sc = model.firms, model.ledger, model.spec
    sep = np.nonzero((f.stage == SEPARATION) & f.producing(model.month))[0]
    region = f.country[sep]
    cap = f.capacity_t_per_month[sep]
    heavy = np.minimum(cap, led.stock_t[sep, HEAVY] * f.heavy_capable[sep])
    light = np.minimum(cap - heavy, led.stock_t[sep, CONC])
    value_in = led.consume(sep, HEAVY, heavy) + led.consume(sep, CONC, light)
    yl, yh = sc.separation_yield["concentrate"], sc.separation_yield["heavy_concentrate"]
    ndpr = yl.ndpr_oxide * light + yh.ndpr_oxide * heavy
    dytb = yl.dytb_oxide * light + yh.dytb_oxide * heavy
    cost = (f.unit_cost_usd_per_kg[sep] + model.env_cost[region]) * (heavy + light) * K
    led.pay(sep, led.outside, cost)
    coproducts = (yl.coproducts_usd_per_kg * light + yh.coproducts_usd_per_kg * heavy) * K
    led.pay(led.outside, sep, coproducts)  # La, Ce, Y... sold outside the modelled chain
    led.book("coproduct_sales_usd", region, coproducts)
    _subsidise(model, sep, region, NDPR, ndpr)
    _subsidise(model, sep, region, DYTB, dytb)
    v_ndpr = ndpr * model.reference[NDPR]  # joint cost split at reference prices (stable)
    v_dytb = dytb * model.reference[DYTB]
    share = np.divide(v_ndpr, v_ndpr + v_dytb, out=np.ones_like(v_ndpr), where=(v_ndpr + v_dytb) > 0)
    led.produce(sep, NDPR, ndpr, (value_in + cost) * share)
    led.produce(sep, DYTB, dytb, (value_in + cost) * (1.0 - share))
    model.output_t[sep] += heavy + light
    model.costs_usd[sep] += cost


def make_magnets(model: RareEarthModel) -> None:
    """Magnet makers combine NdPr and (for high grades) Dy/Tb oxide into NdFeB.

    In the short run a maker can cut Dy/Tb per tonne down to
    ``magnet.dytb_min_share_of_grade`` of its grade (grain-boundary diffusion,
    lower grades); below that, missing Dy/Tb stops production.
    """
    f, led = model.firms, model.ledger
    makers = np.nonzero((f.stage == MAGNETS) & f.producing(model.month))[0]
    region = f.country[makers]
    r = model.spec.magnet.ndpr_oxide_t_per_t
    share = f.dytb_share[makers]
    least = share * model.spec.magnet.dytb_min_share_of_grade
    by_dytb = np.divide(led.stock_t[makers, DYTB], least, out=np.full(len(makers), np.inf), where=least > 0)
    q = np.minimum.reduce([f.capacity_t_per_month[makers], led.stock_t[makers, NDPR] / r, by_dytb])
    dytb = np.minimum(q * share, led.stock_t[makers, DYTB])
    value_in = led.consume(makers, NDPR, q * r) + led.consume(makers, DYTB, dytb)
    cost = f.unit_cost_usd_per_kg[makers] * q * K
    led.pay(makers, led.outside, cost)
    _subsidise(model, makers, region, MAGNET, q)
    led.produce(makers, MAGNET, q, value_in + cost)
    model.output_t[makers] += q
    model.costs_usd[makers] += cost


def use_magnets(model: RareEarthModel) -> None:
    """End-use manufacturers build units from magnets on hand; the rest is shortage."""
    f, led = model.firms, model.ledger
    users = model.end_users
    need = model.need_this_month
    used = np.minimum(need, led.stock_t[users, MAGNET])
    led.consume(users, MAGNET, used)
    sectors = model.sector_table
    units = used / (sectors["kg_per_unit"][f.sector[users]] / 1000.0)
    short_units = (need - used) / (sectors["kg_per_unit"][f.sector[users]] / 1000.0)
    value = sectors["value_per_unit"][f.sector[users]]
    region, sector = f.country[users], f.sector[users]
    model.shortage_t[:] = 0.0
    np.add.at(model.shortage_t, (region, sector), need - used)
    np.add.at(model.shortage_units, (region, sector), short_units)
    led.book("value_built_usd", region, units * value)
    led.book("shortage_loss_usd", region, short_units * value)
    model.magnet_use_t[:] = np.bincount(region, weights=used, minlength=model.n_regions)
    model.use_by_region_t[:, MAGNET] = model.magnet_use_t


def _subsidise(model: RareEarthModel, holders: np.ndarray, region: np.ndarray, c: int, tonnes: np.ndarray) -> None:
    usd = model.subsidy[c, region] * tonnes * K
    model.ledger.pay(model.ledger.state(region), holders, usd)
    model.ledger.book("subsidy_paid_usd", region, usd)
