"""Strategies decide only; tested against scripted opponents and hand-made public states."""

from __future__ import annotations

import numpy as np
import pytest

from agents.strategies import REGISTRY, PublicState, make_strategy
from model.schema import COMMODITIES, LEVER_FAMILIES, SECTORS, Policy

REGIONS = ("CHN", "USA", "JPN")


def state(month=0, policies=None, prices=None, shortage=None, stock=None, use=None) -> PublicState:
    k, n = len(COMMODITIES), len(REGIONS)
    reference = np.array([4.0, 13.0, 51.0, 370.0, 50.0])
    return PublicState(
        month=month, date="2025-01", regions=REGIONS,
        price_usd_per_kg=prices if prices is not None else np.repeat(reference[:, None], n, axis=1),
        reference_price_usd_per_kg=reference,
        flows_t=np.zeros((k, n, n)),
        use_t=use if use is not None else np.full((n, k), 100.0),
        shortage_t=shortage if shortage is not None else np.zeros((n, len(SECTORS))),
        stockpile_t=stock if stock is not None else np.zeros((n, k)),
        policies=policies or {r: Policy() for r in REGIONS},
        stockpile_days={"CHN": 0.0, "USA": 0.0, "JPN": 60.0},
    )


def test_every_family_has_passive_and_an_active_strategy_with_declared_traits():
    for family in LEVER_FAMILIES:
        names = set(REGISTRY[family])
        assert "passive" in names and len(names) >= 2, family
        for cls in REGISTRY[family].values():
            assert cls.__doc__ and cls.name and cls.family == family
            assert {"stochastic", "memory_depth", "reactive"} <= set(cls.classifier)


def test_unknown_strategy_and_bad_parameter_are_named():
    with pytest.raises(ValueError, match="allowed: .*embargo"):
        make_strategy("export_controls", "blockade")
    with pytest.raises(ValueError, match="approval_rate"):
        make_strategy("export_controls", "licence_regime", approval_rate=1.5)


def test_tit_for_tat_copies_the_opponents_last_move():
    tft = make_strategy("export_controls", "tit_for_tat", commodities=["ndpr_oxide"])
    assert tft.decide("USA", state()) == {"export_ban": {"ndpr_oxide": []}}, "opens with cooperation"
    hostile = {r: Policy() for r in REGIONS}
    hostile["CHN"] = Policy(export_ban={"dytb_oxide": ["USA"]})
    assert tft.decide("USA", state(policies=hostile)) == {"export_ban": {"ndpr_oxide": ["CHN"]}}
    assert tft.decide("USA", state()) == {"export_ban": {"ndpr_oxide": []}}, "forgives when the opponent does"


def test_embargo_window():
    s = make_strategy("export_controls", "embargo", target="JPN", start_month=20, duration_months=2,
                      commodities=["dytb_oxide"])
    on = [s.decide("CHN", state(month=m))["export_ban"]["dytb_oxide"] for m in (19, 20, 21, 22)]
    assert on == [[], ["JPN"], ["JPN"], []]


def test_domestic_content_follows_the_ira_schedule():
    s = make_strategy("subsidies", "domestic_content")
    shares = [s.decide("USA", state(month=m))["domestic_content_share"] for m in (0, 11, 12, 36, 120)]
    assert shares == pytest.approx([0.4, 0.4, 0.5, 0.7, 1.0])


def test_stockpile_builds_toward_target_and_releases_in_a_shortage():
    s = make_strategy("stockpiling", "days_of_use_target", commodities=["dytb_oxide"], fill_months=10)
    use = np.zeros((3, len(COMMODITIES)))
    use[2, COMMODITIES.index("dytb_oxide")] = 73.0  # t per month -> 876 t/yr -> 144 t for 60 days
    calm = s.decide("JPN", state(use=use))
    target = 73.0 * 12 / 365 * 60
    assert calm["stockpile_buy_t_per_month"]["dytb_oxide"] == round(target / 10)  # whole tonnes
    assert calm["stockpile_release_t_per_month"]["dytb_oxide"] == 0.0
    shortage = np.zeros((3, len(SECTORS)))
    shortage[2, 0] = 5.0
    stock = np.zeros((3, len(COMMODITIES)))
    stock[2, COMMODITIES.index("dytb_oxide")] = 100.0
    crisis = s.decide("JPN", state(use=use, shortage=shortage, stock=stock))
    assert crisis["stockpile_buy_t_per_month"]["dytb_oxide"] == 0.0
    assert crisis["stockpile_release_t_per_month"]["dytb_oxide"] == pytest.approx(10.0)


def test_compulsory_licence_granted_only_after_sustained_refusal():
    s = make_strategy("licensing", "compulsory", delay_months=2, royalty_share=0.02)
    refusing = {r: Policy() for r in REGIONS}
    refusing["JPN"] = Policy(patent_royalty_share=0.1, patent_refused=["CHN"])
    grants = [s.decide("CHN", state(policies=refusing))["compulsory_licence_royalty_share"] for _ in range(4)]
    assert grants == [0.0, 0.0, 0.02, 0.02]
    assert s.decide("CHN", state())["compulsory_licence_royalty_share"] == 0.0, "refusal lifted, no licence"


def test_restrictive_licensing_refuses_and_prices_up():
    s = make_strategy("licensing", "restrictive", royalty_share=0.3, refuse=["CHN"])
    assert s.decide("JPN", state()) == {"patent_royalty_share": 0.3, "patent_refused": ["CHN"]}
