"""Firms: numeric state in columns owned by the model, inspectable as agents.

Firms may be many (hundreds in the calibrated world, 100,000 in scale tests),
so their state lives in a :class:`FirmTable` of numpy columns and every hot
path works on whole columns. :class:`Firm` is a Mesa agent that *views* one
row, so a researcher can still ask ``model.firm("lynas_kuantan").capacity``.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import mesa
import numpy as np

from model.calendar import month_index
from model.schema import COMMODITIES, SECTORS, Scenario

MINING, SEPARATION, MAGNETS, END_USE = 0, 1, 2, 3
STAGE_NAMES = ("mining", "separation", "magnets", "end_use")
C = {name: i for i, name in enumerate(COMMODITIES)}
SYNTHETIC_STAGE = {
    "concentrate": MINING,
    "heavy_concentrate": MINING,
    "ndpr_oxide": SEPARATION,
    "ndfeb_magnet": MAGNETS,
}


@dataclass
class FirmTable:
    """Column store of every firm. Row ``i`` is one firm; all arrays have length ``n``."""

    ids: list[str]
    names: list[str]
    country: np.ndarray  # int region index
    stage: np.ndarray  # int, MINING..END_USE
    output: np.ndarray  # int commodity index of the main output
    sector: np.ndarray  # int sector index (end-use firms), -1 otherwise
    capacity_t_per_month: np.ndarray
    unit_cost_usd_per_kg: np.ndarray
    heavy_capable: np.ndarray  # bool
    dytb_share: np.ndarray
    patent_licensed: np.ndarray  # bool
    synthetic: np.ndarray  # bool
    online_month: np.ndarray  # int
    active: np.ndarray  # bool: False while idled after sustained losses
    need_t_per_month: np.ndarray  # end-use: magnet need at month 0 intensity
    stock_t: np.ndarray  # (n, n_commodities)
    stock_value_usd: np.ndarray  # (n, n_commodities) book value at average cost
    on_order_t: np.ndarray  # (n, n_commodities) bought, awaiting licence review
    cash_usd: np.ndarray
    loss_months: np.ndarray  # int consecutive months of losses
    profit_months: np.ndarray  # int consecutive months of expected profit
    index: dict[str, int] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.index = {fid: i for i, fid in enumerate(self.ids)}

    @property
    def n(self) -> int:
        """Number of firms."""
        return len(self.ids)

    def producing(self, month: int) -> np.ndarray:
        """Mask of firms whose plants are built and not idled."""
        return self.active & (self.online_month <= month)


def build_firms(scenario: Scenario, regions: list[str], rng: np.random.Generator) -> FirmTable:
    """Named facilities, synthetic firms for each country's remaining capacity, end users.

    Synthetic separators can process heavy (ionic-clay) feed only in countries
    that mine it (China's CREG plants); synthetic magnet makers in China hold
    no patent licence (only ~8 licensed Chinese firms could export freely).
    """
    rows: list[dict] = [_named_row(fid, f, regions, scenario) for fid, f in scenario.firms.items()]
    rows += _synthetic_rows(scenario, regions, rng)
    rows += _end_use_rows(scenario, regions)
    return _table(rows)


def _named_row(fid: str, f, regions: list[str], scenario: Scenario) -> dict:
    start = scenario.meta.start_date
    return {
        "id": fid,
        "name": f.name,
        "country": regions.index(f.country),
        "stage": STAGE_NAMES.index(f.stage),
        "output": C[f.commodity],
        "capacity": f.capacity_t_per_year / 12.0,
        "cost": f.unit_cost_usd_per_kg,
        "heavy": f.heavy_capable,
        "dytb": f.dytb_share,
        "licensed": f.patent_licensed,
        "online": month_index(start, f.online_date) if f.online_date else 0,
    }


def _synthetic_rows(scenario: Scenario, regions: list[str], rng: np.random.Generator) -> list[dict]:
    rows = []
    spread = scenario.market.cost_spread_share
    # Named capacity by (country, stage, commodity); mines count per commodity, plants per stage.
    named_by: dict[tuple[str, int, str | None], list[float]] = {}
    for f in scenario.firms.values():
        stage = SYNTHETIC_STAGE.get(f.commodity)
        key = (f.country, stage, f.commodity if stage == MINING else None)
        named_by.setdefault(key, []).append(f.capacity_t_per_year)
    for code, country in scenario.countries.items():
        for commodity, total in country.capacity_t_per_year.items():
            stage = SYNTHETIC_STAGE.get(commodity)
            if stage is None:
                continue
            named = sum(named_by.get((code, stage, commodity if stage == MINING else None), ()))
            gap = total - named
            if gap <= 1e-9:
                continue
            base = {
                MINING: country.costs.mining_usd_per_kg,
                SEPARATION: country.costs.separation_usd_per_kg,
                MAGNETS: country.costs.magnets_usd_per_kg,
            }[stage]
            k = country.synthetic_firms
            costs = base * (1.0 + spread * (rng.random(k) * 2.0 - 1.0))
            for j in range(k):
                rows.append(
                    {
                        "id": f"{code.lower()}_{commodity}_synthetic_{j}",
                        "name": f"{country.name} {STAGE_NAMES[stage]} (synthetic {j + 1}/{k})",
                        "country": regions.index(code),
                        "stage": stage,
                        "output": C[commodity],
                        "capacity": gap / k / 12.0,
                        "cost": float(costs[j]),
                        "heavy": stage == SEPARATION and country.capacity_t_per_year.get("heavy_concentrate", 0) > 0,
                        "dytb": 0.012 if stage == MAGNETS else 0.0,  # fleet-average grade, docs/calibration.md
                        "licensed": not (stage == MAGNETS and code == "CHN"),
                        "synthetic": True,
                    }
                )
    return rows


def _end_use_rows(scenario: Scenario, regions: list[str]) -> list[dict]:
    rows = []
    for code, country in scenario.countries.items():
        for sector, t_per_year in country.magnet_demand_t_per_year.items():
            if t_per_year <= 0:
                continue
            rows.append(
                {
                    "id": f"{code.lower()}_{sector}_makers",
                    "name": f"{country.name} {sector} manufacturers",
                    "country": regions.index(code),
                    "stage": END_USE,
                    "output": -1,
                    "sector": SECTORS.index(sector),
                    "need": t_per_year / 12.0,
                    "synthetic": True,
                }
            )
    return rows


def _table(rows: list[dict]) -> FirmTable:
    n = len(rows)

    def col(key: str, default, dtype) -> np.ndarray:
        return np.array([r.get(key, default) for r in rows], dtype=dtype)

    k = len(COMMODITIES)
    return FirmTable(
        ids=[r["id"] for r in rows],
        names=[r["name"] for r in rows],
        country=col("country", 0, np.int64),
        stage=col("stage", 0, np.int64),
        output=col("output", -1, np.int64),
        sector=col("sector", -1, np.int64),
        capacity_t_per_month=col("capacity", 0.0, float),
        unit_cost_usd_per_kg=col("cost", 0.0, float),
        heavy_capable=col("heavy", False, bool),
        dytb_share=col("dytb", 0.0, float),
        patent_licensed=col("licensed", True, bool),
        synthetic=col("synthetic", False, bool),
        online_month=col("online", 0, np.int64),
        active=np.ones(n, dtype=bool),
        need_t_per_month=col("need", 0.0, float),
        stock_t=np.zeros((n, k)),
        stock_value_usd=np.zeros((n, k)),
        on_order_t=np.zeros((n, k)),
        cash_usd=np.zeros(n),
        loss_months=np.zeros(n, dtype=np.int64),
        profit_months=np.zeros(n, dtype=np.int64),
    )


class Firm(mesa.Agent):
    """A read-only agent view of one firm's row in the model's :class:`FirmTable`."""

    def __init__(self, model: mesa.Model, row: int) -> None:
        super().__init__(model)
        self.row = row

    @property
    def _t(self) -> FirmTable:
        return self.model.firms

    @property
    def firm_id(self) -> str:
        """Stable identifier from the scenario (named) or the loader (synthetic)."""
        return self._t.ids[self.row]

    @property
    def name(self) -> str:
        """Human-readable name."""
        return self._t.names[self.row]

    @property
    def country(self) -> str:
        """ISO code of the firm's country."""
        return self.model.regions[self._t.country[self.row]]

    @property
    def stage(self) -> str:
        """mining, separation, magnets or end_use."""
        return STAGE_NAMES[self._t.stage[self.row]]

    @property
    def capacity_t_per_year(self) -> float:
        """Current nameplate capacity."""
        return float(self._t.capacity_t_per_month[self.row] * 12.0)

    @property
    def active(self) -> bool:
        """False while idled after sustained losses or before coming online."""
        return bool(self._t.producing(self.model.month)[self.row])

    @property
    def stock_t(self) -> dict[str, float]:
        """Inventories by commodity, tonnes."""
        return {c: float(self._t.stock_t[self.row, i]) for i, c in enumerate(COMMODITIES)}

    @property
    def cash_usd(self) -> float:
        """Cumulative cash position."""
        return float(self._t.cash_usd[self.row])

    def __repr__(self) -> str:
        return f"Firm({self.firm_id!r}, {self.country}, {self.stage}, {self.capacity_t_per_year:.0f} t/yr)"
