"""Sweep specs and designs: sizes, bounds, value mapping, seeds, validation messages."""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np
import pytest
import tomli_w
from hypothesis import given, settings
from hypothesis import strategies as st
from worlds import small_world

from experiments.designs import design_matrix, design_table, expected_points
from experiments.spec import Parameter, SpecError, load_spec, spec_from_dict
from experiments.store import plan_runs, run_id, run_seed
from model.scenario import available_scenarios

SPECS = Path(__file__).resolve().parents[1] / "experiments" / "specs"


@pytest.fixture(scope="module")
def scenario_file(tmp_path_factory) -> str:
    path = tmp_path_factory.mktemp("world") / "small.toml"
    path.write_bytes(tomli_w.dumps(small_world(months=6)).encode())
    return str(path)


def make_spec(
    scenario: str, method: str = "full_factorial", samples: int = 4, levels: int = 3, **kw
):
    params = kw.pop(
        "parameters",
        [
            {"path": "countries.AAA.stockpile_days", "low": 10.0, "high": 90.0},
            {"path": "countries.AAA.policy.licence_review_delay_months", "low": 0, "high": 6},
            {"path": "market.demand_noise_share", "values": [0.0, 0.05]},
        ],
    )
    return spec_from_dict(
        {
            "scenario": scenario,
            "months": 6,
            "parameters": params,
            "design": {"method": method, "samples": samples, "levels": levels},
            **kw,
        }
    )


def test_full_factorial_is_the_product_of_levels(scenario_file):
    spec = make_spec(scenario_file, levels=3)
    table = design_table(spec)
    assert len(table) == expected_points(spec) == 3 * 3 * 2
    assert sorted(table["countries.AAA.stockpile_days"].unique()) == [10.0, 50.0, 90.0]
    assert sorted(table["countries.AAA.policy.licence_review_delay_months"].unique()) == [0, 3, 6]
    assert sorted(table["market.demand_noise_share"].unique()) == [0.0, 0.05]
    combos = table.iloc[:, [2, 4, 6]].apply(tuple, axis=1)
    assert combos.is_unique


@pytest.mark.parametrize(
    "method,samples,rows",
    [
        ("latin_hypercube", 7, 7),
        ("sobol", 8, 8 * (3 + 2)),
        ("morris", 5, 5 * (3 + 1)),
    ],
)
def test_sampled_designs_have_the_right_size_and_stay_in_bounds(
    scenario_file, method, samples, rows
):
    spec = make_spec(scenario_file, method=method, samples=samples, levels=4)
    table = design_table(spec)
    assert len(table) == expected_points(spec) == rows
    assert table["countries.AAA.stockpile_days"].between(10.0, 90.0).all()
    delays = table["countries.AAA.policy.licence_review_delay_months"]
    assert delays.between(0, 6).all() and (delays == delays.round()).all()
    assert set(table["market.demand_noise_share"]) <= {0.0, 0.05}


def test_latin_hypercube_puts_one_point_in_each_stratum(scenario_file):
    spec = make_spec(scenario_file, method="latin_hypercube", samples=10)
    x = design_matrix(spec)[:, 0]
    strata = np.floor((x - 10.0) / 80.0 * 10).astype(int)
    assert sorted(strata) == list(range(10))


def test_designs_are_reproducible_from_the_seed(scenario_file):
    a = design_table(make_spec(scenario_file, method="latin_hypercube", seed=5))
    b = design_table(make_spec(scenario_file, method="latin_hypercube", seed=5))
    c = design_table(make_spec(scenario_file, method="latin_hypercube", seed=6))
    assert a.equals(b) and not a.equals(c)


def test_run_seeds_are_distinct_and_reproducible():
    seeds = [run_seed(42, i, r) for i, r in itertools.product(range(60), range(20))]
    assert len(set(seeds)) == len(seeds)
    assert seeds == [run_seed(42, i, r) for i, r in itertools.product(range(60), range(20))]
    assert run_seed(43, 0, 0) != run_seed(42, 0, 0)


def test_common_random_numbers_share_seeds_across_design_points(scenario_file):
    spec = make_spec(scenario_file, replications=3, common_random_numbers=True)
    plan = plan_runs(spec, design_table(spec), version="test")
    assert plan.groupby("replication")["seed"].nunique().eq(1).all()
    assert plan["seed"].nunique() == 3 and plan["run_id"].is_unique


def test_run_id_depends_on_document_seed_months_and_code():
    doc = {"a": 1}
    base = run_id(doc, 1, 12, "v1")
    assert base == run_id({"a": 1}, 1, 12, "v1")
    assert (
        len(
            {
                base,
                run_id({"a": 2}, 1, 12, "v1"),
                run_id(doc, 2, 12, "v1"),
                run_id(doc, 1, 13, "v1"),
                run_id(doc, 1, 12, "v2"),
            }
        )
        == 5
    )


def test_range_outside_the_schema_is_refused_naming_the_field(scenario_file):
    with pytest.raises(
        SpecError, match=r"parameters.0 \(countries.AAA.stockpile_days = 1000.0\).*<= 730"
    ):
        make_spec(
            scenario_file,
            parameters=[{"path": "countries.AAA.stockpile_days", "low": 0.0, "high": 1000.0}],
        )


def test_unknown_parameter_path_is_refused(scenario_file):
    with pytest.raises(SpecError, match="stockpile_dayz"):
        make_spec(
            scenario_file,
            parameters=[{"path": "countries.AAA.stockpile_dayz", "low": 0.0, "high": 1.0}],
        )


@pytest.mark.parametrize(
    "change,field",
    [
        ({"design": {"method": "halton"}}, "design.method"),
        ({"replications": 0}, "replications"),
        ({"outputs": ["everything"]}, "outputs.0"),
        ({"colour": "red"}, "colour"),
    ],
)
def test_invalid_spec_fields_are_named(scenario_file, change, field):
    raw = {"scenario": scenario_file, "months": 6, **change}
    with pytest.raises(SpecError, match=field.replace(".", r"\.")):
        spec_from_dict(raw)


def test_parameter_needs_a_range_or_values():
    with pytest.raises(ValueError, match="either low and high, or values"):
        Parameter(path="a.b", low=0.0, high=1.0, values=[1])
    with pytest.raises(ValueError, match="low < high"):
        Parameter(path="a.b", low=1.0, high=1.0)
    assert Parameter.model_validate({"path": "a", "low": 1, "high": 5}).integer is True


@pytest.mark.parametrize("name", sorted(p.stem for p in SPECS.glob("*.toml")))
def test_shipped_specs_load(name):
    spec = load_spec(SPECS / f"{name}.toml")
    assert spec.scenario in available_scenarios(), "example specs use shipped scenarios"
    assert len(design_table(spec)) == expected_points(spec)


@settings(max_examples=25, deadline=None)
@given(
    low=st.floats(0.0, 300.0),
    width=st.floats(1.0, 400.0),
    n=st.integers(1, 30),
    seed=st.integers(0, 2**32),
)
def test_latin_hypercube_stays_in_any_range(scenario_file, low, width, n, seed):
    spec = spec_from_dict(
        {
            "scenario": scenario_file,
            "months": 6,
            "seed": seed,
            "design": {"method": "latin_hypercube", "samples": n},
            "parameters": [
                {"path": "countries.AAA.stockpile_days", "low": low, "high": low + width}
            ],
        }
    )
    values = design_table(spec)["countries.AAA.stockpile_days"]
    assert len(values) == n and values.between(low, low + width).all()


def test_override_into_a_defaulted_table_keeps_its_other_entries(scenario_file):
    spec = make_spec(
        scenario_file,
        parameters=[{"path": "market.lead_time_months.mining", "low": 24, "high": 60}],
    )
    base = spec.base_document()
    assert base["market"]["lead_time_months"] == {
        "mining": 120,
        "separation": 36,
        "magnets": 24,
        "end_use": 12,
    }
    plan = plan_runs(spec, design_table(spec), version="test")
    assert len(plan) == 3 and plan["run_id"].is_unique
