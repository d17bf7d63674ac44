"""Countries: Mesa agents that hold instruments and play one strategy per lever family."""

from __future__ import annotations

from collections.abc import Mapping
from types import MappingProxyType
from typing import Any

import mesa

from agents.strategies import Passive, PublicState, Strategy, make_strategy
from model.schema import LEVER_FAMILIES, Country, Policy


class CountryAgent(mesa.Agent):
    """A country or group: its instruments in force, its strategies, its stockpile target."""

    def __init__(self, model: mesa.Model, code: str, spec: Country) -> None:
        super().__init__(model)
        self.code = code
        self.spec = spec
        self.policy: Policy = _own_copy(spec.policy)
        self.stockpile_days = spec.stockpile_days
        self._strategies: dict[str, Strategy] = {
            family: _strategy_from_spec(code, family, getattr(spec.strategies, family)) for family in LEVER_FAMILIES
        }
        self._list_deciding()

    @property
    def strategies(self) -> Mapping[str, Strategy]:
        """The strategy of each lever family (read-only: change one with :meth:`set_strategy`)."""
        return MappingProxyType(self._strategies)

    def decide(self, state: PublicState) -> dict[str, Any]:
        """Collect every family's instrument changes (later families win on a clash)."""
        changes: dict[str, Any] = {}
        for strategy in self._strategies.values():
            changes.update(strategy.decide(self.code, state))
        return changes

    def set_strategy(self, family: str, name: str, **params: Any) -> None:
        """Replace one family's strategy (e.g. from the app, mid-run)."""
        self._strategies[family] = make_strategy(family, name, **params)
        self._list_deciding()

    def _list_deciding(self) -> None:
        #: (family, strategy) of the strategies that are not passive, the ones the model asks each month.
        self.deciding = tuple((f, s) for f, s in self._strategies.items() if not isinstance(s, Passive))
        self.model._deciding_list = None  # the model lists its deciding strategies again

    def __repr__(self) -> str:
        names = ", ".join(f"{f}={s.name}" for f, s in self.strategies.items())
        return f"CountryAgent({self.code}: {names})"


#: One passive strategy per family, shared: it has no parameters and keeps no state.
_PASSIVE = {family: make_strategy(family, "passive") for family in LEVER_FAMILIES}


def _strategy_from_spec(code: str, family: str, choice) -> Strategy:
    if choice.name == "passive" and not choice.model_extra:
        return _PASSIVE[family]
    params = {k: v for k, v in choice.model_dump().items() if k != "name"}
    try:
        return make_strategy(family, choice.name, **params)
    except ValueError as err:
        raise ValueError(f"countries.{code}.strategies.{family}: {err}") from None


def _own_copy(policy: Policy) -> Policy:
    """A copy of ``policy`` sharing no container with it (instruments are values, lists, or dicts of either).

    Three times faster than ``model_copy(deep=True)``; the model replaces a
    policy on every change rather than editing it, so this copy only keeps
    the scenario's own document from being reached through the agent.
    """
    fresh: dict[str, Any] = {}
    for name, value in policy.__dict__.items():
        if isinstance(value, dict):
            fresh[name] = {k: list(v) if isinstance(v, list) else v for k, v in value.items()}
        elif isinstance(value, list):
            fresh[name] = list(value)
    return policy.model_copy(update=fresh)
