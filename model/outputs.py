"""Tidy output tables (one row per observation), manifests and Parquet files."""

from __future__ import annotations

import functools
import json
import platform
from dataclasses import dataclass, field
from importlib import metadata
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import pandas as pd

from agents.firms import STAGE_NAMES
from model.calendar import month_dates
from model.recorder import ACCOUNT_SHAPES, BOOK_COLUMNS, PAYOFF_PARTS
from model.schema import COMMODITIES, SECTORS

if TYPE_CHECKING:
    from model.world import RareEarthModel

TABLES = ("prices", "shares", "flows", "countries", "events", "firms")
SHARE_STAGES = ("mining", "separation", "magnets")


@dataclass
class RunTables:
    """The tables of one run, as pandas DataFrames, plus its manifest."""

    prices: pd.DataFrame
    shares: pd.DataFrame
    flows: pd.DataFrame
    countries: pd.DataFrame
    events: pd.DataFrame
    firms: pd.DataFrame
    manifest: dict[str, Any] = field(default_factory=dict)

    def as_dict(self) -> dict[str, pd.DataFrame]:
        """Tables by name."""
        return {name: getattr(self, name) for name in TABLES}

    def write(self, out: str | Path) -> Path:
        """Write every table as Parquet plus ``manifest.json`` into ``out``."""
        out = Path(out)
        out.mkdir(parents=True, exist_ok=True)
        for name, df in self.as_dict().items():
            tmp = out / f".{name}.parquet.tmp"
            df.to_parquet(tmp, index=False)
            tmp.replace(out / f"{name}.parquet")
        (out / "manifest.json").write_text(json.dumps(self.manifest, indent=2, default=str))
        return out


def tables(model: RareEarthModel) -> RunTables:
    """Build the tidy tables of everything recorded so far."""
    rec = model.recorder
    months = rec.months
    dates = month_dates(model.start_date, int(months.max()) + 1)[months] if len(months) else np.array([], "M")
    return RunTables(
        prices=_prices(model, months, dates),
        shares=_shares(model, months, dates),
        flows=_flows(model, months, dates),
        countries=_countries(model, months, dates),
        events=_events(model),
        firms=_firms(model),
        manifest=manifest(model),
    )


def _grid(months: np.ndarray, dates: np.ndarray, *axes: list[str]) -> dict[str, np.ndarray]:
    """Columns of a full grid month x axes..., in C order; axis ``k`` as positions ``_k`` in it."""
    shape = (len(months),) + tuple(len(a) for a in axes)
    idx = np.indices(shape).reshape(len(shape), -1)
    cols = {"month": months[idx[0]], "date": dates[idx[0]].astype("datetime64[ns]")}
    for k in range(1, len(axes) + 1):
        cols[f"_{k}"] = idx[k]
    return cols


def _cat(codes: np.ndarray, categories: list[str]) -> pd.Categorical:
    """A categorical column from positions in ``categories``."""
    return pd.Categorical.from_codes(codes, categories=categories)


def _prices(model: RareEarthModel, months: np.ndarray, dates: np.ndarray) -> pd.DataFrame:
    rec, regions = model.recorder, model.regions
    cols = _grid(months, dates, list(COMMODITIES), regions)
    price, producer, rent = (rec.series(name).reshape(-1) for name in ("price", "producer_price", "quota_rent"))
    return pd.DataFrame(
        {
            "month": cols["month"],
            "date": cols["date"],
            "commodity": _cat(cols["_1"], list(COMMODITIES)),
            "region": _cat(cols["_2"], regions),
            "price_usd_per_kg": price,
            "producer_price_usd_per_kg": producer,
            "quota_rent_usd_per_kg": rent,
        }
    )


def _shares(model: RareEarthModel, months: np.ndarray, dates: np.ndarray) -> pd.DataFrame:
    rec, regions = model.recorder, model.regions
    cols = _grid(months, dates, list(SHARE_STAGES), regions)
    out = rec.series("output")
    total = out.sum(axis=2, keepdims=True)
    share = np.divide(out, total, out=np.zeros_like(out), where=total > 0)
    return pd.DataFrame(
        {
            "month": cols["month"],
            "date": cols["date"],
            "stage": _cat(cols["_1"], list(SHARE_STAGES)),
            "country": _cat(cols["_2"], regions),
            "output_t": out.reshape(-1),
            "share": share.reshape(-1),
        }
    )


def _flows(model: RareEarthModel, months: np.ndarray, dates: np.ndarray) -> pd.DataFrame:
    rec, regions = model.recorder, model.regions
    cols = _grid(months, dates, list(COMMODITIES), regions, regions)
    tonnes = rec.series("flows").reshape(-1)
    keep = (tonnes > 1e-9) & (cols["_2"] != cols["_3"])
    return pd.DataFrame(
        {
            "month": cols["month"][keep],
            "date": cols["date"][keep],
            "commodity": _cat(cols["_1"][keep], list(COMMODITIES)),
            "exporter": _cat(cols["_2"][keep], regions),
            "importer": _cat(cols["_3"][keep], regions),
            "tonnes": tonnes[keep],
        }
    ).reset_index(drop=True)


def _countries(model: RareEarthModel, months: np.ndarray, dates: np.ndarray) -> pd.DataFrame:
    rec, regions = model.recorder, model.regions
    cols = _grid(months, dates, regions)
    data: dict[str, Any] = {"month": cols["month"], "date": cols["date"], "country": _cat(cols["_1"], regions)}
    stacked = {name: rec.series(name) for name in (*PAYOFF_PARTS, *ACCOUNT_SHAPES)}
    for name in PAYOFF_PARTS:
        data[name] = stacked[name].reshape(-1)
    weights = np.array(
        [
            [getattr(model.spec.countries[r].payoff_weights, p.removesuffix("_usd")) for p in PAYOFF_PARTS]
            for r in regions
        ]
    )
    sign = np.array([1.0, 1.0, -1.0, 1.0])
    parts = np.stack([stacked[p] for p in PAYOFF_PARTS], axis=-1)
    data["payoff_usd"] = (parts * weights[None] * sign).sum(axis=-1).reshape(-1)
    for s, sector in enumerate(SECTORS):
        data[f"shortage_{sector}_t"] = stacked["shortage_t"][:, :, s].reshape(-1)
        data[f"shortage_{sector}_units"] = stacked["shortage_units"][:, :, s].reshape(-1)
    for c, name in enumerate(COMMODITIES):
        data[f"stockpile_{name}_t"] = stacked["stockpile_t"][:, :, c].reshape(-1)
    data["stockpile_value_usd"] = stacked["stockpile_value_usd"].reshape(-1)
    for b, name in enumerate(BOOK_COLUMNS):
        data[name] = stacked["books"][:, b].reshape(-1)
    return pd.DataFrame(data)


def _events(model: RareEarthModel) -> pd.DataFrame:
    columns = ["month", "date", "country", "instrument", "old_value", "new_value", "source"]
    df = pd.DataFrame(model.recorder.events, columns=columns)
    df["date"] = pd.to_datetime(df["date"], format="%Y-%m")
    return df


def _firms(model: RareEarthModel) -> pd.DataFrame:
    rows = model.recorder.firm_rows
    if not rows:
        return pd.DataFrame(
            columns=[
                "month",
                "firm_id",
                "name",
                "country",
                "stage",
                "capacity_t_per_year",
                "output_t",
                "active",
                "cash_usd",
            ]
        )
    f = model.firms
    data = {k: np.concatenate([r[k] for r in rows]) for k in rows[0]}
    row = data.pop("row")
    return pd.DataFrame(
        {
            "month": data["month"],
            "firm_id": np.array(f.ids, dtype=object)[row],
            "name": np.array(f.names, dtype=object)[row],
            "country": np.array(model.regions, dtype=object)[f.country[row]],
            "stage": np.array(STAGE_NAMES, dtype=object)[f.stage[row]],
            "capacity_t_per_year": data["capacity_t_per_year"],
            "output_t": data["output_t"],
            "active": data["active"],
            "cash_usd": data["cash_usd"],
        }
    )


@functools.cache
def code_version() -> str:
    """Package version plus the git commit, when available."""
    version = metadata.version("reegame") if _installed() else "0+unknown"
    head = Path(__file__).resolve().parents[1] / ".git" / "HEAD"
    try:
        ref = head.read_text().strip()
        if ref.startswith("ref:"):
            ref = (head.parent / ref.split(" ", 1)[1]).read_text().strip()
        return f"{version}+g{ref[:10]}"
    except OSError:
        return version


def _installed() -> bool:
    try:
        metadata.version("reegame")
        return True
    except metadata.PackageNotFoundError:
        return False


@functools.cache
def package_versions() -> dict[str, str | None]:
    """Versions of the packages a run's numbers depend on (looked up once per process)."""
    versions: dict[str, str | None] = {}
    for name in ("mesa", "numpy", "pandas", "numba", "pydantic", "pyarrow", "scipy"):
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = None
    return versions


def manifest(model: RareEarthModel) -> dict[str, Any]:
    """What produced a run: scenario, overrides, seed, code and package versions."""
    return {
        "scenario": model.spec.meta.name,
        "scenario_title": model.spec.meta.title,
        "start_date": model.start_date,
        "months": len(model.recorder.months),
        "seed": model.seed,
        "overrides": getattr(model, "overrides", []),
        "code_version": code_version(),
        "python": platform.python_version(),
        "packages": dict(package_versions()),
        "sources": model.spec.meta.sources,
    }
