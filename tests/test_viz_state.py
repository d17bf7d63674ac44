"""The app's logic without a browser: session stepping, changes, schema-derived controls, charts."""

from __future__ import annotations

import io

import pandas as pd
import pytest
from matplotlib.figure import Figure
from worlds import small_world

from agents.strategies import REGISTRY
from model.outputs import tables
from model.run import build_model
from model.scenario import validate
from model.schema import Country, Policy
from viz import charts, controls, launch
from viz.state import USER, Session, largest_price_gap, table_csv, table_parquet

SEED = 3


@pytest.fixture
def world():
    return validate(small_world(months=12))


@pytest.fixture
def session(world):
    return Session(world, seed=SEED)


def user_events(session: Session) -> pd.DataFrame:
    events = session.live_tables().events
    return events[events["source"] == USER]


# ---- stepping and the reference run ------------------------------------------------------------
def test_step_advances_live_and_reference_together(session):
    assert session.step(3)
    assert session.month == 3 and session.reference.month >= 3  # the reference plays ahead
    assert session.live_tables().prices["month"].max() == 2
    assert session.reference_tables().prices["month"].max() == 2  # ... but is shown to here
    pd.testing.assert_frame_equal(session.live_tables().shares, session.reference_tables().shares)


def test_reference_run_is_untouched_by_changes_and_equals_a_fresh_run(session, world):
    session.intervene("AAA", "export_quota_t_per_year.ndpr_oxide", 100.0)
    session.set_strategy("AAA", "export_controls", "licence_regime", approval_rate=0.1)
    session.step(4)
    assert session.reference.countries["AAA"].policy == world.countries["AAA"].policy
    assert session.reference.countries["AAA"].strategies["export_controls"].name == "passive"
    fresh = build_model(world, SEED, record_firms=False)
    fresh.run_months(4)
    pd.testing.assert_frame_equal(session.reference_tables().prices, tables(fresh).prices)
    gap = largest_price_gap(session.live_tables().prices, session.reference_tables().prices)
    assert gap is not None and gap[0] > 0.0  # the quota moved the live prices


def test_identical_runs_have_no_price_gap(session):
    assert largest_price_gap(session.live_tables().prices, session.reference_tables().prices) is None
    session.step(2)
    gap = largest_price_gap(session.live_tables().prices, session.reference_tables().prices)
    assert gap is not None and gap[0] == 0.0


# ---- the user's changes apply from the next month and are logged -------------------------------
def test_intervention_applies_from_next_month_and_is_logged(session):
    session.step(2)
    assert session.intervene("AAA", "licence_approval_rate", 0.25)
    assert session.live.countries["AAA"].policy.licence_approval_rate == 1.0  # not yet
    assert session.instrument("AAA", "licence_approval_rate") == 0.25  # shown as pending
    session.step()
    assert session.live.countries["AAA"].policy.licence_approval_rate == 0.25
    logged = user_events(session)
    assert list(logged["month"]) == [2]
    assert list(logged["instrument"]) == ["licence_approval_rate"]
    assert session.pending() == []


def test_repeated_changes_in_one_month_log_one_event(session):
    for value in (0.9, 0.7, 0.5):  # a dragged slider
        session.intervene("AAA", "licence_approval_rate", value)
    session.step()
    logged = user_events(session)
    assert len(logged) == 1 and logged["new_value"].iloc[0] == "0.5"


def test_strategy_change_applies_from_next_month_and_is_logged(session):
    session.step(1)
    assert session.set_strategy("BBB", "stockpiling", "days_of_use_target", target_days=30.0)
    assert session.live.countries["BBB"].strategies["stockpiling"].name == "passive"
    assert session.strategy_names("BBB")["stockpiling"] == "days_of_use_target"
    session.step()
    strategy = session.live.countries["BBB"].strategies["stockpiling"]
    assert strategy.name == "days_of_use_target" and strategy.params.target_days == 30.0
    logged = user_events(session)
    assert logged[["month", "country", "instrument", "old_value"]].values.tolist() == [
        [1, "BBB", "strategy.stockpiling", "passive"]
    ]
    assert logged["new_value"].iloc[0].startswith("days_of_use_target {'target_days': 30.0")


def test_strategy_parameters_are_bounded_by_the_strategy_schema(session):
    specs = {s.path: s for s in controls.strategy_parameters("export_controls", "licence_regime")}
    assert (specs["approval_rate"].minimum, specs["approval_rate"].maximum) == (0.0, 1.0)
    assert specs["review_delay_months"].kind == "integer"
    assert controls.strategy_parameters("export_controls", "passive") == []
    session.set_strategy("AAA", "export_controls", "licence_regime", approval_rate=0.2)
    assert session.strategy_params("AAA", "export_controls")["approval_rate"] == 0.2
    assert not session.set_strategy("AAA", "export_controls", "licence_regime", approval_rate=2.0)
    assert "approval_rate" in session.error


def test_stockpile_days_change_is_checked_queued_and_logged(session):
    assert not session.set_stockpile_days("CCC", 10_000.0)
    assert "stockpile_days" in session.error and "730" in session.error
    assert session.set_stockpile_days("CCC", 90.0)
    assert session.error is None and session.live.countries["CCC"].stockpile_days == 0.0
    session.step()
    assert session.live.countries["CCC"].stockpile_days == 90.0
    assert list(user_events(session)["instrument"]) == ["stockpile_days"]


def test_bad_changes_are_refused_with_a_readable_message(session):
    assert not session.intervene("AAA", "licence_approval_rate", 1.5)
    assert "licence_approval_rate" in session.error and "1.5" in session.error
    assert "errors.pydantic.dev" not in session.error
    assert not session.set_strategy("AAA", "export_controls", "no_such_strategy")
    assert "no_such_strategy" in session.error
    assert not session.intervene("ZZZ", "licence_approval_rate", 0.5)
    assert session.step() and session.error is None  # still usable
    assert user_events(session).empty


def test_a_failed_step_shows_a_message_and_reset_recovers(session, monkeypatch):
    def broken() -> None:
        raise FloatingPointError("prices diverged")

    monkeypatch.setattr(session.live, "step", broken)
    assert not session.step()
    assert "prices diverged" in session.error and "Reset" in session.error
    assert session.reset()
    assert session.error is None and session.step() and session.month == 1


def test_reset_to_another_seed_and_a_bad_seed(session):
    session.step(2)
    assert session.reset(seed=SEED + 1) and session.month == 0 and session.seed == SEED + 1
    assert not session.reset(seed=-5)  # numpy refuses negative seeds
    assert session.error and session.seed == SEED + 1  # the previous runs are kept


# ---- downloads ---------------------------------------------------------------------------------
def test_downloads_hold_the_live_run_tables(session):
    session.step(3)
    run = tables(session.live)
    assert table_csv(session.live_tables(), "prices") == run.prices.to_csv(index=False).encode()
    back = pd.read_parquet(io.BytesIO(table_parquet(session.live_tables(), "shares")))
    pd.testing.assert_frame_equal(back, run.shares)
    with pytest.raises(ValueError, match="unknown table"):
        table_csv(run, "nope")
    assert session.file_stem() == "reegame_small_seed3_month3"


# ---- controls derive from the schema -----------------------------------------------------------
def _ge_le(model, name):
    metadata = model.model_fields[name].metadata
    ge = next(m.ge for m in metadata if hasattr(m, "ge"))
    le = next(m.le for m in metadata if hasattr(m, "le"))
    return ge, le


@pytest.mark.parametrize("name", ["licence_approval_rate", "licence_review_delay_months", "patent_royalty_share"])
def test_instrument_bounds_equal_the_schema(name):
    spec = controls.policy_field(name)
    assert (spec.minimum, spec.maximum) == _ge_le(Policy, name)


def test_dict_instrument_and_country_field_bounds_equal_the_schema():
    subsidy = controls.policy_field("production_subsidy_usd_per_kg.ndpr_oxide")
    assert (subsidy.minimum, subsidy.maximum) == (0.0, 1000.0)  # Policy's Annotated value type
    quota = controls.policy_field("export_quota_t_per_year.dytb_oxide")
    assert quota.minimum == 0.0 and quota.maximum is None  # NonNegative: no upper bound
    days = controls.country_field("stockpile_days")
    assert (days.minimum, days.maximum) == _ge_le(Country, "stockpile_days")
    assert days.description == Country.model_fields["stockpile_days"].description
    licensed = controls.policy_field("licence_commodities")
    assert set(licensed.choices) == {
        "concentrate",
        "heavy_concentrate",
        "ndpr_oxide",
        "dytb_oxide",
        "ndfeb_magnet",
    }
    with pytest.raises(KeyError):
        controls.policy_field("no_such_instrument")


def test_labels_carry_units_from_field_names():
    assert controls.label("licence_review_delay_months") == "Licence review delay (months)"
    assert controls.label("export_quota_t_per_year.ndpr_oxide") == "Export quota ndpr oxide (t/yr)"
    assert controls.label("production_subsidy_usd_per_kg.dytb_oxide").endswith("(USD/kg)")


def test_clamp_and_quota_ceiling():
    spec = controls.policy_field("licence_approval_rate")
    assert spec.clamp(1.7) == 1.0 and spec.clamp(-1) == 0.0
    assert controls.quota_ceiling_t_per_year({"ndpr_oxide": 500.0}, "ndpr_oxide", 800.0) == 800.0
    assert controls.quota_ceiling_t_per_year({}, "ndpr_oxide", None) == 1.0


def test_strategy_choices_come_from_the_registry():
    choices = controls.strategy_choices()
    assert {f: set(n) for f, n in choices.items()} == {f: set(n) for f, n in REGISTRY.items()}
    assert all(names[0] == "passive" for names in choices.values())
    assert controls.strategy_doc("export_controls", "fixed_quota").startswith("A fixed annual")


# ---- charts --------------------------------------------------------------------------------
def _labelled(fig: Figure) -> None:
    assert isinstance(fig, Figure)
    for ax in fig.axes:
        if ax.get_label() == "<colorbar>":
            assert ax.get_ylabel()
            continue
        assert ax.get_ylabel(), "every panel names its quantity and unit"
        assert ax.get_title(loc="left"), "every panel has a title"
    assert any(ax.get_xlabel() for ax in fig.axes)


def test_chart_functions_return_labelled_figures(session):
    session.intervene("AAA", "licence_approval_rate", 0.5)
    session.step(4)
    live, ref = session.live_tables(), session.reference_tables()
    figures = [
        charts.prices_figure(live.prices, ref.prices, live.events, "ndpr_oxide", china="AAA"),
        charts.shares_figure(live.shares, ref.shares, live.events),
        charts.shortages_figure(live.countries, ref.countries, live.events),
        charts.stockpiles_figure(live.countries, ref.countries, live.events),
        charts.flows_figure(live.flows, session.regions, "ndfeb_magnet", 3),
    ]
    for fig in figures:
        _labelled(fig)
    assert "USD/kg" in figures[0].axes[0].get_ylabel()
    assert figures[4].axes[0].get_xlabel() == "importer"
    assert charts.figure_png(figures[0]).startswith(b"\x89PNG")


def test_charts_draw_before_the_first_month(session):
    live = session.live_tables()
    for fig in (
        charts.prices_figure(live.prices),
        charts.shares_figure(live.shares),
        charts.shortages_figure(live.countries),
        charts.stockpiles_figure(live.countries),
        charts.flows_figure(live.flows, session.regions, "ndpr_oxide", -1),
    ):
        _labelled(fig)
        charts.figure_png(fig, dpi=40)


def test_flow_matrix_holds_the_months_tonnes(session):
    session.step(2)
    flows = session.live_tables().flows
    month = flows[(flows["month"] == 1) & (flows["commodity"] == "ndfeb_magnet")]
    fig = charts.flows_figure(flows, session.regions, "ndfeb_magnet", 1)
    matrix = fig.axes[0].images[0].get_array()
    assert matrix.sum() == pytest.approx(month["tonnes"].sum())


# ---- the server command ----------------------------------------------------------------------
def test_launch_binds_to_localhost_offline_without_telemetry():
    cmd = launch.command()
    assert cmd[cmd.index("--host") + 1] == "127.0.0.1" and "--production" in cmd
    assert "viz.app:Page" in cmd and "--no-check-version" in cmd
    env = launch.environment()
    assert env["SOLARA_TELEMETRY_MIXPANEL_ENABLE"] == "False"
    assert env["SOLARA_ASSETS_PROXY"] == "True"
    assert env["SOLARA_ASSETS_CDN"].startswith("offline://")


def test_play_catches_up_by_skipping_frames_not_months():
    from viz.app import MAX_CATCH_UP_MONTHS, months_this_frame

    assert months_this_frame(0.0, 5, 60) == 1  # on time: a redraw per month
    assert months_this_frame(0.45, 5, 60) == 3  # 0.45 s behind at 5 months/s: two more
    assert months_this_frame(10.0, 24, 60) == MAX_CATCH_UP_MONTHS
    assert months_this_frame(10.0, 24, 2) == 2  # never past the horizon
    assert months_this_frame(0.0, 5, 0) == 1  # Step-like past the horizon


def test_switching_to_a_shipped_scenario_rebuilds_both_runs(session):
    session.step(2)
    assert session.reset(scenario="quota-2010")
    assert session.scenario == "quota-2010" and session.month == 0
    assert session.live is not session.reference
    assert session.live.spec.meta.name == session.reference.spec.meta.name == "quota-2010"
    assert not session.reset(scenario="no-such-scenario")
    assert "no-such-scenario" in session.error and session.scenario == "quota-2010"
