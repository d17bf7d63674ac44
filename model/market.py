"""Monthly clearing of one commodity across regions: a spatial price equilibrium.

The market maximises buyers' value minus sellers' cost minus link cost
(transport, tariffs, duties, delay carry), subject to bans, link capacities,
export quotas and origin rules (Samuelson 1952; Takayama and Judge 1971). It
is solved exactly as a min-cost flow (``model.network``) on this network,
prices in USD/kg and volumes in tonnes:

* nodes: source, sink and, per region ``i``, ``S_i`` (exportable supply),
  ``E_i`` (export gate), ``D_i`` (demand, any origin) and ``C_i`` (compliant
  demand: eligible origins only, e.g. an IRA-style foreign-entity rule;
  connected only in regions with compliant-only bids, its price is NaN
  elsewhere);
* a supply step is an arc source->S_r (cost = its price), or source->D_r if
  it is domestic-only (it cannot be exported: e.g. magnets made without a
  patent licence); a demand step is an arc D_r->sink (cost = minus its bid),
  or C_r->sink if it is compliant-only;
* S_i->D_i (domestic sales), S_i->C_i if region ``i`` is a compliant origin
  for itself, S_i->E_i capped by the export quota, and for each open link
  E_i->D_j and, if ``i`` is a compliant origin for ``j``, E_i->C_j, both at
  the link's cost, each with the link's capacity. A region with no export
  quota has no gate: its links leave from S_i (E_i stays unconnected; the
  quota rent, ``price(E_i) - price(S_i)``, is then 0 as it would be at an
  unbounded gate, whose price can only be below S_i's).

Prices are the duals of the node balances, which are not unique at a kink
(e.g. supply exactly meets demand). The convention here is the LOWEST
market-clearing price: ``p_v = -dist(v -> source)`` in the residual graph of
the optimal flow, closed into a circulation by a sink->source arc of cost 0.
Reading it: a unit taken out at ``v`` is best replaced by the cheapest chain
of residual moves back to the source, either un-selling the marginal sold
supply step (price = its cost) or rationing the marginal unserved bid (price
= that bid). One region, supply 100 t @ 10, demand 60 t @ 50: 60 t trade at
10 (excess supply, marginal cost). Supply 60 @ 10, demand 100 @ 50: 60 t at
50 (excess demand, marginal unserved bid). Supply 100 @ 10, demand 100 @ 50:
100 t at 10 (a kink: any price in [10, 50] clears, the lowest is reported).
Nodes with no path back to the source (no buyer reachable, nothing flowing
through them) instead get the delivered cost of one more tonne there; nodes
that nothing can reach get NaN.
"""

from dataclasses import dataclass

import numpy as np

from model.compiled import kernel
from model.network import SINK, SOURCE, max_surplus_flow
from model.steps import aggregate, allocate, check_n_regions, coerce_array


@dataclass(frozen=True)
class MarketInput:
    """One month's market for one commodity: stepped offers, bids and trade rules.

    Arrays are coerced to numpy (int64, float64, bool); a bad shape or value
    raises ``ValueError`` naming the field. Prices in USD/kg, volumes in t.
    """

    n_regions: int
    supply_region: np.ndarray  # (S,) int
    supply_price: np.ndarray  # (S,) USD/kg reservation price
    supply_qty: np.ndarray  # (S,) t, >= 0
    supply_domestic_only: np.ndarray  # (S,) bool
    demand_region: np.ndarray  # (D,) int
    demand_price: np.ndarray  # (D,) USD/kg willingness to pay
    demand_qty: np.ndarray  # (D,) t, >= 0
    demand_compliant_only: np.ndarray  # (D,) bool
    link_cost: np.ndarray  # (N, N) USD/kg; diagonal and banned links ignored
    link_open: np.ndarray  # (N, N) bool; False = ban; diagonal ignored
    link_cap: np.ndarray  # (N, N) t, np.inf = unlimited
    export_cap: np.ndarray  # (N,) t, np.inf = no quota
    compliant_origin: np.ndarray  # (N, N) bool: origin i is compliant for buyer j

    def __post_init__(self) -> None:
        n = check_n_regions(self.n_regions)
        n_supply = np.shape(self.supply_region)[:1] or (0,)
        n_demand = np.shape(self.demand_region)[:1] or (0,)
        for name, (kind, shape) in _field_specs(n, n_supply[0], n_demand[0]).items():
            object.__setattr__(self, name, coerce_array(name, getattr(self, name), kind, shape))
        _check_steps(self, "supply", n)
        _check_steps(self, "demand", n)
        _check_links(self)


@dataclass(frozen=True)
class Clearing:
    """The cleared market: volumes in t, prices in USD/kg (see module docstring)."""

    flows: np.ndarray  # (N, N) t shipped i -> j; diagonal = domestic sales
    compliant_flows: np.ndarray  # (N, N) t of flows[i, j] that went to compliant demand
    supply_sold: np.ndarray  # (S,) t per supply step
    demand_filled: np.ndarray  # (D,) t per demand step
    price: np.ndarray  # (N,) consumer price at D_j
    producer_price: np.ndarray  # (N,) price at S_i
    compliant_price: np.ndarray  # (N,) price at C_j; NaN where j has no compliant-only bids
    quota_rent: np.ndarray  # (N,) shadow price of the export quota, >= 0
    surplus: float  # value - cost - link cost, USD/kg * t


def clear_market(market: MarketInput) -> Clearing:
    """Clear ``market`` exactly; prices are the lowest clearing prices.

    ``quota_rent[i] = max(price(E_i) - price(S_i), 0)``: the dual of the export
    quota, the wedge between the netback abroad and the domestic producer
    price; it is positive only when the quota binds.
    """
    m, n = market, market.n_regions
    flows, compliant, step_flow, node_price, surplus, converged = _clear(
        n, m.supply_region, m.supply_price, m.supply_qty, m.supply_domestic_only,
        m.demand_region, m.demand_price, m.demand_qty, m.demand_compliant_only,
        m.link_cost, m.link_open, m.link_cap, m.export_cap, m.compliant_origin,
    )  # fmt: skip
    if not converged:
        raise RuntimeError("clear_market: min-cost flow did not converge")
    p_s, p_e, p_d, p_c = node_price[2:].reshape(4, n)
    n_s = m.supply_qty.size
    return Clearing(
        flows=flows, compliant_flows=compliant,
        supply_sold=step_flow[:n_s], demand_filled=step_flow[n_s:],
        price=p_d, producer_price=p_s, compliant_price=p_c,
        quota_rent=np.fmax(p_e - p_s, 0.0),  # NaN (no exports possible) -> 0
        surplus=surplus,
    )  # fmt: skip


@kernel
def clear_orders(n, offers, bids, resolution, *links):
    """Orders in, cleared market out, in one compiled call (the model's trade step).

    ``offers`` and ``bids`` are ``(region, flag, price, qty)`` per order, the
    flag meaning domestic-only (offers) or compliant-only (bids);
    ``links = (link_cost, link_open, link_cap, export_cap, compliant_origin)``
    as in :class:`MarketInput`. Orders are merged into
    steps (:func:`model.steps.aggregate`), cleared, and volumes handed back.
    Returns ``(flows, compliant_flows, price, producer_price, compliant_price,
    quota_rent, sold per offer, filled per bid, converged)``; prices are NaN
    where no market formed and the quota rent is 0 where no export is possible.
    """
    offer_region, offer_flag, offer_price, offer_qty = offers
    bid_region, bid_flag, bid_price, bid_qty = bids
    s_key, s_price, s_qty, s_of = aggregate(offer_region + n * offer_flag, offer_price, offer_qty, 2 * n, resolution)
    d_key, d_price, d_qty, d_of = aggregate(bid_region + n * bid_flag, bid_price, bid_qty, 2 * n, resolution)
    flows, compliant, step_flow, node_price, _, converged = _clear(
        n, s_key % n, s_price, s_qty, s_key >= n, d_key % n, d_price, d_qty, d_key >= n, *links
    )
    p_s, p_e = node_price[2 : 2 + n], node_price[2 + n : 2 + 2 * n]
    rent = np.zeros(n)
    for i in range(n):
        if p_e[i] - p_s[i] > 0.0:  # False for NaN: no exports possible
            rent[i] = p_e[i] - p_s[i]
    sold = allocate(s_of, offer_qty, s_qty, step_flow[: s_qty.size])
    filled = allocate(d_of, bid_qty, d_qty, step_flow[s_qty.size :])
    p_d, p_c = node_price[2 + 2 * n : 2 + 3 * n].copy(), node_price[2 + 3 * n :].copy()
    return flows, compliant, p_d, p_s.copy(), p_c, rent, sold, filled, converged


@kernel
def _clear(n, s_region, s_price, s_qty, s_dom, d_region, d_price, d_qty, d_comp, *links):
    """Build the network, solve it, read the trade matrices and the surplus."""
    fixed, arc_where, curve_arcs, steps = _market_network(
        n, s_region, s_price, s_qty, s_dom, d_region, d_price, d_qty, d_comp, *links
    )
    arc_flow, step_flow, node_price, converged = max_surplus_flow(2 + 4 * n, fixed, curve_arcs, steps)
    flows, compliant = _trade_matrices(n, arc_flow, arc_where, s_region, s_dom, step_flow)
    surplus = 0.0
    for k in range(step_flow.size):
        surplus -= steps[1][k] * step_flow[k]
    for a in range(arc_flow.size):
        surplus -= fixed[2][a] * arc_flow[a]
    return flows, compliant, step_flow, node_price, surplus, converged


# ---------------------------------------------------------------- validation


def _field_specs(n: int, n_supply: int, n_demand: int) -> dict[str, tuple[str, tuple]]:
    s, d = (n_supply,), (n_demand,)
    return {
        "supply_region": ("int", s), "supply_price": ("float", s),
        "supply_qty": ("float", s), "supply_domestic_only": ("bool", s),
        "demand_region": ("int", d), "demand_price": ("float", d),
        "demand_qty": ("float", d), "demand_compliant_only": ("bool", d),
        "link_cost": ("float", (n, n)), "link_open": ("bool", (n, n)),
        "link_cap": ("float", (n, n)), "export_cap": ("float", (n,)),
        "compliant_origin": ("bool", (n, n)),
    }  # fmt: skip


def _check_steps(m: MarketInput, side: str, n: int) -> None:
    region, price, qty = (getattr(m, f"{side}_{f}") for f in ("region", "price", "qty"))
    if np.any((region < 0) | (region >= n)):
        raise ValueError(f"{side}_region: regions must lie in [0, {n})")
    if not np.all(np.isfinite(price)):
        raise ValueError(f"{side}_price: must be finite")
    if not np.all(np.isfinite(qty) & (qty >= 0)):
        raise ValueError(f"{side}_qty: must be finite and >= 0")


def _check_links(m: MarketInput) -> None:
    off = ~np.eye(m.n_regions, dtype=bool)
    if not np.all(np.isfinite(m.link_cost[off & m.link_open])):
        raise ValueError("link_cost: must be finite on open links")
    if np.any(np.isnan(m.link_cap[off]) | (m.link_cap[off] < 0)):
        raise ValueError("link_cap: must be >= 0 (np.inf = unlimited)")
    if np.any(np.isnan(m.export_cap) | (m.export_cap < 0)):
        raise ValueError("export_cap: must be >= 0 (np.inf = no quota)")


# ---------------------------------------------------------------- the network (compiled)
# Node layout: source 0, sink 1, then per region i: S_i = 2 + i, E_i = 2 + N + i,
# D_i = 2 + 2N + i, C_i = 2 + 3N + i. These compiled helpers call only each
# other (numba's on-disk cache does not track callees in other modules).

# kinds of fixed arcs, to map arc flows back to (origin, destination)
_DOMESTIC, _DOMESTIC_COMPLIANT, _QUOTA, _LINK, _LINK_COMPLIANT = 0, 1, 2, 3, 4


@kernel
def _node(kind, n, i):
    """Index of region ``i``'s node of ``kind`` (0 = S, 1 = E, 2 = D, 3 = C)."""
    return 2 + kind * n + i


@kernel
def _arc_exists(k, same_region, link_open, compliant):
    """Whether the arc of kind ``k`` between two regions belongs to the network.

    ``link_open`` and ``compliant`` (the origin is compliant for the
    destination) are this pair's entries, passed as scalars: an array
    argument would cost a reference count per call in this 5 N^2 loop.
    """
    if k <= _QUOTA:
        return same_region and (k != _DOMESTIC_COMPLIANT or compliant)
    return not same_region and link_open and (k == _LINK or compliant)


@kernel
def _fixed_arcs(n, wants_compliant, link_cost, link_open, link_cap, export_cap, compliant_origin):
    """Build the fixed arcs ``(tail, head, cost, cap)`` and their (origin, destination, kind).

    Arcs into ``C_j`` exist only where region ``j`` has compliant-only bids
    (``wants_compliant[j]``): elsewhere that node could carry no flow and set
    no other node's price, and leaving it out halves most networks. Likewise
    the gate ``S_i -> E_i`` exists only where region ``i`` has an export quota;
    elsewhere its links leave ``S_i``.
    """
    size = 3 * n + 2 * n * (n - 1)
    ints, reals = np.empty((5, size), np.int64), np.empty((2, size))  # two allocations for seven arrays
    tail, head, orig, dest, kind = ints[0], ints[1], ints[2], ints[3], ints[4]
    cost, cap = reals[0], reals[1]
    a = 0
    for i in range(n):
        gated = export_cap[i] < np.inf  # a quota: exports pass through the gate E_i; else they leave from S_i
        for j in range(n):
            for k in (_DOMESTIC, _DOMESTIC_COMPLIANT, _QUOTA, _LINK, _LINK_COMPLIANT):
                if not _arc_exists(k, i == j, link_open[i, j], compliant_origin[i, j] and wants_compliant[j]):
                    continue
                if k == _QUOTA and not gated:
                    continue
                local = k <= _QUOTA
                tail[a] = _node(1 if gated and not local else 0, n, i)
                head[a] = _node((2, 3, 1, 2, 3)[k], n, i if k == _QUOTA else j)
                cost[a] = 0.0 if local else link_cost[i, j]
                cap[a] = export_cap[i] if k == _QUOTA else (np.inf if local else link_cap[i, j])
                orig[a], dest[a], kind[a] = i, j, k
                a += 1
    return (tail[:a], head[:a], cost[:a], cap[:a]), (orig[:a], dest[:a], kind[:a])


@kernel
def _market_network(n, s_region, s_price, s_qty, s_dom, d_region, d_price, d_qty, d_comp, *links):
    """Build the fixed arcs (and where they run), and the curves that have steps, with their steps.

    Curves per region ``r``: supply (source->S_r), domestic-only supply
    (source->D_r), demand (D_r->sink), compliant demand (C_r->sink); only
    those with steps are built (an empty curve carries nothing), in that order.
    """
    wants_compliant = np.zeros(n, np.bool_)
    for k in range(d_region.size):
        if d_comp[k]:
            wants_compliant[d_region[k]] = True
    fixed, arc_where = _fixed_arcs(n, wants_compliant, *links)
    curve = np.concatenate((4 * s_region + s_dom, 4 * d_region + 2 + d_comp))  # 4 r + kind
    number = np.full(4 * n, -1, np.int64)
    for k in range(curve.size):
        number[curve[k]] = 0
    tail, head, live = np.empty(4 * n, np.int64), np.empty(4 * n, np.int64), 0
    for g in range(4 * n):
        if number[g] < 0:
            continue
        r, kind = g // 4, g % 4
        tail[live] = (SOURCE, SOURCE, _node(2, n, r), _node(3, n, r))[kind]
        head[live] = (_node(0, n, r), _node(2, n, r), SINK, SINK)[kind]
        number[g] = live
        live += 1
    for k in range(curve.size):
        curve[k] = number[curve[k]]
    steps = (curve, np.concatenate((s_price, -d_price)), np.concatenate((s_qty, d_qty)))
    return fixed, arc_where, (tail[:live], head[:live]), steps


@kernel
def _trade_matrices(n, arc_flow, arc_where, s_region, s_dom, step_flow):
    """(N, N) flows and compliant flows from the arc flows and domestic-only sales."""
    orig, dest, kind = arc_where
    flows, compliant = np.zeros((n, n)), np.zeros((n, n))
    for a in range(arc_flow.size):
        if kind[a] != _QUOTA:
            flows[orig[a], dest[a]] += arc_flow[a]
        if kind[a] == _DOMESTIC_COMPLIANT or kind[a] == _LINK_COMPLIANT:
            compliant[orig[a], dest[a]] += arc_flow[a]
    for k in range(s_region.size):
        if s_dom[k]:
            flows[s_region[k], s_region[k]] += step_flow[k]
    return flows, compliant
