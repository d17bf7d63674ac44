"""Monthly clearing of one commodity across regions: a spatial price equilibrium.

The market maximises buyers' value minus sellers' cost minus link cost
(transport, tariffs, duties, delay carry), subject to bans, link capacities,
export quotas and origin rules (Samuelson 1952; Takayama and Judge 1971). It
is solved exactly as a min-cost flow (``model.network``) on this network,
prices in USD/kg and volumes in tonnes:

* nodes: source, sink and, per region ``i``, ``S_i`` (exportable supply),
  ``E_i`` (export gate), ``D_i`` (demand, any origin) and ``C_i`` (compliant
  demand: eligible origins only, e.g. an IRA-style foreign-entity rule);
* a supply step is an arc source->S_r (cost = its price), or source->D_r if
  it is domestic-only (it cannot be exported: e.g. magnets made without a
  patent licence); a demand step is an arc D_r->sink (cost = minus its bid),
  or C_r->sink if it is compliant-only;
* S_i->D_i (domestic sales), S_i->C_i if region ``i`` is a compliant origin
  for itself, S_i->E_i capped by the export quota, and for each open link
  E_i->D_j and, if ``i`` is a compliant origin for ``j``, E_i->C_j, both at
  the link's cost, each with the link's capacity.

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
from numba import njit

from model.network import SINK, SOURCE, max_surplus_flow

PRICE_SCALE_USD_PER_KG = 1e-6  # aggregate_steps' bins are logarithmic above this, linear below


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
        n = _check_n_regions(self.n_regions)
        n_supply = np.shape(self.supply_region)[:1] or (0,)
        n_demand = np.shape(self.demand_region)[:1] or (0,)
        for name, (kind, shape) in _field_specs(n, n_supply[0], n_demand[0]).items():
            object.__setattr__(self, name, _coerce(name, getattr(self, name), kind, shape))
        _check_steps(self, "supply", n)
        _check_steps(self, "demand", n)
        _check_links(self)

    @classmethod
    def trusted(cls, **fields: object) -> "MarketInput":
        """Build without coercion or checks, for callers whose arrays are already typed and valid.

        The model's own trade step uses this on its hot path; its inputs are
        built from validated scenarios and checked by the property tests.
        """
        market = object.__new__(cls)
        for name, value in fields.items():
            object.__setattr__(market, name, value)
        return market


@dataclass(frozen=True)
class Clearing:
    """The cleared market: volumes in t, prices in USD/kg (see module docstring)."""

    flows: np.ndarray  # (N, N) t shipped i -> j; diagonal = domestic sales
    compliant_flows: np.ndarray  # (N, N) t of flows[i, j] that went to compliant demand
    supply_sold: np.ndarray  # (S,) t per supply step
    demand_filled: np.ndarray  # (D,) t per demand step
    price: np.ndarray  # (N,) consumer price at D_j
    producer_price: np.ndarray  # (N,) price at S_i
    compliant_price: np.ndarray  # (N,) price at C_j
    quota_rent: np.ndarray  # (N,) shadow price of the export quota, >= 0
    surplus: float  # value - cost - link cost, USD/kg * t


def clear_market(market: MarketInput) -> Clearing:
    """Clear ``market`` exactly; prices are the lowest clearing prices.

    ``quota_rent[i] = max(price(E_i) - price(S_i), 0)``: the dual of the export
    quota, the wedge between the netback abroad and the domestic producer
    price; it is positive only when the quota binds.
    """
    m, n = market, market.n_regions
    fixed, arc_where, curve_arcs, steps = _market_network(
        n, m.supply_region, m.supply_price, m.supply_qty, m.supply_domestic_only,
        m.demand_region, m.demand_price, m.demand_qty, m.demand_compliant_only,
        m.link_cost, m.link_open, m.link_cap, m.export_cap, m.compliant_origin,
    )  # fmt: skip
    arc_flow, step_flow, node_price, converged = max_surplus_flow(2 + 4 * n, fixed, curve_arcs, steps)
    if not converged:
        raise RuntimeError("clear_market: min-cost flow did not converge")
    flows, compliant = _trade_matrices(n, arc_flow, arc_where, m.supply_region, m.supply_domestic_only, step_flow)
    p_s, p_e, p_d, p_c = node_price[2:].reshape(4, n)
    n_s = m.supply_qty.size
    return Clearing(
        flows=flows, compliant_flows=compliant,
        supply_sold=step_flow[:n_s], demand_filled=step_flow[n_s:],
        price=p_d, producer_price=p_s, compliant_price=p_c,
        quota_rent=np.fmax(p_e - p_s, 0.0),  # NaN (no exports possible) -> 0
        surplus=-float(steps[1] @ step_flow + fixed[2] @ arc_flow),
    )  # fmt: skip


def aggregate_steps(
    region: np.ndarray, price: np.ndarray, qty: np.ndarray, n_regions: int, resolution: float, check: bool = True
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Merge offers of a region whose prices share a log-price bin into one step.

    Bins are ``floor(log_price(price) / log1p(resolution))``, with
    ``log_price`` the log of price in units of ``PRICE_SCALE_USD_PER_KG``
    above that scale and linear through zero below it (so zero and negative
    prices are allowed): of relative width ``resolution`` above 1e-6 USD/kg,
    of width ``resolution`` * 1e-6 USD/kg below. A step's
    price is its offers' quantity-weighted mean; offers with qty 0 are
    dropped (``step_of_offer == -1``). Steps come sorted by region, then
    price. Returns ``(step_region, step_price, step_qty, step_of_offer)``.
    ``check=False`` skips input validation (for callers with typed, valid arrays).
    """
    if check:
        region, price, qty = _check_offers(region, price, qty, n_regions, resolution)
    keep = np.flatnonzero(qty > 0)
    bins = np.floor(log_price(price[keep]) / np.log1p(resolution))
    step_key, idx, span = _group_keys(region[keep], bins.astype(np.int64), n_regions)
    step_qty = np.bincount(idx, weights=qty[keep], minlength=step_key.size)
    value = np.bincount(idx, weights=qty[keep] * price[keep], minlength=step_key.size)
    step_of_offer = np.full(qty.size, -1, np.int64)
    step_of_offer[keep] = idx
    return step_key // span, value / step_qty, step_qty, step_of_offer


def log_price(price: np.ndarray) -> np.ndarray:
    """Signed log of ``|price| / PRICE_SCALE_USD_PER_KG`` above 1, linear below (monotone)."""
    scaled = np.abs(price) / PRICE_SCALE_USD_PER_KG
    out = np.log(np.maximum(scaled, 1.0))
    out += np.minimum(scaled, 1.0)
    return np.copysign(out, price, out=out)


def allocate_to_offers(
    step_of_offer: np.ndarray,
    offer_qty: np.ndarray,
    step_qty: np.ndarray,
    step_sold: np.ndarray,
    check: bool = True,
) -> np.ndarray:
    """Hand each step's sold volume back to its offers pro rata (t per offer).

    The rounding residual of each step's split is put on its largest offer,
    so the offers' tonnes add up to the step's to floating-point rounding of
    one sum. Offers outside any step (``-1``) sell nothing.
    """
    if check:
        step_of_offer, offer_qty, step_qty, step_sold = _check_allocation(step_of_offer, offer_qty, step_qty, step_sold)
    valid = np.flatnonzero(step_of_offer >= 0)
    idx, q = step_of_offer[valid], offer_qty[valid]
    share = np.divide(step_sold, step_qty, out=np.zeros(step_qty.size), where=step_qty > 0)
    sold = q * np.clip(share, 0.0, 1.0)[idx]
    residual = step_sold - np.bincount(idx, weights=sold, minlength=step_qty.size)
    largest = _largest_offer_of_step(idx, q, step_qty.size)
    has = largest >= 0
    sold[largest[has]] = np.clip(sold[largest[has]] + residual[has], 0.0, q[largest[has]])
    offer_sold = np.zeros(offer_qty.size)
    offer_sold[valid] = sold
    return offer_sold


def _largest_offer_of_step(idx: np.ndarray, q: np.ndarray, n_steps: int) -> np.ndarray:
    """Position of one largest offer in each step (-1 for steps without offers)."""
    top = np.full(n_steps, -np.inf)
    np.maximum.at(top, idx, q)
    at_top = np.flatnonzero(q == top[idx])
    largest = np.full(n_steps, -1, np.int64)
    largest[idx[at_top]] = at_top
    return largest


def _group_keys(region: np.ndarray, bins: np.ndarray, n_regions: int) -> tuple[np.ndarray, np.ndarray, int]:
    """Sorted distinct (region, bin) keys as ``region * span + bin - lo``, and each row's key."""
    if bins.size == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), 1
    lo = int(bins.min())
    span = int(bins.max()) - lo + 1
    if n_regions * span > max(8 * bins.size, 1 << 22):  # too sparse for a dense table
        keys = np.stack([region, bins - lo], axis=1)
        pairs, idx = np.unique(keys, axis=0, return_inverse=True)
        return pairs[:, 0] * span + pairs[:, 1], idx.ravel(), span
    dense = region * span + (bins - lo)
    occupied = np.flatnonzero(np.bincount(dense, minlength=n_regions * span))
    lookup = np.zeros(n_regions * span, np.int64)
    lookup[occupied] = np.arange(occupied.size)
    return occupied, lookup[dense], span


# ---------------------------------------------------------------- validation


def _check_n_regions(n: object) -> int:
    if isinstance(n, bool) or not isinstance(n, int | np.integer) or n < 1:
        raise ValueError(f"n_regions: expected a positive int, got {n!r}")
    return int(n)


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


def _coerce(name: str, value: object, kind: str, shape: tuple) -> np.ndarray:
    """``value`` as a contiguous array of ``kind`` and ``shape``, or ValueError naming it."""
    dtype = {"bool": np.bool_, "int": np.int64, "float": np.float64}[kind]
    if isinstance(value, np.ndarray) and value.dtype == dtype and value.shape == shape:
        return np.ascontiguousarray(value)
    arr = np.asarray(value)
    if arr.shape != shape:
        raise ValueError(f"{name}: expected shape {shape}, got {arr.shape}")
    if kind == "bool" and arr.dtype != np.bool_:
        raise ValueError(f"{name}: expected bool values, got dtype {arr.dtype}")
    if kind == "int" and arr.size and arr.dtype.kind not in "iu":
        raise ValueError(f"{name}: expected integers, got dtype {arr.dtype}")
    if kind == "float" and arr.dtype.kind not in "biuf":
        raise ValueError(f"{name}: expected numbers, got dtype {arr.dtype}")
    return np.ascontiguousarray(arr, dtype=dtype)


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


def _check_offers(
    region: np.ndarray, price: np.ndarray, qty: np.ndarray, n_regions: int, resolution: float
) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    n = _check_n_regions(n_regions)
    if not (np.isfinite(resolution) and resolution > 0):
        raise ValueError(f"resolution: expected a finite number > 0, got {resolution!r}")
    shape = np.shape(region)[:1] or (0,)
    region = _coerce("region", region, "int", shape)
    price, qty = _coerce("price", price, "float", shape), _coerce("qty", qty, "float", shape)
    if np.any((region < 0) | (region >= n)):
        raise ValueError(f"region: regions must lie in [0, {n})")
    if not np.all(np.isfinite(price)):
        raise ValueError("price: must be finite")
    if not np.all(np.isfinite(qty) & (qty >= 0)):
        raise ValueError("qty: must be finite and >= 0")
    return region, price, qty


def _check_allocation(
    step_of_offer: np.ndarray, offer_qty: np.ndarray, step_qty: np.ndarray, step_sold: np.ndarray
) -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    n_offers = np.shape(step_of_offer)[:1] or (0,)
    step_of_offer = _coerce("step_of_offer", step_of_offer, "int", n_offers)
    offer_qty = _coerce("offer_qty", offer_qty, "float", n_offers)
    n_steps = np.shape(step_qty)[:1] or (0,)
    step_qty = _coerce("step_qty", step_qty, "float", n_steps)
    step_sold = _coerce("step_sold", step_sold, "float", n_steps)
    if np.any((step_of_offer < -1) | (step_of_offer >= n_steps[0])):
        raise ValueError(f"step_of_offer: must lie in [-1, {n_steps[0]})")
    if not np.all(np.isfinite(offer_qty) & (offer_qty >= 0)):
        raise ValueError("offer_qty: must be finite and >= 0")
    slack = 1e-9 * np.maximum(step_qty, 1.0)
    if not np.all(np.isfinite(step_sold) & (step_sold >= 0) & (step_sold <= step_qty + slack)):
        raise ValueError("step_sold: must lie in [0, step_qty]")
    return step_of_offer, offer_qty, step_qty, step_sold


# ---------------------------------------------------------------- the network (compiled)
# Node layout: source 0, sink 1, then per region i: S_i = 2 + i, E_i = 2 + N + i,
# D_i = 2 + 2N + i, C_i = 2 + 3N + i. These compiled helpers call only each
# other (numba's on-disk cache does not track callees in other modules).

# kinds of fixed arcs, to map arc flows back to (origin, destination)
_DOMESTIC, _DOMESTIC_COMPLIANT, _QUOTA, _LINK, _LINK_COMPLIANT = 0, 1, 2, 3, 4


@njit(cache=True)
def _node(kind, n, i):
    """Index of region ``i``'s node of ``kind`` (0 = S, 1 = E, 2 = D, 3 = C)."""
    return 2 + kind * n + i


@njit(cache=True)
def _arc_exists(k, i, j, link_open, compliant_origin):
    """Whether the arc of kind ``k`` from region ``i`` to ``j`` belongs to the network."""
    if k <= _QUOTA:
        return i == j and (k != _DOMESTIC_COMPLIANT or compliant_origin[i, i])
    return i != j and link_open[i, j] and (k == _LINK or compliant_origin[i, j])


@njit(cache=True)
def _fixed_arcs(n, link_cost, link_open, link_cap, export_cap, compliant_origin):
    """Build the fixed arcs ``(tail, head, cost, cap)`` and their (origin, destination, kind)."""
    size = 3 * n + 2 * n * (n - 1)
    tail, head = np.empty(size, np.int64), np.empty(size, np.int64)
    orig, dest, kind = np.empty(size, np.int64), np.empty(size, np.int64), np.empty(size, np.int64)
    cost, cap = np.zeros(size), np.zeros(size)
    a = 0
    for i in range(n):
        for j in range(n):
            for k in (_DOMESTIC, _DOMESTIC_COMPLIANT, _QUOTA, _LINK, _LINK_COMPLIANT):
                if not _arc_exists(k, i, j, link_open, compliant_origin):
                    continue
                local = k <= _QUOTA
                tail[a] = _node(0 if local else 1, n, i)
                head[a] = _node((2, 3, 1, 2, 3)[k], n, i if k == _QUOTA else j)
                cost[a] = 0.0 if local else link_cost[i, j]
                cap[a] = export_cap[i] if k == _QUOTA else (np.inf if local else link_cap[i, j])
                orig[a], dest[a], kind[a] = i, j, k
                a += 1
    return (tail[:a], head[:a], cost[:a], cap[:a]), (orig[:a], dest[:a], kind[:a])


@njit(cache=True)
def _market_network(n, s_region, s_price, s_qty, s_dom, d_region, d_price, d_qty, d_comp, *links):
    """Build the fixed arcs (and where they run) and four curves per region with their steps.

    Curves per region ``r``: supply (source->S_r), domestic-only supply
    (source->D_r), demand (D_r->sink), compliant demand (C_r->sink).
    """
    fixed, arc_where = _fixed_arcs(n, *links)
    tail, head = np.empty(4 * n, np.int64), np.empty(4 * n, np.int64)
    for r in range(n):
        tail[4 * r], head[4 * r] = SOURCE, _node(0, n, r)
        tail[4 * r + 1], head[4 * r + 1] = SOURCE, _node(2, n, r)
        tail[4 * r + 2], head[4 * r + 2] = _node(2, n, r), SINK
        tail[4 * r + 3], head[4 * r + 3] = _node(3, n, r), SINK
    curve = np.concatenate((4 * s_region + s_dom, 4 * d_region + 2 + d_comp))
    steps = (curve, np.concatenate((s_price, -d_price)), np.concatenate((s_qty, d_qty)))
    return fixed, arc_where, (tail, head), steps


@njit(cache=True)
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
