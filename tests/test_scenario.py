"""Scenario files and --set overrides: validated on load, errors name field, value and range."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
import tomli_w
from worlds import small_world

from model.scenario import ScenarioError, available_scenarios, load_scenario, parse_assignment, validate

SHIPPED = ("baseline", "quota-2010", "licensing-2025")


@pytest.mark.parametrize("name", SHIPPED)
def test_shipped_scenarios_load_and_cite_sources(name):
    sc = load_scenario(name)
    assert sc.meta.sources, "every shipped scenario lists its sources"
    assert set(sc.countries) >= {"CHN", "USA", "JPN", "AUS", "KOR", "VNM", "MYS", "MMR", "EUU", "ROW"}
    named = [f for f in sc.firms.values() if f.capacity_t_per_year > 0]
    assert all(f.source for f in named), "named facilities cite a source"


def test_available_scenarios_lists_titles():
    listed = available_scenarios()
    assert set(SHIPPED) <= set(listed)
    assert all(listed[name] for name in SHIPPED)


def test_set_reaches_any_field_by_dotted_path():
    sc = load_scenario("baseline", ["countries.CHN.stockpile_days=30", "market.lead_time_months.mining=96"])
    assert sc.countries["CHN"].stockpile_days == 30
    assert sc.market.lead_time_months["mining"] == 96


def test_out_of_range_set_names_field_value_and_range():
    with pytest.raises(ScenarioError) as err:
        load_scenario("baseline", ["countries.CHN.stockpile_days=9999"])
    text = str(err.value)
    assert "countries.CHN.stockpile_days" in text and "9999" in text and "<= 730" in text


def test_unknown_field_is_rejected_with_its_path():
    with pytest.raises(ScenarioError) as err:
        load_scenario("baseline", ["countries.CHN.stockpile_dayz=30"])
    assert "countries.CHN.stockpile_dayz" in str(err.value) and "unknown field" in str(err.value)


def test_malformed_assignment_and_unknown_scenario():
    with pytest.raises(ScenarioError, match="PATH=VALUE"):
        parse_assignment("countries.CHN.stockpile_days")
    with pytest.raises(ScenarioError, match="shipped scenarios"):
        load_scenario("no-such-world")


def test_bad_file_reports_every_problem(tmp_path: Path):
    doc = small_world()
    doc["market"] = {"expectation_weight": 1.5}
    doc["countries"]["AAA"]["hurdle_rate_per_year"] = -1
    path = tmp_path / "bad.toml"
    path.write_bytes(tomli_w.dumps(doc).encode())
    with pytest.raises(ScenarioError) as err:
        load_scenario(path)
    assert "market.expectation_weight = 1.5: must be <= 1.0" in str(err.value)
    assert "countries.AAA.hurdle_rate_per_year = -1: must be >= 0.0" in str(err.value)


def test_unknown_strategy_lists_allowed_names():
    doc = small_world()
    doc["countries"]["AAA"]["strategies"] = {"export_controls": {"name": "nuke"}}
    from model.run import build_model

    with pytest.raises(ValueError, match="unknown export_controls strategy 'nuke'; allowed: .*fixed_quota"):
        build_model(validate(doc))


def test_cli_bad_set_exits_nonzero_and_writes_nothing(tmp_path: Path):
    out = tmp_path / "run"
    proc = subprocess.run(
        [sys.executable, "-m", "experiments.cli", "run", "baseline", "--months", "2",
         "--set", "countries.JPN.stockpile_days=-5", "--out", str(out)],
        capture_output=True, text=True, timeout=120,
    )
    assert proc.returncode != 0
    assert "countries.JPN.stockpile_days" in proc.stderr and ">= 0.0" in proc.stderr
    assert not out.exists()


def test_historical_scenarios_carry_dates():
    q = load_scenario("quota-2010")
    assert q.meta.start_date == "2009-01"
    assert any(ev.date == "2010-09" for ev in q.events), "the Sept 2010 embargo on Japan"
    lic = load_scenario("licensing-2025")
    assert lic.meta.start_date == "2025-01"
    assert any(ev.date == "2025-04" and "licence" in ev.instrument for ev in lic.events)
