"""Production and use: inputs become outputs by recipe; unmet need becomes shortage.

Each step is a compiled loop over the firms of a stage, posting to the
ledger's arrays. Book values follow the goods: an output's value is its
inputs' book value plus the processing cost (split between the two oxides
at reference prices). Units: t, USD/kg, USD (1 t x 1 USD/kg = 1000 USD).
"""

from __future__ import annotations

from typing import TYPE_CHECKING

import numpy as np

from agents.behaviour import CONC, DYTB, HEAVY, MAGNET, NDPR, producing
from model.compiled import kernel
from model.ledger import COPRODUCTS, SHORTAGE_LOSS, SUBSIDY, VALUE_BUILT, put, take
from model.ledger import USD_PER_T_PER_USD_PER_KG as K

if TYPE_CHECKING:
    from model.schema import Scenario
    from model.world import RareEarthModel


def recipe(sc: Scenario) -> np.ndarray:
    """Separation recipes: rows light and heavy concentrate; NdPr oxide t/t, Dy/Tb oxide t/t, co-products USD/kg."""
    yl, yh = sc.separation_yield["concentrate"], sc.separation_yield["heavy_concentrate"]
    return np.array([[yl.ndpr_oxide, yl.dytb_oxide, yl.coproducts_usd_per_kg],
                     [yh.ndpr_oxide, yh.dytb_oxide, yh.coproducts_usd_per_kg]])  # fmt: skip


def separate(model: RareEarthModel) -> None:
    """Separators crack concentrate into NdPr and Dy/Tb oxides, heavy feed first."""
    f, led = model.firms, model.ledger
    run_separators(
        led.accounts, led.produced_t, led.used_t, producing(model, "separators"),
        f.country, f.capacity_t_per_month, f.heavy_capable, f.unit_cost_usd_per_kg, model.env_cost, model.recipe,
        model.subsidy, model.reference, model.output_t, model.costs_usd,
    )  # fmt: skip


def make_magnets(model: RareEarthModel) -> None:
    """Magnet makers combine NdPr and (for high grades) Dy/Tb oxide into NdFeB.

    In the short run a maker can cut Dy/Tb per tonne down to
    ``magnet.dytb_min_share_of_grade`` of its grade (grain-boundary diffusion,
    lower grades); below that, missing Dy/Tb stops production.
    """
    f, led, mg = model.firms, model.ledger, model.spec.magnet
    run_magnet_makers(
        led.accounts, led.produced_t, led.used_t, producing(model, "magnet_makers"),
        f.country, f.capacity_t_per_month, f.dytb_share, f.unit_cost_usd_per_kg, mg.ndpr_oxide_t_per_t,
        mg.dytb_min_share_of_grade, model.subsidy[MAGNET], model.output_t, model.costs_usd,
    )  # fmt: skip


def use_magnets(model: RareEarthModel) -> None:
    """End-use manufacturers build units from magnets on hand; the rest is shortage."""
    f, led, sectors = model.firms, model.ledger, model.sector_table
    model.shortage_t[:] = 0.0
    run_end_users(
        led.accounts, led.used_t, model.end_users, f.country, f.sector, model.need_this_month,
        sectors["kg_per_unit"], sectors["value_per_unit"], model.shortage_t, model.shortage_units,
        model.magnet_use_t,
    )  # fmt: skip
    model.use_by_region_t[:, MAGNET] = model.magnet_use_t


@kernel
def run_separators(accounts, produced, used, sep, country, capacity, heavy_capable, unit_cost, env_cost, recipe,
                   subsidy, reference, output, costs):  # fmt: skip
    """Crack each separator's feed (heavy first) up to capacity; pay costs, earn co-products."""
    cash, stock, value, _, books = accounts
    outside = cash.size - 1
    state = outside - books.shape[1]
    for h in sep:
        r = country[h]
        heavy = min(capacity[h], stock[h, HEAVY] * heavy_capable[h])
        light = min(capacity[h] - heavy, stock[h, CONC])
        value_in = take(stock, value, used, h, HEAVY, heavy) + take(stock, value, used, h, CONC, light)
        ndpr = recipe[0, 0] * light + recipe[1, 0] * heavy
        dytb = recipe[0, 1] * light + recipe[1, 1] * heavy
        cost = (unit_cost[h] + env_cost[r]) * (heavy + light) * K
        coproducts = (recipe[0, 2] * light + recipe[1, 2] * heavy) * K  # La, Ce, Y... sold outside the chain
        support = (subsidy[NDPR, r] * ndpr + subsidy[DYTB, r] * dytb) * K
        cash[h] += coproducts + support - cost
        cash[outside] += cost - coproducts
        cash[state + r] -= support
        books[COPRODUCTS, r] += coproducts
        books[SUBSIDY, r] += support
        v_ndpr, v_dytb = ndpr * reference[NDPR], dytb * reference[DYTB]  # joint cost split (stable)
        share = v_ndpr / (v_ndpr + v_dytb) if v_ndpr + v_dytb > 0 else 1.0
        put(stock, value, produced, h, NDPR, ndpr, (value_in + cost) * share)
        put(stock, value, produced, h, DYTB, dytb, (value_in + cost) * (1.0 - share))
        output[h] += heavy + light
        costs[h] += cost


@kernel
def run_magnet_makers(accounts, produced, used, makers, country, capacity, dytb_share, unit_cost, ndpr_per_t,
                      dytb_min_share, subsidy, output, costs):  # fmt: skip
    """Make as many magnets as capacity, NdPr and (down to the minimum grade) Dy/Tb allow."""
    cash, stock, value, _, books = accounts
    outside = cash.size - 1
    state = outside - books.shape[1]
    for h in makers:
        r, share = country[h], dytb_share[h]
        least = share * dytb_min_share
        by_dytb = stock[h, DYTB] / least if least > 0 else np.inf
        q = min(capacity[h], stock[h, NDPR] / ndpr_per_t, by_dytb)
        dytb = min(q * share, stock[h, DYTB])
        value_in = take(stock, value, used, h, NDPR, q * ndpr_per_t) + take(stock, value, used, h, DYTB, dytb)
        cost = unit_cost[h] * q * K
        support = subsidy[r] * q * K
        cash[h] += support - cost
        cash[outside] += cost
        cash[state + r] -= support
        books[SUBSIDY, r] += support
        put(stock, value, produced, h, MAGNET, q, value_in + cost)
        output[h] += q
        costs[h] += cost


@kernel
def run_end_users(accounts, used, users, country, sector, need, kg_per_unit, value_per_unit, shortage_t,
                  shortage_units, magnet_use):  # fmt: skip
    """Build units from magnets on hand; count the shortfall in t, units and value lost."""
    _, stock, value, _, books = accounts
    magnet_use[:] = 0.0
    for i in range(users.size):
        h, r, s = users[i], country[users[i]], sector[users[i]]
        done = min(need[i], stock[h, MAGNET])
        take(stock, value, used, h, MAGNET, done)
        t_per_unit = kg_per_unit[s] / 1000.0
        short_units = (need[i] - done) / t_per_unit
        shortage_t[r, s] += need[i] - done
        shortage_units[r, s] += short_units
        books[VALUE_BUILT, r] += done / t_per_unit * value_per_unit[s]
        books[SHORTAGE_LOSS, r] += short_units * value_per_unit[s]
        magnet_use[r] += done
