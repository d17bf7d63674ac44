"""Analysis: SALib indices against known answers, failures made explicit, summaries, figures."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest
from SALib.sample import morris as morris_sample
from SALib.sample import sobol as sobol_sample
from test_sweep import write_spec

from experiments import runner
from experiments.analysis import analyze, experiments_table, load_results, summarize
from experiments.metrics import metrics
from experiments.sensitivity import complete_blocks, morris_indices, sobol_indices
from experiments.spec import load_spec
from experiments.sweep import run_sweep

ISHIGAMI = {"num_vars": 3, "names": ["x1", "x2", "x3"], "bounds": [[-np.pi, np.pi]] * 3}
ISHIGAMI_S1 = [0.314, 0.442, 0.0]  # analytic first-order indices for a = 7, b = 0.1
ISHIGAMI_ST = [0.558, 0.442, 0.244]


def ishigami(x: np.ndarray) -> np.ndarray:
    return np.sin(x[:, 0]) + 7.0 * np.sin(x[:, 1]) ** 2 + 0.1 * x[:, 2] ** 4 * np.sin(x[:, 0])


def test_sobol_indices_of_ishigami_match_the_analytic_values():
    x = sobol_sample.sample(ISHIGAMI, 2048, calc_second_order=False, seed=1)
    res = sobol_indices(ISHIGAMI, ishigami(x), seed=1)
    assert res["S1"] == pytest.approx(ISHIGAMI_S1, abs=0.04)
    assert res["ST"] == pytest.approx(ISHIGAMI_ST, abs=0.04)
    assert res["dropped_blocks"] == [] and res["blocks_used"] == 2048


def test_failed_points_drop_their_whole_saltelli_block_and_say_so():
    x = sobol_sample.sample(ISHIGAMI, 2048, calc_second_order=False, seed=1)
    y = ishigami(x)
    y[[3 * 5 + 1, 700 * 5 + 4]] = np.nan  # one point in block 3, one in block 700
    res = sobol_indices(ISHIGAMI, y, seed=1)
    assert res["dropped_blocks"] == [3, 700] and res["blocks_used"] == 2046
    assert res["S1"] == pytest.approx(ISHIGAMI_S1, abs=0.05)


def test_constant_outcome_is_flagged_not_given_zero_indices():
    x = sobol_sample.sample(ISHIGAMI, 64, calc_second_order=False, seed=1)
    res = sobol_indices(ISHIGAMI, np.full(len(x), 3.0))
    assert res["constant"] and np.isnan(res["S1"]).all()


def test_complete_blocks_masks_rows_of_incomplete_blocks():
    keep, dropped = complete_blocks(np.array([1.0, 2.0, np.nan, 4.0, 5.0, 6.0]), 3)
    assert keep.tolist() == [False] * 3 + [True] * 3 and dropped == [0]


def test_morris_on_a_linear_function_recovers_its_slopes():
    problem = {
        "num_vars": 3,
        "names": ["a", "b", "c"],
        "bounds": [[0.0, 1.0], [0.0, 2.0], [-1.0, 1.0]],
    }
    x = morris_sample.sample(problem, 20, num_levels=4, seed=3)
    y = 3.0 * x[:, 0] - 2.0 * x[:, 1] + 0.0 * x[:, 2]
    res = morris_indices(problem, x, y, num_levels=4, seed=3)
    # SALib's elementary effects are per unit of the *normalised* range: slope x (high - low).
    assert res["mu"] == pytest.approx([3.0, -4.0, 0.0], abs=1e-9)
    assert res["mu_star"] == pytest.approx([3.0, 4.0, 0.0], abs=1e-9)
    assert res["sigma"] == pytest.approx([0.0, 0.0, 0.0], abs=1e-9)
    y[5] = np.nan  # trajectory 1 (rows 4..7) loses a point
    assert morris_indices(problem, x, y, num_levels=4)["dropped_blocks"] == [1]


def test_summary_confidence_interval_over_replications(tmp_path):
    spec = load_spec(write_spec(tmp_path, samples=1))
    table = pd.DataFrame(
        {
            "run_id": list("abcd"),
            "design_index": [0, 0, 0, 1],
            "replication": [0, 1, 2, 0],
            "seed": [1, 2, 3, 4],
            "countries.AAA.stockpile_days": [5.0, 5.0, 5.0, 9.0],
            "market.demand_noise_share": [0.1] * 4,
            "status": ["ok", "ok", "ok", "failed"],
            "wall_time_s": [1.0] * 4,
            "m": [1.0, 2.0, 3.0, np.nan],
        }
    )
    row = summarize(table, spec).set_index(["design_index", "metric"]).loc[(0, "m")]
    # mean 2, s.d. 1, n 3: half-width t(0.975, 2) / sqrt(3) = 4.302653 / 1.732051 = 2.484138
    assert (row["mean"], row["std"], row["n"]) == (2.0, 1.0, 3)
    assert row["ci95_high"] - row["mean"] == pytest.approx(2.484138, abs=1e-6)


def hand_tables() -> dict[str, pd.DataFrame]:
    prices = pd.DataFrame(
        {
            "month": [0, 0, 0, 1, 1, 1],
            "commodity": ["ndpr_oxide"] * 6,
            "region": ["CHN", "USA", "JPN"] * 2,
            "price_usd_per_kg": [50.0, 60.0, 70.0, 40.0, 80.0, 100.0],
        }
    )
    shares = pd.DataFrame(
        {
            "month": [0, 1, 1],
            "stage": ["mining"] * 3,
            "country": ["CHN", "CHN", "USA"],
            "share": [0.9, 0.7, 0.3],
        }
    )
    countries = pd.DataFrame(
        {
            "month": [0, 0, 1, 1],
            "country": ["CHN", "USA"] * 2,
            "payoff_usd": [1.0, 2.0, 3.0, 4.0],
            "shortage_ev_t": [0.0, 5.0, 0.0, 7.0],
            "shortage_wind_t": [1.0, 0.0, 0.0, 0.0],
            "shortage_ev_units": [9.0] * 4,
        }
    )
    return {"prices": prices, "shares": shares, "countries": countries}


def test_metrics_of_hand_built_tables():
    m = metrics(hand_tables())
    assert m["ndpr_oxide_price_ex_chn_mean_usd_per_kg"] == pytest.approx((65.0 + 90.0) / 2)
    assert m["ndpr_oxide_price_ex_chn_peak_usd_per_kg"] == 90.0
    assert (
        m["ndpr_oxide_price_chn_mean_usd_per_kg"] == 45.0
        and m["ndpr_oxide_price_chn_peak_usd_per_kg"] == 50.0
    )
    assert np.isnan(m["dytb_oxide_price_chn_mean_usd_per_kg"])
    assert m["magnet_shortage_t"] == 13.0  # units columns are not tonnes
    assert m["chn_mining_share_end"] == 0.7
    assert (m["payoff_CHN_usd"], m["payoff_USA_usd"]) == (4.0, 6.0)


def test_analyze_reports_failures_sensitivity_and_figures(tmp_path, monkeypatch):
    spec = write_spec(
        tmp_path / "spec", method="sobol", samples=4, replications=1, outputs='["metrics"]'
    )
    real = runner.simulate
    calls = []

    def fail_fifth(scenario, seed, months, record_firms):
        calls.append(seed)
        if len(calls) == 5:
            raise RuntimeError("boom")
        return real(scenario, seed=seed, months=months, record_firms=record_firms)

    monkeypatch.setattr(runner, "simulate", fail_fifth)
    out = tmp_path / "out"
    assert run_sweep(spec, out, workers=0, progress=False).failed == 1
    report = analyze(out)
    table = experiments_table(out)
    failed = table.loc[table["status"] == "failed"]
    assert report["failed"] == 1 and report["failed_run_ids"] == failed["run_id"].tolist()
    assert (out / "analysis" / "failures.csv").read_text().count("RuntimeError: boom") == 1
    block = int(failed["design_index"].iloc[0]) // 4  # Saltelli blocks of D + 2 = 4 rows
    dropped = report["sensitivity_dropped"]["ndpr_oxide_price_ex_chn_mean_usd_per_kg"]
    assert dropped == {"blocks": 4, "blocks_used": 3, "dropped_blocks": [block], "constant": False}
    indices = pd.read_csv(out / "analysis" / "sensitivity_sobol.csv")
    price = indices[indices["metric"] == "ndpr_oxide_price_ex_chn_mean_usd_per_kg"]
    assert price["ST"].notna().all() and len(price) == 2
    assert set(indices["parameter"]) == {
        "countries.AAA.stockpile_days",
        "market.demand_noise_share",
    }
    summary = pd.read_parquet(out / "analysis" / "summary.parquet")
    assert set(summary["design_index"]) == set(table["design_index"]) - {
        int(failed["design_index"].iloc[0])
    }
    assert len(report["figures"]) == 2
    for png in report["figures"]:
        sidecar = json.loads(open(png.replace(".png", ".json")).read())
        assert sidecar["code_version"] and failed["run_id"].iloc[0] not in sidecar["run_ids"]
        assert len(sidecar["run_ids"]) == 15


def test_replication_study_gets_price_paths_with_confidence_bands(tmp_path):
    write_spec(tmp_path)  # writes small.toml next to the spec below
    spec = tmp_path / "reps.toml"
    spec.write_text(
        'name = "reps"\nscenario = "small.toml"\nmonths = 4\nreplications = 3\nseed = 5\n'
        'outputs = ["metrics", "series"]\n'
    )
    out = tmp_path / "out"
    run_sweep(spec, out, workers=0, progress=False)
    report = analyze(out)
    assert [p.rsplit("/", 1)[1] for p in report["figures"]] == ["price_paths.png"]
    paths = pd.read_csv(out / "analysis" / "price_paths.csv")
    prices = load_results(out, "prices")
    month2 = prices[(prices["commodity"] == "ndpr_oxide") & (prices["month"] == 2)]
    per_run = month2.groupby("run_id")["price_usd_per_kg"].mean()  # no CHN: all regions ex-China
    row = paths[(paths["commodity"] == "ndpr_oxide") & (paths["month"] == 2)].iloc[0]
    assert (row["where"], row["n"]) == ("ex_chn", 3)
    assert row["mean"] == pytest.approx(per_run.mean())
    half = 4.302653 * per_run.std() / np.sqrt(3)  # t(0.975, 2)
    assert row["ci95_high"] - row["mean"] == pytest.approx(half, rel=1e-5)
