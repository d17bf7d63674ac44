"""What a strategy sees, what it returns, and how strategies are found by name.

A strategy only *decides* (after Axelrod's ``strategy(opponent) -> Action``):
it reads the public state of last month and returns the instruments it wants
changed, as a mapping of dotted paths inside :class:`model.schema.Policy`.
The model validates and applies the change and logs it as an event.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Any, ClassVar, NamedTuple

import numpy as np
from pydantic import BaseModel, ConfigDict, ValidationError

from model.schema import COMMODITIES, LEVER_FAMILIES, SECTORS, Policy

Changes = dict[str, Any]
#: Row of each commodity in ``[commodity, ...]`` arrays.
COMMODITY_INDEX = {name: c for c, name in enumerate(COMMODITIES)}


@lru_cache(maxsize=64)
def _region_index(regions: tuple[str, ...]) -> dict[str, int]:
    return {code: i for i, code in enumerate(regions)}


class PublicState(NamedTuple):
    """Last month's public record, as every country sees it (an immutable record; arrays are copies)."""

    month: int
    date: str
    regions: tuple[str, ...]
    price_usd_per_kg: np.ndarray  # (commodity, region)
    reference_price_usd_per_kg: np.ndarray  # (commodity,)
    flows_t: np.ndarray  # (commodity, exporter, importer) last month
    use_t: np.ndarray  # (region, commodity) monthly use by firms
    shortage_t: np.ndarray  # (region, sector) magnet shortage last month
    stockpile_t: np.ndarray  # (region, commodity) state stockpiles
    policies: dict[str, Policy]
    stockpile_days: dict[str, float]

    def region(self, code: str) -> int:
        """Index of a region code."""
        index = _region_index(self.regions).get(code)
        if index is None:
            raise ValueError(f"region {code!r} not among {self.regions}")
        return index

    def price(self, commodity: str, code: str) -> float:
        """Last price of a commodity in a region, USD/kg."""
        return float(self.price_usd_per_kg[COMMODITY_INDEX[commodity], self.region(code)])

    def price_ratio(self, commodity: str, code: str) -> float:
        """Last price over the reference price."""
        c = COMMODITY_INDEX[commodity]
        return float(self.price_usd_per_kg[c, self.region(code)]) / float(self.reference_price_usd_per_kg[c])

    def shortage(self, code: str, sector: str | None = None) -> float:
        """Magnet shortage of a region last month, tonnes (one sector or all)."""
        row = self.shortage_t[self.region(code)].tolist()
        return float(sum(row) if sector is None else row[SECTORS.index(sector)])

    def restricts(self, exporter: str, importer: str) -> bool:
        """Whether ``exporter`` bans, licenses or taxes exports to ``importer``, or taxes its imports."""
        pol = self.policies[exporter]
        banned = any(importer in dests or "*" in dests for dests in pol.export_ban.values())
        licensed = (
            bool(pol.licence_commodities) and pol.licence_approval_rate < 1.0 and importer not in pol.licence_exempt
        )
        return banned or licensed or bool(pol.export_duty_rate and any(pol.export_duty_rate.values()))


class Params(BaseModel):
    """Base of each strategy's parameters: typed, bounded, unknown keys rejected."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class Strategy:
    """A small class that decides one lever family's instruments for one country."""

    name: ClassVar[str]
    family: ClassVar[str]
    #: Traits experiments filter on (after Axelrod's classifier).
    classifier: ClassVar[dict[str, Any]] = {}
    Parameters: ClassVar[type[Params]] = Params

    def __init__(self, **params: Any) -> None:
        try:
            self.params = self.Parameters(**params)
        except ValidationError as err:
            problems = "; ".join(f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in err.errors())
            raise ValueError(f"strategy {self.family}.{self.name}: {problems}") from None

    def decide(self, me: str, state: PublicState) -> Changes:
        """Instrument changes for country ``me`` this month (empty: keep as is)."""
        raise NotImplementedError

    def describe(self) -> str:
        """Name and parameters, as logged in the events table."""
        params = self.params.model_dump()
        return f"{self.name} {params}" if params else self.name

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.params.model_dump()})"


REGISTRY: dict[str, dict[str, type[Strategy]]] = {family: {} for family in LEVER_FAMILIES}


def register(cls: type[Strategy]) -> type[Strategy]:
    """Class decorator: make a strategy findable by family and name."""
    REGISTRY[cls.family][cls.name] = cls
    return cls


def make_strategy(family: str, name: str, **params: Any) -> Strategy:
    """Instantiate a registered strategy; unknown names list the allowed ones."""
    if family not in REGISTRY:
        raise ValueError(f"unknown lever family {family!r}; allowed: {', '.join(LEVER_FAMILIES)}")
    known = REGISTRY[family]
    if name not in known:
        raise ValueError(f"unknown {family} strategy {name!r}; allowed: {', '.join(sorted(known))}")
    return known[name](**params)


class Passive(Strategy):
    """Leaves every instrument as the scenario and its events set it."""

    name = "passive"
    classifier = {"stochastic": False, "memory_depth": 0, "reactive": False, "history_calibrated": False}

    def decide(self, me: str, state: PublicState) -> Changes:
        """Change nothing."""
        return {}


for _family in LEVER_FAMILIES:
    register(type(f"Passive_{_family}", (Passive,), {"family": _family, "__doc__": Passive.__doc__}))
