"""Small synthetic worlds for tests: valid scenario documents built in code."""

from __future__ import annotations

from typing import Any

COMMODITY_TABLE = {
    "concentrate": {"unit": "t REO", "produced_by": "mining", "reference_price_usd_per_kg": 8.0,
                    "transport_cost_usd_per_kg": 0.1},
    "heavy_concentrate": {"unit": "t REO", "produced_by": "mining", "reference_price_usd_per_kg": 30.0,
                          "transport_cost_usd_per_kg": 0.1},
    "ndpr_oxide": {"unit": "t oxide", "produced_by": "separation", "reference_price_usd_per_kg": 55.0,
                   "transport_cost_usd_per_kg": 0.3},
    "dytb_oxide": {"unit": "t oxide", "produced_by": "separation", "reference_price_usd_per_kg": 350.0,
                   "transport_cost_usd_per_kg": 0.5},
    "ndfeb_magnet": {"unit": "t magnet", "produced_by": "magnets", "reference_price_usd_per_kg": 50.0,
                     "transport_cost_usd_per_kg": 0.5},
}

SECTOR_TABLE = {
    "ev": dict(unit_name="vehicle", magnet_kg_per_unit=2.0, value_lost_usd_per_unit=3000.0,
               choke_price_usd_per_kg=1500.0, demand_elasticity=0.1),
    "wind": dict(unit_name="MW", magnet_kg_per_unit=600.0, value_lost_usd_per_unit=200000.0,
                 choke_price_usd_per_kg=300.0, demand_elasticity=0.3),
    "electronics": dict(unit_name="device", magnet_kg_per_unit=0.05, value_lost_usd_per_unit=50.0,
                        choke_price_usd_per_kg=1000.0, demand_elasticity=0.2),
    "industrial": dict(unit_name="motor", magnet_kg_per_unit=2.0, value_lost_usd_per_unit=500.0,
                       choke_price_usd_per_kg=250.0, demand_elasticity=0.3),
    "defense": dict(unit_name="platform", magnet_kg_per_unit=400.0, value_lost_usd_per_unit=5.0e6,
                    choke_price_usd_per_kg=10000.0, demand_elasticity=0.05),
}


def sector(**kw: Any) -> dict[str, Any]:
    base = dict(thrift_max_share_per_year=0.1, thrift_floor_share=0.5, thrift_trigger_price_ratio=1.5)
    return {**base, **kw}


def small_world(n_countries: int = 3, months: int = 24, demand_scale: float = 1.0,
                capacity_scale: float = 1.0) -> dict[str, Any]:
    """A three-stage world: A mines and separates, B makes magnets, C (and others) consume."""
    codes = ["AAA", "BBB", "CCC", "DDD", "EEE"][:n_countries]
    countries: dict[str, Any] = {}
    for k, code in enumerate(codes):
        countries[code] = {
            "name": f"Country {code}",
            "magnet_demand_t_per_year": {"ev": 3000.0 * demand_scale, "electronics": 1500.0 * demand_scale,
                                         "defense": 10.0 * demand_scale},
            "capacity_t_per_year": {},
            "synthetic_firms": 2,
        }
        if k == 0:
            countries[code]["capacity_t_per_year"] = {
                "concentrate": 80000.0 * capacity_scale, "heavy_concentrate": 4000.0 * capacity_scale,
                "ndpr_oxide": 90000.0 * capacity_scale,
            }
        if k == 1 or n_countries == 1:
            countries[code]["capacity_t_per_year"]["ndfeb_magnet"] = 20000.0 * capacity_scale
    return {
        "meta": {"name": "small", "title": "A small test world", "start_date": "2020-01", "months": months},
        "commodities": COMMODITY_TABLE,
        "separation_yield": {
            "concentrate": {"ndpr_oxide": 0.2, "dytb_oxide": 0.002},
            "heavy_concentrate": {"ndpr_oxide": 0.25, "dytb_oxide": 0.06},
        },
        "magnet": {"ndpr_oxide_t_per_t": 0.35},
        "sectors": {name: sector(**kw) for name, kw in SECTOR_TABLE.items()},
        "countries": countries,
    }
