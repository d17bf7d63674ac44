"""Strategies by lever family; importing this package registers them all."""

from agents.strategies import export_controls, licensing, stockpiling, subsidies  # noqa: F401
from agents.strategies.base import REGISTRY, Passive, PublicState, Strategy, make_strategy

__all__ = ["REGISTRY", "Passive", "PublicState", "Strategy", "make_strategy"]
