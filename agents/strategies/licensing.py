"""Patent-licensing strategies: royalties, refusals, compulsory licences.

Sources: Proterial (Hitachi Metals) NdFeB patents; refusal to license Ningbo
Ketian; China's first compulsory-licence proceedings (2021); royalties up to
30% of overseas magnet sales; ITC Section 337 case 2012 (ree-facts.md,
"Patents and licensing").
"""

from __future__ import annotations

from pydantic import Field

from agents.strategies.base import Changes, Params, PublicState, Strategy, register


@register
class OpenLicensing(Strategy):
    """License every applicant at a fixed royalty."""

    name = "open"
    family = "licensing"
    classifier = {"stochastic": False, "memory_depth": 0, "reactive": False, "history_calibrated": False}

    class Parameters(Params):
        royalty_share: float = Field(0.03, ge=0.0, le=1.0)

    def decide(self, me: str, state: PublicState) -> Changes:
        """License all at the royalty."""
        return {"patent_royalty_share": self.params.royalty_share, "patent_refused": []}


@register
class RestrictiveLicensing(Strategy):
    """Refuse licences to magnet makers of named countries and raise the royalty (Proterial)."""

    name = "restrictive"
    family = "licensing"
    classifier = {"stochastic": False, "memory_depth": 0, "reactive": False, "history_calibrated": True}

    class Parameters(Params):
        royalty_share: float = Field(0.10, ge=0.0, le=1.0)
        refuse: list[str] = Field(default_factory=lambda: ["CHN"])

    def decide(self, me: str, state: PublicState) -> Changes:
        """Refuse the named countries."""
        return {"patent_royalty_share": self.params.royalty_share, "patent_refused": list(self.params.refuse)}


@register
class CompulsoryLicence(Strategy):
    """A licensee country's courts grant a compulsory licence after a delay (China, 2021).

    While any patent holder refuses this country, count months; after
    ``delay_months`` grant a licence at ``royalty_share``.
    """

    name = "compulsory"
    family = "licensing"
    classifier = {"stochastic": False, "memory_depth": 24, "reactive": True, "history_calibrated": True}

    class Parameters(Params):
        delay_months: int = Field(18, ge=0, le=240)
        royalty_share: float = Field(0.02, ge=0.0, le=1.0)

    def __init__(self, **params) -> None:
        super().__init__(**params)
        self.refused_months = 0

    def decide(self, me: str, state: PublicState) -> Changes:
        """Grant the compulsory licence once refusal has lasted long enough."""
        refused = any(me in p.patent_refused for code, p in state.policies.items() if code != me)
        self.refused_months = self.refused_months + 1 if refused else 0
        grant = refused and self.refused_months > self.params.delay_months
        return {"compulsory_licence_royalty_share": self.params.royalty_share if grant else 0.0}
