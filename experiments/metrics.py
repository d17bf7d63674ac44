"""End-of-run metrics: one row of numbers per run, computed from its tables only."""

from __future__ import annotations

from collections.abc import Mapping

import numpy as np
import pandas as pd

CHINA = "CHN"
PRICE_COMMODITIES = ("ndpr_oxide", "dytb_oxide")
#: The outcomes plotted against every parameter by :func:`experiments.analysis.analyze`.
KEY_METRICS = (
    "ndpr_oxide_price_ex_chn_mean_usd_per_kg",
    "dytb_oxide_price_ex_chn_mean_usd_per_kg",
    "magnet_shortage_t",
    "chn_mining_share_end",
)


def metrics(tables: Mapping[str, pd.DataFrame]) -> dict[str, float]:
    """Prices ex-China and in China, magnet shortage, China's mining share, payoffs."""
    out: dict[str, float] = {}
    for commodity in PRICE_COMMODITIES:
        out.update(price_metrics(tables["prices"], commodity))
    out["magnet_shortage_t"] = magnet_shortage_t(tables["countries"])
    out["chn_mining_share_end"] = end_share(tables["shares"], "mining", CHINA)
    out.update(cumulative_payoffs(tables["countries"]))
    return out


def price_metrics(prices: pd.DataFrame, commodity: str) -> dict[str, float]:
    """Mean and peak monthly price outside China (mean over regions) and in China, USD/kg."""
    rows = prices[prices["commodity"].astype(str) == commodity]
    in_china = rows["region"].astype(str) == CHINA
    ex = rows[~in_china].groupby("month")["price_usd_per_kg"].mean()
    chn = rows[in_china].groupby("month")["price_usd_per_kg"].mean()
    return {
        f"{commodity}_price_ex_chn_mean_usd_per_kg": _mean(ex),
        f"{commodity}_price_ex_chn_peak_usd_per_kg": _peak(ex),
        f"{commodity}_price_chn_mean_usd_per_kg": _mean(chn),
        f"{commodity}_price_chn_peak_usd_per_kg": _peak(chn),
    }


def magnet_shortage_t(countries: pd.DataFrame) -> float:
    """Tonnes of magnet demand not met, summed over sectors, countries and months."""
    cols = [c for c in countries.columns if c.startswith("shortage_") and c.endswith("_t")]
    return float(countries[cols].to_numpy().sum()) if cols else 0.0


def end_share(shares: pd.DataFrame, stage: str, country: str) -> float:
    """Return a country's share of a stage's output in the last month (NaN when absent)."""
    rows = shares[
        (shares["stage"].astype(str) == stage) & (shares["country"].astype(str) == country)
    ]
    if rows.empty:
        return float("nan")
    return float(rows.loc[rows["month"].idxmax(), "share"])


def cumulative_payoffs(countries: pd.DataFrame) -> dict[str, float]:
    """Payoff summed over months, by country: ``payoff_<CODE>_usd``."""
    if "payoff_usd" not in countries:
        return {}
    totals = countries.groupby(countries["country"].astype(str))["payoff_usd"].sum()
    return {f"payoff_{code}_usd": float(v) for code, v in totals.items()}


def _mean(series: pd.Series) -> float:
    return float(series.mean()) if len(series) else float("nan")


def _peak(series: pd.Series) -> float:
    return float(np.max(series.to_numpy())) if len(series) else float("nan")
