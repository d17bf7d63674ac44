"""The Mesa model of the rare-earth chain and the order of one round (a month).

1. Countries observe last month's public state; scheduled events and their
   strategies set instruments (logged as events).
2-3. Markets clear upstream to downstream, each on orders posted by firms
   and states: concentrates, separation, oxides, magnet making, magnets.
4. End users build units from magnets on hand; unmet need is shortage.
5. Expectations, idling, investment and thrifting update.
6. The month is recorded.

Steps 2-6 run as one compiled call (:mod:`model.month`).
"""

from __future__ import annotations

import copy
from typing import Any

import mesa
import numpy as np
from mesa.agent import AgentSet

from agents import behaviour, books
from agents.behaviour import CONC, DYTB, HEAVY, MAGNET, NDPR
from agents.country import CountryAgent
from agents.firms import END_USE, MAGNETS, MINING, SEPARATION, Firm, build_firms
from agents.order_rules import DAYS_PER_MONTH
from agents.strategies import PublicState, make_strategy
from model import dynamics, production
from model.calendar import calendar_month, month_date, month_index
from model.ledger import Ledger
from model.links import base_links
from model.month import MonthArrays, pack_month, play_month
from model.policy_arrays import PolicyArrays
from model.recorder import Recorder
from model.scenario import ScenarioError, set_path
from model.schema import COMMODITIES, SECTORS, Policy, Scenario
from model.trade import ReviewPipeline


class RareEarthModel(mesa.Model):
    """Countries as Mesa agents, firms as columns, markets as spatial equilibria."""

    def __init__(self, scenario: Scenario, seed: int | None = 0, record_firms: bool = True) -> None:
        super().__init__(rng=seed)
        self.spec = scenario
        self.seed = seed
        self.month = 0
        self.start_date = scenario.meta.start_date
        self.regions = list(scenario.countries)
        self._region_codes = tuple(self.regions)
        self.n_regions = len(self.regions)
        self.countries = {code: CountryAgent(self, code, spec) for code, spec in scenario.countries.items()}
        self._deciding_list: tuple | None = None  # see _deciding
        self.firms = build_firms(scenario, self.regions, self.rng)
        self._init_ledger()
        self._init_world_arrays()
        self._init_schedule()
        self.recorder = Recorder(self, record_firms=record_firms)
        self.pending: list[tuple[str, str, Any, str]] = []
        self._changed: set[str] = set()
        self._firm_agents: dict[int, Firm] = {}
        self._arguments: MonthArrays | None = None  # see _pack_arguments
        self.policy = PolicyArrays(self)
        self.policy.refresh()

    # ---- construction -------------------------------------------------------------------
    def _init_ledger(self) -> None:
        f = self.firms
        self.ledger = Ledger(f.n, self.n_regions, len(COMMODITIES))
        f.stock_t = self.ledger.stock_t[: f.n]
        f.stock_value_usd = self.ledger.stock_value_usd[: f.n]
        f.on_order_t = self.ledger.on_order_t[: f.n]
        f.cash_usd = self.ledger.cash_usd[: f.n]
        for code, country in self.spec.countries.items():
            holder = self.ledger.state(self.regions.index(code))
            for name, tonnes in country.stockpile_t.items():
                c = COMMODITIES.index(name)
                self.ledger.stock_t[holder, c] = tonnes
                self.ledger.stock_value_usd[holder, c] = (
                    tonnes * 1000.0 * self.spec.commodities[name].reference_price_usd_per_kg
                )
        self.pipeline = ReviewPipeline(len(COMMODITIES), self.n_regions)

    def _init_world_arrays(self) -> None:
        sc, n, k = self.spec, self.n_regions, len(COMMODITIES)
        self.reference = np.array([sc.commodities[c].reference_price_usd_per_kg for c in COMMODITIES])
        self.price = np.repeat(self.reference[:, None], n, axis=1)
        self.producer_price = self.price.copy()
        self.expected = self.price.copy()
        self.env_cost = np.array([sc.countries[r].environmental_cost_usd_per_kg for r in self.regions])
        self.hurdle = np.array([sc.countries[r].hurdle_rate_per_year for r in self.regions])
        self.investment_terms = dynamics.investment_terms(self)
        self.growth = np.array([sc.countries[r].demand_growth_per_year for r in self.regions])
        self.freight, self.standing_tariff = base_links(sc, self.regions)
        self.end_users = np.nonzero(self.firms.stage == END_USE)[0]
        self.user_region, self.user_sector = self.firms.country[self.end_users], self.firms.sector[self.end_users]
        self.rosters = behaviour.rosters(self.firms)
        self.roster_rows = tuple(self.rosters[role] for role in books.ROSTERS)
        self.book_params = behaviour.book_params(sc)
        self.market_params = (sc.market.price_resolution_share, sc.market.carry_cost_share_per_month)
        self.unlimited_links = np.full((n, n), np.inf)  # link capacities (none are limited)
        self.recipe = production.recipe(sc)
        self.dytb_min_share = sc.magnet.dytb_min_share_of_grade
        self.producing = self.firms.producing(0)  # plants built and not idled this month (updated in place)
        f = self.firms
        #: counts_output[c]: firms whose sales of c are their output (mines sell what they mine).
        self.counts_output = np.array([(f.stage == MINING) & (c in (CONC, HEAVY)) for c in range(k)])
        sectors = [sc.sectors[s] for s in SECTORS]
        self.sector_table = {
            "kg_per_unit": np.array([s.magnet_kg_per_unit for s in sectors]),
            "value_per_unit": np.array([s.value_lost_usd_per_unit for s in sectors]),
            "trigger": np.array([s.thrift_trigger_price_ratio for s in sectors]),
            "thrift_max": np.array([s.thrift_max_share_per_year for s in sectors]),
            "floor": np.array([s.thrift_floor_share for s in sectors]),
        }
        self.demand_curve = behaviour.demand_curve(sectors, self.reference[MAGNET], sc.market.demand_steps)
        self.intensity = np.ones((n, len(SECTORS)))
        self.need_this_month = np.zeros(len(self.end_users))
        self.magnet_use_t = np.zeros(n)
        self.use_by_region_t = np.zeros((n, k))
        self.shortage_t = np.zeros((n, len(SECTORS)))
        self.shortage_units = np.zeros((n, len(SECTORS)))
        self.output_t = np.zeros(self.firms.n)
        self.rationed = np.zeros(self.firms.n, dtype=bool)  # got < 98% of what it bid for, this month
        self.rationed_last = np.zeros(self.firms.n, dtype=bool)
        self._tally_scratch = np.zeros((2, self.firms.n))
        self.output_window_t = np.zeros(self.firms.n)
        self.costs_usd = np.zeros(self.firms.n)
        self.exports_ytd_t = np.zeros((k, n))
        self.import_share = np.zeros((k, n, n))
        self.last_flows_t = np.zeros((k, n, n))
        self.quota_rent = np.zeros((k, n))
        self.expect_restriction = np.zeros((k, n))
        self._seed_stocks()

    def _seed_stocks(self) -> None:
        """Start firms with their normal input cover, valued at reference prices."""
        f, led, mk = self.firms, self.ledger, self.spec.market
        months = mk.input_cover_days / DAYS_PER_MONTH
        r = self.spec.magnet.ndpr_oxide_t_per_t
        rows = {
            CONC: (f.stage == SEPARATION) & ~f.heavy_capable,
            HEAVY: (f.stage == SEPARATION) & f.heavy_capable,
            NDPR: f.stage == MAGNETS,
            MAGNET: f.stage == END_USE,
        }
        for c, mask in rows.items():
            base = f.need_t_per_month if c == MAGNET else f.capacity_t_per_month * (r if c == NDPR else 1.0)
            tonnes = np.where(mask, base * months, 0.0)
            led.stock_t[: f.n, c] += tonnes
            led.stock_value_usd[: f.n, c] += tonnes * 1000.0 * self.reference[c]
        dy = f.capacity_t_per_month * f.dytb_share * months * (f.stage == MAGNETS)
        led.stock_t[: f.n, DYTB] += dy
        led.stock_value_usd[: f.n, DYTB] += dy * 1000.0 * self.reference[DYTB]

    def _init_schedule(self) -> None:
        sc = self.spec
        self.events_by_month: dict[int, list] = {}
        for ev in sc.events:
            self.events_by_month.setdefault(month_index(self.start_date, ev.date), []).append(ev)
        #: Capacity additions by the month they come online: (firm rows, t/month) batches in the order queued.
        self.projects: dict[int, list[tuple[np.ndarray, np.ndarray]]] = {}
        self.schedule_capacity(
            [self.firms.index[p.firm] for p in sc.projects],
            [p.capacity_t_per_year / 12.0 for p in sc.projects],
            [month_index(self.start_date, p.online_date) for p in sc.projects],
        )

    def schedule_capacity(self, firms: np.ndarray, t_per_month: np.ndarray, month: np.ndarray | int) -> None:
        """Queue capacity additions (t/month) for firm rows, arriving at ``month`` (one, or one per firm)."""
        firms, added = np.asarray(firms, np.int64), np.asarray(t_per_month, float)
        months = np.broadcast_to(np.asarray(month, np.int64), firms.shape)
        for due in np.unique(months):
            batch = months == due
            self.projects.setdefault(int(due), []).append((firms[batch], added[batch]))

    # ---- public API -----------------------------------------------------------------------
    @property
    def date(self) -> str:
        """Calendar date (YYYY-MM) of the current month."""
        return month_date(self.start_date, self.month)

    def firm(self, firm_id: str) -> Firm:
        """An agent view of one firm, by id (e.g. ``"lynas_kuantan"``)."""
        row = self.firms.index[firm_id]
        if row not in self._firm_agents:
            self._firm_agents[row] = Firm(self, row)
        return self._firm_agents[row]

    def firm_agents(self) -> AgentSet:
        """Every firm as a Mesa agent view (created on first use; reads the live columns)."""
        return AgentSet([self.firm(fid) for fid in self.firms.ids], random=self.random)

    def intervene(self, country: str, instrument: str, value: Any, note: str = "user") -> None:
        """Set an instrument from outside (the app, a notebook); applies from the next month.

        ``instrument`` is a dotted path inside :class:`Policy`. A newer value for the same
        instrument before the next month replaces the older one (one event per month).
        """
        self._country(country)
        self._validated(self.countries[country].policy, instrument, value)
        self._queue(country, instrument, value, note)

    def set_strategy(self, country: str, family: str, name: str, note: str = "user", **params: Any) -> None:
        """Choose a country's strategy for one lever family; it decides from the next month."""
        self._country(country)
        make_strategy(family, name, **params)  # unknown names and bad parameters raise now
        self._queue(country, f"strategy.{family}", {"name": name, **params}, note)

    def set_stockpile_days(self, country: str, days: float, note: str = "user") -> None:
        """Change a country's stockpile target (days of use, schema bounds) from the next month."""
        checked = self._country(country).spec.model_copy()
        try:
            checked.stockpile_days = days
        except ValueError as err:
            raise ScenarioError(f"countries.{country}.stockpile_days = {days!r}: {err}") from None
        self._queue(country, "stockpile_days", checked.stockpile_days, note)

    def _country(self, code: str) -> CountryAgent:
        if code not in self.countries:
            raise ScenarioError(f"country {code!r} not among {self.regions}")
        return self.countries[code]

    def _queue(self, country: str, what: str, value: Any, note: str) -> None:
        self.pending = [p for p in self.pending if p[:2] != (country, what)] + [(country, what, value, note)]

    def step(self) -> None:
        """Play one month."""
        self.recorder.open_month()
        self._set_policies()
        self._bring_capacity_online()
        # End users' need (demand drawn), the month's opening (books cleared, plants producing this month
        # marked), markets, month end, investment review and record: one compiled call.
        self._play_month()
        self.month += 1

    def run_months(self, months: int) -> None:
        """Play ``months`` months, as ``months`` calls of Mesa's ``step()`` would.

        While the month is the only event on Mesa's event list (nothing else
        was scheduled with ``schedule_event``), each month is played as
        Mesa's step plays it (time moves to the month's event, the step
        counter and the generator's count advance, the next month is due one
        unit later) without building a new event per month, which costs about
        as much as the Python side of a month's policies. Otherwise, and if
        Mesa's internals are not as expected, ``step()`` plays it. The record
        makes room for the ``months`` at once.
        """
        self.recorder.reserve(months)
        for _ in range(months):
            if not self._play_scheduled_month():
                self.step()

    def _play_scheduled_month(self) -> bool:
        """Play the next month if it is the only event due; False (nothing done) otherwise."""
        generator = getattr(self, "_default_schedule", None)
        event = getattr(generator, "_current_event", None)
        queue = getattr(getattr(self, "_event_list", None), "_events", None)
        if event is None or queue is None or len(queue) != 1 or queue[0] is not event or event.CANCELED:
            return False
        schedule = generator.schedule
        if not (generator.is_active and not generator._paused and event.time == self.time + 1):
            return False
        if not (schedule.interval == 1 and schedule.count is None and schedule.end is None):
            return False
        self.time = event.time
        self._do_step()  # Mesa's own: counts the step, logs it, plays the month
        generator._execution_count += 1
        event.time = self.time + 1  # the month's event, due next month (the only item on the heap)
        return True

    # ---- one month ----------------------------------------------------------------------
    def _set_policies(self) -> None:
        # Strategies see last month's public record (built only if some strategy will read it).
        deciding, pending = self._deciding(), self.pending
        state = self.public_state() if deciding or pending else None
        self._changed: set[str] = set()  # instruments changed this month (by their first path key)
        self._changed_countries: set[str] = set()  # countries whose instruments changed this month
        apply = self._apply
        for ev in self.events_by_month.get(self.month, ()):
            apply(ev.country, ev.instrument, ev.value, f"scenario: {ev.note}".strip())
        if pending:
            for code, what, value, note in pending:
                self._apply_pending(code, what, value, note)
            if any(what.startswith("strategy.") for _, what, _, _ in pending):
                deciding = self._deciding()  # a new strategy decides in its first month
            self.pending = []
        for code, strategy, source in deciding:
            for instrument, value in strategy.decide(code, state).items():
                apply(code, instrument, value, source)
        if self.month == 0:
            self.policy.refresh()
        elif self._changed:
            self.policy.refresh(self._changed, self._changed_countries)
        if calendar_month(self.start_date, self.month) == 1:
            self.exports_ytd_t[:] = 0.0

    def _deciding(self) -> tuple[tuple[str, Any, str], ...]:
        """(country, strategy, event source) of every strategy that is not passive, in country order.

        Listed again after an agent's strategies change (``CountryAgent`` clears the list).
        """
        if self._deciding_list is None:
            self._deciding_list = tuple(
                (code, strategy, f"strategy {family}.{strategy.name}")
                for code, agent in self.countries.items()
                for family, strategy in agent.deciding
            )
        return self._deciding_list

    def _apply_pending(self, code: str, what: str, value: Any, note: str) -> bool:
        """Apply a queued change; strategy and stockpile-target changes are logged here."""
        agent = self.countries[code]
        if what == "stockpile_days":
            old, agent.stockpile_days = agent.stockpile_days, value
            self.recorder.event(code, what, old, value, note)
            return False
        if what.startswith("strategy."):
            family = what.removeprefix("strategy.")
            old = agent.strategies[family].describe()
            params = {k: v for k, v in value.items() if k != "name"}
            agent.set_strategy(family, value["name"], **params)
            self.recorder.event(code, what, old, agent.strategies[family].describe(), note)
            return False
        return self._apply(code, what, value, note)

    def _apply(self, code: str, instrument: str, value: Any, source: str) -> bool:
        agent = self.countries[code]
        policy = agent.policy
        if _in_force(policy, instrument, value):  # most monthly decisions repeat the last one
            return False
        new = self._validated(policy, instrument, value)
        old, now = _value_at(policy, instrument), _value_at(new, instrument)
        if old == now:
            return False
        agent.policy = new
        self._changed.add(instrument.split(".")[0])
        self._changed_countries.add(code)
        self.recorder.event(code, instrument, old, now, source)
        return True

    @staticmethod
    def _validated(policy: Policy, instrument: str, value: Any) -> Policy:
        """A copy of ``policy`` with the instrument at dotted path ``instrument`` set to ``value``.

        Only the changed field is validated (by pydantic, on assignment); the
        others are valid already, and the old policy is left untouched.
        """
        field, _, rest = instrument.partition(".")
        if field not in Policy.model_fields:
            raise ScenarioError(
                f"policy.{instrument}: unknown instrument {field!r}; allowed: {', '.join(Policy.model_fields)}"
            )
        new = policy.model_copy()
        try:
            whole = value
            if rest:
                doc = {field: copy.deepcopy(getattr(policy, field))}
                set_path(doc, instrument, value)
                whole = doc[field]
            setattr(new, field, whole)
        except Exception as err:  # pydantic ValidationError or an unknown field -> readable message
            raise ScenarioError(f"policy.{instrument} = {value!r}: {err}") from None
        return new

    def _bring_capacity_online(self) -> None:
        for firms, added in self.projects.pop(self.month, []):
            np.add.at(self.firms.capacity_t_per_month, firms, added)

    def _demand(self) -> tuple:
        """The arguments of :func:`agents.behaviour.end_users_need`: this month's demand shocks drawn, growth."""
        shocks = self.rng.standard_normal(len(self.end_users))
        return (
            self.need_this_month, self.firms.need_t_per_month, self.end_users, self.user_region, self.user_sector,
            (1.0 + self.growth) ** (self.month / 12.0), self.intensity, self.spec.market.demand_noise_share, shocks,
        )  # fmt: skip

    def _play_month(self) -> None:
        """Markets, month end, investment review and record (:func:`model.month.play_month`)."""
        led, month = self.ledger, self.month
        review = month > 0 and month % self.spec.market.investment_review_months == 0
        row = self.recorder.make_room()  # (growing the record drops the packed arrays)
        steps = self._arguments or self._pack_arguments()
        months_left = 13 - calendar_month(self.start_date, month)  # in the calendar year, this one included
        between, turnover, failed, idled, restarted, expansions = play_month(
            steps, self._demand(), month, months_left, review, row, self.expect_restriction
        )
        if failed >= 0:
            raise RuntimeError(f"{COMMODITIES[failed]} market, month {month}: min-cost flow did not converge")
        led.market_residual_usd += between
        led.market_turnover_usd += turnover
        self.recorder.firm_events(idled, "idled")
        self.recorder.firm_events(restarted, "restarted")
        if review:
            self.schedule_capacity(*expansions)
        self.recorder.recorded()

    def _pack_arguments(self) -> MonthArrays:
        """The arrays :func:`model.month.play_month` reads, packed once and kept while they stay the same objects.

        The model's arrays change in place from month to month; only a change of
        policies replaces some of them (``PolicyArrays.refresh`` drops this pack),
        and the record replaces its series when it grows. Month numbers are added
        inside the compiled month.
        """
        self._arguments = pack_month(
            self._opening(), self._market_inputs(), dynamics.month_end_inputs(self),
            dynamics.investment_inputs(self), self.recorder.record_arrays(),
        )  # fmt: skip
        return self._arguments

    def _opening(self) -> tuple:
        """The arrays of :func:`model.month.open_month` (after the month): what it clears, the producing mask."""
        led, f = self.ledger, self.firms
        return (
            led.book_usd, led.produced_t, led.used_t, self.output_t, self.shortage_units, self.producing, f.active,
            f.online_month,
        )  # fmt: skip

    def _market_inputs(self) -> tuple:
        """The arrays of :func:`model.exchange.markets` (after the month and the months left in the year)."""
        led, pol, lk = self.ledger, self.policy, self.policy.links
        return (
            *behaviour.book_inputs(self),
            (lk.transport_usd_per_kg, lk.duty_rate, lk.tariff_rate, lk.delay_months, lk.open, lk.licensed,
             lk.compliant_origin, self.unlimited_links, lk.quota_t_per_year, lk.approval_rate),
            self.market_params,
            (led.produced_t, pol.royalty_region, pol.no_royalty, pol.content_premium, pol.holder_region,
             pol.seller_weights),
            (self.counts_output, self.output_t, self.rationed, self._tally_scratch, self.exports_ytd_t,
             self.last_flows_t, self.use_by_region_t, self.producer_price, self.quota_rent),
            self.pipeline.arrays,
            (led.used_t, self.firms.heavy_capable, self.recipe, self.costs_usd, self.dytb_min_share, self.shortage_t,
             self.shortage_units, self.sector_table["kg_per_unit"], self.sector_table["value_per_unit"]),
        )  # fmt: skip

    def public_state(self) -> PublicState:
        """Last month's public record, for strategies."""
        countries = self.countries.items()
        return PublicState(
            month=self.month,
            date=self.date,
            regions=self._region_codes,
            price_usd_per_kg=self.price.copy(),
            reference_price_usd_per_kg=self.reference,
            flows_t=self.last_flows_t.copy(),
            use_t=self.use_by_region_t.copy(),
            shortage_t=self.shortage_t.copy(),
            stockpile_t=self.ledger.stock_t[self.firms.n :].copy(),
            policies={code: a.policy for code, a in countries},
            stockpile_days={code: a.stockpile_days for code, a in countries},
        )


def _in_force(policy: Policy, path: str, value: Any) -> bool:
    """Whether ``value`` already is the instrument at ``path`` (no validation needed then)."""
    node = _value_at(policy, path, _MISSING)
    return type(node) in (int, float, str, bool, list, dict, tuple) and node == value


_MISSING = object()


def _value_at(policy: Policy, path: str, missing: Any = None) -> Any:
    """The instrument at dotted ``path`` (instruments are values, lists or dicts), or ``missing``."""
    field, *keys = path.split(".")
    node: Any = getattr(policy, field, missing)
    for key in keys:
        if not isinstance(node, dict):
            return missing
        node = node.get(key, missing)
    return node
