"""Load, merge, override and validate scenario files.

A scenario is a TOML file under ``model/scenarios/``; it may name another
with ``inherits = "baseline"`` and is then deep-merged over it (tables merge,
lists and values replace). ``--set PATH=VALUE`` edits the merged document by
dotted path before validation, so an override is checked exactly like the
file. Every failure raises :class:`ScenarioError` naming the field, the value
and the allowed range.
"""

from __future__ import annotations

import copy
import pickle
import tomllib
from collections.abc import Iterable, Mapping
from functools import lru_cache
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from model.schema import Scenario

SCENARIO_DIR = Path(__file__).parent / "scenarios"


class ScenarioError(ValueError):
    """A scenario file or override that does not satisfy the schema."""


def available_scenarios() -> dict[str, str]:
    """Shipped scenario names and their one-line titles."""
    out: dict[str, str] = {}
    for path in sorted(SCENARIO_DIR.glob("*.toml")):
        doc = _read_toml(path)
        out[path.stem] = str(doc.get("meta", {}).get("title", ""))
    return out


def load_scenario(name_or_path: str | Path, overrides: Iterable[str] | Mapping[str, Any] = ()) -> Scenario:
    """Load a shipped scenario by name, or a TOML file by path, apply overrides, validate."""
    doc = scenario_document(name_or_path)
    apply_overrides(doc, overrides)
    return validate(doc)


def apply_overrides(doc: dict[str, Any], overrides: Iterable[str] | Mapping[str, Any]) -> None:
    """Apply ``{path: value}`` or ``["path=value", ...]`` overrides to a scenario document."""
    items = overrides.items() if isinstance(overrides, Mapping) else (parse_assignment(s) for s in overrides)
    for path, value in items:
        set_path(doc, path, value)


def scenario_document(name_or_path: str | Path) -> dict[str, Any]:
    """The merged, unvalidated document of a scenario (inheritance resolved)."""
    path = _resolve(name_or_path)
    doc = _read_toml(path)
    parent = doc.pop("inherits", None)
    if parent is None:
        return doc
    if Path(parent).stem == path.stem:
        raise ScenarioError(f"{path.name}: inherits={parent!r} names itself")
    return deep_merge(scenario_document(parent), doc)


def validate(doc: Mapping[str, Any]) -> Scenario:
    """Validate a document against the schema; errors name field, value and range."""
    try:
        return Scenario.model_validate(doc)
    except ValidationError as err:
        raise ScenarioError(format_errors(err)) from None


def format_errors(err: ValidationError) -> str:
    """One line per problem: dotted field, offending value, what is allowed."""
    lines = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(scenario)"
        value = e.get("input")
        shown = "" if isinstance(value, dict) else f" = {value!r}"
        lines.append(f"{where}{shown}: {_allowed(e)}")
    return "invalid scenario:\n  " + "\n  ".join(lines)


def _allowed(e: Mapping[str, Any]) -> str:
    ctx = e.get("ctx") or {}
    bounds = {
        "greater_than_equal": f"must be >= {ctx.get('ge')}",
        "greater_than": f"must be > {ctx.get('gt')}",
        "less_than_equal": f"must be <= {ctx.get('le')}",
        "less_than": f"must be < {ctx.get('lt')}",
        "extra_forbidden": "unknown field (check spelling; see `reegame schema`)",
        "missing": "required field is missing",
    }
    return bounds.get(e["type"], e["msg"])


def parse_assignment(text: str) -> tuple[str, Any]:
    """Split ``a.b.c=VALUE``; VALUE is read as a TOML value, else kept as a string."""
    if "=" not in text:
        raise ScenarioError(f"--set {text!r}: expected PATH=VALUE, e.g. countries.CHN.stockpile_days=30")
    path, raw = text.split("=", 1)
    path, raw = path.strip(), raw.strip()
    if not path:
        raise ScenarioError(f"--set {text!r}: empty path")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    return path, value


def set_path(doc: dict[str, Any], path: str, value: Any) -> None:
    """Set ``doc[a][b][c] = value`` for ``path = "a.b.c"``; list items by index."""
    keys = path.split(".")
    node: Any = doc
    for depth, key in enumerate(keys[:-1]):
        node = _child(node, key, path, depth)
    last = keys[-1]
    if isinstance(node, list):
        node[_index(node, last, path)] = value
    elif isinstance(node, dict):
        node[last] = value
    else:
        raise ScenarioError(f"--set {path}: {'.'.join(keys[:-1])} is a value, not a table")


def _child(node: Any, key: str, path: str, depth: int) -> Any:
    if isinstance(node, list):
        return node[_index(node, key, path)]
    if not isinstance(node, dict):
        prefix = ".".join(path.split(".")[:depth])
        raise ScenarioError(f"--set {path}: {prefix} is a value, not a table")
    return node.setdefault(key, {})


def _index(node: list[Any], key: str, path: str) -> int:
    if not key.isdigit() or int(key) >= len(node):
        raise ScenarioError(f"--set {path}: index {key!r} outside 0..{len(node) - 1}")
    return int(key)


def deep_merge(base: Mapping[str, Any], top: Mapping[str, Any]) -> dict[str, Any]:
    """Tables merge recursively; any other value in ``top`` replaces ``base``'s."""
    out = copy.deepcopy(dict(base))
    for key, value in top.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


def _resolve(name_or_path: str | Path) -> Path:
    candidate = Path(name_or_path)
    if candidate.suffix == ".toml" and candidate.exists():
        return candidate
    shipped = SCENARIO_DIR / f"{name_or_path}.toml"
    if shipped.exists():
        return shipped
    names = ", ".join(sorted(p.stem for p in SCENARIO_DIR.glob("*.toml")))
    raise ScenarioError(f"scenario {str(name_or_path)!r} not found; shipped scenarios: {names}")


def _read_toml(path: Path) -> dict[str, Any]:
    """The parsed file, a fresh copy each call (parsing is cached while the file is unchanged)."""
    stat = path.stat()
    return pickle.loads(_parsed_toml(path.resolve(), stat.st_mtime_ns, stat.st_size))


@lru_cache(maxsize=32)
def _parsed_toml(path: Path, mtime_ns: int, size: int) -> bytes:
    """Parsed TOML, pickled (a sweep reads the same scenario file thousands of times)."""
    try:
        with path.open("rb") as fh:
            return pickle.dumps(tomllib.load(fh))
    except tomllib.TOMLDecodeError as err:
        raise ScenarioError(f"{path}: not valid TOML: {err}") from None
