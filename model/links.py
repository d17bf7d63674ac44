"""Trade links country x country x commodity, derived from the instruments in force.

The scenario fixes freight and standing tariffs (``[[links]]``); countries'
policies add import tariffs, export duties, bans, quotas and licence
regimes. :class:`LinkState` is recomputed when policies change and read by
the market; ad valorem rates become per-kilogram costs at last month's
exporter price (a stated approximation, see docs/ODD.md).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from model.compiled import kernel
from model.schema import COMMODITIES, Policy, Scenario


@dataclass
class LinkState:
    """Arrays indexed ``[commodity, exporter, importer]`` unless said otherwise."""

    transport_usd_per_kg: np.ndarray
    tariff_rate: np.ndarray  # importer's import tariff plus link-specific tariffs
    duty_rate: np.ndarray  # exporter's export duty
    open: np.ndarray  # bool
    licensed: np.ndarray  # bool: shipment needs an export licence
    approval_rate: np.ndarray
    delay_months: np.ndarray  # int
    quota_t_per_year: np.ndarray  # [commodity, exporter], inf = none
    compliant_origin: np.ndarray  # [exporter, importer] bool: counts for content rules


@kernel
def link_costs(exporter_price, transport, duty_rate, tariff_rate, delay_months, carry_share):
    """Per-kg costs of each link ``[exporter, importer]`` for one commodity, USD/kg.

    Returns ``(total, freight, duty, tariff, carry)``, zero on the diagonal:
    the export duty is ad valorem on the exporter's price, the tariff on the
    price plus duty, and a review delay carries the goods' value for its
    months at ``carry_share`` per month.
    """
    n = exporter_price.size
    total, freight, duty, tariff, carry = (
        np.zeros((n, n)),
        np.zeros((n, n)),
        np.zeros((n, n)),
        np.zeros((n, n)),
        np.zeros((n, n)),
    )
    for i in range(n):
        value = max(exporter_price[i], 0.0)
        for j in range(n):
            if i == j:
                continue
            freight[i, j] = transport[i, j]
            duty[i, j] = duty_rate[i, j] * value
            tariff[i, j] = tariff_rate[i, j] * (value + duty[i, j])
            carry[i, j] = delay_months[i, j] * carry_share * value
            total[i, j] = freight[i, j] + duty[i, j] + tariff[i, j] + carry[i, j]
    return total, freight, duty, tariff, carry


def base_links(scenario: Scenario, regions: list[str]) -> tuple[np.ndarray, np.ndarray]:
    """Freight and standing link tariffs from the scenario, ``[commodity, exporter, importer]``."""
    n, k = len(regions), len(COMMODITIES)
    freight = np.zeros((k, n, n))
    tariff = np.zeros((k, n, n))
    for c, name in enumerate(COMMODITIES):
        freight[c] = scenario.commodities[name].transport_cost_usd_per_kg
    for link in scenario.links:
        cs = range(k) if link.commodity == "*" else [COMMODITIES.index(link.commodity)]
        ex = range(n) if link.exporter == "*" else [regions.index(link.exporter)]
        im = range(n) if link.importer == "*" else [regions.index(link.importer)]
        for c in cs:
            for i in ex:
                for j in im:
                    if link.transport_cost_usd_per_kg is not None:
                        freight[c, i, j] = link.transport_cost_usd_per_kg
                    if link.tariff_rate is not None:
                        tariff[c, i, j] = link.tariff_rate
    for c in range(k):
        np.fill_diagonal(freight[c], 0.0)
        np.fill_diagonal(tariff[c], 0.0)
    return freight, tariff


def link_state(policies: dict[str, Policy], regions: list[str], freight: np.ndarray, tariff: np.ndarray) -> LinkState:
    """Combine standing links with every country's instruments in force."""
    n, k = len(regions), len(COMMODITIES)
    tariff = tariff.copy()
    duty = np.zeros((k, n, n))
    open_ = np.ones((k, n, n), dtype=bool)
    licensed = np.zeros((k, n, n), dtype=bool)
    approval = np.ones((k, n, n))
    delay = np.zeros((k, n, n), dtype=np.int64)
    quota = np.full((k, n), np.inf)
    compliant = np.ones((n, n), dtype=bool)
    for i, code in enumerate(regions):
        p = policies[code]
        _exporter_instruments(p, i, regions, duty, open_, licensed, approval, delay, quota)
        for name, rate in p.import_tariff_rate.items():
            tariff[COMMODITIES.index(name), :, i] += rate
        for bad in p.foreign_entities_of_concern:
            if bad in regions:
                compliant[regions.index(bad), i] = False
    eye = np.eye(n, dtype=bool)
    tariff[:, eye] = 0.0
    duty[:, eye] = 0.0
    open_[:, eye] = True
    licensed[:, eye] = False
    return LinkState(freight, tariff, duty, open_, licensed, approval, delay, quota, compliant)


def _exporter_instruments(p: Policy, i: int, regions: list[str], duty, open_, licensed, approval, delay, quota) -> None:
    for name, rate in p.export_duty_rate.items():
        duty[COMMODITIES.index(name), i, :] = rate
    for name, t in p.export_quota_t_per_year.items():
        quota[COMMODITIES.index(name), i] = t
    for name, dests in p.export_ban.items():
        c = COMMODITIES.index(name)
        if "*" in dests:
            open_[c, i, :] = False
        for d in dests:
            if d in regions:
                open_[c, i, regions.index(d)] = False
    exempt = [regions.index(d) for d in p.licence_exempt if d in regions]
    for name in p.licence_commodities:
        c = COMMODITIES.index(name)
        licensed[c, i, :] = True
        licensed[c, i, exempt] = False
        approval[c, i, :] = np.where(licensed[c, i, :], p.licence_approval_rate, 1.0)
        delay[c, i, :] = np.where(licensed[c, i, :], p.licence_review_delay_months, 0)
