"""Instruments in force, as the arrays the market and the firms' rules read.

Recomputed only when some country's policy changes (only the stockpile
orders when nothing else changed). Patent licensing is
resolved here: a country whose policy asks a royalty (or refuses licences)
is a patent holder; a magnet maker elsewhere is licensed (pays the royalty,
may export) if the scenario says it holds a licence and the holder does not
refuse its country, or if its own courts grant a compulsory licence;
otherwise it may sell only at home (territorial limits on licensees).
"""

from __future__ import annotations

from collections.abc import Collection
from typing import TYPE_CHECKING

import numpy as np

from agents.behaviour import CONC, HEAVY, MAGNET
from agents.firms import MAGNETS, MINING, SEPARATION
from model.calendar import calendar_month
from model.compiled import kernel
from model.links import link_state
from model.schema import COMMODITIES, SECTORS

if TYPE_CHECKING:
    from model.world import RareEarthModel


#: Tonnes of a yearly export quota below which it counts as used up.
QUOTA_SPENT_T = 1e-6

#: Instruments by the arrays they feed (``PolicyArrays.refresh`` rebuilds only the groups that changed).
LINK_INSTRUMENTS = frozenset(
    {"export_quota_t_per_year", "export_duty_rate", "import_tariff_rate", "export_ban", "licence_commodities",
     "licence_approval_rate", "licence_review_delay_months", "licence_exempt", "foreign_entities_of_concern"}
)  # fmt: skip
SUPPORT_INSTRUMENTS = frozenset(
    {"production_subsidy_usd_per_kg", "price_floor_usd_per_kg", "domestic_content_share", "content_rule_sectors",
     "content_premium_usd_per_kg"}
)  # fmt: skip
STOCKPILE_INSTRUMENTS = frozenset(
    {"stockpile_buy_t_per_month", "stockpile_release_t_per_month", "stockpile_price_ceiling_usd_per_kg"}
)
LICENCE_INSTRUMENTS = frozenset({"patent_royalty_share", "patent_refused", "compulsory_licence_royalty_share"})
KNOWN_INSTRUMENTS = LINK_INSTRUMENTS | SUPPORT_INSTRUMENTS | STOCKPILE_INSTRUMENTS | LICENCE_INSTRUMENTS


class PolicyArrays:
    """Array views of every country's instruments, rebuilt on change."""

    def __init__(self, model: RareEarthModel) -> None:
        self.model = model
        f = model.firms
        self.holder_region = np.concatenate([f.country, np.arange(model.n_regions)])
        producing_stage = {CONC: MINING, HEAVY: MINING, MAGNET: MAGNETS}
        #: [commodity, holder]: weights for returning denied shipments to an exporter's producers.
        self.seller_weights = np.zeros((len(COMMODITIES), len(self.holder_region)))
        for c in range(len(COMMODITIES)):
            stage = producing_stage.get(c, SEPARATION)
            mask = (f.stage == stage) & ((f.output == c) if stage == MINING else True)
            self.seller_weights[c, : f.n] = np.where(mask, f.capacity_t_per_month, 0.0)

    def refresh(self, changed: Collection[str] | None = None, countries: Collection[str] | None = None) -> None:
        """Rebuild the arrays of the instruments that changed (all of them when ``changed`` is None).

        ``changed``: names of the :class:`model.schema.Policy` fields that
        changed this month, ``countries``: the countries whose instruments
        changed (used for the stockpile orders). Links, support (subsidies,
        floors, content rules), stockpile orders and patent licences are
        rebuilt only if one of their instruments changed; a field in none of
        these groups rebuilds everything.
        """
        changed = set(changed) if changed is not None else None
        if changed is not None and not changed <= KNOWN_INSTRUMENTS:
            changed = None
        m = self.model
        policies = {code: a.policy for code, a in m.countries.items()}
        replaced = False  # arrays replaced (not written in place): the month's packed arrays are stale
        if changed is None or not LINK_INSTRUMENTS.isdisjoint(changed):
            self.links, replaced = link_state(policies, m.regions, m.freight, m.standing_tariff), True
        if changed is None or not SUPPORT_INSTRUMENTS.isdisjoint(changed):
            self._refresh_support(policies)
            replaced = True
        if changed is None:
            self.refresh_stockpile_orders()
            replaced = True
        elif not STOCKPILE_INSTRUMENTS.isdisjoint(changed):
            self.refresh_stockpile_orders(countries)  # in place for these countries (all, new arrays, if None)
            replaced = replaced or countries is None
        if changed is None or not LICENCE_INSTRUMENTS.isdisjoint(changed):
            self._resolve_licences(policies)
            replaced = True
        if replaced:
            m._arguments = None

    def _refresh_support(self, policies) -> None:
        m = self.model
        k, n = len(COMMODITIES), m.n_regions
        m.subsidy, m.floor = np.zeros((k, n)), np.zeros((k, n))
        m.content_share, m.content_sector = np.zeros(n), np.zeros((n, len(SECTORS)))
        self.content_premium = np.zeros(n)
        for i, code in enumerate(m.regions):
            p = policies[code]
            _fill(m.subsidy, i, p.production_subsidy_usd_per_kg)
            _fill(m.floor, i, p.price_floor_usd_per_kg)
            m.content_share[i] = p.domestic_content_share
            m.content_sector[i, [SECTORS.index(s) for s in p.content_rule_sectors]] = 1.0
            self.content_premium[i] = p.content_premium_usd_per_kg

    def _resolve_licences(self, policies) -> None:
        m, f = self.model, self.model.firms
        holders = [
            i
            for i, code in enumerate(m.regions)
            if policies[code].patent_royalty_share > 0 or policies[code].patent_refused
        ]
        m.royalty_share = np.zeros(f.n)  # share of magnet revenue each firm owes
        m.exportable = np.ones(f.n, dtype=bool)
        self.royalty_region = np.full(f.n, -1)  # region paid the royalty on magnets; -1 = none
        self.no_royalty = np.full(f.n, -1)
        if not holders:
            return
        h = holders[0]
        hp = policies[m.regions[h]]
        refused = np.isin(np.array(m.regions)[f.country], hp.patent_refused)
        by_region = np.array([policies[code].compulsory_licence_royalty_share for code in m.regions])
        compulsory = by_region[f.country]
        maker = (f.stage == MAGNETS) & (f.country != h)
        voluntary = maker & f.patent_licensed & ~refused
        forced = maker & ~voluntary & (compulsory > 0)
        m.royalty_share = np.where(voluntary, hp.patent_royalty_share, np.where(forced, compulsory, 0.0))
        self.royalty_region = np.where(voluntary | forced, h, -1)
        m.exportable = ~maker | voluntary | forced

    def export_cap(self, c: int) -> np.ndarray:
        """Export allowance for the current month: the quota left this year over the months left.

        A quota used up to within ``QUOTA_SPENT_T`` counts as spent, so the
        rounding of the year's running export total cannot leave a sliver open.
        """
        m = self.model
        months_left = 13 - calendar_month(m.start_date, m.month)
        return export_allowance(self.links.quota_t_per_year[c], m.exports_ytd_t[c], months_left)

    def refresh_stockpile_orders(self, countries: Collection[str] | None = None) -> None:
        """Rebuild only the states' stockpile purchases, releases and price ceilings.

        ``countries``: only these countries' columns (in place); None: all, in new arrays.
        """
        m = self.model
        if countries is None:
            k, n = len(COMMODITIES), m.n_regions
            m.buy_t, m.release_t, m.ceiling = np.zeros((k, n)), np.zeros((k, n)), np.zeros((k, n))
            countries = m.regions
        for code in countries:
            i, p = m.regions.index(code), m.countries[code].policy
            for orders, values in (
                (m.buy_t, p.stockpile_buy_t_per_month),
                (m.release_t, p.stockpile_release_t_per_month),
                (m.ceiling, p.stockpile_price_ceiling_usd_per_kg),
            ):
                orders[:, i] = 0.0
                _fill(orders, i, values)


@kernel
def export_allowance(quota, exported, months_left):
    """Export allowance by exporter for the month, t: the year's quota left over the months left (inf: no quota)."""
    allowance = np.full(quota.size, np.inf)
    for i in range(quota.size):
        if np.isfinite(quota[i]):
            left = quota[i] - exported[i]
            allowance[i] = (left if left >= QUOTA_SPENT_T else 0.0) / months_left
    return allowance


@kernel
def restriction_expectations(flows, import_share, quota_rent, reference, licensed, approval, link_open):
    """Buyers expect restrictions on a commodity when a major supplier restricts it.

    Each importer's import shares by origin (``import_share`` [c, origin,
    importer], updated in place) are smoothed over a year; a buyer expects
    restrictions on a commodity when an origin with more than 10% of its
    supply licenses with approval below 1, bans, or exports under a binding
    quota. Returns 1.0 [c, importer] where restrictions are expected.
    """
    k, n = flows.shape[0], flows.shape[1]
    expect = np.zeros((k, n))
    for c in range(k):
        for j in range(n):
            imports = 0.0
            for i in range(n):
                imports += flows[c, i, j] if i != j else 0.0
            total = imports + flows[c, j, j]
            for i in range(n):
                inflow = flows[c, i, j] if i != j else 0.0
                share = inflow / total if total > 0 else 0.0
                import_share[c, i, j] += (share - import_share[c, i, j]) / 12.0
                restricted = (
                    (licensed[c, i, j] and approval[c, i, j] < 1.0)
                    or not link_open[c, i, j]
                    or quota_rent[c, i] > 1e-6 * reference[c]
                )
                if import_share[c, i, j] > 0.1 and restricted:
                    expect[c, j] = 1.0
    return expect


def _fill(arr: np.ndarray, i: int, values: dict[str, float]) -> None:
    for name, v in values.items():
        arr[COMMODITIES.index(name), i] = v
