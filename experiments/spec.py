"""The sweep specification: a TOML file read into a validated :class:`SweepSpec`.

A spec names a scenario, the parameters to vary (dotted paths into the
scenario document, as for ``--set``), a design, replications, a master seed,
a horizon and the outputs to keep::

    scenario = "baseline"
    months = 24
    replications = 2
    seed = 20240101
    outputs = ["metrics"]

    [fixed]                      # overrides applied to every run
    "countries.CHN.policy.licence_commodities" = ["dytb_oxide"]

    [design]
    method = "latin_hypercube"   # full_factorial | latin_hypercube | sobol | morris
    samples = 16

    [[parameters]]
    path = "countries.JPN.stockpile_days"
    low = 0.0
    high = 180.0

Ranges are checked against the scenario schema at load time: the scenario is
validated with each bound (and each listed value) applied, so a range that
leaves the schema fails with the schema's message naming the field.
"""

from __future__ import annotations

import copy
import hashlib
import json
import tomllib
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from model.scenario import ScenarioError, scenario_document, set_path, validate

DesignMethod = Literal["full_factorial", "latin_hypercube", "sobol", "morris"]
Output = Literal["series", "metrics"]


class SpecError(ValueError):
    """A sweep spec that cannot be run; the message names the field."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Parameter(_Strict):
    """One varied input: a dotted scenario path with a range or a list of values."""

    path: str = Field(
        min_length=1, description="dotted path in the scenario, e.g. countries.JPN.stockpile_days"
    )
    low: float | None = None
    high: float | None = None
    values: list[Any] | None = Field(None, min_length=1)
    integer: bool | None = Field(
        None, description="round to int; default: true when low and high are TOML ints"
    )

    @model_validator(mode="before")
    @classmethod
    def _infer_integer(cls, data: Any) -> Any:
        if (
            isinstance(data, dict)
            and data.get("integer") is None
            and "low" in data
            and "high" in data
        ):
            data = {**data, "integer": all(type(data[k]) is int for k in ("low", "high"))}
        return data

    @model_validator(mode="after")
    def _range_or_values(self) -> Parameter:
        has_range = self.low is not None or self.high is not None
        if has_range == (self.values is not None):
            raise ValueError(f"parameter {self.path!r}: give either low and high, or values")
        if has_range and (self.low is None or self.high is None or not self.low < self.high):
            raise ValueError(
                f"parameter {self.path!r}: need low < high, got low={self.low}, high={self.high}"
            )
        return self

    @property
    def is_range(self) -> bool:
        """True for a (low, high) range, False for a list of values."""
        return self.values is None

    @property
    def bounds(self) -> tuple[float, float]:
        """The range in design space; a list of n values is the index range [0, n)."""
        return (self.low, self.high) if self.is_range else (0.0, float(len(self.values)))

    def value_at(self, x: float) -> Any:
        """Return the scenario value at design coordinate ``x`` (within :attr:`bounds`)."""
        if not self.is_range:
            return self.values[min(int(x), len(self.values) - 1)]
        return int(round(x)) if self.integer else float(x)


class Design(_Strict):
    """How design points are drawn from the parameter ranges."""

    method: DesignMethod = "full_factorial"
    samples: int = Field(
        8, ge=1, le=1_000_000, description="LHS points; Sobol base N; Morris trajectories"
    )
    levels: int = Field(
        3, ge=2, le=1000, description="full factorial: points per range; Morris: grid levels"
    )
    second_order: bool = Field(False, description="sobol: also sample for second-order indices")


class SweepSpec(_Strict):
    """A validated sweep: what to vary, how often, for how long, and what to keep."""

    name: str = Field("sweep", pattern=r"^[A-Za-z0-9][A-Za-z0-9_\-]*$")
    scenario: str = Field(description="shipped scenario name or path to a TOML file")
    fixed: dict[str, Any] = Field(
        default_factory=dict, description="overrides applied to every run, path -> value"
    )
    parameters: list[Parameter] = Field(default_factory=list)
    design: Design = Field(default_factory=Design)
    replications: int = Field(1, ge=1, le=100_000)
    seed: int = Field(0, ge=0, description="master seed; every run's seed derives from it")
    common_random_numbers: bool = Field(
        False, description="replication r uses the same seed at every design point"
    )
    months: int = Field(ge=1, le=1200, description="horizon of every run")
    outputs: list[Output] = Field(default_factory=lambda: ["metrics"], min_length=1)
    record_firms: bool = Field(False, description="keep the per-firm table (large)")
    chunk_size: int | None = Field(
        None, ge=1, le=10_000, description="runs per task; default from the run count"
    )

    @field_validator("parameters")
    @classmethod
    def _unique_paths(cls, v: list[Parameter]) -> list[Parameter]:
        paths = [p.path for p in v]
        dupes = sorted({p for p in paths if paths.count(p) > 1})
        if dupes:
            raise ValueError(f"parameters repeated: {dupes}")
        return v

    @model_validator(mode="after")
    def _design_fits(self) -> SweepSpec:
        if self.design.method in ("sobol", "morris") and len(self.parameters) < 1:
            raise ValueError(f"design.method={self.design.method!r} needs at least one parameter")
        return self

    def base_document(self) -> dict[str, Any]:
        """Return the validated scenario with ``fixed`` overrides, defaults filled in.

        Filling defaults first means a design override such as
        ``market.lead_time_months.mining`` edits one entry of the full table
        instead of replacing the defaulted table by a one-entry one.
        """
        doc = scenario_document(self.scenario)
        for path, value in self.fixed.items():
            set_path(doc, path, value)
        return validate(doc).model_dump(mode="json")

    def fingerprint(self) -> str:
        """Hash the spec and its scenario's content, to tell whether a folder belongs to it."""
        both = {"spec": self.model_dump(mode="json"), "scenario": self.base_document()}
        text = json.dumps(both, sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def load_spec(path: str | Path) -> SweepSpec:
    """Read, validate and bounds-check a sweep spec; errors name the field."""
    path = Path(path)
    try:
        raw = tomllib.loads(path.read_text())
    except (OSError, tomllib.TOMLDecodeError) as err:
        raise SpecError(f"{path}: {err}") from None
    raw = _resolve_scenario(raw, path.parent)
    return spec_from_dict(raw, where=str(path))


def spec_from_dict(raw: dict[str, Any], where: str = "spec") -> SweepSpec:
    """Validate a spec given as a dictionary (as read from TOML) and check its ranges."""
    try:
        spec = SweepSpec.model_validate(raw)
    except ValidationError as err:
        raise SpecError(f"{where}: invalid sweep spec:\n  " + _format(err)) from None
    check_ranges(spec, where)
    return spec


def check_ranges(spec: SweepSpec, where: str = "spec") -> None:
    """Validate the scenario with each parameter at each bound or listed value."""
    try:
        base = spec.base_document()
    except ScenarioError as err:
        raise SpecError(f"{where}: scenario (with fixed overrides): {err}") from None
    for k, param in enumerate(spec.parameters):
        extremes = [param.value_at(x) for x in param.bounds] if param.is_range else param.values
        for value in extremes:
            doc = copy.deepcopy(base)
            try:
                set_path(doc, param.path, value)
                validate(doc)
            except ScenarioError as err:
                detail = str(err).removeprefix("invalid scenario:").strip()
                raise SpecError(
                    f"{where}: parameters.{k} ({param.path} = {value!r}) "
                    f"leaves the schema: {detail}"
                ) from None


def _resolve_scenario(raw: dict[str, Any], folder: Path) -> dict[str, Any]:
    """Read a scenario given as a relative ``.toml`` path relative to the spec file."""
    scenario = raw.get("scenario")
    if (
        isinstance(scenario, str)
        and scenario.endswith(".toml")
        and not Path(scenario).is_absolute()
    ):
        candidate = folder / scenario
        if candidate.exists():
            return {**raw, "scenario": str(candidate.resolve())}
    return raw


def _format(err: ValidationError) -> str:
    lines = []
    for e in err.errors():
        where = ".".join(str(p) for p in e["loc"]) or "(spec)"
        lines.append(f"{where}: {e['msg']}")
    return "\n  ".join(lines)
